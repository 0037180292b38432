/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The control protocol between edgeguard (the CLI) and edgeguardd, one
 * header for both sides: the socket's name, the limits, the field names, the
 * request ids, and the request parser (a pure function, fuzzed by
 * tests/fuzz/fuzz_control.c).
 *
 * $EDGEGUARD_RUN_DIR/control.sock is a Unix stream socket; one JSON object
 * per line each way, one reply per request, in order.
 *
 *   {"cmd":"ban","id":ID,"cidr":"192.0.2.7","ttl":600,"reason":"scraper"}  ttl 0 = permanent
 *   {"cmd":"unban","id":ID,"cidr":"192.0.2.7"}
 *   {"cmd":"allow_add","id":ID,"cidr":"10.0.0.0/8","fleet":true}  fleet optional: shared
 *   {"cmd":"allow_del",...}                                     with the fleet (fleet.h)
 *   {"cmd":"status"} or {"cmd":"ping"} -> "pid", "maps"
 *   {"cmd":"policy_load","id":ID,"path":"/etc/edgeguard/incident.json",
 *    "hash":"0123456789abcdef","force":false,"ssh":"198.51.100.7"}
 *      -> "policy": what the load did (eg_apply_report_json)
 *
 * A policy_load carries the policy file itself as an open descriptor
 * (SCM_RIGHTS, sent with the request line), not its text and not only its
 * name: a file can be far larger than a request line, the daemon may not
 * share the CLI's working directory or see the same files (a private /tmp,
 * a protected home), and it must not read, with its own rights, a file the
 * client could not (a group member naming /etc/shadow). The CLI validates
 * the file first; the daemon reads the same open file from its start and
 * refuses it unless its bytes still have "hash" (eg_policy_hash), so what
 * goes into force is exactly what was checked. "path" (absolute, at most
 * EG_CTL_PATH_LEN - 1 bytes) only names the file in the record, events and
 * status. "force" overrides the lock-out guards; "ssh" is the client of
 * the SSH session the CLI runs in, which they protect too.
 *
 * "ban" and "unban" take an optional "origin": "manual" (the default) or
 * "import" (fail2ban, other tools). A ban of origin import merges (it never
 * shortens a ban that is there, user/policy/bulk.h); an unban with an origin
 * lifts only a ban of that origin.
 *
 *   {"cmd":"bulk","summary":"ban --from-file bans.txt: 100000 added, ..."}
 *
 * tells the daemon that the CLI changed many entries on the maps itself
 * (ban|unban|allow --from-file, import --apply: too many for a request
 * line); it logs a "bulk" event with the summary and saves the lists at once.
 *
 * Unknown fields, a field a command does not take, and text that is not one
 * printable line of UTF-8 (or holds a NUL) are refused.
 *
 * "id" (optional) makes a request idempotent: the daemon remembers its reply
 * to each of the last EG_CTL_REMEMBERED changes by (peer uid, id) and answers
 * a repeated id with that reply ("replayed": true) without applying the
 * change again. The CLI sends a fresh random id with every change and, when
 * it could not read the answer, sends the same request with the same id
 * again - never a second change, and never the change on the maps behind
 * the daemon's back.
 *
 * Every reply has "ok": true, or "ok": false and "error"; the request's "id"
 * if it had one. "refused": true: this peer may not use the socket (it is
 * disconnected). "busy": true: no room for this connection now, the request
 * was not read; try again shortly.
 */
#ifndef EG_CONTROL_PROTO_H
#define EG_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "duration.h"
#include "../bpf/edgeguard.h"
#include "error.h"

#define EG_CTL_SOCK_NAME "control.sock"
/* Longest request line (without its newline) the daemon reads. */
#define EG_CTL_MAX_REQUEST 4096
/* Longest reply line the CLI reads (replies are one short object). */
#define EG_CTL_MAX_REPLY (64U << 10)
/* Longest ban TTL in seconds (ten years), the same for the CLI and the socket. */
#define EG_CTL_MAX_TTL EG_DURATION_MAX_S
/* Request ids: 1 to this many characters of [A-Za-z0-9_-]. */
#define EG_CTL_ID_LEN 64
/* Longest "path" of a policy_load, with its NUL: far below a request line, escapes included. */
#define EG_CTL_PATH_LEN 1024
/* Changes whose replies the daemon remembers, for repeated ids. */
#define EG_CTL_REMEMBERED 256

/*
 * The daemon's limits. A connection gets EG_CTL_REQUEST_MS for each request
 * line (from connecting, or from its previous reply) and EG_CTL_REPLY_MS to
 * take each reply; past either it is closed. At most EG_CTL_MAX_CLIENTS at
 * once, of which root's are never refused: others may hold at most
 * EG_CTL_MAX_OTHERS, EG_CTL_MAX_PER_UID per user, and root takes the oldest
 * connection's place when every slot is taken.
 */
#define EG_CTL_REQUEST_MS 5000
#define EG_CTL_REPLY_MS 5000
#define EG_CTL_MAX_CLIENTS 64
#define EG_CTL_MAX_OTHERS 48
#define EG_CTL_MAX_PER_UID 8
/* The CLI's patience: a busy daemon is retried, an answer waited for, this long in all. */
#define EG_CTL_CLIENT_MS 5000

/* Field names, on both sides. */
#define EG_CTL_F_CMD "cmd"
#define EG_CTL_F_ID "id"
#define EG_CTL_F_CIDR "cidr"
#define EG_CTL_F_TTL "ttl"
#define EG_CTL_F_REASON "reason"
#define EG_CTL_F_PATH "path"
#define EG_CTL_F_HASH "hash"
#define EG_CTL_F_FORCE "force"
#define EG_CTL_F_SSH "ssh"
#define EG_CTL_F_FLEET "fleet"
#define EG_CTL_F_OK "ok"
#define EG_CTL_F_ERROR "error"
#define EG_CTL_F_REFUSED "refused"
#define EG_CTL_F_BUSY "busy"
#define EG_CTL_F_REPLAYED "replayed"
#define EG_CTL_F_ORIGIN "origin"
#define EG_CTL_F_SUMMARY "summary"
/* Longest "summary" of a bulk change, NUL included. */
#define EG_CTL_SUMMARY_LEN 512

enum eg_ctl_cmd {
	EG_CTL_BAN,
	EG_CTL_UNBAN,
	EG_CTL_ALLOW_ADD,
	EG_CTL_ALLOW_DEL,
	EG_CTL_STATUS,
	EG_CTL_PING,
	EG_CTL_BULK,
	EG_CTL_POLICY_LOAD,
	EG_CTL_CMD_MAX,
};

struct eg_ctl_request {
	enum eg_ctl_cmd cmd;
	char id[EG_CTL_ID_LEN + 1]; /* "" when the request has none */
	struct eg_lpm_key key;      /* ban, unban, allow_add, allow_del */
	uint32_t ttl_s;             /* ban: 0 = permanent */
	char reason[EG_BAN_REASON_LEN]; /* ban: "" = none */
	uint16_t origin;                /* ban, unban: EG_ORIGIN_MANUAL or EG_ORIGIN_IMPORT */
	bool has_origin;                /* unban: only bans of that origin */
	char summary[EG_CTL_SUMMARY_LEN]; /* bulk */
	char path[EG_CTL_PATH_LEN];     /* policy_load: absolute */
	char hash[17];                  /* policy_load: 16 lowercase hex digits */
	bool force;                     /* policy_load */
	bool has_ssh;                   /* policy_load: ssh is set */
	struct eg_addr ssh;
	bool fleet;                 /* allow_add: fleet-wide */
};

const char *eg_ctl_cmd_name(enum eg_ctl_cmd cmd);
/* The commands that change the lists or the policy (and so carry an id from the CLI). */
bool eg_ctl_cmd_changes(enum eg_ctl_cmd cmd);
/* Whether text is a well-formed request id. */
bool eg_ctl_id_valid(const char *id);

/*
 * Parses and validates one request line (len bytes, no newline, need not be
 * NUL-terminated). Touches nothing but out and e. On error e says what is
 * wrong in one line, and out->id holds the request's id when it could be
 * read, so the error reply can carry it.
 */
int eg_ctl_parse_request(const char *line, size_t len, struct eg_ctl_request *out,
			 struct eg_err *e);

/*
 * Checks a request built in code (the CLI's) against the same rules the
 * parser applies, so a bad reason is refused before anything is sent.
 */
int eg_ctl_check_request(const struct eg_ctl_request *r, struct eg_err *e);

/* The request as one JSON line without the newline (malloc'd; NULL out of memory). */
char *eg_ctl_format_request(const struct eg_ctl_request *r);

/* What a change does, apart from its id: tells a repeated id from a reused one. */
uint64_t eg_ctl_request_hash(const struct eg_ctl_request *r);

/* A fresh random id (from getrandom). */
int eg_ctl_new_id(char out[EG_CTL_ID_LEN + 1], struct eg_err *e);

/* A reply object: "ok", the id when not empty, and "error" when not NULL. */
cJSON *eg_ctl_reply_new(bool ok, const char *id, const char *error);

#endif

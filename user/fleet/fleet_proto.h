/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fleet's shared store in Redis: what a key is called and what it and a
 * pub/sub message hold. Pure text in, text out: the daemon (daemon/fleet.c)
 * moves it, this module decides what it means, and everything that comes
 * from Redis is parsed here before anything trusts it.
 *
 *   PREFIX "ban:" CIDR     a ban in force: the message of its last ban, with
 *                          the ban's TTL on the key (Redis expires it; no TTL
 *                          = permanent)
 *   PREFIX "unban:" CIDR   a tombstone: the message of its last unban, kept
 *                          EG_FLEET_TOMBSTONE_TTL_S, so a host that was cut off
 *                          when it was published still lifts the ban
 *   PREFIX "allow:" CIDR   a fleet-wide allow (edgeguard allow add --fleet):
 *                          the message of its last allow; no TTL
 *   PREFIX "unallow:" CIDR its removal's tombstone, kept like an unban's
 *   PREFIX "events"        the pub/sub channel every change is published on,
 *                          the same message as the key's value
 *
 * A message is one JSON object:
 *   {"v":1,"op":"ban","host":"edge-7","address":"203.0.113.7","ttl":600,
 *    "reason":"scraper","origin":"manual","trigger":null,"ts":1718000000123}
 *   {"v":1,"op":"allow","host":"edge-7","address":"198.51.100.0/24","ts":...}
 * op "ban", "unban", "allow" or "unallow" (allows and removals carry no
 * ttl, reason, origin or trigger); host the host that made the change (EG_FLEET_HOST_LEN, letters,
 * digits, '.', '-', '_'); address a CIDR as edgeguard writes it; ttl seconds
 * at ts (0 = permanent; bans only); reason a printable line (may be empty);
 * origin "manual" or "auto" (what the ban was on its host); trigger the
 * limit an auto-ban tripped (null otherwise); ts wall-clock milliseconds when
 * it was published. Unknown fields are ignored, so a later version may add
 * some; a different "v" is refused.
 */
#ifndef EG_FLEET_PROTO_H
#define EG_FLEET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/edgeguard.h"
#include "error.h"

#define EG_FLEET_VERSION 1
#define EG_FLEET_HOST_LEN EG_BAN_HOST_LEN /* NUL included */
#define EG_FLEET_PREFIX_DEFAULT "edgeguard:"
#define EG_FLEET_PREFIX_LEN 64 /* NUL included */
#define EG_FLEET_TRIGGER_LEN 32
/* Longest message accepted from Redis; ours are well under 1 KiB. */
#define EG_FLEET_MAX_MSG 4096
/* Longest key we make or accept: prefix, kind, CIDR. */
#define EG_FLEET_MAX_KEY (EG_FLEET_PREFIX_LEN + 64)
/* How long an unban's tombstone lives (7 days). */
#define EG_FLEET_TOMBSTONE_TTL_S (7U * 24 * 3600)

enum eg_fleet_op {
	EG_FLEET_BAN = 1,
	EG_FLEET_UNBAN = 2,
	EG_FLEET_ALLOW = 3,
	EG_FLEET_UNALLOW = 4,
};

struct eg_fleet_msg {
	enum eg_fleet_op op;
	char host[EG_FLEET_HOST_LEN];
	struct eg_lpm_key key;
	uint32_t ttl_s;    /* 0 = permanent */
	char reason[EG_BAN_REASON_LEN];
	unsigned int origin; /* EG_ORIGIN_MANUAL or EG_ORIGIN_AUTO */
	char trigger[EG_FLEET_TRIGGER_LEN]; /* "" when none */
	int64_t ts_ms;     /* wall clock at publication */
};

/* What kind of key a key name is. */
enum eg_fleet_key_kind {
	EG_FLEET_KEY_BAN = 1,
	EG_FLEET_KEY_TOMBSTONE = 2,
	EG_FLEET_KEY_ALLOW = 3,
	EG_FLEET_KEY_UNALLOW = 4,
};

/* The op a key of kind holds (a ban key holds a ban ...). */
enum eg_fleet_op eg_fleet_key_op(enum eg_fleet_key_kind kind);
/* The kind of key an op is stored under. */
enum eg_fleet_key_kind eg_fleet_op_key(enum eg_fleet_op op);

/*
 * 0 when name is a usable host name (1 to EG_FLEET_HOST_LEN - 1 letters,
 * digits, '.', '-', '_'); else -1 with e->msg naming it.
 */
int eg_fleet_check_host(const char *name, struct eg_err *e);
/*
 * 0 when prefix is a usable key prefix: 1 to EG_FLEET_PREFIX_LEN - 1
 * printable ASCII characters, no space and none of *?[]\ (it is a SCAN
 * pattern's stem).
 */
int eg_fleet_check_prefix(const char *prefix, struct eg_err *e);

/* The key of kind for k into out (EG_FLEET_MAX_KEY bytes). */
void eg_fleet_key(const char *prefix, enum eg_fleet_key_kind kind, const struct eg_lpm_key *k,
		  char *out, size_t size);
/* The pub/sub channel into out. */
void eg_fleet_channel(const char *prefix, char *out, size_t size);
/* The SCAN pattern matching every key of ours (PREFIX*) into out. */
void eg_fleet_scan_pattern(const char *prefix, char *out, size_t size);

/*
 * Parses a key name of len bytes (not NUL-terminated, as Redis gives it)
 * under prefix: its kind and CIDR. -1 with e->msg when it is not one of
 * ours or its CIDR does not parse; names under prefix that are ours but no
 * ban, allow or tombstone (the channel's name is never a key) are refused too.
 */
int eg_fleet_key_parse(const char *prefix, const char *name, size_t len,
		       enum eg_fleet_key_kind *kind, struct eg_lpm_key *k, struct eg_err *e);

/*
 * The message as JSON text into a new string (free it), or NULL when out of
 * memory. m must be valid (as eg_fleet_msg_parse would accept it).
 */
char *eg_fleet_msg_format(const struct eg_fleet_msg *m);

/*
 * Parses len bytes of text from Redis. -1 with e->msg (one line, the input
 * quoted only escaped) when it is not a message of this version: not JSON,
 * too long, a NUL inside, a field missing or of the wrong type, a host,
 * address, reason or trigger that does not pass, a TTL out of range.
 * Whether a ban is acceptable here (a /0, this host's address, an
 * allowlisted one) is for the lock-out guards (guard.h) and the lists.
 */
int eg_fleet_msg_parse(const char *text, size_t len, struct eg_fleet_msg *out,
		       struct eg_err *e);

#endif

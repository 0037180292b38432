/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bans and allows saved to a JSON state file, so they survive a reboot or a
 * detach. The datapath counts expiry in CLOCK_BOOTTIME, which restarts at
 * every boot, so the file holds absolute wall-clock expiries (unix seconds)
 * and a restore turns them back into the TTL that is left.
 */
#ifndef EG_PERSIST_H
#define EG_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "maps.h"
#include "policy_file.h" /* EG_BAN_REASON_LEN */

#define EG_STATE_FILE "state.json"
#define EG_STATE_VERSION 1
/* Refuse absurd files before handing them to the JSON parser. */
#define EG_STATE_MAX_BYTES (256U << 20)

struct eg_saved_ban {
	struct eg_lpm_key key;
	int64_t expires_at; /* unix seconds; 0 = permanent */
	int64_t created_at; /* unix seconds */
	uint16_t origin;    /* enum eg_ban_origin */
	uint16_t policy;    /* policy slot of an auto-ban */
	uint32_t trigger;   /* enum eg_reason of an auto-ban */
	char reason[EG_BAN_REASON_LEN]; /* free text, may be empty */
	/* The map value it was read from (zero when read from a file), for change detection. */
	struct eg_ban raw;
};

struct eg_state {
	struct eg_saved_ban *bans;
	size_t nbans, cap_bans;
	struct eg_lpm_key *allows;
	size_t nallows, cap_allows;
};

void eg_state_init(struct eg_state *s);
void eg_state_free(struct eg_state *s);
int eg_state_add_ban(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e);
int eg_state_add_allow(struct eg_state *s, const struct eg_lpm_key *k, struct eg_err *e);

/* Orders both lists by key, which eg_state_find_ban and eg_state_same need. */
void eg_state_sort(struct eg_state *s);
/*
 * The ban with exactly this key in a sorted state, or NULL: the datapath's
 * own for origin auto, else the operator's (a key may hold one of each).
 */
const struct eg_saved_ban *eg_state_find_ban(const struct eg_state *s, const struct eg_lpm_key *k,
					     unsigned int origin);
/* Same keys, same map values (raw), same allows: nothing worth saving again. Both sorted. */
bool eg_state_same(const struct eg_state *a, const struct eg_state *b);

/*
 * Reads path into out (sorted). A missing file is an empty state, not an
 * error. A corrupt or truncated file fails with "PATH: JSON.PATH: reason" or
 * "PATH: reason" and leaves out empty.
 */
int eg_state_load(const char *path, struct eg_state *out, struct eg_err *e);

/*
 * The same from memory: text (len bytes, need not be NUL-terminated) is the
 * file's content and name prefixes every message. Fails on an empty text.
 */
int eg_state_parse(const char *text, size_t len, const char *name, struct eg_state *out,
		   struct eg_err *e);

/*
 * The file's text for s, as eg_state_save writes it (without the final
 * newline); NULL when out of memory. The caller frees it.
 */
char *eg_state_format(const struct eg_state *s);

/*
 * Writes s to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. A crash at any point
 * leaves either the old file or the new one, and no temporary file on error.
 */
int eg_state_save(const char *path, const struct eg_state *s, struct eg_err *e);

/*
 * The TTL left of a saved ban at wall-clock time now (unix seconds): false
 * when it has expired; otherwise *ttl_s is the seconds left (0 = permanent).
 */
bool eg_saved_ban_remaining(const struct eg_saved_ban *b, int64_t now, uint32_t *ttl_s);

/*
 * Reads the pinned maps into out (sorted): bans that have not expired, with
 * wall-clock expiries and the reasons of their notes, and every allow.
 */
int eg_state_snapshot(const struct eg_maps *m, struct eg_state *out, struct eg_err *e);

enum eg_restore_result {
	EG_RESTORE_ADDED,   /* put back into the maps */
	EG_RESTORE_EXPIRED, /* expired while nothing was running: skipped */
	EG_RESTORE_PRESENT, /* a live ban for this key is already in the maps: kept as it is */
};

typedef void (*eg_restore_cb)(const struct eg_saved_ban *b, enum eg_restore_result r,
			      uint32_t ttl_s, void *ctx);

/*
 * Puts the saved bans (with their remaining TTL, origin, policy, trigger and,
 * but for auto-bans, reason) and allows back into the maps at wall-clock time now. Never replaces a live
 * ban or an existing allow. cb (may be NULL) hears about every ban.
 */
int eg_state_restore(const struct eg_maps *m, const struct eg_state *s, int64_t now,
		     eg_restore_cb cb, void *ctx, struct eg_err *e);

#endif

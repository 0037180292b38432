/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Many list changes at once (ban, unban and allow files, importers, the
 * CrowdSec bouncer), written with batched map updates where the map type
 * has them (the exact-ban hash, the reasons), element by element where it
 * has not (the LPM tries).
 *
 * Bans merge: an entry never shortens a ban that is there. A key with no
 * live ban is added; a live ban ending sooner than the entry's is extended
 * (the entry's TTL, origin and reason replace it; without a reason of its
 * own the old reason stays); a ban lasting as long or longer, or a
 * permanent one, is left unchanged. The same key twice in one batch counts
 * once, with the longer TTL.
 *
 * All or nothing: room is checked before anything is written (a list that
 * cannot take the new entries refuses them all), and a write failing half
 * way puts back what was there before.
 */
#ifndef EG_BULK_H
#define EG_BULK_H

#include <stddef.h>
#include <stdint.h>
#include "lists.h"

enum eg_bulk_op {
	EG_BULK_BAN,
	EG_BULK_UNBAN,
	EG_BULK_ALLOW_ADD,
	EG_BULK_ALLOW_DEL,
};

/* Unban of bans of every origin (the operator's and the datapath's own). */
#define EG_BULK_ANY_ORIGIN EG_ORIGIN_MAX

struct eg_bulk_item {
	struct eg_lpm_key key;
	uint32_t ttl_s;     /* ban: 0 = permanent */
	const char *reason; /* ban: NULL or "" = none (an extended ban keeps its own) */
};

struct eg_bulk_result {
	size_t added;      /* ban: new; allow add: new */
	size_t extended;   /* ban: a live ban that now lasts longer */
	size_t unchanged;  /* ban: a ban lasting as long or longer; allow add: already there */
	size_t removed;    /* unban, allow del */
	size_t absent;     /* unban, allow del: nothing there */
	size_t kept;       /* unban with an origin: a ban of another origin, left alone */
	size_t duplicates; /* the same key again in the batch */
};

/*
 * Applies op to items (sorted and de-duplicated in place; *n becomes the
 * count of distinct keys). origin: ban: the bans' origin (not auto);
 * unban: EG_BULK_ANY_ORIGIN, or only bans of that origin. 0 and *r, or -1
 * with e set and the maps as they were.
 */
int eg_bulk_apply(const struct eg_maps *m, enum eg_bulk_op op, unsigned int origin,
		  struct eg_bulk_item *items, size_t *n, struct eg_bulk_result *r, struct eg_err *e);

/* "12 added, 3 extended, ..." naming only the counts that apply to op. */
void eg_bulk_summary(enum eg_bulk_op op, const struct eg_bulk_result *r, char *out, size_t size);

/*
 * One ban merged as bulk bans are (never shortening a ban that is there),
 * for importers' single bans (fail2ban, ban --origin import). *outcome:
 * "added", "extended" or "unchanged".
 */
int eg_ban_merge(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
		 unsigned int origin, const char *reason, const char **outcome, struct eg_err *e);

/*
 * Removes the operator's ban on exactly k only when it has this origin:
 * "... is not banned", or "... is banned with origin X, not Y: left in place".
 */
int eg_ban_del_origin(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		      struct eg_err *e);

/* The origin named name among those an operator's command may claim (manual, import); -1 if none. */
int eg_origin_claimable(const char *name);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ban and allow lists. A host goes to the exact-address ban hash, a wider
 * CIDR to the LPM trie; callers never need to know which.
 */
#ifndef EG_LISTS_H
#define EG_LISTS_H

#include <stdint.h>
#include "maps.h"

struct eg_ban_entry {
	struct eg_lpm_key key;
	struct eg_ban ban;
};

struct eg_allow_entry {
	struct eg_lpm_key key;
	struct eg_allow allow;
};

/* ttl_s 0 = permanent. Re-banning an address replaces its ban (new TTL and origin). */
int eg_ban_add(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
	       unsigned int origin, struct eg_err *e);
/* Fails with "... is not banned" when there is no such entry. */
int eg_ban_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
/* Looks up the entry for exactly this key (not covering CIDRs). 1 found, 0 absent. */
int eg_ban_get(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_ban *out);

typedef int (*eg_ban_cb)(const struct eg_ban_entry *b, void *ctx);
typedef int (*eg_allow_cb)(const struct eg_allow_entry *a, void *ctx);

/* Calls cb for every ban, expired ones included (the caller knows the time). A nonzero cb return stops the walk and is returned. */
int eg_ban_foreach(const struct eg_maps *m, eg_ban_cb cb, void *ctx, struct eg_err *e);

int eg_allow_add(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
int eg_allow_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
int eg_allow_foreach(const struct eg_maps *m, eg_allow_cb cb, void *ctx, struct eg_err *e);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ban and allow lists. An operator's ban of a host goes to the exact-address
 * ban hash, a wider CIDR to the CIDR trie, an auto-ban (origin auto) to the
 * datapath's own trie; callers never need to know which.
 */
#ifndef EG_LISTS_H
#define EG_LISTS_H

#include <stdbool.h>
#include <stdint.h>
#include "maps.h"

struct eg_ban_entry {
	struct eg_lpm_key key;
	struct eg_ban ban;
	enum eg_list list; /* the map it is in: EG_LIST_BAN_EXACT, _BAN_CIDR or _AUTOBAN */
	/* From the ban's note; empty when it has none (always for an auto-ban). */
	char reason[EG_BAN_REASON_LEN];
	char host[EG_BAN_HOST_LEN]; /* a fleet ban's originating host, from the note; else "" */
};

struct eg_allow_entry {
	struct eg_lpm_key key;
	struct eg_allow allow;
};

/*
 * ttl_s 0 = permanent. Re-banning an address replaces its ban (new TTL and
 * origin) and its reason: reason NULL or "" leaves it without one. A reason
 * of EG_BAN_REASON_LEN or more bytes is refused.
 */
int eg_ban_add(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
	       unsigned int origin, const char *reason, struct eg_err *e);
/*
 * eg_ban_add for a ban learned from another host: origin fleet, and the
 * note also names that host (a printable line shorter than EG_BAN_HOST_LEN).
 */
int eg_ban_add_fleet(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
		     const char *reason, const char *host, struct eg_err *e);
/*
 * Stores a complete ban value on exactly k, in the map of its origin (no
 * note); for restoring saved state.
 */
int eg_ban_store(const struct eg_maps *m, const struct eg_lpm_key *k, const struct eg_ban *ban,
		 struct eg_err *e);
/*
 * The operator's unban: removes every ban on exactly k (an operator's ban
 * and the datapath's own) and its reason. Fails with "... is not banned"
 * when there is none.
 */
int eg_ban_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
/* Removes only the ban of that origin's map on exactly k ("... is not banned" if none). */
int eg_ban_remove(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		  struct eg_err *e);
/*
 * Sets (or with reason NULL/"" removes) the reason of the ban on exactly k,
 * whether or not the ban exists; for restoring saved state.
 */
int eg_ban_note_set(const struct eg_maps *m, const struct eg_lpm_key *k, const char *reason,
		    int64_t created_unix, struct eg_err *e);
/* The reason stored for exactly k into out (EG_BAN_REASON_LEN bytes): 1 found, 0 none. */
int eg_ban_note_get(const struct eg_maps *m, const struct eg_lpm_key *k, char *out);
/* The whole note of exactly k, strings terminated whoever wrote them: 1 found, 0 none. */
int eg_ban_note_read(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_ban_note *out);
/*
 * Looks up the ban on exactly this key (not covering CIDRs) in the map of
 * that origin (auto, or any operator origin). 1 found, 0 absent.
 */
int eg_ban_get(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
	       struct eg_ban *out);

/*
 * The live ban that drops a packet from host a at CLOCK_BOOTTIME now, as
 * the datapath decides it (the exact ban, else the longest live CIDR ban,
 * else the datapath's own): 1 and *out, or 0. *lookups (may be NULL) counts
 * the map lookups made.
 */
int eg_ban_covering(const struct eg_maps *m, const struct eg_addr *a, uint64_t now,
		    struct eg_ban *out, unsigned int *lookups);

typedef int (*eg_ban_cb)(const struct eg_ban_entry *b, void *ctx);
typedef int (*eg_allow_cb)(const struct eg_allow_entry *a, void *ctx);

/* Calls cb for every ban, expired ones included (the caller knows the time). A nonzero cb return stops the walk and is returned. */
int eg_ban_foreach(const struct eg_maps *m, eg_ban_cb cb, void *ctx, struct eg_err *e);

/*
 * A plain allow of k, this host's: one from the fleet becomes this host's
 * own; this host's fleet-wide one stays fleet-wide.
 */
int eg_allow_add(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
/* Stores exactly this allow value (an undo puts the old one back). */
int eg_allow_store(const struct eg_maps *m, const struct eg_lpm_key *k, const struct eg_allow *a,
		   struct eg_err *e);
/*
 * eg_allow_add with its origin (EG_ORIGIN_MANUAL or EG_ORIGIN_FLEET) and
 * whether this host shares it with the fleet (fleet-wide).
 */
int eg_allow_put(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		 bool fleet, struct eg_err *e);
/* The allow on exactly k (not a covering CIDR's): 1 and *out, or 0. */
int eg_allow_get(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_allow *out);
int eg_allow_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e);
int eg_allow_foreach(const struct eg_maps *m, eg_allow_cb cb, void *ctx, struct eg_err *e);

/*
 * The datapath skips lists marked empty in eg_list_empty, and the lists
 * altogether for a source found clean in the current list generation
 * (struct eg_list_gen). Code that writes a list map itself, not through the
 * functions above, must call eg_list_note_insert() after every insert, with
 * the key inserted (NULL if unknown: then IPv6 sources stop skipping the
 * lists until they are settled again).
 */
void eg_list_note_insert(const struct eg_maps *m, enum eg_list list, const struct eg_lpm_key *k);
/* Moves the list generation on: every cached "clean" verdict is looked at again. */
void eg_lists_bump(const struct eg_maps *m);
uint32_t eg_lists_gen(const struct eg_maps *m);
/* Sets eg_list_gen.v6_deep (1: IPv6 sources look at the lists on every packet). */
void eg_lists_set_v6_deep(const struct eg_maps *m, uint32_t deep);
/*
 * Recomputes eg_list_gen.v6_deep for an aggregation of v6_prefix (is any
 * IPv6 allow or ban longer?) by walking the lists, then moves the generation.
 */
int eg_lists_v6_settle(const struct eg_maps *m, uint32_t v6_prefix, struct eg_err *e);
/* Marks the list empty if it is; called after deletes and at load. */
void eg_list_settle(const struct eg_maps *m, enum eg_list list);
void eg_lists_settle(const struct eg_maps *m);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath's maps as plain file descriptors, so the same list and policy
 * code works on a freshly loaded skeleton and on maps re-opened from pins.
 */
#ifndef EG_MAPS_H
#define EG_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/edgeguard.h"
#include "clock.h" /* eg_now_ns: the datapath's clock, which every map user needs */
#include "error.h"

/*
 * Every map of the datapath, once: X(field, name) names its descriptor in
 * struct eg_maps and the map in the BPF object, which is also its pin's file
 * name under eg_pin_dir(). Everything that lists maps expands this.
 */
#define EG_MAP_REGISTRY(X)                                                        \
	X(allow, eg_allow)             /* allowlist (LPM trie) */                 \
	X(ban_exact, eg_ban_exact)     /* operator bans of hosts */               \
	X(ban_cidr, eg_ban_cidr)       /* operator bans of networks (LPM trie) */ \
	X(autoban, eg_autoban)         /* the datapath's own bans (LPM trie) */   \
	X(escalations, eg_escalations) /* IPv6 auto-bans per shorter prefix */    \
	X(ban_notes, eg_ban_notes)     /* user space only: ban reasons */         \
	X(list_empty, eg_list_empty)   /* enum eg_list -> 1 when known empty */   \
	X(sources, eg_sources)         /* per-source buckets (LRU) */             \
	X(config, eg_config)                                                      \
	X(policies, eg_policies)                                                  \
	X(port_policy, eg_port_policy)                                            \
	X(policy_names, eg_policy_names) /* user space only: slot -> name */      \
	X(counters, eg_counters)                                                  \
	X(policy_counters, eg_policy_counters)                                    \
	X(iface_counters, eg_iface_counters) /* verdicts by interface slot */     \
	X(ifaces, eg_ifaces)           /* interface slot -> struct eg_iface_slot */ \
	X(events, eg_events)                                                      \
	X(flows, eg_flows)                                                        \
	X(conns, eg_conns)                                                        \
	X(verified, eg_verified)                                                  \
	X(budgets, eg_budgets)                                                    \
	X(list_gen, eg_list_gen)       /* struct eg_list_gen, mmapable (lists.c) */ \
	X(seen, eg_seen)               /* first-seen memory: eg_seen_bucket */    \
	X(tracked, eg_tracked)         /* which sources have state (Bloom) */

struct eg_maps {
#define EG_MAP_FIELD(field, name) int field;
	EG_MAP_REGISTRY(EG_MAP_FIELD)
#undef EG_MAP_FIELD
};

/* Sizes fixed at load time. Zero fields take the defaults from edgeguard.h. */
struct eg_sizes {
	uint32_t max_sources;
	uint32_t max_bans;
	uint32_t max_allows;
	uint32_t max_flows;
	uint32_t max_verified;
	uint32_t max_autobans;
	uint32_t first_seen; /* record slots of the first-seen memory (a power of two, >= 64) */
};

/* Replaces zero fields of s with the defaults from edgeguard.h: the one place they apply. */
void eg_sizes_fill(struct eg_sizes *s);

/*
 * What each size governs, once: the maps of a skeleton sized from an
 * eg_sizes (mult times the size), and the map each size is read back from
 * when the maps are pinned. Used by the open path and by pins.c.
 */
struct eg_size_map {
	size_t offset;    /* of the uint32_t in struct eg_sizes */
	const char *name; /* map name */
	uint32_t mult;
	/* Non-zero: this map tells the size of pinned maps, max_entries times read_back. */
	uint32_t read_back;
	/* Non-NULL: the map's entries for a size, instead of size times mult. */
	uint32_t (*rows)(uint32_t size);
};
extern const struct eg_size_map eg_size_maps[];
extern const unsigned int eg_n_size_maps;

/* Rows of eg_seen (from first_seen) and eg_tracked (from max_sources): powers of two. */
uint32_t eg_seen_buckets(uint32_t first_seen);
uint32_t eg_tracked_blocks(uint32_t max_sources);

/* Every descriptor of m set to -1 (nothing open). */
void eg_maps_init(struct eg_maps *m);


/* The global counters, summed over CPUs. */
int eg_read_counters(const struct eg_maps *m, uint64_t out[EG_R_MAX], struct eg_err *e);
int eg_read_policy_counters(const struct eg_maps *m, uint32_t slot,
			    struct eg_policy_counters *out, struct eg_err *e);

/* Zeroes one policy slot's counters on every CPU. */
int eg_reset_policy_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e);

/* Verdict counters of one interface slot, summed over CPUs. */
int eg_read_iface_counters(const struct eg_maps *m, uint32_t slot, uint64_t out[EG_R_VERDICTS],
			   struct eg_err *e);
/* Zeroes one interface slot's verdict counters. */
int eg_reset_iface_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e);
/* Every entry of eg_ifaces; ifindex 0 marks a free slot. */
int eg_read_ifaces(const struct eg_maps *m, struct eg_iface_slot out[EG_MAX_IFACES],
		   struct eg_err *e);

const char *eg_reason_name(unsigned int reason);
/* Does a verdict with this reason drop the packet? (Event reasons never do.) */
bool eg_reason_drops(unsigned int reason);
const char *eg_origin_name(unsigned int origin);

/*
 * Every key of a map, each once, into a new array *keys (free it) of *n
 * keys of key_size bytes. A key deleted while the kernel walks makes it
 * start again from the first key; the walk is bounded and what it saw twice
 * is kept once, so a caller may change the map while it goes through the
 * keys, and so may anyone else.
 */
int eg_map_keys(int fd, uint32_t key_size, void **keys, size_t *n, struct eg_err *e);

/* Number of entries in a map (batched; key by key for LPM tries); -1 on error. */
long eg_map_count(int fd);
/* max_entries of a map. */
uint32_t eg_map_capacity(int fd);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath's maps as plain file descriptors, so the same list and policy
 * code works on a freshly loaded skeleton and on maps re-opened from pins.
 */
#ifndef EG_MAPS_H
#define EG_MAPS_H

#include <stdint.h>
#include "../bpf/edgeguard.h"
#include "error.h"

struct edgeguard_bpf;

struct eg_maps {
	int allow;
	int ban_exact;
	int ban_cidr;
	int autoban;     /* the datapath's own bans */
	int escalations; /* IPv6 auto-ban counts per shorter prefix */
	int sources;
	int config;
	int policies;
	int port_policy;
	int counters;
	int policy_counters;
	int events;
	int flows;
	int conns;
	int verified;
	int budgets;
	int ban_notes; /* user space only: ban reasons */
	int list_empty; /* enum eg_list -> 1 when known empty (user/lists.c) */
	int iface_counters; /* verdict reasons by interface slot */
	int ifaces;         /* interface slot -> struct eg_iface_slot */
};

/* Sizes fixed at load time. Zero fields take the defaults from edgeguard.h. */
struct eg_sizes {
	uint32_t max_sources;
	uint32_t max_bans;
	uint32_t max_allows;
	uint32_t max_flows;
	uint32_t max_verified;
	uint32_t max_autobans;
};

/* Replaces zero fields of s with the defaults from edgeguard.h. */
void eg_sizes_fill(struct eg_sizes *s);
/* Sets the map sizes of an opened, not yet loaded skeleton (NULL: defaults). */
int eg_sizes_apply(struct edgeguard_bpf *skel, const struct eg_sizes *want, struct eg_err *e);

/* Gives a never-written config its defaults; leaves a configured one alone. */
int eg_config_init(int config_fd, struct eg_err *e);

/* Opens and loads the datapath with the given sizes; nothing is attached. */
struct edgeguard_bpf *eg_load(const struct eg_sizes *sizes, struct eg_err *e);
/* The same, counting per-interface verdicts into iface_slot (eg_load uses 0). */
struct edgeguard_bpf *eg_load_for_slot(const struct eg_sizes *sizes, uint32_t iface_slot,
				       struct eg_err *e);

/* Fills m from a loaded skeleton. */
void eg_maps_from_skel(struct edgeguard_bpf *skel, struct eg_maps *m);

/* Current CLOCK_BOOTTIME in ns: the datapath's clock for bans and buckets. */
uint64_t eg_now_ns(void);

/* Sums a per-CPU u64 counter array of n entries into out[n]. */
int eg_read_counters(const struct eg_maps *m, uint64_t out[EG_R_MAX], struct eg_err *e);
int eg_read_policy_counters(const struct eg_maps *m, uint32_t slot,
			    struct eg_policy_counters *out, struct eg_err *e);

/* Verdict counters of one interface slot, summed over CPUs. */
int eg_read_iface_counters(const struct eg_maps *m, uint32_t slot, uint64_t out[EG_R_VERDICTS],
			   struct eg_err *e);
/* Zeroes one interface slot's verdict counters. */
int eg_reset_iface_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e);
/* Every entry of eg_ifaces; ifindex 0 marks a free slot. */
int eg_read_ifaces(const struct eg_maps *m, struct eg_iface_slot out[EG_MAX_IFACES],
		   struct eg_err *e);

const char *eg_reason_name(unsigned int reason);
const char *eg_origin_name(unsigned int origin);

/* Number of entries in a map (walks it; LPM tries have no batch operations). */
long eg_map_count(int fd);
/* max_entries of a map. */
uint32_t eg_map_capacity(int fd);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath's maps and the small helpers every program uses. Included
 * once, by edgeguard.bpf.c: the XDP and TC programs share one object so they
 * share these maps (and their pins).
 */
#ifndef EG_MAPS_BPF_H
#define EG_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "edgeguard.h"
#include "consts.bpf.h"

/*
 * Added to the clock. Production leaves it at zero; the unit tests move time
 * forward through it instead of sleeping.
 */
__u64 eg_clock_offset_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EG_DEFAULT_MAX_ALLOWS);
	__type(key, struct eg_lpm_key);
	__type(value, struct eg_allow);
} eg_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_BANS);
	__type(key, struct eg_addr);
	__type(value, struct eg_ban);
} eg_ban_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EG_DEFAULT_MAX_BANS);
	__type(key, struct eg_lpm_key);
	__type(value, struct eg_ban);
} eg_ban_cidr SEC(".maps");

/*
 * The datapath's own bans (and escalations), apart from the operator's so
 * that auto-bans can never fill the maps an operator bans into. Not
 * preallocated: it is empty until an attack.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EG_DEFAULT_MAX_AUTOBANS);
	__type(key, struct eg_lpm_key);
	__type(value, struct eg_ban);
} eg_autoban SEC(".maps");

/* IPv6 auto-bans counted per shorter prefix, for escalation (eg_config). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_ESCALATIONS);
	__type(key, struct eg_lpm_key);
	__type(value, struct eg_escalation);
} eg_escalations SEC(".maps");

/*
 * Ban reasons, for user space only: no program touches it. Twice the ban
 * capacity (exact + CIDR) and not preallocated, since most bans carry none.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * EG_DEFAULT_MAX_BANS);
	__type(key, struct eg_lpm_key);
	__type(value, struct eg_ban_note);
} eg_ban_notes SEC(".maps");

/* One element per enum eg_list, each written on its own so no writer clobbers another's. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_LIST_MAX);
	__type(key, __u32);
	__type(value, __u32);
} eg_list_empty SEC(".maps");

/* The list generation (struct eg_list_gen): user space mmaps it to add to it atomically. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct eg_list_gen);
} eg_list_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_SOURCES);
	__type(key, struct eg_source_key);
	__type(value, struct eg_source);
} eg_sources SEC(".maps");

/* First-seen memory (struct eg_seen_bucket); a power of two of buckets, sized at load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_DEFAULT_FIRST_SEEN / EG_SEEN_WAYS);
	__type(key, __u32);
	__type(value, struct eg_seen_bucket);
} eg_seen SEC(".maps");

/* Which sources have state (struct eg_tracked_block); max_sources / 16 blocks, sized at load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_DEFAULT_MAX_SOURCES / 16);
	__type(key, __u32);
	__type(value, struct eg_tracked_block);
} eg_tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct eg_config);
} eg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_GENERATIONS * EG_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct eg_policy);
} eg_policies SEC(".maps");

/* Slot -> the live policy's name, for user space only: written with the table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct eg_policy_name);
} eg_policy_names SEC(".maps");

/* (generation, L4, destination port) -> policy slot; 0 is the default policy. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_PORT_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} eg_port_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} eg_counters SEC(".maps");

/*
 * This instance's row of eg_iface_counters. Every interface loads its own
 * instance and attach sets this before load, so the datapath never has to
 * look an interface up; 0 is for instances with no interface (tests).
 */
const volatile __u32 eg_iface_slot = 0;

/* Verdict reasons by interface: [slot * EG_R_VERDICTS + reason]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_MAX_IFACES * EG_R_VERDICTS);
	__type(key, __u32);
	__type(value, __u64);
} eg_iface_counters SEC(".maps");

/* slot -> interface, for user space only: written by attach, cleared by detach. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct eg_iface_slot);
} eg_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct eg_policy_counters);
} eg_policy_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EG_EVENTS_RINGBUF_BYTES);
} eg_events SEC(".maps");

/*
 * A plain hash, not an LRU: an evicted flow could never give its connection
 * slot back. When it is full, new flows go untracked (counted as flow_full).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_FLOWS);
	__type(key, struct eg_flow_key);
	__type(value, struct eg_flow);
} eg_flows SEC(".maps");

/* Established flows per (source, policy). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_SOURCES);
	__type(key, struct eg_source_key);
	__type(value, __u64);
} eg_conns SEC(".maps");

/* Only TC egress inserts here, so spoofed SYNs cannot evict a real client. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_VERIFIED);
	__type(key, struct eg_source_key);
	__type(value, struct eg_verified);
} eg_verified SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct eg_budget);
} eg_budgets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct eg_sweep_timer);
} eg_sweep_timer SEC(".maps");

static __always_inline void count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&eg_counters, &reason);

	if (c)
		*c += 1;
}

static __always_inline int verdict(__u32 reason, int action)
{
	/* eg_iface_slot is frozen rodata: a constant to the verifier, no map read. */
	__u32 key = eg_iface_slot * EG_R_VERDICTS + reason;
	__u64 *c = bpf_map_lookup_elem(&eg_iface_counters, &key);

	if (c)
		*c += 1;
	count(reason);
	return action;
}

static __always_inline void count_policy(struct eg_policy_counters *pc, __u32 which)
{
	if (pc && which < EG_PC_MAX)
		pc->c[which] += 1;
}

/* An inlined array read instead of a lookup in a list that is known to be empty. */
static __always_inline int list_in_use(__u32 list)
{
	__u32 *empty = bpf_map_lookup_elem(&eg_list_empty, &list);

	return !empty || !*empty;
}

/* After an insert: from now on the datapath looks in this list again. */
static __always_inline void list_note_insert(__u32 list)
{
	__u32 *empty = bpf_map_lookup_elem(&eg_list_empty, &list);

	/* An atomic, so the insert is visible before the mark; bans are rare. */
	if (empty)
		__sync_fetch_and_and(empty, 0);
}

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_boot_ns() + eg_clock_offset_ns;
}

#endif /* EG_MAPS_BPF_H */

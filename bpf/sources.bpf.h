/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who has state, and who was seen without it: the tracked filter (which
 * source addresses have an entry, so a never-seen source costs no hash
 * lookup), the first-seen memory (a new source's first packet, so it costs no
 * state until it sends again) and the SYN flood meter. Layouts and the hash
 * are in edgeguard.h (struct eg_tracked_block, struct eg_seen_bucket,
 * eg_addr_hash). Included by flows.bpf.h and edgeguard.bpf.c.
 */
#ifndef EG_SOURCES_BPF_H
#define EG_SOURCES_BPF_H

#include "maps.bpf.h"

/* The tracked-filter half for this epoch: 1-based, so 0 is a never-used half. */
static __always_inline __u32 tracked_epoch(__u64 now)
{
	return (__u32)(now >> EG_TRACKED_EPOCH_SHIFT) + 1;
}

/* Word and mask of the i-th (0 or 1) bit of a source in a filter half. */
static __always_inline __u32 tracked_word(__u64 h, int i)
{
	__u32 w = eg_tracked_pos(h, i) >> 6;

	/* The verifier cannot see that a remainder of 192 is below it: a bound it can see. */
	asm volatile("" : "+r"(w));
	return w < EG_TRACKED_WORDS ? w : EG_TRACKED_WORDS - 1;
}

static __always_inline __u64 tracked_mask(__u64 h, int i)
{
	return 1ULL << (eg_tracked_pos(h, i) & 63);
}

/*
 * 1 when the source's address may have state: both its bits are set in
 * either half of its block. No clock: a half the epochs have left behind but
 * no set has recycled yet can only say "maybe" too often (a lookup that
 * misses), never "no" to a source that set its bits in the last two epochs.
 * 2 when the bits are in the current epoch's half (no set needed): that takes
 * the clock, so only callers that have read it ask (tracked_current()).
 */
static __always_inline int tracked_test(const struct eg_config *cfg, __u64 h)
{
	__u32 idx = eg_tracked_block_of(h, cfg->tracked_mask);
	__u32 w0 = tracked_word(h, 0), w1 = tracked_word(h, 1);
	__u64 m0 = tracked_mask(h, 0), m1 = tracked_mask(h, 1);
	struct eg_tracked_block *b = bpf_map_lookup_elem(&eg_tracked, &idx);
	int i;

	if (!b)
		return 0;
#pragma unroll
	for (i = 0; i < 2; i++)
		if (b->epoch[i] && (b->bits[i][w0] & m0) && (b->bits[i][w1] & m1))
			return 1;
	return 0;
}

/* The source's bits are in this epoch's half already. */
static __always_inline int tracked_current(const struct eg_config *cfg, __u64 h, __u64 now)
{
	__u32 idx = eg_tracked_block_of(h, cfg->tracked_mask), e = tracked_epoch(now);
	__u32 w0 = tracked_word(h, 0), w1 = tracked_word(h, 1);
	struct eg_tracked_block *b = bpf_map_lookup_elem(&eg_tracked, &idx);
	int i;

#pragma unroll
	for (i = 0; i < 2; i++)
		if (b && b->epoch[i] == e && (b->bits[i][w0] & tracked_mask(h, 0)) &&
		    (b->bits[i][w1] & tracked_mask(h, 1)))
			return 1;
	return 0;
}

/*
 * Puts the source in this epoch's half. A half from two epochs ago is
 * recycled by its first writer; a set racing with that recycling can be lost,
 * which costs the source one packet through the first-seen path, no more.
 */
static __always_inline void tracked_set(const struct eg_config *cfg, __u64 h, __u64 now)
{
	__u32 idx = eg_tracked_block_of(h, cfg->tracked_mask), e = tracked_epoch(now);
	struct eg_tracked_block *b = bpf_map_lookup_elem(&eg_tracked, &idx);
	__u32 w0 = tracked_word(h, 0), w1 = tracked_word(h, 1);
	int i;

	if (!b)
		return;
	i = eg_tracked_half(b, e);
	if (b->epoch[i] != e) {
		b->bits[i][0] = 0;
		b->bits[i][1] = 0;
		b->bits[i][2] = 0;
		b->epoch[i] = e;
	}
	__sync_fetch_and_or(&b->bits[i][w0], tracked_mask(h, 0));
	__sync_fetch_and_or(&b->bits[i][w1], tracked_mask(h, 1));
}

/*
 * Starts fetching a source's first-seen bucket (a random line of a table of
 * megabytes, so a cache miss) while other work goes on: for a source without
 * state, its list lookups.
 */
static __always_inline void seen_touch(const struct eg_config *cfg, __u64 h)
{
	__u32 bi = eg_seen_bucket_of(h, cfg->seen_mask);
	struct eg_seen_bucket *b = bpf_map_lookup_elem(&eg_seen, &bi);

	if (b) {
		__u64 v = b->slot[0];

		asm volatile("" : : "r"(v));
	}
}

/* The source address's hash under this datapath's secret seed. */
static __always_inline __u64 addr_hash(const struct eg_config *cfg, const struct eg_addr *a)
{
	return eg_addr_hash(a, cfg->hash_seed);
}

/* A verified source's entry, while its verification lasts. */
static __always_inline struct eg_verified *verified_of(const struct eg_source_key *sk,
						       const struct eg_config *cfg, __u64 now)
{
	struct eg_verified *v = bpf_map_lookup_elem(&eg_verified, sk);

	if (v && now - v->verified_ns < (__u64)cfg->verified_ttl_s * EG_NS_PER_S)
		return v;
	return NULL;
}

/* GCRA: the new theoretical arrival time if this packet conforms, else 0. */
static __always_inline __u64 bucket_take(const struct eg_bucket_cfg *b, __u64 tat, __u64 now)
{
	__u64 t = tat > now ? tat : now;

	if (t - now > b->tolerance_ns)
		return 0;
	return t + b->interval_ns;
}

/* Charges a packet that has already passed, at the time it passed. */
static __always_inline __u64 bucket_charge(const struct eg_bucket_cfg *b, __u64 tat, __u64 at)
{
	return (tat > at ? tat : at) + b->interval_ns;
}

/*
 * Meters a SYN from a source without state against the policy's syn_retry
 * rate; 1 while the policy is in SYN flood mode. Deep inside the mode nothing
 * is written, so a flood on every CPU does not fight over the meter.
 */
static __always_inline int syn_flood_mode(__u32 slot, const struct eg_bucket_cfg *m, __u64 now)
{
	struct eg_budget *g = bpf_map_lookup_elem(&eg_budgets, &slot);
	__u64 until, old, next;

	if (!g)
		return 0;
	until = g->flood_until;
	if (until > now + EG_SYN_FLOOD_HOLD_NS / 2)
		return 1;
	old = g->flood_tat;
	next = bucket_take(m, old, now);
	if (next) {
		__sync_val_compare_and_swap(&g->flood_tat, old, next);
		return until > now;
	}
	/* Over the threshold: the mode starts, or goes on for another hold. */
	if (__sync_val_compare_and_swap(&g->flood_until, until, now + EG_SYN_FLOOD_HOLD_NS) == until &&
	    until <= now)
		count(EG_R_SYN_FLOOD);
	return 1;
}

#endif /* EG_SOURCES_BPF_H */

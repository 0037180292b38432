// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard XDP datapath. Decision order (README "Policy semantics"):
 *   allowlist -> ban lists -> policy buckets -> auto-ban.
 * Every packet moves exactly one verdict counter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgeguard.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EG_DEFAULT_MAX_SOURCES);
	__type(key, struct eg_source_key);
	__type(value, struct eg_source);
} eg_sources SEC(".maps");

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

static __always_inline void count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&eg_counters, &reason);

	if (c)
		*c += 1;
}

static __always_inline int verdict(__u32 reason, int action)
{
	count(reason);
	return action;
}

static __always_inline void count_policy(struct eg_policy_counters *pc, __u32 which)
{
	if (pc && which < EG_PC_MAX)
		pc->c[which] += 1;
}

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_boot_ns() + eg_clock_offset_ns;
}

static __always_inline int ban_active(const struct eg_ban *b, __u64 now)
{
	return b->expires_ns == 0 || b->expires_ns > now;
}

/*
 * An LPM lookup returns only the longest match. If that ban has expired, a
 * shorter, still active ban may cover the address too, so look again below
 * the expired entry's prefix.
 */
static __always_inline int cidr_banned(const struct eg_addr *src, __u64 now)
{
	struct eg_lpm_key key = { .prefixlen = 128 };
	int i;

	__builtin_memcpy(key.addr, src, EG_ADDR_LEN);
	for (i = 0; i < EG_MAX_BAN_NESTING; i++) {
		struct eg_ban *b = bpf_map_lookup_elem(&eg_ban_cidr, &key);

		if (!b)
			return 0;
		if (ban_active(b, now))
			return 1;
		if (b->prefixlen == 0 || b->prefixlen > key.prefixlen)
			return 0;
		key.prefixlen = b->prefixlen - 1;
	}
	return 0;
}

static __always_inline void mask_v6(struct eg_addr *a, __u32 prefix)
{
	int i;

	if (prefix >= 128)
		return;
#pragma unroll
	for (i = 0; i < EG_ADDR_LEN; i++) {
		__u32 bit = i * 8;

		if (bit >= prefix)
			a->a[i] = 0;
		else if (bit + 8 > prefix)
			a->a[i] &= (__u8)(0xff << (bit + 8 - prefix));
	}
}

/* GCRA: the new theoretical arrival time if this packet conforms, else 0. */
static __always_inline __u64 bucket_take(const struct eg_bucket_cfg *b, __u64 tat, __u64 now)
{
	__u64 t = tat > now ? tat : now;

	if (t - now > b->tolerance_ns)
		return 0;
	return t + b->interval_ns;
}

static __always_inline void emit_event(__u32 type, const struct eg_addr *addr, __u32 prefixlen,
				       __u32 policy, __u32 trigger, __u32 ttl_s,
				       __u32 window_drops, __u64 now)
{
	struct eg_event *ev = bpf_ringbuf_reserve(&eg_events, sizeof(*ev), 0);

	if (!ev) {
		count(EG_R_EVENTS_LOST);
		return;
	}
	ev->ts_ns = now;
	__builtin_memcpy(&ev->addr, addr, EG_ADDR_LEN);
	ev->prefixlen = prefixlen;
	ev->type = type;
	ev->policy = policy;
	ev->trigger = trigger;
	ev->ttl_s = ttl_s;
	ev->window_drops = window_drops;
	bpf_ringbuf_submit(ev, 0);
}

/* The source (already aggregated for IPv6) crossed ban_after: ban it ourselves. */
static __always_inline void auto_ban(const struct eg_source_key *sk, const struct eg_policy *pol,
				     const struct eg_pkt *p, __u32 v6_prefix, __u32 trigger,
				     __u32 window_drops, __u64 now)
{
	struct eg_ban ban = {
		.expires_ns = pol->ban_ttl_s ? now + (__u64)pol->ban_ttl_s * 1000000000ULL : 0,
		.created_ns = now,
		.origin = EG_ORIGIN_AUTO,
		.policy = sk->policy,
		.trigger = trigger,
	};
	__u32 prefixlen = 128;
	long err;

	if (p->is_v6 && v6_prefix < 128) {
		struct eg_lpm_key key = { .prefixlen = v6_prefix };

		__builtin_memcpy(key.addr, &sk->addr, EG_ADDR_LEN);
		prefixlen = v6_prefix;
		ban.prefixlen = prefixlen;
		err = bpf_map_update_elem(&eg_ban_cidr, &key, &ban, BPF_ANY);
	} else {
		ban.prefixlen = prefixlen;
		err = bpf_map_update_elem(&eg_ban_exact, &sk->addr, &ban, BPF_ANY);
	}
	if (err) {
		count(EG_R_BAN_FAILED);
		return;
	}
	count(EG_R_AUTOBAN);
	emit_event(EG_EV_AUTOBAN, &sk->addr, prefixlen, sk->policy, trigger, pol->ban_ttl_s,
		   window_drops, now);
}

/* Returns nonzero when the source has just reached its ban threshold. */
static __always_inline __u32 note_drop(struct eg_source *s, const struct eg_policy *pol, __u64 now)
{
	__u64 window = (__u64)pol->ban_window_s * 1000000000ULL;
	__u32 drops;

	s->drops += 1;
	if (!pol->ban_after)
		return 0;
	if (now - s->window_start_ns >= window) {
		s->window_start_ns = now;
		s->window_drops = 0;
	}
	drops = ++s->window_drops;
	if (drops < pol->ban_after)
		return 0;
	s->window_drops = 0;
	s->window_start_ns = now;
	return drops;
}

static __always_inline int apply_policy(const struct eg_pkt *p, const struct eg_config *cfg,
					__u64 now)
{
	__u32 gen = cfg->active_gen & 1;
	__u32 slot = 0, idx;
	struct eg_source_key sk = {};
	struct eg_source *s;
	struct eg_policy *pol;
	struct eg_policy_counters *pc;
	__u64 syn_tat = 0, pkt_tat = 0;
	__u32 reason = 0, pc_drop = 0, window_drops;
	int is_syn = p->l4proto == EG_IPPROTO_TCP && p->has_port &&
		     (p->tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == EG_TCP_SYN;

	if (p->has_port) {
		__u32 ps = eg_port_slot(gen, p->l4proto == EG_IPPROTO_UDP, p->dport);
		__u32 *v = bpf_map_lookup_elem(&eg_port_policy, &ps);

		if (v && *v < EG_MAX_POLICIES)
			slot = *v;
	}
	idx = gen * EG_MAX_POLICIES + slot;
	pol = bpf_map_lookup_elem(&eg_policies, &idx);
	if (!pol)
		return verdict(EG_R_PASSED, XDP_PASS);
	pc = bpf_map_lookup_elem(&eg_policy_counters, &slot);
	count_policy(pc, EG_PC_PACKETS);
	if (is_syn)
		count(EG_R_SYN_SEEN);

	sk.addr = p->src;
	sk.policy = slot;
	if (p->is_v6)
		mask_v6(&sk.addr, cfg->v6_prefix);
	s = bpf_map_lookup_elem(&eg_sources, &sk);
	if (!s) {
		struct eg_source fresh = {};

		bpf_map_update_elem(&eg_sources, &sk, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&eg_sources, &sk);
		if (!s)
			return verdict(EG_R_PASSED, XDP_PASS);
	}
	s->packets += 1;
	s->last_seen_ns = now;
	if (is_syn)
		s->syns += 1;

	if (is_syn && pol->syn.rate) {
		syn_tat = bucket_take(&pol->syn, s->syn_tat, now);
		if (!syn_tat) {
			reason = EG_R_SYN_RATE;
			pc_drop = EG_PC_SYN_DROP;
		}
	}
	if (!reason && pol->pkt.rate) {
		pkt_tat = bucket_take(&pol->pkt, s->pkt_tat, now);
		if (!pkt_tat) {
			reason = EG_R_PKT_RATE;
			pc_drop = EG_PC_PKT_DROP;
		}
	}
	if (!reason) {
		/* Charge the buckets only for packets that get through. */
		if (syn_tat)
			s->syn_tat = syn_tat;
		if (pkt_tat)
			s->pkt_tat = pkt_tat;
		count_policy(pc, EG_PC_PASSED);
		return verdict(EG_R_PASSED, XDP_PASS);
	}

	window_drops = note_drop(s, pol, now);
	if (pol->mode == EG_MODE_DRY_RUN) {
		count_policy(pc, EG_PC_WOULD_DROP);
		if (window_drops) {
			count(EG_R_DRY_RUN_WOULD_BAN);
			count_policy(pc, EG_PC_WOULD_BAN);
			emit_event(EG_EV_WOULD_BAN, &sk.addr, p->is_v6 ? cfg->v6_prefix : 128,
				   slot, reason, pol->ban_ttl_s, window_drops, now);
		}
		return verdict(EG_R_DRY_RUN_WOULD_DROP, XDP_PASS);
	}
	count_policy(pc, pc_drop);
	if (window_drops) {
		count_policy(pc, EG_PC_AUTOBAN);
		auto_ban(&sk, pol, p, cfg->v6_prefix, reason, window_drops, now);
	}
	return verdict(reason, XDP_DROP);
}

SEC("xdp")
int edgeguard_xdp(struct xdp_md *ctx)
{
	struct eg_pkt p = {};
	struct eg_lpm_key lkey;
	struct eg_ban *ban;
	struct eg_config *cfg;
	__u32 zero = 0;
	__u64 now;
	int st;

	st = eg_parse(ctx, &p);
	if (st == EG_PARSE_NON_IP)
		return verdict(EG_R_NON_IP, XDP_PASS);
	if (st == EG_PARSE_BAD_L3)
		return verdict(EG_R_MALFORMED, XDP_DROP);

	lkey.prefixlen = 128;
	__builtin_memcpy(lkey.addr, &p.src, EG_ADDR_LEN);
	if (bpf_map_lookup_elem(&eg_allow, &lkey))
		return verdict(EG_R_ALLOWLISTED, XDP_PASS);

	now = now_ns();
	ban = bpf_map_lookup_elem(&eg_ban_exact, &p.src);
	if (ban && ban_active(ban, now))
		return verdict(EG_R_BANNED, XDP_DROP);
	if (cidr_banned(&p.src, now))
		return verdict(EG_R_BANNED_CIDR, XDP_DROP);

	if (st == EG_PARSE_BAD_L4)
		return verdict(EG_R_MALFORMED, XDP_DROP);

	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	if (!cfg)
		return verdict(EG_R_PASSED, XDP_PASS);
	if (p.frag == EG_FRAG_LATER) {
		/* No ports here: the first fragment already met the L4 policy.
		 * Later fragments still count against the default policy's
		 * packet bucket, so fragments are no way around the limits. */
		count(EG_R_FRAGMENT);
		p.has_port = 0;
	}
	return apply_policy(&p, cfg, now);
}

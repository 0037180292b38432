// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard datapath. XDP decides on every incoming packet, in order
 * (README "Policy semantics"): allowlist -> ban lists -> connection cap ->
 * new-source budget -> policy buckets -> auto-ban; every packet moves exactly
 * one verdict counter. TC egress watches the server's replies to track
 * established flows and verified sources.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgeguard.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "maps.bpf.h"
#include "flows.bpf.h"

/* Reads the clock on first use only: a permanent ban never needs it. */
static __always_inline __u64 clock_once(__u64 *now)
{
	if (!*now)
		*now = now_ns();
	return *now;
}

static __always_inline int ban_active(const struct eg_ban *b, __u64 *now)
{
	return b->expires_ns == 0 || b->expires_ns > clock_once(now);
}

/*
 * An LPM lookup returns only the longest match. If that ban has expired, a
 * shorter, still active ban may cover the address too, so look again below
 * the expired entry's prefix.
 */
static __always_inline int cidr_banned(const struct eg_addr *src, __u64 *now)
{
	struct eg_lpm_key key = { .prefixlen = 128 };
	int i;

	if (!list_in_use(EG_LIST_BAN_CIDR))
		return 0;
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
		if (!err)
			list_note_insert(EG_LIST_BAN_CIDR);
	} else {
		ban.prefixlen = prefixlen;
		err = bpf_map_update_elem(&eg_ban_exact, &sk->addr, &ban, BPF_ANY);
		if (!err)
			list_note_insert(EG_LIST_BAN_EXACT);
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

/* Which policy slot governs traffic to this L4 port, in the live generation. */
static __always_inline __u32 policy_slot(const struct eg_config *cfg, const struct eg_pkt *p,
					 __u32 l4, __u16 port)
{
	__u32 ps, *v;

	if (!p->has_port)
		return 0;
	ps = eg_port_slot(cfg->active_gen & 1, l4, port);
	v = bpf_map_lookup_elem(&eg_port_policy, &ps);
	return v && *v < EG_MAX_POLICIES ? *v : 0;
}

static __always_inline void source_key(struct eg_source_key *sk, const struct eg_addr *addr,
				       int is_v6, const struct eg_config *cfg, __u32 slot)
{
	sk->addr = *addr;
	sk->policy = slot;
	if (is_v6)
		mask_v6(&sk->addr, cfg->v6_prefix);
}

/* GCRA on one bucket shared by every CPU; a lost race counts as over budget. */
static __always_inline int budget_take(__u32 slot, const struct eg_bucket_cfg *b, __u64 now)
{
	struct eg_budget *g = bpf_map_lookup_elem(&eg_budgets, &slot);
	__u64 old, next;

	if (!g)
		return 1;
	old = g->tat;
	next = bucket_take(b, old, now);
	if (!next)
		return 0;
	return __sync_val_compare_and_swap(&g->tat, old, next) == old;
}

/*
 * A source's first packet always conforms (empty buckets), so its entry is
 * stored already charged with it: one insert instead of insert + lookup +
 * update. Returns the insert's error.
 */
static __always_inline long source_create(const struct eg_source_key *sk,
					  const struct eg_policy *pol, int is_syn, __u64 now)
{
	struct eg_source fresh = {
		.packets = 1,
		.syns = is_syn ? 1 : 0,
		.last_seen_ns = now,
	};

	if (is_syn && pol->syn.rate)
		fresh.syn_tat = bucket_take(&pol->syn, 0, now);
	if (pol->pkt.rate)
		fresh.pkt_tat = bucket_take(&pol->pkt, 0, now);
	return bpf_map_update_elem(&eg_sources, sk, &fresh, BPF_NOEXIST);
}

/*
 * The per-source state: a verified source's own entry, else the shared LRU.
 * NULL with *created set: a new entry already holds this packet, which passes.
 */
static __always_inline struct eg_source *source_state(const struct eg_source_key *sk,
						      const struct eg_policy *pol,
						      const struct eg_config *cfg, int is_syn,
						      __u64 now, __u32 *reason, int *created)
{
	struct eg_source *s;

	if (pol->new_source_budget.rate) {
		struct eg_verified *v = bpf_map_lookup_elem(&eg_verified, sk);

		if (v && now - v->verified_ns < (__u64)cfg->verified_ttl_s * EG_NS)
			return &v->state;
		/* Checked before any state is made: a spoofed flood costs no LRU churn. */
		if (is_syn && !budget_take(sk->policy, &pol->new_source_budget, now)) {
			*reason = EG_R_BUDGET;
			return NULL;
		}
	}
	s = bpf_map_lookup_elem(&eg_sources, sk);
	if (s)
		return s;
	switch (source_create(sk, pol, is_syn, now)) {
	case 0:
		*created = 1;
		return NULL;
	case -EG_EEXIST: /* another CPU created it first: charge this packet there */
		return bpf_map_lookup_elem(&eg_sources, sk);
	default:
		return NULL;
	}
}

static __always_inline int drop_or_dry_run(const struct eg_policy *pol,
					   struct eg_policy_counters *pc, __u32 reason,
					   __u32 pc_drop)
{
	if (pol->mode == EG_MODE_DRY_RUN) {
		count_policy(pc, EG_PC_WOULD_DROP);
		return verdict(EG_R_DRY_RUN_WOULD_DROP, XDP_PASS);
	}
	count_policy(pc, pc_drop);
	return verdict(reason, XDP_DROP);
}

static __always_inline int apply_policy(const struct eg_pkt *p, const struct eg_config *cfg,
					__u64 now)
{
	__u32 slot = policy_slot(cfg, p, p->l4proto == EG_IPPROTO_UDP, p->dport), idx;
	struct eg_source_key sk;
	struct eg_source *s;
	struct eg_policy *pol;
	struct eg_policy_counters *pc;
	__u64 syn_tat = 0, pkt_tat = 0;
	__u32 reason = 0, pc_drop = 0, window_drops;
	int is_syn = p->l4proto == EG_IPPROTO_TCP && p->has_port &&
		     (p->tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == EG_TCP_SYN;
	int created = 0;

	idx = (cfg->active_gen & 1) * EG_MAX_POLICIES + slot;
	pol = bpf_map_lookup_elem(&eg_policies, &idx);
	if (!pol)
		return verdict(EG_R_PASSED, XDP_PASS);
	pc = bpf_map_lookup_elem(&eg_policy_counters, &slot);
	count_policy(pc, EG_PC_PACKETS);
	if (is_syn)
		count(EG_R_SYN_SEEN);
	source_key(&sk, &p->src, p->is_v6, cfg, slot);

	/* The cap is the client's own doing but no sign of abuse: no auto-ban. */
	if (is_syn && pol->max_conns && conns_of(&sk) >= pol->max_conns)
		return drop_or_dry_run(pol, pc, EG_R_CONN_LIMIT, EG_PC_CONN_DROP);

	s = source_state(&sk, pol, cfg, is_syn, now, &reason, &created);
	if (reason == EG_R_BUDGET)
		return drop_or_dry_run(pol, pc, EG_R_BUDGET, EG_PC_BUDGET_DROP);
	if (created)
		count_policy(pc, EG_PC_PASSED);
	if (!s)
		return verdict(EG_R_PASSED, XDP_PASS);
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
		if (window_drops) {
			count(EG_R_DRY_RUN_WOULD_BAN);
			count_policy(pc, EG_PC_WOULD_BAN);
			emit_event(EG_EV_WOULD_BAN, &sk.addr, p->is_v6 ? cfg->v6_prefix : 128,
				   slot, reason, pol->ban_ttl_s, window_drops, now);
		}
	} else if (window_drops) {
		count_policy(pc, EG_PC_AUTOBAN);
		auto_ban(&sk, pol, p, cfg->v6_prefix, reason, window_drops, now);
	}
	return drop_or_dry_run(pol, pc, reason, pc_drop);
}

/* A client's FIN or RST that got through ends its flow. */
static __always_inline int pass_and_track(const struct eg_pkt *p, int action)
{
	if (action == XDP_PASS && p->l4proto == EG_IPPROTO_TCP && p->has_port &&
	    (p->tcp_flags & (EG_TCP_FIN | EG_TCP_RST))) {
		struct eg_flow_key key = {
			.client = p->src,
			.server = p->dst,
			.client_port = p->sport,
			.server_port = p->dport,
		};

		flow_end(&key, EG_R_FLOW_CLOSED);
	}
	return action;
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

	if (list_in_use(EG_LIST_ALLOW)) {
		lkey.prefixlen = 128;
		__builtin_memcpy(lkey.addr, &p.src, EG_ADDR_LEN);
		if (bpf_map_lookup_elem(&eg_allow, &lkey))
			return pass_and_track(&p, verdict(EG_R_ALLOWLISTED, XDP_PASS));
	}

	now = 0;
	if (list_in_use(EG_LIST_BAN_EXACT)) {
		ban = bpf_map_lookup_elem(&eg_ban_exact, &p.src);
		if (ban && ban_active(ban, &now))
			return verdict(EG_R_BANNED, XDP_DROP);
	}
	if (cidr_banned(&p.src, &now))
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
	return pass_and_track(&p, apply_policy(&p, cfg, clock_once(&now)));
}

#define TC_ACT_OK 0 /* a macro in linux/pkt_cls.h, so not in vmlinux.h */

/* Headers we need in the linear part of an skb: VLANs, IPv6 + extensions, TCP. */
#define EG_TC_PULL_BYTES 160

SEC("tc")
int edgeguard_tc_egress(struct __sk_buff *skb)
{
	struct eg_pkt p = {};
	struct eg_flow_key key = {};
	struct eg_source_key owner;
	struct eg_config *cfg;
	struct eg_policy *pol;
	struct eg_flow *f;
	__u32 zero = 0, slot, idx, len = skb->len;
	void *data, *end;

	if (len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, len < EG_TC_PULL_BYTES ? len : EG_TC_PULL_BYTES);
	/* Keeps clang from reusing a computed &skb->data_end, which the verifier refuses. */
	asm volatile("" : "+r"(skb));
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (eg_parse_frame(data, end, &p) != EG_PARSE_OK || p.l4proto != EG_IPPROTO_TCP ||
	    !p.has_port)
		return TC_ACT_OK;

	/* Egress: the server is the source, the client the destination. */
	key.client = p.dst;
	key.server = p.src;
	key.client_port = p.dport;
	key.server_port = p.sport;
	if (p.tcp_flags & (EG_TCP_FIN | EG_TCP_RST)) {
		flow_end(&key, EG_R_FLOW_CLOSED);
		return TC_ACT_OK;
	}
	if ((p.tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == (EG_TCP_SYN | EG_TCP_ACK)) {
		cfg = bpf_map_lookup_elem(&eg_config, &zero);
		if (!cfg)
			return TC_ACT_OK;
		slot = policy_slot(cfg, &p, EG_L4_TCP, p.sport);
		idx = (cfg->active_gen & 1) * EG_MAX_POLICIES + slot;
		pol = bpf_map_lookup_elem(&eg_policies, &idx);
		/* Only policies that use flows pay for tracking them. */
		if (!pol || (!pol->max_conns && !pol->new_source_budget.rate))
			return TC_ACT_OK;
		source_key(&owner, &p.dst, p.is_v6, cfg, slot);
		flow_open(&key, &owner);
		return TC_ACT_OK;
	}
	f = bpf_map_lookup_elem(&eg_flows, &key);
	if (!f)
		return TC_ACT_OK;
	f->last_seen_ns = now_ns();
	if (!f->armed)
		flow_arm(f);
	if (!f->verified) {
		f->verified = 1;
		verify_source(&f->owner, f->last_seen_ns);
	}
	return TC_ACT_OK;
}

/*
 * Run by edgeguardd (bpf_prog_test_run) every few seconds: flows whose idle
 * timer could not be armed would otherwise hold their slot forever.
 */
SEC("syscall")
int edgeguard_sweep_flows(void *ctx)
{
	__u64 now = now_ns();

	bpf_for_each_map_elem(&eg_flows, sweep_one, &now, 0);
	return 0;
}

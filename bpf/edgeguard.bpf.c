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
 * the expired entry's prefix. Each look is at a strictly shorter prefix of
 * the same family, so one per possible prefix length covers any nesting.
 */
static __always_inline int trie_banned(void *trie, const struct eg_addr *src, __u64 *now)
{
	struct eg_lpm_key key = { .prefixlen = EG_LPM_MAX_PREFIX };
	int i;

	if (!src || !now)
		return 0;
	key.addr = *src;

	for (i = 0; i <= EG_LPM_MAX_PREFIX - EG_FAMILY_BITS; i++) {
		struct eg_ban *b = bpf_map_lookup_elem(trie, &key);

		if (!b)
			return 0;
		if (ban_active(b, now))
			return 1;
		if (b->prefixlen <= EG_FAMILY_BITS || b->prefixlen > key.prefixlen)
			return 0;
		key.prefixlen = b->prefixlen - 1;
	}
	return 0;
}

/*
 * The walks as global functions: the verifier checks each once (a walk is
 * up to 129 lookups long), not once per path of the XDP program.
 */
__noinline int eg_cidr_banned(const struct eg_addr *src, __u64 *now)
{
	return trie_banned(&eg_ban_cidr, src, now);
}

__noinline int eg_autobanned(const struct eg_addr *src, __u64 *now)
{
	return trie_banned(&eg_autoban, src, now);
}

/* Keeps the first prefix bits of the address: a word at a time, no branch per byte. */
static __always_inline void mask_v6(struct eg_addr *a, __u32 prefix)
{
	__u32 *w = (__u32 *)a->a;
	int i;

#pragma unroll
	for (i = 0; i < EG_ADDR_LEN / 4; i++) {
		__u32 bits = prefix > 32 * i ? prefix - 32 * i : 0;

		/* The top `bits` bits of a word; 0 bits shift the ones out entirely. */
		w[i] &= bpf_htonl((__u32)(0xffffffff00000000ULL >> (bits > 32 ? 32 : bits)));
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
	ev->addr = *addr;
	ev->prefixlen = prefixlen;
	ev->type = type;
	ev->policy = policy;
	ev->trigger = trigger;
	ev->ttl_s = ttl_s;
	ev->window_drops = window_drops;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline long autoban_insert(const struct eg_lpm_key *key, const struct eg_ban *ban)
{
	long err = bpf_map_update_elem(&eg_autoban, key, ban, BPF_ANY);

	if (!err)
		list_note_insert(EG_LIST_AUTOBAN);
	return err;
}

struct escalation {
	struct eg_lpm_key key; /* the prefix banned last; the next is one step shorter */
	struct eg_ban ban;
	__u32 floor;          /* LPM form */
	__u32 after;
	__u32 ttl_s;
	__u64 now;
};

/* One step of eg_escalate(): 0 goes on to the next shorter prefix, 1 stops. */
static long escalate_step(__u32 i, struct escalation *x)
{
	struct eg_escalation fresh = { .window_start_ns = x->now, .count = 1 }, *c;
	__u64 ttl_ns = (__u64)x->ttl_s * EG_NS_PER_S;
	__u32 n;

	if (x->key.prefixlen <= x->floor)
		return 1;
	x->key.prefixlen = x->key.prefixlen - EG_ESCALATE_STEP > x->floor ?
				   x->key.prefixlen - EG_ESCALATE_STEP : x->floor;
	mask_v6(&x->key.addr, x->key.prefixlen - EG_FAMILY_BITS);
	c = bpf_map_lookup_elem(&eg_escalations, &x->key);
	if (!c) {
		bpf_map_update_elem(&eg_escalations, &x->key, &fresh, BPF_ANY);
		n = 1;
	} else {
		if (ttl_ns && since(x->now, c->window_start_ns) >= ttl_ns) {
			c->window_start_ns = x->now;
			c->count = 0;
		}
		n = __sync_add_and_fetch(&c->count, 1);
	}
	/* Exactly at the threshold: one escalation per count, however many CPUs. */
	if (n != x->after)
		return 1;
	x->ban.prefixlen = x->key.prefixlen;
	if (autoban_insert(&x->key, &x->ban)) {
		count(EG_R_BAN_FAILED);
		return 1;
	}
	count(EG_R_ESCALATED);
	emit_event(EG_EV_ESCALATE, &x->key.addr, x->key.prefixlen, x->ban.policy, x->ban.trigger,
		   x->ttl_s, n, x->now);
	return 0;
}

/*
 * Counts a new IPv6 auto-ban (child) in the prefix EG_ESCALATE_STEP bits
 * shorter; the auto-ban that makes escalate_after there bans that prefix
 * itself, which is counted one level up in turn, never beyond
 * v6_autoban_floor. A count restarts once a ban TTL has passed since it
 * started. bpf_loop: the verifier checks one step, not every level.
 */
static __always_inline void escalate(const struct eg_lpm_key *child, const struct eg_ban *child_ban,
				     const struct eg_config *cfg, __u32 ttl_s, __u64 now)
{
	struct escalation x = {
		.key = *child,
		.ban = *child_ban,
		.floor = EG_FAMILY_BITS + cfg->v6_autoban_floor,
		.after = cfg->escalate_after,
		.ttl_s = ttl_s,
		.now = now,
	};

	if (x.after)
		bpf_loop(128 / EG_ESCALATE_STEP, escalate_step, &x, 0);
}

/*
 * The source (already aggregated for IPv6) crossed ban_after: ban it
 * ourselves, in the datapath's own ban map, at exactly the source's
 * granularity and family.
 */
static __always_inline void auto_ban(const struct eg_source_key *sk, const struct eg_policy *pol,
				     const struct eg_pkt *p, const struct eg_config *cfg,
				     __u32 trigger, __u32 window_drops, __u64 now)
{
	struct eg_ban ban = {
		.expires_ns = pol->ban_ttl_s ? now + (__u64)pol->ban_ttl_s * EG_NS_PER_S : 0,
		.created_ns = now,
		.origin = EG_ORIGIN_AUTO,
		.policy = sk->policy,
		.trigger = trigger,
	};
	struct eg_lpm_key key = { .addr = sk->addr };

	key.prefixlen = EG_FAMILY_BITS + (p->is_v6 ? cfg->v6_prefix : 32);
	ban.prefixlen = key.prefixlen;
	if (autoban_insert(&key, &ban)) {
		count(EG_R_BAN_FAILED);
		return;
	}
	count(EG_R_AUTOBAN);
	emit_event(EG_EV_AUTOBAN, &sk->addr, key.prefixlen, sk->policy, trigger, pol->ban_ttl_s,
		   window_drops, now);
	if (p->is_v6)
		escalate(&key, &ban, cfg, pol->ban_ttl_s, now);
}

/* Returns nonzero when the source has just reached its ban threshold. */
static __always_inline __u32 note_drop(struct eg_source *s, const struct eg_policy *pol, __u64 now)
{
	__u64 window = (__u64)pol->ban_window_s * EG_NS_PER_S;
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

		if (v && now - v->verified_ns < (__u64)cfg->verified_ttl_s * EG_NS_PER_S)
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

/*
 * The policy step: connection cap, new-source budget, buckets, auto-ban.
 * Returns the XDP action, its verdict counted. A global function, so the
 * verifier checks it once rather than once per path of the list checks.
 */
__noinline int eg_apply_policy(const struct eg_pkt *p, __u64 now)
{
	struct eg_source_key sk;
	struct eg_source *s;
	struct eg_policy *pol;
	struct eg_policy_counters *pc;
	struct eg_config *cfg;
	__u64 syn_tat = 0, pkt_tat = 0;
	__u32 reason = 0, pc_drop = 0, window_drops, slot, idx, zero = 0;
	int is_syn, created = 0;

	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	if (!p || !cfg)
		return verdict(EG_R_PASSED, XDP_PASS);
	slot = policy_slot(cfg, p, p->l4proto == EG_IPPROTO_UDP, p->dport);
	is_syn = p->l4proto == EG_IPPROTO_TCP && p->has_port &&
		 (p->tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == EG_TCP_SYN;
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
			emit_event(EG_EV_WOULD_BAN, &sk.addr,
				   EG_FAMILY_BITS + (p->is_v6 ? cfg->v6_prefix : 32), slot, reason,
				   pol->ban_ttl_s, window_drops, now);
		}
	} else if (window_drops) {
		count_policy(pc, EG_PC_AUTOBAN);
		auto_ban(&sk, pol, p, cfg, reason, window_drops, now);
	}
	return drop_or_dry_run(pol, pc, reason, pc_drop);
}

/* A client's RST that got through may end its flow (client_reset() says when). */
static __always_inline int pass_and_track(const struct eg_pkt *p, int action, __u64 *now)
{
	if (action == XDP_PASS && p->l4proto == EG_IPPROTO_TCP && p->has_port &&
	    (p->tcp_flags & EG_TCP_RST)) {
		struct eg_flow_key key = {
			.client = p->src,
			.server = p->dst,
			.client_port = p->sport,
			.server_port = p->dport,
		};

		client_reset(&key, p->seq, clock_once(now));
	}
	return action;
}

SEC("xdp")
int edgeguard_xdp(struct xdp_md *ctx)
{
	struct eg_pkt p = {};
	struct eg_lpm_key lkey;
	struct eg_ban *ban;
	__u64 now;
	int st;

	st = eg_parse(ctx, &p);
	if (st == EG_PARSE_NON_IP)
		return verdict(EG_R_NON_IP, XDP_PASS);
	if (st == EG_PARSE_BAD_L3)
		return verdict(EG_R_MALFORMED, XDP_DROP);

	now = 0;
	if (list_in_use(EG_LIST_ALLOW)) {
		lkey.prefixlen = EG_LPM_MAX_PREFIX;
		lkey.addr = p.src;
		if (bpf_map_lookup_elem(&eg_allow, &lkey))
			return pass_and_track(&p, verdict(EG_R_ALLOWLISTED, XDP_PASS), &now);
	}

	if (list_in_use(EG_LIST_BAN_EXACT)) {
		ban = bpf_map_lookup_elem(&eg_ban_exact, &p.src);
		if (ban && ban_active(ban, &now))
			return verdict(EG_R_BANNED, XDP_DROP);
	}
	if (list_in_use(EG_LIST_BAN_CIDR) && eg_cidr_banned(&p.src, &now))
		return verdict(EG_R_BANNED_CIDR, XDP_DROP);
	if (list_in_use(EG_LIST_AUTOBAN) && eg_autobanned(&p.src, &now))
		return verdict(EG_R_AUTOBANNED, XDP_DROP);

	if (st == EG_PARSE_BAD_L4)
		return verdict(EG_R_MALFORMED, XDP_DROP);

	if (p.frag == EG_FRAG_LATER) {
		/* No ports here: the first fragment already met the L4 policy.
		 * Later fragments still count against the default policy's
		 * packet bucket, so fragments are no way around the limits. */
		count(EG_R_FRAGMENT);
		p.has_port = 0;
	}
	return pass_and_track(&p, eg_apply_policy(&p, clock_once(&now)), &now);
}


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
		return EG_TC_ACT_OK;

	/* Egress: the server is the source, the client the destination. */
	key.client = p.dst;
	key.server = p.src;
	key.client_port = p.dport;
	key.server_port = p.sport;
	/* The server's own FIN or RST: its side of the connection is over. */
	if (p.tcp_flags & (EG_TCP_FIN | EG_TCP_RST)) {
		flow_end(&key, EG_R_FLOW_CLOSED);
		return EG_TC_ACT_OK;
	}
	if ((p.tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == (EG_TCP_SYN | EG_TCP_ACK)) {
		cfg = bpf_map_lookup_elem(&eg_config, &zero);
		if (!cfg)
			return EG_TC_ACT_OK;
		slot = policy_slot(cfg, &p, EG_L4_TCP, p.sport);
		idx = (cfg->active_gen & 1) * EG_MAX_POLICIES + slot;
		pol = bpf_map_lookup_elem(&eg_policies, &idx);
		/* Only policies that use flows pay for tracking them. */
		if (!pol || (!pol->max_conns && !pol->new_source_budget.rate))
			return EG_TC_ACT_OK;
		source_key(&owner, &p.dst, p.is_v6, cfg, slot);
		flow_open(&key, &owner, p.ack);
		return EG_TC_ACT_OK;
	}
	f = bpf_map_lookup_elem(&eg_flows, &key);
	if (!f)
		return EG_TC_ACT_OK;
	f->last_seen_ns = now_ns();
	if (p.tcp_flags & EG_TCP_ACK)
		f->server_ack = p.ack;
	/* The server still talks on the flow: a pending client RST was refused. */
	f->rst_ns = 0;
	if (!f->armed)
		flow_arm(f);
	if (!f->verified) {
		f->verified = 1;
		verify_source(&f->owner, f->last_seen_ns);
	}
	return EG_TC_ACT_OK;
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

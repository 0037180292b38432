// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard datapath. XDP decides on every incoming packet, in order
 * (README "Policy semantics"): allowlist -> ban lists -> connection cap ->
 * SYN flood mode -> new-source budget -> policy buckets -> auto-ban; every
 * packet moves exactly one verdict counter. A source with state that was
 * found clean in the current list generation skips the list lookups; a
 * source without state is remembered in the first-seen memory and gets state
 * when it sends again. TC egress watches the server's replies to track
 * established flows and verified sources.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgeguard.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "maps.bpf.h"
#include "sources.bpf.h"
#include "flows.bpf.h"

/* Reads the clock on first use only: a permanent ban or an allowlisted source never needs it. */
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

/*
 * The allow and ban lists for one source: 0 when it is on none of them, else
 * the verdict reason (EG_R_ALLOWLISTED passes, the others drop). A global
 * function: verified once for its callers (the policy step, and the
 * malformed packets whose source is known).
 */
__noinline int eg_list_verdict(const struct eg_addr *src, __u64 *now)
{
	struct eg_lpm_key lkey = { .prefixlen = EG_LPM_MAX_PREFIX };
	struct eg_ban *ban;

	if (!src || !now)
		return 0;
	lkey.addr = *src;
	if (list_in_use(EG_LIST_ALLOW) && bpf_map_lookup_elem(&eg_allow, &lkey))
		return EG_R_ALLOWLISTED;
	if (list_in_use(EG_LIST_BAN_EXACT)) {
		ban = bpf_map_lookup_elem(&eg_ban_exact, &lkey.addr);
		if (ban && ban_active(ban, now))
			return EG_R_BANNED;
	}
	if (list_in_use(EG_LIST_BAN_CIDR) && eg_cidr_banned(&lkey.addr, now))
		return EG_R_BANNED_CIDR;
	if (list_in_use(EG_LIST_AUTOBAN) && eg_autobanned(&lkey.addr, now))
		return EG_R_AUTOBANNED;
	return 0;
}

/* After an insert into a list the datapath makes itself (an escalation): every cached verdict is stale. */
static __always_inline void list_gen_bump(void)
{
	__u32 zero = 0;
	struct eg_list_gen *lg = bpf_map_lookup_elem(&eg_list_gen, &zero);

	/* 0 means "never cache"; a wrapped counter skips it. */
	if (lg && __sync_add_and_fetch(&lg->gen, 1) == 0)
		__sync_add_and_fetch(&lg->gen, 1);
}

struct invalidation {
	struct eg_source_key key;
};

/* One policy slot of invalidate_source(). */
static long invalidate_step(__u32 slot, struct invalidation *x)
{
	struct eg_verified *v;
	struct eg_source *s;

	x->key.policy = slot;
	s = bpf_map_lookup_elem(&eg_sources, &x->key);
	if (s)
		s->gen = 0;
	v = bpf_map_lookup_elem(&eg_verified, &x->key);
	if (v)
		v->state.gen = 0;
	return 0;
}

/*
 * The source was just auto-banned: its entries under every policy slot must
 * look at the lists again (one list-generation move would send every other
 * source back to the lists too, which an attack with many auto-bans would
 * turn into a full list walk for every packet).
 */
static __always_inline void invalidate_source(const struct eg_source_key *sk,
					      const struct eg_config *cfg)
{
	struct invalidation x = { .key = *sk };
	__u32 n = cfg->policy_slots;

	bpf_loop(n && n < EG_MAX_POLICIES ? n : EG_MAX_POLICIES, invalidate_step, &x, 0);
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
	__u32 escalated; /* a prefix was banned */
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
	x->escalated = 1;
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
 * started. bpf_loop: the verifier checks one step, not every level; a global
 * function, so its state has a stack frame of its own.
 */
__noinline int eg_escalate(const struct eg_lpm_key *child, const struct eg_ban *child_ban,
			   __u32 ttl_s, __u64 now)
{
	struct escalation x = { .ttl_s = ttl_s, .now = now };
	struct eg_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	if (!child || !child_ban || !cfg || !cfg->escalate_after)
		return 0;
	x.key = *child;
	x.ban = *child_ban;
	x.floor = EG_FAMILY_BITS + cfg->v6_autoban_floor;
	x.after = cfg->escalate_after;
	bpf_loop(128 / EG_ESCALATE_STEP, escalate_step, &x, 0);
	/* A prefix covers other sources' entries: all of them look at the lists again. */
	if (x.escalated)
		list_gen_bump();
	return 0;
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
	invalidate_source(sk, cfg);
	/* A policy load shortened ipv6_prefix meanwhile: this ban is longer than the aggregate. */
	if (p->is_v6 && key.prefixlen > EG_FAMILY_BITS + cfg->v6_prefix) {
		__u32 zero = 0;
		struct eg_list_gen *lg = bpf_map_lookup_elem(&eg_list_gen, &zero);

		if (lg)
			lg->v6_deep = 1;
	}
	count(EG_R_AUTOBAN);
	emit_event(EG_EV_AUTOBAN, &sk->addr, key.prefixlen, sk->policy, trigger, pol->ban_ttl_s,
		   window_drops, now);
	if (p->is_v6)
		eg_escalate(&key, &ban, pol->ban_ttl_s, now);
}

/*
 * auto_ban() as a global function: its ban, key and escalation state live in
 * its own stack frame, not in the policy step's (BPF has 512 bytes for the
 * whole call chain). why = trigger << 32 | window_drops.
 */
__noinline int eg_auto_ban(const struct eg_source_key *sk, const struct eg_pkt *p, __u32 idx,
			   __u64 why, __u64 now)
{
	struct eg_config *cfg;
	struct eg_policy *pol;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	pol = bpf_map_lookup_elem(&eg_policies, &idx);
	if (!sk || !p || !cfg || !pol)
		return 0;
	auto_ban(sk, pol, p, cfg, (__u32)(why >> 32), (__u32)why, now);
	return 0;
}

/* Returns nonzero when the source has just reached its ban threshold. */
static __always_inline __u32 note_drop(struct eg_source *s, const struct eg_policy *pol, __u64 now)
{
	__u64 window = (__u64)pol->ban_window_s * EG_NS_PER_S;
	__u32 now_u = (__u32)(now >> EG_TIME_UNIT_SHIFT), drops;

	s->drops += 1;
	if (!pol->ban_after)
		return 0;
	/* Both in EG_TIME_UNIT_SHIFT units: the window is measured to within one. */
	if ((__u64)(__u32)(now_u - s->window_start) << EG_TIME_UNIT_SHIFT >= window) {
		s->window_start = now_u;
		s->window_drops = 0;
	}
	drops = ++s->window_drops;
	if (drops < pol->ban_after)
		return 0;
	s->window_drops = 0;
	s->window_start = now_u;
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

/* What eg_new_source() decided for a packet from a source without state. */
enum eg_new {
	EG_NEW_FIRST = 0, /* remembered; it passes, no state made */
	EG_NEW_PROMOTE,   /* seen before: its state is made, the caller charges this packet */
	EG_NEW_VERIFIED,  /* it is verified after all (it fell out of the tracked filter) */
	EG_NEW_RETRY,     /* SYN flood mode: drop the first SYN, let the retransmission in */
	EG_NEW_BUDGET,    /* over the new-source budget */
};

/*
 * The state of a source seen again: its entry if it has one (it fell out of
 * the tracked filter), else a new one; charged with the recorded packet (rec)
 * if that is still pending and was for this policy, at the time it passed
 * (t0). A lookup first: an LRU insert that fails because the key exists may
 * still have evicted another entry.
 */
static __always_inline void promote(const struct eg_source_key *sk, const struct eg_policy *pol,
				    __u64 rec, __u64 t0, __u32 gen)
{
	struct eg_source *s = bpf_map_lookup_elem(&eg_sources, sk);

	if (!s) {
		struct eg_source fresh = { .gen = gen };

		if (!bpf_map_update_elem(&eg_sources, sk, &fresh, BPF_NOEXIST))
			count(EG_R_PROMOTED);
		s = bpf_map_lookup_elem(&eg_sources, sk);
		if (!s)
			return;
	}
	if (!(rec & 1ULL << 32) || ((rec >> EG_SEEN_TIME_BITS) & 63) != sk->policy)
		return;
	s->packets += 1;
	if (rec & 1ULL << 33) {
		s->syns += 1;
		if (pol->syn.rate)
			s->syn_tat = bucket_charge(&pol->syn, s->syn_tat, t0);
	}
	if (pol->pkt.rate)
		s->pkt_tat = bucket_charge(&pol->pkt, s->pkt_tat, t0);
}

/*
 * A packet from a source without state (after the lists): SYN flood mode,
 * the new-source budget, then the first-seen memory. A first packet is
 * remembered and passes; a repeat within EG_SEEN_WINDOW_NS makes the state
 * (then the caller finds it and charges this packet). h is the address's
 * hash; at = idx << 32 | gen: the packet's eg_policies index, and the list
 * generation a new entry was found clean in (0: none). A global function:
 * the way scan is verified once.
 */
__noinline int eg_new_source(const struct eg_pkt *p, const struct eg_source_key *sk, __u64 h,
			     __u64 at, __u64 now)
{
	const __u32 window_u = EG_SEEN_WINDOW_NS >> EG_TIME_UNIT_SHIFT;
	const __u32 gap_u = EG_RETRY_MIN_GAP_NS >> EG_TIME_UNIT_SHIFT;
	const __u32 tmask = (1U << EG_SEEN_TIME_BITS) - 1;
	__u32 zero = 0, now_u, bi, fp, idx = at >> 32, way = 0, victim = 0, best = 0, age = 0;
	__u32 found = 0;
	struct eg_seen_bucket *b;
	struct eg_policy *pol;
	struct eg_config *cfg;
	__u64 rec = 0, mine;
	int is_syn, i;

	if (!p || !sk)
		return EG_NEW_FIRST;
	now_u = (__u32)(now >> EG_TIME_UNIT_SHIFT) & tmask;
	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	pol = bpf_map_lookup_elem(&eg_policies, &idx);
	if (!cfg || !pol)
		return EG_NEW_FIRST;
	is_syn = p->l4proto == EG_IPPROTO_TCP && p->has_port &&
		 (p->tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == EG_TCP_SYN;
	bi = eg_seen_bucket_of(h, cfg->seen_mask);
	b = bpf_map_lookup_elem(&eg_seen, &bi);
	if (!b)
		return EG_NEW_FIRST;
	fp = eg_seen_fp(h);

	/* Its record if it has a live one, and the slot a new record would take: empty, else oldest. */
#pragma unroll
	for (i = 0; i < EG_SEEN_WAYS; i++) {
		__u64 v = b->slot[i];
		__u32 a = (now_u - (__u32)v) & tmask;
		__u32 score = v ? a : 0xffffffff;

		if (v && (__u32)(v >> 34) == fp && a < window_u) {
			found = 1;
			way = i;
			rec = v;
			age = a;
		}
		if (score >= best) {
			best = score;
			victim = i;
		}
	}
	/* This packet as a record: pending, its policy, now. */
	mine = (__u64)fp << 34 | (__u64)(is_syn ? 1 : 0) << 33 | 1ULL << 32 |
	       (__u64)(sk->policy & 63) << EG_SEEN_TIME_BITS | now_u;

	if (is_syn && pol->syn_retry.rate && syn_flood_mode(sk->policy, &pol->syn_retry, now) &&
	    (!found || age < gap_u)) {
		if (verified_of(sk, cfg, now))
			return EG_NEW_VERIFIED;
		/* Remembered from the first SYN on: a quick repeat keeps the first time. */
		if (!found)
			b->slot[victim & (EG_SEEN_WAYS - 1)] = mine;
		return EG_NEW_RETRY;
	}
	if (is_syn && pol->new_source_budget.rate &&
	    !budget_take(sk->policy, &pol->new_source_budget, now)) {
		if (verified_of(sk, cfg, now))
			return EG_NEW_VERIFIED;
		return EG_NEW_BUDGET;
	}
	if (!found) {
		b->slot[victim & (EG_SEEN_WAYS - 1)] = mine;
		count(EG_R_FIRST_SEEN);
		return EG_NEW_FIRST;
	}
	/* A verified source that fell out of the tracked filter keeps its verified state. */
	if ((pol->new_source_budget.rate || pol->syn_retry.rate) && verified_of(sk, cfg, now))
		return EG_NEW_VERIFIED;
	/*
	 * Charged to the state made now: the record stays, with nothing pending.
	 * A record for another policy stays as it is, for that policy's state.
	 */
	if (((rec >> EG_SEEN_TIME_BITS) & 63) == (sk->policy & 63))
		b->slot[way & (EG_SEEN_WAYS - 1)] = mine & ~(1ULL << 32);
	promote(sk, pol, rec, now - ((__u64)age << EG_TIME_UNIT_SHIFT), (__u32)at);
	return EG_NEW_PROMOTE;
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
 * The policy step's source key, and the auto-ban it asks for (why != 0): the
 * XDP program makes the ban after the policy step returns, so the ban's and
 * the escalation's stack frames never sit on top of the policy step's.
 */
struct eg_step {
	struct eg_source_key sk;
	__u32 idx; /* eg_policies index */
	__u64 why; /* trigger << 32 | window drops; 0 = no auto-ban */
	__u64 now; /* the clock, once read (clock_once); 0 = not yet */
};

/* The allow and ban lists' verdict as the packet's: 0 if it is on none of them. */
static __always_inline int listed(const struct eg_pkt *p, __u64 *now)
{
	int r = eg_list_verdict(&p->src, now);

	if (r)
		return verdict(r, r == EG_R_ALLOWLISTED ? XDP_PASS : XDP_DROP) + 1;
	return 0;
}

/*
 * Everything after parsing: the lists (unless the source's state says it
 * was clean in this list generation), connection cap, SYN flood mode,
 * new-source budget, buckets, auto-ban. Returns the XDP action, its verdict
 * counted. A source without state (the tracked filter, keyed by address, says
 * so before any policy is looked up) meets the lists first, so a banned or
 * allowlisted one costs little more than the list lookups. A global
 * function, so the verifier checks it once.
 */
__noinline int eg_apply_policy(const struct eg_pkt *p, struct eg_step *st)
{
	struct eg_source *s = NULL;
	struct eg_verified *v;
	struct eg_policy *pol;
	struct eg_policy_counters *pc;
	struct eg_config *cfg;
	struct eg_list_gen *lg;
	__u64 h, now, syn_tat = 0, pkt_tat = 0;
	__u32 reason = 0, pc_drop = 0, window_drops, slot, idx, zero = 0, gen = 0;
	int is_syn, tracked, verified = 0, cacheable = 0, by_verified, budget_done = 0;
	int checked = 0, r;

	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	if (!p || !st || !cfg)
		return verdict(EG_R_PASSED, XDP_PASS);

	/* The generation first, then the lookups it vouches for (struct eg_list_gen). */
	lg = bpf_map_lookup_elem(&eg_list_gen, &zero);
	if (lg) {
		gen = lg->gen;
		cacheable = gen && !(p->is_v6 && lg->v6_deep);
	}
	st->sk.addr = p->src;
	if (p->is_v6)
		mask_v6(&st->sk.addr, cfg->v6_prefix);
	h = addr_hash(cfg, &st->sk.addr);
	tracked = tracked_test(cfg, h);
	if (!tracked) {
		/* Its first-seen bucket, fetched while the lists are looked up. */
		seen_touch(cfg, h);
		r = listed(p, &st->now);
		if (r)
			return r - 1;
		checked = 1;
	}
	now = clock_once(&st->now);

	slot = policy_slot(cfg, p, p->l4proto == EG_IPPROTO_UDP, p->dport);
	is_syn = p->l4proto == EG_IPPROTO_TCP && p->has_port &&
		 (p->tcp_flags & (EG_TCP_SYN | EG_TCP_ACK)) == EG_TCP_SYN;
	idx = (cfg->active_gen & 1) * EG_MAX_POLICIES + slot;
	pol = bpf_map_lookup_elem(&eg_policies, &idx);
	if (!pol)
		return verdict(EG_R_PASSED, XDP_PASS);
	st->sk.policy = slot;
	st->idx = idx;

	/* Verified sources use their own entry where a policy tells them apart. */
	by_verified = pol->new_source_budget.rate || pol->syn_retry.rate;
	if (tracked) {
		v = by_verified ? verified_of(&st->sk, cfg, now) : NULL;
		if (v) {
			s = &v->state;
			verified = 1;
		} else {
			s = bpf_map_lookup_elem(&eg_sources, &st->sk);
		}
	}
	if (!checked && (!s || !cacheable || s->gen != gen)) {
		r = listed(p, &st->now);
		if (r)
			return r - 1;
	}
	if (s && (!cacheable || s->gen != gen))
		s->gen = cacheable ? gen : 0;

	pc = bpf_map_lookup_elem(&eg_policy_counters, &slot);
	count_policy(pc, EG_PC_PACKETS);
	if (is_syn)
		count(EG_R_SYN_SEEN);

	/* The cap is the client's own doing but no sign of abuse: no auto-ban. */
	if (is_syn && pol->max_conns && conns_of(&st->sk) >= pol->max_conns)
		return drop_or_dry_run(pol, pc, EG_R_CONN_LIMIT, EG_PC_CONN_DROP);

	if (!s) {
		switch (eg_new_source(p, &st->sk, h, (__u64)idx << 32 | (cacheable ? gen : 0), now)) {
		case EG_NEW_FIRST:
			count_policy(pc, EG_PC_PASSED);
			return verdict(EG_R_PASSED, XDP_PASS);
		case EG_NEW_RETRY:
			return drop_or_dry_run(pol, pc, EG_R_SYN_RETRY, EG_PC_RETRY_DROP);
		case EG_NEW_BUDGET:
			return drop_or_dry_run(pol, pc, EG_R_BUDGET, EG_PC_BUDGET_DROP);
		case EG_NEW_VERIFIED:
			v = verified_of(&st->sk, cfg, now);
			if (!v)
				return verdict(EG_R_PASSED, XDP_PASS);
			s = &v->state;
			s->gen = cacheable ? gen : 0;
			verified = 1;
			break;
		default: /* EG_NEW_PROMOTE: the budget, if any, took this SYN already */
			s = bpf_map_lookup_elem(&eg_sources, &st->sk);
			if (!s) {
				count_policy(pc, EG_PC_PASSED);
				return verdict(EG_R_PASSED, XDP_PASS);
			}
			budget_done = 1;
			break;
		}
		tracked = 0;
	}
	/* In the filter for this epoch too (once per epoch, so mostly a read). */
	if (!tracked || !tracked_current(cfg, h, now))
		tracked_set(cfg, h, now);

	/* A tracked but unverified source's SYN draws on the shared budget too. */
	if (is_syn && pol->new_source_budget.rate && !verified && !budget_done &&
	    !budget_take(slot, &pol->new_source_budget, now))
		return drop_or_dry_run(pol, pc, EG_R_BUDGET, EG_PC_BUDGET_DROP);

	s->packets += 1;
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
			emit_event(EG_EV_WOULD_BAN, &st->sk.addr,
				   EG_FAMILY_BITS + (p->is_v6 ? cfg->v6_prefix : 32), slot, reason,
				   pol->ban_ttl_s, window_drops, now);
		}
	} else if (window_drops) {
		count_policy(pc, EG_PC_AUTOBAN);
		st->why = (__u64)reason << 32 | window_drops;
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
	struct eg_step step = {};
	int st, r;

	st = eg_parse(ctx, &p);
	if (st == EG_PARSE_NON_IP)
		return verdict(EG_R_NON_IP, XDP_PASS);
	if (st == EG_PARSE_BAD_L3)
		return verdict(EG_R_MALFORMED, XDP_DROP);

	if (st == EG_PARSE_BAD_L4) {
		/* The source is known: the allowlist and the bans still come first. */
		r = eg_list_verdict(&p.src, &step.now);
		if (r == EG_R_ALLOWLISTED)
			return pass_and_track(&p, verdict(r, XDP_PASS), &step.now);
		return verdict(r ? r : EG_R_MALFORMED, XDP_DROP);
	}

	if (p.frag == EG_FRAG_LATER) {
		/* No ports here: the first fragment already met the L4 policy.
		 * Later fragments still count against the default policy's
		 * packet bucket, so fragments are no way around the limits. */
		count(EG_R_FRAGMENT);
		p.has_port = 0;
	}
	r = eg_apply_policy(&p, &step);
	if (step.why)
		eg_auto_ban(&step.sk, &p, step.idx, step.why, clock_once(&step.now));
	return pass_and_track(&p, r, &step.now);
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
		if (!pol || (!pol->max_conns && !pol->new_source_budget.rate && !pol->syn_retry.rate))
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

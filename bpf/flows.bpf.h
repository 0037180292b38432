/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Established-flow tracking: TC egress sees the server's SYN-ACK and starts a
 * flow; the server's own FIN or RST, a client RST the server's stack accepts
 * (exact sequence number, then silence from the server), or the idle timer
 * ends it. A client's word alone never does: the kernel ignores forged or
 * out-of-window FINs and RSTs, so they must not give a connection slot back.
 * The
 * owner's connection count goes up when a flow is stored and down when it is
 * deleted; only one deleter can succeed, so each flow counts down once.
 * Included by edgeguard.bpf.c.
 */
#ifndef EG_FLOWS_BPF_H
#define EG_FLOWS_BPF_H

#include "maps.bpf.h"
#include "sources.bpf.h"

static __always_inline __u64 flow_idle_ns(void)
{
	__u32 zero = 0;
	struct eg_config *cfg = bpf_map_lookup_elem(&eg_config, &zero);

	return (cfg && cfg->flow_idle_s ? cfg->flow_idle_s : EG_DEFAULT_FLOW_IDLE_S) * EG_NS_PER_S;
}

static __always_inline void conns_add(const struct eg_source_key *owner)
{
	__u64 *n = bpf_map_lookup_elem(&eg_conns, owner);

	if (!n) {
		__u64 zero = 0;

		bpf_map_update_elem(&eg_conns, owner, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&eg_conns, owner);
		if (!n)
			return;
	}
	__sync_fetch_and_add(n, 1);
}

static __always_inline void conns_sub(const struct eg_source_key *owner)
{
	__u64 *n = bpf_map_lookup_elem(&eg_conns, owner);

	/* An entry the LRU evicted and recreated starts at zero: never go below. */
	if (n && *n > 0)
		__sync_fetch_and_add(n, -1);
}

static __always_inline __u64 conns_of(const struct eg_source_key *owner)
{
	__u64 *n = bpf_map_lookup_elem(&eg_conns, owner);

	return n ? *n : 0;
}

/* Ends the flow if it is tracked; the caller that deletes it gives the slot back. */
static __always_inline void flow_end(const struct eg_flow_key *key, __u32 reason)
{
	struct eg_flow *f = bpf_map_lookup_elem(&eg_flows, key);
	struct eg_source_key owner;

	if (!f)
		return;
	owner = f->owner;
	if (bpf_map_delete_elem(&eg_flows, key) == 0) {
		conns_sub(&owner);
		count(reason);
	}
}

/* Time from then to now; 0 if the (test-moved) clock says then is later. */
static __always_inline __u64 since(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

/* A pending client RST the server has not contradicted for EG_RST_CONFIRM_NS. */
static __always_inline int reset_confirmed(const struct eg_flow *f, __u64 now)
{
	return f->rst_ns && since(now, f->rst_ns) >= EG_RST_CONFIRM_NS;
}

static int flow_idle_check(void *map, struct eg_flow_key *key, struct eg_flow *f)
{
	__u64 idle = flow_idle_ns();
	__u64 now = now_ns();
	__u64 quiet = since(now, f->last_seen_ns);

	if (reset_confirmed(f, now)) {
		flow_end(key, EG_R_FLOW_CLOSED);
		return 0;
	}
	if (f->rst_ns) {
		bpf_timer_start(&f->idle, EG_RST_CONFIRM_NS - since(now, f->rst_ns), 0);
		return 0;
	}
	if (quiet < idle) {
		/* Traffic since the timer was set: look again when it could be idle. */
		bpf_timer_start(&f->idle, idle - quiet, 0);
		return 0;
	}
	flow_end(key, EG_R_FLOW_REAPED);
	return 0;
}

/*
 * Ends a flow whose timer never got armed, once it is idle, and a flow whose
 * client RST stands confirmed (both sweeps use this).
 */
static long sweep_one(void *map, struct eg_flow_key *key, struct eg_flow *f, __u64 *now)
{
	if (reset_confirmed(f, *now))
		flow_end(key, EG_R_FLOW_CLOSED);
	else if (!f->armed && since(*now, f->last_seen_ns) >= flow_idle_ns())
		flow_end(key, EG_R_FLOW_SWEPT);
	return 0;
}

static int sweeper_fired(void *map, __u32 *key, struct eg_sweep_timer *sw)
{
	__u64 now = now_ns();

	bpf_for_each_map_elem(&eg_flows, sweep_one, &now, 0);
	bpf_timer_start(&sw->timer, EG_SWEEP_PERIOD_S * EG_NS_PER_S, 0);
	return 0;
}

/*
 * Arms the datapath's sweep timer once, with the first tracked flow: early,
 * while the kernel can still allocate timers (in a burst it may stop being
 * able to for a long while, and then this could not be armed either). Once
 * armed it re-arms itself without allocating. edgeguardd's sweep does not
 * depend on it.
 */
static __always_inline void sweeper_ensure(void)
{
	__u32 zero = 0;
	struct eg_sweep_timer *sw = bpf_map_lookup_elem(&eg_sweep_timer, &zero);
	long err;

	if (!sw || sw->armed)
		return;
	err = bpf_timer_init(&sw->timer, &eg_sweep_timer, EG_CLOCK_BOOTTIME);
	if ((err && err != -EG_EBUSY) || bpf_timer_set_callback(&sw->timer, sweeper_fired) ||
	    bpf_timer_start(&sw->timer, EG_SWEEP_PERIOD_S * EG_NS_PER_S, 0))
		return;
	sw->armed = 1;
}

/* Starts the idle timer; a failure leaves the flow unarmed for a later try. */
static __always_inline void flow_arm(struct eg_flow *f)
{
	long err = bpf_timer_init(&f->idle, &eg_flows, EG_CLOCK_BOOTTIME);

	/* EBUSY: an earlier try got as far as initialising it. */
	if ((err && err != -EG_EBUSY) || bpf_timer_set_callback(&f->idle, flow_idle_check) ||
	    bpf_timer_start(&f->idle, flow_idle_ns(), 0)) {
		count(EG_R_FLOW_UNTIMED);
		return;
	}
	f->armed = 1;
}

/* The server answered a SYN: track the flow against the client's policy slot. */
static __always_inline void flow_open(const struct eg_flow_key *key,
				      const struct eg_source_key *owner, __u32 server_ack)
{
	struct eg_flow fresh = { .owner = *owner, .server_ack = server_ack };
	struct eg_flow *f;
	long err;

	fresh.last_seen_ns = now_ns();
	/* Count first: a FIN racing in right after the insert must find the slot taken. */
	conns_add(owner);
	err = bpf_map_update_elem(&eg_flows, key, &fresh, BPF_NOEXIST);
	if (err)
		conns_sub(owner);
	if (err && err != -EG_EEXIST) {
		count(EG_R_FLOW_FULL);
		return;
	}
	if (!err)
		count(EG_R_FLOW_OPENED);
	sweeper_ensure();
	f = bpf_map_lookup_elem(&eg_flows, key);
	if (!f)
		return;
	if (err) { /* a retransmitted SYN-ACK: the server is still there */
		f->last_seen_ns = fresh.last_seen_ns;
		f->server_ack = server_ack;
	}
	if (!f->armed)
		flow_arm(f);
}

/*
 * A client RST that passed XDP. The server's stack accepts one only with
 * exactly its next expected sequence number (RFC 5961), which is the ACK of
 * its last segment, unless the client has sent data since that the server
 * has not yet acknowledged: then the server answers (a challenge ACK, or the
 * delayed ACK of that data) within EG_RST_CONFIRM_NS, and TC egress cancels
 * the pending end. Anything else the stack ignores, and so do we.
 */
static __always_inline void client_reset(const struct eg_flow_key *key, __u32 seq, __u64 now)
{
	struct eg_flow *f = bpf_map_lookup_elem(&eg_flows, key);

	if (!f || seq != f->server_ack)
		return;
	f->rst_ns = now ? now : 1;
	/* An unarmed flow is left to the sweeps, which check the same. */
	if (f->armed)
		bpf_timer_start(&f->idle, EG_RST_CONFIRM_NS, 0);
}

/*
 * The server sent on an established flow, so the client's handshake was
 * real: the source becomes verified, keeping the buckets it already had
 * (and the list generation they were found clean in), and is marked tracked
 * so the datapath looks it up.
 */
static __always_inline void verify_source(const struct eg_source_key *owner, __u64 now)
{
	struct eg_verified *v = bpf_map_lookup_elem(&eg_verified, owner);
	struct eg_verified fresh = {};
	struct eg_config *cfg;
	struct eg_source *s;
	__u32 zero = 0;

	if (v) {
		v->verified_ns = now;
		return;
	}
	s = bpf_map_lookup_elem(&eg_sources, owner);
	if (s)
		fresh.state = *s;
	fresh.verified_ns = now;
	if (bpf_map_update_elem(&eg_verified, owner, &fresh, BPF_NOEXIST) == 0)
		count(EG_R_VERIFIED);
	cfg = bpf_map_lookup_elem(&eg_config, &zero);
	if (cfg)
		tracked_set(cfg, addr_hash(cfg, &owner->addr), now);
}


#endif /* EG_FLOWS_BPF_H */

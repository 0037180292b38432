// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "lists.h"
#include "policy.h"

void eg_policy_table_init(struct eg_policy_table *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->def.name, sizeof(t->def.name), "default");
	t->v6_prefix = EG_DEFAULT_V6_PREFIX;
	t->flow_idle_s = EG_DEFAULT_FLOW_IDLE_S;
	t->verified_ttl_s = EG_DEFAULT_VERIFIED_TTL_S;
	t->v6_autoban_floor = EG_DEFAULT_V6_AUTOBAN_FLOOR;
	t->escalate_after = EG_DEFAULT_ESCALATE_AFTER;
}

static int check_rate(const struct eg_policy_spec *s, const char *what,
		      const struct eg_rate_spec *r, struct eg_err *e)
{
	if (!r->set)
		return 0;
	if (r->rate == 0 && r->burst == 0)
		return eg_fail(e, "%s.%s: rate and burst are both 0 (omit the limit to disable it)",
			       s->name, what);
	if (r->rate == 0)
		return eg_fail(e, "%s.%s.rate: must be at least 1 per second", s->name, what);
	if (r->rate > EG_MAX_RATE)
		return eg_fail(e, "%s.%s.rate: %u is above the maximum of %u per second", s->name,
			       what, r->rate, EG_MAX_RATE);
	if (r->burst == 0)
		return eg_fail(e, "%s.%s.burst: must be at least 1", s->name, what);
	return 0;
}

static int check_spec(const struct eg_policy_spec *s, bool is_default, struct eg_err *e)
{
	if (!is_default) {
		if (s->l4 != EG_L4_TCP && s->l4 != EG_L4_UDP)
			return eg_fail(e, "%s.protocol: must be tcp or udp", s->name);
		if (s->port_lo == 0 || s->port_hi < s->port_lo)
			return eg_fail(e, "%s.port: range %u-%u is empty or starts at 0", s->name,
				       s->port_lo, s->port_hi);
	}
	if (check_rate(s, "syn", &s->syn, e) || check_rate(s, "packets", &s->pkt, e) ||
	    check_rate(s, "new_source_budget", &s->new_source_budget, e))
		return -1;
	if (!is_default && s->l4 == EG_L4_UDP &&
	    (s->max_conns || s->new_source_budget.set || s->syn_retry_above))
		return eg_fail(e, "%s: max_conns, new_source_budget and syn_retry_above need TCP connections, not udp",
			       s->name);
	if (s->syn_retry_above > EG_MAX_RATE)
		return eg_fail(e, "%s.syn_retry_above: %u is above the maximum of %u per second",
			       s->name, s->syn_retry_above, EG_MAX_RATE);
	if (s->ban_after && !s->ban_window_s)
		return eg_fail(e, "%s.ban_window: must be at least 1 second when ban_after is set",
			       s->name);
	if (s->ban_after && !s->syn.set && !s->pkt.set)
		return eg_fail(e, "%s.ban_after: set, but the policy has no syn or packets limit to exceed",
			       s->name);
	if (s->mode != EG_MODE_ENFORCE && s->mode != EG_MODE_DRY_RUN)
		return eg_fail(e, "%s.mode: must be enforce or dry-run", s->name);
	return 0;
}

int eg_policy_validate(const struct eg_policy_table *t, struct eg_err *e)
{
	if (t->v6_prefix < 1 || t->v6_prefix > 128)
		return eg_fail(e, "ipv6_prefix: %u is not between 1 and 128", t->v6_prefix);
	if (t->flow_idle_s < 1)
		return eg_fail(e, "connections.idle_timeout: must be at least 1 second");
	if (t->verified_ttl_s < 1)
		return eg_fail(e, "connections.verified_ttl: must be at least 1 second");
	/* Shorter than a /16 would ban whole regions of the Internet on the datapath's own say. */
	if (t->v6_autoban_floor < EG_MIN_AUTOBAN_FLOOR || t->v6_autoban_floor > 128)
		return eg_fail(e, "autoban.ipv6_escalate_to: %u is not between %u and 128",
			       t->v6_autoban_floor, EG_MIN_AUTOBAN_FLOOR);
	if (t->escalate_after == 1 || t->escalate_after > EG_MAX_ESCALATE_AFTER)
		return eg_fail(e, "autoban.escalate_after: %u is not 0 (never) or between 2 and %u",
			       t->escalate_after, EG_MAX_ESCALATE_AFTER);
	if (t->nrules > EG_MAX_POLICIES - 1)
		return eg_fail(e, "policies: %u rules, at most %u are supported", t->nrules,
			       EG_MAX_POLICIES - 1);
	if (check_spec(&t->def, true, e))
		return -1;
	for (unsigned int i = 0; i < t->nrules; i++) {
		const struct eg_policy_spec *a = &t->rules[i];

		if (check_spec(a, false, e))
			return -1;
		for (unsigned int j = 0; j < i; j++) {
			const struct eg_policy_spec *b = &t->rules[j];

			if (a->l4 == b->l4 && a->port_lo <= b->port_hi && b->port_lo <= a->port_hi)
				return eg_fail(e, "%s.port: %u-%u overlaps %s (%u-%u)", a->name,
					       a->port_lo, a->port_hi, b->name, b->port_lo,
					       b->port_hi);
		}
	}
	return 0;
}

static void compile_bucket(const struct eg_rate_spec *r, struct eg_bucket_cfg *b)
{
	memset(b, 0, sizeof(*b));
	if (!r->set)
		return;
	b->rate = r->rate;
	b->burst = r->burst;
	b->interval_ns = 1000000000ULL / r->rate;
	b->tolerance_ns = (uint64_t)(r->burst - 1) * b->interval_ns;
}

int eg_policy_compile(const struct eg_policy_spec *s, struct eg_policy *out, struct eg_err *e)
{
	memset(out, 0, sizeof(*out));
	if (check_spec(s, true, e))
		return -1;
	compile_bucket(&s->syn, &out->syn);
	compile_bucket(&s->pkt, &out->pkt);
	compile_bucket(&s->new_source_budget, &out->new_source_budget);
	if (s->syn_retry_above) {
		struct eg_rate_spec meter = { .set = true, .rate = s->syn_retry_above,
					      .burst = s->syn_retry_above };

		compile_bucket(&meter, &out->syn_retry);
	}
	out->ban_after = s->ban_after;
	out->ban_window_s = s->ban_window_s;
	out->ban_ttl_s = s->ban_ttl_s;
	out->mode = s->mode;
	out->max_conns = s->max_conns;
	return 0;
}

const char *eg_policy_ident(const struct eg_policy_spec *s)
{
	return s->label[0] ? s->label : s->name;
}

int eg_policy_plan_slots(const struct eg_policy_name live[EG_MAX_POLICIES],
			 const struct eg_policy_table *t, struct eg_slot_plan *out)
{
	bool used[EG_MAX_POLICIES] = { true }; /* slot 0 is the default's */
	bool placed[EG_MAX_POLICIES - 1] = { false };

	memset(out, 0, sizeof(*out));
	snprintf(out->names[0].name, sizeof(out->names[0].name), "default");
	/* First every policy the live table has: it keeps its slot. */
	for (unsigned int i = 0; i < t->nrules; i++) {
		const char *id = eg_policy_ident(&t->rules[i]);

		for (uint32_t s = 1; s < EG_MAX_POLICIES && !placed[i]; s++) {
			if (used[s] || strncmp(live[s].name, id, sizeof(live[s].name)))
				continue;
			used[s] = placed[i] = true;
			out->slot_of_rule[i] = s;
		}
	}
	/* Then the new ones: a slot the live table leaves unused, else one it gives up. */
	for (unsigned int i = 0; i < t->nrules; i++) {
		uint32_t pick = 0;

		if (placed[i])
			continue;
		for (uint32_t s = 1; s < EG_MAX_POLICIES && !pick; s++)
			if (!used[s] && !live[s].name[0])
				pick = s;
		for (uint32_t s = 1; s < EG_MAX_POLICIES && !pick; s++)
			if (!used[s])
				pick = s;
		if (!pick)
			return -1; /* more rules than slots: validation refuses that first */
		used[pick] = placed[i] = true;
		out->slot_of_rule[i] = pick;
		if (live[pick].name[0])
			out->retaken[pick] = true;
		else
			out->fresh[pick] = true;
	}
	for (unsigned int i = 0; i < t->nrules; i++)
		snprintf(out->names[out->slot_of_rule[i]].name, sizeof(out->names[0].name), "%s",
			 eg_policy_ident(&t->rules[i]));
	return 0;
}

static int write_generation(const struct eg_maps *m, const struct eg_policy_table *t,
			    const struct eg_slot_plan *plan, uint32_t gen, struct eg_err *e)
{
	const uint32_t nports = EG_PORT_PROTOS * 65536;
	struct eg_policy pol[EG_MAX_POLICIES];
	uint32_t *keys = NULL, *vals = NULL, count = nports;
	int rc = -1;

	memset(pol, 0, sizeof(pol));
	if (eg_policy_compile(&t->def, &pol[0], e))
		return -1;
	for (unsigned int i = 0; i < t->nrules; i++)
		if (eg_policy_compile(&t->rules[i], &pol[plan->slot_of_rule[i]], e))
			return -1;
	for (uint32_t slot = 0; slot < EG_MAX_POLICIES; slot++) {
		uint32_t idx = gen * EG_MAX_POLICIES + slot;

		if (bpf_map_update_elem(m->policies, &idx, &pol[slot], BPF_ANY))
			return eg_fail_errno(e, errno, "cannot write policy slot %u", idx);
	}

	keys = calloc(nports, sizeof(*keys));
	vals = calloc(nports, sizeof(*vals));
	if (!keys || !vals) {
		eg_fail(e, "out of memory");
		goto out;
	}
	for (uint32_t l4 = 0; l4 < EG_PORT_PROTOS; l4++)
		for (uint32_t port = 0; port < 65536; port++)
			keys[l4 * 65536 + port] = eg_port_slot(gen, l4, port);
	for (unsigned int i = 0; i < t->nrules; i++) {
		const struct eg_policy_spec *r = &t->rules[i];

		for (uint32_t port = r->port_lo; port <= r->port_hi; port++)
			vals[r->l4 * 65536 + port] = plan->slot_of_rule[i];
	}
	if (bpf_map_update_batch(m->port_policy, keys, vals, &count, NULL)) {
		eg_fail_errno(e, errno, "cannot write the port table");
		goto out;
	}
	rc = 0;
out:
	free(keys);
	free(vals);
	return rc;
}

/* The live slots' names for status, top and metrics, and for the next load's plan. */
static int write_names(const struct eg_maps *m, const struct eg_policy_name names[EG_MAX_POLICIES],
		       struct eg_err *e)
{
	for (uint32_t slot = 0; slot < EG_MAX_POLICIES; slot++)
		if (bpf_map_update_elem(m->policy_names, &slot, &names[slot], BPF_ANY))
			return eg_fail_errno(e, errno, "cannot record the name of policy slot %u", slot);
	return 0;
}

static int read_names(const struct eg_maps *m, struct eg_policy_name out[EG_MAX_POLICIES],
		      struct eg_err *e)
{
	for (uint32_t s = 0; s < EG_MAX_POLICIES; s++) {
		if (bpf_map_lookup_elem(m->policy_names, &s, &out[s]))
			return eg_fail_errno(e, errno, "cannot read the name of policy slot %u", s);
		out[s].name[sizeof(out[s].name) - 1] = '\0';
	}
	return 0;
}

/* Per-CPU counters summed: whether the slot ever saw a packet. */
static bool slot_has_history(const struct eg_maps *m, uint32_t slot)
{
	struct eg_policy_counters pc;
	struct eg_budget b = { 0 };

	if (eg_read_policy_counters(m, slot, &pc, NULL))
		return true; /* cannot tell: clear it */
	for (int i = 0; i < EG_PC_MAX; i++)
		if (pc.c[i])
			return true;
	return !bpf_map_lookup_elem(m->budgets, &slot, &b) && b.tat;
}

/* Deletes every entry of a map keyed by struct eg_source_key whose slot is flagged. */
static int clear_sources(int fd, const char *what, const bool slots[EG_MAX_POLICIES],
			 struct eg_err *e)
{
	struct eg_source_key *keys;
	struct eg_err why = { 0 };
	size_t n;

	if (eg_map_keys(fd, sizeof(*keys), (void **)&keys, &n, &why))
		return eg_fail_code(e, why.code, "cannot walk the %s: %s", what, why.msg);
	for (size_t i = 0; i < n; i++) {
		if (keys[i].policy >= EG_MAX_POLICIES || !slots[keys[i].policy])
			continue;
		if (bpf_map_delete_elem(fd, &keys[i]) && errno != ENOENT) {
			eg_fail_errno(e, errno, "cannot clear the %s of policy slot %u", what,
				      keys[i].policy);
			free(keys);
			return -1;
		}
	}
	free(keys);
	return 0;
}

int eg_policy_clear_slots(const struct eg_maps *m, const bool slots[EG_MAX_POLICIES],
			  struct eg_err *e)
{
	bool dirty[EG_MAX_POLICIES] = { false }, any = false;
	struct eg_budget zero_budget = { 0 };

	for (uint32_t s = 1; s < EG_MAX_POLICIES; s++) {
		if (!slots[s] || !slot_has_history(m, s))
			continue;
		dirty[s] = any = true;
		if (eg_reset_policy_counters(m, s, e))
			return -1;
		if (bpf_map_update_elem(m->budgets, &s, &zero_budget, BPF_ANY))
			return eg_fail_errno(e, errno, "cannot reset the budget of policy slot %u", s);
	}
	if (!any)
		return 0;
	return clear_sources(m->sources, "per-source state", dirty, e) ||
	       clear_sources(m->verified, "verified sources", dirty, e) ? -1 : 0;
}

/* Slots the datapath must look through (an auto-ban clears them all): default + the highest used. */
static uint32_t slots_in_use(const struct eg_policy_table *t, const struct eg_slot_plan *p)
{
	uint32_t n = 1;

	for (size_t i = 0; i < t->nrules; i++)
		if (p->slot_of_rule[i] + 1 > n)
			n = p->slot_of_rule[i] + 1;
	return n;
}

int eg_policy_txn_begin(const struct eg_maps *m, const struct eg_policy_table *t,
			struct eg_policy_txn *x, struct eg_err *e)
{
	uint32_t zero = 0;

	memset(x, 0, sizeof(*x));
	if (eg_policy_validate(t, e))
		return -1;
	if (bpf_map_lookup_elem(m->config, &zero, &x->old_cfg))
		return eg_fail_errno(e, errno, "cannot read the datapath config");
	if (read_names(m, x->old_names, e))
		return -1;
	if (eg_policy_plan_slots(x->old_names, t, &x->plan))
		return eg_fail(e, "policies: no policy slot left");
	x->new_cfg = x->old_cfg;
	x->new_cfg.active_gen = !(x->old_cfg.active_gen & 1);
	x->new_cfg.v6_prefix = t->v6_prefix;
	x->new_cfg.flow_idle_s = t->flow_idle_s;
	x->new_cfg.verified_ttl_s = t->verified_ttl_s;
	x->new_cfg.v6_autoban_floor = t->v6_autoban_floor;
	x->new_cfg.escalate_after = t->escalate_after;
	x->new_cfg.policy_slots = slots_in_use(t, &x->plan);
	/* No live policy uses a fresh slot: what a retired one left there goes now. */
	if (eg_policy_clear_slots(m, x->plan.fresh, e))
		return -1;
	return write_generation(m, t, &x->plan, x->new_cfg.active_gen, e);
}

int eg_policy_txn_switch(const struct eg_maps *m, struct eg_policy_txn *x, struct eg_err *e)
{
	uint32_t zero = 0;

	/*
	 * A shorter aggregate may make list entries deeper than it: IPv6 sources
	 * stop trusting cached verdicts before the switch, and the lists are
	 * walked for the new prefix after it (struct eg_list_gen).
	 */
	if (x->new_cfg.v6_prefix != x->old_cfg.v6_prefix)
		eg_lists_set_v6_deep(m, 1);
	if (bpf_map_update_elem(m->config, &zero, &x->new_cfg, BPF_ANY))
		return eg_fail_errno(e, errno, "cannot switch to the new policy");
	x->switched = true;
	/* Nothing routes to a retaken slot's old policy any more. */
	if (!write_names(m, x->plan.names, e) && !eg_policy_clear_slots(m, x->plan.retaken, e) &&
	    (x->new_cfg.v6_prefix == x->old_cfg.v6_prefix ||
	     !eg_lists_v6_settle(m, x->new_cfg.v6_prefix, e)))
		return 0;
	eg_policy_txn_undo(m, x, e);
	return -1;
}

int eg_policy_txn_undo(const struct eg_maps *m, struct eg_policy_txn *x, struct eg_err *e)
{
	struct eg_err why = { 0 };
	uint32_t zero = 0;

	if (!x->switched)
		return 0;
	if (x->new_cfg.v6_prefix != x->old_cfg.v6_prefix)
		eg_lists_set_v6_deep(m, 1);
	if (bpf_map_update_elem(m->config, &zero, &x->old_cfg, BPF_ANY)) {
		eg_fail_errno(&why, errno, "cannot switch back to the old policy");
	} else {
		x->switched = false;
		if (!write_names(m, x->old_names, &why) &&
		    x->new_cfg.v6_prefix != x->old_cfg.v6_prefix)
			eg_lists_v6_settle(m, x->old_cfg.v6_prefix, &why);
	}
	if (!why.msg[0])
		return 0;
	if (e && e->msg[0])
		eg_fail_code(e, why.code, "%s; and undoing it failed: %s", e->msg, why.msg);
	else
		eg_fail_code(e, why.code, "%s", why.msg);
	return -1;
}

int eg_policy_install(const struct eg_maps *m, const struct eg_policy_table *t, struct eg_err *e)
{
	struct eg_policy_txn x;

	if (eg_policy_txn_begin(m, t, &x, e))
		return -1;
	return eg_policy_txn_switch(m, &x, e);
}

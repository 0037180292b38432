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

static int write_generation(const struct eg_maps *m, const struct eg_policy_table *t,
			    uint32_t gen, struct eg_err *e)
{
	const uint32_t nports = EG_PORT_PROTOS * 65536;
	struct eg_policy pol;
	uint32_t *keys = NULL, *vals = NULL, count = nports;
	int rc = -1;

	for (uint32_t slot = 0; slot < EG_MAX_POLICIES; slot++) {
		uint32_t idx = gen * EG_MAX_POLICIES + slot;

		memset(&pol, 0, sizeof(pol));
		if (slot == 0 && eg_policy_compile(&t->def, &pol, e))
			return -1;
		if (slot > 0 && slot <= t->nrules && eg_policy_compile(&t->rules[slot - 1], &pol, e))
			return -1;
		if (bpf_map_update_elem(m->policies, &idx, &pol, BPF_ANY))
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
			vals[r->l4 * 65536 + port] = i + 1;
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

/* The live slots' names for status, top and metrics; unused slots get none. */
static int write_names(const struct eg_maps *m, const struct eg_policy_table *t, struct eg_err *e)
{
	for (uint32_t slot = 0; slot < EG_MAX_POLICIES; slot++) {
		struct eg_policy_name n = { "" };
		const struct eg_policy_spec *s = slot == 0 ? &t->def :
						 slot <= t->nrules ? &t->rules[slot - 1] : NULL;

		if (s)
			snprintf(n.name, sizeof(n.name), "%s",
				 s->label[0] ? s->label : slot ? s->name : "default");
		if (bpf_map_update_elem(m->policy_names, &slot, &n, BPF_ANY))
			return eg_fail_errno(e, errno, "cannot record the name of policy slot %u", slot);
	}
	return 0;
}

int eg_policy_install(const struct eg_maps *m, const struct eg_policy_table *t, struct eg_err *e)
{
	struct eg_config cfg;
	uint32_t zero = 0, old_prefix;

	if (eg_policy_validate(t, e))
		return -1;
	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return eg_fail_errno(e, errno, "cannot read the datapath config");
	cfg.active_gen = !(cfg.active_gen & 1);
	if (write_generation(m, t, cfg.active_gen, e))
		return -1;
	old_prefix = cfg.v6_prefix;
	/*
	 * A shorter aggregate may make list entries deeper than it: IPv6 sources
	 * stop trusting cached verdicts before the switch, and the lists are
	 * walked for the new prefix after it (struct eg_list_gen).
	 */
	if (t->v6_prefix != old_prefix)
		eg_lists_set_v6_deep(m, 1);
	cfg.v6_prefix = t->v6_prefix;
	cfg.flow_idle_s = t->flow_idle_s;
	cfg.verified_ttl_s = t->verified_ttl_s;
	cfg.v6_autoban_floor = t->v6_autoban_floor;
	cfg.escalate_after = t->escalate_after;
	cfg.policy_slots = t->nrules + 1;
	if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY))
		return eg_fail_errno(e, errno, "cannot switch to the new policy");
	if (t->v6_prefix != old_prefix && eg_lists_v6_settle(m, t->v6_prefix, e))
		return -1;
	return write_names(m, t, e);
}

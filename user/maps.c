// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps.h"
#include "lists.h"
#include "edgeguard.skel.h"

static const char *const reason_names[EG_R_MAX] = {
	[EG_R_PASSED] = "passed",
	[EG_R_ALLOWLISTED] = "allowlisted",
	[EG_R_BANNED] = "banned",
	[EG_R_BANNED_CIDR] = "banned_cidr",
	[EG_R_SYN_RATE] = "syn_rate",
	[EG_R_PKT_RATE] = "pkt_rate",
	[EG_R_MALFORMED] = "malformed",
	[EG_R_NON_IP] = "non_ip",
	[EG_R_DRY_RUN_WOULD_DROP] = "dry_run_would_drop",
	[EG_R_CONN_LIMIT] = "conn_limit",
	[EG_R_BUDGET] = "new_source_budget",
	[EG_R_AUTOBANNED] = "autobanned",
	[EG_R_AUTOBAN] = "autoban",
	[EG_R_DRY_RUN_WOULD_BAN] = "dry_run_would_ban",
	[EG_R_FRAGMENT] = "fragment",
	[EG_R_SYN_SEEN] = "syn_seen",
	[EG_R_EVENTS_LOST] = "events_lost",
	[EG_R_BAN_FAILED] = "ban_failed",
	[EG_R_FLOW_OPENED] = "flow_opened",
	[EG_R_FLOW_CLOSED] = "flow_closed",
	[EG_R_FLOW_REAPED] = "flow_reaped",
	[EG_R_FLOW_FULL] = "flow_table_full",
	[EG_R_VERIFIED] = "verified",
	[EG_R_FLOW_UNTIMED] = "flow_untimed",
	[EG_R_FLOW_SWEPT] = "flow_swept",
	[EG_R_ESCALATED] = "autoban_escalated",
};

static const char *const origin_names[EG_ORIGIN_MAX] = {
	[EG_ORIGIN_MANUAL] = "manual",
	[EG_ORIGIN_AUTO] = "auto",
	[EG_ORIGIN_POLICY] = "policy",
	[EG_ORIGIN_FLEET] = "fleet",
};

const char *eg_reason_name(unsigned int reason)
{
	return reason < EG_R_MAX && reason_names[reason] ? reason_names[reason] : "unknown";
}

const char *eg_origin_name(unsigned int origin)
{
	return origin < EG_ORIGIN_MAX ? origin_names[origin] : "unknown";
}

uint64_t eg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void eg_sizes_fill(struct eg_sizes *s)
{
	if (!s->max_sources)
		s->max_sources = EG_DEFAULT_MAX_SOURCES;
	if (!s->max_bans)
		s->max_bans = EG_DEFAULT_MAX_BANS;
	if (!s->max_allows)
		s->max_allows = EG_DEFAULT_MAX_ALLOWS;
	if (!s->max_flows)
		s->max_flows = EG_DEFAULT_MAX_FLOWS;
	if (!s->max_verified)
		s->max_verified = EG_DEFAULT_MAX_VERIFIED;
	if (!s->max_autobans)
		s->max_autobans = EG_DEFAULT_MAX_AUTOBANS;
}

int eg_sizes_apply(struct edgeguard_bpf *skel, const struct eg_sizes *want, struct eg_err *e)
{
	struct eg_sizes s = want ? *want : (struct eg_sizes){ 0 };

	eg_sizes_fill(&s);
	if (bpf_map__set_max_entries(skel->maps.eg_sources, s.max_sources) ||
	    /* Only a source with a tracked flow has a count: no more than flows. */
	    bpf_map__set_max_entries(skel->maps.eg_conns, s.max_flows) ||
	    bpf_map__set_max_entries(skel->maps.eg_ban_exact, s.max_bans) ||
	    bpf_map__set_max_entries(skel->maps.eg_ban_cidr, s.max_bans) ||
	    bpf_map__set_max_entries(skel->maps.eg_autoban, s.max_autobans) ||
	    bpf_map__set_max_entries(skel->maps.eg_ban_notes, 2 * s.max_bans) ||
	    bpf_map__set_max_entries(skel->maps.eg_allow, s.max_allows) ||
	    bpf_map__set_max_entries(skel->maps.eg_flows, s.max_flows) ||
	    bpf_map__set_max_entries(skel->maps.eg_verified, s.max_verified))
		return eg_fail_errno(e, errno, "cannot size the edgeguard maps");
	return 0;
}

int eg_config_init(int config_fd, struct eg_err *e)
{
	struct eg_config cfg = { 0 };
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(config_fd, &zero, &cfg))
		return eg_fail_errno(e, errno, "cannot read the datapath config");
	if (cfg.v6_prefix)
		return 0; /* a policy (or an earlier attach) already set it */
	/* Until a policy is installed: default aggregation and timeouts, no limits. */
	cfg.active_gen = 0;
	cfg.v6_prefix = EG_DEFAULT_V6_PREFIX;
	cfg.flow_idle_s = EG_DEFAULT_FLOW_IDLE_S;
	cfg.verified_ttl_s = EG_DEFAULT_VERIFIED_TTL_S;
	cfg.v6_autoban_floor = EG_DEFAULT_V6_AUTOBAN_FLOOR;
	cfg.escalate_after = EG_DEFAULT_ESCALATE_AFTER;
	if (bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY))
		return eg_fail_errno(e, errno, "cannot initialise the datapath config");
	return 0;
}

struct edgeguard_bpf *eg_load(const struct eg_sizes *sizes, struct eg_err *e)
{
	return eg_load_for_slot(sizes, 0, e);
}

struct edgeguard_bpf *eg_load_for_slot(const struct eg_sizes *sizes, uint32_t iface_slot,
				       struct eg_err *e)
{
	struct edgeguard_bpf *skel;
	struct eg_maps m;
	int err;

	if (iface_slot >= EG_MAX_IFACES) {
		eg_fail(e, "interface slot %u out of range (at most %u)", iface_slot,
			EG_MAX_IFACES - 1);
		return NULL;
	}
	skel = edgeguard_bpf__open();
	if (!skel) {
		eg_fail_errno(e, errno, "cannot open the edgeguard BPF object");
		return NULL;
	}
	skel->rodata->eg_iface_slot = iface_slot;
	if (eg_sizes_apply(skel, sizes, e))
		goto fail;
	err = edgeguard_bpf__load(skel);
	if (err) {
		if (err == -EPERM)
			eg_fail(e, "loading the BPF datapath needs root (CAP_BPF and CAP_NET_ADMIN)");
		else
			eg_fail_errno(e, -err, "cannot load the BPF datapath");
		goto fail;
	}
	if (eg_config_init(bpf_map__fd(skel->maps.eg_config), e))
		goto fail;
	eg_maps_from_skel(skel, &m);
	eg_lists_settle(&m); /* a new eg_list_empty says "look" everywhere */
	return skel;
fail:
	edgeguard_bpf__destroy(skel);
	return NULL;
}

void eg_maps_from_skel(struct edgeguard_bpf *skel, struct eg_maps *m)
{
	m->allow = bpf_map__fd(skel->maps.eg_allow);
	m->ban_exact = bpf_map__fd(skel->maps.eg_ban_exact);
	m->ban_cidr = bpf_map__fd(skel->maps.eg_ban_cidr);
	m->autoban = bpf_map__fd(skel->maps.eg_autoban);
	m->escalations = bpf_map__fd(skel->maps.eg_escalations);
	m->sources = bpf_map__fd(skel->maps.eg_sources);
	m->config = bpf_map__fd(skel->maps.eg_config);
	m->policies = bpf_map__fd(skel->maps.eg_policies);
	m->port_policy = bpf_map__fd(skel->maps.eg_port_policy);
	m->counters = bpf_map__fd(skel->maps.eg_counters);
	m->policy_counters = bpf_map__fd(skel->maps.eg_policy_counters);
	m->events = bpf_map__fd(skel->maps.eg_events);
	m->flows = bpf_map__fd(skel->maps.eg_flows);
	m->conns = bpf_map__fd(skel->maps.eg_conns);
	m->verified = bpf_map__fd(skel->maps.eg_verified);
	m->budgets = bpf_map__fd(skel->maps.eg_budgets);
	m->ban_notes = bpf_map__fd(skel->maps.eg_ban_notes);
	m->list_empty = bpf_map__fd(skel->maps.eg_list_empty);
	m->iface_counters = bpf_map__fd(skel->maps.eg_iface_counters);
	m->ifaces = bpf_map__fd(skel->maps.eg_ifaces);
}

int eg_read_counters(const struct eg_maps *m, uint64_t out[EG_R_MAX], struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	for (uint32_t r = 0; r < EG_R_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(m->counters, &r, vals)) {
			free(vals);
			return eg_fail_errno(e, errno, "cannot read counter %s", eg_reason_name(r));
		}
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
	free(vals);
	return 0;
}

int eg_read_policy_counters(const struct eg_maps *m, uint32_t slot,
			    struct eg_policy_counters *out, struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	struct eg_policy_counters *vals;

	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	if (bpf_map_lookup_elem(m->policy_counters, &slot, vals)) {
		free(vals);
		return eg_fail_errno(e, errno, "cannot read counters of policy %u", slot);
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < EG_PC_MAX; i++)
			out->c[i] += vals[c].c[i];
	free(vals);
	return 0;
}

int eg_read_iface_counters(const struct eg_maps *m, uint32_t slot, uint64_t out[EG_R_VERDICTS],
			   struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (slot >= EG_MAX_IFACES)
		return eg_fail(e, "interface slot %u out of range", slot);
	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	for (uint32_t r = 0; r < EG_R_VERDICTS; r++) {
		uint32_t key = slot * EG_R_VERDICTS + r;

		out[r] = 0;
		if (bpf_map_lookup_elem(m->iface_counters, &key, vals)) {
			free(vals);
			return eg_fail_errno(e, errno, "cannot read counter %s of interface slot %u",
				       eg_reason_name(r), slot);
		}
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
	free(vals);
	return 0;
}

int eg_reset_iface_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *zeros;

	if (slot >= EG_MAX_IFACES)
		return eg_fail(e, "interface slot %u out of range", slot);
	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	zeros = calloc((size_t)ncpu, sizeof(*zeros));
	if (!zeros)
		return eg_fail(e, "out of memory");
	for (uint32_t r = 0; r < EG_R_VERDICTS; r++) {
		uint32_t key = slot * EG_R_VERDICTS + r;

		if (bpf_map_update_elem(m->iface_counters, &key, zeros, BPF_ANY)) {
			free(zeros);
			return eg_fail_errno(e, errno, "cannot reset the counters of interface slot %u", slot);
		}
	}
	free(zeros);
	return 0;
}

int eg_read_ifaces(const struct eg_maps *m, struct eg_iface_slot out[EG_MAX_IFACES],
		   struct eg_err *e)
{
	for (uint32_t s = 0; s < EG_MAX_IFACES; s++) {
		if (bpf_map_lookup_elem(m->ifaces, &s, &out[s]))
			return eg_fail_errno(e, errno, "cannot read interface slot %u", s);
		out[s].name[sizeof(out[s].name) - 1] = '\0';
	}
	return 0;
}

long eg_map_count(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	void *key, *next;
	long n = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	key = calloc(2, info.key_size);
	if (!key)
		return -1;
	next = (char *)key + info.key_size;
	/* 1M LRU entries is ~1M syscalls here; good enough for status, and
	 * batch lookups do not cover LPM tries. */
	if (bpf_map_get_next_key(fd, NULL, next) == 0) {
		do {
			n++;
			memcpy(key, next, info.key_size);
		} while (bpf_map_get_next_key(fd, key, next) == 0);
	}
	free(key);
	return n;
}

uint32_t eg_map_capacity(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

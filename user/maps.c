// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps.h"
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
	[EG_R_AUTOBAN] = "autoban",
	[EG_R_DRY_RUN_WOULD_BAN] = "dry_run_would_ban",
	[EG_R_FRAGMENT] = "fragment",
	[EG_R_SYN_SEEN] = "syn_seen",
	[EG_R_EVENTS_LOST] = "events_lost",
	[EG_R_BAN_FAILED] = "ban_failed",
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

struct edgeguard_bpf *eg_load(const struct eg_sizes *sizes, struct eg_err *e)
{
	struct edgeguard_bpf *skel;
	uint32_t sources = sizes && sizes->max_sources ? sizes->max_sources : EG_DEFAULT_MAX_SOURCES;
	uint32_t bans = sizes && sizes->max_bans ? sizes->max_bans : EG_DEFAULT_MAX_BANS;
	uint32_t allows = sizes && sizes->max_allows ? sizes->max_allows : EG_DEFAULT_MAX_ALLOWS;
	int err;

	skel = edgeguard_bpf__open();
	if (!skel) {
		eg_fail(e, "cannot open the edgeguard BPF object: %s", strerror(errno));
		return NULL;
	}
	if (bpf_map__set_max_entries(skel->maps.eg_sources, sources) ||
	    bpf_map__set_max_entries(skel->maps.eg_ban_exact, bans) ||
	    bpf_map__set_max_entries(skel->maps.eg_ban_cidr, bans) ||
	    bpf_map__set_max_entries(skel->maps.eg_allow, allows)) {
		eg_fail(e, "cannot size the edgeguard maps: %s", strerror(errno));
		goto fail;
	}
	err = edgeguard_bpf__load(skel);
	if (err) {
		if (err == -EPERM)
			eg_fail(e, "loading the BPF datapath needs root (CAP_BPF and CAP_NET_ADMIN)");
		else
			eg_fail(e, "cannot load the BPF datapath: %s", strerror(-err));
		goto fail;
	}
	{
		/* Until a policy is installed: default IPv6 aggregation, no limits. */
		struct eg_config cfg = { .active_gen = 0, .v6_prefix = EG_DEFAULT_V6_PREFIX };
		uint32_t zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.eg_config), &zero, &cfg, BPF_ANY)) {
			eg_fail(e, "cannot initialise the datapath config: %s", strerror(errno));
			goto fail;
		}
	}
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
	m->sources = bpf_map__fd(skel->maps.eg_sources);
	m->config = bpf_map__fd(skel->maps.eg_config);
	m->policies = bpf_map__fd(skel->maps.eg_policies);
	m->port_policy = bpf_map__fd(skel->maps.eg_port_policy);
	m->counters = bpf_map__fd(skel->maps.eg_counters);
	m->policy_counters = bpf_map__fd(skel->maps.eg_policy_counters);
	m->events = bpf_map__fd(skel->maps.eg_events);
}

int eg_read_counters(const struct eg_maps *m, uint64_t out[EG_R_MAX], struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return eg_fail(e, "cannot count CPUs: %s", strerror(-ncpu));
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	for (uint32_t r = 0; r < EG_R_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(m->counters, &r, vals)) {
			free(vals);
			return eg_fail(e, "cannot read counter %s: %s", eg_reason_name(r), strerror(errno));
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
		return eg_fail(e, "cannot count CPUs: %s", strerror(-ncpu));
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	if (bpf_map_lookup_elem(m->policy_counters, &slot, vals)) {
		free(vals);
		return eg_fail(e, "cannot read counters of policy %u: %s", slot, strerror(errno));
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < EG_PC_MAX; i++)
			out->c[i] += vals[c].c[i];
	free(vals);
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

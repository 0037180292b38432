// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "datapath.h"
#include "lists.h"
#include "pins.h"
#include "edgeguard.skel.h"

void eg_maps_from_skel(struct edgeguard_bpf *skel, struct eg_maps *m)
{
#define EG_MAP_FD(field, name) m->field = bpf_map__fd(skel->maps.name);
	EG_MAP_REGISTRY(EG_MAP_FD)
#undef EG_MAP_FD
}

static int apply_sizes(struct edgeguard_bpf *skel, const struct eg_sizes *s, struct eg_err *e)
{
	for (unsigned int i = 0; i < eg_n_size_maps; i++) {
		const struct eg_size_map *sm = &eg_size_maps[i];
		uint32_t size = *(const uint32_t *)((const char *)s + sm->offset);
		uint32_t n = sm->rows ? sm->rows(size) : size * sm->mult;
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, sm->name);

		if (!map || bpf_map__set_max_entries(map, n))
			return eg_fail_errno(e, map ? errno : ENOENT, "cannot size map %s", sm->name);
	}
	return 0;
}

static bool sizes_differ(const struct eg_sizes *want, const struct eg_sizes *have)
{
	return (want->max_sources && want->max_sources != have->max_sources) ||
	       (want->max_bans && want->max_bans != have->max_bans) ||
	       (want->max_allows && want->max_allows != have->max_allows) ||
	       (want->max_flows && want->max_flows != have->max_flows) ||
	       (want->max_verified && want->max_verified != have->max_verified) ||
	       (want->max_autobans && want->max_autobans != have->max_autobans) ||
	       (want->first_seen && want->first_seen != have->first_seen);
}

/* The sizes to open with: the pinned maps' when there are pins (they cannot change). */
static int pick_sizes(const struct eg_open_opts *o, struct eg_sizes *out, struct eg_err *e)
{
	*out = o->sizes ? *o->sizes : (struct eg_sizes){ 0 };
	if (!o->pinned || !eg_pins_exist()) {
		eg_sizes_fill(out);
		return 0;
	}
	if (eg_pinned_sizes(out, e))
		return -1;
	if (o->sizes && sizes_differ(o->sizes, out))
		return eg_fail(e, "map sizes are fixed while edgeguard is attached (sources %u, bans %u, allows %u, flows %u, verified %u, autobans %u, first_seen %u); detach every interface to change them",
			       out->max_sources, out->max_bans, out->max_allows, out->max_flows,
			       out->max_verified, out->max_autobans, out->first_seen);
	return 0;
}

struct edgeguard_bpf *eg_datapath_open(const struct eg_open_opts *o, struct eg_err *e)
{
	struct edgeguard_bpf *skel;
	struct eg_sizes sizes;

	if (o->iface_slot >= EG_MAX_IFACES) {
		eg_fail(e, "interface slot %u out of range (at most %u)", o->iface_slot,
			EG_MAX_IFACES - 1);
		return NULL;
	}
	if (pick_sizes(o, &sizes, e))
		return NULL;
	skel = edgeguard_bpf__open();
	if (!skel) {
		eg_fail_errno(e, errno, "cannot open the edgeguard BPF object");
		return NULL;
	}
	skel->rodata->eg_iface_slot = o->iface_slot;
	if (o->sweep_only) {
		bpf_program__set_autoload(skel->progs.edgeguard_xdp, false);
		bpf_program__set_autoload(skel->progs.edgeguard_tc_egress, false);
	}
	if (apply_sizes(skel, &sizes, e) || (o->pinned && eg_pins_assign(skel->obj, e))) {
		edgeguard_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int eg_datapath_ready(const struct eg_maps *m, struct eg_err *e)
{
	struct eg_config cfg = { 0 };
	uint32_t zero = 0, seen_mask, tracked_mask;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return eg_fail_errno(e, errno, "cannot read the datapath config");
	seen_mask = eg_map_capacity(m->seen) - 1;
	tracked_mask = eg_map_capacity(m->tracked) - 1;
	if (!cfg.v6_prefix || !cfg.hash_seed || cfg.seen_mask != seen_mask ||
	    cfg.tracked_mask != tracked_mask) {
		if (!cfg.v6_prefix) {
			/* Never configured: default aggregation and timeouts, no limits, until a policy. */
			cfg.active_gen = 0;
			cfg.v6_prefix = EG_DEFAULT_V6_PREFIX;
			cfg.flow_idle_s = EG_DEFAULT_FLOW_IDLE_S;
			cfg.verified_ttl_s = EG_DEFAULT_VERIFIED_TTL_S;
			cfg.v6_autoban_floor = EG_DEFAULT_V6_AUTOBAN_FLOOR;
			cfg.escalate_after = EG_DEFAULT_ESCALATE_AFTER;
			cfg.policy_slots = 1;
		}
		/* Set once: changing it would forget every first-seen record and tracked mark. */
		while (!cfg.hash_seed)
			if (getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed), 0) !=
			    sizeof(cfg.hash_seed))
				return eg_fail_errno(e, errno, "cannot draw the hash seed");
		cfg.seen_mask = seen_mask;
		cfg.tracked_mask = tracked_mask;
		if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY))
			return eg_fail_errno(e, errno, "cannot initialise the datapath config");
	}
	eg_lists_settle(m);
	return 0;
}

int eg_datapath_load(struct edgeguard_bpf *skel, struct eg_err *e)
{
	struct eg_maps m;
	int err = edgeguard_bpf__load(skel);

	if (err == -EPERM)
		return eg_fail_code(e, EPERM,
				    "loading the BPF datapath needs root (CAP_BPF and CAP_NET_ADMIN)");
	if (err)
		return eg_fail_errno(e, -err, "cannot load the BPF datapath");
	eg_maps_from_skel(skel, &m);
	return eg_datapath_ready(&m, e);
}

struct edgeguard_bpf *eg_datapath_open_load(const struct eg_open_opts *o, struct eg_err *e)
{
	struct edgeguard_bpf *skel = eg_datapath_open(o, e);

	if (skel && eg_datapath_load(skel, e)) {
		edgeguard_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

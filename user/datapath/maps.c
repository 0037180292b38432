// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps.h"

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
	[EG_R_SYN_RETRY] = "syn_retry",
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
	[EG_R_FIRST_SEEN] = "first_seen",
	[EG_R_PROMOTED] = "promoted",
	[EG_R_SYN_FLOOD] = "syn_flood",
};

static const char *const origin_names[EG_ORIGIN_MAX] = {
	[EG_ORIGIN_MANUAL] = "manual",
	[EG_ORIGIN_AUTO] = "auto",
	[EG_ORIGIN_POLICY] = "policy",
	[EG_ORIGIN_FLEET] = "fleet",
	[EG_ORIGIN_IMPORT] = "import",
	[EG_ORIGIN_CROWDSEC] = "crowdsec",
};

const char *eg_reason_name(unsigned int reason)
{
	return reason < EG_R_MAX && reason_names[reason] ? reason_names[reason] : "unknown";
}

bool eg_reason_drops(unsigned int reason)
{
	switch (reason) {
	case EG_R_BANNED:
	case EG_R_BANNED_CIDR:
	case EG_R_SYN_RATE:
	case EG_R_PKT_RATE:
	case EG_R_MALFORMED:
	case EG_R_CONN_LIMIT:
	case EG_R_BUDGET:
	case EG_R_AUTOBANNED:
	case EG_R_SYN_RETRY:
		return true;
	default:
		return false;
	}
}

const char *eg_origin_name(unsigned int origin)
{
	return origin < EG_ORIGIN_MAX ? origin_names[origin] : "unknown";
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
	if (!s->first_seen)
		s->first_seen = EG_DEFAULT_FIRST_SEEN;
}

static uint32_t pow2_at_least(uint32_t n, uint32_t min)
{
	uint32_t p = min;

	while (p < n && p < (1U << 31))
		p <<= 1;
	return p;
}

uint32_t eg_seen_buckets(uint32_t first_seen)
{
	return pow2_at_least((first_seen ? first_seen : EG_DEFAULT_FIRST_SEEN) / EG_SEEN_WAYS, 8);
}

/* 16 sources per block: two 192-bit halves, so about 2% false "maybe" at the table's size. */
uint32_t eg_tracked_blocks(uint32_t max_sources)
{
	return pow2_at_least((max_sources ? max_sources : EG_DEFAULT_MAX_SOURCES) / 16, 64);
}

#define SIZE(field) offsetof(struct eg_sizes, field)

const struct eg_size_map eg_size_maps[] = {
	{ SIZE(max_sources), "eg_sources", 1, 1, NULL },
	{ SIZE(max_bans), "eg_ban_exact", 1, 1, NULL },
	{ SIZE(max_bans), "eg_ban_cidr", 1, 0, NULL },
	/* Most bans carry no reason; a note per exact and per CIDR ban at most. */
	{ SIZE(max_bans), "eg_ban_notes", 2, 0, NULL },
	{ SIZE(max_autobans), "eg_autoban", 1, 1, NULL },
	{ SIZE(max_allows), "eg_allow", 1, 1, NULL },
	{ SIZE(max_flows), "eg_flows", 1, 1, NULL },
	/* Only a source with a tracked flow has a count: no more than flows. */
	{ SIZE(max_flows), "eg_conns", 1, 0, NULL },
	{ SIZE(max_verified), "eg_verified", 1, 1, NULL },
	/* The map holds buckets of EG_SEEN_WAYS records. */
	{ SIZE(first_seen), "eg_seen", 1, EG_SEEN_WAYS, eg_seen_buckets },
	{ SIZE(max_sources), "eg_tracked", 1, 0, eg_tracked_blocks },
};
const unsigned int eg_n_size_maps = sizeof(eg_size_maps) / sizeof(eg_size_maps[0]);

void eg_maps_init(struct eg_maps *m)
{
#define EG_MAP_NONE(field, name) m->field = -1;
	EG_MAP_REGISTRY(EG_MAP_NONE)
#undef EG_MAP_NONE
}

/* Sums key's per-CPU value, n u64 counters, into out[0..n). */
static int percpu_sum(int fd, uint32_t key, uint64_t *out, size_t n, struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	vals = calloc((size_t)ncpu * n, sizeof(*vals));
	if (!vals)
		return eg_fail(e, "out of memory");
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		eg_fail_errno(e, errno, "cannot read per-CPU entry %u", key);
		free(vals);
		return -1;
	}
	memset(out, 0, n * sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (size_t i = 0; i < n; i++)
			out[i] += vals[(size_t)c * n + i];
	free(vals);
	return 0;
}

int eg_read_counters(const struct eg_maps *m, uint64_t out[EG_R_MAX], struct eg_err *e)
{
	for (uint32_t r = 0; r < EG_R_MAX; r++)
		if (percpu_sum(m->counters, r, &out[r], 1, e))
			return -1;
	return 0;
}

int eg_read_policy_counters(const struct eg_maps *m, uint32_t slot,
			    struct eg_policy_counters *out, struct eg_err *e)
{
	return percpu_sum(m->policy_counters, slot, (uint64_t *)out->c, EG_PC_MAX, e);
}

int eg_read_iface_counters(const struct eg_maps *m, uint32_t slot, uint64_t out[EG_R_VERDICTS],
			   struct eg_err *e)
{
	if (slot >= EG_MAX_IFACES)
		return eg_fail(e, "interface slot %u out of range", slot);
	for (uint32_t r = 0; r < EG_R_VERDICTS; r++)
		if (percpu_sum(m->iface_counters, slot * EG_R_VERDICTS + r, &out[r], 1, e))
			return -1;
	return 0;
}

/* Zeroes key's per-CPU value of size bytes per CPU. */
static int percpu_zero(int fd, uint32_t key, size_t size, struct eg_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zeros;
	int rc = 0;

	if (ncpu <= 0)
		return eg_fail_errno(e, -ncpu, "cannot count CPUs");
	/* The kernel copies a per-CPU value in 8-byte rounded slots. */
	zeros = calloc((size_t)ncpu, (size + 7) & ~(size_t)7);
	if (!zeros)
		return eg_fail(e, "out of memory");
	if (bpf_map_update_elem(fd, &key, zeros, BPF_ANY))
		rc = eg_fail_errno(e, errno, "cannot reset per-CPU entry %u", key);
	free(zeros);
	return rc;
}

int eg_reset_iface_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e)
{
	if (slot >= EG_MAX_IFACES)
		return eg_fail(e, "interface slot %u out of range", slot);
	for (uint32_t r = 0; r < EG_R_VERDICTS; r++)
		if (percpu_zero(m->iface_counters, slot * EG_R_VERDICTS + r, sizeof(uint64_t), e))
			return eg_fail(e, "cannot reset the counters of interface slot %u: %s", slot,
				       e->msg);
	return 0;
}

int eg_reset_policy_counters(const struct eg_maps *m, uint32_t slot, struct eg_err *e)
{
	if (slot >= EG_MAX_POLICIES)
		return eg_fail(e, "policy slot %u out of range", slot);
	return percpu_zero(m->policy_counters, slot, sizeof(struct eg_policy_counters), e);
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

static int key_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(const uint32_t *)size);
}

int eg_map_keys(int fd, uint32_t key_size, void **keys, size_t *n, struct eg_err *e)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	size_t cap = 64, got = 0, steps = 0, max_steps;
	char *all = NULL, *grown, *prev = NULL;

	*keys = NULL;
	*n = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return eg_fail_errno(e, errno, "cannot read a map's info");
	if (info.key_size != key_size)
		return eg_fail(e, "map key size %u, expected %u", info.key_size, key_size);
	/* Room for every entry walked twice over, however often it starts again. */
	max_steps = 2 * (size_t)info.max_entries + 64;
	for (;;) {
		if (got == cap || !all) {
			cap = all ? cap * 2 : cap;
			grown = realloc(all, cap * key_size);
			if (!grown) {
				free(all);
				return eg_fail(e, "out of memory for the keys of a map");
			}
			all = grown;
			prev = got ? all + (got - 1) * key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, all + got * key_size))
			break;
		prev = all + got * key_size;
		got++;
		if (++steps >= max_steps)
			break; /* someone keeps deleting behind us: what we have is enough */
	}
	if (errno != ENOENT && steps < max_steps) {
		int err = errno;

		free(all);
		return eg_fail_errno(e, err, "cannot walk a map");
	}
	/* A restart repeated keys: sort and keep each once. */
	if (got > 1)
		qsort_r(all, got, key_size, key_cmp, &key_size);
	*n = 0;
	for (size_t i = 0; i < got; i++)
		if (!*n || memcmp(all + (*n - 1) * key_size, all + i * key_size, key_size))
			memmove(all + (*n)++ * key_size, all + i * key_size, key_size);
	*keys = all;
	return 0;
}

/* Entries by walking the keys: what LPM tries and arrays allow. */
static long count_by_walk(int fd, uint32_t key_size)
{
	void *key = calloc(2, key_size), *next;
	long n = 0;

	if (!key)
		return -1;
	next = (char *)key + key_size;
	if (bpf_map_get_next_key(fd, NULL, next) == 0) {
		do {
			n++;
			memcpy(key, next, key_size);
		} while (bpf_map_get_next_key(fd, key, next) == 0);
	}
	free(key);
	return n;
}

#define COUNT_BATCH 1024

long eg_map_count(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), n;
	uint64_t token[8]; /* a bucket index for hash maps; room to spare */
	void *keys, *vals;
	bool first = true;
	long total = 0;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	/* In batches of a thousand: a million LRU entries in a thousand syscalls, not a million. */
	keys = malloc((size_t)COUNT_BATCH * info.key_size);
	vals = malloc((size_t)COUNT_BATCH * info.value_size);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (;;) {
		n = COUNT_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals, &n, NULL);
		if (err && errno != ENOENT) {
			/* No batches for this map type (LPM tries): key by key. */
			total = first ? count_by_walk(fd, info.key_size) : -1;
			break;
		}
		total += n;
		if (err)
			break; /* ENOENT: that was the last batch */
		first = false;
	}
	free(keys);
	free(vals);
	return total;
}

uint32_t eg_map_capacity(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

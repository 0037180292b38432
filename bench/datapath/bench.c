// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `make bench`: what edgeguard costs per packet. A benchmark, not a test: it
 * prints figures and never fails on them. Four parts:
 *
 *  1. bpf_prog_test_run: ns per packet of the datapath in each situation the
 *     README names, next to two baselines (bare XDP_DROP, parser only), with
 *     issue 12's targets (known source with all lists full against empty
 *     lists, a never-seen source against parse-only) and its survival row: a
 *     1M-source table and 64k verified sources through 16M spoofed SYNs.
 *  2. Kernel memory (memlock, as bpftool reports it) of every datapath map,
 *     and per tracked source.
 *  3. (The veth lab that was here timed the sending CPU, which on a veth also
 *     runs the receiver's XDP. `make bench-flood`, bench/flood/, measures
 *     the receiving CPU against iptables and nftables instead.)
 *  4. Flow tracking (issue 4): XDP with max_conns / new_source_budget and TC
 *     egress with the flow table at 100k and 1M flows; memory per flow.
 *
 * Usage: bench [testrun] [mem] [flows]   (no argument: all)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "edgeguard.skel.h"
#include "baselines.skel.h"
#include "datapath.h"
#include "maps.h"
#include "lists.h"
#include "policy.h"
#include "sources.h"
#include "frames.h"

#define RUNS 7
#define REPEAT 1000000U
#define FLOOD_SOURCES (1U << 24) /* the spoofed-flood survival row: 16M distinct sources */
#define MAX_ROWS 40

/* ---------------------------------------------------------------- helpers */

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench: %s: %s\n", what, why);
	exit(1);
}

/* The datapath's form of an IPv4 host address. */
static void v4_addr(uint32_t host, struct eg_addr *a)
{
	uint32_t n = htonl(host);

	memset(a, 0, sizeof(*a));
	a->family = EG_AF_INET;
	memcpy(a->a, &n, 4);
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("bad address", s);
	return ntohl(a.s_addr);
}

/* A bijection of [0, 2^24): spreads consecutive i over the IPv4 space. */
static uint32_t spread24(uint32_t i)
{
	return (i * 0x9e3779u + 0x5a5a5u) & 0xffffffu;
}

static size_t make_frame(const char *src, uint8_t flags, uint16_t dport, uint8_t *buf)
{
	struct frame_spec s = { .src = src, .l4 = IPPROTO_TCP, .dport = dport, .tcp_flags = flags };
	size_t n = build_frame(&s, buf, FRAME_MAX);

	if (!n)
		die("frame", src);
	return n;
}

/* ------------------------------------------------------ part 1: test_run */

struct row {
	char name[72];
	double med, min;  /* ns per packet */
	bool wrapped;     /* measured through rotate_src: wrapper cost included */
	const char *check; /* verdict and counter check of the runs */
};

static struct row rows[MAX_ROWS];
static int nrows;
/* Rows the others are compared with, and the rows. */
static int row_bare = -1, row_parse = -1, row_wrap_bare = -1, row_known = -1;
static int row_full = -1, row_new = -1, row_new_1m = -1;

struct bench {
	struct baselines_bpf *base;
	struct edgeguard_bpf *eg; /* the instance under test */
	struct eg_maps m;
	int next_fd;              /* bench_next prog array */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * ns/pkt is bpf_test_run's own figure: it times only the repetitions (and
 * stops its clock while it reschedules), but reports whole ns, truncated.
 * The wall time around the call is useless here: every XDP test run adds
 * and removes the program from the XDP dispatcher, which waits for an RCU
 * grace period, milliseconds per call. RUNS calls; the table shows their
 * median and their minimum.
 */
static int time_prog(int fd, const uint8_t *frame, size_t len, uint32_t repeat, struct row *r,
		     uint32_t *retval)
{
	uint8_t out[FRAME_MAX];
	double d[RUNS];

	for (int i = 0; i < RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		d[i] = o.duration;
		*retval = o.retval;
	}
	qsort(d, RUNS, sizeof(d[0]), cmp_double);
	r->med = d[RUNS / 2];
	r->min = d[0];
	return 0;
}

/*
 * Times one case and checks that every repetition got the verdict the case
 * is about: the program's return value, and (for the datapath, reason >= 0)
 * that exactly that verdict counter moved by RUNS * repeat.
 */
static int bench_case(struct bench *b, const char *name, int fd, const uint8_t *frame,
		       size_t len, uint32_t repeat, bool wrapped, uint32_t want_action,
		       int want_reason)
{
	uint64_t before[EG_R_MAX], after[EG_R_MAX];
	struct eg_err e = {};
	struct row *r = &rows[nrows];
	uint32_t retval = 0;
	int err;

	if (nrows >= MAX_ROWS)
		die("rows", "too many cases");
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->wrapped = wrapped;
	if (want_reason >= 0 && eg_read_counters(&b->m, before, &e))
		die("counters", e.msg);
	err = time_prog(fd, frame, len, repeat, r, &retval);
	if (err)
		die(name, strerror(-err));
	r->check = retval == want_action ? "ok" : "WRONG VERDICT";
	if (want_reason >= 0) {
		if (eg_read_counters(&b->m, after, &e))
			die("counters", e.msg);
		if (after[want_reason] - before[want_reason] != (uint64_t)RUNS * repeat)
			r->check = "COUNTER MISMATCH";
	}
	printf("  %-58s %6.0f ns/pkt  (%s)\n", r->name, r->med, r->check);
	return nrows++;
}

/* Points rotate_src at prog_fd and at the address range it should write. */
static void rotate_setup(struct bench *b, int prog_fd, uint32_t base, uint32_t mask)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(b->next_fd, &zero, &prog_fd, BPF_ANY))
		die("bench_next", strerror(errno));
	b->base->bss->bench_seq = 0;
	b->base->bss->bench_src_base = base;
	b->base->bss->bench_src_mask = mask;
}

/* Drops the prog array's reference, so a destroyed datapath really goes away. */
static void rotate_clear(struct bench *b)
{
	uint32_t zero = 0;

	bpf_map_delete_elem(b->next_fd, &zero);
}

#define FLOOD_PORT 8443 /* a rule in SYN flood mode (syn_retry_above 1) with a budget */

static void install_policy(const struct eg_maps *m, uint16_t l4, uint16_t port, uint32_t syn_rate,
			   uint32_t pkt_rate, uint32_t burst)
{
	struct eg_policy_table t;
	struct eg_policy_spec *r = &t.rules[0];
	struct eg_err e = {};

	eg_policy_table_init(&t);
	t.nrules = 1;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "bench");
	r->l4 = l4;
	r->port_lo = r->port_hi = port;
	if (syn_rate)
		r->syn = (struct eg_rate_spec){ .set = true, .rate = syn_rate, .burst = burst };
	r->pkt = (struct eg_rate_spec){ .set = true, .rate = pkt_rate, .burst = burst };
	if (l4 == EG_L4_TCP && port != FLOOD_PORT) {
		/* Same buckets, in SYN flood mode from the second SYN of a new source on. */
		t.rules[1] = *r;
		snprintf(t.rules[1].name, sizeof(t.rules[1].name), "bench-flood");
		t.rules[1].port_lo = t.rules[1].port_hi = FLOOD_PORT;
		t.rules[1].syn_retry_above = 1;
		t.rules[1].new_source_budget =
			(struct eg_rate_spec){ .set = true, .rate = 1000000, .burst = 1000000 };
		t.nrules = 2;
	}
	if (eg_policy_install(m, &t, &e))
		die("policy", e.msg);
}

static struct edgeguard_bpf *load_datapath(struct bench *b, uint32_t max_sources)
{
	struct eg_sizes sz = { .max_sources = max_sources };
	struct eg_err e = {};

	b->eg = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);
	if (!b->eg)
		die("eg_datapath_open_load", e.msg);
	eg_maps_from_skel(b->eg, &b->m);
	return b->eg;
}

static void ban_exact(const struct eg_maps *m, uint32_t host)
{
	struct eg_lpm_key k = { .prefixlen = EG_FAMILY_BITS + 32 };
	struct eg_err e = {};

	v4_addr(host, &k.addr);
	if (eg_ban_add(m, &k, 0, EG_ORIGIN_MANUAL, NULL, &e))
		die("ban", e.msg);
}

static int add_cidr(int fd, uint32_t net, unsigned int plen, bool is_ban)
{
	struct eg_lpm_key k = { .prefixlen = EG_FAMILY_BITS + plen };
	struct eg_ban ban = { .prefixlen = k.prefixlen, .origin = EG_ORIGIN_MANUAL };
	struct eg_allow allow = {};

	v4_addr(net, &k.addr);
	return bpf_map_update_elem(fd, &k, is_ban ? (void *)&ban : (void *)&allow, BPF_ANY);
}

/* Exact bans of spread addresses until the hash holds `total` entries. */
static void fill_exact_bans(const struct eg_maps *m, uint32_t have, uint32_t total,
			    uint32_t avoid)
{
	uint32_t n = total - have, count, j = 0;
	struct eg_addr *keys = calloc(n, sizeof(*keys));
	struct eg_ban *vals = calloc(n, sizeof(*vals));

	if (!keys || !vals)
		die("fill", "out of memory");
	for (uint32_t i = 0; j < n; i++) {
		uint32_t host = 0x0a000000u | spread24(i); /* 10.0.0.0/8 */

		if (host == avoid)
			continue;
		v4_addr(host, &keys[j]);
		vals[j].prefixlen = EG_FAMILY_BITS + 32;
		j++;
	}
	count = n;
	if (bpf_map_update_batch(m->ban_exact, keys, vals, &count, NULL))
		die("ban batch", strerror(errno));
	free(keys);
	free(vals);
}

/*
 * /24s (bans) or /32s (allows) spread over the IPv4 space, so every lookup
 * walks a trie of realistic depth rather than one branch. Skips `avoid`'s /24.
 * Returns how many entries the trie took before it was full.
 */
static uint32_t fill_trie(int fd, uint32_t *next, uint32_t n, bool is_ban, uint32_t avoid)
{
	uint32_t added = 0, i;

	for (i = *next; added < n && i < (1U << 24); i++) {
		uint32_t x = spread24(i);
		uint32_t net = is_ban ? x << 8 : (x << 8) | 1;

		if ((net >> 8) == (avoid >> 8) || (net >> 24) == 0 || (net >> 24) >= 224)
			continue;
		if (add_cidr(fd, net, is_ban ? 24 : 32, is_ban)) {
			if (errno == E2BIG || errno == ENOSPC)
				break;
			die("trie fill", strerror(errno));
		}
		added++;
	}
	*next = i;
	return added;
}

/* The state fill_sources() gives source i: distinct, so a survivor can be checked. */
static void filled_state(uint32_t i, struct eg_source *v)
{
	memset(v, 0, sizeof(*v));
	v->syn_tat = 1000 + i;
	v->pkt_tat = 2000 + i;
	v->packets = 3 + i;
	v->syns = 1 + i % 7;
}

/*
 * Fills the source table with n sources 10.0.0.0 + i under policy slot, as
 * the datapath keeps sources it has state for (marked in the tracked filter).
 */
static void fill_sources(const struct eg_maps *m, uint32_t n, uint32_t slot)
{
	const uint32_t chunk = 65536;
	struct eg_source_key *keys = calloc(n, sizeof(*keys));
	struct eg_source *vals = calloc(chunk, sizeof(*vals));
	struct eg_err e = {};

	if (!keys || !vals)
		die("fill", "out of memory");
	for (uint32_t at = 0; at < n; at += chunk) {
		uint32_t cnt = n - at < chunk ? n - at : chunk;

		for (uint32_t i = 0; i < cnt; i++) {
			v4_addr(0x0a000000u + at + i, &keys[at + i].addr);
			keys[at + i].policy = slot;
			filled_state(at + i, &vals[i]);
		}
		if (bpf_map_update_batch(m->sources, keys + at, vals, &cnt, NULL))
			die("sources batch", strerror(errno));
	}
	if (eg_sources_track(m, keys, n, eg_now_ns(), &e))
		die("track", e.msg);
	free(keys);
	free(vals);
}

static uint64_t count_entries(int fd, size_t ksz, size_t vsz)
{
	const uint32_t chunk = 8192;
	void *keys = malloc(chunk * ksz), *vals = malloc(chunk * vsz);
	uint32_t token = 0, cnt;
	uint64_t total = 0;
	bool first = true;
	int err;

	if (!keys || !vals)
		die("count", "out of memory");
	do {
		cnt = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &cnt,
					   NULL);
		if (err && errno != ENOENT)
			die("count", strerror(errno));
		total += cnt;
		first = false;
	} while (!err);
	free(keys);
	free(vals);
	return total;
}

/* ------------------------------------------------------- part 2: memlock */

#define MAX_MAPS 40

struct memrow {
	char name[32];
	const char *type;
	uint32_t max_entries;
	long long memlock;
};

static long long fd_memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int snapshot_memlock(struct bpf_object *obj, struct memrow *out)
{
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj) {
		if (n >= MAX_MAPS)
			break;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(map));
		out[n].type = libbpf_bpf_map_type_str(bpf_map__type(map));
		out[n].max_entries = bpf_map__max_entries(map);
		out[n].memlock = fd_memlock(bpf_map__fd(map));
		n++;
	}
	return n;
}

static void print_memlock(const struct memrow *r, int n)
{
	long long total = 0;

	printf("\n  %-20s %-14s %12s %16s\n", "map", "type", "max_entries", "memlock");
	for (int i = 0; i < n; i++) {
		printf("  %-20s %-14s %12u %12lld B = %8.2f MiB\n", r[i].name, r[i].type,
		       r[i].max_entries, r[i].memlock, r[i].memlock / 1048576.0);
		total += r[i].memlock;
	}
	printf("  %-48s %12lld B = %8.2f MiB\n", "total", total, total / 1048576.0);
}

/* ---------------------------------------------------- part 1+2: driver */

static double net_ns(int i, double wrapper_cost)
{
	return rows[i].wrapped ? rows[i].med - wrapper_cost : rows[i].med;
}

static void target(const char *what, double a, double b, double amin, double bmin, double max)
{
	double r = a / b, rmin = amin / bmin;

	printf("  %-58s %5.2fx / %5.2fx (<= %.1fx) -> %s\n", what, r, rmin, max,
	       r <= max ? "met" : rmin <= max ? "met by the minimums only" : "NOT MET");
}

static void print_table(void)
{
	double wcost = rows[row_wrap_bare].med - rows[row_bare].med;
	double pb = rows[row_parse].med, bb = rows[row_bare].med;

	printf("\nns/pkt: median of %d bpf_prog_test_run calls (min also shown), each of %u\n"
	       "repetitions, as timed by\n"
	       "bpf_test_run itself (whole ns, so +-1 ns on every figure).\n"
	       "Wrapped rows (w) ran through rotate_src, which rewrites the IPv4 source from a\n"
	       "counter and tail-calls the program: 'net' subtracts that wrapper's cost,\n"
	       "measured as (wrapper -> bare XDP_DROP) - (bare XDP_DROP) = %.0f ns.\n"
	       "Ratios use 'net'. test_run repeats one frame, so everything but the 'cycling'\n"
	       "and 'new source' rows runs with the touched map entries hot in cache.\n\n",
	       RUNS, REPEAT, wcost);
	printf("%-60s %8s %8s %8s %8s %8s  %s\n", "case", "ns/pkt", "min", "net", "x parse", "x bare",
	       "verdict");
	for (int i = 0; i < nrows; i++) {
		double n = net_ns(i, wcost);

		printf("%-58s%s %8.0f %8.0f %8.0f %8.2f %8.2f  %s\n", rows[i].name,
		       rows[i].wrapped ? " w" : "  ", rows[i].med, rows[i].min, n, n / pb, n / bb,
		       rows[i].check);
	}
	printf("\nIssue 12 targets, ratio of medians (then of minimums, less disturbed by other\n"
	       "load on the machine), same run:\n");
	target("list-size independence: 3d all lists full / 3 empty lists", net_ns(row_full, wcost),
	       net_ns(row_known, wcost), rows[row_full].min, rows[row_known].min, 1.3);
	target("never-seen source: 4 new source / 2 parse-only", net_ns(row_new, wcost), pb,
	       rows[row_new].min - wcost, rows[row_parse].min, 3.0);
	target("never-seen source, 1M tracked: 5c / 2 parse-only", net_ns(row_new_1m, wcost), pb,
	       rows[row_new_1m].min - wcost, rows[row_parse].min, 3.0);
}

/* Runs a frame n times, untimed: puts a policy into the state a case measures. */
static void warm(int fd, const uint8_t *frame, size_t len, uint32_t n)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = n);

	if (bpf_prog_test_run_opts(fd, &o))
		die("warm-up", strerror(errno));
}

/* After list maps were written directly: they are in use, and cached verdicts are stale. */
static void note_lists(const struct eg_maps *m)
{
	eg_list_note_insert(m, EG_LIST_BAN_EXACT, NULL);
	eg_list_note_insert(m, EG_LIST_BAN_CIDR, NULL);
	eg_list_note_insert(m, EG_LIST_ALLOW, NULL);
}

/* Fills eg_verified with the first n of fill_sources()'s sources, verified now. */
static void fill_verified(const struct eg_maps *m, uint32_t n, uint32_t slot)
{
	struct eg_source_key *keys = calloc(n, sizeof(*keys));
	struct eg_verified *vals = calloc(n, sizeof(*vals));
	uint64_t now = eg_now_ns();
	uint32_t cnt = n;

	if (!keys || !vals)
		die("fill", "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		v4_addr(0x0a000000u + i, &keys[i].addr);
		keys[i].policy = slot;
		filled_state(i, &vals[i].state);
		vals[i].verified_ns = now;
	}
	if (bpf_map_update_batch(m->verified, keys, vals, &cnt, NULL))
		die("verified batch", strerror(errno));
	free(keys);
	free(vals);
}

/* How many of fill_sources()'s n sources are still there with the state they were given. */
static void survivors(const struct eg_maps *m, uint32_t n, uint32_t slot, uint32_t *present,
		      uint32_t *intact)
{
	struct eg_source_key k;
	struct eg_source v, want;

	*present = *intact = 0;
	memset(&k, 0, sizeof(k));
	k.policy = slot;
	for (uint32_t i = 0; i < n; i++) {
		v4_addr(0x0a000000u + i, &k.addr);
		if (bpf_map_lookup_elem(m->sources, &k, &v))
			continue;
		(*present)++;
		filled_state(i, &want);
		if (!memcmp(&v, &want, sizeof(v)))
			(*intact)++;
	}
}

/*
 * The survival row: 1M tracked sources (64k of them verified), then a
 * spoofed SYN flood of FLOOD_SOURCES sources, one SYN each, to the same
 * policy; afterwards, how many of the 1M still have their entry, unchanged,
 * and how many verified entries are left.
 */
static void flood_survival(struct bench *b)
{
	const uint32_t clients = 1U << 20, verified = EG_DEFAULT_MAX_VERIFIED;
	uint64_t c0[EG_R_MAX], c1[EG_R_MAX];
	uint8_t syn[FRAME_MAX];
	size_t lsyn = make_frame("12.0.0.1", TH_SYN, 443, syn);
	uint32_t stored, present, intact, rot = bpf_program__fd(b->base->progs.rotate_src);
	long long ver_after;
	struct eg_err e = {};
	double secs;

	load_datapath(b, clients);
	install_policy(&b->m, EG_L4_TCP, 443, 100000000, 100000000, 1000000);
	fill_sources(&b->m, clients, 1);
	fill_verified(&b->m, verified, 1);
	/* A full LRU table may refuse a few of the fill (it evicts in batches). */
	survivors(&b->m, clients, 1, &stored, &intact);
	rotate_setup(b, bpf_program__fd(b->eg->progs.edgeguard_xdp), 0x0c000000u,
		     FLOOD_SOURCES - 1);
	if (eg_read_counters(&b->m, c0, &e))
		die("counters", e.msg);
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = syn, .data_size_in = (uint32_t)lsyn,
			    .repeat = FLOOD_SOURCES);

		if (bpf_prog_test_run_opts((int)rot, &o))
			die("flood", strerror(errno));
		secs = o.duration * (double)FLOOD_SOURCES / 1e9;
		printf("\n== spoofed flood survival: %u tracked sources (%u of them verified), then\n"
		       "   %u spoofed SYNs from %u distinct never-seen sources (12.0.0.0/8), one each,\n"
		       "   to the same policy: %u ns/pkt, %.2f s\n",
		       clients, verified, FLOOD_SOURCES, FLOOD_SOURCES, o.duration, secs);
	}
	rotate_clear(b);
	if (eg_read_counters(&b->m, c1, &e))
		die("counters", e.msg);
	survivors(&b->m, clients, 1, &present, &intact);
	ver_after = (long long)count_entries(b->m.verified, sizeof(struct eg_source_key),
					     sizeof(struct eg_verified));
	printf("   first_seen +%llu, promoted (state made) +%llu, passed +%llu\n",
	       (unsigned long long)(c1[EG_R_FIRST_SEEN] - c0[EG_R_FIRST_SEEN]),
	       (unsigned long long)(c1[EG_R_PROMOTED] - c0[EG_R_PROMOTED]),
	       (unsigned long long)(c1[EG_R_PASSED] - c0[EG_R_PASSED]));
	printf("   tracked sources stored before the flood: %u of %u%s\n", stored, clients,
	       stored < clients ? " (filling an LRU table to the last entry evicts a batch when"
				  " the filler changes CPU)" : "");
	printf("   of those, still present: %u, state unchanged: %u; verified: %lld of %u\n"
	       "   -> %s\n",
	       present, intact, ver_after, verified,
	       present == stored && intact == stored && ver_after == verified ?
		       "survived" : "NOT SURVIVED");
	if (c1[EG_R_PROMOTED] != c0[EG_R_PROMOTED])
		printf("   (a promotion here is a spoofed source taken for a remembered one: a 30-bit\n"
		       "   fingerprint match in its bucket, about 8 in 2^30 per packet, 0.13 expected over\n"
		       "   16M; making its state in the full LRU table evicts a batch of entries)\n");
	edgeguard_bpf__destroy(b->eg);
}

/* Kernel memory per tracked source, from the freshly loaded default-size maps. */
static void per_source_memory(const struct memrow *r, int n)
{
	printf("\n  Per tracked source (memlock / max_entries):\n");
	for (int i = 0; i < n; i++) {
		if (strcmp(r[i].name, "eg_sources") && strcmp(r[i].name, "eg_verified") &&
		    strcmp(r[i].name, "eg_seen") && strcmp(r[i].name, "eg_tracked"))
			continue;
		printf("  %-20s %12lld B / %8u = %6.1f B per entry%s\n", r[i].name, r[i].memlock,
		       r[i].max_entries, (double)r[i].memlock / r[i].max_entries,
		       !strcmp(r[i].name, "eg_seen")	  ? " (a bucket of 8 first-seen records)" :
		       !strcmp(r[i].name, "eg_tracked") ? " (a filter block for 16 sources)" :
							    "");
	}
	for (int i = 0; i < n; i++)
		if (!strcmp(r[i].name, "eg_sources"))
			printf("  target (issue): <= 96 B per tracked source: %.1f B -> %s\n",
			       (double)r[i].memlock / r[i].max_entries,
			       (double)r[i].memlock / r[i].max_entries <= 96 ? "met" : "NOT MET");
}

static void part_testrun(bool want_mem)
{
	struct bench b = {};
	struct memrow before[MAX_MAPS], after[MAX_MAPS];
	int nmaps, bare, parse, rot, egfd;
	uint8_t syn[FRAME_MAX], ack[FRAME_MAX], bex[FRAME_MAX], bcidr[FRAME_MAX], alw[FRAME_MAX];
	size_t lsyn, lack, lbex, lbcidr, lalw;
	const uint32_t known = ip4("198.18.0.10"), banned = ip4("198.51.100.7");
	const uint32_t cidr_net = ip4("203.0.113.0"), allowed = ip4("192.0.2.77");
	uint32_t got, next = 0;

	b.base = baselines_bpf__open_and_load();
	if (!b.base)
		die("bench_baselines", strerror(errno));
	bare = bpf_program__fd(b.base->progs.bare_drop);
	parse = bpf_program__fd(b.base->progs.parse_only);
	rot = bpf_program__fd(b.base->progs.rotate_src);
	b.next_fd = bpf_map__fd(b.base->maps.bench_next);

	lsyn = make_frame("198.18.0.10", TH_SYN, 443, syn);
	lack = make_frame("198.18.0.10", TH_ACK, 443, ack);
	lbex = make_frame("198.51.100.7", TH_SYN, 443, bex);
	lbcidr = make_frame("203.0.113.9", TH_SYN, 443, bcidr);
	lalw = make_frame("192.0.2.77", TH_SYN, 443, alw);

	/* Instance A: default sizes (1M sources, 64k bans, 16k allows). */
	load_datapath(&b, 0);
	egfd = bpf_program__fd(b.eg->progs.edgeguard_xdp);
	nmaps = snapshot_memlock(b.eg->obj, before);
	/* Generous enough that every repetition passes: 1e8/s, burst 1e6. */
	install_policy(&b.m, EG_L4_TCP, 443, 100000000, 100000000, 1000000);

	printf("== part 1: ns/packet with bpf_prog_test_run (TCP to port 443, policy: SYN and\n"
	       "   packet buckets at 1e8/s burst 1e6, so a known source always passes)\n");
	row_bare = bench_case(&b, "1 bare XDP_DROP", bare, syn, lsyn, REPEAT, false, XDP_DROP, -1);
	row_parse = bench_case(&b, "2 parse-only", parse, syn, lsyn, REPEAT, false, XDP_DROP, -1);
	row_known = bench_case(&b, "3 full datapath, known source, SYN", egfd, syn, lsyn, REPEAT, false,
		   XDP_PASS, EG_R_PASSED);
	bench_case(&b, "3b full datapath, known source, ACK", egfd, ack, lack, REPEAT, false,
		   XDP_PASS, EG_R_PASSED);

	rotate_setup(&b, bare, 0x0b000000u, 0xffffffu);
	row_wrap_bare = bench_case(&b, "wrapper -> bare XDP_DROP", rot, syn, lsyn, REPEAT, true, XDP_DROP, -1);
	rotate_setup(&b, parse, 0x0b000000u, 0xffffffu);
	bench_case(&b, "wrapper -> parse-only", rot, syn, lsyn, REPEAT, true, XDP_DROP, -1);
	rotate_setup(&b, egfd, 0x0b000000u, 0xffffffu); /* 11.0.0.0/8: never seen */
	row_new = bench_case(&b, "4 new source each pkt (never seen: remembered, no state)", rot,
			     syn, lsyn, REPEAT, true, XDP_PASS, EG_R_PASSED);
	/* Into SYN flood mode first: a few new sources' SYNs exceed syn_retry_above 1. */
	lsyn = make_frame("198.18.0.10", TH_SYN, FLOOD_PORT, syn);
	rotate_setup(&b, egfd, 0x0d000000u, 0xffffffu);
	warm(rot, syn, lsyn, 8);
	bench_case(&b, "4b new source each pkt, SYN flood mode (first SYN dropped)", rot, syn, lsyn,
		   REPEAT, true, XDP_DROP, EG_R_SYN_RETRY);
	rotate_clear(&b);
	lsyn = make_frame("198.18.0.10", TH_SYN, 443, syn);

	ban_exact(&b.m, banned);
	if (add_cidr(b.m.ban_cidr, cidr_net, 24, true))
		die("cidr ban", strerror(errno));
	if (add_cidr(b.m.allow, allowed, 32, false))
		die("allow", strerror(errno));
	/* Written past the library: tell the datapath to look in these lists now. */
	note_lists(&b.m);
	bench_case(&b, "6a banned, exact (1 ban)", egfd, bex, lbex, REPEAT, false, XDP_DROP,
		   EG_R_BANNED);
	bench_case(&b, "6b banned, CIDR /24 (1 CIDR)", egfd, bcidr, lbcidr, REPEAT, false,
		   XDP_DROP, EG_R_BANNED_CIDR);
	bench_case(&b, "7 allowlisted (1 allow)", egfd, alw, lalw, REPEAT, false, XDP_PASS,
		   EG_R_ALLOWLISTED);

	fill_exact_bans(&b.m, 1, EG_DEFAULT_MAX_BANS, banned);
	got = 1 + fill_trie(b.m.ban_cidr, &next, 4095, true, cidr_net);
	note_lists(&b.m);
	printf("  (ban lists filled: %u exact bans, %u CIDRs)\n", EG_DEFAULT_MAX_BANS, got);
	bench_case(&b, "6c banned, exact (65536 bans: hash full)", egfd, bex, lbex, REPEAT,
		   false, XDP_DROP, EG_R_BANNED);
	bench_case(&b, "6d banned, CIDR (4096 CIDRs spread over IPv4)", egfd, bcidr, lbcidr,
		   REPEAT, false, XDP_DROP, EG_R_BANNED_CIDR);
	bench_case(&b, "3c known source, SYN, 64k bans + 4096 CIDRs", egfd, syn, lsyn, REPEAT,
		   false, XDP_PASS, EG_R_PASSED);

	got += fill_trie(b.m.ban_cidr, &next, EG_DEFAULT_MAX_BANS, true, cidr_net);
	printf("  (CIDR ban trie filled: %u entries)\n", got);
	next = 0;
	got = 1 + fill_trie(b.m.allow, &next, EG_DEFAULT_MAX_ALLOWS, false, known);
	note_lists(&b.m);
	printf("  (allow trie filled: %u entries)\n", got);
	bench_case(&b, "6e banned, CIDR (65536 CIDRs: trie full)", egfd, bcidr, lbcidr, REPEAT,
		   false, XDP_DROP, EG_R_BANNED_CIDR);
	bench_case(&b, "7b allowlisted (allow trie full, 16384)", egfd, alw, lalw, REPEAT, false,
		   XDP_PASS, EG_R_ALLOWLISTED);
	row_full = bench_case(&b, "3d known source, SYN, all lists full", egfd, syn, lsyn, REPEAT,
			      false, XDP_PASS, EG_R_PASSED);
	rotate_setup(&b, egfd, 0xf0000000u, 0xffffffu); /* 240/8: no list entry there */
	bench_case(&b, "4c new source each pkt, all lists full (lists walked)", rot, syn, lsyn,
		   REPEAT, true, XDP_PASS, EG_R_PASSED);
	rotate_clear(&b);
	snapshot_memlock(b.eg->obj, after);
	edgeguard_bpf__destroy(b.eg);

	/* Instance B: 1M sources, filled before the first packet. */
	load_datapath(&b, 1U << 20);
	egfd = bpf_program__fd(b.eg->progs.edgeguard_xdp);
	install_policy(&b.m, EG_L4_TCP, 443, 100000000, 100000000, 1000000);
	fill_sources(&b.m, 1U << 20, 1); /* slot 1 is the port-443 rule */
	printf("  (source table filled: %llu entries of %u)\n",
	       (unsigned long long)count_entries(b.m.sources, sizeof(struct eg_source_key),
						 sizeof(struct eg_source)),
	       1U << 20);
	lsyn = make_frame("10.0.0.5", TH_SYN, 443, syn);
	bench_case(&b, "5a 1M tracked, known source (one, hot)", egfd, syn, lsyn, REPEAT, false,
		   XDP_PASS, EG_R_PASSED);
	rotate_setup(&b, egfd, 0x0a000000u, (1U << 20) - 1);
	bench_case(&b, "5b 1M tracked, known sources cycling over all 1M", rot, syn, lsyn,
		   REPEAT, true, XDP_PASS, EG_R_PASSED);
	rotate_setup(&b, egfd, 0x0c000000u, 0xffffffu); /* 12.0.0.0/8: never seen */
	row_new_1m = bench_case(&b, "5c 1M tracked, new source each pkt (never seen)", rot, syn,
				lsyn, REPEAT, true, XDP_PASS, EG_R_PASSED);
	rotate_clear(&b);
	edgeguard_bpf__destroy(b.eg);

	print_table();
	flood_survival(&b);
	baselines_bpf__destroy(b.base);

	if (!want_mem)
		return;
	printf("\n== part 2: kernel memory of the datapath maps at the default sizes\n"
	       "   (memlock: line of /proc/self/fdinfo/<map fd>, the figure bpftool shows),\n"
	       "   freshly loaded:");
	print_memlock(before, nmaps);
	printf("\n  The LPM tries allocate per entry (BPF_F_NO_PREALLOC); filled to capacity:\n");
	for (int i = 0; i < nmaps; i++)
		if (after[i].memlock != before[i].memlock)
			printf("  %-20s %12lld B empty -> %12lld B full (%u entries) = %8.2f MiB\n",
			       after[i].name, before[i].memlock, after[i].memlock,
			       after[i].max_entries, after[i].memlock / 1048576.0);
	printf("  After filling, everything:");
	print_memlock(after, nmaps);
	per_source_memory(before, nmaps);
}

/* ------------------------------------------------- part 4: flow tracking */

#define FLOW_REPEAT 400000U    /* keeps part 4 near 20 s */
#define FLOW_REPEAT_NEW 5000U   /* new flows per run: RUNS of these fit beside 1M flows */
#define FLOW_REPEAT_END 2500U   /* FINs per run: half the new flows each for XDP and TC */
#define FLOW_TABLE (1U << 20)   /* eg_flows max_entries */
#define FLOW_SERVER "192.0.2.1" /* frames.h's default destination */
#define FLOW_PORT 443
#define FLOW_CPORT 40000
#define FLOW_SLOT 1             /* the port-443 rule's policy slot */
#ifndef TH_FIN
#define TH_FIN 0x01
#endif
#define TC_OK 0
#define MAX_FROWS 48

struct frow {
	char name[72];
	double med, min;
	bool tc;          /* TC egress: compared with the TC baselines */
	bool wrapped;     /* through rotate_src / tc_rotate_dst */
	int ref;          /* row this one adds to (-1: none) */
	char check[48];
};

static struct frow frows[MAX_FROWS];
static int nfrows;
static int frow_xbare, frow_xparse, frow_xwrap, frow_tbare, frow_tparse, frow_twrap;

struct fbench {
	struct baselines_bpf *base;
	struct edgeguard_bpf *eg;
	struct eg_maps m;
};

/* The counters a flow event moves; a case may move at most the one it is about. */
static const int flow_events[] = { EG_R_FLOW_OPENED, EG_R_FLOW_CLOSED, EG_R_FLOW_REAPED,
				   EG_R_FLOW_FULL, EG_R_VERIFIED };

static const char *flow_event_name(int c)
{
	switch (c) {
	case EG_R_FLOW_OPENED: return "opened";
	case EG_R_FLOW_CLOSED: return "closed";
	case EG_R_FLOW_REAPED: return "reaped";
	case EG_R_FLOW_FULL: return "full";
	default: return "verified";
	}
}

/*
 * Times one case. Checks every run's return value, that the verdict counter
 * (verdict >= 0) and the flow event (event >= 0) each moved once per
 * repetition, and that no other flow event happened.
 */
static int flows_case(struct fbench *b, const char *name, int fd, const uint8_t *frame,
		      size_t len, uint32_t repeat, bool tc, bool wrapped, int ref,
		      uint32_t want_ret, int verdict, int event)
{
	uint64_t before[EG_R_MAX], after[EG_R_MAX], n = (uint64_t)RUNS * repeat;
	struct frow *r = &frows[nfrows];
	struct row t = {};
	struct eg_err e = {};
	uint32_t ret = 0;
	int err;

	if (nfrows >= MAX_FROWS)
		die("rows", "too many flow cases");
	if (eg_read_counters(&b->m, before, &e))
		die("counters", e.msg);
	err = time_prog(fd, frame, len, repeat, &t, &ret);
	if (err)
		die(name, strerror(-err));
	if (eg_read_counters(&b->m, after, &e))
		die("counters", e.msg);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->med = t.med;
	r->min = t.min;
	r->tc = tc;
	r->wrapped = wrapped;
	r->ref = ref;
	snprintf(r->check, sizeof(r->check), "%s", ret == want_ret ? "ok" : "WRONG VERDICT");
	if (verdict >= 0 && after[verdict] - before[verdict] != n)
		snprintf(r->check, sizeof(r->check), "COUNTER MISMATCH");
	/* Names the first unexpected flow event and how often it happened. */
	for (size_t i = 0; i < sizeof(flow_events) / sizeof(flow_events[0]); i++) {
		int c = flow_events[i];
		uint64_t d = after[c] - before[c];

		if (d != (c == event ? n : 0) && !strcmp(r->check, "ok"))
			snprintf(r->check, sizeof(r->check), "%s %llu of %llu", flow_event_name(c),
				 (unsigned long long)d, (unsigned long long)n);
	}
	printf("  %-58s %6.0f ns/pkt  (%s)\n", r->name, r->med, r->check);
	return nfrows++;
}

static size_t flow_frame(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			 uint8_t flags, uint8_t *buf)
{
	struct frame_spec s = { .src = src, .dst = dst, .l4 = IPPROTO_TCP, .sport = sport,
				.dport = dport, .tcp_flags = flags };
	size_t n = build_frame(&s, buf, FRAME_MAX);

	if (!n)
		die("frame", src);
	return n;
}

static void flow_key(struct eg_flow_key *k, uint32_t client, uint16_t cport)
{
	memset(k, 0, sizeof(*k));
	v4_addr(client, &k->client);
	v4_addr(ip4(FLOW_SERVER), &k->server);
	k->client_port = cport;
	k->server_port = FLOW_PORT;
}

static void owner_key(struct eg_source_key *k, uint32_t client)
{
	memset(k, 0, sizeof(*k));
	v4_addr(client, &k->addr);
	k->policy = FLOW_SLOT;
}

/*
 * Flows from clients base + [from, to) on port FLOW_CPORT, as TC egress
 * would have stored them after the server's first reply (verified, so a
 * repeated ACK only refreshes last_seen), and one connection per client in
 * eg_conns. The bpf_timer stays zero: the kernel never copies it from user
 * space, so these flows have no idle timer, which lookups do not notice.
 */
static void fill_flows(const struct eg_maps *m, uint32_t base, uint32_t from, uint32_t to)
{
	const uint32_t chunk = 65536;
	struct eg_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct eg_flow *vals = calloc(chunk, sizeof(*vals));
	struct eg_source_key *owners = calloc(chunk, sizeof(*owners));
	uint64_t *counts = calloc(chunk, sizeof(*counts));

	if (!keys || !vals || !owners || !counts)
		die("fill", "out of memory");
	for (uint32_t at = from; at < to; at += chunk) {
		uint32_t cnt = to - at < chunk ? to - at : chunk, cnt2 = cnt;

		for (uint32_t i = 0; i < cnt; i++) {
			flow_key(&keys[i], base + at + i, FLOW_CPORT);
			owner_key(&owners[i], base + at + i);
			vals[i].owner = owners[i];
			vals[i].verified = 1;
			counts[i] = 1;
		}
		if (bpf_map_update_batch(m->flows, keys, vals, &cnt, NULL))
			die("flows batch", strerror(errno));
		if (bpf_map_update_batch(m->conns, owners, counts, &cnt2, NULL))
			die("conns batch", strerror(errno));
	}
	free(keys);
	free(vals);
	free(owners);
	free(counts);
}

/* Known sources (eg_sources entries, tracked) base + [0, n), so XDP creates no state for them. */
static void add_sources(const struct eg_maps *m, uint32_t base, uint32_t n)
{
	struct eg_source_key *keys = calloc(n, sizeof(*keys));
	struct eg_source *vals = calloc(n, sizeof(*vals));
	uint32_t cnt = n;

	if (!keys || !vals)
		die("fill", "out of memory");
	struct eg_err e = {};

	for (uint32_t i = 0; i < n; i++)
		owner_key(&keys[i], base + i);
	if (bpf_map_update_batch(m->sources, keys, vals, &cnt, NULL))
		die("sources batch", strerror(errno));
	if (eg_sources_track(m, keys, n, eg_now_ns(), &e))
		die("track", e.msg);
	free(keys);
	free(vals);
}

/* The port-443 rule with generous buckets, plus the flow features asked for. */
static void flows_policy(const struct eg_maps *m, uint32_t max_conns, uint32_t budget)
{
	const struct eg_rate_spec lots = { .set = true, .rate = 100000000, .burst = 1000000 };
	struct eg_policy_table t;
	struct eg_policy_spec *r = &t.rules[0];
	struct eg_err e = {};

	eg_policy_table_init(&t);
	t.nrules = 1;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "bench");
	r->l4 = EG_L4_TCP;
	r->port_lo = r->port_hi = FLOW_PORT;
	r->syn = lots;
	r->pkt = lots;
	r->max_conns = max_conns;
	if (budget)
		r->new_source_budget = (struct eg_rate_spec){ .set = true, .rate = budget,
							      .burst = 1000000 };
	if (eg_policy_install(m, &t, &e))
		die("policy", e.msg);
}

static void verify(const struct eg_maps *m, uint32_t client)
{
	struct eg_source_key k;
	struct eg_verified v = { .verified_ns = eg_now_ns() };

	owner_key(&k, client);
	if (bpf_map_update_elem(m->verified, &k, &v, BPF_ANY))
		die("verified", strerror(errno));
}

static void mark(int row, bool good, const char *why)
{
	if (!good) {
		snprintf(frows[row].check, sizeof(frows[row].check), "%s", why);
		printf("  %-58s -> %s\n", frows[row].name, why);
	}
}

static void set_xdp_rotate(struct fbench *b, int prog_fd, uint32_t base, uint32_t seq)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(b->base->maps.bench_next), &zero, &prog_fd, BPF_ANY))
		die("bench_next", strerror(errno));
	b->base->bss->bench_seq = seq;
	b->base->bss->bench_src_base = base;
	b->base->bss->bench_src_mask = 0xfffff;
}

static void set_tc_rotate(struct fbench *b, int prog_fd, uint32_t base, uint32_t seq)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(b->base->maps.bench_tc_next), &zero, &prog_fd,
				BPF_ANY))
		die("bench_tc_next", strerror(errno));
	b->base->bss->bench_tc_seq = seq;
	b->base->bss->bench_tc_dst_base = base;
	b->base->bss->bench_tc_dst_mask = 0xfffff;
}

/*
 * Every case with the flow table holding `flows` flows of clients
 * 10.0.0.0 + i. `fresh` is a /12 no client of the table uses, for the
 * flows created and ended here.
 */
static void flows_level(struct fbench *b, uint32_t flows, uint32_t fresh)
{
	const uint32_t known = ip4("10.0.0.5");
	int xdp = bpf_program__fd(b->eg->progs.edgeguard_xdp);
	int tc = bpf_program__fd(b->eg->progs.edgeguard_tc_egress);
	int xrot = bpf_program__fd(b->base->progs.rotate_src);
	int trot = bpf_program__fd(b->base->progs.tc_rotate_dst);
	uint8_t syn[FRAME_MAX], usyn[FRAME_MAX], fin[FRAME_MAX], sack[FRAME_MAX];
	uint8_t ack_t[FRAME_MAX], ack_u[FRAME_MAX], fin_u[FRAME_MAX], sfin[FRAME_MAX];
	uint8_t cfin[FRAME_MAX];
	size_t lsyn, lusyn, lfin, lsack, lack_t, lack_u, lfin_u, lsfin, lcfin;
	char n[72];
	int plain, row;
	struct eg_flow_key fk;
	struct eg_flow fv;
	struct eg_source_key ok;
	uint64_t c0, c1;

	/* client -> server (XDP) */
	lsyn = flow_frame("10.0.0.5", FLOW_SERVER, FLOW_CPORT, FLOW_PORT, TH_SYN, syn);
	lusyn = flow_frame("198.18.0.10", FLOW_SERVER, FLOW_CPORT, FLOW_PORT, TH_SYN, usyn);
	lfin = flow_frame("10.0.0.5", FLOW_SERVER, FLOW_CPORT + 1, FLOW_PORT, TH_FIN | TH_ACK, fin);
	lcfin = flow_frame("10.0.0.5", FLOW_SERVER, FLOW_CPORT, FLOW_PORT, TH_FIN | TH_ACK, cfin);
	/* server -> client (TC egress) */
	lack_t = flow_frame(FLOW_SERVER, "10.0.0.5", FLOW_PORT, FLOW_CPORT, TH_ACK, ack_t);
	lack_u = flow_frame(FLOW_SERVER, "198.18.0.10", FLOW_PORT, FLOW_CPORT, TH_ACK, ack_u);
	lfin_u = flow_frame(FLOW_SERVER, "198.18.0.10", FLOW_PORT, FLOW_CPORT, TH_FIN | TH_ACK,
			    fin_u);
	lsack = flow_frame(FLOW_SERVER, "10.0.0.5", FLOW_PORT, FLOW_CPORT, TH_SYN | TH_ACK, sack);
	lsfin = flow_frame(FLOW_SERVER, "10.0.0.5", FLOW_PORT, FLOW_CPORT, TH_FIN | TH_ACK, sfin);

	printf("\n  -- flow table holding %u flows (of %u)\n", flows, FLOW_TABLE);
#define LBL(fmt) (snprintf(n, sizeof(n), fmt " @%uk", flows / 1000), n)
	flows_policy(&b->m, 0, 0);
	plain = flows_case(b, LBL("X1 SYN, known source, rates only"), xdp, syn, lsyn, FLOW_REPEAT,
			   false, false, -1, XDP_PASS, EG_R_PASSED, -1);
	flows_case(b, LBL("X2 FIN, untracked flow (lookup miss)"), xdp, fin, lfin, FLOW_REPEAT, false,
		   false, plain, XDP_PASS, EG_R_PASSED, -1);
	flows_policy(&b->m, 1000, 0);
	flows_case(b, LBL("X3 SYN, + max_conns (eg_conns lookup)"), xdp, syn, lsyn, FLOW_REPEAT,
		   false, false, plain, XDP_PASS, EG_R_PASSED, -1);
	flows_policy(&b->m, 0, 100000000);
	verify(&b->m, known);
	flows_case(b, LBL("X4 SYN, + budget, verified source"), xdp, syn, lsyn, FLOW_REPEAT, false,
		   false, plain, XDP_PASS, EG_R_PASSED, -1);
	flows_case(b, LBL("X5 SYN, + budget, unverified known source"), xdp, usyn, lusyn, FLOW_REPEAT,
		   false, false, plain, XDP_PASS, EG_R_PASSED, -1);
	flows_policy(&b->m, 1000, 100000000);
	flows_case(b, LBL("X6 SYN, + max_conns + budget, verified"), xdp, syn, lsyn, FLOW_REPEAT,
		   false, false, plain, XDP_PASS, EG_R_PASSED, -1);

	/* TC egress, under the policy with both features (SYN-ACKs are tracked). */
	flow_key(&fk, known, FLOW_CPORT);
	if (bpf_map_lookup_elem(b->m.flows, &fk, &fv))
		die("flow", "the tracked flow is missing");
	fv.last_seen_ns = 0;
	if (bpf_map_update_elem(b->m.flows, &fk, &fv, BPF_EXIST))
		die("flow", strerror(errno));
	row = flows_case(b, LBL("T1 ACK, tracked flow (lookup + last_seen)"), tc, ack_t, lack_t,
			 FLOW_REPEAT, true, false, -1, TC_OK, -1, -1);
	mark(row, !bpf_map_lookup_elem(b->m.flows, &fk, &fv) && fv.last_seen_ns,
	     "LAST_SEEN NOT REFRESHED");
	flows_case(b, LBL("T2 ACK, untracked flow (lookup miss)"), tc, ack_u, lack_u, FLOW_REPEAT,
		   true, false, -1, TC_OK, -1, -1);
	flows_case(b, LBL("T3 FIN, untracked flow (lookup miss)"), tc, fin_u, lfin_u, FLOW_REPEAT,
		   true, false, -1, TC_OK, -1, -1);
	owner_key(&ok, known);
	/* The LRU may have evicted the count while filling; then it is 0 both times. */
	if (bpf_map_lookup_elem(b->m.conns, &ok, &c0))
		c0 = 0;
	row = flows_case(b, LBL("T4 SYN-ACK retransmitted, tracked flow"), tc, sack, lsack, FLOW_REPEAT,
			 true, false, -1, TC_OK, -1, -1);
	if (bpf_map_lookup_elem(b->m.conns, &ok, &c1))
		c1 = 0;
	mark(row, c1 == c0 && !bpf_map_lookup_elem(b->m.flows, &fk, &fv),
	     "CONNECTION COUNT MOVED");

	/*
	 * New flows from new clients, then FINs that end exactly these flows:
	 * the first half from the client through XDP, the rest from the server
	 * through TC. These flows were made by the datapath, so each has an
	 * armed idle timer that its deletion cancels.
	 */
	set_tc_rotate(b, tc, fresh, 0);
	flows_case(b, LBL("T5 SYN-ACK, new flow (new client) each pkt"), trot, sack, lsack,
		   FLOW_REPEAT_NEW, true, true, -1, TC_OK, -1, EG_R_FLOW_OPENED);
	add_sources(&b->m, fresh, RUNS * FLOW_REPEAT_END);
	set_xdp_rotate(b, xdp, fresh, 0);
	flows_case(b, LBL("X7 FIN, tracked flow, known source (ends it)"), xrot, cfin, lcfin,
		   FLOW_REPEAT_END, false, true, -1, XDP_PASS, EG_R_PASSED, EG_R_FLOW_CLOSED);
	set_tc_rotate(b, tc, fresh, RUNS * FLOW_REPEAT_END);
	flows_case(b, LBL("T6 FIN, tracked flow (ends it)"), trot, sfin, lsfin, FLOW_REPEAT_END,
		   true, true, -1, TC_OK, -1, EG_R_FLOW_CLOSED);
#undef LBL
}

static double fnet(int i)
{
	double w = 0;

	if (frows[i].wrapped)
		w = frows[i].tc ? frows[frow_twrap].med - frows[frow_tbare].med
				: frows[frow_xwrap].med - frows[frow_xbare].med;
	return frows[i].med - w;
}

static void flows_table(void)
{
	printf("\nns/pkt: median of %d bpf_prog_test_run calls (min also shown), %u repetitions\n"
	       "each (%u for T5, %u for X7/T6: the flows they create or end are finite).\n"
	       "X rows: XDP (edgeguard_xdp), ratios to the XDP baselines; T rows: TC egress\n"
	       "(edgeguard_tc_egress, SCHED_CLS test_run on an skb), ratios to the TC\n"
	       "baselines. Wrapped rows (w) ran through rotate_src / tc_rotate_dst; 'net'\n"
	       "subtracts the wrapper's own cost (wrapper -> bare - bare): XDP %.0f ns, TC %.0f ns.\n"
	       "'+ns' is net minus the net of the row it adds to (X1 of the same table).\n\n",
	       RUNS, FLOW_REPEAT, FLOW_REPEAT_NEW, FLOW_REPEAT_END,
	       frows[frow_xwrap].med - frows[frow_xbare].med,
	       frows[frow_twrap].med - frows[frow_tbare].med);
	printf("%-60s %7s %7s %7s %7s %8s %7s  %s\n", "case", "ns/pkt", "min", "net", "+ns",
	       "x parse", "x bare", "check");
	for (int i = 0; i < nfrows; i++) {
		double net = fnet(i);
		double pb = frows[frows[i].tc ? frow_tparse : frow_xparse].med;
		double bb = frows[frows[i].tc ? frow_tbare : frow_xbare].med;
		char plus[16] = "";

		if (frows[i].ref >= 0)
			snprintf(plus, sizeof(plus), "%+.0f", net - fnet(frows[i].ref));
		printf("%-58s%s %7.0f %7.0f %7.0f %7s %8.2f %7.2f  %s\n", frows[i].name,
		       frows[i].wrapped ? " w" : "  ", frows[i].med, frows[i].min, net, plus,
		       net / pb, bb > 0 ? net / bb : 0, frows[i].check);
	}
	printf("\nA FIN ends its flow on the first repetition, so repeating one frame times a\n"
	       "lookup miss after that: X2/T3 are the FIN of an untracked flow on purpose,\n"
	       "and X7/T6 end distinct flows T5 created (one per repetition, through the\n"
	       "wrappers). T5 opens a flow every repetition; in such a burst the kernel\n"
	       "often cannot allocate the flow's idle timer (counted flow_untimed: the flow\n"
	       "stays tracked and a sweep ends it once idle), so X7/T6 end a mix of flows\n"
	       "with and without an armed timer; deleting an armed one also cancels it.\n");
}

static void flows_memrow(const char *what, int fd, uint32_t max_entries, uint32_t used)
{
	long long ml = fd_memlock(fd);

	printf("  %-34s %10u %10u %12lld B %8.2f MiB %8.1f B\n", what, max_entries, used, ml,
	       ml / 1048576.0, (double)ml / max_entries);
}

static void part_flows(void)
{
	struct fbench b = {};
	struct eg_sizes sz = { .max_flows = FLOW_TABLE };
	struct eg_sizes small = { .max_flows = 100000, .max_sources = 100000,
				  .max_verified = 100000 };
	struct edgeguard_bpf *eg2;
	struct eg_maps m2;
	struct eg_err e = {};
	uint8_t syn[FRAME_MAX], sack[FRAME_MAX];
	size_t lsyn, lsack;
	long long flows_empty;

	printf("\n== part 4: flow tracking (issue 4): XDP with max_conns / new_source_budget and\n"
	       "   TC egress, with the flow table at 100k and 1M flows; memory per flow\n");
	b.base = baselines_bpf__open_and_load();
	if (!b.base)
		die("bench_baselines", strerror(errno));
	b.eg = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);
	if (!b.eg)
		die("eg_datapath_open_load", e.msg);
	eg_maps_from_skel(b.eg, &b.m);
	flows_empty = fd_memlock(b.m.flows);

	lsyn = flow_frame("10.0.0.5", FLOW_SERVER, FLOW_CPORT, FLOW_PORT, TH_SYN, syn);
	lsack = flow_frame(FLOW_SERVER, "10.0.0.5", FLOW_PORT, FLOW_CPORT, TH_SYN | TH_ACK, sack);
	frow_xbare = flows_case(&b, "B1 XDP bare XDP_DROP", bpf_program__fd(b.base->progs.bare_drop),
				syn, lsyn, FLOW_REPEAT, false, false, -1, XDP_DROP, -1, -1);
	frow_xparse = flows_case(&b, "B2 XDP parse-only", bpf_program__fd(b.base->progs.parse_only),
				 syn, lsyn, FLOW_REPEAT, false, false, -1, XDP_DROP, -1, -1);
	set_xdp_rotate(&b, bpf_program__fd(b.base->progs.bare_drop), 0x0b000000u, 0);
	frow_xwrap = flows_case(&b, "B3 XDP wrapper -> bare XDP_DROP",
				bpf_program__fd(b.base->progs.rotate_src), syn, lsyn, FLOW_REPEAT, false,
				true, -1, XDP_DROP, -1, -1);
	frow_tbare = flows_case(&b, "B4 TC bare TC_ACT_OK", bpf_program__fd(b.base->progs.tc_bare),
				sack, lsack, FLOW_REPEAT, true, false, -1, TC_OK, -1, -1);
	frow_tparse = flows_case(&b, "B5 TC parse-only",
				 bpf_program__fd(b.base->progs.tc_parse_only), sack, lsack, FLOW_REPEAT,
				 true, false, -1, TC_OK, -1, -1);
	set_tc_rotate(&b, bpf_program__fd(b.base->progs.tc_bare), 0x0b000000u, 0);
	frow_twrap = flows_case(&b, "B6 TC wrapper -> bare TC_ACT_OK",
				bpf_program__fd(b.base->progs.tc_rotate_dst), sack, lsack, FLOW_REPEAT,
				true, true, -1, TC_OK, -1, -1);

	fill_flows(&b.m, 0x0a000000u, 0, 100000);
	printf("  (flow table filled: %llu flows)\n",
	       (unsigned long long)count_entries(b.m.flows, sizeof(struct eg_flow_key),
						 sizeof(struct eg_flow)));
	flows_level(&b, 100000, 0x0c000000u);
	fill_flows(&b.m, 0x0a000000u, 100000, 1000000);
	printf("  (flow table filled: %llu flows)\n",
	       (unsigned long long)count_entries(b.m.flows, sizeof(struct eg_flow_key),
						 sizeof(struct eg_flow)));
	flows_level(&b, 1000000, 0x0d000000u);

	/* Drop the prog arrays' references before the datapath goes. */
	set_xdp_rotate(&b, bpf_program__fd(b.base->progs.bare_drop), 0, 0);
	set_tc_rotate(&b, bpf_program__fd(b.base->progs.tc_bare), 0, 0);
	flows_table();

	printf("\n  Memory (memlock from /proc/self/fdinfo; 'per entry' = memlock / max_entries):\n"
	       "  %-34s %10s %10s %14s %12s %10s\n", "map", "max_ent", "entries", "memlock", "",
	       "per entry");
	printf("  %-34s %10u %10u %12lld B %8.2f MiB %8.1f B\n", "eg_flows (1<<20), empty",
	       FLOW_TABLE, 0, flows_empty, flows_empty / 1048576.0, (double)flows_empty / FLOW_TABLE);
	flows_memrow("eg_flows (1<<20), 1M flows", b.m.flows, FLOW_TABLE, 1000000);
	flows_memrow("eg_conns (= max_flows)", b.m.conns,
		     bpf_map__max_entries(b.eg->maps.eg_conns), 0);
	flows_memrow("eg_verified (default)", b.m.verified,
		     bpf_map__max_entries(b.eg->maps.eg_verified), 0);
	edgeguard_bpf__destroy(b.eg);
	baselines_bpf__destroy(b.base);

	eg2 = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &small }, &e);
	if (!eg2)
		die("eg_datapath_open_load", e.msg);
	eg_maps_from_skel(eg2, &m2);
	flows_memrow("eg_flows sized for 100k flows", m2.flows, small.max_flows, 0);
	flows_memrow("eg_conns sized 100k", m2.conns, small.max_sources, 0);
	flows_memrow("eg_verified sized 100k", m2.verified, small.max_verified, 0);
	edgeguard_bpf__destroy(eg2);
	printf("\n  All three are preallocated hashes (HASH / LRU_HASH without\n"
	       "  BPF_F_NO_PREALLOC): memlock is paid at load for max_entries, whether the\n"
	       "  table holds 0 or 1M flows. Not in memlock: the idle timer a datapath-created\n"
	       "  flow arms (bpf_timer_init allocates its hrtimer state separately, per flow).\n");
}

/* ------------------------------------------------------ part 5: top cost */

#include "top.h"

#define TOP_SOURCES (1U << 20)
#define TOP_SNAPSHOTS 5

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Adds `step` packets (a tenth of them drops, every other source SYNs) to all n sources. */
static void top_fill(const struct eg_maps *m, uint32_t n, uint64_t step)
{
	const uint32_t chunk = 65536;
	struct eg_source_key *keys = calloc(chunk, sizeof(*keys));
	struct eg_source *vals = calloc(chunk, sizeof(*vals));

	if (!keys || !vals)
		die("top fill", "out of memory");
	for (uint32_t at = 0; at < n; at += chunk) {
		uint32_t cnt = n - at < chunk ? n - at : chunk;

		for (uint32_t i = 0; i < cnt; i++) {
			uint64_t pk = (uint64_t)((at + i) % 1000) * step;

			/* 0x0b000000 + 24-bit spread: 1M distinct sources, in LRU hash order. */
			v4_addr(0x0b000000u + spread24(at + i), &keys[i].addr);
			keys[i].policy = (at + i) % 4;
			vals[i].packets = pk;
			vals[i].drops = pk / 10;
			vals[i].syns = (at + i) % 2 ? pk : 0;
		}
		if (bpf_map_update_batch(m->sources, keys, vals, &cnt, NULL))
			die("top fill", strerror(errno));
	}
	free(keys);
	free(vals);
}

static long vm_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * What one `edgeguard top` refresh costs with a full 1M-source table: the
 * snapshot code the command runs (user/report/top.c), on maps of a freshly loaded
 * datapath (nothing attached, nothing pinned). The first snapshot also
 * builds the previous-totals table; the following ones are the steady state
 * of a refreshing screen, with every source's totals changed in between.
 * Run alone with `bench top`; a run with no argument includes it.
 */
static bool part_top(int argc, char **argv)
{
	bool alone = argc == 2 && !strcmp(argv[1], "top");
	static struct eg_top_row rows[20];
	const enum eg_top_sort sorts[] = { EG_TOP_SORT_DROPS, EG_TOP_SORT_RATE, EG_TOP_SORT_CONNS };
	struct eg_sizes sz = { .max_sources = TOP_SOURCES };
	struct eg_top_totals tot;
	struct edgeguard_bpf *eg;
	struct eg_maps m;
	struct eg_top t;
	struct eg_err e = {};
	long hwm0;

	if (argc >= 2 && !alone)
		return false;
	if (geteuid())
		die("bench", "needs root (loads BPF programs)");
	libbpf_set_print(NULL);
	eg = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);
	if (!eg)
		die("eg_datapath_open_load", e.msg);
	eg_maps_from_skel(eg, &m);
	top_fill(&m, TOP_SOURCES, 1);
	if (eg_top_init(&t, &e))
		die("top", e.msg);
	hwm0 = vm_hwm_kb();
	printf("\n== top: one snapshot of %u tracked sources, top %zu rows\n", TOP_SOURCES,
	       sizeof(rows) / sizeof(rows[0]));
	printf("%-8s %-10s %10s %12s %10s %8s\n", "sort", "snapshot", "ms", "MB read", "syscalls",
	       "rows");
	for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
		for (int i = 0; i < TOP_SNAPSHOTS; i++) {
			double t0, ms;
			int n;

			top_fill(&m, TOP_SOURCES, (uint64_t)i + 2);
			t0 = mono_ms();
			n = eg_top_snapshot(&t, &m, sorts[s], sizeof(rows) / sizeof(rows[0]), rows,
					    &tot, &e);
			ms = mono_ms() - t0;
			if (n < 0)
				die("top snapshot", e.msg);
			printf("%-8s %-10s %10.1f %12.1f %10llu %8d\n", eg_top_sort_name(sorts[s]),
			       i ? "steady" : (s ? "sort" : "first"), ms, t.bytes_read / 1e6,
			       (unsigned long long)t.syscalls, n);
		}
	}
	printf("sources read: %llu; previous-totals table: %zu slots (%zu MB); peak RSS grew by %ld MB\n",
	       (unsigned long long)tot.sources, t.prev_cap, t.prev_cap * 24 / 1000000,
	       (vm_hwm_kb() - hwm0) / 1024);
	eg_top_free(&t);
	edgeguard_bpf__destroy(eg);
	return alone;
}

int main(int argc, char **argv)
{
	bool testrun = argc < 2, mem = argc < 2;
	bool flows = argc < 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (part_top(argc, argv))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "testrun"))
			testrun = true;
		else if (!strcmp(argv[i], "mem"))
			mem = testrun = true;
		else if (!strcmp(argv[i], "flows"))
			flows = true;
		else
			die("usage", "bench [testrun] [mem] [flows]");
	}
	if (geteuid())
		die("bench", "needs root (loads BPF programs, creates namespaces)");
	libbpf_set_print(NULL);
	if (testrun)
		part_testrun(mem);
	if (flows)
		part_flows();
	return 0;
}


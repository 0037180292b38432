// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench-bulk (also run by make bench): 100k bans from a ban file into a
 * ban map sized for them (limits.max_bans 131072), the way
 * `edgeguard ban --from-file` does it: parse (user/import/listfile.c), then
 * eg_bulk_apply (user/policy/bulk.c, batched map updates). Prints the time
 * of each step, median of RUNS on fresh maps; the target is < 0.5 s
 * for the apply. Figures only: no test asserts a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bulk.h"
#include "datapath.h"
#include "edgeguard.skel.h"
#include "listfile.h"

#define NBANS 100000
#define MAP_SIZE 131072
#define RUNS 5

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench-bulk: %s: %s\n", what, why);
	exit(1);
}

/* NBANS distinct hosts, every third with a TTL and a reason, every tenth IPv6. */
static char *make_file(size_t *len)
{
	size_t cap = (size_t)NBANS * 64, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		die("file", "out of memory");
	n += (size_t)snprintf(buf + n, cap - n, "# %d bans, generated\n", NBANS);
	for (unsigned int i = 0; i < NBANS; i++) {
		if (i % 10 == 9)
			n += (size_t)snprintf(buf + n, cap - n, "2001:db8:%x::%x", i >> 16, i & 0xffff);
		else
			n += (size_t)snprintf(buf + n, cap - n, "10.%u.%u.%u", (i >> 16) & 255,
					      (i >> 8) & 255, i & 255);
		if (i % 3 == 0)
			n += (size_t)snprintf(buf + n, cap - n, " 4h scanner %u", i);
		buf[n++] = '\n';
	}
	*len = n;
	return buf;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(void)
{
	struct eg_sizes sz = { .max_sources = 1024, .max_bans = MAP_SIZE };
	double parse[RUNS], add[RUNS], extend[RUNS], unban[RUNS], t;
	struct eg_bulk_item *items = calloc(NBANS, sizeof(*items));
	struct eg_bulk_result r;
	struct eg_list_file f;
	struct eg_err e = { 0 };
	size_t len, n;
	char *text = make_file(&len);

	if (geteuid())
		die("bench", "needs root (loads the datapath)");
	libbpf_set_print(NULL);
	if (!items)
		die("items", "out of memory");
	for (int run = 0; run < RUNS; run++) {
		struct edgeguard_bpf *skel =
			eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);
		struct eg_maps m;

		if (!skel)
			die("load", e.msg);
		eg_maps_from_skel(skel, &m);
		t = now_s();
		if (eg_list_file_parse(text, len, false, &f, &e))
			die("parse", e.msg);
		parse[run] = now_s() - t;
		if (f.n != NBANS || f.nrejects)
			die("parse", "wrong number of lines");
		for (size_t i = 0; i < f.n; i++)
			items[i] = (struct eg_bulk_item){ .key = f.lines[i].key,
							  .ttl_s = f.lines[i].has_ttl ? f.lines[i].ttl_s : 600,
							  .reason = f.lines[i].reason };
		n = f.n;
		t = now_s();
		if (eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_IMPORT, items, &n, &r, &e))
			die("apply", e.msg);
		add[run] = now_s() - t;
		if (r.added != NBANS)
			die("apply", "not every ban was added");
		for (size_t i = 0; i < n; i++)
			items[i].ttl_s = 0; /* permanent: every ban is extended */
		t = now_s();
		if (eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_IMPORT, items, &n, &r, &e))
			die("extend", e.msg);
		extend[run] = now_s() - t;
		if (r.extended != NBANS)
			die("extend", "not every ban was extended");
		t = now_s();
		if (eg_bulk_apply(&m, EG_BULK_UNBAN, EG_BULK_ANY_ORIGIN, items, &n, &r, &e))
			die("unban", e.msg);
		unban[run] = now_s() - t;
		if (r.removed != NBANS)
			die("unban", "not every ban was removed");
		eg_list_file_free(&f);
		edgeguard_bpf__destroy(skel);
	}
	printf("== bulk bans: %d bans (90%% IPv4 hosts, 10%% IPv6, a third with TTL and reason)\n"
	       "   into a ban map of %d (limits.max_bans); median of %d runs on fresh maps\n",
	       NBANS, MAP_SIZE, RUNS);
	printf("  %-44s %8.3f s\n", "parse the file (listfile.c)", median(parse, RUNS));
	printf("  %-44s %8.3f s   (target < 0.5 s)\n", "apply: 100k added (batched)", median(add, RUNS));
	printf("  %-44s %8.3f s\n", "apply again, permanent: 100k extended", median(extend, RUNS));
	printf("  %-44s %8.3f s\n", "unban all 100k", median(unban, RUNS));
	free(items);
	free(text);
	return 0;
}

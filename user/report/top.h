/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `edgeguard top`: the sources with the most SYNs, drops, packets or
 * connections, from one pass over the source table. Kept in the library so
 * the benchmark times exactly what the command runs.
 *
 * Cost with n tracked sources and N rows: the table is read in batches of
 * EG_TOP_BATCH entries (n / EG_TOP_BATCH syscalls), the top N kept in a
 * bounded heap (O(n log N)), and the previous totals of every source kept in
 * an open-addressing table of 24-byte slots (about 48 MB at 1M sources) so
 * rates are exact for every row and `--sort rate` sees every source.
 */
#ifndef EG_TOP_H
#define EG_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "maps.h"

#define EG_TOP_BATCH 8192U
#define EG_TOP_MAX_ROWS 10000U

enum eg_top_sort {
	EG_TOP_SORT_SYNS,
	EG_TOP_SORT_DROPS,
	EG_TOP_SORT_PKTS,
	EG_TOP_SORT_CONNS,
	EG_TOP_SORT_RATE, /* packets per second */
};

enum eg_top_ban {
	EG_TOP_BAN_NONE,
	EG_TOP_BAN_TTL,  /* the source's own ban, expiring */
	EG_TOP_BAN_PERM, /* the source's own ban, permanent */
	EG_TOP_BAN_CIDR, /* inside a wider CIDR ban */
};

struct eg_top_row {
	struct eg_source_key key;
	uint64_t packets, syns, drops; /* totals since the source entry was made */
	uint64_t conns;                /* established flows now */
	double pkt_rate, syn_rate, drop_rate; /* per second, when have_rate */
	bool have_rate;
	enum eg_top_ban ban;
	uint64_t ban_left_s; /* EG_TOP_BAN_TTL only */
	double score;        /* what the rows are ordered by */
};

struct eg_top_totals {
	uint64_t counters[EG_R_MAX];
	bool have_rate;      /* false on the first snapshot */
	double interval_s;   /* between this snapshot and the previous one */
	double pps;          /* all verdicts together */
	double drops_ps;     /* all dropping verdicts together */
	double reason_ps[EG_R_MAX];
	uint64_t sources;    /* entries read from the source table */
	uint64_t bans;       /* exact and CIDR ban entries */
	uint32_t v6_prefix;
};

struct eg_top_prev;

/* State kept between snapshots: previous totals and counters, read buffers. */
struct eg_top {
	struct eg_top_prev *prev;
	size_t prev_cap, prev_used;
	uint32_t gen;
	bool have_prev;
	uint64_t prev_ns;
	uint64_t prev_counters[EG_R_MAX];
	void *keys, *vals;
	/* Cost of the last snapshot, for the benchmark. */
	uint64_t bytes_read;
	uint64_t syscalls;
};

int eg_top_init(struct eg_top *t, struct eg_err *e);
void eg_top_free(struct eg_top *t);

/* "syns", "drops", "pkts", "conns", "rate". */
int eg_top_parse_sort(const char *s, enum eg_top_sort *out);
const char *eg_top_sort_name(enum eg_top_sort s);


/*
 * Reads the maps once; fills rows[0..return) with the top n sources by sort,
 * best first, and tot. Rates are relative to the previous snapshot on t.
 * Returns the number of rows, or -1 with e set.
 */
int eg_top_snapshot(struct eg_top *t, const struct eg_maps *m, enum eg_top_sort sort,
		    unsigned int n, struct eg_top_row *rows, struct eg_top_totals *tot,
		    struct eg_err *e);

#endif

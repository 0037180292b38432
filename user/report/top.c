// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The top sources, from one batched pass over the source table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "lists.h"
#include "top.h"

#define NS_PER_S 1000000000ULL
#define PREV_MIN_CAP 1024U

/*
 * Previous totals of one source, under a 64-bit hash of its key: at a few
 * million sources a collision is a one-in-a-billion event and only skews one
 * rate, so the 20-byte key is not worth storing. Totals keep their low 32
 * bits: a delta over one interval never needs more.
 */
struct eg_top_prev {
	uint64_t h; /* 0 = empty slot */
	uint32_t packets, syns, drops;
	uint32_t gen; /* snapshot that last saw the source */
};

static const char *const sort_names[] = {
	[EG_TOP_SORT_SYNS] = "syns",
	[EG_TOP_SORT_DROPS] = "drops",
	[EG_TOP_SORT_PKTS] = "pkts",
	[EG_TOP_SORT_CONNS] = "conns",
	[EG_TOP_SORT_RATE] = "rate",
};

int eg_top_parse_sort(const char *s, enum eg_top_sort *out)
{
	for (unsigned int i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++) {
		if (s && !strcmp(s, sort_names[i])) {
			*out = (enum eg_top_sort)i;
			return 0;
		}
	}
	return -1;
}

const char *eg_top_sort_name(enum eg_top_sort s)
{
	return (unsigned int)s < sizeof(sort_names) / sizeof(sort_names[0]) ? sort_names[s] : "?";
}

int eg_top_init(struct eg_top *t, struct eg_err *e)
{
	memset(t, 0, sizeof(*t));
	t->keys = calloc(EG_TOP_BATCH, sizeof(struct eg_source_key));
	t->vals = calloc(EG_TOP_BATCH, sizeof(struct eg_source));
	if (!t->keys || !t->vals) {
		eg_top_free(t);
		return eg_fail(e, "out of memory");
	}
	return 0;
}

void eg_top_free(struct eg_top *t)
{
	free(t->prev);
	free(t->keys);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

static uint64_t key_hash(const struct eg_source_key *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	/* FNV alone spreads the low bits poorly for near-identical keys. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* ------------------------------------------------------ previous totals */

static struct eg_top_prev *prev_slot(struct eg_top_prev *tab, size_t cap, uint64_t h)
{
	size_t i = h & (cap - 1);

	while (tab[i].h && tab[i].h != h)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Moves the entries of generation >= min_gen into a table of new_cap slots. */
static int prev_rehash(struct eg_top *t, size_t new_cap, uint32_t min_gen)
{
	struct eg_top_prev *tab = calloc(new_cap, sizeof(*tab));
	size_t used = 0;

	if (!tab)
		return -1;
	for (size_t i = 0; i < t->prev_cap; i++) {
		if (!t->prev[i].h || t->prev[i].gen < min_gen)
			continue;
		*prev_slot(tab, new_cap, t->prev[i].h) = t->prev[i];
		used++;
	}
	free(t->prev);
	t->prev = tab;
	t->prev_cap = new_cap;
	t->prev_used = used;
	return 0;
}

/* The slot for h, made if absent; NULL when out of memory. */
static struct eg_top_prev *prev_get(struct eg_top *t, uint64_t h, bool *fresh)
{
	struct eg_top_prev *s;

	if ((t->prev_used + 1) * 4 > t->prev_cap * 3 &&
	    prev_rehash(t, t->prev_cap ? t->prev_cap * 2 : PREV_MIN_CAP, 0))
		return NULL;
	s = prev_slot(t->prev, t->prev_cap, h);
	*fresh = !s->h;
	if (*fresh) {
		s->h = h;
		t->prev_used++;
	}
	return s;
}

/* Since the last snapshot; a total below the old one means the entry was remade. */
static uint64_t delta32(uint64_t now, uint32_t before)
{
	uint32_t d = (uint32_t)now - before;

	return d > now ? now : d;
}

/* ------------------------------------------------------------ the heap */

struct heap {
	struct eg_top_row *rows;
	unsigned int n, cap;
};

/* Ties go to the lower key, so equal scores come out in a stable order. */
static bool worse(const struct eg_top_row *a, const struct eg_top_row *b)
{
	if (a->score != b->score)
		return a->score < b->score;
	return memcmp(&a->key, &b->key, sizeof(a->key)) > 0;
}

static void sift_down(struct heap *hp, unsigned int i)
{
	for (;;) {
		unsigned int l = 2 * i + 1, r = l + 1, m = i;
		struct eg_top_row tmp;

		if (l < hp->n && worse(&hp->rows[l], &hp->rows[m]))
			m = l;
		if (r < hp->n && worse(&hp->rows[r], &hp->rows[m]))
			m = r;
		if (m == i)
			return;
		tmp = hp->rows[i];
		hp->rows[i] = hp->rows[m];
		hp->rows[m] = tmp;
		i = m;
	}
}

static void sift_up(struct heap *hp, unsigned int i)
{
	while (i) {
		unsigned int p = (i - 1) / 2;
		struct eg_top_row tmp;

		if (!worse(&hp->rows[i], &hp->rows[p]))
			return;
		tmp = hp->rows[i];
		hp->rows[i] = hp->rows[p];
		hp->rows[p] = tmp;
		i = p;
	}
}

/* Keeps r if it is among the best cap rows seen so far. */
static void heap_offer(struct heap *hp, const struct eg_top_row *r)
{
	if (!hp->cap)
		return;
	if (hp->n < hp->cap) {
		hp->rows[hp->n] = *r;
		sift_up(hp, hp->n++);
	} else if (worse(&hp->rows[0], r)) {
		hp->rows[0] = *r;
		sift_down(hp, 0);
	}
}

static int best_first(const void *a, const void *b)
{
	const struct eg_top_row *x = a, *y = b;

	return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

/* ------------------------------------------------------- map reading */

typedef void (*entry_cb)(void *ctx, const void *key, const void *val);

/*
 * Every entry of a hash map, EG_TOP_BATCH at a time; entry by entry when the
 * kernel has no batch operations for the map.
 */
static int scan_map(struct eg_top *t, int fd, size_t ksz, size_t vsz, entry_cb cb, void *ctx,
		    struct eg_err *e)
{
	uint8_t *keys = t->keys, *vals = t->vals;
	uint32_t token = 0, cnt;
	bool first = true;
	int err;

	do {
		cnt = EG_TOP_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &cnt, NULL);
		t->syscalls++;
		if (err && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP))
				goto one_by_one;
			return eg_fail_errno(e, errno, "cannot read map");
		}
		for (uint32_t i = 0; i < cnt; i++)
			cb(ctx, keys + i * ksz, vals + i * vsz);
		t->bytes_read += (uint64_t)cnt * (ksz + vsz);
		first = false;
	} while (!err);
	return 0;

one_by_one:
	/* keys has room for two keys: the cursor and the next one. */
	if (bpf_map_get_next_key(fd, NULL, keys + ksz))
		return 0;
	do {
		memcpy(keys, keys + ksz, ksz);
		t->syscalls += 2;
		if (bpf_map_lookup_elem(fd, keys, vals) == 0) {
			cb(ctx, keys, vals);
			t->bytes_read += ksz + vsz;
		}
	} while (bpf_map_get_next_key(fd, keys, keys + ksz) == 0);
	return 0;
}

/* Rows picked by connection count, found again by key while sources are read. */
struct pick_index {
	int *slot; /* row index + 1; 0 = empty */
	size_t cap;
};

struct scan_ctx {
	struct eg_top *t;
	struct heap heap;
	enum eg_top_sort sort;
	double dt;           /* seconds since the previous snapshot; 0 = none */
	struct pick_index picks;
	uint64_t entries;
	bool oom;
};

static int *pick_find(struct pick_index *p, const struct eg_top_row *rows,
		      const struct eg_source_key *k, uint64_t h)
{
	size_t i = h & (p->cap - 1);

	while (p->slot[i] && memcmp(&rows[p->slot[i] - 1].key, k, sizeof(*k)))
		i = (i + 1) & (p->cap - 1);
	return &p->slot[i];
}

static double score_of(const struct eg_top_row *r, enum eg_top_sort sort)
{
	switch (sort) {
	case EG_TOP_SORT_SYNS:
		return (double)r->syns;
	case EG_TOP_SORT_PKTS:
		return (double)r->packets;
	case EG_TOP_SORT_CONNS:
		return (double)r->conns;
	case EG_TOP_SORT_RATE:
		return r->pkt_rate;
	case EG_TOP_SORT_DROPS:
	default:
		return (double)r->drops;
	}
}

static void on_source(void *ctx, const void *key, const void *val)
{
	struct scan_ctx *c = ctx;
	const struct eg_source *s = val;
	struct eg_top_row r = { .key = *(const struct eg_source_key *)key };
	uint64_t h = key_hash(&r.key);
	struct eg_top_prev *p;
	bool fresh;

	c->entries++;
	r.packets = s->packets;
	r.syns = s->syns;
	r.drops = s->drops;
	p = c->oom ? NULL : prev_get(c->t, h, &fresh);
	if (!p) {
		c->oom = true;
		return;
	}
	if (c->dt > 0) {
		/* Absent last time (or seen long ago): all of it is new. */
		bool last = !fresh && p->gen + 1 == c->t->gen;

		r.have_rate = true;
		r.pkt_rate = (double)(last ? delta32(s->packets, p->packets) : s->packets) / c->dt;
		r.syn_rate = (double)(last ? delta32(s->syns, p->syns) : s->syns) / c->dt;
		r.drop_rate = (double)(last ? delta32(s->drops, p->drops) : s->drops) / c->dt;
	}
	p->packets = (uint32_t)s->packets;
	p->syns = (uint32_t)s->syns;
	p->drops = (uint32_t)s->drops;
	p->gen = c->t->gen;

	if (c->sort != EG_TOP_SORT_CONNS) {
		r.score = score_of(&r, c->sort);
		heap_offer(&c->heap, &r);
	} else {
		int *at = pick_find(&c->picks, c->heap.rows, &r.key, h);

		if (*at) {
			struct eg_top_row *dst = &c->heap.rows[*at - 1];

			r.conns = dst->conns;
			r.score = dst->score;
			*dst = r;
		}
	}
}

static void on_conns(void *ctx, const void *key, const void *val)
{
	struct scan_ctx *c = ctx;
	struct eg_top_row r = { .key = *(const struct eg_source_key *)key };

	r.conns = *(const uint64_t *)val;
	if (!r.conns)
		return;
	r.score = (double)r.conns;
	heap_offer(&c->heap, &r);
}

static int index_picks(struct scan_ctx *c)
{
	size_t cap = 16;

	while (cap < 2 * (size_t)c->heap.n)
		cap *= 2;
	c->picks.slot = calloc(cap, sizeof(int));
	if (!c->picks.slot)
		return -1;
	c->picks.cap = cap;
	for (unsigned int i = 0; i < c->heap.n; i++) {
		const struct eg_top_row *r = &c->heap.rows[i];

		*pick_find(&c->picks, c->heap.rows, &r->key, key_hash(&r->key)) = (int)i + 1;
	}
	return 0;
}

/* ------------------------------------------------------ per-row extras */

static void row_ban(struct eg_top *t, const struct eg_maps *m, struct eg_top_row *r,
		    uint32_t v6_prefix, uint64_t now)
{
	/* The source's own prefix: its host for IPv4, its aggregate for IPv6. */
	uint32_t own = EG_FAMILY_BITS + (r->key.addr.family == EG_AF_INET ? 32 : v6_prefix);
	unsigned int lookups = 0;
	struct eg_ban b;
	int hit = eg_ban_covering(m, &r->key.addr, now, &b, &lookups);

	t->syscalls += lookups;
	r->ban = EG_TOP_BAN_NONE;
	if (!hit)
		return;
	if (b.prefixlen < own) {
		r->ban = EG_TOP_BAN_CIDR;
		return;
	}
	if (!b.expires_ns) {
		r->ban = EG_TOP_BAN_PERM;
	} else {
		r->ban = EG_TOP_BAN_TTL;
		r->ban_left_s = (b.expires_ns - now + NS_PER_S - 1) / NS_PER_S;
	}
}

static void fill_totals(struct eg_top *t, struct eg_top_totals *tot, uint64_t now)
{
	tot->have_rate = t->have_prev && now > t->prev_ns;
	tot->interval_s = tot->have_rate ? (double)(now - t->prev_ns) / 1e9 : 0;
	tot->pps = tot->drops_ps = 0;
	for (unsigned int r = 0; r < EG_R_MAX; r++) {
		double ps = 0;

		if (tot->have_rate && tot->counters[r] >= t->prev_counters[r])
			ps = (double)(tot->counters[r] - t->prev_counters[r]) / tot->interval_s;
		tot->reason_ps[r] = ps;
		if (r < EG_R_VERDICTS)
			tot->pps += ps;
		if (eg_reason_drops(r))
			tot->drops_ps += ps;
	}
}

int eg_top_snapshot(struct eg_top *t, const struct eg_maps *m, enum eg_top_sort sort,
		    unsigned int n, struct eg_top_row *rows, struct eg_top_totals *tot,
		    struct eg_err *e)
{
	struct scan_ctx c = { .t = t, .sort = sort, .heap = { .rows = rows, .cap = n } };
	struct eg_config cfg = { .v6_prefix = EG_DEFAULT_V6_PREFIX };
	uint32_t zero = 0;
	uint64_t now;
	long bans;
	int rc = -1;

	t->bytes_read = t->syscalls = 0;
	memset(tot, 0, sizeof(*tot));
	if (bpf_map_lookup_elem(m->config, &zero, &cfg) || !cfg.v6_prefix)
		cfg.v6_prefix = EG_DEFAULT_V6_PREFIX;
	tot->v6_prefix = cfg.v6_prefix;
	if (eg_read_counters(m, tot->counters, e))
		return -1;
	now = eg_now_ns();
	fill_totals(t, tot, now);
	c.dt = tot->have_rate ? tot->interval_s : 0;
	t->gen++;

	if (sort == EG_TOP_SORT_CONNS) {
		if (scan_map(t, m->conns, sizeof(struct eg_source_key), sizeof(uint64_t), on_conns,
			     &c, e))
			return -1;
		if (index_picks(&c))
			return eg_fail(e, "out of memory");
	}
	if (scan_map(t, m->sources, sizeof(struct eg_source_key), sizeof(struct eg_source),
		     on_source, &c, e))
		goto out;
	if (c.oom) {
		eg_fail(e, "out of memory for the totals of %llu sources",
			(unsigned long long)c.entries);
		goto out;
	}
	/* Forget sources the table no longer holds once they are most of it. */
	if (t->prev_used > 2 * c.entries + PREV_MIN_CAP) {
		size_t cap = PREV_MIN_CAP;

		while (cap * 3 < c.entries * 4 + 4)
			cap *= 2;
		if (prev_rehash(t, cap, t->gen)) {
			eg_fail(e, "out of memory");
			goto out;
		}
	}
	for (unsigned int i = 0; i < c.heap.n; i++) {
		struct eg_top_row *r = &rows[i];

		if (sort != EG_TOP_SORT_CONNS) {
			uint64_t conns = 0;

			t->syscalls++;
			if (bpf_map_lookup_elem(m->conns, &r->key, &conns) == 0)
				r->conns = conns;
		}
		row_ban(t, m, r, cfg.v6_prefix, now);
	}
	qsort(rows, c.heap.n, sizeof(*rows), best_first);

	tot->sources = c.entries;
	bans = eg_map_count(m->ban_exact);
	tot->bans = bans > 0 ? (uint64_t)bans : 0;
	bans = eg_map_count(m->ban_cidr);
	tot->bans += bans > 0 ? (uint64_t)bans : 0;
	bans = eg_map_count(m->autoban);
	tot->bans += bans > 0 ? (uint64_t)bans : 0;

	t->have_prev = true;
	t->prev_ns = now;
	memcpy(t->prev_counters, tot->counters, sizeof(t->prev_counters));
	rc = (int)c.heap.n;
out:
	free(c.picks.slot);
	return rc;
}

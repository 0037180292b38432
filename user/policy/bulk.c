// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Many list changes at once (bulk.h). */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "bulk.h"

/* What one distinct key needs, and what was there, to undo it. */
struct plan {
	struct eg_bulk_item *it;
	bool had_ban, write, write_note;
	const struct eg_ban_note *old_note; /* in the dump of the reasons; NULL: none */
	struct eg_ban old;
	struct eg_ban ban;
};

static int cmp_items(const void *a, const void *b)
{
	return memcmp(&((const struct eg_bulk_item *)a)->key,
		      &((const struct eg_bulk_item *)b)->key, sizeof(struct eg_lpm_key));
}

/* 0 is permanent: the longest. */
static bool ttl_longer(uint32_t a, uint32_t b)
{
	return b && (!a || a > b);
}

/* Sorts items by key and keeps one per key (for bans the longest, with a reason if any had one). */
static size_t dedupe(struct eg_bulk_item *items, size_t n, size_t *dups)
{
	size_t out = 0;

	qsort(items, n, sizeof(*items), cmp_items);
	for (size_t i = 0; i < n; i++) {
		struct eg_bulk_item *last = out ? &items[out - 1] : NULL;

		if (!last || memcmp(&last->key, &items[i].key, sizeof(last->key))) {
			items[out++] = items[i];
			continue;
		}
		(*dups)++;
		if (ttl_longer(items[i].ttl_s, last->ttl_s)) {
			const char *keep = last->reason;

			*last = items[i];
			if (!last->reason || !*last->reason)
				last->reason = keep;
		} else if (!last->reason || !*last->reason) {
			last->reason = items[i].reason;
		}
	}
	return out;
}

static int ban_fd(const struct eg_maps *m, const struct eg_lpm_key *k)
{
	return eg_key_is_host(k) ? m->ban_exact : m->ban_cidr;
}

static const void *ban_key(const struct eg_lpm_key *k)
{
	return eg_key_is_host(k) ? (const void *)&k->addr : (const void *)k;
}

/*
 * A hash map read whole in batches (a syscall per few thousand entries, not
 * one per key: a syscall costs microseconds in a VM), as records of key then
 * value, sorted by key for lookups here.
 */
struct dump {
	char *recs;
	size_t n, key_size, rec_size;
};

#define DUMP_BATCH 4096U

static int cmp_key(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(size_t *)size);
}

static int dump_map(int fd, size_t key_size, size_t val_size, const char *what, struct dump *d,
		    struct eg_err *e)
{
	uint32_t cap = eg_map_capacity(fd) + DUMP_BATCH, count;
	char *keys = malloc((size_t)cap * key_size), *vals = malloc((size_t)cap * val_size);
	uint64_t token = 0;
	bool first = true;
	size_t n = 0;
	int err;

	memset(d, 0, sizeof(*d));
	d->key_size = key_size;
	d->rec_size = key_size + val_size;
	if (!keys || !vals)
		goto nomem;
	while (n + DUMP_BATCH <= cap) {
		count = DUMP_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys + n * key_size,
					   vals + n * val_size, &count, NULL);
		first = false;
		n += count;
		if (err && errno == ENOENT)
			break;
		if (err) {
			free(keys);
			free(vals);
			return eg_fail_errno(e, errno, "cannot read the %s", what);
		}
	}
	d->recs = malloc((n + 1) * d->rec_size);
	if (!d->recs)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		memcpy(d->recs + i * d->rec_size, keys + i * key_size, key_size);
		memcpy(d->recs + i * d->rec_size + key_size, vals + i * val_size, val_size);
	}
	d->n = n;
	qsort_r(d->recs, n, d->rec_size, cmp_key, &d->key_size);
	free(keys);
	free(vals);
	return 0;
nomem:
	free(keys);
	free(vals);
	return eg_fail_code(e, ENOMEM, "out of memory reading the %s", what);
}

/* The value stored under key in the dump, or NULL. */
static const void *dump_find(const struct dump *d, const void *key)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(key, d->recs + mid * d->rec_size, d->key_size);

		if (!c)
			return d->recs + mid * d->rec_size + d->key_size;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int dump_exact(const struct eg_maps *m, struct dump *d, struct eg_err *e)
{
	return dump_map(m->ban_exact, sizeof(struct eg_addr), sizeof(struct eg_ban),
			"exact ban list", d, e);
}

static int dump_notes(const struct eg_maps *m, struct dump *d, struct eg_err *e)
{
	return dump_map(m->ban_notes, sizeof(struct eg_lpm_key), sizeof(struct eg_ban_note),
			"list of ban reasons", d, e);
}

/* The operator's ban on exactly k: from the dump for a host, a lookup for a network. */
static bool find_ban(const struct eg_maps *m, const struct dump *d, const struct eg_lpm_key *k,
		     struct eg_ban *out)
{
	const void *got;

	if (!eg_key_is_host(k))
		return eg_ban_get(m, k, EG_ORIGIN_MANUAL, out) == 1;
	got = dump_find(d, &k->addr);
	if (got)
		memcpy(out, got, sizeof(*out));
	return got != NULL;
}

/*
 * Writes n elements; the batch call where the map has one, else one by one.
 * *done: how many were written before a failure.
 */
static int write_many(int fd, const void *keys, size_t key_size, const void *vals,
		      size_t val_size, size_t n, size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = (__u32)n;

	*done = 0;
	if (!n)
		return 0;
	if (!bpf_map_update_batch(fd, keys, vals, &count, &opts)) {
		*done = n;
		return 0;
	}
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
		*done = count;
		return -errno;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)vals + i * val_size, BPF_ANY))
			return -errno;
		*done = i + 1;
	}
	return 0;
}

static void fail_write(struct eg_err *e, const char *what, int err)
{
	if (err == -E2BIG || err == -ENOSPC)
		eg_fail_code(e, ENOSPC, "the %s is full (raise its size); nothing was changed", what);
	else
		eg_fail_errno(e, -err, "cannot write the %s; nothing was changed", what);
}

/* Puts back what the plans changed. */
static void undo(const struct eg_maps *m, struct plan *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct eg_lpm_key *k = &p[i].it->key;

		if (!p[i].write)
			continue;
		if (p[i].had_ban)
			bpf_map_update_elem(ban_fd(m, k), ban_key(k), &p[i].old, BPF_ANY);
		else
			bpf_map_delete_elem(ban_fd(m, k), ban_key(k));
		if (p[i].old_note)
			bpf_map_update_elem(m->ban_notes, k, p[i].old_note, BPF_ANY);
		else if (p[i].write_note)
			bpf_map_delete_elem(m->ban_notes, k);
	}
}

/* have: entries now, or -1 to count them. */
static int room(int fd, long have, size_t want, const char *what, struct eg_err *e)
{
	uint32_t cap = eg_map_capacity(fd);

	if (!want)
		return 0;
	if (have < 0)
		have = eg_map_count(fd);

	if (have < 0)
		return eg_fail_errno(e, errno, "cannot count the %s", what);
	if ((size_t)have + want <= cap)
		return 0;
	return eg_fail_code(e, ENOSPC,
			    "the %s holds %ld of %u entries: no room for %zu more (raise limits.max_bans); nothing was changed",
			    what, have, cap, want);
}

/*
 * The one key eg_list_note_insert() needs for a batch: the longest IPv6
 * prefix written if any (it alone decides whether IPv6 sources must look at
 * the lists again), else any key written.
 */
static const struct eg_lpm_key *deepest(const struct eg_lpm_key *have, const struct eg_lpm_key *k)
{
	if (!have)
		return k;
	if (k->addr.family != EG_AF_INET6)
		return have;
	if (have->addr.family != EG_AF_INET6 || k->prefixlen > have->prefixlen)
		return k;
	return have;
}

/* Writes the plans that change something: reasons first, then the bans of one map. */
static int write_bans(const struct eg_maps *m, struct plan *p, size_t n, bool exact,
		      int64_t unix_now, struct eg_err *e)
{
	size_t key_size = exact ? sizeof(struct eg_addr) : sizeof(struct eg_lpm_key), k = 0, nk = 0,
	       done;
	char *keys = malloc(n * sizeof(struct eg_lpm_key) + 1), *nkeys;
	struct eg_ban *vals = malloc(n * sizeof(*vals) + 1);
	struct eg_ban_note *notes = malloc(n * sizeof(*notes) + 1);
	const struct eg_lpm_key *deep = NULL;
	int err = 0;

	nkeys = malloc(n * sizeof(struct eg_lpm_key) + 1);
	if (!keys || !vals || !notes || !nkeys) {
		err = eg_fail_code(e, ENOMEM, "out of memory writing the bans");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!p[i].write || eg_key_is_host(&p[i].it->key) != exact)
			continue;
		memcpy(keys + k * key_size, ban_key(&p[i].it->key), key_size);
		vals[k++] = p[i].ban;
		deep = deepest(deep, &p[i].it->key);
		if (p[i].write_note) {
			memcpy(nkeys + nk * sizeof(struct eg_lpm_key), &p[i].it->key,
			       sizeof(struct eg_lpm_key));
			notes[nk].created_unix = (uint64_t)unix_now;
			snprintf(notes[nk++].reason, sizeof(notes[0].reason), "%s", p[i].it->reason);
		}
	}
	err = write_many(m->ban_notes, nkeys, sizeof(struct eg_lpm_key), notes, sizeof(*notes), nk,
			 &done);
	if (err) {
		fail_write(e, "list of ban reasons", err);
		goto out;
	}
	err = write_many(exact ? m->ban_exact : m->ban_cidr, keys, key_size, vals, sizeof(*vals), k,
			 &done);
	if (err) {
		fail_write(e, exact ? "exact ban list" : "CIDR ban list", err);
		goto out;
	}
	if (k)
		eg_list_note_insert(m, exact ? EG_LIST_BAN_EXACT : EG_LIST_BAN_CIDR, deep);
out:
	free(keys);
	free(nkeys);
	free(vals);
	free(notes);
	return err ? -1 : 0;
}

static int plan_ban(const struct eg_maps *m, const struct dump *d, const struct dump *dn,
		    struct plan *p, unsigned int origin, uint64_t now, struct eg_bulk_result *r)
{
	const struct eg_bulk_item *it = p->it;
	uint64_t exp = it->ttl_s ? now + (uint64_t)it->ttl_s * EG_NS_PER_S : 0;
	bool live;

	p->had_ban = find_ban(m, d, &it->key, &p->old);
	live = p->had_ban && (!p->old.expires_ns || p->old.expires_ns > now);
	if (live && (!p->old.expires_ns || (exp && p->old.expires_ns >= exp))) {
		r->unchanged++;
		return 0;
	}
	p->write = true;
	p->ban = (struct eg_ban){ .expires_ns = exp, .created_ns = now,
				  .prefixlen = it->key.prefixlen, .origin = (uint16_t)origin };
	if (it->reason && *it->reason) {
		/* Only a ban that is there can have a reason worth putting back. */
		p->old_note = p->had_ban ? dump_find(dn, &it->key) : NULL;
		p->write_note = true;
	}
	if (live)
		r->extended++;
	else
		r->added++;
	return 0;
}

static int bulk_ban(const struct eg_maps *m, unsigned int origin, struct eg_bulk_item *items,
		    size_t n, struct eg_bulk_result *r, struct eg_err *e)
{
	struct plan *p;
	uint64_t now = eg_now_ns();
	int64_t unix_now = (int64_t)time(NULL);
	size_t new_exact = 0, new_cidr = 0;
	struct dump d, dn;
	int rc = -1;

	if (origin == EG_ORIGIN_AUTO || origin >= EG_ORIGIN_MAX)
		return eg_fail(e, "bans of origin %s cannot be made in bulk", eg_origin_name(origin));
	if (dump_exact(m, &d, e))
		return -1;
	if (dump_notes(m, &dn, e)) {
		free(d.recs);
		return -1;
	}
	p = calloc(n + 1, sizeof(*p));
	if (!p) {
		eg_fail_code(e, ENOMEM, "out of memory planning %zu bans", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		p[i].it = &items[i];
		plan_ban(m, &d, &dn, &p[i], origin, now, r);
		if (p[i].write && !p[i].had_ban)
			(*(eg_key_is_host(&items[i].key) ? &new_exact : &new_cidr))++;
	}
	if (room(m->ban_exact, (long)d.n, new_exact, "exact ban list", e) ||
	    room(m->ban_cidr, -1, new_cidr, "CIDR ban list", e))
		goto out;
	if (write_bans(m, p, n, true, unix_now, e) || write_bans(m, p, n, false, unix_now, e)) {
		undo(m, p, n);
		eg_lists_settle(m);
		goto out;
	}
	rc = 0;
out:
	free(p);
	free(d.recs);
	free(dn.recs);
	if (rc)
		memset(r, 0, sizeof(*r));
	return rc;
}

/*
 * Deletes n keys from a hash in batches. Every key was seen there; one the
 * kernel no longer has (deleted since) is skipped, not an error.
 */
static int delete_many(int fd, const char *keys, size_t key_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count;

	while (n) {
		count = (__u32)n;
		if (!bpf_map_delete_batch(fd, keys, &count, &opts))
			return 0;
		if (errno != ENOENT)
			return -errno;
		/* count were deleted; the next one is gone already: skip it. */
		keys += ((size_t)count + 1) * key_size;
		n -= (size_t)count + 1 < n ? (size_t)count + 1 : n;
	}
	return 0;
}

/* Removes the bans on each key (of origin, or of all with EG_BULK_ANY_ORIGIN). */
static int bulk_unban(const struct eg_maps *m, unsigned int origin,
		      const struct eg_bulk_item *items, size_t n, struct eg_bulk_result *r,
		      struct eg_err *e)
{
	struct eg_addr *hosts = malloc((n + 1) * sizeof(*hosts));
	struct eg_lpm_key *notes = malloc((n + 1) * sizeof(*notes));
	size_t nhosts = 0, nnotes = 0;
	char cidr[EG_CIDR_STRLEN];
	struct dump d, dn;
	struct eg_ban b;
	int err = 0;

	memset(&dn, 0, sizeof(dn));
	struct eg_lpm_key any;
	bool autobans;

	memset(&d, 0, sizeof(d));
	if (!hosts || !notes || dump_exact(m, &d, e) || dump_notes(m, &dn, e)) {
		if (!hosts || !notes)
			eg_fail_code(e, ENOMEM, "out of memory");
		free(hosts);
		free(notes);
		free(d.recs);
		return -1;
	}
	/* The datapath's own bans are looked up key by key only when there are any. */
	autobans = !bpf_map_get_next_key(m->autoban, NULL, &any) || errno != ENOENT;
	for (size_t i = 0; i < n && !err; i++) {
		const struct eg_lpm_key *k = &items[i].key;
		bool own = find_ban(m, &d, k, &b), gone = false;

		if (own && origin != EG_BULK_ANY_ORIGIN && b.origin != origin) {
			r->kept++;
			continue;
		}
		if (own && eg_key_is_host(k)) {
			hosts[nhosts++] = k->addr;
			gone = true;
		} else if (own) {
			if (bpf_map_delete_elem(m->ban_cidr, k) && errno != ENOENT)
				err = -errno;
			gone = true;
		}
		if (own && dump_find(&dn, k))
			notes[nnotes++] = *k;
		if (origin == EG_BULK_ANY_ORIGIN && autobans &&
		    eg_ban_get(m, k, EG_ORIGIN_AUTO, &b) == 1) {
			if (bpf_map_delete_elem(m->autoban, k) && errno != ENOENT)
				err = -errno;
			gone = true;
		}
		if (err) {
			eg_format_cidr(k, cidr, sizeof(cidr));
			eg_fail_errno(e, -err, "cannot unban %s", cidr);
		}
		(*(gone ? &r->removed : &r->absent))++;
	}
	if (!err && (err = delete_many(m->ban_exact, (const char *)hosts, sizeof(*hosts), nhosts)))
		eg_fail_errno(e, -err, "cannot remove from the exact ban list");
	/* A reason whose ban is gone is litter; failing to remove one loses nothing. */
	delete_many(m->ban_notes, (const char *)notes, sizeof(*notes), nnotes);
	eg_lists_settle(m);
	free(hosts);
	free(notes);
	free(d.recs);
	free(dn.recs);
	return err ? -1 : 0;
}

static int bulk_allow(const struct eg_maps *m, bool add, const struct eg_bulk_item *items,
		      size_t n, struct eg_bulk_result *r, struct eg_err *e)
{
	struct eg_allow a = { .created_ns = eg_now_ns(), .origin = EG_ORIGIN_MANUAL };
	bool *fresh = calloc(n + 1, sizeof(*fresh));
	int err = 0;

	if (!fresh)
		return eg_fail_code(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !err; i++) {
		a.prefixlen = items[i].key.prefixlen; /* what tells an exact entry (eg_allow_get) */
		/* NOEXIST: an LPM lookup would answer for a covering prefix, this asks for the key. */
		if (add && !bpf_map_update_elem(m->allow, &items[i].key, &a, BPF_NOEXIST)) {
			fresh[i] = true;
			r->added++;
		} else if (add && errno == EEXIST) {
			r->unchanged++;
		} else if (add) {
			err = -errno;
		} else if (!bpf_map_delete_elem(m->allow, &items[i].key)) {
			r->removed++;
		} else if (errno == ENOENT) {
			r->absent++;
		} else {
			err = -errno;
		}
	}
	if (add && r->added) {
		const struct eg_lpm_key *deep = NULL;

		for (size_t i = 0; i < n; i++)
			if (fresh[i])
				deep = deepest(deep, &items[i].key);
		eg_list_note_insert(m, EG_LIST_ALLOW, deep);
	}
	if (err && add) {
		for (size_t i = 0; i < n; i++)
			if (fresh[i])
				bpf_map_delete_elem(m->allow, &items[i].key);
		memset(r, 0, sizeof(*r));
		fail_write(e, "allowlist", err);
	} else if (err) {
		eg_fail_errno(e, -err, "cannot remove from the allowlist (%zu removed before the failure)",
			      r->removed);
	}
	eg_list_settle(m, EG_LIST_ALLOW);
	free(fresh);
	return err ? -1 : 0;
}

int eg_bulk_apply(const struct eg_maps *m, enum eg_bulk_op op, unsigned int origin,
		  struct eg_bulk_item *items, size_t *n, struct eg_bulk_result *r, struct eg_err *e)
{
	memset(r, 0, sizeof(*r));
	*n = dedupe(items, *n, &r->duplicates);
	switch (op) {
	case EG_BULK_BAN:
		return bulk_ban(m, origin, items, *n, r, e);
	case EG_BULK_UNBAN:
		return bulk_unban(m, origin, items, *n, r, e);
	case EG_BULK_ALLOW_ADD:
	case EG_BULK_ALLOW_DEL:
		return bulk_allow(m, op == EG_BULK_ALLOW_ADD, items, *n, r, e);
	}
	return eg_fail(e, "unknown bulk operation");
}

void eg_bulk_summary(enum eg_bulk_op op, const struct eg_bulk_result *r, char *out, size_t size)
{
	switch (op) {
	case EG_BULK_BAN:
		snprintf(out, size, "%zu added, %zu extended, %zu unchanged", r->added, r->extended,
			 r->unchanged);
		break;
	case EG_BULK_ALLOW_ADD:
		snprintf(out, size, "%zu added, %zu already allowed", r->added, r->unchanged);
		break;
	case EG_BULK_UNBAN:
		snprintf(out, size, "%zu removed, %zu not banned, %zu of another origin kept",
			 r->removed, r->absent, r->kept);
		break;
	default:
		snprintf(out, size, "%zu removed, %zu not allowed", r->removed, r->absent);
		break;
	}
}

int eg_ban_merge(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
		 unsigned int origin, const char *reason, const char **outcome, struct eg_err *e)
{
	struct eg_bulk_item it = { .key = *k, .ttl_s = ttl_s, .reason = reason };
	struct eg_bulk_result r;
	size_t n = 1;

	if (eg_bulk_apply(m, EG_BULK_BAN, origin, &it, &n, &r, e))
		return -1;
	*outcome = r.added ? "added" : r.extended ? "extended" : "unchanged";
	return 0;
}

int eg_ban_del_origin(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		      struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];
	struct eg_ban b;

	eg_format_cidr(k, cidr, sizeof(cidr));
	if (eg_ban_get(m, k, EG_ORIGIN_MANUAL, &b) != 1)
		return eg_fail(e, "%s is not banned", cidr);
	if (b.origin != origin)
		return eg_fail(e, "%s is banned with origin %s, not %s: left in place", cidr,
			       eg_origin_name(b.origin), eg_origin_name(origin));
	return eg_ban_remove(m, k, origin, e);
}

int eg_origin_claimable(const char *name)
{
	if (!strcmp(name, eg_origin_name(EG_ORIGIN_MANUAL)))
		return EG_ORIGIN_MANUAL;
	if (!strcmp(name, eg_origin_name(EG_ORIGIN_IMPORT)))
		return EG_ORIGIN_IMPORT;
	return -1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "lists.h"
#include "text.h"

static int map_full_or(struct eg_err *e, const char *what, const struct eg_lpm_key *k, int err)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	if (err == E2BIG || err == ENOSPC)
		return eg_fail_code(e, ENOSPC,
				    "cannot add %s to the %s: the list is full (raise its size)", cidr,
				    what);
	return eg_fail_errno(e, err, "cannot update the %s for %s", what, cidr);
}

/* The note of k: reason and host; both NULL or "" removes it. */
static int note_store(const struct eg_maps *m, const struct eg_lpm_key *k, const char *reason,
		      const char *host, int64_t created_unix, struct eg_err *e)
{
	struct eg_ban_note note = { .created_unix = created_unix > 0 ? (uint64_t)created_unix : 0 };
	char cidr[EG_CIDR_STRLEN];

	if (!reason)
		reason = "";
	if (!host)
		host = "";
	if (!*reason && !*host) {
		if (!bpf_map_delete_elem(m->ban_notes, k) || errno == ENOENT)
			return 0;
		eg_format_cidr(k, cidr, sizeof(cidr));
		return eg_fail_errno(e, errno, "cannot remove the ban reason of %s", cidr);
	}
	if (*reason && eg_text_check_field("the ban reason", reason, EG_BAN_REASON_LEN, e))
		return -1;
	if (*host && eg_text_check_field("the ban's host", host, EG_BAN_HOST_LEN, e))
		return -1;
	memcpy(note.reason, reason, strlen(reason) + 1);
	memcpy(note.host, host, strlen(host) + 1);
	if (bpf_map_update_elem(m->ban_notes, k, &note, BPF_ANY))
		return map_full_or(e, "ban reasons", k, errno);
	return 0;
}

int eg_ban_note_set(const struct eg_maps *m, const struct eg_lpm_key *k, const char *reason,
		    int64_t created_unix, struct eg_err *e)
{
	return note_store(m, k, reason, NULL, created_unix, e);
}

int eg_ban_note_read(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_ban_note *out)
{
	if (bpf_map_lookup_elem(m->ban_notes, k, out)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	/* Whoever wrote it, never read past the end. */
	out->reason[EG_BAN_REASON_LEN - 1] = '\0';
	out->host[EG_BAN_HOST_LEN - 1] = '\0';
	return 1;
}

int eg_ban_note_get(const struct eg_maps *m, const struct eg_lpm_key *k, char *out)
{
	struct eg_ban_note note;

	eg_ban_note_read(m, k, &note);
	memcpy(out, note.reason, strlen(note.reason) + 1);
	return out[0] != '\0';
}

static int list_fd(const struct eg_maps *m, enum eg_list list);

/* Which map holds a ban of this origin on this key: the datapath's own, or the operator's. */
static int ban_map(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		   enum eg_list *list)
{
	if (origin == EG_ORIGIN_AUTO) {
		*list = EG_LIST_AUTOBAN;
		return m->autoban;
	}
	*list = eg_key_is_host(k) ? EG_LIST_BAN_EXACT : EG_LIST_BAN_CIDR;
	return eg_key_is_host(k) ? m->ban_exact : m->ban_cidr;
}

/* The exact-ban hash is keyed by the address alone; the tries by the LPM key. */
static const void *map_key(const struct eg_lpm_key *k, enum eg_list list)
{
	return list == EG_LIST_BAN_EXACT ? (const void *)&k->addr : (const void *)k;
}

int eg_ban_store(const struct eg_maps *m, const struct eg_lpm_key *k, const struct eg_ban *ban,
		 struct eg_err *e)
{
	enum eg_list list;
	int fd = ban_map(m, k, ban->origin, &list);

	if (ban->origin >= EG_ORIGIN_MAX)
		return eg_fail(e, "unknown ban origin %u", ban->origin);
	if (bpf_map_update_elem(fd, map_key(k, list), ban, BPF_ANY))
		return map_full_or(e, list == EG_LIST_AUTOBAN ? "auto-ban list" : "ban list", k, errno);
	eg_list_note_insert(m, list, k);
	return 0;
}

static int ban_add(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
		   unsigned int origin, const char *reason, const char *host, struct eg_err *e)
{
	uint64_t now = eg_now_ns();
	struct eg_ban ban = {
		.expires_ns = ttl_s ? now + (uint64_t)ttl_s * 1000000000ULL : 0,
		.created_ns = now,
		.prefixlen = k->prefixlen,
		.origin = (uint16_t)origin,
	};

	if (origin >= EG_ORIGIN_MAX)
		return eg_fail(e, "unknown ban origin %u", origin);
	if (origin == EG_ORIGIN_AUTO)
		return eg_ban_store(m, k, &ban, e); /* the datapath's kind: no note */
	/*
	 * The note goes first: if it cannot be stored nothing has changed, and
	 * a reader never sees the new ban with the old ban's reason for long.
	 */
	if (note_store(m, k, reason, host, (int64_t)time(NULL), e))
		return -1;
	if (!eg_ban_store(m, k, &ban, e))
		return 0;
	bpf_map_delete_elem(m->ban_notes, k); /* it failed: the key had no ban, so no reason */
	return -1;
}

int eg_ban_add(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
	       unsigned int origin, const char *reason, struct eg_err *e)
{
	return ban_add(m, k, ttl_s, origin, reason, NULL, e);
}

int eg_ban_add_fleet(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
		     const char *reason, const char *host, struct eg_err *e)
{
	return ban_add(m, k, ttl_s, EG_ORIGIN_FLEET, reason, host, e);
}

int eg_ban_get(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
	       struct eg_ban *out)
{
	enum eg_list list;
	int fd = ban_map(m, k, origin, &list);

	if (bpf_map_lookup_elem(fd, map_key(k, list), out))
		return 0;
	/* An LPM lookup may return a covering prefix; we want this key only. */
	return list == EG_LIST_BAN_EXACT || out->prefixlen == k->prefixlen;
}

/* Removes exactly k from the map of its origin: 0 removed, 1 absent, -1 error (e set). */
static int remove_one(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		      struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];
	enum eg_list list;
	int fd = ban_map(m, k, origin, &list), err;

	err = bpf_map_delete_elem(fd, map_key(k, list)) ? errno : 0;
	/* Also when the ban was gone already: a reason without its ban is litter. */
	if (list != EG_LIST_AUTOBAN && (!err || err == ENOENT))
		bpf_map_delete_elem(m->ban_notes, k);
	if (!err)
		eg_list_settle(m, list);
	if (!err || err == ENOENT)
		return err ? 1 : 0;
	eg_format_cidr(k, cidr, sizeof(cidr));
	return eg_fail_errno(e, err, "cannot unban %s", cidr);
}

static int not_banned(const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	return eg_fail(e, "%s is not banned", cidr);
}

int eg_ban_remove(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		  struct eg_err *e)
{
	int rc = remove_one(m, k, origin, e);

	return rc == 1 ? not_banned(k, e) : rc;
}

int eg_ban_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	/* An operator's unban lifts the datapath's own ban on the same key too. */
	int own = remove_one(m, k, EG_ORIGIN_MANUAL, e), autob;

	if (own < 0)
		return -1;
	autob = remove_one(m, k, EG_ORIGIN_AUTO, e);
	if (autob < 0)
		return -1;
	return own == 1 && autob == 1 ? not_banned(k, e) : 0;
}

static bool ban_live(const struct eg_ban *b, uint64_t now)
{
	return !b->expires_ns || b->expires_ns > now;
}

/* The datapath's walk (edgeguard.bpf.c trie_banned): past expired entries to a live one. */
static int trie_covering(int fd, const struct eg_addr *a, uint64_t now, struct eg_ban *out,
			 unsigned int *lookups)
{
	struct eg_lpm_key k = { .prefixlen = EG_LPM_MAX_PREFIX, .addr = *a };

	for (int i = 0; i <= EG_LPM_MAX_PREFIX - EG_FAMILY_BITS; i++) {
		if (lookups)
			(*lookups)++;
		if (bpf_map_lookup_elem(fd, &k, out))
			return 0;
		if (ban_live(out, now))
			return 1;
		if (out->prefixlen <= EG_FAMILY_BITS || out->prefixlen > k.prefixlen)
			return 0;
		k.prefixlen = out->prefixlen - 1;
	}
	return 0;
}

int eg_ban_covering(const struct eg_maps *m, const struct eg_addr *a, uint64_t now,
		    struct eg_ban *out, unsigned int *lookups)
{
	if (lookups)
		(*lookups)++;
	if (bpf_map_lookup_elem(m->ban_exact, a, out) == 0 && ban_live(out, now))
		return 1;
	return trie_covering(m->ban_cidr, a, now, out, lookups) ||
	       trie_covering(m->autoban, a, now, out, lookups);
}

/*
 * The datapath may have replaced a manual ban by an auto-ban without knowing
 * about notes: a note never describes an auto-ban.
 */
static void fill_reason(const struct eg_maps *m, struct eg_ban_entry *ent)
{
	int saved = errno;
	struct eg_ban_note note;

	ent->reason[0] = ent->host[0] = '\0';
	if (ent->ban.origin != EG_ORIGIN_AUTO && eg_ban_note_read(m, &ent->key, &note)) {
		memcpy(ent->reason, note.reason, sizeof(ent->reason));
		if (ent->ban.origin == EG_ORIGIN_FLEET)
			memcpy(ent->host, note.host, sizeof(ent->host));
	}
	errno = saved;
}

/* Every entry of one ban map; exact is true for the address-keyed hash. */
/*
 * Every entry of one ban map. The keys are read first (eg_map_keys), so the
 * callback may delete as it goes (the reaper does) without the walk starting
 * over and reporting an entry twice.
 */
static int walk_bans(const struct eg_maps *m, enum eg_list list, const char *what, eg_ban_cb cb,
		     void *ctx, struct eg_err *e)
{
	bool exact = list == EG_LIST_BAN_EXACT;
	uint32_t key_size = exact ? sizeof(struct eg_addr) : sizeof(struct eg_lpm_key);
	int fd = list_fd(m, list), rc = 0;
	struct eg_ban_entry ent;
	struct eg_err why = { 0 };
	size_t n;
	char *keys;

	if (eg_map_keys(fd, key_size, (void **)&keys, &n, &why))
		return eg_fail_code(e, why.code, "cannot walk the %s: %s", what, why.msg);
	for (size_t i = 0; i < n && !rc; i++) {
		const void *k = keys + i * key_size;

		if (bpf_map_lookup_elem(fd, k, &ent.ban))
			continue; /* deleted since */
		if (exact)
			eg_key_of(&ent.key, k, ((const struct eg_addr *)k)->family == EG_AF_INET ? 32 :
												     128);
		else
			memcpy(&ent.key, k, sizeof(ent.key));
		ent.list = list;
		fill_reason(m, &ent);
		rc = cb(&ent, ctx);
	}
	free(keys);
	return rc;
}

int eg_ban_foreach(const struct eg_maps *m, eg_ban_cb cb, void *ctx, struct eg_err *e)
{
	int rc = walk_bans(m, EG_LIST_BAN_EXACT, "exact ban list", cb, ctx, e);

	if (!rc)
		rc = walk_bans(m, EG_LIST_BAN_CIDR, "CIDR ban list", cb, ctx, e);
	if (!rc)
		rc = walk_bans(m, EG_LIST_AUTOBAN, "auto-ban list", cb, ctx, e);
	return rc;
}

int eg_allow_store(const struct eg_maps *m, const struct eg_lpm_key *k, const struct eg_allow *a,
		   struct eg_err *e)
{
	if (bpf_map_update_elem(m->allow, k, a, BPF_ANY))
		return map_full_or(e, "allowlist", k, errno);
	eg_list_note_insert(m, EG_LIST_ALLOW, k);
	return 0;
}

int eg_allow_add(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	struct eg_allow cur;
	/* This host's fleet-wide allow stays so (a policy reload, a plain re-add). */
	bool fleet = eg_allow_get(m, k, &cur) && cur.fleet && cur.origin != EG_ORIGIN_FLEET;

	return eg_allow_put(m, k, EG_ORIGIN_MANUAL, fleet, e);
}

int eg_allow_put(const struct eg_maps *m, const struct eg_lpm_key *k, unsigned int origin,
		 bool fleet, struct eg_err *e)
{
	struct eg_allow a = { .created_ns = eg_now_ns(), .prefixlen = k->prefixlen,
			      .origin = (__u16)origin, .fleet = fleet };

	return eg_allow_store(m, k, &a, e);
}

int eg_allow_get(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_allow *out)
{
	return !bpf_map_lookup_elem(m->allow, k, out) && out->prefixlen == k->prefixlen;
}

int eg_allow_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];

	if (!bpf_map_delete_elem(m->allow, k)) {
		eg_list_settle(m, EG_LIST_ALLOW);
		return 0;
	}
	eg_format_cidr(k, cidr, sizeof(cidr));
	if (errno == ENOENT)
		return eg_fail(e, "%s is not on the allowlist", cidr);
	return eg_fail_errno(e, errno, "cannot remove %s from the allowlist", cidr);
}

int eg_allow_foreach(const struct eg_maps *m, eg_allow_cb cb, void *ctx, struct eg_err *e)
{
	struct eg_allow_entry ent;
	struct eg_err why = { 0 };
	struct eg_lpm_key *keys;
	size_t n;
	int rc = 0;

	if (eg_map_keys(m->allow, sizeof(*keys), (void **)&keys, &n, &why))
		return eg_fail_code(e, why.code, "cannot walk the allowlist: %s", why.msg);
	for (size_t i = 0; i < n && !rc; i++) {
		if (bpf_map_lookup_elem(m->allow, &keys[i], &ent.allow))
			continue;
		ent.key = keys[i];
		rc = cb(&ent, ctx);
	}
	free(keys);
	return rc;
}

static int list_fd(const struct eg_maps *m, enum eg_list list)
{
	switch (list) {
	case EG_LIST_ALLOW:
		return m->allow;
	case EG_LIST_BAN_EXACT:
		return m->ban_exact;
	case EG_LIST_BAN_CIDR:
		return m->ban_cidr;
	default:
		return m->autoban;
	}
}

static void list_mark(const struct eg_maps *m, enum eg_list list, uint32_t empty)
{
	uint32_t key = list;

	bpf_map_update_elem(m->list_empty, &key, &empty, BPF_ANY);
}

static bool list_is_empty(const struct eg_maps *m, enum eg_list list)
{
	struct eg_lpm_key first; /* the larger of the two key types */

	return bpf_map_get_next_key(list_fd(m, list), NULL, &first) && errno == ENOENT;
}

/* ---------------------------------------------------- list generation */

/* The mmapped element of eg_list_gen (munmap page_len bytes when done), or NULL. */
static struct eg_list_gen *gen_map(const struct eg_maps *m, size_t *page_len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	*page_len = pg > 0 ? (size_t)pg : 4096;
	if (m->list_gen < 0)
		return NULL;
	p = mmap(NULL, *page_len, PROT_READ | PROT_WRITE, MAP_SHARED, m->list_gen, 0);
	return p == MAP_FAILED ? NULL : p;
}

void eg_lists_bump(const struct eg_maps *m)
{
	size_t len;
	struct eg_list_gen *g = gen_map(m, &len), cur = { 0 };
	uint32_t zero = 0;

	if (g) {
		/* 0 means "never cache": a wrapped counter skips it. */
		if (__atomic_add_fetch(&g->gen, 1, __ATOMIC_SEQ_CST) == 0)
			__atomic_add_fetch(&g->gen, 1, __ATOMIC_SEQ_CST);
		munmap(g, len);
		return;
	}
	/* No mapping (cannot happen on a kernel that loaded the map): "never cache" is always safe. */
	if (!bpf_map_lookup_elem(m->list_gen, &zero, &cur)) {
		cur.gen = 0;
		bpf_map_update_elem(m->list_gen, &zero, &cur, BPF_ANY);
	}
}

uint32_t eg_lists_gen(const struct eg_maps *m)
{
	struct eg_list_gen cur = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(m->list_gen, &zero, &cur);
	return cur.gen;
}

void eg_lists_set_v6_deep(const struct eg_maps *m, uint32_t deep)
{
	size_t len;
	struct eg_list_gen *g = gen_map(m, &len), cur = { 0 };
	uint32_t zero = 0;

	if (g) {
		__atomic_store_n(&g->v6_deep, deep, __ATOMIC_SEQ_CST);
		munmap(g, len);
		return;
	}
	if (!bpf_map_lookup_elem(m->list_gen, &zero, &cur)) {
		cur.v6_deep = deep;
		bpf_map_update_elem(m->list_gen, &zero, &cur, BPF_ANY);
	}
}

static uint32_t current_v6_prefix(const struct eg_maps *m)
{
	struct eg_config cfg = { 0 };
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg) || !cfg.v6_prefix)
		return EG_DEFAULT_V6_PREFIX;
	return cfg.v6_prefix;
}

/* An IPv6 entry longer than the aggregate (k NULL: unknown, so maybe). */
static bool deeper_than(const struct eg_lpm_key *k, uint32_t v6_prefix)
{
	if (!k)
		return true;
	return k->addr.family == EG_AF_INET6 && k->prefixlen > EG_FAMILY_BITS + v6_prefix;
}

void eg_list_note_insert(const struct eg_maps *m, enum eg_list list, const struct eg_lpm_key *k)
{
	list_mark(m, list, 0);
	if (deeper_than(k, current_v6_prefix(m)))
		eg_lists_set_v6_deep(m, 1);
	/* Last: a source that sees the new generation sees the insert and the mark too. */
	eg_lists_bump(m);
}

struct deep_walk {
	uint32_t v6_prefix;
	bool deep;
};

static int deep_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct deep_walk *w = ctx;

	w->deep = deeper_than(&b->key, w->v6_prefix);
	return w->deep;
}

static int deep_allow(const struct eg_allow_entry *a, void *ctx)
{
	struct deep_walk *w = ctx;

	w->deep = deeper_than(&a->key, w->v6_prefix);
	return w->deep;
}

int eg_lists_v6_settle(const struct eg_maps *m, uint32_t v6_prefix, struct eg_err *e)
{
	struct deep_walk w = { .v6_prefix = v6_prefix };
	int rc = eg_ban_foreach(m, deep_ban, &w, e);

	if (rc < 0)
		return -1;
	if (!w.deep && eg_allow_foreach(m, deep_allow, &w, e) < 0)
		return -1;
	eg_lists_set_v6_deep(m, w.deep ? 1 : 0);
	eg_lists_bump(m);
	return 0;
}

/*
 * Inserters (these functions, persist.c, the datapath's auto-ban) insert
 * first and then store 0; only this function stores 1, after finding the
 * list empty, and then looks again. So when the last store to the mark was
 * our 1, any entry present now was inserted after our second look (we would
 * have seen it and stored 0), and its inserter's 0 comes after our 1: a
 * contradiction. An entry can therefore never sit behind a mark of 1 for
 * longer than its inserter takes to store 0 - the same as being inserted a
 * moment later. A failed store of 1 only costs speed; a failed look or a
 * failed store of 0 errs towards 0 (bpf_map_get_next_key failing for any
 * reason but ENOENT counts as "not empty").
 */
void eg_list_settle(const struct eg_maps *m, enum eg_list list)
{
	if (!list_is_empty(m, list))
		return;
	list_mark(m, list, 1);
	if (!list_is_empty(m, list))
		list_mark(m, list, 0);
}

void eg_lists_settle(const struct eg_maps *m)
{
	struct eg_err e;

	for (int l = 0; l < EG_LIST_MAX; l++)
		eg_list_settle(m, (enum eg_list)l);
	/* A new eg_list_gen holds 0, "never cache"; the walk moves it on. */
	if (eg_lists_v6_settle(m, current_v6_prefix(m), &e))
		eg_lists_set_v6_deep(m, 1);
}

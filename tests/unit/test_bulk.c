// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Bulk list changes (user/policy/bulk.h) on real maps: bans merge (added,
 * extended, unchanged, never shortened), repeated keys count once, a batch
 * that does not fit changes nothing, unban by origin leaves other origins'
 * bans, allows count what was there; and the datapath's list marks follow.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "bulk.h"
#include "datapath.h"
#include "edgeguard.skel.h"
#include "testlib.h"

static struct edgeguard_bpf *load(struct eg_maps *m, uint32_t max_bans)
{
	struct eg_sizes sz = { .max_sources = 1024, .max_bans = max_bans, .max_allows = 64 };
	struct eg_err e = { 0 };
	struct edgeguard_bpf *skel = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);

	CHECK(skel != NULL, "load failed: %s", e.msg);
	if (skel)
		eg_maps_from_skel(skel, m);
	return skel;
}

static struct eg_bulk_item item(const char *cidr, uint32_t ttl, const char *reason)
{
	struct eg_bulk_item it = { .ttl_s = ttl, .reason = reason };
	struct eg_err e;

	CHECK(eg_parse_cidr(cidr, &it.key, &e) == 0, "%s: %s", cidr, e.msg);
	return it;
}

static uint32_t list_mark(const struct eg_maps *m, enum eg_list l)
{
	uint32_t k = l, v = 99;

	bpf_map_lookup_elem(m->list_empty, &k, &v);
	return v;
}

static void bans_merge_and_never_shorten(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load(&m, 64);
	struct eg_bulk_item a[4], b[5];
	struct eg_bulk_result r;
	struct eg_err e = { 0 };
	struct eg_ban ban;
	char reason[EG_BAN_REASON_LEN];
	size_t n;

	if (!skel)
		return;
	eg_lists_settle(&m);
	CHECK_EQ(list_mark(&m, EG_LIST_BAN_EXACT), 1, "exact list marked empty before");
	a[0] = item("192.0.2.1", 600, "scanner");
	a[1] = item("192.0.2.2", 0, "permanent one");
	a[2] = item("198.51.100.0/24", 3600, NULL);
	a[3] = item("2001:db8::7", 60, "v6");
	n = 4;
	CHECK(eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_IMPORT, a, &n, &r, &e) == 0, "%s", e.msg);
	CHECK(r.added == 4 && r.extended == 0 && r.unchanged == 0, "first: %zu/%zu/%zu", r.added,
	      r.extended, r.unchanged);
	CHECK_EQ(list_mark(&m, EG_LIST_BAN_EXACT), 0, "exact list marked non-empty");
	CHECK_EQ(list_mark(&m, EG_LIST_BAN_CIDR), 0, "CIDR list marked non-empty");
	CHECK(eg_ban_covering(&m, &a[2].key.addr, eg_now_ns(), &ban, NULL) == 1 &&
		      ban.origin == EG_ORIGIN_IMPORT,
	      "the CIDR ban covers its network, origin import");

	b[0] = item("192.0.2.1", 7200, NULL);       /* longer: extended, reason kept */
	b[1] = item("192.0.2.2", 60, "shorter");    /* permanent there: unchanged */
	b[2] = item("198.51.100.0/24", 60, "short"); /* shorter: unchanged */
	b[3] = item("203.0.113.9", 60, "new");       /* added */
	b[4] = item("203.0.113.9", 0, NULL);         /* same key again, permanent: wins */
	n = 5;
	CHECK(eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_MANUAL, b, &n, &r, &e) == 0, "%s", e.msg);
	CHECK(n == 4 && r.duplicates == 1, "distinct %zu, duplicates %zu", n, r.duplicates);
	CHECK(r.added == 1 && r.extended == 1 && r.unchanged == 2, "second: %zu/%zu/%zu", r.added,
	      r.extended, r.unchanged);
	a[0] = item("192.0.2.1", 0, NULL);
	CHECK(eg_ban_get(&m, &a[0].key, EG_ORIGIN_MANUAL, &ban) == 1 &&
		      ban.origin == EG_ORIGIN_MANUAL && ban.expires_ns > eg_now_ns() + 3600 * EG_NS_PER_S,
	      "extended ban: origin %u, 2h", ban.origin);
	CHECK(eg_ban_note_get(&m, &a[0].key, reason) == 1 && !strcmp(reason, "scanner"),
	      "an extension without a reason keeps the old one: '%s'", reason);
	a[1] = item("192.0.2.2", 0, NULL);
	CHECK(eg_ban_get(&m, &a[1].key, EG_ORIGIN_MANUAL, &ban) == 1 && ban.expires_ns == 0 &&
		      ban.origin == EG_ORIGIN_IMPORT,
	      "a permanent ban stays permanent and its own");
	CHECK(eg_ban_note_get(&m, &a[1].key, reason) == 1 && !strcmp(reason, "permanent one"),
	      "an unchanged ban keeps its reason: '%s'", reason);
	a[3] = item("203.0.113.9", 0, NULL);
	CHECK(eg_ban_get(&m, &a[3].key, EG_ORIGIN_MANUAL, &ban) == 1 && ban.expires_ns == 0,
	      "the repeated key took the longer TTL");
	CHECK(eg_ban_note_get(&m, &a[3].key, reason) == 1 && !strcmp(reason, "new"),
	      "and the reason the other line gave: '%s'", reason);
	edgeguard_bpf__destroy(skel);
}

static void a_batch_that_does_not_fit_changes_nothing(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load(&m, 16);
	struct eg_bulk_item it[20];
	struct eg_bulk_result r;
	struct eg_err e = { 0 };
	char cidr[32];
	size_t n = 20;

	if (!skel)
		return;
	for (int i = 0; i < 20; i++) {
		snprintf(cidr, sizeof(cidr), "192.0.2.%d", i + 1);
		it[i] = item(cidr, 60, "x");
	}
	CHECK(eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_IMPORT, it, &n, &r, &e) == -1,
	      "20 bans into a list of 16 accepted");
	CHECK(strstr(e.msg, "no room for 20 more") && strstr(e.msg, "nothing was changed"),
	      "message: '%s'", e.msg);
	CHECK_EQ(eg_map_count(m.ban_exact), 0, "bans written");
	CHECK_EQ(eg_map_count(m.ban_notes), 0, "reasons written");
	n = 16;
	CHECK(eg_bulk_apply(&m, EG_BULK_BAN, EG_ORIGIN_IMPORT, it, &n, &r, &e) == 0, "16: %s",
	      e.msg);
	CHECK_EQ(eg_map_count(m.ban_exact), 16, "16 fit");
	edgeguard_bpf__destroy(skel);
}

static void unban_by_origin_and_allows(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load(&m, 64);
	struct eg_bulk_item it[3];
	struct eg_bulk_result r;
	struct eg_err e = { 0 };
	struct eg_ban ban;
	size_t n;

	if (!skel)
		return;
	it[0] = item("192.0.2.1", 0, NULL);
	it[1] = item("192.0.2.2", 0, NULL);
	it[2] = item("198.51.100.0/24", 0, NULL);
	CHECK(eg_ban_add(&m, &it[0].key, 0, EG_ORIGIN_IMPORT, "f2b", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &it[1].key, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	n = 3;
	CHECK(eg_bulk_apply(&m, EG_BULK_UNBAN, EG_ORIGIN_IMPORT, it, &n, &r, &e) == 0, "%s", e.msg);
	CHECK(r.removed == 1 && r.kept == 1 && r.absent == 1, "by origin: %zu/%zu/%zu", r.removed,
	      r.kept, r.absent);
	it[1] = item("192.0.2.2", 0, NULL); /* the batch was sorted in place */
	CHECK(eg_ban_get(&m, &it[1].key, EG_ORIGIN_MANUAL, &ban) == 1, "the manual ban was kept");
	it[0] = item("192.0.2.1", 0, NULL);
	it[2] = item("198.51.100.0/24", 0, NULL);
	CHECK_EQ(eg_map_count(m.ban_notes), 0, "the removed ban's reason is gone too");
	n = 3;
	CHECK(eg_bulk_apply(&m, EG_BULK_UNBAN, EG_BULK_ANY_ORIGIN, it, &n, &r, &e) == 0, "%s",
	      e.msg);
	CHECK(r.removed == 1 && r.absent == 2, "any origin: %zu/%zu", r.removed, r.absent);
	CHECK_EQ(list_mark(&m, EG_LIST_BAN_EXACT), 1, "exact list marked empty again");

	n = 3;
	CHECK(eg_bulk_apply(&m, EG_BULK_ALLOW_ADD, 0, it, &n, &r, &e) == 0, "%s", e.msg);
	CHECK_EQ(r.added, 3, "allowed");
	n = 3;
	CHECK(eg_bulk_apply(&m, EG_BULK_ALLOW_ADD, 0, it, &n, &r, &e) == 0, "%s", e.msg);
	CHECK(r.added == 0 && r.unchanged == 3, "again: %zu added, %zu there", r.added,
	      r.unchanged);
	n = 2;
	CHECK(eg_bulk_apply(&m, EG_BULK_ALLOW_DEL, 0, &it[1], &n, &r, &e) == 0, "%s", e.msg);
	CHECK_EQ(r.removed, 2, "removed");
	CHECK_EQ(list_mark(&m, EG_LIST_ALLOW), 0, "one allow left: not marked empty");
	edgeguard_bpf__destroy(skel);
}

static void single_merged_ban_and_origin_checked_unban(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load(&m, 64);
	struct eg_bulk_item it = item("192.0.2.1", 0, NULL);
	struct eg_err e = { 0 };
	const char *outcome = NULL;

	if (!skel)
		return;
	CHECK(eg_ban_add(&m, &it.key, 0, EG_ORIGIN_MANUAL, "operator", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_merge(&m, &it.key, 600, EG_ORIGIN_IMPORT, "fail2ban", &outcome, &e) == 0 &&
		      !strcmp(outcome, "unchanged"),
	      "an import does not shorten a permanent ban: %s", outcome ? outcome : e.msg);
	CHECK(eg_ban_del_origin(&m, &it.key, EG_ORIGIN_IMPORT, &e) == -1 &&
		      !strcmp(e.msg, "192.0.2.1 is banned with origin manual, not import: left in place"),
	      "'%s'", e.msg);
	CHECK_EQ(eg_origin_claimable("import"), EG_ORIGIN_IMPORT, "import claimable");
	CHECK_EQ(eg_origin_claimable("crowdsec"), -1, "crowdsec is the daemon's");
	edgeguard_bpf__destroy(skel);
}

int main(void)
{
	libbpf_set_print(NULL);
	RUN(bans_merge_and_never_shorten);
	RUN(a_batch_that_does_not_fit_changes_nothing);
	RUN(unban_by_origin_and_allows);
	RUN(single_merged_ban_and_origin_checked_unban);
	return tl_exit_code();
}

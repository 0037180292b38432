// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state file: round trips, remaining TTLs, restore into real maps,
 * corrupt and truncated files, and the atomic write.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "edgeguard.skel.h"
#include "lists.h"
#include "datapath.h"
#include "persist.h"
#include "testlib.h"

static char dir[] = "/tmp/eg-test-persist.XXXXXX";
static char path[sizeof(dir) + 32];

static struct eg_lpm_key key(const char *text)
{
	struct eg_lpm_key k;
	struct eg_err e;

	if (eg_parse_cidr(text, &k, &e)) {
		fprintf(stderr, "bad test address %s: %s\n", text, e.msg);
		abort();
	}
	return k;
}

static struct eg_saved_ban ban(const char *src, int64_t expires_at, unsigned int origin,
			       const char *reason)
{
	struct eg_saved_ban b = { .key = key(src), .expires_at = expires_at,
				  .created_at = 1700000000, .origin = (uint16_t)origin };

	snprintf(b.reason, sizeof(b.reason), "%s", reason);
	return b;
}

static int count_dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		abort();
	fwrite(text, 1, len, fp);
	fclose(fp);
}

static char *read_file(size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static void save_round_trip_keeps_every_field(void)
{
	const char *reason = "said \"hi\" \\ then left \xe2\x80\x94 fast \xe2\x9c\x93";
	struct eg_state s, r;
	struct eg_saved_ban auto_ban = ban("2001:db8:bad::/64", 1900000000, EG_ORIGIN_AUTO, "");
	struct eg_saved_ban in[] = {
		ban("203.0.113.7", 0, EG_ORIGIN_MANUAL, reason),
		ban("198.51.100.0/24", 1900000123, EG_ORIGIN_POLICY, "known scanner"),
		ban("2001:db8::1", 0, EG_ORIGIN_FLEET, ""),
		auto_ban,
	};
	const char *allows[] = { "10.0.0.0/8", "192.0.2.10", "2001:db8:100::/56" };
	struct eg_err e = { 0 };

	in[3].policy = 7;
	in[3].trigger = EG_R_SYN_RATE;
	eg_state_init(&s);
	for (size_t i = 0; i < 4; i++)
		eg_state_add_ban(&s, &in[i], &e);
	/* A plain allow, one this host shares with the fleet, one from the fleet. */
	for (size_t i = 0; i < 3; i++) {
		struct eg_saved_allow a = { .key = key(allows[i]), .origin = EG_ORIGIN_MANUAL };

		a.fleet = i == 1;
		if (i == 2)
			a.origin = EG_ORIGIN_FLEET;
		eg_state_add_saved_allow(&s, &a, &e);
	}
	CHECK(eg_state_save(path, &s, &e) == 0, "save: %s", e.msg);
	CHECK(eg_state_load(path, &r, &e) == 0, "load: %s", e.msg);
	CHECK_EQ(r.nbans, 4, "bans read back");
	CHECK_EQ(r.nallows, 3, "allows read back");
	CHECK(eg_state_same(&s, &r) || (eg_state_sort(&s), eg_state_sort(&r), eg_state_same(&s, &r)),
	      "allows' origins or fleet marks differ after a save and a load");
	for (size_t i = 0; i < 4 && r.nbans == 4; i++) {
		const struct eg_saved_ban *got = eg_state_find_ban(&r, &in[i].key, in[i].origin);
		char cidr[EG_CIDR_STRLEN];

		eg_format_cidr(&in[i].key, cidr, sizeof(cidr));
		CHECK(got, "%s missing after load", cidr);
		if (!got)
			continue;
		CHECK_EQ(got->expires_at, in[i].expires_at, cidr);
		CHECK_EQ(got->created_at, in[i].created_at, cidr);
		CHECK_EQ(got->origin, in[i].origin, cidr);
		CHECK_EQ(got->policy, in[i].policy, cidr);
		CHECK_EQ(got->trigger, in[i].trigger, cidr);
		CHECK(!strcmp(got->reason, in[i].reason), "%s: reason '%s', want '%s'", cidr,
		      got->reason, in[i].reason);
	}
	eg_state_sort(&s);
	for (size_t i = 0; i < 3 && r.nallows == 3; i++)
		CHECK(!memcmp(&r.allows[i], &s.allows[i], sizeof(s.allows[i])), "allow %zu differs", i);
	eg_state_free(&s);
	eg_state_free(&r);
}

static void remaining_ttl_counts_from_the_wall_clock(void)
{
	struct eg_saved_ban b = ban("203.0.113.7", 1000600, EG_ORIGIN_MANUAL, "");
	uint32_t ttl = 12345;

	CHECK(eg_saved_ban_remaining(&b, 1000000, &ttl), "ban with 600 s left counted as expired");
	CHECK_EQ(ttl, 600, "ttl left");
	CHECK(eg_saved_ban_remaining(&b, 1000599, &ttl), "ban with 1 s left counted as expired");
	CHECK_EQ(ttl, 1, "ttl left at the last second");
	CHECK(!eg_saved_ban_remaining(&b, 1000600, &ttl), "ban at its expiry is still live");
	CHECK(!eg_saved_ban_remaining(&b, 2000000, &ttl), "long-expired ban is still live");
	b.expires_at = 0;
	ttl = 12345;
	CHECK(eg_saved_ban_remaining(&b, 2000000, &ttl), "permanent ban counted as expired");
	CHECK_EQ(ttl, 0, "permanent ttl");
	b.expires_at = (1LL << 40);
	CHECK(eg_saved_ban_remaining(&b, 0, &ttl), "far future ban counted as expired");
	CHECK_EQ(ttl, UINT32_MAX, "ttl clamps at u32");
}

struct seen {
	int added, expired, present;
	uint32_t ttl_7;
};

static void count_restore(const struct eg_restore_report *r, void *ctx)
{
	struct seen *s = ctx;
	struct eg_lpm_key k7 = key("203.0.113.7");

	if (!r->ban)
		return; /* allows are counted by the tests that add them */
	if (r->result == EG_RESTORE_ADDED)
		s->added++;
	else if (r->result == EG_RESTORE_EXPIRED)
		s->expired++;
	else if (r->result == EG_RESTORE_PRESENT)
		s->present++;
	if (!memcmp(&r->ban->key, &k7, sizeof(k7)))
		s->ttl_7 = r->ttl_s;
}

static void restore_skips_expired_and_keeps_live_bans(void)
{
	struct eg_sizes sizes = { .max_sources = 1024, .max_bans = 64, .max_allows = 64 };
	struct edgeguard_bpf *skel;
	struct eg_maps m;
	struct eg_state s, snap;
	struct eg_err e = { 0 };
	struct seen seen = { 0 };
	struct eg_lpm_key present = key("203.0.113.9"), allow = key("10.0.0.0/8");
	struct eg_ban got;
	int64_t now = time(NULL), after;
	uint64_t boot_before;

	skel = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sizes }, &e);
	CHECK(skel, "load: %s", e.msg);
	if (!skel)
		return;
	eg_maps_from_skel(skel, &m);

	eg_state_init(&s);
	struct eg_saved_ban live = ban("203.0.113.7", now + 600, EG_ORIGIN_AUTO, "r");
	struct eg_saved_ban perm = ban("2001:db8::/48", 0, EG_ORIGIN_POLICY, "");
	struct eg_saved_ban old = ban("203.0.113.8", now - 5, EG_ORIGIN_MANUAL, "");
	struct eg_saved_ban mine = ban("203.0.113.9", now + 100, EG_ORIGIN_MANUAL, "");

	live.policy = 3;
	live.trigger = EG_R_PKT_RATE;
	eg_state_add_ban(&s, &live, &e);
	eg_state_add_ban(&s, &perm, &e);
	eg_state_add_ban(&s, &old, &e);
	eg_state_add_ban(&s, &mine, &e);
	eg_state_add_allow(&s, &allow, &e);
	/* Already banned (permanently, by hand) before the restore: must stay so. */
	CHECK(eg_ban_add(&m, &present, 0, EG_ORIGIN_FLEET, NULL, &e) == 0, "pre-ban: %s", e.msg);
	CHECK(eg_allow_add(&m, &allow, &e) == 0, "pre-allow: %s", e.msg);

	boot_before = eg_now_ns();
	CHECK(eg_state_restore(&m, &s, now, EG_RESTORE_ALL, count_restore, &seen, NULL) == 0,
	      "restore failed for some entries");
	CHECK_EQ(seen.added, 2, "bans restored");
	CHECK_EQ(seen.expired, 1, "expired bans skipped");
	CHECK_EQ(seen.present, 1, "live bans kept");
	CHECK_EQ(seen.ttl_7, 600, "remaining ttl of the live ban");

	CHECK(eg_ban_get(&m, &live.key, EG_ORIGIN_AUTO, &got) == 1, "live ban not restored");
	CHECK_EQ(got.origin, EG_ORIGIN_AUTO, "origin kept");
	CHECK_EQ(got.policy, 3, "policy kept");
	CHECK_EQ(got.trigger, EG_R_PKT_RATE, "trigger kept");
	CHECK(got.expires_ns >= boot_before + 600000000000ULL &&
	      got.expires_ns <= eg_now_ns() + 600000000000ULL, "kernel expiry is not now + 600 s");
	CHECK(eg_ban_get(&m, &perm.key, EG_ORIGIN_POLICY, &got) == 1, "CIDR ban not restored");
	CHECK_EQ(got.expires_ns, 0, "permanent stays permanent");
	CHECK_EQ(got.prefixlen, perm.key.prefixlen, "CIDR prefix stored in the value");
	CHECK(eg_ban_get(&m, &old.key, EG_ORIGIN_MANUAL, &got) == 0, "expired ban was restored");
	CHECK(eg_ban_get(&m, &present, EG_ORIGIN_FLEET, &got) == 1, "pre-existing ban lost");
	CHECK_EQ(got.origin, EG_ORIGIN_FLEET, "pre-existing ban overwritten: origin");
	CHECK_EQ(got.expires_ns, 0, "pre-existing ban overwritten: expiry");

	/* And the maps read back as the same state, expiries on the wall clock. */
	CHECK(eg_state_snapshot(&m, &snap, &e) == 0, "snapshot: %s", e.msg);
	after = time(NULL);
	CHECK_EQ(snap.nbans, 3, "bans in the snapshot");
	CHECK_EQ(snap.nallows, 1, "allows in the snapshot");
	const struct eg_saved_ban *sl = eg_state_find_ban(&snap, &live.key, EG_ORIGIN_AUTO);

	CHECK(sl && sl->expires_at >= now + 600 && sl->expires_at <= after + 601,
	      "snapshot expiry %lld not in [%lld, %lld]", sl ? (long long)sl->expires_at : -1LL,
	      (long long)now + 600, (long long)after + 601);
	CHECK(sl && sl->origin == EG_ORIGIN_AUTO && sl->policy == 3, "snapshot lost the origin");

	struct eg_state snap2;

	CHECK(eg_state_snapshot(&m, &snap2, &e) == 0, "snapshot 2: %s", e.msg);
	CHECK(eg_state_same(&snap, &snap2), "unchanged maps read as changed");
	eg_ban_del(&m, &present, &e);
	eg_state_free(&snap2);
	CHECK(eg_state_snapshot(&m, &snap2, &e) == 0, "snapshot 3: %s", e.msg);
	CHECK(!eg_state_same(&snap, &snap2), "an unban reads as no change");

	eg_state_free(&snap2);
	eg_state_free(&snap);
	eg_state_free(&s);
	edgeguard_bpf__destroy(skel);
}

static void missing_file_is_an_empty_state(void)
{
	struct eg_state r;
	struct eg_err e = { 0 };

	unlink(path);
	CHECK(eg_state_load(path, &r, &e) == 0, "load of a missing file: %s", e.msg);
	CHECK_EQ(r.nbans + r.nallows, 0, "entries from nowhere");
	eg_state_free(&r);
}

/* Every prefix of a valid file fails cleanly; none crashes or half-loads. */
static void truncated_file_fails_with_a_clear_error(void)
{
	struct eg_state s, r;
	struct eg_saved_ban b = ban("203.0.113.7", 1900000000, EG_ORIGIN_MANUAL, "x");
	struct eg_lpm_key a = key("10.0.0.0/8");
	struct eg_err e = { 0 };
	size_t len, bad = 0;
	char *text;

	eg_state_init(&s);
	eg_state_add_ban(&s, &b, &e);
	eg_state_add_allow(&s, &a, &e);
	CHECK(eg_state_save(path, &s, &e) == 0, "save: %s", e.msg);
	eg_state_free(&s);
	text = read_file(&len);
	CHECK(text && len > 10, "saved file unreadable");
	if (!text)
		return;
	/* Cut before the closing brace: everything shorter is incomplete JSON. */
	while (len && (text[len - 1] == '\n' || text[len - 1] == '}'))
		len--;
	for (size_t cut = 0; cut <= len; cut++) {
		write_file(text, cut);
		e.msg[0] = '\0';
		if (eg_state_load(path, &r, &e) == 0 || r.nbans || r.nallows ||
		    strncmp(e.msg, path, strlen(path))) {
			if (!bad++)
				CHECK(0, "cut at %zu: accepted or unclear error '%s'", cut, e.msg);
		}
		eg_state_free(&r);
	}
	CHECK_EQ(bad, 0, "truncations not reported");
	write_file(text, 5);
	eg_state_load(path, &r, &e);
	CHECK(strstr(e.msg, "truncated or corrupt"), "message does not say what is wrong: %s", e.msg);
	free(text);
}

static void corrupt_file_names_the_field(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "empty file" },
		{ "\x01\x02garbage", "not valid JSON" },
		{ "[]", "top level must be an object" },
		/* found by tests/fuzz/fuzz_state.c: what followed the object was ignored */
		{ "{\"version\":1,\"bans\":[],\"allows\":[]}\n{\"version\":1,\"bans\":[{", "not valid JSON" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[]}]", "not valid JSON" },
		{ "{\"bans\":[],\"allows\":[]}", "version: missing" },
		{ "{\"version\":99,\"bans\":[],\"allows\":[]}", "version: version 99 is not supported" },
		{ "{\"version\":1,\"allows\":[]}", "bans: missing" },
		{ "{\"version\":1,\"bans\":[{\"source\":\"10.0.0.300\",\"expires_at\":null,\"origin\":\"manual\"}],\"allows\":[]}",
		  "bans[0].source:" },
		{ "{\"version\":1,\"bans\":[{\"source\":\"10.0.0.1\",\"expires_at\":\"soon\",\"origin\":\"manual\"}],\"allows\":[]}",
		  "bans[0].expires_at: must be an integer" },
		{ "{\"version\":1,\"bans\":[{\"source\":\"10.0.0.1\",\"origin\":\"manual\"}],\"allows\":[]}",
		  "bans[0].expires_at: missing" },
		{ "{\"version\":1,\"bans\":[{\"source\":\"10.0.0.1\",\"expires_at\":null,\"origin\":\"martian\"}],\"allows\":[]}",
		  "bans[0].origin: unknown origin 'martian'" },
		{ "{\"version\":1,\"bans\":[{\"source\":\"10.0.0.1\",\"expires_at\":null,\"origin\":\"auto\",\"policy\":64}],\"allows\":[]}",
		  "bans[0].policy: must be between 0 and 63" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[\"10.0.0.1/8\"]}", "allows[0]:" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[17]}", "allows[0]: must be a string" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[{\"cidr\":\"10.0.0.1\",\"origin\":\"auto\"}]}",
		  "allows[0]: \"origin\" must be" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[{\"cidr\":\"10.0.0.1\",\"fleet\":1}]}",
		  "allows[0]: \"fleet\" must be" },
		{ "{\"version\":1,\"bans\":[],\"allows\":[{\"fleet\":true}]}", "allows[0]: must be a string or" },
	};
	struct eg_state r;
	struct eg_err e;
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(cases[i].text, strlen(cases[i].text));
		e.msg[0] = '\0';
		CHECK(eg_state_load(path, &r, &e) != 0, "case %zu accepted", i);
		CHECK_EQ(r.nbans + r.nallows, 0, "entries kept from a rejected file");
		snprintf(want, sizeof(want), "%s: %s", path, cases[i].want);
		CHECK(!strncmp(e.msg, want, strlen(want)), "case %zu: got '%s', want '%s...'", i,
		      e.msg, want);
		eg_state_free(&r);
	}
}

/* eg_state_parse reads what eg_state_format writes, needs no NUL, and names its errors. */
static void parse_from_memory_matches_the_file(void)
{
	struct eg_state s, r;
	struct eg_saved_ban b = ban("198.51.100.0/24", 1900000000, EG_ORIGIN_POLICY, "scanner");
	struct eg_lpm_key a = key("2001:db8::/32");
	struct eg_err e = { 0 };
	char *text, *copy;
	size_t len;

	eg_state_init(&s);
	eg_state_add_ban(&s, &b, &e);
	eg_state_add_allow(&s, &a, &e);
	text = eg_state_format(&s);
	CHECK(text, "format failed");
	if (!text) {
		eg_state_free(&s);
		return;
	}
	/* An unterminated copy: a parser reading past len trips ASan in make check-sanitize. */
	len = strlen(text);
	copy = malloc(len);
	memcpy(copy, text, len);
	CHECK(eg_state_parse(copy, len, "mem", &r, &e) == 0, "parse: %s", e.msg);
	CHECK(eg_state_same(&s, &r), "parsed state differs from the formatted one");
	CHECK(r.nbans == 1 && r.bans[0].expires_at == 1900000000 &&
	      !strcmp(r.bans[0].reason, "scanner"), "ban fields lost");
	eg_state_free(&r);

	CHECK(eg_state_parse(copy, len - 1, "mem", &r, &e) != 0, "a cut text was accepted");
	CHECK(!strncmp(e.msg, "mem: not valid JSON", 19), "got '%s'", e.msg);
	CHECK(eg_state_parse(copy, 0, "mem", &r, &e) != 0, "an empty text was accepted");
	CHECK(!strcmp(e.msg, "mem: empty file (truncated?)"), "got '%s'", e.msg);
	CHECK_EQ(r.nbans + r.nallows, 0, "entries kept from a rejected text");
	free(copy);
	free(text);
	eg_state_free(&s);
}

static void atomic_save_leaves_no_temporary_file(void)
{
	struct eg_state s;
	struct eg_saved_ban b = ban("203.0.113.7", 0, EG_ORIGIN_MANUAL, "");
	struct eg_err e = { 0 };
	struct stat st;
	char bad[sizeof(dir) + 64];

	unlink(path);
	eg_state_init(&s);
	eg_state_add_ban(&s, &b, &e);
	for (int i = 0; i < 3; i++)
		CHECK(eg_state_save(path, &s, &e) == 0, "save %d: %s", i, e.msg);
	CHECK_EQ(count_dir_entries(), 1, "files in the state directory after saves");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "state file mode is not 0600");

	/* A failing rename (the target is a directory) must clean its temporary file up. */
	unlink(path);
	mkdir(path, 0700);
	e.msg[0] = '\0';
	CHECK(eg_state_save(path, &s, &e) != 0, "save over a directory succeeded");
	CHECK(strstr(e.msg, path), "error does not name the file: %s", e.msg);
	CHECK_EQ(count_dir_entries(), 1, "files in the state directory after a failed save");
	rmdir(path);

	snprintf(bad, sizeof(bad), "%s/nosuch/state.json", dir);
	CHECK(eg_state_save(bad, &s, &e) != 0, "save into a missing directory succeeded");
	CHECK(strstr(e.msg, "No such file"), "unclear error: %s", e.msg);
	eg_state_free(&s);
}

/* A hand edit cannot cost a ban, nor smuggle a tab, a newline or broken UTF-8 into logs and JSON. */
static void hand_edited_reason_is_made_printable(void)
{
	const char *text = "{\"version\":1,\"bans\":[{\"source\":\"203.0.113.7\",\"expires_at\":null,"
			   "\"origin\":\"manual\",\"reason\":\"tab\\there\\nnl \xff\xfe end \xc3\xa9\"}],"
			   "\"allows\":[]}";
	struct eg_state r;
	struct eg_err e = { 0 };

	write_file(text, strlen(text));
	CHECK(eg_state_load(path, &r, &e) == 0, "load: %s", e.msg);
	CHECK_EQ(r.nbans, 1, "bans kept");
	if (r.nbans == 1)
		CHECK(!strcmp(r.bans[0].reason, "tab here nl ?? end \xc3\xa9"), "reason '%s'",
		      r.bans[0].reason);
	eg_state_free(&r);
}

/* cJSON turns \u0000 into a NUL that ends the string early: "198.19.9.9\u0000junk" is not an address. */
static void nul_in_state_file_is_refused(void)
{
	static const char *const cases[] = {
		"{\"version\":1,\"bans\":[{\"source\":\"198.19.9.9\\u0000junk\",\"expires_at\":null,\"origin\":\"manual\"}],\"allows\":[]}",
		"{\"version\":1,\"bans\":[],\"allows\":[\"10.0.0.0/8\\u0000x\"]}",
	};
	struct eg_state r;
	struct eg_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(cases[i], strlen(cases[i]));
		e.msg[0] = '\0';
		CHECK(eg_state_load(path, &r, &e) != 0, "case %zu accepted", i);
		CHECK(strstr(e.msg, "NUL"), "case %zu: unclear error '%s'", i, e.msg);
		eg_state_free(&r);
	}
}

struct tally {
	int bans_added, bans_failed, allows_added, allows_failed;
	char error[EG_ERR_LEN];
};

static void tally_restore(const struct eg_restore_report *r, void *ctx)
{
	struct tally *t = ctx;

	if (r->ban && r->result == EG_RESTORE_ADDED)
		t->bans_added++;
	if (r->ban && r->result == EG_RESTORE_FAILED)
		t->bans_failed++;
	if (r->allow && r->result == EG_RESTORE_ADDED)
		t->allows_added++;
	if (r->allow && r->result == EG_RESTORE_FAILED)
		t->allows_failed++;
	if (r->error)
		snprintf(t->error, sizeof(t->error), "%s", r->error);
}

/*
 * A full ban list costs neither the allows (restored first) nor the bans
 * after the first that does not fit: each failure is reported, and what
 * failed is handed back to be kept.
 */
static void restore_puts_allows_first_and_keeps_going(void)
{
	struct eg_sizes sizes = { .max_sources = 1024, .max_bans = 4, .max_allows = 64 };
	struct edgeguard_bpf *skel;
	struct eg_state s, failed;
	struct eg_maps m;
	struct eg_err e = { 0 };
	struct tally t = { 0 };
	struct eg_lpm_key a1 = key("10.0.0.0/8"), a2 = key("192.0.2.10");
	struct eg_allow got;
	char src[32];
	size_t n;

	skel = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sizes }, &e);
	CHECK(skel, "load: %s", e.msg);
	if (!skel)
		return;
	eg_maps_from_skel(skel, &m);
	eg_state_init(&s);
	eg_state_init(&failed);
	for (int i = 1; i <= 6; i++) {
		snprintf(src, sizeof(src), "203.0.113.%d", i);
		struct eg_saved_ban b = ban(src, 0, EG_ORIGIN_MANUAL, "x");

		eg_state_add_ban(&s, &b, &e);
	}
	eg_state_add_allow(&s, &a1, &e);
	eg_state_add_allow(&s, &a2, &e);

	n = eg_state_restore(&m, &s, time(NULL), EG_RESTORE_ALL, tally_restore, &t, &failed);
	CHECK_EQ(n, 2, "entries that did not fit");
	CHECK_EQ(t.bans_added, 4, "bans restored up to the map's size");
	CHECK_EQ(t.bans_failed, 2, "bans reported as failed");
	CHECK_EQ(t.allows_added, 2, "allows restored despite the full ban list");
	CHECK(strstr(t.error, "ban list: the list is full"), "failure does not say why: '%s'", t.error);
	CHECK(bpf_map_lookup_elem(m.allow, &a1, &got) == 0, "10.0.0.0/8 not allowed");
	CHECK(bpf_map_lookup_elem(m.allow, &a2, &got) == 0, "192.0.2.10 not allowed");
	CHECK_EQ(failed.npending_bans, 2, "failed bans handed back as pending");
	CHECK_EQ(failed.nbans + failed.nallows, 0, "failed state holds only pending entries");

	/* Pending entries go to the file and come back from it. */
	CHECK(eg_state_copy_pending(&s, &failed, &e) == 0, "copy: %s", e.msg);
	CHECK(eg_state_save(path, &s, &e) == 0, "save: %s", e.msg);
	struct eg_state r;

	CHECK(eg_state_load(path, &r, &e) == 0, "load: %s", e.msg);
	CHECK_EQ(r.npending_bans, 2, "pending bans read back");
	CHECK_EQ(r.nbans, 6, "bans read back");

	/* Into the same maps only what is pending is tried again. */
	memset(&t, 0, sizeof(t));
	eg_ban_del(&m, &r.bans[0].key, &e); /* an unban made meanwhile must stay made */
	n = eg_state_restore(&m, &r, time(NULL), EG_RESTORE_PENDING, tally_restore, &t, NULL);
	CHECK_EQ(t.bans_added + t.bans_failed, 2, "entries tried into the same maps");
	CHECK_EQ(t.bans_added, 1, "a pending ban fits where the unban made room");
	CHECK_EQ(n, 1, "still pending");
	struct eg_ban cur;

	CHECK(eg_ban_get(&m, &r.bans[0].key, r.bans[0].origin, &cur) == 0,
	      "an address unbanned in these maps came back from the file");
	eg_state_free(&r);
	eg_state_free(&failed);
	eg_state_free(&s);
	edgeguard_bpf__destroy(skel);
}

/* A state knows which maps it came from; ids alone would repeat after a reboot. */
static void origin_tells_these_maps_from_new_ones(void)
{
	struct eg_sizes sizes = { .max_sources = 1024, .max_bans = 16, .max_allows = 16 };
	struct edgeguard_bpf *a = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sizes }, NULL), *b = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sizes }, NULL);
	struct eg_maps ma, mb;
	struct eg_maps_origin oa, ob;
	struct eg_state snap, r;
	struct eg_err e = { 0 };

	CHECK(a && b, "load failed");
	if (!a || !b)
		goto out;
	eg_maps_from_skel(a, &ma);
	eg_maps_from_skel(b, &mb);
	CHECK(eg_maps_origin_read(&ma, &oa, &e) == 0, "origin: %s", e.msg);
	CHECK(eg_maps_origin_read(&mb, &ob, &e) == 0, "origin: %s", e.msg);
	CHECK(strlen(oa.boot_id) == 36, "boot id '%s'", oa.boot_id);
	CHECK(eg_maps_origin_same(&oa, &oa), "maps differ from themselves");
	CHECK(!eg_maps_origin_same(&oa, &ob), "two sets of maps look the same");
	ob = oa;
	ob.boot_id[0] ^= 1;
	CHECK(!eg_maps_origin_same(&oa, &ob), "another boot's maps with the same id look the same");
	memset(&ob, 0, sizeof(ob));
	CHECK(!eg_maps_origin_same(&ob, &ob), "an unknown origin counts as the same maps");

	CHECK(eg_state_snapshot(&ma, &snap, &e) == 0, "snapshot: %s", e.msg);
	CHECK(eg_maps_origin_same(&snap.from, &oa), "a snapshot does not know its maps");
	CHECK(eg_state_save(path, &snap, &e) == 0, "save: %s", e.msg);
	CHECK(eg_state_load(path, &r, &e) == 0, "load: %s", e.msg);
	CHECK(eg_maps_origin_same(&r.from, &oa), "the file lost which maps it came from");
	eg_state_free(&r);
	eg_state_free(&snap);
out:
	edgeguard_bpf__destroy(a);
	edgeguard_bpf__destroy(b);
}

static char *slurp(const char *p)
{
	FILE *fp = fopen(p, "r");
	char *buf = calloc(1, 4096);

	if (fp && buf)
		(void)!fread(buf, 1, 4095, fp);
	if (fp)
		fclose(fp);
	return buf;
}

/* Every corrupt file moved aside keeps its own name: a second one overwrites nothing. */
static void set_aside_never_overwrites(void)
{
	char a[sizeof(path) + 64], b[sizeof(path) + 64], c[sizeof(path) + 64];
	struct eg_err e = { 0 };
	char *t;

	write_file("first", 5);
	CHECK(eg_file_set_aside(path, "corrupt", false, a, sizeof(a), &e) == 0, "1: %s", e.msg);
	write_file("second", 6);
	CHECK(eg_file_set_aside(path, "corrupt", false, b, sizeof(b), &e) == 0, "2: %s", e.msg);
	CHECK(strcmp(a, b), "both moved to %s", a);
	CHECK(access(path, F_OK) != 0, "the original is still there after a move");
	t = slurp(a);
	CHECK(t && !strcmp(t, "first"), "the first copy was overwritten: '%s'", t ? t : "");
	free(t);
	t = slurp(b);
	CHECK(t && !strcmp(t, "second"), "the second copy holds '%s'", t ? t : "");
	free(t);
	write_file("third", 5);
	CHECK(eg_file_set_aside(path, "before-restore", true, c, sizeof(c), &e) == 0, "3: %s",
	      e.msg);
	CHECK(access(path, F_OK) == 0, "a kept copy removed the original");
	t = slurp(c);
	CHECK(t && !strcmp(t, "third"), "the kept copy holds '%s'", t ? t : "");
	free(t);
	unlink(a);
	unlink(b);
	unlink(c);
	unlink(path);
}

/* Whoever can write the state directory decides the next start's bans and allows. */
static void untrusted_state_dir_is_refused(void)
{
	char sub[sizeof(dir) + 16], file[sizeof(dir) + 32], link_path[sizeof(dir) + 32];
	struct eg_err e = { 0 };

	snprintf(sub, sizeof(sub), "%s/st", dir);
	snprintf(file, sizeof(file), "%s/state.json", sub);
	snprintf(link_path, sizeof(link_path), "%s/elsewhere", dir);
	mkdir(sub, 0700);
	CHECK(eg_state_dir_check(sub, file, &e) == 0, "a private directory refused: %s", e.msg);
	chmod(sub, 0777);
	e.msg[0] = '\0';
	CHECK(eg_state_dir_check(sub, file, &e) != 0, "a world-writable directory trusted");
	CHECK(strstr(e.msg, "writable by group or others") && strstr(e.msg, sub),
	      "unclear error: %s", e.msg);
	chmod(sub, 0770);
	CHECK(eg_state_dir_check(sub, file, &e) != 0, "a group-writable directory trusted");
	chmod(sub, 0700);
	CHECK(chown(sub, 65534, 65534) == 0, "chown");
	e.msg[0] = '\0';
	CHECK(eg_state_dir_check(sub, file, &e) != 0, "a directory of another user trusted");
	CHECK(strstr(e.msg, "owned by uid 65534"), "unclear error: %s", e.msg);
	CHECK(chown(sub, 0, 0) == 0, "chown back");
	FILE *fp = fopen(file, "w");

	if (fp)
		fclose(fp);
	chmod(file, 0666);
	CHECK(eg_state_dir_check(sub, file, &e) != 0, "a world-writable state file trusted");
	chmod(file, 0600);
	CHECK(eg_state_dir_check(sub, file, &e) == 0, "a private state file refused: %s", e.msg);
	unlink(file);
	fp = fopen(link_path, "w");
	if (fp)
		fclose(fp);
	CHECK(symlink(link_path, file) == 0, "symlink");
	CHECK(eg_state_dir_check(sub, file, &e) != 0, "a state file that is a link trusted");
	unlink(file);
	unlink(link_path);
	rmdir(sub);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.json", dir);
	RUN(save_round_trip_keeps_every_field);
	RUN(remaining_ttl_counts_from_the_wall_clock);
	RUN(restore_skips_expired_and_keeps_live_bans);
	RUN(missing_file_is_an_empty_state);
	RUN(truncated_file_fails_with_a_clear_error);
	RUN(corrupt_file_names_the_field);
	RUN(parse_from_memory_matches_the_file);
	RUN(atomic_save_leaves_no_temporary_file);
	RUN(hand_edited_reason_is_made_printable);
	RUN(nul_in_state_file_is_refused);
	RUN(restore_puts_allows_first_and_keeps_going);
	RUN(origin_tells_these_maps_from_new_ones);
	RUN(set_aside_never_overwrites);
	RUN(untrusted_state_dir_is_refused);
	unlink(path);
	rmdir(dir);
	return tl_exit_code();
}

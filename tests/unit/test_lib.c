// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The user-space library: address and CIDR parsing, policy validation, and
 * the ban/allow/policy operations on real (loaded, unattached) maps.
 */
#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "apply.h"
#include "lists.h"
#include "datapath.h"
#include "maps.h"
#include "policy.h"
#include "edgeguard.skel.h"
#include "testlib.h"

static void expect_cidr(const char *in, unsigned int plen, const char *formatted)
{
	struct eg_lpm_key k;
	struct eg_err e = { 0 };
	char out[EG_CIDR_STRLEN];

	CHECK(eg_parse_cidr(in, &k, &e) == 0, "'%s' rejected: %s", in, e.msg);
	CHECK_EQ(k.prefixlen, plen, in);
	eg_format_cidr(&k, out, sizeof(out));
	CHECK(!strcmp(out, formatted), "'%s' formats as '%s', want '%s'", in, out, formatted);
}

static void expect_bad_cidr(const char *in, const char *msg)
{
	struct eg_lpm_key k;
	struct eg_err e = { 0 };

	CHECK(eg_parse_cidr(in, &k, &e) == -1, "'%s' accepted", in);
	CHECK(!strcmp(e.msg, msg), "'%s': message '%s', want '%s'", in ? in : "(null)", e.msg, msg);
}

static void cidr_parsing_accepts_hosts_and_networks(void)
{
	expect_cidr("203.0.113.7", EG_FAMILY_BITS + 32, "203.0.113.7");
	expect_cidr("203.0.113.7/32", EG_FAMILY_BITS + 32, "203.0.113.7");
	expect_cidr("198.51.100.0/24", EG_FAMILY_BITS + 24, "198.51.100.0/24");
	expect_cidr("0.0.0.0/0", EG_FAMILY_BITS, "0.0.0.0/0");
	expect_cidr("2001:db8::1", EG_FAMILY_BITS + 128, "2001:db8::1");
	expect_cidr("2001:db8:1:2::/64", EG_FAMILY_BITS + 64, "2001:db8:1:2::/64");
	expect_cidr("::/0", EG_FAMILY_BITS, "::/0");
	/* IPv4-compatible (deprecated) addresses are IPv6 like any other. */
	expect_cidr("::203.0.113.7", EG_FAMILY_BITS + 128, "::203.0.113.7");
	expect_cidr("::/96", EG_FAMILY_BITS + 96, "::/96");
}

/* The families never share a key: no IPv6 prefix covers IPv4, not even ::/0. */
static void families_are_apart(void)
{
	struct eg_lpm_key v4, v6, any6, any4;
	struct eg_err e = { 0 };

	CHECK(eg_parse_cidr("0.0.0.2", &v4, &e) == 0, "%s", e.msg);
	CHECK(eg_parse_cidr("::2", &v6, &e) == 0, "%s", e.msg);
	CHECK(eg_parse_cidr("::/0", &any6, &e) == 0, "%s", e.msg);
	CHECK(eg_parse_cidr("0.0.0.0/0", &any4, &e) == 0, "%s", e.msg);
	CHECK(memcmp(&v4, &v6, sizeof(v4)) != 0, "0.0.0.2 and ::2 are the same key");
	CHECK(eg_key_is_v4(&v4) && !eg_key_is_v4(&v6), "families");
	CHECK(memcmp(&any4, &any6, sizeof(any4)) != 0, "0.0.0.0/0 and ::/0 are the same key");
	CHECK_EQ(v4.addr.family, EG_AF_INET, "IPv4 family");
	CHECK_EQ(any6.addr.family, EG_AF_INET6, "IPv6 family");
}

static void cidr_parsing_rejects_bad_input(void)
{
	expect_bad_cidr("", "empty address");
	expect_bad_cidr("::ffff:203.0.113.7",
			"'::ffff:203.0.113.7' is an IPv4-mapped IPv6 address: no packet comes from one (write an IPv4 source as a.b.c.d)");
	expect_bad_cidr("::ffff:0:0/96",
			"'::ffff:0:0/96' is an IPv4-mapped IPv6 address: no packet comes from one (write an IPv4 source as a.b.c.d)");
	expect_bad_cidr("10.0.0.300", "'10.0.0.300' is not an IPv4 address");
	expect_bad_cidr("banana", "'banana' is not an IPv4 address");
	expect_bad_cidr("2001:db8::g", "'2001:db8::g' is not an IPv6 address");
	expect_bad_cidr("10.0.0.0/33", "'10.0.0.0/33': prefix length 33 is longer than 32");
	expect_bad_cidr("2001:db8::/129", "'2001:db8::/129': prefix length 129 is longer than 128");
	expect_bad_cidr("10.0.0.0/", "'10.0.0.0/': prefix length '' is not a number");
	expect_bad_cidr("10.0.0.0/-1", "'10.0.0.0/-1': prefix length '-1' is not a number");
	expect_bad_cidr("10.0.0.0/8x", "'10.0.0.0/8x': prefix length '8x' is not a number");
	expect_bad_cidr("10.1.2.3/8", "'10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?");
	expect_bad_cidr("2001:db8::1/64",
			"'2001:db8::1/64' has host bits set; did you mean 2001:db8::/64?");
}

static struct eg_policy_table limited_table(void)
{
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	t.def.syn = (struct eg_rate_spec){ .set = true, .rate = 5, .burst = 20 };
	return t;
}

static void expect_invalid(struct eg_policy_table *t, const char *msg)
{
	struct eg_err e = { 0 };

	CHECK(eg_policy_validate(t, &e) == -1, "table accepted, want '%s'", msg);
	CHECK(!strcmp(e.msg, msg), "message '%s', want '%s'", e.msg, msg);
}

static void policy_validation_names_the_field(void)
{
	struct eg_policy_table t = limited_table();
	struct eg_err e = { 0 };

	CHECK(eg_policy_validate(&t, &e) == 0, "valid table rejected: %s", e.msg);

	t.def.syn.rate = 0;
	t.def.syn.burst = 0;
	expect_invalid(&t, "default.syn: rate and burst are both 0 (omit the limit to disable it)");
	t.def.syn.burst = 3;
	expect_invalid(&t, "default.syn.rate: must be at least 1 per second");
	t = limited_table();
	t.def.pkt = (struct eg_rate_spec){ .set = true, .rate = 10, .burst = 0 };
	expect_invalid(&t, "default.packets.burst: must be at least 1");

	t = limited_table();
	t.v6_prefix = 0;
	expect_invalid(&t, "ipv6_prefix: 0 is not between 1 and 128");

	t = limited_table();
	t.def.ban_after = 10;
	expect_invalid(&t, "default.ban_window: must be at least 1 second when ban_after is set");

	t = limited_table();
	t.nrules = 2;
	snprintf(t.rules[0].name, sizeof(t.rules[0].name), "policies[0]");
	t.rules[0].l4 = EG_L4_TCP;
	t.rules[0].port_lo = 8000;
	t.rules[0].port_hi = 8100;
	t.rules[1] = t.rules[0];
	snprintf(t.rules[1].name, sizeof(t.rules[1].name), "policies[1]");
	t.rules[1].port_lo = t.rules[1].port_hi = 8080;
	expect_invalid(&t, "policies[1].port: 8080-8080 overlaps policies[0] (8000-8100)");
	t.rules[1].l4 = EG_L4_UDP; /* same port, other protocol: fine */
	CHECK(eg_policy_validate(&t, &e) == 0, "tcp and udp on one port rejected: %s", e.msg);
	t.rules[1].port_lo = 0;
	t.rules[1].port_hi = 0;
	expect_invalid(&t, "policies[1].port: range 0-0 is empty or starts at 0");
}

static struct edgeguard_bpf *load_small(struct eg_maps *m, uint32_t max_bans)
{
	struct eg_sizes sz = { .max_sources = 1024, .max_bans = max_bans, .max_allows = 16 };
	struct eg_err e = { 0 };
	struct edgeguard_bpf *skel = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sz }, &e);

	CHECK(skel != NULL, "load failed: %s", e.msg);
	if (skel)
		eg_maps_from_skel(skel, m);
	return skel;
}

static struct eg_lpm_key key_of(const char *text)
{
	struct eg_lpm_key k;
	struct eg_err e;

	if (eg_parse_cidr(text, &k, &e))
		memset(&k, 0, sizeof(k));
	return k;
}

static int count_bans(const struct eg_ban_entry *b, void *ctx)
{
	(void)b;
	(*(int *)ctx)++;
	return 0;
}

static void bans_go_to_the_right_map_and_come_back(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 64);
	struct eg_lpm_key host = key_of("203.0.113.7"), net = key_of("198.51.100.0/24"),
			  host6 = key_of("2001:db8::7"), net6 = key_of("2001:db8:1::/48");
	struct eg_ban ban;
	struct eg_err e = { 0 };
	uint64_t before = eg_now_ns();
	int n = 0;

	if (!skel)
		return;
	CHECK(eg_ban_add(&m, &host, 600, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &net, 0, EG_ORIGIN_POLICY, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &host6, 60, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &net6, 60, EG_ORIGIN_FLEET, NULL, &e) == 0, "%s", e.msg);

	CHECK(bpf_map_lookup_elem(m.ban_exact, &host.addr, &ban) == 0, "host not in the exact map");
	CHECK(bpf_map_lookup_elem(m.ban_cidr, &net, &ban) == 0, "CIDR not in the trie");
	CHECK(eg_ban_get(&m, &host, EG_ORIGIN_MANUAL, &ban) == 1, "host ban not found");
	CHECK(ban.expires_ns >= before + 600000000000ULL &&
		      ban.expires_ns <= eg_now_ns() + 600000000000ULL,
	      "expiry %llu not now+600s", (unsigned long long)ban.expires_ns);
	CHECK_EQ(ban.origin, EG_ORIGIN_MANUAL, "origin");
	CHECK(eg_ban_get(&m, &net, EG_ORIGIN_POLICY, &ban) == 1, "CIDR ban not found");
	CHECK_EQ(ban.expires_ns, 0, "permanent ban expiry");
	CHECK_EQ(ban.prefixlen, net.prefixlen, "stored prefix length");
	/* A /25 inside the banned /24 is not itself a ban entry. */
	{
		struct eg_lpm_key inner = key_of("198.51.100.0/25");

		CHECK(eg_ban_get(&m, &inner, EG_ORIGIN_MANUAL, &ban) == 0,
		      "covered /25 reported as its own ban");
	}
	CHECK(eg_ban_foreach(&m, count_bans, &n, &e) == 0, "%s", e.msg);
	CHECK_EQ(n, 4, "bans listed");

	CHECK(eg_ban_del(&m, &host, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_del(&m, &net6, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_del(&m, &host, &e) == -1, "second unban succeeded");
	CHECK(!strcmp(e.msg, "203.0.113.7 is not banned"), "message '%s'", e.msg);
	n = 0;
	eg_ban_foreach(&m, count_bans, &n, &e);
	CHECK_EQ(n, 2, "bans left");
	edgeguard_bpf__destroy(skel);
}

/*
 * An operator's ban and the datapath's own can sit on one key, in two maps;
 * `unban` lifts both, the listing shows both, and the walk that says what
 * drops an address finds a live ban past expired ones, as the datapath does.
 */
static void unban_lifts_the_datapath_ban_too(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 64);
	struct eg_lpm_key k = key_of("2001:db8:7::/64"), wide = key_of("2001:db8::/32");
	struct eg_addr inside;
	struct eg_err e = { 0 };
	struct eg_ban b;
	int n = 0;

	if (!skel)
		return;
	CHECK(eg_parse_addr("2001:db8:7::9", &inside, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &k, 60, EG_ORIGIN_AUTO, "ignored", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &k, 0, EG_ORIGIN_MANUAL, "by hand", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_get(&m, &k, EG_ORIGIN_AUTO, &b) == 1 && b.origin == EG_ORIGIN_AUTO,
	      "datapath ban");
	CHECK(eg_ban_get(&m, &k, EG_ORIGIN_MANUAL, &b) == 1 && b.origin == EG_ORIGIN_MANUAL,
	      "operator ban");
	CHECK(eg_ban_foreach(&m, count_bans, &n, &e) == 0, "%s", e.msg);
	CHECK_EQ(n, 2, "bans listed");
	CHECK(eg_ban_covering(&m, &inside, eg_now_ns(), &b, NULL) == 1, "not covered");
	CHECK(eg_ban_del(&m, &k, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_get(&m, &k, EG_ORIGIN_AUTO, &b) == 0, "datapath ban left after unban");
	CHECK(eg_ban_get(&m, &k, EG_ORIGIN_MANUAL, &b) == 0, "operator ban left after unban");
	CHECK(eg_ban_covering(&m, &inside, eg_now_ns(), &b, NULL) == 0, "still covered");
	CHECK(eg_ban_del(&m, &k, &e) == -1 && !strcmp(e.msg, "2001:db8:7::/64 is not banned"),
	      "second unban: '%s'", e.msg);
	/* Only the datapath's kind: unban works on it alone too. */
	CHECK(eg_ban_add(&m, &k, 60, EG_ORIGIN_AUTO, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_del(&m, &k, &e) == 0, "unban of an auto-ban: %s", e.msg);
	/* Expired over live: the walk goes on to the live one. */
	CHECK(eg_ban_add(&m, &wide, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &k, 1, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_covering(&m, &inside, eg_now_ns() + 5000000000ULL, &b, NULL) == 1 &&
		      b.prefixlen == wide.prefixlen,
	      "the live /32 under an expired /64 was not found");
	edgeguard_bpf__destroy(skel);
}

struct deleting_walk {
	const struct eg_maps *m;
	int seen[2][64]; /* [exact, cidr][last octet] */
	int dups;
};

/* Deletes every other ban it is shown, as edgeguardd's reaper deletes the expired ones. */
static int delete_as_we_go(const struct eg_ban_entry *b, void *ctx)
{
	struct deleting_walk *w = ctx;
	int host = eg_key_is_host(&b->key), last = b->key.addr.a[host ? 3 : 2] & 63;

	if (w->seen[host ? 0 : 1][last]++)
		w->dups++;
	if (last % 2 == 0)
		eg_ban_del(w->m, &b->key, NULL);
	return 0;
}

/*
 * A walk whose callback deletes the entry it is on: the kernel's next-key
 * walk would start again from the first key and show entries twice.
 */
static void walk_survives_deletes_in_the_callback(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 64);
	struct deleting_walk w = { .m = &m };
	struct eg_err e = { 0 };
	char cidr[64];
	int n = 0;

	if (!skel)
		return;
	for (int i = 0; i < 40; i++) {
		struct eg_lpm_key k;

		snprintf(cidr, sizeof(cidr), "198.51.100.%d", i);
		k = key_of(cidr);
		CHECK(eg_ban_add(&m, &k, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
		snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24", i, i);
		k = key_of(cidr);
		CHECK(eg_ban_add(&m, &k, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	}
	CHECK(eg_ban_foreach(&m, delete_as_we_go, &w, &e) == 0, "%s", e.msg);
	CHECK_EQ(w.dups, 0, "entries shown twice");
	for (int i = 0; i < 40; i++) {
		CHECK(w.seen[0][i] == 1, "host .%d shown %d times", i, w.seen[0][i]);
		CHECK(w.seen[1][i] == 1, "network 10.%d.%d.0/24 shown %d times", i, i, w.seen[1][i]);
	}
	CHECK(eg_ban_foreach(&m, count_bans, &n, &e) == 0, "%s", e.msg);
	CHECK_EQ(n, 40, "bans left (the odd ones)");
	edgeguard_bpf__destroy(skel);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The record of a policy in force, staged and put in place (record.h). */
static int write_record(const char *dir, struct eg_err *e)
{
	char text[] = "{}";
	struct eg_policy_record r = { .path = "/etc/edgeguard/policy.json",
				      .hash = "0123456789abcdef",
				      .origin = EG_POLICY_BY_LOAD,
				      .text = text,
				      .text_len = 2 };
	struct eg_staged_file s;

	if (eg_policy_record_stage(dir, &r, &s, e))
		return -1;
	return eg_file_commit(&s, e);
}

/* A record of the policy in force that cannot be written: an error, and no descriptor left open. */
static void failed_policy_record_closes_its_file(void)
{
	char dir[] = "/tmp/eg-test-meta.XXXXXX";
	struct eg_policy_meta meta;
	struct rlimit small, old;
	struct eg_err e = { 0 };
	int before, rc;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	setenv("EDGEGUARD_RUN_DIR", dir, 1);
	signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails (EFBIG) instead of killing us */
	getrlimit(RLIMIT_FSIZE, &old);
	small = (struct rlimit){ .rlim_cur = 1, .rlim_max = old.rlim_max };
	before = open_fds();
	setrlimit(RLIMIT_FSIZE, &small);
	rc = write_record(dir, &e);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(rc == -1, "a record past the file size limit was written");
	CHECK_EQ(e.code, EFBIG, "errno of the failed write");
	CHECK_EQ(open_fds(), before, "open descriptors after the failure");
	CHECK(eg_policy_meta_read(&meta) == -1, "a failed write left a record behind");
	CHECK(write_record(dir, &e) == 0, "a record within the limit: %s", e.msg);
	CHECK(eg_policy_meta_read(&meta) == 0, "the record cannot be read back");
	CHECK(!strcmp(meta.hash, "0123456789abcdef") && meta.origin == EG_POLICY_BY_LOAD,
	      "read back: hash %s, origin %d", meta.hash, meta.origin);
	unsetenv("EDGEGUARD_RUN_DIR");
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/policy", dir);
		unlink(p);
		rmdir(dir);
	}
}

static void full_ban_list_is_a_clear_error(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 2);
	struct eg_err e = { 0 };
	struct eg_lpm_key a = key_of("192.0.2.1"), b = key_of("192.0.2.2"), c = key_of("192.0.2.3");

	if (!skel)
		return;
	CHECK(eg_ban_add(&m, &a, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &b, 0, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(eg_ban_add(&m, &c, 0, EG_ORIGIN_MANUAL, NULL, &e) == -1, "third ban fit in a map of two");
	CHECK(!strcmp(e.msg, "cannot add 192.0.2.3 to the ban list: the list is full (raise its size)"),
	      "message '%s'", e.msg);
	CHECK_EQ(e.code, ENOSPC, "a full list's errno");
	/* Re-banning an address already there still works on a full map. */
	CHECK(eg_ban_add(&m, &a, 60, EG_ORIGIN_MANUAL, NULL, &e) == 0, "re-ban on full map: %s", e.msg);
	edgeguard_bpf__destroy(skel);
}

struct reasons {
	int n;
	char host[EG_BAN_REASON_LEN];
	char net[EG_BAN_REASON_LEN];
};

static int collect_reasons(const struct eg_ban_entry *b, void *ctx)
{
	struct reasons *r = ctx;

	r->n++;
	memcpy(eg_key_is_host(&b->key) ? r->host : r->net, b->reason, EG_BAN_REASON_LEN);
	return 0;
}

static bool note_present(const struct eg_maps *m, const struct eg_lpm_key *k)
{
	struct eg_ban_note note;

	return bpf_map_lookup_elem(m->ban_notes, k, &note) == 0;
}

static void ban_reasons_round_trip_and_go_with_the_ban(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 64);
	struct eg_lpm_key host = key_of("203.0.113.7"), net = key_of("2001:db8:1::/48");
	struct reasons r = { 0 };
	struct eg_err e = { 0 };
	struct eg_ban_note note;
	char got[EG_BAN_REASON_LEN], longest[EG_BAN_REASON_LEN + 1];
	int64_t before = (int64_t)time(NULL);

	if (!skel)
		return;
	CHECK_EQ(eg_map_capacity(m.ban_notes), 128, "notes hold twice max_bans");
	CHECK(eg_ban_add(&m, &host, 600, EG_ORIGIN_MANUAL, "scraper, ticket 123", &e) == 0, "%s",
	      e.msg);
	CHECK(eg_ban_add(&m, &net, 0, EG_ORIGIN_FLEET, "seen at \"edge-2\"", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_foreach(&m, collect_reasons, &r, &e) == 0, "%s", e.msg);
	CHECK_EQ(r.n, 2, "bans listed");
	CHECK(!strcmp(r.host, "scraper, ticket 123"), "host reason '%s'", r.host);
	CHECK(!strcmp(r.net, "seen at \"edge-2\""), "CIDR reason '%s'", r.net);
	CHECK(bpf_map_lookup_elem(m.ban_notes, &host, &note) == 0, "no note for the host");
	CHECK((int64_t)note.created_unix >= before && (int64_t)note.created_unix <= time(NULL),
	      "note time %llu not now", (unsigned long long)note.created_unix);
	CHECK(eg_ban_note_get(&m, &net, got) == 1 && !strcmp(got, r.net), "note_get '%s'", got);

	/* Re-banning replaces the reason; without one, the old one goes. */
	CHECK(eg_ban_add(&m, &host, 60, EG_ORIGIN_MANUAL, "second look", &e) == 0, "%s", e.msg);
	CHECK(eg_ban_note_get(&m, &host, got) == 1 && !strcmp(got, "second look"), "re-ban '%s'",
	      got);
	CHECK(eg_ban_add(&m, &host, 60, EG_ORIGIN_MANUAL, NULL, &e) == 0, "%s", e.msg);
	CHECK(!note_present(&m, &host), "re-ban without a reason kept the old one");
	CHECK(eg_ban_add(&m, &host, 60, EG_ORIGIN_MANUAL, "", &e) == 0, "%s", e.msg);
	CHECK(!note_present(&m, &host), "empty reason stored a note");

	/* Unbanning takes the reason with it. */
	CHECK(eg_ban_del(&m, &net, &e) == 0, "%s", e.msg);
	CHECK(!note_present(&m, &net), "note outlived its ban");
	CHECK_EQ(eg_map_count(m.ban_notes), 0, "notes left");

	/* Refused reasons change nothing. */
	memset(longest, 'x', EG_BAN_REASON_LEN);
	longest[EG_BAN_REASON_LEN] = '\0';
	CHECK(eg_ban_add(&m, &net, 0, EG_ORIGIN_MANUAL, longest, &e) == -1, "too long accepted");
	CHECK(!strcmp(e.msg, "the ban reason is longer than 127 characters"), "message '%s'", e.msg);
	CHECK(eg_ban_add(&m, &net, 0, EG_ORIGIN_MANUAL, "two\nlines", &e) == -1,
	      "newline accepted");
	CHECK(!strcmp(e.msg, "the ban reason contains a control character"), "message '%s'", e.msg);
	CHECK(eg_ban_get(&m, &net, EG_ORIGIN_MANUAL, &(struct eg_ban){ 0 }) == 0, "a refused ban went in");
	longest[EG_BAN_REASON_LEN - 1] = '\0';
	CHECK(eg_ban_add(&m, &net, 0, EG_ORIGIN_MANUAL, longest, &e) == 0, "127 chars: %s", e.msg);
	CHECK(eg_ban_note_get(&m, &net, got) == 1 && !strcmp(got, longest), "longest reason cut");
	edgeguard_bpf__destroy(skel);
}

static void auto_ban_over_a_manual_one_has_no_reason(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 64);
	struct eg_lpm_key host = key_of("192.0.2.9");
	struct reasons r = { 0 };
	struct eg_err e = { 0 };
	struct eg_ban ban;

	if (!skel)
		return;
	CHECK(eg_ban_add(&m, &host, 0, EG_ORIGIN_MANUAL, "by hand", &e) == 0, "%s", e.msg);
	/* What the datapath does: it overwrites the ban and knows nothing of notes. */
	CHECK(eg_ban_get(&m, &host, EG_ORIGIN_MANUAL, &ban) == 1, "ban missing");
	ban.origin = EG_ORIGIN_AUTO;
	ban.trigger = EG_R_SYN_RATE;
	CHECK(bpf_map_update_elem(m.ban_exact, &host.addr, &ban, BPF_ANY) == 0, "overwrite");
	CHECK(eg_ban_foreach(&m, collect_reasons, &r, &e) == 0, "%s", e.msg);
	CHECK_EQ(r.n, 1, "bans listed");
	CHECK(!strcmp(r.host, ""), "auto-ban shows the manual reason '%s'", r.host);
	CHECK(eg_ban_del(&m, &host, &e) == 0, "%s", e.msg);
	CHECK(!note_present(&m, &host), "note outlived the auto-ban");
	edgeguard_bpf__destroy(skel);
}

static int count_allows(const struct eg_allow_entry *a, void *ctx)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static void allowlist_add_list_delete(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 16);
	struct eg_lpm_key lb = key_of("10.0.0.0/8"), v6 = key_of("2001:db8::/32");
	struct eg_err e = { 0 };
	int n = 0;

	if (!skel)
		return;
	CHECK(eg_allow_add(&m, &lb, &e) == 0, "%s", e.msg);
	CHECK(eg_allow_add(&m, &v6, &e) == 0, "%s", e.msg);
	CHECK(eg_allow_foreach(&m, count_allows, &n, &e) == 0, "%s", e.msg);
	CHECK_EQ(n, 2, "allows listed");
	CHECK(eg_allow_del(&m, &lb, &e) == 0, "%s", e.msg);
	CHECK(eg_allow_del(&m, &lb, &e) == -1, "deleted twice");
	CHECK(!strcmp(e.msg, "10.0.0.0/8 is not on the allowlist"), "message '%s'", e.msg);
	edgeguard_bpf__destroy(skel);
}

/* An allow's origin and fleet mark, read back exactly; a plain re-add keeps a fleet-wide one. */
static void allow_origin_and_fleet_mark(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 16);
	struct eg_lpm_key net = key_of("10.0.0.0/8"), host = key_of("10.1.2.3"),
			  other = key_of("192.0.2.0/24");
	struct eg_allow a;
	struct eg_err e = { 0 };

	if (!skel)
		return;
	CHECK(eg_allow_put(&m, &net, EG_ORIGIN_MANUAL, true, &e) == 0, "%s", e.msg);
	CHECK(eg_allow_get(&m, &net, &a) == 1 && a.fleet && a.origin == EG_ORIGIN_MANUAL,
	      "fleet-wide allow read back wrong");
	CHECK(eg_allow_get(&m, &host, &a) == 0, "a covering CIDR taken for an exact entry");
	CHECK(eg_allow_add(&m, &net, &e) == 0 && eg_allow_get(&m, &net, &a) == 1 && a.fleet,
	      "a plain re-add dropped the fleet-wide mark");
	CHECK(eg_allow_put(&m, &other, EG_ORIGIN_FLEET, false, &e) == 0, "%s", e.msg);
	CHECK(eg_allow_get(&m, &other, &a) == 1 && a.origin == EG_ORIGIN_FLEET && !a.fleet,
	      "fleet allow read back wrong");
	CHECK(eg_allow_add(&m, &other, &e) == 0 && eg_allow_get(&m, &other, &a) == 1 &&
	      a.origin == EG_ORIGIN_MANUAL && !a.fleet, "a plain add did not make the fleet's allow this host's");
	edgeguard_bpf__destroy(skel);
}

static uint32_t active_gen(const struct eg_maps *m)
{
	struct eg_config cfg = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(m->config, &zero, &cfg);
	return cfg.active_gen;
}

static void invalid_policy_leaves_the_live_one_alone(void)
{
	struct eg_maps m;
	struct edgeguard_bpf *skel = load_small(&m, 16);
	struct eg_policy_table good = limited_table(), bad = limited_table();
	struct eg_policy live;
	struct eg_err e = { 0 };
	uint32_t gen, idx;

	if (!skel)
		return;
	CHECK(eg_policy_install(&m, &good, &e) == 0, "%s", e.msg);
	gen = active_gen(&m);
	bad.def.syn.burst = 0;
	CHECK(eg_policy_install(&m, &bad, &e) == -1, "invalid table installed");
	CHECK_EQ(active_gen(&m), gen, "generation after a rejected install");
	idx = gen * EG_MAX_POLICIES;
	CHECK(bpf_map_lookup_elem(m.policies, &idx, &live) == 0, "cannot read live policy");
	CHECK_EQ(live.syn.rate, 5, "live syn rate");
	CHECK_EQ(live.syn.interval_ns, 200000000, "interval of 5/s");
	CHECK_EQ(live.syn.tolerance_ns, 19ULL * 200000000, "tolerance of burst 20");

	CHECK(eg_policy_install(&m, &good, &e) == 0, "%s", e.msg);
	CHECK_EQ(active_gen(&m), !gen, "generation after a second install");
	edgeguard_bpf__destroy(skel);
}

int main(void)
{
	libbpf_set_print(NULL);
	RUN(cidr_parsing_accepts_hosts_and_networks);
	RUN(families_are_apart);
	RUN(cidr_parsing_rejects_bad_input);
	RUN(policy_validation_names_the_field);
	RUN(bans_go_to_the_right_map_and_come_back);
	RUN(full_ban_list_is_a_clear_error);
	RUN(walk_survives_deletes_in_the_callback);
	RUN(failed_policy_record_closes_its_file);
	RUN(unban_lifts_the_datapath_ban_too);
	RUN(ban_reasons_round_trip_and_go_with_the_ban);
	RUN(auto_ban_over_a_manual_one_has_no_reason);
	RUN(allowlist_add_list_delete);
	RUN(allow_origin_and_fleet_mark);
	RUN(invalid_policy_leaves_the_live_one_alone);
	return tl_exit_code();
}

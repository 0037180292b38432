// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy files: every bad file in tests/unit/policies/bad/ must fail with exactly
 * the line in its NAME.expect, and every example must parse into the table
 * docs/policy.md promises. Pure user space: nothing is loaded into the kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <unistd.h>
#include "testlib.h"
#include "addr.h"
#include "policy_file.h"

#define BAD_DIR "tests/unit/policies/bad"
#define MIN_BAD_FILES 25

static int parse_str(const char *json, struct eg_policy_file *f, struct eg_err *e)
{
	return eg_policy_file_parse(json, strlen(json), "t.json", f, e);
}

static int key_is(const struct eg_lpm_key *k, const char *cidr)
{
	struct eg_lpm_key want;
	struct eg_err e;

	if (eg_parse_cidr(cidr, &want, &e))
		return 0;
	return !memcmp(k, &want, sizeof(want));
}

/* Reads the one expected line of NAME.expect, without its newline. */
static int read_expect(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return -1;
	if (!fgets(buf, (int)len, fp)) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One case per bad file, named bad/NAME, run from inside the corpus directory so messages say "NAME.json: ...". */
static void run_bad_corpus(void)
{
	char *names[512];
	size_t n = 0, nexpect = 0;
	struct dirent *d;
	DIR *dir;
	int top = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	tl_begin("bad_corpus_complete");
	if (top < 0 || chdir(BAD_DIR)) {
		CHECK(0, "cannot enter %s: %s", BAD_DIR, strerror(errno));
		tl_end();
		if (top >= 0)
			close(top);
		return;
	}
	dir = opendir(".");
	CHECK(dir, "opendir: %s", strerror(errno));
	while (dir && (d = readdir(dir))) {
		size_t len = strlen(d->d_name);

		if (len > 7 && !strcmp(d->d_name + len - 7, ".expect")) {
			char json[300];

			nexpect++;
			snprintf(json, sizeof(json), "%.*s.json", (int)(len - 7), d->d_name);
			CHECK(access(json, F_OK) == 0, "%s has no %s", d->d_name, json);
		}
		if (len > 5 && !strcmp(d->d_name + len - 5, ".json") && n < 512)
			names[n++] = strdup(d->d_name);
	}
	if (dir)
		closedir(dir);
	CHECK(n >= MIN_BAD_FILES, "only %zu bad files, want at least %d", n, MIN_BAD_FILES);
	CHECK_EQ(nexpect, n, "NAME.expect files (one per bad file)");
	tl_end();

	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char title[300], expect_path[300], want[EG_ERR_LEN + 2];
		struct eg_policy_file f;
		struct eg_err e = { 0 };
		size_t len = strlen(names[i]);
		int rc;

		snprintf(title, sizeof(title), "bad/%.*s", (int)(len - 5), names[i]);
		snprintf(expect_path, sizeof(expect_path), "%.*s.expect", (int)(len - 5), names[i]);
		tl_begin(title);
		rc = eg_policy_file_load(names[i], &f, &e);
		CHECK(rc == -1, "%s parsed, but it is in the bad corpus", names[i]);
		if (read_expect(expect_path, want, sizeof(want))) {
			CHECK(0, "cannot read %s", expect_path);
		} else {
			CHECK(!strcmp(e.msg, want), "message\n      got:  %s\n      want: %s", e.msg,
			      want);
		}
		CHECK(!strchr(e.msg, '\n'), "message is not one line");
		/* a failed parse must leave nothing allocated behind */
		CHECK(!f.allow && !f.bans && !f.nallow && !f.nbans, "lists left after failure");
		if (!rc)
			eg_policy_file_free(&f);
		tl_end();
		free(names[i]);
	}
	if (fchdir(top))
		printf("not ok - bad_corpus_chdir_back: %s\n", strerror(errno));
	close(top);
}

static void file_not_found(void)
{
	struct eg_policy_file f;
	struct eg_err e;

	CHECK_EQ(eg_policy_file_load("tests/unit/policies/no-such.json", &f, &e), -1, "rc");
	CHECK(!strcmp(e.msg, "tests/unit/policies/no-such.json: No such file or directory"), "got '%s'",
	      e.msg);
}

static void directory_is_not_a_file(void)
{
	struct eg_policy_file f;
	struct eg_err e;

	CHECK_EQ(eg_policy_file_load("examples", &f, &e), -1, "rc");
	CHECK(!strcmp(e.msg, "examples: Is a directory"), "got '%s'", e.msg);
}

static void every_example_parses(void)
{
	glob_t g;
	int rc = glob("examples/*.json", 0, NULL, &g);

	CHECK_EQ(rc, 0, "glob examples/*.json");
	if (rc)
		return;
	CHECK(g.gl_pathc >= 3, "only %zu examples", g.gl_pathc);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct eg_policy_file f;
		struct eg_err e = { 0 };

		/* The one JSON example that is not a policy: the Grafana dashboard. */
		if (strstr(g.gl_pathv[i], "grafana"))
			continue;
		if (eg_policy_file_load(g.gl_pathv[i], &f, &e)) {
			CHECK(0, "%s", e.msg);
			continue;
		}
		CHECK(!strcmp(f.path, g.gl_pathv[i]), "path '%s'", f.path);
		CHECK_EQ(strlen(f.hash), 16, "hash length");
		eg_policy_file_free(&f);
	}
	globfree(&g);
}

/* The websocket rule as docs/policy.md describes it; mode differs between the two examples. */
static void check_websocket_rule(const struct eg_policy_file *f, unsigned int mode)
{
	const struct eg_policy_spec *r = &f->table.rules[0];

	CHECK_EQ(f->table.nrules, 1, "nrules");
	CHECK(!strcmp(r->name, "policies[0]"), "name '%s'", r->name);
	CHECK(!strcmp(r->label, "websocket"), "label '%s'", r->label);
	CHECK_EQ(r->l4, EG_L4_TCP, "l4");
	CHECK_EQ(r->port_lo, 4001, "port_lo");
	CHECK_EQ(r->port_hi, 4001, "port_hi");
	CHECK(r->syn.set, "syn limit set");
	CHECK_EQ(r->syn.rate, 5, "syn.rate");
	CHECK_EQ(r->syn.burst, 20, "syn.burst");
	CHECK(!r->pkt.set, "no packets limit");
	CHECK_EQ(r->max_conns, 10, "max_conns");
	CHECK_EQ(r->ban_after, 20, "ban_after");
	CHECK_EQ(r->ban_window_s, 10, "ban_window");
	CHECK_EQ(r->ban_ttl_s, 600, "ban_ttl");
	CHECK_EQ(r->mode, mode, "mode");
	CHECK_EQ(f->table.v6_prefix, 64, "ipv6_prefix");
	CHECK(!f->table.def.syn.set && !f->table.def.pkt.set, "default has no limits");
	CHECK_EQ(f->table.def.ban_after, 0, "default ban_after");
	CHECK_EQ(f->nallow, 1, "nallow");
	CHECK(f->nallow == 1 && key_is(&f->allow[0], "10.0.0.0/8"), "allow[0] is 10.0.0.0/8");
	CHECK_EQ(f->nbans, 0, "nbans");
}

static void example_websocket_gateway(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (eg_policy_file_load("examples/websocket-gateway.json", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	check_websocket_rule(&f, EG_MODE_ENFORCE);
	CHECK_EQ(f.sizes.max_sources, EG_DEFAULT_MAX_SOURCES, "max_sources default");
	CHECK_EQ(f.sizes.max_bans, EG_DEFAULT_MAX_BANS, "max_bans default");
	CHECK_EQ(f.sizes.max_allows, EG_DEFAULT_MAX_ALLOWS, "max_allows default");
	eg_policy_file_free(&f);
}

static void example_dry_run(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (eg_policy_file_load("examples/dry-run.json", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	check_websocket_rule(&f, EG_MODE_DRY_RUN);
	eg_policy_file_free(&f);
}

static void example_api_behind_nginx(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };
	const struct eg_policy_spec *r = f.table.rules;

	if (eg_policy_file_load("examples/api-behind-nginx.json", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.nrules, 2, "nrules");
	for (unsigned int i = 0; i < 2 && i < f.table.nrules; i++) {
		CHECK_EQ(r[i].l4, EG_L4_TCP, "l4");
		CHECK_EQ(r[i].port_lo, i ? 443 : 80, "port_lo");
		CHECK_EQ(r[i].port_hi, i ? 443 : 80, "port_hi");
		CHECK_EQ(r[i].syn.rate, 100, "syn.rate");
		CHECK_EQ(r[i].syn.burst, 200, "syn.burst");
		CHECK_EQ(r[i].pkt.rate, 2000, "packets.rate");
		CHECK_EQ(r[i].pkt.burst, 4000, "packets.burst");
		CHECK_EQ(r[i].ban_after, 1000, "ban_after");
		CHECK_EQ(r[i].ban_ttl_s, 300, "ban_ttl");
		CHECK_EQ(r[i].mode, EG_MODE_ENFORCE, "mode defaults to enforce");
	}
	CHECK(!strcmp(r[0].label, "http") && !strcmp(r[1].label, "https"), "labels");
	/* the default: a packets limit whose burst defaults to its rate */
	CHECK(f.table.def.pkt.set, "default packets set");
	CHECK_EQ(f.table.def.pkt.rate, 10000, "default packets.rate");
	CHECK_EQ(f.table.def.pkt.burst, 10000, "default packets.burst = rate");
	CHECK(!f.table.def.syn.set, "default syn unset");
	CHECK(!strcmp(f.table.def.name, "default"), "default name '%s'", f.table.def.name);
	CHECK_EQ(f.nallow, 2, "nallow");
	CHECK(f.nallow == 2 && key_is(&f.allow[0], "192.0.2.10"), "allow[0]");
	CHECK(f.nallow == 2 && eg_key_is_host(&f.allow[0]), "allow[0] is a host");
	CHECK(f.nallow == 2 && key_is(&f.allow[1], "2001:db8:100::/56"), "allow[1]");
	CHECK(f.nallow == 2 && eg_key_plen(&f.allow[1]) == 56, "allow[1] prefixlen");
	CHECK_EQ(f.nbans, 2, "nbans");
	if (f.nbans == 2) {
		CHECK(key_is(&f.bans[0].key, "198.51.100.0/24"), "bans[0].cidr");
		CHECK_EQ(f.bans[0].ttl_s, 0, "bans[0].ttl permanent");
		CHECK(!strcmp(f.bans[0].reason, "known scanner"), "reason '%s'", f.bans[0].reason);
		CHECK(key_is(&f.bans[1].key, "2001:db8:bad::/48"), "bans[1].cidr");
		CHECK_EQ(f.bans[1].ttl_s, 86400, "bans[1].ttl");
	}
	eg_policy_file_free(&f);
	eg_policy_file_free(&f); /* freeing twice is allowed */
}

static void defaults_applied(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };
	const struct eg_policy_spec *r = &f.table.rules[0];

	if (parse_str("{\"policies\": [{\"port\": 80, \"syn\": {\"rate\": 7}, \"ban_after\": 3}]}",
		      &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(r->syn.burst, 7, "burst defaults to rate");
	CHECK_EQ(r->ban_window_s, 10, "ban_window default");
	CHECK_EQ(r->ban_ttl_s, 600, "ban_ttl default");
	CHECK_EQ(r->l4, EG_L4_TCP, "protocol default");
	CHECK_EQ(r->mode, EG_MODE_ENFORCE, "mode default");
	CHECK(!strcmp(r->label, "policies[0]"), "label default '%s'", r->label);
	CHECK(!r->pkt.set, "packets unset");
	CHECK_EQ(r->max_conns, 0, "max_conns default");
	CHECK_EQ(f.table.v6_prefix, EG_DEFAULT_V6_PREFIX, "ipv6_prefix default");
	CHECK(!strcmp(f.path, "t.json"), "path '%s'", f.path);
	eg_policy_file_free(&f);

	/* without ban_after, window and TTL keep what was written (nothing) */
	if (parse_str("{\"policies\": [{\"port\": 80, \"syn\": {\"rate\": 7}}]}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(r->ban_after, 0, "no ban_after");
	CHECK_EQ(r->ban_window_s, 0, "no ban_window");
	CHECK_EQ(r->ban_ttl_s, 0, "no ban_ttl");
	eg_policy_file_free(&f);

	/* an explicit ban_ttl of 0 (permanent auto-bans) is kept */
	if (parse_str("{\"default\": {\"packets\": {\"rate\": 1, \"burst\": 1}, \"ban_after\": 1,"
		      " \"ban_ttl\": 0}}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.def.ban_ttl_s, 0, "ban_ttl 0 kept");
	CHECK_EQ(f.table.def.ban_window_s, 10, "ban_window default in default");
	eg_policy_file_free(&f);
}

static void empty_object_is_unlimited(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (parse_str("{}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.nrules, 0, "nrules");
	CHECK(!f.table.def.syn.set && !f.table.def.pkt.set, "no limits");
	CHECK_EQ(f.table.def.mode, EG_MODE_ENFORCE, "mode");
	CHECK(!strcmp(f.table.def.label, "default"), "label '%s'", f.table.def.label);
	CHECK_EQ(f.nallow + f.nbans, 0, "no lists");
	CHECK_EQ(f.sizes.max_sources, EG_DEFAULT_MAX_SOURCES, "max_sources");
	CHECK(!strcmp(f.hash, "08f44b07b5901a25"), "FNV-1a 64 of \"{}\" is %s", f.hash);
	eg_policy_file_free(&f);
}

static void autoban_section(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	CHECK(parse_str("{}", &f, &e) == 0, "%s", e.msg);
	CHECK_EQ(f.table.v6_autoban_floor, EG_DEFAULT_V6_AUTOBAN_FLOOR, "default floor");
	CHECK_EQ(f.table.escalate_after, EG_DEFAULT_ESCALATE_AFTER, "default escalate_after");
	CHECK_EQ(f.sizes.max_autobans, EG_DEFAULT_MAX_AUTOBANS, "default max_autobans");
	eg_policy_file_free(&f);
	if (parse_str("{\"autoban\": {\"ipv6_escalate_to\": 56, \"escalate_after\": 0,"
		      " \"comment\": \"never\"}, \"limits\": {\"max_autobans\": 1000}}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.v6_autoban_floor, 56, "ipv6_escalate_to");
	CHECK_EQ(f.table.escalate_after, 0, "escalate_after 0: never");
	CHECK_EQ(f.sizes.max_autobans, 1000, "limits.max_autobans");
	eg_policy_file_free(&f);
}

static void ipv6_cidrs(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (parse_str("{\"ipv6_prefix\": 56, \"allow\": [\"2001:db8::/32\", \"2001:db8:1::5\","
		      " \"::/0\"], \"bans\": [{\"cidr\": \"2001:db8:bad::/48\", \"ttl\": 60},"
		      " {\"cidr\": \"2001:db8:2::1\"}]}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.v6_prefix, 56, "ipv6_prefix");
	CHECK_EQ(f.nallow, 3, "nallow");
	if (f.nallow == 3) {
		const uint8_t *a0 = f.allow[0].addr.a;

		CHECK_EQ(eg_key_plen(&f.allow[0]), 32, "allow[0] prefixlen");
		CHECK(a0[0] == 0x20 && a0[1] == 0x01 && a0[2] == 0x0d && a0[3] == 0xb8,
		      "allow[0] bytes");
		CHECK(eg_key_is_host(&f.allow[1]), "allow[1] is a host");
		CHECK(key_is(&f.allow[1], "2001:db8:1::5"), "allow[1]");
		CHECK_EQ(eg_key_plen(&f.allow[2]), 0, "::/0");
		CHECK_EQ(f.allow[2].addr.family, EG_AF_INET6, "::/0 is IPv6 only");
	}
	CHECK_EQ(f.nbans, 2, "nbans");
	if (f.nbans == 2) {
		CHECK_EQ(eg_key_plen(&f.bans[0].key), 48, "bans[0] prefixlen");
		CHECK_EQ(f.bans[0].ttl_s, 60, "bans[0] ttl");
		CHECK(eg_key_is_host(&f.bans[1].key), "bans[1] host");
		CHECK_EQ(f.bans[1].ttl_s, 0, "ttl defaults to permanent");
		CHECK(!f.bans[1].reason[0], "no reason");
	}
	eg_policy_file_free(&f);

	CHECK_EQ(parse_str("{\"allow\": [\"2001:db8::1/32\"]}", &f, &e), -1, "host bits");
	CHECK(!strcmp(e.msg, "t.json: allow[0]: '2001:db8::1/32' has host bits set; did you mean "
			     "2001:db8::/32?"), "got '%s'", e.msg);
	CHECK_EQ(parse_str("{\"allow\": [\"2001:db8:::1\"]}", &f, &e), -1, "bad v6");
	CHECK(!strcmp(e.msg, "t.json: allow[0]: '2001:db8:::1' is not an IPv6 address"),
	      "got '%s'", e.msg);
}

static void port_ranges(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };
	const struct eg_policy_spec *r = f.table.rules;

	/* the same range on tcp and udp does not overlap; 1 and 65535 are the edges */
	if (parse_str("{\"policies\": [{\"ports\": \"8000-8100\", \"syn\": {\"rate\": 1}},"
		      " {\"ports\": \"8000-8100\", \"protocol\": \"udp\", \"packets\": {\"rate\": 9}},"
		      " {\"ports\": \"53\", \"protocol\": \"udp\"},"
		      " {\"ports\": \"1-7999\"}, {\"ports\": \"8101-65535\"}]}", &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.table.nrules, 5, "nrules");
	CHECK(r[0].port_lo == 8000 && r[0].port_hi == 8100 && r[0].l4 == EG_L4_TCP, "rule 0");
	CHECK(r[1].port_lo == 8000 && r[1].port_hi == 8100 && r[1].l4 == EG_L4_UDP, "rule 1");
	CHECK(r[2].port_lo == 53 && r[2].port_hi == 53 && r[2].l4 == EG_L4_UDP, "rule 2");
	CHECK(r[3].port_lo == 1 && r[3].port_hi == 7999, "rule 3");
	CHECK(r[4].port_lo == 8101 && r[4].port_hi == 65535, "rule 4");
	eg_policy_file_free(&f);

	CHECK_EQ(parse_str("{\"policies\": [{\"ports\": \"80-\"}]}", &f, &e), -1, "80-");
	CHECK(!strcmp(e.msg, "t.json: policies[0].ports: '80-' is not a port range (expected "
			     "\"LOW-HIGH\", e.g. \"8000-8100\")"), "got '%s'", e.msg);
	CHECK_EQ(parse_str("{\"policies\": [{\"ports\": \"1-2-3\"}]}", &f, &e), -1, "1-2-3");
	CHECK(strstr(e.msg, "'1-2-3' is not a port range"), "got '%s'", e.msg);
	CHECK_EQ(parse_str("{\"policies\": [{\"ports\": \" 80\"}]}", &f, &e), -1, "space");
	CHECK_EQ(parse_str("{\"policies\": [{\"ports\": \"99999999999999999999-1\"}]}", &f, &e),
		 -1, "huge");
	CHECK(strstr(e.msg, "is not between 1 and 65535"), "got '%s'", e.msg);
}

static void comments_and_limits(void)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (parse_str("{\"comment\": \"top\", \"limits\": {\"comment\": \"l\", \"max_sources\": 1,"
		      " \"max_bans\": 16777216, \"max_allows\": 2}, \"default\": {\"comment\": \"d\"},"
		      " \"policies\": [{\"comment\": \"p\", \"port\": 1, \"syn\": {\"comment\": \"s\","
		      " \"rate\": 1}}], \"allow\": [\"10.0.0.0/8\", \"10.1.0.0/16\"],"
		      " \"bans\": [{\"comment\": \"b\", \"cidr\": \"203.0.113.7\", \"reason\": \"r\"}]}",
		      &f, &e)) {
		CHECK(0, "%s", e.msg);
		return;
	}
	CHECK_EQ(f.sizes.max_sources, 1, "max_sources");
	CHECK_EQ(f.sizes.max_bans, 1U << 24, "max_bans");
	CHECK_EQ(f.sizes.max_allows, 2, "max_allows");
	CHECK_EQ(f.nallow, 2, "allow fits exactly");
	CHECK(f.nbans == 1 && !strcmp(f.bans[0].reason, "r"), "ban reason");
	eg_policy_file_free(&f);

	CHECK_EQ(parse_str("{\"limits\": {\"max_allows\": 1}, \"allow\": [\"10.0.0.0/8\","
			   " \"10.1.0.0/16\"]}", &f, &e), -1, "allow over limit");
	CHECK(!strcmp(e.msg, "t.json: allow: 2 entries do not fit in limits.max_allows (1)"),
	      "got '%s'", e.msg);
}

static void text_need_not_be_terminated(void)
{
	const char text[] = "{\"ipv6_prefix\": 48}GARBAGE";
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	CHECK_EQ(eg_policy_file_parse(text, 19, "t.json", &f, &e), 0, "rc");
	CHECK_EQ(f.table.v6_prefix, 48, "ipv6_prefix");
	eg_policy_file_free(&f);
	CHECK_EQ(eg_policy_file_parse(text, sizeof(text) - 1, "t.json", &f, &e), -1, "garbage");
	CHECK(!strcmp(e.msg, "t.json: line 1: JSON syntax error near 'GARBAGE'"), "got '%s'",
	      e.msg);
	CHECK_EQ(eg_policy_file_parse("{}\0{}", 5, "t.json", &f, &e), -1, "NUL byte");
	CHECK(!strcmp(e.msg, "t.json: line 1: NUL byte (is this a JSON text file?)"), "got '%s'",
	      e.msg);
}

static void hash_follows_bytes(void)
{
	struct eg_policy_file a, b;
	struct eg_err e = { 0 };

	CHECK_EQ(parse_str("{ }", &a, &e), 0, "a");
	CHECK_EQ(parse_str("{  }", &b, &e), 0, "b");
	CHECK(strcmp(a.hash, b.hash), "different bytes, same hash %s", a.hash);
	eg_policy_file_free(&a);
	eg_policy_file_free(&b);
	/* load and parse of the same bytes agree */
	CHECK_EQ(eg_policy_file_load("examples/dry-run.json", &a, &e), 0, "load");
	{
		FILE *fp = fopen("examples/dry-run.json", "r");
		char buf[8192];
		size_t n = fp ? fread(buf, 1, sizeof(buf), fp) : 0;

		if (fp)
			fclose(fp);
		CHECK_EQ(eg_policy_file_parse(buf, n, "x", &b, &e), 0, "parse");
		CHECK(!strcmp(a.hash, b.hash), "%s vs %s", a.hash, b.hash);
		eg_policy_file_free(&b);
	}
	eg_policy_file_free(&a);
}

/* Tens of thousands of entries must not make the duplicate check quadratic. */
static void large_lists(void)
{
	const unsigned int n = 60000;
	size_t cap = (size_t)n * 32 + 128, off = 0;
	char *buf = malloc(cap);
	struct eg_policy_file f;
	struct eg_err e = { 0 };

	if (!buf) {
		CHECK(0, "malloc");
		return;
	}
	off += (size_t)snprintf(buf + off, cap - off, "{\"limits\": {\"max_allows\": %u}, \"allow\": [",
				n);
	for (unsigned int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s\"10.%u.%u.0/24\"", i ? "," : "",
					i >> 8, i & 0xff);
	off += (size_t)snprintf(buf + off, cap - off, "]}");
	CHECK_EQ(eg_policy_file_parse(buf, off, "big.json", &f, &e), 0, "parse");
	CHECK_EQ(f.nallow, n, "nallow");
	CHECK(f.nallow == n && key_is(&f.allow[n - 1], "10.234.95.0/24"), "last entry");
	eg_policy_file_free(&f);

	/* a repeat at the very end is found and named */
	memcpy(buf + off - 2, ",\"10.0.1.0/24\"]}", 17);
	CHECK_EQ(eg_policy_file_parse(buf, strlen(buf), "big.json", &f, &e), -1, "dup");
	CHECK(!strcmp(e.msg, "big.json: allow[60000]: 10.0.1.0/24 is already listed as allow[1]"),
	      "got '%s'", e.msg);
	free(buf);
}

static void go_to_repo_root(const char *argv0)
{
	char *copy, *dir;

	if (access(BAD_DIR, F_OK) == 0)
		return;
	/* build/tests/test_policy_file -> repo root */
	copy = strdup(argv0);
	if (!copy)
		return;
	dir = dirname(copy);
	if (chdir(dir) || chdir("../.."))
		printf("# cannot find the repository root from %s\n", argv0);
	free(copy);
}

int main(int argc, char **argv)
{
	(void)argc;
	go_to_repo_root(argv[0]);
	run_bad_corpus();
	RUN(file_not_found);
	RUN(directory_is_not_a_file);
	RUN(every_example_parses);
	RUN(example_websocket_gateway);
	RUN(example_dry_run);
	RUN(example_api_behind_nginx);
	RUN(defaults_applied);
	RUN(empty_object_is_unlimited);
	RUN(ipv6_cidrs);
	RUN(autoban_section);
	RUN(port_ranges);
	RUN(comments_and_limits);
	RUN(text_need_not_be_terminated);
	RUN(hash_follows_bytes);
	RUN(large_lists);
	return tl_exit_code();
}

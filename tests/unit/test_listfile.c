// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Ban and allow list files (user/import/listfile.h): columns, comments,
 * CRLF, TTLs through eg_parse_duration, and every bad line rejected with its
 * own line number and reason while the good ones are still read.
 */
#include <stdlib.h>
#include <unistd.h>
#include "listfile.h"
#include "testlib.h"

static void parse(const char *text, bool addr_only, struct eg_list_file *f)
{
	struct eg_err e = { 0 };

	CHECK(eg_list_file_parse(text, strlen(text), addr_only, f, &e) == 0, "parse: %s", e.msg);
}

static void columns_comments_and_defaults(void)
{
	struct eg_list_file f;
	char cidr[EG_CIDR_STRLEN];

	parse("# scrapers, ticket 4711\n"
	      "203.0.113.7\n"
	      "\n"
	      "198.51.100.0/24   4h\tscraper farm  \n"
	      "2001:db8:bad::/48 permanent  abuse report 123\r\n"
	      "192.0.2.9  -  default TTL # a comment, not the reason\n"
	      "   192.0.2.10 600",
	      false, &f);
	CHECK_EQ(f.n, 5, "entries");
	CHECK_EQ(f.nrejects, 0, "rejects");
	if (f.n != 5) {
		eg_list_file_free(&f);
		return;
	}
	eg_format_cidr(&f.lines[0].key, cidr, sizeof(cidr));
	CHECK(!strcmp(cidr, "203.0.113.7") && !f.lines[0].has_ttl && !f.lines[0].reason[0] &&
		      f.lines[0].line == 2,
	      "line 2: %s", cidr);
	CHECK(f.lines[1].has_ttl && f.lines[1].ttl_s == 4 * 3600 &&
		      !strcmp(f.lines[1].reason, "scraper farm") && f.lines[1].line == 4,
	      "line 4: ttl %u reason '%s'", f.lines[1].ttl_s, f.lines[1].reason);
	CHECK(f.lines[2].has_ttl && f.lines[2].ttl_s == 0 &&
		      !strcmp(f.lines[2].reason, "abuse report 123"),
	      "line 5 (CRLF, permanent): '%s'", f.lines[2].reason);
	CHECK(!f.lines[3].has_ttl && !strcmp(f.lines[3].reason, "default TTL"),
	      "line 6 ('-' and a trailing comment): '%s'", f.lines[3].reason);
	CHECK(f.lines[4].has_ttl && f.lines[4].ttl_s == 600 && f.lines[4].line == 7,
	      "line 7 (no newline at the end)");
	eg_list_file_free(&f);
}

static void every_bad_line_is_named(void)
{
	static const struct {
		uint32_t line;
		const char *msg;
	} want[] = {
		{ 2, "'bogus' is not an IPv4 address" },
		{ 3, "TTL: '5x' is not a duration: seconds (600), or 90s, 10m, 4h, 7d, or permanent" },
		{ 4, "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" },
		{ 5, "the reason is longer than 127 characters" },
		{ 6, "'::ffff:1.2.3.4' is an IPv4-mapped IPv6 address: no packet comes from one (write an IPv4 source as a.b.c.d)" },
	};
	char text[1024], longr[200];
	struct eg_list_file f;

	memset(longr, 'x', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "192.0.2.1\nbogus\n10.0.0.1 5x\n10.0.0.1/8\n10.0.0.2 1h %s\n::ffff:1.2.3.4\n192.0.2.2\n",
		 longr);
	parse(text, false, &f);
	CHECK_EQ(f.n, 2, "good lines kept");
	CHECK_EQ(f.nrejects, 5, "bad lines");
	for (size_t i = 0; i < f.nrejects && i < 5; i++)
		CHECK(f.rejects[i].line == want[i].line && !strcmp(f.rejects[i].msg, want[i].msg),
		      "reject %zu: line %u '%s', want line %u '%s'", i, f.rejects[i].line,
		      f.rejects[i].msg, want[i].line, want[i].msg);
	eg_list_file_free(&f);
}

static void control_characters_and_nul_are_rejected(void)
{
	static const char text[] = "192.0.2.1 1h bad\x01reason\n192.0.2\0.3\n192.0.2.4\n";
	struct eg_list_file f;
	struct eg_err e = { 0 };

	CHECK(eg_list_file_parse(text, sizeof(text) - 1, false, &f, &e) == 0, "%s", e.msg);
	CHECK_EQ(f.n, 1, "only the clean line");
	CHECK_EQ(f.nrejects, 2, "rejects");
	if (f.nrejects == 2)
		CHECK(f.rejects[0].line == 1 && f.rejects[1].line == 2, "lines %u %u",
		      f.rejects[0].line, f.rejects[1].line);
	eg_list_file_free(&f);
}

static void addresses_only_for_unban_and_allow(void)
{
	struct eg_list_file f;

	parse("192.0.2.1 5x whatever\n198.51.100.0/24 4h reason\n", true, &f);
	CHECK_EQ(f.n, 2, "entries");
	CHECK_EQ(f.nrejects, 0, "other columns are not read");
	eg_list_file_free(&f);
}

static void reads_a_file_within_its_limit(void)
{
	char path[] = "/tmp/egi-test-listfile.XXXXXX", *buf;
	struct eg_err e = { 0 };
	size_t len;
	int fd = mkstemp(path);

	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	CHECK(write(fd, "192.0.2.1\n192.0.2.2\n", 20) == 20, "write");
	close(fd);
	CHECK(eg_read_input(path, 100, &buf, &len, &e) == 0 && len == 20 && buf[20] == '\0',
	      "read: %s", e.msg);
	free(buf);
	CHECK(eg_read_input(path, 10, &buf, &len, &e) == -1 && strstr(e.msg, "larger than 10"),
	      "limit: '%s'", e.msg);
	unlink(path);
	CHECK(eg_read_input(path, 10, &buf, &len, &e) == -1 && strstr(e.msg, "cannot open"),
	      "missing: '%s'", e.msg);
}

int main(void)
{
	RUN(columns_comments_and_defaults);
	RUN(every_bad_line_is_named);
	RUN(control_characters_and_nul_are_rejected);
	RUN(addresses_only_for_unban_and_allow);
	RUN(reads_a_file_within_its_limit);
	return tl_exit_code();
}

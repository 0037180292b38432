// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control protocol's request parser and the shared text checks
 * (user/control/control_proto.h, user/core/text.h). Pure user space: no maps, no socket.
 */
#include <stdlib.h>
#include "addr.h"
#include "control_proto.h"
#include "testlib.h"
#include "text.h"

static int parse(const char *line, struct eg_ctl_request *r, struct eg_err *e)
{
	return eg_ctl_parse_request(line, strlen(line), r, e);
}

static void text_check_takes_one_printable_line(void)
{
	static const char *const good[] = {
		"", "scraper, ticket 123", "caf\xc3\xa9", "\xe2\x9c\x93 \xf0\x9f\x98\x80", "tab-free",
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "two\nlines", "control character" },
		{ "tab\there", "control character" },
		{ "del\x7f", "control character" },
		{ "c1 \xc2\x85 nel", "invisible" },
		{ "line \xe2\x80\xa8 sep", "invisible" },
		{ "bidi \xe2\x80\xae override", "invisible" },
		{ "bad \xff byte", "not valid UTF-8 (byte 5)" },
		{ "overlong \xc0\xaf", "not valid UTF-8" },
		{ "surrogate \xed\xa0\x80", "not valid UTF-8" },
		{ "too high \xf4\x90\x80\x80", "not valid UTF-8" },
		{ "cut \xe2\x9c", "not valid UTF-8" },
	};
	struct eg_err e;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(eg_text_check(good[i], &e) == 0, "'%s' refused: %s", good[i], e.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		CHECK(eg_text_check(bad[i].text, &e) != 0, "case %zu accepted", i);
		CHECK(strstr(e.msg, bad[i].why), "case %zu: '%s', want '%s'", i, e.msg, bad[i].why);
	}
}

static void sanitize_leaves_valid_text_only(void)
{
	char out[16];
	struct eg_err e;

	eg_text_sanitize("a\tb\xff" "c\xc3\xa9", out, sizeof(out));
	CHECK(!strcmp(out, "a b?c\xc3\xa9"), "got '%s'", out);
	CHECK(eg_text_check(out, &e) == 0, "sanitized text refused: %s", e.msg);
	/* Cut on a character boundary, never inside one. */
	eg_text_sanitize("abc\xc3\xa9", out, 5);
	CHECK(!strcmp(out, "abc"), "got '%s'", out);
	eg_text_sanitize("\xe2\x80\xae", out, sizeof(out));
	CHECK(!strcmp(out, " "), "got '%s'", out);
}

static void json_nul_found_in_strings_only_as_escapes(void)
{
	static const struct {
		const char *text;
		long at;
	} cases[] = {
		{ "{\"a\":\"x\\u0000y\"}", 7 },
		{ "{\"a\\u0000\":1}", 3 },
		{ "{\"a\":\"x\\\\u0000y\"}", -1 }, /* an escaped backslash, then plain text */
		{ "{\"a\":\"\\\"\\u0000\"}", 8 },
		{ "{\"a\":\"\\u00000\"}", 6 },
		{ "{\"a\":\"\\u0001\"}", -1 },
		{ "{\"a\":\"\\u000\"}", -1 },
		{ "{\"a\":1}", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(eg_json_find_nul(cases[i].text, strlen(cases[i].text)), cases[i].at,
			 cases[i].text);
	CHECK_EQ(eg_json_find_nul("{\"a\":\"x\0\"}", 10), 7, "raw NUL byte");
}

/* "198.19.9.9\u0000junk" would be read as 198.19.9.9 by anyone who trusts the C string. */
static void request_with_nul_is_refused(void)
{
	static const char *const lines[] = {
		"{\"cmd\":\"ban\",\"cidr\":\"198.19.9.9\\u0000junk\"}",
		"{\"cmd\":\"unban\",\"cidr\":\"198.19.9.9\\u0000\"}",
		"{\"cmd\":\"ban\",\"cidr\":\"198.19.9.9\",\"reason\":\"ok\\u0000hidden\"}",
		"{\"cmd\":\"ping\\u0000x\"}",
	};
	struct eg_ctl_request r;
	struct eg_err e;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		e.msg[0] = '\0';
		CHECK(parse(lines[i], &r, &e) != 0, "accepted: %s", lines[i]);
		CHECK(strstr(e.msg, "NUL"), "unclear error for %s: %s", lines[i], e.msg);
	}
}

static void request_text_must_be_printable_utf8(void)
{
	struct eg_ctl_request r;
	struct eg_err e = { 0 };

	CHECK(parse("{\"cmd\":\"ban\",\"cidr\":\"198.19.9.9\",\"reason\":\"bad \xff\"}", &r, &e) != 0,
	      "invalid UTF-8 reason accepted");
	CHECK(strstr(e.msg, "not valid UTF-8"), "error: %s", e.msg);
	CHECK(parse("{\"cmd\":\"ban\",\"cidr\":\"198.19.9.9\",\"reason\":\"a\\nb\"}", &r, &e) != 0,
	      "a reason of two lines accepted");
	/* An address that is not text at all is refused without being echoed raw. */
	CHECK(parse("{\"cmd\":\"ban\",\"cidr\":\"\xff\xfe\"}", &r, &e) != 0, "garbage cidr accepted");
	CHECK(eg_text_check(e.msg, &(struct eg_err){ .msg = "" }) == 0, "error echoes raw bytes: %s",
	      e.msg);
	CHECK(parse("{\"cmd\":\"ban\",\"cidr\":\"198.19.9.9\",\"\xff\":1}", &r, &e) != 0,
	      "unknown binary field accepted");
	CHECK(eg_text_check(e.msg, &(struct eg_err){ .msg = "" }) == 0, "error echoes raw bytes: %s",
	      e.msg);
}

static void request_fields_are_strict(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "", "one JSON object" },
		{ "[]", "one JSON object" },
		{ "{\"cmd\":\"ping\"} {}", "text after it" },
		{ "{\"cmd\":\"fly\"}", "unknown \"cmd\"" },
		{ "{\"cmd\":7}", "\"cmd\" is missing or not a string" },
		{ "{\"cidr\":\"10.0.0.1\"}", "\"cmd\" is missing" },
		{ "{\"cmd\":\"ban\"}", "\"cidr\" is missing" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"ttl\":-1}", "\"ttl\" must be" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"ttl\":1.5}", "\"ttl\" must be" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"ttl\":1e300}", "\"ttl\" must be" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"ttl\":\"5\"}", "\"ttl\" must be" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1/8\"}", "host bits" },
		{ "{\"cmd\":\"unban\",\"cidr\":\"10.0.0.1\",\"ttl\":5}", "takes no field \"ttl\"" },
		{ "{\"cmd\":\"ping\",\"cidr\":\"10.0.0.1\"}", "takes no field \"cidr\"" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"fleet\":true}", "takes no field \"fleet\"" },
		{ "{\"cmd\":\"allow_del\",\"cidr\":\"10.0.0.1\",\"fleet\":true}", "takes no field \"fleet\"" },
		{ "{\"cmd\":\"allow_add\",\"cidr\":\"10.0.0.1\",\"fleet\":1}", "\"fleet\" must be true or false" },
		{ "{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"cidr\":\"10.0.0.2\"}", "given twice" },
		{ "{\"cmd\":\"ping\",\"cmd\":\"ping\"}", "given twice" },
		{ "{\"cmd\":\"ping\",\"id\":\"\"}", "\"id\" must be" },
		{ "{\"cmd\":\"ping\",\"id\":\"a b\"}", "\"id\" must be" },
		{ "{\"cmd\":\"ping\",\"id\":5}", "\"id\" must be" },
		{ "{\"cmd\":\"ping\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		  "\"id\" must be" },
	};
	struct eg_ctl_request r;
	struct eg_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		CHECK(parse(bad[i].line, &r, &e) != 0, "accepted: %s", bad[i].line);
		CHECK(strstr(e.msg, bad[i].why), "%s: got '%s', want '%s'", bad[i].line, e.msg,
		      bad[i].why);
	}
	/* The id of a request refused for another reason is kept for the error reply. */
	CHECK(parse("{\"cmd\":\"ban\",\"id\":\"abc-1\"}", &r, &e) != 0, "ban without cidr");
	CHECK(!strcmp(r.id, "abc-1"), "id lost: '%s'", r.id);
}

static void request_round_trips(void)
{
	struct eg_ctl_request in = { .cmd = EG_CTL_BAN, .ttl_s = 600 }, out;
	struct eg_err e = { 0 };
	char *line;

	CHECK(eg_ctl_new_id(in.id, &e) == 0, "id: %s", e.msg);
	CHECK(eg_ctl_id_valid(in.id), "a fresh id is not valid: %s", in.id);
	CHECK(eg_parse_cidr("2001:db8::/48", &in.key, &e) == 0, "cidr: %s", e.msg);
	snprintf(in.reason, sizeof(in.reason), "said \"hi\" \xe2\x80\x94 twice");
	line = eg_ctl_format_request(&in);
	CHECK(line, "format failed");
	if (!line)
		return;
	CHECK(!strchr(line, '\n'), "formatted request is more than one line: %s", line);
	CHECK(eg_ctl_parse_request(line, strlen(line), &out, &e) == 0, "%s: %s", line, e.msg);
	CHECK(out.cmd == in.cmd && out.ttl_s == in.ttl_s && !strcmp(out.id, in.id) &&
	      !memcmp(&out.key, &in.key, sizeof(in.key)) && !strcmp(out.reason, in.reason),
	      "round trip changed the request: %s", line);
	CHECK(eg_ctl_request_hash(&out) == eg_ctl_request_hash(&in), "hash differs after round trip");
	out.ttl_s++;
	CHECK(eg_ctl_request_hash(&out) != eg_ctl_request_hash(&in), "hash ignores the ttl");
	free(line);
	CHECK(parse("{\"cmd\":\"ping\"}  \r", &out, &e) == 0, "trailing blanks: %s", e.msg);
	CHECK(parse("{\"cmd\":\"ban\",\"cidr\":\"10.0.0.1\",\"ttl\":null,\"reason\":null}", &out, &e) == 0,
	      "nulls: %s", e.msg);
	/* A fleet-wide allow: "fleet" goes out, comes back, and makes another request. */
	memset(&in, 0, sizeof(in));
	in.cmd = EG_CTL_ALLOW_ADD;
	in.fleet = true;
	CHECK(eg_parse_cidr("198.51.100.0/24", &in.key, &e) == 0, "cidr: %s", e.msg);
	line = eg_ctl_format_request(&in);
	CHECK(line && strstr(line, "\"fleet\":true"), "fleet allow formatted as %s", line ? line : "NULL");
	CHECK(line && eg_ctl_parse_request(line, strlen(line), &out, &e) == 0 && out.fleet &&
	      out.cmd == EG_CTL_ALLOW_ADD, "fleet allow read back wrong: %s", line ? line : "NULL");
	free(line);
	out.fleet = false;
	CHECK(eg_ctl_request_hash(&out) != eg_ctl_request_hash(&in), "hash ignores fleet");
	CHECK(parse("{\"cmd\":\"allow_add\",\"cidr\":\"10.0.0.1\"}", &out, &e) == 0 && !out.fleet,
	      "a plain allow_add: %s", e.msg);
	CHECK(!eg_ctl_cmd_changes(EG_CTL_STATUS) && eg_ctl_cmd_changes(EG_CTL_ALLOW_DEL),
	      "which commands change the lists");
}

int main(void)
{
	RUN(text_check_takes_one_printable_line);
	RUN(sanitize_leaves_valid_text_only);
	RUN(json_nul_found_in_strings_only_as_escapes);
	RUN(request_with_nul_is_refused);
	RUN(request_text_must_be_printable_utf8);
	RUN(request_fields_are_strict);
	RUN(request_round_trips);
	return tl_exit_code();
}

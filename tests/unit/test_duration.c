// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Durations as operators write them (user/core/duration.h): every form
 * taken, every form refused with the text named, ten years the limit, and
 * formatting that reads back as the same number of seconds.
 */
#include <errno.h>
#include <stdlib.h>
#include "duration.h"
#include "testlib.h"

static void parses(const char *in, uint64_t want)
{
	struct eg_err e = { 0 };
	uint64_t got = 12345;

	CHECK(eg_parse_duration(in, &got, &e) == 0, "'%s' refused: %s", in, e.msg);
	CHECK(got == want, "'%s': got %llu s, want %llu s", in, (unsigned long long)got,
	      (unsigned long long)want);
}

static void refuses(const char *in, int code, const char *msg_part)
{
	struct eg_err e = { 0 };
	uint64_t got = 12345;

	CHECK(eg_parse_duration(in, &got, &e) == -1, "'%s' accepted as %llu s", in,
	      (unsigned long long)got);
	CHECK(e.code == code, "'%s': code %d, want %d", in, e.code, code);
	CHECK(strstr(e.msg, msg_part) != NULL, "'%s': message '%s' lacks '%s'", in, e.msg,
	      msg_part);
	CHECK(got == 12345, "'%s': the output changed on failure", in);
}

static void every_form_is_taken(void)
{
	parses("0", 0);
	parses("permanent", 0);
	parses("600", 600);
	parses("90s", 90);
	parses("10m", 600);
	parses("4h", 14400);
	parses("7d", 604800);
	parses("3650d", EG_DURATION_MAX_S);
	parses("315360000", EG_DURATION_MAX_S);
}

static void bad_forms_are_refused_by_name(void)
{
	refuses("", EINVAL, "'' is not a duration");
	refuses("-5", EINVAL, "'-5' is not a duration");
	refuses("+5", EINVAL, "is not a duration");
	refuses("10x", EINVAL, "'10x' is not a duration");
	refuses("10mm", EINVAL, "is not a duration");
	refuses("1h30m", EINVAL, "is not a duration");
	refuses("m", EINVAL, "is not a duration");
	refuses(" 10", EINVAL, "is not a duration");
	refuses("10 ", EINVAL, "is not a duration");
	refuses("Permanent", EINVAL, "is not a duration");
	refuses("1\n", EINVAL, "'1\\n' is not a duration");
	refuses("3651d", ERANGE, "longer than ten years");
	refuses("315360001", ERANGE, "longer than ten years");
	refuses("99999999999999999999999", ERANGE, "longer than ten years");
}

static void formats_read_back(void)
{
	static const uint64_t cases[] = { 0, 1, 59, 60, 61, 3600, 86400, 93784, 604800,
					  EG_DURATION_MAX_S };
	static const char *const want[] = { "permanent", "1s", "59s", "1m", "1m1s", "1h",
					    "1d", "1d2h3m4s", "7d", "3650d" };
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		eg_format_duration(cases[i], out, sizeof(out));
		CHECK(!strcmp(out, want[i]), "%llu s: '%s', want '%s'",
		      (unsigned long long)cases[i], out, want[i]);
	}
	eg_format_duration(93784, out, 5);
	CHECK(strlen(out) < 5, "a small buffer overflowed: '%s'", out);
}

int main(void)
{
	RUN(every_form_is_taken);
	RUN(bad_forms_are_refused_by_name);
	RUN(formats_read_back);
	return tl_exit_code();
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Error messages are one line of printable UTF-8 whatever they quote: the CLI
 * prints them as one line, the daemon puts them in JSON events and replies.
 * Found by tests/fuzz (policy, cidr and state targets): a newline, a control
 * character or a byte that is not UTF-8 in the input was copied into the message.
 */
#include <errno.h>
#include <stdlib.h>
#include "addr.h"
#include "error.h"
#include "persist.h"
#include "pins.h"
#include "policy_file.h"
#include "testlib.h"

static void expect_msg(const char *in, const char *want)
{
	struct eg_err e;

	eg_fail(&e, "%s", in);
	CHECK(!strcmp(e.msg, want), "'%s': got '%s', want '%s'", in, e.msg, want);
}

static void control_characters_are_escaped(void)
{
	expect_msg("a\nb", "a\\nb");
	expect_msg("a\tb\rc", "a\\tb\\rc");
	expect_msg("\x01\x1b[31m\x7f", "\\x01\\x1b[31m\\x7f");
	expect_msg("C1 \xc2\x9b", "C1 \\xc2\\x9b");
}

static void invalid_utf8_is_escaped_valid_is_kept(void)
{
	expect_msg("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80");
	expect_msg("\xff", "\\xff");
	expect_msg("\x80x", "\\x80x");
	expect_msg("\xc0\xaf", "\\xc0\\xaf");         /* overlong '/' */
	expect_msg("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a UTF-16 surrogate */
	expect_msg("\xe2\x82", "\\xe2\\x82");         /* cut short */
	expect_msg("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
}

static void escaping_twice_changes_nothing(void)
{
	struct eg_err once, twice;

	eg_fail(&once, "x\n\xff\xc3\xa9\\n");
	eg_fail(&twice, "%s", once.msg);
	CHECK(!strcmp(once.msg, twice.msg), "'%s' became '%s'", once.msg, twice.msg);
}

/* A long message is cut at a character or escape boundary, never inside one. */
static void long_messages_are_cut_cleanly(void)
{
	char in[3 * EG_ERR_LEN];
	struct eg_err e;
	size_t n;

	for (size_t i = 0; i + 2 < sizeof(in); i += 2)
		memcpy(in + i, "\xc3\xa9", 2);
	in[sizeof(in) - 1 - (sizeof(in) - 1) % 2] = '\0';
	eg_fail(&e, "%s", in);
	n = strlen(e.msg);
	CHECK(n < EG_ERR_LEN && n % 2 == 0 && n >= EG_ERR_LEN - 2, "%zu bytes of e-acute", n);

	memset(in, '\n', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	eg_fail(&e, "%s", in);
	n = strlen(e.msg);
	CHECK(n < EG_ERR_LEN && n % 2 == 0 && e.msg[n - 1] == 'n', "cut inside an escape: %zu", n);
}

/* The parsers' messages, where the fuzzers found raw input copied through. */
static void parser_messages_are_one_line(void)
{
	static const char policy[] =
		"{\"policies\": [{\"port\": 80, \"protocol\": \"t\\ncp\"}]}";
	static const char state[] = "{\"version\":1,\"bans\":[],\"allows\":[\"10.0.0.\x01/8\"]}";
	struct eg_policy_file f;
	struct eg_lpm_key k;
	struct eg_state s;
	struct eg_err e;

	CHECK(eg_policy_file_parse(policy, strlen(policy), "p.json", &f, &e), "policy accepted");
	CHECK(!strcmp(e.msg, "p.json: policies[0].protocol: 't\\ncp' is not tcp or udp"),
	      "got '%s'", e.msg);
	CHECK(eg_parse_cidr("f\x98" "80::1", &k, &e), "address accepted");
	CHECK(!strcmp(e.msg, "'f\\x9880::1' is not an IPv6 address"), "got '%s'", e.msg);
	CHECK(eg_state_parse(state, strlen(state), "s.json", &s, &e), "state accepted");
	CHECK(!strcmp(e.msg, "s.json: allows[0]: '10.0.0.\\x01' is not an IPv4 address"),
	      "got '%s'", e.msg);
}

/* Callers branch on the errno a failure came from, never on the text. */
static void errors_keep_their_errno(void)
{
	struct eg_err e = { 0 };

	eg_fail(&e, "plain");
	CHECK_EQ(e.code, 0, "eg_fail code");
	eg_fail_errno(&e, ENOSPC, "cannot add %s", "x");
	CHECK_EQ(e.code, ENOSPC, "eg_fail_errno code");
	CHECK(!strcmp(e.msg, "cannot add x: No space left on device"), "message '%s'", e.msg);
	eg_fail_code(&e, EPERM, "needs root");
	CHECK(e.code == EPERM && !strcmp(e.msg, "needs root"), "eg_fail_code: %d '%s'", e.code,
	      e.msg);
	CHECK_EQ(eg_fail_errno(NULL, EIO, "nobody listens"), -1, "NULL e");
	/* The pinned maps of a directory that holds none: ENOENT, whatever the words. */
	setenv("EDGEGUARD_BPF_DIR", "/sys/fs/bpf/edgeguard-test-no-such-dir", 1);
	{
		struct eg_maps m;

		CHECK(eg_maps_open_pinned(&m, &e) == -1, "opened maps that are not there");
		CHECK_EQ(e.code, ENOENT, "code of a missing pin");
	}
}

int main(void)
{
	RUN(errors_keep_their_errno);
	RUN(control_characters_are_escaped);
	RUN(invalid_utf8_is_escaped_valid_is_kept);
	RUN(escaping_twice_changes_nothing);
	RUN(long_messages_are_cut_cleanly);
	RUN(parser_messages_are_one_line);
	return tl_exit_code();
}

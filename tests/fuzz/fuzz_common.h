/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): an assertion that
 * survives -DNDEBUG and names the broken invariant, and the check every
 * library error message must pass.
 */
#ifndef EG_FUZZ_COMMON_H
#define EG_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"

/* abort() makes libFuzzer save the input as a crash; the message says which invariant broke. */
#define FZ_ASSERT(cond, ...)                                                              \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "invariant broken at %s:%d: %s\n  ", __FILE__,    \
				__LINE__, #cond);                                         \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
			abort();                                                          \
		}                                                                         \
	} while (0)

/*
 * The length of the UTF-8 sequence at s (at most n bytes) if it is well formed
 * (no overlong forms, surrogates or code points above U+10FFFF), else 0.
 */
static inline size_t fz_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * One line a terminal shows as it is and a JSON encoder passes through: valid
 * UTF-8 with no control character (C0, DEL or C1). NULL says what is wrong.
 */
static inline const char *fz_text_problem(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text), len;

	while (*p) {
		if (*p < 0x20 || *p == 0x7f)
			return "a control character";
		len = fz_utf8_len(p, n - (size_t)(p - (const unsigned char *)text));
		if (!len)
			return "invalid UTF-8";
		if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return "a C1 control character";
		p += len;
	}
	return NULL;
}

/* A library error: not empty, starts with prefix (the name given to the parser), one line. */
static inline void fz_check_error(const struct eg_err *e, const char *prefix)
{
	const char *why;

	FZ_ASSERT(memchr(e->msg, '\0', sizeof(e->msg)), "error message not terminated");
	FZ_ASSERT(strlen(e->msg) > strlen(prefix), "empty error message: '%s'", e->msg);
	FZ_ASSERT(!strncmp(e->msg, prefix, strlen(prefix)), "'%s' does not start with '%s'",
		  e->msg, prefix);
	why = fz_text_problem(e->msg);
	FZ_ASSERT(!why, "error message has %s: '%s'", why, e->msg);
}

#endif

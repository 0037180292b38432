/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal test harness: each test binary prints one "ok - NAME" or
 * "not ok - NAME: why" line per test case; tests/run.sh adds them up.
 * CHECK records a failure and keeps going so one run shows every problem.
 */
#ifndef EG_TESTLIB_H
#define EG_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int tl_failed_cases, tl_case_failed;
static const char *tl_case;

#define CHECK(cond, ...)                                                            \
	do {                                                                        \
		if (!(cond)) {                                                      \
			if (!tl_case_failed)                                        \
				printf("not ok - %s: ", tl_case);                   \
			else                                                        \
				printf("    also: ");                               \
			printf(__VA_ARGS__);                                        \
			printf(" [%s:%d: %s]\n", __FILE__, __LINE__, #cond);        \
			tl_case_failed = 1;                                         \
		}                                                                   \
	} while (0)

#define CHECK_EQ(a, b, what)                                                        \
	CHECK((long long)(a) == (long long)(b), "%s: got %lld, want %lld", what,    \
	      (long long)(a), (long long)(b))

static inline void tl_begin(const char *name)
{
	tl_case = name;
	tl_case_failed = 0;
}

static inline void tl_end(void)
{
	if (tl_case_failed)
		tl_failed_cases++;
	else
		printf("ok - %s\n", tl_case);
	fflush(stdout);
}

/* Runs fn as one named case. */
#define RUN(fn)                      \
	do {                         \
		tl_begin(#fn);       \
		fn();                \
		tl_end();            \
	} while (0)

static inline int tl_exit_code(void)
{
	return tl_failed_cases ? 1 : 0;
}

#endif

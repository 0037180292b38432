// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "error.h"
#include "text.h"

/*
 * Messages quote what they were given (a file's strings, argv, a client's
 * request) and end up on one line of stderr, in JSON events and in
 * control-socket replies: escape whatever would break either.
 */
static int fail_v(struct eg_err *e, int code, const char *suffix, const char *fmt, va_list ap)
{
	char raw[4 * EG_ERR_LEN];
	int n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(raw))
		snprintf(raw + n, sizeof(raw) - (size_t)n, ": %s", suffix);
	e->code = code;
	eg_text_escape(e->msg, sizeof(e->msg), raw);
	return -1;
}

int eg_fail(struct eg_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	fail_v(e, 0, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int eg_fail_code(struct eg_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	fail_v(e, code, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int eg_fail_errno(struct eg_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	fail_v(e, err, strerror(err), fmt, ap);
	va_end(ap);
	return -1;
}

int eg_fail_at(struct eg_err *e, const char *file, const char *path, const char *fmt, ...)
{
	char reason[EG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (path && *path)
		return eg_fail(e, "%s: %s: %s", file, path, reason);
	return eg_fail(e, "%s: %s", file, reason);
}

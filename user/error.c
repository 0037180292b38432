// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include "error.h"
#include "text.h"

int eg_fail(struct eg_err *e, const char *fmt, ...)
{
	char raw[4 * EG_ERR_LEN];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/*
	 * Messages quote what they were given (a file's strings, argv, a
	 * client's request) and end up on one line of stderr, in JSON events and
	 * in control-socket replies: escape whatever would break either.
	 */
	eg_text_escape(e->msg, sizeof(e->msg), raw);
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

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "error.h"
#include "text.h"

/*
 * Messages quote what they were given (an address, a file name, a field)
 * and end up in JSON replies, events and terminals: one printable line of
 * UTF-8, whatever the quoted text held.
 */
static void tidy(struct eg_err *e)
{
	char clean[EG_ERR_LEN];

	eg_text_sanitize(e->msg, clean, sizeof(clean));
	memcpy(e->msg, clean, sizeof(clean));
}

int eg_fail(struct eg_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	tidy(e);
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

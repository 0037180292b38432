// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include "error.h"

int eg_fail(struct eg_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
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

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "duration.h"
#include "text.h"

static const struct {
	char unit;
	uint64_t seconds;
} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

int eg_parse_duration(const char *s, uint64_t *seconds, struct eg_err *e)
{
	char quoted[64];
	uint64_t v = 0, mult = 1;
	const char *p = s;

	eg_text_escape(quoted, sizeof(quoted), s);
	if (!strcmp(s, "permanent")) {
		*seconds = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > EG_DURATION_MAX_S)
			goto too_long;
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *p; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || p[1])
			goto bad;
		mult = units[i].seconds;
	}
	if (v > EG_DURATION_MAX_S / mult)
		goto too_long;
	*seconds = v * mult;
	return 0;
bad:
	return eg_fail_code(e, EINVAL,
			    "'%s' is not a duration: seconds (600), or 90s, 10m, 4h, 7d, or permanent",
			    quoted);
too_long:
	return eg_fail_code(e, ERANGE, "'%s' is longer than ten years", quoted);
}

void eg_format_duration(uint64_t seconds, char *out, size_t size)
{
	size_t used = 0;

	if (!size)
		return;
	out[0] = '\0';
	if (!seconds) {
		snprintf(out, size, "permanent");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < size; i++) {
		uint64_t n = seconds / units[i].seconds;
		int w;

		if (!n)
			continue;
		seconds -= n * units[i].seconds;
		w = snprintf(out + used, size - used, "%llu%c", (unsigned long long)n, units[i].unit);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

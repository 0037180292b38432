// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include "addr.h"
#include "events.h"
#include "maps.h"

static FILE *out_fp;

void ev_set_output(FILE *fp)
{
	out_fp = fp;
}

bool ev_to_file(void)
{
	return out_fp && out_fp != stdout;
}

static void rfc3339(char *buf, size_t len, int64_t wall_ns)
{
	time_t secs = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)((wall_ns % 1000000000LL) / 1000000));
}

static int64_t wall_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static cJSON *ev_new_wall(const char *event, int64_t wall_ns)
{
	cJSON *o = cJSON_CreateObject();
	char ts[48];

	if (!o)
		return NULL;
	rfc3339(ts, sizeof(ts), wall_ns);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "event", event);
	return o;
}

cJSON *ev_new(const char *event)
{
	return ev_new_wall(event, wall_now_ns());
}

cJSON *ev_new_at_boot_ns(const char *event, uint64_t boot_ns)
{
	int64_t ago = (int64_t)(eg_now_ns() - boot_ns);

	return ev_new_wall(event, wall_now_ns() - (ago > 0 ? ago : 0));
}

void ev_add_source(cJSON *o, const struct eg_lpm_key *k)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	cJSON_AddStringToObject(o, "source", cidr);
}

void ev_emit(cJSON *o)
{
	FILE *fp = out_fp ? out_fp : stdout;
	char *line;

	if (!o)
		return;
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return;
	fputs(line, fp);
	fputc('\n', fp);
	fflush(fp);
	free(line);
}

int daemon_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	fputs("edgeguardd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

void ev_error(const char *event, const char *msg)
{
	cJSON *o = ev_new(event);

	cJSON_AddStringToObject(o, "error", msg);
	ev_emit(o);
	/* Under systemd stdout and stderr are both the journal: say it there once. */
	if (ev_to_file())
		fprintf(stderr, "edgeguardd: %s\n", msg);
}

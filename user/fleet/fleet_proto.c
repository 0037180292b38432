// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "duration.h"
#include "fleet_proto.h"
#include "maps.h"
#include "text.h"

#define CHANNEL "events"

/* Key kinds and ops by their enum value (index 0 unused). */
static const char *const kinds[] = { NULL, "ban:", "unban:", "allow:", "unallow:" };
static const char *const ops[] = { NULL, "ban", "unban", "allow", "unallow" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

enum eg_fleet_op eg_fleet_key_op(enum eg_fleet_key_kind kind)
{
	return (enum eg_fleet_op)kind; /* the same order */
}

enum eg_fleet_key_kind eg_fleet_op_key(enum eg_fleet_op op)
{
	return (enum eg_fleet_key_kind)op;
}

int eg_fleet_check_host(const char *name, struct eg_err *e)
{
	char q[EG_FLEET_HOST_LEN * 4 + 1];
	size_t n = strlen(name);

	if (!n)
		return eg_fail(e, "the fleet host name is empty");
	eg_text_escape(q, sizeof(q), name);
	if (n >= EG_FLEET_HOST_LEN)
		return eg_fail(e, "the fleet host name '%s' is longer than %d characters", q,
			       EG_FLEET_HOST_LEN - 1);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
		return eg_fail(e, "the fleet host name '%s' may hold only letters, digits, '.', '-' and '_'",
			       q);
	return 0;
}

int eg_fleet_check_prefix(const char *prefix, struct eg_err *e)
{
	char q[EG_FLEET_PREFIX_LEN * 4 + 1];
	size_t n = strlen(prefix);

	eg_text_escape(q, sizeof(q), prefix);
	if (!n)
		return eg_fail(e, "the Redis key prefix is empty");
	if (n >= EG_FLEET_PREFIX_LEN)
		return eg_fail(e, "the Redis key prefix '%s' is longer than %d characters", q,
			       EG_FLEET_PREFIX_LEN - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)prefix[i];

		if (c <= ' ' || c >= 0x7f || strchr("*?[]\\", c))
			return eg_fail(e, "the Redis key prefix '%s' may hold only printable ASCII without spaces or any of *?[]\\",
				       q);
	}
	return 0;
}

void eg_fleet_key(const char *prefix, enum eg_fleet_key_kind kind, const struct eg_lpm_key *k,
		  char *out, size_t size)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	snprintf(out, size, "%s%s%s", prefix, kinds[kind], cidr);
}

void eg_fleet_channel(const char *prefix, char *out, size_t size)
{
	snprintf(out, size, "%s%s", prefix, CHANNEL);
}

void eg_fleet_scan_pattern(const char *prefix, char *out, size_t size)
{
	snprintf(out, size, "%s*", prefix);
}

int eg_fleet_key_parse(const char *prefix, const char *name, size_t len,
		       enum eg_fleet_key_kind *kind, struct eg_lpm_key *k, struct eg_err *e)
{
	char text[EG_FLEET_MAX_KEY + 1], q[sizeof(text) * 4];
	size_t plen = strlen(prefix), rest;
	struct eg_err why = { 0 };
	const char *p;

	if (len > EG_FLEET_MAX_KEY || memchr(name, '\0', len)) {
		memcpy(text, name, len < EG_FLEET_MAX_KEY ? len : EG_FLEET_MAX_KEY);
		text[len < EG_FLEET_MAX_KEY ? len : EG_FLEET_MAX_KEY] = '\0';
		eg_text_escape(q, sizeof(q), text);
		return eg_fail(e, "key '%s...' is not a fleet key: too long or holds a NUL", q);
	}
	memcpy(text, name, len);
	text[len] = '\0';
	eg_text_escape(q, sizeof(q), text);
	if (len < plen || memcmp(text, prefix, plen))
		return eg_fail(e, "key '%s' is not under the prefix '%s'", q, prefix);
	p = text + plen;
	rest = len - plen;
	*kind = 0;
	for (size_t i = 1; i < NKINDS; i++) {
		if (rest > strlen(kinds[i]) && !memcmp(p, kinds[i], strlen(kinds[i]))) {
			*kind = (enum eg_fleet_key_kind)i;
			p += strlen(kinds[i]);
			break;
		}
	}
	if (!*kind)
		return eg_fail(e, "key '%s' is none of %sban:, unban:, allow: or unallow: and a CIDR", q,
			       prefix);
	if (eg_parse_cidr(p, k, &why))
		return eg_fail(e, "key '%s': %s", q, why.msg);
	return 0;
}

char *eg_fleet_msg_format(const struct eg_fleet_msg *m)
{
	cJSON *o = cJSON_CreateObject();
	char cidr[EG_CIDR_STRLEN], *text;

	if (!o)
		return NULL;
	eg_format_cidr(&m->key, cidr, sizeof(cidr));
	cJSON_AddNumberToObject(o, "v", EG_FLEET_VERSION);
	cJSON_AddStringToObject(o, "op", ops[m->op]);
	cJSON_AddStringToObject(o, "host", m->host);
	cJSON_AddStringToObject(o, "address", cidr);
	if (m->op == EG_FLEET_BAN) {
		cJSON_AddNumberToObject(o, "ttl", m->ttl_s);
		cJSON_AddStringToObject(o, "reason", m->reason);
		cJSON_AddStringToObject(o, "origin", eg_origin_name(m->origin));
		if (m->trigger[0])
			cJSON_AddStringToObject(o, "trigger", m->trigger);
		else
			cJSON_AddNullToObject(o, "trigger");
	}
	cJSON_AddNumberToObject(o, "ts", (double)m->ts_ms);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* ---- parsing ---- */

static const cJSON *field(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A whole number in [min, max] (JSON numbers are doubles: 2^53 is exact). */
static int whole(const cJSON *o, const char *name, double min, double max, double *out,
		 struct eg_err *e)
{
	const cJSON *v = field(o, name);

	if (!v)
		return eg_fail(e, "fleet message: \"%s\" is missing", name);
	/* The range first (NaN fails it too): only then is the cast to int64_t defined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max) ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return eg_fail(e, "fleet message: \"%s\" must be a whole number from %.0f to %.0f", name,
			       min, max);
	*out = v->valuedouble;
	return 0;
}

/* A string field into out (size bytes); optional ones may be absent or null ("" then). */
static int text_field(const cJSON *o, const char *name, bool optional, char *out, size_t size,
		      struct eg_err *e)
{
	const cJSON *v = field(o, name);
	char what[64];

	out[0] = '\0';
	if (!v || cJSON_IsNull(v)) {
		if (optional)
			return 0;
		return eg_fail(e, "fleet message: \"%s\" is missing", name);
	}
	if (!cJSON_IsString(v))
		return eg_fail(e, "fleet message: \"%s\" must be a string", name);
	snprintf(what, sizeof(what), "fleet message: \"%s\"", name);
	if (eg_text_check_field(what, v->valuestring, size, e))
		return -1;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int name_index(const char *(*name_of)(unsigned int), unsigned int n, const char *s)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(name_of(i), s))
			return (int)i;
	return -1;
}

static int parse_obj(const cJSON *o, struct eg_fleet_msg *m, struct eg_err *e)
{
	char text[EG_CIDR_STRLEN + 8], origin[16];
	struct eg_err why = { 0 };
	double num;
	int i;

	if (!cJSON_IsObject(o))
		return eg_fail(e, "fleet message: not a JSON object");
	if (whole(o, "v", 0, 1e9, &num, e))
		return -1;
	if (num != EG_FLEET_VERSION)
		return eg_fail(e, "fleet message: version %.0f, this edgeguardd reads version %d", num,
			       EG_FLEET_VERSION);
	if (text_field(o, "op", false, text, sizeof(text), e))
		return -1;
	m->op = 0;
	for (size_t i = 1; i < NKINDS; i++)
		if (!strcmp(text, ops[i]))
			m->op = (enum eg_fleet_op)i;
	if (!m->op)
		return eg_fail(e, "fleet message: \"op\" must be \"ban\", \"unban\", \"allow\" or \"unallow\"");
	if (text_field(o, "host", false, m->host, sizeof(m->host), e))
		return -1;
	if (eg_fleet_check_host(m->host, &why))
		return eg_fail(e, "fleet message: %s", why.msg);
	if (text_field(o, "address", false, text, sizeof(text), e))
		return -1;
	if (eg_parse_cidr(text, &m->key, &why))
		return eg_fail(e, "fleet message: \"address\": %s", why.msg);
	if (whole(o, "ts", 0, 9007199254740992.0, &num, e))
		return -1;
	m->ts_ms = (int64_t)num;
	if (m->op != EG_FLEET_BAN)
		return 0;
	if (whole(o, "ttl", 0, (double)EG_DURATION_MAX_S, &num, e))
		return -1;
	m->ttl_s = (uint32_t)num;
	if (text_field(o, "reason", true, m->reason, sizeof(m->reason), e) ||
	    text_field(o, "origin", false, origin, sizeof(origin), e) ||
	    text_field(o, "trigger", true, m->trigger, sizeof(m->trigger), e))
		return -1;
	i = name_index(eg_origin_name, EG_ORIGIN_MAX, origin);
	if (i != EG_ORIGIN_MANUAL && i != EG_ORIGIN_AUTO)
		return eg_fail(e, "fleet message: \"origin\" must be \"manual\" or \"auto\"");
	m->origin = (unsigned int)i;
	if (m->trigger[0] && name_index(eg_reason_name, EG_R_MAX, m->trigger) < 0)
		return eg_fail(e, "fleet message: \"trigger\" is no limit edgeguard knows");
	return 0;
}

int eg_fleet_msg_parse(const char *text, size_t len, struct eg_fleet_msg *out,
		       struct eg_err *e)
{
	const char *end = NULL;
	cJSON *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > EG_FLEET_MAX_MSG)
		return eg_fail(e, "fleet message: %zu bytes, more than %d", len, EG_FLEET_MAX_MSG);
	/* cJSON would cut "198.51.100.7\u0000junk" at the NUL without a word. */
	if (eg_json_find_nul(text, len) >= 0)
		return eg_fail(e, "fleet message: holds a NUL");
	o = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!o)
		return eg_fail(e, "fleet message: not valid JSON");
	if (!end || end != text + len) {
		cJSON_Delete(o);
		return eg_fail(e, "fleet message: text after the JSON object");
	}
	rc = parse_obj(o, out, e);
	cJSON_Delete(o);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

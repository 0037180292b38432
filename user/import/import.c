// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the importers share (import.h): their results, messages and output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"
#include "import.h"
#include "text.h"

eg_import_fn eg_import_parser(const char *format)
{
	if (!strcmp(format, "iptables-save") || !strcmp(format, "ip6tables-save"))
		return eg_import_iptables;
	if (!strcmp(format, "ipset"))
		return eg_import_ipset;
	if (!strcmp(format, "nginx"))
		return eg_import_nginx;
	return NULL;
}

void eg_import_free(struct eg_import *im)
{
	free(im->bans);
	free(im->limits);
	free(im->skipped);
	free(im->notes);
	memset(im, 0, sizeof(*im));
}

/* Room for one more of size in *arr of *n (capacity *cap). */
static void *grow(void **arr, size_t *n, size_t *cap, size_t size, struct eg_err *e)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		void *p = realloc(*arr, c * size);

		if (!p) {
			eg_fail_code(e, ENOMEM, "out of memory importing");
			return NULL;
		}
		*arr = p;
		*cap = c;
	}
	return (char *)*arr + (*n)++ * size;
}

void eg_import_quote(char out[EG_IMPORT_TEXT_LEN], const char *s, size_t len)
{
	char raw[EG_IMPORT_TEXT_LEN];
	size_t n = len < sizeof(raw) - 1 ? len : sizeof(raw) - 1;

	memcpy(raw, s, n);
	raw[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!raw[i])
			raw[i] = ' ';
	if (len < EG_IMPORT_TEXT_LEN) {
		eg_text_sanitize(raw, out, EG_IMPORT_TEXT_LEN);
		return;
	}
	/* Cut on a character boundary, then the mark: never half a character before it. */
	eg_text_sanitize(raw, out, EG_IMPORT_TEXT_LEN - 3);
	strcat(out, "...");
}

static int add_msg(struct eg_import_msg **arr, size_t *n, size_t *cap, uint32_t line,
		   const char *text, size_t text_len, struct eg_err *e, const char *fmt,
		   va_list ap)
{
	struct eg_import_msg *m = grow((void **)arr, n, cap, sizeof(**arr), e);
	char why[EG_ERR_LEN];

	if (!m)
		return -1;
	m->line = line;
	eg_import_quote(m->text, text, text_len);
	vsnprintf(why, sizeof(why), fmt, ap);
	eg_text_sanitize(why, m->why, sizeof(m->why));
	return 0;
}

int eg_import_skip(struct eg_import *im, uint32_t line, const char *text, size_t text_len,
		   struct eg_err *e, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = add_msg(&im->skipped, &im->nskipped, &im->skipped_cap, line, text, text_len, e, fmt,
		     ap);
	va_end(ap);
	return rc;
}

int eg_import_note(struct eg_import *im, uint32_t line, const char *text, size_t text_len,
		   struct eg_err *e, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = add_msg(&im->notes, &im->nnotes, &im->notes_cap, line, text, text_len, e, fmt, ap);
	va_end(ap);
	return rc;
}

int eg_import_add_ban(struct eg_import *im, const struct eg_lpm_key *k, uint32_t ttl_s,
		      const char *reason, uint32_t line, struct eg_err *e)
{
	struct eg_import_ban *b;

	for (size_t i = 0; i < im->nbans; i++) {
		b = &im->bans[i];
		if (memcmp(&b->key, k, sizeof(*k)))
			continue;
		if (b->ttl_s && (!ttl_s || ttl_s > b->ttl_s))
			b->ttl_s = ttl_s;
		return 0;
	}
	b = grow((void **)&im->bans, &im->nbans, &im->bans_cap, sizeof(*b), e);
	if (!b)
		return -1;
	memset(b, 0, sizeof(*b));
	b->key = *k;
	b->ttl_s = ttl_s;
	b->line = line;
	eg_text_sanitize(reason ? reason : "", b->reason, sizeof(b->reason));
	return 0;
}

struct eg_import_limit *eg_import_limit_for(struct eg_import *im, unsigned int l4, uint16_t lo,
					    uint16_t hi, uint32_t line, struct eg_err *e)
{
	struct eg_import_limit *l;

	for (size_t i = 0; i < im->nlimits; i++) {
		l = &im->limits[i];
		if (l->l4 == l4 && l->port_lo == lo && l->port_hi == hi)
			return l;
	}
	l = grow((void **)&im->limits, &im->nlimits, &im->limits_cap, sizeof(*l), e);
	if (!l)
		return NULL;
	memset(l, 0, sizeof(*l));
	l->l4 = l4;
	l->port_lo = lo;
	l->port_hi = hi;
	l->line = line;
	return l;
}

const struct eg_import_limit *eg_import_limit_overlap(const struct eg_import *im, unsigned int l4,
						      uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < im->nlimits; i++) {
		const struct eg_import_limit *l = &im->limits[i];

		if (l->l4 == l4 && l->port_lo && l->port_lo <= hi && lo <= l->port_hi &&
		    !(l->port_lo == lo && l->port_hi == hi))
			return l;
	}
	return NULL;
}

bool eg_import_next_line(const char **p, const char *end, const char **s, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*s = *p;
	*len = (size_t)((nl ? nl : end) - *p);
	if (*len && (*s)[*len - 1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return true;
}

int eg_import_words(const char *s, size_t len, char words[][EG_IMPORT_TEXT_LEN], int max)
{
	const char *end = s + len;
	int n = 0;

	for (;;) {
		size_t o = 0;
		bool quoted = false;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= end)
			return n;
		if (n >= max)
			return -1;
		while (s < end && (quoted || (*s != ' ' && *s != '\t'))) {
			char c = *s++;

			if (c == '"') {
				quoted = !quoted;
				continue;
			}
			if (c == '\\' && quoted && s < end && (*s == '"' || *s == '\\'))
				c = *s++;
			if (o + 1 >= EG_IMPORT_TEXT_LEN)
				return -1;
			words[n][o++] = c;
		}
		if (quoted)
			return -1;
		words[n++][o] = '\0';
	}
}

static void add_bucket(cJSON *rule, const char *name, uint32_t rate, uint32_t burst)
{
	cJSON *b;

	if (!rate)
		return;
	b = cJSON_AddObjectToObject(rule, name);
	cJSON_AddNumberToObject(b, "rate", rate);
	cJSON_AddNumberToObject(b, "burst", burst ? burst : 1);
}

cJSON *eg_import_policy(const struct eg_import *im)
{
	cJSON *o = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(o, "policies");
	char name[64], ports[32];

	for (size_t i = 0; i < im->nlimits; i++) {
		const struct eg_import_limit *l = &im->limits[i];
		const char *proto = l->l4 == EG_L4_TCP ? "tcp" : "udp";
		cJSON *r;

		if (!l->port_lo) { /* no port: the default policy */
			r = cJSON_AddObjectToObject(o, "default");
			add_bucket(r, "syn", l->syn_rate, l->syn_burst);
			add_bucket(r, "packets", l->pkt_rate, l->pkt_burst);
			continue;
		}
		r = cJSON_CreateObject();
		if (l->port_lo == l->port_hi) {
			snprintf(name, sizeof(name), "%s-%u", proto, l->port_lo);
		} else {
			snprintf(ports, sizeof(ports), "%u-%u", l->port_lo, l->port_hi);
			snprintf(name, sizeof(name), "%s-%s", proto, ports);
		}
		cJSON_AddStringToObject(r, "name", name);
		cJSON_AddStringToObject(r, "protocol", proto);
		if (l->port_lo == l->port_hi)
			cJSON_AddNumberToObject(r, "port", l->port_lo);
		else
			cJSON_AddStringToObject(r, "ports", ports);
		add_bucket(r, "syn", l->syn_rate, l->syn_burst);
		add_bucket(r, "packets", l->pkt_rate, l->pkt_burst);
		if (l->max_conns)
			cJSON_AddNumberToObject(r, "max_conns", l->max_conns);
		cJSON_AddItemToArray(rules, r);
	}
	return o;
}

static cJSON *msgs_json(const struct eg_import_msg *m, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "line", m[i].line);
		cJSON_AddStringToObject(x, "text", m[i].text);
		cJSON_AddStringToObject(x, "why", m[i].why);
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

cJSON *eg_import_json(const struct eg_import *im)
{
	cJSON *o = cJSON_CreateObject(), *bans;
	char cidr[EG_CIDR_STRLEN];

	cJSON_AddStringToObject(o, "format", im->format ? im->format : "");
	cJSON_AddNumberToObject(o, "read", (double)im->nread);
	cJSON_AddItemToObject(o, "policy", eg_import_policy(im));
	bans = cJSON_AddArrayToObject(o, "bans");
	for (size_t i = 0; i < im->nbans; i++) {
		cJSON *b = cJSON_CreateObject();

		eg_format_cidr(&im->bans[i].key, cidr, sizeof(cidr));
		cJSON_AddStringToObject(b, "cidr", cidr);
		cJSON_AddNumberToObject(b, "ttl", im->bans[i].ttl_s);
		cJSON_AddStringToObject(b, "reason", im->bans[i].reason);
		cJSON_AddNumberToObject(b, "line", im->bans[i].line);
		cJSON_AddItemToArray(bans, b);
	}
	cJSON_AddItemToObject(o, "skipped", msgs_json(im->skipped, im->nskipped));
	cJSON_AddItemToObject(o, "notes", msgs_json(im->notes, im->nnotes));
	return o;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy files. Strict on purpose: an unknown or mistyped field is an error,
 * because a typo made during an incident must never silently drop a limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "policy_file.h"
#include "text.h"

#define PATH_LEN 192 /* a JSON path such as "policies[12].packets.burst" */

/* Applied when ban_after is set and the window or TTL is not. */
#define DEFAULT_BAN_WINDOW_S 10
#define DEFAULT_BAN_TTL_S 600

struct pctx {
	const char *file;
	struct eg_err *e;
};

static const char *const top_fields[] = { "ipv6_prefix", "limits", "connections", "autoban",
					  "default",     "policies", "allow",   "bans",
					  "comment",     NULL };
static const char *const limit_fields[] = { "max_sources", "max_bans",     "max_allows",
					    "max_flows",   "max_verified", "max_autobans",
					    "first_seen",  "comment",      NULL };
static const char *const autoban_fields[] = { "ipv6_escalate_to", "escalate_after", "comment",
					      NULL };
static const char *const connection_fields[] = { "idle_timeout", "verified_ttl", "comment", NULL };
static const char *const default_fields[] = { "syn",        "packets", "max_conns",
					      "ban_after",  "ban_window", "ban_ttl",
					      "mode",       "new_source_budget", "syn_retry_above",
					      "comment",    NULL };
static const char *const rule_fields[] = { "name",       "protocol", "port",
					   "ports",      "syn",      "packets",
					   "max_conns",  "ban_after", "ban_window",
					   "ban_ttl",    "mode",     "new_source_budget",
					   "syn_retry_above", "comment", NULL };
static const char *const rate_fields[] = { "rate", "burst", "comment", NULL };
static const char *const ban_fields[] = { "cidr", "ttl", "reason", "comment", NULL };

/* Every message is "FILE: PATH: reason", or "FILE: reason" without a path. */
#define perr(c, path, ...) eg_fail_at((c)->e, (c)->file, (path), __VA_ARGS__)

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an unknown JSON value";
}

/* A path longer than PATH_LEN can only come from a silly key; cutting it is fine. */
static void path_key(char *buf, const char *parent, const char *key)
{
	if (snprintf(buf, PATH_LEN, "%s%s%s", parent, *parent ? "." : "", key) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
}

static void path_index(char *buf, const char *parent, size_t i)
{
	if (snprintf(buf, PATH_LEN, "%s[%zu]", parent, i) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
}

/* Callers have checked the length where it matters (names, reasons). */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool is_known(const char *key, const char *const *known)
{
	for (; *known; known++)
		if (!strcmp(key, *known))
			return true;
	return false;
}

/* Rejects unknown and repeated keys (cJSON keeps both copies of a repeated key). */
static int check_fields(struct pctx *c, const cJSON *obj, const char *path,
			const char *const *known)
{
	char sub[PATH_LEN], list[EG_ERR_LEN] = "";
	const cJSON *it, *prev;

	for (it = obj->child; it; it = it->next) {
		path_key(sub, path, it->string);
		if (!is_known(it->string, known)) {
			for (const char *const *k = known; *k; k++) {
				if (k != known)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, *k, sizeof(list) - strlen(list) - 1);
			}
			return perr(c, sub, "unknown field (expected one of: %s)", list);
		}
		for (prev = obj->child; prev != it; prev = prev->next)
			if (!strcmp(prev->string, it->string))
				return perr(c, sub, "field given twice");
	}
	return 0;
}

static int expect_object(struct pctx *c, const cJSON *v, const char *path, const char *example)
{
	if (cJSON_IsObject(v))
		return 0;
	return perr(c, path, "expected an object%s%s, got %s", example ? " like " : "",
		    example ? example : "", type_name(v));
}

/* An optional whole number 0..2^32-1; *present says whether it was given. */
static int get_u32(struct pctx *c, const cJSON *obj, const char *key, const char *path,
		   uint32_t *out, bool *present)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[PATH_LEN];
	double d;

	*present = v != NULL;
	if (!v)
		return 0;
	path_key(sub, path, key);
	if (!cJSON_IsNumber(v))
		return perr(c, sub, "expected a whole number, got %s", type_name(v));
	d = v->valuedouble;
	if (d != floor(d))
		return perr(c, sub, "%g is not a whole number", d);
	if (d < 0)
		return perr(c, sub, fabs(d) < 1e15 ? "%.0f is negative" : "%g is negative", d);
	if (d > (double)UINT32_MAX)
		return perr(c, sub, d < 1e15 ? "%.0f is above the maximum of 4294967295" :
					       "%g is above the maximum of 4294967295", d);
	*out = (uint32_t)d;
	return 0;
}

/* An optional string; NULL when absent. */
static int get_string(struct pctx *c, const cJSON *obj, const char *key, const char *path,
		      const char *example, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[PATH_LEN];

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v)) {
		path_key(sub, path, key);
		return perr(c, sub, "expected a string%s%s, got %s", example ? " like " : "",
			    example ? example : "", type_name(v));
	}
	*out = v->valuestring;
	return 0;
}

/* Names and reasons end up in status output and logs: one printable line. */
static int check_text(struct pctx *c, const char *path, const char *key, const char *s,
		      size_t max)
{
	struct eg_err why;
	char sub[PATH_LEN];

	path_key(sub, path, key);
	if (!*s)
		return perr(c, sub, "must not be empty");
	if (strlen(s) > max)
		return perr(c, sub, "longer than %zu characters", max);
	if (eg_text_check(s, &why))
		return perr(c, sub, "%s", why.msg);
	return 0;
}

static int parse_comment(struct pctx *c, const cJSON *obj, const char *path)
{
	const char *s;

	return get_string(c, obj, "comment", path, NULL, &s);
}

static int parse_rate(struct pctx *c, const cJSON *obj, const char *key, const char *path,
		      struct eg_rate_spec *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[PATH_LEN], rsub[PATH_LEN];
	bool has_rate, has_burst;

	memset(r, 0, sizeof(*r));
	if (!v)
		return 0;
	path_key(sub, path, key);
	if (expect_object(c, v, sub, "{\"rate\": 5, \"burst\": 20}") ||
	    check_fields(c, v, sub, rate_fields) || parse_comment(c, v, sub) ||
	    get_u32(c, v, "rate", sub, &r->rate, &has_rate) ||
	    get_u32(c, v, "burst", sub, &r->burst, &has_burst))
		return -1;
	if (!has_rate) {
		path_key(rsub, sub, "rate");
		return perr(c, rsub, "required (per second; omit \"%s\" for no limit)", key);
	}
	if (!has_burst)
		r->burst = r->rate;
	r->set = true;
	return 0;
}

/* "8000-8100" or "8000". */
static int parse_port_range(struct pctx *c, const char *path, const char *s, uint16_t *lo,
			    uint16_t *hi)
{
	unsigned long v[2] = { 0, 0 };
	const char *p = s;
	int n = 0;

	for (;;) {
		if (*p < '0' || *p > '9' || n == 2)
			goto syntax;
		while (*p >= '0' && *p <= '9') {
			v[n] = v[n] * 10 + (unsigned long)(*p - '0');
			if (v[n] > 1000000)
				v[n] = 1000000; /* clamp; reported as out of range below */
			p++;
		}
		n++;
		if (!*p)
			break;
		if (*p != '-')
			goto syntax;
		p++;
	}
	if (n == 1)
		v[1] = v[0];
	for (int i = 0; i < 2; i++)
		if (v[i] < 1 || v[i] > 65535)
			return perr(c, path, "port %lu in '%s' is not between 1 and 65535", v[i], s);
	if (v[0] > v[1])
		return perr(c, path, "'%s' is reversed (%lu is above %lu)", s, v[0], v[1]);
	*lo = (uint16_t)v[0];
	*hi = (uint16_t)v[1];
	return 0;
syntax:
	return perr(c, path, "'%s' is not a port range (expected \"LOW-HIGH\", e.g. \"8000-8100\")",
		    s);
}

static int parse_ports(struct pctx *c, const cJSON *obj, const char *path,
		       struct eg_policy_spec *s)
{
	const char *range;
	char sub[PATH_LEN];
	uint32_t port;
	bool has_port;

	if (get_u32(c, obj, "port", path, &port, &has_port) ||
	    get_string(c, obj, "ports", path, "\"8000-8100\"", &range))
		return -1;
	if (has_port && range)
		return perr(c, path, "both port and ports are set (use one)");
	if (!has_port && !range)
		return perr(c, path, "needs port (e.g. 443) or ports (e.g. \"8000-8100\")");
	if (range) {
		path_key(sub, path, "ports");
		return parse_port_range(c, sub, range, &s->port_lo, &s->port_hi);
	}
	if (port < 1 || port > 65535) {
		path_key(sub, path, "port");
		return perr(c, sub, "%u is not between 1 and 65535", port);
	}
	s->port_lo = s->port_hi = (uint16_t)port;
	return 0;
}

static int parse_mode(struct pctx *c, const cJSON *obj, const char *path,
		      struct eg_policy_spec *s)
{
	const char *mode;
	char sub[PATH_LEN];

	if (get_string(c, obj, "mode", path, "\"enforce\"", &mode))
		return -1;
	if (!mode || !strcmp(mode, "enforce")) {
		s->mode = EG_MODE_ENFORCE;
		return 0;
	}
	if (!strcmp(mode, "dry-run")) {
		s->mode = EG_MODE_DRY_RUN;
		return 0;
	}
	path_key(sub, path, "mode");
	return perr(c, sub, "'%s' is not enforce or dry-run", mode);
}

/* The fields shared by the default and by port rules. */
static int parse_limits_of(struct pctx *c, const cJSON *obj, const char *path,
			   struct eg_policy_spec *s)
{
	bool has_after, has_window, has_ttl, has_conns, has_retry;
	char sub[PATH_LEN];

	if (parse_rate(c, obj, "syn", path, &s->syn) ||
	    parse_rate(c, obj, "packets", path, &s->pkt) ||
	    parse_rate(c, obj, "new_source_budget", path, &s->new_source_budget) ||
	    get_u32(c, obj, "max_conns", path, &s->max_conns, &has_conns) ||
	    get_u32(c, obj, "ban_after", path, &s->ban_after, &has_after) ||
	    get_u32(c, obj, "ban_window", path, &s->ban_window_s, &has_window) ||
	    get_u32(c, obj, "ban_ttl", path, &s->ban_ttl_s, &has_ttl) ||
	    get_u32(c, obj, "syn_retry_above", path, &s->syn_retry_above, &has_retry) ||
	    parse_mode(c, obj, path, s))
		return -1;
	if (has_retry && (s->syn_retry_above < 1 || s->syn_retry_above > EG_MAX_RATE)) {
		path_key(sub, path, "syn_retry_above");
		return perr(c, sub, "%u is not between 1 and %u SYNs per second (omit it for never)",
			    s->syn_retry_above, EG_MAX_RATE);
	}
	if (s->ban_after && !has_window)
		s->ban_window_s = DEFAULT_BAN_WINDOW_S;
	if (s->ban_after && !has_ttl)
		s->ban_ttl_s = DEFAULT_BAN_TTL_S;
	return 0;
}

static int parse_default(struct pctx *c, const cJSON *root, struct eg_policy_spec *s)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "default");

	if (!obj)
		return 0;
	if (expect_object(c, obj, "default", NULL) ||
	    check_fields(c, obj, "default", default_fields) ||
	    parse_comment(c, obj, "default"))
		return -1;
	return parse_limits_of(c, obj, "default", s);
}

static int parse_rule(struct pctx *c, const cJSON *obj, const char *path,
		      const struct eg_policy_table *t, struct eg_policy_spec *s)
{
	const char *name, *proto;
	char sub[PATH_LEN];

	if (expect_object(c, obj, path, NULL) || check_fields(c, obj, path, rule_fields) ||
	    parse_comment(c, obj, path) ||
	    get_string(c, obj, "name", path, "\"websocket\"", &name) ||
	    get_string(c, obj, "protocol", path, "\"tcp\"", &proto))
		return -1;

	/* name carries the JSON path so eg_policy_validate's messages point into the file. */
	copy_str(s->name, sizeof(s->name), path);
	if (name) {
		if (check_text(c, path, "name", name, EG_POLICY_NAME_LEN - 1))
			return -1;
		for (unsigned int j = 0; j < t->nrules; j++) {
			if (strcmp(t->rules[j].label, name))
				continue;
			path_key(sub, path, "name");
			return perr(c, sub, "'%s' is already the name of %s", name,
				    t->rules[j].name);
		}
	}
	copy_str(s->label, sizeof(s->label), name ? name : path);

	if (!proto || !strcmp(proto, "tcp")) {
		s->l4 = EG_L4_TCP;
	} else if (!strcmp(proto, "udp")) {
		s->l4 = EG_L4_UDP;
	} else {
		path_key(sub, path, "protocol");
		return perr(c, sub, "'%s' is not tcp or udp", proto);
	}
	if (parse_ports(c, obj, path, s) || parse_limits_of(c, obj, path, s))
		return -1;

	/* These would be accepted and then never match anything. */
	if (s->l4 == EG_L4_UDP && s->syn.set) {
		path_key(sub, path, "syn");
		return perr(c, sub, "UDP has no SYNs (use packets)");
	}
	if (s->l4 == EG_L4_UDP && s->max_conns) {
		path_key(sub, path, "max_conns");
		return perr(c, sub, "UDP has no connections");
	}
	if (s->l4 == EG_L4_UDP && s->new_source_budget.set) {
		path_key(sub, path, "new_source_budget");
		return perr(c, sub, "UDP has no connections");
	}
	if (s->l4 == EG_L4_UDP && s->syn_retry_above) {
		path_key(sub, path, "syn_retry_above");
		return perr(c, sub, "UDP has no SYNs");
	}
	return 0;
}

static int parse_rules(struct pctx *c, const cJSON *root, struct eg_policy_table *t)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "policies");
	char sub[PATH_LEN];
	const cJSON *it;
	int n;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return perr(c, "policies", "expected an array of policies, got %s", type_name(arr));
	n = cJSON_GetArraySize(arr);
	if (n > EG_MAX_POLICIES - 1)
		return perr(c, "policies", "%d policies, at most %d are supported", n,
			    EG_MAX_POLICIES - 1);
	cJSON_ArrayForEach(it, arr) {
		struct eg_policy_spec *s = &t->rules[t->nrules];

		path_index(sub, "policies", t->nrules);
		if (parse_rule(c, it, sub, t, s))
			return -1;
		t->nrules++;
	}
	return 0;
}

static int parse_sizes(struct pctx *c, const cJSON *root, struct eg_sizes *sz)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "limits");
	struct {
		const char *key;
		uint32_t *val;
	} f[] = {
		{ "max_sources", &sz->max_sources },
		{ "max_bans", &sz->max_bans },
		{ "max_allows", &sz->max_allows },
		{ "max_flows", &sz->max_flows },
		{ "max_verified", &sz->max_verified },
		{ "max_autobans", &sz->max_autobans },
		{ "first_seen", &sz->first_seen },
	};
	char sub[PATH_LEN];
	bool present;

	memset(sz, 0, sizeof(*sz));
	eg_sizes_fill(sz);
	if (!obj)
		return 0;
	if (expect_object(c, obj, "limits", NULL) ||
	    check_fields(c, obj, "limits", limit_fields) || parse_comment(c, obj, "limits"))
		return -1;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (get_u32(c, obj, f[i].key, "limits", f[i].val, &present))
			return -1;
		if (present && (*f[i].val < 1 || *f[i].val > EG_POLICY_MAX_MAP_SIZE)) {
			path_key(sub, "limits", f[i].key);
			return perr(c, sub, "%u is not between 1 and %u", *f[i].val,
				    EG_POLICY_MAX_MAP_SIZE);
		}
		/* Whole buckets of a power-of-two table: anything else would be rounded silently. */
		if (present && f[i].val == &sz->first_seen &&
		    (*f[i].val < 64 || (*f[i].val & (*f[i].val - 1)))) {
			path_key(sub, "limits", f[i].key);
			return perr(c, sub, "%u is not a power of two of at least 64", *f[i].val);
		}
	}
	return 0;
}

static int parse_cidr_at(struct pctx *c, const char *path, const char *text,
			 struct eg_lpm_key *k)
{
	struct eg_err ce;

	if (eg_parse_cidr(text, k, &ce))
		return perr(c, path, "%s", ce.msg);
	return 0;
}

struct keyed {
	const struct eg_lpm_key *key;
	size_t idx;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int r = memcmp(x->key, y->key, sizeof(*x->key));

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Finds the first entry (in file order) that repeats an earlier one: a second
 * ban of the same CIDR with another TTL would leave the operator guessing.
 * Sorting keeps this fast for lists of tens of thousands of entries.
 */
static int check_duplicates(struct pctx *c, const char *list, const void *base, size_t n,
			    size_t stride)
{
	struct keyed *v;
	size_t dup = n, first = 0;
	char sub[PATH_LEN], txt[EG_CIDR_STRLEN];

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return perr(c, list, "out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i].key = (const struct eg_lpm_key *)((const char *)base + i * stride);
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), keyed_cmp);
	for (size_t i = 1; i < n; i++) {
		if (memcmp(v[i].key, v[i - 1].key, sizeof(*v[i].key)))
			continue;
		if (v[i].idx < dup) {
			dup = v[i].idx;
			first = v[i - 1].idx;
			/* the run's start is the earliest copy */
			for (size_t j = i - 1; j > 0 && !memcmp(v[j - 1].key, v[i].key,
								sizeof(*v[i].key)); j--)
				first = v[j - 1].idx;
		}
	}
	free(v);
	if (dup == n)
		return 0;
	eg_format_cidr((const struct eg_lpm_key *)((const char *)base + dup * stride), txt,
		       sizeof(txt));
	path_index(sub, list, dup);
	return perr(c, sub, "%s is already listed as %s[%zu]", txt, list, first);
}

static int parse_allow(struct pctx *c, const cJSON *root, struct eg_policy_file *f)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "allow");
	char sub[PATH_LEN];
	const cJSON *it;
	size_t i = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return perr(c, "allow", "expected an array of CIDRs like [\"10.0.0.0/8\"], got %s",
			    type_name(arr));
	f->allow = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*f->allow));
	if (!f->allow)
		return perr(c, "allow", "out of memory");
	cJSON_ArrayForEach(it, arr) {
		path_index(sub, "allow", i);
		if (!cJSON_IsString(it))
			return perr(c, sub, "expected a string like \"10.0.0.0/8\", got %s",
				    type_name(it));
		if (parse_cidr_at(c, sub, it->valuestring, &f->allow[i]))
			return -1;
		f->nallow = ++i;
	}
	return check_duplicates(c, "allow", f->allow, f->nallow, sizeof(*f->allow));
}

static int parse_ban(struct pctx *c, const cJSON *obj, const char *path, struct eg_static_ban *b)
{
	const char *cidr, *reason;
	char sub[PATH_LEN];
	bool has_ttl;

	if (expect_object(c, obj, path, "{\"cidr\": \"198.51.100.0/24\", \"ttl\": 0}") ||
	    check_fields(c, obj, path, ban_fields) || parse_comment(c, obj, path) ||
	    get_string(c, obj, "cidr", path, "\"198.51.100.0/24\"", &cidr) ||
	    get_u32(c, obj, "ttl", path, &b->ttl_s, &has_ttl) ||
	    get_string(c, obj, "reason", path, NULL, &reason))
		return -1;
	path_key(sub, path, "cidr");
	if (!cidr)
		return perr(c, sub, "required");
	if (parse_cidr_at(c, sub, cidr, &b->key))
		return -1;
	if (reason) {
		if (check_text(c, path, "reason", reason, EG_BAN_REASON_LEN - 1))
			return -1;
		copy_str(b->reason, sizeof(b->reason), reason);
	}
	return 0;
}

static int parse_bans(struct pctx *c, const cJSON *root, struct eg_policy_file *f)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "bans");
	char sub[PATH_LEN];
	const cJSON *it;
	size_t i = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return perr(c, "bans", "expected an array of bans, got %s", type_name(arr));
	f->bans = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*f->bans));
	if (!f->bans)
		return perr(c, "bans", "out of memory");
	cJSON_ArrayForEach(it, arr) {
		path_index(sub, "bans", i);
		if (parse_ban(c, it, sub, &f->bans[i]))
			return -1;
		f->nbans = ++i;
	}
	return check_duplicates(c, "bans", f->bans, f->nbans, sizeof(*f->bans));
}

/*
 * A file that sizes the maps must fit the maps it sizes. Whether it fits
 * the maps in place is for the load to tell (apply.c): their sizes were
 * fixed at attach, whatever this file says.
 */
static int check_fit(struct pctx *c, const struct eg_policy_file *f)
{
	if (!f->has_limits)
		return 0;
	if (f->nallow > f->sizes.max_allows)
		return perr(c, "allow", "%zu entries do not fit in limits.max_allows (%u)",
			    f->nallow, f->sizes.max_allows);
	if (f->nbans > f->sizes.max_bans)
		return perr(c, "bans", "%zu entries do not fit in limits.max_bans (%u)", f->nbans,
			    f->sizes.max_bans);
	return 0;
}

/*
 * An optional object of whole numbers and a comment, e.g. "connections":
 * each field of fields (NULL-terminated) but "comment" goes to *outs[i].
 */
static int parse_u32_object(struct pctx *c, const cJSON *root, const char *name,
			    const char *const *fields, uint32_t *const *outs)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, name);
	bool present;

	if (!obj)
		return 0;
	if (expect_object(c, obj, name, NULL) || check_fields(c, obj, name, fields) ||
	    parse_comment(c, obj, name))
		return -1;
	for (size_t i = 0; fields[i]; i++)
		if (strcmp(fields[i], "comment") &&
		    get_u32(c, obj, fields[i], name, outs[i], &present))
			return -1;
	return 0;
}

static int parse_connections(struct pctx *c, const cJSON *root, struct eg_policy_table *t)
{
	uint32_t *const outs[] = { &t->flow_idle_s, &t->verified_ttl_s };

	return parse_u32_object(c, root, "connections", connection_fields, outs);
}

static int parse_autoban(struct pctx *c, const cJSON *root, struct eg_policy_table *t)
{
	uint32_t *const outs[] = { &t->v6_autoban_floor, &t->escalate_after };

	return parse_u32_object(c, root, "autoban", autoban_fields, outs);
}

static int parse_root(struct pctx *c, const cJSON *root, struct eg_policy_file *f)
{
	struct eg_err ve;
	bool present;

	if (!cJSON_IsObject(root))
		return perr(c, NULL, "the top level must be a JSON object, got %s",
			    type_name(root));
	f->has_limits = cJSON_GetObjectItemCaseSensitive(root, "limits") != NULL;
	if (check_fields(c, root, "", top_fields) || parse_comment(c, root, "") ||
	    get_u32(c, root, "ipv6_prefix", "", &f->table.v6_prefix, &present) ||
	    parse_sizes(c, root, &f->sizes) || parse_connections(c, root, &f->table) ||
	    parse_autoban(c, root, &f->table) ||
	    parse_default(c, root, &f->table.def) ||
	    parse_rules(c, root, &f->table) || parse_allow(c, root, f) || parse_bans(c, root, f))
		return -1;
	if (eg_policy_validate(&f->table, &ve))
		return perr(c, NULL, "%s", ve.msg);
	return check_fit(c, f);
}

static unsigned int line_of(const char *text, size_t off)
{
	unsigned int line = 1;

	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static int syntax_error(struct pctx *c, const char *text, size_t len, const char *at)
{
	size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
	char near[25];
	size_t n = 0;

	/* cJSON points at or just past the offending byte; skip to something visible. */
	while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' ||
			     text[off] == '\n'))
		off++;
	if (off >= len) {
		/* name the last line with content, not the empty one after the final newline */
		while (len > 0 && strchr(" \t\r\n", text[len - 1]))
			len--;
		return perr(c, NULL, "line %u: JSON syntax error at end of file (unclosed { or [?)",
			    line_of(text, len));
	}
	while (off + n < len && n < sizeof(near) - 1 && text[off + n] != '\n' &&
	       text[off + n] != '\r') {
		unsigned char ch = (unsigned char)text[off + n];

		near[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	near[n] = '\0';
	return perr(c, NULL, "line %u: JSON syntax error near '%s'", line_of(text, off), near);
}

void eg_policy_hash(const char *p, size_t len, char out[EG_POLICY_HASH_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int eg_policy_file_parse(const char *json_text, size_t len, const char *name_for_errors,
			 struct eg_policy_file *out, struct eg_err *e)
{
	struct pctx c = { .file = name_for_errors ? name_for_errors : "(policy)", .e = e };
	const char *end = NULL, *nul;
	cJSON *root = NULL;
	long at;
	char *buf;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	eg_policy_table_init(&out->table);
	snprintf(out->table.def.label, sizeof(out->table.def.label), "default");
	copy_str(out->path, sizeof(out->path), c.file);
	eg_policy_hash(json_text, len, out->hash);

	for (i = 0; i < len; i++)
		if (!strchr(" \t\r\n", json_text[i]) || !json_text[i])
			break;
	if (i == len)
		return perr(&c, NULL, "the file is empty (expected a JSON object)");
	nul = memchr(json_text, '\0', len);
	if (nul)
		return perr(&c, NULL, "line %u: NUL byte (is this a JSON text file?)",
			    line_of(json_text, (size_t)(nul - json_text)));
	/* A \u0000 escape would end a name or an address early without a word. */
	at = eg_json_find_nul(json_text, len);
	if (at >= 0)
		return perr(&c, NULL, "line %u: a \\u0000 escape (NUL) in a string",
			    line_of(json_text, (size_t)at));

	/* cJSON wants the terminating NUL inside the length to reject trailing garbage. */
	buf = malloc(len + 1);
	if (!buf)
		return perr(&c, NULL, "out of memory");
	memcpy(buf, json_text, len);
	buf[len] = '\0';
	root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
	if (!root) {
		rc = syntax_error(&c, buf, len, end);
		free(buf);
		return rc;
	}
	rc = parse_root(&c, root, out);
	cJSON_Delete(root);
	if (rc) {
		free(buf);
		eg_policy_file_free(out);
		return rc;
	}
	out->text = buf;
	out->text_len = len;
	return 0;
}

int eg_policy_file_load_fd(int fd, const char *name, struct eg_policy_file *out, struct eg_err *e)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int rc;

	/* A pipe (a policy on the standard input) has no start to go back to: read it as it comes. */
	bool seekable = lseek(fd, 0, SEEK_CUR) >= 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (len == cap || !buf) {
			if (buf)
				cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = eg_fail(e, "%s: out of memory", name);
				goto out;
			}
			buf = nb;
		}
		/* From the start, whatever the descriptor's offset: it may be another process's. */
		r = seekable ? pread(fd, buf + len, cap - len, (off_t)len) : read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = eg_fail_errno(e, errno, "%s", name);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > EG_POLICY_FILE_MAX_BYTES) {
			rc = eg_fail(e, "%s: larger than %u MiB; not a policy file?", name,
				     EG_POLICY_FILE_MAX_BYTES >> 20);
			goto out;
		}
	}
	rc = eg_policy_file_parse(buf, len, name, out, e);
out:
	free(buf);
	return rc;
}

int eg_policy_file_load(const char *path, struct eg_policy_file *out, struct eg_err *e)
{
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eg_fail_errno(e, errno, "%s", path);
	rc = eg_policy_file_load_fd(fd, path, out, e);
	close(fd);
	return rc;
}

void eg_policy_file_free(struct eg_policy_file *f)
{
	free(f->allow);
	free(f->bans);
	free(f->text);
	f->allow = NULL;
	f->bans = NULL;
	f->text = NULL;
	f->text_len = 0;
	f->nallow = 0;
	f->nbans = 0;
}

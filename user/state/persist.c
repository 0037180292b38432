// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state file. Strict when reading: a file we cannot fully understand is
 * reported, never half restored, because a silently dropped ban reopens a
 * door an operator closed on purpose.
 */
#define _GNU_SOURCE /* mkostemp, renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "file.h"
#include "lists.h"
#include "persist.h"
#include "text.h"

#define NS_PER_S 1000000000LL
/* Far enough to cover any TTL the CLI accepts, near enough to stay exact in a double. */
#define MAX_UNIX_TIME (1LL << 40)

void eg_state_init(struct eg_state *s)
{
	memset(s, 0, sizeof(*s));
}

void eg_state_free(struct eg_state *s)
{
	free(s->bans);
	free(s->allows);
	free(s->pending_bans);
	free(s->pending_allows);
	eg_state_init(s);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem, struct eg_err *e)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return eg_fail(e, "out of memory for %zu state entries", ncap);
	*arr = p;
	*cap = ncap;
	return 0;
}

int eg_state_add_ban(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e)
{
	if (grow((void **)&s->bans, &s->cap_bans, s->nbans, sizeof(*b), e))
		return -1;
	s->bans[s->nbans++] = *b;
	return 0;
}

int eg_state_add_allow(struct eg_state *s, const struct eg_lpm_key *k, struct eg_err *e)
{
	struct eg_saved_allow a = { .key = *k, .origin = EG_ORIGIN_MANUAL };

	return eg_state_add_saved_allow(s, &a, e);
}

int eg_state_add_saved_allow(struct eg_state *s, const struct eg_saved_allow *a, struct eg_err *e)
{
	if (grow((void **)&s->allows, &s->cap_allows, s->nallows, sizeof(*a), e))
		return -1;
	s->allows[s->nallows++] = *a;
	return 0;
}

int eg_state_add_pending_ban(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e)
{
	if (grow((void **)&s->pending_bans, &s->cap_pending_bans, s->npending_bans, sizeof(*b), e))
		return -1;
	s->pending_bans[s->npending_bans++] = *b;
	return 0;
}

int eg_state_add_pending_allow(struct eg_state *s, const struct eg_saved_allow *a,
			       struct eg_err *e)
{
	if (grow((void **)&s->pending_allows, &s->cap_pending_allows, s->npending_allows,
		 sizeof(*a), e))
		return -1;
	s->pending_allows[s->npending_allows++] = *a;
	return 0;
}

int eg_state_copy_pending(struct eg_state *dst, const struct eg_state *src, struct eg_err *e)
{
	struct eg_state tmp;

	if (dst == src)
		return 0;
	eg_state_init(&tmp);
	for (size_t i = 0; i < src->npending_bans; i++)
		if (eg_state_add_pending_ban(&tmp, &src->pending_bans[i], e))
			goto fail;
	for (size_t i = 0; i < src->npending_allows; i++)
		if (eg_state_add_pending_allow(&tmp, &src->pending_allows[i], e))
			goto fail;
	free(dst->pending_bans);
	free(dst->pending_allows);
	dst->pending_bans = tmp.pending_bans;
	dst->npending_bans = tmp.npending_bans;
	dst->cap_pending_bans = tmp.cap_pending_bans;
	dst->pending_allows = tmp.pending_allows;
	dst->npending_allows = tmp.npending_allows;
	dst->cap_pending_allows = tmp.cap_pending_allows;
	return 0;
fail:
	eg_state_free(&tmp);
	return -1;
}

bool eg_state_expire_pending(struct eg_state *s, int64_t now)
{
	size_t kept = 0;
	uint32_t ttl;
	bool any;

	for (size_t i = 0; i < s->npending_bans; i++)
		if (eg_saved_ban_remaining(&s->pending_bans[i], now, &ttl))
			s->pending_bans[kept++] = s->pending_bans[i];
	any = kept != s->npending_bans;
	s->npending_bans = kept;
	return any;
}

/* ---- which maps ---- */

static int read_boot_id(char *out, size_t len)
{
	FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n;

	out[0] = '\0';
	if (!fp)
		return -1;
	n = fread(out, 1, len - 1, fp);
	fclose(fp);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	return n ? 0 : -1;
}

int eg_maps_origin_read(const struct eg_maps *m, struct eg_maps_origin *out, struct eg_err *e)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	memset(out, 0, sizeof(*out));
	if (read_boot_id(out->boot_id, sizeof(out->boot_id)))
		return eg_fail(e, "cannot read /proc/sys/kernel/random/boot_id");
	if (bpf_obj_get_info_by_fd(m->config, &info, &len)) {
		out->boot_id[0] = '\0';
		return eg_fail_errno(e, errno, "cannot read the id of the config map");
	}
	out->config_id = info.id;
	return 0;
}

bool eg_maps_origin_same(const struct eg_maps_origin *a, const struct eg_maps_origin *b)
{
	return a->boot_id[0] && a->config_id && !strcmp(a->boot_id, b->boot_id) &&
	       a->config_id == b->config_id;
}

static int key_cmp(const struct eg_lpm_key *a, const struct eg_lpm_key *b)
{
	int c = memcmp(&a->addr, &b->addr, sizeof(a->addr));

	if (c)
		return c;
	return a->prefixlen < b->prefixlen ? -1 : a->prefixlen > b->prefixlen;
}

/* By key, then the datapath's own ban after an operator's ban on the same key. */
static int ban_cmp(const void *a, const void *b)
{
	const struct eg_saved_ban *x = a, *y = b;
	int c = key_cmp(&x->key, &y->key);
	int ax = x->origin == EG_ORIGIN_AUTO, ay = y->origin == EG_ORIGIN_AUTO;

	return c ? c : ax - ay;
}

static int allow_cmp(const void *a, const void *b)
{
	const struct eg_saved_allow *x = a, *y = b;

	return key_cmp(&x->key, &y->key);
}

void eg_state_sort(struct eg_state *s)
{
	if (s->nbans)
		qsort(s->bans, s->nbans, sizeof(*s->bans), ban_cmp);
	if (s->nallows)
		qsort(s->allows, s->nallows, sizeof(*s->allows), allow_cmp);
}

const struct eg_saved_ban *eg_state_find_ban(const struct eg_state *s, const struct eg_lpm_key *k,
					     unsigned int origin)
{
	struct eg_saved_ban probe = { .key = *k, .origin = (uint16_t)origin };

	if (!s->nbans)
		return NULL;
	return bsearch(&probe, s->bans, s->nbans, sizeof(*s->bans), ban_cmp);
}

bool eg_state_same(const struct eg_state *a, const struct eg_state *b)
{
	if (a->nbans != b->nbans || a->nallows != b->nallows)
		return false;
	for (size_t i = 0; i < a->nbans; i++)
		if (ban_cmp(&a->bans[i], &b->bans[i]) ||
		    memcmp(&a->bans[i].raw, &b->bans[i].raw, sizeof(a->bans[i].raw)))
			return false;
	for (size_t i = 0; i < a->nallows; i++)
		if (allow_cmp(&a->allows[i], &b->allows[i]) ||
		    a->allows[i].origin != b->allows[i].origin || a->allows[i].fleet != b->allows[i].fleet)
			return false;
	return true;
}

bool eg_saved_ban_remaining(const struct eg_saved_ban *b, int64_t now, uint32_t *ttl_s)
{
	int64_t left;

	if (!b->expires_at) {
		*ttl_s = 0;
		return true;
	}
	left = b->expires_at - now;
	if (left <= 0)
		return false;
	*ttl_s = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	return true;
}

/* ---- reading ---- */

struct lctx {
	const char *file;
	struct eg_err *e;
};

#define lerr(c, path, ...) eg_fail_at((c)->e, (c)->file, (path), __VA_ARGS__)

static int get_int(struct lctx *c, const char *path, const cJSON *v, int64_t lo, int64_t hi,
		   int64_t *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
		return lerr(c, path, "must be an integer");
	if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
		return lerr(c, path, "must be between %lld and %lld", (long long)lo, (long long)hi);
	*out = (int64_t)v->valuedouble;
	return 0;
}

static int name_index(const char *(*namer)(unsigned int), unsigned int n, const char *s)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(namer(i), s))
			return (int)i;
	return -1;
}

static int parse_ban(struct lctx *c, const cJSON *o, const char *list, size_t idx,
		     struct eg_saved_ban *b)
{
	char path[64], sub[96];
	const cJSON *v;
	struct eg_err pe;
	int64_t n;
	int i;

	snprintf(path, sizeof(path), "%s[%zu]", list, idx);
	memset(b, 0, sizeof(*b));
	if (!cJSON_IsObject(o))
		return lerr(c, path, "must be an object");

	snprintf(sub, sizeof(sub), "%s.source", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "source");
	if (!cJSON_IsString(v))
		return lerr(c, sub, "missing or not a string");
	if (eg_parse_cidr(v->valuestring, &b->key, &pe))
		return lerr(c, sub, "%s", pe.msg);

	snprintf(sub, sizeof(sub), "%s.expires_at", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "expires_at");
	if (!v)
		return lerr(c, sub, "missing (null for a permanent ban)");
	if (!cJSON_IsNull(v)) {
		if (get_int(c, sub, v, 1, MAX_UNIX_TIME, &b->expires_at))
			return -1;
	}

	snprintf(sub, sizeof(sub), "%s.created_at", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "created_at");
	if (v && get_int(c, sub, v, 0, MAX_UNIX_TIME, &b->created_at))
		return -1;

	snprintf(sub, sizeof(sub), "%s.origin", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "origin");
	if (!cJSON_IsString(v))
		return lerr(c, sub, "missing or not a string");
	i = name_index(eg_origin_name, EG_ORIGIN_MAX, v->valuestring);
	if (i < 0)
		return lerr(c, sub, "unknown origin '%s'", v->valuestring);
	b->origin = (uint16_t)i;

	snprintf(sub, sizeof(sub), "%s.policy", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "policy");
	if (v) {
		if (get_int(c, sub, v, 0, EG_MAX_POLICIES - 1, &n))
			return -1;
		b->policy = (uint16_t)n;
	}

	snprintf(sub, sizeof(sub), "%s.trigger", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "trigger");
	if (v) {
		if (!cJSON_IsString(v))
			return lerr(c, sub, "not a string");
		i = name_index(eg_reason_name, EG_R_MAX, v->valuestring);
		if (i < 0)
			return lerr(c, sub, "unknown trigger '%s'", v->valuestring);
		b->trigger = (uint32_t)i;
	}

	snprintf(sub, sizeof(sub), "%s.reason", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "reason");
	if (v) {
		if (!cJSON_IsString(v))
			return lerr(c, sub, "not a string");
		if (strlen(v->valuestring) >= sizeof(b->reason))
			return lerr(c, sub, "longer than %zu characters", sizeof(b->reason) - 1);
		/* A hand edit must not cost the ban, nor reach a log or a JSON reply raw. */
		eg_text_sanitize(v->valuestring, b->reason, sizeof(b->reason));
	}
	return 0;
}

typedef int (*add_ban_fn)(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e);
typedef int (*add_allow_fn)(struct eg_state *s, const struct eg_saved_allow *a, struct eg_err *e);

static int parse_bans(struct lctx *c, const cJSON *v, const char *list, struct eg_state *out,
		      add_ban_fn add)
{
	const cJSON *item;
	struct eg_saved_ban b;
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return lerr(c, list, "missing or not an array");
	cJSON_ArrayForEach(item, v) {
		if (parse_ban(c, item, list, i++, &b) || add(out, &b, c->e))
			return -1;
	}
	return 0;
}

static int parse_allows(struct lctx *c, const cJSON *v, const char *list, struct eg_state *out,
			add_allow_fn add)
{
	const cJSON *item, *cidr, *origin, *fleet;
	struct eg_err pe;
	char path[64];
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return lerr(c, list, "missing or not an array");
	cJSON_ArrayForEach(item, v) {
		struct eg_saved_allow a = { .origin = EG_ORIGIN_MANUAL };

		snprintf(path, sizeof(path), "%s[%zu]", list, i++);
		cidr = item;
		if (cJSON_IsObject(item)) {
			cidr = cJSON_GetObjectItemCaseSensitive(item, "cidr");
			origin = cJSON_GetObjectItemCaseSensitive(item, "origin");
			fleet = cJSON_GetObjectItemCaseSensitive(item, "fleet");
			if (origin && !(cJSON_IsString(origin) &&
					(!strcmp(origin->valuestring, "manual") ||
					 !strcmp(origin->valuestring, "fleet"))))
				return lerr(c, path, "\"origin\" must be \"manual\" or \"fleet\"");
			if (fleet && !cJSON_IsBool(fleet))
				return lerr(c, path, "\"fleet\" must be true or false");
			if (origin && !strcmp(origin->valuestring, "fleet"))
				a.origin = EG_ORIGIN_FLEET;
			a.fleet = cJSON_IsTrue(fleet);
		}
		if (!cJSON_IsString(cidr))
			return lerr(c, path, "must be a string or an object with \"cidr\"");
		if (eg_parse_cidr(cidr->valuestring, &a.key, &pe))
			return lerr(c, path, "%s", pe.msg);
		if (add(out, &a, c->e))
			return -1;
	}
	return 0;
}

/* "maps": {"boot_id": "...", "config_map_id": N}, optional. */
static int parse_origin(struct lctx *c, const cJSON *root, struct eg_maps_origin *out)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "maps"), *v;
	int64_t id;

	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return lerr(c, "maps", "must be an object");
	v = cJSON_GetObjectItemCaseSensitive(o, "boot_id");
	if (!cJSON_IsString(v) || !*v->valuestring ||
	    strlen(v->valuestring) >= sizeof(out->boot_id))
		return lerr(c, "maps.boot_id", "missing, empty or too long");
	snprintf(out->boot_id, sizeof(out->boot_id), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(o, "config_map_id");
	if (get_int(c, "maps.config_map_id", v, 1, UINT32_MAX, &id)) {
		out->boot_id[0] = '\0';
		return -1;
	}
	out->config_id = (uint32_t)id;
	return 0;
}

static int parse_state(struct lctx *c, const cJSON *root, struct eg_state *out)
{
	const cJSON *v;
	int64_t ver;

	if (!cJSON_IsObject(root))
		return lerr(c, NULL, "top level must be an object");
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!v)
		return lerr(c, "version", "missing");
	if (get_int(c, "version", v, 0, INT32_MAX, &ver))
		return -1;
	if (ver != EG_STATE_VERSION)
		return lerr(c, "version", "version %lld is not supported (want %d)", (long long)ver,
			    EG_STATE_VERSION);

	if (parse_bans(c, cJSON_GetObjectItemCaseSensitive(root, "bans"), "bans", out,
		       eg_state_add_ban) ||
	    parse_allows(c, cJSON_GetObjectItemCaseSensitive(root, "allows"), "allows", out,
			 eg_state_add_saved_allow) ||
	    parse_origin(c, root, &out->from))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(root, "pending");
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return lerr(c, "pending", "must be an object");
	return parse_bans(c, cJSON_GetObjectItemCaseSensitive(v, "bans"), "pending.bans", out,
			  eg_state_add_pending_ban) ||
	       parse_allows(c, cJSON_GetObjectItemCaseSensitive(v, "allows"), "pending.allows", out,
			    eg_state_add_pending_allow);
}

static char *read_all(struct lctx *c, int fd, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st)) {
		lerr(c, NULL, "%s", strerror(errno));
		return NULL;
	}
	if ((uint64_t)st.st_size > EG_STATE_MAX_BYTES) {
		lerr(c, NULL, "larger than %u bytes", EG_STATE_MAX_BYTES);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		lerr(c, NULL, "out of memory");
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lerr(c, NULL, "%s", strerror(errno));
			free(buf);
			return NULL;
		}
		if (n == 0)
			break; /* shrank under us: parse what is there, the parser judges it */
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* text[len] must be NUL; the rest is eg_state_parse's contract. */
static int parse_terminated(struct lctx *c, const char *text, size_t len, struct eg_state *out)
{
	const char *where = NULL;
	cJSON *root;
	int rc;

	if (len == 0)
		return lerr(c, NULL, "empty file (truncated?)");
	if (eg_json_find_nul(text, len) >= 0)
		return lerr(c, NULL, "a NUL character in the text (corrupt)");
	/* len + 1 and the NUL: cJSON then refuses anything after the value, too. */
	root = cJSON_ParseWithLengthOpts(text, len + 1, &where, 1);
	if (!root)
		return lerr(c, NULL, "not valid JSON (truncated or corrupt) at byte %zu",
			    where && where >= text && where <= text + len ? (size_t)(where - text) :
									     len);
	rc = parse_state(c, root, out);
	cJSON_Delete(root);
	if (rc) {
		eg_state_free(out);
		return -1;
	}
	eg_state_sort(out);
	return 0;
}

int eg_state_parse(const char *text, size_t len, const char *name, struct eg_state *out,
		   struct eg_err *e)
{
	struct lctx c = { .file = name ? name : "(state)", .e = e };
	char *buf;
	int rc;

	eg_state_init(out);
	buf = malloc(len + 1);
	if (!buf)
		return lerr(&c, NULL, "out of memory");
	memcpy(buf, text, len);
	buf[len] = '\0';
	rc = parse_terminated(&c, buf, len, out);
	free(buf);
	return rc;
}

int eg_state_load(const char *path, struct eg_state *out, struct eg_err *e)
{
	struct lctx c = { .file = path, .e = e };
	size_t len;
	char *buf;
	int fd, rc;

	eg_state_init(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : lerr(&c, NULL, "%s", strerror(errno));
	buf = read_all(&c, fd, &len); /* NUL-terminated: parsed in place, no copy */
	close(fd);
	if (!buf)
		return -1;
	rc = parse_terminated(&c, buf, len, out);
	free(buf);
	return rc;
}

/* ---- writing ---- */

static cJSON *ban_json(const struct eg_saved_ban *b)
{
	char cidr[EG_CIDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	eg_format_cidr(&b->key, cidr, sizeof(cidr));
	cJSON_AddStringToObject(o, "source", cidr);
	if (b->expires_at)
		cJSON_AddNumberToObject(o, "expires_at", (double)b->expires_at);
	else
		cJSON_AddNullToObject(o, "expires_at");
	cJSON_AddNumberToObject(o, "created_at", (double)b->created_at);
	cJSON_AddStringToObject(o, "origin", eg_origin_name(b->origin));
	if (b->origin == EG_ORIGIN_AUTO) {
		cJSON_AddNumberToObject(o, "policy", b->policy);
		cJSON_AddStringToObject(o, "trigger", eg_reason_name(b->trigger));
	}
	cJSON_AddStringToObject(o, "reason", b->reason);
	return o;
}

/* "bans" and "allows" arrays into parent; -1 out of memory. */
static int lists_json(cJSON *parent, const struct eg_saved_ban *b, size_t nb,
		      const struct eg_saved_allow *a, size_t na)
{
	cJSON *bans = cJSON_AddArrayToObject(parent, "bans");
	cJSON *allows = cJSON_AddArrayToObject(parent, "allows");
	char cidr[EG_CIDR_STRLEN];

	if (!bans || !allows)
		return -1;
	for (size_t i = 0; i < nb; i++) {
		cJSON *o = ban_json(&b[i]);

		if (!o)
			return -1;
		cJSON_AddItemToArray(bans, o);
	}
	for (size_t i = 0; i < na; i++) {
		cJSON *o;

		eg_format_cidr(&a[i].key, cidr, sizeof(cidr));
		if (a[i].origin == EG_ORIGIN_MANUAL && !a[i].fleet) {
			cJSON_AddItemToArray(allows, cJSON_CreateString(cidr));
			continue;
		}
		o = cJSON_CreateObject();
		if (!o)
			return -1;
		cJSON_AddStringToObject(o, "cidr", cidr);
		if (a[i].origin == EG_ORIGIN_FLEET)
			cJSON_AddStringToObject(o, "origin", "fleet");
		if (a[i].fleet)
			cJSON_AddTrueToObject(o, "fleet");
		cJSON_AddItemToArray(allows, o);
	}
	return 0;
}

char *eg_state_format(const struct eg_state *s)
{
	cJSON *root, *o;
	char *text = NULL;

	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "version", EG_STATE_VERSION);
	cJSON_AddNumberToObject(root, "saved_at", (double)time(NULL));
	if (s->from.boot_id[0] && s->from.config_id) {
		o = cJSON_AddObjectToObject(root, "maps");
		if (!o)
			goto out;
		cJSON_AddStringToObject(o, "boot_id", s->from.boot_id);
		cJSON_AddNumberToObject(o, "config_map_id", s->from.config_id);
	}
	if (lists_json(root, s->bans, s->nbans, s->allows, s->nallows))
		goto out;
	if (s->npending_bans || s->npending_allows) {
		o = cJSON_AddObjectToObject(root, "pending");
		if (!o || lists_json(o, s->pending_bans, s->npending_bans, s->pending_allows,
				     s->npending_allows))
			goto out;
	}
	text = cJSON_Print(root);
out:
	cJSON_Delete(root);
	return text;
}

int eg_state_save(const char *path, const struct eg_state *s, struct eg_err *e)
{
	char *text = eg_state_format(s);
	int rc;

	if (!text)
		return eg_fail(e, "%s: out of memory", path);
	rc = eg_file_replace(path,
			     (const struct eg_file_part[]){ { text, strlen(text) }, { "\n", 1 } }, 2,
			     e);
	free(text);
	return rc;
}

/* ---- maps ---- */

struct snap {
	struct eg_state *out;
	uint64_t boot_now;
	int64_t wall_now_ns;
	struct eg_err *e;
};

/* Wall-clock seconds for a CLOCK_BOOTTIME instant, rounded up so a ban never ends early. */
static int64_t boot_to_wall(const struct snap *s, uint64_t boot_ns)
{
	int64_t wall_ns = s->wall_now_ns + ((int64_t)boot_ns - (int64_t)s->boot_now);

	return wall_ns <= 0 ? 0 : (wall_ns + NS_PER_S - 1) / NS_PER_S;
}

static int snap_ban(const struct eg_ban_entry *be, void *ctx)
{
	struct snap *s = ctx;
	struct eg_saved_ban b = {
		.key = be->key,
		.origin = be->ban.origin,
		.policy = be->ban.policy,
		.trigger = be->ban.trigger,
		.raw = be->ban,
	};

	if (be->ban.expires_ns && be->ban.expires_ns <= s->boot_now)
		return 0; /* the datapath already ignores it */
	memcpy(b.reason, be->reason, sizeof(b.reason));
	b.expires_at = be->ban.expires_ns ? boot_to_wall(s, be->ban.expires_ns) : 0;
	b.created_at = boot_to_wall(s, be->ban.created_ns);
	return eg_state_add_ban(s->out, &b, s->e) ? 1 : 0;
}

static int snap_allow(const struct eg_allow_entry *a, void *ctx)
{
	struct snap *s = ctx;

	struct eg_saved_allow sa = {
		.key = a->key,
		.origin = a->allow.origin == EG_ORIGIN_FLEET ? EG_ORIGIN_FLEET : EG_ORIGIN_MANUAL,
		.fleet = a->allow.fleet ? 1 : 0,
	};

	return eg_state_add_saved_allow(s->out, &sa, s->e) ? 1 : 0;
}

int eg_state_snapshot(const struct eg_maps *m, struct eg_state *out, struct eg_err *e)
{
	struct timespec ts;
	struct snap s = { .out = out, .e = e };

	eg_state_init(out);
	clock_gettime(CLOCK_REALTIME, &ts);
	s.boot_now = eg_now_ns();
	s.wall_now_ns = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
	if (eg_ban_foreach(m, snap_ban, &s, e) || eg_allow_foreach(m, snap_allow, &s, e)) {
		eg_state_free(out);
		return -1;
	}
	eg_maps_origin_read(m, &out->from, NULL); /* unknown on failure: the next restore restores */
	eg_state_sort(out);
	return 0;
}

/*
 * An auto-ban's saved reason was made up from its trigger: it gets no note.
 * A hand-edited file may hold a tab, a newline or bytes that are not UTF-8,
 * which a note refuses: those are replaced rather than costing the ban.
 */
static void note_reason(const struct eg_saved_ban *b, char out[EG_BAN_REASON_LEN])
{
	out[0] = '\0';
	if (b->origin != EG_ORIGIN_AUTO)
		eg_text_sanitize(b->reason, out, EG_BAN_REASON_LEN);
}

static int restore_ban(const struct eg_maps *m, const struct eg_saved_ban *b, uint32_t ttl_s,
		       int64_t now, uint64_t now_ns, struct eg_err *e)
{
	/*
	 * Keep the ban's age, so its full TTL can still be told; a ban older
	 * than this boot starts at boot, the earliest instant the clock has.
	 */
	uint64_t age_ns = b->created_at > 0 && b->created_at < now ?
				  (uint64_t)(now - b->created_at) * NS_PER_S : 0;
	uint64_t created_ns = age_ns < now_ns ? now_ns - age_ns : 0;
	struct eg_ban ban = {
		.expires_ns = ttl_s ? now_ns + (uint64_t)ttl_s * NS_PER_S : 0,
		.created_ns = created_ns,
		.prefixlen = b->key.prefixlen,
		.origin = b->origin,
		.policy = b->policy,
		.trigger = b->trigger,
	};
	char reason[EG_BAN_REASON_LEN];
	struct eg_err why = { 0 };

	note_reason(b, reason);
	/* An auto-ban has no note; an operator ban's note goes first, as in eg_ban_add. */
	if (b->origin != EG_ORIGIN_AUTO && eg_ban_note_set(m, &b->key, reason, b->created_at, e))
		return -1;
	if (!eg_ban_store(m, &b->key, &ban, &why))
		return 0;
	if (b->origin != EG_ORIGIN_AUTO)
		bpf_map_delete_elem(m->ban_notes, &b->key);
	return eg_fail(e, "%s", why.msg);
}

struct restore {
	const struct eg_maps *m;
	int64_t now;
	uint64_t now_ns;
	eg_restore_cb cb;
	void *ctx;
	struct eg_state *failed;
	size_t nfailed;
};

static void report(struct restore *r, const struct eg_saved_ban *b, const struct eg_saved_allow *a,
		   enum eg_restore_result res, uint32_t ttl, const char *error)
{
	struct eg_restore_report rep = {
		.ban = b, .allow = a ? &a->key : NULL, .result = res, .ttl_s = ttl, .error = error,
	};

	if (res == EG_RESTORE_FAILED) {
		r->nfailed++;
		/* Out of memory here loses the entry from the next save, not from the file copy. */
		if (r->failed && b)
			eg_state_add_pending_ban(r->failed, b, NULL);
		else if (r->failed)
			eg_state_add_pending_allow(r->failed, a, NULL);
	}
	if (r->cb)
		r->cb(&rep, r->ctx);
}

static void restore_allow(struct restore *r, const struct eg_saved_allow *sa)
{
	const struct eg_lpm_key *k = &sa->key;
	struct eg_allow a = { .created_ns = r->now_ns, .prefixlen = k->prefixlen,
			      .origin = sa->origin, .fleet = sa->fleet };
	char cidr[EG_CIDR_STRLEN], msg[EG_ERR_LEN];
	int err;

	/* BPF_NOEXIST: an LPM lookup cannot tell an exact entry from a covering one. */
	if (!bpf_map_update_elem(r->m->allow, k, &a, BPF_NOEXIST)) {
		eg_list_note_insert(r->m, EG_LIST_ALLOW, k);
		report(r, NULL, sa, EG_RESTORE_ADDED, 0, NULL);
		return;
	}
	err = errno;
	if (err == EEXIST) {
		eg_list_note_insert(r->m, EG_LIST_ALLOW, k);
		report(r, NULL, sa, EG_RESTORE_PRESENT, 0, NULL);
		return;
	}
	eg_format_cidr(k, cidr, sizeof(cidr));
	if (err == E2BIG || err == ENOSPC)
		snprintf(msg, sizeof(msg), "cannot restore the allow of %s: the allowlist is full",
			 cidr);
	else
		snprintf(msg, sizeof(msg), "cannot restore the allow of %s: %s", cidr,
			 strerror(err));
	report(r, NULL, sa, EG_RESTORE_FAILED, 0, msg);
}

static void restore_one_ban(struct restore *r, const struct eg_saved_ban *b)
{
	struct eg_err e = { 0 };
	struct eg_ban cur;
	uint32_t ttl = 0;

	if (!eg_saved_ban_remaining(b, r->now, &ttl))
		report(r, b, NULL, EG_RESTORE_EXPIRED, 0, NULL);
	else if (eg_ban_get(r->m, &b->key, b->origin, &cur) == 1 &&
		 (!cur.expires_ns || cur.expires_ns > r->now_ns))
		/* whoever set it knows better than an old file */
		report(r, b, NULL, EG_RESTORE_PRESENT, ttl, NULL);
	else if (restore_ban(r->m, b, ttl, r->now, r->now_ns, &e))
		report(r, b, NULL, EG_RESTORE_FAILED, ttl, e.msg);
	else
		report(r, b, NULL, EG_RESTORE_ADDED, ttl, NULL);
}

size_t eg_state_restore(const struct eg_maps *m, const struct eg_state *s, int64_t now,
			enum eg_restore_what what, eg_restore_cb cb, void *ctx,
			struct eg_state *failed)
{
	struct restore r = {
		.m = m, .now = now, .now_ns = eg_now_ns(), .cb = cb, .ctx = ctx, .failed = failed,
	};
	bool all = what == EG_RESTORE_ALL;

	for (size_t i = 0; all && i < s->nallows; i++)
		restore_allow(&r, &s->allows[i]);
	for (size_t i = 0; i < s->npending_allows; i++)
		restore_allow(&r, &s->pending_allows[i]);
	for (size_t i = 0; all && i < s->nbans; i++)
		restore_one_ban(&r, &s->bans[i]);
	for (size_t i = 0; i < s->npending_bans; i++)
		restore_one_ban(&r, &s->pending_bans[i]);
	return r.nfailed;
}

/* ---- files set aside, and whom to trust ---- */

/* Renames from to to, failing with EEXIST rather than replacing anything. */
static int rename_noreplace(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A filesystem without RENAME_NOREPLACE: a link cannot replace either. */
	if (link(from, to))
		return -1;
	return unlink(from);
}

int eg_file_set_aside(const char *path, const char *tag, bool keep_original, char *out,
		      size_t out_len, struct eg_err *e)
{
	int rc;

	for (unsigned int i = 0; i < 1000; i++) {
		if ((i ? snprintf(out, out_len, "%s.%s.%u", path, tag, i) :
			 snprintf(out, out_len, "%s.%s", path, tag)) >= (int)out_len)
			return eg_fail(e, "%s: path too long to set it aside", path);
		rc = keep_original ? link(path, out) : rename_noreplace(path, out);
		if (!rc)
			return eg_file_sync_dir_of(path) ? eg_fail_errno(e, errno, "%s: syncing its directory failed",
							     path) : 0;
		if (errno != EEXIST)
			return eg_fail_errno(e, errno, "cannot %s %s to %s", keep_original ? "copy" : "move",
				       path, out);
	}
	return eg_fail(e, "cannot set %s aside: %s.%s.1 to .999 all exist", path, path, tag);
}

static int check_owner_mode(const char *what, const char *path, const struct stat *st,
			    struct eg_err *e)
{
	uid_t me = geteuid();

	if (st->st_uid != me)
		return eg_fail(e, "%s %s is owned by uid %u, not %u: refusing to trust the bans and allows in it (chown %u %s)",
			       what, path, (unsigned int)st->st_uid, (unsigned int)me,
			       (unsigned int)me, path);
	if (st->st_mode & 022)
		return eg_fail(e, "%s %s is writable by group or others (mode %04o): refusing to trust the bans and allows in it (chmod go-w %s)",
			       what, path, (unsigned int)(st->st_mode & 07777), path);
	return 0;
}

int eg_state_dir_check(const char *dir, const char *file, struct eg_err *e)
{
	struct stat st;

	if (stat(dir, &st))
		return eg_fail_errno(e, errno, "state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return eg_fail(e, "state directory %s is not a directory", dir);
	if (check_owner_mode("state directory", dir, &st, e))
		return -1;
	if (!file)
		return 0;
	if (lstat(file, &st))
		return errno == ENOENT ? 0 : eg_fail_errno(e, errno, "state file %s", file);
	if (!S_ISREG(st.st_mode))
		return eg_fail(e, "state file %s is not a regular file (a link?): refusing to trust it",
			       file);
	return check_owner_mode("state file", file, &st, e);
}

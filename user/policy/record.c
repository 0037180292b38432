// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "paths.h"
#include "record.h"

/* The header lists every allow and static ban: far more than the file itself may be. */
#define RECORD_MAX_BYTES ((size_t)EG_POLICY_FILE_MAX_BYTES + (256U << 20))

static const char *const origin_names[EG_POLICY_BY_MAX] = {
	[EG_POLICY_BY_UNKNOWN] = "unknown",
	[EG_POLICY_BY_ATTACH] = "attach",
	[EG_POLICY_BY_LOAD] = "load",
	[EG_POLICY_BY_CONFIG] = "config",
};

const char *eg_policy_origin_name(enum eg_policy_origin o)
{
	return (unsigned int)o < EG_POLICY_BY_MAX ? origin_names[o] : "unknown";
}

int eg_policy_record_path(const char *dir, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", dir, EG_POLICY_RECORD_NAME) >= (int)len ? -1 : 0;
}

void eg_policy_record_free(struct eg_policy_record *r)
{
	free(r->allows);
	free(r->bans);
	free(r->text);
	r->allows = NULL;
	r->bans = NULL;
	r->text = NULL;
	r->nallows = r->nbans = r->text_len = 0;
}

void eg_policy_record_remove(const char *dir)
{
	char path[PATH_MAX];

	if (!eg_policy_record_path(dir, path, sizeof(path)))
		unlink(path);
}

/* ---- writing ---- */

static char *header_text(const struct eg_policy_record *r)
{
	char cidr[EG_CIDR_STRLEN];
	cJSON *o = cJSON_CreateObject(), *arr, *b;
	char *text = NULL;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "version", EG_POLICY_RECORD_VERSION);
	cJSON_AddStringToObject(o, "path", r->path);
	cJSON_AddStringToObject(o, "hash", r->hash);
	cJSON_AddNumberToObject(o, "loaded_at", (double)r->loaded_at);
	cJSON_AddStringToObject(o, "origin", eg_policy_origin_name(r->origin));
	cJSON_AddBoolToObject(o, "force", r->force);
	arr = cJSON_AddArrayToObject(o, "allows");
	for (size_t i = 0; arr && i < r->nallows; i++) {
		eg_format_cidr(&r->allows[i], cidr, sizeof(cidr));
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(cidr)))
			goto out;
	}
	arr = cJSON_AddArrayToObject(o, "static_bans");
	for (size_t i = 0; arr && i < r->nbans; i++) {
		b = cJSON_CreateObject();
		if (!b || !cJSON_AddItemToArray(arr, b))
			goto out;
		eg_format_cidr(&r->bans[i].key, cidr, sizeof(cidr));
		cJSON_AddStringToObject(b, "cidr", cidr);
		cJSON_AddNumberToObject(b, "since", (double)r->bans[i].since);
	}
	cJSON_AddNumberToObject(o, "bytes", (double)r->text_len);
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}

int eg_policy_record_stage(const char *dir, const struct eg_policy_record *r,
			   struct eg_staged_file *out, struct eg_err *e)
{
	char path[PATH_MAX];
	char *head;
	int rc;

	out->tmp[0] = '\0';
	if (eg_policy_record_path(dir, path, sizeof(path)))
		return eg_fail(e, "%s: path too long", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return eg_fail_errno(e, errno, "cannot create %s", dir);
	head = header_text(r);
	if (!head)
		return eg_fail(e, "%s: out of memory", path);
	rc = eg_file_stage(path,
			   (const struct eg_file_part[]){ { head, strlen(head) },
							  { "\n", 1 },
							  { r->text, r->text_len } },
			   3, out, e);
	free(head);
	return rc;
}

/* ---- reading ---- */

struct rctx {
	const char *path;
	struct eg_err *e;
};

static int corrupt(const struct rctx *c, const char *what)
{
	return eg_fail(c->e, "%s: %s (not a record edgeguard wrote, or corrupt)", c->path, what);
}

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole number in [0, 2^53]: what JSON carries exactly. */
static bool num_field(const cJSON *o, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
	    (double)(int64_t)v->valuedouble != v->valuedouble)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

static bool hash_ok(const char *h)
{
	if (strlen(h) != EG_POLICY_HASH_LEN)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int parse_lists(const struct rctx *c, const cJSON *o, struct eg_policy_record *r)
{
	const cJSON *allows = cJSON_GetObjectItemCaseSensitive(o, "allows");
	const cJSON *bans = cJSON_GetObjectItemCaseSensitive(o, "static_bans");
	const cJSON *it;
	size_t n;

	if (!cJSON_IsArray(allows) || !cJSON_IsArray(bans))
		return corrupt(c, "\"allows\" or \"static_bans\" is not a list");
	n = (size_t)cJSON_GetArraySize(allows);
	r->allows = calloc(n ? n : 1, sizeof(*r->allows));
	n = (size_t)cJSON_GetArraySize(bans);
	r->bans = calloc(n ? n : 1, sizeof(*r->bans));
	if (!r->allows || !r->bans)
		return eg_fail(c->e, "%s: out of memory", c->path);
	cJSON_ArrayForEach(it, allows) {
		if (!cJSON_IsString(it) ||
		    eg_parse_cidr(it->valuestring, &r->allows[r->nallows], NULL))
			return corrupt(c, "an entry of \"allows\" is not a CIDR");
		r->nallows++;
	}
	cJSON_ArrayForEach(it, bans) {
		const char *cidr = str_field(it, "cidr");
		struct eg_record_ban *b = &r->bans[r->nbans];

		if (!cidr || eg_parse_cidr(cidr, &b->key, NULL) || !num_field(it, "since", &b->since))
			return corrupt(c, "an entry of \"static_bans\" is not {cidr, since}");
		r->nbans++;
	}
	return 0;
}

static int parse_header(const struct rctx *c, const char *line, struct eg_policy_record *r,
			int64_t *bytes)
{
	cJSON *o = cJSON_Parse(line);
	const char *path, *hash, *origin;
	const cJSON *force;
	int64_t version;
	int rc = -1;

	if (!cJSON_IsObject(o)) {
		corrupt(c, "the first line is not a JSON object");
		goto out;
	}
	path = str_field(o, "path");
	hash = str_field(o, "hash");
	origin = str_field(o, "origin");
	force = cJSON_GetObjectItemCaseSensitive(o, "force");
	if (!num_field(o, "version", &version) || version != EG_POLICY_RECORD_VERSION) {
		corrupt(c, "unknown version");
		goto out;
	}
	if (!path || strlen(path) >= sizeof(r->path) || !hash || !hash_ok(hash) || !origin ||
	    !cJSON_IsBool(force) || !num_field(o, "loaded_at", &r->loaded_at) ||
	    !num_field(o, "bytes", bytes)) {
		corrupt(c, "a field is missing or wrong");
		goto out;
	}
	memcpy(r->path, path, strlen(path) + 1);
	memcpy(r->hash, hash, EG_POLICY_HASH_LEN + 1);
	r->force = cJSON_IsTrue(force);
	for (unsigned int i = 0; i < EG_POLICY_BY_MAX; i++)
		if (!strcmp(origin, origin_names[i]))
			r->origin = (enum eg_policy_origin)i;
	rc = parse_lists(c, o, r);
out:
	cJSON_Delete(o);
	return rc;
}

/* The first format: three lines, path, hash, unix time. */
static int parse_first_format(const struct rctx *c, const char *text, struct eg_policy_record *r)
{
	long long at = 0;

	if (sscanf(text, "%4095[^\n]\n%16s\n%lld", r->path, r->hash, &at) != 3 || !hash_ok(r->hash))
		return corrupt(c, "neither a record header nor the three lines of the first format");
	r->loaded_at = at;
	return 0;
}

static int read_fd(const struct rctx *c, int fd, size_t limit, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st))
		return eg_fail_errno(c->e, errno, "%s", c->path);
	if (!S_ISREG(st.st_mode))
		return corrupt(c, "not a regular file");
	if ((uint64_t)st.st_size > limit)
		return corrupt(c, "far larger than any record");
	limit = (size_t)st.st_size;
	buf = malloc(limit + 1);
	if (!buf)
		return eg_fail(c->e, "%s: out of memory", c->path);
	while (got < limit) {
		n = read(fd, buf + got, limit - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return eg_fail_errno(c->e, errno, "%s", c->path);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int eg_policy_record_read(const char *dir, bool with_text, struct eg_policy_record *out,
			  struct eg_err *e)
{
	char path[PATH_MAX], hash[EG_POLICY_HASH_LEN + 1];
	struct rctx c = { .path = path, .e = e };
	int64_t bytes = 0;
	size_t len, head;
	char *buf = NULL, *nl;
	int fd, rc = -1;

	memset(out, 0, sizeof(*out));
	if (eg_policy_record_path(dir, path, sizeof(path)))
		return eg_fail(e, "%s: path too long", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : eg_fail_errno(e, errno, "%s", path);
	rc = read_fd(&c, fd, RECORD_MAX_BYTES, &buf, &len);
	close(fd);
	if (rc)
		return -1;
	rc = -1;
	if (buf[0] != '{') {
		rc = with_text ? corrupt(&c, "a record of the first format holds no policy text") :
				 parse_first_format(&c, buf, out);
		goto out;
	}
	nl = memchr(buf, '\n', len);
	if (!nl) {
		corrupt(&c, "no end to the header (truncated?)");
		goto out;
	}
	*nl = '\0';
	head = (size_t)(nl - buf) + 1;
	if (parse_header(&c, buf, out, &bytes))
		goto out;
	if (!with_text) {
		rc = 0;
		goto out;
	}
	if ((uint64_t)bytes != len - head) {
		corrupt(&c, "the policy text is not as long as the header says (truncated?)");
		goto out;
	}
	eg_policy_hash(buf + head, len - head, hash);
	if (strcmp(hash, out->hash)) {
		corrupt(&c, "the policy text does not match its hash");
		goto out;
	}
	out->text = malloc(len - head + 1);
	if (!out->text) {
		eg_fail(e, "%s: out of memory", path);
		goto out;
	}
	memcpy(out->text, buf + head, len - head);
	out->text[len - head] = '\0';
	out->text_len = len - head;
	rc = 0;
out:
	free(buf);
	if (rc) {
		eg_policy_record_free(out);
		return -1;
	}
	return 1;
}

int eg_policy_meta_read(struct eg_policy_meta *out)
{
	struct eg_policy_record r;

	if (eg_policy_record_read(eg_run_dir(), false, &r, NULL) != 1)
		return -1;
	memcpy(out->path, r.path, sizeof(out->path));
	memcpy(out->hash, r.hash, sizeof(out->hash));
	out->loaded_at = r.loaded_at;
	out->origin = r.origin;
	eg_policy_record_free(&r);
	return 0;
}

void eg_policy_meta_remove(void)
{
	eg_policy_record_remove(eg_run_dir());
}

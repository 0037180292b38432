// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The control protocol (control_proto.h): requests in, requests out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "addr.h"
#include "bulk.h"
#include "control_proto.h"
#include "text.h"

static const char *const cmd_names[EG_CTL_CMD_MAX] = {
	[EG_CTL_BAN] = "ban",
	[EG_CTL_UNBAN] = "unban",
	[EG_CTL_ALLOW_ADD] = "allow_add",
	[EG_CTL_ALLOW_DEL] = "allow_del",
	[EG_CTL_STATUS] = "status",
	[EG_CTL_PING] = "ping",
	[EG_CTL_BULK] = "bulk",
	[EG_CTL_POLICY_LOAD] = "policy_load",
};

/* Fields each command takes besides "cmd" and "id". */
enum {
	F_CIDR = 1,
	F_TTL = 2,
	F_REASON = 4,
	F_PATH = 8,
	F_HASH = 16,
	F_FORCE = 32,
	F_SSH = 64,
	F_ORIGIN = 128,
	F_SUMMARY = 256,
	F_FLEET = 512,
};
static const unsigned int cmd_fields[EG_CTL_CMD_MAX] = {
	[EG_CTL_BAN] = F_CIDR | F_TTL | F_REASON | F_ORIGIN,
	[EG_CTL_UNBAN] = F_CIDR | F_ORIGIN,
	[EG_CTL_BULK] = F_SUMMARY,
	[EG_CTL_ALLOW_ADD] = F_CIDR | F_FLEET,
	[EG_CTL_ALLOW_DEL] = F_CIDR,
	[EG_CTL_POLICY_LOAD] = F_PATH | F_HASH | F_FORCE | F_SSH,
};
/* Fields a command cannot do without. */
static const unsigned int cmd_required[EG_CTL_CMD_MAX] = {
	[EG_CTL_BAN] = F_CIDR,
	[EG_CTL_UNBAN] = F_CIDR,
	[EG_CTL_ALLOW_ADD] = F_CIDR,
	[EG_CTL_ALLOW_DEL] = F_CIDR,
	[EG_CTL_POLICY_LOAD] = F_PATH | F_HASH,
};
/* Indexed by bit: field_names[i] is the field 1 << i. */
static const char *const field_names[] = { EG_CTL_F_CIDR,  EG_CTL_F_TTL,   EG_CTL_F_REASON,
					    EG_CTL_F_PATH,  EG_CTL_F_HASH,  EG_CTL_F_FORCE,
					    EG_CTL_F_SSH,   EG_CTL_F_ORIGIN, EG_CTL_F_SUMMARY,
					    EG_CTL_F_FLEET };

const char *eg_ctl_cmd_name(enum eg_ctl_cmd cmd)
{
	return (unsigned int)cmd < EG_CTL_CMD_MAX ? cmd_names[cmd] : "?";
}

bool eg_ctl_cmd_changes(enum eg_ctl_cmd cmd)
{
	return (unsigned int)cmd < EG_CTL_CMD_MAX && cmd_required[cmd];
}

bool eg_ctl_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > EG_CTL_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool hash_valid(const char *h)
{
	if (strlen(h) != 16)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int check_policy_load(const struct eg_ctl_request *r, struct eg_err *e)
{
	if (eg_text_check_field("\"path\"", r->path, sizeof(r->path), e))
		return -1;
	if (r->path[0] != '/')
		return eg_fail(e, "\"path\" must be absolute");
	if (!hash_valid(r->hash))
		return eg_fail(e, "\"hash\" must be 16 lowercase hex digits");
	return 0;
}

int eg_ctl_check_request(const struct eg_ctl_request *r, struct eg_err *e)
{
	if ((unsigned int)r->cmd >= EG_CTL_CMD_MAX)
		return eg_fail(e, "unknown command");
	if (r->id[0] && !eg_ctl_id_valid(r->id))
		return eg_fail(e, "\"id\" must be 1 to %d of A-Z a-z 0-9 _ -", EG_CTL_ID_LEN);
	if (r->cmd == EG_CTL_BULK)
		return eg_text_check_field("the summary", r->summary, EG_CTL_SUMMARY_LEN, e);
	if ((r->cmd == EG_CTL_BAN || r->cmd == EG_CTL_UNBAN) &&
	    eg_origin_claimable(eg_origin_name(r->origin)) < 0)
		return eg_fail(e, "\"origin\" must be manual or import");
	if (r->cmd == EG_CTL_POLICY_LOAD)
		return check_policy_load(r, e);
	if (r->cmd != EG_CTL_BAN)
		return 0;
	if (r->ttl_s > EG_CTL_MAX_TTL)
		return eg_fail(e, "\"ttl\" must be a whole number of seconds, 0 to ten years");
	return eg_text_check_field("the ban reason", r->reason, EG_BAN_REASON_LEN, e);
}

/* The field of the command's set that key names, or 0 (cmd and id are handled apart). */
static unsigned int field_bit(const char *key)
{
	for (unsigned int i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (!strcmp(key, field_names[i]))
			return 1U << i;
	return 0;
}

static int parse_cmd(const cJSON *req, struct eg_ctl_request *out, struct eg_err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_CMD);

	if (!cJSON_IsString(v))
		return eg_fail(e, "\"cmd\" is missing or not a string");
	for (unsigned int i = 0; i < EG_CTL_CMD_MAX; i++) {
		if (!strcmp(v->valuestring, cmd_names[i])) {
			out->cmd = (enum eg_ctl_cmd)i;
			return 0;
		}
	}
	return eg_fail(e, "unknown \"cmd\" (ban, unban, allow_add, allow_del, status, ping, bulk, "
		      "policy_load)");
}

/* Every key known to the command, none twice. */
static int check_fields(const cJSON *req, enum eg_ctl_cmd cmd, struct eg_err *e)
{
	unsigned int seen = 0, bit;
	bool cmd_seen = false, id_seen = false;

	for (const cJSON *it = req->child; it; it = it->next) {
		if (!strcmp(it->string, EG_CTL_F_CMD) || !strcmp(it->string, EG_CTL_F_ID)) {
			bool *s = it->string[0] == 'c' ? &cmd_seen : &id_seen;

			if (*s)
				return eg_fail(e, "\"%s\" given twice", it->string);
			*s = true;
			continue;
		}
		bit = field_bit(it->string);
		if (!bit || !(cmd_fields[cmd] & bit))
			return eg_fail(e, "\"%s\" takes no field \"%.64s\"", cmd_names[cmd],
				       it->string);
		if (seen & bit)
			return eg_fail(e, "\"%s\" given twice", it->string);
		seen |= bit;
	}
	for (unsigned int i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if ((cmd_required[cmd] & (1U << i)) && !(seen & (1U << i)))
			return eg_fail(e, "\"%s\" is missing", field_names[i]);
	return 0;
}

/* A string field into out (size bytes); absent: untouched. */
static int get_text(const cJSON *req, const char *name, char *out, size_t size, struct eg_err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return eg_fail(e, "\"%s\" must be a string", name);
	if (strlen(v->valuestring) >= size)
		return eg_fail(e, "\"%s\" is longer than %zu bytes", name, size - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int parse_policy_fields(const cJSON *req, struct eg_ctl_request *out, struct eg_err *e)
{
	const cJSON *force = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_FORCE);
	char ssh[EG_CIDR_STRLEN] = "";

	if (get_text(req, EG_CTL_F_PATH, out->path, sizeof(out->path), e) ||
	    get_text(req, EG_CTL_F_HASH, out->hash, sizeof(out->hash), e) ||
	    get_text(req, EG_CTL_F_SSH, ssh, sizeof(ssh), e))
		return -1;
	if (force && !cJSON_IsBool(force))
		return eg_fail(e, "\"force\" must be true or false");
	out->force = cJSON_IsTrue(force);
	if (ssh[0]) {
		if (eg_parse_addr(ssh, &out->ssh, e))
			return -1;
		out->has_ssh = true;
	}
	return out->cmd == EG_CTL_POLICY_LOAD ? check_policy_load(out, e) : 0;
}

static int parse_fields(const cJSON *req, struct eg_ctl_request *out, struct eg_err *e)
{
	const cJSON *cidr = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_CIDR);
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_TTL);
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_REASON);
	const cJSON *origin = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_ORIGIN);
	const cJSON *summary = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_SUMMARY);
	const cJSON *fleet = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_FLEET);
	int o;

	if (fleet) {
		if (!cJSON_IsBool(fleet))
			return eg_fail(e, "\"fleet\" must be true or false");
		out->fleet = cJSON_IsTrue(fleet);
	}
	if (cidr) {
		if (!cJSON_IsString(cidr))
			return eg_fail(e, "\"cidr\" is not a string");
		if (eg_parse_cidr(cidr->valuestring, &out->key, e))
			return -1;
	}
	if (ttl && !cJSON_IsNull(ttl)) {
		/* In range first, so the cast that tells a whole number is defined. */
		if (!cJSON_IsNumber(ttl) || !(ttl->valuedouble >= 0) ||
		    ttl->valuedouble > (double)EG_CTL_MAX_TTL ||
		    (double)(uint64_t)ttl->valuedouble != ttl->valuedouble)
			return eg_fail(e, "\"ttl\" must be a whole number of seconds, 0 to ten years");
		out->ttl_s = (uint32_t)ttl->valuedouble;
	}
	if (parse_policy_fields(req, out, e))
		return -1;
	if (reason && !cJSON_IsNull(reason)) {
		if (!cJSON_IsString(reason))
			return eg_fail(e, "\"reason\" must be a string");
		if (eg_text_check_field("the ban reason", reason->valuestring, EG_BAN_REASON_LEN, e))
			return -1;
		memcpy(out->reason, reason->valuestring, strlen(reason->valuestring) + 1);
	}
	if (origin) {
		if (!cJSON_IsString(origin) || (o = eg_origin_claimable(origin->valuestring)) < 0)
			return eg_fail(e, "\"origin\" must be manual or import");
		out->origin = (uint16_t)o;
		out->has_origin = true;
	}
	if (summary) {
		if (!cJSON_IsString(summary))
			return eg_fail(e, "\"summary\" must be a string");
		if (eg_text_check_field("the summary", summary->valuestring, EG_CTL_SUMMARY_LEN, e))
			return -1;
		memcpy(out->summary, summary->valuestring, strlen(summary->valuestring) + 1);
	}
	if (out->cmd == EG_CTL_BULK && !summary)
		return eg_fail(e, "\"summary\" is missing");
	return 0;
}

int eg_ctl_parse_request(const char *line, size_t len, struct eg_ctl_request *out,
			 struct eg_err *e)
{
	const char *end = NULL;
	const cJSON *id;
	cJSON *req;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > EG_CTL_MAX_REQUEST)
		return eg_fail(e, "request line too long (more than %d bytes)", EG_CTL_MAX_REQUEST);
	/* cJSON would cut "198.51.100.7\u0000junk" at the NUL without a word. */
	if (eg_json_find_nul(line, len) >= 0)
		return eg_fail(e, "a request must not contain NUL characters");
	req = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return eg_fail(e, "a request is one JSON object on one line");
	}
	while (end && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (!end || end != line + len) {
		cJSON_Delete(req);
		return eg_fail(e, "a request is one JSON object on one line (text after it)");
	}
	id = cJSON_GetObjectItemCaseSensitive(req, EG_CTL_F_ID);
	if (id && (!cJSON_IsString(id) || !eg_ctl_id_valid(id->valuestring))) {
		cJSON_Delete(req);
		return eg_fail(e, "\"id\" must be 1 to %d of A-Z a-z 0-9 _ -", EG_CTL_ID_LEN);
	}
	if (id)
		memcpy(out->id, id->valuestring, strlen(id->valuestring) + 1);
	rc = parse_cmd(req, out, e) || check_fields(req, out->cmd, e) || parse_fields(req, out, e);
	cJSON_Delete(req);
	return rc ? -1 : 0;
}

char *eg_ctl_format_request(const struct eg_ctl_request *r)
{
	char cidr[EG_CIDR_STRLEN];
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, EG_CTL_F_CMD, eg_ctl_cmd_name(r->cmd));
	if (r->id[0])
		cJSON_AddStringToObject(o, EG_CTL_F_ID, r->id);
	if ((unsigned int)r->cmd < EG_CTL_CMD_MAX && (cmd_fields[r->cmd] & F_CIDR)) {
		eg_format_cidr(&r->key, cidr, sizeof(cidr));
		cJSON_AddStringToObject(o, EG_CTL_F_CIDR, cidr);
	}
	if ((r->cmd == EG_CTL_BAN || r->cmd == EG_CTL_UNBAN) && (r->has_origin || r->origin))
		cJSON_AddStringToObject(o, EG_CTL_F_ORIGIN, eg_origin_name(r->origin));
	if (r->cmd == EG_CTL_BULK)
		cJSON_AddStringToObject(o, EG_CTL_F_SUMMARY, r->summary);
	if (r->cmd == EG_CTL_ALLOW_ADD && r->fleet)
		cJSON_AddTrueToObject(o, EG_CTL_F_FLEET);
	if (r->cmd == EG_CTL_BAN) {
		cJSON_AddNumberToObject(o, EG_CTL_F_TTL, r->ttl_s);
		if (r->reason[0])
			cJSON_AddStringToObject(o, EG_CTL_F_REASON, r->reason);
	}
	if (r->cmd == EG_CTL_POLICY_LOAD) {
		cJSON_AddStringToObject(o, EG_CTL_F_PATH, r->path);
		cJSON_AddStringToObject(o, EG_CTL_F_HASH, r->hash);
		cJSON_AddBoolToObject(o, EG_CTL_F_FORCE, r->force);
		if (r->has_ssh) {
			eg_format_addr(&r->ssh, cidr, sizeof(cidr));
			cJSON_AddStringToObject(o, EG_CTL_F_SSH, cidr);
		}
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t eg_ctl_request_hash(const struct eg_ctl_request *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t cmd = (uint32_t)r->cmd;

	h = fnv1a(h, &cmd, sizeof(cmd));
	h = fnv1a(h, &r->key, sizeof(r->key)); /* parsers zero it first: no stray padding */
	h = fnv1a(h, &r->ttl_s, sizeof(r->ttl_s));
	h = fnv1a(h, &r->fleet, sizeof(r->fleet));
	h = fnv1a(h, &r->origin, sizeof(r->origin));
	h = fnv1a(h, &r->has_origin, sizeof(r->has_origin));
	h = fnv1a(h, r->summary, strlen(r->summary) + 1);
	h = fnv1a(h, r->reason, strlen(r->reason) + 1);
	h = fnv1a(h, r->path, strlen(r->path) + 1);
	h = fnv1a(h, r->hash, strlen(r->hash) + 1);
	h = fnv1a(h, &r->force, sizeof(r->force));
	h = fnv1a(h, &r->has_ssh, sizeof(r->has_ssh));
	return fnv1a(h, &r->ssh, sizeof(r->ssh));
}

int eg_ctl_new_id(char out[EG_CTL_ID_LEN + 1], struct eg_err *e)
{
	unsigned char raw[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eg_fail_errno(e, errno, "cannot make a request id: getrandom");
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

cJSON *eg_ctl_reply_new(bool ok, const char *id, const char *error)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, EG_CTL_F_OK, ok);
	if (id && *id)
		cJSON_AddStringToObject(o, EG_CTL_F_ID, id);
	if (error)
		cJSON_AddStringToObject(o, EG_CTL_F_ERROR, error);
	return o;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* memrchr */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "fleet_config.h"
#include "text.h"

#define CONFIG_MAX_BYTES (64U << 10)

const char *const eg_fleet_option_names[EG_FLEET_OPT_MAX] = {
#define EG_FLEET_OPT_NAME(id, name, arg) [EG_FLEET_OPT_##id] = name,
	EG_FLEET_OPTIONS(EG_FLEET_OPT_NAME)
#undef EG_FLEET_OPT_NAME
};

const bool eg_fleet_option_has_arg[EG_FLEET_OPT_MAX] = {
#define EG_FLEET_OPT_ARG(id, name, arg) [EG_FLEET_OPT_##id] = arg,
	EG_FLEET_OPTIONS(EG_FLEET_OPT_ARG)
#undef EG_FLEET_OPT_ARG
};

void eg_fleet_config_init(struct eg_fleet_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->prefix, sizeof(c->prefix), "%s", EG_FLEET_PREFIX_DEFAULT);
}

/* "HOST[:PORT]" or "[V6]:PORT" into ep; the port is def when not given. */
static int parse_endpoint(const char *what, const char *text, size_t len, uint16_t def,
			  struct eg_fleet_endpoint *ep, struct eg_err *e)
{
	char buf[EG_FLEET_HOSTNAME_LEN + 16], q[sizeof(buf) * 4];
	const char *host = buf, *port = NULL;
	char *end, *colon;
	unsigned long p;

	if (len >= sizeof(buf))
		return eg_fail(e, "%s: the address is longer than %zu characters", what,
			       sizeof(buf) - 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	eg_text_escape(q, sizeof(q), buf);
	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (!end || (end[1] && end[1] != ':'))
			return eg_fail(e, "%s: '%s' is not [IPV6]:PORT", what, q);
		*end = '\0';
		host = buf + 1;
		port = end[1] ? end + 2 : NULL;
	} else if ((colon = strchr(buf, ':'))) {
		if (strchr(colon + 1, ':'))
			return eg_fail(e, "%s: write an IPv6 address in brackets: '[%s]'", what, q);
		*colon = '\0';
		port = colon + 1;
	}
	if (!*host)
		return eg_fail(e, "%s: '%s' names no host", what, q);
	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") !=
	    strlen(host))
		return eg_fail(e, "%s: '%s' is not a host name or address", what, q);
	p = def;
	if (port) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (!*port || *end || errno || p == 0 || p > 65535 || port[0] == '-' || port[0] == '+')
			return eg_fail(e, "%s: port '%s' must be 1..65535", what, q);
	}
	if (strlen(host) >= sizeof(ep->host))
		return eg_fail(e, "%s: host name longer than %zu characters", what, sizeof(ep->host) - 1);
	memcpy(ep->host, host, strlen(host) + 1);
	ep->port = (uint16_t)p;
	return 0;
}

/* Decodes %XX escapes of len bytes of s into out (size bytes). */
static int unescape(const char *what, const char *s, size_t len, char *out, size_t size,
		    struct eg_err *e)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned int v;
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]) || sscanf(s + i + 1, "%2x", &v) != 1)
				return eg_fail(e, "--redis: a '%%' in the %s is not followed by two hex digits", what);
			if (!v)
				return eg_fail(e, "--redis: the %s holds %%00", what);
			c = (char)v;
			i += 2;
		}
		if (n + 1 >= size)
			return eg_fail(e, "--redis: the %s is longer than %zu characters", what, size - 1);
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

int eg_fleet_parse_url(const char *url, struct eg_fleet_config *c, struct eg_err *e)
{
	const char *p, *at, *slash, *hostpart, *colon;
	size_t hostlen;
	char *end;
	unsigned long db = 0;

	if (strncmp(url, "redis://", 8))
		return eg_fail(e, "--redis: '%.64s' is not a redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] URL",
			       eg_text_printable(url) ? url : "(unprintable)");
	p = url + 8;
	slash = strchr(p, '/');
	at = memrchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	c->user[0] = c->password[0] = '\0';
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (!colon)
			return eg_fail(e, "--redis: credentials must be [USER]:PASSWORD@");
		if (unescape("user name", p, (size_t)(colon - p), c->user, sizeof(c->user), e) ||
		    unescape("password", colon + 1, (size_t)(at - colon - 1), c->password,
			     sizeof(c->password), e))
			return -1;
		hostpart = at + 1;
	} else {
		hostpart = p;
	}
	hostlen = slash ? (size_t)(slash - hostpart) : strlen(hostpart);
	if (slash) {
		errno = 0;
		db = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || db > EG_FLEET_MAX_DB || slash[1] == '-' ||
		    slash[1] == '+')
			return eg_fail(e, "--redis: database '%.32s' must be a number 0..%d",
				       eg_text_printable(slash + 1) ? slash + 1 : "?", EG_FLEET_MAX_DB);
	}
	c->db = (unsigned int)db;
	c->redis.host[0] = '\0';
	c->redis.port = EG_FLEET_DEFAULT_PORT;
	if (hostlen && parse_endpoint("--redis", hostpart, hostlen, EG_FLEET_DEFAULT_PORT, &c->redis, e))
		return -1;
	c->has_redis = hostlen > 0;
	return 0;
}

int eg_fleet_parse_sentinels(const char *list, struct eg_fleet_config *c, struct eg_err *e)
{
	const char *p = list;

	c->nsentinels = 0;
	for (;;) {
		size_t n = strcspn(p, ",");

		if (c->nsentinels == EG_FLEET_MAX_SENTINELS)
			return eg_fail(e, "--redis-sentinel: more than %d sentinels", EG_FLEET_MAX_SENTINELS);
		if (!n)
			return eg_fail(e, "--redis-sentinel: an empty entry in the list");
		if (parse_endpoint("--redis-sentinel", p, n, EG_FLEET_DEFAULT_SENTINEL_PORT,
				   &c->sentinels[c->nsentinels], e))
			return -1;
		c->nsentinels++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

int eg_fleet_config_set(struct eg_fleet_config *c, enum eg_fleet_option opt, const char *value,
			bool override, struct eg_err *e)
{
	struct eg_err why = { 0 };
	int rc = 0;

	if (opt >= EG_FLEET_OPT_MAX)
		return eg_fail(e, "unknown fleet option");
	if ((c->given & (1U << opt)) && !override)
		return 0;
	if (eg_fleet_option_has_arg[opt] && (!value || !eg_text_printable(value)))
		return eg_fail(e, "--%s: needs one printable line", eg_fleet_option_names[opt]);
	switch (opt) {
	case EG_FLEET_OPT_REDIS:
		rc = eg_fleet_parse_url(value, c, e);
		break;
	case EG_FLEET_OPT_SENTINEL:
		rc = eg_fleet_parse_sentinels(value, c, e);
		break;
	case EG_FLEET_OPT_MASTER:
		if (!*value || strlen(value) >= sizeof(c->master) || strpbrk(value, " \t"))
			return eg_fail(e, "--redis-master: a name of 1 to %zu characters without spaces",
				       sizeof(c->master) - 1);
		snprintf(c->master, sizeof(c->master), "%s", value);
		break;
	case EG_FLEET_OPT_PREFIX:
		if (eg_fleet_check_prefix(value, &why))
			return eg_fail(e, "--redis-prefix: %s", why.msg);
		snprintf(c->prefix, sizeof(c->prefix), "%s", value);
		break;
	case EG_FLEET_OPT_HOST:
		if (eg_fleet_check_host(value, &why))
			return eg_fail(e, "--fleet-host: %s", why.msg);
		snprintf(c->host, sizeof(c->host), "%s", value);
		break;
	case EG_FLEET_OPT_NO_PUBLISH:
		c->no_publish = true;
		break;
	case EG_FLEET_OPT_NO_APPLY:
		c->no_apply = true;
		break;
	default:
		break;
	}
	if (!rc)
		c->given |= 1U << opt;
	return rc;
}

/* ---- the config file ---- */

static int read_file(const char *path, char **out, size_t *len, bool *others_read,
		     struct eg_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	char *buf;

	if (fd < 0)
		return eg_fail_errno(e, errno, "cannot open %s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		close(fd);
		return eg_fail(e, "%s: not a regular file of at most %u bytes", path,
			       CONFIG_MAX_BYTES);
	}
	*others_read = st.st_mode & 0044;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return eg_fail(e, "out of memory");
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return eg_fail(e, "%s: short read", path);
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static int config_opt(const char *name)
{
	for (int i = 0; i < EG_FLEET_OPT_MAX; i++)
		if (!strcmp(eg_fleet_option_names[i], name))
			return i;
	return -1;
}

/* One key of the file: the option it names, set unless already given. */
static int config_key(const char *path, const cJSON *v, struct eg_fleet_config *c,
		      struct eg_err *e)
{
	char list[EG_FLEET_MAX_SENTINELS * (EG_FLEET_HOSTNAME_LEN + 8)], q[64];
	int opt = config_opt(v->string);
	struct eg_err why = { 0 };
	const cJSON *it;
	size_t n = 0;

	eg_text_escape(q, sizeof(q), v->string);
	if (opt < 0)
		return eg_fail_at(e, path, q, "unknown key (it takes redis, redis-sentinel, redis-master, redis-prefix, fleet-host, fleet-no-publish, fleet-no-apply)");
	if (!eg_fleet_option_has_arg[opt]) {
		if (!cJSON_IsBool(v))
			return eg_fail_at(e, path, q, "must be true or false");
		if (cJSON_IsFalse(v))
			return 0;
		return eg_fleet_config_set(c, (enum eg_fleet_option)opt, NULL, false, e);
	}
	if (opt == EG_FLEET_OPT_SENTINEL && cJSON_IsArray(v)) {
		list[0] = '\0';
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it))
				return eg_fail_at(e, path, q, "must be an array of \"HOST:PORT\" strings");
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? "," : "",
					      it->valuestring);
			if (n >= sizeof(list))
				return eg_fail_at(e, path, q, "too long");
		}
	} else if (cJSON_IsString(v)) {
		snprintf(list, sizeof(list), "%s", v->valuestring);
	} else {
		return eg_fail_at(e, path, q, "must be a string");
	}
	if (eg_fleet_config_set(c, (enum eg_fleet_option)opt, list, false, &why))
		return eg_fail_at(e, path, q, "%s", why.msg);
	return 0;
}

int eg_fleet_config_load(const char *path, struct eg_fleet_config *c, struct eg_err *e)
{
	const char *end = NULL;
	const cJSON *v;
	bool others_read = false;
	size_t len = 0;
	cJSON *root;
	char *text = NULL;
	int rc = 0;

	if (read_file(path, &text, &len, &others_read, e))
		return -1;
	if (eg_json_find_nul(text, len) >= 0) {
		free(text);
		return eg_fail_at(e, path, NULL, "holds a NUL character");
	}
	root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	free(text);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return eg_fail_at(e, path, NULL, "not a JSON object");
	}
	cJSON_ArrayForEach(v, root) {
		rc = config_key(path, v, c, e);
		if (rc)
			break;
	}
	if (!rc && others_read && c->password[0])
		rc = eg_fail_at(e, path, NULL,
				"holds a Redis password but others may read it: chmod 600 it");
	cJSON_Delete(root);
	return rc;
}

int eg_fleet_config_finish(struct eg_fleet_config *c, struct eg_err *e)
{
	char name[EG_FLEET_HOSTNAME_LEN] = "";
	struct eg_err why = { 0 };

	if (!c->has_redis && !c->nsentinels) {
		if (c->given & (1U << EG_FLEET_OPT_REDIS))
			return eg_fail(e, "--redis: the URL names no host (only --redis-sentinel lets it go without one)");
		if (c->given & ~(1U << EG_FLEET_OPT_PREFIX))
			return eg_fail(e, "the fleet options need --redis URL or --redis-sentinel LIST");
		return 0;
	}
	if (c->nsentinels && !c->master[0])
		return eg_fail(e, "--redis-sentinel needs --redis-master NAME");
	if (!c->nsentinels && c->master[0])
		return eg_fail(e, "--redis-master needs --redis-sentinel LIST");
	if (c->no_publish && c->no_apply)
		return eg_fail(e, "--fleet-no-publish and --fleet-no-apply together leave nothing to do: drop --redis instead");
	if (!c->host[0]) {
		if (gethostname(name, sizeof(name) - 1))
			return eg_fail_errno(e, errno, "cannot read the host name (give --fleet-host NAME)");
		if (eg_fleet_check_host(name, &why))
			return eg_fail(e, "%s: give --fleet-host NAME", why.msg);
		/* eg_fleet_check_host holds it under EG_FLEET_HOST_LEN. */
		memcpy(c->host, name, strlen(name) + 1);
	}
	return 1;
}

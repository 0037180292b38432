// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fleet's store and options (user/fleet/): key names made and read back,
 * a message formatted and parsed back field for field, every kind of bad
 * input from Redis refused with the reason named, and the --redis URL,
 * --redis-sentinel list, option combinations and the config file.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "fleet_config.h"
#include "fleet_proto.h"
#include "maps.h"
#include "testlib.h"

static struct eg_lpm_key cidr(const char *s)
{
	struct eg_lpm_key k;
	struct eg_err e = { 0 };

	memset(&k, 0, sizeof(k));
	if (eg_parse_cidr(s, &k, &e))
		printf("# test setup: '%s' does not parse: %s\n", s, e.msg);
	return k;
}

static void keys_read_back(void)
{
	const char *addrs[] = { "203.0.113.7", "198.51.100.0/24", "2001:db8::1", "2001:db8::/48" };
	char name[EG_FLEET_MAX_KEY];
	enum eg_fleet_key_kind kind;
	struct eg_lpm_key k, got;
	struct eg_err e = { 0 };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		k = cidr(addrs[i]);
		static const char *const stem[] = {
			[EG_FLEET_KEY_BAN] = "web:ban:", [EG_FLEET_KEY_TOMBSTONE] = "web:unban:",
			[EG_FLEET_KEY_ALLOW] = "web:allow:", [EG_FLEET_KEY_UNALLOW] = "web:unallow:",
		};

		for (int t = EG_FLEET_KEY_BAN; t <= EG_FLEET_KEY_UNALLOW; t++) {
			eg_fleet_key("web:", (enum eg_fleet_key_kind)t, &k, name, sizeof(name));
			CHECK(!strncmp(name, stem[t], strlen(stem[t])) &&
			      !strcmp(name + strlen(stem[t]), addrs[i]), "key '%s'", name);
			memset(&got, 0xff, sizeof(got));
			CHECK(eg_fleet_key_parse("web:", name, strlen(name), &kind, &got, &e) == 0,
			      "'%s' refused: %s", name, e.msg);
			CHECK(kind == (enum eg_fleet_key_kind)t, "'%s': kind %d", name, kind);
			CHECK(!memcmp(&got, &k, sizeof(k)), "'%s' read back as another address", name);
		}
	}
	eg_fleet_channel("web:", name, sizeof(name));
	CHECK(!strcmp(name, "web:events"), "channel '%s'", name);
	eg_fleet_scan_pattern("web:", name, sizeof(name));
	CHECK(!strcmp(name, "web:*"), "scan pattern '%s'", name);
}

static void key_refused(const char *name, size_t len, const char *part)
{
	enum eg_fleet_key_kind kind;
	struct eg_lpm_key k;
	struct eg_err e = { 0 };

	CHECK(eg_fleet_key_parse("edgeguard:", name, len, &kind, &k, &e) == -1, "'%s' accepted",
	      name);
	CHECK(strstr(e.msg, part) != NULL, "'%s': message '%s' lacks '%s'", name, e.msg, part);
}

static void bad_keys_refused(void)
{
	char longkey[300];

	key_refused("other:ban:1.2.3.4", 17, "not under the prefix");
	key_refused("edgeguard:events", 16, "none of");
	key_refused("edgeguard:ban:", 14, "none of");
	key_refused("edgeguard:allow:", 16, "none of");
	key_refused("edgeguard:allowed:1.2.3.4", 25, "none of");
	key_refused("edgeguard:allow:1.2.3.4/40", 26, "1.2.3.4/40");
	key_refused("edgeguard:unallow:nope", 22, "edgeguard:unallow:nope");
	key_refused("edgeguard:ban:not-an-address", 28, "edgeguard:ban:not-an-address");
	key_refused("edgeguard:ban:1.2.3.4/33", 24, "1.2.3.4/33");
	key_refused("edgeguard:ban:1.2.3.4\0x", 23, "NUL");
	memset(longkey, 'a', sizeof(longkey));
	memcpy(longkey, "edgeguard:ban:", 14);
	key_refused(longkey, sizeof(longkey), "too long");
}

static void message_round_trip(void)
{
	struct eg_fleet_msg m = { .op = EG_FLEET_BAN, .ttl_s = 600, .origin = EG_ORIGIN_AUTO,
				  .ts_ms = 1718000000123LL };
	struct eg_fleet_msg got;
	struct eg_err e = { 0 };
	char *text;

	m.key = cidr("2001:db8::/48");
	snprintf(m.host, sizeof(m.host), "edge-7");
	snprintf(m.reason, sizeof(m.reason), "scraper \"42\"");
	snprintf(m.trigger, sizeof(m.trigger), "%s", eg_reason_name(EG_R_SYN_RATE));
	text = eg_fleet_msg_format(&m);
	CHECK(text != NULL, "format failed");
	if (!text)
		return;
	CHECK(eg_fleet_msg_parse(text, strlen(text), &got, &e) == 0, "'%s' refused: %s", text, e.msg);
	CHECK(got.op == EG_FLEET_BAN && got.ttl_s == 600 && got.origin == EG_ORIGIN_AUTO &&
	      got.ts_ms == 1718000000123LL, "fields of '%s' read back wrong", text);
	CHECK(!memcmp(&got.key, &m.key, sizeof(m.key)), "address of '%s' read back wrong", text);
	CHECK(!strcmp(got.host, "edge-7") && !strcmp(got.reason, m.reason) &&
	      !strcmp(got.trigger, m.trigger), "texts of '%s' read back wrong", text);
	free(text);

	memset(&m, 0, sizeof(m));
	m.op = EG_FLEET_UNBAN;
	m.key = cidr("192.0.2.9");
	m.ts_ms = 5;
	snprintf(m.host, sizeof(m.host), "a");
	text = eg_fleet_msg_format(&m);
	CHECK(text && eg_fleet_msg_parse(text, strlen(text), &got, &e) == 0, "unban refused: %s",
	      e.msg);
	CHECK(got.op == EG_FLEET_UNBAN && got.ts_ms == 5, "unban read back wrong");
	free(text);

	/* A fleet-wide allow and its removal: op, host, address, ts; nothing of a ban's. */
	for (int op = EG_FLEET_ALLOW; op <= EG_FLEET_UNALLOW; op++) {
		memset(&m, 0, sizeof(m));
		m.op = (enum eg_fleet_op)op;
		m.key = cidr("198.51.100.0/24");
		m.ts_ms = 1718000000999LL;
		snprintf(m.host, sizeof(m.host), "edge-3");
		text = eg_fleet_msg_format(&m);
		CHECK(text != NULL, "format failed");
		if (!text)
			return;
		CHECK(!strcmp(text, op == EG_FLEET_ALLOW ?
			      "{\"v\":1,\"op\":\"allow\",\"host\":\"edge-3\",\"address\":\"198.51.100.0/24\",\"ts\":1718000000999}" :
			      "{\"v\":1,\"op\":\"unallow\",\"host\":\"edge-3\",\"address\":\"198.51.100.0/24\",\"ts\":1718000000999}"),
		      "formatted as '%s'", text);
		CHECK(eg_fleet_msg_parse(text, strlen(text), &got, &e) == 0, "'%s' refused: %s", text,
		      e.msg);
		CHECK(got.op == (enum eg_fleet_op)op && got.ts_ms == m.ts_ms && !strcmp(got.host, "edge-3") &&
		      !memcmp(&got.key, &m.key, sizeof(m.key)) && !got.ttl_s && !got.reason[0],
		      "'%s' read back wrong", text);
		CHECK(eg_fleet_key_op(eg_fleet_op_key(m.op)) == m.op, "op %d and its key kind disagree", op);
		free(text);
	}
}

static void msg_refused(const char *text, const char *part)
{
	struct eg_fleet_msg m;
	struct eg_err e = { 0 };

	CHECK(eg_fleet_msg_parse(text, strlen(text), &m, &e) == -1, "'%s' accepted", text);
	CHECK(strstr(e.msg, part) != NULL, "'%s': message '%s' lacks '%s'", text, e.msg, part);
}

#define OK_BAN_HEAD "{\"v\":1,\"op\":\"ban\",\"host\":\"h\",\"address\":\"192.0.2.1\",\"ts\":1,"

static void bad_messages_refused(void)
{
	struct eg_fleet_msg m;
	struct eg_err e = { 0 };
	char big[EG_FLEET_MAX_MSG + 10];
	const char nul[] = OK_BAN_HEAD "\"ttl\":1,\"origin\":\"manual\",\"reason\":\"a\\u0000b\"}";

	msg_refused("not json", "not valid JSON");
	msg_refused("[1]", "not a JSON object");
	msg_refused("{\"v\":2,\"op\":\"ban\"}", "version 2");
	msg_refused("{\"v\":1,\"op\":\"ban\"}", "\"host\" is missing");
	msg_refused("{\"v\":1,\"op\":\"kill\",\"host\":\"h\"}", "\"op\" must be");
	msg_refused("{\"v\":1,\"op\":\"allow\",\"host\":\"h\",\"ts\":1}", "\"address\" is missing");
	msg_refused("{\"v\":1,\"op\":\"allow\",\"host\":\"h\",\"address\":\"10.0.0.0/99\",\"ts\":1}",
		    "\"address\"");
	msg_refused("{\"v\":1,\"op\":\"unallow\",\"host\":\"h h\",\"address\":\"10.0.0.1\",\"ts\":1}",
		    "host name");
	msg_refused("{\"v\":1,\"op\":\"allow\",\"host\":\"h\",\"address\":\"10.0.0.1\"}", "\"ts\" is missing");
	msg_refused("{\"v\":1,\"op\":\"ban\",\"host\":\"a b\",\"address\":\"1.2.3.4\",\"ts\":1}", "host name");
	msg_refused("{\"v\":1,\"op\":\"ban\",\"host\":\"h\",\"address\":\"1.2.3\",\"ts\":1}", "\"address\"");
	msg_refused(OK_BAN_HEAD "\"ttl\":-1,\"origin\":\"manual\"}", "\"ttl\" must be");
	msg_refused(OK_BAN_HEAD "\"ttl\":1.5,\"origin\":\"manual\"}", "\"ttl\" must be");
	msg_refused(OK_BAN_HEAD "\"ttl\":1e300,\"origin\":\"manual\"}", "\"ttl\" must be");
	msg_refused("{\"v\":1,\"op\":\"unban\",\"host\":\"h\",\"address\":\"1.2.3.4\",\"ts\":-1e300}", "\"ts\" must be");
	msg_refused(OK_BAN_HEAD "\"ttl\":1,\"origin\":\"fleet\"}", "\"origin\" must be");
	msg_refused(OK_BAN_HEAD "\"ttl\":1,\"origin\":\"auto\",\"trigger\":\"nope\"}", "\"trigger\"");
	msg_refused(OK_BAN_HEAD "\"ttl\":1,\"origin\":\"manual\",\"reason\":7}", "\"reason\" must be a string");
	msg_refused(OK_BAN_HEAD "\"ttl\":1,\"origin\":\"manual\"} x", "after the JSON");
	CHECK(eg_fleet_msg_parse(nul, sizeof(nul) - 1, &m, &e) == -1, "a \\u0000 accepted");
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	msg_refused(big, "more than");
	/* Unknown fields are for later versions: taken. */
	CHECK(eg_fleet_msg_parse(OK_BAN_HEAD "\"ttl\":0,\"origin\":\"manual\",\"new\":[1]}",
				 strlen(OK_BAN_HEAD "\"ttl\":0,\"origin\":\"manual\",\"new\":[1]}"), &m,
				 &e) == 0, "an unknown field refused: %s", e.msg);
}

static int set(struct eg_fleet_config *c, enum eg_fleet_option o, const char *v, struct eg_err *e)
{
	return eg_fleet_config_set(c, o, v, true, e);
}

static void urls(void)
{
	struct eg_fleet_config c;
	struct eg_err e = { 0 };

	eg_fleet_config_init(&c);
	CHECK(set(&c, EG_FLEET_OPT_REDIS, "redis://10.0.0.5", &e) == 0, "refused: %s", e.msg);
	CHECK(c.has_redis && !strcmp(c.redis.host, "10.0.0.5") && c.redis.port == 6379 && c.db == 0 &&
	      !c.password[0], "defaults wrong");
	CHECK(set(&c, EG_FLEET_OPT_REDIS, "redis://us%3Ar:p%40ss@[2001:db8::5]:7000/3", &e) == 0,
	      "refused: %s", e.msg);
	CHECK(!strcmp(c.user, "us:r") && !strcmp(c.password, "p@ss") &&
	      !strcmp(c.redis.host, "2001:db8::5") && c.redis.port == 7000 && c.db == 3,
	      "user '%s' password '%s' host '%s' port %u db %u", c.user, c.password, c.redis.host,
	      c.redis.port, c.db);
	CHECK(set(&c, EG_FLEET_OPT_REDIS, "redis://:pw@/2", &e) == 0, "refused: %s", e.msg);
	CHECK(!c.has_redis && !strcmp(c.password, "pw") && c.db == 2, "credentials-only URL wrong");

	const struct { const char *url, *part; } bad[] = {
		{ "http://x", "not a redis://" },
		{ "redis://h:0", "port" },
		{ "redis://h:70000", "port" },
		{ "redis://h/x", "database" },
		{ "redis://h/-1", "database" },
		{ "redis://pw@h", "[USER]:PASSWORD@" },
		{ "redis://:p%4@h", "two hex digits" },
		{ "redis://:p%00@h", "%00" },
		{ "redis://a b", "not a host name" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(set(&c, EG_FLEET_OPT_REDIS, bad[i].url, &e) == -1, "'%s' accepted", bad[i].url);
		CHECK(strstr(e.msg, bad[i].part) && strstr(e.msg, "--redis"),
		      "'%s': message '%s' lacks '%s'", bad[i].url, e.msg, bad[i].part);
	}
}

static int finish(struct eg_fleet_config *c, struct eg_err *e)
{
	return eg_fleet_config_finish(c, e);
}

static void combinations(void)
{
	struct eg_fleet_config c;
	struct eg_err e = { 0 };

	eg_fleet_config_init(&c);
	CHECK(finish(&c, &e) == 0, "no options: the fleet is not off");
	CHECK(!strcmp(c.prefix, EG_FLEET_PREFIX_DEFAULT), "default prefix '%s'", c.prefix);

	eg_fleet_config_init(&c);
	set(&c, EG_FLEET_OPT_HOST, "edge-1", &e);
	CHECK(finish(&c, &e) == -1 && strstr(e.msg, "need --redis"), "--fleet-host alone: '%s'",
	      e.msg);

	eg_fleet_config_init(&c);
	CHECK(set(&c, EG_FLEET_OPT_SENTINEL, "10.0.0.1,10.0.0.2:26380", &e) == 0, "refused: %s",
	      e.msg);
	CHECK(c.nsentinels == 2 && c.sentinels[0].port == 26379 && c.sentinels[1].port == 26380,
	      "sentinels parsed wrong");
	CHECK(finish(&c, &e) == -1 && strstr(e.msg, "--redis-master"), "no master: '%s'", e.msg);
	set(&c, EG_FLEET_OPT_MASTER, "edge", &e);
	CHECK(finish(&c, &e) == 1, "sentinels with a master refused: %s", e.msg);
	CHECK(c.host[0] != '\0', "no host name taken from the system");

	eg_fleet_config_init(&c);
	CHECK(set(&c, EG_FLEET_OPT_SENTINEL, "a,,b", &e) == -1 && strstr(e.msg, "empty"),
	      "empty entry: '%s'", e.msg);
	CHECK(set(&c, EG_FLEET_OPT_SENTINEL, "1,2,3,4,5,6,7,8,9", &e) == -1 && strstr(e.msg, "more than"),
	      "nine sentinels: '%s'", e.msg);

	eg_fleet_config_init(&c);
	set(&c, EG_FLEET_OPT_REDIS, "redis://h", &e);
	set(&c, EG_FLEET_OPT_NO_PUBLISH, NULL, &e);
	set(&c, EG_FLEET_OPT_NO_APPLY, NULL, &e);
	CHECK(finish(&c, &e) == -1 && strstr(e.msg, "nothing to do"), "both opt-outs: '%s'", e.msg);

	eg_fleet_config_init(&c);
	CHECK(set(&c, EG_FLEET_OPT_PREFIX, "a b", &e) == -1 && strstr(e.msg, "--redis-prefix"),
	      "prefix with a space: '%s'", e.msg);
	CHECK(set(&c, EG_FLEET_OPT_PREFIX, "x*", &e) == -1, "prefix with '*' accepted");
	CHECK(set(&c, EG_FLEET_OPT_HOST, "edge/7", &e) == -1 && strstr(e.msg, "--fleet-host"),
	      "host with '/': '%s'", e.msg);
}

static const char *write_conf(const char *text, mode_t mode)
{
	static char path[] = "/tmp/egs-test-fleet-conf.json";
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# test setup: cannot write %s\n", path);
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
	return path;
}

static void config_file(void)
{
	struct eg_fleet_config c;
	struct eg_err e = { 0 };
	const char *p;

	eg_fleet_config_init(&c);
	set(&c, EG_FLEET_OPT_PREFIX, "cli:", &e);
	p = write_conf("{\"redis\":\"redis://:pw@127.0.0.1:26400\",\"redis-prefix\":\"file:\","
		       "\"fleet-host\":\"edge-2\",\"fleet-no-apply\":true,\"fleet-no-publish\":false}",
		       0600);
	CHECK(eg_fleet_config_load(p, &c, &e) == 0, "refused: %s", e.msg);
	CHECK(!strcmp(c.prefix, "cli:"), "the file replaced the command line's prefix: '%s'", c.prefix);
	CHECK(c.redis.port == 26400 && !strcmp(c.password, "pw") && !strcmp(c.host, "edge-2") &&
	      c.no_apply && !c.no_publish, "file options not taken");

	eg_fleet_config_init(&c);
	p = write_conf("{\"redis-sentinel\":[\"10.0.0.1\",\"10.0.0.2:1\"],\"redis-master\":\"m\"}", 0644);
	CHECK(eg_fleet_config_load(p, &c, &e) == 0 && c.nsentinels == 2, "sentinel array: %s", e.msg);

	const struct { const char *text; mode_t mode; const char *part; } bad[] = {
		{ "{\"redis\":\"redis://:pw@h\"}", 0644, "others may read it" },
		{ "{\"redsi\":\"redis://h\"}", 0600, "unknown key" },
		{ "{\"fleet-no-apply\":1}", 0600, "true or false" },
		{ "{\"redis\":7}", 0600, "must be a string" },
		{ "{\"redis\":\"http://h\"}", 0600, "not a redis://" },
		{ "[]", 0600, "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eg_fleet_config_init(&c);
		p = write_conf(bad[i].text, bad[i].mode);
		CHECK(eg_fleet_config_load(p, &c, &e) == -1, "'%s' accepted", bad[i].text);
		CHECK(strstr(e.msg, bad[i].part) && strstr(e.msg, p), "'%s': message '%s' lacks '%s' or the file",
		      bad[i].text, e.msg, bad[i].part);
	}
	unlink(p);
	eg_fleet_config_init(&c);
	CHECK(eg_fleet_config_load("/nonexistent/egs.json", &c, &e) == -1 &&
	      strstr(e.msg, "/nonexistent/egs.json"), "missing file: '%s'", e.msg);
}

int main(void)
{
	RUN(keys_read_back);
	RUN(bad_keys_refused);
	RUN(message_round_trip);
	RUN(bad_messages_refused);
	RUN(urls);
	RUN(combinations);
	RUN(config_file);
	return tl_exit_code();
}

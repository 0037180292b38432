/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How edgeguardd reaches the fleet's Redis, and what it does there: the
 * options below, given on the command line or as the same keys in the
 * daemon's config file (--config FILE, JSON), the command line winning.
 *
 *   redis              redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]  (port 6379, db 0;
 *                      %XX escapes in USER and PASSWORD; HOST may be [IPv6])
 *   redis-sentinel     HOST[:PORT],...  (port 26379; up to EG_FLEET_MAX_SENTINELS):
 *                      the master is asked of them; with it, redis gives only
 *                      USER, PASSWORD and DB (its HOST, if any, is not used)
 *   redis-master       the master's name the sentinels know (required with them)
 *   redis-prefix       key prefix (default "edgeguard:"), so fleets can share a Redis
 *   fleet-host         this host's name in the fleet (default: the host name)
 *   fleet-no-publish   publish nothing (a canary that only listens)
 *   fleet-no-apply     apply nothing from the fleet (a canary that only tells)
 */
#ifndef EG_FLEET_CONFIG_H
#define EG_FLEET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "fleet_proto.h"

#define EG_FLEET_MAX_SENTINELS 8
#define EG_FLEET_HOSTNAME_LEN 256
#define EG_FLEET_SECRET_LEN 256
#define EG_FLEET_DEFAULT_PORT 6379
#define EG_FLEET_DEFAULT_SENTINEL_PORT 26379
#define EG_FLEET_MAX_DB 1000000

struct eg_fleet_endpoint {
	char host[EG_FLEET_HOSTNAME_LEN]; /* name or address, IPv6 without brackets */
	uint16_t port;
};

struct eg_fleet_config {
	bool has_redis; /* --redis given */
	struct eg_fleet_endpoint redis;
	char user[EG_FLEET_SECRET_LEN];     /* "" = AUTH with the password alone */
	char password[EG_FLEET_SECRET_LEN]; /* "" = no AUTH */
	unsigned int db;
	struct eg_fleet_endpoint sentinels[EG_FLEET_MAX_SENTINELS];
	int nsentinels;
	char master[EG_FLEET_HOSTNAME_LEN];
	char prefix[EG_FLEET_PREFIX_LEN];
	char host[EG_FLEET_HOST_LEN];
	bool no_publish, no_apply;
	/* Which options were given, so a later source only fills what an earlier one left. */
	uint32_t given;
};

/* The option names, for the daemon's getopt table and the config file's keys. */
#define EG_FLEET_OPTIONS(X)                                  \
	X(REDIS, "redis", true)                              \
	X(SENTINEL, "redis-sentinel", true)                  \
	X(MASTER, "redis-master", true)                      \
	X(PREFIX, "redis-prefix", true)                      \
	X(HOST, "fleet-host", true)                          \
	X(NO_PUBLISH, "fleet-no-publish", false)             \
	X(NO_APPLY, "fleet-no-apply", false)

enum eg_fleet_option {
#define EG_FLEET_OPT_ENUM(id, name, arg) EG_FLEET_OPT_##id,
	EG_FLEET_OPTIONS(EG_FLEET_OPT_ENUM)
#undef EG_FLEET_OPT_ENUM
	EG_FLEET_OPT_MAX,
};

extern const char *const eg_fleet_option_names[EG_FLEET_OPT_MAX];
extern const bool eg_fleet_option_has_arg[EG_FLEET_OPT_MAX];

void eg_fleet_config_init(struct eg_fleet_config *c);

/*
 * Sets one option (value NULL for the flags). A second setting of an option
 * already given replaces it only when override is true (the command line
 * over the config file). -1 with e->msg naming the option and what is wrong.
 */
int eg_fleet_config_set(struct eg_fleet_config *c, enum eg_fleet_option opt, const char *value,
			bool override, struct eg_err *e);

/* Parses a redis:// URL into c (has_redis, redis, user, password, db). */
int eg_fleet_parse_url(const char *url, struct eg_fleet_config *c, struct eg_err *e);
/* Parses "HOST[:PORT],..." into c's sentinels. */
int eg_fleet_parse_sentinels(const char *list, struct eg_fleet_config *c, struct eg_err *e);

/*
 * Reads the daemon's config file (a JSON object whose keys are the option
 * names above; strings, the flags true or false, redis-sentinel also an
 * array of strings) into c without replacing what is already given. The
 * file must not be readable by others when it holds a password. -1 with
 * e->msg "FILE: KEY: reason".
 */
int eg_fleet_config_load(const char *path, struct eg_fleet_config *c, struct eg_err *e);

/*
 * Whether the fleet is on (a redis or a sentinel option given), after
 * checking the whole: a master with the sentinels, a usable host name (the
 * system's when not given). 1 on, 0 off, -1 with e->msg.
 */
int eg_fleet_config_finish(struct eg_fleet_config *c, struct eg_err *e);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The edgeguard command line: one function per subcommand, shared helpers. */
#ifndef EG_CLI_H
#define EG_CLI_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "error.h"

/* -v: libbpf chatter, and which way list changes went (daemon or maps). */
extern bool cli_verbose;

/* Exit statuses every subcommand keeps to. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/* Prints "edgeguard: MSG" on stderr and returns EXIT_FAIL. */
int cli_fail(const struct eg_err *e);
/* Prints "edgeguard CMD: MSG" and the usage hint on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a cJSON document on stdout and frees it. */
void cli_print_json(cJSON *doc);
/* Parses a non-negative integer option value; -1 on error (message printed). */
long long cli_parse_uint(const char *cmd, const char *opt, const char *val, unsigned long long max);

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_ban(int argc, char **argv);
int cmd_unban(int argc, char **argv);
int cmd_bans(int argc, char **argv);
int cmd_allow(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The edgeguard command line. Every command is one struct cli_cmd: its name,
 * its usage line, its help, and its getopt_long table. Parsing, --help and
 * the messages for a bad option all come from that one table (cli_next_opt),
 * so every command behaves alike, and the man page is checked against it.
 */
#ifndef EG_CLI_H
#define EG_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "error.h"

/* Global options, before the command: -v (libbpf chatter, which way a change went), -j/--json. */
extern bool cli_verbose;
extern bool cli_json;
/* The command being run (set by main before it runs), for errors in JSON. */
extern const char *cli_command;

/* Exit statuses every command keeps to (man page, EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

struct cli_cmd {
	const char *name;
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
	const char *usage; /* after "usage: edgeguard ": "ban <ip|cidr> [--ttl SECONDS] ..." */
	const char *help;  /* what it does, printed after the usage by --help */
	const struct option *opts; /* its long options, { 0 }-terminated; --help is implied */
	const char *shortopts;     /* getopt short options, "" when none */
};

/* The commands, in the order --help lists them. */
extern const struct cli_cmd cmd_attach, cmd_detach, cmd_status, cmd_stats, cmd_ban, cmd_unban,
	cmd_bans, cmd_allow, cmd_policy, cmd_top, cmd_import, cmd_doctor;

/*
 * cmd_policy.c, for attach too: f put in force on the pinned maps
 * (EXIT_OK, or EXIT_FAIL printed), and what a load did, printed from its
 * report (eg_apply_report_json): warnings on stderr, a summary or the JSON;
 * with report non-NULL the report is handed back to print instead.
 */
struct eg_policy_file;
struct eg_apply_opts;
int cli_policy_apply(const struct eg_policy_file *f, const struct eg_apply_opts *o,
		     cJSON **report);
/* FILE, or the standard input for "-" (named "<stdin>" in errors). */
struct eg_err;
int cli_policy_read(const char *file, struct eg_policy_file *pf, struct eg_err *e);
void cli_policy_print(const cJSON *report);

/* cli_next_opt's answer when the command must return *rc at once. */
#define CLI_DONE (-2)

/*
 * The next option of argv by cmd's table (getopt_long, optind reset on the
 * first call): its val; -1 at the first operand or the end (operands from
 * optind on); or CLI_DONE with *rc set: EXIT_OK after printing the help for
 * --help/-h, EXIT_USAGE after one message for an unknown option or a
 * missing value. A command's --json option sets cli_json like -j does.
 */
int cli_next_opt(const struct cli_cmd *cmd, int argc, char **argv, int *rc);

/* Prints the command's usage and help on stdout. */
void cli_help(const struct cli_cmd *cmd);

/*
 * Errors, one per failed command, on stderr: text, or with -j one JSON
 * object {"error", "command", "exit"} on one line.
 */
/* "edgeguard: MSG"; returns EXIT_FAIL. */
int cli_fail(const struct eg_err *e);
/* "edgeguard CMD: MSG (see 'edgeguard CMD --help')"; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A malformed argument (e says what): cli_usage_error, EXIT_USAGE. */
int cli_bad_arg(const struct cli_cmd *cmd, const struct eg_err *e);
/* An error before any command runs (main): returns rc. */
int cli_error(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A command's one-line result: the text (printf fmt) without -j, else doc
 * on one line. doc is freed either way (may be NULL: nothing with -j).
 */
void cli_result(cJSON *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The operands after the options: exactly n, else a usage error naming what (EXIT_USAGE). */
int cli_operands(const struct cli_cmd *cmd, int argc, char **argv, int n, const char *what);
/* Prints a cJSON document on stdout and frees it. */
void cli_print_json(cJSON *doc);
/* A duration option value in seconds (600, 10m, 4h, 7d, permanent = 0); -1 after a usage error. */
long long cli_parse_duration(const struct cli_cmd *cmd, const char *opt, const char *val);
/* A non-negative integer option value up to max; -1 after a usage error. */
long long cli_parse_uint(const struct cli_cmd *cmd, const char *opt, const char *val,
			 unsigned long long max);

#endif

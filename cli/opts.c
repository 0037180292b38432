// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Option parsing and the messages every command shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "duration.h"

bool cli_verbose;
bool cli_json;
const char *cli_command;

#define MAX_OPTS 16

void cli_help(const struct cli_cmd *cmd)
{
	printf("usage: edgeguard %s\n%s", cmd->usage, cmd->help);
}

/*
 * Every error of every command goes out here: one line of text, or with -j
 * one JSON object on one line, {"error": MSG, "command": CMD, "exit": RC},
 * so a script reads errors the way it reads results.
 */
static int say_error(int rc, const char *cmd, const char *msg, const char *hint)
{
	if (cli_json) {
		cJSON *o = cJSON_CreateObject();
		char *text;

		cJSON_AddStringToObject(o, "error", msg);
		if (cmd)
			cJSON_AddStringToObject(o, "command", cmd);
		cJSON_AddNumberToObject(o, "exit", rc);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (text) {
			fprintf(stderr, "%s\n", text);
			free(text);
			return rc;
		}
	}
	fprintf(stderr, "edgeguard%s%s: %s%s\n", cmd && rc == EXIT_USAGE ? " " : "",
		cmd && rc == EXIT_USAGE ? cmd : "", msg, hint ? hint : "");
	return rc;
}

int cli_error(int rc, const char *fmt, ...)
{
	char msg[EG_ERR_LEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return say_error(rc, cli_command, msg, rc == EXIT_USAGE ? " (see 'edgeguard --help')" : NULL);
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char msg[EG_ERR_LEN + 256], hint[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(hint, sizeof(hint), " (see 'edgeguard %s --help')", cmd->name);
	return say_error(EXIT_USAGE, cmd->name, msg, hint);
}

int cli_bad_arg(const struct cli_cmd *cmd, const struct eg_err *e)
{
	return cli_usage_error(cmd, "%s", e->msg);
}

/* The option argv[optind - 1] named, as the user wrote it ("--ttl", "-n"). */
static const char *written(char **argv, int argc)
{
	return optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";
}

int cli_next_opt(const struct cli_cmd *cmd, int argc, char **argv, int *rc)
{
	static const struct cli_cmd *current;
	struct option all[MAX_OPTS + 2];
	char shortopts[32];
	size_t n = 0;
	int c;

	/* The command's table plus --help, and ':' first: a missing value is told apart. */
	for (const struct option *o = cmd->opts; o && o->name && n < MAX_OPTS; o++)
		all[n++] = *o;
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ 0 };
	snprintf(shortopts, sizeof(shortopts), ":h%s", cmd->shortopts ? cmd->shortopts : "");
	if (current != cmd) {
		current = cmd;
		optind = 1;
	}
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, all, NULL);
	switch (c) {
	case -1:
		current = NULL;
		return -1;
	case 'h':
		cli_help(cmd);
		*rc = EXIT_OK;
		break;
	case ':':
		*rc = cli_usage_error(cmd, "option '%s' needs a value", written(argv, argc));
		break;
	case '?':
		*rc = cli_usage_error(cmd, "unknown option '%s'", written(argv, argc));
		break;
	case 'j':
		cli_json = true;
		return c;
	default:
		return c;
	}
	current = NULL;
	return CLI_DONE;
}

int cli_operands(const struct cli_cmd *cmd, int argc, char **argv, int n, const char *what)
{
	if (argc - optind == n)
		return EXIT_OK;
	if (argc - optind > n)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + n]);
	return cli_usage_error(cmd, "expected %s", what);
}

int cli_fail(const struct eg_err *e)
{
	return say_error(EXIT_FAIL, cli_command, e->msg, NULL);
}

void cli_result(cJSON *doc, const char *fmt, ...)
{
	va_list ap;

	if (cli_json) {
		char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	cJSON_Delete(doc);
}

void cli_print_json(cJSON *doc)
{
	char *s = cJSON_Print(doc);

	if (s) {
		printf("%s\n", s);
		free(s);
	}
	cJSON_Delete(doc);
}

long long cli_parse_duration(const struct cli_cmd *cmd, const char *opt, const char *val)
{
	struct eg_err e = { 0 };
	uint64_t s;

	if (eg_parse_duration(val ? val : "", &s, &e)) {
		cli_usage_error(cmd, "%s: %s", opt, e.msg);
		return -1;
	}
	return (long long)s;
}

long long cli_parse_uint(const struct cli_cmd *cmd, const char *opt, const char *val,
			 unsigned long long max)
{
	char *end;
	unsigned long long v;

	if (!val || !*val || *val == '-' || *val == '+') {
		cli_usage_error(cmd, "%s needs a non-negative integer, got '%s'", opt, val ? val : "");
		return -1;
	}
	errno = 0;
	v = strtoull(val, &end, 10);
	if (*end || errno || v > max) {
		cli_usage_error(cmd, "%s: '%s' is not an integer between 0 and %llu", opt, val, max);
		return -1;
	}
	return (long long)v;
}

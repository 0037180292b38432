// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard: the runbook tool. Every command works on the pinned maps
 * directly, so it keeps working when no daemon runs; list changes go through
 * the daemon's control socket when one answers, so it logs and saves them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "attach", cmd_attach, "attach <ifname> [--policy FILE] [--xdp-mode native|skb|auto]" },
	{ "detach", cmd_detach, "detach <ifname>" },
	{ "status", cmd_status, "status [--json]" },
	{ "stats", cmd_stats, "stats [--json]" },
	{ "ban", cmd_ban, "ban <ip|cidr> [--ttl SECONDS] [--reason TEXT]   (ttl 0 = permanent)" },
	{ "unban", cmd_unban, "unban <ip|cidr>" },
	{ "bans", cmd_bans, "bans [--json]" },
	{ "allow", cmd_allow, "allow add|del <ip|cidr>   allow list [--json]" },
	{ "policy", cmd_policy, "policy check|load FILE" },
	{ "top", cmd_top, "top [-n N] [--sort syns|drops|pkts|conns|rate] [--interval S] [--once [--json]]" },
};

bool cli_verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!cli_verbose && level != LIBBPF_WARN)
		return 0;
	if (!cli_verbose)
		return 0; /* libbpf and libxdp warn about fallbacks we handle ourselves */
	return vfprintf(stderr, fmt, ap);
}

static int print_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return cli_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: edgeguard [-v] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].summary);
	fprintf(f, "\n'edgeguard COMMAND --help' describes one command. Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int cli_fail(const struct eg_err *e)
{
	fprintf(stderr, "edgeguard: %s\n", e->msg);
	return EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "edgeguard %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'edgeguard %s --help')\n", cmd);
	return EXIT_USAGE;
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

long long cli_parse_uint(const char *cmd, const char *opt, const char *val, unsigned long long max)
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

int main(int argc, char **argv)
{
	int i = 1;

	if (i < argc && (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))) {
		cli_verbose = true;
		i++;
	}
	libbpf_set_print(print_libbpf);
	libxdp_set_print(print_libxdp);
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	fprintf(stderr, "edgeguard: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}

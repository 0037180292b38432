// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard: the runbook tool. Every command works on the pinned maps
 * directly, so it keeps working when no daemon runs; list changes go through
 * the daemon's control socket when one answers, so it logs and saves them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "cli.h"
#include "version.h"

static const struct cli_cmd *const commands[] = {
	&cmd_attach, &cmd_detach, &cmd_status, &cmd_stats, &cmd_ban,
	&cmd_unban,  &cmd_bans,   &cmd_allow,  &cmd_policy, &cmd_top, &cmd_import,
	&cmd_doctor,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* libbpf and libxdp warn about fallbacks we handle ourselves: only with -v. */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return cli_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int print_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return cli_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: edgeguard [-v] [-j|--json] COMMAND [ARGS]\n"
		   "       edgeguard --version\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i]->usage);
	fprintf(f, "\n'edgeguard COMMAND --help' describes one command. -j prints JSON where a\n"
		   "command has it. Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	libbpf_set_print(print_libbpf);
	libxdp_set_print(print_libxdp);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			cli_verbose = true;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			cli_json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			cJSON *v = cJSON_CreateObject();

			cJSON_AddStringToObject(v, "version", EDGEGUARD_VERSION);
			cli_result(v, "edgeguard %s", EDGEGUARD_VERSION);
			return EXIT_OK;
		} else {
			return cli_error(EXIT_USAGE, "unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		if (cli_json)
			return cli_error(EXIT_USAGE, "no command given");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t c = 0; c < NCOMMANDS; c++) {
		if (strcmp(argv[i], commands[c]->name))
			continue;
		cli_command = commands[c]->name;
		return commands[c]->run(commands[c], argc - i, argv + i);
	}
	return cli_error(EXIT_USAGE, "unknown command '%s'", argv[i]);
}

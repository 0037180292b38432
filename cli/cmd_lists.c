// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ban, unban, bans, allow: the list commands. Changes go through the daemon
 * when one answers (it logs and saves them), else straight to the pinned
 * maps, with the same library calls, output and exit status either way.
 * Listings too: the daemon's answer and the maps' are the same report
 * (report.c), and this file only formats it.
 */
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "cli.h"
#include "control_client.h"
#include "guard.h"
#include "lists.h"
#include "pins.h"
#include "report.h"

static int change_on_maps(const struct eg_maps *m, const struct eg_ctl_request *c,
			  struct eg_err *e)
{
	switch (c->cmd) {
	case EG_CTL_BAN:
		return eg_ban_add(m, &c->key, c->ttl_s, EG_ORIGIN_MANUAL, c->reason, e);
	case EG_CTL_UNBAN:
		return eg_ban_del(m, &c->key, e);
	case EG_CTL_ALLOW_ADD:
		return eg_allow_add(m, &c->key, e);
	default:
		return eg_allow_del(m, &c->key, e);
	}
}

/*
 * Through the daemon when there is one, else on the maps: only when no
 * daemon is there at all, never after a request went out unanswered (it may
 * have been applied). EXIT_OK or EXIT_FAIL (printed).
 */
static int apply_change(struct eg_ctl_request *c)
{
	struct eg_err e = { 0 };
	struct eg_maps m;
	int rc;

	switch (ctl_do(c, &e)) {
	case CTL_DONE:
		return EXIT_OK;
	case CTL_FAILED:
		return cli_fail(&e);
	case CTL_NO_DAEMON:
		break;
	}
	if (c->cmd == EG_CTL_ALLOW_ADD && c->fleet) {
		eg_fail(&e, "--fleet needs edgeguardd running (it publishes the allow to the fleet); nothing was changed");
		return cli_fail(&e);
	}
	if (eg_maps_open_pinned(&m, &e))
		return cli_fail(&e);
	rc = change_on_maps(&m, c, &e);
	eg_maps_close(&m);
	return rc ? cli_fail(&e) : EXIT_OK;
}

/*
 * A list report (bans or allows), read from the pinned maps: it works
 * whether the daemon runs, is stopped or hangs. *out is a new JSON array.
 */
static int fetch_list(bool bans, cJSON **out)
{
	struct eg_err e = { 0 };
	struct eg_maps m;
	int rc;

	if (eg_maps_open_pinned(&m, &e))
		return cli_fail(&e);
	rc = bans ? eg_report_bans(&m, eg_now_ns(), out, &e) : eg_report_allows(&m, out, &e);
	eg_maps_close(&m);
	return rc ? cli_fail(&e) : EXIT_OK;
}

static const char *text_of(const cJSON *o, const char *field, const char *none)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

	return cJSON_IsString(v) ? v->valuestring : none;
}

static int only_options(const struct cli_cmd *cmd, int argc, char **argv)
{
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1)
		if (c == CLI_DONE)
			return rc;
	return -1;
}

/* The lock-out guards (user/policy/guard.h), seen from this shell: its host, its SSH client. */
static int guard_ban(const struct eg_lpm_key *k, struct eg_err *e)
{
	static struct eg_guard g;

	if (eg_guard_load(&g, e))
		return -1;
	return eg_guard_check(&g, k, e);
}

static int run_ban(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_BAN };
	const char *reason = NULL;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	long long ttl = 0;
	bool force = false;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'r')
			reason = optarg;
		if (c == 'f')
			force = true;
		if (c == 't' && (ttl = cli_parse_duration(cmd, "--ttl", optarg)) < 0)
			return EXIT_USAGE;
	}
	if (cli_operands(cmd, argc, argv, 1, "one address or CIDR"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind], &ch.key, &e))
		return cli_fail(&e);
	if (!force && guard_ban(&ch.key, &e))
		return cli_fail(&e);
	ch.ttl_s = (uint32_t)ttl;
	if (reason && strlen(reason) >= sizeof(ch.reason)) {
		eg_fail(&e, "the ban reason is longer than %zu characters", sizeof(ch.reason) - 1);
		return cli_fail(&e);
	}
	if (reason)
		memcpy(ch.reason, reason, strlen(reason) + 1);
	/* The same rules the daemon applies, before anything is sent or written. */
	if (eg_ctl_check_request(&ch, &e))
		return cli_fail(&e);
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	if (ttl)
		printf("banned %s for %llds\n", cidr, ttl);
	else
		printf("banned %s permanently\n", cidr);
	return EXIT_OK;
}

const struct cli_cmd cmd_ban = {
	.name = "ban",
	.run = run_ban,
	.usage = "ban <ip|cidr> [--ttl DURATION] [--reason TEXT] [--force]   (600, 10m, 4h, 7d, permanent)",
	.help = "Drops all traffic from the address or network in XDP. --ttl permanent (or 0,\n"
		"the default) never expires; otherwise the kernel lifts the ban after the\n"
		"duration by itself: seconds (600) or 90s, 10m, 4h, 7d, up to ten years.\n"
		"--reason (up to 127 characters, one printable line) is shown by 'edgeguard bans'.\n"
		"A ban covering every address (/0), an address of this host or the client of the\n"
		"SSH session it runs in (SSH_CONNECTION, SSH_CLIENT) is refused without --force.\n",
	.opts = (const struct option[]){
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ 0 },
	},
};

static int run_unban(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_UNBAN };
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	int rc = only_options(cmd, argc, argv);

	if (rc >= 0)
		return rc;
	if (cli_operands(cmd, argc, argv, 1, "one address or CIDR"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind], &ch.key, &e))
		return cli_fail(&e);
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	printf("unbanned %s\n", cidr);
	return EXIT_OK;
}

const struct cli_cmd cmd_unban = {
	.name = "unban",
	.run = run_unban,
	.usage = "unban <ip|cidr>",
	.help = "Removes exactly that ban entry: the operator's and the datapath's own.\n",
};

static void print_ban_row(const cJSON *b)
{
	const cJSON *left = cJSON_GetObjectItemCaseSensitive(b, "expires_in");
	const char *host = text_of(b, "host", NULL);
	char when[32];

	if (cJSON_IsNumber(left))
		snprintf(when, sizeof(when), "%.0fs", left->valuedouble);
	else
		snprintf(when, sizeof(when), "never");
	/* A fleet ban names the host that banned in front of its reason. */
	printf("%-40s %-12s %-8s %-18s %s%s%s%s\n", text_of(b, "address", "?"), when,
	       text_of(b, "origin", "?"), text_of(b, "trigger", "-"), host ? "from " : "",
	       host ? host : "", host ? ": " : "", text_of(b, "reason", "-"));
}

static int run_bans(const struct cli_cmd *cmd, int argc, char **argv)
{
	int rc = only_options(cmd, argc, argv);
	const cJSON *b;
	cJSON *list;

	if (rc >= 0)
		return rc;
	if (cli_operands(cmd, argc, argv, 0, "no arguments"))
		return EXIT_USAGE;
	if (fetch_list(true, &list))
		return EXIT_FAIL;
	if (cli_json) {
		cli_print_json(list);
		return EXIT_OK;
	}
	if (!cJSON_GetArraySize(list))
		printf("no active bans\n");
	else
		printf("%-40s %-12s %-8s %-18s %s\n", "ADDRESS", "EXPIRES IN", "ORIGIN", "TRIGGER",
		       "REASON");
	cJSON_ArrayForEach(b, list)
		print_ban_row(b);
	cJSON_Delete(list);
	return EXIT_OK;
}

const struct cli_cmd cmd_bans = {
	.name = "bans",
	.run = run_bans,
	.usage = "bans [--json]",
	.help = "Lists active bans: address, time left, origin (manual, auto, policy, fleet),\n"
		"what triggered an auto-ban, and the reason given with the ban (for a fleet\n"
		"ban, after the host that banned: \"from edge-7: ...\").\n",
	.opts = (const struct option[]){ { "json", no_argument, NULL, 'j' }, { 0 } },
};

static int list_allows(void)
{
	const cJSON *a;
	cJSON *list;

	if (fetch_list(false, &list))
		return EXIT_FAIL;
	if (cli_json) {
		cli_print_json(list);
		return EXIT_OK;
	}
	/* A plain allow is its address alone, so "grep -x" finds it. */
	cJSON_ArrayForEach(a, list) {
		const cJSON *addr = cJSON_GetObjectItemCaseSensitive(a, "address");
		const cJSON *origin = cJSON_GetObjectItemCaseSensitive(a, "origin");

		if (!cJSON_IsString(addr))
			continue;
		if (cJSON_IsString(origin) && !strcmp(origin->valuestring, "fleet"))
			printf("%s from the fleet\n", addr->valuestring);
		else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "fleet")))
			printf("%s fleet-wide\n", addr->valuestring);
		else
			printf("%s\n", addr->valuestring);
	}
	cJSON_Delete(list);
	return EXIT_OK;
}

static int run_allow(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_ctl_request ch = { 0 };
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	const char *verb;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'F')
			ch.fleet = true;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "expected add, del or list");
	verb = argv[optind];
	if (ch.fleet && strcmp(verb, "add"))
		return cli_usage_error(cmd, "--fleet goes with add (del removes a fleet-wide allow everywhere)");
	if (!strcmp(verb, "list"))
		return cli_operands(cmd, argc, argv, 1, "nothing after list") ? EXIT_USAGE :
										  list_allows();
	if (strcmp(verb, "add") && strcmp(verb, "del"))
		return cli_usage_error(cmd, "unknown subcommand '%s' (add, del or list)", verb);
	if (cli_operands(cmd, argc, argv, 2, "one address or CIDR after add or del"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind + 1], &ch.key, &e))
		return cli_fail(&e);
	ch.cmd = verb[0] == 'a' ? EG_CTL_ALLOW_ADD : EG_CTL_ALLOW_DEL;
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	printf("%s %s%s\n", verb[0] == 'a' ? "allowed" : "no longer allowed:", cidr,
	       ch.fleet ? " fleet-wide" : "");
	return EXIT_OK;
}

const struct cli_cmd cmd_allow = {
	.name = "allow",
	.run = run_allow,
	.usage = "allow add <ip|cidr> [--fleet]   allow del <ip|cidr>   allow list [--json]",
	.help = "An allowlisted source is never dropped: not by bans, not by limits.\n"
		"--fleet: edgeguardd shares the allow with every host of its fleet (--redis);\n"
		"del of a fleet-wide allow, or of one from the fleet, removes it everywhere.\n",
	.opts = (const struct option[]){ { "json", no_argument, NULL, 'j' },
					 { "fleet", no_argument, NULL, 'F' },
					 { 0 } },
};

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
#include "bulk_cli.h"
#include "cli.h"
#include "control_client.h"
#include "guard.h"
#include "lists.h"
#include "pins.h"
#include "report.h"
#include "text.h"

static int change_on_maps(const struct eg_maps *m, const struct eg_ctl_request *c,
			  struct eg_err *e)
{
	switch (c->cmd) {
	case EG_CTL_BAN: {
		const char *outcome;

		if (c->origin != EG_ORIGIN_MANUAL) /* an importer's ban never shortens one (bulk.h) */
			return eg_ban_merge(m, &c->key, c->ttl_s, c->origin, c->reason, &outcome, e);
		return eg_ban_add(m, &c->key, c->ttl_s, EG_ORIGIN_MANUAL, c->reason, e);
	}
	case EG_CTL_UNBAN:
		if (c->has_origin)
			return eg_ban_del_origin(m, &c->key, c->origin, e);
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

	if (eg_maps_open_pinned_ro(&m, &e))
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

/* A change's result for -j: {"action": ..., "address": ..., "ttl": seconds (bans only; 0 permanent)}. */
static cJSON *change_json(const char *action, const char *cidr, long long ttl)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "action", action);
	cJSON_AddStringToObject(o, "address", cidr);
	if (!strcmp(action, "banned"))
		cJSON_AddNumberToObject(o, "ttl", (double)ttl);
	return o;
}

/* --origin NAME: an origin an operator's command may claim (manual, import); -1 after a usage error. */
static int origin_opt(const struct cli_cmd *cmd, const char *val)
{
	int o = eg_origin_claimable(val);

	if (o < 0)
		cli_usage_error(cmd, "--origin must be manual or import, not '%s'", val);
	return o;
}

/* The file form of a list command: no operand beside --from-file. */
static int from_file(const struct cli_cmd *cmd, int argc, char **argv, struct cli_bulk *b,
		     const char *path, int operands)
{
	char what[256];

	if (cli_operands(cmd, argc, argv, operands, "no address with --from-file"))
		return EXIT_USAGE;
	snprintf(what, sizeof(what), "%s --from-file %s", b->what, path);
	b->what = what;
	b->name = strcmp(path, "-") ? path : "stdin";
	return cli_bulk_file(b, path);
}

static int run_ban(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_BAN };
	struct cli_bulk b = { .op = EG_BULK_BAN, .what = "ban" };
	const char *reason = NULL, *file = NULL;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	long long ttl = 0;
	bool force = false;
	int c, rc, origin = EG_ORIGIN_MANUAL;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'r')
			reason = optarg;
		if (c == 'f')
			force = true;
		if (c == 'F')
			file = optarg;
		if (c == 'P')
			b.partial = true;
		if (c == 'o' && (origin = origin_opt(cmd, optarg)) < 0)
			return EXIT_USAGE;
		if (c == 't' && (ttl = cli_parse_duration(cmd, "--ttl", optarg)) < 0)
			return EXIT_USAGE;
	}
	/* A malformed argument is a usage error, for a file's bans too. */
	if (reason && eg_text_check_field("--reason", reason, EG_BAN_REASON_LEN, &e))
		return cli_bad_arg(cmd, &e);
	if (file) {
		b.origin = (unsigned int)origin;
		b.ttl_s = (uint32_t)ttl;
		b.reason = reason;
		b.force = force;
		return from_file(cmd, argc, argv, &b, file, 0);
	}
	if (b.partial)
		return cli_usage_error(cmd, "--partial goes with --from-file");
	if (cli_operands(cmd, argc, argv, 1, "one address or CIDR"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind], &ch.key, &e))
		return cli_bad_arg(cmd, &e);
	ch.ttl_s = (uint32_t)ttl;
	ch.origin = (uint16_t)origin;
	if (reason)
		memcpy(ch.reason, reason, strlen(reason) + 1);
	/* The same rules the daemon applies, before anything is sent or written. */
	if (eg_ctl_check_request(&ch, &e))
		return cli_bad_arg(cmd, &e);
	if (!force && cli_guard_check(&ch.key, &e))
		return cli_fail(&e);
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	if (ttl)
		cli_result(change_json("banned", cidr, ttl), "banned %s for %llds", cidr, ttl);
	else
		cli_result(change_json("banned", cidr, 0), "banned %s permanently", cidr);
	return EXIT_OK;
}

const struct cli_cmd cmd_ban = {
	.name = "ban",
	.run = run_ban,
	.usage = "ban <ip|cidr> [--ttl DURATION] [--reason TEXT] [--origin manual|import] [--force]\n"
		 "       edgeguard ban --from-file FILE|- [--ttl D] [--reason T] [--origin O] [--partial] [--force]",
	.help = "Drops all traffic from the address or network in XDP. --ttl permanent (or 0,\n"
		"the default) never expires; otherwise the kernel lifts the ban after the\n"
		"duration by itself: seconds (600) or 90s, 10m, 4h, 7d, up to ten years.\n"
		"--reason (up to 127 characters, one printable line) is shown by 'edgeguard bans'.\n"
		"A ban covering every address (/0), an address of this host or the client of the\n"
		"SSH session it runs in (SSH_CONNECTION, SSH_CLIENT) is refused without --force.\n"
		"--origin import (fail2ban, other tools): the ban never shortens one already there.\n"
		"--from-file: one address or CIDR per line, then optionally a TTL ('-': --ttl) and\n"
		"a reason; '#' comments. Bans merge (added, extended, unchanged: never shortened).\n"
		"Any bad line changes nothing (every one is reported with its line number);\n"
		"--partial applies the good lines and exits 1.\n",
	.opts = (const struct option[]){
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "origin", required_argument, NULL, 'o' },
		{ "from-file", required_argument, NULL, 'F' },
		{ "partial", no_argument, NULL, 'P' },
		{ 0 },
	},
};

static int run_unban(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_UNBAN };
	struct cli_bulk b = { .op = EG_BULK_UNBAN, .what = "unban", .origin = EG_BULK_ANY_ORIGIN };
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	const char *file = NULL;
	int c, rc, origin;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'F')
			file = optarg;
		if (c == 'P')
			b.partial = true;
		if (c == 'o') {
			if ((origin = origin_opt(cmd, optarg)) < 0)
				return EXIT_USAGE;
			b.origin = (unsigned int)origin;
			ch.origin = (uint16_t)origin;
			ch.has_origin = true;
		}
	}
	if (file)
		return from_file(cmd, argc, argv, &b, file, 0);
	if (b.partial)
		return cli_usage_error(cmd, "--partial goes with --from-file");
	if (cli_operands(cmd, argc, argv, 1, "one address or CIDR"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind], &ch.key, &e))
		return cli_bad_arg(cmd, &e);
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	cli_result(change_json("unbanned", cidr, 0), "unbanned %s", cidr);
	return EXIT_OK;
}

const struct cli_cmd cmd_unban = {
	.name = "unban",
	.run = run_unban,
	.usage = "unban <ip|cidr> [--origin manual|import]   unban --from-file FILE|- [--origin O] [--partial]",
	.help = "Removes exactly that ban entry: the operator's and the datapath's own.\n"
		"--origin: only a ban of that origin (a ban of another origin is left in place).\n"
		"--from-file: the addresses of a ban file (other columns ignored); what is not\n"
		"banned is counted, not an error.\n",
	.opts = (const struct option[]){
		{ "origin", required_argument, NULL, 'o' },
		{ "from-file", required_argument, NULL, 'F' },
		{ "partial", no_argument, NULL, 'P' },
		{ 0 },
	},
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
	.help = "Lists active bans: address, time left, origin (manual, auto, policy, fleet,\n"
		"import, crowdsec), what triggered an auto-ban, and the reason given with the\n"
		"ban (for a fleet ban, after the host that banned: \"from edge-7: ...\").\n",
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
	struct cli_bulk b = { 0 };
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	const char *verb, *file = NULL;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'F')
			file = optarg;
		if (c == 'P')
			b.partial = true;
		if (c == 'W')
			ch.fleet = true;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "expected add, del or list");
	verb = argv[optind];
	if ((file || b.partial) && strcmp(verb, "add") && strcmp(verb, "del"))
		return cli_usage_error(cmd, "--from-file and --partial go with add or del");
	if (file) {
		b.op = verb[0] == 'a' ? EG_BULK_ALLOW_ADD : EG_BULK_ALLOW_DEL;
		b.what = verb[0] == 'a' ? "allow add" : "allow del";
		return from_file(cmd, argc, argv, &b, file, 1);
	}
	if (b.partial)
		return cli_usage_error(cmd, "--partial goes with --from-file");
	if (ch.fleet && (file || strcmp(verb, "add")))
		return cli_usage_error(cmd, "--fleet goes with add of one address (del removes a fleet-wide allow everywhere)");
	if (!strcmp(verb, "list"))
		return cli_operands(cmd, argc, argv, 1, "nothing after list") ? EXIT_USAGE :
										  list_allows();
	if (strcmp(verb, "add") && strcmp(verb, "del"))
		return cli_usage_error(cmd, "unknown subcommand '%s' (add, del or list)", verb);
	if (cli_operands(cmd, argc, argv, 2, "one address or CIDR after add or del"))
		return EXIT_USAGE;
	if (eg_parse_cidr(argv[optind + 1], &ch.key, &e))
		return cli_bad_arg(cmd, &e);
	ch.cmd = verb[0] == 'a' ? EG_CTL_ALLOW_ADD : EG_CTL_ALLOW_DEL;
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	cli_result(change_json(verb[0] == 'a' ? "allowed" : "disallowed", cidr, 0), "%s %s%s",
		   verb[0] == 'a' ? "allowed" : "no longer allowed:", cidr, ch.fleet ? " fleet-wide" : "");
	return EXIT_OK;
}

const struct cli_cmd cmd_allow = {
	.name = "allow",
	.run = run_allow,
	.usage = "allow add <ip|cidr> [--fleet]   allow del <ip|cidr>   allow add|del --from-file FILE|- [--partial]   allow list [--json]",
	.help = "An allowlisted source is never dropped: not by bans, not by limits.\n"
		"--fleet: edgeguardd shares the allow with every host of its fleet (--redis);\n"
		"del of a fleet-wide allow, or of one from the fleet, removes it everywhere.\n"
		"--from-file: the addresses of a list file, as for 'ban --from-file'.\n",
	.opts = (const struct option[]){
		{ "json", no_argument, NULL, 'j' },
		{ "from-file", required_argument, NULL, 'F' },
		{ "partial", no_argument, NULL, 'P' },
		{ "fleet", no_argument, NULL, 'W' },
		{ 0 },
	},
};

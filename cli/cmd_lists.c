// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ban, unban, bans, allow: the list commands. Changes go through the daemon
 * when one answers (it logs and saves them), else straight to the pinned
 * maps, with the same library calls, output and exit status either way.
 * Listing always reads the maps.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "cli.h"
#include "control_client.h"
#include "lists.h"
#include "pins.h"

#define MAX_TTL EG_CTL_MAX_TTL

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int open_maps(struct eg_maps *m)
{
	struct eg_err e = { 0 };

	return eg_maps_open_pinned(m, &e) ? cli_fail(&e) : 0;
}

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
	if (open_maps(&m))
		return EXIT_FAIL;
	rc = change_on_maps(&m, c, &e);
	eg_maps_close(&m);
	return rc ? cli_fail(&e) : EXIT_OK;
}

int cmd_ban(int argc, char **argv)
{
	static const struct option opts[] = { { "ttl", required_argument, NULL, 't' },
					      { "reason", required_argument, NULL, 'r' },
					      { 0 } };
	struct eg_ctl_request ch = { .cmd = EG_CTL_BAN };
	const char *reason = NULL;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	long long ttl = 0;
	int c;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard ban <ip|cidr> [--ttl SECONDS] [--reason TEXT]\n"
		       "Drops all traffic from the address or network in XDP. --ttl 0 (the default)\n"
		       "is permanent; otherwise the kernel lifts the ban after SECONDS by itself.\n"
		       "--reason (up to %d characters) is shown by 'edgeguard bans'.\n",
		       EG_BAN_REASON_LEN - 1);
		return EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r') {
			reason = optarg;
			continue;
		}
		if (c != 't')
			return cli_usage_error("ban", "unknown option");
		ttl = cli_parse_uint("ban", "--ttl", optarg, MAX_TTL);
		if (ttl < 0)
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage_error("ban", "expected exactly one address or CIDR");
	if (eg_parse_cidr(argv[optind], &ch.key, &e))
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

int cmd_unban(int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_UNBAN };
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard unban <ip|cidr>\nRemoves exactly that ban entry.\n");
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("unban", "expected exactly one address or CIDR");
	if (eg_parse_cidr(argv[1], &ch.key, &e))
		return cli_fail(&e);
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	printf("unbanned %s\n", cidr);
	return EXIT_OK;
}

struct ban_walk {
	uint64_t now;
	cJSON *json; /* array, or NULL for text */
	int shown;
};

static int show_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct ban_walk *w = ctx;
	char cidr[EG_CIDR_STRLEN], left[32], why[EG_BAN_REASON_LEN + 32];
	long long secs;

	if (b->ban.expires_ns && b->ban.expires_ns <= w->now)
		return 0; /* expired: the datapath already ignores it */
	eg_format_cidr(&b->key, cidr, sizeof(cidr));
	secs = b->ban.expires_ns ? (long long)((b->ban.expires_ns - w->now + 999999999ULL) / 1000000000ULL) : -1;
	w->shown++;
	/* An auto-ban has no note: its trigger is its reason. */
	if (b->ban.origin == EG_ORIGIN_AUTO)
		snprintf(why, sizeof(why), "auto: %s", eg_reason_name(b->ban.trigger));
	else
		snprintf(why, sizeof(why), "%s", b->reason);
	if (w->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "address", cidr);
		if (secs < 0)
			cJSON_AddNullToObject(o, "expires_in");
		else
			cJSON_AddNumberToObject(o, "expires_in", (double)secs);
		cJSON_AddBoolToObject(o, "permanent", secs < 0);
		cJSON_AddStringToObject(o, "origin", eg_origin_name(b->ban.origin));
		if (b->ban.origin == EG_ORIGIN_AUTO) {
			cJSON_AddStringToObject(o, "trigger", eg_reason_name(b->ban.trigger));
			cJSON_AddNumberToObject(o, "policy", b->ban.policy);
		}
		if (why[0])
			cJSON_AddStringToObject(o, "reason", why);
		else
			cJSON_AddNullToObject(o, "reason");
		cJSON_AddItemToArray(w->json, o);
		return 0;
	}
	if (w->shown == 1)
		printf("%-40s %-12s %-8s %-18s %s\n", "ADDRESS", "EXPIRES IN", "ORIGIN", "TRIGGER",
		       "REASON");
	if (secs < 0)
		snprintf(left, sizeof(left), "never");
	else
		snprintf(left, sizeof(left), "%llds", secs);
	printf("%-40s %-12s %-8s %-18s %s\n", cidr, left, eg_origin_name(b->ban.origin),
	       b->ban.origin == EG_ORIGIN_AUTO ? eg_reason_name(b->ban.trigger) : "-",
	       why[0] ? why : "-");
	return 0;
}

int cmd_bans(int argc, char **argv)
{
	struct ban_walk w = { .now = eg_now_ns() };
	struct eg_maps m;
	struct eg_err e = { 0 };
	int rc;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard bans [--json]\nLists active bans: address, time left, origin (manual, auto, policy, fleet),\n"
		       "what triggered an auto-ban, and the reason given with the ban.\n");
		return EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json")))
		return cli_usage_error("bans", "unexpected argument '%s'", argv[argc - 1]);
	if (argc == 2)
		w.json = cJSON_CreateArray();
	if (open_maps(&m)) {
		cJSON_Delete(w.json);
		return EXIT_FAIL;
	}
	rc = eg_ban_foreach(&m, show_ban, &w, &e);
	eg_maps_close(&m);
	if (rc) {
		cJSON_Delete(w.json);
		return cli_fail(&e);
	}
	if (w.json)
		cli_print_json(w.json);
	else if (!w.shown)
		printf("no active bans\n");
	return EXIT_OK;
}

static int show_allow(const struct eg_allow_entry *a, void *ctx)
{
	cJSON *arr = ctx;
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(&a->key, cidr, sizeof(cidr));
	if (arr)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cidr));
	else
		printf("%s\n", cidr);
	return 0;
}

int cmd_allow(int argc, char **argv)
{
	struct eg_ctl_request ch = { .cmd = EG_CTL_ALLOW_ADD };
	struct eg_maps m;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN];
	int rc;

	if (wants_help(argc, argv) || argc < 2) {
		printf("usage: edgeguard allow add <ip|cidr>\n"
		       "       edgeguard allow del <ip|cidr>\n"
		       "       edgeguard allow list [--json]\n"
		       "An allowlisted source is never dropped: not by bans, not by limits.\n");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "list")) {
		cJSON *arr = NULL;

		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
			return cli_usage_error("allow", "unexpected argument '%s'", argv[argc - 1]);
		if (open_maps(&m))
			return EXIT_FAIL;
		if (argc == 3)
			arr = cJSON_CreateArray();
		rc = eg_allow_foreach(&m, show_allow, arr, &e);
		eg_maps_close(&m);
		if (rc) {
			cJSON_Delete(arr);
			return cli_fail(&e);
		}
		if (arr)
			cli_print_json(arr);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "add") && strcmp(argv[1], "del"))
		return cli_usage_error("allow", "unknown subcommand '%s'", argv[1]);
	if (argc != 3)
		return cli_usage_error("allow", "expected exactly one address or CIDR");
	if (eg_parse_cidr(argv[2], &ch.key, &e))
		return cli_fail(&e);
	ch.cmd = argv[1][0] == 'a' ? EG_CTL_ALLOW_ADD : EG_CTL_ALLOW_DEL;
	if (apply_change(&ch))
		return EXIT_FAIL;
	eg_format_cidr(&ch.key, cidr, sizeof(cidr));
	printf("%s %s\n", argv[1][0] == 'a' ? "allowed" : "no longer allowed:", cidr);
	return EXIT_OK;
}

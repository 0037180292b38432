// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* attach, detach, policy: putting the datapath and its policy in place. */
#include <stdio.h>
#include <string.h>
#include "apply.h"
#include "attach.h"
#include "cli.h"
#include "pins.h"

static int load_and_apply(const struct eg_policy_file *f)
{
	struct eg_maps m;
	struct eg_err e = { 0 };
	int rc;

	if (eg_maps_open_pinned(&m, &e))
		return cli_fail(&e);
	rc = eg_apply_policy_file(&m, f, &e);
	eg_maps_close(&m);
	if (rc || eg_policy_meta_write(f, &e))
		return cli_fail(&e);
	return EXIT_OK;
}

/* The policy a command put in force or checked, for -j. */
static void add_policy_json(cJSON *o, const struct eg_policy_file *pf)
{
	cJSON *p = cJSON_AddObjectToObject(o, "policy");

	cJSON_AddStringToObject(p, "file", pf->path);
	cJSON_AddStringToObject(p, "hash", pf->hash);
	cJSON_AddNumberToObject(p, "port_policies", pf->table.nrules);
	cJSON_AddNumberToObject(p, "allows", (double)pf->nallow);
	cJSON_AddNumberToObject(p, "static_bans", (double)pf->nbans);
}

/* FILE, or the standard input for "-". */
static int read_policy(const char *file, struct eg_policy_file *pf, struct eg_err *e)
{
	if (!strcmp(file, "-"))
		return eg_policy_file_read(0, "<stdin>", pf, e);
	return eg_policy_file_load(file, pf, e);
}

static int run_attach(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	enum eg_xdp_mode mode = EG_XDP_AUTO;
	const char *policy = NULL, *ifname;
	bool already;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'p')
			policy = optarg;
		else if (c == 'm' && eg_parse_xdp_mode(optarg, &mode, &e))
			return cli_usage_error(cmd, "%s", e.msg);
	}
	if (cli_operands(cmd, argc, argv, 1, "one interface name"))
		return EXIT_USAGE;
	ifname = argv[optind];
	memset(&pf, 0, sizeof(pf));
	if (policy && eg_policy_file_load(policy, &pf, &e))
		return cli_fail(&e);

	rc = eg_attach(ifname, mode, policy ? &pf.sizes : NULL, &e);
	if (rc < 0) {
		eg_policy_file_free(&pf);
		return cli_fail(&e);
	}
	already = rc == 1;
	rc = policy ? load_and_apply(&pf) : EXIT_OK;
	if (rc == EXIT_OK) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "interface", ifname);
		cJSON_AddBoolToObject(o, "already_attached", already);
		if (policy)
			add_policy_json(o, &pf);
		if (policy)
			cli_result(o, "%s %s\npolicy %s (hash %s) in force",
				   already ? "edgeguard already attached to" : "attached to", ifname,
				   pf.path, pf.hash);
		else
			cli_result(o, "%s %s",
				   already ? "edgeguard already attached to" : "attached to", ifname);
	}
	eg_policy_file_free(&pf);
	return rc;
}

const struct cli_cmd cmd_attach = {
	.name = "attach",
	.run = run_attach,
	.usage = "attach <ifname> [--policy FILE] [--xdp-mode native|skb|auto]",
	.help = "Loads the XDP datapath on the interface (through libxdp, next to other XDP\n"
		"programs) and pins its maps, so enforcement continues without any process.\n"
		"Attaching twice changes nothing; all interfaces share one set of lists and\n"
		"policies. --policy is checked before anything is touched.\n",
	.opts = (const struct option[]){
		{ "policy", required_argument, NULL, 'p' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ 0 },
	},
};

static int run_detach(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_err e = { 0 };
	bool last = false, gone = false;
	const char *ifname;
	cJSON *o;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1)
		if (c == CLI_DONE)
			return rc;
	if (cli_operands(cmd, argc, argv, 1, "one interface name"))
		return EXIT_USAGE;
	ifname = argv[optind];
	if (eg_detach(ifname, &last, &gone, &e))
		return cli_fail(&e);
	if (last) {
		if (eg_pins_remove(&e))
			return cli_fail(&e);
		eg_policy_meta_remove();
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "interface", ifname);
	cJSON_AddBoolToObject(o, "was_gone", gone);
	cJSON_AddBoolToObject(o, "maps_removed", last);
	cli_result(o, "detached from %s%s%s%s", ifname,
		   gone ? " (it no longer ran edgeguard: cleaned up what it left)" : "",
		   last ? "\nno interface left: removed the pinned maps in " : "",
		   last ? eg_pin_dir() : "");
	return EXIT_OK;
}

const struct cli_cmd cmd_detach = {
	.name = "detach",
	.run = run_detach,
	.usage = "detach <ifname>",
	.help = "Removes edgeguard's XDP program from the interface and nothing else. When no\n"
		"interface is left, the pinned maps (bans, counters, state) are removed too.\n"
		"An interface deleted while attached (see 'edgeguard status') is detached by\n"
		"its old name: what it left behind is cleaned up.\n",
};

static int run_policy(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	const char *verb;
	cJSON *o;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1)
		if (c == CLI_DONE)
			return rc;
	if (cli_operands(cmd, argc, argv, 2, "check or load, and one FILE"))
		return EXIT_USAGE;
	verb = argv[optind];
	if (strcmp(verb, "check") && strcmp(verb, "load"))
		return cli_usage_error(cmd, "unknown subcommand '%s' (check or load)", verb);
	memset(&pf, 0, sizeof(pf));
	if (read_policy(argv[optind + 1], &pf, &e))
		return cli_fail(&e);
	if (!strcmp(verb, "check")) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		add_policy_json(o, &pf);
		cli_result(o, "%s: ok (%u port policies, %zu allows, %zu static bans, hash %s)",
			   pf.path, pf.table.nrules, pf.nallow, pf.nbans, pf.hash);
		eg_policy_file_free(&pf);
		return EXIT_OK;
	}
	rc = load_and_apply(&pf);
	if (rc == EXIT_OK) {
		o = cJSON_CreateObject();
		add_policy_json(o, &pf);
		cli_result(o, "policy %s (hash %s) in force", pf.path, pf.hash);
	}
	eg_policy_file_free(&pf);
	return rc;
}

const struct cli_cmd cmd_policy = {
	.name = "policy",
	.run = run_policy,
	.usage = "policy check|load FILE   (FILE - reads the standard input)",
	.help = "check validates FILE and touches nothing; load validates it, then switches\n"
		"the datapath to it atomically. Errors name the file, the JSON path and the\n"
		"reason. An invalid file changes nothing; a valid one keeps per-source state\n"
		"and bans. Schema: docs/policy.md.\n",
};

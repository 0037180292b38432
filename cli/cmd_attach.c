// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* attach, detach: putting the datapath in place (policy files: cmd_policy.c). */
#include <stdio.h>
#include <string.h>
#include "apply.h"
#include "attach.h"
#include "guard.h"
#include "cli.h"
#include "pins.h"

/* attach --policy: straight to the maps just attached, with the same guards as policy load. */
static int load_and_apply(const struct eg_policy_file *f, cJSON **report)
{
	struct eg_guard g;
	struct eg_err e = { 0 };

	if (eg_guard_load(&g, &e))
		return cli_fail(&e);
	return cli_policy_apply(f, &(struct eg_apply_opts){ .origin = EG_POLICY_BY_ATTACH,
							    .guard = &g }, report);
}

static int run_attach(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	enum eg_xdp_mode mode = EG_XDP_AUTO;
	const char *policy = NULL, *ifname;
	cJSON *report = NULL;
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
	if (policy && cli_policy_read(policy, &pf, &e))
		return cli_fail(&e);

	rc = eg_attach(ifname, mode, policy ? &pf.sizes : NULL, &e);
	if (rc < 0) {
		eg_policy_file_free(&pf);
		return cli_fail(&e);
	}
	already = rc == 1;
	rc = policy ? load_and_apply(&pf, &report) : EXIT_OK;
	if (rc == EXIT_OK && cli_json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "interface", ifname);
		cJSON_AddBoolToObject(o, "already_attached", already);
		if (report)
			cJSON_AddItemToObject(o, "policy", report);
		report = NULL;
		cli_result(o, "%s", "");
	} else if (rc == EXIT_OK) {
		printf("%s %s\n", already ? "edgeguard already attached to" : "attached to", ifname);
		if (report)
			cli_policy_print(report);
	}
	cJSON_Delete(report);
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

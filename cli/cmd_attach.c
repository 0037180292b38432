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
static int load_and_apply(const struct eg_policy_file *f)
{
	struct eg_guard g;
	struct eg_err e = { 0 };

	if (eg_guard_load(&g, &e))
		return cli_fail(&e);
	return cli_policy_apply(f, &(struct eg_apply_opts){ .origin = EG_POLICY_BY_ATTACH,
							    .guard = &g });
}

static int run_attach(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	enum eg_xdp_mode mode = EG_XDP_AUTO;
	const char *policy = NULL, *ifname;
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
	printf(rc == 1 ? "edgeguard already attached to %s\n" : "attached to %s\n", ifname);
	rc = EXIT_OK;
	if (policy)
		rc = load_and_apply(&pf);
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
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1)
		if (c == CLI_DONE)
			return rc;
	if (cli_operands(cmd, argc, argv, 1, "one interface name"))
		return EXIT_USAGE;
	ifname = argv[optind];
	if (eg_detach(ifname, &last, &gone, &e))
		return cli_fail(&e);
	if (gone)
		printf("detached from %s (it no longer ran edgeguard: cleaned up what it left)\n",
		       ifname);
	else
		printf("detached from %s\n", ifname);
	if (last) {
		if (eg_pins_remove(&e))
			return cli_fail(&e);
		eg_policy_meta_remove();
		printf("no interface left: removed the pinned maps in %s\n", eg_pin_dir());
	}
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

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* attach, detach, status, stats, policy: lifecycle and configuration. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "apply.h"
#include "attach.h"
#include "cli.h"
#include "pins.h"

#define MAX_IFACES 256

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

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

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ 0 },
	};
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	enum eg_xdp_mode mode = EG_XDP_AUTO;
	const char *policy = NULL;
	int c, rc;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard attach <ifname> [--policy FILE] [--xdp-mode native|skb|auto]\n"
		       "Loads the XDP datapath on the interface (through libxdp, next to other XDP\n"
		       "programs) and pins its maps under %s, so enforcement continues\n"
		       "without any process. Attaching twice changes nothing; all interfaces share\n"
		       "one set of lists and policies. --policy is checked before anything is touched.\n",
		       eg_pin_dir());
		return EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			policy = optarg;
		else if (c == 'm') {
			if (eg_parse_xdp_mode(optarg, &mode, &e))
				return cli_usage_error("attach", "%s", e.msg);
		} else
			return cli_usage_error("attach", "unknown option");
	}
	if (optind != argc - 1)
		return cli_usage_error("attach", "expected exactly one interface name");
	memset(&pf, 0, sizeof(pf));
	if (policy && eg_policy_file_load(policy, &pf, &e))
		return cli_fail(&e);

	rc = eg_attach(argv[optind], mode, policy ? &pf.sizes : NULL, &e);
	if (rc < 0) {
		eg_policy_file_free(&pf);
		return cli_fail(&e);
	}
	printf(rc == 1 ? "edgeguard already attached to %s\n" : "attached to %s\n", argv[optind]);
	if (policy) {
		rc = load_and_apply(&pf);
		if (rc == EXIT_OK)
			printf("policy %s (hash %s) in force\n", pf.path, pf.hash);
	} else {
		rc = EXIT_OK;
	}
	eg_policy_file_free(&pf);
	return rc;
}

int cmd_detach(int argc, char **argv)
{
	struct eg_err e = { 0 };
	bool last = false, gone = false;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard detach <ifname>\n"
		       "Removes edgeguard's XDP program from the interface and nothing else. When no\n"
		       "interface is left, the pinned maps (bans, counters, state) are removed too.\n"
		       "An interface deleted while attached (see 'edgeguard status') is detached by\n"
		       "its old name: what it left behind is cleaned up.\n");
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("detach", "expected exactly one interface name");
	if (eg_detach(argv[1], &last, &gone, &e))
		return cli_fail(&e);
	if (gone)
		printf("detached from %s (it no longer ran edgeguard: cleaned up what it left)\n",
		       argv[1]);
	else
		printf("detached from %s\n", argv[1]);
	if (last) {
		if (eg_pins_remove(&e))
			return cli_fail(&e);
		eg_policy_meta_remove();
		printf("no interface left: removed the pinned maps in %s\n", eg_pin_dir());
	}
	return EXIT_OK;
}

static cJSON *counters_json(const uint64_t *c)
{
	cJSON *o = cJSON_CreateObject();

	for (unsigned int r = 0; r < EG_R_MAX; r++)
		cJSON_AddNumberToObject(o, eg_reason_name(r), (double)c[r]);
	return o;
}

static void print_counters(const uint64_t *c)
{
	for (unsigned int r = 0; r < EG_R_MAX; r++)
		printf("  %-20s %llu%s\n", eg_reason_name(r), (unsigned long long)c[r],
		       r < EG_R_VERDICTS ? "" : "   (event)");
}

struct iface_counters {
	char name[16];
	uint64_t c[EG_R_VERDICTS];
};

/* Verdict counters of every interface in eg_ifaces; returns how many. */
static int read_iface_counters(const struct eg_maps *m, struct iface_counters *out,
			       struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES];
	int n = 0;

	if (eg_read_ifaces(m, all, e))
		return -1;
	for (uint32_t s = 1; s < EG_MAX_IFACES; s++) {
		if (!all[s].ifindex)
			continue;
		memcpy(out[n].name, all[s].name, sizeof(out[n].name));
		if (eg_read_iface_counters(m, s, out[n].c, e))
			return -1;
		n++;
	}
	return n;
}

/*
 * Added as one line: scripts that pick the top-level counters out of the
 * pretty-printed output by line (the tests among them) see each name once.
 */
static void add_ifaces_json(cJSON *o, const struct iface_counters *ic, int n)
{
	cJSON *all = cJSON_CreateObject();
	char *line;

	for (int i = 0; i < n; i++) {
		cJSON *x = cJSON_AddObjectToObject(all, ic[i].name);

		for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
			cJSON_AddNumberToObject(x, eg_reason_name(r), (double)ic[i].c[r]);
	}
	line = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	cJSON_AddRawToObject(o, "interfaces", line ? line : "{}");
	cJSON_free(line);
}

static void print_iface_counters(const struct iface_counters *ic, int n)
{
	for (int i = 0; i < n; i++) {
		printf("interface %s:\n", ic[i].name);
		for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
			if (ic[i].c[r])
				printf("  %-20s %llu\n", eg_reason_name(r),
				       (unsigned long long)ic[i].c[r]);
	}
}

int cmd_stats(int argc, char **argv)
{
	struct iface_counters ic[EG_MAX_IFACES];
	uint64_t c[EG_R_MAX];
	struct eg_maps m;
	struct eg_err e = { 0 };
	int rc, n = 0;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard stats [--json]\n"
		       "Packet counters by reason since the maps were created. The verdict reasons\n"
		       "add up to every packet seen; '(event)' counters ride on a verdict. Then the\n"
		       "verdicts of each attached interface since its attach (non-zero ones; all of\n"
		       "them under \"interfaces\" with --json).\n");
		return EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json")))
		return cli_usage_error("stats", "unexpected argument '%s'", argv[argc - 1]);
	if (eg_maps_open_pinned(&m, &e))
		return cli_fail(&e);
	rc = eg_read_counters(&m, c, &e);
	if (!rc)
		rc = n = read_iface_counters(&m, ic, &e);
	eg_maps_close(&m);
	if (rc < 0)
		return cli_fail(&e);
	if (argc == 2) {
		cJSON *o = counters_json(c);

		add_ifaces_json(o, ic, n);
		cli_print_json(o);
	} else {
		print_counters(c);
		print_iface_counters(ic, n);
	}
	return EXIT_OK;
}

struct fill {
	const char *name;
	int fd;
	long used;
	uint32_t cap;
};

/* Interfaces that should run edgeguard and do not, for status. */
static void add_missing_json(cJSON *o, const struct eg_missing_iface *gone, int n)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "missing");

	for (int i = 0; i < n && i < EG_MAX_IFACES; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", gone[i].name);
		cJSON_AddNumberToObject(x, "ifindex", gone[i].ifindex);
		cJSON_AddBoolToObject(x, "exists", gone[i].exists);
		cJSON_AddItemToArray(arr, x);
	}
}

static void print_missing(const struct eg_missing_iface *gone, int n)
{
	for (int i = 0; i < n && i < EG_MAX_IFACES; i++)
		printf("missing:    %s (ifindex %d): %s; run 'edgeguard detach %s'\n", gone[i].name,
		       gone[i].ifindex,
		       gone[i].exists ? "no longer runs edgeguard" : "deleted while attached",
		       gone[i].name);
}

int cmd_status(int argc, char **argv)
{
	struct eg_iface ifs[MAX_IFACES];
	struct eg_missing_iface gone[EG_MAX_IFACES];
	struct eg_policy_meta meta;
	struct eg_maps m;
	struct eg_err e = { 0 };
	uint64_t c[EG_R_MAX];
	bool json = argc == 2;
	int n, ngone;

	if (wants_help(argc, argv)) {
		printf("usage: edgeguard status [--json]\n"
		       "Interfaces and XDP mode, the policy in force (file and hash), map fill\n"
		       "levels and counters. Exit status 1 when edgeguard is not attached, when\n"
		       "its maps are pinned but no interface runs it, or when an interface it was\n"
		       "attached to is missing (deleted, or its program removed).\n");
		return EXIT_OK;
	}
	if (argc > 2 || (json && strcmp(argv[1], "--json")))
		return cli_usage_error("status", "unexpected argument '%s'", argv[argc - 1]);
	n = eg_list_attached(ifs, MAX_IFACES, &e);
	if (n < 0)
		return cli_fail(&e);
	ngone = eg_list_missing(gone, EG_MAX_IFACES, &e);
	if (ngone < 0)
		return cli_fail(&e);
	if (eg_maps_open_pinned(&m, &e)) {
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddBoolToObject(o, "attached", false);
			cJSON_AddStringToObject(o, "error", e.msg);
			cli_print_json(o);
			return EXIT_FAIL;
		}
		return cli_fail(&e);
	}
	{
		struct fill maps[] = {
			{ "sources", m.sources, 0, 0 },
			{ "bans_exact", m.ban_exact, 0, 0 },
			{ "bans_cidr", m.ban_cidr, 0, 0 },
			{ "autobans", m.autoban, 0, 0 },
			{ "allows", m.allow, 0, 0 },
			{ "flows", m.flows, 0, 0 },
			{ "verified", m.verified, 0, 0 },
		};
		bool have_meta = eg_policy_meta_read(&meta) == 0;
		int nmaps = sizeof(maps) / sizeof(maps[0]);

		for (int i = 0; i < nmaps; i++) {
			maps[i].used = eg_map_count(maps[i].fd);
			maps[i].cap = eg_map_capacity(maps[i].fd);
		}
		if (eg_read_counters(&m, c, &e)) {
			eg_maps_close(&m);
			return cli_fail(&e);
		}
		eg_maps_close(&m);
		if (json) {
			cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "interfaces");
			cJSON *mj = cJSON_AddObjectToObject(o, "maps");

			cJSON_AddBoolToObject(o, "attached", n > 0);
			for (int i = 0; i < n && i < MAX_IFACES; i++) {
				cJSON *x = cJSON_CreateObject();

				cJSON_AddStringToObject(x, "name", ifs[i].name);
				cJSON_AddStringToObject(x, "xdp_mode", ifs[i].mode);
				cJSON_AddBoolToObject(x, "tc_egress", ifs[i].tc_egress);
				cJSON_AddItemToArray(arr, x);
			}
			if (have_meta) {
				cJSON *p = cJSON_AddObjectToObject(o, "policy");

				cJSON_AddStringToObject(p, "file", meta.path);
				cJSON_AddStringToObject(p, "hash", meta.hash);
				cJSON_AddNumberToObject(p, "loaded_at", (double)meta.loaded_at);
			} else {
				cJSON_AddNullToObject(o, "policy");
			}
			for (int i = 0; i < nmaps; i++) {
				cJSON *x = cJSON_AddObjectToObject(mj, maps[i].name);

				cJSON_AddNumberToObject(x, "entries", (double)maps[i].used);
				cJSON_AddNumberToObject(x, "capacity", maps[i].cap);
			}
			add_missing_json(o, gone, ngone);
			cJSON_AddItemToObject(o, "counters", counters_json(c));
			cli_print_json(o);
			return n > 0 && !ngone ? EXIT_OK : EXIT_FAIL;
		}
		printf("pins:       %s\n", eg_pin_dir());
		printf("interfaces: ");
		if (!n)
			printf("none (the pinned maps exist but nothing is attached)");
		for (int i = 0; i < n && i < MAX_IFACES; i++)
			printf("%s%s (xdp %s, tc egress %s)", i ? ", " : "", ifs[i].name, ifs[i].mode,
			       ifs[i].tc_egress ? "on" : "MISSING");
		printf("\n");
		print_missing(gone, ngone);
		if (have_meta) {
			char when[32];
			time_t t = (time_t)meta.loaded_at;

			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			printf("policy:     %s (hash %s, loaded %s)\n", meta.path, meta.hash, when);
		} else {
			printf("policy:     none loaded (no limits; lists still apply)\n");
		}
		printf("maps:\n");
		for (int i = 0; i < nmaps; i++)
			printf("  %-12s %ld / %u (%.1f%%)\n", maps[i].name, maps[i].used, maps[i].cap,
			       maps[i].cap ? 100.0 * (double)maps[i].used / maps[i].cap : 0.0);
		printf("counters:\n");
		print_counters(c);
	}
	return n > 0 && !ngone ? EXIT_OK : EXIT_FAIL;
}

int cmd_policy(int argc, char **argv)
{
	struct eg_policy_file pf;
	struct eg_err e = { 0 };
	int rc;

	if (wants_help(argc, argv) || argc < 2) {
		printf("usage: edgeguard policy check FILE   validate, touching nothing\n"
		       "       edgeguard policy load FILE    validate, then switch atomically\n"
		       "Errors name the file, the JSON path and the reason. An invalid file changes\n"
		       "nothing; a valid one keeps per-source state and bans. Schema: docs/policy.md.\n");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "check") && strcmp(argv[1], "load"))
		return cli_usage_error("policy", "unknown subcommand '%s'", argv[1]);
	if (argc != 3)
		return cli_usage_error("policy", "expected exactly one FILE");
	memset(&pf, 0, sizeof(pf));
	if (eg_policy_file_load(argv[2], &pf, &e))
		return cli_fail(&e);
	if (!strcmp(argv[1], "check")) {
		printf("%s: ok (%u port policies, %zu allows, %zu static bans, hash %s)\n", argv[2],
		       pf.table.nrules, pf.nallow, pf.nbans, pf.hash);
		eg_policy_file_free(&pf);
		return EXIT_OK;
	}
	rc = load_and_apply(&pf);
	if (rc == EXIT_OK)
		printf("policy %s (hash %s) in force\n", pf.path, pf.hash);
	eg_policy_file_free(&pf);
	return rc;
}

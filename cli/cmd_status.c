// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* status and stats: what runs where, and what it did. Formatting only: the facts come from report.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "apply.h"
#include "attach.h"
#include "cli.h"
#include "pins.h"
#include "report.h"

static void print_counters(const uint64_t *c)
{
	for (unsigned int r = 0; r < EG_R_MAX; r++)
		printf("  %-20s %llu%s\n", eg_reason_name(r), (unsigned long long)c[r],
		       r < EG_R_VERDICTS ? "" : "   (event)");
}

static cJSON *ifaces_json(const struct eg_iface_report *ifs, int n)
{
	cJSON *all = cJSON_CreateObject();

	for (int i = 0; all && i < n; i++) {
		cJSON *x = cJSON_AddObjectToObject(all, ifs[i].name);

		for (unsigned int r = 0; x && r < EG_R_VERDICTS; r++)
			cJSON_AddNumberToObject(x, eg_reason_name(r), (double)ifs[i].c[r]);
	}
	return all;
}

static void print_ifaces(const struct eg_iface_report *ifs, int n)
{
	for (int i = 0; i < n; i++) {
		printf("interface %s:\n", ifs[i].name);
		for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
			if (ifs[i].c[r])
				printf("  %-20s %llu\n", eg_reason_name(r),
				       (unsigned long long)ifs[i].c[r]);
	}
}

static int run_stats(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_iface_report ifs[EG_MAX_IFACES];
	uint64_t c[EG_R_MAX];
	struct eg_maps m;
	struct eg_err e = { 0 };
	int rc, n = 0;

	while ((rc = cli_next_opt(cmd, argc, argv, &n)) != -1)
		if (rc == CLI_DONE)
			return n;
	if (cli_operands(cmd, argc, argv, 0, "no arguments"))
		return EXIT_USAGE;
	if (eg_maps_open_pinned_ro(&m, &e))
		return cli_fail(&e);
	rc = eg_read_counters(&m, c, &e);
	if (!rc)
		rc = n = eg_report_ifaces(&m, ifs, &e);
	eg_maps_close(&m);
	if (rc < 0)
		return cli_fail(&e);
	if (cli_json) {
		cJSON *o = eg_report_counters_json(c);

		cJSON_AddItemToObject(o, "interfaces", ifaces_json(ifs, n));
		cli_print_json(o);
	} else {
		print_counters(c);
		print_ifaces(ifs, n);
	}
	return EXIT_OK;
}

const struct cli_cmd cmd_stats = {
	.name = "stats",
	.run = run_stats,
	.usage = "stats [--json]",
	.help = "Packet counters by reason since the maps were created. The verdict reasons\n"
		"add up to every packet seen; '(event)' counters ride on a verdict. Then the\n"
		"verdicts of each attached interface since its attach (non-zero ones; all of\n"
		"them under \"interfaces\" with --json).\n",
	.opts = (const struct option[]){ { "json", no_argument, NULL, 'j' }, { 0 } },
};

/* Interfaces that should run edgeguard and do not, for status. */
static cJSON *missing_json(const struct eg_missing_iface *gone, int n)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", gone[i].name);
		cJSON_AddNumberToObject(x, "ifindex", gone[i].ifindex);
		cJSON_AddBoolToObject(x, "exists", gone[i].exists);
		cJSON_AddItemToArray(arr, x);
	}
	return arr;
}

struct status {
	struct eg_iface ifs[EG_MAX_IFACES];
	struct eg_missing_iface gone[EG_MAX_IFACES];
	int n, ngone;
	struct eg_policy_meta meta;
	bool have_meta;
	struct eg_fill fill;
	uint64_t c[EG_R_MAX];
};

static void print_status_json(const struct status *s)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "interfaces");
	cJSON *mj = cJSON_AddObjectToObject(o, "maps");

	cJSON_AddBoolToObject(o, "attached", s->n > 0);
	for (int i = 0; i < s->n; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", s->ifs[i].name);
		cJSON_AddStringToObject(x, "xdp_mode", s->ifs[i].mode);
		cJSON_AddBoolToObject(x, "tc_egress", s->ifs[i].tc_egress);
		cJSON_AddItemToArray(arr, x);
	}
	if (s->have_meta) {
		cJSON *p = cJSON_AddObjectToObject(o, "policy");

		cJSON_AddStringToObject(p, "file", s->meta.path);
		cJSON_AddStringToObject(p, "hash", s->meta.hash);
		cJSON_AddNumberToObject(p, "loaded_at", (double)s->meta.loaded_at);
		cJSON_AddStringToObject(p, "origin", eg_policy_origin_name(s->meta.origin));
	} else {
		cJSON_AddNullToObject(o, "policy");
	}
	for (int i = 0; i < EG_FILL_MAX; i++) {
		cJSON *x = cJSON_AddObjectToObject(mj, eg_fill_names[i]);

		cJSON_AddNumberToObject(x, "entries", (double)s->fill.entries[i]);
		cJSON_AddNumberToObject(x, "capacity", s->fill.capacity[i]);
	}
	cJSON_AddItemToObject(o, "missing", missing_json(s->gone, s->ngone));
	cJSON_AddItemToObject(o, "counters", eg_report_counters_json(s->c));
	cli_print_json(o);
}

static void print_status_text(const struct status *s)
{
	printf("pins:       %s\n", eg_pin_dir());
	printf("interfaces: ");
	if (!s->n)
		printf("none (the pinned maps exist but nothing is attached)");
	for (int i = 0; i < s->n; i++)
		printf("%s%s (xdp %s, tc egress %s)", i ? ", " : "", s->ifs[i].name, s->ifs[i].mode,
		       s->ifs[i].tc_egress ? "on" : "MISSING");
	printf("\n");
	for (int i = 0; i < s->ngone; i++)
		printf("missing:    %s (ifindex %d): %s; run 'edgeguard detach %s'\n",
		       s->gone[i].name, s->gone[i].ifindex,
		       s->gone[i].exists ? "no longer runs edgeguard" : "deleted while attached",
		       s->gone[i].name);
	if (s->have_meta) {
		char when[32];
		time_t t = (time_t)s->meta.loaded_at;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		printf("policy:     %s (hash %s, loaded %s by %s)\n", s->meta.path, s->meta.hash, when,
		       eg_policy_origin_name(s->meta.origin));
	} else {
		printf("policy:     none loaded (no limits; lists still apply)\n");
	}
	printf("maps:\n");
	for (int i = 0; i < EG_FILL_MAX; i++)
		printf("  %-12s %ld / %u (%.1f%%)\n", eg_fill_names[i], s->fill.entries[i],
		       s->fill.capacity[i],
		       s->fill.capacity[i] ? 100.0 * (double)s->fill.entries[i] / s->fill.capacity[i] :
					     0.0);
	printf("counters:\n");
	print_counters(s->c);
}

static int run_status(const struct cli_cmd *cmd, int argc, char **argv)
{
	static struct status s;
	struct eg_maps m;
	struct eg_err e = { 0 };
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1)
		if (c == CLI_DONE)
			return rc;
	if (cli_operands(cmd, argc, argv, 0, "no arguments"))
		return EXIT_USAGE;
	s.n = eg_list_attached(s.ifs, EG_MAX_IFACES, &e);
	if (s.n < 0)
		return cli_fail(&e);
	if (s.n > EG_MAX_IFACES)
		s.n = EG_MAX_IFACES;
	s.ngone = eg_list_missing(s.gone, EG_MAX_IFACES, &e);
	if (s.ngone < 0)
		return cli_fail(&e);
	if (s.ngone > EG_MAX_IFACES)
		s.ngone = EG_MAX_IFACES;
	if (eg_maps_open_pinned_ro(&m, &e)) {
		if (cli_json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddBoolToObject(o, "attached", false);
			cJSON_AddStringToObject(o, "error", e.msg);
			cli_print_json(o);
			return EXIT_FAIL;
		}
		return cli_fail(&e);
	}
	s.have_meta = eg_policy_meta_read(&s.meta) == 0;
	eg_report_fill(&m, &s.fill);
	rc = eg_read_counters(&m, s.c, &e);
	eg_maps_close(&m);
	if (rc)
		return cli_fail(&e);
	if (cli_json)
		print_status_json(&s);
	else
		print_status_text(&s);
	return s.n > 0 && !s.ngone ? EXIT_OK : EXIT_FAIL;
}

const struct cli_cmd cmd_status = {
	.name = "status",
	.run = run_status,
	.usage = "status [--json]",
	.help = "Interfaces and XDP mode, the policy in force (file and hash), map fill\n"
		"levels and counters. Exit status 1 when edgeguard is not attached, when\n"
		"its maps are pinned but no interface runs it, or when an interface it was\n"
		"attached to is missing (deleted, or its program removed).\n",
	.opts = (const struct option[]){ { "json", no_argument, NULL, 'j' }, { 0 } },
};

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * policy check|load: a policy file checked, or put in force. A load goes
 * through edgeguardd when it runs (it logs the load and keeps the policy in
 * force across restarts and reboots), else straight to the pinned maps;
 * either way all or nothing (user/policy/apply.h), with the same output.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "apply.h"
#include "cli.h"
#include "control_client.h"
#include "guard.h"
#include "pins.h"

/* What errors and the report call a policy read from "-". */
#define STDIN_NAME "<stdin>"

static void print_warning(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "edgeguard: warning: %s\n", msg);
}

static double count_of(const cJSON *o, const char *list, const char *what)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, list);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, what);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* "2 added, 1 removed" for the counts of one list that are not zero; "" when none is. */
static void describe(char *out, size_t len, const cJSON *report, const char *list,
		     const char *const *what, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		double v = count_of(report, list, what[i]);

		if (v && used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%.0f %s",
						 used ? ", " : "", v, what[i]);
	}
}

void cli_policy_print(const cJSON *report)
{
	static const char *const allows[] = { "added", "removed" };
	static const char *const bans[] = { "added", "updated", "removed", "expired",
					    "left_to_other_bans" };
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(report, "file");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(report, "hash");
	const cJSON *w;
	char a[256], b[256];

	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(report, "warnings"))
		if (cJSON_IsString(w))
			print_warning(w->valuestring, NULL);
	if (cli_json) {
		cli_print_json(cJSON_Duplicate(report, true));
		return;
	}
	printf("policy %s (hash %s) in force\n", cJSON_IsString(file) ? file->valuestring : "?",
	       cJSON_IsString(hash) ? hash->valuestring : "?");
	describe(a, sizeof(a), report, "allows", allows, 2);
	describe(b, sizeof(b), report, "static_bans", bans, 5);
	if (a[0])
		printf("allows: %s\n", a);
	if (b[0])
		printf("static bans: %s\n", b);
}

int cli_policy_read(const char *file, struct eg_policy_file *pf, struct eg_err *e)
{
	if (!strcmp(file, "-"))
		return eg_policy_file_load_fd(0, STDIN_NAME, pf, e);
	return eg_policy_file_load(file, pf, e);
}

/* The policy file itself, for -j: what check validated. */
static void add_policy_json(cJSON *o, const struct eg_policy_file *pf)
{
	cJSON *p = cJSON_AddObjectToObject(o, "policy");

	cJSON_AddStringToObject(p, "file", pf->path);
	cJSON_AddStringToObject(p, "hash", pf->hash);
	cJSON_AddNumberToObject(p, "port_policies", pf->table.nrules);
	cJSON_AddNumberToObject(p, "allows", (double)pf->nallow);
	cJSON_AddNumberToObject(p, "static_bans", (double)pf->nbans);
}

int cli_policy_apply(const struct eg_policy_file *f, const struct eg_apply_opts *o,
		     cJSON **report_out)
{
	struct eg_apply_report rep;
	struct eg_err e = { 0 };
	struct eg_maps m;
	cJSON *report;
	int rc;

	if (eg_maps_open_pinned(&m, &e))
		return cli_fail(&e);
	rc = eg_apply_policy_file(&m, f, o, &rep, &e);
	eg_maps_close(&m);
	if (rc)
		return cli_fail(&e);
	report = eg_apply_report_json(f, &rep);
	if (!report) {
		eg_fail(&e, "in force, but out of memory to say so");
		return cli_fail(&e);
	}
	if (report_out) {
		*report_out = report;
		return EXIT_OK;
	}
	cli_policy_print(report);
	cJSON_Delete(report);
	return EXIT_OK;
}

static int check(const char *path)
{
	struct eg_policy_file pf;
	struct eg_guard g;
	struct eg_err e = { 0 };
	cJSON *o;

	if (cli_policy_read(path, &pf, &e))
		return cli_fail(&e);
	if (eg_guard_load(&g, &e)) {
		eg_policy_file_free(&pf);
		return cli_fail(&e);
	}
	eg_guard_ban_warnings(&g, &pf, print_warning, NULL);
	eg_guard_limit_warnings(&g, &pf, print_warning, NULL);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	add_policy_json(o, &pf);
	cli_result(o, "%s: ok (%u port policies, %zu allows, %zu static bans, hash %s)", pf.path,
		   pf.table.nrules, pf.nallow, pf.nbans, pf.hash);
	eg_policy_file_free(&pf);
	return EXIT_OK;
}

/*
 * FILE opened for a load, or for "-" the standard input copied into a
 * memory file: the daemon reads the file from its start, which a pipe
 * cannot give it. abs gets the name recorded for it.
 */
static int open_policy(const char *path, char *abs, size_t len, struct eg_err *e)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return eg_fail_errno(e, errno, "%s", path);
		if (!realpath(path, abs))
			snprintf(abs, len, "%s", path);
		return fd;
	}
	fd = memfd_create("edgeguard-policy", MFD_CLOEXEC);
	if (fd < 0)
		return eg_fail_errno(e, errno, "cannot keep the standard input's policy");
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	if (n != 0 || lseek(fd, 0, SEEK_SET)) {
		eg_fail_errno(e, errno, "cannot read the policy from the standard input");
		close(fd);
		return -1;
	}
	snprintf(abs, len, "/dev/stdin");
	return fd;
}

/* Through the daemon: the descriptor of the file we checked, its name and hash. */
static enum ctl_result load_via_daemon(const struct eg_policy_file *pf, int fd, const char *abs,
				       bool force, const struct eg_guard *g, struct eg_err *e)
{
	struct eg_ctl_request r = { .cmd = EG_CTL_POLICY_LOAD, .force = force };
	const cJSON *report;
	enum ctl_result res;
	cJSON *reply = NULL;

	if (strlen(abs) >= sizeof(r.path)) {
		eg_fail(e, "%s: the path is longer than the %zu bytes edgeguardd takes: move the file",
			abs, sizeof(r.path) - 1);
		return CTL_FAILED;
	}
	memcpy(r.path, abs, strlen(abs) + 1);
	memcpy(r.hash, pf->hash, sizeof(r.hash));
	if (g) {
		r.has_ssh = g->has_ssh;
		r.ssh = g->ssh;
	}
	res = ctl_do_fd(&r, fd, &reply, e);
	if (res != CTL_DONE)
		return res;
	report = cJSON_GetObjectItemCaseSensitive(reply, "policy");
	if (cJSON_IsObject(report))
		cli_policy_print(report);
	else
		printf("policy %s (hash %s) in force\n", pf->path, pf->hash);
	cJSON_Delete(reply);
	return CTL_DONE;
}

static int load(const char *path, bool force)
{
	char abs[PATH_MAX];
	struct eg_policy_file pf;
	struct eg_guard g;
	struct eg_err e = { 0 };
	int fd, rc = EXIT_FAIL;

	fd = open_policy(path, abs, sizeof(abs), &e);
	if (fd < 0)
		return cli_fail(&e);
	if (eg_policy_file_load_fd(fd, strcmp(path, "-") ? path : STDIN_NAME, &pf, &e) ||
	    (!force && eg_guard_load(&g, &e))) {
		close(fd);
		return cli_fail(&e);
	}
	eg_guard_limit_warnings(force ? NULL : &g, &pf, print_warning, NULL);
	switch (load_via_daemon(&pf, fd, abs, force, force ? NULL : &g, &e)) {
	case CTL_DONE:
		rc = EXIT_OK;
		break;
	case CTL_FAILED:
		rc = cli_fail(&e);
		break;
	case CTL_NO_DAEMON:
		rc = cli_policy_apply(&pf, &(struct eg_apply_opts){
						   .origin = EG_POLICY_BY_LOAD,
						   .guard = force ? NULL : &g,
						   .force = force,
						   .path = abs,
					   }, NULL);
		break;
	}
	close(fd);
	eg_policy_file_free(&pf);
	return rc;
}

static int run_policy(const struct cli_cmd *cmd, int argc, char **argv)
{
	bool force = false;
	const char *verb;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'f')
			force = true;
	}
	if (cli_operands(cmd, argc, argv, 2, "check or load, and one FILE"))
		return EXIT_USAGE;
	verb = argv[optind];
	if (strcmp(verb, "check") && strcmp(verb, "load"))
		return cli_usage_error(cmd, "unknown subcommand '%s' (check or load)", verb);
	if (!strcmp(verb, "check"))
		return force ? cli_usage_error(cmd, "--force is for load: check changes nothing") :
			       check(argv[optind + 1]);
	return load(argv[optind + 1], force);
}

const struct cli_cmd cmd_policy = {
	.name = "policy",
	.run = run_policy,
	.usage = "policy check FILE   policy load FILE [--force]   (FILE - reads the standard input)",
	.help = "check validates FILE and touches nothing; it warns about static bans that\n"
		"would cut this host off (load refuses them without --force) and about limits\n"
		"low enough to cut off SSH or a load balancer's health checks.\n"
		"load puts FILE in force all or nothing: checked first (its lists against the\n"
		"maps' real sizes too), then written; on any error the policy and lists in\n"
		"force stay exactly as they were. Through edgeguardd when it runs: it logs the\n"
		"load and keeps the policy in force across its restarts and reboots. The lists\n"
		"are reconciled: allows and static bans the file no longer lists are removed,\n"
		"static bans keep their expiry across reloads, and manual, auto and fleet bans\n"
		"are never touched. Each policy keeps its state and counters by its name.\n"
		"Errors name the file, the JSON path and the reason. Schema: docs/policy.md.\n",
	.opts = (const struct option[]){
		{ "force", no_argument, NULL, 'f' },
		{ 0 },
	},
};

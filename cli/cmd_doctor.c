// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* doctor: the host checks of user/doctor/, formatted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "control_client.h"
#include "doctor.h"

/* Is the daemon answering? For the doctor's edgeguardd.answering check. */
static int ping_daemon(char *msg, size_t len)
{
	struct eg_ctl_request req = { .cmd = EG_CTL_PING };
	struct eg_err e = { 0 };

	switch (ctl_do(&req, &e)) {
	case CTL_DONE:
		return 1;
	case CTL_NO_DAEMON:
		snprintf(msg, len, "no daemon on the control socket");
		return 0;
	default:
		snprintf(msg, len, "%s", e.msg);
		return -1;
	}
}

/* The main PID of a systemd unit, by asking systemctl; 0 with e set when there is none. */
static pid_t unit_pid(const char *unit, struct eg_err *e)
{
	char cmd[512], out[64] = "";
	long pid = 0;
	FILE *p;

	if (strpbrk(unit, "'\\ \t\n")) {
		eg_fail(e, "--unit '%s' is not a unit name", unit);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "systemctl show --property MainPID --value '%s' 2>/dev/null",
		 unit);
	p = popen(cmd, "r");
	if (p) {
		if (fgets(out, sizeof(out), p))
			pid = strtol(out, NULL, 10);
		pclose(p);
	}
	if (pid <= 0)
		eg_fail(e, "cannot find the main process of unit %s (is it running? systemctl status %s)",
			unit, unit);
	return (pid_t)(pid > 0 ? pid : 0);
}

static cJSON *report_json(const struct eg_doctor_report *r, int fixes)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "checks");

	cJSON_AddNumberToObject(o, "need_fixing", fixes);
	for (size_t i = 0; i < r->n; i++) {
		const struct eg_doctor_check *c = &r->checks[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "check", c->name);
		cJSON_AddStringToObject(x, "status", eg_doctor_status_name(c->status));
		cJSON_AddStringToObject(x, "found", c->found);
		cJSON_AddStringToObject(x, "recommended", c->recommended);
		cJSON_AddStringToObject(x, "why", c->why);
		cJSON_AddStringToObject(x, "fix", c->fix);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}

static void report_text(const struct eg_doctor_report *r, int fixes)
{
	printf("%-34s %-5s %s\n", "CHECK", "", "FOUND");
	for (size_t i = 0; i < r->n; i++) {
		const struct eg_doctor_check *c = &r->checks[i];

		printf("%-34s %-5s %s\n", c->name, eg_doctor_status_name(c->status), c->found);
		if (c->status != EG_DOCTOR_FIX)
			continue;
		printf("    recommended: %s\n    why: %s\n    fix: %s\n", c->recommended, c->why,
		       c->fix);
	}
	if (fixes)
		printf("%d check%s need%s fixing\n", fixes, fixes == 1 ? "" : "s",
		       fixes == 1 ? "s" : "");
	else
		printf("nothing needs fixing\n");
}

static int run_doctor(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct eg_doctor_opts o = { .daemon_ping = ping_daemon };
	struct eg_doctor_report r;
	struct eg_err e = { 0 };
	char who[64];
	long long pid = 0;
	int c, rc, fixes;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'p' && (pid = cli_parse_uint(cmd, "--pid", optarg, 0x7fffffff)) < 0)
			return EXIT_USAGE;
		if (c == 'p' && !pid)
			return cli_usage_error(cmd, "--pid must be a process id, not 0");
		if (c == 'u')
			o.unit = optarg;
	}
	if (cli_operands(cmd, argc, argv, 0, "no arguments"))
		return EXIT_USAGE;
	if (pid && o.unit)
		return cli_usage_error(cmd, "--pid and --unit name the same thing: give one");
	if (o.unit) {
		o.service_pid = unit_pid(o.unit, &e);
		if (!o.service_pid)
			return cli_fail(&e);
		o.service = o.unit;
	} else if (pid) {
		snprintf(who, sizeof(who), "pid %lld", pid);
		o.service_pid = (pid_t)pid;
		o.service = who;
	}
	/* Other roots than /proc and /sys: for tests, and for looking into a container. */
	o.proc_root = getenv("EDGEGUARD_PROC_DIR");
	o.sys_root = getenv("EDGEGUARD_SYS_DIR");
	fixes = eg_doctor_run(&o, &r, &e);
	if (fixes < 0)
		return cli_fail(&e);
	if (cli_json)
		cli_print_json(report_json(&r, fixes));
	else
		report_text(&r, fixes);
	eg_doctor_report_free(&r);
	return fixes ? EXIT_FAIL : EXIT_OK;
}

const struct cli_cmd cmd_doctor = {
	.name = "doctor",
	.run = run_doctor,
	.usage = "doctor [--pid PID | --unit UNIT] [--json]",
	.help = "Checks the host the way an incident runbook does: the protected service's\n"
		"open-files limit and listen backlog (--pid or --unit), the system-wide file\n"
		"limit, net.core.somaxconn, the SYN backlog and syncookies, the local port range,\n"
		"conntrack and TIME_WAIT fill, TCP keepalive, rp_filter, each interface's XDP\n"
		"mode and receive queues, whether edgeguard is attached and its daemon answers,\n"
		"map fill levels, and whether the policy in force would cut off SSH. Each check\n"
		"shows the value found; one that needs fixing also the recommended value, why,\n"
		"and the command that fixes it. Changes nothing. Exit status 1 when something\n"
		"needs fixing.\n",
	.opts = (const struct option[]){
		{ "pid", required_argument, NULL, 'p' },
		{ "unit", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	},
};

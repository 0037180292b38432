// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "paths.h"
#include "tc_attach.h"

/* A marker under the run directory: edgeguard made this interface's clsact. */
static void marker_path(int ifindex, char *buf, size_t len)
{
	snprintf(buf, len, "%s/clsact-%d", eg_run_dir(), ifindex);
}

int eg_tc_attach(int ifindex, int prog_fd, struct eg_err *e)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EG_TC_HANDLE, .priority = EG_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	char marker[4200];
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return eg_fail_errno(e, -err, "cannot create the clsact qdisc");
	if (!err) {
		FILE *f;

		marker_path(ifindex, marker, sizeof(marker));
		mkdir(eg_run_dir(), 0700);
		f = fopen(marker, "w");
		if (f)
			fclose(f);
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return eg_fail_errno(e, -err, "cannot attach the TC egress program");
	return 0;
}

bool eg_tc_attached(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EG_TC_HANDLE, .priority = EG_TC_PRIORITY);

	return bpf_tc_query(&hook, &opts) == 0;
}

int eg_tc_detach(int ifindex, struct eg_err *e)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EG_TC_HANDLE, .priority = EG_TC_PRIORITY);
	char marker[4200];
	int err;

	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT)
		return eg_fail_errno(e, -err, "cannot detach the TC egress program");
	marker_path(ifindex, marker, sizeof(marker));
	if (access(marker, F_OK) == 0) {
		/* Both directions: destroying the hook removes the whole clsact qdisc. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		err = bpf_tc_hook_destroy(&hook);
		if (err && err != -ENOENT)
			return eg_fail_errno(e, -err, "cannot remove the clsact qdisc");
		unlink(marker);
	}
	return 0;
}

void eg_tc_forget(int ifindex)
{
	char marker[4200];

	marker_path(ifindex, marker, sizeof(marker));
	unlink(marker);
}

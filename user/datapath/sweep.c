// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "datapath.h"
#include "sweep.h"
#include "edgeguard.skel.h"

struct eg_sweeper {
	struct edgeguard_bpf *skel;
};

struct eg_sweeper *eg_sweeper_open(struct eg_err *e)
{
	/* Only the sweep program; the maps are the pinned ones, at their sizes. */
	struct eg_open_opts o = { .pinned = true, .sweep_only = true };
	struct eg_sweeper *s = calloc(1, sizeof(*s));

	if (!s) {
		eg_fail(e, "out of memory");
		return NULL;
	}
	s->skel = eg_datapath_open_load(&o, e);
	if (!s->skel)
		goto fail;
	return s;
fail:
	eg_sweeper_close(s);
	return NULL;
}

int eg_sweeper_run(struct eg_sweeper *s, struct eg_err *e)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.edgeguard_sweep_flows), &opts))
		return eg_fail_errno(e, errno, "flow sweep failed");
	return 0;
}

void eg_sweeper_close(struct eg_sweeper *s)
{
	if (!s)
		return;
	if (s->skel)
		edgeguard_bpf__destroy(s->skel);
	free(s);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pins.h"
#include "sweep.h"
#include "edgeguard.skel.h"

struct eg_sweeper {
	struct edgeguard_bpf *skel;
};

struct eg_sweeper *eg_sweeper_open(struct eg_err *e)
{
	struct eg_sweeper *s = calloc(1, sizeof(*s));
	struct eg_sizes sizes = { 0 };
	int err;

	if (!s) {
		eg_fail(e, "out of memory");
		return NULL;
	}
	s->skel = edgeguard_bpf__open();
	if (!s->skel) {
		eg_fail_errno(e, errno, "cannot open the edgeguard BPF object");
		goto fail;
	}
	/* Only the sweep program; the maps are the pinned ones, at their sizes. */
	bpf_program__set_autoload(s->skel->progs.edgeguard_xdp, false);
	bpf_program__set_autoload(s->skel->progs.edgeguard_tc_egress, false);
	if (eg_pinned_sizes(&sizes, e) || eg_sizes_apply(s->skel, &sizes, e) ||
	    eg_pins_assign(s->skel->obj, e))
		goto fail;
	err = edgeguard_bpf__load(s->skel);
	if (err) {
		eg_fail_errno(e, -err, "cannot load the flow sweep program");
		goto fail;
	}
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
	edgeguard_bpf__destroy(s->skel);
	free(s);
}

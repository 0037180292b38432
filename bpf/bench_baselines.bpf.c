// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Baselines for `make bench`: what a packet costs with no work at all, and
 * with edgeguard's parser alone. The datapath is reported as a ratio to these.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgeguard.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Written so the compiler cannot drop the parse as dead code. */
struct eg_pkt eg_bench_sink = {};

SEC("xdp")
int bare_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int parse_only(struct xdp_md *ctx)
{
	struct eg_pkt p = {};
	int st = eg_parse(ctx, &p);

	eg_bench_sink = p;
	return st == EG_PARSE_NON_IP ? XDP_PASS : XDP_DROP;
}

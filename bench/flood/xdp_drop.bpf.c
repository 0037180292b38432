// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of `make bench-flood`: an XDP program that drops every packet
 * without reading it, attached to the protected host's veth with
 * `ip link set DEV xdpdrv obj xdp_drop.bpf.o sec xdp`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

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

/*
 * Written so the compiler cannot drop the parse as dead code. Bytes, not a
 * struct eg_pkt, so the generated skeleton compiles in user space too.
 */
__u8 eg_bench_sink[sizeof(struct eg_pkt)] = {};

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

	__builtin_memcpy(eg_bench_sink, &p, sizeof(p));
	return st == EG_PARSE_NON_IP ? XDP_PASS : XDP_DROP;
}

/*
 * bpf_prog_test_run repeats one frame, so on its own it can only show a
 * source the datapath has already seen. rotate_src makes every repetition
 * come from another address: it writes bench_src_base + (bench_seq++ &
 * bench_src_mask) into the IPv4 source of an untagged frame and tail-calls
 * whatever user space put in bench_next[0] (the datapath, or one of the
 * baselines above so the rewrite and tail-call overhead can be measured and
 * subtracted). The IP checksum is left stale: XDP never verifies it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_next SEC(".maps");

__u32 bench_seq = 0;
__u32 bench_src_base = 0; /* host byte order */
__u32 bench_src_mask = 0;

SEC("xdp")
int rotate_src(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	__u32 seq = bench_seq++;

	if ((void *)(iph + 1) > end)
		return XDP_ABORTED;
	iph->saddr = bpf_htonl(bench_src_base + (seq & bench_src_mask));
	bpf_tail_call(ctx, &bench_next, 0);
	return XDP_ABORTED; /* bench_next[0] empty or incompatible */
}

/*
 * The same baselines and wrapper for the TC egress program (`bench flows`).
 * A prog array serves one program type only, so TC has its own.
 */

SEC("tc")
int tc_bare(struct __sk_buff *skb)
{
	return EG_TC_ACT_OK;
}

SEC("tc")
int tc_parse_only(struct __sk_buff *skb)
{
	struct eg_pkt p = {};
	int st = eg_parse_frame((void *)(long)skb->data, (void *)(long)skb->data_end, &p);

	__builtin_memcpy(eg_bench_sink, &p, sizeof(p));
	return st == EG_PARSE_NON_IP ? EG_TC_ACT_SHOT : EG_TC_ACT_OK;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_tc_next SEC(".maps");

__u32 bench_tc_seq = 0;
__u32 bench_tc_dst_base = 0; /* host byte order */
__u32 bench_tc_dst_mask = 0;

/*
 * On egress the client is the destination: every repetition is a reply to
 * another client, bench_tc_dst_base + (bench_tc_seq++ & bench_tc_dst_mask).
 */
SEC("tc")
int tc_rotate_dst(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	__u32 seq = bench_tc_seq++;

	if ((void *)(iph + 1) > end)
		return EG_TC_ACT_SHOT;
	iph->daddr = bpf_htonl(bench_tc_dst_base + (seq & bench_tc_dst_mask));
	bpf_tail_call(skb, &bench_tc_next, 0);
	return EG_TC_ACT_SHOT; /* bench_tc_next[0] empty or incompatible */
}

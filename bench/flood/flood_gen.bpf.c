// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flood generator's XDP program. flood_gen runs it with BPF_PROG_TEST_RUN
 * in live-frame mode (BPF_F_TEST_XDP_LIVE_FRAMES): the kernel puts the one
 * frame user space built into page-pool pages, runs this program on each and
 * turns XDP_TX into a redirect out of the ingress interface given in the
 * context, the attacker's veth. No socket, no skb, no qdisc on the sender.
 *
 * Per packet, the program paces the flood, writes the source address (one, a
 * range, or all of IPv4) and both checksums. The kernel does not copy the frame again when it
 * recycles a page, so every field written here is written whole, never
 * adjusted from what the page held before.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by flood_gen before load. */
const volatile __u32 src_base = 0;  /* first source, host byte order */
const volatile __u32 src_mask = 0;  /* source = src_base + (n & src_mask) */
const volatile __u8 src_random = 0; /* source = mix32(n): every IPv4 address */
/*
 * One's complement sums (16-bit words as they lie in memory, not folded) of
 * the IPv4 header and of the TCP pseudo header plus segment, each without
 * the source address and with the checksum field zero. Adding the source's
 * two words and folding gives the checksum, in memory order.
 */
const volatile __u32 ip_sum = 0;
const volatile __u32 tcp_sum = 0;

/*
 * Pacing: BURST frames back to back every BURST * gap_ns (0: as fast as the
 * CPU goes). A frame not yet due is dropped on the sender: the CPU spins
 * through test-run frames at a few tens of ns each. Bursts, not one frame
 * every gap_ns: a NIC coalesces interrupts and its NAPI poll takes dozens of
 * frames at a time; frames spread one by one would wake the receiver's NAPI
 * thread for nearly every frame and measure wake-ups, not the flood. When
 * the generator did not run for a while (another task had its CPU), it makes
 * up for at most CATCH_UP bursts, half a ring: a generator that was starved
 * sends less, rather than overflow a receiver that keeps up. In .bss, not .rodata:
 * flood_gen switches between paced and full speed while the flood runs.
 */
#define BURST 64
#define CATCH_UP 2
__u64 gap_ns = 0;
__u64 next_ns = 0;
__u32 burst_left = 0;

/* Frames handed to XDP_TX; read by flood_gen through the mmapped .bss. */
__u64 sent = 0;

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * A bijection of the 32-bit integers (the murmur3 finalizer): as n counts up
 * the sources jump all over IPv4, and none repeats before 2^32 packets.
 */
static __always_inline __u32 mix32(__u32 x)
{
	x ^= x >> 16;
	x *= 0x85ebca6b;
	x ^= x >> 13;
	x *= 0xc2b2ae35;
	x ^= x >> 16;
	return x;
}

SEC("xdp")
int flood_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u32 n, saddr, words;

	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	if (gap_ns && !burst_left) {
		__u64 now = bpf_ktime_get_ns();

		if (now < next_ns)
			return XDP_DROP;
		if (now > next_ns + CATCH_UP * BURST * gap_ns)
			next_ns = now; /* stalled for a while: do not flood to catch up */
		next_ns += BURST * gap_ns;
		burst_left = BURST;
	}
	if (burst_left)
		burst_left--;
	n = (__u32)sent++; /* one CPU runs the test run: no atomics needed */
	saddr = bpf_htonl(src_random ? mix32(n) : src_base + (n & src_mask));
	words = (saddr & 0xffff) + (saddr >> 16);
	ip->saddr = saddr;
	ip->check = csum_fold(ip_sum + words);
	tcp->check = csum_fold(tcp_sum + words);
	return XDP_TX;
}

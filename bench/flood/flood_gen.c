// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SYN flood of `make bench-flood`. Builds one Ethernet/IPv4/TCP SYN frame
 * and has the kernel send it over and over with BPF_PROG_TEST_RUN in
 * live-frame mode (the mechanism of xdp-tools' xdp-trafficgen): flood_tx
 * (flood_gen.bpf.c) writes each copy's source address and returns XDP_TX,
 * which the kernel turns into a transmit out of --ifname, resolved in the
 * caller's network namespace. On a veth, that lands the frame in the peer's
 * NAPI ring without any work for the sender's stack.
 *
 *   flood_gen --ifname IF --dst-mac MAC --dst ADDR --dport PORT [--pps N]
 *             [--sources 1|1024|65536|random] [--base ADDR] [--seconds S]
 *
 * --pps paces the flood (0, the default: as fast as this CPU can); SIGUSR1
 * switches to full speed and SIGUSR2 back to --pps while it runs. --sources N
 * cycles through N addresses from --base; random draws every packet's source
 * from all of IPv4. Prints "flooding" once it is (signals are handled from
 * then on), runs until --seconds (at most 600) or SIGTERM/SIGINT, then prints
 * "sent=N seconds=S". The caller pins it to a CPU.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flood_gen.skel.h"
#include "netaddr.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#define FRAME_LEN 60        /* the minimum Ethernet frame without FCS */
/*
 * Frames per test run. Each run sets up a page pool first, and a paced flood
 * sends nothing meanwhile, so runs are long (up to a second); a signal ends
 * one at once (EINTR).
 */
#define REPEAT (1U << 22)
#define BATCH 64            /* frames the kernel runs and flushes at once */
#define MAX_SECONDS 600

struct __attribute__((packed)) syn_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
	uint8_t pad[FRAME_LEN - sizeof(struct ethhdr) - sizeof(struct iphdr) - sizeof(struct tcphdr)];
};

struct gen_args {
	const char *ifname;
	uint8_t dst_mac[ETH_ALEN];
	struct in_addr dst, base;
	uint16_t dport;
	uint32_t mask;   /* sources - 1 */
	bool random;
	unsigned long pps; /* 0: unpaced */
	unsigned long seconds;
};

static volatile sig_atomic_t stop, full_speed;

static void on_signal(int sig)
{
	if (sig == SIGUSR1 || sig == SIGUSR2)
		full_speed = sig == SIGUSR1;
	else
		stop = 1;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "flood_gen: %s: %s\n", what, why);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: flood_gen --ifname IF --dst-mac MAC --dst ADDR --dport PORT"
			" [--pps N] [--sources 1|1024|65536|random] [--base ADDR] [--seconds S]\n");
	exit(2);
}

/*
 * The unfolded one's complement sum of len bytes, 16-bit words in memory
 * order. memcpy, not a uint16_t pointer: the headers are other types, and
 * reading them through one would let the compiler drop the stores.
 */
static uint32_t sum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	uint16_t w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, b + i, sizeof(w));
		s += w;
	}
	return s;
}

static int read_mac(const char *ifname, uint8_t mac[ETH_ALEN])
{
	char path[64], line[32];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fgets(line, sizeof(line), f) ? sscanf(line, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0],
						  &mac[1], &mac[2], &mac[3], &mac[4], &mac[5])
					: 0;
	fclose(f);
	return n == ETH_ALEN ? 0 : -EINVAL;
}

/*
 * The SYN and, for the program, the sums of its IP and TCP checksums without
 * the source address (which the program adds per packet).
 */
static void build_frame(const struct gen_args *a, struct syn_frame *f, uint32_t *ip_sum,
			uint32_t *tcp_sum)
{
	struct {
		uint32_t daddr;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) pseudo = { a->dst.s_addr, 0, IPPROTO_TCP, htons(sizeof(f->tcp)) };

	memset(f, 0, sizeof(*f));
	if (read_mac(a->ifname, f->eth.h_source))
		die(a->ifname, "cannot read its MAC address");
	memcpy(f->eth.h_dest, a->dst_mac, ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(f->ip) + sizeof(f->tcp));
	f->ip.frag_off = htons(0x4000); /* DF */
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_TCP;
	f->ip.daddr = a->dst.s_addr;
	f->tcp.source = htons(40000);
	f->tcp.dest = htons(a->dport);
	f->tcp.seq = htonl(1);
	f->tcp.doff = 5;
	f->tcp.syn = 1;
	f->tcp.window = htons(64240);
	*ip_sum = sum16(&f->ip, sizeof(f->ip));
	*tcp_sum = sum16(&pseudo, sizeof(pseudo)) + sum16(&f->tcp, sizeof(f->tcp));
}

static void parse_args(int argc, char **argv, struct gen_args *a)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'd' },
		{ "dport", required_argument, NULL, 'p' },
		{ "pps", required_argument, NULL, 'r' },
		{ "sources", required_argument, NULL, 'n' },
		{ "base", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_mac = false, have_dst = false;
	unsigned long n;
	int c;

	*a = (struct gen_args){ .seconds = 10 };
	inet_pton(AF_INET, "198.18.0.1", &a->base);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			a->ifname = optarg;
			break;
		case 'm':
			have_mac = sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &a->dst_mac[0],
					  &a->dst_mac[1], &a->dst_mac[2], &a->dst_mac[3],
					  &a->dst_mac[4], &a->dst_mac[5]) == ETH_ALEN;
			if (!have_mac)
				die("bad --dst-mac", optarg);
			break;
		case 'd':
			have_dst = inet_pton(AF_INET, optarg, &a->dst) == 1;
			if (!have_dst)
				die("bad --dst", optarg);
			break;
		case 'p':
			a->dport = (uint16_t)arg_ulong("flood_gen", "port", optarg, 65535);
			break;
		case 'r':
			a->pps = arg_ulong("flood_gen", "pps", optarg, 1000000000UL);
			break;
		case 'n':
			if (!strcmp(optarg, "random")) {
				a->random = true;
				break;
			}
			n = arg_ulong("flood_gen", "sources", optarg, 1UL << 24);
			if (!n || (n & (n - 1)))
				die("bad --sources", "a power of two up to 2^24, or 'random'");
			a->mask = (uint32_t)(n - 1);
			break;
		case 'b':
			if (inet_pton(AF_INET, optarg, &a->base) != 1)
				die("bad --base", optarg);
			break;
		case 't':
			a->seconds = arg_ulong("flood_gen", "seconds", optarg, MAX_SECONDS);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !a->ifname || !have_mac || !have_dst || !a->dport)
		usage();
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct flood_gen_bpf *skel;
	struct gen_args a;
	struct syn_frame frame;
	struct xdp_md ctx = { .data_end = sizeof(frame) };
	uint32_t ip_sum, tcp_sum;
	double start, deadline;
	int ifindex, fd;

	parse_args(argc, argv, &a);
	ifindex = (int)if_nametoindex(a.ifname);
	if (!ifindex)
		die(a.ifname, "no such interface in this network namespace");
	ctx.ingress_ifindex = (uint32_t)ifindex;
	build_frame(&a, &frame, &ip_sum, &tcp_sum);

	libbpf_set_print(NULL);
	skel = flood_gen_bpf__open();
	if (!skel)
		die("open flood_gen.bpf.o", strerror(errno));
	skel->rodata->src_base = ntohl(a.base.s_addr);
	skel->rodata->src_mask = a.mask;
	skel->rodata->src_random = a.random;
	skel->rodata->ip_sum = ip_sum;
	skel->rodata->tcp_sum = tcp_sum;
	if (flood_gen_bpf__load(skel))
		die("load flood_gen.bpf.o", strerror(errno));
	fd = bpf_program__fd(skel->progs.flood_tx);

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("flooding\n");
	start = now_s();
	deadline = start + (double)a.seconds;
	while (!stop && now_s() < deadline) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &frame, .data_size_in = sizeof(frame),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = REPEAT,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = BATCH);

		/* The program reads gap_ns through the same mmapped .bss. */
		skel->bss->gap_ns = full_speed || !a.pps ? 0 : 1000000000ULL / a.pps;
		/* A signal ends the run early with EINTR: the loop then looks again. */
		if (bpf_prog_test_run_opts(fd, &o) && errno != EINTR)
			die("BPF_PROG_TEST_RUN (live frames)", strerror(errno));
	}
	printf("sent=%llu seconds=%.3f\n", (unsigned long long)skel->bss->sent, now_s() - start);
	flood_gen_bpf__destroy(skel);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A bounded UDP flood for the veth lab of `make bench`: writes ready-made
 * Ethernet/IPv4/UDP frames to an AF_PACKET socket with sendmmsg, bypassing
 * the qdisc, so the sender spends as little as possible per packet and the
 * receive side's cost shows. Stops after -n packets or -t seconds, whichever
 * comes first, and prints "sent=N failed=N elapsed_ns=N".
 *
 * Not a test: tests/run.sh only runs build/tests/test_*.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_LEN 60 /* minimum Ethernet frame without FCS */
#define MAX_SECONDS 30

struct flood_args {
	const char *ifname;
	uint8_t dst_mac[6];
	struct in_addr src, dst;
	uint16_t dport;
	uint64_t count;
	unsigned int seconds;
	uint32_t rotate; /* distinct source addresses, counted up from src */
	int cpu;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The receiver's IP layer checks the header checksum, so it must be right. */
static void set_src(uint8_t *f, uint32_t src_host_order)
{
	uint8_t *ip = f + 14;
	uint32_t s = htonl(src_host_order);
	uint16_t c;

	memcpy(ip + 12, &s, 4);
	ip[10] = ip[11] = 0;
	c = ip_csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
}

static void build(const struct flood_args *a, uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t udp_len = FRAME_LEN - 14 - 20;

	memset(f, 0, FRAME_LEN);
	memcpy(f, a->dst_mac, 6);
	f[6] = 0x02; f[7] = 0xeb; f[11] = 0x01; /* any locally administered source */
	f[12] = 0x08; f[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = (FRAME_LEN - 14) >> 8;
	ip[3] = (FRAME_LEN - 14) & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 16, &a->dst, 4);
	udp[0] = 0x9c; udp[1] = 0x40; /* source port 40000 */
	udp[2] = a->dport >> 8;
	udp[3] = a->dport & 0xff;
	udp[4] = udp_len >> 8;
	udp[5] = udp_len & 0xff; /* UDP checksum 0: none, legal over IPv4 */
	set_src(f, ntohl(a->src.s_addr));
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_flood -i IFNAME -m DSTMAC -s SRCIP -d DSTIP -p PORT "
			"-n COUNT -t SECONDS [-r NSOURCES] [-c CPU]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct flood_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	a->rotate = 1;
	a->cpu = -1;
	while ((opt = getopt(argc, argv, "i:m:s:d:p:n:t:r:c:")) != -1) {
		switch (opt) {
		case 'i': a->ifname = optarg; break;
		case 'm': if (parse_mac(optarg, a->dst_mac)) usage(); break;
		case 's': if (inet_pton(AF_INET, optarg, &a->src) != 1) usage(); break;
		case 'd': if (inet_pton(AF_INET, optarg, &a->dst) != 1) usage(); break;
		case 'p': a->dport = (uint16_t)atoi(optarg); break;
		case 'n': a->count = strtoull(optarg, NULL, 0); break;
		case 't': a->seconds = (unsigned int)atoi(optarg); break;
		case 'r': a->rotate = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': a->cpu = atoi(optarg); break;
		default: usage();
		}
	}
	if (!a->ifname || !a->count || !a->seconds || !a->rotate || !a->dst.s_addr)
		usage();
	if (a->seconds > MAX_SECONDS)
		a->seconds = MAX_SECONDS;
}

static int open_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1, fd;

	/* Protocol 0: this socket never receives, it only sends. */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return -1;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct flood_args a;
	uint64_t sent = 0, failed = 0, start, deadline, now;
	uint32_t src0, next_src = 0;
	int fd;

	parse_args(argc, argv, &a);
	if (a.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(a.cpu, &set);
		sched_setaffinity(0, sizeof(set), &set); /* best effort */
	}
	fd = open_socket(a.ifname);
	if (fd < 0) {
		fprintf(stderr, "bench_flood: cannot open a packet socket on %s: %s\n", a.ifname,
			strerror(errno));
		return 1;
	}
	src0 = ntohl(a.src.s_addr);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		build(&a, frames[i]);
		iov[i].iov_base = frames[i];
		iov[i].iov_len = FRAME_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = mono_ns();
	deadline = start + (uint64_t)a.seconds * 1000000000ULL;
	now = start;
	while (sent < a.count && now < deadline) {
		unsigned int n = a.count - sent < BATCH ? (unsigned int)(a.count - sent) : BATCH;
		int r;

		if (a.rotate > 1)
			for (unsigned int i = 0; i < n; i++) {
				set_src(frames[i], src0 + next_src);
				next_src = (next_src + 1) % a.rotate;
			}
		r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "bench_flood: sendmmsg: %s\n", strerror(errno));
				break;
			}
			failed += n;
			r = 0;
		}
		sent += (uint64_t)r;
		now = mono_ns();
	}
	printf("sent=%llu failed=%llu elapsed_ns=%llu\n", (unsigned long long)sent,
	       (unsigned long long)failed, (unsigned long long)(now - start));
	close(fd);
	return 0;
}

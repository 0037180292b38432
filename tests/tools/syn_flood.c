// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TCP SYN flooder for the end-to-end tests. Sends --count IPv4 SYNs from
 * --src to --dst:--dport through a raw socket, each from a random source port
 * with a random sequence number and correct IP and TCP checksums (so the
 * target answers them unless something drops them). --pps paces the sends
 * (0 = as fast as possible); --seconds bounds the run whatever the count.
 *
 *   syn_flood --src A|--src-cidr NET/LEN --dst B --dport P [--count N] [--pps R]
 *             [--seconds S]
 *
 * --src-cidr sends each SYN from a random address inside NET/LEN instead (a
 * spoofed-source flood; the network and broadcast addresses are skipped when
 * LEN < 31). With --no-repeat the addresses are walked in a scrambled order
 * that repeats none before the whole range is used, as a flood spoofing from
 * the whole Internet looks to a small range: a repeat is what a real
 * client's retransmission looks like, and a small range would make many.
 *
 * Prints "sent=N failed=M elapsed_ms=T" (M: sends the kernel refused, e.g.
 * ENOBUFS; T: from the first send to the last).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netaddr.h"

struct syn_packet {
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

static void usage(void)
{
	fprintf(stderr, "usage: syn_flood --src A|--src-cidr NET/LEN [--no-repeat] --dst B --dport P"
			" [--count N] [--pps R] [--seconds S]\n");
	exit(2);
}

static unsigned long parse_ulong(const char *what, const char *s, unsigned long max)
{
	return arg_ulong("syn_flood", what, s, max);
}

/* RFC 1071 ones' complement sum, folded; seed carries a partial sum in. */
static uint16_t csum_fold(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data;
	uint32_t sum = seed;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void fill_checksums(struct syn_packet *pk)
{
	/* The pseudo header in host order: addresses, protocol, TCP length. */
	uint32_t saddr = ntohl(pk->ip.saddr), daddr = ntohl(pk->ip.daddr);
	uint32_t pseudo = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) +
			  IPPROTO_TCP + sizeof(pk->tcp);

	pk->ip.check = 0;
	pk->ip.check = csum_fold(&pk->ip, sizeof(pk->ip), 0);
	pk->tcp.check = 0;
	pk->tcp.check = csum_fold(&pk->tcp, sizeof(pk->tcp), pseudo);
}

/* "100.80.0.0/16" -> first host address and host count (host order); 0 if bad. */
static int parse_cidr(const char *arg, uint32_t *first, uint32_t *hosts)
{
	char buf[INET_ADDRSTRLEN];
	const char *prefix = netaddr_split(arg, '/', buf, sizeof(buf));
	struct in_addr a;
	unsigned long len;
	uint32_t mask, net;

	if (!prefix || inet_pton(AF_INET, buf, &a) != 1)
		return 0;
	len = parse_ulong("prefix length", prefix, 32);
	mask = len ? ~0U << (32 - len) : 0;
	net = ntohl(a.s_addr) & mask;
	if (len >= 31) {
		*first = net;
		*hosts = (uint32_t)(~mask + 1ULL);
	} else {
		*first = net + 1;
		*hosts = ~mask - 1;
	}
	return 1;
}

/* random() gives 31 bits: two draws cover any host count. */
static uint32_t random_below(uint32_t n)
{
	uint64_t r = ((uint64_t)random() << 31) | (uint64_t)random();

	return (uint32_t)(r % n);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "src-cidr", required_argument, NULL, 'C' },
		{ "dst", required_argument, NULL, 'd' },
		{ "dport", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "pps", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "no-repeat", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t walk = 0;
	int no_repeat = 0;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct syn_packet pk;
	struct in_addr src = { 0 };
	unsigned long count = 1000, pps = 0, seconds = 10, dport = 0, sent = 0, failed = 0;
	uint64_t start, deadline, last = 0;
	uint32_t src_first = 0, src_hosts = 0;
	int fd, c, have_src = 0, have_dst = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			have_src = inet_pton(AF_INET, optarg, &src) == 1;
			break;
		case 'C':
			have_src = parse_cidr(optarg, &src_first, &src_hosts);
			if (!have_src) {
				fprintf(stderr, "syn_flood: bad CIDR '%s'\n", optarg);
				exit(2);
			}
			break;
		case 'd':
			have_dst = inet_pton(AF_INET, optarg, &dst.sin_addr) == 1;
			break;
		case 'p':
			dport = parse_ulong("port", optarg, 65535);
			break;
		case 'c':
			count = parse_ulong("count", optarg, 100000000);
			break;
		case 'r':
			pps = parse_ulong("pps", optarg, 10000000);
			break;
		case 'S':
			seconds = parse_ulong("seconds", optarg, 3600);
			break;
		case 'n':
			no_repeat = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !have_src || !have_dst || !dport || !seconds)
		usage();

	/* IPPROTO_RAW implies IP_HDRINCL: we write the IP header ourselves. */
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		perror("syn_flood: raw socket (needs CAP_NET_RAW)");
		return 1;
	}
	srandom((unsigned int)(mono_ns() ^ (uint64_t)getpid()));
	if (src_hosts)
		walk = random_below(src_hosts);

	memset(&pk, 0, sizeof(pk));
	pk.ip.version = 4;
	pk.ip.ihl = sizeof(pk.ip) / 4;
	pk.ip.tot_len = htons(sizeof(pk));
	pk.ip.frag_off = htons(IP_DF);
	pk.ip.ttl = 64;
	pk.ip.protocol = IPPROTO_TCP;
	pk.ip.saddr = src.s_addr;
	pk.ip.daddr = dst.sin_addr.s_addr;
	pk.tcp.dest = htons((uint16_t)dport);
	pk.tcp.doff = sizeof(pk.tcp) / 4;
	pk.tcp.syn = 1;
	pk.tcp.window = htons(64240);

	start = mono_ns();
	deadline = start + (uint64_t)seconds * 1000000000ULL;
	for (unsigned long i = 0; i < count; i++) {
		if (pps)
			sleep_until(start + (uint64_t)i * 1000000000ULL / pps);
		if (mono_ns() >= deadline)
			break;
		pk.ip.id = htons((uint16_t)random());
		pk.tcp.source = htons((uint16_t)(1024 + random() % (65536 - 1024)));
		pk.tcp.seq = htonl((uint32_t)random());
		if (src_hosts && no_repeat) {
			/* A prime step (coprime with any host count below it) visits each once per round. */
			walk = (uint32_t)(((uint64_t)walk + 1000003ULL) % src_hosts);
			pk.ip.saddr = htonl(src_first + walk);
		} else if (src_hosts) {
			pk.ip.saddr = htonl(src_first + random_below(src_hosts));
		}
		fill_checksums(&pk);
		if (sendto(fd, &pk, sizeof(pk), 0, (struct sockaddr *)&dst, sizeof(dst)) ==
		    (ssize_t)sizeof(pk))
			sent++;
		else
			failed++;
		last = mono_ns();
	}
	close(fd);
	printf("sent=%lu failed=%lu elapsed_ms=%llu\n", sent, failed,
	       (unsigned long long)(last > start ? (last - start) / 1000000ULL : 0));
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A well-behaved TCP client for the end-to-end tests: makes --count
 * connection attempts to HOST:PORT, --interval-ms apart, each given at most
 * --timeout-ms, and prints "attempts=N ok=M". Every wait is bounded.
 * With --times it also prints, as each attempt ends, "ok us=N at=T" or
 * "fail us=N at=T": how long the attempt took, in microseconds, and when it
 * started (CLOCK_REALTIME seconds, like bash's $EPOCHREALTIME), so a caller
 * can take percentiles of the attempts made in a time window (`make
 * bench-flood`).
 *
 *   tcp_connect [--count N] [--interval-ms MS] [--timeout-ms MS] [--bind SRC]
 *               [--bind-each A.B.C.D] [--times] HOST:PORT
 *
 * --bind-each makes attempt i come from the IPv4 address A.B.C.D + i: every
 * attempt is a never-seen client.
 *
 * HOST may be IPv4 or IPv6 ("[2001:db8::1]:80"). Exit status 0 when every
 * attempt connected, 1 otherwise, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "netaddr.h"

static void usage(void)
{
	fprintf(stderr, "usage: tcp_connect [--count N] [--interval-ms MS] [--timeout-ms MS]"
			" [--bind SRC] [--times] HOST:PORT\n");
	exit(2);
}

static unsigned int parse_uint(const char *what, const char *s, unsigned long max)
{
	return (unsigned int)arg_ulong("tcp_connect", what, s, max);
}

/* One attempt: 1 if the handshake completed within timeout_ms, else 0. */
static int attempt(const struct sockaddr_storage *dst, socklen_t dlen,
		   const struct sockaddr_storage *src, socklen_t slen, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLOUT };
	int fd, err = 0, ok = 0;
	socklen_t elen = sizeof(err);

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("tcp_connect: socket");
		return 0;
	}
	if (slen && bind(fd, (const struct sockaddr *)src, slen)) {
		perror("tcp_connect: bind");
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)dst, dlen) == 0) {
		ok = 1;
		goto out;
	}
	if (errno != EINPROGRESS)
		goto out;
	pfd.fd = fd;
	if (poll(&pfd, 1, timeout_ms) != 1)
		goto out; /* timed out: the SYN or its answer was lost */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
		ok = 1;
out:
	close(fd);
	return ok;
}

static long long now_us(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "bind", required_argument, NULL, 'b' },
		{ "bind-each", required_argument, NULL, 'e' },
		{ "times", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int count = 1, interval_ms = 0, timeout_ms = 1000, ok = 0;
	const char *bind_to = NULL;
	struct in_addr each = { 0 };
	int bind_each = 0, times = 0;
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			count = parse_uint("count", optarg, 1000000);
			break;
		case 'i':
			interval_ms = parse_uint("interval", optarg, 60000);
			break;
		case 't':
			timeout_ms = parse_uint("timeout", optarg, 60000);
			break;
		case 'b':
			bind_to = optarg;
			break;
		case 'e':
			if (inet_pton(AF_INET, optarg, &each) != 1) {
				fprintf(stderr, "tcp_connect: bad --bind-each '%s'\n", optarg);
				return 2;
			}
			bind_each = 1;
			break;
		case 'T':
			times = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	dlen = netaddr_parse(argv[optind], &dst);
	if (!dlen) {
		fprintf(stderr, "tcp_connect: bad target '%s'\n", argv[optind]);
		return 2;
	}
	if (bind_to) {
		slen = netaddr_make(bind_to, 0, &src);
		if (!slen || src.ss_family != dst.ss_family) {
			fprintf(stderr, "tcp_connect: bad source '%s'\n", bind_to);
			return 2;
		}
	}

	if (bind_each && dst.ss_family != AF_INET) {
		fprintf(stderr, "tcp_connect: --bind-each needs an IPv4 target\n");
		return 2;
	}
	/* Line by line: a caller that stops us early still has every finished attempt. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned int i = 0; i < count; i++) {
		long long t0, at;
		int one;

		if (i && interval_ms)
			sleep_ms(interval_ms);
		if (bind_each) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&src;

			memset(&src, 0, sizeof(src));
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(ntohl(each.s_addr) + i);
			slen = sizeof(*sin);
		}
		at = now_us(CLOCK_REALTIME);
		t0 = now_us(CLOCK_MONOTONIC);
		one = attempt(&dst, dlen, &src, slen, (int)timeout_ms);
		if (times)
			printf("%s us=%lld at=%lld.%06lld\n", one ? "ok" : "fail",
			       now_us(CLOCK_MONOTONIC) - t0, at / 1000000, at % 1000000);
		ok += (unsigned int)one;
	}
	printf("attempts=%u ok=%u\n", count, ok);
	return ok == count ? 0 : 1;
}

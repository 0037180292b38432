// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TCP server for the end-to-end tests: listens on every ADDR:PORT given,
 * accepts connections and closes them at once. Prints "listening" when all
 * sockets are bound and "accepted=N" when it stops: after --seconds, or on
 * SIGTERM/SIGINT.
 *
 * With --hold it keeps each connection open instead, echoing whatever the
 * client sends (so the server sends on the flow only when the client does),
 * and closes it when the client does. Keepalive stays off: a client that
 * vanishes leaves a silent connection behind.
 *
 *   tcp_server [--seconds S] [--hold] ADDR:PORT [ADDR:PORT...]
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netaddr.h"

#define MAX_LISTEN 8
#define MAX_HELD 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcp_server [--seconds S] [--hold] ADDR:PORT [ADDR:PORT...]\n");
	exit(2);
}

/* "192.0.2.1:80" or "[2001:db8::1]:80" -> a listening socket, or -1. */
static int listen_on(const char *arg)
{
	struct sockaddr_storage ss;
	socklen_t slen = netaddr_parse(arg, &ss);
	int fd, one = 1;

	if (!slen)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) || listen(fd, 1024)) {
		fprintf(stderr, "tcp_server: %s: %s\n", arg, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000L + (end->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Echoes what a held connection sent; at EOF or an error, closes it and frees its slot. */
static void echo(struct pollfd *pfd)
{
	char buf[512];
	ssize_t r = recv(pfd->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (r > 0 && send(pfd->fd, buf, (size_t)r, MSG_DONTWAIT | MSG_NOSIGNAL) == r)
		return;
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(pfd->fd);
	pfd->fd = -1;
}

/* Takes a new connection into the first free slot after the listeners. */
static void hold(struct pollfd *pfds, int nlisten, int cfd)
{
	for (int i = nlisten; i < nlisten + MAX_HELD; i++) {
		if (pfds[i].fd < 0) {
			pfds[i].fd = cfd;
			pfds[i].events = POLLIN;
			return;
		}
	}
	close(cfd); /* full: behave like the default mode */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "hold", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static struct pollfd pfds[MAX_LISTEN + MAX_HELD];
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long accepted = 0;
	long seconds = 30, left;
	struct timespec end;
	int n = 0, c, keep = 0, npoll;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'H') {
			keep = 1;
			continue;
		}
		if (c != 's')
			usage();
		seconds = strtol(optarg, NULL, 10);
		if (seconds < 1 || seconds > 3600)
			usage();
	}
	if (optind == argc || argc - optind > MAX_LISTEN)
		usage();
	for (int i = optind; i < argc; i++) {
		pfds[n].fd = listen_on(argv[i]);
		if (pfds[n].fd < 0) {
			fprintf(stderr, "tcp_server: cannot listen on '%s'\n", argv[i]);
			return 1;
		}
		pfds[n++].events = POLLIN;
	}
	for (int i = n; i < n + MAX_HELD; i++)
		pfds[i].fd = -1; /* poll skips negative descriptors */
	npoll = keep ? n + MAX_HELD : n;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening\n");

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	while (!stop && (left = ms_left(&end)) > 0) {
		/* A short poll so a signal between the checks costs at most 200 ms. */
		if (poll(pfds, (nfds_t)npoll, left < 200 ? (int)left : 200) <= 0)
			continue;
		for (int i = n; i < npoll; i++) {
			if (pfds[i].fd >= 0 && pfds[i].revents)
				echo(&pfds[i]);
		}
		for (int i = 0; i < n; i++) {
			int cfd;

			if (!(pfds[i].revents & POLLIN))
				continue;
			while ((cfd = accept4(pfds[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				if (keep)
					hold(pfds, n, cfd);
				else
					close(cfd);
				accepted++;
			}
		}
	}
	printf("accepted=%lu\n", accepted);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * slowloris TARGET N SECONDS [--idle]: opens N connections to TARGET
 * (unix:PATH for a Unix stream socket, or A.B.C.D:PORT) and keeps each one
 * sending an unfinished request, one byte every 500 ms (--idle: nothing at
 * all), for SECONDS or until the server has closed every one of them.
 *
 * Prints "connected C" once all N were tried (C got in), then
 * "closed K of C" at the end: how many the server ended. For the tests of
 * the control socket's and the metrics endpoint's per-client deadlines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define TRICKLE_MS 500

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int open_one(const char *target, bool unix_sock)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd;

	if (unix_sock) {
		struct sockaddr_un *sa = (struct sockaddr_un *)&ss;

		sa->sun_family = AF_UNIX;
		snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", target + 5);
		len = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
		char host[64];
		const char *colon = strrchr(target, ':');

		if (!colon || (size_t)(colon - target) >= sizeof(host))
			return -1;
		memcpy(host, target, (size_t)(colon - target));
		host[colon - target] = '\0';
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return -1;
		len = sizeof(*sa);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct pollfd p[MAX_CONNS];
	static size_t sent[MAX_CONNS];
	bool unix_sock, idle;
	const char *start;
	int n, seconds, connected = 0, closed = 0;
	uint64_t end, next_trickle;
	char buf[4096];

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--idle"))) {
		fprintf(stderr, "usage: slowloris unix:PATH|A.B.C.D:PORT N SECONDS [--idle]\n");
		return 2;
	}
	unix_sock = !strncmp(argv[1], "unix:", 5);
	idle = argc == 5;
	n = atoi(argv[2]);
	seconds = atoi(argv[3]);
	if (n < 1 || n > MAX_CONNS || seconds < 1) {
		fprintf(stderr, "slowloris: N must be 1..%d and SECONDS at least 1\n", MAX_CONNS);
		return 2;
	}
	/* A request that never ends: its first bytes, then one more now and then. */
	start = unix_sock ? "{\"cmd\":\"ping\"" : "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	for (int i = 0; i < n; i++) {
		p[i].fd = open_one(argv[1], unix_sock);
		p[i].events = POLLIN;
		if (p[i].fd < 0)
			continue;
		connected++;
		if (!idle && send(p[i].fd, start, strlen(start), MSG_NOSIGNAL) > 0)
			sent[i] = strlen(start);
	}
	printf("connected %d\n", connected);
	fflush(stdout);
	end = mono_ms() + (uint64_t)seconds * 1000;
	next_trickle = mono_ms() + TRICKLE_MS;
	while (closed < connected && mono_ms() < end) {
		uint64_t now = mono_ms();
		int wait = (int)((next_trickle > now ? next_trickle : now) - now);

		if (poll(p, (nfds_t)n, wait) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			ssize_t got;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			got = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0 || (got < 0 && errno == EAGAIN))
				continue; /* an answer (busy, an error): the close comes next */
			close(p[i].fd);
			p[i].fd = -1;
			closed++;
		}
		if (mono_ms() < next_trickle)
			continue;
		next_trickle = mono_ms() + TRICKLE_MS;
		for (int i = 0; i < n && !idle; i++) {
			if (p[i].fd < 0)
				continue;
			if (send(p[i].fd, unix_sock ? " " : "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
				sent[i]++;
		}
	}
	printf("closed %d of %d\n", closed, connected);
	for (int i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return 0;
}

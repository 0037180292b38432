// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_send SOCKET LINE: sends LINE (a newline is added) to a Unix stream
 * socket and prints the first line that comes back. Exit 0 when a line came
 * back, 1 otherwise. Bounded by 5 s timeouts; for the control-socket tests.
 *
 * ctl_send --no-read SECONDS [--repeat N] SOCKET LINE: sends LINE (N times,
 * pipelined), prints "sent", and then reads nothing for SECONDS (or until the
 * peer hangs up): a slow reader whose replies pile up in the daemon.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int fd;

	int hold = -1, repeat = 1;

	if (argc >= 5 && !strcmp(argv[1], "--no-read")) {
		hold = atoi(argv[2]);
		argv += 2;
		argc -= 2;
		if (argc >= 5 && !strcmp(argv[1], "--repeat")) {
			repeat = atoi(argv[2]);
			argv += 2;
			argc -= 2;
		}
	}
	if (argc != 3 || repeat < 1) {
		fprintf(stderr, "usage: ctl_send [--no-read SECONDS [--repeat N]] SOCKET LINE\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "ctl_send: connect %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* The answer may already be waiting even when the peer hung up on us. */
	for (int i = 0; i < repeat; i++)
		if (send(fd, argv[2], strlen(argv[2]), MSG_NOSIGNAL) < 0 ||
		    send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
			break;
	if (hold >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		printf("sent\n");
		fflush(stdout);
		/* Wakes when the peer hangs up; never reads what it sent. */
		poll(&p, 1, hold * 1000);
		close(fd);
		return 0;
	}
	while (len < sizeof(buf) - 1) {
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (!memchr(buf, '\n', len))
		return 1;
	fputs(buf, stdout);
	return 0;
}

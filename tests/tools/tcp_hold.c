// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TCP client that holds connections open, for the connection-cap tests.
 * Opens --count connections to HOST:PORT at start, then obeys commands read
 * line by line from stdin and answers each with one line on stdout:
 *
 *   open N    -> "open ok=A failed=F held=H"   N more, one after another
 *   close N   -> "close closed=C held=H"       the newest N, with a FIN
 *   status    -> "status held=H alive=A sent=S echoed=E"
 *   quiet     -> "quiet pending=P"             stop the heartbeat, wait for echoes
 *   quit      -> exits; so do EOF, SIGTERM, SIGINT and the --seconds bound
 *
 * With --heartbeat-ms, one byte is written on every held connection that
 * often; a server that echoes it (tcp_server --hold) then keeps sending on
 * the flow, so the flow is never idle while the holder lives. A connection
 * is alive until it reads EOF or an error. Each connect is bounded by
 * --timeout-ms; the start-up batch prints like "open".
 *
 *   tcp_hold [--count N] [--bind SRC] [--timeout-ms MS] [--heartbeat-ms MS]
 *            [--seconds S] HOST:PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAX_CONNS 1000

struct conn {
	int fd;
	int alive;
	unsigned long sent;
	unsigned long echoed;
};

static struct conn conns[MAX_CONNS];
static unsigned int nconns;
static volatile sig_atomic_t stop;

static struct sockaddr_storage dst, src;
static socklen_t dlen, slen;
static int timeout_ms = 1000;
static unsigned int heartbeat_ms;
static int beating;
static long long next_beat;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcp_hold [--count N] [--bind SRC] [--timeout-ms MS]"
			" [--heartbeat-ms MS] [--seconds S] HOST:PORT\n");
	exit(2);
}

static unsigned int parse_uint(const char *what, const char *s, unsigned long max)
{
	return (unsigned int)arg_ulong("tcp_hold", what, s, max);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void heartbeat(void);

/* Sends the heartbeat when it is due, whatever else the holder is waiting for. */
static void tick(void)
{
	if (beating && mono_ms() >= next_beat) {
		heartbeat();
		next_beat = mono_ms() + heartbeat_ms;
	}
}

/*
 * One bounded connect; the socket stays non-blocking. Returns the fd or -1.
 * The wait is sliced so a refused connect never stalls the heartbeat of the
 * connections already held (they would look idle).
 */
static int connect_one(void)
{
	struct pollfd pfd = { .events = POLLOUT };
	long long end = mono_ms() + timeout_ms;
	int fd, err = 0, r = 0;
	socklen_t elen = sizeof(err);

	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (slen && bind(fd, (struct sockaddr *)&src, slen))
		goto fail;
	if (connect(fd, (struct sockaddr *)&dst, dlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	while (!stop && mono_ms() < end && (r = poll(&pfd, 1, 20)) == 0)
		tick();
	if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
		return fd;
fail:
	close(fd);
	return -1;
}

static unsigned int alive_count(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nconns; i++)
		n += (unsigned int)conns[i].alive;
	return n;
}

static void cmd_open(unsigned int n)
{
	unsigned int ok = 0, failed = 0;

	for (unsigned int i = 0; i < n && !stop; i++) {
		int fd = nconns < MAX_CONNS ? connect_one() : -1;

		if (fd < 0) {
			failed++;
			continue;
		}
		conns[nconns++] = (struct conn){ .fd = fd, .alive = 1 };
		ok++;
	}
	printf("open ok=%u failed=%u held=%u\n", ok, failed, nconns);
}

static void cmd_close(unsigned int n)
{
	unsigned int closed = 0;

	while (n-- && nconns) {
		close(conns[--nconns].fd);
		closed++;
	}
	printf("close closed=%u held=%u\n", closed, nconns);
}

/* Reads whatever the server echoed; EOF or an error marks the connection dead. */
static void drain(struct conn *c)
{
	char buf[256];
	ssize_t r;

	while (c->alive) {
		r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0) {
			c->echoed += (unsigned long)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->alive = 0;
		} else {
			break;
		}
	}
}

static void drain_all(void)
{
	for (unsigned int i = 0; i < nconns; i++)
		drain(&conns[i]);
}

static void heartbeat(void)
{
	for (unsigned int i = 0; i < nconns; i++) {
		if (conns[i].alive && send(conns[i].fd, "h", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
			conns[i].sent++;
	}
}

static unsigned long pending(void)
{
	unsigned long p = 0;

	for (unsigned int i = 0; i < nconns; i++) {
		if (conns[i].alive && conns[i].sent > conns[i].echoed)
			p += conns[i].sent - conns[i].echoed;
	}
	return p;
}

/* After this the client sends nothing more than ACKs, and owes none. */
static void cmd_quiet(void)
{
	long long end = mono_ms() + timeout_ms;

	drain_all();
	while (pending() && mono_ms() < end && !stop) {
		poll(NULL, 0, 10);
		drain_all();
	}
	printf("quiet pending=%lu\n", pending());
}

static void cmd_status(void)
{
	unsigned long sent = 0, echoed = 0;

	drain_all();
	for (unsigned int i = 0; i < nconns; i++) {
		sent += conns[i].sent;
		echoed += conns[i].echoed;
	}
	printf("status held=%u alive=%u sent=%lu echoed=%lu\n", nconns, alive_count(), sent,
	       echoed);
}

/* Returns 0 to go on, 1 to quit. */
static int command(char *line)
{
	char word[16];
	unsigned int n = 1;

	if (sscanf(line, "%15s %u", word, &n) < 1)
		return 0;
	if (!strcmp(word, "open"))
		cmd_open(n);
	else if (!strcmp(word, "close"))
		cmd_close(n);
	else if (!strcmp(word, "status"))
		cmd_status();
	else if (!strcmp(word, "quiet")) {
		beating = 0;
		cmd_quiet();
	} else if (!strcmp(word, "quit"))
		return 1;
	else
		printf("error unknown command '%s'\n", word);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "bind", required_argument, NULL, 'b' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "heartbeat-ms", required_argument, NULL, 'h' },
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int count = 0, seconds = 60;
	const char *bind_to = NULL;
	char line[128];
	size_t used = 0;
	long long end;
	int c, quit = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			count = parse_uint("count", optarg, MAX_CONNS);
			break;
		case 'b':
			bind_to = optarg;
			break;
		case 't':
			timeout_ms = (int)parse_uint("timeout", optarg, 60000);
			break;
		case 'h':
			heartbeat_ms = parse_uint("heartbeat", optarg, 60000);
			break;
		case 's':
			seconds = parse_uint("seconds", optarg, 3600);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !seconds)
		usage();
	dlen = netaddr_parse(argv[optind], &dst);
	if (!dlen) {
		fprintf(stderr, "tcp_hold: bad target '%s'\n", argv[optind]);
		return 2;
	}
	if (bind_to) {
		slen = netaddr_make(bind_to, 0, &src);
		if (!slen || src.ss_family != dst.ss_family) {
			fprintf(stderr, "tcp_hold: bad source '%s'\n", bind_to);
			return 2;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);

	end = mono_ms() + (long long)seconds * 1000;
	beating = heartbeat_ms > 0;
	next_beat = mono_ms() + heartbeat_ms;
	if (count)
		cmd_open(count);
	while (!stop && !quit && mono_ms() < end) {
		struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
		ssize_t r;
		char *nl;

		tick();
		drain_all();
		if (poll(&in, 1, 20) != 1)
			continue;
		r = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
		if (r == 0)
			break; /* EOF: whoever drove us is gone */
		if (r < 0)
			continue;
		used += (size_t)r;
		line[used] = '\0';
		while (!quit && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			quit = command(line);
			used -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, used + 1);
		}
		if (used == sizeof(line) - 1)
			used = 0; /* an over-long line: drop it */
	}
	cmd_close(nconns);
	return 0;
}

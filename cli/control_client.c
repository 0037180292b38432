// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CLI's side of the control socket. No daemon is a normal state (the
 * maps are pinned and the CLI can change them itself), so only a daemon
 * that is there and says no is an error - and so is a daemon that got the
 * request and did not answer, because then nobody knows whether the change
 * was made.
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "paths.h"
#include "cli.h"
#include "clock.h"
#include "control_client.h"

#define BACKOFF_FIRST_MS 25
#define BACKOFF_MAX_MS 400

struct attempt {
	const char *path;
	int pass_fd; /* sent with the request (SCM_RIGHTS); -1: none */
	const char *check; /* how to see whether a change that may have been made was */
	uint64_t deadline_ms;
	bool sent;       /* the request went out at least once */
	bool connected;  /* a daemon accepted a connection at least once */
};

static int ms_left(const struct attempt *a)
{
	uint64_t now = eg_mono_ms();

	return now >= a->deadline_ms ? 0 : (int)(a->deadline_ms - now);
}

static void say_fallback(const char *path, const char *why)
{
	if (cli_verbose)
		fprintf(stderr, "edgeguard: no daemon on %s (%s): using the pinned maps directly\n",
			path, why);
}

enum conn { CONN_OK, CONN_NONE, CONN_BUSY, CONN_FAILED };

/* A daemon we can trust answers as root or as ourselves; anyone else could lie. */
static int check_peer(int fd, const char *path, struct eg_err *e)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return eg_fail_errno(e, errno, "cannot tell who serves %s", path);
	if (cred.uid != 0 && cred.uid != geteuid())
		return eg_fail(e, "%s is served by uid %u, not root: refusing to trust it", path,
			       (unsigned int)cred.uid);
	return 0;
}

static enum conn connect_daemon(struct attempt *a, int *fdp, struct eg_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->path) >= (int)sizeof(sa.sun_path)) {
		say_fallback(a->path, "path too long for a socket");
		return CONN_NONE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		eg_fail_errno(e, errno, "cannot create a socket");
		return CONN_FAILED;
	}
	/* Non-blocking: a daemon with a full backlog says EAGAIN at once. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (check_peer(fd, a->path, e)) {
			close(fd);
			return CONN_FAILED;
		}
		*fdp = fd;
		a->connected = true;
		return CONN_OK;
	}
	err = errno;
	close(fd);
	if (err == EAGAIN)
		return CONN_BUSY;
	if (err == EACCES || err == EPERM) {
		eg_fail(e, "cannot use the daemon's control socket %s: %s (run as root, or as a member of the daemon's --group)",
			a->path, strerror(err));
		return CONN_FAILED;
	}
	if (a->sent) {
		eg_fail(e, "the daemon on %s went away after the request was sent (%s); the change may or may not have been made: check with %s",
			a->path, strerror(err), a->check);
		return CONN_FAILED;
	}
	say_fallback(a->path, strerror(err));
	return CONN_NONE;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out. */
static int wait_fd(const struct attempt *a, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, ms_left(a));
	} while (n < 0 && errno == EINTR);
	return n > 0;
}

/* The first bytes of a request, with the descriptor to pass riding on them. */
static ssize_t send_with_fd(int fd, const char *buf, size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* 0 sent; -1 the connection broke (errno); -2 out of time. */
static int send_all(const struct attempt *a, int fd, const char *buf, size_t len)
{
	bool first = true;
	ssize_t n;

	while (len) {
		n = first && a->pass_fd >= 0 ? send_with_fd(fd, buf, len, a->pass_fd) :
					       send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(a, fd, POLLOUT))
				return -2;
			continue;
		}
		if (n <= 0)
			return -1;
		first = false;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The first line, NUL-terminated; NULL with *timed_out set, or on a broken connection. */
static char *read_line(const struct attempt *a, int fd, bool *timed_out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *p;
	ssize_t n;

	*timed_out = false;
	while (buf) {
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(a, fd, POLLIN)) {
				*timed_out = true;
				break;
			}
			continue;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - n, '\n', (size_t)n))
			return buf;
		if (len + 1 == cap) {
			if (cap >= EG_CTL_MAX_REPLY)
				break;
			p = realloc(buf, cap * 2);
			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
	}
	free(buf);
	return NULL;
}

enum answer { ANS_DONE, ANS_BUSY, ANS_LOST, ANS_TIMEOUT, ANS_FAILED };

/* One connection: send the line, read the answer. */
static enum answer exchange(struct attempt *a, int fd, const char *line, cJSON **resp,
			    struct eg_err *e)
{
	bool timed_out = false;
	const cJSON *busy;
	char *text;
	int rc;

	/*
	 * A daemon that refuses us has already written why and hung up, so the
	 * request may fail to go out; its answer is still there to read.
	 */
	rc = send_all(a, fd, line, strlen(line));
	if (rc == -2)
		return ANS_TIMEOUT;
	if (rc == 0)
		a->sent = true;
	text = read_line(a, fd, &timed_out);
	if (!text)
		return timed_out ? ANS_TIMEOUT : ANS_LOST;
	*resp = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(*resp)) {
		cJSON_Delete(*resp);
		*resp = NULL;
		eg_fail(e, "the daemon on %s sent an answer that is not JSON", a->path);
		return ANS_FAILED;
	}
	busy = cJSON_GetObjectItemCaseSensitive(*resp, EG_CTL_F_BUSY);
	if (cJSON_IsTrue(busy)) {
		cJSON_Delete(*resp);
		*resp = NULL;
		return ANS_BUSY;
	}
	return ANS_DONE;
}

static void pause_ms(const struct attempt *a, unsigned int *backoff)
{
	unsigned int ms = *backoff;
	struct timespec ts;

	if ((int)ms > ms_left(a))
		ms = (unsigned int)ms_left(a);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	if (*backoff < BACKOFF_MAX_MS)
		*backoff *= 2;
}

/* The daemon's answer as the result: ok, or its error. */
static enum ctl_result judge(const cJSON *resp, const char *id, const char *path,
			     struct eg_err *e)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, EG_CTL_F_OK);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, EG_CTL_F_ERROR);
	const cJSON *refused = cJSON_GetObjectItemCaseSensitive(resp, EG_CTL_F_REFUSED);
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(resp, EG_CTL_F_ID);

	if (cJSON_IsTrue(refused)) {
		eg_fail(e, "the daemon refused the request: %s",
			cJSON_IsString(err) ? err->valuestring : "no reason given");
		return CTL_FAILED;
	}
	if (rid && (!cJSON_IsString(rid) || strcmp(rid->valuestring, id))) {
		eg_fail(e, "the daemon on %s answered another request", path);
		return CTL_FAILED;
	}
	if (cJSON_IsTrue(ok))
		return CTL_DONE;
	eg_fail(e, "%s", cJSON_IsString(err) ? err->valuestring : "the daemon failed");
	return CTL_FAILED;
}

enum ctl_result ctl_do(struct eg_ctl_request *r, struct eg_err *e)
{
	return ctl_do_fd(r, -1, NULL, e);
}

enum ctl_result ctl_do_fd(struct eg_ctl_request *r, int pass_fd, cJSON **reply, struct eg_err *e)
{
	char path[4200];
	struct attempt a = {
		.path = path,
		.pass_fd = pass_fd,
		.check = r->cmd == EG_CTL_POLICY_LOAD ? "'edgeguard status'" :
							"'edgeguard bans' or 'edgeguard allow list'",
		.deadline_ms = eg_mono_ms() + EG_CTL_CLIENT_MS,
	};
	unsigned int backoff = BACKOFF_FIRST_MS;
	enum ctl_result res = CTL_FAILED;
	cJSON *resp = NULL;
	char *line, *text;
	int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", eg_run_dir(), EG_CTL_SOCK_NAME);
	if (eg_ctl_cmd_changes(r->cmd) && !r->id[0] && eg_ctl_new_id(r->id, e))
		return CTL_FAILED;
	if (eg_ctl_check_request(r, e))
		return CTL_FAILED;
	text = eg_ctl_format_request(r);
	line = text ? malloc(strlen(text) + 2) : NULL;
	if (!line) {
		free(text);
		eg_fail(e, "out of memory");
		return CTL_FAILED;
	}
	sprintf(line, "%s\n", text);
	free(text);

	for (;;) {
		enum answer ans = ANS_BUSY;

		switch (connect_daemon(&a, &fd, e)) {
		case CONN_NONE:
			res = CTL_NO_DAEMON;
			goto out;
		case CONN_FAILED:
			goto out;
		case CONN_BUSY:
			break;
		case CONN_OK:
			ans = exchange(&a, fd, line, &resp, e);
			close(fd);
			break;
		}
		if (ans == ANS_DONE) {
			res = judge(resp, r->id, path, e);
			if (res == CTL_DONE && reply) {
				*reply = resp;
				resp = NULL;
			}
			goto out;
		}
		if (ans == ANS_FAILED)
			goto out;
		if (ans == ANS_LOST && !a.sent) {
			/* Hung up before reading anything: as good as busy. */
			ans = ANS_BUSY;
		}
		if (ans == ANS_TIMEOUT || !ms_left(&a)) {
			if (a.sent)
				eg_fail(e, "the daemon on %s did not answer within %d s; the change may or may not have been made (request id %s): check with %s",
					path, EG_CTL_CLIENT_MS / 1000, r->id[0] ? r->id : "none", a.check);
			else
				eg_fail(e, "the daemon on %s stayed busy for %d s; nothing was changed: try again",
					path, EG_CTL_CLIENT_MS / 1000);
			goto out;
		}
		/* Busy, or lost after sending: again, same id, after a moment. */
		pause_ms(&a, &backoff);
	}
out:
	cJSON_Delete(resp);
	free(line);
	return res;
}

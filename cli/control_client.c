// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CLI's side of the control socket. No daemon is a normal state (the
 * maps are pinned and the CLI can change them itself), so only a daemon
 * that is there and says no is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "apply.h"
#include "cli.h"
#include "control_client.h"
#include "../daemon/control.h"

/*
 * Long enough for a daemon busy saving its state on a loaded machine, short
 * enough that a hung one costs little before the fallback.
 */
#define CTL_TIMEOUT_S 2
/* A list reply can be long; anything beyond this is not a reply of ours. */
#define CTL_MAX_REPLY (64U << 20)

static void say_fallback(const char *path, const char *why)
{
	if (cli_verbose)
		fprintf(stderr, "edgeguard: no daemon on %s (%s): using the pinned maps directly\n",
			path, why);
}

static int connect_daemon(const char *path, enum ctl_result *r, struct eg_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd, err;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path)) {
		say_fallback(path, "path too long for a socket");
		*r = CTL_NO_DAEMON;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*r = CTL_FAILED;
		eg_fail(e, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	/* The send timeout also bounds connect() to a daemon with a full backlog. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	err = errno;
	close(fd);
	if (err == EACCES || err == EPERM) {
		*r = CTL_FAILED;
		eg_fail(e, "cannot use the daemon's control socket %s: %s (run as root, or as a member of the daemon's --group)",
			path, strerror(err));
		return -1;
	}
	say_fallback(path, strerror(err));
	*r = CTL_NO_DAEMON;
	return -1;
}

static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline; NULL on timeout, close or error (errno says which). */
static char *read_line(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *p;
	ssize_t n;

	while (buf) {
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ECONNRESET;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - n, '\n', (size_t)n))
			return buf;
		if (len + 1 == cap) {
			if (cap >= CTL_MAX_REPLY)
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

enum ctl_result ctl_request(cJSON *req, cJSON **resp, struct eg_err *e)
{
	char path[4200];
	enum ctl_result r = CTL_NO_DAEMON;
	char *text, *line;
	int fd;

	*resp = NULL;
	snprintf(path, sizeof(path), "%s/%s", eg_run_dir(), EG_CONTROL_SOCK_NAME);
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text) {
		eg_fail(e, "out of memory");
		return CTL_FAILED;
	}
	fd = connect_daemon(path, &r, e);
	if (fd < 0) {
		free(text);
		return r;
	}
	/*
	 * A daemon that refuses us has already written why and hung up, so the
	 * request may fail to go out; its answer is still there to read.
	 */
	if (!send_all(fd, text, strlen(text)))
		send_all(fd, "\n", 1);
	free(text);
	line = read_line(fd);
	close(fd);
	if (!line) {
		say_fallback(path, errno == EAGAIN ? "no answer in time" : strerror(errno));
		return CTL_NO_DAEMON;
	}
	*resp = cJSON_Parse(line);
	free(line);
	if (!cJSON_IsObject(*resp)) {
		cJSON_Delete(*resp);
		*resp = NULL;
		eg_fail(e, "the daemon on %s sent an answer that is not JSON", path);
		return CTL_FAILED;
	}
	return CTL_DONE;
}

enum ctl_result ctl_do(cJSON *req, struct eg_err *e)
{
	const cJSON *ok, *err, *refused;
	enum ctl_result r;
	cJSON *resp;

	r = ctl_request(req, &resp, e);
	if (r != CTL_DONE)
		return r;
	ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
	err = cJSON_GetObjectItemCaseSensitive(resp, "error");
	refused = cJSON_GetObjectItemCaseSensitive(resp, "refused");
	if (!cJSON_IsTrue(ok)) {
		r = CTL_FAILED;
		if (cJSON_IsTrue(refused))
			eg_fail(e, "the daemon refused the request: %s",
				cJSON_IsString(err) ? err->valuestring : "no reason given");
		else
			eg_fail(e, "%s", cJSON_IsString(err) ? err->valuestring : "the daemon failed");
	}
	cJSON_Delete(resp);
	return r;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control socket (protocol in control.h). Requests go through the same
 * library calls the CLI uses on the maps directly, so both paths leave the
 * maps in the same state; the daemon adds an event line and a prompt save.
 *
 * Access is decided twice: the socket file's mode keeps strangers from
 * connecting at all, and SO_PEERCRED on every connection holds even when the
 * file or its directory were opened up by mistake.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "apply.h"
#include "control.h"
#include "events.h"
#include "lists.h"
#include "pins.h"

#define MAX_CLIENTS 16
/* A client that stalls a reply this long is dropped: the daemon has other work. */
#define SEND_TIMEOUT_S 2
#define LISTENER_ID UINT32_MAX

struct client {
	int fd; /* -1: free slot */
	struct ucred cred;
	size_t len;
	char buf[EG_CONTROL_MAX_REQUEST + 1];
};

struct control {
	const struct eg_maps *maps;
	int listen_fd;
	int epfd;
	bool has_group;
	gid_t gid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound; /* the socket file is ours to remove */
	bool changed;
	struct client clients[MAX_CLIENTS];
};

/* ---- replies ---- */

static void drop_client(struct control *c, struct client *cl)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

/* Sends one line and frees o. A client that cannot take it is dropped. */
static int send_line(int fd, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	size_t len, off = 0;
	ssize_t n;
	int rc = 0;

	cJSON_Delete(o);
	if (!text)
		return -1;
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: the line is sent by length */
	while (off < len + 1) {
		n = send(fd, text + off, len + 1 - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	return rc;
}

static cJSON *reply_ok(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

static cJSON *reply_err(const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", msg);
	return o;
}

/* ---- access ---- */

static bool in_group(const struct control *c, int fd, const struct ucred *cred)
{
	gid_t *groups;
	socklen_t len = 0;
	bool found = false;

	if (!c->has_group)
		return false;
	if (cred->gid == c->gid)
		return true;
	/* The supplementary groups the peer had when it connected. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) && errno != ERANGE)
		return false;
	if (!len)
		return false;
	groups = malloc(len);
	if (!groups)
		return false;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		for (size_t i = 0; i < len / sizeof(*groups); i++)
			found = found || groups[i] == c->gid;
	free(groups);
	return found;
}

static void refuse(int fd, const struct ucred *cred, const char *why)
{
	cJSON *o = reply_err(why);
	cJSON *ev = ev_new("control_refused");

	cJSON_AddBoolToObject(o, "refused", true);
	send_line(fd, o);
	cJSON_AddNumberToObject(ev, "peer_uid", cred->uid);
	cJSON_AddNumberToObject(ev, "peer_gid", cred->gid);
	cJSON_AddNumberToObject(ev, "peer_pid", cred->pid);
	cJSON_AddStringToObject(ev, "error", why);
	ev_emit(ev);
	close(fd);
}

static void accept_one(struct control *c, int fd)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len = sizeof(struct ucred);
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	char why[128];
	int i;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		refuse(fd, &cred, "cannot tell who is asking (SO_PEERCRED failed)");
		return;
	}
	if (cred.uid != 0 && !in_group(c, fd, &cred)) {
		snprintf(why, sizeof(why), "permission denied: uid %u is not root%s", cred.uid,
			 c->has_group ? " and not in the daemon's --group" : "");
		refuse(fd, &cred, why);
		return;
	}
	for (i = 0; i < MAX_CLIENTS && c->clients[i].fd >= 0; i++)
		;
	if (i == MAX_CLIENTS) {
		send_line(fd, reply_err("too many control connections; try again"));
		close(fd);
		return;
	}
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return;
	}
	c->clients[i].fd = fd;
	c->clients[i].cred = cred;
	c->clients[i].len = 0;
}

static void accept_all(struct control *c)
{
	int fd;

	/* Bounded: the backlog is, and each pass takes one connection off it. */
	for (int n = 0; n < 64; n++) {
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		accept_one(c, fd);
	}
}

/* ---- requests ---- */

static void add_peer(cJSON *ev, const struct client *cl)
{
	cJSON_AddNumberToObject(ev, "peer_uid", cl->cred.uid);
	cJSON_AddNumberToObject(ev, "peer_pid", cl->cred.pid);
}

/* The request's "cidr"; on failure *reply holds the error. */
static int req_cidr(const cJSON *req, struct eg_lpm_key *k, cJSON **reply)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "cidr");
	struct eg_err e = { "" };

	if (!cJSON_IsString(v)) {
		*reply = reply_err("\"cidr\" is missing or not a string");
		return -1;
	}
	if (eg_parse_cidr(v->valuestring, k, &e)) {
		*reply = reply_err(e.msg);
		return -1;
	}
	return 0;
}

static cJSON *do_ban(struct control *c, const struct client *cl, const cJSON *req)
{
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(req, "ttl");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(req, "reason");
	const char *text = NULL;
	struct eg_err e = { "" };
	struct eg_lpm_key k;
	uint32_t ttl_s = 0;
	cJSON *reply, *ev;

	if (req_cidr(req, &k, &reply))
		return reply;
	if (ttl && !cJSON_IsNull(ttl)) {
		if (!cJSON_IsNumber(ttl) || ttl->valuedouble < 0 ||
		    ttl->valuedouble > (double)EG_CONTROL_MAX_TTL ||
		    ttl->valuedouble != floor(ttl->valuedouble))
			return reply_err("\"ttl\" must be a whole number of seconds, 0 to ten years");
		ttl_s = (uint32_t)ttl->valuedouble;
	}
	if (reason && !cJSON_IsNull(reason)) {
		if (!cJSON_IsString(reason))
			return reply_err("\"reason\" must be a string");
		text = reason->valuestring;
	}
	if (eg_ban_add(c->maps, &k, ttl_s, EG_ORIGIN_MANUAL, text, &e))
		return reply_err(e.msg);
	c->changed = true;
	ev = ev_new("ban");
	ev_add_source(ev, &k);
	cJSON_AddStringToObject(ev, "origin", eg_origin_name(EG_ORIGIN_MANUAL));
	cJSON_AddNumberToObject(ev, "ttl", ttl_s);
	if (text && *text)
		cJSON_AddStringToObject(ev, "reason", text);
	else
		cJSON_AddNullToObject(ev, "reason");
	add_peer(ev, cl);
	ev_emit(ev);
	return reply_ok();
}

static cJSON *do_unban(struct control *c, const struct client *cl, const cJSON *req)
{
	struct eg_err e = { "" };
	struct eg_lpm_key k;
	cJSON *reply, *ev;

	if (req_cidr(req, &k, &reply))
		return reply;
	if (eg_ban_del(c->maps, &k, &e))
		return reply_err(e.msg);
	c->changed = true;
	ev = ev_new("unban");
	ev_add_source(ev, &k);
	cJSON_AddStringToObject(ev, "origin", eg_origin_name(EG_ORIGIN_MANUAL));
	add_peer(ev, cl);
	ev_emit(ev);
	return reply_ok();
}

static cJSON *do_allow(struct control *c, const struct client *cl, const cJSON *req, bool add)
{
	struct eg_err e = { "" };
	struct eg_lpm_key k;
	cJSON *reply, *ev;

	if (req_cidr(req, &k, &reply))
		return reply;
	if (add ? eg_allow_add(c->maps, &k, &e) : eg_allow_del(c->maps, &k, &e))
		return reply_err(e.msg);
	c->changed = true;
	ev = ev_new(add ? "allow_add" : "allow_del");
	ev_add_source(ev, &k);
	add_peer(ev, cl);
	ev_emit(ev);
	return reply_ok();
}

struct ban_list {
	uint64_t now;
	cJSON *arr;
};

/* The same fields as `edgeguard bans --json`. */
static int list_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct ban_list *l = ctx;
	char cidr[EG_CIDR_STRLEN], why[EG_BAN_REASON_LEN + 32];
	cJSON *o;

	if (b->ban.expires_ns && b->ban.expires_ns <= l->now)
		return 0;
	o = cJSON_CreateObject();
	eg_format_cidr(&b->key, cidr, sizeof(cidr));
	cJSON_AddStringToObject(o, "address", cidr);
	if (b->ban.expires_ns)
		cJSON_AddNumberToObject(o, "expires_in",
					(double)((b->ban.expires_ns - l->now + 999999999ULL) / 1000000000ULL));
	else
		cJSON_AddNullToObject(o, "expires_in");
	cJSON_AddBoolToObject(o, "permanent", !b->ban.expires_ns);
	cJSON_AddStringToObject(o, "origin", eg_origin_name(b->ban.origin));
	if (b->ban.origin == EG_ORIGIN_AUTO) {
		cJSON_AddStringToObject(o, "trigger", eg_reason_name(b->ban.trigger));
		cJSON_AddNumberToObject(o, "policy", b->ban.policy);
		snprintf(why, sizeof(why), "auto: %s", eg_reason_name(b->ban.trigger));
		cJSON_AddStringToObject(o, "reason", why);
	} else if (b->reason[0]) {
		cJSON_AddStringToObject(o, "reason", b->reason);
	} else {
		cJSON_AddNullToObject(o, "reason");
	}
	cJSON_AddItemToArray(l->arr, o);
	return 0;
}

static int list_allow(const struct eg_allow_entry *a, void *ctx)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(&a->key, cidr, sizeof(cidr));
	cJSON_AddItemToArray(ctx, cJSON_CreateString(cidr));
	return 0;
}

static cJSON *do_list(struct control *c, bool bans)
{
	struct ban_list l = { .now = eg_now_ns(), .arr = cJSON_CreateArray() };
	struct eg_err e = { "" };
	cJSON *reply;
	int rc;

	rc = bans ? eg_ban_foreach(c->maps, list_ban, &l, &e) :
		    eg_allow_foreach(c->maps, list_allow, l.arr, &e);
	if (rc) {
		cJSON_Delete(l.arr);
		return reply_err(e.msg[0] ? e.msg : "cannot walk the list");
	}
	reply = reply_ok();
	cJSON_AddItemToObject(reply, bans ? "bans" : "allows", l.arr);
	return reply;
}

static cJSON *do_status(void)
{
	cJSON *reply = reply_ok();

	cJSON_AddNumberToObject(reply, "pid", getpid());
	cJSON_AddStringToObject(reply, "maps", eg_pin_dir());
	return reply;
}

static cJSON *handle(struct control *c, const struct client *cl, const char *line, size_t len)
{
	const cJSON *cmd;
	cJSON *req = cJSON_ParseWithLength(line, len), *reply;
	const char *name;

	if (!cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return reply_err("a request is one JSON object on one line");
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	name = cJSON_IsString(cmd) ? cmd->valuestring : "";
	if (!strcmp(name, "ban"))
		reply = do_ban(c, cl, req);
	else if (!strcmp(name, "unban"))
		reply = do_unban(c, cl, req);
	else if (!strcmp(name, "allow_add") || !strcmp(name, "allow_del"))
		reply = do_allow(c, cl, req, name[6] == 'a');
	else if (!strcmp(name, "bans") || !strcmp(name, "allows"))
		reply = do_list(c, name[0] == 'b');
	else if (!strcmp(name, "status") || !strcmp(name, "ping"))
		reply = do_status();
	else
		reply = reply_err("unknown \"cmd\" (ban, unban, bans, allow_add, allow_del, allows, status, ping)");
	cJSON_Delete(req);
	return reply;
}

/* Answers every complete line in the client's buffer; false when it was dropped. */
static bool serve_lines(struct control *c, struct client *cl)
{
	char *nl;
	size_t used;

	while ((nl = memchr(cl->buf, '\n', cl->len))) {
		used = (size_t)(nl - cl->buf) + 1;
		if (send_line(cl->fd, handle(c, cl, cl->buf, used - 1))) {
			drop_client(c, cl);
			return false;
		}
		memmove(cl->buf, cl->buf + used, cl->len - used);
		cl->len -= used;
	}
	return true;
}

static void read_client(struct control *c, struct client *cl)
{
	ssize_t n = recv(cl->fd, cl->buf + cl->len, EG_CONTROL_MAX_REQUEST - cl->len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(c, cl);
		return;
	}
	cl->len += (size_t)n;
	if (!serve_lines(c, cl))
		return;
	if (cl->len == EG_CONTROL_MAX_REQUEST) {
		send_line(cl->fd, reply_err("request line too long"));
		drop_client(c, cl);
	}
}

bool control_service(struct control *c)
{
	struct epoll_event evs[MAX_CLIENTS + 1];
	bool changed;
	int n;

	n = epoll_wait(c->epfd, evs, MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;

		if (id == LISTENER_ID)
			accept_all(c);
		else if (id < MAX_CLIENTS && c->clients[id].fd >= 0)
			read_client(c, &c->clients[id]);
	}
	changed = c->changed;
	c->changed = false;
	return changed;
}

int control_fd(const struct control *c)
{
	return c->epfd;
}

/* ---- setup ---- */

static int resolve_group(const char *name, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	g = getgrnam(name);
	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (!*name || *end || errno || v >= (gid_t)-1)
		return daemon_fail(-1, "--group %s: no such group", name);
	*gid = (gid_t)v;
	return 0;
}

/*
 * A socket file left by a daemon that crashed is replaced; one that still
 * answers belongs to a live daemon, and two daemons on one set of maps
 * would fight over the state file.
 */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return daemon_fail(-1, "socket: %s", strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!rc || errno == EAGAIN)
		return daemon_fail(-1, "another edgeguardd answers on %s; stop it first", path);
	if (unlink(path) && errno != ENOENT)
		return daemon_fail(-1, "cannot remove the stale socket %s: %s", path, strerror(errno));
	return 0;
}

/* The run directory must let the group reach the socket; only ever opened up that far. */
static int prepare_run_dir(const char *dir, bool group)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return daemon_fail(-1, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st))
		return daemon_fail(-1, "cannot stat %s: %s", dir, strerror(errno));
	if (group && (st.st_mode & 0011) != 0011 && chmod(dir, (st.st_mode & 07777) | 0011))
		return daemon_fail(-1, "cannot open %s up to the control group: %s", dir, strerror(errno));
	return 0;
}

static int make_listener(struct control *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int rc;

	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0)
		return daemon_fail(-1, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	/* Born 0600: no moment in which someone else could connect. */
	old = umask(0177);
	rc = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc)
		return daemon_fail(-1, "cannot bind %s: %s", c->path, strerror(errno));
	c->bound = true;
	if (c->has_group && (chown(c->path, (uid_t)-1, c->gid) || chmod(c->path, 0660)))
		return daemon_fail(-1, "cannot give %s to the control group: %s", c->path, strerror(errno));
	if (listen(c->listen_fd, 16))
		return daemon_fail(-1, "cannot listen on %s: %s", c->path, strerror(errno));
	return 0;
}

struct control *control_open(const struct eg_maps *maps, const char *group)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER_ID };
	struct control *c = calloc(1, sizeof(*c));
	const char *dir = eg_run_dir();

	if (!c) {
		daemon_fail(-1, "out of memory");
		return NULL;
	}
	c->maps = maps;
	c->listen_fd = -1;
	c->epfd = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	if (group && resolve_group(group, &c->gid))
		goto fail;
	c->has_group = group != NULL;
	if (snprintf(c->path, sizeof(c->path), "%s/%s", dir, EG_CONTROL_SOCK_NAME) >=
	    (int)sizeof(c->path)) {
		daemon_fail(-1, "the control socket path under %s is too long", dir);
		goto fail;
	}
	if (prepare_run_dir(dir, c->has_group) || clear_stale(c->path) || make_listener(c))
		goto fail;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev)) {
		daemon_fail(-1, "epoll: %s", strerror(errno));
		goto fail;
	}
	return c;
fail:
	control_close(c);
	return NULL;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			close(c->clients[i].fd);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->bound)
		unlink(c->path);
	free(c);
}

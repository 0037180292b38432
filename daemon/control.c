// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control socket (protocol in user/control/control_proto.h). Requests go through
 * the same library calls the CLI uses on the maps directly, so both paths
 * leave the maps in the same state; the daemon adds an event line and a
 * prompt save.
 *
 * Access is decided twice: the socket file's mode keeps strangers from
 * connecting at all, and SO_PEERCRED on every connection holds even when the
 * file or its directory were opened up by mistake.
 *
 * Nothing here blocks: sockets are non-blocking, each client has its own
 * input line and output buffer, and deadlines (control_proto.h) end the
 * connections that stall. While a reply waits to be taken, that client's
 * further requests wait too, so one client holds at most one reply.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "bulk.h"
#include "paths.h"
#include "control.h"
#include "events.h"
#include "fleet.h"
#include "lists.h"
#include "pins.h"

#define LISTENER_ID UINT32_MAX
/* All replies waiting to be taken, together; past it a long listing is answered "busy". */
#define MAX_QUEUED_BYTES (128U << 20)

struct client {
	int fd; /* -1: free slot */
	struct ucred cred;
	uint64_t connected_ms;
	uint64_t deadline_ms; /* for the next request line, or for taking the reply in out */
	bool eof;             /* the peer is done sending: answer what came, then close */
	bool close_after;     /* close once out is sent */
	uint32_t watching;    /* the epoll events registered */
	char *out;            /* the reply being sent, with its newline; NULL: none */
	size_t out_len, out_off;
	int passed_fd; /* a descriptor that came with the input (SCM_RIGHTS); -1: none */
	size_t in_len;
	char in[EG_CTL_MAX_REQUEST + 1];
};

/* A change's reply, for a request sent again with the same id. */
struct memo {
	uid_t uid;
	uint64_t hash;
	char id[EG_CTL_ID_LEN + 1];
	char *reply; /* JSON text, no newline; NULL: empty slot */
};

struct control {
	const struct eg_maps *maps;
	struct control_hooks hooks;
	int listen_fd;
	int epfd;
	bool has_group;
	gid_t gid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound; /* the socket file is ours to remove */
	bool changed;
	size_t queued; /* bytes in every client's out */
	struct client clients[EG_CTL_MAX_CLIENTS];
	struct memo memos[EG_CTL_REMEMBERED];
	unsigned int memo_next;
};


/* ---- connections ---- */

static void add_peer(cJSON *ev, const struct ucred *cred)
{
	cJSON_AddNumberToObject(ev, "peer_uid", cred->uid);
	cJSON_AddNumberToObject(ev, "peer_pid", cred->pid);
}

/* Closes a client; why (when not NULL) goes into a control_dropped event. */
static void drop_client(struct control *c, struct client *cl, const char *why)
{
	if (why) {
		cJSON *ev = ev_new("control_dropped");

		add_peer(ev, &cl->cred);
		cJSON_AddStringToObject(ev, "error", why);
		ev_emit(ev);
	}
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->passed_fd >= 0)
		close(cl->passed_fd);
	c->queued -= cl->out_len;
	free(cl->out);
	memset(cl, 0, offsetof(struct client, in));
	cl->fd = -1;
	cl->passed_fd = -1;
}

static void watch(struct control *c, struct client *cl, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(cl - c->clients) };

	if (cl->watching == events)
		return;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev)) {
		drop_client(c, cl, "cannot watch the connection");
		return;
	}
	cl->watching = events;
}

/* One line to a socket we will not wait for (refusals): all of it or nothing. */
static void send_now(int fd, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	size_t len;

	cJSON_Delete(o);
	if (!text)
		return;
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: sent by length */
	(void)!send(fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(text);
}

/*
 * Puts o (freed here) as the client's reply. A reply too large for what is
 * already queued becomes a short "busy" one: memory stays bounded.
 */
static void queue_reply(struct control *c, struct client *cl, cJSON *o, uint64_t now)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	size_t len;

	cJSON_Delete(o);
	if (text && strlen(text) + 1 > MAX_QUEUED_BYTES - c->queued) {
		free(text);
		o = eg_ctl_reply_new(false, NULL, "busy: too many replies waiting to be read; try again");
		cJSON_AddBoolToObject(o, EG_CTL_F_BUSY, true);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	if (!text) {
		cl->close_after = true; /* out of memory: nothing sensible to say */
		text = strdup("");
		if (!text) {
			drop_client(c, cl, "out of memory");
			return;
		}
	}
	len = strlen(text);
	text[len] = '\n';
	cl->out = text;
	cl->out_len = len + 1;
	cl->out_off = 0;
	cl->deadline_ms = now + EG_CTL_REPLY_MS;
	c->queued += cl->out_len;
}

/* 1: the reply is out; 0: the socket is full for now; -1: the client is gone. */
static int flush(struct control *c, struct client *cl)
{
	ssize_t n;

	while (cl->out_off < cl->out_len) {
		n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		cl->out_off += (size_t)n;
	}
	c->queued -= cl->out_len;
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return 1;
}

/* ---- requests ---- */

static struct memo *memo_find(struct control *c, uid_t uid, const char *id)
{
	for (unsigned int i = 0; i < EG_CTL_REMEMBERED; i++)
		if (c->memos[i].reply && c->memos[i].uid == uid && !strcmp(c->memos[i].id, id))
			return &c->memos[i];
	return NULL;
}

static void memo_store(struct control *c, uid_t uid, const struct eg_ctl_request *r,
		       const cJSON *reply)
{
	struct memo *m = &c->memos[c->memo_next];
	char *text = cJSON_PrintUnformatted(reply);

	if (!text)
		return; /* a repeat would be applied again: no worse than before ids */
	free(m->reply);
	m->reply = text;
	m->uid = uid;
	m->hash = eg_ctl_request_hash(r);
	memcpy(m->id, r->id, sizeof(m->id));
	c->memo_next = (c->memo_next + 1) % EG_CTL_REMEMBERED;
}

static cJSON *reply_ok(const struct eg_ctl_request *r)
{
	return eg_ctl_reply_new(true, r->id, NULL);
}

static cJSON *reply_err(const struct eg_ctl_request *r, const char *msg)
{
	return eg_ctl_reply_new(false, r->id, msg);
}

static cJSON *do_ban(struct control *c, const struct client *cl, const struct eg_ctl_request *r)
{
	const char *outcome = NULL;
	struct eg_err e = { 0 };
	cJSON *ev;

	/* An importer's ban merges: it never shortens a ban that is there (bulk.h). */
	if (r->origin == EG_ORIGIN_MANUAL ?
		    eg_ban_add(c->maps, &r->key, r->ttl_s, EG_ORIGIN_MANUAL, r->reason, &e) :
		    eg_ban_merge(c->maps, &r->key, r->ttl_s, r->origin, r->reason, &outcome, &e))
		return reply_err(r, e.msg);
	c->changed = true;
	ev = ev_new("ban");
	ev_add_source(ev, &r->key);
	cJSON_AddStringToObject(ev, "origin", eg_origin_name(r->origin));
	if (outcome)
		cJSON_AddStringToObject(ev, "outcome", outcome);
	cJSON_AddNumberToObject(ev, "ttl", r->ttl_s);
	if (r->reason[0])
		cJSON_AddStringToObject(ev, "reason", r->reason);
	else
		cJSON_AddNullToObject(ev, "reason");
	add_peer(ev, &cl->cred);
	ev_emit(ev);
	fleet_publish_ban(&r->key, r->ttl_s, r->reason, EG_ORIGIN_MANUAL, EG_R_MAX);
	return reply_ok(r);
}

static cJSON *do_unban(struct control *c, const struct client *cl, const struct eg_ctl_request *r)
{
	struct eg_err e = { 0 };
	cJSON *ev;

	if (r->has_origin ? eg_ban_del_origin(c->maps, &r->key, r->origin, &e) :
			    eg_ban_del(c->maps, &r->key, &e))
		return reply_err(r, e.msg);
	c->changed = true;
	ev = ev_new("unban");
	ev_add_source(ev, &r->key);
	cJSON_AddStringToObject(ev, "origin", eg_origin_name(r->origin));
	add_peer(ev, &cl->cred);
	ev_emit(ev);
	fleet_publish_unban(&r->key);
	return reply_ok(r);
}

static cJSON *do_allow(struct control *c, const struct client *cl, const struct eg_ctl_request *r)
{
	bool add = r->cmd == EG_CTL_ALLOW_ADD;
	struct eg_err e = { 0 };
	struct eg_allow cur;
	bool had = eg_allow_get(c->maps, &r->key, &cur) == 1;
	/* Re-added without --fleet, a fleet-wide allow stays so: del removes it everywhere. */
	bool fleet = add && (r->fleet || (had && cur.fleet && cur.origin != EG_ORIGIN_FLEET));
	/* Removing a fleet-wide allow, or one from the fleet, removes it everywhere. */
	bool shared = !add && had && (cur.fleet || cur.origin == EG_ORIGIN_FLEET);
	cJSON *ev;

	if (r->fleet && !fleet_publishing())
		return reply_err(r, "a fleet-wide allow needs edgeguardd in a fleet that publishes (--redis or --redis-sentinel, without --fleet-no-publish)");
	if (r->fleet && eg_key_plen(&r->key) == 0)
		return reply_err(r, "a fleet-wide allow of every address (/0) is refused: it would lift every ban and limit on every host");
	if (add ? eg_allow_put(c->maps, &r->key, EG_ORIGIN_MANUAL, fleet, &e) :
		  eg_allow_del(c->maps, &r->key, &e))
		return reply_err(r, e.msg);
	c->changed = true;
	ev = ev_new(eg_ctl_cmd_name(r->cmd));
	ev_add_source(ev, &r->key);
	if (fleet || shared)
		cJSON_AddTrueToObject(ev, "fleet");
	add_peer(ev, &cl->cred);
	ev_emit(ev);
	if (fleet)
		fleet_publish_allow(&r->key);
	if (shared)
		fleet_publish_unallow(&r->key);
	return reply_ok(r);
}

/* The CLI changed many entries on the maps itself: log it and save at once. */
static cJSON *do_bulk(struct control *c, const struct client *cl, const struct eg_ctl_request *r)
{
	cJSON *ev = ev_new("bulk");

	c->changed = true;
	cJSON_AddStringToObject(ev, "summary", r->summary);
	add_peer(ev, &cl->cred);
	ev_emit(ev);
	return reply_ok(r);
}

static cJSON *do_status(const struct eg_ctl_request *r)
{
	cJSON *reply = reply_ok(r);

	cJSON_AddNumberToObject(reply, "pid", getpid());
	cJSON_AddStringToObject(reply, "maps", eg_pin_dir());
	return reply;
}

/* A change sent again with an id we answered: the same answer, nothing done twice. */
static cJSON *replay(const struct memo *m, const struct eg_ctl_request *r)
{
	cJSON *reply;

	if (m->hash != eg_ctl_request_hash(r))
		return reply_err(r, "this \"id\" was already used for a different request");
	reply = cJSON_Parse(m->reply);
	if (reply)
		cJSON_AddBoolToObject(reply, EG_CTL_F_REPLAYED, true);
	return reply;
}

/* The descriptor that came with the request, now the caller's; -1 when none did. */
static int take_fd(struct client *cl)
{
	int fd = cl->passed_fd;

	cl->passed_fd = -1;
	return fd;
}

static cJSON *do_policy_load(struct control *c, struct client *cl, const struct eg_ctl_request *r)
{
	bool changed = false;
	int fd = take_fd(cl);
	cJSON *reply;

	if (fd < 0)
		return reply_err(r, "policy_load needs the policy file's descriptor, passed with the request (SCM_RIGHTS)");
	if (!c->hooks.policy_load) {
		close(fd);
		return reply_err(r, "this daemon does not load policies");
	}
	reply = c->hooks.policy_load(c->hooks.ctx, r, fd, &cl->cred, &changed);
	c->changed = c->changed || changed;
	return reply;
}

static cJSON *handle(struct control *c, struct client *cl, const char *line, size_t len)
{
	struct eg_ctl_request r;
	struct eg_err e = { 0 };
	const struct memo *m;
	cJSON *reply;
	bool remember;
	int fd;

	if (eg_ctl_parse_request(line, len, &r, &e))
		return reply_err(&r, e.msg);
	/* A descriptor is for a policy_load only, and only for the one it came with. */
	if (r.cmd != EG_CTL_POLICY_LOAD && (fd = take_fd(cl)) >= 0)
		close(fd);
	remember = eg_ctl_cmd_changes(r.cmd) && r.id[0];
	if (remember && (m = memo_find(c, cl->cred.uid, r.id))) {
		if ((fd = take_fd(cl)) >= 0)
			close(fd);
		return replay(m, &r);
	}
	switch (r.cmd) {
	case EG_CTL_BAN:
		reply = do_ban(c, cl, &r);
		break;
	case EG_CTL_UNBAN:
		reply = do_unban(c, cl, &r);
		break;
	case EG_CTL_ALLOW_ADD:
	case EG_CTL_ALLOW_DEL:
		reply = do_allow(c, cl, &r);
		break;
	case EG_CTL_BULK:
		reply = do_bulk(c, cl, &r);
		break;
	case EG_CTL_POLICY_LOAD:
		reply = do_policy_load(c, cl, &r);
		break;
	default:
		reply = do_status(&r);
		break;
	}
	if (remember && reply)
		memo_store(c, cl->cred.uid, &r, reply);
	return reply;
}

/*
 * Moves a client along as far as it can go now: sends what is queued,
 * answers the next complete line, and waits for whichever of input or
 * output comes next.
 */
static void pump(struct control *c, struct client *cl, uint64_t now)
{
	char *nl;
	size_t used;
	int rc;

	for (;;) {
		if (cl->out) {
			rc = flush(c, cl);
			if (rc < 0) {
				drop_client(c, cl, NULL);
				return;
			}
			if (rc == 0) {
				watch(c, cl, EPOLLOUT);
				return;
			}
			if (cl->close_after) {
				drop_client(c, cl, NULL);
				return;
			}
			cl->deadline_ms = now + EG_CTL_REQUEST_MS;
		}
		nl = memchr(cl->in, '\n', cl->in_len);
		if (nl) {
			used = (size_t)(nl - cl->in) + 1;
			queue_reply(c, cl, handle(c, cl, cl->in, used - 1), now);
			if (cl->fd < 0)
				return;
			memmove(cl->in, cl->in + used, cl->in_len - used);
			cl->in_len -= used;
			continue;
		}
		if (cl->in_len >= EG_CTL_MAX_REQUEST) {
			queue_reply(c, cl, eg_ctl_reply_new(false, NULL, "request line too long"), now);
			if (cl->fd < 0)
				return;
			cl->close_after = true;
			cl->in_len = 0;
			continue;
		}
		if (cl->eof) {
			drop_client(c, cl, NULL);
			return;
		}
		watch(c, cl, EPOLLIN);
		return;
	}
}

/*
 * recv that also takes the descriptors passed with the bytes: the first is
 * kept for the request (replacing one kept before), the rest closed.
 */
static ssize_t recv_fds(struct client *cl, char *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(cl->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (i == 0 && fd >= 0) {
				if (cl->passed_fd >= 0)
					close(cl->passed_fd);
				cl->passed_fd = fd;
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
	return n;
}

static void read_client(struct control *c, struct client *cl, uint64_t now)
{
	ssize_t n;

	if (cl->out) {
		pump(c, cl, now); /* woken for output */
		return;
	}
	n = recv_fds(cl, cl->in + cl->in_len, EG_CTL_MAX_REQUEST - cl->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		drop_client(c, cl, NULL);
		return;
	}
	if (n == 0)
		cl->eof = true;
	cl->in_len += (size_t)n;
	pump(c, cl, now);
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
	cJSON *o = eg_ctl_reply_new(false, NULL, why);
	cJSON *ev = ev_new("control_refused");

	cJSON_AddBoolToObject(o, EG_CTL_F_REFUSED, true);
	send_now(fd, o);
	cJSON_AddNumberToObject(ev, "peer_uid", cred->uid);
	cJSON_AddNumberToObject(ev, "peer_gid", cred->gid);
	cJSON_AddNumberToObject(ev, "peer_pid", cred->pid);
	cJSON_AddStringToObject(ev, "error", why);
	ev_emit(ev);
	close(fd);
}

/* No room for this connection now: the client tries again in a moment. */
static void busy(int fd, const char *why)
{
	cJSON *o = eg_ctl_reply_new(false, NULL, why);

	cJSON_AddBoolToObject(o, EG_CTL_F_BUSY, true);
	send_now(fd, o);
	close(fd);
}

/*
 * A slot for a new connection of uid, or -1 (after telling the peer why).
 * Root always gets one: there is room kept for it, and failing that the
 * oldest connection gives its place.
 */
static int pick_slot(struct control *c, int fd, uid_t uid)
{
	unsigned int others = 0, same = 0;
	int free_slot = -1, oldest_other = -1, oldest_root = -1, *oldest;

	for (int i = 0; i < EG_CTL_MAX_CLIENTS; i++) {
		const struct client *cl = &c->clients[i];

		if (cl->fd < 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		others += cl->cred.uid != 0;
		same += cl->cred.uid == uid;
		oldest = cl->cred.uid ? &oldest_other : &oldest_root;
		if (*oldest < 0 || cl->connected_ms < c->clients[*oldest].connected_ms)
			*oldest = i;
	}
	if (uid != 0) {
		if (same >= EG_CTL_MAX_PER_UID) {
			busy(fd, "too many control connections of this user; try again");
			return -1;
		}
		if (others >= EG_CTL_MAX_OTHERS || free_slot < 0) {
			busy(fd, "too many control connections; try again");
			return -1;
		}
		return free_slot;
	}
	if (free_slot >= 0)
		return free_slot;
	free_slot = oldest_other >= 0 ? oldest_other : oldest_root;
	drop_client(c, &c->clients[free_slot], "closed to make room for root");
	return free_slot;
}

static void accept_one(struct control *c, int fd, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len = sizeof(struct ucred);
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct client *cl;
	char why[128];
	int i;

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
	i = pick_slot(c, fd, cred.uid);
	if (i < 0)
		return;
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return;
	}
	cl = &c->clients[i];
	memset(cl, 0, offsetof(struct client, in));
	cl->passed_fd = -1;
	cl->fd = fd;
	cl->cred = cred;
	cl->connected_ms = now;
	cl->deadline_ms = now + EG_CTL_REQUEST_MS;
	cl->watching = EPOLLIN;
}

static void accept_all(struct control *c, uint64_t now)
{
	int fd;

	/* Bounded: the backlog is, and each pass takes one connection off it. */
	for (int n = 0; n < 64; n++) {
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		accept_one(c, fd, now);
	}
}

/* ---- the loop's side ---- */

static void expire(struct control *c, uint64_t now)
{
	for (int i = 0; i < EG_CTL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->fd >= 0 && now >= cl->deadline_ms)
			drop_client(c, cl, cl->out ? "the reply was not read in time" :
						     "no complete request in time");
	}
}

bool control_service(struct control *c)
{
	struct epoll_event evs[EG_CTL_MAX_CLIENTS + 1];
	uint64_t now = eg_mono_ms();
	bool changed;
	int n;

	n = epoll_wait(c->epfd, evs, EG_CTL_MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;

		if (id == LISTENER_ID)
			accept_all(c, now);
		else if (id < EG_CTL_MAX_CLIENTS && c->clients[id].fd >= 0)
			read_client(c, &c->clients[id], now);
	}
	expire(c, eg_mono_ms());
	changed = c->changed;
	c->changed = false;
	return changed;
}

int control_timeout_ms(const struct control *c)
{
	uint64_t now = eg_mono_ms(), next = UINT64_MAX;

	for (int i = 0; i < EG_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0 && c->clients[i].deadline_ms < next)
			next = c->clients[i].deadline_ms;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

bool control_group(const struct control *c, gid_t *gid)
{
	*gid = c->gid;
	return c->has_group;
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
 * A socket file left by a daemon that crashed is replaced. The caller holds
 * the run directory's lock, so no live daemon can be behind it.
 */
static int clear_stale(const char *path)
{
	if (unlink(path) && errno != ENOENT)
		return daemon_fail(-1, "cannot remove the stale socket %s: %s", path, strerror(errno));
	return 0;
}

/* The run directory must let the group reach the socket; only ever opened up that far. */
static int prepare_run_dir(const char *dir, bool group)
{
	struct stat st;

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
	if (listen(c->listen_fd, 64))
		return daemon_fail(-1, "cannot listen on %s: %s", c->path, strerror(errno));
	return 0;
}

struct control *control_open(const struct eg_maps *maps, const char *group,
			     const struct control_hooks *hooks)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER_ID };
	struct control *c = calloc(1, sizeof(*c));
	const char *dir = eg_run_dir();

	if (!c) {
		daemon_fail(-1, "out of memory");
		return NULL;
	}
	c->maps = maps;
	if (hooks)
		c->hooks = *hooks;
	c->listen_fd = -1;
	c->epfd = -1;
	for (int i = 0; i < EG_CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = c->clients[i].passed_fd = -1;
	if (group && resolve_group(group, &c->gid))
		goto fail;
	c->has_group = group != NULL;
	if (snprintf(c->path, sizeof(c->path), "%s/%s", dir, EG_CTL_SOCK_NAME) >=
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
	for (int i = 0; i < EG_CTL_MAX_CLIENTS; i++) {
		if (c->clients[i].fd >= 0)
			close(c->clients[i].fd);
		if (c->clients[i].passed_fd >= 0)
			close(c->clients[i].passed_fd);
		free(c->clients[i].out);
	}
	for (int i = 0; i < EG_CTL_REMEMBERED; i++)
		free(c->memos[i].reply);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->bound)
		unlink(c->path);
	free(c);
}

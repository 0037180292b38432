// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fleet (fleet.h): a Redis thread that only moves text, and the daemon's
 * side that decides what the text means (user/fleet/fleet_proto.h) and
 * changes the maps.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <hiredis/hiredis.h>
#include "addr.h"
#include "events.h"
#include "fleet.h"
#include "fleet_proto.h"
#include "guard.h"
#include "lists.h"
#include "text.h"

#define IO_TIMEOUT_MS 1000      /* every connect, read and write to Redis */
#define PING_EVERY_MS 1000      /* an idle connection is checked this often */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SCAN_COUNT 1000
#define SEND_BATCH 512          /* publications per round trip */
#define SERVICE_BATCH 4096      /* items fleet_service applies before it yields */
#define SERVICE_BUDGET_MS 20
#define OUT_MAX (1U << 18)      /* publications kept while Redis is away */
#define IN_MAX (1U << 21)       /* items from Redis waiting for the loop */
#define GUARD_REFRESH_MS 10000  /* this host's addresses are read again this often */

const char *const fleet_reject_names[FLEET_REJECT_MAX] = {
	[FLEET_REJECT_KEY] = "key",
	[FLEET_REJECT_MESSAGE] = "message",
	[FLEET_REJECT_MISMATCH] = "mismatch",
	[FLEET_REJECT_EVERY] = "every_address",
	[FLEET_REJECT_THIS_HOST] = "this_host",
	[FLEET_REJECT_ALLOWLIST] = "allowlisted",
};

/* ---- queues between the loop and the thread ---- */

enum item_type {
	/* loop -> thread */
	OUT_SET,       /* a ban or allow: SET key msg [EX ttl], DEL tombstone, PUBLISH */
	OUT_REMOVE,    /* an unban or unallow: DEL key, SET tombstone msg EX 7d, PUBLISH */
	OUT_REPUBLISH, /* SET key msg [EX ttl] NX, and PUBLISH when it was set */
	/* thread -> loop */
	IN_CONNECTED,    /* a: "host:port" */
	IN_DISCONNECTED, /* a: why */
	IN_MESSAGE,      /* a: the payload of a message on the channel */
	IN_RESYNC_BEGIN,
	IN_KEY,          /* a: key name, b: value, pttl */
	IN_RESYNC_END,
};

struct item {
	struct item *next;
	enum item_type type;
	struct eg_fleet_msg msg; /* OUT_*: what to publish (ttl and ts set when sent) */
	int64_t expires_ms;      /* OUT_SET, OUT_REPUBLISH: wall-clock expiry; 0 = permanent */
	char *a, *b;
	size_t alen, blen;
	long long pttl;
};

struct queue {
	pthread_mutex_t mu;
	struct item *head, *tail;
	size_t n, max;
	int efd; /* readable while the queue may hold items */
};

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->a);
	free(it->b);
	free(it);
}

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the reader is woken by the item count anyway */
}

static void drain(int efd)
{
	uint64_t v;

	while (read(efd, &v, sizeof(v)) == sizeof(v))
		;
}

/* false when the queue is full: the item is freed. */
static bool q_push(struct queue *q, struct item *it)
{
	pthread_mutex_lock(&q->mu);
	if (q->n >= q->max) {
		pthread_mutex_unlock(&q->mu);
		item_free(it);
		return false;
	}
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	pthread_mutex_unlock(&q->mu);
	wake(q->efd);
	return true;
}

/* Puts a chain back at the front, in its order (a batch Redis did not take). */
static void q_unshift(struct queue *q, struct item *first, struct item *last, size_t n)
{
	pthread_mutex_lock(&q->mu);
	last->next = q->head;
	q->head = first;
	if (!q->tail)
		q->tail = last;
	q->n += n;
	pthread_mutex_unlock(&q->mu);
}

static struct item *q_pop(struct queue *q)
{
	struct item *it;

	pthread_mutex_lock(&q->mu);
	it = q->head;
	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
	}
	pthread_mutex_unlock(&q->mu);
	return it;
}

static size_t q_len(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->n;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static int q_init(struct queue *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		return -1;
	pthread_mutex_init(&q->mu, NULL);
	return 0;
}

static void q_free(struct queue *q)
{
	struct item *it;

	if (q->efd < 0)
		return;
	while ((it = q_pop(q)))
		item_free(it);
	close(q->efd);
	q->efd = -1;
	pthread_mutex_destroy(&q->mu);
}

/* ---- state ---- */

/* A key seen in a resync: what the store has for it. */
struct seen {
	struct eg_lpm_key key;
	unsigned int kind; /* enum eg_fleet_key_kind */
};

static struct {
	bool on;
	struct eg_fleet_config cfg;
	const struct eg_maps *maps;
	struct queue out, in;
	pthread_t thread;
	bool thread_started;
	bool stopping; /* __atomic */
	/* Counters: written with __atomic by either side. */
	struct fleet_stats st;
	/* The loop's own. */
	struct eg_guard guard;
	uint64_t guard_loaded_ms;
	bool was_connected;
	bool outage; /* a disconnect was reported and no connect since */
	bool resyncing;
	struct seen *seen;
	size_t nseen, cap_seen;
	uint64_t resync_started_ms;
	uint64_t rs_applied, rs_removed, rs_rejected, rs_tombstones;
} F = { .out = { .efd = -1 }, .in = { .efd = -1 } };

#define COUNT(field) __atomic_add_fetch(&F.st.field, 1, __ATOMIC_RELAXED)

static int64_t wall_ms(void)
{
	return eg_wall_ns() / 1000000;
}

static bool stopping(void)
{
	return __atomic_load_n(&F.stopping, __ATOMIC_RELAXED);
}

/* ---- the Redis thread: connections ---- */

struct conn {
	redisContext *cmd; /* commands, pipelined */
	redisContext *sub; /* SUBSCRIBEd to the channel (only when applying) */
	char server[EG_FLEET_HOSTNAME_LEN + 8];
	uint64_t last_io_ms;
};

static const struct timeval io_tv = { .tv_sec = IO_TIMEOUT_MS / 1000,
				      .tv_usec = (IO_TIMEOUT_MS % 1000) * 1000 };

static void conn_close(struct conn *c)
{
	if (c->cmd)
		redisFree(c->cmd);
	if (c->sub)
		redisFree(c->sub);
	c->cmd = c->sub = NULL;
}

/* Tells the loop (events and counters happen there). */
static void notice(enum item_type type, const char *text)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it)
		return;
	it->type = type;
	it->a = strdup(text ? text : "");
	it->alen = it->a ? strlen(it->a) : 0;
	q_push(&F.in, it);
}

static void ctx_error(redisContext *c, char *why, size_t size, const char *what)
{
	if (!c)
		snprintf(why, size, "%s: out of memory", what);
	else if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
		snprintf(why, size, "%s: no answer within %d ms", what, IO_TIMEOUT_MS);
	else
		snprintf(why, size, "%s: %s", what, c->errstr[0] ? c->errstr : "connection error");
}

/* One command and its reply; NULL with why set on an I/O error or an error reply. */
static redisReply *command(redisContext *c, char *why, size_t size, const char *what, int argc,
			   const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);

	if (!r) {
		ctx_error(c, why, size, what);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, size, "%s: %.*s", what, (int)r->len, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static redisContext *open_ctx(const char *host, uint16_t port, char *why, size_t size)
{
	redisContext *c = redisConnectWithTimeout(host, port, io_tv);

	if (!c || c->err) {
		char what[EG_FLEET_HOSTNAME_LEN + 32];

		snprintf(what, sizeof(what), "connecting to %s:%u", host, port);
		ctx_error(c, why, size, what);
		if (c)
			redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, io_tv) != REDIS_OK) {
		snprintf(why, size, "setting the I/O timeout on %s:%u", host, port);
		redisFree(c);
		return NULL;
	}
	return c;
}

/* AUTH (when there is a password) and SELECT (data connections only). */
static int handshake(redisContext *c, bool select, char *why, size_t size)
{
	const struct eg_fleet_config *cfg = &F.cfg;
	char db[16];
	redisReply *r;

	if (cfg->password[0]) {
		const char *a3[] = { "AUTH", cfg->user, cfg->password };
		const char *a2[] = { "AUTH", cfg->password };

		r = cfg->user[0] ? command(c, why, size, "AUTH", 3, a3) :
				   command(c, why, size, "AUTH", 2, a2);
		if (!r)
			return -1;
		freeReplyObject(r);
	}
	if (select && cfg->db) {
		const char *a[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%u", cfg->db);
		r = command(c, why, size, "SELECT", 2, a);
		if (!r)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

/* The master's address from the first sentinel that knows it. */
static int ask_sentinels(struct eg_fleet_endpoint *out, char *why, size_t size)
{
	const struct eg_fleet_config *cfg = &F.cfg;
	const char *a[] = { "SENTINEL", "get-master-addr-by-name", cfg->master };

	for (int i = 0; i < cfg->nsentinels && !stopping(); i++) {
		const struct eg_fleet_endpoint *s = &cfg->sentinels[i];
		redisContext *c = open_ctx(s->host, s->port, why, size);
		redisReply *r;

		if (!c)
			continue;
		r = command(c, why, size, "SENTINEL get-master-addr-by-name", 3, a);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			long port = strtol(r->element[1]->str, NULL, 10);

			if (port > 0 && port < 65536 && r->element[0]->len < sizeof(out->host)) {
				snprintf(out->host, sizeof(out->host), "%s", r->element[0]->str);
				out->port = (uint16_t)port;
				freeReplyObject(r);
				redisFree(c);
				return 0;
			}
		}
		if (r)
			snprintf(why, size, "sentinel %s:%u does not know master '%s'", s->host, s->port,
				 cfg->master);
		freeReplyObject(r);
		redisFree(c);
	}
	return -1;
}

/* The role the server says it has is master: after a failover the old one may come back as a replica. */
static int check_master(redisContext *c, char *why, size_t size)
{
	const char *a[] = { "ROLE" };
	redisReply *r = command(c, why, size, "ROLE", 1, a);
	bool ok;

	if (!r)
		return -1;
	ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	     r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "master");
	freeReplyObject(r);
	if (!ok)
		snprintf(why, size, "the server the sentinels named is not a master (failover under way?)");
	return ok ? 0 : -1;
}

static int conn_open(struct conn *c, char *why, size_t size)
{
	const struct eg_fleet_config *cfg = &F.cfg;
	struct eg_fleet_endpoint ep = cfg->redis;
	char channel[EG_FLEET_MAX_KEY];
	redisReply *r;

	if (cfg->nsentinels && ask_sentinels(&ep, why, size))
		return -1;
	snprintf(c->server, sizeof(c->server), "%s:%u", ep.host, ep.port);
	c->cmd = open_ctx(ep.host, ep.port, why, size);
	if (!c->cmd || handshake(c->cmd, true, why, size) ||
	    (cfg->nsentinels && check_master(c->cmd, why, size)))
		return -1;
	if (cfg->no_apply)
		return 0;
	c->sub = open_ctx(ep.host, ep.port, why, size);
	if (!c->sub || handshake(c->sub, false, why, size))
		return -1;
	eg_fleet_channel(cfg->prefix, channel, sizeof(channel));
	{
		const char *a[] = { "SUBSCRIBE", channel };

		r = command(c->sub, why, size, "SUBSCRIBE", 2, a);
	}
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* ---- the Redis thread: publishing ---- */

static int64_t ttl_left_s(const struct item *it, int64_t now)
{
	if (!it->expires_ms)
		return 0;
	return (it->expires_ms - now + 999) / 1000; /* <= 0: expired while it waited */
}

/* The commands of one publication; false when it has nothing to send any more. */
static bool append_item(redisContext *c, struct item *it, const char *channel, int64_t now,
			char **text)
{
	char key[EG_FLEET_MAX_KEY], tomb[EG_FLEET_MAX_KEY], ttl[24];
	int64_t left = ttl_left_s(it, now);
	enum eg_fleet_op live;

	*text = NULL;
	if (it->type != OUT_REMOVE && it->expires_ms && left <= 0)
		return false;
	it->msg.ts_ms = now;
	it->msg.ttl_s = it->type == OUT_REMOVE ? 0 : (uint32_t)left;
	*text = eg_fleet_msg_format(&it->msg);
	if (!*text)
		return false;
	/* ban and unban, allow and unallow: the live key's op is odd, its tombstone's the next. */
	live = (it->msg.op & 1) ? it->msg.op : (enum eg_fleet_op)(it->msg.op - 1);
	eg_fleet_key(F.cfg.prefix, eg_fleet_op_key(live), &it->msg.key, key, sizeof(key));
	eg_fleet_key(F.cfg.prefix, eg_fleet_op_key((enum eg_fleet_op)(live + 1)), &it->msg.key, tomb, sizeof(tomb));
	snprintf(ttl, sizeof(ttl), "%lld", (long long)(it->type == OUT_REMOVE ? EG_FLEET_TOMBSTONE_TTL_S : left));
	switch (it->type) {
	case OUT_SET:
		if (left)
			redisAppendCommand(c, "SET %s %s EX %s", key, *text, ttl);
		else
			redisAppendCommand(c, "SET %s %s", key, *text);
		redisAppendCommand(c, "DEL %s", tomb);
		redisAppendCommand(c, "PUBLISH %s %s", channel, *text);
		break;
	case OUT_REMOVE:
		redisAppendCommand(c, "DEL %s", key);
		redisAppendCommand(c, "SET %s %s EX %s", tomb, *text, ttl);
		redisAppendCommand(c, "PUBLISH %s %s", channel, *text);
		break;
	default: /* OUT_REPUBLISH */
		if (left)
			redisAppendCommand(c, "SET %s %s EX %s NX", key, *text, ttl);
		else
			redisAppendCommand(c, "SET %s %s NX", key, *text);
		break;
	}
	return true;
}

static int replies_of(enum item_type t)
{
	return t == OUT_REPUBLISH ? 1 : 3;
}

/*
 * Sends up to SEND_BATCH publications in one round trip. -1 on a broken
 * connection (or a server that will not take writes): the batch goes back
 * to the front of the queue for the next connection.
 */
static int send_batch(struct conn *c, char *why, size_t size)
{
	struct item *batch[SEND_BATCH], *keep[SEND_BATCH];
	char *texts[SEND_BATCH], channel[EG_FLEET_MAX_KEY];
	int n = 0, nkeep = 0, rc = 0, npub = 0;
	int64_t now = wall_ms();
	struct item *it;

	eg_fleet_channel(F.cfg.prefix, channel, sizeof(channel));
	while (n < SEND_BATCH && (it = q_pop(&F.out))) {
		if (!append_item(c->cmd, it, channel, now, &texts[n])) {
			free(texts[n]);
			item_free(it);
			continue;
		}
		batch[n++] = it;
	}
	if (!n)
		return 0;
	for (int i = 0; i < n && !rc; i++) {
		bool failed = false, set = true;

		for (int j = 0; j < replies_of(batch[i]->type); j++) {
			redisReply *r = NULL;

			if (redisGetReply(c->cmd, (void **)&r) != REDIS_OK) {
				ctx_error(c->cmd, why, size, "publishing");
				rc = -1;
				break;
			}
			if (r->type == REDIS_REPLY_ERROR) {
				failed = true;
				snprintf(why, size, "publishing: %.*s", (int)r->len, r->str);
				/* A replica after a failover: look for the master again. */
				if (!strncmp(r->str, "READONLY", 8) || !strncmp(r->str, "NOAUTH", 6))
					rc = -1;
			}
			if (batch[i]->type == OUT_REPUBLISH && r->type == REDIS_REPLY_NIL)
				set = false; /* the store has one: it is the fleet's word */
			freeReplyObject(r);
		}
		if (rc)
			break;
		if (failed) {
			COUNT(publish_failures);
		} else {
			COUNT(published);
			if (batch[i]->type == OUT_REPUBLISH && set) {
				redisAppendCommand(c->cmd, "PUBLISH %s %s", channel, texts[i]);
				npub++;
			}
		}
	}
	for (int j = 0; j < npub && !rc; j++) {
		redisReply *r = NULL;

		if (redisGetReply(c->cmd, (void **)&r) != REDIS_OK) {
			ctx_error(c->cmd, why, size, "publishing");
			rc = -1;
		}
		freeReplyObject(r);
	}
	/* What the server may not have taken goes again: every command is idempotent. */
	for (int i = 0; i < n; i++) {
		free(texts[i]);
		if (rc)
			keep[nkeep++] = batch[i];
		else
			item_free(batch[i]);
	}
	if (nkeep) {
		for (int i = 0; i + 1 < nkeep; i++)
			keep[i]->next = keep[i + 1];
		q_unshift(&F.out, keep[0], keep[nkeep - 1], (size_t)nkeep);
	}
	c->last_io_ms = eg_mono_ms();
	return rc;
}

/* ---- the Redis thread: reading ---- */

static void push_in(enum item_type type, const char *a, size_t alen, const char *b, size_t blen,
		    long long pttl)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it || !(it->a = malloc(alen + 1)) || (b && !(it->b = malloc(blen + 1)))) {
		item_free(it);
		COUNT(apply_failures);
		return;
	}
	it->type = type;
	memcpy(it->a, a, alen);
	it->a[alen] = '\0';
	it->alen = alen;
	if (b) {
		memcpy(it->b, b, blen);
		it->b[blen] = '\0';
		it->blen = blen;
	}
	it->pttl = pttl;
	if (!q_push(&F.in, it))
		COUNT(apply_failures);
}

/* Every message the subscription has ready; -1 when the connection broke. */
static int read_sub(struct conn *c, char *why, size_t size)
{
	redisReply *r;

	if (redisBufferRead(c->sub) != REDIS_OK) {
		ctx_error(c->sub, why, size, "reading the channel");
		return -1;
	}
	for (;;) {
		r = NULL;
		if (redisGetReplyFromReader(c->sub, (void **)&r) != REDIS_OK) {
			ctx_error(c->sub, why, size, "reading the channel");
			return -1;
		}
		if (!r)
			return 0;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "message") &&
		    r->element[2]->type == REDIS_REPLY_STRING)
			push_in(IN_MESSAGE, r->element[2]->str, r->element[2]->len, NULL, 0, 0);
		freeReplyObject(r);
	}
}

/* One SCAN step's keys: GET and PTTL of each in one round trip. */
static int fetch_keys(struct conn *c, const redisReply *keys, char *why, size_t size)
{
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		redisAppendCommand(c->cmd, "GET %b", k->str, k->len);
		redisAppendCommand(c->cmd, "PTTL %b", k->str, k->len);
	}
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *v = NULL, *t = NULL;
		int rc = redisGetReply(c->cmd, (void **)&v);

		if (rc == REDIS_OK)
			rc = redisGetReply(c->cmd, (void **)&t);
		if (rc != REDIS_OK) {
			freeReplyObject(v);
			ctx_error(c->cmd, why, size, "reading the keys");
			return -1;
		}
		/* Gone since the SCAN (expired, unbanned): nothing to say. */
		if (v->type == REDIS_REPLY_STRING && t->type == REDIS_REPLY_INTEGER && t->integer != -2)
			push_in(IN_KEY, keys->element[i]->str, keys->element[i]->len, v->str, v->len,
				t->integer);
		else if (v->type != REDIS_REPLY_NIL && v->type != REDIS_REPLY_STRING)
			/* Not a string (a list, a hash ...): a key of ours no edgeguardd wrote. */
			push_in(IN_KEY, keys->element[i]->str, keys->element[i]->len, "", 0, -3);
		freeReplyObject(v);
		freeReplyObject(t);
	}
	return 0;
}

/* Every key under the prefix, to the loop. */
static int resync(struct conn *c, char *why, size_t size)
{
	char pattern[EG_FLEET_MAX_KEY], cursor[32] = "0", count[16];
	int rc = 0;

	eg_fleet_scan_pattern(F.cfg.prefix, pattern, sizeof(pattern));
	snprintf(count, sizeof(count), "%d", SCAN_COUNT);
	notice(IN_RESYNC_BEGIN, NULL);
	do {
		const char *a[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", count };
		redisReply *r = command(c->cmd, why, size, "SCAN", 6, a);

		if (!r)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY || r->element[0]->len >= sizeof(cursor)) {
			snprintf(why, size, "SCAN: an answer that is not a cursor and keys");
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		rc = fetch_keys(c, r->element[1], why, size);
		freeReplyObject(r);
	} while (!rc && strcmp(cursor, "0") && !stopping());
	if (!rc)
		notice(IN_RESYNC_END, NULL);
	c->last_io_ms = eg_mono_ms();
	return rc;
}

static int ping(struct conn *c, char *why, size_t size)
{
	const char *a[] = { "PING" };
	redisReply *r = command(c->cmd, why, size, "PING", 1, a);

	freeReplyObject(r);
	c->last_io_ms = eg_mono_ms();
	return r ? 0 : -1;
}

/* Waits up to ms for the loop to queue something (or to stop us). */
static void nap(int ms)
{
	struct pollfd p = { .fd = F.out.efd, .events = POLLIN };

	if (ms > 0 && !stopping())
		poll(&p, 1, ms);
}

/* Serves one connection until it breaks or the daemon stops. */
static void serve(struct conn *c, char *why, size_t size)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = F.out.efd, .events = POLLIN },
			{ .fd = c->sub ? c->sub->fd : -1, .events = POLLIN },
		};
		uint64_t idle = eg_mono_ms() - c->last_io_ms;
		int timeout = idle >= PING_EVERY_MS ? 0 : (int)(PING_EVERY_MS - idle);

		if (q_len(&F.out))
			timeout = 0;
		if (poll(p, 2, timeout) < 0 && errno != EINTR) {
			snprintf(why, size, "poll: %s", strerror(errno));
			return;
		}
		if (stopping())
			return;
		if (p[0].revents & POLLIN)
			drain(F.out.efd);
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && read_sub(c, why, size))
			return;
		while (q_len(&F.out) && !stopping())
			if (send_batch(c, why, size))
				return;
		__atomic_store_n(&F.st.queued, q_len(&F.out), __ATOMIC_RELAXED);
		if (eg_mono_ms() - c->last_io_ms >= PING_EVERY_MS && ping(c, why, size))
			return;
	}
}

static void *thread_main(void *arg)
{
	struct conn c = { 0 };
	unsigned int backoff = 0;
	char why[512];

	(void)arg;
	while (!stopping()) {
		why[0] = '\0';
		if (conn_open(&c, why, sizeof(why))) {
			conn_close(&c);
			COUNT(connect_failures);
			notice(IN_DISCONNECTED, why);
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			nap((int)backoff);
			continue;
		}
		backoff = 0;
		c.last_io_ms = eg_mono_ms();
		notice(IN_CONNECTED, c.server);
		/* What waited goes first; then the store is read, which starts our own republishing. */
		while (q_len(&F.out) && !stopping() && !why[0])
			if (send_batch(&c, why, sizeof(why)))
				break;
		if (!why[0] && !resync(&c, why, sizeof(why)))
			serve(&c, why, sizeof(why));
		conn_close(&c);
		if (stopping())
			break;
		notice(IN_DISCONNECTED, why[0] ? why : "connection closed");
		nap(BACKOFF_MIN_MS);
	}
	conn_close(&c);
	return NULL;
}

/* ---- the loop's side: applying ---- */

static void reject(enum fleet_reject why, const char *where, const char *msg)
{
	cJSON *o = ev_new("fleet_reject");

	COUNT(rejected[why]);
	if (F.resyncing)
		F.rs_rejected++;
	cJSON_AddStringToObject(o, "why", fleet_reject_names[why]);
	cJSON_AddStringToObject(o, "from", where);
	cJSON_AddStringToObject(o, "error", msg);
	ev_emit(o);
}

static void guard_refresh(bool force)
{
	struct eg_err e = { 0 };

	if (!force && eg_mono_ms() - F.guard_loaded_ms < GUARD_REFRESH_MS)
		return;
	if (eg_guard_load(&F.guard, &e))
		fprintf(stderr, "edgeguardd: fleet: %s (keeping the addresses read before)\n", e.msg);
	else
		F.guard_loaded_ms = eg_mono_ms();
}

/* A ban from elsewhere that this host must not take: refused with an event. */
static bool refused(const struct eg_fleet_msg *m, const char *where)
{
	struct eg_lpm_key k = m->key;
	struct eg_allow allow;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN], msg[EG_ERR_LEN + EG_FLEET_HOST_LEN + 64];

	guard_refresh(false);
	/* Remote input never forces: the guard's word is final. */
	if (eg_guard_check(&F.guard, &m->key, &e)) {
		snprintf(msg, sizeof(msg), "ban from %s refused: %s", m->host, e.msg);
		/* "--force" means nothing to a remote host: drop the hint. */
		char *hint = strstr(msg, " (--force");

		if (hint)
			*hint = '\0';
		reject(eg_key_plen(&m->key) == 0 ? FLEET_REJECT_EVERY : FLEET_REJECT_THIS_HOST, where,
		       msg);
		return true;
	}
	/* An allow entry holding the whole banned range (an LPM lookup at the ban's own length). */
	if (!bpf_map_lookup_elem(F.maps->allow, &k, &allow)) {
		eg_format_cidr(&m->key, cidr, sizeof(cidr));
		snprintf(msg, sizeof(msg), "ban of %s from %s refused: the address is allowlisted here",
			 cidr, m->host);
		reject(FLEET_REJECT_ALLOWLIST, where, msg);
		return true;
	}
	return false;
}

static void emit_change(const char *event, const struct eg_fleet_msg *m, int64_t ttl)
{
	cJSON *o = ev_new(event);

	ev_add_source(o, &m->key);
	cJSON_AddStringToObject(o, "origin", "fleet");
	cJSON_AddStringToObject(o, "host", m->host);
	if (m->op == EG_FLEET_BAN) {
		cJSON_AddNumberToObject(o, "ttl", (double)ttl);
		cJSON_AddStringToObject(o, "reason", m->reason);
		if (m->trigger[0])
			cJSON_AddStringToObject(o, "trigger", m->trigger);
		else
			cJSON_AddNullToObject(o, "trigger");
	}
	ev_emit(o);
}

/* A change from elsewhere the maps would not take: an event and a counter. */
static void apply_error(const struct eg_fleet_msg *m, const char *error)
{
	cJSON *o = ev_new("fleet_apply_error");

	COUNT(apply_failures);
	ev_add_source(o, &m->key);
	cJSON_AddStringToObject(o, "host", m->host);
	cJSON_AddStringToObject(o, "error", error);
	ev_emit(o);
}

/* Applies a ban from elsewhere with ttl_s left (0 = permanent); true when the maps changed. */
static bool apply_ban(const struct eg_fleet_msg *m, uint32_t ttl_s, const char *where, bool quiet)
{
	struct eg_err e = { 0 };
	struct eg_ban cur;
	struct eg_ban_note note;
	uint64_t now = eg_now_ns(), want = ttl_s ? now + (uint64_t)ttl_s * EG_NS_PER_S : 0;

	if (refused(m, where))
		return false;
	if (eg_ban_get(F.maps, &m->key, EG_ORIGIN_MANUAL, &cur) == 1) {
		/* The policy file's own bans are its to keep. */
		if (cur.origin == EG_ORIGIN_POLICY && (!cur.expires_ns || cur.expires_ns > now))
			return false;
		/* Already so (a resync after a reconnect): nothing to write. */
		if (cur.origin == EG_ORIGIN_FLEET && eg_ban_note_read(F.maps, &m->key, &note) &&
		    !strcmp(note.host, m->host) && !strcmp(note.reason, m->reason) &&
		    (want ? cur.expires_ns && (cur.expires_ns > want ? cur.expires_ns - want :
							     want - cur.expires_ns) < 2 * EG_NS_PER_S :
			    !cur.expires_ns))
			return false;
	}
	if (eg_ban_add_fleet(F.maps, &m->key, ttl_s, m->reason, m->host, &e)) {
		apply_error(m, e.msg);
		return false;
	}
	COUNT(applied_bans);
	if (!quiet)
		emit_change("fleet_ban", m, ttl_s);
	return true;
}

/* Removes one map's ban on k if unban_ms (0: any time) is after it began; true when removed. */
static bool lift(const struct eg_lpm_key *k, unsigned int map_origin, int64_t unban_ms)
{
	struct eg_ban cur;
	bool own;

	if (eg_ban_get(F.maps, k, map_origin, &cur) != 1)
		return false;
	own = cur.origin == EG_ORIGIN_MANUAL || cur.origin == EG_ORIGIN_AUTO;
	/* Fleet bans, and this host's own when it shares them; never the policy file's. */
	if (cur.origin != EG_ORIGIN_FLEET && !(own && !F.cfg.no_publish))
		return false;
	if (unban_ms && eg_boot_to_wall_ns(cur.created_ns) / 1000000 > unban_ms)
		return false; /* banned again after that unban */
	return eg_ban_remove(F.maps, k, map_origin, NULL) == 0;
}

static bool apply_unban(const struct eg_fleet_msg *m, int64_t unban_ms, bool quiet)
{
	bool removed = lift(&m->key, EG_ORIGIN_MANUAL, unban_ms);

	removed |= lift(&m->key, EG_ORIGIN_AUTO, unban_ms);
	if (!removed)
		return false;
	COUNT(applied_unbans);
	if (F.resyncing)
		F.rs_removed++;
	if (!quiet)
		emit_change("fleet_unban", m, 0);
	return true;
}

/* An allow from elsewhere into the allowlist, origin fleet; true when the maps changed. */
static bool apply_allow(const struct eg_fleet_msg *m, const char *where, bool quiet)
{
	struct eg_err e = { 0 };
	struct eg_allow cur;
	char cidr[EG_CIDR_STRLEN], msg[EG_FLEET_HOST_LEN + EG_CIDR_STRLEN + 128];

	if (eg_key_plen(&m->key) == 0) {
		eg_format_cidr(&m->key, cidr, sizeof(cidr));
		snprintf(msg, sizeof(msg),
			 "allow of %s from %s refused: it would lift every ban and limit for every address",
			 cidr, m->host);
		reject(FLEET_REJECT_EVERY, where, msg);
		return false;
	}
	/* Already from the fleet, or this host's own (kept as it is: it is not the fleet's to remove). */
	if (eg_allow_get(F.maps, &m->key, &cur))
		return false;
	if (eg_allow_put(F.maps, &m->key, EG_ORIGIN_FLEET, false, &e)) {
		apply_error(m, e.msg);
		return false;
	}
	COUNT(applied_allows);
	if (!quiet)
		emit_change("fleet_allow", m, 0);
	return true;
}

/*
 * A fleet allow's removal: lifts the allow from the fleet and this host's own
 * fleet-wide one (when it publishes); never a plain local allow. A tombstone
 * and its allow are never both in the store (an allow deletes the
 * tombstone), so no time check is needed.
 */
static bool apply_unallow(const struct eg_fleet_msg *m, bool quiet)
{
	struct eg_allow cur;

	if (!eg_allow_get(F.maps, &m->key, &cur))
		return false;
	if (cur.origin != EG_ORIGIN_FLEET && !(cur.fleet && !F.cfg.no_publish))
		return false;
	if (eg_allow_del(F.maps, &m->key, NULL))
		return false;
	COUNT(applied_unallows);
	if (F.resyncing)
		F.rs_removed++;
	if (!quiet)
		emit_change("fleet_unallow", m, 0);
	return true;
}

static bool from_here(const struct eg_fleet_msg *m)
{
	return !strcmp(m->host, F.cfg.host);
}

static bool on_message(const struct item *it)
{
	struct eg_fleet_msg m;
	struct eg_err e = { 0 };
	double lag;

	if (eg_fleet_msg_parse(it->a, it->alen, &m, &e)) {
		reject(FLEET_REJECT_MESSAGE, "channel", e.msg);
		return false;
	}
	if (from_here(&m))
		return false; /* our own, back from the channel */
	lag = (double)(wall_ms() - m.ts_ms) / 1000.0;
	__atomic_store(&F.st.lag_s, &lag, __ATOMIC_RELAXED);
	if (F.cfg.no_apply)
		return false;
	switch (m.op) {
	case EG_FLEET_BAN:
		return apply_ban(&m, m.ttl_s, "channel", false);
	case EG_FLEET_UNBAN:
		return apply_unban(&m, 0, false);
	case EG_FLEET_ALLOW:
		return apply_allow(&m, "channel", false);
	default:
		return apply_unallow(&m, false);
	}
}

static void seen_add(const struct eg_lpm_key *k, unsigned int kind)
{
	if (F.nseen == F.cap_seen) {
		size_t cap = F.cap_seen ? F.cap_seen * 2 : 1024;
		struct seen *p = realloc(F.seen, cap * sizeof(*p));

		if (!p)
			return; /* only costs a republish the store did not need */
		F.seen = p;
		F.cap_seen = cap;
	}
	memset(&F.seen[F.nseen], 0, sizeof(F.seen[0]));
	F.seen[F.nseen].key = *k;
	F.seen[F.nseen].kind = kind;
	F.nseen++;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	return c ? c : (int)x->kind - (int)y->kind;
}

/* Whether the last resync saw a key of kind for k. */
static bool stored(const struct eg_lpm_key *k, enum eg_fleet_key_kind kind)
{
	struct seen probe = { .key = *k, .kind = kind };

	return F.seen && bsearch(&probe, F.seen, F.nseen, sizeof(probe), seen_cmp);
}

static bool on_key(const struct item *it)
{
	enum eg_fleet_key_kind kind;
	struct eg_lpm_key k;
	struct eg_fleet_msg m;
	struct eg_err e = { 0 };
	char where[EG_FLEET_MAX_KEY * 4 + 8], q[EG_FLEET_MAX_KEY * 4];
	uint32_t ttl;

	eg_text_escape(q, sizeof(q), it->a);
	snprintf(where, sizeof(where), "key %s", q);
	if (eg_fleet_key_parse(F.cfg.prefix, it->a, it->alen, &kind, &k, &e)) {
		reject(FLEET_REJECT_KEY, where, e.msg);
		return false;
	}
	if (it->pttl == -3) {
		reject(FLEET_REJECT_MESSAGE, where, "not a string key");
		return false;
	}
	if (eg_fleet_msg_parse(it->b, it->blen, &m, &e)) {
		reject(FLEET_REJECT_MESSAGE, where, e.msg);
		return false;
	}
	if (memcmp(&m.key, &k, sizeof(k)) || eg_fleet_key_op(kind) != m.op) {
		reject(FLEET_REJECT_MISMATCH, where,
		       "the value names another address or another change than its key");
		return false;
	}
	seen_add(&k, kind);
	if (kind == EG_FLEET_KEY_BAN)
		__atomic_add_fetch(&F.st.store_bans, 1, __ATOMIC_RELAXED);
	else if (kind == EG_FLEET_KEY_TOMBSTONE || kind == EG_FLEET_KEY_UNALLOW)
		F.rs_tombstones++;
	if (from_here(&m) || F.cfg.no_apply)
		return false;
	if (kind == EG_FLEET_KEY_TOMBSTONE)
		return apply_unban(&m, m.ts_ms, true);
	if (kind == EG_FLEET_KEY_UNALLOW)
		return apply_unallow(&m, true);
	if (kind == EG_FLEET_KEY_ALLOW) {
		if (!apply_allow(&m, where, true))
			return false;
		F.rs_applied++;
		return true;
	}
	/* Redis's TTL is the truth: the store expires the key then. */
	ttl = it->pttl < 0 ? 0 : (uint32_t)((it->pttl + 999) / 1000);
	if (it->pttl >= 0 && !ttl)
		return false;
	if (!apply_ban(&m, ttl, where, true))
		return false;
	F.rs_applied++;
	return true;
}

static void resync_begin(void)
{
	F.resyncing = true;
	F.nseen = 0;
	F.rs_applied = F.rs_removed = F.rs_rejected = F.rs_tombstones = 0;
	F.resync_started_ms = eg_mono_ms();
	__atomic_store_n(&F.st.store_bans, 0, __ATOMIC_RELAXED);
	guard_refresh(true);
}

static void queue_publication(enum item_type type, const struct eg_fleet_msg *m, int64_t expires_ms);

struct republish {
	uint64_t now;
	uint64_t n;
};

/* This host's own live bans the store lacks go back to it. */
static int republish_one(const struct eg_ban_entry *b, void *ctx)
{
	struct republish *r = ctx;
	struct eg_fleet_msg m = { .op = EG_FLEET_BAN, .key = b->key, .origin = b->ban.origin };
	int64_t expires_ms = 0;

	if (b->ban.origin != EG_ORIGIN_MANUAL && b->ban.origin != EG_ORIGIN_AUTO)
		return 0;
	if (b->ban.expires_ns && b->ban.expires_ns <= r->now)
		return 0;
	if (stored(&b->key, EG_FLEET_KEY_BAN))
		return 0;
	if (b->ban.expires_ns)
		expires_ms = eg_boot_to_wall_ns(b->ban.expires_ns) / 1000000;
	snprintf(m.host, sizeof(m.host), "%s", F.cfg.host);
	if (b->ban.origin == EG_ORIGIN_AUTO) {
		snprintf(m.trigger, sizeof(m.trigger), "%s", eg_reason_name(b->ban.trigger));
		snprintf(m.reason, sizeof(m.reason), "auto-ban: %s", m.trigger);
	} else {
		snprintf(m.reason, sizeof(m.reason), "%s", b->reason);
	}
	queue_publication(OUT_REPUBLISH, &m, expires_ms);
	r->n++;
	return 0;
}

/* This host's own fleet-wide allows the store lacks go back to it. */
static int republish_allow(const struct eg_allow_entry *a, void *ctx)
{
	struct republish *r = ctx;
	struct eg_fleet_msg m = { .op = EG_FLEET_ALLOW, .key = a->key };

	if (!a->allow.fleet || a->allow.origin == EG_ORIGIN_FLEET || stored(&a->key, EG_FLEET_KEY_ALLOW))
		return 0;
	snprintf(m.host, sizeof(m.host), "%s", F.cfg.host);
	queue_publication(OUT_REPUBLISH, &m, 0);
	r->n++;
	return 0;
}

static void resync_end(void)
{
	struct republish r = { .now = eg_now_ns() };
	struct eg_err e = { 0 };
	double secs = (double)(eg_mono_ms() - F.resync_started_ms) / 1000.0;
	cJSON *o;

	if (F.seen)
		qsort(F.seen, F.nseen, sizeof(F.seen[0]), seen_cmp);
	if (!F.cfg.no_publish && (eg_ban_foreach(F.maps, republish_one, &r, &e) ||
				  eg_allow_foreach(F.maps, republish_allow, &r, &e)))
		fprintf(stderr, "edgeguardd: fleet: %s\n", e.msg);
	F.resyncing = false;
	COUNT(resyncs);
	__atomic_store(&F.st.resync_s, &secs, __ATOMIC_RELAXED);
	o = ev_new("fleet_resync");
	cJSON_AddNumberToObject(o, "bans", (double)__atomic_load_n(&F.st.store_bans, __ATOMIC_RELAXED));
	cJSON_AddNumberToObject(o, "tombstones", (double)F.rs_tombstones);
	cJSON_AddNumberToObject(o, "applied", (double)F.rs_applied);
	cJSON_AddNumberToObject(o, "removed", (double)F.rs_removed);
	cJSON_AddNumberToObject(o, "rejected", (double)F.rs_rejected);
	cJSON_AddNumberToObject(o, "republished", (double)r.n);
	cJSON_AddNumberToObject(o, "seconds", secs);
	ev_emit(o);
	F.nseen = 0;
}

static void on_connection(const struct item *it, bool up)
{
	cJSON *o;

	__atomic_store_n(&F.st.connected, up, __ATOMIC_RELAXED);
	if (!up) {
		F.resyncing = false; /* a resync cut short: the next connection does it again */
		/* One line per outage, not one per attempt of the backoff. */
		if (F.outage)
			return;
		F.outage = true;
		o = ev_new("fleet_disconnect");
		cJSON_AddStringToObject(o, "error", it->a);
		cJSON_AddNumberToObject(o, "queued", (double)q_len(&F.out));
		ev_emit(o);
		fprintf(stderr, "edgeguardd: fleet: %s (local enforcement goes on; retrying with backoff)\n",
			it->a);
		return;
	}
	F.outage = false;
	if (F.was_connected)
		COUNT(reconnects);
	F.was_connected = true;
	o = ev_new("fleet_connect");
	cJSON_AddStringToObject(o, "server", it->a);
	cJSON_AddStringToObject(o, "host", F.cfg.host);
	cJSON_AddNumberToObject(o, "queued", (double)q_len(&F.out));
	ev_emit(o);
}

bool fleet_service(void)
{
	uint64_t start = eg_mono_ms();
	bool changed = false;
	struct item *it;

	if (!F.on)
		return false;
	drain(F.in.efd);
	for (int n = 0; n < SERVICE_BATCH && eg_mono_ms() - start < SERVICE_BUDGET_MS; n++) {
		it = q_pop(&F.in);
		if (!it)
			break;
		switch (it->type) {
		case IN_CONNECTED:
			on_connection(it, true);
			break;
		case IN_DISCONNECTED:
			on_connection(it, false);
			break;
		case IN_MESSAGE:
			changed |= on_message(it);
			break;
		case IN_RESYNC_BEGIN:
			resync_begin();
			break;
		case IN_KEY:
			changed |= on_key(it);
			break;
		case IN_RESYNC_END:
			resync_end();
			break;
		default:
			break;
		}
		item_free(it);
	}
	return changed;
}

bool fleet_resyncing(void)
{
	return F.on && F.resyncing;
}

bool fleet_busy(void)
{
	return F.on && q_len(&F.in) > 0;
}

int fleet_fd(void)
{
	return F.on ? F.in.efd : -1;
}

/* ---- the loop's side: publishing ---- */

static void queue_publication(enum item_type type, const struct eg_fleet_msg *m, int64_t expires_ms)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it) {
		COUNT(publish_dropped);
		return;
	}
	it->type = type;
	it->msg = *m;
	it->expires_ms = expires_ms;
	if (!q_push(&F.out, it))
		COUNT(publish_dropped); /* the next connect's republish still brings bans back */
	__atomic_store_n(&F.st.queued, q_len(&F.out), __ATOMIC_RELAXED);
}

void fleet_publish_ban(const struct eg_lpm_key *k, uint32_t ttl_s, const char *reason,
		       unsigned int origin, unsigned int trigger)
{
	struct eg_fleet_msg m = { .op = EG_FLEET_BAN, .key = *k, .origin = origin };

	if (!fleet_publishing())
		return;
	snprintf(m.host, sizeof(m.host), "%s", F.cfg.host);
	snprintf(m.reason, sizeof(m.reason), "%s", reason ? reason : "");
	if (trigger < EG_R_MAX)
		snprintf(m.trigger, sizeof(m.trigger), "%s", eg_reason_name(trigger));
	queue_publication(OUT_SET, &m, ttl_s ? wall_ms() + (int64_t)ttl_s * 1000 : 0);
}

/* A change without a TTL of this host's (unban, allow, unallow), queued. */
static void publish_plain(enum eg_fleet_op op, const struct eg_lpm_key *k)
{
	struct eg_fleet_msg m = { .op = op, .key = *k };

	if (!fleet_publishing())
		return;
	snprintf(m.host, sizeof(m.host), "%s", F.cfg.host);
	queue_publication(op == EG_FLEET_ALLOW ? OUT_SET : OUT_REMOVE, &m, 0);
}

void fleet_publish_unban(const struct eg_lpm_key *k)
{
	publish_plain(EG_FLEET_UNBAN, k);
}

void fleet_publish_allow(const struct eg_lpm_key *k)
{
	publish_plain(EG_FLEET_ALLOW, k);
}

void fleet_publish_unallow(const struct eg_lpm_key *k)
{
	publish_plain(EG_FLEET_UNALLOW, k);
}

bool fleet_publishing(void)
{
	return F.on && !F.cfg.no_publish;
}

/* ---- start, stop, counters ---- */

int fleet_start(const struct eg_fleet_config *cfg, const struct eg_maps *m)
{
	int rc;

	F.cfg = *cfg;
	F.maps = m;
	F.st.enabled = true;
	F.st.publish = !cfg->no_publish;
	F.st.apply = !cfg->no_apply;
	if (q_init(&F.out, OUT_MAX) || q_init(&F.in, IN_MAX)) {
		fprintf(stderr, "edgeguardd: fleet: eventfd: %s\n", strerror(errno));
		fleet_stop();
		return -1;
	}
	guard_refresh(true);
	F.on = true;
	rc = pthread_create(&F.thread, NULL, thread_main, NULL);
	if (rc) {
		fprintf(stderr, "edgeguardd: fleet: cannot start its thread: %s\n", strerror(rc));
		fleet_stop();
		return -1;
	}
	F.thread_started = true;
	return 0;
}

void fleet_stop(void)
{
	if (F.thread_started) {
		__atomic_store_n(&F.stopping, true, __ATOMIC_RELAXED);
		wake(F.out.efd);
		pthread_join(F.thread, NULL);
		F.thread_started = false;
	}
	q_free(&F.out);
	q_free(&F.in);
	free(F.seen);
	F.seen = NULL;
	F.nseen = F.cap_seen = 0;
	F.on = false;
	/* The password is no longer needed in memory. */
	memset(F.cfg.password, 0, sizeof(F.cfg.password));
}

void fleet_stats_read(struct fleet_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->enabled = F.st.enabled;
	out->publish = F.st.publish;
	out->apply = F.st.apply;
#define LOAD(f) out->f = __atomic_load_n(&F.st.f, __ATOMIC_RELAXED)
	LOAD(connected);
	LOAD(reconnects);
	LOAD(connect_failures);
	LOAD(published);
	LOAD(publish_failures);
	LOAD(publish_dropped);
	LOAD(applied_bans);
	LOAD(applied_unbans);
	LOAD(applied_allows);
	LOAD(applied_unallows);
	LOAD(apply_failures);
	LOAD(resyncs);
	LOAD(queued);
	LOAD(store_bans);
	for (int i = 0; i < FLEET_REJECT_MAX; i++)
		LOAD(rejected[i]);
#undef LOAD
	__atomic_load(&F.st.lag_s, &out->lag_s, __ATOMIC_RELAXED);
	__atomic_load(&F.st.resync_s, &out->resync_s, __ATOMIC_RELAXED);
}

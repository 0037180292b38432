/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fleet-wide bans through Redis (the store's layout: user/fleet/fleet_proto.h).
 *
 * A thread of its own talks to Redis with bounded I/O (every connect, read
 * and write has a deadline) and reconnects with backoff; the daemon's loop
 * only ever touches two in-memory queues and an eventfd, so Redis being down,
 * slow or answering garbage never holds up local enforcement, the control
 * socket or the event ring. Everything that changes the maps happens on the
 * daemon's loop, in fleet_service(), a bounded batch at a time.
 *
 * Published: this host's manual bans and unbans (the control socket) and its
 * auto-bans (the event ring), each as one key with the ban's TTL plus a
 * message on the channel; an unban also leaves a tombstone. Allows made
 * fleet-wide (allow add --fleet) the same way, without a TTL, and their
 * removal; a plain allow is this host's alone. What could not
 * be sent while Redis was away waits in a queue and goes first when it
 * returns. Applied: every other host's bans, with origin fleet, the TTL Redis
 * has left, their reason and host, after the lock-out guards and the
 * allowlist; their unbans; their allows (origin fleet; never a /0, never
 * over this host's own allow of the same CIDR) and removals. A ban applied from the fleet is never published
 * again (no bounce-back), and a message from this host is ignored.
 * On every connect: the queue is sent, the keys are read again (SCAN), and
 * this host's own live bans the store lacks are put back (SET NX), so a
 * store that lost its data, or a failover that lost the last writes, gets
 * them again.
 */
#ifndef EGD_FLEET_H
#define EGD_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include "fleet_config.h"
#include "maps.h"

/* Why remote input was refused, for the counter's label and the event. */
enum fleet_reject {
	FLEET_REJECT_KEY,       /* a key under the prefix that is no fleet key */
	FLEET_REJECT_MESSAGE,   /* a message or key value that does not parse */
	FLEET_REJECT_MISMATCH,  /* a key whose value names another address or op */
	FLEET_REJECT_EVERY,     /* a /0 */
	FLEET_REJECT_THIS_HOST, /* covers this host or the SSH client (lock-out guard) */
	FLEET_REJECT_ALLOWLIST, /* inside an allowlisted range */
	FLEET_REJECT_MAX,
};
extern const char *const fleet_reject_names[FLEET_REJECT_MAX];

struct fleet_stats {
	bool enabled, connected, publish, apply;
	uint64_t reconnects, connect_failures;
	uint64_t published, publish_failures, publish_dropped;
	uint64_t applied_bans, applied_unbans, apply_failures;
	uint64_t applied_allows, applied_unallows;
	uint64_t rejected[FLEET_REJECT_MAX];
	uint64_t resyncs;
	uint64_t queued;        /* publications waiting for Redis */
	uint64_t store_bans;    /* ban keys in the store at the last resync */
	double lag_s;           /* publication to application of the last message */
	double resync_s;        /* how long the last resync took to apply */
};

/*
 * Starts the fleet thread on maps m (which must outlive fleet_stop) when
 * cfg is on; nothing when it is off. Call with the daemon's signals
 * blocked (the thread inherits the mask). -1 with a message on stderr.
 */
int fleet_start(const struct eg_fleet_config *cfg, const struct eg_maps *m);
/* Stops the thread (bounded by the I/O deadlines) and frees everything. */
void fleet_stop(void);

/* The descriptor that turns readable when there is work for fleet_service; -1 when off. */
int fleet_fd(void);
/* Whether fleet_service has more waiting (the loop should not sleep). */
bool fleet_busy(void);
/* Whether a resync is being read and applied (saving the state can wait until it is done). */
bool fleet_resyncing(void);
/* Applies what came from Redis, a bounded batch; true when the maps changed. */
bool fleet_service(void);

/*
 * This host's bans and unbans, queued for Redis (nothing when the fleet is
 * off or --fleet-no-publish). origin EG_ORIGIN_MANUAL or EG_ORIGIN_AUTO;
 * trigger an enum eg_reason for an auto-ban, else EG_R_MAX.
 */
void fleet_publish_ban(const struct eg_lpm_key *k, uint32_t ttl_s, const char *reason,
		       unsigned int origin, unsigned int trigger);
void fleet_publish_unban(const struct eg_lpm_key *k);
/* This host's fleet-wide allow, and the removal of one (fleet-wide or from the fleet). */
void fleet_publish_allow(const struct eg_lpm_key *k);
void fleet_publish_unallow(const struct eg_lpm_key *k);
/* Whether this host publishes (the fleet is on and not --fleet-no-publish). */
bool fleet_publishing(void);

/* A consistent copy of the counters; safe from any thread. */
void fleet_stats_read(struct fleet_stats *out);

#endif

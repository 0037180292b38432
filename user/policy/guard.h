/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Lock-out guards: a ban that would cut this host off from the world, from
 * itself, or its operator from it. Every path that bans (the CLI, policy
 * files, importers, the fleet) asks eg_guard_check() first and refuses
 * unless the operator said --force; remote input (the fleet) never forces.
 */
#ifndef EG_GUARD_H
#define EG_GUARD_H

#include <net/if.h>
#include <stdbool.h>
#include "addr.h"
#include "policy_file.h"

#define EG_GUARD_MAX_LOCAL 256

/* What a ban must not cover. */
struct eg_guard {
	struct {
		struct eg_addr addr;
		char ifname[IF_NAMESIZE];
	} local[EG_GUARD_MAX_LOCAL]; /* this host's addresses */
	int nlocal;
	struct eg_addr ssh; /* the client of the SSH session we run in */
	bool has_ssh;
};

/*
 * Fills g with this host's addresses (getifaddrs) and the SSH client named
 * by SSH_CONNECTION or SSH_CLIENT, when either is set. Addresses past
 * EG_GUARD_MAX_LOCAL are dropped (more than any edge host has).
 */
int eg_guard_load(struct eg_guard *g, struct eg_err *e);

/*
 * Whether banning k cuts off something g protects; if so why (len bytes)
 * says what, in words that follow "refusing to ban CIDR: ": "it covers
 * every IPv4 address", "it covers 192.0.2.1, an address of this host (eth0)".
 */
bool eg_guard_why(const struct eg_guard *g, const struct eg_lpm_key *k, char *why, size_t len);

/*
 * 0 when banning k cuts off nothing g protects; -1 with e->msg saying what
 * it would cut off and that --force overrides: every address (a /0), an
 * address of this host (named with its interface), or the SSH client.
 */
int eg_guard_check(const struct eg_guard *g, const struct eg_lpm_key *k, struct eg_err *e);

/*
 * Limits so low they would lock out what keeps a host reachable: a packets
 * limit under EG_GUARD_MIN_PKT_RATE per second or with a burst under
 * EG_GUARD_MIN_PKT_BURST drops a load balancer's health checks (a TCP check
 * is a handshake, a request, an answer and a close: several packets at
 * once, from the same few sources every few seconds), and on the policy of
 * tcp/22 interactive SSH sessions. Dry-run policies drop nothing.
 */
#define EG_GUARD_MIN_PKT_RATE 10U
#define EG_GUARD_MIN_PKT_BURST 20U
#define EG_GUARD_SSH_PORT 22U

typedef void (*eg_guard_warn_cb)(const char *msg, void *ctx);

/*
 * What `policy check` warns about in a file, each as one line "FILE: PATH:
 * ..." to warn. Bans: the static bans g would refuse (policy load needs
 * --force for them). Limits: those low enough to cut off SSH (unless g's
 * SSH client is allowlisted by the file; g may be NULL) or health checks.
 */
void eg_guard_ban_warnings(const struct eg_guard *g, const struct eg_policy_file *f,
			   eg_guard_warn_cb warn, void *ctx);
void eg_guard_limit_warnings(const struct eg_guard *g, const struct eg_policy_file *f,
			     eg_guard_warn_cb warn, void *ctx);

#endif

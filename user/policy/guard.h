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
 * 0 when banning k cuts off nothing g protects; -1 with e->msg saying what
 * it would cut off and that --force overrides: every address (a /0), an
 * address of this host (named with its interface), or the SSH client.
 */
int eg_guard_check(const struct eg_guard *g, const struct eg_lpm_key *k, struct eg_err *e);

#endif

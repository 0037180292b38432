/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching the datapath to interfaces through libxdp's dispatcher, so it
 * coexists with other XDP programs. Every interface runs its own instance of
 * the program, all sharing the pinned maps.
 */
#ifndef EG_ATTACH_H
#define EG_ATTACH_H

#include <net/if.h>
#include <stdbool.h>
#include "maps.h"

enum eg_xdp_mode {
	EG_XDP_AUTO = 0, /* native if the driver can, else generic (skb) */
	EG_XDP_NATIVE,
	EG_XDP_SKB,
};

int eg_parse_xdp_mode(const char *text, enum eg_xdp_mode *out, struct eg_err *e);

/*
 * Attaches to ifname. Returns 0 when attached now, 1 when edgeguard already
 * ran there (nothing changed), -1 on error. sizes apply when no maps are
 * pinned yet; with pins they must match or be zero.
 */
int eg_attach(const char *ifname, enum eg_xdp_mode mode, const struct eg_sizes *sizes,
	      struct eg_err *e);

/*
 * Removes edgeguard from ifname; *was_last tells whether no interface is
 * left. An interface that was deleted while attached (or whose program
 * someone else removed) is detached too: its slot and qdisc marker are
 * cleaned up, so the pins can go with the last one. *was_gone (may be NULL)
 * tells that it was no longer running edgeguard.
 */
int eg_detach(const char *ifname, bool *was_last, bool *was_gone, struct eg_err *e);

struct eg_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	const char *mode; /* "native", "skb", "hw" */
	bool tc_egress;   /* the TC half is attached too */
};

/* Interfaces edgeguard is attached to; returns how many (at most max are filled). */
int eg_list_attached(struct eg_iface *out, int max, struct eg_err *e);

/* An interface edgeguard was attached to that no longer runs it. */
struct eg_missing_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	bool exists; /* false: deleted without a detach */
};

/*
 * Interfaces recorded as attached in the pinned maps that no longer run
 * edgeguard (deleted, or the program removed behind its back); returns how
 * many (at most max are filled), 0 when nothing is pinned.
 */
int eg_list_missing(struct eg_missing_iface *out, int max, struct eg_err *e);

#endif

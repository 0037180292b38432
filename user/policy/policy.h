/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy table in the terms an operator writes it (rates, bursts, port
 * ranges), its validation, and its atomic installation into the datapath.
 */
#ifndef EG_POLICY_H
#define EG_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "maps.h"

#define EG_MAX_RATE 100000000U /* per second; beyond this a bucket is meaningless */
#define EG_MIN_AUTOBAN_FLOOR 16
#define EG_MAX_ESCALATE_AFTER 1000000U

struct eg_rate_spec {
	bool set;      /* false: no limit of this kind */
	uint32_t rate; /* per second */
	uint32_t burst;
};

struct eg_policy_spec {
	char name[EG_POLICY_NAME_LEN]; /* used in error messages and status */
	char label[EG_POLICY_NAME_LEN]; /* operator's name for status; name may be a JSON path */
	unsigned int l4;               /* enum eg_l4_index; ignored for the default */
	uint16_t port_lo, port_hi;     /* inclusive; ignored for the default */
	struct eg_rate_spec syn;
	struct eg_rate_spec pkt;
	uint32_t ban_after; /* 0 = never auto-ban */
	uint32_t ban_window_s;
	uint32_t ban_ttl_s; /* 0 = permanent */
	uint32_t max_conns;
	unsigned int mode; /* enum eg_mode */
	struct eg_rate_spec new_source_budget; /* SYNs/s from all unverified sources together */
	/*
	 * SYN flood mode above this many SYNs per second from sources without
	 * state: a new source's first SYN is dropped, its retransmission let
	 * in. 0 = never.
	 */
	uint32_t syn_retry_above;
};

struct eg_policy_table {
	struct eg_policy_spec def;
	struct eg_policy_spec rules[EG_MAX_POLICIES - 1];
	unsigned int nrules;
	uint32_t v6_prefix; /* 1..128 */
	uint32_t flow_idle_s;    /* established flows idle this long are reaped */
	uint32_t verified_ttl_s; /* how long a completed handshake keeps a source verified */
	uint32_t v6_autoban_floor; /* IPv6 auto-bans escalate up to this prefix (eg_config) */
	uint32_t escalate_after;   /* auto-bans in one prefix before it is banned; 0 = never */
};

/* Fills t with an unlimited default policy and the default prefix and timeouts. */
void eg_policy_table_init(struct eg_policy_table *t);

/* Checks every rule; the message names the policy and the field at fault. */
int eg_policy_validate(const struct eg_policy_table *t, struct eg_err *e);

/* Converts one validated spec to the datapath's form. */
int eg_policy_compile(const struct eg_policy_spec *s, struct eg_policy *out, struct eg_err *e);

/*
 * Validates t, writes it into the inactive generation and then switches the
 * datapath to it with one map write. On any error the live policy is untouched.
 * Per-source state and bans are not touched either.
 */
int eg_policy_install(const struct eg_maps *m, const struct eg_policy_table *t, struct eg_err *e);

#endif

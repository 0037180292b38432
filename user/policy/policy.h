/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy table in the terms an operator writes it (rates, bursts, port
 * ranges), its validation, and its installation into the datapath by name.
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
 * A policy's identity across reloads: its "name" (label), else its place in
 * the file ("policies[2]"). Per-source state, budgets, counters and the
 * metrics' policy label are kept per slot, and a policy keeps its slot for
 * as long as it keeps its identity, whatever the order of the file.
 */
const char *eg_policy_ident(const struct eg_policy_spec *s);

/* Which slot each rule of a table takes (slot 0 is always the default). */
struct eg_slot_plan {
	uint32_t slot_of_rule[EG_MAX_POLICIES - 1];
	struct eg_policy_name names[EG_MAX_POLICIES]; /* eg_policy_names after the switch */
	/* Taken by a new policy from a slot no live policy uses: cleared before the switch. */
	bool fresh[EG_MAX_POLICIES];
	/*
	 * Taken from a policy this table drops, because no unused slot was left
	 * (more than 63 names between the live table and this one): cleared just
	 * after the switch, which is when its old policy stops receiving traffic.
	 */
	bool retaken[EG_MAX_POLICIES];
};

/*
 * Plans t's slots against the live table's names (eg_policy_names): a rule
 * whose identity is live keeps that slot; a new one takes the lowest unused
 * slot, else the lowest slot of a policy t drops. -1 only when t has more
 * rules than there are slots.
 */
int eg_policy_plan_slots(const struct eg_policy_name live[EG_MAX_POLICIES],
			 const struct eg_policy_table *t, struct eg_slot_plan *out);

/*
 * Forgets everything the flagged slots (slot 0 never) hold from an earlier
 * policy: counters, budget, per-source and verified state. Connection
 * counts stay: they count connections still open, which give their slot
 * back as they close. A slot that never saw a packet costs nothing.
 */
int eg_policy_clear_slots(const struct eg_maps *m, const bool slots[EG_MAX_POLICIES],
			  struct eg_err *e);

/*
 * Installing a table in steps, so a caller can do more between them (apply.c
 * writes the lists): begin validates t, plans its slots, clears the fresh
 * ones and writes t into the inactive generation, none of which changes what
 * is in force; switch makes it live with one write of eg_config and records
 * the names, undoing itself if anything after that first write fails; undo
 * puts the old generation and names back after a successful switch.
 */
struct eg_policy_txn {
	struct eg_config old_cfg, new_cfg;
	struct eg_policy_name old_names[EG_MAX_POLICIES];
	struct eg_slot_plan plan;
	bool switched;
};

int eg_policy_txn_begin(const struct eg_maps *m, const struct eg_policy_table *t,
			struct eg_policy_txn *x, struct eg_err *e);
int eg_policy_txn_switch(const struct eg_maps *m, struct eg_policy_txn *x, struct eg_err *e);
/* Appends to e's message (when it has one) if undoing fails too. */
int eg_policy_txn_undo(const struct eg_maps *m, struct eg_policy_txn *x, struct eg_err *e);

/*
 * begin and switch: t in force, or on any error the live policy untouched.
 * Bans and allows are not touched (eg_apply_policy_file reconciles them).
 */
int eg_policy_install(const struct eg_maps *m, const struct eg_policy_table *t, struct eg_err *e);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What edgeguard reports, computed once: the bans and allows in force as the
 * CLI's --json and the control socket show them, map fill levels, verdict
 * counters per interface, bans in force by origin, and the live policies'
 * names. `status`, `stats`, `bans`, `top`, /metrics and the control socket
 * all read through here; the front ends only format.
 */
#ifndef EG_REPORT_H
#define EG_REPORT_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "maps.h"

/*
 * The bans in force at now (CLOCK_BOOTTIME ns), one object each:
 *   address, expires_in (seconds, rounded up; null when permanent),
 *   permanent, origin, reason (null when none; "auto: TRIGGER" for the
 *   datapath's own), for auto-bans trigger, policy (slot) and
 *   policy_name, for fleet bans host (the host that banned; null when not
 *   known). *out is a new array.
 */
int eg_report_bans(const struct eg_maps *m, uint64_t now, cJSON **out, struct eg_err *e);
/* The allowlist: an array of {"address", "origin" (manual or fleet), "fleet" (this host shares it)}. */
int eg_report_allows(const struct eg_maps *m, cJSON **out, struct eg_err *e);

/* Bans in force at now by origin, and the entries of each ban map (expired ones included). */
struct eg_ban_tally {
	uint64_t active[EG_ORIGIN_MAX];
	long entries[EG_LIST_MAX]; /* index enum eg_list (the allow slot stays 0) */
};
int eg_report_ban_tally(const struct eg_maps *m, uint64_t now, struct eg_ban_tally *out,
			struct eg_err *e);

/* The maps whose fill level is worth watching, in the order they are shown. */
enum eg_fill_map {
	EG_FILL_SOURCES,
	EG_FILL_BANS_EXACT,
	EG_FILL_BANS_CIDR,
	EG_FILL_AUTOBANS,
	EG_FILL_ALLOWS,
	EG_FILL_FLOWS,
	EG_FILL_VERIFIED,
	EG_FILL_MAX,
};
extern const char *const eg_fill_names[EG_FILL_MAX];

struct eg_fill {
	long entries[EG_FILL_MAX]; /* -1: could not be counted */
	uint32_t capacity[EG_FILL_MAX];
};
/* Counts every map of enum eg_fill_map (batched where the kernel can). */
void eg_report_fill(const struct eg_maps *m, struct eg_fill *out);

/* The verdict counters of one attached interface, from its slot of eg_iface_counters. */
struct eg_iface_report {
	char name[16];
	uint32_t slot;
	uint64_t c[EG_R_VERDICTS];
};
/* Every interface recorded in eg_ifaces into out; returns how many, or -1. */
int eg_report_ifaces(const struct eg_maps *m, struct eg_iface_report out[EG_MAX_IFACES],
		     struct eg_err *e);

/* The live policy slots' names (eg_policy_names); an unused slot's name is "". */
int eg_report_policy_names(const struct eg_maps *m, struct eg_policy_name out[EG_MAX_POLICIES],
			   struct eg_err *e);

/* Every global counter by name: {"passed": N, ...}. */
cJSON *eg_report_counters_json(const uint64_t c[EG_R_MAX]);

#endif

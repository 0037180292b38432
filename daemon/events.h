/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's event stream: one JSON object per line, flushed at once, so a
 * log shipper (or `tail -f | jq`) sees every event the moment it happens.
 */
#ifndef EGD_EVENTS_H
#define EGD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "../bpf/edgeguard.h"

/* Where events go; stdout until ev_set_output. */
void ev_set_output(FILE *fp);
/* Do events go to a file of their own (not stdout)? */
bool ev_to_file(void);

/* Prints "edgeguardd: MSG" on stderr and returns rc, for `return daemon_fail(1, ...)`. */
int daemon_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new event stamped with the current time ("ts", RFC3339 UTC) and its name. */
cJSON *ev_new(const char *event);
/* Same, stamped with a CLOCK_BOOTTIME instant (a datapath event's time). */
cJSON *ev_new_at_boot_ns(const char *event, uint64_t boot_ns);

void ev_add_source(cJSON *o, const struct eg_lpm_key *k);

/* Writes the event as one line, flushes, frees it. */
void ev_emit(cJSON *o);

/* An event {"event": event, "error": msg}, and the message on stderr. */
void ev_error(const char *event, const char *msg);

#endif

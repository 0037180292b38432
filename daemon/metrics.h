/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus metrics of the datapath and the daemon, served over HTTP
 * (libmicrohttpd) from a thread of its own, so a scrape never waits on the
 * daemon's poll loop and the loop never waits on a scrape. Every connection
 * has a deadline for its whole request, and a flood of unfinished requests
 * gives way to new connections, so a slow client cannot keep a scrape out.
 * Names: docs/metrics.md.
 */
#ifndef EGD_METRICS_H
#define EGD_METRICS_H

#include <stdbool.h>
#include "maps.h"
#include "policy.h"

#include "version.h"

#define METRICS_LISTEN_DEFAULT "127.0.0.1:9909"

/*
 * --metrics-listen: "A.B.C.D:PORT", "[IPV6]:PORT" or "off". Returns -1 with a
 * message on stderr when the text is none of these.
 */
int metrics_configure(const char *listen);

/*
 * Starts serving /metrics from maps m (which must outlive metrics_stop).
 * Call with the daemon's signals already blocked: the server thread inherits
 * the mask, so SIGTERM keeps reaching the signalfd. A busy default address
 * is reported and skipped; an address the operator asked for is fatal (-1).
 */
int metrics_start(const struct eg_maps *m);
void metrics_stop(void);

/* Daemon-side facts the maps do not hold. Safe from any thread. */
void metrics_count_ban_expired(void);
void metrics_count_policy_reload(bool ok);

#endif

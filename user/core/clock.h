/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The clocks edgeguard reads, once: CLOCK_BOOTTIME nanoseconds (the
 * datapath's clock for bans, buckets and flows), CLOCK_MONOTONIC
 * milliseconds (deadlines and intervals in user space), the wall clock, and
 * the conversions between them.
 */
#ifndef EG_CLOCK_H
#define EG_CLOCK_H

#include <stdint.h>

/* Current CLOCK_BOOTTIME in ns: the datapath's clock. */
uint64_t eg_now_ns(void);
/* Current CLOCK_MONOTONIC in ms: for deadlines and intervals. */
uint64_t eg_mono_ms(void);
/* Current CLOCK_REALTIME in ns. */
int64_t eg_wall_ns(void);

/* Whole seconds from now_ns until expires_ns, rounded up (never shown as 0 while live). */
uint64_t eg_secs_left(uint64_t expires_ns, uint64_t now_ns);

/* The wall-clock time (ns) of a CLOCK_BOOTTIME instant. */
int64_t eg_boot_to_wall_ns(uint64_t boot_ns);

#endif

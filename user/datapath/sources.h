/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-source state written from user space: for tests, benchmarks and tools
 * that fill eg_sources themselves. The datapath looks a source up only when
 * the tracked filter (eg_tracked) says it may have state, so an entry stored
 * past the datapath must be marked there too or its first packets take the
 * first-seen path.
 */
#ifndef EG_SOURCES_H
#define EG_SOURCES_H

#include <stddef.h>
#include <stdint.h>
#include "maps.h"

/*
 * Marks keys[0..n) as tracked in the epoch of CLOCK_BOOTTIME now_ns (the
 * datapath's clock, test offset included). Reads and rewrites the whole
 * filter: only for a datapath that is not running packets meanwhile.
 */
int eg_sources_track(const struct eg_maps *m, const struct eg_source_key *keys, size_t n,
		     uint64_t now_ns, struct eg_err *e);

#endif

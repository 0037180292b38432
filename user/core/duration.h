/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Durations as an operator writes them, wherever a TTL is taken (CLI
 * options, ban files, importers): "600" (seconds), "90s", "10m", "4h", "7d",
 * "permanent" (0, as --ttl 0 has always meant).
 */
#ifndef EG_DURATION_H
#define EG_DURATION_H

#include <stdint.h>
#include "error.h"

/* The longest duration taken: ten years, far past any TTL that means anything. */
#define EG_DURATION_MAX_S (10ULL * 365 * 24 * 3600)

/*
 * Parses s into *seconds (0 = permanent). -1 with e->msg naming the text
 * when it is not a whole number with at most one unit (s, m, h, d) or
 * "permanent", or is longer than EG_DURATION_MAX_S.
 */
int eg_parse_duration(const char *s, uint64_t *seconds, struct eg_err *e);

/* "permanent", "45s", "10m", "4h", "7d" or "1d2h3m4s": the largest units that add up. */
void eg_format_duration(uint64_t seconds, char *out, size_t size);

#endif

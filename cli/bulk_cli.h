/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Many list changes from one command: ban|unban|allow --from-file and
 * import --apply. The CLI writes the pinned maps itself with batched updates
 * (user/policy/bulk.h) - a hundred thousand entries are far too many for a
 * control request line (EG_CTL_MAX_REQUEST) and the maps are the truth - and
 * then tells a running edgeguardd in one "bulk" request, so it logs one event
 * with the counts and saves the lists at once.
 *
 * All or nothing: a file with any bad line (or a ban the lock-out guards
 * refuse) changes nothing and every bad line is reported with its number;
 * --partial applies the good lines and still exits 1.
 */
#ifndef EG_BULK_CLI_H
#define EG_BULK_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "bulk.h"
#include "cli.h"
#include "listfile.h"

struct cli_bulk {
	enum eg_bulk_op op;
	const char *what;     /* "ban --from-file bans.txt", for messages and the summary */
	const char *name;     /* the file's name in line-numbered messages */
	unsigned int origin;  /* ban: the bans' origin; unban: EG_BULK_ANY_ORIGIN or one */
	uint32_t ttl_s;       /* ban: for lines without a TTL of their own */
	const char *reason;   /* ban: for lines without a reason of their own; NULL none */
	bool force;           /* ban: the lock-out guards do not apply */
	bool partial;         /* apply the good lines of a file with bad ones */
	bool quiet;           /* print nothing but the rejections (import prints its own report) */
	char *summary_out;    /* when not NULL: the summary line, EG_CTL_SUMMARY_LEN bytes */
};

/* Reads path ("-": stdin), parses it, applies it: an exit status (messages printed). */
int cli_bulk_file(const struct cli_bulk *b, const char *path);

/* Applies parsed lines f (rejections already in it): an exit status (messages printed). */
int cli_bulk_lines(const struct cli_bulk *b, struct eg_list_file *f);

/* The lock-out guards (user/policy/guard.h), seen from this shell: its host, its SSH client. */
int cli_guard_check(const struct eg_lpm_key *k, struct eg_err *e);

#endif

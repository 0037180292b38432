/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ban and allow list files (edgeguard ban|unban|allow --from-file): one
 * address or CIDR per line, then optionally a TTL and a reason:
 *
 *   # scrapers, ticket 4711
 *   203.0.113.7
 *   198.51.100.0/24   4h         scraper farm
 *   2001:db8:bad::/48 permanent  abuse report 123
 *   192.0.2.9         -          no TTL of its own: the command's --ttl
 *
 * Columns are separated by spaces or tabs; the reason is the rest of the
 * line. A '#' at the start of a word starts a comment; blank lines are
 * skipped; CRLF line ends are taken. The TTL takes every duration
 * eg_parse_duration takes ("600", "10m", "4h", "7d", "permanent"); "-" is
 * no TTL of its own. Files for unban and allow may carry the same columns:
 * there only the address is read, so one file bans and unbans.
 *
 * Parsing never stops at a bad line: every line is either an entry or a
 * rejection with its line number and why, so the caller can report all of
 * them and decide (all or nothing, or --partial).
 */
#ifndef EG_LISTFILE_H
#define EG_LISTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "error.h"

/* Largest list file read (a million bans with long reasons fit). */
#define EG_LISTFILE_MAX_BYTES (256U << 20)

struct eg_list_line {
	struct eg_lpm_key key;
	uint32_t line;   /* 1-based */
	bool has_ttl;    /* a TTL column other than "-" */
	uint32_t ttl_s;  /* 0 = permanent */
	char reason[EG_BAN_REASON_LEN]; /* "" = none */
};

struct eg_list_reject {
	uint32_t line;
	char msg[EG_ERR_LEN];
};

struct eg_list_file {
	struct eg_list_line *lines;
	size_t n, cap;
	struct eg_list_reject *rejects;
	size_t nrejects, rejects_cap;
};

/*
 * Parses len bytes of text (need not be NUL-terminated) into f (zeroed
 * first; eg_list_file_free it). addr_only: the first column alone counts
 * (unban, allow), the rest of the line is not read. -1 only when out of
 * memory (e says so); bad lines go to f->rejects.
 */
int eg_list_file_parse(const char *text, size_t len, bool addr_only, struct eg_list_file *f,
		       struct eg_err *e);

/* Records a rejection of a parsed line (a caller's own check, e.g. a lock-out guard). */
int eg_list_file_reject(struct eg_list_file *f, uint32_t line, const char *msg, struct eg_err *e);

void eg_list_file_free(struct eg_list_file *f);

/*
 * Reads a whole file, or standard input for "-", into a new buffer *out
 * (NUL-terminated, free it) of *len bytes; at most max bytes, else an error
 * naming the file.
 */
int eg_read_input(const char *path, size_t max, char **out, size_t *len, struct eg_err *e);

#endif

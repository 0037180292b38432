/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Importers: today's hot-fixes in other tools' words, read into what
 * edgeguard does instead (edgeguard import iptables-save|ipset|nginx).
 * Each parser (iptables.c, ipset.c, nginx.c) fills one struct eg_import:
 *   - bans: sources those rules drop outright, with a reason;
 *   - limits: per-source limits on a port (syn or packet rate, max_conns),
 *     which become the rules of a policy fragment;
 *   - skipped: every line or rule it could not translate, and why;
 *   - notes: what was translated with a caveat the operator must know.
 * Parsers never stop at a line they do not understand: the operator gets
 * the whole picture in one run. They are pure (text in, struct out) and
 * fuzzed (tests/fuzz/fuzz_import.c).
 */
#ifndef EG_IMPORT_H
#define EG_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "addr.h"
#include "error.h"

#define EG_IMPORT_TEXT_LEN 160 /* a rule quoted in a message: longer ones are cut with "..." */

struct eg_import_ban {
	struct eg_lpm_key key;
	uint32_t ttl_s; /* 0 = permanent */
	uint32_t line;
	char reason[EG_BAN_REASON_LEN];
};

/* What one source may do on a port (or range) of one protocol; 0 = no such limit. */
struct eg_import_limit {
	unsigned int l4; /* EG_L4_TCP or EG_L4_UDP */
	uint16_t port_lo, port_hi;
	uint32_t syn_rate, syn_burst;
	uint32_t pkt_rate, pkt_burst;
	uint32_t max_conns;
	uint32_t line; /* the first rule that set it */
};

struct eg_import_msg {
	uint32_t line;
	char text[EG_IMPORT_TEXT_LEN]; /* the line or rule, as written */
	char why[EG_ERR_LEN];
};

struct eg_import {
	const char *format; /* "iptables-save", "ipset", "nginx" */
	struct eg_import_ban *bans;
	size_t nbans, bans_cap;
	struct eg_import_limit *limits;
	size_t nlimits, limits_cap;
	struct eg_import_msg *skipped;
	size_t nskipped, skipped_cap;
	struct eg_import_msg *notes;
	size_t nnotes, notes_cap;
	size_t nread; /* rules, entries or directives read */
};

/* Each parses len bytes of text (need not be NUL-terminated) into im (zeroed first). -1: out of memory. */
int eg_import_iptables(const char *text, size_t len, struct eg_import *im, struct eg_err *e);
int eg_import_ipset(const char *text, size_t len, struct eg_import *im, struct eg_err *e);
int eg_import_nginx(const char *text, size_t len, struct eg_import *im, struct eg_err *e);

/* The parser for a format name; NULL when there is none. */
typedef int (*eg_import_fn)(const char *text, size_t len, struct eg_import *im, struct eg_err *e);
eg_import_fn eg_import_parser(const char *format);

void eg_import_free(struct eg_import *im);

/* ---- for the parsers ---- */

/* The first of len bytes of a line, cut to a message's length. */
void eg_import_quote(char out[EG_IMPORT_TEXT_LEN], const char *s, size_t len);
int eg_import_skip(struct eg_import *im, uint32_t line, const char *text, size_t text_len,
		   struct eg_err *e, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int eg_import_note(struct eg_import *im, uint32_t line, const char *text, size_t text_len,
		   struct eg_err *e, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A ban; a key banned twice keeps the longer TTL. reason is cut to fit and made printable. */
int eg_import_add_ban(struct eg_import *im, const struct eg_lpm_key *k, uint32_t ttl_s,
		      const char *reason, uint32_t line, struct eg_err *e);
/*
 * The limit on l4 and exactly [lo, hi], made if new (line: the rule that
 * made it). NULL when out of memory.
 */
struct eg_import_limit *eg_import_limit_for(struct eg_import *im, unsigned int l4, uint16_t lo,
					    uint16_t hi, uint32_t line, struct eg_err *e);

/* A limit on l4 whose ports overlap [lo, hi] without being exactly them; NULL if none. */
const struct eg_import_limit *eg_import_limit_overlap(const struct eg_import *im, unsigned int l4,
						      uint16_t lo, uint16_t hi);

/* The next line of [*p, end) into *s, *len (no newline, no CR before it); false at the end. */
bool eg_import_next_line(const char **p, const char *end, const char **s, size_t *len);

/*
 * Splits a line into words the way a shell would for iptables-save and ipset
 * save: blanks separate, "..." quotes (with \" and \\ inside). At most max
 * words of at most EG_IMPORT_TEXT_LEN bytes each; -1 when a quote is not
 * closed or a word or the count is too long.
 */
int eg_import_words(const char *s, size_t len, char words[][EG_IMPORT_TEXT_LEN], int max);

/* ---- output ---- */

/*
 * The policy fragment for the limits: {"policies":[...]} with one rule per
 * port, named PROTO-PORT, which eg_policy_file_parse accepts. NULL out of
 * memory.
 */
cJSON *eg_import_policy(const struct eg_import *im);
/* Everything as one JSON object: format, read, policy, bans, skipped, notes. */
cJSON *eg_import_json(const struct eg_import *im);

#endif

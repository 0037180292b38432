// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ipset save` output (import.h): the entries of hash:ip, hash:net and
 * bitmap:ip sets become bans, their remaining timeout the TTL, their
 * comment (or the set's name) the reason. ipset alone does not say which
 * sets a rule drops on: every such set is taken, and a note says so. Sets
 * of other types (ports, interfaces, marks, lists of sets) and "nomatch"
 * entries are skipped with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "import.h"

#define MAX_WORDS 32
#define MAX_SETS 256

struct set {
	char name[32];
	bool usable;
};

static struct set *find_set(struct set *sets, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(sets[i].name, name))
			return &sets[i];
	return NULL;
}

int eg_import_ipset(const char *text, size_t len, struct eg_import *im, struct eg_err *e)
{
	static char w[MAX_WORDS][EG_IMPORT_TEXT_LEN];
	static struct set sets[MAX_SETS];
	const char *p = text, *end = text + len, *s;
	char reason[EG_BAN_REASON_LEN];
	struct eg_err why = { 0 };
	struct eg_lpm_key k;
	uint32_t line = 0;
	int nsets = 0, nw;
	size_t n;

	memset(im, 0, sizeof(*im));
	im->format = "ipset";
	while (eg_import_next_line(&p, end, &s, &n)) {
		line++;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (!n || *s == '#')
			continue;
		im->nread++;
		nw = eg_import_words(s, n, w, MAX_WORDS);
/* Records why the line is skipped and goes on with the next one. */
#define SKIP(...) \
	{ \
		if (eg_import_skip(im, line, s, n, e, __VA_ARGS__)) \
			goto fail; \
		continue; \
	}
		if (nw < 0)
			SKIP("cannot split into words (an unclosed quote, or too long)");
		if (nw >= 1 && strcmp(w[0], "create") && strcmp(w[0], "add"))
			SKIP("'%s' does not translate (create and add do)", w[0]);
		if (nw < 3)
			SKIP("not an ipset save line (create NAME TYPE ..., add NAME ENTRY ...)");
		if (!strcmp(w[0], "create")) {
			struct set *st = find_set(sets, nsets, w[1]);
			bool ok = !strcmp(w[2], "hash:ip") || !strcmp(w[2], "hash:net") ||
				  !strcmp(w[2], "bitmap:ip");

			if (!st && nsets < MAX_SETS)
				st = &sets[nsets++];
			if (!st)
				SKIP("more than %d sets", MAX_SETS);
			snprintf(st->name, sizeof(st->name), "%.31s", w[1]);
			st->usable = ok;
			if (!ok)
				SKIP("set type %s: edgeguard bans whole sources (hash:ip, hash:net, bitmap:ip translate); its entries are skipped",
				     w[2]);
			if (eg_import_note(im, line, s, n, e,
					   "every entry of set %s becomes a ban: check that your rules drop on it (ipset alone does not say)",
					   w[1]))
				goto fail;
			continue;
		}
		{
			struct set *st = find_set(sets, nsets, w[1]);
			unsigned long ttl = 0;
			const char *comment = NULL;
			char *dash;

			if (!st)
				SKIP("set %s was not created before", w[1]);
			if (!st->usable)
				SKIP("an entry of set %s, whose type does not translate", w[1]);
			for (int i = 3; i < nw; i++) {
				char *endp;

				if (!strcmp(w[i], "timeout") && i + 1 < nw) {
					ttl = strtoul(w[++i], &endp, 10);
					if (*endp || !ttl)
						ttl = 1;
				} else if (!strcmp(w[i], "comment") && i + 1 < nw) {
					comment = w[++i];
				} else if (!strcmp(w[i], "nomatch")) {
					comment = NULL;
					ttl = ~0UL;
					break;
				} else if (!strcmp(w[i], "packets") || !strcmp(w[i], "bytes") ||
					   !strcmp(w[i], "skbmark") || !strcmp(w[i], "skbprio") ||
					   !strcmp(w[i], "skbqueue")) {
					i++;
				}
			}
			if (ttl == ~0UL)
				SKIP("a nomatch entry (an exception inside a wider entry)");
			dash = strchr(w[2], '-');
			if (dash && !strchr(w[2], ':'))
				SKIP("an address range: write it as CIDRs");
			if (eg_parse_cidr(w[2], &k, &why))
				SKIP("%s", why.msg);
			if (comment)
				snprintf(reason, sizeof(reason), "%.127s", comment);
			else
				snprintf(reason, sizeof(reason), "ipset %.100s", w[1]);
			if (eg_import_add_ban(im, &k, ttl > 0xffffffffUL ? 0xffffffffU : (uint32_t)ttl,
					      reason, line, e))
				goto fail;
		}
#undef SKIP
	}
	return 0;
fail:
	eg_import_free(im);
	return -1;
}

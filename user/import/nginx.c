// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nginx configuration (import.h): `deny ADDRESS|CIDR;` becomes a ban, and so
 * does every entry of a `geo` block whose value differs from the block's
 * default (the usual `geo $blocked { default 0; 192.0.2.7 1; }`). What has
 * no edgeguard counterpart is skipped with the reason: `deny all`, `allow`
 * (edgeguard passes by default), limit_req / limit_conn (HTTP requests and
 * connections per key, not per source on a port), other geo parameters.
 * The rest of the configuration is not read: only these directives are
 * about who may connect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "import.h"

#define MAX_WORDS 8

/* One directive's words up to ';' or '{', with the line it started on. */
struct tok {
	const char *p, *end;
	uint32_t line;
};

/*
 * The next statement: its words, and what ended it (';', '{', '}', or 0 at
 * the end of the text). *start and *slen span its text for messages.
 */
static char next_stmt(struct tok *t, char w[][EG_IMPORT_TEXT_LEN], int *nw, uint32_t *line,
		      const char **start, size_t *slen)
{
	size_t o = 0;
	bool in_word = false;
	char q = 0;

	*nw = 0;
	*start = NULL;
	while (t->p < t->end) {
		char c = *t->p++;

		if (c == '\n')
			t->line++;
		if (q) {
			if (c == q) {
				q = 0;
				continue;
			}
			if (c == '\\' && t->p < t->end)
				c = *t->p++;
		} else if (c == '#') {
			while (t->p < t->end && *t->p != '\n')
				t->p++;
			continue;
		} else if (c == '"' || c == '\'') {
			q = c;
			if (!in_word && *nw < MAX_WORDS) {
				in_word = true;
				o = 0;
			}
			continue;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';' || c == '{' ||
			   c == '}') {
			if (in_word) {
				w[(*nw)++][o] = '\0';
				in_word = false;
			}
			if (c == ';' || c == '{' || c == '}') {
				*slen = *start ? (size_t)(t->p - *start) : 1;
				if (!*start)
					*start = t->p - 1;
				return c;
			}
			continue;
		}
		if (!*start) {
			*start = t->p - 1;
			*line = t->line;
		}
		if (!in_word) {
			if (*nw >= MAX_WORDS)
				continue; /* too many words: the statement is skipped as too long */
			in_word = true;
			o = 0;
		}
		if (o + 1 < EG_IMPORT_TEXT_LEN)
			w[*nw][o++] = c;
	}
	if (in_word)
		w[(*nw)++][o] = '\0';
	*slen = *start ? (size_t)(t->p - *start) : 0;
	return 0;
}

int eg_import_nginx(const char *text, size_t len, struct eg_import *im, struct eg_err *e)
{
	static char w[MAX_WORDS][EG_IMPORT_TEXT_LEN];
	struct tok t = { .p = text, .end = text + len, .line = 1 };
	char geo_var[EG_IMPORT_TEXT_LEN] = "", geo_default[EG_IMPORT_TEXT_LEN] = "";
	char reason[EG_BAN_REASON_LEN];
	int depth = 0, geo_depth = -1, nw;
	bool geo_skip = false; /* the geo block at geo_depth is not on the client address */
	struct eg_err why = { 0 };
	struct eg_lpm_key k;
	const char *s;
	uint32_t line = 1;
	size_t n;
	char end;

	memset(im, 0, sizeof(*im));
	im->format = "nginx";
	while ((end = next_stmt(&t, w, &nw, &line, &s, &n)) || nw) {
#define SKIP(...) \
	do { \
		if (eg_import_skip(im, line, s ? s : "", s ? n : 0, e, __VA_ARGS__)) \
			goto fail; \
	} while (0)
		if (end == '}') {
			if (depth > 0)
				depth--;
			if (depth == geo_depth) {
				geo_depth = -1;
				geo_skip = false;
			}
			continue;
		}
		if (end == '{') {
			if (nw >= 2 && !strcmp(w[0], "geo")) {
				im->nread++;
				snprintf(geo_var, sizeof(geo_var), "%s", w[nw - 1]);
				geo_default[0] = '\0';
				geo_depth = depth;
				geo_skip = nw == 3 && strcmp(w[1], "$remote_addr") &&
					   strcmp(w[1], "$binary_remote_addr");
				if (geo_skip)
					SKIP("geo on %s, not the client address: its entries are not sources",
					     w[1]);
			}
			depth++;
			continue;
		}
		if (!nw)
			continue;
		if (geo_depth >= 0 && depth == geo_depth + 1) {
			if (geo_skip)
				continue;
			im->nread++;
			if (!strcmp(w[0], "ranges") || !strcmp(w[0], "proxy") ||
			    !strcmp(w[0], "include") || !strcmp(w[0], "delete") ||
			    !strcmp(w[0], "proxy_recursive")) {
				SKIP("geo parameter '%s' does not translate", w[0]);
				continue;
			}
			if (nw != 2) {
				SKIP("not a geo entry of two words");
				continue;
			}
			if (!strcmp(w[0], "default")) {
				snprintf(geo_default, sizeof(geo_default), "%s", w[1]);
				continue;
			}
			if (!strcmp(w[1], geo_default[0] ? geo_default : "")) {
				SKIP("the geo default value %s: not a ban", w[1]);
				continue;
			}
			if (eg_parse_cidr(w[0], &k, &why)) {
				SKIP("%s", why.msg);
				continue;
			}
			snprintf(reason, sizeof(reason), "nginx geo %.60s = %.50s", geo_var, w[1]);
			if (eg_import_add_ban(im, &k, 0, reason, line, e))
				goto fail;
			continue;
		}
		if (!strcmp(w[0], "deny")) {
			im->nread++;
			if (nw != 2) {
				SKIP("deny takes one address");
			} else if (!strcmp(w[1], "all")) {
				SKIP("deny all: edgeguard passes what no limit or ban stops; the allow lines before it are the exceptions");
			} else if (eg_parse_cidr(w[1], &k, &why)) {
				SKIP("%s", why.msg);
			} else {
				snprintf(reason, sizeof(reason), "nginx deny, line %u", line);
				if (eg_import_add_ban(im, &k, 0, reason, line, e))
					goto fail;
			}
			continue;
		}
		if (!strcmp(w[0], "allow")) {
			im->nread++;
			SKIP("allow: edgeguard passes by default; sources that must bypass every limit go to the policy's 'allow' by hand");
		} else if (!strncmp(w[0], "limit_req", 9) || !strncmp(w[0], "limit_conn", 10)) {
			im->nread++;
			SKIP("%s limits HTTP requests or connections per nginx key: set a syn limit or max_conns on the port by hand",
			     w[0]);
		}
#undef SKIP
	}
	return 0;
fail:
	eg_import_free(im);
	return -1;
}

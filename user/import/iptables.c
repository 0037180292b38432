// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * iptables-save / ip6tables-save output (import.h). What translates:
 *   -s X [-m comment --comment C] -j DROP|REJECT      a ban of X (reason C)
 *   -p tcp --dport P --syn -m recent --update|--rcheck --seconds S --hitcount H -j DROP
 *                                  (with its -m recent --set partner) a syn limit
 *                                  of H/S per second, burst H, on port P
 *   -m hashlimit --hashlimit-above R/UNIT --hashlimit-burst B --hashlimit-mode srcip -j DROP
 *                                  a syn limit (with --syn) or packet limit on the port
 *   -p tcp --syn --dport P -m connlimit --connlimit-above N -j DROP|REJECT
 *                                  max_conns N on port P
 * in the chains that see traffic to this host: INPUT (filter, mangle),
 * PREROUTING (raw, mangle), and user chains those jump to unconditionally.
 * A limit without a port goes to the default policy. Everything else is
 * skipped with the reason.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "import.h"

#define MAX_WORDS 96
#define MAX_CHAINS 64
#define MAX_PORTS 16

struct table {
	char name[16];
	char chains[MAX_CHAINS][32]; /* the chains in scope */
	int nchains;
};

struct rule {
	char src[EG_IMPORT_TEXT_LEN];
	bool src_neg, dst, out_if, in_if, proto_neg;
	int proto; /* 0 any, 6 tcp, 17 udp, -1 other */
	bool syn;
	uint16_t lo[MAX_PORTS], hi[MAX_PORTS];
	int nports;
	bool recent, recent_set, recent_check, recent_rdest, recent_mask_host;
	unsigned long seconds, hitcount;
	char recent_name[64];
	bool hashlimit, hl_above, hl_srcip, hl_other_mode, hl_bytes, hl_mask_other;
	double hl_rate; /* per second */
	unsigned long hl_burst;
	bool connlimit, cl_above, cl_daddr, cl_mask_other;
	unsigned long cl_n;
	char comment[EG_IMPORT_TEXT_LEN];
	char target[32];
	char unknown[EG_IMPORT_TEXT_LEN]; /* the first option we cannot translate */
};

static bool in_scope(const struct table *t, const char *chain)
{
	for (int i = 0; i < t->nchains; i++)
		if (!strcmp(t->chains[i], chain))
			return true;
	return false;
}

static void scope_add(struct table *t, const char *chain)
{
	if (!in_scope(t, chain) && t->nchains < MAX_CHAINS)
		snprintf(t->chains[t->nchains++], sizeof(t->chains[0]), "%s", chain);
}

static void scope_init(struct table *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (!strcmp(name, "filter") || !strcmp(name, "mangle"))
		scope_add(t, "INPUT");
	if (!strcmp(name, "raw") || !strcmp(name, "mangle"))
		scope_add(t, "PREROUTING");
}

static bool builtin_target(const char *t)
{
	static const char *const names[] = { "ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "NFLOG",
					     "MARK", "CONNMARK", "CT", "NOTRACK", "TRACE", "QUEUE",
					     "NFQUEUE", "TCPMSS", "DNAT", "SNAT", "MASQUERADE",
					     "REDIRECT", "SET", "TPROXY", "AUDIT", "CLASSIFY" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i]))
			return true;
	return false;
}

static bool num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

/* "P", "P:Q", "P,Q,R:S" into r's port list. */
static bool ports(struct rule *r, const char *s)
{
	char buf[EG_IMPORT_TEXT_LEN], *save = NULL, *tok;
	unsigned long a, b;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');

		if (r->nports >= MAX_PORTS)
			return false;
		if (colon)
			*colon = '\0';
		if (!num(tok, 65535, &a) || !a)
			return false;
		b = a;
		if (colon && !num(colon + 1, 65535, &b))
			return false;
		if (b < a)
			return false;
		r->lo[r->nports] = (uint16_t)a;
		r->hi[r->nports++] = (uint16_t)b;
	}
	return r->nports > 0;
}

/* "20/sec", "50/minute", "1/h" ... to per second; false for byte rates. */
static bool rate_per_s(const char *s, double *out)
{
	unsigned long n;
	char buf[64], *slash;
	double div;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash++ = '\0';
	if (!num(buf, 100000000, &n) || !n)
		return false;
	if (!strncmp(slash, "s", 1))
		div = 1;
	else if (!strncmp(slash, "m", 1))
		div = 60;
	else if (!strncmp(slash, "h", 1))
		div = 3600;
	else if (!strncmp(slash, "d", 1))
		div = 86400;
	else
		return false;
	*out = (double)n / div;
	return true;
}

static void unknown(struct rule *r, const char *w)
{
	if (!r->unknown[0])
		snprintf(r->unknown, sizeof(r->unknown), "%s", w);
}

/* Reads the options after "-A CHAIN". */
static void parse_rule(char w[][EG_IMPORT_TEXT_LEN], int n, struct rule *r)
{
	bool neg = false;
	const char *match = "";

	memset(r, 0, sizeof(*r));
	r->recent_mask_host = true;
	r->hl_burst = 5;
	for (int i = 0; i < n; i++) {
		const char *o = w[i], *v = i + 1 < n ? w[i + 1] : NULL;
		unsigned long x;

		if (!strcmp(o, "!")) {
			neg = true;
			continue;
		}
#define TAKE() (v ? (i++, v) : "")
		if (!strcmp(o, "-s") || !strcmp(o, "--source")) {
			snprintf(r->src, sizeof(r->src), "%s", TAKE());
			r->src_neg = neg;
		} else if (!strcmp(o, "-d") || !strcmp(o, "--destination")) {
			TAKE();
			r->dst = true;
		} else if (!strcmp(o, "-i") || !strcmp(o, "--in-interface")) {
			TAKE();
			r->in_if = true;
		} else if (!strcmp(o, "-o") || !strcmp(o, "--out-interface")) {
			TAKE();
			r->out_if = true;
		} else if (!strcmp(o, "-p") || !strcmp(o, "--protocol")) {
			const char *p = TAKE();

			r->proto = !strcmp(p, "tcp") || !strcmp(p, "6") ? 6 :
				   !strcmp(p, "udp") || !strcmp(p, "17") ? 17 : -1;
			r->proto_neg = neg;
		} else if (!strcmp(o, "-m") || !strcmp(o, "--match")) {
			match = TAKE();
			if (!strcmp(match, "recent"))
				r->recent = true;
			else if (!strcmp(match, "hashlimit"))
				r->hashlimit = true;
			else if (!strcmp(match, "connlimit"))
				r->connlimit = true;
			else if (strcmp(match, "tcp") && strcmp(match, "udp") &&
				 strcmp(match, "comment") && strcmp(match, "multiport"))
				unknown(r, match);
		} else if (!strcmp(o, "-j") || !strcmp(o, "--jump") || !strcmp(o, "-g")) {
			snprintf(r->target, sizeof(r->target), "%s", TAKE());
			/* A target's own options (--reject-with, --log-prefix) end the rule for us. */
			if (!strcmp(r->target, "REJECT"))
				break;
		} else if (neg) {
			unknown(r, o); /* a negated match other than -s/-p */
		} else if (!strcmp(o, "--dport") || !strcmp(o, "--destination-port") ||
			   !strcmp(o, "--dports") || !strcmp(o, "--destination-ports")) {
			if (!ports(r, TAKE()))
				unknown(r, o);
		} else if (!strcmp(o, "--syn")) {
			r->syn = true;
		} else if (!strcmp(o, "--tcp-flags")) {
			const char *mask = TAKE(), *set = i + 1 < n ? w[++i] : "";

			if (!strcmp(mask, "FIN,SYN,RST,ACK") && !strcmp(set, "SYN"))
				r->syn = true;
			else
				unknown(r, o);
		} else if (!strcmp(o, "--comment")) {
			snprintf(r->comment, sizeof(r->comment), "%s", TAKE());
		} else if (!strcmp(match, "recent")) {
			if (!strcmp(o, "--set"))
				r->recent_set = true;
			else if (!strcmp(o, "--update") || !strcmp(o, "--rcheck"))
				r->recent_check = true;
			else if (!strcmp(o, "--seconds") && num(TAKE(), 1UL << 31, &x))
				r->seconds = x;
			else if (!strcmp(o, "--hitcount") && num(TAKE(), 1UL << 31, &x))
				r->hitcount = x;
			else if (!strcmp(o, "--name"))
				snprintf(r->recent_name, sizeof(r->recent_name), "%s", TAKE());
			else if (!strcmp(o, "--mask"))
				r->recent_mask_host = !strcmp(TAKE(), "255.255.255.255") ||
						      !strcmp(w[i], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
			else if (!strcmp(o, "--rdest"))
				r->recent_rdest = true;
			else if (strcmp(o, "--rsource") && strcmp(o, "--rttl") && strcmp(o, "--reap"))
				unknown(r, o);
		} else if (!strcmp(match, "hashlimit")) {
			if (!strcmp(o, "--hashlimit-above") || !strcmp(o, "--hashlimit-upto")) {
				r->hl_above = o[12] == 'a';
				if (!rate_per_s(TAKE(), &r->hl_rate))
					r->hl_bytes = true;
			} else if (!strcmp(o, "--hashlimit-burst") && num(TAKE(), 1UL << 31, &x)) {
				r->hl_burst = x;
			} else if (!strcmp(o, "--hashlimit-mode")) {
				const char *m = TAKE();

				r->hl_srcip = strstr(m, "srcip") != NULL;
				r->hl_other_mode = strstr(m, "dstip") || strstr(m, "srcport");
			} else if (!strcmp(o, "--hashlimit-srcmask")) {
				r->hl_mask_other = strcmp(TAKE(), "32") && strcmp(w[i], "128");
			} else if (!strcmp(o, "--hashlimit-dstmask")) {
				TAKE();
			} else if (!strncmp(o, "--hashlimit-htable-", 19) || !strcmp(o, "--hashlimit-name") ||
				   !strcmp(o, "--hashlimit-rate-interval") ||
				   !strcmp(o, "--hashlimit-rate-match")) {
				TAKE();
			} else {
				unknown(r, o);
			}
		} else if (!strcmp(match, "connlimit")) {
			if ((!strcmp(o, "--connlimit-above") || !strcmp(o, "--connlimit-upto")) &&
			    num(TAKE(), 1U << 30, &x)) {
				r->cl_above = o[12] == 'a';
				r->cl_n = x;
			} else if (!strcmp(o, "--connlimit-mask")) {
				r->cl_mask_other = strcmp(TAKE(), "32") && strcmp(w[i], "128") &&
						   strcmp(w[i], "64");
			} else if (!strcmp(o, "--connlimit-daddr")) {
				r->cl_daddr = true;
			} else if (strcmp(o, "--connlimit-saddr")) {
				unknown(r, o);
			}
		} else {
			unknown(r, o);
		}
#undef TAKE
		neg = false;
	}
}

/* Does some --update/--rcheck rule drop on the list this --set fills? */
static bool recent_partner(const char *text, size_t len, const char *name);

static uint32_t ceil_rate(double per_s)
{
	uint32_t r = (uint32_t)per_s;

	return (double)r < per_s ? r + 1 : r;
}

struct ctx {
	struct eg_import *im;
	const char *all;
	size_t all_len;
	uint32_t line;
	const char *text;
	size_t len;
	struct eg_err *e;
};

#define SKIP(c, ...) eg_import_skip((c)->im, (c)->line, (c)->text, (c)->len, (c)->e, __VA_ARGS__)
#define NOTE(c, ...) eg_import_note((c)->im, (c)->line, (c)->text, (c)->len, (c)->e, __VA_ARGS__)

static int set_limit(struct ctx *c, const struct rule *r, uint32_t rate, uint32_t burst,
		     uint32_t conns)
{
	int nports = r->nports ? r->nports : 1;
	/* The default policy is one, whatever the protocol. */
	unsigned int l4 = r->proto == 17 && r->nports ? EG_L4_UDP : EG_L4_TCP;
	bool syn = r->proto == 6 && r->syn;

	if (!r->nports && NOTE(c, "no port: the limit goes to the default policy, for all traffic no port rule takes"))
		return -1;
	for (int i = 0; i < nports; i++) {
		const struct eg_import_limit *o =
			r->nports ? eg_import_limit_overlap(c->im, l4, r->lo[i], r->hi[i]) : NULL;
		struct eg_import_limit *l;
		uint32_t *lr, *lb;

		if (o) {
			if (SKIP(c, "ports %u-%u overlap those of line %u (%u-%u): edgeguard rules of one protocol must not overlap; merge them by hand",
				 r->lo[i], r->hi[i], o->line, o->port_lo, o->port_hi))
				return -1;
			continue;
		}
		l = eg_import_limit_for(c->im, l4, r->nports ? r->lo[i] : 0,
					r->nports ? r->hi[i] : 0, c->line, c->e);
		if (!l)
			return -1;
		if (conns) {
			if (l->max_conns && l->max_conns <= conns)
				continue;
			l->max_conns = conns;
			continue;
		}
		lr = syn ? &l->syn_rate : &l->pkt_rate;
		lb = syn ? &l->syn_burst : &l->pkt_burst;
		if (*lr && *lr <= rate) {
			if (NOTE(c, "a stricter %s limit on this port is already taken (line %u)",
				 syn ? "syn" : "packet", l->line))
				return -1;
			continue;
		}
		*lr = rate;
		*lb = burst;
	}
	return 0;
}

static int translate_limit(struct ctx *c, const struct rule *r)
{
	double per_s;
	uint32_t rate, burst;

	if (r->src[0] || r->dst)
		return SKIP(c, "a limit for some sources or destinations only: edgeguard limits every source alike");
	if (r->proto <= 0 && (r->nports || r->proto < 0))
		return SKIP(c, "a limit on a protocol other than TCP or UDP");
	if (r->connlimit) {
		if (!r->cl_above || r->cl_daddr || r->cl_mask_other)
			return SKIP(c, "connlimit other than --connlimit-above per source address (mask 32, or 64/128 for IPv6)");
		if (r->proto != 6 || !r->syn || !r->nports)
			return SKIP(c, "connlimit on other than TCP SYNs to a port: edgeguard caps established TCP connections per source on a port");
		return set_limit(c, r, 0, 0, (uint32_t)r->cl_n);
	}
	if (r->recent) {
		if (!r->recent_check || !r->seconds || !r->hitcount)
			return SKIP(c, "recent without --update/--rcheck, --seconds and --hitcount");
		if (r->recent_rdest || !r->recent_mask_host)
			return SKIP(c, "recent on destinations or on masked sources: edgeguard counts per source host");
		per_s = (double)r->hitcount / (double)r->seconds;
		burst = (uint32_t)r->hitcount;
	} else {
		if (r->hl_bytes)
			return SKIP(c, "hashlimit in bytes: edgeguard limits packets and new connections");
		if (!r->hl_above)
			return SKIP(c, "hashlimit --hashlimit-upto: what happens above the limit depends on the rules after it; write it as --hashlimit-above ... -j DROP");
		if (!r->hl_srcip || r->hl_other_mode || r->hl_mask_other)
			return SKIP(c, "hashlimit not per source address (--hashlimit-mode srcip, srcmask 32): edgeguard limits per source");
		per_s = r->hl_rate;
		burst = (uint32_t)r->hl_burst;
	}
	rate = ceil_rate(per_s);
	if ((double)rate != per_s &&
	    NOTE(c, "%.3g/s rounded up to %u/s: edgeguard rates are whole numbers per second", per_s,
		 rate))
		return -1;
	if (rate > burst)
		burst = rate;
	return set_limit(c, r, rate, burst, 0);
}

static int translate_ban(struct ctx *c, const struct table *t, const char *chain,
			 const struct rule *r)
{
	char buf[EG_IMPORT_TEXT_LEN], reason[EG_BAN_REASON_LEN], *save = NULL, *tok;
	struct eg_lpm_key k;
	struct eg_err why = { 0 };

	if (r->comment[0])
		snprintf(reason, sizeof(reason), "%.127s", r->comment);
	else
		snprintf(reason, sizeof(reason), "iptables-save line %u (%.15s %.31s)", c->line,
			 t->name, chain);
	snprintf(buf, sizeof(buf), "%s", r->src);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (eg_parse_cidr(tok, &k, &why)) {
			if (SKIP(c, "source: %s", why.msg))
				return -1;
			continue;
		}
		if (eg_import_add_ban(c->im, &k, 0, reason, c->line, c->e))
			return -1;
	}
	if (r->in_if && NOTE(c, "the interface match is dropped: an edgeguard ban holds on every attached interface"))
		return -1;
	return 0;
}

static int translate(struct ctx *c, const struct table *t, const char *chain, const struct rule *r)
{
	bool drop = !strcmp(r->target, "DROP") || !strcmp(r->target, "REJECT");
	bool limit = r->recent || r->hashlimit || r->connlimit;

	if (!in_scope(t, chain))
		return SKIP(c, "chain %s of table %s: not on the way in (edgeguard sees traffic to this host: INPUT, PREROUTING and the chains they jump to unconditionally)",
			    chain, t->name);
	if (r->unknown[0])
		return SKIP(c, "'%s' does not translate", r->unknown);
	if (r->src_neg || r->proto_neg)
		return SKIP(c, "a negated source or protocol");
	if (r->out_if)
		return SKIP(c, "an output interface");
	if (!r->target[0] && r->recent && r->recent_set && !r->recent_check) {
		if (recent_partner(c->all, c->all_len, r->recent_name))
			return 0; /* the --update rule it feeds carries the limit */
		return SKIP(c, "recent --set alone only records sources: no rule here drops on list '%s'",
			    r->recent_name);
	}
	if (r->hashlimit && !r->hl_above)
		return SKIP(c, "hashlimit --hashlimit-upto: what happens above the limit depends on the rules after it; write it as --hashlimit-above ... -j DROP");
	if (!strcmp(r->target, "ACCEPT"))
		return SKIP(c, "ACCEPT: edgeguard passes what no limit or ban stops; sources that must bypass every limit go to the policy's 'allow' by hand");
	if (r->target[0] && !builtin_target(r->target)) {
		if (in_scope(t, r->target) && !r->src[0] && !r->proto && !r->nports && !limit)
			return 0; /* an unconditional jump: its chain is translated in place */
		return SKIP(c, "a conditional jump to chain %s", r->target);
	}
	if (!drop)
		return SKIP(c, "target %s does not translate", r->target[0] ? r->target : "(none)");
	if (!strcmp(r->target, "REJECT") &&
	    NOTE(c, "REJECT becomes a silent drop: edgeguard answers nothing"))
		return -1;
	if (limit)
		return translate_limit(c, r);
	if (r->dst)
		return SKIP(c, "a drop for one destination: an edgeguard ban drops the source everywhere");
	if (!r->src[0])
		return SKIP(c, "drops %s for everyone: not a per-source rule",
			    r->nports ? "a port" : r->proto ? "a protocol" : "everything");
	if (r->proto || r->nports || r->syn)
		return SKIP(c, "a ban of one protocol or port: an edgeguard ban drops every packet of the source ('edgeguard ban' it if that is what you mean)");
	return translate_ban(c, t, chain, r);
}

static bool recent_partner(const char *text, size_t len, const char *name)
{
	static char w[MAX_WORDS][EG_IMPORT_TEXT_LEN];
	const char *p = text, *end = text + len, *s;
	size_t n;
	struct rule r;

	while (eg_import_next_line(&p, end, &s, &n)) {
		int nw;

		if (n < 3 || strncmp(s, "-A ", 3) || !memmem(s, n, "--hitcount", 10))
			continue;
		nw = eg_import_words(s, n, w, MAX_WORDS);
		if (nw < 2)
			continue;
		parse_rule(w + 2, nw - 2, &r);
		if (r.recent_check && !strcmp(r.recent_name, name) &&
		    (!strcmp(r.target, "DROP") || !strcmp(r.target, "REJECT")))
			return true;
	}
	return false;
}

/* Pass 1: which user chains the entry chains jump to unconditionally, per table. */
static void find_scope(const char *text, size_t len, struct table *tables, int *ntables)
{
	static char w[MAX_WORDS][EG_IMPORT_TEXT_LEN];
	bool grew = true;

	for (int round = 0; round < 8 && grew; round++) {
		const char *p = text, *end = text + len, *s;
		struct table *t = NULL;
		size_t n;

		grew = false;
		while (eg_import_next_line(&p, end, &s, &n)) {
			if (n > 1 && *s == '*') {
				char name[16];

				snprintf(name, sizeof(name), "%.*s", (int)(n - 1 < 15 ? n - 1 : 15), s + 1);
				t = NULL;
				for (int i = 0; i < *ntables; i++)
					if (!strcmp(tables[i].name, name))
						t = &tables[i];
				if (!t && *ntables < 8) {
					t = &tables[(*ntables)++];
					scope_init(t, name);
				}
				continue;
			}
			if (!t || n < 3 || strncmp(s, "-A ", 3))
				continue;
			/* Exactly "-A CHAIN -j TARGET": an unconditional jump. */
			if (eg_import_words(s, n, w, MAX_WORDS) == 4 && !strcmp(w[2], "-j") &&
			    in_scope(t, w[1]) && !builtin_target(w[3]) && !in_scope(t, w[3])) {
				scope_add(t, w[3]);
				grew = true;
			}
		}
	}
}

int eg_import_iptables(const char *text, size_t len, struct eg_import *im, struct eg_err *e)
{
	static char w[MAX_WORDS][EG_IMPORT_TEXT_LEN];
	struct table tables[8], *t = NULL;
	const char *p = text, *end = text + len, *s;
	struct ctx c = { .im = im, .all = text, .all_len = len, .e = e };
	int ntables = 0, nw;
	struct rule r;
	size_t n;

	memset(im, 0, sizeof(*im));
	im->format = "iptables-save";
	find_scope(text, len, tables, &ntables);
	while (eg_import_next_line(&p, end, &s, &n)) {
		c.line++;
		c.text = s;
		c.len = n;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (!n || *s == '#' || (n == 6 && !memcmp(s, "COMMIT", 6)))
			continue;
		if (*s == '*') {
			t = NULL;
			for (int i = 0; i < ntables; i++)
				if ((size_t)strlen(tables[i].name) == n - 1 &&
				    !memcmp(tables[i].name, s + 1, n - 1))
					t = &tables[i];
			continue;
		}
		nw = eg_import_words(s, n, w, MAX_WORDS);
		if (*s == ':') {
			/* ":INPUT DROP [0:0]": a policy that drops what no rule accepted. */
			if (t && nw >= 2 && !strcmp(w[1], "DROP") && in_scope(t, w[0] + 1) &&
			    SKIP(&c, "a default-drop policy: edgeguard passes what no limit or ban drops"))
				goto fail;
			continue;
		}
		im->nread++;
		if (nw < 0) {
			if (SKIP(&c, "cannot split into words (an unclosed quote, or too long)"))
				goto fail;
			continue;
		}
		if (!t || nw < 2 || strcmp(w[0], "-A")) {
			if (SKIP(&c, t ? "not an -A rule" : "outside a table (*filter ... COMMIT)"))
				goto fail;
			continue;
		}
		parse_rule(w + 2, nw - 2, &r);
		if (translate(&c, t, w[1], &r))
			goto fail;
	}
	return 0;
fail:
	eg_import_free(im);
	return -1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "guard.h"

/* The first word of SSH_CONNECTION ("client port server port") or SSH_CLIENT ("client port port"). */
static bool ssh_client(struct eg_addr *out)
{
	const char *vars[] = { "SSH_CONNECTION", "SSH_CLIENT" };
	char word[64];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		size_t n;

		if (!v)
			continue;
		n = strcspn(v, " ");
		if (!n || n >= sizeof(word))
			continue;
		memcpy(word, v, n);
		word[n] = '\0';
		if (eg_parse_addr(word, out, NULL) == 0)
			return true;
	}
	return false;
}

static bool sockaddr_addr(const struct sockaddr *sa, struct eg_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = EG_AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		out->family = EG_AF_INET6;
		memcpy(out->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

int eg_guard_load(struct eg_guard *g, struct eg_err *e)
{
	struct ifaddrs *all, *i;

	memset(g, 0, sizeof(*g));
	g->has_ssh = ssh_client(&g->ssh);
	if (getifaddrs(&all))
		return eg_fail_errno(e, errno, "cannot list this host's addresses");
	for (i = all; i && g->nlocal < EG_GUARD_MAX_LOCAL; i = i->ifa_next) {
		if (!i->ifa_addr || !sockaddr_addr(i->ifa_addr, &g->local[g->nlocal].addr))
			continue;
		snprintf(g->local[g->nlocal].ifname, sizeof(g->local[0].ifname), "%s",
			 i->ifa_name ? i->ifa_name : "?");
		g->nlocal++;
	}
	freeifaddrs(all);
	return 0;
}

bool eg_guard_why(const struct eg_guard *g, const struct eg_lpm_key *k, char *why, size_t len)
{
	char addr[EG_CIDR_STRLEN];

	if (eg_key_plen(k) == 0) {
		snprintf(why, len, "it covers every %s address", eg_key_is_v4(k) ? "IPv4" : "IPv6");
		return true;
	}
	for (int i = 0; i < g->nlocal; i++) {
		if (!eg_key_covers(k, &g->local[i].addr))
			continue;
		eg_format_addr(&g->local[i].addr, addr, sizeof(addr));
		snprintf(why, len, "it covers %s, an address of this host (%s)", addr,
			 g->local[i].ifname);
		return true;
	}
	if (g->has_ssh && eg_key_covers(k, &g->ssh)) {
		eg_format_addr(&g->ssh, addr, sizeof(addr));
		snprintf(why, len, "it covers %s, the client of this SSH session", addr);
		return true;
	}
	return false;
}

int eg_guard_check(const struct eg_guard *g, const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN], why[EG_ERR_LEN];

	if (!eg_guard_why(g, k, why, sizeof(why)))
		return 0;
	eg_format_cidr(k, cidr, sizeof(cidr));
	return eg_fail_code(e, EPERM, "refusing to ban %s: %s (--force to do it anyway)", cidr, why);
}

/* ---- policy files ---- */

static bool allowed(const struct eg_policy_file *f, const struct eg_addr *a)
{
	for (size_t i = 0; i < f->nallow; i++)
		if (eg_key_covers(&f->allow[i], a))
			return true;
	return false;
}

/* The policy traffic to tcp/22 meets: the rule covering it, else the default. */
static const struct eg_policy_spec *ssh_policy(const struct eg_policy_table *t)
{
	for (unsigned int i = 0; i < t->nrules; i++)
		if (t->rules[i].l4 == EG_L4_TCP && t->rules[i].port_lo <= EG_GUARD_SSH_PORT &&
		    t->rules[i].port_hi >= EG_GUARD_SSH_PORT)
			return &t->rules[i];
	return &t->def;
}

static void ports_of(const struct eg_policy_spec *s, bool is_default, char *out, size_t len)
{
	if (is_default)
		snprintf(out, len, "every port no rule covers");
	else if (s->port_lo == s->port_hi)
		snprintf(out, len, "%s/%u", s->l4 == EG_L4_UDP ? "udp" : "tcp", s->port_lo);
	else
		snprintf(out, len, "%s/%u-%u", s->l4 == EG_L4_UDP ? "udp" : "tcp", s->port_lo,
			 s->port_hi);
}

static void check_limits(const struct eg_guard *g, const struct eg_policy_file *f,
			 const struct eg_policy_spec *s, bool is_default, eg_guard_warn_cb warn,
			 void *ctx)
{
	bool ssh = s == ssh_policy(&f->table) && !(g && g->has_ssh && allowed(f, &g->ssh));
	char msg[PATH_MAX + 1024], ports[48];

	if (s->mode != EG_MODE_ENFORCE || !s->pkt.set ||
	    (s->pkt.rate >= EG_GUARD_MIN_PKT_RATE && s->pkt.burst >= EG_GUARD_MIN_PKT_BURST))
		return;
	ports_of(s, is_default, ports, sizeof(ports));
	snprintf(msg, sizeof(msg),
		 "%s: %s.packets: %u/s (burst %u) would cut off %s%s a load balancer's health checks on %s (a TCP check is several packets at once); allowlist them or allow at least %u/s, burst %u",
		 f->path, is_default ? "default" : s->name, s->pkt.rate, s->pkt.burst,
		 ssh ? "SSH sessions (tcp/22 falls under it, and an interactive session sends tens of packets a second)" : "",
		 ssh ? " and" : "", ports, EG_GUARD_MIN_PKT_RATE, EG_GUARD_MIN_PKT_BURST);
	warn(msg, ctx);
}

void eg_guard_ban_warnings(const struct eg_guard *g, const struct eg_policy_file *f,
			   eg_guard_warn_cb warn, void *ctx)
{
	char cidr[EG_CIDR_STRLEN], why[EG_ERR_LEN], msg[PATH_MAX + 1024];

	for (size_t i = 0; i < f->nbans; i++) {
		if (!eg_guard_why(g, &f->bans[i].key, why, sizeof(why)))
			continue;
		eg_format_cidr(&f->bans[i].key, cidr, sizeof(cidr));
		snprintf(msg, sizeof(msg),
			 "%s: bans[%zu]: %s: %s; policy load refuses it without --force", f->path, i,
			 cidr, why);
		warn(msg, ctx);
	}
}

void eg_guard_limit_warnings(const struct eg_guard *g, const struct eg_policy_file *f,
			     eg_guard_warn_cb warn, void *ctx)
{
	check_limits(g, f, &f->table.def, true, warn, ctx);
	for (unsigned int i = 0; i < f->table.nrules; i++)
		check_limits(g, f, &f->table.rules[i], false, warn, ctx);
}

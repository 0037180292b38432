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

int eg_guard_check(const struct eg_guard *g, const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN], addr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	if (eg_key_plen(k) == 0)
		return eg_fail_code(e, EPERM,
				    "refusing to ban %s: it covers every %s address (--force to do it anyway)",
				    cidr, eg_key_is_v4(k) ? "IPv4" : "IPv6");
	for (int i = 0; i < g->nlocal; i++) {
		if (!eg_key_covers(k, &g->local[i].addr))
			continue;
		eg_format_addr(&g->local[i].addr, addr, sizeof(addr));
		return eg_fail_code(e, EPERM,
				    "refusing to ban %s: it covers %s, an address of this host (%s) (--force to do it anyway)",
				    cidr, addr, g->local[i].ifname);
	}
	if (g->has_ssh && eg_key_covers(k, &g->ssh)) {
		eg_format_addr(&g->ssh, addr, sizeof(addr));
		return eg_fail_code(e, EPERM,
				    "refusing to ban %s: it covers %s, the client of this SSH session (--force to do it anyway)",
				    cidr, addr);
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lock-out guards (user/policy/guard.h): a ban of every address, of this
 * host's addresses or of the SSH client is refused with a message naming
 * what it covers; bans beside them pass. Pure user space: the host's
 * addresses come from a hand-made guard, then from the real getifaddrs.
 */
#include <errno.h>
#include <stdlib.h>
#include "guard.h"
#include "testlib.h"

static struct eg_lpm_key key(const char *cidr)
{
	struct eg_lpm_key k;
	struct eg_err e;

	CHECK(eg_parse_cidr(cidr, &k, &e) == 0, "%s: %s", cidr, e.msg);
	return k;
}

static void add_local(struct eg_guard *g, const char *addr, const char *ifname)
{
	struct eg_err e;

	CHECK(eg_parse_addr(addr, &g->local[g->nlocal].addr, &e) == 0, "%s: %s", addr, e.msg);
	snprintf(g->local[g->nlocal].ifname, sizeof(g->local[0].ifname), "%s", ifname);
	g->nlocal++;
}

static void refused(const struct eg_guard *g, const char *cidr, const char *want)
{
	struct eg_lpm_key k = key(cidr);
	struct eg_err e = { 0 };

	CHECK(eg_guard_check(g, &k, &e) == -1, "a ban of %s was let through", cidr);
	CHECK(e.code == EPERM, "%s: code %d", cidr, e.code);
	CHECK(!strcmp(e.msg, want), "%s: '%s', want '%s'", cidr, e.msg, want);
}

static void passes(const struct eg_guard *g, const char *cidr)
{
	struct eg_lpm_key k = key(cidr);
	struct eg_err e = { 0 };

	CHECK(eg_guard_check(g, &k, &e) == 0, "a ban of %s was refused: %s", cidr, e.msg);
}

static struct eg_guard edge_host(void)
{
	struct eg_guard g;
	struct eg_err e;

	memset(&g, 0, sizeof(g));
	add_local(&g, "192.0.2.10", "eth0");
	add_local(&g, "2001:db8:1::10", "eth0");
	CHECK(eg_parse_addr("198.51.100.7", &g.ssh, &e) == 0, "ssh: %s", e.msg);
	g.has_ssh = true;
	return g;
}

static void every_address_is_refused(void)
{
	struct eg_guard none;

	memset(&none, 0, sizeof(none));
	refused(&none, "0.0.0.0/0",
		"refusing to ban 0.0.0.0/0: it covers every IPv4 address (--force to do it anyway)");
	refused(&none, "::/0",
		"refusing to ban ::/0: it covers every IPv6 address (--force to do it anyway)");
	passes(&none, "0.0.0.0/1");
	passes(&none, "::/1");
}

static void this_host_is_refused(void)
{
	struct eg_guard g = edge_host();

	refused(&g, "192.0.2.10",
		"refusing to ban 192.0.2.10: it covers 192.0.2.10, an address of this host (eth0) (--force to do it anyway)");
	refused(&g, "192.0.2.0/24",
		"refusing to ban 192.0.2.0/24: it covers 192.0.2.10, an address of this host (eth0) (--force to do it anyway)");
	refused(&g, "128.0.0.0/1",
		"refusing to ban 128.0.0.0/1: it covers 192.0.2.10, an address of this host (eth0) (--force to do it anyway)");
	refused(&g, "2001:db8::/32",
		"refusing to ban 2001:db8::/32: it covers 2001:db8:1::10, an address of this host (eth0) (--force to do it anyway)");
	passes(&g, "192.0.2.11");
	passes(&g, "192.0.2.0/29");
	passes(&g, "192.0.2.16/28");
	passes(&g, "2001:db8:2::/48");
}

static void ssh_client_is_refused(void)
{
	struct eg_guard g = edge_host();

	refused(&g, "198.51.100.7",
		"refusing to ban 198.51.100.7: it covers 198.51.100.7, the client of this SSH session (--force to do it anyway)");
	refused(&g, "198.51.100.0/24",
		"refusing to ban 198.51.100.0/24: it covers 198.51.100.7, the client of this SSH session (--force to do it anyway)");
	passes(&g, "198.51.100.8");
	g.has_ssh = false;
	passes(&g, "198.51.100.7");
}

/* The family decides: an IPv6 ban never covers an IPv4 address that shares its bytes. */
static void families_do_not_mix(void)
{
	struct eg_guard g;

	memset(&g, 0, sizeof(g));
	add_local(&g, "10.0.0.1", "eth0");
	passes(&g, "a00::/8");
	passes(&g, "::a00:1");
	refused(&g, "10.0.0.0/8",
		"refusing to ban 10.0.0.0/8: it covers 10.0.0.1, an address of this host (eth0) (--force to do it anyway)");
}

static void load_reads_the_host_and_the_session(void)
{
	struct eg_guard g;
	struct eg_err e = { 0 };
	bool lo = false;

	unsetenv("SSH_CLIENT");
	setenv("SSH_CONNECTION", "203.0.113.50 50022 192.0.2.1 22", 1);
	CHECK(eg_guard_load(&g, &e) == 0, "eg_guard_load: %s", e.msg);
	CHECK(g.has_ssh, "SSH_CONNECTION not read");
	refused(&g, "203.0.113.50",
		"refusing to ban 203.0.113.50: it covers 203.0.113.50, the client of this SSH session (--force to do it anyway)");
	for (int i = 0; i < g.nlocal; i++)
		lo = lo || !strcmp(g.local[i].ifname, "lo");
	CHECK(lo, "the loopback address was not among the %d local addresses", g.nlocal);
	refused(&g, "127.0.0.0/8",
		"refusing to ban 127.0.0.0/8: it covers 127.0.0.1, an address of this host (lo) (--force to do it anyway)");

	unsetenv("SSH_CONNECTION");
	setenv("SSH_CLIENT", "2001:db8:5::9 50022 22", 1);
	CHECK(eg_guard_load(&g, &e) == 0, "eg_guard_load: %s", e.msg);
	refused(&g, "2001:db8:5::/48",
		"refusing to ban 2001:db8:5::/48: it covers 2001:db8:5::9, the client of this SSH session (--force to do it anyway)");

	setenv("SSH_CLIENT", "not-an-address 1 2", 1);
	CHECK(eg_guard_load(&g, &e) == 0, "eg_guard_load: %s", e.msg);
	CHECK(!g.has_ssh, "a malformed SSH_CLIENT was taken as a client");
	unsetenv("SSH_CLIENT");
	CHECK(eg_guard_load(&g, &e) == 0, "eg_guard_load: %s", e.msg);
	CHECK(!g.has_ssh, "an SSH client without an SSH session");
}

int main(void)
{
	RUN(every_address_is_refused);
	RUN(this_host_is_refused);
	RUN(ssh_client_is_refused);
	RUN(families_do_not_mix);
	RUN(load_reads_the_host_and_the_session);
	return tl_exit_code();
}

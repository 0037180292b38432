// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Plants and inspects tracked flows in the pinned maps (EDGEGUARD_BPF_DIR),
 * for the end-to-end tests of edgeguardd's sweep:
 *
 *   flow_insert add CLIENT CPORT SERVER SPORT SLOT now|future
 *       stores a flow whose idle timer was never armed, owned by (CLIENT,
 *       SLOT), and counts it in eg_conns as the datapath would. "now": last
 *       seen now on the datapath's clock, so idle once the policy's idle
 *       timeout has passed; "future": last seen an hour ahead, so it cannot
 *       turn idle during a test. Neither goes back from now: the clock
 *       (boot time) of a machine that just booted may be near zero.
 *   flow_insert has CLIENT CPORT SERVER SPORT    exit 0 if tracked, 1 if not
 *   flow_insert conns CLIENT SLOT                prints the owner's count (-1: none)
 *
 * CLIENT is taken as the owner address as is (IPv4, or an already masked IPv6).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "maps.h"
#include "pins.h"

static int parse_addr(const char *text, struct eg_addr *out)
{
	struct eg_err e = { 0 };

	if (eg_parse_addr(text, out, &e)) {
		fprintf(stderr, "flow_insert: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int flow_key(char **argv, struct eg_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (parse_addr(argv[0], &k->client) || parse_addr(argv[2], &k->server))
		return -1;
	k->client_port = (uint16_t)atoi(argv[1]);
	k->server_port = (uint16_t)atoi(argv[3]);
	return 0;
}

static int owner_key(const char *addr, const char *slot, struct eg_source_key *k)
{
	memset(k, 0, sizeof(*k));
	k->policy = (uint32_t)atoi(slot);
	return parse_addr(addr, &k->addr);
}

static int add(struct eg_maps *m, char **argv)
{
	struct eg_flow_key k;
	struct eg_flow f;
	uint64_t n = 0;

	memset(&f, 0, sizeof(f));
	if (flow_key(argv, &k) || owner_key(argv[0], argv[4], &f.owner))
		return 2;
	if (strcmp(argv[5], "now") && strcmp(argv[5], "future")) {
		fprintf(stderr, "flow_insert: last seen '%s': now or future\n", argv[5]);
		return 2;
	}
	f.last_seen_ns = eg_now_ns() + (argv[5][0] == 'f' ? 3600ULL * 1000000000ULL : 0);
	if (bpf_map_update_elem(m->flows, &k, &f, BPF_NOEXIST)) {
		fprintf(stderr, "flow_insert: eg_flows: %s\n", strerror(errno));
		return 1;
	}
	bpf_map_lookup_elem(m->conns, &f.owner, &n);
	n++;
	if (bpf_map_update_elem(m->conns, &f.owner, &n, BPF_ANY)) {
		fprintf(stderr, "flow_insert: eg_conns: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int has(struct eg_maps *m, char **argv)
{
	struct eg_flow_key k;
	struct eg_flow f;

	if (flow_key(argv, &k))
		return 2;
	return bpf_map_lookup_elem(m->flows, &k, &f) == 0 ? 0 : 1;
}

static int conns(struct eg_maps *m, char **argv)
{
	struct eg_source_key k;
	uint64_t n;

	if (owner_key(argv[0], argv[1], &k))
		return 2;
	if (bpf_map_lookup_elem(m->conns, &k, &n))
		printf("-1\n");
	else
		printf("%llu\n", (unsigned long long)n);
	return 0;
}

int main(int argc, char **argv)
{
	struct eg_maps m;
	struct eg_err e = { 0 };
	int rc = 2;

	if (eg_maps_open_pinned(&m, &e)) {
		fprintf(stderr, "flow_insert: %s\n", e.msg);
		return 1;
	}
	if (argc == 8 && !strcmp(argv[1], "add"))
		rc = add(&m, argv + 2);
	else if (argc == 6 && !strcmp(argv[1], "has"))
		rc = has(&m, argv + 2);
	else if (argc == 4 && !strcmp(argv[1], "conns"))
		rc = conns(&m, argv + 2);
	else
		fprintf(stderr, "usage: flow_insert add CLIENT CPORT SERVER SPORT SLOT now|future\n"
				"       flow_insert has CLIENT CPORT SERVER SPORT\n"
				"       flow_insert conns CLIENT SLOT\n");
	eg_maps_close(&m);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * End-to-end helper: loads the datapath, installs a one-port policy from the
 * command line, attaches to the given interfaces and reports what happened.
 *
 *   e2e_harness --iface IF [--iface IF...] --port P [--syn-rate R --syn-burst B]
 *               [--pkt-rate R --pkt-burst B] [--ban-after N --ban-window S]
 *               [--ban-ttl S] [--mode enforce|dry-run] [--seconds S]
 *               [--max-sources N]
 *
 * Prints "attached IF mode=native|skb" per interface, then "ready", then
 * waits for EOF on stdin, SIGTERM/SIGINT/SIGHUP or --seconds, whichever comes
 * first. Then prints one "REASON=VALUE" line per counter, one "ban ADDR ..."
 * line per ban and one "source ADDR ..." line per tracked source, detaches
 * and exits. Nothing is pinned, so the program and maps go away with us.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "lists.h"
#include "datapath.h"
#include "maps.h"
#include "policy.h"
#include "edgeguard.skel.h"

#define MAX_IFACES 8

struct iface {
	const char *name;
	int ifindex;
	__u32 mode; /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE once attached */
};

static struct iface ifaces[MAX_IFACES];
static int nifaces;

static void usage(void)
{
	fprintf(stderr,
		"usage: e2e_harness --iface IF [--iface IF...] --port P [--syn-rate R --syn-burst B]\n"
		"                   [--pkt-rate R --pkt-burst B] [--ban-after N --ban-window S]\n"
		"                   [--ban-ttl S] [--mode enforce|dry-run] [--seconds S]\n"
		"                   [--max-sources N]\n");
	exit(2);
}

static uint32_t parse_u32(const char *what, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX) {
		fprintf(stderr, "e2e_harness: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (uint32_t)v;
}

static void parse_args(int argc, char **argv, struct eg_policy_table *t, unsigned int *seconds,
		       struct eg_sizes *sizes)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "syn-rate", required_argument, NULL, 'r' },
		{ "syn-burst", required_argument, NULL, 'b' },
		{ "pkt-rate", required_argument, NULL, 'R' },
		{ "pkt-burst", required_argument, NULL, 'B' },
		{ "ban-after", required_argument, NULL, 'a' },
		{ "ban-window", required_argument, NULL, 'w' },
		{ "ban-ttl", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "max-sources", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct eg_policy_spec *r = &t->rules[0];
	uint32_t port = 0;
	int c;

	snprintf(r->name, sizeof(r->name), "e2e");
	r->l4 = EG_L4_TCP;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (nifaces == MAX_IFACES)
				usage();
			ifaces[nifaces++].name = optarg;
			break;
		case 'p':
			port = parse_u32("port", optarg);
			break;
		case 'r':
			r->syn.set = true;
			r->syn.rate = parse_u32("syn rate", optarg);
			break;
		case 'b':
			r->syn.set = true;
			r->syn.burst = parse_u32("syn burst", optarg);
			break;
		case 'R':
			r->pkt.set = true;
			r->pkt.rate = parse_u32("packet rate", optarg);
			break;
		case 'B':
			r->pkt.set = true;
			r->pkt.burst = parse_u32("packet burst", optarg);
			break;
		case 'a':
			r->ban_after = parse_u32("ban-after", optarg);
			break;
		case 'w':
			r->ban_window_s = parse_u32("ban window", optarg);
			break;
		case 't':
			r->ban_ttl_s = parse_u32("ban ttl", optarg);
			break;
		case 'm':
			if (!strcmp(optarg, "enforce"))
				r->mode = EG_MODE_ENFORCE;
			else if (!strcmp(optarg, "dry-run"))
				r->mode = EG_MODE_DRY_RUN;
			else
				usage();
			break;
		case 's':
			*seconds = parse_u32("seconds", optarg);
			break;
		case 'S':
			sizes->max_sources = parse_u32("max sources", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !nifaces || port == 0 || port > 65535)
		usage();
	r->port_lo = r->port_hi = (uint16_t)port;
	t->nrules = 1;
}

/* Native first, as production would; veth supports it, other drivers may not. */
static int attach_one(struct iface *ifc, int prog_fd)
{
	static const __u32 modes[] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	int err = 0;

	ifc->ifindex = (int)if_nametoindex(ifc->name);
	if (!ifc->ifindex) {
		fprintf(stderr, "e2e_harness: no interface %s\n", ifc->name);
		return -1;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		/* UPDATE_IF_NOEXIST: never replace somebody else's program. */
		err = bpf_xdp_attach(ifc->ifindex, prog_fd,
				     modes[i] | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (!err) {
			ifc->mode = modes[i];
			printf("attached %s mode=%s\n", ifc->name,
			       modes[i] == XDP_FLAGS_DRV_MODE ? "native" : "skb");
			return 0;
		}
		fprintf(stderr, "e2e_harness: %s attach to %s failed: %s\n",
			modes[i] == XDP_FLAGS_DRV_MODE ? "native" : "skb", ifc->name,
			strerror(-err));
	}
	return -1;
}

/* Detaches only if the program there is still ours. */
static void detach_all(int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_fd);

	for (int i = 0; i < nifaces; i++) {
		if (!ifaces[i].mode)
			continue;
		if (bpf_xdp_detach(ifaces[i].ifindex, ifaces[i].mode | XDP_FLAGS_REPLACE, &opts))
			fprintf(stderr, "e2e_harness: detach from %s failed\n", ifaces[i].name);
		ifaces[i].mode = 0;
	}
}

/*
 * Signals stay blocked except inside ppoll, so a signal that arrives between
 * two checks of `stop` cannot be lost.
 */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void wait_for_end(unsigned int seconds, const sigset_t *waitmask)
{
	struct timespec end, now, left;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[256];

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return;
		if (ppoll(&pfd, 1, &left, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n <= 0 && !(n < 0 && errno == EINTR))
				return; /* EOF or a dead stdin */
		}
	}
}

static int print_ban(const struct eg_ban_entry *b, void *ctx)
{
	char cidr[EG_CIDR_STRLEN];
	uint64_t now = *(const uint64_t *)ctx;
	long long left = -1;

	if (b->ban.expires_ns)
		left = b->ban.expires_ns > now ? (long long)((b->ban.expires_ns - now) / 1000000000ULL) : 0;
	eg_format_cidr(&b->key, cidr, sizeof(cidr));
	printf("ban %s origin=%s policy=%u trigger=%s ttl_left=%lld\n", cidr,
	       eg_origin_name(b->ban.origin), b->ban.policy, eg_reason_name(b->ban.trigger), left);
	return 0;
}

static void print_sources(const struct eg_maps *m)
{
	struct eg_source_key k, next;
	struct eg_source s;
	char addr[EG_CIDR_STRLEN];
	void *prev = NULL;

	while (bpf_map_get_next_key(m->sources, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(m->sources, &k, &s))
			continue;
		eg_format_addr(&k.addr, addr, sizeof(addr));
		printf("source %s policy=%u packets=%llu syns=%llu drops=%llu\n", addr, k.policy,
		       (unsigned long long)s.packets, (unsigned long long)s.syns,
		       (unsigned long long)s.drops);
	}
}

static int report(const struct eg_maps *m)
{
	uint64_t counters[EG_R_MAX];
	uint64_t now = eg_now_ns();
	struct eg_err e = { 0 };

	if (eg_read_counters(m, counters, &e)) {
		fprintf(stderr, "e2e_harness: %s\n", e.msg);
		return -1;
	}
	for (unsigned int r = 0; r < EG_R_MAX; r++)
		printf("%s=%llu\n", eg_reason_name(r), (unsigned long long)counters[r]);
	if (eg_ban_foreach(m, print_ban, &now, &e)) {
		fprintf(stderr, "e2e_harness: %s\n", e.msg);
		return -1;
	}
	print_sources(m);
	return 0;
}

int main(int argc, char **argv)
{
	static struct eg_policy_table table; /* large: keep it off the stack */
	struct eg_sizes sizes = { .max_sources = 65536 };
	unsigned int seconds = 60;
	struct edgeguard_bpf *skel;
	struct eg_maps maps;
	struct eg_err e = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	int prog_fd, rc = 1;

	eg_policy_table_init(&table);
	parse_args(argc, argv, &table, &seconds, &sizes);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	skel = eg_datapath_open_load(&(struct eg_open_opts){ .sizes = &sizes }, &e);
	if (!skel) {
		fprintf(stderr, "e2e_harness: %s\n", e.msg);
		return 1;
	}
	eg_maps_from_skel(skel, &maps);
	if (eg_policy_install(&maps, &table, &e)) {
		fprintf(stderr, "e2e_harness: %s\n", e.msg);
		goto out;
	}
	prog_fd = bpf_program__fd(skel->progs.edgeguard_xdp);
	for (int i = 0; i < nifaces; i++)
		if (attach_one(&ifaces[i], prog_fd))
			goto detach;
	printf("ready\n");

	wait_for_end(seconds, &waitmask);
	rc = report(&maps) ? 1 : 0;
detach:
	detach_all(prog_fd);
out:
	edgeguard_bpf__destroy(skel);
	return rc;
}

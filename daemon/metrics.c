// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>
#include <zlib.h>
#include "attach.h"
#include "fleet.h"
#include "metrics.h"
#include "report.h"

/*
 * Anything that walks a map (the LRU of sources alone may hold a million
 * entries) is done at most this often; counters are read on every scrape.
 */
#define SCAN_MAX_AGE_MS 5000

/* ---- configuration and daemon-side counters ---- */

static struct {
	bool off;
	bool explicit; /* given on the command line: failing to bind is fatal */
	bool v6;
	bool any; /* ":PORT": every address, IPv4 and IPv6 */
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char text[80];
} listen_cfg;

static uint64_t bans_expired;
static uint64_t reloads_ok, reloads_err;

/*
 * A value that cannot be read is left out of the scrape, never shown as -1
 * or 0, and counted here by what it was, so an alert can see it.
 */
enum scrape_error {
	ERR_COUNTERS,   /* the global counters */
	ERR_INTERFACES, /* the per-interface counters */
	ERR_POLICIES,   /* per-policy counters or names */
	ERR_MAPS,       /* a map's entries */
	ERR_BANS,       /* the bans in force */
	ERR_ATTACHED,   /* the attached interfaces */
	ERR_MAX,
};
static const char *const scrape_error_names[ERR_MAX] = {
	[ERR_COUNTERS] = "counters", [ERR_INTERFACES] = "interfaces", [ERR_POLICIES] = "policies",
	[ERR_MAPS] = "maps",         [ERR_BANS] = "bans",             [ERR_ATTACHED] = "attached",
};
static uint64_t scrape_errors[ERR_MAX];

static void count_error(enum scrape_error what)
{
	__atomic_add_fetch(&scrape_errors[what], 1, __ATOMIC_RELAXED);
}

static const struct eg_maps *maps;
static struct MHD_Daemon *httpd;

void metrics_count_ban_expired(void)
{
	__atomic_add_fetch(&bans_expired, 1, __ATOMIC_RELAXED);
}

void metrics_count_policy_reload(bool ok)
{
	__atomic_add_fetch(ok ? &reloads_ok : &reloads_err, 1, __ATOMIC_RELAXED);
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int metrics_configure(const char *text)
{
	char host[64];
	const char *colon;
	uint16_t port;
	size_t n;

	memset(&listen_cfg, 0, sizeof(listen_cfg));
	listen_cfg.explicit = text != NULL;
	if (!text)
		text = METRICS_LISTEN_DEFAULT;
	snprintf(listen_cfg.text, sizeof(listen_cfg.text), "%s", text);
	if (!strcmp(text, "off")) {
		listen_cfg.off = true;
		return 0;
	}
	if (text[0] == ':') {
		/* ":9909", as Prometheus exporters take it: every address, both families. */
		if (parse_port(text + 1, &port))
			goto bad;
		listen_cfg.v6 = listen_cfg.any = true;
		listen_cfg.sin6.sin6_family = AF_INET6;
		listen_cfg.sin6.sin6_port = htons(port);
		listen_cfg.sin6.sin6_addr = in6addr_any;
		return 0;
	}
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (!colon)
			goto bad;
		n = (size_t)(colon - text - 1);
		colon++;
		listen_cfg.v6 = true;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			goto bad;
		n = (size_t)(colon - text);
	}
	if (n == 0 || n >= sizeof(host) || parse_port(colon + 1, &port))
		goto bad;
	memcpy(host, text + (listen_cfg.v6 ? 1 : 0), n);
	host[n] = '\0';
	if (listen_cfg.v6) {
		listen_cfg.sin6.sin6_family = AF_INET6;
		listen_cfg.sin6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &listen_cfg.sin6.sin6_addr) != 1)
			goto bad;
	} else {
		listen_cfg.sin.sin_family = AF_INET;
		listen_cfg.sin.sin_port = htons(port);
		if (inet_pton(AF_INET, host, &listen_cfg.sin.sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "edgeguardd: --metrics-listen wants A.B.C.D:PORT, [IPV6]:PORT, :PORT or off, not '%s'\n",
		text);
	return -1;
}

/* ---- the exposition text ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are operator text (policy names): escape what the format reserves. */
static void put_label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(b, "\\%c", *v);
		else if (*v == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *v);
	}
}

/* ---- map scans (cached) ---- */

struct scan {
	bool valid;
	uint64_t taken_ms;
	double duration_s;
	struct eg_fill fill;
	bool bans_ok; /* bans_active could be counted */
	uint64_t bans_active[EG_ORIGIN_MAX];
	int attached; /* -1: unknown */
};

static struct scan scan_cache;

static void rescan(struct scan *s)
{
	struct eg_ban_tally t;
	struct eg_err e = { 0 };
	uint64_t start = eg_now_ns();

	eg_report_fill(maps, &s->fill);
	s->bans_ok = eg_report_ban_tally(maps, eg_now_ns(), &t, &e) == 0;
	if (s->bans_ok)
		memcpy(s->bans_active, t.active, sizeof(t.active));
	s->attached = eg_list_attached(NULL, 0, NULL);
	s->duration_s = (double)(eg_now_ns() - start) / 1e9;
	s->taken_ms = eg_mono_ms();
	s->valid = true;
}

/* ---- families ---- */

/* Every attached interface, from its own row of eg_iface_counters. */
static void put_packets(struct buf *b)
{
	struct eg_iface_report ifs[EG_MAX_IFACES];
	struct eg_err e = { 0 };
	int n = eg_report_ifaces(maps, ifs, &e);

	family(b, "edgeguard_packets_total", "counter",
	       "Packets by interface, XDP verdict and reason (counted from the interface's attach).");
	if (n < 0) {
		count_error(ERR_INTERFACES);
		return;
	}
	for (int i = 0; i < n; i++)
		for (unsigned int r = 0; r < EG_R_VERDICTS; r++) {
			put(b, "edgeguard_packets_total{interface=\"");
			put_label_value(b, ifs[i].name);
			put(b, "\",action=\"%s\",reason=\"%s\"} %llu\n",
			    eg_reason_drops(r) ? "drop" : "pass", eg_reason_name(r),
			    (unsigned long long)ifs[i].c[r]);
		}
}

static void put_events(struct buf *b, const uint64_t *c)
{
	static const struct {
		unsigned int reason;
		const char *name, *help;
	} ev[] = {
		{ EG_R_SYN_SEEN, "edgeguard_syn_seen_total", "TCP SYNs (without ACK) that reached a policy." },
		{ EG_R_FRAGMENT, "edgeguard_fragments_total", "Non-first IP fragments: source checked, port policy skipped." },
		{ EG_R_AUTOBAN, "edgeguard_autobans_total", "Sources the datapath banned itself." },
		{ EG_R_DRY_RUN_WOULD_BAN, "edgeguard_dry_run_would_ban_total", "Auto-bans a dry-run policy would have made." },
		{ EG_R_BAN_FAILED, "edgeguard_autoban_failures_total", "Auto-bans that could not be stored (auto-ban map full)." },
		{ EG_R_ESCALATED, "edgeguard_autoban_escalations_total", "IPv6 auto-bans widened to a shorter prefix." },
		{ EG_R_EVENTS_LOST, "edgeguard_ringbuf_events_lost_total", "Datapath events dropped because the ring buffer was full." },
		{ EG_R_FLOW_OPENED, "edgeguard_flows_opened_total", "TCP flows tracked from the server's SYN-ACK." },
		{ EG_R_FLOW_CLOSED, "edgeguard_flows_closed_total", "Tracked flows ended by the server's FIN or RST, or a client RST the server accepted." },
		{ EG_R_FLOW_REAPED, "edgeguard_flows_reaped_total", "Tracked flows ended by the idle timer." },
		{ EG_R_FLOW_UNTIMED, "edgeguard_flows_untimed_total", "Times a flow's idle timer could not be armed (retried on its next packet)." },
		{ EG_R_FLOW_SWEPT, "edgeguard_flows_swept_total", "Unarmed idle flows ended by a sweep." },
		{ EG_R_FLOW_FULL, "edgeguard_flow_table_full_total", "Flows left untracked because the flow table was full." },
		{ EG_R_VERIFIED, "edgeguard_sources_verified_total", "Sources that became verified by completing a handshake." },
		{ EG_R_FIRST_SEEN, "edgeguard_first_seen_total", "Packets from sources without state: remembered, no state made." },
		{ EG_R_PROMOTED, "edgeguard_sources_promoted_total", "Sources given state because they sent again after their first packet." },
		{ EG_R_SYN_FLOOD, "edgeguard_syn_flood_mode_total", "Times a policy entered SYN flood mode (syn_retry_above)." },
	};
	/* Every event counter of the datapath, each once: a new one cannot go unexported. */
	_Static_assert(sizeof(ev) / sizeof(ev[0]) == EG_R_MAX - EG_R_VERDICTS,
		       "an event counter (enum eg_reason) has no metric");

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		family(b, ev[i].name, "counter", ev[i].help);
		put(b, "%s %llu\n", ev[i].name, (unsigned long long)c[ev[i].reason]);
	}
}

/*
 * The name a policy slot's series are labelled with: its name in
 * eg_policy_names ("default" for slot 0 when it has none), so a series keeps
 * its identity when the file's policies are reordered. NULL: not shown (a
 * retired slot, or a name an earlier slot already has).
 */
static const char *policy_label(const struct eg_policy_name *names, unsigned int s)
{
	const char *n = names[s].name;

	if (!n[0])
		return s == 0 ? "default" : NULL;
	for (unsigned int t = 0; t < s; t++)
		if (!strncmp(names[t].name[0] || t ? names[t].name : "default", n,
			     sizeof(names[t].name))) {
			count_error(ERR_POLICIES);
			return NULL;
		}
	return n;
}

/* name{policy="NAME"[,outcome="..."]} value */
static void put_policy_sample(struct buf *b, const char *name, const char *policy,
			      const char *outcome, uint64_t v)
{
	put(b, "%s{policy=\"", name);
	put_label_value(b, policy);
	if (outcome)
		put(b, "\",outcome=\"%s", outcome);
	put(b, "\"} %llu\n", (unsigned long long)v);
}

/* One counter family with a series per shown policy. */
static void policy_counter(struct buf *b, const char *name, const char *help,
			   const struct eg_policy_counters *pc, const char *const *label,
			   unsigned int which)
{
	family(b, name, "counter", help);
	for (unsigned int s = 0; s < EG_MAX_POLICIES; s++)
		if (label[s])
			put_policy_sample(b, name, label[s], NULL, pc[s].c[which]);
}

static void put_policies(struct buf *b)
{
	static const struct {
		unsigned int pc;
		const char *outcome;
	} outcomes[] = {
		{ EG_PC_PASSED, "passed" },       { EG_PC_SYN_DROP, "syn_drop" },
		{ EG_PC_PKT_DROP, "pkt_drop" },   { EG_PC_WOULD_DROP, "would_drop" },
		{ EG_PC_CONN_DROP, "conn_drop" }, { EG_PC_BUDGET_DROP, "budget_drop" },
		{ EG_PC_RETRY_DROP, "retry_drop" },
	};
	/* With packets, autobans and would-ban (families of their own): every policy counter. */
	_Static_assert(sizeof(outcomes) / sizeof(outcomes[0]) + 3 == EG_PC_MAX,
		       "a policy counter (enum eg_policy_counter) has no metric");
	struct eg_policy_counters pc[EG_MAX_POLICIES];
	struct eg_policy_name names[EG_MAX_POLICIES];
	const char *label[EG_MAX_POLICIES] = { NULL };
	struct eg_err e = { 0 };

	if (eg_report_policy_names(maps, names, &e)) {
		count_error(ERR_POLICIES);
		return; /* without names no series could be labelled right */
	}
	/* The live policies, by name; a slot a reload retired is no policy any more. */
	for (unsigned int s = 0; s < EG_MAX_POLICIES; s++) {
		if (eg_read_policy_counters(maps, s, &pc[s], &e)) {
			count_error(ERR_POLICIES);
			continue;
		}
		label[s] = policy_label(names, s);
	}

	policy_counter(b, "edgeguard_policy_evaluated_packets_total",
		       "Packets that reached a policy's rate limits, by policy name.", pc, label,
		       EG_PC_PACKETS);
	family(b, "edgeguard_policy_packets_total", "counter",
	       "Packets by policy name and what the policy did with them.");
	for (unsigned int s = 0; s < EG_MAX_POLICIES; s++)
		for (size_t i = 0; label[s] && i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
			put_policy_sample(b, "edgeguard_policy_packets_total", label[s],
					  outcomes[i].outcome, pc[s].c[outcomes[i].pc]);
	policy_counter(b, "edgeguard_policy_autobans_total", "Auto-bans by policy name.", pc, label,
		       EG_PC_AUTOBAN);
	policy_counter(b, "edgeguard_policy_dry_run_would_ban_total",
		       "Auto-bans a dry-run policy would have made, by policy name.", pc, label,
		       EG_PC_WOULD_BAN);
	family(b, "edgeguard_policy_info", "gauge",
	       "Each policy in force, by name, with the slot it holds in the datapath.");
	for (unsigned int s = 0; s < EG_MAX_POLICIES; s++) {
		if (!label[s])
			continue;
		put(b, "edgeguard_policy_info{policy=\"");
		put_label_value(b, label[s]);
		put(b, "\",slot=\"%u\"} 1\n", s);
	}
}

static void put_scan(struct buf *b, const struct scan *s)
{
	family(b, "edgeguard_bans_active", "gauge", "Bans in force (expired ones excluded), by origin.");
	for (unsigned int o = 0; s->bans_ok && o < EG_ORIGIN_MAX; o++)
		put(b, "edgeguard_bans_active{origin=\"%s\"} %llu\n", eg_origin_name(o),
		    (unsigned long long)s->bans_active[o]);
	family(b, "edgeguard_tracked_sources", "gauge",
	       "Entries of the per-source state LRU: one per (source, policy) pair.");
	if (s->fill.entries[EG_FILL_SOURCES] >= 0)
		put(b, "edgeguard_tracked_sources %ld\n", s->fill.entries[EG_FILL_SOURCES]);
	family(b, "edgeguard_established_flows", "gauge", "TCP flows tracked by TC egress.");
	if (s->fill.entries[EG_FILL_FLOWS] >= 0)
		put(b, "edgeguard_established_flows %ld\n", s->fill.entries[EG_FILL_FLOWS]);
	family(b, "edgeguard_map_capacity", "gauge", "max_entries of each map.");
	for (int i = 0; i < EG_FILL_MAX; i++)
		put(b, "edgeguard_map_capacity{map=\"%s\"} %u\n", eg_fill_names[i], s->fill.capacity[i]);
	family(b, "edgeguard_map_entries", "gauge",
	       "Entries in each map (expired bans included until the daemon reaps them).");
	for (int i = 0; i < EG_FILL_MAX; i++)
		if (s->fill.entries[i] >= 0)
			put(b, "edgeguard_map_entries{map=\"%s\"} %ld\n", eg_fill_names[i], s->fill.entries[i]);
	family(b, "edgeguard_map_fill_ratio", "gauge", "Entries divided by capacity, 0 to 1.");
	for (int i = 0; i < EG_FILL_MAX; i++)
		if (s->fill.entries[i] >= 0 && s->fill.capacity[i])
			put(b, "edgeguard_map_fill_ratio{map=\"%s\"} %.6f\n", eg_fill_names[i],
			    (double)s->fill.entries[i] / s->fill.capacity[i]);
	if (s->attached >= 0) {
		family(b, "edgeguard_attached_interfaces", "gauge",
		       "Interfaces in the daemon's network namespace running this datapath.");
		put(b, "edgeguard_attached_interfaces %d\n", s->attached);
	}
	family(b, "edgeguard_map_scan_duration_seconds", "gauge",
	       "Time the last walk of the maps took (done at most every 5 s, cached between scrapes).");
	put(b, "edgeguard_map_scan_duration_seconds %.6f\n", s->duration_s);
}

static void put_daemon(struct buf *b)
{
	family(b, "edgeguard_bans_expired_total", "counter",
	       "Expired bans the daemon removed from the maps.");
	put(b, "edgeguard_bans_expired_total %llu\n",
	    (unsigned long long)__atomic_load_n(&bans_expired, __ATOMIC_RELAXED));
	family(b, "edgeguard_policy_reloads_total", "counter", "Policy reloads on SIGHUP, by result.");
	put(b, "edgeguard_policy_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)__atomic_load_n(&reloads_ok, __ATOMIC_RELAXED));
	put(b, "edgeguard_policy_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)__atomic_load_n(&reloads_err, __ATOMIC_RELAXED));
	family(b, "edgeguard_build_info", "gauge", "Always 1; the version is in the label.");
	put(b, "edgeguard_build_info{version=\"%s\"} 1\n", EDGEGUARD_VERSION);
	family(b, "edgeguard_scrape_errors_total", "counter",
	       "Values left out of a scrape because they could not be read, by what they were.");
	for (unsigned int i = 0; i < ERR_MAX; i++)
		put(b, "edgeguard_scrape_errors_total{what=\"%s\"} %llu\n", scrape_error_names[i],
		    (unsigned long long)__atomic_load_n(&scrape_errors[i], __ATOMIC_RELAXED));
}

/* The fleet's counters (daemon/fleet.h); nothing when it is off. */
static void put_fleet(struct buf *b)
{
	struct fleet_stats f;

	fleet_stats_read(&f);
	if (!f.enabled)
		return;
	family(b, "edgeguard_fleet_connected", "gauge", "1 while connected to the fleet's Redis.");
	put(b, "edgeguard_fleet_connected %d\n", f.connected ? 1 : 0);
	family(b, "edgeguard_fleet_role", "gauge", "What this host does in the fleet (1 = on; 0 = opted out).");
	put(b, "edgeguard_fleet_role{role=\"publish\"} %d\n", f.publish ? 1 : 0);
	put(b, "edgeguard_fleet_role{role=\"apply\"} %d\n", f.apply ? 1 : 0);
	family(b, "edgeguard_fleet_reconnects_total", "counter",
	       "Connections to Redis made again after one was lost.");
	put(b, "edgeguard_fleet_reconnects_total %llu\n", (unsigned long long)f.reconnects);
	family(b, "edgeguard_fleet_connect_failures_total", "counter",
	       "Attempts to connect to Redis (or find its master) that failed.");
	put(b, "edgeguard_fleet_connect_failures_total %llu\n", (unsigned long long)f.connect_failures);
	family(b, "edgeguard_fleet_published_total", "counter", "Bans and unbans this host published.");
	put(b, "edgeguard_fleet_published_total %llu\n", (unsigned long long)f.published);
	family(b, "edgeguard_fleet_publish_failures_total", "counter",
	       "Publications Redis refused, or that could not be queued (queue full).");
	put(b, "edgeguard_fleet_publish_failures_total{why=\"refused\"} %llu\n",
	    (unsigned long long)f.publish_failures);
	put(b, "edgeguard_fleet_publish_failures_total{why=\"queue_full\"} %llu\n",
	    (unsigned long long)f.publish_dropped);
	family(b, "edgeguard_fleet_publish_queue", "gauge",
	       "Publications waiting for Redis (sent when it is back).");
	put(b, "edgeguard_fleet_publish_queue %llu\n", (unsigned long long)f.queued);
	family(b, "edgeguard_fleet_applied_total", "counter", "Bans, unbans, allows and allow removals from other hosts applied here.");
	put(b, "edgeguard_fleet_applied_total{op=\"ban\"} %llu\n", (unsigned long long)f.applied_bans);
	put(b, "edgeguard_fleet_applied_total{op=\"unban\"} %llu\n", (unsigned long long)f.applied_unbans);
	put(b, "edgeguard_fleet_applied_total{op=\"allow\"} %llu\n", (unsigned long long)f.applied_allows);
	put(b, "edgeguard_fleet_applied_total{op=\"unallow\"} %llu\n", (unsigned long long)f.applied_unallows);
	family(b, "edgeguard_fleet_apply_failures_total", "counter",
	       "Bans from other hosts that could not be stored (a full list) or queued.");
	put(b, "edgeguard_fleet_apply_failures_total %llu\n", (unsigned long long)f.apply_failures);
	family(b, "edgeguard_fleet_rejected_total", "counter",
	       "Input from Redis refused, by why: key, message, mismatch, every_address, this_host, allowlisted.");
	for (int i = 0; i < FLEET_REJECT_MAX; i++)
		put(b, "edgeguard_fleet_rejected_total{why=\"%s\"} %llu\n", fleet_reject_names[i],
		    (unsigned long long)f.rejected[i]);
	family(b, "edgeguard_fleet_lag_seconds", "gauge",
	       "From publication on another host to application here, of the last message (both hosts' clocks).");
	put(b, "edgeguard_fleet_lag_seconds %.6f\n", f.lag_s);
	family(b, "edgeguard_fleet_resyncs_total", "counter", "Full reads of the store (at every connect).");
	put(b, "edgeguard_fleet_resyncs_total %llu\n", (unsigned long long)f.resyncs);
	family(b, "edgeguard_fleet_resync_seconds", "gauge", "How long the last resync took, reading and applying.");
	put(b, "edgeguard_fleet_resync_seconds %.6f\n", f.resync_s);
	family(b, "edgeguard_fleet_store_bans", "gauge", "Ban keys in the fleet's store at the last resync.");
	put(b, "edgeguard_fleet_store_bans %llu\n", (unsigned long long)f.store_bans);
}

/* The whole exposition, or NULL (out of memory). */
static char *render(size_t *len)
{
	struct buf b = { .cap = 16384 };
	uint64_t c[EG_R_MAX];
	struct eg_err e = { 0 };
	bool have_counters;
	struct scan s;

	have_counters = eg_read_counters(maps, c, &e) == 0;
	if (!have_counters)
		count_error(ERR_COUNTERS);
	/* One scrape at a time runs here (MHD's single thread). */
	if (!scan_cache.valid || eg_mono_ms() - scan_cache.taken_ms >= SCAN_MAX_AGE_MS) {
		rescan(&scan_cache);
		for (int i = 0; i < EG_FILL_MAX; i++)
			if (scan_cache.fill.entries[i] < 0)
				count_error(ERR_MAPS);
		if (!scan_cache.bans_ok)
			count_error(ERR_BANS);
		if (scan_cache.attached < 0)
			count_error(ERR_ATTACHED);
	}
	s = scan_cache;
	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	put_packets(&b);
	if (have_counters)
		put_events(&b, c);
	put_policies(&b);
	put_scan(&b, &s);
	put_daemon(&b);
	put_fleet(&b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- HTTP ---- */

/* True when Accept-Encoding lists gzip (or x-gzip) without q=0. */
static bool wants_gzip(const char *accept)
{
	const char *p = accept;

	while (p && *p) {
		size_t n;
		const char *end = strchr(p, ','), *semi, *q;

		while (*p == ' ' || *p == '\t')
			p++;
		n = end ? (size_t)(end - p) : strlen(p);
		semi = memchr(p, ';', n);
		size_t tok = semi ? (size_t)(semi - p) : n;

		while (tok && (p[tok - 1] == ' ' || p[tok - 1] == '\t'))
			tok--;
		if ((tok == 4 && !strncasecmp(p, "gzip", 4)) ||
		    (tok == 6 && !strncasecmp(p, "x-gzip", 6))) {
			q = semi ? strstr(semi, "q=") : NULL;
			if (!q || q > p + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static char *gzip_buf(const char *in, size_t len, size_t *out_len)
{
	z_stream z;
	size_t cap;
	char *out;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper rather than a bare zlib stream. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, len);
	out = malloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *accept;
	char *body, *gz;
	size_t len, gz_len;
	bool gzip;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		/* First call is headers only; answer on the second, with any body consumed. */
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a scrape means nothing: discard it */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "edgeguardd serves /metrics only\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD /metrics\n");
	body = render(&len);
	if (!body)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "edgeguardd: out of memory\n");
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_ACCEPT_ENCODING);
	gzip = accept && wants_gzip(accept);
	if (gzip && (gz = gzip_buf(body, len, &gz_len))) {
		free(body);
		body = gz;
		len = gz_len;
	} else {
		gzip = false;
	}
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * ---- the server ----
 *
 * libmicrohttpd's idle timeout starts again with every byte, so a client
 * that sends its request a byte at a time keeps a connection forever, and
 * enough of them keep every connection. So each connection also gets a
 * deadline for its whole request, from connecting (or from the end of its
 * previous request) to the end of the reply; and past a soft limit, a new
 * connection takes the place of the oldest one still unanswered.
 *
 * libmicrohttpd runs without a thread of its own ("external polling"): our
 * thread calls MHD_run, and every callback - connection start and close
 * included - runs in it. A connection's socket is closed by the library
 * only inside MHD_run, after its MHD_CONNECTION_NOTIFY_CLOSED (see
 * MHD_cleanup_connections in libmicrohttpd's daemon.c), so between two
 * MHD_run calls every connection we track still owns its descriptor, and
 * shutdown() on it cannot hit a descriptor reused by someone else. The
 * library then sees the connection end and closes it itself.
 */
#define CONN_LIMIT 256        /* libmicrohttpd's own limit */
#define CONN_SOFT_LIMIT 192   /* past it, the oldest unanswered connection is cut */
#define REQUEST_DEADLINE_MS 10000
#define IDLE_TIMEOUT_S 10

struct conn_slot {
	bool used;
	bool cut;         /* shut down; waiting for the library to close it */
	int fd;
	uint64_t since_ms; /* connected, or finished its previous request */
};

static struct conn_slot conns[CONN_LIMIT];
static unsigned int nconns;
static pthread_t server_thread;
static int wake_fd = -1;
static bool stopping; /* __atomic: set by metrics_stop, read by the server thread */

static void cut(struct conn_slot *c)
{
	if (c->cut)
		return;
	c->cut = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* The oldest connection not already cut, but never skip; NULL when none. */
static struct conn_slot *oldest(const struct conn_slot *skip)
{
	struct conn_slot *o = NULL;

	for (unsigned int i = 0; i < CONN_LIMIT; i++) {
		struct conn_slot *c = &conns[i];

		if (c->used && !c->cut && c != skip && (!o || c->since_ms < o->since_ms))
			o = c;
	}
	return o;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *info;
	struct conn_slot *c = *socket_context, *victim;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c) {
			c->used = false;
			nconns--;
		}
		*socket_context = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (unsigned int i = 0; i < CONN_LIMIT && info; i++) {
		if (conns[i].used)
			continue;
		c = &conns[i];
		*c = (struct conn_slot){ .used = true, .fd = info->connect_fd, .since_ms = eg_mono_ms() };
		*socket_context = c;
		nconns++;
		break;
	}
	if (nconns > CONN_SOFT_LIMIT && (victim = oldest(c)))
		cut(victim);
}

/* A request answered: the next one on this connection gets a deadline of its own. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_slot *c = info ? info->socket_context : NULL;

	(void)cls;
	(void)con_cls;
	(void)toe;
	if (c)
		c->since_ms = eg_mono_ms();
}

/* Cuts the connections past their deadline; ms until the next deadline (-1: none). */
static int cut_overdue(void)
{
	uint64_t now = eg_mono_ms(), next = UINT64_MAX, due;

	for (unsigned int i = 0; i < CONN_LIMIT; i++) {
		struct conn_slot *c = &conns[i];

		if (!c->used || c->cut)
			continue;
		due = c->since_ms + REQUEST_DEADLINE_MS;
		if (due <= now)
			cut(c);
		else if (due < next)
			next = due;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static void *serve(void *arg)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(httpd, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd p[2] = { { .fd = info ? info->epoll_fd : -1, .events = POLLIN },
			       { .fd = wake_fd, .events = POLLIN } };
	MHD_UNSIGNED_LONG_LONG mhd_ms;
	int timeout, ours;

	(void)arg;
	while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		ours = cut_overdue();
		timeout = ours;
		if (MHD_get_timeout(httpd, &mhd_ms) == MHD_YES &&
		    (timeout < 0 || mhd_ms < (MHD_UNSIGNED_LONG_LONG)timeout))
			timeout = mhd_ms > INT32_MAX ? INT32_MAX : (int)mhd_ms;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			break;
		MHD_run(httpd);
	}
	return NULL;
}

int metrics_start(const struct eg_maps *m)
{
	const struct sockaddr *sa;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	uint16_t port;
	int err;

	if (!listen_cfg.text[0] && metrics_configure(NULL))
		return -1;
	if (listen_cfg.off)
		return 0;
	maps = m;
	if (listen_cfg.any)
		flags |= MHD_USE_DUAL_STACK;
	if (listen_cfg.v6) {
		flags |= MHD_USE_IPv6;
		sa = (const struct sockaddr *)&listen_cfg.sin6;
		port = ntohs(listen_cfg.sin6.sin6_port);
	} else {
		sa = (const struct sockaddr *)&listen_cfg.sin;
		port = ntohs(listen_cfg.sin.sin_port);
	}
	/* MHD binds sa; the port argument only makes its own log lines right. */
	httpd = MHD_start_daemon(flags, port, NULL, NULL, on_request, NULL,
				 MHD_OPTION_SOCK_ADDR, sa,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				 MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)128,
				 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				 MHD_OPTION_END);
	if (!httpd) {
		fprintf(stderr, "edgeguardd: cannot serve metrics on %s: %s%s\n", listen_cfg.text,
			strerror(errno), listen_cfg.explicit ? "" : " (continuing without metrics)");
		return listen_cfg.explicit ? -1 : 0;
	}
	__atomic_store_n(&stopping, false, __ATOMIC_RELEASE);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = wake_fd < 0 ? errno : pthread_create(&server_thread, NULL, serve, NULL);
	if (err) {
		fprintf(stderr, "edgeguardd: cannot start the metrics thread: %s\n", strerror(err));
		if (wake_fd >= 0)
			close(wake_fd);
		wake_fd = -1;
		MHD_stop_daemon(httpd);
		httpd = NULL;
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	uint64_t one = 1;

	if (!httpd)
		return;
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	(void)!write(wake_fd, &one, sizeof(one));
	pthread_join(server_thread, NULL);
	close(wake_fd);
	wake_fd = -1;
	MHD_stop_daemon(httpd);
	httpd = NULL;
}

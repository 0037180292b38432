// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguardd: the long-running companion of the datapath (foreground, for
 * systemd). It reports what the datapath decided, tidies expired bans out of
 * the maps, and keeps bans and allows on disk so they survive a reboot or a
 * detach. Enforcement never depends on it: the maps are pinned and the
 * datapath honours ban expiry by itself, so killing the daemon changes nothing
 * on the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "apply.h"
#include "control.h"
#include "events.h"
#include "fleet.h"
#include "in_force.h"
#include "attach.h"
#include "lists.h"
#include "metrics.h"
#include "paths.h"
#include "persist.h"
#include "pins.h"
#include "sweep.h"

#define STATE_DIR_DEFAULT "/var/lib/edgeguard"
#define MAX_INTERVAL_MS 3600000UL
#define EG_MAX_WATCHED_IFACES 64
#define IFACE_CHECK_MS 5000 /* listing interfaces asks the kernel about each one */
#define LOCK_FILE "edgeguardd.lock"
#define HOUSEKEEPING_DEFER_MAX_MS 10000 /* longest a fleet resync puts off reaping and saving */
#define FLEET_OPT_BASE 0x100 /* getopt values of the fleet options (fleet_config.h) */

struct daemon {
	const char *policy_path; /* NULL: the daemon leaves the policy alone */
	const char *state_dir;
	char state_path[PATH_MAX];
	unsigned long interval_ms;
	struct eg_maps maps;
	bool maps_open;
	int lock_fd; /* a lock on $EDGEGUARD_RUN_DIR/edgeguardd.lock, held for the daemon's life */
	FILE *events_fp;
	const char *events_path; /* --events FILE, reopened on SIGUSR1; NULL: stdout */
	struct ring_buffer *rb;
	int sigfd;
	/* What state.json holds: where reasons are remembered, and what "changed" compares to. */
	struct eg_state saved;
	/* Entries a restore could not put back: saved with every state, retried at the next start. */
	struct eg_state pending;
	bool pending_changed;
	struct in_force policy; /* the policy in force: start, SIGHUP, `edgeguard policy load` */
	char save_error[EG_ERR_LEN + 64]; /* the last failed save's error, said once; "" after a save */
	const char *control_group; /* --group: who besides root may use the control socket */
	struct control *ctl;
	struct eg_sweeper *sweeper; /* ends idle flows whose kernel timer could not be armed */
	/* Interfaces seen attached at the last look, to log attach and detach. */
	struct eg_iface ifaces[EG_MAX_WATCHED_IFACES];
	int nifaces;
	uint64_t ifaces_checked_ms;
	struct eg_fleet_config fleet; /* --redis ... and --config FILE */
	uint64_t housekeeping_ms;     /* when the tick last reaped and saved */
	const char *config_path;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: edgeguardd [--policy FILE] [--state-dir DIR] [--events FILE] [--interval-ms N]\n"
		    "                  [--group NAME]   (who besides root may use " EG_CTL_SOCK_NAME ")\n"
		    "                  [--pin-dir DIR] [--config FILE]\n"
		    "                  [--redis redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]]\n"
		    "                  [--redis-sentinel HOST:PORT,... --redis-master NAME]\n"
		    "                  [--redis-prefix PREFIX] [--fleet-host NAME]\n"
		    "                  [--fleet-no-publish | --fleet-no-apply]\n"
		    "Runs in the foreground next to an attached edgeguard (run 'edgeguard attach IFNAME'\n"
		    "first). Writes one JSON event per line (default stdout), removes expired bans,\n"
		    "keeps bans and allows in DIR/" EG_STATE_FILE " (default " STATE_DIR_DEFAULT ").\n"
		    "SIGHUP re-reads --policy FILE; SIGUSR1 reopens the --events FILE (log rotation);\n"
		    "SIGTERM/SIGINT save the state and exit. After the last 'edgeguard detach' it saves\n"
		    "the state and exits 0: nothing is left to guard.\n"
		    "Prometheus metrics: http://" METRICS_LISTEN_DEFAULT "/metrics (--metrics-listen\n"
		    "ADDR:PORT, [IPV6]:PORT, :PORT for every address, or off). --version prints the version.\n"
		    "--redis or --redis-sentinel shares bans with every edgeguardd on that Redis (a fleet).\n");
}

/* SIGUSR1: logrotate moved the events file away; carry on in a new one at its name. */
static void reopen_events(struct daemon *d)
{
	FILE *fp;
	char msg[PATH_MAX + 128];

	if (!d->events_path)
		return;
	fp = fopen(d->events_path, "ae");
	if (!fp) {
		/* Keep writing where we were: an event in the old file beats one lost. */
		snprintf(msg, sizeof(msg), "cannot reopen the event file %s: %s (still writing to the old one)",
			 d->events_path, strerror(errno));
		ev_error("events_error", msg);
		return;
	}
	ev_set_output(fp);
	fclose(d->events_fp);
	d->events_fp = fp;
	ev_emit(ev_new("events_reopened"));
}

/* ---- datapath events ---- */

/* policy and trigger only mean something for a ban the datapath made itself. */
static void add_cause(cJSON *o, unsigned int origin, unsigned int policy, unsigned int trigger)
{
	if (origin != EG_ORIGIN_AUTO) {
		cJSON_AddNullToObject(o, "policy");
		cJSON_AddNullToObject(o, "trigger");
		return;
	}
	cJSON_AddNumberToObject(o, "policy", policy);
	cJSON_AddStringToObject(o, "trigger", eg_reason_name(trigger));
}


/* The limit an auto-ban's source exceeded, as the live policy table has it. */
static void add_limit(cJSON *o, const struct eg_maps *m, unsigned int slot, unsigned int trigger)
{
	struct eg_config cfg;
	struct eg_policy pol;
	const struct eg_bucket_cfg *b;
	uint32_t zero = 0, idx;
	cJSON *l;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg) || slot >= EG_MAX_POLICIES)
		return;
	idx = (cfg.active_gen & 1) * EG_MAX_POLICIES + slot;
	if (bpf_map_lookup_elem(m->policies, &idx, &pol))
		return;
	b = trigger == EG_R_SYN_RATE ? &pol.syn : trigger == EG_R_PKT_RATE ? &pol.pkt : NULL;
	if (!b || !b->rate)
		return;
	l = cJSON_AddObjectToObject(o, "limit");
	cJSON_AddNumberToObject(l, "rate", b->rate);
	cJSON_AddNumberToObject(l, "burst", b->burst);
	cJSON_AddNumberToObject(l, "ban_after", pol.ban_after);
	cJSON_AddNumberToObject(l, "ban_window", pol.ban_window_s);
}

static int on_ring_event(void *ctx, void *data, size_t len)
{
	const struct eg_event *ev = data;
	struct daemon *d = ctx;
	struct eg_lpm_key k;
	cJSON *o;

	if (len < sizeof(*ev))
		return 0; /* not ours to interpret; never stop the consumer over it */
	k.prefixlen = ev->prefixlen;
	k.addr = ev->addr;
	o = ev_new_at_boot_ns(ev->type == EG_EV_WOULD_BAN ? "would_ban" :
			      ev->type == EG_EV_ESCALATE ? "autoban_escalate" : "autoban",
			      ev->ts_ns);
	ev_add_source(o, &k);
	cJSON_AddNumberToObject(o, "policy", ev->policy);
	cJSON_AddStringToObject(o, "trigger", eg_reason_name(ev->trigger));
	cJSON_AddNumberToObject(o, "ttl", ev->ttl_s);
	cJSON_AddNumberToObject(o, "window_drops", ev->window_drops);
	add_limit(o, &d->maps, ev->policy, ev->trigger);
	ev_emit(o);
	if (ev->type == EG_EV_AUTOBAN || ev->type == EG_EV_ESCALATE) {
		char reason[EG_BAN_REASON_LEN];

		snprintf(reason, sizeof(reason), "auto-ban: %s in policy %u",
			 eg_reason_name(ev->trigger), ev->policy);
		fleet_publish_ban(&k, ev->ttl_s, reason, EG_ORIGIN_AUTO, ev->trigger);
	}
	return 0;
}

static const struct eg_iface *find_iface(const struct eg_iface *list, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	return NULL;
}

static void emit_iface(const char *event, const struct eg_iface *i)
{
	cJSON *o = ev_new(event);

	cJSON_AddStringToObject(o, "interface", i->name);
	cJSON_AddStringToObject(o, "xdp_mode", i->mode);
	ev_emit(o);
}

/* Attach and detach happen in the CLI; the daemon notices and logs them. */
static void watch_ifaces(struct daemon *d, bool first)
{
	struct eg_iface now[EG_MAX_WATCHED_IFACES];
	struct eg_err e = { 0 };
	int n = eg_list_attached(now, EG_MAX_WATCHED_IFACES, &e);

	if (n < 0)
		return;
	if (n > EG_MAX_WATCHED_IFACES)
		n = EG_MAX_WATCHED_IFACES;
	for (int i = 0; i < n && !first; i++)
		if (!find_iface(d->ifaces, d->nifaces, now[i].name))
			emit_iface("attach", &now[i]);
	for (int i = 0; i < d->nifaces && !first; i++)
		if (!find_iface(now, n, d->ifaces[i].name))
			emit_iface("detach", &d->ifaces[i]);
	memcpy(d->ifaces, now, sizeof(now[0]) * (size_t)n);
	d->nifaces = n;
	d->ifaces_checked_ms = eg_mono_ms();
}

static void consume_events(struct daemon *d)
{
	int n = ring_buffer__consume(d->rb);

	if (n < 0 && n != -EINTR)
		fprintf(stderr, "edgeguardd: reading the event ring buffer: %s\n", strerror(-n));
}

/* ---- expiry ---- */

static int collect_expired(const struct eg_ban_entry *be, void *ctx)
{
	struct eg_state *s = ctx;
	struct eg_saved_ban b = { .key = be->key, .raw = be->ban };
	uint64_t now = eg_now_ns();

	if (!be->ban.expires_ns || be->ban.expires_ns > now)
		return 0;
	return eg_state_add_ban(s, &b, NULL) ? 1 : 0;
}

/*
 * The datapath already ignores expired bans; deleting them gives the slot
 * back (the ban hash is not LRU) and tells the operator when a ban ended.
 * Collected first and deleted after, because deleting during a hash walk
 * restarts the walk.
 */
static void reap_expired(struct daemon *d)
{
	struct eg_state exp;
	struct eg_err e = { 0 };
	struct eg_ban cur;

	eg_state_init(&exp);
	if (eg_ban_foreach(&d->maps, collect_expired, &exp, &e)) {
		fprintf(stderr, "edgeguardd: %s\n", e.msg[0] ? e.msg : "cannot walk the bans");
		eg_state_free(&exp);
		return;
	}
	for (size_t i = 0; i < exp.nbans; i++) {
		const struct eg_saved_ban *b = &exp.bans[i];
		cJSON *o;

		/* Re-banned by someone since we looked: that ban is theirs to keep. */
		if (eg_ban_get(&d->maps, &b->key, b->raw.origin, &cur) != 1 ||
		    memcmp(&cur, &b->raw, sizeof(cur)))
			continue;
		if (eg_ban_remove(&d->maps, &b->key, b->raw.origin, &e))
			continue;
		o = ev_new("expire");
		ev_add_source(o, &b->key);
		cJSON_AddStringToObject(o, "origin", eg_origin_name(b->raw.origin));
		add_cause(o, b->raw.origin, b->raw.policy, b->raw.trigger);
		cJSON_AddNumberToObject(o, "ttl",
					(double)((b->raw.expires_ns - b->raw.created_ns) / 1000000000ULL));
		ev_emit(o);
		metrics_count_ban_expired();
	}
	eg_state_free(&exp);
}

/* ---- persistence ---- */

/* Maps hold no text, so reasons come from the policy file, the last save, or the trigger. */
static void fill_reason(const struct daemon *d, struct eg_saved_ban *b)
{
	const struct eg_saved_ban *old = eg_state_find_ban(&d->saved, &b->key, b->origin);
	const char *r = b->origin == EG_ORIGIN_POLICY ? in_force_ban_reason(&d->policy, &b->key) :
							 NULL;

	if (b->reason[0])
		return; /* the ban's own note in the maps knows best */
	if (r)
		snprintf(b->reason, sizeof(b->reason), "%s", r);
	else if (old && old->origin == b->origin && old->reason[0])
		snprintf(b->reason, sizeof(b->reason), "%s", old->reason);
	else if (b->origin == EG_ORIGIN_AUTO)
		snprintf(b->reason, sizeof(b->reason), "auto-ban: %s in policy %u",
			 eg_reason_name(b->trigger), b->policy);
}

/* A save is retried every tick: its error is said once, and again only when it changes. */
static void save_failed(struct daemon *d, const char *what, const char *why)
{
	char msg[sizeof(d->save_error)];

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	if (!strcmp(msg, d->save_error))
		return;
	memcpy(d->save_error, msg, sizeof(msg));
	ev_error("state_error", msg);
}

/* Saves when the ban/allow set differs from the last save, or always with force. */
static int persist(struct daemon *d, bool force)
{
	struct eg_state now;
	struct eg_err e = { 0 };

	if (eg_state_snapshot(&d->maps, &now, &e)) {
		save_failed(d, "cannot read the lists to save them", e.msg);
		return -1;
	}
	if (eg_state_expire_pending(&d->pending, (int64_t)time(NULL)))
		d->pending_changed = true;
	if (!force && !d->pending_changed && eg_state_same(&now, &d->saved)) {
		eg_state_free(&now);
		return 0;
	}
	for (size_t i = 0; i < now.nbans; i++)
		fill_reason(d, &now.bans[i]);
	if (eg_state_copy_pending(&now, &d->pending, &e) ||
	    eg_state_save(d->state_path, &now, &e)) {
		/* Keep the old baseline so the next tick tries again. */
		save_failed(d, "cannot save the state", e.msg);
		eg_state_free(&now);
		return -1;
	}
	eg_state_free(&d->saved);
	d->saved = now;
	d->pending_changed = false;
	if (d->save_error[0]) {
		cJSON *o = ev_new("state_saved");

		cJSON_AddStringToObject(o, "state", d->state_path);
		ev_emit(o);
	}
	d->save_error[0] = '\0';
	return 0;
}

static void on_restored(const struct eg_restore_report *r, void *ctx)
{
	static const char *const status[] = {
		[EG_RESTORE_ADDED] = "restored",
		[EG_RESTORE_EXPIRED] = "expired",
		[EG_RESTORE_PRESENT] = "present",
		[EG_RESTORE_FAILED] = "failed",
	};
	const struct eg_saved_ban *b = r->ban;
	cJSON *o;

	(void)ctx;
	if (!b && r->result != EG_RESTORE_FAILED)
		return; /* an allow put back or already there: nothing worth a line */
	o = ev_new("restore");
	ev_add_source(o, b ? &b->key : r->allow);
	cJSON_AddStringToObject(o, "status", status[r->result]);
	if (!b) {
		cJSON_AddStringToObject(o, "list", "allow");
	} else {
		cJSON_AddStringToObject(o, "origin", eg_origin_name(b->origin));
		add_cause(o, b->origin, b->policy, b->trigger);
		/* Seconds left by the file (0 = permanent); an expired ban has none. */
		if (r->result == EG_RESTORE_EXPIRED)
			cJSON_AddNullToObject(o, "ttl");
		else
			cJSON_AddNumberToObject(o, "ttl", r->ttl_s);
		cJSON_AddStringToObject(o, "reason", b->reason);
	}
	if (r->error)
		cJSON_AddStringToObject(o, "error", r->error);
	ev_emit(o);
}

/*
 * The maps are the truth while they live, and state.json their copy; the
 * file is the truth for maps that are new (a reboot, a detach and attach).
 * So a file saved from these very maps is not restored - an unban made
 * while the daemon was down stays made - only brought up to date. What a
 * restore cannot put back (a full list) stays in the file as "pending",
 * and the file as it was is kept beside it. A file we cannot read is moved
 * aside, under a name no later failure overwrites.
 */
static void restore_state(struct daemon *d)
{
	struct eg_err e = { 0 };
	struct eg_maps_origin here;
	char aside[PATH_MAX + 64], msg[2 * sizeof(aside) + EG_ERR_LEN + 256];
	size_t failed;
	bool same;
	cJSON *o;

	if (eg_state_load(d->state_path, &d->saved, &e)) {
		struct eg_err ae = { 0 };

		if (!eg_file_set_aside(d->state_path, "corrupt", false, aside, sizeof(aside), &ae))
			snprintf(msg, sizeof(msg), "%s (moved to %s; starting without it)", e.msg,
				 aside);
		else
			snprintf(msg, sizeof(msg), "%s (starting without it; %s)", e.msg, ae.msg);
		ev_error("state_error", msg);
		return;
	}
	same = !eg_maps_origin_read(&d->maps, &here, NULL) &&
	       eg_maps_origin_same(&d->saved.from, &here);
	if (same) {
		o = ev_new("restore_skipped");
		cJSON_AddStringToObject(o, "state", d->state_path);
		cJSON_AddStringToObject(o, "why", "saved from these maps, which hold the lists: the file is brought up to date instead");
		ev_emit(o);
	}
	failed = eg_state_restore(&d->maps, &d->saved, (int64_t)time(NULL),
				  same ? EG_RESTORE_PENDING : EG_RESTORE_ALL, on_restored, d,
				  &d->pending);
	if (d->saved.npending_bans || d->saved.npending_allows || failed)
		d->pending_changed = true;
	if (!failed)
		return;
	if (same) {
		/* Only pending entries were tried: the file holds them already. */
		snprintf(msg, sizeof(msg), "%zu pending entries still could not be restored; they stay in %s under \"pending\"",
			 failed, d->state_path);
		ev_error("state_error", msg);
		return;
	}
	/* The file as it was, before the first save makes it match the maps. */
	if (eg_file_set_aside(d->state_path, "before-restore", true, aside, sizeof(aside), &e))
		snprintf(msg, sizeof(msg), "%zu saved entries could not be restored; they stay in %s under \"pending\" (%s)",
			 failed, d->state_path, e.msg);
	else
		snprintf(msg, sizeof(msg), "%zu saved entries could not be restored; they stay in %s under \"pending\", and the file as it was is kept as %s",
			 failed, d->state_path, aside);
	ev_error("state_error", msg);
}

/* ---- main loop ---- */


static uint32_t map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * After a detach (and maybe a re-attach) our descriptors hold maps nothing
 * enforces any more. Exiting is the honest answer: a restart restores the
 * saved lists into whatever is pinned then.
 */
static bool maps_still_pinned(const struct daemon *d)
{
	char p[PATH_MAX];
	uint32_t id;
	int fd;

	snprintf(p, sizeof(p), "%s/eg_ban_exact", eg_pin_dir());
	fd = bpf_obj_get(p);
	if (fd < 0)
		return false;
	id = map_id(fd);
	close(fd);
	return id && id == map_id(d->maps.ban_exact);
}

/* false when the daemon should stop: its maps were unpinned. */
static bool tick(struct daemon *d)
{
	struct eg_err e = { 0 };

	/*
	 * A fleet resync applies many bans in a row; walking and saving the
	 * whole list at every tick in between would cost more than the resync
	 * itself. The datapath ignores expired bans and the maps hold the new
	 * ones meanwhile: reap and save once it is done, or at least this often.
	 */
	bool defer = fleet_resyncing() && eg_mono_ms() - d->housekeeping_ms < HOUSEKEEPING_DEFER_MAX_MS;

	consume_events(d);
	if (!defer)
		reap_expired(d);
	if (eg_sweeper_run(d->sweeper, &e))
		ev_error("flow_sweep_error", e.msg);
	if (eg_mono_ms() - d->ifaces_checked_ms >= IFACE_CHECK_MS)
		watch_ifaces(d, false);
	if (!defer) {
		persist(d, false);
		d->housekeeping_ms = eg_mono_ms();
	}
	return maps_still_pinned(d);
}

enum stop_cause { STOP_SIGNAL, STOP_DETACHED, STOP_ERROR };

/* Returns why the daemon should stop. */
static enum stop_cause run(struct daemon *d)
{
	uint64_t next = eg_mono_ms() + d->interval_ms;
	struct pollfd pfd[4] = {
		{ .fd = d->sigfd, .events = POLLIN },
		{ .fd = ring_buffer__epoll_fd(d->rb), .events = POLLIN },
		{ .fd = control_fd(d->ctl), .events = POLLIN },
		{ .fd = fleet_fd(), .events = POLLIN }, /* -1 without a fleet: poll skips it */
	};
	struct signalfd_siginfo si;
	uint64_t now;
	int n, timeout, ctl;

	for (;;) {
		now = eg_mono_ms();
		if (now >= next) {
			if (!tick(d))
				return STOP_DETACHED;
			next = now + d->interval_ms;
		}
		/* Woken for the next tick, or the next control client's deadline. */
		timeout = (int)(next > now ? next - now : 0);
		ctl = control_timeout_ms(d->ctl);
		if (ctl >= 0 && ctl < timeout)
			timeout = ctl;
		if (fleet_busy())
			timeout = 0; /* more from the fleet waits: serve it between everything else */
		n = poll(pfd, 4, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "edgeguardd: poll: %s\n", strerror(errno));
			return STOP_ERROR;
		}
		/* Serves what is ready and drops clients past their deadline; never blocks. */
		if (control_service(d->ctl))
			persist(d, false); /* a change made through the socket is saved at once */
		/* A bounded batch from the fleet; saved at the next tick (a resync is many). */
		fleet_service();
		if (n <= 0)
			continue;
		if (pfd[1].revents & POLLIN)
			consume_events(d); /* an auto-ban is news now, not at the next tick */
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP)
			in_force_reload(&d->policy);
		else if (si.ssi_signo == SIGUSR1)
			reopen_events(d);
		else
			return STOP_SIGNAL;
	}
}

static int parse_args(struct daemon *d, int argc, char **argv, const char **events_path)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "group", required_argument, NULL, 'g' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "config", required_argument, NULL, 'c' },
#define FLEET_OPT(id, name, arg) { name, arg ? required_argument : no_argument, NULL, \
				   FLEET_OPT_BASE + EG_FLEET_OPT_##id },
		EG_FLEET_OPTIONS(FLEET_OPT)
#undef FLEET_OPT
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct eg_err e = { 0 };
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= FLEET_OPT_BASE && c < FLEET_OPT_BASE + EG_FLEET_OPT_MAX) {
			if (eg_fleet_config_set(&d->fleet, (enum eg_fleet_option)(c - FLEET_OPT_BASE),
						optarg, true, &e)) {
				fprintf(stderr, "edgeguardd: %s\n", e.msg);
				return 2;
			}
			continue;
		}
		switch (c) {
		case 'P':
			if (!*optarg || optarg[0] != '/') {
				fprintf(stderr, "edgeguardd: --pin-dir must be an absolute path on bpffs, not '%s'\n",
					optarg);
				return 2;
			}
			/* Where every part of the daemon and the library looks (paths.h). */
			setenv(EG_PIN_DIR_ENV, optarg, 1);
			break;
		case 'c':
			d->config_path = optarg;
			break;
		case 'p':
			d->policy_path = optarg;
			break;
		case 's':
			d->state_dir = optarg;
			break;
		case 'e':
			*events_path = optarg;
			break;
		case 'i':
			errno = 0;
			d->interval_ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !d->interval_ms ||
			    d->interval_ms > MAX_INTERVAL_MS) {
				fprintf(stderr, "edgeguardd: --interval-ms must be 1..%lu, not '%s'\n",
					MAX_INTERVAL_MS, optarg);
				return 2;
			}
			break;
		case 'm':
			if (metrics_configure(optarg))
				return 2;
			break;
		case 'g':
			d->control_group = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("edgeguardd %s\n", EDGEGUARD_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "edgeguardd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	/* The config file fills what the command line left; then the whole is checked. */
	if (d->config_path && eg_fleet_config_load(d->config_path, &d->fleet, &e)) {
		fprintf(stderr, "edgeguardd: %s\n", e.msg);
		return 2;
	}
	if (eg_fleet_config_finish(&d->fleet, &e) < 0) {
		fprintf(stderr, "edgeguardd: %s\n", e.msg);
		return 2;
	}
	return 0;
}

/*
 * One daemon per run directory, for its whole life: a lock on a file in it,
 * taken before anything is touched and released only by the kernel when the
 * process ends, so two daemons started together cannot both get past here
 * (a check of the control socket could not tell a daemon that is starting).
 * The run directory must be ours alone: whoever can write it can put a
 * socket of their own where the CLI looks for ours.
 */
static int lock_run_dir(struct daemon *d)
{
	const char *dir = eg_run_dir();
	struct flock whole = { .l_type = F_WRLCK, .l_whence = SEEK_SET }, holder;
	char path[PATH_MAX], pid[32];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE) >= (int)sizeof(path))
		return daemon_fail(1, "the run directory path %s is too long", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return daemon_fail(1, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st))
		return daemon_fail(1, "cannot stat %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return daemon_fail(1, "run directory %s must be a directory owned by uid %u and not writable by group or others (owner %u, mode %04o)",
				   dir, (unsigned int)geteuid(), (unsigned int)st.st_uid,
				   (unsigned int)(st.st_mode & 07777));
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->lock_fd < 0)
		return daemon_fail(1, "cannot open %s: %s", path, strerror(errno));
	/*
	 * A POSIX record lock rather than flock: whoever fails to get it asks
	 * the kernel who holds it (F_GETLK), instead of reading a pid the
	 * holder may not have written yet, or a stale one of an earlier daemon.
	 */
	if (!fcntl(d->lock_fd, F_SETLK, &whole)) {
		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(d->lock_fd, 0) || pwrite(d->lock_fd, pid, strlen(pid), 0) < 0)
			return daemon_fail(1, "cannot write %s: %s", path, strerror(errno));
		return 0;
	}
	if (errno != EAGAIN && errno != EACCES)
		return daemon_fail(1, "cannot lock %s: %s", path, strerror(errno));
	holder = whole;
	if (fcntl(d->lock_fd, F_GETLK, &holder) || holder.l_type == F_UNLCK || holder.l_pid <= 0)
		snprintf(pid, sizeof(pid), "unknown");
	else
		snprintf(pid, sizeof(pid), "%d", (int)holder.l_pid);
	return daemon_fail(1, "another edgeguardd (pid %s) is running on %s; stop it first", pid,
			   dir);
}

/*
 * --group may read what the maps hold (bans, stats, top) straight from the
 * pins, with the daemon stopped or hung, as root can: the pins are made
 * readable, never writable, by the group. Changes still go through the
 * control socket, where the group's requests are checked and logged.
 */
static int share_pins(struct daemon *d)
{
	struct eg_err e = { 0 };
	bool opened;
	gid_t gid;
	cJSON *o;

	if (!control_group(d->ctl, &gid))
		return 0;
	if (eg_pins_share(gid, &opened, &e))
		return daemon_fail(1, "%s", e.msg);
	o = ev_new("pins_shared");
	cJSON_AddStringToObject(o, "maps", eg_pin_dir());
	cJSON_AddNumberToObject(o, "gid", gid);
	cJSON_AddBoolToObject(o, "bpffs_root_opened_for_search", opened);
	ev_emit(o);
	return 0;
}

/* Every start-up step frees what it made when a later one fails: daemon_free. */
static int setup(struct daemon *d, const char *events_path)
{
	struct eg_err e = { 0 };
	sigset_t set;

	if (lock_run_dir(d))
		return 1;
	if (eg_maps_open_pinned(&d->maps, &e))
		return daemon_fail(1, "%s", e.msg);
	d->maps_open = true;
	if (d->policy_path) {
		struct eg_policy_file pf;

		/* Checked before anything is touched: a bad file at start is the operator's to fix. */
		if (eg_policy_file_load(d->policy_path, &pf, &e))
			return daemon_fail(1, "%s", e.msg);
		eg_policy_file_free(&pf);
	}
	if (snprintf(d->state_path, sizeof(d->state_path), "%s/%s", d->state_dir, EG_STATE_FILE) >=
	    (int)sizeof(d->state_path))
		return daemon_fail(1, "--state-dir %s: path too long", d->state_dir);
	if (mkdir(d->state_dir, 0700) && errno != EEXIST)
		return daemon_fail(1, "cannot create state directory %s: %s", d->state_dir, strerror(errno));
	if (eg_state_dir_check(d->state_dir, d->state_path, &e))
		return daemon_fail(1, "%s", e.msg);
	if (events_path) {
		d->events_fp = fopen(events_path, "ae");
		if (!d->events_fp)
			return daemon_fail(1, "cannot open event file %s: %s", events_path, strerror(errno));
		ev_set_output(d->events_fp);
		d->events_path = events_path;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return daemon_fail(1, "sigprocmask: %s", strerror(errno));
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (d->sigfd < 0)
		return daemon_fail(1, "signalfd: %s", strerror(errno));
	d->rb = ring_buffer__new(d->maps.events, on_ring_event, d, NULL);
	if (!d->rb)
		return daemon_fail(1, "cannot open the event ring buffer: %s", strerror(errno));
	d->sweeper = eg_sweeper_open(&e);
	if (!d->sweeper)
		return daemon_fail(1, "%s", e.msg);
	in_force_init(&d->policy, &d->maps, d->policy_path, d->state_dir);
	d->ctl = control_open(&d->maps, d->control_group,
			      &(struct control_hooks){ .policy_load = in_force_control_load,
						       .ctx = &d->policy });
	return d->ctl ? share_pins(d) : 1;
}

/* Frees whatever setup and the run made; safe at any point after the struct's init. */
static void daemon_free(struct daemon *d)
{
	metrics_stop();
	fleet_stop();
	control_close(d->ctl);
	d->ctl = NULL;
	eg_sweeper_close(d->sweeper);
	d->sweeper = NULL;
	ring_buffer__free(d->rb);
	d->rb = NULL;
	if (d->sigfd >= 0)
		close(d->sigfd);
	d->sigfd = -1;
	if (d->maps_open)
		eg_maps_close(&d->maps);
	d->maps_open = false;
	eg_state_free(&d->saved);
	eg_state_free(&d->pending);
	in_force_free(&d->policy);
	if (d->events_fp) {
		ev_set_output(NULL);
		fclose(d->events_fp);
		d->events_fp = NULL;
	}
	if (d->lock_fd >= 0)
		close(d->lock_fd); /* the lock goes with it */
	d->lock_fd = -1;
}

int main(int argc, char **argv)
{
	struct daemon d = { .state_dir = STATE_DIR_DEFAULT, .interval_ms = 1000, .sigfd = -1,
			    .lock_fd = -1 };
	const char *events_path = NULL;
	struct eg_err e = { 0 };
	enum stop_cause cause;
	bool detached, saved;
	cJSON *o;
	int rc;

	eg_fleet_config_init(&d.fleet);
	rc = parse_args(&d, argc, argv, &events_path);
	if (rc)
		return rc;
	eg_state_init(&d.saved);
	eg_state_init(&d.pending);
	if (setup(&d, events_path) || metrics_start(&d.maps)) {
		daemon_free(&d);
		return 1;
	}

	watch_ifaces(&d, true);
	o = ev_new("start");
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "state", d.state_path);
	cJSON_AddStringToObject(o, "maps", eg_pin_dir());
	{
		cJSON *arr = cJSON_AddArrayToObject(o, "interfaces");

		for (int i = 0; i < d.nifaces; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(d.ifaces[i].name));
	}
	ev_emit(o);

	restore_state(&d);
	if (in_force_start(&d.policy)) {
		daemon_free(&d);
		return 1;
	}
	/* After the restore and the policy, so the fleet's bans meet the lists as they are. */
	if (eg_fleet_config_finish(&d.fleet, &e) > 0 && fleet_start(&d.fleet, &d.maps)) {
		daemon_free(&d);
		return 1;
	}
	memset(d.fleet.password, 0, sizeof(d.fleet.password));
	cause = tick(&d) ? run(&d) : STOP_DETACHED;
	detached = cause == STOP_DETACHED;

	/* Saved either way: after a detach these maps hold the last word on the lists. */
	consume_events(&d);
	saved = persist(&d, true) == 0;
	o = ev_new("stop");
	cJSON_AddStringToObject(o, "state", saved ? "saved" : "not saved");
	if (detached)
		cJSON_AddStringToObject(o, "error", "the pinned maps are gone or replaced (detached?)");
	ev_emit(o);
	if (detached && ev_to_file())
		fprintf(stderr, "edgeguardd: the maps under %s are gone or replaced (detached?); stopping\n",
			eg_pin_dir());
	/*
	 * Stopped by a signal, or after the last detach (an operator's act, not
	 * a failure: systemd must not restart it into maps that are not there;
	 * the attach unit starts it again): 0 once the state is saved.
	 */
	rc = saved && (cause == STOP_SIGNAL || cause == STOP_DETACHED) ? 0 : 1;
	daemon_free(&d);
	return rc;
}

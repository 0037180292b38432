// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * edgeguard's own side: is it attached, in which XDP mode, on how many
 * queues, behind which reverse-path filter; does the daemon answer; how full
 * are the maps; and would the policy in force cut off the SSH session the
 * operator is typing in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "attach.h"
#include "doctor.h"
#include "pins.h"
#include "report.h"

#define MAP_FILL_PCT 80L
/* Limits below these would cut off an operator's SSH (an ansible run opens ~20 connections at once). */
#define SSH_SYN_BURST_MIN 10U
#define SSH_PKT_RATE_MIN 1000U
#define SSH_MAX_CONNS_MIN 10U

static const char *proc_of(const struct eg_doctor_opts *o)
{
	return o->proc_root ? o->proc_root : "/proc";
}

static const char *sys_of(const struct eg_doctor_opts *o)
{
	return o->sys_root ? o->sys_root : "/sys";
}

static int attached_check(struct eg_doctor_report *r, const struct eg_iface *ifs, int n,
			  const struct eg_missing_iface *gone, int ngone)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "edgeguard.attached");
	size_t used = 0;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "every protected interface runs edgeguard");
	EG_DOC_SET(c, why,
		   "without the XDP program nothing is filtered: no limits, no bans, no auto-bans");
	for (int i = 0; i < n && used < sizeof(c->found) - 1; i++)
		used += (size_t)snprintf(c->found + used, sizeof(c->found) - used, "%s%s",
					 i ? ", " : "", ifs[i].name);
	if (!n)
		EG_DOC_SET(c, found, "no interface runs edgeguard");
	if (ngone) {
		c->status = EG_DOCTOR_FIX;
		if (used < sizeof(c->found) - 1)
			snprintf(c->found + used, sizeof(c->found) - used,
				 "%s%s (ifindex %d) %s", n ? "; " : "nothing attached; ", gone[0].name,
				 gone[0].ifindex,
				 gone[0].exists ? "no longer runs edgeguard" :
						  "was deleted while attached");
		EG_DOC_SET(c, fix, "edgeguard detach %s, then edgeguard attach IFNAME again",
			   gone[0].name);
	} else if (!n) {
		c->status = EG_DOCTOR_FIX;
		EG_DOC_SET(c, fix,
			   "name the interfaces in /etc/edgeguard/edgeguard.conf and systemctl start edgeguard-attach@IFNAME, or edgeguard attach IFNAME --policy /etc/edgeguard/policy.json");
	}
	return 0;
}

static int xdp_mode_check(struct eg_doctor_report *r, const struct eg_iface *i)
{
	char name[64];
	struct eg_doctor_check *c;

	snprintf(name, sizeof(name), "%.*s.xdp_mode", IF_NAMESIZE, i->name);
	c = eg_doctor_add(r, name);
	if (!c)
		return -1;
	EG_DOC_SET(c, found, "%s", i->mode);
	EG_DOC_SET(c, recommended, "native");
	EG_DOC_SET(c, why,
		   "generic (skb) XDP runs after the kernel has allocated a socket buffer for every packet, which is most of what a flood costs; native XDP drops it in the driver first");
	EG_DOC_SET(c, fix,
		   "edgeguard detach %s && edgeguard attach %s --xdp-mode native (needs a driver with native XDP; XDP_MODE=native in /etc/edgeguard/edgeguard.conf)",
		   i->name, i->name);
	if (strcmp(i->mode, "native") && strcmp(i->mode, "hw"))
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int count_prefixed(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static int queues_check(const struct eg_doctor_opts *o, struct eg_doctor_report *r,
			const struct eg_iface *i)
{
	char name[64], dir[4096];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct eg_doctor_check *c;
	int rx;

	snprintf(name, sizeof(name), "%.*s.rx_queues", IF_NAMESIZE, i->name);
	c = eg_doctor_add(r, name);
	if (!c)
		return -1;
	snprintf(dir, sizeof(dir), "%s/class/net/%s/queues", sys_of(o), i->name);
	rx = count_prefixed(dir, "rx-");
	EG_DOC_SET(c, recommended, "one per CPU (%ld), or as many as the NIC has", cpus);
	EG_DOC_SET(c, why,
		   "XDP runs on the CPU that serves each receive queue: with fewer queues than CPUs a flood lands on those few CPUs while the rest idle");
	EG_DOC_SET(c, fix, "ethtool -L %s combined %ld (ethtool -l %s shows the NIC's maximum)",
		   i->name, cpus, i->name);
	if (rx < 0) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read %s", dir);
		return 0;
	}
	EG_DOC_SET(c, found, "%d", rx);
	if (rx < cpus)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

/* The kernel uses the larger of conf.all.rp_filter and the interface's own. */
static int rp_filter_check(const struct eg_doctor_opts *o, struct eg_doctor_report *r,
			   const char *ifname)
{
	char name[64], rel[128];
	long long all, own;
	struct eg_doctor_check *c;

	snprintf(name, sizeof(name), "%s.rp_filter", ifname);
	c = eg_doctor_add(r, name);
	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "1 (strict), or 2 (loose) where routing is asymmetric");
	EG_DOC_SET(c, why,
		   "without reverse-path filtering the host answers packets whose source could not have come in on this interface: spoofed floods get SYN-ACKs and RSTs back, and ban evasion by spoofing gets easier");
	EG_DOC_SET(c, fix,
		   "sysctl -w net.ipv4.conf.%s.rp_filter=1 net.ipv4.conf.all.rp_filter=1; keep both in /etc/sysctl.d/90-edgeguard.conf",
		   ifname);
	snprintf(rel, sizeof(rel), "sys/net/ipv4/conf/%s/rp_filter", ifname);
	if (eg_doctor_read_ll(proc_of(o), "sys/net/ipv4/conf/all/rp_filter", &all) ||
	    eg_doctor_read_ll(proc_of(o), rel, &own)) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read %s/%s (interface in another namespace?)",
			   proc_of(o), rel);
		return 0;
	}
	EG_DOC_SET(c, found, "%lld (all %lld, %s %lld)", all > own ? all : own, all, ifname, own);
	if (all == 0 && own == 0)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int daemon_check(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "edgeguardd.answering");
	char msg[sizeof(c->found)] = "";
	int rc;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "running and answering");
	EG_DOC_SET(c, why,
		   "enforcement goes on without it, but without it expired bans are not reaped, bans are not saved across a reboot, and there are no events and no metrics");
	EG_DOC_SET(c, fix, "systemctl restart edgeguard (journalctl -u edgeguard says why it stopped)");
	if (!o->daemon_ping) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "not checked");
		return 0;
	}
	rc = o->daemon_ping(msg, sizeof(msg));
	if (rc == 1) {
		EG_DOC_SET(c, found, "answering");
		return 0;
	}
	c->status = EG_DOCTOR_FIX;
	EG_DOC_SET(c, found, "%s", msg[0] ? msg : rc == 0 ? "not running" : "not answering");
	return 0;
}

static int fill_check(struct eg_doctor_report *r, const struct eg_fill *f)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "edgeguard.map_fill");
	size_t used = 0;
	int worst = -1;
	long worst_pct = -1;

	if (!c)
		return -1;
	for (int i = 0; i < EG_FILL_MAX; i++) {
		long pct;

		if (f->entries[i] < 0 || !f->capacity[i])
			continue;
		pct = f->entries[i] * 100 / (long)f->capacity[i];
		if (pct > worst_pct) {
			worst_pct = pct;
			worst = i;
		}
		if (pct >= MAP_FILL_PCT && used < sizeof(c->found) - 1)
			used += (size_t)snprintf(c->found + used, sizeof(c->found) - used,
						 "%s%s %ld/%u", used ? ", " : "", eg_fill_names[i],
						 f->entries[i], f->capacity[i]);
	}
	EG_DOC_SET(c, recommended, "every map under %ld%% full", MAP_FILL_PCT);
	EG_DOC_SET(c, why,
		   "a full source table forgets sources (their limits start over), a full ban map refuses bans, a full auto-ban map makes auto-bans fail, a full flow table leaves connections uncounted");
	EG_DOC_SET(c, fix,
		   "raise the map's size under \"limits\" in the policy file (applies at the next attach after a detach of every interface), or remove bans no longer needed (edgeguard bans, edgeguard unban)");
	if (worst_pct >= MAP_FILL_PCT) {
		c->status = EG_DOCTOR_FIX;
		return 0;
	}
	if (worst >= 0)
		EG_DOC_SET(c, found, "fullest: %s %ld%%", eg_fill_names[worst], worst_pct);
	else
		EG_DOC_SET(c, found, "no map could be counted");
	return 0;
}

/* The policy TCP port `port` gets now, and its slot's name; -1 when unreadable. */
static int live_policy(const struct eg_maps *m, unsigned int port, struct eg_policy *pol,
		       char *name, size_t len)
{
	struct eg_policy_name pn;
	struct eg_config cfg;
	uint32_t zero = 0, key, slot = 0, idx;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return -1;
	key = eg_port_slot(cfg.active_gen & 1, EG_L4_TCP, port);
	if (bpf_map_lookup_elem(m->port_policy, &key, &slot) || slot >= EG_MAX_POLICIES)
		slot = 0;
	idx = (cfg.active_gen & 1) * EG_MAX_POLICIES + slot;
	if (bpf_map_lookup_elem(m->policies, &idx, pol))
		return -1;
	if (!bpf_map_lookup_elem(m->policy_names, &slot, &pn) && pn.name[0])
		snprintf(name, len, "%.*s", (int)sizeof(pn.name), pn.name);
	else
		snprintf(name, len, "%s", slot ? "slot" : "default");
	return 0;
}

/* What in pol would cut an operator off, as text; "" when nothing. */
static void ssh_risks(const struct eg_policy *pol, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	if (pol->mode == EG_MODE_DRY_RUN)
		return;
#define RISK(...)                                                                          \
	do {                                                                               \
		if (used < len)                                                            \
			used += (size_t)snprintf(out + used, len - used, "%s", used ? ", " : ""); \
		if (used < len)                                                            \
			used += (size_t)snprintf(out + used, len - used, __VA_ARGS__);     \
	} while (0)
	if (pol->syn.rate && pol->syn.burst < SSH_SYN_BURST_MIN)
		RISK("syn burst %u", pol->syn.burst);
	if (pol->pkt.rate && pol->pkt.rate < SSH_PKT_RATE_MIN)
		RISK("packets %u/s", pol->pkt.rate);
	if (pol->max_conns && pol->max_conns < SSH_MAX_CONNS_MIN)
		RISK("max_conns %u", pol->max_conns);
	if (used && pol->ban_after)
		RISK("auto-ban after %u drops for %us", pol->ban_after, pol->ban_ttl_s);
#undef RISK
}

static int ssh_check(const struct eg_doctor_opts *o, struct eg_doctor_report *r,
		     const struct eg_maps *m)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "policy.ssh_lockout");
	const char *conn = o->ssh_connection ? o->ssh_connection : getenv("SSH_CONNECTION");
	char client[64] = "", risks[160], pname[EG_POLICY_NAME_LEN];
	unsigned int port = 22, cport, sport;
	struct eg_lpm_key k;
	struct eg_policy pol;
	uint32_t allowed;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended,
		   "the SSH client allowlisted, or SSH's policy with a SYN burst of at least %u, at least %u packets/s and at least %u connections",
		   SSH_SYN_BURST_MIN, SSH_PKT_RATE_MIN, SSH_MAX_CONNS_MIN);
	EG_DOC_SET(c, why,
		   "a limit that fits a public service locks out the operator during the incident: a few SSH sessions, scp or an ansible run exceed it, and an auto-ban keeps them out");
	if (conn && sscanf(conn, "%63s %u %*s %u", client, &cport, &sport) == 3)
		port = sport;
	else
		client[0] = '\0';
	if (live_policy(m, port, &pol, pname, sizeof(pname))) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read the policy in force");
		return 0;
	}
	ssh_risks(&pol, risks, sizeof(risks));
	if (client[0] && !eg_parse_cidr(client, &k, NULL) &&
	    !bpf_map_lookup_elem(m->allow, &k, &allowed)) {
		EG_DOC_SET(c, found, "SSH client %s is allowlisted", client);
		return 0;
	}
	if (!risks[0]) {
		EG_DOC_SET(c, found, "tcp/%u gets policy '%s'%s: nothing that would cut SSH off",
			   port, pname, pol.mode == EG_MODE_DRY_RUN ? " (dry-run)" : "");
		return 0;
	}
	c->status = EG_DOCTOR_FIX;
	EG_DOC_SET(c, found, "tcp/%u gets policy '%s': %s%s%s", port, pname, risks,
		   client[0] ? "; client " : "", client);
	EG_DOC_SET(c, fix,
		   "edgeguard allow add %s (the admins' network), or give tcp/%u a policy of its own with looser limits",
		   client[0] ? client : "ADMIN-CIDR", port);
	return 0;
}

int eg_doctor_edgeguard_checks(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_iface ifs[EG_MAX_IFACES];
	struct eg_missing_iface gone[EG_MAX_IFACES];
	struct eg_err e = { 0 };
	struct eg_maps m;
	struct eg_fill fill;
	int n, ngone, rc = 0;

	n = eg_list_attached(ifs, EG_MAX_IFACES, &e);
	if (n < 0)
		n = 0;
	if (n > EG_MAX_IFACES)
		n = EG_MAX_IFACES;
	ngone = eg_list_missing(gone, EG_MAX_IFACES, &e);
	if (ngone < 0)
		ngone = 0;
	if (ngone > EG_MAX_IFACES)
		ngone = EG_MAX_IFACES;
	if (attached_check(r, ifs, n, gone, ngone))
		return -1;
	for (int i = 0; i < n; i++)
		if (xdp_mode_check(r, &ifs[i]) || queues_check(o, r, &ifs[i]) ||
		    rp_filter_check(o, r, ifs[i].name))
			return -1;
	if (!n && rp_filter_check(o, r, "default"))
		return -1;
	if (daemon_check(o, r))
		return -1;
	if (eg_maps_open_pinned_ro(&m, &e))
		return 0; /* nothing pinned: attached_check said what to do */
	eg_report_fill(&m, &fill);
	rc = fill_check(r, &fill) || ssh_check(o, r, &m) ? -1 : 0;
	eg_maps_close(&m);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The host's side of a flood: file descriptors, accept and SYN queues,
 * ephemeral ports, conntrack, TIME_WAIT and keepalive. Each recommended value
 * is what a busy real-time service (WebSocket gateways, APIs behind nginx)
 * needs to ride out a connection flood that edgeguard thins but does not stop.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "doctor.h"

#define NOFILE_MIN 65536LL
#define FILE_MAX_MIN 1048576LL
#define SOMAXCONN_MIN 4096LL
#define BACKLOG_MIN 4096U
#define SYN_BACKLOG_MIN 4096LL
#define PORT_RANGE_MIN 28232LL /* Linux's own default width, 32768-60999 */
#define KEEPALIVE_MAX_S 1200LL /* dead peers found within 20 minutes */
#define FILL_WARN_PCT 80LL

static const char *proc_of(const struct eg_doctor_opts *o)
{
	return o->proc_root ? o->proc_root : "/proc";
}

/* A check of the value of one sysctl; NULL when out of memory. rc < 0: unreadable (skipped). */
static struct eg_doctor_check *sysctl_check(const struct eg_doctor_opts *o,
					    struct eg_doctor_report *r, const char *name,
					    long long *v, int *rc)
{
	char rel[256];
	struct eg_doctor_check *c = eg_doctor_add(r, name);

	if (!c)
		return NULL;
	snprintf(rel, sizeof(rel), "sys/%s", name);
	for (char *p = rel + 4; *p; p++)
		if (*p == '.')
			*p = '/';
	*rc = eg_doctor_read_ll(proc_of(o), rel, v);
	if (*rc) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read %s/%s: %s", proc_of(o), rel, strerror(-*rc));
	} else {
		EG_DOC_SET(c, found, "%lld", *v);
	}
	return c;
}

/* The usual fix line of a sysctl. */
static void sysctl_fix(struct eg_doctor_check *c, const char *name, const char *value)
{
	EG_DOC_SET(c, fix,
		   "sysctl -w %s=%s; keep it with a line '%s = %s' in /etc/sysctl.d/90-edgeguard.conf",
		   name, value, name, value);
}

/* sysctl >= min, with why and the fix. */
static int at_least(const struct eg_doctor_opts *o, struct eg_doctor_report *r, const char *name,
		    long long min, const char *why)
{
	long long v;
	int rc;
	char value[32];
	struct eg_doctor_check *c = sysctl_check(o, r, name, &v, &rc);

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "at least %lld", min);
	EG_DOC_SET(c, why, "%s", why);
	snprintf(value, sizeof(value), "%lld", min);
	sysctl_fix(c, name, value);
	if (!rc && v < min)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

/* ---- the protected service ---- */

/* "Max open files  SOFT  HARD  files" of /proc/PID/limits; "unlimited" is -1. */
static int nofile_of(const struct eg_doctor_opts *o, long long *soft, long long *hard)
{
	char rel[64], buf[4096], *line;

	snprintf(rel, sizeof(rel), "%d/limits", (int)o->service_pid);
	if (eg_doctor_read(proc_of(o), rel, buf, sizeof(buf)))
		return -1;
	line = strstr(buf, "Max open files");
	if (!line)
		return -1;
	line += strlen("Max open files");
	*soft = strncmp(line + strspn(line, " "), "unlimited", 9) ? strtoll(line, &line, 10) : -1;
	if (*soft == -1)
		line += strspn(line, " ") + 9;
	*hard = strncmp(line + strspn(line, " "), "unlimited", 9) ? strtoll(line, NULL, 10) : -1;
	return 0;
}

/* Descriptors the process has open, and the socket inodes among them (*socks, free it). */
static long open_fds(const struct eg_doctor_opts *o, unsigned long **socks, size_t *nsocks)
{
	char dir[4096], link[4096 + 512], target[64];
	struct dirent *de;
	size_t cap = 0;
	long n = 0;
	DIR *d;

	*socks = NULL;
	*nsocks = 0;
	snprintf(dir, sizeof(dir), "%s/%d/fd", proc_of(o), (int)o->service_pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t len;
		unsigned long ino;

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		if (*nsocks == cap) {
			unsigned long *p = realloc(*socks, (cap ? cap * 2 : 64) * sizeof(*p));

			if (!p)
				break;
			*socks = p;
			cap = cap ? cap * 2 : 64;
		}
		(*socks)[(*nsocks)++] = ino;
	}
	closedir(d);
	return n;
}

static void limit_fix(const struct eg_doctor_opts *o, struct eg_doctor_check *c)
{
	if (o->unit)
		EG_DOC_SET(c, fix,
			   "systemctl edit %s: add '[Service]' and 'LimitNOFILE=1048576', then systemctl restart %s",
			   o->unit, o->unit);
	else
		EG_DOC_SET(c, fix,
			   "prlimit --pid %d --nofile=1048576:1048576 now, and raise the limit where the service is started (LimitNOFILE= of its unit)",
			   (int)o->service_pid);
}

static int service_nofile(const struct eg_doctor_opts *o, struct eg_doctor_report *r,
			  long nfds)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "service.open_files");
	long long soft, hard;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "a limit of at least %lld, under %lld%% of it in use",
		   NOFILE_MIN, FILL_WARN_PCT);
	EG_DOC_SET(c, why,
		   "every connection of %s is a descriptor; at the limit accept() fails with EMFILE and the service stops taking clients that edgeguard let through",
		   o->service);
	limit_fix(o, c);
	if (nofile_of(o, &soft, &hard)) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read the limits of %s (pid %d)", o->service,
			   (int)o->service_pid);
		return 0;
	}
	if (soft < 0) {
		EG_DOC_SET(c, found, "unlimited, %ld open", nfds);
		return 0;
	}
	EG_DOC_SET(c, found, "limit %lld (hard %lld), %ld open", soft, hard, nfds);
	if (soft < NOFILE_MIN || (nfds >= 0 && nfds * 100 >= soft * FILL_WARN_PCT))
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static bool has_inode(const unsigned long *socks, size_t n, unsigned long ino)
{
	for (size_t i = 0; i < n; i++)
		if (socks[i] == ino)
			return true;
	return false;
}

/* The listen backlog of every TCP port the service listens on. */
static int service_backlog(const struct eg_doctor_opts *o, struct eg_doctor_report *r,
			   const unsigned long *socks, size_t nsocks)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "service.listen_backlog");
	struct eg_listener *ls;
	size_t used = 0;
	int n, shown = 0;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "a backlog of at least %u on every port, never full",
		   BACKLOG_MIN);
	EG_DOC_SET(c, why,
		   "the accept queue holds handshakes the service has not accepted yet; when it is full the kernel drops good clients' connections however well edgeguard filters (the backlog is min(listen() backlog, net.core.somaxconn))");
	EG_DOC_SET(c, fix,
		   "raise the service's listen backlog (nginx: 'listen ... backlog=%u'; others: the listen() argument) and net.core.somaxconn to match",
		   BACKLOG_MIN);
	n = eg_doctor_listeners(&ls);
	if (n < 0) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot list listening sockets: %s", strerror(-n));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (!has_inode(socks, nsocks, ls[i].inode))
			continue;
		if (ls[i].backlog < BACKLOG_MIN || ls[i].queued >= ls[i].backlog)
			c->status = EG_DOCTOR_FIX;
		if (used < sizeof(c->found) - 1)
			used += (size_t)snprintf(c->found + used, sizeof(c->found) - used,
						 "%sport %u: backlog %u, %u waiting", shown ? "; " : "",
						 ls[i].port, ls[i].backlog, ls[i].queued);
		shown++;
	}
	free(ls);
	if (!shown) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "%s listens on no TCP port in this network namespace",
			   o->service);
	}
	return 0;
}

static int service_checks(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	unsigned long *socks;
	size_t nsocks;
	long nfds;
	int rc;

	if (!o->service_pid)
		return 0;
	nfds = open_fds(o, &socks, &nsocks);
	rc = service_nofile(o, r, nfds);
	if (!rc)
		rc = service_backlog(o, r, socks, nsocks);
	free(socks);
	return rc;
}

/* ---- system-wide ---- */

static int file_max(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	long long max, alloc = -1;
	char nr[128];
	int rc;
	struct eg_doctor_check *c = sysctl_check(o, r, "fs.file-max", &max, &rc);

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "at least %lld, under %lld%% in use", FILE_MAX_MIN,
		   FILL_WARN_PCT);
	EG_DOC_SET(c, why,
		   "the limit of open files for the whole host: past it every process's open() and accept() fail with ENFILE");
	sysctl_fix(c, "fs.file-max", "1048576");
	if (rc)
		return 0;
	if (!eg_doctor_read(proc_of(o), "sys/fs/file-nr", nr, sizeof(nr)))
		alloc = strtoll(nr, NULL, 10);
	if (alloc >= 0)
		EG_DOC_SET(c, found, "%lld (%lld in use)", max, alloc);
	if (max < FILE_MAX_MIN || (alloc >= 0 && alloc * 100 >= max * FILL_WARN_PCT))
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int port_range(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "net.ipv4.ip_local_port_range");
	long long lo, hi;
	char buf[64];
	int rc;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "at least %lld ports (e.g. 1024 65535)", PORT_RANGE_MIN);
	EG_DOC_SET(c, why,
		   "every outgoing connection (a proxy to its upstreams, health checks) takes a local port for as long as it lives and for TIME_WAIT after: a narrow range runs out under load and connect() fails with EADDRNOTAVAIL");
	sysctl_fix(c, "net.ipv4.ip_local_port_range", "\"1024 65535\"");
	rc = eg_doctor_read(proc_of(o), "sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));
	if (rc || sscanf(buf, "%lld %lld", &lo, &hi) != 2) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read it: %s", rc ? strerror(-rc) : "not two numbers");
		return 0;
	}
	EG_DOC_SET(c, found, "%lld %lld (%lld ports)", lo, hi, hi - lo + 1);
	if (hi - lo + 1 < PORT_RANGE_MIN)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int conntrack(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "net.netfilter.nf_conntrack_count");
	long long count, max;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "under %lld%% of net.netfilter.nf_conntrack_max",
		   FILL_WARN_PCT);
	EG_DOC_SET(c, why,
		   "a full connection-tracking table drops every new connection of the host ('nf_conntrack: table full, dropping packet'), the good ones too");
	EG_DOC_SET(c, fix,
		   "sysctl -w net.netfilter.nf_conntrack_max=%s (keep it in /etc/sysctl.d/90-edgeguard.conf), or exempt the service's port from tracking (nft: a 'notrack' rule in a raw-priority chain)",
		   "1048576");
	if (eg_doctor_read_ll(proc_of(o), "sys/net/netfilter/nf_conntrack_count", &count) ||
	    eg_doctor_read_ll(proc_of(o), "sys/net/netfilter/nf_conntrack_max", &max) || max <= 0) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "connection tracking is not loaded here (nothing to fill)");
		return 0;
	}
	EG_DOC_SET(c, found, "%lld of %lld (%lld%%)", count, max, count * 100 / max);
	if (count * 100 >= max * FILL_WARN_PCT)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int time_wait(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "tcp.time_wait");
	char buf[1024], *tw;
	long long n, max;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "under %lld%% of net.ipv4.tcp_max_tw_buckets", FILL_WARN_PCT);
	EG_DOC_SET(c, why,
		   "past tcp_max_tw_buckets the kernel destroys TIME_WAIT sockets early ('time wait bucket table overflow'); many of them also hold the local ports outgoing connections need");
	EG_DOC_SET(c, fix,
		   "sysctl -w net.ipv4.tcp_tw_reuse=1 (outgoing connections reuse them safely) and raise net.ipv4.tcp_max_tw_buckets; keep both in /etc/sysctl.d/90-edgeguard.conf");
	if (eg_doctor_read(proc_of(o), "net/sockstat", buf, sizeof(buf)) ||
	    !(tw = strstr(buf, " tw ")) ||
	    eg_doctor_read_ll(proc_of(o), "sys/net/ipv4/tcp_max_tw_buckets", &max) || max <= 0) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read net/sockstat or tcp_max_tw_buckets under %s",
			   proc_of(o));
		return 0;
	}
	n = strtoll(tw + 4, NULL, 10);
	EG_DOC_SET(c, found, "%lld sockets in TIME_WAIT of at most %lld", n, max);
	if (n * 100 >= max * FILL_WARN_PCT)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int keepalive(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	struct eg_doctor_check *c = eg_doctor_add(r, "net.ipv4.tcp_keepalive");
	long long t, intvl, probes, total;

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "a dead peer found within %lld s (time + intvl x probes)",
		   KEEPALIVE_MAX_S);
	EG_DOC_SET(c, why,
		   "a client that vanished without a FIN (a phone that lost its network) holds its connection, its descriptor and its slot of an edgeguard max_conns cap until keepalive gives up; with the kernel's defaults that takes over two hours");
	EG_DOC_SET(c, fix,
		   "sysctl -w net.ipv4.tcp_keepalive_time=300 net.ipv4.tcp_keepalive_intvl=30 net.ipv4.tcp_keepalive_probes=5 (keep them in /etc/sysctl.d/90-edgeguard.conf); the service must set SO_KEEPALIVE");
	if (eg_doctor_read_ll(proc_of(o), "sys/net/ipv4/tcp_keepalive_time", &t) ||
	    eg_doctor_read_ll(proc_of(o), "sys/net/ipv4/tcp_keepalive_intvl", &intvl) ||
	    eg_doctor_read_ll(proc_of(o), "sys/net/ipv4/tcp_keepalive_probes", &probes)) {
		c->status = EG_DOCTOR_SKIP;
		EG_DOC_SET(c, found, "cannot read net.ipv4.tcp_keepalive_* under %s", proc_of(o));
		return 0;
	}
	total = t + intvl * probes;
	EG_DOC_SET(c, found, "time %lld s, intvl %lld s, probes %lld: %lld s", t, intvl, probes,
		   total);
	if (total > KEEPALIVE_MAX_S)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

static int syncookies(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	long long v;
	int rc;
	struct eg_doctor_check *c = sysctl_check(o, r, "net.ipv4.tcp_syncookies", &v, &rc);

	if (!c)
		return -1;
	EG_DOC_SET(c, recommended, "1");
	EG_DOC_SET(c, why,
		   "when the SYN queue overflows, cookies let real clients complete their handshake without a queue slot; without them a spoofed SYN flood that gets past edgeguard's budget fills the queue and good clients time out");
	sysctl_fix(c, "net.ipv4.tcp_syncookies", "1");
	if (!rc && v == 0)
		c->status = EG_DOCTOR_FIX;
	return 0;
}

int eg_doctor_host_checks(const struct eg_doctor_opts *o, struct eg_doctor_report *r)
{
	if (service_checks(o, r) || file_max(o, r))
		return -1;
	if (at_least(o, r, "fs.nr_open", FILE_MAX_MIN,
		     "the most descriptors one process may be given (its LimitNOFILE cannot go higher)"))
		return -1;
	if (at_least(o, r, "net.core.somaxconn", SOMAXCONN_MIN,
		     "caps every listen() backlog: a service asking for a larger accept queue silently gets this much, and a full queue drops good clients' connections"))
		return -1;
	if (at_least(o, r, "net.ipv4.tcp_max_syn_backlog", SYN_BACKLOG_MIN,
		     "half-open connections kept per listener while their handshake completes; a small queue overflows in the first second of a SYN flood"))
		return -1;
	if (syncookies(o, r) || port_range(o, r) || conntrack(o, r) || time_wait(o, r) ||
	    keepalive(o, r))
		return -1;
	return 0;
}

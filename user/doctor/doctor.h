/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `edgeguard doctor`: the host checks an incident runbook does by hand, each
 * with the value found, the value recommended, why it matters and the
 * command that fixes it. The checks only read: nothing here changes the
 * host. The CLI (cli/cmd_doctor.c) formats the report as text or JSON.
 *
 * Kernel settings are read under a root directory that defaults to /proc, so
 * a test can feed a tree of its own; the network ones are those of the
 * caller's network namespace, so a test can also run doctor inside one.
 */
#ifndef EG_DOCTOR_H
#define EG_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

enum eg_doctor_status {
	EG_DOCTOR_OK,   /* as recommended */
	EG_DOCTOR_FIX,  /* needs fixing: found, recommended, why and fix say how */
	EG_DOCTOR_SKIP, /* does not apply here, or could not be read (found says which) */
};

struct eg_doctor_check {
	char name[64];
	enum eg_doctor_status status;
	char found[160];
	char recommended[192];
	char why[320];
	char fix[256];
};

struct eg_doctor_report {
	struct eg_doctor_check *checks;
	size_t n, cap;
};

struct eg_doctor_opts {
	const char *proc_root; /* where /proc is; NULL: "/proc" */
	const char *sys_root;  /* where /sys is; NULL: "/sys" */
	pid_t service_pid;     /* the protected service; 0: its checks are skipped */
	const char *service;   /* how it was named, for messages and fixes ("nginx.service", "pid 42") */
	const char *unit;      /* its systemd unit when named by one (fixes use it), else NULL */
	/*
	 * Is the daemon answering? 1 yes, 0 no daemon, -1 there but not
	 * answering (msg says why). NULL: the check is skipped.
	 */
	int (*daemon_ping)(char *msg, size_t len);
	/* The SSH session doctor runs in ("CLIENT CPORT SERVER SPORT"), NULL: $SSH_CONNECTION. */
	const char *ssh_connection;
};

/*
 * Runs every check into r (initialised here; free with eg_doctor_report_free).
 * Returns the number of checks that need fixing, or -1 (out of memory, e).
 */
int eg_doctor_run(const struct eg_doctor_opts *o, struct eg_doctor_report *r, struct eg_err *e);
void eg_doctor_report_free(struct eg_doctor_report *r);

const char *eg_doctor_status_name(enum eg_doctor_status s);

/* ---- for the check groups (host.c, edgeguard.c); not for front ends ---- */

/* A new check appended to r, status OK and fields empty; NULL when out of memory. */
struct eg_doctor_check *eg_doctor_add(struct eg_doctor_report *r, const char *name);
/* Sets one field (printf-style). */
void eg_doctor_set(char *field, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define EG_DOC_SET(c, field, ...) eg_doctor_set((c)->field, sizeof((c)->field), __VA_ARGS__)

/* The text of ROOT/rel (one value, trailing newline cut) into buf: 0, or -errno. */
int eg_doctor_read(const char *root, const char *rel, char *buf, size_t len);
/* The first integer of ROOT/rel: 0, or -errno (-EINVAL: not a number). */
int eg_doctor_read_ll(const char *root, const char *rel, long long *out);

int eg_doctor_host_checks(const struct eg_doctor_opts *o, struct eg_doctor_report *r);
int eg_doctor_edgeguard_checks(const struct eg_doctor_opts *o, struct eg_doctor_report *r);

/* Listening TCP sockets of the caller's network namespace (sock_diag). */
struct eg_listener {
	unsigned long inode;
	unsigned int port;
	unsigned int queued;  /* connections waiting to be accepted */
	unsigned int backlog; /* the listen() backlog, as the kernel clamped it */
};
/* Every listener into a new array *out (free it); returns how many, or -errno. */
int eg_doctor_listeners(struct eg_listener **out);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The doctor's report, its readers of /proc-like trees, and the listener query. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "doctor.h"

static const char *const status_names[] = {
	[EG_DOCTOR_OK] = "ok",
	[EG_DOCTOR_FIX] = "fix",
	[EG_DOCTOR_SKIP] = "skip",
};

const char *eg_doctor_status_name(enum eg_doctor_status s)
{
	return (unsigned int)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] :
										  "?";
}

struct eg_doctor_check *eg_doctor_add(struct eg_doctor_report *r, const char *name)
{
	struct eg_doctor_check *c;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;

		c = realloc(r->checks, cap * sizeof(*c));
		if (!c)
			return NULL;
		r->checks = c;
		r->cap = cap;
	}
	c = &r->checks[r->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

void eg_doctor_set(char *field, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(field, len, fmt, ap);
	va_end(ap);
}

int eg_doctor_read(const char *root, const char *rel, char *buf, size_t len)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* Several values (ip_local_port_range) are tab-separated: shown with one space. */
	for (char *p = buf; *p; p++)
		if (*p == '\t')
			*p = ' ';
	return 0;
}

int eg_doctor_read_ll(const char *root, const char *rel, long long *out)
{
	char buf[128], *end;
	int rc = eg_doctor_read(root, rel, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return end == buf || errno ? -EINVAL : 0;
}

int eg_doctor_run(const struct eg_doctor_opts *o, struct eg_doctor_report *r, struct eg_err *e)
{
	int fixes = 0;

	memset(r, 0, sizeof(*r));
	if (eg_doctor_host_checks(o, r) || eg_doctor_edgeguard_checks(o, r)) {
		eg_doctor_report_free(r);
		return eg_fail_code(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->n; i++)
		fixes += r->checks[i].status == EG_DOCTOR_FIX;
	return fixes;
}

void eg_doctor_report_free(struct eg_doctor_report *r)
{
	free(r->checks);
	memset(r, 0, sizeof(*r));
}

/* ---- listeners, from the kernel's socket diagnostics (what `ss -ltn` shows) ---- */

static int dump_family(int fd, int family, struct eg_listener **out, size_t *n, size_t *cap)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (__u8)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1U << TCP_LISTEN },
	};
	static char buf[32768];
	ssize_t len;

	if (send(fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q))
		return -errno;
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EIO;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EPROTO;
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				struct eg_listener *p = realloc(*out, nc * sizeof(*p));

				if (!p)
					return -ENOMEM;
				*out = p;
				*cap = nc;
			}
			(*out)[(*n)++] = (struct eg_listener){
				.inode = m->idiag_inode,
				.port = ntohs(m->id.idiag_sport),
				.queued = m->idiag_rqueue,
				.backlog = m->idiag_wqueue,
			};
		}
	}
}

int eg_doctor_listeners(struct eg_listener **out)
{
	size_t n = 0, cap = 0;
	int fd, rc;

	*out = NULL;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	rc = dump_family(fd, AF_INET, out, &n, &cap);
	if (!rc)
		rc = dump_family(fd, AF_INET6, out, &n, &cap);
	close(fd);
	if (rc) {
		free(*out);
		*out = NULL;
		return rc;
	}
	return (int)n;
}

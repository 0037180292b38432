/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command-line numbers and addresses of the end-to-end test tools
 * (tcp_connect, tcp_hold, tcp_server, syn_flood): "ADDR:PORT" and
 * "[V6ADDR]:PORT" targets, bare addresses, "NET/LEN" splits.
 */
#ifndef EDGEGUARD_TESTS_NETADDR_H
#define EDGEGUARD_TESTS_NETADDR_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A decimal argument no larger than max; a bad one is a usage error (exit 2). */
static inline unsigned long arg_ulong(const char *tool, const char *what, const char *s,
				      unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "%s: bad %s '%s'\n", tool, what, s);
		exit(2);
	}
	return v;
}

/*
 * Copies what comes before the last sep of arg into buf, without the
 * brackets of "[2001:db8::1]:80", and returns what follows sep; NULL when
 * there is no sep, nothing before it, or it does not fit in size.
 */
static inline const char *netaddr_split(const char *arg, int sep, char *buf, size_t size)
{
	const char *at = strrchr(arg, sep);
	size_t len;

	if (!at || at == arg)
		return NULL;
	len = (size_t)(at - arg);
	if (arg[0] == '[' && len >= 2 && arg[len - 1] == ']') {
		arg++;
		len -= 2;
	}
	if (len >= size)
		return NULL;
	memcpy(buf, arg, len);
	buf[len] = '\0';
	return at + 1;
}

/* Fills ss from an IPv4 or IPv6 address and a port; its length, or 0 if host is neither. */
static inline socklen_t netaddr_make(const char *host, unsigned int port,
				     struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return sizeof(*s6);
	}
	return 0;
}

/* "192.0.2.1:80" or "[2001:db8::1]:80" (port 1..65535) into ss; its length, or 0 if malformed. */
static inline socklen_t netaddr_parse(const char *arg, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = netaddr_split(arg, ':', host, sizeof(host));
	unsigned long p;
	char *end;

	if (!port || !*port)
		return 0;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p < 1 || p > 65535)
		return 0;
	return netaddr_make(host, (unsigned int)p, ss);
}

#endif /* EDGEGUARD_TESTS_NETADDR_H */

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool eg_key_is_v4(const struct eg_lpm_key *k)
{
	return k->addr.family == EG_AF_INET;
}

unsigned int eg_key_plen(const struct eg_lpm_key *k)
{
	return k->prefixlen > EG_FAMILY_BITS ? k->prefixlen - EG_FAMILY_BITS : 0;
}

bool eg_key_is_host(const struct eg_lpm_key *k)
{
	return eg_key_plen(k) == (eg_key_is_v4(k) ? 32U : 128U);
}

void eg_mask_addr(struct eg_addr *a, unsigned int plen)
{
	for (unsigned int i = 0; i < EG_ADDR_LEN; i++) {
		unsigned int bit = i * 8;

		if (bit >= plen)
			a->a[i] = 0;
		else if (bit + 8 > plen)
			a->a[i] &= (unsigned char)(0xff << (bit + 8 - plen));
	}
}

void eg_key_of(struct eg_lpm_key *k, const struct eg_addr *a, unsigned int plen)
{
	memset(k, 0, sizeof(*k));
	k->addr = *a;
	eg_mask_addr(&k->addr, plen);
	k->prefixlen = EG_FAMILY_BITS + plen;
}

bool eg_key_covers(const struct eg_lpm_key *k, const struct eg_addr *a)
{
	struct eg_lpm_key of;

	if (a->family != k->addr.family)
		return false;
	eg_key_of(&of, a, eg_key_plen(k));
	return !memcmp(&of, k, sizeof(of));
}

int eg_parse_cidr(const char *text, struct eg_lpm_key *out, struct eg_err *e)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t hlen;
	long prefix = -1;
	unsigned int max;
	struct eg_addr masked;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return eg_fail(e, "empty address");
	slash = strchr(text, '/');
	hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return eg_fail(e, "'%s' is not an IP address or CIDR", text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';

	if (strchr(host, ':')) {
		out->addr.family = EG_AF_INET6;
		if (inet_pton(AF_INET6, host, out->addr.a) != 1)
			return eg_fail(e, "'%s' is not an IPv6 address", host);
		max = 128;
	} else {
		out->addr.family = EG_AF_INET;
		if (inet_pton(AF_INET, host, out->addr.a) != 1)
			return eg_fail(e, "'%s' is not an IPv4 address", host);
		max = 32;
	}

	if (slash) {
		char *endp;

		errno = 0;
		prefix = strtol(slash + 1, &endp, 10);
		if (slash[1] < '0' || slash[1] > '9' || *endp || errno)
			return eg_fail(e, "'%s': prefix length '%s' is not a number", text, slash + 1);
		if (prefix > (long)max)
			return eg_fail(e, "'%s': prefix length %ld is longer than %u", text, prefix, max);
	}
	if (prefix < 0)
		prefix = max;
	out->prefixlen = EG_FAMILY_BITS + (unsigned int)prefix;

	if (max == 128 && prefix >= 96 && !memcmp(out->addr.a, v4_mapped, sizeof(v4_mapped)))
		return eg_fail(e, "'%s' is an IPv4-mapped IPv6 address: no packet comes from one (write an IPv4 source as a.b.c.d)",
			       text);

	masked = out->addr;
	eg_mask_addr(&masked, (unsigned int)prefix);
	if (memcmp(&masked, &out->addr, sizeof(masked))) {
		struct eg_lpm_key net = *out;
		char want[EG_CIDR_STRLEN];

		net.addr = masked;
		eg_format_cidr(&net, want, sizeof(want));
		return eg_fail(e, "'%s' has host bits set; did you mean %s?", text, want);
	}
	return 0;
}

int eg_parse_addr(const char *text, struct eg_addr *out, struct eg_err *e)
{
	struct eg_lpm_key k;

	if (eg_parse_cidr(text, &k, e))
		return -1;
	if (!eg_key_is_host(&k))
		return eg_fail(e, "'%s' is a network, not a single address", text);
	*out = k.addr;
	return 0;
}

void eg_format_addr(const struct eg_addr *a, char *buf, size_t len)
{
	struct eg_lpm_key k;

	eg_key_of(&k, a, a->family == EG_AF_INET ? 32 : 128);
	eg_format_cidr(&k, buf, len);
}

void eg_format_cidr(const struct eg_lpm_key *k, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(eg_key_is_v4(k) ? AF_INET : AF_INET6, k->addr.a, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	if (eg_key_is_host(k))
		snprintf(buf, len, "%s", ip);
	else
		snprintf(buf, len, "%s/%u", ip, eg_key_plen(k));
}

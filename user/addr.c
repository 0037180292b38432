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
	return k->prefixlen >= EG_V4_MAPPED_PREFIX && !memcmp(k->addr, v4_mapped, 12);
}

bool eg_key_is_host(const struct eg_lpm_key *k)
{
	return k->prefixlen == 128;
}

void eg_mask_addr(struct eg_addr *a, unsigned int prefixlen)
{
	for (unsigned int i = 0; i < EG_ADDR_LEN; i++) {
		unsigned int bit = i * 8;

		if (bit >= prefixlen)
			a->a[i] = 0;
		else if (bit + 8 > prefixlen)
			a->a[i] &= (unsigned char)(0xff << (bit + 8 - prefixlen));
	}
}

int eg_parse_cidr(const char *text, struct eg_lpm_key *out, struct eg_err *e)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t hlen;
	long prefix = -1;
	bool v6;
	struct eg_addr masked;

	if (!text || !*text)
		return eg_fail(e, "empty address");
	slash = strchr(text, '/');
	hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return eg_fail(e, "'%s' is not an IP address or CIDR", text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';

	memset(out, 0, sizeof(*out));
	v6 = strchr(host, ':') != NULL;
	if (v6) {
		if (inet_pton(AF_INET6, host, out->addr) != 1)
			return eg_fail(e, "'%s' is not an IPv6 address", host);
	} else {
		memcpy(out->addr, v4_mapped, sizeof(v4_mapped));
		if (inet_pton(AF_INET, host, out->addr + 12) != 1)
			return eg_fail(e, "'%s' is not an IPv4 address", host);
	}

	if (slash) {
		char *endp;

		errno = 0;
		prefix = strtol(slash + 1, &endp, 10);
		if (slash[1] < '0' || slash[1] > '9' || *endp || errno)
			return eg_fail(e, "'%s': prefix length '%s' is not a number", text, slash + 1);
		if (prefix > (v6 ? 128 : 32))
			return eg_fail(e, "'%s': prefix length %ld is longer than %d", text, prefix,
				       v6 ? 128 : 32);
	}
	if (prefix < 0)
		prefix = v6 ? 128 : 32;
	out->prefixlen = (unsigned int)prefix + (v6 ? 0 : EG_V4_MAPPED_PREFIX);

	memcpy(&masked, out->addr, EG_ADDR_LEN);
	eg_mask_addr(&masked, out->prefixlen);
	if (memcmp(&masked, out->addr, EG_ADDR_LEN)) {
		struct eg_lpm_key net = *out;
		char want[EG_CIDR_STRLEN];

		memcpy(net.addr, &masked, EG_ADDR_LEN);
		eg_format_cidr(&net, want, sizeof(want));
		return eg_fail(e, "'%s' has host bits set; did you mean %s?", text, want);
	}
	return 0;
}

void eg_format_cidr(const struct eg_lpm_key *k, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	bool v4 = eg_key_is_v4(k);
	unsigned int plen = v4 ? k->prefixlen - EG_V4_MAPPED_PREFIX : k->prefixlen;

	if (v4)
		inet_ntop(AF_INET, k->addr + 12, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, k->addr, ip, sizeof(ip));
	if (k->prefixlen == 128)
		snprintf(buf, len, "%s", ip);
	else
		snprintf(buf, len, "%s/%u", ip, plen);
}

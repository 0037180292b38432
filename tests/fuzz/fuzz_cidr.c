// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the address/CIDR parser and formatter (user/addr.h).
 *
 * The invariants are the functions' contracts, checked through text and
 * inet_pton, never through the key's bytes (the key layout is changing):
 *  - eg_parse_cidr accepts exactly "ADDRESS" or "ADDRESS/DIGITS" with an
 *    address inet_pton takes, a prefix no longer than the family's and no
 *    host bits set (a reference parser here decides the same independently);
 *  - an accepted key formats to a text that parses back to the same key and
 *    formats the same again; it names the same family, address and prefix as
 *    the input; eg_key_is_host and eg_key_is_v4 agree with that text;
 *  - a refused input gets one error line.
 */
#include <arpa/inet.h>
#include "addr.h"
#include "fuzz_common.h"

struct ref {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order, the family's length */
	unsigned int plen;      /* the prefix length, the family's maximum for a host */
	bool host;              /* written without a prefix, or with the maximum one */
};

static unsigned int max_plen(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool host_bits_clear(const unsigned char *a, unsigned int bits, unsigned int plen)
{
	for (unsigned int i = plen; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* An independent reading of the documented syntax; true when text must be accepted. */
static bool ref_parse(const char *text, struct ref *r)
{
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	char host[128];
	unsigned long plen = 0;

	memset(r, 0, sizeof(*r));
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	r->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(r->family, host, r->addr) != 1)
		return false;
	r->plen = max_plen(r->family);
	if (slash) {
		const char *p = slash + 1;

		if (!*p)
			return false;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			plen = plen * 10 + (unsigned long)(*p - '0');
			if (plen > 1000)
				return false; /* far past any family's maximum */
		}
		if (plen > max_plen(r->family))
			return false;
		r->plen = (unsigned int)plen;
	}
	r->host = r->plen == max_plen(r->family);
	return host_bits_clear(r->addr, max_plen(r->family), r->plen);
}

/*
 * Today IPv4 a.b.c.d and IPv6 ::ffff:a.b.c.d are one key (issue #8, item 2),
 * so an IPv4-mapped input comes back as IPv4. Once the families are kept
 * apart, this allowance goes and the family must always survive.
 */
static bool is_v4_mapped_alias(const struct ref *in, const struct ref *out)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	return in->family == AF_INET6 && out->family == AF_INET && in->plen >= 96 &&
	       !memcmp(in->addr, mapped, 12) && !memcmp(in->addr + 12, out->addr, 4) &&
	       in->plen - 96 == out->plen;
}

static void check_accepted(const char *input, const struct ref *in, const struct eg_lpm_key *k)
{
	char text[EG_CIDR_STRLEN], again[EG_CIDR_STRLEN], tiny[8];
	struct eg_lpm_key k2;
	struct ref out;
	struct eg_err e;

	eg_format_cidr(k, text, sizeof(text));
	FZ_ASSERT(strlen(text) < sizeof(text) - 1, "'%s' formats to a text that may be cut: %s",
		  input, text);
	FZ_ASSERT(!eg_parse_cidr(text, &k2, &e), "'%s' formats to '%s', which fails: %s", input,
		  text, e.msg);
	FZ_ASSERT(!memcmp(&k2, k, sizeof(k2)), "'%s' -> '%s' parses to another key", input, text);
	eg_format_cidr(&k2, again, sizeof(again));
	FZ_ASSERT(!strcmp(text, again), "'%s' formats as '%s', then as '%s'", input, text, again);

	FZ_ASSERT(ref_parse(text, &out), "'%s' formats to '%s', which the reference refuses",
		  input, text);
	FZ_ASSERT(host_bits_clear(out.addr, max_plen(out.family), out.plen),
		  "'%s' -> '%s' has host bits set", input, text);
	FZ_ASSERT(!strchr(text, '/') == out.host, "'%s' -> '%s': a host is written with no prefix",
		  input, text);
	FZ_ASSERT((out.family == in->family && out.plen == in->plen &&
		   !memcmp(out.addr, in->addr, sizeof(out.addr))) ||
			  is_v4_mapped_alias(in, &out),
		  "'%s' formats to '%s': another network", input, text);
	FZ_ASSERT(eg_key_is_host(k) == out.host, "'%s' -> '%s': eg_key_is_host says %d", input,
		  text, eg_key_is_host(k));
	FZ_ASSERT(eg_key_is_v4(k) == (out.family == AF_INET), "'%s' -> '%s': eg_key_is_v4 says %d",
		  input, text, eg_key_is_v4(k));

	/* A short buffer gets a cut, terminated text, never an overflow (ASan watches). */
	eg_format_cidr(k, tiny, sizeof(tiny));
	FZ_ASSERT(strlen(tiny) < sizeof(tiny) && !strncmp(tiny, text, strlen(tiny)),
		  "'%s' in 8 bytes: '%s'", text, tiny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_lpm_key k;
	struct eg_err e = { "" };
	struct ref in;
	bool want;
	char *text;
	int rc;

	/* A C string: the parser's callers hand it JSON strings and argv. */
	text = malloc(size + 1);
	FZ_ASSERT(text, "out of memory");
	memcpy(text, data, size);
	text[size] = '\0';

	want = ref_parse(text, &in);
	rc = eg_parse_cidr(text, &k, &e);
	FZ_ASSERT(rc == 0 || rc == -1, "'%s': returned %d", text, rc);
	FZ_ASSERT((rc == 0) == want, "'%s': %s, the reference %s it%s%s", text,
		  rc ? "refused" : "accepted", want ? "accepts" : "refuses", rc ? ": " : "",
		  rc ? e.msg : "");
	if (rc)
		fz_check_error(&e, "");
	else
		check_accepted(text, &in, &k);
	free(text);
	return 0;
}

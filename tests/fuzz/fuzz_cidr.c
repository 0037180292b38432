// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the address/CIDR parser and formatter (user/core/addr.h).
 *
 * The invariants are the functions' contracts, checked through text and
 * inet_pton, never through the key's bytes:
 *  - eg_parse_cidr accepts exactly "ADDRESS" or "ADDRESS/DIGITS" with an
 *    address inet_pton takes, a prefix no longer than the family's, no host
 *    bits set, and no IPv4-mapped IPv6 address (::ffff:a.b.c.d, /96 or
 *    longer); a reference parser here decides the same independently;
 *  - an accepted key formats to a text that parses back to the same key and
 *    formats the same again; it names the same family, address and prefix as
 *    the input (the families never meet); eg_key_is_host, eg_key_is_v4 and
 *    eg_key_plen agree with that text;
 *  - eg_key_of makes the key of any shorter prefix holding the address;
 *    eg_parse_addr takes exactly the accepted hosts, and eg_format_addr writes
 *    them as eg_format_cidr does;
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

static bool is_v4_mapped(const unsigned char *a)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, mapped, sizeof(mapped));
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
	if (r->family == AF_INET6 && r->plen >= 96 && is_v4_mapped(r->addr))
		return false;
	return host_bits_clear(r->addr, max_plen(r->family), r->plen);
}

/* The first bits bits of a and b are equal. */
static bool same_prefix(const unsigned char *a, const unsigned char *b, unsigned int bits)
{
	for (unsigned int i = 0; i < bits; i++)
		if ((a[i / 8] ^ b[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* eg_key_of(addr, shorter): a canonical key of the network of that length holding the address. */
static void check_key_of(const char *text, const struct ref *in, const struct eg_lpm_key *k,
			 unsigned int shorter)
{
	char net[EG_CIDR_STRLEN];
	struct eg_lpm_key n, again;
	struct ref out;
	struct eg_err e;

	eg_key_of(&n, &k->addr, shorter);
	eg_format_cidr(&n, net, sizeof(net));
	FZ_ASSERT(!eg_parse_cidr(net, &again, &e) && !memcmp(&again, &n, sizeof(n)),
		  "'%s' /%u: eg_key_of gives '%s', not canonical", text, shorter, net);
	FZ_ASSERT(ref_parse(net, &out) && out.family == in->family && out.plen == shorter &&
			  same_prefix(out.addr, in->addr, shorter),
		  "'%s' /%u: eg_key_of gives '%s', which does not hold the address", text,
		  shorter, net);
	FZ_ASSERT(eg_key_plen(&n) == shorter, "'%s' /%u: eg_key_plen says %u", text, shorter,
		  eg_key_plen(&n));
}

static void check_accepted(const char *input, const struct ref *in, const struct eg_lpm_key *k,
			   unsigned int shorter)
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
	FZ_ASSERT(out.family == in->family && out.plen == in->plen &&
			  !memcmp(out.addr, in->addr, sizeof(out.addr)),
		  "'%s' formats to '%s': another network", input, text);
	FZ_ASSERT(eg_key_is_host(k) == out.host, "'%s' -> '%s': eg_key_is_host says %d", input,
		  text, eg_key_is_host(k));
	FZ_ASSERT(eg_key_is_v4(k) == (out.family == AF_INET), "'%s' -> '%s': eg_key_is_v4 says %d",
		  input, text, eg_key_is_v4(k));
	FZ_ASSERT(eg_key_plen(k) == out.plen, "'%s' -> '%s': eg_key_plen says %u", input, text,
		  eg_key_plen(k));
	check_key_of(input, in, k, in->plen);
	check_key_of(input, in, k, shorter % (in->plen + 1));

	/* A short buffer gets a cut, terminated text, never an overflow (ASan watches). */
	eg_format_cidr(k, tiny, sizeof(tiny));
	FZ_ASSERT(strlen(tiny) < sizeof(tiny) && !strncmp(tiny, text, strlen(tiny)),
		  "'%s' in 8 bytes: '%s'", text, tiny);
}

/* eg_parse_addr: the accepted hosts, written back by eg_format_addr as eg_format_cidr does. */
static void check_addr(const char *input, bool host, const struct eg_lpm_key *k)
{
	char a_text[EG_CIDR_STRLEN], k_text[EG_CIDR_STRLEN];
	struct eg_err e = { 0 };
	struct eg_addr a;
	int rc = eg_parse_addr(input, &a, &e);

	FZ_ASSERT((rc == 0) == host, "'%s': eg_parse_addr %s it", input,
		  rc ? "refuses" : "accepts");
	if (rc) {
		fz_check_error(&e, "");
		return;
	}
	eg_format_addr(&a, a_text, sizeof(a_text));
	eg_format_cidr(k, k_text, sizeof(k_text));
	FZ_ASSERT(!strcmp(a_text, k_text), "'%s': eg_format_addr '%s', eg_format_cidr '%s'",
		  input, a_text, k_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_lpm_key k;
	struct eg_err e = { 0 };
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
		check_accepted(text, &in, &k, (unsigned int)size * 7);
	check_addr(text, !rc && in.host, &k);
	free(text);
	return 0;
}

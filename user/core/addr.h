/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IP addresses and CIDRs in the datapath's form: an explicit family and 16
 * bytes (IPv4 in the first four), prefixes counted from the family word
 * (edgeguard.h). Callers think in CIDRs and never need to know the layout.
 */
#ifndef EG_ADDR_H
#define EG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include "../bpf/edgeguard.h"
#include "error.h"

/* Longest text eg_format_cidr writes, with the terminating NUL. */
#define EG_CIDR_STRLEN 64

/*
 * Parses "203.0.113.7", "198.51.100.0/24", "2001:db8::1" or "2001:db8::/32".
 * A missing prefix means a single host. Host bits set below the prefix are an
 * error (say 10.0.0.1/8 and the operator probably meant something else), and
 * so is an IPv4-mapped IPv6 address (::ffff:a.b.c.d): no packet carries one
 * as its source, and an IPv4 source is written a.b.c.d.
 */
int eg_parse_cidr(const char *text, struct eg_lpm_key *out, struct eg_err *e);

bool eg_key_is_v4(const struct eg_lpm_key *k);
bool eg_key_is_host(const struct eg_lpm_key *k);
/* The CIDR's own prefix length: 0..32 for IPv4, 0..128 for IPv6. */
unsigned int eg_key_plen(const struct eg_lpm_key *k);
/* The key of the prefix of length plen (the CIDR's own) that holds a. */
void eg_key_of(struct eg_lpm_key *k, const struct eg_addr *a, unsigned int plen);

/* A single host address ("203.0.113.7", "2001:db8::1"), no prefix allowed. */
int eg_parse_addr(const char *text, struct eg_addr *out, struct eg_err *e);

/* "203.0.113.7", "198.51.100.0/24", "2001:db8::/64": hosts without a prefix. */
void eg_format_cidr(const struct eg_lpm_key *k, char *buf, size_t len);
/* A host address as text. */
void eg_format_addr(const struct eg_addr *a, char *buf, size_t len);

/* The CIDR k holds the address a (same family, a inside the prefix). */
bool eg_key_covers(const struct eg_lpm_key *k, const struct eg_addr *a);

/* Zeroes the bits of a beyond its first plen bits (the CIDR's own prefix length). */
void eg_mask_addr(struct eg_addr *a, unsigned int plen);

#endif

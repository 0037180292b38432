/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* IP addresses and CIDRs in the datapath's 16-byte form (IPv4 as ::ffff:a.b.c.d). */
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
 * error (say 10.0.0.1/8 and the operator probably meant something else).
 */
int eg_parse_cidr(const char *text, struct eg_lpm_key *out, struct eg_err *e);

bool eg_key_is_v4(const struct eg_lpm_key *k);
bool eg_key_is_host(const struct eg_lpm_key *k);

/* "203.0.113.7", "198.51.100.0/24", "2001:db8::/64": hosts without a prefix. */
void eg_format_cidr(const struct eg_lpm_key *k, char *buf, size_t len);

/* Zeroes the bits of a below prefixlen (counted over all 128 bits). */
void eg_mask_addr(struct eg_addr *a, unsigned int prefixlen);

#endif

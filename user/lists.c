// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "lists.h"

static int map_full_or(struct eg_err *e, const char *what, const struct eg_lpm_key *k, int err)
{
	char cidr[EG_CIDR_STRLEN];

	eg_format_cidr(k, cidr, sizeof(cidr));
	if (err == E2BIG || err == ENOSPC)
		return eg_fail(e, "cannot add %s to the %s: the list is full (raise its size)", cidr,
			       what);
	return eg_fail(e, "cannot update the %s for %s: %s", what, cidr, strerror(err));
}

int eg_ban_add(const struct eg_maps *m, const struct eg_lpm_key *k, uint32_t ttl_s,
	       unsigned int origin, struct eg_err *e)
{
	uint64_t now = eg_now_ns();
	struct eg_ban ban = {
		.expires_ns = ttl_s ? now + (uint64_t)ttl_s * 1000000000ULL : 0,
		.created_ns = now,
		.prefixlen = k->prefixlen,
		.origin = (uint16_t)origin,
	};
	int err;

	if (origin >= EG_ORIGIN_MAX)
		return eg_fail(e, "unknown ban origin %u", origin);
	if (eg_key_is_host(k))
		err = bpf_map_update_elem(m->ban_exact, k->addr, &ban, BPF_ANY);
	else
		err = bpf_map_update_elem(m->ban_cidr, k, &ban, BPF_ANY);
	return err ? map_full_or(e, "ban list", k, errno) : 0;
}

int eg_ban_get(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_ban *out)
{
	if (eg_key_is_host(k))
		return bpf_map_lookup_elem(m->ban_exact, k->addr, out) == 0;
	/* An LPM lookup may return a covering prefix; we want this key only. */
	if (bpf_map_lookup_elem(m->ban_cidr, k, out))
		return 0;
	return out->prefixlen == k->prefixlen;
}

int eg_ban_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];
	int err;

	if (eg_key_is_host(k))
		err = bpf_map_delete_elem(m->ban_exact, k->addr);
	else
		err = bpf_map_delete_elem(m->ban_cidr, k);
	if (!err)
		return 0;
	eg_format_cidr(k, cidr, sizeof(cidr));
	if (errno == ENOENT)
		return eg_fail(e, "%s is not banned", cidr);
	return eg_fail(e, "cannot unban %s: %s", cidr, strerror(errno));
}

int eg_ban_foreach(const struct eg_maps *m, eg_ban_cb cb, void *ctx, struct eg_err *e)
{
	struct eg_ban_entry ent;
	struct eg_addr addr, next;
	struct eg_lpm_key lk, lnext;
	void *prev = NULL;
	int rc;

	while (bpf_map_get_next_key(m->ban_exact, prev, &next) == 0) {
		addr = next;
		prev = &addr;
		if (bpf_map_lookup_elem(m->ban_exact, &addr, &ent.ban))
			continue; /* deleted while we walked */
		ent.key.prefixlen = 128;
		memcpy(ent.key.addr, &addr, EG_ADDR_LEN);
		rc = cb(&ent, ctx);
		if (rc)
			return rc;
	}
	if (errno != ENOENT)
		return eg_fail(e, "cannot walk the exact ban list: %s", strerror(errno));

	prev = NULL;
	while (bpf_map_get_next_key(m->ban_cidr, prev, &lnext) == 0) {
		lk = lnext;
		prev = &lk;
		if (bpf_map_lookup_elem(m->ban_cidr, &lk, &ent.ban))
			continue;
		ent.key = lk;
		rc = cb(&ent, ctx);
		if (rc)
			return rc;
	}
	if (errno != ENOENT)
		return eg_fail(e, "cannot walk the CIDR ban list: %s", strerror(errno));
	return 0;
}

int eg_allow_add(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	struct eg_allow a = { .created_ns = eg_now_ns() };

	if (bpf_map_update_elem(m->allow, k, &a, BPF_ANY))
		return map_full_or(e, "allowlist", k, errno);
	return 0;
}

int eg_allow_del(const struct eg_maps *m, const struct eg_lpm_key *k, struct eg_err *e)
{
	char cidr[EG_CIDR_STRLEN];

	if (!bpf_map_delete_elem(m->allow, k))
		return 0;
	eg_format_cidr(k, cidr, sizeof(cidr));
	if (errno == ENOENT)
		return eg_fail(e, "%s is not on the allowlist", cidr);
	return eg_fail(e, "cannot remove %s from the allowlist: %s", cidr, strerror(errno));
}

int eg_allow_foreach(const struct eg_maps *m, eg_allow_cb cb, void *ctx, struct eg_err *e)
{
	struct eg_allow_entry ent;
	struct eg_lpm_key lk, lnext;
	void *prev = NULL;
	int rc;

	while (bpf_map_get_next_key(m->allow, prev, &lnext) == 0) {
		lk = lnext;
		prev = &lk;
		if (bpf_map_lookup_elem(m->allow, &lk, &ent.allow))
			continue;
		ent.key = lk;
		rc = cb(&ent, ctx);
		if (rc)
			return rc;
	}
	if (errno != ENOENT)
		return eg_fail(e, "cannot walk the allowlist: %s", strerror(errno));
	return 0;
}

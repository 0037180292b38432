// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "lists.h"
#include "report.h"

struct ban_walk {
	uint64_t now;
	cJSON *arr;
	struct eg_policy_name names[EG_MAX_POLICIES];
};

static bool live(const struct eg_ban *b, uint64_t now)
{
	return !b->expires_ns || b->expires_ns > now;
}

static int add_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct ban_walk *w = ctx;
	char cidr[EG_CIDR_STRLEN], why[EG_BAN_REASON_LEN + 32];
	cJSON *o;

	if (!live(&b->ban, w->now))
		return 0; /* the datapath already ignores it */
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(w->arr, o))
		return -1;
	eg_format_cidr(&b->key, cidr, sizeof(cidr));
	cJSON_AddStringToObject(o, "address", cidr);
	if (b->ban.expires_ns)
		cJSON_AddNumberToObject(o, "expires_in",
					(double)eg_secs_left(b->ban.expires_ns, w->now));
	else
		cJSON_AddNullToObject(o, "expires_in");
	cJSON_AddBoolToObject(o, "permanent", !b->ban.expires_ns);
	cJSON_AddStringToObject(o, "origin", eg_origin_name(b->ban.origin));
	if (b->ban.origin == EG_ORIGIN_AUTO) {
		/* An auto-ban has no note: its trigger is its reason. */
		cJSON_AddStringToObject(o, "trigger", eg_reason_name(b->ban.trigger));
		cJSON_AddNumberToObject(o, "policy", b->ban.policy);
		if (b->ban.policy < EG_MAX_POLICIES && w->names[b->ban.policy].name[0])
			cJSON_AddStringToObject(o, "policy_name", w->names[b->ban.policy].name);
		snprintf(why, sizeof(why), "auto: %s", eg_reason_name(b->ban.trigger));
		cJSON_AddStringToObject(o, "reason", why);
	} else if (b->reason[0]) {
		cJSON_AddStringToObject(o, "reason", b->reason);
	} else {
		cJSON_AddNullToObject(o, "reason");
	}
	if (b->ban.origin == EG_ORIGIN_FLEET) {
		/* The host whose ban this is; null when not known (restored from the state file). */
		if (b->host[0])
			cJSON_AddStringToObject(o, "host", b->host);
		else
			cJSON_AddNullToObject(o, "host");
	}
	return 0;
}

int eg_report_bans(const struct eg_maps *m, uint64_t now, cJSON **out, struct eg_err *e)
{
	struct ban_walk w = { .now = now, .arr = cJSON_CreateArray() };
	int rc;

	*out = NULL;
	if (!w.arr)
		return eg_fail(e, "out of memory");
	/* Names are a nicety: a map that cannot be read leaves them out. */
	if (eg_report_policy_names(m, w.names, NULL))
		memset(w.names, 0, sizeof(w.names));
	rc = eg_ban_foreach(m, add_ban, &w, e);
	if (rc) {
		cJSON_Delete(w.arr);
		return rc < 0 && e && !e->msg[0] ? eg_fail(e, "out of memory") : -1;
	}
	*out = w.arr;
	return 0;
}

static int add_allow(const struct eg_allow_entry *a, void *ctx)
{
	char cidr[EG_CIDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return -1;
	eg_format_cidr(&a->key, cidr, sizeof(cidr));
	cJSON_AddStringToObject(o, "address", cidr);
	cJSON_AddStringToObject(o, "origin", eg_origin_name(a->allow.origin == EG_ORIGIN_FLEET ?
								 EG_ORIGIN_FLEET : EG_ORIGIN_MANUAL));
	cJSON_AddBoolToObject(o, "fleet", a->allow.fleet);
	return cJSON_AddItemToArray(ctx, o) ? 0 : -1;
}

int eg_report_allows(const struct eg_maps *m, cJSON **out, struct eg_err *e)
{
	cJSON *arr = cJSON_CreateArray();

	*out = NULL;
	if (!arr)
		return eg_fail(e, "out of memory");
	if (eg_allow_foreach(m, add_allow, arr, e)) {
		cJSON_Delete(arr);
		return -1;
	}
	*out = arr;
	return 0;
}

struct tally {
	uint64_t now;
	struct eg_ban_tally *t;
};

static int tally_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct tally *x = ctx;

	if (b->list < EG_LIST_MAX)
		x->t->entries[b->list]++;
	if (live(&b->ban, x->now) && b->ban.origin < EG_ORIGIN_MAX)
		x->t->active[b->ban.origin]++;
	return 0;
}

int eg_report_ban_tally(const struct eg_maps *m, uint64_t now, struct eg_ban_tally *out,
			struct eg_err *e)
{
	struct tally x = { .now = now, .t = out };

	memset(out, 0, sizeof(*out));
	return eg_ban_foreach(m, tally_ban, &x, e);
}

const char *const eg_fill_names[EG_FILL_MAX] = {
	[EG_FILL_SOURCES] = "sources",     [EG_FILL_BANS_EXACT] = "bans_exact",
	[EG_FILL_BANS_CIDR] = "bans_cidr", [EG_FILL_AUTOBANS] = "autobans",
	[EG_FILL_ALLOWS] = "allows",       [EG_FILL_FLOWS] = "flows",
	[EG_FILL_VERIFIED] = "verified",
};

void eg_report_fill(const struct eg_maps *m, struct eg_fill *out)
{
	const int fds[EG_FILL_MAX] = {
		[EG_FILL_SOURCES] = m->sources,     [EG_FILL_BANS_EXACT] = m->ban_exact,
		[EG_FILL_BANS_CIDR] = m->ban_cidr,  [EG_FILL_AUTOBANS] = m->autoban,
		[EG_FILL_ALLOWS] = m->allow,        [EG_FILL_FLOWS] = m->flows,
		[EG_FILL_VERIFIED] = m->verified,
	};

	for (int i = 0; i < EG_FILL_MAX; i++) {
		out->entries[i] = eg_map_count(fds[i]);
		out->capacity[i] = eg_map_capacity(fds[i]);
	}
}

int eg_report_ifaces(const struct eg_maps *m, struct eg_iface_report out[EG_MAX_IFACES],
		     struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES];
	int n = 0;

	if (eg_read_ifaces(m, all, e))
		return -1;
	/* Slot 0 belongs to instances without an interface (the unit tests). */
	for (uint32_t s = 1; s < EG_MAX_IFACES; s++) {
		if (!all[s].ifindex)
			continue;
		memcpy(out[n].name, all[s].name, sizeof(out[n].name));
		out[n].slot = s;
		if (eg_read_iface_counters(m, s, out[n].c, e))
			return -1;
		n++;
	}
	return n;
}

int eg_report_policy_names(const struct eg_maps *m, struct eg_policy_name out[EG_MAX_POLICIES],
			   struct eg_err *e)
{
	for (uint32_t s = 0; s < EG_MAX_POLICIES; s++) {
		if (bpf_map_lookup_elem(m->policy_names, &s, &out[s]))
			return eg_fail_errno(e, errno, "cannot read the name of policy slot %u", s);
		out[s].name[sizeof(out[s].name) - 1] = '\0';
	}
	return 0;
}

cJSON *eg_report_counters_json(const uint64_t c[EG_R_MAX])
{
	cJSON *o = cJSON_CreateObject();

	for (unsigned int r = 0; o && r < EG_R_MAX; r++)
		cJSON_AddNumberToObject(o, eg_reason_name(r), (double)c[r]);
	return o;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "apply.h"
#include "lists.h"

#define LOCK_WAIT_MS 10000

/* ---- the plan: what the lists need, worked out before anything is written ---- */

enum step_kind { ALLOW_DEL, ALLOW_ADD, BAN_DEL, BAN_SET };

struct step {
	enum step_kind kind;
	struct eg_lpm_key key;
	struct eg_ban ban;     /* BAN_SET: the value to store */
	const char *reason;    /* BAN_SET: its note ("" none) */
	int64_t since;         /* BAN_SET: when it was first set (unix seconds) */
};

/* What a step changed, to put it back. */
struct undo {
	enum step_kind kind;
	struct eg_lpm_key key;
	bool had;
	struct eg_allow allow;
	struct eg_ban ban;
	bool had_note;
	struct eg_ban_note note;
};

struct plan {
	const struct eg_policy_file *f;
	const struct eg_apply_opts *opts;
	struct eg_apply_report *rep;
	uint64_t now_ns;
	int64_t now_unix;
	struct eg_policy_record prev; /* the run directory's record, when there is one */
	struct eg_lpm_key *present;   /* the allowlist as it is, sorted */
	size_t npresent;
	struct eg_lpm_key *policy_bans; /* the operator maps' bans of origin policy */
	size_t npolicy_bans, cap_policy_bans;
	struct step *steps;
	size_t nsteps;
	struct undo *undo;
	size_t nundo;
	struct eg_policy_record rec; /* what will be recorded */
	long delta[4];               /* entries gained: allow, exact bans, CIDR bans, notes */
};

enum { D_ALLOW, D_EXACT, D_CIDR, D_NOTES };

static void warn(struct eg_apply_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct eg_apply_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nwarnings >= EG_APPLY_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarnings++], EG_ERR_LEN, fmt, ap);
	va_end(ap);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct eg_lpm_key));
}

static bool key_in(const struct eg_lpm_key *set, size_t n, const struct eg_lpm_key *k)
{
	return n && bsearch(k, set, n, sizeof(*set), key_cmp);
}

static bool in_file_allows(const struct eg_policy_file *f, const struct eg_lpm_key *k)
{
	for (size_t i = 0; i < f->nallow; i++)
		if (!key_cmp(&f->allow[i], k))
			return true;
	return false;
}

static const struct eg_static_ban *in_file_bans(const struct eg_policy_file *f,
						const struct eg_lpm_key *k)
{
	for (size_t i = 0; i < f->nbans; i++)
		if (!key_cmp(&f->bans[i].key, k))
			return &f->bans[i];
	return NULL;
}

/* Whether a record (the run directory's, or opts->also) says the policy owns this allow. */
static bool owned_allow(const struct plan *p, const struct eg_lpm_key *k)
{
	const struct eg_policy_record *recs[] = { &p->prev, p->opts->also };

	for (size_t r = 0; r < 2; r++)
		for (size_t i = 0; recs[r] && i < recs[r]->nallows; i++)
			if (!key_cmp(&recs[r]->allows[i], k))
				return true;
	return false;
}

/* When the policy first set this static ban, by its records; 0 when they do not say. */
static int64_t recorded_since(const struct plan *p, const struct eg_lpm_key *k)
{
	const struct eg_policy_record *recs[] = { &p->prev, p->opts->also };

	for (size_t r = 0; r < 2; r++)
		for (size_t i = 0; recs[r] && i < recs[r]->nbans; i++)
			if (!key_cmp(&recs[r]->bans[i].key, k))
				return recs[r]->bans[i].since;
	return 0;
}

static struct step *add_step(struct plan *p, enum step_kind kind, const struct eg_lpm_key *k)
{
	struct step *s = &p->steps[p->nsteps++];

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->key = *k;
	return s;
}

static int collect_policy_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct plan *p = ctx;

	if (b->list == EG_LIST_AUTOBAN || b->ban.origin != EG_ORIGIN_POLICY)
		return 0;
	if (p->npolicy_bans == p->cap_policy_bans)
		return -1; /* bans added faster than we count them: try again */
	p->policy_bans[p->npolicy_bans++] = b->key;
	return 0;
}

static int note_delta(const struct eg_maps *m, const struct eg_lpm_key *k, bool want)
{
	struct eg_ban_note n;
	bool has = eg_ban_note_read(m, k, &n) == 1;

	return (int)want - (int)has;
}

static int plan_allows(struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	const struct eg_policy_file *f = p->f;
	struct eg_err why = { 0 };
	void *keys;

	if (eg_map_keys(m->allow, sizeof(struct eg_lpm_key), &keys, &p->npresent, &why))
		return eg_fail_code(e, why.code, "cannot read the allowlist: %s", why.msg);
	p->present = keys;
	qsort(p->present, p->npresent, sizeof(*p->present), key_cmp);
	/* Out: what the policy put in and the file no longer lists. */
	for (size_t i = 0; i < p->npresent; i++) {
		if (!owned_allow(p, &p->present[i]) || in_file_allows(f, &p->present[i]))
			continue;
		add_step(p, ALLOW_DEL, &p->present[i]);
		p->delta[D_ALLOW]--;
		p->rep->allows_removed++;
	}
	/* In: what is not there yet; the policy owns what it adds and what it owned. */
	for (size_t i = 0; i < f->nallow; i++) {
		bool there = key_in(p->present, p->npresent, &f->allow[i]);

		if (!there || owned_allow(p, &f->allow[i]))
			p->rec.allows[p->rec.nallows++] = f->allow[i];
		if (there) {
			p->rep->allows_kept++;
			continue;
		}
		add_step(p, ALLOW_ADD, &f->allow[i]);
		p->delta[D_ALLOW]++;
		p->rep->allows_added++;
	}
	return 0;
}

static int64_t wall_of(const struct plan *p, uint64_t boot_ns)
{
	if (boot_ns > p->now_ns)
		return p->now_unix;
	return p->now_unix - (int64_t)((p->now_ns - boot_ns) / EG_NS_PER_S);
}

/* The value and note of static ban b, first set at since (unix) or at created_ns when known. */
static int set_ban(struct plan *p, const struct eg_maps *m, const struct eg_static_ban *b,
		   size_t idx, const struct eg_ban *cur, int64_t since, struct eg_err *e)
{
	const struct eg_policy_file *f = p->f;
	struct eg_ban want = { .prefixlen = b->key.prefixlen, .origin = EG_ORIGIN_POLICY };
	struct eg_ban_note note;
	bool same_note;
	struct step *s;

	if (cur) {
		want.created_ns = cur->created_ns;
		want.expires_ns = b->ttl_s ? cur->created_ns + (uint64_t)b->ttl_s * EG_NS_PER_S : 0;
		same_note = eg_ban_note_read(m, &b->key, &note) == 1 ?
				    !strcmp(note.reason, b->reason) :
				    !b->reason[0];
		if (!memcmp(&want, cur, sizeof(want)) && same_note) {
			p->rep->bans_kept++;
			return 0;
		}
		p->rep->bans_updated++;
	} else {
		int64_t left = b->ttl_s ? since + (int64_t)b->ttl_s - p->now_unix : 0;
		int64_t age = p->now_unix - since;

		if (b->ttl_s && left <= 0) {
			p->rep->bans_expired++;
			return 0; /* served its time: stays recorded, so a reload does not restart it */
		}
		if (p->opts->guard && eg_guard_check(p->opts->guard, &b->key, e))
			return eg_fail_code(e, e->code, "%s: bans[%zu]: %s", f->path, idx, e->msg);
		want.created_ns = (uint64_t)age * EG_NS_PER_S < p->now_ns ?
					  p->now_ns - (uint64_t)age * EG_NS_PER_S :
					  1;
		want.expires_ns = b->ttl_s ? p->now_ns + (uint64_t)left * EG_NS_PER_S : 0;
		p->delta[eg_key_is_host(&b->key) ? D_EXACT : D_CIDR]++;
		p->rep->bans_added++;
	}
	p->delta[D_NOTES] += note_delta(m, &b->key, b->reason[0] != '\0');
	s = add_step(p, BAN_SET, &b->key);
	s->ban = want;
	s->reason = b->reason;
	s->since = since;
	return 0;
}

static int plan_bans(struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	const struct eg_policy_file *f = p->f;
	long nbans = eg_map_count(m->ban_exact) + eg_map_count(m->ban_cidr);
	struct eg_err why = { 0 };

	p->cap_policy_bans = nbans > 0 ? (size_t)nbans + 64 : 64;
	p->policy_bans = calloc(p->cap_policy_bans, sizeof(*p->policy_bans));
	if (!p->policy_bans)
		return eg_fail(e, "out of memory");
	if (eg_ban_foreach(m, collect_policy_ban, p, &why))
		return why.msg[0] ? eg_fail_code(e, why.code, "%s", why.msg) :
				    eg_fail(e, "the ban lists changed while being read; try again");
	/* Out: static bans the file no longer lists. */
	for (size_t i = 0; i < p->npolicy_bans; i++) {
		const struct eg_lpm_key *k = &p->policy_bans[i];

		if (in_file_bans(f, k))
			continue;
		add_step(p, BAN_DEL, k);
		p->delta[eg_key_is_host(k) ? D_EXACT : D_CIDR]--;
		p->delta[D_NOTES] += note_delta(m, k, false);
		p->rep->bans_removed++;
	}
	for (size_t i = 0; i < f->nbans; i++) {
		const struct eg_static_ban *b = &f->bans[i];
		struct eg_ban cur;
		int64_t since;
		bool has = eg_ban_get(m, &b->key, EG_ORIGIN_MANUAL, &cur) == 1; /* the operator maps */

		if (has && cur.origin != EG_ORIGIN_POLICY) {
			p->rep->bans_left++; /* manual or fleet: theirs, as it is */
			continue;
		}
		since = has ? wall_of(p, cur.created_ns) : recorded_since(p, &b->key);
		if (!since)
			since = p->now_unix;
		if (set_ban(p, m, b, i, has ? &cur : NULL, since, e))
			return -1;
		p->rec.bans[p->rec.nbans].key = b->key;
		p->rec.bans[p->rec.nbans++].since = since;
	}
	return 0;
}

/* The lists after the load must fit the maps as they were attached. */
static int check_room(const struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	static const struct {
		const char *what, *field;
	} names[] = {
		[D_ALLOW] = { "allowlist", "allow" },
		[D_EXACT] = { "ban list of addresses", "bans" },
		[D_CIDR] = { "ban list of networks", "bans" },
		[D_NOTES] = { "ban reasons", "bans" },
	};
	const int fds[] = { m->allow, m->ban_exact, m->ban_cidr, m->ban_notes };

	for (int i = 0; i <= D_NOTES; i++) {
		long have = eg_map_count(fds[i]);
		uint32_t cap = eg_map_capacity(fds[i]);

		if (have < 0)
			return eg_fail(e, "cannot count the entries of the %s", names[i].what);
		if (have + p->delta[i] <= (long)cap)
			continue;
		return eg_fail_code(e, ENOSPC,
				    "%s: %s: the %s would need %ld entries and the attached maps hold %u (%ld in use); \"limits\" size the maps only at attach: detach and attach with this file to resize them",
				    p->f->path, names[i].field, names[i].what, have + p->delta[i], cap,
				    have);
	}
	return 0;
}

/* What the file sizes differently from the maps in place: said, not done. */
static void note_limits(struct plan *p, const struct eg_maps *m)
{
	const struct {
		const char *field;
		uint32_t want;
		int fd;
	} l[] = {
		{ "max_sources", p->f->sizes.max_sources, m->sources },
		{ "max_bans", p->f->sizes.max_bans, m->ban_exact },
		{ "max_allows", p->f->sizes.max_allows, m->allow },
		{ "max_flows", p->f->sizes.max_flows, m->flows },
		{ "max_verified", p->f->sizes.max_verified, m->verified },
		{ "max_autobans", p->f->sizes.max_autobans, m->autoban },
	};

	if (!p->f->has_limits)
		return;
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		uint32_t cap = eg_map_capacity(l[i].fd);

		if (cap && cap != l[i].want)
			warn(p->rep,
			     "limits.%s is %u but the attached maps have %u: limits apply at attach only",
			     l[i].field, l[i].want, cap);
	}
}

/* ---- writing, and undoing ---- */

static int do_step(struct plan *p, const struct eg_maps *m, const struct step *s,
		   struct eg_err *e)
{
	struct undo *u = &p->undo[p->nundo];

	memset(u, 0, sizeof(*u));
	u->kind = s->kind;
	u->key = s->key;
	if (s->kind == ALLOW_ADD) {
		struct eg_allow a = { .created_ns = p->now_ns, .prefixlen = s->key.prefixlen,
				      .origin = EG_ORIGIN_MANUAL };

		p->nundo++;
		return eg_allow_store(m, &s->key, &a, e);
	}
	if (s->kind == ALLOW_DEL) {
		/* An exact key is the longest prefix its own lookup can match. */
		u->had = true;
		if (bpf_map_lookup_elem(m->allow, &s->key, &u->allow))
			return 0; /* gone since: nothing to do, nothing to undo */
		if (bpf_map_delete_elem(m->allow, &s->key))
			return errno == ENOENT ? 0 : eg_fail_errno(e, errno, "cannot update the allowlist");
		p->nundo++;
		eg_list_settle(m, EG_LIST_ALLOW);
		return 0;
	}
	u->had = eg_ban_get(m, &s->key, EG_ORIGIN_MANUAL, &u->ban) == 1;
	u->had_note = eg_ban_note_read(m, &s->key, &u->note) == 1;
	/* Someone banned it by hand since the plan was made: theirs now. */
	if (s->kind == BAN_DEL && (!u->had || u->ban.origin != EG_ORIGIN_POLICY))
		return 0;
	p->nundo++;
	if (s->kind == BAN_DEL)
		return eg_ban_remove(m, &s->key, EG_ORIGIN_POLICY, e);
	/* The note first, as eg_ban_add does: no reader sees the new ban with an old reason for long. */
	if (eg_ban_note_set(m, &s->key, s->reason, s->since, e))
		return -1;
	return eg_ban_store(m, &s->key, &s->ban, e);
}

static int undo_one(const struct eg_maps *m, const struct undo *u, struct eg_err *e)
{
	if (u->kind == ALLOW_DEL || u->kind == ALLOW_ADD) {
		if (u->had)
			return eg_allow_store(m, &u->key, &u->allow, e);
		if (!bpf_map_delete_elem(m->allow, &u->key) || errno == ENOENT) {
			eg_list_settle(m, EG_LIST_ALLOW);
			return 0;
		}
		return eg_fail_errno(e, errno, "cannot take an allow back out");
	}
	if (!u->had) {
		struct eg_ban b;

		if (eg_ban_get(m, &u->key, EG_ORIGIN_MANUAL, &b) == 1 &&
		    eg_ban_remove(m, &u->key, EG_ORIGIN_POLICY, e))
			return -1;
	} else if (eg_ban_store(m, &u->key, &u->ban, e)) {
		return -1;
	}
	return eg_ban_note_set(m, &u->key, u->had_note ? u->note.reason : NULL,
			       (int64_t)u->note.created_unix, e);
}

/* Puts back everything the steps changed, newest first; appends to e if that fails too. */
static void undo_all(struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	struct eg_err why = { 0 };
	int failed = 0;

	while (p->nundo)
		if (undo_one(m, &p->undo[--p->nundo], &why))
			failed++;
	if (failed)
		eg_fail_code(e, e->code, "%s; and %d list changes could not be undone (%s)", e->msg,
			     failed, why.msg);
}

/* ---- the lock ---- */

static int lock_pins(int *fd, struct eg_err *e)
{
	*fd = open(eg_pin_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? 0 : eg_fail_errno(e, errno, "cannot open %s", eg_pin_dir());
	for (int waited = 0; waited < LOCK_WAIT_MS; waited += 50) {
		if (!flock(*fd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		usleep(50 * 1000);
	}
	eg_fail_errno(e, errno == EWOULDBLOCK ? EBUSY : errno,
		      "cannot lock %s: another policy load holds it", eg_pin_dir());
	close(*fd);
	*fd = -1;
	return -1;
}

/* ---- the whole ---- */

static void plan_free(struct plan *p)
{
	eg_policy_record_free(&p->prev);
	free(p->present);
	free(p->policy_bans);
	free(p->steps);
	free(p->undo);
	free(p->rec.allows);
	free(p->rec.bans);
}

static int plan_init(struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	const struct eg_policy_file *f = p->f;
	struct eg_err why = { 0 };
	long nallow = eg_map_count(m->allow), nbans;
	size_t most;

	nbans = eg_map_count(m->ban_exact) + eg_map_count(m->ban_cidr);
	if (eg_policy_record_read(eg_run_dir(), false, &p->prev, &why) < 0)
		warn(p->rep, "%s; allows the previous policy added are left in place", why.msg);
	/* Every step is one entry in or out: at most all there is plus all the file has. */
	most = (nallow > 0 ? (size_t)nallow : 0) + (nbans > 0 ? (size_t)nbans : 0) + f->nallow +
	       f->nbans + 64;
	p->steps = calloc(most, sizeof(*p->steps));
	p->undo = calloc(most, sizeof(*p->undo));
	p->rec.allows = calloc(f->nallow + 1, sizeof(*p->rec.allows));
	p->rec.bans = calloc(f->nbans + 1, sizeof(*p->rec.bans));
	if (!p->steps || !p->undo || !p->rec.allows || !p->rec.bans)
		return eg_fail(e, "out of memory");
	p->rec.origin = p->opts->origin;
	p->rec.force = p->opts->force;
	p->rec.loaded_at = p->opts->loaded_at ? p->opts->loaded_at : p->now_unix;
	snprintf(p->rec.path, sizeof(p->rec.path), "%s", p->opts->path ? p->opts->path : f->path);
	memcpy(p->rec.hash, f->hash, sizeof(p->rec.hash));
	p->rec.text = f->text;
	p->rec.text_len = f->text_len;
	return 0;
}

static int apply_locked(struct plan *p, const struct eg_maps *m, struct eg_err *e)
{
	struct eg_staged_file run = { .tmp = "" }, extra = { .tmp = "" };
	struct eg_policy_txn txn;
	struct eg_err why = { 0 };
	int rc = -1;

	if (!p->f->text)
		return eg_fail(e, "%s: the policy text is missing", p->f->path);
	if (eg_policy_validate(&p->f->table, e) || plan_init(p, m, e) || plan_allows(p, m, e) ||
	    plan_bans(p, m, e) || check_room(p, m, e))
		return -1;
	note_limits(p, m);
	/* Nothing is in force yet: the inactive generation, fresh slots, staged records. */
	if (eg_policy_txn_begin(m, &p->f->table, &txn, e) ||
	    eg_policy_record_stage(eg_run_dir(), &p->rec, &run, e) ||
	    (p->opts->record_dir && eg_policy_record_stage(p->opts->record_dir, &p->rec, &extra, e)))
		goto out;
	for (size_t i = 0; i < p->nsteps; i++)
		if (do_step(p, m, &p->steps[i], e))
			goto undo_lists;
	if (eg_policy_txn_switch(m, &txn, e))
		goto undo_lists;
	/* The commit: from here the new policy is the one in force. */
	if (eg_file_commit(&run, e)) {
		eg_policy_txn_undo(m, &txn, e);
		goto undo_lists;
	}
	if (p->opts->record_dir && eg_file_commit(&extra, &why))
		warn(p->rep, "in force, but not kept for the next start: %s", why.msg);
	memcpy(p->rep->slot_of_rule, txn.plan.slot_of_rule, sizeof(p->rep->slot_of_rule));
	p->rep->policies = p->f->table.nrules;
	rc = 0;
	goto out;
undo_lists:
	undo_all(p, m, e);
out:
	eg_file_discard(&run);
	eg_file_discard(&extra);
	return rc;
}

int eg_apply_policy_file(const struct eg_maps *m, const struct eg_policy_file *f,
			 const struct eg_apply_opts *opts, struct eg_apply_report *rep,
			 struct eg_err *e)
{
	struct plan p = { .f = f, .opts = opts, .rep = rep };
	int lock_fd = -1, rc;

	memset(rep, 0, sizeof(*rep));
	p.now_ns = eg_now_ns();
	p.now_unix = (int64_t)time(NULL);
	if (lock_pins(&lock_fd, e))
		return -1;
	rc = apply_locked(&p, m, e);
	plan_free(&p);
	if (lock_fd >= 0)
		close(lock_fd); /* the lock goes with it */
	return rc;
}

cJSON *eg_apply_report_json(const struct eg_policy_file *f, const struct eg_apply_report *r)
{
	cJSON *o = cJSON_CreateObject(), *x;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "file", f->path);
	cJSON_AddStringToObject(o, "hash", f->hash);
	x = cJSON_AddObjectToObject(o, "policies");
	cJSON_AddNumberToObject(x, "default", 0);
	for (unsigned int i = 0; x && i < r->policies; i++)
		cJSON_AddNumberToObject(x, eg_policy_ident(&f->table.rules[i]), r->slot_of_rule[i]);
	x = cJSON_AddObjectToObject(o, "allows");
	cJSON_AddNumberToObject(x, "added", (double)r->allows_added);
	cJSON_AddNumberToObject(x, "removed", (double)r->allows_removed);
	cJSON_AddNumberToObject(x, "kept", (double)r->allows_kept);
	x = cJSON_AddObjectToObject(o, "static_bans");
	cJSON_AddNumberToObject(x, "added", (double)r->bans_added);
	cJSON_AddNumberToObject(x, "updated", (double)r->bans_updated);
	cJSON_AddNumberToObject(x, "kept", (double)r->bans_kept);
	cJSON_AddNumberToObject(x, "removed", (double)r->bans_removed);
	cJSON_AddNumberToObject(x, "expired", (double)r->bans_expired);
	cJSON_AddNumberToObject(x, "left_to_other_bans", (double)r->bans_left);
	x = cJSON_AddArrayToObject(o, "warnings");
	for (unsigned int i = 0; x && i < r->nwarnings; i++)
		cJSON_AddItemToArray(x, cJSON_CreateString(r->warnings[i]));
	return o;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The policy in force, as edgeguardd keeps it (in_force.h). */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "apply.h"
#include "events.h"
#include "guard.h"
#include "in_force.h"
#include "metrics.h"
#include "persist.h"

/* How one load came about. */
struct how {
	const char *via; /* "start", "sighup" or "control" */
	enum eg_policy_origin origin;
	bool force;
	const char *path;  /* the name to record; NULL: the file's */
	int64_t loaded_at; /* to record; 0: now */
	const struct eg_guard *guard;
	const struct ucred *peer;
	const char *instead_of; /* start: the --policy file not loaded */
};

void in_force_init(struct in_force *p, const struct eg_maps *m, const char *config_path,
		   const char *state_dir)
{
	memset(p, 0, sizeof(*p));
	p->maps = m;
	p->config_path = config_path;
	p->state_dir = state_dir;
}

void in_force_free(struct in_force *p)
{
	if (p->have_pf)
		eg_policy_file_free(&p->pf);
	if (p->have_saved)
		eg_policy_record_free(&p->saved);
	p->have_pf = p->have_saved = false;
}

const char *in_force_ban_reason(const struct in_force *p, const struct eg_lpm_key *k)
{
	for (size_t i = 0; p->have_pf && i < p->pf.nbans; i++)
		if (!memcmp(&p->pf.bans[i].key, k, sizeof(*k)))
			return p->pf.bans[i].reason;
	return NULL;
}

static void add_warning(const char *msg, void *ctx)
{
	cJSON_AddItemToArray(ctx, cJSON_CreateString(msg));
}

/* The policy_load event: the load's report, how it came about, what to look out for. */
static void emit_load(const struct eg_policy_file *f, const struct eg_apply_report *rep,
		      const struct how *how)
{
	cJSON *o = ev_new("policy_load"), *report = eg_apply_report_json(f, rep), *warnings;

	cJSON_AddStringToObject(o, "via", how->via);
	cJSON_AddStringToObject(o, "origin", eg_policy_origin_name(how->origin));
	if (how->peer) {
		cJSON_AddNumberToObject(o, "peer_uid", how->peer->uid);
		cJSON_AddNumberToObject(o, "peer_pid", how->peer->pid);
	}
	if (how->instead_of)
		cJSON_AddStringToObject(o, "instead_of", how->instead_of);
	cJSON_AddBoolToObject(o, "force", how->force);
	cJSON_AddNumberToObject(o, "policies", f->table.nrules);
	while (report && report->child) {
		cJSON *it = cJSON_DetachItemViaPointer(report, report->child);

		cJSON_AddItemToObject(o, it->string, it);
	}
	cJSON_Delete(report);
	/* What `policy check` would warn about: limits low enough to lock out SSH or health checks. */
	warnings = cJSON_GetObjectItemCaseSensitive(o, "warnings");
	if (cJSON_IsArray(warnings))
		eg_guard_limit_warnings(NULL, f, add_warning, warnings);
	ev_emit(o);
}

/* The state directory's record, header only (what the next load reconciles against). */
static void reread_saved(struct in_force *p)
{
	struct eg_err e = { 0 };

	if (p->have_saved)
		eg_policy_record_free(&p->saved);
	p->have_saved = eg_policy_record_read(p->state_dir, false, &p->saved, &e) == 1;
}

/*
 * Puts f in force; on success f is the daemon's (the caller's copy is
 * emptied) and *report (when not NULL) what the load did.
 */
static int apply(struct in_force *p, struct eg_policy_file *f, const struct how *how,
		 cJSON **report, struct eg_err *e)
{
	const struct eg_apply_opts opts = {
		.origin = how->origin,
		.guard = how->guard,
		.force = how->force,
		.path = how->path,
		.loaded_at = how->loaded_at,
		.also = p->have_saved ? &p->saved : NULL,
		.record_dir = p->state_dir,
	};
	struct eg_apply_report rep;

	if (eg_apply_policy_file(p->maps, f, &opts, &rep, e))
		return -1;
	emit_load(f, &rep, how);
	if (report)
		*report = eg_apply_report_json(f, &rep);
	if (p->have_pf)
		eg_policy_file_free(&p->pf);
	p->pf = *f;
	p->have_pf = true;
	memset(f, 0, sizeof(*f));
	reread_saved(p);
	return 0;
}

/* The lock-out guards as this daemon sees them; ssh, when set, is the operator's session. */
static int load_guard(struct eg_guard *g, const struct eg_ctl_request *r, struct eg_err *e)
{
	if (eg_guard_load(g, e))
		return eg_fail(e, "cannot check the lock-out guards: %s", e->msg);
	if (r) {
		g->has_ssh = r->has_ssh;
		g->ssh = r->ssh;
	}
	return 0;
}

static int load_config(struct in_force *p, const char *via, struct eg_err *e)
{
	static struct eg_guard g;
	struct eg_policy_file f;
	struct how how = { .via = via, .origin = EG_POLICY_BY_CONFIG, .guard = &g };
	int rc;

	if (eg_policy_file_load(p->config_path, &f, e))
		return -1;
	if (load_guard(&g, NULL, e)) {
		eg_policy_file_free(&f);
		return -1;
	}
	rc = apply(p, &f, &how, NULL, e);
	eg_policy_file_free(&f);
	return rc;
}

/* A record's policy again, as it was accepted (its guards passed or were forced then). */
static int load_record(struct in_force *p, const struct eg_policy_record *r, struct eg_err *e)
{
	struct eg_policy_file f;
	struct how how = {
		.via = "start",
		.origin = EG_POLICY_BY_LOAD,
		.force = r->force,
		.path = r->path,
		.loaded_at = r->loaded_at,
		.instead_of = p->config_path,
	};
	int rc;

	if (eg_policy_file_parse(r->text, r->text_len, r->path, &f, e))
		return -1;
	rc = apply(p, &f, &how, NULL, e);
	eg_policy_file_free(&f);
	return rc;
}

/* The state directory's record, with its text; a corrupt one is set aside and reported. */
static int read_saved(struct in_force *p, struct eg_policy_record *out)
{
	char path[PATH_MAX], aside[PATH_MAX + 64], msg[2 * PATH_MAX + EG_ERR_LEN];
	struct eg_err e = { 0 }, ae = { 0 };
	int rc;

	if (eg_policy_record_path(p->state_dir, path, sizeof(path)))
		return 0;
	rc = eg_state_dir_check(p->state_dir, path, &e) ? -1 :
							   eg_policy_record_read(p->state_dir, true, out, &e);
	if (rc >= 0)
		return rc;
	if (!eg_file_set_aside(path, "corrupt", false, aside, sizeof(aside), &ae))
		snprintf(msg, sizeof(msg), "%s (moved to %s; starting without it)", e.msg, aside);
	else
		snprintf(msg, sizeof(msg), "%s (starting without it; %s)", e.msg, ae.msg);
	ev_error("state_error", msg);
	return 0;
}

int in_force_start(struct in_force *p)
{
	struct eg_policy_record saved, run;
	const struct eg_policy_record *pick = NULL;
	struct eg_err e = { 0 };
	bool have_saved, have_run;
	int rc = 0;

	have_saved = read_saved(p, &saved) == 1;
	have_run = eg_policy_record_read(eg_run_dir(), true, &run, &e) == 1;
	if (e.msg[0]) {
		ev_error("state_error", e.msg); /* the maps' record: unreadable, so not a candidate */
		e.msg[0] = '\0';
	}
	if (have_saved) {
		p->saved = saved;
		p->have_saved = true;
	}
	if (have_run && run.origin == EG_POLICY_BY_LOAD)
		pick = &run;
	if (have_saved && saved.origin == EG_POLICY_BY_LOAD &&
	    (!pick || saved.loaded_at > pick->loaded_at))
		pick = &saved;
	if (pick && load_record(p, pick, &e) == 0)
		goto out;
	if (pick)
		ev_error("policy_reject", e.msg); /* then --policy, rather than no policy at all */
	if (p->config_path && load_config(p, "start", &e)) {
		ev_error("policy_reject", e.msg);
		rc = -1;
	}
out:
	if (have_run)
		eg_policy_record_free(&run);
	/* Only the header is kept: the text is in the file, and in p->pf once loaded. */
	reread_saved(p);
	return rc;
}

void in_force_reload(struct in_force *p)
{
	struct eg_err e = { 0 };
	int rc;

	if (!p->config_path) {
		metrics_count_policy_reload(false);
		ev_error("policy_reject", "SIGHUP without --policy FILE: nothing to reload");
		return;
	}
	rc = load_config(p, "sighup", &e);
	metrics_count_policy_reload(rc == 0);
	if (rc)
		ev_error("policy_reject", e.msg);
}

cJSON *in_force_control_load(void *ctx, const struct eg_ctl_request *r, int fd,
			     const struct ucred *peer, bool *changed)
{
	struct in_force *p = ctx;
	struct eg_guard g;
	struct eg_policy_file f;
	struct how how = {
		.via = "control",
		.origin = EG_POLICY_BY_LOAD,
		.force = r->force,
		.path = r->path,
		.guard = r->force ? NULL : &g,
		.peer = peer,
	};
	struct eg_err e = { 0 };
	cJSON *reply, *report = NULL;
	int rc;

	rc = eg_policy_file_load_fd(fd, r->path, &f, &e);
	close(fd);
	if (!rc && strcmp(f.hash, r->hash))
		rc = eg_fail(&e, "%s changed after edgeguard checked it (hash %s then, %s now): nothing was loaded; check it and load it again",
			     r->path, r->hash, f.hash);
	if (!rc && !r->force)
		rc = load_guard(&g, r, &e);
	if (!rc)
		rc = apply(p, &f, &how, &report, &e);
	eg_policy_file_free(&f);
	if (rc) {
		cJSON *ev = ev_new("policy_reject");

		cJSON_AddStringToObject(ev, "via", "control");
		cJSON_AddNumberToObject(ev, "peer_uid", peer->uid);
		cJSON_AddNumberToObject(ev, "peer_pid", peer->pid);
		cJSON_AddStringToObject(ev, "error", e.msg);
		ev_emit(ev);
		return eg_ctl_reply_new(false, r->id, e.msg);
	}
	*changed = true;
	reply = eg_ctl_reply_new(true, r->id, NULL);
	if (reply && report)
		cJSON_AddItemToObject(reply, "policy", report);
	else
		cJSON_Delete(report);
	return reply;
}

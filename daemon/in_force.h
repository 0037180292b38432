/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which policy is in force, as edgeguardd sees to it: at start, on SIGHUP,
 * and on `edgeguard policy load` through the control socket. Every load
 * goes through eg_apply_policy_file (all or nothing), is logged as an
 * event, and is kept in the state directory (record.h) beside state.json.
 *
 * Precedence at start, first that applies:
 *  1. The policy `edgeguard policy load` put in force last - through this
 *     daemon (kept in the state directory), or straight on the maps while no
 *     daemon ran (the run directory's record) - whichever is newer. An
 *     incident policy survives daemon restarts and reboots; it stays until
 *     the next `policy load` or a SIGHUP.
 *  2. --policy FILE.
 *  3. Nothing: the maps keep whatever policy they have.
 * SIGHUP always loads --policy FILE: the way back from an incident policy.
 */
#ifndef EGD_IN_FORCE_H
#define EGD_IN_FORCE_H

#include <stdbool.h>
#include <sys/types.h>
#include <cjson/cJSON.h>
#include "control_proto.h"
#include "maps.h"
#include "policy_file.h"
#include "record.h"

struct in_force {
	const struct eg_maps *maps;
	const char *config_path; /* --policy FILE; NULL: none */
	const char *state_dir;
	struct eg_policy_file pf; /* the policy in force, when have_pf */
	bool have_pf;
	struct eg_policy_record saved; /* the state directory's record (no text), when have_saved */
	bool have_saved;
};

void in_force_init(struct in_force *p, const struct eg_maps *m, const char *config_path,
		   const char *state_dir);
/* Puts the policy in force that the precedence above picks; -1 (after an event): stop. */
int in_force_start(struct in_force *p);
/* SIGHUP: --policy FILE again; a bad file is rejected with an event and changes nothing. */
void in_force_reload(struct in_force *p);
/* The control socket's policy_load (control_hooks.policy_load; ctx is the struct in_force). */
cJSON *in_force_control_load(void *ctx, const struct eg_ctl_request *r, int fd,
			     const struct ucred *peer, bool *changed);
/* The static ban's reason from the policy in force, or NULL. */
const char *in_force_ban_reason(const struct in_force *p, const struct eg_lpm_key *k);
void in_force_free(struct in_force *p);

#endif

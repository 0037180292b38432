/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Putting a parsed policy file into force, all or nothing, and remembering
 * which one is (record.h).
 *
 * A load checks everything first: the table, the lock-out guards for the
 * static bans it would add, and whether its lists fit the maps in place
 * (their real sizes, fixed at attach, not the file's "limits"). Only then
 * does it write: the new table into the inactive generation, the lists,
 * the switch to the new generation, and last the record in the run
 * directory. Any error on the way undoes what was written, in reverse: the
 * old table, the old lists and the old record stay in force exactly. (A
 * process killed half-way cannot undo anything: the next load finishes the
 * job, since it reconciles rather than adds.)
 *
 * The lists are reconciled by origin. Allows the previous policy put in and
 * this file no longer lists are taken out; so are static bans (origin
 * policy) it no longer lists. A static ban keeps the expiry it got when it
 * was first set, however often the file is loaded again (a TTL runs from
 * the first load, not from every reload), and one that has expired stays
 * expired. Bans of every other origin - manual, auto, fleet - are never
 * touched: a static ban on an address banned by hand is left to the manual
 * ban. An allow an operator added before the file listed it stays the
 * operator's.
 *
 * Loads are serialized by a lock on the pin directory.
 */
#ifndef EG_APPLY_H
#define EG_APPLY_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "guard.h"
#include "paths.h"
#include "policy_file.h"
#include "record.h"

struct eg_apply_opts {
	enum eg_policy_origin origin;
	/* Checks the static bans this load would set; NULL: none (--force). */
	const struct eg_guard *guard;
	bool force; /* recorded with the policy: its guards were overridden */
	/* The name recorded for the file (NULL: f->path) and when it was loaded (0: now). */
	const char *path;
	int64_t loaded_at;
	/*
	 * Another record of the policy in force (edgeguardd's, from before a
	 * reboot): the allows and static bans it lists count as the policy's
	 * too. NULL: only the run directory's record counts.
	 */
	const struct eg_policy_record *also;
	/* A second directory to keep the record in (edgeguardd's state directory); NULL: none. */
	const char *record_dir;
};

#define EG_APPLY_MAX_WARNINGS 8

struct eg_apply_report {
	unsigned int policies;
	uint32_t slot_of_rule[EG_MAX_POLICIES - 1];
	size_t allows_added, allows_removed, allows_kept;
	size_t bans_added, bans_updated, bans_kept, bans_removed;
	size_t bans_expired; /* listed, but their TTL ran out since the first load: not set again */
	size_t bans_left;    /* listed, but the address holds a ban of another origin: left to it */
	/* Things the operator should know that did not stop the load. */
	char warnings[EG_APPLY_MAX_WARNINGS][EG_ERR_LEN];
	unsigned int nwarnings;
};

/*
 * Puts f in force on m as described above. On error nothing has changed and
 * e->msg says why ("FILE: bans[2]: refusing to ban ..."); when the undo
 * itself failed, the message says that too.
 */
int eg_apply_policy_file(const struct eg_maps *m, const struct eg_policy_file *f,
			 const struct eg_apply_opts *opts, struct eg_apply_report *rep,
			 struct eg_err *e);

/*
 * What a load did, for the CLI, the control socket's reply and the
 * daemon's event: file, hash, policies (name -> slot), allows and
 * static_bans (counts), warnings.
 */
cJSON *eg_apply_report_json(const struct eg_policy_file *f, const struct eg_apply_report *r);

#endif

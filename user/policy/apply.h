/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Putting a parsed policy file into force, and remembering which one is. */
#ifndef EG_APPLY_H
#define EG_APPLY_H

#include <stdint.h>
#include "paths.h"
#include "policy_file.h"


/*
 * Installs the policy table atomically, then adds the file's allowlist and
 * static bans (origin policy). Entries added by hand are left alone.
 */
int eg_apply_policy_file(const struct eg_maps *m, const struct eg_policy_file *f, struct eg_err *e);

struct eg_policy_meta {
	char path[4096];
	char hash[17];
	int64_t loaded_at; /* unix seconds */
};

/* Records (or reads back) which policy file is in force, for `status`. */
int eg_policy_meta_write(const struct eg_policy_file *f, struct eg_err *e);
int eg_policy_meta_read(struct eg_policy_meta *out);
void eg_policy_meta_remove(void);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * JSON policy files (schema: docs/policy.md) turned into the library's policy
 * table, map sizes and static allow/ban lists. Every error is a single line
 * "FILE: JSON.PATH: reason" so an operator can fix the file in one go.
 */
#ifndef EG_POLICY_FILE_H
#define EG_POLICY_FILE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "policy.h" /* edgeguard.h: EG_BAN_REASON_LEN */

/* Refuse absurd inputs before handing them to the JSON parser. */
#define EG_POLICY_FILE_MAX_BYTES (64U << 20)
/* Upper bound of every "limits" entry. */
#define EG_POLICY_MAX_MAP_SIZE (1U << 24)

struct eg_static_ban {
	struct eg_lpm_key key;
	uint32_t ttl_s; /* 0 = permanent */
	char reason[EG_BAN_REASON_LEN];
};

struct eg_policy_file {
	struct eg_policy_table table; /* validated with eg_policy_validate() */
	struct eg_sizes sizes;        /* defaults from edgeguard.h filled in */
	struct eg_lpm_key *allow;
	size_t nallow;
	struct eg_static_ban *bans;
	size_t nbans;
	char path[PATH_MAX]; /* the name errors use */
	/* FNV-1a 64 of the file's bytes as 16 lowercase hex digits, for `status`. */
	char hash[17];
};

/*
 * Reads and parses path. On failure out holds nothing to free and e->msg is
 * "PATH: JSON.PATH: reason" (or "PATH: strerror" when it cannot be read).
 */
int eg_policy_file_load(const char *path, struct eg_policy_file *out, struct eg_err *e);

/* Same, from an open descriptor (left open; e.g. 0 for stdin), named path in errors. */
int eg_policy_file_read(int fd, const char *path, struct eg_policy_file *out, struct eg_err *e);

/* Same, from memory; name_for_errors prefixes every message. text need not be NUL-terminated. */
int eg_policy_file_parse(const char *json_text, size_t len, const char *name_for_errors,
			 struct eg_policy_file *out, struct eg_err *e);

/* Frees the lists; f may be freed twice or after a failed parse. */
void eg_policy_file_free(struct eg_policy_file *f);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * JSON policy files (schema: docs/policy.md) turned into the library's policy
 * table, map sizes and static allow/ban lists. Every error is a single line
 * "FILE: JSON.PATH: reason" so an operator can fix the file in one go.
 */
#ifndef EG_POLICY_FILE_H
#define EG_POLICY_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "policy.h" /* edgeguard.h: EG_BAN_REASON_LEN */

/* Refuse absurd inputs before handing them to the JSON parser. */
#define EG_POLICY_FILE_MAX_BYTES (64U << 20)
/* Upper bound of every "limits" entry. */
#define EG_POLICY_MAX_MAP_SIZE (1U << 24)

/* FNV-1a 64 of a file's bytes as 16 lowercase hex digits: which version is in force. */
#define EG_POLICY_HASH_LEN 16
void eg_policy_hash(const char *p, size_t len, char out[EG_POLICY_HASH_LEN + 1]);

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
	bool has_limits;              /* the file has a "limits" section (sizes at attach) */
	char path[PATH_MAX]; /* the name errors use */
	char hash[EG_POLICY_HASH_LEN + 1]; /* eg_policy_hash of the file's bytes */
	/* The file's bytes (NUL-terminated past text_len), kept for the record of what is in force. */
	char *text;
	size_t text_len;
};

/*
 * Reads and parses path. On failure out holds nothing to free and e->msg is
 * "PATH: JSON.PATH: reason" (or "PATH: strerror" when it cannot be read).
 */
int eg_policy_file_load(const char *path, struct eg_policy_file *out, struct eg_err *e);

/*
 * Same, from an open descriptor, read from its start whatever its offset (a
 * pipe, e.g. the standard input: as it comes); name stands for the file in
 * every message.
 */
int eg_policy_file_load_fd(int fd, const char *name, struct eg_policy_file *out, struct eg_err *e);

/* Same, from memory; name_for_errors prefixes every message. text need not be NUL-terminated. */
int eg_policy_file_parse(const char *json_text, size_t len, const char *name_for_errors,
			 struct eg_policy_file *out, struct eg_err *e);

/* Frees the lists; f may be freed twice or after a failed parse. */
void eg_policy_file_free(struct eg_policy_file *f);

#endif

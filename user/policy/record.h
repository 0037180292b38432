/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The record of a policy in force: which file, its hash, when and how it was
 * loaded, what it put into the lists, and the file's exact bytes. One record
 * sits in the run directory beside the maps it describes (written by every
 * load as its last step, removed with the maps); edgeguardd keeps another in
 * its state directory, so the policy in force outlives a restart and a
 * reboot even when the file it came from has changed or gone.
 *
 * DIR/policy is one line of JSON (the header) and then the file's bytes:
 *   {"version":1,"path":...,"hash":...,"loaded_at":UNIX,"origin":"load",
 *    "force":false,"allows":[CIDR...],"static_bans":[{"cidr":...,"since":UNIX}],
 *    "bytes":N}\n<N bytes>
 * It is replaced whole (user/core/file.h), never edited in place.
 */
#ifndef EG_RECORD_H
#define EG_RECORD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "file.h"
#include "policy_file.h"

#define EG_POLICY_RECORD_NAME "policy"
#define EG_POLICY_RECORD_VERSION 1

/* How a policy came to be in force. */
enum eg_policy_origin {
	EG_POLICY_BY_UNKNOWN = 0, /* a record from before origins were kept */
	EG_POLICY_BY_ATTACH,      /* edgeguard attach --policy */
	EG_POLICY_BY_LOAD,        /* edgeguard policy load: an operator's, at run time */
	EG_POLICY_BY_CONFIG,      /* edgeguardd --policy, at start or on SIGHUP */
	EG_POLICY_BY_MAX,
};

const char *eg_policy_origin_name(enum eg_policy_origin o);

/* A static ban the policy holds, and since when (unix seconds): its TTL runs from then. */
struct eg_record_ban {
	struct eg_lpm_key key;
	int64_t since;
};

struct eg_policy_record {
	char path[PATH_MAX]; /* the file as it was named when loaded (shown, never re-read) */
	char hash[EG_POLICY_HASH_LEN + 1];
	int64_t loaded_at; /* unix seconds */
	enum eg_policy_origin origin;
	bool force; /* loaded with --force: the lock-out guards were overridden */
	/* Allows the policy put in (and so may take out); one an operator added first is not one. */
	struct eg_lpm_key *allows;
	size_t nallows;
	struct eg_record_ban *bans;
	size_t nbans;
	char *text; /* the file's bytes, NUL-terminated; NULL when only the header was read */
	size_t text_len;
};

/*
 * Writes r as DIR/policy into a staged temporary file (eg_file_commit puts
 * it in place). r->text must be set.
 */
int eg_policy_record_stage(const char *dir, const struct eg_policy_record *r,
			   struct eg_staged_file *out, struct eg_err *e);

/*
 * Reads DIR/policy: 1 and *out (free it), 0 when there is none, -1 when it
 * cannot be read or is corrupt ("DIR/policy: reason"). with_text also reads
 * the file's bytes and checks them against the hash. A record of the first
 * format (three lines: path, hash, time) reads as origin unknown, with no
 * lists and no text.
 */
int eg_policy_record_read(const char *dir, bool with_text, struct eg_policy_record *out,
			  struct eg_err *e);

void eg_policy_record_free(struct eg_policy_record *r);
void eg_policy_record_remove(const char *dir);
/* DIR/policy into out (PATH_MAX bytes); -1 when it does not fit. */
int eg_policy_record_path(const char *dir, char *out, size_t len);

/* Which policy file is in force on the pinned maps, for `status`. */
struct eg_policy_meta {
	char path[PATH_MAX];
	char hash[EG_POLICY_HASH_LEN + 1];
	int64_t loaded_at; /* unix seconds */
	enum eg_policy_origin origin;
};

/* The run directory's record, header only: 0 and *out, or -1 when there is none. */
int eg_policy_meta_read(struct eg_policy_meta *out);
/* Removes the run directory's record (the maps it described are gone). */
void eg_policy_meta_remove(void);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Files replaced whole or not at all: written to a temporary file beside
 * the target, synced, and renamed over it. Staging and committing are two
 * steps so a caller can stage first, do something that may still fail, and
 * only then commit (or discard).
 */
#ifndef EG_FILE_H
#define EG_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

struct eg_file_part {
	const void *buf;
	size_t len;
};

struct eg_staged_file {
	char tmp[PATH_MAX];  /* "" when nothing is staged */
	char path[PATH_MAX]; /* what the commit replaces */
};

/*
 * Writes the parts, in order, to a new temporary file (mode 0600) in path's
 * directory and syncs it. On failure nothing is left behind.
 */
int eg_file_stage(const char *path, const struct eg_file_part *parts, size_t nparts,
		  struct eg_staged_file *out, struct eg_err *e);
/* Renames the staged file over its path and syncs the directory. */
int eg_file_commit(struct eg_staged_file *s, struct eg_err *e);
/* Removes a staged file that will not be committed (nothing when none is staged). */
void eg_file_discard(struct eg_staged_file *s);
/* Stage and commit in one go. */
int eg_file_replace(const char *path, const struct eg_file_part *parts, size_t nparts,
		    struct eg_err *e);

/* Syncs the directory holding path, so a rename in it is durable. */
int eg_file_sync_dir_of(const char *path);

#endif

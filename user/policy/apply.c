// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "apply.h"
#include "lists.h"

int eg_apply_policy_file(const struct eg_maps *m, const struct eg_policy_file *f, struct eg_err *e)
{
	if (eg_policy_install(m, &f->table, e))
		return -1;
	for (size_t i = 0; i < f->nallow; i++)
		if (eg_allow_add(m, &f->allow[i], e))
			return -1;
	for (size_t i = 0; i < f->nbans; i++)
		if (eg_ban_add(m, &f->bans[i].key, f->bans[i].ttl_s, EG_ORIGIN_POLICY,
			       f->bans[i].reason, e))
			return -1;
	return 0;
}

static void meta_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/policy", eg_run_dir());
}

int eg_policy_meta_write(const struct eg_policy_file *f, struct eg_err *e)
{
	char path[4200], tmp[4300];
	char abs[4096];
	bool bad;
	FILE *fp;
	int err;

	if (mkdir(eg_run_dir(), 0700) && errno != EEXIST)
		return eg_fail_errno(e, errno, "cannot create %s", eg_run_dir());
	meta_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!realpath(f->path, abs))
		snprintf(abs, sizeof(abs), "%s", f->path);
	fp = fopen(tmp, "w");
	if (!fp)
		return eg_fail_errno(e, errno, "cannot write %s", tmp);
	fprintf(fp, "%s\n%s\n%lld\n", abs, f->hash, (long long)time(NULL));
	bad = fflush(fp) || fsync(fileno(fp));
	err = errno;
	/* Closed whatever happened: a failed write must not leak the descriptor. */
	if (fclose(fp) && !bad) {
		bad = true;
		err = errno;
	}
	if (bad) {
		unlink(tmp);
		return eg_fail_errno(e, err, "cannot write %s", tmp);
	}
	if (rename(tmp, path))
		return eg_fail_errno(e, errno, "cannot rename %s", tmp);
	return 0;
}

int eg_policy_meta_read(struct eg_policy_meta *out)
{
	char path[4200];
	long long at = 0;
	FILE *fp;
	int ok;

	meta_path(path, sizeof(path));
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	ok = fscanf(fp, "%4095[^\n]\n%16s\n%lld", out->path, out->hash, &at) == 3;
	fclose(fp);
	out->loaded_at = at;
	return ok ? 0 : -1;
}

void eg_policy_meta_remove(void)
{
	char path[4200];

	meta_path(path, sizeof(path));
	unlink(path);
}

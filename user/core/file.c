// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file.h"

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int eg_file_sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int eg_file_stage(const char *path, const struct eg_file_part *parts, size_t nparts,
		  struct eg_staged_file *out, struct eg_err *e)
{
	const char *slash = strrchr(path, '/');
	int fd, err;

	out->tmp[0] = '\0';
	if (snprintf(out->path, sizeof(out->path), "%s", path) >= (int)sizeof(out->path) ||
	    /* Same directory as path, so the rename cannot cross filesystems. */
	    snprintf(out->tmp, sizeof(out->tmp), "%.*s.%s.XXXXXX",
		     slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path) >= (int)sizeof(out->tmp)) {
		out->tmp[0] = '\0';
		return eg_fail(e, "%s: path too long", path);
	}
	fd = mkostemp(out->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		out->tmp[0] = '\0';
		return eg_fail_errno(e, err, "cannot create a temporary file next to %s", path);
	}
	for (size_t i = 0; i < nparts; i++) {
		if (write_all(fd, parts[i].buf, parts[i].len)) {
			err = errno;
			close(fd);
			goto fail;
		}
	}
	if (fchmod(fd, 0600) || fsync(fd)) {
		err = errno;
		close(fd);
		goto fail;
	}
	if (close(fd)) {
		err = errno;
		goto fail;
	}
	return 0;
fail:
	eg_file_discard(out);
	return eg_fail_errno(e, err, "cannot write %s", path);
}

int eg_file_commit(struct eg_staged_file *s, struct eg_err *e)
{
	int err;

	if (rename(s->tmp, s->path)) {
		err = errno;
		eg_file_discard(s);
		return eg_fail_errno(e, err, "cannot write %s", s->path);
	}
	s->tmp[0] = '\0';
	if (eg_file_sync_dir_of(s->path))
		return eg_fail_errno(e, errno, "%s: written, but syncing its directory failed",
				     s->path);
	return 0;
}

void eg_file_discard(struct eg_staged_file *s)
{
	if (s->tmp[0])
		unlink(s->tmp);
	s->tmp[0] = '\0';
}

int eg_file_replace(const char *path, const struct eg_file_part *parts, size_t nparts,
		    struct eg_err *e)
{
	struct eg_staged_file s;

	if (eg_file_stage(path, parts, nparts, &s, e))
		return -1;
	return eg_file_commit(&s, e);
}

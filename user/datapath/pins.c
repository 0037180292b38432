// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pins.h"

static int is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int eg_bpffs_ensure(struct eg_err *e)
{
	const char *root = "/sys/fs/bpf";

	if (is_bpffs(root))
		goto mkdir_pins;
	if (mkdir(root, 0700) && errno != EEXIST)
		return eg_fail_errno(e, errno, "cannot create %s", root);
	if (mount("bpf", root, "bpf", 0, "mode=0700"))
		return eg_fail(e, "cannot mount bpffs on %s: %s%s", root, strerror(errno),
			       errno == EPERM ? " (run as root)" : "");
mkdir_pins:
	if (mkdir(eg_pin_dir(), 0700) && errno != EEXIST)
		return eg_fail_errno(e, errno, "cannot create %s", eg_pin_dir());
	return 0;
}

static void pin_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", eg_pin_dir(), name);
}

bool eg_pins_exist(void)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), "eg_config");
	return access(p, F_OK) == 0;
}

int eg_pins_assign(struct bpf_object *obj, struct eg_err *e)
{
	struct bpf_map *map;
	char p[PATH_MAX];

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue; /* .bss and friends belong to one program instance */
		pin_path(p, sizeof(p), bpf_map__name(map));
		if (bpf_map__set_pin_path(map, p))
			return eg_fail_errno(e, errno, "cannot set pin path %s", p);
	}
	return 0;
}

static int open_flags(const char *name, int *fd, __u32 flags, struct eg_err *e)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = flags);
	char p[PATH_MAX];

	pin_path(p, sizeof(p), name);
	*fd = bpf_obj_get_opts(p, &o);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT)
		return eg_fail_code(e, ENOENT,
				    "edgeguard is not attached (no pinned map %s); run 'edgeguard attach IFNAME'",
				    p);
	if ((errno == EPERM || errno == EACCES) && flags == BPF_F_RDONLY)
		return eg_fail_code(e, errno,
				    "cannot read %s: permission denied (run as root, or as a member of edgeguardd's --group while it runs)",
				    p);
	if (errno == EPERM || errno == EACCES)
		return eg_fail_code(e, errno, "cannot open %s: permission denied (run as root)", p);
	return eg_fail_errno(e, errno, "cannot open %s", p);
}

static int open_one(const char *name, int *fd, struct eg_err *e)
{
	return open_flags(name, fd, 0, e);
}

static int open_all(struct eg_maps *m, __u32 flags, struct eg_err *e)
{
	eg_maps_init(m);
#define EG_MAP_OPEN(field, name)                                 \
	if (open_flags(#name, &m->field, flags, e)) {            \
		eg_maps_close(m);                                \
		return -1;                                       \
	}
	EG_MAP_REGISTRY(EG_MAP_OPEN)
#undef EG_MAP_OPEN
	return 0;
}

int eg_maps_open_pinned(struct eg_maps *m, struct eg_err *e)
{
	return open_all(m, 0, e);
}

int eg_maps_open_pinned_ro(struct eg_maps *m, struct eg_err *e)
{
	return open_all(m, BPF_F_RDONLY, e);
}

/*
 * The bpffs mount the pin directory sits in is 0700 by default (systemd
 * mounts it so): a reader needs search permission on it to reach our
 * directory. Only search, for others (its group is root's): what it holds
 * keeps its own modes, 0600 and 0700 as bpffs creates them.
 */
static int open_parent_for_search(const char *dir, bool *opened, struct eg_err *e)
{
	char parent[PATH_MAX], *slash;
	struct stat st;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	if (!is_bpffs(parent) || stat(parent, &st) || (st.st_mode & 0001))
		return 0;
	if (chmod(parent, (st.st_mode & 07777) | 0001))
		return eg_fail_errno(e, errno, "cannot let the group reach %s through %s", dir,
				     parent);
	*opened = true;
	return 0;
}

int eg_pins_share(gid_t gid, bool *opened_parent, struct eg_err *e)
{
	const char *dir = eg_pin_dir();
	struct dirent *de;
	char p[PATH_MAX];
	DIR *d;

	*opened_parent = false;
	if (open_parent_for_search(dir, opened_parent, e))
		return -1;

	/*
	 * Read for the group, never write: the pins 0640, their directory 0750.
	 * A reader opens them read-only (eg_maps_open_pinned_ro); a change still
	 * needs root or the daemon's socket.
	 */
	if (chown(dir, (uid_t)-1, gid) || chmod(dir, 0750))
		return eg_fail_errno(e, errno, "cannot give %s to group %u", dir, (unsigned int)gid);
	d = opendir(dir);
	if (!d)
		return eg_fail_errno(e, errno, "cannot open %s", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pin_path(p, sizeof(p), de->d_name);
		if (chown(p, (uid_t)-1, gid) || chmod(p, 0640)) {
			eg_fail_errno(e, errno, "cannot give %s to group %u", p, (unsigned int)gid);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

void eg_maps_close(struct eg_maps *m)
{
#define EG_MAP_CLOSE(field, name)        \
	if (m->field >= 0)               \
		close(m->field);         \
	m->field = -1;
	EG_MAP_REGISTRY(EG_MAP_CLOSE)
#undef EG_MAP_CLOSE
}

static int max_entries_of(const char *name, uint32_t *out, struct eg_err *e)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	int fd;

	if (open_one(name, &fd, e))
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		eg_fail_errno(e, errno, "cannot read map %s", name);
		close(fd);
		return -1;
	}
	close(fd);
	*out = info.max_entries;
	return 0;
}

int eg_pinned_sizes(struct eg_sizes *out, struct eg_err *e)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < eg_n_size_maps; i++) {
		const struct eg_size_map *sm = &eg_size_maps[i];

		uint32_t *size = (uint32_t *)((char *)out + sm->offset);

		if (!sm->read_back)
			continue;
		if (max_entries_of(sm->name, size, e))
			return -1;
		*size *= sm->read_back;
	}
	return 0;
}

int eg_pins_remove(struct eg_err *e)
{
	const char *dir = eg_pin_dir();
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return errno == ENOENT ? 0 : eg_fail_errno(e, errno, "cannot open %s", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pin_path(p, sizeof(p), de->d_name);
		if (unlink(p)) {
			eg_fail_errno(e, errno, "cannot unpin %s", p);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (rmdir(dir))
		return eg_fail_errno(e, errno, "cannot remove %s", dir);
	return 0;
}

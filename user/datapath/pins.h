/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where edgeguard's maps live in bpffs, so enforcement and its state outlive
 * any process, and every tool (daemon, CLI, a second attach) finds them.
 */
#ifndef EG_PINS_H
#define EG_PINS_H

#include <stdbool.h>
#include <sys/types.h>
#include "maps.h"
#include "paths.h"

struct bpf_object;


/* Mounts bpffs on the pin directory's filesystem root if it is not there. */
int eg_bpffs_ensure(struct eg_err *e);

bool eg_pins_exist(void);

/* Sets a pin path on every map of obj, so loading reuses or creates the pins. */
int eg_pins_assign(struct bpf_object *obj, struct eg_err *e);

/* Opens the pinned maps. Fails with a clear message when nothing is attached. */
int eg_maps_open_pinned(struct eg_maps *m, struct eg_err *e);
/*
 * The same, read-only: lookups work, changes fail. What listing commands
 * use, so members of the group the pins are shared with (eg_pins_share)
 * can read them with no daemon in the way.
 */
int eg_maps_open_pinned_ro(struct eg_maps *m, struct eg_err *e);

/*
 * Lets group gid read the pinned maps: the pin directory 0750 and every
 * pin 0640, both of group gid; and when the directory above it is a bpffs
 * mount others cannot search (systemd mounts /sys/fs/bpf 0700), search
 * permission on it for others (*opened_parent tells), so the group can
 * reach its pins. Nothing else in bpffs changes mode.
 */
int eg_pins_share(gid_t gid, bool *opened_parent, struct eg_err *e);
void eg_maps_close(struct eg_maps *m);

/* The sizes the pinned maps were created with (they cannot change while pinned). */
int eg_pinned_sizes(struct eg_sizes *out, struct eg_err *e);

/* Unpins every map and removes the directory. */
int eg_pins_remove(struct eg_err *e);

#endif

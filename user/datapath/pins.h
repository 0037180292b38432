/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where edgeguard's maps live in bpffs, so enforcement and its state outlive
 * any process, and every tool (daemon, CLI, a second attach) finds them.
 */
#ifndef EG_PINS_H
#define EG_PINS_H

#include <stdbool.h>
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
void eg_maps_close(struct eg_maps *m);

/* The sizes the pinned maps were created with (they cannot change while pinned). */
int eg_pinned_sizes(struct eg_sizes *out, struct eg_err *e);

/* Unpins every map and removes the directory. */
int eg_pins_remove(struct eg_err *e);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one way the datapath's BPF object is opened and loaded: by attach
 * (libxdp loads it), by edgeguardd's flow sweep, by the unit tests and by the
 * benchmark, so a test exercises exactly what users run.
 */
#ifndef EG_DATAPATH_H
#define EG_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>
#include "maps.h"

struct edgeguard_bpf;

struct eg_open_opts {
	/* Map sizes; NULL or zero fields: the defaults. With pins they must match (or be 0). */
	const struct eg_sizes *sizes;
	/* The row of eg_iface_counters this instance counts into; 0: no interface. */
	uint32_t iface_slot;
	/* Reuse (or create) the maps pinned in eg_pin_dir(), at their pinned sizes. */
	bool pinned;
	/* Only the flow sweep program (edgeguardd's backstop); the others are not loaded. */
	bool sweep_only;
};

/* Opened and configured, not loaded: for libxdp, which loads it itself. */
struct edgeguard_bpf *eg_datapath_open(const struct eg_open_opts *o, struct eg_err *e);

/* Loads an opened datapath and readies its maps (eg_datapath_ready). */
int eg_datapath_load(struct edgeguard_bpf *skel, struct eg_err *e);

/* eg_datapath_open and eg_datapath_load; destroyed again on failure. */
struct edgeguard_bpf *eg_datapath_open_load(const struct eg_open_opts *o, struct eg_err *e);

/*
 * After a load, by whoever loaded it: a never-configured eg_config gets its
 * defaults (a configured one is left alone), and the empty-list marks are set
 * for the lists that are empty (a new eg_list_empty says "look" everywhere).
 */
int eg_datapath_ready(const struct eg_maps *m, struct eg_err *e);

/* The descriptors of a loaded skeleton's maps. */
void eg_maps_from_skel(struct edgeguard_bpf *skel, struct eg_maps *m);

#endif

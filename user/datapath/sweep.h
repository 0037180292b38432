/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sweep of flows whose idle timer could not be armed: a small syscall
 * program of the datapath object, loaded against the pinned maps and run on
 * demand, so the slot is given back in the kernel with the same exactly-once
 * delete the timers use.
 */
#ifndef EG_SWEEP_H
#define EG_SWEEP_H

#include "error.h"

struct eg_sweeper;

/* Needs the maps pinned (edgeguard attach). */
struct eg_sweeper *eg_sweeper_open(struct eg_err *e);
int eg_sweeper_run(struct eg_sweeper *s, struct eg_err *e);
void eg_sweeper_close(struct eg_sweeper *s);

#endif

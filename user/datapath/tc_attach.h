/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TC egress half of the datapath: libbpf's tc hooks on a clsact qdisc.
 * Our filter has its own handle and priority, so detaching removes exactly
 * it, and the qdisc only if edgeguard created it.
 */
#ifndef EG_TC_ATTACH_H
#define EG_TC_ATTACH_H

#include <stdbool.h>
#include "error.h"

#define EG_TC_HANDLE 0xe9e9
#define EG_TC_PRIORITY 0xe9

int eg_tc_attach(int ifindex, int prog_fd, struct eg_err *e);
int eg_tc_detach(int ifindex, struct eg_err *e);
bool eg_tc_attached(int ifindex);
/*
 * Forgets the qdisc marker of an interface that is gone (its qdisc went with
 * it): nothing else can ever remove the file.
 */
void eg_tc_forget(int ifindex);

#endif

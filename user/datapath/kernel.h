/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The oldest kernel the datapath runs on (version.h: bpf_timer needs 5.15),
 * checked before an attach touches anything, so an old kernel gets one clear
 * line instead of a verifier log.
 */
#ifndef EG_KERNEL_H
#define EG_KERNEL_H

#include "error.h"

/*
 * 0 when release ("6.1.0-18-amd64", as uname -r prints it) is at least the
 * minimum; else -1 with e naming both (code ENOTSUP), or EINVAL when release
 * is not a kernel release at all.
 */
int eg_kernel_check(const char *release, struct eg_err *e);

/* eg_kernel_check of the running kernel (uname). */
int eg_kernel_check_running(struct eg_err *e);

#endif

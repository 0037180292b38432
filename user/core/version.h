/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The version both programs report (--version, edgeguard_build_info). The
 * Makefile defines EDGEGUARD_VERSION from the top entry of debian/changelog,
 * so the binaries, the package and the metrics always agree.
 */
#ifndef EG_VERSION_H
#define EG_VERSION_H

#ifndef EDGEGUARD_VERSION
#define EDGEGUARD_VERSION "unknown"
#endif

/* Linux release the datapath needs at least: bpf_timer (flow idle timers) came in 5.15. */
#define EG_KERNEL_MIN_MAJOR 5
#define EG_KERNEL_MIN_MINOR 15

#endif

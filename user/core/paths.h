/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where edgeguard keeps things: the pinned maps (bpffs) and the run directory
 * (control socket, daemon lock, policy record, clsact markers). One place, so
 * every tool and every test finds the same ones; the environment moves both
 * for tests and for several instances on one machine.
 */
#ifndef EG_PATHS_H
#define EG_PATHS_H

#define EG_PIN_DIR_DEFAULT "/sys/fs/bpf/edgeguard"
#define EG_PIN_DIR_ENV "EDGEGUARD_BPF_DIR"
#define EG_PIN_DIR_ENV_ALIAS "EDGEGUARD_PIN_DIR" /* read when EDGEGUARD_BPF_DIR is not set */
#define EG_RUN_DIR_DEFAULT "/run/edgeguard"
#define EG_RUN_DIR_ENV "EDGEGUARD_RUN_DIR"

/* $EDGEGUARD_BPF_DIR, else $EDGEGUARD_PIN_DIR, else /sys/fs/bpf/edgeguard. */
const char *eg_pin_dir(void);
/* $EDGEGUARD_RUN_DIR, or /run/edgeguard. */
const char *eg_run_dir(void);

#endif

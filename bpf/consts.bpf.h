/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel constants the BPF programs need that vmlinux.h does not carry
 * (they are macros in the uapi headers): errno values, the boot-time clock,
 * TC verdicts, EtherTypes, IP protocol numbers and TCP flags. One place, so
 * no header defines them for another.
 */
#ifndef EG_CONSTS_BPF_H
#define EG_CONSTS_BPF_H

#define EG_EBUSY 16
#define EG_EEXIST 17

#define EG_CLOCK_BOOTTIME 7 /* the clock of bpf_ktime_get_boot_ns() */

#define EG_TC_ACT_OK 0
#define EG_TC_ACT_SHOT 2

#define EG_ETH_P_IP 0x0800
#define EG_ETH_P_IPV6 0x86DD
#define EG_ETH_P_8021Q 0x8100
#define EG_ETH_P_8021AD 0x88A8

#define EG_IPPROTO_HOPOPTS 0
#define EG_IPPROTO_TCP 6
#define EG_IPPROTO_UDP 17
#define EG_IPPROTO_ROUTING 43
#define EG_IPPROTO_FRAGMENT 44
#define EG_IPPROTO_AH 51
#define EG_IPPROTO_NONE 59
#define EG_IPPROTO_DSTOPTS 60

#define EG_TCP_FIN 0x01
#define EG_TCP_SYN 0x02
#define EG_TCP_RST 0x04
#define EG_TCP_ACK 0x10

#endif /* EG_CONSTS_BPF_H */

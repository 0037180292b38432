# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Crafted frames against an attached datapath: a table of frame -> verdict.

Run by tests/e2e_frames.sh in the client's network namespace (nsenter --net,
which keeps the mounts, so the CLI still sees the pinned maps). Each frame is
sent once on the client's veth end; the verdict is read back from the host
interface's per-interface counters (`edgeguard stats --json`): exactly the
expected reason must move, by exactly one. Prints "ok - NAME" / "not ok -
NAME: why" lines for tests/run.sh.

    frames_corpus.py --eg BUILD/edgeguard --host-if IF --iface IF --table NAME
                     [--ban-src A] [--v6-ban-net P] [--allowed A] ...

Tables are chosen by name so the shell can set the lists up between them.
"""
import argparse
import ipaddress
import json
import subprocess
import sys
import time

from scapy.all import (ARP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, conf,
                       sendp)

conf.verb = 0
HOST_MAC = ["02:00:00:00:00:01"]  # set from --host-mac
DST4 = "192.0.2.1"
DST6 = "2001:db8:ffff::1"


def verdicts(args):
    """The host interface's verdict counters, or {} before the first packet."""
    out = subprocess.run([args.eg, "stats", "--json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out).get("interfaces", {}).get(args.host_if, {})


def tags(n, vid=0, outer_ad=True):
    """n VLAN tags, the outer ones alternating 802.1ad/802.1Q, the inner one 802.1Q."""
    layers = []
    for i in range(n):
        ad = outer_ad and (n - 1 - i) % 2 == 1
        layers.append(Dot1AD(vlan=vid) if ad else Dot1Q(vlan=vid))
    return layers


def frame(l3, ntags=0, vid=0):
    pkt = Ether(dst=HOST_MAC[0])
    for t in tags(ntags, vid):
        pkt = pkt / t
    return pkt / l3


def syn4(src, dport=80, **kw):
    return IP(src=src, dst=DST4) / TCP(sport=40000, dport=dport, flags="S", **kw)


def syn6(src, dport=80):
    return IPv6(src=src, dst=DST6) / TCP(sport=40000, dport=dport, flags="S")


def udp6(src, dport=53):
    return IPv6(src=src, dst=DST6) / UDP(sport=40000, dport=dport)


def udp4(src, dport=53):
    return IP(src=src, dst=DST4) / UDP(sport=40000, dport=dport)


def deep_vlan_rows(a):
    rows = []
    for n in range(0, 9):
        for vid in (0, 7):
            rows.append((f"v4 banned behind {n} tags vid {vid}", frame(syn4(a.ban_src), n, vid),
                         "banned"))
            rows.append((f"v6 banned behind {n} tags vid {vid}",
                         frame(syn6(a.v6_ban_host), n, vid), "banned_cidr"))
    for n in (9, 12, 20):
        rows.append((f"v4 banned behind {n} tags", frame(syn4(a.ban_src), n), "malformed"))
        rows.append((f"v6 banned behind {n} tags", frame(syn6(a.v6_ban_host), n), "malformed"))
        rows.append((f"clean v4 behind {n} tags", frame(syn4(a.clean4), n), "malformed"))
    # Single-type stacks, as a switch or a priority-tagging NIC would make them.
    for n in (3, 5, 8):
        q = Ether(dst=HOST_MAC[0])
        ad = Ether(dst=HOST_MAC[0])
        for _ in range(n):
            q = q / Dot1Q(vlan=0)
            ad = ad / Dot1AD(vlan=0)
        rows.append((f"v4 banned behind {n} 802.1Q tags", q / syn4(a.ban_src), "banned"))
        rows.append((f"v4 banned behind {n} 802.1ad tags", ad / syn4(a.ban_src), "banned"))
    rows.append(("ARP behind 3 tags", frame(ARP(pdst=DST4), 3), "non_ip"))
    rows.append(("ARP behind 8 tags", frame(ARP(pdst=DST4), 8), "non_ip"))
    rows.append(("ARP behind 9 tags", frame(ARP(pdst=DST4), 9), "malformed"))
    cut = bytes(frame(syn4(a.ban_src), 3))[:12 + 2 * 4 + 2]
    rows.append(("frame cut inside its third tag", cut, "non_ip"))
    return rows


def family_rows(a):
    mapped_banned = "::ffff:" + a.ban_src
    mapped_allowed = "::ffff:" + a.allowed
    return [
        ("v4 from the banned host", frame(syn4(a.ban_src)), "banned"),
        ("v6 from its IPv4-mapped address", frame(syn6(mapped_banned)), "malformed"),
        ("v6 mapped, QinQ", frame(udp6(mapped_banned), 2), "malformed"),
        ("v4 from the allowlisted host", frame(syn4(a.allowed)), "allowlisted"),
        ("v6 from its IPv4-mapped address", frame(syn6(mapped_allowed)), "malformed"),
        ("v6 ::2 (IPv4-compatible)", frame(syn6("::2")), "passed"),
        ("v4 0.0.0.2", frame(syn4("0.0.0.2")), "passed"),
        ("v6 from the banned /48", frame(udp6(a.v6_ban_host)), "banned_cidr"),
        ("v6 later fragment from the banned /48",
         frame(IPv6(src=a.v6_ban_host, dst=DST6) / IPv6ExtHdrFragment(offset=100, m=0)
               / Raw(b"x" * 16)), "banned_cidr"),
        ("v4 later fragment from the banned host",
         frame(IP(src=a.ban_src, dst=DST4, frag=185, proto=6) / Raw(b"x" * 16)), "banned"),
        ("v6 ext chain from the banned /48",
         frame(IPv6(src=a.v6_ban_host, dst=DST6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting()
               / IPv6ExtHdrDestOpt() / TCP(dport=80, flags="S")), "banned_cidr"),
        ("v6 overlong ext chain from the banned /48",
         frame(IPv6(src=a.v6_ban_host, dst=DST6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
               / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
               / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / TCP(dport=80, flags="S")),
         "banned_cidr"),
        ("clean v4", frame(syn4(a.clean4)), "passed"),
        ("clean v6", frame(syn6("2001:db8:c1ea::1")), "passed"),
    ]


def any_v6_banned_rows(a):
    """With ::/0 banned: every IPv6 source dropped, no IPv4 one."""
    return [
        ("v4 clean while ::/0 is banned", frame(syn4(a.clean4)), "passed"),
        ("v4 0.0.0.2 while ::/0 is banned", frame(syn4("0.0.0.2")), "passed"),
        ("v6 ::2 while ::/0 is banned", frame(syn6("::2")), "banned_cidr"),
        ("v6 mapped while ::/0 is banned", frame(syn6("::ffff:" + a.clean4)), "banned_cidr"),
        ("v6 clean while ::/0 is banned", frame(syn6("2001:db8:c1ea::1")), "banned_cidr"),
    ]


def any_v4_banned_rows(a):
    return [
        ("v6 clean while 0.0.0.0/0 is banned", frame(syn6("2001:db8:c1ea::1")), "passed"),
        ("v6 ::2 while 0.0.0.0/0 is banned", frame(syn6("::2")), "passed"),
        ("v4 clean while 0.0.0.0/0 is banned", frame(syn4(a.clean4)), "banned_cidr"),
    ]


def nested_rows(a):
    return [
        ("v4 inside expired /17../31 over a live /16", frame(syn4("10.20.0.1")), "banned_cidr"),
        ("v4 at the base of the nest", frame(syn4("10.20.0.0")), "banned_cidr"),
        ("v4 outside the /16", frame(syn4("10.21.0.1")), "passed"),
    ]


def autoban_rows(a):
    """udp/9999 bans at the first drop; IPv6 /64s of one /56 escalate to it."""
    rows = []
    for n in range(a.escalate_after):
        src = f"2001:db8:77:{n:x}::1"
        rows.append((f"/64 #{n} first packet", frame(udp6(src, 9999)), "passed"))
        rows.append((f"/64 #{n} over the limit", frame(udp6(src, 9999)), "pkt_rate"))
    rows.append(("a new /64 of the escalated /56, first packet", frame(udp6("2001:db8:77:ee::5",
                                                                            9999)),
                 "autobanned"))
    rows.append(("the /56's neighbour /56", frame(udp6("2001:db8:77:100::1", 9999)), "passed"))
    rows.append(("IPv4 unaffected by IPv6 escalation", frame(udp4(a.clean4, 9999)), "passed"))
    return rows


def fill_autobans_rows(a):
    rows = []
    for n in range(a.count):
        src = f"198.18.{n // 250}.{n % 250 + 1}"
        rows.append((f"{src} first packet", frame(udp4(src, 9999)), "passed"))
        rows.append((f"{src} over the limit", frame(udp4(src, 9999)), "pkt_rate"))
    return rows


def forged_reset_rows(a):
    """Out-of-window RSTs and FINs on the client's real connections: the kernel
    ignores them, so must the flow table (they pass, and change no count)."""
    rows = []
    for sport in [int(x) for x in a.sports.split(",") if x]:
        for flags, seq in (("R", 12345), ("RA", 0x7fff0000), ("FA", 4242), ("R", 1)):
            rows.append((f"{a.client}:{sport} forged {flags} seq {seq}",
                         frame(IP(src=a.client, dst=a.server)
                               / TCP(sport=sport, dport=a.server_port, flags=flags, seq=seq)),
                         "passed"))
    return rows


TABLES = {
    "deep-vlan": deep_vlan_rows,
    "families": family_rows,
    "any-v6-banned": any_v6_banned_rows,
    "any-v4-banned": any_v4_banned_rows,
    "nested": nested_rows,
    "autoban": autoban_rows,
    "fill-autobans": fill_autobans_rows,
    "forged-resets": forged_reset_rows,
}


def run_row(args, name, pkt, want):
    before = verdicts(args)
    sendp(pkt, iface=args.iface)
    # XDP on the veth may run a moment after the send returns.
    deadline = time.monotonic() + 5
    while True:
        after = verdicts(args)
        moved = {r: after.get(r, 0) - before.get(r, 0) for r in after}
        total = sum(moved.values())
        if total >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    others = {r: d for r, d in moved.items() if d and r != want}
    if moved.get(want, 0) == 1 and not others:
        print(f"ok - {args.table}: {name}: {want}")
        return True
    got = ", ".join(f"{r}+{d}" for r, d in moved.items() if d) or "nothing"
    print(f"not ok - {args.table}: {name}: want {want}, counters moved: {got}")
    return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--eg", required=True)
    p.add_argument("--host-if", required=True)
    p.add_argument("--iface", required=True)
    p.add_argument("--table", required=True, choices=sorted(TABLES))
    p.add_argument("--ban-src", default="198.51.100.7")
    p.add_argument("--v6-ban-host", default="2001:db8:bad:1::7")
    p.add_argument("--allowed", default="203.0.113.5")
    p.add_argument("--clean4", default="192.0.2.77")
    p.add_argument("--escalate-after", type=int, default=3)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--client", default="")
    p.add_argument("--server", default="")
    p.add_argument("--server-port", type=int, default=0)
    p.add_argument("--sports", default="")
    p.add_argument("--host-mac", default=HOST_MAC[0])
    args = p.parse_args()
    HOST_MAC[0] = args.host_mac
    ipaddress.ip_address(args.ban_src)
    ok = all([run_row(args, *row) for row in TABLES[args.table](args)])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

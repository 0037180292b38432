# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The network of `make bench-flood`, sourced by run.sh. Everything it creates
# starts with "egfl-" and lab_down removes it, whatever state it is in.
#
#   root namespace = the protected host            egfl-atk = the upstream link
#   egfl-h0 198.19.0.2  <== veth ==>  egfl-a0 --+-- bridge egfl-br 198.19.0.1
#   (edgeguard, XDP, netfilter,                 |
#    tcp_server; NAPI thread on CPU 1)          +-- egfl-c1 <== veth ==> egfl-c0 (egfl-cli)
#                                                   good clients 198.19.0.10..17
#
# The flood leaves egfl-a0 by XDP_TX (flood_gen, CPU 0) and arrives in
# egfl-h0's NAPI ring; the good clients' packets cross the bridge and reach
# the same ring, so they compete with the flood for the same receive CPU, as
# they would on one uplink. Attack sources are in 198.18.0.0/16 or anywhere in
# IPv4 (RFC 2544's 198.18.0.0/15 is set aside for exactly this kind of lab).
#
# The host answers the flood (RSTs, SYN-ACKs) from 198.19.0.2, and a policy
# rule sends everything from that address back into egfl-atk, which does not
# forward: no reply to a spoofed address ever leaves on a real interface. A
# blackhole route behind it keeps that true if egfl-h0 goes away mid-run.

# shellcheck disable=SC2034 # the names are used by the files that source this one
LAB_NS=egfl-atk
LAB_CLI_NS=egfl-cli
LAB_HOST_IF=egfl-h0
LAB_ATK_IF=egfl-a0
LAB_BRIDGE=egfl-br
LAB_CLI_IF=egfl-c0
LAB_CLI_PEER=egfl-c1
LAB_NET=198.19.0
LAB_GW=$LAB_NET.1
LAB_HOST=$LAB_NET.2
LAB_CLIENTS=8  # addresses .10 .. .17
LAB_TABLE=7411 # policy-routing table (and rule preference) for the host's replies
ATTACK_BASE=198.18.0.0
ATTACK_NET=198.18.0.0/16
RX_CPU=1 # the receiver's CPU: egfl-h0's NAPI thread and nothing else of ours
TX_CPU=0 # everything else: generator, clients, server, this script

lab_client_addr() { echo "$LAB_NET.$((10 + $1))"; }

# lab_sysctl NS KEY VALUE: sysctl in a namespace ("" = root).
lab_sysctl() {
	if [ -n "$1" ]; then
		ip netns exec "$1" sysctl -qw "$2=$3" >/dev/null
	else
		sysctl -qw "$2=$3" >/dev/null
	fi
}

# napi_thread IFACE: the pid of IFACE's threaded-NAPI kthread ("napi/IFACE-ID").
napi_thread() {
	ps -eo pid=,comm= | awk -v p="napi/$1-" 'index($2, p) == 1 { print $1; exit }'
}

# lab_pin_napi: pins egfl-h0's NAPI thread to RX_CPU and makes it SCHED_FIFO
# (priority 50, that of threaded IRQ handlers): on a host NAPI runs in
# softirq, which no task delays, while a threaded NAPI at normal priority
# would share its CPU with whatever else the machine runs and its ring would
# overflow for reasons unrelated to the flood. egfl-a0's thread (the upstream
# side) goes to TX_CPU at normal priority. A kthread keeps its affinity; this
# is called again before every measurement and pins anew if the kernel
# replaced the thread (it does when NAPI is re-enabled).
lab_pin_napi() {
	local rx tx
	[[ "$(cat "/proc/${LAB_NAPI_PID:-0}/comm" 2>/dev/null)" == "napi/$LAB_HOST_IF-"* ]] && return 0
	rx=$(napi_thread "$LAB_HOST_IF")
	tx=$(napi_thread "$LAB_ATK_IF")
	[ -n "$rx" ] && [ -n "$tx" ] || return 1
	taskset -pc "$RX_CPU" "$rx" >/dev/null && chrt -f -p 50 "$rx" &&
		taskset -pc "$TX_CPU" "$tx" >/dev/null || return 1
	LAB_NAPI_PID=$rx # read by measure.sh
}

# lab_up: builds the network above. Returns non-zero on the first failure.
#
# How every packet for the host reaches the one NAPI thread on RX_CPU: a veth
# only has a NAPI ring (filled by the peer, polled by a NAPI instance) when an
# XDP program is attached or GRO is on, and even then it puts an skb from the
# peer's stack on that ring only if the peer's TSO is off (or XDP is attached,
# which turns the peer's TSO off by itself); any other skb goes to netif_rx on
# the sending CPU, so the receiver's stack and netfilter would run there. So
# GRO on and TSO off on both ends, from the start: the flood (XDP frames from
# flood_gen), the good clients' packets and everything else for the host land
# on egfl-h0's ring in every configuration, with or without XDP, and with
# threaded NAPI that ring is served by one kthread pinned to RX_CPU. All of the
# receiver's work (XDP, skb allocation, GRO, netfilter, TCP, the RSTs it sends)
# runs there and nowhere else; egfl-a0 gets the same treatment on TX_CPU, so
# what the upstream side does with the host's replies is not charged to it.
# Both ends get the noqueue qdisc: with a queue, a veth whose peer's ring is
# full holds the stack's skbs and sends them when room frees up, and the good
# clients would never lose a packet to a ring the flood keeps full. A NIC's
# receive ring does not push back on the internet: what does not fit is lost.
lab_up() {
	local i
	lab_down # a leftover of a run killed before its trap ran
	ip netns add "$LAB_NS" && ip netns add "$LAB_CLI_NS" || return 1
	ip link add "$LAB_HOST_IF" numtxqueues 1 numrxqueues 1 type veth peer name "$LAB_ATK_IF" \
		numtxqueues 1 numrxqueues 1 netns "$LAB_NS" || return 1
	ip -n "$LAB_CLI_NS" link add "$LAB_CLI_IF" type veth peer name "$LAB_CLI_PEER" \
		netns "$LAB_NS" || return 1
	# No IPv6 anywhere: no ND or MLD packets in the counters.
	lab_sysctl "" "net.ipv6.conf.$LAB_HOST_IF.disable_ipv6" 1 &&
		lab_sysctl "" "net.ipv4.conf.$LAB_HOST_IF.rp_filter" 0 &&
		lab_sysctl "$LAB_NS" net.ipv6.conf.all.disable_ipv6 1 &&
		lab_sysctl "$LAB_CLI_NS" net.ipv6.conf.all.disable_ipv6 1 || return 1
	ip -n "$LAB_NS" link add "$LAB_BRIDGE" type bridge &&
		ip -n "$LAB_NS" link set "$LAB_ATK_IF" master "$LAB_BRIDGE" &&
		ip -n "$LAB_NS" link set "$LAB_CLI_PEER" master "$LAB_BRIDGE" &&
		ip -n "$LAB_NS" addr add "$LAB_GW/24" dev "$LAB_BRIDGE" || return 1
	ip addr add "$LAB_HOST/24" dev "$LAB_HOST_IF" || return 1
	for ((i = 0; i < LAB_CLIENTS; i++)); do
		ip -n "$LAB_CLI_NS" addr add "$(lab_client_addr "$i")/24" dev "$LAB_CLI_IF" || return 1
	done
	ip rule add from "$LAB_HOST" table "$LAB_TABLE" pref "$LAB_TABLE" &&
		ip route add blackhole default metric 65535 table "$LAB_TABLE" || return 1
	ip link set "$LAB_HOST_IF" up &&
		ip -n "$LAB_NS" link set "$LAB_ATK_IF" up &&
		ip -n "$LAB_NS" link set "$LAB_CLI_PEER" up &&
		ip -n "$LAB_NS" link set "$LAB_BRIDGE" up &&
		ip -n "$LAB_NS" link set lo up &&
		ip -n "$LAB_CLI_NS" link set "$LAB_CLI_IF" up &&
		ip -n "$LAB_CLI_NS" link set lo up || return 1
	ip route add "$LAB_NET.0/24" dev "$LAB_HOST_IF" src "$LAB_HOST" table "$LAB_TABLE" &&
		ip route add default via "$LAB_GW" dev "$LAB_HOST_IF" table "$LAB_TABLE" || return 1
	ethtool -K "$LAB_HOST_IF" gro on tso off >/dev/null &&
		ip netns exec "$LAB_NS" ethtool -K "$LAB_ATK_IF" gro on tso off >/dev/null &&
		tc qdisc replace dev "$LAB_HOST_IF" root noqueue &&
		tc -n "$LAB_NS" qdisc replace dev "$LAB_ATK_IF" root noqueue || return 1
	echo 1 >"/sys/class/net/$LAB_HOST_IF/threaded" &&
		ip netns exec "$LAB_NS" sh -c "echo 1 > /sys/class/net/$LAB_ATK_IF/threaded" || return 1
	lab_pin_napi
}

# lab_down: removes whatever lab_up created (any of it may be missing).
lab_down() {
	ip rule del from "$LAB_HOST" table "$LAB_TABLE" pref "$LAB_TABLE" 2>/dev/null
	ip route flush table "$LAB_TABLE" 2>/dev/null
	ip link del "$LAB_HOST_IF" 2>/dev/null
	ip netns del "$LAB_CLI_NS" 2>/dev/null
	ip netns del "$LAB_NS" 2>/dev/null
	return 0
}

# lab_host_mac: egfl-h0's MAC, the flood's destination.
lab_host_mac() { cat "/sys/class/net/$LAB_HOST_IF/address"; }

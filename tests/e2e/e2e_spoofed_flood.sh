#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: a spoofed-source SYN flood against the new-source budget, with
# real TCP, driven through the CLI. The root namespace is the protected host:
# a TCP server (tcp_server --hold, echoing) listens on the root ends of two
# veth pairs, and `edgeguard attach` puts XDP and the TC egress program on both.
#
#   100.79.0.16/30  egf-gh (root, .17)  <->  egf-gc (egf-good, .18)  verified client
#   100.79.0.20/30  egf-ah (root, .21)  <->  egf-ac (egf-atk,  .22)  flooder
#
# The flooder sends every SYN from a random address in 100.80.0.0/16. The
# server's SYN-ACKs to those addresses are routed back into egf-atk (which
# does not forward them), never out of the host's real interfaces.
#
# Policy: tcp port P, new_source_budget 50/s burst 50. The good client made a
# real connection (the server sent on it) before the flood, so it is verified
# and never charged to the budget; the flood's sources never complete a
# handshake, so all of them share the budget.
#
# Everything it creates starts with "egf-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

T=e2e_spoofed_flood
NS_G=egf-good
NS_A=egf-atk
G_HOST=100.79.0.17
G_CLIENT=100.79.0.18
A_HOST=100.79.0.21
A_CLIENT=100.79.0.22
SPOOF_NET=100.80.0.0/16

# The policy under test.
BUDGET_RATE=50
BUDGET_BURST=50
# The traffic.
FLOOD_COUNT=20000
FLOOD_PPS=5000
FLOOD_SECONDS=6
GOOD_COUNT=100
GOOD_INTERVAL_MS=40
GOOD_TIMEOUT_MS=2000

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/edgeguard-test-spoof
export EDGEGUARD_RUN_DIR=
WORK=
PIDS=()
ROUTE_ADDED=

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	exec 4>&-
	stop_pids "${PIDS[@]}"
	lab_detach egf-gh egf-ah
	[ -n "$ROUTE_ADDED" ] && ip route del "$SPOOF_NET" via "$A_CLIENT" dev egf-ah 2>/dev/null
	ipt_undo
	lab_remove "$NS_G" egf-gh
	lab_remove "$NS_A" egf-ah
	lab_cleanup_pins
	[ -n "$WORK" ] && rm -rf "$WORK"
	[ -n "$EDGEGUARD_RUN_DIR" ] && rm -rf "$EDGEGUARD_RUN_DIR"
}
trap cleanup EXIT
trap 'not_ok interrupted "by a signal"; exit 1' INT TERM HUP

need_files "$TOOLS/tcp_server" "$TOOLS/tcp_hold" "$TOOLS/tcp_connect" "$TOOLS/syn_flood" "$EG"
need_commands ip iptables nstat ss flock

WORK=$(mktemp -d /tmp/egf-spoof.XXXXXX)
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egf-spoof-run.XXXXXX)
# Two runs of this test at once would fight over the same names and route.
take_lock /tmp/egf-e2e-spoof.lock 80

# Leftovers of an earlier run that was killed hard (the names are ours alone).
lab_remove "$NS_G" egf-gh
lab_remove "$NS_A" egf-ah
if [ -n "$(ip route show "$SPOOF_NET")" ]; then
	die setup "the root namespace already routes $SPOOF_NET: $(ip route show "$SPOOF_NET")"
fi

PORT=$(free_port) || die setup "no free port"

# --- lab -----------------------------------------------------------------------
# No IPv6 (no ND chatter), one queue each way (the flood reaches XDP in
# order on one CPU), and no reverse-path filter (the root ends take SYNs from
# spoofed sources; the peers only ever hear from their host's address).
veth_pair --one-queue --no-ipv6 --no-rp-filter egf-gh egf-gc "$NS_G" 30 "$G_HOST" "$G_CLIENT" ||
	die setup "cannot set up egf-gh/egf-gc"
veth_pair --one-queue --no-ipv6 --no-rp-filter egf-ah egf-ac "$NS_A" 30 "$A_HOST" "$A_CLIENT" ||
	die setup "cannot set up egf-ah/egf-ac"
# Answers to spoofed sources go back to the attacker's namespace, which does
# not forward (ip_forward is 0 in a new namespace) and so drops them.
ip route add "$SPOOF_NET" via "$A_CLIENT" dev egf-ah || die setup "cannot route $SPOOF_NET"
ROUTE_ADDED=1
[ "$(ip netns exec "$NS_A" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] ||
	die setup "$NS_A forwards packets"
ipt_accept egf-gh egf-ah
# Neighbours resolved now, so no flood packet or SYN-ACK waits in a neighbour queue.
ip netns exec "$NS_A" ping -c 1 -W 2 "$A_HOST" >/dev/null 2>&1 ||
	die setup "no ping from $NS_A to $A_HOST"
ip netns exec "$NS_G" ping -c 1 -W 2 "$G_HOST" >/dev/null 2>&1 ||
	die setup "no ping from $NS_G to $G_HOST"

start_server 50 --hold --seconds 85 "$G_HOST:$PORT" "$A_HOST:$PORT" ||
	die setup "tcp_server did not start: $(cat "$WORK/server.log")"
PIDS+=("$SERVER_PID")

cat >"$WORK/policy.json" <<EOF
{
	"comment": "e2e_spoofed_flood: unverified sources share one budget",
	"policies": [ { "name": "spoofable", "protocol": "tcp", "port": $PORT,
			"new_source_budget": { "rate": $BUDGET_RATE, "burst": $BUDGET_BURST } } ]
}
EOF
for i in egf-gh egf-ah; do
	out=$($EG attach "$i" --policy "$WORK/policy.json" 2>&1) ||
		die setup "edgeguard attach $i failed: $out"
done

# --- helpers ---------------------------------------------------------------------
tx_dropped() { ip netns exec "$NS_A" cat /sys/class/net/egf-ac/statistics/tx_dropped; }

# --- the good client becomes verified ------------------------------------------------
# One held connection and a heartbeat the server echoes: the server sends on
# the tracked flow, which verifies the client's address.
mkfifo "$WORK/good.in"
ip netns exec "$NS_G" "$TOOLS/tcp_hold" --count 1 --heartbeat-ms 100 --timeout-ms 2000 \
	--seconds 30 "$G_HOST:$PORT" <"$WORK/good.in" >"$WORK/hold.out" 2>&1 &
HOLD=$!
PIDS+=("$HOLD")
exec 4>"$WORK/good.in"
verified=0
for _ in $(seq 200); do
	verified=$(counter verified)
	((verified >= 1)) && break
	sleep 0.1
done
echo quit >&4
exec 4>&-
expect "the good client is verified before the flood" \
	"verified=$verified; holder: $(tr '\n' ' ' <"$WORK/hold.out")" "verified == 1"

# --- the flood -------------------------------------------------------------------------
SYN0=$(counter syn_seen)
BUDGET0=$(counter new_source_budget)
OPENED0=$(counter flow_opened)
VERIFIED0=$(counter verified)
G_SYNS0=$(nstat_sum "$NS_G" TcpActiveOpens TcpRetransSegs)
DROPS0=$(tx_dropped)

# The good client spans the flood: it starts first and ends after it.
ip netns exec "$NS_G" timeout 60 "$TOOLS/tcp_connect" --count $GOOD_COUNT \
	--interval-ms $GOOD_INTERVAL_MS --timeout-ms $GOOD_TIMEOUT_MS "$G_HOST:$PORT" \
	>"$WORK/good.out" 2>&1 &
GOOD=$!
PIDS+=("$GOOD")
sleep 0.2
ip netns exec "$NS_A" timeout 20 "$TOOLS/syn_flood" --src-cidr "$SPOOF_NET" --dst "$A_HOST" \
	--dport "$PORT" --count $FLOOD_COUNT --pps $FLOOD_PPS --seconds $FLOOD_SECONDS \
	>"$WORK/flood.out" 2>&1
wait "$GOOD"

SYN1=$(counter syn_seen)
BUDGET1=$(counter new_source_budget)
OPENED1=$(counter flow_opened)
VERIFIED1=$(counter verified)
G_SYNS1=$(nstat_sum "$NS_G" TcpActiveOpens TcpRetransSegs)
DROPS1=$(tx_dropped)

# --- figures ---------------------------------------------------------------------------
GOOD_ATTEMPTS=$(kv "$WORK/good.out" attempts)
GOOD_OK=$(kv "$WORK/good.out" ok)
FLOOD_SENT=$(kv "$WORK/flood.out" sent)
FLOOD_FAILED=$(kv "$WORK/flood.out" failed)
FLOOD_MS=$(kv "$WORK/flood.out" elapsed_ms)
VETH_DROPS=$((DROPS1 - DROPS0))
# SYNs seen by the datapath: the flood's that veth delivered, and the good
# client's (first SYNs and retransmits, as its own kernel counts them).
FLOOD_SEEN=$((FLOOD_SENT - VETH_DROPS))
G_SYNS=$((G_SYNS1 - G_SYNS0))
SYN_SEEN=$((SYN1 - SYN0))
BUDGET_DROPS=$((BUDGET1 - BUDGET0))
# The good client is verified, so every budget drop is a flood SYN.
FLOOD_PASSED=$((FLOOD_SEEN - BUDGET_DROPS))
FLOWS_FLOOD=$((OPENED1 - OPENED0 - GOOD_OK))
# The budget's allowance over the flood: a full bucket, then the rate for as
# long as the flood lasted, rounded up to whole seconds plus one more second
# for the datapath's processing to trail the sender's clock on a loaded machine.
ALLOWANCE=$((BUDGET_BURST + BUDGET_RATE * ((FLOOD_MS + 999) / 1000 + 1)))
GOOD_PCT=$((GOOD_ATTEMPTS ? 100 * GOOD_OK / GOOD_ATTEMPTS : 0))

echo "# port=$PORT flood: sent=$FLOOD_SENT failed=$FLOOD_FAILED elapsed_ms=$FLOOD_MS" \
	"veth_drops=$VETH_DROPS seen=$FLOOD_SEEN passed=$FLOOD_PASSED" \
	"dropped_by_budget=$BUDGET_DROPS allowance=$ALLOWANCE flows_opened_for_flood=$FLOWS_FLOOD"
echo "# verified client: attempts=$GOOD_ATTEMPTS ok=$GOOD_OK (${GOOD_PCT}%) syns=$G_SYNS;" \
	"syn_seen=$SYN_SEEN verified $VERIFIED0 -> $VERIFIED1"

# --- assertions --------------------------------------------------------------------------
expect "flood sent in full from random sources" "sent=$FLOOD_SENT failed=$FLOOD_FAILED" \
	"FLOOD_SENT == FLOOD_COUNT && FLOOD_FAILED == 0"
expect "verified client connects >= 99% during the flood" \
	"ok=$GOOD_OK of attempts=$GOOD_ATTEMPTS" \
	"GOOD_ATTEMPTS == GOOD_COUNT && 100 * GOOD_OK >= 99 * GOOD_ATTEMPTS"
expect "every SYN is accounted for: syn_seen == flood seen + good client's" \
	"syn_seen=$SYN_SEEN flood_seen=$FLOOD_SEEN good_syns=$G_SYNS" \
	"SYN_SEEN == FLOOD_SEEN + G_SYNS"
expect "the budget drops the flood" "dropped_by_budget=$BUDGET_DROPS" "BUDGET_DROPS > 0"
expect "unverified sources are held to the budget (passed <= allowance)" \
	"passed=$FLOOD_PASSED allowance=$ALLOWANCE (burst $BUDGET_BURST + $BUDGET_RATE/s over ${FLOOD_MS} ms + 1 s)" \
	"FLOOD_PASSED <= ALLOWANCE"
expect "the budget still admits new sources (passed >= burst)" \
	"passed=$FLOOD_PASSED burst=$BUDGET_BURST" "FLOOD_PASSED >= BUDGET_BURST"
expect "each passed flood SYN opened one flow, none more" \
	"flows_opened_for_flood=$FLOWS_FLOOD passed=$FLOOD_PASSED" \
	"FLOWS_FLOOD >= 0 && FLOWS_FLOOD <= FLOOD_PASSED"
expect "no spoofed source became verified" "verified $VERIFIED0 -> $VERIFIED1" \
	"VERIFIED1 == VERIFIED0"
exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: never-seen clients during a spoofed SYN flood on every CPU,
# first with the new-source budget alone, then with SYN flood mode
# (syn_retry_above): a new source's first SYN is dropped and remembered, its
# retransmission let through. Real TCP, driven through the CLI. The root
# namespace is the protected host (tcp_server on both root ends, `edgeguard
# attach` on both):
#
#   100.88.0.0/30  egr-ch (root, .1)  <->  egr-cc (egr-cli, .2)  clients
#   100.88.0.4/30  egr-ah (root, .5)  <->  egr-ac (egr-atk, .6)  flooders
#
# egr-cli also holds 100.88.1.1-254: each new client connects from an
# address the host has never seen (tcp_connect --bind-each). One flooder per
# CPU (taskset), each walking its own /15 of 100.92.0.0/14 without repeating
# an address within EG_SEEN_WINDOW_NS, as a flood spoofing from the whole
# Internet looks (a repeat is what a retransmission looks like). The
# server's answers to those addresses are routed back into egr-atk, which
# does not forward them.
#
# Prints the figures of both phases (success rates, connect-time
# percentiles, share of spoofed SYNs dropped) and asserts only what is robust
# under load: in flood mode new clients get in, the verified client is not
# held back, and the flood is dropped. Never a time.
#
# Everything it creates starts with "egr-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

T=e2e_syn_retry
NS_C=egr-cli
NS_A=egr-atk
C_HOST=100.88.0.1
C_CLIENT=100.88.0.2
A_HOST=100.88.0.5
A_CLIENT=100.88.0.6
NEW_NET=100.88.1.0/24
SPOOF_NET=100.92.0.0/14

BUDGET_RATE=50
RETRY_ABOVE=200
FLOOD_PPS=10000 # per CPU: a /15 lasts 13 s, longer than the first-seen window
CPUS=$(nproc)
# Phase A (budget alone) is a measurement: few clients, short waits.
A_CLIENTS_PER=5
A_PROCS=4
A_TIMEOUT_MS=4000
A_FLOOD_S=$((A_CLIENTS_PER * A_TIMEOUT_MS / 1000 + 4))
# Phase B (flood mode): SYN retransmissions at 1 s, 3 s, 7 s fit in the timeout.
B_CLIENTS_PER=10
B_PROCS=10
B_TIMEOUT_MS=8000
B_FLOOD_S=30

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/egr-syn-retry
export EDGEGUARD_RUN_DIR=
WORK=
PIDS=()
ROUTES=()

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	exec 4>&-
	stop_pids "${PIDS[@]}"
	lab_detach egr-ch egr-ah
	for r in "${ROUTES[@]}"; do
		# shellcheck disable=SC2086
		ip route del $r 2>/dev/null
	done
	ipt_undo
	lab_remove "$NS_C" egr-ch
	lab_remove "$NS_A" egr-ah
	lab_cleanup_pins
	[ -n "$WORK" ] && rm -rf "$WORK"
	[ -n "$EDGEGUARD_RUN_DIR" ] && rm -rf "$EDGEGUARD_RUN_DIR"
}
trap cleanup EXIT
trap 'not_ok interrupted "by a signal"; exit 1' INT TERM HUP

need_files "$TOOLS/tcp_server" "$TOOLS/tcp_hold" "$TOOLS/tcp_connect" "$TOOLS/syn_flood" "$EG"
need_commands ip iptables nstat taskset flock

WORK=$(mktemp -d /tmp/egr-retry.XXXXXX)
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egr-retry-run.XXXXXX)
take_lock /tmp/egr-e2e-syn-retry.lock 120

lab_remove "$NS_C" egr-ch
lab_remove "$NS_A" egr-ah
for net in "$NEW_NET" "$SPOOF_NET"; do
	[ -z "$(ip route show "$net")" ] ||
		die setup "the root namespace already routes $net: $(ip route show "$net")"
done
PORT=$(free_port) || die setup "no free port"

# --- lab -----------------------------------------------------------------------
veth_pair --no-ipv6 --no-rp-filter egr-ch egr-cc "$NS_C" 30 "$C_HOST" "$C_CLIENT" ||
	die setup "cannot set up egr-ch/egr-cc"
veth_pair --no-ipv6 --no-rp-filter egr-ah egr-ac "$NS_A" 30 "$A_HOST" "$A_CLIENT" ||
	die setup "cannot set up egr-ah/egr-ac"
for i in $(seq 1 254); do
	echo "address add 100.88.1.$i/32 dev egr-cc"
done | ip -n "$NS_C" -batch - || die setup "cannot add the new clients' addresses"
ip route add "$NEW_NET" via "$C_CLIENT" dev egr-ch || die setup "cannot route $NEW_NET"
ROUTES+=("$NEW_NET via $C_CLIENT dev egr-ch")
ip route add "$SPOOF_NET" via "$A_CLIENT" dev egr-ah || die setup "cannot route $SPOOF_NET"
ROUTES+=("$SPOOF_NET via $A_CLIENT dev egr-ah")
[ "$(ip netns exec "$NS_A" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] ||
	die setup "$NS_A forwards packets"
ipt_accept egr-ch egr-ah
ip netns exec "$NS_A" ping -c 1 -W 2 "$A_HOST" >/dev/null 2>&1 || die setup "no ping from $NS_A"
ip netns exec "$NS_C" ping -c 1 -W 2 "$C_HOST" >/dev/null 2>&1 || die setup "no ping from $NS_C"

start_server 50 --hold --seconds 150 "$C_HOST:$PORT" "$A_HOST:$PORT" ||
	die setup "tcp_server did not start: $(cat "$WORK/server.log")"
PIDS+=("$SERVER_PID")

policy() { # policy FILE [RETRY_ABOVE]
	cat >"$1" <<EOF
{
	"comment": "e2e_syn_retry",
	"policies": [ { "name": "web", "protocol": "tcp", "port": $PORT,
			"new_source_budget": { "rate": $BUDGET_RATE, "burst": $BUDGET_RATE }${2:+,
			\"syn_retry_above\": $2} } ]
}
EOF
}
policy "$WORK/budget.json"
policy "$WORK/retry.json" "$RETRY_ABOVE"
for i in egr-ch egr-ah; do
	out=$($EG attach "$i" --policy "$WORK/budget.json" 2>&1) || die setup "attach $i: $out"
done

# --- the verified client ---------------------------------------------------------
mkfifo "$WORK/hold.in"
ip netns exec "$NS_C" "$TOOLS/tcp_hold" --count 1 --heartbeat-ms 100 --timeout-ms 2000 \
	--seconds 30 "$C_HOST:$PORT" <"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
PIDS+=($!)
exec 4>"$WORK/hold.in"
verified=0
for _ in $(seq 200); do
	verified=$(counter verified)
	((verified >= 1)) && break
	sleep 0.1
done
echo quit >&4
exec 4>&-
expect "the verified client is verified before the floods" "verified=$verified" "verified >= 1"

# --- helpers ---------------------------------------------------------------------
# flood SECONDS: one flooder per CPU, each on its own /15, in the background.
flood() {
	local cpu
	FLOODS=()
	for ((cpu = 0; cpu < CPUS; cpu++)); do
		ip netns exec "$NS_A" taskset -c "$cpu" timeout $(($1 + 10)) "$TOOLS/syn_flood" \
			--src-cidr "100.$((92 + 2 * (cpu % 2))).0.0/15" --no-repeat --dst "$A_HOST" \
			--dport "$PORT" --count $((FLOOD_PPS * $1)) --pps "$FLOOD_PPS" --seconds "$1" \
			>"$WORK/flood.$cpu" 2>&1 &
		FLOODS+=($!)
		PIDS+=($!)
	done
}
flood_sent() { cat "$WORK"/flood.* | sed -n 's/.*sent=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'; }
tx_dropped() { ip netns exec "$NS_A" cat /sys/class/net/egr-ac/statistics/tx_dropped; }
# new_clients PHASE PROCS PER TIMEOUT_MS FIRST: PROCS clients in parallel, each making PER
# attempts from its own new addresses (100.88.1.FIRST on), waited for.
new_clients() {
	local p pids=()
	for ((p = 0; p < $2; p++)); do
		ip netns exec "$NS_C" timeout 120 "$TOOLS/tcp_connect" --count "$3" --timeout-ms "$4" \
			--bind-each "100.88.1.$(($5 + p * $3))" --times "$C_HOST:$PORT" \
			>"$WORK/new.$1.$p" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	wait "${pids[@]}"
}
# percentile FILES P: the P-th percentile (nearest rank), in ms, of the connect times of
# their successful attempts (tcp_connect --times: "ok us=N at=T"), or -1.
percentile() {
	local files=$1 p=$2
	# shellcheck disable=SC2086
	sed -n 's/^ok us=\([0-9]*\) .*/\1/p' $files | awk '{ print int($1 / 1000) }' | sort -n |
		awk -v p="$p" '{ v[NR] = $1 } END { if (!NR) { print -1; exit }
			i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
sum_kv() { # sum_kv GLOB KEY
	local f s=0
	for f in $1; do s=$((s + $(kv "$f" "$2"))); done
	echo "$s"
}
snapshot() { # snapshot PREFIX: counters and kernel figures into PREFIX_*
	eval "$1_RETRY=$(counter syn_retry) $1_BUDGET=$(counter new_source_budget)"
	eval "$1_SYN=$(counter syn_seen) $1_FLOOD=$(counter syn_flood) $1_DROPS=$(tx_dropped)"
	eval "$1_CSYN=$(nstat_sum "$NS_C" TcpActiveOpens TcpRetransSegs)"
}

# --- phase A: the new-source budget alone ------------------------------------------
snapshot A0
flood "$A_FLOOD_S"
sleep 1
new_clients a "$A_PROCS" "$A_CLIENTS_PER" "$A_TIMEOUT_MS" 1
wait "${FLOODS[@]}"
snapshot A1
A_ATTEMPTS=$(sum_kv "$WORK/new.a.*" attempts)
A_OK=$(sum_kv "$WORK/new.a.*" ok)
A_SENT=$(flood_sent)
A_SEEN=$((A_SENT - (A1_DROPS - A0_DROPS)))
A_DROPPED=$((A1_BUDGET - A0_BUDGET))
echo "# phase A (budget $BUDGET_RATE/s alone), flood on $CPUS CPUs at $FLOOD_PPS pps each:" \
	"new clients ok=$A_OK of $A_ATTEMPTS, p50_ms=$(percentile "$WORK/new.a.*" 50)" \
	"p99_ms=$(percentile "$WORK/new.a.*" 99) (timeout ${A_TIMEOUT_MS} ms);" \
	"flood seen=$A_SEEN dropped_by_budget=$A_DROPPED"

# --- phase B: SYN flood mode ---------------------------------------------------------
out=$($EG policy load "$WORK/retry.json" 2>&1) || die setup "policy load: $out"
rm -f "$WORK"/flood.*
snapshot B0
flood "$B_FLOOD_S"
sleep 2
ip netns exec "$NS_C" timeout 60 "$TOOLS/tcp_connect" --count 50 --interval-ms 100 \
	--timeout-ms 2000 --times --bind "$C_CLIENT" "$C_HOST:$PORT" >"$WORK/verified.b" 2>&1 &
VPID=$!
PIDS+=("$VPID")
new_clients b "$B_PROCS" "$B_CLIENTS_PER" "$B_TIMEOUT_MS" 101
wait "$VPID"
wait "${FLOODS[@]}"
snapshot B1
B_ATTEMPTS=$(sum_kv "$WORK/new.b.*" attempts)
B_OK=$(sum_kv "$WORK/new.b.*" ok)
B_P50=$(percentile "$WORK/new.b.*" 50)
B_P99=$(percentile "$WORK/new.b.*" 99)
V_ATTEMPTS=$(kv "$WORK/verified.b" attempts)
V_OK=$(kv "$WORK/verified.b" ok)
V_P99=$(percentile "$WORK/verified.b" 99)
B_SENT=$(flood_sent)
B_SEEN=$((B_SENT - (B1_DROPS - B0_DROPS)))
# The clients' own SYNs (first ones, retransmissions, the verified client's) as their kernel
# counts them: every other drop by syn_retry or the budget was a flood SYN.
B_CSYN=$((B1_CSYN - B0_CSYN))
B_RETRY=$((B1_RETRY - B0_RETRY))
B_BUDGET=$((B1_BUDGET - B0_BUDGET))
B_FLOOD_DROPPED=$((B_RETRY + B_BUDGET - B_CSYN))
((B_FLOOD_DROPPED < 0)) && B_FLOOD_DROPPED=0
B_PERMILLE=$((B_SEEN ? 1000 * B_FLOOD_DROPPED / B_SEEN : 0))
echo "# phase B (syn_retry_above $RETRY_ABOVE, budget $BUDGET_RATE/s), flood on $CPUS CPUs at" \
	"$FLOOD_PPS pps each: new clients ok=$B_OK of $B_ATTEMPTS p50_ms=$B_P50 p99_ms=$B_P99;" \
	"verified client ok=$V_OK of $V_ATTEMPTS p99_ms=$V_P99;" \
	"flood seen=$B_SEEN dropped>=$B_FLOOD_DROPPED (${B_PERMILLE} per mille; syn_retry=$B_RETRY" \
	"budget=$B_BUDGET clients' SYNs=$B_CSYN); flood mode entered $((B1_FLOOD - B0_FLOOD)) time(s)"

# --- assertions (robust under load; the figures above are the measurement) -----------
expect "the floods were sent" "phase A sent=$A_SENT, phase B sent=$B_SENT" \
	"A_SENT > 0 && B_SENT > 0"
expect "the policy entered SYN flood mode" "syn_flood $B0_FLOOD -> $B1_FLOOD" "B1_FLOOD > B0_FLOOD"
expect "never-seen clients get in during the flood (>= 95%)" "ok=$B_OK of $B_ATTEMPTS" \
	"B_ATTEMPTS == B_PROCS * B_CLIENTS_PER && 100 * B_OK >= 95 * B_ATTEMPTS"
expect "the verified client is not held back (>= 95%)" "ok=$V_OK of $V_ATTEMPTS" \
	"V_ATTEMPTS == 50 && 100 * V_OK >= 95 * V_ATTEMPTS"
expect "the spoofed SYNs are dropped (>= 99%)" \
	"dropped>=$B_FLOOD_DROPPED of seen=$B_SEEN" "B_SEEN > 0 && 100 * B_FLOOD_DROPPED >= 99 * B_SEEN"
exit $failed

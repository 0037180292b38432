#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# make demo: a SYN flood against a WebSocket gateway protected by edgeguard,
# in a throwaway namespace lab, with a report an on-call engineer can read.
#
# The root namespace plays the protected server (edgeguard attaches to its veth
# ends); a well-behaved client lives in egd-good, the attacker in egd-atk. The
# demo keeps its own pins and run directory, so a real deployment on this host
# is never touched, and it removes everything it made, even on failure or ^C.
#
# Exit status 0 when the expected outcome happened (the good client always
# connected and the attacker was auto-banned), 1 otherwise: it doubles as a
# smoke test, but is not part of `make check`.
set -u
cd "$(dirname "$0")/.." || exit 1

EG=build/edgeguard
TOOLS=build/tools
POLICY=examples/websocket-gateway.json
PORT=4001

NS_GOOD=egd-good NS_ATK=egd-atk
SRV_GOOD_IF=egd-s-good CLI_GOOD_IF=egd-c-good
SRV_ATK_IF=egd-s-atk CLI_ATK_IF=egd-c-atk
SRV_GOOD=100.77.1.1 CLI_GOOD=100.77.1.2
SRV_ATK=100.77.2.1 CLI_ATK=100.77.2.2

# The traffic. The good client connects at exactly the policy's sustained rate
# (one every 200 ms = 5/s), so it must never be dropped; the flood is bounded
# by count and by time.
GOOD_COUNT=30 GOOD_INTERVAL_MS=200 GOOD_TIMEOUT_MS=500
FLOOD_COUNT=20000 FLOOD_PPS=4000 FLOOD_SECONDS=6

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/edgeguard-demo
export EDGEGUARD_RUN_DIR

SERVER_PID='' CLIENT_PID='' FLOOD_PID=''
WORK=
CLEANED=0

say() { printf '%s\n' "$*"; }
heading() { printf '\n== %s ==\n' "$*"; }
row() { printf '  %-26s %9s%s\n' "$1" "$2" "${3:+  $3}"; }
info() { printf '  %-26s %s\n' "$1" "$2"; }
indent() { sed 's/^/  /'; }
die() {
	say "demo: $*" >&2
	exit 1
}

# First number after "KEY": in the policy file; only for the report's header.
policy_num() {
	sed -n "s/.*\"$1\":[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$POLICY" | head -n 1
}

# A counter from `edgeguard stats --json` output held in $STATS.
counter() {
	local v

	v=$(sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9]*\).*/\1/p" <<<"$STATS")
	echo "${v:-0}"
}

kill_bg() {
	local pid

	for pid in "$@"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

# Idempotent: runs from the main flow (so its line comes before the verdict)
# and again from the EXIT trap, where it catches failures and ^C.
cleanup() {
	local problems=

	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	trap - INT TERM
	kill_bg "$FLOOD_PID" "$CLIENT_PID" "$SERVER_PID"
	FLOOD_PID='' CLIENT_PID='' SERVER_PID=''
	for ifc in "$SRV_GOOD_IF" "$SRV_ATK_IF"; do
		ip link show "$ifc" >/dev/null 2>&1 && $EG detach "$ifc" >/dev/null 2>&1
	done
	ip netns del "$NS_GOOD" 2>/dev/null
	ip netns del "$NS_ATK" 2>/dev/null
	for ifc in "$SRV_GOOD_IF" "$SRV_ATK_IF"; do
		ip link del "$ifc" 2>/dev/null
	done
	# The last detach removes the pins; this only matters if detach failed.
	if [ -d "$EDGEGUARD_BPF_DIR" ]; then
		rm -f "$EDGEGUARD_BPF_DIR"/* && rmdir "$EDGEGUARD_BPF_DIR"
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	ip netns list 2>/dev/null | grep -q '^egd-' && problems="$problems namespaces"
	ip -o link show 2>/dev/null | grep -q ': egd-' && problems="$problems links"
	[ -e "$EDGEGUARD_BPF_DIR" ] && problems="$problems pins($EDGEGUARD_BPF_DIR)"
	if [ -n "$problems" ]; then
		say "cleanup: could not remove:$problems" >&2
	else
		say "cleanup: detached, namespaces and links deleted, pins removed"
	fi
}

# --- Preconditions: nothing is created before these pass. ---
[ "$(id -u)" = 0 ] || die "needs root (it builds network namespaces and loads XDP programs)"
for f in "$EG" "$TOOLS/tcp_server" "$TOOLS/tcp_connect" "$TOOLS/syn_flood"; do
	[ -x "$f" ] || die "$f is missing: run 'make all' first"
done
[ -r "$POLICY" ] || die "$POLICY is missing"
out=$($EG policy check "$POLICY" 2>&1) || die "$out"
for ns in "$NS_GOOD" "$NS_ATK"; do
	ip netns list | grep -qw "$ns" &&
		die "namespace $ns exists: another demo is running, or one was killed (ip netns del $ns)"
done
for ifc in "$SRV_GOOD_IF" "$SRV_ATK_IF"; do
	ip link show "$ifc" >/dev/null 2>&1 &&
		die "link $ifc exists: another demo is running, or one was killed (ip link del $ifc)"
done
[ -e "$EDGEGUARD_BPF_DIR" ] &&
	die "$EDGEGUARD_BPF_DIR exists: another demo is running, or one was killed (rm -r it)"

trap cleanup EXIT
trap 'say "demo: interrupted" >&2; exit 130' INT
trap 'say "demo: terminated" >&2; exit 143' TERM

WORK=$(mktemp -d /tmp/egd-demo.XXXXXX) || die "mktemp failed"
EDGEGUARD_RUN_DIR=$WORK/run
mkdir -p "$EDGEGUARD_RUN_DIR"

syn_rate=$(sed -n 's/.*"syn":[^}]*"rate":[[:space:]]*\([0-9]*\).*/\1/p' "$POLICY" | head -n 1)
syn_burst=$(sed -n 's/.*"syn":[^}]*"burst":[[:space:]]*\([0-9]*\).*/\1/p' "$POLICY" | head -n 1)
ban_after=$(policy_num ban_after)
say "edgeguard demo: a SYN flood against a WebSocket gateway"
say "policy $POLICY, port $PORT: new connections ${syn_rate:-?}/s per source (burst ${syn_burst:-?}),"
say "auto-ban after ${ban_after:-?} drops within $(policy_num ban_window)s, for $(policy_num ban_ttl)s"

# --- The lab. ---
# $1 namespace, $2 root-side link, $3 namespace-side link, $4 server address, $5 client address
make_side() {
	ip netns add "$1" || return 1
	ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip link add "$2" type veth peer name "$3" netns "$1" || return 1
	# IPv4 only: no IPv6 neighbour discovery muddying the counters.
	sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$3.disable_ipv6=1" 2>/dev/null
	ip addr add "$4/29" dev "$2" || return 1
	ip link set "$2" up || return 1
	ip netns exec "$1" ip addr add "$5/29" dev "$3" || return 1
	ip netns exec "$1" ip link set "$3" up || return 1
	ip netns exec "$1" ip link set lo up || return 1
	# Resolves ARP now, so no flood packet waits in (or is lost from) the neighbour queue.
	ip netns exec "$1" ping -c 1 -W 2 "$4" >/dev/null 2>&1
}

make_side "$NS_GOOD" "$SRV_GOOD_IF" "$CLI_GOOD_IF" "$SRV_GOOD" "$CLI_GOOD" ||
	die "cannot build the lab ($NS_GOOD: $SRV_GOOD_IF <-> $CLI_GOOD_IF)"
make_side "$NS_ATK" "$SRV_ATK_IF" "$CLI_ATK_IF" "$SRV_ATK" "$CLI_ATK" ||
	die "cannot build the lab ($NS_ATK: $SRV_ATK_IF <-> $CLI_ATK_IF)"

"$TOOLS/tcp_server" --seconds 60 "$SRV_GOOD:$PORT" "$SRV_ATK:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
	grep -q listening "$WORK/server.log" && break
	sleep 0.1
done
grep -q listening "$WORK/server.log" || die "tcp_server did not start: $(cat "$WORK/server.log")"

for ifc in "$SRV_GOOD_IF" "$SRV_ATK_IF"; do
	out=$($EG attach "$ifc" --policy "$POLICY" 2>&1) || die "edgeguard attach $ifc failed: $out"
done

heading "Lab"
info "server (root namespace)" "$SRV_GOOD_IF $SRV_GOOD, $SRV_ATK_IF $SRV_ATK, tcp_server on :$PORT"
info "good client ($NS_GOOD)" "$CLI_GOOD: $GOOD_COUNT connects, one every ${GOOD_INTERVAL_MS} ms"
info "attacker ($NS_ATK)" "$CLI_ATK: $FLOOD_COUNT SYNs at $FLOOD_PPS/s (raw socket, random ports)"
info "edgeguard" "attached to $SRV_GOOD_IF and $SRV_ATK_IF, pins in $EDGEGUARD_BPF_DIR"

# --- The traffic: the good client starts first and keeps going through the flood. ---
heading "Traffic"
t0=$SECONDS
ip netns exec "$NS_GOOD" "$TOOLS/tcp_connect" --count "$GOOD_COUNT" \
	--interval-ms "$GOOD_INTERVAL_MS" --timeout-ms "$GOOD_TIMEOUT_MS" \
	"$SRV_GOOD:$PORT" >"$WORK/client.log" 2>&1 &
CLIENT_PID=$!
sleep 0.5
say "  flooding ($FLOOD_COUNT SYNs, at most ${FLOOD_SECONDS}s) while the good client connects..."
ip netns exec "$NS_ATK" "$TOOLS/syn_flood" --src "$CLI_ATK" --dst "$SRV_ATK" --dport "$PORT" \
	--count "$FLOOD_COUNT" --pps "$FLOOD_PPS" --seconds "$FLOOD_SECONDS" >"$WORK/flood.log" 2>&1 &
FLOOD_PID=$!
wait "$FLOOD_PID"
FLOOD_PID=
wait "$CLIENT_PID"
CLIENT_PID=
say "  done in $((SECONDS - t0))s"

# Everything the report needs, read before anything is torn down.
STATS=$($EG stats --json 2>&1) || die "edgeguard stats failed: $STATS"
BANS_TEXT=$($EG bans 2>&1) || die "edgeguard bans failed: $BANS_TEXT"
BANS_JSON=$($EG bans --json 2>&1) || die "edgeguard bans --json failed: $BANS_JSON"
STATUS_TEXT=$($EG status 2>&1) || die "edgeguard status failed: $STATUS_TEXT"
kill_bg "$SERVER_PID"
SERVER_PID=

good_ok=$(sed -n 's/.*attempts=[0-9]* ok=\([0-9]*\).*/\1/p' "$WORK/client.log")
good_ok=${good_ok:-0}
sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$WORK/flood.log")
sent=${sent:-0}
send_failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' "$WORK/flood.log")
accepted=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$WORK/server.log")

heading "Drops by reason (edgeguard stats)"
for r in syn_rate autobanned banned banned_cidr pkt_rate malformed; do
	row "$r" "$(counter "$r")"
done
row "passed" "$(counter passed)"
row "autoban" "$(counter autoban)" "(event: bans the datapath made itself)"
row "syn_seen" "$(counter syn_seen)" "(event: SYNs checked by the policy; banned ones never are)"

heading "Bans (edgeguard bans)"
indent <<<"$BANS_TEXT"

syn_drops=$(counter syn_rate)
ban_drops=$(counter autobanned) # dropped by the datapath's own ban
dropped=$((syn_drops + ban_drops))
heading "Good client $CLI_GOOD"
row "connected" "$good_ok / $GOOD_COUNT" "$((100 * good_ok / GOOD_COUNT))%"
row "accepted by tcp_server" "${accepted:-?}"

heading "Attacker $CLI_ATK"
[ "${send_failed:-0}" = 0 ] && send_failed=
row "SYNs sent" "$sent" "${send_failed:+(sends the kernel refused: $send_failed)}"
row "dropped in XDP" "$dropped" "syn_rate $syn_drops + autobanned $ban_drops"
row "reached the server" "$((sent - dropped))" "(the policy lets a burst of ${syn_burst:-?} through)"

heading "Status (edgeguard status)"
sed '/^counters:/,$d' <<<"$STATUS_TEXT" | indent

# The attacker's entry in the ban list, on one line, to check its origin.
atk_ban=$(tr -d ' \t\n' <<<"$BANS_JSON" | grep -o "{[^}]*\"address\":\"$CLI_ATK\"[^}]*}")

say ""
cleanup
if [ "$good_ok" = "$GOOD_COUNT" ] && grep -q '"origin":"auto"' <<<"$atk_ban"; then
	say "PASS: good client: $good_ok/$GOOD_COUNT connected; attacker $CLI_ATK auto-banned after $syn_drops SYN drops ($ban_drops more SYNs dropped by the ban)"
	exit 0
fi
reason=
[ "$good_ok" = "$GOOD_COUNT" ] || reason="good client only $good_ok/$GOOD_COUNT connected"
grep -q '"origin":"auto"' <<<"$atk_ban" ||
	reason="${reason:+$reason; }attacker $CLI_ATK was not auto-banned ($syn_drops SYN drops; policy bans after ${ban_after:-?})"
say "FAIL: $reason"
exit 1

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End-to-end test of the XDP datapath on real veths. The root namespace is the
# protected host: a TCP server listens on the root ends of two veth pairs and
# edgeguard is attached to both. A well-behaved client lives in namespace
# ege-good, a SYN flooder in ege-atk. With the policy
#   tcp port P: syn 5/s burst 20, ban after 20 drops in 10 s, ban ttl 600 s
# the flood must get the attacker auto-banned while every one of the good
# client's connections succeeds, and the datapath's counters must account for
# every flood packet.
#
#   192.0.2.200/30     ege-g0 (root, .201)     <-> ege-g1 (ege-good, .202)
#   198.51.100.200/30  ege-a0 (root, .201)     <-> ege-a1 (ege-atk,  .202)
#
# Everything it creates starts with "ege-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

T=e2e_datapath
NS_G=ege-good
NS_A=ege-atk
G_HOST=192.0.2.201
G_CLIENT=192.0.2.202
A_HOST=198.51.100.201
A_CLIENT=198.51.100.202

# The policy under test.
SYN_RATE=5
SYN_BURST=20
BAN_AFTER=20
BAN_WINDOW=10
BAN_TTL=600
# The traffic.
GOOD_COUNT=20
GOOD_INTERVAL_MS=300
FLOOD_COUNT=5000
FLOOD_PPS=2000
FLOOD_SECONDS=5

WORK=
PIDS=()

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	exec 3>&- # EOF tells the harness to report and detach
	stop_pids "${PIDS[@]}"
	ipt_undo
	lab_remove "$NS_G" ege-g0
	lab_remove "$NS_A" ege-a0
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'not_ok interrupted "by a signal"; exit 130' INT TERM HUP

need_files "$TOOLS/e2e_harness" "$TOOLS/tcp_server" "$TOOLS/tcp_connect" "$TOOLS/syn_flood"
need_commands ip iptables nstat ss flock

# Two runs of this test at once would fight over the same names.
WORK=$(mktemp -d /tmp/ege-e2e.XXXXXX)
take_lock /tmp/ege-e2e-datapath.lock 50

# Leftovers of an earlier run that was killed hard (the names are ours alone).
lab_remove "$NS_G" ege-g0
lab_remove "$NS_A" ege-a0
if ip -4 -o addr show | grep -v ' ege-' | grep -qE " ($G_HOST|$A_HOST)/"; then
	die setup "$G_HOST or $A_HOST is already used by another interface in the root namespace"
fi

# A port nobody listens on, so the server can bind it.
PORT=$(free_port) || die setup "no free port"

# --- topology ---------------------------------------------------------------
# One queue each way (the datapath sees the flood in order on one CPU), no
# IPv6 (no ND/MLD chatter in the counters), no reverse-path filtering.
# Only our own interfaces are touched.
veth_pair --one-queue --no-ipv6 --no-rp-filter ege-g0 ege-g1 "$NS_G" 30 "$G_HOST" "$G_CLIENT" ||
	die setup "cannot set up ege-g0/ege-g1"
veth_pair --one-queue --no-ipv6 --no-rp-filter ege-a0 ege-a1 "$NS_A" 30 "$A_HOST" "$A_CLIENT" ||
	die setup "cannot set up ege-a0/ege-a1"

# Let our traffic past the host firewall whatever its policy (rules scoped to
# our interfaces, removed on exit).
ipt_accept ege-g0 ege-a0
# A real flooder never answers the host's SYN-ACKs; without this rule the
# attacker's kernel would send RSTs that blur the packet accounting below.
ip netns exec "$NS_A" iptables -w 5 -A OUTPUT -p tcp --tcp-flags RST RST -j DROP ||
	die setup "cannot add the RST rule in $NS_A"

# --- server and datapath -----------------------------------------------------
start_server 50 --seconds 55 "$G_HOST:$PORT" "$A_HOST:$PORT" ||
	die setup "tcp_server did not start: $(cat "$WORK/server.log")"
PIDS+=("$SERVER_PID")

# The harness runs until we close fd 3 (its stdin), or 50 s at most.
mkfifo "$WORK/harness.in"
"$TOOLS/e2e_harness" --iface ege-g0 --iface ege-a0 --port "$PORT" \
	--syn-rate $SYN_RATE --syn-burst $SYN_BURST --ban-after $BAN_AFTER \
	--ban-window $BAN_WINDOW --ban-ttl $BAN_TTL --mode enforce --seconds 50 \
	<"$WORK/harness.in" >"$WORK/harness.out" 2>"$WORK/harness.err" &
HARNESS=$!
PIDS+=("$HARNESS")
exec 3>"$WORK/harness.in"
wait_for_line "$WORK/harness.out" ready $HARNESS 150 ||
	die setup "e2e_harness did not get ready: $(cat "$WORK/harness.out" "$WORK/harness.err")"
grep '^attached' "$WORK/harness.out" | sed 's/^/# /'

# "xdp" (native) or "xdpgeneric" (skb) plus a program id in ip -d link.
xdp_state() { # IFACE -> "native", "skb" or "none"
	local out
	out=$(ip -d link show dev "$1" 2>/dev/null)
	if ! grep -q 'prog/xdp id' <<<"$out"; then
		echo none
	elif grep -q ' xdpgeneric ' <<<"$out"; then
		echo skb
	else
		echo native
	fi
}
want_mode() { # IFACE -> the mode the harness reported
	sed -n "s/^attached $1 mode=//p" "$WORK/harness.out"
}
XDP_DURING=""
for i in ege-g0 ege-a0; do
	XDP_DURING+="$i=$(xdp_state "$i")/$(want_mode "$i") "
done

# --- traffic -----------------------------------------------------------------
# The good client spans the whole flood: before, during and after it.
ip netns exec "$NS_G" timeout 30 "$TOOLS/tcp_connect" --count $GOOD_COUNT \
	--interval-ms $GOOD_INTERVAL_MS --timeout-ms 1000 "$G_HOST:$PORT" \
	>"$WORK/good.out" 2>&1 &
GOOD=$!
PIDS+=("$GOOD")
sleep 1
ip netns exec "$NS_A" timeout 10 "$TOOLS/syn_flood" --src $A_CLIENT --dst $A_HOST \
	--dport "$PORT" --count $FLOOD_COUNT --pps $FLOOD_PPS --seconds $FLOOD_SECONDS \
	>"$WORK/flood.out" 2>&1
# Now banned, the attacker cannot even make one honest connection. Its SYNs
# (the first and any retransmit) are counted by its own kernel.
ip netns exec "$NS_A" timeout 10 "$TOOLS/tcp_connect" --count 1 --timeout-ms 500 \
	"$A_HOST:$PORT" >"$WORK/probe.out" 2>&1
wait $GOOD

for i in ege-g0 ege-a0; do
	XDP_DURING+="$i=$(xdp_state "$i")/$(want_mode "$i") "
done

# EOF on its stdin: the harness prints its report and detaches.
exec 3>&-
wait_until 100 gone $HARNESS
wait $HARNESS
HARNESS_RC=$?
XDP_AFTER="ege-g0=$(xdp_state ege-g0) ege-a0=$(xdp_state ege-a0)"

# --- figures -------------------------------------------------------------------
H=$WORK/harness.out
# counter NAME: from the harness's report (not lib.sh's: nothing is pinned here).
counter() { awk -F= -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$H"; }
# source ADDR policy=N packets=.. syns=.. drops=..
source_field() { # ADDR POLICY FIELD
	awk -v a="$1" -v p="policy=$2" -v f="$3" '$1 == "source" && $2 == a && $3 == p {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) v = kv[2] } }
		END { print v + 0 }' "$H"
}

GOOD_ATTEMPTS=$(kv "$WORK/good.out" attempts)
GOOD_OK=$(kv "$WORK/good.out" ok)
FLOOD_SENT=$(kv "$WORK/flood.out" sent)
FLOOD_FAILED=$(kv "$WORK/flood.out" failed)
# Packets veth dropped before our program saw them (its ring was full).
VETH_DROPS=$(ip netns exec "$NS_A" cat /sys/class/net/ege-a1/statistics/tx_dropped)
PROBE_OK=$(kv "$WORK/probe.out" ok)
PROBE_SYNS=$(nstat_sum "$NS_A" TcpActiveOpens TcpRetransSegs)
SLOT=1 # the harness's only rule
SYN_RATE_DROPS=$(counter syn_rate)
BANNED=$(counter autobanned) # the datapath's own ban
AUTOBAN=$(counter autoban)
SYN_SEEN=$(counter syn_seen)
A_SYNS=$(source_field $A_CLIENT $SLOT syns)
A_DROPS=$(source_field $A_CLIENT $SLOT drops)
G_SYNS=$(source_field $G_CLIENT $SLOT syns)
G_DROPS=$(source_field $G_CLIENT $SLOT drops)
ALL_DROPS=$(awk '$1 == "source" { split($NF, kv, "="); s += kv[2] } END { print s + 0 }' "$H")
ALL_SYNS=$(awk '$1 == "source" { split($5, kv, "="); s += kv[2] } END { print s + 0 }' "$H")
A_BAN=$(grep -E "^ban $A_CLIENT " "$H")
G_BAN=$(grep -E "^ban $G_CLIENT( |/)" "$H")
# Flood SYNs that reached the datapath, and of those the ones let through.
FLOOD_SEEN=$((FLOOD_SENT - VETH_DROPS))
A_PASSED=$((A_SYNS - A_DROPS))

echo "# port=$PORT xdp during: $XDP_DURING after: $XDP_AFTER harness exit=$HARNESS_RC"
echo "# good client: attempts=$GOOD_ATTEMPTS ok=$GOOD_OK syns=$G_SYNS drops=$G_DROPS"
echo "# flood: sent=$FLOOD_SENT failed=$FLOOD_FAILED veth_drops=$VETH_DROPS;" \
	"attacker source: syns=$A_SYNS drops=$A_DROPS passed=$A_PASSED;" \
	"probe: ok=$PROBE_OK syns=$PROBE_SYNS"
echo "# counters: $(grep -E '^[a-z_]+=[0-9]+$' "$H" | tr '\n' ' ')"
grep -E '^(ban|source) ' "$H" | sed 's/^/# /'

# --- assertions ----------------------------------------------------------------
expect "harness reported and exited cleanly" "exit status $HARNESS_RC: $(cat "$WORK/harness.err")" \
	"HARNESS_RC == 0 && $(grep -c '^syn_rate=' "$H") == 1"
# Each interface: attached twice (before and after the traffic) in the mode
# the harness reported.
if [ "$(grep -oE 'ege-(g0|a0)=(native/native|skb/skb) ' <<<"$XDP_DURING" | wc -l)" -eq 4 ]; then
	ok "XDP attached to ege-g0 and ege-a0 throughout the run (${XDP_DURING% })"
else
	not_ok "XDP attached to ege-g0 and ege-a0 throughout the run" "state/reported: $XDP_DURING"
fi
if [ "$XDP_AFTER" = "ege-g0=none ege-a0=none" ]; then
	ok "nothing attached after the harness exits"
else
	not_ok "nothing attached after the harness exits" "$XDP_AFTER"
fi

expect "every good connection succeeds" "ok=$GOOD_OK of attempts=$GOOD_ATTEMPTS" \
	"GOOD_ATTEMPTS == GOOD_COUNT && GOOD_OK == GOOD_ATTEMPTS"
expect "no good SYN dropped" "good source: syns=$G_SYNS drops=$G_DROPS" \
	"G_SYNS >= GOOD_COUNT && G_DROPS == 0"
if [ -z "$G_BAN" ]; then ok "good client not banned"; else not_ok "good client not banned" "$G_BAN"; fi

expect "flood sent in full" "sent=$FLOOD_SENT failed=$FLOOD_FAILED" \
	"FLOOD_SENT == FLOOD_COUNT && FLOOD_FAILED == 0"
expect "syn_rate drops > 0" "syn_rate=$SYN_RATE_DROPS" "SYN_RATE_DROPS > 0"
if grep -qE "^ban $A_CLIENT origin=auto policy=$SLOT trigger=syn_rate " <<<"$A_BAN"; then
	ok "attacker auto-banned ($A_BAN)"
else
	not_ok "attacker auto-banned" "ban line: '${A_BAN:-none}'"
fi
expect "exactly one auto-ban" "autoban=$AUTOBAN ban_failed=$(counter ban_failed)" \
	"AUTOBAN == 1 && $(counter ban_failed) == 0"
expect "banned drops > 0 after the ban" "banned=$BANNED" "BANNED > 0"
expect "banned attacker cannot connect" "probe ok=$PROBE_OK syns=$PROBE_SYNS" \
	"PROBE_OK == 0 && PROBE_SYNS >= 1"

# Consistency. With one veth queue the attacker's packets are handled one
# after another, so nothing races the ban:
#  - the ban lands on exactly the ban_after-th rate drop, and only the
#    attacker is ever rate-limited;
expect "syn_rate drops == ban_after == attacker's drops" \
	"syn_rate=$SYN_RATE_DROPS attacker drops=$A_DROPS all sources=$ALL_DROPS ban_after=$BAN_AFTER" \
	"SYN_RATE_DROPS == BAN_AFTER && A_DROPS == BAN_AFTER && ALL_DROPS == SYN_RATE_DROPS"
#  - every SYN the policy saw is in some source's record;
expect "syn_seen == SYNs in the source table" "syn_seen=$SYN_SEEN sources=$ALL_SYNS" \
	"SYN_SEEN == ALL_SYNS && ALL_SYNS == A_SYNS + G_SYNS"
#  - every flood SYN that reached the datapath was either seen by the policy
#    or dropped as banned, and the only other banned packets are the probe's
#    SYNs (the attacker's RSTs never leave its namespace);
expect "banned == flood SYNs after the ban + probe SYNs" \
	"banned=$BANNED flood_seen=$FLOOD_SEEN attacker_syns=$A_SYNS probe_syns=$PROBE_SYNS" \
	"BANNED == FLOOD_SEEN - A_SYNS + PROBE_SYNS"
#  - the flood got through only its burst: the bucket refills at 5/s, and the
#    burst_after+ban_after SYNs before the ban take (40 / 2000 pps) 20 ms, a
#    tenth of one refill. Allowing 2 refilled tokens tolerates the flooder
#    being stalled twenty-fold before the ban. So the dropped SYNs
#    (syn_rate + banned flood SYNs) are flood - burst, within 2.
FLOOD_DROPPED=$((SYN_RATE_DROPS + BANNED - PROBE_SYNS))
expect "dropped flood SYNs == flood - burst (tolerance 2)" \
	"dropped=$FLOOD_DROPPED flood_seen=$FLOOD_SEEN attacker passed=$A_PASSED burst=$SYN_BURST" \
	"A_PASSED >= SYN_BURST && A_PASSED <= SYN_BURST + 2 && FLOOD_DROPPED == FLOOD_SEEN - A_PASSED"

exit $failed

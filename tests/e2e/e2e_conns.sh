#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: the per-source connection cap (max_conns) with real TCP, driven
# through the CLI. The root namespace is the protected host: a server that
# holds every connection open (tcp_server --hold, echoing what it gets) on
# egf-ch, where `edgeguard attach` puts XDP and the TC egress program. Two
# clients share namespace egf-conns, as two addresses:
#
#   100.79.0.0/29   egf-ch (root, .1)  <->  egf-cc (egf-conns, .2 = A, .3 = B)
#
# Policy: tcp port P, max_conns 10, connections.idle_timeout 3 s. The holders
# (tcp_hold) send a heartbeat byte every 300 ms that the server echoes, so a
# held flow is never idle until its holder stops.
#
# Everything it creates starts with "egf-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

T=e2e_conns
NS=egf-conns
HOST_IF=egf-ch
CLI_IF=egf-cc
HOST=100.79.0.1
CA=100.79.0.2
CB=100.79.0.3
MAX_CONNS=10
IDLE_S=3
BEAT_MS=300
CONNECT_MS=1500

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/edgeguard-test-conns
export EDGEGUARD_RUN_DIR=
WORK=
SERVER_PID=
HOLDERS=()

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	exec 4>&- 5>&- 6>&-
	stop_pids "${HOLDERS[@]}" "$SERVER_PID"
	lab_detach "$HOST_IF"
	ipt_undo
	lab_remove "$NS" "$HOST_IF"
	lab_cleanup_pins
	[ -n "$WORK" ] && rm -rf "$WORK"
	[ -n "$EDGEGUARD_RUN_DIR" ] && rm -rf "$EDGEGUARD_RUN_DIR"
}
trap cleanup EXIT
trap 'not_ok interrupted "by a signal"; exit 1' INT TERM HUP

need_files "$TOOLS/tcp_server" "$TOOLS/tcp_hold" "$EG"
need_commands ip iptables ss flock

WORK=$(mktemp -d /tmp/egf-conns.XXXXXX)
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egf-conns-run.XXXXXX)
# Two runs of this test at once would fight over the same names.
take_lock /tmp/egf-e2e-conns.lock 80

# Leftovers of an earlier run that was killed hard (the names are ours alone).
lab_remove "$NS" "$HOST_IF"

PORT=$(free_port) || die setup "no free port"

# --- lab -----------------------------------------------------------------------
# One queue each way: a client's FIN and its next SYN reach XDP in order.
veth_pair --one-queue --no-ipv6 "$HOST_IF" "$CLI_IF" "$NS" 29 "$HOST" "$CA" "$CB" ||
	die setup "cannot set up $HOST_IF/$CLI_IF"
# Let our traffic past the host firewall whatever its policy.
ipt_accept "$HOST_IF"

start_server 50 --hold --seconds 85 "$HOST:$PORT" ||
	die setup "tcp_server did not start: $(cat "$WORK/server.log")"

cat >"$WORK/policy.json" <<EOF
{
	"comment": "e2e_conns: a connection cap with a short idle timeout",
	"connections": { "idle_timeout": $IDLE_S },
	"policies": [ { "name": "capped", "protocol": "tcp", "port": $PORT, "max_conns": $MAX_CONNS } ]
}
EOF
out=$($EG attach "$HOST_IF" --policy "$WORK/policy.json" 2>&1) ||
	die setup "edgeguard attach failed: $out"

# --- helpers ---------------------------------------------------------------------
field() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"; } # LINE KEY

# start_holder NAME FD SRC: a tcp_hold in the client namespace, driven via fd FD.
start_holder() {
	mkfifo "$WORK/$1.in"
	ip netns exec "$NS" "$TOOLS/tcp_hold" --bind "$3" --heartbeat-ms $BEAT_MS \
		--timeout-ms $CONNECT_MS --seconds 80 "$HOST:$PORT" \
		<"$WORK/$1.in" >"$WORK/$1.out" 2>&1 &
	HOLDERS+=("$!")
	eval "exec $2>\"\$WORK/\$1.in\""
}

# ask NAME FD COMMAND: sends COMMAND, prints the holder's answer line.
ask() {
	local word=${3%% *} n
	n=$(grep -c "^$word " "$WORK/$1.out")
	echo "$3" >&"$2" || return 1
	for _ in $(seq 300); do
		if [ "$(grep -c "^$word " "$WORK/$1.out")" -gt "$n" ]; then
			grep "^$word " "$WORK/$1.out" | tail -1
			return 0
		fi
		sleep 0.1
	done
	echo "(no answer to '$3')"
	return 1
}

# server_holds SRC: established connections the server has with SRC.
server_holds() { ss -Htn state established "( sport = :$PORT and dst $1 )" | wc -l; }

# --- the cap -----------------------------------------------------------------------
start_holder a 4 "$CA"
A=$(ask a 4 "open $MAX_CONNS")
expect "client A opens max_conns=$MAX_CONNS connections" "$A" \
	"$(field "$A" ok)+0 == MAX_CONNS && $(field "$A" failed)+0 == 0"
opened=$(counter flow_opened)
expect "a flow is tracked per connection" "flow_opened=$opened" "opened == MAX_CONNS"

# Longer than the idle timeout: heartbeats keep every flow alive.
sleep $((IDLE_S + 1))
A=$(ask a 4 status)
reaped=$(counter flow_reaped)
expect "A's connections stay open past the idle timeout while in use" "$A flow_reaped=$reaped" \
	"$(field "$A" alive)+0 == MAX_CONNS && $(field "$A" echoed)+0 > 0 && reaped == 0"

limit0=$(counter conn_limit)
A=$(ask a 4 "open 1")
limit1=$(counter conn_limit)
expect "A's 11th connection is refused" "$A" "$(field "$A" ok)+0 == 0 && $(field "$A" failed)+0 == 1"
expect "conn_limit counter moved" "conn_limit $limit0 -> $limit1" "limit1 > limit0"
A=$(ask a 4 status)
expect "A's ten connections are untouched by the refusal" "$A" "$(field "$A" alive)+0 == MAX_CONNS"

closed0=$(counter flow_closed)
A=$(ask a 4 "close 1")
A=$(ask a 4 "open 1")
closed1=$(counter flow_closed)
expect "closing one lets a new one in" "$A flow_closed $closed0 -> $closed1" \
	"$(field "$A" ok)+0 == 1 && $(field "$A" held)+0 == MAX_CONNS && closed1 > closed0"
A=$(ask a 4 "open 1")
expect "and A is at the cap again" "$A" "$(field "$A" ok)+0 == 0"

start_holder b 5 "$CB"
B=$(ask b 5 "open $MAX_CONNS")
expect "client B is unaffected by A's cap" "$B" \
	"$(field "$B" ok)+0 == MAX_CONNS && $(field "$B" failed)+0 == 0"

# --- A vanishes without a FIN or RST reaching the server ---------------------------
A=$(ask a 4 quiet)
expect "A's last heartbeat was echoed before it goes" "$A" "$(field "$A" pending)+0 == 0"
for flag in FIN RST; do
	ip netns exec "$NS" iptables -w 5 -A OUTPUT -s "$CA" -p tcp --tcp-flags $flag $flag -j DROP ||
		die setup "cannot add the $flag rule in $NS"
done
reaped0=$(counter flow_reaped)
kill -KILL "${HOLDERS[0]}" 2>/dev/null
wait "${HOLDERS[0]}" 2>/dev/null
exec 4>&-
held=$(server_holds "$CA")
expect "the server still holds A's connections (it saw no FIN)" "server has $held with $CA" \
	"held == MAX_CONNS"

# The idle timer fires IDLE_S after the server last sent; allow a loaded
# machine up to 30 s more.
reaped1=$reaped0
for _ in $(seq 300); do
	reaped1=$(counter flow_reaped)
	((reaped1 - reaped0 >= MAX_CONNS)) && break
	sleep 0.1
done
expect "A's silent flows are reaped after the idle timeout" \
	"flow_reaped $reaped0 -> $reaped1, want +$MAX_CONNS" "reaped1 - reaped0 == MAX_CONNS"
B=$(ask b 5 status)
reaped2=$(counter flow_reaped)
expect "B's busy flows are not reaped" "$B flow_reaped=$reaped2" \
	"$(field "$B" alive)+0 == MAX_CONNS && reaped2 == reaped1"
held=$(server_holds "$CA")
expect "while the server still holds A's old sockets" "server has $held with $CA" \
	"held == MAX_CONNS"

start_holder a2 6 "$CA"
A=$(ask a2 6 "open $MAX_CONNS")
expect "A can open max_conns connections again" "$A" \
	"$(field "$A" ok)+0 == MAX_CONNS && $(field "$A" failed)+0 == 0"
limit0=$(counter conn_limit)
A=$(ask a2 6 "open 1")
limit1=$(counter conn_limit)
expect "and the cap still holds after the recovery" "$A conn_limit $limit0 -> $limit1" \
	"$(field "$A" ok)+0 == 0 && limit1 > limit0"

reaped=$(counter flow_reaped)
expect "only A's abandoned flows were ever reaped" "flow_reaped=$reaped, want $MAX_CONNS" \
	"reaped == MAX_CONNS"

echo "# port=$PORT counters: $($EG stats --json | tr -d '\n\t ' )"
exit $failed

# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Helpers shared by the end-to-end scripts (tests/e2e/e2e_*.sh), which source
# it and then cd to the top of the tree:
#   . "$(dirname "$0")/lib.sh"
#   cd "$EG_TOP"
# Nothing runs at source time but setting the paths below. The helpers read
# the script's own variables where they need them: NS, WORK, STATE, EVENTS,
# DAEMON_PID, EDGEGUARD_BPF_DIR; T (optional) prefixes case names.

# EDGEGUARD_BUILD: the build directory whose binaries the scripts run, relative
# to the top of the tree or absolute: build, or build-san (make check-sanitize).
EDGEGUARD_BUILD=${EDGEGUARD_BUILD:-build}
EG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $EDGEGUARD_BUILD in
/*) EG_BUILD_DIR=$EDGEGUARD_BUILD ;;
*) EG_BUILD_DIR=$EG_TOP/$EDGEGUARD_BUILD ;;
esac
EG=$EG_BUILD_DIR/edgeguard       # the CLI
EGD=$EG_BUILD_DIR/edgeguardd     # the daemon
TOOLS=$EG_BUILD_DIR/tools        # tests/tools/*.c: clients, servers, floods

# lab_dirs PINS TMP: this script's own pin directory /sys/fs/bpf/PINS, and
# fresh /tmp/TMP-run.* (EDGEGUARD_RUN_DIR) and /tmp/TMP-work.* (WORK, holding
# the daemon's STATE directory and EVENTS log). lab_dirs_remove undoes it.
lab_dirs() {
	export EDGEGUARD_BPF_DIR=/sys/fs/bpf/$1
	export EDGEGUARD_RUN_DIR
	EDGEGUARD_RUN_DIR=$(mktemp -d "/tmp/$2-run.XXXXXX") || exit 1
	WORK=$(mktemp -d "/tmp/$2-work.XXXXXX") || exit 1
	STATE=$WORK/state
	EVENTS=$WORK/events.jsonl
}

lab_dirs_remove() { rm -rf "$EDGEGUARD_RUN_DIR" "$WORK"; }

# --- reporting -------------------------------------------------------------------
failed=0
# ok NAME: one passed case.
ok() { echo "ok - ${T:+$T: }$1"; }
# not_ok NAME WHY: one failed case; the script may end with `exit $failed`.
not_ok() { echo "not ok - ${T:+$T: }$1: $2"; failed=1; }
# fail NAME WHY: the same as not_ok.
fail() { not_ok "$@"; }
# die NAME WHY: a failed setup step; nothing after it would mean anything.
die() { not_ok "$1" "$2"; exit 1; }
# check_why NAME WHY COMMAND...: the command's success is the assertion (its output is not).
check_why() {
	local name=$1 why=$2; shift 2
	if "$@" >/dev/null; then ok "$name"; else fail "$name" "$why"; fi
}
# check NAME COMMAND...: check_why, the command itself as the reason.
check() {
	local name=$1; shift
	check_why "$name" "'$*' failed" "$@"
}
# check_eq NAME GOT WANT: GOT is not empty and equals WANT.
check_eq() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# expect NAME WHY ARITHMETIC-EXPRESSION
expect() { if (($3)); then ok "$1"; else not_ok "$1" "$2"; fi; }

# --- waiting and processes ---------------------------------------------------------
# wait_until TENTHS COMMAND...: polls the command every 0.1 s, TENTHS times at most.
wait_until() {
	local n=$1; shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# wait_for_line FILE LINE PID TENTHS: FILE has the line LINE, while PID lives.
wait_for_line() {
	for _ in $(seq "$4"); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# gone PID: the process has exited.
gone() { ! kill -0 "$1" 2>/dev/null; }
# stop_pids PID...: TERM all, KILL what is left after 3 s each at most (empty PIDs skipped).
stop_pids() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		wait_until 30 gone "$pid"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}
# stop_pid PID: stop_pids for one.
stop_pid() { stop_pids "$1"; }
# free_port: a TCP port no socket uses now (random, so concurrent runs do not
# collide), below the kernel's ephemeral range when there is room, so an
# outgoing connection made meanwhile cannot take it before the server binds.
free_port() {
	local p lo hi=60000
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=0
	[ "${lo:-0}" -gt 21000 ] && hi=$((lo - 1))
	for _ in $(seq 50); do
		p=$(shuf -i "20000-$hi" -n 1)
		# 26400-26599: the fleet and import tests' fixed Redis and server ports.
		[ "$p" -ge 26400 ] && [ "$p" -le 26599 ] && continue
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
# need_files FILE...: each is an executable, or the setup fails.
need_files() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || die setup "$f is missing: run make all"
	done
}
# need_commands CMD...: each is installed, or the setup fails.
need_commands() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die setup "$c is not installed"
	done
}
# take_lock FILE SECONDS: one run of this test at a time (fd 9 holds the lock).
take_lock() {
	exec 9>"$1"
	flock -w "$2" 9 || die setup "another run of this test holds $1"
}

# --- the lab -------------------------------------------------------------------------
# in_ns COMMAND...: runs it in the client namespace $NS.
in_ns() { ip netns exec "$NS" "$@"; }
# veth_pair [--one-queue] [--no-ipv6] [--no-rp-filter] ROOT-IF PEER-IF NS PREFIX HOST-ADDR CLIENT-ADDR...:
# namespace NS and a veth ROOT-IF (root namespace) <-> PEER-IF (in NS), with
# HOST-ADDR/PREFIX on ROOT-IF and each CLIENT-ADDR/PREFIX on PEER-IF; both
# ends and NS's lo up. The options: one queue each way (a flow reaches XDP
# in order on one CPU); no IPv6 on either end (no ND/MLD in the counters);
# no reverse-path filter on either end.
veth_pair() {
	local q=() v6=0 rp=0 a
	while :; do
		case $1 in
		--one-queue) q=(numtxqueues 1 numrxqueues 1) ;;
		--no-ipv6) v6=1 ;;
		--no-rp-filter) rp=1 ;;
		*) break ;;
		esac
		shift
	done
	local root=$1 peer=$2 ns=$3 len=$4 host=$5
	shift 5
	# The names belong to this script: a leftover of a run that was killed
	# before its trap ran would otherwise fail the setup.
	if [ -e "/run/netns/$ns" ] || ip link show "$root" >/dev/null 2>&1; then
		echo "# removing a leftover lab: $ns, $root" >&2
		lab_remove "$ns" "$root"
	fi
	ip netns add "$ns" || return 1
	ip link add "$root" "${q[@]}" type veth peer name "$peer" "${q[@]}" netns "$ns" || return 1
	if [ "$v6" = 1 ]; then
		sysctl -qw "net.ipv6.conf.$root.disable_ipv6=1" >/dev/null &&
			ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1" >/dev/null ||
			return 1
	fi
	if [ "$rp" = 1 ]; then
		sysctl -qw "net.ipv4.conf.$root.rp_filter=0" >/dev/null &&
			ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$peer.rp_filter=0" >/dev/null ||
			return 1
	fi
	ip addr add "$host/$len" dev "$root" && ip link set "$root" up || return 1
	for a in "$@"; do
		ip -n "$ns" addr add "$a/$len" dev "$peer" || return 1
	done
	ip -n "$ns" link set "$peer" up && ip -n "$ns" link set lo up
}
# lab_remove NS ROOT-IF: deletes the namespace and the veth's root end (either may be gone).
lab_remove() {
	ip netns del "$1" 2>/dev/null
	ip link del "$2" 2>/dev/null
	return 0
}
# lab_detach IFACE...: `edgeguard detach` from each interface that still exists.
lab_detach() {
	local i
	for i in "$@"; do
		ip link show "$i" >/dev/null 2>&1 && $EG detach "$i" >/dev/null 2>&1
	done
	return 0
}
# lab_cleanup_pins: removes this test's pin directory, $EDGEGUARD_BPF_DIR, if left.
lab_cleanup_pins() {
	if [ -d "$EDGEGUARD_BPF_DIR" ]; then
		rm -f "$EDGEGUARD_BPF_DIR"/* && rmdir "$EDGEGUARD_BPF_DIR"
	fi
	return 0
}
# lab_teardown NS ROOT-IF: lab_detach, lab_remove and lab_cleanup_pins for a one-link lab.
lab_teardown() {
	lab_detach "$2"
	lab_remove "$1" "$2"
	lab_cleanup_pins
}
# IPT_RULES: the host firewall rules ipt_accept inserted, for ipt_undo.
IPT_RULES=()
# ipt_accept IFACE...: lets traffic in and out of each interface past the host firewall.
ipt_accept() {
	local i rule
	for i in "$@"; do
		for rule in "INPUT -i $i -j ACCEPT" "OUTPUT -o $i -j ACCEPT"; do
			# shellcheck disable=SC2086
			iptables -w 5 -I $rule || die setup "iptables -I $rule failed"
			IPT_RULES+=("$rule")
		done
	done
}
# ipt_undo: deletes the rules ipt_accept inserted.
ipt_undo() {
	local rule
	for rule in "${IPT_RULES[@]}"; do
		# shellcheck disable=SC2086
		iptables -w 5 -D $rule 2>/dev/null
	done
	IPT_RULES=()
}
SERVER_PID=
# start_server TENTHS ARGS...: $TOOLS/tcp_server ARGS in the background
# (output in $WORK/server.log, pid in SERVER_PID), waited for until it listens.
start_server() {
	local n=$1; shift
	"$TOOLS/tcp_server" "$@" >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for_line "$WORK/server.log" listening "$SERVER_PID" "$n"
}

# stop_server: SIGTERM to the start_server process, if any, and reap it.
stop_server() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	return 0
}

# --- traffic and counters --------------------------------------------------------------
# CONNECT_TIMEOUT_MS: how long connects gives its one attempt (the script may set it).
CONNECT_TIMEOUT_MS=1000
# connects ADDR:PORT [SRC]: one TCP connection from $NS (bound to SRC) succeeds.
connects() {
	in_ns "$TOOLS/tcp_connect" --count 1 --timeout-ms "$CONNECT_TIMEOUT_MS" ${2:+--bind "$2"} \
		"$1" >/dev/null 2>&1
}
# refused ADDR:PORT [SRC]: that connection fails.
refused() { ! connects "$@"; }
# counter NAME: the global datapath counter from `edgeguard stats --json`.
counter() { $EG stats --json 2>/dev/null | jq -r --arg c "$1" '.[$c] // empty'; }
# kv FILE KEY: KEY=VALUE from the last line of a tool's summary that has it (0 when absent).
kv() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" "$1" | tail -1 | awk '{ print $1 + 0 }'; }
# nstat_sum NS COUNTER...: the sum of those kernel counters in namespace NS.
nstat_sum() {
	local ns=$1; shift
	ip netns exec "$ns" nstat -asz "$@" 2>/dev/null | awk '$1 !~ /^#/ { s += $2 } END { print s + 0 }'
}
# ban_of ADDRESS: its object in `edgeguard bans --json`, on one line (empty when absent).
ban_of() { $EG bans --json | jq -c --arg a "$1" '.[] | select(.address == $a)'; }
# ttl_of ADDRESS: its expires_in (null when permanent, empty when not banned).
ttl_of() { ban_of "$1" | jq -r '.expires_in'; }
# policy_hash: the hash of the policy in force, from `edgeguard status --json`.
policy_hash() { $EG status --json | jq -r '.policy.hash // empty'; }

# --- the daemon -----------------------------------------------------------------------
# event_seen TEXT: the daemon's event file has TEXT.
event_seen() { grep -qF -- "$1" "$EVENTS" 2>/dev/null; }
# wait_for TEXT: polls the event file for TEXT, at most 10 s.
wait_for() { wait_until 100 event_seen "$1"; }
# DAEMON_ARGS: options every start_daemon of the script passes (it may set them).
DAEMON_ARGS=()
DAEMON_PID=
# start_daemon ARGS...: edgeguardd in the background on $STATE and $EVENTS;
# started = its "start" line (written after its restore) is in the event file.
start_daemon() {
	$EGD --state-dir "$STATE" --events "$EVENTS" --interval-ms 200 "${DAEMON_ARGS[@]}" "$@" \
		2>>"$WORK/daemon.err" &
	DAEMON_PID=$!
	wait_for "\"event\":\"start\",\"pid\":$DAEMON_PID"
}
# reap_daemon TENTHS: waits (bounded) for the daemon to exit by itself; its exit status.
reap_daemon() {
	local rc
	wait_until "$1" gone "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	rc=$?
	DAEMON_PID=
	return $rc
}
# stop_daemon [TENTHS]: SIGTERM, then reap_daemon (5 s unless said).
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	reap_daemon "${1:-50}"
}
# kill_daemon: kill -9 the daemon, if any, and reap it (no "Killed" line from bash).
kill_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	{ kill -9 "$DAEMON_PID"; wait "$DAEMON_PID"; } 2>/dev/null
	DAEMON_PID=
	return 0
}

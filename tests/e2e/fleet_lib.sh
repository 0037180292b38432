# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Helpers of the fleet tests (e2e_fleet*.sh), sourced after lib.sh: several
# edge hosts on one machine, each its own lab (namespace egs-X with a client,
# veth egs-X0 in the root namespace protected by edgeguard), its own pins
# (/sys/fs/bpf/egs-X), run directory and daemon, and a real redis-server (and
# redis-sentinel) started here on 127.0.0.1 ports 26400-26499.
#
# A host is a letter; host N's addresses: 10.213.N.1 (the host), 10.213.N.2
# and 10.213.N.3 (its client). The script sets FLEET_PORT (the TCP server's
# port) and FLEET_TMP (its temporary directory) before fleet_host.

declare -A H_IDX H_RUN H_PID H_METRICS
REDIS_PIDS=()

# host_addr X I: address I (1 host, 2 and 3 client) of host X.
host_addr() { echo "10.213.${H_IDX[$1]}.$2"; }

# fleet_host X N METRICS-PORT: sets up host X (lab number N) and attaches edgeguard.
fleet_host() {
	local x=$1 n=$2
	H_IDX[$x]=$n
	H_METRICS[$x]=$3
	H_RUN[$x]=$(mktemp -d "$FLEET_TMP/run-$x.XXXXXX") || return 1
	mkdir -p "$FLEET_TMP/$x"
	veth_pair "egs-${x}0" "egs-${x}1" "egs-$x" 24 "$(host_addr "$x" 1)" \
		"$(host_addr "$x" 2)" "$(host_addr "$x" 3)" || return 1
	on "$x" "$EG" attach "egs-${x}0" >/dev/null
}

# on X COMMAND...: runs the command as host X (its pins and run directory).
on() {
	local x=$1; shift
	EDGEGUARD_BPF_DIR=/sys/fs/bpf/egs-$x EDGEGUARD_RUN_DIR=${H_RUN[$x]} "$@"
}

# events_of X: host X's event file.
events_of() { echo "$FLEET_TMP/$1/events.jsonl"; }
# seen_on X TEXT: host X logged an event line with TEXT.
seen_on() { grep -qF -- "$2" "$(events_of "$1")" 2>/dev/null; }
# count_on X TEXT: how many of host X's event lines have TEXT.
count_on() { grep -cF -- "$2" "$(events_of "$1")" 2>/dev/null; }

# start_host X ARGS...: edgeguardd of host X with ARGS (the fleet options),
# waited for until it logged its start.
start_host() {
	local x=$1; shift
	EDGEGUARD_RUN_DIR=${H_RUN[$x]} "$EGD" --pin-dir "/sys/fs/bpf/egs-$x" \
		--state-dir "$FLEET_TMP/$x/state" --events "$(events_of "$x")" --interval-ms 200 \
		--metrics-listen "127.0.0.1:${H_METRICS[$x]}" --fleet-host "edge-$x" "$@" \
		2>>"$FLEET_TMP/$x/daemon.err" &
	H_PID[$x]=$!
	wait_until 100 seen_on "$x" "\"event\":\"start\",\"pid\":${H_PID[$x]}"
}

# stop_host X: SIGTERM to host X's daemon, reaped (KILL after 5 s).
stop_host() {
	[ -n "${H_PID[$1]:-}" ] && stop_pids "${H_PID[$1]}"
	H_PID[$1]=
	return 0
}

# remove_host X: its daemon, lab and pins gone.
remove_host() {
	stop_host "$1"
	on "$1" lab_detach "egs-${1}0"
	lab_remove "egs-$1" "egs-${1}0"
	if [ -d "/sys/fs/bpf/egs-$1" ]; then
		rm -f "/sys/fs/bpf/egs-$1"/* && rmdir "/sys/fs/bpf/egs-$1"
	fi
	return 0
}

# client_gets_in X [I]: host X's client (address I, default 2) connects to X.
client_gets_in() {
	ip netns exec "egs-$1" "$TOOLS/tcp_connect" --count 1 --timeout-ms 1000 \
		--bind "$(host_addr "$1" "${2:-2}")" "$(host_addr "$1" 1):$FLEET_PORT" >/dev/null 2>&1
}
client_kept_out() { ! client_gets_in "$@"; }

# ban_on X ADDRESS: its object in host X's `edgeguard bans --json` (empty when absent).
ban_on() { on "$1" "$EG" bans --json | jq -c --arg a "$2" '.[] | select(.address == $a)'; }
has_ban() { [ -n "$(ban_on "$1" "$2")" ]; }
no_ban() { [ -z "$(ban_on "$1" "$2")" ]; }
# field_of X ADDRESS FIELD: one field of that ban.
field_of() { ban_on "$1" "$2" | jq -r ".$3"; }

# metric_of X NAME-WITH-LABELS: the value of one sample on host X's /metrics.
metric_of() {
	curl -s --max-time 5 "http://127.0.0.1:${H_METRICS[$1]}/metrics" |
		awk -v n="$2" '$1 == n { print $2 }'
}

# without_inherited_fds COMMAND...: execs COMMAND with only stdin, stdout and
# stderr open, so a Redis outliving a script killed hard holds none of the
# caller's descriptors (the lab lock flock(1) passes down).
without_inherited_fds() {
	local fd
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec "$@"
}

# start_redis PORT DIR [ARGS...]: a redis-server of our own on 127.0.0.1:PORT,
# no persistence, its files in DIR (pid in REDIS_LAST); waited for until it answers.
start_redis() {
	local port=$1 dir=$2; shift 2
	mkdir -p "$dir"
	without_inherited_fds redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
		--daemonize no --logfile "$dir/redis.log" "$@" &
	REDIS_LAST=$!
	REDIS_PIDS+=("$REDIS_LAST")
	wait_until 50 rcli "$port" PING
}

# rcli PORT ARGS...: redis-cli against our server, quiet; succeeds when it answers.
rcli() {
	local port=$1; shift
	redis-cli -h 127.0.0.1 -p "$port" "$@" >/dev/null 2>&1
}
# rget PORT ARGS...: redis-cli's answer.
rget() {
	local port=$1; shift
	redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# stop_redises: every redis process this script started, killed.
stop_redises() {
	local p
	for p in "${REDIS_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	REDIS_PIDS=()
	return 0
}

# start_sentinel PORT DIR MASTER-NAME MASTER-PORT: a redis-sentinel of our own on
# 127.0.0.1:PORT watching MASTER-PORT (quorum 2, down after 1 s), waited for.
start_sentinel() {
	local port=$1 dir=$2
	mkdir -p "$dir"
	cat >"$dir/sentinel.conf" <<-CONF
	port $port
	bind 127.0.0.1
	dir $dir
	logfile $dir/sentinel.log
	sentinel monitor $3 127.0.0.1 $4 2
	sentinel down-after-milliseconds $3 1000
	sentinel failover-timeout $3 10000
	sentinel parallel-syncs $3 1
	CONF
	without_inherited_fds redis-sentinel "$dir/sentinel.conf" &
	REDIS_LAST=$!
	REDIS_PIDS+=("$REDIS_LAST")
	wait_until 50 rcli "$port" PING
}

# fleet_begin NAME: FLEET_TMP (/tmp/egs-NAME.*), FLEET_PORT, and the trap that
# removes, even on failure, every host set up, the TCP server and Redis.
fleet_begin() {
	FLEET_TMP=$(mktemp -d "/tmp/egs-$1.XXXXXX") || exit 1
	FLEET_PORT=$(free_port) || exit 1
	FLEET_SERVER=
	trap fleet_cleanup EXIT
	trap "exit 1" INT TERM
}
fleet_cleanup() {
	local x
	for x in "${!H_IDX[@]}"; do remove_host "$x"; done
	[ -n "$FLEET_SERVER" ] && kill "$FLEET_SERVER" 2>/dev/null && wait "$FLEET_SERVER" 2>/dev/null
	stop_redises
	rm -rf "$FLEET_TMP"
}
# fleet_server: the TCP server every host's client connects to (port FLEET_PORT),
# waited for; fails naming what it said.
fleet_server() {
	"$TOOLS/tcp_server" --seconds 300 "0.0.0.0:$FLEET_PORT" >"$FLEET_TMP/server.log" 2>&1 &
	FLEET_SERVER=$!
	wait_until 100 grep -qx listening "$FLEET_TMP/server.log" && return 0
	echo "# tcp_server on port $FLEET_PORT: $(head -c 300 "$FLEET_TMP/server.log")"
	return 1
}

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# `make bench-flood`: what a SYN flood costs the CPU that receives it, under
# no filter, the runbooks' iptables and nftables hot-fixes, a bare XDP_DROP
# and edgeguard, for four source mixes; what each actually dropped; and
# whether good clients still got in. A benchmark: it prints figures and
# fails only when it could not measure.
#
#   bench/flood/run.sh [--smoke] [--reps N] [--pps N] [--out DIR]
#
# The network is in lab.sh, the configurations in configs.sh, the flood,
# clients and counters in measure.sh, the tables and the plot in report.sh.
# Per repetition and source mix, one flood runs while every configuration is
# applied in turn, settles, is measured twice (measure.sh: its cost with the
# flood at full speed, then the attack at --pps) and is removed; repetitions
# interleave the configurations, and the report takes the median and the
# spread over them. --smoke: one short repetition (`make check`).
#
# Results (samples.tsv, results.tsv, table.md, flood.png) go to --out
# (build/bench/flood/results). Needs root; everything it creates is named
# egfl-* and removed on exit, also when interrupted. Bounded: about 4
# minutes by default, under 1 in smoke mode.
set -u
export LC_ALL=C # "1.5", not "1,5", for sleep, awk and $EPOCHREALTIME
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh # stop_pids, free_port, start_server, wait_for_line
# shellcheck source=bench/flood/lab.sh
. bench/flood/lab.sh
# shellcheck source=bench/flood/configs.sh
. bench/flood/configs.sh
# shellcheck source=bench/flood/measure.sh
. bench/flood/measure.sh
# shellcheck source=bench/flood/report.sh
. bench/flood/report.sh

REPS=3
SETTLE=0.2       # seconds between applying a configuration and measuring it
COST_WINDOW=0.3  # seconds measured at full speed (a hundred thousand packets or more)
SWITCH=0.1       # seconds between slowing the flood down and measuring again
LOAD_WINDOW=0.7  # seconds measured at --pps (good clients: about 22 attempts)
# The attack of the "load" windows: 1M SYN/s is more than this kernel's stack
# answers on one CPU and less than the XDP paths drop, so the tables show
# which configurations keep up and which do not.
PPS=1000000
# EG and TOOLS come from tests/e2e/lib.sh: the binaries of EDGEGUARD_BUILD
# (build, or build-san when tests/run.sh runs the sanitized suite).
OUT=$EG_BUILD_DIR/bench/flood/results
FLOOD_BIN=$EG_BUILD_DIR/bench/flood
export EDGEGUARD_BPF_DIR=/sys/fs/bpf/edgeguard-bench-flood
export EDGEGUARD_RUN_DIR=
WORK=

fatal() {
	echo "bench-flood: $*" >&2
	exit 1
}

usage() {
	echo "usage: bench/flood/run.sh [--smoke] [--reps N] [--pps N] [--out DIR]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) REPS=1 SETTLE=0.1 COST_WINDOW=0.15 SWITCH=0.05 LOAD_WINDOW=0.2 ;;
	--reps) REPS=${2:-}; shift ;;
	--pps) PPS=${2:-}; shift ;;
	--out) OUT=${2:-}; shift ;;
	*) usage ;;
	esac
	shift
done
[[ "$REPS" =~ ^[1-9]$ ]] || fatal "--reps: 1 to 9"
[[ "$PPS" =~ ^[1-9][0-9]{0,7}$ ]] || fatal "--pps: 1 to 99999999 packets per second"
[ -n "$OUT" ] || usage

[ "$(id -u)" -eq 0 ] || fatal "needs root (namespaces, XDP, iptables)"
for f in "$EG" "$TOOLS/tcp_server" "$TOOLS/tcp_connect" "$FLOOD_BIN/flood_gen" \
	"$FLOOD_BIN/xdp_drop.bpf.o"; do
	[ -e "$f" ] || fatal "$f is missing: run make all"
done
for c in ip tc iptables nft ethtool taskset chrt gnuplot flock ss; do
	command -v "$c" >/dev/null || fatal "$c is not installed: run make deps"
done
[ "$(nproc --all)" -ge 2 ] || fatal "needs two CPUs: one sends, the other receives"

# One run at a time: the names below are this benchmark's alone.
exec 8>/tmp/egfl-bench.lock
flock -w 300 8 || fatal "another run holds /tmp/egfl-bench.lock"

# Everything this script starts runs on TX_CPU, except the receiver's NAPI thread.
taskset -pc "$TX_CPU" $$ >/dev/null || fatal "cannot pin to CPU $TX_CPU"

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	trap - EXIT INT TERM HUP
	gen_stop
	stop_pids "${CLIENT_PIDS[@]}" "$SERVER_PID"
	[ -d "/sys/class/net/$LAB_HOST_IF" ] && cfg_cleanup
	lab_down
	rm -rf "$EDGEGUARD_BPF_DIR"
	[ -n "$WORK" ] && rm -rf "$WORK"
	[ -n "$EDGEGUARD_RUN_DIR" ] && rm -rf "$EDGEGUARD_RUN_DIR"
}
trap cleanup EXIT
trap 'echo "bench-flood: interrupted" >&2; exit 130' INT TERM HUP

WORK=$(mktemp -d /tmp/egfl-work.XXXXXX)
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egfl-run.XXXXXX)
if ! mkdir -p "$OUT" || ! rm -f "$OUT"/samples.tsv "$OUT"/connects.tsv; then
	fatal "cannot write $OUT"
fi

# Leftovers of a run that was killed hard (every name is ours).
[ -d "/sys/class/net/$LAB_HOST_IF" ] && cfg_cleanup
lab_down
rm -rf "$EDGEGUARD_BPF_DIR"

ss -Htln "sport = :$FLOOD_PORT" | grep -q . && fatal "something listens on port $FLOOD_PORT"
lab_up || fatal "cannot build the lab network (egfl-*)"
SERVER_PORT=$(free_port) || fatal "no free TCP port for the server"
start_server 50 --seconds 900 "$LAB_HOST:$SERVER_PORT" || fatal "tcp_server did not start"

echo "bench-flood: $REPS repetition(s) x ${#MIXES[@]} source mixes x ${#CONFIGS[@]}" \
	"configurations; receiver: CPU $RX_CPU, everything else: CPU $TX_CPU"
for ((rep = 1; rep <= REPS; rep++)); do
	for mix in "${MIXES[@]}"; do
		printf 'rep %d, sources %-6s:' "$rep" "$mix"
		gen_start "$mix"
		clients_start
		for cfg in "${CONFIGS[@]}"; do
			printf ' %s' "$cfg"
			measure "$rep" "$mix" "$cfg"
		done
		clients_stop
		gen_stop
		echo
	done
done
cat "$WORK"/connects-*.log >"$OUT/connects.tsv"
report "$OUT" || fatal "cannot write the report"
echo "bench-flood: done in $SECONDS s"

# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Traffic and counters of `make bench-flood`, sourced by run.sh after lab.sh
# and configs.sh: the flood, the good clients, and one measured window.
#
# The figure is the receiver's CPU time per packet it handled, where the
# CPU time is that of egfl-h0's NAPI thread (/proc/PID/schedstat, in ns) and
# "handled" is what that thread took off its ring (the veth's rx_packets:
# veth counts every frame and skb its NAPI poll consumed there). Why the
# thread and not CPU 1's busy time in /proc/stat: every step of receiving
# runs inside that thread (veth poll, XDP, skb, GRO, IP, netfilter, TCP, the
# RST it sends; softirqs raised meanwhile run when it re-enables them, and
# are charged to it on a kernel without IRQ_TIME_ACCOUNTING), its clock has
# ns resolution where /proc/stat has 10 ms ticks, and it does not count
# whatever else the scheduler puts on CPU 1 (other people's builds on a
# shared machine). CPU 1's busy time is recorded too: on a quiet machine
# the two agree, and "napi share" in the table says how far they did.

# shellcheck disable=SC2034 # MIXES is used by the files that source this one
MIXES=(1 1024 65536 random) # flood sources: one, 198.18.0.0/22, 198.18.0.0/16, all of IPv4
FLOOD_PORT=9 # nothing listens there: an unfiltered SYN is answered with a RST
CLIENT_RATE_MS=250 # each good client connects 4 times a second, under every limit
CLIENT_TIMEOUT_MS=1000 # a connect counts as failed if the first SYN was not answered
GEN_PID=
CLIENT_PIDS=()

# mix_base MIX: the first source address of a source mix.
mix_base() { if [ "$1" = 1 ]; then echo 198.18.0.1; else echo "$ATTACK_BASE"; fi; }

# gen_start MIX: the flood, from egfl-atk, on TX_CPU (measure() sets its rate),
# once it is running. Bounded by --seconds in case this script dies without stopping it. Normal
# priority: niced, it would get next to nothing of a CPU someone else's job
# also wants, and the clients, which sleep between attempts, are scheduled
# promptly when they wake anyway.
gen_start() {
	: >"$WORK/gen.log" # before the background job opens it: no line of the last one
	ip netns exec "$LAB_NS" taskset -c "$TX_CPU" "$FLOOD_BIN/flood_gen" \
		--ifname "$LAB_ATK_IF" --dst-mac "$(lab_host_mac)" --dst "$LAB_HOST" \
		--dport "$FLOOD_PORT" --pps "$PPS" --sources "$1" --base "$(mix_base "$1")" --seconds 300 \
		>>"$WORK/gen.log" 2>&1 &
	GEN_PID=$!
	wait_for_line "$WORK/gen.log" flooding "$GEN_PID" 100 ||
		fatal "flood_gen did not start: $(tail -1 "$WORK/gen.log")"
}

gen_stop() {
	[ -n "$GEN_PID" ] && kill -TERM "$GEN_PID" 2>/dev/null && kill -CONT "$GEN_PID" 2>/dev/null
	stop_pids "$GEN_PID"
	GEN_PID=
}

# clients_start: LAB_CLIENTS good clients in egfl-cli, each from its own address,
# connecting until clients_stop; every attempt is a line in connects.log.
clients_start() {
	local i
	CLIENT_PIDS=()
	for ((i = 0; i < LAB_CLIENTS; i++)); do
		ip netns exec "$LAB_CLI_NS" "$TOOLS/tcp_connect" --count 100000 --times \
			--interval-ms "$CLIENT_RATE_MS" --timeout-ms "$CLIENT_TIMEOUT_MS" \
			--bind "$(lab_client_addr "$i")" "$LAB_HOST:$SERVER_PORT" \
			>>"$WORK/connects-$i.log" 2>/dev/null &
		CLIENT_PIDS+=($!)
	done
}

clients_stop() {
	stop_pids "${CLIENT_PIDS[@]}"
	CLIENT_PIDS=()
}

# counters CONFIG: sets C to "time napi_ns cpu1_busy cpu1_all rx rx_dropped seen
# dropped": cpu1 in USER_HZ ticks; rx_dropped = frames the sender could not
# put in the full ring, so rx + rx_dropped is what the flood offered; seen and
# dropped by the configuration (cfg_counts, read first: it is the slow one).
# Only shell builtins after that, so the rest is read within microseconds.
counters() {
	local st=/sys/class/net/$LAB_HOST_IF/statistics t napi name u n s i w irq sirq rx rxd
	cfg_counts "$1"
	t=$EPOCHREALTIME
	read -r napi _ <"/proc/$LAB_NAPI_PID/schedstat"
	while read -r name u n s i w irq sirq _; do
		[ "$name" = "cpu$RX_CPU" ] && break
	done </proc/stat
	read -r rx <"$st/rx_packets"
	read -r rxd <"$st/rx_dropped"
	C=("$t" "$napi" $((u + n + s + irq + sirq)) $((u + n + s + irq + sirq + i + w)) "$rx" "$rxd"
		"$SEEN" "$DROPPED")
}

# window REP MIX CONFIG PHASE SECONDS: measures one window; appends to
# samples.tsv "rep mix config phase t0 t1" and the deltas of the other
# counters, in the order of counters().
window() {
	local a b i line
	counters "$3"
	a=("${C[@]}")
	sleep "$5"
	counters "$3"
	b=("${C[@]}")
	[[ "${a[*]} ${b[*]}" =~ ^(-?[0-9.]+ ){15}-?[0-9.]+$ ]] ||
		fatal "cannot read the counters of $3: '${a[*]}' '${b[*]}'"
	line="$1	$2	$3	$4	${a[0]}	${b[0]}"
	for ((i = 1; i < ${#a[@]}; i++)); do
		line+="	$((b[i] - a[i]))"
	done
	echo "$line" >>"$OUT/samples.tsv"
}

# measure REP MIX CONFIG: applies CONFIG under the flood and measures it
# twice. "cost": the flood at the sender's full speed, so the receiver is
# saturated, its NAPI thread never sleeps, and its time per packet is the
# configuration's cost and nothing else. "load": the flood at --pps, the
# attack the table is about: what gets dropped, how busy the receiver is,
# whether the clients get in (only their attempts that start in this window
# count; a saturated receiver drops their packets with the flood's). The
# flood is stopped (SIGSTOP) while configurations change: attaching edgeguard
# allocates its maps, which takes seconds on a CPU the flood keeps busy.
measure() {
	kill -STOP "$GEN_PID"
	cfg_apply "$3" "$2" || fatal "cannot apply $3 (source mix $2)"
	lab_pin_napi || fatal "egfl-h0 has no NAPI thread to pin"
	kill -USR1 "$GEN_PID"
	kill -CONT "$GEN_PID"
	sleep "$SETTLE"
	window "$@" cost "$COST_WINDOW"
	kill -USR2 "$GEN_PID"
	sleep "$SWITCH"
	window "$@" load "$LOAD_WINDOW"
	kill -STOP "$GEN_PID"
	cfg_remove "$3" || fatal "cannot remove $3"
	kill -0 "$GEN_PID" 2>/dev/null || fatal "flood_gen stopped: $(tail -1 "$WORK/gen.log")"
}

#!/usr/bin/env bash
# End to end: the daemon's control socket and metrics endpoint under hostile
# local clients, and two daemons started at once.
#  - idle connections are closed after a few seconds, one user holds at most a
#    few, and root always gets in (issue 8, item 6);
#  - a client that does not read its reply stalls nobody else (item 7);
#  - a slowloris on /metrics, more connections than the old limit, trickling
#    header bytes: a scrape still succeeds, and they are cut (item 8);
#  - of two daemons started together exactly one runs, and the other names
#    its pid (item 9);
#  - a request that got no answer is not made again on the maps, and one sent
#    again with its id is not applied twice (issue 10);
#  - "198.19.9.9\u0000junk" and reasons that are not UTF-8 are refused.
# No traffic: one veth pair (egx-cl0/egx-cl1) to attach to, own pins and run directory.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

IF0=egx-cl0 IF1=egx-cl1
NOBODY=65534
GID=64124 # a group nobody is in; no user needs to exist for it
lab_dirs egx-control-limits egx
SOCK=$EDGEGUARD_RUN_DIR/control.sock
BG=()

need_files "$EG" "$EGD" "$TOOLS/ctl_send" "$TOOLS/slowloris"
need_commands curl setpriv timeout

cleanup() {
	local p
	for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$DAEMON_PID" ] && kill -CONT "$DAEMON_PID" 2>/dev/null
	kill_daemon
	ip link show "$IF0" >/dev/null 2>&1 && $EG detach "$IF0" >/dev/null 2>&1
	ip link del "$IF0" 2>/dev/null
	lab_cleanup_pins
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

DAEMON_ARGS=(--metrics-listen off)
pings() { $TOOLS/ctl_send "$SOCK" '{"cmd":"ping"}' 2>/dev/null | grep -q '"ok":true'; }
start_ctl_daemon() { start_daemon "$@" && wait_until 100 pings; }
count_events() { grep -c -- "$1" "$EVENTS" 2>/dev/null; }
not_banned() { [ -z "$(ban_of "$1")" ]; }
# bg COMMAND...: in the background, output in $WORK/bg.N, pid in BG_PID.
bg() {
	"$@" >"$WORK/bg.${#BG[@]}" 2>&1 &
	BG_PID=$!
	BG_OUT=$WORK/bg.${#BG[@]}
	BG+=("$BG_PID")
}
# line_in FILE TEXT: FILE has a line starting with TEXT.
line_in() { grep -q "^$2" "$1" 2>/dev/null; }

ip link add "$IF0" type veth peer name "$IF1" && ip link set "$IF0" up && ip link set "$IF1" up ||
	die lab "cannot create $IF0"
$EG attach "$IF0" >/dev/null || die attach "edgeguard attach $IF0 failed"
start_ctl_daemon --group "$GID" || die daemon_starts "no start event or no answer on $SOCK"
ok daemon_starts

# --- item 6: idle connections cannot lock root out, and do not stay ---------------
as_member() { setpriv --reuid=$NOBODY --regid=$NOBODY --groups=$GID "$@"; }
bg as_member "$TOOLS/slowloris" "unix:$SOCK" 20 30 --idle
member_idle=$BG_OUT member_pid=$BG_PID
wait_until 50 line_in "$member_idle" connected
out=$($EG -v ban 198.18.6.1 --reason "root during an idle flood" 2>&1); rc=$?
check_why root_gets_in_past_idle_connections "rc $rc: $out" test "$rc" -eq 0
check_why root_ban_went_through_the_daemon "$out" grep -q "^banned 198.18.6.1" <<<"$out"
check root_ban_event wait_for '"event":"ban","source":"198.18.6.1"'
bg "$TOOLS/slowloris" "unix:$SOCK" 70 30 --idle
root_idle=$BG_OUT root_pid=$BG_PID
wait_until 50 line_in "$root_idle" connected
out=$($EG -v ban 198.18.6.2 2>&1); rc=$?
check_why root_gets_in_past_its_own_idle_connections "rc $rc: $out" test "$rc" -eq 0 -a -z "$(grep 'pinned maps directly' <<<"$out")"
check eviction_reported wait_for '"event":"control_dropped","peer_uid":0'
# Idle connections end within the request deadline (5 s), without anyone waiting for them.
wait_until 150 gone "$member_pid"
check_why idle_member_connections_closed "$(cat "$member_idle")" grep -q "^closed \([0-9]*\) of \1$" "$member_idle"
check_why one_user_holds_at_most_8 "$(cat "$member_idle")" test "$(count_events '"event":"control_dropped","peer_uid":'$NOBODY'.*no complete request')" -le 8
wait_until 150 gone "$root_pid"
check_why idle_root_connections_closed "$(cat "$root_idle")" grep -q "^closed \([0-9]*\) of \1$" "$root_idle"
# A slowloris on the socket: bytes trickle in, the request never ends; cut all the same.
bg "$TOOLS/slowloris" "unix:$SOCK" 5 30
wait_until 150 gone "$BG_PID"
check_why trickling_connections_closed "$(cat "$BG_OUT")" grep -q "^closed 5 of 5$" "$BG_OUT"

# --- item 7: a client that does not read its reply stalls nobody ------------------
# 20000 pipelined pings: their replies are far more than the socket can buffer.
readers=()
for _ in 1 2 3 4 5; do
	bg "$TOOLS/ctl_send" --no-read 30 --repeat 20000 "$SOCK" '{"cmd":"ping"}'
	readers+=("$BG_PID")
done
wait_until 50 line_in "$BG_OUT" sent
check ping_answered_while_readers_stall pings
out=$($EG -v ban 198.18.7.1 --ttl 1 2>&1); rc=$?
check_why ban_through_daemon_while_readers_stall "rc $rc: $out" test "$rc" -eq 0 -a -z "$(grep 'pinned maps directly' <<<"$out")"
check short_ban_expires_on_time_while_readers_stall wait_for '"event":"expire","source":"198.18.7.1"'
check slow_reader_dropped wait_for '"error":"the reply was not read in time"'
for p in "${readers[@]}"; do wait_until 100 gone "$p"; done
check daemon_alive_after_slow_readers pings

# --- issue 10: no answer after the request went out: reported, never done twice ------
kill -STOP "$DAEMON_PID"
out=$($EG ban 198.18.10.1 2>&1); rc=$?
check_why stopped_daemon_ban_exit_1 "rc $rc: $out" test "$rc" -eq 1
check_why stopped_daemon_ban_says_maybe "$out" grep -q "did not answer.*may or may not have been made" <<<"$out"
check stopped_daemon_ban_not_done_on_the_maps not_banned 198.18.10.1
kill -CONT "$DAEMON_PID"
check queued_ban_done_by_the_daemon wait_for '"event":"ban","source":"198.18.10.1"'
check queued_ban_done_once test "$(count_events '"event":"ban","source":"198.18.10.1"')" -eq 1
kill -STOP "$DAEMON_PID"
out=$($EG unban 198.18.10.1 2>&1); rc=$?
check_why stopped_daemon_unban_exit_1 "rc $rc: $out" test "$rc" -eq 1
check_why stopped_daemon_unban_no_false_not_banned "$out" test -z "$(grep 'is not banned' <<<"$out")"
check stopped_daemon_unban_not_done_on_the_maps test -n "$(ban_of 198.18.10.1)"
kill -CONT "$DAEMON_PID"
check queued_unban_done_by_the_daemon wait_for '"event":"unban","source":"198.18.10.1"'
wait_until 50 not_banned 198.18.10.1
check queued_unban_done not_banned 198.18.10.1
# The same id twice: one ban, the same answer.
req='{"cmd":"ban","id":"egx-same-1","cidr":"198.18.10.2","ttl":600}'
first=$($TOOLS/ctl_send "$SOCK" "$req")
second=$($TOOLS/ctl_send "$SOCK" "$req")
check_why repeated_id_first_ok "$first" grep -q '"ok":true' <<<"$first"
check_why repeated_id_replayed "$second" grep -q '"ok":true.*"replayed":true' <<<"$second"
check repeated_id_applied_once test "$(count_events '"event":"ban","source":"198.18.10.2"')" -eq 1
out=$($TOOLS/ctl_send "$SOCK" '{"cmd":"ban","id":"egx-same-1","cidr":"198.18.10.3"}')
check_why reused_id_refused "$out" grep -q '"ok":false.*different request' <<<"$out"
check reused_id_not_applied not_banned 198.18.10.3

# --- text: NUL and broken UTF-8 are refused, whichever way they come ------------------
out=$($TOOLS/ctl_send "$SOCK" '{"cmd":"ban","cidr":"198.19.9.9\u0000junk"}')
check_why nul_address_refused_by_socket "$out" grep -q '"ok":false.*NUL' <<<"$out"
check nul_address_not_banned not_banned 198.19.9.9
out=$($TOOLS/ctl_send "$SOCK" "$(printf '{"cmd":"ban","cidr":"198.19.9.10","reason":"bad \xff"}')")
check_why invalid_utf8_reason_refused_by_socket "$out" grep -q '"ok":false.*UTF-8' <<<"$out"
out=$($EG ban 198.19.9.11 --reason "$(printf 'bad \xff')" 2>&1); rc=$?
check_why invalid_utf8_reason_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2 -a -n "$(grep 'not valid UTF-8' <<<"$out")"
check invalid_utf8_reasons_not_banned not_banned 198.19.9.10
# Valid JSON, and valid UTF-8 (jq alone would take stray bytes).
valid_json() {
	local out
	out=$($EG bans --json) && iconv -f UTF-8 -t UTF-8 <<<"$out" >/dev/null && jq -e . <<<"$out" >/dev/null
}
check bans_json_is_valid_json valid_json

# --- item 9: one daemon per run directory, and the second says which ----------------
out=$(timeout -k 5 20 $EGD --state-dir "$STATE" --events "$WORK/second.jsonl" --metrics-listen off 2>&1); rc=$?
check_why second_daemon_refused "rc $rc: $out" test "$rc" -eq 1
check_why second_daemon_names_the_first "$out" grep -q "another edgeguardd (pid $DAEMON_PID) is running" <<<"$out"
check first_daemon_unaffected pings
stop_daemon 100
both=0 named=0
for round in $(seq 12); do
	$EGD --state-dir "$STATE" --events "$WORK/race.jsonl" --metrics-listen off 2>"$WORK/race.a" &
	a=$!
	$EGD --state-dir "$STATE" --events "$WORK/race.jsonl" --metrics-listen off 2>"$WORK/race.b" &
	b=$!
	# One of them exits by itself; the other runs until stopped.
	for _ in $(seq 100); do gone "$a" || gone "$b" && break; sleep 0.1; done
	sleep 0.3
	if ! gone "$a" && ! gone "$b"; then
		both=$((both + 1))
	elif gone "$a"; then
		grep -q "(pid $b)" "$WORK/race.a" && named=$((named + 1))
	else
		grep -q "(pid $a)" "$WORK/race.b" && named=$((named + 1))
	fi
	stop_pids "$a" "$b"
done
check_why never_two_daemons "$both of 12 rounds had two running" test "$both" -eq 0
check_why loser_names_the_winner "$named of 12" test "$named" -eq 12

# --- item 8: a slowloris on /metrics ---------------------------------------------
MPORT=$(free_port) || die metrics_port "no free port"
start_daemon --metrics-listen "127.0.0.1:$MPORT" || die metrics_daemon "no start event"
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" | grep -q '^edgeguard_'; }
wait_until 50 scrape
bg "$TOOLS/slowloris" "127.0.0.1:$MPORT" 40 40
loris=$BG_OUT loris_pid=$BG_PID
wait_until 100 line_in "$loris" connected
check_why slowloris_connected "$(cat "$loris")" grep -q "^connected 40$" "$loris"
check scrape_succeeds_during_slowloris scrape
# Each is cut at its request deadline (10 s) however it trickles.
wait_until 300 gone "$loris_pid"
check_why slowloris_connections_cut "$(cat "$loris")" grep -q "^closed 40 of 40$" "$loris"
# More than the connection limit at once: new connections take the oldest unanswered places.
bg "$TOOLS/slowloris" "127.0.0.1:$MPORT" 300 40
wait_until 100 line_in "$BG_OUT" connected
check scrape_succeeds_past_the_connection_limit scrape
kill "$BG_PID" 2>/dev/null
check metrics_daemon_stops_cleanly stop_daemon 100
exit 0

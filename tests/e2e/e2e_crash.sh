#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: kill -9 edgeguardd in the middle of a SYN flood. The datapath
# keeps dropping the flooder (it was auto-banned by the kernel, not by the
# daemon) and a good client still gets in; a ban added while the daemon is
# dead goes straight into the pinned maps; the restarted daemon finds both
# bans with their TTL still running and saves them; after a detach and a
# re-attach (fresh, empty maps) the next daemon restores both from state.json.
#
#   100.82.1.0/29: egr-ch (root, .1) <-> egr-cc (egr-crash: .2 flooder,
#                  .3 good client, .4 banned by hand)
#
# Everything it creates starts with "egr-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egr-crash
HOST_IF=egr-ch
EXTRA_IF=egr-cx
CLI_IF=egr-cc
PORT=18202
H4=100.82.1.1 ATK=100.82.1.2 GOOD=100.82.1.3 MANUAL=100.82.1.4
lab_dirs edgeguard-test-crash egr
POLICY=$WORK/websocket.json
FLOOD_PID=
CONNECT_TIMEOUT_MS=900
# No metrics endpoint: other tests' daemons may want the default port.
DAEMON_ARGS=(--metrics-listen off)

cleanup() {
	trap - EXIT INT TERM
	kill_daemon
	stop_pids "$FLOOD_PID" "$SERVER_PID"
	lab_detach "$HOST_IF"
	lab_remove "$NS" "$HOST_IF"
	ip link del "$EXTRA_IF" 2>/dev/null
	lab_cleanup_pins
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

# ttl_in NAME ADDRESS LOW HIGH ORIGIN: the ban is there, from ORIGIN, LOW < expires_in <= HIGH.
ttl_in() {
	local b t
	b=$(ban_of "$2")
	t=$(ttl_of "$2")
	if [ -n "$t" ] && [ "$t" != null ] && [ "$t" -gt "$3" ] && [ "$t" -le "$4" ] &&
		grep -q "\"origin\":\"$5\"" <<<"$b"; then
		ok "$1"
	else
		fail "$1" "want a $5 ban with expires_in in ($3, $4], got '${b:-no ban}'"
	fi
}
# Seconds left of ADDRESS by state.json's wall-clock expiry (empty when absent).
saved_ttl() {
	local at
	at=$(tr -d ' \n\t' <"$STATE/state.json" 2>/dev/null |
		grep -o "{\"source\":\"$1\",\"expires_at\":[0-9]*" | sed 's/.*://')
	[ -n "$at" ] && echo $((at - $(date +%s)))
}
saved_both() { [ -n "$(saved_ttl "$ATK")" ] && [ -n "$(saved_ttl "$MANUAL")" ]; }

# The lab.
lab_remove "$NS" "$HOST_IF"
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$ATK" "$GOOD" "$MANUAL" || die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 100 --seconds 55 "$H4:$PORT"

# The shipped WebSocket policy (syn 5/s burst 20, ban after 20 drops in 10 s
# for 600 s) on our port.
sed "s/\"port\": 4001/\"port\": $PORT/" examples/websocket-gateway.json >"$POLICY"
check policy_is_the_websocket_example grep -q "\"port\": $PORT" "$POLICY"
if ! $EG attach "$HOST_IF" --policy "$POLICY" >/dev/null 2>"$WORK/attach.err"; then
	fail attach "edgeguard attach failed: $(cat "$WORK/attach.err")"
	exit 1
fi
check daemon_started start_daemon

# A bounded flood (8 s at most) from the attacker; the kernel bans it by itself.
ip netns exec "$NS" "$TOOLS/syn_flood" --src "$ATK" --dst "$H4" --dport "$PORT" --count 8000 --pps 1000 \
	--seconds 8 >"$WORK/flood.out" 2>&1 &
FLOOD_PID=$!
auto_banned() { grep -q '"origin":"auto"' <<<"$(ban_of "$ATK")"; }
check flooder_auto_banned wait_until 100 auto_banned
check daemon_reported_the_autoban wait_until 50 event_seen "\"event\":\"autoban\",\"source\":\"$ATK\""
# The event says which limit the source exceeded, as the policy file set it.
check autoban_event_names_the_limit event_seen '"trigger":"syn_rate","ttl":600,"window_drops":20,"limit":{"rate":5,"burst":20,"ban_after":20,"ban_window":10}'

# The daemon dies hard mid-flood.
kill_daemon
flood_running=no
kill -0 "$FLOOD_PID" 2>/dev/null && flood_running=yes
# The datapath's own ban drops it: counted as autobanned.
banned0=$(counter autobanned)
drops0=$(($(counter syn_rate) + banned0))
# Polled while the flood lasts (it stops by itself within 8 s).
banned_grew() { [ "$(counter autobanned)" -gt "$banned0" ]; }
wait_until 100 banned_grew
banned1=$(counter autobanned)
drops1=$(($(counter syn_rate) + banned1))
echo "# after kill -9: banned $banned0 -> $banned1, banned+syn_rate $drops0 -> $drops1 (flood running at kill: $flood_running)"
check flood_still_running_at_kill test "$flood_running" = yes
check drops_continue_after_kill test "$drops1" -gt "$drops0"
check ban_enforced_after_kill test "$banned1" -gt "$banned0"
check good_client_connects_during_flood connects "$H4:$PORT" "$GOOD"
check flooder_refused_after_kill refused "$H4:$PORT" "$ATK"

# No daemon: the CLI writes the ban into the pinned maps itself.
check manual_ban_without_daemon eval "$EG ban $MANUAL --ttl 600 >/dev/null"
check manual_ban_enforced_without_daemon refused "$H4:$PORT" "$MANUAL"
wait_until 120 gone "$FLOOD_PID"
stop_pid "$FLOOD_PID"
FLOOD_PID=
sed 's/^/# flood: /' "$WORK/flood.out"

# Restart: both bans are in the maps, TTLs still running, and get saved.
check daemon_restarted start_daemon
ttl_in autoban_kept_across_restart "$ATK" 550 600 auto
ttl_in manual_ban_kept_across_restart "$MANUAL" 550 600 manual
check restarted_daemon_saves_both_bans wait_until 100 saved_both
for a in "$ATK" "$MANUAL"; do
	t=$(saved_ttl "$a")
	if [ -n "$t" ] && [ "$t" -gt 550 ] && [ "$t" -le 600 ]; then
		ok "saved_expiry_of_$a"
	else
		fail "saved_expiry_of_$a" "state.json expiry is ${t:-missing} s away, want (550, 600]"
	fi
done

# The daemon logs interfaces attached and detached by the CLI while it runs.
ip link add "$EXTRA_IF" type veth peer name "${EXTRA_IF}p"
ip link set "$EXTRA_IF" up
$EG attach "$EXTRA_IF" >/dev/null
check attach_event_logged wait_until 150 event_seen "\"event\":\"attach\",\"interface\":\"$EXTRA_IF\""
$EG detach "$EXTRA_IF" >/dev/null
check detach_event_logged wait_until 150 event_seen "\"event\":\"detach\",\"interface\":\"$EXTRA_IF\""
ip link del "$EXTRA_IF"

# Clean stop, detach (the maps go), re-attach (fresh maps), start: restored.
stop_daemon 50
rc=$?
check daemon_stops_cleanly test "$rc" -eq 0
$EG detach "$HOST_IF" >/dev/null
check pins_removed_by_detach test ! -e "$EDGEGUARD_BPF_DIR"
if ! $EG attach "$HOST_IF" --policy "$POLICY" >/dev/null 2>"$WORK/attach.err"; then
	fail reattach "edgeguard attach failed: $(cat "$WORK/attach.err")"
	exit 1
fi
check fresh_maps_have_no_bans test "$($EG bans --json | tr -d ' \n\t')" = "[]"
check daemon_started_on_fresh_maps start_daemon
check autoban_restore_event wait_until 100 event_seen "\"source\":\"$ATK\",\"status\":\"restored\""
check manual_ban_restore_event wait_until 100 event_seen "\"source\":\"$MANUAL\",\"status\":\"restored\""
ttl_in autoban_restored_with_remaining_ttl "$ATK" 550 600 auto
ttl_in manual_ban_restored_with_remaining_ttl "$MANUAL" 550 600 manual
check restored_autoban_enforced refused "$H4:$PORT" "$ATK"
check restored_manual_ban_enforced refused "$H4:$PORT" "$MANUAL"
check good_client_connects_after_restore connects "$H4:$PORT" "$GOOD"

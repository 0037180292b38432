#!/usr/bin/env bash
# End to end: edgeguardd next to an attached datapath. Enforcement survives
# the daemon's death, bans survive its restart and a detach/re-attach (through
# state.json), expiry and policy reloads show up as JSON event lines.
# The root namespace is the protected host; the client lives in egn-daemon.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egn-daemon
HOST_IF=egn-h
CLI_IF=egn-c
PORT=18091
H4=100.78.1.1 C4=100.78.1.2 C4B=100.78.1.3 C4C=100.78.1.4
lab_dirs edgeguard-test-daemon egn
POLICY=$WORK/policy.json

cleanup() {
	kill_daemon
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

# The lab.
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" "$C4C" || die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 50 --seconds 120 "$H4:$PORT"
cat >"$POLICY" <<EOF
{ "policies": [ { "name": "svc", "port": $PORT, "syn": { "rate": 1000, "burst": 2000 } } ],
  "bans": [ { "cidr": "100.78.1.6", "ttl": 0, "reason": "say \"no\" to .6" } ] }
EOF

# Without pinned maps the daemon refuses, in one line.
out=$($EGD --state-dir "$STATE" --events "$EVENTS" 2>&1); rc=$?
check refuses_without_attach test "$rc" -eq 1 -a "$(wc -l <<<"$out")" -eq 1
check refusal_names_the_fix grep -q "edgeguard attach" <<<"$out"

$EG attach "$HOST_IF" >/dev/null || { fail attach "edgeguard attach failed"; exit 1; }
check client_connects_before_bans connects "$H4:$PORT"

echo '{ "policies": [ { "port": 0 } ] }' >"$WORK/bad.json"
out=$($EGD --state-dir "$STATE" --events "$EVENTS" --policy "$WORK/bad.json" 2>&1); rc=$?
check invalid_policy_at_start_is_fatal test "$rc" -eq 1
check invalid_policy_error_names_the_path grep -q "bad.json: policies\[0\]" <<<"$out"

start_daemon --policy "$POLICY"
check daemon_starts test -n "$DAEMON_PID"
check policy_load_event_at_start wait_for '"event":"policy_load"'
$EG ban "$C4" --ttl 600 >/dev/null
$EG ban "$C4B" >/dev/null
$EG ban 2001:db8:77::/48 --ttl 600 >/dev/null
wait_until 50 grep -qs "\"$C4B\"" "$STATE/state.json"
check state_file_holds_the_bans grep -q "\"$C4B\"" "$STATE/state.json"

# The daemon dies hard: the kernel keeps enforcing.
kill_daemon
check ban_enforced_after_daemon_killed refused "$H4:$PORT"
check permanent_ban_enforced_after_daemon_killed refused "$H4:$PORT" "$C4B"
check unbanned_neighbour_unaffected connects "$H4:$PORT" "$C4C"

# Restart: the bans in the maps are kept as they are, TTL still running. The
# state file was saved from these very maps, so nothing is restored from it.
start_daemon --policy "$POLICY"
check restart_on_the_same_maps_restores_nothing wait_for '"event":"restore_skipped"'
ttl=$(ttl_of "$C4")
if [ -n "$ttl" ] && [ "$ttl" != null ] && [ "$ttl" -le 600 ] && [ "$ttl" -gt 590 ]; then
	ok ttl_ban_kept_across_restart
else
	fail ttl_ban_kept_across_restart "expires_in '$ttl', want 591..600"
fi
check permanent_ban_kept_across_restart test "$(ttl_of "$C4B")" = null
check restart_does_not_touch_live_bans test -z "$(grep '"event":"restore"' "$EVENTS")"

# A short ban ends in the kernel by itself; the daemon removes it and says so.
$EG ban "$C4C" --ttl 2 >/dev/null
check short_ban_refuses refused "$H4:$PORT" "$C4C"
check expire_event_for_short_ban wait_for "\"event\":\"expire\",\"source\":\"$C4C\""
check expired_ban_gone_from_the_map test -z "$(ttl_of "$C4C")"
check connects_after_expiry connects "$H4:$PORT" "$C4C"

# SIGHUP with a broken file: rejected, the running policy untouched.
hash_before=$(policy_hash)
cp "$POLICY" "$WORK/good.json"
echo '{ "policies": [ { "port": 70000 } ] }' >"$POLICY"
kill -HUP "$DAEMON_PID"
check sighup_invalid_policy_rejected wait_for '"event":"policy_reject"'
check reject_event_names_the_field grep -q 'policy_reject.*policies\[0\]' "$EVENTS"
check policy_hash_unchanged_after_reject test -n "$hash_before" -a "$(policy_hash)" = "$hash_before"
check daemon_survives_a_bad_reload kill -0 "$DAEMON_PID"

# SIGHUP with a good (different) file: loaded, status follows.
sed 's/"rate": 1000/"rate": 900/' "$WORK/good.json" >"$POLICY"
loads_before=$(grep -c '"event":"policy_load"' "$EVENTS")
kill -HUP "$DAEMON_PID"
more_loads() { [ "$(grep -c '"event":"policy_load"' "$EVENTS")" -gt "$loads_before" ]; }
wait_until 100 more_loads
check sighup_valid_policy_loaded test "$(grep -c '"event":"policy_load"' "$EVENTS")" -gt "$loads_before"
new_hash=$(policy_hash)
check status_shows_the_new_hash test -n "$new_hash" -a "$new_hash" != "$hash_before"
check load_event_carries_the_hash grep -q "\"event\":\"policy_load\".*\"$new_hash\"" "$EVENTS"

# Clean stop: state saved, "stop" line, exit 0.
stop_daemon; rc=$?
check sigterm_exits_zero test "$rc" -eq 0
check stop_event_written grep -q '"event":"stop"' "$EVENTS"
# The state and the record of the policy in force, nothing half-written beside them.
check no_temporary_state_files test "$(ls -A "$STATE" | tr '\n' ' ')" = "policy state.json "

# Every event line is one JSON object with a timestamp.
bad_lines=$(grep -cv '^{"ts":"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:.]*Z","event":"[a-z_]*".*}$' "$EVENTS")
check every_event_line_is_json test "$bad_lines" -eq 0

# Detach and re-attach: fresh empty maps; the daemon puts the bans back.
$EG detach "$HOST_IF" >/dev/null
check pins_removed test ! -e "$EDGEGUARD_BPF_DIR"
$EG attach "$HOST_IF" >/dev/null
check fresh_maps_are_empty test "$($EG bans --json | tr -d ' \n\t')" = "[]"
check client_connects_on_fresh_maps connects "$H4:$PORT"
start_daemon
wait_for "\"source\":\"$C4\",\"status\":\"restored\""
ttl=$(ttl_of "$C4")
if [ -n "$ttl" ] && [ "$ttl" != null ] && [ "$ttl" -le 600 ] && [ "$ttl" -gt 0 ]; then
	ok ttl_ban_restored_from_state_file
else
	fail ttl_ban_restored_from_state_file "expires_in '$ttl', want 1..600"
fi
check permanent_ban_restored_from_state_file test "$(ttl_of "$C4B")" = null
check ipv6_cidr_ban_restored test -n "$(ttl_of 2001:db8:77::/48)"
check policy_static_ban_restored test "$(ttl_of 100.78.1.6)" = null
check static_ban_reason_kept grep -q 'say \\"no\\" to .6' "$STATE/state.json"
check expired_ban_not_restored test -z "$(ttl_of "$C4C")"
check restored_ban_enforced refused "$H4:$PORT"
check restored_permanent_ban_enforced refused "$H4:$PORT" "$C4B"

# Detach under a running daemon: it saves what it holds and stops, not lingers on dead maps.
$EG detach "$HOST_IF" >/dev/null
reap_daemon 50; rc=$?
check daemon_stops_cleanly_when_maps_are_detached test "$rc" -eq 0
check detach_stop_event_says_why grep -q '"event":"stop","state":"saved","error":".*detached' "$EVENTS"
check state_survives_the_detach grep -q "\"$C4B\"" "$STATE/state.json"

# Flows whose idle timer could not be armed (kernels where bpf_timer_init
# fails in bursts) hold a connection slot until edgeguardd's sweep ends them
# once idle, giving the slot back once. The daemon's clock is real boot time:
# "idle" means last seen more than connections.idle_timeout seconds ago. So
# the policy's idle timeout is one second, and nothing here depends on how
# long the machine has been up (a CI machine may have booted a minute ago).
FI=$TOOLS/flow_insert
OWNER=100.78.1.5
cat >"$WORK/flows.json" <<EOF2
{ "connections": { "idle_timeout": 1 },
  "policies": [ { "name": "svc", "port": $PORT, "max_conns": 10 } ] }
EOF2
$EG attach "$HOST_IF" >/dev/null || { fail attach_for_sweep "edgeguard attach failed"; exit 1; }
# One flow seen just now (idle a second later), one that cannot turn idle
# during the test (last seen "in the future"); both unarmed, same owner.
# Planted before the daemon starts: its sweep (every 200 ms here) could
# otherwise end the idle one before the count is read.
check unarmed_idle_flow_inserted "$FI" add "$OWNER" 40001 "$H4" "$PORT" 1 now
check unarmed_fresh_flow_inserted "$FI" add "$OWNER" 40002 "$H4" "$PORT" 1 future
check owner_holds_two_slots test "$("$FI" conns "$OWNER" 1)" = 2
start_daemon --policy "$WORK/flows.json"
check daemon_starts_for_sweep kill -0 "$DAEMON_PID"
swept=0
for _ in $(seq 150); do
	if ! "$FI" has "$OWNER" 40001 "$H4" "$PORT"; then
		swept=$(counter flow_swept)
		[ "${swept:-0}" -ge 1 ] && break
	fi
	sleep 0.2
done
check daemon_sweeps_unarmed_idle_flow test "$("$FI" has "$OWNER" 40001 "$H4" "$PORT"; echo $?)" = 1
check stats_show_flow_swept test "${swept:-0}" -ge 1
check sweep_gives_one_slot_back test "$("$FI" conns "$OWNER" 1)" = 1
check sweep_keeps_fresh_unarmed_flow "$FI" has "$OWNER" 40002 "$H4" "$PORT"
check no_sweep_errors test "$(grep -c '"event":"flow_sweep_error"' "$EVENTS")" -eq 0

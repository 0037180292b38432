#!/usr/bin/env bash
# End to end: the daemon's control socket and ban reasons. With the daemon up,
# `edgeguard ban` goes through it (event line, prompt save) and takes effect;
# with the daemon killed the CLI falls back to the maps and reasons stay
# (they live in a pinned map); a restart keeps them. Only root, or members of
# --group, get in: the socket file's mode keeps others out, and SO_PEERCRED
# refuses them even when the file is opened up.
# The root namespace is the protected host; the client lives in egk-ctl.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egk-ctl
HOST_IF=egk-h
CLI_IF=egk-c
PORT=18093
H4=100.81.1.1 X=100.81.1.2 Y=100.81.1.3 Z=100.81.1.4
NOBODY=65534
GID=64123 # a group id nobody is in, and no user here needs to exist for
lab_dirs edgeguard-test-control egk
SOCK=$EDGEGUARD_RUN_DIR/control.sock

cleanup() {
	kill_daemon
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }

# The daemon's metrics listener (when built in) would collide with other tests' daemons.
$EGD --help 2>&1 | grep -q -- --metrics-listen && DAEMON_ARGS=(--metrics-listen off)

# The daemon answers once its restore is done and it polls: bounded, 10 s.
pings() { $TOOLS/ctl_send "$SOCK" '{"cmd":"ping"}' 2>/dev/null | grep -q '"ok":true'; }
wait_sock() { wait_until 100 pings; }
# start_ctl_daemon ARGS...: started and answering on the control socket.
start_ctl_daemon() { start_daemon "$@" && wait_sock; }
reason_is() { ban_of "$1" | grep -qF "\"reason\":$2"; }
not_banned() { [ -z "$(ban_of "$1")" ]; }
mode_of() { stat -c %a "$1"; }

# The lab.
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$X" "$Y" "$Z" || die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 50 --seconds 120 "$H4:$PORT"
$EG attach "$HOST_IF" >/dev/null || { fail attach "edgeguard attach failed"; exit 1; }
check connects_before_bans connects "$H4:$PORT" "$X"

start_ctl_daemon || { fail daemon_starts "no start event or no answer on $SOCK"; exit 1; }
ok daemon_starts
check socket_mode_is_0600 test "$(mode_of "$SOCK")" = 600
check socket_owned_by_root test "$(stat -c %u "$SOCK")" = 0
check ping_answers grep -q '"pid":'"$DAEMON_PID" <<<"$($TOOLS/ctl_send "$SOCK" '{"cmd":"ping"}')"
check garbage_request_gets_an_error grep -q '"ok":false,"error":"a request is one JSON' \
	<<<"$($TOOLS/ctl_send "$SOCK" 'not json')"

# Through the daemon: an event with the reason, saved at once, enforced.
out=$($EG -v ban "$X" --reason "scraper, ticket 123" 2>"$WORK/ban.err"); rc=$?
check ban_via_daemon_exit_0 test "$rc" -eq 0
check ban_via_daemon_output test "$out" = "banned $X permanently"
check ban_via_daemon_no_fallback test -z "$(grep "pinned maps directly" "$WORK/ban.err")"
check ban_event_with_reason \
	wait_for "\"event\":\"ban\",\"source\":\"$X\",\"origin\":\"manual\",\"ttl\":0,\"reason\":\"scraper, ticket 123\",\"peer_uid\":0"
check ban_takes_effect refused "$H4:$PORT" "$X"
check neighbour_unaffected connects "$H4:$PORT" "$Y"
check bans_json_shows_reason reason_is "$X" '"scraper, ticket 123"'
check bans_text_has_reason_column grep -q "^$X .*manual .*scraper, ticket 123\$" <<<"$($EG bans)"
check bans_text_header_has_reason grep -q "^ADDRESS .*TRIGGER .*REASON\$" <<<"$($EG bans)"
wait_until 50 grep -qs "scraper, ticket 123" "$STATE/state.json"
check reason_saved_promptly grep -q "scraper, ticket 123" "$STATE/state.json"
out=$($EG ban "$Z" --reason "$(printf 'two\nlines')" 2>&1); rc=$?
check control_character_is_a_usage_error test "$rc" -eq 2
check control_character_message grep -q "contains a control character" <<<"$out"
daemon_err_unban=$($EG unban 100.81.1.6 2>&1); daemon_rc_unban=$?

# The daemon dies hard: the CLI falls back to the maps, reasons stay.
kill_daemon
check stale_socket_left_behind test -S "$SOCK"
out=$($EG ban "$Y" --ttl 600 2>"$WORK/fallback.err"); rc=$?
check fallback_ban_exit_0 test "$rc" -eq 0
check fallback_ban_same_output test "$out" = "banned $Y for 600s"
check fallback_quiet_without_v test ! -s "$WORK/fallback.err"
out=$($EG -v ban "$Y" --ttl 600 --reason "crawler" 2>&1 >/dev/null)
check fallback_said_with_v grep -q "using the pinned maps directly" <<<"$out"
check fallback_ban_takes_effect refused "$H4:$PORT" "$Y"
check reason_survives_daemon_crash reason_is "$X" '"scraper, ticket 123"'
check fallback_reason_stored reason_is "$Y" '"crawler"'
out=$($EG unban 100.81.1.6 2>&1); rc=$?
check same_error_either_path test "$rc" -eq 1 -a "$daemon_rc_unban" -eq 1 -a "$out" = "$daemon_err_unban"

# Restart: reasons still there, from the maps and in the state file.
start_ctl_daemon || fail daemon_restarts "no start event or no answer"
check restart_keeps_the_maps wait_for '"event":"restore_skipped"'
check reason_kept_across_restart reason_is "$X" '"scraper, ticket 123"'
check fallback_reason_kept_across_restart reason_is "$Y" '"crawler"'
wait_until 50 grep -qs '"crawler"' "$STATE/state.json"
check restarted_daemon_saves_fallback_reason grep -q '"crawler"' "$STATE/state.json"
out=$($EG unban "$X"); rc=$?
check unban_via_daemon test "$rc" -eq 0 -a "$out" = "unbanned $X"
check unban_event wait_for "\"event\":\"unban\",\"source\":\"$X\",\"origin\":\"manual\""
check unban_lifts_the_ban connects "$H4:$PORT" "$X"

# A stranger cannot reach the socket at all: the run directory is 0700.
check run_dir_is_private test "$(mode_of "$EDGEGUARD_RUN_DIR")" = 700
out=$(as_nobody "$EG" ban "$Z" --reason intruder 2>&1); rc=$?
check nobody_fails_exit_1 test "$rc" -eq 1
check nobody_told_why grep -q "control socket .*Permission denied" <<<"$out"
check nobody_banned_nothing not_banned "$Z"
stop_daemon 100
check socket_removed_on_stop test ! -e "$SOCK"

# --group: the socket is 0660 for that group and the directory lets it through.
start_ctl_daemon --group "$GID" || fail daemon_starts_with_group "no start event or no answer"
check group_socket_mode_0660 test "$(mode_of "$SOCK")" = 660
check group_socket_group test "$(stat -c %g "$SOCK")" = "$GID"
check group_run_dir_searchable test "$(mode_of "$EDGEGUARD_RUN_DIR")" = 711
out=$(as_nobody "$EG" ban "$Z" 2>&1); rc=$?
check outside_group_fails_exit_1 test "$rc" -eq 1
check outside_group_stopped_by_file_mode grep -q "Permission denied" <<<"$out"
out=$(setpriv --reuid=$NOBODY --regid=$NOBODY --groups=$GID "$EG" ban "$Z" --ttl 60 --reason "from the group" 2>&1); rc=$?
check group_member_may_ban test "$rc" -eq 0
check group_member_event wait_for "\"event\":\"ban\",\"source\":\"$Z\",\"origin\":\"manual\",\"ttl\":60,\"reason\":\"from the group\",\"peer_uid\":$NOBODY"
check group_member_ban_enforced refused "$H4:$PORT" "$Z"
$EG unban "$Z" >/dev/null

# SO_PEERCRED holds when the file mode does not: open the socket to all (a
# mistake an operator could make) and a stranger still gets refused.
chmod 0666 "$SOCK"
out=$(as_nobody "$EG" ban "$Z" --reason intruder 2>&1); rc=$?
check peercred_refuses_exit_1 test "$rc" -eq 1
check peercred_refusal_message grep -q "daemon refused the request: permission denied: uid $NOBODY" <<<"$out"
check peercred_refusal_event wait_for "\"event\":\"control_refused\",\"peer_uid\":$NOBODY"
check peercred_nothing_banned not_banned "$Z"
check peercred_stranger_still_connects connects "$H4:$PORT" "$Z"
out=$(as_nobody "$TOOLS/ctl_send" "$SOCK" '{"cmd":"status"}')
check peercred_refuses_reads_too grep -q '"refused":true' <<<"$out"
check daemon_alive_after_refusals wait_sock
stop_daemon 100
exit 0

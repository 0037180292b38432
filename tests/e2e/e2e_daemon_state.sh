#!/usr/bin/env bash
# End to end: edgeguardd's state file against careless operators and hostile
# users (issue 8, items 10-13 and 15).
#  - an unban or allow del made while the daemon is down stays made: the maps
#    are the truth while they live, state.json only for new maps (item 10);
#  - a restore that cannot put everything back puts the allows first, keeps
#    going, keeps what did not fit in state.json ("pending") and the file as
#    it was beside it (item 11);
#  - a second corrupt file does not overwrite the first one's copy (item 12);
#  - a state directory or file others can write is refused (item 13);
#  - every start-up error is one line on stderr and nothing else: no leak
#    report from a sanitizer build either (item 15).
# No traffic: one veth pair (egx-st0/egx-st1) to attach to, own pins and run directory.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

IF0=egx-st0 IF1=egx-st1
lab_dirs egx-daemon-state egx
SF=$STATE/state.json

need_files "$EG" "$EGD"

cleanup() {
	kill_daemon
	ip link show "$IF0" >/dev/null 2>&1 && $EG detach "$IF0" >/dev/null 2>&1
	ip link del "$IF0" 2>/dev/null
	lab_cleanup_pins
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

DAEMON_ARGS=(--metrics-listen off)
not_banned() { [ -z "$(ban_of "$1")" ]; }
allowed() { $EG allow list | grep -qx "$1"; }
in_state() { grep -q "\"$1\"" "$SF"; }
not_in_state() { ! in_state "$1"; }
pending_in_state() { tr -d ' \n\t' <"$SF" | grep -q "\"pending\":{.*\"$1\""; }
reattach() { $EG detach "$IF0" >/dev/null && $EG attach "$IF0" "$@" >/dev/null; }
# one_line_error NAME WANT ARGS...: edgeguardd ARGS exits 1 with exactly one stderr line matching WANT.
one_line_error() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout -k 5 20 $EGD --events "$WORK/fail.jsonl" --metrics-listen off "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q -- "$want" <<<"$out"; then
		ok "$name"
	else
		fail "$name" "rc $rc, stderr: $(head -5 <<<"$out" | tr '\n' '|')"
	fi
}

ip link add "$IF0" type veth peer name "$IF1" && ip link set "$IF0" up ||
	die lab "cannot create $IF0"
$EG attach "$IF0" >/dev/null || die attach "edgeguard attach $IF0 failed"

# --- item 10: changes made while the daemon is down stay made ---------------------
start_daemon || die daemon_starts "no start event"
$EG ban 198.18.20.1 >/dev/null && $EG ban 198.18.20.2 --ttl 600 >/dev/null &&
	$EG allow add 10.20.0.0/16 >/dev/null || fail changes_via_daemon "ban/allow failed"
wait_until 50 in_state 10.20.0.0/16
check state_has_the_changes in_state 198.18.20.1
check state_records_its_maps grep -q '"config_map_id"' "$SF"
stop_daemon 100
$EG unban 198.18.20.1 >/dev/null && $EG allow del 10.20.0.0/16 >/dev/null ||
	fail changes_without_daemon "unban/allow del on the maps failed"
start_daemon || fail daemon_restarts "no start event"
check restart_says_it_kept_the_maps wait_for '"event":"restore_skipped"'
check unban_while_down_stays_made not_banned 198.18.20.1
check allow_del_while_down_stays_made test -z "$($EG allow list | grep -x 10.20.0.0/16)"
check other_ban_untouched test -n "$(ban_of 198.18.20.2)"
wait_until 50 not_in_state 198.18.20.1
check state_brought_up_to_date_for_ban not_in_state 198.18.20.1
check state_brought_up_to_date_for_allow not_in_state 10.20.0.0/16
stop_daemon 100
# New maps: the file is the truth again.
reattach
start_daemon || fail daemon_starts_on_new_maps "no start event"
check restored_into_new_maps wait_for '"source":"198.18.20.2","status":"restored"'
check unbanned_stays_unbanned_in_new_maps not_banned 198.18.20.1
stop_daemon 100

# --- item 11: a full ban list costs nothing ---------------------------------------------
cat >"$WORK/small.json" <<EOF2
{ "limits": { "max_bans": 4 } }
EOF2
$EG detach "$IF0" >/dev/null
$EG attach "$IF0" --policy "$WORK/small.json" >/dev/null || fail small_attach "attach with max_bans 4 failed"
{
	echo '{ "version": 1, "bans": ['
	for i in 1 2 3 4 5 6; do
		echo "{\"source\":\"198.18.11.$i\",\"expires_at\":null,\"created_at\":1700000000,\"origin\":\"manual\",\"reason\":\"r$i\"},"
	done
	echo '{"source":"198.18.11.7","expires_at":null,"created_at":1700000000,"origin":"manual","reason":"r7"}'
	echo '], "allows": ["10.11.0.0/16", "10.12.0.1"] }'
} >"$SF"
cp "$SF" "$WORK/original.json"
start_daemon || fail daemon_starts_with_too_many_bans "no start event"
wait_for '"event":"state_error"'
check allows_restored_despite_full_bans allowed 10.11.0.0/16
check second_allow_restored allowed 10.12.0.1
check_why three_bans_reported_failed "$(grep -c '"status":"failed"' "$EVENTS")" test "$(grep -c '"event":"restore".*"status":"failed".*ban list: the list is full' "$EVENTS")" -eq 3
check four_bans_restored test "$(grep -c '"event":"restore","source":"198.18.11.[0-9]","status":"restored"' "$EVENTS")" -eq 4
check state_error_names_the_copy grep -q '"event":"state_error".*could not be restored.*before-restore' "$EVENTS"
check original_kept_beside cmp -s "$SF.before-restore" "$WORK/original.json"
wait_until 50 pending_in_state 198.18.11.7
nf=0
for i in 1 2 3 4 5 6 7; do in_state "198.18.11.$i" || nf=$((nf + 1)); done
check_why no_ban_lost_from_the_file "$nf missing" test "$nf" -eq 0
check failed_bans_kept_as_pending pending_in_state 198.18.11.7
stop_daemon 100
# Room made: the next start puts the pending bans in.
for b in $($EG bans --json | jq -r '.[].address | select(startswith("198.18.11."))' | head -3); do $EG unban "$b" >/dev/null; done
start_daemon || fail daemon_restarts_with_room "no start event"
pending_restored() { [ "$(grep -c '"event":"restore","source":"198.18.11.[0-9]","status":"restored"' "$EVENTS")" -ge 7 ]; }
check pending_bans_restored_once_room wait_until 100 pending_restored
wait_until 50 eval '! grep -q pending "$SF"'
check nothing_pending_any_more test -z "$(grep pending "$SF")"
stop_daemon 100
$EG detach "$IF0" >/dev/null && $EG attach "$IF0" >/dev/null || die reattach "re-attach failed"

# --- item 12: every corrupt file keeps its own copy -----------------------------------
echo '{ "version": 1, "bans": [ corrupt one' >"$SF"
start_daemon && stop_daemon 100
echo '{ "version": 1, "bans": [ corrupt two' >"$SF"
start_daemon && stop_daemon 100
check first_corrupt_copy_kept grep -q "corrupt one" "$SF.corrupt"
check second_corrupt_copy_beside_it grep -q "corrupt two" "$SF.corrupt.1"
check corrupt_events_name_the_copies grep -q '"event":"state_error".*moved to .*state.json.corrupt.1' "$EVENTS"

# --- item 13: a state directory others can write is not trusted ------------------------
chmod 0777 "$STATE"
one_line_error world_writable_state_dir_refused "state directory $STATE is writable by group or others" --state-dir "$STATE"
chmod 0700 "$STATE"
chown 65534 "$STATE"
one_line_error state_dir_of_another_user_refused "state directory $STATE is owned by uid 65534" --state-dir "$STATE"
chown 0 "$STATE"
chmod 0666 "$SF"
one_line_error writable_state_file_refused "state file $SF is writable by group or others" --state-dir "$STATE"
chmod 0600 "$SF"
check nothing_started_from_untrusted_state test -z "$(grep -h '"event":"start"' "$WORK/fail.jsonl" 2>/dev/null)"

# --- item 15: every start-up error is one line, and leaks nothing ----------------------
echo '{ "policies": [ { "port": 0 } ] }' >"$WORK/bad.json"
one_line_error bad_policy_one_line "bad.json: policies\[0\]" --state-dir "$STATE" --policy "$WORK/bad.json"
one_line_error bad_group_one_line "--group no-such-group-egx: no such group" --state-dir "$STATE" --group no-such-group-egx
MPORT=$(free_port)
$TOOLS/tcp_server --seconds 60 "127.0.0.1:$MPORT" >/dev/null 2>&1 &
srv=$!
wait_until 50 eval "ss -Htln 'sport = :$MPORT' | grep -q ."
out=$(timeout -k 5 20 $EGD --state-dir "$STATE" --events "$WORK/fail.jsonl" --metrics-listen "127.0.0.1:$MPORT" 2>&1 >/dev/null); rc=$?
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
check_why busy_metrics_address_fatal_without_leaks "rc $rc: $(head -5 <<<"$out" | tr '\n' '|')" \
	test "$rc" -eq 1 -a -z "$(grep -i 'sanitizer' <<<"$out")" -a -n "$(grep 'cannot serve metrics' <<<"$out")"
start_daemon || fail daemon_for_second "no start event"
one_line_error second_daemon_one_line "another edgeguardd (pid $DAEMON_PID)" --state-dir "$STATE"
stop_daemon 100
$EG detach "$IF0" >/dev/null
one_line_error not_attached_one_line "edgeguard attach" --state-dir "$STATE"
exit 0

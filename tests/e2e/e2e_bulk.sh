#!/usr/bin/env bash
# End to end: ban|unban|allow --from-file against a real edgeguard: a bad line
# changes nothing and is named with its line number, --partial applies the
# good lines, TTLs and reasons come from the file's columns, bans merge (never
# shortened), a real TCP client from a banned source is refused and gets in
# again after unban --from-file, and an allowlisted source passes a ban.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egi-blk
HOST_IF=egi-bh
CLI_IF=egi-bc
PORT=26530
H4=100.66.152.1 C4=100.66.152.2 C4B=100.66.152.3 C4C=100.66.152.4
lab_dirs egi-bulk egi

cleanup() {
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" "$C4C" ||
	die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 50 --seconds 120 "$H4:$PORT" || die lab "tcp_server did not start"
$EG attach "$HOST_IF" >/dev/null || die lab "attach failed"

cat >"$WORK/bans.txt" <<EOF2
# incident 4711
$C4   10m   scraper farm
$C4B  permanent
198.51.100.0/24 - from the abuse desk
not-an-address
$C4C 5x
EOF2
out=$($EG ban --from-file "$WORK/bans.txt" 2>&1); rc=$?
check_why bad_lines_fail_the_file "rc $rc: $out" test "$rc" = 1
check_why bad_lines_are_named "$out" bash -c 'grep -qF "bans.txt:5: " <<<"$1" && grep -qF "bans.txt:6: TTL: '\''5x'\''" <<<"$1"' _ "$out"
check_eq bad_file_changes_nothing "$($EG bans --json | jq length)" 0
check client_connects_while_nothing_applied connects "$H4:$PORT" "$C4"

out=$($EG ban --from-file "$WORK/bans.txt" --partial --reason "bulk" 2>&1); rc=$?
check_why partial_applies_the_good_lines_and_exits_1 "rc $rc: $out" test "$rc" = 1
check_eq partial_bans_three "$($EG bans --json | jq length)" 3
check_eq file_reason_column "$(ban_of "$C4" | jq -r .reason)" "scraper farm"
check_eq default_reason_for_lines_without "$(ban_of "$C4B" | jq -r .reason)" "bulk"
t=$(ttl_of "$C4")
check_why file_ttl_column "expires_in $t" test "${t:-0}" -gt 500 -a "${t:-0}" -le 600
check_eq permanent_column "$(ttl_of "$C4B")" null
check banned_client_is_refused refused "$H4:$PORT" "$C4"
check unlisted_client_connects connects "$H4:$PORT" "$C4C"

# Merge: a shorter TTL never shortens a ban already there.
printf '%s 1m\n%s 1h\n' "$C4B" "$C4" | $EG ban --from-file - >/dev/null 2>&1
check_eq permanent_is_not_shortened "$(ttl_of "$C4B")" null
t=$(ttl_of "$C4")
check_why longer_ttl_extends "expires_in $t" test "${t:-0}" -gt 3000

# Allow wins over a ban; unban --from-file lifts what the file lists.
printf '%s\n' "$C4B" >"$WORK/allow.txt"
out=$($EG allow add --from-file "$WORK/allow.txt" 2>&1); rc=$?
check_why allow_from_file "rc $rc: $out" grep -q "^allow add --from-file .*: 1 added" <<<"$out"
check allowlisted_banned_client_connects connects "$H4:$PORT" "$C4B"
out=$($EG unban --from-file "$WORK/bans.txt" --partial 2>&1); rc=$?
check_eq unban_from_file_lifts_all "$($EG bans --json | jq length)" 0
check client_connects_after_unban connects "$H4:$PORT" "$C4"

exit $failed

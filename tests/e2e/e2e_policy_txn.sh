#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: `edgeguard policy load` is a transaction (issue 10).
#  - reconcile: allows and static bans the file no longer lists go away; a
#    static ban keeps its expiry across reloads; manual bans are never touched,
#    not even one on an address the file bans statically;
#  - all or nothing: a file whose lists do not fit the attached maps changes
#    nothing (not the table, not the lists, not the record);
#  - lock-out guards: static bans of 0.0.0.0/0, of this host's address or of
#    the SSH session's client are refused without --force, loaded with it;
#    `policy check` warns about them and about limits that cut off SSH;
#  - through edgeguardd: the load is logged, survives a daemon restart and a
#    re-attach (a reboot's fresh maps), and SIGHUP goes back to --policy;
#  - identity by name: reordering and inserting policies under traffic keeps
#    each policy's slot, counters and Prometheus label.
#
#   100.91.1.0/29: egq-h (root, .1) <-> egq-c (egq-txn, .2 .. .6)
#
# Everything it creates starts with "egq" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egq-txn
HOST_IF=egq-h
CLI_IF=egq-c
H4=100.91.1.1
C1=100.91.1.2 C2=100.91.1.3 C3=100.91.1.4 C4=100.91.1.5 C5=100.91.1.6
P_WEB=18311 P_API=18312 P_NEW=18313
HELD=203.0.113.9 # banned by hand, and statically by the second file
lab_dirs egq-txn egq
CONNECT_TIMEOUT_MS=500

cleanup() {
	kill_daemon
	stop_pids "${SERVERS[@]}"
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
SERVERS=()
trap cleanup EXIT
trap "exit 1" INT TERM

bans_json() { $EG bans --json | jq -c 'map(del(.expires_in)) | sort_by(.address)'; }
allows() { $EG allow list --json | jq -r '.[]' | sort | tr '\n' ' '; }
file_hash() { $EG policy check "$1" 2>/dev/null | sed -n 's/.*hash \([0-9a-f]*\)).*/\1/p'; }
origin_of() { ban_of "$1" | jq -r '.origin'; }
hash_is() { [ "$(policy_hash)" = "$1" ]; }
origin_in_force() { $EG status --json | jq -r '.policy.origin // empty'; }

lab_remove "$NS" "$HOST_IF"
veth_pair --no-ipv6 "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C1" "$C2" "$C3" "$C4" "$C5" ||
	die lab "cannot set up $HOST_IF/$CLI_IF"
for p in $P_WEB $P_API $P_NEW; do
	"$TOOLS/tcp_server" --seconds 170 "$H4:$p" >"$WORK/server.$p.log" 2>&1 &
	SERVERS+=($!)
	wait_for_line "$WORK/server.$p.log" listening "$!" 100 || die lab "no server on $p"
done

# v1: two named policies, an allow, a static ban with a TTL and a permanent one.
# limits.max_bans sizes the operator's ban maps at attach: 16 each.
cat >"$WORK/v1.json" <<EOF
{ "limits": { "max_bans": 16 },
  "policies": [ { "name": "web", "port": $P_WEB },
                { "name": "api", "port": $P_API } ],
  "allow": [ "10.9.0.0/16" ],
  "bans": [ { "cidr": "$C3", "ttl": 600, "reason": "v1 scanner" },
            { "cidr": "198.51.100.0/24", "ttl": 0, "reason": "v1 net" } ] }
EOF
# v2: the allow and the /24 ban gone; a static ban on an address banned by hand.
cat >"$WORK/v2.json" <<EOF
{ "policies": [ { "name": "web", "port": $P_WEB },
                { "name": "api", "port": $P_API } ],
  "bans": [ { "cidr": "$C3", "ttl": 600, "reason": "v1 scanner" },
            { "cidr": "$HELD", "ttl": 0, "reason": "static" } ] }
EOF

if ! $EG attach "$HOST_IF" --policy "$WORK/v1.json" >"$WORK/attach.out" 2>&1; then
	fail attach "$(cat "$WORK/attach.out")"
	exit 1
fi
check v1_static_ban_in_force test "$(origin_of "$C3")" = policy
check v1_allow_in_force grep -q '10.9.0.0/16' <<<"$(allows)"
$EG ban "$C4" --ttl 300 --reason "by hand" >/dev/null
$EG ban "$HELD" --ttl 300 --reason "by hand" >/dev/null

# --- reconcile by origin -------------------------------------------------------------
ttl_before=$(ttl_of "$C3")
sleep 2
$EG policy load "$WORK/v2.json" >"$WORK/v2.out" 2>&1
check_why v2_loads "$(cat "$WORK/v2.out")" test $? -eq 0
check removed_static_ban_is_gone test -z "$(ban_of 198.51.100.0/24)"
check removed_allow_is_gone test -z "$(allows)"
ttl_after=$(ttl_of "$C3")
check_why static_ban_keeps_its_expiry "expires_in $ttl_before before, $ttl_after after the reload" \
	test -n "$ttl_after" -a "$ttl_after" != null -a "${ttl_after:-999}" -lt "${ttl_before:-0}"
check static_ban_enforced_after_reload refused "$H4:$P_WEB" "$C3"
check manual_ban_untouched test "$(origin_of "$C4")" = manual
check manual_ban_on_static_address_kept test "$(origin_of "$HELD")" = manual
check_why manual_ban_keeps_its_ttl "expires_in $(ttl_of "$HELD")" \
	test "$(ttl_of "$HELD")" != null -a "$(ttl_of "$HELD")" -le 300
check load_reports_the_reconcile grep -q 'static bans: .*1 removed' "$WORK/v2.out"
# Loading the same file again changes nothing.
bans_v2=$(bans_json)
$EG policy load "$WORK/v2.json" >/dev/null 2>&1
check reload_same_file_is_a_no_op test "$(bans_json)" = "$bans_v2"

# --- all or nothing ------------------------------------------------------------------
# v3: a new table (web limited to 1 SYN/s, burst 1) and 20 more static host
# bans than the attached 16-entry map holds. Nothing of it may take effect.
{
	echo "{ \"policies\": [ { \"name\": \"web\", \"port\": $P_WEB, \"syn\": { \"rate\": 1, \"burst\": 1 } } ],"
	echo "  \"limits\": { \"max_bans\": 64 }, \"bans\": ["
	for i in $(seq 1 20); do
		echo "    { \"cidr\": \"198.18.7.$i\", \"ttl\": 0 }$([ "$i" -lt 20 ] && echo ,)"
	done
	echo "  ] }"
} >"$WORK/v3.json"
hash_v2=$(policy_hash)
$EG policy load "$WORK/v3.json" >"$WORK/v3.out" 2>"$WORK/v3.err"
rc=$?
check too_big_load_exits_1 test "$rc" -eq 1
check_why too_big_error_names_the_maps_size "$(cat "$WORK/v3.err")" \
	grep -q 'v3.json: bans: .*attached maps hold 16' "$WORK/v3.err"
check too_big_error_is_one_line test "$(wc -l <"$WORK/v3.err")" -eq 1
check hash_unchanged_after_failed_load test "$(policy_hash)" = "$hash_v2"
check bans_unchanged_after_failed_load test "$(bans_json)" = "$bans_v2"
# The old table is the one enforcing: three quick connections from one source pass.
n=$(in_ns "$TOOLS/tcp_connect" --count 3 --timeout-ms 300 --bind "$C2" "$H4:$P_WEB" 2>/dev/null |
	sed -n 's/.*ok=\([0-9]*\).*/\1/p')
check_why old_table_still_enforced "ok=$n of 3" test "${n:-0}" -eq 3

# --- lock-out guards ------------------------------------------------------------------
guard_file() { # NAME CIDR
	echo "{ \"policies\": [ { \"name\": \"web\", \"port\": $P_WEB } ], \"bans\": [ { \"cidr\": \"$2\" } ] }" \
		>"$WORK/$1.json"
}
guard_file all 0.0.0.0/0
guard_file self "$H4"
guard_file ssh 100.91.1.4/30
guard_case() { # NAME WANT-TEXT [ENV...]
	local name=$1 want=$2
	shift 2
	env "$@" "$EG" policy load "$WORK/$name.json" >/dev/null 2>"$WORK/$name.err"
	local rc=$?
	check "guard_${name}_refused" test "$rc" -eq 1
	check_why "guard_${name}_says_why" "$(cat "$WORK/$name.err")" \
		grep -q "$name.json: bans\\[0\\]: refusing to ban .*$want.*--force" "$WORK/$name.err"
	check "guard_${name}_changes_nothing" test "$(policy_hash)" = "$hash_v2" -a "$(bans_json)" = "$bans_v2"
	env "$@" "$EG" policy check "$WORK/$name.json" >/dev/null 2>"$WORK/$name.warn"
	check "guard_${name}_check_warns" grep -q "warning: .*$name.json: bans\\[0\\]: .*$want" "$WORK/$name.warn"
	env "$@" "$EG" policy load --force "$WORK/$name.json" >/dev/null 2>&1
	check "guard_${name}_forced" test $? -eq 0 -a "$(policy_hash)" = "$(file_hash "$WORK/$name.json")"
	$EG policy load "$WORK/v2.json" >/dev/null 2>&1 # back, and the forced ban with it
	check "guard_${name}_undone_by_reload" test "$(bans_json)" = "$bans_v2"
}
guard_case all 'every IPv4 address' SSH_CLIENT= SSH_CONNECTION=
guard_case self 'address of this host' SSH_CLIENT= SSH_CONNECTION=
guard_case ssh 'client of this SSH session' SSH_CLIENT="$C5 50022 22" SSH_CONNECTION=
# An allowlisted source is never dropped, not even under a forced ban of everything.
echo "{ \"policies\": [ { \"name\": \"web\", \"port\": $P_WEB } ], \"allow\": [ \"$C1\" ],
  \"bans\": [ { \"cidr\": \"0.0.0.0/0\" } ] }" >"$WORK/allow_all.json"
$EG policy load --force "$WORK/allow_all.json" >/dev/null 2>&1
check allowlisted_source_passes_a_ban_of_everything connects "$H4:$P_WEB" "$C1"
check others_dropped_by_the_ban_of_everything refused "$H4:$P_WEB" "$C2"
$EG policy load "$WORK/v2.json" >/dev/null 2>&1
check ban_of_everything_gone_with_the_file connects "$H4:$P_WEB" "$C2"
check allow_gone_with_the_file test -z "$(allows)"
# A default packet rate of 1/s: policy check warns it cuts off SSH and health checks.
echo '{ "default": { "packets": { "rate": 1, "burst": 2 } } }' >"$WORK/low.json"
$EG policy check "$WORK/low.json" >/dev/null 2>"$WORK/low.warn"
check low_limit_check_exits_0 test $? -eq 0
check low_limit_warns_ssh grep -q 'low.json: default.packets: 1/s .*SSH' "$WORK/low.warn"
check low_limit_warns_health_checks grep -q 'health checks' "$WORK/low.warn"

# --- through the daemon, across restarts -------------------------------------------
MPORT=$(free_port) || die ports "no free loopback port"
DAEMON_ARGS=(--metrics-listen "127.0.0.1:$MPORT")
hash_v1=$(file_hash "$WORK/v1.json")
# The last `policy load` (v2, straight to the maps) wins over --policy at start.
start_daemon --policy "$WORK/v1.json" || die daemon "edgeguardd did not start"
check daemon_start_keeps_straight_load test "$(policy_hash)" = "$hash_v2"
check daemon_start_says_instead_of wait_for "\"instead_of\":\"$WORK/v1.json\""
kill -HUP "$DAEMON_PID"
wait_until 100 hash_is "$hash_v1"
check sighup_loads_config test "$(policy_hash)" = "$hash_v1"
check status_says_config test "$(origin_in_force)" = config
$EG policy load "$WORK/v2.json" >"$WORK/d2.out" 2>&1
check_why daemon_load_ok "$(cat "$WORK/d2.out")" test $? -eq 0
check daemon_load_logged wait_for '"event":"policy_load","via":"control"'
check daemon_load_in_force test "$(policy_hash)" = "$hash_v2"
check status_says_load test "$(origin_in_force)" = load
check daemon_load_reconciled test -z "$(ban_of 198.51.100.0/24)" -a -z "$(allows)"
$EG policy load "$WORK/all.json" >/dev/null 2>"$WORK/dall.err"
check daemon_guard_refused test $? -eq 1
check daemon_guard_reject_logged wait_for '"event":"policy_reject","via":"control"'
check daemon_guard_said_why grep -q 'refusing to ban 0.0.0.0/0' "$WORK/dall.err"
check daemon_guard_changes_nothing test "$(policy_hash)" = "$hash_v2"

# No answer after the request went out: reported, not applied a second time on the maps.
control_loads() { grep -c '"event":"policy_load","via":"control"' "$EVENTS"; }
loads0=$(control_loads)
kill -STOP "$DAEMON_PID"
out=$($EG policy load "$WORK/v1.json" 2>&1)
rc=$?
check_why stopped_daemon_load_exit_1 "rc $rc: $out" test "$rc" -eq 1
check_why stopped_daemon_load_says_maybe "$out" \
	grep -q "did not answer.*may or may not have been made.*edgeguard status" <<<"$out"
check stopped_daemon_load_not_done_on_the_maps test "$(policy_hash)" = "$hash_v2"
kill -CONT "$DAEMON_PID"
more_control_loads() { [ "$(control_loads)" -gt "$loads0" ]; }
wait_until 100 more_control_loads
check queued_load_done_by_the_daemon_once test "$(control_loads)" -eq $((loads0 + 1))
check queued_load_in_force test "$(policy_hash)" = "$hash_v1"
$EG policy load "$WORK/v2.json" >/dev/null 2>&1
check back_to_v2 test "$(policy_hash)" = "$hash_v2"

stop_daemon || fail daemon_stops "edgeguardd did not stop"
start_daemon --policy "$WORK/v1.json" || die daemon "edgeguardd did not restart"
check restart_keeps_loaded_policy test "$(policy_hash)" = "$hash_v2"
stop_daemon || fail daemon_stops "edgeguardd did not stop"

# A reboot: fresh maps, an empty run directory; the state directory remembers.
$EG detach "$HOST_IF" >/dev/null 2>&1
rm -rf "${EDGEGUARD_RUN_DIR:?}"/*
$EG attach "$HOST_IF" >/dev/null 2>&1 || die attach "re-attach failed"
start_daemon --policy "$WORK/v1.json" || die daemon "edgeguardd did not start after re-attach"
check reboot_keeps_loaded_policy test "$(policy_hash)" = "$hash_v2"
check reboot_restores_static_ban test "$(origin_of "$C3")" = policy
check reboot_keeps_manual_ban_over_static test "$(origin_of "$HELD")" = manual
kill -HUP "$DAEMON_PID"
wait_until 100 hash_is "$hash_v1"
check_why sighup_goes_back_to_config "hash $(policy_hash), want $hash_v1" \
	test "$(policy_hash)" = "$hash_v1"

# --- identity by name: reorder under traffic --------------------------------------
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
# slot_of NAME: the datapath slot edgeguard_policy_info gives policy NAME.
slot_of() { scrape | sed -n "s/^edgeguard_policy_info{policy=\"$1\",slot=\"\\([0-9]*\\)\"}.*/\\1/p"; }
evaluated() { scrape | awk -v s="edgeguard_policy_evaluated_packets_total{policy=\"$1\"}" '$1 == s { print $2 }'; }
traffic() { in_ns "$TOOLS/tcp_connect" --count "$2" --timeout-ms 300 --bind "$C1" "$H4:$1" >/dev/null 2>&1; }
traffic "$P_WEB" 5
traffic "$P_API" 2
web_slot=$(slot_of web) api_slot=$(slot_of api)
web0=$(evaluated web) api0=$(evaluated api)
check_why traffic_counted "web slot $web_slot: $web0, api slot $api_slot: $api0" \
	test "${web0:-0}" -gt 0 -a "${api0:-0}" -gt 0 -a "${web0:-0}" -gt "${api0:-0}"
# Reordered, with a new policy inserted first, while web keeps receiving traffic.
cat >"$WORK/v4.json" <<EOF
{ "policies": [ { "name": "new", "port": $P_NEW },
                { "name": "api", "port": $P_API },
                { "name": "web", "port": $P_WEB } ] }
EOF
traffic "$P_WEB" 20 &
tpid=$!
$EG -j policy load "$WORK/v4.json" >"$WORK/v4.out" 2>&1
check_why reorder_loads "$(cat "$WORK/v4.out")" test $? -eq 0
wait "$tpid"
check reorder_report_keeps_web_slot test "$(jq -r '.policies.web' "$WORK/v4.out")" = "$web_slot"
check reorder_keeps_web_label test "$(slot_of web)" = "$web_slot"
check reorder_keeps_api_label test "$(slot_of api)" = "$api_slot"
new_slot=$(slot_of new)
check_why new_policy_gets_a_slot_of_its_own "new: $new_slot" \
	test -n "$new_slot" -a "$new_slot" != "$web_slot" -a "$new_slot" != "$api_slot"
web1=$(evaluated web) api1=$(evaluated api)
check_why web_counter_kept_and_grew "web $web0 -> $web1" test "${web1:-0}" -gt "${web0:-0}"
check_why api_counter_kept "api $api0 -> $api1" test "${api1:-0}" = "$api0"
check_why new_policy_starts_at_zero "new: $(evaluated new)" test "$(evaluated new)" = 0
stop_daemon || fail daemon_stops "edgeguardd did not stop"

exit "$failed"

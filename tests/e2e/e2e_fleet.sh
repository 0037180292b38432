#!/usr/bin/env bash
# End to end: fleet-wide bans through a real redis-server. Three edge hosts on
# this machine (fleet_lib.sh), each protecting its own veth with its own pins
# and daemon: a ban on A holds on B and C against a real TCP client, an unban
# lifts it everywhere, a TTL ends everywhere, C started late (a canary that
# publishes nothing) catches up, Redis
# killed mid-run costs no local enforcement and everything comes back after
# it returns (empty: the hosts put their own bans back), bad input from
# Redis is refused with an event and a counter, D (--fleet-no-apply)
# publishes its own bans but takes none, and an allow made fleet-wide on A
# lets B's client through A's ban there until it is removed (a plain allow
# stays on A).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/fleet_lib.sh
. "$(dirname "$0")/fleet_lib.sh"
cd "$EG_TOP"

RPORT=26401
fleet_begin fleet
REDIS_URL=redis://127.0.0.1:$RPORT

need_files "$EG" "$EGD" "$TOOLS/tcp_server" "$TOOLS/tcp_connect"
need_commands redis-server redis-cli jq curl

# ---- the fleet: Redis, three labs, A and B running (C comes late) ----
start_redis "$RPORT" "$FLEET_TMP/redis" || die setup "redis-server did not start on $RPORT"
REDIS_PID=$REDIS_LAST
fleet_host a 1 26421 && fleet_host b 2 26422 && fleet_host c 3 26423 || die setup "lab setup failed"
fleet_server || die setup "tcp_server did not start"

A2=$(host_addr a 2) B2=$(host_addr b 2) B3=$(host_addr b 3) C2=$(host_addr c 2) C3=$(host_addr c 3)
check clients_get_in_before_any_ban client_gets_in b

start_host a --redis "$REDIS_URL" || die setup "edgeguardd A did not start"
start_host b --redis "$REDIS_URL" || die setup "edgeguardd B did not start"
check a_connects_to_redis wait_until 50 seen_on a '"event":"fleet_connect"'
check b_connects_to_redis wait_until 50 seen_on b '"event":"fleet_connect"'

# ---- a ban on A holds on B ----
on a "$EG" ban "$B2" --ttl 600 --reason "incident 42" >/dev/null
check ban_reaches_b wait_until 50 has_ban b "$B2"
check_eq b_ban_origin_is_fleet "$(field_of b "$B2" origin)" fleet
check_eq b_ban_names_host_a "$(field_of b "$B2" host)" edge-a
check_eq b_ban_keeps_reason "$(field_of b "$B2" reason)" "incident 42"
left=$(field_of b "$B2" expires_in)
expect b_ban_keeps_remaining_ttl "expires_in $left, want 590..600" "${left:-0} >= 590 && ${left:-0} <= 600"
check b_client_kept_out client_kept_out b
check b_other_client_gets_in client_gets_in b 3
check b_bans_table_names_host sh -c "EDGEGUARD_BPF_DIR=/sys/fs/bpf/egs-b $EG bans | grep -q 'from edge-a: incident 42'"
check_eq a_own_ban_stays_manual "$(field_of a "$B2" origin)" manual
check redis_holds_one_key_with_ttl test "$(rget $RPORT TTL "edgeguard:ban:$B2")" -gt 590
check b_logged_fleet_ban wait_until 20 seen_on b "\"event\":\"fleet_ban\",\"source\":\"$B2\""
sleep 0.5
check_eq no_bounce_back_to_a "$(count_on a '"event":"fleet_ban"')" 0

# ---- a node started late catches up ----
on a "$EG" ban "$C2" --reason "before C started" >/dev/null
wait_until 50 rcli "$RPORT" EXISTS "edgeguard:ban:$C2"
check c_client_gets_in_before_its_daemon client_gets_in c
# C is a canary that only listens (--fleet-no-publish).
start_host c --redis "$REDIS_URL" --fleet-no-publish || die setup "edgeguardd C did not start"
check late_c_catches_up wait_until 50 has_ban c "$C2"
check late_c_client_kept_out client_kept_out c
check_eq late_c_ban_is_permanent "$(field_of c "$C2" expires_in)" null
check late_c_logged_resync wait_until 20 seen_on c '"event":"fleet_resync"'
on c "$EG" ban 192.0.2.77 --ttl 600 --reason "canary's own" >/dev/null
check canary_enforces_own_ban has_ban c 192.0.2.77
sleep 1
check_why canary_publishes_nothing "its ban is in Redis" test "$(rget $RPORT EXISTS edgeguard:ban:192.0.2.77)" = 0
check_why canary_ban_stays_off_a "A has it" no_ban a 192.0.2.77
check_eq canary_reports_role "$(metric_of c 'edgeguard_fleet_role{role="publish"}')" 0
check_eq canary_counts_nothing_published "$(metric_of c edgeguard_fleet_published_total)" 0

# ---- D publishes but applies nothing (--fleet-no-apply) ----
# A bans one of D's clients before D starts (the resync path) and the other
# after (the channel path): neither is in D's map and both get in; D's own
# ban is published and holds on B.
fleet_host d 4 26424 || die setup "lab D setup failed"
D2=$(host_addr d 2) D3=$(host_addr d 3)
on a "$EG" ban "$D2" --ttl 600 --reason "not for d" >/dev/null
wait_until 50 rcli "$RPORT" EXISTS "edgeguard:ban:$D2"
start_host d --redis "$REDIS_URL" --fleet-no-apply || die setup "edgeguardd D did not start"
check d_resyncs wait_until 50 seen_on d '"event":"fleet_resync"'
on a "$EG" ban "$D3" --ttl 600 --reason "not for d either" >/dev/null
check a_ban_of_d3_reaches_b wait_until 50 has_ban b "$D3"
check a_ban_of_d2_on_b has_ban b "$D2"
sleep 1
check_why no_apply_d_skips_resynced_ban "D applied it" no_ban d "$D2"
check_why no_apply_d_skips_published_ban "D applied it" no_ban d "$D3"
check no_apply_d_client_gets_in client_gets_in d 2
check no_apply_d_other_client_gets_in client_gets_in d 3
on d "$EG" ban "$D3" --ttl 600 --reason "d's own" >/dev/null
check no_apply_d_enforces_own_ban client_kept_out d 3
on d "$EG" ban 192.0.2.88 --ttl 600 --reason "d's own" >/dev/null
check no_apply_d_publishes_own_ban wait_until 50 sh -c "[ \"\$(redis-cli -p $RPORT EXISTS edgeguard:ban:192.0.2.88)\" = 1 ]"
check no_apply_d_ban_reaches_b wait_until 50 has_ban b 192.0.2.88
check_eq no_apply_d_ban_names_d_on_b "$(field_of b 192.0.2.88 host)" edge-d
check_eq no_apply_d_reports_role "$(metric_of d 'edgeguard_fleet_role{role="apply"}')" 0
check_eq no_apply_d_counts_nothing_applied "$(metric_of d 'edgeguard_fleet_applied_total{op="ban"}')" 0
check_eq no_apply_d_events_no_fleet_ban "$(count_on d '"event":"fleet_ban"')" 0
on d "$EG" unban "$D3" >/dev/null
check d_unban_lifts_d3_on_b wait_until 50 no_ban b "$D3"
on a "$EG" unban "$D2" >/dev/null

# ---- unban on A lifts it everywhere ----
on a "$EG" unban "$B2" >/dev/null
check unban_reaches_b wait_until 50 no_ban b "$B2"
check b_client_gets_in_after_unban client_gets_in b
check redis_key_gone_after_unban test "$(rget $RPORT EXISTS "edgeguard:ban:$B2")" = 0
check redis_keeps_tombstone test "$(rget $RPORT EXISTS "edgeguard:unban:$B2")" = 1

# ---- an unban on B of A's ban lifts it on A and C too ----
on a "$EG" ban "$C3" --ttl 600 >/dev/null
wait_until 50 has_ban b "$C3"
check c3_ban_on_c wait_until 50 has_ban c "$C3"
on b "$EG" unban "$C3" >/dev/null
check unban_from_b_reaches_a wait_until 50 no_ban a "$C3"
check unban_from_b_reaches_c wait_until 50 no_ban c "$C3"

# ---- TTL expiry is the same everywhere; a re-ban extends it everywhere ----
on a "$EG" ban "$B3" --ttl 60 >/dev/null
check short_ban_reaches_b wait_until 50 has_ban b "$B3"
on a "$EG" ban "$B3" --ttl 600 >/dev/null
wait_until 50 sh -c "[ \"\$(EDGEGUARD_BPF_DIR=/sys/fs/bpf/egs-b $EG bans --json | jq '.[] | select(.address == \"$B3\") | .expires_in')\" -gt 300 ]"
left=$(field_of b "$B3" expires_in)
expect reban_extends_ttl_on_b "expires_in $left after a re-ban of 600 s" "${left:-0} > 300"
on a "$EG" ban "$A2" --ttl 3 >/dev/null
ttl_b=
wait_until 50 has_ban b "$A2" && ttl_b=$(field_of b "$A2" expires_in)
wait_until 50 has_ban c "$A2"
expect short_ttl_kept_on_b "expires_in '$ttl_b', want 1..3" "${ttl_b:-0} >= 1 && ${ttl_b:-0} <= 3"
check ttl_ends_on_a wait_until 60 no_ban a "$A2"
check ttl_ends_on_b wait_until 20 no_ban b "$A2"
check ttl_ends_on_c wait_until 20 no_ban c "$A2"
check ttl_ends_in_redis test "$(rget $RPORT EXISTS "edgeguard:ban:$A2")" = 0

# ---- bad input from Redis: refused with an event and a counter ----
rget "$RPORT" PUBLISH edgeguard:events 'not json at all' >/dev/null
check garbage_message_rejected wait_until 30 seen_on b '"event":"fleet_reject","why":"message"'
msg() { printf '{"v":1,"op":"ban","host":"evil","address":"%s","ttl":60,"reason":"x","origin":"manual","trigger":null,"ts":%s}' "$1" "$(date +%s%3N)"; }
rget "$RPORT" PUBLISH edgeguard:events "$(msg 0.0.0.0/0)" >/dev/null
check slash0_rejected wait_until 30 seen_on b '"why":"every_address"'
rget "$RPORT" PUBLISH edgeguard:events "$(msg 10.213.2.0/24)" >/dev/null
check ban_covering_this_host_rejected wait_until 30 seen_on b '"why":"this_host"'
check_why ban_covering_b_not_applied "it was applied" test -z "$(ban_on b 10.213.2.0/24)"
on b "$EG" allow add 10.213.9.0/24 >/dev/null
rget "$RPORT" PUBLISH edgeguard:events "$(msg 10.213.9.5)" >/dev/null
check allowlisted_rejected_on_b wait_until 30 seen_on b '"why":"allowlisted"'
check allowlisted_applied_where_not_allowed wait_until 30 has_ban c 10.213.9.5
check_why allowlisted_not_applied_on_b "it was applied" test -z "$(ban_on b 10.213.9.5)"
# Keys are read at every connect: bad ones are refused there. Cutting the
# subscribers off makes every daemon reconnect and read the keys again.
rget "$RPORT" SET edgeguard:ban:10.213.77.0/24 '{"v":1,"op":"ban"' >/dev/null
rget "$RPORT" SET edgeguard:ban:not-an-address '{}' >/dev/null
rget "$RPORT" SET edgeguard:ban:10.213.78.1 "$(msg 10.213.78.2)" >/dev/null
rget "$RPORT" SET edgeguard:ban:10.213.79.1 "$(msg 10.213.79.1)" >/dev/null
resyncs_b=$(count_on b '"event":"fleet_resync"')
rget "$RPORT" CLIENT KILL TYPE pubsub >/dev/null
check b_resyncs_after_reconnect wait_until 100 sh -c "[ \"\$(grep -c '\"event\":\"fleet_resync\"' $(events_of b))\" -gt $resyncs_b ]"
check bad_key_rejected seen_on b '"why":"key"'
check key_value_mismatch_rejected seen_on b '"why":"mismatch"'
check good_key_applied_in_resync has_ban b 10.213.79.1
check_why bad_ban_keys_not_applied "one was applied" test -z "$(ban_on b 10.213.77.0/24)$(ban_on b 10.213.78.1)"
check_eq message_rejections_counted "$(metric_of b 'edgeguard_fleet_rejected_total{why="message"}')" 2
check_eq every_address_rejections_counted "$(metric_of b 'edgeguard_fleet_rejected_total{why="every_address"}')" 1
check_eq key_rejections_counted "$(metric_of b 'edgeguard_fleet_rejected_total{why="key"}')" 1
check_eq b_counts_reconnect "$(metric_of b edgeguard_fleet_reconnects_total)" 1

# ---- Redis killed mid-run: local enforcement goes on; back, it catches up ----
kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
check a_notices_redis_gone wait_until 50 seen_on a '"event":"fleet_disconnect"'
on a "$EG" ban "$A2" --ttl 600 --reason "while redis is down" >/dev/null
check local_ban_while_redis_down client_kept_out a
on a "$EG" ban "$B3" --ttl 600 --reason "queued for the fleet" >/dev/null
check local_unban_while_redis_down on a "$EG" unban "$A2"
check local_unban_enforced_while_redis_down client_gets_in a
check_eq a_queue_counts_waiting "$(metric_of a edgeguard_fleet_publish_queue)" 3
check_eq a_reports_disconnected "$(metric_of a edgeguard_fleet_connected)" 0
# An empty Redis comes back (no persistence): the hosts put their own bans back.
start_redis "$RPORT" "$FLEET_TMP/redis2" || die setup "redis-server did not restart"
check a_reconnects wait_until 100 sh -c "[ \"\$(grep -c '\"event\":\"fleet_connect\"' $(events_of a))\" -ge 2 ]"
check b_reconnects wait_until 100 sh -c "[ \"\$(grep -c '\"event\":\"fleet_connect\"' $(events_of b))\" -ge 2 ]"
check queued_ban_published_after_return wait_until 50 rcli "$RPORT" EXISTS "edgeguard:ban:$B3"
reason_is() { [ "$(field_of "$1" "$2" reason)" = "$3" ]; }
check queued_ban_reaches_b_with_its_reason wait_until 50 reason_is b "$B3" "queued for the fleet"
check own_bans_republished wait_until 50 sh -c "[ \"\$(redis-cli -p $RPORT EXISTS edgeguard:ban:$C2)\" = 1 ]"
check c_keeps_its_fleet_ban_through_outage has_ban c "$C2"
check c_client_still_kept_out client_kept_out c
check_eq a_counts_both_reconnects "$(metric_of a edgeguard_fleet_reconnects_total)" 2
check_eq a_queue_empties "$(metric_of a edgeguard_fleet_publish_queue)" 0

# ---- Redis that hangs (SIGSTOP): the daemon still answers at once ----
kill -STOP "${REDIS_PIDS[-1]}"
check ban_answered_while_redis_hangs on a "$EG" ban "$A2" --ttl 600
check hang_does_not_stop_enforcement client_kept_out a
check unban_answered_while_redis_hangs on a "$EG" unban "$A2"
kill -CONT "${REDIS_PIDS[-1]}"
check nothing_left_in_queue_after_hang wait_until 100 sh -c "[ \"\$(curl -s 127.0.0.1:26421/metrics | awk '\$1==\"edgeguard_fleet_publish_queue\"{print \$2}')\" = 0 ]"

# ---- allows made fleet-wide (allow add --fleet) ----
# allow_of X ADDRESS ORIGIN: host X's allowlist has ADDRESS with that origin.
allow_of() { on "$1" "$EG" allow list --json | jq -e --arg a "$2" --arg o "$3" 'any(.[]; .address == $a and .origin == $o)' >/dev/null; }
no_allow() { ! on "$1" "$EG" allow list --json | jq -e --arg a "$2" 'any(.[]; .address == $a)' >/dev/null; }
allow_field() { on "$1" "$EG" allow list --json | jq -r --arg a "$2" ".[] | select(.address == \$a) | .$3"; }
redis_has() { [ "$(rget "$RPORT" EXISTS "$1")" = 1 ]; }
# A's ban of B3 (above) holds on B: A's fleet-wide allow lets B's client through it.
check b3_kept_out_before_the_allow client_kept_out b 3
on a "$EG" allow add "$B3" --fleet >/dev/null
check fleet_allow_in_redis wait_until 50 redis_has "edgeguard:allow:$B3"
check fleet_allow_reaches_b wait_until 50 allow_of b "$B3" fleet
check b_client_passes_ban_by_fleet_allow client_gets_in b 3
check b_ban_still_there has_ban b "$B3"
check_eq a_allow_is_fleet_wide "$(allow_field a "$B3" fleet)/$(allow_field a "$B3" origin)" true/manual
check_eq b_allow_is_not_b_own "$(allow_field b "$B3" fleet)" false
check fleet_allow_reaches_c wait_until 50 allow_of c "$B3" fleet
check b_logged_fleet_allow wait_until 20 seen_on b "\"event\":\"fleet_allow\",\"source\":\"$B3\""
check_eq b_counts_allow_applied "$(metric_of b 'edgeguard_fleet_applied_total{op="allow"}')" 1
check b_allow_list_says_fleet sh -c "EDGEGUARD_BPF_DIR=/sys/fs/bpf/egs-b $EG allow list | grep -qx '$B3 from the fleet'"
on a "$EG" allow add 10.213.2.77 >/dev/null
sleep 1
check_why no_apply_d_skips_fleet_allow "D has it" no_allow d "$B3"
check_why plain_allow_not_in_redis "it is in Redis" test "$(rget "$RPORT" EXISTS edgeguard:allow:10.213.2.77)" = 0
check_why plain_allow_not_on_b "B has it" no_allow b 10.213.2.77
check plain_allow_stays_on_a allow_of a 10.213.2.77 manual
if on c "$EG" allow add 192.0.2.99 --fleet >/dev/null 2>&1; then r=accepted; else r=refused; fi
check_eq canary_fleet_allow_refused "$r" refused
check_why canary_refused_allow_not_made "C has it" no_allow c 192.0.2.99
if on a "$EG" allow add 0.0.0.0/0 --fleet >/dev/null 2>&1; then r=accepted; else r=refused; fi
check_eq slash0_fleet_allow_refused_on_a "$r" refused
check_why slash0_fleet_allow_not_made "A has it" no_allow a 0.0.0.0/0
rget "$RPORT" PUBLISH edgeguard:events "{\"v\":1,\"op\":\"allow\",\"host\":\"evil\",\"address\":\"0.0.0.0/0\",\"ts\":$(date +%s%3N)}" >/dev/null
check slash0_allow_from_redis_rejected wait_until 30 seen_on b 'allow of 0.0.0.0/0 from evil refused'
check_why slash0_allow_from_redis_not_applied "B has it" no_allow b 0.0.0.0/0
# B down: a fleet-wide allow made meanwhile reaches it at its resync, and
# the fleet allow it had survives the restart (the state file) as one.
stop_host b
on a "$EG" allow add 10.213.5.0/24 --fleet >/dev/null
start_host b --redis "$REDIS_URL" || die setup "edgeguardd B did not restart"
check b_resync_applies_fleet_allow wait_until 50 allow_of b 10.213.5.0/24 fleet
check b_fleet_allow_kept_through_restart allow_of b "$B3" fleet
check b_client_passes_after_restart client_gets_in b 3
# Removed on A: gone everywhere, and the ban holds again.
on a "$EG" allow del "$B3" >/dev/null
check fleet_allow_removal_reaches_b wait_until 50 no_allow b "$B3"
check fleet_allow_removal_reaches_c wait_until 50 no_allow c "$B3"
check b_client_kept_out_after_allow_removed client_kept_out b 3
check_why fleet_allow_key_gone "it is in Redis" test "$(rget "$RPORT" EXISTS "edgeguard:allow:$B3")" = 0
check fleet_allow_tombstone_kept redis_has "edgeguard:unallow:$B3"
check b_logged_fleet_unallow wait_until 20 seen_on b "\"event\":\"fleet_unallow\",\"source\":\"$B3\""
# Removed on B (it came from A): gone on A too, as an unban from B would be.
on b "$EG" allow del 10.213.5.0/24 >/dev/null
check removal_from_b_reaches_a wait_until 50 no_allow a 10.213.5.0/24
check plain_allow_kept_through_it_all allow_of a 10.213.2.77 manual

for x in a b c d; do
	check "daemon_${x}_alive_at_end" kill -0 "${H_PID[$x]}"
	check "daemon_${x}_stops_cleanly" stop_pids "${H_PID[$x]}"
	H_PID[$x]=
done
exit "$failed"

#!/usr/bin/env bash
# End to end: a fleet on Redis behind Sentinel (redis-server and redis-sentinel
# from Debian, on 127.0.0.1). A master, a replica, three sentinels; two edge
# hosts (fleet_lib.sh) find the master through the sentinels. The master is
# killed with SIGKILL right after a ban, and a ban is made while no master
# answers: after the failover both daemons follow the sentinels to the new
# master, every ban is in its store and enforced on both hosts against a real
# TCP client, and an unban still propagates. No ban is lost.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/fleet_lib.sh
. "$(dirname "$0")/fleet_lib.sh"
cd "$EG_TOP"

MPORT=26431 RPORT=26432 SPORTS=(26441 26442 26443)
MASTER=egs-fleet
fleet_begin sentinel

need_files "$EG" "$EGD" "$TOOLS/tcp_server" "$TOOLS/tcp_connect"
need_commands redis-server redis-sentinel redis-cli jq curl

# ---- Redis: master, replica, three sentinels ----
start_redis "$MPORT" "$FLEET_TMP/master" || die setup "redis master did not start on $MPORT"
MASTER_PID=$REDIS_LAST
start_redis "$RPORT" "$FLEET_TMP/replica" --replicaof 127.0.0.1 "$MPORT" ||
	die setup "redis replica did not start on $RPORT"
replica_up() { rget "$RPORT" INFO replication | grep -q 'master_link_status:up'; }
wait_until 100 replica_up || die setup "the replica did not sync with the master"
for p in "${SPORTS[@]}"; do
	start_sentinel "$p" "$FLEET_TMP/sentinel-$p" "$MASTER" "$MPORT" ||
		die setup "redis-sentinel did not start on $p"
done
quorum_ok() { rget "${SPORTS[0]}" SENTINEL ckquorum "$MASTER" | grep -q '^OK 3 '; }
wait_until 200 quorum_ok || die setup "the sentinels did not find each other"
SENTINELS=127.0.0.1:${SPORTS[0]},127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}

# ---- two edge hosts ----
fleet_host d 4 26424 && fleet_host e 5 26425 || die setup "lab setup failed"
fleet_server || die setup "tcp_server did not start"
D2=$(host_addr d 2) E2=$(host_addr e 2) E3=$(host_addr e 3)

start_host d --redis-sentinel "$SENTINELS" --redis-master "$MASTER" || die setup "edgeguardd D did not start"
start_host e --redis-sentinel "$SENTINELS" --redis-master "$MASTER" || die setup "edgeguardd E did not start"
check d_finds_master_through_sentinels wait_until 50 seen_on d "\"server\":\"127.0.0.1:$MPORT\""
check e_finds_master_through_sentinels wait_until 50 seen_on e "\"server\":\"127.0.0.1:$MPORT\""

on d "$EG" ban "$E2" --ttl 600 --reason "before the failover" >/dev/null
check ban_reaches_e wait_until 50 has_ban e "$E2"
check e_client_kept_out client_kept_out e 2

# ---- the master dies right after a ban; another ban while there is none ----
on d "$EG" ban "$E3" --reason "just before the master died" >/dev/null
kill -KILL "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null
check d_keeps_enforcing_own_ban has_ban d "$E3"
on e "$EG" ban "$D2" --ttl 600 --reason "while the master is down" >/dev/null
check e_enforces_its_ban_at_once has_ban e "$D2"
promoted() { rget "${SPORTS[0]}" SENTINEL get-master-addr-by-name "$MASTER" | grep -qx "$RPORT"; }
check sentinels_promote_replica wait_until 300 promoted
check d_follows_to_new_master wait_until 150 seen_on d "\"server\":\"127.0.0.1:$RPORT\""
check e_follows_to_new_master wait_until 150 seen_on e "\"server\":\"127.0.0.1:$RPORT\""

# ---- no ban lost: all in the new master's store, all enforced everywhere ----
check new_master_has_ban_before_failover wait_until 50 rcli "$RPORT" EXISTS "edgeguard:ban:$E2"
key_in() { [ "$(rget "$1" EXISTS "$2")" = 1 ]; }
check new_master_has_ban_at_kill wait_until 50 key_in "$RPORT" "edgeguard:ban:$E3"
check new_master_has_ban_during_failover wait_until 50 key_in "$RPORT" "edgeguard:ban:$D2"
check e_has_ban_made_at_kill wait_until 50 has_ban e "$E3"
check d_has_ban_made_during_failover wait_until 50 has_ban d "$D2"
check_eq d_ban_from_e_is_fleet "$(field_of d "$D2" origin)" fleet
check_eq d_ban_from_e_keeps_reason "$(field_of d "$D2" reason)" "while the master is down"
check d_client_kept_out client_kept_out d 2
check e_client_3_kept_out client_kept_out e 3
check_eq e_queue_empty_after_failover "$(metric_of e edgeguard_fleet_publish_queue)" 0

# ---- after the failover the fleet still works both ways ----
on d "$EG" unban "$E2" >/dev/null
check unban_after_failover_reaches_e wait_until 50 no_ban e "$E2"
check e_client_gets_in_after_unban client_gets_in e 2
on e "$EG" unban "$D2" >/dev/null
check unban_from_e_reaches_d wait_until 50 no_ban d "$D2"

for x in d e; do
	check "daemon_${x}_alive_at_end" kill -0 "${H_PID[$x]}"
	check "daemon_${x}_stops_cleanly" stop_pids "${H_PID[$x]}"
	H_PID[$x]=
done
exit "$failed"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# `make bench-fleet`: how fast a ban travels through the fleet, and how fast
# a daemon catches up with a large store. Two edge hosts on this machine (A
# and C, each its own lab, pins, run directory and daemon: tests/e2e/
# fleet_lib.sh) and a redis-server of our own on 127.0.0.1:26451.
#
#   1. Propagation: 1,000 times `edgeguard ban ADDR` on A (through A's
#      daemon), timed from the start of the command until ADDR is in C's ban
#      map with origin fleet (fleet_bench latency): p50, p99, max.
#   2. Resync: 100,000 ban keys written into Redis as another host would
#      (half exact addresses, half /24s), then C started on empty maps: the
#      time its resync took (its fleet_resync event: SCAN, GET, apply), the
#      bans applied per second, and whether all of them are in C's maps.
#
# Targets on this machine: p99 < 100 ms; a 100k-ban resync < 2 s. A benchmark:
# it prints figures and fails only when it could not measure. Needs root;
# everything it creates is named egs-* and removed on exit. Bounded (about a
# minute).
#
#   bench/fleet/run.sh [--bans N] [--resync N]
set -u
export LC_ALL=C
cd "$(dirname "$0")/../.." || exit 1
EDGEGUARD_BUILD=${EDGEGUARD_BUILD:-build}
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=tests/e2e/fleet_lib.sh
. tests/e2e/fleet_lib.sh

BANS=1000 RESYNC=100000
while [ $# -gt 0 ]; do
	case $1 in
	--bans) BANS=$2; shift 2 ;;
	--resync) RESYNC=$2; shift 2 ;;
	*) echo "usage: bench/fleet/run.sh [--bans N] [--resync N]" >&2; exit 2 ;;
	esac
done
RPORT=26451
BENCH=$EG_TOP/$EDGEGUARD_BUILD/bench/fleet/fleet_bench
fleet_begin bench

need_files "$EG" "$EGD" "$BENCH"
need_commands redis-server redis-cli jq curl
start_redis "$RPORT" "$FLEET_TMP/redis" || die setup "redis-server did not start on $RPORT"
fleet_host a 1 26461 && fleet_host c 3 26463 || die setup "lab setup failed"
start_host a --redis "redis://127.0.0.1:$RPORT" || die setup "edgeguardd A did not start"
start_host c --redis "redis://127.0.0.1:$RPORT" || die setup "edgeguardd C did not start"
wait_until 50 seen_on a '"event":"fleet_connect"' && wait_until 50 seen_on c '"event":"fleet_connect"' ||
	die setup "the daemons did not connect to Redis"

echo "== propagation: $BANS bans on A, each timed until it is in C's map"
"$BENCH" latency "$EG" /sys/fs/bpf/egs-a "${H_RUN[a]}" /sys/fs/bpf/egs-c "$BANS" ||
	die propagation "could not measure"

echo "== resync: $RESYNC ban keys in Redis, C started on empty maps"
stop_host a
remove_host c
rm -rf "${FLEET_TMP:?}/c" # its events too: the resync below is the new daemon's
rget "$RPORT" FLUSHALL >/dev/null
"$BENCH" fill 127.0.0.1 "$RPORT" edgeguard: "$RESYNC" || die resync "could not fill Redis"
echo "keys in Redis: $(rget "$RPORT" DBSIZE)"
fleet_host c 3 26463 || die setup "lab setup failed"
t0=$(date +%s%N)
start_host c --redis "redis://127.0.0.1:$RPORT" || die setup "edgeguardd C did not start"
wait_until 600 seen_on c '"event":"fleet_resync"' || die resync "no fleet_resync event within 60 s"
t1=$(date +%s%N)
ev=$(grep -F '"event":"fleet_resync"' "$(events_of c)" | head -1)
secs=$(jq -r .seconds <<<"$ev") applied=$(jq -r .applied <<<"$ev")
printf 'resync (SCAN, GET, apply):   %.3f s for %s bans applied = %.0f bans/s\n' "$secs" "$applied" \
	"$(awk -v n="$applied" -v s="$secs" 'BEGIN { print (s > 0 ? n / s : 0) }')"
printf 'daemon start to resync end:  %.3f s (polled every 0.1 s)\n' \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')"
echo "fleet bans in C's maps:      $(metric_of c 'edgeguard_bans_active{origin="fleet"}')"
echo "rejected in the resync:      $(jq -r .rejected <<<"$ev")"
stop_host c
exit 0

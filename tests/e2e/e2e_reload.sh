#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: `edgeguard policy load` is a hot reload that keeps state. A
# client that used up its SYN burst under policy A is still limited right
# after policy B is loaded (its bucket state carries over), bans survive the
# reload, status shows B's hash, and an invalid file changes nothing.
# (The daemon's SIGHUP reload is covered by e2e_daemon.sh.)
#
#   100.82.2.0/29: egr-rh (root, .1) <-> egr-rc (egr-reload, .2 .. .6)
#
# Everything it creates starts with "egr-" and is removed on any exit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egr-reload
HOST_IF=egr-rh
CLI_IF=egr-rc
PORT=18201
H4=100.82.2.1
# One fresh source per trial of the GCRA sequence (see below), one to ban.
TRIAL_SRCS=(100.82.2.2 100.82.2.3 100.82.2.4)
BANNED=100.82.2.5
BANNED_NET=198.51.100.128/25
lab_dirs edgeguard-test-reload egr
CONNECT_TIMEOUT_MS=500

cleanup() {
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

# tries N SRC: N back-to-back attempts, each given 200 ms (well under the 1 s
# initial SYN retransmission, so every attempt is exactly one SYN); prints ok=M.
tries() {
	in_ns "$TOOLS/tcp_connect" --count "$1" --timeout-ms 200 --bind "$2" "$H4:$PORT" 2>/dev/null |
		sed -n 's/.*ok=\([0-9]*\).*/\1/p'
}
# Every counter but non_ip (ARP may refresh a neighbour at any time), as one line.
counters_but_arp() { $EG stats --json | jq -c 'del(.non_ip, .interfaces[].non_ip)'; }
file_hash() { $EG policy check "$1" 2>/dev/null | sed -n 's/.*hash \([0-9a-f]*\)).*/\1/p'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The lab.
lab_remove "$NS" "$HOST_IF"
# No IPv6 on the link: no ND/MLD packets moving the counters.
veth_pair --no-ipv6 "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "${TRIAL_SRCS[@]}" "$BANNED" ||
	die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 100 --seconds 55 "$H4:$PORT"

# A: 1 SYN/s per source, burst 3. B: the same policy (same name, so the same
# slot and per-source state), burst 5.
cat >"$WORK/a.json" <<EOF
{ "policies": [ { "name": "a", "port": $PORT, "syn": { "rate": 1, "burst": 3 } } ] }
EOF
cat >"$WORK/b.json" <<EOF
{ "policies": [ { "name": "a", "port": $PORT, "syn": { "rate": 1, "burst": 5 } } ] }
EOF
echo "{ \"policies\": [ { \"port\": $PORT, \"syn\": { \"rate\": 0 } } ] }" >"$WORK/bad.json"
HASH_A=$(file_hash "$WORK/a.json")
HASH_B=$(file_hash "$WORK/b.json")
check policy_files_differ test -n "$HASH_A" -a -n "$HASH_B" -a "$HASH_A" != "$HASH_B"

if ! $EG attach "$HOST_IF" --policy "$WORK/a.json" >/dev/null; then
	fail attach "edgeguard attach failed"
	exit 1
fi
check status_shows_a_hash test "$(policy_hash)" = "$HASH_A"

# Bans made before the reload.
$EG ban "$BANNED" --ttl 600 >/dev/null
$EG ban "$BANNED_NET" >/dev/null
check banned_before_reload refused "$H4:$PORT" "$BANNED"

# The GCRA sequence for one fresh source, T = 1 s (rate 1/s):
#   A: tolerance (3 - 1) T = 2 s. The first three SYNs pass (TAT = t1 + 3 s
#      after the third); the fourth at t4 passes only if TAT - t4 <= 2 s,
#      i.e. t4 >= t1 + 1 s, so within 1 s of the first it is dropped. A
#      dropped SYN does not charge the bucket: TAT stays t1 + 3 s.
#   load B: the per-source state (key: source + policy slot, same name ->
#      same slot) is kept, only the tolerance grows to (5 - 1) T = 4 s.
#      Fifth SYN: TAT - now <= 3 s <= 4 s, passes, TAT = t1 + 4 s. Sixth:
#      <= 4 s, passes, TAT = t1 + 5 s. Seventh: passes only if now >= t1 + 1 s.
#   So within 1 s of the first SYN: exactly 3 pass, 1 dropped, then exactly 2
#   pass, 1 dropped (syn_rate + 2). Had B reset the state, 5 would pass.
# Time only ever adds tokens (more passes, never fewer), so a trial whose
# sequence took >= 0.9 s and let more SYNs through proves nothing: it is
# retried with a fresh source (at most 3 trials). Fewer passes than expected
# or extra passes in a fast trial fail at once. An attempt that failed without
# a datapath drop (a timeout on a loaded machine) also makes a trial void.
verdict=
for src in "${TRIAL_SRCS[@]}"; do
	$EG policy load "$WORK/a.json" >/dev/null || { verdict="policy load A failed"; break; }
	drops0=$(counter syn_rate)
	t0=$(now_ms)
	ok_a=$(tries 4 "$src")
	if ! $EG policy load "$WORK/b.json" >"$WORK/load_b.out" 2>&1; then
		verdict="policy load B failed: $(cat "$WORK/load_b.out")"
		break
	fi
	ok_b=$(tries 3 "$src")
	elapsed=$(($(now_ms) - t0))
	drops=$(($(counter syn_rate) - drops0))
	echo "# trial from $src: A ok=$ok_a/4, B ok=$ok_b/3, syn_rate +$drops, ${elapsed} ms"
	if [ "$ok_a" = 3 ] && [ "$ok_b" = 2 ] && [ "$drops" = 2 ]; then
		verdict=pass
		break
	fi
	if [ "$drops" != $((7 - ${ok_a:-0} - ${ok_b:-0})) ]; then
		verdict="void: an attempt failed without a syn_rate drop"
		continue
	fi
	if [ "${ok_a:-0}" -ge 3 ] && [ "${ok_b:-0}" -ge 2 ] && [ "$elapsed" -ge 900 ]; then
		verdict="void: the sequence took ${elapsed} ms (>= 0.9 s: refilled tokens)"
		continue
	fi
	verdict="A ok=$ok_a/4 (want 3), B ok=$ok_b/3 (want 2), syn_rate +$drops (want 2) in ${elapsed} ms"
	break
done
if [ "$verdict" = pass ]; then
	ok burst_exhausted_under_a
	ok state_kept_across_reload_exactly_two_more
else
	fail burst_exhausted_under_a "$verdict"
	fail state_kept_across_reload_exactly_two_more "$verdict"
fi

# Loaded B: the hash, the bans.
check status_shows_b_hash test "$(policy_hash)" = "$HASH_B"
ttl=$(ttl_of "$BANNED")
if [ -n "$ttl" ] && [ "$ttl" != null ] && [ "$ttl" -le 600 ] && [ "$ttl" -gt 0 ]; then
	ok ttl_ban_kept_across_reload
else
	fail ttl_ban_kept_across_reload "expires_in '$ttl', want 1..600"
fi
check permanent_cidr_ban_kept_across_reload test "$(ttl_of "$BANNED_NET")" = null
banned0=$(counter banned)
check ban_enforced_after_reload refused "$H4:$PORT" "$BANNED"
check ban_drop_counted_after_reload test "$(counter banned)" -gt "$banned0"

# An invalid file: exit 1, one error line naming the field, nothing changed.
before=$(counters_but_arp)
bans_without_ttl() { $EG bans --json | jq -c 'map(del(.expires_in))'; }
bans_before=$(bans_without_ttl)
$EG policy load "$WORK/bad.json" >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
check invalid_policy_load_exits_1 test "$rc" -eq 1
check invalid_policy_error_names_the_field grep -q 'bad.json: policies\[0\].syn:' "$WORK/bad.err"
check invalid_policy_error_is_one_line test "$(wc -l <"$WORK/bad.err")" -eq 1
check hash_still_b_after_invalid_load test "$(policy_hash)" = "$HASH_B"
check counters_unchanged_by_invalid_load test "$(counters_but_arp)" = "$before"
check bans_unchanged_by_invalid_load \
	test "$(bans_without_ttl)" = "$bans_before"

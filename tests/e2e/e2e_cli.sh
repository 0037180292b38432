#!/usr/bin/env bash
# End to end: the edgeguard CLI against real TCP and ICMP traffic, with no daemon.
# The root namespace is the protected host (edgeguard attaches to its veth end);
# the client lives in namespace egc-cli. Pins go to a directory of this test's own.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egc-cli
HOST_IF=egc-h
CLI_IF=egc-c
PORT=18080
H4=203.0.113.65 C4=203.0.113.66 C4B=203.0.113.67
H6=2001:db8:e9::1 C6=2001:db8:e9::2
# A second interface for the per-interface counters: 203.0.113.68/30 (inside
# the first link's /29, so the more specific route takes it).
NS2=egc-cli2
HOST2_IF=egc-h2
CLI2_IF=egc-c2
H4_2=203.0.113.69 C4_2=203.0.113.70
lab_dirs edgeguard-test-cli egc

cleanup() {
	stop_server
	lab_detach "$HOST2_IF" "$HOST_IF"
	lab_remove "$NS2" "$HOST2_IF"
	lab_remove "$NS" "$HOST_IF"
	lab_cleanup_pins
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

# check_delta NAME GOT WANT
check_delta() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "moved by '$2', want $3"; fi; }
# iface_counter IFNAME REASON: that interface's verdict counter (empty when not listed).
iface_counter() {
	$EG stats --json | jq -r --arg i "$1" --arg r "$2" '.interfaces[$i][$r] // empty'
}

# The lab.
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" || die lab "cannot set up $HOST_IF/$CLI_IF"
ip addr add "$H6/64" dev "$HOST_IF" nodad
in_ns ip addr add "$C6/64" dev "$CLI_IF" nodad
start_server 50 --seconds 120 "$H4:$PORT" "[$H6]:$PORT"

# Attach, idempotently; refuse what does not exist or is misspelt.
out=$($EG attach "$HOST_IF" 2>&1); rc=$?
check attach_succeeds test "$rc" -eq 0
out=$($EG attach "$HOST_IF" 2>&1); rc=$?
check attach_twice_is_a_no_op test "$rc" -eq 0 -a "$out" = "edgeguard already attached to $HOST_IF"
out=$($EG attach egc-nosuch 2>&1); rc=$?
check attach_unknown_interface_fails test "$rc" -eq 1 -a "$out" = "edgeguard: unknown interface 'egc-nosuch'"
out=$($EG attach "$HOST_IF" --xdp-mode turbo 2>&1); rc=$?
check bad_xdp_mode_is_a_usage_error test "$rc" -eq 2
out=$($EG frobnicate 2>&1); rc=$?
check unknown_command_is_a_usage_error test "$rc" -eq 2
status=$($EG status --json)
check status_lists_the_interface jq -e --arg i "$HOST_IF" '.interfaces[] | select(.name == $i)' <<<"$status"
check status_shows_the_xdp_mode jq -e '.interfaces[0].xdp_mode | test("^(native|skb)$")' <<<"$status"
check xdp_program_is_on_the_link bash -c "ip -d link show $HOST_IF | grep -q xdp"

# Bans take effect for new connections and for traffic already flowing.
check client_connects_before_any_ban connects "$H4:$PORT"
in_ns ping -c 25 -i 0.2 -W 1 "$H4" >"$WORK/ping.log" 2>&1 &
PING_PID=$!
sleep 1.5
$EG ban "$C4" >/dev/null
check new_connection_refused_after_ban refused "$H4:$PORT"
wait "$PING_PID"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.log")
if [ -n "$received" ] && [ "$received" -gt 0 ] && [ "$received" -lt 25 ]; then
	ok "running_ping_stops_at_the_ban"
else
	fail running_ping_stops_at_the_ban "received '$received' of 25 echo replies; want some, not all"
fi
check other_address_of_same_client_still_connects connects "$H4:$PORT" "$C4B"
banned=$(counter banned)
check banned_counter_moved test "${banned:-0}" -gt 0
out=$($EG bans --json)
check bans_lists_the_manual_ban jq -e --arg a "$C4" '.[] | select(.address == $a)' <<<"$out"
$EG unban "$C4" >/dev/null
check connects_again_after_unban connects "$H4:$PORT"
out=$($EG unban "$C4" 2>&1); rc=$?
check unban_of_absent_ban_fails test "$rc" -eq 1 -a "$out" = "edgeguard: $C4 is not banned"

# A TTL is enforced by the kernel alone: nothing runs between ban and expiry.
$EG ban "$C4" --ttl 2 >/dev/null
check refused_during_ttl refused "$H4:$PORT"
sleep 3
check connects_after_ttl_expired connects "$H4:$PORT"

# Lock-out guards: a ban covering this host, its SSH client or everything needs --force.
out=$($EG ban 203.0.113.64/30 2>&1); rc=$?
check_why guard_refuses_a_ban_covering_this_host "rc $rc: $out" test "$rc" -eq 1 -a \
	"$out" = "edgeguard: refusing to ban 203.0.113.64/30: it covers $H4, an address of this host ($HOST_IF) (--force to do it anyway)"
check guard_refusal_bans_nothing test -z "$(ban_of 203.0.113.64/30)"
out=$(SSH_CONNECTION="198.18.200.7 50022 $H4 22" $EG ban 198.18.200.0/24 2>&1); rc=$?
check_why guard_refuses_the_ssh_client "rc $rc: $out" test "$rc" -eq 1 -a \
	"$out" = "edgeguard: refusing to ban 198.18.200.0/24: it covers 198.18.200.7, the client of this SSH session (--force to do it anyway)"
out=$(SSH_CLIENT="198.18.200.7 50022 22" $EG ban 198.18.200.7 2>&1); rc=$?
check_why guard_reads_ssh_client_too "rc $rc: $out" test "$rc" -eq 1
out=$($EG ban ::/0 2>&1); rc=$?
check_why guard_refuses_everything "rc $rc: $out" test "$rc" -eq 1 -a \
	"$out" = "edgeguard: refusing to ban ::/0: it covers every IPv6 address (--force to do it anyway)"
out=$($EG ban 0.0.0.0/0 2>&1); rc=$?
check_why guard_refuses_every_ipv4_address "rc $rc: $out" test "$rc" -eq 1
$EG ban 0.0.0.0/0 --force --ttl 600 >/dev/null
check forced_ban_of_everything_holds refused "$H4:$PORT"
check forced_ban_of_everything_listed test -n "$(ban_of 0.0.0.0/0)"
$EG unban 0.0.0.0/0 >/dev/null
check connects_after_the_forced_ban_is_lifted connects "$H4:$PORT"

# CIDR bans cover every address inside (this one covers the host's own address too).
$EG ban 203.0.113.64/30 --force >/dev/null
check cidr_ban_refuses_first_address refused "$H4:$PORT"
check cidr_ban_refuses_second_address refused "$H4:$PORT" "$C4B"
cidr=$(counter banned_cidr)
check banned_cidr_counter_moved test "${cidr:-0}" -gt 0

# Allow beats ban.
$EG allow add "$C4" >/dev/null
check allowlisted_source_passes_a_cidr_ban connects "$H4:$PORT"
check non_allowlisted_neighbour_still_banned refused "$H4:$PORT" "$C4B"
$EG allow del "$C4" >/dev/null
check allow_del_restores_the_ban refused "$H4:$PORT"
$EG unban 203.0.113.64/30 >/dev/null

# IPv6: exact and CIDR bans.
check ipv6_connects connects "[$H6]:$PORT"
$EG ban "$C6" >/dev/null
check ipv6_exact_ban_refuses refused "[$H6]:$PORT"
$EG unban "$C6" >/dev/null
$EG ban 2001:db8:e9::/64 --force >/dev/null
check ipv6_cidr_ban_refuses refused "[$H6]:$PORT"
check ipv4_unaffected_by_ipv6_ban connects "$H4:$PORT"
$EG unban 2001:db8:e9::/64 >/dev/null
check ipv6_connects_after_unban connects "[$H6]:$PORT"

# Bad input: one line, exit 2 (a malformed argument is a usage error everywhere), nothing changed.
out=$($EG ban 10.0.0.300 2>&1); rc=$?
check_why bad_address_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2 -a \
	"$out" = "edgeguard ban: '10.0.0.300' is not an IPv4 address (see 'edgeguard ban --help')"
out=$($EG ban 10.0.0.0/33 2>&1); rc=$?
check_why too_long_prefix_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2
out=$($EG unban nonsense 2>&1); rc=$?
check_why unban_bad_address_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2
out=$($EG allow add 10.1.2.3/40 2>&1); rc=$?
check_why allow_bad_prefix_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2
out=$($EG ban 203.0.113.11 --reason "$(printf '%0200d' 0)" 2>&1); rc=$?
check_why too_long_reason_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2
# -j: errors too are one JSON object on one line of stderr, with the exit status in it.
out=$($EG -j ban 10.0.0.300 2>&1 >/dev/null); rc=$?
check_why json_usage_error_is_one_object "rc $rc: $out" test "$rc" -eq 2 -a \
	"$out" = '{"error":"'"'10.0.0.300'"' is not an IPv4 address","command":"ban","exit":2}'
out=$($EG -j unban 203.0.113.77 2>&1 >/dev/null); rc=$?
check_why json_failure_is_one_object "rc $rc: $out" test "$rc" -eq 1 -a \
	"$out" = '{"error":"203.0.113.77 is not banned","command":"unban","exit":1}'
out=$($EG -j nosuchcommand 2>&1 >/dev/null); rc=$?
check_why json_unknown_command_is_one_object "rc $rc: $out" test "$rc" -eq 2 -a \
	"$out" = '{"error":"unknown command '"'nosuchcommand'"'","exit":2}'
# -j: results are JSON too, on stdout.
out=$($EG -j ban 203.0.113.12 --ttl 10m); rc=$?
check_why json_ban_result "rc $rc: $out" test "$rc" -eq 0 -a \
	"$out" = '{"action":"banned","address":"203.0.113.12","ttl":600}'
out=$($EG -j unban 203.0.113.12); rc=$?
check_why json_unban_result "rc $rc: $out" test "$rc" -eq 0 -a \
	"$out" = '{"action":"unbanned","address":"203.0.113.12"}'
out=$($EG --version); rc=$?
check_why version_printed "rc $rc: $out" sh -c "test $rc -eq 0 && echo '$out' | grep -Eq '^edgeguard [0-9]+\.[0-9]+\.[0-9]+'"
check_why json_version "$($EG -j --version)" sh -c "$EG -j --version | grep -Eq '^\{\"version\":\"[0-9.]+\"\}\$'"
out=$($EG ban 203.0.113.10 --ttl 10x 2>&1); rc=$?
check_why bad_duration_is_a_usage_error "rc $rc: $out" test "$rc" -eq 2 -a \
	"$out" = "edgeguard ban: --ttl: '10x' is not a duration: seconds (600), or 90s, 10m, 4h, 7d, or permanent (see 'edgeguard ban --help')"
check bad_duration_bans_nothing test -z "$(ban_of 203.0.113.10)"
$EG ban 203.0.113.10 --ttl 10m >/dev/null
ttl=$(ttl_of 203.0.113.10)
check_why duration_with_a_unit "expires_in $ttl" test "${ttl:-0}" -gt 590 -a "${ttl:-0}" -le 600
$EG ban 203.0.113.10 --ttl permanent >/dev/null
check_why permanent_duration "$(ban_of 203.0.113.10)" jq -e '.permanent == true' <<<"$(ban_of 203.0.113.10)"
$EG unban 203.0.113.10 >/dev/null

# Policies: check touches nothing; load keeps bans; status names the file.
$EG ban 203.0.113.9 --ttl 600 >/dev/null
echo '{"policies": [{"port": 0}]}' >"$WORK/bad.json"
out=$($EG policy check "$WORK/bad.json" 2>&1); rc=$?
check policy_check_rejects_a_bad_file test "$rc" -eq 1
check policy_error_names_file_and_path grep -q "bad.json: policies\[0\]" <<<"$out"
out=$($EG policy check examples/websocket-gateway.json 2>&1); rc=$?
check policy_check_accepts_the_example test "$rc" -eq 0
# "-" reads the standard input; errors name it.
out=$($EG policy check - <examples/websocket-gateway.json 2>&1); rc=$?
check_why policy_check_reads_stdin "rc $rc: $out" test "$rc" -eq 0 -a "${out#<stdin>: ok}" != "$out"
out=$($EG policy check - <"$WORK/bad.json" 2>&1); rc=$?
check_why policy_check_stdin_error_names_stdin "rc $rc: $out" sh -c "test $rc -eq 1 && grep -q '^edgeguard: <stdin>: policies\[0\]' <<'E'
$out
E"
out=$($EG -j policy check - <examples/websocket-gateway.json); rc=$?
check_why json_policy_check "rc $rc: $out" jq -e '.ok == true and .policy.file == "<stdin>" and (.policy.hash | length) > 0' <<<"$out"
out=$($EG policy load examples/websocket-gateway.json 2>&1); rc=$?
check policy_load_succeeds test "$rc" -eq 0
out=$($EG bans --json)
check policy_load_keeps_manual_bans jq -e '.[] | select(.address == "203.0.113.9")' <<<"$out"
status=$($EG status --json)
check status_names_the_policy_file jq -e '.policy.file | endswith("websocket-gateway.json")' <<<"$status"
hash_before=$(jq -r '.policy.hash' <<<"$status")
out=$($EG policy load "$WORK/bad.json" 2>&1); rc=$?
check policy_load_of_bad_file_fails test "$rc" -eq 1
check bad_load_leaves_policy_in_force test "$(policy_hash)" = "$hash_before"

# Per-interface counters: a second interface gets a slot of its own; drops
# there move its counters and the global ones, never the first interface's.
veth_pair "$HOST2_IF" "$CLI2_IF" "$NS2" 30 "$H4_2" "$C4_2"
out=$($EG attach "$HOST2_IF" 2>&1); rc=$?
check attach_second_interface test "$rc" -eq 0
stats=$($EG stats --json)
check stats_lists_both_interfaces \
	test "$(jq -r '.interfaces | keys | join(",")' <<<"$stats")" = "$HOST_IF,$HOST2_IF"
check stats_keeps_top_level_counters test "$(jq -r '.banned' <<<"$stats")" = "$(counter banned)"
check second_interface_starts_at_zero test "$(iface_counter "$HOST2_IF" banned)" = 0
check ping_over_second_interface bash -c "ip netns exec $NS2 ping -c 3 -i 0.2 -W 2 $H4_2 >/dev/null"
passed2=$(iface_counter "$HOST2_IF" passed)
check second_interface_counts_its_passes test "${passed2:-0}" -ge 3
g_before=$(counter banned)
b1_before=$(iface_counter "$HOST_IF" banned)
$EG ban "$C4_2" >/dev/null
ip netns exec "$NS2" ping -c 5 -i 0.2 -W 1 "$H4_2" >/dev/null 2>&1
check_delta second_interface_banned_moved "$(iface_counter "$HOST2_IF" banned)" 5
check_delta first_interface_banned_unmoved "$(( $(iface_counter "$HOST_IF" banned) - b1_before ))" 0
check_delta global_banned_moved_as_much "$(( $(counter banned) - g_before ))" 5
check stats_text_shows_interface_table \
	bash -c "$EG stats | grep -A20 '^interface $HOST2_IF:' | grep -Eq '^  banned +5\$'"
$EG unban "$C4_2" >/dev/null
out=$($EG detach "$HOST2_IF" 2>&1); rc=$?
check detach_second_interface test "$rc" -eq 0 -a -e "$EDGEGUARD_BPF_DIR"
check detach_frees_the_slot test -z "$(iface_counter "$HOST2_IF" passed)"
check detach_keeps_the_other_slot test -n "$(iface_counter "$HOST_IF" passed)"
$EG attach "$HOST2_IF" >/dev/null
check reattached_slot_starts_at_zero test "$(iface_counter "$HOST2_IF" banned)" = 0
$EG detach "$HOST2_IF" >/dev/null

# Detach removes what attach made.
out=$($EG detach "$HOST_IF" 2>&1); rc=$?
check detach_succeeds test "$rc" -eq 0
check no_xdp_left_on_the_link bash -c "! ip -d link show $HOST_IF | grep -q 'prog/xdp'"
check pins_removed_after_last_detach test ! -e "$EDGEGUARD_BPF_DIR"
out=$($EG bans 2>&1); rc=$?
check bans_without_attach_says_so test "$rc" -eq 1
check client_connects_after_detach connects "$H4:$PORT"

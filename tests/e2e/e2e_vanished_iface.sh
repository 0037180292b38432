#!/usr/bin/env bash
# End to end: interfaces that go away while edgeguard is attached (issue 8,
# item 14). `status` names them and exits 1; `edgeguard detach NAME` by the
# old name cleans up what they left (interface slot, qdisc marker) and, with
# the last one, the pins; `status` also exits 1 when the maps are pinned but
# nothing runs edgeguard. No traffic: veth pairs egx-va*, egx-vb*, egx-vc*.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/egx-vanished
export EDGEGUARD_RUN_DIR
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egx-run.XXXXXX)
A=egx-va0 B=egx-vb0 C=egx-vc0

need_files "$EG"

cleanup() {
	local i
	for i in $A $B $C; do
		ip link show "$i" >/dev/null 2>&1 && $EG detach "$i" >/dev/null 2>&1
		ip link del "$i" 2>/dev/null
	done
	lab_cleanup_pins
	rm -rf "$EDGEGUARD_RUN_DIR"
}
trap cleanup EXIT
trap "exit 1" INT TERM

pair() { ip link add "$1" type veth peer name "${1%0}1" && ip link set "$1" up; }
markers() { find "$EDGEGUARD_RUN_DIR" -name 'clsact-*' | wc -l; }
quiet() { "$@" >/dev/null 2>&1; }
slot_names() { $EG stats --json | jq -c '.interfaces | keys'; }

pair $A && pair $B || die lab "cannot create the veth pairs"
$EG attach $A >/dev/null && $EG attach $B >/dev/null || die attach "edgeguard attach failed"
idx_a=$(cat /sys/class/net/$A/ifindex)
check two_markers test "$(markers)" -eq 2
check status_ok_while_attached quiet $EG status

# A is deleted while attached: no detach ran.
ip link del $A
out=$($EG status 2>&1); rc=$?
check_why status_fails_with_a_missing_interface "rc $rc" test "$rc" -eq 1
check_why status_names_the_missing_interface "$(head -3 <<<"$out")" grep -q "^missing: *$A (ifindex $idx_a): deleted while attached; run 'edgeguard detach $A'" <<<"$out"
out=$($EG status --json); rc=$?
check_why status_json_fails_too "rc $rc" test "$rc" -eq 1
check_why status_json_lists_it "$(jq -c .missing <<<"$out")" \
	jq -e --arg a "$A" --argjson i "$idx_a" '.missing[] | select(.name == $a and .ifindex == $i and .exists == false)' <<<"$out"

out=$($EG detach $A 2>&1); rc=$?
check_why detach_of_a_deleted_interface_works "rc $rc: $out" test "$rc" -eq 0
check_why detach_says_what_it_did "$out" grep -q "^detached from $A (it no longer ran edgeguard" <<<"$out"
check its_marker_is_gone test ! -e "$EDGEGUARD_RUN_DIR/clsact-$idx_a"
check_why its_slot_is_free "$(slot_names)" test -z "$(slot_names | grep "\"$A\"")"
check pins_stay_for_the_other test -e "$EDGEGUARD_BPF_DIR/eg_config"
check status_ok_again quiet $EG status
out=$($EG detach $A 2>&1); rc=$?
check_why second_detach_is_an_error "rc $rc: $out" test "$rc" -eq 1 -a "$out" = "edgeguard: unknown interface '$A'"

# The last interface goes the same way: the pins go with its detach.
ip link del $B
out=$($EG detach $B 2>&1); rc=$?
check_why detach_of_the_last_deleted_interface "rc $rc: $out" test "$rc" -eq 0
check_why last_detach_removes_the_pins "$out" grep -q "no interface left: removed the pinned maps" <<<"$out"
check pins_removed test ! -e "$EDGEGUARD_BPF_DIR"
check no_markers_left test "$(markers)" -eq 0
out=$($EG status 2>&1); rc=$?
check_why status_fails_when_not_attached "rc $rc: $(head -2 <<<"$out")" test "$rc" -eq 1

# Someone else removes the XDP program: pinned maps, nothing running edgeguard.
pair $C || die lab "cannot create $C"
$EG attach $C >/dev/null || die attach_c "edgeguard attach $C failed"
ip link set dev $C xdpgeneric off 2>/dev/null; ip link set dev $C xdp off 2>/dev/null
out=$($EG status 2>&1); rc=$?
check_why status_fails_with_pins_but_nothing_running "rc $rc: $(head -2 <<<"$out")" test "$rc" -eq 1
check_why status_says_it_no_longer_runs "$(head -3 <<<"$out")" grep -q "^missing: *$C .*no longer runs edgeguard" <<<"$out"
out=$($EG detach $C 2>&1); rc=$?
check_why detach_of_an_interface_without_the_program "rc $rc: $out" test "$rc" -eq 0
check pins_removed_after_it test ! -e "$EDGEGUARD_BPF_DIR"
check its_qdisc_is_gone test -z "$(tc qdisc show dev $C | grep clsact)"
exit 0

#!/usr/bin/env bash
# End to end: every interface slot in use (issue 9: status once used 256
# interfaces where the datapath has EG_MAX_IFACES). edgeguard attaches to 63
# veths; the 64th attach is refused with a clear error and changes nothing;
# status and stats --json list all 63, each with its own slot. Also -v: the
# libbpf and libxdp diagnostics show with it and never without. No traffic:
# veth pairs egl-a<N>/egl-b<N>.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

export EDGEGUARD_BPF_DIR=/sys/fs/bpf/egl-limit
export EDGEGUARD_RUN_DIR
EDGEGUARD_RUN_DIR=$(mktemp -d /tmp/egl-run.XXXXXX)
MAX=63 # EG_MAX_IFACES - 1: slot 0 counts for loads that attach nowhere
ERR=$(mktemp /tmp/egl-err.XXXXXX)

need_files "$EG"
need_commands jq

cleanup() {
	local i
	for ((i = 0; i <= MAX; i++)); do
		ip link show "egl-a$i" >/dev/null 2>&1 || continue
		$EG detach "egl-a$i" >/dev/null 2>&1
		ip link del "egl-a$i" 2>/dev/null
	done
	lab_cleanup_pins
	rm -rf "$EDGEGUARD_RUN_DIR" "$ERR"
}
trap cleanup EXIT
trap "exit 1" INT TERM

for ((i = 0; i <= MAX; i++)); do
	ip link add "egl-a$i" type veth peer name "egl-b$i" && ip link set "egl-a$i" up ||
		die lab "cannot create veth pair egl-a$i"
done

$EG -v attach egl-a0 >/dev/null 2>"$ERR" || die attach_verbose "$(tail -1 "$ERR")"
check_why verbose_attach_shows_library_diagnostics "$(head -c 300 "$ERR")" \
	grep -qE '^lib(bpf|xdp): ' "$ERR"
$EG attach egl-a1 >/dev/null 2>"$ERR" || die attach_quiet "$(tail -1 "$ERR")"
check_why quiet_attach_shows_none "$(head -c 300 "$ERR")" test ! -s "$ERR"

bad=0
for ((i = 2; i < MAX; i++)); do
	$EG attach "egl-a$i" >/dev/null 2>"$ERR" || { bad=$((bad + 1)); echo "# egl-a$i: $(tail -1 "$ERR")"; }
done
check_eq all_slots_attach 0 "$bad"

before=$($EG stats --json | jq -c '.interfaces | keys')
out=$($EG attach "egl-a$MAX" 2>&1); rc=$?
check_why one_more_is_refused "rc $rc: $out" test "$rc" -eq 1
check_why refusal_says_why "$out" \
	test "$out" = "edgeguard: too many interfaces: edgeguard runs on at most $MAX; detach one first"
check_why refused_interface_has_no_program "$(ip link show "egl-a$MAX" | grep -o 'prog/xdp.*')" \
	test -z "$(ip link show "egl-a$MAX" | grep -o 'prog/xdp')"
check_why refusal_changes_no_slot "$($EG stats --json | jq -c '.interfaces | keys' | head -c 200)" \
	test "$($EG stats --json | jq -c '.interfaces | keys')" = "$before"

st=$($EG status --json); rc=$?
check_why status_ok_with_every_slot "rc $rc" test "$rc" -eq 0
check_eq status_lists_every_interface "$MAX" "$(jq '.interfaces | length' <<<"$st")"
check_eq status_text_lists_every_interface "$MAX" "$($EG status | grep -o 'egl-a[0-9]* (xdp' | wc -l)"
check_eq stats_has_a_row_per_interface "$MAX" "$($EG stats --json | jq '.interfaces | length')"
missing=$(jq -r '.interfaces[].name' <<<"$st" | sort | comm -13 - <(for ((i = 0; i < MAX; i++)); do echo "egl-a$i"; done | sort))
check_why status_names_each_one "missing: $missing" test -z "$missing"

# A slot freed by detach is taken by the next attach.
$EG detach egl-a5 >/dev/null || fail detach_one "edgeguard detach egl-a5 failed"
out=$($EG attach "egl-a$MAX" 2>&1); rc=$?
check_why freed_slot_is_reused "rc $rc: $out" test "$rc" -eq 0
check_eq still_every_slot "$MAX" "$($EG status --json | jq '.interfaces | length')"

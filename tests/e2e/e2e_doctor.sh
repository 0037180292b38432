#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End to end: `edgeguard doctor` reports the wrong values a test sets, and
# stops reporting them once they are right. The host settings are those of
# a network namespace of this test's own (nsenter --net keeps the host's
# /sys, so the pinned maps stay visible); the protected service is a
# listener in it with a small open-files limit and a small backlog.
# edgeguard attaches to the root end of a veth pair; a policy that limits
# SSH hard shows as a lock-out risk until the SSH client is allowlisted.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egp-doc
HOST_IF=egp-dh
PEER_IF=egp-dc
H4=198.18.77.1 C4=198.18.77.2
SSH_CLIENT=192.0.2.44
PY=/usr/bin/python3
lab_dirs egp-doctor egp-doc
SVC_PID=

cleanup() {
	stop_pid "$SVC_PID"
	kill_daemon
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

need_commands jq nsenter "$PY" || exit 1
lab_remove "$NS" "$HOST_IF"
veth_pair "$HOST_IF" "$PEER_IF" "$NS" 30 "$H4" "$C4" || die setup "cannot build the lab"

in_net() { nsenter --net="/run/netns/$NS" "$@"; }
# doctor ARGS...: `edgeguard -j doctor` in the lab's namespace; the report in $WORK/doc.json, its status in $DOC_RC.
# DOCTOR_NET=root: in the root namespace instead, where the attached interface is.
DOCTOR_NET=lab
doctor() {
	local run=in_net
	[ "$DOCTOR_NET" = root ] && run=
	$run env SSH_CONNECTION="$SSH_CLIENT 50022 $H4 22" $EG -j doctor "$@" >"$WORK/doc.json" 2>"$WORK/doc.err"
	DOC_RC=$?
}
# status_of CHECK: its status in the last report.
status_of() { jq -r --arg c "$1" '.checks[] | select(.check == $c) | .status' "$WORK/doc.json"; }
found_of() { jq -r --arg c "$1" '.checks[] | select(.check == $c) | .found' "$WORK/doc.json"; }
# check_fix CHECK WANT-IN-FOUND: needs fixing, shows the value found, and says what, why and how.
check_fix() {
	check_why "reports_$1" "$(jq -c --arg c "$1" '.checks[] | select(.check == $c)' "$WORK/doc.json")" \
		jq -e --arg c "$1" --arg f "$2" '.checks[] | select(.check == $c) |
			.status == "fix" and (.found | contains($f)) and
			(.recommended | length) > 0 and (.why | length) > 0 and (.fix | length) > 0' \
		"$WORK/doc.json"
}
check_ok() { check_eq "$1_ok_$2" "$(status_of "$1")" ok; }

# A service: listens on tcp/8080 with backlog $1, under an open-files limit of $2.
start_service() {
	stop_pid "$SVC_PID"
	# nsenter itself, not a function around it: $! must be the service.
	nsenter --net="/run/netns/$NS" sh -c "ulimit -n $2 && exec $PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"$C4\", 8080))
s.listen($1)
print(\"listening\", flush=True)
time.sleep(120)
'" >"$WORK/svc.log" 2>&1 &
	SVC_PID=$!
	wait_for_line "$WORK/svc.log" listening "$SVC_PID" 50
}

# ---- wrong values everywhere ------------------------------------------------
for s in net.core.somaxconn=128 net.ipv4.tcp_max_syn_backlog=128 net.ipv4.tcp_syncookies=0 \
	"net.ipv4.ip_local_port_range=50000 50100" net.ipv4.tcp_keepalive_time=7200 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0; do
	in_net sysctl -qw "$s" >/dev/null || die setup "cannot set $s in $NS"
done
start_service 1024 256 || die setup "the service did not start"

doctor --pid "$SVC_PID"
check_eq exits_1_when_something_needs_fixing "$DOC_RC" 1
check_why report_is_json "$(head -c 300 "$WORK/doc.json")" jq -e '.need_fixing > 0 and (.checks | length) > 10' "$WORK/doc.json"
check_eq need_fixing_counts_the_fixes "$(jq '.need_fixing' "$WORK/doc.json")" \
	"$(jq '[.checks[] | select(.status == "fix")] | length' "$WORK/doc.json")"
check_fix net.core.somaxconn 128
check_fix net.ipv4.tcp_max_syn_backlog 128
check_fix net.ipv4.tcp_syncookies 0
check_fix net.ipv4.ip_local_port_range "50000 50100"
check_fix net.ipv4.tcp_keepalive 7200
check_fix service.open_files "limit 256"
# listen(1024) clamped by somaxconn=128: the kernel's figure, not the program's.
check_fix service.listen_backlog "port 8080: backlog 128"
check_fix edgeguard.attached "no interface runs edgeguard"
check_fix default.rp_filter 0
check_fix edgeguardd.answering "no daemon"
check_why service_fix_names_the_pid "$(found_of service.open_files)" \
	jq -e --arg p "$SVC_PID" '.checks[] | select(.check == "service.open_files") | .fix | contains("prlimit --pid " + $p)' "$WORK/doc.json"

# The text form: the same checks, with recommended, why and fix under each one to fix.
in_net $EG doctor --pid "$SVC_PID" >"$WORK/doc.txt" 2>&1; rc=$?
check_eq text_exits_1 "$rc" 1
check_why text_shows_found_value "$(grep somaxconn "$WORK/doc.txt")" grep -Eq '^net\.core\.somaxconn +fix +128$' "$WORK/doc.txt"
check_why text_shows_recommendation "$(cat "$WORK/doc.txt")" grep -A3 '^net\.core\.somaxconn' "$WORK/doc.txt" -q -e '    recommended: at least 4096'
check_why text_shows_the_fix "$(cat "$WORK/doc.txt")" grep -q '    fix: sysctl -w net.core.somaxconn=4096' "$WORK/doc.txt"
check_why text_counts "$(tail -1 "$WORK/doc.txt")" grep -Eq '^[0-9]+ checks need fixing$' "$WORK/doc.txt"

# Usage errors.
out=$($EG doctor --pid 0 2>&1); rc=$?
check_why pid_zero_is_usage_error "rc $rc: $out" test "$rc" -eq 2
out=$($EG doctor --pid 1 --unit x.service 2>&1); rc=$?
check_why pid_and_unit_is_usage_error "rc $rc: $out" test "$rc" -eq 2
out=$($EG -j doctor --pid abc 2>&1 >/dev/null); rc=$?
check_why json_usage_error "rc $rc: $out" jq -e '.exit == 2 and .command == "doctor"' <<<"$out"

# ---- edgeguard attached, with a policy that would cut SSH off ----------------
cat >"$WORK/policy.json" <<EOF
{ "policies": [ { "name": "strict", "protocol": "tcp", "port": 22,
  "syn": { "rate": 1, "burst": 2 }, "max_conns": 2, "ban_after": 5, "ban_window": 10, "ban_ttl": 600 } ] }
EOF
$EG attach "$HOST_IF" --policy "$WORK/policy.json" >/dev/null 2>"$WORK/attach.err" ||
	die attach "$(cat "$WORK/attach.err")"
# The interfaces are the root namespace's: doctor runs there from now on.
DOCTOR_NET=root
doctor
check_ok edgeguard.attached lists_the_interface
check_why attached_names_the_interface "$(found_of edgeguard.attached)" test "$(found_of edgeguard.attached)" = "$HOST_IF"
check_fix policy.ssh_lockout "policy 'strict'"
check_why ssh_fix_allowlists_the_client "$(cat "$WORK/doc.json")" \
	jq -e --arg c "$SSH_CLIENT" '.checks[] | select(.check == "policy.ssh_lockout") | .fix | contains("edgeguard allow add " + $c)' "$WORK/doc.json"
check_why xdp_mode_reported "$(cat "$WORK/doc.json")" \
	jq -e --arg i "$HOST_IF" '[.checks[] | select(.check | startswith($i + ".xdp_mode"))] | length == 1' "$WORK/doc.json"
check_why queues_reported "$(cat "$WORK/doc.json")" \
	jq -e --arg i "$HOST_IF" '[.checks[] | select(.check | startswith($i + ".rx_queues"))] | length == 1' "$WORK/doc.json"
check_why map_fill_reported "$(found_of edgeguard.map_fill)" test "$(status_of edgeguard.map_fill)" = ok

$EG allow add "$SSH_CLIENT" >/dev/null
start_daemon || die daemon "the daemon did not start: $(cat "$WORK/daemon.err")"
doctor
check_ok policy.ssh_lockout once_the_client_is_allowlisted
check_ok edgeguardd.answering once_the_daemon_runs

# ---- right values: nothing left to fix --------------------------------------
for s in net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 net.ipv4.tcp_syncookies=1 \
	"net.ipv4.ip_local_port_range=1024 65535" net.ipv4.tcp_keepalive_time=300 \
	net.ipv4.tcp_keepalive_intvl=30 net.ipv4.tcp_keepalive_probes=5 \
	net.ipv4.conf.all.rp_filter=1; do
	in_net sysctl -qw "$s" >/dev/null || die setup "cannot set $s in $NS"
done
# rp_filter of the attached interface is the root namespace's: set it there, for this veth only.
sysctl -qw "net.ipv4.conf.$HOST_IF.rp_filter=1"
# As high as this machine lets us (a sandbox may cap the hard limit without CAP_SYS_RESOURCE).
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
[ "$HARD" -gt 1048576 ] && HARD=1048576
start_service 8192 "$HARD" || die setup "the service did not restart: $(cat "$WORK/svc.log")"
DOCTOR_NET=lab
doctor --pid "$SVC_PID"
for c in net.core.somaxconn net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_syncookies \
	net.ipv4.ip_local_port_range net.ipv4.tcp_keepalive service.listen_backlog; do
	check_ok "$c" once_set_right
done
if [ "$HARD" -ge 65536 ]; then
	check_ok service.open_files once_set_right
else
	check_fix service.open_files "limit $HARD (hard $HARD)"
fi
check_why backlog_found_as_set "$(found_of service.listen_backlog)" \
	test "$(found_of service.listen_backlog)" = "port 8080: backlog 8192, 0 waiting"
DOCTOR_NET=root
doctor
check_ok "$HOST_IF.rp_filter" once_set_right

# ---- another /proc: EDGEGUARD_PROC_DIR -------------------------------------
mkdir -p "$WORK/proc/sys/fs"
echo 1000 >"$WORK/proc/sys/fs/file-max"
printf '900\t0\t1000\n' >"$WORK/proc/sys/fs/file-nr"
EDGEGUARD_PROC_DIR=$WORK/proc $EG -j doctor >"$WORK/doc.json" 2>/dev/null
check_fix fs.file-max "1000"
check_eq unreadable_setting_is_skipped "$(status_of net.core.somaxconn)" skip

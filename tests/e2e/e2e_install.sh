#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Deployment: `make install` into a DESTDIR (never the real system paths),
# reinstall keeps the operator's configuration, uninstall; the systemd units
# pass systemd-analyze verify and security; the generator enables an attach
# unit per configured interface; logrotate accepts its file; the Debian
# package builds with dpkg-buildpackage and holds what it should; and the
# packaged binaries, run from the unpacked package with the packaged policy,
# protect an interface (a banned client is cut off), and the packaged
# daemon reopens its event file on SIGUSR1 as logrotate expects. The package
# installed with dpkg -i and purged: e2e_install_deb.sh.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egp-inst
HOST_IF=egp-ih
PEER_IF=egp-ic
H4=198.18.78.1 C4=198.18.78.2
PORT=18443
lab_dirs egp-install egp-inst
DEST=$WORK/dest
cleanup() {
	stop_server
	kill_daemon
	ipt_undo
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM
need_commands jq systemd-analyze dpkg-buildpackage dpkg-deb logrotate || exit 1

# ---- make install / uninstall --------------------------------------------------
out=$(make -s install DESTDIR="$DEST" PREFIX=/usr 2>&1); rc=$?
check_why install_succeeds "rc $rc: $out" test "$rc" -eq 0
for f in usr/sbin/edgeguard usr/sbin/edgeguardd usr/share/man/man8/edgeguard.8 \
	usr/share/man/man8/edgeguardd.8 usr/lib/systemd/system/edgeguard.service \
	usr/lib/systemd/system/edgeguard-attach@.service \
	usr/lib/systemd/system-generators/edgeguard-generator etc/logrotate.d/edgeguard \
	usr/share/bash-completion/completions/edgeguard etc/edgeguard/edgeguard.conf \
	etc/edgeguard/policy.json usr/share/doc/edgeguard/examples/websocket-gateway.json; do
	check "installs_$f" test -s "$DEST/$f"
done
check installed_programs_executable test -x "$DEST/usr/sbin/edgeguard" -a -x "$DEST/usr/sbin/edgeguardd"
check_why units_name_the_installed_programs "$(grep Exec "$DEST"/usr/lib/systemd/system/*.service)" \
	sh -c "grep -q '^ExecStart=/usr/sbin/edgeguardd ' '$DEST/usr/lib/systemd/system/edgeguard.service' &&
		grep -q '^ExecStart=/usr/sbin/edgeguard attach %I ' '$DEST/usr/lib/systemd/system/edgeguard-attach@.service' &&
		! grep -rq '@[A-Z]*@' '$DEST/usr/lib/systemd'"
check_why installed_version_runs "$("$DEST/usr/sbin/edgeguard" --version)" \
	test "$("$DEST/usr/sbin/edgeguard" --version)" = "edgeguard $(sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)"
check_why installed_policy_is_valid "$("$DEST/usr/sbin/edgeguard" policy check "$DEST/etc/edgeguard/policy.json" 2>&1)" \
	"$DEST/usr/sbin/edgeguard" policy check "$DEST/etc/edgeguard/policy.json"
check_why completion_parses "$(bash -n "$DEST/usr/share/bash-completion/completions/edgeguard" 2>&1)" \
	bash -n "$DEST/usr/share/bash-completion/completions/edgeguard"
# The completion offers every command of the CLI.
cmds=$($EG --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort -u)
missing=$(for c in $cmds; do grep -q "\b$c\b" dist/edgeguard.bash-completion || echo "$c"; done)
check_why completion_knows_every_command "missing: $missing" test -z "$missing"

# A reinstall leaves the operator's configuration alone; uninstall leaves it too.
echo 'INTERFACES="egp-mine"' >>"$DEST/etc/edgeguard/edgeguard.conf"
make -s install DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1
check reinstall_keeps_the_configuration grep -q '^INTERFACES="egp-mine"' "$DEST/etc/edgeguard/edgeguard.conf"
make -s uninstall DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1
left=$(cd "$DEST" && find . -type f | sort | tr '\n' ' ')
check_why uninstall_leaves_only_the_configuration "left: $left" \
	test "$left" = "./etc/edgeguard/edgeguard.conf ./etc/edgeguard/policy.json "
rm -rf "$DEST"
make -s install DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1

# ---- the units -------------------------------------------------------------------
# verify insists the programs exist: point the units at the build's; man pages at the DESTDIR's.
mkdir -p "$WORK/units"
for u in edgeguard.service edgeguard-attach@.service; do
	sed "s|/usr/sbin/|$(realpath "$(dirname "$EG")")/|" "$DEST/usr/lib/systemd/system/$u" >"$WORK/units/$u"
done
cp "$WORK/units/edgeguard-attach@.service" "$WORK/units/edgeguard-attach@egp-ih.service"
out=$(cd "$WORK/units" && MANPATH=$DEST/usr/share/man systemd-analyze verify edgeguard.service \
	edgeguard-attach@egp-ih.service 2>&1); rc=$?
check_why units_pass_systemd_analyze_verify "rc $rc: $out" test "$rc" -eq 0 -a -z "$out"
for u in edgeguard.service edgeguard-attach@egp-ih.service; do
	out=$(cd "$WORK/units" && systemd-analyze security --offline=true "$u" 2>&1 | tail -1)
	# "→ Overall exposure level for UNIT: 4.5 OK": OK or better (systemd's scale: OK < MEDIUM < EXPOSED < UNSAFE).
	check_why "security_exposure_ok_$u" "$out" sh -c "echo '$out' | grep -Eq 'exposure level for .*: [0-9.]+ (SAFE|OK)'"
done
# The daemon's unit: what the daemon needs of it (issue: --group chowns, --events writes a log).
unit=$DEST/usr/lib/systemd/system/edgeguard.service
check daemon_unit_has_cap_chown grep -Eq '^CapabilityBoundingSet=.*CAP_CHOWN' "$unit"
check daemon_unit_has_a_log_directory grep -q '^LogsDirectory=edgeguard$' "$unit"
check daemon_unit_events_in_the_log_directory grep -q -- '--events /var/log/edgeguard/' "$unit"
check daemon_unit_restarts_only_on_failure grep -q '^Restart=on-failure$' "$unit"
attach=$DEST/usr/lib/systemd/system/edgeguard-attach@.service
check attach_unit_bound_to_the_device grep -q '^BindsTo=sys-subsystem-net-devices-%i.device$' "$attach"
check attach_unit_before_the_network grep -Eq '^Before=.*network-pre.target' "$attach"
check attach_unit_reads_the_configuration grep -q '^EnvironmentFile=-/etc/edgeguard/edgeguard.conf$' "$attach"

# The generator: one attach unit per configured interface, nothing for a bad name.
printf 'INTERFACES="eth0 egp-x1"\nINTERFACES="egp-a1 egp-b2 bad/name"\n' >"$WORK/gen.conf"
mkdir -p "$WORK/gen"
EDGEGUARD_CONF=$WORK/gen.conf "$DEST/usr/lib/systemd/system-generators/edgeguard-generator" \
	"$WORK/gen" "$WORK/gen" "$WORK/gen" 2>"$WORK/gen.err"
got=$(cd "$WORK/gen/multi-user.target.wants" 2>/dev/null && ls | tr '\n' ' ')
check_eq generator_enables_the_last_interfaces_line "$got" \
	'edgeguard-attach@egp\x2da1.service edgeguard-attach@egp\x2db2.service '
check_why generator_links_the_template "$(ls -l "$WORK/gen/multi-user.target.wants/")" \
	test "$(readlink "$WORK/gen/multi-user.target.wants/edgeguard-attach@egp\x2da1.service")" = \
	/usr/lib/systemd/system/edgeguard-attach@.service
check_why generator_says_why_it_skips "$(cat "$WORK/gen.err")" grep -q "'bad/name' is not an interface name" "$WORK/gen.err"
check_eq generator_unescapes_to_the_name "$(systemd-escape --unescape 'egp\x2da1')" egp-a1
mkdir -p "$WORK/gen0"
EDGEGUARD_CONF=$DEST/etc/edgeguard/edgeguard.conf "$DEST/usr/lib/systemd/system-generators/edgeguard-generator" "$WORK/gen0"
check generator_enables_nothing_by_default test ! -e "$WORK/gen0/multi-user.target.wants"

out=$(logrotate -d -s "$WORK/logrotate.state" "$DEST/etc/logrotate.d/edgeguard" 2>&1); rc=$?
check_why logrotate_accepts_its_file "rc $rc: $(tail -3 <<<"$out")" test "$rc" -eq 0
check logrotate_without_copytruncate sh -c "! grep -Eq '^[[:space:]]*copytruncate' '$DEST/etc/logrotate.d/edgeguard'"

# ---- the Debian package ----------------------------------------------------------
out=$(make -s deb DEB_OUT="$WORK/deb" 2>&1); rc=$?
check_why deb_builds "rc $rc: $(tail -5 <<<"$out")" test "$rc" -eq 0
DEB=$(ls "$WORK"/deb/edgeguard_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || die deb_exists "no .deb in $WORK/deb"
info=$(dpkg-deb -I "$DEB")
check_why deb_depends_on_the_libraries "$info" sh -c "grep -q '^ Depends:.*libbpf1.*libxdp1' <<'E'
$info
E"
check_why deb_conffiles "$(dpkg-deb -I "$DEB" conffiles)" \
	test "$(dpkg-deb -I "$DEB" conffiles | sort | tr '\n' ' ')" = \
	"/etc/edgeguard/edgeguard.conf /etc/edgeguard/policy.json /etc/logrotate.d/edgeguard "
contents=$(dpkg-deb -c "$DEB" | awk '{ print $6 }')
for f in ./usr/sbin/edgeguard ./usr/sbin/edgeguardd ./usr/lib/systemd/system/edgeguard.service \
	./usr/lib/systemd/system/edgeguard-attach@.service ./usr/lib/systemd/system-generators/edgeguard-generator \
	./usr/share/man/man8/edgeguard.8.gz ./etc/edgeguard/policy.json; do
	check "deb_holds_$f" grep -qx -- "$f" <<<"$contents"
done
check_why deb_purge_removes_state "$(dpkg-deb -I "$DEB" postrm)" sh -c \
	"dpkg-deb -I '$DEB' postrm | grep -q 'rm -rf /var/lib/edgeguard /var/log/edgeguard'"

# The unpacked package protects an interface: its binaries, its policy, its daemon.
ROOT=$WORK/root
dpkg-deb -x "$DEB" "$ROOT"
PEG=$ROOT/usr/sbin/edgeguard PEGD=$ROOT/usr/sbin/edgeguardd
lab_remove "$NS" "$HOST_IF"
veth_pair "$HOST_IF" "$PEER_IF" "$NS" 30 "$H4" "$C4" || die setup "cannot build the lab"
ipt_accept "$HOST_IF"
start_server 50 --seconds 120 "$H4:$PORT" || die setup "the server did not start"
out=$("$PEG" attach "$HOST_IF" --policy "$ROOT/etc/edgeguard/policy.json" 2>&1); rc=$?
check_why packaged_attach "rc $rc: $out" test "$rc" -eq 0
check packaged_client_connects connects "$H4:$PORT"
"$PEGD" --state-dir "$STATE" --events "$EVENTS" --interval-ms 200 2>>"$WORK/daemon.err" &
DAEMON_PID=$!
wait_for "\"event\":\"start\",\"pid\":$DAEMON_PID" || die packaged_daemon "$(cat "$WORK/daemon.err")"
out=$("$PEG" ban "$C4" --ttl 10m --reason packaged 2>&1); rc=$?
check_why packaged_ban "rc $rc: $out" test "$rc" -eq 0
check packaged_ban_cuts_the_client_off refused "$H4:$PORT"
check_why packaged_bans_lists_it "$("$PEG" bans --json)" \
	jq -e --arg a "$C4" '.[] | select(.address == $a and .reason == "packaged")' <<<"$("$PEG" bans --json)"
# logrotate's way: move the file, SIGUSR1, the daemon carries on at the name.
mv "$EVENTS" "$EVENTS.1"
kill -USR1 "$DAEMON_PID"
check_why events_reopened_on_sigusr1 "$(cat "$EVENTS" 2>&1)" wait_until 50 grep -q '"event":"events_reopened"' "$EVENTS"
"$PEG" unban "$C4" >/dev/null
check_why events_after_reopen_go_to_the_new_file "$(cat "$EVENTS")" \
	wait_until 50 grep -q "\"event\":\"unban\".*$C4" "$EVENTS"
check rotated_file_keeps_earlier_events grep -q "\"event\":\"ban\".*$C4" "$EVENTS.1"
check packaged_unban_lets_the_client_in connects "$H4:$PORT"
out=$("$PEG" detach "$HOST_IF" 2>&1); rc=$?
check_why packaged_detach "rc $rc: $out" test "$rc" -eq 0
reap_daemon 50; rc=$?
check_why daemon_exits_0_after_the_last_detach "rc $rc" test "$rc" -eq 0
check_why stop_event_says_the_maps_went_away "$(tail -2 "$EVENTS")" grep -q '"event":"stop",.*detached' "$EVENTS"

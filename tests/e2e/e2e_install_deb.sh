#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The Debian package for real: build it, `dpkg -i` it on this machine (CI's
# is fresh and disposable), check what it installed (programs of the
# changelog's version, conffiles, units systemd-analyze accepts), protect a
# lab interface with the installed programs and the installed policy (a real
# client connects, a ban cuts it off, unban lets it in, detach), then
# `dpkg --purge` it and check that nothing of it is left.
#
# It never clobbers an operator's install: it refuses to run when a package
# named edgeguard is known to dpkg, or when an edgeguard program or directory
# is already in the system paths. Nothing is started by the install
# (policy-rc.d), the pins go to this test's own directory, and the trap purges
# the package if this test installed it.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

NS=egpd
HOST_IF=egpd-h
PEER_IF=egpd-c
H4=198.18.81.1 C4=198.18.81.2
PORT=18481
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
UNITS=/usr/lib/systemd/system
# What the package puts on the system and purge must take away.
OWNED=(/usr/sbin/edgeguard /usr/sbin/edgeguardd "$UNITS/edgeguard.service"
	"$UNITS/edgeguard-attach@.service" /usr/lib/systemd/system-generators/edgeguard-generator
	/etc/edgeguard /etc/logrotate.d/edgeguard /usr/share/doc/edgeguard
	/usr/share/man/man8/edgeguard.8.gz /usr/share/man/man8/edgeguardd.8.gz
	/usr/share/bash-completion/completions/edgeguard)
# What the daemon writes (the unit's StateDirectory= and LogsDirectory=).
VAR_DIRS=(/var/lib/edgeguard /var/log/edgeguard)

INSTALLED=0 OUR_RCD=
# dpkg_run ARGS...: dpkg, waiting (bounded) while another dpkg/apt holds its lock.
dpkg_run() {
	local i out rc
	for i in $(seq 30); do
		out=$(dpkg "$@" 2>&1); rc=$?
		if [ "$rc" -eq 0 ] || ! grep -q 'lock' <<<"$out"; then break; fi
		sleep 1
	done
	printf '%s\n' "$out"
	return $rc
}
cleanup() {
	stop_server
	kill_daemon
	[ -x /usr/sbin/edgeguard ] && ip link show "$HOST_IF" >/dev/null 2>&1 &&
		/usr/sbin/edgeguard detach "$HOST_IF" >/dev/null 2>&1
	ipt_undo
	lab_teardown "$NS" "$HOST_IF"
	if [ "$INSTALLED" = 1 ]; then
		dpkg_run --purge edgeguard >/dev/null ||
			echo "# cleanup: dpkg --purge edgeguard failed: remove it by hand" >&2
	fi
	[ -z "$OUR_RCD" ] || rm -f "$OUR_RCD"
	lab_dirs_remove
}
lab_dirs egpd-deb egpd
trap cleanup EXIT
trap "exit 1" INT TERM
need_commands dpkg dpkg-query dpkg-deb dpkg-buildpackage systemd-analyze jq || exit 1

# ---- refuse to touch an operator's edgeguard -----------------------------------------
status=$(dpkg-query -W -f='${Status}' edgeguard 2>/dev/null)
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] ||
	die refuse "a package named edgeguard is already on this machine ($status): not clobbering it"
for p in "${OWNED[@]}" "${VAR_DIRS[@]}"; do
	[ ! -e "$p" ] || die refuse "$p already exists (an edgeguard not installed by dpkg?): not clobbering it"
done
[ "$EDGEGUARD_BPF_DIR" != /sys/fs/bpf/edgeguard ] || die refuse "the pin directory must be this test's own"

# ---- build and install ---------------------------------------------------------------
out=$(make -s deb DEB_OUT="$WORK/deb" 2>&1); rc=$?
check_why deb_builds "rc $rc: $(tail -5 <<<"$out")" test "$rc" -eq 0
DEB=$WORK/deb/edgeguard_${VERSION}_$(dpkg --print-architecture).deb
[ -s "$DEB" ] || die deb_exists "no $DEB: $(ls "$WORK/deb" 2>&1)"

# No service starts at install (as `make deps` does it); a policy-rc.d already
# there (e.g. a container's) is left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	OUR_RCD=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$OUR_RCD" && chmod 755 "$OUR_RCD"
fi
INSTALLED=1
out=$(DEBIAN_FRONTEND=noninteractive dpkg_run -i "$DEB"); rc=$?
if [ -n "$OUR_RCD" ]; then rm -f "$OUR_RCD"; OUR_RCD=; fi
[ "$rc" -eq 0 ] || die dpkg_install "dpkg -i: rc $rc: $(tail -5 <<<"$out")"
ok dpkg_install
check_eq dpkg_says_installed "$(dpkg-query -W -f='${Status} ${Version}' edgeguard)" \
	"install ok installed $VERSION"

# ---- what it installed ---------------------------------------------------------------
check installed_programs_executable test -x /usr/sbin/edgeguard -a -x /usr/sbin/edgeguardd
check_eq installed_edgeguard_version "$(/usr/sbin/edgeguard --version 2>&1)" "edgeguard $VERSION"
check_eq installed_edgeguardd_version "$(/usr/sbin/edgeguardd --version 2>&1)" "edgeguardd $VERSION"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' edgeguard)
for f in /etc/edgeguard/edgeguard.conf /etc/edgeguard/policy.json; do
	check "installed_$f" test -s "$f"
	# " /etc/edgeguard/policy.json MD5": a conffile, as shipped (the sum of the file on disk).
	check_why "conffile_$f" "$conffiles" \
		grep -qx " $f $(md5sum "$f" | cut -d' ' -f1)" <<<"$conffiles"
done
check_why installed_policy_is_valid "$(/usr/sbin/edgeguard policy check /etc/edgeguard/policy.json 2>&1)" \
	/usr/sbin/edgeguard policy check /etc/edgeguard/policy.json
for u in edgeguard.service edgeguard-attach@.service; do
	check "installed_unit_$u" test -s "$UNITS/$u"
done
check installed_generator_executable test -x /usr/lib/systemd/system-generators/edgeguard-generator
# The installed units as systemd loads them from its own unit path (the
# template by an instance for the lab's interface), programs and man pages
# where the package put them.
out=$(systemd-analyze verify "$UNITS/edgeguard.service" "edgeguard-attach@$HOST_IF.service" 2>&1); rc=$?
check_why installed_units_pass_systemd_analyze_verify "rc $rc: $out" test "$rc" -eq 0 -a -z "$out"
check_why install_started_nothing "$(pgrep -a edgeguardd)" sh -c '! pgrep -x edgeguardd'

# ---- the installed programs protect an interface --------------------------------------
veth_pair "$HOST_IF" "$PEER_IF" "$NS" 30 "$H4" "$C4" || die setup "cannot build the lab"
ipt_accept "$HOST_IF"
start_server 50 --seconds 120 "$H4:$PORT" || die setup "the server did not start"
check installed_client_connects_before_attach connects "$H4:$PORT"
out=$(/usr/sbin/edgeguard attach "$HOST_IF" --policy /etc/edgeguard/policy.json 2>&1); rc=$?
check_why installed_attach "rc $rc: $out" test "$rc" -eq 0
check_why installed_attach_pins_in_the_test_dir "$(ls "$EDGEGUARD_BPF_DIR" 2>&1)" \
	sh -c "ls '$EDGEGUARD_BPF_DIR' | grep -q ."
check_eq installed_status_names_the_interface \
	"$(/usr/sbin/edgeguard status --json | jq -r --arg i "$HOST_IF" '[.. | strings | select(. == $i)][0]')" "$HOST_IF"
check installed_client_connects_attached connects "$H4:$PORT"
# The daemon as its unit runs it: state and events in the unit's directories
# (made here as StateDirectory= and LogsDirectory= would).
mkdir -m 0700 /var/lib/edgeguard && mkdir -m 0750 /var/log/edgeguard || die setup "cannot make ${VAR_DIRS[*]}"
EVENTS=/var/log/edgeguard/events.jsonl
/usr/sbin/edgeguardd --policy /etc/edgeguard/policy.json --events "$EVENTS" --interval-ms 200 \
	2>>"$WORK/daemon.err" &
DAEMON_PID=$!
wait_for "\"event\":\"start\",\"pid\":$DAEMON_PID" || die installed_daemon "$(cat "$WORK/daemon.err")"
ok installed_daemon_starts
out=$(/usr/sbin/edgeguard ban "$C4" --ttl 10m --reason deb-test 2>&1); rc=$?
check_why installed_ban "rc $rc: $out" test "$rc" -eq 0
check installed_ban_cuts_the_client_off refused "$H4:$PORT"
bans=$(/usr/sbin/edgeguard bans --json)
check_why installed_bans_lists_it "$bans" \
	jq -e --arg a "$C4" '.[] | select(.address == $a and .reason == "deb-test")' <<<"$bans"
check_why installed_daemon_logs_the_ban "$(cat "$EVENTS")" \
	wait_until 50 grep -q "\"event\":\"ban\".*$C4" "$EVENTS"
out=$(/usr/sbin/edgeguard unban "$C4" 2>&1); rc=$?
check_why installed_unban "rc $rc: $out" test "$rc" -eq 0
check installed_unban_lets_the_client_in connects "$H4:$PORT"
out=$(/usr/sbin/edgeguard detach "$HOST_IF" 2>&1); rc=$?
check_why installed_detach "rc $rc: $out" test "$rc" -eq 0
reap_daemon 50; rc=$?
check_why installed_daemon_exits_0_after_the_last_detach "rc $rc: $(cat "$WORK/daemon.err")" test "$rc" -eq 0
check_why installed_daemon_kept_its_state "$(ls -la /var/lib/edgeguard)" \
	sh -c "ls /var/lib/edgeguard | grep -q ."
check installed_detach_leaves_the_client_in connects "$H4:$PORT"

# ---- purge ---------------------------------------------------------------------------
out=$(dpkg_run --purge edgeguard); rc=$?
check_why dpkg_purge "rc $rc: $(tail -5 <<<"$out")" test "$rc" -eq 0
[ "$rc" -ne 0 ] || INSTALLED=0
for p in "${OWNED[@]}" "${VAR_DIRS[@]}"; do
	check "purge_removes_$p" test ! -e "$p"
done
out=$(dpkg -s edgeguard 2>&1); rc=$?
check_why dpkg_says_not_installed "rc $rc: $out" sh -c "[ $rc -ne 0 ] && grep -q 'is not installed' <<'E'
$out
E"
exit $failed

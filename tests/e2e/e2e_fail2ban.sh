#!/usr/bin/env bash
# End to end: examples/fail2ban/action.d/edgeguard.conf with a real
# fail2ban-server (Debian's) on a log file this script writes. The jail bans a
# source after its failures: the ban is in edgeguard's maps with origin import,
# the jail's name as reason and the jail's bantime as TTL (-1: permanent), and
# a real TCP client from it is refused while another gets through; unbanip
# lifts it, and never an operator's own ban of the same address.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egi-f2b
HOST_IF=egi-fh
CLI_IF=egi-fc
PORT=26520
H4=100.66.151.1 C4=100.66.151.2 C4B=100.66.151.3 C4C=100.66.151.4
lab_dirs egi-fail2ban egi
F2B=$WORK/fail2ban            # its configuration directory
SOCK=$WORK/f2b.sock
F2B_PID=

f2b() { fail2ban-client -c "$F2B" -s "$SOCK" "$@"; }
cleanup() {
	if [ -n "$F2B_PID" ]; then
		f2b stop >/dev/null 2>&1
		stop_pid "$F2B_PID"
	fi
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM
need_commands fail2ban-server fail2ban-client jq

# fail2ban's own configuration, in this test's directory: a filter for the
# log this script writes, two jails (10 minutes, and bantime -1), and the
# action exactly as shipped.
mkdir -p "$F2B/action.d" "$F2B/filter.d" || die setup "mkdir"
cp examples/fail2ban/action.d/edgeguard.conf "$F2B/action.d/" || die setup "no action file"
cat >"$F2B/fail2ban.conf" <<CONF
[Definition]
loglevel = INFO
logtarget = $WORK/fail2ban.log
socket = $SOCK
pidfile = $WORK/f2b.pid
dbfile = :memory:
syslogsocket = auto
CONF
cat >"$F2B/filter.d/egi-auth.conf" <<'CONF'
[Definition]
failregex = ^auth failure for \S+ from <HOST>$
datepattern = {NONE}
CONF
cat >"$F2B/jail.conf" <<CONF
[DEFAULT]
backend = polling
filter = egi-auth
maxretry = 3
findtime = 600
action = edgeguard[edgeguard="$EG"]

[egi-ssh]
enabled = true
logpath = $WORK/auth.log
bantime = 600

[egi-forever]
enabled = true
logpath = $WORK/forever.log
bantime = -1
CONF
: >"$WORK/auth.log"
: >"$WORK/forever.log"
# fail_from LOG ADDRESS: three failures of ADDRESS in LOG.
fail_from() {
	for i in 1 2 3; do echo "auth failure for user$i from $2"; done >>"$1"
}
banned() { [ -n "$(ban_of "$1")" ]; }
not_banned() { [ -z "$(ban_of "$1")" ]; }

# The lab: edgeguard on the host's veth end, clients in $NS.
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" "$C4C" ||
	die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 50 --seconds 120 "$H4:$PORT" || die lab "tcp_server did not start"
$EG attach "$HOST_IF" >/dev/null || die lab "attach failed"
check client_connects_before_any_ban connects "$H4:$PORT" "$C4"

# fail2ban-server from Debian, in the foreground, on this configuration; the
# environment takes edgeguard's pin and run directories to the action.
fail2ban-server -f -x -c "$F2B" -s "$SOCK" -p "$WORK/f2b.pid" >"$WORK/f2b.out" 2>&1 &
F2B_PID=$!
wait_until 150 f2b ping >/dev/null 2>&1 || die fail2ban "the server did not answer: $(tail -3 "$WORK/f2b.out")"
check_eq jails_are_up "$(f2b status | sed -n 's/.*Jail list:\s*//p' | tr -d ' \t')" "egi-forever,egi-ssh"

# Three failures: the jail bans; the ban is edgeguard's, with origin and reason.
fail_from "$WORK/auth.log" "$C4"
check_why jail_bans_into_edgeguard "fail2ban log: $(grep -E 'Ban|ERROR' "$WORK/fail2ban.log" | tail -3)" \
	wait_until 150 banned "$C4"
check_eq ban_origin_is_import "$(ban_of "$C4" | jq -r .origin)" import
check_eq ban_reason_names_the_jail "$(ban_of "$C4" | jq -r .reason)" "fail2ban egi-ssh: 3 failures"
t=$(ttl_of "$C4")
check_why ban_ttl_is_the_bantime "expires_in $t" test "${t:-0}" -gt 500 -a "${t:-0}" -le 600
check banned_client_is_refused refused "$H4:$PORT" "$C4"
check other_client_connects connects "$H4:$PORT" "$C4B"
check_why fail2ban_reports_the_ban "$(f2b status egi-ssh)" grep -q "Banned IP list:.*$C4" <<<"$(f2b status egi-ssh)"

# unbanip: the action lifts it, the client gets in again.
f2b set egi-ssh unbanip "$C4" >/dev/null
check_why unbanip_lifts_the_ban "$(ban_of "$C4"); fail2ban log: $(grep -iE 'unban|error' "$WORK/fail2ban.log" | tail -5)" \
	wait_until 100 not_banned "$C4"
check client_connects_after_unban connects "$H4:$PORT" "$C4"

# bantime -1: a permanent ban.
fail_from "$WORK/forever.log" "$C4B"
check_why permanent_jail_bans "fail2ban log: $(grep -E 'Ban|ERROR' "$WORK/fail2ban.log" | tail -3)" \
	wait_until 150 banned "$C4B"
check_eq bantime_minus_one_is_permanent "$(ttl_of "$C4B")" null
check permanently_banned_client_is_refused refused "$H4:$PORT" "$C4B"

# A ban already lifted by hand (or expired in the kernel): fail2ban's unban is no error.
fail_from "$WORK/auth.log" "$C4"
check_why jail_bans_again "fail2ban log: $(grep -E 'Ban|ERROR' "$WORK/fail2ban.log" | tail -3)" \
	wait_until 150 banned "$C4"
$EG unban "$C4" >/dev/null
f2b set egi-ssh unbanip "$C4" >/dev/null
sleep 1
check_why no_action_errors_so_far "$(grep ERROR "$WORK/fail2ban.log" | head -3)" \
	bash -c '! grep -q ERROR "$1"' _ "$WORK/fail2ban.log"

# An operator's own ban is never lifted by fail2ban's unban, nor shortened by its ban.
$EG ban "$C4C" --reason "operator" >/dev/null || die setup "manual ban failed"
fail_from "$WORK/auth.log" "$C4C"
wait_until 150 bash -c "f2b() { fail2ban-client -c '$F2B' -s '$SOCK' \"\$@\"; }; f2b status egi-ssh | grep -q '$C4C'"
f2b set egi-ssh unbanip "$C4C" >/dev/null
sleep 1
check_eq operator_ban_survives_fail2ban_unban "$(ban_of "$C4C" | jq -r '[.origin, .reason, .expires_in] | @csv')" \
	'"manual","operator",'

exit $failed

#!/usr/bin/env bash
# End to end: edgeguard import on real iptables-save, ip6tables-save and ipset
# save output of hot-fix rules this script installs (in a namespace of its own,
# never the host's firewall), and on an nginx configuration; then --apply
# against a real edgeguard: the bans land with origin import and their reason,
# a real TCP client from a banned source is refused while another gets
# through, bad input changes nothing, and a running edgeguardd logs the change.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egi-imp            # the clients
FW_NS=egi-fw          # where the hot-fix rules are installed and saved
HOST_IF=egi-h
CLI_IF=egi-c
PORT=26510
H4=100.66.150.1 C4=100.66.150.2 C4B=100.66.150.3
lab_dirs egi-import egi

cleanup() {
	stop_daemon 30 >/dev/null 2>&1
	kill_daemon
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	ip netns del "$FW_NS" 2>/dev/null
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM
need_commands iptables ip6tables iptables-save ip6tables-save ipset jq

# --- what the runbooks' hot-fixes look like, saved by the real tools ---------------
ip netns add "$FW_NS" || die lab "cannot create $FW_NS"
fw() { ip netns exec "$FW_NS" "$@"; }
fw iptables -N EG-HOTFIX &&
	fw iptables -A INPUT -j EG-HOTFIX &&
	fw iptables -A INPUT -s 198.51.100.0/24 -m comment --comment "flood 2026-12-03" -j DROP &&
	fw iptables -A INPUT -s "$C4" -j REJECT &&
	fw iptables -A INPUT -p tcp --dport 443 --syn -m recent --name syn443 --update --seconds 1 --hitcount 20 -j DROP &&
	fw iptables -A INPUT -p tcp --dport 443 --syn -m recent --name syn443 --set &&
	fw iptables -A INPUT -p tcp --syn --dport 8443 -m connlimit --connlimit-above 50 -j REJECT --reject-with tcp-reset &&
	fw iptables -A EG-HOTFIX -p udp --dport 5353 -m hashlimit --hashlimit-above 100/sec --hashlimit-burst 200 --hashlimit-mode srcip --hashlimit-name dns -j DROP &&
	fw iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT &&
	fw iptables -A OUTPUT -d 192.0.2.1 -j DROP &&
	fw ip6tables -A INPUT -s 2001:db8:bad::/48 -j DROP ||
	die lab "cannot install the hot-fix rules in $FW_NS"
{ fw iptables-save && fw ip6tables-save; } >"$WORK/rules.save" || die lab "iptables-save failed"
fw ipset create egi-bl hash:net timeout 3600 comment &&
	fw ipset add egi-bl 198.18.0.0/15 timeout 600 comment "botnet x" &&
	fw ipset add egi-bl "$C4B" &&
	fw ipset create egi-pt hash:ip,port &&
	fw ipset add egi-pt 192.0.2.1,tcp:80 &&
	fw ipset save >"$WORK/ipset.save" || die lab "ipset failed"
cat >"$WORK/nginx.conf" <<EOF
http {
    geo \$blocked {
        default 0;
        203.0.113.128/25 1;
    }
    server {
        listen 80;
        location / {
            deny $C4;
            deny 2001:db8:66::/48;
            deny 10.0.0.1/8;
            allow 10.0.0.0/8;
            deny all;
        }
    }
}
EOF

# jqt FILTER: jq -e, quietly (the filter's truth is the status).
jqt() { jq -e "$@" >/dev/null; }
# line_of PATTERN FILE: the number of the first line holding PATTERN.
line_of() { grep -nF -- "$1" "$2" | head -1 | cut -d: -f1; }
# skipped_at LINE: the why of the skipped line LINE in $out (JSON).
skipped_at() { jq -r --argjson l "$1" '.skipped[] | select(.line == $l) | .why' <<<"$out"; }

# --- iptables-save: what translates, what does not, and why ---------------------------
out=$($EG --json import iptables-save "$WORK/rules.save" 2>&1); rc=$?
check_eq iptables_import_succeeds "$rc" 0
check_eq iptables_comment_drop_is_a_ban \
	"$(jq -r '.bans[] | select(.cidr == "198.51.100.0/24") | .reason' <<<"$out")" "flood 2026-12-03"
check_eq iptables_reject_is_a_ban "$(jq -r --arg a "$C4" '[.bans[] | select(.cidr == $a)] | length' <<<"$out")" 1
check_eq ip6tables_drop_is_a_ban "$(jq -r '[.bans[] | select(.cidr == "2001:db8:bad::/48")] | length' <<<"$out")" 1
check_eq recent_pair_is_a_syn_limit_on_443 \
	"$(jq -c '.policy.policies[] | select(.port == 443) | .syn' <<<"$out")" '{"rate":20,"burst":20}'
check_eq connlimit_is_max_conns \
	"$(jq -r '.policy.policies[] | select(.port == 8443) | .max_conns' <<<"$out")" 50
check_eq hashlimit_in_a_user_chain_is_a_packet_limit \
	"$(jq -c '.policy.policies[] | select(.port == 5353) | [.protocol, .packets.rate, .packets.burst]' <<<"$out")" \
	'["udp",100,200]'
n=$(line_of "--ctstate RELATED,ESTABLISHED" "$WORK/rules.save")
check_eq conntrack_line_is_skipped_with_its_number "$(skipped_at "$n")" "'conntrack' does not translate"
n=$(line_of "-A OUTPUT" "$WORK/rules.save")
check_why output_chain_is_skipped_with_why "line $n: $(skipped_at "$n")" \
	grep -q "chain OUTPUT of table filter: not on the way in" <<<"$(skipped_at "$n")"
jq '.policy' <<<"$out" >"$WORK/fragment.json"
out=$($EG policy check "$WORK/fragment.json" 2>&1); rc=$?
check_why policy_fragment_passes_policy_check "rc $rc: $out" test "$rc" = 0
text=$($EG import iptables-save - <"$WORK/rules.save" 2>&1); rc=$?
check_why stdin_text_report_lists_bans_and_skips "rc $rc: $text" \
	bash -c 'grep -q "^198.51.100.0/24 - flood 2026-12-03$" <<<"$1" &&
		grep -q "^#   line [0-9]*: -A INPUT -m conntrack" <<<"$1"' _ "$text"

# --- ipset save and nginx --------------------------------------------------------------
out=$($EG --json import ipset "$WORK/ipset.save" 2>&1); rc=$?
check_eq ipset_import_succeeds "$rc" 0
check_eq ipset_entry_comment_is_the_reason \
	"$(jq -r '.bans[] | select(.cidr == "198.18.0.0/15") | .reason' <<<"$out")" "botnet x"
check_why ipset_entry_timeout_is_the_ttl "$(jq -c '.bans' <<<"$out")" \
	jqt '.bans[] | select(.cidr == "198.18.0.0/15") | .ttl > 0 and .ttl <= 600' <<<"$out"
n=$(line_of "create egi-pt" "$WORK/ipset.save")
check_why ipset_port_set_is_skipped "line $n: $(skipped_at "$n")" \
	grep -q "set type hash:ip,port" <<<"$(skipped_at "$n")"
out=$($EG --json import nginx "$WORK/nginx.conf" 2>&1); rc=$?
check_eq nginx_import_succeeds "$rc" 0
check_eq nginx_deny_and_geo_are_bans "$(jq -c '[.bans[].cidr] | sort' <<<"$out")" \
	"$(jq -nc --arg a "$C4" '[$a, "203.0.113.128/25", "2001:db8:66::/48"] | sort')"
n=$(line_of "deny 10.0.0.1/8" "$WORK/nginx.conf")
check_why nginx_bad_deny_is_named "line $n: $(skipped_at "$n")" \
	grep -q "'10.0.0.1/8' has host bits set" <<<"$(skipped_at "$n")"

# --- usage errors -------------------------------------------------------------------------
out=$($EG import pf "$WORK/rules.save" 2>&1); rc=$?
check_why unknown_format_is_a_usage_error "rc $rc: $out" \
	bash -c '[ "$1" = 2 ] && grep -q "^edgeguard import: unknown format '\''pf'\'' (iptables-save, ipset, nginx)" <<<"$2"' _ "$rc" "$out"
out=$($EG import nginx "$WORK/nosuch.conf" 2>&1); rc=$?
check_why missing_file_is_one_line "rc $rc: $out" \
	test "$rc" = 1 -a "$(wc -l <<<"$out")" = 1
out=$($EG import nginx "$WORK/nginx.conf" --ttl 1h 2>&1); rc=$?
check_why ttl_without_apply_is_a_usage_error "rc $rc: $out" test "$rc" = 2

# --- --apply against a real edgeguard -------------------------------------------------
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" || die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 50 --seconds 120 "$H4:$PORT" || die lab "tcp_server did not start"
$EG attach "$HOST_IF" >/dev/null || die lab "attach failed"
check client_connects_before_import connects "$H4:$PORT" "$C4"
check_eq nothing_applied_without_apply "$($EG bans --json | jq length)" 0

# A file with a ban of this host's own address changes nothing, and says where.
printf '*filter\n-A INPUT -s %s/32 -j DROP\n-A INPUT -s %s/32 -j DROP\nCOMMIT\n' "$C4" "$H4" \
	>"$WORK/self.save"
out=$($EG import iptables-save "$WORK/self.save" --apply 2>&1); rc=$?
check_why host_address_is_refused_with_its_line "rc $rc: $out" \
	bash -c '[ "$1" = 1 ] && grep -qF "self.save:3: refusing to ban $2: it covers $2, an address of this host" <<<"$3"' _ "$rc" "$H4" "$out"
check_eq refused_apply_changes_nothing "$($EG bans --json | jq length)" 0
check client_still_connects connects "$H4:$PORT" "$C4"

out=$($EG import iptables-save "$WORK/rules.save" --apply 2>&1); rc=$?
check_why apply_succeeds "rc $rc: $out" test "$rc" = 0
check_eq applied_ban_has_origin_import "$(ban_of "$C4" | jq -r .origin)" import
check_why applied_ban_reason_names_the_rule "$(ban_of "$C4")" \
	grep -q "iptables-save line [0-9]* (filter INPUT)" <<<"$(ban_of "$C4" | jq -r .reason)"
check_eq applied_comment_reason "$(ban_of 198.51.100.0/24 | jq -r .reason)" "flood 2026-12-03"
check_eq applied_ban_is_permanent "$(ttl_of "$C4")" null
check banned_client_is_refused refused "$H4:$PORT" "$C4"
check other_client_connects connects "$H4:$PORT" "$C4B"
check_why apply_prints_the_summary "$out" grep -q "^# .*added" <<<"$out"

# Again through a running edgeguardd: ipset with its TTLs; the daemon logs one bulk event.
start_daemon || die daemon "edgeguardd did not start: $(cat "$WORK/daemon.err")"
out=$($EG import ipset "$WORK/ipset.save" --apply 2>&1); rc=$?
check_why ipset_apply_succeeds "rc $rc: $out" test "$rc" = 0
check_why ipset_ttl_applied "$(ban_of "$C4B")" \
	bash -c 't=$(jq -r .expires_in <<<"$1"); [ "$t" -gt 0 ] && [ "$t" -le 3600 ]' _ "$(ban_of "$C4B")"
check_eq ipset_ban_origin "$(ban_of "$C4B" | jq -r .origin)" import
check banned_by_ipset_import_is_refused refused "$H4:$PORT" "$C4B"
check daemon_logs_the_import wait_until 50 event_seen '"event":"bulk"'
# An import never shortens: the permanent ban of C4 stays permanent after nginx's.
out=$($EG import nginx "$WORK/nginx.conf" --apply --ttl 10m 2>&1); rc=$?
check_why nginx_apply_succeeds "rc $rc: $out" test "$rc" = 0
check_eq import_never_shortens_a_ban "$(ttl_of "$C4")" null
check_why nginx_geo_ban_has_the_ttl "$(ban_of 203.0.113.128/25)" \
	bash -c 't=$(jq -r .expires_in <<<"$1"); [ "$t" -gt 0 ] && [ "$t" -le 600 ]' _ "$(ban_of 203.0.113.128/25)"

exit $failed

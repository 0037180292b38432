#!/usr/bin/env bash
# End to end: edgeguardd's Prometheus endpoint. Known traffic (a banned
# client's connection attempts) must show up in /metrics with the numbers the
# datapath counters hold, the exposition must pass `promtool check metrics`,
# gzip must work, and a real Prometheus server scraping the daemon must see
# the same values through its query API.
# The root namespace is the protected host; the client lives in egm-metrics.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egm-metrics
HOST_IF=egm-h
CLI_IF=egm-c
H4=100.83.1.1 C4=100.83.1.2 C4B=100.83.1.3
lab_dirs edgeguard-test-metrics egm
POLICY=$WORK/policy.json
PROM_PID=

cleanup() {
	[ -n "$PROM_PID" ] && kill -9 "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	kill_daemon
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

scrape() { curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
# metric VALUE of the sample whose name{labels} is exactly $1, from a fresh scrape.
metric() { scrape | awk -v s="$1" '$1 == s { print $2 }'; }
# poll_metric SAMPLE WANT: map walks are cached for up to 5 s, so gauges may lag (at most 20 s).
poll_metric() {
	local got
	for _ in $(seq 80); do
		got=$(metric "$1")
		[ "$got" = "$2" ] && break
		sleep 0.25
	done
	echo "$got"
}

# prom_query PROMQL: the value of the first result (empty when none).
prom_query() {
	curl -sf --max-time 5 -G "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		grep -o '"value":\[[0-9.e+]*,"[^"]*"\]' | head -1 | sed 's/.*,"\([^"]*\)"\]/\1/'
}
# poll_prom PROMQL WANT: bounded wait for Prometheus to scrape the value (at most 30 s).
poll_prom() {
	local got
	for _ in $(seq 120); do
		got=$(prom_query "$1")
		[ "$got" = "$2" ] && break
		sleep 0.25
	done
	echo "$got"
}

MPORT=$(free_port) && PPORT=$(free_port) || { fail ports "no free loopback port"; exit 1; }
while [ "$PPORT" = "$MPORT" ]; do PPORT=$(free_port); done

# The lab.
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$C4" "$C4B" || die lab "cannot set up $HOST_IF/$CLI_IF"
SPORT=$(free_port)
start_server 50 --seconds 120 "$H4:$SPORT"
cat >"$POLICY" <<EOF
{ "policies": [ { "name": "web", "port": $SPORT, "syn": { "rate": 1000, "burst": 2000 } } ] }
EOF

$EG attach "$HOST_IF" >/dev/null || { fail attach "edgeguard attach failed"; exit 1; }
check client_connects_before_ban connects "$H4:$SPORT"

out=$($EGD --state-dir "$WORK/state" --metrics-listen 127.0.0.1 2>&1); rc=$?
check bad_listen_address_is_usage_error test "$rc" -eq 2
check bad_listen_address_message grep -q "metrics-listen" <<<"$out"

$EGD --state-dir "$WORK/state" --events "$EVENTS" --interval-ms 200 --policy "$POLICY" \
	--metrics-listen "127.0.0.1:$MPORT" 2>>"$WORK/daemon.err" &
DAEMON_PID=$!
wait_until 100 eval 'scrape >/dev/null 2>&1'
check metrics_served sh -c "curl -sf --max-time 5 -o /dev/null http://127.0.0.1:$MPORT/metrics"

# Someone else asked for the same address: fatal, before the state is touched.
mkdir -p "$WORK/run2"
EDGEGUARD_RUN_DIR=$WORK/run2 $EGD --state-dir "$WORK/state2" --events "$WORK/events2.jsonl" \
	--metrics-listen "127.0.0.1:$MPORT" 2>"$WORK/daemon2.err"; rc=$?
check explicit_busy_address_is_fatal test "$rc" -eq 1
check busy_address_error_names_it grep -q "127.0.0.1:$MPORT" "$WORK/daemon2.err"

# Known traffic: a banned client tries 4 times, a short ban expires.
$EG ban "$C4" --ttl 600 >/dev/null
for _ in 1 2 3 4; do connects "$H4:$SPORT"; done
$EG ban "$C4B" --ttl 1 >/dev/null
wait_for "\"event\":\"expire\",\"source\":\"$C4B\""
kill -HUP "$DAEMON_PID"
two_loads() { [ "$(grep -c '"event":"policy_load"' "$EVENTS")" -ge 2 ]; }
wait_until 100 two_loads

banned=$(counter banned)
check banned_traffic_counted test -n "$banned" -a "${banned:-0}" -ge 4

scrape >"$WORK/metrics.txt"
if promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
	ok promtool_check_metrics
else
	fail promtool_check_metrics "$(tr '\n' ' ' <"$WORK/promtool.out")"
fi
# One interface carries all the traffic: its series equal the global counters.
check_eq banned_packets_match_datapath \
	"$(metric "edgeguard_packets_total{interface=\"$HOST_IF\",action=\"drop\",reason=\"banned\"}")" \
	"$banned"
check_eq passed_is_a_pass_action \
	"$(grep -c "^edgeguard_packets_total{interface=\"$HOST_IF\",action=\"pass\",reason=\"passed\"} " "$WORK/metrics.txt")" 1
check_eq every_packet_series_names_the_interface \
	"$(grep -c '^edgeguard_packets_total{' "$WORK/metrics.txt")" \
	"$(grep -c "^edgeguard_packets_total{interface=\"$HOST_IF\"," "$WORK/metrics.txt")"
check_eq one_series_per_verdict_reason \
	"$(grep -c "^edgeguard_packets_total{interface=\"$HOST_IF\"," "$WORK/metrics.txt")" 13
check_eq manual_ban_active "$(poll_metric 'edgeguard_bans_active{origin="manual"}' 1)" 1
check_eq expired_ban_not_active "$(metric 'edgeguard_bans_active{origin="auto"}')" 0
check_eq bans_expired_counted "$(metric edgeguard_bans_expired_total)" 1
check_eq reload_counted "$(metric 'edgeguard_policy_reloads_total{result="ok"}')" 1
check_eq reload_errors_zero "$(metric 'edgeguard_policy_reloads_total{result="error"}')" 0
check_eq exact_ban_map_entries "$(poll_metric 'edgeguard_map_entries{map="bans_exact"}' 1)" 1
check_eq ban_capacity_reported "$(metric 'edgeguard_map_capacity{map="bans_exact"}')" 65536
check_eq attached_interfaces "$(metric edgeguard_attached_interfaces)" 1
check_eq policy_info_names_the_slot "$(metric 'edgeguard_policy_info{policy="web",slot="1"}')" 1
# Every per-policy series is labelled by the policy's name, never by its slot number.
check_eq policy_series_by_name "$(grep -c '^edgeguard_policy_packets_total{policy="web",outcome="passed"} ' "$WORK/metrics.txt")" 1
check_eq default_policy_by_name "$(grep -c '^edgeguard_policy_evaluated_packets_total{policy="default"} ' "$WORK/metrics.txt")" 1
check_eq no_policy_labelled_by_slot "$(grep -cE '^edgeguard_policy_[a-z_]*\{policy="[0-9]+"' "$WORK/metrics.txt")" 0
# Nothing is ever exported as -1: a value that cannot be read is left out and counted.
check_eq no_negative_samples "$(grep -v '^#' "$WORK/metrics.txt" | awk '$NF ~ /^-/' | wc -l)" 0
check_eq scrape_errors_counted_none "$(grep '^edgeguard_scrape_errors_total{' "$WORK/metrics.txt" | awk '{ s += $2 } END { print s + 0 }')" 0
# Every counter of the datapath is exported: flow_untimed and flow_swept too.
for m in edgeguard_flows_untimed_total edgeguard_flows_swept_total edgeguard_autoban_escalations_total; do
	check_eq "exported_$m" "$(grep -c "^$m " "$WORK/metrics.txt")" 1
done
check_eq build_info "$(grep -c '^edgeguard_build_info{version="[^"]*"} 1$' "$WORK/metrics.txt")" 1
check no_per_source_labels test "$(grep -c "$C4" "$WORK/metrics.txt")" -eq 0

# gzip when asked for, plain otherwise; same families either way.
curl -sf --max-time 5 -H 'Accept-Encoding: gzip' -D "$WORK/gz.hdr" -o "$WORK/metrics.gz" \
	"http://127.0.0.1:$MPORT/metrics"
check gzip_content_encoding grep -qi '^content-encoding: gzip' "$WORK/gz.hdr"
check gzip_body_decodes sh -c "gunzip -c '$WORK/metrics.gz' | grep -q '^edgeguard_build_info'"
check gzip_same_families test "$(gunzip -c "$WORK/metrics.gz" | grep -c '^# TYPE')" \
	-eq "$(grep -c '^# TYPE' "$WORK/metrics.txt")"
curl -sf --max-time 5 -D "$WORK/plain.hdr" -o /dev/null "http://127.0.0.1:$MPORT/metrics"
check plain_without_accept_encoding test "$(grep -ci '^content-encoding' "$WORK/plain.hdr")" -eq 0
check curl_compressed sh -c "curl -sf --max-time 5 --compressed http://127.0.0.1:$MPORT/metrics | grep -q '^edgeguard_packets_total'"
check unknown_path_404 test "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nope")" = 404

# A real Prometheus server scraping every second.
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: edgeguard
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
check_eq prometheus_scrapes_the_daemon "$(poll_prom 'up{job="edgeguard"}' 1)" 1
check_eq prometheus_sees_banned_packets \
	"$(poll_prom 'sum without (interface) (edgeguard_packets_total{reason="banned"})' "$banned")" \
	"$banned"
check_eq prometheus_sees_manual_ban "$(poll_prom 'edgeguard_bans_active{origin="manual"}' 1)" 1
check_eq prometheus_sees_expired_ban "$(poll_prom 'edgeguard_bans_expired_total' 1)" 1
check_eq datapath_counter_unchanged "$(counter banned)" "$banned"

stop_daemon 50; rc=$?
check daemon_stops_cleanly_with_metrics test "$rc" -eq 0

# ":PORT" (as Prometheus exporters take it): every address, IPv4 and IPv6.
APORT=$(free_port)
start_daemon --metrics-listen ":$APORT" || die any_address_daemon "the daemon did not start with --metrics-listen :$APORT"
check_why any_address_serves_ipv4 "no answer on 127.0.0.1:$APORT" \
	wait_until 50 sh -c "curl -sf --max-time 2 -o /dev/null http://127.0.0.1:$APORT/metrics"
check_why any_address_serves_ipv6 "no answer on [::1]:$APORT" \
	sh -c "curl -sf --max-time 2 -o /dev/null 'http://[::1]:$APORT/metrics'"
stop_daemon 50
out=$($EGD --state-dir "$WORK/state" --metrics-listen ":0x1" 2>&1); rc=$?
check_why bad_any_address_port_is_usage_error "rc $rc: $out" test "$rc" -eq 2
check metrics_gone_after_stop sh -c "! curl -sf --max-time 2 -o /dev/null http://127.0.0.1:$MPORT/metrics"

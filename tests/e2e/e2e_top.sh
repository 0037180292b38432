#!/usr/bin/env bash
# End to end: `edgeguard top` against real traffic. A flooding client and a
# quiet one (namespace egt-cli, 100.84.1.0/29) hit a SYN-limited port on the
# root namespace's veth end; top must rank the flooder first, in JSON and on
# a live screen driven through tmux. Pins go to a directory of this test's own.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egt-cli
HOST_IF=egt-h
CLI_IF=egt-c
PORT=18084
H4=100.84.1.1 FLOODER=100.84.1.2 QUIET=100.84.1.3
lab_dirs edgeguard-test-top egt
TMUX_SOCK=egt-top-$$

cleanup() {
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	stop_server
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

# jq_true FILTER JSON: the filter's result is true (or, for '.', the text parses).
jq_true() { jq -e "$1" <<<"$2" >/dev/null 2>&1; }
top_json() { $EG top --once --json --interval 0.2 "$@" 2>"$WORK/top.err"; }
# The screen of the live session, as tmux shows it.
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t egt 2>/dev/null; }
# wait_screen PATTERN: polls the screen for up to 30 s (a loaded machine is slow to draw).
wait_screen() {
	for _ in $(seq 150); do
		screen | grep -q -- "$1" && return 0
		sleep 0.2
	done
	return 1
}

# Not attached: a clear message and exit status 1, before anything exists.
out=$($EG top --once 2>&1); rc=$?
check_why not_attached_exits_1 "rc=$rc, '$out'" test "$rc" -eq 1
check_why not_attached_says_so "'$out'" grep -qi "not attached\|attach" <<<"$out"

# Usage errors are status 2 and touch nothing.
$EG top --once --sort loudest >/dev/null 2>&1; rc=$?
check_why bad_sort_is_a_usage_error "rc=$rc" test "$rc" -eq 2
$EG top --json >/dev/null 2>&1; rc=$?
check_why json_without_once_is_a_usage_error "rc=$rc" test "$rc" -eq 2
$EG top --once -n 0 >/dev/null 2>&1; rc=$?
check_why zero_rows_is_a_usage_error "rc=$rc" test "$rc" -eq 2

# The lab.
cat >"$WORK/policy.json" <<EOF
{
  "policies": [
    { "name": "egt-api", "protocol": "tcp", "port": $PORT, "syn": { "rate": 5, "burst": 5 } }
  ]
}
EOF
veth_pair "$HOST_IF" "$CLI_IF" "$NS" 29 "$H4" "$FLOODER" "$QUIET" || die lab "cannot set up $HOST_IF/$CLI_IF"
start_server 100 --seconds 120 "$H4:$PORT"

out=$($EG attach "$HOST_IF" --policy "$WORK/policy.json" 2>&1); rc=$?
check_why attach_succeeds "rc=$rc: $out" test "$rc" -eq 0
[ "$rc" -eq 0 ] || exit 1

# The quiet client makes two connections; the flooder sends 300 SYNs against 5/s.
in_ns "$TOOLS/tcp_connect" --count 2 --interval-ms 100 --timeout-ms 3000 --bind "$QUIET" \
	"$H4:$PORT" >"$WORK/quiet.log" 2>&1
check_why quiet_client_connects "$(cat "$WORK/quiet.log")" grep -q "ok=2" "$WORK/quiet.log"
in_ns "$TOOLS/syn_flood" --src "$FLOODER" --dst "$H4" --dport "$PORT" --count 300 --seconds 20 \
	>"$WORK/flood.log" 2>&1

json=$(top_json -n 5 --sort drops); rc=$?
check_why once_json_succeeds "rc=$rc: $(cat "$WORK/top.err")" test "$rc" -eq 0
check_why once_json_parses "'$json'" jq_true . "$json"
first=$(jq -r '.sources[0].source' <<<"$json" 2>/dev/null)
check_why flooder_is_first "first row is '$first'" test "$first" = "$FLOODER"
drops=$(jq -r '.sources[0].drops' <<<"$json" 2>/dev/null)
check_why flooder_has_drops "drops=$drops" test "${drops:-0}" -gt 0 2>/dev/null
label=$(jq -r '.sources[0].policy_label' <<<"$json" 2>/dev/null)
check_why flooder_row_names_the_policy "label='$label'" test "$label" = egt-api
quiet=$(jq -r --arg q "$QUIET" '[.sources[] | select(.source == $q)][0].drops' <<<"$json" 2>/dev/null)
check_why quiet_client_listed_with_0_drops "drops='$quiet'" test "$quiet" = 0
qconns=$(jq -r --arg q "$QUIET" '[.sources[] | select(.source == $q)][0].syns' <<<"$json" 2>/dev/null)
check_why quiet_client_syns_counted "syns='$qconns'" test "$qconns" = 2
tracked=$(jq -r '.totals.tracked_sources' <<<"$json" 2>/dev/null)
check_why totals_count_tracked_sources "tracked_sources=$tracked" test "${tracked:-0}" -ge 2 2>/dev/null
check_why totals_have_drop_reasons "'$json'" jq_true '.totals.drops_per_s_by_reason | has("syn_rate")' "$json"

json=$(top_json -n 1 --sort drops)
n=$(jq '.sources | length' <<<"$json" 2>/dev/null)
check_why n_1_gives_one_row "rows=$n" test "$n" = 1

# A ban shows in the BAN column.
$EG ban "$FLOODER" --ttl 600 >/dev/null 2>&1
json=$(top_json -n 5 --sort syns)
ban=$(jq -r --arg f "$FLOODER" '[.sources[] | select(.source == $f)][0] | "\(.ban) \(.ban_expires_in)"' <<<"$json" 2>/dev/null)
check_why ban_column_shows_the_ban "ban='$ban'" grep -Eq '^banned (59[0-9]|600)$' <<<"$ban"
$EG unban "$FLOODER" >/dev/null 2>&1

text=$($EG top --once --interval 0.2 -n 5 2>&1)
check_why text_snapshot_has_header "'$text'" grep -q "^SOURCE .*POLICY .*SYNS/s .*PKTS/s .*DROPS/s .*SYNS .*DROPS .*CONNS .*BAN" <<<"$text"
check_why text_snapshot_has_no_escapes "terminal control in --once output" bash -c '! grep -q $'"'"'\e'"'"' <<<"$1"' _ "$text"

# The live screen: one refresh shows the header and the flooder; q quits and
# gives the terminal back (line editing and echo on, normal screen).
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s egt -x 160 -y 40 \
	"$EG top --interval 0.5; echo EGT_EXITED rc=\$?; stty -a | tr ' ' '\n' | grep -x -- '-\?icanon\|-\?echo' | tr '\n' ' '; echo; sleep 60"
check_why live_screen_shows_header "$(screen | head -5)" wait_screen "SYNS/s.*PKTS/s.*DROPS/s"
check_why live_screen_shows_flooder "$(screen | head -8)" wait_screen "^$FLOODER "
check_why live_screen_shows_totals "$(screen | head -5)" wait_screen "^pps [0-9]"
tmux -L "$TMUX_SOCK" send-keys -t egt q 2>/dev/null
check_why q_quits_with_status_0 "$(screen | tail -5)" wait_screen "EGT_EXITED rc=0"
check_why terminal_modes_restored "$(screen | tail -3)" wait_screen "^icanon echo"
check_why screen_restored "table still on the screen after exit" bash -c '! tmux -L "$1" capture-pane -p -t egt | grep -q "SYNS/s"' _ "$TMUX_SOCK"
tmux -L "$TMUX_SOCK" kill-server 2>/dev/null

# Ctrl-C quits too, with the terminal restored.
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s egt -x 160 -y 40 \
	"$EG top --interval 0.5; echo EGT_EXITED rc=\$?; sleep 60"
wait_screen "SYNS/s" >/dev/null
tmux -L "$TMUX_SOCK" send-keys -t egt C-c 2>/dev/null
# The shell around it may die of the same SIGINT, taking the pane along.
top_gone() {
	for _ in $(seq 150); do
		case $(tmux -L "$TMUX_SOCK" list-panes -t egt -F '#{pane_current_command}' 2>&1) in
		edgeguard) sleep 0.2 ;;
		*) return 0 ;;
		esac
	done
	return 1
}
check_why ctrl_c_quits "$(screen | tail -5)" top_gone
tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
exit 0

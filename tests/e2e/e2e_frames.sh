#!/usr/bin/env bash
# End to end: crafted frames (scapy, tests/e2e/frames_corpus.py) against an
# attached datapath, as a table of frame -> verdict read back from the
# interface's counters, for every bypass the adversarial review found and its
# variants: deep VLAN stacks, IPv4/IPv6 key spaces (IPv4-mapped sources, ::/0
# and 0.0.0.0/0), deeply nested expired CIDR bans, IPv6 auto-ban escalation and
# the auto-ban budget, and forged RSTs/FINs on real connections under max_conns.
# The root namespace is the protected host; the sender lives in egv-frames.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP"

NS=egv-frames
HOST_IF=egv-h
CLI_IF=egv-c
HOST=100.90.1.1 CLIENT=100.90.1.2
PY=/usr/bin/python3 # Debian's, for python3-scapy
lab_dirs edgeguard-test-frames egv
HOLDER=

cleanup() {
	[ -n "$HOLDER" ] && stop_pid "$HOLDER"
	stop_server
	ipt_undo
	lab_teardown "$NS" "$HOST_IF"
	lab_dirs_remove
}
trap cleanup EXIT
trap "exit 1" INT TERM

need_files "$EG" "$TOOLS/tcp_server" "$TOOLS/tcp_hold"
$PY -c 'import scapy.all' 2>/dev/null || die setup "python3-scapy is not installed (make deps)"
lab_remove "$NS" "$HOST_IF"
PORT=$(free_port) || die setup "no free port"

# One queue, no IPv6 on the link: nothing but our frames moves the counters.
veth_pair --one-queue --no-ipv6 "$HOST_IF" "$CLI_IF" "$NS" 29 "$HOST" "$CLIENT" ||
	die setup "cannot set up $HOST_IF/$CLI_IF"
ipt_accept "$HOST_IF"
start_server 50 --hold --seconds 120 "$HOST:$PORT" || die setup "tcp_server did not start"

cat >"$WORK/policy.json" <<JSON
{
	"comment": "e2e_frames: a capped port, and udp/9999 that auto-bans at the first drop",
	"limits": { "max_autobans": 8 },
	"autoban": { "ipv6_escalate_to": 56, "escalate_after": 3 },
	"policies": [
		{ "name": "capped", "protocol": "tcp", "port": $PORT, "max_conns": 3 },
		{ "name": "trap", "protocol": "udp", "port": 9999,
		  "packets": { "rate": 1, "burst": 1 }, "ban_after": 1, "ban_ttl": 600 }
	]
}
JSON
out=$($EG attach "$HOST_IF" --policy "$WORK/policy.json" 2>&1) || die setup "attach failed: $out"

# table NAME [ARGS...]: runs one table of the corpus from the client's namespace.
# nsenter keeps the mounts, so the CLI there still reads this test's pins.
table() {
	local name=$1; shift
	nsenter --net="/run/netns/$NS" $PY tests/e2e/frames_corpus.py --eg "$EG" --host-if "$HOST_IF" \
		--iface "$CLI_IF" --host-mac "$(cat "/sys/class/net/$HOST_IF/address")" \
		--table "$name" "$@"
	return 0
}
eg() { out=$($EG "$@" 2>&1) || fail "edgeguard $*" "$out"; }

# 1. Lists through any VLAN stack and both families.
eg ban 198.51.100.7
eg ban 2001:db8:bad::/48
eg allow add 203.0.113.0/24
table deep-vlan
table families
eg ban ::/0 --force
table any-v6-banned
eg unban ::/0
eg ban 0.0.0.0/0 --force
table any-v4-banned
eg unban 0.0.0.0/0

# 2. Fifteen expired CIDR bans nested over a permanent one.
eg ban 10.20.0.0/16
for p in $(seq 17 31); do eg ban "10.20.0.0/$p" --ttl 1; done

sleep 2.2 # the /17../31 expire by the kernel's clock: 1 s TTLs, bounded wait
table nested

# 3. The datapath's own bans: IPv6 escalation, then a full auto-ban map that
#    costs auto-bans, never the operator's room.
table autoban --escalate-after 3
check escalation_counted test "$(counter autoban_escalated)" -eq 1
table fill-autobans --count 10
check autoban_failures_counted test "$(counter ban_failed)" -ge 3
eg ban 192.0.2.99 --reason "operator room"
check operator_ban_fits_with_autobans_full eval "$EG bans --json | jq -e '.[] | select(.address == \"192.0.2.99\" and .origin == \"manual\")' >/dev/null"

# 4. Forged RSTs and FINs on real connections at max_conns: the kernel ignores
#    them, so the slots stay taken and a fourth connection is still refused.
mkfifo "$WORK/hold.in"
ip netns exec "$NS" "$TOOLS/tcp_hold" --bind "$CLIENT" --heartbeat-ms 300 --seconds 60 \
	"$HOST:$PORT" <"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
HOLDER=$!
exec 4>"$WORK/hold.in"
echo "open 3" >&4
held() { grep -q "^open ok=3 " "$WORK/hold.out"; }
check three_connections_held wait_until 100 held
sports=$(ip netns exec "$NS" ss -Htn state established "( dport = :$PORT )" |
	awk '{ split($3, a, ":"); print a[2] }' | paste -sd, -)
check_eq three_client_ports "$(tr ',' '\n' <<<"$sports" | grep -c .)" 3
# No heartbeats while the table reads the counters (each frame must move one).
echo "quiet" >&4
quiet() { grep -q "^quiet " "$WORK/hold.out"; }
check holder_quiet wait_until 50 quiet
closed0=$(counter flow_closed)
table forged-resets --client "$CLIENT" --server "$HOST" --server-port "$PORT" --sports "$sports"
sleep 1.5 # longer than a pending RST would wait (none may be pending: none was exact)
check_eq forged_resets_closed_no_flow "$(counter flow_closed)" "$closed0"
check fourth_connection_still_refused refused "$HOST:$PORT" "$CLIENT"
echo "status" >&4
alive() { grep -q "^status held=3 alive=3 " "$WORK/hold.out"; }
check held_connections_still_alive wait_until 50 alive
echo "close 1" >&4
# The client closes one properly: the server closes its side and the slot frees.
room() { connects "$HOST:$PORT" "$CLIENT"; }
check slot_frees_on_a_real_close wait_until 50 room
echo quit >&4
exec 4>&-

exit $failed

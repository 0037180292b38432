#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# `make bench-flood` in smoke mode (one short repetition): it runs, produces a
# complete table (a figure for every configuration and source mix), draws its
# plot and leaves nothing behind. A benchmark on a shared machine: no figure's
# value is checked, only that it is there.
# shellcheck disable=SC2317 # helpers called through check_why
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1
# shellcheck source=bench/flood/lab.sh
. bench/flood/lab.sh
# shellcheck source=bench/flood/configs.sh
. bench/flood/configs.sh
# shellcheck source=bench/flood/measure.sh
. bench/flood/measure.sh

T=e2e_bench_flood
WORK=$(mktemp -d /tmp/egfl-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

need_files "$EG" "$TOOLS/tcp_server" "$TOOLS/tcp_connect" "$EG_BUILD_DIR/bench/flood/flood_gen"
OUT=$WORK/out

timeout --kill-after=20 400 bench/flood/run.sh --smoke --out "$OUT" >"$WORK/run.log" 2>&1
rc=$?
grep '^bench-flood: done' "$WORK/run.log" | sed 's/^/# /'
check_why "runs" "exit status $rc: $(tail -1 "$WORK/run.log")" [ "$rc" -eq 0 ]

# results.tsv: a header, then one line per mix and configuration.
for mix in "${MIXES[@]}"; do
	for cfg in "${CONFIGS[@]}"; do
		line=$(awk -F'\t' -v m="$mix" -v c="$cfg" '$1 == m && $2 == c' "$OUT/results.tsv" 2>/dev/null)
		cost=$(echo "$line" | cut -f5)
		dropped=$(echo "$line" | cut -f16)
		if [[ "$cost" =~ ^[0-9]+$ ]] && [ "$cost" -gt 0 ] && [[ "$dropped" =~ ^-?[0-9.]+$ ]]; then
			ok "figures for $cfg, $mix source(s)"
		else
			not_ok "figures for $cfg, $mix source(s)" "ns/pkt '$cost', dropped % '$dropped'"
		fi
	done
done
rows=$(($(wc -l <"$OUT/results.tsv" 2>/dev/null || echo 1) - 1))
check_eq "one results line per configuration and mix" "$rows" $((${#MIXES[@]} * ${#CONFIGS[@]}))

# table.md: every configuration has a row in the cost table (the first one
# that names it), with no empty cell.
row_complete() { [ -n "$1" ] && ! grep -q '| - |' <<<"$1"; }
for cfg in "${CONFIGS[@]}"; do
	row=$(awk -v l="| $(cfg_label "$cfg") |" 'index($0, l) == 1 { print; exit }' "$OUT/table.md" 2>/dev/null)
	check_why "table row for $cfg" "'$row'" row_complete "$row"
done
is_png() { [ "$(head -c 4 "$1" 2>/dev/null | tail -c 3)" = PNG ]; }
check_why "plot" "$OUT/flood.png is not a PNG" is_png "$OUT/flood.png"

# Nothing left: namespaces, links, policy routing, pins, iptables and nft rules.
none_of() { ! "$@" 2>/dev/null | grep -q "$PATTERN"; }
PATTERN='^egfl-' check_why "no namespace left" "$(ip netns list | grep egfl-)" none_of ip netns list
check_why "no link left" "$LAB_HOST_IF still exists" test ! -e "/sys/class/net/$LAB_HOST_IF"
PATTERN="lookup $LAB_TABLE" check_why "no policy rule left" "ip rule has $LAB_TABLE" none_of ip rule
check_why "no pins left" "/sys/fs/bpf/edgeguard-bench-flood exists" \
	test ! -e /sys/fs/bpf/edgeguard-bench-flood
PATTERN='EGFL\|egfl' check_why "no iptables rule left" "$(iptables-save | grep -i -m1 egfl)" \
	none_of iptables-save
PATTERN=egfl_bench check_why "no nft table left" "egfl tables remain" none_of nft list tables

[ "$failed" -eq 0 ] || { echo "--- bench output"; cat "$WORK/run.log"; }
exit "$failed"

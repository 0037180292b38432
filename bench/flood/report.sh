# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The report of `make bench-flood`, sourced by run.sh: tables (report.awk)
# and the plot (plot.gp) from the raw files in the output directory.

# report DIR: DIR/results.tsv, table.md and flood.png from DIR/samples.tsv and
# connects.tsv; prints the setup and table.md.
report() {
	local dir=$1 c
	for c in "${CONFIGS[@]}"; do
		printf '%s\t%s\t%s\n' "$c" "$(cfg_label "$c")" "$(cfg_short "$c")"
	done >"$WORK/labels.tsv"
	awk -v hz="$(getconf CLK_TCK)" -v timeout_ms="$CLIENT_TIMEOUT_MS" -v rx_cpu="$RX_CPU" -v mixes="${MIXES[*]}" \
		-v configs="${CONFIGS[*]}" -v labels="$WORK/labels.tsv" -v results="$dir/results.tsv" \
		-v plotdata="$dir/plot.dat" -f bench/flood/report.awk \
		"$dir/samples.tsv" "$dir/connects.tsv" >"$WORK/tables.md" || return 1
	gnuplot -e "data='$dir/plot.dat'; out='$dir/flood.png'" bench/flood/plot.gp || return 1
	{
		echo "Setup: $(uname -r), $(nproc --all) CPUs ($(lscpu | sed -n 's/^Model name: *//p')),"
		echo "$(iptables --version), nft $(nft --version | awk '{ print $2 }'),"
		echo "xt_recent ip_list_tot=$(cat /sys/module/xt_recent/parameters/ip_list_tot 2>/dev/null || echo ?)."
		echo "A flood of TCP SYNs to port $FLOOD_PORT (closed) from flood_gen on CPU $TX_CPU; the receiver's NAPI"
		echo "thread on CPU $RX_CPU. Per configuration: $SETTLE s to settle, $COST_WINDOW s at full speed (cost),"
		echo "$LOAD_WINDOW s at $PPS SYN/s (load); $REPS repetition(s). $LAB_CLIENTS good clients connect every $CLIENT_RATE_MS ms each."
		echo
		cat "$WORK/tables.md"
	} >"$dir/table.md"
	echo
	cat "$dir/table.md"
	echo
	echo "Per configuration and mix, every figure: $dir/results.tsv; plot: $dir/flood.png"
}

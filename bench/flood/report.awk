# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The tables of `make bench-flood`, from its raw files (POSIX awk: Debian's
# default awk is mawk):
#
#   awk -v hz=USER_HZ -v timeout_ms=MS -v rx_cpu=N -v mixes="1 1024 65536 random" \
#       -v configs="none ..." -v labels=FILE -v results=FILE -v plotdata=FILE \
#       -f report.awk samples.tsv connects.tsv
#
# samples.tsv, one line per measured window: rep mix config phase t0 t1, then
#   the counters' deltas over it: napi_ns cpu1_busy (USER_HZ ticks) cpu1_all
#   rx rx_dropped (ring full) seen dropped (by the configuration). phase:
#   "cost" (flood at full speed) or "load" (flood at the attack rate).
# connects.tsv, one line per good-client attempt: "ok|fail us=N at=T". An
#   attempt counts in the load window it started in; a failed one is slower
#   than any (">MS" when it sets a percentile).
# labels: "config<TAB>label<TAB>short label" lines.
#
# Writes results (one line per configuration and mix, every figure), plotdata
# (gnuplot: per configuration, median/min/max ns per packet per mix) and
# prints the Markdown tables. A cell nothing measured is "-": the smoke test
# looks for those.

function sort_n(a, n,    i, j, v) {
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
}

# Median, min and max of arr[key, 1..n] into out.
function stats(arr, key, n, out,    i, v) {
	for (i = 1; i <= n; i++)
		v[i] = arr[key, i]
	sort_n(v, n)
	out["med"] = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	out["min"] = v[1]
	out["max"] = v[n]
}

# The p-th percentile (nearest rank) of a[1..n], sorted.
function pct(a, n, p,    k) {
	k = int(p / 100 * n + 0.999999)
	return a[k < 1 ? 1 : k]
}

function ms(us) { return us >= INF ? ">" timeout_ms : sprintf("%.1f", us / 1000) }

function pct_text(p) { return p == 0 || p >= 99.95 ? sprintf("%.0f", p) : p >= 10 ? sprintf("%.1f", p) : sprintf("%.2g", p) }

BEGIN {
	INF = 1e18
	nm = split(mixes, MIX, " ")
	nc = split(configs, CFG, " ")
	while ((getline line < labels) > 0) {
		split(line, f, "\t")
		LABEL[f[1]] = f[2]
		SHORT[f[1]] = f[3]
	}
	FS = "[ \t]+"
}

FILENAME == ARGV[1] && $4 == "cost" {
	key = $2 SUBSEP $3
	if ($10 <= 0)
		next
	n = ++NCOST[key]
	NSPP[key, n] = $7 / $10
	CPU1[key, n] = $8 * 1e9 / hz / $10
	SHARE[key, n] = $8 > 0 ? $7 / ($8 * 1e9 / hz) : 0
	COSTDROP[key] += $13; COSTSEEN[key] += $12
	next
}

FILENAME == ARGV[1] && $4 == "load" {
	key = $2 SUBSEP $3
	w = ++nw
	W0[w] = $5; W1[w] = $6; WKEY[w] = key
	secs = $6 - $5
	if (secs <= 0)
		next
	n = ++NLOAD[key]
	OFFERED[key, n] = ($10 + $11) / secs
	HANDLED[key, n] = $10 / secs
	BUSY[key, n] = 100 * $7 / (secs * 1e9)
	DROPPPS[key, n] = $13 > 0 ? $13 / secs : 0
	LOADDROP[key] += $13; LOADSEEN[key] += $12
	next
}

FILENAME == ARGV[1] { next }

{
	sub(/^us=/, "", $2)
	sub(/^at=/, "", $3)
	for (w = 1; w <= nw; w++) {
		if ($3 >= W0[w] && $3 < W1[w]) {
			key = WKEY[w]
			c = ++NCONN[key]
			ok = $1 == "ok" && $2 + 0 <= timeout_ms * 1000 # poll may return a bit late
			CONN[key, c] = ok ? $2 + 0 : INF
			NOK[key] += ok
			break
		}
	}
}

# The share of what the configuration looked at that it dropped (the good
# clients' packets are in both). Counters read a few packets apart can make a
# drop count of next to nothing slightly negative: that is 0.
function drop_pct(d, seen) { return seen > 0 && d > 0 ? 100 * d / seen : 0 }

function cell(m, c) { return MIX[m] SUBSEP CFG[c] }

END {
	printf "mix\tconfig\tlabel\treps\tns_pkt\tns_pkt_min\tns_pkt_max\tcpu1_ns_pkt\tnapi_share" \
		"\tmax_pps\tcost_dropped_pct\toffered_pps\thandled_pps\treceiver_busy_pct" \
		"\tdropped_pps\tdropped_pct\tclient_attempts\tclient_ok_pct\tconnect_p50_ms" \
		"\tconnect_p99_ms\n" > results
	for (m = 1; m <= nm; m++) {
		for (c = 1; c <= nc; c++) {
			key = cell(m, c)
			printf "%s\t%s\t%s\t%d", MIX[m], CFG[c], LABEL[CFG[c]], NCOST[key] > results
			if (NCOST[key]) {
				n = NCOST[key]
				REPS = n > REPS ? n : REPS
				stats(NSPP, key, n, s)
				NSMED[key] = s["med"]; NSMIN[key] = s["min"]; NSMAX[key] = s["max"]
				stats(CPU1, key, n, s); cpu1 = s["med"]
				stats(SHARE, key, n, s); share = s["med"]
				COST[key] = sprintf("%.0f", NSMED[key])
				if (n > 1)
					COST[key] = COST[key] sprintf(" [%.0f-%.0f]", NSMIN[key], NSMAX[key])
				printf "\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.0f\t%.1f", NSMED[key], NSMIN[key],
					NSMAX[key], cpu1, share, 1e9 / NSMED[key],
					drop_pct(COSTDROP[key], COSTSEEN[key]) > results
			} else {
				printf "\t-\t-\t-\t-\t-\t-\t-" > results
			}
			if (NLOAD[key]) {
				n = NLOAD[key]
				stats(OFFERED, key, n, s); offered = s["med"]
				stats(HANDLED, key, n, s); handled = s["med"]
				stats(BUSY, key, n, s); busy = s["med"]
				stats(DROPPPS, key, n, s); dpps = s["med"]
				dpct = drop_pct(LOADDROP[key], LOADSEEN[key])
				DROP[key] = pct_text(dpct) "%"
				LOAD[key] = sprintf("%.0f%%, %.0f of %.0f", busy, handled / 1000, offered / 1000)
				printf "\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f", offered, handled, busy, dpps, dpct > results
			} else {
				printf "\t-\t-\t-\t-\t-" > results
			}
			if ((n = NCONN[key])) {
				for (i = 1; i <= n; i++)
					v[i] = CONN[key, i]
				sort_n(v, n)
				okp = sprintf("%.0f", 100 * NOK[key] / n)
				CLIENT[key] = okp "%, " ms(pct(v, n, 99)) " ms"
				printf "\t%d\t%s\t%s\t%s\n", n, okp, ms(pct(v, n, 50)), ms(pct(v, n, 99)) > results
			} else {
				printf "\t0\t-\t-\t-\n" > results
			}
		}
	}

	printf "### Receiving CPU per packet, ns (flood at full speed; median of %d%s)\n\n", REPS,
		(REPS > 1 ? " [min-max]" : "")
	table(COST)
	printf "\n### Share of the flood dropped, at the attack rate\n\n"
	table(DROP)
	printf "\n### Receiver at the attack rate: CPU %s busy, kpps handled of those offered\n\n", rx_cpu
	table(LOAD)
	printf "\n### Good clients at the attack rate: connects that succeeded (within %s ms), p99 connect time\n\n",
		timeout_ms
	table(CLIENT)
	printf "\n### Ratios of the medians (receiving CPU per packet)\n\n"
	header("ratio")
	ratio("edgeguard rate limit / bare XDP_DROP", "eg-rate", "xdp-drop")
	ratio("iptables recent (runbook) / edgeguard rate limit", "ipt-recent", "eg-rate")
	ratio("nft meter / edgeguard rate limit", "nft-meter", "eg-rate")
	ratio("iptables raw DROP / edgeguard CIDR ban", "ipt-raw", "eg-cidr")

	for (c = 1; c <= nc; c++) {
		printf "\"%s\"", SHORT[CFG[c]] > plotdata
		for (m = 1; m <= nm; m++) {
			key = cell(m, c)
			if (key in NSMED)
				printf " %.1f %.1f %.1f", NSMED[key], NSMIN[key], NSMAX[key] > plotdata
			else
				printf " NaN NaN NaN" > plotdata
		}
		printf "\n" > plotdata
	}
}

function header(first,    m) {
	printf "| %s |", first
	for (m = 1; m <= nm; m++)
		printf " %s |", MIX[m] == "random" ? "random (spoofed)" : MIX[m] (MIX[m] == 1 ? " source" : " sources")
	printf "\n|---|"
	for (m = 1; m <= nm; m++)
		printf "---:|"
	printf "\n"
}

# table(T): one row per configuration, one column per mix, T[cell] or "-".
function table(T,    c, m, key) {
	header("configuration")
	for (c = 1; c <= nc; c++) {
		printf "| %s |", LABEL[CFG[c]]
		for (m = 1; m <= nm; m++) {
			key = cell(m, c)
			printf " %s |", (key in T) ? T[key] : "-"
		}
		printf "\n"
	}
}

function ratio(name, a, b,    m, ka, kb) {
	printf "| %s |", name
	for (m = 1; m <= nm; m++) {
		ka = MIX[m] SUBSEP a; kb = MIX[m] SUBSEP b
		if ((ka in NSMED) && (kb in NSMED) && NSMED[kb] > 0)
			printf " %.1fx |", NSMED[ka] / NSMED[kb]
		else
			printf " - |"
	}
	printf "\n"
}

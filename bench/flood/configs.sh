# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The configurations `make bench-flood` compares, sourced by run.sh after
# lab.sh. Each is applied to the protected host (the root namespace), scoped
# to egfl-h0, and removed again; cfg_cleanup removes every one of them
# whatever state a run was stopped in.
#
# Every per-source limit is the runbooks' "5 new connections per second per
# source": the good clients connect 4 times a second each and stay under it.
# The rules match SYNs (--syn), not conntrack's NEW state, so no
# configuration pays for connection tracking it did not ask for.
#
# What each saw and dropped is counted the same way for a family: XDP programs
# by the veth's own counters of XDP packets and XDP_DROP verdicts; netfilter
# configurations by the packets that entered their chain and those that left
# it at the end, so a drop a match makes by itself (hashlimit, when its table
# is full) counts too. Both numbers of a pair come from one read.

CONFIGS=(none ipt-raw ipt-recent ipt-hashlimit nft-meter xdp-drop eg-cidr eg-rate eg-autoban eg-ban)
SYN_RATE=5 # per second and burst, per source, for every limiter
IPT_RAW=EGFL_RAW
IPT_IN=EGFL_IN
NFT_TABLE=egfl_bench

# cfg_label CONFIG: the configuration as the table names it.
cfg_label() {
	case $1 in
	none) echo "no filter (stack answers RST)" ;;
	ipt-raw) echo "iptables raw DROP -s $ATTACK_NET" ;;
	ipt-recent) echo "iptables recent hitcount 5/1s (runbook)" ;;
	ipt-hashlimit) echo "iptables hashlimit 5/s per source" ;;
	nft-meter) echo "nft meter 5/s per source" ;;
	xdp-drop) echo "bare XDP_DROP" ;;
	eg-ban) echo "edgeguard exact bans" ;;
	eg-cidr) echo "edgeguard CIDR ban $ATTACK_NET" ;;
	eg-rate) echo "edgeguard rate limit 5/s" ;;
	eg-autoban) echo "edgeguard rate limit + auto-ban" ;;
	esac
}

# cfg_short CONFIG: the configuration as the plot names it.
cfg_short() {
	case $1 in
	none) echo "no filter" ;;
	ipt-raw) echo "iptables raw DROP" ;;
	ipt-recent) echo "iptables recent" ;;
	ipt-hashlimit) echo "iptables hashlimit" ;;
	nft-meter) echo "nft meter" ;;
	xdp-drop) echo "bare XDP_DROP" ;;
	eg-cidr) echo "edgeguard CIDR ban" ;;
	eg-rate) echo "edgeguard rate limit" ;;
	eg-autoban) echo "edgeguard auto-ban" ;;
	eg-ban) echo "edgeguard exact bans" ;;
	esac
}

# --- edgeguard: attached once per source mix, in this order ---------------------
#
# eg-cidr attaches with no limits and bans the attack's /16 with `edgeguard
# ban` (and unbans it after); eg-rate and eg-autoban load their policies;
# eg-ban loads a policy that bans every source, and edgeguard is detached
# after it, which removes its pins and all state. The exact bans come last
# because `policy load` keeps static bans a new file no longer lists: they
# would decide the verdicts of every later configuration. The auto-bans
# eg-autoban leaves behind are on the same exact-ban path eg-ban measures.

# eg_policy FILE [DEFAULT-JSON [BANS-JSON]]: a policy file with this run's limits.
# Room for 65536 static bans plus as many auto-bans.
eg_policy() {
	printf '{ "limits": { "max_bans": 262144 }, "default": %s, "bans": %s }\n' \
		"${2:-"{}"}" "${3:-"[]"}" >"$1"
}

# eg_ban_list MIX: the exact bans of the eg-ban configuration, as JSON: every
# source of the mix (1, 1024, 65536 addresses); a spoofed flood's sources
# cannot be listed, so for "random" the 65536 of 198.18.0.0/16.
eg_ban_list() {
	local n=$1
	[ "$n" = random ] && n=65536
	awk -v n="$n" -v one="$(mix_base 1)" 'BEGIN {
		printf "["
		if (n == 1) { printf "{\"cidr\":\"%s\"}]", one; exit }
		for (i = 0; i < n; i++)
			printf "%s{\"cidr\":\"198.18.%d.%d\"}", i ? "," : "", int(i / 256), i % 256
		printf "]"
	}'
}

eg_syn_limit() { echo "\"syn\": { \"rate\": $SYN_RATE, \"burst\": $SYN_RATE }"; }

eg_apply() {
	local f=$WORK/policy-$1.json
	case $1 in
	eg-cidr)
		eg_policy "$f"
		timeout 60 "$EG" attach "$LAB_HOST_IF" --policy "$f" >/dev/null &&
			timeout 30 "$EG" ban "$ATTACK_NET" >/dev/null
		return ;;
	eg-rate) eg_policy "$f" "{ $(eg_syn_limit) }" ;;
	eg-autoban)
		eg_policy "$f" "{ $(eg_syn_limit), \"ban_after\": 10, \"ban_window\": 10, \"ban_ttl\": 600 }" ;;
	eg-ban)
		[ -s "$WORK/bans-$2.json" ] || eg_ban_list "$2" >"$WORK/bans-$2.json"
		eg_policy "$f" "{}" "$(<"$WORK/bans-$2.json")" ;;
	esac
	timeout 60 "$EG" policy load "$f" >/dev/null
}

# --- netfilter -------------------------------------------------------------------

# ipt_chain TABLE HOOK CHAIN RULE...: CHAIN in TABLE with the rules (each one
# string) between two rules that only count (egfl-seen, egfl-passed), and a
# jump to it from HOOK for packets from egfl-h0.
ipt_chain() {
	local table=$1 hook=$2 chain=$3 rule
	shift 3
	iptables -w 5 -t "$table" -N "$chain" &&
		iptables -w 5 -t "$table" -A "$chain" -m comment --comment egfl-seen || return 1
	for rule in "$@"; do
		# shellcheck disable=SC2086 # a rule is words
		iptables -w 5 -t "$table" -A "$chain" $rule || return 1
	done
	iptables -w 5 -t "$table" -A "$chain" -m comment --comment egfl-passed &&
		iptables -w 5 -t "$table" -I "$hook" -i "$LAB_HOST_IF" -j "$chain"
}

# ipt_unchain TABLE HOOK CHAIN: removes the jump(s) and the chain, if there.
ipt_unchain() {
	while iptables -w 5 -t "$1" -D "$2" -i "$LAB_HOST_IF" -j "$3" 2>/dev/null; do :; done
	iptables -w 5 -t "$1" -F "$3" 2>/dev/null
	iptables -w 5 -t "$1" -X "$3" 2>/dev/null
	return 0
}

# ipt_counts TABLE CHAIN: SEEN, DROPPED: the packets counted at the top of CHAIN,
# and those of them not counted at its end. The two rules are listed one
# after the other, so they are read (nearly) at the same time.
ipt_counts() {
	local pkts rest passed=0
	SEEN=0
	while read -r pkts rest; do
		case $rest in
		*egfl-seen*) SEEN=$pkts ;;
		*egfl-passed*) passed=$pkts ;;
		esac
	done < <(iptables -w 5 -t "$1" -nvxL "$2")
	DROPPED=$((SEEN - passed))
}

# nft_apply: the meter, and two iptables rules that count around it: one in
# mangle INPUT (priority -150, before the meter's 0), one in security INPUT
# (+50, after it). Not nft counters: any nft listing reads the meter's
# elements too, up to 65535 of them, which takes seconds; iptables-save reads
# its own tables only, both in one go.
nft_apply() {
	local meter="meter egfl_syn { ip saddr timeout 10s limit rate over $SYN_RATE/second burst $SYN_RATE packets }"
	nft -f - <<EOF || return 1
table ip $NFT_TABLE {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "$LAB_HOST_IF" tcp flags & (syn | ack) == syn $meter drop
	}
}
EOF
	iptables -w 5 -t mangle -I INPUT -i "$LAB_HOST_IF" -m comment --comment egfl-seen &&
		iptables -w 5 -t security -I INPUT -i "$LAB_HOST_IF" -m comment --comment egfl-passed
}

nft_remove() {
	nft delete table ip "$NFT_TABLE" 2>/dev/null
	while iptables -w 5 -t mangle -D INPUT -i "$LAB_HOST_IF" -m comment --comment egfl-seen \
		2>/dev/null; do :; done
	while iptables -w 5 -t security -D INPUT -i "$LAB_HOST_IF" -m comment --comment egfl-passed \
		2>/dev/null; do :; done
	return 0
}

# nft_counts: SEEN, DROPPED from the two counting rules, in one iptables-save
# (whose dump is not atomic: when the meter drops next to nothing, the two
# counters read a few packets apart can make DROPPED slightly negative).
nft_counts() {
	local c rest passed=0
	SEEN=0
	while read -r c rest; do # "[packets:bytes] -A INPUT ..."
		c=${c#[}
		case $rest in
		*egfl-seen*) SEEN=${c%%:*} ;;
		*egfl-passed*) passed=${c%%:*} ;;
		esac
	done < <(iptables-save -c)
	DROPPED=$((SEEN - passed))
}

# --- the interface -----------------------------------------------------------------

# cfg_apply CONFIG MIX: puts the configuration in place.
cfg_apply() {
	local syn="-p tcp --syn"
	case $1 in
	none) ;;
	ipt-raw) ipt_chain raw PREROUTING "$IPT_RAW" "-s $ATTACK_NET -j DROP" ;;
	ipt-recent)
		ipt_chain filter INPUT "$IPT_IN" \
			"$syn -m recent --name egfl --update --seconds 1 --hitcount 5 -j DROP" \
			"$syn -m recent --name egfl --set" ;;
	ipt-hashlimit)
		ipt_chain filter INPUT "$IPT_IN" "$syn -m hashlimit --hashlimit-name egfl \
			--hashlimit-mode srcip --hashlimit-above $SYN_RATE/sec --hashlimit-burst $SYN_RATE -j DROP" ;;
	nft-meter) nft_apply ;;
	xdp-drop) ip link set dev "$LAB_HOST_IF" xdpdrv obj "$FLOOD_BIN/xdp_drop.bpf.o" sec xdp ;;
	eg-*) eg_apply "$1" "$2" ;;
	esac
}

# cfg_remove CONFIG: undoes cfg_apply (edgeguard: see the order above).
cfg_remove() {
	case $1 in
	ipt-raw) ipt_unchain raw PREROUTING "$IPT_RAW" ;;
	ipt-recent | ipt-hashlimit) ipt_unchain filter INPUT "$IPT_IN" ;;
	nft-meter) nft_remove ;;
	xdp-drop) ip link set dev "$LAB_HOST_IF" xdpdrv off ;;
	eg-cidr) timeout 30 "$EG" unban "$ATTACK_NET" >/dev/null ;;
	eg-ban) timeout 30 "$EG" detach "$LAB_HOST_IF" >/dev/null ;;
	esac
}

# cfg_counts CONFIG: sets SEEN and DROPPED, the packets the configuration has
# looked at and those it has dropped so far, both from one read of the same
# counters. No more processes than the one that reads them: this runs four
# times per measurement, on the CPU the flood keeps busy.
# shellcheck disable=SC2034 # DROPPED is read by counters() in measure.sh
cfg_counts() {
	local k v
	SEEN=0 DROPPED=0
	case $1 in
	none) read -r SEEN <"/sys/class/net/$LAB_HOST_IF/statistics/rx_packets" ;;
	ipt-raw) ipt_counts raw "$IPT_RAW" ;;
	ipt-recent | ipt-hashlimit) ipt_counts filter "$IPT_IN" ;;
	nft-meter) nft_counts ;;
	*)
		while read -r k v; do
			case $k in
			rx_queue_0_xdp_packets:) SEEN=$v ;;
			rx_queue_0_xdp_drops:) DROPPED=$v ;;
			esac
		done < <(ethtool -S "$LAB_HOST_IF") ;;
	esac
}

# cfg_cleanup: removes every configuration (for the exit trap).
cfg_cleanup() {
	local c
	for c in "${CONFIGS[@]}"; do
		[[ "$c" == eg-* ]] || cfg_remove "$c" 2>/dev/null
	done
	timeout 30 "$EG" detach "$LAB_HOST_IF" >/dev/null 2>&1
	return 0
}

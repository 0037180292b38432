#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time and reports each as one case:
#   ok - fuzz_NAME: RUNS runs (N/s), corpus N inputs, coverage N edges
#   not ok - fuzz_NAME: WHAT; input saved as FILE; reproduce: DIR/fuzz_NAME FILE
#
# usage: tests/fuzz/run.sh DIR SECONDS [NAME...]
#   DIR      where make VARIANT=fuzz fuzzers put DIR/fuzz_NAME (build-fuzz)
#   SECONDS  how long each target runs after replaying its corpus
#   NAME     only these targets (default: every DIR/fuzz_*)
#
# Per target: seeds in tests/fuzz/corpus/NAME/ (read only), new inputs kept in
# DIR/corpus/NAME/ for the next run, dictionary tests/fuzz/NAME.dict if there
# is one, crashing inputs in DIR/crashes/NAME/, the full log in DIR/logs/NAME.log.
set -u
cd "$(dirname "$0")/../.." || exit 2

if [ $# -lt 2 ] || ! [ "$2" -gt 0 ] 2>/dev/null; then
	echo "usage: tests/fuzz/run.sh DIR SECONDS [NAME...]" >&2
	exit 2
fi
dir=$1 secs=$2
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$dir"/fuzz_*; do
		[ -x "$f" ] && names+=("${f##*/fuzz_}")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "not ok - fuzz: no fuzz targets in $dir (make VARIANT=fuzz fuzzers)"
	exit 1
fi

# libFuzzer reports on stderr, which the log keeps: no log_path files here.
# Leaks are findings too (a failed parse must leave nothing to free).
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1

# stat FILE KEY: the number after "KEY:" on libFuzzer's last status line that has it.
stat() { grep -aoE "\\b$2: *[0-9]+" "$1" | tail -1 | grep -oE '[0-9]+$'; }

failed=0
for name in "${names[@]}"; do
	bin=$dir/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz_$name: $bin is missing (make VARIANT=fuzz fuzzers)"
		failed=1
		continue
	fi
	corpus=$dir/corpus/$name crashes=$dir/crashes/$name log=$dir/logs/$name.log
	mkdir -p "$corpus" "$crashes" "$dir/logs"
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$crashes/")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	dirs=("$corpus")
	[ -d "tests/fuzz/corpus/$name" ] && dirs+=("tests/fuzz/corpus/$name")

	"$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(grep -aoE 'number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	rate=$(grep -aoE 'average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	if [ "$rc" -eq 0 ] && grep -aq 'DONE' "$log"; then
		echo "ok - fuzz_$name: ${runs:-?} runs in ${secs} s (${rate:-?}/s)," \
			"corpus $(stat "$log" corp) inputs, coverage $(stat "$log" cov) edges," \
			"$(stat "$log" ft) features"
		# Keep only the inputs that add coverage, so the next run starts fast.
		tmp=$(mktemp -d "$dir/corpus/.merge-$name.XXXXXX")
		if "$bin" -merge=1 "$tmp" "$corpus" >>"$log" 2>&1; then
			rm -rf "$corpus" && mv "$tmp" "$corpus"
		else
			rm -rf "$tmp"
		fi
		continue
	fi
	failed=1
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	what=$(grep -a -m1 -E '^SUMMARY:|^invariant broken|ERROR: libFuzzer' "$log")
	echo "not ok - fuzz_$name: ${what:-exited with status $rc}${input:+; input saved as $input; reproduce: $bin $input}"
	# The start of the report, as a comment; the whole of it is in the log.
	sed -n '/^==[0-9]*==ERROR\|^invariant broken\|runtime error\|ERROR: libFuzzer/,$p' "$log" |
		head -16 | LC_ALL=C sed 's/[^[:print:]]/?/g; s/^/#   /'
	echo "#   (full report: $log)"
done
exit $failed

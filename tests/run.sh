#!/usr/bin/env bash
# Runs the tests. Each prints "ok - NAME" or "not ok - NAME: why" per case; a
# program that dies without reporting a failure counts as one failed case, and
# so does every ASan, UBSan or LeakSanitizer report a test leaves behind.
# Ends with "N passed, N failed" over all sections and a non-zero status if
# anything failed.
#
# usage: tests/run.sh [--build DIR]... [--fuzz DIR]... [FILTER]
#   --build DIR  the unit tests DIR/tests/test_* (from tests/unit/) and the
#                end-to-end scripts tests/e2e/e2e_*.sh run against DIR's
#                binaries (EDGEGUARD_BUILD=DIR)
#   --fuzz DIR   each libFuzzer target DIR/fuzz_* briefly: FUZZ_SMOKE_SECONDS
#                (default 5) each, after replaying its seed corpus
#   FILTER       only the tests whose file name contains it
# Sections run in the order given; with none, it is --build build.
set -u
cd "$(dirname "$0")/.." || exit 2

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests load BPF programs and create network namespaces: run as root" >&2
	exit 2
fi

sections=()
filter=
while [ $# -gt 0 ]; do
	case $1 in
	--build | --fuzz)
		[ $# -ge 2 ] || { echo "tests/run.sh: $1 needs a directory" >&2; exit 2; }
		sections+=("$1" "$2")
		shift 2
		;;
	-*) echo "usage: tests/run.sh [--build DIR]... [--fuzz DIR]... [FILTER]" >&2; exit 2 ;;
	*) filter=$1; shift ;;
	esac
done
[ ${#sections[@]} -gt 0 ] || sections=(--build build)

passed=0
failed=0
san_dir=$(mktemp -d /tmp/eg-sanitizer.XXXXXX)
trap 'rm -rf "$san_dir"' EXIT

# Every process a test starts (CLI, daemon, tools) inherits these. A report goes
# to its own file, SAN_DIR/asan.EXE.PID, instead of a stderr the test may hide;
# the process stops at the first one. Slow unwinding on malloc gives leak reports
# the whole stack through libbpf, which has no frame pointers. Only instrumented
# binaries read these.
export ASAN_OPTIONS="log_path=$san_dir/asan:log_exe_name=1:halt_on_error=1:exitcode=66:detect_leaks=1:fast_unwind_on_malloc=0:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$san_dir/ubsan:log_exe_name=1:halt_on_error=1:exitcode=66:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"

# sanitizer_reports NAME: one failed case per report file, with its summary;
# the report itself moves to $report_dir (or is dropped when there is none).
report_dir=
sanitizer_reports() {
	local name=$1 f summary keep
	for f in "$san_dir"/*; do
		[ -f "$f" ] || continue
		summary=$(grep -m1 '^SUMMARY:' "$f" || grep -m1 -E 'runtime error|ERROR' "$f" || head -1 "$f")
		keep=$f
		if [ -n "$report_dir" ] && mkdir -p "$report_dir"; then
			keep=$report_dir/$(tr -c 'A-Za-z0-9_.-' _ <<<"$name" | sed 's/_$//').${f##*/}
			mv "$f" "$keep"
		fi
		echo "not ok - $name: sanitizer report from ${f##*/}: $summary (full report: $keep)"
		sed -n '1,30s/^/#   /p' "$keep"
		failed=$((failed + 1))
		rm -f "$f"
	done
}

run_one() {
	local name=$1; shift
	local out rc ok bad
	out=$(mktemp)
	echo "== $name"
	timeout --kill-after=10 600 "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	ok=$(grep -c '^ok - ' "$out")
	bad=$(grep -c '^not ok - ' "$out")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $name: exited with status $rc without reporting a failed case"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	rm -f "$out"
	sanitizer_reports "$name"
}

wanted() { [ -z "$filter" ] || [[ "$1" == *"$filter"* ]]; }

run_suite() {
	local dir=$1 t
	export EDGEGUARD_BUILD=$dir
	report_dir=$dir/sanitizer-reports
	rm -rf "$report_dir"
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		wanted "$t" || continue
		run_one "$dir/$(basename "$t")" "$t"
	done
	for t in tests/e2e/e2e_*.sh; do
		[ -f "$t" ] || continue
		wanted "$t" || continue
		run_one "$dir: $(basename "$t")" bash "$t"
	done
}

run_fuzzers() {
	local dir=$1 f name
	report_dir=
	for f in "$dir"/fuzz_*; do
		[ -x "$f" ] || continue
		wanted "$f" || continue
		name=${f##*/fuzz_}
		run_one "fuzz_$name" tests/fuzz/run.sh "$dir" "${FUZZ_SMOKE_SECONDS:-5}" "$name"
	done
}

set -- "${sections[@]}"
while [ $# -gt 0 ]; do
	if [ ! -d "$2" ]; then
		echo "not ok - $1 $2: no such directory (make all, make VARIANT=san all or make VARIANT=fuzz fuzzers)"
		failed=$((failed + 1))
	elif [ "$1" = --build ]; then
		run_suite "$2"
	else
		run_fuzzers "$2"
	fi
	shift 2
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

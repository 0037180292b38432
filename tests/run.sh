#!/usr/bin/env bash
# Runs every test program (build/tests/test_*) and end-to-end script
# (tests/e2e_*.sh). Each prints "ok - NAME" or "not ok - NAME: why" per case;
# a program that dies without reporting a failure counts as one failed case.
# Ends with "N passed, N failed" and a non-zero status if anything failed.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests load BPF programs and create network namespaces: run as root" >&2
	exit 2
fi

passed=0
failed=0
filter=${1:-}

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
}

for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	[ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/e2e_*.sh; do
	[ -f "$t" ] || continue
	[ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
	run_one "$(basename "$t")" bash "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The man pages render without a single groff or man warning, and cannot
# silently drift from the code: every command in cli/main.c's command table
# has an entry in edgeguard(8)'s COMMANDS, every long option of the CLI
# (cli/*.c) appears in edgeguard(8), and every long option of
# daemon/edgeguardd.c has an entry in edgeguardd(8)'s OPTIONS.
# No root, no namespaces, nothing to clean up but a temporary directory.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$EG_TOP" || exit 1

WORK=$(mktemp -d /tmp/egr-man.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap "exit 1" INT TERM

for c in groff man; do
	if ! command -v "$c" >/dev/null; then
		fail setup "$c is not installed (make deps installs groff-base and man-db)"
		exit 1
	fi
done

# The text of section SECTION of a rendered page, one output line per line.
section() { # FILE SECTION
	awk -v s="$2" '/^[A-Z]/ { on = ($0 == s); next } on' "$1"
}
# Long options declared in getopt_long tables: { "name", required_argument, ...
long_options() { # FILE...
	grep -ohE '\{ *"[a-z][a-z0-9-]*", *(required|no|optional)_argument' "$@" |
		sed 's/^{ *"\([^"]*\)".*/\1/' | sort -u
}

for page in edgeguard edgeguardd; do
	src=man/$page.8
	if [ ! -f "$src" ]; then
		fail "${page}_page_exists" "$src is missing"
		continue
	fi
	w=$(groff -man -Tutf8 -ww -z "$src" 2>&1)
	if [ -z "$w" ]; then ok "${page}_groff_no_warnings"; else fail "${page}_groff_no_warnings" "$(head -3 <<<"$w" | tr '\n' ' ')"; fi
	# As an operator reads it; wide lines, so nothing is hyphenated or broken.
	MANWIDTH=1000 MANPAGER=cat PAGER=cat LC_ALL=C.UTF-8 man --warnings=w -l "$src" \
		2>"$WORK/$page.err" | sed 's/.\x08//g' >"$WORK/$page.txt"
	if [ ! -s "$WORK/$page.err" ] && [ -s "$WORK/$page.txt" ]; then
		ok "${page}_man_renders_without_warnings"
	else
		fail "${page}_man_renders_without_warnings" "$(head -3 "$WORK/$page.err" | tr '\n' ' ')"
	fi
	for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
		if [ -n "$(section "$WORK/$page.txt" "$s")" ]; then ok "${page}_has_${s// /_}"; else fail "${page}_has_${s// /_}" "no $s section"; fi
	done
	for f in /sys/fs/bpf/edgeguard /run/edgeguard /var/lib/edgeguard/state.json \
		 EDGEGUARD_BPF_DIR EDGEGUARD_RUN_DIR; do
		if grep -qF "$f" "$WORK/$page.txt"; then ok "${page}_mentions_$f"; else fail "${page}_mentions_$f" "not in the page"; fi
	done
done

# Every command of the CLI's table is an entry (a line starting with its name) in
# COMMANDS. The table is the one --help prints from (cli/main.c, struct cli_cmd).
cmds=$(grep -ohE '^\s*\.name = "[a-z]+"' cli/*.c | sed 's/.*"\([a-z]*\)".*/\1/')
if [ -z "$cmds" ]; then
	fail cli_command_table_found "no .name = \"...\" commands in cli/*.c"
fi
helped=$("$EG" --help 2>/dev/null | awk '/^commands:/ { on = 1; next } on && NF { print $1 }')
for c in $cmds; do
	if grep -qx "$c" <<<"$helped"; then ok "help_lists_command_$c"; else fail "help_lists_command_$c" "'edgeguard --help' does not list $c"; fi
done
section "$WORK/edgeguard.txt" COMMANDS >"$WORK/commands.txt"
for c in $cmds; do
	if grep -qE "^ {7}$c( |$)" "$WORK/commands.txt"; then
		ok "edgeguard_8_documents_command_$c"
	else
		fail "edgeguard_8_documents_command_$c" "no '$c' entry under COMMANDS in man/edgeguard.8"
	fi
done

# Every long option of the CLI appears in edgeguard(8).
opts=$(long_options cli/*.c)
[ -n "$opts" ] || fail cli_options_found "no getopt_long tables in cli/*.c"
for o in $opts; do
	if grep -qE -- "--$o([^a-z0-9-]|$)" "$WORK/edgeguard.txt"; then
		ok "edgeguard_8_documents_option_--$o"
	else
		fail "edgeguard_8_documents_option_--$o" "--$o is in cli/*.c but not in man/edgeguard.8"
	fi
done

# Every long option of the daemon is an entry in edgeguardd(8)'s OPTIONS: its own
# getopt_long table and the fleet options' table (X(ID, "name", arg) in fleet_config.h).
fleet_options() {
	grep -ohE '^\s*X\([A-Z_]+, *"[a-z][a-z0-9-]*"' user/fleet/fleet_config.h | sed 's/.*"\([^"]*\)".*/\1/'
}
[ -n "$(fleet_options)" ] || fail fleet_options_found "no X(ID, \"name\", arg) options in user/fleet/fleet_config.h"
opts=$( (long_options daemon/edgeguardd.c; fleet_options) | sort -u)
[ -n "$opts" ] || fail daemon_options_found "no getopt_long table in daemon/edgeguardd.c"
section "$WORK/edgeguardd.txt" OPTIONS >"$WORK/options.txt"
for o in $opts; do
	if grep -qE -- "^ {7}(-[a-zA-Z], )?--$o( |$)" "$WORK/options.txt"; then
		ok "edgeguardd_8_documents_option_--$o"
	else
		fail "edgeguardd_8_documents_option_--$o" "no '--$o' entry under OPTIONS in man/edgeguardd.8"
	fi
done

#!/bin/bash
# Conformance: the Linux SGX kernel selftests (tools/testing/selftests/sgx), built from Debian's
# unmodified linux-source package with the kernel's own Makefile and run under `sgxemu run`.
#
#   conformance/run.sh BUILD_DIR [TEST...]
#
# Every test of `test_sgx -l` is counted (or only the TESTs named); a test that did not report
# (crash, hang, build failure) counts as failed. Exits 1 if a test listed in
# conformance/must-pass.txt did not pass (a SKIP is not a pass), else 0. The last line is
# "conformance: N passed, N failed, N skipped".
#
# Environment: SGXEMU_LINUX_SOURCE (default 6.12) picks linux-source-VERSION;
# SGXEMU_CONFORMANCE_TIMEOUT (default 1200) limits the whole test_sgx run in seconds.
# Outputs in BUILD_DIR/conformance/: src/ (extracted sources, cached), out/ (binaries),
# build.log, test_sgx.tap (stdout and stderr of the run).

set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR [TEST...]" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
SELECTED=("$@")
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=${SGXEMU_LINUX_SOURCE:-6.12}
PKG=linux-source-$KVER
TARBALL=/usr/src/$PKG.tar.xz
TIMEOUT=${SGXEMU_CONFORMANCE_TIMEOUT:-1200}
WORK=$BUILD/conformance
SRC=$WORK/src
OUT=$WORK/out
TAP=$WORK/test_sgx.tap
MUST_PASS=$HERE/must-pass.txt
SGXEMU=$BUILD/sgxemu

# The 6.12 test list, used when test_sgx cannot be built to list its own tests.
FALLBACK_TESTS="unclobbered_vdso unclobbered_vdso_oversubscribed
unclobbered_vdso_oversubscribed_remove clobbered_vdso clobbered_vdso_and_user_function tcs_entry
pte_permissions tcs_permissions epcm_permissions augment augment_via_eaccept tcs_create
remove_added_page_no_eaccept remove_added_page_invalid_access
remove_added_page_invalid_access_after_eaccept remove_untouched_page"

mkdir -p "$WORK"
say() { echo "conformance: $*"; }

declare -A RESULT=() NOTE=()
TESTS=()
SETUP_ERROR=""

# ---- 1. sources ---------------------------------------------------------------------------

# Only what the SGX selftests' Makefile and sources use (relative to the tarball's top dir).
EXTRACT=(
	tools/testing/selftests/sgx
	tools/testing/selftests/lib.mk
	'tools/testing/selftests/kselftest*.h'
	tools/testing/selftests/kselftest
	tools/testing/selftests/x86/check_cc.sh
	tools/testing/selftests/x86/trivial_64bit_program.c
	tools/include
	arch/x86/include/asm/sgx.h
	arch/x86/include/asm/enclu.h
	arch/x86/include/uapi/asm/sgx.h
)

get_sources() {
	if [ ! -f "$TARBALL" ]; then
		say "installing $PKG"
		if ! apt-get install -y "$PKG" >"$WORK/apt.log" 2>&1; then
			apt-get update >>"$WORK/apt.log" 2>&1
			apt-get install -y "$PKG" >>"$WORK/apt.log" 2>&1
		fi
		if [ ! -f "$TARBALL" ]; then
			tail -n 5 "$WORK/apt.log" | sed 's/^/  apt: /'
			SETUP_ERROR="cannot install $PKG (log: $WORK/apt.log)"
			return 1
		fi
	fi
	# The cache key: package version plus the tarball's size and time.
	local stamp
	stamp="$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) $(stat -c '%s %Y' "$TARBALL")"
	if [ -f "$SRC/.stamp" ] && [ "$(cat "$SRC/.stamp")" = "$stamp" ] &&
	   [ -f "$SRC/tools/testing/selftests/sgx/Makefile" ]; then
		return 0
	fi
	say "extracting the SGX selftests from $TARBALL"
	local top pats=() p
	top=$(tar -tJf "$TARBALL" 2>/dev/null | head -n 1)
	top=${top%%/*}
	for p in "${EXTRACT[@]}"; do
		pats+=("$top/$p")
	done
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	if ! tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1 --wildcards "${pats[@]}" \
		>"$WORK/extract.log" 2>&1; then
		sed 's/^/  tar: /' "$WORK/extract.log" | tail -n 5
		SETUP_ERROR="cannot extract the selftests from $TARBALL"
		return 1
	fi
	echo "$stamp" >"$SRC.tmp/.stamp"
	mv "$SRC.tmp" "$SRC"
}

# ---- 2. build -----------------------------------------------------------------------------

build_tests() {
	local cflags
	if ! cflags=$("$SGXEMU" cflags); then
		SETUP_ERROR="$SGXEMU cflags failed (run make first)"
		return 1
	fi
	# Always from scratch: the kernel Makefile does not know that main.c depends on the shim.
	rm -rf "$OUT"
	mkdir -p "$OUT"
	say "building test_sgx and test_encl.elf with CFLAGS=$cflags"
	# Our own make's variables (MAKEFLAGS from `make conformance ...`) must not leak into the
	# kernel's Makefile. CFLAGS comes from the environment so that lib.mk still appends its own.
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES CFLAGS="$cflags" \
		make -C "$SRC/tools/testing/selftests/sgx" OUTPUT="$OUT" >"$WORK/build.log" 2>&1; then
		tail -n 15 "$WORK/build.log" | sed 's/^/  build: /'
		SETUP_ERROR="building the selftests failed (log: $WORK/build.log)"
		return 1
	fi
	if [ ! -x "$OUT/test_sgx" ] || [ ! -f "$OUT/test_encl.elf" ]; then
		SETUP_ERROR="the selftest Makefile built nothing (check_cc.sh failed?); log: $WORK/build.log"
		return 1
	fi
}

# ---- 3. the test list ---------------------------------------------------------------------

list_tests() {
	local line all=()
	# `-l` prints a header, a line of dashes, then one test per line (last column); exit 4.
	if [ -x "$OUT/test_sgx" ]; then
		while IFS= read -r line; do
			all+=("$line")
		done < <(cd "$OUT" && ./test_sgx -l 2>&1 | awk 'seen && NF { print $NF } /^-+$/ { seen = 1 }')
	fi
	if [ ${#all[@]} -eq 0 ]; then
		read -r -d '' -a all <<<"$FALLBACK_TESTS"
	fi
	if [ ${#SELECTED[@]} -gt 0 ]; then
		local t
		for t in "${SELECTED[@]}"; do
			t=${t#enclave.}
			if printf '%s\n' "${all[@]}" | grep -qx -- "$t"; then
				TESTS+=("$t")
			else
				say "no test named '$t' (see ./test_sgx -l in $OUT)"
				exit 2
			fi
		done
	else
		TESTS=("${all[@]}")
	fi
}

# ---- 4. run -------------------------------------------------------------------------------

# One TAP line of test_sgx: sets RESULT/NOTE for its test and prints the outcome.
# Lines since the last "#  RUN" are kept in RUNLOG so that a failure shows its diagnostics.
RUNLOG=()
tap_line() {
	local line=$1 rest name res directive
	case "$line" in
	"#  RUN "*)
		RUNLOG=()
		return ;;
	"#          FAIL  "* | "#            OK  "*)
		return ;;
	"ok "* | "not ok "*) ;;
	*)
		RUNLOG+=("$line")
		return ;;
	esac
	res=PASS
	rest=${line#ok }
	if [ "${line#not ok }" != "$line" ]; then
		res=FAIL
		rest=${line#not ok }
	fi
	rest=${rest#* }              # drop the test number
	name=${rest%% *}
	name=${name#*.}              # drop the fixture ("enclave.")
	directive=""
	case "$rest" in
	*" # "*) directive=${rest#* # } ;;
	esac
	case "$directive" in
	SKIP*) res=SKIP ;;
	esac
	RESULT[$name]=$res
	NOTE[$name]=$(echo "$directive" | sed 's/^ *//; s/^SKIP *//')
	printf '%-4s %s%s\n' "$res" "$name" "${NOTE[$name]:+  (${NOTE[$name]})}"
	if [ "$res" = FAIL ]; then
		local l n=0
		for l in "${RUNLOG[@]}"; do
			[ $((n++)) -lt 12 ] && echo "       | $l"
		done
		[ "$n" -gt 12 ] && echo "       | ... ($((n - 12)) more lines in $TAP)"
	fi
	RUNLOG=()
}

# Kill what is left of the run's session: the harness puts every test in a process group of
# its own, so a hung test outlives a killed test_sgx.
reap_session() {
	local sid=$1 p line rest f left=0
	for p in /proc/[0-9]*; do
		read -r line 2>/dev/null <"$p/stat" || continue
		rest=${line##*) }
		read -r -a f <<<"$rest"  # state ppid pgrp session ...
		if [ "${f[3]}" = "$sid" ]; then
			kill -KILL "${p#/proc/}" 2>/dev/null && left=$((left + 1))
		fi
	done
	[ "$left" -gt 0 ] && say "killed $left leftover process(es) of the test run"
}

run_tests() {
	local args=() t pid rc start line sidfile=$WORK/.sid
	for t in "${TESTS[@]}"; do
		args+=(-t "$t")
	done
	[ ${#SELECTED[@]} -eq 0 ] && args=()
	say "running $SGXEMU run -- ./test_sgx${args[*]:+ ${args[*]}} in $OUT (timeout ${TIMEOUT}s)"
	rm -f "$sidfile"
	: >"$TAP"
	# A new session so that everything the run starts can be found and reaped afterwards;
	# output to a file (not a pipe) so that a leftover process cannot keep us waiting.
	# (No exec: a crash is then noted by the subshell, in the TAP file, not by us.)
	# shellcheck disable=SC2016 # $$ and $@ are for the inner sh
	(cd "$OUT" && timeout -k 10 "$TIMEOUT" setsid -w sh -c 'echo $$ >"$0"; exec "$@"' \
		"$sidfile" "$SGXEMU" run -- ./test_sgx "${args[@]}"; exit $?) >"$TAP" 2>&1 </dev/null &
	pid=$!
	start=$SECONDS
	while IFS= read -r line; do
		tap_line "$line"
	done < <(tail -n +1 -f --pid="$pid" "$TAP" 2>/dev/null)
	wait "$pid"
	rc=$?
	[ -s "$sidfile" ] && reap_session "$(cat "$sidfile")"
	case $rc in
	0) ;;
	1) say "test_sgx exited with status 1 (a test failed)" ;;
	124 | 137) if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
			say "test_sgx timed out after ${TIMEOUT}s and was killed"
		else
			say "test_sgx was killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
		fi ;;
	126 | 127) say "test_sgx could not be started (exit status $rc)" ;;
	*)
		if [ "$rc" -gt 128 ]; then
			say "test_sgx was killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
		else
			say "test_sgx exited with status $rc"
		fi ;;
	esac
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		echo "  last lines of $TAP:"
		tail -n 5 "$TAP" | sed 's/^/       | /'
	fi
	# The live view may have missed lines written after test_sgx died; count from the file.
	RESULT=()
	NOTE=()
	while IFS= read -r line; do
		case "$line" in
		"ok "* | "not ok "*) tap_line "$line" >/dev/null ;;
		esac
	done <"$TAP"
	RUN_RC=$rc
	RESULT_FILE=$TAP
}

# ---- main ---------------------------------------------------------------------------------

RUN_RC=0
RESULT_FILE=""
if get_sources && build_tests; then
	list_tests
	run_tests
else
	list_tests
	say "$SETUP_ERROR"
	RUN_RC=-1
fi

pass=0 fail=0 skip=0
for t in "${TESTS[@]}"; do
	r=${RESULT[$t]:-}
	if [ -z "$r" ]; then
		if [ "$RUN_RC" = -1 ]; then
			NOTE[$t]="not run: $SETUP_ERROR"
		else
			NOTE[$t]="no result: test_sgx ended first"
		fi
		RESULT[$t]=FAIL
		printf '%-4s %s  (%s)\n' FAIL "$t" "${NOTE[$t]}"
	fi
	case ${RESULT[$t]} in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
done

# Tests that must pass: a regression in one of them fails the run.
must_fail=0
if [ -f "$MUST_PASS" ]; then
	while IFS= read -r t; do
		t=${t%%#*}
		t=${t//[[:space:]]/}
		t=${t#enclave.}
		[ -z "$t" ] && continue
		if [ ${#SELECTED[@]} -gt 0 ] && ! printf '%s\n' "${TESTS[@]}" | grep -qx -- "$t"; then
			continue
		fi
		r=${RESULT[$t]:-}
		if [ -z "$r" ]; then
			say "must-pass test '$t' is not a test of test_sgx"
			must_fail=$((must_fail + 1))
		elif [ "$r" != PASS ]; then
			say "must-pass test $t: $r"
			must_fail=$((must_fail + 1))
		fi
	done <"$MUST_PASS"
fi
if [ "$must_fail" -gt 0 ]; then
	say "$must_fail must-pass test(s) did not pass (list: $MUST_PASS)${RESULT_FILE:+; TAP: $TAP}"
	status=1
else
	[ "$fail" -gt 0 ] && say "failures outside $MUST_PASS are reported, not fatal"
	status=0
fi
echo "conformance: $pass passed, $fail failed, $skip skipped"
exit $status

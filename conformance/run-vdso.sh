#!/bin/bash
# Conformance: the Linux vDSO kernel selftests (tools/testing/selftests/vDSO), built from
# Debian's unmodified linux-source package with the kernel's own Makefile, run first without
# sgxemu (the baseline of this host) and then under `sgxemu run`. Several of them parse the
# vDSO themselves through AT_SYSINFO_EHDR (getauxval, or the auxv on the initial stack), so
# under sgxemu they exercise our image.
#
#   conformance/run-vdso.sh BUILD_DIR
#
# Prints TAP, one line per test program: "ok" when it does under sgxemu what it does natively
# (pass; or the same skip, reported as a SKIP); "not ok" when it does worse, or did not build.
# A program that fails natively too is reported as such ("# SKIP fails natively too"), never
# counted against sgxemu. Exits 1 if a program of conformance/vdso-must-pass.txt that passes
# natively did not pass under sgxemu (or did not build); a worse result of another program is
# "not ok ... # TODO". Logs: BUILD_DIR/conformance-vdso/logs/NAME.{native,sgxemu}.log.
#
# Environment: SGXEMU_LINUX_SOURCE (default 6.12) picks linux-source-VERSION;
# SGXEMU_VDSO_TEST_TIMEOUT (default 300) limits each run of a program, in seconds.

set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=${SGXEMU_LINUX_SOURCE:-6.12}
PKG=linux-source-$KVER
TARBALL=/usr/src/$PKG.tar.xz
TIMEOUT=${SGXEMU_VDSO_TEST_TIMEOUT:-300}
WORK=$BUILD/conformance-vdso
SRC=$WORK/src
OUT=$WORK/out
LOGS=$WORK/logs
MUST_PASS=$HERE/vdso-must-pass.txt
SGXEMU=$BUILD/sgxemu
TESTDIR=tools/testing/selftests/vDSO

mkdir -p "$WORK" "$LOGS"
say() { echo "# vdso: $*"; }

# ---- 1. sources ---------------------------------------------------------------------------

# What the vDSO selftests' Makefile and sources use (relative to the tarball's top dir): the
# tests, lib.mk and its helpers, tools/include, the uapi headers vdso_test_getrandom needs
# (linux/random.h of 6.11+), and the kernel's ChaCha code vdso_test_chacha checks.
EXTRACT=(
	"$TESTDIR"
	tools/testing/selftests/lib.mk
	'tools/testing/selftests/kselftest*.h'
	tools/testing/selftests/kselftest
	tools/scripts/Makefile.arch
	tools/include
	include/uapi
	arch/x86/entry/vdso/vgetrandom-chacha.S
	arch/x86/include/asm/asm.h
	arch/x86/include/asm/frame.h
)

SETUP_ERROR=""
get_sources() {
	if [ ! -f "$TARBALL" ]; then
		say "installing $PKG"
		if ! apt-get install -y "$PKG" >"$WORK/apt.log" 2>&1; then
			apt-get update >>"$WORK/apt.log" 2>&1
			apt-get install -y "$PKG" >>"$WORK/apt.log" 2>&1
		fi
		if [ ! -f "$TARBALL" ]; then
			SETUP_ERROR="cannot install $PKG (log: $WORK/apt.log)"
			return 1
		fi
	fi
	local stamp top pats=() p
	stamp="$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) $(stat -c '%s %Y' "$TARBALL") ${EXTRACT[*]}"
	if [ -f "$SRC/.stamp" ] && [ "$(cat "$SRC/.stamp")" = "$stamp" ] &&
	   [ -f "$SRC/$TESTDIR/Makefile" ]; then
		return 0
	fi
	say "extracting the vDSO selftests from $TARBALL"
	top=$(tar -tJf "$TARBALL" 2>/dev/null | head -n 1)
	top=${top%%/*}
	for p in "${EXTRACT[@]}"; do
		pats+=("$top/$p")
	done
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	if ! tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1 --wildcards "${pats[@]}" \
		>"$WORK/extract.log" 2>&1; then
		sed 's/^/# tar: /' "$WORK/extract.log" | tail -n 5
		SETUP_ERROR="cannot extract the selftests from $TARBALL"
		return 1
	fi
	echo "$stamp" >"$SRC.tmp/.stamp"
	mv "$SRC.tmp" "$SRC"
}

# ---- 2. build and list --------------------------------------------------------------------

TESTS=()
list_tests() {
	# The programs the kernel's Makefile builds on x86-64 (TEST_GEN_PROGS, its x86 block too).
	mapfile -t TESTS < <(sed -n 's/^[[:space:]]*TEST_GEN_PROGS[[:space:]]*[:+]\{0,1\}=[[:space:]]*//p' \
		"$SRC/$TESTDIR/Makefile" 2>/dev/null | tr ' ' '\n' | grep .)
	if [ ${#TESTS[@]} -eq 0 ]; then
		mapfile -t TESTS < <(grep -v '^#' "$MUST_PASS" | grep .)
	fi
}

build_tests() {
	rm -rf "$OUT"
	mkdir -p "$OUT"
	say "building with the kernel's Makefile (log: $WORK/build.log)"
	# -k: a program that does not build on this host must not keep the others from building.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u CFLAGS \
		make -k -C "$SRC/$TESTDIR" OUTPUT="$OUT" >"$WORK/build.log" 2>&1
	return 0
}

# ---- 3. run -------------------------------------------------------------------------------

# outcome LOG RC: sets OUTCOME to PASS, SKIP or FAIL, from the exit status (4 is kselftest's
# skip) and the TAP result lines the program printed, and DETAIL ("N ok, N skipped").
outcome() {
	local log=$1 rc=$2 ok skip bad
	ok=$(grep -E '^ok [0-9]+' "$log" | grep -cviE '# skip')
	skip=$(grep -ciE '^(ok [0-9]+.*# skip|1\.\.0 # skip)' "$log")
	bad=$(grep -E '^not ok [0-9]+' "$log" | grep -cviE '# (skip|todo)')
	DETAIL="$ok ok, $skip skipped"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] || [ "$bad" -gt 0 ]; then
		OUTCOME=FAIL
	elif [ "$rc" -eq 4 ] || [ "$skip" -gt 0 ]; then
		OUTCOME=SKIP
	else
		OUTCOME=PASS
	fi
}

run_one() { # NAME MODE(native|sgxemu): sets RC, writes the log
	local name=$1 mode=$2 log=$LOGS/$1.$2.log
	if [ "$mode" = native ]; then
		(cd "$OUT" && env -u LD_PRELOAD timeout -k 10 "$TIMEOUT" "./$name") >"$log" 2>&1 </dev/null
	else
		(cd "$OUT" && timeout -k 10 "$TIMEOUT" "$SGXEMU" run -- "./$name") >"$log" 2>&1 </dev/null
	fi
	RC=$?
}

is_must_pass() {
	grep -v '^#' "$MUST_PASS" 2>/dev/null | sed 's/[[:space:]]//g' | grep -qx -- "$1"
}

# ---- main ---------------------------------------------------------------------------------

if ! get_sources; then
	mapfile -t TESTS < <(grep -v '^#' "$MUST_PASS" | grep .)
	echo "1..${#TESTS[@]}"
	n=0
	for t in "${TESTS[@]}"; do
		n=$((n + 1))
		echo "not ok $n - $t: not run: $SETUP_ERROR"
	done
	exit 1
fi
list_tests
build_tests

echo "1..${#TESTS[@]}"
n=0 must_fail=0
for t in "${TESTS[@]}"; do
	n=$((n + 1))
	if [ ! -x "$OUT/$t" ]; then
		if is_must_pass "$t"; then
			echo "not ok $n - $t: did not build (see $WORK/build.log)"
			must_fail=$((must_fail + 1))
		else
			echo "ok $n - $t # SKIP did not build on this host"
		fi
		continue
	fi
	run_one "$t" native
	outcome "$LOGS/$t.native.log" "$RC"
	native=$OUTCOME native_detail=$DETAIL native_rc=$RC
	run_one "$t" sgxemu
	outcome "$LOGS/$t.sgxemu.log" "$RC"
	emu=$OUTCOME emu_detail=$DETAIL emu_rc=$RC
	what="natively $native (exit $native_rc; $native_detail), under sgxemu $emu (exit $emu_rc; $emu_detail)"
	if [ "$native" = FAIL ]; then
		echo "ok $n - $t # SKIP fails natively too: $what"
	elif [ "$emu" = "$native" ] && [ "$emu_detail" = "$native_detail" ]; then
		if [ "$emu" = PASS ]; then
			echo "ok $n - $t: $what"
		else
			echo "ok $n - $t # SKIP skips natively too: $what"
		fi
	elif [ "$emu" = PASS ] && [ "$native" = SKIP ]; then
		echo "ok $n - $t: $what"
	elif is_must_pass "$t"; then
		echo "not ok $n - $t: $what"
		sed 's/^/#   | /' "$LOGS/$t.sgxemu.log" | tail -n 8
		must_fail=$((must_fail + 1))
	else
		echo "not ok $n - $t # TODO not in $(basename "$MUST_PASS"): $what"
	fi
done
[ "$must_fail" -eq 0 ]

#!/bin/bash
# make tsan-test: the unit tests, the fuzz corpora, the integration tests (under sgxemu run)
# and the CLI tests of a TSAN=1 build, then a short run of the stress program; ends with the
# summary line the CI adds up ("N passed, N failed, N skipped").
#
#   tests/tsan/run.sh BUILD_DIR      (normally build-tsan)
#
# How TSan and the preload are made to agree (see also the Makefile's TSAN=1 settings):
#  - the trap path, host/thread.c, host/interpose.c, host/uaccess.c and the code that runs
#    while ld.so relocates the preload (host/vdso_early.c and what it calls) are not
#    instrumented: TSan's code reaches its thread state through FS, which holds the enclave's
#    base on entry to the trap handlers, and does not exist yet during relocation or TSan's
#    own start-up, which calls the interposed sigaction and mmap (its mmap, munmap, mprotect,
#    mremap and close calls go straight to libc: host/interpose.c);
#  - the preload installs its signal handlers with a raw rt_sigaction, not through TSan's
#    interceptor, which would wrap them in code that needs the host FS base (host/signal.c).
#    TSan does not see those handlers, so the program's asynchronous signals
#    and the emulator's IPIs run instrumented code where TSan cannot defer them: one landing
#    while the thread is inside the TSan runtime can deadlock it. The stress run below
#    therefore sends no signals (tgkill, timer), and programs get a timeout;
#  - symbolisation runs in llvm-symbolizer, a separate process (TSan's built-in symboliser
#    calls mmap, which the preload interposes: a report inside the driver would deadlock);
#  - die_after_fork=0: the emulator starts its reclaimer thread in a forked child
#    (test_fork), which TSan otherwise refuses after a multi-threaded fork.
# Suppressions: tests/tsan/suppressions.txt (benign races only); with TSAN_KNOWN_RACES=1 also
# tests/tsan/known-races.txt (real races being fixed; the CI uses it).

set -u
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
opts="halt_on_error=0 exitcode=66 die_after_fork=0 history_size=4"
opts="$opts suppressions=$ROOT/tests/tsan/suppressions.txt"
sym=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | head -n 1)
if [ -n "$sym" ]; then
	opts="$opts external_symbolizer_path=$sym"
else
	echo "tsan: no llvm-symbolizer (package llvm-14): reports will show addresses only"
	opts="$opts symbolize=0"
fi
if [ "${TSAN_KNOWN_RACES:-0}" = 1 ]; then
	# TSan takes one suppressions file: the two, concatenated.
	cat tests/tsan/suppressions.txt tests/tsan/known-races.txt >"$BUILD/tsan-suppressions.txt"
	opts=${opts/suppressions=$ROOT\/tests\/tsan\/suppressions.txt/suppressions=$ROOT/$BUILD/tsan-suppressions.txt}
	echo "tsan: known races suppressed: $(grep -v '^#' tests/tsan/known-races.txt | tr '\n' ' ')"
fi
export TSAN_OPTIONS="$opts${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export SGXEMU_TEST_TIMEOUT=${SGXEMU_TEST_TIMEOUT:-240}
# No seccomp filter in TSan builds (TSan reserves the gate's address; host/preload.c): the
# tests that need it report skipped, and the suite that repeats everything under it is left
# out. Tests of asynchronous program signals and the 1 TiB ELRANGE skip themselves too
# (integ_skip_under_tsan, with the reason).
export SGXEMU_TEST_FILTER_SUITE=0

P=0 F=0 S=0
add_counts() { # LOG
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$1" | tail -n 1)
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		P=$((P + BASH_REMATCH[1])) F=$((F + BASH_REMATCH[2])) S=$((S + BASH_REMATCH[3]))
	else
		F=$((F + 1))
	fi
}

rm -rf "$BUILD/test-logs" # the reports listed below are this run's only
tests/run.sh "$BUILD" --no-conformance 2>&1 | tee "$BUILD/tsan-tests.log"
add_counts "$BUILD/tsan-tests.log"
tests/stress/run.sh "$BUILD" 30 ecall,mm-encl,mm-anon,ioctl,fdrace,churn 4 2>&1 |
	tee "$BUILD/tsan-stress.log"
add_counts "$BUILD/tsan-stress.log"

echo
echo "ThreadSanitizer reports (first frame of each access):"
grep -l 'WARNING: ThreadSanitizer' "$BUILD"/test-logs/*.log 2>/dev/null | while read -r log; do
	n=$(grep -c 'WARNING: ThreadSanitizer' "$log")
	frames=$(grep -A3 -E '^  (Read|Write|Atomic|Previous)' "$log" | grep -oE '#0 [^ ]+ [^ ]+' |
		sed 's/#0 //' | sort -u | head -n 4 | tr '\n' ';')
	echo "  $(basename "$log" .log): $n: $frames"
done
echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]

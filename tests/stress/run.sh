#!/bin/bash
# Runs the stress program under `sgxemu run` and ends with the summary line the CI adds up
# ("1 passed, 0 failed, 0 skipped" or "0 passed, 1 failed, 0 skipped").
#
#   tests/stress/run.sh BUILD_DIR SECONDS OPS [THREADS [SEED]]
#
# OPS is the stress program's --ops list (see tests/stress/stress.c). A SAN=1 build is run
# with the ASan options tests/run.sh uses; any ASan report or crash fails. The output is kept
# in BUILD_DIR/test-logs/stress.log.

set -u
[ $# -ge 3 ] || { echo "usage: $0 BUILD_DIR SECONDS OPS [THREADS [SEED]]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) SECS=$2 OPS=$3 THREADS=${4:-4} SEED=${5:-$(date +%s)}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$BUILD/test-logs"
LOG=$BUILD/test-logs/stress.log
if readelf -d "$BUILD/libsgxemu.so" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
	export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
echo "== stress: $SECS s, ops $OPS, $THREADS threads, seed $SEED"
(cd "$ROOT" && timeout -k 10 $((SECS + 180)) "$BUILD/sgxemu" run -- "$BUILD/tests/stress/stress" \
	--seconds "$SECS" --ops "$OPS" --threads "$THREADS" --seed "$SEED") </dev/null 2>&1 |
	tee "$LOG" | sed 's/^/    /'
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && grep -q '^stress: PASS' "$LOG"; then
	echo "-- stress passed (seed $SEED)"
	echo "1 passed, 0 failed, 0 skipped"
	exit 0
fi
why=$(grep -a -m1 -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|stress: FAIL' "$LOG")
echo "-- stress FAILED (status $rc, seed $SEED, ops $OPS): ${why:-see $LOG}"
echo "0 passed, 1 failed, 0 skipped"
exit 1

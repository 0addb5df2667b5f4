#!/bin/bash
# Runs libFuzzer targets one after the other, each for a bounded time, and ends with the
# summary line the CI adds up: "N passed, N failed, N skipped" (one result per target).
#
#   tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS NAME...
#
# Target NAME is FUZZ_BUILD_DIR/fuzz_NAME. It starts from the seed corpus in the repository
# (tests/fuzz/corpus/NAME/, read only) plus the inputs earlier runs found (FUZZ_BUILD_DIR/
# corpus/NAME/, where new ones go). A crash, leak, timeout or out-of-memory fails the target;
# the input is saved as FUZZ_BUILD_DIR/artifacts/NAME-crash-<sha1> (reproduce with
# FUZZ_BUILD_DIR/fuzz_NAME FILE, and see the target's header for its tracing switch).
# The output of each run is in FUZZ_BUILD_DIR/logs/NAME.log.
# Environment: FUZZ_ARGS adds libFuzzer options (e.g. -jobs, -dict).

set -u
[ $# -ge 3 ] || { echo "usage: $0 FUZZ_BUILD_DIR SECONDS NAME..." >&2; exit 2; }
BUILD=$1 SECONDS_EACH=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
mkdir -p "$BUILD/logs" "$BUILD/artifacts"
PASSED=0 FAILED=0
SUMMARY=()
for name in "$@"; do
	bin=$BUILD/fuzz_$name log=$BUILD/logs/$name.log work=$BUILD/corpus/$name
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$work" "$seeds"
	echo "== fuzz $name: $SECONDS_EACH s"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	timeout -k 10 $((SECONDS_EACH + 120)) "$bin" -max_total_time="$SECONDS_EACH" -timeout=30 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$name-" \
		${FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	corpus=$(find "$work" -type f | wc -l)
	line=$(printf 'fuzz %-10s %8s executions in %s s, %s inputs in the working corpus' "$name" \
		"${execs:-?}" "$took" "$corpus")
	if [ "$rc" -eq 0 ]; then
		PASSED=$((PASSED + 1))
		line="$line: ok"
	else
		FAILED=$((FAILED + 1))
		art=$(grep -a -o "Test unit written to .*" "$log" | tail -n 1)
		why=$(grep -a -m 1 -E 'invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log")
		line="$line: FAILED (status $rc) ${why:-} ${art:-}"
		grep -a -B2 -A30 -m 1 -E 'invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | sed 's/^/    /' | head -n 45
	fi
	echo "-- $line"
	SUMMARY+=("$line")
done
echo
for line in "${SUMMARY[@]}"; do
	echo "  $line"
done
echo "$PASSED passed, $FAILED failed, 0 skipped"
[ "$FAILED" -eq 0 ]

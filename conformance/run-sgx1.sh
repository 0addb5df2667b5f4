#!/bin/bash
# The kernel selftests on an emulated SGX1-only CPU (`sgxemu run --sgx1`): the SGX2 tests must
# skip exactly as on such hardware (conformance/sgx1-skip.txt), the others must pass.
# Uses the binaries conformance/run.sh built. Prints TAP, one line per test.
#
#   conformance/run-sgx1.sh BUILD_DIR
set -u
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$BUILD/conformance/out
TAP=$BUILD/conformance/test_sgx-sgx1.tap
if [ ! -x "$OUT/test_sgx" ]; then
	echo "1..1"
	echo "not ok 1 - test_sgx not built (run conformance/run.sh $1 first)"
	exit 1
fi
(cd "$OUT" && timeout -k 10 "${SGXEMU_CONFORMANCE_TIMEOUT:-1200}" \
	"$BUILD/sgxemu" run --sgx1 -- ./test_sgx) >"$TAP" 2>&1
mapfile -t skips < <(grep -v '^#' "$HERE/sgx1-skip.txt" | grep .)
mapfile -t tests < <(cd "$OUT" && ./test_sgx -l 2>&1 | grep -v '^\(#\|---\|global\)' | awk 'NF {print $NF}')
n=0 bad=0
echo "1..${#tests[@]}"
for t in "${tests[@]}"; do
	n=$((n + 1))
	line=$(grep -E "^(not )?ok [0-9]+ enclave\.$t( |$)" "$TAP" | head -n 1)
	want=pass
	for s in "${skips[@]}"; do [ "$s" = "$t" ] && want=skip; done
	got=missing
	case $line in
	"not ok"*) got=fail ;;
	ok*"# SKIP"*) got=skip ;;
	ok*) got=pass ;;
	esac
	if [ "$got" = "$want" ]; then
		echo "ok $n - $t: $got under --sgx1"
	else
		echo "not ok $n - $t: $got under --sgx1, want $want"
		bad=$((bad + 1))
	fi
done
[ "$bad" -eq 0 ]

#!/bin/bash
# Tests of the sgxemu command line and of the cpuid.h shim it hands out.
#   tests/cli/test_cli.sh BUILD_DIR
# Prints TAP: "ok N - ..." / "not ok N - ...", then the plan "1..N". Exit 1 if any failed.

# shellcheck disable=SC2016 # the single-quoted $VARs are expanded by the programs run
set -u
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
# Start from the defaults, whatever the caller's environment says.
unset SGXEMU_EPC_SIZE SGXEMU_SGX1 SGXEMU_TRACE SGXEMU_TRACE_FILE SGXEMU_PLATFORM_KEY \
	SGXEMU_POLICY LD_PRELOAD
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The option and environment handling is tested on a copy of sgxemu next to an empty stand-in
# for libsgxemu.so, so that it does not depend on the state of the emulator itself; the real
# preload is tried at the end.
mkdir -p "$T/bin"
cp "$BUILD/sgxemu" "$T/bin/sgxemu"
echo 'int sgxemu_cli_test_stub;' >"$T/stub.c"
cc -shared -fPIC -o "$T/bin/libsgxemu.so" "$T/stub.c"
SGXEMU=$T/bin/sgxemu
LIB=$T/bin/libsgxemu.so

n=0 failed=0
ok() { # ok CONDITION-EXIT-STATUS DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# run: the program's exit status comes back.
"$SGXEMU" run -- sh -c 'exit 42' >/dev/null 2>&1
rc=$?
ok $((rc != 42)) "run passes the exit status through (got $rc)"
"$SGXEMU" run -- true >/dev/null 2>&1
ok $? "run of a program that succeeds exits 0"

# Bad --epc-size: exit 2 with an sgxemu: message, program not run.
out=$("$SGXEMU" run --epc-size 12q -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^sgxemu: ' <<<"$out" && ! grep -q RAN <<<"$out"
ok $? "bad --epc-size is rejected with exit 2 and an sgxemu: message" "rc=$rc: $out"
out=$("$SGXEMU" run --epc-size 100K -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^sgxemu: ' <<<"$out"
ok $? "too small --epc-size is rejected" "rc=$rc: $out"
out=$(SGXEMU_EPC_SIZE=junk "$SGXEMU" run -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q 'SGXEMU_EPC_SIZE' <<<"$out"
ok $? "bad SGXEMU_EPC_SIZE from the environment is rejected" "rc=$rc: $out"

# LD_PRELOAD: our library (absolute path, next to the executable) first, others kept, no duplicate.
out=$("$SGXEMU" run -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
[ "$out" = "$LIB" ]
ok $? "run sets LD_PRELOAD to the libsgxemu.so beside sgxemu" "got '$out'"
out=$(LD_PRELOAD="$LIB" "$SGXEMU" run -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
[ "$out" = "$LIB" ]
ok $? "run does not preload the library twice" "got '$out'"
# An entry that is not a library: ld.so warns and ignores it, which is all we need here.
out=$(LD_PRELOAD="$T/other.so" "$SGXEMU" run -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
[ "$out" = "$LIB:$T/other.so" ]
ok $? "run keeps an existing LD_PRELOAD after its own" "got '$out'"

# Flags become SGXEMU_* variables, before or after the command.
out=$("$SGXEMU" run --sgx1 -- sh -c 'echo "${SGXEMU_SGX1:-unset}"' 2>/dev/null)
[ "$out" = 1 ]
ok $? "run --sgx1 sets SGXEMU_SGX1=1" "got '$out'"
out=$("$SGXEMU" --sgx1 --epc-size=32M run -- sh -c 'echo "$SGXEMU_SGX1 $SGXEMU_EPC_SIZE"' 2>/dev/null)
[ "$out" = "1 32M" ]
ok $? "options before the command are honoured too" "got '$out'"
: >"$T/pol" # run validates the policy file: an empty one is a valid policy
out=$("$SGXEMU" run --trace --trace-file "$T/tr" --platform-key "$T/key" --policy "$T/pol" -- \
	sh -c 'echo "$SGXEMU_TRACE|$SGXEMU_TRACE_FILE|$SGXEMU_PLATFORM_KEY|$SGXEMU_POLICY"' 2>/dev/null)
[ "$out" = "1|$T/tr|$T/key|$T/pol" ]
ok $? "--trace, --trace-file, --platform-key and --policy set their variables" "got '$out'"
out=$("$SGXEMU" run -- sh -c 'echo "$1"' sh --sgx1 2>/dev/null)
[ "$out" = "--sgx1" ]
ok $? "options after the program belong to the program" "got '$out'"

# Programs that cannot be run.
out=$("$SGXEMU" run -- "$T/no-such-program" 2>&1)
rc=$?
[ $rc -eq 127 ] && grep -q '^sgxemu: ' <<<"$out"
ok $? "run of a missing program exits 127 with a message" "rc=$rc: $out"
mkdir -p "$T/bare"
cp "$BUILD/sgxemu" "$T/bare/sgxemu"
out=$("$T/bare/sgxemu" run -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 127 ] && grep -q '^sgxemu: .*libsgxemu.so' <<<"$out"
ok $? "run without libsgxemu.so beside sgxemu exits 127 and says so" "rc=$rc: $out"
out=$("$SGXEMU" run 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^sgxemu: ' <<<"$out"
ok $? "run without a program is a usage error" "rc=$rc: $out"

# Usage.
out=$("$SGXEMU" --help 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -q 'usage:' <<<"$out"
ok $? "--help prints usage on stderr and exits 2" "rc=$rc: $out"
out=$("$SGXEMU" frobnicate 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -q "unknown command" <<<"$out"
ok $? "an unknown command exits 2" "rc=$rc: $out"
"$SGXEMU" run --no-such-flag -- true >/dev/null 2>&1
rc=$?
ok $((rc != 2)) "an unknown option exits 2"

# cflags: -I of an existing directory that holds cpuid.h (the real one, in BUILD_DIR).
out=$("$BUILD/sgxemu" cflags)
rc=$?
dir=${out#-I}
[ $rc -eq 0 ] && [ "${out:0:2}" = -I ] && [ "${dir:0:1}" = / ] && [ -f "$dir/cpuid.h" ]
ok $? "cflags prints -I<absolute dir> containing cpuid.h" "rc=$rc: $out"

# info.
out=$("$SGXEMU" info --epc-size 32M 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q 'EPC size: *32 MiB (33554432 bytes)' <<<"$out"
ok $? "info exits 0 and reports the EPC size given with --epc-size" "rc=$rc: $out"
out=$("$SGXEMU" --epc-size 8388608 info 2>&1)
grep -q 'EPC size: *8 MiB' <<<"$out"
ok $? "info honours --epc-size before the command" "$out"
out=$("$SGXEMU" info 2>&1)
grep -q 'SGX2 (EDMM): *yes' <<<"$out" && grep -q 'EPC size: *64 MiB' <<<"$out" &&
	grep -q '^  0x00000012  2 ' <<<"$out"
ok $? "info defaults: SGX2 and a 64 MiB EPC, CPUID 0x12 sub-leaves listed" "$out"
out=$("$SGXEMU" info --sgx1 2>&1)
grep -q 'SGX2 (EDMM): *no' <<<"$out" && grep -q 'SGX1: *yes' <<<"$out"
ok $? "info --sgx1 reports SGX1 without SGX2" "$out"
"$SGXEMU" info --epc-size lots >/dev/null 2>&1
rc=$?
ok $((rc != 2)) "info rejects a bad --epc-size with exit 2"

# ---- the cpuid.h shim -------------------------------------------------------------------
# A program that reads the SGX leaves the way the kernel selftest does (outputs it does not
# use included: they must not trip -Werror), and the functions of <cpuid.h>.
cat >"$T/probe.c" <<'EOF'
#include <cpuid.h>
#include <stdio.h>

int main(void)
{
	unsigned int eax, ebx, ecx, edx, unused_b, unused_c, unused_d, max;
	unsigned long long epc;
	int info[4];

	__cpuid_count(0x12, 0, eax, unused_b, unused_c, unused_d);
	printf("sgx12.0.eax=%x\n", eax);
	__cpuid_count(0x12, 2, eax, ebx, ecx, edx);
	epc = (ecx & 0xfffff000ULL) + ((unsigned long long)(edx & 0xfffff) << 32);
	printf("epc=%llu type=%u\n", epc, eax & 0xf);
	__cpuid(7, eax, ebx, ecx, edx);  /* sub-leaf 0 */
	printf("leaf7.sgx=%u\n", (ebx >> 2) & 1);
	__cpuid(0, eax, ebx, ecx, edx);
	printf("vendor=%.4s%.4s%.4s\n", (char *)&ebx, (char *)&edx, (char *)&ecx);
	max = __get_cpuid_max(0, 0);
	printf("max.ge.12=%d\n", max >= 0x12);
	if (__get_cpuid_count(0x12, 0, &eax, &ebx, &ecx, &edx))
		printf("get_cpuid_count.12.0.eax=%x\n", eax);
	else
		printf("get_cpuid_count.12.0=unsupported\n");
	__cpuidex(info, 0x12, 0);
	printf("cpuidex.12.0.eax=%x\n", (unsigned)info[0]);
	return 0;
}
EOF
# A stand-in for the emulator: answers leaf 0x12 with SGX1+SGX2 and an EPC of 48 MiB.
cat >"$T/fake.c" <<'EOF'
int sgxemu_cpuid(unsigned int leaf, unsigned int subleaf, unsigned int regs[4])
{
	if (leaf == 0) {
		regs[0] = 0x20;
		regs[1] = 0x756e6547; /* "GenuineIntel" */
		regs[3] = 0x49656e69;
		regs[2] = 0x6c65746e;
		return 0;
	}
	if (leaf != 0x12)
		return -1;
	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	if (subleaf == 0)
		regs[0] = 3;
	if (subleaf == 2) {
		regs[0] = 1;
		regs[2] = (48u << 20) | 1;
	}
	return 0;
}
EOF
SHIM=$("$BUILD/sgxemu" cflags)  # one -I flag; used unquoted below as compiler arguments
CFL=(-Wall -Wextra -Werror -O0)
# shellcheck disable=SC2086
out=$(cc "${CFL[@]}" -o "$T/probe_real" "$T/probe.c" 2>&1 &&
	cc "${CFL[@]}" $SHIM -o "$T/probe_shim" "$T/probe.c" 2>&1 &&
	cc "${CFL[@]}" -Wpedantic -std=c99 -O2 $SHIM -o "$T/probe_c99" "$T/probe.c" 2>&1 &&
	cc -shared -fPIC -o "$T/fake.so" "$T/fake.c" 2>&1)
ok $? "a program builds with and without the shim under -Wall -Wextra -Werror (-Wpedantic)" "$out"

if [ -x "$T/probe_shim" ] && [ -f "$T/fake.so" ]; then
	nm "$T/probe_shim" | grep -q ' U dlsym'
	ok $? "the shim looks the emulator up with dlsym"
	real=$("$T/probe_real")
	shim=$("$T/probe_shim")
	[ "$real" = "$shim" ]
	ok $? "without the preload the shim reports the real CPU" "real: $real
shim: $shim"
	faked=$(LD_PRELOAD="$T/fake.so" "$T/probe_shim")
	grep -q '^sgx12.0.eax=3$' <<<"$faked" && grep -q '^epc=50331648 type=1$' <<<"$faked" &&
		grep -q '^vendor=GenuineIntel$' <<<"$faked" && grep -q '^max.ge.12=1$' <<<"$faked" &&
		grep -q '^get_cpuid_count.12.0.eax=3$' <<<"$faked" &&
		grep -q '^cpuidex.12.0.eax=3$' <<<"$faked"
	ok $? "with an sgxemu_cpuid in the process the shim reports its values" "$faked"
	# Leaves the emulator does not answer come from the CPU.
	[ "$(grep leaf7 <<<"$faked")" = "$(grep leaf7 <<<"$real")" ]
	ok $? "leaves the emulator declines fall back to the CPU"
	faked=$(LD_PRELOAD="$T/fake.so" "$T/probe_real")
	[ "$faked" = "$real" ]
	ok $? "a program built without the shim is unaffected"
	faked=$(LD_PRELOAD="$T/fake.so" "$T/probe_c99")
	grep -q '^epc=50331648 type=1$' <<<"$faked"
	ok $? "the shim works in a -std=c99 -O2 build" "$faked"
else
	for d in dlsym real fake fallback unaffected c99; do
		ok 1 "shim check '$d' (the probe did not build)"
	done
fi

# The real preload: it loads into a plain program and lets its exit status through.
"$BUILD/sgxemu" run -- sh -c 'exit 42' >"$T/real.out" 2>&1
rc=$?
ok $((rc != 42)) "run with the real libsgxemu.so passes the exit status through (got $rc)" \
	"$(head -n 5 "$T/real.out")"
out=$("$BUILD/sgxemu" run -- sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$out" = "$BUILD/libsgxemu.so" ]
ok $? "run with the real libsgxemu.so preloads $BUILD/libsgxemu.so" "got '$out'"

# /proc/cpuinfo through libc shows the SGX flags, as Linux does on such a CPU: in every
# processor's flags line, with the host's text otherwise unchanged; open (cat), openat (grep)
# and fopen (a C program) all see it.
nproc_host=$(grep -c '^processor' /proc/cpuinfo)
host_has_sgx=$(grep -m1 '^flags' /proc/cpuinfo | grep -cw 'sgx')
"$BUILD/sgxemu" run -- cat /proc/cpuinfo >"$T/cpuinfo.cat" 2>"$T/cpuinfo.err"
n_sgx=$(grep '^flags' "$T/cpuinfo.cat" | grep -w sgx | grep -cw sgx_lc)
[ "$n_sgx" -eq "$nproc_host" ] && [ "$nproc_host" -gt 0 ]
ok $? "cat /proc/cpuinfo under sgxemu: sgx and sgx_lc in all $nproc_host flags lines" \
	"got $n_sgx; $(head -c 300 "$T/cpuinfo.err")"
if [ "$host_has_sgx" -eq 0 ]; then
	# (vendor_id is GenuineIntel, as on every SGX machine: docs/fidelity.md)
	grep -c '^vendor_id.*: GenuineIntel$' "$T/cpuinfo.cat" | grep -qx "$nproc_host"
	ok $? "... vendor_id GenuineIntel on every processor" "$(grep -m1 vendor_id "$T/cpuinfo.cat")"
	sed 's/ sgx_lc\b//; s/ sgx\b//; /^vendor_id/d' "$T/cpuinfo.cat" | grep -v 'MHz' \
		>"$T/cpuinfo.stripped"
	grep -v 'MHz' /proc/cpuinfo | sed '/^vendor_id/d' | cmp -s - "$T/cpuinfo.stripped"
	ok $? "... and without them it is the host's text" \
		"$(grep -v MHz /proc/cpuinfo | sed '/^vendor_id/d' | diff - "$T/cpuinfo.stripped" | head -n 5)"
else
	skip "... vendor_id GenuineIntel on every processor" "the host CPU has SGX itself"
	skip "... and without them it is the host's text" "the host CPU has SGX itself"
fi
out=$("$BUILD/sgxemu" run -- grep -cw sgx_lc /proc/cpuinfo 2>&1)
[ "$out" = "$nproc_host" ]
ok $? "grep -w sgx_lc /proc/cpuinfo under sgxemu finds it for every processor" "got '$out'"
if command -v lscpu >/dev/null 2>&1; then
	out=$("$BUILD/sgxemu" run -- lscpu 2>&1 | grep -i '^flags:')
	grep -qw sgx <<<"$out" && grep -qw sgx_lc <<<"$out"
	ok $? "lscpu (openat of \"cpuinfo\" relative to /proc) under sgxemu lists sgx and sgx_lc" "got '$out'"
else
	skip "lscpu under sgxemu lists sgx and sgx_lc" "no lscpu"
fi
cat >"$T/cpuinfo_fopen.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	char line[1 << 16];
	FILE *f = fopen("/proc/cpuinfo", argc > 1 ? argv[1] : "r");
	int sgx = 0, lc = 0;

	if (!f) {
		perror("fopen");
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *t = strtok(strchr(line, ':') + 1, " \n"); t; t = strtok(NULL, " \n")) {
			sgx |= !strcmp(t, "sgx");
			lc |= !strcmp(t, "sgx_lc");
		}
		break;
	}
	fclose(f);
	printf("sgx=%d sgx_lc=%d\n", sgx, lc);
	return 0;
}
EOF
if cc -O2 -o "$T/cpuinfo_fopen" "$T/cpuinfo_fopen.c" 2>"$T/cpuinfo_fopen.err"; then
	out=$("$BUILD/sgxemu" run -- "$T/cpuinfo_fopen" 2>&1)
	[ "$out" = "sgx=1 sgx_lc=1" ]
	ok $? "fopen(\"/proc/cpuinfo\", \"r\") under sgxemu sees sgx and sgx_lc" "got '$out'"
	out=$("$BUILD/sgxemu" run -- "$T/cpuinfo_fopen" re 2>&1)
	[ "$out" = "sgx=1 sgx_lc=1" ]
	ok $? "fopen with mode \"re\" too" "got '$out'"
	out=$("$T/cpuinfo_fopen" 2>&1)
	[ "$out" = "sgx=$host_has_sgx sgx_lc=$(grep -m1 '^flags' /proc/cpuinfo | grep -cw sgx_lc)" ]
	ok $? "the same program without sgxemu sees the host's flags" "got '$out'"
else
	for d in r re host; do
		ok 1 "fopen of /proc/cpuinfo ($d): the program did not build" "$(cat "$T/cpuinfo_fopen.err")"
	done
fi

# The real preload, when it answers CPUID, through `sgxemu run`.
if nm -D --defined-only "$BUILD/libsgxemu.so" 2>/dev/null | grep -qw sgxemu_cpuid; then
	out=$("$BUILD/sgxemu" run --epc-size 16M -- "$T/probe_shim" 2>&1)
	grep -q '^epc=16777216 type=1$' <<<"$out" && grep -q '^leaf7.sgx=1$' <<<"$out" &&
		grep -q '^sgx12.0.eax=803$' <<<"$out"
	ok $? "under sgxemu run the shim reports SGX1, SGX2, EDECCSSA and the EPC size given" "$out"
	out=$("$BUILD/sgxemu" run --sgx1 -- "$T/probe_shim" 2>&1)
	grep -q '^sgx12.0.eax=1$' <<<"$out"
	ok $? "under sgxemu run --sgx1 the shim reports SGX1 only" "$out"
else
	skip "under sgxemu run the shim reports SGX and the EPC size given" \
		"libsgxemu.so does not export sgxemu_cpuid yet"
	skip "under sgxemu run --sgx1 the shim reports SGX1 only" \
		"libsgxemu.so does not export sgxemu_cpuid yet"
fi

echo "1..$n"
[ $failed -eq 0 ]

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
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Start from the defaults, whatever the caller's environment says.
unset SGXEMU_EPC_SIZE SGXEMU_SGX1 SGXEMU_TRACE SGXEMU_TRACE_FILE SGXEMU_TRACE_SUMMARY SGXEMU_PLATFORM_KEY \
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

# Usage: --help and COMMAND --help on stdout with status 0; usage errors on stderr with 2.
out=$("$SGXEMU" --help 2>"$T/help.err")
rc=$?
all_cmds=1
for c in run info cflags stat measure sign sigstruct keygen; do
	grep -q "^  $c " <<<"$out" || all_cmds=0
done
[ $rc -eq 0 ] && grep -q '^usage: sgxemu' <<<"$out" && [ $all_cmds -eq 1 ] && [ ! -s "$T/help.err" ]
ok $? "--help prints the usage and every command on stdout and exits 0" "rc=$rc: $out"
out=$("$SGXEMU" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -q 'usage:' <<<"$out"
ok $? "sgxemu without a command prints the usage on stderr and exits 2" "rc=$rc: $out"
bad=
for c in run info cflags stat measure sign sigstruct keygen; do
	out=$("$SGXEMU" $c --help 2>/dev/null)
	rc=$?
	{ [ $rc -eq 0 ] && grep -q "^usage: sgxemu $c" <<<"$out"; } || bad="$bad $c(rc=$rc)"
done
[ -z "$bad" ]
ok $? "COMMAND --help describes the command on stdout with status 0, for every command" "$bad"
out=$("$SGXEMU" run --help 2>&1)
grep -q -- '--syscall-filter auto|on|off' <<<"$out" && grep -q 'SGXEMU_SYSCALL_FILTER' <<<"$out"
ok $? "run --help documents --syscall-filter and its variable" "$out"
out=$("$SGXEMU" --version 2>&1)
rc=$?
want=$(cat "$ROOT/VERSION")
[ $rc -eq 0 ] && [[ $out == "sgxemu $want"* ]] && [ "$(wc -l <<<"$out")" -eq 1 ]
ok $? "--version prints 'sgxemu $want...' and exits 0" "rc=$rc: $out"
out=$("$SGXEMU" frobnicate 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" <<<"$out"
ok $? "an unknown command exits 2 and names it" "rc=$rc: $out"
out=$("$SGXEMU" run --no-such-flag -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--no-such-flag'" <<<"$out"
ok $? "an unknown option exits 2 and names the flag typed" "rc=$rc: $out"

# Flags are checked before the program starts; messages name the flag the user typed.
out=$("$SGXEMU" run --epc-size -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "option '--epc-size' needs a value" <<<"$out" && ! grep -q RAN <<<"$out"
ok $? "a flag missing its value does not take '--' as the value" "rc=$rc: $out"
out=$("$SGXEMU" run --policy --sgx1 -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "'--policy' needs a value" <<<"$out" && ! grep -q RAN <<<"$out"
ok $? "a flag missing its value does not take the next flag as the value" "rc=$rc: $out"
out=$("$SGXEMU" run --sgx1=yes -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "'--sgx1' takes no value" <<<"$out"
ok $? "a value given to a flag without one is refused" "rc=$rc: $out"
out=$("$SGXEMU" run --epc-size 12q -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^sgxemu: --epc-size 12q: ' <<<"$out" && ! grep -q SGXEMU_EPC_SIZE <<<"$out"
ok $? "a bad --epc-size is reported as --epc-size, not as its variable" "rc=$rc: $out"
out=$("$SGXEMU" run --syscall-filter=sometimes -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^sgxemu: --syscall-filter sometimes: want auto, on or off' <<<"$out"
ok $? "a bad --syscall-filter is refused, naming the flag" "rc=$rc: $out"
out=$("$SGXEMU" run --syscall-filter on -- sh -c 'echo "$SGXEMU_SYSCALL_FILTER"' 2>&1)
[ "$out" = on ]
ok $? "--syscall-filter on sets SGXEMU_SYSCALL_FILTER=on" "got '$out'"
out=$("$SGXEMU" run --trace-file "$T/no/such/dir/trace" -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^sgxemu: --trace-file $T/no/such/dir/trace: No such file" <<<"$out" &&
	! grep -q RAN <<<"$out"
ok $? "a trace file that cannot be written is refused before the program runs" "rc=$rc: $out"
printf '%064d\n' 7 >"$T/open.key"
chmod 644 "$T/open.key"
out=$("$SGXEMU" run --platform-key "$T/open.key" -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^sgxemu: --platform-key $T/open.key: .*mode 644.*chmod 600" <<<"$out" &&
	! grep -q RAN <<<"$out"
ok $? "a platform key readable by others is refused before the program runs" "rc=$rc: $out"
out=$(SGXEMU_PLATFORM_KEY="$T/open.key" "$SGXEMU" run -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^sgxemu: platform key $T/open.key: .*chmod 600" <<<"$out"
ok $? "... also when it comes from SGXEMU_PLATFORM_KEY" "rc=$rc: $out"
chmod 600 "$T/open.key"
out=$("$SGXEMU" run --platform-key "$T/open.key" -- sh -c 'echo RAN' 2>&1)
[ "$out" = RAN ]
ok $? "a private platform key is accepted" "got '$out'"
out=$("$SGXEMU" run --platform-key "$T/no/such/dir/k" -- sh -c 'echo RAN' 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^sgxemu: --platform-key $T/no/such/dir/k: cannot be created" <<<"$out"
ok $? "a platform key that cannot be created is refused before the program runs" "rc=$rc: $out"
out=$("$SGXEMU" run --platform-key "$T/new.key" -- sh -c 'echo RAN' 2>&1)
[ "$out" = RAN ] && [ ! -e "$T/new.key" ]
ok $? "a platform key yet to be made is accepted, and not made by the check" "got '$out'"

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

# ---- programs no preload can enter ---------------------------------------------------------
# One line from sgxemu run before they start, and they run anyway (without the emulator).
cat >"$T/whoami.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
	printf("%s\n", dlsym(RTLD_DEFAULT, "sgxemu_cpuid") ? "emulated" : "not-emulated");
	return 3;
}
EOF
cat >"$T/static.c" <<'EOF'
#include <stdio.h>
int main(void)
{
	puts("static-ran");
	return 3;
}
EOF
if cc -O2 -o "$T/whoami" "$T/whoami.c" 2>"$T/cc.err" &&
	cc -O2 -static -o "$T/static" "$T/static.c" 2>>"$T/cc.err"; then
	out=$("$BUILD/sgxemu" run -- "$T/whoami" 2>"$T/run.err")
	rc=$?
	[ $rc -eq 3 ] && [ "$out" = emulated ] && [ ! -s "$T/run.err" ]
	ok $? "a dynamically linked program runs under the emulator, no message" \
		"rc=$rc: $out; $(cat "$T/run.err")"
	out=$("$BUILD/sgxemu" run -- "$T/static" 2>"$T/run.err")
	rc=$?
	[ $rc -eq 3 ] && [ "$out" = static-ran ] && [ "$(wc -l <"$T/run.err")" -eq 1 ] &&
		grep -q "^sgxemu: $T/static is statically linked: no preload can enter it" "$T/run.err"
	ok $? "a statically linked program gets one line saying so, then runs" \
		"rc=$rc: $out; $(cat "$T/run.err")"
	printf '#!%s\necho script-ran\n' "$T/static" >"$T/static-script"
	chmod +x "$T/static-script"
	"$BUILD/sgxemu" run -- "$T/static-script" >/dev/null 2>"$T/run.err"
	grep -q "interpreter $T/static is statically linked" "$T/run.err"
	ok $? "a script whose interpreter is static is told too" "$(cat "$T/run.err")"
	(cd "$T" && PATH="$T:$PATH" "$BUILD/sgxemu" run -- static >/dev/null 2>"$T/run.err")
	grep -q "^sgxemu: static is statically linked" "$T/run.err"
	ok $? "a static program found through PATH is recognised" "$(cat "$T/run.err")"
	if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && cp "$T/whoami" "$T/suid" &&
		chown nobody "$T/suid" && chmod 4755 "$T/suid" &&
		[ "$(findmnt -n -o OPTIONS -T "$T" 2>/dev/null | grep -c nosuid)" -eq 0 ]; then
		out=$("$BUILD/sgxemu" run -- "$T/suid" 2>"$T/run.err")
		rc=$?
		[ $rc -eq 3 ] && [ "$out" = not-emulated ] && [ "$(wc -l <"$T/run.err")" -eq 1 ] &&
			grep -q "^sgxemu: $T/suid is set-user-ID: the dynamic loader ignores LD_PRELOAD" \
				"$T/run.err"
		ok $? "a set-user-ID program that changes the user gets one line, runs without the emulator" \
			"rc=$rc: $out; $(cat "$T/run.err")"
	else
		skip "a set-user-ID program gets one line" "needs root and a user nobody on a suid mount"
	fi
else
	for d in dynamic static script path setuid; do
		ok 1 "static/setuid check '$d': the programs did not build" "$(cat "$T/cc.err")"
	done
fi

# ---- make install: a tree that works from where it is put ---------------------------------
san=0
readelf -d "$BUILD/libsgxemu.so" 2>/dev/null | grep -q 'NEEDED.*libasan' && san=1
STAGE=$T/stage
make -s -C "$ROOT" --no-print-directory install DESTDIR="$STAGE" BUILD="$BUILD" SAN=$san \
	>"$T/install.log" 2>&1
rc=$?
P=$STAGE/usr/local
missing=
for f in bin/sgxemu lib/libsgxemu.so lib/libsgxemu-boot.so include/sgxemu.h \
	include/sgxemu_stat.h include/sgxemu/shim/cpuid.h share/man/man1/sgxemu.1 \
	share/bash-completion/completions/sgxemu lib/pkgconfig/sgxemu.pc; do
	[ -f "$P/$f" ] || missing="$missing $f"
done
[ $rc -eq 0 ] && [ -z "$missing" ] && [ -x "$P/bin/sgxemu" ]
ok $? "make install DESTDIR=... installs the CLI, preload, boot shim, headers, man page, completion, pkg-config" \
	"rc=$rc, missing:$missing; $(tail -n 5 "$T/install.log")"
out=$("$P/bin/sgxemu" run -- sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$out" = "$P/lib/libsgxemu.so" ]
ok $? "the installed sgxemu preloads the installed libsgxemu.so (found from its own place)" "got '$out'"
if [ -x "$BUILD/demo/demo_host" ]; then
	out=$("$P/bin/sgxemu" run -- "$BUILD/demo/demo_host" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && grep -q 'all returned what we expected' <<<"$out"
	ok $? "the demo runs under the installed sgxemu" "rc=$rc: $(tail -n 3 <<<"$out")"
else
	ok 1 "the demo runs under the installed sgxemu" "no $BUILD/demo/demo_host (make demo)"
fi
out=$("$P/bin/sgxemu" cflags 2>&1)
[ "$out" = "-I$P/include/sgxemu/shim" ]
ok $? "the installed sgxemu cflags names the installed shim" "got '$out'"
out=$("$P/bin/sgxemu" --version)
[ "$out" = "$("$BUILD/sgxemu" --version)" ]
ok $? "the installed sgxemu has the version of the build" "got '$out'"
if command -v pkg-config >/dev/null 2>&1; then
	out="$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --cflags sgxemu | sed 's/ *$//')|$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --variable=preload sgxemu)|$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --modversion sgxemu)"
	[ "$out" = "-I/usr/local/include|/usr/local/lib/libsgxemu.so|$(cat "$ROOT/VERSION")" ]
	ok $? "pkg-config sgxemu gives the include directory, the preload and the version" "got '$out'"
else
	skip "pkg-config sgxemu" "no pkg-config"
fi
# The man page and --help come from one description: every option of --help is in the man page.
man_text=$(sed 's/\\-/-/g' "$P/share/man/man1/sgxemu.1")
bad=
for f in $("$BUILD/sgxemu" --help | grep -o -- '^  --[a-z0-9-]*' | sort -u); do
	grep -q -- "$f" <<<"$man_text" || bad="$bad $f"
done
for c in run info cflags stat measure sign sigstruct keygen; do
	grep -q "^\.SS $c$" "$P/share/man/man1/sgxemu.1" || bad="$bad $c"
done
[ -z "$bad" ] && grep -q '^\.TH SGXEMU 1' "$P/share/man/man1/sgxemu.1"
ok $? "sgxemu(1) has every command and every option of --help" "missing:$bad"
if command -v groff >/dev/null 2>&1; then
	out=$(groff -man -ww -z "$P/share/man/man1/sgxemu.1" 2>&1)
	[ -z "$out" ]
	ok $? "sgxemu(1) formats without groff warnings" "$out"
else
	skip "sgxemu(1) formats without groff warnings" "no groff"
fi
compl() { # compl WORDS... : what the completion offers for the last word
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sgxemu;
		printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/sgxemu" "$@"
}
out="$(compl sgxemu ru | tr '\n' ' ')|$(compl sgxemu run --sysc | tr '\n' ' ')|$(compl sgxemu run --syscall-filter o | tr '\n' ' ')|$(compl sgxemu sign --dig | tr '\n' ' ')"
[ "$out" = "run |--syscall-filter |on off |--digest " ]
ok $? "bash completion completes commands, options and option values" "got '$out'"

# ---- keygen, measure, sign, sigstruct ------------------------------------------------------
S=$BUILD/sgxemu
ENCL=$BUILD/demo/demo_encl.elf
"$S" keygen "$T/k.pem" >"$T/keygen.out" 2>&1
rc=$?
mode=$(stat -c %a "$T/k.pem" 2>/dev/null)
bits=$(openssl rsa -in "$T/k.pem" -noout -text 2>/dev/null | grep -c -e 'Private-Key: (3072 bit' -e 'publicExponent: 3 ')
[ $rc -eq 0 ] && [ "$mode" = 600 ] && [ "$bits" -eq 2 ] && grep -q '^MRSIGNER  [0-9a-f]\{64\}$' "$T/keygen.out"
ok $? "keygen writes an RSA-3072 key with exponent 3, mode 600, and prints its MRSIGNER" \
	"rc=$rc mode=$mode bits=$bits: $(cat "$T/keygen.out")"
"$S" keygen "$T/k.pem" >"$T/keygen2.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q -- '--force' "$T/keygen2.out"
ok $? "keygen keeps an existing key unless --force" "rc=$rc: $(cat "$T/keygen2.out")"
"$S" keygen --force --public "$T/k2.pub" "$T/k2.pem" >/dev/null 2>&1 &&
	grep -q 'BEGIN PUBLIC KEY' "$T/k2.pub" &&
	cmp -s "$T/k2.pub" <(openssl pkey -in "$T/k2.pem" -pubout 2>/dev/null)
ok $? "keygen --public writes the public key too"
openssl pkey -in "$T/k.pem" -pubout -out "$T/k.pub" 2>/dev/null

if [ -f "$ENCL" ]; then
	demo_mr=$("$S" run -- "$BUILD/demo/demo_host" 2>/dev/null | sed -n 's/^  MRENCLAVE //p')
	out=$("$S" measure "$ENCL" 2>"$T/measure.err")
	[ -n "$demo_mr" ] && [ "$out" = "$demo_mr" ] &&
		grep -q "^sgxemu: measure: layout: $ENCL as sgxemu's loader" "$T/measure.err"
	ok $? "measure gives the MRENCLAVE the loaded demo enclave has, and says which layout it assumed" \
		"measure: $out, demo: $demo_mr; $(cat "$T/measure.err")"
	out=$("$S" measure -q "$ENCL" 2>&1)
	[ "$out" = "$demo_mr" ]
	ok $? "measure -q prints only the MRENCLAVE" "$out"
	# The layout of an ELF image, written out, measures the same; so does a hand-made copy of
	# it beside its own image (relative names), read from another directory.
	"$S" measure --emit-layout --heap 64K "$ENCL" >"$T/demo.layout" 2>"$T/emit.err"
	m1=$("$S" measure -q --heap 64K "$ENCL" 2>&1)
	m2=$("$S" measure -q --layout "$T/demo.layout" 2>&1)
	[ -n "$m1" ] && [ "$m1" = "$m2" ] && [ "$m1" != "$demo_mr" ] && grep -q '^tcs 0 ' "$T/demo.layout"
	ok $? "measure --emit-layout writes a layout that --layout measures the same" \
		"$m1 vs $m2; $(cat "$T/demo.layout" "$T/emit.err")"
	mkdir -p "$T/lay"
	cp "$ENCL" "$T/lay/image.elf"
	sed "s#$(realpath "$ENCL")#image.elf#" "$T/demo.layout" >"$T/lay/demo.layout"
	m3=$(cd / && "$S" measure -q --layout "$T/lay/demo.layout" 2>&1)
	[ "$m3" = "$m1" ]
	ok $? "file names in a layout are relative to the layout file" "$m3 vs $m1"
	sed 's/ unmeasured$/ measured/' "$T/lay/demo.layout" >"$T/lay/measured.layout"
	sed '0,/ r-x / s/ r-x / rwx /' "$T/lay/demo.layout" >"$T/lay/rwx.layout"
	sed 's/^size .*/size 0x40000/' "$T/lay/demo.layout" >"$T/lay/big.layout"
	m4=$("$S" measure -q --layout "$T/lay/measured.layout" 2>&1)
	m5=$("$S" measure -q --layout "$T/lay/rwx.layout" 2>&1)
	m6=$("$S" measure -q --layout "$T/lay/big.layout" 2>&1)
	m7=$("$S" measure -q --layout "$T/lay/demo.layout" --ssa-frame-size 2 2>&1)
	[ ${#m4} -eq 64 ] && [ ${#m5} -eq 64 ] && [ ${#m6} -eq 64 ] && [ ${#m7} -eq 64 ] &&
		[ "$(printf '%s\n' "$m1" "$m4" "$m5" "$m6" "$m7" | sort -u | wc -l)" -eq 5 ]
	ok $? "measuring the heap, another permission, another size or SSA frame size changes the MRENCLAVE" \
		"$m1 $m4 $m5 $m6 $m7"
	printf 'tcs 0 0x1000 rw- measured\nreg 0x1000 0x2000 r-x measured image.elf@0\nreg 0x2000 0x1000 rw- unmeasured\n' \
		>"$T/lay/overlap.layout"
	out=$("$S" measure --layout "$T/lay/overlap.layout" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q 'overlap.layout: line 3: overlaps line 2' <<<"$out"
	ok $? "a layout that adds a page twice is refused with its line numbers" "rc=$rc: $out"
	printf 'tcs 0 0x1000 rw- measured\nreg 0x1000 0x1000 r-x measured missing.bin@0\n' >"$T/lay/missing.layout"
	out=$("$S" measure --layout "$T/lay/missing.layout" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q 'missing.bin: No such file' <<<"$out"
	ok $? "a layout naming a missing file says which" "rc=$rc: $out"

	# One-step signing; sigstruct prints it and verifies it.
	out=$("$S" sign --key "$T/k.pem" --isvprodid 7 --isvsvn 3 --debug --out "$T/s1.sig" "$ENCL" 2>/dev/null)
	rc=$?
	signer=$(sed -n 's/^MRSIGNER  //p' "$T/keygen.out")
	[ $rc -eq 0 ] && [ "$(stat -c %s "$T/s1.sig")" -eq 1808 ] &&
		grep -q "^MRENCLAVE $demo_mr$" <<<"$out" && grep -q "^MRSIGNER  $signer$" <<<"$out"
	ok $? "sign writes a 1808-byte SIGSTRUCT naming the image's MRENCLAVE and the key's MRSIGNER" "rc=$rc: $out"
	out=$("$S" sigstruct "$T/s1.sig" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && grep -q 'a SIGSTRUCT (1808 bytes)' <<<"$out" &&
		grep -q "^ENCLAVEHASH *$demo_mr$" <<<"$out" && grep -q "^MRSIGNER *$signer$" <<<"$out" &&
		grep -q '^ISVPRODID *7$' <<<"$out" && grep -q '^ISVSVN *3$' <<<"$out" &&
		grep -q '^ATTRIBUTES *flags 0x0000000000000006 (DEBUG MODE64BIT)$' <<<"$out" &&
		grep -q '^EXPONENT *3$' <<<"$out" && grep -q '^Q2 ' <<<"$out" &&
		grep -q '^signature *valid' <<<"$out"
	ok $? "sigstruct prints every field of our SIGSTRUCT and finds it valid" "rc=$rc: $out"
	cp "$T/s1.sig" "$T/bad.sig"
	printf '\x04' | dd of="$T/bad.sig" bs=1 seek=1026 conv=notrunc 2>/dev/null # ISVSVN
	out=$("$S" sigstruct "$T/bad.sig" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q '^ISVSVN *4$' <<<"$out" &&
		grep -q '^signature *INVALID: .*SGX_INVALID_SIGNATURE' <<<"$out"
	ok $? "sigstruct finds a SIGSTRUCT whose body was changed invalid (exit 1)" "rc=$rc: $(tail -n 2 <<<"$out")"
	cp "$T/s1.sig" "$T/badq.sig"
	printf '\x01' | dd of="$T/badq.sig" bs=1 seek=1424 conv=notrunc 2>/dev/null # Q2
	out=$("$S" sigstruct -q "$T/badq.sig" 2>&1)
	[ $? -eq 1 ] && grep -q 'INVALID: Q1 or Q2' <<<"$out"
	ok $? "sigstruct tells a wrong Q2 from a wrong signature" "$out"

	# Two-step signing gives the same SIGSTRUCT (PKCS#1 v1.5 signatures are deterministic).
	hash=$("$S" sign --digest --isvprodid 7 --isvsvn 3 --debug --out "$T/s.data" "$ENCL" 2>"$T/digest.err")
	rc=$?
	[ $rc -eq 0 ] && [ "$(stat -c %s "$T/s.data")" -eq 256 ] &&
		[ "$hash" = "$(sha256sum <"$T/s.data" | cut -d' ' -f1)" ] &&
		cmp -s "$T/s.data" <(head -c 128 "$T/s1.sig"; tail -c +901 "$T/s1.sig" | head -c 128)
	ok $? "sign --digest writes HEADER and BODY (256 bytes) and prints their SHA-256" \
		"rc=$rc: $hash; $(cat "$T/digest.err")"
	openssl dgst -sha256 -sign "$T/k.pem" -out "$T/s.rsa" "$T/s.data" 2>/dev/null
	out=$("$S" sign --signature "$T/s.rsa" --key "$T/k.pub" --data "$T/s.data" --out "$T/s2.sig" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && cmp -s "$T/s1.sig" "$T/s2.sig" && grep -q "^MRSIGNER  $signer$" <<<"$out"
	ok $? "sign --signature assembles, from openssl's signature and the public key, the same SIGSTRUCT" \
		"rc=$rc: $out"
	"$S" sign --signature "$T/s.rsa" --key "$T/k.pub" --isvprodid 7 --isvsvn 3 --debug \
		--out "$T/s3.sig" "$ENCL" >/dev/null 2>&1 && cmp -s "$T/s1.sig" "$T/s3.sig"
	ok $? "... also when HEADER and BODY are rebuilt from the image and the same options"
	openssl genrsa -3 -out "$T/other.pem" 3072 2>/dev/null
	openssl dgst -sha256 -sign "$T/other.pem" -out "$T/other.rsa" "$T/s.data" 2>/dev/null
	out=$("$S" sign --signature "$T/other.rsa" --key "$T/k.pub" --data "$T/s.data" --out "$T/s4.sig" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q 'is not the signature of this signing data' <<<"$out" && [ ! -e "$T/s4.sig" ]
	ok $? "sign --signature refuses a signature by another key" "rc=$rc: $out"
	out=$("$S" sign --digest --key "$T/k.pem" "$ENCL" 2>&1)
	[ $? -eq 2 ]
	ok $? "sign --digest with a key is a usage error" "$out"

	# Other containers of a SIGSTRUCT: the Intel SDK's signed enclave (metadata in the note
	# .note.sgxmeta: namesz 13, descsz, type, "sgx_metadata\0" unpadded, then metadata_t whose
	# SIGSTRUCT is at offset 64), and any file that holds one.
	python3 - "$T/s1.sig" "$T/meta.bin" <<'EOF'
import struct, sys
sig = open(sys.argv[1], 'rb').read()
meta = struct.pack('<QQIIIIIIQQQ', 0x86A80294635D0E4C, (2 << 32) | 4, 4096, 1, 2, 2632, 0, 3,
                   0x100000, 0x6, 0x3) + sig
meta += b'\0' * (4096 - len(meta))
name = b'sgx_metadata\0'
note = struct.pack('<III', len(name), len(meta), 1) + name + meta
note += b'\0' * (-len(note) % 4)
open(sys.argv[2], 'wb').write(note)
EOF
	if objcopy --add-section .note.sgxmeta="$T/meta.bin" "$T/whoami" "$T/sdk.so" 2>"$T/objcopy.err"; then
		out=$("$S" sigstruct "$T/sdk.so" 2>&1)
		rc=$?
		[ $rc -eq 0 ] && grep -q 'an enclave signed by the Intel SGX SDK' <<<"$out" &&
			grep -q '^metadata *version 2.4, 1 blob, 4096 bytes' <<<"$out" &&
			grep -q '^  enclave size *0x100000' <<<"$out" && grep -q '^  SSA frame size *2 pages' <<<"$out" &&
			grep -q "^ENCLAVEHASH *$demo_mr$" <<<"$out" && grep -q '^signature *valid' <<<"$out"
		ok $? "sigstruct reads the SIGSTRUCT and metadata of an Intel SDK enclave's .note.sgxmeta" "rc=$rc: $out"
	else
		ok 1 "sigstruct reads an Intel SDK enclave" "$(cat "$T/objcopy.err")"
	fi
	{ head -c 1000 /dev/urandom; cat "$T/s1.sig"; head -c 77 /dev/zero; } >"$T/embedded.bin"
	out=$("$S" sigstruct -q "$T/embedded.bin" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && grep -q '^signature *valid' <<<"$out" && grep -q "^MRSIGNER *$signer$" <<<"$out"
	ok $? "sigstruct finds a SIGSTRUCT inside another file by its headers" "rc=$rc: $out"
	out=$("$S" sigstruct "$T/whoami" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q 'no SIGSTRUCT found' <<<"$out"
	ok $? "sigstruct of a file without one says so (exit 1)" "rc=$rc: $out"
else
	ok 1 "measure, sign and sigstruct tests" "no $ENCL (make demo)"
fi

# ---- sgxemu stat ---------------------------------------------------------------------------
export SGXEMU_STAT_DIR=$T/statdir
mkdir -p "$SGXEMU_STAT_DIR"
out=$("$S" stat 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$out" = "no process runs under sgxemu" ]
ok $? "stat with nothing running says so" "rc=$rc: $out"
# A status file of a process that died without removing it goes away.
python3 -c 'import sys; sys.stdout.buffer.write(b"SGST" + b"\0" * 2700)' >"$SGXEMU_STAT_DIR/999999999.stat"
out=$("$S" stat 2>&1)
[ "$out" = "no process runs under sgxemu" ] && [ ! -e "$SGXEMU_STAT_DIR/999999999.stat" ]
ok $? "stat removes the status file of a process that has died" "$out; $(ls "$SGXEMU_STAT_DIR")"
# A version 1 file (an older sgxemu) is read as far as it goes.
sleep 60 &
old_pid=$!
python3 - "$SGXEMU_STAT_DIR/$old_pid.stat" "$old_pid" <<'EOF'
import struct, sys
pid = int(sys.argv[2])
head = struct.pack('<IIiIQQQQ', 0x54534753, 1, pid, 1, 256, 200, 7, 5)
encl = struct.pack('<QQQQ', 0x7f0000000000, 0x200000, 40, 2) + b'\0' * 32 * 63
open(sys.argv[1], 'wb').write(head + encl)
EOF
out=$("$S" stat "$old_pid" 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q "^$old_pid .* sleep .* 224K/1M *1 *7 *5 " <<<"$out" &&
	grep -q 'enclave 0x7f0000000000 size 2M *resident 40  swapped 2$' <<<"$out"
ok $? "stat reads a version 1 status file (without the fields version 2 added)" "rc=$rc: $out"
kill "$old_pid" 2>/dev/null
wait "$old_pid" 2>/dev/null
rm -f "$SGXEMU_STAT_DIR/$old_pid.stat"

HELPER=$BUILD/tests/helpers/stat_helper
if [ -x "$HELPER" ]; then
	# A parent and its child, each with an enclave that grew by EAUG (5 and 3 pages) and a heap
	# larger than their 1 MiB EPC, which they keep reading (so they page all the time).
	"$S" run --epc-size 1M -- "$HELPER" "$T/ready" 1536 5 3 >"$T/helper.out" 2>&1 &
	helper=$!
	for _ in $(seq 600); do
		[ -s "$T/ready" ] && break
		kill -0 $helper 2>/dev/null || break
		sleep 0.1
	done
	read -r ppid cpid <"$T/ready" 2>/dev/null
	out=$("$S" stat 2>&1)
	rc=$?
	# The parent's row, its enclave, then the child's row indented under it, and its enclave.
	lines=$(grep -n -e "^$ppid " -e "^  $cpid " -e 'enclave' <<<"$out" | cut -d: -f1 | tr '\n' ' ')
	[ $rc -eq 0 ] && [ -n "${ppid:-}" ] && grep -q "^$ppid .* stat_helper " <<<"$out" &&
		grep -q "^  $cpid  *$ppid  stat_helper " <<<"$out" &&
		[ "$(grep -c 'enclave 0x' <<<"$out")" -eq 2 ] &&
		[ "$(grep 'enclave 0x' <<<"$out" | head -n 1 | grep -c 'EDMM-added 5  initialized')" -eq 1 ] &&
		[ "$(grep 'enclave 0x' <<<"$out" | tail -n 1 | grep -c '^   enclave .*EDMM-added 3  initialized')" -eq 1 ] &&
		[ "$lines" = "2 3 4 5 " ]
	ok $? "stat shows the command, the child under its parent, and each enclave's EDMM-added pages" \
		"rc=$rc lines=$lines: $out; $(cat "$T/helper.out")"
	ewb=$(awk -v p="$ppid" '$1 == p { print $6 }' <<<"$out")
	swapped=$(grep 'enclave 0x' <<<"$out" | head -n 1 | sed 's/.*swapped \([0-9]*\).*/\1/')
	[ "${ewb:-0}" -gt 0 ] && [ "${swapped:-0}" -gt 0 ]
	ok $? "stat counts the EWBs of a process paging and its enclave's pages swapped out" "$out"
	out=$("$S" stat --watch 1 --count 2 2>&1)
	rc=$?
	second=$(sed -n '/rates over the last interval/,$p' <<<"$out")
	r1=$(awk -v p="$ppid" '$1 == p { print $8 }' <<<"$second")
	[ $rc -eq 0 ] && [ "$(grep -c '^sgxemu stat: ' <<<"$out")" -eq 2 ] &&
		grep -q 'rates since each process started' <<<"$out" &&
		awk -v r="${r1:-0}" 'BEGIN { exit !(r > 0) }'
	ok $? "stat --watch 1 --count 2 samples twice; the second sample's EWB rate is over the interval" \
		"rc=$rc: $out"
	out=$("$S" stat "$cpid" 2>&1)
	[ "$(grep -c 'stat_helper' <<<"$out")" -eq 1 ] && grep -q "^$cpid  *$ppid  stat_helper" <<<"$out"
	ok $? "stat PID shows that process (and its children) only" "$out"
	out=$("$S" stat $$ 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q "no process $$ runs under sgxemu" <<<"$out"
	ok $? "stat of a process not under sgxemu exits 1" "rc=$rc: $out"
	# --watch PID ends when the process does.
	"$S" stat --watch 0.2 "$cpid" >"$T/watch.out" 2>&1 &
	watcher=$!
	sleep 0.5
	rm -f "$T/ready"
	wait $helper
	rc=$?
	for _ in $(seq 100); do
		kill -0 $watcher 2>/dev/null || break
		sleep 0.1
	done
	kill $watcher 2>/dev/null && echo "(still running: killed)" >>"$T/watch.out"
	wait $watcher
	wrc=$?
	[ $rc -eq 0 ] && [ $wrc -eq 0 ] && grep -q "process $cpid has ended" "$T/watch.out"
	ok $? "stat --watch PID ends when the process ends" "helper rc=$rc watch rc=$wrc: $(tail -n 3 "$T/watch.out")"
	left=$(ls "$SGXEMU_STAT_DIR")
	[ -z "$left" ]
	ok $? "processes that end remove their status files" "left: $left"
else
	ok 1 "stat tests with a running enclave" "no $HELPER (make integ)"
fi
unset SGXEMU_STAT_DIR

# ---- trace -----------------------------------------------------------------------------------
DEMO=$BUILD/demo/demo_host
TH=$BUILD/tests/helpers/trace_helper
TS='^sgxemu: [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]\{6\} \[[0-9]\+\] '
out=$("$S" run --trace=bogus -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^sgxemu: --trace=bogus: want all, or a comma list of ioctl, enclu" <<<"$out"
ok $? "run --trace=LIST refuses an unknown category" "rc=$rc: $out"
if [ -x "$DEMO" ] && [ -x "$TH" ]; then
	printf 'deny exec-from-anonymous\n' >"$T/anon.pol"
	"$S" run --trace=ioctl,policy --policy "$T/anon.pol" -- "$DEMO" >/dev/null 2>"$T/deny.tr"
	grep -q "${TS}SGX_IOC_ENCLAVE_ADD_PAGES([0-9]\+, {src=0x[0-9a-f]\+, offset=0x2000, length=0x1000, secinfo=R|X,PT_REG, flags=SGX_PAGE_MEASURE, count=0x0}) = -1 EACCES (policy: exec-from-anonymous)$" "$T/deny.tr" &&
		grep -q "${TS}policy: add_page enclave=0x[0-9a-f]\+ addr=0x[0-9a-f]\+ src=0x[0-9a-f]\+ denied (exec-from-anonymous)$" "$T/deny.tr"
	ok $? "trace: an ADD_PAGES the policy refuses shows = -1 EACCES (policy: RULE), secinfo decoded" "$(cat "$T/deny.tr")"
	"$S" run --trace=ioctl -- "$TH" 2>"$T/err.tr"
	rc=$?
	[ $rc -eq 0 ] &&
		grep -q "${TS}SGX_IOC_ENCLAVE_INIT([0-9]\+, {sigstruct=0x0}) = -1 EINVAL (driver: not created)$" "$T/err.tr" &&
		grep -q "${TS}SGX_IOC_ENCLAVE_CREATE([0-9]\+, 0x8) = -1 EFAULT$" "$T/err.tr" &&
		grep -q "${TS}ioctl\[0xa43f\]([0-9]\+, 0x0) = -1 ENOTTY$" "$T/err.tr"
	ok $? "trace: failing ioctls show the errno by name and the driver's reason" "rc=$rc: $(cat "$T/err.tr")"

	"$S" run --trace -- "$DEMO" >"$T/demo.out" 2>"$T/all.tr"
	pid_lines=$(grep -c "^sgxemu: " "$T/all.tr")
	ts_lines=$(grep -c "$TS" "$T/all.tr")
	[ "$pid_lines" -gt 20 ] && [ "$pid_lines" = "$ts_lines" ]
	ok $? "trace: every line has the time (HH:MM:SS.uuuuuu) and the thread id" \
		"$ts_lines of $pid_lines: $(grep -v "$TS" "$T/all.tr" | head -n 3)"
	grep -q "${TS}SGX_IOC_ENCLAVE_CREATE([0-9]\+, {src=0x[0-9a-f]\+, secs={base=0x[0-9a-f]\+, size=0x10000, ssa=1, attributes=MODE64BIT, xfrm=X87|SSE}}) = 0$" "$T/all.tr" &&
		grep -q "${TS}mmap enclave 0x[0-9a-f]\+-0x[0-9a-f]\+ prot=PROT_READ|PROT_EXEC index=0$" "$T/all.tr" &&
		grep -q "${TS}EADD 0x[0-9a-f]\+ secinfo=PT_TCS +EEXTEND -> SGX_SUCCESS$" "$T/all.tr" &&
		grep -q "${TS}EEXIT target=0x[0-9a-f]\+ -> ok rip=0x[0-9a-f]\+$" "$T/all.tr"
	ok $? "trace: attributes, XFRM, PROT_* and page types are decoded" "$(head -n 40 "$T/all.tr")"

	"$S" run --trace=ioctl -- "$DEMO" >/dev/null 2>"$T/ioctl.tr"
	"$S" run --trace=enclu -- "$DEMO" >/dev/null 2>"$T/enclu.tr"
	grep -q "SGX_IOC_ENCLAVE_INIT(" "$T/ioctl.tr" && ! grep -q "EENTER\|EEXIT\|ECREATE\|mmap" "$T/ioctl.tr" &&
		grep -q "EENTER tcs=" "$T/enclu.tr" && grep -q "EEXIT target=" "$T/enclu.tr" &&
		! grep -q "SGX_IOC_\|ECREATE\|mmap\|platform" "$T/enclu.tr"
	ok $? "trace: --trace=ioctl shows ioctls but no ENCLU leaves, --trace=enclu the reverse" \
		"ioctl: $(head -n 5 "$T/ioctl.tr"); enclu: $(head -n 5 "$T/enclu.tr")"
	SGXEMU_TRACE=encls "$S" run -- "$DEMO" >/dev/null 2>"$T/encls.tr"
	grep -q "${TS}EINIT -> SGX_SUCCESS$" "$T/encls.tr" && ! grep -q "SGX_IOC_\|EENTER" "$T/encls.tr"
	ok $? "trace: SGXEMU_TRACE=encls selects the ENCLS leaves alone" "$(head -n 5 "$T/encls.tr")"

	# The demo makes 11 ecalls (EENTER and EEXIT each), adds 12 pages in 3 ioctls; none fails.
	"$S" run --trace-summary -- "$DEMO" >/dev/null 2>"$T/sum.tr"
	row() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 "/" $4 }' "$T/sum.tr"; }
	got="$(row ENCLU EENTER) $(row ENCLU EEXIT) $(row ENCLS EADD) $(row ENCLS EEXTEND) $(row ioctl SGX_IOC_ENCLAVE_ADD_PAGES) $(row ioctl SGX_IOC_ENCLAVE_CREATE)"
	[ "$got" = "11/0 11/0 12/0 192/0 3/0 1/0" ] && grep -q "^sgxemu: summary of pid [0-9]\+$" "$T/sum.tr" &&
		! grep -q "$TS" "$T/sum.tr"
	ok $? "--trace-summary counts calls and errors per ioctl, ENCLS and ENCLU leaf at exit, and traces nothing else" \
		"got '$got': $(cat "$T/sum.tr")"
	"$S" run --trace-summary --trace=ioctl --policy "$T/anon.pol" -- "$DEMO" >/dev/null 2>"$T/sum2.tr"
	[ "$(awk '$1 == "ioctl" && $2 == "SGX_IOC_ENCLAVE_ADD_PAGES" { print $3 "/" $4 }' "$T/sum2.tr")" = 2/1 ]
	ok $? "--trace-summary counts the failing ioctl as an error" "$(cat "$T/sum2.tr")"

	rm -f "$T/file.tr"
	"$S" run --sgx1 --epc-size 32M --trace=ioctl,aex --trace-file "$T/file.tr" -- \
		sh -c '"$1" >/dev/null; "$1" >/dev/null' sh "$DEMO" 2>"$T/file.err"
	hdr=$(grep -c "^# sgxemu [^ ]\+ trace: pid [0-9]\+, ppid [0-9]\+, command: $DEMO$" "$T/file.tr")
	cfg=$(grep -c "^# config: SGX1, EPC 32768 KiB, trace=ioctl,aex$" "$T/file.tr")
	pids=$(sed -n 's/^# sgxemu [^ ]* trace: pid \([0-9]*\),.*/\1/p' "$T/file.tr" | sort -u | wc -l)
	[ "$hdr" = 2 ] && [ "$cfg" = 3 ] && [ "$pids" = 3 ] && [ ! -s "$T/file.err" ] &&
		head -n 1 "$T/file.tr" | grep -q "command: sh -c" && grep -q "${TS}SGX_IOC_ENCLAVE_INIT(" "$T/file.tr"
	ok $? "--trace-file: each process (children too) appends a header with pid, command, version and configuration" \
		"hdr=$hdr cfg=$cfg pids=$pids: $(grep '^#' "$T/file.tr"; cat "$T/file.err")"
	# A fork without exec writes its own header too.
	rm -f "$T/fork.tr"
	"$S" run --trace=ioctl --trace-file "$T/fork.tr" -- perl -e 'my $p = fork; exit 0 unless $p; waitpid $p, 0' 2>/dev/null
	heads=$(sed -n 's/^# sgxemu [^ ]* trace: pid \([0-9]*\), ppid \([0-9]*\), command: perl -e .*/\1 \2/p' "$T/fork.tr")
	parent=$(head -n 1 <<<"$heads" | cut -d' ' -f1)
	[ "$(wc -l <<<"$heads")" = 2 ] && [ "$(tail -n 1 <<<"$heads" | cut -d' ' -f2)" = "$parent" ]
	ok $? "--trace-file: a forked child writes its own header (its pid, the parent's as ppid)" "$(cat "$T/fork.tr")"
	# AEXs with decoded #PF error codes, and how the exception reached the program.
	"$S" run --trace=aex -- "$BUILD/tests/integ/test_exception" >/dev/null 2>"$T/aex.tr"
	grep -q "${TS}AEX #PF addr=0x[0-9a-f]\+ error=0x7 (PRESENT|WRITE|USER) rip=0x[0-9a-f]\+ tcs=0x[0-9a-f]\+$" "$T/aex.tr" &&
		grep -q "${TS}exception #PF error=0x7 addr=0x[0-9a-f]\+ returned to the vDSO's caller$" "$T/aex.tr" &&
		! grep -v "AEX\|exception\|signal" "$T/aex.tr" | grep -q "$TS"
	ok $? "trace: --trace=aex shows AEXs with the #PF error code decoded, and nothing else" "$(head -n 8 "$T/aex.tr")"
	# EPC paging: a 1 MiB EPC makes test_paging's enclaves page.
	"$S" run --epc-size 1M --trace=paging -- "$BUILD/tests/integ/test_paging" >/dev/null 2>"$T/paging.tr"
	grep -q "${TS}EWB 0x[0-9a-f]\+ -> SGX_SUCCESS$" "$T/paging.tr" &&
		grep -q "${TS}ELDU 0x[0-9a-f]\+ -> SGX_SUCCESS$" "$T/paging.tr" &&
		grep -q "${TS}reclaim: [0-9]\+ pages chosen (EBLOCK, ETRACK), [0-9]\+ written out$" "$T/paging.tr" &&
		! grep -q "SGX_IOC_\|EENTER" "$T/paging.tr"
	ok $? "trace: --trace=paging shows EWB, ELDU and reclaim batches" "$(head -n 8 "$T/paging.tr")"
else
	ok 1 "trace tests" "no $DEMO or $TH (make demo integ)"
fi

echo "1..$n"
[ $failed -eq 0 ]

#!/bin/bash
# sgxemu gdb on the demo, driven by gdb -batch (sgxemu gdb --batch -x FILE):
#   tests/gdb/test_gdb.sh BUILD_DIR
# A debug enclave: a software breakpoint on an enclave function by name is hit, the backtrace
# shows enclave frames, variables print, stepping works, info enclaves lists it with its ELF,
# and the program still runs to its end with every ecall right. A production enclave: no
# symbols, info enclaves says so. A crash of the program still stops in gdb; the emulator's
# own traps do not. Prints TAP; every test is skipped if gdb is not installed.
set -u
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
unset LD_PRELOAD SGXEMU_TRACE SGXEMU_TRACE_FILE
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SGXEMU=$BUILD/sgxemu
DEMO=$BUILD/demo/demo_host
PLAN=23

n=0 failed=0
ok() { # ok CONDITION-EXIT-STATUS DESCRIPTION [OUTPUT]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
has() { grep -qE -- "$2" <<<"$1"; }

# ---- without gdb ----
out=$("$SGXEMU" gdb 2>&1)
rc=$?
[ $rc -eq 2 ] && has "$out" "sgxemu: gdb: no program given"
ok $? "sgxemu gdb without a program is a usage error" "$rc: $out"
out=$(SGXEMU_GDB=$T/no-such-gdb "$SGXEMU" gdb -- /bin/true 2>&1)
rc=$?
[ $rc -eq 127 ] && has "$out" "^sgxemu: cannot run $T/no-such-gdb: No such file or directory"
ok $? "sgxemu gdb says so when there is no gdb (status 127)" "$rc: $out"
printf '#!/bin/sh\necho valgrind ran\n' >"$T/valgrind"
chmod +x "$T/valgrind"
out=$("$SGXEMU" run -- "$T/valgrind" "$DEMO" 2>&1)
rc=$?
[ $rc -eq 127 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	has "$out" "^sgxemu: valgrind cannot run programs under sgxemu" && ! has "$out" "valgrind ran"
ok $? "sgxemu run -- valgrind refuses in one sentence" "$rc: $out"

if ! command -v "${SGXEMU_GDB:-gdb}" >/dev/null 2>&1; then
	for i in $(seq $((n + 1)) $PLAN); do echo "ok $i # SKIP gdb is not installed"; done
	echo "1..$PLAN"
	[ "$failed" -eq 0 ]
	exit
fi
# From here programs run under gdb, and LeakSanitizer cannot work under ptrace (a SAN=1
# build's demo would end in its fatal error): leak checking stays on for the CLI checks above.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
if [ ! -x "$DEMO" ]; then
	echo "not ok 1 - $DEMO is missing (make demo)"
	echo "1..1"
	exit 1
fi

# ---- a debug enclave ----
cat >"$T/debug.gdb" <<'EOF'
break encl_main
info breakpoints
run
echo ==BT==\n
bt
echo ==VARS==\n
print *host
print host->op
print counter
echo ==INFO==\n
info enclaves
echo ==STEP==\n
next
next
step
echo ==CONT==\n
continue
print host->op
echo ==HITS==\n
info breakpoints
delete
continue
EOF
out=$(timeout 120 "$SGXEMU" gdb --batch -x "$T/debug.gdb" -- "$DEMO" --debug 2>&1)
ok $? "sgxemu gdb --batch runs the demo with a debug enclave to its end" "$out"
has "$out" "loaded symbols of debug enclave .*demo_encl.elf at 0x"
ok $? "the enclave's symbols are loaded at its base when it is built" "$out"
# A software breakpoint (type "breakpoint", not "hw breakpoint") at the enclave function.
has "$out" "^[0-9]+ +breakpoint +keep y +<PENDING> +encl_main|^[0-9]+ +breakpoint +keep y .* in encl_main at demo/demo_encl.c"
ok $? "break encl_main is a software breakpoint" "$out"
has "$out" "hit Breakpoint [0-9]+, encl_main \(arg=0x[0-9a-f]+, tcs=[0-9]+\) at demo/demo_encl.c:[0-9]+"
ok $? "the software breakpoint in the enclave is hit" "$out"
bt=$(sed -n '/^==BT==$/,/^==VARS==$/p' <<<"$out")
has "$bt" "^#0 +encl_main \(arg=" && has "$bt" "^#1 +0x[0-9a-f]+ in encl_entry \(\) at demo/encl_entry.S" &&
	! has "$bt" "^#2"
ok $? "bt shows the enclave frames: encl_main called from encl_entry, the outermost" "$bt"
vars=$(sed -n '/^==VARS==$/,/^==INFO==$/p' <<<"$out")
has "$vars" '^\$1 = \{op = 1, status = 0, in = 0, out = 0, buf = [0-9]+, len = 128\}'
ok $? "print *host shows the first ecall's request (greet, 128 bytes)" "$vars"
has "$vars" '^\$2 = 1$' && has "$vars" '^\$3 = 0$'
ok $? "print host->op and an enclave global (counter = 0 before the count ecalls)" "$vars"
info=$(sed -n '/^==INFO==$/,/^==STEP==$/p' <<<"$out")
has "$info" "^0x[0-9a-f]+ +0x10000 +debug +/.*/demo/demo_encl.elf$"
ok $? "info enclaves lists the debug enclave with its size and ELF" "$info"
step=$(sed -n '/^==STEP==$/,/^==CONT==$/p' <<<"$out")
has "$step" "switch \(c.op\)" && has "$step" "^greet \(.*\) at demo/demo_encl.c:[0-9]+"
ok $? "next and step move through enclave source lines into greet" "$step"
cont=$(sed -n '/^==CONT==$/,/^==HITS==$/p' <<<"$out")
has "$cont" "Greeting number 1" && has "$cont" "hit Breakpoint [0-9]+, encl_main" &&
	has "$cont" '^\$4 = 2$'
ok $? "continue finishes the ecall and stops at the next one (count)" "$cont"
hits=$(sed -n '/^==HITS==$/,$p' <<<"$out")
has "$hits" "breakpoint already hit 2 times"
ok $? "the breakpoint was hit twice" "$hits"
has "$out" "demo: 11 ecalls, all returned what we expected" &&
	has "$out" "exited normally"
ok $? "with the breakpoints gone the demo runs to its end, every ecall right" "$out"
! has "$out" "received signal|Catchpoint [0-9]+ \(signal|Cannot insert breakpoint"
ok $? "no stop or message for the emulator's own signals" "$out"

# ---- --enclave: a loader that does not report its ELF (simulated: the script drops the path
# the demo's loader reports, so only the emulator's own "initialised/mapped" calls remain) ----
cat >"$T/byhand.gdb" <<'EOF'
python orig_sync = sync
python sync = lambda path=None, base=0: orig_sync(None, 0)
break encl_main
run
bt 1
delete
continue
EOF
out=$(timeout 120 "$SGXEMU" gdb --batch --enclave "$BUILD/demo/demo_encl.elf" -x "$T/byhand.gdb" \
	-- "$DEMO" --debug 2>&1)
has "$out" "hit Breakpoint [0-9]+, encl_main \(arg=" && has "$out" "^#0 +encl_main" &&
	has "$out" "demo: 11 ecalls, all returned what we expected"
ok $? "sgxemu gdb --enclave ELF: symbols and a software breakpoint without the loader's help" "$out"

# ---- a production enclave ----
cat >"$T/prod.gdb" <<'EOF'
set breakpoint pending off
break count
run
echo ==INFO==\n
info enclaves
echo ==FUNC==\n
info functions ^encl_main$
echo ==END==\n
delete
continue
EOF
out=$(timeout 120 "$SGXEMU" gdb --batch -x "$T/prod.gdb" -- "$DEMO" 2>&1)
has "$out" "enclave at 0x[0-9a-f]+ is a production enclave: no symbols" &&
	! has "$out" "loaded symbols"
ok $? "a production enclave gets no symbols" "$out"
info=$(sed -n '/^==INFO==$/,/^==FUNC==$/p' <<<"$out")
func=$(sed -n '/^==FUNC==$/,/^==END==$/p' <<<"$out")
has "$info" "^0x[0-9a-f]+ +0x10000 +production +/.*demo_encl.elf \(no symbols\)$" &&
	! has "$func" "^File |demo_encl|encl_main\(|encl_main;"
ok $? "info enclaves says production; gdb knows no enclave function" "$info$func"
has "$out" "demo: 11 ecalls, all returned what we expected"
ok $? "the production enclave's lazily mapped pages fault silently (the emulator's SIGSEGVs)" "$out"

# A breakpoint at the production enclave's encl_main (its address from the ELF): refused, as
# the debug enclave's is not.
off=$(nm "$BUILD/demo/demo_encl.elf" | awk '$3 == "encl_main" { print $1 }')
cat >"$T/prodbp.gdb" <<EOF
break count
run
python gdb.execute("break *%#x" % (enclaves()[0][0] + 0x$off))
continue
EOF
out=$(timeout 120 "$SGXEMU" gdb --batch -x "$T/prodbp.gdb" -- "$DEMO" 2>&1)
[ -n "$off" ] && has "$out" "Cannot insert breakpoint [0-9]+" && ! has "$out" "hit Breakpoint [0-9]+, 0x"
ok $? "a production enclave's code takes no software breakpoint" "$out"

# ---- a crash of the program still stops ----
printf '#include <stdio.h>\nint main(void) { *(volatile int *)16 = 1; return 0; }\n' >"$T/crash.c"
cc -g -O0 -o "$T/crash" "$T/crash.c"
printf 'run\nbt 1\n' >"$T/crash.gdb"
out=$(timeout 60 "$SGXEMU" gdb --batch -x "$T/crash.gdb" -- "$T/crash" 2>&1)
has "$out" "Catchpoint [0-9]+ \(signal SIGSEGV\), main \(\) at .*crash.c:2" &&
	has "$out" "^#0 +main \(\) at"
ok $? "a genuine SIGSEGV of the program stops in gdb at the faulting line" "$out"
# Commands from standard input (prompts, not -batch): `delete` takes the catchpoint with it,
# and the script makes it again before the next prompt.
out=$(printf 'delete\nrun\nbt 1\n' | timeout 60 "$SGXEMU" gdb -- "$T/crash" 2>&1)
has "$out" "Catchpoint [0-9]+ \(signal SIGSEGV\), main \(\) at .*crash.c:2"
ok $? "after delete, a genuine SIGSEGV still stops" "$out"

echo "1..$n"
[ "$n" -eq "$PLAN" ] || { echo "# ran $n tests, planned $PLAN"; exit 1; }
[ "$failed" -eq 0 ]

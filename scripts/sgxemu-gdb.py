# gdb support for programs running under sgxemu; `sgxemu gdb` loads it (gdb -x). Written for
# sgxemu; it reads what the preload (host/gdb.c) exports:
#   sgxemu_gdb_stat            pointer to the status image (include/sgxemu_stat.h)
#   sgxemu_gdb_enclave_loaded  (path, base): called after EINIT (NULL, 0) and by loaders that
#                              know an enclave's ELF; we break there to load symbols.
# Commands: info enclaves, sgxemu-enclave PATH [BASE].
# Debug enclaves only: a production enclave's symbols are never loaded, and the emulator maps
# it as always (pages appear on first touch; code cannot take breakpoints). gdb can still read
# whatever of it is mapped: it reads process memory (docs/fidelity.md).
import os

import gdb

STAT_MAGIC_OFF = 0
ENCL_OFF = 48           # struct sgxemu_stat.encl[]: base, size, resident, swapped (32 bytes)
ENCL_SIZE = 32
ENCLAVES = 64           # SGXEMU_STAT_ENCLAVES
ENCL2_OFF = 48 + 32 * 64 + 32  # .encl2[]: eaug_pages, flags, reserved (16 bytes)
ENCL2_SIZE = 16
FLAG_INIT = 1
FLAG_DEBUG = 2

# base -> ELF path, for enclaves whose ELF we know; base -> True once symbols are loaded.
known_paths = {}
loaded = {}
pending = []            # --enclave PATHs waiting for a debug enclave without a known ELF


def _u64(buf, off):
    return int.from_bytes(bytes(buf[off:off + 8]), "little")


def _u32(buf, off):
    return int.from_bytes(bytes(buf[off:off + 4]), "little")


def enclaves():
    """[(base, size, flags)] of the live enclaves, from the preload's status image."""
    try:
        inf = gdb.selected_inferior()
        if inf.pid == 0:
            return []
        addr = int(gdb.parse_and_eval("(unsigned long)&sgxemu_gdb_stat"))
        st = _u64(inf.read_memory(addr, 8), 0)
        if st == 0:
            return []
        size = ENCL2_OFF + ENCL2_SIZE * ENCLAVES
        buf = inf.read_memory(st, size)
    except (gdb.error, gdb.MemoryError, RuntimeError):
        return []
    version = _u32(buf, 4)
    out = []
    for i in range(ENCLAVES):
        base = _u64(buf, ENCL_OFF + ENCL_SIZE * i)
        esize = _u64(buf, ENCL_OFF + ENCL_SIZE * i + 8)
        if esize == 0:
            continue
        flags = _u32(buf, ENCL2_OFF + ENCL2_SIZE * i + 8) if version >= 2 else 0
        out.append((base, esize, flags))
    return out


def code_mapped(base, size):
    """Whether an executable mapping lies in [base, base+size) (/proc/PID/maps)."""
    try:
        with open("/proc/%d/maps" % gdb.selected_inferior().pid) as f:
            for line in f:
                rng, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in rng.split("-"))
                if "x" in perms and lo >= base and hi <= base + size:
                    return True
    except (OSError, ValueError):
        pass
    return False


def enclave_at(addr, encls=None):
    for base, size, flags in encls if encls is not None else enclaves():
        if base <= addr < base + size:
            return (base, size, flags)
    return None


def remove_symbols(path):
    try:
        gdb.execute("remove-symbol-file %s" % path, to_string=True)
    except gdb.error:
        pass


def load_symbols(path, base):
    if loaded.get(base) == path:
        return
    if loaded.get(base):
        remove_symbols(loaded[base])
    gdb.execute("add-symbol-file %s -o %#x" % (path, base), to_string=True)
    loaded[base] = path
    print("sgxemu: loaded symbols of debug enclave %s at %#x" % (path, base))


def sync(path=None, base=0):
    encls = enclaves()
    if path:
        known_paths[base] = path
    for b, s, f in encls:
        if not f & FLAG_INIT:
            continue
        if not f & FLAG_DEBUG:
            if (b in known_paths or pending) and b not in loaded:
                print("sgxemu: enclave at %#x is a production enclave: no symbols "
                      "(build it with ATTRIBUTES.DEBUG to debug it)" % b)
                loaded[b] = None
            continue
        # A path given by hand waits for the enclave's code to be mapped: breakpoints
        # inserted into the reservation before would be lost.
        if b not in known_paths and pending and code_mapped(b, s):
            known_paths[b] = pending.pop(0)
        if b in known_paths and loaded.get(b) != known_paths[b]:
            load_symbols(known_paths[b], b)


class LoadedBreakpoint(gdb.Breakpoint):
    def __init__(self):
        super().__init__("sgxemu_gdb_enclave_loaded", internal=True)
        self.silent = True

    def stop(self):
        try:
            rdi = int(gdb.parse_and_eval("$rdi"))
            base = int(gdb.parse_and_eval("$rsi"))
            path = gdb.selected_inferior().read_memory(rdi, 4096).tobytes().split(b"\0")[0] \
                .decode(errors="replace") if rdi else None
            sync(path, base)
        except gdb.error as e:
            print("sgxemu: %s" % e)
        return False


class GenuineFault(gdb.Function):
    """$_sgxemu_genuine_fault(): 1 if the SIGSEGV just received is the program's own, 0 if the
    emulator handles it (an enclave access, enclave code, ENCLU or CPUID it emulates)."""

    def __init__(self):
        super().__init__("_sgxemu_genuine_fault")

    def invoke(self):
        try:
            pc = int(gdb.parse_and_eval("$pc"))
            si = gdb.parse_and_eval("$_siginfo")
            addr = int(si["_sifields"]["_sigfault"]["si_addr"])
            encls = enclaves()
            if enclave_at(pc, encls) or enclave_at(addr, encls):
                return 0
            insn = bytes(gdb.selected_inferior().read_memory(pc, 3))
            if insn == b"\x0f\x01\xd7" or insn[:2] == b"\x0f\xa2":
                return 0
        except (gdb.error, gdb.MemoryError):
            return 1
        return 1


class InfoEnclaves(gdb.Command):
    """List the process's enclaves: base, size, debug or production, and the ELF whose symbols
    are loaded (debug enclaves only)."""

    def __init__(self):
        super().__init__("info enclaves", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        encls = enclaves()
        if not encls:
            print("No enclaves.")
            return
        print("%-18s %-10s %-11s %s" % ("Base", "Size", "Kind", "ELF"))
        for b, s, f in encls:
            kind = "debug" if f & FLAG_DEBUG else "production"
            if not f & FLAG_INIT:
                kind += "*"
            elf = loaded.get(b) or (known_paths[b] + " (no symbols)"
                                    if b in known_paths else "-")
            print("%#-18x %#-10x %-11s %s" % (b, s, kind, elf))
        if any(not f & FLAG_INIT for _, _, f in encls):
            print("* not initialised yet")


class EnclaveCommand(gdb.Command):
    """sgxemu-enclave PATH [BASE]: the ELF a debug enclave was built from. Without BASE, the
    debug enclave without symbols (or, if none is running yet, the next one initialised)."""

    def __init__(self):
        super().__init__("sgxemu-enclave", gdb.COMMAND_FILES, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv or len(argv) > 2:
            raise gdb.GdbError("usage: sgxemu-enclave PATH [BASE]")
        path = os.path.abspath(os.path.expanduser(argv[0]))
        if not os.path.isfile(path):
            raise gdb.GdbError("sgxemu-enclave: no file %s" % path)
        encls = enclaves()
        if len(argv) == 2:
            base = int(gdb.parse_and_eval(argv[1]))
            e = enclave_at(base, encls)
            if e and not e[2] & FLAG_DEBUG:
                raise gdb.GdbError("sgxemu-enclave: the enclave at %#x is a production "
                                   "enclave; only debug enclaves can be debugged" % e[0])
            if e is None:
                print("sgxemu: no enclave at %#x yet; loading the symbols there anyway" % base)
                known_paths[base] = path
                load_symbols(path, base)
                return
            known_paths[e[0]] = path
            sync()
            return
        cands = [b for b, s, f in encls if f & FLAG_DEBUG and f & FLAG_INIT and b not in loaded]
        if cands:
            known_paths[cands[0]] = path
            sync()
        else:
            pending.append(path)
            print("sgxemu: %s will be used for the next debug enclave initialised" % path)


GENUINE = "$_sgxemu_genuine_fault()"


def ensure_segv_catchpoint(*_):
    """The catchpoint that stops at the program's own SIGSEGVs; made again before the next
    prompt if the user deleted it (`delete` deletes everything), or a crash would not stop."""
    if any(b.condition == GENUINE for b in gdb.breakpoints()):
        return
    gdb.execute("catch signal SIGSEGV", to_string=True)
    gdb.execute("condition $bpnum " + GENUINE, to_string=True)


def setup():
    # The emulator's own traps: ENCLU (SIGILL), trapped system calls (SIGSYS), its IPIs.
    gdb.execute("handle SIGILL SIGSYS SIG64 nostop noprint pass", to_string=True)
    # SIGSEGV: the emulator's faults pass silently, the program's own stop (catchpoint).
    gdb.execute("handle SIGSEGV nostop noprint pass", to_string=True)
    ensure_segv_catchpoint()
    gdb.execute("set startup-with-shell off", to_string=True)
    gdb.execute("set breakpoint pending on", to_string=True)
    preload = os.environ.get("SGXEMU_GDB_PRELOAD")
    if preload:
        gdb.execute("set environment LD_PRELOAD %s" % preload, to_string=True)
        gdb.execute("unset environment SGXEMU_GDB_PRELOAD", to_string=True)
    for p in os.environ.get("SGXEMU_GDB_ENCLAVES", "").split(":"):
        if p:
            pending.append(os.path.abspath(p))
    gdb.execute("unset environment SGXEMU_GDB_ENCLAVES", to_string=True)
    gdb.events.new_objfile.connect(on_new_objfile)


hook = []


def on_new_objfile(event):
    # The hook is in the preload; break on it once the preload is loaded (no pending
    # breakpoint, and a fresh one each run).
    if os.path.basename(event.new_objfile.filename) == "libsgxemu.so":
        for b in hook:
            if b.is_valid():
                b.delete()
        hook[:] = [LoadedBreakpoint()]


def on_exit(event):
    known_paths.clear()
    for path in loaded.values():
        if path:
            remove_symbols(path)
    loaded.clear()


GenuineFault()
InfoEnclaves()
EnclaveCommand()
setup()
gdb.events.exited.connect(on_exit)
gdb.events.before_prompt.connect(ensure_segv_catchpoint)

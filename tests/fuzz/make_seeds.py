#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/NAME/ (seed-* files; the other files there
are inputs the fuzzer found, named by their SHA-1).

  tests/fuzz/make_seeds.py [BUILD_DIR]     (default build; its sgxemu signs the SIGSTRUCT seeds
                                           and its test enclave becomes an ELF seed)

driver: fuzz_driver.c's format (a settings byte, then opcode bytes each followed by its
argument bytes), taking the fuzzer straight to states random bytes reach slowly: an entered
enclave, EAUG and EACCEPT, SGX2 type changes, EPC pressure, vEPC with guest ENCLS.
elf: an options byte, then an enclave image: a minimal hand-made one, and the test enclave
with its section headers dropped and its data segment made mostly bss (small file, same
layout rules).
sigstruct: SIGSTRUCTs signed with the test key (mode 0), and HEADER||BODY for the signer (mode 1)."""
import os
import struct
import subprocess
import sys

OPEN, CLOSE, DUP, CREATE, ADD, INIT, PROVISION, RESTRICT, MODIFY, REMOVE, RAW, VEPC_RA, \
    MMAP, MUNMAP, MPROTECT, FAULT, PEEK, ENCLU, AEX, VIRT, BUILD, MADVISE, MREMAP, \
    MMAP_OVER = range(24)
EREPORT, EGETKEY, EENTER, ERESUME, EEXIT, EACCEPT, EMODPE, EACCEPTCOPY = range(8)
SGX2 = 1
EXT = 2  # settings bit 1: MADVISE, MREMAP, MMAP_OVER

# The standard enclave (tests/lib/sgx_fixture.c, nssa 1): TCS 0x0 0x1000, bad TCS 0x2000,
# SSA 0x3000 0x4000, code 0x5000, RW 0x6000, R 0x7000, hole from 0x8000; size 0x10000.
def build(slot, k, what):
    return [BUILD, slot, k, what]

def enter(lp, slot, tcs=0):
    # which, leaf, slot, encl_addr(s, slot, page), <200, n, rcx
    return [ENCLU, lp, EENTER, slot, 0, slot, 0, 0, tcs, 0]

def eexit(lp):
    return [ENCLU, lp, EEXIT, 0]

def fault(k, page, access_sel, lp_sel):
    idx = k * 256 + page
    return [FAULT, idx & 0xFF, idx >> 8, 0, access_sel, lp_sel]

def eaccept(lp, si_sel, si_page, target_page):
    # which, leaf, <230, menu index, rbx (s, page), rcx (s, page), rdx (s, page), no offset
    return [ENCLU, lp, EACCEPT, 0, si_sel, 0, si_page, 0, target_page, 0, 0, 255]

def modify(slot, page, type_sel):
    # slot, pick_len(offset): case 0 -> page index, length < 200 -> one page, type, no junk
    return [MODIFY, slot, 0, page, 0, 0, type_sel, 0, 0, 0]

def remove(slot, page):
    return [REMOVE, slot, 0, page, 0, 0, 0]

def restrict(slot, page, perm):
    return [RESTRICT, slot, 0, page, 0, 0, perm, 0, 0, 0]

SEEDS = {
    "build": [SGX2] + build(0, 1, 0),
    "build-sgx1": [0] + build(0, 1, 0) + build(1, 2, 1),
    "build-uninit": [SGX2] + build(0, 3, 4),
    "enter-exit": [SGX2] + build(0, 1, 0) + enter(0, 0) + eexit(0) + [CLOSE, 0],
    "enter-aex-resume": [SGX2] + build(0, 1, 0) + enter(0, 0) + [AEX, 0, 0, 0, 0, 3] +
        [ENCLU, 0, ERESUME, 0, 0, 0, 0, 0, 0, 0] + eexit(0),
    "two-lps": [SGX2] + build(0, 1, 0) + enter(0, 0, 0) + enter(1, 0, 1) + eexit(1) + eexit(0),
    # EAUG by a write fault in the heap hole, then EACCEPT it (SECINFO stored in the RW page).
    "eaug-eaccept": [SGX2] + build(0, 1, 0x10) + enter(0, 0) + fault(1, 8, 1, 0) +
        eaccept(0, 0, 6, 8) + eexit(0) + [CLOSE, 0],
    # REG -> TRIM, accept, remove; then touch the hole again.
    "trim-remove": [SGX2] + build(0, 1, 0x10) + modify(0, 7, 1) + enter(0, 0) +
        eaccept(0, 2, 6, 7) + eexit(0) + remove(0, 7) + fault(1, 7, 0, 2),
    "restrict": [SGX2] + build(0, 1, 0) + restrict(0, 7, 1) + enter(0, 0) +
        eaccept(0, 1, 6, 7) + eexit(0),
    "to-tcs": [SGX2] + build(0, 1, 0x10) + modify(0, 6, 0) + modify(0, 7, 0),
    # Six enclaves of 12 EPC pages each on a 64-page EPC: reclaim, then fault them back in.
    "pressure": [SGX2] + sum((build(i, i, 0) for i in range(6)), []) +
        sum((fault(i, p, 0, 2) for i in range(6) for p in (5, 6, 7)), []),
    "pressure-close": [SGX2] + sum((build(i, i, 0) for i in range(6)), []) +
        [CLOSE, 0, CLOSE, 2, MUNMAP, 0, 0, 4, 0, 4, 0] + build(0, 6, 0),
    "provision": [SGX2, OPEN, 1, 2, OPEN, 0, 0, PROVISION, 0, 1] + build(2, 1, 0),
    "dup-close": [SGX2] + build(0, 1, 0) + [DUP, 0, 3, CLOSE, 0] + enter(0, 3) + eexit(0) +
        [CLOSE, 3],
    "munmap-remap": [SGX2] + build(0, 1, 0) + [MUNMAP, 0, 0, 4, 0, 1, 0, MMAP, 0, 0, 1, 5, 1, 15] +
        fault(1, 6, 1, 2) + fault(1, 3, 0, 2),
    # vEPC: open, map 16 pages, guest ECREATE into its first page, EADD into the next.
    "vepc": [SGX2, OPEN, 3, 3, MMAP, 3, 0, 3, 1, 3, 15, 0, 0, 0,
             VIRT, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
             VIRT, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             VEPC_RA, 3, 0, CLOSE, 3],
    "vepc-fault": [SGX2, OPEN, 3, 3, MMAP, 3, 0, 3, 1, 3, 15, 0, 0, 0] +
        [FAULT, 0, 3, 0, 1, 2, FAULT, 1, 3, 0, 0, 2, VEPC_RA, 3, 0],
    # The standard enclave in slot 1 (pages 256-271 of the region), entered; madvise
    # DONTNEED (EINVAL, contents kept) and DONTFORK on code/RW/R; then a fault.
    "madvise": [SGX2 | EXT] + build(0, 1, 0) + enter(0, 0) +
        [MADVISE, 5, 1, 0, 4, 2, MADVISE, 5, 1, 0, 7, 2] + fault(1, 6, 0, 0) + eexit(0),
    # Move the RW page (MREMAP_FIXED, same size) out of ELRANGE to page 1024 (a fault there
    # is SIGBUS: pages are found by address), back again (found); grow one (EFAULT).
    "mremap": [SGX2 | EXT] + build(0, 1, 0) +
        [MREMAP, 6, 1, 0, 4, 4, 2, 1, 0] + fault(4, 0, 0, 2) +
        [MREMAP, 0, 4, 6, 1, 4, 2, 1, 0] + fault(1, 6, 0, 2) +
        [MREMAP, 7, 1, 0, 0, 0, 1, 1, 3],
    # A foreign MAP_FIXED mmap over the code pages that fails (nothing changes), then one
    # that succeeds (the enclave mapping goes), with a thread inside.
    "mmap-over": [SGX2 | EXT] + build(0, 1, 0) + enter(0, 0) +
        [MMAP_OVER, 5, 1, 2, 1, MMAP_OVER, 5, 1, 2, 0] + eexit(0),
}

def minimal_elf(tcs_flags=6, code_flags=5, extra=None):
    """ELF64 x86-64 with PT_LOADs: TCS page (RW), code page (RX), optional extras."""
    segs = [(0, 0x1000, 0x1000, tcs_flags), (0x1000, 0x1000, 0x1000, code_flags)]
    segs += extra or []
    phoff = 64
    data_off = 0x200
    body = b""
    phdrs = b""
    for vaddr, filesz, memsz, flags in segs:
        off = data_off + len(body)
        content = bytes((vaddr >> 12) + i & 0xFF for i in range(min(filesz, 64))) + \
            bytes(max(filesz - 64, 0))
        body += content
        phdrs += struct.pack("<IIQQQQQQ", 1, flags, off, vaddr, vaddr, filesz, memsz, 0x1000)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0x1000, phoff, 0, 0, 64, 56, len(segs), 64, 0, 0)
    img = eh + phdrs
    img += bytes(data_off - len(img))
    return img + body

def shrunk_test_enclave(path):
    """The test enclave without section headers, each segment's file part cut to 0x400
    bytes (the rest becomes bss), so that the seed stays small."""
    img = bytearray(open(path, "rb").read())
    phoff, = struct.unpack_from("<Q", img, 32)
    phnum, = struct.unpack_from("<H", img, 56)
    struct.pack_into("<QHHH", img, 40, 0, 64, 0, 0)          # e_shoff, e_ehsize, e_shentsize, e_shnum
    struct.pack_into("<H", img, 62, 0)                       # e_shstrndx
    keep = 0
    for i in range(phnum):
        at = phoff + 56 * i
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = struct.unpack_from("<IIQQQQQQ", img, at)
        if ptype != 1:
            continue
        filesz = min(filesz, 0x400) if i else filesz        # the TCS page stays whole
        struct.pack_into("<Q", img, at + 32, filesz)
        keep = max(keep, off + filesz)
    return bytes(img[:keep])

def elf_seeds(out, build):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "minimal": bytes([0]) + minimal_elf(),
        "minimal-heap-sign": bytes([0x80 | 0x13]) + minimal_elf(),
        "three-segments": bytes([2]) + minimal_elf(extra=[(0x3000, 0x800, 0x3000, 6)]),
        "bad-tcs-flags": bytes([0]) + minimal_elf(tcs_flags=5),
    }
    te = os.path.join(build, "tests", "encl", "test_encl.elf")
    if os.path.exists(te):
        seeds["test-enclave"] = bytes([0]) + shrunk_test_enclave(te)
        seeds["test-enclave-sign"] = bytes([0x84]) + shrunk_test_enclave(te)
    for name, data in seeds.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)

def sigstruct_seeds(out, build, top):
    os.makedirs(out, exist_ok=True)
    sgxemu = os.path.join(build, "sgxemu")
    key = os.path.join(top, "tests", "data", "test_signing_key.pem")
    if not os.path.exists(sgxemu):
        print("make_seeds: %s not built: no SIGSTRUCT seeds" % sgxemu, file=sys.stderr)
        return
    variants = {
        "plain": [],
        "debug-kss": ["--debug", "--attributes", "0x84", "--isvprodid", "7", "--isvsvn", "3",
                      "--isvfamilyid", "11" * 16],
        "vendor-intel": ["--vendor", "0x8086", "--date", "0x20240101", "--misc-mask", "0"],
    }
    tmp = os.path.join(out, ".tmp.sig")
    for name, extra in variants.items():
        subprocess.run([sgxemu, "sign", "--key", key, "--out", tmp, "--mrenclave", "ab" * 32] + extra,
                       check=True, stdout=subprocess.DEVNULL)
        sig = open(tmp, "rb").read()
        os.unlink(tmp)
        with open(os.path.join(out, "seed-verify-" + name), "wb") as f:
            f.write(bytes([0]) + sig)
        with open(os.path.join(out, "seed-sign-" + name), "wb") as f:
            f.write(bytes([1]) + sig[0:128] + sig[900:1028] + bytes([0x10, 0x02, 0x40]))

def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    build = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(top, "build")
    corpus = os.path.join(top, "tests", "fuzz", "corpus")
    out = os.path.join(corpus, "driver")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(bytes(b & 0xFF for b in data))
    elf_seeds(os.path.join(corpus, "elf"), build)
    sigstruct_seeds(os.path.join(corpus, "sigstruct"), build, top)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Known-answer values for tests/unit/test_measure.c and tests/unit/test_sigstruct.c.

Computed without our C code and without OpenSSL's RSA: hashlib for SHA-256, Python integers for
RSA, and a small DER reader for the committed test key. Run from the repository root:

    python3 tests/unit/kat/gen_kat.py

and compare (or paste) the printed values into the tests.
"""
import base64
import hashlib
import struct
import sys

PAGE = 4096
KEY_PATH = "tests/data/test_signing_key.pem"


# --- MRENCLAVE -------------------------------------------------------------------------------

def rec_ecreate(ssa, size):
    r = b"ECREATE\0" + struct.pack("<IQ", ssa, size)
    return r + bytes(64 - len(r))


def rec_eadd(off, flags):
    r = b"EADD\0\0\0\0" + struct.pack("<QQ", off, flags)
    return r + bytes(64 - len(r))


def recs_eextend_page(off, page):
    out = b""
    for c in range(0, PAGE, 256):
        hdr = b"EEXTEND\0" + struct.pack("<Q", off + c)
        out += hdr + bytes(64 - len(hdr)) + page[c:c + 256]
    return out


def tcs_page():
    # Zero except OSSA = 0x3000 (@16), NSSA = 1 (@28), OENTRY = 0x1000 (@32).
    p = bytearray(PAGE)
    struct.pack_into("<Q", p, 16, 0x3000)
    struct.pack_into("<I", p, 28, 1)
    struct.pack_into("<Q", p, 32, 0x1000)
    return bytes(p)


def reg_page():
    return bytes((i * 31 + 7) & 0xFF for i in range(PAGE))


def layout_records():
    """ECREATE(ssa 1, size 0x10000); TCS @0 (0x100) measured; REG @0x1000 (0x205) measured;
    REG @0x2000 (0x203) added but not measured."""
    r = rec_ecreate(1, 0x10000)
    r += rec_eadd(0x0000, 0x100) + recs_eextend_page(0x0000, tcs_page())
    r += rec_eadd(0x1000, 0x205) + recs_eextend_page(0x1000, reg_page())
    r += rec_eadd(0x2000, 0x203)
    return r


# --- RSA key (PKCS#8 wrapping PKCS#1, as `openssl genrsa` writes it) -------------------------

def der_read(buf, pos):
    tag = buf[pos]
    pos += 1
    ln = buf[pos]
    pos += 1
    if ln & 0x80:
        k = ln & 0x7F
        ln = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    return tag, buf[pos:pos + ln], pos + ln


def der_seq_items(body):
    items, pos = [], 0
    while pos < len(body):
        tag, val, pos = der_read(body, pos)
        items.append((tag, val))
    return items


def load_key(path):
    pem = open(path).read()
    b64 = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    der = base64.b64decode(b64)
    tag, body, _ = der_read(der, 0)
    items = der_seq_items(body)
    if items[1][0] == 0x30 and items[2][0] == 0x04:  # PKCS#8: version, algorithm, OCTET STRING
        tag, body, _ = der_read(items[2][1], 0)
        items = der_seq_items(body)
    ints = [int.from_bytes(v, "big") for t, v in items]
    n, e, d = ints[1], ints[2], ints[3]
    return n, e, d


# --- SIGSTRUCT -------------------------------------------------------------------------------

HEADER1 = bytes.fromhex("06000000E10000000000010000000000")
HEADER2 = bytes.fromhex("01010000600000006000000001000000")
SHA256_DIGESTINFO = bytes.fromhex("3031300d060960864801650304020105000420")


def le384(x):
    return x.to_bytes(384, "little")


def sigstruct(n, e, d, vendor, mrenclave):
    header = HEADER1 + struct.pack("<II", vendor, 0x20240131) + HEADER2
    header += struct.pack("<I", 0) + bytes(84)
    body = struct.pack("<II", 0, 0) + bytes(20)
    body += struct.pack("<QQQQ", 0x4, 0x3, 0x0, 0x0)  # ATTRIBUTES, ATTRIBUTEMASK
    body += mrenclave + bytes(32) + struct.pack("<HH", 0x1234, 0x0005)
    assert len(header) == 128 and len(body) == 128
    digest = hashlib.sha256(header + body).digest()
    t = SHA256_DIGESTINFO + digest
    em = b"\x00\x01" + b"\xff" * (384 - 3 - len(t)) + b"\x00" + t
    s = pow(int.from_bytes(em, "big"), d, n)
    assert pow(s, e, n) == int.from_bytes(em, "big")
    q1 = s * s // n
    q2 = s * (s * s % n) // n
    assert q2 == (s ** 3 - q1 * s * n) // n
    out = header + le384(n) + struct.pack("<I", e) + le384(s) + body + bytes(12)
    out += le384(q1) + le384(q2)
    assert len(out) == 1808
    return out


def c_hex(name, b):
    print(f"/* {name} */ \"{b.hex()}\"")


def main():
    c_hex("MRENCLAVE after ECREATE(1, 0x10000) only",
          hashlib.sha256(rec_ecreate(1, 0x10000)).digest())
    c_hex("MRENCLAVE after ECREATE + EADD(0, 0x100)",
          hashlib.sha256(rec_ecreate(1, 0x10000) + rec_eadd(0, 0x100)).digest())
    mrenclave = hashlib.sha256(layout_records()).digest()
    c_hex("MRENCLAVE of the fixed layout", mrenclave)

    try:
        n, e, d = load_key(KEY_PATH)
    except OSError as err:
        sys.exit(f"{KEY_PATH}: {err} (run from the repository root)")
    assert e == 3 and n.bit_length() == 3072
    c_hex("MRSIGNER of the test key (SHA-256 of the LE modulus)",
          hashlib.sha256(le384(n)).digest())
    for vendor in (0, 0x8086):
        ss = sigstruct(n, e, d, vendor, mrenclave)
        c_hex(f"SHA-256 of the whole SIGSTRUCT, vendor {vendor:#x}", hashlib.sha256(ss).digest())
        c_hex(f"first 32 LE signature bytes, vendor {vendor:#x}", ss[516:548])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Known-answer values for tests/unit/test_keys.c: our key derivation (docs/keys.md) and the
EREPORT MAC, computed from the SDM's EGETKEY/EREPORT definitions with hashlib and the
`cryptography` package's AES-CMAC, without our C code or OpenSSL's C API. Run from the
repository root:

    python3 tests/unit/kat/gen_keys_kat.py

and compare (or paste) the printed values into the test. The inputs here and in the test's
kat_platform()/kat_secs_*() must stay the same.
"""
import hashlib
import struct

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

SEAL, REPORT, EINITTOKEN, PROVISION, PROVISION_SEAL = 4, 3, 0, 1, 2
P_MRENCLAVE, P_MRSIGNER, P_NOISVPRODID, P_CONFIGID, P_FAMILY, P_EXTPROD = 1, 2, 4, 8, 0x10, 0x20

PKCS1_PADDING = bytes([0x00, 0x01]) + b"\xff" * 330 + bytes([0x00]) + bytes.fromhex(
    "3031300d060960864801650304020105000420")
assert len(PKCS1_PADDING) == 352


def aes_cmac(key, data):
    c = cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def from_root(label, root, n):
    return hashlib.sha256(label + root).digest()[:n]


class Platform:
    def __init__(self, root, cpusvn, owner_epoch):
        self.root = root
        self.cpusvn = cpusvn
        self.owner_epoch = owner_epoch
        self.kdf_key = from_root(b"sgxemu kdf key v1", root, 16)
        self.seal_fuses = from_root(b"sgxemu seal fuses v1", root, 16)
        self.report_keyid = from_root(b"sgxemu report keyid v1", root, 32)

    def derive(self, d):
        return aes_cmac(self.kdf_key, serialize(d))


def attrs(flags, xfrm):
    return struct.pack("<QQ", flags, xfrm)


def serialize(d):
    """struct keydep, version 1 (cpu/keys.h)."""
    z = lambda n: bytes(n)
    out = b"SGXEMU-KDF-v1".ljust(16, b"\0")
    out += struct.pack("<HHHHHBBII", d.get("keyname", 0), d.get("keypolicy", 0),
                       d.get("isvprodid", 0), d.get("isvsvn", 0), d.get("configsvn", 0), 0, 0,
                       d.get("miscselect", 0), d.get("miscmask", 0))
    out += d.get("owner_epoch", z(16))
    out += d.get("attributes", z(16))
    out += d.get("attribute_mask", z(16))
    out += d.get("cpusvn", z(16))
    out += d.get("seal_fuses", z(16))
    out += d.get("familyid", z(16))
    out += d.get("extprodid", z(16))
    out += d.get("mrenclave", z(32))
    out += d.get("mrsigner", z(32))
    out += d.get("keyid", z(32))
    out += d.get("configid", z(64))
    out += d.get("padding", z(352))
    assert len(out) == 660
    return out


def egetkey(p, secs, req):
    """EGETKEY's KEYDEPENDENCIES (isa.md §9.1) for a request that passes every check."""
    name, pol = req["keyname"], req.get("keypolicy", 0)
    mflags, mxfrm = req["attribute_mask"]
    tmp_attr = attrs((mflags | 3) & secs["flags"], mxfrm & secs["xfrm"])
    tmp_misc = req["miscmask"] & secs["miscselect"]
    notmask = ~req["miscmask"] & 0xFFFFFFFF
    d = {"keyname": name}
    if name == REPORT:
        d.update(owner_epoch=p.owner_epoch, attributes=attrs(secs["flags"], secs["xfrm"]),
                 mrenclave=secs["mrenclave"], keyid=req["keyid"], seal_fuses=p.seal_fuses,
                 cpusvn=p.cpusvn, padding=PKCS1_PADDING, miscselect=secs["miscselect"],
                 configid=secs["configid"], configsvn=secs["configsvn"])
        return p.derive(d)
    d.update(isvsvn=req["isvsvn"], attributes=tmp_attr, cpusvn=req["cpusvn"],
             padding=PKCS1_PADDING, miscselect=tmp_misc)
    if name in (SEAL, PROVISION_SEAL):
        if name == SEAL and pol & P_MRENCLAVE:
            d["mrenclave"] = secs["mrenclave"]
        if name == PROVISION_SEAL or pol & P_MRSIGNER:
            d["mrsigner"] = secs["mrsigner"]
        if not pol & P_NOISVPRODID:
            d["isvprodid"] = secs["isvprodid"]
        if pol & P_FAMILY:
            d["familyid"] = secs["familyid"]
        if pol & P_EXTPROD:
            d["extprodid"] = secs["extprodid"]
        if pol & P_CONFIGID:
            d["configid"] = secs["configid"]
            d["configsvn"] = req.get("configsvn", 0)
        d.update(keypolicy=pol, attribute_mask=attrs(mflags, mxfrm), miscmask=notmask,
                 seal_fuses=p.seal_fuses)
        if name == SEAL:
            d.update(owner_epoch=p.owner_epoch, keyid=req["keyid"])
    elif name == PROVISION:
        d.update(isvprodid=secs["isvprodid"], mrsigner=secs["mrsigner"],
                 attribute_mask=attrs(mflags, mxfrm), miscmask=notmask)
    elif name == EINITTOKEN:
        d.update(isvprodid=secs["isvprodid"], mrsigner=secs["mrsigner"],
                 owner_epoch=p.owner_epoch, keyid=req["keyid"], seal_fuses=p.seal_fuses)
    return p.derive(d)


def ereport(p, secs, ti, reportdata):
    body = bytearray(384)
    body[0:16] = p.cpusvn
    struct.pack_into("<I", body, 16, secs["miscselect"])
    body[32:48] = secs["extprodid"]
    body[48:64] = attrs(secs["flags"], secs["xfrm"])
    body[64:96] = secs["mrenclave"]
    body[128:160] = secs["mrsigner"]
    body[192:256] = secs["configid"]
    struct.pack_into("<HHH", body, 256, secs["isvprodid"], secs["isvsvn"], secs["configsvn"])
    body[304:320] = secs["familyid"]
    body[320:384] = reportdata
    key = p.derive({"keyname": REPORT, "owner_epoch": p.owner_epoch,
                    "attributes": attrs(ti["flags"], ti["xfrm"]), "mrenclave": ti["mrenclave"],
                    "keyid": p.report_keyid, "seal_fuses": p.seal_fuses, "cpusvn": p.cpusvn,
                    "padding": PKCS1_PADDING, "miscselect": ti["miscselect"],
                    "configid": ti["configid"], "configsvn": ti["configsvn"]})
    return key, aes_cmac(key, bytes(body))


# --- the inputs (same as kat_platform(), kat_secs_plain(), kat_secs_kss() in the test) ------

P = Platform(bytes(range(32)), bytes.fromhex("0f0f0200ff8000000000000000000000"),
             bytes([0xA5] * 16))

S1 = dict(flags=0x37, xfrm=3, miscselect=1, mrenclave=bytes([0x11] * 32),
          mrsigner=bytes([0x22] * 32), isvprodid=0x1234, isvsvn=7, configsvn=0,
          configid=bytes(64), familyid=bytes(16), extprodid=bytes(16))
S2 = dict(flags=0x85, xfrm=3, miscselect=0, mrenclave=bytes([0x44] * 32),
          mrsigner=bytes([0x55] * 32), isvprodid=9, isvsvn=3, configsvn=2,
          configid=bytes(range(64)), familyid=bytes([0x66] * 16), extprodid=bytes([0x77] * 16))

REQ = dict(attribute_mask=(0xFF0000000000000B, 0), miscmask=0xF0000000,
           keyid=bytes([0x33] * 32), cpusvn=bytes.fromhex("0f0f0100ff0000000000000000000000"),
           isvsvn=5)


def req(**kw):
    r = dict(REQ)
    r.update(kw)
    return r


vectors = [
    ("KAT_SEAL_MRSIGNER", egetkey(P, S1, req(keyname=SEAL, keypolicy=P_MRSIGNER))),
    ("KAT_SEAL_MRENCLAVE", egetkey(P, S1, req(keyname=SEAL, keypolicy=P_MRENCLAVE))),
    ("KAT_REPORT", egetkey(P, S1, req(keyname=REPORT))),
    ("KAT_PROVISION", egetkey(P, S1, req(keyname=PROVISION))),
    ("KAT_PROVISION_SEAL", egetkey(P, S1, req(keyname=PROVISION_SEAL, keypolicy=P_MRSIGNER))),
    ("KAT_EINITTOKEN", egetkey(P, S1, req(keyname=EINITTOKEN))),
    ("KAT_SEAL_KSS", egetkey(P, S2, req(keyname=SEAL, keypolicy=0x3D, configsvn=1, isvsvn=3,
                                        keyid=bytes(32)))),
]
TI = dict(mrenclave=S2["mrenclave"], flags=S2["flags"], xfrm=S2["xfrm"],
          miscselect=S2["miscselect"], configid=S2["configid"], configsvn=S2["configsvn"])
rkey, mac = ereport(P, S1, TI, bytes(range(64)))
# The target, S2, gets the same key from EGETKEY(REPORT) with the report's KEYID.
assert rkey == egetkey(P, S2, req(keyname=REPORT, keyid=P.report_keyid))
vectors += [("KAT_EREPORT_MAC", mac), ("KAT_REPORT_KEYID", P.report_keyid)]

for name, v in vectors:
    print('#define %-20s "%s"' % (name, v.hex()))

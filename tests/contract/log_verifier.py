#!/usr/bin/env python3
"""Independent verifier of the audit transparency log served over HTTP.

Written from the public standards only, without the service's code:

* RFC 8785  - JSON Canonicalization Scheme (JCS): the leaf input of an event.
* RFC 9162  - Certificate Transparency v2, section 2.1: Merkle tree hashing,
              inclusion proofs (2.1.3.2) and consistency proofs (2.1.4.2).
* C2SP signed-note     (https://c2sp.org/signed-note): Ed25519 signed notes
                       and verifier keys.
* C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): checkpoint body.

Usage:
    log_verifier.py --self-test
    log_verifier.py --url URL --vkey VKEY [--token T] [--old-checkpoint FILE]
                    [--sample N] [--save FILE]

Normal mode prints one JSON line on stdout:
    {"ok": bool, "tree_size": n, "root": b64, "consistent_from": m|null,
     "inclusions_verified": k, "errors": [...]}
and exits 0 iff ok.

Dependencies: Python >= 3.11 standard library and `cryptography` (Ed25519).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class VerifyError(Exception):
    """A verification failure (the data is wrong, not the verifier)."""


# ---------------------------------------------------------------------------
# RFC 8785: JSON Canonicalization Scheme
# ---------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not valid JSON (RFC 8785 / I-JSON)")


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate member name {k!r} (I-JSON, RFC 7493 2.3)")
        obj[k] = v
    return obj


def jcs_parse(text: str | bytes):
    """Parse JSON the way an ECMAScript JSON.parse would for JCS purposes.

    Every number becomes an IEEE-754 double (ints too: precision beyond 2^53 is
    lost exactly as in JavaScript), duplicate names and NaN/Infinity are
    rejected.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(
        text,
        parse_int=float,
        parse_float=float,
        parse_constant=_reject_constant,
        object_pairs_hook=_no_duplicates,
    )


def es_number_to_string(x: float) -> str:
    """ECMAScript Number.prototype.toString(10) of a double (ECMA-262 Number::toString)."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number")
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        raise ValueError("NaN and Infinity cannot be serialized (RFC 8785 3.2.2.3)")
    if x == 0.0:
        return "0"  # also -0
    if x < 0:
        return "-" + es_number_to_string(-x)
    # repr() gives the shortest digit string that round-trips (correctly
    # rounded, nearest to x) - the "k as small as possible" digits of ES.
    r = repr(x)
    if "e" in r:
        mant, exp_s = r.split("e")
        exp = int(exp_s)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    e10 = exp - len(fp)  # value == int(digits) * 10**e10
    stripped = digits.rstrip("0")
    e10 += len(digits) - len(stripped)
    s = stripped
    k = len(s)
    n = e10 + k  # value == 0.s * 10**n, i.e. s * 10**(n-k)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return f"{s}e{sign}{abs(e)}"
    return f"{s[0]}.{s[1:]}e{sign}{abs(e)}"


_ESCAPES = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
}


def jcs_string(s: str) -> str:
    out = ['"']
    for ch in s:
        c = ord(ch)
        if 0xD800 <= c <= 0xDFFF:
            raise ValueError("lone surrogate in string (RFC 8785 3.2.2.2)")
        esc = _ESCAPES.get(c)
        if esc is not None:
            out.append(esc)
        elif c < 0x20:
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare lexicographically exactly like the
    # sequence of unsigned 16-bit code units.
    return name.encode("utf-16-be", errors="surrogatepass")


def jcs_serialize(v) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return es_number_to_string(float(v))
    if isinstance(v, str):
        return jcs_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(jcs_serialize(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(jcs_string(k) + ":" + jcs_serialize(x) for k, x in items) + "}"
    raise TypeError(f"cannot canonicalize {type(v).__name__}")


def jcs_bytes(v) -> bytes:
    return jcs_serialize(v).encode("utf-8")


# ---------------------------------------------------------------------------
# RFC 9162 section 2.1: Merkle tree hashing and proof verification
# ---------------------------------------------------------------------------


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def leaf_hash(leaf_input: bytes) -> bytes:
    return sha256(b"\x00" + leaf_input)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def mth(leaves: list[bytes]) -> bytes:
    """Reference Merkle Tree Hash (RFC 9162 2.1.1) over leaf inputs."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = _split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def ref_inclusion_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """Reference PATH(m, D[n]) (RFC 9162 2.1.3.1) - used only by the self-test."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return ref_inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return ref_inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def ref_consistency_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """Reference PROOF(m, D[n]) (RFC 9162 2.1.4.1) - used only by the self-test."""

    def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [mth(d)]
        k = _split(n)
        if m <= k:
            return subproof(m, d[:k], b) + [mth(d[k:])]
        return subproof(m - k, d[k:], False) + [mth(d[:k])]

    return subproof(m, leaves, True)


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes,
                     path: list[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2. Raises VerifyError on failure."""
    if leaf_index < 0 or tree_size < 0:
        raise VerifyError("negative index or size")
    if leaf_index >= tree_size:
        raise VerifyError(f"leaf_index {leaf_index} >= tree_size {tree_size}")
    fn = leaf_index
    sn = tree_size - 1
    r = leaf
    for p in path:
        if len(p) != 32:
            raise VerifyError("inclusion path element is not 32 bytes")
        if sn == 0:
            raise VerifyError("inclusion path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerifyError("inclusion path too short")
    if r != root:
        raise VerifyError("inclusion path does not lead to the root hash")


def _is_pow2(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def verify_consistency(first: int, second: int, first_hash: bytes,
                       second_hash: bytes, path: list[bytes]) -> None:
    """RFC 9162 2.1.4.2 (0 < first < second). Raises VerifyError on failure."""
    if not 0 < first < second:
        raise VerifyError(f"consistency proof needs 0 < first < second (got {first}, {second})")
    if not path:
        raise VerifyError("empty consistency path")
    for c in path:
        if len(c) != 32:
            raise VerifyError("consistency path element is not 32 bytes")
    if _is_pow2(first):
        path = [first_hash] + list(path)
    fn = first - 1
    sn = second - 1
    if fn & 1:
        while fn & 1:
            fn >>= 1
            sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerifyError("consistency path too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerifyError("consistency path too short")
    if fr != first_hash:
        raise VerifyError("consistency proof does not reproduce the old root")
    if sr != second_hash:
        raise VerifyError("consistency proof does not reproduce the new root")


# ---------------------------------------------------------------------------
# C2SP signed-note and tlog-checkpoint
# ---------------------------------------------------------------------------

ALG_ED25519 = 0x01


def key_hash(name: str, alg_and_key: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + alg_and_key)[:4]


def _valid_key_name(name: str) -> bool:
    return bool(name) and not any(ch.isspace() or ch == "+" for ch in name) and all(
        ord(ch) >= 0x20 and ord(ch) != 0x7F for ch in name)


@dataclass
class Verifier:
    name: str
    hash: bytes
    public_key: Ed25519PublicKey
    text: str

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self.public_key.verify(sig, msg)
            return True
        except InvalidSignature:
            return False


def parse_vkey(vkey: str) -> Verifier:
    vkey = vkey.strip()
    parts = vkey.split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3:
        raise VerifyError(f"malformed verifier key {vkey!r}: want name+hash+key")
    name, hash_hex, key_b64 = parts
    if not _valid_key_name(name):
        raise VerifyError(f"invalid key name {name!r}")
    if len(hash_hex) != 8 or any(c not in "0123456789abcdef" for c in hash_hex):
        raise VerifyError(f"key hash {hash_hex!r} is not 8 lowercase hex digits")
    try:
        raw = base64.b64decode(key_b64, validate=True)
    except binascii.Error as e:
        raise VerifyError(f"verifier key is not base64: {e}") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise VerifyError("verifier key is not 0x01 || 32-byte Ed25519 key")
    h = key_hash(name, raw)
    if h.hex() != hash_hex:
        raise VerifyError(f"verifier key hash {hash_hex} != computed {h.hex()}")
    return Verifier(name, h, Ed25519PublicKey.from_public_bytes(raw[1:]), vkey)


EM_DASH_PREFIX = "\u2014 "


@dataclass
class Note:
    text: bytes  # signed body, ends with "\n"
    signatures: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # name, hash, sig


def parse_note(msg: bytes) -> Note:
    try:
        s = msg.decode("utf-8")
    except UnicodeDecodeError:
        raise VerifyError("note is not valid UTF-8") from None
    for ch in s:
        if ch != "\n" and (ord(ch) < 0x20 or ord(ch) == 0x7F):
            raise VerifyError(f"note contains control character U+{ord(ch):04X}")
    if not msg.endswith(b"\n"):
        raise VerifyError("note does not end with a newline")
    i = msg.rfind(b"\n\n")
    if i < 0:
        raise VerifyError("note has no blank line before the signatures")
    text = msg[: i + 1]
    sig_block = msg[i + 2:].decode("utf-8")
    sigs = []
    lines = sig_block.split("\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        if not line.startswith(EM_DASH_PREFIX):
            raise VerifyError(f"malformed signature line {line!r}")
        rest = line[len(EM_DASH_PREFIX):]
        name, sep, b64 = rest.partition(" ")
        if not sep or not _valid_key_name(name) or " " in b64:
            raise VerifyError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise VerifyError(f"signature is not base64: {line!r}") from None
        if len(raw) < 5:
            raise VerifyError(f"signature too short: {line!r}")
        sigs.append((name, raw[:4], raw[4:]))
    if not sigs:
        raise VerifyError("note has no signatures")
    return Note(text, sigs)


def verify_note(msg: bytes, verifier: Verifier) -> bytes:
    """Return the note body if signed by `verifier`, else raise VerifyError."""
    note = parse_note(msg)
    matched = False
    for name, h, sig in note.signatures:
        if name != verifier.name or h != verifier.hash:
            continue  # a signature by some other key: ignored
        matched = True
        if len(sig) != 64:
            raise VerifyError("Ed25519 signature is not 64 bytes")
        if not verifier.verify(note.text, sig):
            raise VerifyError(f"invalid signature by {verifier.name}")
        return note.text
    if not matched:
        seen = ", ".join(f"{n}+{h.hex()}" for n, h, _ in note.signatures)
        raise VerifyError(f"no signature by {verifier.name}+{verifier.hash.hex()} (found: {seen})")
    raise VerifyError("unreachable")


@dataclass
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: list[str]
    raw: bytes


def parse_checkpoint_body(body: bytes) -> tuple[str, int, bytes, list[str]]:
    lines = body.decode("utf-8").split("\n")
    if lines[-1] != "" or len(lines) < 4:
        raise VerifyError("checkpoint body needs origin, size, root lines ending in newline")
    lines = lines[:-1]
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not origin:
        raise VerifyError("empty origin")
    if not size_s.isascii() or not size_s.isdigit() or (len(size_s) > 1 and size_s[0] == "0"):
        raise VerifyError(f"tree size {size_s!r} is not a canonical decimal")
    size = int(size_s)
    if size >= 1 << 64:
        raise VerifyError("tree size exceeds 64 bits")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error:
        raise VerifyError(f"root hash {root_b64!r} is not base64") from None
    if len(root) != 32:
        raise VerifyError(f"root hash is {len(root)} bytes, want 32")
    ext = lines[3:]
    for e in ext:
        if not e:
            raise VerifyError("empty extension line in checkpoint body")
    return origin, size, root, ext


def verify_checkpoint(msg: bytes, verifier: Verifier) -> Checkpoint:
    body = verify_note(msg, verifier)
    origin, size, root, ext = parse_checkpoint_body(body)
    if origin != verifier.name:
        raise VerifyError(f"origin {origin!r} != key name {verifier.name!r}")
    return Checkpoint(origin, size, root, ext, msg)


# ---------------------------------------------------------------------------
# Self-test against published vectors
# ---------------------------------------------------------------------------

RFC8785_322_INPUT = r'''{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}'''
RFC8785_322_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

RFC8785_323_INPUT = r'''{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}'''
RFC8785_323_ORDER = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]

# RFC 8785 Appendix B (IEEE-754 bit pattern -> JCS text; None = must fail)
RFC8785_APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("7fffffffffffffff", None),
    ("7ff0000000000000", None),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]

# Certificate Transparency Merkle tree test vectors (RFC 6962 / 9162 hashing).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243",
             "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
CT_ROOT_6 = "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"
CT_INCLUSION_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CT_CONSISTENCY_6_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]

# golang.org/x/mod/sumdb/note example.
GO_NOTE_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE_MSG = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def self_test() -> int:
    failures: list[str] = []
    passed = 0

    def check(name: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{name}: {detail}" if detail else name)

    def raises(fn) -> bool:
        try:
            fn()
        except (VerifyError, ValueError, TypeError):
            return True
        return False

    # --- RFC 8785 ---
    got = jcs_serialize(jcs_parse(RFC8785_322_INPUT))
    check("RFC 8785 3.2.2 example", got == RFC8785_322_OUTPUT, f"got {got}")
    got_order = list(jcs_parse(jcs_serialize(jcs_parse(RFC8785_323_INPUT))).keys())
    check("RFC 8785 3.2.3 sorting", got_order == RFC8785_323_ORDER, f"got {got_order!r}")
    for hx, want in RFC8785_APPENDIX_B:
        x = struct.unpack(">d", bytes.fromhex(hx))[0]
        if want is None:
            check(f"RFC 8785 B {hx} rejected", raises(lambda: es_number_to_string(x)))
        else:
            try:
                got = es_number_to_string(x)
            except Exception as e:  # noqa: BLE001
                got = f"<{e}>"
            check(f"RFC 8785 B {hx}", got == want, f"got {got}, want {want}")
    # A few more ES Number::toString boundaries and parser behaviour.
    for text, want in [("1e21", "1e+21"), ("1e20", "100000000000000000000"),
                       ("1e-6", "0.000001"), ("1e-7", "1e-7"), ("123.0", "123"),
                       ("-0.0", "0"), ("12345678901234567890", "12345678901234567000"),
                       ("0.1", "0.1"), ("100", "100"), ("1.5e300", "1.5e+300")]:
        got = jcs_serialize(jcs_parse(text))
        check(f"ES number {text}", got == want, f"got {got}, want {want}")
    check("JCS string controls",
          jcs_serialize("\x00\x1f\x7f\u2028\"\\/") == '"\\u0000\\u001f\x7f\u2028\\"\\\\/"')
    check("JCS rejects lone surrogate", raises(lambda: jcs_serialize(jcs_parse('"\\ud800"'))))
    check("JCS rejects duplicate names", raises(lambda: jcs_parse('{"a":1,"a":2}')))
    check("JCS rejects NaN", raises(lambda: jcs_parse('[NaN]')))

    # --- RFC 9162 ---
    leaves = [bytes.fromhex(h) for h in CT_LEAVES]
    root8 = mth(leaves)
    check("RFC 9162 root(8)", root8.hex() == CT_ROOT_8, root8.hex())
    root6 = mth(leaves[:6])
    check("RFC 9162 root(6)", root6.hex() == CT_ROOT_6, root6.hex())
    check("RFC 9162 empty tree",
          mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    inc = [bytes.fromhex(h) for h in CT_INCLUSION_0_8]
    check("reference PATH(0, D[8]) == vector", ref_inclusion_path(0, leaves) == inc)
    check("inclusion 0 in 8 (vector)",
          not raises(lambda: verify_inclusion(0, 8, leaf_hash(leaves[0]), inc, root8)))
    check("inclusion 0 in 8 wrong leaf rejected",
          raises(lambda: verify_inclusion(1, 8, leaf_hash(leaves[0]), inc, root8)))
    check("inclusion 0 in 8 short path rejected",
          raises(lambda: verify_inclusion(0, 8, leaf_hash(leaves[0]), inc[:2], root8)))
    check("inclusion 0 in 8 long path rejected",
          raises(lambda: verify_inclusion(0, 8, leaf_hash(leaves[0]), inc + [inc[0]], root8)))
    check("inclusion index >= size rejected",
          raises(lambda: verify_inclusion(8, 8, leaf_hash(leaves[0]), inc, root8)))
    cons = [bytes.fromhex(h) for h in CT_CONSISTENCY_6_8]
    check("reference PROOF(6, D[8]) == vector", ref_consistency_path(6, leaves) == cons)
    check("consistency 6 -> 8 (vector)",
          not raises(lambda: verify_consistency(6, 8, root6, root8, cons)))
    check("consistency 6 -> 8 wrong old root rejected",
          raises(lambda: verify_consistency(6, 8, root8, root8, cons)))
    check("consistency 6 -> 8 truncated rejected",
          raises(lambda: verify_consistency(6, 8, root6, root8, cons[:2])))
    check("consistency empty path rejected",
          raises(lambda: verify_consistency(6, 8, root6, root8, [])))
    # Exhaustive cross-check of the RFC verifiers against the RFC's recursive
    # definitions, on trees of up to 8 CT leaves plus extra leaves.
    big = leaves + [bytes([i]) * (i % 5) for i in range(8, 21)]
    for n in range(1, len(big) + 1):
        d = big[:n]
        r = mth(d)
        for m in range(n):
            p = ref_inclusion_path(m, d)
            check(f"inclusion {m} in {n}",
                  not raises(lambda: verify_inclusion(m, n, leaf_hash(d[m]), p, r)))
            if p:
                bad = list(p)
                bad[-1] = sha256(bad[-1])
                check(f"inclusion {m} in {n} tampered rejected",
                      raises(lambda: verify_inclusion(m, n, leaf_hash(d[m]), bad, r)))
        for m in range(1, n):
            p = ref_consistency_path(m, d)
            rm = mth(d[:m])
            check(f"consistency {m} -> {n}",
                  not raises(lambda: verify_consistency(m, n, rm, r, p)))
            check(f"consistency {m} -> {n} wrong new root rejected",
                  raises(lambda: verify_consistency(m, n, rm, sha256(r), p)))

    # --- C2SP signed-note ---
    try:
        v = parse_vkey(GO_NOTE_VKEY)
        body = verify_note(GO_NOTE_MSG.encode(), v)
        check("signed-note Go vector", body == (
            b"If you think cryptography is the answer to your problem,\n"
            b"then you don't know what your problem is.\n"))
    except VerifyError as e:
        check("signed-note Go vector", False, str(e))
        v = None
    if v is not None:
        tampered = GO_NOTE_MSG.replace("cryptography", "Cryptography").encode()
        check("signed-note tampered text rejected", raises(lambda: verify_note(tampered, v)))
        other = GO_NOTE_MSG.replace("PeterNeumann x", "PeterNeuman x").encode()
        check("signed-note other key name rejected", raises(lambda: verify_note(other, v)))
    check("vkey whose base64 contains '+'",
          not raises(lambda: parse_vkey(
              "datastorage.localhost/audit-log+6807ce43+ATPdKRbLqKrE1jrlOGG9C3xQX2UxA12aM6Gp6Yp3s+0U")))
    check("vkey with wrong hash rejected",
          raises(lambda: parse_vkey(GO_NOTE_VKEY.replace("c74f20a3", "c74f20a4"))))

    summary = {"ok": not failures, "passed": passed, "failed": len(failures),
               "failures": failures}
    print(json.dumps(summary))
    return 0 if not failures else 1


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class Client:
    def __init__(self, base: str, token: str | None, timeout: float = 30.0):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str, params: dict | None = None) -> tuple[bytes, str]:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, method="GET")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body = e.read()[:500].decode("utf-8", "replace")
            raise VerifyError(f"GET {path} -> HTTP {e.code}: {body}") from None
        except urllib.error.URLError as e:
            raise VerifyError(f"GET {path} failed: {e.reason}") from None

    def get_json(self, path: str, params: dict | None = None):
        body, _ = self.get(path, params)
        try:
            return jcs_parse(body)
        except ValueError as e:
            raise VerifyError(f"GET {path}: invalid JSON: {e}") from None


def _b64_hash(s, what: str) -> bytes:
    if not isinstance(s, str):
        raise VerifyError(f"{what} is not a base64 string")
    try:
        h = base64.b64decode(s, validate=True)
    except binascii.Error:
        raise VerifyError(f"{what} {s!r} is not base64") from None
    if len(h) != 32:
        raise VerifyError(f"{what} is {len(h)} bytes, want 32")
    return h


def _as_int(x, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or x != int(x) or x < 0:
        raise VerifyError(f"{what} {x!r} is not a non-negative integer")
    return int(x)


# Fields that describe an event's later state in the store, not the event,
# and are therefore not part of the leaf input (DESIGN.md section 10).
EXCLUDED_MEMBERS = ("log_index", "legal_hold")


def event_leaf_input(event: dict) -> bytes:
    return jcs_bytes({k: v for k, v in event.items() if k not in EXCLUDED_MEMBERS})


# ---------------------------------------------------------------------------
# Normal mode
# ---------------------------------------------------------------------------


def run(args) -> int:
    errors: list[str] = []
    result = {"ok": False, "tree_size": None, "root": None, "consistent_from": None,
              "inclusions_verified": 0, "errors": errors}

    def finish() -> int:
        result["ok"] = not errors
        print(json.dumps(result, ensure_ascii=False))
        return 0 if result["ok"] else 1

    try:
        verifier = parse_vkey(args.vkey)
    except VerifyError as e:
        errors.append(f"command-line vkey: {e}")
        return finish()

    client = Client(args.url, args.token)

    # Served verifier key must equal the one we were given out of band.
    try:
        served, _ = client.get("/api/v1/audit/log/vkey")
        served_s = served.decode("utf-8").strip()
        if served_s != verifier.text:
            errors.append(f"served vkey {served_s!r} != trusted vkey {verifier.text!r}")
    except (VerifyError, UnicodeDecodeError) as e:
        errors.append(f"vkey: {e}")

    # Current checkpoint.
    try:
        note, ctype = client.get("/api/v1/audit/log/checkpoint")
        if not ctype.lower().startswith("text/plain"):
            errors.append(f"checkpoint Content-Type is {ctype!r}, want text/plain")
        cp = verify_checkpoint(note, verifier)
    except VerifyError as e:
        errors.append(f"checkpoint: {e}")
        return finish()
    result["tree_size"] = cp.size
    result["root"] = base64.b64encode(cp.root).decode()
    if args.save:
        with open(args.save, "wb") as f:
            f.write(cp.raw)

    # Old checkpoint: consistency.
    if args.old_checkpoint:
        try:
            with open(args.old_checkpoint, "rb") as f:
                old = verify_checkpoint(f.read(), verifier)
            if old.origin != cp.origin:
                raise VerifyError(f"old origin {old.origin!r} != current {cp.origin!r}")
            if old.size > cp.size:
                raise VerifyError(
                    f"log rolled back: old checkpoint size {old.size} > current {cp.size}")
            if old.size == cp.size:
                if old.root != cp.root:
                    raise VerifyError(
                        f"same tree size {cp.size} but different roots (fork): old "
                        f"{base64.b64encode(old.root).decode()} current {result['root']}")
            elif old.size > 0:
                proof = client.get_json("/api/v1/audit/log/proof/consistency",
                                        {"first": old.size, "second": cp.size})
                if _as_int(proof.get("first"), "first") != old.size or \
                        _as_int(proof.get("second"), "second") != cp.size:
                    raise VerifyError(f"consistency proof is for {proof.get('first')}"
                                      f"->{proof.get('second')}, asked {old.size}->{cp.size}")
                path_in = proof.get("consistency_path")
                if not isinstance(path_in, list):
                    raise VerifyError("consistency_path is not a list")
                path = [_b64_hash(p, "consistency_path element") for p in path_in]
                verify_consistency(old.size, cp.size, old.root, cp.root, path)
            # old.size == 0: every tree is consistent with the empty tree.
            result["consistent_from"] = old.size
        except (VerifyError, OSError) as e:
            errors.append(f"consistency: {e}")

    # Inclusion of a sample of the newest events.
    if args.sample > 0 and cp.size > 0:
        try:
            page = client.get_json("/api/v1/audit/events",
                                   {"limit": args.sample, "include_total": "false"})
            events = page.get("data") if isinstance(page, dict) else None
            if not isinstance(events, list):
                raise VerifyError("events response has no data list")
        except VerifyError as e:
            errors.append(f"events: {e}")
            events = []
        verified = 0
        for ev in events:
            if not isinstance(ev, dict):
                errors.append("event is not an object")
                continue
            eid = ev.get("event_id")
            if "log_index" not in ev:
                continue
            try:
                idx = _as_int(ev["log_index"], f"event {eid} log_index")
                if idx >= cp.size:
                    continue  # sequenced after this checkpoint
                leaf_in = event_leaf_input(ev)
                lh = leaf_hash(leaf_in)
                proof = client.get_json("/api/v1/audit/log/proof/inclusion",
                                        {"event_id": eid, "tree_size": cp.size})
                if proof.get("event_id") != eid:
                    raise VerifyError(f"proof is for event {proof.get('event_id')!r}")
                p_idx = _as_int(proof.get("log_index"), "proof log_index")
                if p_idx != idx:
                    raise VerifyError(f"proof log_index {p_idx} != event log_index {idx}")
                if _as_int(proof.get("tree_size"), "proof tree_size") != cp.size:
                    raise VerifyError(f"proof tree_size {proof.get('tree_size')} != {cp.size}")
                served_lh = _b64_hash(proof.get("leaf_hash"), "leaf_hash")
                if served_lh != lh:
                    raise VerifyError(
                        "served leaf_hash " + base64.b64encode(served_lh).decode()
                        + " != computed " + base64.b64encode(lh).decode()
                        + " over JCS " + leaf_in.decode("utf-8"))
                path_in = proof.get("audit_path")
                if not isinstance(path_in, list):
                    raise VerifyError("audit_path is not a list")
                path = [_b64_hash(p, "audit_path element") for p in path_in]
                verify_inclusion(idx, cp.size, lh, path, cp.root)
                verified += 1
            except (VerifyError, ValueError, TypeError) as e:
                errors.append(f"inclusion of event {eid}: {e}")
        result["inclusions_verified"] = verified

    return finish()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true",
                    help="check RFC 8785, RFC 9162 and signed-note test vectors")
    ap.add_argument("--url", help="base URL of the service")
    ap.add_argument("--vkey", help="trusted C2SP verifier key of the log")
    ap.add_argument("--token", help="bearer token")
    ap.add_argument("--old-checkpoint", help="a previously saved checkpoint note")
    ap.add_argument("--sample", type=int, default=50, help="newest events to check (50)")
    ap.add_argument("--save", help="write the current checkpoint note here, verbatim")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.url or not args.vkey:
        ap.error("--url and --vkey are required (or --self-test)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

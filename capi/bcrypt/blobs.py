"""CNG and legacy CAPI key blobs <-> cryptography key objects. CNG blobs are a
little-endian header followed by big-endian numbers; CAPI blobs are little-endian
throughout. Parsers raise the status Windows returns for a malformed blob."""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from capi.bcrypt import consts as K
from capi.bcrypt._status import fail
from capi.errors import NTE_BAD_DATA, STATUS_INVALID_PARAMETER

_CURVES = {"nistP256": ec.SECP256R1, "nistP384": ec.SECP384R1, "nistP521": ec.SECP521R1}
_ECC_MAGICS = {  # (family, bits) -> (public magic, private magic)
    ("ecdsa", 256): (K.BCRYPT_ECDSA_PUBLIC_P256_MAGIC, K.BCRYPT_ECDSA_PRIVATE_P256_MAGIC),
    ("ecdsa", 384): (K.BCRYPT_ECDSA_PUBLIC_P384_MAGIC, K.BCRYPT_ECDSA_PRIVATE_P384_MAGIC),
    ("ecdsa", 521): (K.BCRYPT_ECDSA_PUBLIC_P521_MAGIC, K.BCRYPT_ECDSA_PRIVATE_P521_MAGIC),
    ("ecdh", 256): (K.BCRYPT_ECDH_PUBLIC_P256_MAGIC, K.BCRYPT_ECDH_PRIVATE_P256_MAGIC),
    ("ecdh", 384): (K.BCRYPT_ECDH_PUBLIC_P384_MAGIC, K.BCRYPT_ECDH_PRIVATE_P384_MAGIC),
    ("ecdh", 521): (K.BCRYPT_ECDH_PUBLIC_P521_MAGIC, K.BCRYPT_ECDH_PRIVATE_P521_MAGIC),
}
_RSA_MAGICS = {K.BCRYPT_RSAPUBLIC_MAGIC, K.BCRYPT_RSAPRIVATE_MAGIC, K.BCRYPT_RSAFULLPRIVATE_MAGIC}


def curve_for(name: str) -> ec.EllipticCurve:
    return _CURVES[name]()


def ecc_magics(kind: str, bits: int) -> tuple[int, int]:
    return _ECC_MAGICS[(kind, bits)]


def _be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def _int(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


# --- RSA ---------------------------------------------------------------------------------


def rsa_from_blob(blob: bytes, blob_type: str):
    """RSAPUBLICBLOB / RSAPRIVATEBLOB / RSAFULLPRIVATEBLOB (or PUBLICBLOB/PRIVATEBLOB with
    an RSA magic) -> (private key or None, public key)."""
    blob = bytes(blob)
    if len(blob) < 24:
        raise fail(STATUS_INVALID_PARAMETER)
    magic, bits, cb_exp, cb_mod, cb_p, cb_q = struct.unpack_from("<6I", blob)
    wanted = {K.BCRYPT_RSAPUBLIC_BLOB: {K.BCRYPT_RSAPUBLIC_MAGIC},
              K.BCRYPT_RSAPRIVATE_BLOB: {K.BCRYPT_RSAPRIVATE_MAGIC, K.BCRYPT_RSAFULLPRIVATE_MAGIC},
              K.BCRYPT_RSAFULLPRIVATE_BLOB: {K.BCRYPT_RSAFULLPRIVATE_MAGIC},
              K.BCRYPT_PUBLIC_KEY_BLOB: {K.BCRYPT_RSAPUBLIC_MAGIC},
              K.BCRYPT_PRIVATE_KEY_BLOB: _RSA_MAGICS - {K.BCRYPT_RSAPUBLIC_MAGIC}}[blob_type]
    if magic not in wanted:
        raise fail(STATUS_INVALID_PARAMETER)
    if cb_exp > 8:
        # Wine bcrypt.c test_RSA: a public exponent longer than 8 bytes is NTE_BAD_DATA
        raise fail(NTE_BAD_DATA)
    if not cb_exp or not cb_mod or cb_mod > 2048:
        raise fail(STATUS_INVALID_PARAMETER)
    sizes = [cb_exp, cb_mod]
    if magic != K.BCRYPT_RSAPUBLIC_MAGIC:
        sizes += [cb_p, cb_q]
    if magic == K.BCRYPT_RSAFULLPRIVATE_MAGIC:
        sizes += [cb_p, cb_q, cb_p, cb_mod]
    if len(blob) < 24 + sum(sizes):
        raise fail(STATUS_INVALID_PARAMETER)
    parts, off = [], 24
    for size in sizes:
        parts.append(_int(blob[off:off + size]))
        off += size
    e, n = parts[0], parts[1]
    try:
        public = rsa.RSAPublicNumbers(e, n)
        if magic == K.BCRYPT_RSAPUBLIC_MAGIC:
            return None, public.public_key()
        p, q = parts[2], parts[3]
        if p * q != n:
            raise ValueError("p*q != n")
        d = parts[7] if len(parts) > 4 else rsa.rsa_recover_private_exponent(e, p, q)
        numbers = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                        rsa.rsa_crt_iqmp(p, q), public)
        private = numbers.private_key(unsafe_skip_rsa_key_validation=False)
    except (ValueError, ZeroDivisionError) as exc:
        raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None
    return private, private.public_key()


def rsa_to_blob(private, public, blob_type: str) -> bytes:
    pub = public.public_numbers()
    bits = public.key_size
    cb_mod = (bits + 7) // 8
    cb_exp = max(1, (pub.e.bit_length() + 7) // 8)
    if blob_type in (K.BCRYPT_RSAPUBLIC_BLOB, K.BCRYPT_PUBLIC_KEY_BLOB):
        return (struct.pack("<6I", K.BCRYPT_RSAPUBLIC_MAGIC, bits, cb_exp, cb_mod, 0, 0)
                + _be(pub.e, cb_exp) + _be(pub.n, cb_mod))
    if private is None:
        raise fail(STATUS_INVALID_PARAMETER)  # Wine test_RSA_SIGN: private export of a public key
    priv = private.private_numbers()
    cb_p = cb_q = (bits // 2 + 7) // 8
    full = blob_type == K.BCRYPT_RSAFULLPRIVATE_BLOB
    magic = K.BCRYPT_RSAFULLPRIVATE_MAGIC if full else K.BCRYPT_RSAPRIVATE_MAGIC
    out = (struct.pack("<6I", magic, bits, cb_exp, cb_mod, cb_p, cb_q) + _be(pub.e, cb_exp)
           + _be(pub.n, cb_mod) + _be(priv.p, cb_p) + _be(priv.q, cb_q))
    if full:
        out += (_be(priv.dmp1, cb_p) + _be(priv.dmq1, cb_q) + _be(priv.iqmp, cb_p)
                + _be(priv.d, cb_mod))
    return out


_PUBLICKEYBLOB, _PRIVATEKEYBLOB, _CALG_RSA_KEYX = 0x06, 0x07, 0x0000A400


def rsa_from_capi_blob(blob: bytes):
    """LEGACY_RSAPRIVATE_BLOB / LEGACY_RSAPUBLIC_BLOB (CAPI PRIVATEKEYBLOB/PUBLICKEYBLOB,
    little-endian) -> (private or None, public)."""
    blob = bytes(blob)
    if len(blob) < 20:
        raise fail(STATUS_INVALID_PARAMETER)
    btype, _ver, _res, _alg, magic, bits, e = struct.unpack_from("<BBHIIII", blob)
    n8, n16 = (bits + 7) // 8, (bits + 15) // 16

    def le(off, size):
        return int.from_bytes(blob[off:off + size], "little")

    if btype == _PUBLICKEYBLOB and magic == K.BCRYPT_RSAPUBLIC_MAGIC and len(blob) >= 20 + n8:
        return None, rsa.RSAPublicNumbers(e, le(20, n8)).public_key()
    if btype != _PRIVATEKEYBLOB or magic != K.BCRYPT_RSAPRIVATE_MAGIC or len(blob) < 20 + 2 * n8 + 5 * n16:
        raise fail(STATUS_INVALID_PARAMETER)
    off = 20
    n = le(off, n8)
    off += n8
    p, q, dp, dq, iq = (le(off + i * n16, n16) for i in range(5))
    d = le(off + 5 * n16, n8)
    try:
        private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, iq, rsa.RSAPublicNumbers(e, n)).private_key()
    except ValueError as exc:
        raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None
    return private, private.public_key()


def rsa_to_capi_blob(private, public, blob_type: str) -> bytes:
    pub = public.public_numbers()
    bits = public.key_size
    n8, n16 = (bits + 7) // 8, (bits + 15) // 16
    if blob_type == K.LEGACY_RSAPUBLIC_BLOB:
        return (struct.pack("<BBHIIII", _PUBLICKEYBLOB, 2, 0, _CALG_RSA_KEYX,
                            K.BCRYPT_RSAPUBLIC_MAGIC, bits, pub.e) + pub.n.to_bytes(n8, "little"))
    if private is None:
        raise fail(STATUS_INVALID_PARAMETER)
    pr = private.private_numbers()
    return (struct.pack("<BBHIIII", _PRIVATEKEYBLOB, 2, 0, _CALG_RSA_KEYX,
                        K.BCRYPT_RSAPRIVATE_MAGIC, bits, pub.e) + pub.n.to_bytes(n8, "little")
            + b"".join(v.to_bytes(n16, "little") for v in (pr.p, pr.q, pr.dmp1, pr.dmq1, pr.iqmp))
            + pr.d.to_bytes(n8, "little"))


# --- ECC -----------------------------------------------------------------------------------


def ecc_from_blob(blob: bytes, blob_type: str, kind: str, curve_name: str, key_bytes: int):
    """ECCPUBLICBLOB / ECCPRIVATEBLOB (or PUBLICBLOB/PRIVATEBLOB) for the provider's curve
    and family. A magic of the other family or curve, or a cbKey that is not the curve's,
    is STATUS_INVALID_PARAMETER (Wine bcrypt.c test_ECDSA)."""
    blob = bytes(blob)
    if len(blob) < 8:
        raise fail(STATUS_INVALID_PARAMETER)
    magic, cb_key = struct.unpack_from("<II", blob)
    bits = int(curve_name[len("nistP"):])
    pub_magic, priv_magic = ecc_magics(kind, bits)
    private_blob = blob_type in (K.BCRYPT_ECCPRIVATE_BLOB, K.BCRYPT_PRIVATE_KEY_BLOB)
    if magic != (priv_magic if private_blob else pub_magic) or cb_key != key_bytes:
        raise fail(STATUS_INVALID_PARAMETER)
    if len(blob) != 8 + cb_key * (3 if private_blob else 2):
        raise fail(STATUS_INVALID_PARAMETER)
    x, y = _int(blob[8:8 + cb_key]), _int(blob[8 + cb_key:8 + 2 * cb_key])
    curve = curve_for(curve_name)
    try:
        public = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        if not private_blob:
            return None, public
        d = _int(blob[8 + 2 * cb_key:])
        private = ec.derive_private_key(d, curve)
    except ValueError as exc:
        raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None
    if private.public_key().public_numbers() != public.public_numbers():
        raise fail(STATUS_INVALID_PARAMETER, "the private value does not match X, Y")
    return private, public


def ecc_to_blob(private, public, blob_type: str, kind: str, key_bytes: int) -> bytes:
    nums = public.public_numbers()
    pub_magic, priv_magic = ecc_magics(kind, public.curve.key_size)
    xy = _be(nums.x, key_bytes) + _be(nums.y, key_bytes)
    if blob_type in (K.BCRYPT_ECCPUBLIC_BLOB, K.BCRYPT_PUBLIC_KEY_BLOB):
        return struct.pack("<II", pub_magic, key_bytes) + xy
    if private is None:
        raise fail(STATUS_INVALID_PARAMETER)  # Wine test_ECDSA: private export of a public key
    d = private.private_numbers().private_value
    return struct.pack("<II", priv_magic, key_bytes) + xy + _be(d, key_bytes)

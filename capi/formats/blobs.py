"""Key blobs, byte-exact: CryptoAPI (little-endian) and CNG (big-endian).

CryptoAPI: BLOBHEADER {bType, bVersion=2, reserved=0, aiKeyAlg} + RSAPUBKEY {magic
"RSA1"/"RSA2", bitlen, pubexp} + little-endian integers (docs/windows-facts.md §1 "CAPI blobs").
CNG: BCRYPT_RSAKEY_BLOB {Magic, BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2} and
BCRYPT_ECCKEY_BLOB {Magic, cbKey} + big-endian integers (§1 "CNG blobs").
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from capi.constants import (
    BCRYPT_ECDH_PRIVATE_P256_MAGIC,
    BCRYPT_ECDH_PRIVATE_P384_MAGIC,
    BCRYPT_ECDH_PRIVATE_P521_MAGIC,
    BCRYPT_ECDH_PUBLIC_P256_MAGIC,
    BCRYPT_ECDH_PUBLIC_P384_MAGIC,
    BCRYPT_ECDH_PUBLIC_P521_MAGIC,
    BCRYPT_ECDSA_PRIVATE_P256_MAGIC,
    BCRYPT_ECDSA_PRIVATE_P384_MAGIC,
    BCRYPT_ECDSA_PRIVATE_P521_MAGIC,
    BCRYPT_ECDSA_PUBLIC_P256_MAGIC,
    BCRYPT_ECDSA_PUBLIC_P384_MAGIC,
    BCRYPT_ECDSA_PUBLIC_P521_MAGIC,
    BCRYPT_RSAFULLPRIVATE_MAGIC,
    BCRYPT_RSAPUBLIC_MAGIC,
    CALG_RSA_KEYX,
    CALG_RSA_SIGN,
    CUR_BLOB_VERSION,
    PRIVATEKEYBLOB,
    PUBLICKEYBLOB,
)
from capi.errors import NTE_BAD_DATA, NTE_BAD_TYPE, NTE_INVALID_PARAMETER, WinError

RSA1 = 0x31415352  # "RSA1": public
RSA2 = 0x32415352  # "RSA2": private
_BLOBHEADER = struct.Struct("<BBHI")
_RSAPUBKEY = struct.Struct("<III")
CAPI_HEADER_LEN = _BLOBHEADER.size + _RSAPUBKEY.size  # 20
_BCRYPT_RSA = struct.Struct("<6I")
_BCRYPT_ECC = struct.Struct("<2I")
MAX_PUBEXP_BYTES = 8  # CNG refuses cbPublicExp above 8 (docs/windows-facts.md §2 #62)


def ecdsa_der_from_p1363(raw: bytes) -> bytes:
    """An ECDSA signature as CNG gives it (r || s, big-endian, each half the length) ->
    the DER Ecdsa-Sig-Value that X.509 and CMS carry."""
    half = len(raw) // 2
    return asym_utils.encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                           int.from_bytes(raw[half:], "big"))


def ecdsa_p1363_from_der(der: bytes, size: int) -> bytes:
    """A DER Ecdsa-Sig-Value -> CNG's r || s, each ``size`` bytes big-endian."""
    r, s = asym_utils.decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _le(value: int, length: int) -> bytes:
    return value.to_bytes(length, "little")


def _be(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def _bad(code: int, why: str) -> WinError:
    return WinError(code, detail=why)


def _rsa_from_parts(n: int, e: int, p: int, q: int, d: int) -> rsa.RSAPrivateKey:
    if p * q != n:
        raise _bad(NTE_BAD_DATA, "primes do not multiply to the modulus")
    try:
        return rsa.RSAPrivateNumbers(
            p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
            rsa.RSAPublicNumbers(e, n),
        ).private_key()
    except ValueError as exc:
        raise _bad(NTE_BAD_DATA, f"inconsistent RSA key: {exc}") from exc


# -------------------------------------------------------------------------------------
# CryptoAPI
# -------------------------------------------------------------------------------------


def _blob_bits(key_size: int, bits: int | None) -> int:
    # RSAPUBKEY.bitlen is the key's size, which can exceed the modulus' bit length when
    # the modulus has leading zero bits (a 512-bit key with a 509-bit modulus).
    return bits or -(-key_size // 8) * 8


def capi_public_blob(key: rsa.RSAPublicKey, alg_id: int, bits: int | None = None) -> bytes:
    """PUBLICKEYBLOB: 20-byte header + modulus (bitlen/8 bytes, little-endian)."""
    nums = key.public_numbers()
    bits = _blob_bits(key.key_size, bits)
    return (
        _BLOBHEADER.pack(PUBLICKEYBLOB, CUR_BLOB_VERSION, 0, alg_id)
        + _RSAPUBKEY.pack(RSA1, bits, nums.e)
        + _le(nums.n, bits // 8)
    )


def capi_private_blob(key: rsa.RSAPrivateKey, alg_id: int, bits: int | None = None) -> bytes:
    """PRIVATEKEYBLOB: header + n, p, q, dp, dq, qinv, d (20 + 9*bits/16 bytes)."""
    priv = key.private_numbers()
    pub = priv.public_numbers
    bits = _blob_bits(key.key_size, bits)
    full, half = bits // 8, bits // 16
    return b"".join((
        _BLOBHEADER.pack(PRIVATEKEYBLOB, CUR_BLOB_VERSION, 0, alg_id),
        _RSAPUBKEY.pack(RSA2, bits, pub.e),
        _le(pub.n, full), _le(priv.p, half), _le(priv.q, half), _le(priv.dmp1, half),
        _le(priv.dmq1, half), _le(priv.iqmp, half), _le(priv.d, full),
    ))


def parse_capi_blob(data: bytes) -> tuple[int, int, rsa.RSAPublicKey | rsa.RSAPrivateKey]:
    """(bType, aiKeyAlg, key) from a PUBLICKEYBLOB or PRIVATEKEYBLOB.

    Wrong bVersion/reserved/magic or a wrong length is NTE_BAD_DATA (docs/windows-facts.md §4 #9);
    an unknown bType is NTE_BAD_TYPE.
    """
    return parse_capi_blob_bits(data)[:3]


def parse_capi_blob_bits(data: bytes):
    """(bType, aiKeyAlg, key, bitlen): parse_capi_blob with the blob's RSAPUBKEY.bitlen.

    A PRIVATEKEYBLOB may stop short of its full length: Windows imports it as long as the
    primes and CRT values are there, inferring the private exponent (Wine rsaenh.c
    test_import_private: every length from 20 + bitlen/2 bytes up imports).
    """
    if not isinstance(data, (bytes, bytearray)) or len(data) < CAPI_HEADER_LEN:
        raise _bad(NTE_BAD_DATA, "blob shorter than its header")
    data = bytes(data)
    btype, version, reserved, alg = _BLOBHEADER.unpack_from(data, 0)
    if version != CUR_BLOB_VERSION or reserved != 0:
        raise _bad(NTE_BAD_DATA, f"bVersion {version} reserved {reserved}")
    if btype not in (PUBLICKEYBLOB, PRIVATEKEYBLOB):
        raise _bad(NTE_BAD_TYPE, f"bType {btype}")
    if alg not in (CALG_RSA_KEYX, CALG_RSA_SIGN):
        raise _bad(NTE_BAD_DATA, f"aiKeyAlg 0x{alg:x}")
    magic, bits, e = _RSAPUBKEY.unpack_from(data, _BLOBHEADER.size)
    if bits == 0 or bits % 16:
        raise _bad(NTE_BAD_DATA, f"bitlen {bits}")
    full, half = bits // 8, bits // 16
    body = data[CAPI_HEADER_LEN:]
    if btype == PUBLICKEYBLOB:
        if magic != RSA1 or len(body) != full:
            raise _bad(NTE_BAD_DATA, "PUBLICKEYBLOB magic or length")
        n = int.from_bytes(body, "little")
        try:
            return btype, alg, rsa.RSAPublicNumbers(e, n).public_key(), bits
        except ValueError as exc:
            raise _bad(NTE_BAD_DATA, str(exc)) from exc
    if magic != RSA2 or not full + 5 * half <= len(body) <= 2 * full + 5 * half:
        raise _bad(NTE_BAD_DATA, "PRIVATEKEYBLOB magic or length")
    off = 0

    def take(size: int) -> int:
        nonlocal off
        value = int.from_bytes(body[off : off + size], "little")
        off += size
        return value

    n, p, q = take(full), take(half), take(half)
    take(half), take(half), take(half)  # dp, dq, qinv: recomputed from d, p, q
    if len(body) - off < full:
        if not p or not q:
            raise _bad(NTE_BAD_DATA, "primes")
        try:
            d = pow(e, -1, (p - 1) * (q - 1))
        except ValueError as exc:
            raise _bad(NTE_BAD_DATA, "exponent not invertible") from exc
    else:
        d = take(full)
    return btype, alg, _rsa_from_parts(n, e, p, q, d), bits


# -------------------------------------------------------------------------------------
# CNG
# -------------------------------------------------------------------------------------


def _min_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def bcrypt_rsa_blob(key: rsa.RSAPublicKey | rsa.RSAPrivateKey, magic: int) -> bytes:
    """BCRYPT_RSAPUBLIC/RSAPRIVATE/RSAFULLPRIVATE blob (283/603 bytes at 1024 bits)."""
    bits = key.key_size
    cb_mod = (bits + 7) // 8
    cb_prime = (bits // 2 + 7) // 8
    if magic == BCRYPT_RSAPUBLIC_MAGIC:
        pub = key.public_numbers() if isinstance(key, rsa.RSAPublicKey) else key.public_key().public_numbers()
        exp = _min_bytes(pub.e)
        return _BCRYPT_RSA.pack(magic, bits, len(exp), cb_mod, 0, 0) + exp + _be(pub.n, cb_mod)
    priv = key.private_numbers()
    pub = priv.public_numbers
    exp = _min_bytes(pub.e)
    parts = [
        _BCRYPT_RSA.pack(magic, bits, len(exp), cb_mod, cb_prime, cb_prime),
        exp, _be(pub.n, cb_mod), _be(priv.p, cb_prime), _be(priv.q, cb_prime),
    ]
    if magic == BCRYPT_RSAFULLPRIVATE_MAGIC:
        parts += [_be(priv.dmp1, cb_prime), _be(priv.dmq1, cb_prime), _be(priv.iqmp, cb_prime),
                  _be(priv.d, cb_mod)]
    return b"".join(parts)


def parse_bcrypt_rsa_blob(data: bytes, expected_magics: tuple[int, ...]):
    """Key from a BCRYPT_RSAKEY_BLOB. Bad magic -> NTE_INVALID_PARAMETER, bad sizes ->
    NTE_BAD_DATA (Wine ncrypt.c test_key_import_rsa, docs/windows-facts.md §2 #62)."""
    if len(data) < _BCRYPT_RSA.size:
        raise _bad(NTE_BAD_DATA, "blob shorter than BCRYPT_RSAKEY_BLOB")
    magic, bits, cb_exp, cb_mod, cb_p1, cb_p2 = _BCRYPT_RSA.unpack_from(data, 0)
    if magic not in expected_magics:
        raise _bad(NTE_INVALID_PARAMETER, f"magic 0x{magic:08x}")
    # A BitLength smaller than cbModulus says is accepted: Windows imports an RSA1 blob
    # with BitLength 768 and a 128-byte modulus (Wine ncrypt.c test_key_import_rsa,
    # rsa_key_blob_with_invalid_bit_length); the modulus decides the key.
    if cb_exp == 0 or cb_exp > MAX_PUBEXP_BYTES or cb_mod == 0 or bits == 0 \
            or (bits + 7) // 8 > cb_mod:
        raise _bad(NTE_BAD_DATA, "cbPublicExp/cbModulus")
    size = _BCRYPT_RSA.size + cb_exp + cb_mod
    if magic != BCRYPT_RSAPUBLIC_MAGIC:
        size += cb_p1 + cb_p2
        if magic == BCRYPT_RSAFULLPRIVATE_MAGIC:
            size += 2 * cb_p1 + cb_p2 + cb_mod
    if len(data) != size:
        raise _bad(NTE_BAD_DATA, f"blob is {len(data)} bytes, header says {size}")
    off = _BCRYPT_RSA.size

    def take(n: int) -> int:
        nonlocal off
        value = int.from_bytes(data[off : off + n], "big")
        off += n
        return value

    e, n = take(cb_exp), take(cb_mod)
    if magic == BCRYPT_RSAPUBLIC_MAGIC:
        try:
            return rsa.RSAPublicNumbers(e, n).public_key()
        except ValueError as exc:
            raise _bad(NTE_BAD_DATA, str(exc)) from exc
    p, q = take(cb_p1), take(cb_p2)
    if not p or not q or n % p:
        raise _bad(NTE_BAD_DATA, "primes")
    phi = (p - 1) * (q - 1)
    try:
        d = pow(e, -1, phi)
    except ValueError as exc:
        raise _bad(NTE_BAD_DATA, "exponent not invertible") from exc
    return _rsa_from_parts(n, e, p, q, d)


_CURVES = {
    # algorithm name: (curve, cbKey, public magic, private magic)
    "ECDSA_P256": (ec.SECP256R1, 32, BCRYPT_ECDSA_PUBLIC_P256_MAGIC, BCRYPT_ECDSA_PRIVATE_P256_MAGIC),
    "ECDSA_P384": (ec.SECP384R1, 48, BCRYPT_ECDSA_PUBLIC_P384_MAGIC, BCRYPT_ECDSA_PRIVATE_P384_MAGIC),
    "ECDH_P256": (ec.SECP256R1, 32, BCRYPT_ECDH_PUBLIC_P256_MAGIC, BCRYPT_ECDH_PRIVATE_P256_MAGIC),
    "ECDH_P384": (ec.SECP384R1, 48, BCRYPT_ECDH_PUBLIC_P384_MAGIC, BCRYPT_ECDH_PRIVATE_P384_MAGIC),
    "ECDSA_P521": (ec.SECP521R1, 66, BCRYPT_ECDSA_PUBLIC_P521_MAGIC, BCRYPT_ECDSA_PRIVATE_P521_MAGIC),
    "ECDH_P521": (ec.SECP521R1, 66, BCRYPT_ECDH_PUBLIC_P521_MAGIC, BCRYPT_ECDH_PRIVATE_P521_MAGIC),
}
CURVE_ALGORITHMS = tuple(_CURVES)


def curve_for(alg: str) -> ec.EllipticCurve:
    return _CURVES[alg][0]()


def ecc_magic_kind(magic: int) -> bool | None:
    """True for an ECC private-blob magic, False for a public one, None otherwise."""
    for entry in _CURVES.values():
        if magic in (entry[2], entry[3]):
            return magic == entry[3]
    return None


def bcrypt_ecc_blob(key, alg: str, private: bool) -> bytes:
    """BCRYPT_ECCPUBLIC_BLOB / BCRYPT_ECCPRIVATE_BLOB: {Magic, cbKey} X Y [d]."""
    _, cb, pub_magic, priv_magic = _CURVES[alg]
    pub_key = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    nums = pub_key.public_numbers()
    out = _BCRYPT_ECC.pack(priv_magic if private else pub_magic, cb) + _be(nums.x, cb) + _be(nums.y, cb)
    if private:
        out += _be(key.private_numbers().private_value, cb)
    return out


def parse_bcrypt_ecc_blob(data: bytes, private: bool) -> tuple[str, object]:
    """(algorithm name, key) from an ECC blob; bad magic -> NTE_INVALID_PARAMETER."""
    if len(data) < _BCRYPT_ECC.size:
        raise _bad(NTE_BAD_DATA, "blob shorter than BCRYPT_ECCKEY_BLOB")
    magic, cb = _BCRYPT_ECC.unpack_from(data, 0)
    found = [name for name, entry in _CURVES.items() if magic == entry[3 if private else 2]]
    if not found:
        raise _bad(NTE_INVALID_PARAMETER, f"magic 0x{magic:08x}")
    alg = found[0]
    curve, size = _CURVES[alg][0], _CURVES[alg][1]
    want = _BCRYPT_ECC.size + size * (3 if private else 2)
    if cb != size or len(data) != want:
        raise _bad(NTE_BAD_DATA, "cbKey or blob length")
    x = int.from_bytes(data[8 : 8 + size], "big")
    y = int.from_bytes(data[8 + size : 8 + 2 * size], "big")
    try:
        pub = ec.EllipticCurvePublicNumbers(x, y, curve())
        if private:
            d = int.from_bytes(data[8 + 2 * size :], "big")
            return alg, ec.EllipticCurvePrivateNumbers(d, pub).private_key()
        return alg, pub.public_key()
    except ValueError as exc:
        raise _bad(NTE_BAD_DATA, str(exc)) from exc

"""PKCS#12 (PFX) codec with the attributes Microsoft's PFX import reads and export writes.

The layer under ``PFXIsPFXBlob``, ``PFXVerifyPassword``, ``PFXImportCertStore`` and
``PFXExportCertStoreEx``. It turns PFX bytes into plain data (keys as ``cryptography``
objects, certificates as DER) with the attributes that decide where Windows puts a key:

- bag attribute 1.3.6.1.4.1.311.17.1 (szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR): the CSP/KSP
  name, a BMPString;
- bag attribute 1.3.6.1.4.1.311.17.2 (szOID_LOCAL_MACHINE_KEYSET): present means a machine
  key. Windows and ``openssl -LMK`` write an empty SET; .NET writes SET{NULL}; both count;
- attribute 2.5.29.15 (szOID_KEY_USAGE) *inside* the PKCS#8 PrivateKeyInfo, a BIT STRING
  whose first byte is the CERT_*_KEY_USAGE byte (``openssl -keyex`` 0x10, ``-keysig`` 0x80,
  Windows CNG exports 0x90).

ASN.1 structures come from asn1crypto. Its ``pkcs12`` module calls 17.1
"microsoft_local_machine_keyset" and never decodes it as a BMPString, and does not know
17.2, so SafeBags are read here through a bag class whose attribute values stay raw and
are decoded by OID below. The cryptography is ``cryptography``'s (PBKDF2, HMAC, AES,
3DES, RC2, RC4); the one piece it does not expose, the PKCS#12 key derivation (RFC 7292
Appendix B), is OpenSSL's libcrypto's, see :func:`pkcs12_kdf`.

Errors are Windows errors (``WinError``):

- wrong password: ERROR_INVALID_PASSWORD (0x80070056);
- bytes that are not a PFX, truncated or corrupt structures: CRYPT_E_BAD_ENCODE
  (0x80092002) -- what Windows reports for an undecodable PFX (WiX's PFX import logging
  "Error 0x80092002: Failed to open PFX file.", wixtoolset/issues#4214) and for an
  undecodable certificate bag (dotnet/runtime PfxFormatTests.OneCorruptCert);
- a key bag that does not decrypt under the password that verified the MAC: NTE_FAIL,
  or CRYPT_E_BAD_ENCODE when the padding happens to come out right
  (dotnet/runtime PfxFormatTests, OneCert_EncryptedEmptyPassword_OneKey_...);
- a decrypted key whose key structure is malformed: CRYPT_E_ASN1_BADTAG or
  CRYPT_E_ASN1_EOD; a key algorithm or PBE scheme that cannot be used: NTE_BAD_ALGID
  (dotnet/runtime PfxFormatTests.OneCert_ExtraKeyBadEncoding / ..._ExtraKeyWithUnknownAlgorithm,
  the behaviour of Windows before 10 1607, which rejects unusable keys at import).

pbeWithSHAAnd40BitRC2-CBC (old Windows exports and ``openssl -legacy`` use it for the
certificates) cannot be keyed with ``cryptography``'s RC2, which takes 128-bit keys only:
such certificate safes are read through ``cryptography``'s own PKCS#12 loader (their
certificates then carry no localKeyID and pair with keys by public key), and a key bag
encrypted that way gives NTE_BAD_ALGID where Windows would read it (a known divergence).

Hostile input fails fast: every KDF iteration count is checked before any work is done
against :data:`MAX_KDF_ITERATIONS` and the whole parse against
:data:`MAX_TOTAL_KDF_ITERATIONS`. Windows documents no cap; winpki refuses larger counts
with CRYPT_E_BAD_ENCODE rather than spinning for minutes (a known divergence). Each
derivation runs once per parse and in C, so a PFX costs about what OpenSSL spends on it
(tests/bench/test_pfx_cost_bench.py).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core, keys
from asn1crypto import pkcs12 as _asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, RC2, TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12

from capi.constants import (
    szOID_KEY_USAGE,
    szOID_LOCAL_MACHINE_KEYSET,
    szOID_PKCS_12_FRIENDLY_NAME_ATTR,
    szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR,
    szOID_PKCS_12_LOCAL_KEY_ID,
)
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_BAD_ENCODE,
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_PASSWORD,
    NTE_BAD_ALGID,
    NTE_FAIL,
    WinError,
    win32_failure,
)
from capi.formats import openssl_kdf

# BouncyCastle's documented read-side cap for PKCS#12 iteration counts
# (org.bouncycastle.pkcs12.max_it_count, default 5,000,000): far above what any producer
# writes (Windows 2000, OpenSSL 2048, Java 10000, BouncyCastle 600,000) and bounded to a
# few seconds of work. Windows itself documents no cap.
MAX_KDF_ITERATIONS = 5_000_000
# All derivations of one parse together (MAC, each encrypted SafeContents, each key), each
# distinct derivation charged once. Six at the cap: a PFX of one key and one certificate
# safe under PKCS#12 PBE at 5,000,000 (key and IV each, plus the MAC, tried twice for an
# empty password) still opens, as it does with OpenSSL; the derivations run in OpenSSL at
# its speed (pkcs12_kdf), so the budget bounds a parse to what OpenSSL spends on the file.
MAX_TOTAL_KDF_ITERATIONS = 6 * MAX_KDF_ITERATIONS
# SafeContents bags nested inside SafeContents bags (RFC 7292 safeContentsBag).
MAX_NESTING = 8

OID_PKCS7_DATA = "1.2.840.113549.1.7.1"
OID_PKCS7_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
OID_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
OID_PKCS8_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
OID_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
OID_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"

PFX_VERSION = 3
_PKCS12_KEY_ID, _PKCS12_IV_ID, _PKCS12_MAC_ID = 1, 2, 3  # RFC 7292 B.3 diversifiers

_DIGESTS = {  # asn1crypto digest/HMAC names -> (hashlib name, cryptography hash)
    "md5": ("md5", hashes.MD5),
    "sha1": ("sha1", hashes.SHA1),
    "sha224": ("sha224", hashes.SHA224),
    "sha256": ("sha256", hashes.SHA256),
    "sha384": ("sha384", hashes.SHA384),
    "sha512": ("sha512", hashes.SHA512),
}


# ---------------------------------------------------------------------------------------
# ASN.1: SafeBags whose attribute values stay raw (works around asn1crypto's 17.1 label).
# ---------------------------------------------------------------------------------------


class _Attribute(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("values", core.SetOf, {"spec": core.Any})]


class _Attributes(core.SetOf):
    _child_spec = _Attribute


class _SafeBag(core.Sequence):
    _fields = [
        ("bag_id", core.ObjectIdentifier),
        ("bag_value", core.Any, {"explicit": 0}),
        ("bag_attributes", _Attributes, {"optional": True}),
    ]


class _SafeContents(core.SequenceOf):
    _child_spec = _SafeBag


class _CertBag(core.Sequence):
    _fields = [
        ("cert_id", core.ObjectIdentifier),
        ("cert_value", core.OctetString, {"explicit": 0}),
    ]


class _ShroudedKeyBagOut(core.Sequence):
    """A PKCS8ShroudedKeyBag SafeBag for writing (asn1crypto does not tag a bare Any)."""

    _fields = [
        ("bag_id", core.ObjectIdentifier),
        ("bag_value", keys.EncryptedPrivateKeyInfo, {"explicit": 0}),
        ("bag_attributes", _Attributes, {"optional": True}),
    ]


class _CertBagOut(core.Sequence):
    _fields = [
        ("bag_id", core.ObjectIdentifier),
        ("bag_value", _CertBag, {"explicit": 0}),
        ("bag_attributes", _Attributes, {"optional": True}),
    ]


class _SafeContentsOut(core.SequenceOf):
    _child_spec = core.Any


class _PrivateKeyInfo(core.Sequence):
    """PKCS#8 PrivateKeyInfo with raw attribute values and an opaque key."""

    _fields = [
        ("version", core.Integer),
        ("private_key_algorithm", keys.PrivateKeyAlgorithm),
        ("private_key", core.OctetString),
        ("attributes", _Attributes, {"implicit": 0, "optional": True}),
    ]


# ---------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------

RawAttributes = dict[str, list[bytes]]


@dataclass
class PfxKey:
    """A private key from (or for) a PFX with the attributes Windows reads."""

    private_key: object
    pkcs8_attributes: RawAttributes = field(default_factory=dict)
    key_usage: int | None = None
    csp_name: str | None = None
    machine_keyset: bool = False
    friendly_name: str | None = None
    local_key_id: bytes | None = None
    bag_attributes: RawAttributes = field(default_factory=dict)

    def public_key_der(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class PfxCert:
    """An X.509 certificate from (or for) a PFX."""

    der: bytes
    friendly_name: str | None = None
    local_key_id: bytes | None = None
    csp_name: str | None = None
    bag_attributes: RawAttributes = field(default_factory=dict)
    _certificate: x509.Certificate | None = field(default=None, repr=False, compare=False)

    @property
    def certificate(self) -> x509.Certificate:
        if self._certificate is None:
            self._certificate = x509.load_der_x509_certificate(self.der)
        return self._certificate

    def public_key_der(self) -> bytes:
        return self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class PfxContents:
    keys: list[PfxKey] = field(default_factory=list)
    certs: list[PfxCert] = field(default_factory=list)
    # Key lookup tables, built once for the key list they were made from (see _index).
    _by_id: dict[bytes, PfxKey] | None = field(default=None, init=False, repr=False, compare=False)
    _by_spki: dict[bytes, PfxKey] | None = field(default=None, init=False, repr=False, compare=False)
    _indexed: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def _index(self) -> None:
        # Rebuilt only when the key list changed, so pairs() serialises each key's public
        # half once instead of once per certificate (a PFX of n keys and n certificates
        # without localKeyID would otherwise cost n*n serialisations).
        current = tuple(map(id, self.keys))
        if self._by_id is not None and current == self._indexed:
            return
        self._indexed, self._by_id, self._by_spki = current, {}, None
        for key in self.keys:
            if key.local_key_id is not None:
                self._by_id.setdefault(key.local_key_id, key)

    def _spki_index(self) -> dict[bytes, PfxKey]:
        if self._by_spki is None:
            self._by_spki = {}
            for key in self.keys:
                try:
                    self._by_spki.setdefault(key.public_key_der(), key)
                except (ValueError, UnsupportedAlgorithm):
                    continue
        return self._by_spki

    def key_for(self, cert: PfxCert) -> PfxKey | None:
        """The key belonging to ``cert``: same localKeyID (binary equal), else same public
        key; the first such key in PFX order."""
        self._index()
        if cert.local_key_id is not None:
            key = self._by_id.get(cert.local_key_id)
            if key is not None:
                return key
        try:
            spki = cert.public_key_der()
        except (ValueError, UnsupportedAlgorithm):
            return None
        return self._spki_index().get(spki)

    def pairs(self) -> list[tuple[PfxCert, PfxKey | None]]:
        """Every certificate, in PFX order, with its key or None."""
        return [(cert, self.key_for(cert)) for cert in self.certs]


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def _fail(code: int, detail: str) -> WinError:
    return win32_failure(code, detail=detail)


class _Budget:
    """Iteration budget for one parse; refuses before doing the work.

    It also remembers each derivation of the parse by what determines it (algorithm,
    password bytes, salt, iteration count, purpose, length): the same derivation asked for
    again (the NULL and "" passwords share their PBKDF2 bytes; producers that reuse a salt
    for certificates and key) is neither run nor charged again.
    """

    def __init__(self) -> None:
        self.left = MAX_TOTAL_KDF_ITERATIONS
        self._derived: dict[tuple, bytes] = {}

    def cached(self, ident: tuple) -> bytes | None:
        return self._derived.get(ident)

    def remember(self, ident: tuple, value: bytes) -> bytes:
        self._derived[ident] = value
        return value

    def pkcs12(self, hash_name: str, password: bytes, salt: bytes, purpose: int,
               iterations: int, length: int) -> bytes:
        """pkcs12_kdf, run (and charged) once per distinct derivation."""
        ident = ("pkcs12", hash_name, password, salt, purpose, iterations, length)
        value = self._derived.get(ident)
        if value is None:
            self.take(iterations)
            value = self.remember(
                ident, pkcs12_kdf(hash_name, password, salt, purpose, iterations, length))
        return value

    def take(self, iterations: int) -> None:
        if iterations < 1 or iterations > MAX_KDF_ITERATIONS:
            raise _fail(CRYPT_E_BAD_ENCODE, f"iteration count {iterations} out of range")
        if iterations > self.left:
            raise _fail(CRYPT_E_BAD_ENCODE, "total iteration count of the PFX is too large")
        self.left -= iterations

    def repeat(self) -> None:
        """Charge again all that was taken so far: a second pass over the whole PFX
        (cryptography's loader) repeats the MAC and every derivation."""
        spent = MAX_TOTAL_KDF_ITERATIONS - self.left
        if spent > self.left:
            raise _fail(CRYPT_E_BAD_ENCODE, "total iteration count of the PFX is too large")
        self.left -= spent


# ---------------------------------------------------------------------------------------
# Passwords and key derivation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Password:
    """One way of presenting the password: PKCS#12 KDF bytes and PBKDF2 bytes."""

    bmp: bytes  # BMPString with terminating NUL; NULL password -> no bytes at all
    utf8: bytes

    @classmethod
    def of(cls, password: str | None) -> _Password:
        if password is None:
            return cls(b"", b"")
        return cls(password.encode("utf-16-be") + b"\x00\x00", password.encode("utf-8"))


def _candidates(password: str | None) -> list[_Password]:
    # PFXImportCertStore treats NULL and "" alike: a PFX made with either opens with
    # either (dotnet/runtime PfxFormatTests.EmptyPfx_EmptyPassword / _NullPassword).
    if password is None or password == "":
        first, second = (None, "") if password is None else ("", None)
        return [_Password.of(first), _Password.of(second)]
    return [_Password.of(password)]


# Iterations the Python form of the KDF may run (about 0.1 s): used only where OpenSSL's
# cannot be, a NULL password with an empty salt (OpenSSL refuses an empty input block).
MAX_PYTHON_KDF_ITERATIONS = 100_000


def pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, length: int
) -> bytes:
    """RFC 7292 Appendix B.2 key derivation (``password`` already a BMPString with NUL).

    ``cryptography`` runs this derivation only inside its PKCS#12 loader (no Python entry
    point), so it is OpenSSL's ``PKCS12_key_gen_uni`` (:mod:`capi.openssl_kdf`): the
    iterations run in C at ``openssl pkcs12``'s own speed. Where libcrypto cannot take the
    input, the Python form below runs, for at most :data:`MAX_PYTHON_KDF_ITERATIONS`
    (beyond that the count is refused as too costly, CRYPT_E_BAD_ENCODE as for the cap).
    """
    if password or salt:
        try:
            out = openssl_kdf.pkcs12_key_gen(hash_name, password, salt, purpose, iterations,
                                             length)
        except ValueError:
            out = b""  # libcrypto refused the input: the bounded Python form below
        if out:
            return out
        if out is None:  # no usable libcrypto on this system: Python it is, at any cost
            return _pkcs12_kdf_python(hash_name, password, salt, purpose, iterations, length)
    if iterations > MAX_PYTHON_KDF_ITERATIONS:
        raise _fail(CRYPT_E_BAD_ENCODE, "iteration count too large for this derivation")
    return _pkcs12_kdf_python(hash_name, password, salt, purpose, iterations, length)


def _pkcs12_kdf_python(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, length: int
) -> bytes:
    """RFC 7292 Appendix B.2 in Python (hashlib): the reference and the fallback."""
    new = getattr(hashlib, hash_name)
    u = new().digest_size
    v = new().block_size
    d = bytes([purpose]) * v

    def stretch(data: bytes) -> bytes:
        if not data:
            return b""
        n = v * -(-len(data) // v)
        return (data * (n // len(data) + 1))[:n]

    i_blocks = bytearray(stretch(salt) + stretch(password))
    out = bytearray()
    while True:
        a = new(d + i_blocks).digest()
        for _ in range(iterations - 1):
            a = new(a).digest()
        out += a
        if len(out) >= length:
            return bytes(out[:length])
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        mask = (1 << (8 * v)) - 1
        for j in range(0, len(i_blocks), v):
            block = (int.from_bytes(i_blocks[j : j + v], "big") + b) & mask
            i_blocks[j : j + v] = block.to_bytes(v, "big")


# ---------------------------------------------------------------------------------------
# Password-based encryption
# ---------------------------------------------------------------------------------------

# PKCS#12 PBE (RFC 7292 Appendix C): asn1crypto name -> (cipher factory, key bytes, block)
_PKCS12_PBE = {
    "pkcs12_sha1_tripledes_3key": (TripleDES, 24, 8),
    "pkcs12_sha1_tripledes_2key": (TripleDES, 16, 8),
    "pkcs12_sha1_rc2_128": (RC2, 16, 8),
    "pkcs12_sha1_rc4_128": (ARC4, 16, 0),
    "pkcs12_sha1_rc4_40": (ARC4, 5, 0),
}
# pkcs12_sha1_rc2_40 is missing on purpose: cryptography's RC2 takes 128-bit keys only.

_PBES2_CIPHERS = {
    "aes128_cbc": (algorithms.AES, 16),
    "aes192_cbc": (algorithms.AES, 24),
    "aes256_cbc": (algorithms.AES, 32),
    "tripledes_3key": (TripleDES, 24),
}


class _UnsupportedScheme(Exception):
    """A PBE scheme winpki cannot decrypt (decided before any KDF work)."""


def _decrypt(
    alg: algos.EncryptionAlgorithm, data: bytes, pw: _Password, budget: _Budget
) -> bytes:
    name = alg["algorithm"].native
    if name in _PKCS12_PBE:
        factory, key_len, block = _PKCS12_PBE[name]
        params = alg["parameters"]
        salt, iterations = params["salt"].native, params["iterations"].native
        key = budget.pkcs12("sha1", pw.bmp, salt, _PKCS12_KEY_ID, iterations, key_len)
        if not block:
            decryptor = Cipher(factory(key), mode=None).decryptor()
            return decryptor.update(data) + decryptor.finalize()
        iv = budget.pkcs12("sha1", pw.bmp, salt, _PKCS12_IV_ID, iterations, block)
        return _cbc_decrypt(factory(key), iv, data, block)
    if name == "pbes2":
        params = alg["parameters"]
        kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
        if kdf["algorithm"].native != "pbkdf2":
            raise _UnsupportedScheme(f"PBES2 key derivation {kdf['algorithm'].dotted}")
        kdf_params = kdf["parameters"]
        iterations = kdf_params["iteration_count"].native
        # The derivation is named by its parameters' encoding, the cipher (which fixes
        # the key length) and the password bytes; a new one is charged before any
        # "unsupported" verdict, as for every scheme.
        ident = ("pbkdf2", kdf.dump(), scheme["algorithm"].dotted, pw.utf8)
        key = budget.cached(ident)
        if key is None:
            budget.take(iterations)
        cipher_name = scheme["algorithm"].native
        if cipher_name not in _PBES2_CIPHERS:
            raise _UnsupportedScheme(f"PBES2 cipher {scheme['algorithm'].dotted}")
        factory, key_len = _PBES2_CIPHERS[cipher_name]
        prf = kdf_params["prf"]["algorithm"].native
        if prf not in _DIGESTS or kdf_params["salt"].name != "specified":
            raise _UnsupportedScheme(f"PBKDF2 PRF {prf}")
        if kdf_params["key_length"].native not in (None, key_len):
            raise _fail(CRYPT_E_BAD_ENCODE, "PBKDF2 key length does not fit the cipher")
        if key is None:
            key = budget.remember(ident, PBKDF2HMAC(
                algorithm=_DIGESTS[prf][1](),
                length=key_len,
                salt=kdf_params["salt"].chosen.native,
                iterations=iterations,
            ).derive(pw.utf8))
        iv = scheme["parameters"].native
        block = factory.block_size // 8
        if not isinstance(iv, bytes) or len(iv) != block:
            raise _fail(CRYPT_E_BAD_ENCODE, "PBES2 IV has the wrong length")
        return _cbc_decrypt(factory(key), iv, data, block)
    params = alg["parameters"]
    if isinstance(params, algos.Pbes1Params):
        # PKCS#12 PBE (pbeWithSHAAnd40BitRC2-CBC among them) and PBES1 carry the count in
        # the same structure. It is charged before the scheme is called unsupported, so
        # no later pass (cryptography's loader for RC2-40) derives keys unpaid: the
        # PKCS#12 KDF runs once for the key and once for the IV.
        iterations = params["iterations"].native
        budget.take(iterations)
        if name.startswith("pkcs12_"):
            budget.take(iterations)
    raise _UnsupportedScheme(f"encryption scheme {alg['algorithm'].dotted}")


def _cbc_decrypt(cipher_alg, iv: bytes, data: bytes, block: int) -> bytes:
    if not data or len(data) % block:
        raise _fail(CRYPT_E_BAD_ENCODE, "ciphertext is not a whole number of blocks")
    decryptor = Cipher(cipher_alg, modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(block * 8).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise _fail(NTE_FAIL, "decryption failed (bad padding)") from None


def _encrypt_pkcs12_3des(plain: bytes, pw: _Password, iterations: int) -> tuple[dict, bytes]:
    salt = os.urandom(8)
    key = pkcs12_kdf("sha1", pw.bmp, salt, _PKCS12_KEY_ID, iterations, 24)
    iv = pkcs12_kdf("sha1", pw.bmp, salt, _PKCS12_IV_ID, iterations, 8)
    alg = {
        "algorithm": "pkcs12_sha1_tripledes_3key",
        "parameters": algos.Pbes1Params({"salt": salt, "iterations": iterations}),
    }
    return alg, _cbc_encrypt(TripleDES(key), iv, plain, 8)


def _encrypt_pbes2_aes256(plain: bytes, pw: _Password, iterations: int) -> tuple[dict, bytes]:
    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations
    ).derive(pw.utf8)
    params = algos.Pbes2Params(
        {
            "key_derivation_func": {
                "algorithm": "pbkdf2",
                "parameters": algos.Pbkdf2Params(
                    {
                        "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                        "iteration_count": iterations,
                        "prf": {"algorithm": "sha256", "parameters": core.Null()},
                    }
                ),
            },
            "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
        }
    )
    return {"algorithm": "pbes2", "parameters": params}, _cbc_encrypt(
        algorithms.AES(key), iv, plain, 16
    )


def _cbc_encrypt(cipher_alg, iv: bytes, plain: bytes, block: int) -> bytes:
    padder = padding.PKCS7(block * 8).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(cipher_alg, modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


_ENCRYPTIONS = {"3des": _encrypt_pkcs12_3des, "aes256": _encrypt_pbes2_aes256}


# ---------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------


def _raw_attributes(attrs: _Attributes | None) -> RawAttributes:
    out: RawAttributes = {}
    if attrs is None or isinstance(attrs, core.Void):
        return out
    for attr in attrs:
        out.setdefault(attr["type"].dotted, []).extend(v.dump() for v in attr["values"])
    return out


def _bmp(values: list[bytes] | None) -> str | None:
    if not values:
        return None
    return core.BMPString.load(values[0], strict=True).native


def _octets(values: list[bytes] | None) -> bytes | None:
    if not values:
        return None
    return core.OctetString.load(values[0], strict=True).native


# X.509 KeyUsage bit n is CRYPT_BIT_BLOB byte n // 8, mask 0x80 >> n % 8; winpki's int
# holds byte 0 in its low 8 bits and byte 1 above it (CERT_DECIPHER_ONLY -> 0x8000).
_KEY_USAGE_BITS = 16


def _usage_mask(bit: int) -> int:
    return (0x80 >> (bit % 8)) << (8 * (bit // 8))


def _key_usage(values: list[bytes] | None) -> int | None:
    """The CERT_*_KEY_USAGE bits of a key-usage BIT STRING (byte 0, then byte 1 << 8)."""
    if not values:
        return None
    bits = core.BitString.load(values[0], strict=True).native
    return sum(_usage_mask(n) for n, bit in enumerate(bits[:_KEY_USAGE_BITS]) if bit)


def _encode_key_usage(usage: int) -> bytes:
    """The BIT STRING OpenSSL's PKCS8_add_keyusage writes (DER: trailing zero bits dropped)."""
    names = asn1_x509.KeyUsage._map
    chosen = {names[n] for n in range(len(names)) if usage & _usage_mask(n)}
    return asn1_x509.KeyUsage(chosen).dump()


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _load_pfx(data: bytes) -> _asn1_pkcs12.Pfx:
    pfx = _asn1_pkcs12.Pfx.load(data, strict=True)
    if pfx["version"].native not in ("v3", PFX_VERSION):
        raise ValueError("PFX version is not 3")
    if pfx["auth_safe"]["content_type"].native not in ("data", "signed_data"):
        raise ValueError("authSafe is neither data nor signedData")
    mac = pfx["mac_data"]
    if not isinstance(mac, core.Void):
        mac.native  # noqa: B018 - forces the MacData to decode
    return pfx


def is_pfx(data: bytes | None) -> bool:
    """PFXIsPFXBlob: True if the outer layer decodes as a PFX (no password needed)."""
    if not data:
        return False
    try:
        _load_pfx(bytes(data))
    except Exception:  # any decode failure means "not a PFX", as on Windows
        return False
    return True


class _Parser:
    def __init__(self, data: bytes | None) -> None:
        if data is None:
            # PFXImportCertStore(NULL, ...) -> ERROR_INVALID_PARAMETER (docs/windows-facts.md §2 #58)
            raise _fail(ERROR_INVALID_PARAMETER, "no PFX blob")
        self.data = bytes(data)
        try:
            self.pfx = _load_pfx(self.data)
            auth_safe = self.pfx["auth_safe"]
            if auth_safe["content_type"].native != "data":
                raise _fail(CRYPT_E_BAD_ENCODE, "public-key integrity mode is not supported")
            self.auth_safe_octets = auth_safe["content"].native
            if not isinstance(self.auth_safe_octets, bytes):
                raise ValueError("authSafe content is not an OCTET STRING")
        except WinError:
            raise
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"not a PFX: {exc}") from None
        self.has_mac = not isinstance(self.pfx["mac_data"], core.Void)
        self.budget = _Budget()

    # -- MAC --------------------------------------------------------------------------

    def mac_matches(self, pw: _Password) -> bool:
        try:
            mac_data = self.pfx["mac_data"]
            digest_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
            expected = mac_data["mac"]["digest"].native
            salt = mac_data["mac_salt"].native
            iterations = mac_data["iterations"].native
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"MacData: {exc}") from None
        if digest_name not in _DIGESTS:
            raise _fail(NTE_BAD_ALGID, f"MAC digest {digest_name}")
        hash_name = _DIGESTS[digest_name][0]
        if not isinstance(salt, bytes) or not isinstance(iterations, int):
            raise _fail(CRYPT_E_BAD_ENCODE, "MacData: salt or iteration count missing")
        size = hashlib.new(hash_name).digest_size
        key = self.budget.pkcs12(hash_name, pw.bmp, salt, _PKCS12_MAC_ID, iterations, size)
        actual = hmac.new(key, self.auth_safe_octets, hash_name).digest()
        return hmac.compare_digest(actual, expected)

    def choose_password(self, password: str | None) -> list[_Password]:
        """The password encodings to decrypt with, in order (MAC-verified when there is one)."""
        candidates = _candidates(password)
        if not self.has_mac:
            return candidates
        for pw in candidates:
            if self.mac_matches(pw):
                return [pw]
        raise _fail(ERROR_INVALID_PASSWORD, "MAC verification failed")

    # -- contents -----------------------------------------------------------------------

    def contents(self, pw: _Password) -> PfxContents:
        budget = self.budget
        out = PfxContents()
        self.unreadable_certs = False
        try:
            safes = _asn1_pkcs12.AuthenticatedSafe.load(self.auth_safe_octets, strict=True)
            items = list(safes)
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"AuthenticatedSafe: {exc}") from None
        for info in items:
            # asn1crypto decodes a ContentInfo's fields lazily: a contentType of the wrong
            # type (an INTEGER) fails here, an undecodable PFX structure like any other.
            kind = self._decode(lambda info=info: info["content_type"].dotted, "ContentInfo")
            if kind == OID_PKCS7_DATA:
                octets = self._decode(lambda info=info: info["content"].native, "SafeContents")
                if not isinstance(octets, bytes):
                    raise _fail(CRYPT_E_BAD_ENCODE, "SafeContents is not an OCTET STRING")
                self._safe_contents(octets, pw, budget, out, depth=0)
            elif kind == OID_PKCS7_ENCRYPTED_DATA:
                self._encrypted_data(info, pw, budget, out)
            else:
                raise _fail(CRYPT_E_BAD_ENCODE, f"unsupported ContentInfo {kind}")
        if self.unreadable_certs:
            # cryptography's loader derives every key of the file again.
            budget.repeat()
            self._legacy_certs(pw, out)
        return out

    @staticmethod
    def _decode(fn, what: str):
        try:
            return fn()
        except (WinError, _UnsupportedScheme):
            raise
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"{what}: {exc}") from None

    def _encrypted_data(self, info, pw: _Password, budget: _Budget, out: PfxContents) -> None:
        def fields():
            enc = info["content"]["encrypted_content_info"]
            alg = enc["content_encryption_algorithm"]
            alg["parameters"].native  # noqa: B018 - decode the parameters now
            return alg, enc["encrypted_content"].native

        alg, ciphertext = self._decode(fields, "EncryptedData")
        if ciphertext is None:
            raise _fail(CRYPT_E_BAD_ENCODE, "EncryptedData without content")
        try:
            plain = self._decode(lambda: _decrypt(alg, ciphertext, pw, budget), "EncryptedData")
        except _UnsupportedScheme:
            # Old Windows exports (and openssl -legacy) encrypt certificates with
            # pbeWithSHAAnd40BitRC2-CBC, which cryptography's RC2 cannot key; those
            # certificates are read through cryptography's own PKCS#12 loader instead.
            if alg["algorithm"].native == "pkcs12_sha1_rc2_40":
                self.unreadable_certs = True
                return
            raise _fail(NTE_BAD_ALGID, f"cannot decrypt {alg['algorithm'].dotted}") from None
        self._safe_contents(plain, pw, budget, out, depth=0)

    def _legacy_certs(self, pw: _Password, out: PfxContents) -> None:
        # cryptography's loader wants the password bytes; b"" would mean "empty string".
        password = None if pw.bmp == b"" else pw.utf8
        try:
            loaded = crypto_pkcs12.load_pkcs12(self.data, password)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise _fail(NTE_BAD_ALGID, f"pbeWithSHAAnd40BitRC2-CBC content: {exc}") from None
        seen = {c.der for c in out.certs}
        found = ([loaded.cert] if loaded.cert else []) + list(loaded.additional_certs)
        for item in found:
            der = item.certificate.public_bytes(serialization.Encoding.DER)
            if der in seen:
                continue
            seen.add(der)
            name = item.friendly_name.decode("utf-8") if item.friendly_name else None
            out.certs.append(PfxCert(der=der, friendly_name=name, _certificate=item.certificate))

    def _safe_contents(
        self, octets: bytes, pw: _Password, budget: _Budget, out: PfxContents, depth: int
    ) -> None:
        if depth > MAX_NESTING:
            raise _fail(CRYPT_E_BAD_ENCODE, "SafeContents nested too deeply")
        bags = self._decode(lambda: list(_SafeContents.load(octets, strict=True)), "SafeContents")
        for bag in bags:
            bag_id = self._decode(lambda bag=bag: bag["bag_id"].dotted, "SafeBag")
            attrs = self._decode(
                lambda bag=bag: _raw_attributes(bag["bag_attributes"]), "bag attributes"
            )
            value = self._decode(lambda bag=bag: bag["bag_value"], "SafeBag")
            if bag_id == OID_PKCS8_SHROUDED_KEY_BAG:
                out.keys.append(self._shrouded_key(value, attrs, pw, budget))
            elif bag_id == OID_KEY_BAG:
                pki = self._decode(
                    lambda value=value: value.parse(_PrivateKeyInfo).untag().dump(), "KeyBag"
                )
                out.keys.append(self._key(pki, attrs))
            elif bag_id == OID_CERT_BAG:
                cert = self._cert(value, attrs)
                if cert is not None:
                    out.certs.append(cert)
            elif bag_id == OID_SAFE_CONTENTS_BAG:
                nested = self._decode(
                    lambda value=value: value.parse(_SafeContents).untag().dump(), "safeContentsBag"
                )
                self._safe_contents(nested, pw, budget, out, depth + 1)
            # CRL and secret bags carry nothing PFXImportCertStore keeps.

    def _shrouded_key(self, value, attrs: RawAttributes, pw: _Password, budget: _Budget):
        def fields():
            epki = value.parse(keys.EncryptedPrivateKeyInfo)
            alg = epki["encryption_algorithm"]
            alg["parameters"].native  # noqa: B018 - decode the parameters now
            return alg, epki["encrypted_data"].native

        alg, ciphertext = self._decode(fields, "PKCS8ShroudedKeyBag")
        try:
            plain = _decrypt(alg, ciphertext, pw, budget)
        except _UnsupportedScheme as exc:
            raise _fail(NTE_BAD_ALGID, f"cannot decrypt the key: {exc}") from None
        except WinError:
            raise
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"PKCS8ShroudedKeyBag: {exc}") from None
        return self._key(plain, attrs)

    def _key(self, pki_der: bytes, attrs: RawAttributes) -> PfxKey:
        try:
            pki = _PrivateKeyInfo.load(pki_der, strict=True)
            pkcs8_attributes = _raw_attributes(pki["attributes"])
            key_usage = _key_usage(pkcs8_attributes.get(szOID_KEY_USAGE))
            algorithm = pki["private_key_algorithm"]["algorithm"]
            algorithm.native  # noqa: B018 - decode the OID now
        except Exception as exc:
            # Wrong password under a MAC-less PFX whose padding happened to come out right.
            raise _fail(CRYPT_E_BAD_ENCODE, f"PrivateKeyInfo: {exc}") from None
        try:
            # A PrivateKeyInfo that frames right but whose fields are of the wrong type (a
            # NULL version): the key decoder's own error, as for the key inside it.
            pki["version"].native  # noqa: B018
            pki["private_key_algorithm"].native  # noqa: B018
        except ValueError as exc:
            raise _fail(_asn1_error(exc), f"PrivateKeyInfo: {exc}") from None
        # The key loader gets the PrivateKeyInfo without its attributes: they are read here.
        bare = _PrivateKeyInfo(
            {
                "version": pki["version"],
                "private_key_algorithm": pki["private_key_algorithm"],
                "private_key": pki["private_key"],
            }
        )
        try:
            # OpenSSL's RSA key check (primality tests, 20-40 ms a key) is skipped: Windows'
            # import does not test primes either. The arithmetic that ties the parts
            # together is checked below, which a corrupt key still fails (capi.pfx import).
            private_key = serialization.load_der_private_key(
                bare.dump(), None, unsafe_skip_rsa_key_validation=True)
        except UnsupportedAlgorithm as exc:
            raise _fail(NTE_BAD_ALGID, f"key algorithm {algorithm.dotted}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise _fail(_key_decode_error(pki), f"private key: {exc}") from None
        if isinstance(private_key, rsa.RSAPrivateKey) and not _rsa_consistent(private_key):
            raise _fail(_key_decode_error(pki), "private key: RSA parameters are inconsistent")
        return PfxKey(
            private_key=private_key,
            pkcs8_attributes=pkcs8_attributes,
            key_usage=key_usage,
            csp_name=self._attr(_bmp, attrs, szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR),
            machine_keyset=szOID_LOCAL_MACHINE_KEYSET in attrs,
            friendly_name=self._attr(_bmp, attrs, szOID_PKCS_12_FRIENDLY_NAME_ATTR),
            local_key_id=self._attr(_octets, attrs, szOID_PKCS_12_LOCAL_KEY_ID),
            bag_attributes=attrs,
        )

    def _cert(self, value, attrs: RawAttributes) -> PfxCert | None:
        bag = self._decode(lambda: value.parse(_CertBag), "CertBag")
        if self._decode(lambda: bag["cert_id"].dotted, "CertBag") != OID_X509_CERTIFICATE:
            return None  # SDSI certificates: nothing Windows imports
        der = self._decode(lambda: bag["cert_value"].native, "CertBag")
        try:
            certificate = x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion) as exc:
            # dotnet/runtime PfxFormatTests.OneCorruptCert: CRYPT_E_BAD_ENCODE
            raise _fail(CRYPT_E_BAD_ENCODE, f"certificate: {exc}") from None
        return PfxCert(
            der=der,
            friendly_name=self._attr(_bmp, attrs, szOID_PKCS_12_FRIENDLY_NAME_ATTR),
            local_key_id=self._attr(_octets, attrs, szOID_PKCS_12_LOCAL_KEY_ID),
            csp_name=self._attr(_bmp, attrs, szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR),
            bag_attributes=attrs,
            _certificate=certificate,
        )

    @staticmethod
    def _attr(decode, attrs: RawAttributes, oid: str):
        try:
            return decode(attrs.get(oid))
        except Exception as exc:
            raise _fail(CRYPT_E_BAD_ENCODE, f"attribute {oid}: {exc}") from None


def _rsa_consistent(key: rsa.RSAPrivateKey) -> bool:
    """n = p*q, e*d = 1 mod p-1 and q-1, and the CRT values match (no primality test)."""
    nums = key.private_numbers()
    p, q, d = nums.p, nums.q, nums.d
    n, e = nums.public_numbers.n, nums.public_numbers.e
    if p < 3 or q < 3 or p * q != n:
        return False
    return ((e * d) % (p - 1) == 1 and (e * d) % (q - 1) == 1 and nums.dmp1 == d % (p - 1)
            and nums.dmq1 == d % (q - 1) and (nums.iqmp * q) % p == 1)


_KEY_SPECS = {
    "rsa": keys.RSAPrivateKey,
    "rsassa_pss": keys.RSAPrivateKey,
    "ec": keys.ECPrivateKey,
    "dsa": core.Integer,
}


def _key_decode_error(pki: _PrivateKeyInfo) -> int:
    """The decoder error Windows gives for a private key that does not decode.

    dotnet/runtime PfxFormatTests.OneCert_ExtraKeyBadEncoding: an RSAPrivateKey of
    SEQUENCE{INTEGER 1} gives CRYPT_E_ASN1_EOD; with an OCTET STRING where the INTEGER
    belongs, CRYPT_E_ASN1_BADTAG. A key that decodes but is not a usable key gets the
    generic CRYPT_E_BAD_ENCODE.
    """
    spec = _KEY_SPECS.get(pki["private_key_algorithm"]["algorithm"].native)
    if spec is None:
        return CRYPT_E_BAD_ENCODE
    try:
        spec.load(pki["private_key"].native, strict=True).native  # noqa: B018
    except ValueError as exc:
        return _asn1_error(exc)
    return CRYPT_E_BAD_ENCODE


def _asn1_error(exc: ValueError) -> int:
    """The decoder error for an asn1crypto failure: wrong tag CRYPT_E_ASN1_BADTAG, missing
    data CRYPT_E_ASN1_EOD, anything else CRYPT_E_BAD_ENCODE."""
    text = str(exc)
    if "should have been" in text:  # asn1crypto: wrong tag, class or method
        return CRYPT_E_ASN1_BADTAG
    if "is missing" in text or "Insufficient data" in text:
        return CRYPT_E_ASN1_EOD
    return CRYPT_E_BAD_ENCODE


def parse_pfx(data: bytes | None, password: str | None) -> PfxContents:
    """Decode a PFX: verify its MAC, decrypt its contents, return keys and certificates.

    Mirrors what ``PFXImportCertStore`` reads. ``password`` None and "" are both tried.
    Raises ERROR_INVALID_PARAMETER (no blob), ERROR_INVALID_PASSWORD, CRYPT_E_BAD_ENCODE,
    NTE_FAIL, NTE_BAD_ALGID, CRYPT_E_ASN1_BADTAG, CRYPT_E_ASN1_EOD (see the module doc).
    """
    parser = _Parser(data)
    candidates = parser.choose_password(password)
    first_error: WinError | None = None
    for pw in candidates:
        try:
            return parser.contents(pw)
        except WinError as exc:
            # Without a MAC only decryption can tell which password encoding is right.
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def verify_password(data: bytes | None, password: str | None) -> bool:
    """PFXVerifyPassword: True if ``password`` (None and "" alike) verifies the PFX's MAC.

    A PFX without a MAC verifies with any password, as nothing can be checked. Bytes that
    are not a PFX give False.
    """
    try:
        parser = _Parser(data)
        parser.choose_password(password)
    except WinError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------


def _attribute(oid: str, values: Sequence[bytes]) -> _Attribute:
    return _Attribute({"type": oid, "values": [core.Any.load(v) for v in values]})


def _key_info_der(key: PfxKey) -> bytes:
    plain = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pki = _PrivateKeyInfo.load(plain)
    attrs = {oid: list(v) for oid, v in key.pkcs8_attributes.items() if oid != szOID_KEY_USAGE}
    if key.key_usage is not None:
        attrs[szOID_KEY_USAGE] = [_encode_key_usage(key.key_usage)]
    if attrs:
        pki["attributes"] = _Attributes([_attribute(oid, v) for oid, v in attrs.items()])
    return pki.dump(force=True)


def _key_bag_attributes(key: PfxKey, local_key_id: bytes) -> _Attributes:
    # The attributes of a Windows export (openssl -info): local-machine marker, localKeyID,
    # friendlyName, CSP name. asn1crypto writes the SET OF in DER order.
    extra = dict(key.bag_attributes)
    attrs = []
    if key.machine_keyset:
        # Windows writes an empty SET ("Microsoft Local Key set: <No Values>"); a marker
        # read as SET{NULL} is written back as it came.
        attrs.append(_attribute(szOID_LOCAL_MACHINE_KEYSET, extra.get(szOID_LOCAL_MACHINE_KEYSET, [])))
    attrs.append(_attribute(szOID_PKCS_12_LOCAL_KEY_ID, [core.OctetString(local_key_id).dump()]))
    if key.friendly_name is not None:
        attrs.append(
            _attribute(szOID_PKCS_12_FRIENDLY_NAME_ATTR, [core.BMPString(key.friendly_name).dump()])
        )
    if key.csp_name is not None:
        attrs.append(
            _attribute(szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR, [core.BMPString(key.csp_name).dump()])
        )
    written = {
        szOID_LOCAL_MACHINE_KEYSET,
        szOID_PKCS_12_LOCAL_KEY_ID,
        szOID_PKCS_12_FRIENDLY_NAME_ATTR,
        szOID_PKCS_12_KEY_PROVIDER_NAME_ATTR,
    }
    attrs.extend(_attribute(oid, v) for oid, v in extra.items() if oid not in written)
    return _Attributes(attrs)


def _cert_bag(cert: PfxCert, local_key_id: bytes | None) -> core.Any:
    attrs = []
    if local_key_id is not None:
        attrs.append(_attribute(szOID_PKCS_12_LOCAL_KEY_ID, [core.OctetString(local_key_id).dump()]))
    if cert.friendly_name is not None:
        attrs.append(
            _attribute(szOID_PKCS_12_FRIENDLY_NAME_ATTR, [core.BMPString(cert.friendly_name).dump()])
        )
    bag = _CertBag({"cert_id": OID_X509_CERTIFICATE, "cert_value": cert.der})
    fields = {"bag_id": OID_CERT_BAG, "bag_value": bag}
    if attrs:
        fields["bag_attributes"] = _Attributes(attrs)
    return core.Any.load(_CertBagOut(fields).dump())


def build_pfx(
    items: PfxContents | Iterable[PfxKey | PfxCert],
    password: str | None,
    *,
    encryption: str = "3des",
    mac: str | None = None,
    iterations: int = 2000,
) -> bytes:
    """Write a PFX the way ``PFXExportCertStoreEx`` does.

    Keys go in PKCS8ShroudedKeyBags in a plain SafeContents, with the bag attributes
    local-machine marker (when ``machine_keyset``), localKeyID (``01 00 00 00``, ``02 00 00
    00``... as Windows numbers them), friendlyName and the CSP name, and the key usage
    inside the PKCS#8 attributes. Certificates go in an encrypted SafeContents, the one
    belonging to a key (by public key) with that key's localKeyID.

    ``encryption`` "3des" (pbeWithSHAAnd3-KeyTripleDES-CBC, Windows' default, MAC SHA-1)
    or "aes256" (PBES2/PBKDF2-SHA256/AES-256-CBC, PKCS12_EXPORT_PBES2_PARAMS, MAC
    SHA-256); ``mac`` overrides the MAC digest; Windows uses 2000 iterations.
    """
    if encryption not in _ENCRYPTIONS:
        raise ValueError(f"encryption must be one of {sorted(_ENCRYPTIONS)}")
    mac = mac or ("sha1" if encryption == "3des" else "sha256")
    if mac not in _DIGESTS or mac == "md5":
        raise ValueError(f"unsupported MAC digest {mac!r}")
    if not 1 <= iterations <= MAX_KDF_ITERATIONS:
        raise ValueError("iterations out of range")
    if isinstance(items, PfxContents):
        key_list, cert_list = list(items.keys), list(items.certs)
    else:
        key_list, cert_list = [], []
        for item in items:
            (key_list if isinstance(item, PfxKey) else cert_list).append(item)
    pw = _Password.of(password)
    encrypt = _ENCRYPTIONS[encryption]

    key_bags, ids_by_spki = [], {}
    for index, key in enumerate(key_list, start=1):
        local_key_id = struct.pack("<I", index)
        ids_by_spki.setdefault(key.public_key_der(), local_key_id)
        alg, ciphertext = encrypt(_key_info_der(key), pw, iterations)
        epki = keys.EncryptedPrivateKeyInfo(
            {"encryption_algorithm": alg, "encrypted_data": ciphertext}
        )
        bag = _ShroudedKeyBagOut(
            {
                "bag_id": OID_PKCS8_SHROUDED_KEY_BAG,
                "bag_value": epki,
                "bag_attributes": _key_bag_attributes(key, local_key_id),
            }
        )
        key_bags.append(core.Any.load(bag.dump()))
    cert_bags = [_cert_bag(c, ids_by_spki.get(c.public_key_der())) for c in cert_list]

    safes = []
    if key_bags:
        safes.append(
            cms.ContentInfo(
                {"content_type": "data", "content": _SafeContentsOut(key_bags).dump()}
            )
        )
    if cert_bags:
        alg, ciphertext = encrypt(_SafeContentsOut(cert_bags).dump(), pw, iterations)
        encrypted = cms.EncryptedData(
            {
                "version": "v0",
                "encrypted_content_info": {
                    "content_type": "data",
                    "content_encryption_algorithm": alg,
                    "encrypted_content": ciphertext,
                },
            }
        )
        safes.append(cms.ContentInfo({"content_type": "encrypted_data", "content": encrypted}))
    auth_safe = _asn1_pkcs12.AuthenticatedSafe(safes).dump()

    hash_name = _DIGESTS[mac][0]
    mac_salt = os.urandom(20)  # Windows writes a 20-byte MAC salt
    size = hashlib.new(hash_name).digest_size
    mac_key = pkcs12_kdf(hash_name, pw.bmp, mac_salt, _PKCS12_MAC_ID, iterations, size)
    digest = hmac.new(mac_key, auth_safe, hash_name).digest()
    pfx = _asn1_pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": {"content_type": "data", "content": auth_safe},
            "mac_data": {
                "mac": {"digest_algorithm": {"algorithm": mac}, "digest": digest},
                "mac_salt": mac_salt,
                "iterations": iterations,
            },
        }
    )
    return pfx.dump()


__all__ = [
    "MAX_KDF_ITERATIONS", "MAX_TOTAL_KDF_ITERATIONS", "PfxKey", "PfxCert", "PfxContents",
    "pkcs12_kdf", "is_pfx", "parse_pfx", "verify_password", "build_pfx",
]

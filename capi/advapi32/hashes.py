"""Hash, HMAC and MAC objects behind HCRYPTHASH (advapi32 CryptCreateHash and friends).

Each engine has ``update(data)``, ``digest() -> bytes``, ``digest_size`` and ``copy()``.
MD5 and the SHA family come from ``hashlib``; MD2 and MD4, which neither ``hashlib`` (on
OpenSSL 3) nor ``cryptography`` offers, from PyCryptodome.

Sources: Microsoft docs "Base/Enhanced/AES Provider Algorithms" (which provider has which
hash), "HMAC_INFO structure", "CryptCreateHash function"; Wine dlls/rsaenh/tests/rsaenh.c
test_hashes, test_sha2, test_hmac, test_mac, test_import_hmac, test_rc2_import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from capi import constants as C
from capi.advapi32.sessionkeys import AES_PROV, SCHANNEL, SessionKey, flavor_of
from capi.errors import NTE_BAD_ALGID, NTE_BAD_HASH_STATE, NTE_BAD_KEY, WinError


@dataclass
class HMAC_INFO:
    """HMAC_INFO (wincrypt.h): the hash and the inner/outer pad strings (None = the
    default 64 bytes of 0x36 / 0x5C)."""

    HashAlgid: int = C.CALG_SHA1
    pbInnerString: bytes | None = None
    pbOuterString: bytes | None = None

    @property
    def cbInnerString(self) -> int:
        return len(self.pbInnerString or b"")

    @property
    def cbOuterString(self) -> int:
        return len(self.pbOuterString or b"")


def _pycryptodome(name: str):
    def factory(data: bytes = b""):
        from Crypto.Hash import MD2, MD4

        return {"MD2": MD2, "MD4": MD4}[name].new(data)

    return factory


def _hashlib(name: str):
    return lambda data=b"": hashlib.new(name, data)


# ALG_ID -> (name, factory(data=b"") -> hash object, OID for DigestInfo)
DIGESTS = {
    C.CALG_MD2: ("MD2", _pycryptodome("MD2"), "1.2.840.113549.2.2"),
    C.CALG_MD4: ("MD4", _pycryptodome("MD4"), "1.2.840.113549.2.4"),
    C.CALG_MD5: ("MD5", _hashlib("md5"), "1.2.840.113549.2.5"),
    C.CALG_SHA1: ("SHA-1", _hashlib("sha1"), "1.3.14.3.2.26"),
    C.CALG_SHA_256: ("SHA-256", _hashlib("sha256"), "2.16.840.1.101.3.4.2.1"),
    C.CALG_SHA_384: ("SHA-384", _hashlib("sha384"), "2.16.840.1.101.3.4.2.2"),
    C.CALG_SHA_512: ("SHA-512", _hashlib("sha512"), "2.16.840.1.101.3.4.2.3"),
}
_SHA2 = (C.CALG_SHA_256, C.CALG_SHA_384, C.CALG_SHA_512)


def algorithms(provider) -> set[int]:
    """Hash ALG_IDs of a provider: its own table, plus for the Microsoft software CSPs MD2,
    MD4, CALG_MAC and CALG_HMAC (docs "Base/Enhanced Provider Algorithms"; the SChannel
    provider has no MD2/MD4)."""
    own = set(provider.hash_algorithms())
    flavor = flavor_of(provider)
    if flavor is None:
        return own
    extra = {C.CALG_MAC, C.CALG_HMAC}
    if flavor != SCHANNEL:
        extra |= {C.CALG_MD2, C.CALG_MD4}
    if flavor != AES_PROV:
        own -= set(_SHA2)
    return own | extra


def new_digest(alg_id: int, data: bytes = b""):
    entry = DIGESTS.get(alg_id)
    if entry is None:
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg_id:x}")
    return entry[1](data)


def one_shot(alg_id: int):
    """``data -> digest`` for CryptDeriveKey's expansion, or None."""
    if alg_id not in DIGESTS:
        return None
    return lambda data: new_digest(alg_id, data).digest()


def digest_info(alg_id: int, digest: bytes) -> bytes | None:
    """PKCS#1 DigestInfo {AlgorithmIdentifier {oid, NULL}, digest}, or None."""
    entry = DIGESTS.get(alg_id)
    if entry is None:
        return None
    from asn1crypto import algos
    from asn1crypto.core import Null

    return algos.DigestInfo({"digest_algorithm": {"algorithm": entry[2], "parameters": Null()},
                             "digest": digest}).dump()


class HmacEngine:
    """CALG_HMAC: needs HP_HMAC_INFO before data. The inner and outer strings (default 64
    bytes of 0x36 / 0x5C) are XORed with the key, zero-extended; a key longer than the
    string is hashed first (Wine test_import_hmac RFC 2202 cases 6-7; test_rc2_import
    with 136- to 1024-byte strings)."""

    def __init__(self, key: bytes):
        self.key = key
        self.info: HMAC_INFO | None = None
        self._inner = None
        self._outer_pad = b""

    @property
    def ready(self) -> bool:
        return self._inner is not None

    def set_info(self, info) -> None:
        alg = int(getattr(info, "HashAlgid", 0)) & 0xFFFFFFFF
        if alg not in DIGESTS:
            raise WinError(NTE_BAD_ALGID, detail=f"HashAlgid 0x{alg:x}")
        inner = bytes(getattr(info, "pbInnerString", None) or b"\x36" * 64)
        outer = bytes(getattr(info, "pbOuterString", None) or b"\x5c" * 64)
        key = self.key
        if len(key) > min(len(inner), len(outer)):
            key = new_digest(alg, key).digest()
        self.info = HMAC_INFO(alg, inner, outer)
        self._inner = new_digest(alg, _xor_prefix(inner, key))
        self._outer_pad = _xor_prefix(outer, key)

    def update(self, data: bytes) -> None:
        if self._inner is None:
            raise WinError(NTE_BAD_HASH_STATE, detail="HP_HMAC_INFO not set")
        self._inner.update(data)

    def digest(self) -> bytes:
        if self._inner is None:
            raise WinError(NTE_BAD_HASH_STATE, detail="HP_HMAC_INFO not set")
        outer = new_digest(self.info.HashAlgid, self._outer_pad)
        outer.update(self._inner.copy().digest())
        return outer.digest()

    @property
    def digest_size(self) -> int:
        alg = self.info.HashAlgid if self.info else C.CALG_MD5
        return new_digest(alg).digest_size

    def copy(self) -> HmacEngine:
        other = HmacEngine(self.key)
        other.info, other._outer_pad = self.info, self._outer_pad
        other._inner = self._inner.copy() if self._inner is not None else None
        return other


def _xor_prefix(pad: bytes, key: bytes) -> bytes:
    head = bytes(a ^ b for a, b in zip(pad, key, strict=False))
    return head + pad[len(head):]


class MacEngine:
    """CALG_MAC: the last block of the key's cipher in CBC mode, from KP_IV, over the data
    with PKCS#5 padding. Since Windows 8 the MAC keeps its own chain, apart from the
    key's CryptEncrypt state (Wine test_mac: mac_40 / mac_40_2; the older values are
    broken())."""

    def __init__(self, key: SessionKey):
        self.key = key.duplicate()
        self.key.mode = C.CRYPT_MODE_CBC
        self.block = key.spec.block
        self._update = self.key._context(True)
        self._tail = b""
        self._last = bytes(self.block)

    digest_size = property(lambda self: self.block)

    def update(self, data: bytes) -> None:
        data = self._tail + data
        whole = len(data) - len(data) % self.block
        if whole:
            self._last = self._update(data[:whole])[-self.block:]
        self._tail = data[whole:]

    def digest(self) -> bytes:
        n = self.block - len(self._tail)
        return self._update(self._tail + bytes((n,)) * n)[-self.block:]

    def copy(self):
        raise WinError(NTE_BAD_ALGID, detail="a MAC cannot be duplicated")


def create(provider, alg_id: int, key):
    """The engine for CryptCreateHash. NTE_BAD_ALGID for an ALG_ID the provider lacks;
    NTE_BAD_KEY for CALG_HMAC/CALG_MAC without a session key (Wine test_hmac) or CALG_MAC
    with a stream-cipher key (Wine test_mac), and for a key with a plain hash."""
    if alg_id not in algorithms(provider):
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg_id:x}")
    if alg_id == C.CALG_HMAC:
        if not isinstance(key, SessionKey):
            raise WinError(NTE_BAD_KEY, detail="CALG_HMAC needs a key")
        return HmacEngine(key.key)
    if alg_id == C.CALG_MAC:
        if not isinstance(key, SessionKey) or not key.spec.block:
            raise WinError(NTE_BAD_KEY, detail="CALG_MAC needs a block-cipher key")
        return MacEngine(key)
    if key is not None:
        raise WinError(NTE_BAD_KEY)
    if alg_id == C.CALG_SSL3_SHAMD5:
        return None  # set with HP_HASHVAL only
    return new_digest(alg_id)


__all__ = ["HMAC_INFO", "HmacEngine", "MacEngine", "DIGESTS", "algorithms", "create",
           "new_digest", "one_shot", "digest_info"]

"""Hashes and HMAC (BCryptCreateHash ... BCryptFinishHash, BCryptHash) and the two
password/hash KDFs built on them (BCryptDeriveKeyPBKDF2, BCryptDeriveKeyCapi)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from capi.bcrypt import consts as K
from capi.bcrypt._status import as_bytes, fail, u32
from capi.bcrypt.algorithms import BCRYPT_ALG_HANDLE, BCRYPT_HANDLE, algorithm_property, resolve
from capi.errors import STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED


class BCRYPT_HASH_HANDLE(BCRYPT_HANDLE):
    """A hash or HMAC object. After BCryptFinishHash (unless created reusable) it accepts
    nothing more (STATUS_INVALID_HANDLE)."""

    def __init__(self, alg: BCRYPT_ALG_HANDLE, secret: bytes | None, reusable: bool):
        self.alg = alg
        self.spec = alg.spec
        self.secret = secret
        self.reusable = reusable
        self.finished = False
        self._open = True
        self.ctx = self._new()

    def _new(self):
        algorithm = self.spec.hash_factory()
        if self.secret is not None:
            return _hmac.HMAC(self.secret, algorithm)
        return hashes.Hash(algorithm)

    def _live(self):
        if not self._open or self.finished:
            raise fail(STATUS_INVALID_HANDLE)
        return self.ctx

    def _finish(self) -> bytes:
        digest = self._live().finalize()
        if self.reusable:
            self.ctx = self._new()
        else:
            self.finished = True
        return digest

    def _get_property(self, name: str):
        if name == K.BCRYPT_IS_KEYED_HASH:
            return int(self.secret is not None)
        if name == K.BCRYPT_IS_REUSABLE_HASH:
            return int(self.reusable)
        if name == K.BCRYPT_OBJECT_LENGTH:
            raise fail(STATUS_NOT_SUPPORTED)
        return algorithm_property(self.spec, name, K.BCRYPT_CHAIN_MODE_NA, alg_handle=False)

    def __repr__(self):
        return f"<BCRYPT_HASH_HANDLE {self.spec.name}{' HMAC' if self.secret is not None else ''}>"


def _hash_alg(hAlgorithm) -> BCRYPT_ALG_HANDLE:
    alg = resolve(hAlgorithm, BCRYPT_ALG_HANDLE)
    if alg.spec.kind != "hash":
        raise fail(STATUS_INVALID_HANDLE)
    return alg


def BCryptCreateHash(hAlgorithm: BCRYPT_ALG_HANDLE | int, pbHashObject: bytearray | None = None,
                     pbSecret: bytes | None = None, dwFlags: int = 0) -> BCRYPT_HASH_HANDLE:
    """BCryptCreateHash -> hHash. pbSecret keys an HMAC provider (opened with
    BCRYPT_ALG_HANDLE_HMAC_FLAG); BCRYPT_HASH_REUSABLE_FLAG makes FinishHash reset the
    object. pbHashObject has no Python form (None)."""
    alg = _hash_alg(hAlgorithm)
    flags = u32(dwFlags)
    if flags & ~K.BCRYPT_HASH_REUSABLE_FLAG:
        raise fail(STATUS_INVALID_PARAMETER)
    secret = bytes(as_bytes(pbSecret, "pbSecret")) if alg.hmac else None
    return BCRYPT_HASH_HANDLE(alg, secret, bool(flags & K.BCRYPT_HASH_REUSABLE_FLAG))


def _hash_handle(hHash, code=STATUS_INVALID_HANDLE) -> BCRYPT_HASH_HANDLE:
    if not isinstance(hHash, BCRYPT_HASH_HANDLE) or not hHash._open:
        raise fail(code)
    return hHash


def BCryptHashData(hHash: BCRYPT_HASH_HANDLE, pbInput: bytes, dwFlags: int = 0) -> None:
    """BCryptHashData. STATUS_INVALID_HANDLE for a freed or finished hash."""
    if type(hHash) is not BCRYPT_HASH_HANDLE:
        raise fail(STATUS_INVALID_HANDLE)
    if pbInput.__class__ is not bytes:
        pbInput = as_bytes(pbInput, "pbInput")
    hHash._live().update(pbInput)


def BCryptFinishHash(hHash: BCRYPT_HASH_HANDLE, cbOutput: int, dwFlags: int = 0) -> bytes:
    """BCryptFinishHash -> the digest. cbOutput must be the digest length
    (STATUS_INVALID_PARAMETER otherwise, Wine bcrypt.c test_hash)."""
    h = _hash_handle(hHash)
    h._live()
    if cbOutput != h.spec.digest_size:
        raise fail(STATUS_INVALID_PARAMETER)
    return h._finish()


def BCryptDuplicateHash(hHash: BCRYPT_HASH_HANDLE, pbHashObject: bytearray | None = None,
                        dwFlags: int = 0) -> BCRYPT_HASH_HANDLE:
    """BCryptDuplicateHash -> an independent copy of the hash state."""
    h = _hash_handle(hHash)
    ctx = h._live()
    dup = BCRYPT_HASH_HANDLE.__new__(BCRYPT_HASH_HANDLE)
    dup.alg, dup.spec, dup.secret, dup.reusable = h.alg, h.spec, h.secret, h.reusable
    dup.finished, dup._open, dup.ctx = False, True, ctx.copy()
    return dup


def BCryptDestroyHash(hHash: BCRYPT_HASH_HANDLE) -> None:
    """BCryptDestroyHash. A NULL, freed or non-hash handle is STATUS_INVALID_PARAMETER
    (Wine bcrypt.c test_hash, test_SecretAgreement)."""
    h = _hash_handle(hHash, STATUS_INVALID_PARAMETER)
    h._open = False
    h.ctx = None


def BCryptHash(hAlgorithm: BCRYPT_ALG_HANDLE | int, pbSecret: bytes | None, pbInput: bytes | None,
               cbOutput: int) -> bytes:
    """BCryptHash -> digest of pbInput (HMAC keyed with pbSecret on an HMAC provider).
    cbOutput must be the digest length (STATUS_INVALID_PARAMETER, Wine test_hash)."""
    alg = _hash_alg(hAlgorithm)
    if cbOutput != alg.spec.digest_size:
        raise fail(STATUS_INVALID_PARAMETER)
    h = BCRYPT_HASH_HANDLE(alg, bytes(as_bytes(pbSecret)) if alg.hmac else None, False)
    h.ctx.update(as_bytes(pbInput, "pbInput"))
    return h._finish()


def BCryptDeriveKeyPBKDF2(hPrf: BCRYPT_ALG_HANDLE | int, pbPassword: bytes | None,
                          pbSalt: bytes | None, cIterations: int, cbDerivedKey: int,
                          dwFlags: int = 0) -> bytes:
    """BCryptDeriveKeyPBKDF2 -> cbDerivedKey bytes (RFC 2898 with HMAC over hPrf's hash).
    Zero iterations is STATUS_INVALID_PARAMETER (Wine test_BcryptDeriveKeyPBKDF2)."""
    alg = _hash_alg(hPrf)
    if (isinstance(cIterations, bool) or not isinstance(cIterations, int)
            or not 0 < cIterations < 1 << 64):
        raise fail(STATUS_INVALID_PARAMETER)
    if isinstance(cbDerivedKey, bool) or not isinstance(cbDerivedKey, int) or not 0 <= cbDerivedKey <= 0xFFFFFFFF:
        raise fail(STATUS_INVALID_PARAMETER)
    if u32(dwFlags):
        raise fail(STATUS_INVALID_PARAMETER)
    if cbDerivedKey == 0:
        return b""
    if cbDerivedKey > (2**32 - 1) * alg.spec.digest_size or cIterations > 0xFFFFFFFF:
        raise fail(STATUS_INVALID_PARAMETER)
    kdf = PBKDF2HMAC(alg.spec.hash_factory(), cbDerivedKey, bytes(as_bytes(pbSalt)), cIterations)
    return kdf.derive(bytes(as_bytes(pbPassword)))


def BCryptDeriveKeyCapi(hHash: BCRYPT_HASH_HANDLE, hTargetAlg: BCRYPT_ALG_HANDLE | int | None,
                        cbDerivedKey: int, dwFlags: int = 0) -> bytes:
    """BCryptDeriveKeyCapi -> key bytes as CryptDeriveKey makes them: the digest, or for
    keys longer than it, H(ipad ^ digest) || H(opad ^ digest) over the hash block. Finishes
    the hash. cbDerivedKey must be 1..2*digest length (STATUS_INVALID_PARAMETER, Wine
    test_BcryptDeriveKeyCapi)."""
    if hHash is None:
        raise fail(STATUS_INVALID_PARAMETER)
    h = _hash_handle(hHash)
    if hTargetAlg is not None:
        resolve(hTargetAlg, BCRYPT_ALG_HANDLE)
    size = h.spec.digest_size
    if (isinstance(cbDerivedKey, bool) or not isinstance(cbDerivedKey, int)
            or not 0 < cbDerivedKey <= 2 * size or u32(dwFlags)):
        raise fail(STATUS_INVALID_PARAMETER)
    digest = h._finish()
    if cbDerivedKey <= size:
        return digest[:cbDerivedKey]
    block = h.spec.hash_block
    padded = digest.ljust(block, b"\0")
    out = b""
    value = int.from_bytes(padded, "big")
    for pad in (0x36, 0x5C):
        ctx = hashes.Hash(h.spec.hash_factory())
        ctx.update((value ^ int.from_bytes(bytes([pad]) * block, "big")).to_bytes(block, "big"))
        out += ctx.finalize()
    return out[:cbDerivedKey]


__all__ = [
    "BCRYPT_HASH_HANDLE", "BCryptCreateHash", "BCryptHashData", "BCryptFinishHash",
    "BCryptDuplicateHash", "BCryptDestroyHash", "BCryptHash", "BCryptDeriveKeyPBKDF2",
    "BCryptDeriveKeyCapi",
]

"""Algorithm providers: BCryptOpenAlgorithmProvider and friends, the one table of
algorithms this bcrypt.dll offers, properties, pseudo-handles and the RNG."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

from capi.bcrypt import consts as K
from capi.bcrypt._status import fail, u32
from capi.bcrypt.structs import BCRYPT_ALGORITHM_IDENTIFIER, BCRYPT_KEY_LENGTHS_STRUCT
from capi.errors import (
    STATUS_ACCESS_DENIED,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY,
    STATUS_NOT_FOUND,
    STATUS_NOT_SUPPORTED,
)

# ---------------------------------------------------------------------------------------
# The algorithm table
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlgSpec:
    name: str
    op_class: int                    # BCRYPT_*_OPERATION
    kind: str                        # hash | cipher | stream | rng | rsa | ecdsa | ecdh | kdf
    object_length: int = 0           # opaque, non-zero like Windows' (ours, not Windows' numbers)
    hash_factory: object = None      # cryptography hash class (None: cryptography lacks it)
    digest_size: int = 0
    hash_block: int = 0
    block_length: int = 0
    key_lengths: tuple[int, int, int] | None = None   # bits: min, max, increment
    modes: tuple[str, ...] = ()
    curve: str | None = None         # nistP256...
    key_bytes: int = 0               # ECC coordinate size


def _hash(name, factory, size, block, objlen):
    return AlgSpec(name, K.BCRYPT_HASH_OPERATION, "hash", objlen, factory, size, block)


_BLOCK_MODES = (K.BCRYPT_CHAIN_MODE_CBC, K.BCRYPT_CHAIN_MODE_ECB, K.BCRYPT_CHAIN_MODE_CFB)

ALGORITHMS: dict[str, AlgSpec] = {s.name: s for s in (
    _hash(K.BCRYPT_MD2_ALGORITHM, None, 16, 16, 0x10E),
    _hash(K.BCRYPT_MD4_ALGORITHM, None, 16, 64, 0x116),
    _hash(K.BCRYPT_MD5_ALGORITHM, hashes.MD5, 16, 64, 0x116),
    _hash(K.BCRYPT_SHA1_ALGORITHM, hashes.SHA1, 20, 64, 0x116),
    _hash(K.BCRYPT_SHA256_ALGORITHM, hashes.SHA256, 32, 64, 0x13E),
    _hash(K.BCRYPT_SHA384_ALGORITHM, hashes.SHA384, 48, 128, 0x1BE),
    _hash(K.BCRYPT_SHA512_ALGORITHM, hashes.SHA512, 64, 128, 0x1BE),
    AlgSpec(K.BCRYPT_AES_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "cipher", 0x28C,
            block_length=16, key_lengths=(128, 256, 64),
            modes=(*_BLOCK_MODES, K.BCRYPT_CHAIN_MODE_CCM, K.BCRYPT_CHAIN_MODE_GCM)),
    AlgSpec(K.BCRYPT_3DES_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "cipher", 0x22C,
            block_length=8, key_lengths=(192, 192, 0), modes=_BLOCK_MODES),
    AlgSpec(K.BCRYPT_3DES_112_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "cipher", 0x22C,
            block_length=8, key_lengths=(128, 128, 0), modes=_BLOCK_MODES),
    AlgSpec(K.BCRYPT_DES_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "cipher", 0x10C,
            block_length=8, key_lengths=(64, 64, 0), modes=_BLOCK_MODES),
    AlgSpec(K.BCRYPT_RC2_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "cipher", 0x11C,
            block_length=8, key_lengths=(16, 128, 8), modes=_BLOCK_MODES),
    AlgSpec(K.BCRYPT_RC4_ALGORITHM, K.BCRYPT_CIPHER_OPERATION, "stream", 0x20C,
            block_length=1, key_lengths=(8, 512, 8), modes=(K.BCRYPT_CHAIN_MODE_NA,)),
    AlgSpec(K.BCRYPT_RNG_ALGORITHM, K.BCRYPT_RNG_OPERATION, "rng"),
    AlgSpec(K.BCRYPT_RSA_ALGORITHM, K.BCRYPT_ASYMMETRIC_ENCRYPTION_OPERATION
            | K.BCRYPT_SIGNATURE_OPERATION, "rsa", 0x24, key_lengths=(512, 16384, 64)),
    AlgSpec(K.BCRYPT_RSA_SIGN_ALGORITHM, K.BCRYPT_SIGNATURE_OPERATION, "rsa", 0x24,
            key_lengths=(512, 16384, 64)),
    *(AlgSpec(f"ECDSA_P{bits}", K.BCRYPT_SIGNATURE_OPERATION, "ecdsa", 0x24,
              key_lengths=(bits, bits, 0), curve=f"nistP{bits}", key_bytes=(bits + 7) // 8)
      for bits in (256, 384, 521)),
    *(AlgSpec(f"ECDH_P{bits}", K.BCRYPT_SECRET_AGREEMENT_OPERATION, "ecdh", 0x24,
              key_lengths=(bits, bits, 0), curve=f"nistP{bits}", key_bytes=(bits + 7) // 8)
      for bits in (256, 384, 521)),
    AlgSpec(K.BCRYPT_PBKDF2_ALGORITHM, K.BCRYPT_KEY_DERIVATION_OPERATION, "kdf"),
    AlgSpec(K.BCRYPT_CAPI_KDF_ALGORITHM, K.BCRYPT_KEY_DERIVATION_OPERATION, "kdf"),
)}
_BY_UPPER = {name.upper(): spec for name, spec in ALGORITHMS.items()}

# ---------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------


class BCRYPT_HANDLE:
    """Base of every bcrypt handle: a context manager whose exit frees it."""

    _open = True

    def _check(self):
        if not self._open:
            raise fail(STATUS_INVALID_HANDLE)

    def _get_property(self, name: str):
        raise fail(STATUS_NOT_SUPPORTED)

    def _set_property(self, name: str, value) -> None:
        raise fail(STATUS_NOT_SUPPORTED)

    def _free(self) -> None:
        self._open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._open:
            self._free()
        return False


class BCRYPT_ALG_HANDLE(BCRYPT_HANDLE):
    """An open algorithm provider."""

    pseudo = False

    def __init__(self, spec: AlgSpec, hmac: bool = False):
        self.spec = spec
        self.hmac = hmac
        self.mode = spec.modes[0] if spec.modes else K.BCRYPT_CHAIN_MODE_NA

    def __repr__(self):
        state = "" if self._open else " closed"
        return f"<BCRYPT_ALG_HANDLE {self.spec.name}{' HMAC' if self.hmac else ''}{state}>"

    def _get_property(self, name: str):
        return algorithm_property(self.spec, name, self.mode, alg_handle=True)

    def _set_property(self, name: str, value) -> None:
        if self.pseudo:
            # Wine bcrypt.c test_aes: SetProperty on BCRYPT_AES_CBC_ALG_HANDLE -> ACCESS_DENIED
            raise fail(STATUS_ACCESS_DENIED)
        if name == K.BCRYPT_CHAINING_MODE:
            self.mode = check_mode(self.spec, value)
            return
        raise fail(STATUS_NOT_SUPPORTED)


class _PseudoAlgHandle(BCRYPT_ALG_HANDLE):
    """BCRYPT_*_ALG_HANDLE: always open, never closed, properties read-only. Its
    ``value`` is the number bcrypt.h gives it; that number is accepted wherever a handle is."""

    pseudo = True

    def __init__(self, name: str, value: int, spec: AlgSpec, hmac: bool, mode: str | None):
        super().__init__(spec, hmac)
        self.value = value
        self._name = name
        if mode:
            self.mode = mode

    def __int__(self):
        return self.value

    def __repr__(self):
        return self._name

    def _free(self):
        raise fail(STATUS_INVALID_HANDLE)  # Wine test_BCryptGenRandom: close a pseudo-handle


def _pseudo_target(name: str):
    stem = name[len("BCRYPT_"):-len("_ALG_HANDLE")]
    hmac = stem.startswith("HMAC_")
    if hmac:
        stem = stem[len("HMAC_"):]
    for suffix, mode in (("_CBC", K.BCRYPT_CHAIN_MODE_CBC), ("_ECB", K.BCRYPT_CHAIN_MODE_ECB),
                         ("_CFB", K.BCRYPT_CHAIN_MODE_CFB), ("_CCM", K.BCRYPT_CHAIN_MODE_CCM),
                         ("_GCM", K.BCRYPT_CHAIN_MODE_GCM)):
        if stem.endswith(suffix):
            return stem[: -len(suffix)], hmac, mode
    return stem, hmac, None


PSEUDO_HANDLES: dict[str, _PseudoAlgHandle] = {}
PSEUDO_BY_VALUE: dict[int, _PseudoAlgHandle] = {}
for _name, _value in K.PSEUDO_HANDLE_VALUES.items():
    _alg, _hmac, _mode = _pseudo_target(_name)
    _spec = _BY_UPPER.get(_alg)
    if _spec is None or (_mode and _mode not in _spec.modes):
        continue  # an algorithm this bcrypt.dll does not offer (DH, DSA, DESX, CMAC...)
    PSEUDO_HANDLES[_name] = PSEUDO_BY_VALUE[_value] = _PseudoAlgHandle(_name, _value, _spec,
                                                                        _hmac, _mode)
globals().update(PSEUDO_HANDLES)


def resolve(handle, cls=BCRYPT_HANDLE, code: int = STATUS_INVALID_HANDLE):
    """The live handle object for ``handle`` (an object or a pseudo-handle number), or
    ``code`` raised."""
    if isinstance(handle, int) and not isinstance(handle, bool):
        handle = PSEUDO_BY_VALUE.get(handle)
    if not isinstance(handle, cls) or not handle._open:
        raise fail(code)
    return handle


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------


def dword(value) -> int:
    """A DWORD property input: an int or its 4 little-endian bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFFFFFFFF
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == 4:
        return struct.unpack("<I", bytes(value))[0]
    # Wine bcrypt.c test_RSA: a 2-byte KeyLength is STATUS_INVALID_PARAMETER
    raise fail(STATUS_INVALID_PARAMETER)


def wstr(value) -> str:
    """A string property input: str, or its UTF-16LE bytes (terminator optional)."""
    if isinstance(value, str):
        return value.split("\0", 1)[0]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) % 2:
            raise fail(STATUS_INVALID_PARAMETER)
        return raw.decode("utf-16-le", "replace").split("\0", 1)[0]
    raise fail(STATUS_INVALID_PARAMETER)


def check_mode(spec: AlgSpec, value) -> str:
    mode = wstr(value)
    if mode not in spec.modes:
        # Wine bcrypt.c test_3des: ChainingModeGCM on 3DES -> STATUS_NOT_SUPPORTED
        raise fail(STATUS_NOT_SUPPORTED)
    return mode


_AUTH_TAG_LENGTHS = {
    K.BCRYPT_CHAIN_MODE_GCM: BCRYPT_KEY_LENGTHS_STRUCT(12, 16, 1),  # Wine test_BCryptEncrypt
    K.BCRYPT_CHAIN_MODE_CCM: BCRYPT_KEY_LENGTHS_STRUCT(4, 16, 2),   # NIST SP 800-38C tag sizes
}


def algorithm_property(spec: AlgSpec, name: str, mode: str, alg_handle: bool):
    """Properties an algorithm handle answers (a key or hash adds its own first)."""
    if name == K.BCRYPT_ALGORITHM_NAME:
        return spec.name
    if spec.kind == "hash":
        if name == K.BCRYPT_OBJECT_LENGTH:
            return spec.object_length
        if name == K.BCRYPT_HASH_LENGTH:
            return spec.digest_size
        if name == K.BCRYPT_HASH_BLOCK_LENGTH:
            return spec.hash_block
    if spec.kind in ("cipher", "stream"):
        if name in (K.BCRYPT_OBJECT_LENGTH, K.BCRYPT_KEY_OBJECT_LENGTH):
            return spec.object_length
        if name == K.BCRYPT_BLOCK_LENGTH:
            return spec.block_length
        if name == K.BCRYPT_CHAINING_MODE:
            return mode
        if name == K.BCRYPT_AUTH_TAG_LENGTH and alg_handle and mode in _AUTH_TAG_LENGTHS:
            return _AUTH_TAG_LENGTHS[mode]
        if name == K.BCRYPT_BLOCK_SIZE_LIST and spec.kind == "cipher":
            return [spec.block_length]
    if spec.key_lengths and name == K.BCRYPT_KEY_LENGTHS:
        return BCRYPT_KEY_LENGTHS_STRUCT(*spec.key_lengths)
    if spec.kind == "rsa" and name == K.BCRYPT_PADDING_SCHEMES:
        pads = K.BCRYPT_SUPPORTED_PAD_PKCS1_SIG | K.BCRYPT_SUPPORTED_PAD_PSS
        if spec.name == K.BCRYPT_RSA_ALGORITHM:
            pads |= K.BCRYPT_SUPPORTED_PAD_PKCS1_ENC | K.BCRYPT_SUPPORTED_PAD_OAEP
        return pads
    if spec.curve and name == K.BCRYPT_ECC_CURVE_NAME:
        return spec.curve
    if spec.kind in ("rsa", "ecdsa", "ecdh") and name == K.BCRYPT_OBJECT_LENGTH:
        return spec.object_length
    # Wine bcrypt.c test_rng: ObjectLength/HashDigestLength on RNG -> STATUS_NOT_SUPPORTED
    raise fail(STATUS_NOT_SUPPORTED)


# ---------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------


def BCryptOpenAlgorithmProvider(pszAlgId: str, pszImplementation: str | None = None,
                                dwFlags: int = 0) -> BCRYPT_ALG_HANDLE:
    """BCryptOpenAlgorithmProvider -> hAlg. STATUS_NOT_FOUND for an algorithm or
    implementation this system lacks; STATUS_INVALID_PARAMETER for bad flags."""
    flags = u32(dwFlags)
    if not isinstance(pszAlgId, str):
        raise fail(STATUS_INVALID_PARAMETER)
    if flags & ~(K.BCRYPT_ALG_HANDLE_HMAC_FLAG | K.BCRYPT_PROV_DISPATCH | K.BCRYPT_HASH_REUSABLE_FLAG):
        raise fail(STATUS_INVALID_PARAMETER)
    if pszImplementation is not None and (
            not isinstance(pszImplementation, str)
            or pszImplementation.lower() != K.MS_PRIMITIVE_PROVIDER.lower()):
        raise fail(STATUS_NOT_FOUND)
    spec = _BY_UPPER.get(pszAlgId.upper())
    if spec is None:
        raise fail(STATUS_NOT_FOUND)
    if spec.kind == "hash" and spec.hash_factory is None:
        raise fail(STATUS_NOT_FOUND, f"{spec.name}: the cryptography package has no {spec.name}")
    hmac = bool(flags & K.BCRYPT_ALG_HANDLE_HMAC_FLAG)
    if hmac and spec.kind != "hash":
        raise fail(STATUS_NOT_FOUND)
    return BCRYPT_ALG_HANDLE(spec, hmac)


def BCryptCloseAlgorithmProvider(hAlgorithm: BCRYPT_ALG_HANDLE | int, dwFlags: int = 0) -> None:
    """BCryptCloseAlgorithmProvider. A closed, NULL or pseudo handle is
    STATUS_INVALID_HANDLE (Wine bcrypt.c test_BCryptDecrypt, test_BCryptGenRandom)."""
    if isinstance(hAlgorithm, int) and not isinstance(hAlgorithm, bool):
        hAlgorithm = PSEUDO_BY_VALUE.get(hAlgorithm)
    if not isinstance(hAlgorithm, BCRYPT_ALG_HANDLE) or not hAlgorithm._open:
        raise fail(STATUS_INVALID_HANDLE)
    hAlgorithm._free()


_ALL_OPERATIONS = (K.BCRYPT_CIPHER_OPERATION | K.BCRYPT_HASH_OPERATION
                   | K.BCRYPT_ASYMMETRIC_ENCRYPTION_OPERATION | K.BCRYPT_SECRET_AGREEMENT_OPERATION
                   | K.BCRYPT_SIGNATURE_OPERATION | K.BCRYPT_RNG_OPERATION
                   | K.BCRYPT_KEY_DERIVATION_OPERATION)


def BCryptEnumAlgorithms(dwAlgOperations: int = 0, dwFlags: int = 0) -> list:
    """BCryptEnumAlgorithms -> [BCRYPT_ALGORITHM_IDENTIFIER]; 0 means every class.
    Unknown operation bits are STATUS_INVALID_PARAMETER (Wine test_BCryptEnumAlgorithms)."""
    ops = u32(dwAlgOperations)
    if ops & ~_ALL_OPERATIONS or u32(dwFlags):
        raise fail(STATUS_INVALID_PARAMETER)
    out = []
    for spec in ALGORITHMS.values():
        if spec.kind == "hash" and spec.hash_factory is None:
            continue
        classes = spec.op_class if not ops else spec.op_class & ops
        if classes:
            out.append(BCRYPT_ALGORITHM_IDENTIFIER(spec.name, spec.op_class, 0))
    return out


def BCryptGetProperty(hObject: BCRYPT_HANDLE | int, pszProperty: str, dwFlags: int = 0
                      ) -> int | str | bytes | list[int] | BCRYPT_KEY_LENGTHS_STRUCT:
    """BCryptGetProperty -> int (DWORD properties), str, structure or bytes.
    STATUS_INVALID_HANDLE for a NULL/freed handle, STATUS_INVALID_PARAMETER for a NULL
    name, STATUS_NOT_SUPPORTED for a property the object lacks."""
    obj = resolve(hObject)
    if not isinstance(pszProperty, str):
        raise fail(STATUS_INVALID_PARAMETER)
    return obj._get_property(pszProperty)


def BCryptSetProperty(hObject: BCRYPT_HANDLE | int, pszProperty: str, pbInput: int | str | bytes,
                      dwFlags: int = 0) -> None:
    """BCryptSetProperty. DWORD properties take an int or 4 little-endian bytes, strings a
    str (or UTF-16LE bytes). STATUS_ACCESS_DENIED on a pseudo-handle."""
    obj = resolve(hObject)
    if not isinstance(pszProperty, str) or pbInput is None:
        raise fail(STATUS_INVALID_PARAMETER)
    obj._set_property(pszProperty, pbInput)


def BCryptGenRandom(hAlgorithm: BCRYPT_ALG_HANDLE | int | None, cbBuffer: int,
                    dwFlags: int = 0) -> bytes:
    """BCryptGenRandom -> cbBuffer random bytes from the system CSPRNG. hAlgorithm None
    needs BCRYPT_USE_SYSTEM_PREFERRED_RNG (else STATUS_INVALID_HANDLE, Wine
    test_BCryptGenRandom)."""
    flags = u32(dwFlags)
    if flags & ~(K.BCRYPT_RNG_USE_ENTROPY_IN_BUFFER | K.BCRYPT_USE_SYSTEM_PREFERRED_RNG):
        raise fail(STATUS_INVALID_PARAMETER)
    if hAlgorithm is None:
        if not flags & K.BCRYPT_USE_SYSTEM_PREFERRED_RNG:
            raise fail(STATUS_INVALID_HANDLE)
    else:
        alg = resolve(hAlgorithm, BCRYPT_ALG_HANDLE)
        if alg.spec.kind != "rng":
            raise fail(STATUS_INVALID_HANDLE)
    if isinstance(cbBuffer, bool) or not isinstance(cbBuffer, int) or not 0 <= cbBuffer <= 0xFFFFFFFF:
        raise fail(STATUS_INVALID_PARAMETER)
    if cbBuffer > 1 << 30:
        raise fail(STATUS_NO_MEMORY)
    return os.urandom(cbBuffer)


__all__ = [
    "BCRYPT_HANDLE", "BCRYPT_ALG_HANDLE", "BCryptOpenAlgorithmProvider",
    "BCryptCloseAlgorithmProvider", "BCryptEnumAlgorithms", "BCryptGetProperty",
    "BCryptSetProperty", "BCryptGenRandom", *PSEUDO_HANDLES,
]

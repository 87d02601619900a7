"""NCryptSecretAgreement and NCryptDeriveKey (ncrypt.dll): ECDH between a KSP private key
and a public key, and the key derivation functions over the agreed secret.

The derivation functions are bcrypt.dll's (``capi.bcrypt.derive``): NCryptDeriveKey takes
the same KDF names and the same parameter buffers (NCryptBufferDesc has
BCryptBufferDesc's layout), and reports the same failures as SECURITY_STATUS codes.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac

from capi import constants as C
from capi.bcrypt import consts as K
from capi.bcrypt.structs import BCryptBuffer, BCryptBufferDesc
from capi.errors import (
    NTE_BAD_FLAGS,
    NTE_INVALID_HANDLE,
    NTE_INVALID_PARAMETER,
    NTE_NOT_SUPPORTED,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_NOT_SUPPORTED,
    WinError,
    winapi,
)
from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE, _key, _Object, _u32

NCryptBuffer = BCryptBuffer
NCryptBufferDesc = BCryptBufferDesc
KDF_USE_SECRET_AS_HMAC_KEY_FLAG = 0x1
KDF_TLS_PRF_PROTOCOL = 0x6
# Protocol numbers (schannel.h SP_PROT_*_CLIENT | _SERVER)
_TLS1_0, _TLS1_1, _TLS1_2 = 0x000000C0, 0x00000300, 0x00000C00
_DERIVE_FLAGS = KDF_USE_SECRET_AS_HMAC_KEY_FLAG | C.NCRYPT_SILENT_FLAG
_STATUS_TO_NTE = {STATUS_INVALID_PARAMETER: NTE_INVALID_PARAMETER,
                  STATUS_NOT_SUPPORTED: NTE_NOT_SUPPORTED,
                  STATUS_INVALID_HANDLE: NTE_INVALID_HANDLE}


class NCRYPT_SECRET_HANDLE(_Object):
    """The agreed secret Z (big-endian, the curve's field size), kept out of reach."""

    def __init__(self, z: bytes):
        self._z = z

    def __repr__(self) -> str:
        return "<NCRYPT_SECRET_HANDLE>"

    def _free(self) -> None:
        self._z = b""


def _secret(h) -> NCRYPT_SECRET_HANDLE:
    if not isinstance(h, NCRYPT_SECRET_HANDLE) or not h._open:
        raise WinError(NTE_INVALID_HANDLE)
    return h


@winapi
def NCryptSecretAgreement(hPrivKey: NCRYPT_KEY_HANDLE, hPubKey: NCRYPT_KEY_HANDLE,
                          dwFlags: int = 0) -> NCRYPT_SECRET_HANDLE:
    """NCryptSecretAgreement -> hAgreedSecret. Both handles are ECDH keys of one curve
    (the public one may be imported from an ECCPUBLIC blob); NTE_INVALID_HANDLE for
    anything that is not a live key handle, NTE_INVALID_PARAMETER for a key of another
    algorithm or curve or a private key that is only public, NTE_BAD_FLAGS for a flag but
    NCRYPT_SILENT_FLAG, NTE_BAD_KEY_STATE for an unfinalized key."""
    priv, pub = _key(hPrivKey), _key(hPubKey)
    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    agree = getattr(priv.key, "agree", None)
    if agree is None:
        raise WinError(NTE_NOT_SUPPORTED, detail="this provider has no secret agreement")
    if not pub.key.finalized or pub.key.public is None:
        from capi.errors import NTE_BAD_KEY_STATE

        raise WinError(NTE_BAD_KEY_STATE)
    if not str(pub.key.algorithm).upper().startswith("ECDH"):
        raise WinError(NTE_INVALID_PARAMETER, detail="the public key is not an ECDH key")
    return NCRYPT_SECRET_HANDLE(agree(pub.key.public))


def _buffers(desc) -> dict[int, list]:
    out: dict[int, list] = {}
    if desc is not None and not hasattr(desc, "pBuffers"):
        raise WinError(NTE_INVALID_PARAMETER, detail="pParameterList must be an NCryptBufferDesc")
    buffers = getattr(desc, "pBuffers", None) or []
    if not isinstance(buffers, (list, tuple)):
        raise WinError(NTE_INVALID_PARAMETER, detail="pBuffers must be a list")
    for buf in buffers:
        kind = getattr(buf, "BufferType", None)
        if not isinstance(kind, int):
            raise WinError(NTE_INVALID_PARAMETER, detail="BufferType must be an int")
        out.setdefault(kind, []).append(getattr(buf, "pvBuffer", None))
    return out


def _dword(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFFFFFFFF
    if isinstance(value, (bytes, bytearray)) and len(value) == 4:
        return int.from_bytes(value, "little")
    raise WinError(NTE_INVALID_PARAMETER, detail="a DWORD buffer")


def _name(value) -> str:
    if isinstance(value, str):
        return value.split("\0", 1)[0]
    return _bytes(value).decode("utf-16-le", "replace").split("\0", 1)[0]


def _bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise WinError(NTE_INVALID_PARAMETER, detail="buffer must be bytes")


def _p_hash(algorithm, secret: bytes, seed: bytes, size: int) -> bytes:
    """RFC 5246 §5 P_hash."""
    out, a = b"", seed
    while len(out) < size:
        mac = _hmac.HMAC(secret, algorithm)
        mac.update(a)
        a = mac.finalize()
        mac = _hmac.HMAC(secret, algorithm)
        mac.update(a + seed)
        out += mac.finalize()
    return out[:size]


def _tls_prf(z: bytes, params: dict[int, list]) -> bytes:
    """BCRYPT_KDF_TLS_PRF: the 48-byte master secret PRF(Z, label, seed). KDF_TLS_PRF_LABEL
    is an ANSI string and KDF_TLS_PRF_SEED must be 64 bytes (client and server random);
    KDF_TLS_PRF_PROTOCOL picks TLS 1.0/1.1 (MD5 xor SHA-1) or TLS 1.2 (KDF_HASH_ALGORITHM,
    SHA-256 by default) -- the "BCryptDeriveKey" page's TLS_PRF table."""
    labels, seeds = params.get(K.KDF_TLS_PRF_LABEL), params.get(K.KDF_TLS_PRF_SEED)
    if not labels or not seeds:
        raise WinError(NTE_INVALID_PARAMETER, detail="TLS_PRF needs a label and a seed")
    label, seed = _bytes(labels[0]).split(b"\0", 1)[0], _bytes(seeds[0])
    if len(seed) != 64:
        raise WinError(NTE_INVALID_PARAMETER, detail="KDF_TLS_PRF_SEED must be 64 bytes")
    protocol = _dword(params.get(KDF_TLS_PRF_PROTOCOL, [_TLS1_2])[0])
    size = 48
    if protocol & (_TLS1_0 | _TLS1_1):
        half = (len(z) + 1) // 2
        md5 = _p_hash(hashes.MD5(), z[:half], label + seed, size)
        sha1 = _p_hash(hashes.SHA1(), z[len(z) - half:], label + seed, size)
        return (int.from_bytes(md5, "big") ^ int.from_bytes(sha1, "big")).to_bytes(size, "big")
    if not protocol & _TLS1_2:
        raise WinError(NTE_NOT_SUPPORTED, detail=f"protocol 0x{protocol:x}")
    names = params.get(K.KDF_HASH_ALGORITHM)
    name = _name(names[0]) if names else K.BCRYPT_SHA256_ALGORITHM
    factory = {K.BCRYPT_SHA256_ALGORITHM: hashes.SHA256, K.BCRYPT_SHA384_ALGORITHM: hashes.SHA384}.get(name)
    if factory is None:
        raise WinError(NTE_NOT_SUPPORTED, detail=f"TLS 1.2 PRF hash {name!r}")
    return _p_hash(factory(), z, label + seed, size)


@winapi
def NCryptDeriveKey(hSharedSecret: NCRYPT_SECRET_HANDLE, pwszKDF: str,
                    pParameterList: BCryptBufferDesc | None = None, dwFlags: int = 0) -> bytes:
    """NCryptDeriveKey -> the derived key material. KDFs: BCRYPT_KDF_HASH, BCRYPT_KDF_HMAC
    (KDF_USE_SECRET_AS_HMAC_KEY_FLAG), BCRYPT_KDF_TLS_PRF and BCRYPT_KDF_RAW_SECRET, with
    bcrypt.dll's parameters. NTE_INVALID_HANDLE for a bad secret handle, NTE_NOT_SUPPORTED
    for an unknown KDF or hash, NTE_INVALID_PARAMETER for missing parameters."""
    from capi.bcrypt.derive import BCRYPT_SECRET_HANDLE, BCryptDeriveKey

    secret = _secret(hSharedSecret)
    flags = _u32(dwFlags)
    if flags & ~_DERIVE_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    if not isinstance(pwszKDF, str):
        raise WinError(NTE_INVALID_PARAMETER)
    if pwszKDF == K.BCRYPT_KDF_TLS_PRF:
        return _tls_prf(secret._z, _buffers(pParameterList))
    _buffers(pParameterList)  # the same shape checks for every KDF
    try:
        return BCryptDeriveKey(BCRYPT_SECRET_HANDLE(secret._z), pwszKDF, pParameterList,
                               flags & KDF_USE_SECRET_AS_HMAC_KEY_FLAG)
    except WinError as exc:
        code = _STATUS_TO_NTE.get(exc.hresult, exc.hresult)
        raise WinError(code, detail=getattr(exc, "detail", None)) from None


__all__ = ["NCRYPT_SECRET_HANDLE", "NCryptSecretAgreement", "NCryptDeriveKey", "NCryptBuffer",
           "NCryptBufferDesc", "KDF_USE_SECRET_AS_HMAC_KEY_FLAG", "KDF_TLS_PRF_PROTOCOL"]

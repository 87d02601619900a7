"""Secret agreement (ECDH) and BCryptDeriveKey's key derivation functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.asymmetric import ec

from capi.bcrypt import consts as K
from capi.bcrypt._status import as_bytes, fail, u32
from capi.bcrypt.algorithms import BCRYPT_HANDLE
from capi.bcrypt.keys import _AsymmetricKey
from capi.errors import STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED

if TYPE_CHECKING:
    from capi.bcrypt.keys import BCRYPT_KEY_HANDLE
    from capi.bcrypt.structs import BCryptBufferDesc

KDF_USE_SECRET_AS_HMAC_KEY_FLAG = 0x1

_HASHES = {
    K.BCRYPT_MD5_ALGORITHM: hashes.MD5, K.BCRYPT_SHA1_ALGORITHM: hashes.SHA1,
    K.BCRYPT_SHA256_ALGORITHM: hashes.SHA256, K.BCRYPT_SHA384_ALGORITHM: hashes.SHA384,
    K.BCRYPT_SHA512_ALGORITHM: hashes.SHA512,
}


class BCRYPT_SECRET_HANDLE(BCRYPT_HANDLE):
    """The agreed secret Z (big-endian, as the curve's field element)."""

    def __init__(self, z: bytes):
        self.z = z

    def __repr__(self):
        return "<BCRYPT_SECRET_HANDLE>"


def _agreement_key(h) -> _AsymmetricKey:
    if not isinstance(h, _AsymmetricKey) or not h._open or not h.finalized:
        raise fail(STATUS_INVALID_HANDLE)
    return h


def BCryptSecretAgreement(hPrivKey: BCRYPT_KEY_HANDLE, hPubKey: BCRYPT_KEY_HANDLE,
                          dwFlags: int = 0) -> BCRYPT_SECRET_HANDLE:
    """BCryptSecretAgreement -> hSecret (ECDH). NULL or non-key handles are
    STATUS_INVALID_HANDLE (Wine bcrypt.c test_SecretAgreement)."""
    priv, pub = _agreement_key(hPrivKey), _agreement_key(hPubKey)
    if priv.kind != "ecdh" or pub.kind != "ecdh" or priv.spec is not pub.spec:
        raise fail(STATUS_INVALID_PARAMETER)
    if priv.private is None or u32(dwFlags):
        raise fail(STATUS_INVALID_PARAMETER)
    return BCRYPT_SECRET_HANDLE(priv.private.exchange(ec.ECDH(), pub.public))


def BCryptDestroySecret(hSecret: BCRYPT_SECRET_HANDLE) -> None:
    """BCryptDestroySecret; anything but a live secret is STATUS_INVALID_HANDLE."""
    if not isinstance(hSecret, BCRYPT_SECRET_HANDLE) or not hSecret._open:
        raise fail(STATUS_INVALID_HANDLE)
    hSecret._open = False
    hSecret.z = b""


def _buffers(desc) -> dict[int, list]:
    """BCryptBufferDesc (or None) -> {BufferType: [values]}. ulVersion is not checked
    (Wine bcrypt.c test_ECDH: "ulVersion is not verified")."""
    out: dict[int, list] = {}
    if desc is None:
        return out
    for buf in getattr(desc, "pBuffers", None) or []:
        value = getattr(buf, "pvBuffer", None)
        out.setdefault(int(getattr(buf, "BufferType", -1)), []).append(value)
    return out


def _wstr(value) -> str:
    if isinstance(value, str):
        return value.split("\0", 1)[0]
    raw = bytes(as_bytes(value))
    return raw.decode("utf-16-le", "replace").split("\0", 1)[0]


def _hash_from(params) -> hashes.HashAlgorithm:
    names = params.get(K.KDF_HASH_ALGORITHM)
    if not names:
        return hashes.SHA1()  # Wine test_DH: HASH without parameters gives 20 bytes
    factory = _HASHES.get(_wstr(names[0]))
    if factory is None:
        # Wine test_ECDH: "INVALID" and "RNG" as the hash -> STATUS_NOT_SUPPORTED
        raise fail(STATUS_NOT_SUPPORTED)
    return factory()


def _joined(params, kind) -> bytes:
    return b"".join(bytes(as_bytes(v)) for v in params.get(kind, []))


def BCryptDeriveKey(hSharedSecret: BCRYPT_SECRET_HANDLE, pwszKDF: str,
                    pParameterList: BCryptBufferDesc | None = None, dwFlags: int = 0) -> bytes:
    """BCryptDeriveKey -> key material from an agreed secret. KDFs: BCRYPT_KDF_HASH
    (H(prepend || Z || append), SHA-1 by default), BCRYPT_KDF_HMAC (KDF_HMAC_KEY, or Z with
    KDF_USE_SECRET_AS_HMAC_KEY_FLAG) and BCRYPT_KDF_RAW_SECRET (Z little-endian, as
    Windows returns it)."""
    if not isinstance(hSharedSecret, BCRYPT_SECRET_HANDLE) or not hSharedSecret._open:
        raise fail(STATUS_INVALID_HANDLE)
    if not isinstance(pwszKDF, str):
        raise fail(STATUS_INVALID_PARAMETER)
    flags = u32(dwFlags)
    z = hSharedSecret.z
    params = _buffers(pParameterList)
    if pwszKDF == K.BCRYPT_KDF_RAW_SECRET:
        return z[::-1]  # Wine test_ECDH: the raw secret comes back little-endian
    if pwszKDF == K.BCRYPT_KDF_HASH:
        ctx = hashes.Hash(_hash_from(params))
    elif pwszKDF == K.BCRYPT_KDF_HMAC:
        if flags & KDF_USE_SECRET_AS_HMAC_KEY_FLAG:
            key = z
        elif params.get(K.KDF_HMAC_KEY):
            key = _joined(params, K.KDF_HMAC_KEY)
        else:
            raise fail(STATUS_INVALID_PARAMETER)
        ctx = _hmac.HMAC(key, _hash_from(params))
    else:
        raise fail(STATUS_NOT_SUPPORTED, f"KDF {pwszKDF!r} is not offered")
    ctx.update(_joined(params, K.KDF_SECRET_PREPEND) + z + _joined(params, K.KDF_SECRET_APPEND))
    return ctx.finalize()


__all__ = ["BCRYPT_SECRET_HANDLE", "BCryptSecretAgreement", "BCryptDestroySecret",
           "BCryptDeriveKey", "KDF_USE_SECRET_AS_HMAC_KEY_FLAG"]

"""Keys: symmetric (BCryptGenerateSymmetricKey, BCryptEncrypt/BCryptDecrypt in
CBC/ECB/CFB/GCM/CCM, key blobs) and asymmetric (RSA, ECDSA, ECDH: generate, finalize,
import/export, sign/verify, RSA encryption). All crypto is the cryptography package's;
cipher objects are made once per key, and no Python loop touches the data."""

from __future__ import annotations

import struct
import threading
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.decrepit.ciphers import modes as decrepit_modes
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from capi.bcrypt import blobs
from capi.bcrypt import consts as K
from capi.bcrypt._status import as_bytes, fail, u32
from capi.bcrypt.algorithms import (
    BCRYPT_ALG_HANDLE,
    BCRYPT_HANDLE,
    AlgSpec,
    algorithm_property,
    check_mode,
    dword,
    resolve,
)
from capi.bcrypt.structs import BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO
from capi.errors import (
    STATUS_AUTH_TAG_MISMATCH,
    STATUS_DATA_ERROR,
    STATUS_INVALID_BUFFER_SIZE,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_INVALID_SIGNATURE,
    STATUS_NOT_SUPPORTED,
)
from capi.formats.blobs import ecdsa_der_from_p1363, ecdsa_p1363_from_der

if TYPE_CHECKING:
    from capi.bcrypt.structs import (
        BCRYPT_OAEP_PADDING_INFO,
        BCRYPT_PKCS1_PADDING_INFO,
        BCRYPT_PSS_PADDING_INFO,
    )

_MISSING = object()

_HASHES = {
    K.BCRYPT_MD5_ALGORITHM: hashes.MD5, K.BCRYPT_SHA1_ALGORITHM: hashes.SHA1,
    K.BCRYPT_SHA256_ALGORITHM: hashes.SHA256, K.BCRYPT_SHA384_ALGORITHM: hashes.SHA384,
    K.BCRYPT_SHA512_ALGORITHM: hashes.SHA512,
}


class BCRYPT_KEY_HANDLE(BCRYPT_HANDLE):
    """A key. Symmetric and asymmetric keys share this type, as in C."""

    spec: AlgSpec

    def _encrypt(self, data, info, iv, flags):
        raise fail(STATUS_NOT_SUPPORTED)

    def _decrypt(self, data, info, iv, flags):
        raise fail(STATUS_NOT_SUPPORTED)


# =======================================================================================
# Symmetric keys
# =======================================================================================


def _cipher_algorithm(spec: AlgSpec, secret: bytes):
    name = spec.name
    if name == K.BCRYPT_AES_ALGORITHM:
        return algorithms.AES(secret)
    if name == K.BCRYPT_3DES_ALGORITHM:
        return decrepit.TripleDES(secret)
    if name == K.BCRYPT_3DES_112_ALGORITHM:
        return decrepit.TripleDES(secret + secret[:8])
    if name == K.BCRYPT_DES_ALGORITHM:
        return decrepit.TripleDES(secret * 3)
    if name == K.BCRYPT_RC2_ALGORITHM:
        if len(secret) != 16:
            raise fail(STATUS_NOT_SUPPORTED, "the cryptography package's RC2 takes 128-bit keys only")
        return decrepit.RC2(secret)
    if name == K.BCRYPT_RC4_ALGORITHM:
        return decrepit.ARC4(secret)
    raise fail(STATUS_NOT_SUPPORTED)


def _key_bytes(spec: AlgSpec, secret: bytes) -> bytes:
    """The key material a secret of this length makes, or STATUS_INVALID_PARAMETER.
    Longer than the maximum uses the maximum (Wine bcrypt.c test_BCryptEncrypt)."""
    lo, hi, step = spec.key_lengths
    n = len(secret) * 8
    if n > hi:
        return bytes(secret[: hi // 8])
    if n < lo or (step and (n - lo) % step) or (not step and n != lo):
        # Wine bcrypt.c test_BCryptGenerateSymmetricKey: 1 and 17 bytes for AES
        raise fail(STATUS_INVALID_PARAMETER)
    return bytes(secret)


def _pkcs7(data, block: int) -> bytes:
    pad = block - len(data) % block
    return bytes(data) + bytes([pad]) * pad


def _unpkcs7(data: bytes, block: int) -> bytes:
    pad = data[-1] if data else 0
    if not 0 < pad <= block or data[-pad:] != bytes([pad]) * pad:
        raise fail(STATUS_DATA_ERROR)
    return data[:-pad]


def _store_iv(pbIV, state: bytes) -> None:
    if isinstance(pbIV, (bytearray, memoryview)) and not getattr(pbIV, "readonly", False):
        pbIV[:] = state


class _SymmetricKey(BCRYPT_KEY_HANDLE):
    def __init__(self, spec: AlgSpec, secret: bytes, mode: str):
        self.spec = spec
        self.secret = secret
        self.mode = mode
        self.block = spec.block_length
        self.cfb_segment = 1          # Windows' CFB is 8-bit CFB (Wine test_BCryptEncrypt vectors)
        self.iv_state = bytes(self.block)
        self.lock = threading.Lock()
        self._algorithm = _cipher_algorithm(spec, secret)
        self._ecb = None
        self._stream = None
        self._gcm = None
        self._scratch = bytearray()

    def __repr__(self):
        return f"<BCRYPT_KEY_HANDLE {self.spec.name} {self.mode}>"

    def _copy(self):
        dup = _SymmetricKey(self.spec, self.secret, self.mode)
        dup.iv_state, dup.cfb_segment = self.iv_state, self.cfb_segment
        return dup

    # --- properties ---
    def _get_property(self, name: str):
        self._check()
        if name in (K.BCRYPT_KEY_LENGTH, K.BCRYPT_KEY_STRENGTH):
            return len(self.secret) * 8
        if name == K.BCRYPT_MESSAGE_BLOCK_LENGTH and self.mode == K.BCRYPT_CHAIN_MODE_CFB:
            return self.cfb_segment
        if name == K.BCRYPT_INITIALIZATION_VECTOR and self.block > 1:
            return self.iv_state
        if name == K.BCRYPT_AUTH_TAG_LENGTH:
            raise fail(STATUS_NOT_SUPPORTED)  # Wine test_BCryptEncrypt: on a key handle
        return algorithm_property(self.spec, name, self.mode, alg_handle=False)

    def _set_property(self, name: str, value) -> None:
        self._check()
        if name == K.BCRYPT_CHAINING_MODE:
            self.mode = check_mode(self.spec, value)
            self.iv_state = bytes(self.block)
            self._ecb = None
            return
        if name == K.BCRYPT_MESSAGE_BLOCK_LENGTH and self.mode == K.BCRYPT_CHAIN_MODE_CFB:
            size = dword(value)
            if size not in (1, self.block):
                raise fail(STATUS_INVALID_PARAMETER)
            self.cfb_segment = size
            return
        if name == K.BCRYPT_INITIALIZATION_VECTOR and self.block > 1:
            iv = as_bytes(value)
            if len(iv) != self.block:
                raise fail(STATUS_INVALID_PARAMETER)
            self.iv_state = bytes(iv)
            return
        raise fail(STATUS_NOT_SUPPORTED)

    # --- helpers ---
    def _iv(self, pbIV) -> bytes:
        if pbIV is None:
            return self.iv_state
        iv = as_bytes(pbIV, "pbIV")
        if len(iv) != self.block:
            raise fail(STATUS_INVALID_PARAMETER)
        return bytes(iv)

    def _mode_object(self, iv: bytes):
        if self.mode == K.BCRYPT_CHAIN_MODE_CBC:
            return modes.CBC(iv)
        return decrepit_modes.CFB8(iv) if self.cfb_segment == 1 else decrepit_modes.CFB(iv)

    def _block_input(self, data, flags: int, encrypt: bool):
        """Applies BCRYPT_BLOCK_PADDING on encrypt; checks block multiples."""
        pad = flags & K.BCRYPT_BLOCK_PADDING
        if encrypt and pad:
            return _pkcs7(data, self.block)
        granule = 1 if (self.mode == K.BCRYPT_CHAIN_MODE_CFB and self.cfb_segment == 1
                        and not (pad and not encrypt)) else self.block
        if len(data) % granule:
            # Wine test_BCryptEncrypt/test_BCryptDecrypt: STATUS_INVALID_BUFFER_SIZE
            raise fail(STATUS_INVALID_BUFFER_SIZE)
        return data

    # --- the operations ---
    def _run(self, data, info, pbIV, flags: int, encrypt: bool) -> bytes:
        self._check()
        if flags & ~K.BCRYPT_BLOCK_PADDING:
            raise fail(STATUS_INVALID_PARAMETER)
        mode = self.mode
        if mode in (K.BCRYPT_CHAIN_MODE_GCM, K.BCRYPT_CHAIN_MODE_CCM):
            return self._aead(data, info, flags, encrypt)
        if info is not None:
            raise fail(STATUS_INVALID_PARAMETER)
        if mode == K.BCRYPT_CHAIN_MODE_NA:
            with self.lock:
                if self._stream is None:
                    self._stream = Cipher(self._algorithm, None).encryptor()
                return self._stream.update(data)
        if mode == K.BCRYPT_CHAIN_MODE_ECB:
            if pbIV is not None:
                raise fail(STATUS_INVALID_PARAMETER)  # Wine test_BCryptEncrypt: IV with ECB
            data = self._block_input(data, flags, encrypt)
            with self.lock:
                if self._ecb is None:
                    cipher = Cipher(self._algorithm, modes.ECB())
                    self._ecb = (cipher.encryptor(), cipher.decryptor())
                out = self._ecb[0 if encrypt else 1].update(data)
            return _unpkcs7(out, self.block) if flags and not encrypt else out
        # CBC / CFB: the key keeps the chaining value; a caller's IV buffer is updated
        # in place as in C (Wine test_BCryptGenerateSymmetricKey, test_aes_vector).
        data = self._block_input(data, flags, encrypt)
        with self.lock:
            iv = self._iv(pbIV)
            cipher = Cipher(self._algorithm, self._mode_object(iv))
            ctx = cipher.encryptor() if encrypt else cipher.decryptor()
            out = ctx.update(data)
            ctx.finalize()
            if data:
                ciphertext = out if encrypt else data
                state = (iv + ciphertext[-self.block:])[-self.block:]
                self.iv_state = state
                _store_iv(pbIV, state)
        return _unpkcs7(out, self.block) if flags and not encrypt else out

    def _aead(self, data, info, flags: int, encrypt: bool) -> bytes:
        if not isinstance(info, BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO) or flags:
            # Wine test_BCryptEncrypt: BCRYPT_BLOCK_PADDING with GCM is INVALID_PARAMETER
            raise fail(STATUS_INVALID_PARAMETER)
        nonce = bytes(as_bytes(info.pbNonce, "pbNonce"))
        aad = as_bytes(info.pbAuthData, "pbAuthData")
        tag = info.pbTag
        if tag is None or not isinstance(tag, (bytes, bytearray, memoryview)):
            raise fail(STATUS_INVALID_PARAMETER)
        tag_lengths = (range(12, 17) if self.mode == K.BCRYPT_CHAIN_MODE_GCM
                       else range(4, 17, 2))
        if len(tag) not in tag_lengths:
            raise fail(STATUS_INVALID_PARAMETER)
        if encrypt and (not isinstance(tag, (bytearray, memoryview)) or getattr(tag, "readonly", False)):
            raise fail(STATUS_INVALID_PARAMETER, "pbTag must be a writable bytearray on encrypt")
        if self.mode == K.BCRYPT_CHAIN_MODE_CCM:
            return self._ccm(data, nonce, aad, tag, encrypt)
        if len(nonce) != 12:
            raise fail(STATUS_INVALID_PARAMETER)
        chain = info.dwFlags & K.BCRYPT_AUTH_MODE_CHAIN_CALLS_FLAG
        ctx = info.pbMacContext if isinstance(info.pbMacContext, _GcmChain) else None
        if ctx is None and not chain:
            return self._gcm_one_shot(data, nonce, aad, tag, encrypt)
        if ctx is None:
            ctx = _GcmChain(self, nonce, aad, encrypt)
        elif ctx.key is not self or ctx.encrypt != encrypt:
            raise fail(STATUS_INVALID_PARAMETER)
        out = ctx.ctx.update(data)
        if chain:
            info.pbMacContext = ctx
            info.dwFlags |= K.BCRYPT_AUTH_MODE_IN_PROGRESS_FLAG
            return out
        info.pbMacContext = None
        info.dwFlags &= ~K.BCRYPT_AUTH_MODE_IN_PROGRESS_FLAG
        if encrypt:
            ctx.ctx.finalize()
            tag[:] = ctx.ctx.tag[: len(tag)]
            return out
        try:
            ctx.ctx.finalize_with_tag(bytes(tag))
        except (InvalidTag, ValueError):
            raise fail(STATUS_AUTH_TAG_MISMATCH) from None  # Wine test_BCryptDecrypt
        return out

    def _gcm_one_shot(self, data, nonce: bytes, aad, tag, encrypt: bool) -> bytes:
        # AESGCM is the cryptography package's fast path; encrypt_into a per-key scratch
        # buffer keeps the ciphertext and the tag apart without another full-size copy.
        if self._gcm is None:
            self._gcm = AESGCM(self.secret)
        aad = bytes(aad) or None
        if encrypt:
            n = len(data)
            with self.lock:
                if len(self._scratch) < n + 16:
                    self._scratch = bytearray(n + 16)
                view = memoryview(self._scratch)[: n + 16]
                self._gcm.encrypt_into(nonce, data, aad, view)
                tag[:] = view[n:n + len(tag)]
                return bytes(view[:n])
        try:
            if len(tag) == 16:
                return self._gcm.decrypt(nonce, bytes(data) + bytes(tag), aad)
            ctx = Cipher(self._algorithm, modes.GCM(nonce, bytes(tag), len(tag))).decryptor()
            if aad:
                ctx.authenticate_additional_data(aad)
            out = ctx.update(data)
            ctx.finalize()
            return out
        except InvalidTag:
            raise fail(STATUS_AUTH_TAG_MISMATCH) from None  # Wine test_BCryptDecrypt

    def _ccm(self, data, nonce: bytes, aad, tag, encrypt: bool) -> bytes:
        if not 7 <= len(nonce) <= 13:
            raise fail(STATUS_INVALID_PARAMETER)
        aead = AESCCM(self.secret, tag_length=len(tag))
        if encrypt:
            sealed = aead.encrypt(nonce, bytes(data), bytes(aad) or None)
            tag[:] = sealed[-len(tag):]
            return sealed[: -len(tag)]
        try:
            return aead.decrypt(nonce, bytes(data) + bytes(tag), bytes(aad) or None)
        except InvalidTag:
            raise fail(STATUS_AUTH_TAG_MISMATCH) from None

    def _encrypt(self, data, info, iv, flags):
        return self._run(data, info, iv, flags, True)

    def _decrypt(self, data, info, iv, flags):
        return self._run(data, info, iv, flags, False)


class _GcmChain:
    """The running GCM state of a chained BCryptEncrypt/BCryptDecrypt sequence; kept in
    BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO.pbMacContext between calls."""

    def __init__(self, key: _SymmetricKey, nonce: bytes, aad, encrypt: bool):
        cipher = Cipher(key._algorithm, modes.GCM(nonce))
        self.key, self.encrypt = key, encrypt
        self.ctx = cipher.encryptor() if encrypt else cipher.decryptor()
        if aad:
            self.ctx.authenticate_additional_data(aad)


def _cipher_alg(hAlgorithm) -> BCRYPT_ALG_HANDLE:
    alg = resolve(hAlgorithm, BCRYPT_ALG_HANDLE)
    if alg.spec.kind not in ("cipher", "stream"):
        raise fail(STATUS_INVALID_HANDLE)
    return alg


def _key(hKey, cls=BCRYPT_KEY_HANDLE) -> BCRYPT_KEY_HANDLE:
    if not isinstance(hKey, cls) or not hKey._open:
        raise fail(STATUS_INVALID_HANDLE)
    return hKey


def BCryptGenerateSymmetricKey(hAlgorithm: BCRYPT_ALG_HANDLE | int,
                               pbKeyObject: bytearray | None = None, pbSecret: bytes = b"",
                               dwFlags: int = 0) -> BCRYPT_KEY_HANDLE:
    """BCryptGenerateSymmetricKey -> hKey from pbSecret; the key takes the provider's
    chaining mode. STATUS_INVALID_HANDLE without a cipher provider,
    STATUS_INVALID_PARAMETER for a secret of the wrong length."""
    alg = _cipher_alg(hAlgorithm)
    secret = _key_bytes(alg.spec, as_bytes(pbSecret, "pbSecret"))
    return _SymmetricKey(alg.spec, secret, alg.mode)


def BCryptDuplicateKey(hKey: BCRYPT_KEY_HANDLE, pbKeyObject: bytearray | None = None,
                       dwFlags: int = 0) -> BCRYPT_KEY_HANDLE:
    """BCryptDuplicateKey -> an independent copy (mode and chaining value included)."""
    key = _key(hKey)
    if not isinstance(key, _SymmetricKey):
        raise fail(STATUS_NOT_SUPPORTED)
    return key._copy()


def BCryptEncrypt(hKey: BCRYPT_KEY_HANDLE, pbInput: bytes,
                  pPaddingInfo: BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO | BCRYPT_OAEP_PADDING_INFO
                  | None = None, pbIV: bytearray | None = None, dwFlags: int = 0) -> bytes:
    """BCryptEncrypt -> ciphertext. Symmetric keys: pbIV (a bytearray) is updated in place
    with the chaining value, None continues from the key's own; GCM/CCM take a
    BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO whose pbTag the call fills. RSA keys:
    BCRYPT_PAD_PKCS1 or BCRYPT_PAD_OAEP (with BCRYPT_OAEP_PADDING_INFO)."""
    if not isinstance(hKey, BCRYPT_KEY_HANDLE) or not hKey._open:
        raise fail(STATUS_INVALID_HANDLE)
    if pbInput.__class__ is not bytes:
        pbInput = as_bytes(pbInput, "pbInput")
    return hKey._encrypt(pbInput, pPaddingInfo, pbIV, u32(dwFlags))


def BCryptDecrypt(hKey: BCRYPT_KEY_HANDLE, pbInput: bytes,
                  pPaddingInfo: BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO | BCRYPT_OAEP_PADDING_INFO
                  | None = None, pbIV: bytearray | None = None, dwFlags: int = 0) -> bytes:
    """BCryptDecrypt -> plaintext; the mirror of BCryptEncrypt. A GCM/CCM tag that does not
    match is STATUS_AUTH_TAG_MISMATCH."""
    if not isinstance(hKey, BCRYPT_KEY_HANDLE) or not hKey._open:
        raise fail(STATUS_INVALID_HANDLE)
    if pbInput.__class__ is not bytes:
        pbInput = as_bytes(pbInput, "pbInput")
    return hKey._decrypt(pbInput, pPaddingInfo, pbIV, u32(dwFlags))


# --- symmetric key blobs ---

_OPAQUE_MAGIC = 0x4B51504F  # "OPQK": this implementation's own opaque layout


def _opaque_blob(key: _SymmetricKey) -> bytes:
    name = key.spec.name.encode("utf-16-le")
    mode = key.mode.encode("utf-16-le")
    return (struct.pack("<4I", _OPAQUE_MAGIC, len(name), len(mode), len(key.secret))
            + name + mode + key.secret)


def _from_opaque(spec: AlgSpec, blob: bytes) -> _SymmetricKey:
    if len(blob) < 16:
        raise fail(STATUS_INVALID_PARAMETER)
    magic, n_name, n_mode, n_key = struct.unpack_from("<4I", blob)
    if magic != _OPAQUE_MAGIC or len(blob) != 16 + n_name + n_mode + n_key:
        raise fail(STATUS_INVALID_PARAMETER)
    name = blob[16:16 + n_name].decode("utf-16-le", "replace")
    mode = blob[16 + n_name:16 + n_name + n_mode].decode("utf-16-le", "replace")
    if name != spec.name or mode not in spec.modes:
        raise fail(STATUS_INVALID_PARAMETER)
    return _SymmetricKey(spec, _key_bytes(spec, blob[16 + n_name + n_mode:]), mode)


def BCryptImportKey(hAlgorithm: BCRYPT_ALG_HANDLE | int, hImportKey: BCRYPT_KEY_HANDLE | None,
                    pszBlobType: str, pbKeyObject: bytearray | None = None,
                    pbInput: bytes = b"", dwFlags: int = 0) -> BCRYPT_KEY_HANDLE:
    """BCryptImportKey -> hKey from BCRYPT_KEY_DATA_BLOB, BCRYPT_OPAQUE_KEY_BLOB or
    BCRYPT_AES_WRAP_KEY_BLOB (RFC 3394, unwrapped with hImportKey)."""
    alg = _cipher_alg(hAlgorithm)
    blob = bytes(as_bytes(pbInput, "pbInput"))
    if pszBlobType == K.BCRYPT_KEY_DATA_BLOB:
        if len(blob) < 12:
            raise fail(STATUS_INVALID_PARAMETER)
        magic, version, size = struct.unpack_from("<3I", blob)
        if (magic != K.BCRYPT_KEY_DATA_BLOB_MAGIC or version != K.BCRYPT_KEY_DATA_BLOB_VERSION1
                or len(blob) < 12 + size):
            raise fail(STATUS_INVALID_PARAMETER)
        return _SymmetricKey(alg.spec, _key_bytes(alg.spec, blob[12:12 + size]), alg.mode)
    if pszBlobType == K.BCRYPT_OPAQUE_KEY_BLOB:
        key = _from_opaque(alg.spec, blob)
        key.mode = alg.mode
        return key
    if pszBlobType == K.BCRYPT_AES_WRAP_KEY_BLOB:
        kek = _key(hImportKey, _SymmetricKey) if hImportKey is not None else None
        if kek is None or kek.spec.name != K.BCRYPT_AES_ALGORITHM:
            raise fail(STATUS_INVALID_PARAMETER)
        try:
            secret = aes_key_unwrap(kek.secret, blob)
        except (InvalidUnwrap, ValueError):
            raise fail(STATUS_AUTH_TAG_MISMATCH) from None
        return _SymmetricKey(alg.spec, _key_bytes(alg.spec, secret), alg.mode)
    raise fail(STATUS_INVALID_PARAMETER)


# =======================================================================================
# Asymmetric keys
# =======================================================================================


class _AsymmetricKey(BCRYPT_KEY_HANDLE):
    def __init__(self, spec: AlgSpec, private=None, public=None, bits: int = 0):
        self.spec = spec
        self.kind = spec.kind
        self.private = private
        self.public = public
        self.bits = bits if public is None else public.key_size
        self.finalized = public is not None
        self.imported = public is not None

    def __repr__(self):
        what = "private" if self.private else "public" if self.public else "unfinalized"
        return f"<BCRYPT_KEY_HANDLE {self.spec.name} {self.bits} {what}>"

    def _ready(self):
        self._check()
        if not self.finalized:
            raise fail(STATUS_INVALID_HANDLE)  # Wine test_rsa_encrypt: not finalized

    def _get_property(self, name: str):
        self._check()
        if name in (K.BCRYPT_KEY_LENGTH, K.BCRYPT_KEY_STRENGTH):
            return self.bits
        if name == K.BCRYPT_SIGNATURE_LENGTH and self.finalized:
            return self._signature_length()
        return algorithm_property(self.spec, name, K.BCRYPT_CHAIN_MODE_NA, alg_handle=False)

    def _set_property(self, name: str, value) -> None:
        self._check()
        if name == K.BCRYPT_KEY_LENGTH and self.kind == "rsa":
            bits = dword(value)
            if not self.finalized:  # Wine test_RSA: after finalize it succeeds and changes nothing
                _check_rsa_bits(self.spec, bits)
                self.bits = bits
            return
        raise fail(STATUS_NOT_SUPPORTED)

    def _signature_length(self) -> int:
        if self.kind == "rsa":
            return (self.bits + 7) // 8
        return 2 * self.spec.key_bytes

    # --- RSA encryption ---
    def _rsa_padding(self, info, flags: int):
        if self.kind != "rsa" or self.spec.name != K.BCRYPT_RSA_ALGORITHM:
            raise fail(STATUS_NOT_SUPPORTED)  # Wine test_DH: encrypt with a non-RSA key
        if flags == K.BCRYPT_PAD_PKCS1:
            return padding.PKCS1v15()
        if flags == K.BCRYPT_PAD_OAEP:
            name = getattr(info, "pszAlgId", _MISSING)
            if name is _MISSING:
                raise fail(STATUS_INVALID_PARAMETER)
            algorithm = _hash_for(name)
            label = bytes(as_bytes(getattr(info, "pbLabel", None), "pbLabel"))
            return padding.OAEP(padding.MGF1(algorithm), algorithm, label or None)
        if flags == K.BCRYPT_PAD_NONE:
            raise fail(STATUS_NOT_SUPPORTED, "the cryptography package offers no unpadded RSA")
        raise fail(STATUS_INVALID_PARAMETER)

    def _encrypt(self, data, info, iv, flags):
        self._ready()
        if iv is not None:
            raise fail(STATUS_INVALID_PARAMETER)
        pad = self._rsa_padding(info, flags)
        try:
            return self.public.encrypt(bytes(data), pad)
        except UnsupportedAlgorithm as exc:
            raise fail(STATUS_NOT_SUPPORTED, f"the cryptography package: {exc}") from None
        except ValueError as exc:
            raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None

    def _decrypt(self, data, info, iv, flags):
        self._ready()
        if iv is not None:
            raise fail(STATUS_INVALID_PARAMETER)
        pad = self._rsa_padding(info, flags)
        if self.private is None:
            raise fail(STATUS_INVALID_PARAMETER)
        try:
            return self.private.decrypt(bytes(data), pad)
        except UnsupportedAlgorithm as exc:
            raise fail(STATUS_NOT_SUPPORTED, f"the cryptography package: {exc}") from None
        except ValueError as exc:
            raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None


def _hash_for(name) -> hashes.HashAlgorithm:
    factory = _HASHES.get(name) if isinstance(name, str) else None
    if factory is None:
        # Wine bcrypt.c test_RSA: pszAlgId "AES" -> STATUS_NOT_SUPPORTED
        raise fail(STATUS_NOT_SUPPORTED)
    return factory()


def _check_rsa_bits(spec: AlgSpec, bits: int) -> None:
    lo, hi, step = spec.key_lengths
    if not lo <= bits <= hi or (bits - lo) % step:
        raise fail(STATUS_INVALID_PARAMETER)


def _asym_alg(hAlgorithm) -> BCRYPT_ALG_HANDLE:
    alg = resolve(hAlgorithm, BCRYPT_ALG_HANDLE)
    if alg.spec.kind not in ("rsa", "ecdsa", "ecdh"):
        raise fail(STATUS_INVALID_HANDLE)
    return alg


def BCryptGenerateKeyPair(hAlgorithm: BCRYPT_ALG_HANDLE | int, dwLength: int,
                          dwFlags: int = 0) -> BCRYPT_KEY_HANDLE:
    """BCryptGenerateKeyPair -> an unfinalized key of dwLength bits (its KeyLength may still
    be set); BCryptFinalizeKeyPair makes the key material."""
    alg = _asym_alg(hAlgorithm)
    if isinstance(dwLength, bool) or not isinstance(dwLength, int) or u32(dwFlags):
        raise fail(STATUS_INVALID_PARAMETER)
    if alg.spec.kind == "rsa":
        _check_rsa_bits(alg.spec, dwLength)
    elif dwLength != alg.spec.key_lengths[0]:
        raise fail(STATUS_INVALID_PARAMETER)
    return _AsymmetricKey(alg.spec, bits=dwLength)


def BCryptFinalizeKeyPair(hKey: BCRYPT_KEY_HANDLE, dwFlags: int = 0) -> None:
    """BCryptFinalizeKeyPair. A key already finalized, or imported, is
    STATUS_INVALID_HANDLE (Wine bcrypt.c test_BCryptSignHash, test_RSA)."""
    key = _key(hKey, _AsymmetricKey)
    if key.finalized or u32(dwFlags):
        raise fail(STATUS_INVALID_HANDLE if key.finalized else STATUS_INVALID_PARAMETER)
    if key.kind == "rsa":
        if key.bits < 1024:
            raise fail(STATUS_NOT_SUPPORTED,
                       "the cryptography package does not generate RSA keys under 1024 bits")
        key.private = rsa.generate_private_key(65537, key.bits)
    else:
        key.private = ec.generate_private_key(blobs.curve_for(key.spec.curve))
    key.public = key.private.public_key()
    key.finalized = True


_RSA_BLOBS = (K.BCRYPT_RSAPUBLIC_BLOB, K.BCRYPT_RSAPRIVATE_BLOB, K.BCRYPT_RSAFULLPRIVATE_BLOB)
_ECC_BLOBS = (K.BCRYPT_ECCPUBLIC_BLOB, K.BCRYPT_ECCPRIVATE_BLOB)
_GENERIC = (K.BCRYPT_PUBLIC_KEY_BLOB, K.BCRYPT_PRIVATE_KEY_BLOB)
_LEGACY = (K.LEGACY_RSAPUBLIC_BLOB, K.LEGACY_RSAPRIVATE_BLOB)


def BCryptImportKeyPair(hAlgorithm: BCRYPT_ALG_HANDLE | int, hImportKey: BCRYPT_KEY_HANDLE | None,
                        pszBlobType: str, pbInput: bytes, dwFlags: int = 0) -> BCRYPT_KEY_HANDLE:
    """BCryptImportKeyPair -> hKey from an RSA (CNG or legacy CAPI) or ECC blob. A blob of
    the wrong family, curve or size is STATUS_INVALID_PARAMETER; an RSA public exponent
    over 8 bytes NTE_BAD_DATA (Wine bcrypt.c test_ECDSA, test_RSA)."""
    alg = _asym_alg(hAlgorithm)
    blob = as_bytes(pbInput, "pbInput")
    spec = alg.spec
    if u32(dwFlags) & ~K.BCRYPT_NO_KEY_VALIDATION:
        raise fail(STATUS_INVALID_PARAMETER)
    if spec.kind == "rsa" and pszBlobType in (*_RSA_BLOBS, *_GENERIC):
        private, public = blobs.rsa_from_blob(blob, pszBlobType)
    elif spec.kind == "rsa" and pszBlobType in _LEGACY:
        private, public = blobs.rsa_from_capi_blob(blob)
    elif spec.kind in ("ecdsa", "ecdh") and pszBlobType in (*_ECC_BLOBS, *_GENERIC):
        private, public = blobs.ecc_from_blob(blob, pszBlobType, spec.kind, spec.curve,
                                              spec.key_bytes)
    else:
        raise fail(STATUS_INVALID_PARAMETER)
    return _AsymmetricKey(spec, private, public)


def BCryptExportKey(hKey: BCRYPT_KEY_HANDLE, hExportKey: BCRYPT_KEY_HANDLE | None,
                    pszBlobType: str, dwFlags: int = 0) -> bytes:
    """BCryptExportKey -> the key blob. Private blobs of a public-only key are
    STATUS_INVALID_PARAMETER (Wine test_ECDSA, test_RSA_SIGN); BCRYPT_AES_WRAP_KEY_BLOB
    wraps with hExportKey (RFC 3394)."""
    key = _key(hKey)
    if u32(dwFlags):
        raise fail(STATUS_INVALID_PARAMETER)
    if isinstance(key, _SymmetricKey):
        if pszBlobType == K.BCRYPT_KEY_DATA_BLOB:
            return struct.pack("<3I", K.BCRYPT_KEY_DATA_BLOB_MAGIC, K.BCRYPT_KEY_DATA_BLOB_VERSION1,
                               len(key.secret)) + key.secret
        if pszBlobType == K.BCRYPT_OPAQUE_KEY_BLOB:
            return _opaque_blob(key)
        if pszBlobType == K.BCRYPT_AES_WRAP_KEY_BLOB:
            kek = _key(hExportKey, _SymmetricKey) if hExportKey is not None else None
            if kek is None or kek.spec.name != K.BCRYPT_AES_ALGORITHM or len(key.secret) % 8:
                raise fail(STATUS_INVALID_PARAMETER)
            return aes_key_wrap(kek.secret, key.secret)
        raise fail(STATUS_INVALID_PARAMETER)
    key._ready()
    if key.kind == "rsa" and pszBlobType in (*_RSA_BLOBS, *_GENERIC):
        if pszBlobType == K.BCRYPT_PRIVATE_KEY_BLOB:
            pszBlobType = K.BCRYPT_RSAFULLPRIVATE_BLOB
        return blobs.rsa_to_blob(key.private, key.public, pszBlobType)
    if key.kind == "rsa" and pszBlobType in _LEGACY:
        return blobs.rsa_to_capi_blob(key.private, key.public, pszBlobType)
    if key.kind in ("ecdsa", "ecdh") and pszBlobType in (*_ECC_BLOBS, *_GENERIC):
        return blobs.ecc_to_blob(key.private, key.public, pszBlobType, key.kind, key.spec.key_bytes)
    raise fail(STATUS_INVALID_PARAMETER)


def BCryptDestroyKey(hKey: BCRYPT_KEY_HANDLE) -> None:
    """BCryptDestroyKey. A NULL, destroyed or non-key handle is STATUS_INVALID_HANDLE
    (Wine bcrypt.c test_BCryptDecrypt, test_SecretAgreement)."""
    key = _key(hKey)
    key._open = False


# --- signatures ---

_PREHASH_BY_LENGTH = {16: hashes.MD5, 20: hashes.SHA1, 28: hashes.SHA224, 32: hashes.SHA256,
                      48: hashes.SHA384, 64: hashes.SHA512}


def _ecdsa_digest(key: _AsymmetricKey, digest: bytes):
    """ECDSA signs the integer of the leftmost order-bits of the hash (SEC 1 4.1.3): a
    digest shorter than the order is padded on the left with zero bytes (same integer) to
    a length the cryptography package accepts as a prehashed value."""
    n = len(digest)
    order_bytes = key.public.curve.key_size // 8
    for size in sorted(_PREHASH_BY_LENGTH):
        if size == n or (n < size <= order_bytes):
            return digest.rjust(size, b"\0"), utils.Prehashed(_PREHASH_BY_LENGTH[size]())
    raise fail(STATUS_INVALID_PARAMETER)


def _rsa_sig_padding(info, flags: int):
    # Input structures are read by field name (BCRYPT_PKCS1_PADDING_INFO,
    # BCRYPT_PSS_PADDING_INFO or a caller's own object with those fields).
    name = getattr(info, "pszAlgId", _MISSING)
    if flags == K.BCRYPT_PAD_PKCS1 and name is not _MISSING:
        if name is None:
            return padding.PKCS1v15(), utils.NoDigestInfo()
        return padding.PKCS1v15(), utils.Prehashed(_hash_for(name))
    salt = getattr(info, "cbSalt", _MISSING)
    if flags == K.BCRYPT_PAD_PSS and name is not _MISSING and isinstance(salt, int):
        algorithm = _hash_for(name)
        return padding.PSS(padding.MGF1(algorithm), salt), utils.Prehashed(algorithm)
    # Wine bcrypt.c test_RSA: no padding info, or no padding flag -> INVALID_PARAMETER
    raise fail(STATUS_INVALID_PARAMETER)


def BCryptSignHash(hKey: BCRYPT_KEY_HANDLE,
                   pPaddingInfo: BCRYPT_PKCS1_PADDING_INFO | BCRYPT_PSS_PADDING_INFO | None,
                   pbInput: bytes, dwFlags: int = 0) -> bytes:
    """BCryptSignHash -> signature: RSA with BCRYPT_PAD_PKCS1 (pszAlgId None: no
    DigestInfo) or BCRYPT_PAD_PSS; ECDSA r||s, big-endian, padding info ignored. A
    public-only key is STATUS_INVALID_PARAMETER (Wine test_BCryptSignHash)."""
    key = _key(hKey, _AsymmetricKey)
    key._ready()
    flags = u32(dwFlags)
    digest = bytes(as_bytes(pbInput, "pbInput"))
    if key.kind == "ecdh":
        raise fail(STATUS_NOT_SUPPORTED)
    if key.kind == "ecdsa":
        if flags:
            # Wine test_BCryptSignHash: PKCS1 padding with an ECDSA key -> INVALID_PARAMETER
            raise fail(STATUS_INVALID_PARAMETER)
        if key.private is None:
            raise fail(STATUS_INVALID_PARAMETER)
        value, algorithm = _ecdsa_digest(key, digest)
        return ecdsa_p1363_from_der(key.private.sign(value, ec.ECDSA(algorithm)),
                                    key.spec.key_bytes)
    pad, algorithm = _rsa_sig_padding(pPaddingInfo, flags)
    if key.private is None:
        raise fail(STATUS_INVALID_PARAMETER)
    try:
        return key.private.sign(digest, pad, algorithm)
    except ValueError as exc:
        raise fail(STATUS_INVALID_PARAMETER, str(exc)) from None


def BCryptVerifySignature(hKey: BCRYPT_KEY_HANDLE,
                          pPaddingInfo: BCRYPT_PKCS1_PADDING_INFO | BCRYPT_PSS_PADDING_INFO | None,
                          pbHash: bytes, pbSignature: bytes, dwFlags: int = 0) -> None:
    """BCryptVerifySignature; a signature that does not verify is STATUS_INVALID_SIGNATURE."""
    key = _key(hKey, _AsymmetricKey)
    key._ready()
    flags = u32(dwFlags)
    digest = bytes(as_bytes(pbHash, "pbHash"))
    signature = bytes(as_bytes(pbSignature, "pbSignature"))
    if key.kind == "ecdh":
        raise fail(STATUS_NOT_SUPPORTED)
    try:
        if key.kind == "ecdsa":
            if flags:
                raise fail(STATUS_INVALID_PARAMETER)
            size = key.spec.key_bytes
            if len(signature) != 2 * size:
                raise fail(STATUS_INVALID_SIGNATURE)
            try:
                value, algorithm = _ecdsa_digest(key, digest)
            except Exception:
                raise fail(STATUS_INVALID_SIGNATURE) from None
            key.public.verify(ecdsa_der_from_p1363(signature), value, ec.ECDSA(algorithm))
            return
        pad, algorithm = _rsa_sig_padding(pPaddingInfo, flags)
        key.public.verify(signature, digest, pad, algorithm)
    except (InvalidSignature, ValueError):
        raise fail(STATUS_INVALID_SIGNATURE) from None


__all__ = [
    "BCRYPT_KEY_HANDLE", "BCryptGenerateSymmetricKey", "BCryptDuplicateKey", "BCryptEncrypt",
    "BCryptDecrypt", "BCryptImportKey", "BCryptExportKey", "BCryptGenerateKeyPair",
    "BCryptFinalizeKeyPair", "BCryptImportKeyPair", "BCryptDestroyKey", "BCryptSignHash",
    "BCryptVerifySignature",
]

"""Symmetric session keys of the Microsoft software CSPs (rsaenh).

Per-provider algorithm and key-length tables, the key object behind a session-key
HCRYPTKEY (KP_* parameters, cipher modes, PKCS#5 padding, chaining across non-Final
CryptEncrypt/CryptDecrypt calls), CryptDeriveKey's derivation and the SIMPLEBLOB /
PLAINTEXTKEYBLOB / SYMMETRICWRAPKEYBLOB codecs.

Ciphers come from ``cryptography`` (AES, DES, 3DES) and PyCryptodome (RC2 with any key
and effective length, RC4 with any key length); no block is processed in Python.

Sources, cited again at the tests: Microsoft docs "Base Provider Algorithms", "Enhanced
Provider Algorithms", "AES Provider Algorithms", "Salt Value Functionality",
"CryptDeriveKey function"; Wine dlls/rsaenh/tests/rsaenh.c (run on Windows).
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from capi import constants as C
from capi.errors import (
    NTE_BAD_ALGID,
    NTE_BAD_DATA,
    NTE_BAD_FLAGS,
    NTE_BAD_KEY,
    NTE_BAD_LEN,
    NTE_BAD_TYPE,
    WinError,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

# Provider families: the symmetric tables and salt rules differ between them.
BASE, STRONG, ENHANCED, AES_PROV, SCHANNEL = "base", "strong", "enhanced", "aes", "schannel"


@dataclass(frozen=True)
class CipherSpec:
    alg_id: int
    name: str
    block: int  # bytes; 0 for the stream cipher
    fixed_bytes: int = 0  # key material size of DES/3DES/AES; 0 = from the bit length


SPECS = {
    C.CALG_RC2: CipherSpec(C.CALG_RC2, "RC2", 8),
    C.CALG_RC4: CipherSpec(C.CALG_RC4, "RC4", 0),
    C.CALG_DES: CipherSpec(C.CALG_DES, "DES", 8, 8),
    C.CALG_3DES_112: CipherSpec(C.CALG_3DES_112, "3DES TWO KEY", 8, 16),
    C.CALG_3DES: CipherSpec(C.CALG_3DES, "3DES", 8, 24),
    C.CALG_AES_128: CipherSpec(C.CALG_AES_128, "AES-128", 16, 16),
    C.CALG_AES_192: CipherSpec(C.CALG_AES_192, "AES-192", 16, 24),
    C.CALG_AES_256: CipherSpec(C.CALG_AES_256, "AES-256", 16, 32),
}
AES_ALGS = (C.CALG_AES_128, C.CALG_AES_192, C.CALG_AES_256)

# (min, max, default) key bits, increment 8. Base: RC2/RC4 40 bits by default (docs
# "Base Provider Algorithms"), 56 accepted (Wine rsaenh.c test_rc2/test_mac derive 56-bit
# keys in MS_DEF_PROV); no 3DES (Wine runs test_3des only outside the Base provider).
# Strong, Enhanced, AES: RC2/RC4 128 by default, up to 128 (Wine test_rc2_import:
# (128 + 8) << 16 fails), DES 56, 3DES_112 112, 3DES 168; AES adds AES-128/192/256
# (docs "Enhanced/AES Provider Algorithms").
_BASE = {C.CALG_RC2: (40, 56, 40), C.CALG_RC4: (40, 56, 40), C.CALG_DES: (56, 56, 56)}
_ENHANCED = {C.CALG_RC2: (40, 128, 128), C.CALG_RC4: (40, 128, 128), C.CALG_DES: (56, 56, 56),
             C.CALG_3DES_112: (112, 112, 112), C.CALG_3DES: (168, 168, 168)}
_AES = {**_ENHANCED, C.CALG_AES_128: (128, 128, 128), C.CALG_AES_192: (192, 192, 192),
        C.CALG_AES_256: (256, 256, 256)}
TABLES = {BASE: _BASE, STRONG: _ENHANCED, ENHANCED: _ENHANCED, AES_PROV: _AES, SCHANNEL: _AES}

SALT_40 = 11  # 40-bit RC2/RC4 keys carry 11 zero salt bytes (docs "Salt Value Functionality")
HMAC_PAD = 64
_MAX_SALT_EX = 24  # Wine test_rc2/test_rc4: KP_SALT_EX up to 24 bytes, 25 fails
_MAX_EFFECTIVE = 1024
_MIN_EFFECTIVE = 40  # PyCryptodome's RC2 floor; Windows' own floor is not documented


def flavor_of(provider) -> str | None:
    """The table family of a provider, or None for providers that are not rsaenh's."""
    name = getattr(provider, "name", "")
    ptype = getattr(provider, "prov_type", 0)
    if getattr(provider, "hardware", False):
        return None
    if ptype == C.PROV_RSA_AES:
        return AES_PROV
    if ptype == C.PROV_RSA_SCHANNEL:
        return SCHANNEL
    if ptype == C.PROV_RSA_FULL:
        return {C.MS_DEF_PROV: BASE, C.MS_STRONG_PROV: STRONG}.get(name, ENHANCED)
    return None


def table(provider) -> dict[int, tuple[int, int, int]]:
    return TABLES.get(flavor_of(provider), {})


def key_bits(provider, alg_id: int, requested: int) -> int:
    """The key length CryptGenKey/CryptDeriveKey use: the high word of dwFlags or the
    provider's default. NTE_BAD_ALGID if the provider lacks the algorithm, NTE_BAD_FLAGS
    for a length outside its range."""
    entry = table(provider).get(alg_id)
    if entry is None:
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg_id:x}")
    low, high, default = entry
    bits = requested or default
    if not low <= bits <= high or bits % 8:
        raise WinError(NTE_BAD_FLAGS, detail=f"{bits}-bit key")
    return bits


def _key_bytes(spec: CipherSpec, bits: int) -> int:
    return spec.fixed_bytes or bits // 8


# -----------------------------------------------------------------------------------------
# Cipher contexts: one object per chain, ``update(data) -> bytes``
# -----------------------------------------------------------------------------------------


def _three_keys(key: bytes) -> bytes:
    """K1K2K3 for TripleDES: DES is K1K1K1, two-key 3DES K1K2K1."""
    return key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key


def _crypto_context(algorithm, mode, encrypt: bool):
    cipher = Cipher(algorithm, mode)
    return (cipher.encryptor() if encrypt else cipher.decryptor()).update


def _pycryptodome_context(factory, encrypt: bool):
    obj = factory()
    return obj.encrypt if encrypt else obj.decrypt


class SessionKey:
    """A symmetric key and its KP_* state."""

    def __init__(self, alg_id: int, flavor: str, key: bytes, *, salt: bytes = b"",
                 permissions: int, effective_bits: int | None = None, bits: int | None = None):
        self.alg_id = alg_id
        self.spec = SPECS[alg_id]
        self.flavor = flavor
        self.key = key
        self.bits = bits or len(key) * 8
        self.salt = salt
        self.permissions = permissions
        if effective_bits is None:
            # Wine test_rc2: the Base provider's RC2 keys default to 40 effective bits,
            # the others to the key length; test_rc2_import caps the default at 512.
            effective_bits = 40 if flavor == BASE else min(self.bits, 512)
        self.effective_bits = effective_bits
        self.mode = C.CRYPT_MODE_CBC if self.spec.block else 0
        self.mode_bits = 8
        self.padding = C.PKCS5_PADDING
        self.iv = bytes(self.spec.block)
        self._enc = None
        self._dec = None

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """End an open chain: the next call starts from KP_IV (and a fresh RC4 stream)."""
        self._enc = self._dec = None

    def duplicate(self) -> SessionKey:
        other = SessionKey.__new__(SessionKey)
        other.__dict__.update(self.__dict__)
        other.reset()
        return other

    @property
    def cipher_key(self) -> bytes:
        return self.key + self.salt

    def _context(self, encrypt: bool, mode: int | None = None):
        try:
            return self._new_context(encrypt, self.mode if mode is None else mode)
        except ValueError as exc:
            # Wine rsaenh.c test_rc2_import: a key the cipher cannot take is NTE_BAD_KEY.
            raise WinError(NTE_BAD_KEY, detail=str(exc)) from exc

    def _new_context(self, encrypt: bool, mode: int):
        if self.alg_id == C.CALG_RC4:
            from Crypto.Cipher import ARC4

            return _pycryptodome_context(lambda: ARC4.new(self.cipher_key), encrypt)
        if mode == C.CRYPT_MODE_OFB:
            # Wine rsaenh.c test_block_cipher_modes: OFB can be set but not used.
            raise WinError(NTE_BAD_ALGID, detail="CRYPT_MODE_OFB")
        if self.alg_id == C.CALG_RC2:
            from Crypto.Cipher import ARC2

            key, eff = self.cipher_key, self.effective_bits
            if mode == C.CRYPT_MODE_ECB:
                return _pycryptodome_context(
                    lambda: ARC2.new(key, ARC2.MODE_ECB, effective_keylen=eff), encrypt)
            if mode == C.CRYPT_MODE_CFB:
                return _pycryptodome_context(
                    lambda: ARC2.new(key, ARC2.MODE_CFB, iv=self.iv, segment_size=8,
                                     effective_keylen=eff), encrypt)
            return _pycryptodome_context(
                lambda: ARC2.new(key, ARC2.MODE_CBC, iv=self.iv, effective_keylen=eff), encrypt)
        if self.alg_id in AES_ALGS:
            algorithm = algorithms.AES(self.key)
        else:
            algorithm = TripleDES(_three_keys(self.key))
        if mode == C.CRYPT_MODE_ECB:
            return _crypto_context(algorithm, modes.ECB(), encrypt)
        if mode == C.CRYPT_MODE_CFB:
            return _crypto_context(algorithm, modes.CFB8(self.iv), encrypt)
        return _crypto_context(algorithm, modes.CBC(self.iv), encrypt)

    # -- CryptEncrypt / CryptDecrypt -------------------------------------------------------

    def encrypt(self, data: bytes, final: bool) -> bytes:
        block = self.spec.block
        if block and not final and len(data) % block:
            raise WinError(NTE_BAD_DATA, detail="a non-Final chunk must be whole blocks")
        update = self._enc or self._context(True)
        if block and final:
            n = block - len(data) % block
            data += bytes((n,)) * n
        out = update(data)
        self._enc = None if final else update
        return out

    def decrypt(self, data: bytes, final: bool) -> bytes:
        block = self.spec.block
        if block and len(data) % block:
            self._dec = None if final else self._dec
            raise WinError(NTE_BAD_DATA, detail="ciphertext is not whole blocks")
        update = self._dec or self._context(False)
        # Wine rsaenh.c test_des/test_3des/test_aes: a Final call restores the initial
        # state even when its padding is bad.
        self._dec = None if final else update
        out = update(data)
        if not (block and final):
            return out
        n = out[-1] if out else 0
        if not 1 <= n <= block or out[-n:] != bytes((n,)) * n:
            raise WinError(NTE_BAD_DATA, detail="bad padding")
        return out[:-n]

    def one_shot(self, data: bytes, encrypt: bool) -> bytes:
        """Encrypt or decrypt a whole message from KP_IV, leaving any open chain alone."""
        saved = self._enc, self._dec
        self._enc = self._dec = None
        try:
            return self.encrypt(data, True) if encrypt else self.decrypt(data, True)
        finally:
            self._enc, self._dec = saved

    # -- KP_* ------------------------------------------------------------------------------

    def get_param(self, param: int):
        spec = self.spec
        if param == C.KP_ALGID:
            return self.alg_id
        if param == C.KP_KEYLEN:
            return self.bits
        if param == C.KP_BLOCKLEN:
            return spec.block * 8
        if param == C.KP_PERMISSIONS:
            return self.permissions
        if param == C.KP_MODE:
            return self.mode
        if param == C.KP_MODE_BITS:
            return self.mode_bits
        if param == C.KP_PADDING:
            return self.padding
        if param == C.KP_IV:
            return self.iv
        if param == C.KP_SALT:
            return self.salt
        if param == C.KP_EFFECTIVE_KEYLEN and self.alg_id == C.CALG_RC2:
            return self.effective_bits
        raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")

    def set_param(self, param: int, value) -> None:
        spec = self.spec
        if param == C.KP_MODE:
            mode = _dword(value)
            if not spec.block or mode not in (C.CRYPT_MODE_CBC, C.CRYPT_MODE_ECB,
                                              C.CRYPT_MODE_CFB, C.CRYPT_MODE_OFB):
                raise WinError(NTE_BAD_DATA, detail=f"mode {mode}")
            self.mode = mode
        elif param == C.KP_MODE_BITS:
            if _dword(value) != 8:
                raise WinError(NTE_BAD_DATA, detail="only 8-bit feedback")
        elif param == C.KP_PADDING:
            if _dword(value) != C.PKCS5_PADDING:
                raise WinError(NTE_BAD_DATA, detail="only PKCS5_PADDING")
        elif param == C.KP_IV:
            iv = bytes(value)
            if not spec.block:
                return
            if len(iv) < spec.block:
                raise WinError(NTE_BAD_DATA, detail="IV shorter than a block")
            self.iv = iv[: spec.block]
        elif param in (C.KP_SALT, C.KP_SALT_EX):
            if self.alg_id not in (C.CALG_RC2, C.CALG_RC4):
                raise WinError(NTE_BAD_KEY, detail="no salt allowed")
            salt = bytes(value)
            if param == C.KP_SALT_EX:
                if len(salt) > _MAX_SALT_EX:
                    raise WinError(NTE_BAD_DATA, detail="salt too long")
                self.salt = salt
            elif self.flavor in (BASE, STRONG):
                # Wine test_rc2/test_rc4: KP_SALT keeps the 11-byte salt length in the
                # Base and Strong providers, and leaves none in the others.
                if len(salt) < SALT_40:
                    raise WinError(NTE_BAD_DATA, detail="KP_SALT takes 11 bytes")
                self.salt = salt[:SALT_40]
            else:
                self.salt = b""
        elif param == C.KP_EFFECTIVE_KEYLEN and self.alg_id == C.CALG_RC2:
            bits = _dword(value)
            ceiling = 40 if self.flavor == BASE else _MAX_EFFECTIVE
            # Wine test_rc2: 0 and 1025 fail with NTE_BAD_DATA, as does 128 in Base.
            if not _MIN_EFFECTIVE <= bits <= ceiling:
                raise WinError(NTE_BAD_DATA, detail=f"effective key length {bits}")
            self.effective_bits = bits
        elif param == C.KP_PERMISSIONS:
            perms = _dword(value)
            if perms & C.CRYPT_EXPORT and not self.permissions & C.CRYPT_EXPORT:
                raise WinError(NTE_BAD_DATA, detail="cannot add CRYPT_EXPORT")
            self.permissions = (perms & ~C.CRYPT_EXPORT) | (self.permissions & C.CRYPT_EXPORT)
        else:
            raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")
        self.reset()


def _dword(value) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) < 4:
            raise WinError(NTE_BAD_DATA, detail="a DWORD needs 4 bytes")
        return int.from_bytes(raw[:4], "little")
    return int(value) & 0xFFFFFFFF


# -----------------------------------------------------------------------------------------
# Key creation
# -----------------------------------------------------------------------------------------

BASE_PERMISSIONS = C.CRYPT_ENCRYPT | C.CRYPT_DECRYPT | C.CRYPT_READ | C.CRYPT_WRITE | C.CRYPT_MAC


def _permissions(flags: int) -> int:
    return BASE_PERMISSIONS | (C.CRYPT_EXPORT if flags & C.CRYPT_EXPORTABLE else 0)


def _default_salt(alg_id: int, bits: int, flags: int) -> bytes:
    if alg_id in (C.CALG_RC2, C.CALG_RC4) and bits == 40 and not flags & C.CRYPT_NO_SALT:
        return bytes(SALT_40)
    return b""


def _created_salt(flavor: str, alg_id: int, bits: int, source: bytes) -> bytes | None:
    """CRYPT_CREATE_SALT: the Base and Strong providers fill (128 - bits) / 8 salt bytes
    from ``source``; the Enhanced and AES providers leave no salt (Wine test_rc2/test_rc4
    rc2_40_salt_* / rc4_40_salt* vectors)."""
    if alg_id not in (C.CALG_RC2, C.CALG_RC4):
        return None
    if flavor not in (BASE, STRONG):
        return b""
    return source[: max(0, (128 - bits) // 8)]


def generate(provider, alg_id: int, flags: int) -> SessionKey:
    """CryptGenKey for a symmetric ALG_ID."""
    bits = key_bits(provider, alg_id, flags >> 16)
    spec = SPECS[alg_id]
    key = os.urandom(_key_bytes(spec, bits))
    salt = _default_salt(alg_id, bits, flags)
    if flags & C.CRYPT_CREATE_SALT:
        created = _created_salt(flavor_of(provider), alg_id, bits, os.urandom(16))
        if created is not None:
            salt = created
    return SessionKey(alg_id, flavor_of(provider), key, salt=salt, permissions=_permissions(flags),
                      bits=bits)


def expand(new_hash, value: bytes) -> bytes:
    """CryptDeriveKey's expansion (docs "CryptDeriveKey function", Remarks): hash 64 bytes
    of 0x36 and of 0x5C, each XORed with the hash value, and concatenate."""
    inner = bytes(b ^ 0x36 for b in value) + b"\x36" * (HMAC_PAD - len(value))
    outer = bytes(b ^ 0x5C for b in value) + b"\x5c" * (HMAC_PAD - len(value))
    return new_hash(inner) + new_hash(outer)


def derive(provider, alg_id: int, value: bytes, new_hash, flags: int) -> SessionKey:
    """CryptDeriveKey from a finished hash ``value``. ``new_hash(data) -> digest`` is the
    base hash's algorithm, for the expansion.

    The expansion is used when the hash is shorter than the key, and for AES whenever
    the hash is shorter than 32 bytes: Wine rsaenh.c test_key_derivation (run on Windows)
    has AES-128 from 16- and 20-byte hashes expanded, and AES-128/192/256 from SHA-256
    taken directly, like DES, 3DES_112, RC2 and RC4 from any longer hash.
    """
    bits = key_bits(provider, alg_id, flags >> 16)
    spec = SPECS[alg_id]
    size = _key_bytes(spec, bits)
    material = value
    if len(value) < size or (alg_id in AES_ALGS and len(value) < 32):
        if new_hash is None:
            raise WinError(NTE_BAD_ALGID, detail="base hash cannot be expanded")
        material = expand(new_hash, value)
    if len(material) < size:
        raise WinError(NTE_BAD_LEN, detail="hash too short for the key")
    salt = _default_salt(alg_id, bits, flags)
    if flags & C.CRYPT_CREATE_SALT:
        created = _created_salt(flavor_of(provider), alg_id, bits, material[size:])
        if created is not None:
            salt = created
    return SessionKey(alg_id, flavor_of(provider), material[:size], salt=salt,
                      permissions=_permissions(flags), bits=bits)


def from_material(provider, alg_id: int, material: bytes, flags: int) -> SessionKey:
    """A session key imported from a SIMPLEBLOB/PLAINTEXTKEYBLOB/SYMMETRICWRAPKEYBLOB."""
    entry = table(provider).get(alg_id)
    if entry is None:
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg_id:x}")
    spec = SPECS[alg_id]
    flavor = flavor_of(provider)
    if flags & C.CRYPT_IPSEC_HMAC_KEY:
        # Wine test_import_hmac: an HMAC key of any length arrives as CALG_RC2.
        return SessionKey(alg_id, flavor, material, permissions=_permissions(flags))
    if spec.fixed_bytes:
        if len(material) != spec.fixed_bytes:
            raise WinError(NTE_BAD_DATA, detail="key length")
        bits = entry[2]
    else:
        if not material:
            raise WinError(NTE_BAD_DATA, detail="empty key")
        bits = min(len(material) * 8, 512)
        material = material[:64]
    return SessionKey(alg_id, flavor, material, salt=_default_salt(alg_id, bits, flags),
                      permissions=_permissions(flags), bits=bits)


# -----------------------------------------------------------------------------------------
# Blobs
# -----------------------------------------------------------------------------------------

_BLOBHEADER = struct.Struct("<BBHI")


def blob_header(data: bytes) -> tuple[int, int]:
    """(bType, aiKeyAlg) of a key blob; NTE_BAD_DATA for a short blob or wrong version."""
    if len(data) < _BLOBHEADER.size:
        raise WinError(NTE_BAD_DATA, detail="blob shorter than BLOBHEADER")
    btype, version, reserved, alg = _BLOBHEADER.unpack_from(data)
    if version != C.CUR_BLOB_VERSION or reserved:
        raise WinError(NTE_BAD_DATA, detail=f"bVersion {version}")
    return btype, alg


def simple_blob(key: SessionKey, exchange_public, exchange_alg: int) -> bytes:
    """SIMPLEBLOB: BLOBHEADER, the exchange key's ALG_ID, the key bytes encrypted with
    PKCS#1 v1.5 under the RSA exchange key, little-endian."""
    from cryptography.hazmat.primitives.asymmetric import padding

    wrapped = exchange_public.encrypt(key.key, padding.PKCS1v15())[::-1]
    return (_BLOBHEADER.pack(C.SIMPLEBLOB, C.CUR_BLOB_VERSION, 0, key.alg_id)
            + struct.pack("<I", exchange_alg) + wrapped)


def parse_simple_blob(data: bytes, exchange_private) -> tuple[int, bytes]:
    from cryptography.hazmat.primitives.asymmetric import padding

    _, alg = blob_header(data)
    size = -(-exchange_private.key_size // 8)
    # Wine rsaenh.c test_import_private passes a 148-byte buffer holding a 140-byte
    # SIMPLEBLOB: bytes past the wrapped key are ignored.
    body = data[_BLOBHEADER.size + 4:][:size]
    if len(body) != size:
        raise WinError(NTE_BAD_DATA, detail="SIMPLEBLOB length")
    try:
        return alg, exchange_private.decrypt(body[::-1], padding.PKCS1v15())
    except ValueError as exc:
        raise WinError(NTE_BAD_DATA, detail="SIMPLEBLOB does not decrypt") from exc


def plaintext_blob(key: SessionKey) -> bytes:
    """PLAINTEXTKEYBLOB: BLOBHEADER, DWORD dwKeySize, the key bytes."""
    return (_BLOBHEADER.pack(C.PLAINTEXTKEYBLOB, C.CUR_BLOB_VERSION, 0, key.alg_id)
            + struct.pack("<I", len(key.key)) + key.key)


def parse_plaintext_blob(data: bytes) -> tuple[int, bytes]:
    _, alg = blob_header(data)
    if len(data) < _BLOBHEADER.size + 4:
        raise WinError(NTE_BAD_DATA, detail="PLAINTEXTKEYBLOB too short")
    (size,) = struct.unpack_from("<I", data, _BLOBHEADER.size)
    material = data[_BLOBHEADER.size + 4:]
    if size != len(material):
        raise WinError(NTE_BAD_DATA, detail="dwKeySize does not match the blob")
    return alg, material


# RFC 3217 section 3: the CMS Triple-DES key wrap, which SYMMETRICWRAPKEYBLOB carries
# (docs "CryptExportKey function": "format specified in the IETF RFC 3217 standard").
_RFC3217_IV = bytes.fromhex("4adda22c79e82105")


def _cms_checksum(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha1(data).digest()[:8]


def _cbc(key: SessionKey, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(TripleDES(_three_keys(key.key)), modes.CBC(iv))
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def symmetric_wrap_blob(key: SessionKey, wrapping: SessionKey) -> bytes:
    if wrapping.alg_id not in (C.CALG_3DES, C.CALG_3DES_112, C.CALG_DES):
        raise WinError(NTE_BAD_KEY, detail="wrapping key is not Triple-DES")
    cek = bytes((len(key.key),)) + key.key
    cek += os.urandom(-len(cek) % 8)
    wkcks = cek + _cms_checksum(cek)
    iv = os.urandom(8)
    temp1 = _cbc(wrapping, iv, wkcks, True)
    temp3 = (iv + temp1)[::-1]
    wrapped = _cbc(wrapping, _RFC3217_IV, temp3, True)
    return _BLOBHEADER.pack(C.SYMMETRICWRAPKEYBLOB, C.CUR_BLOB_VERSION, 0, key.alg_id) + wrapped


def parse_symmetric_wrap_blob(data: bytes, wrapping: SessionKey) -> tuple[int, bytes]:
    _, alg = blob_header(data)
    if wrapping.alg_id not in (C.CALG_3DES, C.CALG_3DES_112, C.CALG_DES):
        raise WinError(NTE_BAD_KEY, detail="unwrapping key is not Triple-DES")
    wrapped = data[_BLOBHEADER.size:]
    if len(wrapped) < 24 or len(wrapped) % 8:
        raise WinError(NTE_BAD_DATA, detail="wrapped key length")
    temp3 = _cbc(wrapping, _RFC3217_IV, wrapped, False)[::-1]
    iv, temp1 = temp3[:8], temp3[8:]
    wkcks = _cbc(wrapping, iv, temp1, False)
    cek, check = wkcks[:-8], wkcks[-8:]
    if _cms_checksum(cek) != check or not cek or cek[0] > len(cek) - 1:
        raise WinError(NTE_BAD_DATA, detail="key wrap integrity check failed")
    return alg, cek[1 : 1 + cek[0]]


__all__ = [
    "SessionKey", "CipherSpec", "SPECS", "TABLES", "flavor_of", "table", "key_bits",
    "generate", "derive", "expand", "from_material", "simple_blob", "parse_simple_blob",
    "plaintext_blob", "parse_plaintext_blob", "symmetric_wrap_blob",
    "parse_symmetric_wrap_blob", "blob_header", "BASE_PERMISSIONS",
]

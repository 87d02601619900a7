"""CryptoAPI key functions (advapi32): CSP contexts, keys, hashes, signatures.

Output parameters are return values; failures raise WinError and set GetLastError().
Handles are objects and context managers. Signatures and ciphertexts are little-endian,
as CryptoAPI writes them (reversed relative to PKCS#1 / ``cryptography``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from capi import constants as C
from capi.advapi32 import hashes as _hashes
from capi.advapi32 import sessionkeys as _sk
from capi.advapi32.hashes import HMAC_INFO
from capi.errors import (
    ERROR_INVALID_PARAMETER,
    ERROR_NO_MORE_ITEMS,
    NTE_BAD_ALGID,
    NTE_BAD_DATA,
    NTE_BAD_FLAGS,
    NTE_BAD_HASH,
    NTE_BAD_HASH_STATE,
    NTE_BAD_KEY,
    NTE_BAD_KEY_STATE,
    NTE_BAD_KEYSET,
    NTE_BAD_KEYSET_PARAM,
    NTE_BAD_LEN,
    NTE_BAD_SIGNATURE,
    NTE_BAD_TYPE,
    NTE_NO_KEY,
    NTE_NO_MEMORY,
    NTE_NOT_FOUND,
    NTE_SILENT_CONTEXT,
    WinError,
    winapi,
)

if TYPE_CHECKING:
    from capi.advapi32.enumalgs import PROV_ENUMALGS, PROV_ENUMALGS_EX
    from capi.host.security import SecurityDescriptor

MAX_PATH = 260
PP_VERSION_2_0 = 0x0200
KEY_LENGTH_SHIFT = 16
_ACQUIRE_FLAGS = (C.CRYPT_VERIFYCONTEXT | C.CRYPT_NEWKEYSET | C.CRYPT_DELETEKEYSET
                  | C.CRYPT_MACHINE_KEYSET | C.CRYPT_SILENT | C.CRYPT_DEFAULT_CONTAINER_OPTIONAL)
_MODE_FLAGS = C.CRYPT_VERIFYCONTEXT | C.CRYPT_NEWKEYSET | C.CRYPT_DELETEKEYSET
# DigestInfo prefixes CryptVerifySignature accepts with or without CRYPT_NOHASHOID.
_SSL3_SHAMD5_LEN = 36


def _u32(value) -> int:
    return int(value or 0) & 0xFFFFFFFF


_facade = winapi


# -----------------------------------------------------------------------------------------
# Handles
# -----------------------------------------------------------------------------------------


class _Handle:
    _open = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._open:
            self._close()

    def _close(self) -> None:
        self._open = False


class HCRYPTPROV(_Handle):
    """An acquired CSP context: a provider and one container (or a verify context)."""

    def __init__(self, provider, scope, container, flags: int):
        self.provider = provider
        self.scope = scope
        self.container = container
        self.flags = flags
        self._enum: list[str] | None = None

    @property
    def silent(self) -> bool:
        return bool(self.flags & C.CRYPT_SILENT)

    def __exit__(self, *exc) -> None:
        if self._open:
            CryptReleaseContext(self, 0)

    def __repr__(self) -> str:
        state = "" if self._open else " released"
        return f"<HCRYPTPROV {self.provider.name!r} {self.container.name!r}{state}>"


class HCRYPTKEY(_Handle):
    def __init__(self, prov: HCRYPTPROV, pair):
        self.prov = prov
        self.pair = pair

    def __exit__(self, *exc) -> None:
        self._open = False


class HCRYPTHASH(_Handle):
    def __init__(self, prov: HCRYPTPROV, alg_id: int, name: str, factory):
        self.prov = prov
        self.alg_id = alg_id
        self.name = name
        self._factory = factory
        self._ctx = factory() if factory else None
        self.value: bytes | None = None
        self.finished = False

    def update(self, data: bytes) -> None:
        if self.finished:
            raise WinError(NTE_BAD_HASH_STATE)
        if self._ctx is None:  # CALG_SSL3_SHAMD5 is set with HP_HASHVAL only
            raise WinError(NTE_BAD_ALGID)
        self._ctx.update(data)

    def digest(self) -> bytes:
        if self.value is None:
            if self._ctx is None:
                raise WinError(NTE_BAD_HASH_STATE)
            self.value = self._ctx.digest()
        self.finished = True
        return self.value

    @property
    def size(self) -> int:
        return self._ctx.digest_size if self._ctx is not None else _SSL3_SHAMD5_LEN


def _prov(h) -> HCRYPTPROV:
    if not isinstance(h, HCRYPTPROV) or not h._open:
        raise WinError(ERROR_INVALID_PARAMETER, detail="invalid HCRYPTPROV")
    return h


def _key(h) -> HCRYPTKEY:
    if not isinstance(h, HCRYPTKEY) or not h._open or not h.prov._open:
        raise WinError(ERROR_INVALID_PARAMETER, detail="invalid HCRYPTKEY")
    return h


def _hash(h) -> HCRYPTHASH:
    if not isinstance(h, HCRYPTHASH) or not h._open or not h.prov._open:
        raise WinError(ERROR_INVALID_PARAMETER, detail="invalid HCRYPTHASH")
    return h


def _machine_and_token():
    from capi.host.context import current_machine
    from csp.identity import token_for

    machine = current_machine()
    return machine, token_for(machine)


def _account_name(token) -> str:
    name = str(getattr(token, "name", "") or "")
    return name.rsplit("\\", 1)[-1]


# -----------------------------------------------------------------------------------------
# Providers and contexts
# -----------------------------------------------------------------------------------------


@_facade
def CryptEnumProviders(dwIndex: int, dwFlags: int = 0) -> tuple[int, str]:
    """CryptEnumProviders -> (dwProvType, szProvName). ERROR_NO_MORE_ITEMS past the end,
    NTE_BAD_FLAGS for nonzero flags."""
    from capi.host.context import current_machine
    from csp.registry import csp_list

    if _u32(dwFlags):
        raise WinError(NTE_BAD_FLAGS)
    providers = csp_list(current_machine())
    index = _u32(dwIndex)
    if index >= len(providers):
        raise WinError(ERROR_NO_MORE_ITEMS)
    p = providers[index]
    return p.prov_type, p.name


@_facade
def CryptEnumProviderTypes(dwIndex: int, dwFlags: int = 0) -> tuple[int, str]:
    """CryptEnumProviderTypes -> (dwProvType, szTypeName); ERROR_NO_MORE_ITEMS at the end."""
    from csp.registry import PROVIDER_TYPES

    if _u32(dwFlags):
        raise WinError(NTE_BAD_FLAGS)
    types = sorted(PROVIDER_TYPES.items())
    index = _u32(dwIndex)
    if index >= len(types):
        raise WinError(ERROR_NO_MORE_ITEMS)
    prov_type, (type_name, _) = types[index]
    return prov_type, type_name


@_facade
def CryptGetDefaultProvider(dwProvType: int, dwFlags: int = C.CRYPT_MACHINE_DEFAULT) -> str:
    """CryptGetDefaultProvider -> provider name. NTE_BAD_FLAGS, NTE_PROV_TYPE_NOT_DEF."""
    from csp.registry import default_provider_name

    flags = _u32(dwFlags)
    if flags not in (C.CRYPT_MACHINE_DEFAULT, C.CRYPT_USER_DEFAULT):
        raise WinError(NTE_BAD_FLAGS)
    return default_provider_name(_u32(dwProvType))


@_facade
def CryptAcquireContext(szContainer: str | None, szProvider: str | None, dwProvType: int,
                        dwFlags: int = 0) -> HCRYPTPROV | None:
    """CryptAcquireContext -> HCRYPTPROV (None for CRYPT_DELETEKEYSET).

    NTE_BAD_PROV_TYPE (type 0), NTE_KEYSET_NOT_DEF (unknown provider),
    NTE_PROV_TYPE_NO_MATCH, NTE_BAD_FLAGS (a named container with CRYPT_VERIFYCONTEXT,
    unknown flags), NTE_BAD_KEYSET (missing or inaccessible container), NTE_EXISTS
    (CRYPT_NEWKEYSET on an existing one), NTE_BAD_KEYSET_PARAM (name over MAX_PATH).
    A NULL container is the current account's name.
    """
    from csp.base import KeyScope
    from csp.registry import find_csp

    flags = _u32(dwFlags)
    machine, token = _machine_and_token()
    provider = find_csp(machine, szProvider, _u32(dwProvType))
    if flags & ~_ACQUIRE_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    name = szContainer
    if name is not None:
        name = str(name).split("\x00", 1)[0]  # a C string ends at its first NUL
    if name and len(name) > MAX_PATH:
        raise WinError(NTE_BAD_KEYSET_PARAM)
    mode = flags & _MODE_FLAGS
    scope = KeyScope(machine, token, bool(flags & C.CRYPT_MACHINE_KEYSET), bool(flags & C.CRYPT_SILENT))
    if mode & C.CRYPT_VERIFYCONTEXT:
        # Wine rsaenh: VERIFYCONTEXT (alone or with NEWKEYSET) needs a NULL or empty name.
        if name or mode not in (C.CRYPT_VERIFYCONTEXT, C.CRYPT_VERIFYCONTEXT | C.CRYPT_NEWKEYSET):
            raise WinError(NTE_BAD_FLAGS)
        return HCRYPTPROV(provider, scope, provider.verify_context(scope), flags)
    if not name:
        name = _account_name(token)
    if mode == C.CRYPT_DELETEKEYSET:
        provider.delete_container(scope, name)
        return None
    if mode == C.CRYPT_NEWKEYSET:
        return HCRYPTPROV(provider, scope, provider.create_container(scope, name), flags)
    if mode:
        raise WinError(NTE_BAD_FLAGS)
    return HCRYPTPROV(provider, scope, provider.open_container(scope, name), flags)


@_facade
def CryptReleaseContext(hProv: HCRYPTPROV, dwFlags: int = 0) -> None:
    """CryptReleaseContext. Nonzero flags: NTE_BAD_FLAGS but the handle is freed; a second
    release: ERROR_INVALID_PARAMETER (Wine rsaenh.c clean_up_base_environment)."""
    prov = _prov(hProv)
    prov._open = False
    prov.container.close()
    if _u32(dwFlags):
        raise WinError(NTE_BAD_FLAGS)


@_facade
def CryptGetProvParam(hProv: HCRYPTPROV, dwParam: int, dwFlags: int = 0
                      ) -> int | str | PROV_ENUMALGS | PROV_ENUMALGS_EX | SecurityDescriptor:
    """CryptGetProvParam: PP_NAME, PP_CONTAINER, PP_UNIQUE_CONTAINER, PP_PROVTYPE,
    PP_IMPTYPE, PP_VERSION, PP_KEYSPEC, PP_KEYSET_TYPE, PP_KEYSTORAGE, PP_ENUMCONTAINERS
    (CRYPT_FIRST/CRYPT_NEXT, ends with ERROR_NO_MORE_ITEMS), PP_ENUMALGS (PROV_ENUMALGS) and
    PP_ENUMALGS_EX (PROV_ENUMALGS_EX) the same way, PP_KEYSET_SEC_DESCR
    (a SecurityDescriptor), PP_SIG_KEYSIZE_INC/PP_KEYX_KEYSIZE_INC. Others: NTE_BAD_TYPE."""
    prov = _prov(hProv)
    param, flags = _u32(dwParam), _u32(dwFlags)
    c = prov.container
    if param == C.PP_NAME:
        return prov.provider.name
    if param == C.PP_CONTAINER:
        return c.name
    if param == C.PP_UNIQUE_CONTAINER:
        if c.unique_name is None:
            raise WinError(NTE_BAD_KEYSET)
        return c.unique_name
    if param == C.PP_PROVTYPE:
        return prov.provider.prov_type
    if param == C.PP_IMPTYPE:
        return C.CRYPT_IMPL_HARDWARE if prov.provider.hardware else C.CRYPT_IMPL_SOFTWARE
    if param == C.PP_VERSION:
        return PP_VERSION_2_0
    if param == C.PP_KEYSPEC:
        return C.AT_KEYEXCHANGE | C.AT_SIGNATURE
    if param == C.PP_KEYSET_TYPE:
        return C.CRYPT_MACHINE_KEYSET if prov.scope.machine_keyset else 0
    if param == C.PP_KEYSTORAGE:
        return C.CRYPT_SEC_DESCR
    if param in (C.PP_SIG_KEYSIZE_INC, C.PP_KEYX_KEYSIZE_INC):
        alg = C.CALG_RSA_SIGN if param == C.PP_SIG_KEYSIZE_INC else C.CALG_RSA_KEYX
        return prov.provider.key_lengths(alg)[3]
    if param == C.PP_ENUMCONTAINERS:
        if flags & C.CRYPT_FIRST or prov._enum is None:
            prov._enum = list(prov.provider.enum_containers(prov.scope))
        if not prov._enum:
            raise WinError(ERROR_NO_MORE_ITEMS)
        return prov._enum.pop(0)
    if param in (C.PP_ENUMALGS, C.PP_ENUMALGS_EX):
        if flags & C.CRYPT_FIRST or getattr(prov, "_algs", None) is None:
            from capi.advapi32 import enumalgs

            prov._algs = (enumalgs.algorithms_ex(prov.provider) if param == C.PP_ENUMALGS_EX
                          else enumalgs.algorithms(prov.provider))
        if not prov._algs:
            raise WinError(ERROR_NO_MORE_ITEMS)
        return prov._algs.pop(0)
    if param == C.PP_KEYSET_SEC_DESCR:
        return c.get_security_descriptor()
    raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")


@_facade
def CryptSetProvParam(hProv: HCRYPTPROV, dwParam: int, pbData: SecurityDescriptor | bytes | None,
                      dwFlags: int = 0) -> None:
    """CryptSetProvParam: PP_KEYSET_SEC_DESCR (pbData a SecurityDescriptor, dwFlags the
    SECURITY_INFORMATION bits; NTE_PERM without WRITE_DAC). PP_KEYEXCHANGE_PIN /
    PP_SIGNATURE_PIN are kept for hardware providers; software CSPs, like rsaenh, answer
    NTE_BAD_TYPE."""
    prov = _prov(hProv)
    param = _u32(dwParam)
    if param == C.PP_KEYSET_SEC_DESCR:
        if pbData is None:
            raise WinError(ERROR_INVALID_PARAMETER)
        prov.container.set_security_descriptor(pbData, _u32(dwFlags) or C.DACL_SECURITY_INFORMATION)
        return
    if param in (C.PP_KEYEXCHANGE_PIN, C.PP_SIGNATURE_PIN) and prov.provider.hardware:
        prov.pins = {**getattr(prov, "pins", {}), param: pbData}
        prov.container.set_pin(pbData)
        return
    raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")


# -----------------------------------------------------------------------------------------
# Keys
# -----------------------------------------------------------------------------------------

_SPEC_ALG = {C.AT_KEYEXCHANGE: C.CALG_RSA_KEYX, C.AT_SIGNATURE: C.CALG_RSA_SIGN,
             C.CALG_RSA_KEYX: C.CALG_RSA_KEYX, C.CALG_RSA_SIGN: C.CALG_RSA_SIGN}
_ALG_SPEC = {C.CALG_RSA_KEYX: C.AT_KEYEXCHANGE, C.CALG_RSA_SIGN: C.AT_SIGNATURE}


@_facade
def CryptGenKey(hProv: HCRYPTPROV, Algid: int, dwFlags: int = 0) -> HCRYPTKEY:
    """CryptGenKey -> HCRYPTKEY. AT_KEYEXCHANGE/CALG_RSA_KEYX, AT_SIGNATURE/CALG_RSA_SIGN,
    and session keys (CALG_RC2, RC4, DES, 3DES_112, 3DES, AES_128/192/256 as the
    provider's table allows; CRYPT_EXPORTABLE, CRYPT_CREATE_SALT, CRYPT_NO_SALT);
    the key length is the upper 16 bits of dwFlags (0 = the provider's default).
    NTE_BAD_ALGID, NTE_BAD_FLAGS (length out of range), NTE_SILENT_CONTEXT
    (CRYPT_USER_PROTECTED on a CRYPT_SILENT context), NTE_PERM (no write access)."""
    prov = _prov(hProv)
    if _u32(Algid) in _sk.SPECS:
        return HCRYPTKEY(prov, _sk.generate(prov.provider, _u32(Algid), _u32(dwFlags)))
    alg = _SPEC_ALG.get(_u32(Algid))
    if alg is None:
        raise WinError(NTE_BAD_ALGID)
    flags = _u32(dwFlags)
    low, high, default, step = prov.provider.key_lengths(alg)
    bits = flags >> KEY_LENGTH_SHIFT or default
    if not low <= bits <= high or bits % step:
        raise WinError(NTE_BAD_FLAGS, detail=f"key length {bits}")
    if flags & C.CRYPT_USER_PROTECTED and prov.silent:
        raise WinError(NTE_SILENT_CONTEXT)
    pair = prov.container.generate_key(_ALG_SPEC[alg], alg, bits, flags & 0xFFFF)
    return HCRYPTKEY(prov, pair)


@_facade
def CryptGetUserKey(hProv: HCRYPTPROV, dwKeySpec: int) -> HCRYPTKEY:
    """CryptGetUserKey -> HCRYPTKEY; NTE_NO_KEY when the slot is empty."""
    prov = _prov(hProv)
    spec = _u32(dwKeySpec)
    if spec not in (C.AT_KEYEXCHANGE, C.AT_SIGNATURE):
        raise WinError(NTE_NO_KEY)
    return HCRYPTKEY(prov, prov.container.get_key(spec))


@_facade
def CryptDestroyKey(hKey: HCRYPTKEY) -> None:
    """CryptDestroyKey (the key stays in its container)."""
    _key(hKey)._open = False


@_facade
def CryptExportKey(hKey: HCRYPTKEY, hExpKey: HCRYPTKEY | None, dwBlobType: int,
                   dwFlags: int = 0) -> bytes:
    """CryptExportKey -> blob. PUBLICKEYBLOB always; PRIVATEKEYBLOB only from an exportable
    key (NTE_BAD_KEY_STATE otherwise), clear or encrypted with a session hExpKey; a session
    key as SIMPLEBLOB (hExpKey the RSA exchange key), PLAINTEXTKEYBLOB or
    SYMMETRICWRAPKEYBLOB (hExpKey a Triple-DES key), only if exportable."""
    key = _key(hKey)
    btype = _u32(dwBlobType)
    if isinstance(key.pair, _sk.SessionKey) or hExpKey is not None:
        return _export_wrapped(key, None if hExpKey is None else _key(hExpKey), btype)
    return key.prov.container.export_key(key.pair, btype)


def _export_wrapped(key: HCRYPTKEY, exp: HCRYPTKEY | None, btype: int) -> bytes:
    """Session-key blobs, and a PRIVATEKEYBLOB encrypted with a session key (the
    BLOBHEADER stays clear, the rest is CryptEncrypt'ed with Final)."""
    pair = key.pair
    exp_pair = exp.pair if exp is not None else None
    if not isinstance(pair, _sk.SessionKey):
        if btype != C.PRIVATEKEYBLOB or not isinstance(exp_pair, _sk.SessionKey):
            raise WinError(NTE_BAD_KEY, detail="hExpKey must be a session key")
        plain = key.prov.container.export_key(pair, btype)
        return plain[:8] + exp_pair.one_shot(plain[8:], True)
    if not pair.permissions & C.CRYPT_EXPORT:
        raise WinError(NTE_BAD_KEY_STATE, detail="session key is not exportable")
    if btype == C.SIMPLEBLOB:
        if exp_pair is None or isinstance(exp_pair, _sk.SessionKey) \
                or exp_pair.alg_id != C.CALG_RSA_KEYX:
            raise WinError(NTE_BAD_KEY, detail="SIMPLEBLOB needs an RSA exchange key")
        return _sk.simple_blob(pair, exp_pair.public, exp_pair.alg_id)
    if btype == C.PLAINTEXTKEYBLOB:
        if exp_pair is not None:
            raise WinError(NTE_BAD_KEY, detail="PLAINTEXTKEYBLOB takes no hExpKey")
        return _sk.plaintext_blob(pair)
    if btype == C.SYMMETRICWRAPKEYBLOB:
        if not isinstance(exp_pair, _sk.SessionKey):
            raise WinError(NTE_BAD_KEY, detail="SYMMETRICWRAPKEYBLOB needs a session key")
        return _sk.symmetric_wrap_blob(pair, exp_pair)
    raise WinError(NTE_BAD_TYPE, detail=f"blob type {btype}")


@_facade
def CryptImportKey(hProv: HCRYPTPROV, pbData: bytes, hPubKey: HCRYPTKEY | None = None,
                   dwFlags: int = 0) -> HCRYPTKEY:
    """CryptImportKey -> HCRYPTKEY. A private blob fills the slot its ALG_ID names and is
    persisted at once; a public blob is not stored in the container. NTE_BAD_DATA for a
    wrong version/magic/length, NTE_BAD_TYPE for an unknown blob type."""
    from capi.formats.blobs import parse_capi_blob_bits
    from csp.base import KeyPair

    prov = _prov(hProv)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    data = bytes(pbData)
    flags = _u32(dwFlags)
    pub = None if hPubKey is None else _key(hPubKey)
    btype, _ = _sk.blob_header(data)
    if btype in (C.SIMPLEBLOB, C.PLAINTEXTKEYBLOB, C.SYMMETRICWRAPKEYBLOB):
        return HCRYPTKEY(prov, _import_session(prov, btype, data, pub, flags))
    if pub is not None:
        if btype != C.PRIVATEKEYBLOB or not isinstance(pub.pair, _sk.SessionKey):
            raise WinError(NTE_BAD_KEY, detail="hPubKey must be a session key")
        data = data[:8] + pub.pair.one_shot(data[8:], False)
    btype, alg, key, bitlen = parse_capi_blob_bits(data)
    if btype == C.PUBLICKEYBLOB:
        from csp.software import BASE_PERMISSIONS

        return HCRYPTKEY(prov, KeyPair(0, alg, key, None, BASE_PERMISSIONS, bitlen=bitlen))
    pair = prov.container.import_key(key, alg, flags)
    pair.bitlen = bitlen
    return HCRYPTKEY(prov, pair)


def _import_session(prov: HCRYPTPROV, btype: int, data: bytes, pub, flags: int):
    if btype == C.SIMPLEBLOB:
        if pub is None or isinstance(pub.pair, _sk.SessionKey) or pub.pair.private is None:
            raise WinError(NTE_BAD_KEY, detail="SIMPLEBLOB needs the RSA exchange key")
        alg, material = _sk.parse_simple_blob(data, pub.pair.private)
    elif btype == C.PLAINTEXTKEYBLOB:
        alg, material = _sk.parse_plaintext_blob(data)
    else:
        if pub is None or not isinstance(pub.pair, _sk.SessionKey):
            raise WinError(NTE_BAD_KEY, detail="SYMMETRICWRAPKEYBLOB needs a session key")
        alg, material = _sk.parse_symmetric_wrap_blob(data, pub.pair)
    if alg not in _sk.SPECS:
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg:x}")
    return _sk.from_material(prov.provider, alg, material, flags)


@_facade
def CryptDeriveKey(hProv: HCRYPTPROV, Algid: int, hBaseData: HCRYPTHASH,
                   dwFlags: int = 0) -> HCRYPTKEY:
    """CryptDeriveKey -> HCRYPTKEY: a session key from a hash's value (which is finished).
    Keys longer than the hash (and AES keys from hashes shorter than 32 bytes) use
    Windows' 0x36/0x5C expansion; CRYPT_CREATE_SALT takes the salt from the leftover hash
    bytes in the Base and Strong providers. NTE_BAD_ALGID for an ALG_ID the provider
    lacks (RSA, CALG_AES, RC5...), NTE_BAD_FLAGS for a key length out of range."""
    prov = _prov(hProv)
    h = _hash(hBaseData)
    alg, flags = _u32(Algid), _u32(dwFlags)
    if alg not in _sk.SPECS:
        raise WinError(NTE_BAD_ALGID, detail=f"ALG_ID 0x{alg:x}")
    _sk.key_bits(prov.provider, alg, flags >> KEY_LENGTH_SHIFT)
    base_alg = h.alg_id
    if isinstance(h._ctx, _hashes.HmacEngine) and h._ctx.info is not None:
        base_alg = h._ctx.info.HashAlgid
    return HCRYPTKEY(prov, _sk.derive(prov.provider, alg, h.digest(),
                                      _hashes.one_shot(base_alg), flags))


@_facade
def CryptDuplicateKey(hKey: HCRYPTKEY, pdwReserved: None = None, dwFlags: int = 0) -> HCRYPTKEY:
    """CryptDuplicateKey -> a new HCRYPTKEY with the key's parameters (an open chain is
    not carried over). ERROR_INVALID_PARAMETER for a non-NULL pdwReserved."""
    key = _key(hKey)
    if pdwReserved is not None:
        raise WinError(ERROR_INVALID_PARAMETER)
    pair = key.pair
    return HCRYPTKEY(key.prov, pair.duplicate() if isinstance(pair, _sk.SessionKey) else pair)


@_facade
def CryptGetKeyParam(hKey: HCRYPTKEY, dwParam: int, dwFlags: int = 0) -> int | bytes:
    """CryptGetKeyParam: KP_ALGID, KP_KEYLEN and KP_BLOCKLEN (bits), KP_PERMISSIONS
    (0x3B, 0x3F if exportable), KP_CERTIFICATE (NTE_NOT_FOUND if none). KP_SALT on RSA:
    NTE_BAD_KEY; others NTE_BAD_TYPE."""
    key = _key(hKey)
    param = _u32(dwParam)
    pair = key.pair
    if isinstance(pair, _sk.SessionKey):
        return pair.get_param(param)
    if param == C.KP_ALGID:
        return pair.alg_id
    if param in (C.KP_KEYLEN, C.KP_BLOCKLEN):
        return pair.bits
    if param == C.KP_PERMISSIONS:
        return pair.permissions
    if param == C.KP_CERTIFICATE:
        if pair.certificate is None:
            raise WinError(NTE_NOT_FOUND)
        return pair.certificate
    if param in (C.KP_SALT, C.KP_IV, C.KP_MODE, C.KP_PADDING):
        raise WinError(NTE_BAD_KEY)
    raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")


@_facade
def CryptSetKeyParam(hKey: HCRYPTKEY, dwParam: int, pbData: int | bytes,
                     dwFlags: int = 0) -> None:
    """CryptSetKeyParam: KP_PERMISSIONS (CRYPT_EXPORT can be cleared — silently kept — but
    never added: NTE_BAD_DATA), KP_CERTIFICATE (DER bytes, stored with the key)."""
    key = _key(hKey)
    param = _u32(dwParam)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    if isinstance(key.pair, _sk.SessionKey):
        key.pair.set_param(param, pbData)
        return
    if param == C.KP_PERMISSIONS:
        value = int.from_bytes(pbData, "little") if isinstance(pbData, (bytes, bytearray)) else _u32(pbData)
        key.prov.container.set_key_param(key.pair, param, value)
        return
    if param == C.KP_CERTIFICATE:
        from capi.errors import CRYPT_E_ASN1_BADTAG

        der = bytes(pbData)
        if not der.startswith(b"\x30"):
            raise WinError(CRYPT_E_ASN1_BADTAG)
        key.prov.container.set_key_param(key.pair, param, der)
        return
    raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")


# -----------------------------------------------------------------------------------------
# Hashes and signatures
# -----------------------------------------------------------------------------------------


@_facade
def CryptCreateHash(hProv: HCRYPTPROV, Algid: int, hKey: HCRYPTKEY | None = None,
                    dwFlags: int = 0) -> HCRYPTHASH:
    """CryptCreateHash -> HCRYPTHASH. MD2, MD4, MD5, SHA-1, SHA-2 (PROV_RSA_AES only),
    CALG_SSL3_SHAMD5, CALG_HMAC and CALG_MAC with a session key. NTE_BAD_ALGID for an
    algorithm the provider type lacks (CALG_SHA_256 in a PROV_RSA_FULL provider),
    NTE_BAD_KEY for a key with a plain hash or a keyed hash without one, NTE_BAD_FLAGS."""
    prov = _prov(hProv)
    alg = _u32(Algid)
    if alg not in _hashes.algorithms(prov.provider):
        raise WinError(NTE_BAD_ALGID)
    key = None if hKey is None else _key(hKey).pair
    if _u32(dwFlags):
        raise WinError(NTE_BAD_FLAGS)
    engine = _hashes.create(prov.provider, alg, key)
    name = _hashes.DIGESTS.get(alg, (f"0x{alg:x}",))[0]
    return HCRYPTHASH(prov, alg, name, (lambda: engine) if engine is not None else None)


@_facade
def CryptHashData(hHash: HCRYPTHASH, pbData: bytes, dwFlags: int = 0) -> None:
    """CryptHashData; NTE_BAD_HASH_STATE after the value was read or signed; dwFlags 0 or
    CRYPT_USERDATA, anything else NTE_BAD_FLAGS (Wine rsaenh.c test_hashes)."""
    h = _hash(hHash)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    if _u32(dwFlags) & ~C.CRYPT_USERDATA:
        raise WinError(NTE_BAD_FLAGS)
    h.update(bytes(pbData))


@_facade
def CryptGetHashParam(hHash: HCRYPTHASH, dwParam: int, dwFlags: int = 0) -> int | bytes:
    """CryptGetHashParam: HP_ALGID, HP_HASHSIZE, HP_HASHVAL (finishes the hash)."""
    h = _hash(hHash)
    param = _u32(dwParam)
    if param == C.HP_ALGID:
        return h.alg_id
    if param == C.HP_HASHSIZE:
        return h.size
    if param == C.HP_HASHVAL:
        return h.digest()
    raise WinError(NTE_BAD_TYPE, detail=f"dwParam {param}")


@_facade
def CryptSetHashParam(hHash: HCRYPTHASH, dwParam: int, pbData: bytes | HMAC_INFO | None,
                      dwFlags: int = 0) -> None:
    """CryptSetHashParam: HP_HASHVAL (sign a hash computed elsewhere; NTE_BAD_HASH for a
    wrong length) and HP_HMAC_INFO (an HMAC_INFO, once, before any data)."""
    h = _hash(hHash)
    if _u32(dwParam) == C.HP_HMAC_INFO:
        if not isinstance(h._ctx, _hashes.HmacEngine):
            raise WinError(NTE_BAD_TYPE, detail="not an HMAC")
        if pbData is None:
            raise WinError(ERROR_INVALID_PARAMETER)
        if h._ctx.ready:
            raise WinError(NTE_BAD_HASH_STATE, detail="HMAC_INFO already set")
        h._ctx.set_info(pbData)
        return
    if _u32(dwParam) != C.HP_HASHVAL:
        raise WinError(NTE_BAD_TYPE)
    value = bytes(pbData or b"")
    if len(value) != h.size:
        raise WinError(NTE_BAD_HASH, detail=f"{len(value)} bytes for a {h.size}-byte hash")
    h.value = value
    h.finished = True


@_facade
def CryptDestroyHash(hHash: HCRYPTHASH) -> None:
    """CryptDestroyHash."""
    _hash(hHash)._open = False


@_facade
def CryptDuplicateHash(hHash: HCRYPTHASH, pdwReserved: None = None,
                       dwFlags: int = 0) -> HCRYPTHASH:
    """CryptDuplicateHash -> an independent copy of the hash state (Wine rsaenh.c
    test_hashes). ERROR_INVALID_PARAMETER for a non-NULL pdwReserved."""
    h = _hash(hHash)
    if pdwReserved is not None:
        raise WinError(ERROR_INVALID_PARAMETER)
    ctx = h._ctx.copy() if h._ctx is not None else None
    dup = HCRYPTHASH(h.prov, h.alg_id, h.name, (lambda: ctx) if ctx is not None else None)
    dup.value, dup.finished = h.value, h.finished
    return dup


@_facade
def CryptHashSessionKey(hHash: HCRYPTHASH, hKey: HCRYPTKEY, dwFlags: int = 0) -> None:
    """CryptHashSessionKey: hashes the session key's bytes, big-endian (reversed) unless
    CRYPT_LITTLE_ENDIAN (docs "CryptHashSessionKey function"). NTE_BAD_KEY for a key
    that is not a session key, NTE_BAD_FLAGS for other flags."""
    h = _hash(hHash)
    key = _key(hKey)
    flags = _u32(dwFlags)
    if flags & ~C.CRYPT_LITTLE_ENDIAN:
        raise WinError(NTE_BAD_FLAGS)
    if not isinstance(key.pair, _sk.SessionKey):
        raise WinError(NTE_BAD_KEY, detail="not a session key")
    material = key.pair.key
    h.update(material if flags & C.CRYPT_LITTLE_ENDIAN else material[::-1])


def _hash_class(h: HCRYPTHASH):
    entry = h.prov.provider.hash_algorithms().get(h.alg_id)
    return entry[1] if entry is not None else None


@_facade
def CryptSignHash(hHash: HCRYPTHASH, dwKeySpec: int, sDescription: str | None = None,
                  dwFlags: int = 0) -> bytes:
    """CryptSignHash -> signature (little-endian). PKCS#1 v1.5 with the DigestInfo, without
    it under CRYPT_NOHASHOID (and always for CALG_SSL3_SHAMD5). A missing key for
    dwKeySpec is NTE_BAD_KEYSET (alejacma, "CryptSignHash fails with NTE_BAD_KEYSET")."""
    h = _hash(hHash)
    flags = _u32(dwFlags)
    if flags & ~(C.CRYPT_NOHASHOID | C.CRYPT_X931_FORMAT):
        raise WinError(NTE_BAD_FLAGS)
    spec = _u32(dwKeySpec)
    try:
        pair = h.prov.container.get_key(spec)
    except WinError as exc:
        if exc.hresult == NTE_NO_KEY:
            raise WinError(NTE_BAD_KEYSET, detail=f"no key for KeySpec {spec}") from None
        raise
    if pair.private is None:
        raise WinError(NTE_BAD_KEYSET)
    digest = h.digest()
    cls = _hash_class(h)
    with_oid = cls is not None and not flags & C.CRYPT_NOHASHOID
    if cls is None and not flags & C.CRYPT_NOHASHOID:
        info = _hashes.digest_info(h.alg_id, digest)  # MD2, MD4: DigestInfo built here
        if info is not None:
            digest = info
    signature = h.prov.container.sign_hash(pair, digest, cls, with_oid)
    return signature[::-1]


@_facade
def CryptVerifySignature(hHash: HCRYPTHASH, pbSignature: bytes, hPubKey: HCRYPTKEY,
                         sDescription: str | None = None, dwFlags: int = 0) -> None:
    """CryptVerifySignature. ERROR_INVALID_PARAMETER for a NULL signature, NTE_BAD_SIGNATURE
    for a wrong length or mismatch; signatures with or without the DigestInfo verify
    whatever CRYPT_NOHASHOID says (Wine rsaenh.c test_verify_signature)."""
    h = _hash(hHash)
    key = _key(hPubKey)
    if pbSignature is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    sig = bytes(pbSignature)[::-1]
    pub = key.pair.public
    if len(sig) != pub.key_size // 8:
        raise WinError(NTE_BAD_SIGNATURE)
    digest = h.digest()
    try:
        recovered = pub.recover_data_from_signature(sig, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        raise WinError(NTE_BAD_SIGNATURE) from None
    accepted = {digest}
    cls = _hash_class(h)
    if cls is not None:
        accepted.add(_digest_info(cls(), digest))
    elif (info := _hashes.digest_info(h.alg_id, digest)) is not None:
        accepted.add(info)
    if recovered not in accepted:
        raise WinError(NTE_BAD_SIGNATURE)


def _digest_info(alg, digest: bytes) -> bytes:
    """PKCS#1 DigestInfo {AlgorithmIdentifier {oid, NULL}, OCTET STRING digest}."""
    from asn1crypto import algos
    from asn1crypto.core import Null

    return algos.DigestInfo({
        "digest_algorithm": {"algorithm": _DIGEST_NAMES[alg.name], "parameters": Null()},
        "digest": digest,
    }).dump()


_DIGEST_NAMES = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha384": "sha384",
                 "sha512": "sha512"}


# -----------------------------------------------------------------------------------------
# Encryption and randomness
# -----------------------------------------------------------------------------------------


def _rsa_pad(flags: int):
    if flags & C.CRYPT_OAEP:
        return padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
    return padding.PKCS1v15()


_OAEP_OVERHEAD = 2 * 20 + 2  # two SHA-1 lengths + 2
_PKCS1_OVERHEAD = 11


@_facade
def CryptEncrypt(hKey: HCRYPTKEY, hHash: HCRYPTHASH | None, Final: bool, dwFlags: int,
                 pbData: bytes) -> bytes:
    """CryptEncrypt with an RSA key -> ciphertext (little-endian). PKCS#1 v1.5, or OAEP
    with CRYPT_OAEP. An AT_SIGNATURE key is NTE_BAD_KEY; data too long is NTE_BAD_LEN."""
    key = _key(hKey)
    flags = _u32(dwFlags)
    if isinstance(key.pair, _sk.SessionKey):
        return _session_crypt(key.pair, hHash, Final, flags, pbData, True)
    if flags & ~C.CRYPT_OAEP:
        raise WinError(NTE_BAD_FLAGS)
    if key.pair.alg_id != C.CALG_RSA_KEYX:
        raise WinError(NTE_BAD_KEY)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    data = bytes(pbData)
    size = key.pair.bits // 8
    if len(data) > size - (_OAEP_OVERHEAD if flags & C.CRYPT_OAEP else _PKCS1_OVERHEAD):
        raise WinError(NTE_BAD_LEN)
    if hHash is not None:
        _hash(hHash).update(data)
    return key.pair.public.encrypt(data, _rsa_pad(flags))[::-1]


@_facade
def CryptDecrypt(hKey: HCRYPTKEY, hHash: HCRYPTHASH | None, Final: bool, dwFlags: int,
                 pbData: bytes) -> bytes:
    """CryptDecrypt with an RSA key: little-endian ciphertext in, plaintext out.
    NTE_BAD_KEY for AT_SIGNATURE, NTE_BAD_DATA for malformed ciphertext."""
    key = _key(hKey)
    flags = _u32(dwFlags)
    if isinstance(key.pair, _sk.SessionKey):
        return _session_crypt(key.pair, hHash, Final, flags, pbData, False)
    if flags & ~C.CRYPT_OAEP:
        raise WinError(NTE_BAD_FLAGS)
    if key.pair.alg_id != C.CALG_RSA_KEYX:
        raise WinError(NTE_BAD_KEY)
    if key.pair.private is None:
        raise WinError(NTE_BAD_KEY)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    data = bytes(pbData)
    if len(data) != key.pair.bits // 8:
        raise WinError(NTE_BAD_DATA)
    plain = key.prov.container.decrypt(key.pair, data[::-1], bool(flags & C.CRYPT_OAEP))
    if hHash is not None:
        _hash(hHash).update(plain)
    return plain


def _session_crypt(key, hHash, final, flags: int, pbData, encrypt: bool) -> bytes:
    """CryptEncrypt/CryptDecrypt with a session key: whole blocks until Final, PKCS#5
    padding added or checked (NTE_BAD_DATA) on Final, which also ends the chain."""
    h = None if hHash is None else _hash(hHash)
    if flags:
        raise WinError(NTE_BAD_FLAGS)
    if pbData is None:
        raise WinError(ERROR_INVALID_PARAMETER)
    data = pbData if type(pbData) is bytes else bytes(pbData)
    if encrypt:
        if h is not None:
            h.update(data)
        return key.encrypt(data, bool(final))
    plain = key.decrypt(data, bool(final))
    if h is not None:
        h.update(plain)
    return plain


# In C the caller owns the buffer; here the facade allocates it, so an absurd length is
# refused instead of allocating gigabytes (winpki's limit, not a Windows one).
_MAX_RANDOM = 64 * 1024 * 1024


@_facade
def CryptGenRandom(hProv: HCRYPTPROV, dwLen: int) -> bytes:
    """CryptGenRandom -> dwLen random bytes. NTE_NO_MEMORY above 64 MiB."""
    _prov(hProv)
    length = _u32(dwLen)
    if length > _MAX_RANDOM:
        raise WinError(NTE_NO_MEMORY, detail=f"{length} bytes")
    return os.urandom(length)


__all__ = [
    "HCRYPTPROV", "HCRYPTKEY", "HCRYPTHASH", "HMAC_INFO",
    "CryptEnumProviders", "CryptEnumProviderTypes", "CryptGetDefaultProvider",
    "CryptAcquireContext", "CryptReleaseContext", "CryptGetProvParam", "CryptSetProvParam",
    "CryptGenKey", "CryptGetUserKey", "CryptDestroyKey", "CryptExportKey", "CryptImportKey",
    "CryptDeriveKey", "CryptDuplicateKey", "CryptDuplicateHash", "CryptHashSessionKey",
    "CryptGetKeyParam", "CryptSetKeyParam", "CryptCreateHash", "CryptHashData",
    "CryptGetHashParam", "CryptSetHashParam", "CryptDestroyHash", "CryptSignHash",
    "CryptVerifySignature", "CryptEncrypt", "CryptDecrypt", "CryptGenRandom",
]

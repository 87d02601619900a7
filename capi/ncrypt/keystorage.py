"""CNG key storage functions (ncrypt.dll): providers, persisted and ephemeral keys.

Returns SECURITY_STATUS failures as WinError (and GetLastError()). Handles are objects
and context managers; a freed or NULL handle is NTE_INVALID_HANDLE (Wine ncrypt.c).
CNG blobs and signatures are big-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capi import constants as C
from capi.bcrypt.structs import (
    BCRYPT_OAEP_PADDING_INFO,
    BCRYPT_PKCS1_PADDING_INFO,
    BCRYPT_PSS_PADDING_INFO,
)
from capi.errors import (
    NTE_BAD_FLAGS,
    NTE_INVALID_HANDLE,
    NTE_INVALID_PARAMETER,
    NTE_NOT_SUPPORTED,
    RPC_X_NULL_REF_POINTER,
    WinError,
    winapi,
)

if TYPE_CHECKING:
    from capi.host.security import SecurityDescriptor
    from capi.ncrypt.agreement import NCRYPT_SECRET_HANDLE

NCRYPT_IMPL_SOFTWARE_FLAG = 0x2
_OPEN_FLAGS = C.NCRYPT_MACHINE_KEY_FLAG | C.NCRYPT_SILENT_FLAG
_CREATE_FLAGS = C.NCRYPT_MACHINE_KEY_FLAG | C.NCRYPT_OVERWRITE_KEY_FLAG | C.NCRYPT_SILENT_FLAG
_IMPORT_FLAGS = (C.NCRYPT_MACHINE_KEY_FLAG | C.NCRYPT_OVERWRITE_KEY_FLAG | C.NCRYPT_SILENT_FLAG
                 | C.NCRYPT_NO_KEY_VALIDATION | C.NCRYPT_DO_NOT_FINALIZE_FLAG
                 | C.NCRYPT_WRITE_KEY_TO_LEGACY_STORE_FLAG)
_PROPERTY_FLAGS = (C.NCRYPT_PERSIST_FLAG | C.NCRYPT_PERSIST_ONLY_FLAG | C.NCRYPT_SILENT_FLAG
                   | C.OWNER_SECURITY_INFORMATION | C.GROUP_SECURITY_INFORMATION
                   | C.DACL_SECURITY_INFORMATION | C.SACL_SECURITY_INFORMATION)
# Algorithms NCryptIsAlgSupported accepts: hashes, RSA_SIGN and RNG are not key
# storage algorithms (Wine ncrypt.c test_NCryptIsAlgSupported).


@dataclass(frozen=True)
class NCRYPT_SUPPORTED_LENGTHS:
    """The "Lengths" property (ncrypt.h __NCRYPT_SUPPORTED_LENGTHS)."""

    dwMinLength: int
    dwMaxLength: int
    dwIncrement: int
    dwDefaultLength: int


@dataclass(frozen=True)
class NCryptKeyName:
    pszName: str
    pszAlgid: str
    dwLegacyKeySpec: int
    dwFlags: int


def _u32(value) -> int:
    try:
        return int(value or 0) & 0xFFFFFFFF
    except (TypeError, ValueError):
        raise WinError(NTE_INVALID_PARAMETER, detail="a DWORD argument") from None


_facade = winapi


class _Object:
    _open = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._open = False

    def _free(self) -> None:
        """What NCryptFreeObject releases besides the handle."""


class NCRYPT_PROV_HANDLE(_Object):
    def __init__(self, provider, machine):
        self.provider = provider
        self.machine = machine

    def __repr__(self) -> str:
        return f"<NCRYPT_PROV_HANDLE {self.provider.name!r}>"


class NCRYPT_KEY_HANDLE(_Object):
    def __init__(self, prov: NCRYPT_PROV_HANDLE, key):
        self.prov = prov
        self.key = key

    def __repr__(self) -> str:
        return f"<NCRYPT_KEY_HANDLE {self.key.name!r} {self.key.algorithm}>"


def _prov(h) -> NCRYPT_PROV_HANDLE:
    if not isinstance(h, NCRYPT_PROV_HANDLE) or not h._open:
        raise WinError(NTE_INVALID_HANDLE)
    return h


def _key(h) -> NCRYPT_KEY_HANDLE:
    if not isinstance(h, NCRYPT_KEY_HANDLE) or not h._open:
        raise WinError(NTE_INVALID_HANDLE)
    return h


def _scope(prov: NCRYPT_PROV_HANDLE, flags: int):
    from csp.base import KeyScope
    from csp.identity import token_for

    return KeyScope(prov.machine, token_for(prov.machine), bool(flags & C.NCRYPT_MACHINE_KEY_FLAG),
                    bool(flags & C.NCRYPT_SILENT_FLAG))


@_facade
def NCryptOpenStorageProvider(pszProviderName: str | None = None,
                              dwFlags: int = 0) -> NCRYPT_PROV_HANDLE:
    """NCryptOpenStorageProvider -> provider handle (default: Microsoft Software Key
    Storage Provider). NTE_BAD_FLAGS for flags, NTE_BAD_PROVIDER for an unknown name."""
    from capi.host.context import current_machine
    from csp.registry import find_ksp

    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    machine = current_machine()
    return NCRYPT_PROV_HANDLE(find_ksp(machine, pszProviderName), machine)


@_facade
def NCryptEnumKeys(hProvider: NCRYPT_PROV_HANDLE, pszScope: str | None = None,
                   dwFlags: int = 0) -> list[NCryptKeyName]:
    """NCryptEnumKeys -> every key the caller can open (user keys, or machine keys with
    NCRYPT_MACHINE_KEY_FLAG)."""
    prov = _prov(hProvider)
    flags = _u32(dwFlags)
    if flags & ~_OPEN_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    return [NCryptKeyName(k.name, k.algorithm, k.legacy_spec, k.flags)
            for k in prov.provider.enum_keys(_scope(prov, flags))]


@_facade
def NCryptOpenKey(hProvider: NCRYPT_PROV_HANDLE, pszKeyName: str, dwLegacyKeySpec: int = 0,
                  dwFlags: int = 0) -> NCRYPT_KEY_HANDLE:
    """NCryptOpenKey -> key handle. NTE_BAD_KEYSET for a missing or broken key, NTE_PERM
    when the key file's DACL refuses the caller."""
    prov = _prov(hProvider)
    flags = _u32(dwFlags)
    if flags & ~_OPEN_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    if not pszKeyName:
        raise WinError(NTE_INVALID_PARAMETER)
    key = prov.provider.open_key(_scope(prov, flags), str(pszKeyName), _u32(dwLegacyKeySpec))
    return NCRYPT_KEY_HANDLE(prov, key)


@_facade
def NCryptCreatePersistedKey(hProvider: NCRYPT_PROV_HANDLE, pszAlgId: str,
                             pszKeyName: str | None = None, dwLegacyKeySpec: int = 0,
                             dwFlags: int = 0) -> NCRYPT_KEY_HANDLE:
    """NCryptCreatePersistedKey -> a key to configure and finalize; a None name is an
    ephemeral key. NTE_EXISTS for an existing name without NCRYPT_OVERWRITE_KEY_FLAG,
    NTE_NOT_SUPPORTED for an unknown algorithm, RPC_X_NULL_REF_POINTER for a NULL one."""
    prov = _prov(hProvider)
    if pszAlgId is None:
        raise WinError(RPC_X_NULL_REF_POINTER)
    flags = _u32(dwFlags)
    if flags & ~_CREATE_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    algorithm = str(pszAlgId).upper()
    if algorithm not in prov.provider.algorithms():
        raise WinError(NTE_NOT_SUPPORTED, detail=f"algorithm {pszAlgId!r}")
    name = str(pszKeyName) if pszKeyName else None
    key = prov.provider.create_key(_scope(prov, flags), algorithm, name, _u32(dwLegacyKeySpec), flags)
    return NCRYPT_KEY_HANDLE(prov, key)


@_facade
def NCryptFinalizeKey(hKey: NCRYPT_KEY_HANDLE, dwFlags: int = 0) -> None:
    """NCryptFinalizeKey: generate and persist. A second call is NTE_INVALID_HANDLE."""
    h = _key(hKey)
    if _u32(dwFlags) & ~(C.NCRYPT_SILENT_FLAG | C.NCRYPT_NO_KEY_VALIDATION
                         | C.NCRYPT_WRITE_KEY_TO_LEGACY_STORE_FLAG):
        raise WinError(NTE_BAD_FLAGS)
    h.key.finalize(_u32(dwFlags))


def _target(h):
    if isinstance(h, NCRYPT_KEY_HANDLE) and h._open:
        return h.key
    if isinstance(h, NCRYPT_PROV_HANDLE) and h._open:
        return None
    raise WinError(NTE_INVALID_HANDLE)


@_facade
def NCryptGetProperty(hObject: NCRYPT_PROV_HANDLE | NCRYPT_KEY_HANDLE, pszProperty: str,
                      dwFlags: int = 0) -> (int | str | bytes | NCRYPT_SUPPORTED_LENGTHS
                                            | NCRYPT_PROV_HANDLE | SecurityDescriptor):
    """NCryptGetProperty -> int (DWORD properties and "Modified", a FILETIME), str,
    NCRYPT_SUPPORTED_LENGTHS ("Lengths"), the NCRYPT_PROV_HANDLE ("Provider Handle"), or
    SecurityDescriptor ("Security Descr", dwFlags = SECURITY_INFORMATION bits; none is
    NTE_BAD_FLAGS). NTE_NOT_SUPPORTED for unknown properties; "Name" of an ephemeral key
    too; NTE_NOT_FOUND for properties without a value (UI Policy, HWND Handle...)."""
    key = _target(hObject)
    flags = _u32(dwFlags)
    if flags & ~_PROPERTY_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    if key is None:
        prov = hObject.provider
        if pszProperty == C.NCRYPT_NAME_PROPERTY:
            return prov.name
        if pszProperty == C.NCRYPT_IMPL_TYPE_PROPERTY:
            return NCRYPT_IMPL_SOFTWARE_FLAG
        raise WinError(NTE_NOT_SUPPORTED)
    if pszProperty == C.NCRYPT_PROVIDER_HANDLE_PROPERTY:
        # The handle the key was opened through (Wine ncrypt.c check_properties).
        return hObject.prov
    value = key.get_property(pszProperty, flags)
    if pszProperty == C.NCRYPT_LENGTHS_PROPERTY and isinstance(value, tuple):
        return NCRYPT_SUPPORTED_LENGTHS(*value)
    return value


@_facade
def NCryptSetProperty(hObject: NCRYPT_PROV_HANDLE | NCRYPT_KEY_HANDLE, pszProperty: str,
                      pbInput: int | str | bytes | SecurityDescriptor, dwFlags: int = 0) -> None:
    """NCryptSetProperty: Length, Export Policy and Key Usage before finalization (an
    imported key takes a Length at any time and keeps its material);
    "Security Descr" (needs WRITE_DAC, NTE_PERM). SmartCardPin: NTE_NOT_SUPPORTED on the
    software KSP."""
    key = _target(hObject)
    flags = _u32(dwFlags)
    if flags & ~_PROPERTY_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    if key is None:
        raise WinError(NTE_NOT_SUPPORTED)
    if pbInput is None:
        raise WinError(NTE_INVALID_PARAMETER)
    key.set_property(pszProperty, pbInput, flags)


@_facade
def NCryptDeleteKey(hKey: NCRYPT_KEY_HANDLE, dwFlags: int = 0) -> None:
    """NCryptDeleteKey: delete the key file (needs DELETE: NTE_PERM) and free the handle."""
    h = _key(hKey)
    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    h.key.delete()
    h._open = False


@_facade
def NCryptFreeObject(hObject: NCRYPT_PROV_HANDLE | NCRYPT_KEY_HANDLE | NCRYPT_SECRET_HANDLE
                     ) -> None:
    """NCryptFreeObject (provider, key or secret handles); NTE_INVALID_HANDLE for NULL
    or freed handles and anything else (Wine ncrypt.c test_free_object)."""
    if not isinstance(hObject, _Object) or not hObject._open:
        raise WinError(NTE_INVALID_HANDLE)
    hObject._open = False
    hObject._free()
    if isinstance(hObject, NCRYPT_KEY_HANDLE):
        hObject.key.close()


def _params(pParameterList) -> dict | None:
    if pParameterList is None:
        return None
    if isinstance(pParameterList, dict):
        return pParameterList
    raise WinError(NTE_INVALID_PARAMETER, detail="pParameterList must be a dict")


@_facade
def NCryptExportKey(hKey: NCRYPT_KEY_HANDLE, hExportKey: NCRYPT_KEY_HANDLE | None,
                    pszBlobType: str, pParameterList: dict[str, Any] | None = None,
                    dwFlags: int = 0) -> bytes:
    """NCryptExportKey -> blob: BCRYPT_RSAPUBLIC/RSAPRIVATE/RSAFULLPRIVATE, ECCPUBLIC/
    ECCPRIVATE, LEGACY_RSAPUBLIC/RSAPRIVATE, PKCS8_PRIVATEKEY (encrypted when
    pParameterList has "NCRYPTBUFFER_PKCS_SECRET"). Private blobs need the Export Policy:
    NTE_NOT_SUPPORTED otherwise; an unfinalized key is NTE_BAD_KEY_STATE."""
    h = _key(hKey)
    if hExportKey is not None:
        raise WinError(NTE_NOT_SUPPORTED, detail="key-wrapping export is not implemented")
    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    if pszBlobType is None:
        raise WinError(NTE_INVALID_PARAMETER)
    return h.key.export(pszBlobType, _params(pParameterList))


@_facade
def NCryptImportKey(hProvider: NCRYPT_PROV_HANDLE, hImportKey: NCRYPT_KEY_HANDLE | None,
                    pszBlobType: str, pParameterList: dict[str, Any] | None, pbData: bytes,
                    dwFlags: int = 0) -> NCRYPT_KEY_HANDLE:
    """NCryptImportKey -> key handle. Name a persisted key with pParameterList
    {"NCRYPTBUFFER_PKCS_KEY_NAME": name}. NTE_BAD_FLAGS (e.g. flags 49), bad magic
    NTE_INVALID_PARAMETER, bad sizes NTE_BAD_DATA (Wine ncrypt.c test_key_import_rsa)."""
    prov = _prov(hProvider)
    flags = _u32(dwFlags)
    if flags & ~_IMPORT_FLAGS:
        raise WinError(NTE_BAD_FLAGS)
    if hImportKey is not None:
        raise WinError(NTE_NOT_SUPPORTED, detail="encrypted import is not implemented")
    if pszBlobType is None or pbData is None:
        raise WinError(NTE_INVALID_PARAMETER)
    params = _params(pParameterList) or {}
    name = params.get("NCRYPTBUFFER_PKCS_KEY_NAME")
    key = prov.provider.import_key(_scope(prov, flags), str(pszBlobType), bytes(pbData),
                                   str(name) if name else None, flags)
    return NCRYPT_KEY_HANDLE(prov, key)


@_facade
def NCryptSignHash(hKey: NCRYPT_KEY_HANDLE,
                   pPaddingInfo: BCRYPT_PKCS1_PADDING_INFO | BCRYPT_PSS_PADDING_INFO | None,
                   pbHashValue: bytes, dwFlags: int = 0) -> bytes:
    """NCryptSignHash -> signature (PKCS#1 v1.5 or PSS for RSA, r||s for ECDSA).
    A Key Usage without NCRYPT_ALLOW_SIGNING_FLAG is NTE_NOT_SUPPORTED; an unfinalized
    key NTE_BAD_KEY_STATE."""
    h = _key(hKey)
    if pbHashValue is None:
        raise WinError(NTE_INVALID_PARAMETER)
    return h.key.sign_hash(bytes(pbHashValue), pPaddingInfo, _u32(dwFlags))


@_facade
def NCryptVerifySignature(hKey: NCRYPT_KEY_HANDLE,
                          pPaddingInfo: BCRYPT_PKCS1_PADDING_INFO | BCRYPT_PSS_PADDING_INFO | None,
                          pbHashValue: bytes, pbSignature: bytes, dwFlags: int = 0) -> None:
    """NCryptVerifySignature; NTE_BAD_SIGNATURE on mismatch, RPC_X_NULL_REF_POINTER for
    a NULL hash or signature."""
    h = _key(hKey)
    if pbHashValue is None or pbSignature is None:
        # Wine ncrypt.c test_verify_signature: a NULL hash or signature is
        # HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER) (NTE_FAIL on Windows 7).
        raise WinError(RPC_X_NULL_REF_POINTER)
    h.key.verify_signature(bytes(pbHashValue), bytes(pbSignature), pPaddingInfo, _u32(dwFlags))


@_facade
def NCryptEncrypt(hKey: NCRYPT_KEY_HANDLE, pbInput: bytes,
                  pPaddingInfo: BCRYPT_OAEP_PADDING_INFO | None, dwFlags: int) -> bytes:
    """NCryptEncrypt (RSA; NCRYPT_PAD_PKCS1_FLAG or NCRYPT_PAD_OAEP_FLAG with
    BCRYPT_OAEP_PADDING_INFO). NTE_BAD_FLAGS, NTE_BAD_KEY_STATE (unfinalized)."""
    h = _key(hKey)
    if pbInput is None:
        raise WinError(NTE_INVALID_PARAMETER)
    return h.key.encrypt(bytes(pbInput), pPaddingInfo, _u32(dwFlags))


@_facade
def NCryptDecrypt(hKey: NCRYPT_KEY_HANDLE, pbInput: bytes,
                  pPaddingInfo: BCRYPT_OAEP_PADDING_INFO | None, dwFlags: int) -> bytes:
    """NCryptDecrypt; a bad ciphertext is NTE_INVALID_PARAMETER ("The parameter is
    incorrect.", as RSACng reports it); Key Usage without ALLOW_DECRYPT NTE_NOT_SUPPORTED."""
    h = _key(hKey)
    if pbInput is None:
        raise WinError(NTE_INVALID_PARAMETER)
    return h.key.decrypt(bytes(pbInput), pPaddingInfo, _u32(dwFlags))


@_facade
def NCryptIsAlgSupported(hProvider: NCRYPT_PROV_HANDLE, pszAlgId: str, dwFlags: int = 0) -> None:
    """NCryptIsAlgSupported: returns for key algorithms, NTE_NOT_SUPPORTED otherwise;
    NTE_BAD_FLAGS for any flag but NCRYPT_SILENT_FLAG, whatever the algorithm (Wine
    ncrypt.c test_NCryptIsAlgSupported: flags 20 with RSA and with RSA_SIGN)."""
    prov = _prov(hProvider)
    if pszAlgId is None:
        raise WinError(RPC_X_NULL_REF_POINTER)
    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    if str(pszAlgId).upper() not in prov.provider.algorithms():
        raise WinError(NTE_NOT_SUPPORTED)


__all__ = [
    "BCRYPT_PKCS1_PADDING_INFO", "BCRYPT_PSS_PADDING_INFO", "BCRYPT_OAEP_PADDING_INFO",
    "NCryptKeyName", "NCRYPT_PROV_HANDLE", "NCRYPT_KEY_HANDLE", "NCryptOpenStorageProvider",
    "NCryptEnumKeys", "NCryptOpenKey", "NCryptCreatePersistedKey", "NCryptFinalizeKey",
    "NCryptGetProperty", "NCryptSetProperty", "NCryptDeleteKey", "NCryptFreeObject",
    "NCryptExportKey", "NCryptImportKey", "NCryptSignHash", "NCryptVerifySignature",
    "NCryptEncrypt", "NCryptDecrypt", "NCryptIsAlgSupported", "NCRYPT_IMPL_SOFTWARE_FLAG",
    "NCRYPT_SUPPORTED_LENGTHS",
]

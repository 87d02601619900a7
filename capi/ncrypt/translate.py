"""NCryptTranslateHandle (ncrypt.dll): a CryptoAPI provider or key handle seen through
CNG, as the key router does for the Microsoft software CSPs' keys.

The key keeps its CryptoAPI container (file, security descriptor, permissions); CNG
semantics apply to its use (PSS and SHA-2 signatures work, as they do for rsaenh keys
opened by the Software KSP). Export Policy follows CRYPT_EXPORT; an AT_SIGNATURE key
may only sign.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capi import constants as C
from capi.errors import (
    NTE_BAD_FLAGS,
    NTE_INVALID_HANDLE,
    NTE_INVALID_PARAMETER,
    NTE_NOT_SUPPORTED,
    WinError,
    winapi,
)
from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE, NCRYPT_PROV_HANDLE, _u32

if TYPE_CHECKING:
    from capi.advapi32.crypt import HCRYPTKEY, HCRYPTPROV

_CLASS = None


def _legacy_key_class():
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    from csp.ksp import SoftwareKey

    class LegacyCapiKey(SoftwareKey):
        """A software-CSP key pair seen through CNG: same key material, CNG semantics."""

        def __init__(self, provider, scope, container, pair):
            super().__init__(provider, scope, "RSA", None, pair.spec)
            self.name = container.name
            self.unique_name = container.unique_name
            self.container = container
            self.private = pair.private
            self.public = pair.public
            self.length = pair.public.key_size
            exportable = bool(pair.permissions & C.CRYPT_EXPORT)
            self.export_policy = (C.NCRYPT_ALLOW_EXPORT_FLAG | C.NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG
                                  if exportable else 0)
            self.key_usage = (C.NCRYPT_ALLOW_SIGNING_FLAG if pair.spec == C.AT_SIGNATURE
                              else C.NCRYPT_ALLOW_ALL_USAGES)
            self.finalized = True

        def get_property(self, name, flags):
            if str(name) == C.NCRYPT_SECURITY_DESCR_PROPERTY:
                return self.container.get_security_descriptor()
            if str(name) == C.NCRYPT_LAST_MODIFIED_PROPERTY:
                raise WinError(NTE_NOT_SUPPORTED, detail="a CryptoAPI key seen through CNG")
            return super().get_property(name, flags)

        def set_property(self, name, value, flags):
            raise WinError(NTE_NOT_SUPPORTED, detail="a CryptoAPI key seen through CNG")

        def delete(self):
            raise WinError(NTE_NOT_SUPPORTED, detail="delete the CryptoAPI container instead")

    _CLASS = LegacyCapiKey
    return _CLASS


def legacy_key_handle(machine, prov_handle, pair) -> NCRYPT_KEY_HANDLE:
    """An NCRYPT_KEY_HANDLE (opened through the Software KSP) for ``pair`` of a software
    CSP container held by ``prov_handle`` (an HCRYPTPROV)."""
    from csp.registry import find_ksp

    ksp = find_ksp(machine, C.MS_KEY_STORAGE_PROVIDER)
    key = _legacy_key_class()(ksp, prov_handle.scope, prov_handle.container, pair)
    return NCRYPT_KEY_HANDLE(NCRYPT_PROV_HANDLE(ksp, machine), key)


def _live(handle, *attrs) -> bool:
    return handle is not None and getattr(handle, "_open", False) and all(hasattr(handle, a) for a in attrs)


@winapi
def NCryptTranslateHandle(hLegacyProv: HCRYPTPROV, hLegacyKey: HCRYPTKEY | None = None,
                          dwLegacyKeySpec: int = 0, dwFlags: int = 0
                          ) -> tuple[NCRYPT_PROV_HANDLE, NCRYPT_KEY_HANDLE]:
    """NCryptTranslateHandle -> (hProvider, hKey) for a CryptoAPI context and key: the key
    is ``hLegacyKey``'s, or the container's ``dwLegacyKeySpec`` (AT_KEYEXCHANGE /
    AT_SIGNATURE) key when hLegacyKey is NULL. NTE_INVALID_HANDLE for a released or
    foreign handle, NTE_INVALID_PARAMETER for another KeySpec, NTE_NO_KEY when the
    container has no such key, NTE_BAD_FLAGS for any flag. Keys of the software CSPs
    only: a token CSP's are NTE_NOT_SUPPORTED here."""
    from capi.host.context import current_machine

    if not _live(hLegacyProv, "provider", "container", "scope"):
        raise WinError(NTE_INVALID_HANDLE)
    if _u32(dwFlags):
        raise WinError(NTE_BAD_FLAGS)
    if hLegacyKey is not None:
        if not _live(hLegacyKey, "pair") or getattr(hLegacyKey, "prov", None) is not hLegacyProv:
            raise WinError(NTE_INVALID_HANDLE)
        pair = hLegacyKey.pair
    else:
        spec = _u32(dwLegacyKeySpec)
        if spec not in (C.AT_KEYEXCHANGE, C.AT_SIGNATURE):
            raise WinError(NTE_INVALID_PARAMETER, detail=f"dwLegacyKeySpec {spec}")
        pair = hLegacyProv.container.get_key(spec)
    if getattr(hLegacyProv.provider, "hardware", False):
        raise WinError(NTE_NOT_SUPPORTED, detail="token CSP keys are not translated")
    if pair.private is None:
        raise WinError(NTE_INVALID_PARAMETER, detail="a public key alone has no CNG key")
    handle = legacy_key_handle(current_machine(), hLegacyProv, pair)
    return handle.prov, handle


__all__ = ["NCryptTranslateHandle"]

"""NCryptEnumStorageProviders, NCryptEnumAlgorithms and NCryptFreeBuffer (ncrypt.dll).

The C functions return an array the caller releases with NCryptFreeBuffer; here they
return a list, and NCryptFreeBuffer accepts it (or any other buffer these functions
returned) and does nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from capi import constants as C
from capi.errors import NTE_BAD_FLAGS, WinError, winapi
from capi.ncrypt.keystorage import NCRYPT_PROV_HANDLE, _prov, _u32


@dataclass(frozen=True)
class NCryptProviderName:
    """ncrypt.h NCryptProviderName."""

    pszName: str
    pszComment: str | None = None


@dataclass(frozen=True)
class NCryptAlgorithmName:
    """ncrypt.h NCryptAlgorithmName."""

    pszName: str
    dwClass: int
    dwAlgOperations: int
    dwFlags: int = 0


# The class and operations of each key-storage algorithm, per the NCryptAlgorithmName
# page: RSA is an asymmetric-encryption algorithm that also signs; ECDSA signs; ECDH is
# a secret agreement.
def _describe(name: str) -> NCryptAlgorithmName | None:
    upper = name.upper()
    if upper == C.NCRYPT_RSA_ALGORITHM:
        return NCryptAlgorithmName(name, C.NCRYPT_ASYMMETRIC_ENCRYPTION_INTERFACE,
                                   C.NCRYPT_ASYMMETRIC_ENCRYPTION_OPERATION | C.NCRYPT_SIGNATURE_OPERATION)
    if upper.startswith("ECDSA"):
        return NCryptAlgorithmName(name, C.NCRYPT_SIGNATURE_INTERFACE, C.NCRYPT_SIGNATURE_OPERATION)
    if upper.startswith("ECDH"):
        return NCryptAlgorithmName(name, C.NCRYPT_SECRET_AGREEMENT_INTERFACE,
                                   C.NCRYPT_SECRET_AGREEMENT_OPERATION)
    return None


@winapi
def NCryptEnumAlgorithms(hProvider: NCRYPT_PROV_HANDLE, dwAlgOperations: int = 0,
                         dwFlags: int = 0) -> list[NCryptAlgorithmName]:
    """NCryptEnumAlgorithms -> the provider's algorithms whose operations intersect
    ``dwAlgOperations`` (0: all). NTE_INVALID_HANDLE for a bad provider handle,
    NTE_BAD_FLAGS for a flag other than NCRYPT_SILENT_FLAG. A provider without an
    algorithm of the asked class returns an empty list."""
    prov = _prov(hProvider)
    ops = _u32(dwAlgOperations)
    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    out = []
    for name in prov.provider.algorithms():
        info = _describe(name)
        if info is not None and (not ops or info.dwAlgOperations & ops):
            out.append(info)
    return out


@winapi
def NCryptEnumStorageProviders(dwFlags: int = 0) -> list[NCryptProviderName]:
    """NCryptEnumStorageProviders -> the key storage providers of the machine: the
    built-in ones (Microsoft Software Key Storage Provider first), then those registered
    at run time. NTE_BAD_FLAGS for a flag other than NCRYPT_SILENT_FLAG."""
    from capi.host.context import current_machine
    from csp.registry import ksp_list

    if _u32(dwFlags) & ~C.NCRYPT_SILENT_FLAG:
        raise WinError(NTE_BAD_FLAGS)
    return [NCryptProviderName(p.name, getattr(p, "comment", None)) for p in ksp_list(current_machine())]


@winapi
def NCryptFreeBuffer(pvInput: object) -> None:
    """NCryptFreeBuffer: releases a buffer an NCrypt function returned. Python's lists
    need no release, so this only exists so that C code ports line for line."""
    del pvInput


__all__ = ["NCryptProviderName", "NCryptAlgorithmName", "NCryptEnumAlgorithms",
           "NCryptEnumStorageProviders", "NCryptFreeBuffer"]

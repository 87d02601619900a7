"""The security descriptor of a certificate's private key, through the facade.

CryptoAPI keys: PP_KEYSET_SEC_DESCR on the container; CNG keys: the "Security Descr"
property. Both are the key file's descriptor, the one ``icacls <key file>`` shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .. import constants as C


@contextlib.contextmanager
def open_private_key(info) -> Iterator[tuple[str, object]]:
    """('capi', HCRYPTPROV) or ('cng', NCRYPT_KEY_HANDLE) for a CRYPT_KEY_PROV_INFO."""
    if info.dwProvType == 0:
        from .. import ncrypt

        flags = C.NCRYPT_SILENT_FLAG
        if info.dwFlags & C.CRYPT_MACHINE_KEYSET:
            flags |= C.NCRYPT_MACHINE_KEY_FLAG
        with ncrypt.NCryptOpenStorageProvider(info.pwszProvName, 0) as prov:
            key = ncrypt.NCryptOpenKey(prov, info.pwszContainerName, 0, flags)
            try:
                yield "cng", key
            finally:
                ncrypt.NCryptFreeObject(key)
        return
    from .. import cryptoapi

    flags = C.CRYPT_SILENT | (info.dwFlags & C.CRYPT_MACHINE_KEYSET)
    prov = cryptoapi.CryptAcquireContext(info.pwszContainerName, info.pwszProvName,
                                         info.dwProvType, flags)
    try:
        yield "capi", prov
    finally:
        cryptoapi.CryptReleaseContext(prov, 0)


def get_key_sd(info):
    with open_private_key(info) as (kind, handle):
        if kind == "cng":
            from ..ncrypt import NCryptGetProperty

            return NCryptGetProperty(handle, C.NCRYPT_SECURITY_DESCR_PROPERTY,
                                     C.DACL_SECURITY_INFORMATION)
        from ..cryptoapi import CryptGetProvParam

        return CryptGetProvParam(handle, C.PP_KEYSET_SEC_DESCR, C.DACL_SECURITY_INFORMATION)


def set_key_sd(info, sd) -> None:
    with open_private_key(info) as (kind, handle):
        if kind == "cng":
            from ..ncrypt import NCryptSetProperty

            NCryptSetProperty(handle, C.NCRYPT_SECURITY_DESCR_PROPERTY, sd,
                              C.DACL_SECURITY_INFORMATION)
            return
        from ..cryptoapi import CryptSetProvParam

        CryptSetProvParam(handle, C.PP_KEYSET_SEC_DESCR, sd, C.DACL_SECURITY_INFORMATION)


def key_file_path(machine, info) -> str | None:
    """The Windows path of the key file, or None when the key cannot be opened."""
    from ..errors import WinError

    try:
        with open_private_key(info) as (kind, handle):
            if kind == "cng":
                from ..ncrypt import NCryptGetProperty

                unique = NCryptGetProperty(handle, C.NCRYPT_UNIQUE_NAME_PROPERTY, 0)
                folder = machine.cng_machine_keys_dir
            else:
                from ..cryptoapi import CryptGetProvParam

                unique = CryptGetProvParam(handle, C.PP_UNIQUE_CONTAINER, 0)
                folder = machine.machine_keys_dir
    except WinError:
        return None
    if not info.dwFlags & C.CRYPT_MACHINE_KEYSET:
        return None  # a user key: its folder depends on whose profile it is in
    return f"{folder}\\{unique}"

"""A certificate's private key and its security descriptor, through the facade.

CryptoAPI keys: PP_KEYSET_SEC_DESCR on the container; CNG keys: the "Security Descr"
property. Both are the key file's descriptor, the one ``icacls <key file>`` shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from capi import constants as C


@contextlib.contextmanager
def open_private_key(cert) -> Iterator[tuple[str, object]]:
    """('capi', HCRYPTPROV) or ('cng', NCRYPT_KEY_HANDLE) for a certificate's private key,
    opened as the current identity with CryptAcquireCertificatePrivateKey."""
    from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey

    handle, spec, caller_free = CryptAcquireCertificatePrivateKey(
        cert, C.CRYPT_ACQUIRE_SILENT_FLAG | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG)
    try:
        yield ("cng" if spec == C.CERT_NCRYPT_KEY_SPEC else "capi"), handle
    finally:
        if caller_free:
            if spec == C.CERT_NCRYPT_KEY_SPEC:
                from capi.ncrypt.keystorage import NCryptFreeObject

                NCryptFreeObject(handle)
            else:
                from capi.advapi32.crypt import CryptReleaseContext

                CryptReleaseContext(handle, 0)


def get_key_sd(cert):
    with open_private_key(cert) as (kind, handle):
        if kind == "cng":
            from capi.ncrypt.keystorage import NCryptGetProperty

            return NCryptGetProperty(handle, C.NCRYPT_SECURITY_DESCR_PROPERTY,
                                     C.DACL_SECURITY_INFORMATION)
        from capi.advapi32.crypt import CryptGetProvParam

        return CryptGetProvParam(handle, C.PP_KEYSET_SEC_DESCR, C.DACL_SECURITY_INFORMATION)


def set_key_sd(cert, sd) -> None:
    with open_private_key(cert) as (kind, handle):
        if kind == "cng":
            from capi.ncrypt.keystorage import NCryptSetProperty

            NCryptSetProperty(handle, C.NCRYPT_SECURITY_DESCR_PROPERTY, sd,
                              C.DACL_SECURITY_INFORMATION)
            return
        from capi.advapi32.crypt import CryptSetProvParam

        CryptSetProvParam(handle, C.PP_KEYSET_SEC_DESCR, sd, C.DACL_SECURITY_INFORMATION)


def key_file_path(machine, cert) -> str | None:
    """The Windows path of a machine key's file, or None when the key cannot be opened."""
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.errors import WinError

    try:
        info = CertGetCertificateContextProperty(cert, C.CERT_KEY_PROV_INFO_PROP_ID)
        with open_private_key(cert) as (kind, handle):
            if kind == "cng":
                from capi.ncrypt.keystorage import NCryptGetProperty

                unique = NCryptGetProperty(handle, C.NCRYPT_UNIQUE_NAME_PROPERTY, 0)
                folder = machine.cng_machine_keys_dir
            else:
                from capi.advapi32.crypt import CryptGetProvParam

                unique = CryptGetProvParam(handle, C.PP_UNIQUE_CONTAINER, 0)
                folder = machine.machine_keys_dir
    except WinError:
        return None
    if not info.dwFlags & C.CRYPT_MACHINE_KEYSET:
        return None  # a user key: its folder depends on whose profile it is in
    return f"{folder}\\{unique}"

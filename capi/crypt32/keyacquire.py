"""Certificate to private key: CryptAcquireCertificatePrivateKey and
CryptFindCertificateKeyProvInfo (crypt32).

A certificate names its key with CERT_KEY_PROV_INFO_PROP_ID (container, provider, type,
flags, KeySpec) or holds a live handle in CERT_KEY_CONTEXT_PROP_ID. CNG keys (provider
type 0) come back as NCRYPT_KEY_HANDLEs with KeySpec CERT_NCRYPT_KEY_SPEC when the caller
allows them; a key of a Microsoft software CSP can also be opened "through CNG" (the
CNG key router that lets .NET's GetRSAPrivateKey return an RSACng for a key imported
into the Enhanced CSP), with PREFER/ONLY_NCRYPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from capi import constants as C
from capi.crypt32.context import CERT_KEY_CONTEXT, CRYPT_KEY_PROV_INFO
from capi.errors import (
    CRYPT_E_NO_KEY_PROPERTY,
    ERROR_INVALID_PARAMETER,
    NTE_BAD_PROV_TYPE,
    NTE_BAD_PUBLIC_KEY,
    NTE_NOT_FOUND,
    SetLastError,
    WinError,
    winapi,
)

if TYPE_CHECKING:
    from capi.advapi32.crypt import HCRYPTPROV
    from capi.crypt32.context import CertContext
    from capi.host.accounts import Token
    from capi.host.machine import Machine
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

_NCRYPT_FLAGS = (C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG | C.CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG
                 | C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG)
_ACQUIRE_FLAGS = (C.CRYPT_ACQUIRE_CACHE_FLAG | C.CRYPT_ACQUIRE_USE_PROV_INFO_FLAG
                  | C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG | C.CRYPT_ACQUIRE_NO_HEALING
                  | C.CRYPT_ACQUIRE_SILENT_FLAG | C.CRYPT_ACQUIRE_WINDOW_HANDLE_FLAG | _NCRYPT_FLAGS)




@dataclass
class AcquiredKey:
    """A certificate's private key: the handle, its KeySpec and who frees it."""

    handle: HCRYPTPROV | NCRYPT_KEY_HANDLE
    key_spec: int
    caller_free: bool

    @property
    def is_ncrypt(self) -> bool:
        return self.key_spec == C.CERT_NCRYPT_KEY_SPEC

    def release(self) -> None:
        """Free the handle if the caller owns it (what the C caller must do)."""
        if self.caller_free and getattr(self.handle, "_open", False):
            self.handle._open = False


def _machine_and_token():
    from capi.host.context import current_machine
    from csp.identity import token_for

    machine = current_machine()
    return machine, token_for(machine)


def _public_numbers(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


# ---------------------------------------------------------------------------------------
# The CNG view of a CryptoAPI key
# ---------------------------------------------------------------------------------------


def _router_handle(machine, prov_handle, spec: int):
    """An NCRYPT_KEY_HANDLE for the key ``spec`` of a software CSP container."""
    from capi.ncrypt.translate import legacy_key_handle

    return legacy_key_handle(machine, prov_handle, prov_handle.container.get_key(spec))


# ---------------------------------------------------------------------------------------
# Acquiring
# ---------------------------------------------------------------------------------------


def _open_from_prov_info(info: CRYPT_KEY_PROV_INFO, flags: int):
    """(handle, KeySpec) for the key ``info`` names."""
    from capi.advapi32 import crypt as cryptoapi
    from capi.ncrypt import keystorage as ncrypt

    silent = bool(flags & C.CRYPT_ACQUIRE_SILENT_FLAG)
    machine_keyset = bool(info.dwFlags & C.CRYPT_MACHINE_KEYSET)
    if info.dwProvType == 0 and flags & _NCRYPT_FLAGS:
        prov = ncrypt.NCryptOpenStorageProvider(info.pwszProvName, 0)
        nflags = (C.NCRYPT_MACHINE_KEY_FLAG if machine_keyset else 0) | \
            (C.NCRYPT_SILENT_FLAG if silent else 0)
        key = ncrypt.NCryptOpenKey(prov, info.pwszContainerName, info.dwKeySpec, nflags)
        return key, C.CERT_NCRYPT_KEY_SPEC
    # Provider type 0 through CryptoAPI is NTE_BAD_PROV_TYPE: what Windows 10 reports for a
    # CNG key acquired without an NCRYPT flag (docs/windows-facts.md §2 #41).
    aflags = (C.CRYPT_MACHINE_KEYSET if machine_keyset else 0) | (C.CRYPT_SILENT if silent else 0)
    prov = cryptoapi.CryptAcquireContext(info.pwszContainerName, info.pwszProvName,
                                         info.dwProvType, aflags)
    spec = info.dwKeySpec
    wants_cng = flags & C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG or \
        flags & C.CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG
    if wants_cng and not prov.provider.hardware:
        from capi.host.context import current_machine

        handle = _router_handle(current_machine(), prov, spec)
        prov._open = False
        return handle, C.CERT_NCRYPT_KEY_SPEC
    if flags & C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG:
        prov._open = False
        raise WinError(NTE_BAD_PROV_TYPE, detail="the key is not a CNG key")
    return prov, spec


def _public_key_of(handle, spec: int):
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    if isinstance(handle, NCRYPT_KEY_HANDLE):
        return handle.key.public
    return handle.container.get_key(spec).public


def _compare(ctx, handle, spec: int) -> None:
    cert_pub = _public_numbers(ctx.x509.public_key())
    if _public_numbers(_public_key_of(handle, spec)) != cert_pub:
        raise WinError(NTE_BAD_PUBLIC_KEY, detail="the key does not match the certificate")


def _ncrypt_handle():
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    return NCRYPT_KEY_HANDLE


def acquire_private_key(ctx: CertContext, flags: int) -> AcquiredKey:
    """The object model behind CryptAcquireCertificatePrivateKey."""
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    root = ctx._root()
    cached = root._props.get(C.CERT_KEY_CONTEXT_PROP_ID)
    if (cached is not None and cached.hCryptProv is not None
            and flags & C.CRYPT_ACQUIRE_CACHE_FLAG
            and not flags & (C.CRYPT_ACQUIRE_USE_PROV_INFO_FLAG | C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG)
            and (flags & _NCRYPT_FLAGS or not isinstance(cached.hCryptProv, _ncrypt_handle()))):
        # The cached key context answers without reading the key info (the hot path of
        # a certificate that signs repeatedly).
        SetLastError(0)
        return AcquiredKey(cached.hCryptProv, cached.dwKeySpec, False)
    info_raw = root._props.get(C.CERT_KEY_PROV_INFO_PROP_ID)
    info = CRYPT_KEY_PROV_INFO.from_bytes(info_raw) if info_raw is not None else None
    if flags & C.CRYPT_ACQUIRE_USE_PROV_INFO_FLAG:
        # Cache only if the key info asks for it (Wine cert.c; docs/windows-facts.md §2 #42).
        cache = bool(info is not None and info.dwFlags & C.CERT_SET_KEY_CONTEXT_PROP_ID)
    else:
        cache = bool(flags & C.CRYPT_ACQUIRE_CACHE_FLAG)
    cached = root._props.get(C.CERT_KEY_CONTEXT_PROP_ID)
    # A key context set by PFXImportCertStore(PKCS12_NO_PERSIST_KEY) is the only key such
    # a certificate has: it is used whenever there is no key info to follow.
    if cached is not None and cached.hCryptProv is not None and (cache or info is None):
        handle, spec = cached.hCryptProv, cached.dwKeySpec
        if isinstance(handle, NCRYPT_KEY_HANDLE) and not flags & _NCRYPT_FLAGS:
            raise WinError(NTE_BAD_PROV_TYPE, detail="the cached key is a CNG key")
        if flags & C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG:
            _compare(ctx, handle, spec)
        SetLastError(0)
        return AcquiredKey(handle, spec, False)
    if info is None:
        raise WinError(CRYPT_E_NO_KEY_PROPERTY)
    handle, spec = _open_from_prov_info(info, flags)
    try:
        if flags & C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG:
            _compare(ctx, handle, spec)
    except BaseException:
        handle._open = False
        raise
    if cache:
        ctx.set_property(C.CERT_KEY_CONTEXT_PROP_ID, CERT_KEY_CONTEXT(handle, spec))
    SetLastError(0)
    return AcquiredKey(handle, spec, not cache)


@winapi
def CryptAcquireCertificatePrivateKey(pCert: CertContext, dwFlags: int = 0,
                                      pvParameters: Any = None
                                      ) -> tuple[HCRYPTPROV | NCRYPT_KEY_HANDLE, int, bool]:
    """CryptAcquireCertificatePrivateKey -> (hCryptProvOrNCryptKey, dwKeySpec,
    fCallerFreeProvOrNCryptKey).

    Flags: CRYPT_ACQUIRE_CACHE_FLAG (sets CERT_KEY_CONTEXT_PROP_ID; caller-free False),
    CRYPT_ACQUIRE_USE_PROV_INFO_FLAG (caches only when the key info's dwFlags has
    CERT_SET_KEY_CONTEXT_PROP_ID), CRYPT_ACQUIRE_COMPARE_KEY_FLAG, CRYPT_ACQUIRE_SILENT_FLAG,
    CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG / PREFER_NCRYPT_KEY_FLAG / ONLY_NCRYPT_KEY_FLAG
    (CNG keys as NCRYPT_KEY_HANDLEs with CERT_NCRYPT_KEY_SPEC; PREFER/ONLY open a software
    CSP's key through CNG). Last error 0 on success.

    Raises CRYPT_E_NO_KEY_PROPERTY (no key info), NTE_BAD_KEYSET (missing or unreadable
    container), NTE_BAD_PROV_TYPE (a CNG key without an NCRYPT flag, or ONLY_NCRYPT with
    a hardware CSP key), NTE_BAD_PUBLIC_KEY (COMPARE_KEY mismatch), NTE_NO_KEY (the
    container lacks the KeySpec), ERROR_INVALID_PARAMETER (no certificate).
    """
    from capi.crypt32.context import CertContext

    if not isinstance(pCert, CertContext):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pCert")
    acquired = acquire_private_key(pCert, int(dwFlags or 0) & _ACQUIRE_FLAGS)
    return acquired.handle, acquired.key_spec, acquired.caller_free


# ---------------------------------------------------------------------------------------
# Finding a certificate's key
# ---------------------------------------------------------------------------------------


def _matches(ctx, info: CRYPT_KEY_PROV_INFO) -> bool:
    try:
        acquired = acquire_private_key(ctx, C.CRYPT_ACQUIRE_USE_PROV_INFO_FLAG
                                       | C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG
                                       | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG
                                       | C.CRYPT_ACQUIRE_SILENT_FLAG)
    except WinError:
        return False
    acquired.release()
    return True


def _scopes(flags: int) -> list[bool]:
    """Machine-keyset values to search, user first (Wine cert.c find_matching_provider)."""
    user = bool(flags & C.CRYPT_FIND_USER_KEYSET_FLAG)
    machine = bool(flags & C.CRYPT_FIND_MACHINE_KEYSET_FLAG)
    if not user and not machine:
        user = machine = True
    return [m for m, wanted in ((False, user), (True, machine)) if wanted]


def find_key_prov_info(machine: Machine, token: Token, ctx: CertContext, flags: int = 0,
                       providers: list | None = None) -> CRYPT_KEY_PROV_INFO | None:
    """Search the providers' containers for the key matching ``ctx``'s public key."""
    from csp.base import KeyScope
    from csp.registry import csp_list, ksp_list

    target = _public_numbers(ctx.x509.public_key())
    silent = bool(flags & C.CRYPT_FIND_SILENT_KEYSET_FLAG)
    if providers is None:
        providers = [*csp_list(machine), *ksp_list(machine)]
    for provider in providers:
        for machine_keyset in _scopes(flags):
            scope = KeyScope(machine, token, machine_keyset, silent)
            try:
                found = _search(provider, scope, target)
            except WinError:
                continue  # an unbound smart-card provider, a token that is gone
            if found is not None:
                name, spec = found
                mflag = C.CRYPT_MACHINE_KEYSET if machine_keyset else 0
                prov_type = provider.prov_type if provider.kind == "csp" else 0
                return CRYPT_KEY_PROV_INFO(name, provider.name, prov_type, mflag, spec)
    return None


def _search(provider, scope, target: bytes):
    if provider.kind == "csp":
        for name in provider.enum_containers(scope):
            try:
                container = provider.open_container(scope, name)
            except WinError:
                continue
            for spec in (C.AT_KEYEXCHANGE, C.AT_SIGNATURE):
                try:
                    pair = container.get_key(spec)
                except WinError:
                    continue
                if _public_numbers(pair.public) == target:
                    return name, spec
        return None
    for info in provider.enum_keys(scope):
        try:
            key = provider.open_key(scope, info.name, 0)
        except WinError:
            continue
        public = getattr(key, "public", None)
        if public is not None and _public_numbers(public) == target:
            return info.name, 0
    return None


@winapi
def CryptFindCertificateKeyProvInfo(pCert: CertContext, dwFlags: int = 0,
                                    pvReserved: Any = None) -> bool:
    """CryptFindCertificateKeyProvInfo: find the container holding the key of ``pCert``
    and set its CERT_KEY_PROV_INFO_PROP_ID (persisted in the certificate's store).

    Keeps key info that already leads to the matching key; otherwise searches every CSP
    and KSP, user keys then machine keys unless CRYPT_FIND_USER_KEYSET_FLAG /
    CRYPT_FIND_MACHINE_KEYSET_FLAG narrow it (Wine cert.c). Returns True; raises
    NTE_NOT_FOUND when no container matches — what ``certutil -repairstore`` reports
    after its key is gone ("Install certificate after deleting the pending certificate request
    (IIS 6.0)"; docs/windows-facts.md §7), ERROR_INVALID_PARAMETER for no certificate.
    """
    from capi.crypt32.context import CertContext

    if not isinstance(pCert, CertContext):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pCert")
    flags = int(dwFlags or 0) & 0xFFFFFFFF
    existing = pCert._root()._props.get(C.CERT_KEY_PROV_INFO_PROP_ID)
    if existing is not None and _matches(pCert, CRYPT_KEY_PROV_INFO.from_bytes(existing)):
        return True
    machine, token = _machine_and_token()
    info = find_key_prov_info(machine, token, pCert, flags)
    if info is None:
        raise WinError(NTE_NOT_FOUND, detail="no container holds this certificate's key")
    pCert.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, info)
    return True


__all__ = [
    "AcquiredKey", "acquire_private_key", "CryptAcquireCertificatePrivateKey",
    "find_key_prov_info", "CryptFindCertificateKeyProvInfo",
]

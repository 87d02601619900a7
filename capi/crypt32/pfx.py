r"""PFX import and export (crypt32): PFXIsPFXBlob, PFXVerifyPassword, PFXImportCertStore,
PFXExportCertStoreEx.

The PKCS#12 bytes are read and written by :mod:`capi.pkcs12`; this module decides where
each key goes and writes it through the provider interface (``csp.base``), so a PFX lands
in a software CSP, the software KSP or a hardware token alike:

- provider: the key bag's CSP-name attribute (1.3.6.1.4.1.311.17.1); absent, the
  Software KSP with PKCS12_PREFER_CNG_KSP / PKCS12_ALWAYS_CNG_KSP, else Microsoft
  Enhanced Cryptographic Provider v1.0 for RSA; a name no provider is registered under
  falls back to the default provider of the key's provider type (docs/windows-facts.md §5,
  PFXImportCertStore remarks). Keys CryptoAPI cannot hold (ECC) go to the KSP.
- machine keyset: the 17.2 marker, or CRYPT_MACHINE_KEYSET; CRYPT_USER_KEYSET wins.
- KeySpec (CAPI) / Key Usage (CNG): from the key-usage attribute inside the PKCS#8.
- every key gets a new container named like a Windows import, ``{GUID}`` upper-case; it
  outlives the returned store, as on Windows (Gallant, "PKCS #12 File Types: Portable
  Protected Keys in .NET", MSDN 2004; docs/windows-facts.md §7).

An import is all or nothing: containers created before a failure are deleted again.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from capi import constants as C
from capi.crypt32.context import CERT_KEY_CONTEXT, CRYPT_KEY_PROV_INFO
from capi.errors import (
    E_INVALIDARG,
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_PASSWORD,
    NTE_BAD_KEY_STATE,
    NTE_EXISTS,
    NTE_NOT_SUPPORTED,
    NTE_SILENT_CONTEXT,
    WinError,
    winapi,
)
from capi.formats import pkcs12
from capi.host import crashpoints

if TYPE_CHECKING:
    from capi.crypt32.store_kinds import CertStore, MemoryStore
    from capi.host.accounts import Token
    from capi.host.machine import Machine

_SIGNING_USAGE = (C.CERT_DIGITAL_SIGNATURE_KEY_USAGE | C.CERT_KEY_CERT_SIGN_KEY_USAGE
                  | C.CERT_CRL_SIGN_KEY_USAGE)
_ENCIPHER_USAGE = C.CERT_KEY_ENCIPHERMENT_KEY_USAGE | C.CERT_DATA_ENCIPHERMENT_KEY_USAGE
# CERT_DECIPHER_ONLY lives in byte 1 of the bit blob (capi.pkcs12 keeps it at << 8).
_DECIPHER_ONLY = C.CERT_DECIPHER_ONLY_KEY_USAGE << 8
_DECRYPT_USAGE = _ENCIPHER_USAGE | C.CERT_ENCIPHER_ONLY_KEY_USAGE | _DECIPHER_ONLY
# What Windows writes back for a CNG key allowed everything ("X509v3 Key Usage: 90",
# capi.pkcs12 module notes) and what openssl -keyex / -keysig write for CAPI keys.
_CNG_EXPORT_ALL_USAGE = C.CERT_DIGITAL_SIGNATURE_KEY_USAGE | C.CERT_DATA_ENCIPHERMENT_KEY_USAGE
_USAGE_FOR_SPEC = {C.AT_KEYEXCHANGE: C.CERT_DATA_ENCIPHERMENT_KEY_USAGE,
                   C.AT_SIGNATURE: C.CERT_DIGITAL_SIGNATURE_KEY_USAGE}
_ALG_FOR_SPEC = {C.AT_KEYEXCHANGE: C.CALG_RSA_KEYX, C.AT_SIGNATURE: C.CALG_RSA_SIGN}
_IMPORT_FLAGS = (C.CRYPT_EXPORTABLE | C.CRYPT_USER_PROTECTED | C.CRYPT_MACHINE_KEYSET
                 | C.CRYPT_USER_KEYSET | C.PKCS12_PREFER_CNG_KSP | C.PKCS12_ALWAYS_CNG_KSP
                 | C.PKCS12_ALLOW_OVERWRITE_KEY | C.PKCS12_NO_PERSIST_KEY
                 | C.PKCS12_INCLUDE_EXTENDED_PROPERTIES | C.PKCS12_IMPORT_SILENT)




def new_container_name() -> str:
    """A container name as Windows' PFX import makes them: a fresh upper-case {GUID}
    (the 0x80070520 article shows one, ``{00F81886-5F70-430A-939C-BB7DD58ECE2A}``)."""
    return "{" + str(uuid.uuid4()).upper() + "}"


def key_spec_for_usage(usage: int | None) -> int:
    """KeySpec from the PKCS#8 key usage: encipherment -> AT_KEYEXCHANGE, signing ->
    AT_SIGNATURE, absent -> AT_KEYEXCHANGE (RSA; docs/windows-facts.md §5)."""
    if usage is None or usage & _ENCIPHER_USAGE or not usage & _SIGNING_USAGE:
        return C.AT_KEYEXCHANGE
    return C.AT_SIGNATURE


def cng_usage_for(usage: int | None) -> int:
    """NCRYPT Key Usage from the PKCS#8 key usage (absent: all usages)."""
    if usage is None:
        return C.NCRYPT_ALLOW_ALL_USAGES
    out = 0
    if usage & _DECRYPT_USAGE:
        out |= C.NCRYPT_ALLOW_DECRYPT_FLAG
    if usage & (_SIGNING_USAGE | C.CERT_NON_REPUDIATION_KEY_USAGE):
        out |= C.NCRYPT_ALLOW_SIGNING_FLAG
    if usage & C.CERT_KEY_AGREEMENT_KEY_USAGE:
        out |= C.NCRYPT_ALLOW_KEY_AGREEMENT_FLAG
    return out or C.NCRYPT_ALLOW_ALL_USAGES


def usage_for_cng(key_usage: int) -> int:
    """The key-usage byte an export writes for a CNG key's Key Usage property."""
    if key_usage & C.NCRYPT_ALLOW_ALL_USAGES == C.NCRYPT_ALLOW_ALL_USAGES:
        return _CNG_EXPORT_ALL_USAGE
    out = 0
    if key_usage & C.NCRYPT_ALLOW_SIGNING_FLAG:
        out |= C.CERT_DIGITAL_SIGNATURE_KEY_USAGE
    if key_usage & C.NCRYPT_ALLOW_DECRYPT_FLAG:
        out |= C.CERT_DATA_ENCIPHERMENT_KEY_USAGE
    if key_usage & C.NCRYPT_ALLOW_KEY_AGREEMENT_FLAG:
        out |= C.CERT_KEY_AGREEMENT_KEY_USAGE
    return out or _CNG_EXPORT_ALL_USAGE


# ---------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Where one key of the PFX goes."""

    key: pkcs12.PfxKey
    provider: object
    machine_keyset: bool
    key_spec: int  # CAPI KeySpec; 0 for a KSP


@dataclass
class ImportedPfx:
    """What :func:`import_pfx` produced: the memory store and the keys it persisted."""

    store: MemoryStore
    created: list = field(default_factory=list)  # (provider, scope, name) per new key

    def delete_keys(self) -> None:
        """Delete the persisted keys again (undo of the import's key half)."""
        for provider, scope, name in reversed(self.created):
            _delete_key(provider, scope, name)
        self.created.clear()


def _delete_key(provider, scope, name: str) -> None:
    try:
        if provider.kind == "csp":
            provider.delete_container(scope, name)
        else:
            provider.open_key(scope, name, 0).delete()
    except WinError:
        pass  # already gone: nothing left to undo


def _resolve_provider(machine, key: pkcs12.PfxKey, flags: int, override: str | None):
    from csp.registry import default_provider_name, get_provider

    cng_only = not isinstance(key.private_key, rsa.RSAPrivateKey)
    name = override or key.csp_name
    if name and not override and flags & C.PKCS12_ALWAYS_CNG_KSP:
        provider = get_provider(machine, name)
        if provider is None or provider.kind != "ksp":
            name = None
    if not name:
        if flags & (C.PKCS12_PREFER_CNG_KSP | C.PKCS12_ALWAYS_CNG_KSP) or cng_only:
            name = C.MS_KEY_STORAGE_PROVIDER
        else:
            name = C.MS_ENHANCED_PROV
    provider = get_provider(machine, name)
    if provider is None:
        if override:
            from capi.errors import NTE_KEYSET_NOT_DEF

            raise WinError(NTE_KEYSET_NOT_DEF, detail=f"provider {override!r}")
        # An unknown CSP name: the default provider of the key's type (PFXImportCertStore
        # remarks: the lookup under ...\Defaults\Provider Types).
        provider = get_provider(machine, C.MS_KEY_STORAGE_PROVIDER if cng_only
                                else default_provider_name(C.PROV_RSA_FULL))
    if provider.kind == "csp" and cng_only:
        provider = get_provider(machine, C.MS_KEY_STORAGE_PROVIDER)
    return provider


def _plan(machine, contents: pkcs12.PfxContents, flags: int, provider_name: str | None,
          key_spec: int | None) -> list[tuple[pkcs12.PfxCert, _Plan | None]]:
    plans: dict[int, _Plan] = {}
    out = []
    for cert, key in contents.pairs():
        plan = None
        if key is not None:
            plan = plans.get(id(key))
            if plan is None:
                provider = _resolve_provider(machine, key, flags, provider_name)
                machine_keyset = bool((key.machine_keyset or flags & C.CRYPT_MACHINE_KEYSET)
                                      and not flags & C.CRYPT_USER_KEYSET)
                spec = 0
                if provider.kind == "csp":
                    spec = key_spec or key_spec_for_usage(key.key_usage)
                plan = plans[id(key)] = _Plan(key, provider, machine_keyset, spec)
        out.append((cert, plan))
    return out


def _pkcs8(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.DER,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def _persist_capi(plan: _Plan, scope, flags: int, result: ImportedPfx) -> CRYPT_KEY_PROV_INFO:
    provider = plan.provider
    name = new_container_name()
    try:
        container = provider.create_container(scope, name)
    except WinError as exc:
        if exc.hresult != NTE_EXISTS or not flags & C.PKCS12_ALLOW_OVERWRITE_KEY:
            raise
        provider.delete_container(scope, name)
        container = provider.create_container(scope, name)
    result.created.append((provider, scope, name))
    key_flags = flags & (C.CRYPT_EXPORTABLE | C.CRYPT_USER_PROTECTED)
    container.import_key(plan.key.private_key, _ALG_FOR_SPEC[plan.key_spec], key_flags)
    return CRYPT_KEY_PROV_INFO(name, provider.name, provider.prov_type,
                               C.CRYPT_MACHINE_KEYSET if plan.machine_keyset else 0,
                               plan.key_spec)


def _cng_key(plan: _Plan, scope, name: str | None, flags: int):
    nflags = C.NCRYPT_DO_NOT_FINALIZE_FLAG
    if flags & C.PKCS12_ALLOW_OVERWRITE_KEY:
        nflags |= C.NCRYPT_OVERWRITE_KEY_FLAG
    key = plan.provider.import_key(scope, C.NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
                                   _pkcs8(plan.key.private_key), name, nflags)
    # CRYPT_EXPORTABLE gives ALLOW_EXPORT only, not plaintext export: .NET reads such
    # keys by an encrypted PKCS#8 export (dotnet/runtime CngPkcs8 / RSACng export path).
    policy = C.NCRYPT_ALLOW_EXPORT_FLAG if flags & C.CRYPT_EXPORTABLE else 0
    key.set_property(C.NCRYPT_EXPORT_POLICY_PROPERTY, policy, 0)
    key.set_property(C.NCRYPT_KEY_USAGE_PROPERTY, cng_usage_for(plan.key.key_usage), 0)
    key.finalize(0)
    return key


def _persist_cng(plan: _Plan, scope, flags: int, result: ImportedPfx) -> CRYPT_KEY_PROV_INFO:
    name = new_container_name()
    _cng_key(plan, scope, name, flags)
    result.created.append((plan.provider, scope, name))
    return CRYPT_KEY_PROV_INFO(name, plan.provider.name, 0,
                               C.NCRYPT_MACHINE_KEY_FLAG if plan.machine_keyset else 0, 0)


def _certificate_to_token(plan: _Plan, scope, info: CRYPT_KEY_PROV_INFO, der: bytes) -> None:
    """A smart card keeps the certificate next to its key (what certificate propagation
    reads when the card is inserted), so an import onto a token writes it there too."""
    if plan.provider.kind == "csp":
        container = plan.provider.open_container(scope, info.pwszContainerName)
        container.set_key_param(container.get_key(plan.key_spec), C.KP_CERTIFICATE, der)
        return
    key = plan.provider.open_key(scope, info.pwszContainerName, 0)
    key.set_property(C.NCRYPT_CERTIFICATE_PROPERTY, der, 0)


def _ephemeral(plan: _Plan, machine, scope, flags: int) -> CERT_KEY_CONTEXT:
    """PKCS12_NO_PERSIST_KEY: the key lives in a handle only (docs/windows-facts.md §2 #59)."""
    if plan.provider.kind == "csp":
        from capi.advapi32.crypt import HCRYPTPROV

        container = plan.provider.verify_context(scope)
        key_flags = flags & (C.CRYPT_EXPORTABLE | C.CRYPT_USER_PROTECTED)
        container.import_key(plan.key.private_key, _ALG_FOR_SPEC[plan.key_spec], key_flags)
        handle = HCRYPTPROV(plan.provider, scope, container, C.CRYPT_VERIFYCONTEXT)
        return CERT_KEY_CONTEXT(handle, plan.key_spec)
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE, NCRYPT_PROV_HANDLE

    key = _cng_key(plan, scope, None, flags)
    return CERT_KEY_CONTEXT(NCRYPT_KEY_HANDLE(NCRYPT_PROV_HANDLE(plan.provider, machine), key),
                            C.CERT_NCRYPT_KEY_SPEC)


def import_pfx(machine: Machine, token: Token, data: bytes, password: str | None, flags: int, *,
               provider_name: str | None = None, key_spec: int | None = None) -> ImportedPfx:
    """The object model behind PFXImportCertStore: parse ``data``, persist its keys (or
    keep them in handles with PKCS12_NO_PERSIST_KEY) and return the memory store.

    ``provider_name`` and ``key_spec`` override the PFX's own choices (certutil -csp,
    AT_SIGNATURE / AT_KEYEXCHANGE). All or nothing: a failure deletes the keys made.
    """
    from capi.crypt32.store_kinds import MemoryStore
    from csp.base import KeyScope

    if data is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="pPFX is NULL")
    silent = bool(flags & C.PKCS12_IMPORT_SILENT)
    if flags & C.CRYPT_USER_PROTECTED and silent:
        # Protecting a key needs UI, which a silent import may not show (as CryptGenKey
        # with CRYPT_USER_PROTECTED on a CRYPT_SILENT context).
        raise WinError(NTE_SILENT_CONTEXT)
    if not machine.os.pfx_pbes2_aes and uses_pbes2_or_sha2_mac(bytes(data)):
        # Before Windows 10 1709 / Server 2019 a PBES2 (AES) PFX or one whose MAC is not
        # HMAC-SHA1 is unreadable, and Windows reports it as a wrong password (the most
        # reported import failure for OpenSSL 3 output).
        raise WinError(ERROR_INVALID_PASSWORD, detail="PBES2/AES or SHA-2 MAC: needs Windows 10 1709 / 2019")
    contents = pkcs12.parse_pfx(bytes(data), password)
    plans = _plan(machine, contents, flags, provider_name, key_spec)
    store = MemoryStore()
    result = ImportedPfx(store)
    no_persist = bool(flags & C.PKCS12_NO_PERSIST_KEY)
    by_plan: dict[int, object] = {}
    # One write transaction for the whole import: the key files and their security
    # descriptors appear when it commits (capi.host.journal), so a process killed midway
    # leaves no key behind; on an error the containers made so far are deleted before
    # the database rolls back.
    with machine.transaction():
        try:
            for cert, plan in plans:
                if plan is None or id(plan) in by_plan:
                    continue
                scope = KeyScope(machine, token, plan.machine_keyset, silent)
                if no_persist:
                    by_plan[id(plan)] = _ephemeral(plan, machine, scope, flags)
                    continue
                if plan.provider.kind == "csp":
                    info = _persist_capi(plan, scope, flags, result)
                else:
                    info = _persist_cng(plan, scope, flags, result)
                by_plan[id(plan)] = info
                if plan.provider.hardware:
                    _certificate_to_token(plan, scope, info, cert.der)
                crashpoints.crash_point("pfx.key")
        except BaseException:
            result.delete_keys()
            raise
    for cert, plan in plans:
        props = {}
        if cert.friendly_name is not None:
            props[C.CERT_FRIENDLY_NAME_PROP_ID] = _string_prop(cert.friendly_name)
        value = by_plan.get(id(plan)) if plan is not None else None
        if isinstance(value, CRYPT_KEY_PROV_INFO):
            props[C.CERT_KEY_PROV_INFO_PROP_ID] = value.to_bytes()
        store.load([(cert.der, props)])
        if isinstance(value, CERT_KEY_CONTEXT):
            ctx = store.find_sha1(_sha1(cert.der))
            ctx.set_property(C.CERT_KEY_CONTEXT_PROP_ID, value)
    return result


def _string_prop(text: str) -> bytes:
    from capi.crypt32.context import encode_string_prop

    return encode_string_prop(text)


def _sha1(der: bytes) -> bytes:
    import hashlib

    return hashlib.sha1(der).digest()


@winapi
def PFXIsPFXBlob(pPFX: bytes | None) -> bool:
    """PFXIsPFXBlob: True if ``pPFX`` decodes as a PFX (no password needed)."""
    return pkcs12.is_pfx(None if pPFX is None else bytes(pPFX))


@winapi
def PFXVerifyPassword(pPFX: bytes | None, szPassword: str | None, dwFlags: int = 0) -> bool:
    """PFXVerifyPassword: True if ``szPassword`` (None and "" alike) opens the PFX."""
    return pkcs12.verify_password(None if pPFX is None else bytes(pPFX), szPassword)


@winapi
def PFXImportCertStore(pPFX: bytes, szPassword: str | None, dwFlags: int = 0) -> MemoryStore:
    """PFXImportCertStore -> a memory store (HCERTSTORE) of the PFX's certificates.

    Certificates with a key carry CERT_KEY_PROV_INFO_PROP_ID, their keys persisted in
    new containers that outlive the store; with PKCS12_NO_PERSIST_KEY they carry
    CERT_KEY_CONTEXT_PROP_ID instead. Flags: CRYPT_EXPORTABLE, CRYPT_USER_PROTECTED,
    CRYPT_MACHINE_KEYSET, CRYPT_USER_KEYSET, PKCS12_PREFER_CNG_KSP, PKCS12_ALWAYS_CNG_KSP,
    PKCS12_ALLOW_OVERWRITE_KEY, PKCS12_NO_PERSIST_KEY, PKCS12_IMPORT_SILENT.

    Raises ERROR_INVALID_PARAMETER (NULL blob), ERROR_INVALID_PASSWORD (0x80070056),
    CRYPT_E_BAD_ENCODE and the other decode errors of :mod:`capi.pkcs12`,
    NTE_SILENT_CONTEXT (CRYPT_USER_PROTECTED with PKCS12_IMPORT_SILENT), and the
    provider's errors (NTE_PERM, NTE_EXISTS without PKCS12_ALLOW_OVERWRITE_KEY, ...).
    """
    from capi.host.context import current_machine
    from csp.identity import token_for

    if not isinstance(pPFX, (bytes, bytearray, memoryview)):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pPFX must be the PFX's bytes")
    machine = current_machine()
    flags = int(dwFlags or 0) & 0xFFFFFFFF
    return import_pfx(machine, token_for(machine), pPFX, szPassword, flags & _IMPORT_FLAGS).store


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def _private_key_of(ctx, flags: int):
    """(private key, PfxKey attributes) for ``ctx``'s key through its provider; raises
    the provider's error (NTE_BAD_KEY_STATE for a non-exportable key)."""
    from capi.crypt32.keyacquire import acquire_private_key
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    acquired = acquire_private_key(ctx, C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG
                                   | C.CRYPT_ACQUIRE_SILENT_FLAG)
    handle = acquired.handle
    info = _prov_info(ctx)
    machine_keyset = bool(info and info.dwFlags & C.CRYPT_MACHINE_KEYSET)
    if isinstance(handle, NCRYPT_KEY_HANDLE):
        key = handle.key
        secret = os.urandom(16).hex()
        try:
            blob = key.export(C.NCRYPT_PKCS8_PRIVATE_KEY_BLOB, {"NCRYPTBUFFER_PKCS_SECRET": secret})
        except WinError as exc:
            if exc.hresult == NTE_NOT_SUPPORTED:
                # A key whose Export Policy lacks ALLOW_EXPORT: NTE_BAD_KEY_STATE, the
                # PFX export refusal (docs/windows-facts.md §7, mimikatz#274 "PFXExportCertStoreEx ...
                # (0x8009000b)").
                raise WinError(NTE_BAD_KEY_STATE, detail="key is not exportable") from None
            raise
        private = serialization.load_der_private_key(blob, secret.encode("utf-8"))
        usage = usage_for_cng(int(key.get_property(C.NCRYPT_KEY_USAGE_PROPERTY, 0)))
        csp_name = handle.prov.provider.name
        container = getattr(key, "name", None)
    else:
        from capi.formats.blobs import parse_capi_blob

        container_obj = handle.container
        pair = container_obj.get_key(acquired.key_spec)
        blob = container_obj.export_key(pair, C.PRIVATEKEYBLOB)
        private = parse_capi_blob(blob)[2]
        usage = _USAGE_FOR_SPEC.get(acquired.key_spec)
        csp_name = handle.provider.name
        container = None if container_obj.ephemeral else container_obj.name
    acquired.release()
    if info is not None:
        csp_name = info.pwszProvName or csp_name
    return pkcs12.PfxKey(private, key_usage=usage, csp_name=csp_name,
                         machine_keyset=machine_keyset, friendly_name=container)


def _prov_info(ctx) -> CRYPT_KEY_PROV_INFO | None:
    try:
        return ctx.get_property(C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError:
        return None


def _has_key_property(ctx) -> bool:
    props = ctx._root()._props
    return C.CERT_KEY_PROV_INFO_PROP_ID in props or C.CERT_KEY_CONTEXT_PROP_ID in props


def export_pfx(store: CertStore, password: str | None, flags: int, *,
               encryption: str = "3des") -> bytes:
    """The object model behind PFXExportCertStoreEx: every certificate of ``store`` and,
    with EXPORT_PRIVATE_KEYS, the keys they name."""
    items: list = []
    for ctx in store:
        friendly = None
        try:
            friendly = ctx.get_property(C.CERT_FRIENDLY_NAME_PROP_ID)
        except WinError:
            pass
        items.append(pkcs12.PfxCert(ctx.pbCertEncoded, friendly_name=friendly))
        if not flags & C.EXPORT_PRIVATE_KEYS:
            continue
        if not _has_key_property(ctx):
            if flags & C.REPORT_NO_PRIVATE_KEY:
                from capi.errors import CRYPT_E_NO_KEY_PROPERTY

                raise WinError(CRYPT_E_NO_KEY_PROPERTY, detail=ctx.thumbprint)
            continue
        try:
            items.append(_private_key_of(ctx, flags))
        except WinError as exc:
            if exc.hresult == NTE_BAD_KEY_STATE:
                if flags & C.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY:
                    raise
                continue
            if flags & C.REPORT_NO_PRIVATE_KEY:
                raise
    return pkcs12.build_pfx(items, password, encryption=encryption)


_PBES2_OID_DER = bytes.fromhex("06092a864886f70d01050d")   # 1.2.840.113549.1.5.13


def uses_pbes2_or_sha2_mac(data: bytes) -> bool:
    """Whether a PFX needs PBES2 or a MAC other than HMAC-SHA1."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        mac = pfx["mac_data"]
        digest = None if mac.native is None else mac["mac"]["digest_algorithm"]["algorithm"].native
    except (ValueError, TypeError, KeyError):
        return False
    return _PBES2_OID_DER in data or digest not in (None, "sha1")


def _export_encryption(flags: int, para) -> str:
    """The PFX algorithms PFXExportCertStoreEx uses: 3DES with an SHA-1 MAC, or with
    PKCS12_EXPORT_PBES2_PARAMS and pwszPbes2Alg "AES256-SHA256" (Windows 10 1709 /
    Server 2019 on) AES-256 with PBKDF2 and an HMAC-SHA256 MAC."""
    if not flags & C.PKCS12_EXPORT_PBES2_PARAMS:
        return "3des"
    from capi.host.context import current_machine

    alg = getattr(para, "pwszPbes2Alg", None)
    if not current_machine().os.pfx_pbes2_aes or alg != C.PKCS12_PBES2_ALG_AES256_SHA256:
        raise WinError(E_INVALIDARG, detail=f"PKCS12_EXPORT_PBES2_PARAMS with {alg!r}")
    return "aes256"


@dataclass
class PKCS12_PBES2_EXPORT_PARAMS:
    """PKCS12_PBES2_EXPORT_PARAMS (dwSize has no Python form)."""

    hNcryptDescriptor: object = None
    pwszPbes2Alg: str | None = C.PKCS12_PBES2_ALG_AES256_SHA256


def _store_arg(hStore):
    from capi.crypt32.store_kinds import CertStore

    if not isinstance(hStore, CertStore) or hStore._closed:
        raise WinError(ERROR_INVALID_PARAMETER, detail="invalid HCERTSTORE")
    return hStore


@winapi
def PFXExportCertStoreEx(hStore: CertStore, szPassword: str | None, pvPara: Any = None,
                         dwFlags: int | None = None) -> bytes:
    """PFXExportCertStoreEx -> the PFX bytes (the C function's pPFX out-parameter).

    Called as in C (``hStore, szPassword, pvPara, dwFlags``) or, since pvPara is
    reserved, ``(hStore, szPassword, dwFlags)``. EXPORT_PRIVATE_KEYS includes the keys
    (with the CSP name, local-machine marker and key usage Windows writes);
    REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY turns a non-exportable key into
    NTE_BAD_KEY_STATE (otherwise the certificate goes without it); REPORT_NO_PRIVATE_KEY
    fails for a certificate without a usable key (CRYPT_E_NO_KEY_PROPERTY,
    NTE_BAD_KEYSET). ERROR_INVALID_PARAMETER for a bad store handle.
    """
    if dwFlags is None:
        dwFlags, pvPara = (pvPara if isinstance(pvPara, int) else 0), None
    flags = int(dwFlags) & 0xFFFFFFFF
    return export_pfx(_store_arg(hStore), szPassword, flags,
                      encryption=_export_encryption(flags, pvPara))


@winapi
def PFXExportCertStore(hStore: CertStore, szPassword: str | None, dwFlags: int = 0) -> bytes:
    """PFXExportCertStore: PFXExportCertStoreEx without pvPara."""
    return export_pfx(_store_arg(hStore), szPassword, int(dwFlags) & 0xFFFFFFFF)


__all__ = [
    "ImportedPfx", "import_pfx", "PFXIsPFXBlob", "PFXVerifyPassword", "PFXImportCertStore",
    "export_pfx", "PFXExportCertStoreEx", "PFXExportCertStore", "PKCS12_PBES2_EXPORT_PARAMS",
]

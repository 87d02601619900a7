r"""certutil's PFX and key-association verbs: -importPFX, -exportPFX, -repairstore,
-verifykeys.

- ``-importPFX [-f] [-user] [-p pw] [-csp name] [store] file [modifiers]`` imports into
  LocalMachine\My (CurrentUser with -user); the PFX's CA certificates go to CA, its
  self-signed ones to Root. Keys are exportable unless ``NoExport`` (certutil.md: the
  NoExport modifier "makes the private key non-exportable"); ``AT_SIGNATURE`` /
  ``AT_KEYEXCHANGE`` change the KeySpec; ``NoChain`` skips the CA certificates, ``NoRoot``
  the roots, ``NoCert`` every certificate. An existing certificate fails with
  CRYPT_E_EXISTS unless -f. All or nothing: keys made for a failed import are deleted.
- ``-exportPFX [-f] [-user] [-p pw] store CertId file [NoChain,NoRoot]``: the certificate,
  its key (NTE_BAD_KEY_STATE when not exportable) and its chain from CA/Root.
- ``-repairstore [-user] [-csp name] store CertId``: find the container holding the
  certificate's key (CryptFindCertificateKeyProvInfo), link it, and test it
  ("Install certificate after deleting the pending certificate request (IIS 6.0)").
- ``-verifykeys [-user] [KeyContainerName CACertFile]``: test every certificate of My that
  names a key, or one container against one certificate.
"""

from __future__ import annotations

import os

from capi import constants as C
from capi.errors import (
    CRYPT_E_EXISTS,
    CRYPT_E_NOT_FOUND,
    ERROR_FILE_EXISTS,
    ERROR_INVALID_PARAMETER,
    NTE_BAD_PUBLIC_KEY,
    WinError,
)
from capi.host import crashpoints
from winpki import keyreport
from winpki.tools.certutil import Invocation, verb
from winpki.tools.certutil_store import (
    SEPARATOR,
    is_self_signed,
    open_system_store,
    read_certificates,
    select,
    store_header,
    summary_lines,
)
from winpki.tools.common import check_input_file

IMPORT_MODIFIERS = {"at_signature", "at_keyexchange", "noexport", "noroot", "nochain",
                    "nocert", "noprotect", "protect"}
EXPORT_MODIFIERS = {"nochain", "noroot", "extendedproperties"}


def _modifiers(text: str, known: set[str]) -> set[str] | None:
    words = {w.strip().lower() for w in text.split(",") if w.strip()}
    return words if words and words <= known else None


def _read(path: str) -> bytes:
    check_input_file(path)
    with open(path, "rb") as fh:
        return fh.read()


def _simple_name(ctx) -> str:
    from capi.crypt32.str import CertGetNameString

    return CertGetNameString(ctx, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)


def _machine_and_token():
    from capi.host.context import current_machine
    from csp.identity import token_for

    machine = current_machine()
    return machine, token_for(machine)


# --------------------------------------------------------------------------------------
# -importPFX
# --------------------------------------------------------------------------------------


@verb("importPFX", "[-f] [-user] [-p Password] [-csp Provider] [CertificateStoreName] PFXFile "
      "[Modifiers]", min_args=1, max_args=3)
def import_pfx_verb(inv: Invocation):
    from capi.crypt32.pfx import import_pfx
    from capi.crypt32.store import CertAddCertificateContextToStore

    args = list(inv.args)
    mods: set[str] = set()
    if len(args) >= 2 and (m := _modifiers(args[-1], IMPORT_MODIFIERS)) is not None:
        mods = m
        args.pop()
    if len(args) == 1:
        store_name, path = "My", args[0]
    elif len(args) == 2:
        store_name, path = args
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail="too many arguments")
    data = _read(path)
    flags = 0 if "noexport" in mods else C.CRYPT_EXPORTABLE
    flags |= C.CRYPT_USER_KEYSET if inv.flag("user") else C.CRYPT_MACHINE_KEYSET
    spec = C.AT_SIGNATURE if "at_signature" in mods else \
        C.AT_KEYEXCHANGE if "at_keyexchange" in mods else None
    machine, token = _machine_and_token()
    password = inv.value("p")
    if password is None:  # certutil asks, as it does without -p
        from winpki.tools.common import read_password

        password = read_password("Enter PFX password:", inv.out)
    # Keys and certificates in one write transaction: a kill before it commits leaves
    # neither (the keys' files are removed when the machine is next opened), one after
    # leaves both.
    with machine.transaction():
        imported = import_pfx(machine, token, data, "" if password is None else password,
                              flags, provider_name=inv.value("csp"), key_spec=spec)
        try:
            _place_certificates(inv, imported.store, store_name, mods,
                                CertAddCertificateContextToStore)
        except BaseException:
            imported.delete_keys()
            raise
    inv.print()


def _place_certificates(inv: Invocation, pfx_store, store_name: str, mods: set[str], add) -> None:
    if "nocert" in mods:
        return
    leaves, chain = [], []
    for ctx in pfx_store:
        (leaves if C.CERT_KEY_PROV_INFO_PROP_ID in ctx.properties() else chain).append(ctx)
    if not leaves:  # a PFX without keys: its certificates are what is imported
        leaves, chain = chain, []
    disposition = C.CERT_STORE_ADD_REPLACE_EXISTING if inv.flag("f") else C.CERT_STORE_ADD_NEW
    added = []
    try:
        with open_system_store(inv, store_name, write=True) as store:
            for ctx in leaves:
                added.append(add(store, ctx, disposition))
                crashpoints.crash_point("certutil.cert")
                inv.print(f'Certificate "{_simple_name(ctx)}" added to store.')
        for ctx in chain:
            root = is_self_signed(ctx.x509)
            if "nochain" in mods or (root and "noroot" in mods):
                continue
            with open_system_store(inv, "Root" if root else "CA", write=True) as store:
                try:
                    added.append(add(store, ctx, C.CERT_STORE_ADD_NEW))
                except WinError as exc:
                    if exc.hresult != CRYPT_E_EXISTS:
                        raise
                    continue
                inv.print(f'Certificate "{_simple_name(ctx)}" added to store.')
    except BaseException:
        from capi.crypt32.store import CertDeleteCertificateFromStore

        for ctx in added:
            CertDeleteCertificateFromStore(ctx)
        raise


# --------------------------------------------------------------------------------------
# -exportPFX
# --------------------------------------------------------------------------------------


def _chain(inv: Invocation, ctx, mods: set[str]) -> list:
    """CA and root certificates above ``ctx`` from the CA and Root stores."""
    out, current, seen = [], ctx, {ctx.sha1}
    while not is_self_signed(current.x509) and "nochain" not in mods:
        issuer = current.x509.issuer
        found = None
        for name in ("CA", "Root"):
            try:
                with open_system_store(inv, name, write=False) as store:
                    for cand in store:
                        if cand.x509.subject == issuer and cand.sha1 not in seen:
                            try:
                                current.x509.verify_directly_issued_by(cand.x509)
                            except Exception:
                                continue
                            found = cand
                            break
            except WinError:
                continue
            if found:
                break
        if found is None:
            break
        if is_self_signed(found.x509) and "noroot" in mods:
            break
        out.append(found)
        seen.add(found.sha1)
        current = found
    return out


@verb("exportPFX", "[-f] [-user] [-p Password] CertificateStoreName CertId PFXFile [Modifiers]",
      min_args=3, max_args=4)
def export_pfx_verb(inv: Invocation):
    from capi.crypt32.keyacquire import acquire_private_key
    from capi.crypt32.pfx import export_pfx
    from capi.crypt32.store import CertAddCertificateContextToStore, CertOpenStore

    store_name, cert_id, path = inv.args[:3]
    mods = _modifiers(inv.args[3], EXPORT_MODIFIERS) if len(inv.args) > 3 else set()
    if mods is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail=inv.args[3])
    if os.path.exists(path) and not inv.flag("f"):
        raise WinError(ERROR_FILE_EXISTS, detail=path)
    with open_system_store(inv, store_name, write=False) as store:
        inv.print(store_header(store_name))
        matches = list(select(store, cert_id))
        if not matches:
            raise WinError(CRYPT_E_NOT_FOUND, detail=cert_id)
        out = CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        for index, ctx in matches:
            inv.print(SEPARATOR.format(index))
            for line in summary_lines(ctx):
                inv.print(line)
            for line in keyreport.key_lines(ctx):
                inv.print(line)
            # The certificate's own key must be there (NTE_BAD_KEYSET when its container
            # is gone, "CertUtil: -exportPFX command FAILED: 0x80090016"); chain
            # certificates go without keys.
            acquire_private_key(ctx, C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG
                                | C.CRYPT_ACQUIRE_SILENT_FLAG).release()
            CertAddCertificateContextToStore(out, ctx, C.CERT_STORE_ADD_ALWAYS)
            for ca in _chain(inv, ctx, mods):
                CertAddCertificateContextToStore(out, ca, C.CERT_STORE_ADD_USE_EXISTING)
        flags = C.EXPORT_PRIVATE_KEYS | C.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY
        password = inv.value("p")
        data = export_pfx(out, "" if password is None else password, flags)
    with open(path, "wb") as fh:
        fh.write(data)
    inv.print()


# --------------------------------------------------------------------------------------
# -repairstore
# --------------------------------------------------------------------------------------


@verb("repairstore", "[-user] [-csp Provider] CertificateStoreName CertIdList", min_args=2, max_args=3)
def repairstore_verb(inv: Invocation):
    from capi.crypt32.keyacquire import CryptFindCertificateKeyProvInfo, find_key_prov_info
    from capi.errors import NTE_KEYSET_NOT_DEF, NTE_NOT_FOUND
    from csp.registry import get_provider

    store_name, cert_ids = inv.args[0], inv.args[1]
    providers = None
    if inv.value("csp"):
        provider = get_provider(_machine_and_token()[0], inv.value("csp"))
        if provider is None:
            raise WinError(NTE_KEYSET_NOT_DEF, detail=inv.value("csp"))
        providers = [provider]
    with open_system_store(inv, store_name, write=True, create=False) as store:
        inv.print(store_header(store_name))
        for cert_id in [c for c in cert_ids.split(",") if c.strip()]:
            matches = list(select(store, cert_id.strip()))
            if not matches:
                raise WinError(CRYPT_E_NOT_FOUND, detail=cert_id)
            for index, ctx in matches:
                inv.print(SEPARATOR.format(index))
                for line in summary_lines(ctx):
                    inv.print(line)
                if providers is None:
                    CryptFindCertificateKeyProvInfo(ctx, _find_flags(inv))
                else:
                    machine, token = _machine_and_token()
                    info = find_key_prov_info(machine, token, ctx, _find_flags(inv), providers)
                    if info is None:
                        raise WinError(NTE_NOT_FOUND)
                    ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, info)
                for line in keyreport.key_lines(ctx):
                    inv.print(line)
                inv.print()


def _find_flags(inv: Invocation) -> int:
    return C.CRYPT_FIND_SILENT_KEYSET_FLAG | (
        C.CRYPT_FIND_USER_KEYSET_FLAG if inv.flag("user") else C.CRYPT_FIND_MACHINE_KEYSET_FLAG)


# --------------------------------------------------------------------------------------
# -verifykeys
# --------------------------------------------------------------------------------------


@verb("verifykeys", "[-user] [KeyContainerName CACertFile]", max_args=2)
def verifykeys_verb(inv: Invocation):
    from capi.crypt32.keyacquire import acquire_private_key

    if len(inv.args) == 1:
        raise WinError(ERROR_INVALID_PARAMETER, detail="KeyContainerName needs CACertFile")
    if inv.args:
        container, cert_file = inv.args
        certs = read_certificates(cert_file)
        if not certs:
            raise WinError(CRYPT_E_NOT_FOUND, detail=cert_file)
        ctx = certs[0]
        machine, token = _machine_and_token()
        info = _container_info(machine, token, container, inv.flag("user"))
        ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, info)
        if not _verify_one(inv, ctx, acquire_private_key):
            raise WinError(NTE_BAD_PUBLIC_KEY, detail=f"{container} does not match {cert_file}")
        return None
    failures = 0
    with open_system_store(inv, "My", write=False) as store:
        for _index, ctx in select(store, None):
            if C.CERT_KEY_PROV_INFO_PROP_ID not in ctx.properties():
                continue
            failures += not _verify_one(inv, ctx, acquire_private_key)
    if failures:
        raise WinError(NTE_BAD_PUBLIC_KEY, detail=f"{failures} key(s) failed")
    return None


def _container_info(machine, token, name: str, user: bool):
    """The CRYPT_KEY_PROV_INFO of the container or CNG key called ``name``."""
    from capi.crypt32.context import CRYPT_KEY_PROV_INFO
    from capi.errors import NTE_BAD_KEYSET
    from csp.base import KeyScope
    from csp.registry import csp_list, ksp_list

    scope = KeyScope(machine, token, not user, True)
    mflag = 0 if user else C.CRYPT_MACHINE_KEYSET
    for provider in [*csp_list(machine), *ksp_list(machine)]:
        try:
            if provider.kind == "csp":
                container = provider.open_container(scope, name)
                for spec in (C.AT_KEYEXCHANGE, C.AT_SIGNATURE):
                    try:
                        container.get_key(spec)
                    except WinError:
                        continue
                    return CRYPT_KEY_PROV_INFO(name, provider.name, provider.prov_type, mflag, spec)
            else:
                provider.open_key(scope, name, 0)
                return CRYPT_KEY_PROV_INFO(name, provider.name, 0, mflag, 0)
        except WinError:
            continue
    raise WinError(NTE_BAD_KEYSET, detail=name)


def _verify_one(inv: Invocation, ctx, acquire) -> bool:
    """Print the key lines of ``ctx`` and whether its key is the certificate's key."""
    report = keyreport.inspect(ctx)
    for line in keyreport.key_lines(ctx, report=report):
        inv.print(line)
    try:
        acquired = acquire(ctx, C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG | C.CRYPT_ACQUIRE_SILENT_FLAG
                           | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG | C.CRYPT_ACQUIRE_USE_PROV_INFO_FLAG)
    except WinError as exc:
        inv.print(f"Public key does not match the certificate: {exc.strerror}")
        return False
    acquired.release()
    inv.print("Private key matches the certificate's public key")
    inv.print()
    return bool(report.passed)

"""``winpki winhttpcertcfg``: WinHttpCertCfg.exe, the WinHTTP certificate configuration tool.

    winhttpcertcfg -l -c LOCAL_MACHINE\\My -s "IssuedToName"
    winhttpcertcfg -g -c LOCAL_MACHINE\\My -s "IssuedToName" -a "NetworkService"
    winhttpcertcfg -r -c LOCAL_MACHINE\\My -s "IssuedToName" -a "NetworkService"
    winhttpcertcfg -i PFXFile -c LOCAL_MACHINE\\My [-p Password] [-a Account]

-s is a case-insensitive substring of the subject; the first match wins. Access is given
or taken on the private key's security descriptor (the key file's ACL), as the tool does.
"""

from __future__ import annotations

from typing import TextIO

from capi import constants as C
from capi.errors import CRYPT_E_NO_KEY_PROPERTY, ERROR_NONE_MAPPED, ERROR_NOT_FOUND, WinError
from capi.host.context import current_machine
from winpki.tools.common import read_input_file

BANNER = ("Microsoft (R) WinHTTP Certificate Configuration Tool\n"
          "Copyright (C) Microsoft Corporation 2001.\n\n")
USAGE = BANNER + """Usage:
    winhttpcertcfg [-?] : To view help information

    winhttpcertcfg [-i PFXFile | -g | -r | -l]
                   [-a Account] [-c CertStore] [-s SubjectStr] [-p PFXPassword]

    -i  Import a certificate from a PFX file
    -g  Grant access to the private key
    -r  Remove access to the private key
    -l  List accounts that have access to the private key

    -c  Certificate store: LOCAL_MACHINE\\<store> or CURRENT_USER\\<store>
    -s  Case-insensitive search string for the subject of the certificate
    -a  User account on the local machine (or domain\\user)
    -p  Password for the PFX file
"""

# Texts and exit codes follow the WinHttpCertCfg sample source (Microsoft, 2001; a copy is
# in a public GitHub repository) and real output quoted in public deployment scripts
# ("Matching certificate:\nCN=...\n\nGranting private key access for account:\n    NT
# AUTHORITY\NETWORK SERVICE", "Private key access has already been granted for account:").
# The subject is CertNameToStr(X500 | CRLF | REVERSE): one RDN per line, then a blank line.
NOT_FOUND = "Error:  Unable to find or obtain a context for requested certificate\n\n"
NO_ACCOUNT = "Error: No account information was found.\n"
ALREADY_GRANTED = "Private key access has already been granted for account:\n"
NOT_GRANTED = "Account already does not have access to private key.\n\n"

# What the tool grants: read access to the key file.
GRANTED_RIGHTS = 0x120089  # FILE_GENERIC_READ


def _parse(args: list[str]) -> dict[str, str | bool]:
    opts: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a[:1] not in "-/" or len(a) != 2:
            raise ValueError(a)
        key = a[1].lower()
        if key in "gl r?".replace(" ", ""):
            opts[key] = True
            i += 1
            continue
        if key not in "acspi" or i + 1 >= len(args):
            raise ValueError(a)
        opts[key] = args[i + 1]
        i += 2
    return opts


def _store(location_store: str, *, existing: bool = True):
    """The -c store ("LOCAL_MACHINE\\My"); ``existing``: CERT_STORE_OPEN_EXISTING_FLAG (the
    lookups), else the store is created if need be (-i writes into it)."""
    from capi.crypt32.store import CertOpenStore

    location, _, name = location_store.partition("\\")
    flags = {"local_machine": C.CERT_SYSTEM_STORE_LOCAL_MACHINE,
             "current_user": C.CERT_SYSTEM_STORE_CURRENT_USER}.get(location.lower())
    if flags is None or not name:
        raise ValueError(location_store)
    if existing:
        flags |= C.CERT_STORE_OPEN_EXISTING_FLAG
    return CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, name)


def _import_pfx(path: str, password: str, location_store: str):
    """-i: the PFX's certificates into the -c store, its key into that location's key
    store (MachineKeys for LOCAL_MACHINE); returns the certificate that has the key."""
    from capi.crypt32.pfx import PFXImportCertStore
    from capi.crypt32.store import CertAddCertificateContextToStore

    location = location_store.partition("\\")[0].lower()
    flags = C.CRYPT_MACHINE_KEYSET if location == "local_machine" else C.CRYPT_USER_KEYSET
    try:
        data = read_input_file(path)
    except ValueError as exc:  # a NUL in the name: ERROR_INVALID_NAME, as an OSError
        raise OSError(123, str(exc), path) from None
    with _store(location_store, existing=False) as target, PFXImportCertStore(data, password, flags) as pfx:
        chosen = None
        for ctx in pfx:
            added = CertAddCertificateContextToStore(target, ctx, C.CERT_STORE_ADD_REPLACE_EXISTING)
            if chosen is None and C.CERT_KEY_PROV_INFO_PROP_ID in ctx.properties():
                chosen = added
    if chosen is None:
        raise WinError(CRYPT_E_NO_KEY_PROPERTY)
    return chosen


def _find(store, subject: str):
    from capi.crypt32.store import CertFindCertificateInStore

    return CertFindCertificateInStore(store, C.X509_ASN_ENCODING, 0, C.CERT_FIND_SUBJECT_STR,
                                      subject, None)


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    try:
        opts = _parse(args)
    except ValueError:
        out.write(USAGE)
        return 1
    actions = [k for k in ("i", "g", "r", "l") if k in opts]
    if "?" in opts or len(actions) != 1 or "c" not in opts:
        out.write(USAGE)
        return 0 if "?" in opts else 1
    action = actions[0]
    out.write(BANNER)
    machine = current_machine()
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.str import CertNameToStr
    from capi.host.accounts import account_display, sid_for_account
    from winpki.keyacl import get_key_sd, set_key_sd

    try:
        if action == "i":
            ctx = _import_pfx(str(opts["i"]), str(opts.get("p", "")), str(opts["c"]))
        else:
            if "s" not in opts:
                out.write(USAGE)
                return 1
            with _store(str(opts["c"])) as store:
                ctx = _find(store, str(opts["s"]))
            if ctx is None:
                err.write(NOT_FOUND)
                return ERROR_NOT_FOUND
        subject = CertNameToStr(C.X509_ASN_ENCODING, ctx.pCertInfo.Subject,
                                C.CERT_X500_NAME_STR | C.CERT_NAME_STR_CRLF_FLAG
                                | C.CERT_NAME_STR_REVERSE_FLAG).replace("\r\n", "\n")
        # -i reports "Imported certificate:" and one more blank line; the others "Matching".
        out.write(f"Imported certificate:\n{subject}\n\n\n" if action == "i"
                  else f"Matching certificate:\n{subject}\n\n")
        try:
            CertGetCertificateContextProperty(ctx, C.CERT_KEY_PROV_INFO_PROP_ID)
        except WinError:
            err.write(NOT_FOUND)
            return ERROR_NOT_FOUND
        if action == "l":
            sd = get_key_sd(ctx)
            out.write("Additional accounts and groups with access to the private key include:\n")
            seen = []
            for ace in sd.dacl or []:
                if ace.ace_type == 0 and ace.sid not in seen:
                    seen.append(ace.sid)
                    out.write(f"    {account_display(machine, ace.sid)}\n")
            return 0
        if "a" not in opts:
            return 0 if action == "i" else _usage_fail(out)
        try:
            sid = sid_for_account(machine, str(opts["a"]))
        except WinError as exc:
            if exc.winerror != ERROR_NONE_MAPPED:
                raise
            err.write(NO_ACCOUNT)
            return ERROR_NONE_MAPPED
        sd = get_key_sd(ctx)
        has_allow = any(ace.ace_type == 0 and ace.sid == sid for ace in sd.dacl or [])
        if action == "r":
            if not has_allow:
                err.write(NOT_GRANTED)
                return 0
            sd.remove(sid)
            set_key_sd(ctx, sd)
            out.write(f"Removing private key access for account:\n    "
                      f"{account_display(machine, sid)}\n")
            return 0
        if has_allow:
            out.write(f"{ALREADY_GRANTED}    {account_display(machine, sid)}\n")
            return 0
        sd.grant(sid, GRANTED_RIGHTS)
        set_key_sd(ctx, sd)
        out.write(f"Granting private key access for account:\n    {account_display(machine, sid)}\n")
        return 0
    except ValueError:
        out.write(USAGE)
        return 1
    except OSError as exc:
        if isinstance(exc, WinError):
            out.write(f"Error: {exc.strerror} (0x{exc.hresult:08x})\n")
        else:  # the file's problem in Windows' words
            from winpki.tools.common import describe_failure

            text = WinError(123).strerror if exc.errno == 123 else describe_failure(exc)[1]
            out.write(f"Error: Unable to open the file {opts.get('i')}: {text}\n")
        return 1


def _usage_fail(out: TextIO) -> int:
    out.write("Error: An account must be specified with -a\n")
    return 1

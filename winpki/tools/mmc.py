"""``winpki mmc import FILE -p PW [--exportable] [--store My]``: the Certificates console
(certlm.msc, computer account) import wizard. The key goes straight into MachineKeys.

``winpki mmc duplicate-template SOURCE NAME [--archive] [--min-key-size N] [--exportable |
--no-export] [--csp NAME]… [--enroll ACCOUNT]… [--signature]``: the Certificate
Templates console's "Duplicate Template" (a version-2 copy; "Archive subject's encryption
private key" on the Request Handling tab is --archive)."""

from __future__ import annotations

import argparse
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from schannel import iis
from winpki.tools.common import read_input_file, windows_file_error


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="winpki mmc")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="Certificates (Local Computer) > All Tasks > Import")
    imp.add_argument("file", help="the PFX (.pfx, .p12) file to import")
    imp.add_argument("-p", "--password", default="", help="the PFX file's password")
    imp.add_argument("--exportable", action="store_true",
                     help='check "Mark this key as exportable"')
    imp.add_argument("--store", default="My",
                     help="the LocalMachine store to place it in (default My)")
    dup = sub.add_parser("duplicate-template", help="Certificate Templates > Duplicate Template")
    dup.add_argument("source")
    dup.add_argument("name")
    dup.add_argument("--archive", action="store_true")
    dup.add_argument("--min-key-size", type=int)
    dup.add_argument("--exportable", action="store_true", default=None)
    dup.add_argument("--no-export", dest="exportable", action="store_false")
    dup.add_argument("--csp", action="append")
    dup.add_argument("--enroll", action="append")
    dup.add_argument("--signature", action="store_true", help="Purpose: Signature (KeySpec 2)")
    return p


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    try:
        ns = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if ns.cmd == "duplicate-template":
        return _duplicate(ns, out)
    try:
        data = read_input_file(ns.file)
        cert = iis.certificates_console_import(current_machine(), data, ns.password,
                                               exportable=ns.exportable, store_name=ns.store)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        out.write(f"Certificate Import Wizard\n\n{windows_file_error(exc, ns.file)}\n")
        return 1
    except WinError as exc:
        out.write(f"Certificate Import Wizard\n\n{exc.strerror}\n")
        return 1
    out.write(f"The import was successful. ({cert.thumbprint.lower()} in LocalMachine\\{ns.store})\n")
    return 0


def _duplicate(ns, out: TextIO) -> int:
    from capi.certsrv.templates import AT_SIGNATURE, duplicate_template
    from capi.host.accounts import sid_for_account

    machine = current_machine()
    settings = {}
    if ns.archive:
        settings["archive_key"] = True
    if ns.min_key_size is not None:
        if ns.min_key_size < 1:  # no key has that size: ERROR_INVALID_PARAMETER
            out.write(f"Certificate Templates\n\n{WinError(87).strerror}\n")
            return 1
        settings["min_key_size"] = ns.min_key_size
    if ns.exportable is not None:
        settings["exportable"] = ns.exportable
    if ns.csp:
        settings["csps"] = ns.csp
    if ns.signature:
        settings["key_spec"] = AT_SIGNATURE
    try:
        if ns.enroll:
            settings["enroll"] = [str(sid_for_account(machine, a)) for a in ns.enroll]
        t = duplicate_template(machine, ns.source, ns.name, **settings)
    except WinError as exc:
        out.write(f"Certificate Templates\n\n{exc.strerror}\n")
        return 1
    out.write(f"Template {t.name} ({t.oid}) created, schema version {t.schema_version}.\n")
    return 0

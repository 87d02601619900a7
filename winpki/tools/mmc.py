"""``winpki mmc import FILE -p PW [--exportable] [--store My]``: the Certificates console
(certlm.msc, computer account) import wizard. The key goes straight into MachineKeys."""

from __future__ import annotations

import argparse
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from schannel import iis
from winpki.tools.common import windows_file_error


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    p = argparse.ArgumentParser(prog="winpki mmc")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="Certificates (Local Computer) > All Tasks > Import")
    imp.add_argument("file", help="the PFX (.pfx, .p12) file to import")
    imp.add_argument("-p", "--password", default="", help="the PFX file's password")
    imp.add_argument("--exportable", action="store_true",
                     help='check "Mark this key as exportable"')
    imp.add_argument("--store", default="My",
                     help="the LocalMachine store to place it in (default My)")
    try:
        ns = p.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        with open(ns.file, "rb") as fh:
            data = fh.read()
        cert = iis.certificates_console_import(current_machine(), data, ns.password,
                                               exportable=ns.exportable, store_name=ns.store)
    except OSError as exc:
        out.write(f"Certificate Import Wizard\n\n{windows_file_error(exc, ns.file)}\n")
        return 1
    except WinError as exc:
        out.write(f"Certificate Import Wizard\n\n{exc.strerror}\n")
        return 1
    out.write(f"The import was successful. ({cert.thumbprint.lower()} in LocalMachine\\{ns.store})\n")
    return 0

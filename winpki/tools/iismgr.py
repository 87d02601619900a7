"""``winpki iis``: what IIS Manager and the WebAdministration module do, with their texts.

    winpki iis add-binding --site "Default Web Site" --thumbprint T [--port 443] [--ip *]
                           [--host NAME] [--sni] [--store My]       (IIS Manager: Add Site Binding)
    winpki iis add-sslcertificate --site S --thumbprint T [--port 443] [--store My]
                           (PowerShell: (Get-WebBinding ...).AddSslCertificate(T, "My"))
    winpki iis import-pfx FILE --password PW [--no-export] [--store My]
                           (IIS Manager: Server Certificates > Import; --no-export leaves
                            "Allow this certificate to be exported" unchecked)
    winpki iis load-key --pool NAME --thumbprint T
                           (code in the pool's worker process opening the private key)
    winpki iis sites | apppools
"""

from __future__ import annotations

import argparse
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from schannel import iis


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="winpki iis")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("add-binding", "add-sslcertificate"):
        b = sub.add_parser(name)
        b.add_argument("--site", default="Default Web Site")
        b.add_argument("--thumbprint", required=True)
        b.add_argument("--port", type=int, default=443)
        b.add_argument("--ip", default="*")
        b.add_argument("--host", default="")
        b.add_argument("--sni", action="store_true")
        b.add_argument("--store", default="My")
    imp = sub.add_parser("import-pfx")
    imp.add_argument("file")
    imp.add_argument("--password", default="")
    imp.add_argument("--no-export", action="store_true")
    imp.add_argument("--store", default="My")
    load = sub.add_parser("load-key")
    load.add_argument("--pool", default="DefaultAppPool")
    load.add_argument("--thumbprint", required=True)
    sub.add_parser("sites")
    sub.add_parser("apppools")
    return p


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    try:
        ns = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    machine = current_machine()
    if ns.cmd == "sites":
        for s in iis.list_sites(machine):
            binds = ", ".join(f"{b.protocol} {b.binding_info}" + (f" ({b.cert_hash})" if b.cert_hash else "")
                              for b in s.bindings)
            out.write(f"{s.id:>3}  {s.name:<24} {s.state:<8} {s.app_pool:<20} {binds}\n")
        return 0
    if ns.cmd == "apppools":
        for p in iis.list_app_pools(machine):
            out.write(f"{p.name:<24} {p.identity_type:<24} {p.account}\n")
        return 0
    if ns.cmd == "import-pfx":
        try:
            with open(ns.file, "rb") as fh:
                data = fh.read()
            cert = iis.iis_manager_import(machine, data, ns.password,
                                          allow_export=not ns.no_export, store_name=ns.store)
        except OSError as exc:
            out.write(f"Import Certificate\n\n{iis.IIS_MANAGER_ERROR}\n\nDetails:\n\n{exc.strerror}\n")
            return 1
        except WinError as exc:
            out.write("Import Certificate\n\n" + iis.iis_manager_error(exc) + "\n")
            return 1
        out.write(f"Imported certificate {cert.thumbprint.lower()} into LocalMachine\\{ns.store}\n")
        return 0
    if ns.cmd == "load-key":
        try:
            iis.app_pool_load_private_key(machine, ns.pool, ns.thumbprint)
        except WinError as exc:
            out.write(f"{iis.DOTNET_EXCEPTION}: {exc.strerror}\n")
            return 1
        pool = iis.get_app_pool(machine, ns.pool)
        out.write(f"{pool.account} opened the private key of {ns.thumbprint.lower()}\n")
        return 0
    thumb = "".join(ns.thumbprint.split())
    info = f"{ns.ip}:{ns.port}:{ns.host}"
    try:
        iis.add_https_binding(machine, ns.site, info, thumb, ns.store, sni=ns.sni)
    except WinError as exc:
        if ns.cmd == "add-binding":
            out.write("Add Site Binding\n\n" + iis.iis_manager_error(exc) + "\n")
        else:
            out.write(f'Exception calling "AddSslCertificate" with "2" argument(s): '
                      f'"{iis.hresult_text(exc)}"\n')
        return 1
    out.write(f"https binding {info} added to site \"{ns.site}\" with certificate {thumb.lower()}\n")
    return 0

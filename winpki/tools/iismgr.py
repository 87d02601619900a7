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

from capi.errors import CRYPT_E_NOT_FOUND, WinError
from capi.host.context import current_machine
from schannel import iis
from winpki.tools.common import normalize_hash, read_input_file, windows_file_error


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="winpki iis",
        description="What IIS Manager and the WebAdministration module do, with their texts.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    helps = {"add-binding": "IIS Manager: Site Bindings > Add (type https, an SSL certificate)",
             "add-sslcertificate": 'PowerShell: (Get-WebBinding ...).AddSslCertificate(T, "My")'}
    for name in ("add-binding", "add-sslcertificate"):
        b = sub.add_parser(name, help=helps[name], description=helps[name])
        b.add_argument("--site", default="Default Web Site",
                       help='the site (default "Default Web Site")')
        b.add_argument("--thumbprint", required=True,
                       help="the certificate's SHA-1 thumbprint (spaces allowed)")
        b.add_argument("--port", type=int, default=443, help="the port (default 443)")
        b.add_argument("--ip", default="*", help="the IP address (default *: all unassigned)")
        b.add_argument("--host", default="", help="the host name (with --sni)")
        b.add_argument("--sni", action="store_true", help="Require Server Name Indication")
        b.add_argument("--store", default="My",
                       help="the LocalMachine store holding the certificate (default My)")
    text = ("IIS Manager: Server Certificates > Import (into LocalMachine\\My, "
            "\"Allow this certificate to be exported\" checked unless --no-export)")
    imp = sub.add_parser("import-pfx", help=text, description=text)
    imp.add_argument("file", help="the PFX (.pfx, .p12) file to import")
    imp.add_argument("--password", default="", help="the PFX file's password")
    imp.add_argument("--no-export", action="store_true",
                     help='leave "Allow this certificate to be exported" unchecked')
    imp.add_argument("--store", default="My", help="the LocalMachine store (default My)")
    text = "code in an application pool's worker process opening a certificate's private key"
    load = sub.add_parser("load-key", help=text, description=text)
    load.add_argument("--pool", default="DefaultAppPool",
                      help="the application pool (default DefaultAppPool)")
    load.add_argument("--thumbprint", required=True,
                      help="the certificate's SHA-1 thumbprint")
    sub.add_parser("sites", help="list the sites: id, name, state, pool, bindings")
    sub.add_parser("apppools", help="list the application pools and their identities")
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
            data = read_input_file(ns.file)
            cert = iis.iis_manager_import(machine, data, ns.password,
                                          allow_export=not ns.no_export, store_name=ns.store)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
            out.write(f"Import Certificate\n\n{iis.IIS_MANAGER_ERROR}\n\nDetails:\n\n"
                      f"{windows_file_error(exc, ns.file)}\n")
            return 1
        except WinError as exc:
            out.write("Import Certificate\n\n" + iis.iis_manager_error(exc) + "\n")
            return 1
        out.write(f"Imported certificate {cert.thumbprint.lower()} into LocalMachine\\{ns.store}\n")
        return 0
    if ns.cmd == "load-key":
        try:
            if normalize_hash(ns.thumbprint) is None:  # no certificate has that thumbprint
                raise WinError(CRYPT_E_NOT_FOUND, detail=ns.thumbprint)
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

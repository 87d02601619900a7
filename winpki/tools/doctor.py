"""``winpki doctor <thumbprint> [--ipport 0.0.0.0:443] [--json]`` and ``winpki doctor
--all [--json]``: why a binding fails, and the fix. ``winpki doctor request <RequestId>``:
why the CA denied or failed a request, and the fix. ``winpki doctor --client-cert FILE
[--ipport IP:PORT]``: would the binding accept this client certificate, and what IIS
answers. ``winpki doctor --url URL --as ACCOUNT``: may that identity register the URL with
http.sys. ``winpki doctor --pfx FILE [-p PASSWORD] [--ephemeral]``: can SSPI use the
certificate when the application keeps its key in memory only.

``--json`` prints one JSON object. For a thumbprint::

    {"thumbprint": "<40 hex digits>", "ipport": "0.0.0.0:443" | null,
     "verdict": "ok" | "warning" | "error",
     "findings": [FINDING, ...]}

and for ``--all``::

    {"bindings": [{"binding": "0.0.0.0:443", ...the thumbprint object...}, ...],
     "certificates": [...one thumbprint object per LocalMachine\\My certificate with a key...]}

Each FINDING has the keys ``cause`` (a stable identifier: keyspec, key-acl, user-keyset,
missing-key, no-key-info, broken-keyset, store-location, not-found, app-pool-access,
untrusted-chain, not-bound, bound-elsewhere, binding-ok, ok; client-cert-untrusted,
client-cert-revoked, client-cert-expired, client-cert-usage, client-cert-not-asked,
client-cert-ok, client-cert-refused, client-cert-trust-mode; urlacl-missing, urlacl-ok; ephemeral-key, pfx-ok,
pfx-no-key), ``title``, ``severity``
(error | warning | ok), ``evidence`` (lines), ``fix`` (lines), ``commands`` (the fix's
lines that are winpki commands), ``scenario`` (the public article or case, or null) and
``hresult`` ("0x80070520": what the failing call returns, or null).

Exit status: 0 when nothing blocks, 1 when a finding is an error (or the input is bad).
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from winpki.doctor import ERROR, Diagnosis, diagnose, render
from winpki.tools.common import normalize_hash

EPILOG = """JSON keys (--json): thumbprint, ipport, verdict (ok|warning|error), findings: a
list of objects with cause, title, severity, evidence, fix, commands, scenario, hresult.
--all prints {"bindings": [...], "certificates": [...]}. --client-cert adds "client_cert"
(the file), --url adds "url" and "account", --pfx adds "pfx" and "ephemeral".
Examples:
  winpki doctor --client-cert client.cer --ipport 0.0.0.0:443
  winpki doctor --url http://+:8080/app/ --as "NT AUTHORITY\\NETWORK SERVICE"
  winpki doctor --pfx site.pfx -p secret --ephemeral
Exit status: 0 when nothing blocks the binding, 1 otherwise."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="winpki doctor", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Explain why binding a certificate fails (netsh Error 1312, IIS "
                    "0x80070520, Schannel event 36870), show the evidence, and give the fix.")
    p.add_argument("thumbprint", nargs="*", help="SHA-1 thumbprint (spaces allowed)")
    p.add_argument("--ipport", default=None, help="the http.sys binding to check, e.g. 0.0.0.0:443")
    p.add_argument("--all", action="store_true",
                   help="check every http.sys binding and every LocalMachine\\My certificate "
                        "with a private key, one verdict each")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys below)")
    p.add_argument("--client-cert", metavar="FILE", default=None,
                   help="judge this client certificate (.cer: DER, PEM or base64) as http.sys "
                        "would for the binding --ipport (or a positional IP:PORT): trust by "
                        "the machine's chain engine, revocation, the trusted issuer list, and "
                        "IIS's answer (403.16, 403.13, 403.17, 403.7)")
    p.add_argument("--url", default=None,
                   help="check the http.sys URL reservation for this URL prefix "
                        "(e.g. http://+:8080/app/) for the identity --as")
    p.add_argument("--as", dest="account", metavar="ACCOUNT", default=None,
                   help='with --url: the identity that registers the URL, as netsh\'s user= '
                        'takes it (e.g. "NT AUTHORITY\\NETWORK SERVICE", '
                        '"IIS APPPOOL\\MyPool", MACHINE\\user); default: the current identity')
    p.add_argument("--pfx", metavar="FILE", default=None,
                   help="check whether SSPI (Schannel) can use this PFX's certificate when "
                        "the application imports it in memory")
    p.add_argument("-p", "--password", default=None,
                   help="with --pfx: the PFX password (asked for when omitted)")
    p.add_argument("--ephemeral", action="store_true",
                   help="with --pfx: the application imports it with PKCS12_NO_PERSIST_KEY / "
                        "X509KeyStorageFlags.EphemeralKeySet (report it as the failure)")
    return p


def _read_file(path: str, err: TextIO) -> bytes | None:
    from winpki.tools.common import read_input_file, windows_file_error

    try:
        return read_input_file(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name

        err.write(f"winpki doctor: {windows_file_error(exc, path)}\n")
        return None


def _special(ns, out: TextIO, err: TextIO) -> int:
    """--client-cert, --url and --pfx."""
    machine = current_machine()
    extra: dict = {}
    if ns.client_cert:
        from winpki.doctor_clients import diagnose_client_certificate
        from winpki.tools.certutil_store import read_certificates

        ipport = ns.ipport
        if ns.thumbprint:
            if ipport is not None or len(ns.thumbprint) != 1:
                err.write("winpki doctor: --client-cert takes one IP:PORT\n")
                return 1
            ipport = ns.thumbprint[0]
        if _read_file(ns.client_cert, err) is None:
            return 1
        certs = read_certificates(ns.client_cert)
        if not certs:
            err.write(f"winpki doctor: no certificate in {ns.client_cert}\n")
            return 1
        diag = diagnose_client_certificate(machine, certs[0], ipport)
        extra = {"client_cert": ns.client_cert, "ipport": ipport}
    elif ns.url:
        from capi.host.context import current_token
        from winpki.doctor_clients import diagnose_url_reservation

        account = ns.account or current_token(machine).name
        diag = diagnose_url_reservation(machine, ns.url, account)
        extra = {"url": ns.url, "account": account, "ipport": None}
    else:
        from winpki.doctor_clients import diagnose_pfx

        data = _read_file(ns.pfx, err)
        if data is None:
            return 1
        password = ns.password
        if password is None:
            from winpki.tools.common import read_password

            password = read_password("Enter PFX password:", err)
        diag = diagnose_pfx(machine, data, password, ephemeral=ns.ephemeral)
        extra = {"pfx": ns.pfx, "ephemeral": ns.ephemeral, "ipport": None}
    if ns.json:
        doc = diag.as_dict()
        doc.update(extra)
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(render(diag))
    return 1 if any(f.severity == ERROR for f in diag.findings) else 0


def _as_json(diag: Diagnosis, ipport: str | None) -> dict:
    d = diag.as_dict()
    d["ipport"] = ipport
    return d


def _certificates_with_keys() -> list[str]:
    from capi import constants as C
    from capi.crypt32.store import CertOpenStore

    flags = (C.CERT_SYSTEM_STORE_LOCAL_MACHINE | C.CERT_STORE_OPEN_EXISTING_FLAG
             | C.CERT_STORE_READONLY_FLAG)
    try:
        store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, "My")
    except WinError:
        return []
    with store:
        return [ctx.thumbprint.lower() for ctx in store
                if C.CERT_KEY_PROV_INFO_PROP_ID in ctx.properties()]


def _all(out: TextIO, as_json: bool) -> int:
    from schannel import httpsys

    machine = current_machine()
    bindings, certificates = [], []
    for b in httpsys.list_bindings(machine):
        ipport = b.endpoint if b.kind == "ipport" else None
        bindings.append((b.endpoint, ipport, diagnose(machine, b.cert_hash, ipport)))
    for thumb in _certificates_with_keys():
        certificates.append((thumb, diagnose(machine, thumb)))
    failed = any(d.verdict == ERROR for *_, d in bindings + certificates)
    if as_json:
        doc = {"bindings": [dict(binding=e, **_as_json(d, i)) for e, i, d in bindings],
               "certificates": [_as_json(d, None) for _, d in certificates]}
        out.write(json.dumps(doc, indent=2) + "\n")
        return 1 if failed else 0
    marks = {"error": "FAIL", "warning": "WARN", "ok": " OK "}
    out.write("http.sys SSL bindings:\n")
    if not bindings:
        out.write("  (none)\n")
    for endpoint, _, d in bindings:
        first = next((f for f in d.findings if f.severity == d.verdict), None)
        out.write(f"  [{marks[d.verdict]}] {endpoint:<28} {d.thumbprint}  "
                  f"{first.title if first else ''}\n")
    out.write("\nLocalMachine\\My certificates with a private key:\n")
    if not certificates:
        out.write("  (none)\n")
    for thumb, d in certificates:
        first = next((f for f in d.findings if f.severity == d.verdict), None)
        out.write(f"  [{marks[d.verdict]}] {thumb}  {first.title if first else ''}\n")
    out.write("\nDetails: winpki doctor <thumbprint> [--ipport IP:PORT]\n")
    return 1 if failed else 0


def _words(exc: WinError) -> str:
    """The failure's message, with what it was about (``url=... (the prefix ends in '/')``)."""
    return f"{exc.strerror} ({exc.detail})" if exc.detail else exc.strerror


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if args[:1] == ["request"]:
        from winpki.doctor_ca import explain_request

        if len(args) != 2:
            err.write("winpki doctor request: give one request ID\n")
            return 1
        try:
            text, failed = explain_request(current_machine(), args[1])
        except WinError as exc:
            err.write(f"winpki doctor: {_words(exc)}\n")
            return 1
        out.write(text)
        return 1 if failed else 0
    try:
        ns = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    modes = [m for m in ("client_cert", "url", "pfx") if getattr(ns, m)]
    if len(modes) > 1 or (modes and ns.all):
        err.write("winpki doctor: give one of --client-cert, --url, --pfx, --all\n")
        return 1
    if (ns.account and not ns.url) or ((ns.password is not None or ns.ephemeral) and not ns.pfx):
        err.write("winpki doctor: --as goes with --url; -p and --ephemeral go with --pfx\n")
        return 1
    if modes:
        if (ns.url or ns.pfx) and ns.thumbprint:
            err.write("winpki doctor: --url and --pfx take no thumbprint\n")
            return 1
        try:
            return _special(ns, out, err)
        except WinError as exc:
            err.write(f"winpki doctor: {_words(exc)}\n")
            return 1
    if ns.all:
        if ns.thumbprint:
            err.write("winpki doctor: --all takes no thumbprint\n")
            return 1
        try:
            return _all(out, ns.json)
        except WinError as exc:
            err.write(f"winpki doctor: {_words(exc)}\n")
            return 1
    thumb = normalize_hash("".join(ns.thumbprint))
    if thumb is None or len(thumb) != 40:
        err.write("winpki doctor: a thumbprint is 40 hexadecimal digits (SHA-1)\n")
        return 1
    try:
        diag = diagnose(current_machine(), thumb, ns.ipport)
    except WinError as exc:
        err.write(f"winpki doctor: {_words(exc)}\n")
        return 1
    if ns.json:
        out.write(json.dumps(_as_json(diag, ns.ipport), indent=2) + "\n")
    else:
        out.write(render(diag))
    return 1 if any(f.severity == ERROR for f in diag.findings) else 0

"""``winpki doctor <thumbprint> [--ipport 0.0.0.0:443] [--json]`` and ``winpki doctor
--all [--json]``: why a binding fails, and the fix. ``winpki doctor request <RequestId>``:
why the CA denied or failed a request, and the fix.

``--json`` prints one JSON object. For a thumbprint::

    {"thumbprint": "<40 hex digits>", "ipport": "0.0.0.0:443" | null,
     "verdict": "ok" | "warning" | "error",
     "findings": [FINDING, ...]}

and for ``--all``::

    {"bindings": [{"binding": "0.0.0.0:443", ...the thumbprint object...}, ...],
     "certificates": [...one thumbprint object per LocalMachine\\My certificate with a key...]}

Each FINDING has the keys ``cause`` (a stable identifier: keyspec, key-acl, user-keyset,
missing-key, no-key-info, broken-keyset, store-location, not-found, app-pool-access,
untrusted-chain, not-bound, bound-elsewhere, binding-ok, ok), ``title``, ``severity``
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
--all prints {"bindings": [...], "certificates": [...]}.
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
    return p


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


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if args[:1] == ["request"]:
        from winpki.doctor_ca import explain_request

        if len(args) != 2:
            err.write("winpki doctor request: give one request ID\n")
            return 1
        try:
            text, failed = explain_request(current_machine(), args[1])
        except WinError as exc:
            err.write(f"winpki doctor: {exc.strerror}\n")
            return 1
        out.write(text)
        return 1 if failed else 0
    try:
        ns = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if ns.all:
        if ns.thumbprint:
            err.write("winpki doctor: --all takes no thumbprint\n")
            return 1
        try:
            return _all(out, ns.json)
        except WinError as exc:
            err.write(f"winpki doctor: {exc.strerror}\n")
            return 1
    thumb = normalize_hash("".join(ns.thumbprint))
    if thumb is None or len(thumb) != 40:
        err.write("winpki doctor: a thumbprint is 40 hexadecimal digits (SHA-1)\n")
        return 1
    try:
        diag = diagnose(current_machine(), thumb, ns.ipport)
    except WinError as exc:
        err.write(f"winpki doctor: {exc.strerror}\n")
        return 1
    if ns.json:
        out.write(json.dumps(_as_json(diag, ns.ipport), indent=2) + "\n")
    else:
        out.write(render(diag))
    return 1 if any(f.severity == ERROR for f in diag.findings) else 0

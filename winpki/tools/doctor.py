"""``winpki doctor <thumbprint> [--ipport 0.0.0.0:443]``: why a binding fails, and the fix.
``winpki doctor request <RequestId>``: why the CA denied or failed a request, and the fix."""

from __future__ import annotations

import argparse
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from winpki.doctor import ERROR, diagnose, render
from winpki.tools.common import normalize_hash


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
    p = argparse.ArgumentParser(prog="winpki doctor")
    p.add_argument("thumbprint", nargs="+", help="SHA-1 thumbprint (spaces allowed)")
    p.add_argument("--ipport", default=None, help="the http.sys binding to check, e.g. 0.0.0.0:443")
    try:
        ns = p.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    thumb = normalize_hash("".join(ns.thumbprint))
    if thumb is None or len(thumb) != 40:
        err.write("winpki doctor: a thumbprint is 40 hexadecimal digits (SHA-1)\n")
        return 1
    try:
        diag = diagnose(current_machine(), thumb, ns.ipport)
    except WinError as exc:
        err.write(f"winpki doctor: {exc.strerror}\n")
        return 1
    out.write(render(diag))
    return 1 if any(f.severity == ERROR for f in diag.findings) else 0

"""``winpki provider``: bind key providers to PKCS#11 tokens, pull and re-insert cards.

    winpki provider add-pkcs11 --name NAME --module PATH --token-label LABEL [--pin PIN] [--kind ksp|csp]
    winpki provider list
    winpki provider remove NAME
    winpki provider remove-token LABEL      (pull the card out)
    winpki provider insert-token LABEL      (put it back; certificates are propagated)
    winpki provider propagate NAME          (copy the card's certificates to CurrentUser\\My)
    winpki provider init-token --label L [--pin P] [--so-pin S] [--machine DIR]
                                            (a SoftHSM2 token in <machine>/softhsm; prints
                                             the SOFTHSM2_CONF to export)

Failures print the code and the Windows message (``0x8010006b (-2146434965
SCARD_W_WRONG_CHV)`` / ``The card cannot be accessed because the wrong PIN was
presented.``) and exit 1; bad usage exits 2.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from capi import certprop
from capi.errors import WinError
from winpki.tools.common import describe_failure, hresult_line


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # never a traceback, never sys.exit from inside a library
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="winpki provider")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    a = sub.add_parser("add-pkcs11", help="bind a provider to a PKCS#11 token")
    a.add_argument("--name", required=True)
    a.add_argument("--module", required=True)
    a.add_argument("--token-label", required=True)
    a.add_argument("--pin")
    a.add_argument("--kind", choices=("ksp", "csp"), default="ksp")
    sub.add_parser("list", help="list providers bound to tokens")
    r = sub.add_parser("remove", help="unregister a token-bound provider")
    r.add_argument("name")
    for verb, text in (("remove-token", "pull the token out"), ("insert-token", "put the token back")):
        t = sub.add_parser(verb, help=text)
        t.add_argument("label")
    g = sub.add_parser("propagate", help="propagate the token's certificates to CurrentUser\\My")
    g.add_argument("name")
    i = sub.add_parser("init-token", help="create a SoftHSM2 token in <machine>/softhsm")
    i.add_argument("--label", required=True)
    i.add_argument("--pin", default="1234")
    i.add_argument("--so-pin", default="5678")
    i.add_argument("--machine", help="machine directory (default: the current machine)")
    return p


def _init_token(ns, out: TextIO) -> None:
    """softhsm-config/provision.py as a command: configuration and token directory in the
    machine directory, a fresh token labelled ``--label``, the export line to use."""
    from pathlib import Path

    from csp import softhsm

    if ns.machine:
        base = Path(ns.machine) / "softhsm"
    else:
        from capi.host.context import current_machine

        base = Path(current_machine().path) / "softhsm"
    existed = base.exists()
    try:
        token = softhsm.provision(base, ns.label, ns.pin, ns.so_pin, set_env=False)
    except BaseException:
        if not existed:  # a failed init-token leaves no configuration behind
            import shutil

            shutil.rmtree(base, ignore_errors=True)
        raise
    out.write(f'Token "{token.label}" initialised.\n')
    out.write(f"  Module: {token.module}\n")
    out.write("Before loading the module, export:\n")
    out.write(f"export SOFTHSM2_CONF={token.config}\n")


def _add(machine, ns, out: TextIO) -> None:
    from csp import tokens

    reg = tokens.add_pkcs11(machine, ns.name, ns.module, ns.token_label, pin=ns.pin, kind=ns.kind)
    out.write(f'Provider "{reg.name}" ({reg.kind.upper()}) bound to token "{reg.token_label}"\n')
    out.write(f"  Module: {reg.module}\n")


def _list(machine, out: TextIO) -> None:
    from csp import tokens

    regs = tokens.list_pkcs11(machine)
    if not regs:
        out.write("No providers are bound to tokens.\n")
        return
    for reg in regs:
        present, _ = tokens.token_state(machine, reg.token_label)
        out.write(f"{reg.name}\n")
        out.write(f"  Kind:        {reg.kind.upper()}"
                  + (f" (type {reg.prov_type})" if reg.prov_type is not None else "") + "\n")
        out.write(f"  Module:      {reg.module}\n")
        out.write(f"  Token label: {reg.token_label}\n")
        out.write(f"  Token:       {'present' if present else 'removed'}\n")
        out.write(f"  PIN:         {'registered' if reg.has_pin else 'not registered'}\n")


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    from capi.host.context import current_machine
    from csp import tokens

    try:
        ns = _parser().parse_args(args)
    except _UsageError as exc:
        err.write(f"winpki provider: {exc}\n")
        err.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    try:
        if ns.cmd == "init-token":
            _init_token(ns, out)
            return 0
        machine = current_machine()
        if ns.cmd == "add-pkcs11":
            _add(machine, ns, out)
        elif ns.cmd == "list":
            _list(machine, out)
        elif ns.cmd == "remove":
            tokens.remove_provider(machine, ns.name)
            out.write(f'Provider "{ns.name}" removed.\n')
        elif ns.cmd == "remove-token":
            tokens.remove_token(machine, ns.label)
            out.write(f'Token "{ns.label}" removed.\n')
        elif ns.cmd == "insert-token":
            thumbs = certprop.insert_token(machine, ns.label)
            out.write(f'Token "{ns.label}" inserted.\n')
            for t in thumbs:
                out.write(f"  Propagated to CurrentUser\\My: {t}\n")
        elif ns.cmd == "propagate":
            for t in certprop.propagate_certificates(machine, ns.name):
                out.write(f"Propagated to CurrentUser\\My: {t}\n")
    except (WinError, OSError, ValueError) as exc:
        hr, text = describe_failure(exc)
        err.write(f"winpki provider: {ns.cmd} FAILED: {hresult_line(hr)}\n")
        err.write(f"winpki provider: {text}\n")
        detail = getattr(exc, "detail", None)
        if detail:  # which label, which module path
            err.write(f"winpki provider: ({detail})\n")
        return 1
    return 0

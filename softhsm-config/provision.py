#!/usr/bin/env python3
"""Provision a SoftHSM2 token for winpki.

    python3 softhsm-config/provision.py [--machine DIR | --dir DIR] [--label L]
                                        [--pin P] [--so-pin S] [--register NAME [--kind ksp|csp]]

Writes softhsm2.conf (from softhsm2.conf.template beside this script) and a token
directory — inside the machine directory (<machine>/softhsm) with --machine, else in
--dir or a new temporary directory — initialises a token there with softhsm2-util, and
prints the `export SOFTHSM2_CONF=...` line to use before the library is loaded. With
--register it also binds a provider to the token (winpki provider add-pkcs11).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csp import softhsm  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--machine", help="machine directory (token dir goes in <machine>/softhsm)")
    where.add_argument("--dir", help="directory for softhsm2.conf and tokens/")
    parser.add_argument("--label", default=None)
    parser.add_argument("--pin", default="1234")
    parser.add_argument("--so-pin", default="5678")
    parser.add_argument("--register", metavar="NAME", help="also register a provider NAME")
    parser.add_argument("--kind", choices=("ksp", "csp"), default="ksp")
    args = parser.parse_args(argv)
    if args.machine:
        base = Path(args.machine) / "softhsm"
    else:
        base = Path(args.dir or tempfile.mkdtemp(prefix="winpki-softhsm-"))
    try:
        token = softhsm.provision(base, args.label, args.pin, args.so_pin)
    except OSError as exc:
        print(f"provision: {exc}", file=sys.stderr)
        return 1
    if args.register:
        from capi.host.machine import Machine
        from csp import tokens

        machine = Machine.open(args.machine or os.environ["WINPKI_MACHINE"])
        try:
            tokens.add_pkcs11(machine, args.register, token.module, token.label,
                              pin=token.pin, kind=args.kind)
        finally:
            machine.close()
    print(f"export SOFTHSM2_CONF={token.config}")
    print(f"# module={token.module} label={token.label} pin={token.pin} so-pin={token.so_pin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``winpki machine create|info``: make or describe the simulated Windows host."""

from __future__ import annotations

import argparse
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine, default_machine_path
from capi.host.machine import Machine
from capi.host.osversions import OS_VERSIONS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="winpki machine", add_help=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="create a machine (default: the WINPKI_MACHINE path)")
    c.add_argument("path", nargs="?")
    c.add_argument("--os", dest="os_version", default="2019", choices=list(OS_VERSIONS))
    c.add_argument("--name", dest="computer_name", default="WEBSERVER")
    c.add_argument("--guid", dest="machine_guid")
    sub.add_parser("info", help="describe the current machine")
    return p


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if ns.cmd == "create":
            m = Machine.create(ns.path or default_machine_path(), os_version=ns.os_version,
                               computer_name=ns.computer_name, machine_guid=ns.machine_guid)
        else:
            m = current_machine()
    except WinError as exc:
        err.write(f"winpki machine: {exc.strerror}"
                  + (f" ({exc.detail})" if exc.detail else "") + "\n")
        return 1
    except OSError as exc:  # the directory cannot be made there
        missing = WinError(3 if isinstance(exc, FileNotFoundError) else 5)
        err.write(f"winpki machine: {missing.strerror} ({exc.filename or exc})\n")
        return 1
    out.write(f"Computer name : {m.computer_name}\n")
    out.write(f"OS            : {m.os.product} ({m.os.version})\n")
    out.write(f"MachineGuid   : {m.machine_guid}\n")
    out.write(f"Machine SID   : {m.machine_sid}\n")
    out.write(f"MachineKeys   : {m.machine_keys_dir}\n")
    out.write(f"Directory     : {m.path}\n")
    return 0

"""``winpki machine create|list|info|delete``: make, find, describe or remove simulated
Windows hosts. ``create`` is the only command that makes a machine."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
from pathlib import Path
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine, default_machine_path
from capi.host.machine import Machine
from capi.host.osversions import OS_VERSIONS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="winpki machine", add_help=True,
                                description="Simulated Windows hosts: each is a directory "
                                            "(state database and file system).")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="create a machine (default: the WINPKI_MACHINE path)")
    c.add_argument("path", nargs="?", help="the machine's directory (must not hold one)")
    c.add_argument("--os", dest="os_version", default="2019", choices=list(OS_VERSIONS),
                   help="the Windows version it runs: 2003, 2008, 2008R2, 2012, 2012R2, "
                        "2016, 2019 (default), 2022 or 2025 (Windows Server 2025)")
    c.add_argument("--name", dest="computer_name", default="WEBSERVER",
                   help="the computer name (default WEBSERVER)")
    c.add_argument("--guid", dest="machine_guid", help="the MachineGuid (default: random)")
    sub.add_parser("list", help="list the machines in winpki's data directory and "
                                "the WINPKI_MACHINE one")
    i = sub.add_parser("info", help="describe a machine (default: the current one)")
    i.add_argument("path", nargs="?", help="the machine's directory")
    d = sub.add_parser("delete", help="remove a machine and its directory")
    d.add_argument("path", help="the machine's directory")
    return p


# What a machine directory holds (capi.host.machine: the database, fs/, secrets/; and
# softhsm/ from provider init-token): all that machine delete removes.
MACHINE_ENTRIES = (Machine.DB_NAME, Machine.DB_NAME + "-wal", Machine.DB_NAME + "-shm",
                   Machine.DB_NAME + "-journal", "fs", "secrets", "softhsm")


def _data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("winpki"))


def _is_machine(path: Path) -> bool:
    return (path / Machine.DB_NAME).is_file()


def _list(out: TextIO) -> int:
    seen: list[Path] = []
    env = os.environ.get("WINPKI_MACHINE")
    candidates = [Path(env)] if env else []
    data = _data_dir()
    if data.is_dir():
        candidates += sorted(p for p in data.iterdir() if p.is_dir())
    for path in candidates:
        if path.resolve() in seen or not _is_machine(path):
            continue
        seen.append(path.resolve())
        try:
            m = Machine.open(path)
        except WinError as exc:  # a machine.db that cannot be read: say so, list the rest
            out.write(f"  {'?':<16} {'?':<8} {path}  ({exc.strerror})\n")
            continue
        try:
            mark = "*" if env and path == Path(env) else " "
            out.write(f"{mark} {m.computer_name:<16} {m.os.version:<8} {path}\n")
        finally:
            m.close()
    if not seen:
        out.write("No machines. Create one with: winpki machine create PATH\n")
    return 0


def _delete(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        found = _is_machine(path)
    except (OSError, ValueError) as exc:  # a name too long, or with a NUL
        from winpki.tools.common import windows_file_error

        err.write(f"winpki machine: {windows_file_error(exc, str(path))}\n")
        return 1
    if not found:
        e = WinError(3)
        err.write(f"winpki machine: {e.strerror} (no machine in {path})\n")
        return 1
    # Only what a machine is made of goes; the directory goes when nothing else is left
    # in it (never a whole directory tree that merely holds a machine.db).
    for name in MACHINE_ENTRIES:
        entry = path / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()
    try:
        path.rmdir()
    except OSError:
        out.write(f"Deleted the machine in {path} (other files there were kept)\n")
        return 0
    out.write(f"Deleted the machine in {path}\n")
    return 0


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if ns.cmd == "list":
        return _list(out)
    if ns.cmd == "delete":
        return _delete(Path(ns.path), out, err)
    try:
        if ns.cmd == "create":
            target = Path(ns.path or default_machine_path())
            if target.is_dir() and not (target / Machine.DB_NAME).exists() \
                    and any(target.iterdir()):
                # A machine gets a directory of its own: never spread into one in use.
                raise WinError(145, detail=str(target))  # ERROR_DIR_NOT_EMPTY
            m = Machine.create(ns.path or default_machine_path(), os_version=ns.os_version,
                               computer_name=ns.computer_name, machine_guid=ns.machine_guid)
        elif ns.path:
            m = Machine.open(ns.path)
        else:
            m = current_machine()
    except WinError as exc:
        err.write(f"winpki machine: {exc.strerror}"
                  + (f" ({exc.detail})" if exc.detail else "") + "\n")
        return 1
    except OSError as exc:  # the directory cannot be made there
        if exc.errno == errno.ENAMETOOLONG:
            missing = WinError(206)  # ERROR_FILENAME_EXCED_RANGE
        else:
            missing = WinError(3 if isinstance(exc, FileNotFoundError) else 5)
        err.write(f"winpki machine: {missing.strerror} ({exc.filename or exc})\n")
        return 1
    except ValueError:  # a NUL in the path: ERROR_INVALID_NAME
        err.write(f"winpki machine: {WinError(123).strerror} ({ns.path!r})\n")
        return 1
    out.write(f"Computer name : {m.computer_name}\n")
    out.write(f"OS            : {m.os.product} ({m.os.version})\n")
    out.write(f"MachineGuid   : {m.machine_guid}\n")
    out.write(f"Machine SID   : {m.machine_sid}\n")
    out.write(f"MachineKeys   : {m.machine_keys_dir}\n")
    out.write(f"Directory     : {m.path}\n")
    return 0

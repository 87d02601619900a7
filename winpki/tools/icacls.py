"""``winpki icacls <path> [options]``: display or change the DACL of a simulated file.

Output follows icacls.exe: the path, a space and the first ACE, further ACEs aligned
under the first, a blank line and ``Successfully processed N files; Failed processing M
files``. A change prints ``processed file: <path>``. Failures print ``<path>: <Windows
message>`` and make the exit status the Win32 error code. Changing an ACL needs
WRITE_DAC for the current identity (``capi.run_as``), reading it READ_CONTROL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TextIO

from capi.errors import (
    ERROR_INVALID_PARAMETER,
    ERROR_NONE_MAPPED,
    FACILITY_WIN32,
    WinError,
    message,
)
from capi.host.accounts import Sid, sid_for_account
from capi.host.context import current_machine, current_token
from capi.host.paths import normalize_winpath
from capi.host.security import (
    CONTAINER_INHERIT_ACE,
    ICACLS_SIMPLE,
    ICACLS_SPECIFIC,
    INHERIT_ONLY_ACE,
    NO_PROPAGATE_INHERIT_ACE,
    OBJECT_INHERIT_ACE,
    READ_CONTROL,
    WRITE_DAC,
    SecurityDescriptor,
    get_file_sd,
    inherit_file_sd,
    reset_file_sd,
    set_file_sd,
)

USAGE = """ICACLS name /save aclfile [/T] [/C] [/L] [/Q]
    stores the DACLs for the files and folders that match the name
    into aclfile for later use with /restore. SACLs, owner and
    integrity labels are not saved.

ICACLS directory /restore aclfile [/C] [/L] [/Q]
    applies the stored DACLs to files in directory.

ICACLS name /reset [/T] [/C] [/L] [/Q]
ICACLS name [/grant[:r] Sid:perm[...]]
       [/deny Sid:perm [...]]
       [/remove[:g|:d]] Sid[...]] [/T] [/C] [/L] [/Q]
ICACLS name /inheritance:e|d|r

    perm is a permission mask and can be specified in one of two forms:
        a sequence of simple rights:
                N - no access
                F - full access
                M - modify access
                RX - read and execute access
                R - read-only access
                W - write-only access
                D - delete access
        a comma-separated list in parentheses of specific rights:
                DE - delete
                RC - read control
                WDAC - write DAC
                WO - write owner
                S - synchronize
                AS - access system security
                MA - maximum allowed
                GR - generic read
                GW - generic write
                GE - generic execute
                GA - generic all
                RD - read data/list directory
                WD - write data/add file
                AD - append data/add subdirectory
                REA - read extended attributes
                WEA - write extended attributes
                X - execute/traverse
                DC - delete child
                RA - read attributes
                WA - write attributes
        inheritance rights may precede either form and are applied
        only to directories:
                (OI) - object inherit
                (CI) - container inherit
                (IO) - inherit only
                (NP) - don't propagate inherit
                (I) - permission inherited from parent container

    Sids may be in either numerical or friendly name form. If a numerical
    form is given, affix a * to the start of the SID.

    (simulated: paths are Windows paths of the WINPKI_MACHINE machine)
"""

_INHERIT_CODES = {"OI": OBJECT_INHERIT_ACE, "CI": CONTAINER_INHERIT_ACE,
                  "IO": INHERIT_ONLY_ACE, "NP": NO_PROPAGATE_INHERIT_ACE}
_SPECIFIC = dict(ICACLS_SPECIFIC)
_SIMPLE_ORDER = ("RX", "F", "M", "R", "W", "D", "N")


class BadParameter(Exception):
    """A command-line argument icacls rejects with ``Invalid parameter "..."``."""


@dataclass
class Op:
    kind: str  # grant | grant_r | deny | remove | remove_g | remove_d | reset | inherit
    account: str | None = None
    flags: int = 0
    mask: int = 0
    arg: str = ""


@dataclass
class Plan:
    ops: list[Op] = field(default_factory=list)
    recurse: bool = False
    quiet: bool = False
    continue_on_error: bool = False


def parse_perm(text: str) -> tuple[int, int]:
    """``(OI)(CI)F`` / ``(R,W)`` / ``RX`` -> (inheritance flags, access mask)."""
    rest = text.strip().upper()
    flags = mask = 0
    seen_rights = False
    while rest.startswith("("):
        end = rest.find(")")
        if end < 0:
            raise BadParameter(text)
        inner, rest = rest[1:end], rest[end + 1 :]
        if inner in _INHERIT_CODES:
            flags |= _INHERIT_CODES[inner]
            continue
        for name in inner.split(","):
            name = name.strip()
            if name in _SPECIFIC:
                mask |= _SPECIFIC[name]
            elif name in ICACLS_SIMPLE:
                mask |= ICACLS_SIMPLE[name]
            else:
                raise BadParameter(text)
        seen_rights = True
    while rest:
        for name in _SIMPLE_ORDER:
            if rest.startswith(name):
                mask |= ICACLS_SIMPLE[name]
                rest = rest[len(name) :]
                seen_rights = True
                break
        else:
            raise BadParameter(text)
    if not seen_rights:
        raise BadParameter(text)
    return flags, mask


def _split_grant(arg: str) -> tuple[str, str]:
    account, sep, perm = arg.rpartition(":")
    if not sep or not account or not perm:
        raise BadParameter(arg)
    return account, perm


def _is_switch(arg: str) -> bool:
    return len(arg) > 1 and arg[0] in "/-" and not arg.startswith("//")


def parse_args(args: list[str]) -> Plan:
    plan = Plan()
    i = 0
    while i < len(args):
        arg = args[i]
        low = arg.lower()
        if not _is_switch(arg):
            raise BadParameter(arg)
        name = low[1:]
        i += 1
        if name in ("grant", "grant:r", "deny"):
            kind = {"grant": "grant", "grant:r": "grant_r", "deny": "deny"}[name]
            start = i
            while i < len(args) and not _is_switch(args[i]):
                account, perm = _split_grant(args[i])
                try:
                    flags, mask = parse_perm(perm)
                except BadParameter:
                    raise BadParameter(args[i]) from None
                plan.ops.append(Op(kind, account, flags, mask, args[i]))
                i += 1
            if i == start:
                raise BadParameter(arg)
        elif name in ("remove", "remove:g", "remove:d"):
            kind = {"remove": "remove", "remove:g": "remove_g", "remove:d": "remove_d"}[name]
            start = i
            while i < len(args) and not _is_switch(args[i]):
                plan.ops.append(Op(kind, args[i], arg=args[i]))
                i += 1
            if i == start:
                raise BadParameter(arg)
        elif name == "reset":
            plan.ops.append(Op("reset"))
        elif name.startswith("inheritance:") and name[len("inheritance:"):] in ("e", "d", "r"):
            plan.ops.append(Op("inherit", arg=name[-1]))
        elif name == "t":
            plan.recurse = True
        elif name == "q":
            plan.quiet = True
        elif name == "c":
            plan.continue_on_error = True
        elif name == "l":
            pass  # symbolic links are not simulated; the link and its target coincide
        else:
            raise BadParameter(arg)
    return plan


def _targets(machine, path: str, recurse: bool) -> list[str]:
    norm = str(normalize_winpath(path))
    out = [path]
    host = machine.host_path(norm)
    if recurse and host.is_dir():
        base = norm.rstrip("\\")
        for root, dirs, files in os.walk(host):
            dirs.sort()
            rel = os.path.relpath(root, host)
            prefix = base if rel == "." else base + "\\" + rel.replace(os.sep, "\\")
            out += [f"{prefix}\\{name}" for name in sorted(dirs) + sorted(files)]
    return out


def _apply(machine, path: str, plan: Plan, token, sids: dict[str, Sid]) -> SecurityDescriptor:
    sd = get_file_sd(machine, path)
    sd.access_check(token, READ_CONTROL | WRITE_DAC)
    is_dir = machine.host_path(path).is_dir()
    for op in plan.ops:
        if op.kind == "reset":
            sd = reset_file_sd(machine, path)
            continue
        if op.kind == "inherit":
            if op.arg == "e":
                sd = inherit_file_sd(machine, path)
            else:
                sd = get_file_sd(machine, path).set_protected(True, keep_inherited=op.arg == "d")
                set_file_sd(machine, path, sd)
            continue
        sid = sids[op.account]
        # Inheritance rights apply only to directories.
        flags = op.flags if is_dir else 0
        if op.kind == "grant":
            sd.grant(sid, op.mask, flags)
        elif op.kind == "grant_r":
            sd.grant_replace(sid, op.mask, flags)
        elif op.kind == "deny":
            sd.deny(sid, op.mask, flags)
        elif op.kind == "remove":
            sd.remove(sid)
        elif op.kind == "remove_g":
            sd.remove(sid, kind="g")
        elif op.kind == "remove_d":
            sd.remove(sid, kind="d")
        set_file_sd(machine, path, sd)
    return sd


def _display(machine, path: str, token, out: TextIO) -> None:
    sd = get_file_sd(machine, path)
    sd.access_check(token, READ_CONTROL)
    lines = sd.icacls_lines(machine)
    pad = " " * (len(path) + 1)
    if not lines:
        out.write(f"{path} \n")
    for idx, line in enumerate(lines):
        out.write(f"{path} {line}\n" if idx == 0 else f"{pad}{line}\n")
    out.write("\n")


def _exit_code(exc: WinError) -> int:
    """icacls exits with the Win32 code of the failure (5 for access denied)."""
    if exc.winerror <= 0xFFFF:
        return exc.winerror
    return exc.hresult & 0xFFFF if (exc.hresult >> 16) & 0x1FFF == FACILITY_WIN32 else 1


def _summary(out: TextIO, ok: int, failed: int) -> None:
    out.write(f"Successfully processed {ok} files; Failed processing {failed} files\n")


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if not args or args[0] in ("/?", "-?", "/h", "-h"):
        out.write(USAGE)
        return 0 if args else ERROR_INVALID_PARAMETER
    path, rest = args[0], args[1:]
    if rest and rest[0].lower() in ("/save", "/restore"):
        from winpki.tools.icacls_save import run_save_restore

        return run_save_restore(path, rest, out, err, targets=_targets, summary=_summary,
                                exit_code=_exit_code)
    try:
        plan = parse_args(rest)
    except BadParameter as exc:
        err.write(f'Invalid parameter "{exc.args[0]}"\n')
        return ERROR_INVALID_PARAMETER
    try:
        machine = current_machine()
        token = current_token(machine)
    except WinError as exc:
        err.write(f"{exc.strerror}\n")
        return _exit_code(exc)
    # Accounts are resolved once, before any file is touched.
    sids: dict[str, Sid] = {}
    for op in plan.ops:
        if op.account is not None and op.account not in sids:
            try:
                sids[op.account] = sid_for_account(machine, op.account)
            except WinError:
                err.write(f"{op.account}: {message(ERROR_NONE_MAPPED)}\n")
                _summary(out, 0, 1)
                return ERROR_NONE_MAPPED
    ok = failed = 0
    status = 0
    try:
        targets = _targets(machine, path, plan.recurse)
    except WinError as exc:
        err.write(f"{path}: {exc.strerror}\n")
        _summary(out, 0, 1)
        return _exit_code(exc)
    for target in targets:
        try:
            if plan.ops:
                # One transaction per file: an operation that fails leaves the file's ACL
                # as it was, whatever came before it on the command line.
                with machine.transaction():
                    _apply(machine, target, plan, token, sids)
                if not plan.quiet:
                    out.write(f"processed file: {target}\n")
            else:
                _display(machine, target, token, out)
            ok += 1
        except WinError as exc:
            err.write(f"{target}: {exc.strerror}\n")
            failed += 1
            status = status or _exit_code(exc)
            if not plan.continue_on_error:
                break
    if not (plan.quiet and not failed):
        _summary(out, ok, failed)
    return status

"""``icacls name /save aclfile [/T] [/C] [/Q]`` and ``icacls directory /restore aclfile
[/C] [/Q]``, as icacls.exe does them.

The ACL file is UTF-16LE text: for each file or folder, its name on one line and its DACL
as SDDL (``D:AI(A;...)...``) on the next. The name is relative: the last component of
``name`` (and, with /T, the paths below it), so /restore takes the directory that holds
it. Only DACLs are saved: not SACLs, owners or integrity labels (icacls /? text; Microsoft
docs "icacls"). Saving needs READ_CONTROL on each file, restoring WRITE_DAC.
"""

from __future__ import annotations

from typing import TextIO

from capi.constants import DACL_SECURITY_INFORMATION
from capi.errors import ERROR_FILE_NOT_FOUND, ERROR_INVALID_DATA, WinError
from capi.host.paths import normalize_winpath
from capi.host.security import (
    READ_CONTROL,
    SE_DACL_AUTO_INHERIT_REQ,
    SE_DACL_AUTO_INHERITED,
    SE_DACL_PRESENT,
    SE_DACL_PROTECTED,
    WRITE_DAC,
    SecurityDescriptor,
    get_file_sd,
    set_file_sd,
)
from winpki.tools.common import read_input_file

__all__ = ["read_acl_file", "restore", "save"]

_DACL_CONTROL = SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ


def _relative_names(path: str, targets: list[str]) -> list[str]:
    norm = str(normalize_winpath(path)).rstrip("\\")
    head, _, last = norm.rpartition("\\")
    if not last or last.endswith(":"):  # a drive root: the names are below it
        return [t[len(norm) + 1:] or t for t in targets]
    cut = len(head) + 1 if head else 0
    names = []
    for t in targets:
        tn = str(normalize_winpath(t)) if t == path else t
        names.append(tn[cut:] if tn.lower().startswith(norm.lower()) else tn)
    return names


def _each_file(items, act, *, quiet: bool, continue_on_error: bool, out: TextIO,
               err: TextIO) -> tuple[int, int, int]:
    """icacls's per-file loop over (target, data) pairs: ``act(target, data)``; a WinError
    is reported against the target and stops the loop unless /C. (ok, failed, first
    error code)."""
    ok = failed = status = 0
    for target, data in items:
        try:
            act(target, data)
        except WinError as exc:
            err.write(f"{target}: {exc.strerror}\n")
            failed += 1
            status = status or exc.winerror
            if not continue_on_error:
                break
            continue
        if not quiet:
            out.write(f"processed file: {target}\n")
        ok += 1
    return ok, failed, status


def save(machine, token, path: str, aclfile: str, targets: list[str], *, quiet: bool,
         continue_on_error: bool, out: TextIO, err: TextIO) -> tuple[int, int, int]:
    """Write the DACLs of ``targets`` to ``aclfile``: (ok, failed, first error code)."""
    lines: list[str] = []

    def read(target: str, name: str) -> None:
        sd = get_file_sd(machine, target)
        sd.access_check(token, READ_CONTROL)
        lines.extend([name, sd.to_sddl(DACL_SECURITY_INFORMATION)])

    ok, failed, status = _each_file(zip(targets, _relative_names(path, targets), strict=True),
                                    read, quiet=quiet, continue_on_error=continue_on_error,
                                    out=out, err=err)
    if ok:
        with open(aclfile, "wb") as fh:
            fh.write("".join(x + "\r\n" for x in lines).encode("utf-16-le"))
    return ok, failed, status


def read_acl_file(aclfile: str) -> list[tuple[str, str]]:
    """(relative name, SDDL) pairs from an ACL file /save wrote."""
    try:
        data = read_input_file(aclfile)
    except FileNotFoundError:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=aclfile) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{aclfile}: {exc}") from None
    if data.startswith(b"\xff\xfe"):
        data = data[2:]
    try:
        text = data.decode("utf-16-le")
    except UnicodeDecodeError:
        raise WinError(ERROR_INVALID_DATA, detail=aclfile) from None
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if len(lines) % 2:
        raise WinError(ERROR_INVALID_DATA, detail=aclfile)
    return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]


def restore(machine, token, directory: str, entries: list[tuple[str, str]], *, quiet: bool,
            continue_on_error: bool, out: TextIO, err: TextIO) -> tuple[int, int, int]:
    """Apply saved DACLs to the files named relative to ``directory``."""
    base = str(normalize_winpath(directory)).rstrip("\\")

    def write(target: str, sddl: str) -> None:
        current = get_file_sd(machine, target)
        current.access_check(token, WRITE_DAC)
        saved = SecurityDescriptor.from_sddl(sddl, machine)
        new = current.copy()
        new.dacl = saved.dacl
        new.control = (current.control & ~_DACL_CONTROL) | (saved.control & _DACL_CONTROL)
        set_file_sd(machine, target, new)

    return _each_file(((f"{base}\\{name}", sddl) for name, sddl in entries), write,
                      quiet=quiet, continue_on_error=continue_on_error, out=out, err=err)


def run_save_restore(path: str, rest: list[str], out: TextIO, err: TextIO, *,
                     targets, summary, exit_code) -> int:
    """``icacls`` with /save or /restore (the rest of its command line after ``path``);
    icacls passes its own ``targets`` (the /T walk), ``summary`` and ``exit_code``."""
    from capi.errors import ERROR_INVALID_PARAMETER
    from capi.host.context import current_machine, current_token

    _targets, _summary, _exit_code = targets, summary, exit_code

    verb, aclfile = rest[0].lower(), None
    recurse = quiet = cont = False
    i = 1
    if i < len(rest) and rest[i].lower() not in ("/t", "/c", "/l", "/q"):
        aclfile = rest[i]
        i += 1
    for arg in rest[i:]:
        flag = arg.lower()
        if flag == "/t" and verb == "/save":
            recurse = True
        elif flag == "/q":
            quiet = True
        elif flag == "/c":
            cont = True
        elif flag == "/l":
            pass
        else:
            err.write(f'Invalid parameter "{arg}"\n')
            return ERROR_INVALID_PARAMETER
    if aclfile is None:
        err.write(f'Invalid parameter "{rest[0]}"\n')
        return ERROR_INVALID_PARAMETER
    try:
        machine = current_machine()
        token = current_token(machine)
        if verb == "/save":
            targets = _targets(machine, path, recurse)
            ok, failed, status = save(machine, token, path, aclfile, targets, quiet=quiet,
                                      continue_on_error=cont, out=out, err=err)
        else:
            entries = read_acl_file(aclfile)
            get_file_sd(machine, path)  # the directory must exist
            ok, failed, status = restore(machine, token, path, entries, quiet=quiet,
                                         continue_on_error=cont, out=out, err=err)
    except WinError as exc:
        shown = aclfile if exc.winerror == ERROR_FILE_NOT_FOUND and verb == "/restore" \
            and exc.detail and aclfile in str(exc.detail) else path
        err.write(f"{shown}: {exc.strerror}\n")
        _summary(out, 0, 1)
        return _exit_code(exc)
    except (OSError, ValueError) as exc:  # the ACL file cannot be written there (or a NUL)
        from winpki.tools.common import describe_failure

        hr, text = describe_failure(exc)
        err.write(f"{aclfile}: {text}\n")
        _summary(out, 0, 1)
        return hr & 0xFFFF
    if not (quiet and not failed):
        _summary(out, ok, failed)
    return status

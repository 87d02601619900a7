r"""``winpki reg``: the machine registry in reg.exe's syntax ("reg", Windows Commands
reference, Microsoft docs).

    reg query  <KeyName> [/v ValueName | /ve] [/s]
    reg add    <KeyName> [/v ValueName | /ve] [/t Type] [/s Separator] [/d Data] [/f]
    reg delete <KeyName> [/v ValueName | /ve | /va] [/f]

KeyName starts with a hive, full or abbreviated: HKLM, HKCU, HKCR, HKU, HKCC. Output is
reg.exe's: a blank line, the key, its values indented four spaces as ``Name    TYPE
Data`` (REG_DWORD as ``0x1``, REG_BINARY as upper-case hex, REG_MULTI_SZ joined with
``\0``), then the full names of its subkeys; a change prints "The operation completed
successfully."; failures go to stderr as ``ERROR: …`` with exit code 1. Without /f, reg
asks before overwriting or deleting and reads the answer from standard input.
"""

from __future__ import annotations

import sys
from typing import TextIO

from capi.errors import ERROR_ACCESS_DENIED, ERROR_BADKEY, ERROR_FILE_NOT_FOUND, WinError
from capi.host import registry as R
from capi.host.context import current_machine, current_token

SUCCESS = "The operation completed successfully."
NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value."
ACCESS_DENIED = "ERROR: Access is denied."
CANCELED = "The operation was canceled by the user."

USAGE = """
REG Operation [Parameter List]

  Operation  [ QUERY   | ADD     | DELETE ]

Return Code: (Except for REG COMPARE)

  0 - Successful
  1 - Failed

For help on a specific operation type:

  REG Operation /?

Examples:

  REG QUERY /?
  REG ADD /?
  REG DELETE /?
"""

_OPS = ("query", "add", "delete")


class _Syntax(Exception):
    def __init__(self, op: str, text: str = "Invalid syntax."):
        super().__init__(text)
        self.op, self.text = op, text


def _parse(op: str, args: list[str]) -> tuple[str, dict[str, str | bool]]:
    if not args:
        raise _Syntax(op)
    key, rest = args[0], args[1:]
    if key[:1] in "/-" and len(key) > 1:
        raise _Syntax(op)
    opts: dict[str, str | bool] = {}
    takes_arg = {"v", "t", "d", "s"} if op == "add" else {"v", "t"}
    flags = {"query": {"ve", "s"}, "add": {"ve", "f"}, "delete": {"ve", "va", "f"}}[op]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a[:1] not in "/-" or len(a) < 2:
            raise _Syntax(op)
        name = a[1:].lower()
        if name in opts:
            raise _Syntax(op)
        if name in takes_arg:
            if i + 1 >= len(rest):
                raise _Syntax(op)
            opts[name] = rest[i + 1]
            i += 2
            continue
        if name in flags:
            opts[name] = True
            i += 1
            continue
        raise _Syntax(op)
    if sum(1 for k in ("v", "ve", "va") if k in opts) > 1:
        raise _Syntax(op)
    return key, opts


def _display(typed: str, stored: str, token) -> str:
    """The key as reg prints it: the hive the user typed, spelled out, then the stored
    names (their case as created)."""
    root, _ = R.split_root(typed)
    base = R.full_path(root, token)
    tail = stored[len(base):]
    return root + tail


def format_data(value_type: int, data: bytes) -> str:
    value = R.decode_value(value_type, data)
    if value_type in (R.REG_DWORD, R.REG_DWORD_BIG_ENDIAN, R.REG_QWORD) and isinstance(value, int):
        return f"0x{value:x}"
    if value_type == R.REG_MULTI_SZ:
        return "\\0".join(value)
    if isinstance(value, str):
        return value
    return bytes(value).hex().upper()


def _value_line(name: str, value_type: int, data: bytes) -> str:
    type_name = R.REG_TYPE_NAMES.get(value_type, f"REG_UNKNOWN({value_type})")
    return f"    {name or '(Default)'}    {type_name}    {format_data(value_type, data)}\n"


def _confirm(prompt: str, out: TextIO) -> bool:
    out.write(prompt)
    out.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError, AttributeError):  # no stdin, or a closed one: "no"
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _query(machine, token, typed: str, opts, out: TextIO) -> int:
    # Layout as Wine's conformance tests for reg.exe record it (programs/reg/tests/query.c
    # test_query: a leading blank line; a key's header, values and a blank line only when
    # it has values; subkey names one a line; with /s every subkey has its header and a
    # blank line).
    key = R.open_key(machine, typed, token, R.KEY_QUERY_VALUE | R.KEY_ENUMERATE_SUB_KEYS)
    shown = _display(typed, key.path, token)
    if ("v" in opts or "ve" in opts) and opts.get("s"):
        name = "" if "ve" in opts else str(opts["v"])
        out.write("\n")
        found = _search_value(machine, token, key, shown, name, out)
        out.write(f"End of search: {found} match(es) found.\n")
        return 0
    if "v" in opts or "ve" in opts:
        name = "" if "ve" in opts else str(opts["v"])
        hit = _find_value(key, name)
        if hit is None and name:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"value {name!r}")
        out.write(f"\n{shown}\n")
        if hit is None:
            out.write("    (Default)    REG_SZ    (value not set)\n")
        else:
            out.write(_value_line(*hit))
        out.write("\n")
        return 0
    out.write("\n")
    _query_key(machine, token, key, shown, bool(opts.get("s")), False, out)
    return 0


def _find_value(key, name: str):
    return next((row for row in key.enum_values_raw() if row[0].upper() == name.upper()), None)


def _children(machine, token, key):
    for sub in key.enum_keys():
        try:
            yield sub, R.open_key(machine, key.subkey_path(sub), token,
                                  R.KEY_QUERY_VALUE | R.KEY_ENUMERATE_SUB_KEYS)
        except WinError as exc:
            if exc.winerror != ERROR_ACCESS_DENIED:
                raise


def _query_key(machine, token, key, shown: str, recurse: bool, recursing: bool, out: TextIO) -> None:
    values = key.enum_values_raw()
    if values or recursing:
        out.write(f"{shown}\n")
        for row in values:
            out.write(_value_line(*row))
        out.write("\n")
    if not recurse:
        for sub in key.enum_keys():
            out.write(f"{shown}\\{sub}\n")
        return
    for sub, child in _children(machine, token, key):
        _query_key(machine, token, child, f"{shown}\\{sub}", True, True, out)


def _search_value(machine, token, key, shown: str, name: str, out: TextIO) -> int:
    found = 0
    hit = _find_value(key, name)
    if hit is not None:
        out.write(f"{shown}\n{_value_line(*hit)}\n")
        found += 1
    for sub, child in _children(machine, token, key):
        found += _search_value(machine, token, child, f"{shown}\\{sub}", name, out)
    return found


def _add_data(opts) -> tuple[int, bytes]:
    type_name = str(opts.get("t", "REG_SZ")).upper()
    value_type = R.REG_TYPES.get(type_name)
    if value_type is None or value_type == R.REG_LINK:
        raise _Syntax("add")
    text = str(opts.get("d", ""))
    if value_type in (R.REG_DWORD, R.REG_DWORD_BIG_ENDIAN, R.REG_QWORD):
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text or "0", 10)
        except ValueError:
            raise _Syntax("add") from None
        limit = 0xFFFFFFFFFFFFFFFF if value_type == R.REG_QWORD else 0xFFFFFFFF
        if not 0 <= number <= limit:
            raise _Syntax("add")
        return value_type, R.encode_value(value_type, number)
    if value_type in (R.REG_BINARY, R.REG_NONE):
        try:
            return value_type, bytes.fromhex(text) if len(text) % 2 == 0 else bytes.fromhex("0" + text)
        except ValueError:
            raise _Syntax("add") from None
    if value_type == R.REG_MULTI_SZ:
        sep = str(opts.get("s", "\\0"))
        if not sep:
            raise _Syntax("add")
        return value_type, R.encode_value(value_type, [p for p in text.split(sep) if p])
    return value_type, R.encode_value(value_type, text)


def _add(machine, token, typed: str, opts, out: TextIO) -> int:
    if "s" in opts and str(opts.get("t", "")).upper() != "REG_MULTI_SZ":
        raise _Syntax("add")
    value_type, data = _add_data(opts)
    has_value = "v" in opts or "ve" in opts
    key, disposition = R.create_key(machine, typed, token,
                                    R.KEY_SET_VALUE | R.KEY_QUERY_VALUE if has_value else R.KEY_QUERY_VALUE)
    if has_value:
        name = "" if "ve" in opts else str(opts["v"])
        exists = any(n.upper() == name.upper() for n, _, _ in key.enum_values_raw())
        if exists and not opts.get("f"):
            if not _confirm(f"Value {name or '(Default)'} exists, overwrite(Yes/No)? ", out):
                out.write(f"{CANCELED}\n")
                return 0
        key.set_value_raw(name, value_type, data)
    out.write(f"{SUCCESS}\n")
    return 0


def _delete(machine, token, typed: str, opts, out: TextIO) -> int:
    key = R.open_key(machine, typed, token, R.KEY_QUERY_VALUE)
    shown = _display(typed, key.path, token)
    if "v" in opts or "ve" in opts:
        name = "" if "ve" in opts else str(opts["v"])
        key = R.open_key(machine, typed, token, R.KEY_SET_VALUE | R.KEY_QUERY_VALUE)
        if not any(n.upper() == name.upper() for n, _, _ in key.enum_values_raw()):
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"value {name!r}")
        if not opts.get("f") and not _confirm(
                f"Delete the registry value {name or '(Default)'} (Yes/No)? ", out):
            out.write(f"{CANCELED}\n")
            return 0
        key.delete_value(name)
    elif "va" in opts:
        key = R.open_key(machine, typed, token, R.KEY_SET_VALUE | R.KEY_QUERY_VALUE)
        if not opts.get("f") and not _confirm(
                f"Delete all values under the registry key {shown} (Yes/No)? ", out):
            out.write(f"{CANCELED}\n")
            return 0
        for name, _, _ in key.enum_values_raw():
            key.delete_value(name)
    else:
        if not opts.get("f") and not _confirm(
                f"Permanently delete the registry key {shown} (Yes/No)? ", out):
            out.write(f"{CANCELED}\n")
            return 0
        R.delete_key(machine, typed, token, tree=True)
    out.write(f"{SUCCESS}\n")
    return 0


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if not args or args[0] in ("/?", "-?", "/h", "-h"):
        out.write(USAGE)
        return 0 if args else 1
    op = args[0].lower()
    if op not in _OPS:
        err.write("ERROR: Invalid syntax.\nType \"REG /?\" for usage.\n")
        return 1
    if len(args) > 1 and args[1] in ("/?", "-?"):
        out.write(f"\nREG {op.upper()} <KeyName> ...\n")
        return 0
    machine = current_machine()
    try:
        typed, opts = _parse(op, args[1:])
        try:
            R.split_root(typed)
        except WinError:
            raise _Syntax(op, "Invalid key name.") from None
        token = current_token(machine)
        return {"query": _query, "add": _add, "delete": _delete}[op](machine, token, typed, opts, out)
    except _Syntax as exc:
        err.write(f"ERROR: {exc.text}\nType \"REG {exc.op.upper()} /?\" for usage.\n")
        return 1
    except WinError as exc:
        if exc.winerror == ERROR_FILE_NOT_FOUND:
            err.write(NOT_FOUND + "\n")
        elif exc.winerror == ERROR_ACCESS_DENIED:
            err.write(ACCESS_DENIED + "\n")
        elif exc.winerror == ERROR_BADKEY:
            err.write(f"ERROR: Invalid key name.\nType \"REG {op.upper()} /?\" for usage.\n")
        else:
            err.write(f"ERROR: {exc.strerror}\n")
        return 1


__all__ = ["run", "format_data"]

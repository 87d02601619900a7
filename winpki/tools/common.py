"""Shared pieces of the Windows tools: argument conventions and failure shapes."""

from __future__ import annotations

import errno
import re

from capi.errors import WIN32, WinError, lookup, symbolic_name, to_signed


class Usage(Exception):
    """Bad command-line usage: the tool prints its usage text and exits non-zero."""


def is_option(arg: str) -> bool:
    """Windows tools take options with '-' or '/'."""
    return len(arg) > 1 and arg[0] in "-/" and not _looks_like_path(arg)


def _looks_like_path(arg: str) -> bool:
    # "/tmp/x.cer" is a path, "/v" an option.
    return arg.startswith("/") and "/" in arg[1:]


def option_name(arg: str) -> str:
    """'-Store', '/store' -> 'store' (options are case-insensitive)."""
    return arg[1:].lower()


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def normalize_hash(text: str) -> str | None:
    """A thumbprint typed any way Windows accepts it -> upper-case hex, or None.

    Accepts spaces, colons and the invisible U+200E mark users paste from the
    certificate dialog.
    """
    cleaned = re.sub(r"[\s:\u200e\u200f]", "", text or "")
    if cleaned and _HEX.match(cleaned) and len(cleaned) % 2 == 0:
        return cleaned.upper()
    return None


def hresult_line(code: int) -> str:
    """'0x80090011 (-2146893807 NTE_NOT_FOUND)' as certutil prints it."""
    _, hr, _ = lookup(code)
    name = symbolic_name(code)
    win32 = hr & 0xFFFF if hr & 0xFFFF0000 == 0x80070000 else None
    if win32 is not None:
        # certutil names Win32 failures by their Win32 name (ERROR_ACCESS_DENIED), even
        # when they were raised as E_ACCESSDENIED.
        entry = WIN32.get(win32)
        return f"0x{hr:x} (WIN32: {win32} {entry.name if entry else name})"
    return f"0x{hr:x} ({to_signed(hr)} {name})"


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """(HRESULT, message) for any exception reaching a tool's top level."""
    if isinstance(exc, WinError):
        return exc.hresult, exc.strerror
    if isinstance(exc, FileNotFoundError):
        # A missing folder is ERROR_PATH_NOT_FOUND; a missing file ERROR_FILE_NOT_FOUND.
        import os

        missing_folder = bool(exc.filename) and not os.path.isdir(
            os.path.dirname(os.path.abspath(str(exc.filename))))
        e = WinError(3 if missing_folder else 2)
        return e.hresult, e.strerror
    if isinstance(exc, (PermissionError, IsADirectoryError)):
        # CreateFile on a directory (without FILE_FLAG_BACKUP_SEMANTICS) is access denied.
        e = WinError(5)
        return e.hresult, e.strerror
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        e = WinError(206)  # ERROR_FILENAME_EXCED_RANGE
        return e.hresult, e.strerror
    if isinstance(exc, RecursionError):  # input nested too deep to walk
        e = WinError(1001)  # ERROR_STACK_OVERFLOW
        return e.hresult, e.strerror
    if isinstance(exc, ValueError) and "embedded null" in str(exc):
        e = WinError(123)  # ERROR_INVALID_NAME: a NUL in a path
        return e.hresult, e.strerror
    if isinstance(exc, (ValueError, TypeError)):
        e = WinError(87)
        return e.hresult, e.strerror
    e = WinError(0x80004005)
    return e.hresult, f"{e.strerror}: {exc}"


def read_password(prompt: str, out) -> str:
    """Ask for a password as the Windows tool does ("Enter PFX password:"): from the
    terminal without echo when stdin is one, else one line of stdin (scripts pipe it)."""
    import getpass
    import sys

    stdin = sys.stdin
    try:
        interactive = stdin is not None and stdin.isatty()
    except ValueError:  # a closed stdin
        interactive, stdin = False, None
    if interactive:
        return getpass.getpass(prompt + " ")
    out.write(prompt + "\n")
    try:
        line = stdin.readline() if stdin is not None else ""
    except (OSError, ValueError):  # no usable stdin: an empty password, as an empty line gives
        line = ""
    return line.rstrip("\r\n")


def check_input_file(path: str) -> None:
    """Raise what CreateFile gives for a file a tool was asked to read, unless ``path`` is a
    regular file: a directory is ERROR_ACCESS_DENIED (STATUS_FILE_IS_A_DIRECTORY maps to
    it), a missing folder ERROR_PATH_NOT_FOUND, a missing file, a device or a FIFO
    ERROR_FILE_NOT_FOUND, a NUL in the name ERROR_INVALID_NAME; the WinError names the
    path."""
    import os

    if os.path.isfile(path):
        return
    try:
        read_input_file(path)
    except (OSError, ValueError) as exc:
        raise WinError(describe_failure(exc)[0], detail=path) from None


def read_input_file(path: str) -> bytes:
    """The bytes of a file a tool was given to read. Only a regular file is read: a
    directory fails as CreateFile fails on one (ERROR_ACCESS_DENIED), and a device or a
    FIFO (/dev/zero would be read forever) as a missing file (ERROR_FILE_NOT_FOUND).
    Raises OSError (or ValueError for a NUL in the name); windows_file_error words it."""
    import os

    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not os.path.isfile(path):
        if "\0" in path:
            raise ValueError("embedded null character in path")
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    with open(path, "rb") as fh:
        return fh.read()


def windows_file_error(exc: OSError | ValueError, path: str) -> str:
    """An OSError opening ``path`` in Windows' words, naming the file:
    'The system cannot find the file specified. (C:\\certs\\site.pfx)'."""
    _, text = describe_failure(exc)
    return f"{text} ({path})"


def base64_any(data: bytes) -> bytes | None:
    """``data`` read as base64 with or without -----BEGIN/END----- lines
    (CryptStringToBinary, CRYPT_STRING_BASE64_ANY), or None when it is not."""
    from capi import constants as C
    from capi.crypt32.base64 import CryptStringToBinary

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    try:
        decoded, _skip, _fmt = CryptStringToBinary(text, C.CRYPT_STRING_BASE64_ANY)
    except WinError:
        return None
    return decoded

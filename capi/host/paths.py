"""Windows paths of the simulated machine: validation (drive-rooted, no forbidden
characters, no escape above the drive) and the case-folded key under which a path's
state is stored."""

from __future__ import annotations

import re
from pathlib import PureWindowsPath

from capi.errors import ERROR_INVALID_NAME, ERROR_PATH_NOT_FOUND, WinError

_DRIVE_RE = re.compile(r"^([A-Za-z]):$")


_BAD_CHARS = set('<>:"|?*') | {chr(c) for c in range(32)}


def normalize_winpath(winpath: str) -> PureWindowsPath:
    """Normalize an absolute Windows path ('C:\\a\\..\\b' -> 'C:\\b'); reject others.

    Raises ERROR_INVALID_NAME for relative paths, UNC paths, illegal characters, and
    ERROR_PATH_NOT_FOUND for a '..' that would climb above the drive root.
    """
    if not isinstance(winpath, str) or not winpath or "\x00" in winpath:
        raise WinError(ERROR_INVALID_NAME, detail=repr(winpath))
    p = PureWindowsPath(winpath)
    if not p.drive or not _DRIVE_RE.match(p.drive) or not p.root:
        raise WinError(ERROR_INVALID_NAME, detail=winpath)
    parts: list[str] = []
    for part in p.parts[1:]:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise WinError(ERROR_PATH_NOT_FOUND, detail=winpath)
            parts.pop()
            continue
        if set(part) & _BAD_CHARS or part.endswith((" ", ".")):
            raise WinError(ERROR_INVALID_NAME, detail=winpath)
        parts.append(part)
    return PureWindowsPath(p.drive.upper() + "\\", *parts)


def path_key(winpath: str | PureWindowsPath) -> str:
    """The case-insensitive key of a Windows path, as stored in ``path_sd``."""
    return str(normalize_winpath(str(winpath))).lower()

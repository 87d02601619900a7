"""CryptProtectData / CryptUnprotectData (crypt32's DPAPI functions) over the host's
DPAPI stand-in (``capi.host.dpapi``), for the current user or the machine."""

from __future__ import annotations

from typing import Any

from capi.constants import (
    CRYPTPROTECT_AUDIT,
    CRYPTPROTECT_LOCAL_MACHINE,
    CRYPTPROTECT_UI_FORBIDDEN,
    CRYPTPROTECT_VERIFY_PROTECTION,
)
from capi.errors import ERROR_INVALID_PARAMETER, NTE_BAD_FLAGS, WinError, win32_failure
from capi.host.context import current_machine, current_token
from capi.host.dpapi import protect, unprotect

_VALID_FLAGS = (
    CRYPTPROTECT_UI_FORBIDDEN | CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_AUDIT
    | CRYPTPROTECT_VERIFY_PROTECTION
)


def _blob_arg(value, name: str) -> bytes:
    if value is None or not isinstance(value, (bytes, bytearray, memoryview)):
        raise win32_failure(ERROR_INVALID_PARAMETER, detail=f"{name} must be bytes")
    return bytes(value)


def _caller():
    machine = current_machine()
    return machine, current_token(machine)


def _checked_args(pDataIn, pOptionalEntropy, dwFlags) -> tuple[bytes, bytes | None, int]:
    """(data, entropy, flags) after the checks both functions make first: NULL data
    ERROR_INVALID_PARAMETER, unknown flags NTE_BAD_FLAGS."""
    data = _blob_arg(pDataIn, "pDataIn")
    flags = int(dwFlags) & 0xFFFFFFFF
    if flags & ~_VALID_FLAGS:
        raise win32_failure(NTE_BAD_FLAGS)
    entropy = None if pOptionalEntropy is None else _blob_arg(pOptionalEntropy, "pOptionalEntropy")
    return data, entropy, flags


def CryptProtectData(pDataIn: bytes, szDataDescr: str | None = None,
                     pOptionalEntropy: bytes | None = None, pvReserved: Any = None,
                     pPromptStruct: Any = None, dwFlags: int = 0) -> bytes:
    """CryptProtectData: encrypt for the current user (or the machine with
    CRYPTPROTECT_LOCAL_MACHINE). ERROR_INVALID_PARAMETER for NULL data, NTE_BAD_FLAGS for
    unknown flags."""
    data, entropy, flags = _checked_args(pDataIn, pOptionalEntropy, dwFlags)
    machine, token = _caller()
    sid = None if flags & CRYPTPROTECT_LOCAL_MACHINE else str(token.user)
    try:
        return protect(machine, data, user_sid=sid, description=szDataDescr or "",
                       entropy=entropy, flags=flags & CRYPTPROTECT_LOCAL_MACHINE)
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None


def CryptUnprotectData(pDataIn: bytes, pOptionalEntropy: bytes | None = None,
                       pvReserved: Any = None, pPromptStruct: Any = None,
                       dwFlags: int = 0) -> tuple[bytes, str]:
    """CryptUnprotectData -> (data, description). ERROR_INVALID_PARAMETER for NULL input,
    ERROR_INVALID_DATA for a wrong entropy or a damaged blob, NTE_BAD_KEY_STATE for a
    blob protected by another user."""
    blob, entropy, flags = _checked_args(pDataIn, pOptionalEntropy, dwFlags)
    machine, token = _caller()
    try:
        return unprotect(machine, blob, user_sid=str(token.user), entropy=entropy)
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None


__all__ = [
    "CryptProtectData", "CryptUnprotectData",
]

"""How bcrypt.dll fails: an NTSTATUS (or, for a few blob errors, an NTE_* code) raised as
WinError with ``.status`` equal to the value the C function returns. BCrypt functions
do not set the thread's last error, so neither does this package."""

from __future__ import annotations

from capi.errors import WinError


def fail(code: int, detail: str | None = None) -> WinError:
    exc = WinError(code, None, detail)
    exc.status = exc.hresult
    return exc


def as_bytes(value, name: str = "buffer") -> bytes:
    """A (pb, cb) input: bytes-like or None (NULL) -> bytes-like; anything else is
    STATUS_INVALID_PARAMETER."""
    from capi.errors import STATUS_INVALID_PARAMETER

    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise fail(STATUS_INVALID_PARAMETER, f"{name} must be bytes")


def u32(value) -> int:
    """Flags: an int, masked to 32 bits (negative C#/pywin32 values accepted)."""
    from capi.errors import STATUS_INVALID_PARAMETER

    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(STATUS_INVALID_PARAMETER, "flags must be an int")
    return value & 0xFFFFFFFF

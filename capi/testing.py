"""Helpers for tests that assert Windows behaviour (used by winpki's suite and users')."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from capi.errors import GetLastError, WinError, lookup, symbolic_name


class _Caught:
    exc: WinError | None = None


@contextlib.contextmanager
def raises_hresult(code: int) -> Iterator[_Caught]:
    """Assert the block raises a WinError whose HRESULT (or Win32 code) is ``code``.

    ``code`` may be an HRESULT (NTE_BAD_KEYSET) or a Win32 code (ERROR_FILE_NOT_FOUND);
    both forms of a Win32 failure match.
    """
    caught = _Caught()
    expected = lookup(code)[1]
    try:
        yield caught
    except WinError as exc:
        caught.exc = exc
        if exc.hresult != expected:
            raise AssertionError(
                f"expected {symbolic_name(code)} (0x{expected:08X}), got {exc.name} "
                f"(0x{exc.hresult:08X}): {exc}"
            ) from exc
    else:
        raise AssertionError(f"expected {symbolic_name(code)} (0x{expected:08X}); nothing raised")


def last_error_is(code: int) -> bool:
    return GetLastError() == lookup(code)[2]

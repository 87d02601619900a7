"""The package's version: ``__version__`` from the installed distribution's metadata,
else the constant below (a source tree that was never installed)."""

from __future__ import annotations

__all__ = ["__version__"]

_FALLBACK = "0.1.0"


def _read() -> str:
    from importlib import metadata

    try:
        return metadata.version("winpki")
    except metadata.PackageNotFoundError:
        return _FALLBACK


__version__ = _read()

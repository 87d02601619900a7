"""Lazy re-exports for the facade packages, so that ``import capi.errors`` or one tool
loads only what it uses while ``from capi import *`` and ``capi.CertOpenStore`` still see
everything (PEP 562: a module ``__getattr__`` answers names, and ``__all__`` itself, on
first use)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


def lazy_exports(package: str, modules: Iterable[str],
                 names: dict[str, str] | None = None) -> tuple[Callable, Callable]:
    """(``__getattr__``, ``__dir__``) for ``package``: every name in the ``__all__`` of
    each module in ``modules`` (dotted, absolute), plus ``names`` (name -> module),
    imported when first asked for. ``__all__`` is their union, in that order."""
    modules = tuple(modules)
    extra = dict(names or {})
    index: dict[str, str] = {}
    exported: list[str] = []

    def build() -> dict[str, str]:
        # Filled only once every module answered: a lookup made while one of them is
        # still being imported (its __all__ not yet defined) fails and leaves no partial
        # index behind, so the next lookup builds the whole one.
        if not index:
            found: dict[str, str] = {}
            for mod in modules:
                for name in importlib.import_module(mod).__all__:
                    found.setdefault(name, mod)
            for name, mod in extra.items():
                found.setdefault(name, mod)
            index.update(found)
            exported.extend(found)
        return index

    def __getattr__(name: str):
        if name == "__all__":
            build()
            value = list(exported)
        else:
            mod = extra.get(name) or build().get(name)
            if mod is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(mod), name)
        module = importlib.import_module(package)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(build()) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__

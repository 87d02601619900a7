"""The package ships ``py.typed``: every function the ``capi`` facade exports (``dir(capi)``,
the lazily re-exported DLL modules, schannel.httpapi and schannel.secur32 included) has
annotations on all its parameters and on its return, and those annotations resolve."""

from __future__ import annotations

import inspect
import typing

import capi


def _facade_functions():
    for name in dir(capi):
        if name.startswith("_"):
            continue
        obj = getattr(capi, name)
        if inspect.isfunction(obj):
            yield name, obj


def _missing(func) -> list[str]:
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_facade_exports_functions():
    # The check below must have something to check: the facade's Win32 functions.
    names = dict(_facade_functions())
    assert len(names) > 200
    for name in ("CertOpenStore", "CryptAcquireContext", "BCryptEncrypt", "NCryptOpenKey",
                 "AcquireCredentialsHandle", "HttpSetServiceConfiguration"):
        assert name in names


def test_every_facade_function_is_fully_annotated():
    gaps = {f"{func.__module__}.{name}": missing
            for name, func in _facade_functions() if (missing := _missing(func))}
    assert not gaps, f"functions exported by capi without full annotations: {gaps}"


def test_the_check_sees_a_missing_annotation():
    def partly(a: int, b, *args, **kwargs) -> None:
        pass

    def no_return(a: int):
        pass

    assert _missing(partly) == ["b"]
    assert _missing(no_return) == ["return"]


def test_facade_annotations_resolve():
    # Every name an annotation uses exists (TYPE_CHECKING imports included): a typo or a
    # missing import would leave a checker with an unknown type.
    unresolved = {}
    for name, func in _facade_functions():
        target = inspect.unwrap(func)
        module = inspect.getmodule(target)
        ns = dict(vars(module))
        # Names imported only under TYPE_CHECKING: evaluate with the checker's view.
        src = inspect.getsource(module)
        if "TYPE_CHECKING" in src:
            ns.update(_type_checking_names(module))
        try:
            typing.get_type_hints(target, globalns=ns)
        except Exception as exc:  # noqa: BLE001 - reported below
            unresolved[f"{target.__module__}.{name}"] = repr(exc)
    assert not unresolved, unresolved


def _type_checking_names(module) -> dict:
    """The names a module imports inside ``if TYPE_CHECKING:`` blocks."""
    import ast
    import importlib

    names: dict = {}
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    mod = importlib.import_module(stmt.module)
                    for alias in stmt.names:
                        names[alias.asname or alias.name] = getattr(mod, alias.name)
                elif isinstance(stmt, ast.Import):
                    for alias in stmt.names:
                        names[alias.asname or alias.name.split(".")[0]] = importlib.import_module(
                            alias.name)
                elif isinstance(stmt, ast.Assign):
                    exec(compile(ast.Module([stmt], []), module.__name__, "exec"), names)
    return names

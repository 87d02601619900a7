"""``winpki certutil``: certutil.exe's verbs, options, output shape and failure shape.

Verbs register themselves in :data:`VERBS` with :func:`verb`; modules holding more verbs
are listed in :data:`VERB_MODULES` and imported when certutil runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from winpki.tools.common import Usage, describe_failure, hresult_line, is_option, option_name

# Options that take a value (certutil's -p password, -csp provider, ...).
VALUE_OPTIONS = {"p", "csp", "t", "config", "restrict", "out", "sid"}
FLAG_OPTIONS = {"v", "user", "f", "silent", "split", "enterprise", "gmt", "seconds",
                "service", "nocrl", "urlfetch", "q", "unicode", "privatekey", "pin"}

VERB_MODULES = ("winpki.tools.certutil_store", "winpki.tools.certutil_keys",
                "winpki.tools.certutil_pfx", "winpki.tools.certutil_ca",
                "winpki.tools.certutil_verify", "winpki.tools.certutil_codec",
                "winpki.tools.certutil_asn", "winpki.tools.certutil_crldump")


@dataclass
class Invocation:
    verb: str
    args: list[str]
    options: dict[str, object]
    out: TextIO
    err: TextIO

    def flag(self, name: str) -> bool:
        return bool(self.options.get(name))

    def value(self, name: str) -> str | None:
        v = self.options.get(name)
        return v if isinstance(v, str) else None

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")


@dataclass
class Verb:
    name: str
    func: Callable[[Invocation], int | None]
    usage: str
    min_args: int = 0
    max_args: int = 99
    aliases: tuple[str, ...] = field(default_factory=tuple)


VERBS: dict[str, Verb] = {}

# -dump asks each of these (file bytes -> lines, or None when not its kind) before it
# reads the file as certificates; verb modules append to it.
DUMP_HANDLERS: list[Callable[[bytes], list[str] | None]] = []


def verb(name: str, usage: str, *, min_args: int = 0, max_args: int = 99,
         aliases: tuple[str, ...] = ()):
    """Register a certutil verb (``name`` without the dash, any case)."""

    def register(func):
        v = Verb(name, func, usage, min_args, max_args, aliases)
        for key in (name, *aliases):
            VERBS[key.lower()] = v
        return func

    return register


def _load_verbs() -> None:
    for mod in VERB_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def parse(args: list[str]) -> tuple[str | None, list[str], dict[str, object]]:
    """Split certutil's command line into (verb, positional args, options)."""
    verb_name: str | None = None
    positional: list[str] = []
    options: dict[str, object] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if is_option(a):
            name = option_name(a)
            if name in VALUE_OPTIONS:
                if i + 1 >= len(args):
                    raise Usage(f"Missing argument for option -{name}")
                options[name] = args[i + 1]
                i += 2
                continue
            if name in FLAG_OPTIONS:
                options[name] = True
            elif verb_name is None and name in VERBS:
                verb_name = name
            elif name in ("?", "h", "help"):
                options["help"] = True
            else:
                raise Usage(f"Unknown arg: {a}")
        else:
            positional.append(a)
        i += 1
    return verb_name, positional, options


def _usage(err: TextIO, v: Verb | None = None) -> None:
    if v is not None:
        err.write(f"Usage:\n  CertUtil [Options] -{v.name} {v.usage}\n")
        return
    err.write("Usage:\n  CertUtil [Options] [-dump] DumpFile\n\nVerbs:\n")
    seen = set()
    for key in sorted(VERBS):
        v = VERBS[key]
        if v.name in seen:
            continue
        seen.add(v.name)
        err.write(f"  -{v.name:<16} {v.usage}\n")


def fail(inv_verb: str, exc: BaseException, out: TextIO) -> int:
    hr, text = describe_failure(exc)
    out.write(f"CertUtil: -{inv_verb} command FAILED: {hresult_line(hr)}\n")
    out.write(f"CertUtil: {text}\n")
    return _exit_code(hr)


def _exit_code(hr: int) -> int:
    # certutil.exe exits with the HRESULT; POSIX keeps 8 bits, so map to a non-zero byte.
    return (hr & 0xFF) or 1


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    _load_verbs()
    try:
        verb_name, positional, options = parse(args)
    except Usage as exc:
        out.write(f"CertUtil: {exc}\n")
        _usage(err)
        return 87 & 0xFF
    if verb_name is None:
        if positional and not options.get("help"):
            verb_name = "dump"  # certutil file  ==  certutil -dump file
        else:
            _usage(err)
            return 0 if options.get("help") else 1
    v = VERBS[verb_name]
    if options.get("help"):
        _usage(out, v)
        return 0
    if not v.min_args <= len(positional) <= v.max_args:
        out.write(f"CertUtil: -{v.name} command FAILED: {hresult_line(0x800700A0)}\n")
        out.write("CertUtil: One or more arguments are not correct.\n")
        _usage(err, v)
        return 0xA0
    inv = Invocation(v.name, positional, options, out, err)
    try:
        rc = v.func(inv)
    except Exception as exc:  # every failure prints certutil's shape; never a traceback
        return fail(v.name, exc, out)
    if rc is None:
        out.write(f"CertUtil: -{v.name} command completed successfully.\n")
        return 0
    return rc

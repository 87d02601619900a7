"""``winpki <tool> <arguments as on Windows>``: one entry point for every Windows tool.

Each tool is ``run(args: list[str], out: TextIO, err: TextIO) -> int`` in its module;
this table maps the tool name (case-insensitive) to that module. Tools that belong to
``schannel`` live there and are listed here by module path, imported only when used.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import shlex
import sys
from collections.abc import Sequence
from typing import TextIO

TOOLS: dict[str, tuple[str, str]] = {
    # name: (module, one-line description)
    "certutil": ("winpki.tools.certutil", "certificate and key store utility"),
    "certreq": ("winpki.tools.certreq", "certificate requests: -new from an INF, -submit to the machine CA, -accept"),
    "icacls": ("winpki.tools.icacls", "display or change ACLs of simulated files"),
    "machine": ("winpki.tools.machinecmd", "create or describe the simulated machine"),
    "provider": ("winpki.tools.provider", "bind key providers to PKCS#11 tokens; pull/insert tokens"),
    "winhttpcertcfg": ("winpki.tools.winhttpcertcfg", "grant private-key access (WinHttpCertCfg.exe)"),
    "wevtutil": ("winpki.tools.wevtutil", "query the event logs"),
    "appcmd": ("winpki.tools.appcmd", "IIS sites and application pools (appcmd syntax)"),
    "iis": ("winpki.tools.iismgr", "IIS Manager / WebAdministration actions (HTTPS bindings)"),
    "doctor": ("winpki.tools.doctor", "explain why a certificate binding fails, and the fix"),
    "scenario": ("winpki.tools.scenario", "replay the failures users report: failure, diagnosis, fix"),
    "serve": ("winpki.tools.serve", "serve an http.sys SSL binding over real TLS"),
    "mmc": ("winpki.tools.mmc", "the Certificates console (computer account) import wizard"),
    "netsh": ("winpki.tools.netsh", "http.sys SSL certificate bindings (netsh http ... sslcert)"),
    "reg": ("winpki.tools.reg", "the machine registry (reg query / add / delete)"),
}

USAGE = """usage: winpki <tool> [arguments as on Windows]
       winpki <tool> -?          (each tool's help, as Windows prints it)
       winpki --version

The simulated machine is the one named by WINPKI_MACHINE, else the default machine in
your data directory (created on first use).

tools:
"""


def _usage(out: TextIO) -> None:
    out.write(USAGE)
    for name, (_, desc) in sorted(TOOLS.items()):
        out.write(f"  {name:<16}{desc}\n")


# winpki's own tools (argparse) take Windows' "/" options too: /json, /?, /ipport:X.
OWN_TOOLS = frozenset({"machine", "provider", "doctor", "scenario", "serve", "iis", "mmc"})
_SLASH_OPTION = re.compile(r"^/([A-Za-z][A-Za-z0-9-]*)(?::(.*))?$", re.S)


def own_tool_args(args: list[str]) -> list[str]:
    """``/?`` -> ``--help``, ``/json`` -> ``--json``, ``/ipport:X`` -> ``--ipport=X``."""
    from winpki.helptext import HELP_WORDS

    converted = []
    for a in args:
        if a.lower() in HELP_WORDS:
            converted.append("--help")
            continue
        m = _SLASH_OPTION.match(a)
        if m:
            name = m.group(1)
            opt = ("--" if len(name) > 1 else "-") + name
            converted.append(opt if m.group(2) is None else f"{opt}={m.group(2)}")
        else:
            converted.append(a)
    return converted


def version() -> str:
    """winpki's version, from the installed package's metadata."""
    from capi.version import __version__

    return __version__


class MissingMachine(BaseException):  # not swallowed by a tool's own error handling
    """WINPKI_MACHINE names a directory that holds no machine."""


def _refuse_missing_machine(path) -> None:
    """A WINPKI_MACHINE naming a directory without a machine is an error when a command
    needs the machine (nothing is created behind the user's back; ``winpki machine
    create`` creates). Commands that only read a file (certutil -dump) do not ask."""
    raise MissingMachine(str(path))


def missing_machine_text(env: str) -> str:
    from capi.errors import ERROR_PATH_NOT_FOUND, message

    return (f"winpki: WINPKI_MACHINE names {env}, which holds no machine: "
            f"{message(ERROR_PATH_NOT_FOUND)}\n"
            f"Create it with: winpki machine create {shlex.quote(env)}\n")


# Tools that never open the WINPKI_MACHINE machine (or create it themselves).
NO_MACHINE = frozenset({"scenario", "machine"})


def exit_status(rc: int | None) -> int:
    """A tool's Windows exit code (1332, 0x80092004...) as a POSIX status, which keeps only
    8 bits: a failure whose low byte is 0 must still be non-zero."""
    rc = int(rc or 0)
    if 0 <= rc <= 255:
        return rc
    return (rc & 0xFF) or 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if not args or args[0].lower().lstrip("-/") in ("h", "help", "?"):
        _usage(out)
        return 0 if args else 1
    if args[0].lower() in ("--version", "-version", "/version"):
        out.write(f"winpki {version()}\n")
        return 0
    name = args[0].lower()
    if name.endswith(".exe"):
        name = name[:-4]
    entry = TOOLS.get(name)
    if entry is None:
        err.write(f"'{args[0]}' is not recognized as an internal or external command,\n"
                  "operable program or batch file.\n")
        return 1
    from winpki.helptext import PASS_THROUGH, help_for, is_help_request

    rest = args[1:]
    text = help_for(name, rest)
    if text is not None:
        out.write(text)
        return 0
    if name in PASS_THROUGH and is_help_request(rest):
        rest = [PASS_THROUGH[name]]
    elif name in OWN_TOOLS:
        rest = own_tool_args(rest)
    module = importlib.import_module(entry[0])
    from capi.errors import ERROR_PATH_NOT_FOUND, WinError
    from capi.host.context import on_missing_machine

    strict = on_missing_machine(_refuse_missing_machine) if name not in NO_MACHINE \
        else contextlib.nullcontext()
    try:
        # argparse prints help and errors to sys.stdout / sys.stderr: send them to the
        # streams this call was given.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), strict:
            return module.run(rest, out, err)
    except MissingMachine as exc:
        err.write(missing_machine_text(str(exc)))
        return 3  # ERROR_PATH_NOT_FOUND
    except WinError as exc:
        # A Windows error the tool did not report in its own shape: in practice the
        # machine cannot be opened (a machine.db that is not a machine's database).
        detail = f" ({exc.detail})" if exc.detail else ""
        err.write(f"winpki {name}: {exc.strerror}{detail}\n")
        return 3 if exc.winerror == ERROR_PATH_NOT_FOUND else 1
    except SystemExit as exc:  # argparse's --help and usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug must not reach the user as a traceback
        err.write(f"winpki {name}: internal error: {type(exc).__name__}: {exc}\n")
        return 1


def console_main() -> None:
    """The ``winpki`` command: the tool's Windows exit code, as a POSIX status."""
    # A character the output encoding cannot show prints as "?", as in a Windows console
    # whose code page lacks it (PYTHONIOENCODING=ascii would otherwise fail mid-line).
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")
    sys.exit(exit_status(main()))


if __name__ == "__main__":  # pragma: no cover
    console_main()

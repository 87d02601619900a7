"""``winpki <tool> <arguments as on Windows>``: one entry point for every Windows tool.

Each tool is ``run(args: list[str], out: TextIO, err: TextIO) -> int`` in its module;
this table maps the tool name (case-insensitive) to that module. Tools that belong to
``schannel`` live there and are listed here by module path, imported only when used.
"""

from __future__ import annotations

import importlib
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

The simulated machine is the one named by WINPKI_MACHINE, else the default machine in
your data directory (created on first use).

tools:
"""


def _usage(out: TextIO) -> None:
    out.write(USAGE)
    for name, (_, desc) in sorted(TOOLS.items()):
        out.write(f"  {name:<16}{desc}\n")


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
    name = args[0].lower()
    if name.endswith(".exe"):
        name = name[:-4]
    entry = TOOLS.get(name)
    if entry is None:
        err.write(f"'{args[0]}' is not recognized as an internal or external command,\n"
                  "operable program or batch file.\n")
        return 1
    module = importlib.import_module(entry[0])
    try:
        return module.run(args[1:], out, err)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug must not reach the user as a traceback
        err.write(f"winpki {name}: internal error: {type(exc).__name__}: {exc}\n")
        return 1


def console_main() -> None:
    """The ``winpki`` command: the tool's Windows exit code, as a POSIX status."""
    sys.exit(exit_status(main()))


if __name__ == "__main__":  # pragma: no cover
    console_main()

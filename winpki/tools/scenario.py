"""``winpki scenario list | run NAME``: replay the scenarios of docs/windows-facts.md §7, failure then fix."""

from __future__ import annotations

import os
import shlex
from typing import TextIO

from winpki.scenarios import SCENARIOS, Record, ScenarioFailed, run_scenario


def console_printer(out: TextIO):
    """Print a scenario's records like a console session, with rich when on a terminal."""
    from rich.console import Console
    from rich.panel import Panel

    console = Console(file=out, highlight=False)

    def emit(rec: Record) -> None:
        if rec.kind == "step":
            console.print()
            body = f"[bold]{rec.title}[/bold]" + (f"\n{rec.text}" if rec.text else "")
            console.print(Panel.fit(body, border_style="cyan"))
        elif rec.kind == "tool":
            console.print(f"[green]C:\\>[/green] winpki {rec.title}", markup=True, soft_wrap=True)
            text = rec.shown.rstrip("\n")
            if text:
                console.print(text, markup=False, soft_wrap=True)
        elif rec.kind == "note":
            console.print(f"[dim]{rec.text}[/dim]", soft_wrap=True)
        elif rec.kind == "check":
            mark = "[green]✔[/green]" if rec.text == "ok" else "[red]✘[/red]"
            console.print(f"{mark} {rec.title}")

    return emit


def _parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="winpki scenario",
        description="Replay the failures users report on a fresh temporary machine: the "
                    "failure as Windows shows it, the doctor's diagnosis, the fix.")
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("list", help="list the scenarios (name, Windows version, title)")
    r = sub.add_parser("run", help="replay one scenario")
    r.add_argument("name", help="the scenario's name (see: winpki scenario list)")
    r.add_argument("--keep", action="store_true",
                   help="keep the temporary machine and files (removed by default)")
    return p


def _usage(err: TextIO) -> int:
    err.write("usage: winpki scenario list | run NAME [--keep]   (names: "
              + ", ".join(SCENARIOS) + ")\n")
    return 1


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    import shutil
    import tempfile

    if not args or args[0].lower() == "list":
        if args[1:]:
            return _usage(err)
        for s in SCENARIOS.values():
            out.write(f"{s.name:<20} {s.os_version:<7} {s.title}\n")
        return 0
    if args[0] in ("-h", "--help"):
        _parser().print_help(out)
        return 0
    if args[0].lower() != "run":
        return _usage(err)
    rest = [a for a in args[1:] if a != "--keep"]
    keep = len(rest) != len(args) - 1
    if rest and rest[0] in ("-h", "--help"):
        _parser().parse_args(["run", "--help"])
    if len(rest) != 1 or rest[0] not in SCENARIOS:
        if len(rest) == 1:
            err.write(f"winpki scenario: unknown scenario {rest[0]!r}\n")
        return _usage(err)
    workdir = tempfile.mkdtemp(prefix=f"winpki-{rest[0]}-")
    runner = None
    try:
        runner = run_scenario(rest[0], workdir=workdir, printer=console_printer(out))
    except ScenarioFailed as exc:
        out.write(f"\nScenario diverged from Windows: {exc}\n")
        return 1
    finally:
        if runner is not None:
            runner.machine.close()
        if keep:
            out.write(f"\nKept the machine and its files in {workdir}\n"
                      f"  export WINPKI_MACHINE={shlex.quote(os.path.join(workdir, 'machine'))}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0

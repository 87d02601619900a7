"""``winpki scenario list | run NAME``: replay the scenarios of docs/windows-facts.md §7, failure then fix."""

from __future__ import annotations

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


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if not args or args[0].lower() == "list":
        for s in SCENARIOS.values():
            out.write(f"{s.name:<20} {s.os_version:<7} {s.title}\n")
        return 0
    if args[0].lower() != "run" or len(args) != 2 or args[1] not in SCENARIOS:
        if args[0].lower() == "run" and len(args) == 2:
            err.write(f"winpki scenario: unknown scenario {args[1]!r}\n")
        err.write("usage: winpki scenario list | run NAME   (names: "
                  + ", ".join(SCENARIOS) + ")\n")
        return 1
    try:
        run_scenario(args[1], printer=console_printer(out))
    except ScenarioFailed as exc:
        out.write(f"\nScenario diverged from Windows: {exc}\n")
        return 1
    return 0

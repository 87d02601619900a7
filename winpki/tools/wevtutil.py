"""``winpki wevtutil``: query the simulated machine's event logs as wevtutil.exe does.

    wevtutil qe System [/q:"*[System[(EventID=36870)]]"] [/f:text|xml|RenderedXml] [/c:N] [/rd:true]
    wevtutil el
    wevtutil cl System
"""

from __future__ import annotations

from typing import TextIO

from capi.errors import ERROR_ACCESS_DENIED, WinError
from capi.host.context import current_machine
from schannel import eventlog

USAGE = """Windows Events Command Line Utility.

Usage:

You can use either the short (for example, ep /uni) or long (for example,
enum-publishers /unicode) version of the command and option names.

Commands:

el | enum-logs          List log names.
qe | query-events       Query events from a log or log file.
cl | clear-log          Clear a log.
"""


def _options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    positional, opts = [], {}
    for a in args:
        if a[:1] in "/-" and len(a) > 1 and ":" in a:
            name, _, value = a[1:].partition(":")
            opts[name.lower()] = value
        elif a[:1] in "/-" and len(a) > 1 and "/" not in a[1:]:
            opts[a[1:].lower()] = "true"
        else:
            positional.append(a)
    return positional, opts


# The options each command takes (short and long names); any other is
# ERROR_INVALID_PARAMETER, as a bad value is.
_COMMAND_OPTIONS = {
    "el": {"uni", "unicode"},
    "cl": set(),
    "qe": {"q", "query", "f", "format", "c", "count", "rd", "reversedirection", "uni", "unicode"},
}
_LONG = {"enum-logs": "el", "clear-log": "cl", "query-events": "qe"}


def _user_name(machine, sid: str | None) -> str | None:
    if not sid:
        return None
    try:
        from capi.host.accounts import account_display

        return account_display(machine, sid)
    except Exception:  # an unmapped SID prints as itself
        return sid


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if not args or args[0] in ("/?", "-?", "/h", "-h"):
        out.write(USAGE)
        return 0 if args else 1
    command = args[0].lower()
    positional, opts = _options(args[1:])
    machine = current_machine()
    try:
        if set(opts) - _COMMAND_OPTIONS.get(_LONG.get(command, command), set(opts)):
            raise WinError(87)
        if command in ("el", "enum-logs"):
            if positional:
                raise WinError(87)
            for name in eventlog.LOGS:
                out.write(name + "\n")
            return 0
        if command in ("cl", "clear-log"):
            if len(positional) != 1:
                raise WinError(87)
            try:
                eventlog.clear_log(machine, positional[0])
            except WinError as exc:
                if exc.winerror != ERROR_ACCESS_DENIED:
                    raise
                # As wevtutil prints it: "Failed to clear log <name>. Access is denied."
                # (quoted from real runs, e.g. clong/DetectionLab issue 171).
                out.write(f"Failed to clear log {positional[0]}. {exc.strerror}\n")
                return ERROR_ACCESS_DENIED
            return 0
        if command not in ("qe", "query-events"):
            err.write(f"Unknown command: {args[0]}\n")
            raise WinError(87)
        if len(positional) != 1:
            raise WinError(87)
        fmt = opts.get("f", opts.get("format", "xml")).lower()
        if fmt not in ("xml", "text", "renderedxml"):
            raise WinError(87)
        count = opts.get("c", opts.get("count"))
        if count is not None and not count.isdigit():
            raise WinError(87)
        reverse = opts.get("rd", opts.get("reversedirection", "false")).lower() == "true"
        records = eventlog.query(machine, positional[0], xpath=opts.get("q", opts.get("query")),
                                 count=int(count) if count is not None else None,
                                 newest_first=reverse)
    except WinError as exc:
        # wevtutil prints the bare system message ("The specified channel could not be found.");
        # a query the service rejects fails reading: "Failed to read events. <message>".
        prefix = "Failed to read events. " if exc.winerror == 15001 else ""
        out.write(f"{prefix}{exc.strerror}\n")
        return exc.winerror & 0xFF or 1
    for index, rec in enumerate(records):
        if fmt == "text":
            out.write("\n".join(rec.text_lines(index, _user_name(machine, rec.user_sid))) + "\n")
        else:
            out.write(rec.to_xml(rendered=fmt == "renderedxml") + "\n")
    return 0

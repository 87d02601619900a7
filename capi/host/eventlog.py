"""The machine's event log: records kept in the state database, rendered as Windows does.
It lives in the host so that every service (Schannel, Certificate Services) can write
to it; ``schannel.eventlog`` re-exports it.

Event XML follows what Windows produces for these providers: the System element, then the
provider's payload (Schannel writes ``UserData/EventXML xmlns='LSA_NS'`` with named fields,
e.g. 36870's Type, ErrorCode and ErrorStatus), then ``RenderingInfo`` with the message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from capi.errors import ERROR_EVT_CHANNEL_NOT_FOUND, ERROR_EVT_INVALID_QUERY, WinError
from capi.host.accounts import Token
from capi.host.machine import Machine


def escape(text: str) -> str:
    """XML character data (as xml.sax.saxutils.escape, which costs a tool's start-up
    urllib.request)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;") + '"'


LEVEL_CRITICAL, LEVEL_ERROR, LEVEL_WARNING, LEVEL_INFORMATION = 1, 2, 3, 4
LEVEL_NAMES = {0: "Information", 1: "Critical", 2: "Error", 3: "Warning", 4: "Information",
               5: "Verbose"}

# Providers this project writes for: name -> (GUID or None for classic sources, keywords).
PROVIDERS = {
    "Schannel": ("{1f678132-5938-4686-9fdc-c8ff68f15c85}", "0x8000000000000000"),
    "Microsoft-Windows-HttpEvent": ("{7b6bc78c-898b-4170-bbf8-1a469ea43fc5}", "0x8000000000000000"),
    "Microsoft-Windows-IIS-W3SVC": ("{05448e22-93de-4a7a-bba5-92e27486a8be}", "0x80000000000000"),
    # Certificate Services: the classic "CertSvc" source on Windows Server 2003, the
    # manifest provider from 2008 on (osversions.ca_event_source).
    "Microsoft-Windows-CertificationAuthority": ("{6a71d062-9afe-4f35-ad08-52134f85dfb9}",
                                                 "0x80000000000000"),
}

LOGS = ("System", "Application", "Security")


@dataclass
class EventRecord:
    record_id: int
    log: str
    source: str
    event_id: int
    level: int
    time: datetime
    user_sid: str | None
    computer: str
    message: str
    data: dict = field(default_factory=dict)
    process_id: int = 4

    # -- renderings --------------------------------------------------------------------

    def to_xml(self, rendered: bool = False) -> str:
        guid, keywords = PROVIDERS.get(self.source, (None, "0x80000000000000"))
        provider = f"<Provider Name={quoteattr(self.source)}"
        provider += f" Guid={quoteattr(guid)}/>" if guid else "/>"
        stamp = self.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.time.microsecond:06d}0Z"
        security = (f"<Security UserID={quoteattr(self.user_sid)}/>" if self.user_sid
                    else "<Security/>")
        payload = ""
        if self.data:
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>" if str(v) != "" else f"<{k}/>"
                             for k, v in self.data.items())
            payload = f"<UserData><EventXML xmlns='LSA_NS'>{fields}</EventXML></UserData>"
        return (
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
            f"<System>{provider}<EventID>{self.event_id}</EventID><Version>0</Version>"
            f"<Level>{self.level}</Level><Task>0</Task><Opcode>0</Opcode>"
            f"<Keywords>{keywords}</Keywords><TimeCreated SystemTime='{stamp}'/>"
            f"<EventRecordID>{self.record_id}</EventRecordID><Correlation/>"
            f"<Execution ProcessID='{self.process_id}' ThreadID='{self.process_id * 17 % 9973}'/>"
            f"<Channel>{escape(self.log)}</Channel><Computer>{escape(self.computer)}</Computer>"
            f"{security}</System>{payload}"
            + (f"<RenderingInfo Culture='en-US'><Message>{escape(self.message)}</Message>"
               f"<Level>{LEVEL_NAMES.get(self.level, '')}</Level><Task/><Opcode>Info</Opcode>"
               f"<Channel>{escape(self.log)}</Channel><Provider/><Keywords/></RenderingInfo>"
               if rendered else "")
            + "</Event>"
        )

    def text_lines(self, index: int, user_name: str | None) -> list[str]:
        """wevtutil's /f:text block for this event (as wevtutil prints it on 2022)."""
        stamp = self.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.time.microsecond:06d}0Z"
        return [
            f"Event[{index}]",
            f"  Log Name: {self.log}",
            f"  Source: {self.source}",
            f"  Date: {stamp}",
            f"  Event ID: {self.event_id}",
            "  Task: N/A",
            f"  Level: {LEVEL_NAMES.get(self.level, '')}",
            "  Opcode: Info",
            "  Keyword: N/A",
            f"  User: {self.user_sid or 'N/A'}",
            f"  User Name: {user_name or 'N/A'}",
            f"  Computer: {self.computer}",
            "  Description: ",
            self.message,
        ]


# --------------------------------------------------------------------------------------
# writing and reading
# --------------------------------------------------------------------------------------


def write_event(machine: Machine, *, source: str, event_id: int, level: int, message: str,
                log: str = "System", user_sid: str | None = None, data: dict | None = None,
                when: datetime | None = None) -> int:
    """ReportEvent: append a record to ``log``; returns its EventRecordID."""
    when = when or datetime.now(timezone.utc)
    with machine.transaction() as db:
        cur = db.execute(
            "INSERT INTO events(log, source, event_id, level, time, user_sid, computer, "
            "message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (log, source, event_id, level, when.isoformat(), user_sid, machine.computer_name,
             message, json.dumps(data or {})),
        )
        return int(cur.lastrowid)


def _row(row) -> EventRecord:
    rid, log, source, event_id, level, time, user_sid, computer, message, data = row
    return EventRecord(rid, log, source, event_id, level, datetime.fromisoformat(time),
                       user_sid, computer, message, json.loads(data))


def query(machine: Machine, log: str = "System", *, xpath: str | None = None,
          count: int | None = None, newest_first: bool = False) -> list[EventRecord]:
    """EvtQuery: the records of ``log`` matching an Event Viewer XPath filter."""
    if log.lower() not in {name.lower() for name in LOGS}:
        raise WinError(ERROR_EVT_CHANNEL_NOT_FOUND, detail=log)
    predicate = compile_query(xpath) if xpath else (lambda rec: True)
    order = "DESC" if newest_first else "ASC"
    rows = machine.db.execute(
        "SELECT record_id, log, source, event_id, level, time, user_sid, computer, message, "
        f"data FROM events WHERE log = ? COLLATE NOCASE ORDER BY record_id {order}", (log,))
    result = []
    for row in rows:
        rec = _row(row)
        if predicate(rec):
            result.append(rec)
            if count is not None and len(result) >= count:
                break
    return result


def clear_log(machine: Machine, log: str, *, token: Token | None = None) -> None:
    """EvtClearLog: remove every record of ``log``, as ``token`` (default: the current
    identity). ERROR_EVT_CHANNEL_NOT_FOUND for an unknown channel; ERROR_ACCESS_DENIED
    unless the channel's access grants the caller EVT_CLEAR_ACCESS (0x4) — SYSTEM and
    Administrators by default, never a service account, a pool or a standard user."""
    from capi.host.context import current_token
    from capi.host.objectsd import EVT_CLEAR_ACCESS, check_channel_access

    if str(log).lower() not in {name.lower() for name in LOGS}:
        raise WinError(ERROR_EVT_CHANNEL_NOT_FOUND, detail=log)
    token = token if token is not None else current_token(machine)
    check_channel_access(machine, log, token, EVT_CLEAR_ACCESS)
    with machine.transaction() as db:
        db.execute("DELETE FROM events WHERE log = ? COLLATE NOCASE", (log,))


# --------------------------------------------------------------------------------------
# Event Viewer's XPath filters (``*[System[Provider[@Name='Schannel'] and (EventID=36870)
# and TimeCreated[timediff(@SystemTime) <= 86400000]]]``, ``*[UserData/*/ErrorCode=...]``,
# ``*[EventData[Data[@Name='x']='y']]``), evaluated by elementpath over each event's XML.
# --------------------------------------------------------------------------------------

_FILETIME_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z?$", re.I)
_parser = None


def _invalid(detail: str) -> WinError:
    return WinError(ERROR_EVT_INVALID_QUERY, detail=detail)


def _parse_system_time(text: str) -> datetime:
    m = _FILETIME_STAMP.match(text.strip())
    if not m:
        raise ValueError(f"not a SystemTime: {text!r}")
    frac = (m.group(3) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}+00:00")


def timediff(value, other=None) -> float:
    """Event Log's ``timediff(@SystemTime)``: the milliseconds between the argument and now
    (or between the two arguments). Not an XPath function: the Event Log service adds it.
    "Consuming Events" (Windows Event Log docs): ``TimeCreated[timediff(@SystemTime) <=
    86400000]`` selects events of the last 24 hours."""
    def when(v):
        if isinstance(v, list):
            if not v:
                raise ValueError("timediff of an empty sequence")
            v = v[0]
        return _parse_system_time(str(getattr(v, "string_value", v)))

    later = when(other) if other is not None else datetime.now(timezone.utc)
    return abs((later - when(value)).total_seconds() * 1000.0)


def _xpath_parser():
    """An XPath 2 parser (string comparison of ``@SystemTime >= '2026-...'`` as Event
    Viewer's custom ranges write it) that knows ``timediff``."""
    global _parser
    if _parser is None:
        from elementpath import XPath2Parser

        parser = XPath2Parser()
        parser.external_function(timediff, name="timediff")
        _parser = parser
    return _parser


def _event_tree(rec: EventRecord):
    """The event's XML as an element tree with namespaces removed (Event Log queries name
    ``System``, ``EventID``, ``UserData/EventXML`` without prefixes) and values case-folded,
    as the query's string literals are: values compare without regard to case, so that
    Provider[@Name='schannel'] finds Schannel's events."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(rec.to_xml())
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
        if el.text:
            el.text = el.text.casefold()
        for k, v in el.attrib.items():
            el.attrib[k] = v.casefold()
    return ET.ElementTree(root)


def compile_query(xpath: str):
    """Compile an Event Viewer XPath filter; invalid -> ERROR_EVT_INVALID_QUERY."""
    from elementpath import ElementPathError, XPathContext

    text = (xpath or "").strip()
    if not text:
        raise _invalid("empty query")
    try:
        token = _xpath_parser().parse(text)
    except (ElementPathError, ValueError, TypeError, SyntaxError) as exc:
        raise _invalid(f"{text}: {exc}") from exc
    for tk in token.iter():
        if tk.symbol == "(string)" and isinstance(tk.value, str):
            tk.value = tk.value.casefold()

    def predicate(rec: EventRecord) -> bool:
        try:
            result = token.evaluate(XPathContext(_event_tree(rec)))
        except (ElementPathError, ValueError, TypeError, ArithmeticError) as exc:
            raise _invalid(f"{text}: {exc}") from exc
        return bool(result)

    return predicate


__all__ = [
    "LEVEL_CRITICAL", "LEVEL_ERROR", "LEVEL_WARNING", "LEVEL_INFORMATION", "LEVEL_NAMES",
    "PROVIDERS", "LOGS", "EventRecord", "write_event", "query", "compile_query", "clear_log",
]

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
from xml.sax.saxutils import escape, quoteattr

from capi.errors import ERROR_EVT_CHANNEL_NOT_FOUND, ERROR_EVT_INVALID_QUERY, WinError
from capi.host.accounts import Token
from capi.host.machine import Machine

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
# The XPath subset Event Viewer writes:  *[System[Provider[@Name='Schannel'] and
# (EventID=36870 or EventID=36874) and (Level=1 or Level=2) and
# TimeCreated[timediff(@SystemTime) <= 86400000]]]
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<num>\d+)|(?P<str>'[^']*'|"[^"]*")|(?P<op><=|>=|!=|=|<|>)
                     |(?P<punct>[\[\]()@*])|(?P<name>[A-Za-z_][\w\-]*))""", re.X)
_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}


def _invalid(detail: str) -> WinError:
    return WinError(ERROR_EVT_INVALID_QUERY, detail=detail)


class _Parser:
    def __init__(self, text: str):
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise _invalid(text)
            kind = m.lastgroup
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self, value: str | None = None):
        if self.i >= len(self.toks):
            return None
        tok = self.toks[self.i]
        return tok if value is None or tok[1].lower() == value.lower() else None

    def take(self, value: str | None = None):
        tok = self.peek(value)
        if tok is None:
            raise _invalid(f"expected {value!r}")
        self.i += 1
        return tok

    # query := '*' '[' 'System' '[' expr ']' ']'  |  '*'
    def query(self):
        self.take("*")
        if self.peek() is None:
            return lambda rec: True
        self.take("[")
        self.take("System")
        self.take("[")
        pred = self.expr()
        self.take("]")
        self.take("]")
        if self.peek() is not None:
            raise _invalid("trailing text")
        return pred

    def expr(self):
        left = self.term()
        while self.peek("or"):
            self.take()
            right = self.term()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def term(self):
        left = self.factor()
        while self.peek("and"):
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor(self):
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        kind, name = self.take()
        if kind != "name":
            raise _invalid(name)
        lname = name.lower()
        if lname == "provider":
            self.take("[")
            self.take("@")
            self.take("Name")
            op = self.take()[1]
            value = self.take()[1].strip("'\"")
            self.take("]")
            return lambda r: _OPS[op](r.source.lower(), value.lower())
        if lname == "timecreated":
            self.take("[")
            self.take("timediff")
            self.take("(")
            self.take("@")
            self.take("SystemTime")
            self.take(")")
            op = self.take()[1]
            ms = int(self.take()[1])
            self.take("]")
            return lambda r: _OPS[op](
                (datetime.now(timezone.utc) - r.time).total_seconds() * 1000, ms)
        fields = {"eventid": lambda r: r.event_id, "level": lambda r: r.level,
                  "eventrecordid": lambda r: r.record_id}
        if lname not in fields:
            raise _invalid(name)
        op_kind, op = self.take()
        if op_kind != "op":
            raise _invalid(op)
        num_kind, num = self.take()
        if num_kind != "num":
            raise _invalid(num)
        get, value = fields[lname], int(num)
        return lambda r: _OPS[op](get(r), value)


def compile_query(xpath: str):
    """Compile an Event Viewer XPath filter; invalid -> ERROR_EVT_INVALID_QUERY."""
    return _Parser(xpath).query()


__all__ = [
    "LEVEL_CRITICAL", "LEVEL_ERROR", "LEVEL_WARNING", "LEVEL_INFORMATION", "LEVEL_NAMES",
    "PROVIDERS", "LOGS", "EventRecord", "write_event", "query", "compile_query", "clear_log",
]

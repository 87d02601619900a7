"""HTTP/1.1 for the TLS endpoint, sans-IO: h11 parses, this module answers like http.sys/IIS.

:class:`HttpSession` takes the decrypted bytes of one connection as they arrive and returns
the bytes to send back; it never touches a socket, so the event loop in ``schannel.tls``
drives it from its SSL_read loop and the tests drive it directly. Framing and syntax
(request line, field syntax, Host rules, Content-Length/Transfer-Encoding, bare LF) are
h11's (RFC 9112); on top of it sit what http.sys and IIS add: their 400 pages, the header
size limit, IIS's 30 000 000-byte body limit (413), and the timers of
:class:`HttpTimeouts`, which the connection driver enforces.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11

__all__ = [
    "BAD_REQUEST",
    "HttpRequest",
    "HttpResponse",
    "HttpSession",
    "HttpTimeouts",
    "StaticResponse",
    "httpsys_error",
]

log = logging.getLogger("schannel.tls")

MAX_HEADER_BYTES = 64 * 1024
MAX_REQUESTS_PER_CONNECTION = 100
# IIS request filtering's default maxAllowedContentLength: larger bodies get 413.
MAX_BODY_BYTES = 30_000_000


@dataclass(frozen=True)
class HttpTimeouts:
    """http.sys's connection timers, in seconds (MinSendRate in bytes per second).

    Defaults: Microsoft docs, "HTTP_TIMEOUT_LIMIT_INFO structure (http.h)", Remarks table:
    EntityBody, DrainEntityBody, RequestQueue, IdleConnection and HeaderWait 2 minutes,
    MinSendRate 150 bytes/s ("netsh http add timeout" sets the global IdleConnection and
    HeaderWait, "idleconnectiontimeout=120" in its example). What each bounds here:

    - ``header_wait``: from accepting the connection (TLS handshake included) to the end of
      the first request's headers, then from the first byte of each later request to the
      end of its headers ("The maximum time allowed to parse all the request headers,
      including the request line, after which, the connection is timed out and reset",
      HTTP_SERVICE_CONFIG_TIMEOUT_KEY). A client trickling bytes is cut when it expires.
    - ``entity_body``: between two arrivals of request body data (the docs: the timer is
      reset on each data indication).
    - ``idle_connection``: a keep-alive connection waiting for its next request.
    - ``drain_entity_body``: after an error response that closes the connection, how long
      the rest of the request is read and dropped, so that the client gets the response
      rather than a reset.
    - ``min_send_rate``: a response of N bytes must be taken by the client within
      N / min_send_rate seconds (never less than the endpoint's ``io_timeout``).
    """

    header_wait: float = 120.0
    entity_body: float = 120.0
    drain_entity_body: float = 120.0
    idle_connection: float = 120.0
    min_send_rate: float = 150.0

    def __post_init__(self):
        for name in ("header_wait", "entity_body", "drain_entity_body", "idle_connection",
                     "min_send_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # names lower-cased
    client_address: tuple
    handshake: Any  # schannel.tls.HandshakeInfo


@dataclass
class HttpResponse:
    status: int = 200
    reason: str = "OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def encode(self, *, head: bool = False, keep_alive: bool = True) -> bytes:
        return self._encode(head, keep_alive, None)

    def _encode(self, head: bool, keep_alive: bool, second: int | None) -> bytes:
        names = {name.lower() for name, _ in self.headers}
        headers = list(self.headers)
        if "content-length" not in names:
            headers.append(("Content-Length", str(len(self.body))))
        if "date" not in names:
            headers.append(("Date", email.utils.formatdate(second, usegmt=True)))
        if not keep_alive and "connection" not in names:
            headers.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in headers]
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head_bytes if head else head_bytes + self.body


@dataclass
class StaticResponse(HttpResponse):
    """A response the same for every request that gets it (a static file's, kept in an
    output cache): its bytes are made once a second -- the Date header's resolution -- for
    each way it is sent. Not to be changed once sent."""

    _sent: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def encode(self, *, head: bool = False, keep_alive: bool = True) -> bytes:
        second = int(time.time())
        made = self._sent.get((head, keep_alive))
        if made is None or made[0] != second:
            made = self._sent[head, keep_alive] = (second, self._encode(head, keep_alive, second))
        return made[1]


# ---------------------------------------------------------------------------------------
# http.sys's own error responses
# ---------------------------------------------------------------------------------------

# The page http.sys (Vista and later) sends with a 400, CRLF line ends, "us-ascii"; its
# Content-Length in captured responses is 311 for "Bad Request", 339 for "Bad Request -
# Invalid Header" and 346 for "Bad Request - Request Too Long", which this layout gives.
# Headers in http.sys's order: Content-Type, Server, Date, Connection, Content-Length.
_HTTPSYS_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>{title}</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>{heading}</h2>\r\n<hr><p>HTTP Error {status}. {text}</p>\r\n</BODY></HTML>\r\n"
)

BAD_REQUEST = ("Bad Request", "The request is badly formed.")
INVALID_HEADER = ("Bad Request - Invalid Header", "The request has an invalid header name.")
INVALID_HOSTNAME = ("Bad Request - Invalid Hostname", "The request hostname is invalid.")
REQUEST_TOO_LONG = ("Bad Request - Request Too Long",
                    "The size of the request headers is too long.")


def httpsys_error(kind: tuple[str, str] = BAD_REQUEST, status: int = 400,
                  reason: str = "Bad Request") -> HttpResponse:
    """http.sys's error response (it closes the connection after it)."""
    heading, text = kind
    body = _HTTPSYS_PAGE.format(title=reason, heading=heading, status=status,
                                text=text).encode("ascii")
    return HttpResponse(status, reason, [
        ("Content-Type", "text/html; charset=us-ascii"),
        ("Server", "Microsoft-HTTPAPI/2.0"),
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Connection", "close"),
        ("Content-Length", str(len(body))),
    ], body)


def _too_large() -> HttpResponse:
    return HttpResponse(413, "Request Entity Too Large", [("Server", "Microsoft-HTTPAPI/2.0")])


# RFC 3986 host [":" port]: reg-name or IPv4 characters, or an IP literal. http.sys answers
# "Bad Request - Invalid Hostname" for a Host holding a scheme or a path (Microsoft IIS
# support blog, "HTTP 400 Bad Request when client sends invalid HTTP:Host header value").
_HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:[0-9]*)?")


def _error_page(exc: Exception) -> tuple[str, str]:
    """Which http.sys 400 page answers an h11 parse error."""
    message = str(exc)
    if getattr(exc, "error_status_hint", 400) == 431:
        return REQUEST_TOO_LONG
    if message.startswith("illegal header line"):
        return INVALID_HEADER
    if "Host: header" in message:  # h11: "Missing mandatory Host: header", "multiple Host:"
        return INVALID_HOSTNAME
    if "header" in message or "Content-Length" in message or "Transfer-Encoding" in message:
        return INVALID_HEADER
    return BAD_REQUEST


# ---------------------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------------------

# Parsed requests by their bytes. A request that arrives whole in one read, on a connection
# waiting for its next request, is parsed by a fresh h11 connection (one per request, see
# _new_cycle) with the session's limits: the same bytes give the same request every time,
# so a parse seen before is reused (clients repeat their requests byte for byte). Only what
# h11 took whole, with no body and nothing after it; bounded, all dropped when full.
_PARSED_MAX = 256
_PARSED_BYTES_MAX = 8192
# (bytes, max_header_bytes, max_body_bytes) -> (method, target, version, headers, keep_alive)
_parsed: dict[tuple, tuple] = {}

IDLE = "idle"  # no byte of the next request yet
HEADERS = "headers"  # request line and headers arriving
BODY = "body"  # headers parsed, body arriving
CLOSED = "closed"  # nothing more to read: close once the output is sent


class HttpSession:
    """One connection's HTTP/1.1 exchange, fed with bytes, answering with bytes.

    ``receive(data)`` feeds what the peer sent (``b""`` for end of stream) and returns what
    to send. ``phase`` says what the session waits for (the driver picks the timer from
    it); after ``closing`` is set the driver sends the output and closes the connection
    (``drain`` tells it to read and drop what the client still sends first). ``handler``
    exceptions are answered with 500; nothing else raises out of ``receive``.
    """

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse], client_address=None,
                 handshake=None, *, max_header_bytes: int = MAX_HEADER_BYTES,
                 max_body_bytes: int = MAX_BODY_BYTES,
                 max_requests: int = MAX_REQUESTS_PER_CONNECTION):
        self.handler = handler
        self.client_address = client_address
        self.handshake = handshake
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.max_requests = max_requests
        self.phase = IDLE
        self.closing = False
        self.drain = False
        self.requests = 0
        self._eof = False
        self._fed = True
        self._new_cycle(b"")

    def _new_cycle(self, leftover: bytes) -> None:
        # A fresh h11 connection per request: our responses are encoded by HttpResponse (the
        # byte layout IIS sends), so h11 only ever reads. Leftover bytes are the next
        # pipelined request. One that was never fed (the request came from _parsed) serves on.
        if self._fed:
            self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_header_bytes)
            self._fed = bool(leftover)
        self._whole: bytes | None = None  # this request's bytes, while they may go to _parsed
        self._request: HttpRequest | None = None
        self._head_bytes = 0
        self._body_bytes = 0
        self._keep_alive = True
        self._continue_sent = False
        if leftover:
            self._h11.receive_data(leftover)
            self._head_bytes = len(leftover)
            self.phase = HEADERS
        else:
            self.phase = IDLE

    def receive(self, data: bytes) -> bytes:
        if self.closing:
            return b""
        out: list[bytes] = []
        if not data:
            self._eof = True
        elif self.phase == IDLE and not self._fed and data.endswith(b"\r\n\r\n") \
                and len(data) <= _PARSED_BYTES_MAX:
            data = bytes(data)
            parsed = _parsed.get((data, self.max_header_bytes, self.max_body_bytes))
            if parsed is not None:
                method, target, version, headers, self._keep_alive = parsed
                self._request = HttpRequest(method, target, version, dict(headers),
                                            self.client_address, self.handshake)
                self._respond(out)
                return b"".join(out)
            self._whole = data
        try:
            if data:
                if self.phase == IDLE:
                    self.phase = HEADERS
                if self._request is None:
                    self._head_bytes += len(data)
                self._fed = True
            self._h11.receive_data(data)
            self._process(out)
        except h11.RemoteProtocolError as exc:
            self._fail(out, httpsys_error(_error_page(exc)))
        except Exception:  # noqa: BLE001 — a parser surprise is the client's 400, never a crash
            log.exception("HTTP parsing failed for %s", self.client_address)
            self._fail(out, httpsys_error(BAD_REQUEST))
        # Only a request answered within this call was these bytes whole (one whose body, or
        # chunked end, comes in a later read was not).
        self._whole = None
        return b"".join(out)

    def _fail(self, out: list[bytes], response: HttpResponse) -> None:
        """Answer with ``response`` and close; after the end of the stream nobody reads an
        answer, so the connection is just closed."""
        if self._eof:
            self._close()
            return
        out.append(response.encode(keep_alive=False))
        self._close(drain=True)

    def _close(self, *, drain: bool = False) -> None:
        self.closing = True
        self.drain = drain
        self.phase = CLOSED

    def _process(self, out: list[bytes]) -> None:
        while not self.closing:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                if self._request is None and self._head_bytes > self.max_header_bytes:
                    self._fail(out, httpsys_error(REQUEST_TOO_LONG))
                return
            if isinstance(event, h11.ConnectionClosed):
                self._close()
                return
            if isinstance(event, h11.Request):
                if not self._start_request(event, out):
                    return
            elif isinstance(event, h11.Data):
                self._body_bytes += len(event.data)  # counted and dropped, as a static site does
                if self._body_bytes > self.max_body_bytes:
                    self._fail(out, _too_large())
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._respond(out)
            elif event is h11.PAUSED:  # pragma: no cover — _respond starts the next cycle
                return

    def _start_request(self, event: h11.Request, out: list[bytes]) -> bool:
        headers: dict[str, str] = {}
        for name, value in event.headers:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        trailing = len(self._h11.trailing_data[0])
        if self._head_bytes - trailing > self.max_header_bytes:
            self._fail(out, httpsys_error(REQUEST_TOO_LONG))
            return False
        if event.http_version not in (b"1.0", b"1.1"):
            self._fail(out, httpsys_error(BAD_REQUEST))
            return False
        host = headers.get("host")
        if host is not None and not _HOST.fullmatch(host.encode("latin-1")):
            self._fail(out, httpsys_error(INVALID_HOSTNAME))
            return False
        length = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        if length is not None and not chunked and int(length) > self.max_body_bytes:
            self._fail(out, _too_large())
            return False
        self._request = HttpRequest(
            event.method.decode("latin-1"), event.target.decode("latin-1"),
            "HTTP/" + event.http_version.decode("ascii"), headers, self.client_address,
            self.handshake)
        self._keep_alive = (event.http_version == b"1.1"
                            and headers.get("connection", "").lower() != "close"
                            # RFC 9112 §6.1: both framings -> close after the response
                            and not (chunked and length is not None))
        self.phase = BODY
        if self._h11.they_are_waiting_for_100_continue and not self._continue_sent:
            out.append(b"HTTP/1.1 100 Continue\r\n\r\n")  # http.sys answers Expect itself
            self._continue_sent = True
        return True

    def _respond(self, out: list[bytes]) -> None:
        request = self._request
        keep_alive = self._keep_alive
        if self._whole is not None and not self._body_bytes and not self._continue_sent \
                and not self._h11.trailing_data[0]:
            # The request was these bytes, whole: the next time they come they parse the same.
            if len(_parsed) >= _PARSED_MAX:
                _parsed.clear()
            key = (self._whole, self.max_header_bytes, self.max_body_bytes)
            _parsed[key] = (request.method, request.target, request.version,
                            dict(request.headers), keep_alive)
        try:
            response = self.handler(request)
            data = response.encode(head=request.method == "HEAD", keep_alive=keep_alive)
        except Exception:  # noqa: BLE001 — the site failed, not the connection
            log.exception("handler failed for %s", request.target)
            keep_alive = False
            data = HttpResponse(500, "Internal Server Error",
                                [("Server", "Microsoft-IIS/10.0")]).encode(keep_alive=False)
        out.append(data)
        self.requests += 1
        if not keep_alive or self.requests >= self.max_requests:
            self._close()
            return
        leftover, closed = self._h11.trailing_data
        self._new_cycle(leftover)
        if closed:
            self._h11.receive_data(b"")

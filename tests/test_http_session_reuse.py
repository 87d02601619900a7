"""What HttpSession keeps between requests: the parse of a request's bytes seen before, and a
static response's bytes within a second. Neither may change an answer: the same bytes get
the same response as a parse by h11 would give, whatever came before."""

from __future__ import annotations

import email.utils

import h11
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_tls_hardening import _requests

from schannel import http11
from schannel.http11 import HttpResponse, HttpSession, StaticResponse

GET = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture(autouse=True)
def _no_parses_kept():
    http11._parsed.clear()
    yield
    http11._parsed.clear()


class Recorder:
    """A handler that notes what it was asked."""

    def __init__(self):
        self.seen = []

    def __call__(self, request):
        self.seen.append((request.method, request.target, request.version, dict(request.headers),
                          request.client_address, request.handshake))
        return HttpResponse(200, "OK", [("Server", "Microsoft-IIS/10.0"), ("Date", "x")],
                            request.target.encode())


def _parses(monkeypatch) -> list:
    """Count the requests h11 parses."""
    calls = []
    real = h11.Connection.next_event

    def next_event(self):
        event = real(self)
        if isinstance(event, h11.Request):
            calls.append(event.target)
        return event

    monkeypatch.setattr(h11.Connection, "next_event", next_event)
    return calls


def test_the_same_bytes_are_parsed_once(monkeypatch):
    parses = _parses(monkeypatch)
    handler = Recorder()
    first = HttpSession(handler, ("10.0.0.1", 1), "handshake 1")
    second = HttpSession(handler, ("10.0.0.2", 2), "handshake 2")
    out = [first.receive(GET), first.receive(GET), second.receive(GET)]
    assert parses == [b"/a.txt"]
    assert out[0] == out[1] == out[2] and out[0].startswith(b"HTTP/1.1 200 OK\r\n")
    # Each request is its connection's: its client address and handshake.
    assert [s[4:] for s in handler.seen] == [(("10.0.0.1", 1), "handshake 1"),
                                             (("10.0.0.1", 1), "handshake 1"),
                                             (("10.0.0.2", 2), "handshake 2")]
    assert first.requests == 2 and first.phase == http11.IDLE and not first.closing


def test_a_handler_changing_the_headers_changes_no_later_request(monkeypatch):
    def handler(request):
        seen.append(dict(request.headers))
        request.headers["host"] = "changed"
        return HttpResponse(200, "OK", [("Date", "x")])

    seen = []
    session = HttpSession(handler)
    session.receive(GET)
    session.receive(GET)
    assert seen == [{"host": "localhost"}, {"host": "localhost"}]


def test_connection_close_is_kept_with_the_parse():
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    for _ in range(2):
        session = HttpSession(Recorder())
        assert session.receive(request).startswith(b"HTTP/1.1 200 OK\r\n")
        assert session.closing and not session.drain


@pytest.mark.parametrize("pieces", [
    # The body comes in a later read: these header bytes alone are not a whole request.
    [b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\n", b"abc"],
    [b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"0\r\n\r\n"],
    # A body in the same read; two pipelined requests; an Expect answered with 100.
    [b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nab\r\n\r\n"],
    [GET + GET],
    [b"POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"],
])
def test_only_a_request_taken_whole_with_no_body_is_kept(pieces):
    session = HttpSession(Recorder())
    for piece in pieces:
        session.receive(piece)
    assert http11._parsed == {}


def test_headers_whose_body_comes_later_are_never_answered_alone(monkeypatch):
    """The chunked request's header bytes, then its last chunk: twice, the same answer (the
    second time the headers must not be taken for a whole request)."""
    head = b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    answers = []
    for _ in range(2):
        session = HttpSession(Recorder())
        assert session.receive(head) == b""
        answers.append(session.receive(b"0\r\n\r\n"))
    assert answers[0] == answers[1] and answers[0].startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_bad_request_is_never_kept():
    bad = b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"
    for _ in range(2):
        session = HttpSession(Recorder())
        assert session.receive(bad).startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert http11._parsed == {}


def test_the_kept_parses_are_bounded(monkeypatch):
    monkeypatch.setattr(http11, "_PARSED_MAX", 3)
    session = HttpSession(Recorder())
    for n in range(7):
        session.receive(b"GET /%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % n)
    assert 1 <= len(http11._parsed) <= 3


def test_limits_are_part_of_what_is_kept():
    """A request under one session's header limit is over a smaller one's: 431's page."""
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n"
    assert HttpSession(Recorder()).receive(request).startswith(b"HTTP/1.1 200 OK")
    small = HttpSession(Recorder(), max_header_bytes=100).receive(request)
    assert small.startswith(b"HTTP/1.1 400 Bad Request") and b"Request Too Long" in small


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(_requests(), min_size=1, max_size=4))
def test_a_kept_parse_answers_as_h11_does(requests):
    """Each request alone on a connection, first with nothing kept (h11 parses every one),
    then again with what the first pass kept: the same answers, the same requests handled."""
    runs = []
    for _ in range(2):
        handler = Recorder()
        answers = []
        for request in requests:
            session = HttpSession(handler, ("127.0.0.1", 1))
            answers.append((session.receive(request), session.phase, session.closing,
                            session.drain, session.requests))
        runs.append((answers, handler.seen))
        if not http11._parsed:
            break  # nothing kept: the second pass would be the first again
    assert runs[0] == runs[-1]
    http11._parsed.clear()


# Whole requests, two at once, a request's head whose body or last chunk comes in the next
# read, that body, and the end of the stream.
_READS = [GET, GET + GET, b"",
          b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
          b"0\r\n\r\n",
          b"POST /y HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\n", b"abc"]


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(reads=st.lists(st.one_of(_requests(), st.sampled_from(_READS)), min_size=1, max_size=6))
@example(reads=[_READS[3], _READS[4], GET])
def test_one_connection_answers_the_same_with_or_without_kept_parses(reads):
    """Reads on one keep-alive connection (a request each, two at once, the end of the
    stream): h11 alone (nothing kept between reads), then twice with the parses kept (the
    first pass keeps them, the second finds them). The same answers and the same state."""

    def run(keep: bool):
        handler = Recorder()
        session = HttpSession(handler, ("127.0.0.1", 1))
        trace = []
        for data in reads:
            if not keep:
                http11._parsed.clear()
            trace.append((session.receive(data), session.phase, session.closing,
                          session.drain, session.requests))
            if session.closing:
                break
        return trace, handler.seen

    http11._parsed.clear()
    alone = run(keep=False)
    run(keep=True)
    assert run(keep=True) == alone
    http11._parsed.clear()


# -- StaticResponse: the bytes of a second ------------------------------------------------

def _static():
    return StaticResponse(headers=[("Content-Type", "text/plain"), ("Server", "Microsoft-IIS/10.0")],
                          body=b"hello")


@pytest.mark.parametrize("head, keep_alive", [(False, True), (True, True), (False, False)])
def test_a_static_response_is_the_response_it_stands_for(monkeypatch, head, keep_alive):
    monkeypatch.setattr(http11.time, "time", lambda: 1_700_000_000.75)
    monkeypatch.setattr(email.utils.time, "time", lambda: 1_700_000_000.75)
    plain = HttpResponse(headers=_static().headers, body=b"hello")
    static = _static()
    assert static.encode(head=head, keep_alive=keep_alive) \
        == plain.encode(head=head, keep_alive=keep_alive)
    assert b"Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n" in static.encode(head=head,
                                                                         keep_alive=keep_alive)


def test_a_static_response_dates_each_second(monkeypatch):
    now = [1_700_000_000.1]
    monkeypatch.setattr(http11.time, "time", lambda: now[0])
    static = _static()
    first = static.encode()
    now[0] = 1_700_000_000.9
    assert static.encode() is first  # the same second: the bytes already made
    now[0] = 1_700_000_001.0
    later = static.encode()
    assert b"22:13:21 GMT" in later and later.replace(b":21 GMT", b":20 GMT") == first

"""schannel.tls under hostile clients (issue "Security and robustness", items 2 and 7):
HTTP parsing by h11 with http.sys's answers, and availability while slowloris and
half-open connections are held (timers shortened through ``timeouts``)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from helpers_abuse import Abuse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tls_endpoint import Pki

from schannel.http11 import HttpResponse, HttpSession, HttpTimeouts
from schannel.tls import SoftwareServerKey, TlsEndpoint


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def endpoint(pki, **kw):
    return TlsEndpoint(pki.chain("p256"), SoftwareServerKey(pki.keys["p256"]), **kw)


def exchange(address, pki, request: bytes, timeout: float = 3.0) -> bytes:
    """Send ``request`` and read until the server closes (or ``timeout`` passes: raises)."""
    with socket.create_connection(address, timeout=timeout) as raw, \
            pki.client().wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(request)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data


def split_response(data: bytes) -> tuple[bytes, list[tuple[str, str]], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status.encode(), [tuple(line.split(": ", 1)) for line in lines], body


# http.sys's 400 page (Vista and later), as captured responses show it: CRLF line ends,
# Content-Length 311 for "Bad Request", 339 for "Invalid Header"; "Invalid Hostname" is
# the same page with its own heading and sentence.
HTTPSYS_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    b"<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n"
    b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    b"<BODY><h2>%s</h2>\r\n<hr><p>HTTP Error 400. %s</p>\r\n</BODY></HTML>\r\n"
)
INVALID_HEADER = HTTPSYS_PAGE % (b"Bad Request - Invalid Header",
                                 b"The request has an invalid header name.")
INVALID_HOSTNAME = HTTPSYS_PAGE % (b"Bad Request - Invalid Hostname",
                                   b"The request hostname is invalid.")


def test_httpsys_page_lengths_match_captured_responses():
    assert len(HTTPSYS_PAGE % (b"Bad Request", b"The request is badly formed.")) == 311
    assert len(INVALID_HEADER) == 339


# ---------------------------------------------------------------------------------------
# Item 7: each of these was mishandled by the hand-written parser
# ---------------------------------------------------------------------------------------

CLOSE = b"Connection: close\r\n"


@pytest.mark.parametrize("request_bytes,page", [
    # RFC 9112 §6.3: an invalid Content-Length is unrecoverable -> 400. The old parser took
    # the 5000 digits, then int() refused them and the connection closed without an answer.
    (b"POST / HTTP/1.1\r\nHost: localhost\r\n" + CLOSE + b"Content-Length: " + b"9" * 5000
     + b"\r\n\r\n", INVALID_HEADER),
    # RFC 9112 §6.3: differing Content-Length values -> 400 (http.sys: "Invalid Header").
    (b"POST / HTTP/1.1\r\nHost: localhost\r\n" + CLOSE
     + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", INVALID_HEADER),
    # RFC 9112 §5.1: no whitespace between field name and colon; a server MUST answer 400.
    (b"GET / HTTP/1.1\r\nHost : localhost\r\n" + CLOSE + b"\r\n", INVALID_HEADER),
    # RFC 9112 §3.2: an HTTP/1.1 request without Host MUST get 400.
    (b"GET / HTTP/1.1\r\n" + CLOSE + b"\r\n", INVALID_HOSTNAME),
    # RFC 9112 §3.2 (invalid Host value) and the IIS support blog "HTTP 400 Bad Request when
    # client sends invalid HTTP:Host header value": a Host with a scheme and a path.
    (b"GET / HTTP/1.1\r\nHost: https://localhost/vdir\r\n" + CLOSE + b"\r\n", INVALID_HOSTNAME),
], ids=["content-length-5000-digits", "duplicate-content-length", "space-before-colon",
        "http11-without-host", "host-with-path"])
def test_bad_requests_get_httpsys_400(pki, request_bytes, page):
    with endpoint(pki) as ep:
        data = exchange(ep.address, pki, request_bytes)
    status, headers, body = split_response(data)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert [name for name, _ in headers] == ["Content-Type", "Server", "Date", "Connection",
                                             "Content-Length"]
    assert dict(headers)["Content-Type"] == "text/html; charset=us-ascii"
    assert dict(headers)["Server"] == "Microsoft-HTTPAPI/2.0"
    assert dict(headers)["Connection"] == "close"
    assert dict(headers)["Content-Length"] == str(len(page))
    assert body == page


def test_bare_lf_line_ends_are_answered(pki):
    # RFC 9112 §2.2: a recipient MAY take a bare LF as a line terminator. The old parser
    # waited for CRLFCRLF until its read timeout (10 s), answering nothing.
    with endpoint(pki) as ep:
        start = time.monotonic()
        data = exchange(ep.address, pki, b"GET / HTTP/1.1\nHost: localhost\nConnection: close\n\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"IIS Windows Server" in data
    assert time.monotonic() - start < 2


def test_413_is_received_although_the_body_keeps_coming(pki):
    """After an error answer the rest of the request is read and dropped (DrainEntityBody),
    so that the client reads the answer instead of a connection reset."""
    body = b"x" * (2 * 1024 * 1024)
    request = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 30000001\r\n\r\n" + body
    with endpoint(pki) as ep:
        data = exchange(ep.address, pki, request, timeout=5)
        assert ep.failures == 0
    assert data.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")


def test_idle_keep_alive_connection_is_closed_quietly(pki):
    errors = []
    timeouts = HttpTimeouts(idle_connection=0.3)
    with endpoint(pki, timeouts=timeouts, on_error=lambda a, e: errors.append(e)) as ep:
        with socket.create_connection(ep.address, timeout=5) as raw, \
                pki.client().wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"</html>" not in data:
                data += tls.recv(65536)
            start = time.monotonic()
            assert tls.recv(1) == b""  # IdleConnection expired: the server closed
            assert time.monotonic() - start < 3
        assert errors == [] and ep.failures == 0


# ---------------------------------------------------------------------------------------
# Item 2: availability under slow and silent clients
# ---------------------------------------------------------------------------------------


def test_a_new_connection_that_never_speaks_holds_no_worker(pki):
    """A new connection goes straight to a worker, which waits once, briefly, for its
    ClientHello; one that never sends it is back with the event loop (evictable, timed)
    within milliseconds, and the workers serve a good client meanwhile."""
    with endpoint(pki, workers=2) as ep:
        silent = [socket.create_connection(ep.address, timeout=5) for _ in range(3)]
        try:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and (
                    len(ep._conns) < 3 or any(c.busy for c in list(ep._conns.values()))):
                time.sleep(0.01)
            assert len(ep._conns) == 3 and not any(c.busy for c in ep._conns.values())
            started = time.monotonic()
            assert exchange(ep.address, pki, b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                            + CLOSE + b"\r\n").startswith(b"HTTP/1.1 200 OK")
            assert time.monotonic() - started < 1.0
        finally:
            for s in silent:
                s.close()


def test_at_the_cap_the_longest_silent_connection_makes_room(pki):
    with endpoint(pki, max_connections=16) as ep:
        silent = [socket.create_connection(ep.address, timeout=5) for _ in range(40)]
        try:
            deadline = time.monotonic() + 5
            while ep.evictions < 24 and time.monotonic() < deadline:
                time.sleep(0.01)
            for _ in range(3):
                assert exchange(ep.address, pki, b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                                + CLOSE + b"\r\n").startswith(b"HTTP/1.1 200 OK")
            assert ep.connections <= 16
            assert silent[0].recv(1) == b""  # the oldest silent one was closed
        finally:
            for s in silent:
                s.close()
    assert ep.evictions >= 24


def test_good_client_is_served_while_slowloris_and_half_open_connections_are_held(pki):
    """64 clients trickling one header byte at a time and 100 that never speak, each opened
    again when the server cuts it: a well-behaved client still gets 9 answers in 10, and
    the attack costs the server no thread."""
    timeouts = HttpTimeouts(header_wait=1.5, entity_body=1.5, idle_connection=1.5,
                            drain_entity_body=1.0)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + CLOSE + b"\r\n"
    with endpoint(pki, timeouts=timeouts, io_timeout=1.0, workers=4) as ep:
        threads_before = threading.active_count()
        abuse = Abuse(ep.address, slow=64, half_open=100, interval=0.25, duration=30).start()
        try:
            assert abuse.ready.wait(15), abuse.stats
            served = 0
            for _ in range(10):
                try:
                    served += exchange(ep.address, pki, request).startswith(b"HTTP/1.1 200 OK")
                except OSError:
                    pass
                time.sleep(0.2)
            threads_during = threading.active_count()
        finally:
            stats = abuse.stop()
        peak = ep.peak_connections
    assert served >= 9, stats
    assert peak >= 64 + 100  # the attack really was held
    assert threads_during == threads_before + 1  # the attacker's thread; none for the server
    assert stats["slow_cut"] > 0 and stats["bytes_trickled"] > 64  # HeaderWait cut them


# ---------------------------------------------------------------------------------------
# The parsing layer, sans-IO: any bytes give a response or a clean close, never an exception
# ---------------------------------------------------------------------------------------

_EOL = st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\r\n"])
_FIELDS = st.one_of(
    st.sampled_from([
        b"Host: localhost", b"Host : x", b"Host:", b"Host: a/b", b"Content-Length: 3",
        b"Content-Length: 0", b"Content-Length: -1", b"Content-Length: " + b"9" * 5000,
        b"Content-Length: 1, 2", b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip",
        b"Expect: 100-continue", b"Connection: close", b" folded", b"X:", b":", b"\x00: y",
    ]),
    st.binary(max_size=24),
)


@st.composite
def _requests(draw):
    eol = draw(_EOL)
    line = b" ".join([
        draw(st.sampled_from([b"GET", b"POST", b"HEAD", b"OPTIONS", b"", b"G\x00T"])),
        draw(st.sampled_from([b"/", b"/a?b=c", b"*", b"", b"http://x/", b"/\xff"])),
        draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.", b"", b"http/1.1"])),
    ])
    fields = draw(st.lists(_FIELDS, max_size=5))
    body = draw(st.sampled_from([b"", b"abc", b"3\r\nabc\r\n0\r\n\r\n", b"zz\r\n"]))
    return line + eol + b"".join(f + eol for f in fields) + eol + body


def _responses(out: bytes) -> list[int]:
    """Split what the session sent into responses; every one must be well-formed."""
    statuses = []
    while out:
        head, sep, rest = out.partition(b"\r\n\r\n")
        assert sep, out[:80]
        status_line, *lines = head.split(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 ") and status_line[9:12].isdigit()
        status = int(status_line[9:12])
        statuses.append(status)
        headers = dict(line.split(b": ", 1) for line in lines)
        length = 0 if status == 100 else int(headers[b"Content-Length"])
        out = rest[length:]
    return statuses


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.one_of(st.binary(max_size=400),
                        st.lists(_requests(), min_size=1, max_size=3).map(b"".join)),
       cuts=st.lists(st.integers(min_value=0, max_value=420), max_size=6))
def test_any_bytes_get_a_response_or_a_clean_close(stream, cuts):
    def handler(request):
        return HttpResponse(200, "OK", [("Server", "Microsoft-IIS/10.0")])

    outcomes = []
    bounds = sorted(cuts)
    split = [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]
    for pieces in ([stream], split):
        session = HttpSession(handler, ("127.0.0.1", 1))
        out = b""
        for piece in pieces:
            if piece:
                out += session.receive(piece)  # never raises
        out += session.receive(b"")  # end of stream
        assert session.closing  # the session always comes to an end: no hang
        statuses = _responses(out)
        # An error answer is the last thing on the connection.
        assert all(s < 400 for s in statuses[:-1])
        outcomes.append([s for s in statuses if s != 100])
    # However the bytes are cut into reads, the answers are the same.
    assert outcomes[0] == outcomes[1]


def test_serve_passes_the_timers_and_limits_to_the_endpoint(make_machine):
    """schannel.serve: the binding's key still signs in its provider, with the endpoint
    options (http.sys timers, cap, workers) passed through."""
    import ssl

    from test_serve import _bind, _get

    from capi import use_machine
    from schannel import serve

    m = make_machine(os_version="2022")  # TLS 1.3 from Windows Server 2022 on
    timeouts = HttpTimeouts(header_wait=5.0, idle_connection=0.5)
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443", timeouts=timeouts, max_connections=32, workers=2) as ep:
            version, data = _get(ep.address, ctx.pbCertEncoded, ssl.TLSVersion.TLSv1_3)
            assert ep.key.sign_calls >= 1
            assert ep.timeouts == timeouts and ep._max_connections == 32
            assert len(ep._worker_threads) == 2
    assert data.startswith(b"HTTP/1.1 200 OK") and b"Microsoft-IIS/10.0" in data

"""Issue "Security and robustness", item 2: a well-behaved client against schannel.tls's
TlsEndpoint, alone and while 64 slowloris clients (one header byte every 2 s) and 500
half-open TCP connections are held (each opened again when the server cuts it), with the
endpoint's default timers (http.sys's: HeaderWait 120 s, io_timeout 10 s).

Measured in one run: the good client's success rate and median latency (TCP connect, full
handshake, GET, response read to the end) without and with the abuse, their ratio, the
server's threads and the process's resident memory while the abuse is held. The attackers
run in a subprocess, so their sockets and TLS state stay out of the measured memory.
Before the event loop: 64 slow clients took every connection slot for up to 120 s and
500 half-open connections cut service to 60 %.

Run with `make bench` (-s prints the figures; they are also in the benchmark's extra_info).
"""

from __future__ import annotations

import json
import pathlib
import selectors
import statistics
import subprocess
import sys
import threading
import time

import pytest
from test_tls_bench import REQUEST, pki  # noqa: F401 — pki: that module's fixture

from schannel.tls import SoftwareServerKey, TlsEndpoint

SLOW, HALF_OPEN, TRICKLE_INTERVAL = 64, 500, 2.0
BASELINE_REQUESTS = 40
ABUSE_WINDOW = 20.0  # seconds of good-client requests while the abuse is held
PAUSE = 0.2  # between good-client requests
SUCCESS_GOAL = 0.9  # at least 9 answers in 10 under abuse
LATENCY_RATIO_LIMIT = 10.0  # median latency under abuse / alone
RSS_LIMIT = 64 * 1024 * 1024  # growth of the serving process while 564 connections are held
HELPER = pathlib.Path(__file__).resolve().parent.parent / "helpers_abuse.py"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _good_client(address, client) -> float | None:
    import socket

    start = time.perf_counter()
    try:
        with socket.create_connection(address, timeout=5) as raw, \
                client.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(REQUEST)
            data = b""
            while chunk := tls.recv(16384):
                data += chunk
    except OSError:
        return None
    return time.perf_counter() - start if data.startswith(b"HTTP/1.1 200 OK") else None


def _summary(results: list[float | None]) -> tuple[float, float]:
    ok = [r for r in results if r is not None]
    return len(ok) / len(results), statistics.median(ok) if ok else float("inf")


def _wait_line(proc, want: str, timeout: float) -> str | None:
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if sel.select(max(0.0, end - time.monotonic())):
                line = proc.stdout.readline()
                if not line or line.startswith(want):
                    return line or None
    return None


# None: the default cap (above the 564 attackers: everything is held); 256: the attackers
# overflow it and the longest-silent connections are evicted as new ones arrive.
@pytest.mark.parametrize("cap", [None, 256], ids=["default-cap", "cap-256"])
def test_bench_good_client_under_slowloris_and_half_open(benchmark, pki, cap):  # noqa: F811
    if benchmark.disabled:
        pytest.skip("the abuse scenario (~30 s) runs only with --benchmark-enable (make bench)")
    from cryptography.hazmat.primitives import serialization

    key = SoftwareServerKey(pki["key"])
    leaf = pki["leaf"].public_bytes(serialization.Encoding.DER)
    client = pki["client"]
    with TlsEndpoint([leaf], key, max_connections=cap) as endpoint:
        _good_client(endpoint.address, client)  # warm up
        baseline = []
        for _ in range(BASELINE_REQUESTS):
            baseline.append(_good_client(endpoint.address, client))
            time.sleep(PAUSE)
        threads_alone, rss_alone = threading.active_count(), _rss()
        host, port = endpoint.address
        proc = subprocess.Popen(
            [sys.executable, str(HELPER), host, str(port), str(SLOW), str(HALF_OPEN),
             str(TRICKLE_INTERVAL), str(ABUSE_WINDOW + 60)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            if cap is None:
                assert _wait_line(proc, "READY", 30), "the attackers could not open everything"
            else:  # more attackers than room: wait until they fill it
                deadline = time.monotonic() + 30
                while endpoint.connections < cap and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert endpoint.connections >= cap, endpoint.connections
            under_abuse = []
            end = time.monotonic() + ABUSE_WINDOW
            threads_abuse, rss_abuse, held = 0, 0, 0
            while time.monotonic() < end:
                under_abuse.append(_good_client(endpoint.address, client))
                threads_abuse = max(threads_abuse, threading.active_count())
                rss_abuse = max(rss_abuse, _rss())
                held = max(held, endpoint.connections)
                time.sleep(PAUSE)
            proc.stdin.close()  # the attackers stop and report
            line = _wait_line(proc, "{", 20)
            stats = json.loads(line) if line else {}
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        peak = endpoint.peak_connections
        benchmark.pedantic(_good_client, args=(endpoint.address, client), rounds=1, iterations=1)
    alone_rate, alone_latency = _summary(baseline)
    abuse_rate, abuse_latency = _summary(under_abuse)
    ratio = abuse_latency / alone_latency
    figures = dict(
        good_alone_success=round(alone_rate, 3), good_alone_median_ms=round(alone_latency * 1e3, 2),
        good_abuse_success=round(abuse_rate, 3), good_abuse_median_ms=round(abuse_latency * 1e3, 2),
        latency_ratio=round(ratio, 2), good_requests_under_abuse=len(under_abuse),
        server_connections_held=held, peak_connections=peak,
        threads_alone=threads_alone, threads_under_abuse=threads_abuse,
        rss_growth_mib=round((rss_abuse - rss_alone) / 2**20, 1),
        attackers_mean_slow=round(stats.get("mean_held_slow", 0), 1),
        attackers_mean_half_open=round(stats.get("mean_held_half_open", 0), 1),
        slowloris_bytes=stats.get("bytes_trickled"), evictions=endpoint.evictions,
        cap=cap or "default",
    )
    benchmark.extra_info.update(figures)
    print("\n" + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert alone_rate == 1.0
    if cap is None:  # the whole attack was held at once
        assert stats.get("mean_held_slow", 0) >= 0.9 * SLOW
        assert stats.get("mean_held_half_open", 0) >= 0.9 * HALF_OPEN
        assert held >= SLOW + HALF_OPEN
    else:  # it overflowed the cap, which held
        assert held <= cap and endpoint.evictions > 0
    assert abuse_rate >= SUCCESS_GOAL
    assert ratio <= LATENCY_RATIO_LIMIT
    assert threads_abuse == threads_alone  # the attack costs the server no thread
    assert rss_abuse - rss_alone <= RSS_LIMIT

"""Slowloris and half-open clients against a loopback TLS endpoint, for the availability
tests (issue "Security and robustness", item 2).

``Abuse`` keeps ``slow`` TLS connections that each send one header byte every ``interval``
seconds (never finishing their request) and ``half_open`` TCP connections that send
nothing; a connection the server cuts is opened again, so the pressure holds for the whole
run. One thread drives everything; it stops by itself at ``duration`` (or on ``stop()``).
Run as a script (``python helpers_abuse.py HOST PORT SLOW HALF_OPEN INTERVAL DURATION``)
it prints its counters as JSON, so a benchmark can keep the attackers' memory out of the
measured process. Loopback addresses only.
"""

from __future__ import annotations

import json
import selectors
import socket
import ssl
import sys
import threading
import time

HEADER = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 4000


def _loopback(address):
    if address[0] not in ("127.0.0.1", "::1"):
        raise ValueError("abuse clients talk to loopback addresses only")
    return address


class Abuse:
    def __init__(self, address, *, slow=64, half_open=100, interval=2.0, duration=10.0,
                 connects_per_tick=16):
        self.address = _loopback(tuple(address))
        self.slow_target, self.half_open_target = slow, half_open
        self.interval, self.duration = interval, duration
        self.connects_per_tick = connects_per_tick
        self.client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.client.check_hostname = False
        self.client.verify_mode = ssl.CERT_NONE
        self.slow: dict[ssl.SSLSocket, list] = {}  # socket -> [next send time, bytes sent]
        self.half: dict[socket.socket, None] = {}
        self.sel = selectors.DefaultSelector()
        self.stats = {"slow_connects": 0, "slow_failures": 0, "slow_cut": 0,
                      "half_open_connects": 0, "half_open_failures": 0, "half_open_cut": 0,
                      "bytes_trickled": 0, "min_held_slow": None, "min_held_half_open": None,
                      "mean_held_slow": 0.0, "mean_held_half_open": 0.0}
        self._held_ticks = 0
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set once every connection was open at least once

    # -- connections ------------------------------------------------------------------

    def _open_slow(self) -> None:
        raw = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET)
        raw.settimeout(5)
        try:
            raw.connect(self.address)
            tls = self.client.wrap_socket(raw, server_hostname="localhost")
        except OSError:
            raw.close()
            self.stats["slow_failures"] += 1
            return
        tls.settimeout(1)
        self.slow[tls] = [time.monotonic(), 0]
        self.stats["slow_connects"] += 1

    def _open_half(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET)
        sock.settimeout(5)
        try:
            sock.connect(self.address)
        except OSError:
            sock.close()
            self.stats["half_open_failures"] += 1
            return
        sock.setblocking(False)
        self.half[sock] = None
        self.sel.register(sock, selectors.EVENT_READ)
        self.stats["half_open_connects"] += 1

    def _drop_slow(self, tls) -> None:
        self.slow.pop(tls, None)
        self.stats["slow_cut"] += 1
        tls.close()

    def _drop_half(self, sock) -> None:
        self.half.pop(sock, None)
        self.sel.unregister(sock)
        self.stats["half_open_cut"] += 1
        sock.close()

    # -- the driver -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        # Half the connects for each kind, so that neither starves the other when the
        # server keeps cutting connections.
        for _ in range(max(1, self.connects_per_tick // 2)):
            if len(self.slow) < self.slow_target:
                self._open_slow()
            if len(self.half) < self.half_open_target:
                self._open_half()
        for tls, state in list(self.slow.items()):
            if state[0] > now:
                continue
            byte = HEADER[state[1] % len(HEADER):][:1]
            try:
                tls.sendall(byte)
            except OSError:
                self._drop_slow(tls)
                continue
            state[0] = now + self.interval
            state[1] += 1
            self.stats["bytes_trickled"] += 1
        for key, _ in self.sel.select(0):  # a half-open socket turns readable when cut
            try:
                if key.fileobj.recv(1) == b"":
                    self._drop_half(key.fileobj)
            except BlockingIOError:
                pass
            except OSError:
                self._drop_half(key.fileobj)
        if len(self.slow) == self.slow_target and len(self.half) == self.half_open_target:
            self.ready.set()
        if self.ready.is_set() or now - self._started >= 2.0:  # counted after a warm-up
            self._held_ticks += 1
            for name, held in (("slow", len(self.slow)), ("half_open", len(self.half))):
                old = self.stats[f"min_held_{name}"]
                self.stats[f"min_held_{name}"] = held if old is None else min(old, held)
                mean = self.stats[f"mean_held_{name}"]
                self.stats[f"mean_held_{name}"] = mean + (held - mean) / self._held_ticks

    def run(self) -> dict:
        self._started = time.monotonic()
        end = self._started + self.duration
        try:
            while not self._stop.is_set() and (now := time.monotonic()) < end:
                self._tick(now)
                self._stop.wait(0.05)
        finally:
            for tls in list(self.slow):
                tls.close()
            for sock in list(self.half):
                self.sel.unregister(sock)
                sock.close()
            self.slow.clear()
            self.half.clear()
            self.sel.close()
        return self.stats

    def start(self) -> Abuse:
        self._thread = threading.Thread(target=self.run, name="abuse", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.duration + 10)
        return self.stats


def main(argv: list[str]) -> None:
    """Run until ``duration`` or until standard input closes; print "READY" once every
    connection is open, then the counters as JSON."""
    host, port, slow, half, interval, duration = argv[:6]
    abuse = Abuse((host, int(port)), slow=int(slow), half_open=int(half),
                  interval=float(interval), duration=float(duration), connects_per_tick=64)

    def announce():
        if abuse.ready.wait(float(duration)):
            print("READY", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), abuse._stop.set()), daemon=True).start()
    print(json.dumps(abuse.run()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

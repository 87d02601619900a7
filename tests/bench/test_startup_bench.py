"""How fast a tool starts: `winpki <tool> ...` as a fresh process against the time of
``python -c "import cryptography.x509"`` (the least any certificate tool must load),
both with bytecode already cached. Every tool must start within 1.5x of that.

Under `make test` (--benchmark-disable) each command runs once as a smoke test; the
timing comparison runs with `make bench`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import pytest
from ratio import benchmarks_enabled

BASELINE = [sys.executable, "-c", "import cryptography.x509"]
COMMANDS = {
    "certutil -store My": ["certutil", "-store", "My"],
    "certutil -user -store My": ["certutil", "-user", "-store", "My"],
    "netsh http show sslcert": ["netsh", "http", "show", "sslcert"],
    "wevtutil qe System /c:1": ["wevtutil", "qe", "System", "/c:1"],
    "appcmd list site": ["appcmd", "list", "site"],
    "icacls": ["icacls", r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys"],
    "certreq -?": ["certreq", "-?"],
}
RATIO = 1.5
ROUNDS = 15


@pytest.fixture(scope="module")
def child_env(tmp_path_factory):
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the measurement is of a warm install
    env["WINPKI_MACHINE"] = str(tmp_path_factory.mktemp("startup") / "m")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _winpki(args):
    return [sys.executable, "-m", "winpki", *args]


def _run(cmd, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return time.perf_counter() - t0


@pytest.mark.parametrize("name", list(COMMANDS))
def test_tool_starts(name, child_env):
    """Smoke: the command runs as a process and does not end in a traceback."""
    proc = subprocess.run(_winpki(COMMANDS[name]), env=child_env, capture_output=True,
                          text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr


def test_startup_within_ratio(benchmark, request, child_env):
    """Median wall time of each command within 1.5x of importing cryptography.x509.

    Uses the ``benchmark`` fixture once so that ``--benchmark-only`` keeps it."""
    if not benchmarks_enabled(request.config):
        pytest.skip("timing comparison runs only with benchmarks enabled (make bench)")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    cmds = {"baseline": BASELINE, **{k: _winpki(v) for k, v in COMMANDS.items()}}
    for cmd in cmds.values():  # warm: bytecode written, machine created
        _run(cmd, child_env)
        _run(cmd, child_env)
    times = {k: [] for k in cmds}
    for _ in range(ROUNDS):  # interleaved, so that load from elsewhere hits all alike
        for k, cmd in cmds.items():
            times[k].append(_run(cmd, child_env))
    base = statistics.median(times["baseline"])
    ratios = {k: statistics.median(v) / base for k, v in times.items() if k != "baseline"}
    report = f"baseline {base * 1e3:.0f} ms; " + ", ".join(
        f"{k} {r:.2f}x" for k, r in ratios.items())
    print(report)
    assert all(r <= RATIO for r in ratios.values()), report

"""Deterministic crash points for kill -9 tests.

Code that must survive a process being killed marks the steps between which a kill
could fall with :func:`crash_point`. Unarmed (the normal case) it is a function that
returns at once. Armed, the process kills itself with SIGKILL when the N-th crash point
is reached: no ``finally`` block, no atexit handler, no SQLite commit or rollback runs, as
when ``kill -9`` lands there.

Arming: the environment variable ``WINPKI_CRASH_AT`` (read once, at import) or
:func:`arm` (a forked child). The value is ``N`` (the N-th crash point of any name) or
``NAME:N`` (the N-th time NAME is reached). "0" kills nowhere and only counts (:func:`points_passed`),
so a test can learn how many points a whole operation passes. Callers reach the hook as
``crashpoints.crash_point(...)`` (a module attribute), so arming rebinds it everywhere.
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point", "arm", "disarm", "points_passed"]

ENV = "WINPKI_CRASH_AT"

_target_name: str | None = None
_target_index = 0
_passed: list[str] = []


def _noop(name: str) -> None:
    return None


def _die() -> None:
    kill = getattr(signal, "SIGKILL", None)
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)  # no SIGKILL on this host: leave without any cleanup all the same


def _counting(name: str) -> None:
    _passed.append(name)
    if _target_index <= 0:
        return
    if _target_name is None:
        hit = len(_passed) == _target_index
    else:
        hit = name == _target_name and _passed.count(name) == _target_index
    if hit:
        _die()


crash_point = _noop


def arm(spec: str | int | None) -> None:
    """Kill this process at the crash point ``spec`` (``N`` or ``NAME:N``); ``0`` or ``""``
    only counts the points passed (see :func:`points_passed`)."""
    global crash_point, _target_name, _target_index
    text = str(spec).strip() if spec is not None else ""
    name, _, index = text.rpartition(":")
    _target_name = name or None
    _target_index = int(index) if index else 0
    _passed.clear()
    crash_point = _counting


def disarm() -> None:
    global crash_point
    _passed.clear()
    crash_point = _noop


def points_passed() -> list[str]:
    """The crash points passed since :func:`arm` (names, in order)."""
    return list(_passed)


if os.environ.get(ENV):
    arm(os.environ[ENV])

"""The current machine and the current identity the facade acts on: ``use_machine``
and ``run_as`` are context managers over context variables, so they are thread- and
task-safe; without ``use_machine`` the machine is the one WINPKI_MACHINE names, else a
default machine in the user's data directory. Internals take machine and token as
arguments; only the facade reads these."""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from capi.host.machine import Machine

if TYPE_CHECKING:
    from capi.host.accounts import Sid, Token

_current_machine: contextvars.ContextVar[Machine | None] = contextvars.ContextVar(
    "winpki_machine", default=None
)


_current_identity: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "winpki_identity", default=None
)


_default_lock = threading.Lock()


_default_machines: dict[str, Machine] = {}


def default_machine_path() -> Path:
    env = os.environ.get("WINPKI_MACHINE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("winpki")) / "machine"


# Set by the command line: what to do when the machine WINPKI_MACHINE names does not
# exist yet (the library creates it; the tools refuse, naming the path).
_missing_machine_hook: contextvars.ContextVar = contextvars.ContextVar(
    "winpki_missing_machine_hook", default=None)


@contextlib.contextmanager
def on_missing_machine(hook) -> Iterator[None]:
    """While active, ``current_machine`` calls ``hook(path)`` instead of creating a
    WINPKI_MACHINE machine that does not exist (the hook raises)."""
    token = _missing_machine_hook.set(hook)
    try:
        yield
    finally:
        _missing_machine_hook.reset(token)


def machine_in_use() -> Machine | None:
    """The machine ``use_machine`` made current in this thread/task, or None."""
    return _current_machine.get()


def current_machine() -> Machine:
    """The machine the facade acts on: use_machine(), else WINPKI_MACHINE, else default."""
    m = _current_machine.get()
    if m is not None:
        return m
    path = default_machine_path()
    hook = _missing_machine_hook.get()
    if hook is not None and os.environ.get("WINPKI_MACHINE") \
            and not (path / Machine.DB_NAME).is_file():
        hook(path)
    key = str(path.resolve()) if path.exists() else str(path.absolute())
    with _default_lock:
        m = _default_machines.get(key)
        if m is None:
            m = Machine.open_or_create(path)
            _default_machines[key] = m
    return m


@contextlib.contextmanager
def use_machine(machine: Machine | str | os.PathLike) -> Iterator[Machine]:
    """Make ``machine`` (or the machine at a path) current in this thread/task."""
    if not isinstance(machine, Machine):
        machine = Machine.open(machine)
    token = _current_machine.set(machine)
    try:
        yield machine
    finally:
        _current_machine.reset(token)


@contextlib.contextmanager
def run_as(account: str | Sid | Token | None) -> Iterator[str | Sid | Token | None]:
    """Act as ``account`` (a name Windows accepts, a SID string, or a Token).

    The token is resolved against the current machine when the identity is used, so
    ``run_as`` may be entered before or inside ``use_machine``.
    """
    from capi.host.accounts import resolve_token

    # Validate early, against the current machine, so a bad name fails at the `with`.
    resolve_token(current_machine(), account)
    token = _current_identity.set(account)
    try:
        yield account
    finally:
        _current_identity.reset(token)


def current_token(machine: Machine | None = None) -> Token:
    """The access token of the current identity on ``machine`` (default: current one)."""
    from capi.host.accounts import resolve_token

    machine = machine or current_machine()
    return resolve_token(machine, _current_identity.get())


__all__ = [
    "current_machine", "use_machine", "run_as", "current_token",
]

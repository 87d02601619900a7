r"""Files that appear together with their security descriptor, or not at all.

A simulated file lives in two places: its bytes under ``fs/`` and its security
descriptor in the ``path_sd`` table. A process can be killed between the two, so a new
file is published in this order, every step inside the caller's write transaction:

1. the bytes go to a staged file, ``pending/<pid>.<n>.tmp`` in the machine directory
   (written and fsync'd before anything points at it);
2. a marker ``pending/<pid>.<n>.target`` names the Windows path it is for;
3. the staged file is hard-linked to that path, and the SD row is written;
4. the transaction commits: the SD row and the file now exist together;
5. after the commit (or the rollback) the staged file and the marker are removed.

The SD row is the commit record: a file whose marker is still there and whose path has
no ``path_sd`` row was published by a transaction that never committed. :func:`recover`
(run by ``Machine.open``) deletes such files, and leftover staged files of processes that
no longer run; a committed file is never touched. A rollback inside a live process
unlinks the file before the database rolls back (``Machine.on_rollback``), so no other
process can see it without its SD either.

Several files published in one transaction (all keys of one PFX import, the keys and
the certificates of ``certutil -importPFX``) are all or nothing together.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from pathlib import Path

from capi.host import crashpoints

__all__ = ["PENDING_DIR", "stage", "publish_new", "replace_with", "recover", "pending_entries"]

PENDING_DIR = "pending"
_TMP = ".tmp"
_TARGET = ".target"
_counter = itertools.count()


def _pending(machine) -> Path:
    return Path(machine.path) / PENDING_DIR


def stage(machine, data: bytes) -> Path:
    """Write ``data`` to a new staged file (fsync'd) and return its path."""
    folder = _pending(machine)
    folder.mkdir(exist_ok=True)
    path = folder / f"{os.getpid()}.{os.urandom(6).hex()}{next(_counter)}{_TMP}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    crashpoints.crash_point("journal.staged")
    return path


def discard(staged: Path) -> None:
    """Remove a staged file and its marker (either may be gone already)."""
    for path in (staged, staged.with_suffix(_TARGET)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def publish_new(machine, staged: Path, winpath: str, sd) -> bool:
    """Make ``staged`` the new file ``winpath`` with security descriptor ``sd``, in the
    current write transaction (one is opened when there is none). False when ``winpath``
    exists already (nothing is changed; ``staged`` is removed)."""
    from capi.host.security import set_file_sd

    host = machine.host_path(winpath)
    with machine.transaction():
        machine.after_transaction(lambda: discard(staged))
        marker = staged.with_suffix(_TARGET)
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, winpath.encode("utf-8"))
        finally:
            os.close(fd)
        crashpoints.crash_point("journal.marked")
        try:
            os.link(staged, host)
        except FileExistsError:
            return False
        machine.on_rollback(lambda: _unpublish(host))
        crashpoints.crash_point("journal.linked")
        set_file_sd(machine, winpath, sd)
        crashpoints.crash_point("journal.sd")
    return True


def _unpublish(host: Path) -> None:
    """Undo a publication on rollback: the name was new in this transaction, so whatever
    is there now (the file, or what a later replace in the same transaction made of it)
    goes."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(host)


def replace_with(machine, staged: Path, host: Path) -> None:
    """Atomically replace the existing file ``host`` by ``staged`` (its SD is kept)."""
    try:
        os.replace(staged, host)
    except BaseException:
        discard(staged)
        raise
    crashpoints.crash_point("journal.replaced")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # no signal-0 probe there: treat as running, keep its files
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def pending_entries(machine) -> list[str]:
    """The names in the machine's pending folder (tests: empty after recovery)."""
    try:
        return sorted(os.listdir(_pending(machine)))
    except FileNotFoundError:
        return []


def recover(machine, *, timeout: float = 2.0) -> list[str]:
    """Finish what killed processes left: delete files published by transactions that
    never committed, and stray staged files. Returns the Windows paths deleted.

    Runs under the database's write lock, so no live transaction is between linking a
    file and committing its SD. When the lock cannot be had within ``timeout`` seconds
    (a long transaction elsewhere) nothing is done; the next open tries again.
    """
    folder = _pending(machine)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    me = os.getpid()
    stems: dict[str, int] = {}
    for name in names:
        stem, _, ext = name.rpartition(".")
        pid_text = stem.split(".", 1)[0]
        if not pid_text.isdigit() or f".{ext}" not in (_TMP, _TARGET):
            continue
        pid = int(pid_text)
        if pid != me:
            stems[stem] = pid
    if not stems:
        return []
    from capi.host.paths import path_key

    removed: list[str] = []
    conn = sqlite3.connect(Path(machine.path) / machine.DB_NAME, timeout=timeout,
                           isolation_level=None)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return []
        try:
            for stem, pid in sorted(stems.items()):
                staged = folder / f"{stem}{_TMP}"
                marker = folder / f"{stem}{_TARGET}"
                try:
                    winpath = marker.read_text(encoding="utf-8")
                except FileNotFoundError:
                    winpath = None
                except (OSError, UnicodeDecodeError):
                    winpath = ""
                if winpath is None:
                    # Staged only (a replace, or a publish before its marker): the owner
                    # may still be writing it unless it is dead.
                    if not _pid_alive(pid):
                        discard(staged)
                    continue
                if winpath:
                    try:
                        key = path_key(winpath)
                        host = machine.host_path(winpath)
                    except Exception:  # a marker we did not write: leave the file alone
                        key = host = None
                    if key is not None:
                        row = conn.execute("SELECT 1 FROM path_sd WHERE path = ?", (key,)).fetchone()
                        if row is None and host.is_file():
                            # Linked, never committed: the transaction died with its owner.
                            host.unlink()
                            removed.append(winpath)
                discard(staged)
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
    return removed

"""The simulated Windows host: a directory holding an SQLite database and a file tree.

Layout of a machine directory::

    machine.db        SQLite (WAL): stores, accounts, security descriptors, IIS, events...
    secrets/          the DPAPI stand-in's machine secret (never key material)
    fs/c/...          the simulated C: drive; components are stored lower-cased because
                      Windows paths are case-insensitive. Users only ever see and type
                      Windows paths; :meth:`Machine.host_path` is the one mapping.

The facade acts on the *current* machine and identity (:func:`use_machine`,
:func:`run_as`), kept in context variables so threads and asyncio tasks each see their
own. Internals take the machine they act on as an argument.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

from capi.errors import E_INVALIDARG, ERROR_FILE_EXISTS, ERROR_PATH_NOT_FOUND, WinError
from capi.host import crashpoints
from capi.host.osversions import OSVersion, os_version
from capi.host.paths import normalize_winpath

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Certificate store elements, one serialized element each (the Windows "Blob" value),
-- keyed as Windows keys them: upper-case hex SHA-1 within a store.
CREATE TABLE IF NOT EXISTS certs (
    location TEXT NOT NULL,          -- 'LocalMachine' or 'CurrentUser:<SID>'
    store    TEXT NOT NULL,          -- canonical store name, e.g. 'My'
    sha1     TEXT NOT NULL,          -- upper-case hex
    seq      INTEGER NOT NULL,       -- insertion order (enumeration order)
    blob     BLOB NOT NULL,
    PRIMARY KEY (location, store, sha1)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS certs_by_seq ON certs (location, store, seq);
-- A counter every change to a store element bumps (by trigger, whatever the connection or
-- process): caches of chain results compare it in one row read (store_version()).
CREATE TABLE IF NOT EXISTS certs_version (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    version INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS certs_version_insert AFTER INSERT ON certs BEGIN
    INSERT INTO certs_version (id, version) VALUES (0, 1)
        ON CONFLICT (id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS certs_version_update AFTER UPDATE ON certs BEGIN
    INSERT INTO certs_version (id, version) VALUES (0, 1)
        ON CONFLICT (id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS certs_version_delete AFTER DELETE ON certs BEGIN
    INSERT INTO certs_version (id, version) VALUES (0, 1)
        ON CONFLICT (id) DO UPDATE SET version = version + 1;
END;
-- Names of system-registry stores that exist per location (the predefined ones are
-- implicit; others are created by CertOpenStore without OPEN_EXISTING).
CREATE TABLE IF NOT EXISTS stores (
    location TEXT NOT NULL,
    store    TEXT NOT NULL,          -- as created (display case)
    PRIMARY KEY (location, store COLLATE NOCASE)
);
-- Local accounts (users and groups) with their relative identifiers.
CREATE TABLE IF NOT EXISTS accounts (
    name     TEXT PRIMARY KEY COLLATE NOCASE,
    sid      TEXT NOT NULL UNIQUE,
    kind     TEXT NOT NULL,          -- 'user' | 'group'
    groups   TEXT NOT NULL DEFAULT '' -- comma-separated SIDs of local groups it belongs to
);
-- Security descriptors of simulated file-system objects, by normalized Windows path.
CREATE TABLE IF NOT EXISTS path_sd (
    path TEXT PRIMARY KEY,           -- lower-cased normalized Windows path
    sddl TEXT NOT NULL
) WITHOUT ROWID;
-- IIS: application pools, sites and bindings (applicationHost.config).
CREATE TABLE IF NOT EXISTS iis_app_pools (
    name          TEXT PRIMARY KEY COLLATE NOCASE,
    identity_type TEXT NOT NULL,     -- ApplicationPoolIdentity | NetworkService | LocalSystem | LocalService | SpecificUser
    username      TEXT,
    state         TEXT NOT NULL DEFAULT 'Started'
);
CREATE TABLE IF NOT EXISTS iis_sites (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    app_pool      TEXT NOT NULL,
    physical_path TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'Started'
);
CREATE TABLE IF NOT EXISTS iis_bindings (
    site_id       INTEGER NOT NULL REFERENCES iis_sites(id) ON DELETE CASCADE,
    protocol      TEXT NOT NULL,
    binding_info  TEXT NOT NULL,     -- '*:443:' (ip:port:host)
    cert_hash     TEXT,
    cert_store    TEXT,
    ssl_flags     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, protocol, binding_info)
);
-- The event log.
CREATE TABLE IF NOT EXISTS events (
    record_id INTEGER PRIMARY KEY AUTOINCREMENT,
    log       TEXT NOT NULL,
    source    TEXT NOT NULL,
    event_id  INTEGER NOT NULL,
    level     INTEGER NOT NULL,      -- 1 critical, 2 error, 3 warning, 4 information
    time      TEXT NOT NULL,         -- ISO 8601 UTC
    user_sid  TEXT,
    computer  TEXT NOT NULL,
    message   TEXT NOT NULL,
    data      TEXT NOT NULL DEFAULT '{}'
);
-- Key providers registered at run time (PKCS#11 tokens...).
CREATE TABLE IF NOT EXISTS providers (
    name   TEXT PRIMARY KEY COLLATE NOCASE,
    kind   TEXT NOT NULL,            -- 'csp' | 'ksp'
    config TEXT NOT NULL             -- JSON
);
"""


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (sqlite3's own notion of complete)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _machine_sid_from_guid(guid: str) -> str:
    digest = hashlib.sha256(guid.encode("ascii")).digest()
    a, b, c = (int.from_bytes(digest[i : i + 4], "little") for i in (0, 4, 8))
    return f"S-1-5-21-{a}-{b}-{c}"


class Machine:
    """A simulated Windows host rooted at a directory."""

    DB_NAME = "machine.db"

    def __init__(self, path: Path, *, _meta: dict[str, str]):
        self.path = Path(path)
        self.computer_name: str = _meta["computer_name"]
        self.machine_guid: str = _meta["machine_guid"]
        self.machine_sid: str = _meta["machine_sid"]
        self.os: OSVersion = os_version(_meta["os_version"])
        self._local = threading.local()
        self._schema_done: set[str] = set()
        self._schema_lock = threading.Lock()
        # Bumped by every write transaction this object commits: a reader in this process
        # that caches configuration sees its own process's changes at once (another
        # process's through the database itself). See cached().
        self.generation = 0
        self._cached: dict = {}

    # -- construction -----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        computer_name: str = "WEBSERVER",
        os_version: str = "2019",  # noqa: A002 - the contract's parameter name
        machine_guid: str | None = None,
    ) -> Machine:
        """Create a new machine in ``path`` (which must not hold one already)."""
        import uuid  # imported when used: a tool starts faster

        from capi.host.osversions import os_version as _osv

        osv = _osv(os_version)
        if not re.fullmatch(r"[A-Za-z0-9-]{1,15}", computer_name or ""):
            raise WinError(E_INVALIDARG, detail=f"computer name {computer_name!r}")
        guid = str(uuid.UUID(machine_guid)) if machine_guid else str(uuid.uuid4())
        root = Path(path)
        if (root / cls.DB_NAME).exists():
            raise WinError(ERROR_FILE_EXISTS, detail=str(root))
        root.mkdir(parents=True, exist_ok=True)
        (root / "fs").mkdir(exist_ok=True)
        secrets = root / "secrets"
        secrets.mkdir(exist_ok=True)
        os.chmod(secrets, 0o700)
        meta = {
            "schema_version": str(SCHEMA_VERSION),
            "computer_name": computer_name.upper(),
            "os_version": osv.key,
            "machine_guid": guid.lower(),
            "machine_sid": _machine_sid_from_guid(guid.lower()),
        }
        machine = cls(root, _meta=meta)
        with machine.transaction() as db:
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
            from capi.host import provisioning

            provisioning.provision(machine, db)
        return machine

    @classmethod
    def open(cls, path: str | os.PathLike) -> Machine:
        """Open the machine in ``path``; ERROR_PATH_NOT_FOUND when there is none."""
        root = Path(path)
        dbfile = root / cls.DB_NAME
        if not dbfile.is_file():
            raise WinError(ERROR_PATH_NOT_FOUND, detail=f"no machine in {root}")
        conn = sqlite3.connect(dbfile, timeout=30)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise WinError(ERROR_PATH_NOT_FOUND, detail=f"not a machine database: {exc}") from exc
        finally:
            conn.close()
        machine = cls(root, _meta=meta)
        # Files a killed process published without committing their security
        # descriptors (capi.host.journal) are removed before anyone reads them.
        from capi.host.journal import recover

        recover(machine)
        # A machine created before its configuration had security descriptors gets the
        # Windows defaults now, never "no descriptor, so allowed".
        from capi.host.objectsd import upgrade

        upgrade(machine)
        return machine

    @classmethod
    def open_or_create(cls, path: str | os.PathLike, **kwargs) -> Machine:
        root = Path(path)
        if (root / cls.DB_NAME).is_file():
            return cls.open(root)
        try:
            return cls.create(root, **kwargs)
        except WinError as exc:
            if exc.winerror == ERROR_FILE_EXISTS:  # another process won the race
                return cls.open(root)
            raise

    # -- database ----------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections are not shared across threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path / self.DB_NAME, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
            self._local.pid = os.getpid()
            self._local.depth = 0
        return conn

    def store_version(self) -> int:
        """A number that changes whenever a certificate is added to, removed from or
        rewritten in any store, by any connection (the certs_version trigger counter)."""
        row = self.db.execute("SELECT version FROM certs_version").fetchone()
        return row[0] if row is not None else 0

    def cached(self, key, max_age: float, read):
        """``read()``'s value, read again when this object has committed a write since
        (``generation``) or ``max_age`` seconds have passed (a change another process or
        another Machine on the same files made). For state read on a hot path (a request,
        a signature) whose changes from elsewhere may take that long to be seen."""
        now = time.monotonic()
        hit = self._cached.get(key)
        if hit is not None and hit[0] == self.generation and now - hit[1] < max_age:
            return hit[2]
        generation = self.generation  # before the read: a write during it forces the next
        value = read()
        self._cached[key] = (generation, now, value)
        return value

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE), re-entrant within one thread."""
        db = self.db
        if self._local.depth:
            self._local.depth += 1
            try:
                yield db
            finally:
                self._local.depth -= 1
            return
        db.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        self._local.undo, self._local.after = [], []
        try:
            yield db
            crashpoints.crash_point("db.commit")
            db.execute("COMMIT")
        except BaseException:
            self._local.depth = 0
            # Undo file-system changes while the write lock is still held, so no other
            # process sees a file whose database rows are being rolled back.
            for undo in reversed(self._local.undo):
                with contextlib.suppress(Exception):
                    undo()
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._run_after()
            raise
        self._local.depth = 0
        self.generation += 1
        crashpoints.crash_point("db.committed")
        self._run_after()

    def on_rollback(self, fn) -> None:
        """Call ``fn()`` if the current write transaction rolls back (before the rollback,
        under the write lock): the undo of a file-system change made inside it."""
        if not getattr(self._local, "depth", 0):
            raise RuntimeError("on_rollback outside a transaction")
        self._local.undo.append(fn)

    def after_transaction(self, fn) -> None:
        """Call ``fn()`` once the current write transaction has committed or rolled back."""
        if not getattr(self._local, "depth", 0):
            raise RuntimeError("after_transaction outside a transaction")
        self._local.after.append(fn)

    def _run_after(self) -> None:
        after, self._local.after, self._local.undo = self._local.after, [], []
        for fn in after:
            with contextlib.suppress(Exception):
                fn()

    def ensure_schema(self, key: str, sql: str) -> None:
        """Run a component's CREATE ... IF NOT EXISTS script once per process.

        Statements run one at a time on this thread's connection, so inside a transaction
        they join it (``executescript`` would commit the caller's transaction first). Only
        outside a transaction is the schema remembered as done: a rollback would undo it.
        """
        if key in self._schema_done:
            return
        with self._schema_lock:
            if key in self._schema_done:
                return
            db = self.db
            for statement in _statements(sql):
                db.execute(statement)
            if not db.in_transaction:
                self._schema_done.add(key)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- the simulated file system --------------------------------------------------------

    def host_path(self, winpath: str | PureWindowsPath) -> Path:
        """The real file behind a Windows path of this machine. Never outside ``fs/``."""
        norm = normalize_winpath(str(winpath))
        drive = norm.drive[0].lower()
        parts = [p.lower() for p in norm.parts[1:]]
        host = self.path / "fs" / drive
        for part in parts:
            host = host / part
        return host

    @property
    def program_data(self) -> str:
        return self.os.program_data

    @property
    def machine_keys_dir(self) -> str:
        r"""CAPI RSA machine keys: ...\Microsoft\Crypto\RSA\MachineKeys."""
        return self.os.program_data + r"\Microsoft\Crypto\RSA\MachineKeys"

    @property
    def cng_machine_keys_dir(self) -> str:
        r"""CNG machine keys: ...\Microsoft\Crypto\Keys."""
        return self.os.program_data + r"\Microsoft\Crypto\Keys"

    def roaming_appdata(self, profile_dir: str) -> str:
        """A profile's roaming application-data folder on this Windows version."""
        if self.os.key == "2003":
            return profile_dir + r"\Application Data"
        return profile_dir + r"\AppData\Roaming"

    def user_rsa_dir(self, profile_dir: str, sid: str) -> str:
        return self.roaming_appdata(profile_dir) + rf"\Microsoft\Crypto\RSA\{sid}"

    def user_cng_dir(self, profile_dir: str) -> str:
        return self.roaming_appdata(profile_dir) + r"\Microsoft\Crypto\Keys"

    def __repr__(self) -> str:
        return (
            f"<Machine {self.computer_name} ({self.os.product}) guid={self.machine_guid} "
            f"at {self.path}>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Machine) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(str(self.path.resolve()))


# ---------------------------------------------------------------------------------------
# The current machine and identity (facade only)
# ---------------------------------------------------------------------------------------


__all__ = [
    "Machine",
]

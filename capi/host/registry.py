r"""The machine's registry: keys and values in the machine's SQLite, each key with its
security descriptor.

Keys are found by path, case-insensitively, as the configuration manager compares names
(``HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\<CA>``);
the case a key was created with is the case it is enumerated and printed with. Values
keep the bytes Windows keeps (REG_SZ as UTF-16LE with its terminating NUL, REG_DWORD as
four little-endian bytes…) and are enumerated in the order they were first set.

Every key has a security descriptor, kept as key files keep theirs (SDDL in the
machine state, checked with :meth:`SecurityDescriptor.access_check` through the key
generic mapping): a key created without one stores what it inherits from its parent
(CreatePrivateObjectSecurityEx), a pre-existing key with none stored inherits from its
nearest ancestor. HKLM\SOFTWARE and HKLM\SYSTEM give Administrators and SYSTEM full
control and Users read, inheritable to every subkey ("Registry Key Security and Access
Rights", Microsoft docs, for KEY_* rights; the default HKLM permissions as regedit shows
them). HKEY_CURRENT_USER is HKEY_USERS\<SID of the caller>, created on first use (the
profile load) and owned by that user.

Errors are the LSTATUS values the Reg* functions return: ERROR_FILE_NOT_FOUND (2) for a
key or value that does not exist, ERROR_ACCESS_DENIED (5) when the caller's token lacks
the right the operation needs (KEY_QUERY_VALUE, KEY_SET_VALUE, KEY_CREATE_SUB_KEY,
KEY_ENUMERATE_SUB_KEYS, DELETE), ERROR_INVALID_PARAMETER for data that does not fit the
type, ERROR_BADKEY for a path that names no hive.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from capi.errors import (
    ERROR_ACCESS_DENIED,
    ERROR_BADKEY,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    WinError,
)
from capi.host.accounts import system_token
from capi.host.security import (
    DELETE,
    GENERIC_MAPPING,
    KEY_ALL_ACCESS,
    KEY_EXECUTE,
    KEY_READ,
    KEY_WRITE,
    SecurityDescriptor,
)

# winnt.h value types
REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_LITTLE_ENDIAN = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11
REG_QWORD_LITTLE_ENDIAN = 11

REG_TYPE_NAMES = {REG_NONE: "REG_NONE", REG_SZ: "REG_SZ", REG_EXPAND_SZ: "REG_EXPAND_SZ",
                  REG_BINARY: "REG_BINARY", REG_DWORD: "REG_DWORD",
                  REG_DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN", REG_LINK: "REG_LINK",
                  REG_MULTI_SZ: "REG_MULTI_SZ", REG_QWORD: "REG_QWORD"}
REG_TYPES = {v: k for k, v in REG_TYPE_NAMES.items()}

# winnt.h specific rights of registry keys
KEY_QUERY_VALUE = 0x0001
KEY_SET_VALUE = 0x0002
KEY_CREATE_SUB_KEY = 0x0004
KEY_ENUMERATE_SUB_KEYS = 0x0008
KEY_NOTIFY = 0x0010
KEY_CREATE_LINK = 0x0020
# The registry's generic mapping: GENERIC_READ -> KEY_READ, GENERIC_WRITE -> KEY_WRITE,
# GENERIC_EXECUTE -> KEY_EXECUTE, GENERIC_ALL -> KEY_ALL_ACCESS ("Registry Key Security
# and Access Rights", Microsoft docs).
KEY_GENERIC_MAPPING = GENERIC_MAPPING(KEY_READ, KEY_WRITE, KEY_EXECUTE, KEY_ALL_ACCESS)

# RegCreateKeyEx dispositions
REG_CREATED_NEW_KEY = 1
REG_OPENED_EXISTING_KEY = 2

HKEY_CLASSES_ROOT = "HKEY_CLASSES_ROOT"
HKEY_CURRENT_USER = "HKEY_CURRENT_USER"
HKEY_LOCAL_MACHINE = "HKEY_LOCAL_MACHINE"
HKEY_USERS = "HKEY_USERS"
HKEY_CURRENT_CONFIG = "HKEY_CURRENT_CONFIG"
ROOT_ABBREVIATIONS = {"HKLM": HKEY_LOCAL_MACHINE, "HKCU": HKEY_CURRENT_USER,
                      "HKCR": HKEY_CLASSES_ROOT, "HKU": HKEY_USERS, "HKCC": HKEY_CURRENT_CONFIG}
_ROOTS = {name: name for name in (HKEY_CLASSES_ROOT, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE,
                                  HKEY_USERS, HKEY_CURRENT_CONFIG)}
# HKCR and HKCC are views of keys of HKLM (the per-user merge of HKCR is not modelled).
_VIEWS = {HKEY_CLASSES_ROOT: r"HKEY_LOCAL_MACHINE\SOFTWARE\Classes",
          HKEY_CURRENT_CONFIG: r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Hardware Profiles\Current"}

# Administrators and SYSTEM full control, Users read, inherited by every subkey.
HKLM_SDDL = "O:BAG:SYD:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;BU)"
# The hive roots themselves: readable, no key is created directly below them.
_ROOT_SDDL = "O:SYG:SYD:P(A;;KR;;;WD)"
_SYSTEM_ONLY_SDDL = "O:SYG:SYD:PAI(A;CI;KA;;;SY)"
MAX_KEY_NAME = 255          # characters in one key name ("Registry Element Size Limits")
MAX_VALUE_NAME = 16383

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reg_keys (
    ukey   TEXT PRIMARY KEY,         -- upper-cased full path (case-insensitive lookups)
    path   TEXT NOT NULL,            -- full path as created
    parent TEXT,                     -- ukey of the parent; NULL for a hive root
    sddl   TEXT                      -- NULL: inherits from its nearest ancestor
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reg_keys_by_parent ON reg_keys (parent);
CREATE TABLE IF NOT EXISTS reg_values (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    ukey   TEXT NOT NULL,
    uname  TEXT NOT NULL,            -- upper-cased value name; '' is the default value
    name   TEXT NOT NULL,
    type   INTEGER NOT NULL,
    data   BLOB NOT NULL,
    UNIQUE (ukey, uname)
);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE', 'HKEY_LOCAL_MACHINE', NULL, '{_ROOT_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_USERS', 'HKEY_USERS', NULL, '{_ROOT_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SOFTWARE', 'HKEY_LOCAL_MACHINE\\SOFTWARE', 'HKEY_LOCAL_MACHINE', '{HKLM_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SYSTEM', 'HKEY_LOCAL_MACHINE\\SYSTEM', 'HKEY_LOCAL_MACHINE', '{HKLM_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\HARDWARE', 'HKEY_LOCAL_MACHINE\\HARDWARE', 'HKEY_LOCAL_MACHINE', '{HKLM_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SAM', 'HKEY_LOCAL_MACHINE\\SAM', 'HKEY_LOCAL_MACHINE', '{_SYSTEM_ONLY_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SECURITY', 'HKEY_LOCAL_MACHINE\\SECURITY', 'HKEY_LOCAL_MACHINE', '{_SYSTEM_ONLY_SDDL}');
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SOFTWARE\\CLASSES', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes', 'HKEY_LOCAL_MACHINE\\SOFTWARE', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SOFTWARE\\MICROSOFT', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft', 'HKEY_LOCAL_MACHINE\\SOFTWARE', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SOFTWARE\\MICROSOFT\\CRYPTOGRAPHY', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\MICROSOFT', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SOFTWARE\\POLICIES', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies', 'HKEY_LOCAL_MACHINE\\SOFTWARE', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet', 'HKEY_LOCAL_MACHINE\\SYSTEM', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET\\CONTROL', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET', NULL);
INSERT OR IGNORE INTO reg_keys VALUES ('HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET\\SERVICES', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET', NULL);
"""


def _ensure(machine) -> None:
    machine.ensure_schema("capi.host.registry", _SCHEMA)


# ---------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------


def split_root(path: str) -> tuple[str, str]:
    r"""(full root name, rest) of ``HKLM\Software\X`` / ``HKEY_LOCAL_MACHINE\Software\X``.
    ERROR_BADKEY when the first component names no hive."""
    text = (path or "").strip().strip("\\")
    head, _, rest = text.partition("\\")
    upper = head.upper()
    root = ROOT_ABBREVIATIONS.get(upper) or _ROOTS.get(upper)
    if root is None:
        raise WinError(ERROR_BADKEY, detail=f"no registry hive in {path!r}")
    parts = [p for p in rest.split("\\") if p] if rest else []
    if rest and len(parts) != len(rest.split("\\")):
        raise WinError(ERROR_BADKEY, detail=f"empty key name in {path!r}")
    for part in parts:
        if len(part) > MAX_KEY_NAME:
            raise WinError(ERROR_INVALID_PARAMETER, detail="key name longer than 255 characters")
    return root, "\\".join(parts)


def full_path(path: str, token=None) -> str:
    r"""The stored path ``path`` names for ``token``: HKCU is HKEY_USERS\<SID>, HKCR and
    HKCC the HKLM keys they show."""
    root, rest = split_root(path)
    if root == HKEY_CURRENT_USER:
        base = f"{HKEY_USERS}\\{token.user}" if token is not None else HKEY_USERS
    else:
        base = _VIEWS.get(root, root)
    return f"{base}\\{rest}" if rest else base


def _ukey(path: str) -> str:
    return path.upper()


def _parent(path: str) -> str | None:
    head, sep, _ = path.rpartition("\\")
    return head if sep else None


# ---------------------------------------------------------------------------------------
# Value data
# ---------------------------------------------------------------------------------------


def encode_value(value_type: int, value) -> bytes:
    """The bytes Windows stores for a Python ``value`` of ``value_type`` (bytes are taken
    as they are, as RegSetValueEx takes them for any type)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        if value_type in (REG_SZ, REG_EXPAND_SZ, REG_LINK):
            if not isinstance(value, str):
                raise TypeError
            return (value + "\0").encode("utf-16-le")
        if value_type == REG_MULTI_SZ:
            items = [value] if isinstance(value, str) else list(value)
            if not all(isinstance(s, str) for s in items):
                raise TypeError
            return "".join(s + "\0" for s in items if s).encode("utf-16-le") + b"\0\0"
        if value_type == REG_DWORD:
            return struct.pack("<I", int(value) & 0xFFFFFFFF if int(value) < 0 else int(value))
        if value_type == REG_DWORD_BIG_ENDIAN:
            return struct.pack(">I", int(value))
        if value_type == REG_QWORD:
            return struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF if int(value) < 0 else int(value))
    except (TypeError, ValueError, struct.error, OverflowError):
        pass
    raise WinError(ERROR_INVALID_PARAMETER, detail=f"{value!r} as {REG_TYPE_NAMES.get(value_type, value_type)}")


def decode_value(value_type: int, data: bytes):
    """The Python value of stored bytes: str, list[str], int or bytes."""
    if value_type in (REG_SZ, REG_EXPAND_SZ, REG_LINK):
        text = data.decode("utf-16-le", errors="replace")
        return text.split("\0", 1)[0]
    if value_type == REG_MULTI_SZ:
        text = data.decode("utf-16-le", errors="replace")
        items = text.split("\0")
        out = []
        for item in items:
            if not item:
                break
            out.append(item)
        return out
    if value_type == REG_DWORD and len(data) == 4:
        return struct.unpack("<I", data)[0]
    if value_type == REG_DWORD_BIG_ENDIAN and len(data) == 4:
        return struct.unpack(">I", data)[0]
    if value_type == REG_QWORD and len(data) == 8:
        return struct.unpack("<Q", data)[0]
    return bytes(data)


# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------


def _row(machine, path: str):
    return machine.db.execute("SELECT path, sddl FROM reg_keys WHERE ukey = ?",
                              (_ukey(path),)).fetchone()


def key_sd(machine, path: str) -> SecurityDescriptor:
    """The security descriptor of the key at the stored ``path`` (RegGetKeySecurity);
    ERROR_FILE_NOT_FOUND when there is no such key."""
    _ensure(machine)
    row = _row(machine, full_path(path))
    if row is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=path)
    if row[1]:
        return SecurityDescriptor.from_sddl(row[1], machine)
    parent = _parent(row[0])
    parent_sd = key_sd(machine, parent) if parent else None
    return SecurityDescriptor.for_new_object(parent_sd, system_token(machine), is_container=True,
                                             mapping=KEY_GENERIC_MAPPING)


def set_key_sd(machine, path: str, sd: SecurityDescriptor, token=None) -> None:
    """RegSetKeySecurity: needs WRITE_DAC on the key."""
    key = open_key(machine, path, token, 0x00040000)
    with machine.transaction() as db:
        db.execute("UPDATE reg_keys SET sddl = ? WHERE ukey = ?", (sd.to_sddl(), _ukey(key.path)))


def _check(machine, path: str, token, desired: int) -> int:
    sd = key_sd(machine, path)
    try:
        return sd.access_check(token, desired, KEY_GENERIC_MAPPING)
    except WinError:
        raise WinError(ERROR_ACCESS_DENIED, detail=f"{path} for 0x{desired:x}") from None


def _token(machine, token):
    return token if token is not None else system_token(machine)


def _ensure_user_hive(machine, token) -> None:
    """HKEY_USERS\\<SID> appears when the user's profile loads: owned by the user, full
    control for the user, SYSTEM and Administrators."""
    sid = str(token.user)
    path = f"{HKEY_USERS}\\{sid}"
    if _row(machine, path) is not None:
        return
    sddl = f"O:{sid}G:SYD:PAI(A;CI;KA;;;{sid})(A;CI;KA;;;SY)(A;CI;KA;;;BA)"
    with machine.transaction() as db:
        db.execute("INSERT OR IGNORE INTO reg_keys VALUES (?, ?, ?, ?)",
                   (_ukey(path), path, HKEY_USERS, sddl))


def _resolve(machine, path: str, token, *, load_hive: bool = False) -> str:
    _ensure(machine)
    root, rest = split_root(path)
    if root == HKEY_CURRENT_USER and (load_hive or not rest):
        _ensure_user_hive(machine, token)
    return full_path(path, token)


def provision(machine, db) -> None:
    """The hives of a new machine (run inside its creating transaction)."""
    import sqlite3

    current = ""
    for line in _SCHEMA.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            db.execute(current)
            current = ""
    # MachineGuid, written by setup: the value CAPI's unique container names derive from.
    db.execute("INSERT OR IGNORE INTO reg_values(ukey, uname, name, type, data) "
               "VALUES (?, 'MACHINEGUID', 'MachineGuid', ?, ?)",
               (r"HKEY_LOCAL_MACHINE\SOFTWARE\MICROSOFT\CRYPTOGRAPHY", REG_SZ,
                encode_value(REG_SZ, machine.machine_guid)))


@dataclass
class RegKey:
    """An open key (HKEY): the machine, the stored path as created, the caller's token
    and the access granted at open."""

    machine: object
    path: str
    token: object
    access: int

    def _need(self, right: int) -> None:
        if not self.access & right:
            raise WinError(ERROR_ACCESS_DENIED, detail=f"{self.path}: handle lacks 0x{right:x}")
        if _row(self.machine, self.path) is None:
            # ERROR_KEY_DELETED on a handle to a deleted key; the path-based callers here
            # see the key as missing.
            raise WinError(ERROR_FILE_NOT_FOUND, detail=self.path)

    def query_value(self, name: str | None = None) -> tuple[int, object]:
        """RegQueryValueEx: (type, value); ERROR_FILE_NOT_FOUND when it is not set."""
        value_type, data = self.query_value_raw(name)
        return value_type, decode_value(value_type, data)

    def query_value_raw(self, name: str | None = None) -> tuple[int, bytes]:
        self._need(KEY_QUERY_VALUE)
        row = self.machine.db.execute("SELECT type, data FROM reg_values WHERE ukey = ? AND uname = ?",
                                      (_ukey(self.path), (name or "").upper())).fetchone()
        if row is None:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{self.path} value {name!r}")
        return int(row[0]), bytes(row[1])

    def set_value(self, name: str | None, value_type: int, value) -> None:
        """RegSetValueEx with a Python value (bytes are stored as given)."""
        self.set_value_raw(name, value_type, encode_value(value_type, value))

    def set_value_raw(self, name: str | None, value_type: int, data: bytes) -> None:
        name = name or ""
        if len(name) > MAX_VALUE_NAME or not 0 <= int(value_type) <= 0xFFFFFFFF:
            raise WinError(ERROR_INVALID_PARAMETER, detail="value name or type")
        self._need(KEY_SET_VALUE)
        with self.machine.transaction() as db:
            cur = db.execute("UPDATE reg_values SET type = ?, data = ? WHERE ukey = ? AND uname = ?",
                             (int(value_type), bytes(data), _ukey(self.path), name.upper()))
            if cur.rowcount == 0:
                db.execute("INSERT INTO reg_values(ukey, uname, name, type, data) VALUES (?, ?, ?, ?, ?)",
                           (_ukey(self.path), name.upper(), name, int(value_type), bytes(data)))

    def delete_value(self, name: str | None = None) -> None:
        """RegDeleteValue: ERROR_FILE_NOT_FOUND when it is not set."""
        self._need(KEY_SET_VALUE)
        with self.machine.transaction() as db:
            cur = db.execute("DELETE FROM reg_values WHERE ukey = ? AND uname = ?",
                             (_ukey(self.path), (name or "").upper()))
            if cur.rowcount == 0:
                raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{self.path} value {name!r}")

    def enum_values(self) -> list[tuple[str, int, object]]:
        """RegEnumValue in order: (name, type, value) for each value, in the order set."""
        return [(n, t, decode_value(t, d)) for n, t, d in self.enum_values_raw()]

    def enum_values_raw(self) -> list[tuple[str, int, bytes]]:
        self._need(KEY_QUERY_VALUE)
        rows = self.machine.db.execute("SELECT name, type, data FROM reg_values WHERE ukey = ? "
                                       "ORDER BY seq", (_ukey(self.path),)).fetchall()
        return [(r[0], int(r[1]), bytes(r[2])) for r in rows]

    def enum_keys(self) -> list[str]:
        """RegEnumKeyEx in order: subkey names as created, sorted case-insensitively (the
        order the configuration manager keeps them in)."""
        self._need(KEY_ENUMERATE_SUB_KEYS)
        rows = self.machine.db.execute("SELECT path FROM reg_keys WHERE parent = ?",
                                       (_ukey(self.path),)).fetchall()
        names = [r[0].rpartition("\\")[2] for r in rows]
        return sorted(names, key=str.upper)

    def subkey_path(self, name: str) -> str:
        return f"{self.path}\\{name}"

    def close(self) -> None:
        self.access = 0

    def __enter__(self) -> RegKey:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stored_path(machine, path: str, token) -> str:
    """The key at ``path`` as stored (its case); ERROR_FILE_NOT_FOUND when there is none."""
    full = _resolve(machine, path, token)
    row = _row(machine, full)
    if row is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=full)
    return row[0]


def open_key(machine, path: str, token=None, access: int = KEY_READ) -> RegKey:
    """RegOpenKeyEx: the key at ``path`` with ``access`` (checked against its SD as
    ``token``; None acts as LocalSystem, as a service does). ERROR_FILE_NOT_FOUND,
    ERROR_ACCESS_DENIED."""
    token = _token(machine, token)
    stored = _stored_path(machine, path, token)
    granted = _check(machine, stored, token, access)
    return RegKey(machine, stored, token, granted)


def create_key(machine, path: str, token=None, access: int = KEY_ALL_ACCESS,
               sd: SecurityDescriptor | None = None) -> tuple[RegKey, int]:
    """RegCreateKeyEx: (key, REG_CREATED_NEW_KEY or REG_OPENED_EXISTING_KEY). Missing
    keys along the path are created, each needing KEY_CREATE_SUB_KEY on its parent; a new
    key's SD is what it inherits (or ``sd`` with the inherited ACEs added)."""
    token = _token(machine, token)
    full = _resolve(machine, path, token, load_hive=True)
    row = _row(machine, full)
    if row is not None:
        return RegKey(machine, row[0], token, _check(machine, row[0], token, access)), REG_OPENED_EXISTING_KEY
    # Walk up to the deepest existing ancestor.
    missing = []
    cursor = full
    while _row(machine, cursor) is None:
        parent = _parent(cursor)
        if parent is None:
            raise WinError(ERROR_BADKEY, detail=full)
        missing.append(cursor.rpartition("\\")[2])
        cursor = parent
    existing = _row(machine, cursor)[0]
    with machine.transaction() as db:
        parent_path = existing
        for depth, name in enumerate(reversed(missing)):
            _check(machine, parent_path, token, KEY_CREATE_SUB_KEY)
            child = f"{parent_path}\\{name}"
            explicit = sd if depth == len(missing) - 1 else None
            new_sd = SecurityDescriptor.for_new_object(key_sd(machine, parent_path), token,
                                                       is_container=True, explicit=explicit,
                                                       mapping=KEY_GENERIC_MAPPING)
            db.execute("INSERT INTO reg_keys VALUES (?, ?, ?, ?)",
                       (_ukey(child), child, _ukey(parent_path), new_sd.to_sddl()))
            parent_path = child
    return RegKey(machine, parent_path, token, _check(machine, parent_path, token, access)), REG_CREATED_NEW_KEY


def delete_key(machine, path: str, token=None, *, tree: bool = False) -> None:
    """RegDeleteKey (``tree=False``: a key with subkeys is ERROR_ACCESS_DENIED, as
    RegDeleteKey documents) or RegDeleteTree followed by deleting the key itself, as reg
    delete does. Each deleted key needs DELETE on itself; a hive root is never deleted."""
    token = _token(machine, token)
    stored = _stored_path(machine, path, token)
    if _parent(stored) in (None, HKEY_LOCAL_MACHINE, HKEY_USERS):
        raise WinError(ERROR_ACCESS_DENIED, detail=f"{stored} is a hive root")
    doomed = _subtree(machine, stored)
    if len(doomed) > 1 and not tree:
        raise WinError(ERROR_ACCESS_DENIED, detail=f"{stored} has subkeys")
    for key in doomed:
        _check(machine, key, token, DELETE | (KEY_ENUMERATE_SUB_KEYS if key != doomed[-1] or tree else 0))
    with machine.transaction() as db:
        for key in doomed:
            db.execute("DELETE FROM reg_values WHERE ukey = ?", (_ukey(key),))
            db.execute("DELETE FROM reg_keys WHERE ukey = ?", (_ukey(key),))


def _subtree(machine, path: str) -> list[str]:
    """``path`` and every key below it, deepest first."""
    out, stack = [], [path]
    while stack:
        current = stack.pop()
        out.append(current)
        rows = machine.db.execute("SELECT path FROM reg_keys WHERE parent = ?", (_ukey(current),)).fetchall()
        stack.extend(r[0] for r in rows)
    return sorted(out, key=lambda p: -p.count("\\"))


def key_exists(machine, path: str, token=None) -> bool:
    token = _token(machine, token)
    return _row(machine, _resolve(machine, path, token)) is not None


# -- one-call helpers (RegGetValue / RegSetKeyValue style) ------------------------------------


def query_value(machine, path: str, name: str | None, token=None) -> tuple[int, object]:
    """RegGetValue: (type, value) of ``name`` under ``path``."""
    with open_key(machine, path, token, KEY_QUERY_VALUE) as key:
        return key.query_value(name)


def get_value(machine, path: str, name: str | None, default=None, token=None):
    """The value of ``name`` under ``path``, or ``default`` when the key or value is not
    there (access is still checked)."""
    try:
        return query_value(machine, path, name, token)[1]
    except WinError as exc:
        if exc.winerror == ERROR_FILE_NOT_FOUND:
            return default
        raise


def set_value(machine, path: str, name: str | None, value_type: int, value, token=None) -> None:
    """RegSetKeyValue: create ``path`` if needed and set ``name``."""
    key, _ = create_key(machine, path, token, KEY_SET_VALUE)
    with key:
        key.set_value(name, value_type, value)


def delete_value(machine, path: str, name: str | None, token=None) -> None:
    """RegDeleteKeyValue."""
    with open_key(machine, path, token, KEY_SET_VALUE) as key:
        key.delete_value(name)


def enum_subkeys(machine, path: str, token=None) -> list[str]:
    with open_key(machine, path, token, KEY_ENUMERATE_SUB_KEYS) as key:
        return key.enum_keys()


def enum_values(machine, path: str, token=None) -> list[tuple[str, int, object]]:
    with open_key(machine, path, token, KEY_QUERY_VALUE) as key:
        return key.enum_values()


__all__ = [
    "REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_LITTLE_ENDIAN",
    "REG_DWORD_BIG_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_QWORD", "REG_QWORD_LITTLE_ENDIAN",
    "REG_TYPE_NAMES", "REG_TYPES", "KEY_QUERY_VALUE", "KEY_SET_VALUE", "KEY_CREATE_SUB_KEY",
    "KEY_ENUMERATE_SUB_KEYS", "KEY_NOTIFY", "KEY_CREATE_LINK", "KEY_GENERIC_MAPPING",
    "REG_CREATED_NEW_KEY", "REG_OPENED_EXISTING_KEY", "HKEY_CLASSES_ROOT", "HKEY_CURRENT_USER",
    "HKEY_LOCAL_MACHINE", "HKEY_USERS", "HKEY_CURRENT_CONFIG", "ROOT_ABBREVIATIONS",
    "HKLM_SDDL", "provision", "split_root", "full_path", "encode_value", "decode_value", "key_sd",
    "set_key_sd", "RegKey", "open_key", "create_key", "delete_key", "key_exists", "query_value",
    "get_value", "set_value", "delete_value", "enum_subkeys", "enum_values",
]

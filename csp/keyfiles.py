r"""Key files: one file per CAPI container or CNG key, in the simulated key folders.

- CAPI machine keys: ``...\Crypto\RSA\MachineKeys``; CAPI user keys:
  ``<profile>\AppData\Roaming\Microsoft\Crypto\RSA\<SID>``; CNG machine keys:
  ``...\Crypto\Keys``; CNG user keys: ``<profile>\AppData\Roaming\Microsoft\Crypto\Keys``.
- File names are the unique container names Windows derives (:func:`capi_unique_name`,
  :func:`cng_unique_name`); a container name only ever feeds a hash, so no name can make
  a file outside its folder.
- A file holds the public parts in the clear and the private key only as a DPAPI blob
  (machine secret for machine keys, the user's secret for user keys).
- Writes are atomic: a staged file (capi.host.journal), fsync, then link (create) or rename
  (replace). A new file and its security descriptor appear together when the write
  transaction commits; Machine.open removes what a killed process left half-published.
  Read-modify-write runs inside the machine's write transaction, which serializes
  processes sharing the machine.
- Every open checks the caller's token against the file's security descriptor in
  ``path_sd``; nothing else holds a copy of it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from capi.constants import CRYPTPROTECT_LOCAL_MACHINE
from capi.host import dpapi, journal
from csp import identity
from csp.base import KeyScope

# Access rights (winnt.h) checked on key files and folders.
FILE_READ_DATA = 0x0001
FILE_WRITE_DATA = 0x0002
FILE_ADD_FILE = FILE_WRITE_DATA
DELETE = 0x00010000
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000

CAPI = "capi"
CNG = "cng"
_FORMAT = {CAPI: "winpki-capi-container/1", CNG: "winpki-cng-key/1"}
_ENTROPY = {CAPI: b"winpki CAPI key container", CNG: b"winpki CNG key"}

# Default DACLs of new key files.
# CAPI machine key made by an administrator: certutil -v -store shows the file's SD as
# "D:PAI(A;;GAGR;;;BA)(A;;GAGR;;;SY)" / "Allow Full Control BUILTIN\Administrators",
# "Allow Full Control NT AUTHORITY\SYSTEM" (projectacrn acrn-hypervisor docs,
# waag-secure-boot tutorial, certreq-made Strong-provider machine key). A creator who is
# neither gets an ACE of its own (creator, SYSTEM, Administrators; docs/windows-facts.md §9 #4).
CAPI_MACHINE_ACES = "(A;;GAGR;;;BA)(A;;GAGR;;;SY)"
CAPI_CREATOR_ACE = "(A;;GAGR;;;{sid})"
# CNG machine key: certutil -v -csp KSP -key shows "Security Descr: D:P(A;OICI;0xd01f01ff;;;SY)
# (A;OICI;0xd01f01ff;;;BA)" (k6ncrypt README, Microsoft Software KSP key imported by an
# administrator): protected, but without the auto-inherited flag the CAPI files carry.
CNG_MACHINE_ACES = "(A;OICI;0xd01f01ff;;;SY)(A;OICI;0xd01f01ff;;;BA)"
CNG_CREATOR_ACE = "(A;OICI;0xd01f01ff;;;{sid})"
# User keys live in the user's profile: the user and SYSTEM.
USER_FOLDER_SDDL = "O:{sid}G:SYD:P(A;OICI;FA;;;{sid})(A;OICI;FA;;;SY)"

SYSTEM_SID = "S-1-5-18"
ADMINISTRATORS_SID = "S-1-5-32-544"


class BrokenKeyFile(Exception):
    """A key file that cannot be read, parsed or decrypted."""


class UndecryptableKeyFile(BrokenKeyFile):
    """A key file whose protected private part does not decrypt (altered ciphertext, a
    DPAPI secret that is not the one it was sealed with)."""


def _dwords_hex(digest: bytes) -> str:
    # Windows writes the 16-byte MD5 as four little-endian DWORDs in hex.
    return "".join(f"{int.from_bytes(digest[i:i + 4], 'little'):08x}" for i in range(0, 16, 4))


def capi_unique_name(container: str, machine_guid: str) -> str:
    """PP_UNIQUE_CONTAINER: MD5 of the lower-cased name plus one NUL byte (ANSI), as four
    little-endian DWORDs, "_", the MachineGuid (docs/windows-facts.md §8; jensign.com)."""
    raw = container.lower().encode("mbcs" if os.name == "nt" else "cp1252", errors="replace") + b"\x00"
    return f"{_dwords_hex(hashlib.md5(raw).digest())}_{machine_guid.lower()}"


def cng_unique_name(key_name: str, machine_guid: str) -> str:
    r"""NCRYPT_UNIQUE_NAME_PROPERTY / the file name in ...\Crypto\Keys: MD5 of the
    lower-cased UTF-16LE key name plus one NUL character, as four little-endian DWORDs in
    hex, "_", the MachineGuid.

    Confirmed against real output: the k6ncrypt README (github.com/liupums/k6ncrypt) shows
    ``certutil -v -csp KSP -key`` listing the Microsoft Software KSP key
    ``{92761CBA-52AB-4531-9530-12533B1C9AF5}`` with unique name
    ``cad91794ddf50456b13c563fdc9fe9aa_64e6b472-...``, which is exactly this rule.
    """
    raw = key_name.lower().encode("utf-16-le", "surrogatepass") + b"\x00\x00"
    return f"{_dwords_hex(hashlib.md5(raw).digest())}_{machine_guid.lower()}"


def key_dir(scope: KeyScope, kind: str) -> str:
    m = scope.machine
    if scope.machine_keyset:
        return m.machine_keys_dir if kind == CAPI else m.cng_machine_keys_dir
    if kind == CAPI:
        return m.user_rsa_dir(scope.token.profile_dir, str(scope.token.user))
    return m.user_cng_dir(scope.token.profile_dir)


# A key file's name is 32 hex digits, "_" and the MachineGuid (CAPI and CNG alike).
_UNIQUE_NAME_LENGTH = 32 + 1 + 36
_MAX_PATH = 260  # windef.h MAX_PATH, the terminating NUL included


def _check_path_length(folder: str) -> None:
    """Every file the store makes is ``folder\\<unique name>``: refuse a folder (a profile
    under a very long account name: an IIS app pool's virtual account takes the pool's
    name) whose files would not fit MAX_PATH, with ERROR_FILENAME_EXCED_RANGE, the code of
    a Win32 file call given a path that is too long, before the host's own limits answer
    with an OSError."""
    if len(folder) + 1 + _UNIQUE_NAME_LENGTH >= _MAX_PATH:
        from capi.errors import ERROR_FILENAME_EXCED_RANGE, WinError

        raise WinError(ERROR_FILENAME_EXCED_RANGE, detail=f"key folder {folder[:80]}...")


def file_winpath(scope: KeyScope, kind: str, unique: str) -> str:
    return key_dir(scope, kind) + "\\" + unique


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class _Cached:
    sig: tuple[int, int, int]
    doc: dict
    secrets: dict  # decrypted private parts, by slot
    objects: dict = None  # parsed private keys, by slot (parsing validates: slow)


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def _sig(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class KeyFile:
    """One key file as loaded: its document and lazily decrypted private parts."""

    def __init__(self, scope: KeyScope, kind: str, unique: str, doc: dict, secrets: dict,
                 objects: dict | None = None):
        self._objects = {} if objects is None else objects
        self.scope = scope
        self.kind = kind
        self.unique = unique
        self.doc = doc
        self._secrets = secrets
        self.winpath = file_winpath(scope, kind, unique)

    def private(self, slot: str) -> bytes | None:
        """The decrypted private part stored under ``slot`` (decrypted once per process)."""
        if slot in self._secrets:
            return self._secrets[slot]
        blob = _unb64(self.doc["secrets"].get(slot))
        if blob is None:
            return None
        try:
            caller = None if self.scope.machine_keyset else str(self.scope.token.user)
            data, _ = dpapi.unprotect(self.scope.machine, blob, user_sid=caller,
                                      entropy=_ENTROPY[self.kind])
        except Exception as exc:  # wrong secret, tampered blob
            raise UndecryptableKeyFile(f"cannot decrypt {self.unique}: {exc}") from exc
        self._secrets[slot] = data
        return data

    def private_key(self, slot: str):
        """The private key object under ``slot`` (loaded once per process and file)."""
        if slot not in self._objects:
            der = self.private(slot)
            if der is None:
                return None
            from cryptography.hazmat.primitives import serialization

            try:
                self._objects[slot] = serialization.load_der_private_key(der, None)
            except (ValueError, TypeError) as exc:
                raise BrokenKeyFile(f"bad private key in {self.unique}: {exc}") from exc
        return self._objects[slot]


class KeyStore:
    """The key files of one kind (CAPI or CNG) in one scope."""

    def __init__(self, scope: KeyScope, kind: str):
        self.scope = scope
        self.kind = kind
        self.machine = scope.machine
        self.dir = key_dir(scope, kind)
        _check_path_length(self.dir)

    # -- names and paths ---------------------------------------------------------------

    def unique_name(self, name: str) -> str:
        guid = self.machine.machine_guid
        return capi_unique_name(name, guid) if self.kind == CAPI else cng_unique_name(name, guid)

    def winpath(self, unique: str) -> str:
        return self.dir + "\\" + unique

    def host(self, unique: str) -> Path:
        path = self.machine.host_path(self.winpath(unique))
        folder = self.machine.host_path(self.dir)
        if path.parent != folder:  # unique names are hex + GUID; never anything else
            raise ValueError(f"key file outside its folder: {unique!r}")
        return path

    def _owner_sid(self) -> str | None:
        return None if self.scope.machine_keyset else str(self.scope.token.user)

    # -- access ---------------------------------------------------------------------------

    def allowed(self, unique: str, desired: int) -> bool:
        return identity.allowed(self.machine, self.winpath(unique), self.scope.token, desired)

    def folder_allowed(self, desired: int) -> bool:
        self.ensure_folder()
        return identity.allowed(self.machine, self.dir, self.scope.token, desired)

    def ensure_folder(self) -> None:
        host = self.machine.host_path(self.dir)
        if not host.is_dir():
            host.mkdir(parents=True, exist_ok=True)
        if not self.scope.machine_keyset and not identity.has_sd(self.machine, self.dir):
            sid = str(self.scope.token.user)
            with self.machine.transaction():
                if not identity.has_sd(self.machine, self.dir):
                    identity.set_sd(self.machine, self.dir,
                                    identity.sd_from_sddl(USER_FOLDER_SDDL.format(sid=sid)))

    def default_sddl(self) -> str:
        token = self.scope.token
        sid = str(token.user)
        if self.scope.machine_keyset:
            aces = CAPI_MACHINE_ACES if self.kind == CAPI else CNG_MACHINE_ACES
            creator = CAPI_CREATOR_ACE if self.kind == CAPI else CNG_CREATOR_ACE
            privileged = sid == SYSTEM_SID or bool(getattr(token, "is_admin", False))
            if not privileged:
                aces += creator.format(sid=sid)
            # An elevated administrator's files are owned by Administrators.
            owner = ADMINISTRATORS_SID if getattr(token, "is_admin", False) else sid
            control = "PAI" if self.kind == CAPI else "P"
            return f"O:{owner}G:SYD:{control}{aces}"
        creator = CAPI_CREATOR_ACE if self.kind == CAPI else CNG_CREATOR_ACE
        return f"O:{sid}G:SYD:P{creator.format(sid=sid)}{creator.format(sid=SYSTEM_SID)}"

    # -- reading --------------------------------------------------------------------------

    def exists(self, unique: str) -> bool:
        return self.host(unique).is_file()

    def load(self, unique: str) -> KeyFile | None:
        """The key file, or None when there is none; BrokenKeyFile when unreadable."""
        host = self.host(unique)
        try:
            st = host.stat()
        except FileNotFoundError:
            return None
        key = str(host)
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None and cached.sig == _sig(st):
                return KeyFile(self.scope, self.kind, unique, cached.doc, cached.secrets,
                               cached.objects)
        try:
            raw = host.read_bytes()
            st = host.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BrokenKeyFile(str(exc)) from exc
        doc = self._parse(raw)
        entry = _Cached(_sig(st), doc, {}, {})
        with _cache_lock:
            _cache[key] = entry
        return KeyFile(self.scope, self.kind, unique, doc, entry.secrets, entry.objects)

    def _parse(self, raw: bytes) -> dict:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BrokenKeyFile(f"not a key file: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT[self.kind] \
                or not isinstance(doc.get("name"), str) or not isinstance(doc.get("secrets"), dict):
            raise BrokenKeyFile("not a key file of this kind")
        return doc

    def list(self) -> list[str]:
        folder = self.machine.host_path(self.dir)
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        return [n for n in names if not n.startswith(".") and (folder / n).is_file()]

    def readable(self):
        """The key files the caller may read (FILE_READ_DATA) and that load; broken files
        are left out, as enumeration on Windows does not list what it cannot open."""
        for unique in self.list():
            if not self.allowed(unique, FILE_READ_DATA):
                continue
            try:
                kf = self.load(unique)
            except BrokenKeyFile:
                continue
            if kf is not None:
                yield kf

    # -- writing --------------------------------------------------------------------------

    def new_document(self, name: str, **fields) -> dict:
        doc = {"format": _FORMAT[self.kind], "name": name, "owner_sid": self._owner_sid(),
               "secrets": {}}
        doc.update(fields)
        return doc

    def seal(self, doc: dict, slot: str, private: bytes | None) -> None:
        """Put ``private`` into ``doc`` encrypted (or remove the slot)."""
        if private is None:
            doc["secrets"].pop(slot, None)
            return
        blob = dpapi.protect(self.machine, private, user_sid=doc.get("owner_sid"),
                             entropy=_ENTROPY[self.kind],
                             flags=0 if doc.get("owner_sid") else CRYPTPROTECT_LOCAL_MACHINE)
        doc["secrets"][slot] = _b64(blob)

    def _stage(self, doc: dict) -> Path:
        return journal.stage(self.machine, json.dumps(doc, sort_keys=True).encode("utf-8"))

    def _remember(self, host: Path, doc: dict, secrets: dict, objects: dict | None = None) -> None:
        with contextlib.suppress(FileNotFoundError):
            with _cache_lock:
                _cache[str(host)] = _Cached(_sig(host.stat()), doc, secrets, dict(objects or {}))

    def create(self, unique: str, doc: dict, secrets: dict | None = None,
               objects: dict | None = None) -> bool:
        """Create the file with its default security descriptor; False if it exists.

        The file and its SD appear together when the (caller's) write transaction
        commits; a process killed before that leaves neither (capi.host.journal)."""
        self.ensure_folder()
        host = self.host(unique)
        host.parent.mkdir(parents=True, exist_ok=True)
        with self.machine.transaction():
            staged = self._stage(doc)
            if not journal.publish_new(self.machine, staged, self.winpath(unique),
                                       identity.sd_from_sddl(self.default_sddl())):
                return False
        self._remember(host, doc, dict(secrets or {}), objects)
        return True

    def replace(self, unique: str, doc: dict, secrets: dict | None = None,
                objects: dict | None = None) -> None:
        """Atomically rewrite an existing file (its security descriptor is kept)."""
        host = self.host(unique)
        journal.replace_with(self.machine, self._stage(doc), host)
        self._remember(host, doc, dict(secrets or {}), objects)

    def delete(self, unique: str) -> bool:
        host = self.host(unique)
        with self.machine.transaction():
            try:
                host.unlink()
            except FileNotFoundError:
                return False
            identity.delete_sd(self.machine, self.winpath(unique))
        with _cache_lock:
            _cache.pop(str(host), None)
        return True


def clear_cache() -> None:
    """Forget every loaded key file (tests, and `winpki` tools that change files)."""
    with _cache_lock:
        _cache.clear()

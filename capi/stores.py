r"""Certificate stores: the object model (after Wine's crypt32 design) and the facade.

Every store kind implements one small interface (:class:`CertStore`): walk its contexts
in order (``_iter_from``), look one up by SHA-1 (``_lookup``/``_find_sha1``), write a new
context (``_store_new``), remove one (``_remove``). The shared rules — add dispositions,
enumeration, find types, duplicate detection by SHA-1 — live once, above them.

- :class:`MemoryStore` — newest first, duplicates allowed with ADD_ALWAYS.
- :class:`FileStore` — a memory store loaded from a file, written back on close/commit.
- :class:`RegistryStore` — one system store of one location, persisted in the machine's
  ``certs`` table (one serialized element per row, keyed by upper-case SHA-1) and written
  through on every add, delete and property change. Opening it reads nothing.
- :class:`CollectionStore` — members with priorities; a PROV_SYSTEM store is a collection
  of physical stores (CurrentUser\Root also shows LocalMachine\Root, read-only).

Enumeration order of a registry store: ascending upper-case SHA-1. Windows keeps each
certificate as a registry key named by its SHA-1 under ...\Certificates and its registry
provider reads them with RegEnumKeyEx, which returns subkeys sorted by name; the same
order here is also a keyset walk of the table's primary key, so every step is one
indexed lookup however large the store grows (no OFFSET, no scan, no eager parse).
"""

from __future__ import annotations

import bisect
import hashlib
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

from .certs import (
    VOLATILE_PROP_IDS,
    CertContext,
    create_context,
    decode_eku_prop,
    parse_certificate,
)
from .constants import (
    CERT_ACCESS_STATE_LM_SYSTEM_STORE_FLAG,
    CERT_ACCESS_STATE_SYSTEM_STORE_FLAG,
    CERT_ACCESS_STATE_WRITE_PERSIST_FLAG,
    CERT_CLOSE_STORE_CHECK_FLAG,
    CERT_ENHKEY_USAGE_PROP_ID,
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
    CERT_FIND_ANY,
    CERT_FIND_ENHKEY_USAGE,
    CERT_FIND_EXISTING,
    CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG,
    CERT_FIND_HASH_STR,
    CERT_FIND_ISSUER_NAME,
    CERT_FIND_ISSUER_STR_A,
    CERT_FIND_ISSUER_STR_W,
    CERT_FIND_KEY_SPEC,
    CERT_FIND_MD5_HASH,
    CERT_FIND_NO_ENHKEY_USAGE_FLAG,
    CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG,
    CERT_FIND_OR_ENHKEY_USAGE_FLAG,
    CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG,
    CERT_FIND_PROPERTY,
    CERT_FIND_SHA1_HASH,
    CERT_FIND_SIGNATURE_HASH,
    CERT_FIND_SUBJECT_CERT,
    CERT_FIND_SUBJECT_NAME,
    CERT_FIND_SUBJECT_STR_A,
    CERT_FIND_SUBJECT_STR_W,
    CERT_KEY_SPEC_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_NAME_STR_REVERSE_FLAG,
    CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG,
    CERT_SHA1_HASH_PROP_ID,
    CERT_SIGNATURE_HASH_PROP_ID,
    CERT_STORE_ADD_ALWAYS,
    CERT_STORE_ADD_NEW,
    CERT_STORE_ADD_NEWER,
    CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES,
    CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES,
    CERT_STORE_ADD_USE_EXISTING,
    CERT_STORE_ALL_CONTEXT_FLAG,
    CERT_STORE_CERTIFICATE_CONTEXT,
    CERT_STORE_CERTIFICATE_CONTEXT_FLAG,
    CERT_STORE_CREATE_NEW_FLAG,
    CERT_STORE_CRL_CONTEXT_FLAG,
    CERT_STORE_CTL_CONTEXT_FLAG,
    CERT_STORE_CTRL_AUTO_RESYNC,
    CERT_STORE_CTRL_COMMIT,
    CERT_STORE_CTRL_RESYNC,
    CERT_STORE_DELETE_FLAG,
    CERT_STORE_MAXIMUM_ALLOWED_FLAG,
    CERT_STORE_OPEN_EXISTING_FLAG,
    CERT_STORE_PROV_COLLECTION,
    CERT_STORE_PROV_FILE,
    CERT_STORE_PROV_FILENAME_A,
    CERT_STORE_PROV_FILENAME_W,
    CERT_STORE_PROV_MEMORY,
    CERT_STORE_PROV_PKCS7,
    CERT_STORE_PROV_SERIALIZED,
    CERT_STORE_PROV_SYSTEM_A,
    CERT_STORE_PROV_SYSTEM_REGISTRY_A,
    CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    CERT_STORE_PROV_SYSTEM_W,
    CERT_STORE_READONLY_FLAG,
    CERT_STORE_SAVE_AS_PKCS7,
    CERT_STORE_SAVE_AS_STORE,
    CERT_STORE_SAVE_TO_FILE,
    CERT_STORE_SAVE_TO_FILENAME_A,
    CERT_STORE_SAVE_TO_FILENAME_W,
    CERT_STORE_SAVE_TO_MEMORY,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID,
    CERT_SYSTEM_STORE_LOCATION_MASK,
    CERT_SYSTEM_STORE_LOCATION_SHIFT,
    CERT_X500_NAME_STR,
    X509_ASN_ENCODING,
)
from .errors import (
    CRYPT_E_EXISTS,
    CRYPT_E_NO_MATCH,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_PENDING_CLOSE,
    E_ACCESSDENIED,
    E_INVALIDARG,
    E_UNEXPECTED,
    ERROR_ACCESS_DENIED,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_END_OF_MEDIA,
    ERROR_FILE_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_PATH_NOT_FOUND,
    SetLastError,
    WinError,
    winapi,
)
from .names import name_to_str
from .serialization import (
    STORE_MAGIC,
    load_pkcs7,
    load_serialized_store,
    parse_element,
    parse_element_ex,
    save_pkcs7,
    save_serialized_store,
    serialize_element,
    text_payload,
)

LOCAL_MACHINE = "LocalMachine"
CURRENT_USER = "CurrentUser"

# Stores every location has (CertEnumSystemStore on Windows Server 2019 lists these and a
# few product-specific ones). Case-insensitive; the spelling here is the canonical one.
PREDEFINED_STORES: dict[str, tuple[str, ...]] = {
    LOCAL_MACHINE: ("My", "Root", "Trust", "CA", "Disallowed", "TrustedPeople",
                    "TrustedPublisher", "AuthRoot", "WebHosting", "Remote Desktop", "REQUEST",
                    "SmartCardRoot", "ClientAuthIssuer", "TrustedDevices"),
    CURRENT_USER: ("My", "Root", "Trust", "CA", "UserDS", "Disallowed", "TrustedPeople",
                   "TrustedPublisher", "AuthRoot", "REQUEST", "SmartCardRoot",
                   "ClientAuthIssuer"),
}
# CurrentUser system stores whose physical stores include ".LocalMachine" (Microsoft,
# "System Store Locations" / physical stores): they show LocalMachine's certificates,
# read-only. CurrentUser\My does not.
CU_SEES_LOCAL_MACHINE = frozenset({"root", "ca", "trust", "disallowed", "trustedpeople",
                                   "trustedpublisher", "authroot", "smartcardroot"})

_PROVIDER_NAMES = {
    "memory": CERT_STORE_PROV_MEMORY,
    "file": CERT_STORE_PROV_FILENAME_W,
    "system": CERT_STORE_PROV_SYSTEM_W,
    "systemregistry": CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    "serialized": CERT_STORE_PROV_SERIALIZED,
    "pkcs7": CERT_STORE_PROV_PKCS7,
    "collection": CERT_STORE_PROV_COLLECTION,
}
_DISPOSITIONS = frozenset({
    CERT_STORE_ADD_NEW, CERT_STORE_ADD_USE_EXISTING, CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_ADD_ALWAYS, CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES,
    CERT_STORE_ADD_NEWER, CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES,
})
_PKCS7_SUFFIXES = (".p7b", ".p7c", ".spc")
_PAGE_MAX = 512


_facade = winapi


# ---------------------------------------------------------------------------------------
# The store interface
# ---------------------------------------------------------------------------------------


class CertStore:
    """HCERTSTORE: a handle object, a context manager and an iterable of contexts."""

    provider = "?"

    def __init__(self, flags: int = 0):
        self.dwFlags = flags
        self.readonly = bool(flags & CERT_STORE_READONLY_FLAG)
        self._refs = 1
        self._closed = False
        self._live: weakref.WeakSet[CertContext] = weakref.WeakSet()

    # -- backend interface -----------------------------------------------------------------

    def _iter_from(self, prev: CertContext | None) -> Iterator[CertContext]:
        """Contexts after ``prev`` (from the start when None), in enumeration order."""
        raise NotImplementedError

    def _lookup(self, sha1: bytes) -> CertContext | None:
        """The context with this SHA-1, if the store holds one (duplicate detection)."""
        for ctx in self._iter_from(None):
            if ctx.sha1 == sha1:
                return ctx
        return None

    def _find_sha1(self, sha1: bytes, prev: CertContext | None) -> CertContext | None:
        for ctx in self._iter_from(prev):
            if ctx.sha1 == sha1:
                return ctx
        return None

    def _store_new(self, der: bytes, props: dict, encoding: int,
                   replace: CertContext | None) -> CertContext:
        """Write a new context (replacing ``replace``) and return it."""
        raise WinError(E_ACCESSDENIED)

    def _remove(self, ctx: CertContext) -> None:
        raise WinError(E_ACCESSDENIED)

    def access_state(self) -> int:
        return 0

    def control(self, ctrl: int) -> bool:
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED)

    def _on_close(self) -> None:
        pass

    # -- shared behaviour ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise WinError(ERROR_INVALID_HANDLE, detail="store handle is closed")

    def _hand_out(self, ctx: CertContext | None) -> CertContext | None:
        if ctx is not None:
            if ctx in self._live:
                ctx._refs += 1
            else:
                ctx._refs = 1
                self._live.add(ctx)
        return ctx

    def _release_context(self, ctx: CertContext) -> None:
        self._live.discard(ctx)

    def enum_next(self, prev: CertContext | None) -> CertContext | None:
        self._check_open()
        for ctx in self._iter_from(prev):
            return ctx
        return None

    def find(self, matcher: Callable[[CertContext], bool],
             prev: CertContext | None) -> CertContext | None:
        self._check_open()
        for ctx in self._iter_from(prev):
            if matcher(ctx):
                return ctx
        return None

    def find_sha1(self, sha1: bytes, prev: CertContext | None = None) -> CertContext | None:
        self._check_open()
        return self._find_sha1(bytes(sha1), prev)

    def add(self, src: CertContext, disposition: int) -> CertContext:
        """Add a copy of ``src`` under ``disposition``; the new (or existing) context."""
        self._check_open()
        return _add_with_disposition(self, src.pbCertEncoded, _copy_props(src),
                                     src.dwCertEncodingType, disposition)

    def delete(self, ctx: CertContext) -> None:
        self._check_open()
        self._remove(ctx)

    def close(self, flags: int = 0) -> bool:
        if self._closed:
            return True
        self._refs -= 1
        pending = self._refs > 0 or any(c._refs > 0 for c in list(self._live))
        if self._refs <= 0:
            self._closed = True
            self._on_close()
        if flags & CERT_CLOSE_STORE_CHECK_FLAG and pending:
            raise WinError(CRYPT_E_PENDING_CLOSE)
        return True

    def duplicate(self) -> CertStore:
        self._refs += 1
        return self

    def __enter__(self) -> CertStore:
        return self

    def __exit__(self, *exc) -> None:
        if not self._closed:
            self._refs = 1
            self.close()

    def __iter__(self) -> Iterator[CertContext]:
        self._check_open()
        return self._iter_from(None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # a handle is non-NULL however many certificates it holds

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}>"


def _copy_props(src: CertContext) -> dict:
    return dict(src._root()._props)


def _add_with_disposition(store: CertStore, der: bytes, props: dict, encoding: int,
                          disposition: int) -> CertContext:
    """Windows' add rules (CertAddCertificateContextToStore), shared by every store."""
    if disposition not in _DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {disposition}")
    sha1 = hashlib.sha1(der).digest()
    existing = store._lookup(sha1)
    replace = None
    if disposition == CERT_STORE_ADD_NEW:
        if existing is not None:
            raise WinError(CRYPT_E_EXISTS)
    elif disposition == CERT_STORE_ADD_USE_EXISTING:
        if existing is not None:
            # The existing context is kept and gains the properties it lacked.
            root = existing._root()
            missing = {k: v for k, v in props.items() if k not in root._props}
            if missing:
                root._props.update(missing)
                persist = getattr(root.hCertStore, "persist_properties", None)
                try:
                    if persist:
                        persist(root)
                except WinError:
                    # A store we may not write (CurrentUser's view of LocalMachine): the
                    # existing context is still used, unchanged.
                    for k in missing:
                        root._props.pop(k, None)
            return existing
    elif disposition in (CERT_STORE_ADD_REPLACE_EXISTING,
                         CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES):
        replace = existing
        if existing is not None and disposition == CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES:
            props = {**props, **existing._root()._props}
    elif disposition in (CERT_STORE_ADD_NEWER, CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES):
        if existing is not None:
            # Documented rule: fail with CRYPT_E_EXISTS unless the new certificate's
            # NotBefore is later. "Matching" is by SHA-1, so the dates are equal.
            new_nb = parse_certificate(der).not_valid_before_utc
            if existing.x509.not_valid_before_utc >= new_nb:
                raise WinError(CRYPT_E_EXISTS)
            replace = existing
            if disposition == CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES:
                props = {**props, **existing._root()._props}
    # ADD_ALWAYS: no check at all.
    return store._store_new(der, props, encoding, replace)


# ---------------------------------------------------------------------------------------
# Memory stores
# ---------------------------------------------------------------------------------------


class MemoryStore(CertStore):
    """CERT_STORE_PROV_MEMORY: contexts in memory, newest first."""

    provider = "Memory"

    def __init__(self, flags: int = 0):
        super().__init__(flags)
        # MEMORY + READONLY still accepts adds (Wine store.c testMemStore).
        self.readonly = False
        self._seqs: list[int] = []          # ascending; enumeration walks it backwards
        self._by_seq: dict[int, CertContext] = {}
        self._by_sha1: dict[bytes, list[int]] = {}
        self._next_seq = 1
        self.dirty = False

    def _iter_from(self, prev):
        if prev is None:
            i = len(self._seqs) - 1
        elif prev.hCertStore is self and prev._seq:
            i = bisect.bisect_left(self._seqs, prev._seq) - 1
        else:
            return  # a context of another store has no successor here
        while 0 <= i < len(self._seqs):
            seq = self._seqs[i]
            yield self._by_seq[seq]
            # The list may change between steps (the caller may delete what it got).
            i = bisect.bisect_left(self._seqs, seq) - 1

    def _lookup(self, sha1):
        seqs = self._by_sha1.get(sha1)
        return self._by_seq[max(seqs)] if seqs else None

    def _find_sha1(self, sha1, prev):
        seqs = self._by_sha1.get(sha1) or []
        limit = prev._seq if (prev is not None and prev.hCertStore is self) else None
        cands = [s for s in seqs if limit is None or s < limit]
        return self._by_seq[max(cands)] if cands else None

    def _insert(self, der, props, encoding, sha1=None) -> CertContext:
        ctx = CertContext(der, encoding=encoding, store=self, props=props, sha1=sha1)
        ctx._seq = self._next_seq
        self._next_seq += 1
        self._seqs.append(ctx._seq)
        self._by_seq[ctx._seq] = ctx
        self._by_sha1.setdefault(ctx.sha1, []).append(ctx._seq)
        return ctx

    def _store_new(self, der, props, encoding, replace):
        if replace is not None:
            self._remove(replace)
        ctx = self._insert(der, props, encoding)
        self.dirty = True
        return ctx

    def _remove(self, ctx):
        root = ctx._root()
        if root.hCertStore is not self or root._seq not in self._by_seq:
            return  # already deleted: Windows still reports success
        del self._by_seq[root._seq]
        i = bisect.bisect_left(self._seqs, root._seq)
        del self._seqs[i]
        seqs = self._by_sha1.get(root.sha1, [])
        if root._seq in seqs:
            seqs.remove(root._seq)
        if not seqs:
            self._by_sha1.pop(root.sha1, None)
        self.dirty = True

    def load(self, items) -> None:
        """Fill from (der, props) pairs, oldest first, as Windows' loaders add them."""
        for der, props in items:
            sha1 = hashlib.sha1(der).digest()
            if sha1 in self._by_sha1:
                continue  # loaders add with CERT_STORE_ADD_NEW
            clean = {k: v for k, v in props.items() if k not in VOLATILE_PROP_IDS}
            self._insert(der, clean, X509_ASN_ENCODING, sha1)


class EmptyStore(CertStore):
    """The store of contexts made by CertCreateCertificateContext: holds nothing."""

    provider = "Empty"

    def _iter_from(self, prev):
        return iter(())

    def close(self, flags: int = 0) -> bool:
        # Windows (Wine cert.c testCreateCert): closing it -> E_UNEXPECTED.
        raise WinError(E_UNEXPECTED)

    def _hand_out(self, ctx):
        return ctx

    def _release_context(self, ctx):
        pass

    def _remove(self, ctx):
        pass


EMPTY_STORE = EmptyStore()


class FileStore(MemoryStore):
    """CERT_STORE_PROV_FILENAME / FILE: a memory store read from a file, written back on
    close or CERT_STORE_CTRL_COMMIT when opened with CERT_FILE_STORE_COMMIT_ENABLE_FLAG."""

    provider = "File"

    def __init__(self, flags: int, *, path: Path | None = None, fileobj=None,
                 save_as: int = CERT_STORE_SAVE_AS_STORE):
        super().__init__(flags)
        self.readonly = bool(flags & CERT_STORE_READONLY_FLAG)
        self.path = path
        self.fileobj = fileobj
        self.save_as = save_as
        self.commit_enabled = bool(flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG)

    def persist_properties(self, ctx):
        self.dirty = True

    def access_state(self) -> int:
        return CERT_ACCESS_STATE_WRITE_PERSIST_FLAG if self.commit_enabled else 0

    def _store_new(self, der, props, encoding, replace):
        if self.readonly:
            raise WinError(E_ACCESSDENIED)
        return super()._store_new(der, props, encoding, replace)

    def _remove(self, ctx):
        if self.readonly:
            raise WinError(E_ACCESSDENIED)
        super()._remove(ctx)

    def commit(self) -> None:
        contexts = list(self._iter_from(None))
        data = (save_pkcs7(contexts) if self.save_as == CERT_STORE_SAVE_AS_PKCS7
                else save_serialized_store(contexts))
        if self.fileobj is not None:
            self.fileobj.seek(0)
            self.fileobj.write(data)
            self.fileobj.truncate()
            self.fileobj.flush()
        elif self.path is not None:
            _write_atomically(self.path, data)
        self.dirty = False

    def control(self, ctrl):
        if ctrl == CERT_STORE_CTRL_COMMIT:
            if not self.commit_enabled:
                # Windows (Wine store.c testFileStore): commit without COMMIT_ENABLE.
                raise WinError(ERROR_CALL_NOT_IMPLEMENTED)
            self.commit()
            return True
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED)

    def _on_close(self):
        if self.commit_enabled and self.dirty:
            self.commit()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        from .errors import CRYPT_E_FILE_ERROR

        raise WinError(CRYPT_E_FILE_ERROR, detail=str(exc)) from exc


# ---------------------------------------------------------------------------------------
# Registry (SQLite) stores
# ---------------------------------------------------------------------------------------


def _token_sid(machine, token) -> str:
    return str(token.user)


def _token_is_admin(token) -> bool:
    return token.is_admin


def resolve_token(machine, token):
    """``token``, or the current identity's on ``machine``."""
    if token is not None:
        return token
    from .machine import current_token

    return current_token(machine)


def location_key(machine, location: str, token) -> str:
    if location == LOCAL_MACHINE:
        return LOCAL_MACHINE
    return f"{CURRENT_USER}:{_token_sid(machine, token)}"


class RegistryStore(CertStore):
    r"""One system store (CERT_STORE_PROV_SYSTEM_REGISTRY) in the ``certs`` table.

    Rows hold the element exactly as Windows' ``...\Certificates\<SHA1>\Blob`` value.
    Contexts are made from rows only when reached; a row loads only when its stored
    SHA-1 property equals its key, as Windows' registry provider checks.
    """

    provider = "SystemRegistry"

    def __init__(self, machine, location: str, name: str, *, token=None, flags: int = 0):
        super().__init__(flags)
        self.machine = machine
        self.location = location
        self.name = name
        self.token = token
        self.key = location_key(machine, location, token)
        self._cache: weakref.WeakValueDictionary[str, CertContext] = weakref.WeakValueDictionary()

    def __repr__(self):
        return f"<RegistryStore {self.location}\\{self.name}>"

    # -- access ------------------------------------------------------------------------------

    def writable(self) -> bool:
        if self.readonly:
            return False
        # HKLM\...\SystemCertificates is writable by Administrators and SYSTEM only.
        return self.location != LOCAL_MACHINE or _token_is_admin(self.token)

    def _check_write(self) -> None:
        if not self.writable():
            raise WinError(E_ACCESSDENIED, detail=f"{self.location}\\{self.name} is read-only "
                                                  "for this identity")

    def access_state(self) -> int:
        state = CERT_ACCESS_STATE_SYSTEM_STORE_FLAG
        if self.location == LOCAL_MACHINE:
            state |= CERT_ACCESS_STATE_LM_SYSTEM_STORE_FLAG
        if self.writable():
            state |= CERT_ACCESS_STATE_WRITE_PERSIST_FLAG
        return state

    # -- rows -> contexts ----------------------------------------------------------------------

    def _context(self, sha1hex: str, blob: bytes) -> CertContext | None:
        ctx = self._cache.get(sha1hex)
        if ctx is not None:
            return ctx
        try:
            der, props, _ = parse_element(blob)
        except WinError:
            return None
        stored = props.get(CERT_SHA1_HASH_PROP_ID)
        sha1 = bytes.fromhex(sha1hex)
        if (stored if stored is not None else hashlib.sha1(der).digest()) != sha1:
            return None
        ctx = CertContext(der, store=self, props=props, sha1=sha1)
        self._cache[sha1hex] = ctx
        return ctx

    def _iter_from(self, prev):
        db = self.machine.db
        after = prev._root().thumbprint if prev is not None else ""
        page = 1
        while True:
            rows = db.execute(
                "SELECT sha1, blob FROM certs WHERE location=? AND store=? AND sha1>? "
                "ORDER BY sha1 LIMIT ?", (self.key, self.name, after, page)).fetchall()
            for sha1hex, blob in rows:
                ctx = self._context(sha1hex, blob)
                if ctx is not None:
                    yield ctx
            if len(rows) < page:
                return
            after = rows[-1][0]
            page = min(page * 4, _PAGE_MAX)

    def _row(self, sha1hex: str):
        return self.machine.db.execute(
            "SELECT blob FROM certs WHERE location=? AND store=? AND sha1=?",
            (self.key, self.name, sha1hex)).fetchone()

    def _lookup(self, sha1):
        key = sha1.hex().upper()
        row = self._row(key)
        return self._context(key, row[0]) if row else None

    def _find_sha1(self, sha1, prev):
        if prev is not None:
            return None  # one row per SHA-1: nothing follows it
        return self._lookup(sha1)

    def count(self) -> int:
        return self.machine.db.execute(
            "SELECT COUNT(*) FROM certs WHERE location=? AND store=?",
            (self.key, self.name)).fetchone()[0]

    # -- writes ---------------------------------------------------------------------------------

    def _blob(self, ctx: CertContext) -> bytes:
        return serialize_element(ctx, include_hashes=True)

    def _store_new(self, der, props, encoding, replace):
        self._check_write()
        sha1 = hashlib.sha1(der).digest()
        key = sha1.hex().upper()
        props = {k: v for k, v in props.items()}
        # The registry Blob carries the SHA-1 property (Wine store.c testRegStore); a
        # stale or bogus one is replaced by the real hash so the row stays loadable.
        props[CERT_SHA1_HASH_PROP_ID] = sha1
        ctx = CertContext(der, encoding=encoding, store=self, props=props, sha1=sha1)
        blob = self._blob(ctx)
        with self.machine.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM certs "
                             "WHERE location=? AND store=?", (self.key, self.name)).fetchone()[0]
            db.execute("INSERT OR REPLACE INTO certs(location, store, sha1, seq, blob) "
                       "VALUES (?, ?, ?, ?, ?)", (self.key, self.name, key, seq, blob))
        self._cache[key] = ctx
        return ctx

    def persist_properties(self, ctx: CertContext) -> None:
        self._check_write()
        key = ctx.thumbprint
        if CERT_SHA1_HASH_PROP_ID not in ctx._props:
            ctx._props[CERT_SHA1_HASH_PROP_ID] = ctx.sha1
        with self.machine.transaction() as db:
            db.execute("UPDATE certs SET blob=? WHERE location=? AND store=? AND sha1=?",
                       (self._blob(ctx), self.key, self.name, key))

    def _remove(self, ctx):
        self._check_write()
        key = ctx._root().thumbprint
        with self.machine.transaction() as db:
            db.execute("DELETE FROM certs WHERE location=? AND store=? AND sha1=?",
                       (self.key, self.name, key))
        self._cache.pop(key, None)

    def delete_store(self) -> None:
        self._check_write()
        with self.machine.transaction() as db:
            db.execute("DELETE FROM certs WHERE location=? AND store=?", (self.key, self.name))
            db.execute("DELETE FROM stores WHERE location=? AND store=?", (self.key, self.name))

    def control(self, ctrl):
        if ctrl == CERT_STORE_CTRL_RESYNC:
            self._cache.clear()
            return True
        if ctrl in (CERT_STORE_CTRL_COMMIT, CERT_STORE_CTRL_AUTO_RESYNC):
            return True  # every change is already written through
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED)


# ---------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------


class CollectionStore(CertStore):
    """CERT_STORE_PROV_COLLECTION: members in priority order; contexts are links."""

    provider = "Collection"

    def __init__(self, flags: int = 0):
        super().__init__(flags)
        self.members: list[tuple[CertStore, int, int]] = []  # (store, update flags, priority)

    def add_member(self, store: CertStore, update_flags: int = 0, priority: int = 0) -> None:
        store._refs += 1  # closing the member's own handle keeps it alive here
        pos = len(self.members)
        for i, (_s, _f, prio) in enumerate(self.members):
            if priority > prio:
                pos = i
                break
        self.members.insert(pos, (store, update_flags, priority))

    def remove_member(self, store: CertStore) -> None:
        for i, (s, _f, _p) in enumerate(self.members):
            if s is store:
                del self.members[i]
                s.close()
                return

    def _member_index(self, store) -> int:
        for i, (s, _f, _p) in enumerate(self.members):
            if s is store:
                return i
        return -1

    def _link(self, src: CertContext, member: CertStore) -> CertContext:
        return CertContext.link(src, self, member)

    def _iter_from(self, prev):
        start, inner = 0, None
        if prev is not None and prev._member is not None and prev.hCertStore is self:
            start, inner = self._member_index(prev._member), prev._source
            if start < 0:
                return
        for i in range(start, len(self.members)):
            member = self.members[i][0]
            for ctx in member._iter_from(inner if i == start else None):
                yield self._link(ctx, member)

    def _lookup(self, sha1):
        for member, _f, _p in self.members:
            ctx = member._lookup(sha1)
            if ctx is not None:
                return self._link(ctx, member)
        return None

    def _find_sha1(self, sha1, prev):
        start, inner = 0, None
        if prev is not None and prev._member is not None and prev.hCertStore is self:
            start, inner = self._member_index(prev._member), prev._source
        for i in range(max(start, 0), len(self.members)):
            member = self.members[i][0]
            ctx = member._find_sha1(sha1, inner if i == start else None)
            if ctx is not None:
                return self._link(ctx, member)
        return None

    def _store_new(self, der, props, encoding, replace):
        if replace is not None and replace._member is not None:
            # A replacement goes to the member holding the old certificate, add-enabled
            # or not (Wine cert.c testAddCert: REPLACE_EXISTING succeeds there).
            member = replace._member
            return self._link(member._store_new(der, props, encoding, replace._source), member)
        for member, uflags, _p in self.members:
            if uflags & CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG:
                return self._link(member._store_new(der, props, encoding, None), member)
        # Windows (Wine store.c testCollectionStore): no add-enabled member.
        raise WinError(E_ACCESSDENIED)

    def _remove(self, ctx):
        if ctx._member is not None:
            ctx._member._remove(ctx._source)

    def control(self, ctrl):
        for member, _f, _p in self.members:
            member.control(ctrl)
        return True

    def _on_close(self):
        for member, _f, _p in self.members:
            if not member._closed:
                member.close()


class SystemStore(CollectionStore):
    """CERT_STORE_PROV_SYSTEM: a collection of the physical stores of one system store."""

    provider = "System"

    def __init__(self, machine, location: str, name: str, *, token=None, flags: int = 0):
        super().__init__(flags)
        self.machine = machine
        self.location = location
        self.name = name
        self.token = token
        own = RegistryStore(machine, location, name, token=token, flags=flags)
        self.add_member(own, CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 1)
        own._refs -= 1
        self.registry = own
        if location == CURRENT_USER and name.lower() in CU_SEES_LOCAL_MACHINE:
            lm = RegistryStore(machine, LOCAL_MACHINE, name, token=token,
                               flags=flags | CERT_STORE_READONLY_FLAG)
            self.add_member(lm, 0, 0)
            lm._refs -= 1

    def __repr__(self):
        return f"<SystemStore {self.location}\\{self.name}>"

    def count(self) -> int:
        return sum(m.count() for m, _f, _p in self.members)


# ---------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------

_LOCATIONS = {
    CERT_SYSTEM_STORE_CURRENT_USER: CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE: LOCAL_MACHINE,
}


def canonical_store_name(machine, location: str, key: str, name: str) -> tuple[str, bool]:
    """(canonical spelling, exists) of a system store name (case-insensitive)."""
    for known in PREDEFINED_STORES[location]:
        if known.lower() == name.lower():
            return known, True
    row = machine.db.execute("SELECT store FROM stores WHERE location=? AND store=? "
                             "COLLATE NOCASE", (key, name)).fetchone()
    if row:
        return row[0], True
    return name, False


def _open_registry(machine, location: str, name: str, *, token, flags: int,
                   missing_error: int, as_system: bool):
    key = location_key(machine, location, token)
    canonical, exists = canonical_store_name(machine, location, key, name)
    if exists and flags & CERT_STORE_CREATE_NEW_FLAG:
        raise WinError(ERROR_FILE_EXISTS, detail=f"{location}\\{canonical}")
    if not exists:
        if flags & CERT_STORE_OPEN_EXISTING_FLAG or flags & CERT_STORE_DELETE_FLAG:
            raise WinError(missing_error, detail=f"no store {location}\\{name}")
        if location == LOCAL_MACHINE and not _token_is_admin(token):
            raise WinError(E_ACCESSDENIED, detail=f"creating {location}\\{name}")
        with machine.transaction() as db:
            db.execute("INSERT OR IGNORE INTO stores(location, store) VALUES (?, ?)",
                       (key, canonical))
    if (location == LOCAL_MACHINE and not flags & CERT_STORE_READONLY_FLAG
            and not _token_is_admin(token)):
        # HKLM\...\SystemCertificates is writable by Administrators and SYSTEM only: a
        # read-write open by anyone else fails (.NET: X509Store.Open(ReadWrite) "Access is
        # denied."); CERT_STORE_MAXIMUM_ALLOWED_FLAG settles for read-only.
        if not flags & CERT_STORE_MAXIMUM_ALLOWED_FLAG:
            raise WinError(ERROR_ACCESS_DENIED, detail=f"{location}\\{canonical} for writing")
        flags |= CERT_STORE_READONLY_FLAG
    if as_system:
        return SystemStore(machine, location, canonical, token=token, flags=flags)
    return RegistryStore(machine, location, canonical, token=token, flags=flags)


def open_system_store(machine, location: str, name: str, *, token=None, flags: int = 0,
                      create: bool = True) -> SystemStore:
    """The system store ``location\\name`` (location "LocalMachine" or "CurrentUser")."""
    if location.lower() == LOCAL_MACHINE.lower():
        location = LOCAL_MACHINE
    elif location.lower() == CURRENT_USER.lower():
        location = CURRENT_USER
    else:
        raise WinError(E_INVALIDARG, detail=f"location {location!r}")
    token = resolve_token(machine, token)
    if not create:
        flags |= CERT_STORE_OPEN_EXISTING_FLAG
    return _open_registry(machine, location, name, token=token, flags=flags,
                          missing_error=ERROR_FILE_NOT_FOUND, as_system=True)


def find_by_thumbprint(store: CertStore, hex_thumbprint: str) -> CertContext | None:
    """The context whose SHA-1 is ``hex_thumbprint`` (spaces and case ignored), or None."""
    try:
        sha1 = bytes.fromhex("".join(hex_thumbprint.split()))
    except ValueError:
        return None
    return store.find_sha1(sha1) if len(sha1) == hashlib.sha1().digest_size else None


def _location_from_flags(flags: int) -> str | None:
    return _LOCATIONS.get(flags & CERT_SYSTEM_STORE_LOCATION_MASK)


def _is_known_location(flags: int) -> bool:
    loc_id = (flags & CERT_SYSTEM_STORE_LOCATION_MASK) >> CERT_SYSTEM_STORE_LOCATION_SHIFT
    return loc_id in (1, 2) or 4 <= loc_id <= CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID


def _store_name(pvPara, ansi: bool) -> str | None:
    if isinstance(pvPara, (bytes, bytearray)):
        if not ansi:
            return None  # an ANSI name passed to the W provider is not found
        return bytes(pvPara).decode("mbcs" if os.name == "nt" else "latin-1")
    return pvPara


def _load_file_items(data: bytes) -> tuple[list, int]:
    """(items, save_as) from the bytes of a certificate file of any supported format."""
    if not data:
        return [], CERT_STORE_SAVE_AS_STORE
    if data.startswith(STORE_MAGIC):
        return load_serialized_store(data), CERT_STORE_SAVE_AS_STORE
    candidates = [data]
    text = text_payload(data)
    if text is not None:
        candidates = [text[1]]
    for raw in candidates:
        try:
            parse_certificate(raw)
            return [(raw, {})], CERT_STORE_SAVE_AS_STORE
        except WinError:
            pass
        try:
            ders = load_pkcs7(raw)
        except WinError:
            continue
        for der in ders:
            parse_certificate(der)
        return [(d, {}) for d in ders], CERT_STORE_SAVE_AS_PKCS7
    raise WinError(CRYPT_E_NO_MATCH, detail="not a certificate, PKCS#7 or serialized store")


def _open_filename(flags: int, pvPara) -> FileStore:
    if pvPara is None or pvPara == "":
        raise WinError(ERROR_PATH_NOT_FOUND)
    if isinstance(pvPara, (bytes, bytearray)):
        pvPara = bytes(pvPara).decode()
    if flags & CERT_STORE_DELETE_FLAG:
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="FILENAME with CERT_STORE_DELETE_FLAG")
    if flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG and flags & CERT_STORE_READONLY_FLAG:
        raise WinError(E_INVALIDARG)
    path = Path(os.fspath(pvPara))
    exists = path.is_file()
    if exists and flags & CERT_STORE_CREATE_NEW_FLAG:
        raise WinError(ERROR_FILE_EXISTS, detail=str(path))
    if not exists:
        if path.exists():
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{path} is not a file")
        if not flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG or flags & CERT_STORE_OPEN_EXISTING_FLAG:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=str(path))
        if not path.parent.is_dir():
            raise WinError(ERROR_PATH_NOT_FOUND, detail=str(path))
        data = b""
    else:
        data = path.read_bytes()
    items, save_as = _load_file_items(data)
    if not data and path.suffix.lower() in _PKCS7_SUFFIXES:
        save_as = CERT_STORE_SAVE_AS_PKCS7
    store = FileStore(flags, path=path, save_as=save_as)
    store.load(items)
    return store


def _open_file_handle(flags: int, fileobj) -> FileStore:
    if fileobj is None:
        raise WinError(ERROR_INVALID_HANDLE)
    if flags & CERT_STORE_DELETE_FLAG:
        raise WinError(E_INVALIDARG)
    if flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG and flags & CERT_STORE_READONLY_FLAG:
        raise WinError(E_INVALIDARG)
    data = fileobj.read()
    items = load_serialized_store(data) if data else []
    store = FileStore(flags, fileobj=fileobj)
    store.load(items)
    return store


def _provider_id(lpszStoreProvider) -> int:
    if lpszStoreProvider is None or lpszStoreProvider == 0:
        raise WinError(ERROR_FILE_NOT_FOUND, detail="no store provider")
    if isinstance(lpszStoreProvider, str):
        pid = _PROVIDER_NAMES.get(lpszStoreProvider.lower())
        if pid is None:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"store provider {lpszStoreProvider!r}")
        return pid
    return int(lpszStoreProvider)


@_facade
def CertOpenStore(lpszStoreProvider, dwEncodingType: int = 0, hCryptProv=None,
                  dwFlags: int = 0, pvPara=None):
    r"""CertOpenStore: open a store by provider number (CERT_STORE_PROV_*) or name.

    MEMORY, COLLECTION; SERIALIZED / PKCS7 (``pvPara`` bytes); FILENAME (a host path:
    DER, PEM/base64 in ANSI or UTF-16, serialized store, PKCS#7; with
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG written back on close); FILE (a binary file
    object); SYSTEM (a collection of physical stores) and SYSTEM_REGISTRY (``pvPara`` the
    store name, location from ``dwFlags``). Returns None, with last error 0, for a
    system store opened with CERT_STORE_DELETE_FLAG (the store is deleted).

    Raises ERROR_FILE_NOT_FOUND (no/unknown provider, missing file, missing store with
    OPEN_EXISTING, a PROV_SYSTEM name or location that is not valid),
    ERROR_CALL_NOT_IMPLEMENTED (DELETE_FLAG on MEMORY/SERIALIZED, providers winpki does
    not have), E_INVALIDARG (SYSTEM_REGISTRY without a name or with a bad location,
    COMMIT_ENABLE with READONLY), ERROR_FILE_EXISTS (CREATE_NEW on an existing store),
    ERROR_PATH_NOT_FOUND, E_ACCESSDENIED, and the format errors of the loaders.
    """
    pid = _provider_id(lpszStoreProvider)
    flags = dwFlags & 0xFFFFFFFF
    if pid in (CERT_STORE_PROV_MEMORY, CERT_STORE_PROV_COLLECTION, CERT_STORE_PROV_SERIALIZED,
               CERT_STORE_PROV_PKCS7):
        if flags & CERT_STORE_DELETE_FLAG:
            # Windows (Wine store.c testMemStore, testSerializedStore).
            raise WinError(ERROR_CALL_NOT_IMPLEMENTED)
        if pid == CERT_STORE_PROV_COLLECTION:
            return CollectionStore(flags)
        store = MemoryStore(flags)
        if pid == CERT_STORE_PROV_SERIALIZED:
            if pvPara is None:
                raise WinError(E_INVALIDARG)
            store.load(load_serialized_store(bytes(pvPara)))
        elif pid == CERT_STORE_PROV_PKCS7:
            if pvPara is None:
                raise WinError(E_INVALIDARG)
            ders = load_pkcs7(bytes(pvPara))
            for der in ders:
                parse_certificate(der)
            store.load([(d, {}) for d in ders])
        return store
    if pid in (CERT_STORE_PROV_FILENAME_W, CERT_STORE_PROV_FILENAME_A):
        return _open_filename(flags, pvPara)
    if pid == CERT_STORE_PROV_FILE:
        return _open_file_handle(flags, pvPara)
    if pid in (CERT_STORE_PROV_SYSTEM_W, CERT_STORE_PROV_SYSTEM_A,
               CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_STORE_PROV_SYSTEM_REGISTRY_A):
        system = pid in (CERT_STORE_PROV_SYSTEM_W, CERT_STORE_PROV_SYSTEM_A)
        # PROV_SYSTEM reports a bad name or location as ERROR_FILE_NOT_FOUND, the
        # registry provider as E_INVALIDARG (Wine store.c testSystemStore/testSystemRegStore).
        bad = ERROR_FILE_NOT_FOUND if system else E_INVALIDARG
        name = _store_name(pvPara, pid in (CERT_STORE_PROV_SYSTEM_A,
                                           CERT_STORE_PROV_SYSTEM_REGISTRY_A))
        if not name:
            raise WinError(ERROR_FILE_NOT_FOUND if (system or pvPara is not None) else bad,
                           detail="no store name")
        location = _location_from_flags(flags)
        if location is None:
            if _is_known_location(flags):
                raise WinError(ERROR_CALL_NOT_IMPLEMENTED,
                               detail=f"system store location 0x{flags & CERT_SYSTEM_STORE_LOCATION_MASK:08X}")
            raise WinError(bad, detail=f"location 0x{flags & CERT_SYSTEM_STORE_LOCATION_MASK:08X}")
        from .machine import current_machine

        machine = current_machine()
        token = resolve_token(machine, None)
        store = _open_registry(machine, location, name, token=token, flags=flags,
                               missing_error=ERROR_FILE_NOT_FOUND, as_system=system)
        if flags & CERT_STORE_DELETE_FLAG:
            target = store.registry if system else store
            target.delete_store()
            SetLastError(0)
            return None
        return store
    raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail=f"store provider {lpszStoreProvider!r}")


@_facade
def CertOpenSystemStore(hProv, szSubsystemProtocol):
    """CertOpenSystemStore: CurrentUser's system store ``szSubsystemProtocol`` (created if
    missing). Raises E_INVALIDARG for an empty name (Wine store.c testCertOpenSystemStore)."""
    if not szSubsystemProtocol:
        raise WinError(E_INVALIDARG)
    return CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, hProv, CERT_SYSTEM_STORE_CURRENT_USER,
                         szSubsystemProtocol)


@_facade
def CertDuplicateStore(hCertStore):
    """CertDuplicateStore: the same handle with one more reference."""
    return hCertStore.duplicate()


@_facade
def CertCloseStore(hCertStore, dwFlags: int = 0) -> bool:
    """CertCloseStore. NULL -> TRUE. With CERT_CLOSE_STORE_CHECK_FLAG raises
    CRYPT_E_PENDING_CLOSE (after releasing the handle) while another handle or a context
    from the store is alive; the empty store of created contexts -> E_UNEXPECTED."""
    if hCertStore is None:
        return True
    return hCertStore.close(dwFlags & 0xFFFFFFFF)


def _require_store(hCertStore) -> CertStore:
    if not isinstance(hCertStore, CertStore):
        raise WinError(ERROR_INVALID_HANDLE, detail=f"not a store: {hCertStore!r}")
    return hCertStore


def _next_result(store: CertStore, previous, ctx):
    """What the enumerating functions return: ``previous`` is released; no match is NULL
    with CRYPT_E_NOT_FOUND left in GetLastError (so C loops port unchanged)."""
    if previous is not None:
        from .certs import CertFreeCertificateContext

        CertFreeCertificateContext(previous)
    if ctx is None:
        SetLastError(CRYPT_E_NOT_FOUND)
        return None
    return store._hand_out(ctx)


@_facade
def CertEnumCertificatesInStore(hCertStore, pPrevCertContext=None):
    """CertEnumCertificatesInStore: the context after ``pPrevCertContext`` (which is
    released), or None with CRYPT_E_NOT_FOUND in GetLastError at the end. Memory stores
    give the newest first; system stores ascending SHA-1 (module docstring)."""
    store = _require_store(hCertStore)
    return _next_result(store, pPrevCertContext, store.enum_next(pPrevCertContext))


# ---------------------------------------------------------------------------------------
# Find
# ---------------------------------------------------------------------------------------


def _cert_eku(ctx: CertContext, flags: int) -> tuple[bool, list[str]]:
    """(has usage restrictions, allowed OIDs) from the extension and/or the property."""
    from cryptography import x509

    oids: list[str] | None = None
    if not flags & CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG:
        try:
            ext = ctx.x509.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
            oids = [o.dotted_string for o in ext.value]
        except x509.ExtensionNotFound:
            pass
    if not flags & CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG:
        raw = ctx._root()._props.get(CERT_ENHKEY_USAGE_PROP_ID)
        if raw is not None:
            prop = decode_eku_prop(raw)
            oids = prop if oids is None else [o for o in oids if o in prop]
    return oids is not None, oids or []


def _matcher(find_type: int, flags: int, para) -> Callable[[CertContext], bool]:
    if find_type == CERT_FIND_ANY:
        return lambda ctx: True
    if find_type == CERT_FIND_MD5_HASH:
        want = bytes(para)
        return lambda ctx: hashlib.md5(ctx.pbCertEncoded).digest() == want
    if find_type == CERT_FIND_SIGNATURE_HASH:
        want = bytes(para)

        def sig(ctx):
            try:
                return ctx.get_raw_property(CERT_SIGNATURE_HASH_PROP_ID) == want
            except WinError:
                return False
        return sig
    if find_type in (CERT_FIND_SUBJECT_STR_W, CERT_FIND_SUBJECT_STR_A,
                     CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A):
        issuer = find_type in (CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A)
        if para is None:
            return lambda ctx: True  # Windows (Wine cert.c testFindCert): NULL matches all
        needle = (bytes(para).decode() if isinstance(para, (bytes, bytearray)) else str(para)).lower()

        def by_str(ctx):
            info = ctx.pCertInfo
            text = name_to_str(info.Issuer if issuer else info.Subject,
                               CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG)
            return needle in text.lower()
        return by_str
    if find_type in (CERT_FIND_SUBJECT_NAME, CERT_FIND_ISSUER_NAME):
        want = bytes(para)
        if find_type == CERT_FIND_ISSUER_NAME:
            return lambda ctx: ctx.pCertInfo.Issuer == want
        return lambda ctx: ctx.pCertInfo.Subject == want
    if find_type == CERT_FIND_SUBJECT_CERT:
        issuer_der, serial = para.Issuer, bytes(para.SerialNumber)
        if not serial:
            return lambda ctx: False  # an empty serial never matches
        return lambda ctx: ctx.pCertInfo.Issuer == bytes(issuer_der) and \
            ctx.pCertInfo.SerialNumber == serial
    if find_type == CERT_FIND_KEY_SPEC:
        want = int(para)

        def spec(ctx):
            try:
                return ctx.get_property(CERT_KEY_SPEC_PROP_ID) == want
            except WinError:
                return False
        return spec
    if find_type == CERT_FIND_PROPERTY:
        pid = int(para)

        def has(ctx):
            try:
                ctx.get_raw_property(pid)
                return True
            except WinError:
                return False
        return has
    if find_type == CERT_FIND_ENHKEY_USAGE:
        wanted = [str(o) for o in (para or [])]

        def eku(ctx):
            restricted, allowed = _cert_eku(ctx, flags)
            if flags & CERT_FIND_NO_ENHKEY_USAGE_FLAG:
                return not restricted
            if not restricted:
                # Documented: certificates without an EKU extension or property match
                # only with CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG.
                return bool(flags & CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG)
            if not wanted:
                return True
            if flags & CERT_FIND_OR_ENHKEY_USAGE_FLAG:
                return any(o in allowed for o in wanted)
            return all(o in allowed for o in wanted)
        return eku
    raise WinError(E_INVALIDARG, detail=f"find type 0x{find_type:08X}")


@_facade
def CertFindCertificateInStore(hCertStore, dwCertEncodingType: int, dwFindFlags: int,
                               dwFindType: int, pvFindPara, pPrevCertContext=None):
    """CertFindCertificateInStore: the next context matching ``dwFindType``, or None with
    CRYPT_E_NOT_FOUND. ``pPrevCertContext`` is released, as on Windows.

    SHA1_HASH/HASH (bytes; one indexed lookup in system stores), MD5_HASH, HASH_STR (hex,
    spaces allowed), SIGNATURE_HASH, SUBJECT_STR/ISSUER_STR (case-insensitive substring
    of the X.500 string; None matches all), SUBJECT_NAME/ISSUER_NAME (DER equality),
    EXISTING (same SHA-1 as a context), SUBJECT_CERT (issuer + serial of a CERT_INFO),
    ENHKEY_USAGE (list of OIDs, CERT_FIND_*_ENHKEY_USAGE_FLAG), KEY_SPEC, PROPERTY, ANY.
    Raises E_INVALIDARG for an unknown find type or a missing parameter.
    """
    store = _require_store(hCertStore)
    find_type = dwFindType & 0xFFFFFFFF
    flags = dwFindFlags & 0xFFFFFFFF
    if find_type in (CERT_FIND_SHA1_HASH, CERT_FIND_HASH_STR, CERT_FIND_EXISTING):
        if find_type == CERT_FIND_EXISTING:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            sha1 = pvFindPara.sha1
        elif find_type == CERT_FIND_HASH_STR:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            try:
                sha1 = bytes.fromhex("".join(str(pvFindPara).split()))
            except ValueError:
                sha1 = b""
        else:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            sha1 = bytes(pvFindPara)
        ctx = store.find_sha1(sha1, pPrevCertContext)
    else:
        if pvFindPara is None and find_type not in (
                CERT_FIND_ANY, CERT_FIND_SUBJECT_STR_W, CERT_FIND_SUBJECT_STR_A,
                CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A, CERT_FIND_ENHKEY_USAGE):
            raise WinError(E_INVALIDARG)
        if find_type == CERT_FIND_SUBJECT_CERT and pvFindPara is None:
            raise WinError(E_INVALIDARG)
        ctx = store.find(_matcher(find_type, flags, pvFindPara), pPrevCertContext)
    return _next_result(store, pPrevCertContext, ctx)


# ---------------------------------------------------------------------------------------
# Add / delete / serialize
# ---------------------------------------------------------------------------------------


def _free_standing_copy(der: bytes, props: dict, encoding: int) -> CertContext:
    return CertContext(der, encoding=encoding, store=EMPTY_STORE, props=props)


@_facade
def CertAddCertificateContextToStore(hCertStore, pCertContext, dwAddDisposition: int):
    """CertAddCertificateContextToStore: add a copy (with its properties) of a context.

    Returns the context now in the store (a new one; the existing one for USE_EXISTING).
    Raises E_INVALIDARG (disposition 0 or unknown), CRYPT_E_EXISTS (ADD_NEW of a present
    certificate — by SHA-1 — or NEWER not newer), E_ACCESSDENIED (no add-enabled member in
    a collection, a read-only or LocalMachine store for a non-administrator).
    ``hCertStore`` None with a valid disposition gives a copy in no store.
    """
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    if dwAddDisposition not in _DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {dwAddDisposition}")
    if hCertStore is None:
        return _free_standing_copy(pCertContext.pbCertEncoded, _copy_props(pCertContext),
                                   pCertContext.dwCertEncodingType)
    store = _require_store(hCertStore)
    return store._hand_out(store.add(pCertContext, dwAddDisposition))


@_facade
def CertAddEncodedCertificateToStore(hCertStore, dwCertEncodingType: int, pbCertEncoded: bytes,
                                     dwAddDisposition: int):
    """CertAddEncodedCertificateToStore: decode ``pbCertEncoded`` and add it.

    Raises the decoder's CRYPT_E_ASN1_* error for bad bytes (``30 00`` ->
    CRYPT_E_ASN1_EOD, a CRL -> CRYPT_E_ASN1_BADTAG), E_INVALIDARG for a bad encoding
    type or disposition, and the errors of CertAddCertificateContextToStore.
    """
    from .certs import _check_encoding

    encoding = _check_encoding(dwCertEncodingType)
    ctx = create_context(encoding, pbCertEncoded)
    return CertAddCertificateContextToStore(hCertStore, ctx, dwAddDisposition)


@_facade
def CertDeleteCertificateFromStore(pCertContext) -> bool:
    """CertDeleteCertificateFromStore: remove the context's certificate from its store
    (the context is released). Deleting one already deleted succeeds. Raises
    E_ACCESSDENIED for a read-only store or a LocalMachine store and a non-administrator."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    store = pCertContext.hCertStore
    try:
        # A context keeps its store alive (CertCloseStore without FORCE only drops the
        # handle's reference), so deleting through it works after the handle is closed.
        if isinstance(store, CertStore):
            store._remove(pCertContext)
    finally:
        pCertContext._refs = 0
        if isinstance(store, CertStore):
            store._release_context(pCertContext)
    return True


@_facade
def CertSerializeCertificateStoreElement(pCertContext, dwFlags: int = 0) -> bytes:
    """CertSerializeCertificateStoreElement: the context as a serialized element,
    cached hash properties included (``dwFlags`` is ignored, as on Windows)."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    return serialize_element(pCertContext, include_hashes=True)


@_facade
def CertAddSerializedElementToStore(hCertStore, pbElement: bytes, dwAddDisposition: int,
                                    dwFlags: int, dwContextTypeFlags: int):
    """CertAddSerializedElementToStore: add a serialized element; (context, context type).

    Raises ERROR_END_OF_MEDIA (empty), E_INVALIDARG (context-type flags 0 or not
    matching the element, a record overrunning or a context record of 0 bytes),
    ERROR_FILE_NOT_FOUND (a record encoding other than 1), the decoder's errors, and
    the errors of the add (CRYPT_E_EXISTS...). A hash property inside the element is
    replaced by the certificate's real SHA-1 (Wine store.c testAddSerialized).
    """
    data = bytes(pbElement or b"")
    if not data:
        raise WinError(ERROR_END_OF_MEDIA)
    type_flags = dwContextTypeFlags & 0xFFFFFFFF
    if type_flags == CERT_STORE_ALL_CONTEXT_FLAG:
        wanted = None
    elif type_flags & CERT_STORE_CERTIFICATE_CONTEXT_FLAG:
        wanted = 32
    elif type_flags & (CERT_STORE_CRL_CONTEXT_FLAG | CERT_STORE_CTL_CONTEXT_FLAG):
        wanted = 33 if type_flags & CERT_STORE_CRL_CONTEXT_FLAG else 34
    else:
        raise WinError(E_INVALIDARG, detail="no context type requested")
    cid, der, props, _ = parse_element_ex(data)
    if wanted is not None and cid != wanted:
        raise WinError(E_INVALIDARG, detail=f"element holds context type {cid}")
    if cid != 32:
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="CRL and CTL contexts")
    if CERT_SHA1_HASH_PROP_ID in props:
        props[CERT_SHA1_HASH_PROP_ID] = hashlib.sha1(der).digest()
    props.pop(CERT_MD5_HASH_PROP_ID, None)
    ctx = create_context(X509_ASN_ENCODING, der)
    ctx._props.update({k: v for k, v in props.items() if k not in VOLATILE_PROP_IDS})
    if hCertStore is None:
        if dwAddDisposition not in _DISPOSITIONS:
            raise WinError(E_INVALIDARG)
        return ctx, CERT_STORE_CERTIFICATE_CONTEXT
    added = CertAddCertificateContextToStore(hCertStore, ctx, dwAddDisposition)
    return added, CERT_STORE_CERTIFICATE_CONTEXT


@_facade
def CertSaveStore(hCertStore, dwEncodingType: int, dwSaveAs: int, dwSaveTo: int, pvSaveToPara,
                  dwFlags: int = 0):
    """CertSaveStore: the store as a serialized store (CERT_STORE_SAVE_AS_STORE) or a
    PKCS#7 SignedData (CERT_STORE_SAVE_AS_PKCS7). CERT_STORE_SAVE_TO_MEMORY returns the
    bytes; SAVE_TO_FILENAME writes the host file ``pvSaveToPara``; SAVE_TO_FILE writes a
    binary file object. Raises ERROR_INVALID_PARAMETER for other save kinds/targets."""
    store = _require_store(hCertStore)
    store._check_open()
    contexts = list(store)
    if dwSaveAs == CERT_STORE_SAVE_AS_STORE:
        data = save_serialized_store(contexts)
    elif dwSaveAs == CERT_STORE_SAVE_AS_PKCS7:
        data = save_pkcs7(contexts)
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"dwSaveAs {dwSaveAs}")
    if dwSaveTo == CERT_STORE_SAVE_TO_MEMORY:
        return data
    if dwSaveTo in (CERT_STORE_SAVE_TO_FILENAME_W, CERT_STORE_SAVE_TO_FILENAME_A):
        if not pvSaveToPara:
            raise WinError(ERROR_PATH_NOT_FOUND)
        path = Path(os.fspath(pvSaveToPara))
        if not path.parent.is_dir():
            raise WinError(ERROR_PATH_NOT_FOUND, detail=str(path))
        _write_atomically(path, data)
        return True
    if dwSaveTo == CERT_STORE_SAVE_TO_FILE:
        if pvSaveToPara is None:
            raise WinError(ERROR_INVALID_HANDLE)
        pvSaveToPara.write(data)
        return True
    raise WinError(ERROR_INVALID_PARAMETER, detail=f"dwSaveTo {dwSaveTo}")


@_facade
def CertAddStoreToCollection(hCollectionStore, hSiblingStore, dwUpdateFlags: int = 0,
                             dwPriority: int = 0) -> bool:
    """CertAddStoreToCollection. Raises E_INVALIDARG when the target is not a collection
    (a SYSTEM_REGISTRY store is not; a PROV_SYSTEM store is)."""
    if not isinstance(hCollectionStore, CollectionStore):
        raise WinError(E_INVALIDARG, detail="not a collection store")
    sibling = _require_store(hSiblingStore)
    hCollectionStore.add_member(sibling, dwUpdateFlags & 0xFFFFFFFF, dwPriority)
    return True


@_facade
def CertRemoveStoreFromCollection(hCollectionStore, hSiblingStore) -> None:
    """CertRemoveStoreFromCollection."""
    if isinstance(hCollectionStore, CollectionStore):
        hCollectionStore.remove_member(hSiblingStore)


@_facade
def CertEnumSystemStore(dwFlags: int, pvSystemStoreLocationPara=None, pvArg=None,
                        pfnEnum=None):
    """CertEnumSystemStore: the system stores of the location in ``dwFlags`` (predefined
    ones, then those created). Without ``pfnEnum`` returns their names; with it, calls
    ``pfnEnum(pvSystemStore, dwFlags, pStoreInfo, pvReserved, pvArg)`` for each as the C
    function does (stopping when it returns False) and returns True. Raises E_INVALIDARG
    for another location."""
    location = _location_from_flags(dwFlags & 0xFFFFFFFF)
    if location is None:
        raise WinError(E_INVALIDARG, detail="location")
    from .machine import current_machine, current_token

    machine = current_machine()
    token = current_token(machine)
    key = location_key(machine, location, token)
    names = list(PREDEFINED_STORES[location])
    lowered = {n.lower() for n in names}
    for (name,) in machine.db.execute("SELECT store FROM stores WHERE location=? ORDER BY rowid",
                                      (key,)):
        if name.lower() not in lowered:
            names.append(name)
            lowered.add(name.lower())
    if pfnEnum is None:
        return names
    for name in names:
        if pfnEnum(name, dwFlags & 0xFFFFFFFF, None, None, pvArg) is False:
            break
    return True


@_facade
def CertControlStore(hCertStore, dwFlags: int, dwCtrlType: int, pvCtrlPara=None) -> bool:
    """CertControlStore: RESYNC, COMMIT, AUTO_RESYNC. System stores write through, so
    COMMIT succeeds; a memory store (alone or in a collection) and a file store without
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG raise ERROR_CALL_NOT_IMPLEMENTED."""
    store = _require_store(hCertStore)
    store._check_open()
    return store.control(dwCtrlType)


__all__ = [
    "CertStore", "MemoryStore", "FileStore", "RegistryStore", "CollectionStore", "SystemStore",
    "EmptyStore", "EMPTY_STORE", "open_system_store", "find_by_thumbprint", "PREDEFINED_STORES",
    "LOCAL_MACHINE", "CURRENT_USER", "CertOpenStore", "CertOpenSystemStore", "CertCloseStore",
    "CertDuplicateStore", "CertEnumCertificatesInStore", "CertFindCertificateInStore",
    "CertAddEncodedCertificateToStore", "CertAddCertificateContextToStore",
    "CertDeleteCertificateFromStore", "CertSerializeCertificateStoreElement",
    "CertAddSerializedElementToStore", "CertSaveStore", "CertAddStoreToCollection",
    "CertRemoveStoreFromCollection", "CertEnumSystemStore", "CertControlStore",
]

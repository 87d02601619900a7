r"""Certificate stores: the object model (after Wine's crypt32 design).

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
from typing import TYPE_CHECKING, Any

from capi.constants import (
    CERT_ACCESS_STATE_LM_SYSTEM_STORE_FLAG,
    CERT_ACCESS_STATE_SYSTEM_STORE_FLAG,
    CERT_ACCESS_STATE_WRITE_PERSIST_FLAG,
    CERT_CLOSE_STORE_CHECK_FLAG,
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
    CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG,
    CERT_SHA1_HASH_PROP_ID,
    CERT_STORE_ADD_ALWAYS,
    CERT_STORE_ADD_NEW,
    CERT_STORE_ADD_NEWER,
    CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES,
    CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES,
    CERT_STORE_ADD_USE_EXISTING,
    CERT_STORE_CREATE_NEW_FLAG,
    CERT_STORE_CTRL_AUTO_RESYNC,
    CERT_STORE_CTRL_COMMIT,
    CERT_STORE_CTRL_RESYNC,
    CERT_STORE_DELETE_FLAG,
    CERT_STORE_MAXIMUM_ALLOWED_FLAG,
    CERT_STORE_OPEN_EXISTING_FLAG,
    CERT_STORE_READONLY_FLAG,
    CERT_STORE_SAVE_AS_PKCS7,
    CERT_STORE_SAVE_AS_STORE,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    X509_ASN_ENCODING,
)
from capi.crypt32.context import (
    VOLATILE_PROP_IDS,
    CertContext,
    parse_certificate,
    serialize_element,
)
from capi.crypt32.crlcontext import CrlContext, CrlList, RegistryCrls, crl_element
from capi.errors import (
    CRYPT_E_EXISTS,
    CRYPT_E_PENDING_CLOSE,
    E_ACCESSDENIED,
    E_INVALIDARG,
    E_UNEXPECTED,
    ERROR_ACCESS_DENIED,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_FILE_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_HANDLE,
    WinError,
)
from capi.formats.serialized import (
    parse_element,
    save_pkcs7,
    save_serialized_store,
)

if TYPE_CHECKING:
    from capi.host.accounts import Token
    from capi.host.machine import Machine

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

ADD_DISPOSITIONS = frozenset({
    CERT_STORE_ADD_NEW, CERT_STORE_ADD_USE_EXISTING, CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_ADD_ALWAYS, CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES,
    CERT_STORE_ADD_NEWER, CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES,
})
PKCS7_SUFFIXES = (".p7b", ".p7c", ".spc")
_PAGE_MAX = 512




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

    def _store_link(self, source: CertContext, replace: CertContext | None) -> CertContext:
        """Write a link to ``source``; stores that persist contexts keep a copy."""
        return self._store_new(source.pbCertEncoded, copy_props(source),
                               source.dwCertEncodingType, replace)

    def _remove(self, ctx: CertContext) -> None:
        raise WinError(E_ACCESSDENIED)

    def access_state(self) -> int:
        return 0

    def control(self, ctrl: int) -> bool:
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED)

    def _on_close(self) -> None:
        pass

    # -- CRLs (capi.crypt32.crlcontext): a CrlList / RegistryCrls, or None (holds none) ---

    _crls = None

    def crl_all(self) -> Iterator[CrlContext]:
        return self._crls.all() if self._crls is not None else iter(())

    def crl_lookup(self, sha1: bytes) -> CrlContext | None:
        return self._crls.lookup(sha1) if self._crls is not None else None

    def crl_store_new(self, der: bytes, props: dict, encoding: int, replace) -> CrlContext:
        if self._crls is None:
            raise WinError(E_ACCESSDENIED)
        return self._crls.store_new(der, props, encoding, replace)

    def crl_remove(self, ctx: CrlContext) -> None:
        if self._crls is not None:
            self._crls.remove(ctx)

    def crl_persist(self, ctx: CrlContext) -> None:
        persist = getattr(self._crls, "persist", None)
        if persist is not None:
            persist(ctx)

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
        return _add_with_disposition(self, src.pbCertEncoded, copy_props(src),
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


def copy_props(src: CertContext) -> dict:
    return dict(src._root()._props)


def apply_add_disposition(disposition: int, existing, props: dict, persist_name: str,
                          is_newer: Callable[[Any], bool]) -> tuple[Any, dict, Any]:
    """Windows' add rules for a context whose match ``existing`` (or None) is in the store,
    shared by certificates and CRLs. Returns ``(kept, props, replace)``: ``kept`` is the
    existing context to hand back (ADD_USE_EXISTING, which gives it the properties it
    lacked, saved through its store's ``persist_name`` method), else None, and the new
    context is stored with ``props`` in place of ``replace`` (or of nothing).

    ADD_NEW: CRYPT_E_EXISTS for a match. REPLACE_EXISTING(_INHERIT_PROPERTIES): the match
    goes (keeping its properties under the inherit form). NEWER(_INHERIT_PROPERTIES):
    CRYPT_E_EXISTS unless ``is_newer(existing)``, else as REPLACE. ADD_ALWAYS: no check."""
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
                persist = getattr(root.hCertStore, persist_name, None)
                try:
                    if persist:
                        persist(root)
                except WinError:
                    # A store we may not write (CurrentUser's view of LocalMachine): the
                    # existing context is still used, unchanged.
                    for k in missing:
                        root._props.pop(k, None)
            return existing, props, None
    elif disposition in (CERT_STORE_ADD_REPLACE_EXISTING,
                         CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES):
        replace = existing
        if existing is not None and disposition == CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES:
            props = {**props, **existing._root()._props}
    elif disposition in (CERT_STORE_ADD_NEWER, CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES):
        if existing is not None:
            if not is_newer(existing):
                raise WinError(CRYPT_E_EXISTS)
            replace = existing
            if disposition == CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES:
                props = {**props, **existing._root()._props}
    return None, props, replace


def _add_with_disposition(store: CertStore, der: bytes, props: dict, encoding: int,
                          disposition: int, *, link: CertContext | None = None) -> CertContext:
    """Windows' add rules (CertAddCertificateContextToStore), shared by every store.

    Duplicates are found by the source's CERT_HASH_PROP_ID when one is set, else by the
    SHA-1 of the encoding (Wine cert.c testAddCert: a context whose hash property is set
    to another certificate's hash is refused by ADD_NEW). ``link`` makes the new context
    a link to that context (CertAddCertificateLinkToStore)."""
    if disposition not in ADD_DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {disposition}")
    hash_prop = props.get(CERT_SHA1_HASH_PROP_ID)
    if isinstance(hash_prop, (bytes, bytearray)) and len(hash_prop) == hashlib.sha1().digest_size:
        sha1 = bytes(hash_prop)
    else:
        sha1 = hashlib.sha1(der).digest()
    # ADD_NEWER's documented rule: CRYPT_E_EXISTS unless the new certificate's NotBefore
    # is later. "Matching" is by SHA-1, so the dates are equal.
    kept, props, replace = apply_add_disposition(
        disposition, store._lookup(sha1), props, "persist_properties",
        lambda old: old.x509.not_valid_before_utc < parse_certificate(der).not_valid_before_utc)
    if kept is not None:
        return kept
    if link is not None:
        return store._store_link(link, replace)
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
        self._crls = CrlList(self)

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

    def _store_link(self, source, replace):
        # A link shares the source's encoding, CERT_INFO and properties (Wine cert.c
        # testLinkCert, store.c testAddCertificateLink).
        if replace is not None:
            self._remove(replace)
        ctx = CertContext.link(source, self)
        ctx._seq = self._next_seq
        self._next_seq += 1
        self._seqs.append(ctx._seq)
        self._by_seq[ctx._seq] = ctx
        self._by_sha1.setdefault(ctx.sha1, []).append(ctx._seq)
        self.dirty = True
        return ctx

    def _remove(self, ctx):
        root = ctx if (ctx.hCertStore is self and ctx._seq) else ctx._root()
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

    # CERT_STORE_READONLY_FLAG does not stop adds or deletes: they stay in memory and
    # are never written (Wine store.c testFileStore: a "read-only" file store accepts an
    # add, refuses CERT_STORE_CTRL_COMMIT, and the file keeps its size).

    def crl_store_new(self, der, props, encoding, replace):
        if self.readonly:
            raise WinError(E_ACCESSDENIED)
        self.dirty = True
        return super().crl_store_new(der, props, encoding, replace)

    def crl_remove(self, ctx):
        if self.readonly:
            raise WinError(E_ACCESSDENIED)
        self.dirty = True
        super().crl_remove(ctx)

    def crl_persist(self, ctx):
        self.dirty = True

    def commit(self) -> None:
        contexts = list(self._iter_from(None))
        crls = list(self.crl_all())
        if self.save_as == CERT_STORE_SAVE_AS_PKCS7:
            data = save_pkcs7((c.x509 for c in contexts), [c.pbCrlEncoded for c in crls])
        else:
            data = save_serialized_store(
                [*(serialize_element(c, include_hashes=False) for c in contexts),
                 *(crl_element(c, include_hashes=False) for c in crls)])
        if self.fileobj is not None:
            self.fileobj.seek(0)
            self.fileobj.write(data)
            self.fileobj.truncate()
            self.fileobj.flush()
        elif self.path is not None:
            write_atomically(self.path, data)
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


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        from capi.errors import CRYPT_E_FILE_ERROR

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
    from capi.host.context import current_token

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
        self._crls = RegistryCrls(self, machine, self.key, name)

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
        self._crls.delete_all()
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

    def crl_all(self):
        for member, _f, _p in list(self.members):
            for ctx in member.crl_all():
                yield CrlContext.link(ctx, self, member)

    def crl_lookup(self, sha1):
        for member, _f, _p in self.members:
            ctx = member.crl_lookup(sha1)
            if ctx is not None:
                return CrlContext.link(ctx, self, member)
        return None

    def crl_store_new(self, der, props, encoding, replace):
        if replace is not None and replace._member is not None:
            member = replace._member
            return CrlContext.link(member.crl_store_new(der, props, encoding, replace._source),
                                   self, member)
        for member, uflags, _p in self.members:
            if uflags & CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG:
                return CrlContext.link(member.crl_store_new(der, props, encoding, None),
                                       self, member)
        raise WinError(E_ACCESSDENIED)

    def crl_remove(self, ctx):
        if ctx._member is not None:
            ctx._member.crl_remove(ctx._source)

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

    def access_state(self) -> int:
        # The system store's own registry store decides (Wine store.c testStoreProperty:
        # CertOpenSystemStore "My" reports a persisted store).
        return self.registry.access_state()

    def count(self) -> int:
        return sum(m.count() for m, _f, _p in self.members)


# ---------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------

SYSTEM_STORE_LOCATIONS = {
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


def open_registry_store(machine, location: str, name: str, *, token, flags: int,
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


def open_system_store(machine: Machine, location: str, name: str, *, token: Token | None = None,
                      flags: int = 0, create: bool = True) -> SystemStore:
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
    return open_registry_store(machine, location, name, token=token, flags=flags,
                          missing_error=ERROR_FILE_NOT_FOUND, as_system=True)


def find_by_thumbprint(store: CertStore, hex_thumbprint: str) -> CertContext | None:
    """The context whose SHA-1 is ``hex_thumbprint`` (spaces and case ignored), or None."""
    try:
        sha1 = bytes.fromhex("".join(hex_thumbprint.split()))
    except ValueError:
        return None
    return store.find_sha1(sha1) if len(sha1) == hashlib.sha1().digest_size else None


# ---------------------------------------------------------------------------------------
# Find
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Add / delete / serialize
# ---------------------------------------------------------------------------------------


def create_context(encoding: int, der: bytes) -> CertContext:
    """Validate ``der`` and make a context owned by no real store."""
    from capi.crypt32.store_kinds import EMPTY_STORE

    if der is None:
        der = b""
    cert = parse_certificate(bytes(der))
    return CertContext(bytes(der), encoding=encoding, store=EMPTY_STORE, x509_cert=cert)


__all__ = [
    "LOCAL_MACHINE", "CURRENT_USER", "PREDEFINED_STORES", "CertStore", "MemoryStore",
    "EmptyStore", "EMPTY_STORE", "FileStore", "resolve_token", "RegistryStore",
    "CollectionStore", "SystemStore", "open_system_store", "find_by_thumbprint",
]

"""The CRL_CONTEXT object and the CRL halves of the store kinds (Wine: dlls/crypt32/crl.c).

A :class:`CrlContext` mirrors :class:`capi.crypt32.context.CertContext`: the encoded
bytes, the decoded ``pCrlInfo`` (a :class:`capi.crypt32.structs.CRL_INFO`), the store it
belongs to and a property list. Every store kind holds its CRLs in a :class:`CrlList`
(memory, file and serialized stores, newest first, as Windows' memory store adds to the
head of its list) or :class:`RegistryCrls` (a system store's ``...\\CRLs`` key, one row
per CRL in the machine's ``crls`` table, enumerated by SHA-1 as the registry provider
reads subkeys); a collection walks its members' lists.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

from capi.constants import (
    CERT_ACCESS_STATE_PROP_ID,
    CERT_CRL_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_SHA1_HASH_PROP_ID,
    CERT_SIGNATURE_HASH_PROP_ID,
    X509_ASN_ENCODING,
)
from capi.crypt32.contextbase import LinkedContext
from capi.errors import (
    CRYPT_E_ASN1_EOD,
    CRYPT_E_NOT_FOUND,
    E_INVALIDARG,
    WinError,
)

_DWORD_LE = 4
_seq = itertools.count(1)


def decode_crl_info(der: bytes):
    """CRL_INFO of a signed or bare CRL; the decoder's CRYPT_E_ASN1_* error otherwise.

    Windows decodes CRLs with X509_CERT_CRL_TO_BE_SIGNED, which accepts both a signed CRL
    and its bare to-be-signed part (Wine crl.c testCreateCRL: ``CRL`` and ``signedCRL``
    both make contexts)."""
    from capi.constants import X509_CERT_CRL_TO_BE_SIGNED
    from capi.crypt32.encode import CryptDecodeObjectEx

    if not der:
        raise WinError(CRYPT_E_ASN1_EOD)
    return CryptDecodeObjectEx(X509_ASN_ENCODING, X509_CERT_CRL_TO_BE_SIGNED, bytes(der))


class CrlContext(LinkedContext):
    """CRL_CONTEXT: ``dwCertEncodingType``, ``pbCrlEncoded``, ``cbCrlEncoded``,
    ``pCrlInfo``, ``hCertStore``; plus ``sha1``, ``x509crl`` (cryptography's object,
    None for a bare CRL) and the property methods."""

    __slots__ = ("_der", "_props", "_info", "_sha1", "_crl", "hCertStore",
                 "dwCertEncodingType", "_key", "_refs", "_member", "_source", "__weakref__")

    def __init__(self, der: bytes, *, encoding: int = X509_ASN_ENCODING, store=None,
                 props: dict | None = None, info=None, key=None):
        self._der = bytes(der)
        self._props: dict[int, Any] = dict(props) if props else {}
        self._info = info
        self._sha1: bytes | None = None
        self._crl = None
        self.hCertStore = store
        self.dwCertEncodingType = encoding
        self._key = key if key is not None else next(_seq)
        self._refs = 1
        self._member = None
        self._source: CrlContext | None = None

    @classmethod
    def link(cls, source: CrlContext, store, member) -> CrlContext:
        root = source._root()
        ctx = cls(root._der, encoding=root.dwCertEncodingType, store=store, info=root._info,
                  key=source._key)
        ctx._props = root._props
        ctx._member = member
        ctx._source = source
        return ctx

    def same_as(self, other: CrlContext) -> bool:
        return (self._member is other._member and self._key == other._key
                and self.hCertStore is other.hCertStore)

    @property
    def pbCrlEncoded(self) -> bytes:
        return self._der

    @property
    def cbCrlEncoded(self) -> int:
        return len(self._der)

    @property
    def pCrlInfo(self):
        if self._info is None:
            self._info = decode_crl_info(self._der)
        return self._info

    @property
    def sha1(self) -> bytes:
        if self._sha1 is None:
            self._sha1 = hashlib.sha1(self._der).digest()
        return self._sha1

    @property
    def x509crl(self):
        """cryptography's CertificateRevocationList, or None for a CRL it cannot load."""
        if self._crl is None:
            from cryptography import x509

            try:
                self._crl = x509.load_der_x509_crl(self._der)
            except ValueError:
                self._crl = False
        # (an empty CRL object is falsy: it has a length, the number of entries)
        return None if self._crl is False else self._crl

    def __repr__(self) -> str:
        return f"<CrlContext {self.sha1.hex().upper()}>"

    # -- properties (the certificate rules: hashes computed on demand) ---------------------

    def properties(self) -> list[int]:
        return list(self._root()._props)

    def get_raw_property(self, prop_id: int) -> Any:
        props = self._root()._props
        if prop_id in props:
            return props[prop_id]
        if prop_id == CERT_ACCESS_STATE_PROP_ID:
            return self.access_state().to_bytes(_DWORD_LE, "little")
        if prop_id == CERT_SHA1_HASH_PROP_ID:
            value = self.sha1
        elif prop_id == CERT_MD5_HASH_PROP_ID:
            value = hashlib.md5(self._der).digest()
        elif prop_id == CERT_SIGNATURE_HASH_PROP_ID and self.x509crl is not None:
            algo = self.x509crl.signature_hash_algorithm
            if algo is None:
                raise WinError(CRYPT_E_NOT_FOUND)
            from cryptography.hazmat.primitives import hashes

            h = hashes.Hash(algo)
            h.update(self.x509crl.tbs_certlist_bytes)
            value = h.finalize()
        else:
            raise WinError(CRYPT_E_NOT_FOUND)
        # Windows caches a computed hash as a property (Wine crl.c testCRLProperties:
        # after reading CERT_HASH_PROP_ID, enumeration shows one property).
        props[prop_id] = value
        return value

    def set_property(self, prop_id: int, flags: int, value: Any) -> None:
        from capi.crypt32.context import encode_property

        if not prop_id or prop_id < 0 or prop_id == CERT_CRL_PROP_ID:
            # Wine crl.c testCRLProperties: property 0 -> E_INVALIDARG.
            raise WinError(E_INVALIDARG)
        root = self._root()
        before = dict(root._props)
        if value is None:
            root._props.pop(prop_id, None)
        else:
            root._props[prop_id] = encode_property(prop_id, value)
        persist = getattr(root.hCertStore, "crl_persist", None)
        if persist is not None:
            try:
                persist(root)
            except WinError:
                root._props.clear()
                root._props.update(before)
                raise


def crl_element(ctx: CrlContext, *, include_hashes: bool = True) -> bytes:
    """The serialized element of a CRL (properties, then record 33)."""
    from capi.crypt32.context import VOLATILE_PROP_IDS
    from capi.formats.serialized import STRIPPED_IN_STORE, encode_element

    props = [(k, v) for k, v in ctx._root()._props.items()
             if k not in VOLATILE_PROP_IDS and isinstance(v, (bytes, bytearray))
             and (include_hashes or k not in STRIPPED_IN_STORE)]
    return encode_element(ctx.pbCrlEncoded, props, CERT_CRL_PROP_ID)


# ---------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------


class CrlList:
    """The CRLs of a memory-backed store, newest first."""

    def __init__(self, owner):
        self.owner = owner
        self.items: list[CrlContext] = []

    def all(self) -> Iterator[CrlContext]:
        return iter(list(self.items))

    def lookup(self, sha1: bytes) -> CrlContext | None:
        for c in self.items:
            if c.sha1 == sha1:
                return c
        return None

    def store_new(self, der: bytes, props: dict, encoding: int, replace) -> CrlContext:
        ctx = CrlContext(der, encoding=encoding, store=self.owner, props=props)
        pos = 0
        if replace is not None:
            for i, c in enumerate(self.items):
                if c is replace._root():
                    pos = i
                    del self.items[i]
                    break
        self.items.insert(pos, ctx)
        return ctx

    def remove(self, ctx: CrlContext) -> None:
        root = ctx._root()
        self.items = [c for c in self.items if c is not root]

    def load(self, items) -> None:
        """(der, props) pairs, oldest first, as a loader adds them (ADD_ALWAYS)."""
        for der, props in items:
            self.items.insert(0, CrlContext(der, store=self.owner, props=props))


_CRL_SCHEMA = """
CREATE TABLE IF NOT EXISTS crls (
    location TEXT NOT NULL,
    store TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    blob BLOB NOT NULL,
    PRIMARY KEY (location, store, sha1)
);
"""


class RegistryCrls:
    r"""The CRLs of one system store (``...\<store>\CRLs\<SHA1>\Blob``), in the machine's
    ``crls`` table, enumerated in ascending SHA-1 order and written through."""

    def __init__(self, owner, machine, key: str, name: str):
        self.owner = owner
        self.machine = machine
        self.key = key
        self.name = name

    def _schema(self):
        self.machine.ensure_schema("crypt32.crls", _CRL_SCHEMA)

    def _make(self, sha1hex: str, blob: bytes) -> CrlContext | None:
        from capi.formats.serialized import parse_element_ex

        try:
            cid, der, props, _ = parse_element_ex(blob)
        except WinError:
            return None
        if cid != CERT_CRL_PROP_ID:
            return None
        return CrlContext(der, store=self.owner, props=props, key=sha1hex)

    def all(self) -> Iterator[CrlContext]:
        self._schema()
        rows = self.machine.db.execute(
            "SELECT sha1, blob FROM crls WHERE location=? AND store=? ORDER BY sha1",
            (self.key, self.name)).fetchall()
        for sha1hex, blob in rows:
            ctx = self._make(sha1hex, blob)
            if ctx is not None:
                yield ctx

    def lookup(self, sha1: bytes) -> CrlContext | None:
        self._schema()
        key = sha1.hex().upper()
        row = self.machine.db.execute(
            "SELECT blob FROM crls WHERE location=? AND store=? AND sha1=?",
            (self.key, self.name, key)).fetchone()
        return self._make(key, row[0]) if row else None

    def _write(self, ctx: CrlContext) -> None:
        self._schema()
        with self.machine.transaction() as db:
            db.execute("INSERT OR REPLACE INTO crls(location, store, sha1, blob) "
                       "VALUES (?, ?, ?, ?)",
                       (self.key, self.name, ctx.sha1.hex().upper(), crl_element(ctx)))

    def store_new(self, der: bytes, props: dict, encoding: int, replace) -> CrlContext:
        self.owner._check_write()
        if replace is not None:
            self.remove(replace)
        ctx = CrlContext(der, encoding=encoding, store=self.owner, props=props,
                         key=hashlib.sha1(der).hexdigest().upper())
        self._write(ctx)
        return ctx

    def persist(self, ctx: CrlContext) -> None:
        self.owner._check_write()
        self._write(ctx)

    def remove(self, ctx: CrlContext) -> None:
        self.owner._check_write()
        self._schema()
        with self.machine.transaction() as db:
            db.execute("DELETE FROM crls WHERE location=? AND store=? AND sha1=?",
                       (self.key, self.name, ctx._root().sha1.hex().upper()))

    def delete_all(self) -> None:
        self._schema()
        with self.machine.transaction() as db:
            db.execute("DELETE FROM crls WHERE location=? AND store=?", (self.key, self.name))


__all__ = ["CrlContext", "CrlList", "RegistryCrls", "decode_crl_info", "crl_element"]

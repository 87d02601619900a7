"""The serialized-element / serialized-store (.sst) codec and PKCS#7 certificate bags.

Serialized element (docs/windows-facts.md §1): records of a 12-byte header of three
little-endian DWORDs — property id, encoding type (always 1), byte count — followed by
the bytes. Property records come first, the context record (32 certificate, 33 CRL,
34 CTL) last. It is the registry ``Blob`` value, what
CertSerializeCertificateStoreElement returns, and what winpki keeps in the ``certs``
table.

Serialized store: ``00000000 "CERT"``, the elements with hash properties (3, 4, 15)
stripped, then 12 zero bytes. An empty input is a valid empty store.

PKCS#7: a SignedData with certificates only (what CertSaveStore(CERT_STORE_SAVE_AS_PKCS7)
writes and .p7b files hold), DER or base64/PEM, read and written with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import TYPE_CHECKING

from capi.constants import (
    CERT_CERT_PROP_ID,
    CERT_CRL_PROP_ID,
    CERT_CTL_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_SHA1_HASH_PROP_ID,
    CERT_SIGNATURE_HASH_PROP_ID,
)
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_FILE_ERROR,
    CRYPT_E_INVALID_MSG_TYPE,
    E_INVALIDARG,
    ERROR_END_OF_MEDIA,
    ERROR_FILE_NOT_FOUND,
    WinError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cryptography import x509

RECORD = struct.Struct("<III")
# The middle DWORD of every record; Windows always writes 1 (Wine calls it "unknown").
ELEMENT_ENCODING = 1
STORE_MAGIC = b"\x00\x00\x00\x00CERT"
STORE_TRAILER = b"\x00" * RECORD.size
STRIPPED_IN_STORE = (CERT_SHA1_HASH_PROP_ID, CERT_MD5_HASH_PROP_ID, CERT_SIGNATURE_HASH_PROP_ID)
CONTEXT_RECORD_IDS = (CERT_CERT_PROP_ID, CERT_CRL_PROP_ID, CERT_CTL_PROP_ID)


def _record(prop_id: int, data: bytes) -> bytes:
    return RECORD.pack(prop_id, ELEMENT_ENCODING, len(data)) + data


def encode_element(der: bytes, props: Iterable[tuple[int, bytes | bytearray]],
                   context_id: int = CERT_CERT_PROP_ID) -> bytes:
    """Records for ``props`` (iterable of (id, bytes)) then the context record."""
    out = [_record(pid, bytes(val)) for pid, val in props]
    out.append(_record(context_id, bytes(der)))
    return b"".join(out)


def parse_element_ex(data: bytes, offset: int = 0) -> tuple[int, bytes, dict[int, bytes], int]:
    """(context id, der, {prop: bytes}, consumed) of the element at ``offset``.

    Errors as Windows reports them (Wine store.c testAddSerialized): nothing to read ->
    ERROR_END_OF_MEDIA; a record whose count overruns the buffer, or a context record of
    0 bytes, or no context record -> E_INVALIDARG; an encoding field other than 1 ->
    ERROR_FILE_NOT_FOUND. A zero property id ends the element (trailing zeros are fine).
    """
    data = memoryview(bytes(data))
    end = len(data)
    pos = offset
    if pos >= end:
        raise WinError(ERROR_END_OF_MEDIA)
    props: dict[int, bytes] = {}
    while pos + RECORD.size <= end:
        pid, enc, cb = RECORD.unpack_from(data, pos)
        if not pid:
            break
        if cb > end - pos - RECORD.size:
            raise WinError(E_INVALIDARG, detail=f"record {pid} overruns the element")
        if enc != ELEMENT_ENCODING:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"record encoding {enc}")
        body = bytes(data[pos + RECORD.size: pos + RECORD.size + cb])
        pos += RECORD.size + cb
        if pid in CONTEXT_RECORD_IDS:
            if not cb:
                raise WinError(E_INVALIDARG, detail="empty context record")
            return pid, body, props, pos - offset
        props[pid] = body
    raise WinError(E_INVALIDARG, detail="no context record in the element")


def parse_element(data: bytes) -> tuple[bytes, dict[int, bytes], int]:
    """(der, {prop_id: bytes}, consumed) of a serialized certificate element."""
    cid, der, props, consumed = parse_element_ex(data)
    if cid != CERT_CERT_PROP_ID:
        raise WinError(E_INVALIDARG, detail=f"element holds context type {cid}, not a certificate")
    return der, props, consumed


def save_serialized_store(elements: Iterable[bytes]) -> bytes:
    """A serialized store (.sst): header, the serialized ``elements`` (bytes), trailer."""
    return STORE_MAGIC + b"".join(elements) + STORE_TRAILER


def load_serialized_store(data: bytes) -> list[tuple[bytes, dict[int, bytes]]]:
    """[(der, props)] of the certificates in a serialized store.

    An empty input is an empty store. A missing or wrong header, a record cut short, or
    fewer than 12 bytes where a record header should be -> CRYPT_E_FILE_ERROR; the
    element-level errors of :func:`parse_element_ex` otherwise. CRL and CTL elements
    are skipped here; :func:`load_serialized_store_all` returns the CRLs too.
    """
    return load_serialized_store_all(data)[0]


def load_serialized_store_all(data: bytes) -> tuple[list[tuple[bytes, dict[int, bytes]]],
                                                    list[tuple[bytes, dict[int, bytes]]]]:
    """([(der, props)] of the certificates, [(der, props)] of the CRLs) of a serialized
    store, with :func:`load_serialized_store`'s errors. CTL elements are skipped."""
    data = bytes(data)
    crls: list[tuple[bytes, dict[int, bytes]]] = []
    if not data:
        return [], crls
    if len(data) < len(STORE_MAGIC) or not data.startswith(STORE_MAGIC):
        raise WinError(CRYPT_E_FILE_ERROR, detail="not a serialized store")
    pos = len(STORE_MAGIC)
    out = []
    while True:
        if len(data) - pos < RECORD.size:
            raise WinError(CRYPT_E_FILE_ERROR, detail="serialized store is truncated")
        pid, _enc, cb = RECORD.unpack_from(data, pos)
        if pid == 0 and cb == 0:
            break  # the 12-byte trailer
        # Every record must fit; a short one means a truncated file.
        scan = pos
        while True:
            if len(data) - scan < RECORD.size:
                raise WinError(CRYPT_E_FILE_ERROR, detail="serialized store is truncated")
            p, _e, c = RECORD.unpack_from(data, scan)
            if not p:
                raise WinError(CRYPT_E_FILE_ERROR, detail="element without a context record")
            if c > len(data) - scan - RECORD.size:
                raise WinError(CRYPT_E_FILE_ERROR, detail="serialized store is truncated")
            scan += RECORD.size + c
            if p in CONTEXT_RECORD_IDS:
                break
        cid, der, props, consumed = parse_element_ex(data, pos)
        pos += consumed
        if cid == CERT_CERT_PROP_ID:
            out.append((der, props))
        elif cid == CERT_CRL_PROP_ID:
            crls.append((der, props))
    return out, crls


# ---------------------------------------------------------------------------------------
# PKCS#7 certificate bags and base64
# ---------------------------------------------------------------------------------------

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.S)
_B64_CHARS = re.compile(rb"^[A-Za-z0-9+/=\s]+$")


def save_pkcs7(certs: Iterable[x509.Certificate], crls: Iterable[bytes] = ()) -> bytes:
    """A DER PKCS#7 SignedData holding ``certs`` (cryptography certificates) and ``crls``
    (DER CRLs); no signers."""
    certs = list(certs)
    crls = [bytes(c) for c in crls]
    if crls:
        from asn1crypto import cms
        from asn1crypto import crl as asn1_crl
        from asn1crypto import x509 as asn1_x509
        from cryptography.hazmat.primitives.serialization import Encoding

        sd = cms.SignedData({
            "version": "v1", "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
                             for c in certs] or None,
            "crls": [asn1_crl.CertificateList.load(c) for c in crls],
            "signer_infos": [],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump()
    if not certs:
        # cryptography refuses an empty bag; an empty SignedData is still well formed.
        from asn1crypto import cms

        sd = cms.SignedData({
            "version": "v1", "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"}, "signer_infos": [],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump()
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    return pkcs7.serialize_certificates(certs, Encoding.DER)


def load_pkcs7(data: bytes) -> list[bytes]:
    """DER certificates of a PKCS#7 SignedData (DER or PEM); see :func:`load_pkcs7_all`."""
    return load_pkcs7_all(data)[0]


def load_pkcs7_all(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """(DER certificates, DER CRLs) of a PKCS#7 SignedData (DER or PEM).

    Raises CRYPT_E_INVALID_MSG_TYPE for a PKCS#7 message that is not SignedData, and
    CRYPT_E_ASN1_BADTAG for bytes that are not a ContentInfo at all.
    """
    from asn1crypto import cms

    raw = bytes(data)
    pem = _PEM_RE.search(raw)
    if pem:
        raw = decode_base64(pem.group(2))
    try:
        info = cms.ContentInfo.load(raw)
        ctype = info["content_type"].native
    except (ValueError, TypeError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from exc
    if ctype != "signed_data":
        raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=f"PKCS#7 content type {ctype}")
    try:
        certs = info["content"]["certificates"]
        crls = info["content"]["crls"]
        return ([c.chosen.dump() for c in certs] if certs else [],
                [c.chosen.dump() for c in crls] if crls else [])
    except (ValueError, TypeError, KeyError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from exc


def decode_base64(text: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(bytes(text).split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"bad base64: {exc}") from exc


def text_payload(data: bytes) -> tuple[str, bytes] | None:
    """('pem-label' | 'base64', decoded bytes) if ``data`` is PEM/base64 text (ANSI or
    UTF-16), else None."""
    raw = bytes(data)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) > 1 and raw[1:2] == b"\x00"):
        try:
            raw = raw.decode("utf-16").encode("ascii")
        except (UnicodeError, ValueError):
            return None
    pem = _PEM_RE.search(raw)
    if pem:
        return pem.group(1).decode("ascii"), decode_base64(pem.group(2))
    stripped = raw.strip()
    if stripped and _B64_CHARS.match(stripped):
        try:
            return "base64", base64.b64decode(b"".join(stripped.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


__all__ = [
    "STORE_MAGIC", "encode_element", "parse_element_ex", "parse_element",
    "save_serialized_store", "load_serialized_store", "save_pkcs7", "load_pkcs7",
    "load_serialized_store_all", "load_pkcs7_all",
]

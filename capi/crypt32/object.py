"""CryptQueryObject (Wine: dlls/crypt32/object.c): what a file or blob holds, and the
objects to use it with.

Formats: binary DER, base64 (PEM with any header, or bare; ANSI or UTF-16 text) and
"ASN ASCII hex" (hexadecimal digits, whitespace ignored). Content types tried in the
order of CERT_QUERY_CONTENT_*: a certificate, a CRL, a serialized store, a serialized
certificate or CRL element, a PKCS #7 message (SignedData -> PKCS7_SIGNED, data ->
PKCS7_UNSIGNED), a PKCS #10 request, a PFX. CTLs, certificate pairs and Authenticode
embedded signatures are not recognised (the flags are accepted; nothing matches them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from capi import constants as C
from capi.errors import (
    CRYPT_E_NO_MATCH,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    WinError,
    winapi,
)

_HEX = re.compile(rb"^[0-9A-Fa-f\s]+$")


def _formats(data: bytes, allowed: int) -> list[tuple[int, bytes]]:
    """(format, decoded bytes) candidates, in Windows' order: binary, base64, hex."""
    from capi.formats.serialized import text_payload

    out = []
    if allowed & C.CERT_QUERY_FORMAT_FLAG_BINARY:
        out.append((C.CERT_QUERY_FORMAT_BINARY, data))
    if allowed & C.CERT_QUERY_FORMAT_FLAG_BASE64_ENCODED:
        text = text_payload(data)
        if text is not None:
            out.append((C.CERT_QUERY_FORMAT_BASE64_ENCODED, text[1]))
    if allowed & C.CERT_QUERY_FORMAT_FLAG_ASN_ASCII_HEX_ENCODED:
        raw = data
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) > 1 and raw[1:2] == b"\0"):
            try:
                raw = raw.decode("utf-16").encode("ascii")
            except (UnicodeError, ValueError):
                raw = b""
        if raw.strip() and _HEX.match(raw):
            try:
                out.append((C.CERT_QUERY_FORMAT_ASN_ASCII_HEX_ENCODED,
                            bytes.fromhex(raw.decode("ascii"))))
            except ValueError:
                pass
    return out


def _try_content(raw: bytes, allowed: int):
    """(content type, store, msg, context) for the first content type ``raw`` is."""
    from capi.crypt32.crl import CertCreateCRLContext
    from capi.crypt32.store import CertOpenStore
    from capi.crypt32.store_kinds import MemoryStore, create_context
    from capi.formats.serialized import STORE_MAGIC, parse_element_ex

    if allowed & C.CERT_QUERY_CONTENT_FLAG_CERT:
        try:
            ctx = create_context(C.X509_ASN_ENCODING, raw)
            store = MemoryStore()
            store.load([(raw, {})])
            return C.CERT_QUERY_CONTENT_CERT, store, None, ctx
        except WinError:
            pass
    if allowed & C.CERT_QUERY_CONTENT_FLAG_CRL and raw[:1] == b"\x30":
        try:
            crl = CertCreateCRLContext(C.X509_ASN_ENCODING, raw)
            store = MemoryStore()
            store._crls.load([(raw, {})])
            return C.CERT_QUERY_CONTENT_CRL, store, None, crl
        except WinError:
            pass
    if allowed & C.CERT_QUERY_CONTENT_FLAG_SERIALIZED_STORE and raw.startswith(STORE_MAGIC):
        try:
            store = CertOpenStore(C.CERT_STORE_PROV_SERIALIZED, 0, None, 0, raw)
            return C.CERT_QUERY_CONTENT_SERIALIZED_STORE, store, None, None
        except WinError:
            pass
    if allowed & (C.CERT_QUERY_CONTENT_FLAG_SERIALIZED_CERT
                  | C.CERT_QUERY_CONTENT_FLAG_SERIALIZED_CRL) and raw[:1] != b"\x30":
        try:
            cid, der, props, _ = parse_element_ex(raw)
        except WinError:
            cid = None
        store = MemoryStore()
        if cid == C.CERT_CERT_PROP_ID and allowed & C.CERT_QUERY_CONTENT_FLAG_SERIALIZED_CERT:
            store.load([(der, props)])
            return C.CERT_QUERY_CONTENT_SERIALIZED_CERT, store, None, next(iter(store))
        if cid == C.CERT_CRL_PROP_ID and allowed & C.CERT_QUERY_CONTENT_FLAG_SERIALIZED_CRL:
            store._crls.load([(der, props)])
            return C.CERT_QUERY_CONTENT_SERIALIZED_CRL, store, None, next(store.crl_all())
    if allowed & (C.CERT_QUERY_CONTENT_FLAG_PKCS7_SIGNED | C.CERT_QUERY_CONTENT_FLAG_PKCS7_UNSIGNED):
        found = _pkcs7(raw, allowed)
        if found is not None:
            return found
    if allowed & C.CERT_QUERY_CONTENT_FLAG_PKCS10 and _is_pkcs10(raw):
        return C.CERT_QUERY_CONTENT_PKCS10, None, None, None
    if allowed & C.CERT_QUERY_CONTENT_FLAG_PFX and _is_pfx(raw):
        return C.CERT_QUERY_CONTENT_PFX, None, None, None
    return None


def _pkcs7(raw: bytes, allowed: int):
    from capi.crypt32.msg import CryptMsgOpenToDecode, CryptMsgUpdate
    from capi.crypt32.store import CertOpenStore

    try:
        msg = CryptMsgOpenToDecode(C.PKCS_7_ASN_ENCODING, 0, 0, None, None, None)
        CryptMsgUpdate(msg, raw, True)
    except WinError:
        return None
    if msg.decoded_type == C.CMSG_SIGNED and allowed & C.CERT_QUERY_CONTENT_FLAG_PKCS7_SIGNED:
        try:
            store = CertOpenStore(C.CERT_STORE_PROV_PKCS7, 0, None, 0, raw)
        except WinError:
            return None
        return C.CERT_QUERY_CONTENT_PKCS7_SIGNED, store, msg, None
    if msg.decoded_type == C.CMSG_DATA and allowed & C.CERT_QUERY_CONTENT_FLAG_PKCS7_UNSIGNED:
        from capi.crypt32.store_kinds import MemoryStore

        return C.CERT_QUERY_CONTENT_PKCS7_UNSIGNED, MemoryStore(), msg, None
    return None


def _is_pkcs10(raw: bytes) -> bool:
    from asn1crypto import csr

    try:
        req = csr.CertificationRequest.load(raw)
        _ = req["certification_request_info"]["subject_pk_info"]["algorithm"].native
        return req.dump() == raw
    except (ValueError, TypeError, KeyError):
        return False


def _is_pfx(raw: bytes) -> bool:
    from asn1crypto import pkcs12

    try:
        pfx = pkcs12.Pfx.load(raw)
        return pfx["version"].native in (3, "v3") and pfx["auth_safe"]["content_type"].native in (
            "data", "signed_data")
    except (ValueError, TypeError, KeyError):
        return False


@winapi
def CryptQueryObject(dwObjectType: int, pvObject, dwExpectedContentTypeFlags: int,
                     dwExpectedFormatTypeFlags: int, dwFlags: int = 0):
    """CryptQueryObject -> (dwMsgAndCertEncodingType, dwContentType, dwFormatType,
    hCertStore, hMsg, pvContext).

    ``pvObject`` is a path (CERT_QUERY_OBJECT_FILE) or bytes (CERT_QUERY_OBJECT_BLOB).
    ``hCertStore`` holds what the object carries (None for PKCS10 and PFX); ``hMsg`` is
    the decoded HCRYPTMSG of a PKCS #7 object; ``pvContext`` the CERT_CONTEXT or
    CRL_CONTEXT of a single certificate or CRL. E_INVALIDARG for another object type,
    ERROR_FILE_NOT_FOUND for a missing file, CRYPT_E_NO_MATCH when the object is none of
    the expected types in none of the expected formats.
    """
    if dwObjectType == C.CERT_QUERY_OBJECT_FILE:
        if not pvObject:
            raise WinError(ERROR_FILE_NOT_FOUND)
        path = Path(os.fspath(pvObject))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=str(exc)) from None
    elif dwObjectType == C.CERT_QUERY_OBJECT_BLOB:
        if pvObject is None:
            raise WinError(E_INVALIDARG)
        data = bytes(pvObject)
    else:
        raise WinError(E_INVALIDARG, detail=f"object type {dwObjectType}")
    for fmt, raw in _formats(data, dwExpectedFormatTypeFlags & 0xFFFFFFFF):
        if not raw:
            continue
        found = _try_content(raw, dwExpectedContentTypeFlags & 0xFFFFFFFF)
        if found is not None:
            content, store, msg, ctx = found
            encoding = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
            return encoding, content, fmt, store, msg, ctx
    raise WinError(CRYPT_E_NO_MATCH)


__all__ = ["CryptQueryObject"]

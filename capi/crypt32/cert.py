"""crypt32's certificate-context functions: CertCreateCertificateContext,
CertDuplicate/FreeCertificateContext and the context property functions
(Wine: dlls/crypt32/cert.c). The context object itself is in ``context``."""

from __future__ import annotations

from typing import Any

from capi.crypt32.context import (
    CertContext,
    check_encoding,
    next_property_id,
    set_context_property,
)
from capi.crypt32.store_kinds import create_context
from capi.errors import E_INVALIDARG, SetLastError, WinError, win32_failure


def CertCreateCertificateContext(dwCertEncodingType: int, pbCertEncoded: bytes) -> CertContext:
    """CertCreateCertificateContext: a context from DER bytes, in no store.

    Raises E_INVALIDARG for an encoding without X509_ASN_ENCODING, and the decoder's
    error for bad bytes: CRYPT_E_ASN1_EOD (empty, ``30 00``, truncated),
    CRYPT_E_ASN1_BADTAG (not a certificate), CRYPT_E_ASN1_CORRUPT.
    """
    try:
        encoding = check_encoding(dwCertEncodingType)
        ctx = create_context(encoding, pbCertEncoded)
    except WinError as exc:
        SetLastError(exc.winerror)
        raise
    return ctx


def CertDuplicateCertificateContext(pCertContext: CertContext | None) -> CertContext | None:
    """CertDuplicateCertificateContext: the same context, one more reference (NULL -> NULL)."""
    if pCertContext is None:
        return None
    pCertContext._refs += 1
    return pCertContext


def CertFreeCertificateContext(pCertContext: CertContext | None) -> bool:
    """CertFreeCertificateContext: drop a reference (NULL -> TRUE)."""
    if pCertContext is None:
        return True
    if pCertContext._refs > 0:
        pCertContext._refs -= 1
    if pCertContext._refs == 0:
        store = pCertContext.hCertStore
        release = getattr(store, "_release_context", None)
        if release:
            release(pCertContext)
    return True


def CertGetCertificateContextProperty(pCertContext: CertContext, dwPropId: int) -> Any:
    """CertGetCertificateContextProperty: the property as a Python value.

    KEY_PROV_INFO -> CRYPT_KEY_PROV_INFO, KEY_CONTEXT -> CERT_KEY_CONTEXT, FRIENDLY_NAME /
    DESCRIPTION -> str, ACCESS_STATE / KEY_SPEC -> int, ENHKEY_USAGE -> list of OIDs,
    hashes and anything else -> bytes. Raises CRYPT_E_NOT_FOUND when absent,
    ERROR_INVALID_DATA for KEY_IDENTIFIER without a SubjectKeyIdentifier.
    """
    if pCertContext is None:
        raise win32_failure(E_INVALIDARG)
    try:
        return pCertContext.get_property(dwPropId)
    except WinError as exc:
        SetLastError(exc.winerror)
        raise


def CertSetCertificateContextProperty(pCertContext: CertContext, dwPropId: int, dwFlags: int,
                                      pvData: Any) -> bool:
    """CertSetCertificateContextProperty: set, or with ``pvData`` None delete, a property.

    Contexts of persisted stores write the change through. Raises E_INVALIDARG for
    property 0 or a KEY_CONTEXT whose cbSize is wrong, E_ACCESSDENIED when the store
    cannot be written (unless CERT_SET_PROPERTY_IGNORE_PERSIST_ERROR_FLAG).
    """
    if pCertContext is None:
        raise win32_failure(E_INVALIDARG)
    try:
        set_context_property(pCertContext, dwPropId, dwFlags & 0xFFFFFFFF, pvData)
    except WinError as exc:
        SetLastError(exc.winerror)
        raise
    return True


def CertEnumCertificateContextProperties(pCertContext: CertContext, dwPropId: int) -> int:
    """CertEnumCertificateContextProperties: the id after ``dwPropId`` (0 starts), or 0."""
    return next_property_id(pCertContext.properties(), dwPropId)


__all__ = [
    "CertCreateCertificateContext", "CertDuplicateCertificateContext",
    "CertFreeCertificateContext", "CertGetCertificateContextProperty",
    "CertSetCertificateContextProperty", "CertEnumCertificateContextProperties",
]

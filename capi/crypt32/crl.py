"""crypt32's CRL functions (Wine: dlls/crypt32/crl.c) and revocation checking.

CRL contexts mirror certificate contexts: created from DER, added to any store kind with
the add dispositions, enumerated, found, deleted, with properties. Revocation is decided
from CRLs only — those in the stores a check may read and those at ``file://`` CRL
distribution points (resolved in the simulated machine's file tree, or on the local
file system); winpki never fetches anything over a network, so a certificate whose CRL
cannot be had is "offline" (CRYPT_E_REVOCATION_OFFLINE), as Windows reports a
revocation server it cannot reach.

Windows behaviour, each asserted in tests/test_crypt32_crl.py next to its source: Wine's
``dlls/crypt32/tests/crl.c`` (testCreateCRL, testDupCRL, testAddCRL, testFindCRL,
testGetCRLFromStore, testCRLProperties, testIsValidCRLForCert, testFindCertInCRL,
testVerifyCRLRevocation) and Microsoft's CertFindCRLInStore / CertVerifyRevocation /
CERT_REVOCATION_STATUS pages.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from capi.constants import (
    CERT_CONTEXT_REVOCATION_TYPE,
    CERT_STORE_BASE_CRL_FLAG,
    CERT_STORE_DELTA_CRL_FLAG,
    CERT_STORE_SIGNATURE_FLAG,
    CERT_STORE_TIME_VALIDITY_FLAG,
    CERT_VERIFY_REV_CHAIN_FLAG,
    CRL_FIND_ANY,
    CRL_FIND_EXISTING,
    CRL_FIND_ISSUED_BY,
    CRL_FIND_ISSUED_BY_AKI_FLAG,
    CRL_FIND_ISSUED_BY_BASE_FLAG,
    CRL_FIND_ISSUED_BY_DELTA_FLAG,
    CRL_FIND_ISSUED_BY_SIGNATURE_FLAG,
    CRL_FIND_ISSUED_FOR,
    CRL_REASON_UNSPECIFIED,
    X509_ASN_ENCODING,
    szOID_AUTHORITY_KEY_IDENTIFIER2,
    szOID_CRL_DIST_POINTS,
    szOID_CRL_REASON_CODE,
    szOID_DELTA_CRL_INDICATOR,
    szOID_ISSUING_DIST_POINT,
)
from capi.crypt32.context import CertContext, check_encoding, decode_property, next_property_id
from capi.crypt32.crlcontext import CrlContext, decode_crl_info
from capi.crypt32.store_kinds import ADD_DISPOSITIONS, CertStore, apply_add_disposition
from capi.crypt32.structs import CRL_ENTRY, CRL_INFO
from capi.errors import (
    CRYPT_E_NO_MATCH,
    CRYPT_E_NO_REVOCATION_CHECK,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_REVOCATION_OFFLINE,
    CRYPT_E_REVOKED,
    E_INVALIDARG,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_INVALID_HANDLE,
    SetLastError,
    WinError,
    winapi,
)

_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------


@dataclass
class CRL_FIND_ISSUED_FOR_PARA:
    pSubjectCert: CertContext | None = None
    pIssuerCert: CertContext | None = None


@dataclass
class CERT_REVOCATION_PARA:
    pIssuerCert: CertContext | None = None
    rgCertStore: list = field(default_factory=list)
    hCrlStore: Any = None
    pftTimeToUse: int | None = None

    @property
    def cCertStore(self) -> int:
        return len(self.rgCertStore)


@dataclass
class CERT_REVOCATION_STATUS:
    dwIndex: int = 0
    dwError: int = 0
    dwReason: int = 0
    fHasFreshnessTime: bool = False
    dwFreshnessTime: int = 0


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _ext_value(info, oid: str) -> bytes | None:
    for ext in getattr(info, "rgExtension", None) or ():
        if ext.pszObjId == oid:
            return ext.Value
    return None


def is_delta_crl(crl: CrlContext) -> bool:
    return _ext_value(crl.pCrlInfo, szOID_DELTA_CRL_INDICATOR) is not None


def _strip_int(le: bytes) -> bytes:
    """CertCompareIntegerBlob's view of a little-endian integer: no high zero bytes."""
    b = bytes(le)
    while len(b) > 1 and b[-1] == 0:
        b = b[:-1]
    return b


def _cert_serial_le(cert: CertContext) -> bytes:
    return _strip_int(cert.pCertInfo.SerialNumber)


def _ticks(when: datetime.datetime) -> int:
    delta = when - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _when(t) -> datetime.datetime:
    if t is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(t, datetime.datetime):
        return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)
    return _FILETIME_EPOCH + datetime.timedelta(microseconds=int(t) // 10)


def crl_signed_by(crl: CrlContext, issuer: CertContext) -> bool:
    """Whether ``issuer``'s public key verifies the CRL's signature (False for a bare
    CRL, which has none)."""
    obj = crl.x509crl
    if obj is None:
        return False
    try:
        return bool(obj.is_signature_valid(issuer.x509.public_key()))
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm, WinError):
        return False


def _aki_matches(crl: CrlContext, issuer: CertContext) -> bool:
    """The CRL's AuthorityKeyIdentifier names ``issuer`` (true when it has none)."""
    raw = _ext_value(crl.pCrlInfo, szOID_AUTHORITY_KEY_IDENTIFIER2)
    if raw is None:
        return True
    try:
        aki = x509.load_der_x509_crl(crl.pbCrlEncoded).extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    if aki.key_identifier is not None:
        try:
            ski = issuer.x509.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            return ski.value.digest == aki.key_identifier
        except (x509.ExtensionNotFound, WinError):
            return False
    if aki.authority_cert_serial_number is not None:
        return aki.authority_cert_serial_number == issuer.x509.serial_number
    return True


def _issued_by(crl: CrlContext, cert: CertContext | None, flags: int) -> bool:
    if flags & CRL_FIND_ISSUED_BY_DELTA_FLAG and not is_delta_crl(crl):
        return False
    if flags & CRL_FIND_ISSUED_BY_BASE_FLAG and is_delta_crl(crl):
        return False
    if cert is None:
        # Wine crl.c testFindCRL: ISSUED_BY with no certificate matches any CRL.
        return True
    if crl.pCrlInfo.Issuer != cert.pCertInfo.Subject:
        return False
    if flags & CRL_FIND_ISSUED_BY_AKI_FLAG and not _aki_matches(crl, cert):
        return False
    if flags & CRL_FIND_ISSUED_BY_SIGNATURE_FLAG and not crl_signed_by(crl, cert):
        return False
    return True


def _matcher(find_type: int, flags: int, para):
    if find_type == CRL_FIND_ANY:
        return lambda crl: True
    if find_type == CRL_FIND_ISSUED_BY:
        return lambda crl: _issued_by(crl, para, flags)
    if find_type == CRL_FIND_EXISTING:
        if not isinstance(para, CrlContext):
            raise WinError(E_INVALIDARG, detail="CRL_FIND_EXISTING needs a CRL context")
        delta = is_delta_crl(para)
        issuer = para.pCrlInfo.Issuer
        return lambda crl: crl.pCrlInfo.Issuer == issuer and is_delta_crl(crl) == delta
    if find_type == CRL_FIND_ISSUED_FOR:
        if not isinstance(para, CRL_FIND_ISSUED_FOR_PARA) or para.pSubjectCert is None:
            raise WinError(E_INVALIDARG, detail="CRL_FIND_ISSUED_FOR needs its para")
        issuer_name = para.pSubjectCert.pCertInfo.Issuer
        return lambda crl: crl.pCrlInfo.Issuer == issuer_name
    raise WinError(E_INVALIDARG, detail=f"CRL find type {find_type}")


def _store(h) -> CertStore:
    if not isinstance(h, CertStore):
        raise WinError(ERROR_INVALID_HANDLE if h is not None else E_INVALIDARG)
    h._check_open()
    return h


def _after(items: Iterator[CrlContext], prev: CrlContext | None) -> Iterator[CrlContext]:
    if prev is None:
        yield from items
        return
    seen = False
    for c in items:
        if seen:
            yield c
        elif c.same_as(prev):
            seen = True


def _hand_out(ctx: CrlContext | None, err: int = CRYPT_E_NOT_FOUND) -> CrlContext | None:
    if ctx is None:
        SetLastError(err)
    return ctx


# ---------------------------------------------------------------------------------------
# Context functions
# ---------------------------------------------------------------------------------------


def _validated(encoding: int, der) -> tuple[int, bytes, CRL_INFO]:
    enc = check_encoding(encoding)
    der = bytes(der) if der is not None else b""
    return enc, der, decode_crl_info(der)


@winapi
def CertCreateCRLContext(dwCertEncodingType: int, pbCrlEncoded: bytes) -> CrlContext:
    """CertCreateCRLContext: a CRL context in no store. E_INVALIDARG for an encoding
    without X509_ASN_ENCODING, CRYPT_E_ASN1_EOD for no bytes, the decoder's
    CRYPT_E_ASN1_* error for bytes that are not a CRL (Wine crl.c testCreateCRL)."""
    enc, der, info = _validated(dwCertEncodingType, pbCrlEncoded)
    return CrlContext(der, encoding=enc, info=info)


def CertDuplicateCRLContext(pCrlContext: CrlContext | None) -> CrlContext | None:
    """CertDuplicateCRLContext: the same context (Wine crl.c testDupCRL); NULL -> NULL."""
    if pCrlContext is not None:
        pCrlContext._refs += 1
    return pCrlContext


def CertFreeCRLContext(pCrlContext: CrlContext | None) -> bool:
    """CertFreeCRLContext: drop a reference; NULL -> TRUE (Wine crl.c testDupCRL)."""
    if pCrlContext is not None and pCrlContext._refs > 0:
        pCrlContext._refs -= 1
    return True


def _add(store: CertStore | None, der: bytes, props: dict, encoding: int, info,
         disposition: int) -> CrlContext:
    if disposition not in ADD_DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {disposition}")
    if store is None:
        # Wine crl.c testAddCRL: adding to the NULL store succeeds (a context in no store).
        return CrlContext(der, encoding=encoding, props=props, info=info)
    store._check_open()
    new = CrlContext(der, encoding=encoding, props=props, info=info)
    match = _matcher(CRL_FIND_EXISTING, 0, new)
    existing = next((c for c in store.crl_all() if match(c)), None)
    # Wine crl.c testAddCRL: ADD_NEW of a CRL of the same issuer -> CRYPT_E_EXISTS;
    # ADD_NEWER replaces it when the new CRL has a later ThisUpdate.
    # CertAddCRLContextToStore docs: ADD_USE_EXISTING uses the existing CRL, which gains
    # the new CRL's properties.
    kept, props, replace = apply_add_disposition(
        disposition, existing, props, "crl_persist",
        lambda old: old.pCrlInfo.ThisUpdate < info.ThisUpdate)
    if kept is not None:
        return kept
    return store.crl_store_new(der, props, encoding, replace)


@winapi
def CertAddEncodedCRLToStore(hCertStore, dwCertEncodingType: int, pbCrlEncoded: bytes,
                             dwAddDisposition: int) -> CrlContext:
    """CertAddEncodedCRLToStore: the added (or existing) context.

    E_INVALIDARG for a bad encoding type (checked first) or disposition,
    CRYPT_E_ASN1_EOD for no bytes, CRYPT_E_EXISTS under ADD_NEW / ADD_NEWER, E_ACCESSDENIED
    for a store that cannot be written (Wine crl.c testAddCRL)."""
    enc, der, info = _validated(dwCertEncodingType, pbCrlEncoded)
    store = _store(hCertStore) if hCertStore is not None else None
    return _add(store, der, {}, enc, info, dwAddDisposition)


@winapi
def CertAddCRLContextToStore(hCertStore, pCrlContext: CrlContext,
                             dwAddDisposition: int) -> CrlContext:
    """CertAddCRLContextToStore: a copy of ``pCrlContext`` (with its properties) in the
    store; a new context, not the one passed (Wine crl.c testAddCRL)."""
    if not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    store = _store(hCertStore) if hCertStore is not None else None
    return _add(store, pCrlContext.pbCrlEncoded, dict(pCrlContext._root()._props),
                pCrlContext.dwCertEncodingType, pCrlContext.pCrlInfo, dwAddDisposition)


@winapi
def CertEnumCRLsInStore(hCertStore, pPrevCrlContext: CrlContext | None = None):
    """CertEnumCRLsInStore: the CRL after ``pPrevCrlContext`` (the first when None), or
    None with CRYPT_E_NOT_FOUND at the end."""
    store = _store(hCertStore)
    return _hand_out(next(_after(store.crl_all(), pPrevCrlContext), None))


@winapi
def CertFindCRLInStore(hCertStore, dwCertEncodingType: int, dwFindFlags: int,
                       dwFindType: int, pvFindPara, pPrevCrlContext: CrlContext | None = None):
    """CertFindCRLInStore: CRL_FIND_ANY, CRL_FIND_ISSUED_BY (``pvFindPara`` the issuer
    certificate or None; flags AKI, SIGNATURE, DELTA, BASE), CRL_FIND_EXISTING (a CRL
    context), CRL_FIND_ISSUED_FOR (a CRL_FIND_ISSUED_FOR_PARA). The encoding type and
    unknown flags are ignored (Wine crl.c testFindCRL). None with CRYPT_E_NOT_FOUND when
    nothing (more) matches."""
    store = _store(hCertStore)
    match = _matcher(dwFindType, dwFindFlags & 0xFFFFFFFF, pvFindPara)
    for crl in _after(store.crl_all(), pPrevCrlContext):
        if match(crl):
            return crl
    return _hand_out(None)


@winapi
def CertGetCRLFromStore(hCertStore, pIssuerContext: CertContext | None,
                        pPrevCrlContext: CrlContext | None, dwFlags: int = 0):
    """CertGetCRLFromStore: the next CRL issued by ``pIssuerContext`` (any CRL when None).
    ``dwFlags`` may hold CERT_STORE_SIGNATURE_FLAG, TIME_VALIDITY, BASE_CRL and DELTA_CRL;
    others are E_INVALIDARG (Wine crl.c testGetCRLFromStore: 0xffffffff). None with
    CRYPT_E_NOT_FOUND when there is none."""
    allowed = (CERT_STORE_SIGNATURE_FLAG | CERT_STORE_TIME_VALIDITY_FLAG
               | CERT_STORE_BASE_CRL_FLAG | CERT_STORE_DELTA_CRL_FLAG)
    if dwFlags & ~allowed & 0xFFFFFFFF:
        raise WinError(E_INVALIDARG, detail=f"flags 0x{dwFlags & 0xFFFFFFFF:08X}")
    store = _store(hCertStore)
    for crl in _after(store.crl_all(), pPrevCrlContext):
        if pIssuerContext is None or crl.pCrlInfo.Issuer == pIssuerContext.pCertInfo.Subject:
            if dwFlags & CERT_STORE_BASE_CRL_FLAG and is_delta_crl(crl):
                continue
            if dwFlags & CERT_STORE_DELTA_CRL_FLAG and not is_delta_crl(crl):
                continue
            return crl
    return _hand_out(None)


@winapi
def CertDeleteCRLFromStore(pCrlContext: CrlContext) -> bool:
    """CertDeleteCRLFromStore: remove the CRL from its store (a context in no store:
    nothing to do). E_ACCESSDENIED for a store that cannot be written."""
    if not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    store = pCrlContext.hCertStore
    if store is not None:
        store.crl_remove(pCrlContext)
    return True


@winapi
def CertGetCRLContextProperty(pCrlContext: CrlContext, dwPropId: int) -> Any:
    """CertGetCRLContextProperty: the property (hashes computed and cached on demand,
    CERT_ACCESS_STATE_PROP_ID derived from the store). CRYPT_E_NOT_FOUND when absent
    (Wine crl.c testCRLProperties)."""
    if not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    return decode_property(dwPropId, pCrlContext.get_raw_property(dwPropId))


@winapi
def CertSetCRLContextProperty(pCrlContext: CrlContext, dwPropId: int, dwFlags: int,
                              pvData: Any) -> bool:
    """CertSetCRLContextProperty: set (``pvData`` None: delete) a property; E_INVALIDARG
    for a NULL context or property 0 (Wine crl.c testCRLProperties)."""
    if not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    pCrlContext.set_property(dwPropId, dwFlags, pvData)
    return True


def CertEnumCRLContextProperties(pCrlContext: CrlContext, dwPropId: int) -> int:
    """CertEnumCRLContextProperties: the property id after ``dwPropId`` (0 starts), or 0."""
    return next_property_id(pCrlContext.properties(), dwPropId)


@winapi
def CertSerializeCRLStoreElement(pCrlContext: CrlContext, dwFlags: int = 0) -> bytes:
    """CertSerializeCRLStoreElement: the CRL's properties and the CRL (record 33), the
    form CertAddSerializedElementToStore takes back."""
    from capi.crypt32.crlcontext import crl_element

    if not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    return crl_element(pCrlContext)


@winapi
def CertCreateCTLContext(dwMsgAndCertEncodingType: int, pbCtlEncoded: bytes):
    """CertCreateCTLContext: winpki keeps no certificate trust lists;
    ERROR_CALL_NOT_IMPLEMENTED (serialized stores' CTL elements are skipped on load)."""
    raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="CTL contexts")


@winapi
def CertAddEncodedCTLToStore(hCertStore, dwMsgAndCertEncodingType: int, pbCtlEncoded: bytes,
                             dwAddDisposition: int):
    """CertAddEncodedCTLToStore: ERROR_CALL_NOT_IMPLEMENTED (no CTL contexts)."""
    raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="CTL contexts")


# ---------------------------------------------------------------------------------------
# Checking a certificate against CRLs
# ---------------------------------------------------------------------------------------


def find_entry(serial_le: bytes, info: CRL_INFO) -> CRL_ENTRY | None:
    target = _strip_int(serial_le)
    for entry in info.rgCRLEntry:
        if _strip_int(entry.SerialNumber) == target:
            return entry
    return None


@winapi
def CertFindCertificateInCRL(pCert: CertContext, pCrlContext: CrlContext, dwFlags: int = 0,
                             pvReserved=None) -> CRL_ENTRY | None:
    """CertFindCertificateInCRL: the CRL_ENTRY for the certificate's serial number, or
    None. The issuers are not compared (Wine crl.c testFindCertInCRL)."""
    if not isinstance(pCert, CertContext) or not isinstance(pCrlContext, CrlContext):
        raise WinError(E_INVALIDARG)
    return find_entry(pCert.pCertInfo.SerialNumber, pCrlContext.pCrlInfo)


@winapi
def CertIsValidCRLForCertificate(pCert: CertContext | None, pCrl: CrlContext, dwFlags: int = 0,
                                 pvReserved=None) -> bool:
    """CertIsValidCRLForCertificate: whether the CRL covers the certificate. A CRL without
    an IssuingDistributionPoint covers every certificate (even of another issuer); one
    with it covers only certificates that name a CRL distribution point. False with
    CRYPT_E_NO_MATCH otherwise (Wine crl.c testIsValidCRLForCert)."""
    if not isinstance(pCrl, CrlContext):
        raise WinError(E_INVALIDARG)
    if pCert is None:
        return True
    if _ext_value(pCrl.pCrlInfo, szOID_ISSUING_DIST_POINT) is None:
        return True
    if any(e.pszObjId == szOID_CRL_DIST_POINTS for e in pCert.pCertInfo.rgExtension):
        return True
    SetLastError(CRYPT_E_NO_MATCH)
    return False


def CertVerifyCRLRevocation(dwCertEncodingType: int, pCertId, rgpCrlInfo: list | None) -> bool:
    """CertVerifyCRLRevocation: False when any of the CRL_INFOs lists the certificate's
    serial number (issuers are not compared), True otherwise, also with no certificate
    or no CRLs (Wine crl.c testVerifyCRLRevocation). ``pCertId`` is a CERT_INFO."""
    if pCertId is None:
        return True
    for info in rgpCrlInfo or ():
        if isinstance(info, CrlContext):
            info = info.pCrlInfo
        if find_entry(pCertId.SerialNumber, info) is not None:
            return False
    return True


def _reason(entry: CRL_ENTRY) -> int:
    raw = _ext_value(entry, szOID_CRL_REASON_CODE)
    if raw and len(raw) >= 3 and raw[0] == 0x0A:
        return raw[2]
    return CRL_REASON_UNSPECIFIED


# -- the revocation provider ------------------------------------------------------------------


def cdp_urls(cert: CertContext) -> list[str]:
    """The URLs of the certificate's CRL distribution points."""
    try:
        cdp = cert.x509.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError, WinError):
        return []
    urls = []
    for dp in cdp:
        for gn in dp.full_name or ():
            if isinstance(gn, x509.UniformResourceIdentifier):
                urls.append(gn.value)
    return urls


def has_revocation_pointer(cert: CertContext) -> bool:
    if cdp_urls(cert):
        return True
    try:
        aia = cert.x509.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        return len(aia.value) > 0
    except (x509.ExtensionNotFound, ValueError, WinError):
        return False


def _file_url_path(url: str, machine) -> Path | None:
    """The file a ``file:`` URL names: a Windows path inside the machine's file tree
    (file:///C:/pki/ca.crl), else a path of the local file system."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme.lower() != "file":
        return None
    path = urllib.parse.unquote(parsed.path)
    if parsed.netloc and parsed.netloc.lower() != "localhost":
        path = f"//{parsed.netloc}{path}"
    stripped = path.lstrip("/")
    if machine is not None and len(stripped) >= 2 and stripped[1] == ":":
        try:
            return machine.host_path(stripped.replace("/", "\\"))
        except (WinError, ValueError, OSError):
            return None
    return Path(os.path.normpath(path)) if path else None


def crls_from_url(url: str, machine) -> list[CrlContext]:
    """The CRLs a ``file:`` URL holds (DER, PEM, PKCS#7); [] for any other scheme or an
    unreadable file — no network is ever used."""
    path = _file_url_path(url, machine)
    if path is None:
        return []
    try:
        data = path.read_bytes()
    except OSError:
        return []
    from capi.formats.serialized import load_pkcs7_all, text_payload

    candidates = [data]
    text = text_payload(data)
    if text is not None:
        candidates.insert(0, text[1])
    for raw in candidates:
        try:
            return [CrlContext(raw, info=decode_crl_info(raw))]
        except WinError:
            pass
        try:
            return [CrlContext(c) for c in load_pkcs7_all(raw)[1]]
        except WinError:
            pass
    return []


@dataclass
class RevocationResult:
    """What the revocation provider found for one certificate."""

    status: str  # "good", "revoked", "offline" or "nocheck"
    entry: CRL_ENTRY | None = None
    crl: CrlContext | None = None
    reason: int = 0


def _crl_current(crl: CrlContext, when: datetime.datetime) -> bool:
    info = crl.pCrlInfo
    t = _ticks(when)
    if info.ThisUpdate and info.ThisUpdate > t:
        return False
    return not (info.NextUpdate and info.NextUpdate < t)


def check_certificate(cert: CertContext, issuer: CertContext, stores: Iterable, *,
                      when: datetime.datetime | None = None, machine=None) -> RevocationResult:
    """The CRL verdict for ``cert`` issued by ``issuer``: CRLs in ``stores`` first, then
    those at the certificate's ``file:`` distribution points. A CRL counts only when its
    issuer name is ``issuer``'s subject, ``issuer``'s key verifies its signature and it
    is current at ``when`` (ThisUpdate <= when <= NextUpdate)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    subject_issuer = cert.pCertInfo.Issuer

    def candidates() -> Iterator[CrlContext]:
        for store in stores:
            if store is None:
                continue
            try:
                yield from store.crl_all()
            except WinError:
                continue
        for url in cdp_urls(cert):
            yield from crls_from_url(url, machine)

    usable = None
    for crl in candidates():
        try:
            if crl.pCrlInfo.Issuer != subject_issuer:
                continue
        except WinError:
            continue
        if not crl_signed_by(crl, issuer) or not _crl_current(crl, when):
            continue
        entry = find_entry(cert.pCertInfo.SerialNumber, crl.pCrlInfo)
        if entry is not None and entry.RevocationDate <= _ticks(when):
            return RevocationResult("revoked", entry, crl, _reason(entry))
        if usable is None:
            usable = crl
    if usable is not None:
        return RevocationResult("good", crl=usable)
    return RevocationResult("offline" if has_revocation_pointer(cert) else "nocheck")


def _issuer_in(stores: Iterable, cert: CertContext) -> CertContext | None:
    name = cert.pCertInfo.Issuer
    for store in stores:
        if store is None:
            continue
        for c in store:
            if c.pCertInfo.Subject == name:
                try:
                    cert.x509.verify_directly_issued_by(c.x509)
                except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                    continue
                return c
    return None


@winapi
def CertVerifyRevocation(dwEncodingType: int, dwRevType: int, rgpvContext: list,
                         dwFlags: int = 0, pRevPara: CERT_REVOCATION_PARA | None = None
                         ) -> CERT_REVOCATION_STATUS:
    """CertVerifyRevocation: check each certificate of ``rgpvContext`` against CRLs.

    The issuer is ``pRevPara.pIssuerCert`` or found in ``pRevPara.rgCertStore`` (with
    CERT_VERIFY_REV_CHAIN_FLAG each context's issuer is the next one); CRLs come from
    ``hCrlStore``, the ``rgCertStore`` stores and ``file:`` distribution points. On
    success the CERT_REVOCATION_STATUS is returned (dwError 0). A failure raises
    WinError with the code (CRYPT_E_REVOKED, CRYPT_E_REVOCATION_OFFLINE,
    CRYPT_E_NO_REVOCATION_CHECK; E_INVALIDARG for another dwRevType or no contexts), the
    status in ``.revocation_status`` (dwIndex the failing context, dwReason the CRL
    reason code), as the C function returns FALSE and fills pRevStatus.
    """
    if dwRevType != CERT_CONTEXT_REVOCATION_TYPE or not rgpvContext:
        raise WinError(E_INVALIDARG, detail="dwRevType or rgpvContext")
    from capi.host.context import current_machine

    try:
        machine = current_machine()
    except (LookupError, RuntimeError, WinError):
        machine = None
    para = pRevPara or CERT_REVOCATION_PARA()
    stores = [para.hCrlStore, *para.rgCertStore]
    when = _when(para.pftTimeToUse)
    status = CERT_REVOCATION_STATUS()
    for i, cert in enumerate(rgpvContext):
        if dwFlags & CERT_VERIFY_REV_CHAIN_FLAG and i + 1 < len(rgpvContext):
            issuer = rgpvContext[i + 1]
        elif para.pIssuerCert is not None and i == 0:
            issuer = para.pIssuerCert
        else:
            issuer = _issuer_in(para.rgCertStore, cert)
        status.dwIndex = i
        if issuer is None:
            status.dwError = CRYPT_E_NO_REVOCATION_CHECK
        else:
            result = check_certificate(cert, issuer, stores, when=when, machine=machine)
            status.dwError = {"good": 0, "revoked": CRYPT_E_REVOKED,
                              "offline": CRYPT_E_REVOCATION_OFFLINE,
                              "nocheck": CRYPT_E_NO_REVOCATION_CHECK}[result.status]
            status.dwReason = result.reason
        if status.dwError:
            exc = WinError(status.dwError, detail=f"context {i}")
            exc.revocation_status = status
            raise exc
    status.dwIndex = 0
    return status


def crl_thumbprint(crl: CrlContext) -> str:
    return hashlib.sha1(crl.pbCrlEncoded).hexdigest()


__all__ = [
    "CRL_FIND_ISSUED_FOR_PARA", "CERT_REVOCATION_PARA", "CERT_REVOCATION_STATUS",
    "CertCreateCRLContext", "CertDuplicateCRLContext", "CertFreeCRLContext",
    "CertAddEncodedCRLToStore", "CertAddCRLContextToStore", "CertEnumCRLsInStore",
    "CertFindCRLInStore", "CertGetCRLFromStore", "CertDeleteCRLFromStore",
    "CertGetCRLContextProperty", "CertSetCRLContextProperty", "CertEnumCRLContextProperties",
    "CertFindCertificateInCRL", "CertIsValidCRLForCertificate", "CertVerifyCRLRevocation",
    "CertVerifyRevocation", "CertSerializeCRLStoreElement", "CertCreateCTLContext",
    "CertAddEncodedCTLToStore", "check_certificate", "cdp_urls", "crls_from_url",
    "RevocationResult", "X509_ASN_ENCODING",
]

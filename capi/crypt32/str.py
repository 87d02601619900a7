"""Certificate names: CertNameToStr and CertGetNameString.

Names are decoded with asn1crypto (attribute order and the raw string types survive);
the formatting rules are Windows' (Wine crypt32 tests str.c, run on real Windows):

- RDNs appear in encoding order; CERT_NAME_STR_REVERSE_FLAG reverses them. So a name
  encoded C, O, CN prints "C=US, O=Contoso, CN=www.contoso.com" and, with REVERSE,
  "CN=www.contoso.com, O=Contoso, C=US" (the form certutil and the UI show).
- Separators ", " (default, COMMA), "; " (SEMICOLON), "\\r\\n" (CRLF); attributes of one
  multi-valued RDN are joined by " + " (NO_PLUS: " ").
- A value is quoted when it is empty, starts or ends with a space, or contains one of
  , + = " \\n < > # ; — inner quotes doubled (CN=\\" 1 \\", CN=\\"\\"\\"1\\"\\"\\").
"""

from __future__ import annotations

from asn1crypto import core as asn1_core

from capi.constants import (
    CERT_NAME_ATTR_TYPE,
    CERT_NAME_DNS_TYPE,
    CERT_NAME_EMAIL_TYPE,
    CERT_NAME_FRIENDLY_DISPLAY_TYPE,
    CERT_NAME_ISSUER_FLAG,
    CERT_NAME_RDN_TYPE,
    CERT_NAME_SIMPLE_DISPLAY_TYPE,
    CERT_NAME_UPN_TYPE,
    CERT_NAME_URL_TYPE,
    X509_ASN_ENCODING,
)
from capi.errors import ERROR_FILE_NOT_FOUND, SetLastError, WinError
from capi.formats.x500 import (
    OID_COMMON_NAME,
    OID_EMAIL,
    OID_ORG,
    OID_ORG_UNIT,
    name_to_str,
    parse_name,
)

OID_SUBJECT_ALT_NAME = "2.5.29.17"
OID_ISSUER_ALT_NAME = "2.5.29.18"
OID_UPN = "1.3.6.1.4.1.311.20.2.3"


def CertNameToStr(dwCertEncodingType: int, pName: bytes, dwStrType: int) -> str:
    """CertNameToStr: a DER Name as text (CERT_SIMPLE_NAME_STR, CERT_OID_NAME_STR,
    CERT_X500_NAME_STR with the REVERSE/SEMICOLON/CRLF/NO_PLUS/NO_QUOTING flags).

    Like Windows it never fails: an encoding type without X509_ASN_ENCODING gives ""
    with ERROR_FILE_NOT_FOUND in GetLastError (Wine str.c test_CertNameToStrA), an
    undecodable name "" with the decoder's error.
    """
    if not (dwCertEncodingType & X509_ASN_ENCODING):
        SetLastError(ERROR_FILE_NOT_FOUND)
        return ""
    try:
        text = name_to_str(pName, dwStrType & 0xFFFFFFFF)
    except WinError as exc:
        SetLastError(exc.winerror)
        return ""
    SetLastError(0)
    return text


# ---------------------------------------------------------------------------------------
# CertGetNameString
# ---------------------------------------------------------------------------------------


def _find_attr(rdns, oid: str) -> str | None:
    for rdn in rdns:
        for a_oid, text in rdn:
            if a_oid == oid:
                return text
    return None


def _alt_names(ctx, issuer: bool):
    """GeneralNames of the subject (or issuer) alternative-name extension, or []."""
    from cryptography import x509

    oid = OID_ISSUER_ALT_NAME if issuer else OID_SUBJECT_ALT_NAME
    try:
        ext = ctx.x509.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return []
    except ValueError:
        return []
    return list(ext.value)


def _first(names, kind):
    for n in names:
        if isinstance(n, kind):
            return n.value
    return None


def CertGetNameString(pCertContext, dwType: int, dwFlags: int = 0, pvTypePara=None) -> str:
    """CertGetNameString: a display name of the subject (or, with CERT_NAME_ISSUER_FLAG,
    the issuer). Returns "" when the certificate has no such name, as Windows returns an
    empty string (length 1).

    EMAIL: SAN rfc822Name, else the E= attribute. RDN: CertNameToStr with ``pvTypePara``
    as the string type. ATTR: the attribute whose OID is ``pvTypePara``. SIMPLE_DISPLAY:
    CN, else OU, else O, else E=, else the SAN rfc822Name. FRIENDLY_DISPLAY: the
    FRIENDLY_NAME property, else SIMPLE_DISPLAY. DNS: the first SAN dNSName, else CN.
    URL: SAN URI. UPN: SAN otherName UPN.
    """
    from cryptography import x509

    from capi.constants import CERT_FRIENDLY_NAME_PROP_ID

    issuer = bool(dwFlags & CERT_NAME_ISSUER_FLAG)
    info = pCertContext.pCertInfo
    name_der = info.Issuer if issuer else info.Subject
    try:
        rdns = parse_name(name_der)
    except WinError as exc:
        # A name that does not decode has no attribute to show: "" (length 1), as for a
        # name without one; the alternative names may still give one.
        SetLastError(exc.winerror)
        rdns = []
    alt = _alt_names(pCertContext, issuer)
    result: str | None = None
    if dwType == CERT_NAME_EMAIL_TYPE:
        result = _first(alt, x509.RFC822Name) or _find_attr(rdns, OID_EMAIL)
    elif dwType == CERT_NAME_RDN_TYPE:
        result = CertNameToStr(X509_ASN_ENCODING, name_der, int(pvTypePara or 0))
    elif dwType == CERT_NAME_ATTR_TYPE:
        result = _find_attr(rdns, str(pvTypePara)) if pvTypePara else None
    elif dwType in (CERT_NAME_SIMPLE_DISPLAY_TYPE, CERT_NAME_FRIENDLY_DISPLAY_TYPE):
        if dwType == CERT_NAME_FRIENDLY_DISPLAY_TYPE and not issuer:
            try:
                result = pCertContext.get_property(CERT_FRIENDLY_NAME_PROP_ID) or None
            except WinError:
                result = None
        if result is None:
            for oid in (OID_COMMON_NAME, OID_ORG_UNIT, OID_ORG, OID_EMAIL):
                result = _find_attr(rdns, oid)
                if result:
                    break
        if not result:
            result = _first(alt, x509.RFC822Name)
    elif dwType == CERT_NAME_DNS_TYPE:
        result = _first(alt, x509.DNSName) or _find_attr(rdns, OID_COMMON_NAME)
    elif dwType == CERT_NAME_URL_TYPE:
        result = _first(alt, x509.UniformResourceIdentifier)
    elif dwType == CERT_NAME_UPN_TYPE:
        for n in alt:
            if isinstance(n, x509.OtherName) and n.type_id.dotted_string == OID_UPN:
                try:
                    result = asn1_core.UTF8String.load(n.value).native
                except (ValueError, TypeError):
                    result = None
                break
    return result or ""


__all__ = [
    "CertNameToStr", "CertGetNameString",
]

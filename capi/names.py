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
from asn1crypto import x509 as asn1_x509

from .constants import (
    CERT_NAME_ATTR_TYPE,
    CERT_NAME_DNS_TYPE,
    CERT_NAME_EMAIL_TYPE,
    CERT_NAME_FRIENDLY_DISPLAY_TYPE,
    CERT_NAME_ISSUER_FLAG,
    CERT_NAME_RDN_TYPE,
    CERT_NAME_SIMPLE_DISPLAY_TYPE,
    CERT_NAME_STR_CRLF_FLAG,
    CERT_NAME_STR_NO_PLUS_FLAG,
    CERT_NAME_STR_NO_QUOTING_FLAG,
    CERT_NAME_STR_REVERSE_FLAG,
    CERT_NAME_STR_SEMICOLON_FLAG,
    CERT_NAME_UPN_TYPE,
    CERT_NAME_URL_TYPE,
    CERT_OID_NAME_STR,
    CERT_X500_NAME_STR,
    X509_ASN_ENCODING,
)
from .errors import ERROR_FILE_NOT_FOUND, SetLastError, WinError

# The keys Windows prints in CERT_X500_NAME_STR (CertStrToName documentation's table).
X500_KEYS = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.13": "Description",
    "2.5.4.17": "PostalCode",
    "2.5.4.18": "POBox",
    "2.5.4.20": "Phone",
    "2.5.4.24": "X21Address",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "2.5.4.46": "dnQualifier",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}

OID_COMMON_NAME = "2.5.4.3"
OID_ORG_UNIT = "2.5.4.11"
OID_ORG = "2.5.4.10"
OID_EMAIL = "1.2.840.113549.1.9.1"
OID_SUBJECT_ALT_NAME = "2.5.29.17"
OID_ISSUER_ALT_NAME = "2.5.29.18"
OID_UPN = "1.3.6.1.4.1.311.20.2.3"

_NEEDS_QUOTES = set(',+="\n<>#;')
_STR_TYPE_MASK = 0xFFFF


def _value_text(value) -> str:
    """A printable form of one attribute value (strings as themselves)."""
    if isinstance(value, asn1_core.Any):
        try:
            value = value.parsed
        except (ValueError, TypeError):
            return "#" + value.dump().hex()
    if isinstance(value, asn1_core.AbstractString):
        return value.native or ""
    if isinstance(value, asn1_x509.DirectoryString):
        return value.native or ""
    native = getattr(value, "native", None)
    if isinstance(native, str):
        return native
    return "#" + value.dump().hex()


def _quote(text: str) -> str:
    if text == "" or text[0] == " " or text[-1] == " " or _NEEDS_QUOTES & set(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def parse_name(name_der: bytes) -> list[list[tuple[str, str]]]:
    """[[(oid, text), ...] per RDN] in encoding order."""
    try:
        name = asn1_x509.Name.load(bytes(name_der))
        rdns = []
        for rdn in name.chosen:
            attrs = []
            for atv in rdn:
                attrs.append((atv["type"].dotted, _value_text(atv["value"])))
            rdns.append(attrs)
        return rdns
    except (ValueError, TypeError, KeyError) as exc:
        from .errors import CRYPT_E_ASN1_BADTAG

        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"bad name: {exc}") from exc


def name_to_str(name_der: bytes, str_type: int) -> str:
    """CertNameToStr's formatting for a DER Name (no encoding check)."""
    rdns = parse_name(name_der)
    if str_type & CERT_NAME_STR_REVERSE_FLAG:
        rdns = list(reversed(rdns))
    if str_type & CERT_NAME_STR_SEMICOLON_FLAG:
        sep = "; "
    elif str_type & CERT_NAME_STR_CRLF_FLAG:
        sep = "\r\n"
    else:
        sep = ", "
    plus = " " if str_type & CERT_NAME_STR_NO_PLUS_FLAG else " + "
    quoting = not str_type & CERT_NAME_STR_NO_QUOTING_FLAG
    kind = str_type & _STR_TYPE_MASK
    parts = []
    for rdn in rdns:
        items = []
        for oid, text in rdn:
            value = _quote(text) if quoting else text
            if kind == CERT_X500_NAME_STR:
                items.append(f"{X500_KEYS.get(oid, oid)}={value}")
            elif kind == CERT_OID_NAME_STR:
                items.append(f"{oid}={value}")
            else:  # CERT_SIMPLE_NAME_STR, and 0 as Windows treats it
                items.append(value)
        parts.append(plus.join(items))
    return sep.join(parts)


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

    from .constants import CERT_FRIENDLY_NAME_PROP_ID

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


__all__ = ["CertNameToStr", "CertGetNameString", "name_to_str", "parse_name", "X500_KEYS"]

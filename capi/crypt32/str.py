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

from typing import TYPE_CHECKING, Any

from asn1crypto import core as asn1_core

from capi.constants import (
    CERT_ALT_NAME_DNS_NAME,
    CERT_ALT_NAME_OTHER_NAME,
    CERT_ALT_NAME_RFC822_NAME,
    CERT_ALT_NAME_URL,
    CERT_NAME_ATTR_TYPE,
    CERT_NAME_DNS_TYPE,
    CERT_NAME_EMAIL_TYPE,
    CERT_NAME_FRIENDLY_DISPLAY_TYPE,
    CERT_NAME_ISSUER_FLAG,
    CERT_NAME_RDN_TYPE,
    CERT_NAME_SEARCH_ALL_NAMES_FLAG,
    CERT_NAME_SIMPLE_DISPLAY_TYPE,
    CERT_NAME_STR_COMMA_FLAG,
    CERT_NAME_STR_CRLF_FLAG,
    CERT_NAME_STR_ENABLE_T61_UNICODE_FLAG,
    CERT_NAME_STR_ENABLE_UTF8_UNICODE_FLAG,
    CERT_NAME_STR_FORCE_UTF8_DIR_STR_FLAG,
    CERT_NAME_STR_NO_PLUS_FLAG,
    CERT_NAME_STR_NO_QUOTING_FLAG,
    CERT_NAME_STR_SEMICOLON_FLAG,
    CERT_NAME_UPN_TYPE,
    CERT_NAME_URL_TYPE,
    CERT_RDN_BMP_STRING,
    CERT_RDN_ENCODED_BLOB,
    CERT_RDN_OCTET_STRING,
    CERT_RDN_PRINTABLE_STRING,
    CERT_RDN_TELETEX_STRING,
    CERT_RDN_TYPE_MASK,
    CERT_RDN_UNIVERSAL_STRING,
    CERT_RDN_UTF8_STRING,
    X509_ALTERNATE_NAME,
    X509_ASN_ENCODING,
    X509_NAME,
)
from capi.errors import CRYPT_E_INVALID_X500_STRING, ERROR_FILE_NOT_FOUND, SetLastError, WinError
from capi.formats.x500 import (
    OID_COMMON_NAME,
    OID_EMAIL,
    OID_ORG,
    OID_ORG_UNIT,
    name_to_str,
    parse_name,
)

if TYPE_CHECKING:
    from capi.crypt32.context import CertContext

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


def CertRDNValueToStr(dwValueType: int, pValue: bytes) -> str:
    """CertRDNValueToStr: one attribute value as text, unquoted (Wine str.c
    test_CertRDNValueToStrA: "abc\"def", " abc " come back as they are; an empty value
    gives ""). The 8-bit string types are read as bytes, the wide ones (BMP, UTF8,
    UNIVERSAL) as the UTF-16LE CryptDecodeObject leaves in CERT_RDN_VALUE_BLOB (a
    CERT_RDN_UTF8_STRING value of UTF-16LE "ePKI Root Certification Authority" prints
    that text). CERT_RDN_ENCODED_BLOB and CERT_RDN_OCTET_STRING give ""."""
    value = bytes(pValue or b"")
    vtype = int(dwValueType or 0) & CERT_RDN_TYPE_MASK
    if not value or vtype in (CERT_RDN_ENCODED_BLOB, CERT_RDN_OCTET_STRING):
        return ""
    if vtype in (CERT_RDN_BMP_STRING, CERT_RDN_UTF8_STRING, CERT_RDN_UNIVERSAL_STRING):
        text = value.decode("utf-16-le", "replace")
    else:
        text = value.decode("latin-1")
    return text.split("\0", 1)[0]


# ---------------------------------------------------------------------------------------
# CertStrToName
# ---------------------------------------------------------------------------------------


class _X500Error(Exception):
    def __init__(self, pos: int, code: int = 0):
        super().__init__(pos)
        self.pos = pos
        self.code = code


def _separators(str_type: int) -> str:
    if str_type & CERT_NAME_STR_COMMA_FLAG:
        return ","
    if str_type & CERT_NAME_STR_SEMICOLON_FLAG:
        return ";"
    if str_type & CERT_NAME_STR_CRLF_FLAG:
        return "\r\n"
    if str_type & CERT_NAME_STR_NO_PLUS_FLAG:
        return ",;\r\n"
    return "+,;\r\n"


def _key_oid(key: str) -> str | None:
    """The OID a key names: an X.500 key of Windows' RDN table ("CN", case-insensitive),
    "OID.2.5.4.3" or a dotted OID."""
    from capi.constants import CRYPT_OID_INFO_NAME_KEY, CRYPT_RDN_ATTR_OID_GROUP_ID
    from capi.crypt32.oidinfo import find_oid_info

    info = find_oid_info(CRYPT_OID_INFO_NAME_KEY, key, CRYPT_RDN_ATTR_OID_GROUP_ID)
    if info is not None:
        return info.pszOID
    dotted = key[4:] if key[:4].upper() == "OID." else key
    parts = dotted.split(".")
    if len(parts) >= 2 and all(p.isdigit() for p in parts) and int(parts[0]) <= 2:
        return dotted
    return None


def _value_types(oid: str, str_type: int) -> tuple[int, ...]:
    from capi.constants import CRYPT_OID_INFO_OID_KEY, CRYPT_RDN_ATTR_OID_GROUP_ID
    from capi.crypt32.oidinfo import find_oid_info

    info = find_oid_info(CRYPT_OID_INFO_OID_KEY, oid, CRYPT_RDN_ATTR_OID_GROUP_ID)
    if str_type & CERT_NAME_STR_FORCE_UTF8_DIR_STR_FLAG:
        return (CERT_RDN_UTF8_STRING,)
    if info is not None and info.ExtraInfo:
        return info.ExtraInfo
    wide = CERT_RDN_UTF8_STRING if str_type & CERT_NAME_STR_ENABLE_UTF8_UNICODE_FLAG \
        else CERT_RDN_BMP_STRING
    if str_type & CERT_NAME_STR_ENABLE_T61_UNICODE_FLAG:
        return (CERT_RDN_PRINTABLE_STRING, CERT_RDN_TELETEX_STRING, wide)
    return (CERT_RDN_PRINTABLE_STRING, wide)


def _encode_value(oid: str, text: str, start: int, str_type: int) -> bytes:
    """The DER of the first string type that holds ``text``; the error position of the
    last type tried when none does."""
    from capi.crypt32.encode import _encode_unicode_value

    utf16 = text.encode("utf-16-le", "surrogatepass")
    failure: WinError | None = None
    for vtype in _value_types(oid, str_type):
        if vtype == CERT_RDN_TELETEX_STRING and any(ord(c) > 0xFF for c in text):
            continue
        try:
            return _encode_unicode_value(vtype, utf16, oid, 0, 0)
        except WinError as exc:
            failure = exc
    index = (getattr(failure, "pcbEncoded", 0) or 0) & 0xFFFF
    raise _X500Error(start + index, failure.hresult if failure else CRYPT_E_INVALID_X500_STRING)


def _parse_x500(text: str, str_type: int) -> list[tuple[str, bytes]]:
    """[(oid, value DER)] in string order; _X500Error at the first bad character."""
    seps = _separators(str_type)
    quoting = not str_type & CERT_NAME_STR_NO_QUOTING_FLAG
    out = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        key_start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        if i >= n:
            raise _X500Error(key_start)            # no "=" after the key
        oid = _key_oid(text[key_start:i])
        if oid is None:
            raise _X500Error(key_start)            # unknown key ("bogus", "foo=1")
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            raise _X500Error(i)
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _X500Error(i)                    # a key without a value
        if quoting and text[i] == '"':
            j = i + 1
            chars = []
            while True:
                if j >= n:
                    raise _X500Error(j)            # unterminated quote
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        chars.append('"')
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            value, value_start = "".join(chars), i + 1
            i = j + 1
            if i < n and text[i] in seps:
                i += 1
        else:
            j = i
            while j < n and text[j] not in seps:
                j += 1
            value, value_start = text[i:j], i
            i = j + 1 if j < n else j
        out.append((oid, _encode_value(oid, value, value_start, str_type)))
    return out


def CertStrToName(dwCertEncodingType: int, pszX500: str, dwStrType: int,
                  pvReserved: Any = None) -> bytes:
    """CertStrToName -> the encoded Name (X509_NAME) of an X.500 string.

    Keys are Windows' X.500 keys (CN, O, OU, L, S/ST, C, E, DC, T/Title, G/GivenName,
    I/Initials, SN, STREET, SERIALNUMBER…, case-insensitive), "OID.n.n" or a dotted OID;
    values may be quoted ("" inside quotes is one "); separators are , ; and newlines,
    and + between values unless CERT_NAME_STR_NO_PLUS_FLAG (COMMA/SEMICOLON/CRLF pick one
    separator; NO_QUOTING keeps quotes as characters). A value is a PrintableString when
    it can be, else a BMPString (UTF8String with CERT_NAME_STR_ENABLE_UTF8_UNICODE_FLAG,
    TeletexString first with ENABLE_T61_UNICODE, UTF8String always with
    FORCE_UTF8_DIR_STR); C is PrintableString only, E IA5String.

    Raises CRYPT_E_INVALID_X500_STRING with ``.ppszError`` (the index of the first bad
    character: Wine str.c test_CertStrToNameW expects it at "1" in CN=""1""), and
    ERROR_FILE_NOT_FOUND for an encoding type without X509_ASN_ENCODING (checked after
    the string, as Windows reports "bogus" with encoding 0 as an X.500 error).
    """
    from capi.crypt32.structs import CERT_NAME_INFO, CERT_RDN, CERT_RDN_ATTR

    if pszX500 is None:
        exc = WinError(CRYPT_E_INVALID_X500_STRING, detail="NULL string")
        exc.ppszError = 0
        SetLastError(exc.winerror)
        raise exc
    str_type = int(dwStrType or 0) & 0xFFFFFFFF
    try:
        attrs = _parse_x500(str(pszX500), str_type)
    except _X500Error as bad:
        exc = WinError(CRYPT_E_INVALID_X500_STRING, detail=f"at index {bad.pos}")
        exc.ppszError = bad.pos
        SetLastError(exc.winerror)
        raise exc from None
    if not int(dwCertEncodingType or 0) & X509_ASN_ENCODING:
        SetLastError(ERROR_FILE_NOT_FOUND)
        raise WinError(ERROR_FILE_NOT_FOUND)
    info = CERT_NAME_INFO([CERT_RDN([CERT_RDN_ATTR(oid, CERT_RDN_ENCODED_BLOB, der)])
                           for oid, der in attrs])
    from capi.crypt32.encode import CryptEncodeObjectEx

    der = CryptEncodeObjectEx(X509_ASN_ENCODING, X509_NAME, info)
    SetLastError(0)
    return der


# ---------------------------------------------------------------------------------------
# CertGetNameString
# ---------------------------------------------------------------------------------------


def _find_attr(rdns, oid: str) -> str | None:
    for rdn in rdns:
        for a_oid, text in rdn:
            if a_oid == oid:
                return text
    return None


def _alt_entries(ctx, issuer: bool) -> list:
    """CERT_ALT_NAME_ENTRYs of the subject (or issuer) alternative-name extension: the
    current OID (2.5.29.17 / 2.5.29.18), else the legacy one (2.5.29.7 / 2.5.29.8), as
    Windows reads both (Wine str.c test_CertGetNameString patches cert_v3's OIDs to the
    legacy ones and still gets "ex1.org" / "ex3.org")."""
    from capi.crypt32.encode import CryptDecodeObjectEx

    wanted = (OID_ISSUER_ALT_NAME, "2.5.29.8") if issuer else (OID_SUBJECT_ALT_NAME, "2.5.29.7")
    exts = {e.pszObjId: e for e in pCertInfo_extensions(ctx)}
    for oid in wanted:
        ext = exts.get(oid)
        if ext is None:
            continue
        try:
            return list(CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME,
                                            ext.Value).rgAltEntry)
        except WinError:
            return []
    return []


def pCertInfo_extensions(ctx) -> list:
    try:
        return list(ctx.pCertInfo.rgExtension)
    except WinError:
        return []


def _entries(entries, choice: int) -> list[str]:
    return [e._value for e in entries if e.dwAltNameChoice == choice and e._value]


def _upn_values(entries) -> list[str]:
    out = []
    for e in entries:
        if e.dwAltNameChoice == CERT_ALT_NAME_OTHER_NAME and e._value is not None \
                and e._value.pszObjId == OID_UPN:
            try:
                out.append(asn1_core.UTF8String.load(bytes(e._value.Value)).native)
            except (ValueError, TypeError):
                continue
    return out


def CertGetNameString(pCertContext: CertContext | None, dwType: int, dwFlags: int = 0,
                      pvTypePara: str | int | None = None) -> str:
    """CertGetNameString: a display name of the subject (or, with CERT_NAME_ISSUER_FLAG,
    the issuer). Returns "" when the certificate has no such name (Windows' empty string,
    length 1), also for a NULL context or an unknown type (Wine str.c
    test_CertGetNameString).

    EMAIL: SAN rfc822Name, else the E= attribute. RDN: CertNameToStr with ``pvTypePara``
    as the string type. ATTR: the attribute whose OID is ``pvTypePara``; without one the
    E= attribute, else the CN (Wine str.c: "aric@codeweavers.com" for the certificate with
    an address, "localhost" for cert_no_email). SIMPLE_DISPLAY: CN, else OU, else O, else
    E=, else the SAN rfc822Name (else its first entry). FRIENDLY_DISPLAY: the FRIENDLY_NAME
    property, else SIMPLE_DISPLAY. DNS: the SAN dNSNames, else CN. URL: SAN URI. UPN: SAN
    otherName UPN. The alternative names come from 2.5.29.17/18 or the legacy 2.5.29.7/8.

    CERT_NAME_SEARCH_ALL_NAMES_FLAG (DNS; Windows 8 and later): every name, each followed
    by "\0" ("ex1.org\0*.ex2.org\0"); for the other types it gives "" (Wine str.c).
    """
    from capi.constants import CERT_FRIENDLY_NAME_PROP_ID

    if pCertContext is None:
        return ""
    flags = int(dwFlags or 0)
    issuer = bool(flags & CERT_NAME_ISSUER_FLAG)
    all_names = bool(flags & CERT_NAME_SEARCH_ALL_NAMES_FLAG)
    info = pCertContext.pCertInfo
    name_der = info.Issuer if issuer else info.Subject
    try:
        rdns = parse_name(name_der)
    except WinError as exc:
        # A name that does not decode has no attribute to show: "" (length 1), as for a
        # name without one; the alternative names may still give one.
        SetLastError(exc.winerror)
        rdns = []
    alt = _alt_entries(pCertContext, issuer)
    if all_names:
        if dwType != CERT_NAME_DNS_TYPE:
            return ""
        names = _entries(alt, CERT_ALT_NAME_DNS_NAME)
        if not names:
            names = [t for rdn in rdns for o, t in rdn if o == OID_COMMON_NAME]
        return "".join(n + "\0" for n in names)
    result: str | None = None
    if dwType == CERT_NAME_EMAIL_TYPE:
        result = next(iter(_entries(alt, CERT_ALT_NAME_RFC822_NAME)), None) or \
            _find_attr(rdns, OID_EMAIL)
    elif dwType == CERT_NAME_RDN_TYPE:
        result = CertNameToStr(X509_ASN_ENCODING, name_der, int(pvTypePara or 0))
    elif dwType == CERT_NAME_ATTR_TYPE:
        if pvTypePara:
            result = _find_attr(rdns, str(pvTypePara))
        else:
            result = _find_attr(rdns, OID_EMAIL) or _find_attr(rdns, OID_COMMON_NAME)
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
            emails = _entries(alt, CERT_ALT_NAME_RFC822_NAME)
            result = emails[0] if emails else None
    elif dwType == CERT_NAME_DNS_TYPE:
        result = next(iter(_entries(alt, CERT_ALT_NAME_DNS_NAME)), None) or \
            _find_attr(rdns, OID_COMMON_NAME)
    elif dwType == CERT_NAME_URL_TYPE:
        result = next(iter(_entries(alt, CERT_ALT_NAME_URL)), None)
    elif dwType == CERT_NAME_UPN_TYPE:
        result = next(iter(_upn_values(alt)), None)
    return result or ""


__all__ = [
    "CertNameToStr", "CertGetNameString", "CertRDNValueToStr", "CertStrToName",
]

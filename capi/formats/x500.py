"""X.500 names: decoding an encoded Name into its RDNs and rendering it in the
CERT_*_NAME_STR forms, with Windows' ordering, separators and quoting rules (Wine
crypt32 tests str.c, run on real Windows). No machine state; crypt32's CertNameToStr
and the store find types build on it."""

from __future__ import annotations

from capi.constants import (
    CERT_NAME_STR_CRLF_FLAG,
    CERT_NAME_STR_NO_PLUS_FLAG,
    CERT_NAME_STR_NO_QUOTING_FLAG,
    CERT_NAME_STR_REVERSE_FLAG,
    CERT_NAME_STR_SEMICOLON_FLAG,
    CERT_OID_NAME_STR,
    CERT_X500_NAME_STR,
)
from capi.errors import WinError

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


# Windows quotes a value holding a tab or a carriage return as it quotes one holding a
# newline (recorded Windows output behind the "crypt32 beyond stores" issue, item 8).
_NEEDS_QUOTES = set(',+="\n\r\t<>#;')


_STR_TYPE_MASK = 0xFFFF


def _value_text(value) -> str:
    """A printable form of one attribute value (strings as themselves)."""
    from asn1crypto import core as asn1_core
    from asn1crypto import x509 as asn1_x509

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
    from asn1crypto import x509 as asn1_x509  # imported when used: a tool starts faster

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
        from capi.errors import CRYPT_E_ASN1_BADTAG

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


__all__ = [
    "X500_KEYS", "parse_name", "name_to_str",
]

"""CertNameToStr and CertGetNameString (Wine crypt32 tests str.c, run on real Windows)."""

from __future__ import annotations

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as cx509
from helpers_certs import make_cert, name

from capi import *
from capi.testing import last_error_is

WINE_NAME = name("localhost", c="US", st="Minnesota", l="Minneapolis", o="CodeWeavers",
                 ou="Wine Development", email="aric@codeweavers.com")


@pytest.fixture
def wine_subject():
    return WINE_NAME.public_bytes()


@pytest.mark.parametrize("str_type, expected", [
    # Windows (Wine str.c test_CertNameToStrA): issuerStr / subjectStr / x500SubjectStr.
    (CERT_SIMPLE_NAME_STR,
     "US, Minnesota, Minneapolis, CodeWeavers, Wine Development, localhost, aric@codeweavers.com"),
    (CERT_SIMPLE_NAME_STR | CERT_NAME_STR_SEMICOLON_FLAG,
     "US; Minnesota; Minneapolis; CodeWeavers; Wine Development; localhost; aric@codeweavers.com"),
    (CERT_SIMPLE_NAME_STR | CERT_NAME_STR_CRLF_FLAG,
     "US\r\nMinnesota\r\nMinneapolis\r\nCodeWeavers\r\nWine Development\r\nlocalhost\r\n"
     "aric@codeweavers.com"),
    (CERT_OID_NAME_STR,
     "2.5.4.6=US, 2.5.4.8=Minnesota, 2.5.4.7=Minneapolis, 2.5.4.10=CodeWeavers, "
     "2.5.4.11=Wine Development, 2.5.4.3=localhost, 1.2.840.113549.1.9.1=aric@codeweavers.com"),
    (CERT_X500_NAME_STR,
     "C=US, S=Minnesota, L=Minneapolis, O=CodeWeavers, OU=Wine Development, CN=localhost, "
     "E=aric@codeweavers.com"),
    (CERT_X500_NAME_STR | CERT_NAME_STR_SEMICOLON_FLAG | CERT_NAME_STR_REVERSE_FLAG,
     "E=aric@codeweavers.com; CN=localhost; OU=Wine Development; O=CodeWeavers; L=Minneapolis; "
     "S=Minnesota; C=US"),
])
def test_name_to_str(wine_subject, str_type, expected):
    assert CertNameToStr(X509_ASN_ENCODING, wine_subject, str_type) == expected


def test_bogus_encoding_gives_empty_string(wine_subject):
    # Windows (Wine str.c): encoding 0 -> length 1 (empty) and ERROR_FILE_NOT_FOUND.
    assert CertNameToStr(0, wine_subject, CERT_SIMPLE_NAME_STR) == ""
    assert last_error_is(ERROR_FILE_NOT_FOUND)


def cn_name(value: str, string_type=asn1_core.PrintableString) -> bytes:
    """A Name with one CN of the given ASN.1 string type (the Wine str.c encodings)."""
    atv = asn1_x509.NameTypeAndValue({"type": "common_name", "value": string_type(value)})
    rdns = asn1_x509.RDNSequence([asn1_x509.RelativeDistinguishedName([atv])])
    return asn1_x509.Name(name="", value=rdns).dump()


@pytest.mark.parametrize("value, x500, simple", [
    # Windows (Wine str.c test_CertNameToStrA): the quoting rules.
    ("1", "CN=1", "1"),
    ("'1'", "CN='1'", "'1'"),
    (" 1 ", 'CN=" 1 "', '" 1 "'),
    ('"1"', 'CN="""1"""', '"""1"""'),
    ("1+2", 'CN="1+2"', '"1+2"'),
    ("a,b", 'CN="a,b"', '"a,b"'),
    ("a=b", 'CN="a=b"', '"a=b"'),
    ("<", 'CN="<"', '"<"'),
    (">", 'CN=">"', '">"'),
    ("#", 'CN="#"', '"#"'),
    (";", 'CN=";"', '";"'),
    ("a\nb", 'CN="a\nb"', '"a\nb"'),
])
def test_quoting(value, x500, simple):
    der = cn_name(value, asn1_core.BMPString)
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_X500_NAME_STR) == x500
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_SIMPLE_NAME_STR) == simple
    assert CertNameToStr(X509_ASN_ENCODING, der,
                         CERT_X500_NAME_STR | CERT_NAME_STR_NO_QUOTING_FLAG) == f"CN={value}"


def test_x500_keys():
    n = cx509.Name([
        cx509.NameAttribute(cx509.NameOID.DOMAIN_COMPONENT, "com"),
        cx509.NameAttribute(cx509.NameOID.DOMAIN_COMPONENT, "contoso"),
        cx509.NameAttribute(cx509.NameOID.STREET_ADDRESS, "1 Main St"),
        cx509.NameAttribute(cx509.NameOID.TITLE, "Boss"),
        cx509.NameAttribute(cx509.NameOID.GIVEN_NAME, "Ann"),
        cx509.NameAttribute(cx509.NameOID.SURNAME, "Lee"),
        cx509.NameAttribute(cx509.NameOID.INITIALS, "AL"),
        cx509.NameAttribute(cx509.NameOID.SERIAL_NUMBER, "42"),
    ]).public_bytes()
    assert CertNameToStr(X509_ASN_ENCODING, n, CERT_X500_NAME_STR) == \
        "DC=com, DC=contoso, STREET=1 Main St, T=Boss, G=Ann, SN=Lee, I=AL, SERIALNUMBER=42"


def test_multi_valued_rdn():
    n = cx509.Name([cx509.RelativeDistinguishedName([
        cx509.NameAttribute(cx509.NameOID.ORGANIZATIONAL_UNIT_NAME, "A"),
        cx509.NameAttribute(cx509.NameOID.COMMON_NAME, "B")])]).public_bytes()
    text = CertNameToStr(X509_ASN_ENCODING, n, CERT_X500_NAME_STR)
    assert text in ("OU=A + CN=B", "CN=B + OU=A")  # SET OF order is DER order


def test_get_name_string_types():
    der = make_cert(subject=name("www.contoso.com", o="Contoso", c="US", email="a@contoso.com"),
                    dns=("alt.contoso.com", "www2.contoso.com"))
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert CertGetNameString(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE) == "www.contoso.com"
    assert CertGetNameString(ctx, CERT_NAME_FRIENDLY_DISPLAY_TYPE) == "www.contoso.com"
    CertSetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID, 0, "My Site")
    assert CertGetNameString(ctx, CERT_NAME_FRIENDLY_DISPLAY_TYPE) == "My Site"
    # DNS: the first SAN dNSName before the CN.
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE) == "alt.contoso.com"
    assert CertGetNameString(ctx, CERT_NAME_EMAIL_TYPE) == "a@contoso.com"
    assert CertGetNameString(ctx, CERT_NAME_ATTR_TYPE, 0, szOID_COMMON_NAME) == "www.contoso.com"
    assert CertGetNameString(ctx, CERT_NAME_RDN_TYPE, 0,
                             CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG) == \
        "E=a@contoso.com, CN=www.contoso.com, O=Contoso, C=US"
    assert CertGetNameString(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, CERT_NAME_ISSUER_FLAG) == \
        "www.contoso.com"
    # Nothing to show -> an empty string (Windows returns length 1).
    assert CertGetNameString(ctx, CERT_NAME_URL_TYPE) == ""
    assert CertGetNameString(ctx, CERT_NAME_UPN_TYPE) == ""


def test_simple_display_fallbacks():
    ou_only = CertCreateCertificateContext(
        X509_ASN_ENCODING, make_cert(subject=name(None, o="Org", ou="Unit")))
    assert CertGetNameString(ou_only, CERT_NAME_SIMPLE_DISPLAY_TYPE) == "Unit"
    o_only = CertCreateCertificateContext(X509_ASN_ENCODING, make_cert(subject=name(None, o="Org")))
    assert CertGetNameString(o_only, CERT_NAME_SIMPLE_DISPLAY_TYPE) == "Org"
    email = CertCreateCertificateContext(
        X509_ASN_ENCODING, make_cert(subject=name(None, c="US"), emails=("x@y.z",)))
    assert CertGetNameString(email, CERT_NAME_SIMPLE_DISPLAY_TYPE) == "x@y.z"
    # DNS without a SAN falls back to the CN.
    cn = CertCreateCertificateContext(X509_ASN_ENCODING, make_cert("host.example"))
    assert CertGetNameString(cn, CERT_NAME_DNS_TYPE) == "host.example"

"""CertStrToName, CertRDNValueToStr, CertNameToStr, CertGetNameString, CryptFindOIDInfo.

Every expected value is Windows' (Wine dlls/crypt32/tests/str.c: plain ok() lines run on
real Windows), or Microsoft's documentation where named.
"""

from __future__ import annotations

import pytest
from cryptography import x509 as cx509
from helpers_certs import make_cert, name

from capi.constants import (
    CERT_NAME_ATTR_TYPE,
    CERT_NAME_DNS_TYPE,
    CERT_NAME_EMAIL_TYPE,
    CERT_NAME_ISSUER_FLAG,
    CERT_NAME_RDN_TYPE,
    CERT_NAME_SEARCH_ALL_NAMES_FLAG,
    CERT_NAME_SIMPLE_DISPLAY_TYPE,
    CERT_NAME_STR_ENABLE_UTF8_UNICODE_FLAG,
    CERT_NAME_STR_NO_PLUS_FLAG,
    CERT_NAME_STR_NO_QUOTING_FLAG,
    CERT_NAME_STR_SEMICOLON_FLAG,
    CERT_NAME_URL_TYPE,
    CERT_OID_NAME_STR,
    CERT_RDN_IA5_STRING,
    CERT_RDN_PRINTABLE_STRING,
    CERT_RDN_UTF8_STRING,
    CERT_SIMPLE_NAME_STR,
    CERT_X500_NAME_STR,
    CRYPT_ENHKEY_USAGE_OID_GROUP_ID,
    CRYPT_HASH_ALG_OID_GROUP_ID,
    CRYPT_OID_INFO_ALGID_KEY,
    CRYPT_OID_INFO_CNG_SIGN_KEY,
    CRYPT_OID_INFO_NAME_KEY,
    CRYPT_OID_INFO_OID_KEY,
    CRYPT_OID_INFO_SIGN_KEY,
    CRYPT_RDN_ATTR_OID_GROUP_ID,
    CRYPT_SIGN_ALG_OID_GROUP_ID,
    X509_ASN_ENCODING,
)
from capi.crypt32.cert import CertCreateCertificateContext
from capi.crypt32.oidinfo import CryptFindOIDInfo
from capi.crypt32.str import CertGetNameString, CertNameToStr, CertRDNValueToStr, CertStrToName
from capi.errors import CRYPT_E_INVALID_X500_STRING, ERROR_FILE_NOT_FOUND
from capi.testing import raises_hresult

# Wine str.c's encoded names
SIMPLE_CN = bytes.fromhex("300c310a30080603550403130131")
SINGLE_QUOTED_CN = bytes.fromhex("300e310c300a06035504031303273127")
SPACED_CN = bytes.fromhex("300e310c300a06035504031303203120")
QUOTED_CN = bytes.fromhex("3011310f300d06035504031e06002200310022")
MULTIPLE_ATTR_CN = bytes.fromhex("300e310c300a06035504031303312b32")
COMMA_CN = bytes.fromhex("300e310c300a06035504031303612c62")
EQUAL_CN = bytes.fromhex("300e310c300a06035504031303613d62")
LESS_THAN_CN = bytes.fromhex("300d310b300906035504031e02003c")
GREATER_THAN_CN = bytes.fromhex("300d310b300906035504031e02003e")
HASH_CN = bytes.fromhex("300d310b300906035504031e020023")
SEMI_CN = bytes.fromhex("300d310b300906035504031e02003b")
DUMMY_CN = bytes.fromhex("301f310e300c0603550403130564756d6d79310d300b060355040c130474657374")
FIELDS = bytes.fromhex("302f311230100603550403130957696e652054657374310c300a060355040c1303313233"
                       "310b3009060355040613024252")
JAPANESE_CN = bytes.fromhex("300f310d300b06035504031e04226f575b")


# --- CertStrToName ------------------------------------------------------------------------


@pytest.mark.parametrize("x500, encoded", [
    # Wine str.c namesA / namesW (test_CertStrToNameA/W)
    ("CN=1", SIMPLE_CN),
    ('CN="1"', SIMPLE_CN),
    ('CN = "1"', SIMPLE_CN),
    ("CN='1'", SINGLE_QUOTED_CN),
    ('CN=" 1 "', SPACED_CN),
    ('CN="""1"""', QUOTED_CN),
    ('CN="1+2"', MULTIPLE_ATTR_CN),
    ("CN=\u226f\u575b", JAPANESE_CN),
    ('CN="a,b"', COMMA_CN),
    ('CN="a=b"', EQUAL_CN),
    ('CN="<"', LESS_THAN_CN),
    ('CN=">"', GREATER_THAN_CN),
    ('CN="#"', HASH_CN),
    ('CN=";"', SEMI_CN),
    ("CN=dummy,T=test", DUMMY_CN),
    (" CN =   Wine Test,T = 123, C = BR", FIELDS),
])
def test_str_to_name_wine_vectors(x500, encoded):
    assert CertStrToName(X509_ASN_ENCODING, x500, 0) == encoded


@pytest.mark.parametrize("x500, flags, position", [
    # Wine str.c test_CertStrToNameA/W: CRYPT_E_INVALID_X500_STRING; for CN=""1"" the
    # error pointer is at the "1".
    ('CN=""1""', 0, 5),
    ("CN=1+2", 0, 5),                                 # "+" separates; "2" has no "="
    ("CN=1,2", CERT_NAME_STR_NO_QUOTING_FLAG, 5),
    ('CN="1,2;3,4"', CERT_NAME_STR_NO_QUOTING_FLAG, 6),
    ("bogus", 0, 0),
    ("foo=1", 0, 0),
])
def test_str_to_name_errors(x500, flags, position):
    with raises_hresult(CRYPT_E_INVALID_X500_STRING) as info:
        CertStrToName(X509_ASN_ENCODING, x500, flags)
    assert info.exc.ppszError == position
    assert x500[position:position + 1] in ("1", "2", "3", "b", "f")


def test_str_to_name_flags():
    # Wine str.c test_CertStrToNameA: NO_PLUS makes "1+2" one value; NO_QUOTING keeps the
    # quotes of "abc" as characters (so it no longer fits a PrintableString).
    assert CertStrToName(X509_ASN_ENCODING, "CN=1+2", CERT_NAME_STR_NO_PLUS_FLAG) == MULTIPLE_ATTR_CN
    quoted = CertStrToName(X509_ASN_ENCODING, 'CN="abc"', CERT_NAME_STR_NO_QUOTING_FLAG)
    assert CertNameToStr(X509_ASN_ENCODING, quoted, CERT_SIMPLE_NAME_STR) == '"""abc"""'
    assert CertStrToName(X509_ASN_ENCODING, "CN=abc", CERT_NAME_STR_NO_QUOTING_FLAG) == \
        CertStrToName(X509_ASN_ENCODING, 'CN="abc"', 0)
    # CertStrToName docs: ENABLE_UTF8_UNICODE picks UTF8String instead of BMPString.
    utf8 = CertStrToName(X509_ASN_ENCODING, "CN=\u226f", CERT_NAME_STR_ENABLE_UTF8_UNICODE_FLAG)
    assert utf8.hex().endswith("0c03e289af")
    # Semicolon separator only: "," stays in the value.
    both = CertStrToName(X509_ASN_ENCODING, "CN=a,b;O=c", CERT_NAME_STR_SEMICOLON_FLAG)
    assert CertNameToStr(X509_ASN_ENCODING, both, CERT_X500_NAME_STR) == 'CN="a,b", O=c'


def test_str_to_name_keys_and_oids():
    # CertStrToName docs: the X.500 keys, "OID." forms, and C/E string types.
    der = CertStrToName(X509_ASN_ENCODING,
                        "OID.2.5.4.3=x, 2.5.4.10=y, st=z, E=a@b.example, C=US", 0)
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_X500_NAME_STR) == \
        "CN=x, O=y, S=z, E=a@b.example, C=US"
    assert b"\x16\x0ba@b.example" in der   # E is an IA5String
    with raises_hresult(CRYPT_E_INVALID_X500_STRING):
        CertStrToName(X509_ASN_ENCODING, "C=\u00e9", 0)        # C is PrintableString only


def test_str_to_name_bad_encoding():
    # Wine str.c: encoding 0 with a good string -> ERROR_FILE_NOT_FOUND; with a bad one the
    # X.500 error wins.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertStrToName(0, "CN=1", 0)
    with raises_hresult(CRYPT_E_INVALID_X500_STRING):
        CertStrToName(0, "bogus", 0)


def test_str_to_name_round_trips_name_to_str():
    text = "CN=www.contoso.com, OU=Web, O=Contoso, C=US"
    der = CertStrToName(X509_ASN_ENCODING, text, 0)
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_X500_NAME_STR) == text


# --- CertRDNValueToStr --------------------------------------------------------------------


@pytest.mark.parametrize("vtype, value, text", [
    # Wine str.c test_CertRDNValueToStrA: values are not quoted
    (CERT_RDN_PRINTABLE_STRING, b"US", "US"),
    (CERT_RDN_IA5_STRING, b"aric@codeweavers.com", "aric@codeweavers.com"),
    (CERT_RDN_PRINTABLE_STRING, b'abc"def', 'abc"def'),
    (CERT_RDN_PRINTABLE_STRING, b"abc, def", "abc, def"),
    (CERT_RDN_PRINTABLE_STRING, b" abc ", " abc "),
    (CERT_RDN_PRINTABLE_STRING, b'"def"', '"def"'),
    (CERT_RDN_PRINTABLE_STRING, b"1;3", "1;3"),
    (CERT_RDN_UTF8_STRING, "ePKI Root Certification Authority".encode("utf-16-le"),
     "ePKI Root Certification Authority"),
    (0, b"", ""),
])
def test_rdn_value_to_str(vtype, value, text):
    assert CertRDNValueToStr(vtype, value) == text


# --- CertNameToStr ------------------------------------------------------------------------


@pytest.mark.parametrize("encoded, x500, simple", [
    # Wine str.c test_CertNameToStrA
    (SIMPLE_CN, "CN=1", "1"),
    (SINGLE_QUOTED_CN, "CN='1'", "'1'"),
    (SPACED_CN, 'CN=" 1 "', '" 1 "'),
    (QUOTED_CN, 'CN="""1"""', '"""1"""'),
    (MULTIPLE_ATTR_CN, 'CN="1+2"', '"1+2"'),
    (COMMA_CN, 'CN="a,b"', '"a,b"'),
    (EQUAL_CN, 'CN="a=b"', '"a=b"'),
    (LESS_THAN_CN, 'CN="<"', '"<"'),
    (GREATER_THAN_CN, 'CN=">"', '">"'),
    (HASH_CN, 'CN="#"', '"#"'),
    (SEMI_CN, 'CN=";"', '";"'),
])
def test_name_to_str_quoting(encoded, x500, simple):
    assert CertNameToStr(X509_ASN_ENCODING, encoded, CERT_X500_NAME_STR) == x500
    assert CertNameToStr(X509_ASN_ENCODING, encoded, CERT_SIMPLE_NAME_STR) == simple


@pytest.mark.parametrize("char", ["\t", "\r", "\n"])
def test_name_to_str_quotes_control_characters(char):
    # Wine str.c: a newline is quoted (encodedNewlineCN -> CN="a\nb"); Windows' recorded
    # output quotes a tab or a carriage return the same way.
    der = cx509.Name([cx509.NameAttribute(cx509.oid.NameOID.COMMON_NAME, f"a{char}b")]).public_bytes()
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_X500_NAME_STR) == f'CN="a{char}b"'


def test_name_to_str_oid_and_semicolon():
    der = name("localhost", c="US", o="CodeWeavers").public_bytes()
    assert CertNameToStr(X509_ASN_ENCODING, der, CERT_OID_NAME_STR | CERT_NAME_STR_SEMICOLON_FLAG) \
        == "2.5.4.6=US; 2.5.4.10=CodeWeavers; 2.5.4.3=localhost"


# --- CertGetNameString --------------------------------------------------------------------


def _wine_like_cert(cn="localhost", email="aric@codeweavers.com"):
    subject = name(cn, c="US", st="Minnesota", l="Minneapolis", o="CodeWeavers",
                   ou="Wine Development", email=email)
    return CertCreateCertificateContext(X509_ASN_ENCODING, make_cert(subject=subject))


def test_get_name_string_null_and_unknown():
    # Wine str.c test_CertGetNameString: a NULL context, type 0 and a missing URL all give
    # the empty string (length 1).
    ctx = _wine_like_cert()
    assert CertGetNameString(None, 0, 0, None) == ""
    assert CertGetNameString(ctx, 0, 0, None) == ""
    assert CertGetNameString(ctx, CERT_NAME_URL_TYPE, 0, None) == ""


def test_get_name_string_attr_without_oid():
    # Wine str.c: CERT_NAME_ATTR_TYPE with no OID gives the e-mail attribute, and the CN
    # for cert_no_email.
    assert CertGetNameString(_wine_like_cert(), CERT_NAME_ATTR_TYPE, 0, None) == "aric@codeweavers.com"
    assert CertGetNameString(_wine_like_cert(email=None), CERT_NAME_ATTR_TYPE, 0, None) == "localhost"
    assert CertGetNameString(_wine_like_cert(), CERT_NAME_ATTR_TYPE, 0, "2.5.4.3") == "localhost"


def test_get_name_string_all_names_flag():
    # Wine str.c: DNS with SEARCH_ALL_NAMES is "localhost\0" without a SAN; EMAIL and
    # SIMPLE_DISPLAY with the flag give "".
    ctx = _wine_like_cert()
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE, CERT_NAME_SEARCH_ALL_NAMES_FLAG) == "localhost\0"
    assert CertGetNameString(ctx, CERT_NAME_EMAIL_TYPE, CERT_NAME_SEARCH_ALL_NAMES_FLAG) == ""
    assert CertGetNameString(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, CERT_NAME_SEARCH_ALL_NAMES_FLAG) == ""
    assert CertGetNameString(ctx, CERT_NAME_RDN_TYPE, 0, CERT_OID_NAME_STR).startswith("2.5.4.6=US, ")


def _cert_v3(san_oid: str, ian_oid: str):
    """cert_v3 of Wine str.c: SAN ex1.org, *.ex2.org; IAN ex3.org, *.ex4.org, under the
    given extension OIDs."""
    from asn1crypto import x509 as ax

    from capi.crypt32 import _der as D

    def names(*dns):
        return ax.GeneralNames([ax.GeneralName("dns_name", d) for d in dns]).dump()

    der = make_cert("server_cn.org")
    cert = ax.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    exts = D.seq(
        D.seq(D.oid(san_oid), D.octets(names("ex1.org", "*.ex2.org"))),
        D.seq(D.oid(ian_oid), D.octets(names("ex3.org", "*.ex4.org"))),
    )
    parts = [tbs[k].dump() for k in ("version", "serial_number", "signature", "issuer",
                                     "validity", "subject", "subject_public_key_info")]
    new_tbs = D.seq(*parts, D.explicit(3, exts))
    return D.seq(new_tbs, cert["signature_algorithm"].dump(), cert["signature_value"].dump())


@pytest.mark.parametrize("san, ian", [("2.5.29.7", "2.5.29.8"), ("2.5.29.17", "2.5.29.18")])
def test_get_name_string_alt_names_legacy_and_current(san, ian):
    # Wine str.c test_CertGetNameString: the legacy OIDs 2.5.29.7/8 are read like 17/18.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, _cert_v3(san, ian))
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE, 0) == "ex1.org"
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE, CERT_NAME_ISSUER_FLAG) == "ex3.org"
    assert CertGetNameString(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0) == "server_cn.org"
    assert CertGetNameString(ctx, CERT_NAME_ATTR_TYPE, 0, "2.5.4.4") == ""
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE, CERT_NAME_SEARCH_ALL_NAMES_FLAG) == \
        "ex1.org\0*.ex2.org\0"
    assert CertGetNameString(ctx, CERT_NAME_DNS_TYPE,
                             CERT_NAME_SEARCH_ALL_NAMES_FLAG | CERT_NAME_ISSUER_FLAG) == \
        "ex3.org\0*.ex4.org\0"


# --- CryptFindOIDInfo ---------------------------------------------------------------------


def test_find_oid_info_by_oid_and_name():
    # CryptFindOIDInfo / CRYPT_OID_INFO documentation; the names certutil prints.
    info = CryptFindOIDInfo(CRYPT_OID_INFO_OID_KEY, "1.2.840.113549.1.1.11", 0)
    assert (info.pwszName, info.dwGroupId, info.Algid) == ("sha256RSA", CRYPT_SIGN_ALG_OID_GROUP_ID, 0x800C)
    assert info.pwszCNGAlgid == "SHA256" and info.pwszCNGExtraAlgid == "RSA"
    eku = CryptFindOIDInfo(CRYPT_OID_INFO_NAME_KEY, "Server Authentication", CRYPT_ENHKEY_USAGE_OID_GROUP_ID)
    assert eku.pszOID == "1.3.6.1.5.5.7.3.1"
    assert CryptFindOIDInfo(CRYPT_OID_INFO_NAME_KEY, "cn", CRYPT_RDN_ATTR_OID_GROUP_ID).pszOID == "2.5.4.3"
    assert CryptFindOIDInfo(CRYPT_OID_INFO_OID_KEY, "2.5.4.6", CRYPT_RDN_ATTR_OID_GROUP_ID).ExtraInfo == \
        (CERT_RDN_PRINTABLE_STRING,)
    assert CryptFindOIDInfo(CRYPT_OID_INFO_OID_KEY, "1.2.3.4.5", 0) is None
    # the group narrows the search: "CN" is no hash
    assert CryptFindOIDInfo(CRYPT_OID_INFO_NAME_KEY, "CN", CRYPT_HASH_ALG_OID_GROUP_ID) is None


def test_find_oid_info_by_algid_and_sign_key():
    assert CryptFindOIDInfo(CRYPT_OID_INFO_ALGID_KEY, 0x8004, CRYPT_HASH_ALG_OID_GROUP_ID).pszOID == "1.3.14.3.2.26"
    assert CryptFindOIDInfo(CRYPT_OID_INFO_SIGN_KEY, (0x800C, 0x2400), 0).pszOID == "1.2.840.113549.1.1.11"
    assert CryptFindOIDInfo(CRYPT_OID_INFO_CNG_SIGN_KEY, ("SHA256", "ECDSA"), 0).pwszName == "sha256ECDSA"

"""Certificate contexts and properties (docs/windows-facts.md §2 #4, #28–#37)."""

from __future__ import annotations

import datetime
import hashlib
import struct
from pathlib import Path

import pytest
from helpers_certs import SERVER_AUTH, make_ca, make_cert, make_crl, name

from capi import *
from capi.testing import last_error_is, raises_hresult

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture
def der():
    return make_cert("www.contoso.com", subject=name("www.contoso.com", o="Contoso", c="US"),
                     serial=0x0102AB)


def test_context_fields(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert ctx.dwCertEncodingType == X509_ASN_ENCODING
    assert ctx.pbCertEncoded == der and ctx.cbCertEncoded == len(der)
    info = ctx.pCertInfo
    assert info.dwVersion == 2  # CERT_V3
    # CRYPT_INTEGER_BLOB is little-endian: serial 0x0102AB -> AB 02 01.
    assert info.SerialNumber == bytes([0xAB, 0x02, 0x01])
    # CERT_INFO as CryptDecodeObjectEx(X509_CERT_TO_BE_SIGNED) returns it: the algorithm is
    # a CRYPT_ALGORITHM_IDENTIFIER, the times FILETIME ticks.
    assert info.SignatureAlgorithm.pszObjId == "1.2.840.113549.1.1.11"
    assert info.SignatureAlgorithm.Parameters == b"\x05\x00"
    assert info.Subject == ctx.x509.subject.public_bytes()
    assert info.Issuer == info.Subject
    assert info.NotBefore == (datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
                              - datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
                              ) // datetime.timedelta(microseconds=1) * 10
    assert ctx.sha1 == hashlib.sha1(der).digest()
    assert ctx.thumbprint == hashlib.sha1(der).hexdigest().upper()


def test_context_keeps_combined_encoding_type(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, der)
    assert ctx.dwCertEncodingType == 0x10001


def test_vector_thumbprint_matches_openssl():
    # tests/vectors/README.md: the thumbprint was computed by `openssl x509 -fingerprint`.
    der = (VECTORS / "contoso_selfsigned.der").read_bytes()
    expected = (VECTORS / "contoso_selfsigned.sha1").read_text().strip()
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert ctx.thumbprint == expected.replace(":", "")


@pytest.mark.parametrize("data, code", [
    # Windows (Wine store.c testMemStore): DER "30 00" -> CRYPT_E_ASN1_EOD.
    (b"\x30\x00", CRYPT_E_ASN1_EOD),
    # Windows (Wine cert.c testCreateCert): X509 with NULL data -> CRYPT_E_ASN1_EOD.
    (b"", CRYPT_E_ASN1_EOD),
    (b"\x30\x82\x01\x00\x30", CRYPT_E_ASN1_EOD),  # length past the end
    (b"\x04\x03abc", CRYPT_E_ASN1_BADTAG),         # an OCTET STRING is not a certificate
])
def test_bad_der(data, code):
    with raises_hresult(code):
        CertCreateCertificateContext(X509_ASN_ENCODING, data)
    assert last_error_is(code)


def test_truncated_certificate_is_eod(der):
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CertCreateCertificateContext(X509_ASN_ENCODING, der[: len(der) // 2])


def test_crl_as_certificate_is_badtag():
    # Windows (Wine store.c testMemStore): a CRL added as a certificate -> CRYPT_E_ASN1_BADTAG.
    _ca, ca_name, ca_key = make_ca()
    with raises_hresult(CRYPT_E_ASN1_BADTAG):
        CertCreateCertificateContext(X509_ASN_ENCODING, make_crl(ca_name, ca_key))


def test_encoding_zero_is_invalidarg(der):
    # Windows (Wine cert.c testCreateCert): encoding 0 -> E_INVALIDARG.
    with raises_hresult(E_INVALIDARG):
        CertCreateCertificateContext(0, der)


@pytest.mark.xfail(strict=True, reason="crypt32 also decodes an unsigned TBSCertificate as a "
                   "certificate (Wine cert.c/store.c bigCert); winpki parses with cryptography, "
                   "which requires the signed form")
def test_bare_tbs_certificate():
    tbs = CertCreateCertificateContext(X509_ASN_ENCODING, make_cert("x")).x509.tbs_certificate_bytes
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, tbs)
    assert ctx.cbCertEncoded == len(tbs)


def test_duplicate_returns_same_object_and_free_null(der):
    # Windows (Wine cert.c testDupCert): Duplicate returns the same pointer; NULL -> NULL;
    # Free(NULL) -> TRUE.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert CertDuplicateCertificateContext(ctx) is ctx
    assert CertDuplicateCertificateContext(None) is None
    assert CertFreeCertificateContext(None) is True
    assert CertFreeCertificateContext(ctx) and CertFreeCertificateContext(ctx)


def test_new_context_properties(der):
    # Windows (Wine cert.c testCertProperties): 0 properties, KEY_PROV_INFO not found,
    # ACCESS_STATE without WRITE_PERSIST; property 0 -> E_INVALIDARG.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert CertEnumCertificateContextProperties(ctx, 0) == 0
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert last_error_is(CRYPT_E_NOT_FOUND)
    state = CertGetCertificateContextProperty(ctx, CERT_ACCESS_STATE_PROP_ID)
    assert not state & CERT_ACCESS_STATE_WRITE_PERSIST_FLAG
    with raises_hresult(E_INVALIDARG):
        CertSetCertificateContextProperty(ctx, 0, 0, b"x")


def test_hash_property_set_delete_recompute(der):
    # Windows (Wine cert.c testCertProperties): the hash property reads back as set;
    # deleting it makes the next read recompute the real SHA-1, which is then the one
    # property enumerated.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    CertSetCertificateContextProperty(ctx, CERT_HASH_PROP_ID, 0, b"\x11" * 20)
    assert CertGetCertificateContextProperty(ctx, CERT_HASH_PROP_ID) == b"\x11" * 20
    CertSetCertificateContextProperty(ctx, CERT_HASH_PROP_ID, 0, None)
    assert CertEnumCertificateContextProperties(ctx, 0) == 0
    assert CertGetCertificateContextProperty(ctx, CERT_HASH_PROP_ID) == hashlib.sha1(der).digest()
    first = CertEnumCertificateContextProperties(ctx, 0)
    assert first == CERT_SHA1_HASH_PROP_ID
    assert CertEnumCertificateContextProperties(ctx, first) == 0


def test_computed_hashes(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    assert CertGetCertificateContextProperty(ctx, CERT_MD5_HASH_PROP_ID) == hashlib.md5(der).digest()
    assert CertGetCertificateContextProperty(ctx, CERT_SHA256_HASH_PROP_ID) == \
        hashlib.sha256(der).digest()
    # Windows (Wine cert.c testCertProperties): SIGNATURE_HASH of a valid self-signed
    # certificate is the hash of its to-be-signed part (SHA-1 there: 20 bytes; SHA-256 here).
    sig = CertGetCertificateContextProperty(ctx, CERT_SIGNATURE_HASH_PROP_ID)
    assert sig == hashlib.sha256(ctx.x509.tbs_certificate_bytes).digest()


def test_key_identifier(der):
    # Windows (Wine cert.c testCertProperties): without a SubjectKeyIdentifier extension
    # KEY_IDENTIFIER -> ERROR_INVALID_DATA, even though there is a public key.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    with raises_hresult(ERROR_INVALID_DATA):
        CertGetCertificateContextProperty(ctx, CERT_KEY_IDENTIFIER_PROP_ID)
    with_ski = CertCreateCertificateContext(X509_ASN_ENCODING, make_cert("ski", ski=True))
    from cryptography import x509

    ski = with_ski.x509.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert CertGetCertificateContextProperty(with_ski, CERT_KEY_IDENTIFIER_PROP_ID) == ski.digest


def test_user_property_and_friendly_name_encoding(der):
    # Windows (Wine cert.c testCertProperties): property 0xFFFF can be set and read.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    CertSetCertificateContextProperty(ctx, 0xFFFF, 0, b"\x01\x02")
    assert CertGetCertificateContextProperty(ctx, 0xFFFF) == b"\x01\x02"
    # docs/windows-facts.md §1: friendly name "WineTest" is stored as UTF-16LE with NUL, cb 0x12.
    CertSetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID, 0, "WineTest")
    assert ctx.get_raw_property(CERT_FRIENDLY_NAME_PROP_ID) == "WineTest\0".encode("utf-16-le")
    assert len(ctx.get_raw_property(CERT_FRIENDLY_NAME_PROP_ID)) == 0x12
    assert CertGetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID) == "WineTest"
    assert ctx.properties() == [0xFFFF, CERT_FRIENDLY_NAME_PROP_ID]


def test_key_context_and_prov_handle(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    # Windows (Wine cert.c testCertProperties): KEY_CONTEXT with cbSize 0 -> E_INVALIDARG.
    with raises_hresult(E_INVALIDARG):
        CertSetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID, 0,
                                          CERT_KEY_CONTEXT(object(), AT_KEYEXCHANGE, cbSize=0))
    prov = object()
    CertSetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID, 0,
                                      CERT_KEY_CONTEXT(prov, AT_KEYEXCHANGE))
    # ...after a valid key context KEY_PROV_HANDLE is readable; setting it NULL zeroes
    # hCryptProv.
    assert CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_HANDLE_PROP_ID) is prov
    assert CertGetCertificateContextProperty(ctx, CERT_KEY_SPEC_PROP_ID) == AT_KEYEXCHANGE
    CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_HANDLE_PROP_ID, 0, None)
    kc = CertGetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID)
    assert kc.hCryptProv is None and kc.dwKeySpec == AT_KEYEXCHANGE


def test_key_prov_info_layout():
    # docs/windows-facts.md §1: 7-DWORD header of offsets from the property start, one 4-DWORD
    # record per parameter, then the UTF-16 names and the parameter bytes.
    info = CRYPT_KEY_PROV_INFO("c1", "P", PROV_RSA_FULL, CRYPT_MACHINE_KEYSET, AT_SIGNATURE,
                               (CRYPT_KEY_PROV_PARAM(0x20, b"\xAA\xBB", 0),))
    b = info.to_bytes()
    header = struct.unpack_from("<7I", b)
    assert header == (44, 50, 1, 0x20, 1, 28, 2)
    assert struct.unpack_from("<4I", b, 28) == (0x20, 54, 2, 0)
    assert b[44:50] == "c1\0".encode("utf-16-le")
    assert b[50:54] == "P\0".encode("utf-16-le")
    assert b[54:] == b"\xAA\xBB"
    assert CRYPT_KEY_PROV_INFO.from_bytes(b) == CRYPT_KEY_PROV_INFO(
        "c1", "P", 1, 0x20, 2, (CRYPT_KEY_PROV_PARAM(0x20, b"\xAA\xBB", 0),))


def test_key_prov_info_without_params_and_null_names():
    b = CRYPT_KEY_PROV_INFO(None, None, 0, 0, 0).to_bytes()
    assert b == bytes(28)
    assert CRYPT_KEY_PROV_INFO.from_bytes(b).pwszContainerName is None


def test_key_prov_info_property_and_key_spec(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    info = CRYPT_KEY_PROV_INFO("{00F81886-5F70-430A-939C-BB7DD58ECE2A}", MS_STRONG_PROV,
                               PROV_RSA_FULL, CRYPT_MACHINE_KEYSET, AT_SIGNATURE)
    CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    assert CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID) == info
    # KEY_SPEC falls back to the key info's dwKeySpec.
    assert CertGetCertificateContextProperty(ctx, CERT_KEY_SPEC_PROP_ID) == AT_SIGNATURE


def test_enhkey_usage_property(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    CertSetCertificateContextProperty(ctx, CERT_ENHKEY_USAGE_PROP_ID, 0, [SERVER_AUTH])
    # Stored as the DER of the EKU extension value (SEQUENCE OF OID).
    assert ctx.get_raw_property(CERT_ENHKEY_USAGE_PROP_ID) == \
        bytes.fromhex("300a06082b06010505070301")
    assert CertGetCertificateContextProperty(ctx, CERT_ENHKEY_USAGE_PROP_ID) == [SERVER_AUTH]


def test_lazy_parsing(der):
    ctx = CertContext(der)
    assert ctx._x509 is None
    assert ctx.thumbprint  # hashing does not parse
    assert ctx._x509 is None
    assert ctx.pCertInfo.dwVersion == 2
    assert ctx._x509 is not None


def test_malformed_extension_value_is_opaque(machine):
    # CERT_INFO.rgExtension holds extension values as bytes: a malformed Authority Key
    # Identifier must not make the names or the store listing unreadable.
    from capi import CERT_NAME_SIMPLE_DISPLAY_TYPE, CertCreateCertificateContext, CertGetNameString

    der = bytearray(make_cert("opaque", ski=True, issuer=None))
    akid = bytes.fromhex("0603551d2304")
    i = der.find(akid)
    if i < 0:  # make_cert wrote no AKI: use the SKI extension instead
        i = der.find(bytes.fromhex("0603551d0e04"))
    j = i + 6 + 1
    der[j] = 0x31 if der[j] in (0x30, 0x04) else der[j]
    ctx = CertCreateCertificateContext(1, bytes(der))
    assert CertGetNameString(ctx, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None) == "opaque"
    assert ctx.pCertInfo.rgExtension


def test_bad_certificate_version_is_an_asn1_error():
    from capi import CertCreateCertificateContext
    from capi.errors import CRYPT_E_ASN1_CORRUPT

    der = bytearray(make_cert("v5"))
    i = der.find(bytes.fromhex("a003020102"))
    der[i + 4] = 5
    with raises_hresult(CRYPT_E_ASN1_CORRUPT):
        CertCreateCertificateContext(1, bytes(der))

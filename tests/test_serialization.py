"""The serialized-element / .sst codec and PKCS#7 bags (docs/windows-facts.md §1, §2 #7, #19, #25, #26)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from helpers_certs import make_ca, make_cert, make_crl

from capi import *
from capi.formats.serialized import load_pkcs7, load_serialized_store, parse_element, save_pkcs7
from capi.testing import raises_hresult


@pytest.fixture
def der():
    return make_cert("serialize-me")


def rec(pid, data, enc=1):
    return struct.pack("<III", pid, enc, len(data)) + data


def test_fresh_context_serializes_to_12_plus_cb(der):
    # Windows (Wine store.c testMemStore): 12 + cb bytes, header 20 00 00 00 01 00 00 00
    # <cb>; the flags argument is ignored.
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    el = CertSerializeCertificateStoreElement(ctx, 0)
    assert el == struct.pack("<III", 32, 1, len(der)) + der
    assert len(el) == 12 + len(der)
    assert CertSerializeCertificateStoreElement(ctx, 0xFFFF) == el


def test_properties_come_first_in_order(der):
    ctx = CertCreateCertificateContext(X509_ASN_ENCODING, der)
    CertSetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID, 0, "WineTest")
    sha1 = CertGetCertificateContextProperty(ctx, CERT_SHA1_HASH_PROP_ID)
    el = serialize_element(ctx)
    # docs/windows-facts.md §1: friendly name record id 11, cb 0x12, UTF-16LE "WineTest\0".
    assert el == (rec(11, "WineTest\0".encode("utf-16-le")) + rec(3, sha1) + rec(32, der))
    assert serialize_element(ctx, include_hashes=False) == \
        rec(11, "WineTest\0".encode("utf-16-le")) + rec(32, der)
    parsed_der, props, consumed = parse_element(el)
    assert parsed_der == der and consumed == len(el)
    assert props == {11: "WineTest\0".encode("utf-16-le"), 3: sha1}


def test_serialized_store_of_one(der):
    # Windows (Wine store.c testFileStore): one certificate -> 00000000 "CERT", the
    # element, 12 zero bytes: cb + 32 bytes (156 for the 124-byte bigCert). Hash
    # properties (3, 4, 15) are not written.
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    ctx = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    for pid in (CERT_SHA1_HASH_PROP_ID, CERT_MD5_HASH_PROP_ID, CERT_SIGNATURE_HASH_PROP_ID):
        CertGetCertificateContextProperty(ctx, pid)  # cache them on the context
    data = CertSaveStore(store, X509_ASN_ENCODING, CERT_STORE_SAVE_AS_STORE,
                         CERT_STORE_SAVE_TO_MEMORY, None, 0)
    assert data == b"\0\0\0\0CERT" + rec(32, der) + bytes(12)
    assert len(data) == len(der) + 32
    assert load_serialized_store(data) == [(der, {})]


def test_empty_input_is_an_empty_store():
    assert load_serialized_store(b"") == []
    assert load_serialized_store(b"\0\0\0\0CERT" + bytes(12)) == []


def test_truncated_store_fails_at_every_cut(der):
    data = save_serialized_store([serialize_element(CertCreateCertificateContext(X509_ASN_ENCODING, der),
                                                    include_hashes=False)])
    for cut in range(1, len(data)):
        with raises_hresult(CRYPT_E_FILE_ERROR):
            load_serialized_store(data[:cut])


def test_bad_magic_is_file_error(der):
    with raises_hresult(CRYPT_E_FILE_ERROR):
        load_serialized_store(b"\0\0\0\0CERX" + rec(32, der) + bytes(12))


@pytest.mark.parametrize("element, code", [
    # Windows (Wine store.c testAddSerialized): empty buffer -> ERROR_END_OF_MEDIA;
    (b"", ERROR_END_OF_MEDIA),
    # certificate record with cb 0 -> E_INVALIDARG;
    (rec(32, b""), E_INVALIDARG),
    # a record overrunning the buffer -> E_INVALIDARG;
    (struct.pack("<III", 32, 1, 500) + b"\x30\x00", E_INVALIDARG),
    # encoding field 2 -> ERROR_FILE_NOT_FOUND.
    (rec(32, b"\x30\x00", enc=2), ERROR_FILE_NOT_FOUND),
])
def test_add_serialized_element_errors(element, code):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    with raises_hresult(code):
        CertAddSerializedElementToStore(store, element, CERT_STORE_ADD_ALWAYS, 0,
                                        CERT_STORE_CERTIFICATE_CONTEXT_FLAG)
    assert CertEnumCertificatesInStore(store, None) is None


def test_add_serialized_context_type_flags(der):
    # Windows (Wine store.c testAddSerialized): flags 0, or CRL_CONTEXT_FLAG for a
    # certificate element -> E_INVALIDARG; trailing zero bytes are accepted.
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    el = rec(32, der)
    for flags in (0, CERT_STORE_CRL_CONTEXT_FLAG):
        with raises_hresult(E_INVALIDARG):
            CertAddSerializedElementToStore(store, el, CERT_STORE_ADD_ALWAYS, 0, flags)
    ctx, ctype = CertAddSerializedElementToStore(store, el + bytes(16), CERT_STORE_ADD_NEW, 0,
                                                 CERT_STORE_ALL_CONTEXT_FLAG)
    assert ctype == CERT_STORE_CERTIFICATE_CONTEXT and ctx.pbCertEncoded == der
    # Re-adding with ADD_NEW -> CRYPT_E_EXISTS.
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddSerializedElementToStore(store, el, CERT_STORE_ADD_NEW, 0,
                                        CERT_STORE_CERTIFICATE_CONTEXT_FLAG)


def test_bogus_hash_in_element_is_replaced(der):
    # Windows (Wine store.c testAddSerialized): a bogus hash inside the element is
    # replaced by the real SHA-1.
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    el = rec(3, b"\x99" * 20) + rec(32, der)
    ctx, _ = CertAddSerializedElementToStore(store, el, CERT_STORE_ADD_NEW, 0,
                                             CERT_STORE_CERTIFICATE_CONTEXT_FLAG)
    assert CertGetCertificateContextProperty(ctx, CERT_SHA1_HASH_PROP_ID) == \
        hashlib.sha1(der).digest()


def test_bad_der_inside_element(der):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CertAddSerializedElementToStore(store, rec(32, b"\x30\x00"), CERT_STORE_ADD_NEW, 0,
                                        CERT_STORE_CERTIFICATE_CONTEXT_FLAG)


def test_pkcs7_round_trip(der):
    other = make_cert("second")
    ctxs = [CertCreateCertificateContext(X509_ASN_ENCODING, d) for d in (der, other)]
    p7 = save_pkcs7(c.x509 for c in ctxs)
    assert sorted(load_pkcs7(p7)) == sorted([der, other])
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(p7) + b"-----END PKCS7-----\n"
    assert sorted(load_pkcs7(pem)) == sorted([der, other])
    assert load_pkcs7(save_pkcs7([])) == []


def test_pkcs7_errors(der):
    from asn1crypto import cms

    data_msg = cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()
    # Windows (Wine store.c testMessageStore): PKCS7 on a message that is not
    # SignedData -> CRYPT_E_INVALID_MSG_TYPE; bare content -> CRYPT_E_ASN1_BADTAG.
    with raises_hresult(CRYPT_E_INVALID_MSG_TYPE):
        CertOpenStore(CERT_STORE_PROV_PKCS7, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, None, 0,
                      data_msg)
    with raises_hresult(CRYPT_E_ASN1_BADTAG):
        CertOpenStore(CERT_STORE_PROV_PKCS7, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, None, 0,
                      b"\x04\x02hi")


def test_crl_element_in_store_is_skipped(der):
    _ca, ca_name, ca_key = make_ca()
    crl = make_crl(ca_name, ca_key)
    data = b"\0\0\0\0CERT" + rec(32, der) + rec(33, crl) + bytes(12)
    assert load_serialized_store(data) == [(der, {})]

"""crypt32 store behaviours beyond the basics, each against the Wine conformance test that
records Windows' answer (dlls/crypt32/tests/store.c and cert.c; the ok() checks used are
neither todo_wine nor broken(), i.e. Windows). Wine's blobs (bigCert...) are not
certificates winpki's parser accepts (see test_certs.py), so real certificates stand in."""

from __future__ import annotations

import base64

import pytest
from asn1crypto import cms
from cryptography import x509
from helpers_certs import make_cert, name

from capi import constants as C
from capi.crypt32.cert import (
    CertCreateCertificateContext,
    CertGetCertificateContextProperty,
    CertSetCertificateContextProperty,
)
from capi.crypt32.store import (
    CertAddCertificateContextToStore,
    CertAddCertificateLinkToStore,
    CertAddEncodedCertificateToStore,
    CertAddStoreToCollection,
    CertCloseStore,
    CertControlStore,
    CertDeleteCertificateFromStore,
    CertEnumCertificatesInStore,
    CertEnumSystemStore,
    CertGetStoreProperty,
    CertOpenStore,
    CertRegisterSystemStore,
    CertSaveStore,
    CertSerializeCertificateStoreElement,
    CertSetStoreProperty,
    CertUnregisterSystemStore,
)
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_EXISTS,
    CRYPT_E_INVALID_MSG_TYPE,
    CRYPT_E_NOT_FOUND,
    E_INVALIDARG,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_FILE_EXISTS,
    ERROR_FILE_NOT_FOUND,
)
from capi.formats.serialized import save_pkcs7
from capi.testing import raises_hresult

X509 = C.X509_ASN_ENCODING


@pytest.fixture(scope="module")
def ders():
    return [make_cert(subject=name(cn)) for cn in ("one", "two", "three")]


def _mem():
    return CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, C.CERT_STORE_CREATE_NEW_FLAG, None)


def _count(store):
    n, ctx = 0, CertEnumCertificatesInStore(store, None)
    while ctx is not None:
        n += 1
        ctx = CertEnumCertificatesInStore(store, ctx)
    return n


# ---------------------------------------------------------------------------------------
# Collections, file stores, PKCS#7
# ---------------------------------------------------------------------------------------


def test_add_null_sibling_to_collection(ders):
    # store.c testCollectionStore: CertAddStoreToCollection(collection, 0, ADD_ENABLE) succeeds
    coll = CertOpenStore(C.CERT_STORE_PROV_COLLECTION, 0, None, C.CERT_STORE_CREATE_NEW_FLAG, None)
    assert CertAddStoreToCollection(coll, None, C.CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 0) is True
    assert _count(coll) == 0
    # store.c testCollectionStore: an empty collection commits; one with a memory member does not
    assert CertControlStore(coll, 0, C.CERT_STORE_CTRL_COMMIT) is True
    mem = _mem()
    CertAddStoreToCollection(coll, mem, 0, 0)
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertControlStore(coll, 0, C.CERT_STORE_CTRL_COMMIT)


def test_read_only_file_store_keeps_adds_in_memory(tmp_path, ders):
    # store.c testFileStore: a "read-only" FILE store accepts the add, refuses the commit
    # with ERROR_CALL_NOT_IMPLEMENTED, still enumerates the certificate, file size stays 0
    path = tmp_path / "empty.sst"
    path.write_bytes(b"")
    with open(path, "r+b") as fh:
        store = CertOpenStore(C.CERT_STORE_PROV_FILE, 0, None,
                              C.CERT_STORE_OPEN_EXISTING_FLAG | C.CERT_STORE_READONLY_FLAG, fh)
        ctx = CertAddEncodedCertificateToStore(store, X509, ders[0], C.CERT_STORE_ADD_ALWAYS)
        assert ctx.pbCertEncoded == ders[0]
        with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
            CertControlStore(store, 0, C.CERT_STORE_CTRL_COMMIT)
        assert _count(store) == 1
        CertCloseStore(store)
    assert path.stat().st_size == 0


def test_file_store_commit_enable_writes(tmp_path, ders):
    # store.c testFileStore: with CERT_FILE_STORE_COMMIT_ENABLE_FLAG the commit is allowed
    path = tmp_path / "c.sst"
    path.write_bytes(b"")
    with open(path, "r+b") as fh:
        store = CertOpenStore(C.CERT_STORE_PROV_FILE, 0, None, C.CERT_FILE_STORE_COMMIT_ENABLE_FLAG, fh)
        CertAddEncodedCertificateToStore(store, X509, ders[0], C.CERT_STORE_ADD_ALWAYS)
        assert CertControlStore(store, 0, C.CERT_STORE_CTRL_COMMIT) is True
        assert path.read_bytes() == CertSaveStore(store, 0, C.CERT_STORE_SAVE_AS_STORE,
                                                  C.CERT_STORE_SAVE_TO_MEMORY, None)
        CertCloseStore(store)


def _pkcs7(ders):
    return save_pkcs7(x509.load_der_x509_certificate(d) for d in ders)


@pytest.mark.parametrize("utf16", [False, True])
def test_base64_pkcs7_file_ending_in_nul(tmp_path, ders, utf16):
    # store.c testFileNameStore: base64SPC / utf16Base64SPC are written with their C
    # terminator (sizeof includes it) and open read-only with one certificate
    text = base64.b64encode(_pkcs7(ders[:1])).decode()
    data = (text.encode("utf-16-le") + b"\0\0") if utf16 else (text.encode() + b"\0")
    path = tmp_path / "cert.spc"
    path.write_bytes(data)
    store = CertOpenStore(C.CERT_STORE_PROV_FILENAME_W, 0, None, C.CERT_STORE_READONLY_FLAG, str(path))
    ctx = CertEnumCertificatesInStore(store, None)
    assert ctx is not None and ctx.pbCertEncoded == ders[0]
    assert CertEnumCertificatesInStore(store, ctx) is None


def test_pkcs7_store_from_bare_signed_data(ders):
    # store.c testMessageStore: CERT_STORE_PROV_PKCS7 opens signedWithCertAndCrlBareContent
    # (a SignedData without its ContentInfo) with its certificate
    bare = cms.ContentInfo.load(_pkcs7(ders[:2]))["content"].untag().dump(force=True)
    assert bare[:1] == b"\x30"
    store = CertOpenStore(C.CERT_STORE_PROV_PKCS7, 0, None, 0, bare)
    assert _count(store) == 2
    # "Encoding appears to be ignored"
    assert _count(CertOpenStore(C.CERT_STORE_PROV_PKCS7, X509, None, 0, bare)) == 2


# store.c hashContent / hashBareContent: a DigestedData as ContentInfo and bare
HASH_BARE = bytes.fromhex(
    "3038020100300c06082a864886f70d02050500301306092a864886f70d010701a0060404010203040410"
    "08d6c05a21512a79a1dfeb9d2a8f262f")
HASH_CONTENT = bytes.fromhex("304706092a864886f70d010705a03a") + HASH_BARE


def test_pkcs7_store_refuses_other_messages():
    # store.c testMessageStore: other message types -> CRYPT_E_INVALID_MSG_TYPE; bare
    # DigestedData -> CRYPT_E_ASN1_BADTAG
    with raises_hresult(CRYPT_E_INVALID_MSG_TYPE):
        CertOpenStore(C.CERT_STORE_PROV_PKCS7, 0, None, 0, HASH_CONTENT)
    with raises_hresult(CRYPT_E_ASN1_BADTAG):
        CertOpenStore(C.CERT_STORE_PROV_PKCS7, 0, None, 0, HASH_BARE)


# ---------------------------------------------------------------------------------------
# CertEnumSystemStore, store properties, registration
# ---------------------------------------------------------------------------------------


def test_enum_system_store_zero_location_and_stop(machine):
    # store.c testCertEnumSystemStore: location 0 -> ERROR_FILE_NOT_FOUND; a callback
    # returning FALSE stops after one store and the function returns FALSE
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertEnumSystemStore(0, None, None, None)
    seen = []
    assert CertEnumSystemStore(C.CERT_SYSTEM_STORE_LOCAL_MACHINE, None, None,
                               lambda *a: seen.append(a[0]) and False) is False
    assert len(seen) == 1
    seen.clear()
    assert CertEnumSystemStore(C.CERT_SYSTEM_STORE_LOCAL_MACHINE, None, None,
                               lambda *a: seen.append(a[0]) or True) is True
    # "There should always be at least My, Root, and CA stores"
    assert {"My", "Root", "CA"} <= set(seen)


def test_store_properties_memory(machine):
    # store.c testStoreProperty
    store = _mem()
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetStoreProperty(store, 0)
    assert CertGetStoreProperty(store, C.CERT_ACCESS_STATE_PROP_ID) == 0   # not persisted
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetStoreProperty(store, C.CERT_STORE_LOCALIZED_NAME_PROP_ID)
    assert CertSetStoreProperty(store, C.CERT_FIRST_USER_PROP_ID, 0, None) is True  # delete absent
    value = (0x12345678).to_bytes(4, "little")
    assert CertSetStoreProperty(store, C.CERT_FIRST_USER_PROP_ID, 0, value) is True
    assert CertGetStoreProperty(store, C.CERT_FIRST_USER_PROP_ID) == value
    assert CertSetStoreProperty(store, C.CERT_FIRST_USER_PROP_ID, 0, None) is True
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetStoreProperty(store, C.CERT_FIRST_USER_PROP_ID)
    # a localized name set by the caller reads back as text
    CertSetStoreProperty(store, C.CERT_STORE_LOCALIZED_NAME_PROP_ID, 0, "Personal")
    assert CertGetStoreProperty(store, C.CERT_STORE_LOCALIZED_NAME_PROP_ID) == "Personal"
    with raises_hresult(E_INVALIDARG):
        CertSetStoreProperty(store, 0, 0, b"x")


def test_store_properties_system_store(machine):
    # store.c testStoreProperty: CertOpenSystemStore "My" is persisted; no localized name
    store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_W, 0, None, C.CERT_SYSTEM_STORE_CURRENT_USER, "My")
    assert CertGetStoreProperty(store, C.CERT_ACCESS_STATE_PROP_ID) & \
        C.CERT_ACCESS_STATE_WRITE_PERSIST_FLAG
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetStoreProperty(store, C.CERT_STORE_LOCALIZED_NAME_PROP_ID)


@pytest.mark.parametrize("location", [C.CERT_SYSTEM_STORE_CURRENT_USER,
                                      C.CERT_SYSTEM_STORE_LOCAL_MACHINE])
def test_register_system_store(machine, ders, location):
    # store.c testCertRegisterSystemStore: register, open existing, add ADD_NEW, enumerate,
    # delete, close, unregister -- each succeeds
    assert CertRegisterSystemStore("WineTest", location) is True
    store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_W, 0, None,
                          C.CERT_STORE_OPEN_EXISTING_FLAG | location, "WineTest")
    cert = CertCreateCertificateContext(X509, ders[0])
    CertAddCertificateContextToStore(store, cert, C.CERT_STORE_ADD_NEW)
    cert2 = CertEnumCertificatesInStore(store, None)
    assert cert2 is not None and cert2.cbCertEncoded == cert.cbCertEncoded
    assert CertDeleteCertificateFromStore(cert2)
    assert CertCloseStore(store)
    assert "WineTest" in CertEnumSystemStore(location)
    assert CertUnregisterSystemStore("WineTest", location) is True
    assert "WineTest" not in CertEnumSystemStore(location)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(C.CERT_STORE_PROV_SYSTEM_W, 0, None,
                      C.CERT_STORE_OPEN_EXISTING_FLAG | location, "WineTest")


def test_register_system_store_errors(machine):
    # CertRegisterSystemStore (Microsoft docs): CERT_STORE_CREATE_NEW_FLAG fails for a
    # store that exists -- CertOpenStore's ERROR_FILE_EXISTS (store.c testSystemStore)
    CertRegisterSystemStore("Twice", C.CERT_SYSTEM_STORE_CURRENT_USER)
    assert CertRegisterSystemStore("Twice", C.CERT_SYSTEM_STORE_CURRENT_USER) is True
    with raises_hresult(ERROR_FILE_EXISTS):
        CertRegisterSystemStore("Twice", C.CERT_SYSTEM_STORE_CURRENT_USER | C.CERT_STORE_CREATE_NEW_FLAG)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertUnregisterSystemStore("NeverThere", C.CERT_SYSTEM_STORE_CURRENT_USER)
    with raises_hresult(E_INVALIDARG):
        CertRegisterSystemStore("", C.CERT_SYSTEM_STORE_CURRENT_USER)


# ---------------------------------------------------------------------------------------
# Adding: created contexts, hash property, links
# ---------------------------------------------------------------------------------------


def test_add_new_created_context_and_its_store_copy(ders):
    # cert.c testDupCert: ADD_NEW of a created context gives a new context of the store
    # with its own CERT_INFO; adding that one to a second store does the same; created
    # contexts share one store
    context = CertCreateCertificateContext(X509, ders[0])
    store, store2 = _mem(), _mem()
    stored = CertAddCertificateContextToStore(store, context, C.CERT_STORE_ADD_NEW)
    assert stored is not context and stored.hCertStore is store
    assert stored.cbCertEncoded == context.cbCertEncoded
    assert stored.pCertInfo is not context.pCertInfo
    stored2 = CertAddCertificateContextToStore(store2, stored, C.CERT_STORE_ADD_NEW)
    assert stored2 is not stored and stored2.hCertStore is store2
    assert stored2.pCertInfo is not stored.pCertInfo
    other = CertCreateCertificateContext(X509, ders[1])
    assert other.hCertStore is context.hCertStore
    # the store now holding it refuses a second ADD_NEW (cert.c testAddCert)
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddCertificateContextToStore(store, context, C.CERT_STORE_ADD_NEW)


def test_duplicate_detection_uses_hash_property(ders):
    # cert.c testAddCert: a context whose CERT_HASH_PROP_ID is set to the hash of a
    # certificate already in the store is refused by ADD_NEW
    store = _mem()
    CertAddEncodedCertificateToStore(store, X509, ders[1], C.CERT_STORE_ADD_ALWAYS)
    ctx = CertAddEncodedCertificateToStore(store, X509, ders[2], C.CERT_STORE_ADD_NEW)
    two_hash = CertCreateCertificateContext(X509, ders[1]).sha1
    CertDeleteCertificateFromStore(ctx)
    ctx = CertCreateCertificateContext(X509, ders[2])
    CertSetCertificateContextProperty(ctx, C.CERT_HASH_PROP_ID, 0, two_hash)
    with pytest.raises(Exception) as info:
        CertAddCertificateContextToStore(store, ctx, C.CERT_STORE_ADD_NEW)
    assert getattr(info.value, "hresult", None) is not None  # a WinError, not a crash
    assert _count(store) == 1
    # and a context with its real hash adds
    fresh = CertCreateCertificateContext(X509, ders[2])
    CertAddCertificateContextToStore(store, fresh, C.CERT_STORE_ADD_NEW)
    assert _count(store) == 2


def test_link_shares_the_source(ders):
    # cert.c testLinkCert: the link is a new context of the store sharing the source's
    # encoding and CERT_INFO
    context = CertCreateCertificateContext(X509, ders[0])
    store = _mem()
    link = CertAddCertificateLinkToStore(store, context, C.CERT_STORE_ADD_NEW)
    assert link is not context and link.hCertStore is store
    assert link.pbCertEncoded is context.pbCertEncoded
    assert link.pCertInfo is context.pCertInfo
    # store.c testAddCertificateLink: serialized like the source; a friendly name set on
    # the source shows through the link
    assert CertSerializeCertificateStoreElement(link) == CertSerializeCertificateStoreElement(context)
    CertSetCertificateContextProperty(context, C.CERT_FRIENDLY_NAME_PROP_ID, 0, "WineTest")
    assert CertGetCertificateContextProperty(link, C.CERT_FRIENDLY_NAME_PROP_ID) == "WineTest"
    assert _count(store) == 1
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddCertificateLinkToStore(store, context, C.CERT_STORE_ADD_NEW)
    assert CertDeleteCertificateFromStore(link)
    assert _count(store) == 0


def test_link_errors_and_file_store(tmp_path, machine, ders):
    # store.c testAddCertificateLink: disposition 0 -> E_INVALIDARG (NULL context or not);
    # a system store (a collection) -> E_INVALIDARG
    store = _mem()
    source = CertCreateCertificateContext(X509, ders[0])
    with raises_hresult(E_INVALIDARG):
        CertAddCertificateLinkToStore(store, None, 0)
    with raises_hresult(E_INVALIDARG):
        CertAddCertificateLinkToStore(store, source, 0)
    assert CertAddCertificateLinkToStore(store, source, C.CERT_STORE_ADD_ALWAYS) is not None
    my = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_W, 0, None, C.CERT_SYSTEM_STORE_CURRENT_USER, "My")
    with raises_hresult(E_INVALIDARG):
        CertAddCertificateLinkToStore(my, source, C.CERT_STORE_ADD_ALWAYS)
    # a link in a file store commits with the source's properties
    path = tmp_path / "links.sst"
    path.write_bytes(b"")
    CertSetCertificateContextProperty(source, C.CERT_FRIENDLY_NAME_PROP_ID, 0, "WineTest")
    with open(path, "r+b") as fh:
        fstore = CertOpenStore(C.CERT_STORE_PROV_FILE, 0, None, C.CERT_FILE_STORE_COMMIT_ENABLE_FLAG, fh)
        linked = CertAddCertificateLinkToStore(fstore, source, C.CERT_STORE_ADD_ALWAYS)
        assert linked.hCertStore is fstore
        assert CertControlStore(fstore, 0, C.CERT_STORE_CTRL_COMMIT)
        CertCloseStore(fstore)
    reread = CertOpenStore(C.CERT_STORE_PROV_FILENAME_W, 0, None, C.CERT_STORE_READONLY_FLAG, str(path))
    ctx = CertEnumCertificatesInStore(reread, None)
    assert ctx.pbCertEncoded == ders[0]
    assert CertGetCertificateContextProperty(ctx, C.CERT_FRIENDLY_NAME_PROP_ID) == "WineTest"
    # a registry store keeps a copy (store.c: link into a SYSTEM_REGISTRY store succeeds)
    reg = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, None,
                        C.CERT_SYSTEM_STORE_CURRENT_USER, "WineTest")
    linked = CertAddCertificateLinkToStore(reg, source, C.CERT_STORE_ADD_ALWAYS)
    assert linked.hCertStore is reg
    assert CertDeleteCertificateFromStore(linked)


# ---------------------------------------------------------------------------------------
# CertControlStore
# ---------------------------------------------------------------------------------------


def test_control_store_collection_commits_its_file_member(tmp_path, ders):
    # store.c testCollectionStore: a file store (COMMIT_ENABLE) in a collection; an add to
    # the collection then CERT_STORE_CTRL_COMMIT on the collection writes the file
    path = tmp_path / "coll.sst"
    path.write_bytes(b"")
    coll = CertOpenStore(C.CERT_STORE_PROV_COLLECTION, 0, None, C.CERT_STORE_CREATE_NEW_FLAG, None)
    with open(path, "r+b") as fh:
        fstore = CertOpenStore(C.CERT_STORE_PROV_FILE, 0, None, C.CERT_FILE_STORE_COMMIT_ENABLE_FLAG, fh)
        CertAddStoreToCollection(coll, fstore, C.CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 0)
        CertCloseStore(fstore)
        CertAddEncodedCertificateToStore(coll, X509, ders[0], C.CERT_STORE_ADD_ALWAYS)
        assert CertControlStore(coll, 0, C.CERT_STORE_CTRL_COMMIT) is True
        fh.flush()
    reread = CertOpenStore(C.CERT_STORE_PROV_FILENAME_W, 0, None, C.CERT_STORE_READONLY_FLAG, str(path))
    assert CertEnumCertificatesInStore(reread, None).pbCertEncoded == ders[0]


def test_control_store_registry_resync(machine, ders):
    # store.c testRegStore: COMMIT and RESYNC succeed on a registry store, and after RESYNC
    # the store shows what another handle wrote
    reg = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, None,
                        C.CERT_SYSTEM_STORE_CURRENT_USER, "ResyncTest")
    other = CertOpenStore(C.CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, None,
                          C.CERT_SYSTEM_STORE_CURRENT_USER, "ResyncTest")
    CertAddEncodedCertificateToStore(other, X509, ders[1], C.CERT_STORE_ADD_ALWAYS)
    assert CertControlStore(other, 0, C.CERT_STORE_CTRL_COMMIT) is True
    assert CertControlStore(reg, 0, C.CERT_STORE_CTRL_RESYNC) is True
    assert _count(reg) == 1
    assert CertControlStore(reg, 0, C.CERT_STORE_CTRL_AUTO_RESYNC) is True

"""Certificate stores: one contract suite run against every store kind, then the
behaviours specific to each kind (docs/windows-facts.md §2 #1–#31, #38–#40)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from helpers_certs import CLIENT_AUTH, SERVER_AUTH, make_cert, name

from capi import *
from capi.crypt32.store_kinds import RegistryStore
from capi.testing import last_error_is, raises_hresult

LM = CERT_SYSTEM_STORE_LOCAL_MACHINE
CU = CERT_SYSTEM_STORE_CURRENT_USER


# ---------------------------------------------------------------------------------------
# Store kinds
# ---------------------------------------------------------------------------------------


class Kind:
    """Opens a fresh store of one kind; ``reopen`` gives a new handle on the same data
    (for persisted kinds) or None."""

    persisted = False

    def __init__(self, machine, tmp_path):
        self.machine = machine
        self.tmp_path = tmp_path

    def open(self):
        raise NotImplementedError

    def reopen(self, store):
        return None


class MemoryKind(Kind):
    def open(self):
        return CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)


class SystemKind(Kind):
    persisted = True

    def __init__(self, machine, tmp_path, location):
        super().__init__(machine, tmp_path)
        self.location = location

    def open(self):
        return CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, self.location, "My")

    def reopen(self, store):
        CertCloseStore(store)
        return self.open()


class FileKind(Kind):
    persisted = True

    def open(self):
        self.path = self.tmp_path / "store.sst"
        return CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None,
                             CERT_FILE_STORE_COMMIT_ENABLE_FLAG, str(self.path))

    def reopen(self, store):
        CertCloseStore(store)
        return CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None,
                             CERT_FILE_STORE_COMMIT_ENABLE_FLAG, str(self.path))


class SerializedKind(Kind):
    def open(self):
        return CertOpenStore(CERT_STORE_PROV_SERIALIZED, 0, None, 0, b"")


class CollectionKind(Kind):
    def open(self):
        coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, None, 0, None)
        ro = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        rw = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        CertAddStoreToCollection(coll, ro, 0, 10)
        CertAddStoreToCollection(coll, rw, CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 0)
        CertCloseStore(ro)
        CertCloseStore(rw)
        return coll


KINDS = {
    "memory": MemoryKind,
    "system-lm": lambda m, t: SystemKind(m, t, LM),
    "system-cu": lambda m, t: SystemKind(m, t, CU),
    "file": FileKind,
    "serialized": SerializedKind,
    "collection": CollectionKind,
}


@pytest.fixture(params=list(KINDS))
def kind(request, machine, tmp_path):
    return KINDS[request.param](machine, tmp_path)


@pytest.fixture
def certs():
    return [make_cert(f"host{i}.contoso.com",
                      subject=name(f"host{i}.contoso.com", o="Contoso", c="US"),
                      eku=(SERVER_AUTH,) if i % 2 == 0 else ()) for i in range(3)]


def enum_all(store):
    out, ctx = [], CertEnumCertificatesInStore(store, None)
    while ctx is not None:
        out.append(ctx)
        ctx = CertEnumCertificatesInStore(store, CertDuplicateCertificateContext(ctx))
    return out


# ---------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------


def test_add_and_enumerate(kind, certs):
    store = kind.open()
    for der in certs:
        added = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        # An add returns a context owned by the target store (Wine cert.c testDupCert).
        assert added.hCertStore is store and added.pbCertEncoded == der
    got = enum_all(store)
    assert sorted(c.pbCertEncoded for c in got) == sorted(certs)
    assert all(c.hCertStore is store for c in got)
    # The end of the enumeration: NULL with CRYPT_E_NOT_FOUND.
    assert CertEnumCertificatesInStore(store, got[-1]) is None
    assert last_error_is(CRYPT_E_NOT_FOUND)
    assert len(store) == 3


def test_duplicates_by_sha1(kind, certs):
    # Windows (Wine cert.c testAddCert): ADD_NEW of a present certificate ->
    # CRYPT_E_EXISTS; USE_EXISTING returns the existing one; one with the same name but
    # other bytes is a different certificate.
    store = kind.open()
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], CERT_STORE_ADD_NEW)
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], CERT_STORE_ADD_NEW)
    assert last_error_is(CRYPT_E_EXISTS)
    same = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0],
                                            CERT_STORE_ADD_USE_EXISTING)
    assert same.pbCertEncoded == certs[0]
    twin = make_cert("host0.contoso.com", subject=name("host0.contoso.com", o="Contoso", c="US"))
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, twin, CERT_STORE_ADD_NEW)
    assert len(enum_all(store)) == 2
    # NEWER with an identical certificate: its NotBefore is not later -> CRYPT_E_EXISTS.
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, twin, CERT_STORE_ADD_NEWER)


def test_bad_disposition_and_bad_der_change_nothing(kind, certs):
    # Windows (Wine cert.c testAddCert): disposition 0 -> E_INVALIDARG;
    # (Wine store.c testMemStore): "30 00" -> CRYPT_E_ASN1_EOD.
    store = kind.open()
    with raises_hresult(E_INVALIDARG):
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], 0)
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, b"\x30\x00", CERT_STORE_ADD_ALWAYS)
    assert enum_all(store) == []


def test_replace_existing_and_inherit(kind, certs):
    store = kind.open()
    first = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], CERT_STORE_ADD_NEW)
    CertSetCertificateContextProperty(first, CERT_FRIENDLY_NAME_PROP_ID, 0, "old")
    src = CertCreateCertificateContext(X509_ASN_ENCODING, certs[0])
    CertSetCertificateContextProperty(src, CERT_DESCRIPTION_PROP_ID, 0, "new")
    inh = CertAddCertificateContextToStore(store, src,
                                           CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES)
    assert CertGetCertificateContextProperty(inh, CERT_FRIENDLY_NAME_PROP_ID) == "old"
    assert CertGetCertificateContextProperty(inh, CERT_DESCRIPTION_PROP_ID) == "new"
    rep = CertAddCertificateContextToStore(store, src, CERT_STORE_ADD_REPLACE_EXISTING)
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(rep, CERT_FRIENDLY_NAME_PROP_ID)
    assert len(enum_all(store)) == 1


def test_find(kind, certs):
    store = kind.open()
    for der in certs:
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    sha1 = hashlib.sha1(certs[1]).digest()
    hit = CertFindCertificateInStore(store, X509_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH, sha1, None)
    assert hit.pbCertEncoded == certs[1] and hit.hCertStore is store
    assert CertFindCertificateInStore(store, X509_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH, sha1,
                                      hit) is None
    assert last_error_is(CRYPT_E_NOT_FOUND)
    spaced = " ".join(f"{b:02x}" for b in sha1)
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_HASH_STR, spaced, None).sha1 == sha1
    md5 = hashlib.md5(certs[2]).digest()
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_MD5_HASH, md5, None).pbCertEncoded \
        == certs[2]
    existing = CertCreateCertificateContext(X509_ASN_ENCODING, certs[0])
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_EXISTING, existing, None).sha1 == \
        existing.sha1
    # SUBJECT_STR: case-insensitive substring of the X.500 string; NULL matches all.
    found, ctx = [], None
    while (ctx := CertFindCertificateInStore(store, 1, 0, CERT_FIND_SUBJECT_STR, "HOST", ctx)):
        found.append(ctx.pbCertEncoded)
    assert sorted(found) == sorted(certs)
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_SUBJECT_STR, "host1.", None) \
        .pbCertEncoded == certs[1]
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_ISSUER_STR, "nobody", None) is None
    assert last_error_is(CRYPT_E_NOT_FOUND)
    subj = CertCreateCertificateContext(1, certs[2]).pCertInfo.Subject
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_SUBJECT_NAME, subj, None) \
        .pbCertEncoded == certs[2]
    eku = []
    ctx = None
    while (ctx := CertFindCertificateInStore(store, 1, 0, CERT_FIND_ENHKEY_USAGE,
                                             [SERVER_AUTH], ctx)):
        eku.append(ctx.pbCertEncoded)
    assert sorted(eku) == sorted([certs[0], certs[2]])


def test_delete(kind, certs):
    store = kind.open()
    ctx = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], CERT_STORE_ADD_NEW)
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[1], CERT_STORE_ADD_NEW)
    dup = CertDuplicateCertificateContext(ctx)
    assert CertDeleteCertificateFromStore(ctx)
    # Windows (Wine store.c testMemStore): deleting a duplicate of a deleted context: TRUE.
    assert CertDeleteCertificateFromStore(dup)
    assert [c.pbCertEncoded for c in enum_all(store)] == [certs[1]]
    again = kind.reopen(store)
    if again is not None:
        assert [c.pbCertEncoded for c in enum_all(again)] == [certs[1]]


def test_properties_copied_and_written_through(kind, certs):
    store = kind.open()
    src = CertCreateCertificateContext(X509_ASN_ENCODING, certs[0])
    CertSetCertificateContextProperty(src, CERT_FRIENDLY_NAME_PROP_ID, 0, "Web")
    added = CertAddCertificateContextToStore(store, src, CERT_STORE_ADD_NEW)
    assert CertGetCertificateContextProperty(added, CERT_FRIENDLY_NAME_PROP_ID) == "Web"
    # Windows (Wine cert.c testKeyProvInfo): KEY_PROV_INFO with parameters round-trips
    # through a persisted store across close and reopen.
    info = CRYPT_KEY_PROV_INFO("container", MS_ENHANCED_PROV, PROV_RSA_FULL, CRYPT_MACHINE_KEYSET,
                               AT_KEYEXCHANGE, (CRYPT_KEY_PROV_PARAM(1, b"\x01\x02\x03", 0),))
    CertSetCertificateContextProperty(added, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    again = kind.reopen(store)
    if again is not None:
        ctx = CertFindCertificateInStore(again, 1, 0, CERT_FIND_SHA1_HASH, src.sha1, None)
        assert CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID) == info
        assert CertGetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID) == "Web"


def test_serialize_and_save(kind, certs):
    store = kind.open()
    ctx = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, certs[0], CERT_STORE_ADD_NEW)
    el = CertSerializeCertificateStoreElement(ctx, 0)
    assert el.endswith(certs[0]) and el[-len(certs[0]) - 12:][:4] == b"\x20\0\0\0"
    sst = CertSaveStore(store, 1, CERT_STORE_SAVE_AS_STORE, CERT_STORE_SAVE_TO_MEMORY, None)
    copy = CertOpenStore(CERT_STORE_PROV_SERIALIZED, 0, None, 0, sst)
    assert [c.pbCertEncoded for c in enum_all(copy)] == [certs[0]]
    p7 = CertSaveStore(store, 1, CERT_STORE_SAVE_AS_PKCS7, CERT_STORE_SAVE_TO_MEMORY, None)
    p7store = CertOpenStore(CERT_STORE_PROV_PKCS7, 0x10001, None, 0, p7)
    assert [c.pbCertEncoded for c in enum_all(p7store)] == [certs[0]]
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CertSaveStore(store, 1, 99, CERT_STORE_SAVE_TO_MEMORY, None)


def test_context_manager_and_iteration(kind, certs):
    with kind.open() as store:
        CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
        assert [c.pbCertEncoded for c in store] == [certs[0]]
    assert store._closed


# ---------------------------------------------------------------------------------------
# Providers and handles
# ---------------------------------------------------------------------------------------


def test_provider_by_name_and_null_provider(machine):
    # Windows (Wine store.c testMemStore): a NULL provider -> ERROR_FILE_NOT_FOUND.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(None, 0, None, 0, None)
    assert last_error_is(ERROR_FILE_NOT_FOUND)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore("NoSuchProvider", 0, None, 0, None)
    assert isinstance(CertOpenStore("memory", 0, None, 0, None), MemoryStore)
    assert isinstance(CertOpenStore("COLLECTION", 0, None, 0, None), CollectionStore)
    assert isinstance(CertOpenStore("System", 0, None, LM, "My"), SystemStore)
    assert isinstance(CertOpenStore("SystemRegistry", 0, None, LM, "My"), RegistryStore)


def test_memory_store_rules(certs):
    # Windows (Wine store.c testMemStore): DELETE_FLAG -> ERROR_CALL_NOT_IMPLEMENTED;
    # OPEN_EXISTING gives a new empty store; READONLY still accepts adds; newest first.
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, CERT_STORE_DELETE_FLAG, None)
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertOpenStore(CERT_STORE_PROV_SERIALIZED, 0, None, CERT_STORE_DELETE_FLAG, b"")
    assert enum_all(CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None,
                                  CERT_STORE_OPEN_EXISTING_FLAG, None)) == []
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, CERT_STORE_READONLY_FLAG, None)
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCertificateToStore(store, 1, certs[1], CERT_STORE_ADD_ALWAYS)
    assert [c.pbCertEncoded for c in enum_all(store)] == [certs[1], certs[0]]
    # ADD_ALWAYS keeps both copies of the same certificate.
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_ALWAYS)
    assert [c.pbCertEncoded for c in enum_all(store)] == [certs[0], certs[1], certs[0]]


def test_add_always_to_null_store(certs):
    # Windows (Wine cert.c testAddCert): ADD_ALWAYS into a NULL store succeeds.
    src = CertCreateCertificateContext(1, certs[0])
    copy = CertAddCertificateContextToStore(None, src, CERT_STORE_ADD_ALWAYS)
    assert copy is not src and copy.pbCertEncoded == certs[0]


def test_created_context_store(certs):
    # Windows (Wine cert.c testCreateCert): the store of a created context enumerates
    # nothing and closing it -> E_UNEXPECTED.
    ctx = CertCreateCertificateContext(1, certs[0])
    assert ctx.hCertStore is not None
    assert CertEnumCertificatesInStore(ctx.hCertStore, None) is None
    with raises_hresult(E_UNEXPECTED):
        CertCloseStore(ctx.hCertStore, 0)
    # CertCloseStore(NULL) -> TRUE (Wine store.c testMemStore).
    assert CertCloseStore(None, 0) is True


def test_close_check_flag(certs):
    # Windows (Wine store.c testCloseStore): CHECK_FLAG -> CRYPT_E_PENDING_CLOSE while a
    # duplicated handle or a context is alive.
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    dup = CertDuplicateStore(store)
    with raises_hresult(CRYPT_E_PENDING_CLOSE):
        CertCloseStore(store, CERT_CLOSE_STORE_CHECK_FLAG)
    assert CertCloseStore(dup, CERT_CLOSE_STORE_CHECK_FLAG)
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    ctx = CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    with raises_hresult(CRYPT_E_PENDING_CLOSE):
        CertCloseStore(store, CERT_CLOSE_STORE_CHECK_FLAG)
    CertFreeCertificateContext(ctx)
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    ctx = CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    CertFreeCertificateContext(ctx)
    assert CertCloseStore(store, CERT_CLOSE_STORE_CHECK_FLAG)


# ---------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------


def test_collection_add_rules(certs):
    coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, None, 0, None)
    # Windows (Wine store.c testCollectionStore): adding to an empty collection, or one
    # with no add-enabled member -> E_ACCESSDENIED.
    with raises_hresult(E_ACCESSDENIED):
        CertAddEncodedCertificateToStore(coll, 1, certs[0], CERT_STORE_ADD_ALWAYS)
    member = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(member, 1, certs[0], CERT_STORE_ADD_NEW)
    CertAddStoreToCollection(coll, member, 0, 0)
    with raises_hresult(E_ACCESSDENIED):
        CertAddEncodedCertificateToStore(coll, 1, certs[1], CERT_STORE_ADD_ALWAYS)
    # Windows (Wine cert.c testAddCert): only member not add-enabled: ADD_NEW of an
    # existing certificate -> CRYPT_E_EXISTS, REPLACE_EXISTING and USE_EXISTING succeed,
    # ADD_ALWAYS -> E_ACCESSDENIED.
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddEncodedCertificateToStore(coll, 1, certs[0], CERT_STORE_ADD_NEW)
    assert CertAddEncodedCertificateToStore(coll, 1, certs[0], CERT_STORE_ADD_REPLACE_EXISTING)
    assert CertAddEncodedCertificateToStore(coll, 1, certs[0], CERT_STORE_ADD_USE_EXISTING) \
        .pbCertEncoded == certs[0]
    with raises_hresult(E_ACCESSDENIED):
        CertAddEncodedCertificateToStore(coll, 1, certs[0], CERT_STORE_ADD_ALWAYS)


def test_collection_enumeration(certs):
    coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, None, 0, None)
    low = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    high = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(low, 1, certs[0], CERT_STORE_ADD_NEW)
    CertAddEncodedCertificateToStore(low, 1, certs[1], CERT_STORE_ADD_NEW)
    CertAddEncodedCertificateToStore(high, 1, certs[1], CERT_STORE_ADD_NEW)
    CertAddStoreToCollection(coll, low, CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 0)
    CertAddStoreToCollection(coll, high, 0, 1)
    # Windows (Wine store.c testCollectionStore, testStoresInCollection): the same
    # certificate in two members is listed twice, the higher-priority member first,
    # contexts report the collection; closing a member keeps its certificates visible.
    CertCloseStore(low)
    got = enum_all(coll)
    assert [c.pbCertEncoded for c in got] == [certs[1], certs[1], certs[0]]
    assert all(c.hCertStore is coll for c in got)
    # Adds go to the add-enabled member even though the other has the higher priority.
    CertAddEncodedCertificateToStore(coll, 1, certs[2], CERT_STORE_ADD_NEW)
    assert CertFindCertificateInStore(high, 1, 0, CERT_FIND_SHA1_HASH,
                                      hashlib.sha1(certs[2]).digest(), None) is None


def test_add_store_to_non_collection(machine):
    # Windows (Wine store.c testCollectionStore, testSystemRegStore, testSystemStore):
    # -> E_INVALIDARG for a non-collection (a SYSTEM_REGISTRY store too); a PROV_SYSTEM
    # store is a collection.
    mem = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    with raises_hresult(E_INVALIDARG):
        CertAddStoreToCollection(mem, CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None))
    reg = CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU, "My")
    with raises_hresult(E_INVALIDARG):
        CertAddStoreToCollection(reg, mem)
    system = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "My")
    assert CertAddStoreToCollection(system, mem, 0, 0)


def test_collection_commit():
    # Windows (Wine store.c testCollectionStore): CTRL_COMMIT with a memory member ->
    # ERROR_CALL_NOT_IMPLEMENTED; on an empty collection TRUE.
    coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, None, 0, None)
    assert CertControlStore(coll, 0, CERT_STORE_CTRL_COMMIT, None)
    CertAddStoreToCollection(coll, CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None))
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertControlStore(coll, 0, CERT_STORE_CTRL_COMMIT, None)


# ---------------------------------------------------------------------------------------
# System stores
# ---------------------------------------------------------------------------------------


def test_system_registry_open_rules(machine):
    # Windows (Wine store.c testSystemRegStore): CU|OPEN_EXISTING "Bogus" ->
    # ERROR_FILE_NOT_FOUND; without OPEN_EXISTING it is created; NULL name or location
    # CU|LM -> E_INVALIDARG.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU | CERT_STORE_OPEN_EXISTING_FLAG,
                      "Bogus")
    assert CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU, "Bogus")
    assert CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None,
                         CU | CERT_STORE_OPEN_EXISTING_FLAG, "bogus").name == "Bogus"
    with raises_hresult(E_INVALIDARG):
        CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU, None)
    with raises_hresult(E_INVALIDARG):
        CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU | LM, "My")


def test_system_open_rules(machine):
    # Windows (Wine store.c testSystemStore): NULL name or location 0x30000 ->
    # ERROR_FILE_NOT_FOUND; CREATE_NEW on an existing store -> ERROR_FILE_EXISTS; an ANSI
    # name passed to the W provider -> ERROR_FILE_NOT_FOUND.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, None)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, 0x30000, "My")
    with raises_hresult(ERROR_FILE_EXISTS):
        CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU | CERT_STORE_CREATE_NEW_FLAG, "My")
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, None, CU, b"My")
    assert CertOpenStore(CERT_STORE_PROV_SYSTEM_A, 0, None, CU, b"My").name == "My"


def test_cert_open_system_store(machine):
    # Windows (Wine store.c testCertOpenSystemStore): NULL -> E_INVALIDARG; "Bogus" is
    # created under CurrentUser.
    with raises_hresult(E_INVALIDARG):
        CertOpenSystemStore(None, None)
    store = CertOpenSystemStore(None, "Bogus")
    assert store.location == "CurrentUser"
    assert "Bogus" in CertEnumSystemStore(CU)
    assert "Bogus" not in CertEnumSystemStore(LM)
    assert {"My", "Root", "CA", "Trust", "Disallowed", "TrustedPeople", "WebHosting"} <= \
        set(CertEnumSystemStore(LM))


def test_delete_system_store(machine, certs):
    # Windows (Wine store.c testRegStore): DELETE_FLAG returns NULL with last error 0.
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "Temp")
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    assert CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU | CERT_STORE_DELETE_FLAG,
                         "Temp") is None
    assert last_error_is(0)
    assert "Temp" not in CertEnumSystemStore(CU)


def test_store_names_case_insensitive(machine, certs):
    a = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "my")
    CertAddEncodedCertificateToStore(a, 1, certs[0], CERT_STORE_ADD_NEW)
    b = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "MY")
    assert b.name == "My" and len(enum_all(b)) == 1


def test_current_user_sees_local_machine_root(machine, certs):
    lm_root = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "Root")
    CertAddEncodedCertificateToStore(lm_root, 1, certs[0], CERT_STORE_ADD_NEW)
    lm_my = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "My")
    CertAddEncodedCertificateToStore(lm_my, 1, certs[1], CERT_STORE_ADD_NEW)
    cu_root = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "Root")
    assert [c.pbCertEncoded for c in enum_all(cu_root)] == [certs[0]]
    # CurrentUser\My has no .LocalMachine physical store; SYSTEM_REGISTRY is one store.
    assert enum_all(CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "My")) == []
    assert enum_all(CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CU, "Root")) == []
    # Adds to CurrentUser\Root go to the user's own physical store.
    CertAddEncodedCertificateToStore(cu_root, 1, certs[2], CERT_STORE_ADD_NEW)
    assert len(enum_all(lm_root)) == 1
    assert len(enum_all(cu_root)) == 2


def test_local_machine_writes_need_an_administrator(machine, certs):
    lm = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "My")
    ctx = CertAddEncodedCertificateToStore(lm, 1, certs[0], CERT_STORE_ADD_NEW)
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        # Windows: HKLM's certificate stores are writable by administrators only, so a
        # read-write open fails (.NET: X509Store.Open(ReadWrite) -> "Access is denied.");
        # CERT_STORE_MAXIMUM_ALLOWED_FLAG opens it read-only.
        with raises_hresult(ERROR_ACCESS_DENIED):
            CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "My")
        assert GetLastError() == ERROR_ACCESS_DENIED
        store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM | CERT_STORE_MAXIMUM_ALLOWED_FLAG,
                              "My")
        seen = enum_all(store)  # reading works
        assert [c.pbCertEncoded for c in seen] == [certs[0]]
        with raises_hresult(E_ACCESSDENIED):
            CertAddEncodedCertificateToStore(store, 1, certs[1], CERT_STORE_ADD_NEW)
        with raises_hresult(E_ACCESSDENIED):
            CertDeleteCertificateFromStore(seen[0])
        with raises_hresult(E_ACCESSDENIED):
            CertSetCertificateContextProperty(seen[0], CERT_FRIENDLY_NAME_PROP_ID, 0, "x")
        assert CertGetCertificateContextProperty(
            seen[0], CERT_ACCESS_STATE_PROP_ID) & CERT_ACCESS_STATE_WRITE_PERSIST_FLAG == 0
        # The user's own store is writable.
        mine = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "My")
        CertAddEncodedCertificateToStore(mine, 1, certs[1], CERT_STORE_ADD_NEW)
    state = CertGetCertificateContextProperty(ctx, CERT_ACCESS_STATE_PROP_ID)
    assert state == (CERT_ACCESS_STATE_WRITE_PERSIST_FLAG | CERT_ACCESS_STATE_SYSTEM_STORE_FLAG
                     | CERT_ACCESS_STATE_LM_SYSTEM_STORE_FLAG)
    # CurrentUser stores are per user: the administrator does not see NETWORK SERVICE's.
    assert enum_all(CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CU, "My")) == []


def test_readonly_system_store(machine, certs):
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM | CERT_STORE_READONLY_FLAG, "My")
    with raises_hresult(E_ACCESSDENIED):
        CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    assert enum_all(CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "My")) == []


def test_registry_rows_are_windows_blobs(machine, certs):
    # Windows (Wine store.c testRegStore): Certificates\<SHA1HEX>\Blob holds properties 3
    # and 32; after a resync a blob loads only if its hash equals the key name.
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, LM, "My")
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    key = hashlib.sha1(certs[0]).hexdigest().upper()
    (blob,) = machine.db.execute("SELECT blob FROM certs WHERE location='LocalMachine' AND "
                                 "store='My' AND sha1=?", (key,)).fetchone()
    sha1 = bytes.fromhex(key)
    assert blob == (bytes.fromhex("03000000 01000000 14000000") + sha1 +
                    bytes.fromhex("20000000 01000000") + len(certs[0]).to_bytes(4, "little") +
                    certs[0])
    bogus = bytes.fromhex("03000000 01000000 14000000") + b"\x99" * 20 + blob[32:]
    with machine.transaction() as db:
        db.execute("UPDATE certs SET blob=? WHERE sha1=?", (bogus, key))
    CertControlStore(store, 0, CERT_STORE_CTRL_RESYNC, None)
    assert enum_all(store) == []


def test_system_store_order_is_by_sha1(machine, certs):
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "CA")
    for der in certs:
        CertAddEncodedCertificateToStore(store, 1, der, CERT_STORE_ADD_NEW)
    assert [c.thumbprint for c in enum_all(store)] == \
        sorted(hashlib.sha1(d).hexdigest().upper() for d in certs)


def test_open_reads_nothing_and_sha1_find_is_one_indexed_query(machine, certs):
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM, "My")
    for der in certs:
        CertAddEncodedCertificateToStore(store, 1, der, CERT_STORE_ADD_NEW)
    statements: list[str] = []
    machine.db.set_trace_callback(statements.append)
    try:
        s = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, LM | CERT_STORE_OPEN_EXISTING_FLAG, "My")
        assert not [q for q in statements if "FROM certs" in q]
        statements.clear()
        hit = CertFindCertificateInStore(s, 1, 0, CERT_FIND_SHA1_HASH,
                                         hashlib.sha1(certs[1]).digest(), None)
    finally:
        machine.db.set_trace_callback(None)
    assert hit.pbCertEncoded == certs[1]
    queries = [q for q in statements if "FROM certs" in q]
    assert len(queries) == 1 and "sha1=" in queries[0]
    plan = machine.db.execute("EXPLAIN QUERY PLAN SELECT blob FROM certs WHERE location=? "
                              "AND store=? AND sha1=?", ("LocalMachine", "My", "X")).fetchall()
    assert any("PRIMARY KEY" in row[-1] for row in plan)
    assert hit._x509 is None  # nothing parsed


def test_enum_key_usage_flags(machine, certs):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    for der in certs:
        CertAddEncodedCertificateToStore(store, 1, der, CERT_STORE_ADD_NEW)

    def find_all(flags, para):
        out, ctx = [], None
        while (ctx := CertFindCertificateInStore(store, 1, flags, CERT_FIND_ENHKEY_USAGE, para,
                                                 ctx)):
            out.append(ctx.pbCertEncoded)
        return sorted(out)

    assert find_all(0, [CLIENT_AUTH]) == []
    assert find_all(CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG, [CLIENT_AUTH]) == [certs[1]]
    assert find_all(CERT_FIND_NO_ENHKEY_USAGE_FLAG, None) == [certs[1]]
    ctx = CertFindCertificateInStore(store, 1, 0, CERT_FIND_SHA1_HASH,
                                     hashlib.sha1(certs[1]).digest(), None)
    CertSetCertificateContextProperty(ctx, CERT_ENHKEY_USAGE_PROP_ID, 0, [CLIENT_AUTH])
    assert find_all(0, [CLIENT_AUTH]) == [certs[1]]


def test_find_subject_cert(certs):
    # Windows (Wine cert.c testFindCert): SUBJECT_CERT matches issuer + serial number; an
    # empty serial never matches.
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    for der in certs:
        CertAddEncodedCertificateToStore(store, 1, der, CERT_STORE_ADD_NEW)
    info = CertCreateCertificateContext(1, certs[2]).pCertInfo
    hit = CertFindCertificateInStore(store, 1, 0, CERT_FIND_SUBJECT_CERT, info, None)
    assert hit.pbCertEncoded == certs[2]
    import dataclasses

    empty = dataclasses.replace(info, SerialNumber=b"")
    assert CertFindCertificateInStore(store, 1, 0, CERT_FIND_SUBJECT_CERT, empty, None) is None


def test_open_system_store_object_model(machine, certs):
    store = open_system_store(machine, "LocalMachine", "my")
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    thumb = hashlib.sha1(certs[0]).hexdigest()
    assert find_by_thumbprint(store, " ".join(thumb[i:i + 2] for i in range(0, 40, 2))) \
        .pbCertEncoded == certs[0]
    assert find_by_thumbprint(store, "00" * 20) is None
    with pytest.raises(WinError):
        open_system_store(machine, "Elsewhere", "My")


# ---------------------------------------------------------------------------------------
# File stores
# ---------------------------------------------------------------------------------------


def test_file_store_commit(tmp_path, certs):
    # Windows (Wine store.c testFileStore): without COMMIT_ENABLE, CTRL_COMMIT ->
    # ERROR_CALL_NOT_IMPLEMENTED while adds succeed in memory and the file stays empty;
    # COMMIT_ENABLE|READONLY -> E_INVALIDARG; a committed store of one certificate is
    # cb + 32 bytes (156 for a 124-byte certificate).
    path = tmp_path / "empty.sst"
    path.write_bytes(b"")
    store = CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, str(path))
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertControlStore(store, 0, CERT_STORE_CTRL_COMMIT, None)
    CertCloseStore(store)
    assert path.read_bytes() == b""
    with raises_hresult(E_INVALIDARG):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None,
                      CERT_FILE_STORE_COMMIT_ENABLE_FLAG | CERT_STORE_READONLY_FLAG, str(path))
    store = CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
                          str(path))
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    CertCloseStore(store)
    data = path.read_bytes()
    assert len(data) == len(certs[0]) + 32 and data.startswith(b"\0\0\0\0CERT")


def test_file_store_formats(tmp_path, certs):
    # Windows (Wine store.c testFileNameStore): raw DER, a serialized store, base64
    # PKCS#7 in ANSI or UTF-16 each open with one certificate.
    p7 = CertSaveStore(CertOpenStore(CERT_STORE_PROV_PKCS7, 0x10001, None, 0, _p7(certs[0])), 1,
                       CERT_STORE_SAVE_AS_PKCS7, CERT_STORE_SAVE_TO_MEMORY, None)
    pem_cert = (b"-----BEGIN CERTIFICATE-----\r\n" + base64.encodebytes(certs[0]) +
                b"-----END CERTIFICATE-----\r\n")
    b64_p7 = base64.b64encode(p7)
    sst = b"\0\0\0\0CERT" + (32).to_bytes(4, "little") + (1).to_bytes(4, "little") + \
        len(certs[0]).to_bytes(4, "little") + certs[0] + bytes(12)
    for fname, content in [("a.cer", certs[0]), ("b.pem", pem_cert), ("c.sst", sst),
                           ("d.p7b", p7), ("e.txt", b64_p7),
                           ("f.txt", b64_p7.decode().encode("utf-16"))]:
        path = tmp_path / fname
        path.write_bytes(content)
        store = CertOpenStore("File", 0, None, 0, str(path))
        assert [c.pbCertEncoded for c in enum_all(store)] == [certs[0]], fname


def _p7(der):
    from capi.formats.serialized import save_pkcs7

    return save_pkcs7([CertCreateCertificateContext(1, der).x509])


def test_file_store_errors(tmp_path, certs):
    # Windows (Wine store.c testFileNameStore): NULL name -> ERROR_PATH_NOT_FOUND.
    with raises_hresult(ERROR_PATH_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, None)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, str(tmp_path / "missing.sst"))
    truncated = tmp_path / "t.sst"
    good = b"\0\0\0\0CERT" + (32).to_bytes(4, "little") + (1).to_bytes(4, "little") + \
        len(certs[0]).to_bytes(4, "little") + certs[0] + bytes(12)
    truncated.write_bytes(good[:-20])
    with raises_hresult(CRYPT_E_FILE_ERROR):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
                      str(truncated))
    assert truncated.read_bytes() == good[:-20]  # changes nothing
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x01\x02\x03 hello")
    with raises_hresult(CRYPT_E_NO_MATCH):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, str(junk))
    with raises_hresult(ERROR_FILE_EXISTS):
        CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, CERT_STORE_CREATE_NEW_FLAG, str(junk))


def test_file_handle_store(tmp_path, certs):
    # Windows (Wine store.c testFileStore): NULL handle -> ERROR_INVALID_HANDLE;
    # DELETE_FLAG -> E_INVALIDARG.
    with raises_hresult(ERROR_INVALID_HANDLE):
        CertOpenStore(CERT_STORE_PROV_FILE, 0, None, 0, None)
    path = tmp_path / "h.sst"
    path.write_bytes(b"")
    with open(path, "r+b") as fh:
        with raises_hresult(E_INVALIDARG):
            CertOpenStore(CERT_STORE_PROV_FILE, 0, None, CERT_STORE_DELETE_FLAG, fh)
        store = CertOpenStore(CERT_STORE_PROV_FILE, 0, None, CERT_FILE_STORE_COMMIT_ENABLE_FLAG, fh)
        CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
        CertCloseStore(store)
    assert len(path.read_bytes()) == len(certs[0]) + 32


def test_save_to_filename(tmp_path, certs):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(store, 1, certs[0], CERT_STORE_ADD_NEW)
    out = tmp_path / "out.p7b"
    CertSaveStore(store, 0x10001, CERT_STORE_SAVE_AS_PKCS7, CERT_STORE_SAVE_TO_FILENAME, str(out))
    assert [c.pbCertEncoded for c in enum_all(CertOpenStore("File", 0, None, 0, str(out)))] == \
        [certs[0]]
    with raises_hresult(ERROR_PATH_NOT_FOUND):
        CertSaveStore(store, 1, CERT_STORE_SAVE_AS_STORE, CERT_STORE_SAVE_TO_FILENAME,
                      str(tmp_path / "no" / "such" / "dir.sst"))


def test_delete_through_a_context_after_its_store_handle_is_closed(machine):
    # Windows: a context holds a reference to its store; CertCloseStore(h, 0) only drops the
    # handle's, so the context can still be used to delete its certificate.
    from helpers_certs import make_cert

    from capi import (
        CERT_FIND_SHA1_HASH,
        CERT_STORE_ADD_NEW,
        CERT_STORE_PROV_SYSTEM,
        CERT_SYSTEM_STORE_LOCAL_MACHINE,
        X509_ASN_ENCODING,
        CertAddEncodedCertificateToStore,
        CertDeleteCertificateFromStore,
        CertFindCertificateInStore,
        CertOpenStore,
    )

    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, make_cert("closed"),
                                               CERT_STORE_ADD_NEW)
    assert CertDeleteCertificateFromStore(ctx)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        assert CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH, ctx.sha1,
                                          None) is None


def test_enum_system_store_callback_and_identity(machine):
    # The C form takes a callback; the user's stores are the current identity's. A
    # callback that stops the enumeration makes it return FALSE (Wine store.c
    # testCertEnumSystemStore).
    seen = []
    assert CertEnumSystemStore(CERT_SYSTEM_STORE_CURRENT_USER, None, "arg",
                               lambda name, flags, info, reserved, arg: seen.append((name, arg))
                               or len(seen) < 2) is False
    assert seen == [("My", "arg"), ("Root", "arg")]
    CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY, 0, None, CERT_SYSTEM_STORE_CURRENT_USER, "AdminOnly")
    assert "AdminOnly" in CertEnumSystemStore(CERT_SYSTEM_STORE_CURRENT_USER)
    with run_as("NetworkService"):
        assert "AdminOnly" not in CertEnumSystemStore(CERT_SYSTEM_STORE_CURRENT_USER)

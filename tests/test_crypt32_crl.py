"""CRL contexts, CRLs in every store kind, and revocation checking.

Sources for the Windows behaviour asserted here: Wine ``dlls/crypt32/tests/crl.c`` (runs
on Windows; the function is named next to each assertion), Wine
``dlls/crypt32/tests/chain.c`` for chain statuses, and Microsoft's CertFindCRLInStore,
CertVerifyRevocation, CERT_REVOCATION_STATUS and CERT_CHAIN_POLICY_STATUS pages. The
small CRLs ``CRL``, ``signedCRL`` and ``newerCRL`` are Wine crl.c's vectors.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers_certs import BASE_TIME, name

from capi.constants import (
    CALG_MD5,
    CERT_ACCESS_STATE_PROP_ID,
    CERT_ACCESS_STATE_WRITE_PERSIST_FLAG,
    CERT_CHAIN_POLICY_BASE,
    CERT_CHAIN_POLICY_SSL,
    CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
    CERT_CHAIN_REVOCATION_CHECK_END_CERT,
    CERT_CONTEXT_REVOCATION_TYPE,
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
    CERT_HASH_PROP_ID,
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG,
    CERT_STORE_ADD_ALWAYS,
    CERT_STORE_ADD_NEW,
    CERT_STORE_ADD_NEWER,
    CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_ADD_USE_EXISTING,
    CERT_STORE_PROV_COLLECTION,
    CERT_STORE_PROV_FILENAME,
    CERT_STORE_PROV_MEMORY,
    CERT_STORE_PROV_PKCS7,
    CERT_STORE_PROV_SERIALIZED,
    CERT_STORE_PROV_SYSTEM,
    CERT_STORE_SAVE_AS_PKCS7,
    CERT_STORE_SAVE_AS_STORE,
    CERT_STORE_SAVE_TO_MEMORY,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CERT_TRUST_IS_OFFLINE_REVOCATION,
    CERT_TRUST_IS_REVOKED,
    CERT_TRUST_REVOCATION_STATUS_UNKNOWN,
    CERT_VERIFY_REV_CHAIN_FLAG,
    CRL_FIND_ANY,
    CRL_FIND_EXISTING,
    CRL_FIND_ISSUED_BY,
    CRL_FIND_ISSUED_BY_AKI_FLAG,
    CRL_FIND_ISSUED_BY_BASE_FLAG,
    CRL_FIND_ISSUED_BY_DELTA_FLAG,
    CRL_FIND_ISSUED_BY_SIGNATURE_FLAG,
    CRL_FIND_ISSUED_FOR,
    CRL_REASON_KEY_COMPROMISE,
    X509_ASN_ENCODING,
)
from capi.crypt32.cert import CertCreateCertificateContext
from capi.crypt32.chain import (
    CERT_CHAIN_PARA,
    CertGetCertificateChain,
    CertVerifyCertificateChainPolicy,
)
from capi.crypt32.crl import (
    CERT_REVOCATION_PARA,
    CRL_FIND_ISSUED_FOR_PARA,
    CertAddCRLContextToStore,
    CertAddEncodedCRLToStore,
    CertCreateCRLContext,
    CertDeleteCRLFromStore,
    CertDuplicateCRLContext,
    CertEnumCRLContextProperties,
    CertEnumCRLsInStore,
    CertFindCertificateInCRL,
    CertFindCRLInStore,
    CertFreeCRLContext,
    CertGetCRLContextProperty,
    CertGetCRLFromStore,
    CertIsValidCRLForCertificate,
    CertSetCRLContextProperty,
    CertVerifyCRLRevocation,
    CertVerifyRevocation,
)
from capi.crypt32.store import (
    CertAddEncodedCertificateToStore,
    CertAddStoreToCollection,
    CertCloseStore,
    CertOpenStore,
    CertSaveStore,
)
from capi.errors import (
    CRYPT_E_ASN1_EOD,
    CRYPT_E_EXISTS,
    CRYPT_E_NO_MATCH,
    CRYPT_E_NO_REVOCATION_CHECK,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_REVOCATION_OFFLINE,
    CRYPT_E_REVOKED,
    E_ACCESSDENIED,
    E_INVALIDARG,
    GetLastError,
    WinError,
)
from capi.testing import raises_hresult

# Wine crl.c: CRL (bare, issuer "Juan Lang", ThisUpdate 1601), newerCRL (same issuer,
# ThisUpdate 2006) and signedCRL (CRL with a bogus signature).
CRL = bytes.fromhex(
    "302c30020600301531133011060355040313 0a4a75616e204c616e6700180f31363031303130313030303030305a"
    .replace(" ", ""))
NEWER_CRL = bytes.fromhex(
    "302a30020600301531133011060355040313 0a4a75616e204c616e6700170d3036303531363030303030305a"
    .replace(" ", ""))
SIGNED_CRL = bytes.fromhex(
    "3045302c30020600301531133011060355040313 0a4a75616e204c616e6700180f31363031303130313030"
    "303030305a300206000311000f0e0d0c0b0a09080706050403020100".replace(" ", ""))

WHEN = BASE_TIME + datetime.timedelta(days=30)
ROOT_NAME = name("Fabrikam Root CA", o="Fabrikam")
INTER_NAME = name("Fabrikam Issuing CA", o="Fabrikam")


# ---------------------------------------------------------------------------------------
# A small PKI with CRLs
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return {r: ec.generate_private_key(ec.SECP256R1()) for r in ("root", "inter", "leaf", "x")}


def issue(subject, key, issuer=None, *, ca=False, cdp=None, serial=None, ski=False):
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(BASE_TIME).not_valid_after(BASE_TIME + datetime.timedelta(days=3650)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    if cdp:
        b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(cdp)], None, None, None)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def make_crl(issuer_name, issuer_key, revoked=(), *, this_update=BASE_TIME, days=3650,
             idp=False, delta=False, aki_key=None, reason=None):
    b = (x509.CertificateRevocationListBuilder().issuer_name(issuer_name)
         .last_update(this_update).next_update(this_update + datetime.timedelta(days=days)))
    for serial in revoked:
        rb = (x509.RevokedCertificateBuilder().serial_number(serial)
              .revocation_date(BASE_TIME + datetime.timedelta(days=1)))
        if reason is not None:
            rb = rb.add_extension(x509.CRLReason(reason), critical=False)
        b = b.add_revoked_certificate(rb.build())
    if idp:
        b = b.add_extension(x509.IssuingDistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.fabrikam.test/x.crl")], None, False,
            False, None, False, False), critical=True)
    if delta:
        b = b.add_extension(x509.DeltaCRLIndicator(1), critical=True)
    if aki_key is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            aki_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def pki(keys):
    root = issue(ROOT_NAME, keys["root"], ca=True)
    inter = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True)
    leaf = issue(name("www.fabrikam.test"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 serial=0x1234, cdp="http://crl.fabrikam.test/issuing.crl")
    return {"root": root, "inter": inter, "leaf": leaf}


def cert(der):
    return CertCreateCertificateContext(X509_ASN_ENCODING, der)


def mem():
    return CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)


def crls_in(store) -> list[bytes]:
    out, ctx = [], None
    while (ctx := CertEnumCRLsInStore(store, ctx)) is not None:
        out.append(ctx.pbCrlEncoded)
    return out


# ---------------------------------------------------------------------------------------
# Contexts (Wine crl.c testCreateCRL, testDupCRL, testAddCRL)
# ---------------------------------------------------------------------------------------


def test_create_crl_context():
    # Wine crl.c testCreateCRL: encoding 0 -> E_INVALIDARG; no bytes -> CRYPT_E_ASN1_EOD;
    # a truncated CRL fails; a signed CRL and a bare one both make contexts.
    with raises_hresult(E_INVALIDARG):
        CertCreateCRLContext(0, None)
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CertCreateCRLContext(X509_ASN_ENCODING, None)
    with pytest.raises(WinError):
        CertCreateCRLContext(X509_ASN_ENCODING, SIGNED_CRL[:-1])
    signed = CertCreateCRLContext(X509_ASN_ENCODING, SIGNED_CRL)
    bare = CertCreateCRLContext(X509_ASN_ENCODING, CRL)
    assert signed.cbCrlEncoded == len(SIGNED_CRL) and signed.pbCrlEncoded == SIGNED_CRL
    assert signed.pCrlInfo.Issuer == bare.pCrlInfo.Issuer
    assert signed.hCertStore is None


def test_create_crl_rejects_a_certificate(pki):
    # Wine crl.c testCreateCRL: a certificate is not a CRL.
    with pytest.raises(WinError):
        CertCreateCRLContext(X509_ASN_ENCODING, pki["root"])


def test_duplicate_and_free():
    # Wine crl.c testDupCRL: NULL -> NULL; the duplicate is the same context; frees succeed.
    assert CertDuplicateCRLContext(None) is None
    ctx = CertCreateCRLContext(X509_ASN_ENCODING, SIGNED_CRL)
    assert CertDuplicateCRLContext(ctx) is ctx
    assert CertFreeCRLContext(ctx) and CertFreeCRLContext(ctx) and CertFreeCRLContext(None)


def test_add_encoded_crl_argument_errors():
    store = mem()
    # Wine crl.c testAddCRL: a bad encoding type is E_INVALIDARG whatever else is wrong.
    for s in (None, store):
        with raises_hresult(E_INVALIDARG):
            CertAddEncodedCRLToStore(s, 0, None, 0)
        with raises_hresult(E_INVALIDARG):
            CertAddEncodedCRLToStore(s, 0, SIGNED_CRL, CERT_STORE_ADD_ALWAYS)
        # Wine crl.c testAddCRL: no CRL bytes -> CRYPT_E_ASN1_EOD.
        with raises_hresult(CRYPT_E_ASN1_EOD):
            CertAddEncodedCRLToStore(s, X509_ASN_ENCODING, None, 0)
    # Wine crl.c testAddCRL: disposition 0 -> E_INVALIDARG (Vista and later).
    with raises_hresult(E_INVALIDARG):
        CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, SIGNED_CRL, 0)
    assert crls_in(store) == []


def test_add_encoded_crl_dispositions():
    # Wine crl.c testAddCRL: adding to the NULL store succeeds.
    assert CertAddEncodedCRLToStore(None, X509_ASN_ENCODING, SIGNED_CRL,
                                    CERT_STORE_ADD_ALWAYS).hCertStore is None
    store = mem()
    # Wine crl.c testAddCRL: signed and unsigned CRLs are both accepted.
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, SIGNED_CRL, CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, CRL, CERT_STORE_ADD_ALWAYS)
    # Wine crl.c testAddCRL: a CRL of the same issuer exists -> CRYPT_E_EXISTS with ADD_NEW.
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, NEWER_CRL, CERT_STORE_ADD_NEW)
    assert GetLastError() == CRYPT_E_EXISTS
    # Wine crl.c testAddCRL: ADD_NEWER replaces one of the existing CRLs.
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, NEWER_CRL, CERT_STORE_ADD_NEWER)
    held = crls_in(store)
    assert len(held) == 2 and NEWER_CRL in held
    # An older CRL under ADD_NEWER is refused (Microsoft CertAddCRLContextToStore).
    with raises_hresult(CRYPT_E_EXISTS):
        CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, CRL, CERT_STORE_ADD_NEWER)
    used = CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, CRL, CERT_STORE_ADD_USE_EXISTING)
    assert used.pbCrlEncoded in held and len(crls_in(store)) == 2
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, CRL, CERT_STORE_ADD_REPLACE_EXISTING)
    assert len(crls_in(store)) == 2 and CRL in crls_in(store)


def test_add_crl_context_makes_a_new_context():
    # Wine crl.c testAddCRL: CertAddCRLContextToStore returns another context with the
    # same bytes.
    store = mem()
    ctx = CertCreateCRLContext(X509_ASN_ENCODING, CRL)
    added = CertAddCRLContextToStore(store, ctx, CERT_STORE_ADD_NEW)
    assert added is not ctx and added.pbCrlEncoded == ctx.pbCrlEncoded
    assert added.hCertStore is store
    CertDeleteCRLFromStore(added)
    assert crls_in(store) == []


# ---------------------------------------------------------------------------------------
# Find (Wine crl.c testFindCRL, testGetCRLFromStore)
# ---------------------------------------------------------------------------------------


def _count(store, flags, find_type, para, check_cert=None):
    count = revoked = 0
    ctx = None
    while (ctx := CertFindCRLInStore(store, 0, flags, find_type, para, ctx)) is not None:
        count += 1
        if check_cert is not None and CertFindCertificateInCRL(check_cert, ctx) is not None:
            revoked += 1
    return count, revoked


def test_find_crl_any_and_issued_by_none(pki, keys):
    store = mem()
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, SIGNED_CRL, CERT_STORE_ADD_ALWAYS)
    # Wine crl.c testFindCRL: FIND_ANY finds it; bogus flags and encoding type are ignored;
    # ISSUED_BY with no certificate matches any CRL.
    assert CertFindCRLInStore(store, 0, 0, CRL_FIND_ANY, None) is not None
    assert CertFindCRLInStore(store, 0, 1234, CRL_FIND_ANY, None) is not None
    assert CertFindCRLInStore(store, 1234, 0, CRL_FIND_ANY, None) is not None
    assert CertFindCRLInStore(store, 0, 0, CRL_FIND_ISSUED_BY, None) is not None
    # Wine crl.c testFindCRL: an issuer that is not the CRL's -> no context.
    assert CertFindCRLInStore(store, 0, 0, CRL_FIND_ISSUED_BY, cert(pki["root"])) is None
    assert GetLastError() == CRYPT_E_NOT_FOUND


def test_find_crl_issued_by_flags_and_issued_for(keys):
    # Wine crl.c testFindCRL (rootWithKeySignAndCRLSign -> eeCert, rootSignedCRL lists the
    # end certificate; an unrelated CRL is in the store too).
    root_der = issue(ROOT_NAME, keys["root"], ca=True)  # no SubjectKeyIdentifier
    ee_der = issue(name("ee"), keys["leaf"], (ROOT_NAME, keys["root"]), serial=77)
    root, ee = cert(root_der), cert(ee_der)
    store = mem()
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING,
                             make_crl(ROOT_NAME, keys["root"], [77], aki_key=keys["root"]),
                             CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING,
                             make_crl(INTER_NAME, keys["inter"], [5]), CERT_STORE_ADD_ALWAYS)
    para = CRL_FIND_ISSUED_FOR_PARA(ee, root)
    # Wine crl.c testFindCRL: ISSUED_FOR finds 1 CRL, which lists the end certificate.
    assert _count(store, 0, CRL_FIND_ISSUED_FOR, para, ee) == (1, 1)
    # ISSUED_BY the end certificate: 0; by the root: 1 (listing the end certificate).
    assert _count(store, 0, CRL_FIND_ISSUED_BY, ee, ee) == (0, 0)
    assert _count(store, 0, CRL_FIND_ISSUED_BY, root, ee) == (1, 1)
    # AKI flag: the CRL's key identifier names no key of either certificate -> 0 each.
    assert _count(store, CRL_FIND_ISSUED_BY_AKI_FLAG, CRL_FIND_ISSUED_BY, ee, ee) == (0, 0)
    assert _count(store, CRL_FIND_ISSUED_BY_AKI_FLAG, CRL_FIND_ISSUED_BY, root, root) == (0, 0)
    # SIGNATURE flag: only the root's key verifies it.
    assert _count(store, CRL_FIND_ISSUED_BY_SIGNATURE_FLAG, CRL_FIND_ISSUED_BY, ee, ee) == (0, 0)
    assert _count(store, CRL_FIND_ISSUED_BY_SIGNATURE_FLAG, CRL_FIND_ISSUED_BY, root,
                  ee) == (1, 1)


def test_find_crl_aki_matches_subject_key_identifier(keys):
    root = cert(issue(ROOT_NAME, keys["root"], ca=True, ski=True))
    store = mem()
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING,
                             make_crl(ROOT_NAME, keys["root"], aki_key=keys["root"]),
                             CERT_STORE_ADD_ALWAYS)
    assert _count(store, CRL_FIND_ISSUED_BY_AKI_FLAG, CRL_FIND_ISSUED_BY, root) == (1, 0)


def test_find_crl_signature_flag_with_bogus_signature(keys):
    # Wine crl.c testFindCRL: signedCRL's bogus signature never matches SIGNATURE_FLAG.
    store = mem()
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, SIGNED_CRL, CERT_STORE_ADD_ALWAYS)
    assert CertFindCRLInStore(store, 0, CRL_FIND_ISSUED_BY_SIGNATURE_FLAG, CRL_FIND_ISSUED_BY,
                              cert(issue(ROOT_NAME, keys["root"], ca=True))) is None


def test_find_delta_base_and_existing(keys):
    store = mem()
    base = make_crl(ROOT_NAME, keys["root"])
    delta = make_crl(ROOT_NAME, keys["root"], delta=True)
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, base, CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, delta, CERT_STORE_ADD_ALWAYS)
    root = cert(issue(ROOT_NAME, keys["root"], ca=True))
    found = CertFindCRLInStore(store, 0, CRL_FIND_ISSUED_BY_DELTA_FLAG, CRL_FIND_ISSUED_BY, root)
    assert found.pbCrlEncoded == delta
    assert CertFindCRLInStore(store, 0, CRL_FIND_ISSUED_BY_DELTA_FLAG, CRL_FIND_ISSUED_BY, root,
                              found) is None
    found = CertFindCRLInStore(store, 0, CRL_FIND_ISSUED_BY_BASE_FLAG, CRL_FIND_ISSUED_BY, root)
    assert found.pbCrlEncoded == base
    existing = CertFindCRLInStore(store, 0, 0, CRL_FIND_EXISTING,
                                  CertCreateCRLContext(X509_ASN_ENCODING, base))
    assert existing.pbCrlEncoded == base


def test_get_crl_from_store(keys, pki):
    store = mem()
    # Wine crl.c testGetCRLFromStore: bogus flags -> E_INVALIDARG; an empty store ->
    # CRYPT_E_NOT_FOUND.
    with raises_hresult(E_INVALIDARG):
        CertGetCRLFromStore(store, None, None, 0xFFFFFFFF)
    assert CertGetCRLFromStore(store, None, None, 0) is None
    assert GetLastError() == CRYPT_E_NOT_FOUND
    der = make_crl(ROOT_NAME, keys["root"])
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_ALWAYS)
    # NULL matches any CRL; a certificate not the CRL's issuer -> CRYPT_E_NOT_FOUND; the
    # issuer -> the CRL.
    assert CertGetCRLFromStore(store, None, None, 0).pbCrlEncoded == der
    assert CertGetCRLFromStore(store, cert(pki["leaf"]), None, 0) is None
    assert GetLastError() == CRYPT_E_NOT_FOUND
    assert CertGetCRLFromStore(store, cert(pki["root"]), None, 0).pbCrlEncoded == der


# ---------------------------------------------------------------------------------------
# Properties (Wine crl.c testCRLProperties)
# ---------------------------------------------------------------------------------------


def test_crl_properties():
    import hashlib

    ctx = CertCreateCRLContext(X509_ASN_ENCODING, CRL)
    # Wine crl.c testCRLProperties: no properties at first.
    assert CertEnumCRLContextProperties(ctx, 0) == 0
    # Property 0 and a NULL context -> E_INVALIDARG.
    with raises_hresult(E_INVALIDARG):
        CertSetCRLContextProperty(None, 0, 0, None)
    with raises_hresult(E_INVALIDARG):
        CertSetCRLContextProperty(ctx, 0, 0, None)
    # A missing property -> CRYPT_E_NOT_FOUND; the access state is implicit and a CRL in
    # no store is not persisted.
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCRLContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    access = CertGetCRLContextProperty(ctx, CERT_ACCESS_STATE_PROP_ID)
    assert not access & CERT_ACCESS_STATE_WRITE_PERSIST_FLAG
    # The hash may be set to anything, read back, deleted, and then is the real SHA-1.
    CertSetCRLContextProperty(ctx, CERT_HASH_PROP_ID, 0, b"\0" * 20)
    assert CertGetCRLContextProperty(ctx, CERT_HASH_PROP_ID) == b"\0" * 20
    CertSetCRLContextProperty(ctx, CERT_HASH_PROP_ID, 0, None)
    assert CertGetCRLContextProperty(ctx, CERT_HASH_PROP_ID) == hashlib.sha1(CRL).digest()
    # Now one property is enumerated; MD5 is implicit too.
    assert CertEnumCRLContextProperties(ctx, 0) == CERT_HASH_PROP_ID
    assert CertEnumCRLContextProperties(ctx, CERT_HASH_PROP_ID) == 0
    assert CertGetCRLContextProperty(ctx, CERT_MD5_HASH_PROP_ID) == hashlib.md5(CRL).digest()
    assert CALG_MD5  # the algorithm Wine's checkCRLHash uses for that property


# ---------------------------------------------------------------------------------------
# Certificates against CRLs (Wine crl.c testIsValidCRLForCert, testFindCertInCRL,
# testVerifyCRLRevocation)
# ---------------------------------------------------------------------------------------


def test_is_valid_crl_for_certificate(keys, pki):
    plain = CertCreateCRLContext(X509_ASN_ENCODING, make_crl(INTER_NAME, keys["inter"], [1]))
    no_cdp = cert(pki["inter"])
    other_issuer = cert(issue(name("x"), keys["x"]))
    with_cdp = cert(pki["leaf"])
    # Wine crl.c testIsValidCRLForCert: any CRL is valid for the NULL certificate, and a
    # CRL without an IssuingDistributionPoint even for a certificate of another issuer.
    assert CertIsValidCRLForCertificate(None, plain)
    assert CertIsValidCRLForCertificate(no_cdp, plain)
    assert CertIsValidCRLForCertificate(other_issuer, plain)
    # With an IssuingDistributionPoint: CRYPT_E_NO_MATCH for certificates without a CDP,
    # valid for one with a CRL distribution point.
    idp = CertCreateCRLContext(X509_ASN_ENCODING, make_crl(INTER_NAME, keys["inter"], idp=True))
    assert not CertIsValidCRLForCertificate(no_cdp, idp)
    assert GetLastError() == CRYPT_E_NO_MATCH
    assert not CertIsValidCRLForCertificate(other_issuer, idp)
    assert CertIsValidCRLForCertificate(with_cdp, idp)


def test_find_certificate_in_crl(keys, pki):
    leaf = cert(pki["leaf"])
    # Wine crl.c testFindCertInCRL: not listed -> no entry; listed -> the entry, even when
    # the CRL's issuer is not the certificate's.
    assert CertFindCertificateInCRL(leaf, CertCreateCRLContext(
        X509_ASN_ENCODING, make_crl(INTER_NAME, keys["inter"], [1, 2]))) is None
    entry = CertFindCertificateInCRL(leaf, CertCreateCRLContext(
        X509_ASN_ENCODING, make_crl(INTER_NAME, keys["inter"], [0x1234])))
    assert entry is not None and entry.SerialNumber == b"\x34\x12"
    assert CertFindCertificateInCRL(leaf, CertCreateCRLContext(
        X509_ASN_ENCODING, make_crl(name("x"), keys["x"], [0x1234]))) is not None


def test_verify_crl_revocation(keys, pki):
    info = cert(pki["leaf"]).pCertInfo
    # Wine crl.c testVerifyCRLRevocation: no certificate or no CRLs -> TRUE; a CRL listing
    # it (even of another issuer) -> FALSE; one that does not -> TRUE.
    assert CertVerifyCRLRevocation(0, None, [])
    assert CertVerifyCRLRevocation(X509_ASN_ENCODING, info, [])
    listing = CertCreateCRLContext(X509_ASN_ENCODING, make_crl(name("x"), keys["x"], [0x1234]))
    assert not CertVerifyCRLRevocation(X509_ASN_ENCODING, info, [listing.pCrlInfo])
    clean = CertCreateCRLContext(X509_ASN_ENCODING, make_crl(INTER_NAME, keys["inter"], [9]))
    assert CertVerifyCRLRevocation(0, info, [clean.pCrlInfo])


# ---------------------------------------------------------------------------------------
# Every store kind holds CRLs
# ---------------------------------------------------------------------------------------


def test_serialized_and_pkcs7_stores_keep_crls(keys, pki):
    der = make_crl(INTER_NAME, keys["inter"], [0x1234])
    store = mem()
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, pki["inter"], CERT_STORE_ADD_NEW)
    added = CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    CertSetCRLContextProperty(added, 11, 0, "Issuing CA CRL")  # CERT_FRIENDLY_NAME_PROP_ID
    sst = CertSaveStore(store, X509_ASN_ENCODING, CERT_STORE_SAVE_AS_STORE,
                        CERT_STORE_SAVE_TO_MEMORY, None)
    again = CertOpenStore(CERT_STORE_PROV_SERIALIZED, 0, None, 0, sst)
    (crl,) = [CertEnumCRLsInStore(again, None)]
    assert crl.pbCrlEncoded == der
    assert CertGetCRLContextProperty(crl, 11) == "Issuing CA CRL"
    assert len(list(again)) == 1
    p7 = CertSaveStore(store, X509_ASN_ENCODING, CERT_STORE_SAVE_AS_PKCS7,
                       CERT_STORE_SAVE_TO_MEMORY, None)
    from_p7 = CertOpenStore(CERT_STORE_PROV_PKCS7, 0, None, 0, p7)
    assert crls_in(from_p7) == [der] and len(list(from_p7)) == 1


def test_file_store_commits_crls(tmp_path, keys):
    der = make_crl(INTER_NAME, keys["inter"], [0x1234])
    path = tmp_path / "ca.sst"
    store = CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None,
                          CERT_FILE_STORE_COMMIT_ENABLE_FLAG, str(path))
    CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    CertCloseStore(store)
    reopened = CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, str(path))
    assert crls_in(reopened) == [der]
    # A bare .crl file opens as a store holding that CRL.
    crl_file = tmp_path / "issuing.crl"
    crl_file.write_bytes(der)
    assert crls_in(CertOpenStore(CERT_STORE_PROV_FILENAME, 0, None, 0, str(crl_file))) == [der]


def test_system_store_persists_crls(machine, keys):
    der = make_crl(INTER_NAME, keys["inter"], [0x1234])
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as store:
        added = CertAddEncodedCRLToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        assert added.get_raw_property(CERT_ACCESS_STATE_PROP_ID)
        CertSetCRLContextProperty(added, 11, 0, "persisted")
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as store:
        crl = CertEnumCRLsInStore(store, None)
        assert crl.pbCrlEncoded == der
        assert CertGetCRLContextProperty(crl, 11) == "persisted"
        access = CertGetCRLContextProperty(crl, CERT_ACCESS_STATE_PROP_ID)
        assert access & CERT_ACCESS_STATE_WRITE_PERSIST_FLAG
    # CurrentUser\CA shows LocalMachine's CA store through its physical stores.
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_CURRENT_USER,
                       "CA") as store:
        assert crls_in(store) == [der]
        # ... read-only there.
        with raises_hresult(E_ACCESSDENIED):
            CertDeleteCRLFromStore(CertEnumCRLsInStore(store, None))
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as store:
        CertDeleteCRLFromStore(CertEnumCRLsInStore(store, None))
        assert crls_in(store) == []


def test_collection_store_crls(keys):
    a, b = mem(), mem()
    coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, None, 0, None)
    CertAddStoreToCollection(coll, a, 0, 0)
    # Wine store.c testCollectionStore (certificates): no add-enabled member -> E_ACCESSDENIED.
    der = make_crl(INTER_NAME, keys["inter"])
    with raises_hresult(E_ACCESSDENIED):
        CertAddEncodedCRLToStore(coll, X509_ASN_ENCODING, der, CERT_STORE_ADD_ALWAYS)
    CertAddStoreToCollection(coll, b, CERT_PHYSICAL_STORE_ADD_ENABLE_FLAG, 1)
    CertAddEncodedCRLToStore(coll, X509_ASN_ENCODING, der, CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCRLToStore(a, X509_ASN_ENCODING, CRL, CERT_STORE_ADD_ALWAYS)
    assert crls_in(b) == [der]
    assert crls_in(coll) == [der, CRL]


# ---------------------------------------------------------------------------------------
# Revocation in chains and CertVerifyRevocation
# ---------------------------------------------------------------------------------------


def _install(pki):
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "Root") as s:
        CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, pki["root"], CERT_STORE_ADD_NEW)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as s:
        CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, pki["inter"], CERT_STORE_ADD_NEW)


def _add_crl(der, store_name="CA"):
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       store_name) as s:
        CertAddEncodedCRLToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_ALWAYS)


def _chain(der, flags=CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT, additional=None):
    return CertGetCertificateChain(None, cert(der), WHEN, additional, CERT_CHAIN_PARA(), flags)


def _policy(chain, oid=CERT_CHAIN_POLICY_BASE):
    s = CertVerifyCertificateChainPolicy(oid, chain)
    return s.dwError, s.lChainIndex, s.lElementIndex


def _errors(chain):
    return [e.TrustStatus.dwErrorStatus for e in chain.rgpChain[0].rgpElement]


def test_chain_with_revoked_leaf(machine, keys, pki):
    _install(pki)
    _add_crl(make_crl(INTER_NAME, keys["inter"], [0x1234]))
    _add_crl(make_crl(ROOT_NAME, keys["root"]), "Root")
    chain = _chain(pki["leaf"])
    # CERT_TRUST_STATUS docs: CERT_TRUST_IS_REVOKED on the element and the chain;
    # CertVerifyCertificateChainPolicy docs: CRYPT_E_REVOKED at that element.
    assert _errors(chain) == [CERT_TRUST_IS_REVOKED, 0, 0]
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_REVOKED
    assert _policy(chain) == (CRYPT_E_REVOKED, 0, 0)
    assert _policy(chain, CERT_CHAIN_POLICY_SSL) == (CRYPT_E_REVOKED, 0, 0)


def test_chain_with_clean_crls(machine, keys, pki):
    _install(pki)
    _add_crl(make_crl(INTER_NAME, keys["inter"], [1, 2, 3]))
    _add_crl(make_crl(ROOT_NAME, keys["root"]), "Root")
    chain = _chain(pki["leaf"])
    assert _errors(chain) == [0, 0, 0]
    assert _policy(chain) == (0, -1, -1)


def test_chain_offline_without_crl_and_no_check_for_intermediate(machine, keys, pki):
    _install(pki)
    chain = _chain(pki["leaf"])
    # CERT_CHAIN_POLICY_STATUS docs: a CDP that cannot be reached is
    # CRYPT_E_REVOCATION_OFFLINE; the intermediate names none: CRYPT_E_NO_REVOCATION_CHECK.
    assert _errors(chain) == [CERT_TRUST_REVOCATION_STATUS_UNKNOWN
                              | CERT_TRUST_IS_OFFLINE_REVOCATION,
                              CERT_TRUST_REVOCATION_STATUS_UNKNOWN, 0]
    assert _policy(chain) == (CRYPT_E_REVOCATION_OFFLINE, 0, 0)


def test_crl_signed_by_another_key_or_expired_is_not_used(machine, keys, pki):
    _install(pki)
    _add_crl(make_crl(INTER_NAME, keys["x"], [0x1234]))  # right name, wrong key
    _add_crl(make_crl(INTER_NAME, keys["inter"], [0x1234], days=1))  # expired at WHEN
    chain = _chain(pki["leaf"], CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert _errors(chain)[0] == (CERT_TRUST_REVOCATION_STATUS_UNKNOWN
                                 | CERT_TRUST_IS_OFFLINE_REVOCATION)


def test_crl_from_additional_store(machine, keys, pki):
    _install(pki)
    extra = mem()
    CertAddEncodedCRLToStore(extra, X509_ASN_ENCODING,
                             make_crl(INTER_NAME, keys["inter"], [0x1234]), CERT_STORE_ADD_NEW)
    chain = _chain(pki["leaf"], CERT_CHAIN_REVOCATION_CHECK_END_CERT, additional=extra)
    assert _policy(chain) == (CRYPT_E_REVOKED, 0, 0)


def test_crl_at_file_distribution_point_in_machine_tree(machine, keys, pki):
    _install(pki)
    target = machine.host_path("C:\\pki\\issuing.crl")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(make_crl(INTER_NAME, keys["inter"], [0x1234]))
    leaf = issue(name("file.fabrikam.test"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 serial=0x1234, cdp="file:///C:/pki/issuing.crl")
    chain = _chain(leaf, CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert _errors(chain)[0] == CERT_TRUST_IS_REVOKED


def test_crl_at_file_distribution_point_on_local_disk(machine, keys, pki, tmp_path):
    _install(pki)
    pem = x509.load_der_x509_crl(make_crl(INTER_NAME, keys["inter"], [5])).public_bytes(
        serialization.Encoding.PEM)
    (tmp_path / "issuing.crl").write_bytes(pem)
    leaf = issue(name("file.fabrikam.test"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 serial=0x1234, cdp=(tmp_path / "issuing.crl").as_uri())
    chain = _chain(leaf, CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert _errors(chain)[0] == 0
    assert _policy(chain) == (0, -1, -1)


def test_cert_verify_revocation(machine, keys, pki):
    leaf, inter = cert(pki["leaf"]), cert(pki["inter"])
    crls = mem()
    CertAddEncodedCRLToStore(crls, X509_ASN_ENCODING,
                             make_crl(INTER_NAME, keys["inter"], [0x1234],
                                      reason=x509.ReasonFlags.key_compromise),
                             CERT_STORE_ADD_NEW)
    para = CERT_REVOCATION_PARA(pIssuerCert=inter, hCrlStore=crls, pftTimeToUse=WHEN)
    # CertVerifyRevocation docs: FALSE, pRevStatus->dwError CRYPT_E_REVOKED, dwIndex the
    # revoked context, dwReason the CRL reason code.
    with raises_hresult(CRYPT_E_REVOKED) as caught:
        CertVerifyRevocation(X509_ASN_ENCODING, CERT_CONTEXT_REVOCATION_TYPE, [leaf], 0, para)
    status = caught.exc.revocation_status
    assert (status.dwIndex, status.dwError, status.dwReason) == (
        0, CRYPT_E_REVOKED, CRL_REASON_KEY_COMPROMISE)
    # A certificate with an issuer but no CRL and no CDP: CRYPT_E_NO_REVOCATION_CHECK.
    with raises_hresult(CRYPT_E_NO_REVOCATION_CHECK):
        CertVerifyRevocation(X509_ASN_ENCODING, CERT_CONTEXT_REVOCATION_TYPE,
                             [inter, cert(pki["root"])], CERT_VERIFY_REV_CHAIN_FLAG,
                             CERT_REVOCATION_PARA(pftTimeToUse=WHEN))
    good = CertVerifyRevocation(X509_ASN_ENCODING, CERT_CONTEXT_REVOCATION_TYPE,
                                [cert(issue(name("ok"), keys["leaf"],
                                            (INTER_NAME, keys["inter"]), serial=99))],
                                0, para)
    assert good.dwError == 0
    with raises_hresult(E_INVALIDARG):
        CertVerifyRevocation(X509_ASN_ENCODING, 2, [leaf], 0, para)


# ---------------------------------------------------------------------------------------
# certutil -addstore / -delstore / -verify and the doctor
# ---------------------------------------------------------------------------------------


def certutil(*args):
    import io

    from winpki.cli import main

    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out=out, err=err)
    return rc, out.getvalue()


def test_certutil_addstore_delstore_crl(machine, keys, tmp_path):
    der = make_crl(INTER_NAME, keys["inter"], [0x1234])
    path = tmp_path / "issuing.crl"
    path.write_bytes(der)
    rc, out = certutil("-addstore", "CA", str(path))
    assert rc == 0, out
    assert 'CRL "Fabrikam Issuing CA" added to store.' in out
    assert out.rstrip().endswith("CertUtil: -addstore command completed successfully.")
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as s:
        assert crls_in(s) == [der]
    # The same CRL again is not newer: already in store.
    rc, out = certutil("-addstore", "CA", str(path))
    assert rc == 0 and 'CRL "Fabrikam Issuing CA" already in store.' in out
    import hashlib

    rc, out = certutil("-delstore", "CA", hashlib.sha1(der).hexdigest())
    assert rc == 0 and "Deleting CRL 0" in out and "CRL Entries: 1" in out
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "CA") as s:
        assert crls_in(s) == []


def test_certutil_verify_revoked_offline_and_good(machine, keys, pki, tmp_path):
    _install(pki)
    leaf_file = tmp_path / "leaf.cer"
    leaf_file.write_bytes(pki["leaf"])
    # No CRL anywhere: the leaf's CDP is unreachable.
    rc, out = certutil("-verify", str(leaf_file))
    assert rc != 0
    assert "Revocation check skipped -- server offline" in out
    assert "CertUtil: -verify command FAILED: 0x80092013 (-2146885613 CRYPT_E_REVOCATION_OFFLINE)" in out
    assert "CertContext[0][0]: dwInfoStatus=" in out
    assert ("Element.dwErrorStatus = CERT_TRUST_REVOCATION_STATUS_UNKNOWN | "
            "CERT_TRUST_IS_OFFLINE_REVOCATION (0x1000040)") in out
    # A CRL revoking it.
    _add_crl(make_crl(INTER_NAME, keys["inter"], [0x1234],
                      reason=x509.ReasonFlags.key_compromise))
    _add_crl(make_crl(ROOT_NAME, keys["root"]), "Root")
    rc, out = certutil("-verify", str(leaf_file))
    assert "Certificate is REVOKED (Reason=1)" in out
    assert "CertUtil: -verify command FAILED: 0x80092010 (-2146885616 CRYPT_E_REVOKED)" in out
    assert "CertUtil: The certificate is revoked." in out
    # Another certificate of that CA, not listed: passes.
    good = issue(name("ok.fabrikam.test"), keys["leaf"], (INTER_NAME, keys["inter"]), serial=7,
                 cdp="http://crl.fabrikam.test/issuing.crl")
    good_file = tmp_path / "good.cer"
    good_file.write_bytes(good)
    rc, out = certutil("-verify", str(good_file))
    assert rc == 0, out
    assert "Leaf certificate revocation check passed" in out
    assert out.rstrip().endswith("CertUtil: -verify command completed successfully.")


def _server_cert_issued_by(pki_keys, serial):
    """An issued server certificate in LocalMachine\\My linked to a real CAPI key."""
    from helpers_certs import rsa_key
    from helpers_keys import install_server_cert

    from capi.constants import CERT_KEY_PROV_INFO_PROP_ID
    from capi.crypt32.cert import (
        CertGetCertificateContextProperty,
        CertSetCertificateContextProperty,
    )

    keyed, _ = install_server_cert()
    info = CertGetCertificateContextProperty(keyed, CERT_KEY_PROV_INFO_PROP_ID)
    b = (x509.CertificateBuilder().subject_name(name("www.fabrikam.test"))
         .issuer_name(INTER_NAME).public_key(rsa_key().public_key()).serial_number(serial)
         .not_valid_before(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1))
         .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=300))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.fabrikam.test")]), False)
         .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
             [x509.UniformResourceIdentifier("http://crl.fabrikam.test/issuing.crl")],
             None, None, None)]), False))
    der = b.sign(pki_keys["inter"], hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "My") as my:
        ctx = CertAddEncodedCertificateToStore(my, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    return ctx


def _fresh_pki(keys):
    now = datetime.datetime.now(datetime.timezone.utc)
    root = (x509.CertificateBuilder().subject_name(ROOT_NAME).issuer_name(ROOT_NAME)
            .public_key(keys["root"].public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now + datetime.timedelta(days=3000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(keys["root"], hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    inter = (x509.CertificateBuilder().subject_name(INTER_NAME).issuer_name(ROOT_NAME)
             .public_key(keys["inter"].public_key()).serial_number(2)
             .not_valid_before(now - datetime.timedelta(days=10))
             .not_valid_after(now + datetime.timedelta(days=3000))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
             .sign(keys["root"], hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    _install({"root": root, "inter": inter})
    return now


def test_doctor_reports_revoked_and_offline(machine, keys):
    from winpki.doctor import diagnose

    now = _fresh_pki(keys)
    ctx = _server_cert_issued_by(keys, 0x4242)
    # No CRL: offline (a client that checks revocation fails with
    # CRYPT_E_REVOCATION_OFFLINE).
    diag = diagnose(machine, ctx.thumbprint)
    assert "revocation-offline" in diag.causes
    offline = next(f for f in diag.findings if f.cause == "revocation-offline")
    assert any("CRYPT_E_REVOCATION_OFFLINE 0x80092013" in e for e in offline.evidence)
    assert any("http://crl.fabrikam.test/issuing.crl" in e for e in offline.evidence)
    # A CRL listing it: revoked.
    _add_crl(make_crl(INTER_NAME, keys["inter"], [0x4242],
                      this_update=now - datetime.timedelta(hours=1), days=7))
    diag = diagnose(machine, ctx.thumbprint)
    assert "revoked" in diag.causes and "revocation-offline" not in diag.causes
    revoked = next(f for f in diag.findings if f.cause == "revoked")
    assert any("CRYPT_E_REVOKED 0x80092010" in e for e in revoked.evidence)


def test_serialized_crl_element_round_trip_and_no_ctls(keys):
    from capi.constants import CERT_STORE_ALL_CONTEXT_FLAG, CERT_STORE_CRL_CONTEXT
    from capi.crypt32.crl import (
        CertAddEncodedCTLToStore,
        CertCreateCTLContext,
        CertSerializeCRLStoreElement,
    )
    from capi.crypt32.store import CertAddSerializedElementToStore
    from capi.errors import ERROR_CALL_NOT_IMPLEMENTED

    der = make_crl(INTER_NAME, keys["inter"], [3])
    ctx = CertCreateCRLContext(X509_ASN_ENCODING, der)
    CertSetCRLContextProperty(ctx, 11, 0, "serialized")
    element = CertSerializeCRLStoreElement(ctx)
    store = mem()
    added, kind = CertAddSerializedElementToStore(store, element, CERT_STORE_ADD_NEW, 0,
                                                  CERT_STORE_ALL_CONTEXT_FLAG)
    assert kind == CERT_STORE_CRL_CONTEXT and added.pbCrlEncoded == der
    assert CertGetCRLContextProperty(added, 11) == "serialized"
    assert crls_in(store) == [der]
    # No certificate trust lists in winpki: documented ERROR_CALL_NOT_IMPLEMENTED.
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertCreateCTLContext(X509_ASN_ENCODING, b"\x30\x00")
    with raises_hresult(ERROR_CALL_NOT_IMPLEMENTED):
        CertAddEncodedCTLToStore(store, X509_ASN_ENCODING, b"\x30\x00", CERT_STORE_ADD_NEW)

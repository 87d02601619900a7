"""crypt32 certificate helpers and the chain-engine defects of the "crypt32 beyond stores"
issue. Sources: Wine dlls/crypt32/tests/cert.c (testSignCert, testVerifyCertSig,
testCryptHashCert), chain.c, and Microsoft's documentation pages named at each test."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from helpers_certs import BASE_TIME, make_cert, name, rsa_key

from capi.advapi32.crypt import (
    CryptAcquireContext,
    CryptCreateHash,
    CryptGenKey,
    CryptHashData,
    CryptSignHash,
)
from capi.constants import (
    AT_SIGNATURE,
    CERT_CHAIN_POLICY_BASE,
    CERT_CREATE_SELFSIGN_NO_KEY_INFO,
    CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG,
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_STORE_ADD_ALWAYS,
    CERT_STORE_PROV_MEMORY,
    CERT_STORE_SIGNATURE_FLAG,
    CERT_STORE_TIME_VALIDITY_FLAG,
    CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT,
    CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT,
    CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT,
    CERT_TRUST_INVALID_EXTENSION,
    CERT_TRUST_IS_NOT_SIGNATURE_VALID,
    CERT_TRUST_IS_UNTRUSTED_ROOT,
    CERT_V3,
    CRYPT_NEWKEYSET,
    CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT,
    CRYPT_VERIFY_CERT_SIGN_ISSUER_NULL,
    CRYPT_VERIFY_CERT_SIGN_ISSUER_PUBKEY,
    CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB,
    CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT,
    MS_ENH_RSA_AES_PROV,
    PROV_RSA_AES,
    PROV_RSA_FULL,
    X509_ASN_ENCODING,
    X509_CERT,
    X509_CERT_TO_BE_SIGNED,
    szOID_PKIX_KP_CLIENT_AUTH,
    szOID_PKIX_KP_SERVER_AUTH,
    szOID_RSA_SHA1RSA,
    szOID_RSA_SHA256RSA,
)
from capi.crypt32 import _der as D
from capi.crypt32.cert import CertCreateCertificateContext
from capi.crypt32.certhelpers import (
    CertAddEnhancedKeyUsageIdentifier,
    CertCompareCertificate,
    CertCompareCertificateName,
    CertCompareIntegerBlob,
    CertComparePublicKeyInfo,
    CertCreateSelfSignCertificate,
    CertFindExtension,
    CertGetEnhancedKeyUsage,
    CertGetIssuerCertificateFromStore,
    CertGetPublicKeyLength,
    CertGetSubjectCertificateFromStore,
    CertGetValidUsages,
    CertIsRDNAttrsInCertificateName,
    CertVerifySubjectCertificateContext,
    CertVerifyTimeValidity,
    CryptExportPublicKeyInfoEx,
    CryptHashCertificate,
    CryptHashCertificate2,
    CryptHashPublicKeyInfo,
    CryptHashToBeSigned,
    CryptImportPublicKeyInfoEx2,
    CryptSignAndEncodeCertificate,
    CryptSignCertificate,
    CryptVerifyCertificateSignature,
    CryptVerifyCertificateSignatureEx,
)
from capi.crypt32.chain import (
    CERT_CHAIN_PARA,
    CertGetCertificateChain,
    CertVerifyCertificateChainPolicy,
)
from capi.crypt32.encode import CryptDecodeObjectEx, CryptEncodeObjectEx
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
from capi.crypt32.str import CertStrToName
from capi.crypt32.structs import (
    CERT_EXTENSION,
    CERT_INFO,
    CERT_RDN,
    CERT_RDN_ATTR,
    CRYPT_ALGORITHM_IDENTIFIER,
)
from capi.errors import (
    CERT_E_CRITICAL,
    CERT_E_INVALID_NAME,
    CERT_E_UNTRUSTEDROOT,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_SELF_SIGNED,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    NTE_BAD_ALGID,
    NTE_BAD_KEYSET,
    NTE_BAD_SIGNATURE,
    TRUST_E_CERT_SIGNATURE,
)
from capi.testing import raises_hresult

WHEN = BASE_TIME + datetime.timedelta(days=10)


def ctx_of(der):
    return CertCreateCertificateContext(X509_ASN_ENCODING, der)


def _resign(der: bytes, key, *, inner_null: bool, outer_null: bool) -> bytes:
    """``der`` re-signed with sha256RSA, the NULL parameter present or not in the TBS
    and outer AlgorithmIdentifiers."""
    tbs = D.seq_reader(der).next()
    parts = [p.raw for p in D.seq_reader(tbs.raw).all()]
    alg = lambda null: D.seq(D.oid(szOID_RSA_SHA256RSA), *([D.null()] if null else []))  # noqa: E731
    parts[2] = alg(inner_null)
    new_tbs = D.seq(*parts)
    sig = key.sign(new_tbs, padding.PKCS1v15(), hashes.SHA256())
    return D.seq(new_tbs, alg(outer_null), D.bits(sig, 0))


# --- item 8: the signature check --------------------------------------------------------


@pytest.mark.parametrize("inner_null, outer_null", [(False, False), (True, False), (False, True)])
def test_rsa_signature_without_null_parameter_is_valid(machine, inner_null, outer_null):
    # Windows verifies the outer signature over the TBS bytes: a self-signed root whose
    # AlgorithmIdentifier omits NULL ends in CERT_E_UNTRUSTEDROOT, not TRUST_E_CERT_SIGNATURE.
    der = _resign(make_cert("nonull"), rsa_key(), inner_null=inner_null, outer_null=outer_null)
    chain = CertGetCertificateChain(None, ctx_of(der), None, None, CERT_CHAIN_PARA(), 0)
    err = chain.TrustStatus.dwErrorStatus
    assert not err & CERT_TRUST_IS_NOT_SIGNATURE_VALID and err & CERT_TRUST_IS_UNTRUSTED_ROOT
    assert CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE, chain, None).dwError == \
        CERT_E_UNTRUSTEDROOT


def test_tampered_signature_still_fails(machine):
    der = bytearray(_resign(make_cert("bad"), rsa_key(), inner_null=False, outer_null=False))
    der[-1] ^= 1
    chain = CertGetCertificateChain(None, ctx_of(bytes(der)), None, None, CERT_CHAIN_PARA(), 0)
    assert CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE, chain, None).dwError == \
        TRUST_E_CERT_SIGNATURE


def _ca_and_leaf(*, constraints=None, leaf_names=(), critical_ext=False):
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Constrained CA", o="Contoso")
    b = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
         .public_key(ca_key.public_key()).serial_number(1).not_valid_before(BASE_TIME)
         .not_valid_after(BASE_TIME + datetime.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if constraints is not None:
        b = b.add_extension(constraints, critical=True)
    ca = b.sign(ca_key, hashes.SHA256())
    lb = (x509.CertificateBuilder().subject_name(name(leaf_names[0] if leaf_names else "leaf"))
          .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(2)
          .not_valid_before(BASE_TIME).not_valid_after(BASE_TIME + datetime.timedelta(days=30)))
    if leaf_names:
        lb = lb.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in leaf_names]),
                              critical=False)
    if critical_ext:
        lb = lb.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00"),
                              critical=True)
    leaf = lb.sign(ca_key, hashes.SHA256())
    enc = serialization.Encoding.DER
    return ca.public_bytes(enc), leaf.public_bytes(enc)


def _chain_with(ca, leaf):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, ca, CERT_STORE_ADD_ALWAYS)
    return CertGetCertificateChain(None, ctx_of(leaf), _ticks(WHEN), store, CERT_CHAIN_PARA(), 0)


def _ticks(dt):
    return (dt - datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(microseconds=1) * 10


@pytest.mark.parametrize("dns, bit", [
    ("www.contoso.com", 0),
    ("www.fabrikam.com", CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT),
    ("secret.contoso.com", CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT),
])
def test_name_constraints_set_trust_bits(machine, dns, bit):
    # CERT_TRUST_STATUS documentation: HAS_NOT_PERMITTED (a name outside the permitted
    # subtrees), HAS_EXCLUDED (a name in an excluded subtree); base policy
    # CERT_E_INVALID_NAME ("not included in the permitted list or is explicitly excluded").
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("contoso.com")],
                              excluded_subtrees=[x509.DNSName("secret.contoso.com")])
    ca, leaf = _ca_and_leaf(constraints=nc, leaf_names=(dns,))
    chain = _chain_with(ca, leaf)
    leaf_err = chain.rgpChain[0].rgpElement[0].TrustStatus.dwErrorStatus
    assert leaf_err & (CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT
                       | CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT) == bit
    if bit:
        status = CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE, chain, None)
        # the untrusted root is reported first; the name error is in the chain status
        assert chain.TrustStatus.dwErrorStatus & bit
        assert status.dwError in (CERT_E_UNTRUSTEDROOT, CERT_E_INVALID_NAME)


def test_unsupported_critical_extension(machine):
    # CERT_TRUST_STATUS documentation: CERT_TRUST_INVALID_EXTENSION and
    # CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT for an unknown critical extension.
    ca, leaf = _ca_and_leaf(critical_ext=True)
    chain = _chain_with(ca, leaf)
    err = chain.rgpChain[0].rgpElement[0].TrustStatus.dwErrorStatus
    assert err & CERT_TRUST_INVALID_EXTENSION and err & CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT
    ca2, leaf2 = _ca_and_leaf()
    assert not _chain_with(ca2, leaf2).rgpChain[0].rgpElement[0].TrustStatus.dwErrorStatus & \
        CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT
    from capi.constants import CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG
    from capi.crypt32.chain import CERT_CHAIN_POLICY_PARA

    para = CERT_CHAIN_POLICY_PARA(CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG)
    assert CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE, chain, para).dwError == CERT_E_CRITICAL


# --- signing and verifying ------------------------------------------------------------------


@pytest.fixture
def csp(machine):
    h = CryptAcquireContext("WineCryptTemp", None, PROV_RSA_FULL, CRYPT_NEWKEYSET)
    return h


def test_sign_certificate_errors_and_matches_sign_hash(csp):
    tbs = CryptEncodeObjectEx(X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED, CERT_INFO(
        dwVersion=CERT_V3, SerialNumber=b"\x01", SignatureAlgorithm=CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA1RSA),
        Issuer=b"\x30\x00", NotBefore=0, NotAfter=0, Subject=b"\x30\x00",
        SubjectPublicKeyInfo=CryptDecodeObjectEx(1, 8, rsa_key().public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))))
    alg = CRYPT_ALGORITHM_IDENTIFIER(None)
    # Wine cert.c testSignCert
    with raises_hresult(NTE_BAD_ALGID):
        CryptSignCertificate(None, 0, 0, tbs, alg)
    alg = CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA1RSA)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptSignCertificate(None, AT_SIGNATURE, 0, tbs, alg)
    with raises_hresult(NTE_BAD_KEYSET):   # Wine accepts NTE_BAD_KEYSET or NTE_NO_KEY
        CryptSignCertificate(csp, AT_SIGNATURE, 0, tbs, alg)
    CryptGenKey(csp, AT_SIGNATURE, 0)
    sig = CryptSignCertificate(csp, AT_SIGNATURE, 0, tbs, alg)
    # verifySig: the signature is what CryptSignHash gives for SHA-1 of the TBS
    h = CryptCreateHash(csp, 0x8004, None, 0)
    CryptHashData(h, tbs, 0)
    assert sig == CryptSignHash(h, AT_SIGNATURE, None, 0)
    # testVerifyCertSig: X509_CERT of the signature verifies with the exported key
    from capi.crypt32.structs import CERT_SIGNED_CONTENT_INFO, CRYPT_BIT_BLOB

    cert = CryptEncodeObjectEx(X509_ASN_ENCODING, X509_CERT, CERT_SIGNED_CONTENT_INFO(
        tbs, alg, CRYPT_BIT_BLOB(sig, 0)))
    pub = CryptExportPublicKeyInfoEx(csp, AT_SIGNATURE, X509_ASN_ENCODING, szOID_RSA_SHA1RSA)
    with raises_hresult(E_INVALIDARG):
        CryptVerifyCertificateSignatureEx(None, 0, 0, None, 0, None)
    with raises_hresult(E_INVALIDARG):
        CryptVerifyCertificateSignatureEx(csp, X509_ASN_ENCODING, 0, None, 0, None)
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CryptVerifyCertificateSignatureEx(csp, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB, b"", 0, None)
    with raises_hresult(E_INVALIDARG):
        CryptVerifyCertificateSignatureEx(csp, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB, cert, 0, None)
    with raises_hresult(E_INVALIDARG):
        CryptVerifyCertificateSignatureEx(csp, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB, cert,
                                          CRYPT_VERIFY_CERT_SIGN_ISSUER_NULL, None)
    assert CryptVerifyCertificateSignatureEx(csp, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB,
                                             cert, CRYPT_VERIFY_CERT_SIGN_ISSUER_PUBKEY, pub)
    # CryptVerifyCertificateSignature: encoding 0 -> ERROR_FILE_NOT_FOUND; empty -> EOD
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CryptVerifyCertificateSignature(None, 0, cert, pub)
    with raises_hresult(CRYPT_E_ASN1_EOD):
        CryptVerifyCertificateSignature(csp, X509_ASN_ENCODING, b"", pub)
    bad = bytearray(cert)
    bad[-1] ^= 0xFF
    with raises_hresult(NTE_BAD_SIGNATURE):
        CryptVerifyCertificateSignature(csp, X509_ASN_ENCODING, bytes(bad), pub)


def test_sign_and_encode_certificate_is_a_real_certificate(machine):
    prov = CryptAcquireContext("signer", MS_ENH_RSA_AES_PROV, PROV_RSA_AES, CRYPT_NEWKEYSET)
    CryptGenKey(prov, AT_SIGNATURE, 0)
    subject = CertStrToName(X509_ASN_ENCODING, "CN=signed by CSP", 0)
    info = CERT_INFO(dwVersion=CERT_V3, SerialNumber=b"\x2a",
                     SignatureAlgorithm=CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA256RSA, b"\x05\x00"),
                     Issuer=subject, NotBefore=_ticks(BASE_TIME),
                     NotAfter=_ticks(BASE_TIME + datetime.timedelta(days=1)), Subject=subject,
                     SubjectPublicKeyInfo=CryptExportPublicKeyInfoEx(prov, AT_SIGNATURE, X509_ASN_ENCODING))
    der = CryptSignAndEncodeCertificate(prov, AT_SIGNATURE, X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED,
                                        info, CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA256RSA, b"\x05\x00"))
    cert = x509.load_der_x509_certificate(der)
    cert.verify_directly_issued_by(cert)            # an independent verifier agrees
    ctx = ctx_of(der)
    assert CryptVerifyCertificateSignatureEx(None, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT, ctx,
                                             CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT, ctx)
    assert CryptHashToBeSigned(None, X509_ASN_ENCODING, der) == \
        hashlib.sha256(cert.tbs_certificate_bytes).digest()


def _independently_verified(ctx, algorithm):
    cert = ctx.x509
    cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)


def test_self_sign_without_key_creates_one(machine):
    # CertCreateSelfSignCertificate documentation: no key -> a new container of the
    # default provider with an AT_SIGNATURE key; sha1RSA; a year of validity.
    subject = CertStrToName(X509_ASN_ENCODING, "CN=Self Signed", 0)
    ctx = CertCreateSelfSignCertificate(None, subject)
    info = ctx.pCertInfo
    assert info.Subject == info.Issuer == subject and info.dwVersion == CERT_V3
    assert info.SignatureAlgorithm.pszObjId == szOID_RSA_SHA1RSA
    assert 365 <= (info.NotAfter - info.NotBefore) // (10_000_000 * 86400) <= 366
    prov_info = ctx.get_property(CERT_KEY_PROV_INFO_PROP_ID)
    assert prov_info.dwKeySpec == AT_SIGNATURE and prov_info.dwProvType == PROV_RSA_FULL
    _independently_verified(ctx, hashes.SHA1())
    # the key stays in its container: the certificate finds it again
    from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey

    handle, spec, _ = CryptAcquireCertificatePrivateKey(ctx, 0x4)  # COMPARE_KEY
    assert spec == AT_SIGNATURE


def test_self_sign_with_given_key_and_flags(machine):
    prov = CryptAcquireContext("given", MS_ENH_RSA_AES_PROV, PROV_RSA_AES, CRYPT_NEWKEYSET)
    CryptGenKey(prov, AT_SIGNATURE, 0)
    subject = CertStrToName(X509_ASN_ENCODING, "CN=Given Key", 0)
    ctx = CertCreateSelfSignCertificate(prov, subject, CERT_CREATE_SELFSIGN_NO_KEY_INFO,
                                        None, CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA256RSA))
    with raises_hresult(CRYPT_E_NOT_FOUND):
        ctx.get_property(CERT_KEY_PROV_INFO_PROP_ID)
    assert CryptVerifyCertificateSignatureEx(None, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT, ctx,
                                             CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT, ctx)


def test_self_sign_on_a_softhsm_token(machine, softhsm_token):
    # The key is made and used on the token; the certificate is signed by it.
    from csp import tokens

    tokens.add_pkcs11(machine, "Contoso HSM CSP", softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin, kind="csp")
    prov = CryptAcquireContext("hsm-self", "Contoso HSM CSP", PROV_RSA_FULL, CRYPT_NEWKEYSET)
    CryptGenKey(prov, AT_SIGNATURE, 0)
    subject = CertStrToName(X509_ASN_ENCODING, "CN=Token Self Signed", 0)
    # PROV_RSA_FULL has no SHA-256 (as Windows' base provider): sha1RSA
    ctx = CertCreateSelfSignCertificate(prov, subject, 0, None,
                                        CRYPT_ALGORITHM_IDENTIFIER(szOID_RSA_SHA1RSA))
    _independently_verified(ctx, hashes.SHA1())
    info = ctx.get_property(CERT_KEY_PROV_INFO_PROP_ID)
    assert info.pwszProvName == "Contoso HSM CSP" and info.pwszContainerName == "hsm-self"


def test_import_public_key_info_ex2_verifies():
    from capi.bcrypt.keys import BCryptVerifySignature
    from capi.bcrypt.structs import BCRYPT_PKCS1_PADDING_INFO

    der = make_cert("pub")
    ctx = ctx_of(der)
    key = CryptImportPublicKeyInfoEx2(X509_ASN_ENCODING, ctx.pCertInfo.SubjectPublicKeyInfo)
    cert = ctx.x509
    BCryptVerifySignature(key, BCRYPT_PKCS1_PADDING_INFO("SHA256"),
                          hashlib.sha256(cert.tbs_certificate_bytes).digest(), cert.signature, 2)
    assert CertGetPublicKeyLength(X509_ASN_ENCODING, ctx.pCertInfo.SubjectPublicKeyInfo) == 2048
    assert CertGetPublicKeyLength(0, ctx.pCertInfo.SubjectPublicKeyInfo) == 0


# --- hashes, comparisons, usages, finders ---------------------------------------------------


def test_hashes():
    der = make_cert("hash")
    ctx = ctx_of(der)
    # CryptHashCertificate: Algid 0 is SHA-1 (Wine cert.c testCryptHashCert: 20 bytes)
    assert CryptHashCertificate(None, 0, 0, der) == hashlib.sha1(der).digest()
    assert CryptHashCertificate(None, 0x800C, 0, der) == hashlib.sha256(der).digest()
    with raises_hresult(NTE_BAD_ALGID):
        CryptHashCertificate(None, 0x6610, 0, der)
    assert CryptHashCertificate2("SHA256", 0, None, der) == hashlib.sha256(der).digest()
    spki = ctx.pCertInfo.SubjectPublicKeyInfo
    spki_der = ctx.x509.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    # CryptHashPublicKeyInfo documentation: Algid 0 is MD5, over the encoded structure
    assert CryptHashPublicKeyInfo(None, 0, 0, X509_ASN_ENCODING, spki) == hashlib.md5(spki_der).digest()
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CryptHashPublicKeyInfo(None, 0, 0, 0, spki)


def test_compare_functions():
    a, b = ctx_of(make_cert("a", serial=7)), ctx_of(make_cert("a", serial=8))
    assert CertCompareCertificateName(1, a.pCertInfo.Issuer, b.pCertInfo.Issuer)
    assert not CertCompareCertificate(1, a.pCertInfo, b.pCertInfo)
    assert CertCompareCertificate(1, a.pCertInfo, a.pCertInfo)
    # CertCompareIntegerBlob: redundant sign bytes do not matter
    assert CertCompareIntegerBlob(b"\x01\x02\x03\x04", b"\x01\x02\x03\x04\x00\x00")
    assert not CertCompareIntegerBlob(b"\x80", b"\x80\x00")
    assert CertCompareIntegerBlob(b"\xff\xff", b"\xff")
    assert CertComparePublicKeyInfo(1, a.pCertInfo.SubjectPublicKeyInfo, b.pCertInfo.SubjectPublicKeyInfo)
    other = ctx_of(make_cert("c", algorithm="ec"))
    assert not CertComparePublicKeyInfo(1, a.pCertInfo.SubjectPublicKeyInfo, other.pCertInfo.SubjectPublicKeyInfo)
    rdn = CERT_RDN([CERT_RDN_ATTR("2.5.4.3", 0, b"a")])
    assert CertIsRDNAttrsInCertificateName(1, 0, a.pCertInfo.Subject, rdn)
    assert not CertIsRDNAttrsInCertificateName(1, 0, a.pCertInfo.Subject,
                                               CERT_RDN([CERT_RDN_ATTR("2.5.4.3", 0, b"zz")]))


def test_time_validity():
    info = ctx_of(make_cert("t", days=10)).pCertInfo
    assert CertVerifyTimeValidity(info.NotBefore - 1, info) == -1
    assert CertVerifyTimeValidity(info.NotBefore + 1, info) == 0
    assert CertVerifyTimeValidity(info.NotAfter + 1, info) == 1


def test_enhanced_key_usage(machine):
    ctx = ctx_of(make_cert("eku", eku=(szOID_PKIX_KP_SERVER_AUTH,)))
    assert CertGetEnhancedKeyUsage(ctx, 0).rgpszUsageIdentifier == [szOID_PKIX_KP_SERVER_AUTH]
    CertAddEnhancedKeyUsageIdentifier(ctx, szOID_PKIX_KP_CLIENT_AUTH)
    # the property is read first; EXT_ONLY still sees the extension
    assert CertGetEnhancedKeyUsage(ctx, 0).rgpszUsageIdentifier == [szOID_PKIX_KP_CLIENT_AUTH]
    assert CertGetEnhancedKeyUsage(ctx, CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG).cUsageIdentifier == 1
    plain = ctx_of(make_cert("plain"))
    assert CertGetEnhancedKeyUsage(plain, 0).rgpszUsageIdentifier == []
    assert CertGetValidUsages([plain]) == (-1, [])
    assert CertGetValidUsages([plain, ctx]) == (1, [szOID_PKIX_KP_CLIENT_AUTH])
    ext = CertFindExtension("2.5.29.37", ctx.pCertInfo.rgExtension)
    assert isinstance(ext, CERT_EXTENSION) and not ext.fCritical
    assert CertFindExtension("1.2.3", ctx.pCertInfo.rgExtension) is None


def test_issuer_and_subject_from_store(machine):
    ca_key, leaf_key = rsa_key(), ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Store CA")
    ca = make_cert(subject=ca_name, key=ca_key, ca=True)
    leaf = make_cert("leaf", key=leaf_key, issuer=(ca_name, ca_key))
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(store, 1, ca, CERT_STORE_ADD_ALWAYS)
    CertAddEncodedCertificateToStore(store, 1, leaf, CERT_STORE_ADD_ALWAYS)
    leaf_ctx = ctx_of(leaf)
    issuer, flags = CertGetIssuerCertificateFromStore(
        store, leaf_ctx, None, CERT_STORE_SIGNATURE_FLAG | CERT_STORE_TIME_VALIDITY_FLAG)
    assert issuer.pbCertEncoded == ca
    assert not flags & CERT_STORE_SIGNATURE_FLAG     # the signature checked out
    with raises_hresult(CRYPT_E_SELF_SIGNED):
        CertGetIssuerCertificateFromStore(store, ctx_of(ca), None, 0)
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetIssuerCertificateFromStore(store, leaf_ctx, issuer, 0)
    assert CertVerifySubjectCertificateContext(leaf_ctx, ctx_of(ca), CERT_STORE_SIGNATURE_FLAG) == 0
    assert CertVerifySubjectCertificateContext(leaf_ctx, leaf_ctx, CERT_STORE_SIGNATURE_FLAG) == \
        CERT_STORE_SIGNATURE_FLAG
    with raises_hresult(E_INVALIDARG):
        CertVerifySubjectCertificateContext(leaf_ctx, None, CERT_STORE_SIGNATURE_FLAG)
    found = CertGetSubjectCertificateFromStore(store, 1, leaf_ctx.pCertInfo)
    assert found.pbCertEncoded == leaf
    with raises_hresult(E_INVALIDARG):
        CertGetSubjectCertificateFromStore(store, 0, None)
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetSubjectCertificateFromStore(store, 1, ctx_of(make_cert("elsewhere")).pCertInfo)

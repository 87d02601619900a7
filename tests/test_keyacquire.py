"""CryptAcquireCertificatePrivateKey and CryptFindCertificateKeyProvInfo."""

import pytest
from cryptography.hazmat.primitives import serialization
from helpers_pfx import make_cert, material

from capi import *
from capi.advapi32 import crypt as api
from capi.ncrypt import keystorage as nc
from capi.testing import raises_hresult


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def cert_ctx(machine):
    """A certificate for material().rsa2048 in a memory store, no key info yet."""
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    return CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING,
                                            _der(make_cert(material().rsa2048, "acq")), CERT_STORE_ADD_NEW)


def _capi_container(name, spec=AT_KEYEXCHANGE, key=None, machine_keyset=True, prov=MS_ENHANCED_PROV):
    from capi.formats.blobs import capi_private_blob

    key = key or material().rsa2048
    alg = CALG_RSA_KEYX if spec == AT_KEYEXCHANGE else CALG_RSA_SIGN
    flags = CRYPT_NEWKEYSET | (CRYPT_MACHINE_KEYSET if machine_keyset else 0)
    with api.CryptAcquireContext(name, prov, PROV_RSA_FULL, flags) as h:
        api.CryptImportKey(h, capi_private_blob(key, alg), None, CRYPT_EXPORTABLE)
    return CRYPT_KEY_PROV_INFO(name, prov, PROV_RSA_FULL,
                               CRYPT_MACHINE_KEYSET if machine_keyset else 0, spec)


def test_no_key_info(cert_ctx):
    # docs/windows-facts.md §2 #41 (Wine cert.c testAcquireCertPrivateKey)
    with raises_hresult(CRYPT_E_NO_KEY_PROPERTY):
        CryptAcquireCertificatePrivateKey(cert_ctx, 0)


def test_missing_container(cert_ctx):
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, CRYPT_KEY_PROV_INFO(
        "{NOT-THERE}", MS_ENHANCED_PROV, PROV_RSA_FULL, CRYPT_MACHINE_KEYSET, AT_KEYEXCHANGE))
    with raises_hresult(NTE_BAD_KEYSET):
        CryptAcquireCertificatePrivateKey(cert_ctx, 0)


def test_flags_zero_caller_frees(cert_ctx):
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, _capi_container("acq0"))
    SetLastError(5)
    handle, spec, free = CryptAcquireCertificatePrivateKey(cert_ctx, 0)
    assert isinstance(handle, HCRYPTPROV) and spec == AT_KEYEXCHANGE and free is True
    assert GetLastError() == 0  # docs/windows-facts.md §2 #42
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(cert_ctx, CERT_KEY_CONTEXT_PROP_ID)


def test_cache_flag_sets_key_context(cert_ctx):
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, _capi_container("acq1"))
    handle, spec, free = CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_CACHE_FLAG)
    assert free is False
    kc = CertGetCertificateContextProperty(cert_ctx, CERT_KEY_CONTEXT_PROP_ID)
    assert kc.hCryptProv is handle and kc.dwKeySpec == spec
    again, _, free2 = CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_CACHE_FLAG)
    assert again is handle and free2 is False


@pytest.mark.parametrize("info_flags, expected_free", [(0, True), (CERT_SET_KEY_CONTEXT_PROP_ID, False)])
def test_use_prov_info_flag(cert_ctx, info_flags, expected_free):
    info = _capi_container("acq2")
    info.dwFlags |= info_flags
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    # Windows: USE_PROV_INFO caches only if the key info's dwFlags has 0x1 (§2 #42).
    _, _, free = CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_USE_PROV_INFO_FLAG)
    assert free is expected_free


def test_compare_key(cert_ctx):
    other = material().rsa1024
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0,
                                      _capi_container("acq3", key=other))
    CryptAcquireCertificatePrivateKey(cert_ctx, 0)  # no check without the flag
    with raises_hresult(NTE_BAD_PUBLIC_KEY):
        CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_COMPARE_KEY_FLAG)


def test_cng_key_needs_an_ncrypt_flag(cert_ctx):
    with nc.NCryptOpenStorageProvider() as prov:
        key = nc.NCryptCreatePersistedKey(prov, "RSA", "cngacq", 0, NCRYPT_MACHINE_KEY_FLAG)
        nc.NCryptFinalizeKey(key)
    # A fresh key: it does not match the certificate, which only COMPARE_KEY notices.
    pub = key.key.public
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, CRYPT_KEY_PROV_INFO(
        "cngacq", MS_KEY_STORAGE_PROVIDER, 0, NCRYPT_MACHINE_KEY_FLAG, 0))
    # Provider type 0 through CryptoAPI: NTE_BAD_PROV_TYPE (docs/windows-facts.md §2 #41, Windows 10).
    with raises_hresult(NTE_BAD_PROV_TYPE):
        CryptAcquireCertificatePrivateKey(cert_ctx, 0)
    for flag in (CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG, CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG,
                 CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG):
        handle, spec, free = CryptAcquireCertificatePrivateKey(cert_ctx, flag)
        assert isinstance(handle, nc.NCRYPT_KEY_HANDLE) and spec == CERT_NCRYPT_KEY_SPEC and free
        assert handle.key.public.public_numbers() == pub.public_numbers()
    with raises_hresult(NTE_BAD_PUBLIC_KEY):
        CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG
                                          | CRYPT_ACQUIRE_COMPARE_KEY_FLAG)


def test_capi_key_through_cng(cert_ctx):
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, _capi_container("acq4"))
    handle, spec, _ = CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG)
    assert isinstance(handle, HCRYPTPROV) and spec == AT_KEYEXCHANGE  # ALLOW keeps CAPI keys CAPI
    for flag in (CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG, CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG):
        handle, spec, _ = CryptAcquireCertificatePrivateKey(cert_ctx, flag | CRYPT_ACQUIRE_COMPARE_KEY_FLAG)
        assert isinstance(handle, nc.NCRYPT_KEY_HANDLE) and spec == CERT_NCRYPT_KEY_SPEC
        # SHA-256 works through CNG even though the key lives in a PROV_RSA_FULL CSP.
        digest = bytes(32)
        pad = nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
        sig = nc.NCryptSignHash(handle, pad, digest, BCRYPT_PAD_PKCS1)
        nc.NCryptVerifySignature(handle, pad, digest, sig, BCRYPT_PAD_PKCS1)
        assert nc.NCryptGetProperty(handle, NCRYPT_NAME_PROPERTY) == "acq4"


def test_only_ncrypt_with_a_smart_card_csp(cert_ctx):
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, CRYPT_KEY_PROV_INFO(
        "card", MS_SCARD_PROV, PROV_RSA_FULL, 0, AT_KEYEXCHANGE))
    with raises_hresult(SCARD_E_NO_READERS_AVAILABLE):
        CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG)


def test_null_certificate(machine):
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptAcquireCertificatePrivateKey(None, 0)


# --- CryptFindCertificateKeyProvInfo ----------------------------------------------------------


def test_find_key_prov_info_capi(cert_ctx):
    _capi_container("{AAAA-FIND}", spec=AT_SIGNATURE)
    assert CryptFindCertificateKeyProvInfo(cert_ctx, 0) is True
    info = CertGetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert (info.pwszContainerName, info.dwFlags, info.dwKeySpec) == ("{AAAA-FIND}", CRYPT_MACHINE_KEYSET, AT_SIGNATURE)
    assert info.dwProvType == PROV_RSA_FULL
    handle, spec, _ = CryptAcquireCertificatePrivateKey(cert_ctx, CRYPT_ACQUIRE_COMPARE_KEY_FLAG)
    assert spec == AT_SIGNATURE


def test_find_key_prov_info_user_only(cert_ctx):
    _capi_container("{MACHINE-ONLY}")
    with raises_hresult(NTE_NOT_FOUND):
        CryptFindCertificateKeyProvInfo(cert_ctx, CRYPT_FIND_USER_KEYSET_FLAG)
    assert CryptFindCertificateKeyProvInfo(cert_ctx, CRYPT_FIND_MACHINE_KEYSET_FLAG)


def test_find_key_prov_info_cng(cert_ctx):
    with nc.NCryptOpenStorageProvider() as prov:
        blob = material().rsa2048.private_bytes(serialization.Encoding.DER,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption())
        from csp.base import KeyScope
        from csp.identity import token_for

        machine = current_machine()
        prov.provider.import_key(KeyScope(machine, token_for(machine), True), NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
                                 blob, "cng-found", 0)
    assert CryptFindCertificateKeyProvInfo(cert_ctx, 0)
    info = CertGetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert (info.pwszContainerName, info.pwszProvName, info.dwProvType, info.dwKeySpec) == \
        ("cng-found", MS_KEY_STORAGE_PROVIDER, 0, 0)


def test_find_key_prov_info_not_found(cert_ctx):
    # "Install certificate after deleting the pending certificate request (IIS 6.0)":
    # certutil -repairstore reports 0x80090011 NTE_NOT_FOUND.
    with raises_hresult(NTE_NOT_FOUND):
        CryptFindCertificateKeyProvInfo(cert_ctx, 0)
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID)


def test_find_keeps_matching_key_info(cert_ctx):
    info = _capi_container("{KEEP}")
    _capi_container("{OTHER}")
    CertSetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    CryptFindCertificateKeyProvInfo(cert_ctx, 0)
    assert CertGetCertificateContextProperty(cert_ctx, CERT_KEY_PROV_INFO_PROP_ID).pwszContainerName == "{KEEP}"

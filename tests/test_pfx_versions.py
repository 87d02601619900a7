"""PFX algorithms per Windows version.

Windows before Windows 10 1709 / Server 2019 cannot read a PFX protected with PBES2
(AES-256) or an HMAC-SHA256 MAC — OpenSSL 3's default — and reports the wrong-password
error ERROR_INVALID_PASSWORD ("The specified network password is not correct."). From
2019, PFXExportCertStoreEx writes AES256-SHA256 when asked with PKCS12_EXPORT_PBES2_PARAMS
(PKCS12_PBES2_EXPORT_PARAMS documentation: minimum supported server Windows Server 2019);
its default stays 3DES with an SHA-1 MAC.
"""

from __future__ import annotations

import pytest
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from helpers_certs import make_cert, rsa_key

from capi.constants import (
    EXPORT_PRIVATE_KEYS,
    PKCS12_EXPORT_PBES2_PARAMS,
    X509_ASN_ENCODING,
)
from capi.crypt32.pfx import (
    PKCS12_PBES2_EXPORT_PARAMS,
    PFXExportCertStoreEx,
    PFXImportCertStore,
    uses_pbes2_or_sha2_mac,
)
from capi.errors import E_INVALIDARG, ERROR_INVALID_PASSWORD
from capi.host.context import use_machine
from capi.testing import raises_hresult

PASSWORD = "P@ssw0rd"


def _pfx(legacy: bool) -> bytes:
    cert = x509.load_der_x509_certificate(make_cert("pfx.contoso.com"))
    if legacy:
        enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
               .kdf_rounds(2000)
               .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
               .hmac_hash(hashes.SHA1()).build(PASSWORD.encode()))
    else:  # OpenSSL 3's default: PBES2, AES-256-CBC, PBKDF2-SHA256, HMAC-SHA256
        enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    return pkcs12.serialize_key_and_certificates(b"x", rsa_key(), cert, None, enc)


def _algorithms(pfx: bytes) -> tuple[bool, str]:
    mac = asn1_pkcs12.Pfx.load(pfx)["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native
    return uses_pbes2_or_sha2_mac(pfx), mac


@pytest.mark.parametrize("os_version, readable", [
    ("2008R2", False), ("2012R2", False), ("2016", False), ("2019", True), ("2022", True),
    ("2025", True),
])
def test_openssl3_pfx_per_version(make_machine, os_version, readable):
    pfx = _pfx(legacy=False)
    assert _algorithms(pfx) == (True, "sha256")
    machine = make_machine(os_version=os_version)
    with use_machine(machine):
        if readable:
            store = PFXImportCertStore(pfx, PASSWORD, 0)
            assert len(list(store)) == 1
        else:
            with raises_hresult(ERROR_INVALID_PASSWORD):
                PFXImportCertStore(pfx, PASSWORD, 0)


@pytest.mark.parametrize("os_version", ["2008R2", "2016", "2019"])
def test_legacy_pfx_reads_everywhere(make_machine, os_version):
    pfx = _pfx(legacy=True)
    assert _algorithms(pfx) == (False, "sha1")
    with use_machine(make_machine(os_version=os_version)):
        assert len(list(PFXImportCertStore(pfx, PASSWORD, 0))) == 1


def test_export_algorithms(make_machine):
    from capi.constants import CERT_STORE_ADD_ALWAYS, CERT_STORE_PROV_MEMORY
    from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore

    with use_machine(make_machine(os_version="2019")):
        store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, make_cert("e"), CERT_STORE_ADD_ALWAYS)
        default = PFXExportCertStoreEx(store, PASSWORD, None, EXPORT_PRIVATE_KEYS)
        assert _algorithms(default) == (False, "sha1")        # 3DES / SHA-1 by default
        aes = PFXExportCertStoreEx(store, PASSWORD, PKCS12_PBES2_EXPORT_PARAMS(),
                                   EXPORT_PRIVATE_KEYS | PKCS12_EXPORT_PBES2_PARAMS)
        assert _algorithms(aes) == (True, "sha256")
        # and the 2019 machine reads its own AES export back
        assert len(list(PFXImportCertStore(aes, PASSWORD, 0))) == 1
    with use_machine(make_machine(os_version="2016")):
        store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, make_cert("f"), CERT_STORE_ADD_ALWAYS)
        assert _algorithms(PFXExportCertStoreEx(store, PASSWORD, None, EXPORT_PRIVATE_KEYS)) == (False, "sha1")
        # the flag and its parameters do not exist before 2019 (divergence noted: the
        # exact code older Windows returns is not documented)
        with raises_hresult(E_INVALIDARG):
            PFXExportCertStoreEx(store, PASSWORD, PKCS12_PBES2_EXPORT_PARAMS(),
                                 EXPORT_PRIVATE_KEYS | PKCS12_EXPORT_PBES2_PARAMS)

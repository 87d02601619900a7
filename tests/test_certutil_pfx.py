"""winpki certutil -importPFX / -exportPFX / -repairstore / -verifykeys / -store -v."""

import io
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from helpers_pfx import MS_STRONG, PfxFactory, make_cert, material

from capi import *
from capi.advapi32 import crypt as api
from capi.formats import pkcs12
from winpki.cli import main


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out, err)
    return rc, out.getvalue().splitlines()


@pytest.fixture
def pfx_file(tmp_path):
    factory = PfxFactory(tmp_path / "pfx")

    def make(name="a.pfx", **kw):
        path = tmp_path / name
        path.write_bytes(factory.make(**kw))
        return str(path)

    make.factory = factory
    return make


def _my(location=CERT_SYSTEM_STORE_LOCAL_MACHINE, name="My"):
    return CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, location, name)


def _key_files(machine):
    host = machine.host_path(machine.machine_keys_dir)
    return sorted(os.listdir(host)) if host.is_dir() else []


def _leaf_info():
    with _my() as store:
        ctx = CertFindCertificateInStore(store, X509_ASN_ENCODING, 0, CERT_FIND_SUBJECT_STR,
                                         "www.example.test", None)
        return ctx, CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)


# --- -importPFX ------------------------------------------------------------------------------


def test_import_pfx_default_store_and_chain(machine, pfx_file):
    rc, lines = run("-p", "pw", "-importPFX", pfx_file(chain=True))
    assert rc == 0, lines
    assert lines == ['Certificate "www.example.test" added to store.',
                     'Certificate "winpki test CA" added to store.', "",
                     "CertUtil: -importPFX command completed successfully."]
    _, info = _leaf_info()
    # certutil imports into LocalMachine\My with a machine key, exportable by default.
    assert info.dwFlags == CRYPT_MACHINE_KEYSET and info.dwKeySpec == AT_KEYEXCHANGE
    with api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                                 CRYPT_MACHINE_KEYSET) as prov:
        assert api.CryptGetKeyParam(api.CryptGetUserKey(prov, AT_KEYEXCHANGE), KP_PERMISSIONS) == 0x3F
    with _my(name="Root") as root:
        assert len(root) == 1  # the self-signed CA certificate


def test_import_pfx_modifiers(machine, pfx_file):
    rc, lines = run("-p", "pw", "-importPFX", "My", pfx_file(chain=True), "NoExport,AT_SIGNATURE,NoRoot")
    assert rc == 0, lines
    assert lines[0] == 'Certificate "www.example.test" added to store.'
    _, info = _leaf_info()
    assert info.dwKeySpec == AT_SIGNATURE
    with api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                                 CRYPT_MACHINE_KEYSET) as prov:
        assert api.CryptGetKeyParam(api.CryptGetUserKey(prov, AT_SIGNATURE), KP_PERMISSIONS) == 0x3B
    with _my(name="Root") as root:
        assert len(root) == 0


def test_import_pfx_csp_option(machine, pfx_file):
    rc, lines = run("-p", "pw", "-csp", MS_KEY_STORAGE_PROVIDER, "-importPFX", pfx_file())
    assert rc == 0, lines
    _, info = _leaf_info()
    assert (info.pwszProvName, info.dwProvType, info.dwKeySpec) == (MS_KEY_STORAGE_PROVIDER, 0, 0)


def test_import_pfx_user(machine, pfx_file):
    rc, lines = run("-user", "-p", "pw", "-importPFX", pfx_file())
    assert rc == 0, lines
    with _my(CERT_SYSTEM_STORE_CURRENT_USER) as store:
        ctx = CertEnumCertificatesInStore(store, None)
        assert CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID).dwFlags == 0
    assert _key_files(machine) == []


def test_import_pfx_wrong_password(machine, pfx_file):
    rc, lines = run("-p", "nope", "-importPFX", pfx_file())
    assert rc != 0
    assert lines == ["CertUtil: -importPFX command FAILED: 0x80070056 (WIN32: 86 ERROR_INVALID_PASSWORD)",
                     "CertUtil: The specified network password is not correct."]
    assert _key_files(machine) == []


def test_import_pfx_existing_certificate(machine, pfx_file):
    path = pfx_file()
    assert run("-p", "pw", "-importPFX", path)[0] == 0
    keys = _key_files(machine)
    rc, lines = run("-p", "pw", "-importPFX", path)
    assert rc != 0
    assert lines[0] == "CertUtil: -importPFX command FAILED: 0x80092005 (-2146885627 CRYPT_E_EXISTS)"
    assert _key_files(machine) == keys  # the second import's key was removed again
    rc, _ = run("-f", "-p", "pw", "-importPFX", path)
    assert rc == 0


def test_import_pfx_not_admin_leaves_nothing(machine, pfx_file):
    from capi.host.accounts import create_local_user

    path = pfx_file()
    create_local_user(machine, "bob")
    with run_as("bob"):
        rc, lines = run("-p", "pw", "-importPFX", path)
    assert rc != 0
    assert lines[0].startswith("CertUtil: -importPFX command FAILED: 0x80070005 (WIN32: 5 ")
    assert _key_files(machine) == []


def test_import_pfx_missing_file(machine, tmp_path):
    rc, lines = run("-p", "pw", "-importPFX", str(tmp_path / "nope.pfx"))
    assert rc != 0
    assert lines[0] == "CertUtil: -importPFX command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)"


# --- -store -v key section (0x80070520 article) ----------------------------------------------------------


def test_store_verbose_key_section(machine, pfx_file):
    run("-p", "pw", "-importPFX", pfx_file(options=["-keysig", "-CSP", MS_STRONG]))
    ctx, info = _leaf_info()
    rc, lines = run("-v", "-store", "my", ctx.thumbprint)
    assert rc == 0
    i = lines.index("CERT_KEY_PROV_INFO_PROP_ID(2):")
    with api.CryptAcquireContext(info.pwszContainerName, MS_STRONG, PROV_RSA_FULL, CRYPT_MACHINE_KEYSET) as p:
        unique = api.CryptGetProvParam(p, PP_UNIQUE_CONTAINER)
    assert lines[i + 1:i + 8] == [
        f"  Key Container = {info.pwszContainerName}",
        f"  Unique container name: {unique}",
        "  Provider = Microsoft Strong Cryptographic Provider",
        "  ProviderType = 1",
        "  Flags = 20",
        "  KeySpec = 2 -- AT_SIGNATURE",
        "Signature test passed",
    ]


# --- -exportPFX --------------------------------------------------------------------------------


def test_export_pfx(machine, pfx_file, tmp_path):
    run("-p", "pw", "-importPFX", pfx_file(chain=True))
    out = tmp_path / "out.pfx"
    rc, lines = run("-p", "secret", "-exportPFX", "my", "www.example.test", str(out))
    assert rc == 0, lines
    assert lines[-1] == "CertUtil: -exportPFX command completed successfully."
    parsed = pkcs12.parse_pfx(out.read_bytes(), "secret")
    assert len(parsed.keys) == 1 and len(parsed.certs) == 2  # the chain comes along
    assert parsed.keys[0].machine_keyset and parsed.keys[0].csp_name == MS_ENHANCED_PROV
    rc, lines = run("-p", "secret", "-exportPFX", "my", "www.example.test", str(out))
    assert lines[-2].startswith("CertUtil: -exportPFX command FAILED: 0x80070050")


def test_export_pfx_not_exportable(machine, pfx_file, tmp_path):
    run("-p", "pw", "-importPFX", pfx_file(), "NoExport")
    rc, lines = run("-p", "x", "-exportPFX", "my", "www.example.test", str(tmp_path / "o.pfx"))
    assert rc != 0
    # "Importing and exporting certificates" (Windows Server 2003 help) / docs/windows-facts.md §7.
    assert lines[-2:] == ["CertUtil: -exportPFX command FAILED: 0x8009000b (-2146893813 NTE_BAD_KEY_STATE)",
                          "CertUtil: Key not valid for use in specified state."]
    assert not (tmp_path / "o.pfx").exists()


def test_export_pfx_key_gone(machine, pfx_file, tmp_path):
    run("-p", "pw", "-importPFX", pfx_file())
    _, info = _leaf_info()
    api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                            CRYPT_MACHINE_KEYSET | CRYPT_DELETEKEYSET)
    rc, lines = run("-p", "x", "-exportPFX", "my", "www.example.test", str(tmp_path / "o.pfx"))
    # docs/windows-facts.md §7: "CertUtil: -exportPFX command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)"
    assert lines[-2:] == ["CertUtil: -exportPFX command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)",
                          "CertUtil: Keyset does not exist"]


# --- -repairstore (IIS 6.0 pending-request page) -----------------------------------------------------


def _orphan_certificate(tmp_path, key):
    cert = make_cert(key, "repair.example.test", serial=77)
    path = tmp_path / "repair.cer"
    path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    assert run("-addstore", "my", str(path))[0] == 0
    return cert


def test_repairstore_relinks_the_key(machine, tmp_path):
    from capi.formats.blobs import capi_private_blob

    key = material().rsa1024
    with api.CryptAcquireContext("{PENDING-REQUEST-KEY}", MS_STRONG_PROV, PROV_RSA_FULL,
                                 CRYPT_NEWKEYSET | CRYPT_MACHINE_KEYSET) as prov:
        api.CryptImportKey(prov, capi_private_blob(key, CALG_RSA_KEYX), None, 0)
    cert = _orphan_certificate(tmp_path, key)
    thumb = cert.fingerprint(hashes.SHA1()).hex()
    rc, lines = run("-store", "my", thumb)
    assert "No key provider information" in lines
    rc, lines = run("-repairstore", "my", thumb)
    assert rc == 0, lines
    assert "  Key Container = {PENDING-REQUEST-KEY}" in lines
    assert "Encryption test passed" in lines
    assert "Private key is NOT exportable" in lines
    assert lines[-1] == "CertUtil: -repairstore command completed successfully."
    rc, lines = run("-store", "my", thumb)
    assert "Encryption test passed" in lines  # the link persisted


def test_repairstore_key_gone(machine, tmp_path):
    cert = _orphan_certificate(tmp_path, material().rsa1024)
    serial = f"{cert.serial_number:x}"
    rc, lines = run("-repairstore", "my", serial)
    assert rc != 0
    assert lines[-2:] == ["CertUtil: -repairstore command FAILED: 0x80090011 (-2146893807 NTE_NOT_FOUND)",
                          "CertUtil: Object was not found."]


# --- -verifykeys ----------------------------------------------------------------------------------


def test_verifykeys(machine, pfx_file):
    run("-p", "pw", "-importPFX", pfx_file())
    rc, lines = run("-verifykeys")
    assert rc == 0, lines
    assert "Private key matches the certificate's public key" in lines
    assert "Encryption test passed" in lines


def test_verifykeys_container_and_cert(machine, pfx_file, tmp_path):
    run("-p", "pw", "-importPFX", pfx_file())
    ctx, info = _leaf_info()
    cer = tmp_path / "leaf.cer"
    cer.write_bytes(ctx.pbCertEncoded)
    rc, lines = run("-verifykeys", info.pwszContainerName, str(cer))
    assert rc == 0 and "Private key matches the certificate's public key" in lines
    other = tmp_path / "other.cer"
    other.write_bytes(pfx_file.factory.ca_cert.public_bytes(serialization.Encoding.DER))
    rc, lines = run("-verifykeys", info.pwszContainerName, str(other))
    assert rc != 0
    assert lines[-2] == "CertUtil: -verifykeys command FAILED: 0x80090015 (-2146893803 NTE_BAD_PUBLIC_KEY)"

"""PFXImportCertStore / PFXExportCertStoreEx against PFX files made by `openssl pkcs12`."""

import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from helpers_pfx import AES256, LEGACY_3DES, MS_ENHANCED, MS_STRONG, OPENSSL, PfxFactory, material

from capi import *
from capi.advapi32 import crypt as api
from capi.crypt32 import pfx as pfxmod
from capi.formats import pkcs12
from capi.ncrypt import keystorage as nc
from capi.testing import raises_hresult


@pytest.fixture
def files(tmp_path):
    return PfxFactory(tmp_path / "pfx")


def _key_files(machine):
    out = []
    for d in (machine.machine_keys_dir, machine.cng_machine_keys_dir):
        host = machine.host_path(d)
        out += sorted(os.listdir(host)) if host.is_dir() else []
    return out


def _leaf(store):
    for ctx in store:
        if CERT_KEY_PROV_INFO_PROP_ID in ctx.properties() or CERT_KEY_CONTEXT_PROP_ID in ctx.properties():
            return ctx
    raise AssertionError("no certificate with a key")


def _info(ctx):
    return CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)


# --- PFXIsPFXBlob / PFXVerifyPassword ------------------------------------------------------


def test_is_pfx_and_verify_password(machine, files):
    data = files.make(password="pw")
    assert PFXIsPFXBlob(data) is True
    assert PFXIsPFXBlob(b"\x30\x03\x02\x01\x03") is False
    assert PFXVerifyPassword(data, "pw") is True
    assert PFXVerifyPassword(data, "wrong") is False


# --- provider, KeySpec and machine keyset ---------------------------------------------------


@pytest.mark.parametrize("options, spec", [
    ([], AT_KEYEXCHANGE),            # no key usage: RSA -> AT_KEYEXCHANGE (docs/windows-facts.md §5)
    (["-keyex"], AT_KEYEXCHANGE),    # X509v3 Key Usage: 10
    (["-keysig"], AT_SIGNATURE),     # X509v3 Key Usage: 80
])
def test_keyspec_from_pkcs8_key_usage(machine, files, options, spec):
    store = PFXImportCertStore(files.make(options=options), "pw", 0)
    info = _info(_leaf(store))
    # Windows: no CSP name in the PFX -> Microsoft Enhanced Cryptographic Provider v1.0
    assert (info.pwszProvName, info.dwProvType, info.dwKeySpec) == (MS_ENHANCED_PROV, PROV_RSA_FULL, spec)
    assert info.dwFlags == 0  # no 17.2 marker: a user key
    assert info.pwszContainerName.startswith("{") and info.pwszContainerName.endswith("}")
    assert info.pwszContainerName == info.pwszContainerName.upper()


def test_csp_name_and_local_machine_marker(machine, files):
    data = files.make(options=["-keysig", "-CSP", MS_STRONG, "-LMK"])
    info = _info(_leaf(PFXImportCertStore(data, "pw", 0)))
    assert info.pwszProvName == MS_STRONG
    assert info.dwFlags == CRYPT_MACHINE_KEYSET
    assert info.dwKeySpec == AT_SIGNATURE
    # The key is in MachineKeys under the Windows unique name of the new container.
    with api.CryptAcquireContext(info.pwszContainerName, MS_STRONG, PROV_RSA_FULL,
                                 CRYPT_MACHINE_KEYSET) as prov:
        unique = api.CryptGetProvParam(prov, PP_UNIQUE_CONTAINER)
        api.CryptGetUserKey(prov, AT_SIGNATURE)
        with raises_hresult(NTE_NO_KEY):
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
    assert unique in _key_files(machine)


def test_user_keyset_wins_over_marker(machine, files):
    data = files.make(options=["-LMK"])
    info = _info(_leaf(PFXImportCertStore(data, "pw", CRYPT_USER_KEYSET)))
    # PFXImportCertStore docs: CRYPT_USER_KEYSET wins "even if the PFX BLOB specifies"
    # the local computer.
    assert info.dwFlags == 0
    assert _key_files(machine) == []


def test_machine_keyset_flag_forces_machine(machine, files):
    info = _info(_leaf(PFXImportCertStore(files.make(), "pw", CRYPT_MACHINE_KEYSET)))
    assert info.dwFlags == CRYPT_MACHINE_KEYSET


def test_invalid_csp_name_falls_back_by_provider_type(machine, files):
    data = files.make(options=["-CSP", "No Such Provider v9"])
    info = _info(_leaf(PFXImportCertStore(data, "pw", 0)))
    # docs/windows-facts.md §5: an invalid name falls back to the default of the provider type.
    assert (info.pwszProvName, info.dwProvType) == (MS_STRONG_PROV, PROV_RSA_FULL)


@pytest.mark.parametrize("flag", [PKCS12_PREFER_CNG_KSP, PKCS12_ALWAYS_CNG_KSP])
def test_cng_placement(machine, files, flag):
    data = files.make(options=["-keysig", "-LMK"])
    info = _info(_leaf(PFXImportCertStore(data, "pw", flag)))
    assert (info.pwszProvName, info.dwProvType, info.dwKeySpec) == (MS_KEY_STORAGE_PROVIDER, 0, 0)
    with nc.NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER) as prov:
        key = nc.NCryptOpenKey(prov, info.pwszContainerName, 0, NCRYPT_MACHINE_KEY_FLAG)
        # -keysig: signing bits only -> ALLOW_SIGNING; not exportable without CRYPT_EXPORTABLE.
        assert nc.NCryptGetProperty(key, NCRYPT_KEY_USAGE_PROPERTY) == NCRYPT_ALLOW_SIGNING_FLAG
        assert nc.NCryptGetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY) == 0


def test_prefer_cng_keeps_a_named_csp(machine, files):
    data = files.make(options=["-CSP", MS_ENHANCED])
    info = _info(_leaf(PFXImportCertStore(data, "pw", PKCS12_PREFER_CNG_KSP)))
    assert info.pwszProvName == MS_ENHANCED
    info = _info(_leaf(PFXImportCertStore(data, "pw", PKCS12_ALWAYS_CNG_KSP)))
    assert info.pwszProvName == MS_KEY_STORAGE_PROVIDER


def test_cng_exportable_is_allow_export(machine, files):
    info = _info(_leaf(PFXImportCertStore(files.make(), "pw", PKCS12_ALWAYS_CNG_KSP | CRYPT_EXPORTABLE)))
    with nc.NCryptOpenStorageProvider() as prov:
        key = nc.NCryptOpenKey(prov, info.pwszContainerName, 0, 0)
        assert nc.NCryptGetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY) == NCRYPT_ALLOW_EXPORT_FLAG
        assert nc.NCryptGetProperty(key, NCRYPT_KEY_USAGE_PROPERTY) == NCRYPT_ALLOW_ALL_USAGES


def test_ecdsa_key_goes_to_the_ksp(machine, files):
    data = files.make(key=material().p256)
    info = _info(_leaf(PFXImportCertStore(data, "pw", 0)))
    assert (info.pwszProvName, info.dwProvType) == (MS_KEY_STORAGE_PROVIDER, 0)


def test_exportable_flag_sets_capi_permissions(machine, files):
    data = files.make()
    for flags, perms in ((0, 0x3B), (CRYPT_EXPORTABLE, 0x3F)):
        info = _info(_leaf(PFXImportCertStore(data, "pw", flags)))
        with api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType, 0) as prov:
            key = api.CryptGetUserKey(prov, info.dwKeySpec)
            assert api.CryptGetKeyParam(key, KP_PERMISSIONS) == perms


@pytest.mark.parametrize("encryption", [LEGACY_3DES, AES256])
def test_encryptions(machine, files, encryption):
    store = PFXImportCertStore(files.make(options=encryption, chain=True), "pw", 0)
    assert len(store) == 2
    assert _info(_leaf(store)).dwKeySpec == AT_KEYEXCHANGE


def test_friendly_name(machine, files):
    ctx = _leaf(PFXImportCertStore(files.make(name="My Web Cert"), "pw", 0))
    assert CertGetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID) == "My Web Cert"


# --- NO_PERSIST_KEY (docs/windows-facts.md §2 #59, #60) ---------------------------------------------


def test_no_persist_key_sets_key_context(machine, files):
    store = PFXImportCertStore(files.make(), "pw",
                               CRYPT_EXPORTABLE | CRYPT_USER_KEYSET | PKCS12_NO_PERSIST_KEY)
    ctx = _leaf(store)
    kc = CertGetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID)
    assert kc.cbSize == 24 and kc.dwKeySpec == AT_KEYEXCHANGE
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert _key_files(machine) == []
    # The key works through the handle.
    key = api.CryptGetUserKey(kc.hCryptProv, AT_KEYEXCHANGE)
    plain = api.CryptDecrypt(key, None, True, 0, api.CryptEncrypt(key, None, True, 0, b"hello"))
    assert plain == b"hello"


def test_no_persist_with_cng(machine, files):
    ctx = _leaf(PFXImportCertStore(files.make(), "pw", PKCS12_NO_PERSIST_KEY | PKCS12_ALWAYS_CNG_KSP))
    kc = CertGetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID)
    assert kc.dwKeySpec == CERT_NCRYPT_KEY_SPEC
    assert _key_files(machine) == []


def test_persisted_import_has_no_key_context(machine, files):
    ctx = _leaf(PFXImportCertStore(files.make(), "pw", 0))
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertGetCertificateContextProperty(ctx, CERT_KEY_CONTEXT_PROP_ID)


# --- keys outlive the store (Gallant, "PKCS #12 File Types", MSDN 2004) -------------------------------------------


def test_keys_outlive_the_store_until_deletekeyset(machine, files):
    store = PFXImportCertStore(files.make(options=["-LMK"]), "pw", 0)
    info = _info(_leaf(store))
    CertCloseStore(store, 0)
    before = _key_files(machine)
    assert len(before) == 1
    with api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                                 CRYPT_MACHINE_KEYSET) as prov:
        api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
    assert api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                                   CRYPT_MACHINE_KEYSET | CRYPT_DELETEKEYSET) is None
    assert _key_files(machine) == []


def test_each_import_makes_a_new_container(machine, files):
    data = files.make(options=["-LMK"])
    names = {_info(_leaf(PFXImportCertStore(data, "pw", 0))).pwszContainerName for _ in range(3)}
    assert len(names) == 3
    assert len(_key_files(machine)) == 3


# --- passwords and bad input -----------------------------------------------------------------


def test_wrong_password(machine, files):
    with raises_hresult(0x80070056):
        PFXImportCertStore(files.make(password="right"), "wrong", 0)
    assert GetLastError() == 86
    assert _key_files(machine) == []


def test_null_and_empty_password_both_tried(machine, files):
    data = files.make(password="")
    assert len(PFXImportCertStore(data, None, 0)) == 1
    assert len(PFXImportCertStore(data, "", 0)) == 1


def test_null_blob(machine):
    # docs/windows-facts.md §2 #58: PFXImportCertStore(NULL, ...) -> ERROR_INVALID_PARAMETER
    with raises_hresult(ERROR_INVALID_PARAMETER):
        PFXImportCertStore(None, "pw", 0)


@pytest.mark.parametrize("mangle", [
    lambda d: d[: len(d) // 2],                    # truncated
    lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:],  # corrupted inside the authSafe
    lambda d: b"\x30\x82\xff\xff" + d[4:],         # hostile length
    lambda d: b"not a pfx at all",
])
def test_bad_input_leaves_nothing(machine, files, mangle):
    data = files.make(options=["-LMK"])
    with pytest.raises(WinError) as err:
        PFXImportCertStore(mangle(data), "pw", 0)
    assert err.value.hresult & 0xFFFF0000 in (0x80090000, 0x80070000)
    assert _key_files(machine) == []


def test_user_protected_silent(machine, files):
    with raises_hresult(NTE_SILENT_CONTEXT):
        PFXImportCertStore(files.make(), "pw", CRYPT_USER_PROTECTED | PKCS12_IMPORT_SILENT)
    assert _key_files(machine) == []


def test_failed_second_key_rolls_back_the_first(machine):
    """Two keys; the second names a smart-card CSP with no reader: nothing may remain."""
    from helpers_pfx import make_cert

    m = material()
    first = pkcs12.PfxKey(m.rsa2048, machine_keyset=True)
    second = pkcs12.PfxKey(m.rsa1024, machine_keyset=True, csp_name=MS_SCARD_PROV)
    certs = [pkcs12.PfxCert(make_cert(m.rsa2048, "one").public_bytes(serialization.Encoding.DER)),
             pkcs12.PfxCert(make_cert(m.rsa1024, "two").public_bytes(serialization.Encoding.DER))]
    data = pkcs12.build_pfx([first, second, *certs], "pw")
    sd_rows = machine.db.execute("SELECT COUNT(*) FROM path_sd").fetchone()[0]
    with raises_hresult(SCARD_E_NO_READERS_AVAILABLE):
        PFXImportCertStore(data, "pw", 0)
    assert _key_files(machine) == []
    assert machine.db.execute("SELECT COUNT(*) FROM path_sd").fetchone()[0] == sd_rows


def test_allow_overwrite_key(machine, files, monkeypatch):
    data = files.make(options=["-LMK"])
    monkeypatch.setattr(pfxmod, "new_container_name", lambda: "{FIXED-NAME}")
    PFXImportCertStore(data, "pw", 0)
    with raises_hresult(NTE_EXISTS):
        PFXImportCertStore(data, "pw", 0)
    info = _info(_leaf(PFXImportCertStore(data, "pw", PKCS12_ALLOW_OVERWRITE_KEY)))
    assert info.pwszContainerName == "{FIXED-NAME}"
    assert len(_key_files(machine)) == 1


# --- export ----------------------------------------------------------------------------------


def _openssl_info(pfx, password, tmp_path):
    path = tmp_path / "out.pfx"
    path.write_bytes(pfx)
    done = subprocess.run([OPENSSL, "pkcs12", "-info", "-nodes", "-in", str(path),
                           "-passin", f"pass:{password}"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode() + done.stderr.decode()


def test_export_round_trip_and_openssl(machine, files, tmp_path):
    data = files.make(options=["-keysig", "-CSP", MS_STRONG, "-LMK"], chain=True)
    store = PFXImportCertStore(data, "pw", CRYPT_EXPORTABLE)
    out = PFXExportCertStoreEx(store, "new-pw", None, EXPORT_PRIVATE_KEYS)
    text = _openssl_info(out, "new-pw", tmp_path)
    assert f"Microsoft CSP Name: {MS_STRONG}" in text
    assert "Microsoft Local Key set: <No Values>" in text
    assert "X509v3 Key Usage: 80" in text
    again = _info(_leaf(PFXImportCertStore(out, "new-pw", CRYPT_EXPORTABLE)))
    first = _info(_leaf(store))
    assert (again.pwszProvName, again.dwProvType, again.dwFlags, again.dwKeySpec) == \
        (first.pwszProvName, first.dwProvType, first.dwFlags, first.dwKeySpec)
    assert again.pwszContainerName != first.pwszContainerName


def test_export_cng_round_trip(machine, files, tmp_path):
    store = PFXImportCertStore(files.make(options=["-LMK"]), "pw", PKCS12_ALWAYS_CNG_KSP | CRYPT_EXPORTABLE)
    out = PFXExportCertStoreEx(store, "pw", EXPORT_PRIVATE_KEYS)  # the three-argument form
    text = _openssl_info(out, "pw", tmp_path)
    assert f"Microsoft CSP Name: {MS_KEY_STORAGE_PROVIDER}" in text
    assert "X509v3 Key Usage: 90" in text  # what Windows writes for a CNG key
    again = _info(_leaf(PFXImportCertStore(out, "pw", 0)))
    assert (again.pwszProvName, again.dwProvType, again.dwFlags, again.dwKeySpec) == \
        (MS_KEY_STORAGE_PROVIDER, 0, CRYPT_MACHINE_KEYSET, 0)


def test_export_non_exportable(machine, files):
    for flags in (0, PKCS12_ALWAYS_CNG_KSP):
        store = PFXImportCertStore(files.make(), "pw", flags)
        # Non-exportable keys -> NTE_BAD_KEY_STATE (docs/windows-facts.md §7, mimikatz#274).
        with raises_hresult(NTE_BAD_KEY_STATE):
            PFXExportCertStoreEx(store, "pw", None,
                                 EXPORT_PRIVATE_KEYS | REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY)
        # Without REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY the certificate goes alone.
        out = PFXExportCertStoreEx(store, "pw", None, EXPORT_PRIVATE_KEYS)
        assert pkcs12.parse_pfx(out, "pw").keys == []


def test_export_without_private_keys(machine, files):
    store = PFXImportCertStore(files.make(), "pw", CRYPT_EXPORTABLE)
    parsed = pkcs12.parse_pfx(PFXExportCertStoreEx(store, "pw", None, 0), "pw")
    assert parsed.keys == [] and len(parsed.certs) == 1


def test_export_report_no_private_key(machine, files):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, files.ca_cert.public_bytes(
        serialization.Encoding.DER), CERT_STORE_ADD_NEW)
    with raises_hresult(CRYPT_E_NO_KEY_PROPERTY):
        PFXExportCertStoreEx(store, "pw", None, EXPORT_PRIVATE_KEYS | REPORT_NO_PRIVATE_KEY)
    assert len(pkcs12.parse_pfx(PFXExportCertStoreEx(store, "pw", None, EXPORT_PRIVATE_KEYS), "pw").certs) == 1


def test_export_no_persist_key(machine, files):
    store = PFXImportCertStore(files.make(), "pw", PKCS12_NO_PERSIST_KEY | CRYPT_EXPORTABLE)
    parsed = pkcs12.parse_pfx(PFXExportCertStoreEx(store, "pw", EXPORT_PRIVATE_KEYS), "pw")
    assert len(parsed.keys) == 1
    assert parsed.keys[0].private_key.private_numbers() == material().rsa2048.private_numbers()


def test_inconsistent_rsa_key_is_refused(machine):
    """The import skips OpenSSL's slow prime tests but not the RSA arithmetic."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    nums = material().rsa1024.private_numbers()
    broken = rsa.RSAPrivateNumbers(nums.p, nums.q, nums.d, nums.dmp1, nums.dmq1, nums.iqmp + 1,
                                   nums.public_numbers).private_key(unsafe_skip_rsa_key_validation=True)
    data = pkcs12.build_pfx([pkcs12.PfxKey(broken, machine_keyset=True)], "pw")
    with raises_hresult(CRYPT_E_BAD_ENCODE):
        PFXImportCertStore(data, "pw", 0)
    assert _key_files(machine) == []


def test_import_of_text_instead_of_bytes_is_invalid_parameter(machine):
    from capi import PFXImportCertStore
    from capi.errors import ERROR_INVALID_PARAMETER
    from capi.testing import raises_hresult

    with raises_hresult(ERROR_INVALID_PARAMETER):
        PFXImportCertStore("abc", "", 0)

"""winpki doctor: each scenario of the public articles in docs/windows-facts.md §7, built from
real machine state, is named with its evidence and fix."""

import io
import uuid

from helpers_certs import make_cert, rsa_key
from helpers_keys import NOW, install_server_cert

from capi import (
    AT_KEYEXCHANGE,
    AT_SIGNATURE,
    CALG_RSA_KEYX,
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_STORE_ADD_NEW,
    CERT_STORE_PROV_SYSTEM,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CRYPT_DELETEKEYSET,
    CRYPT_KEY_PROV_INFO,
    CRYPT_MACHINE_KEYSET,
    CRYPT_NEWKEYSET,
    MS_STRONG_PROV,
    PP_UNIQUE_CONTAINER,
    PROV_RSA_FULL,
    X509_ASN_ENCODING,
    CertAddEncodedCertificateToStore,
    CertOpenStore,
    CertSetCertificateContextProperty,
    CryptAcquireContext,
    CryptGetProvParam,
    CryptImportKey,
)
from capi.formats.blobs import capi_private_blob
from winpki.cli import main
from winpki.doctor import diagnose


def doctor(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["doctor", *args], out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


def _key_file(machine, container):
    prov = CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_MACHINE_KEYSET)
    return f"{machine.machine_keys_dir}\\{CryptGetProvParam(prov, PP_UNIQUE_CONTAINER)}"


def test_keyspec_scenario_3(w2008):
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    diag = diagnose(w2008, ctx.thumbprint)
    assert diag.causes[0] == "keyspec"
    finding = diag.findings[0]
    assert "  KeySpec = 2 -- AT_SIGNATURE" in finding.evidence
    assert "KeySpec = 1" in finding.fix[0]
    assert finding.scenario.startswith('"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 3')
    rc, out = doctor(ctx.thumbprint)
    assert rc == 1 and "[FAIL] KeySpec is AT_SIGNATURE" in out


def test_healthy_binding_with_app_pool_warning(w2019):
    ctx, _ = install_server_cert()
    diag = diagnose(w2019, ctx.thumbprint)
    assert diag.findings[0].cause == "ok"
    assert "app-pool-access" in diag.causes  # IIS APPPOOL\DefaultAppPool has no read on the key
    rc, out = doctor(" ".join(ctx.thumbprint[i:i + 2] for i in range(0, 40, 2)))
    assert rc == 0 and "[ OK ] Schannel can use" in out and "winhttpcertcfg -g" in out


def test_key_file_acl_and_machinekeys_reset(w2008):
    ctx, container = install_server_cert()
    path = _key_file(w2008, container)
    # Someone "fixed" permissions by resetting the key file to inherit from MachineKeys, whose
    # ACEs apply to the folder only: the file ends with an empty DACL (0x80070520 article, scenario 2).
    sink = io.StringIO()
    assert main(["icacls", path, "/reset"], out=sink, err=sink) == 0
    diag = diagnose(w2008, ctx.thumbprint)
    assert diag.causes[0] == "key-acl"
    f = diag.findings[0]
    assert f.scenario.startswith('"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 2')
    assert any("MachineKeys" in e for e in f.evidence)
    assert any("/grant" in x for x in f.fix)


def test_missing_key(w2019):
    ctx, container = install_server_cert()
    CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_DELETEKEYSET | CRYPT_MACHINE_KEYSET)
    diag = diagnose(w2019, ctx.thumbprint)
    assert diag.causes == ["missing-key"]
    assert "Missing stored keyset" in diag.findings[0].evidence


def test_certificate_in_the_user_store(w2019):
    der = make_cert("user.contoso.com", not_before=NOW)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_CURRENT_USER, "My") as s:
        ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    diag = diagnose(w2019, ctx.thumbprint)
    assert diag.causes == ["store-location"]
    assert "CurrentUser\\My" in diag.findings[0].title


def test_no_key_information(w2019):
    der = make_cert("nokey.contoso.com", not_before=NOW)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
    diag = diagnose(w2019, ctx.thumbprint)
    assert diag.causes == ["no-key-info"]
    assert "No key provider information" in diag.findings[0].evidence


def test_key_in_the_importing_users_profile(w2019):
    # What a non-exportable IIS Manager import leaves (0x80070520 article, scenario 1): the certificate in
    # LocalMachine\My, its key in the administrator's own (user) key container.
    key = rsa_key(2048)
    container = "{" + str(uuid.uuid4()).upper() + "}"
    prov = CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_NEWKEYSET)
    CryptImportKey(prov, capi_private_blob(key, CALG_RSA_KEYX), None, 0)
    der = make_cert("iis.contoso.com", key=key, not_before=NOW)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, CRYPT_KEY_PROV_INFO(
            container, MS_STRONG_PROV, PROV_RSA_FULL, 0, AT_KEYEXCHANGE))
    diag = diagnose(w2019, ctx.thumbprint)
    assert diag.causes[0] == "user-keyset"
    assert diag.findings[0].scenario.startswith('"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 1')


def test_unknown_thumbprint_and_bad_input(w2019):
    rc, out = doctor("00" * 20)
    assert rc == 1 and "No certificate with this thumbprint" in out
    rc, out = doctor("not-a-hash")
    assert rc == 1 and "40 hexadecimal digits" in out and "Traceback" not in out


def test_untrusted_chain_is_a_warning(w2019):
    # A self-signed server certificate not in Root: Schannel can use it, clients will not trust it.
    ctx, _ = install_server_cert()
    diag = diagnose(w2019, ctx.thumbprint)
    (finding,) = [f for f in diag.findings if f.cause == "untrusted-chain"]
    assert finding.severity == "warning"
    assert "CERT_E_UNTRUSTEDROOT 0x800B0109" in finding.evidence[0]

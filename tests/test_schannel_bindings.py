"""Schannel credentials, http.sys bindings (netsh) and IIS bindings, from real machine state.

The texts asserted here are the ones public sources quote: "Error HRESULT: 0x80070520 when
adding SSL binding in IIS" (the 2012 wording of event 36870, and the 2019 wording of its
revision on Microsoft Tech Community), and the netsh / IIS Manager strings users report
(docs/windows-facts.md §7).
"""

import io
import re

import pytest
from helpers_certs import make_cert
from helpers_keys import NOW, install_server_cert

from capi import (
    AT_SIGNATURE,
    CRYPT_DELETEKEYSET,
    CRYPT_MACHINE_KEYSET,
    MS_STRONG_PROV,
    PROV_RSA_FULL,
    CryptAcquireContext,
    run_as,
    use_machine,
)
from capi.errors import (
    ERROR_ACCESS_DENIED,
    ERROR_ALREADY_EXISTS,
    ERROR_NO_SUCH_LOGON_SESSION,
    SEC_E_NO_CREDENTIALS,
    SEC_E_UNKNOWN_CREDENTIALS,
)
from capi.testing import raises_hresult
from schannel import eventlog, httpsys, iis
from schannel.credentials import (
    SCHANNEL_CRED,
    SECPKG_CRED_INBOUND,
    UNISP_NAME,
    AcquireCredentialsHandle,
)
from winpki.cli import main

SEED_002_EVENT = ("A fatal error occurred when attempting to access the SSL server credential private "
                  "key. The error code returned from the cryptographic module is 0x8009030d. The "
                  "internal error state is 10001.")
SEED_004_EVENT = ("A fatal error occurred when attempting to access the TLS server credential private "
                  "key. The error code returned from the cryptographic module is 0x8009030D. The "
                  "internal error state is 10001.\n The SSPI client process is SYSTEM (PID: 4).")
NETSH_1312 = ("\nSSL Certificate add failed, Error: 1312\n"
              "A specified logon session does not exist. It may already have been terminated.\n\n")
APPID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"


def _ws(text):
    return " ".join(text.split())


def tool(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


@pytest.fixture
def web2008(w2008):
    return w2008


@pytest.fixture
def web2019(w2019):
    return w2019


def events(machine, event_id=36870):
    return eventlog.query(machine, "System", xpath=f"*[System[(EventID={event_id})]]")


def acquire(ctx):
    return AcquireCredentialsHandle(None, UNISP_NAME, SECPKG_CRED_INBOUND, None,
                                    SCHANNEL_CRED(paCred=[ctx]))


# --- Schannel ----------------------------------------------------------------------------

def test_keyexchange_key_gives_a_credential(web2008):
    ctx, _ = install_server_cert()
    handle, _ = acquire(ctx)
    assert handle.credential.key_spec == 1
    assert events(web2008) == []


def test_at_signature_rejected_on_2008r2_with_the_seed_002_event(web2008):
    # Windows: the 0x80070520 article, scenario 3 — KeySpec = 2 fails on 2008 (R2); the
    # System log gets 36870 (docs/windows-facts.md §7).
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        acquire(ctx)
    (ev,) = events(web2008)
    assert ev.message == SEED_002_EVENT
    assert (ev.source, ev.level, ev.user_sid, ev.computer) == ("Schannel", 2, "S-1-5-18", "WEBSERVER")


def test_at_signature_accepted_from_2012_on(web2019):
    # Windows (Wine schannel.c, Windows 10): an AT_SIGNATURE CSP key is accepted.
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    handle, _ = acquire(ctx)
    assert handle.credential.key_spec == AT_SIGNATURE


def test_missing_key_is_unknown_credentials_with_the_2019_event_text(web2019):
    ctx, container = install_server_cert()
    CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL,
                        CRYPT_DELETEKEYSET | CRYPT_MACHINE_KEYSET)
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        acquire(ctx)
    (ev,) = events(web2019)
    # The 2019 revision of the article shows the message over two lines; the text is the same.
    assert _ws(ev.message) == _ws(SEED_004_EVENT)


def test_no_key_information_is_no_credentials_and_event_36869(web2019):
    from capi import (
        CERT_STORE_ADD_NEW,
        CERT_STORE_PROV_SYSTEM,
        CERT_SYSTEM_STORE_LOCAL_MACHINE,
        X509_ASN_ENCODING,
        CertAddEncodedCertificateToStore,
        CertOpenStore,
    )

    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, make_cert("nokey", not_before=NOW),
                                               CERT_STORE_ADD_NEW)
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        acquire(ctx)
    assert events(web2019, 36870) == []
    (ev,) = events(web2019, 36869)
    assert "does not have a private key information property" in ev.message


def test_key_file_unreadable_by_system(web2008):
    # The key file's ACL decides: take SYSTEM and Administrators (SYSTEM's token has both) off it.
    ctx, container = install_server_cert()
    prov = CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_MACHINE_KEYSET)
    from capi import PP_UNIQUE_CONTAINER, CryptGetProvParam

    unique = CryptGetProvParam(prov, PP_UNIQUE_CONTAINER)
    path = f"{web2008.machine_keys_dir}\\{unique}"
    rc, out = tool("icacls", path, "/remove", "NT AUTHORITY\\SYSTEM", "/remove", "BUILTIN\\Administrators")
    assert rc == 0, out
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        acquire(ctx)
    assert len(events(web2008)) == 1
    # The fix: give SYSTEM its access back.
    rc, out = tool("icacls", path, "/grant", "SYSTEM:F")
    assert rc == 0, out
    acquire(ctx)


def test_schannel_takes_exactly_one_certificate(web2019):
    ctx, _ = install_server_cert()
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        AcquireCredentialsHandle(None, UNISP_NAME, SECPKG_CRED_INBOUND, None,
                                 SCHANNEL_CRED(paCred=[ctx, ctx]))
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        AcquireCredentialsHandle(None, UNISP_NAME, SECPKG_CRED_INBOUND, None, None)


# --- netsh http sslcert -------------------------------------------------------------------

def test_netsh_1312_for_at_signature_on_2008r2_then_fixed_with_keyexchange(web2008):
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    rc, out = tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
                   f"certhash={ctx.thumbprint}", f"appid={APPID}")
    assert rc != 0 and out == NETSH_1312
    assert httpsys.list_bindings(web2008) == []
    good, _ = install_server_cert(cn="www2.contoso.com")
    rc, out = tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
                   f"certhash={good.thumbprint}", f"appid={APPID}")
    assert (rc, out) == (0, "\nSSL Certificate successfully added\n\n")
    rc, out = tool("netsh", "http", "show", "sslcert", "ipport=0.0.0.0:443")
    assert rc == 0
    assert re.search(r"IP:port\s+: 0\.0\.0\.0:443", out)
    assert f"Certificate Hash             : {good.thumbprint.lower()}" in out
    assert "Certificate Store Name       : MY" in out


def test_netsh_existing_binding_is_183(web2019):
    ctx, _ = install_server_cert()
    args = ("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={ctx.thumbprint}",
            f"appid={APPID}")
    assert tool(*args)[0] == 0
    rc, out = tool(*args)
    assert out == ("\nSSL Certificate add failed, Error: 183\n"
                   "Cannot create a file when that file already exists.\n\n")
    with raises_hresult(ERROR_ALREADY_EXISTS):
        httpsys.add_binding(web2019, httpsys.get_binding(web2019, "0.0.0.0:443"))


def test_netsh_as_non_admin_is_error_5(web2019):
    ctx, _ = install_server_cert()
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        rc, out = tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
                       f"certhash={ctx.thumbprint}", f"appid={APPID}")
    assert out == "\nSSL Certificate add failed, Error: 5\nAccess is denied.\n\n"
    with run_as("NetworkService"), raises_hresult(ERROR_ACCESS_DENIED):
        httpsys.delete_binding(web2019, "0.0.0.0:443")


def test_certificate_not_in_localmachine_is_1312(web2019):
    # KB 295281 (docs/windows-facts.md §7): a certificate requested into the user store is not
    # found by http.sys.
    rc, out = tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
                   "certhash=" + "ab" * 20, f"appid={APPID}")
    assert out == NETSH_1312


@pytest.mark.parametrize("args, expected", [
    (("ipport=0.0.0.0:443", "certhash=" + "ab" * 20, "appid=00112233-4455-6677-8899-AABBCCDDEEFF"),
     "The parameter is incorrect.\n"),
    (("ipport=0.0.0.0:99999", "certhash=" + "ab" * 20, f"appid={APPID}"), "The parameter is incorrect.\n"),
    (("ipport=300.1.1.1:443", "certhash=" + "ab" * 20, f"appid={APPID}"), "The parameter is incorrect.\n"),
    (("ipport=0.0.0.0:443", "certhash=xyz", f"appid={APPID}"), "The parameter is incorrect.\n"),
])
def test_netsh_bad_arguments(web2019, args, expected):
    rc, out = tool("netsh", "http", "add", "sslcert", *args)
    assert rc != 0 and out == expected


def test_netsh_missing_parameters_prints_usage(web2019):
    rc, out = tool("netsh", "http", "add", "sslcert", "certhash=" + "ab" * 20)
    assert rc != 0
    assert out.startswith("One or more essential parameters were not entered.\n")
    assert "Usage: add sslcert hostnameport=<name:port> | ipport=<ipaddr:port>" in out


def test_netsh_delete(web2019):
    rc, out = tool("netsh", "http", "delete", "sslcert", "ipport=0.0.0.0:443")
    assert out == "\nSSL Certificate deletion failed, Error: 2\nThe system cannot find the file specified.\n\n"
    ctx, _ = install_server_cert()
    tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={ctx.thumbprint}",
         f"appid={APPID}")
    assert tool("netsh", "http", "delete", "sslcert", "ipport=0.0.0.0:443") == (
        0, "\nSSL Certificate successfully deleted\n\n")


# --- IIS ------------------------------------------------------------------------------------

def test_new_machine_has_default_web_site_and_pool(web2019):
    (site,) = iis.list_sites(web2019)
    assert (site.id, site.name, site.app_pool) == (1, "Default Web Site", "DefaultAppPool")
    assert [(b.protocol, b.binding_info) for b in site.bindings] == [("http", "*:80:")]
    (pool,) = iis.list_app_pools(web2019)
    assert pool.account == "IIS APPPOOL\\DefaultAppPool"


def test_iis7_default_pool_runs_as_network_service(make_machine):
    # Windows: IIS 7.0 (2008) ran DefaultAppPool as NetworkService; 7.5 brought ApplicationPoolIdentity.
    assert iis.list_app_pools(make_machine(os_version="2008"))[0].account == "NT AUTHORITY\\NETWORK SERVICE"


def test_iis_manager_add_binding_shows_0x80070520_then_succeeds_after_the_fix(web2008):
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    rc, out = tool("iis", "add-binding", "--site", "Default Web Site", "--thumbprint", ctx.thumbprint)
    assert rc != 0
    assert out == ("Add Site Binding\n\nThere was an error while performing this operation.\n\n"
                   "Details:\n\nA specified logon session does not exist. It may already have been "
                   "terminated. (Exception from HRESULT: 0x80070520)\n")
    site = iis.get_site(web2008, "Default Web Site")
    assert [b.protocol for b in site.bindings] == ["http"]
    good, _ = install_server_cert(cn="fixed.contoso.com")
    rc, out = tool("iis", "add-binding", "--thumbprint", good.thumbprint)
    assert rc == 0, out
    https = [b for b in iis.get_site(web2008, "Default Web Site").bindings if b.protocol == "https"]
    assert https[0].binding_info == "*:443:" and https[0].cert_hash == good.thumbprint.lower()
    assert httpsys.get_binding(web2008, "0.0.0.0:443").app_id == iis.IIS_APP_ID


def test_webadministration_add_ssl_certificate_text(web2008):
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    rc, out = tool("iis", "add-sslcertificate", "--thumbprint", ctx.thumbprint)
    assert out == ('Exception calling "AddSslCertificate" with "2" argument(s): "A specified logon '
                   'session does not exist. It may already have been terminated. (Exception from '
                   'HRESULT: 0x80070520)"\n')
    with raises_hresult(ERROR_NO_SUCH_LOGON_SESSION):
        iis.add_https_binding(web2008, "Default Web Site", "*:443:", ctx.thumbprint)


def test_appcmd(web2019):
    assert tool("appcmd", "list", "site") == (
        0, 'SITE "Default Web Site" (id:1,bindings:http/*:80:,state:Started)\n')
    rc, out = tool("appcmd", "set", "apppool", "/apppool.name:DefaultAppPool",
                   "/processModel.identityType:NetworkService")
    assert (rc, out) == (0, 'APPPOOL object "DefaultAppPool" changed\n')
    assert iis.get_app_pool(web2019, "DefaultAppPool").account == "NT AUTHORITY\\NETWORK SERVICE"
    assert tool("appcmd", "list", "site", "Nope") == (
        1, 'ERROR ( message:Cannot find SITE object with identifier "Nope". )\n')


def test_failed_rebind_keeps_the_working_binding(web2008):
    good, _ = install_server_cert(cn="good.contoso.com")
    assert tool("iis", "add-binding", "--thumbprint", good.thumbprint)[0] == 0
    bad, _ = install_server_cert(cn="bad.contoso.com", keyspec=AT_SIGNATURE)
    rc, out = tool("iis", "add-binding", "--thumbprint", bad.thumbprint)
    assert rc != 0 and "0x80070520" in out
    assert httpsys.get_binding(web2008, "0.0.0.0:443").cert_hash == good.thumbprint.lower()


def test_duplicate_site_binding_with_appcmd(web2019):
    args = ("appcmd", "set", "site", "/site.name:Default Web Site",
            "/+bindings.[protocol='https',bindingInformation='*:443:']")
    assert tool(*args) == (0, 'SITE object "Default Web Site" changed\n')
    rc, out = tool(*args)
    assert rc == 1 and out.startswith("ERROR ( hresult:800700b7, message:Cannot add duplicate "
                                      "collection entry of type 'binding'")


def test_helpers_act_on_the_machine_given(make_machine, monkeypatch, tmp_path):
    # Another machine is current; serve/httpsys/credentials must use the one passed in.
    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx, _ = install_server_cert(cn="localhost")
    monkeypatch.setenv("WINPKI_MACHINE", str(tmp_path / "other"))
    with use_machine(m):
        httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", ctx.thumbprint.lower(),
                                                  APPID, "MY"))
    from schannel import serve

    with serve("0.0.0.0:443", machine=m) as endpoint:
        assert endpoint.address[0] == "127.0.0.1"
    assert httpsys.find_certificate(m, "MY", ctx.thumbprint.lower()) is not None
    assert not (tmp_path / "other").exists()


def test_package_names_are_case_insensitive(web2019):
    ctx, _ = install_server_cert()
    handle, _ = AcquireCredentialsHandle(None, "schannel", SECPKG_CRED_INBOUND, None,
                                         SCHANNEL_CRED(paCred=[ctx]))
    assert handle.credential is not None

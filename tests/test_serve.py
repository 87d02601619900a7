"""schannel.serve / winpki serve: a successful binding served over real TLS, the private key
used through its provider (software CSP, CNG KSP), clients: Python ssl and openssl s_client."""

import contextvars
import io
import shutil
import ssl
import subprocess
import threading

import pytest
from helpers_keys import install_server_cert
from helpers_sspi import tls_exchange

from capi import AT_KEYEXCHANGE, AT_SIGNATURE, use_machine
from capi.errors import ERROR_FILE_NOT_FOUND, ERROR_NO_SUCH_LOGON_SESSION
from capi.testing import raises_hresult
from schannel import iis, protocols, serve
from schannel.iis import IIS_APP_ID
from winpki.cli import main


def _bind(machine, **kw):
    """IIS Manager's Add Site Binding (https, *:443): the site binding and the http.sys SSL
    binding 0.0.0.0:443 -- a request reaches the Default Web Site's files."""
    ctx, _ = install_server_cert(cn="localhost", **kw)
    iis.add_https_binding(machine, "Default Web Site", "*:443:", ctx.thumbprint, "MY")
    return ctx


def _get(address, cert_der, version, ciphers=None, cipher_out=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:  # SHA-1 suites and MD5+SHA-1 signatures
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if ciphers:
        ctx.set_ciphers(ciphers)
    ctx.load_verify_locations(cadata=cert_der)
    got_version, cipher, data = tls_exchange(address, ctx)
    if cipher_out is not None:
        cipher_out.append(cipher)
    return got_version, data


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_ecdsa_key_in_the_ksp_signs_the_handshake(make_machine, version):
    """An ECDSA P-256 certificate whose key is in the Microsoft Software KSP: the handshake's
    signature is NCryptSignHash's (r||s, IEEE P1363, as CNG returns it) turned into the DER
    TLS carries, over TLS 1.2 and 1.3."""
    from cryptography.hazmat.primitives.asymmetric import ec

    m = make_machine(os_version="2022")
    with use_machine(m):
        ctx = _bind(m, cng=True, exportable=False, key=ec.generate_private_key(ec.SECP256R1()))
        with serve("0.0.0.0:443") as endpoint:
            got_version, data = _get(endpoint.address, ctx.pbCertEncoded, version)
            assert endpoint.key.sign_calls >= 1
            assert endpoint.key.algorithm == "ECDSA"
    assert got_version == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    assert data.startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("os_version, version, iis", [
    ("2008R2", ssl.TLSVersion.TLSv1_2, "7.5"),  # TLS 1.2 enabled in the registry first
    ("2022", ssl.TLSVersion.TLSv1_3, "10.0"),  # the first server version with TLS 1.3
    ("2025", ssl.TLSVersion.TLSv1_3, "10.0"),  # still IIS 10.0 (docs/windows-facts.md §8)
])
@pytest.mark.parametrize("kind", ["capi", "cng"])
def test_python_ssl_handshake_through_the_provider(make_machine, os_version, version, iis, kind):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        if os_version == "2008R2":
            protocols.set_server_protocol(m, "TLS 1.2", True)
        ctx = _bind(m, cng=(kind == "cng"), keyspec=AT_KEYEXCHANGE, exportable=False)
        with serve("0.0.0.0:443") as endpoint:
            got_version, data = _get(endpoint.address, ctx.pbCertEncoded, version)
            assert endpoint.key.sign_calls >= 1
    assert got_version == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert f"Server: Microsoft-IIS/{iis}".encode() in data


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_s_client_completes_a_handshake(make_machine):
    m = make_machine(os_version="2022")  # TLS 1.3: Windows Server 2022 on
    with use_machine(m):
        _bind(m, keyspec=AT_SIGNATURE)  # accepted from 2012 on
        with serve("0.0.0.0:443") as endpoint:
            host, port = endpoint.address
            proc = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}", "-tls1_3",
                                   "-servername", "localhost"], input=b"Q\n", capture_output=True,
                                  timeout=30)
    text = proc.stdout.decode()
    assert "Protocol  : TLSv1.3" in text or "TLSv1.3" in text
    assert "CN = localhost" in text


def test_winpki_serve_command(make_machine):
    m = make_machine(os_version="2022")  # TLS 1.3: Windows Server 2022 on
    with use_machine(m):
        ctx = _bind(m)
        out = io.StringIO()
        result = {}

        def run_tool():
            result["rc"] = main(["serve", "0.0.0.0:443", "--listen", "127.0.0.1:0",
                                 "--handshakes", "1", "--seconds", "20"], out=out, err=out)

        # The machine is made current in this thread's context; the tool's thread inherits it.
        t = threading.Thread(target=contextvars.copy_context().run, args=(run_tool,))
        t.start()
        for _ in range(200):
            if "https://" in out.getvalue():
                break
            threading.Event().wait(0.05)
        url = out.getvalue().split("https://")[1].split("/")[0]
        host, port = url.rsplit(":", 1)
        _get((host, int(port)), ctx.pbCertEncoded, ssl.TLSVersion.TLSv1_3)
        t.join(30)
    assert result.get("rc") == 0
    assert out.getvalue().startswith("Serving 0.0.0.0:443 (http.sys binding) at https://127.0.0.1:")
    assert ("Schannel on Windows Server 2022: TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3; "
            in out.getvalue().splitlines()[1]) and "first TLS_AES_256_GCM_SHA384" in out.getvalue()


def test_winpki_serve_banner_names_enabled_protocols_it_cannot_serve(make_machine):
    # 2008 R2's defaults enable SSL 2.0, SSL 3.0 and TLS 1.0 ("Protocols in TLS/SSL (Schannel
    # SSP)"); OpenSSL serves only TLS 1.0 of them, and the banner says both, as the doctor's
    # "Protocols enabled (server)" line lists all three.
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        _bind(m)
        out = io.StringIO()
        rc = main(["serve", "0.0.0.0:443", "--listen", "127.0.0.1:0", "--seconds", "0"],
                  out=out, err=out)
    assert rc == 0, out.getvalue()
    assert ("Schannel on Windows Server 2008 R2: TLS 1.0 (also enabled, not served here: "
            "SSL 2.0, SSL 3.0); ") in out.getvalue()


def test_no_binding_and_broken_key(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        with raises_hresult(ERROR_FILE_NOT_FOUND), serve("0.0.0.0:443"):
            pass
        ctx = _bind(m)
        from capi import (
            CERT_KEY_PROV_INFO_PROP_ID,
            CRYPT_DELETEKEYSET,
            CRYPT_MACHINE_KEYSET,
            CertGetCertificateContextProperty,
            CryptAcquireContext,
        )

        info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
        CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                            CRYPT_DELETEKEYSET | CRYPT_MACHINE_KEYSET)
        with raises_hresult(ERROR_NO_SUCH_LOGON_SESSION), serve("0.0.0.0:443"):
            pass


def _bind_on_token(m, softhsm_token, tmp_path, kind):
    """certutil -importPFX onto a SoftHSM token behind "Contoso HSM KSP"/"CSP", then netsh
    http add sslcert; returns (the software key for checks, the certificate's DER)."""
    import hashlib

    from helpers_certs import make_cert, rsa_key
    from helpers_keys import NOW

    from capi.formats.pkcs12 import PfxCert, PfxKey, build_pfx
    from csp import tokens

    name = "Contoso HSM KSP" if kind == "ksp" else "Contoso HSM CSP"
    tokens.add_pkcs11(m, name, softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin, kind=kind)
    key = rsa_key(2048)
    der = make_cert("localhost", key=key, dns=("localhost",), not_before=NOW)
    kid = b"\x01\x00\x00\x00"
    pfx = tmp_path / "hsm.pfx"
    pfx.write_bytes(build_pfx([PfxKey(key, local_key_id=kid), PfxCert(der, local_key_id=kid)],
                              "pw"))
    out = io.StringIO()
    rc = main(["certutil", "-p", "pw", "-csp", name, "-importPFX", "My", str(pfx)], out=out, err=out)
    assert rc == 0, out.getvalue()
    thumb = hashlib.sha1(der).hexdigest()
    out = io.StringIO()
    rc = main(["netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={thumb}",
               f"appid={IIS_APP_ID}"], out=out, err=out)
    assert rc == 0, out.getvalue()
    _site_binding("*:443:")
    return key, der


def _site_binding(info):
    """appcmd set site: the Default Web Site's https binding, which routes the requests of
    a netsh-made SSL binding to the site (without it http.sys answers 404 itself)."""
    out = io.StringIO()
    rc = main(["appcmd", "set", "site", "/site.name:Default Web Site",
               f"/+bindings.[protocol='https',bindingInformation='{info}']"], out=out, err=out)
    assert rc == 0, out.getvalue()


@pytest.mark.parametrize("os_version, version", [
    ("2022", ssl.TLSVersion.TLSv1_3),
    # A default 2008 R2 serves TLS 1.0: the token signs the MD5+SHA-1 hash raw (CKM_RSA_PKCS).
    ("2008R2", ssl.TLSVersion.TLSv1),
])
@pytest.mark.parametrize("kind", ["ksp", "csp"])
def test_softhsm_key_bound_and_served(make_machine, softhsm_token, tmp_path, kind, os_version,
                                      version):
    """Issue 5: a PFX imported with -csp "Contoso HSM KSP" puts its key on the SoftHSM token;
    the certificate binds and serves, every handshake signed on the token."""
    m = make_machine(os_version=os_version)
    with use_machine(m):
        key, der = _bind_on_token(m, softhsm_token, tmp_path, kind)
        with serve("0.0.0.0:443") as endpoint:
            got, data = _get(endpoint.address, der, version)
            assert endpoint.key.sign_calls >= 1
    assert got == {ssl.TLSVersion.TLSv1_3: "TLSv1.3", ssl.TLSVersion.TLSv1: "TLSv1"}[version]
    assert data.startswith(b"HTTP/1.1 200 OK")
    # Nothing private in the machine directory: the key lives on the token.
    numbers = key.private_numbers()
    needles = [numbers.d.to_bytes(256, "big"), numbers.p.to_bytes(128, "big")]
    for f in m.path.rglob("*"):
        if f.is_file():
            blob = f.read_bytes()
            assert not any(n in blob for n in needles), f


def test_server_sends_the_intermediate(make_machine):
    """The chain comes from LocalMachine's stores: a client that trusts only the root
    verifies a leaf issued by an intermediate in LocalMachine\\CA."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from helpers_certs import make_cert, name, rsa_key
    from helpers_keys import NOW

    from capi import (
        CERT_KEY_PROV_INFO_PROP_ID,
        CERT_STORE_ADD_NEW,
        CERT_STORE_PROV_SYSTEM,
        CERT_SYSTEM_STORE_LOCAL_MACHINE,
        X509_ASN_ENCODING,
        CertAddEncodedCertificateToStore,
        CertGetCertificateContextProperty,
        CertOpenStore,
        CertSetCertificateContextProperty,
    )

    m = make_machine(os_version="2019")
    root_key, int_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = make_cert(subject=name("Contoso Root"), key=root_key, ca=True, not_before=NOW)
    inter = make_cert(subject=name("Contoso Issuing CA"), key=int_key, ca=True, not_before=NOW,
                      issuer=(name("Contoso Root"), root_key))
    leaf = make_cert("localhost", key=rsa_key(2048), dns=("localhost",), not_before=NOW,
                     issuer=(name("Contoso Issuing CA"), int_key))
    with use_machine(m):
        helper_ctx, _ = install_server_cert(cn="localhost")  # a key container for rsa_key(2048)
        info = CertGetCertificateContextProperty(helper_ctx, CERT_KEY_PROV_INFO_PROP_ID)
        for store_name, der in (("Root", root), ("CA", inter)):
            with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                               store_name) as s:
                CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
            ctx = CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, leaf, CERT_STORE_ADD_NEW)
            CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
        iis.add_https_binding(m, "Default Web Site", "*:443:", ctx.thumbprint, "MY")
        with serve("0.0.0.0:443") as endpoint:
            version, data = _get(endpoint.address, root, ssl.TLSVersion.TLSv1_2)
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_sni_hostnameport_binding(make_machine):
    """netsh http add sslcert hostnameport=NAME:443 (SNI) binds and serves by host name."""
    m = make_machine(os_version="2022")  # TLS 1.3: Windows Server 2022 on
    with use_machine(m):
        ctx, _ = install_server_cert(cn="localhost")
        out = io.StringIO()
        rc = main(["netsh", "http", "add", "sslcert", "hostnameport=localhost:443",
                   f"certhash={ctx.thumbprint}", f"appid={IIS_APP_ID}", "certstorename=MY"],
                  out=out, err=out)
        assert (rc, out.getvalue()) == (0, "\nSSL Certificate successfully added\n\n")
        out = io.StringIO()
        main(["netsh", "http", "show", "sslcert", "hostnameport=localhost:443"], out=out, err=out)
        assert "Hostname:port                : localhost:443" in out.getvalue()
        _site_binding("*:443:localhost")  # the site's binding for that host name
        with serve("localhost:443") as endpoint:
            version, data = _get(endpoint.address, ctx.pbCertEncoded, ssl.TLSVersion.TLSv1_3)
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_pfx_import_onto_a_token_in_a_fresh_process(make_machine, softhsm_token, tmp_path):
    """As a user runs it: the provider registered in one process, the PFX imported with
    -csp in another (a freshly opened Machine has not created the token tables yet)."""
    import hashlib

    from helpers_certs import make_cert, rsa_key
    from helpers_keys import NOW

    from capi import Machine
    from capi.formats.pkcs12 import PfxCert, PfxKey, build_pfx
    from csp import tokens

    m = make_machine(os_version="2019")
    tokens.add_pkcs11(m, "Contoso HSM KSP", softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin)
    key = rsa_key(2048)
    der = make_cert("fresh.contoso.com", key=key, not_before=NOW)
    kid = b"\x01\x00\x00\x00"
    pfx = tmp_path / "fresh.pfx"
    pfx.write_bytes(build_pfx([PfxKey(key, local_key_id=kid), PfxCert(der, local_key_id=kid)], "pw"))
    with use_machine(Machine.open(m.path)):
        out = io.StringIO()
        rc = main(["certutil", "-p", "pw", "-csp", "Contoso HSM KSP", "-importPFX", "My", str(pfx)],
                  out=out, err=out)
        assert rc == 0, out.getvalue()
        out = io.StringIO()
        main(["certutil", "-store", "My", hashlib.sha1(der).hexdigest()], out=out, err=out)
    assert "Provider = Contoso HSM KSP" in out.getvalue()


def test_imported_certificate_goes_to_the_token_and_propagates(make_machine, softhsm_token, tmp_path):
    """The README's promise: pull the card and put it back, and its certificate appears in
    CurrentUser\\My pointing at the smart-card provider."""
    import hashlib

    from helpers_certs import make_cert, rsa_key
    from helpers_keys import NOW

    from capi import (
        CERT_KEY_PROV_INFO_PROP_ID,
        CERT_STORE_PROV_SYSTEM,
        CERT_SYSTEM_STORE_CURRENT_USER,
        CertGetCertificateContextProperty,
        CertOpenStore,
        certprop,
    )
    from capi.formats.pkcs12 import PfxCert, PfxKey, build_pfx
    from csp import tokens

    m = make_machine(os_version="2019")
    name = "Microsoft Base Smart Card Crypto Provider"
    with use_machine(m):
        tokens.add_pkcs11(m, name, softhsm_token.module, softhsm_token.label, pin=softhsm_token.pin)
        key = rsa_key(2048)
        der = make_cert("card.contoso.com", key=key, not_before=NOW)
        kid = b"\x01\x00\x00\x00"
        pfx = tmp_path / "card.pfx"
        pfx.write_bytes(build_pfx([PfxKey(key, local_key_id=kid), PfxCert(der, local_key_id=kid)], "pw"))
        out = io.StringIO()
        assert main(["certutil", "-p", "pw", "-csp", name, "-importPFX", "My", str(pfx)],
                    out=out, err=out) == 0, out.getvalue()
        tokens.remove_token(m, softhsm_token.label)
        propagated = certprop.insert_token(m, softhsm_token.label)
        assert hashlib.sha1(der).hexdigest().upper() in [t.upper() for t in propagated]
        with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_CURRENT_USER, "My") as s:
            (ctx,) = list(s)
            info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert info.pwszProvName == name and ctx.pbCertEncoded == der


# TLS_RSA_WITH_* key exchange: the client encrypts the premaster secret to the certificate's
# key and the provider that holds the key decrypts it (NCryptDecrypt with
# NCRYPT_PAD_PKCS1_FLAG, the CSP container, CKM_RSA_PKCS on the token). Windows Server 2016
# and 2019 enable TLS_RSA_WITH_AES_256_GCM_SHA384 and TLS_RSA_WITH_AES_128_CBC_SHA
# ("TLS Cipher Suites in Windows 10 v1607" / "v1809", Microsoft).
RSA_KX = [("AES128-SHA", "2019"), ("AES256-GCM-SHA384", "2016")]


@pytest.mark.parametrize("cipher, os_version", RSA_KX)
@pytest.mark.parametrize("kind", ["capi", "cng"])
def test_rsa_key_exchange_decrypts_in_the_provider(make_machine, kind, cipher, os_version):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        ctx = _bind(m, cng=(kind == "cng"), keyspec=AT_KEYEXCHANGE, exportable=False)
        got = []
        with serve("0.0.0.0:443") as endpoint:
            version, data = _get(endpoint.address, ctx.pbCertEncoded, ssl.TLSVersion.TLSv1_2,
                                 cipher, got)
            assert endpoint.key.decrypt_calls == 1
            assert endpoint.key.sign_calls == 0  # no ServerKeyExchange to sign
    assert (version, got) == ("TLSv1.2", [cipher])
    assert data.startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("cipher, os_version", RSA_KX)
def test_rsa_key_exchange_decrypts_on_the_token(make_machine, softhsm_token, tmp_path, cipher,
                                               os_version):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        _key, der = _bind_on_token(m, softhsm_token, tmp_path, "ksp")
        got = []
        with serve("0.0.0.0:443") as endpoint:
            version, data = _get(endpoint.address, der, ssl.TLSVersion.TLSv1_2, cipher, got)
            assert endpoint.key.decrypt_calls == 1
    assert (version, got) == ("TLSv1.2", [cipher])
    assert data.startswith(b"HTTP/1.1 200 OK")

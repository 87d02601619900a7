"""Which issuers Schannel trusts for client authentication and names in its CertificateRequest
(schannel.clientauth), the binding's SslCtlIdentifier / SslCtlStoreName (netsh,
HttpSetServiceConfiguration), and what a real TLS client sees.

Sources:
- Microsoft "What's New in TLS/SSL (Schannel SSP)" (Windows Server 2012), "Management of
  trusted issuers for client authentication": SendTrustedIssuerList now 0 by default; the
  list comes from the application's store (http.sys: the binding's SslCtlStoreName) if it
  has certificates, else "Client Authentication Issuers" (ClientAuthIssuer) if it has any,
  else Trusted Root Certification Authorities (the 2008 R2 behaviour); ClientAuthTrustMode
  0 Machine Trust (default), 1 Exclusive Root Trust, 2 Exclusive CA Trust.
- Microsoft "Transport Layer Security (TLS) registry settings", SendTrustedIssuerList:
  default FALSE for Windows Server 2012 and later, TRUE for 2008 R2 and earlier.
- KB 2801679 "SSL/TLS communication problems after you install KB 931125": every Root
  certificate trusted for client authentication goes in the list, at most 16 KB; beyond
  that Schannel truncates it and logs the warning 36885 (its text); KB 933430 (the same
  event on Windows Server 2003, "Event Type: Warning").
- KB 2802568 "IIS may reject client certificate requests with HTTP 403.7 or 403.16
  errors": an untrusted client certificate is 403.16, the IIS log's sc-win32-status
  2148204809 = 0x800B0109 CERT_E_UNTRUSTEDROOT.
- Microsoft Japan identity support blog "AD FS 証明書認証のトラブルシューティング"
  (2018-11-01): ``netsh http add sslcert ... sslctlstorename=adfsclient`` then ``netsh http
  show sslcert`` prints "Ctl Identifier : (null)" and "Ctl Store Name : adfsclient".
- netsh http add sslcert help (Microsoft "Netsh commands for HTTP"): sslctlidentifier,
  sslctlstorename; http.h HTTP_SERVICE_CONFIG_SSL_PARAM pDefaultSslCtlIdentifier,
  pDefaultSslCtlStoreName.
"""

from __future__ import annotations

import datetime
import io
import socket
import ssl
import subprocess
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from helpers_sspi import NOW, install, issue, make_root

from capi import constants as C
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
from capi.errors import CERT_E_UNTRUSTEDROOT, ERROR_INVALID_PARAMETER
from capi.host import eventlog
from capi.host.context import use_machine
from capi.testing import raises_hresult
from schannel import certevents, clientauth, httpapi, httpsys, serve
from schannel.http11 import HttpResponse
from schannel.iis import IIS_APP_ID
from winpki.cli import main

ENDPOINT = "0.0.0.0:443"


def _ec():
    return ec.generate_private_key(ec.SECP256R1())


def _ca(issuer, cn: str):
    """An intermediate CA under ``issuer`` ((cert, key))."""
    key = _ec()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(issuer[0].subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(issuer[1], hashes.SHA256()))
    return cert, key


def _add(store: str, cert) -> None:
    with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, C.CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       store) as s:
        CertAddEncodedCertificateToStore(s, C.X509_ASN_ENCODING,
                                         cert.public_bytes(serialization.Encoding.DER),
                                         C.CERT_STORE_ADD_REPLACE_EXISTING)


def _run(*args) -> str:
    out = io.StringIO()
    rc = main(list(args), out=out)
    assert rc == 0, out.getvalue()
    return out.getvalue()


def _reg_add(name: str, value: int) -> None:
    """winpki reg add, as the command clientauth.reg_command prints."""
    _run("reg", "add", r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL",
         "/v", name, "/t", "REG_DWORD", "/d", str(value), "/f")


def _subject(cert) -> bytes:
    return cert.subject.public_bytes()


# --- the registry values and the OS defaults ------------------------------------------------


@pytest.mark.parametrize("os_version, default", [("2003", True), ("2008R2", True),
                                                 ("2012", False), ("2019", False),
                                                 ("2022", False)])
def test_send_trusted_issuer_list_default_per_version(make_machine, os_version, default):
    # "TLS registry settings": FALSE for Windows Server 2012 and later, TRUE before.
    m = make_machine(os_version=os_version)
    assert clientauth.sends_trusted_issuer_list(m) is default
    with use_machine(m):
        _reg_add("SendTrustedIssuerList", 0 if default else 1)
    assert clientauth.sends_trusted_issuer_list(m) is not default


def test_trust_mode_values(machine, make_machine):
    assert clientauth.trust_mode(machine) == clientauth.MACHINE_TRUST
    for value in (1, 2, 0):
        _reg_add("ClientAuthTrustMode", value)
        assert clientauth.trust_mode(machine) == value
    # A value the table does not list reads as the default (no source says otherwise).
    _reg_add("ClientAuthTrustMode", 7)
    assert clientauth.trust_mode(machine) == clientauth.MACHINE_TRUST
    # Windows Server 2008 R2 has no ClientAuthTrustMode ("What's New": new in 2012).
    old = make_machine(os_version="2008R2")
    with use_machine(old):
        _reg_add("ClientAuthTrustMode", 1)
    assert clientauth.trust_mode(old) == clientauth.MACHINE_TRUST


# --- where the list comes from ---------------------------------------------------------------


def test_issuer_source_order(machine):
    """Binding store with certificates > ClientAuthIssuer with certificates > Root."""
    root, other, third = make_root("Machine Root"), make_root("Issuer Root"), make_root("Ctl Root")
    _add("Root", root[0])
    src = clientauth.issuer_source(machine, "ClientCAs")  # a store that does not exist
    assert (src.store, src.origin) == ("Root", "Root")
    assert [c.x509 for c in src.certificates] == [root[0]]
    _add("ClientAuthIssuer", other[0])
    src = clientauth.issuer_source(machine, "ClientCAs")
    assert (src.store, src.origin) == ("ClientAuthIssuer", "ClientAuthIssuer")
    _add("ClientCAs", third[0])
    src = clientauth.issuer_source(machine, "ClientCAs")
    assert (src.store, src.origin) == ("ClientCAs", "binding")
    assert "the binding's SslCtlStoreName" in src.description
    # Looking never creates the binding's store (CERT_STORE_OPEN_EXISTING_FLAG).
    clientauth.issuer_source(machine, "NoSuchStore")
    with raises_hresult(0x80070002):  # ERROR_FILE_NOT_FOUND
        CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, C.CERT_SYSTEM_STORE_LOCAL_MACHINE
                      | C.CERT_STORE_OPEN_EXISTING_FLAG, "NoSuchStore")


def test_2008r2_takes_the_list_from_root_only(w2008):
    root, other = make_root("Machine Root"), make_root("Issuer Root")
    _add("Root", root[0])
    _add("ClientAuthIssuer", other[0])
    src = clientauth.issuer_source(w2008, "ClientAuthIssuer")
    assert src.store == "Root"
    issuers = clientauth.trusted_issuer_list(w2008)
    assert issuers.sent and issuers.names == [_subject(root[0])]


def test_list_holds_only_issuers_trusted_for_client_auth(machine):
    """KB 2801679: every Root certificate trusted for client authentication is added."""
    plain = make_root("Any Purpose Root")
    key = _ec()
    server_only = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TLS Root")]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TLS Root")]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - datetime.timedelta(days=1))
                   .not_valid_after(NOW + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    _add("Root", plain[0])
    _add("Root", server_only)
    _reg_add("SendTrustedIssuerList", 1)
    assert clientauth.trusted_issuer_list(machine).names == [_subject(plain[0])]
    # Off (the 2019 default): nothing is named.
    _reg_add("SendTrustedIssuerList", 0)
    issuers = clientauth.trusted_issuer_list(machine)
    assert (issuers.sent, issuers.certificates) == (False, ())


def _long_root(i: int):
    """A root whose subject is ~450 bytes: 36 of them are more than 16 KB of names."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Bulk Root {i:03d}")]
                     + [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{u}" * 60)
                        for u in "abcdefg"])
    key = _ec()
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(i + 1)
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def test_list_is_cut_at_16_kb_with_event_36885(w2008):
    m = w2008
    roots = [_long_root(i) for i in range(40)]
    for r in roots:
        _add("Root", r)
    issuers = clientauth.trusted_issuer_list(m)
    assert issuers.truncated
    size = sum(2 + len(n) for n in issuers.names)
    assert size <= clientauth.ISSUER_LIST_LIMIT < size + 2 + len(_subject(roots[0]))
    assert len(issuers.names) < len(roots)
    # Without the list there is nothing to cut (and nothing to log).
    _reg_add("SendTrustedIssuerList", 0)
    assert not clientauth.trusted_issuer_list(m).truncated
    _reg_add("SendTrustedIssuerList", 1)
    # 36885 is a warning: written when EventLogging has 0x2 (KB 260729), as the endpoint
    # builds its CertificateRequest.
    certevents.set_event_logging(m, 3)
    assert clientauth.log_issuer_list_truncated(m) == [36885]
    events = eventlog.query(m, "System", xpath="*[System[(EventID=36885)]]")
    assert [(e.level, e.message) for e in events] == [
        (eventlog.LEVEL_WARNING, clientauth.event_36885_text())]
    assert events[0].message.startswith("When asking for client authentication, this server "
                                        "sends a list of trusted certificate authorities")


# --- the binding's SslCtlIdentifier / SslCtlStoreName -----------------------------------------


@pytest.fixture
def server(machine, tmp_path):
    """A 2019 machine with a localhost server certificate, a trusted root and clients."""
    root = make_root("Machine Root")
    _add("Root", root[0])
    cert, key = issue(root, "localhost", dns=("localhost",), key=_ec())
    ctx, _ = install(cert, key)
    clients = {}
    inter = _ca(make_root("Partner Root"), "Partner Issuing CA")
    for name, issuer in (("good", root), ("partner", inter)):
        ccert, ckey = issue(issuer, f"{name}-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH,
                            key=_ec())
        pem, keyfile = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        chain = [ccert] + ([issuer[0]] if issuer is inter else [])
        pem.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        keyfile.write_bytes(ckey.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        clients[name] = (pem, keyfile)
    return {"machine": machine, "root": root, "thumb": ctx.thumbprint.lower(), "inter": inter,
            "clients": clients}


def _bind(server, *extra) -> None:
    _run("netsh", "http", "add", "sslcert", f"ipport={ENDPOINT}", f"certhash={server['thumb']}",
         f"appid={IIS_APP_ID}", "clientcertnegotiation=enable", *extra)


def test_netsh_round_trip_of_ctl_fields(server):
    _bind(server, "sslctlidentifier=PartnerCTL", "sslctlstorename=adfsclient")
    shown = _run("netsh", "http", "show", "sslcert", f"ipport={ENDPOINT}")
    assert "    Ctl Identifier               : PartnerCTL\n" in shown
    assert "    Ctl Store Name               : adfsclient\n" in shown
    b = httpsys.get_binding(server["machine"], ENDPOINT)
    assert (b.ctl_identifier, b.ctl_store_name) == ("PartnerCTL", "adfsclient")
    # HttpQueryServiceConfiguration returns them in the structure's fields.
    rec = httpapi.HttpQueryServiceConfiguration(None, httpapi.HttpServiceConfigSSLCertInfo,
                                                httpapi.HTTP_SERVICE_CONFIG_SSL_QUERY(
                                                    KeyDesc=httpapi.HTTP_SERVICE_CONFIG_SSL_KEY(
                                                        ("0.0.0.0", 443))))
    assert rec.ParamDesc.pDefaultSslCtlIdentifier == "PartnerCTL"
    assert rec.ParamDesc.pDefaultSslCtlStoreName == "adfsclient"
    # Deleted with the binding: added back without them, netsh shows (null) again.
    _run("netsh", "http", "delete", "sslcert", f"ipport={ENDPOINT}")
    _bind(server)
    shown = _run("netsh", "http", "show", "sslcert", f"ipport={ENDPOINT}")
    assert "    Ctl Identifier               : (null)\n" in shown
    assert "    Ctl Store Name               : (null)\n" in shown


def test_http_api_sets_ctl_fields_that_netsh_shows(server):
    param = httpapi.HTTP_SERVICE_CONFIG_SSL_PARAM(
        pSslHash=bytes.fromhex(server["thumb"]), AppId=uuid.UUID(IIS_APP_ID.strip("{}")),
        pSslCertStoreName="MY", pDefaultSslCtlStoreName="ClientCAs",
        DefaultFlags=httpapi.HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT)
    key = httpapi.HTTP_SERVICE_CONFIG_SSL_KEY(("0.0.0.0", 443))
    httpapi.HttpSetServiceConfiguration(None, httpapi.HttpServiceConfigSSLCertInfo,
                                        httpapi.HTTP_SERVICE_CONFIG_SSL_SET(key, param))
    shown = _run("netsh", "http", "show", "sslcert")
    assert "    Ctl Identifier               : (null)\n" in shown
    assert "    Ctl Store Name               : ClientCAs\n" in shown
    # HttpUpdateServiceConfiguration replaces them with the rest of the record.
    param.pDefaultSslCtlStoreName = None
    param.pDefaultSslCtlIdentifier = "Other"
    httpapi.HttpUpdateServiceConfiguration(None, httpapi.HttpServiceConfigSSLCertInfo,
                                           httpapi.HTTP_SERVICE_CONFIG_SSL_SET(key, param))
    b = httpsys.get_binding(server["machine"], ENDPOINT)
    assert (b.ctl_identifier, b.ctl_store_name) == ("Other", None)
    # Not a string: ERROR_INVALID_PARAMETER, and the record is unchanged.
    param.pDefaultSslCtlStoreName = 5
    with raises_hresult(0x80070000 | ERROR_INVALID_PARAMETER):
        httpapi.HttpUpdateServiceConfiguration(None, httpapi.HttpServiceConfigSSLCertInfo,
                                               httpapi.HTTP_SERVICE_CONFIG_SSL_SET(key, param))
    assert httpsys.get_binding(server["machine"], ENDPOINT) == b


# --- what a real TLS client sees ---------------------------------------------------------------


def _s_client(address) -> tuple[bool, list[str]]:
    """(a CertificateRequest came, the CA names it carried) as ``openssl s_client`` prints
    them ("Acceptable client certificate CA names" and one line per name)."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"{address[0]}:{address[1]}",
                          "-tls1_2", "-servername", "localhost"],
                         input=b"", capture_output=True, timeout=30).stdout.decode()
    lines = out.splitlines()
    names: list[str] = []
    if "Acceptable client certificate CA names" in lines:
        for line in lines[lines.index("Acceptable client certificate CA names") + 1:]:
            if line.startswith(("Client Certificate Types", "Requested Signature", "---")):
                break
            names.append(line.strip())
    else:
        assert "No client certificate CA names sent" in lines, out
    return "Client Certificate Types:" in out, names


def _who(request) -> HttpResponse:
    cert = request.handshake.client_certificate
    return HttpResponse(body=(cert.x509.subject.rfc4514_string() if cert else "anonymous").encode())


def _get(address, server, client: str) -> bytes:
    ctx = ssl.create_default_context(cadata=server["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(*server["clients"][client])
    with socket.create_connection(address, timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    return data


def test_certificate_request_names_what_schannel_would(server):
    _bind(server)
    # Windows Server 2019: SendTrustedIssuerList is off -- asked, no names.
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert _s_client(endpoint.address) == (True, [])
    _reg_add("SendTrustedIssuerList", 1)
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert _s_client(endpoint.address) == (True, ["CN = Machine Root"])
    # Client Authentication Issuers, once it holds a certificate, replaces Root.
    _add("ClientAuthIssuer", server["inter"][0])
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert _s_client(endpoint.address) == (True, ["CN = Partner Issuing CA"])
    # The binding's own store (sslctlstorename) replaces both.
    _add("ClientCAs", server["root"][0])
    _run("netsh", "http", "delete", "sslcert", f"ipport={ENDPOINT}")
    _bind(server, "sslctlstorename=ClientCAs")
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert _s_client(endpoint.address) == (True, ["CN = Machine Root"])


def test_machine_trust_is_the_default(server):
    _bind(server)
    _add("ClientAuthIssuer", server["inter"][0])  # changes the list, not the trust
    with serve(ENDPOINT, handler=_who) as endpoint:
        good = _get(endpoint.address, server, "good")
        partner = _get(endpoint.address, server, "partner")
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    # The partner's root is not in LocalMachine\Root: untrusted (KB 2802568's 403.16).
    assert partner.startswith(b"HTTP/1.1 403") and b"403.16" in partner


def test_exclusive_root_trust(server):
    m = server["machine"]
    _bind(server)
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_ROOT_TRUST)
    certevents.set_event_logging(m, 3)
    _add("ClientAuthIssuer", make_root("Some Other Root")[0])
    with serve(ENDPOINT, handler=_who) as endpoint:
        good = _get(endpoint.address, server, "good")
    # Trusted by the machine, but its root is not in the exclusive store: 403.16 and 36877
    # with SEC_E_UNTRUSTED_ROOT (CERT_E_UNTRUSTEDROOT's Schannel code).
    assert good.startswith(b"HTTP/1.1 403") and b"403.16" in good
    events = eventlog.query(m, "System", xpath="*[System[(EventID=36877)]]")
    assert [e.data.get("ErrorCode") for e in events] == ["0x80090325"]
    _add("ClientAuthIssuer", server["root"][0])
    with serve(ENDPOINT, handler=_who) as endpoint:
        good = _get(endpoint.address, server, "good")
        partner = _get(endpoint.address, server, "partner")
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    assert b"403.16" in partner
    # An intermediate in the store is no root: Exclusive Root Trust still refuses.
    _add("ClientAuthIssuer", server["inter"][0])
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert b"403.16" in _get(endpoint.address, server, "partner")


def test_exclusive_root_store_change_applies_while_serving(server):
    # Schannel judges each handshake with the store as it is then (the chain engine resyncs
    # when a store it reads changes: Microsoft "CertControlStore", CERT_STORE_CTRL_RESYNC):
    # a root added to ClientAuthIssuer trusts the next client, its removal refuses the next.
    from capi.crypt32.store import CertDeleteCertificateFromStore

    _bind(server)
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_ROOT_TRUST)
    _add("ClientAuthIssuer", make_root("Some Other Root")[0])
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert b"403.16" in _get(endpoint.address, server, "good")
        _add("ClientAuthIssuer", server["root"][0])
        assert _get(endpoint.address, server, "good").startswith(b"HTTP/1.1 200")
        with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                           C.CERT_SYSTEM_STORE_LOCAL_MACHINE, "ClientAuthIssuer") as s:
            der = server["root"][0].public_bytes(serialization.Encoding.DER)
            ctx = next(c for c in s if c.pbCertEncoded == der)
            CertDeleteCertificateFromStore(ctx)
        assert b"403.16" in _get(endpoint.address, server, "good")


def test_exclusive_ca_trust_anchors_at_an_intermediate(server):
    _bind(server, "sslctlstorename=PartnerCAs")
    _add("PartnerCAs", server["inter"][0])
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_CA_TRUST)
    with serve(ENDPOINT, handler=_who) as endpoint:
        partner = _get(endpoint.address, server, "partner")
        good = _get(endpoint.address, server, "good")
        asked = _s_client(endpoint.address)
    # The partner's chain passes through the store's intermediate: trusted, though its root
    # is on no list of this machine; the machine-trusted client is not.
    assert partner.startswith(b"HTTP/1.1 200") and partner.endswith(b"CN=partner-client")
    assert good.startswith(b"HTTP/1.1 403") and b"403.16" in good
    assert asked == (True, [])  # SendTrustedIssuerList still off


def test_judge_client_chain_reports_the_mode(server):
    from capi.crypt32.cert import CertCreateCertificateContext
    from capi.host.context import run_as

    m = server["machine"]
    leaf = issue(server["root"], "direct", eku=ExtendedKeyUsageOID.CLIENT_AUTH, key=_ec())[0]
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_ROOT_TRUST)
    _add("ClientAuthIssuer", server["inter"][0])
    with run_as("NT AUTHORITY\\SYSTEM"):
        ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING,
                                           leaf.public_bytes(serialization.Encoding.DER))
        trust = clientauth.judge_client_chain(m, ctx)
    assert (trust.error, trust.machine_error, trust.mode) == (CERT_E_UNTRUSTEDROOT, 0, 1)
    assert trust.refused_by_mode and trust.source.store == "ClientAuthIssuer"


# --- the doctor -------------------------------------------------------------------------------


def test_doctor_names_the_trust_mode_and_its_fix_works(server, tmp_path, monkeypatch):
    """Trusted by the machine, refused by Exclusive Root Trust: the doctor says so
    (client-cert-trust-mode, 403.16, SEC_E_UNTRUSTED_ROOT) and its first fix, run as
    printed, makes the served endpoint accept the certificate."""
    import shlex

    from capi.crypt32.cert import CertCreateCertificateContext
    from winpki.doctor_clients import diagnose_client_certificate

    m = server["machine"]
    _bind(server)
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_ROOT_TRUST)
    _add("ClientAuthIssuer", make_root("Some Other Root")[0])
    good_pem = server["clients"]["good"][0].read_bytes()
    leaf = x509.load_pem_x509_certificate(good_pem)
    ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING,
                                       leaf.public_bytes(serialization.Encoding.DER))
    diag = diagnose_client_certificate(m, ctx, ENDPOINT)
    finding = diag.findings[0]
    assert finding.cause == "client-cert-trust-mode" and finding.severity == "error"
    assert finding.hresult == 0x80090325
    assert any("Exclusive Root Trust" in e and "LocalMachine\\ClientAuthIssuer" in e
               for e in finding.evidence)
    assert any("403.16" in e for e in finding.evidence)
    # The fix: the client's root into ClientAuthIssuer (the file name the doctor prints).
    add = finding.commands[0]
    assert add == "winpki certutil -addstore ClientAuthIssuer MachineRoot.cer"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "MachineRoot.cer").write_bytes(
        server["root"][0].public_bytes(serialization.Encoding.DER))
    _run(*shlex.split(add)[1:])
    assert diagnose_client_certificate(m, ctx, ENDPOINT).findings[0].cause == "client-cert-ok"
    with serve(ENDPOINT, handler=_who) as endpoint:
        good = _get(endpoint.address, server, "good")
    assert good.startswith(b"HTTP/1.1 200")
    # The other fix (back to Machine Trust) is a reg add the CLI runs as printed.
    back = finding.commands[1]
    _run(*shlex.split(back)[1:])
    assert clientauth.trust_mode(m) == clientauth.MACHINE_TRUST


def test_doctor_reports_the_issuer_list_it_would_send(server):
    from capi.crypt32.cert import CertCreateCertificateContext
    from winpki.doctor_clients import diagnose_client_certificate

    _bind(server, "sslctlstorename=PartnerCAs")
    _add("PartnerCAs", server["inter"][0])
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_CA_TRUST)
    partner = x509.load_pem_x509_certificates(server["clients"]["partner"][0].read_bytes())
    _add("CA", partner[1])
    ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING,
                                       partner[0].public_bytes(serialization.Encoding.DER))
    diag = diagnose_client_certificate(server["machine"], ctx, ENDPOINT)
    # Exclusive CA Trust anchors at the binding store's CA: trusted, as the endpoint says.
    assert diag.findings[0].cause == "client-cert-ok"
    text = "\n".join(diag.findings[0].evidence)
    assert "Trusted issuer list: not sent (SendTrustedIssuerList is 0 or absent" in text
    assert "ClientAuthTrustMode 2 (Exclusive CA Trust): trusted issuers from " \
           "LocalMachine\\PartnerCAs (the binding's SslCtlStoreName)" in text


@pytest.mark.xfail(strict=True, reason="Certificate trust lists are not modelled "
                   "(CertCreateCTLContext is ERROR_CALL_NOT_IMPLEMENTED): before Windows "
                   "Server 2012 http.sys takes a binding's trusted issuers from the CTL "
                   "SslCtlIdentifier in its SslCtlStoreName store ('What's New in TLS/SSL "
                   "(Schannel SSP)'); winpki always takes them from LocalMachine\\Root there")
def test_2008r2_binding_ctl_names_the_trusted_issuers(w2008):
    partner = make_root("Partner Root")
    _add("Root", partner[0])
    _add("Root", make_root("Other Root")[0])
    _add("PartnerCTLs", partner[0])  # the CTL's store (the CTL itself cannot be made)
    issuers = clientauth.trusted_issuer_list(w2008, "PartnerCTLs")
    assert issuers.names == [_subject(partner[0])]


def test_exclusive_ca_trust_finds_a_ca_the_client_did_not_send(server, tmp_path):
    """The client sends its certificate alone; its issuing CA is only in the trusted issuer
    store (not in LocalMachine\\CA): Exclusive CA Trust still anchors there."""
    _bind(server)
    _add("ClientAuthIssuer", server["inter"][0])
    _reg_add("ClientAuthTrustMode", clientauth.EXCLUSIVE_CA_TRUST)
    pem = server["clients"]["partner"][0]
    leaf_only = tmp_path / "partner-leaf.pem"
    leaf_only.write_bytes(_pem_certs(pem.read_bytes())[0])
    server["clients"]["partner-leaf"] = (leaf_only, server["clients"]["partner"][1])
    with serve(ENDPOINT, handler=_who) as endpoint:
        partner = _get(endpoint.address, server, "partner-leaf")
    assert partner.startswith(b"HTTP/1.1 200") and partner.endswith(b"CN=partner-client")
    # Machine Trust: the same client is untrusted (its root is nowhere on this machine).
    _reg_add("ClientAuthTrustMode", clientauth.MACHINE_TRUST)
    with serve(ENDPOINT, handler=_who) as endpoint:
        assert b"403.16" in _get(endpoint.address, server, "partner-leaf")


def _pem_certs(data: bytes) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.PEM)
            for c in x509.load_pem_x509_certificates(data)]


def test_served_endpoint_cuts_the_list_and_logs_36885(w2008, tmp_path):
    """Windows Server 2008 R2 sends the list by default; with 40 long-named roots it is
    over 16 KB: the client sees the part that fits, and 36885 is in the System log."""
    roots = [_long_root(i) for i in range(40)]
    for r in roots:
        _add("Root", r)
    root = make_root("Machine Root")
    _add("Root", root[0])
    cert, key = issue(root, "localhost", dns=("localhost",), key=_ec())
    ctx, _ = install(cert, key)
    _run("netsh", "http", "add", "sslcert", f"ipport={ENDPOINT}",
         f"certhash={ctx.thumbprint.lower()}", f"appid={IIS_APP_ID}",
         "clientcertnegotiation=enable")
    certevents.set_event_logging(w2008, 3)
    # TLS 1.2 is off by default on 2008 R2 ("Protocols in TLS/SSL (Schannel SSP)").
    from schannel import protocols

    protocols.set_server_protocol(w2008, "TLS 1.2", True)
    expected = clientauth.trusted_issuer_list(w2008)
    with serve(ENDPOINT, handler=_who) as endpoint:
        asked, names = _s_client(endpoint.address)
    assert asked and 0 < len(names) == len(expected.names) < len(roots) + 1
    assert all(n.startswith(("CN = Bulk Root", "CN = Machine Root")) for n in names)
    assert [e.event_id for e in eventlog.query(w2008, "System",
                                               xpath="*[System[(EventID=36885)]]")] == [36885]

"""IIS asks for the client certificate after the request when only its sslFlags ask (the
http.sys binding's clientcertnegotiation is off, its default): a renegotiation on TLS 1.2,
on TLS 1.3 a reset connection (Windows Server 2022) or IIS's HTTP 500.0 with error code
0x80070032 (Windows Server 2025), and the binding's clientcertnegotiation=enable as the fix.

Sources: Microsoft TechNet, "How it works on the wire: IIS HTTP Client certificate
authentication" (GET, then the server's renegotiation request, a second handshake in which
the server asks for the certificate, then 200); IIS support blog, "Addressing TLS 1.3
Compatibility Issues in IIS Express on Windows 11" (TLS 1.3 has no renegotiation; before
Windows 11 24H2 / Server 2025 the browser gets ERR_CONNECTION_RESET; from them on, "IIS
detailed error page showing HTTP 500.0 Internal Server Error with the error code
0x80070032 originating from the IIS Web Core module"; the fix is
clientcertnegotiation=enable on the binding); ASP.NET Core docs, "HttpSys: Client
certificate renegotiation disabled by default" (netsh ... clientcertnegotiation)."""

from __future__ import annotations

import io
import socket
import ssl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from helpers_sspi import install, issue, make_root, trust_root

from schannel import httpsys, iis, serve
from schannel.http11 import HttpResponse
from winpki.cli import main


def _site(machine, tmp_path):
    root = make_root()
    trust_root(root[0])
    cert, key = issue(root, "localhost", dns=("localhost",))
    ctx, _ = install(cert, key)
    paths = {}
    for name, issuer in (("good", root), ("rogue", make_root("Rogue Root"))):
        ccert, ckey = issue(issuer, f"{name}-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH)
        pem, keyfile = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        pem.write_bytes(ccert.public_bytes(serialization.Encoding.PEM))
        keyfile.write_bytes(ckey.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        paths[name] = (pem, keyfile)
    iis.add_https_binding(machine, "Default Web Site", "*:443:", ctx.thumbprint)
    out = io.StringIO()
    assert main(["appcmd", "set", "config", "Default Web Site",
                 "-section:system.webServer/security/access",
                 "/sslFlags:Ssl, SslNegotiateCert, SslRequireCert", "/commit:apphost"],
                out=out) == 0, out.getvalue()
    return {"machine": machine, "ctx": ctx, "root": root, "client": paths}


@pytest.fixture
def site(machine, tmp_path):
    """Windows Server 2019: TLS 1.2 at most."""
    return _site(machine, tmp_path)


@pytest.fixture
def site_2022(make_machine, tmp_path):
    """Windows Server 2022: TLS 1.3 enabled by default."""
    from capi.host.context import use_machine

    m = make_machine(os_version="2022")
    with use_machine(m):
        yield _site(m, tmp_path)


@pytest.fixture
def site_2025(make_machine, tmp_path):
    """Windows Server 2025: TLS 1.3 enabled by default, http.sys answers ERROR_NOT_SUPPORTED."""
    from capi.host.context import use_machine

    m = make_machine(os_version="2025")
    with use_machine(m):
        yield _site(m, tmp_path)


def _client(site, client=None, tls13=False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=site["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
    if client:
        ctx.load_cert_chain(*site["client"][client])
    return ctx


def _get(address, ctx, seen=None) -> bytes:
    with socket.create_connection(address, timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            if seen is not None:  # what the first handshake carried
                seen.append(tls.getpeercert(binary_form=True) is not None)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    return data


def _get_over_memory_bio(address, ctx) -> bytes:
    """The exchange with TLS in memory, so that what the server does to the TCP connection
    (a reset) reaches the test as the socket's own error."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection(address, timeout=10) as raw:
        def pump() -> bool:
            if outgoing.pending:
                raw.sendall(outgoing.read())
            data = raw.recv(65536)
            if not data:
                return False
            incoming.write(data)
            return True

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if not pump():
                    raise ConnectionError("closed during the handshake") from None
        tls.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        raw.sendall(outgoing.read())
        response = b""
        while pump():
            try:
                while chunk := tls.read(65536):
                    response += chunk
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                pass
    return response


def _negotiate_in_handshake(m) -> None:
    """netsh http delete sslcert, then add it back with clientcertnegotiation=enable."""
    binding = httpsys.get_binding(m, "0.0.0.0:443")
    httpsys.delete_binding(m, "0.0.0.0:443")
    httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", binding.cert_hash,
                                              binding.app_id, binding.store_name,
                                              client_cert_negotiation=True))


def _who(request) -> HttpResponse:
    cert = request.handshake.client_certificate
    name = cert.x509.subject.rfc4514_string() if cert is not None else "anonymous"
    return HttpResponse(body=name.encode())


def test_tls12_renegotiates_after_the_request(site):
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        good = _get(endpoint.address, _client(site, "good"))
        rogue = _get(endpoint.address, _client(site, "rogue"))
        anonymous = _get(endpoint.address, _client(site))
        assert endpoint.handshakes == 3  # the initial handshakes; renegotiations add none
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    assert rogue.startswith(b"HTTP/1.1 403 Forbidden") and b"403.16" in rogue
    assert anonymous.startswith(b"HTTP/1.1 403 Forbidden") and b"403.7" in anonymous


def _s_client_ca_names(address) -> str:
    """What ``openssl s_client`` says of the first handshake's CertificateRequest: its CA
    names line, with " (asked)" when a CertificateRequest came (s_client prints "Client
    Certificate Types" only then)."""
    import subprocess

    out = subprocess.run(["openssl", "s_client", "-connect", f"{address[0]}:{address[1]}",
                          "-tls1_2", "-servername", "localhost"],
                         input=b"", capture_output=True, timeout=30).stdout.decode()
    asked = " (asked)" if "Client Certificate Types:" in out else ""
    for line in out.splitlines():
        if "client certificate CA names" in line:
            return line.strip() + asked
    raise AssertionError(out)


def test_first_handshake_asks_only_with_clientcertnegotiation(site):
    """Without clientcertnegotiation the first handshake carries no CertificateRequest
    (the certificate is asked for later); with it, the handshake asks -- naming no issuers
    on Windows Server 2019, whose SendTrustedIssuerList is off by default, and the trusted
    roots once it is on (schannel.clientauth; tests/test_clientauth_trust.py)."""
    from schannel import clientauth

    with serve("0.0.0.0:443", handler=_who) as endpoint:
        assert _s_client_ca_names(endpoint.address) == "No client certificate CA names sent"
    _negotiate_in_handshake(site["machine"])
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        assert _s_client_ca_names(endpoint.address) == \
            "No client certificate CA names sent (asked)"
    clientauth.set_schannel_dword(site["machine"], clientauth.SEND_TRUSTED_ISSUER_LIST, 1)
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        assert _s_client_ca_names(endpoint.address) == \
            "Acceptable client certificate CA names (asked)"


def test_tls13_connection_is_reset_on_2022(site_2022):
    site = site_2022
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        with pytest.raises(ConnectionResetError):  # a TCP reset, not a TLS alert or a FIN
            _get_over_memory_bio(endpoint.address, _client(site, "good", tls13=True))
        # The same machine over TLS 1.2 renegotiates as before.
        good = _get(endpoint.address, _client(site, "good"))
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")


def test_clientcertnegotiation_enable_is_the_fix(site_2022):
    site = site_2022
    _negotiate_in_handshake(site["machine"])
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        good = _get(endpoint.address, _client(site, "good", tls13=True))
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")


def test_doctor_names_the_renegotiation_and_its_fix(site_2022):
    """The doctor sees sslFlags asking without clientcertnegotiation on a TLS 1.3 machine;
    its fix commands, run as printed, clear the finding and make TLS 1.3 clients work."""
    import json
    import shlex

    site = site_2022
    thumb = site["ctx"].thumbprint.lower()

    def doctor() -> dict:
        out = io.StringIO()
        main(["doctor", thumb, "--ipport", "0.0.0.0:443", "--json"], out=out)
        return json.loads(out.getvalue())

    [finding] = [f for f in doctor()["findings"] if f["cause"] == "client-cert-renegotiation"]
    assert finding["severity"] == "warning"
    assert finding["commands"][0] == "winpki netsh http delete sslcert ipport=0.0.0.0:443"
    assert finding["commands"][1].endswith("clientcertnegotiation=enable")
    for command in finding["commands"]:
        out = io.StringIO()
        assert main(shlex.split(command)[1:], out=out) == 0, out.getvalue()
    assert not [f for f in doctor()["findings"] if f["cause"] == "client-cert-renegotiation"]
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        good = _get(endpoint.address, _client(site, "good", tls13=True))
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")


def test_doctor_is_quiet_on_2019(site):
    """TLS 1.2 at most: IIS's renegotiation works, nothing to say."""
    import json

    out = io.StringIO()
    main(["doctor", site["ctx"].thumbprint.lower(), "--ipport", "0.0.0.0:443", "--json"], out=out)
    causes = [f["cause"] for f in json.loads(out.getvalue())["findings"]]
    assert "client-cert-renegotiation" not in causes and "binding-ok" in causes


def test_tls13_gets_500_0_with_0x80070032_on_2025(site_2025):
    """Windows Server 2025: the same site answers a TLS 1.3 client with IIS's detailed error
    page, HTTP 500.0, module IIS Web Core, error code 0x80070032 (ERROR_NOT_SUPPORTED); the
    connection is not reset, and a second request on it gets the same answer."""
    from capi.errors import ERROR_NOT_SUPPORTED, message, normalize

    site = site_2025
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        for client in ("good", None):  # with a certificate to offer, and without one
            seen = []
            got = _get(endpoint.address, _client(site, client, tls13=True), seen)
            head, _, body = got.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
            assert b"Server: Microsoft-IIS/10.0" in head
            assert b"<h3>HTTP Error 500.0 - Internal Server Error</h3>" in body
            assert b"<th>Module</th><td>IIS Web Core</td>" in body
            assert b"<th>Error Code</th><td>0x80070032</td>" in body
            assert b"CN=good-client" not in body  # the handler never ran
        # Two requests on one TLS 1.3 connection: both answered 500.0, nothing reset.
        with socket.create_connection(endpoint.address, timeout=10) as raw:
            with _client(site, "good", tls13=True).wrap_socket(
                    raw, server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.3"
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
                            b"GET /again HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
        assert data.count(b"HTTP/1.1 500 Internal Server Error") == 2
        # The same machine over TLS 1.2 renegotiates as before.
        good = _get(endpoint.address, _client(site, "good"))
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    assert normalize(ERROR_NOT_SUPPORTED) == 0x80070032
    assert message(ERROR_NOT_SUPPORTED) == "The request is not supported."


def test_clientcertnegotiation_enable_is_the_fix_on_2025(site_2025):
    site = site_2025
    _negotiate_in_handshake(site["machine"])
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        good = _get(endpoint.address, _client(site, "good", tls13=True))
        rogue = _get(endpoint.address, _client(site, "rogue", tls13=True))
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    assert rogue.startswith(b"HTTP/1.1 403 Forbidden") and b"403.16" in rogue


def test_doctor_describes_the_2025_symptom(site_2025):
    """On 2025 the doctor's finding names the 500.0 / 0x80070032 answer, not a reset."""
    import json

    site = site_2025
    out = io.StringIO()
    main(["doctor", site["ctx"].thumbprint.lower(), "--ipport", "0.0.0.0:443", "--json"], out=out)
    [finding] = [f for f in json.loads(out.getvalue())["findings"]
                 if f["cause"] == "client-cert-renegotiation"]
    text = " ".join(finding["evidence"])
    assert "HTTP 500.0" in text and "0x80070032" in text and "reset" not in text
    assert finding["hresult"] == "0x80070032"
    assert finding["commands"][1].endswith("clientcertnegotiation=enable")

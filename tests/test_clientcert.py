"""Client certificates on http.sys/IIS (schannel.clientcert): clientcertnegotiation=enable,
IIS sslFlags through appcmd, trust by the machine's chain engine, IIS's 403.7 / 403.16."""

from __future__ import annotations

import io
import ssl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from helpers_sspi import issue, localhost_pki, make_root, tls_exchange, write_pem

from capi.errors import ERROR_INVALID_PARAMETER
from capi.testing import raises_hresult
from schannel import clientcert, httpsys, iis, serve
from schannel.http11 import HttpResponse
from schannel.iis import IIS_APP_ID
from winpki.cli import main


@pytest.fixture
def site(machine, tmp_path):
    root, _, _, ctx, _ = localhost_pki()
    d = tmp_path / "client"
    d.mkdir()
    paths = {}
    for name, issuer in (("good", root), ("rogue", make_root("Rogue Root"))):
        ccert, ckey = issue(issuer, f"{name}-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH)
        paths[name] = write_pem(ccert, ckey, d, name)
    return {"machine": machine, "ctx": ctx, "root": root, "client": paths}


def _get(address, site, client=None) -> bytes:
    ctx = ssl.create_default_context(cadata=site["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    if client:
        ctx.load_cert_chain(*site["client"][client])
    return tls_exchange(address, ctx)[2]


def _who(request) -> HttpResponse:
    cert = request.handshake.client_certificate
    name = cert.x509.subject.rfc4514_string() if cert is not None else "anonymous"
    return HttpResponse(body=name.encode())


def test_clientcertnegotiation_binding_asks_and_the_machine_decides_trust(site):
    m = site["machine"]
    httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport",
                                              site["ctx"].thumbprint.lower(), IIS_APP_ID, "MY",
                                              client_cert_negotiation=True))
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        good = _get(endpoint.address, site, "good")
        rogue = _get(endpoint.address, site, "rogue")
        anonymous = _get(endpoint.address, site)
    # The handler reads the certificate the client sent (trusted: LocalMachine\Root).
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")
    # An untrusted certificate: IIS's 403.16 (Microsoft "The HTTP status code in IIS 7 and
    # later versions": "403.16 - Client certificate is untrusted or invalid.").
    assert rogue.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"403.16" in rogue and b"Client certificate is untrusted or invalid." in rogue
    # Negotiation without SslRequireCert: no certificate is fine.
    assert anonymous.startswith(b"HTTP/1.1 200") and anonymous.endswith(b"anonymous")


def test_iis_ssl_flags_require_a_certificate(site):
    m = site["machine"]
    iis.add_https_binding(m, "Default Web Site", "*:443:", site["ctx"].thumbprint)
    out = io.StringIO()
    rc = main(["appcmd", "set", "config", "Default Web Site",
               "-section:system.webServer/security/access",
               "/sslFlags:Ssl, SslNegotiateCert, SslRequireCert", "/commit:apphost"], out=out)
    assert rc == 0, out.getvalue()
    assert out.getvalue() == ('Applied configuration changes to section '
                              '"system.webServer/security/access" for "MACHINE/WEBROOT/APPHOST/'
                              'Default Web Site" at configuration commit path '
                              '"MACHINE/WEBROOT/APPHOST"\n')
    listing = io.StringIO()
    main(["appcmd", "list", "config", "Default Web Site",
          "-section:system.webServer/security/access"], out=listing)
    assert 'sslFlags="Ssl, SslNegotiateCert, SslRequireCert"' in listing.getvalue()
    assert clientcert.get_access_ssl_flags(m, "Default Web Site") == 0x68
    with serve("0.0.0.0:443", handler=_who) as endpoint:
        anonymous = _get(endpoint.address, site)
        good = _get(endpoint.address, site, "good")
    # "403.7 - Client certificate required."
    assert anonymous.startswith(b"HTTP/1.1 403 Forbidden") and b"403.7" in anonymous
    assert b"Client certificate required." in anonymous
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"CN=good-client")


def test_ssl_flags_bad_values(site):
    with raises_hresult(ERROR_INVALID_PARAMETER):
        clientcert.parse_ssl_flags("Ssl, SslDemandCert")
    out = io.StringIO()
    rc = main(["appcmd", "set", "config", "Default Web Site",
               "-section:system.webServer/security/access", "/sslFlags:Bogus"], out=out)
    assert rc != 0 and out.getvalue().startswith("ERROR ( message:")
    assert clientcert.get_access_ssl_flags(site["machine"], "Default Web Site") == 0

"""Handshakes per second of a binding that asks for a client certificate and judges it by
Schannel's ClientAuthTrustMode (Exclusive Root Trust, the trusted issuer list sent from
LocalMachine\\ClientAuthIssuer: schannel.clientauth), against a plain Python ssl server
that asks for and verifies the same client certificate, in the same run. Each handshake
on our side builds the chain twice (the machine's engine, then the exclusive one) from
the machine's stores; the floor keeps that cost bounded."""

from __future__ import annotations

import io
import ssl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from helpers_sspi import install, issue, make_root
from ratio import rates
from test_tls_bench import PlainSslServer, fetch

from capi import constants as C
from capi import use_machine
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
from schannel import clientauth
from schannel.http11 import HttpResponse
from schannel.iis import IIS_APP_ID
from winpki.cli import main

FLOOR = 0.35  # measured 0.44-0.48 (Exclusive Root Trust, two chain builds a handshake)
ROUNDS, BATCH = 5, 20


def _run(*args):
    out = io.StringIO()
    rc = main(list(args), out=out, err=out)
    assert rc == 0, out.getvalue()


def _pem(obj) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def bound(make_machine, tmp_path):
    machine = make_machine(os_version="2019")
    with use_machine(machine):
        root = make_root("Bench Root")
        for store in ("Root", "ClientAuthIssuer"):
            with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                               C.CERT_SYSTEM_STORE_LOCAL_MACHINE, store) as s:
                CertAddEncodedCertificateToStore(s, C.X509_ASN_ENCODING,
                                                 root[0].public_bytes(serialization.Encoding.DER),
                                                 C.CERT_STORE_ADD_REPLACE_EXISTING)
        key = ec.generate_private_key(ec.SECP256R1())
        cert, _ = issue(root, "localhost", dns=("localhost",), key=key)
        ctx, _ = install(cert, key)
        ckey = ec.generate_private_key(ec.SECP256R1())
        ccert, _ = issue(root, "bench-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH, key=ckey)
        files = {}
        for name, c, k in (("server", cert, key), ("client", ccert, ckey)):
            files[name] = (tmp_path / f"{name}.pem", tmp_path / f"{name}.key")
            files[name][0].write_bytes(_pem(c))
            files[name][1].write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        _run("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
             f"certhash={ctx.thumbprint.lower()}", f"appid={IIS_APP_ID}",
             "clientcertnegotiation=enable")
        clientauth.set_schannel_dword(machine, clientauth.CLIENT_AUTH_TRUST_MODE,
                                      clientauth.EXCLUSIVE_ROOT_TRUST)
        clientauth.set_schannel_dword(machine, clientauth.SEND_TRUSTED_ISSUER_LIST, 1)
        yield machine, root, files


def _ok(request) -> HttpResponse:
    assert request.handshake.client_certificate is not None
    return HttpResponse(body=b"ok")


def test_bench_client_certificate_handshakes(benchmark, bound):
    machine, root, files = bound
    from schannel import serve

    client = ssl.create_default_context(cadata=_pem(root[0]).decode())
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.load_cert_chain(*files["client"])
    with use_machine(machine), serve("0.0.0.0:443", handler=_ok) as endpoint, \
            PlainSslServer(*files["server"]) as plain:
        plain.ctx.verify_mode = ssl.CERT_REQUIRED
        plain.ctx.load_verify_locations(cadata=_pem(root[0]).decode())
        fetch(plain.address, client)
        if benchmark.disabled:
            benchmark(fetch, endpoint.address, client)  # `make test`: one real handshake
            return
        fetch(endpoint.address, client)
        ours, theirs = rates(lambda: fetch(endpoint.address, client),
                             lambda: fetch(plain.address, client), rounds=BATCH, passes=ROUNDS,
                             slice_seconds=None)
        ratio = ours / theirs
        benchmark.extra_info.update(serve_hs_per_s=round(ours, 1),
                                    plain_ssl_hs_per_s=round(theirs, 1), ratio=round(ratio, 3))
        print(f"\nclient certificate, Exclusive Root Trust: schannel.serve {ours:.0f} "
              f"handshakes/s, plain ssl {theirs:.0f} handshakes/s, ratio {ratio:.2f}")
        benchmark.pedantic(fetch, args=(endpoint.address, client), rounds=1, iterations=1)
    assert ratio >= FLOOR

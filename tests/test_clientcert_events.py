"""Schannel's System-log events for refused certificates (schannel.certevents), written by
the served endpoint (schannel.clientcert) and by SSPI (schannel.secur32), and IIS's 403
sub-statuses for untrusted, revoked and expired client certificates.

Sources of the event IDs, levels and texts: nasbench/EVTX-ETW-Resources "ETW Events List/
CSV/W10_1507/Schannel.csv" (36869 Error, 36875 Warning, 36877 Warning, 36881-36884 Error
and their texts) and the detection-wiki "Schannel" page (the later "TLS" wording);
KB 260729 "How to enable Schannel event logging" (EventLogging: 0x1 errors -- the
default --, 0x2 warnings, 0x4 informational); dotnet/corefx#24454 (36869 for an
EphemeralKeySet certificate: "The TLS client credential's certificate does not have a
private key information property attached to it."). IIS sub-statuses: Microsoft "The
HTTP status code in IIS 7 and later versions" (403.13 "Client certificate revoked.",
403.16 "Client certificate is untrusted or invalid.", 403.17 "Client certificate has
expired or is not yet valid.").
"""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from helpers_sspi import (
    ASC_FLAGS,
    NOW,
    client_cred,
    handshake,
    install,
    issue,
    localhost_pki,
    make_root,
    server_cred,
    tls_exchange,
    write_pem,
)

from capi import constants as C
from capi.crypt32.crl import CertAddEncodedCRLToStore
from capi.crypt32.store import CertOpenStore
from capi.errors import SEC_E_NO_CREDENTIALS, SEC_E_UNTRUSTED_ROOT
from capi.host import eventlog
from capi.testing import raises_hresult
from schannel import certevents, httpsys, serve
from schannel import secur32 as S
from schannel.http11 import HttpResponse
from schannel.iis import IIS_APP_ID

MUTUAL = ASC_FLAGS | S.ASC_REQ_MUTUAL_AUTH


def _ec():
    return ec.generate_private_key(ec.SECP256R1())


def _events(machine, *ids):
    xpath = "*[System[(" + " or ".join(f"EventID={i}" for i in ids) + ")]]"
    return eventlog.query(machine, "System", xpath=xpath)


def _client_with_cdp(root, cn, serial, cdp="file:///C:/crl/root.crl", **validity):
    key = ec.generate_private_key(ec.SECP256R1())  # EC client keys: fast to make
    root_cert, root_key = root
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(root_cert.subject).public_key(key.public_key()).serial_number(serial)
         .not_valid_before(validity.get("not_before", NOW - datetime.timedelta(days=1)))
         .not_valid_after(validity.get("not_after", NOW + datetime.timedelta(days=30)))
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
         .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
             [x509.UniformResourceIdentifier(cdp)], None, None, None)]), critical=False))
    return b.sign(root_key, hashes.SHA256()), key


def add_crl(root, revoked_serials, location=C.CERT_SYSTEM_STORE_LOCAL_MACHINE):
    root_cert, root_key = root
    b = (x509.CertificateRevocationListBuilder().issuer_name(root_cert.subject)
         .last_update(NOW - datetime.timedelta(hours=1))
         .next_update(NOW + datetime.timedelta(days=7)))
    for serial in revoked_serials:
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                      .revocation_date(NOW - datetime.timedelta(hours=2)).build())
    der = b.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, location, "CA") as st:
        CertAddEncodedCRLToStore(st, C.X509_ASN_ENCODING, der, C.CERT_STORE_ADD_ALWAYS)


@pytest.fixture
def served(machine, tmp_path):
    root, _, _, ctx, _ = localhost_pki()
    d = tmp_path / "client"
    d.mkdir()
    clients = {}
    rogue = make_root("Rogue Root")
    clients["rogue"] = write_pem(*issue(rogue, "rogue-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH,
                                        key=_ec()), d, "rogue")
    clients["revoked"] = write_pem(*_client_with_cdp(root, "revoked-client", 0x5151), d, "revoked")
    clients["expired"] = write_pem(*_client_with_cdp(
        root, "expired-client", 0x5252, not_before=NOW - datetime.timedelta(days=30),
        not_after=NOW - datetime.timedelta(days=1)), d, "expired")
    clients["good"] = write_pem(*_client_with_cdp(root, "good-client", 0x5353), d, "good")
    add_crl(root, [0x5151])
    httpsys.add_binding(machine, httpsys.SslBinding("0.0.0.0:443", "ipport",
                                                    ctx.thumbprint.lower(), IIS_APP_ID, "MY",
                                                    client_cert_negotiation=True))
    return {"machine": machine, "root": root, "clients": clients, "ctx": ctx,
            "rogue_root": rogue[0]}


def get(address, served, client):
    ctx = ssl.create_default_context(cadata=served["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    ctx.load_cert_chain(*served["clients"][client])
    return tls_exchange(address, ctx)[2]


def _ok(request):
    return HttpResponse(body=b"hello")


def test_refused_client_certificates_get_iis_substatus_and_event_36877(served):
    m = served["machine"]
    # KB 260729: EventLogging defaults to 0x1 (errors); 36877 is a warning -> not written.
    assert certevents.event_logging(m) == 0x1
    with serve("0.0.0.0:443", handler=_ok) as endpoint:
        rogue = get(endpoint.address, served, "rogue")
    assert b"403.16" in rogue and b"Client certificate is untrusted or invalid." in rogue
    assert _events(m, 36877) == []
    # EventLogging = 3 (errors and warnings): each refusal leaves a 36877.
    certevents.set_event_logging(m, 3)
    with serve("0.0.0.0:443", handler=_ok) as endpoint:
        rogue = get(endpoint.address, served, "rogue")
        revoked = get(endpoint.address, served, "revoked")
        expired = get(endpoint.address, served, "expired")
        good = get(endpoint.address, served, "good")
    assert b"403.16" in rogue
    # "403.13 - Client certificate revoked." (the CRL in LocalMachine\CA lists it).
    assert revoked.startswith(b"HTTP/1.1 403 Forbidden") and b"403.13" in revoked
    assert b"Client certificate revoked." in revoked
    # "403.17 - Client certificate has expired or is not yet valid."
    assert expired.startswith(b"HTTP/1.1 403 Forbidden") and b"403.17" in expired
    assert b"Client certificate has expired or is not yet valid." in expired
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(b"hello")
    events = _events(m, 36877)
    assert [e.level for e in events] == [eventlog.LEVEL_WARNING] * 3
    # SEC_E_UNTRUSTED_ROOT, CRYPT_E_REVOKED, SEC_E_CERT_EXPIRED (2019: the "TLS" wording era,
    # upper-case hex as in 36870's 2019 text).
    assert [e.message for e in events] == [
        "The certificate received from the remote client application has not validated "
        f"correctly. The error code is {code}. The attached data contains the client "
        "certificate." for code in ("0x80090325", "0x80092010", "0x80090328")]


def test_sspi_server_logs_36877_and_client_logs_36882(machine):
    sctx_cert = localhost_pki()[3]
    ccert, ckey = issue(make_root("Rogue Root"), "mallory", eku=ExtendedKeyUsageOID.CLIENT_AUTH,
                         key=_ec())
    cctx_cert, _ = install(ccert, ckey, machine_key=False)
    certevents.set_event_logging(machine, 3)
    with server_cred(sctx_cert) as scred, client_cred(
            S.SCH_CREDENTIALS(paCred=[cctx_cert])) as ccred:
        _, sctx, _ = handshake(ccred, scred, asc_flags=MUTUAL)
        assert sctx.peer_trust_error.hresult == SEC_E_UNTRUSTED_ROOT
    [event] = _events(machine, 36877)
    assert "The error code is 0x80090325." in event.message
    # A client refusing the server's certificate: 36882, an error (logged by default).
    certevents.set_event_logging(machine, 1)
    other_cert, other_key = issue(make_root("Other Root"), "localhost", dns=("localhost",))
    other_ctx, _ = install(other_cert, other_key)
    with server_cred(other_ctx) as scred, client_cred() as ccred:
        with raises_hresult(SEC_E_UNTRUSTED_ROOT):
            handshake(ccred, scred)
    [event] = _events(machine, 36882)
    assert event.level == eventlog.LEVEL_ERROR
    assert event.message == (
        "The certificate received from the remote server was issued by an untrusted "
        "certificate authority. Because of this, none of the data contained in the "
        "certificate can be validated. The TLS connection request has failed. The attached "
        "data contains the server certificate.")


def test_no_client_certificate_found_is_36875(machine):
    ctx = localhost_pki()[3]
    certevents.set_event_logging(machine, 3)
    # CurrentUser\My has no client certificate: Schannel goes on anonymously and logs 36875.
    with server_cred(ctx) as scred, client_cred() as ccred:
        handshake(ccred, scred, asc_flags=MUTUAL)
    [event] = _events(machine, 36875)
    assert event.level == eventlog.LEVEL_WARNING
    assert event.message.startswith(
        "The remote server has requested TLS client authentication, but no suitable client "
        "certificate could be found. An anonymous connection will be attempted.")


def test_ephemeral_key_acquire_logs_36869(machine):
    from cryptography.hazmat.primitives.serialization import pkcs12

    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.pfx import PFXImportCertStore
    from capi.crypt32.store import CertEnumCertificatesInStore

    root = make_root()
    cert, key = issue(root, "client", eku=ExtendedKeyUsageOID.CLIENT_AUTH, key=_ec())
    pfx = pkcs12.serialize_key_and_certificates(
        b"client", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    eph = CertEnumCertificatesInStore(PFXImportCertStore(pfx, "pw", C.PKCS12_NO_PERSIST_KEY),
                                      None)
    # The key is there, in this process's handle only (CERT_KEY_CONTEXT_PROP_ID).
    assert CertGetCertificateContextProperty(eph, C.CERT_KEY_CONTEXT_PROP_ID) is not None
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        client_cred(S.SCH_CREDENTIALS(paCred=[eph]))
    [event] = _events(machine, 36869)
    assert event.level == eventlog.LEVEL_ERROR
    # dotnet/corefx#24454 quotes this sentence for an EphemeralKeySet client certificate.
    assert event.message.startswith(
        "The TLS client credential's certificate does not have a private key information "
        "property attached to it.")
    assert "The SSPI client process is " in event.message


def test_older_versions_use_the_ssl_wording(make_machine):
    m = make_machine(os_version="2012R2")
    assert certevents.event_36877_text(m, 0x80090325).endswith(
        "The error code is 0x80090325. The attached data contains the client certificate.")
    assert certevents.server_cert_event(m, 0x80090328, None) == (36881, (
        "The certificate received from the remote server has either expired or is not yet "
        "valid. The SSL connection request has failed. The attached data contains the server "
        "certificate."))
    assert certevents.event_36875_text(m).startswith(
        "The remote server has requested SSL client authentication")
    # Logging switched off entirely: nothing is written, even errors.
    certevents.set_event_logging(m, 0)
    assert certevents.log_server_cert_rejected(m, 0x80090325, "x") == []

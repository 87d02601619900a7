"""SSPI (schannel.secur32): client and server contexts in one process, token loops, messages,
interop with Python's ssl over sockets, and Schannel's error codes."""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers_sspi import (
    ASC_FLAGS,
    ISC_FLAGS,
    NOW,
    client_cred,
    decrypt_all,
    encrypt,
    extra_of,
    handshake,
    install,
    issue,
    localhost_pki,
    make_root,
    out_token,
    server_cred,
    token_in,
    trust_root,
)

from capi import constants as C
from capi.errors import (
    CRYPT_E_REVOKED,
    SEC_E_ALGORITHM_MISMATCH,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_CERT_EXPIRED,
    SEC_E_DECRYPT_FAILURE,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_NO_CREDENTIALS,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_UNKNOWN_CREDENTIALS,
    SEC_E_UNTRUSTED_ROOT,
    SEC_E_WRONG_PRINCIPAL,
    GetLastError,
)
from capi.testing import raises_hresult
from schannel import secur32 as S


@pytest.fixture
def pki(machine):
    root, cert, key, ctx, container = localhost_pki()
    return {"root": root, "cert": cert, "key": key, "ctx": ctx, "machine": machine}


@pytest.fixture
def creds(pki):
    scred, ccred = server_cred(pki["ctx"]), client_cred()
    yield scred, ccred
    S.FreeCredentialsHandle(scred)
    S.FreeCredentialsHandle(ccred)


@pytest.fixture(params=["c", "ctypes"])
def record_path(request, monkeypatch):
    """Each test using it runs on both paths: the optional C kernel
    (schannel/_sspirecord.c: the records and the handshake steps) and the ctypes calls used
    without it."""
    S._Lib.get()  # binds the kernel when it is built
    if request.param == "c":
        if S._sspirecord is None:
            pytest.skip("schannel._sspirecord is not built here (optional C extension)")
        assert S._seal is S._sspirecord.seal and S._open is S._sspirecord.open
        assert S._step is S._sspirecord.step
    else:
        monkeypatch.setattr(S, "_seal", None)
        monkeypatch.setattr(S, "_open", None)
        monkeypatch.setattr(S, "_step", None)
    return request.param


# --- in-process handshake and messages ------------------------------------------------------


@pytest.mark.parametrize("cred_cls, protocol, writable", [
    (S.SCH_CREDENTIALS, S.SP_PROT_TLS1_3_CLIENT, False),
    (S.SCH_CREDENTIALS, S.SP_PROT_TLS1_3_CLIENT, True),  # records decrypted in place
    (S.SCHANNEL_CRED, S.SP_PROT_TLS1_2_CLIENT, False)])
@pytest.mark.usefixtures("record_path")
def test_handshake_and_messages_through_token_buffers(pki, cred_cls, protocol, writable):
    scred = server_cred(pki["ctx"], cred_cls)
    ccred = client_cred(cred_cls())
    cctx, sctx, rounds = handshake(ccred, scred)
    # Two exchanges each way (1.3: the second server token carries the tickets).
    assert rounds == 2
    info = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_CONNECTION_INFO)
    assert info.dwProtocol == protocol
    server_info = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_CONNECTION_INFO)
    assert server_info.dwProtocol == protocol >> 1
    assert info.aiExch == S.CALG_ECDHE and info.dwCipherStrength in (128, 256)
    # One key exchange, one strength on both sides (X25519: 253 bits), TLS 1.2 included.
    assert server_info.dwExchStrength == info.dwExchStrength > 0
    cipher = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_CIPHER_INFO)
    assert cipher.szCipherSuite.startswith("TLS_") and cipher.dwCipherSuite > 0
    # Every signature of the server's handshake came from the CNG key, not a copy.
    assert scred.key.sign_calls == 1
    remote = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
    assert remote.pbCertEncoded == pki["cert"].public_bytes(serialization.Encoding.DER)

    sizes = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_STREAM_SIZES)
    assert sizes.cbMaximumMessage == 16384 and sizes.cBuffers == 4
    for size in (1, 100, 16384):
        payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        record = encrypt(cctx, payload)
        # header + data + trailer is one record of exactly the announced overhead.
        assert len(record) == sizes.cbHeader + size + sizes.cbTrailer
        assert size < 100 or payload[:100] not in record  # encrypted (a byte may recur)
        plain, statuses = decrypt_all(sctx, record, writable=writable)
        assert plain == payload and statuses == [S.SEC_E_OK]
    # Server to client: TLS 1.3 clients first meet the tickets as SEC_I_RENEGOTIATE
    # (curl/curl#18983: "Schannel's DecryptMessage returns SEC_I_RENEGOTIATE for session
    # tickets"), then the data.
    pending = getattr(cctx, "_pending", b"")
    plain, statuses = decrypt_all(cctx, pending + encrypt(sctx, b"reply"), writable=writable)
    assert plain == b"reply" and statuses[-1] == S.SEC_E_OK
    if protocol == S.SP_PROT_TLS1_3_CLIENT:
        assert S.SEC_I_RENEGOTIATE in statuses
        # The renegotiate call: InitializeSecurityContext with the leftovers, SEC_E_OK.
        # Wine dlls/secur32/tests/schannel.c test_communication: the attributes with only
        # ISC_REQ_USE_SUPPLIED_CREDS asked for.
        status, _, _, attrs = S.InitializeSecurityContext(
            ccred, cctx, "localhost", S.ISC_REQ_USE_SUPPLIED_CREDS, 0, 0, token_in(b""))
        assert status == S.SEC_E_OK
        assert attrs == (S.ISC_RET_REPLAY_DETECT | S.ISC_RET_SEQUENCE_DETECT
                         | S.ISC_RET_CONFIDENTIALITY | S.ISC_RET_STREAM
                         | S.ISC_RET_USED_SUPPLIED_CREDS)
    S.DeleteSecurityContext(cctx)
    S.DeleteSecurityContext(sctx)
    with raises_hresult(SEC_E_INVALID_HANDLE):
        S.DeleteSecurityContext(cctx)
    with raises_hresult(SEC_E_INVALID_HANDLE):
        S.EncryptMessage(cctx, 0, S.SecBufferDesc([S.SecBuffer(5, S.SECBUFFER_STREAM_HEADER,
                                                                bytes(5))]), 0)
    with raises_hresult(SEC_E_INVALID_HANDLE):
        S.DecryptMessage(sctx, S.SecBufferDesc([S.SecBuffer(5, S.SECBUFFER_DATA, bytes(5))]), 0)
    assert GetLastError() == SEC_E_INVALID_HANDLE


@pytest.mark.usefixtures("record_path")
def test_two_records_in_one_buffer_leave_secbuffer_extra(pki, creds):
    cctx, sctx, _ = handshake(creds[1], creds[0])
    first, second = encrypt(cctx, b"one"), encrypt(cctx, b"two")
    msg = S.SecBufferDesc([S.SecBuffer(0, S.SECBUFFER_DATA, first + second), S.SecBuffer(),
                           S.SecBuffer(), S.SecBuffer()])
    assert S.DecryptMessage(sctx, msg, 0) == S.SEC_E_OK
    kinds = [b.BufferType for b in msg.pBuffers]
    assert kinds == [S.SECBUFFER_STREAM_HEADER, S.SECBUFFER_DATA, S.SECBUFFER_STREAM_TRAILER,
                     S.SECBUFFER_EXTRA]
    assert msg.pBuffers[1].data == b"one" and msg.pBuffers[3].data == second


@pytest.mark.usefixtures("record_path")
def test_incomplete_message_reports_missing_bytes(pki, creds):
    scred, ccred = creds
    status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, "localhost", ISC_FLAGS, 0, 0,
                                                       None)
    hello = out_token(out)
    # Part of the ClientHello: SEC_E_INCOMPLETE_MESSAGE, SECBUFFER_MISSING says how much more
    # (Microsoft "AcceptSecurityContext (Schannel)": SEC_E_INCOMPLETE_MESSAGE ... "the
    # SECBUFFER_MISSING buffer ... cbBuffer ... the number of additional bytes").
    inp = token_in(hello[:10])
    status, sctx, _, _ = S.AcceptSecurityContext(scred, None, inp, ASC_FLAGS, 0)
    assert status == S.SEC_E_INCOMPLETE_MESSAGE
    assert inp.pBuffers[1].BufferType == S.SECBUFFER_MISSING
    assert inp.pBuffers[1].cbBuffer == len(hello) - 10
    # The caller appends the rest and calls again with the whole buffer.
    status, sctx, sout, _ = S.AcceptSecurityContext(scred, sctx, token_in(hello), ASC_FLAGS, 0)
    assert status == S.SEC_I_CONTINUE_NEEDED and out_token(sout)

    c2, s2, _ = handshake(ccred, scred)
    record = encrypt(c2, b"payload")
    msg = S.SecBufferDesc([S.SecBuffer(0, S.SECBUFFER_DATA, record[:-3]), S.SecBuffer(),
                           S.SecBuffer(), S.SecBuffer()])
    # DecryptMessage turns the DATA buffer itself into the SECBUFFER_MISSING (Wine
    # dlls/secur32/tests/schannel.c test_communication, "Incomplete data": "Expected first
    # buffer to be SECBUFFER_MISSING", cbBuffer 5 for a record short of its 5 bytes).
    assert S.DecryptMessage(s2, msg, 0) == S.SEC_E_INCOMPLETE_MESSAGE
    assert msg.pBuffers[0].BufferType == S.SECBUFFER_MISSING and msg.pBuffers[0].cbBuffer == 3
    assert [b.BufferType for b in msg.pBuffers[1:]] == [S.SECBUFFER_EMPTY] * 3
    short = S.SecBufferDesc([S.SecBuffer(len(record) - 5, S.SECBUFFER_DATA, record[:-5]),
                             S.SecBuffer(), S.SecBuffer(), S.SecBuffer()])
    assert S.DecryptMessage(s2, short, 0) == S.SEC_E_INCOMPLETE_MESSAGE
    assert short.pBuffers[0].BufferType == S.SECBUFFER_MISSING and short.pBuffers[0].cbBuffer == 5
    assert decrypt_all(s2, record) == (b"payload", [S.SEC_E_OK])


@pytest.mark.usefixtures("record_path")
def test_decrypt_message_buffer_layouts(pki, creds):
    """Wine dlls/secur32/tests/schannel.c test_communication: "Too few buffers", "No data
    buffer", "Two data buffers", "Too few empty buffers" are SEC_E_INVALID_TOKEN. Elsewhere
    in the array, the DATA buffer becomes the STREAM_HEADER and the EMPTY ones after it
    DATA, STREAM_TRAILER and EXTRA, in order."""
    cctx, sctx, _ = handshake(creds[1], creds[0])
    record = encrypt(cctx, b"one")

    def desc(*kinds):
        return S.SecBufferDesc([S.SecBuffer(len(record), k, record) if k == S.SECBUFFER_DATA
                                else S.SecBuffer(0, k, None) for k in kinds])

    E, D, X = S.SECBUFFER_EMPTY, S.SECBUFFER_DATA, S.SECBUFFER_EXTRA
    for kinds in ((D, E, E), (E, E, E, E), (D, D, E, E), (D, X, E, E)):
        with raises_hresult(SEC_E_INVALID_TOKEN):
            S.DecryptMessage(sctx, desc(*kinds), 0)
    moved = desc(E, D, E, E, E)
    assert S.DecryptMessage(sctx, moved, 0) == S.SEC_E_OK  # nothing consumed before
    assert [b.BufferType for b in moved.pBuffers] == [
        S.SECBUFFER_DATA, S.SECBUFFER_STREAM_HEADER, S.SECBUFFER_STREAM_TRAILER, E, E]
    assert moved.pBuffers[0].data == b"one"


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize("writable", [False, True])
def test_shutdown_sends_close_notify_and_peer_sees_context_expired(pki, creds, writable):
    scred, ccred = creds
    cctx, sctx, _ = handshake(ccred, scred)
    assert S.ApplyControlToken(cctx, S.shutdown_token()) == S.SEC_E_OK
    status, _, out, _ = S.InitializeSecurityContext(ccred, cctx, "localhost", ISC_FLAGS, 0, 0,
                                                    None)
    assert status == S.SEC_E_OK
    alert = out_token(out)
    assert alert[0] in (21, 23)  # an alert record (1.3: encrypted as application_data)
    # Microsoft "Shutting Down an Schannel Connection"; DecryptMessage (Schannel):
    # SEC_I_CONTEXT_EXPIRED "The message sender has finished using the connection".
    _, statuses = decrypt_all(sctx, alert, writable=writable)
    assert statuses == [S.SEC_I_CONTEXT_EXPIRED]


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize("writable", [False, True])
def test_tampered_record_fails_to_decrypt(pki, creds, writable):
    cctx, sctx, _ = handshake(creds[1], creds[0])
    record = bytearray(encrypt(cctx, b"secret data"))
    record[-1] ^= 1
    data = record if writable else bytes(record)
    msg = S.SecBufferDesc([S.SecBuffer(0, S.SECBUFFER_DATA, data), S.SecBuffer(),
                           S.SecBuffer(), S.SecBuffer()])
    with raises_hresult(SEC_E_DECRYPT_FAILURE):
        S.DecryptMessage(sctx, msg, 0)
    assert GetLastError() == SEC_E_DECRYPT_FAILURE


def test_garbage_token_is_invalid(pki, creds):
    # An HTTP request on a TLS port: not a record.
    with raises_hresult(SEC_E_INVALID_TOKEN):
        S.AcceptSecurityContext(creds[0], None, token_in(b"GET / HTTP/1.1\r\n\r\n"), ASC_FLAGS, 0)


# --- credentials ------------------------------------------------------------------------------


def test_acquire_errors(pki):
    with raises_hresult(SEC_E_SECPKG_NOT_FOUND):
        S.AcquireCredentialsHandle(None, "NoSuchPackage", S.SECPKG_CRED_INBOUND, None,
                                   S.SCH_CREDENTIALS(paCred=[pki["ctx"]]))
    # Wine schannel.c testAcquireSecurityContext: inbound without a certificate.
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        S.AcquireCredentialsHandle(None, S.UNISP_NAME, S.SECPKG_CRED_INBOUND, None, None)
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        S.AcquireCredentialsHandle(None, S.UNISP_NAME, S.SECPKG_CRED_INBOUND, None,
                                   S.SCHANNEL_CRED(dwVersion=3, paCred=[pki["ctx"]]))
    # Package names are case-insensitive; "Schannel" names the same package.
    with S.AcquireCredentialsHandle(None, "schannel", S.SECPKG_CRED_OUTBOUND, None, None) as h:
        assert not h.inbound


def test_ephemeral_key_has_no_credentials(pki):
    """PKCS12_NO_PERSIST_KEY (.NET EphemeralKeySet): the key is only in this process's
    handle, which lsass cannot reopen -> SEC_E_NO_CREDENTIALS (dotnet/corefx#24454,
    dotnet/runtime#23749; Microsoft "Troubleshooting SslStream authentication issues")."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.pfx import PFXImportCertStore
    from capi.crypt32.store import CertEnumCertificatesInStore

    key = rsa.generate_private_key(65537, 2048)
    cert, _ = issue(pki["root"], "localhost", key=key, dns=("localhost",))
    ctx, _ = install(cert, key, machine_key=False)
    pfx = pkcs12.serialize_key_and_certificates(
        b"localhost", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    imported = PFXImportCertStore(pfx, "pw", C.PKCS12_NO_PERSIST_KEY)
    eph = CertEnumCertificatesInStore(imported, None)
    # The key came with it, held by this process's handle only: what fails is lsass
    # reaching it, not a missing key.
    assert CertGetCertificateContextProperty(eph, C.CERT_KEY_CONTEXT_PROP_ID) is not None
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        server_cred(eph)
    # The same certificate with a persisted key works.
    with server_cred(ctx) as cred:
        assert cred.key is not None


def test_process_key_opened_as_the_caller_not_system(pki):
    """In-process credentials open the key as the calling identity: a user key in the
    user's profile (which SYSTEM's http.sys path cannot use) serves a handshake."""
    from capi.host.context import current_token
    from schannel.credentials import acquire_server_credential

    key = rsa.generate_private_key(65537, 2048)
    cert, _ = issue(pki["root"], "localhost", key=key, dns=("localhost",))
    ctx, _ = install(cert, key, machine_key=False)
    with server_cred(ctx) as scred, client_cred() as ccred:
        handshake(ccred, scred)
        assert scred.token.user == current_token(pki["machine"]).user
    # http.sys's credential (as SYSTEM) cannot open the Administrator's user key.
    with raises_hresult(SEC_E_UNKNOWN_CREDENTIALS):
        acquire_server_credential(pki["machine"], ctx)


# --- client-side validation ----------------------------------------------------------------


def _client_fails(pki, cert_ctx, target, code, cred=None):
    with server_cred(cert_ctx) as scred, client_cred(cred) as ccred:
        with raises_hresult(code) as caught:
            handshake(ccred, scred, target)
    return caught


@pytest.mark.usefixtures("record_path")
def test_untrusted_root(pki):
    other = make_root("Untrusted Root")
    cert, key = issue(other, "localhost", dns=("localhost",))
    ctx, _ = install(cert, key)
    # Microsoft "SSPI Status Codes": SEC_E_UNTRUSTED_ROOT "The certificate chain was issued by
    # an authority that is not trusted." (CERT_E_UNTRUSTEDROOT from the SSL chain policy)
    _client_fails(pki, ctx, "localhost", SEC_E_UNTRUSTED_ROOT)
    # SCH_CRED_MANUAL_CRED_VALIDATION: the application validates; the handshake completes.
    with server_cred(ctx) as scred, client_cred(
            S.SCH_CREDENTIALS(dwFlags=S.SCH_CRED_MANUAL_CRED_VALIDATION)) as ccred:
        cctx, _, _ = handshake(ccred, scred)
        remote = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert remote.pbCertEncoded == cert.public_bytes(serialization.Encoding.DER)


def test_expired_certificate(pki):
    cert, key = issue(pki["root"], "localhost", dns=("localhost",),
                      not_before=NOW - datetime.timedelta(days=30),
                      not_after=NOW - datetime.timedelta(days=1))
    ctx, _ = install(cert, key)
    _client_fails(pki, ctx, "localhost", SEC_E_CERT_EXPIRED)


def test_wrong_principal(pki):
    _client_fails(pki, pki["ctx"], "www.contoso.com", SEC_E_WRONG_PRINCIPAL)
    # SCH_CRED_NO_SERVERNAME_CHECK skips the name, not the chain.
    with server_cred(pki["ctx"]) as scred, client_cred(
            S.SCH_CREDENTIALS(dwFlags=S.SCH_CRED_NO_SERVERNAME_CHECK)) as ccred:
        handshake(ccred, scred, "www.contoso.com")


def test_revocation_is_checked_at_every_handshake(pki, tmp_path):
    """With SCH_CRED_REVOCATION_CHECK_END_CERT the server certificate's CRL is read at each
    handshake: once its issuer has revoked it, the next handshake fails with
    CRYPT_E_REVOKED (Microsoft "SCHANNEL_CRED": SCH_CRED_REVOCATION_CHECK_END_CERT; the SSL
    chain policy's CRYPT_E_REVOKED), and so does every one after it -- no validation result
    is kept for a credential that checks revocation."""
    root_cert, root_key = root = make_root("Revoking Root")
    trust_root(root_cert)
    crl_path = tmp_path / "root.crl"
    cert, key = issue(root, "localhost", dns=("localhost",))
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer)
               .public_key(key.public_key()).serial_number(cert.serial_number)
               .not_valid_before(cert.not_valid_before_utc)
               .not_valid_after(cert.not_valid_after_utc))
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(crl_path.as_uri())], None, None, None)]),
        critical=False).sign(root_key, hashes.SHA256())
    ctx, _ = install(cert, key)

    def publish(*revoked):
        crl = (x509.CertificateRevocationListBuilder().issuer_name(root_cert.subject)
               .last_update(NOW - datetime.timedelta(hours=1))
               .next_update(NOW + datetime.timedelta(days=7)))
        for serial in revoked:
            crl = crl.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(NOW - datetime.timedelta(minutes=1)).build())
        crl_path.write_bytes(crl.sign(root_key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER))

    publish()
    flags = S.SCH_CREDENTIALS(dwFlags=S.SCH_CRED_REVOCATION_CHECK_END_CERT)
    with server_cred(ctx) as scred, client_cred(flags) as ccred:
        handshake(ccred, scred)
        publish(cert.serial_number)
        for _ in range(2):
            with raises_hresult(CRYPT_E_REVOKED):
                handshake(ccred, scred)


def test_no_common_protocol_is_algorithm_mismatch(pki):
    """A TLS 1.2-only server (SCHANNEL_CRED) and a TLS 1.3-only client: the server fails
    with SEC_E_ALGORITHM_MISMATCH (aspnet/KestrelHttpServer#637: AuthenticateAsServer with an
    older-protocol client, "do not possess a common algorithm")."""
    only13 = S.SCH_CREDENTIALS(pTlsParameters=[S.TLS_PARAMETERS(
        grbitDisabledProtocols=S.SP_PROT_TLS1_2)])
    with server_cred(pki["ctx"], S.SCHANNEL_CRED) as scred, client_cred(only13) as ccred:
        status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, "localhost", ISC_FLAGS,
                                                           0, 0, None)
        with raises_hresult(SEC_E_ALGORITHM_MISMATCH):
            S.AcceptSecurityContext(scred, None, token_in(out_token(out)), ASC_FLAGS, 0)


# --- interop with Python's ssl over sockets ------------------------------------------------


def _sspi_server_session(sock, scred, replies: list):
    """The server half of a C Schannel program: ASC loop, then one request and reply."""
    data, sctx = b"", None
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        data += chunk
        while data:
            inp = token_in(data)
            status, sctx, out, _ = S.AcceptSecurityContext(scred, sctx, inp, ASC_FLAGS, 0)
            if status == S.SEC_E_INCOMPLETE_MESSAGE:
                break
            sock.sendall(out_token(out))
            data = extra_of(inp)
            if status == S.SEC_E_OK:
                plain, _ = decrypt_all(sctx, data) if data else (b"", [])
                while b"\n" not in plain:
                    more = sock.recv(65536)
                    if not more:
                        return
                    got, _ = decrypt_all(sctx, more)
                    plain += got
                replies.append(plain)
                sock.sendall(encrypt(sctx, b"echo:" + plain))
                return


def test_sspi_server_with_python_ssl_client(pki, creds):
    scred, _ = creds
    listener = socket.create_server(("127.0.0.1", 0))
    replies: list = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            _sspi_server_session(conn, scred, replies)

    t = threading.Thread(target=serve)
    t.start()
    ctx = ssl.create_default_context(cadata=pki["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    with socket.create_connection(listener.getsockname(), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello from ssl\n")
            answer = tls.recv(1024)
            version = tls.version()
    t.join(10)
    listener.close()
    assert replies == [b"hello from ssl\n"]
    assert answer == b"echo:hello from ssl\n" and version == "TLSv1.3"


def test_sspi_server_rsa_key_exchange_decrypts_with_the_cng_key(pki, creds):
    """A TLS_RSA_WITH_AES_128_GCM_SHA256 client (Schannel enables the suite on every server
    version): AcceptSecurityContext's key decrypts the premaster secret (NCryptDecrypt)."""
    scred, _ = creds
    listener = socket.create_server(("127.0.0.1", 0))
    replies: list = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            _sspi_server_session(conn, scred, replies)

    t = threading.Thread(target=serve)
    t.start()
    ctx = ssl.create_default_context(cadata=pki["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")
    with socket.create_connection(listener.getsockname(), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello\n")
            answer = tls.recv(1024)
            cipher = tls.cipher()[0]
    t.join(10)
    listener.close()
    assert (answer, cipher) == (b"echo:hello\n", "AES128-GCM-SHA256")
    assert (scred.key.decrypt_calls, scred.key.sign_calls) == (1, 0)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_sspi_client_against_python_ssl_server(pki, tmp_path, version):
    (tmp_path / "c.pem").write_bytes(pki["cert"].public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(pki["key"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = sctx.maximum_version = version
    sctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = listener.accept()
        with sctx.wrap_socket(conn, server_side=True) as tls:
            line = tls.recv(1024)
            tls.sendall(b"ssl says " + line)

    t = threading.Thread(target=serve)
    t.start()
    with client_cred() as ccred, socket.create_connection(listener.getsockname(), timeout=10) as s:
        status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, "localhost", ISC_FLAGS,
                                                           0, 0, None)
        s.sendall(out_token(out))
        data = b""
        while status != S.SEC_E_OK:
            data += s.recv(65536)
            inp = token_in(data)
            status, cctx, out, _ = S.InitializeSecurityContext(ccred, cctx, "localhost",
                                                               ISC_FLAGS, 0, 0, inp)
            if status == S.SEC_E_INCOMPLETE_MESSAGE:
                continue
            s.sendall(out_token(out))
            data = extra_of(inp)
        s.sendall(encrypt(cctx, b"hi\n"))
        plain = b""
        while not plain.endswith(b"hi\n"):
            data += s.recv(65536)
            got, statuses = decrypt_all(cctx, data)
            plain += got
            data = b"" if statuses[-1] != S.SEC_E_INCOMPLETE_MESSAGE else data
        info = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_CONNECTION_INFO)
    t.join(10)
    listener.close()
    assert plain == b"ssl says hi\n"
    assert info.dwProtocol == {ssl.TLSVersion.TLSv1_2: S.SP_PROT_TLS1_2_CLIENT,
                               ssl.TLSVersion.TLSv1_3: S.SP_PROT_TLS1_3_CLIENT}[version]


# --- client certificates -----------------------------------------------------------------

MUTUAL = ASC_FLAGS | S.ASC_REQ_MUTUAL_AUTH


def _client_cert(root, cn="alice"):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert, key = issue(root, cn, eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    ctx, _ = install(cert, key, machine_key=False, store="My")
    return cert, key, ctx


def test_mutual_auth_with_a_trusted_client_certificate(pki):
    cert, _, ctx = _client_cert(pki["root"])
    with server_cred(pki["ctx"]) as scred, client_cred(S.SCH_CREDENTIALS(paCred=[ctx])) as ccred:
        cctx, sctx, _ = handshake(ccred, scred, asc_flags=MUTUAL)
        remote = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert remote.pbCertEncoded == cert.public_bytes(serialization.Encoding.DER)
        assert sctx.peer_trust_error is None
        # The CertificateRequest named no issuers: SendTrustedIssuerList is off by default
        # from Windows Server 2012 on ("TLS registry settings"; schannel.clientauth).
        assert cctx._lib.ca_names(cctx.ssl) == []
        # The client's CertificateVerify was signed by the provider's key.
        assert ccred.key.sign_calls == 1
        assert S.QueryContextAttributes(cctx, S.SECPKG_ATTR_LOCAL_CERT_CONTEXT) is ctx


def test_untrusted_client_certificate_is_handed_to_the_server_with_its_trust_error(pki):
    """Schannel's server does not refuse the chain itself: .NET's SslStream server on Windows
    receives an untrusted client certificate with SslPolicyErrors.RemoteCertificateChainErrors
    and http.sys passes the result to IIS (403.16). The machine's chain engine decides."""
    other = make_root("Rogue Root")
    _, _, ctx = _client_cert(other, "mallory")
    with server_cred(pki["ctx"]) as scred, client_cred(S.SCH_CREDENTIALS(paCred=[ctx])) as ccred:
        _, sctx, _ = handshake(ccred, scred, asc_flags=MUTUAL)
        assert sctx.peer_trust_error.hresult == SEC_E_UNTRUSTED_ROOT
        assert S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT) is not None


def test_default_credentials_pick_a_certificate_from_current_user_my(pki):
    cert, _, _ = _client_cert(pki["root"], "bob")
    with server_cred(pki["ctx"]) as scred, client_cred() as ccred:
        _, sctx, _ = handshake(ccred, scred, asc_flags=MUTUAL)
        remote = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert remote.pbCertEncoded == cert.public_bytes(serialization.Encoding.DER)


def test_no_default_creds_returns_incomplete_credentials(pki):
    """SCH_CRED_NO_DEFAULT_CREDS: InitializeSecurityContext returns
    SEC_I_INCOMPLETE_CREDENTIALS when the server asks for a certificate (Microsoft
    "SCHANNEL_CRED"); called again with credentials holding one, it goes on with it."""
    cert, _, ctx = _client_cert(pki["root"], "carol")
    nodefault = S.SCH_CREDENTIALS(dwFlags=S.SCH_CRED_NO_DEFAULT_CREDS)
    with server_cred(pki["ctx"]) as scred, client_cred(nodefault) as ccred, \
            client_cred(S.SCH_CREDENTIALS(paCred=[ctx])) as with_cert:
        status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, "localhost", ISC_FLAGS,
                                                           0, 0, None)
        _, sctx, sout, _ = S.AcceptSecurityContext(scred, None, token_in(out_token(out)), MUTUAL, 0)
        inp = token_in(out_token(sout))
        status, cctx, out, _ = S.InitializeSecurityContext(ccred, cctx, "localhost", ISC_FLAGS, 0,
                                                           0, inp)
        assert status == S.SEC_I_INCOMPLETE_CREDENTIALS
        # What the client had not read yet comes back as SECBUFFER_EXTRA, to pass again.
        status, cctx, out, _ = S.InitializeSecurityContext(with_cert, cctx, "localhost", ISC_FLAGS,
                                                           0, 0, token_in(extra_of(inp)))
        assert status in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED)
        status, sctx, sout, _ = S.AcceptSecurityContext(scred, sctx, token_in(out_token(out)),
                                                        MUTUAL, 0)
        assert status == S.SEC_E_OK
        remote = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert remote.pbCertEncoded == cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("trusted", [True, False])
def test_python_ssl_client_certificate_against_sspi_server(pki, tmp_path, trusted):
    """An OpenSSL-made client certificate: trusted when its root is in LocalMachine\\Root."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    root = pki["root"] if trusted else make_root("Elsewhere Root")
    cert, key = issue(root, "ssl-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    (tmp_path / "cc.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ck.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    listener = socket.create_server(("127.0.0.1", 0))
    seen = {}
    scred = server_cred(pki["ctx"])  # the machine and identity are this thread's

    def serve():
        conn, _ = listener.accept()
        with conn, scred:
            data, sctx = b"", None
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
                inp = token_in(data)
                status, sctx, out, _ = S.AcceptSecurityContext(scred, sctx, inp, MUTUAL, 0)
                if status == S.SEC_E_INCOMPLETE_MESSAGE:
                    continue
                conn.sendall(out_token(out))
                data = extra_of(inp)
                if status == S.SEC_E_OK:
                    seen["cert"] = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
                    seen["error"] = sctx.peer_trust_error
                    conn.sendall(encrypt(sctx, b"ok"))
                    return

    t = threading.Thread(target=serve)
    t.start()
    ctx = ssl.create_default_context(cadata=pki["root"][0].public_bytes(
        serialization.Encoding.PEM).decode())
    ctx.load_cert_chain(tmp_path / "cc.pem", tmp_path / "ck.pem")
    with socket.create_connection(listener.getsockname(), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(16) == b"ok"
    t.join(10)
    listener.close()
    assert seen["cert"].pbCertEncoded == cert.public_bytes(serialization.Encoding.DER)
    if trusted:
        assert seen["error"] is None
    else:
        assert seen["error"].hresult == SEC_E_UNTRUSTED_ROOT


@pytest.mark.usefixtures("record_path")
def test_messages_in_the_callers_own_buffers(pki, creds):
    """As C passes them: header, data and trailer point into one buffer the caller owns;
    EncryptMessage writes the record over it and DecryptMessage decrypts in place."""
    cctx, sctx, _ = handshake(creds[1], creds[0])
    sizes = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_STREAM_SIZES)
    payload = b"in place " * 100
    h, n = sizes.cbHeader, len(payload)
    buf = bytearray(h + n + sizes.cbTrailer)
    view = memoryview(buf)
    view[h:h + n] = payload
    msg = S.SecBufferDesc([S.SecBuffer(h, S.SECBUFFER_STREAM_HEADER, view[:h]),
                           S.SecBuffer(n, S.SECBUFFER_DATA, view[h:h + n]),
                           S.SecBuffer(sizes.cbTrailer, S.SECBUFFER_STREAM_TRAILER, view[h + n:]),
                           S.SecBuffer()])
    assert S.EncryptMessage(cctx, 0, msg, 0) == S.SEC_E_OK
    wire = bytes(buf[:h + n + msg.pBuffers[2].cbBuffer])
    assert payload[:100] not in wire
    # The same record as bytes and as the caller's bytearray decrypt alike.
    inbuf = bytearray(wire)
    dec = S.SecBufferDesc([S.SecBuffer(len(inbuf), S.SECBUFFER_DATA, inbuf), S.SecBuffer(),
                           S.SecBuffer(), S.SecBuffer()])
    assert S.DecryptMessage(sctx, dec, 0) == S.SEC_E_OK
    assert bytes(dec.pBuffers[1].data) == payload
    assert bytes(inbuf[h:h + n]) == payload  # decrypted where it lay


@pytest.mark.usefixtures("record_path")
def test_messages_in_separate_caller_buffers_and_bad_layouts(pki, creds):
    """Header, data and trailer in three separate writable buffers (the record is spread over
    them); the buffer errors of EncryptMessage (Schannel) -- SEC_E_BUFFER_TOO_SMALL "The
    output buffer is too small", SEC_E_INVALID_TOKEN for a missing buffer -- and a DATA
    buffer whose cbBuffer claims more bytes than it has."""
    cctx, sctx, _ = handshake(creds[1], creds[0])
    sizes = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_STREAM_SIZES)
    payload = b"scattered " * 50
    h, n, t = sizes.cbHeader, len(payload), sizes.cbTrailer
    header, data, trailer = bytearray(h), bytearray(payload), bytearray(t + 8)
    msg = S.SecBufferDesc([S.SecBuffer(h, S.SECBUFFER_STREAM_HEADER, header),
                           S.SecBuffer(n, S.SECBUFFER_DATA, data),
                           S.SecBuffer(t + 8, S.SECBUFFER_STREAM_TRAILER, trailer),
                           S.SecBuffer()])
    assert S.EncryptMessage(cctx, 0, msg, 0) == S.SEC_E_OK
    assert msg.pBuffers[0].cbBuffer == h and msg.pBuffers[2].cbBuffer == t
    wire = bytes(header) + bytes(data) + bytes(trailer[:t])
    assert decrypt_all(sctx, wire) == (payload, [S.SEC_E_OK])

    record = encrypt(cctx, b"short")
    claims_more = S.SecBufferDesc([S.SecBuffer(len(record) + 10, S.SECBUFFER_DATA,
                                               bytearray(record)),
                                   S.SecBuffer(), S.SecBuffer(), S.SecBuffer()])
    with raises_hresult(SEC_E_INVALID_TOKEN):
        S.DecryptMessage(sctx, claims_more, 0)
    assert [b.BufferType for b in claims_more.pBuffers] == [S.SECBUFFER_DATA] + [
        S.SECBUFFER_EMPTY] * 3
    assert decrypt_all(sctx, record) == (b"short", [S.SEC_E_OK])  # nothing was consumed

    small = S.SecBufferDesc([S.SecBuffer(h, S.SECBUFFER_STREAM_HEADER, memoryview(bytearray(h))),
                             S.SecBuffer(n, S.SECBUFFER_DATA, memoryview(bytearray(payload))),
                             S.SecBuffer(1, S.SECBUFFER_STREAM_TRAILER,
                                         memoryview(bytearray(1))),
                             S.SecBuffer()])
    with raises_hresult(SEC_E_BUFFER_TOO_SMALL):
        S.EncryptMessage(cctx, 0, small, 0)
    assert GetLastError() == SEC_E_BUFFER_TOO_SMALL
    no_trailer = S.SecBufferDesc(msg.pBuffers[:2] + [S.SecBuffer()])
    with raises_hresult(SEC_E_INVALID_TOKEN):
        S.EncryptMessage(cctx, 0, no_trailer, 0)


def test_without_the_c_record_kernel_the_ctypes_path_is_used():
    """schannel._sspirecord is optional (built when the install has a compiler): without it
    secur32 imports and binds no kernel; the record_path tests run the messages that way."""
    code = ("import sys; sys.modules['schannel._sspirecord'] = None\n"
            "from schannel import secur32 as S\n"
            "assert S._sspirecord is None\n"
            "S._Lib.get()\n"
            "assert S._seal is None and S._open is None and S._new_bio is None\n"
            "assert S._step is None\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize("cred_cls, protocol", [(S.SCH_CREDENTIALS, S.SP_PROT_TLS1_3_CLIENT),
                                                (S.SCHANNEL_CRED, S.SP_PROT_TLS1_2_CLIENT)])
def test_records_in_place_in_one_send_and_one_receive_buffer(pki, cred_cls, protocol):
    """A C loop's buffers: header | data | trailer in one send buffer and the records read
    into one receive buffer, for each protocol's record layout; a trailer that is too small
    is SEC_E_BUFFER_TOO_SMALL and leaves the caller's plaintext where it was."""
    scred = server_cred(pki["ctx"], cred_cls)
    ccred = client_cred(cred_cls())
    cctx, sctx, _ = handshake(ccred, scred)
    assert S.QueryContextAttributes(cctx, S.SECPKG_ATTR_CONNECTION_INFO).dwProtocol == protocol
    sizes = S.QueryContextAttributes(cctx, S.SECPKG_ATTR_STREAM_SIZES)
    h, t = sizes.cbHeader, sizes.cbTrailer
    send = memoryview(bytearray(h + sizes.cbMaximumMessage + t))
    recv = memoryview(bytearray(2 * len(send)))
    wire = 0
    payloads = [bytes([i]) * size for i, size in enumerate((1, 1000, 16384), 1)]
    for payload in payloads:
        n = len(payload)
        send[h:h + n] = payload
        msg = S.SecBufferDesc([S.SecBuffer(h, S.SECBUFFER_STREAM_HEADER, send[:h]),
                               S.SecBuffer(n, S.SECBUFFER_DATA, send[h:h + n]),
                               S.SecBuffer(t, S.SECBUFFER_STREAM_TRAILER, send[h + n:h + n + t]),
                               S.SecBuffer()])
        assert S.EncryptMessage(cctx, 0, msg, 0) == S.SEC_E_OK
        size = h + n + msg.pBuffers[2].cbBuffer
        assert msg.pBuffers[0].cbBuffer == h and msg.pBuffers[2].cbBuffer <= t
        assert n < 16 or bytes(send[h:h + n]) != payload  # the record is over the plaintext
        recv[wire:wire + size] = send[:size]
        wire += size
    # The three records in one receive buffer: one per call, the rest as SECBUFFER_EXTRA.
    data, got = recv[:wire], []
    while data:
        dec = S.SecBufferDesc([S.SecBuffer(len(data), S.SECBUFFER_DATA, data), S.SecBuffer(),
                               S.SecBuffer(), S.SecBuffer()])
        assert S.DecryptMessage(sctx, dec, 0) == S.SEC_E_OK
        header, plain, trailer, extra = dec.pBuffers
        assert (header.BufferType, plain.BufferType, trailer.BufferType) == (
            S.SECBUFFER_STREAM_HEADER, S.SECBUFFER_DATA, S.SECBUFFER_STREAM_TRAILER)
        assert header.cbBuffer == h and plain.cbBuffer == len(plain.pvBuffer)
        got.append(bytes(plain.data))
        data = extra.pvBuffer if extra.BufferType == S.SECBUFFER_EXTRA else None
    assert got == payloads
    # One byte of trailer room: too small, the plaintext untouched (Microsoft
    # "EncryptMessage (Schannel)": SEC_E_BUFFER_TOO_SMALL "The output buffer is too small").
    send[h:h + 5] = b"hello"
    small = S.SecBufferDesc([S.SecBuffer(h, S.SECBUFFER_STREAM_HEADER, send[:h]),
                             S.SecBuffer(5, S.SECBUFFER_DATA, send[h:h + 5]),
                             S.SecBuffer(1, S.SECBUFFER_STREAM_TRAILER, send[h + 5:h + 6]),
                             S.SecBuffer()])
    with raises_hresult(SEC_E_BUFFER_TOO_SMALL):
        S.EncryptMessage(cctx, 0, small, 0)
    assert bytes(send[h:h + 5]) == b"hello"
    S.DeleteSecurityContext(cctx)
    S.DeleteSecurityContext(sctx)
    S.FreeCredentialsHandle(scred)
    S.FreeCredentialsHandle(ccred)


def test_smart_card_client_certificate_and_card_removal(pki, softhsm_token):
    """Smart-card client authentication: the client certificate's key lives on a PKCS#11
    token (SoftHSM) behind a CSP; the CertificateVerify is signed on the card. With the
    card pulled, the next handshake fails with the smart-card providers' SCARD_W_REMOVED_CARD
    ("The smart card has been removed, so that further communication is not possible.")."""
    import capi.crypt32.chain  # noqa: F401 — before certhelpers (they import each other)
    from capi.advapi32.crypt import CryptAcquireContext, CryptGenKey
    from capi.crypt32.certhelpers import CertCreateSelfSignCertificate
    from capi.crypt32.str import CertStrToName
    from capi.errors import SCARD_W_REMOVED_CARD
    from csp import tokens

    machine = pki["machine"]
    tokens.add_pkcs11(machine, "Contoso Card CSP", softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin, kind="csp")
    prov = CryptAcquireContext("card-user", "Contoso Card CSP", C.PROV_RSA_FULL, C.CRYPT_NEWKEYSET)
    CryptGenKey(prov, C.AT_SIGNATURE, 0)  # a card's signature key (accepted from 2012 on)
    subject = CertStrToName(C.X509_ASN_ENCODING, "CN=Card Holder", 0)
    card_cert = CertCreateSelfSignCertificate(prov, subject, 0, None, None)
    with server_cred(pki["ctx"]) as scred, client_cred(
            S.SCH_CREDENTIALS(paCred=[card_cert])) as ccred:
        _, sctx, _ = handshake(ccred, scred, asc_flags=MUTUAL)
        remote = S.QueryContextAttributes(sctx, S.SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert remote.pbCertEncoded == card_cert.pbCertEncoded
        tokens.remove_token(machine, softhsm_token.label)
        with raises_hresult(SCARD_W_REMOVED_CARD):
            handshake(ccred, scred, asc_flags=MUTUAL)


def test_an_earlier_key_failure_is_not_this_handshakes(pki):
    """A key operation that failed on this thread before (its reason kept for that
    connection's report) is not the reason a later handshake fails with: no common
    protocol stays SEC_E_ALGORITHM_MISMATCH, not the earlier failure's internal error."""
    from schannel.tls import _OpenSSL

    only13 = S.SCH_CREDENTIALS(pTlsParameters=[S.TLS_PARAMETERS(
        grbitDisabledProtocols=S.SP_PROT_TLS1_2)])
    with server_cred(pki["ctx"], S.SCHANNEL_CRED) as scred, client_cred(only13) as ccred:
        status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, "localhost", ISC_FLAGS,
                                                           0, 0, None)
        _OpenSSL.get().local.error = ValueError("an earlier connection's key failure")
        try:
            with raises_hresult(SEC_E_ALGORITHM_MISMATCH):
                S.AcceptSecurityContext(scred, None, token_in(out_token(out)), ASC_FLAGS, 0)
        finally:
            _OpenSSL.get().local.error = None

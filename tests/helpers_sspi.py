"""A small machine PKI for the SSPI tests: a root in LocalMachine\\Root, a server
certificate in LocalMachine\\My with a CNG machine key, client certificates; and the
Schannel token loop a C program runs, driven in memory between two contexts; and a Python
ssl client's request to a loopback endpoint (tls_exchange)."""

from __future__ import annotations

import datetime
import socket
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from capi import constants as C
from capi.crypt32.cert import CertSetCertificateContextProperty
from capi.crypt32.context import CRYPT_KEY_PROV_INFO
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
from capi.ncrypt.keystorage import (
    NCryptFinalizeKey,
    NCryptFreeObject,
    NCryptImportKey,
    NCryptOpenStorageProvider,
)
from schannel import secur32 as S

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_root(cn: str = "SSPI Test Root"):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=2))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def issue(root, cn: str, *, key=None, dns=(), eku=ExtendedKeyUsageOID.SERVER_AUTH,
          not_before=None, not_after=None):
    root_cert, root_key = root
    key = key or rsa.generate_private_key(65537, 2048)
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(root_cert.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
         .not_valid_after(not_after or NOW + datetime.timedelta(days=365))
         .add_extension(x509.ExtendedKeyUsage([eku]), critical=False))
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]),
                            critical=False)
    return b.sign(root_key, hashes.SHA256()), key


def trust_root(root_cert, location: int = C.CERT_SYSTEM_STORE_LOCAL_MACHINE) -> None:
    der = root_cert.public_bytes(serialization.Encoding.DER)
    with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, location, "Root") as store:
        CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, der,
                                         C.CERT_STORE_ADD_REPLACE_EXISTING)


def install(cert, key, *, machine_key: bool = True, store: str = "My"):
    """Put ``cert`` in LocalMachine\\My (or CurrentUser\\My) with its key in the CNG KSP."""
    container = "{" + str(uuid.uuid4()).upper() + "}"
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    flags = C.NCRYPT_MACHINE_KEY_FLAG if machine_key else 0
    with NCryptOpenStorageProvider(C.MS_KEY_STORAGE_PROVIDER, 0) as prov:
        h = NCryptImportKey(prov, None, C.NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
                            {"NCRYPTBUFFER_PKCS_KEY_NAME": container}, pkcs8,
                            flags | C.NCRYPT_DO_NOT_FINALIZE_FLAG)
        NCryptFinalizeKey(h, 0)
        NCryptFreeObject(h)
    info = CRYPT_KEY_PROV_INFO(container, C.MS_KEY_STORAGE_PROVIDER, 0,
                               C.CRYPT_MACHINE_KEYSET if machine_key else 0, 0)
    location = C.CERT_SYSTEM_STORE_LOCAL_MACHINE if machine_key else C.CERT_SYSTEM_STORE_CURRENT_USER
    with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, location, store) as st:
        ctx = CertAddEncodedCertificateToStore(st, C.X509_ASN_ENCODING,
                                               cert.public_bytes(serialization.Encoding.DER),
                                               C.CERT_STORE_ADD_NEW)
        CertSetCertificateContextProperty(ctx, C.CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    return ctx, container


def localhost_pki():
    """A root trusted in LocalMachine\\Root and a "localhost" server certificate it issued,
    installed in LocalMachine\\My with a CNG machine key: (root, cert, key, ctx, container)."""
    root = make_root()
    trust_root(root[0])
    cert, key = issue(root, "localhost", dns=("localhost",))
    ctx, container = install(cert, key)
    return root, cert, key, ctx, container


def write_pem(cert, key, d, name):
    """``d/name.pem`` (the certificate) and ``d/name.key`` (PKCS#8, unencrypted): the two
    paths, as ssl.SSLContext.load_cert_chain takes them."""
    (d / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return d / f"{name}.pem", d / f"{name}.key"


GET_ROOT = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def tls_exchange(address, ctx, request: bytes = GET_ROOT, *, timeout: float = 10,
                 server_hostname: str = "localhost"):
    """Connect with ``ctx`` (an ssl.SSLContext) to ``address``, send ``request`` and read
    until the server closes (a socket timeout raises): (TLS version, cipher name, bytes)."""
    with socket.create_connection(address, timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.sendall(request)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            return tls.version(), tls.cipher()[0], data


def server_cred(cert_ctx, cred_cls=S.SCH_CREDENTIALS, **kw):
    return S.AcquireCredentialsHandle(None, S.UNISP_NAME, S.SECPKG_CRED_INBOUND, None,
                                      cred_cls(paCred=[cert_ctx], **kw))


def client_cred(cred=None):
    return S.AcquireCredentialsHandle(None, S.UNISP_NAME, S.SECPKG_CRED_OUTBOUND, None,
                                      cred if cred is not None else S.SCH_CREDENTIALS())


ISC_FLAGS = (S.ISC_REQ_SEQUENCE_DETECT | S.ISC_REQ_REPLAY_DETECT | S.ISC_REQ_CONFIDENTIALITY
             | S.ISC_REQ_ALLOCATE_MEMORY | S.ISC_REQ_STREAM)
ASC_FLAGS = (S.ASC_REQ_SEQUENCE_DETECT | S.ASC_REQ_REPLAY_DETECT | S.ASC_REQ_CONFIDENTIALITY
             | S.ASC_REQ_ALLOCATE_MEMORY | S.ASC_REQ_STREAM)


def token_in(data: bytes) -> S.SecBufferDesc:
    return S.SecBufferDesc([S.SecBuffer(len(data), S.SECBUFFER_TOKEN, data), S.SecBuffer()])


def out_token(desc) -> bytes:
    return b"".join(b.data for b in desc.pBuffers if b.BufferType == S.SECBUFFER_TOKEN)


def extra_of(desc) -> bytes:
    return b"".join(b.data for b in desc.pBuffers[1:] if b.BufferType == S.SECBUFFER_EXTRA)


def handshake(ccred, scred, target: str = "localhost", *, isc_flags: int = ISC_FLAGS,
              asc_flags: int = ASC_FLAGS):
    """Run both sides to completion in memory -> (client ctx, server ctx, rounds)."""
    status, cctx, out, _ = S.InitializeSecurityContext(ccred, None, target, isc_flags, 0, 0,
                                                       None)
    assert status == S.SEC_I_CONTINUE_NEEDED
    to_server, sctx = out_token(out), None
    c_done = s_done = False
    rounds = 0
    while not (c_done and s_done):
        rounds += 1
        assert rounds < 10
        to_client = b""
        if to_server or not s_done:
            inp = token_in(to_server)
            status, sctx, sout, _ = S.AcceptSecurityContext(scred, sctx, inp, asc_flags, 0)
            assert status in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED), hex(status)
            s_done = status == S.SEC_E_OK
            to_client = out_token(sout)
            assert not extra_of(inp)
        to_server = b""
        if to_client and not c_done or (to_client and c_done):
            inp = token_in(to_client)
            status, cctx, out, _ = S.InitializeSecurityContext(ccred, cctx, target, isc_flags,
                                                               0, 0, inp)
            assert status in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED), hex(status)
            c_done = status == S.SEC_E_OK
            to_server = out_token(out)
            pending = extra_of(inp)
            if pending:  # TLS 1.3 tickets after the server's last flight
                cctx._pending = getattr(cctx, "_pending", b"") + pending
    return cctx, sctx, rounds


def encrypt(ctx, plain: bytes) -> bytes:
    sizes = S.QueryContextAttributes(ctx, S.SECPKG_ATTR_STREAM_SIZES)
    msg = S.SecBufferDesc([S.SecBuffer(sizes.cbHeader, S.SECBUFFER_STREAM_HEADER, bytes(sizes.cbHeader)),
                           S.SecBuffer(len(plain), S.SECBUFFER_DATA, plain),
                           S.SecBuffer(sizes.cbTrailer, S.SECBUFFER_STREAM_TRAILER, bytes(sizes.cbTrailer)),
                           S.SecBuffer()])
    assert S.EncryptMessage(ctx, 0, msg, 0) == S.SEC_E_OK
    return b"".join(b.data for b in msg.pBuffers[:3])


def decrypt_all(ctx, data: bytes, *, writable: bool = False) -> tuple[bytes, list[int]]:
    """Decrypt every complete record in ``data`` as a C loop would -> (plaintext, statuses);
    ``writable``: in the caller's own buffer (decrypted in place), as C passes it."""
    plain, statuses = [], []
    if writable:
        data = memoryview(bytearray(data))
    while data:
        msg = S.SecBufferDesc([S.SecBuffer(len(data), S.SECBUFFER_DATA, data), S.SecBuffer(),
                               S.SecBuffer(), S.SecBuffer()])
        status = S.DecryptMessage(ctx, msg, 0)
        statuses.append(status)
        if status == S.SEC_E_INCOMPLETE_MESSAGE:
            break
        plain += [bytes(b.data) for b in msg.pBuffers if b.BufferType == S.SECBUFFER_DATA]
        extra = [b.data for b in msg.pBuffers if b.BufferType == S.SECBUFFER_EXTRA]
        data = extra[0] if writable and extra else b"".join(extra)
        if status == S.SEC_I_CONTEXT_EXPIRED:
            break
    return b"".join(plain), statuses

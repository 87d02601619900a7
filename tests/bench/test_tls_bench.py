"""TLS handshakes per second through schannel.tls.TlsEndpoint (software RSA-2048 key
behind the ServerKey callback) against a plain Python ``ssl`` server holding the same
certificate and key, in the same run. Each round is a fresh connection: full handshake
(no session resumption), one GET, the response read to the end.
Run with `make bench` (benchmarks are disabled in `make test`); the ratio test prints
the figures (`-s`) and stores them in the benchmark's extra_info, with both OpenSSL
versions: under `WINPKI_OPENSSL_LIBDIR` (e.g. OpenSSL 4) the endpoint runs on another
OpenSSL than the plain ssl server and the clients, so the ratio then crosses versions."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from ratio import rates

from schannel.tls import SoftwareServerKey, TlsEndpoint, iis_default_page

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
RESPONSE = iis_default_page().encode(keep_alive=False)
RATIO_GOAL = 0.9  # issue 13 (issue 6 asked 0.5): the handshake rate of a plain ssl server, nearly
# Asserted: the goal. Measured 0.95-1.01 on a shared 2-core machine (0.88-0.94 before a new
# connection went straight to a worker waiting for its ClientHello, and a request's bytes
# seen before stopped being parsed again).
RATIO_FLOOR = RATIO_GOAL
RATIO_ROUNDS = 5
RATIO_BATCH = 40
NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def openssl_versions() -> str:
    """"endpoint OpenSSL X.Y.Z, ssl OpenSSL X.Y.Z" (OpenSSL_version_num: 0xMNN00PP0L)."""
    from schannel.tls import _OpenSSL

    def text(v: int) -> str:
        return f"{v >> 28}.{(v >> 20) & 0xFF}.{(v >> 4) & 0xFF}"

    return f"endpoint OpenSSL {text(_OpenSSL.get().version)}, " \
           f"ssl OpenSSL {text(ssl.OPENSSL_VERSION_NUMBER)}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Root")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(65537, 2048)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("tlsbench")
    (d / "cert.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return {"leaf": leaf, "key": key, "dir": d, "client": client}


class PlainSslServer:
    """The comparison: Python's ssl with the key in memory, a thread per connection."""

    def __init__(self, certfile, keyfile):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            # Same socket options as the endpoint: without TCP_NODELAY the ticket/response
            # writes meet delayed ACKs and the plain server idles ~40 ms per connection.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(16384)
                    if not chunk:
                        return
                    data += chunk
                tls.sendall(RESPONSE)
                tls.unwrap()
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def fetch(address, client: ssl.SSLContext) -> bytes:
    with socket.create_connection(address, timeout=10) as raw:
        with client.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(REQUEST)
            data = b""
            while chunk := tls.recv(16384):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK"), data[:40]
    return data


@pytest.fixture(scope="module")
def servers(pki):
    key = SoftwareServerKey(pki["key"])
    leaf_der = pki["leaf"].public_bytes(serialization.Encoding.DER)
    with TlsEndpoint([leaf_der], key) as endpoint, \
            PlainSslServer(pki["dir"] / "cert.pem", pki["dir"] / "key.pem") as plain:
        yield endpoint, plain, key


def test_bench_handshake_endpoint(benchmark, servers, pki):
    endpoint, _, key = servers
    before = key.sign_calls
    benchmark(fetch, endpoint.address, pki["client"])
    assert key.sign_calls > before  # the handshakes really went through the ServerKey


def test_bench_handshake_plain_ssl(benchmark, servers, pki):
    _, plain, _ = servers
    benchmark(fetch, plain.address, pki["client"])


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_bench_handshake_ratio(benchmark, servers, pki, version):
    if benchmark.disabled:
        pytest.skip("the rate ratio is measured only with --benchmark-enable (make bench)")
    endpoint, plain, _ = servers
    client = ssl.create_default_context(cadata=pki["client"].get_ca_certs(binary_form=True)[0])
    client.maximum_version = client.minimum_version = getattr(ssl.TLSVersion, version)
    fetch(endpoint.address, client), fetch(plain.address, client)  # warm up both
    # Best of interleaved rounds, so that machine noise hits both sides.
    ours, theirs = rates(lambda: fetch(endpoint.address, client),
                         lambda: fetch(plain.address, client),
                         rounds=RATIO_BATCH, passes=RATIO_ROUNDS, slice_seconds=None)
    ratio = ours / theirs
    benchmark.extra_info.update(
        endpoint_hs_per_s=round(ours, 1), plain_ssl_hs_per_s=round(theirs, 1),
        ratio=round(ratio, 3), version=version, openssl=openssl_versions(),
    )
    print(f"\n{version}: TlsEndpoint {ours:.0f} handshakes/s, plain ssl "
          f"{theirs:.0f} handshakes/s, ratio {ratio:.2f} (goal {RATIO_GOAL}; "
          f"{openssl_versions()})")
    benchmark.pedantic(fetch, args=(endpoint.address, client), rounds=1, iterations=1)
    assert ratio >= RATIO_FLOOR

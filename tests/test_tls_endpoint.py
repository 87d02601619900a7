"""schannel.tls: real TLS 1.2/1.3 handshakes whose private-key operations go through a
ServerKey, checked from Python's ssl, `openssl s_client` and curl."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from helpers_sspi import tls_exchange

from schannel.tls import (
    HttpResponse,
    ServerKey,
    SignatureScheme,
    SoftwareServerKey,
    TlsEndpoint,
    TlsError,
    ecdsa_raw_to_der,
    parse_listen,
)

NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
GET = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
SUBPROCESS_TIMEOUT = 15


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, issuer_key, public_key, serial, *, ca=False, dns=()):
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(public_key).serial_number(serial)
         .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


class Pki:
    """Root -> Intermediate -> leaf (CN=localhost) for each key kind."""

    def __init__(self, tmp):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert("Test Root", "Test Root", self.root_key, self.root_key.public_key(), 1,
                          ca=True)
        self.int_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = _cert("Test Intermediate", "Test Root", self.root_key,
                                  self.int_key.public_key(), 2, ca=True)
        self.keys = {
            "rsa2048": rsa.generate_private_key(65537, 2048),
            "p256": ec.generate_private_key(ec.SECP256R1()),
            "p384": ec.generate_private_key(ec.SECP384R1()),
        }
        self.leaves = {
            kind: _cert("localhost", "Test Intermediate", self.int_key, key.public_key(), 10 + i,
                        dns=("localhost",))
            for i, (kind, key) in enumerate(self.keys.items())
        }
        self.cafile = tmp / "root.pem"
        self.cafile.write_bytes(self.root.public_bytes(PEM))

    def chain(self, kind):
        return [self.leaves[kind].public_bytes(DER), self.intermediate.public_bytes(DER)]

    def client(self, version=None):
        ctx = ssl.create_default_context(cafile=str(self.cafile))
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
        return ctx


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


class FailingKey(SoftwareServerKey):
    """A provider key whose signing fails while ``failing`` is set (e.g. a WinError)."""

    class ProviderFailure(Exception):
        pass

    failing = True

    def sign(self, digest, scheme):
        if self.failing:
            with self._lock:
                self.sign_calls += 1
            raise self.ProviderFailure("Keyset does not exist")
        return super().sign(digest, scheme)


def fetch(address, client, request=GET, server_hostname="localhost"):
    return tls_exchange(address, client, request, timeout=5, server_hostname=server_hostname)


def endpoint(pki, kind="rsa2048", key=None, **kw):
    return TlsEndpoint(pki.chain(kind), key or SoftwareServerKey(pki.keys[kind]), **kw)


# ---------------------------------------------------------------------------------------
# Python ssl
# ---------------------------------------------------------------------------------------

TLS13_SCHEME = {
    "rsa2048": SignatureScheme.rsa_pss_rsae_sha256,
    "p256": SignatureScheme.ecdsa_secp256r1_sha256,
    "p384": SignatureScheme.ecdsa_secp384r1_sha384,
}


@pytest.mark.parametrize("kind", ["rsa2048", "p256", "p384"])
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_python_ssl_handshake_verifies_chain_and_host(pki, kind, version):
    seen = []
    key = SoftwareServerKey(pki.keys[kind])
    with endpoint(pki, kind, key, on_handshake=seen.append) as ep:
        # The client trusts only the root: the intermediate must come from the server,
        # and CertificateVerify must check out against the leaf's public key.
        proto, cipher, data = fetch(ep.address, pki.client(version))
    expected = {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    assert proto == expected
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nServer: Microsoft-IIS/10.0\r\n" in head
    assert b"\r\nContent-Type: text/html\r\n" in head
    assert b"<title>IIS Windows Server</title>" in body
    assert f"Content-Length: {len(body)}".encode() in head
    assert key.sign_calls == 1  # one signature per full handshake, in 1.2 and 1.3 alike
    if version is ssl.TLSVersion.TLSv1_3:
        assert key.schemes == [TLS13_SCHEME[kind]]
    (info,) = seen
    assert info.protocol == expected
    assert info.cipher == cipher
    assert info.cipher_suite.startswith("TLS_")
    assert info.client_address[0] == "127.0.0.1"
    assert info.server_name == "localhost"
    assert info.key_algorithm == ("RSA" if kind == "rsa2048" else "ECDSA")


def test_tls13_signs_exactly_once_per_handshake(pki):
    key = SoftwareServerKey(pki.keys["rsa2048"])
    client = pki.client(ssl.TLSVersion.TLSv1_3)
    with endpoint(pki, key=key) as ep:
        for expected in (1, 2, 3):
            fetch(ep.address, client)
            assert key.sign_calls == expected
    assert key.decrypt_calls == 0


def test_the_key_signs_and_the_client_checks_it(pki):
    # A key object whose public half differs from the certificate cannot be used.
    other = SoftwareServerKey(rsa.generate_private_key(65537, 2048))
    ep = TlsEndpoint(pki.chain("rsa2048"), other)
    with pytest.raises(TlsError, match="does not match the certificate"):
        ep.start()
    assert not ep.running


def test_keep_alive_serves_several_requests_on_one_handshake(pki):
    key = SoftwareServerKey(pki.keys["p256"])
    with endpoint(pki, "p256", key) as ep:
        with socket.create_connection(ep.address, timeout=5) as raw, \
                pki.client().wrap_socket(raw, server_hostname="localhost") as tls:
            reader = tls.makefile("rb")
            for _ in range(3):
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                status = reader.readline()
                headers = {}
                while (line := reader.readline()) != b"\r\n":
                    name, _, value = line.decode().partition(":")
                    headers[name.lower()] = value.strip()
                body = reader.read(int(headers["content-length"]))
                assert status == b"HTTP/1.1 200 OK\r\n"
                assert b"IIS Windows Server" in body
            reader.close()
    assert key.sign_calls == 1


def test_custom_handler_page_and_headers(pki):
    def handler(request):
        return HttpResponse(404, "Not Found", [("Server", "Microsoft-IIS/8.5"),
                                               ("X-Powered-By", "ASP.NET")],
                            f"no {request.target} here".encode())

    with endpoint(pki, "p256", handler=handler) as ep:
        _, _, data = fetch(ep.address, pki.client(),
                           b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _, _, head_only = fetch(ep.address, pki.client(),
                                b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"\r\nServer: Microsoft-IIS/8.5\r\nX-Powered-By: ASP.NET\r\n" in data
    assert data.endswith(b"\r\n\r\nno /missing here")
    assert head_only.endswith(b"\r\n\r\n") and b"Content-Length: 9\r\n" in head_only  # len(b"no / here")


def test_handler_failure_gets_500_and_the_server_survives(pki):
    def handler(request):
        raise KeyError("site configuration missing")

    with endpoint(pki, "p256", handler=handler) as ep:
        for _ in range(2):
            assert fetch(ep.address, pki.client())[2].startswith(
                b"HTTP/1.1 500 Internal Server Error\r\n")
        assert ep.running


def test_idle_client_times_out(pki):
    errors = []
    done = threading.Event()

    def on_error(addr, exc):
        errors.append(exc)
        done.set()

    with endpoint(pki, "p256", io_timeout=0.2, on_error=on_error) as ep:
        with socket.create_connection(ep.address, timeout=5):
            assert done.wait(5)
    assert isinstance(errors[0], TimeoutError)


def test_malformed_request_gets_400(pki):
    with endpoint(pki, "p256") as ep:
        _, _, data = fetch(ep.address, pki.client(), b"NONSENSE\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_min_version_tls13_refuses_tls12_client(pki):
    with endpoint(pki, "p256", min_version="TLS1.3") as ep:
        with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|protocol version"):
            fetch(ep.address, pki.client(ssl.TLSVersion.TLSv1_2))
        assert fetch(ep.address, pki.client())[0] == "TLSv1.3"


def test_concurrent_clients(pki):
    key = SoftwareServerKey(pki.keys["p256"])
    results, errors = [], []

    def client():
        try:
            results.append(fetch(ep.address, pki.client())[0])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    with endpoint(pki, "p256", key) as ep:
        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert errors == [] and results == ["TLSv1.3"] * 8
    assert key.sign_calls == 8 and ep.handshakes == 8


def test_ipv6_loopback(pki):
    with endpoint(pki, "p256", listen=("::1", 0)) as ep:
        assert ep.address[0] == "::1"
        assert fetch(ep.address, pki.client())[2].startswith(b"HTTP/1.1 200 OK")


# ---------------------------------------------------------------------------------------
# A failing provider key
# ---------------------------------------------------------------------------------------


def test_key_failure_fails_the_handshake_with_an_alert_and_the_server_survives(pki):
    key = FailingKey(pki.keys["rsa2048"])
    failures = []
    with endpoint(pki, key=key, on_error=lambda addr, exc: failures.append(exc)) as ep:
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            # OpenSSL answers a failed signature with an internal_error alert (RFC 8446 §6.2).
            with pytest.raises(ssl.SSLError, match="INTERNAL_ERROR|internal error"):
                fetch(ep.address, pki.client(version))
        key.failing = False
        assert fetch(ep.address, pki.client())[2].startswith(b"HTTP/1.1 200 OK")
    assert key.sign_calls == 3
    assert len(failures) == 2 and ep.failures == 2 and ep.handshakes == 1
    assert all(isinstance(f.__cause__, FailingKey.ProviderFailure) for f in failures)
    assert "Keyset does not exist" in str(failures[0])


def test_a_hook_that_raises_does_not_stop_the_server(pki):
    def on_handshake(info):
        raise RuntimeError("event log unavailable")

    with endpoint(pki, "p256", on_handshake=on_handshake) as ep:
        for _ in range(2):
            assert fetch(ep.address, pki.client())[2].startswith(b"HTTP/1.1 200 OK")
        assert ep.running and ep.handshakes == 2 and ep.failures == 0


class RawEcdsaKey(ServerKey):
    """A provider that, like NCryptSignHash, returns r||s: converted with ecdsa_raw_to_der."""

    def __init__(self, key):
        self._key = key
        self.calls = 0

    algorithm = "ECDSA"
    key_size = property(lambda self: self._key.key_size)
    public_key = property(lambda self: self._key.public_key())

    def sign(self, digest, scheme):
        from cryptography.hazmat.primitives.asymmetric import utils
        self.calls += 1
        der = self._key.sign(digest, ec.ECDSA(utils.Prehashed(scheme.hash_algorithm)))
        r, s = utils.decode_dss_signature(der)
        size = (self._key.key_size + 7) // 8
        return ecdsa_raw_to_der(r.to_bytes(size, "big") + s.to_bytes(size, "big"))


def test_third_party_serverkey_subclass(pki):
    key = RawEcdsaKey(pki.keys["p384"])
    with endpoint(pki, "p384", key) as ep:
        assert fetch(ep.address, pki.client())[2].startswith(b"HTTP/1.1 200 OK")
    assert key.calls == 1


# ---------------------------------------------------------------------------------------
# Lifecycle and arguments
# ---------------------------------------------------------------------------------------


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_stop_leaves_no_thread_or_socket(pki):
    fetch_client = pki.client()
    threads_before = set(threading.enumerate())
    fds_before = _fds()
    ep = endpoint(pki, "p256").start()
    fetch(ep.address, fetch_client)
    # An idle client that never sends a ClientHello keeps a connection thread busy.
    idle = socket.create_connection(ep.address, timeout=5)
    deadline = time.monotonic() + 5
    while ep._conns == {} and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    ep.stop()
    assert time.monotonic() - started < 2
    idle.close()
    assert set(threading.enumerate()) == threads_before
    assert _fds() == fds_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(ep.address, timeout=5).close()
    ep.stop()  # idempotent


def test_endpoint_can_be_restarted(pki):
    ep = endpoint(pki, "p256")
    with ep:
        first = ep.address
    with ep:
        assert fetch(ep.address, pki.client())[2].startswith(b"HTTP/1.1 200 OK")
    assert first[0] == ep.address[0]


@pytest.mark.parametrize("listen", [("0.0.0.0", 0), ("::", 0), ("192.168.1.10", 443),
                                    ("127.0.0.2", 0), ("example.com", 0), ("127.0.0.1", 70000),
                                    ("127.0.0.1",), "127.0.0.1:443"])
def test_non_loopback_or_malformed_listen_is_refused(pki, listen):
    with pytest.raises(ValueError):
        endpoint(pki, "p256", listen=listen)


def test_parse_listen():
    assert parse_listen("127.0.0.1:8443") == ("127.0.0.1", 8443)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("localhost:443") == ("127.0.0.1", 443)
    for bad in ("0.0.0.0:443", "127.0.0.1", "127.0.0.1:x", "[::]:443", "10.0.0.1:443"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_bad_arguments(pki):
    with pytest.raises(TypeError):
        TlsEndpoint(pki.chain("p256"), pki.keys["p256"])  # a private key is not a ServerKey
    with pytest.raises(ValueError):
        TlsEndpoint([], SoftwareServerKey(pki.keys["p256"]))
    with pytest.raises(ValueError):
        endpoint(pki, "p256", min_version="SSL3")
    with pytest.raises(ValueError):
        endpoint(pki, "p256", min_version="TLS1.3", max_version="TLS1.2")
    with pytest.raises(TlsError, match="not DER X.509"):
        TlsEndpoint([b"not a certificate"], SoftwareServerKey(pki.keys["p256"])).start()


# ---------------------------------------------------------------------------------------
# openssl s_client and curl
# ---------------------------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="openssl command-line tool not installed")


def s_client(pki, address, *args):
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address[0]}:{address[1]}",
         "-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", str(pki.cafile),
         "-verify_return_error", "-ign_eof", *args],
        input=GET, capture_output=True, timeout=SUBPROCESS_TIMEOUT,
    )
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


@needs_openssl
@pytest.mark.parametrize("kind", ["rsa2048", "p256"])
@pytest.mark.parametrize("flag,protocol", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_openssl_s_client(pki, kind, flag, protocol):
    key = SoftwareServerKey(pki.keys[kind])
    seen = []
    with endpoint(pki, kind, key, on_handshake=seen.append) as ep:
        rc, out, err = s_client(pki, ep.address, flag)
    assert rc == 0, err
    assert re.search(rf"^\s*Protocol\s*: {re.escape(protocol)}$", out, re.M)
    cipher = re.search(r"^New, (TLSv1\.[23]), Cipher is (\S+)$", out, re.M)
    assert cipher and cipher.group(1) == protocol
    assert cipher.group(2) == seen[0].cipher
    assert re.search(r"^subject=CN = localhost$", out, re.M)
    assert re.search(r"^issuer=CN = Test Intermediate$", out, re.M)
    assert "Verify return code: 0 (ok)" in out
    assert "HTTP/1.1 200 OK" in out and "Server: Microsoft-IIS/10.0" in out
    assert key.sign_calls == 1


@needs_openssl
@pytest.mark.parametrize("sigalg,scheme", [
    ("RSA+SHA256", SignatureScheme.rsa_pkcs1_sha256),
    ("RSA+SHA384", SignatureScheme.rsa_pkcs1_sha384),
    ("RSA+SHA512", SignatureScheme.rsa_pkcs1_sha512),
    ("rsa_pss_rsae_sha384", SignatureScheme.rsa_pss_rsae_sha384),
    ("rsa_pss_rsae_sha512", SignatureScheme.rsa_pss_rsae_sha512),
])
def test_tls12_signature_schemes_reach_the_key(pki, sigalg, scheme):
    key = SoftwareServerKey(pki.keys["rsa2048"])
    with endpoint(pki, key=key) as ep:
        rc, out, err = s_client(pki, ep.address, "-tls1_2", "-sigalgs", sigalg)
    assert rc == 0, err
    assert key.schemes == [scheme]


@needs_openssl
def test_tls12_rsa_key_exchange_decrypts_through_the_key(pki):
    key = SoftwareServerKey(pki.keys["rsa2048"])
    with endpoint(pki, key=key) as ep:
        rc, out, err = s_client(pki, ep.address, "-tls1_2", "-cipher", "AES128-GCM-SHA256")
    assert rc == 0, err
    assert key.decrypt_calls == 1


class BadPremasterKey(SoftwareServerKey):
    """A key whose decryption goes wrong in one of the ways a forged ClientKeyExchange
    makes it go wrong (RFC 5246 §7.4.7.1)."""

    how = "wrong-premaster"

    def decrypt(self, ciphertext):
        plain = super().decrypt(ciphertext)
        if self.how == "padding":
            raise ValueError("PKCS#1 padding check failed")
        if self.how == "wrong-version":
            return b"\x03\x01" + plain[2:]
        if self.how == "wrong-length":
            return plain[:47]
        return plain[:2] + bytes(46)  # well formed, but not the client's premaster


@pytest.mark.parametrize("how", ["padding", "wrong-version", "wrong-length"])
def test_bad_premaster_fails_like_a_wrong_one(pki, how):
    """The Bleichenbacher countermeasure end to end: a premaster that fails to decrypt, has
    the wrong version or the wrong length gets the same answer as a well-formed wrong one:
    the handshake goes on and fails at Finished (bad_record_mac), never earlier."""
    outcomes = []
    for what in ("wrong-premaster", how):
        key = BadPremasterKey(pki.keys["rsa2048"])
        key.how = what
        client = pki.client(ssl.TLSVersion.TLSv1_2)
        client.set_ciphers("AES128-GCM-SHA256")
        with endpoint(pki, key=key) as ep:
            with pytest.raises(ssl.SSLError) as info:
                fetch(ep.address, client)
        outcomes.append((info.value.reason, key.decrypt_calls))
    assert outcomes[0] == outcomes[1] == ("SSLV3_ALERT_BAD_RECORD_MAC", 1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl(pki):
    with endpoint(pki, "rsa2048") as ep:
        port = ep.address[1]
        proc = subprocess.run(
            ["curl", "--silent", "--show-error", "--include", "--cacert", str(pki.cafile),
             "--resolve", f"localhost:{port}:127.0.0.1", "--noproxy", "*",
             f"https://localhost:{port}/"],
            capture_output=True, timeout=SUBPROCESS_TIMEOUT,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Server: Microsoft-IIS/10.0" in proc.stdout
    assert b"<title>IIS Windows Server</title>" in proc.stdout


# ---------------------------------------------------------------------------------------
# Hostile clients (review findings): big or chunked bodies, bad lengths, slow trickles
# ---------------------------------------------------------------------------------------


def test_large_body_is_dropped_as_it_arrives(pki):
    body = b"x" * (8 * 1024 * 1024)
    request = (b"POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with endpoint(pki, "p256") as ep:
        start = time.monotonic()
        _, _, data = fetch(ep.address, pki.client(), request)
        elapsed = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 200 OK") and elapsed < 5


def test_body_over_iis_limit_gets_413(pki):
    request = (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 30000001\r\n\r\n")
    with endpoint(pki, "p256") as ep:
        _, _, data = fetch(ep.address, pki.client(), request)
    assert data.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")


@pytest.mark.parametrize("value", [b"+5", b"1_0", b"-1", b"0x10", b" "])
def test_content_length_must_be_digits(pki, value):
    request = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + value + b"\r\n\r\n"
    with endpoint(pki, "p256") as ep:
        _, _, data = fetch(ep.address, pki.client(), request)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_chunked_body_is_skipped_and_the_next_request_served(pki):
    request = (b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    with endpoint(pki, "p256") as ep:
        _, _, data = fetch(ep.address, pki.client(), request)
    assert data.count(b"HTTP/1.1 200 OK") == 2


def test_slow_trickle_is_cut_off_at_the_request_deadline(pki):
    """A client sending one header byte just inside the per-read timeout must not keep
    its connection past the request deadline (http.sys HeaderWaitTimeout)."""
    with endpoint(pki, "p256", io_timeout=1.0, request_timeout=1.5) as ep:
        client = pki.client()
        with socket.create_connection(ep.address, timeout=5) as raw:
            with client.wrap_socket(raw, server_hostname="localhost") as tls:
                start = time.monotonic()
                closed = False
                for byte in b"GET / HTTP/1.1\r\nHost: localhost\r\n" * 4:
                    try:
                        tls.sendall(bytes([byte]))
                    except OSError:
                        closed = True
                        break
                    time.sleep(0.4)
                    if time.monotonic() - start > 6:
                        break
                if not closed:
                    try:
                        closed = tls.recv(1) == b""
                    except OSError:
                        closed = True
                elapsed = time.monotonic() - start
    assert closed and elapsed < 6

"""PFX files made at test time with the OpenSSL command line (OpenSSL 3.0.x on PATH).

Key generation is the slow part, so a session makes a few keys once (:func:`material`)
and every PFX reuses them; certificates are cheap and made with ``cryptography``.

    files = PfxFactory(tmp_path)
    data = files.make(password="pw", options=["-keysig", "-CSP", MS_ENHANCED])
"""

from __future__ import annotations

import datetime
import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

OPENSSL = shutil.which("openssl")

MS_ENHANCED = "Microsoft Enhanced Cryptographic Provider v1.0"
MS_STRONG = "Microsoft Strong Cryptographic Provider"

# What `openssl pkcs12 -export` writes with each encryption choice.
LEGACY_3DES = ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"]
AES256 = ["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256"]
LEGACY_RC2 = ["-legacy"]  # RC2-40 certificates, 3DES key, SHA-1 MAC (old Windows exports)
NO_ENCRYPTION_NO_MAC = ["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"]


@dataclass(frozen=True)
class Material:
    rsa2048: rsa.RSAPrivateKey
    rsa1024: rsa.RSAPrivateKey
    p256: ec.EllipticCurvePrivateKey


@functools.cache
def material() -> Material:
    """Keys for the whole test session (generated once per process)."""
    return Material(
        rsa2048=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa1024=rsa.generate_private_key(public_exponent=65537, key_size=1024),
        p256=ec.generate_private_key(ec.SECP256R1()),
    )


def make_cert(
    key,
    subject: str,
    *,
    issuer_key=None,
    issuer: str | None = None,
    ca: bool = False,
    serial: int = 1,
) -> x509.Certificate:
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or key, hashes.SHA256())


def pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class PfxFactory:
    """Writes PEM inputs under ``directory`` and runs ``openssl pkcs12 -export``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0
        m = material()
        self.ca_key = m.rsa1024
        self.ca_cert = make_cert(self.ca_key, "winpki test CA", ca=True)

    def make(
        self,
        *,
        key=None,
        password: str = "pw",
        options: list[str] | tuple[str, ...] = (),
        chain: bool = False,
        name: str | None = None,
        subject: str = "www.example.test",
        serial: int = 2,
    ) -> bytes:
        key = key or material().rsa2048
        cert = make_cert(
            key, subject, issuer_key=self.ca_key, issuer="winpki test CA", serial=serial
        )
        self.count += 1
        stem = self.directory / f"pfx{self.count}"
        key_file, cert_file, out = (stem.with_suffix(s) for s in (".key", ".crt", ".pfx"))
        key_file.write_bytes(pem(key))
        cert_file.write_bytes(pem(cert))
        args = [
            OPENSSL, "pkcs12", "-export", "-inkey", str(key_file), "-in", str(cert_file),
            "-out", str(out), "-passout", f"pass:{password}", *options,
        ]
        if chain:
            ca_file = stem.with_suffix(".ca.crt")
            ca_file.write_bytes(pem(self.ca_cert))
            args += ["-certfile", str(ca_file)]
        if name is not None:
            args += ["-name", name]
        run(args)
        self.last_cert = cert
        return out.read_bytes()


def run(args: list[str], stdin: bytes | None = None) -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, timeout=60)
    if done.returncode:
        raise AssertionError(f"{args[:3]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")


def openssl_info(pfx: bytes, password: str | None, directory: Path) -> str:
    """`openssl pkcs12 -info -nodes` output for ``pfx`` (password None -> empty)."""
    path = Path(directory) / "info-input.pfx"
    path.write_bytes(pfx)
    return run(
        [OPENSSL, "pkcs12", "-info", "-nodes", "-in", str(path),
         "-passin", f"pass:{password or ''}"]
    )


def cryptography_pfx(rounds: int, *, password: bytes = b"pw", aes: bool = False) -> bytes:
    """A PFX from cryptography's PKCS#12 writer with ``rounds`` KDF iterations on the key
    and certificate encryption (PBE-SHA1-3DES, or PBES2/AES-256 with ``aes``), SHA-1 MAC."""
    from cryptography.hazmat.primitives.serialization import PrivateFormat
    from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12

    key = material().p256
    cert = make_cert(key, "cost.example.test")
    algorithm = (crypto_pkcs12.PBES.PBESv2SHA256AndAES256CBC if aes
                 else crypto_pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
    encryption = (PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds)
                  .key_cert_algorithm(algorithm).hmac_hash(hashes.SHA1()).build(password))
    return crypto_pkcs12.serialize_key_and_certificates(b"cost", key, cert, None, encryption)


def with_mac_count(data: bytes, password: str, count: int) -> bytes:
    """``data`` with its MAC recomputed under ``password`` at ``count`` iterations."""
    import hmac

    from asn1crypto import pkcs12 as asn1_pkcs12

    from capi.formats.pkcs12 import pkcs12_kdf

    pfx = asn1_pkcs12.Pfx.load(data)
    mac = pfx["mac_data"].copy()
    mac["iterations"] = count
    auth = pfx["auth_safe"]["content"].native
    bmp = password.encode("utf-16-be") + b"\x00\x00"
    key = pkcs12_kdf("sha1", bmp, mac["mac_salt"].native, 3, count, 20)
    digest = mac["mac"].copy()
    digest["digest"] = hmac.new(key, auth, "sha1").digest()
    mac["mac"] = digest
    pfx["mac_data"] = mac
    return pfx.dump(force=True)


def pfx_with_mac(auth_safe: bytes, salt: bytes, password: str = "pw",
                 iterations: int = 1) -> bytes:
    """A v3 PFX around the DER AuthenticatedSafe ``auth_safe``, with a right HMAC-SHA1 MAC
    under ``password`` (``salt``, ``iterations``)."""
    import hmac

    from asn1crypto import pkcs12 as asn1_pkcs12

    from capi.formats.pkcs12 import pkcs12_kdf

    key = pkcs12_kdf("sha1", password.encode("utf-16-be") + b"\x00\x00", salt, 3, iterations, 20)
    return asn1_pkcs12.Pfx({
        "version": "v3", "auth_safe": {"content_type": "data", "content": auth_safe},
        "mac_data": {"mac": {"digest_algorithm": {"algorithm": "sha1"},
                             "digest": hmac.new(key, auth_safe, "sha1").digest()},
                     "mac_salt": salt, "iterations": iterations}}).dump()

"""Test-certificate factory. Keys are generated once per process and reused: key
generation is the slow part, certificates differ by serial and subject."""

from __future__ import annotations

import datetime
import functools
import itertools

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BASE_TIME = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
_serials = itertools.count(0x1000)


@functools.lru_cache(maxsize=None)
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.lru_cache(maxsize=None)
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.lru_cache(maxsize=None)
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def name(cn: str | None = None, *, o: str | None = None, ou: str | None = None,
         c: str | None = None, email: str | None = None, l: str | None = None,
         st: str | None = None) -> x509.Name:
    """A Name encoded in the usual C, ST, L, O, OU, CN, E order."""
    attrs = []
    for oid, value in ((NameOID.COUNTRY_NAME, c), (NameOID.STATE_OR_PROVINCE_NAME, st),
                       (NameOID.LOCALITY_NAME, l), (NameOID.ORGANIZATION_NAME, o),
                       (NameOID.ORGANIZATIONAL_UNIT_NAME, ou), (NameOID.COMMON_NAME, cn),
                       (NameOID.EMAIL_ADDRESS, email)):
        if value is not None:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def make_cert(cn: str | None = "test", *, subject: x509.Name | None = None,
              issuer: tuple[x509.Name, object] | None = None, key=None, serial: int | None = None,
              not_before: datetime.datetime | None = None, days: int = 365,
              dns: tuple[str, ...] = (), emails: tuple[str, ...] = (), eku: tuple = (),
              ski: bool = False, ca: bool = False, algorithm="rsa") -> bytes:
    """DER of a certificate; self-signed unless ``issuer`` = (issuer name, issuer key)."""
    if key is None:
        key = {"rsa": rsa_key, "ec": ec_key, "ed25519": ed_key}[algorithm]()
    subject = subject if subject is not None else name(cn)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    nb = not_before or BASE_TIME
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(serial if serial is not None else next(_serials))
         .not_valid_before(nb).not_valid_after(nb + datetime.timedelta(days=days)))
    sans = [x509.DNSName(d) for d in dns] + [x509.RFC822Name(e) for e in emails]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) if isinstance(o, str)
                                                   else o for o in eku]), critical=False)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    algo = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return b.sign(issuer_key, algo).public_bytes(serialization.Encoding.DER)


def make_ca(cn: str = "Test Root CA"):
    """(DER, Name, key) of a self-signed CA."""
    n = name(cn, o="Contoso")
    return make_cert(subject=n, ca=True), n, rsa_key()


def make_crl(ca_name: x509.Name, ca_key) -> bytes:
    return (x509.CertificateRevocationListBuilder().issuer_name(ca_name)
            .last_update(BASE_TIME).next_update(BASE_TIME + datetime.timedelta(days=7))
            .sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def corpus(n: int, prefix: str = "bench") -> list[bytes]:
    """``n`` distinct small certificates, fast (Ed25519, one key)."""
    key = ed_key()
    pub = key.public_key()
    out = []
    for i in range(n):
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix}-{i}.example")])
        cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj).public_key(pub)
                .serial_number(i + 1).not_valid_before(BASE_TIME)
                .not_valid_after(BASE_TIME + datetime.timedelta(days=365))
                .sign(key, None))
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out


SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string

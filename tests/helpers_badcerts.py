"""Certificates with one undecodable part, made by patching a good certificate's DER.

Each patch keeps every length, so the outer structure still frames and the certificate is
accepted by CertAddEncodedCertificateToStore (its signature no longer verifies, which the
store does not check); only the patched part fails to decode.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
MARK = "BADBADBAD"


def good_cert(subject: str = "good.example.test", *, key=None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(0x1234)
               .not_valid_before(_NOW).not_valid_after(_NOW + datetime.timedelta(days=365))
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName("good.example.test"),
                    x509.IPAddress(ipaddress.ip_address("10.0.0.1"))]), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                              critical=False)
               .add_extension(x509.KeyUsage(True, False, True, False, False, False, False,
                                            False, False), critical=True)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                              critical=True)
               .add_extension(x509.AuthorityKeyIdentifier(b"\x11" * 20, None, None),
                              critical=False))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


_EXT_OIDS = {  # the DER of each extension's OID
    "san": bytes.fromhex("0603551d11"),
    "eku": bytes.fromhex("0603551d25"),
    "ku": bytes.fromhex("0603551d0f"),
    "bc": bytes.fromhex("0603551d13"),
    "aki": bytes.fromhex("0603551d23"),
}


def bad_extension(which: str) -> bytes:
    """A certificate whose ``which`` extension value (san, eku, ku, bc, aki) has a wrong
    outer tag (a SEQUENCE or BIT STRING made an OCTET STRING of the same length)."""
    der = bytearray(good_cert(f"bad-{which}.example.test"))
    at = der.index(_EXT_OIDS[which])
    at += len(_EXT_OIDS[which])
    if der[at] == 0x01:  # the critical BOOLEAN
        at += 3
    assert der[at] == 0x04  # extnValue OCTET STRING
    inner = at + 2
    der[inner] = 0x04 if der[inner] != 0x04 else 0x02
    return bytes(der)


def bad_subject() -> bytes:
    """A certificate whose subject CN is an INTEGER where a string belongs."""
    der = bytearray(good_cert(MARK))
    # the subject is the second occurrence (issuer first)
    first = der.index(MARK.encode())
    at = der.index(MARK.encode(), first + 1)
    assert der[at - 2] == 0x0C
    der[at - 2] = 0x02
    return bytes(der)


def bad_curve() -> bytes:
    """A certificate whose EC key names a curve OID nobody knows (1.2.840.10045.3.1.99)."""
    der = bytearray(good_cert("bad-curve.example.test"))
    p256 = bytes.fromhex("06082a8648ce3d030107")
    at = der.index(p256)
    der[at + len(p256) - 1] = 0x63
    return bytes(der)


BAD_CERTS = {
    "subject": bad_subject,
    "san": lambda: bad_extension("san"),
    "eku": lambda: bad_extension("eku"),
    "ku": lambda: bad_extension("ku"),
    "bc": lambda: bad_extension("bc"),
    "aki": lambda: bad_extension("aki"),
    "curve": bad_curve,
}

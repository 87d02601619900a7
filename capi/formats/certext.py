"""A certificate's parts decoded one at a time, so one bad part does not hide the rest.

``cryptography`` decodes a certificate's extensions all together (one malformed value
makes ``Certificate.extensions`` raise) and its names and public key on first use. Windows
decodes each part on its own: certutil lists every certificate of a store and, for each,
prints what it can decode, an extension it cannot decode as its bytes. These helpers give
the tools that view: each extension with its raw value and, where it decodes, its
``cryptography`` object; the public key or None; a name as DER whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import core
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

__all__ = ["RawTbs", "raw_tbs", "CertExtension", "certificate_extensions", "public_key_or_none", "is_self_issued"]


@dataclass(frozen=True)
class CertExtension:
    oid: str
    critical: bool
    raw: bytes  # the extnValue contents (the DER of the extension's value)
    value: x509.Extension | None  # None: the value does not decode


class _RawExtension(core.Sequence):
    # asn1crypto's own Extension decodes each value by its OID as it parses; this one
    # keeps the value as bytes.
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class _RawExtensions(core.SequenceOf):
    _child_spec = _RawExtension


def _tlvs(data: bytes):
    """(class, tag, contents, whole TLV) of each TLV in ``data``."""
    pos = 0
    while pos < len(data):
        cls_, _method, tag, header, contents, trailer = asn1_parser.parse(data[pos:])
        end = pos + len(header) + len(contents) + len(trailer)
        yield cls_, tag, contents, data[pos:end]
        pos = end


@dataclass(frozen=True)
class RawTbs:
    """The TBSCertificate's parts as encoded (no part is decoded beyond its framing)."""

    signature_parameters: bytes  # the AlgorithmIdentifier's parameters TLV, or b""
    issuer: bytes
    subject: bytes
    spki: bytes
    key_algorithm: str  # dotted OID
    key_parameters: bytes  # TLV or b""
    key_bit_string: bytes  # the BIT STRING TLV of subjectPublicKey

    @property
    def key_bits(self) -> bytes:
        """subjectPublicKey without its unused-bits byte."""
        _c, _t, contents, _w = next(_tlvs(self.key_bit_string))
        return contents[1:]


def _algorithm(tlv_contents: bytes) -> tuple[str, bytes]:
    items = list(_tlvs(tlv_contents))
    oid = core.ObjectIdentifier.load(items[0][3]).dotted
    return oid, (items[1][3] if len(items) > 1 else b"")


def raw_tbs(der: bytes) -> RawTbs:
    """The parts of the certificate ``der`` that the tools print as bytes; ValueError if
    the certificate does not frame."""
    try:
        _c, _t, cert_contents, _w = next(_tlvs(bytes(der)))
        _c, _t, tbs_contents, _w = next(_tlvs(cert_contents))
        fields = [t for t in _tlvs(tbs_contents) if (t[0], t[1]) != (2, 0)]  # no [0] version
        _serial, signature, issuer, _validity, subject, spki = fields[:6]
        _sig_oid, sig_params = _algorithm(signature[2])
        spki_items = list(_tlvs(spki[2]))
        key_oid, key_params = _algorithm(spki_items[0][2])
        return RawTbs(sig_params, issuer[3], subject[3], spki[3], key_oid, key_params,
                      spki_items[1][3])
    except (ValueError, TypeError, IndexError, StopIteration) as exc:
        raise ValueError(f"certificate does not frame: {exc}") from None


def _raw_extensions(der: bytes) -> list[tuple[str, bool, bytes]]:
    try:
        _c, _t, cert_contents, _w = next(_tlvs(bytes(der)))
        _c, _t, tbs_contents, _w = next(_tlvs(cert_contents))
        for cls_, tag, contents, _w in _tlvs(tbs_contents):
            if (cls_, tag) == (2, 3):  # [3] EXPLICIT Extensions
                exts = _RawExtensions.load(contents)
                return [(ext["extn_id"].dotted, bool(ext["critical"].native),
                         ext["extn_value"].native) for ext in exts]
        return []
    except (ValueError, TypeError, KeyError, StopIteration):
        return []


def _decode_one(der: bytes, index: int) -> x509.Extension | None:
    """Extension ``index`` decoded by cryptography on its own: the certificate re-encoded
    with that extension alone (the signature is not checked by the decoder)."""
    try:
        cert = asn1_x509.Certificate.load(bytes(der))
        tbs = cert["tbs_certificate"].copy()
        tbs["extensions"] = [tbs["extensions"][index]]
        cert["tbs_certificate"] = tbs
        single = x509.load_der_x509_certificate(cert.dump(force=True))
        return single.extensions[0]
    except (ValueError, TypeError, KeyError, IndexError, UnsupportedAlgorithm):
        return None


def certificate_extensions(der: bytes, cert: x509.Certificate | None = None) -> list[CertExtension]:
    """Every extension of the certificate ``der``, in order, decoded where it can be."""
    raw = _raw_extensions(der)
    decoded: list[x509.Extension | None] | None = None
    if cert is not None:
        try:
            decoded = list(cert.extensions)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            decoded = None
    if decoded is None or len(decoded) != len(raw):
        decoded = [_decode_one(der, i) for i in range(len(raw))]
    return [CertExtension(oid, critical, value, ext)
            for (oid, critical, value), ext in zip(raw, decoded, strict=True)]


def public_key_or_none(cert: x509.Certificate):
    """The certificate's public key, or None when it cannot be loaded (an unknown curve,
    a malformed key)."""
    try:
        return cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def is_self_issued(der: bytes) -> bool:
    """Issuer and subject are the same DER (compared as encoded, whatever they hold)."""
    try:
        tbs = asn1_x509.Certificate.load(bytes(der))["tbs_certificate"]
        return tbs["issuer"].dump() == tbs["subject"].dump()
    except (ValueError, TypeError, KeyError):
        return False

r"""The byte formats of key archival and recovery, as "Key Archival and Management in
Windows Server 2003" (Microsoft, Appendix A) lays them out.

- The archival request is a CMC full PKI request (RFC 2797): a CMS SignedData whose
  content (id-cct-PKIData) carries the PKCS#10 request in its reqSequence and, in its
  controlSequence, the SHA-1 hash of the encrypted private key
  (szOID_ENCRYPTED_KEY_HASH). The signer is the request's own key; the encrypted private
  key is an *unauthenticated* attribute of that outermost signature
  (szOID_ARCHIVED_KEY_ATTR): a CMS EnvelopedData of the key's PRIVATEKEYBLOB, encrypted
  to the CA Exchange certificate (RSA PKCS#1 v1.5 key transport, 3DES content).
- In the CA database the key is an EnvelopedData of the PRIVATEKEYBLOB under a fresh
  3DES key, encrypted to each KRA certificate chosen.
- The recovery blob ``certutil -getkey`` writes wraps that EnvelopedData in a SignedData
  signed by the CA, carrying the user's certificate chain and the KRA certificates, with
  the SHA-1 hash of the user's certificate as the signed attribute
  szOID_ARCHIVED_KEY_CERT_HASH.

Every signature and every private-key decryption is made by a provider key through a
callable the caller passes; this module never holds a CA or KRA private key.
"""

from __future__ import annotations

import hashlib
import os

from asn1crypto import cms, core
from asn1crypto import csr as asn1_csr
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from capi.errors import (
    CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL,
    CRYPT_E_ASN1_BADTAG,
    NTE_BAD_DATA,
    WinError,
)

szOID_CMC_PKI_DATA = "1.3.6.1.5.5.7.12.2"          # id-cct-PKIData
szOID_ARCHIVED_KEY_ATTR = "1.3.6.1.4.1.311.21.13"
szOID_ENCRYPTED_KEY_HASH = "1.3.6.1.4.1.311.21.21"
szOID_ARCHIVED_KEY_CERT_HASH = "1.3.6.1.4.1.311.21.16"
MAX_REQUEST_BYTES = 256 * 1024


class TaggedAttribute(core.Sequence):
    _fields = [("body_part_id", core.Integer), ("attr_type", core.ObjectIdentifier),
               ("attr_values", core.SetOf, {"spec": core.Any})]


class TaggedCertificationRequest(core.Sequence):
    _fields = [("body_part_id", core.Integer),
               ("certification_request", asn1_csr.CertificationRequest)]


class TaggedRequest(core.Choice):
    _alternatives = [("tcr", TaggedCertificationRequest, {"implicit": 0}),
                     ("crm", core.Any, {"implicit": 1}),
                     ("orm", core.Any, {"implicit": 2})]


class PKIData(core.Sequence):
    _fields = [("control_sequence", core.SequenceOf, {"spec": TaggedAttribute}),
               ("req_sequence", core.SequenceOf, {"spec": TaggedRequest}),
               ("cms_sequence", core.SequenceOf, {"spec": core.Any}),
               ("other_msg_sequence", core.SequenceOf, {"spec": core.Any})]


# -- symmetric layer ------------------------------------------------------------------------


def _3des(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(TripleDES(key), modes.CBC(iv))
    if encrypt:
        padder = sym_padding.PKCS7(64).padder()
        enc = cipher.encryptor()
        return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()
    dec = cipher.decryptor()
    plain = dec.update(data) + dec.finalize()
    unpadder = sym_padding.PKCS7(64).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise WinError(NTE_BAD_DATA, detail="bad padding in the encrypted key") from None


def _issuer_serial(cert_der: bytes) -> cms.IssuerAndSerialNumber:
    cert = asn1_x509.Certificate.load(cert_der)
    return cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})


def envelope(content: bytes, recipients: list[bytes]) -> bytes:
    """A ContentInfo(EnvelopedData) of ``content`` for each recipient certificate: a random
    3DES key, transported with RSA PKCS#1 v1.5 to every certificate's public key."""
    from cryptography import x509

    key, iv = os.urandom(24), os.urandom(8)
    infos = []
    for der in recipients:
        public = x509.load_der_x509_certificate(der).public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise WinError(NTE_BAD_DATA, detail="a key transport recipient must be RSA")
        infos.append(cms.RecipientInfo(name="ktri", value=cms.KeyTransRecipientInfo({
            "version": "v0", "rid": cms.RecipientIdentifier(name="issuer_and_serial_number",
                                                           value=_issuer_serial(der)),
            "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
            "encrypted_key": public.encrypt(key, padding.PKCS1v15())})))
    enveloped = cms.EnvelopedData({
        "version": "v0", "recipient_infos": infos,
        "encrypted_content_info": {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": "tripledes_3key",
                                             "parameters": core.OctetString(iv)},
            "encrypted_content": _3des(key, iv, content, True)}})
    return cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()


def recipients_of(enveloped_der: bytes) -> list[tuple[bytes, int]]:
    """(issuer name DER, serial) of each key-transport recipient."""
    info = _load_enveloped(enveloped_der)
    out = []
    for ri in info["recipient_infos"]:
        if ri.name == "ktri" and ri.chosen["rid"].name == "issuer_and_serial_number":
            ias = ri.chosen["rid"].chosen
            out.append((ias["issuer"].dump(), ias["serial_number"].native))
    return out


def _load_enveloped(der: bytes) -> cms.EnvelopedData:
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "enveloped_data":
            raise ValueError("not EnvelopedData")
        env = info["content"]
        env.native  # noqa: B018 - parse everything now, inside the try
        return env
    except (ValueError, TypeError, KeyError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"encrypted key: {exc}") from None


def open_envelope(enveloped_der: bytes, cert_der: bytes, decrypt) -> bytes:
    """The content of an EnvelopedData, its key decrypted by ``decrypt(ciphertext)`` (the
    private key of ``cert_der``, through its provider). CRYPT_E_NOT_FOUND when the
    certificate is not a recipient."""
    from capi.errors import CRYPT_E_NOT_FOUND

    env = _load_enveloped(enveloped_der)
    wanted = _issuer_serial(cert_der)
    for ri in env["recipient_infos"]:
        if ri.name != "ktri" or ri.chosen["rid"].name != "issuer_and_serial_number":
            continue
        ias = ri.chosen["rid"].chosen
        if ias["issuer"] != wanted["issuer"] or ias["serial_number"].native != wanted["serial_number"].native:
            continue
        key = decrypt(ri.chosen["encrypted_key"].native)
        eci = env["encrypted_content_info"]
        alg = eci["content_encryption_algorithm"]
        if alg["algorithm"].native != "tripledes_3key" or len(key) != 24:
            raise WinError(NTE_BAD_DATA, detail=f"content encryption {alg['algorithm'].native}")
        return _3des(key, alg["parameters"].native, eci["encrypted_content"].native, False)
    raise WinError(CRYPT_E_NOT_FOUND, detail="the certificate is not a recipient")


# -- the CMC archival request -----------------------------------------------------------------


def _digest_alg(hash_name: str) -> str:
    return {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
            "md5": "md5"}[hash_name.lower()]


def build_archival_request(pkcs10_der: bytes, private_blob: bytes, exchange_cert_der: bytes,
                           public_key, sign, hash_name: str = "sha1") -> bytes:
    """The CMC full PKI request of a PKCS#10 request whose key ``private_blob`` (a
    PRIVATEKEYBLOB) is archived: the key enveloped to the CA Exchange certificate, its
    hash in the controlSequence, signed by ``sign(data) -> (sig_alg, signature)`` (the
    request's own key) with the envelope as an unauthenticated attribute."""
    from cryptography.hazmat.primitives import serialization

    enveloped = envelope(private_blob, [exchange_cert_der])
    pki = PKIData({
        "control_sequence": [TaggedAttribute({
            "body_part_id": 1, "attr_type": szOID_ENCRYPTED_KEY_HASH,
            "attr_values": [core.OctetString(hashlib.sha1(enveloped).digest())]})],
        "req_sequence": [TaggedRequest(name="tcr", value=TaggedCertificationRequest({
            "body_part_id": 2,
            "certification_request": asn1_csr.CertificationRequest.load(pkcs10_der)}))],
        "cms_sequence": [], "other_msg_sequence": []})
    content = pki.dump()
    digest_name = _digest_alg(hash_name)
    digest = hashlib.new(digest_name, content).digest()
    signed_attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": [szOID_CMC_PKI_DATA]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]})])
    sig_alg, signature = sign(signed_attrs.dump())
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    ski = hashlib.sha1(asn1_x509.PublicKeyInfo.load(spki)["public_key"].contents[1:]).digest()
    signer = cms.SignerInfo({
        "version": "v3", "sid": cms.SignerIdentifier(name="subject_key_identifier", value=ski),
        "digest_algorithm": {"algorithm": digest_name}, "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"}, "signature": signature,
        "unsigned_attrs": cms.CMSAttributes([cms.CMSAttribute({
            "type": szOID_ARCHIVED_KEY_ATTR, "values": [core.Any.load(enveloped)]})])})
    signed = cms.SignedData({
        "version": "v3", "digest_algorithms": [{"algorithm": digest_name}],
        "encap_content_info": {"content_type": szOID_CMC_PKI_DATA,
                               "content": core.ParsableOctetString(content)},
        "signer_infos": [signer]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def is_cmc(data: bytes) -> bool:
    try:
        info = cms.ContentInfo.load(bytes(data))
        return info["content_type"].native == "signed_data" and \
            info["content"]["encap_content_info"]["content_type"].dotted == szOID_CMC_PKI_DATA
    except (ValueError, TypeError, KeyError):
        return False


def parse_archival_request(data: bytes) -> tuple[bytes, bytes | None]:
    """(PKCS#10 DER, enveloped private key or None) of a CMC full PKI request, after
    checking the outer signature with the request's public key and the key hash in the
    controlSequence. CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL when the archived key is
    anywhere but an unauthenticated attribute of the outermost signature or its hash does
    not match; NTE_BAD_SIGNATURE when the signature fails."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    from capi.errors import NTE_BAD_SIGNATURE

    try:
        info = cms.ContentInfo.load(bytes(data))
        signed = info["content"]
        content = signed["encap_content_info"]["content"].contents
        pki = PKIData.load(content)
        requests = [r.chosen for r in pki["req_sequence"] if r.name == "tcr"]
        if len(requests) != 1:
            raise ValueError("one PKCS#10 request expected")
        pkcs10 = requests[0]["certification_request"].dump()
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            raise ValueError("one signer expected")
        signer = signers[0]
        hashes_in_controls = [bytes(v.parse(core.OctetString).native)
                              for c in pki["control_sequence"]
                              if c["attr_type"].dotted == szOID_ENCRYPTED_KEY_HASH
                              for v in c["attr_values"]]
        enveloped = None
        for attr in signer["unsigned_attrs"] or []:
            if attr["type"].dotted == szOID_ARCHIVED_KEY_ATTR:
                enveloped = attr["values"][0].dump()
        for attr in signer["signed_attrs"] or []:
            if attr["type"].dotted == szOID_ARCHIVED_KEY_ATTR:
                raise WinError(CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL, detail="archived key in a signed attribute")
        digest_name = signer["digest_algorithm"]["algorithm"].native
        signed_attrs = signer["signed_attrs"]
        digest = next(a["values"][0].native for a in signed_attrs if a["type"].native == "message_digest")
        signature = signer["signature"].native
        csr = x509.load_der_x509_csr(pkcs10)
        public = csr.public_key()
    except WinError:
        raise
    except (ValueError, TypeError, KeyError, StopIteration, AttributeError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"CMC request: {exc}") from None
    if hashlib.new(digest_name, content).digest() != digest:
        raise WinError(NTE_BAD_SIGNATURE, detail="content digest")
    from cryptography.hazmat.primitives import hashes as _h

    hash_cls = {"sha1": _h.SHA1, "sha256": _h.SHA256, "sha384": _h.SHA384, "sha512": _h.SHA512,
                "md5": _h.MD5}.get(digest_name)
    if hash_cls is None or not isinstance(public, rsa.RSAPublicKey):
        raise WinError(NTE_BAD_SIGNATURE, detail="signature algorithm")
    try:
        public.verify(signature, cms.CMSAttributes(list(signed_attrs)).dump(), padding.PKCS1v15(), hash_cls())
    except InvalidSignature:
        raise WinError(NTE_BAD_SIGNATURE, detail="the CMC request's signature does not verify") from None
    if enveloped is not None and hashlib.sha1(enveloped).digest() not in hashes_in_controls:
        raise WinError(CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL, detail="encrypted key hash mismatch")
    return pkcs10, enveloped


# -- the recovery blob ------------------------------------------------------------------------


def build_recovery_blob(archived: bytes, user_cert_der: bytes, certificates: list[bytes], sign,
                        hash_name: str = "sha256") -> bytes:
    """The SignedData ``certutil -getkey`` writes: ``archived`` (the database's
    EnvelopedData) as content, ``certificates`` attached, the user certificate's SHA-1
    hash signed as szOID_ARCHIVED_KEY_CERT_HASH, signed with ``sign`` (the CA key)."""
    digest_name = _digest_alg(hash_name)
    signed_attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.new(digest_name, archived).digest()]}),
        cms.CMSAttribute({"type": szOID_ARCHIVED_KEY_CERT_HASH,
                          "values": [core.OctetString(hashlib.sha1(user_cert_der).digest())]})])
    sig_alg, signature = sign(signed_attrs.dump())
    ca_cert = asn1_x509.Certificate.load(certificates[-1]) if certificates else None
    sid = cms.SignerIdentifier(name="issuer_and_serial_number", value=cms.IssuerAndSerialNumber({
        "issuer": ca_cert.issuer, "serial_number": ca_cert.serial_number}))
    signer = cms.SignerInfo({
        "version": "v1", "sid": sid, "digest_algorithm": {"algorithm": digest_name},
        "signed_attrs": signed_attrs, "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
        "signature": signature})
    seen, certs = set(), []
    for der in [user_cert_der, *certificates]:
        if der not in seen:
            seen.add(der)
            certs.append(cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(der)))
    signed = cms.SignedData({
        "version": "v1", "digest_algorithms": [{"algorithm": digest_name}],
        "encap_content_info": {"content_type": "data", "content": archived},
        "certificates": certs, "signer_infos": [signer]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def parse_recovery_blob(data: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(the EnvelopedData, the user certificate's DER, every attached certificate)."""
    try:
        info = cms.ContentInfo.load(bytes(data))
        signed = info["content"]
        archived = signed["encap_content_info"]["content"].native
        certs = [c.chosen.dump() for c in signed["certificates"] or [] if c.name == "certificate"]
        wanted = None
        for attr in signed["signer_infos"][0]["signed_attrs"]:
            if attr["type"].dotted == szOID_ARCHIVED_KEY_CERT_HASH:
                wanted = bytes(attr["values"][0].parse(core.OctetString).native)
        user = next(c for c in certs if hashlib.sha1(c).digest() == wanted)
    except (ValueError, TypeError, KeyError, StopIteration, IndexError, AttributeError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"recovery blob: {exc}") from None
    return bytes(archived), user, certs


__all__ = [
    "szOID_CMC_PKI_DATA", "szOID_ARCHIVED_KEY_ATTR", "szOID_ENCRYPTED_KEY_HASH",
    "szOID_ARCHIVED_KEY_CERT_HASH", "envelope", "open_envelope", "recipients_of",
    "build_archival_request", "is_cmc", "parse_archival_request", "build_recovery_blob",
    "parse_recovery_blob",
]

"""Low-level cryptographic messages (Wine: dlls/crypt32/msg.c): CryptMsgOpenToEncode,
CryptMsgOpenToDecode, CryptMsgUpdate, CryptMsgGetParam, CryptMsgControl, CryptMsgClose,
CryptMsgDuplicate for data, hashed, signed and enveloped PKCS#7 messages.

Structures are asn1crypto's ``cms``; digests, ciphers and public-key checks are
``cryptography``'s. A signer's private key is never extracted: the signature is made by
the provider that holds the key, through the facade — CryptCreateHash +
CryptSetHashParam(HP_HASHVAL) + CryptSignHash for an HCRYPTPROV, NCryptSignHash for an
NCRYPT_KEY_HANDLE (software CSP, CNG KSP and PKCS#11 token alike); a recipient's key
decrypts the content-encryption key through CryptDecrypt / NCryptDecrypt.

Data and hashed messages are encoded byte for byte as Windows encodes them (Wine msg.c
test_data_msg_encoding, test_hash_msg_encoding: an empty hashed message holds an empty
inner content type and an empty digest until its final update). Streaming
(CMSG_STREAM_INFO): a data message streams as Windows does (header, then each update);
signed and enveloped messages are produced on the final update and handed to the
callback in one piece; decoding calls the callback with the content on the final update.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms
from asn1crypto import core as asn1_core
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_der_public_key

from capi import constants as C
from capi.crypt32 import _der as D
from capi.crypt32.structs import (
    CMSG_SIGNER_INFO,
    CRYPT_ALGORITHM_IDENTIFIER,
    CRYPT_ATTRIBUTE,
    CRYPT_ATTRIBUTES,
)
from capi.errors import (
    CRYPT_E_ALREADY_DECRYPTED,
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_CONTROL_TYPE,
    CRYPT_E_HASH_VALUE,
    CRYPT_E_INVALID_INDEX,
    CRYPT_E_INVALID_MSG_TYPE,
    CRYPT_E_MSG_ERROR,
    CRYPT_E_NOT_DECRYPTED,
    CRYPT_E_SIGNER_NOT_FOUND,
    CRYPT_E_STREAM_MSG_NOT_READY,
    CRYPT_E_UNKNOWN_ALGO,
    E_INVALIDARG,
    NTE_BAD_DATA,
    NTE_BAD_HASH_STATE,
    NTE_BAD_SIGNATURE,
    STATUS_ACCESS_VIOLATION,
    WinError,
    winapi,
)

# ---------------------------------------------------------------------------------------
# Algorithms
# ---------------------------------------------------------------------------------------

# hash OID -> (cryptography class, CALG, CNG name, asn1crypto name)
HASHES: dict[str, tuple[type, int, str, str]] = {
    C.szOID_RSA_MD5: (hashes.MD5, C.CALG_MD5, "MD5", "md5"),
    C.szOID_OIWSEC_sha1: (hashes.SHA1, C.CALG_SHA1, "SHA1", "sha1"),
    C.szOID_NIST_sha256: (hashes.SHA256, C.CALG_SHA_256, "SHA256", "sha256"),
    C.szOID_NIST_sha384: (hashes.SHA384, C.CALG_SHA_384, "SHA384", "sha384"),
    C.szOID_NIST_sha512: (hashes.SHA512, C.CALG_SHA_512, "SHA512", "sha512"),
}
# content-encryption OID -> (cryptography cipher, key bytes)
CIPHERS: dict[str, tuple[Callable, int]] = {
    C.szOID_RSA_DES_EDE3_CBC: (TripleDES, 24),
    C.szOID_NIST_AES128_CBC: (algorithms.AES, 16),
    C.szOID_NIST_AES192_CBC: (algorithms.AES, 24),
    C.szOID_NIST_AES256_CBC: (algorithms.AES, 32),
}
_DATA = C.szOID_RSA_data
_TYPE_OIDS = {
    C.CMSG_DATA: C.szOID_RSA_data, C.CMSG_SIGNED: C.szOID_RSA_signedData,
    C.CMSG_ENVELOPED: C.szOID_RSA_envelopedData, C.CMSG_HASHED: C.szOID_RSA_digestedData,
    C.CMSG_SIGNED_AND_ENVELOPED: C.szOID_RSA_signEnvData,
    C.CMSG_ENCRYPTED: C.szOID_RSA_encryptedData,
}
_OID_TYPES = {v: k for k, v in _TYPE_OIDS.items()}


def _hash_oid(alg) -> str:
    oid = getattr(alg, "pszObjId", None) if alg is not None else None
    if oid not in HASHES:
        raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=f"hash algorithm {oid!r}")
    return oid


def _new_hash(oid: str):
    return hashes.Hash(HASHES[oid][0]())


def _digest(oid: str, data: bytes) -> bytes:
    return hashlib.new(HASHES[oid][3], data).digest() if HASHES[oid][3] != "md5" \
        else hashlib.md5(data).digest()


# -- fast DER for the encode path (asn1crypto objects cost more than the RSA signature) ----


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _fseq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


@functools.lru_cache(maxsize=256)
def _foid(dotted: str) -> bytes:
    return D.oid(dotted)


def _fint(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


_FNULL = b"\x05\x00"


def _fset(parts, *, sort: bool) -> bytes:
    parts = list(parts)
    return _tlv(0x31, b"".join(sorted(parts) if sort else parts))


# ---------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------


@dataclass
class CMSG_SIGNER_ENCODE_INFO:
    """A signer: ``pCertInfo`` (CERT_INFO, or the certificate context) names it by issuer
    and serial number; ``hCryptProv`` is the HCRYPTPROV or NCRYPT_KEY_HANDLE holding its
    key, ``dwKeySpec`` the key (CERT_NCRYPT_KEY_SPEC for CNG)."""

    pCertInfo: Any = None
    hCryptProv: Any = None
    dwKeySpec: int = C.AT_SIGNATURE
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvHashAuxInfo: Any = None
    rgAuthAttr: list = field(default_factory=list)
    rgUnauthAttr: list = field(default_factory=list)


@dataclass
class CMSG_SIGNED_ENCODE_INFO:
    rgSigners: list = field(default_factory=list)
    rgCertEncoded: list = field(default_factory=list)
    rgCrlEncoded: list = field(default_factory=list)


@dataclass
class CMSG_HASHED_ENCODE_INFO:
    hCryptProv: Any = None
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvHashAuxInfo: Any = None


@dataclass
class CMSG_ENVELOPED_ENCODE_INFO:
    """``rgpRecipients``: CERT_INFOs or certificate contexts (RSA key transport)."""

    hCryptProv: Any = None
    ContentEncryptionAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvEncryptionAuxInfo: Any = None
    rgpRecipients: list = field(default_factory=list)


@dataclass
class CMSG_STREAM_INFO:
    """``pfnStreamOutput(pvArg, pbData, fFinal) -> bool``; cbContent CMSG_INDEFINITE_LENGTH
    for an indefinite-length (BER) encoding."""

    cbContent: int = 0
    pfnStreamOutput: Callable | None = None
    pvArg: Any = None


@dataclass
class CMSG_CTRL_DECRYPT_PARA:
    hCryptProv: Any = None
    dwKeySpec: int = C.AT_KEYEXCHANGE
    dwRecipientIndex: int = 0


@dataclass
class CMSG_CTRL_VERIFY_SIGNATURE_EX_PARA:
    hCryptProv: Any = None
    dwSignerIndex: int = 0
    dwSignerType: int = C.CMSG_VERIFY_SIGNER_PUBKEY
    pvSigner: Any = None


@dataclass
class CMSG_CTRL_DEL_SIGNER_UNAUTH_ATTR_PARA:
    dwSignerIndex: int = 0
    dwUnauthAttrIndex: int = 0


# ---------------------------------------------------------------------------------------
# Identities, keys and signatures
# ---------------------------------------------------------------------------------------


def _cert_info(x):
    """CERT_INFO of a certificate context, or ``x`` itself."""
    info = getattr(x, "pCertInfo", None)
    return info if info is not None and not isinstance(x, CMSG_SIGNER_ENCODE_INFO) else x


def _issuer_serial(info) -> tuple[bytes, bytes]:
    issuer = bytes(getattr(info, "Issuer", b"") or b"")
    serial = bytes(getattr(info, "SerialNumber", b"") or b"")
    return issuer, serial


def _ias(issuer: bytes, serial_le: bytes) -> cms.IssuerAndSerialNumber:
    from asn1crypto import x509 as asn1_x509

    return cms.IssuerAndSerialNumber({
        "issuer": asn1_x509.Name.load(issuer),
        "serial_number": int.from_bytes(serial_le, "little", signed=True),
    })


def _le(n: int) -> bytes:
    length = max(1, (n.bit_length() + 8) // 8)
    return n.to_bytes(length, "little", signed=True)


def serial_int(le: bytes) -> int:
    """A CRYPT_INTEGER_BLOB serial number (little-endian) as the positive integer it
    names (CertCompareIntegerBlob ignores the sign byte)."""
    return int.from_bytes(bytes(le), "little")


def _public_key_of(info):
    spki = getattr(info, "SubjectPublicKeyInfo", None)
    if isinstance(spki, (bytes, bytearray)) and spki:
        return load_der_public_key(bytes(spki))
    if spki is not None and hasattr(spki, "Algorithm"):
        from capi.crypt32.encode import CryptEncodeObjectEx

        return load_der_public_key(CryptEncodeObjectEx(C.X509_ASN_ENCODING,
                                                       C.X509_PUBLIC_KEY_INFO, spki))
    x = getattr(info, "x509", None)
    if x is not None:
        return x.public_key()
    return None


def _is_ncrypt(handle) -> bool:
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    return isinstance(handle, NCRYPT_KEY_HANDLE)


def _handle_public_key(handle, spec: int):
    if _is_ncrypt(handle):
        return handle.key.public
    return handle.container.get_key(spec).public


def provider_sign(handle, spec: int, hash_oid: str, digest: bytes, pub) -> bytes:
    """The signature over ``digest`` made by the provider holding the key (big-endian
    PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value for EC)."""
    _cls, calg, cng, _n = HASHES[hash_oid]
    if _is_ncrypt(handle):
        from capi.ncrypt.keystorage import BCRYPT_PKCS1_PADDING_INFO, NCryptSignHash

        if isinstance(pub, ec.EllipticCurvePublicKey):
            from capi.formats.blobs import ecdsa_der_from_p1363

            return ecdsa_der_from_p1363(NCryptSignHash(handle, None, digest, 0))
        return NCryptSignHash(handle, BCRYPT_PKCS1_PADDING_INFO(cng), digest,
                              C.BCRYPT_PAD_PKCS1)
    from capi.advapi32.crypt import (
        CryptCreateHash,
        CryptDestroyHash,
        CryptSetHashParam,
        CryptSignHash,
    )

    h = CryptCreateHash(handle, calg, None, 0)
    try:
        CryptSetHashParam(h, C.HP_HASHVAL, digest, 0)
        return CryptSignHash(h, spec, None, 0)[::-1]
    finally:
        CryptDestroyHash(h)


def provider_decrypt_key(handle, spec: int, encrypted_key: bytes) -> bytes:
    """The content-encryption key, decrypted (RSA PKCS#1 v1.5) by the recipient's provider."""
    if _is_ncrypt(handle):
        from capi.ncrypt.keystorage import NCryptDecrypt

        return NCryptDecrypt(handle, encrypted_key, None, C.NCRYPT_PAD_PKCS1_FLAG)
    from capi.advapi32.crypt import CryptDecrypt, CryptDestroyKey, CryptGetUserKey

    key = CryptGetUserKey(handle, spec)
    try:
        return CryptDecrypt(key, None, True, 0, bytes(encrypted_key)[::-1])
    finally:
        CryptDestroyKey(key)


def _sig_alg(pub, hash_oid: str) -> dict:
    name = HASHES[hash_oid][3]
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"algorithm": f"{name}_ecdsa"}
    # Windows names the RSA signature algorithm szOID_RSA_RSA with NULL parameters.
    return {"algorithm": "rsassa_pkcs1v15", "parameters": asn1_core.Null()}


def verify_signature(pub, hash_oid: str, digest: bytes, signature: bytes) -> None:
    """NTE_BAD_SIGNATURE unless ``signature`` over ``digest`` verifies with ``pub``."""
    algo = asym_utils.Prehashed(HASHES[hash_oid][0]())
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, digest, asym_padding.PKCS1v15(), algo)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, digest, ec.ECDSA(algo))
        else:
            raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=type(pub).__name__)
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        raise WinError(NTE_BAD_SIGNATURE) from None


def _attrs_to_cms(attrs) -> list:
    out = []
    for a in attrs or ():
        out.append(cms.CMSAttribute({
            "type": a.pszObjId,
            "values": [asn1_core.Any.load(bytes(v)) for v in a.rgValue]}))
    return out


def _attrs_from_cms(attrs) -> CRYPT_ATTRIBUTES:
    out = CRYPT_ATTRIBUTES()
    if attrs is None or not len(attrs):
        return out
    for a in attrs:
        out.rgAttr.append(CRYPT_ATTRIBUTE(a["type"].dotted,
                                          [v.dump() for v in a["values"]]))
    return out


_SIG_OIDS = {  # hash OID -> ECDSA signature algorithm OID
    C.szOID_OIWSEC_sha1: "1.2.840.10045.4.1", C.szOID_NIST_sha256: "1.2.840.10045.4.3.2",
    C.szOID_NIST_sha384: "1.2.840.10045.4.3.3", C.szOID_NIST_sha512: "1.2.840.10045.4.3.4",
}
_RSA_OID = "1.2.840.113549.1.1.1"
_CONTENT_TYPE_OID = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST_OID = "1.2.840.113549.1.9.4"


def _attribute_der(oid: str, values) -> bytes:
    return _fseq(_foid(oid), _fset((bytes(v) for v in values), sort=True))


def _signer_identity(cert_info) -> tuple[bytes, int]:
    """(issuer DER, serial number) of a CERT_INFO or certificate context."""
    x = getattr(cert_info, "x509", None)
    if x is not None and hasattr(cert_info, "sha1"):
        from capi.crypt32.chain import _name_ders

        return _name_ders(cert_info)[0], x.serial_number
    issuer, serial = _issuer_serial(cert_info)
    return issuer, serial_int(serial)


def make_signer_info(signer: CMSG_SIGNER_ENCODE_INFO, content: bytes, content_type: str) -> bytes:
    """The DER SignerInfo over ``content``, signed by the signer's provider: version 1,
    issuer and serial number, the digest algorithm with NULL parameters, the signed
    attributes when there are any (or the inner type is not data; the content type and
    message digest are then added, PKCS #7 9.2), the signature algorithm (RSA with NULL
    parameters, as Windows writes it; ECDSA-with-hash), the signature, unsigned
    attributes."""
    issuer, serial = _signer_identity(signer.pCertInfo)
    hash_oid = _hash_oid(signer.HashAlgorithm)
    x = getattr(signer.pCertInfo, "x509", None)
    pub = x.public_key() if x is not None else (
        _public_key_of(_cert_info(signer.pCertInfo))
        or _handle_public_key(signer.hCryptProv, signer.dwKeySpec))
    content_digest = _digest(hash_oid, content)
    to_sign = content_digest
    attrs = b""
    if signer.rgAuthAttr or content_type != _DATA:
        attr_set = _fset([
            _attribute_der(_CONTENT_TYPE_OID, [_foid(content_type)]),
            _attribute_der(_MESSAGE_DIGEST_OID, [_tlv(0x04, content_digest)]),
            *(_attribute_der(a.pszObjId, a.rgValue) for a in signer.rgAuthAttr),
        ], sort=True)
        # The signature covers the SET OF; the message carries it as [0] IMPLICIT.
        to_sign = _digest(hash_oid, attr_set)
        attrs = b"\xa0" + attr_set[1:]
    signature = provider_sign(signer.hCryptProv, signer.dwKeySpec, hash_oid, to_sign, pub)
    if isinstance(pub, ec.EllipticCurvePublicKey):
        sig_alg = _fseq(_foid(_SIG_OIDS[hash_oid]))
    else:
        sig_alg = _fseq(_foid(_RSA_OID), _FNULL)
    unsigned = b""
    if signer.rgUnauthAttr:
        unsigned_set = _fset((_attribute_der(a.pszObjId, a.rgValue)
                              for a in signer.rgUnauthAttr), sort=True)
        unsigned = b"\xa1" + unsigned_set[1:]
    return _fseq(_fint(1), _fseq(issuer, _fint(serial)), _fseq(_foid(hash_oid), _FNULL),
                 attrs, sig_alg, _tlv(0x04, signature), unsigned)


def _validate_signer(signer) -> None:
    # Wine msg.c test_signed_msg_open: the signer's cert info needs a serial number and an
    # issuer, and hCryptProv must be set (E_INVALIDARG); then the hash algorithm is
    # checked (CRYPT_E_UNKNOWN_ALGO).
    if not isinstance(signer, CMSG_SIGNER_ENCODE_INFO) or signer.pCertInfo is None:
        raise WinError(E_INVALIDARG, detail="signer")
    issuer, serial = _issuer_serial(_cert_info(signer.pCertInfo))
    if not serial or not issuer or signer.hCryptProv is None:
        raise WinError(E_INVALIDARG, detail="signer cert info / hCryptProv")
    _hash_oid(signer.HashAlgorithm)


# ---------------------------------------------------------------------------------------
# Decoded-signer checks
# ---------------------------------------------------------------------------------------


def signer_hash_oid(si: cms.SignerInfo) -> str:
    oid = si["digest_algorithm"]["algorithm"].dotted
    if oid not in HASHES:
        raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=oid)
    return oid


def check_signer(si: cms.SignerInfo, content: bytes, pub) -> None:
    """CRYPT_E_HASH_VALUE when the message digest attribute does not match the content,
    NTE_BAD_SIGNATURE when the signature does not verify with ``pub``."""
    hash_oid = signer_hash_oid(si)
    digest = _digest(hash_oid, content)
    attrs = si["signed_attrs"]
    if attrs is not None and len(attrs):
        md = [a for a in attrs if a["type"].native == "message_digest"]
        if not md or md[0]["values"][0].native != digest:
            raise WinError(CRYPT_E_HASH_VALUE)
        # The signature covers the attributes' DER with the SET OF tag, not [0].
        encoded = attrs.dump()
        digest = _digest(hash_oid, b"\x31" + encoded[1:])
    verify_signature(pub, hash_oid, digest, si["signature"].native)


def _signer_matches(si: cms.SignerInfo, info) -> bool:
    sid = si["sid"]
    if sid.name != "issuer_and_serial_number":
        ski = sid.chosen.native
        x = getattr(info, "x509", None)
        if x is None:
            return False
        from cryptography import x509 as cx509

        try:
            return x.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value.digest == ski
        except cx509.ExtensionNotFound:
            return False
    ias = sid.chosen
    x = getattr(info, "x509", None)
    if x is not None and not isinstance(info, CMSG_SIGNER_ENCODE_INFO):
        # A certificate context: its own issuer bytes and serial, no CERT_INFO to build.
        from capi.crypt32.chain import _name_ders

        return (ias["serial_number"].native == x.serial_number
                and ias["issuer"].dump() == _name_ders(info)[0])
    issuer, serial = _issuer_serial(_cert_info(info))
    return (ias["issuer"].dump() == issuer
            and ias["serial_number"].native == serial_int(serial))


def signer_cert_info(si: cms.SignerInfo):
    from capi.crypt32.context import CERT_INFO

    sid = si["sid"]
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        return CERT_INFO(0, _le(ias["serial_number"].native), "", ias["issuer"].dump(),
                         None, None, b"", b"")
    return CERT_INFO(0, b"", "", b"", None, None, b"", b"")


def signer_info_struct(si: cms.SignerInfo) -> CMSG_SIGNER_INFO:
    info = signer_cert_info(si)
    sa = si["signature_algorithm"]
    return CMSG_SIGNER_INFO(
        dwVersion=int(si["version"].native[1:]),
        Issuer=info.Issuer, SerialNumber=info.SerialNumber,
        HashAlgorithm=CRYPT_ALGORITHM_IDENTIFIER(si["digest_algorithm"]["algorithm"].dotted,
                                                 si["digest_algorithm"]["parameters"].dump()),
        HashEncryptionAlgorithm=CRYPT_ALGORITHM_IDENTIFIER(sa["algorithm"].dotted,
                                                           sa["parameters"].dump()),
        EncryptedHash=si["signature"].native,
        AuthAttrs=_attrs_from_cms(si["signed_attrs"]),
        UnauthAttrs=_attrs_from_cms(si["unsigned_attrs"]),
    )


# ---------------------------------------------------------------------------------------
# The message object
# ---------------------------------------------------------------------------------------


class HCRYPTMSG:
    """A cryptographic message handle (encode or decode), a context manager."""

    def __init__(self, encoding: int, flags: int, msg_type: int, stream: CMSG_STREAM_INFO | None):
        self.encoding = encoding
        self.flags = flags
        self.type = msg_type
        self.stream = stream
        self.detached = bool(flags & C.CMSG_DETACHED_FLAG)
        self.final = False
        self.parts: list[bytes] = []
        self._refs = 1
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._refs = 1
        CryptMsgClose(self)

    @property
    def streaming(self) -> bool:
        return self.stream is not None and self.stream.pfnStreamOutput is not None

    def _emit(self, data: bytes, final: bool) -> None:
        fn = self.stream.pfnStreamOutput if self.stream is not None else None
        if fn is None:
            # Wine msg.c test_data_msg_update: an empty stream info (no output function)
            # faults when the message has something to write.
            raise WinError(STATUS_ACCESS_VIOLATION, detail="no pfnStreamOutput")
        if not fn(self.stream.pvArg, bytes(data), bool(final)):
            raise WinError(CRYPT_E_MSG_ERROR, detail="the stream output callback failed")


# -- encoding ---------------------------------------------------------------------------------


class _EncodeMsg(HCRYPTMSG):
    decoding = False

    def content(self) -> bytes:
        return b"".join(self.parts)

    def bare(self) -> bytes:
        raise NotImplementedError

    def update(self, data: bytes | None, final: bool) -> None:
        if self.final:
            # Wine msg.c test_data_msg_update: every update after the final one.
            raise WinError(CRYPT_E_MSG_ERROR)
        if not final and not self.streaming and not self.detached:
            # Wine msg.c test_data_msg_update / test_hash_msg_update: a non-detached,
            # non-streamed message takes one final update.
            raise WinError(CRYPT_E_MSG_ERROR)
        self._update(data, final)

    def _update(self, data, final):
        self.parts.append(bytes(data or b""))
        self.final = final
        if final and self.streaming:
            self._emit(self.encoded(), True)

    def encoded(self) -> bytes:
        # CMSG_BARE_CONTENT_FLAG changes nothing for CONTENT_PARAM (Wine msg.c
        # test_data_msg_encoding, test_hash_msg_encoding: same bytes with the flag).
        body = self.bare()
        return _fseq(_foid(_TYPE_OIDS[self.type]), _tlv(0xA0, body))

    def get_param(self, param: int, index: int):
        if param in (C.CMSG_CONTENT_PARAM, C.CMSG_BARE_CONTENT_PARAM):
            if self.stream is not None:
                # Wine msg.c test_data_msg_get_param: not while streaming.
                raise WinError(E_INVALIDARG)
            return self.encoded() if param == C.CMSG_CONTENT_PARAM else self.bare()
        # Wine msg.c test_data_msg_get_param: the type of an encoded message is not
        # available, nor are parameters that do not apply.
        raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=f"param {param}")

    def control(self, ctrl, para):
        raise WinError(CRYPT_E_CONTROL_TYPE)


class _DataEncode(_EncodeMsg):
    def _update(self, data, final):
        if not final:
            if not self.streaming:
                # Wine msg.c test_data_msg_update: a detached data message takes no
                # non-final update.
                raise WinError(E_INVALIDARG)
        elif not data and not self.streaming:
            # Wine msg.c test_data_msg_update: a final update with no data is
            # E_INVALIDARG, and the message is final all the same.
            self.final = True
            raise WinError(E_INVALIDARG)
        data = bytes(data or b"")
        if self.streaming:
            self._stream_data(data, final)
        self.parts.append(data)
        self.final = final

    def _stream_data(self, data: bytes, final: bool) -> None:
        # Wine msg.c test_data_msg_encoding: a definite length (cbContent) is written as
        # the header with that length and then each update as it comes; an indefinite one
        # as BER constructed OCTET STRING pieces and end-of-contents octets.
        indefinite = self.stream.cbContent == C.CMSG_INDEFINITE_LENGTH
        if not self.parts:
            if indefinite:
                header = (b"\x30\x80" + D.oid(_DATA) + b"\xa0\x80\x24\x80")
            else:
                n = self.stream.cbContent
                octet_hdr = b"\x04" + _length(n)
                inner = b"\xa0" + _length(len(octet_hdr) + n)
                oid = D.oid(_DATA)
                total = len(oid) + len(inner) + len(octet_hdr) + n
                header = b"\x30" + _length(total) + oid + inner + octet_hdr
            self._emit(header, False)
        if indefinite:
            if data:
                self._emit(b"\x04" + _length(len(data)), False)
                self._emit(data, False)
            if final:
                self._emit(b"\x00" * 6, True)
        elif data or final:
            self._emit(data, final)

    def bare(self) -> bytes:
        return D.octets(self.content())


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


class _HashEncode(_EncodeMsg):
    def __init__(self, *a, info: CMSG_HASHED_ENCODE_INFO):
        super().__init__(*a)
        self.hash_oid = _hash_oid(info.HashAlgorithm)
        self.hash = _new_hash(self.hash_oid)
        self.digest_value: bytes | None = None
        self.updated = False

    def _update(self, data, final):
        if self.digest_value is not None:
            # Wine msg.c test_hash_msg_get_param: once the hash was read, no update.
            raise WinError(NTE_BAD_HASH_STATE)
        data = bytes(data or b"")
        self.hash.update(data)
        self.updated = True
        if not self.detached:
            self.parts.append(data)
        self.final = final
        # Wine msg.c test_hash_msg_encoding: streamed hashed messages never call the
        # output function.

    def computed(self) -> bytes:
        if self.digest_value is None:
            self.digest_value = self.hash.copy().finalize()
        return self.digest_value

    def bare(self) -> bytes:
        # Wine msg.c test_hash_msg_encoding: until an update the inner content type is
        # empty; the digest appears with the final update.
        alg = D.seq(D.oid(self.hash_oid), D.null())
        if not self.updated:
            inner = D.seq(D.oid(""))
        elif self.detached:
            inner = D.seq(D.oid(_DATA))
        else:
            inner = D.seq(D.oid(_DATA), D.explicit(0, D.octets(self.content())))
        digest = self.hash.copy().finalize() if self.final else b""
        return D.seq(D.integer(0), alg, inner, D.octets(digest))

    def get_param(self, param, index):
        if param == C.CMSG_COMPUTED_HASH_PARAM:
            return self.computed()
        if param == C.CMSG_VERSION_PARAM:
            return 0
        return super().get_param(param, index)


class _SignedEncode(_EncodeMsg):
    def __init__(self, *a, info: CMSG_SIGNED_ENCODE_INFO, inner: str | None):
        super().__init__(*a)
        for s in info.rgSigners:
            _validate_signer(s)
        self.info = info
        self.inner = inner or _DATA
        self._signer_infos: list | None = None

    def _update(self, data, final):
        self.parts.append(bytes(data or b""))
        self.final = final
        if final:
            self._signer_infos = None
            if self.streaming:
                self._emit(self.encoded(), True)

    def signer_infos(self) -> list:
        if self._signer_infos is None:
            content = self.content()
            self._signer_infos = [make_signer_info(s, content, self.inner)
                                  for s in self.info.rgSigners]
        return self._signer_infos

    def bare(self) -> bytes:
        """SignedData DER: version 1, the signers' digest algorithms, the encapsulated
        content (none when detached or before any update), the certificates [0] and
        CRLs [1] as given, the SignerInfos (after the final update)."""
        algs = list(dict.fromkeys(_hash_oid(s.HashAlgorithm) for s in self.info.rgSigners))
        encap = [_foid(self.inner)]
        if not self.detached and (self.final or self.parts):
            encap.append(_tlv(0xA0, _tlv(0x04, self.content())))
        parts = [_fint(1), _fset((_fseq(_foid(a), _FNULL) for a in algs), sort=True),
                 _fseq(*encap)]
        if self.info.rgCertEncoded:
            parts.append(_tlv(0xA0, b"".join(bytes(c) for c in self.info.rgCertEncoded)))
        if self.info.rgCrlEncoded:
            parts.append(_tlv(0xA1, b"".join(bytes(c) for c in self.info.rgCrlEncoded)))
        # The SignerInfos keep the order of rgSigners (CMSG_SIGNER_INFO_PARAM indexes).
        parts.append(_fset(self.signer_infos() if self.final else [], sort=False))
        return _fseq(*parts)

    def get_param(self, param, index):
        if param == C.CMSG_COMPUTED_HASH_PARAM:
            signers = self.info.rgSigners
            if index >= len(signers):
                raise WinError(CRYPT_E_INVALID_INDEX)
            return _digest(_hash_oid(signers[index].HashAlgorithm), self.content())
        if param == C.CMSG_ENCODED_SIGNER:
            infos = self.signer_infos()
            if index >= len(infos):
                raise WinError(CRYPT_E_INVALID_INDEX)
            return infos[index]
        if param == C.CMSG_VERSION_PARAM:
            return 1
        return super().get_param(param, index)


class _EnvelopedEncode(_EncodeMsg):
    def __init__(self, *a, info: CMSG_ENVELOPED_ENCODE_INFO, inner: str | None):
        super().__init__(*a)
        oid = getattr(info.ContentEncryptionAlgorithm, "pszObjId", None)
        if oid not in CIPHERS:
            raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=f"content encryption {oid!r}")
        self.info = info
        self.inner = inner or _DATA
        self.cek = os.urandom(CIPHERS[oid][1])
        self._encoded: bytes | None = None

    def _update(self, data, final):
        self.parts.append(bytes(data or b""))
        self.final = final
        self._encoded = None
        if final and self.streaming:
            self._emit(self.encoded(), True)

    def bare(self) -> bytes:
        if self._encoded is None:
            self._encoded = envelope(self.content(), self.info, self.inner, self.cek).dump()
        return self._encoded


def envelope(content: bytes, info: CMSG_ENVELOPED_ENCODE_INFO, inner: str,
             cek: bytes | None = None) -> cms.EnvelopedData:
    """EnvelopedData: ``content`` encrypted with a fresh key, the key encrypted (RSA
    PKCS#1 v1.5) to each recipient's public key."""
    oid = info.ContentEncryptionAlgorithm.pszObjId
    cipher_cls, key_len = CIPHERS[oid]
    cek = cek or os.urandom(key_len)
    block = cipher_cls.block_size // 8
    iv = os.urandom(block)
    padder = padding.PKCS7(cipher_cls.block_size).padder()
    padded = padder.update(content) + padder.finalize()
    enc = Cipher(cipher_cls(cek), modes.CBC(iv)).encryptor()
    encrypted = enc.update(padded) + enc.finalize()
    recipients = []
    for r in info.rgpRecipients:
        rinfo = _cert_info(r)
        pub = _public_key_of(rinfo) if not hasattr(r, "x509") else r.x509.public_key()
        if not isinstance(pub, rsa.RSAPublicKey):
            raise WinError(CRYPT_E_UNKNOWN_ALGO, detail="recipient key is not RSA")
        issuer, serial = _issuer_serial(rinfo)
        recipients.append(cms.RecipientInfo({"ktri": {
            "version": "v0",
            "rid": {"issuer_and_serial_number": _ias(issuer, serial)},
            "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15",
                                         "parameters": asn1_core.Null()},
            "encrypted_key": pub.encrypt(cek, asym_padding.PKCS1v15()),
        }}))
    return cms.EnvelopedData({
        "version": "v0",
        "recipient_infos": recipients,
        "encrypted_content_info": {
            "content_type": inner,
            "content_encryption_algorithm": {"algorithm": oid,
                                             "parameters": asn1_core.OctetString(iv)},
            "encrypted_content": encrypted,
        },
    })


def decrypt_content(eci, cek: bytes) -> bytes:
    alg = eci["content_encryption_algorithm"]
    oid = alg["algorithm"].dotted
    if oid not in CIPHERS:
        raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=oid)
    cipher_cls, key_len = CIPHERS[oid]
    if len(cek) != key_len:
        raise WinError(NTE_BAD_DATA, detail="content-encryption key length")
    iv = alg["parameters"].native
    data = eci["encrypted_content"].native or b""
    try:
        dec = Cipher(cipher_cls(cek), modes.CBC(iv)).decryptor()
        padded = dec.update(data) + dec.finalize()
        unpadder = padding.PKCS7(cipher_cls.block_size).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise WinError(NTE_BAD_DATA, detail="content does not decrypt") from None


# -- decoding ---------------------------------------------------------------------------------


def parse_content_info(data: bytes, expected: int = 0):
    """(message type, asn1crypto content) of an encoded PKCS#7 ContentInfo."""
    if not data:
        raise WinError(CRYPT_E_ASN1_EOD)
    try:
        info = cms.ContentInfo.load(bytes(data))
        oid = info["content_type"].dotted
        msg_type = _OID_TYPES.get(oid)
        if msg_type is None or msg_type in (C.CMSG_SIGNED_AND_ENVELOPED, C.CMSG_ENCRYPTED):
            raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=oid)
        if expected and expected != msg_type:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=f"{oid} is not type {expected}")
        content = info["content"]
        # Parse what every parameter needs now: errors belong to the update. Embedded
        # certificates stay raw until asked for (Windows carries what it was given).
        if msg_type == C.CMSG_SIGNED:
            # The outline only; a damaged signer surfaces (as CRYPT_E_ASN1_BADTAG) when a
            # parameter or control reads it.
            encap = content["encap_content_info"]
            _ = (encap["content_type"].dotted, len(content["signer_infos"]))
        else:
            _ = content.native
        return msg_type, content
    except WinError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from None


class _DecodeMsg(HCRYPTMSG):
    decoding = True

    def __init__(self, *a, recipient_info=None):
        super().__init__(*a)
        self.content_obj = None
        self.detached_content: list[bytes] = []
        self.decoded_type = 0
        self.plain: bytes | None = None
        self.recipient_index: int | None = None
        self.signed: cms.SignedData | None = None
        self._inner: bytes | None = None

    def update(self, data, final):
        if self.final and not self.detached:
            raise WinError(CRYPT_E_MSG_ERROR)
        data = bytes(data or b"")
        if self.content_obj is not None:
            if self.detached:
                # Detached signatures: the updates after the message are the content.
                self.detached_content.append(data)
                return
            raise WinError(CRYPT_E_MSG_ERROR)
        self.parts.append(data)
        if not final:
            return
        msg_type, content = parse_content_info(b"".join(self.parts),
                                               self.type if self.type in _TYPE_OIDS else 0)
        self.decoded_type = msg_type
        self.content_obj = content
        if msg_type == C.CMSG_SIGNED:
            self.signed = content
        self.final = True
        if self.streaming and msg_type != C.CMSG_ENVELOPED:
            self._emit(self.inner_content(), True)

    # -- params --------------------------------------------------------------------------

    def _ready(self):
        if self.content_obj is None:
            if self.streaming:
                raise WinError(CRYPT_E_STREAM_MSG_NOT_READY)
            raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail="nothing decoded yet")

    def inner_content(self) -> bytes:
        t = self.decoded_type
        c = self.content_obj
        if t == C.CMSG_DATA:
            return c.native or b""
        if t == C.CMSG_SIGNED:
            if self.detached_content:
                return b"".join(self.detached_content)
            if self._inner is None:
                self._inner = _inner_bytes(c["encap_content_info"]["content"])
            return self._inner
        if t == C.CMSG_HASHED:
            return _inner_bytes(c["encap_content_info"]["content"])
        if t == C.CMSG_ENVELOPED:
            if self.plain is None:
                raise WinError(CRYPT_E_NOT_DECRYPTED)
            return self.plain
        raise WinError(CRYPT_E_INVALID_MSG_TYPE)

    def _signers(self):
        if self.decoded_type != C.CMSG_SIGNED:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        return self.content_obj["signer_infos"]

    def _signer(self, index: int):
        signers = self._signers()
        if index >= len(signers):
            raise WinError(CRYPT_E_INVALID_INDEX)
        return signers[index]

    def _list(self, field_name: str):
        if self.decoded_type != C.CMSG_SIGNED:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        v = self.content_obj[field_name]
        if v is None or isinstance(v, asn1_core.Void):
            return []
        return list(v)

    def get_param(self, param: int, index: int):
        if param == C.CMSG_TYPE_PARAM:
            # Wine msg.c test_msg_get_param: the type of a decode message is always
            # available (0 when neither given nor decoded yet).
            return self.decoded_type or self.type
        self._ready()
        t = self.decoded_type
        c = self.content_obj
        if param == C.CMSG_CONTENT_PARAM:
            return self.inner_content()
        if param == C.CMSG_INNER_CONTENT_TYPE_PARAM:
            if t in (C.CMSG_SIGNED, C.CMSG_HASHED):
                return c["encap_content_info"]["content_type"].dotted
            if t == C.CMSG_ENVELOPED:
                return c["encrypted_content_info"]["content_type"].dotted
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        if param == C.CMSG_SIGNER_COUNT_PARAM:
            return len(self._signers())
        if param == C.CMSG_SIGNER_INFO_PARAM:
            return signer_info_struct(self._signer(index))
        if param == C.CMSG_SIGNER_CERT_INFO_PARAM:
            return signer_cert_info(self._signer(index))
        if param == C.CMSG_SIGNER_HASH_ALGORITHM_PARAM:
            si = self._signer(index)
            return CRYPT_ALGORITHM_IDENTIFIER(si["digest_algorithm"]["algorithm"].dotted,
                                              si["digest_algorithm"]["parameters"].dump())
        if param == C.CMSG_SIGNER_AUTH_ATTR_PARAM:
            return _attrs_from_cms(self._signer(index)["signed_attrs"])
        if param == C.CMSG_SIGNER_UNAUTH_ATTR_PARAM:
            return _attrs_from_cms(self._signer(index)["unsigned_attrs"])
        if param == C.CMSG_ENCRYPTED_DIGEST:
            return self._signer(index)["signature"].native
        if param == C.CMSG_ENCODED_SIGNER:
            return self._signer(index).dump()
        if param == C.CMSG_CERT_COUNT_PARAM:
            return len(self._list("certificates"))
        if param == C.CMSG_CERT_PARAM:
            certs = self._list("certificates")
            if index >= len(certs):
                raise WinError(CRYPT_E_INVALID_INDEX)
            return certs[index].dump()
        if param == C.CMSG_CRL_COUNT_PARAM:
            return len(self._list("crls"))
        if param == C.CMSG_CRL_PARAM:
            crls = self._list("crls")
            if index >= len(crls):
                raise WinError(CRYPT_E_INVALID_INDEX)
            return crls[index].chosen.dump()
        if param == C.CMSG_COMPUTED_HASH_PARAM:
            if t == C.CMSG_HASHED:
                oid = c["digest_algorithm"]["algorithm"].dotted
                if oid not in HASHES:
                    raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=oid)
                return _digest(oid, self.inner_content())
            if t == C.CMSG_SIGNED:
                return _digest(signer_hash_oid(self._signer(index)), self.inner_content())
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        if param == C.CMSG_HASH_ALGORITHM_PARAM:
            if t != C.CMSG_HASHED:
                raise WinError(CRYPT_E_INVALID_MSG_TYPE)
            a = c["digest_algorithm"]
            return CRYPT_ALGORITHM_IDENTIFIER(a["algorithm"].dotted, a["parameters"].dump())
        if param == C.CMSG_HASH_DATA_PARAM:
            if t != C.CMSG_HASHED:
                raise WinError(CRYPT_E_INVALID_MSG_TYPE)
            return c["digest"].native
        if param == C.CMSG_RECIPIENT_COUNT_PARAM:
            return len(self._recipients())
        if param == C.CMSG_RECIPIENT_INFO_PARAM:
            recips = self._recipients()
            if index >= len(recips):
                raise WinError(CRYPT_E_INVALID_INDEX)
            return _recipient_cert_info(recips[index])
        if param == C.CMSG_RECIPIENT_INDEX_PARAM:
            if self.recipient_index is None:
                raise WinError(CRYPT_E_NOT_DECRYPTED)
            return self.recipient_index
        if param == C.CMSG_ENVELOPE_ALGORITHM_PARAM:
            if t != C.CMSG_ENVELOPED:
                raise WinError(CRYPT_E_INVALID_MSG_TYPE)
            a = c["encrypted_content_info"]["content_encryption_algorithm"]
            return CRYPT_ALGORITHM_IDENTIFIER(a["algorithm"].dotted, a["parameters"].dump())
        if param == C.CMSG_ENCODED_MESSAGE:
            return cms.ContentInfo({"content_type": _TYPE_OIDS[t], "content": c}).dump()
        if param == C.CMSG_VERSION_PARAM:
            return int(c["version"].native[1:]) if hasattr(c, "__getitem__") and \
                "version" in getattr(c, "_field_map", {}) else 0
        if param == C.CMSG_BARE_CONTENT_PARAM:
            return c.dump()
        raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=f"param {param}")

    def _recipients(self):
        if self.decoded_type != C.CMSG_ENVELOPED:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        return list(self.content_obj["recipient_infos"])

    # -- controls ------------------------------------------------------------------------

    def control(self, ctrl: int, para):
        self._ready()
        t = self.decoded_type
        if ctrl == C.CMSG_CTRL_VERIFY_SIGNATURE:
            return self._verify_with(para)
        if ctrl == C.CMSG_CTRL_VERIFY_SIGNATURE_EX:
            if not isinstance(para, CMSG_CTRL_VERIFY_SIGNATURE_EX_PARA):
                raise WinError(E_INVALIDARG)
            si = self._signer(para.dwSignerIndex)
            signer = para.pvSigner
            if para.dwSignerType == C.CMSG_VERIFY_SIGNER_PUBKEY:
                pub = _public_key_of(signer) if not isinstance(signer, (bytes, bytearray)) \
                    else load_der_public_key(bytes(signer))
            elif para.dwSignerType == C.CMSG_VERIFY_SIGNER_CERT:
                pub = signer.x509.public_key()
            else:
                raise WinError(E_INVALIDARG, detail=f"dwSignerType {para.dwSignerType}")
            check_signer(si, self.inner_content(), pub)
            return True
        if ctrl == C.CMSG_CTRL_DECRYPT:
            if t != C.CMSG_ENVELOPED:
                raise WinError(CRYPT_E_INVALID_MSG_TYPE)
            if self.plain is not None:
                raise WinError(CRYPT_E_ALREADY_DECRYPTED)
            if not isinstance(para, CMSG_CTRL_DECRYPT_PARA):
                raise WinError(E_INVALIDARG)
            recips = self._recipients()
            if para.dwRecipientIndex >= len(recips):
                raise WinError(CRYPT_E_INVALID_INDEX)
            ktri = recips[para.dwRecipientIndex].chosen
            cek = provider_decrypt_key(para.hCryptProv, para.dwKeySpec,
                                       ktri["encrypted_key"].native)
            self.plain = decrypt_content(self.content_obj["encrypted_content_info"], cek)
            self.recipient_index = para.dwRecipientIndex
            if self.streaming:
                self._emit(self.plain, True)
            return True
        if ctrl == C.CMSG_CTRL_VERIFY_HASH:
            if t != C.CMSG_HASHED:
                raise WinError(CRYPT_E_INVALID_MSG_TYPE)
            computed = self.get_param(C.CMSG_COMPUTED_HASH_PARAM, 0)
            if computed != self.content_obj["digest"].native:
                raise WinError(CRYPT_E_HASH_VALUE)
            return True
        if ctrl in (C.CMSG_CTRL_ADD_SIGNER, C.CMSG_CTRL_DEL_SIGNER, C.CMSG_CTRL_ADD_CERT,
                    C.CMSG_CTRL_DEL_CERT, C.CMSG_CTRL_ADD_CRL, C.CMSG_CTRL_DEL_CRL):
            return self._edit(ctrl, para)
        raise WinError(CRYPT_E_CONTROL_TYPE, detail=f"control {ctrl}")

    def _verify_with(self, cert_info):
        signers = self._signers()
        if cert_info is None:
            raise WinError(E_INVALIDARG)
        is_ctx = hasattr(cert_info, "x509")
        info = cert_info if is_ctx else _cert_info(cert_info)
        for si in signers:
            if _signer_matches(si, info):
                pub = cert_info.x509.public_key() if is_ctx else _public_key_of(info)
                check_signer(si, self.inner_content(), pub)
                return True
        raise WinError(CRYPT_E_SIGNER_NOT_FOUND)

    def _edit(self, ctrl, para):
        if self.decoded_type != C.CMSG_SIGNED:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        sd = self.content_obj
        if ctrl == C.CMSG_CTRL_ADD_SIGNER:
            _validate_signer(para)
            inner = sd["encap_content_info"]["content_type"].dotted
            new = cms.SignerInfo.load(make_signer_info(para, self.inner_content(), inner))
            sd["signer_infos"] = [*sd["signer_infos"], new]
            algs = {a["algorithm"].dotted for a in sd["digest_algorithms"]}
            oid = _hash_oid(para.HashAlgorithm)
            if oid not in algs:
                sd["digest_algorithms"] = [*sd["digest_algorithms"],
                                           {"algorithm": HASHES[oid][3],
                                            "parameters": asn1_core.Null()}]
        elif ctrl == C.CMSG_CTRL_DEL_SIGNER:
            signers = list(sd["signer_infos"])
            if not isinstance(para, int) or para >= len(signers):
                raise WinError(CRYPT_E_INVALID_INDEX)
            del signers[para]
            sd["signer_infos"] = signers
        elif ctrl in (C.CMSG_CTRL_ADD_CERT, C.CMSG_CTRL_ADD_CRL):
            name = "certificates" if ctrl == C.CMSG_CTRL_ADD_CERT else "crls"
            cls = cms.CertificateChoices if name == "certificates" else cms.RevocationInfoChoice
            try:
                item = cls.load(bytes(para))
                _ = item.native  # parse now
            except (ValueError, TypeError) as exc:
                raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from None
            sd[name] = [*self._list(name), item]
        else:
            name = "certificates" if ctrl == C.CMSG_CTRL_DEL_CERT else "crls"
            items = self._list(name)
            if not isinstance(para, int) or para >= len(items):
                raise WinError(CRYPT_E_INVALID_INDEX)
            del items[para]
            sd[name] = items or None
        return True


def _inner_bytes(v) -> bytes:
    if v is None or v.native is None:
        return b""
    parsed = v.parsed if hasattr(v, "parsed") else v
    if isinstance(parsed, asn1_core.OctetString):
        return parsed.native or b""
    native = v.native
    if isinstance(native, bytes):
        return native
    return v.contents or b""


def _recipient_cert_info(ri):
    from capi.crypt32.context import CERT_INFO

    rid = ri.chosen["rid"]
    if rid.name == "issuer_and_serial_number":
        ias = rid.chosen
        return CERT_INFO(0, _le(ias["serial_number"].native), "", ias["issuer"].dump(),
                         None, None, b"", b"")
    return CERT_INFO(0, b"", "", b"", None, None, b"", b"")


# ---------------------------------------------------------------------------------------
# Facade
# ---------------------------------------------------------------------------------------


def _check_msg_encoding(enc: int) -> None:
    # Wine msg.c test_msg_open_to_encode / _decode: without PKCS_7_ASN_ENCODING ->
    # E_INVALIDARG.
    if not (enc or 0) & C.PKCS_7_ASN_ENCODING:
        raise WinError(E_INVALIDARG, detail=f"encoding 0x{(enc or 0) & 0xFFFFFFFF:08X}")


@winapi
def CryptMsgOpenToEncode(dwMsgEncodingType: int, dwFlags: int, dwMsgType: int,
                         pvMsgEncodeInfo=None, pszInnerContentObjID: str | None = None,
                         pStreamInfo: CMSG_STREAM_INFO | None = None) -> HCRYPTMSG:
    """CryptMsgOpenToEncode -> HCRYPTMSG for CMSG_DATA (no encode info), CMSG_HASHED
    (CMSG_HASHED_ENCODE_INFO), CMSG_SIGNED (CMSG_SIGNED_ENCODE_INFO) or CMSG_ENVELOPED
    (CMSG_ENVELOPED_ENCODE_INFO).

    E_INVALIDARG without PKCS_7_ASN_ENCODING or with encode info of the wrong kind (or
    any for CMSG_DATA); CRYPT_E_INVALID_MSG_TYPE for other types (SIGNED_AND_ENVELOPED,
    ENCRYPTED); CRYPT_E_UNKNOWN_ALGO for a hash or cipher it does not know (Wine msg.c
    test_msg_open_to_encode, test_data_msg_open, test_hash_msg_open,
    test_signed_msg_open)."""
    _check_msg_encoding(dwMsgEncodingType)
    flags = dwFlags & 0xFFFFFFFF
    args = (dwMsgEncodingType, flags, dwMsgType, pStreamInfo)
    if dwMsgType == C.CMSG_DATA:
        if pvMsgEncodeInfo is not None:
            raise WinError(E_INVALIDARG, detail="CMSG_DATA takes no encode info")
        return _DataEncode(*args)
    if dwMsgType == C.CMSG_HASHED:
        if not isinstance(pvMsgEncodeInfo, CMSG_HASHED_ENCODE_INFO):
            raise WinError(E_INVALIDARG)
        return _HashEncode(*args, info=pvMsgEncodeInfo)
    if dwMsgType == C.CMSG_SIGNED:
        if not isinstance(pvMsgEncodeInfo, CMSG_SIGNED_ENCODE_INFO):
            raise WinError(E_INVALIDARG)
        return _SignedEncode(*args, info=pvMsgEncodeInfo, inner=pszInnerContentObjID)
    if dwMsgType == C.CMSG_ENVELOPED:
        if not isinstance(pvMsgEncodeInfo, CMSG_ENVELOPED_ENCODE_INFO):
            raise WinError(E_INVALIDARG)
        return _EnvelopedEncode(*args, info=pvMsgEncodeInfo, inner=pszInnerContentObjID)
    raise WinError(CRYPT_E_INVALID_MSG_TYPE, detail=f"message type {dwMsgType}")


@winapi
def CryptMsgOpenToDecode(dwMsgEncodingType: int, dwFlags: int, dwMsgType: int,
                         hCryptProv=None, pRecipientInfo=None,
                         pStreamInfo: CMSG_STREAM_INFO | None = None) -> HCRYPTMSG:
    """CryptMsgOpenToDecode -> HCRYPTMSG. Any message type is accepted (0: found from
    the message); E_INVALIDARG without PKCS_7_ASN_ENCODING (Wine msg.c
    test_msg_open_to_decode). With CMSG_DETACHED_FLAG the updates after the message are
    its detached content."""
    _check_msg_encoding(dwMsgEncodingType)
    return _DecodeMsg(dwMsgEncodingType, dwFlags & 0xFFFFFFFF, dwMsgType & 0xFFFFFFFF,
                      pStreamInfo, recipient_info=pRecipientInfo)


def _msg(h) -> HCRYPTMSG:
    if not isinstance(h, HCRYPTMSG) or h._closed:
        raise WinError(E_INVALIDARG, detail="not a message handle")
    return h


def _decoding_errors(fn, *args):
    """Run ``fn``; a structure of the decoded message that does not parse is
    CRYPT_E_ASN1_BADTAG (asn1crypto parses lazily, on first access)."""
    try:
        return fn(*args)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from None


@winapi
def CryptMsgUpdate(hCryptMsg, pbData: bytes | None, fFinal: bool) -> bool:
    """CryptMsgUpdate: add content (encode) or encoded bytes (decode). CRYPT_E_MSG_ERROR
    after the final update or for a non-final update a message cannot take;
    E_INVALIDARG for an empty final update of a data message; NTE_BAD_HASH_STATE once a
    hashed message's hash was read; decoding errors (CRYPT_E_ASN1_*,
    CRYPT_E_INVALID_MSG_TYPE) on the final update."""
    _msg(hCryptMsg).update(pbData, bool(fFinal))
    return True


@winapi
def CryptMsgGetParam(hCryptMsg, dwParamType: int, dwIndex: int = 0):
    """CryptMsgGetParam -> bytes, int, str or a structure (CMSG_SIGNER_INFO, CERT_INFO,
    CRYPT_ALGORITHM_IDENTIFIER, CRYPT_ATTRIBUTES). CRYPT_E_INVALID_MSG_TYPE for a
    parameter the message does not have, CRYPT_E_INVALID_INDEX for an index past the
    end, CRYPT_E_STREAM_MSG_NOT_READY while a streamed decode has not seen the message,
    E_INVALIDARG for the content of a streamed encode."""
    return _decoding_errors(_msg(hCryptMsg).get_param, dwParamType, dwIndex)


@winapi
def CryptMsgControl(hCryptMsg, dwFlags: int, dwCtrlType: int, pvCtrlPara=None) -> bool:
    """CryptMsgControl: CMSG_CTRL_VERIFY_SIGNATURE (a CERT_INFO or certificate context),
    _EX (CMSG_CTRL_VERIFY_SIGNATURE_EX_PARA), CMSG_CTRL_DECRYPT (CMSG_CTRL_DECRYPT_PARA;
    the key decrypts through its provider), CMSG_CTRL_VERIFY_HASH, ADD/DEL_SIGNER,
    ADD/DEL_CERT, ADD/DEL_CRL. Raises CRYPT_E_CONTROL_TYPE for an unknown control or one
    on an encode message, CRYPT_E_SIGNER_NOT_FOUND, CRYPT_E_HASH_VALUE,
    NTE_BAD_SIGNATURE, CRYPT_E_INVALID_INDEX, CRYPT_E_ALREADY_DECRYPTED."""
    return _decoding_errors(_msg(hCryptMsg).control, dwCtrlType, pvCtrlPara)


def CryptMsgClose(hCryptMsg) -> bool:
    """CryptMsgClose; NULL succeeds (Wine msg.c test_msg_close)."""
    if hCryptMsg is None:
        return True
    if isinstance(hCryptMsg, HCRYPTMSG):
        hCryptMsg._refs -= 1
        if hCryptMsg._refs <= 0:
            hCryptMsg._closed = True
    return True


def CryptMsgDuplicate(hCryptMsg):
    """CryptMsgDuplicate: the same handle, one more reference (NULL -> NULL)."""
    if isinstance(hCryptMsg, HCRYPTMSG):
        hCryptMsg._refs += 1
    return hCryptMsg


__all__ = [
    "CMSG_SIGNER_ENCODE_INFO", "CMSG_SIGNED_ENCODE_INFO", "CMSG_HASHED_ENCODE_INFO",
    "CMSG_ENVELOPED_ENCODE_INFO", "CMSG_STREAM_INFO", "CMSG_CTRL_DECRYPT_PARA",
    "CMSG_CTRL_VERIFY_SIGNATURE_EX_PARA", "HCRYPTMSG", "CryptMsgOpenToEncode",
    "CryptMsgOpenToDecode", "CryptMsgUpdate", "CryptMsgGetParam", "CryptMsgControl",
    "CryptMsgClose", "CryptMsgDuplicate",
]


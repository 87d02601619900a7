"""The simplified message functions (Wine: dlls/crypt32/message.c): CryptSignMessage,
CryptVerifyMessageSignature, CryptVerifyDetachedMessageSignature, CryptHashMessage,
CryptVerifyMessageHash, CryptVerifyDetachedMessageHash, CryptEncryptMessage,
CryptDecryptMessage, CryptGetMessageSignerCount — each one a short run of the
low-level CryptMsg* calls in :mod:`capi.crypt32.msg`, as on Windows.

The signing and decryption keys are acquired with CryptAcquireCertificatePrivateKey
(CNG keys allowed) and used through their provider; they never leave it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from capi import constants as C
from capi.crypt32.msg import (
    CMSG_CTRL_DECRYPT_PARA,
    CMSG_ENVELOPED_ENCODE_INFO,
    CMSG_HASHED_ENCODE_INFO,
    CMSG_SIGNED_ENCODE_INFO,
    CMSG_SIGNER_ENCODE_INFO,
    CryptMsgControl,
    CryptMsgGetParam,
    CryptMsgOpenToDecode,
    CryptMsgOpenToEncode,
    CryptMsgUpdate,
    parse_content_info,
    serial_int,
)
from capi.crypt32.structs import CRYPT_ALGORITHM_IDENTIFIER
from capi.errors import (
    CRYPT_E_ASN1_EOD,
    CRYPT_E_HASH_VALUE,
    CRYPT_E_INVALID_MSG_TYPE,
    CRYPT_E_NO_DECRYPT_CERT,
    CRYPT_E_NO_SIGNER,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_UNEXPECTED_MSG_TYPE,
    E_INVALIDARG,
    SetLastError,
    WinError,
    winapi,
)

# The key handle is cached on the certificate context (CERT_KEY_CONTEXT_PROP_ID, a
# volatile property), so a certificate that signs repeatedly opens its key once.
_ACQUIRE = C.CRYPT_ACQUIRE_CACHE_FLAG | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG


@dataclass
class CRYPT_SIGN_MESSAGE_PARA:
    dwMsgEncodingType: int = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
    pSigningCert: Any = None
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvHashAuxInfo: Any = None
    rgpMsgCert: list = field(default_factory=list)
    rgpMsgCrl: list = field(default_factory=list)
    rgAuthAttr: list = field(default_factory=list)
    rgUnauthAttr: list = field(default_factory=list)
    dwFlags: int = 0
    dwInnerContentType: int = 0


@dataclass
class CRYPT_VERIFY_MESSAGE_PARA:
    """``pfnGetSignerCertificate(pvGetArg, dwCertEncodingType, pSignerId, hMsgCertStore)
    -> certificate context or None``; None looks the signer up in the message's
    certificates."""

    dwMsgAndCertEncodingType: int = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
    hCryptProv: Any = None
    pfnGetSignerCertificate: Callable | None = None
    pvGetArg: Any = None


@dataclass
class CRYPT_HASH_MESSAGE_PARA:
    dwMsgEncodingType: int = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
    hCryptProv: Any = None
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvHashAuxInfo: Any = None


@dataclass
class CRYPT_ENCRYPT_MESSAGE_PARA:
    dwMsgEncodingType: int = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
    hCryptProv: Any = None
    ContentEncryptionAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    pvEncryptionAuxInfo: Any = None
    dwFlags: int = 0
    dwInnerContentType: int = 0


@dataclass
class CRYPT_DECRYPT_MESSAGE_PARA:
    dwMsgAndCertEncodingType: int = C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING
    rghCertStore: list = field(default_factory=list)
    dwFlags: int = 0


def _msg_encoding(enc: int) -> int:
    if not (enc or 0) & C.PKCS_7_ASN_ENCODING:
        raise WinError(E_INVALIDARG, detail="no PKCS_7_ASN_ENCODING")
    return enc


def _blob(data) -> bytes:
    if not data:
        raise WinError(CRYPT_E_ASN1_EOD)
    return bytes(data)


# ---------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------


@winapi
def CryptSignMessage(pSignPara: CRYPT_SIGN_MESSAGE_PARA, fDetachedSignature: bool,
                     rgpbToBeSigned: list) -> bytes:
    """CryptSignMessage -> the encoded PKCS#7 SignedData over the concatenated
    ``rgpbToBeSigned`` (detached: without the content). The signing certificate's key is
    acquired with CryptAcquireCertificatePrivateKey (CNG keys allowed) and signs through
    its provider. E_INVALIDARG for a missing para or an encoding without
    PKCS_7_ASN_ENCODING; CRYPT_E_UNKNOWN_ALGO for the hash; CRYPT_E_NO_KEY_PROPERTY when
    the certificate has no key."""
    from capi.crypt32.keyacquire import acquire_private_key

    if not isinstance(pSignPara, CRYPT_SIGN_MESSAGE_PARA):
        raise WinError(E_INVALIDARG)
    enc = _msg_encoding(pSignPara.dwMsgEncodingType)
    signers = []
    acquired = None
    if pSignPara.pSigningCert is not None:
        acquired = acquire_private_key(pSignPara.pSigningCert, _ACQUIRE)
        signers.append(CMSG_SIGNER_ENCODE_INFO(
            pSignPara.pSigningCert, acquired.handle, acquired.key_spec,
            pSignPara.HashAlgorithm, pSignPara.pvHashAuxInfo, list(pSignPara.rgAuthAttr),
            list(pSignPara.rgUnauthAttr)))
    try:
        info = CMSG_SIGNED_ENCODE_INFO(
            signers, [c.pbCertEncoded for c in pSignPara.rgpMsgCert],
            [c.pbCrlEncoded for c in pSignPara.rgpMsgCrl])
        flags = C.CMSG_DETACHED_FLAG if fDetachedSignature else 0
        msg = CryptMsgOpenToEncode(enc, flags, C.CMSG_SIGNED, info, None, None)
        parts = [bytes(p) for p in rgpbToBeSigned or ()]
        if fDetachedSignature:
            for p in parts[:-1]:
                CryptMsgUpdate(msg, p, False)
            CryptMsgUpdate(msg, parts[-1] if parts else b"", True)
        else:
            CryptMsgUpdate(msg, b"".join(parts), True)
        return CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0)
    finally:
        if acquired is not None:
            acquired.release()


def _message_store(msg):
    """The message's certificates as a memory store (what Windows passes to
    pfnGetSignerCertificate as hMsgCertStore)."""
    from capi.crypt32.store_kinds import MemoryStore, _add_with_disposition

    store = MemoryStore()
    for i in range(CryptMsgGetParam(msg, C.CMSG_CERT_COUNT_PARAM, 0)):
        der = CryptMsgGetParam(msg, C.CMSG_CERT_PARAM, i)
        try:
            _add_with_disposition(store, der, {}, C.X509_ASN_ENCODING, C.CERT_STORE_ADD_ALWAYS)
        except WinError:
            continue  # a certificate that does not decode is not a candidate signer
    return store


def _find_signer_cert(msg, signer_id):
    """The message certificate named by ``signer_id`` (issuer and serial number), found
    on the raw certificates so that only the match becomes a context."""
    from capi.crypt32.chain import _name_ders
    from capi.crypt32.store_kinds import MemoryStore, _add_with_disposition

    wanted_serial = serial_int(signer_id.SerialNumber)
    for i in range(CryptMsgGetParam(msg, C.CMSG_CERT_COUNT_PARAM, 0)):
        der = CryptMsgGetParam(msg, C.CMSG_CERT_PARAM, i)
        try:
            store = MemoryStore()
            ctx = _add_with_disposition(store, der, {}, C.X509_ASN_ENCODING,
                                        C.CERT_STORE_ADD_ALWAYS)
            if ctx.x509.serial_number == wanted_serial and \
                    _name_ders(ctx)[0] == signer_id.Issuer:
                return ctx
        except (WinError, ValueError):
            continue
    return None


def _signer_cert(para: CRYPT_VERIFY_MESSAGE_PARA, msg, index: int):
    count = CryptMsgGetParam(msg, C.CMSG_SIGNER_COUNT_PARAM, 0)
    if index >= count:
        raise WinError(CRYPT_E_NO_SIGNER)
    signer_id = CryptMsgGetParam(msg, C.CMSG_SIGNER_CERT_INFO_PARAM, index)
    if para.pfnGetSignerCertificate is not None:
        cert = para.pfnGetSignerCertificate(para.pvGetArg, para.dwMsgAndCertEncodingType,
                                            signer_id, _message_store(msg))
    else:
        cert = _find_signer_cert(msg, signer_id)
    if cert is None:
        # Wine message.c test_verify_message_signature: no signer certificate ->
        # CRYPT_E_NOT_FOUND.
        raise WinError(CRYPT_E_NOT_FOUND, detail="signer certificate")
    return cert


def _same_serial(a: bytes, b: bytes) -> bool:
    return serial_int(a) == serial_int(b)


def _verify_para(para) -> CRYPT_VERIFY_MESSAGE_PARA:
    # Wine message.c test_verify_message_signature: no para, or no PKCS_7_ASN_ENCODING ->
    # E_INVALIDARG.
    if not isinstance(para, CRYPT_VERIFY_MESSAGE_PARA):
        raise WinError(E_INVALIDARG)
    _msg_encoding(para.dwMsgAndCertEncodingType)
    return para


def _decode_signed(enc: int, blob: bytes, flags: int = 0):
    msg = CryptMsgOpenToDecode(enc, flags, 0, None, None, None)
    try:
        CryptMsgUpdate(msg, blob, True)
    except WinError as exc:
        if exc.hresult == CRYPT_E_INVALID_MSG_TYPE:
            raise WinError(CRYPT_E_UNEXPECTED_MSG_TYPE) from None
        raise
    if msg.decoded_type != C.CMSG_SIGNED:
        # Wine message.c test_verify_message_signature: a data message ->
        # CRYPT_E_UNEXPECTED_MSG_TYPE.
        raise WinError(CRYPT_E_UNEXPECTED_MSG_TYPE)
    return msg


@winapi
def CryptVerifyMessageSignature(pVerifyPara: CRYPT_VERIFY_MESSAGE_PARA, dwSignerIndex: int,
                                pbSignedBlob: bytes):
    """CryptVerifyMessageSignature -> (pbDecoded, pSignerCert). E_INVALIDARG (no para,
    no PKCS_7_ASN_ENCODING), CRYPT_E_ASN1_EOD (no blob), CRYPT_E_ASN1_BADTAG,
    CRYPT_E_UNEXPECTED_MSG_TYPE (not a signed message), CRYPT_E_NO_SIGNER (no signer at
    that index), CRYPT_E_NOT_FOUND (the signer's certificate is not in the message),
    CRYPT_E_HASH_VALUE / NTE_BAD_SIGNATURE (Wine message.c
    test_verify_message_signature)."""
    para = _verify_para(pVerifyPara)
    blob = _blob(pbSignedBlob)
    msg = _decode_signed(para.dwMsgAndCertEncodingType, blob)
    cert = _signer_cert(para, msg, dwSignerIndex)
    CryptMsgControl(msg, 0, C.CMSG_CTRL_VERIFY_SIGNATURE, cert)
    return CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0), cert


@winapi
def CryptVerifyDetachedMessageSignature(pVerifyPara: CRYPT_VERIFY_MESSAGE_PARA,
                                        dwSignerIndex: int, pbDetachedSignBlob: bytes,
                                        rgpbToBeSigned: list):
    """CryptVerifyDetachedMessageSignature -> pSignerCert. The content is the
    concatenation of ``rgpbToBeSigned``; other content fails with NTE_BAD_SIGNATURE or
    CRYPT_E_HASH_VALUE (Wine message.c test_verify_detached_message_signature)."""
    para = _verify_para(pVerifyPara)
    blob = _blob(pbDetachedSignBlob)
    msg = _decode_signed(para.dwMsgAndCertEncodingType, blob, C.CMSG_DETACHED_FLAG)
    for part in rgpbToBeSigned or ():
        CryptMsgUpdate(msg, bytes(part), False)
    if not rgpbToBeSigned:
        msg.detached_content.append(b"")
    cert = _signer_cert(para, msg, dwSignerIndex)
    CryptMsgControl(msg, 0, C.CMSG_CTRL_VERIFY_SIGNATURE, cert)
    return cert


def CryptGetMessageSignerCount(dwMsgEncodingType: int, pbSignedBlob: bytes) -> int:
    """CryptGetMessageSignerCount -> the number of signers, or -1 with the code in
    GetLastError(): E_INVALIDARG (no PKCS_7_ASN_ENCODING), CRYPT_E_ASN1_EOD (no blob),
    CRYPT_E_ASN1_BADTAG (not a ContentInfo), CRYPT_E_INVALID_MSG_TYPE (not signed)
    (Wine message.c test_msg_get_signer_count)."""
    try:
        _msg_encoding(dwMsgEncodingType)
        blob = _blob(pbSignedBlob)
        msg_type, content = parse_content_info(blob)
        if msg_type != C.CMSG_SIGNED:
            raise WinError(CRYPT_E_INVALID_MSG_TYPE)
        return len(content["signer_infos"])
    except WinError as exc:
        SetLastError(exc.winerror)
        return -1


# ---------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------


def _hash_para(para) -> CRYPT_HASH_MESSAGE_PARA:
    if not isinstance(para, CRYPT_HASH_MESSAGE_PARA):
        raise WinError(E_INVALIDARG)
    return para


@winapi
def CryptHashMessage(pHashPara: CRYPT_HASH_MESSAGE_PARA, fDetachedHash: bool,
                     rgpbToBeHashed: list):
    """CryptHashMessage -> (pbHashedBlob, pbComputedHash). CRYPT_E_UNKNOWN_ALGO for the
    hash algorithm (Wine message.c test_hash_message)."""
    para = _hash_para(pHashPara)
    enc = _msg_encoding(para.dwMsgEncodingType)
    info = CMSG_HASHED_ENCODE_INFO(para.hCryptProv, para.HashAlgorithm, para.pvHashAuxInfo)
    flags = C.CMSG_DETACHED_FLAG if fDetachedHash else 0
    msg = CryptMsgOpenToEncode(enc, flags, C.CMSG_HASHED, info, None, None)
    parts = [bytes(p) for p in rgpbToBeHashed or ()]
    if fDetachedHash:
        for p in parts:
            CryptMsgUpdate(msg, p, False)
        CryptMsgUpdate(msg, b"", True)
    else:
        CryptMsgUpdate(msg, b"".join(parts), True)
    blob = CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0)
    return blob, CryptMsgGetParam(msg, C.CMSG_COMPUTED_HASH_PARAM, 0)


@winapi
def CryptVerifyMessageHash(pHashPara: CRYPT_HASH_MESSAGE_PARA, pbHashedBlob: bytes):
    """CryptVerifyMessageHash -> (pbToBeHashed, pbComputedHash). E_INVALIDARG (no para or
    encoding), CRYPT_E_ASN1_EOD (no blob), CRYPT_E_HASH_VALUE when the content does not
    match (Wine message.c test_verify_message_hash)."""
    para = _hash_para(pHashPara)
    enc = _msg_encoding(para.dwMsgEncodingType)
    blob = _blob(pbHashedBlob)
    msg = CryptMsgOpenToDecode(enc, 0, C.CMSG_HASHED, None, None, None)
    CryptMsgUpdate(msg, blob, True)
    CryptMsgControl(msg, 0, C.CMSG_CTRL_VERIFY_HASH, None)
    return (CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0),
            CryptMsgGetParam(msg, C.CMSG_COMPUTED_HASH_PARAM, 0))


@winapi
def CryptVerifyDetachedMessageHash(pHashPara: CRYPT_HASH_MESSAGE_PARA,
                                   pbDetachedHashBlob: bytes, rgpbToBeHashed: list) -> bytes:
    """CryptVerifyDetachedMessageHash -> pbComputedHash. CRYPT_E_HASH_VALUE when the data
    is not the content the hash was made over (Wine message.c
    test_verify_detached_message_hash)."""
    para = _hash_para(pHashPara)
    _msg_encoding(para.dwMsgEncodingType)
    blob = _blob(pbDetachedHashBlob)
    msg_type, content = parse_content_info(blob, C.CMSG_HASHED)
    from capi.crypt32.msg import HASHES, _digest

    oid = content["digest_algorithm"]["algorithm"].dotted
    if oid not in HASHES:
        from capi.errors import CRYPT_E_UNKNOWN_ALGO

        raise WinError(CRYPT_E_UNKNOWN_ALGO, detail=oid)
    computed = _digest(oid, b"".join(bytes(p) for p in rgpbToBeHashed or ()))
    if computed != content["digest"].native:
        raise WinError(CRYPT_E_HASH_VALUE)

    return computed


# ---------------------------------------------------------------------------------------
# Encryption
# ---------------------------------------------------------------------------------------


@winapi
def CryptEncryptMessage(pEncryptPara: CRYPT_ENCRYPT_MESSAGE_PARA, rgpRecipientCert: list,
                        pbToBeEncrypted: bytes) -> bytes:
    """CryptEncryptMessage -> an encoded EnvelopedData for the recipients' RSA keys.
    E_INVALIDARG for a missing para or encoding, CRYPT_E_UNKNOWN_ALGO for a content
    cipher other than 3DES/AES-CBC."""
    if not isinstance(pEncryptPara, CRYPT_ENCRYPT_MESSAGE_PARA):
        raise WinError(E_INVALIDARG)
    enc = _msg_encoding(pEncryptPara.dwMsgEncodingType)
    info = CMSG_ENVELOPED_ENCODE_INFO(pEncryptPara.hCryptProv,
                                      pEncryptPara.ContentEncryptionAlgorithm,
                                      pEncryptPara.pvEncryptionAuxInfo,
                                      list(rgpRecipientCert or ()))
    msg = CryptMsgOpenToEncode(enc, 0, C.CMSG_ENVELOPED, info, None, None)
    CryptMsgUpdate(msg, bytes(pbToBeEncrypted or b""), True)
    return CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0)


@winapi
def CryptDecryptMessage(pDecryptPara: CRYPT_DECRYPT_MESSAGE_PARA, pbEncryptedBlob: bytes):
    """CryptDecryptMessage -> (pbDecrypted, pXchgCert): the first recipient whose
    certificate (with a private key) is in one of ``rghCertStore`` decrypts the message
    through its key's provider. CRYPT_E_NO_DECRYPT_CERT when none is;
    CRYPT_E_UNEXPECTED_MSG_TYPE for a message that is not enveloped."""
    from capi.crypt32.keyacquire import acquire_private_key

    if not isinstance(pDecryptPara, CRYPT_DECRYPT_MESSAGE_PARA):
        raise WinError(E_INVALIDARG)
    enc = _msg_encoding(pDecryptPara.dwMsgAndCertEncodingType)
    blob = _blob(pbEncryptedBlob)
    msg_type, _c = parse_content_info(blob)
    if msg_type != C.CMSG_ENVELOPED:
        raise WinError(CRYPT_E_UNEXPECTED_MSG_TYPE)
    msg = CryptMsgOpenToDecode(enc, 0, C.CMSG_ENVELOPED, None, None, None)
    CryptMsgUpdate(msg, blob, True)
    count = CryptMsgGetParam(msg, C.CMSG_RECIPIENT_COUNT_PARAM, 0)
    for index in range(count):
        rid = CryptMsgGetParam(msg, C.CMSG_RECIPIENT_INFO_PARAM, index)
        for store in pDecryptPara.rghCertStore or ():
            for cert in store:
                info = cert.pCertInfo
                if info.Issuer != rid.Issuer or not _same_serial(info.SerialNumber,
                                                                 rid.SerialNumber):
                    continue
                try:
                    acquired = acquire_private_key(cert, _ACQUIRE)
                except WinError:
                    continue
                try:
                    CryptMsgControl(msg, 0, C.CMSG_CTRL_DECRYPT, CMSG_CTRL_DECRYPT_PARA(
                        acquired.handle, acquired.key_spec, index))
                finally:
                    acquired.release()
                return CryptMsgGetParam(msg, C.CMSG_CONTENT_PARAM, 0), cert
    raise WinError(CRYPT_E_NO_DECRYPT_CERT)


__all__ = [
    "CRYPT_SIGN_MESSAGE_PARA", "CRYPT_VERIFY_MESSAGE_PARA", "CRYPT_HASH_MESSAGE_PARA",
    "CRYPT_ENCRYPT_MESSAGE_PARA", "CRYPT_DECRYPT_MESSAGE_PARA", "CryptSignMessage",
    "CryptVerifyMessageSignature", "CryptVerifyDetachedMessageSignature",
    "CryptGetMessageSignerCount", "CryptHashMessage", "CryptVerifyMessageHash",
    "CryptVerifyDetachedMessageHash", "CryptEncryptMessage", "CryptDecryptMessage",
]



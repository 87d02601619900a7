"""crypt32's certificate helpers: signing and verifying certificates, public key info,
hashes, comparisons, enhanced key usage, and the finder functions (Wine: dlls/crypt32/
cert.c, encode.c). The certificate-context functions are in ``cert``.

Signatures are verified over the *outer* signature algorithm and the to-be-signed bytes
exactly as encoded, as Windows' CryptVerifyCertificateSignatureEx does: an RSA
AlgorithmIdentifier without its NULL parameter verifies, and so does a certificate whose
inner and outer algorithm identifiers differ only in that parameter (``cryptography``'s
``verify_directly_issued_by`` refuses both). Private-key operations go through the
provider's handle (CryptSignHash or NCryptSignHash), so a key on a token never leaves it.
"""

from __future__ import annotations

import datetime
import os
import uuid
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa

from capi import constants as C
from capi.crypt32 import _der as D
from capi.crypt32.context import CERT_EXTENSION, CERT_INFO, CRYPT_KEY_PROV_INFO, CertContext
from capi.crypt32.structs import (
    CERT_ENHKEY_USAGE,
    CERT_PUBLIC_KEY_INFO,
    CERT_SIGNED_CONTENT_INFO,
    CRYPT_ALGORITHM_IDENTIFIER,
    CRYPT_BIT_BLOB,
)
from capi.crypt32.structs import blob_bytes as _b
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_NO_MATCH,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_SELF_SIGNED,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    NTE_BAD_ALGID,
    NTE_BAD_PUBLIC_KEY,
    NTE_BAD_SIGNATURE,
    SetLastError,
    WinError,
    winapi,
)
from capi.formats.blobs import ecdsa_der_from_p1363

if TYPE_CHECKING:
    from capi.advapi32.crypt import HCRYPTKEY, HCRYPTPROV
    from capi.bcrypt.keys import BCRYPT_KEY_HANDLE
    from capi.crypt32.chain import CERT_CHAIN_CONTEXT
    from capi.crypt32.crlcontext import CrlContext
    from capi.crypt32.store_kinds import CertStore
    from capi.crypt32.structs import (
        CERT_EXTENSIONS,
        CERT_NAME_INFO,
        CERT_RDN,
        CERT_RDN_ATTR,
        CRYPT_ATTRIBUTE,
    )
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

# ---------------------------------------------------------------------------------------
# Signature algorithms: OID -> (key family, hash, CALG of the hash)
# (the signature rows of Windows' OID table; CryptFindOIDInfo in ``oidinfo`` has them all)
# ---------------------------------------------------------------------------------------

_SIGNATURE_ALGS: dict[str, tuple[str, Any, int]] = {
    C.szOID_RSA_MD5RSA: ("rsa", hashes.MD5, C.CALG_MD5),
    C.szOID_RSA_SHA1RSA: ("rsa", hashes.SHA1, C.CALG_SHA1),
    C.szOID_OIWSEC_sha1RSASign: ("rsa", hashes.SHA1, C.CALG_SHA1),
    C.szOID_RSA_SHA256RSA: ("rsa", hashes.SHA256, C.CALG_SHA_256),
    C.szOID_RSA_SHA384RSA: ("rsa", hashes.SHA384, C.CALG_SHA_384),
    C.szOID_RSA_SHA512RSA: ("rsa", hashes.SHA512, C.CALG_SHA_512),
    C.szOID_RSA_PSS: ("rsa-pss", None, 0),
    C.szOID_ECDSA_SHA1: ("ecdsa", hashes.SHA1, C.CALG_SHA1),
    C.szOID_ECDSA_SHA256: ("ecdsa", hashes.SHA256, C.CALG_SHA_256),
    C.szOID_ECDSA_SHA384: ("ecdsa", hashes.SHA384, C.CALG_SHA_384),
    C.szOID_ECDSA_SHA512: ("ecdsa", hashes.SHA512, C.CALG_SHA_512),
    C.szOID_X957_SHA1DSA: ("dsa", hashes.SHA1, C.CALG_SHA1),
    "1.3.14.3.2.27": ("dsa", hashes.SHA1, C.CALG_SHA1),   # dsaSHA1 (OIW)
    "1.3.101.112": ("ed25519", None, 0),                  # Ed25519 (not in Windows' table)
}

_HASH_BY_CALG = {
    C.CALG_MD5: hashes.MD5, C.CALG_SHA1: hashes.SHA1, C.CALG_SHA_256: hashes.SHA256,
    C.CALG_SHA_384: hashes.SHA384, C.CALG_SHA_512: hashes.SHA512,
}
_HASH_BY_CNG_NAME = {
    "MD5": hashes.MD5, "SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
_CNG_NAME = {hashes.MD5: "MD5", hashes.SHA1: "SHA1", hashes.SHA256: "SHA256",
             hashes.SHA384: "SHA384", hashes.SHA512: "SHA512"}
_HASH_BY_OID = {
    "1.2.840.113549.2.5": hashes.MD5, C.szOID_OIWSEC_sha1: hashes.SHA1,
    C.szOID_NIST_sha256: hashes.SHA256, C.szOID_NIST_sha384: hashes.SHA384,
    C.szOID_NIST_sha512: hashes.SHA512,
}


def _digest(hash_cls, data: bytes) -> bytes:
    h = hashes.Hash(hash_cls())
    h.update(bytes(data))
    return h.finalize()


# ---------------------------------------------------------------------------------------
# Decoding helpers (the encode module's decoders, reached lazily)
# ---------------------------------------------------------------------------------------


def _decode(struct_type, data: bytes, flags: int = 0):
    from capi.crypt32.encode import CryptDecodeObjectEx

    return CryptDecodeObjectEx(C.X509_ASN_ENCODING, struct_type, bytes(data), flags)


def _encode(struct_type, value, flags: int = 0) -> bytes:
    from capi.crypt32.encode import CryptEncodeObjectEx

    return CryptEncodeObjectEx(C.X509_ASN_ENCODING, struct_type, value, flags)


def _spki_der(info) -> bytes:
    """A CERT_PUBLIC_KEY_INFO (or its DER) as DER."""
    if isinstance(info, (bytes, bytearray, memoryview)):
        return bytes(info)
    if info is None:
        raise WinError(E_INVALIDARG, detail="no public key info")
    alg = info.Algorithm
    key = info.PublicKey
    params = _b(getattr(alg, "Parameters", b""))
    alg_der = D.seq(D.oid(alg.pszObjId), params) if params else D.seq(D.oid(alg.pszObjId))
    return D.seq(alg_der, D.bits(_b(key), getattr(key, "cUnusedBits", 0)))


def public_key_from_info(info):
    """A ``cryptography`` public key from a CERT_PUBLIC_KEY_INFO (or DER);
    NTE_BAD_PUBLIC_KEY when it holds no key ``cryptography`` reads."""
    der = _spki_der(info)
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    # An RSA key whose AlgorithmIdentifier lacks the NULL parameter, or names an RSA
    # signature algorithm (Wine cert.c testVerifyCertSig exports the key with sha1RSA as
    # its OID and verifies with it): read the RSAPublicKey.
    try:
        decoded = _decode(C.X509_PUBLIC_KEY_INFO, der)
        oid = decoded.Algorithm.pszObjId
        if oid == C.szOID_RSA_RSA or _SIGNATURE_ALGS.get(oid, ("",))[0].startswith("rsa"):
            r = D.seq_reader(bytes(decoded.PublicKey.pbData))
            n = int.from_bytes(D.decode_int_contents(r.take(D.INTEGER)), "big")
            e = int.from_bytes(D.decode_int_contents(r.take(D.INTEGER)), "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
    except (WinError, ValueError):
        pass
    raise WinError(NTE_BAD_PUBLIC_KEY, detail="unreadable public key info")


def info_from_public_key(public, oid: str | None = None) -> CERT_PUBLIC_KEY_INFO:
    """CERT_PUBLIC_KEY_INFO of a ``cryptography`` public key (RSA with NULL parameters,
    ECC with the named curve, as Windows exports them)."""
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    info = _decode(C.X509_PUBLIC_KEY_INFO, der)
    if oid:
        info.Algorithm.pszObjId = oid
    return info


# ---------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------


def _pss_params(params: bytes):
    """(hash class, salt length) of RSASSA-PSS-params (RFC 4055 defaults: SHA-1, 20)."""
    hash_cls, salt = hashes.SHA1, 20
    if not params or params == b"\x05\x00":
        return hash_cls, salt
    r = D.seq_reader(params)
    while r.more():
        t = r.next()
        if t.cls != 2:
            raise WinError(CRYPT_E_ASN1_BADTAG, detail="RSASSA-PSS-params")
        inner = D.Reader(t.contents)
        if t.tag == 0:
            alg = D.Reader(inner.next().contents)
            hash_cls = _HASH_BY_OID.get(D.decode_oid(alg.next()))
            if hash_cls is None:
                raise WinError(NTE_BAD_ALGID, detail="PSS hash")
        elif t.tag == 2:
            salt = int.from_bytes(D.decode_int_contents(inner.next()), "big")
    return hash_cls, salt


def verify_signature(tbs: bytes, alg_oid: str | None, alg_params: bytes, signature: bytes,
                     public) -> None:
    """Verify a big-endian ``signature`` over ``tbs``. Raises NTE_BAD_ALGID (unknown
    algorithm), NTE_BAD_SIGNATURE (mismatch, or a key of the wrong family)."""
    entry = _SIGNATURE_ALGS.get(alg_oid or "")
    if entry is None:
        raise WinError(NTE_BAD_ALGID, detail=f"signature algorithm {alg_oid!r}")
    kind, hash_cls, _calg = entry
    try:
        if kind == "rsa" and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, tbs, padding.PKCS1v15(), hash_cls())
        elif kind == "rsa-pss" and isinstance(public, rsa.RSAPublicKey):
            hash_cls, salt = _pss_params(alg_params)
            public.verify(signature, tbs, padding.PSS(padding.MGF1(hash_cls()), salt),
                          hash_cls())
        elif kind == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, tbs, ec.ECDSA(hash_cls()))
        elif kind == "dsa" and isinstance(public, dsa.DSAPublicKey):
            public.verify(signature, tbs, hash_cls())
        elif kind == "ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, tbs)
        else:
            raise InvalidSignature()
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        raise WinError(NTE_BAD_SIGNATURE) from None


def _signed_content(data: bytes) -> CERT_SIGNED_CONTENT_INFO:
    """The outer SEQUENCE of a certificate, CRL or request, signature big-endian."""
    data = bytes(data)
    if not data:
        raise WinError(CRYPT_E_ASN1_EOD)
    return _decode(C.X509_CERT, data, C.CRYPT_DECODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG)


def verify_signed_blob(signed: bytes, public) -> None:
    """Verify a signed certificate/CRL/request with ``public`` (a cryptography key)."""
    info = _signed_content(signed)
    alg = info.SignatureAlgorithm
    verify_signature(info.ToBeSigned, alg.pszObjId, _b(alg.Parameters),
                     bytes(info.Signature.pbData), public)


def signed_by(subject_der: bytes, issuer_spki_der: bytes) -> bool:
    """Whether the issuer key verifies the subject's signature (the chain engine's test)."""
    try:
        verify_signed_blob(subject_der, public_key_from_info(issuer_spki_der))
        return True
    except WinError:
        return False


def _spki_of_context(ctx: CertContext) -> CERT_PUBLIC_KEY_INFO:
    return ctx.pCertInfo.SubjectPublicKeyInfo


@winapi
def CryptVerifyCertificateSignatureEx(hCryptProv: HCRYPTPROV | None, dwCertEncodingType: int,
                                      dwSubjectType: int,
                                      pvSubject: bytes | CertContext | CrlContext,
                                      dwIssuerType: int,
                                      pvIssuer: CERT_PUBLIC_KEY_INFO | CertContext
                                      | CERT_CHAIN_CONTEXT | None,
                                      dwFlags: int = 0, pvExtra: Any = None) -> bool:
    """CryptVerifyCertificateSignatureEx -> True.

    Subjects: CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB (encoded bytes), _CERT (a context),
    _CRL (a CRL context). Issuers: _ISSUER_PUBKEY (CERT_PUBLIC_KEY_INFO), _ISSUER_CERT
    (a context), _ISSUER_CHAIN (a chain context: its first element's key).
    Raises E_INVALIDARG for a missing encoding, subject or issuer type, and for
    _ISSUER_NULL with a real signature algorithm; CRYPT_E_ASN1_EOD for an empty blob;
    NTE_BAD_ALGID for an unknown algorithm; NTE_BAD_SIGNATURE on a mismatch (Wine
    cert.c testVerifyCertSig).
    """
    enc = int(dwCertEncodingType or 0) & 0xFFFFFFFF
    if not enc & C.X509_ASN_ENCODING or dwSubjectType not in (1, 2, 3):
        raise WinError(E_INVALIDARG)
    if dwSubjectType == C.CRYPT_VERIFY_CERT_SIGN_SUBJECT_BLOB:
        signed = _b(pvSubject)
    elif dwSubjectType == C.CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT:
        signed = pvSubject.pbCertEncoded
    else:
        signed = pvSubject.pbCrlEncoded
    info = _signed_content(signed)
    if dwIssuerType == C.CRYPT_VERIFY_CERT_SIGN_ISSUER_PUBKEY:
        public = public_key_from_info(pvIssuer)
    elif dwIssuerType == C.CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT:
        public = public_key_from_info(_spki_der_of(pvIssuer))
    elif dwIssuerType == C.CRYPT_VERIFY_CERT_SIGN_ISSUER_CHAIN:
        public = public_key_from_info(_spki_der_of(pvIssuer.rgpChain[0].rgpElement[0].pCertContext))
    elif dwIssuerType == C.CRYPT_VERIFY_CERT_SIGN_ISSUER_NULL:
        if info.SignatureAlgorithm.pszObjId != C.szOID_PKIX_NO_SIGNATURE:
            raise WinError(E_INVALIDARG, detail="ISSUER_NULL with a signature algorithm")
        return True
    else:
        raise WinError(E_INVALIDARG, detail=f"dwIssuerType {dwIssuerType}")
    alg = info.SignatureAlgorithm
    verify_signature(info.ToBeSigned, alg.pszObjId, _b(alg.Parameters),
                     bytes(info.Signature.pbData), public)
    return True


def _spki_der_of(ctx) -> bytes:
    from asn1crypto import x509 as asn1_x509

    try:
        return asn1_x509.Certificate.load(ctx.pbCertEncoded)["tbs_certificate"][
            "subject_public_key_info"].dump()
    except (ValueError, TypeError, KeyError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from exc


@winapi
def CryptVerifyCertificateSignature(hCryptProv: HCRYPTPROV | None, dwCertEncodingType: int,
                                    pbEncoded: bytes, pPublicKey: CERT_PUBLIC_KEY_INFO) -> bool:
    """CryptVerifyCertificateSignature -> True. ERROR_FILE_NOT_FOUND for an encoding
    without X509_ASN_ENCODING, CRYPT_E_ASN1_EOD for empty bytes (Wine cert.c
    testVerifyCertSig), NTE_BAD_SIGNATURE on a mismatch."""
    if not int(dwCertEncodingType or 0) & C.X509_ASN_ENCODING:
        raise WinError(ERROR_FILE_NOT_FOUND)
    info = _signed_content(_b(pbEncoded))
    alg = info.SignatureAlgorithm
    verify_signature(info.ToBeSigned, alg.pszObjId, _b(alg.Parameters),
                     bytes(info.Signature.pbData), public_key_from_info(pPublicKey))
    return True


# ---------------------------------------------------------------------------------------
# Signing through a provider handle
# ---------------------------------------------------------------------------------------


def _is_ncrypt(handle) -> bool:
    from capi.ncrypt.keystorage import NCRYPT_KEY_HANDLE

    return isinstance(handle, NCRYPT_KEY_HANDLE)


def sign_with_handle(handle, key_spec: int, tbs: bytes, alg_oid: str | None,
                     alg_params: bytes = b"") -> bytes:
    """The big-endian signature of ``tbs`` made by the provider behind ``handle``."""
    entry = _SIGNATURE_ALGS.get(alg_oid or "")
    if entry is None:
        # Wine cert.c testSignCert: no algorithm OID -> NTE_BAD_ALGID.
        raise WinError(NTE_BAD_ALGID, detail=f"signature algorithm {alg_oid!r}")
    if handle is None:
        # Wine cert.c testSignCert: no provider -> ERROR_INVALID_PARAMETER.
        raise WinError(ERROR_INVALID_PARAMETER, detail="hCryptProvOrNCryptKey")
    kind, hash_cls, calg = entry
    if _is_ncrypt(handle):
        from capi.bcrypt.structs import BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO
        from capi.ncrypt.keystorage import NCryptSignHash

        if kind == "rsa-pss":
            hash_cls, salt = _pss_params(alg_params)
            sig = NCryptSignHash(handle, BCRYPT_PSS_PADDING_INFO(_CNG_NAME[hash_cls], salt),
                                 _digest(hash_cls, tbs), C.BCRYPT_PAD_PSS)
            return sig
        if kind == "rsa":
            return NCryptSignHash(handle, BCRYPT_PKCS1_PADDING_INFO(_CNG_NAME[hash_cls]),
                                  _digest(hash_cls, tbs), C.BCRYPT_PAD_PKCS1)
        if kind == "ecdsa":
            return ecdsa_der_from_p1363(NCryptSignHash(handle, None, _digest(hash_cls, tbs), 0))
        raise WinError(NTE_BAD_ALGID, detail=f"{alg_oid} with a CNG key")
    from capi.advapi32.crypt import CryptCreateHash, CryptDestroyHash, CryptHashData, CryptSignHash

    if kind != "rsa":
        raise WinError(NTE_BAD_ALGID, detail=f"{alg_oid} with a CryptoAPI key")
    h = CryptCreateHash(handle, calg, None, 0)
    try:
        CryptHashData(h, bytes(tbs), 0)
        little = CryptSignHash(h, key_spec, None, 0)
    finally:
        CryptDestroyHash(h)
    return little[::-1]


def _alg_arg(alg) -> tuple[str | None, bytes]:
    if alg is None:
        return None, b""
    if isinstance(alg, str):
        return alg, b""
    return getattr(alg, "pszObjId", None), _b(getattr(alg, "Parameters", b""))


@winapi
def CryptSignCertificate(hCryptProvOrNCryptKey: HCRYPTPROV | NCRYPT_KEY_HANDLE, dwKeySpec: int,
                         dwCertEncodingType: int, pbEncodedToBeSigned: bytes,
                         pSignatureAlgorithm: CRYPT_ALGORITHM_IDENTIFIER | str | None,
                         pvHashAuxInfo: Any = None) -> bytes:
    """CryptSignCertificate -> the signature as CERT_SIGNED_CONTENT_INFO.Signature holds
    it: little-endian, the bytes CryptSignHash returns (Wine cert.c testSignCert checks
    it against CryptSignHash). NTE_BAD_ALGID without an algorithm OID, ERROR_INVALID_PARAMETER
    without a provider, NTE_BAD_KEYSET / NTE_NO_KEY when the container has no such key."""
    oid, params = _alg_arg(pSignatureAlgorithm)
    return sign_with_handle(hCryptProvOrNCryptKey, int(dwKeySpec or 0) & 0xFFFFFFFF,
                            _b(pbEncodedToBeSigned), oid, params)[::-1]


def _signed_der(tbs: bytes, oid: str, params: bytes, signature_be: bytes) -> bytes:
    alg = CRYPT_ALGORITHM_IDENTIFIER(oid, params)
    return _encode(C.X509_CERT, CERT_SIGNED_CONTENT_INFO(tbs, alg, CRYPT_BIT_BLOB(signature_be, 0)),
                   C.CRYPT_ENCODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG)


@winapi
def CryptSignAndEncodeCertificate(hCryptProvOrNCryptKey: HCRYPTPROV | NCRYPT_KEY_HANDLE,
                                  dwKeySpec: int, dwCertEncodingType: int,
                                  lpszStructType: int | str, pvStructInfo: Any,
                                  pSignatureAlgorithm: CRYPT_ALGORITHM_IDENTIFIER | str | None,
                                  pvHashAuxInfo: Any = None) -> bytes:
    """CryptSignAndEncodeCertificate -> the signed DER: ``pvStructInfo`` (CERT_INFO,
    CRL_INFO, CERT_REQUEST_INFO) encoded as ``lpszStructType``, signed by the provider,
    and wrapped as X509_CERT."""
    oid, params = _alg_arg(pSignatureAlgorithm)
    if oid is None:
        raise WinError(NTE_BAD_ALGID)
    tbs = _encode(lpszStructType, pvStructInfo)
    sig = sign_with_handle(hCryptProvOrNCryptKey, int(dwKeySpec or 0) & 0xFFFFFFFF, tbs, oid,
                           params)
    return _signed_der(tbs, oid, params, sig)


# ---------------------------------------------------------------------------------------
# Public key info
# ---------------------------------------------------------------------------------------


def _public_of_handle(handle, key_spec: int):
    if handle is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="hCryptProvOrNCryptKey")
    if _is_ncrypt(handle):
        return handle.key.public
    from capi.advapi32.crypt import CryptDestroyKey, CryptGetUserKey

    key = CryptGetUserKey(handle, key_spec)
    try:
        return key.pair.public
    finally:
        CryptDestroyKey(key)


@winapi
def CryptExportPublicKeyInfoEx(hCryptProvOrNCryptKey: HCRYPTPROV | NCRYPT_KEY_HANDLE,
                               dwKeySpec: int, dwCertEncodingType: int,
                               pszPublicKeyObjId: str | None = None, dwFlags: int = 0,
                               pvAuxInfo: Any = None) -> CERT_PUBLIC_KEY_INFO:
    """CryptExportPublicKeyInfoEx -> CERT_PUBLIC_KEY_INFO of the provider's key (RSA
    with NULL parameters; ECC with its named curve). ``pszPublicKeyObjId`` replaces the
    algorithm OID (Wine cert.c testVerifyCertSig passes sha1RSA there and verifies with
    the result). NTE_NO_KEY / NTE_BAD_KEYSET as CryptGetUserKey."""
    public = _public_of_handle(hCryptProvOrNCryptKey, int(dwKeySpec or 0) & 0xFFFFFFFF)
    return info_from_public_key(public, pszPublicKeyObjId)


@winapi
def CryptExportPublicKeyInfo(hCryptProvOrNCryptKey: HCRYPTPROV | NCRYPT_KEY_HANDLE,
                             dwKeySpec: int, dwCertEncodingType: int) -> CERT_PUBLIC_KEY_INFO:
    """CryptExportPublicKeyInfo: CryptExportPublicKeyInfoEx with the default OID."""
    return CryptExportPublicKeyInfoEx(hCryptProvOrNCryptKey, dwKeySpec, dwCertEncodingType)


@winapi
def CryptImportPublicKeyInfo(hCryptProv: HCRYPTPROV, dwCertEncodingType: int,
                             pInfo: CERT_PUBLIC_KEY_INFO) -> HCRYPTKEY:
    """CryptImportPublicKeyInfo -> HCRYPTKEY in ``hCryptProv`` (an RSA key as a
    PUBLICKEYBLOB). NTE_BAD_ALGID for a key CryptoAPI cannot hold."""
    from capi.advapi32.crypt import CryptImportKey

    public = public_key_from_info(pInfo)
    if not isinstance(public, rsa.RSAPublicKey):
        raise WinError(NTE_BAD_ALGID, detail="not an RSA key")
    blob = _decode(C.RSA_CSP_PUBLICKEYBLOB, public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    return CryptImportKey(hCryptProv, blob, None, 0)


@winapi
def CryptImportPublicKeyInfoEx2(dwCertEncodingType: int, pInfo: CERT_PUBLIC_KEY_INFO,
                                dwFlags: int = 0, pvAuxInfo: Any = None) -> BCRYPT_KEY_HANDLE:
    """CryptImportPublicKeyInfoEx2 -> BCRYPT_KEY_HANDLE (RSA, or ECDSA on P-256/384/521)."""
    from capi.bcrypt import blobs
    from capi.bcrypt.algorithms import BCryptOpenAlgorithmProvider
    from capi.bcrypt.keys import BCryptImportKeyPair

    if not int(dwCertEncodingType or 0) & C.X509_ASN_ENCODING:
        raise WinError(ERROR_FILE_NOT_FOUND)
    public = public_key_from_info(pInfo)
    if isinstance(public, rsa.RSAPublicKey):
        alg = BCryptOpenAlgorithmProvider("RSA", None, 0)
        return BCryptImportKeyPair(alg, None, "RSAPUBLICBLOB",
                                   blobs.rsa_to_blob(None, public, "RSAPUBLICBLOB"), 0)
    if isinstance(public, ec.EllipticCurvePublicKey):
        size = public.curve.key_size
        alg = BCryptOpenAlgorithmProvider(f"ECDSA_P{size}", None, 0)
        return BCryptImportKeyPair(alg, None, "ECCPUBLICBLOB", blobs.ecc_to_blob(
            None, public, "ECCPUBLICBLOB", "ecdsa", (size + 7) // 8), 0)
    raise WinError(NTE_BAD_ALGID, detail="unsupported public key")


def CertGetPublicKeyLength(dwCertEncodingType: int, pPublicKey: CERT_PUBLIC_KEY_INFO) -> int:
    """CertGetPublicKeyLength -> bits (RSA modulus, ECC curve, DSA p), or 0 with the
    error in GetLastError: ERROR_FILE_NOT_FOUND for an encoding without X509_ASN_ENCODING,
    the decoder's code for a key it cannot read."""
    if not int(dwCertEncodingType or 0) & C.X509_ASN_ENCODING:
        SetLastError(ERROR_FILE_NOT_FOUND)
        return 0
    try:
        public = public_key_from_info(pPublicKey)
    except WinError as exc:
        SetLastError(exc.winerror)
        return 0
    if isinstance(public, (rsa.RSAPublicKey, dsa.DSAPublicKey, ec.EllipticCurvePublicKey)):
        return public.key_size
    return 256 if isinstance(public, ed25519.Ed25519PublicKey) else 0


# ---------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------


def _rsa_numbers(info):
    try:
        public = public_key_from_info(info)
    except WinError:
        return None
    return public.public_numbers() if isinstance(public, rsa.RSAPublicKey) else None


def CertComparePublicKeyInfo(dwCertEncodingType: int, pPublicKey1: CERT_PUBLIC_KEY_INFO,
                             pPublicKey2: CERT_PUBLIC_KEY_INFO) -> bool:
    """CertComparePublicKeyInfo: equal key bits; two RSA keys compare by modulus and
    exponent, so an encoding with a redundant leading zero still matches. The algorithm
    OIDs are not compared."""
    k1, k2 = pPublicKey1.PublicKey, pPublicKey2.PublicKey
    if _b(k1) == _b(k2) and getattr(k1, "cUnusedBits", 0) == getattr(k2, "cUnusedBits", 0):
        return True
    n1, n2 = _rsa_numbers(pPublicKey1), _rsa_numbers(pPublicKey2)
    return n1 is not None and n1 == n2


def _normal_int(le: bytes) -> bytes:
    """A little-endian two's-complement integer without redundant sign bytes."""
    b = bytearray(le)
    while len(b) > 1 and ((b[-1] == 0 and not b[-2] & 0x80) or (b[-1] == 0xFF and b[-2] & 0x80)):
        b.pop()
    return bytes(b)


def CertCompareIntegerBlob(pInt1: bytes, pInt2: bytes) -> bool:
    """CertCompareIntegerBlob: the two little-endian integers are equal once redundant
    most-significant 0x00 (positive) or 0xFF (negative) bytes are dropped."""
    return _normal_int(_b(pInt1)) == _normal_int(_b(pInt2))


def CertCompareCertificateName(dwCertEncodingType: int, pCertName1: bytes,
                               pCertName2: bytes) -> bool:
    """CertCompareCertificateName: byte-for-byte equality of the two encoded names."""
    return _b(pCertName1) == _b(pCertName2)


def CertCompareCertificate(dwCertEncodingType: int, pCertId1: CERT_INFO,
                           pCertId2: CERT_INFO) -> bool:
    """CertCompareCertificate: same issuer name and same serial number (two CERT_INFOs)."""
    return (CertCompareCertificateName(dwCertEncodingType, pCertId1.Issuer, pCertId2.Issuer)
            and CertCompareIntegerBlob(pCertId1.SerialNumber, pCertId2.SerialNumber))


def _attr_text(attr, unicode: bool) -> str | None:
    value = _b(attr.Value)
    if unicode:
        return value.decode("utf-16-le", "replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def CertIsRDNAttrsInCertificateName(dwCertEncodingType: int, dwFlags: int, pCertName: bytes,
                                    pRDN: CERT_RDN) -> bool:
    """CertIsRDNAttrsInCertificateName: every attribute of ``pRDN`` (OID and value) is in
    the name. CERT_UNICODE_IS_RDN_ATTRS_FLAG: the values are UTF-16LE;
    CERT_CASE_INSENSITIVE_IS_RDN_ATTRS_FLAG. False leaves CRYPT_E_NO_MATCH in
    GetLastError (documentation of the function)."""
    flags = int(dwFlags or 0)
    unicode = bool(flags & C.CERT_UNICODE_IS_RDN_ATTRS_FLAG)
    name = _decode(C.X509_UNICODE_NAME, _b(pCertName))
    present = []
    for rdn in name.rgRDN:
        for a in rdn.rgRDNAttr:
            present.append((a.pszObjId, a.dwValueType, bytes(a.Value).decode("utf-16-le", "replace")))
    fold = (lambda s: s.lower()) if flags & C.CERT_CASE_INSENSITIVE_IS_RDN_ATTRS_FLAG else (lambda s: s)
    for want in pRDN.rgRDNAttr:
        text = fold(_attr_text(want, unicode) or "")
        wtype = int(want.dwValueType or 0) & 0xFF
        if not any(oid == want.pszObjId and (wtype == C.CERT_RDN_ANY_TYPE or wtype == vt)
                   and fold(v) == text for oid, vt, v in present):
            SetLastError(CRYPT_E_NO_MATCH)
            return False
    SetLastError(0)
    return True


# ---------------------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------------------


def _hash_for_calg(algid: int, default):
    algid = int(algid or 0) & 0xFFFFFFFF
    if not algid:
        return default
    cls = _HASH_BY_CALG.get(algid)
    if cls is None:
        raise WinError(NTE_BAD_ALGID, detail=f"Algid 0x{algid:x}")
    return cls


@winapi
def CryptHashCertificate(hCryptProv: HCRYPTPROV | None, Algid: int, dwFlags: int,
                         pbEncoded: bytes) -> bytes:
    """CryptHashCertificate -> the hash of ``pbEncoded`` (Algid 0 = CALG_SHA1;
    CALG_MD5, SHA-1, SHA-256/384/512). NTE_BAD_ALGID otherwise."""
    return _digest(_hash_for_calg(Algid, hashes.SHA1), _b(pbEncoded))


@winapi
def CryptHashCertificate2(pwszCNGHashAlgid: str, dwFlags: int, pvReserved: Any,
                          pbEncoded: bytes) -> bytes:
    """CryptHashCertificate2 -> the hash with a CNG algorithm name ("SHA256"...), computed
    by BCrypt as Windows does: an unknown name fails as BCryptOpenAlgorithmProvider fails."""
    from capi.bcrypt.algorithms import BCryptOpenAlgorithmProvider
    from capi.bcrypt.hash import BCryptHash

    alg = BCryptOpenAlgorithmProvider(str(pwszCNGHashAlgid), None, 0)
    size = _HASH_BY_CNG_NAME.get(str(pwszCNGHashAlgid).upper())
    length = size.digest_size if size is not None else 64
    return BCryptHash(alg, None, _b(pbEncoded), length)


@winapi
def CryptHashPublicKeyInfo(hCryptProv: HCRYPTPROV | None, Algid: int, dwFlags: int,
                           dwCertEncodingType: int, pInfo: CERT_PUBLIC_KEY_INFO) -> bytes:
    """CryptHashPublicKeyInfo -> the hash of the encoded CERT_PUBLIC_KEY_INFO (Algid 0 =
    CALG_MD5, the function's documented default). ERROR_FILE_NOT_FOUND for an encoding
    without X509_ASN_ENCODING."""
    if not int(dwCertEncodingType or 0) & C.X509_ASN_ENCODING:
        raise WinError(ERROR_FILE_NOT_FOUND)
    der = _encode(C.X509_PUBLIC_KEY_INFO, pInfo) if not isinstance(
        pInfo, (bytes, bytearray)) else bytes(pInfo)
    return _digest(_hash_for_calg(Algid, hashes.MD5), der)


@winapi
def CryptHashToBeSigned(hCryptProv: HCRYPTPROV | None, dwCertEncodingType: int,
                        pbEncoded: bytes) -> bytes:
    """CryptHashToBeSigned -> the hash of the to-be-signed part with the signature
    algorithm's hash (what CERT_SIGNATURE_HASH_PROP_ID holds). NTE_BAD_ALGID when the
    algorithm has no hash."""
    info = _signed_content(_b(pbEncoded))
    entry = _SIGNATURE_ALGS.get(info.SignatureAlgorithm.pszObjId or "")
    hash_cls = entry[1] if entry else None
    if entry and entry[0] == "rsa-pss":
        hash_cls = _pss_params(_b(info.SignatureAlgorithm.Parameters))[0]
    if hash_cls is None:
        raise WinError(NTE_BAD_ALGID, detail=str(info.SignatureAlgorithm.pszObjId))
    return _digest(hash_cls, info.ToBeSigned)


# ---------------------------------------------------------------------------------------
# Time, usages, finders
# ---------------------------------------------------------------------------------------

_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def _now_ticks() -> int:
    delta = datetime.datetime.now(datetime.timezone.utc) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def CertVerifyTimeValidity(pTimeToVerify: int | None, pCertInfo: CERT_INFO) -> int:
    """CertVerifyTimeValidity -> -1 before NotBefore, 1 after NotAfter, 0 within
    (``pTimeToVerify`` FILETIME ticks, None = now)."""
    when = _now_ticks() if pTimeToVerify is None else int(pTimeToVerify)
    if when < int(pCertInfo.NotBefore):
        return -1
    if when > int(pCertInfo.NotAfter):
        return 1
    return 0


def _eku_of_extension(ctx: CertContext) -> list[str] | None:
    for ext in ctx.pCertInfo.rgExtension:
        if ext.pszObjId == C.szOID_ENHANCED_KEY_USAGE:
            return list(_decode(C.X509_ENHANCED_KEY_USAGE, ext.Value).rgpszUsageIdentifier)
    return None


def _eku_of_property(ctx: CertContext) -> list[str] | None:
    raw = ctx._root()._props.get(C.CERT_ENHKEY_USAGE_PROP_ID)
    if raw is None:
        return None
    return list(_decode(C.X509_ENHANCED_KEY_USAGE, raw).rgpszUsageIdentifier)


@winapi
def CertGetEnhancedKeyUsage(pCertContext: CertContext, dwFlags: int = 0) -> CERT_ENHKEY_USAGE:
    """CertGetEnhancedKeyUsage -> CERT_ENHKEY_USAGE: the ENHKEY_USAGE property, else the
    extension (CERT_FIND_EXT_ONLY_/PROP_ONLY_ENHKEY_USAGE_FLAG pick one). Neither present:
    an empty usage with CRYPT_E_NOT_FOUND in GetLastError (every usage is valid)."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    flags = int(dwFlags or 0)
    oids = None
    if not flags & C.CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG:
        oids = _eku_of_property(pCertContext)
    if oids is None and not flags & C.CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG:
        oids = _eku_of_extension(pCertContext)
    if oids is None:
        SetLastError(CRYPT_E_NOT_FOUND)
        return CERT_ENHKEY_USAGE([])
    SetLastError(0)
    return CERT_ENHKEY_USAGE(oids)


@winapi
def CertSetEnhancedKeyUsage(pCertContext: CertContext, pUsage: CERT_ENHKEY_USAGE | None) -> bool:
    """CertSetEnhancedKeyUsage: set the ENHKEY_USAGE property (None deletes it)."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    value = None if pUsage is None else _encode(C.X509_ENHANCED_KEY_USAGE, pUsage)
    pCertContext.set_property(C.CERT_ENHKEY_USAGE_PROP_ID, value)
    return True


@winapi
def CertAddEnhancedKeyUsageIdentifier(pCertContext: CertContext, pszUsageIdentifier: str) -> bool:
    """CertAddEnhancedKeyUsageIdentifier: add an OID to the ENHKEY_USAGE property (once)."""
    if pCertContext is None or not pszUsageIdentifier:
        raise WinError(E_INVALIDARG)
    oids = _eku_of_property(pCertContext) or []
    if pszUsageIdentifier not in oids:
        oids.append(pszUsageIdentifier)
    return CertSetEnhancedKeyUsage(pCertContext, CERT_ENHKEY_USAGE(oids))


@winapi
def CertRemoveEnhancedKeyUsageIdentifier(pCertContext: CertContext,
                                         pszUsageIdentifier: str) -> bool:
    """CertRemoveEnhancedKeyUsageIdentifier: drop an OID from the property."""
    if pCertContext is None or not pszUsageIdentifier:
        raise WinError(E_INVALIDARG)
    oids = _eku_of_property(pCertContext)
    if oids is None:
        return True
    oids = [o for o in oids if o != pszUsageIdentifier]
    return CertSetEnhancedKeyUsage(pCertContext, CERT_ENHKEY_USAGE(oids))


@winapi
def CertGetValidUsages(rghCerts: list) -> tuple[int, list[str]]:
    """CertGetValidUsages -> (cNumOIDs, rghOIDs): the usages every certificate allows;
    cNumOIDs -1 when none restricts usage (every usage valid)."""
    common: list[str] | None = None
    for ctx in rghCerts:
        usage = CertGetEnhancedKeyUsage(ctx, 0)
        if not usage.rgpszUsageIdentifier:
            continue
        oids = list(usage.rgpszUsageIdentifier)
        common = oids if common is None else [o for o in common if o in oids]
    SetLastError(0)
    if common is None:
        return -1, []
    return len(common), common


def CertGetIntendedKeyUsage(dwCertEncodingType: int, pCertInfo: CERT_INFO) -> bytes | None:
    """CertGetIntendedKeyUsage -> the Key Usage extension's bytes (first byte
    CERT_DIGITAL_SIGNATURE_KEY_USAGE...), or None when the certificate has none (FALSE
    with last error 0)."""
    for ext in pCertInfo.rgExtension:
        if ext.pszObjId == C.szOID_KEY_USAGE:
            try:
                bits = _decode(C.X509_KEY_USAGE, ext.Value)
            except WinError as exc:
                SetLastError(exc.winerror)
                return None
            return bytes(bits.pbData)
    SetLastError(0)
    return None


def CertFindExtension(pszObjId: str, rgExtensions: list) -> CERT_EXTENSION | None:
    """CertFindExtension -> the first extension with that OID, or None (CRYPT_E_NOT_FOUND)."""
    for ext in rgExtensions or ():
        if ext.pszObjId == pszObjId:
            return ext
    SetLastError(CRYPT_E_NOT_FOUND)
    return None


def CertFindAttribute(pszObjId: str, rgAttr: list[CRYPT_ATTRIBUTE]) -> CRYPT_ATTRIBUTE | None:
    """CertFindAttribute -> the first CRYPT_ATTRIBUTE with that OID, or None."""
    for attr in rgAttr or ():
        if attr.pszObjId == pszObjId:
            return attr
    SetLastError(CRYPT_E_NOT_FOUND)
    return None


def CertFindRDNAttr(pszObjId: str, pName: CERT_NAME_INFO) -> CERT_RDN_ATTR | None:
    """CertFindRDNAttr -> the first CERT_RDN_ATTR with that OID in a CERT_NAME_INFO."""
    for rdn in pName.rgRDN:
        for attr in rdn.rgRDNAttr:
            if attr.pszObjId == pszObjId:
                return attr
    SetLastError(CRYPT_E_NOT_FOUND)
    return None


@winapi
def CertGetSubjectCertificateFromStore(hCertStore: CertStore, dwCertEncodingType: int,
                                       pCertId: CERT_INFO) -> CertContext:
    """CertGetSubjectCertificateFromStore -> the certificate with the issuer and serial
    number of ``pCertId`` (a CERT_INFO). E_INVALIDARG without an encoding or id,
    CRYPT_E_NOT_FOUND when the store has none."""
    from capi.crypt32.store import CertFindCertificateInStore

    enc = int(dwCertEncodingType or 0)
    if not enc & C.X509_ASN_ENCODING or pCertId is None:
        raise WinError(E_INVALIDARG)
    found = CertFindCertificateInStore(hCertStore, enc, 0, C.CERT_FIND_SUBJECT_CERT, pCertId, None)
    if found is None:
        raise WinError(CRYPT_E_NOT_FOUND)
    return found


_VERIFY_FLAGS = (C.CERT_STORE_SIGNATURE_FLAG | C.CERT_STORE_TIME_VALIDITY_FLAG
                 | C.CERT_STORE_REVOCATION_FLAG | C.CERT_STORE_NO_CRL_FLAG
                 | C.CERT_STORE_NO_ISSUER_FLAG)


def _verify_flags(subject: CertContext, issuer: CertContext | None, flags: int) -> int:
    if flags & C.CERT_STORE_SIGNATURE_FLAG:
        if issuer is None:
            raise WinError(E_INVALIDARG, detail="SIGNATURE_FLAG without an issuer")
        if signed_by(subject.pbCertEncoded, _spki_der_of(issuer)):
            flags &= ~C.CERT_STORE_SIGNATURE_FLAG
    if flags & C.CERT_STORE_TIME_VALIDITY_FLAG:
        if CertVerifyTimeValidity(None, subject.pCertInfo) == 0:
            flags &= ~C.CERT_STORE_TIME_VALIDITY_FLAG
    if flags & C.CERT_STORE_REVOCATION_FLAG:
        # No CRL store holds a CRL of this issuer: the flag stays with NO_CRL set
        # (CertVerifySubjectCertificateContext documentation).
        flags |= C.CERT_STORE_NO_CRL_FLAG
    return flags


@winapi
def CertVerifySubjectCertificateContext(pSubject: CertContext, pIssuer: CertContext | None,
                                        pdwFlags: int) -> int:
    """CertVerifySubjectCertificateContext -> the flags still set: a check that passes
    clears its flag (SIGNATURE: the issuer's key verifies; TIME_VALIDITY: the subject is
    current; REVOCATION stays, with NO_CRL, as no CRL is available). E_INVALIDARG for
    other flags, or SIGNATURE without an issuer."""
    flags = int(pdwFlags or 0)
    if flags & ~(C.CERT_STORE_SIGNATURE_FLAG | C.CERT_STORE_TIME_VALIDITY_FLAG
                 | C.CERT_STORE_REVOCATION_FLAG):
        raise WinError(E_INVALIDARG, detail=f"flags 0x{flags:x}")
    return _verify_flags(pSubject, pIssuer, flags)


@winapi
def CertGetIssuerCertificateFromStore(hCertStore: CertStore, pSubjectContext: CertContext,
                                      pPrevIssuerContext: CertContext | None,
                                      pdwFlags: int) -> tuple[CertContext, int]:
    """CertGetIssuerCertificateFromStore -> (issuer, flags): the next certificate of the
    store whose subject is the subject's issuer, with the verification flags as
    CertVerifySubjectCertificateContext leaves them. CRYPT_E_SELF_SIGNED for a
    self-signed subject, CRYPT_E_NOT_FOUND when no (further) issuer is in the store,
    E_INVALIDARG for unknown flags."""
    from capi.crypt32.store import CertFindCertificateInStore

    flags = int(pdwFlags or 0)
    if flags & ~(C.CERT_STORE_SIGNATURE_FLAG | C.CERT_STORE_TIME_VALIDITY_FLAG
                 | C.CERT_STORE_REVOCATION_FLAG):
        raise WinError(E_INVALIDARG, detail=f"flags 0x{flags:x}")
    info = pSubjectContext.pCertInfo
    if info.Issuer == info.Subject and signed_by(pSubjectContext.pbCertEncoded,
                                                 _spki_der_of(pSubjectContext)):
        raise WinError(CRYPT_E_SELF_SIGNED)
    found = CertFindCertificateInStore(hCertStore, pSubjectContext.dwCertEncodingType, 0,
                                       C.CERT_FIND_SUBJECT_NAME, info.Issuer,
                                       pPrevIssuerContext)
    if found is None:
        raise WinError(CRYPT_E_NOT_FOUND)
    return found, _verify_flags(pSubjectContext, found, flags)


# ---------------------------------------------------------------------------------------
# CertCreateSelfSignCertificate
# ---------------------------------------------------------------------------------------


def _filetime(v, default: datetime.datetime) -> int:
    if v is None:
        v = default
    if isinstance(v, datetime.datetime):
        v = v if v.tzinfo else v.replace(tzinfo=datetime.timezone.utc)
        delta = v - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    return int(v)


def _new_default_key():
    """What Windows does without a key: a new container in the default PROV_RSA_FULL
    provider, named by a new GUID, with a generated AT_SIGNATURE key."""
    from capi.advapi32.crypt import CryptAcquireContext, CryptDestroyKey, CryptGenKey

    container = str(uuid.uuid4())
    prov = CryptAcquireContext(container, None, C.PROV_RSA_FULL, C.CRYPT_NEWKEYSET)
    CryptDestroyKey(CryptGenKey(prov, C.AT_SIGNATURE, 0))
    return prov, C.AT_SIGNATURE


def _prov_info_of(handle, key_spec: int) -> CRYPT_KEY_PROV_INFO:
    if _is_ncrypt(handle):
        from capi.ncrypt.keystorage import NCryptGetProperty

        name = NCryptGetProperty(handle, C.NCRYPT_NAME_PROPERTY, 0)
        provider = handle.prov.provider.name
        machine = bool(getattr(handle.key, "machine", False))
        return CRYPT_KEY_PROV_INFO(name, provider, 0,
                                   C.NCRYPT_MACHINE_KEY_FLAG if machine else 0, 0)
    from capi.advapi32.crypt import CryptGetProvParam

    container = CryptGetProvParam(handle, C.PP_CONTAINER, 0)
    provider = CryptGetProvParam(handle, C.PP_NAME, 0)
    prov_type = CryptGetProvParam(handle, C.PP_PROVTYPE, 0)
    machine = bool(handle.flags & C.CRYPT_MACHINE_KEYSET)
    return CRYPT_KEY_PROV_INFO(container, provider, prov_type,
                               C.CRYPT_MACHINE_KEYSET if machine else 0, key_spec)


def _random_serial() -> bytes:
    """16 random bytes, kept positive (CRYPT_INTEGER_BLOB, little-endian)."""
    serial = bytearray(os.urandom(16))
    serial[-1] &= 0x7F
    serial[-1] |= 0x01
    return bytes(serial)


@winapi
def CertCreateSelfSignCertificate(hCryptProvOrNCryptKey: HCRYPTPROV | NCRYPT_KEY_HANDLE | None,
                                  pSubjectIssuerBlob: bytes, dwFlags: int = 0,
                                  pKeyProvInfo: CRYPT_KEY_PROV_INFO | None = None,
                                  pSignatureAlgorithm: CRYPT_ALGORITHM_IDENTIFIER | str
                                  | None = None,
                                  pStartTime: int | datetime.datetime | None = None,
                                  pEndTime: int | datetime.datetime | None = None,
                                  pExtensions: CERT_EXTENSIONS | list[CERT_EXTENSION]
                                  | None = None) -> CertContext:
    """CertCreateSelfSignCertificate -> a context (in no store) for a new v3 certificate
    whose subject and issuer are ``pSubjectIssuerBlob``.

    The key: the handle given (CryptoAPI provider with ``pKeyProvInfo.dwKeySpec`` or
    AT_SIGNATURE, or an NCRYPT_KEY_HANDLE); else the key ``pKeyProvInfo`` names; else,
    as Windows does, a new GUID-named container in the default PROV_RSA_FULL provider
    with a new AT_SIGNATURE key. The signature is made by the provider (a token's key
    never leaves the token). Defaults (documentation of the function): sha1RSA, start now,
    end one year later. CERT_KEY_PROV_INFO_PROP_ID is set unless
    CERT_CREATE_SELFSIGN_NO_KEY_INFO; CERT_CREATE_SELFSIGN_NO_SIGN leaves the signature
    empty.
    """
    from capi.crypt32.cert import CertCreateCertificateContext

    flags = int(dwFlags or 0)
    name = _b(pSubjectIssuerBlob)
    if not name:
        raise WinError(E_INVALIDARG, detail="pSubjectIssuerBlob")
    handle, spec, owned = hCryptProvOrNCryptKey, None, False
    if handle is None:
        if pKeyProvInfo is not None:
            from capi.crypt32.keyacquire import _open_from_prov_info

            handle, spec = _open_from_prov_info(
                pKeyProvInfo, C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG if pKeyProvInfo.dwProvType == 0
                else 0)
        else:
            handle, spec = _new_default_key()
        owned = True
    if spec is None:
        spec = C.CERT_NCRYPT_KEY_SPEC if _is_ncrypt(handle) else (
            pKeyProvInfo.dwKeySpec if pKeyProvInfo is not None else C.AT_SIGNATURE)
    try:
        oid, params = _alg_arg(pSignatureAlgorithm)
        if oid is None:
            oid, params = C.szOID_RSA_SHA1RSA, b""
        public = _public_of_handle(handle, spec)
        start = _filetime(pStartTime, datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0))
        end = _filetime(pEndTime, None) if pEndTime is not None else _add_year(start)
        extensions = list(getattr(pExtensions, "rgExtension", pExtensions) or [])
        info = CERT_INFO(
            dwVersion=C.CERT_V3, SerialNumber=_random_serial(),
            SignatureAlgorithm=CRYPT_ALGORITHM_IDENTIFIER(oid, params),
            Issuer=name, NotBefore=start, NotAfter=end, Subject=name,
            SubjectPublicKeyInfo=info_from_public_key(public), rgExtension=extensions,
        )
        tbs = _encode(C.X509_CERT_TO_BE_SIGNED, info)
        if flags & C.CERT_CREATE_SELFSIGN_NO_SIGN:
            signature = b""
        else:
            signature = sign_with_handle(handle, spec, tbs, oid, params)
        der = _signed_der(tbs, oid, params, signature)
        ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING, der)
        if not flags & C.CERT_CREATE_SELFSIGN_NO_KEY_INFO:
            prov_info = pKeyProvInfo if pKeyProvInfo is not None else _prov_info_of(handle, spec)
            ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, prov_info)
    finally:
        if owned and not _is_ncrypt(handle):
            from capi.advapi32.crypt import CryptReleaseContext

            CryptReleaseContext(handle, 0)
    SetLastError(0)
    return ctx


def _add_year(ticks: int) -> int:
    start = _EPOCH + datetime.timedelta(microseconds=ticks // 10)
    try:
        end = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + 1, day=28)
    delta = end - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10 + ticks % 10


__all__ = [
    "CryptVerifyCertificateSignatureEx", "CryptVerifyCertificateSignature",
    "CryptSignCertificate", "CryptSignAndEncodeCertificate", "CryptExportPublicKeyInfoEx",
    "CryptExportPublicKeyInfo", "CryptImportPublicKeyInfo", "CryptImportPublicKeyInfoEx2",
    "CertGetPublicKeyLength", "CertComparePublicKeyInfo", "CertCompareIntegerBlob",
    "CertCompareCertificateName", "CertCompareCertificate", "CertIsRDNAttrsInCertificateName",
    "CryptHashCertificate", "CryptHashCertificate2", "CryptHashPublicKeyInfo",
    "CryptHashToBeSigned", "CertVerifyTimeValidity", "CertGetEnhancedKeyUsage",
    "CertSetEnhancedKeyUsage", "CertAddEnhancedKeyUsageIdentifier",
    "CertRemoveEnhancedKeyUsageIdentifier", "CertGetValidUsages", "CertGetIntendedKeyUsage",
    "CertFindExtension", "CertFindAttribute", "CertFindRDNAttr",
    "CertGetSubjectCertificateFromStore", "CertGetIssuerCertificateFromStore",
    "CertVerifySubjectCertificateContext", "CertCreateSelfSignCertificate",
]

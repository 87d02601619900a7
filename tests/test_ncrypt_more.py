"""NCrypt beyond the basics: the whole property table of a software key, generic blob
import, NCryptEnumAlgorithms/EnumStorageProviders, persisted ECDSA/ECDH keys on the three
NIST curves, NCryptSecretAgreement/NCryptDeriveKey, NCryptTranslateHandle, and NULL
arguments as Windows answers them.

Sources: W = Wine dlls/ncrypt/tests/ncrypt.c (an ok() that is neither todo_wine nor
broken() is Windows; check_property's expected_status is Windows' even on "todo" rows),
and the Microsoft pages named next to the assertion.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ncrypt import rsa_key

from capi.advapi32 import crypt as capi
from capi.bcrypt.structs import BCryptBuffer, BCryptBufferDesc
from capi.constants import *
from capi.errors import *
from capi.formats.blobs import bcrypt_ecc_blob, bcrypt_rsa_blob
from capi.ncrypt import agreement as ag
from capi.ncrypt import keystorage as nc
from capi.ncrypt import providers as pv
from capi.ncrypt import translate as tr
from capi.testing import raises_hresult

KSP = MS_KEY_STORAGE_PROVIDER
RPC_NULL = 0x800706F4  # HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER)


def public_blob() -> bytes:
    return bcrypt_rsa_blob(rsa_key().public_key(), BCRYPT_RSAPUBLIC_MAGIC)


# ---------------------------------------------------------------------------------------
# The property table (W check_properties, run by test_get_property on an imported
# RSAPUBLIC, RSAPRIVATE and RSAFULLPRIVATE key and by test_create_persisted_key on a new
# ephemeral RSA key)
# ---------------------------------------------------------------------------------------


def _ephemeral_keys(prov):
    yield "RSAPUBLIC", nc.NCryptImportKey(prov, None, BCRYPT_RSAPUBLIC_BLOB, None, public_blob(), 0)
    yield "RSAPRIVATE", nc.NCryptImportKey(
        prov, None, BCRYPT_RSAPRIVATE_BLOB, None, bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC), 0)
    yield "RSAFULLPRIVATE", nc.NCryptImportKey(
        prov, None, BCRYPT_RSAFULLPRIVATE_BLOB, None,
        bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAFULLPRIVATE_MAGIC), 0)
    yield "created", nc.NCryptCreatePersistedKey(prov, NCRYPT_RSA_ALGORITHM, None, 0, 0)


NOT_SUPPORTED_ROWS = [
    NCRYPT_NAME_PROPERTY, NCRYPT_UNIQUE_NAME_PROPERTY, NCRYPT_IMPL_TYPE_PROPERTY,
    NCRYPT_VERSION_PROPERTY, NCRYPT_SECURITY_DESCR_SUPPORT_PROPERTY,
    NCRYPT_USE_COUNT_ENABLED_PROPERTY, NCRYPT_USE_COUNT_PROPERTY,
    NCRYPT_MAX_NAME_LENGTH_PROPERTY, NCRYPT_PIN_PROPERTY, NCRYPT_READER_PROPERTY,
    NCRYPT_SMARTCARD_GUID_PROPERTY, NCRYPT_ASSOCIATED_ECDH_KEY,
    # BCrypt's property names are not NCrypt key properties
    "AlgorithmName", "AuthTagLength", "BlockLength", "ChainingMode", "HashDigestLength",
    "KeyLength", "KeyLengths", "ObjectLength", "PaddingSchemes", "ProviderHandle",
]
NOT_FOUND_ROWS = [NCRYPT_UI_POLICY_PROPERTY, NCRYPT_WINDOW_HANDLE_PROPERTY,
                  NCRYPT_USE_CONTEXT_PROPERTY, NCRYPT_LAST_MODIFIED_PROPERTY,
                  NCRYPT_CERTIFICATE_PROPERTY]


def test_property_table_of_an_ephemeral_rsa_key(prov):
    for label, key in _ephemeral_keys(prov):
        # W check_properties rows with ERROR_SUCCESS
        assert nc.NCryptGetProperty(key, NCRYPT_ALGORITHM_PROPERTY) == "RSA", label
        assert nc.NCryptGetProperty(key, NCRYPT_ALGORITHM_GROUP_PROPERTY) == "RSA"
        assert nc.NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY) == 1024
        # NCRYPT_SUPPORTED_LENGTHS {512, 16384, 8, 1024} (increment 64 is Windows 7's, broken())
        lengths = nc.NCryptGetProperty(key, NCRYPT_LENGTHS_PROPERTY)
        assert lengths == nc.NCRYPT_SUPPORTED_LENGTHS(512, 16384, 8, 1024)
        assert (lengths.dwMinLength, lengths.dwMaxLength, lengths.dwIncrement,
                lengths.dwDefaultLength) == (512, 16384, 8, 1024)
        assert nc.NCryptGetProperty(key, NCRYPT_BLOCK_LENGTH_PROPERTY) == 128
        assert nc.NCryptGetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY) == 0
        assert nc.NCryptGetProperty(key, NCRYPT_KEY_USAGE_PROPERTY) == NCRYPT_ALLOW_ALL_USAGES
        assert nc.NCryptGetProperty(key, NCRYPT_KEY_TYPE_PROPERTY) == 0
        # "Provider Handle" is the handle the key came from (W copies prov into the row)
        assert nc.NCryptGetProperty(key, NCRYPT_PROVIDER_HANDLE_PROPERTY) is prov
        # BCRYPT_SIGNATURE_LENGTH 128 and BCRYPT_PUBLIC_KEY_LENGTH 1024 (Windows 10+)
        assert nc.NCryptGetProperty(key, BCRYPT_SIGNATURE_LENGTH) == 128
        assert nc.NCryptGetProperty(key, BCRYPT_PUBLIC_KEY_LENGTH) == 1024
        for prop in NOT_SUPPORTED_ROWS:
            with raises_hresult(NTE_NOT_SUPPORTED):
                nc.NCryptGetProperty(key, prop)
        for prop in NOT_FOUND_ROWS:
            with raises_hresult(NTE_NOT_FOUND):
                nc.NCryptGetProperty(key, prop)
        # W: NCRYPT_SECURITY_DESCR_PROPERTY asked with dwFlags 0 -> NTE_BAD_FLAGS
        with raises_hresult(NTE_BAD_FLAGS):
            nc.NCryptGetProperty(key, NCRYPT_SECURITY_DESCR_PROPERTY)
        nc.NCryptFreeObject(key)
    # W test_get_property: handle 0 -> NTE_INVALID_HANDLE
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptGetProperty(None, NCRYPT_LENGTH_PROPERTY)


def test_property_table_of_a_persisted_key(prov):
    # "Key Storage Property Identifiers": Name, Unique Name, Modified (a FILETIME, persisted
    # keys only) and Security Descr apply to a persisted key.
    before = time.time_ns() // 100 + 116444736000000000
    key = nc.NCryptCreatePersistedKey(prov, NCRYPT_RSA_ALGORITHM, "more-props", 0, 0)
    with raises_hresult(NTE_NOT_FOUND):  # not on disk yet
        nc.NCryptGetProperty(key, NCRYPT_LAST_MODIFIED_PROPERTY)
    nc.NCryptFinalizeKey(key, 0)
    key = nc.NCryptOpenKey(prov, "more-props", 0, 0)
    assert nc.NCryptGetProperty(key, NCRYPT_NAME_PROPERTY) == "more-props"
    assert len(nc.NCryptGetProperty(key, NCRYPT_UNIQUE_NAME_PROPERTY)) > len("more-props")
    modified = nc.NCryptGetProperty(key, NCRYPT_LAST_MODIFIED_PROPERTY)
    assert before - 10**7 <= modified <= time.time_ns() // 100 + 116444736000000000 + 10**7
    assert nc.NCryptGetProperty(key, NCRYPT_SECURITY_DESCR_PROPERTY, DACL_SECURITY_INFORMATION)
    assert nc.NCryptGetProperty(key, NCRYPT_PROVIDER_HANDLE_PROPERTY) is prov
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTHS_PROPERTY).dwDefaultLength == 1024


def test_set_property_rules(prov):
    key = nc.NCryptImportKey(prov, None, BCRYPT_RSAPUBLIC_BLOB, None, public_blob(), 0)
    # W test_set_property: Length 2048 on an imported public key succeeds
    nc.NCryptSetProperty(key, NCRYPT_LENGTH_PROPERTY, 2048)
    nc.NCryptSetProperty(key, NCRYPT_LENGTH_PROPERTY, (2048).to_bytes(4, "little"))
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY) == 1024  # the material is the blob's
    with raises_hresult(NTE_INVALID_HANDLE):  # W: handle 0
        nc.NCryptSetProperty(None, NCRYPT_LENGTH_PROPERTY, 2048)
    with raises_hresult(NTE_NOT_SUPPORTED):  # W (todo_wine): Name is read-only
        nc.NCryptSetProperty(key, NCRYPT_NAME_PROPERTY, "Key name")
    # An imported private key before finalization takes a Length as well
    priv = nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, None,
                              bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC), NCRYPT_DO_NOT_FINALIZE_FLAG)
    nc.NCryptSetProperty(priv, NCRYPT_LENGTH_PROPERTY, 1024)
    nc.NCryptFinalizeKey(priv, 0)

    created = nc.NCryptCreatePersistedKey(prov, NCRYPT_RSA_ALGORITHM, None, 0, 0)
    nc.NCryptSetProperty(created, NCRYPT_LENGTH_PROPERTY, 2048)  # W
    with raises_hresult(NTE_NOT_SUPPORTED):  # W (todo_wine)
        nc.NCryptSetProperty(created, NCRYPT_NAME_PROPERTY, "Key name")
    with raises_hresult(NTE_NOT_SUPPORTED):  # W (todo_wine): an unknown property
        nc.NCryptSetProperty(created, "My Custom Property", "value")
    nc.NCryptFinalizeKey(created, 0)
    assert nc.NCryptGetProperty(created, NCRYPT_LENGTH_PROPERTY) == 2048
    assert nc.NCryptGetProperty(created, NCRYPT_BLOCK_LENGTH_PROPERTY) == 256
    assert nc.NCryptGetProperty(created, BCRYPT_SIGNATURE_LENGTH) == 256


# ---------------------------------------------------------------------------------------
# Import (W test_key_import_rsa)
# ---------------------------------------------------------------------------------------


def test_generic_public_and_private_blobs(prov):
    blob = public_blob()
    key = nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, blob, 0)  # W
    assert nc.NCryptExportKey(key, None, BCRYPT_RSAPUBLIC_BLOB) == blob
    assert nc.NCryptExportKey(key, None, BCRYPT_PUBLIC_KEY_BLOB) == blob
    nc.NCryptFreeObject(key)
    with raises_hresult(NTE_BAD_FLAGS):  # W: flags 49
        nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, blob, 49)
    with raises_hresult(NTE_INVALID_PARAMETER):  # W: invalid_rsa_key_blob ("uYA1" magic)
        nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, b"uYA1" + blob[4:], 0)
    bad_exp = blob[:8] + struct.pack("<I", 9) + blob[12:]
    with raises_hresult(NTE_BAD_DATA):  # W: cbPublicExp 9
        nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, bad_exp, 0)
    for wrong in (blob[:-1], blob + b"\0"):
        with raises_hresult(NTE_BAD_DATA):  # W: one byte short or long
            nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, wrong, 0)
    # The magic decides: an RSA2 blob as BCRYPT_PRIVATE_KEY_BLOB, an ECC blob too
    priv = nc.NCryptImportKey(prov, None, BCRYPT_PRIVATE_KEY_BLOB, None,
                              bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC), 0)
    digest = hashlib.sha256(b"generic").digest()
    pkcs1 = nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
    sig = nc.NCryptSignHash(priv, pkcs1, digest, NCRYPT_PAD_PKCS1_FLAG)
    rsa_key().public_key().verify(sig, b"generic", padding.PKCS1v15(), hashes.SHA256())
    ec_priv = ec.generate_private_key(ec.SECP384R1())
    ec_key = nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None,
                                bcrypt_ecc_blob(ec_priv.public_key(), "ECDSA_P384", False), 0)
    assert nc.NCryptGetProperty(ec_key, NCRYPT_ALGORITHM_PROPERTY) == "ECDSA_P384"
    with raises_hresult(NTE_INVALID_PARAMETER):  # a private magic is not a PUBLICBLOB
        nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None,
                           bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC), 0)


def test_bit_length_smaller_than_the_modulus_is_accepted(prov):
    # W rsa_key_blob_with_invalid_bit_length: BitLength 768 over a 128-byte modulus
    # imports ("I'm not sure why, but this returns success").
    blob = public_blob()
    odd = blob[:4] + struct.pack("<I", 768) + blob[8:]
    for blob_type in (BCRYPT_PUBLIC_KEY_BLOB, BCRYPT_RSAPUBLIC_BLOB):
        key = nc.NCryptImportKey(prov, None, blob_type, None, odd, 0)
        assert key
        nc.NCryptFreeObject(key)


# ---------------------------------------------------------------------------------------
# Verify (W test_verify_signature)
# ---------------------------------------------------------------------------------------


def test_verify_signature_arguments(prov):
    private = rsa_key(2048)
    blob = bcrypt_rsa_blob(private.public_key(), BCRYPT_RSAPUBLIC_MAGIC)
    key = nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, blob, 0)
    digest = hashlib.sha256(b"to be signed").digest()
    sig = private.sign(b"to be signed", padding.PKCS1v15(), hashes.SHA256())
    pad = nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
    nc.NCryptVerifySignature(key, pad, digest, sig, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_BAD_SIGNATURE):
        nc.NCryptVerifySignature(key, pad, digest, bytes(reversed(sig)), NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_INVALID_PARAMETER):  # no padding info, no flag
        nc.NCryptVerifySignature(key, None, digest, sig, 0)
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptVerifySignature(None, pad, digest, sig, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(RPC_NULL):  # NULL hash
        nc.NCryptVerifySignature(key, pad, None, sig, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(RPC_NULL):  # NULL signature
        nc.NCryptVerifySignature(key, pad, digest, None, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_INVALID_PARAMETER):  # a 4-byte hash (W, todo_wine)
        nc.NCryptVerifySignature(key, pad, digest[:4], sig, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_INVALID_PARAMETER):  # a 4-byte signature (W, todo_wine)
        nc.NCryptVerifySignature(key, pad, digest, sig[:4], NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_INVALID_PARAMETER):  # MD5 padding over a SHA-256 hash (W, todo_wine)
        nc.NCryptVerifySignature(key, nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_MD5_ALGORITHM), digest,
                                 sig, NCRYPT_PAD_PKCS1_FLAG)


# ---------------------------------------------------------------------------------------
# NCryptIsAlgSupported (W test_NCryptIsAlgSupported), NCryptEnumAlgorithms,
# NCryptEnumStorageProviders, NCryptFreeBuffer
# ---------------------------------------------------------------------------------------


def test_is_alg_supported(prov):
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptIsAlgSupported(None, BCRYPT_RSA_ALGORITHM, 0)
    with raises_hresult(RPC_NULL):
        nc.NCryptIsAlgSupported(prov, None, 0)
    for alg in (BCRYPT_RSA_ALGORITHM, "RSA_SIGN"):
        with raises_hresult(NTE_BAD_FLAGS):  # flags 20, whatever the algorithm
            nc.NCryptIsAlgSupported(prov, alg, 20)
    nc.NCryptIsAlgSupported(prov, BCRYPT_RSA_ALGORITHM, 0)
    nc.NCryptIsAlgSupported(prov, BCRYPT_RSA_ALGORITHM, NCRYPT_SILENT_FLAG)
    for alg in ("ECDH_P256", "ECDSA_P256", "ECDSA_P384"):
        nc.NCryptIsAlgSupported(prov, alg, 0)
    for alg in ("SHA256", "SHA384", "SHA512", "SHA1", "MD5", "MD4", "MD2", "RSA_SIGN", "RNG"):
        with raises_hresult(NTE_NOT_SUPPORTED):
            nc.NCryptIsAlgSupported(prov, alg, 0)


@pytest.mark.xfail(strict=True, reason="the software KSP here has no symmetric or DSA keys; "
                   "Windows 8+ reports AES, 3DES and DSA as supported (W)")
@pytest.mark.parametrize("alg", ["AES", "3DES", "DSA"])
def test_is_alg_supported_symmetric_and_dsa(prov, alg):
    nc.NCryptIsAlgSupported(prov, alg, 0)


def test_enum_algorithms(prov):
    # "NCryptAlgorithmName structure": RSA is class NCRYPT_ASYMMETRIC_ENCRYPTION_INTERFACE
    # (asymmetric encryption and signature operations), ECDSA NCRYPT_SIGNATURE_INTERFACE,
    # ECDH NCRYPT_SECRET_AGREEMENT_INTERFACE.
    everything = {a.pszName: a for a in pv.NCryptEnumAlgorithms(prov, 0)}
    assert set(everything) == {"RSA", "ECDSA_P256", "ECDSA_P384", "ECDSA_P521", "ECDH_P256",
                               "ECDH_P384", "ECDH_P521"}
    assert (everything["RSA"].dwClass, everything["RSA"].dwAlgOperations) == (
        NCRYPT_ASYMMETRIC_ENCRYPTION_INTERFACE,
        NCRYPT_ASYMMETRIC_ENCRYPTION_OPERATION | NCRYPT_SIGNATURE_OPERATION)
    signing = {a.pszName for a in pv.NCryptEnumAlgorithms(prov, NCRYPT_SIGNATURE_OPERATION)}
    assert signing == {"RSA", "ECDSA_P256", "ECDSA_P384", "ECDSA_P521"}
    agreement = pv.NCryptEnumAlgorithms(prov, NCRYPT_SECRET_AGREEMENT_OPERATION)
    assert {a.pszName for a in agreement} == {"ECDH_P256", "ECDH_P384", "ECDH_P521"}
    assert {a.dwClass for a in agreement} == {NCRYPT_SECRET_AGREEMENT_INTERFACE}
    encryption = pv.NCryptEnumAlgorithms(prov, NCRYPT_ASYMMETRIC_ENCRYPTION_OPERATION)
    assert [a.pszName for a in encryption] == ["RSA"]
    assert pv.NCryptEnumAlgorithms(prov, NCRYPT_CIPHER_OPERATION | NCRYPT_HASH_OPERATION) == []
    pv.NCryptFreeBuffer(encryption)
    with raises_hresult(NTE_INVALID_HANDLE):
        pv.NCryptEnumAlgorithms(None, 0)
    with raises_hresult(NTE_BAD_FLAGS):
        pv.NCryptEnumAlgorithms(prov, 0, 0x1)


def test_enum_storage_providers(machine):
    names = [p.pszName for p in pv.NCryptEnumStorageProviders(0)]
    assert names[0] == MS_KEY_STORAGE_PROVIDER
    assert MS_SMART_CARD_KEY_STORAGE_PROVIDER in names
    for name in names:  # each one opens
        nc.NCryptFreeObject(nc.NCryptOpenStorageProvider(name, 0))
    with raises_hresult(NTE_BAD_FLAGS):
        pv.NCryptEnumStorageProviders(0x1)


# ---------------------------------------------------------------------------------------
# Persisted ECDSA / ECDH keys on P-256, P-384 and P-521
# ---------------------------------------------------------------------------------------

CURVES = [("P256", ec.SECP256R1, hashes.SHA256, 32), ("P384", ec.SECP384R1, hashes.SHA384, 48),
          ("P521", ec.SECP521R1, hashes.SHA512, 66)]


@pytest.mark.parametrize("curve, curve_cls, hash_cls, size", CURVES)
def test_persisted_ecdsa_key(prov, curve, curve_cls, hash_cls, size):
    alg = "ECDSA_" + curve
    key = nc.NCryptCreatePersistedKey(prov, alg, f"ec-{curve}", 0, 0)
    nc.NCryptSetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG)
    nc.NCryptFinalizeKey(key, 0)
    nc.NCryptFreeObject(key)
    key = nc.NCryptOpenKey(prov, f"ec-{curve}", 0, 0)
    bits = curve_cls().key_size
    assert nc.NCryptGetProperty(key, NCRYPT_ALGORITHM_PROPERTY) == alg
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY) == bits
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTHS_PROPERTY) == nc.NCRYPT_SUPPORTED_LENGTHS(bits, bits, 0, bits)
    assert nc.NCryptGetProperty(key, BCRYPT_SIGNATURE_LENGTH) == 2 * size
    assert [k.pszAlgid for k in nc.NCryptEnumKeys(prov) if k.pszName == f"ec-{curve}"] == [alg]
    data = b"ecdsa over " + curve.encode()
    digest = hashlib.new(hash_cls.name, data).digest()
    sig = nc.NCryptSignHash(key, None, digest, 0)
    assert len(sig) == 2 * size  # r || s, big-endian
    nc.NCryptVerifySignature(key, None, digest, sig, 0)
    with raises_hresult(NTE_BAD_SIGNATURE):
        nc.NCryptVerifySignature(key, None, digest, sig[:-1] + bytes([sig[-1] ^ 1]), 0)
    public_blob = nc.NCryptExportKey(key, None, BCRYPT_ECCPUBLIC_BLOB)
    assert struct.unpack_from("<I", public_blob, 4)[0] == size
    x = int.from_bytes(public_blob[8:8 + size], "big")
    y = int.from_bytes(public_blob[8 + size:8 + 2 * size], "big")
    public = ec.EllipticCurvePublicNumbers(x, y, curve_cls()).public_key()
    der = asym_utils.encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
    public.verify(der, data, ec.ECDSA(hash_cls()))
    private_blob = nc.NCryptExportKey(key, None, BCRYPT_ECCPRIVATE_BLOB)
    d = int.from_bytes(private_blob[8 + 2 * size:], "big")
    assert ec.derive_private_key(d, curve_cls()).public_key().public_numbers() == public.public_numbers()
    pkcs8 = nc.NCryptExportKey(key, None, NCRYPT_PKCS8_PRIVATE_KEY_BLOB)
    assert serialization.load_der_private_key(pkcs8, None).private_numbers().private_value == d
    # Generic export is the specific blob ("NCryptExportKey function")
    assert nc.NCryptExportKey(key, None, BCRYPT_PUBLIC_KEY_BLOB) == public_blob
    assert nc.NCryptExportKey(key, None, BCRYPT_PRIVATE_KEY_BLOB) == private_blob
    # The public blob imports as a verifying key, generic or specific
    verifier = nc.NCryptImportKey(prov, None, BCRYPT_PUBLIC_KEY_BLOB, None, public_blob, 0)
    nc.NCryptVerifySignature(verifier, None, digest, sig, 0)
    nc.NCryptDeleteKey(key, 0)


def _ecdh_pair(prov, curve, name=None):
    key = nc.NCryptCreatePersistedKey(prov, "ECDH_" + curve, name, 0, 0)
    nc.NCryptFinalizeKey(key, 0)
    return key


def _buffers(*pairs):
    return BCryptBufferDesc(0, [BCryptBuffer(0, t, v) for t, v in pairs])


@pytest.mark.parametrize("curve, curve_cls, hash_cls, size", CURVES)
def test_secret_agreement_and_derive(prov, curve, curve_cls, hash_cls, size):
    ours = _ecdh_pair(prov, curve, f"ecdh-{curve}")
    nc.NCryptFreeObject(ours)
    ours = nc.NCryptOpenKey(prov, f"ecdh-{curve}", 0, 0)  # persisted, reopened
    peer = ec.generate_private_key(curve_cls())
    peer_key = nc.NCryptImportKey(prov, None, BCRYPT_ECCPUBLIC_BLOB, None,
                                  bcrypt_ecc_blob(peer.public_key(), "ECDH_" + curve, False), 0)
    our_blob = nc.NCryptExportKey(ours, None, BCRYPT_ECCPUBLIC_BLOB)
    our_public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(our_blob[8:8 + size], "big"), int.from_bytes(our_blob[8 + size:], "big"),
        curve_cls()).public_key()
    z = peer.exchange(ec.ECDH(), our_public)
    secret = ag.NCryptSecretAgreement(ours, peer_key, 0)
    # "BCryptDeriveKey" (NCryptDeriveKey takes the same KDFs): HASH is H(prepend || Z ||
    # append), SHA-1 by default; HMAC keyed by KDF_HMAC_KEY; TRUNCATE returns Z
    # little-endian (Wine bcrypt.c test_ECDH).
    assert ag.NCryptDeriveKey(secret, "HASH", None) == hashlib.sha1(z).digest()
    params = _buffers((0, "SHA256"), (1, b"pre"), (2, b"post"))
    assert ag.NCryptDeriveKey(secret, "HASH", params) == hashlib.sha256(b"pre" + z + b"post").digest()
    mac = hmac.HMAC(b"hmac key", hashes.SHA384())
    mac.update(z)
    assert ag.NCryptDeriveKey(secret, "HMAC", _buffers((0, "SHA384"), (3, b"hmac key"))) == mac.finalize()
    mac = hmac.HMAC(z, hashes.SHA256())
    mac.update(z)
    assert ag.NCryptDeriveKey(secret, "HMAC", _buffers((0, "SHA256")),
                              ag.KDF_USE_SECRET_AS_HMAC_KEY_FLAG) == mac.finalize()
    assert ag.NCryptDeriveKey(secret, "TRUNCATE", None) == z[::-1]
    with raises_hresult(NTE_NOT_SUPPORTED):  # an unknown KDF / hash
        ag.NCryptDeriveKey(secret, "NO SUCH KDF", None)
    with raises_hresult(NTE_NOT_SUPPORTED):
        ag.NCryptDeriveKey(secret, "HASH", _buffers((0, "RNG")))
    with raises_hresult(NTE_INVALID_PARAMETER):  # HMAC without a key
        ag.NCryptDeriveKey(secret, "HMAC", None)
    # Both sides agree: the peer's imported private key against our public key
    peer_priv = nc.NCryptImportKey(prov, None, BCRYPT_ECCPRIVATE_BLOB, None,
                                   bcrypt_ecc_blob(peer, "ECDH_" + curve, True), 0)
    ours_public = nc.NCryptImportKey(prov, None, BCRYPT_ECCPUBLIC_BLOB, None, our_blob, 0)
    other = ag.NCryptSecretAgreement(peer_priv, ours_public, 0)
    assert ag.NCryptDeriveKey(other, "TRUNCATE", None) == z[::-1]
    nc.NCryptFreeObject(secret)
    with raises_hresult(NTE_INVALID_HANDLE):
        ag.NCryptDeriveKey(secret, "HASH", None)


def test_secret_agreement_errors(prov):
    a, b = _ecdh_pair(prov, "P256"), _ecdh_pair(prov, "P384")
    with raises_hresult(NTE_INVALID_HANDLE):
        ag.NCryptSecretAgreement(None, a, 0)
    with raises_hresult(NTE_INVALID_HANDLE):
        ag.NCryptSecretAgreement(a, prov, 0)
    with raises_hresult(NTE_INVALID_PARAMETER):  # two curves
        ag.NCryptSecretAgreement(a, b, 0)
    signer = nc.NCryptCreatePersistedKey(prov, "ECDSA_P256", None, 0, 0)
    nc.NCryptFinalizeKey(signer, 0)
    with raises_hresult(NTE_INVALID_PARAMETER):  # not an ECDH key
        ag.NCryptSecretAgreement(signer, a, 0)
    unfinal = nc.NCryptCreatePersistedKey(prov, "ECDH_P256", None, 0, 0)
    with raises_hresult(NTE_BAD_KEY_STATE):
        ag.NCryptSecretAgreement(unfinal, a, 0)
    with raises_hresult(NTE_BAD_FLAGS):
        ag.NCryptSecretAgreement(a, a, 0x1)
    no_agree = nc.NCryptCreatePersistedKey(prov, "ECDH_P256", None, 0, 0)
    nc.NCryptSetProperty(no_agree, NCRYPT_KEY_USAGE_PROPERTY, NCRYPT_ALLOW_SIGNING_FLAG)
    nc.NCryptFinalizeKey(no_agree, 0)
    with raises_hresult(NTE_NOT_SUPPORTED):  # Key Usage without ALLOW_KEY_AGREEMENT
        ag.NCryptSecretAgreement(no_agree, a, 0)


def _openssl_tls1_prf(digest: str, secret: bytes, label_and_seed: bytes) -> bytes | None:
    try:
        out = subprocess.run(
            ["openssl", "kdf", "-keylen", "48", "-kdfopt", f"digest:{digest}",
             "-kdfopt", f"hexsecret:{secret.hex()}", "-kdfopt", f"hexseed:{label_and_seed.hex()}",
             "TLS1-PRF"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    if out.returncode:
        return None
    return bytes.fromhex(out.stdout.strip().replace(":", ""))


@pytest.mark.parametrize("protocol, digest", [(0x00000800, "SHA256"), (0x00000080, "MD5-SHA1")])
def test_derive_tls_prf_matches_openssl(prov, protocol, digest):
    # "BCryptDeriveKey": BCRYPT_KDF_TLS_PRF takes KDF_TLS_PRF_LABEL, a 64-byte
    # KDF_TLS_PRF_SEED and KDF_TLS_PRF_PROTOCOL, and returns the 48-byte master secret.
    a, b = _ecdh_pair(prov, "P256"), _ecdh_pair(prov, "P256")
    secret = ag.NCryptSecretAgreement(a, b, 0)
    z = ag.NCryptDeriveKey(secret, "TRUNCATE", None)[::-1]
    seed = bytes(range(64))
    params = _buffers((4, b"master secret"), (5, seed), (ag.KDF_TLS_PRF_PROTOCOL, protocol))
    out = ag.NCryptDeriveKey(secret, "TLS_PRF", params)
    assert len(out) == 48
    expected = _openssl_tls1_prf(digest, z, b"master secret" + seed)
    if expected is None:
        pytest.skip("the openssl command has no kdf verb")
    assert out == expected
    with raises_hresult(NTE_INVALID_PARAMETER):  # the seed must be 64 bytes
        ag.NCryptDeriveKey(secret, "TLS_PRF", _buffers((4, b"master secret"), (5, seed[:32])))


# ---------------------------------------------------------------------------------------
# NCryptTranslateHandle ("NCryptTranslateHandle function")
# ---------------------------------------------------------------------------------------


def test_translate_handle(machine):
    hprov = capi.CryptAcquireContext("translate-me", MS_ENHANCED_PROV, PROV_RSA_FULL, CRYPT_NEWKEYSET)
    sign_key = capi.CryptGenKey(hprov, AT_SIGNATURE, 0)
    capi.CryptGenKey(hprov, AT_KEYEXCHANGE, CRYPT_EXPORTABLE)
    public = serialization.load_der_public_key(
        sign_key.pair.public.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    ncprov, nkey = tr.NCryptTranslateHandle(hprov, sign_key, 0, 0)
    assert isinstance(ncprov, nc.NCRYPT_PROV_HANDLE)
    assert nc.NCryptGetProperty(nkey, NCRYPT_NAME_PROPERTY) == "translate-me"
    assert nc.NCryptGetProperty(nkey, NCRYPT_KEY_USAGE_PROPERTY) == NCRYPT_ALLOW_SIGNING_FLAG
    digest = hashlib.sha256(b"cng through capi").digest()
    pss = nc.BCRYPT_PSS_PADDING_INFO(BCRYPT_SHA256_ALGORITHM, 32)
    sig = nc.NCryptSignHash(nkey, pss, digest, NCRYPT_PAD_PSS_FLAG)
    public.verify(sig, b"cng through capi", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    # By KeySpec with no key handle: the AT_KEYEXCHANGE key, exportable
    _, xkey = tr.NCryptTranslateHandle(hprov, None, AT_KEYEXCHANGE, 0)
    assert nc.NCryptGetProperty(xkey, NCRYPT_EXPORT_POLICY_PROPERTY) & NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG
    ct = nc.NCryptEncrypt(xkey, b"x", None, NCRYPT_PAD_PKCS1_FLAG)
    assert nc.NCryptDecrypt(xkey, ct, None, NCRYPT_PAD_PKCS1_FLAG) == b"x"
    with raises_hresult(NTE_INVALID_PARAMETER):
        tr.NCryptTranslateHandle(hprov, None, 5, 0)
    with raises_hresult(NTE_BAD_FLAGS):
        tr.NCryptTranslateHandle(hprov, sign_key, 0, 0x1)
    capi.CryptReleaseContext(hprov, 0)
    with raises_hresult(NTE_INVALID_HANDLE):
        tr.NCryptTranslateHandle(hprov, None, AT_SIGNATURE, 0)
    with raises_hresult(NTE_INVALID_HANDLE):
        tr.NCryptTranslateHandle(None, None, AT_SIGNATURE, 0)


# ---------------------------------------------------------------------------------------
# NULL handles and arguments (W test_free_object, test_finalize_key, test_NCryptEncrypt,
# test_create_persisted_key)
# ---------------------------------------------------------------------------------------


def test_null_and_foreign_handles(prov):
    key = nc.NCryptImportKey(prov, None, BCRYPT_RSAPUBLIC_BLOB, None, public_blob(), 0)
    nc.NCryptFreeObject(key)
    for bad in (None, bytearray(50), key):  # NULL, a random buffer, a freed handle
        with raises_hresult(NTE_INVALID_HANDLE):
            nc.NCryptFreeObject(bad)
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptFinalizeKey(None, 0)
    created = nc.NCryptCreatePersistedKey(prov, NCRYPT_RSA_ALGORITHM, None, 0, 0)
    with raises_hresult(NTE_INVALID_HANDLE):  # a provider handle where a key is wanted
        nc.NCryptEncrypt(prov, b"Hello world\0", None, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_BAD_KEY_STATE):  # W (todo_wine): not finalized
        nc.NCryptEncrypt(created, b"Hello world\0", None, NCRYPT_PAD_PKCS1_FLAG)
    nc.NCryptFinalizeKey(created, 0)
    with raises_hresult(NTE_BAD_FLAGS):  # flags 51342
        nc.NCryptEncrypt(created, b"Hello world\0", None, 51342)
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptCreatePersistedKey(None, NCRYPT_RSA_ALGORITHM, None, 0, 0)
    with raises_hresult(RPC_NULL):
        nc.NCryptCreatePersistedKey(prov, None, None, 0, 0)


# ---------------------------------------------------------------------------------------
# A token KSP enumerates each key with its own algorithm
# ---------------------------------------------------------------------------------------


def test_token_enum_keys_reports_ec_keys(machine, softhsm_token):
    # "NCryptKeyName structure": pszAlgid names the key's algorithm.
    from csp import tokens

    tokens.add_pkcs11(machine, "Contoso HSM KSP", softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin, kind="ksp")
    ksp = nc.NCryptOpenStorageProvider("Contoso HSM KSP")
    for alg, name in (("ECDSA_P256", "token-ec256"), ("ECDSA_P384", "token-ec384"), ("RSA", "token-rsa")):
        key = nc.NCryptCreatePersistedKey(ksp, alg, name)
        nc.NCryptFinalizeKey(key)
        nc.NCryptFreeObject(key)
    key = nc.NCryptOpenKey(ksp, "token-ec384")
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTHS_PROPERTY) == nc.NCRYPT_SUPPORTED_LENGTHS(384, 384, 0, 384)
    assert nc.NCryptGetProperty(key, BCRYPT_SIGNATURE_LENGTH) == 96
    assert nc.NCryptGetProperty(key, NCRYPT_PROVIDER_HANDLE_PROPERTY) is ksp
    rsa_lengths = nc.NCryptGetProperty(nc.NCryptOpenKey(ksp, "token-rsa"), NCRYPT_LENGTHS_PROPERTY)
    assert rsa_lengths.dwMinLength <= 2048 <= rsa_lengths.dwMaxLength and rsa_lengths.dwIncrement == 8
    found = {k.pszName: k.pszAlgid for k in nc.NCryptEnumKeys(ksp)}
    assert found == {"token-ec256": "ECDSA_P256", "token-ec384": "ECDSA_P384", "token-rsa": "RSA"}
    assert [a.pszName for a in pv.NCryptEnumAlgorithms(ksp, NCRYPT_SECRET_AGREEMENT_OPERATION)] == []


# ---------------------------------------------------------------------------------------
# PP_ENUMALGS / PP_ENUMALGS_EX of the software CSPs (Microsoft docs "Base Provider
# Algorithms", "Enhanced Provider Algorithms", "AES Provider Algorithms"; "PROV_ENUMALGS
# structure", "PROV_ENUMALGS_EX structure"; CryptGetProvParam: the list ends with
# ERROR_NO_MORE_ITEMS, CRYPT_FIRST restarts it)
# ---------------------------------------------------------------------------------------


def _enum(hprov, param):
    out, flags = [], CRYPT_FIRST
    while True:
        try:
            out.append(capi.CryptGetProvParam(hprov, param, flags))
        except WinError as exc:
            assert exc.winerror == ERROR_NO_MORE_ITEMS
            return out
        flags = 0


CSPS = [
    (MS_DEF_PROV, PROV_RSA_FULL, {"RC2", "RC4", "DES", "MD2", "MD4", "MD5", "SHA-1", "SSL3 SHAMD5",
                                  "MAC", "HMAC", "RSA_SIGN", "RSA_KEYX"}),
    (MS_ENHANCED_PROV, PROV_RSA_FULL, {"RC2", "RC4", "DES", "3DES TWO KEY", "3DES", "MD2", "MD4",
                                       "MD5", "SHA-1", "SSL3 SHAMD5", "MAC", "HMAC", "RSA_SIGN",
                                       "RSA_KEYX"}),
    (MS_ENH_RSA_AES_PROV, PROV_RSA_AES, {"RC2", "RC4", "DES", "3DES TWO KEY", "3DES", "AES-128",
                                         "AES-192", "AES-256", "MD2", "MD4", "MD5", "SHA-1",
                                         "SHA-256", "SHA-384", "SHA-512", "SSL3 SHAMD5", "MAC",
                                         "HMAC", "RSA_SIGN", "RSA_KEYX"}),
    (MS_DEF_RSA_SCHANNEL_PROV, PROV_RSA_SCHANNEL, {"RC2", "RC4", "DES", "3DES TWO KEY", "3DES",
                                                   "AES-128", "AES-192", "AES-256", "MD5",
                                                   "SHA-1", "SSL3 SHAMD5", "MAC", "HMAC",
                                                   "RSA_SIGN", "RSA_KEYX"}),
]


@pytest.mark.parametrize("name, ptype, expected", CSPS, ids=["base", "enhanced", "aes", "schannel"])
def test_pp_enumalgs_lists_what_the_provider_has(machine, name, ptype, expected):
    hprov = capi.CryptAcquireContext(None, name, ptype, CRYPT_VERIFYCONTEXT)
    short = _enum(hprov, PP_ENUMALGS)
    ex = _enum(hprov, PP_ENUMALGS_EX)
    assert {a.szName for a in short} == expected
    assert [a.aiAlgid for a in short] == [a.aiAlgid for a in ex]
    for entry, long in zip(short, ex, strict=True):
        assert entry.dwBitLen == long.dwDefaultLen
        assert long.dwMinLen <= long.dwDefaultLen <= long.dwMaxLen
    # Every listed algorithm is usable: ciphers generate at their minimum, default and
    # maximum lengths, hashes are created (MAC over a block-cipher key, HMAC with one).
    block_key = capi.CryptGenKey(hprov, CALG_RC2, 0)
    for long in ex:
        alg = long.aiAlgid
        cls = alg & 0xE000
        if cls == 0x6000:  # ALG_CLASS_DATA_ENCRYPT
            for bits in {long.dwMinLen, long.dwDefaultLen, long.dwMaxLen}:
                key = capi.CryptGenKey(hprov, alg, bits << 16)
                assert capi.CryptGetKeyParam(key, KP_KEYLEN) == bits
            with raises_hresult(NTE_BAD_FLAGS):  # one step past the maximum
                capi.CryptGenKey(hprov, alg, (long.dwMaxLen + 8) << 16)
        elif cls == 0x8000:  # ALG_CLASS_HASH
            needs_key = alg in (CALG_MAC, CALG_HMAC)
            h = capi.CryptCreateHash(hprov, alg, block_key if needs_key else None)
            if long.dwDefaultLen and alg != CALG_SSL3_SHAMD5:
                assert capi.CryptGetHashParam(h, HP_HASHSIZE) * 8 == long.dwDefaultLen
    # Algorithms the provider does not list are refused
    listed = {a.aiAlgid for a in ex}
    for alg in (CALG_3DES, CALG_AES_128, CALG_MD2, CALG_SHA_256):
        if alg not in listed:
            with raises_hresult(NTE_BAD_ALGID):
                if alg & 0xE000 == 0x6000:
                    capi.CryptGenKey(hprov, alg, 0)
                else:
                    capi.CryptCreateHash(hprov, alg, None)
    # CRYPT_FIRST starts over
    assert capi.CryptGetProvParam(hprov, PP_ENUMALGS, CRYPT_FIRST) == short[0]


@pytest.mark.parametrize("kdf, params", [
    (None, None), (5, None), ("HASH", 7), ("HASH", _buffers((0, 12345))),
    ("HASH", BCryptBufferDesc(0, 5)), ("HASH", BCryptBufferDesc(0, [BCryptBuffer(0, "x", b"")])),
    ("HMAC", _buffers((3, 99))), ("TLS_PRF", _buffers((4, 5), (5, bytes(64)))),
    ("TLS_PRF", _buffers((4, b"l"), (5, bytes(64)), (6, "tls"))),
    ("TLS_PRF", _buffers((4, b"l"), (5, bytes(64)), (0, b"\xff"))),
])
def test_derive_key_bad_parameters_are_win_errors(prov, kdf, params):
    # Bad input: a WinError (never a Python traceback), whatever the shape.
    a = _ecdh_pair(prov, "P256")
    secret = ag.NCryptSecretAgreement(a, a, 0)
    with pytest.raises(WinError):
        ag.NCryptDeriveKey(secret, kdf, params)


def test_dword_arguments_that_are_not_numbers(prov):
    # Bad input is a WinError, never a traceback.
    with raises_hresult(NTE_INVALID_PARAMETER):
        pv.NCryptEnumAlgorithms(prov, "signing")
    with raises_hresult(NTE_INVALID_PARAMETER):
        nc.NCryptIsAlgSupported(prov, "RSA", object())


@pytest.mark.parametrize("os_version, supported", [("2012", False), ("2012R2", True), ("2016", True)])
def test_key_length_properties_by_windows_version(tmp_path, os_version, supported):
    # W check_properties: BCRYPT_SIGNATURE_LENGTH / BCRYPT_PUBLIC_KEY_LENGTH are
    # NTE_NOT_SUPPORTED "<= Win 8" (the broken() status), 128 and 1024 after.
    from capi.host.context import use_machine
    from capi.host.machine import Machine

    m = Machine.create(tmp_path / os_version, os_version=os_version)
    try:
        with use_machine(m), nc.NCryptOpenStorageProvider(KSP) as p:
            key = nc.NCryptImportKey(p, None, BCRYPT_RSAPUBLIC_BLOB, None, public_blob(), 0)
            for prop, value in ((BCRYPT_SIGNATURE_LENGTH, 128), (BCRYPT_PUBLIC_KEY_LENGTH, 1024)):
                if supported:
                    assert nc.NCryptGetProperty(key, prop) == value
                else:
                    with raises_hresult(NTE_NOT_SUPPORTED):
                        nc.NCryptGetProperty(key, prop)
    finally:
        m.close()


def test_public_only_keys_neither_sign_nor_decrypt(prov):
    # No traceback: the invalid parameter BCryptSignHash/BCryptDecrypt give a public key.
    key = nc.NCryptImportKey(prov, None, BCRYPT_RSAPUBLIC_BLOB, None, public_blob(), 0)
    with raises_hresult(NTE_INVALID_PARAMETER):
        nc.NCryptSignHash(key, nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM),
                          hashlib.sha256(b"").digest(), NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_INVALID_PARAMETER):
        nc.NCryptDecrypt(key, bytes(128), None, NCRYPT_PAD_PKCS1_FLAG)
    ec_pub = nc.NCryptImportKey(prov, None, BCRYPT_ECCPUBLIC_BLOB, None,
                                bcrypt_ecc_blob(ec.generate_private_key(ec.SECP256R1()).public_key(),
                                                "ECDSA_P256", False), 0)
    with raises_hresult(NTE_INVALID_PARAMETER):
        nc.NCryptSignHash(ec_pub, None, hashlib.sha256(b"").digest(), 0)


# ---------------------------------------------------------------------------------------
# Generic blobs: any bytes give a key or a WinError (bounded, derandomized)
# ---------------------------------------------------------------------------------------



@functools.lru_cache(maxsize=1)
def _seed_blobs() -> tuple[bytes, ...]:
    ec_key = ec.generate_private_key(ec.SECP521R1())
    return (public_blob(), bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC),
            bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAFULLPRIVATE_MAGIC),
            bcrypt_ecc_blob(ec_key.public_key(), "ECDH_P521", False),
            bcrypt_ecc_blob(ec_key, "ECDSA_P521", True))


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 4), edits=st.lists(st.tuples(st.integers(0, 700), st.integers(0, 255)),
                                               max_size=3),
       cut=st.integers(0, 8), blob_type=st.sampled_from([BCRYPT_PUBLIC_KEY_BLOB, BCRYPT_PRIVATE_KEY_BLOB]))
def test_generic_import_never_raises_anything_but_win_error(prov, which, edits, cut, blob_type):
    data = bytearray(_seed_blobs()[which])
    for pos, value in edits:
        data[pos % len(data)] = value
    data = bytes(data[:len(data) - cut])
    try:
        key = nc.NCryptImportKey(prov, None, blob_type, None, data, 0)
    except WinError:
        return
    nc.NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY)
    nc.NCryptFreeObject(key)


def test_pp_enumalgs_of_a_token_csp(machine, softhsm_token):
    # A token CSP lists its own hashes and RSA lengths, and no session cipher it lacks
    # (CryptGenKey refuses RC4 there too).
    from csp import tokens

    tokens.add_pkcs11(machine, "Contoso HSM CSP", softhsm_token.module, softhsm_token.label,
                      pin=softhsm_token.pin, kind="csp")
    hprov = capi.CryptAcquireContext(None, "Contoso HSM CSP", PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)
    entries = _enum(hprov, PP_ENUMALGS_EX)
    names = {e.szName for e in entries}
    assert {"RSA_SIGN", "RSA_KEYX"} <= names and "RC4" not in names
    for e in entries:
        if e.aiAlgid & 0xE000 == 0x8000:
            capi.CryptCreateHash(hprov, e.aiAlgid, None)
    with raises_hresult(NTE_BAD_ALGID):
        capi.CryptGenKey(hprov, CALG_RC4, 0)

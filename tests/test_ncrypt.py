"""NCrypt against the Microsoft Software KSP (Wine ncrypt/tests/ncrypt.c = N)."""

import functools
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from capi import run_as
from capi.constants import *
from capi.errors import *
from capi.formats.blobs import bcrypt_rsa_blob
from capi.ncrypt import keystorage as nc
from capi.testing import raises_hresult

KSP = MS_KEY_STORAGE_PROVIDER


@functools.lru_cache(maxsize=None)
def rsa_key(bits=1024):
    return rsa.generate_private_key(65537, bits)


def import_rsa(prov, name=None, policy=None, flags=0, usage=None):
    blob = bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC)
    params = {"NCRYPTBUFFER_PKCS_KEY_NAME": name} if name else None
    key = nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, params, blob,
                             flags | NCRYPT_DO_NOT_FINALIZE_FLAG)
    if policy is not None:
        nc.NCryptSetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY, policy)
    if usage is not None:
        nc.NCryptSetProperty(key, NCRYPT_KEY_USAGE_PROPERTY, usage)
    nc.NCryptFinalizeKey(key, 0)
    return key


def test_properties_of_an_rsa_key(prov):
    key = import_rsa(prov)
    # N check_properties
    assert nc.NCryptGetProperty(key, NCRYPT_ALGORITHM_PROPERTY) == "RSA"
    assert nc.NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY) == 1024
    assert nc.NCryptGetProperty(key, NCRYPT_BLOCK_LENGTH_PROPERTY) == 128
    assert nc.NCryptGetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY) == 0
    assert nc.NCryptGetProperty(key, NCRYPT_KEY_USAGE_PROPERTY) == 0x00FFFFFF
    with raises_hresult(NTE_NOT_SUPPORTED):  # ephemeral key: no NAME
        nc.NCryptGetProperty(key, NCRYPT_NAME_PROPERTY)
    with raises_hresult(NTE_NOT_FOUND):
        nc.NCryptGetProperty(key, NCRYPT_CERTIFICATE_PROPERTY)


def test_invalid_handles(prov):
    # N: handle 0 -> NTE_INVALID_HANDLE; NULL algorithm -> RPC_X_NULL_REF_POINTER
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptFreeObject(None)
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptGetProperty(None, NCRYPT_LENGTH_PROPERTY)
    with raises_hresult(NTE_INVALID_HANDLE):
        nc.NCryptCreatePersistedKey(None, "RSA")
    with raises_hresult(0x800706F4):
        nc.NCryptCreatePersistedKey(prov, None)


def test_finalize_twice_and_unfinalized_use(prov):
    key = nc.NCryptCreatePersistedKey(prov, NCRYPT_RSA_ALGORITHM, None, 0, 0)
    nc.NCryptSetProperty(key, NCRYPT_LENGTH_PROPERTY, 1024)
    with raises_hresult(NTE_BAD_KEY_STATE):  # N test_NCryptEncrypt: not finalized
        nc.NCryptEncrypt(key, b"x", None, NCRYPT_PAD_PKCS1_FLAG)
    nc.NCryptFinalizeKey(key, 0)
    with raises_hresult(NTE_INVALID_HANDLE):  # N test_finalize_key
        nc.NCryptFinalizeKey(key, 0)
    with raises_hresult(NTE_BAD_FLAGS):
        nc.NCryptEncrypt(key, b"x", None, 0x100)
    a = nc.NCryptEncrypt(key, b"x", None, NCRYPT_PAD_PKCS1_FLAG)
    b = nc.NCryptEncrypt(key, b"x", None, NCRYPT_PAD_PKCS1_FLAG)
    assert len(a) == 128 and a != b  # randomized PKCS#1
    assert nc.NCryptDecrypt(key, a, None, NCRYPT_PAD_PKCS1_FLAG) == b"x"
    oaep = nc.BCRYPT_OAEP_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
    ct = nc.NCryptEncrypt(key, b"y", oaep, NCRYPT_PAD_OAEP_FLAG)
    assert nc.NCryptDecrypt(key, ct, oaep, NCRYPT_PAD_OAEP_FLAG) == b"y"
    with raises_hresult(NTE_INVALID_PARAMETER):  # RSACng: "The parameter is incorrect."
        nc.NCryptDecrypt(key, bytes(128), oaep, NCRYPT_PAD_OAEP_FLAG)


def test_export_sizes_and_policy(prov):
    key = import_rsa(prov, policy=NCRYPT_ALLOW_EXPORT_FLAG | NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG)
    # N: 1024-bit RSAPRIVATE 283 bytes, RSAFULLPRIVATE 603
    assert len(nc.NCryptExportKey(key, None, BCRYPT_RSAPRIVATE_BLOB)) == 283
    full = nc.NCryptExportKey(key, None, BCRYPT_RSAFULLPRIVATE_BLOB)
    assert len(full) == 603 and full == bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAFULLPRIVATE_MAGIC)
    pub = nc.NCryptExportKey(key, None, BCRYPT_RSAPUBLIC_BLOB)
    assert pub[:4] == b"RSA1" and pub[4:8] == (1024).to_bytes(4, "little")
    assert len(nc.NCryptExportKey(key, None, LEGACY_RSAPRIVATE_BLOB)) == 596
    der = nc.NCryptExportKey(key, None, NCRYPT_PKCS8_PRIVATE_KEY_BLOB)
    assert serialization.load_der_private_key(der, None).private_numbers() == rsa_key().private_numbers()

    locked = import_rsa(prov)  # Export Policy 0
    nc.NCryptExportKey(locked, None, BCRYPT_RSAPUBLIC_BLOB)  # public always works
    for blob in (BCRYPT_RSAPRIVATE_BLOB, BCRYPT_RSAFULLPRIVATE_BLOB, NCRYPT_PKCS8_PRIVATE_KEY_BLOB):
        with raises_hresult(NTE_NOT_SUPPORTED):
            nc.NCryptExportKey(locked, None, blob)
    export_only = import_rsa(prov, policy=NCRYPT_ALLOW_EXPORT_FLAG)
    with raises_hresult(NTE_NOT_SUPPORTED):  # plaintext needs ALLOW_PLAINTEXT_EXPORT
        nc.NCryptExportKey(export_only, None, BCRYPT_RSAPRIVATE_BLOB)
    enc = nc.NCryptExportKey(export_only, None, NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
                             {"NCRYPTBUFFER_PKCS_SECRET": "pw"})
    assert serialization.load_der_private_key(enc, b"pw").key_size == 1024


def test_import_errors(prov):
    blob = bcrypt_rsa_blob(rsa_key(), BCRYPT_RSAPRIVATE_MAGIC)
    with raises_hresult(NTE_BAD_FLAGS):  # N test_key_import_rsa: flags 49
        nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, None, blob, 49)
    with raises_hresult(NTE_INVALID_PARAMETER):  # bad magic
        nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, None, b"XXXX" + blob[4:], 0)
    bad_exp = blob[:8] + (9).to_bytes(4, "little") + blob[12:]
    with raises_hresult(NTE_BAD_DATA):  # cbPublicExp 9
        nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, None, bad_exp, 0)
    for wrong in (blob[:-1], blob + b"\x00"):
        with raises_hresult(NTE_BAD_DATA):  # size off by one
            nc.NCryptImportKey(prov, None, BCRYPT_RSAPRIVATE_BLOB, None, wrong, 0)


def test_sign_pkcs1_and_pss_interop(prov):
    key = import_rsa(prov)
    digest = hashlib.sha256(b"m").digest()
    pkcs1 = nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
    sig = nc.NCryptSignHash(key, pkcs1, digest, BCRYPT_PAD_PKCS1)
    rsa_key().public_key().verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())  # big-endian
    nc.NCryptVerifySignature(key, pkcs1, digest, sig, BCRYPT_PAD_PKCS1)
    with raises_hresult(NTE_BAD_SIGNATURE):
        nc.NCryptVerifySignature(key, pkcs1, digest, sig[::-1], BCRYPT_PAD_PKCS1)
    pss = nc.BCRYPT_PSS_PADDING_INFO(BCRYPT_SHA256_ALGORITHM, 32)
    sig = nc.NCryptSignHash(key, pss, digest, BCRYPT_PAD_PSS)
    rsa_key().public_key().verify(sig, b"m", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


def test_key_usage_is_enforced(prov):
    key = import_rsa(prov, usage=NCRYPT_ALLOW_DECRYPT_FLAG)
    with raises_hresult(NTE_NOT_SUPPORTED):
        nc.NCryptSignHash(key, nc.BCRYPT_PKCS1_PADDING_INFO("SHA256"), bytes(32), BCRYPT_PAD_PKCS1)
    sign_only = import_rsa(prov, usage=NCRYPT_ALLOW_SIGNING_FLAG)
    ct = nc.NCryptEncrypt(sign_only, b"z", None, NCRYPT_PAD_PKCS1_FLAG)
    with raises_hresult(NTE_NOT_SUPPORTED):
        nc.NCryptDecrypt(sign_only, ct, None, NCRYPT_PAD_PKCS1_FLAG)


@pytest.mark.parametrize("alg, size", [("ECDSA_P256", 32), ("ECDSA_P384", 48)])
def test_ecdsa_keys(prov, alg, size):
    key = nc.NCryptCreatePersistedKey(prov, alg, f"ec-{alg}", 0, NCRYPT_MACHINE_KEY_FLAG)
    nc.NCryptSetProperty(key, NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG)
    nc.NCryptFinalizeKey(key, 0)
    assert nc.NCryptGetProperty(key, NCRYPT_ALGORITHM_GROUP_PROPERTY) == "ECDSA"
    digest = hashlib.sha256(b"e").digest()
    sig = nc.NCryptSignHash(key, None, digest, 0)
    assert len(sig) == 2 * size  # r||s big-endian
    pub_blob = nc.NCryptExportKey(key, None, BCRYPT_ECCPUBLIC_BLOB)
    assert len(pub_blob) == 8 + 2 * size
    x, y = pub_blob[8:8 + size], pub_blob[8 + size:]
    curve = ec.SECP256R1() if size == 32 else ec.SECP384R1()
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve).public_key()
    der = utils.encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
    pub.verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    assert len(nc.NCryptExportKey(key, None, BCRYPT_ECCPRIVATE_BLOB)) == 8 + 3 * size
    ecdh = nc.NCryptCreatePersistedKey(prov, "ECDH_P256", None, 0, 0)
    nc.NCryptFinalizeKey(ecdh, 0)
    assert nc.NCryptGetProperty(ecdh, NCRYPT_ALGORITHM_GROUP_PROPERTY) == "ECDH"


def test_persisted_keys_machine_and_user(machine, prov):
    key = import_rsa(prov, name="web", flags=NCRYPT_MACHINE_KEY_FLAG)
    unique = nc.NCryptGetProperty(key, NCRYPT_UNIQUE_NAME_PROPERTY)
    assert unique.endswith("_3ade29bb-f050-41f3-b0db-f2b69957a1d7") and len(unique.split("_")[0]) == 32
    assert machine.host_path(machine.cng_machine_keys_dir + "\\" + unique).is_file()
    assert nc.NCryptGetProperty(key, NCRYPT_KEY_TYPE_PROPERTY) == NCRYPT_MACHINE_KEY_FLAG
    assert nc.NCryptGetProperty(key, NCRYPT_NAME_PROPERTY) == "web"
    with raises_hresult(NTE_BAD_KEYSET):  # user scope is separate
        nc.NCryptOpenKey(prov, "web", 0, 0)
    again = nc.NCryptOpenKey(prov, "web", 0, NCRYPT_MACHINE_KEY_FLAG)
    assert nc.NCryptGetProperty(again, NCRYPT_LENGTH_PROPERTY) == 1024
    with raises_hresult(NTE_EXISTS):
        nc.NCryptCreatePersistedKey(prov, "RSA", "web", 0, NCRYPT_MACHINE_KEY_FLAG)
    names = [k.pszName for k in nc.NCryptEnumKeys(prov, None, NCRYPT_MACHINE_KEY_FLAG)]
    assert names == ["web"]
    user = import_rsa(prov, name="mine")
    assert nc.NCryptGetProperty(user, NCRYPT_KEY_TYPE_PROPERTY) == 0
    assert [k.pszName for k in nc.NCryptEnumKeys(prov)] == ["mine"]
    sd = nc.NCryptGetProperty(again, NCRYPT_SECURITY_DESCR_PROPERTY, DACL_SECURITY_INFORMATION)
    # certutil -v -csp KSP -key on a Microsoft Software KSP machine key imported by an
    # administrator prints "Security Descr: D:P(A;OICI;0xd01f01ff;;;SY)(A;OICI;0xd01f01ff;;;BA)"
    # (github.com/liupums/k6ncrypt README).
    assert sd.to_sddl().endswith("D:P(A;OICI;0xd01f01ff;;;SY)(A;OICI;0xd01f01ff;;;BA)")
    with run_as("IIS APPPOOL\\DefaultAppPool"):
        with raises_hresult(NTE_PERM):
            nc.NCryptOpenKey(prov, "web", 0, NCRYPT_MACHINE_KEY_FLAG)
    nc.NCryptDeleteKey(again, 0)
    with raises_hresult(NTE_BAD_KEYSET):
        nc.NCryptOpenKey(prov, "web", 0, NCRYPT_MACHINE_KEY_FLAG)
    with raises_hresult(NTE_INVALID_HANDLE):  # the handle was freed by the delete
        nc.NCryptFreeObject(again)


def test_security_descr_grant_opens_for_the_pool(machine, prov):
    from capi.host.security import SecurityDescriptor

    key = import_rsa(prov, name="web", flags=NCRYPT_MACHINE_KEY_FLAG)
    sd = nc.NCryptGetProperty(key, NCRYPT_SECURITY_DESCR_PROPERTY, DACL_SECURITY_INFORMATION)
    from capi.host.accounts import app_pool_sid

    pool = app_pool_sid("DefaultAppPool")
    new = SecurityDescriptor.from_sddl(sd.to_sddl() + f"(A;;GR;;;{pool})")
    nc.NCryptSetProperty(key, NCRYPT_SECURITY_DESCR_PROPERTY, new, DACL_SECURITY_INFORMATION)
    with run_as("IIS APPPOOL\\DefaultAppPool"):
        k = nc.NCryptOpenKey(prov, "web", 0, NCRYPT_MACHINE_KEY_FLAG)
        nc.NCryptSignHash(k, nc.BCRYPT_PKCS1_PADDING_INFO("SHA256"), bytes(32), BCRYPT_PAD_PKCS1)
        with raises_hresult(NTE_PERM):
            nc.NCryptSetProperty(k, NCRYPT_SECURITY_DESCR_PROPERTY, new, DACL_SECURITY_INFORMATION)


def test_is_alg_supported_and_smartcard_pin(prov):
    nc.NCryptIsAlgSupported(prov, "RSA")
    for alg in ("SHA256", "RSA_SIGN", "RNG"):  # N: NTE_NOT_SUPPORTED
        with raises_hresult(NTE_NOT_SUPPORTED):
            nc.NCryptIsAlgSupported(prov, alg)
    key = import_rsa(prov)
    with raises_hresult(NTE_NOT_SUPPORTED):
        nc.NCryptSetProperty(key, NCRYPT_PIN_PROPERTY, "1234")

"""CryptoAPI key functions against the software CSPs.

Expected codes are Windows' as recorded by Wine's conformance tests (rsaenh/tests/rsaenh.c
= R, advapi32/tests/crypt.c = A) and docs/windows-facts.md §2.
"""

import functools
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from capi.advapi32 import crypt as api
from capi.constants import *
from capi.constants import CRYPT_MACHINE_DEFAULT
from capi.errors import *
from capi.formats.blobs import capi_private_blob
from capi.testing import raises_hresult

AES = MS_ENH_RSA_AES_PROV
MK = CRYPT_MACHINE_KEYSET


@functools.lru_cache(maxsize=None)
def rsa_key(bits: int, n: int = 0):
    """Pre-generated keys (imported via blobs) keep the suite fast."""
    return rsa.generate_private_key(65537, bits)


def new_container(name="c1", provider=AES, prov_type=PROV_RSA_AES, flags=MK):
    return api.CryptAcquireContext(name, provider, prov_type, CRYPT_NEWKEYSET | flags)


def import_keyx(prov, bits=1024, exportable=True, n=0):
    blob = capi_private_blob(rsa_key(bits, n), CALG_RSA_KEYX)
    return api.CryptImportKey(prov, blob, None, CRYPT_EXPORTABLE if exportable else 0)


# --- CryptAcquireContext flag rules ----------------------------------------------------


def test_named_container_with_verifycontext_is_bad_flags(machine):
    # Windows (R init_base_environment): named container + VERIFYCONTEXT -> NTE_BAD_FLAGS
    with raises_hresult(NTE_BAD_FLAGS):
        api.CryptAcquireContext("c1", AES, PROV_RSA_AES, CRYPT_VERIFYCONTEXT)
    assert GetLastError() == NTE_BAD_FLAGS


def test_verifycontext_negative_flag_as_in_csharp(machine):
    # Flags negative in C# (-268435456 == CRYPT_VERIFYCONTEXT) are masked to 32 bits
    # (docs/architecture.md "Facade conventions").
    with api.CryptAcquireContext(None, None, PROV_RSA_FULL, -268435456) as prov:
        assert api.CryptGetProvParam(prov, PP_NAME) == MS_STRONG_PROV
        with raises_hresult(NTE_NO_KEY):  # R test_null_provider: no keys
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
        assert api.CryptGetProvParam(prov, PP_KEYSPEC) == AT_KEYEXCHANGE | AT_SIGNATURE


def test_missing_container_is_bad_keyset(machine):
    with raises_hresult(NTE_BAD_KEYSET):  # R init_base_environment
        api.CryptAcquireContext("nothere", AES, PROV_RSA_AES, MK)


def test_newkeyset_on_existing_is_nte_exists_and_delete(machine):
    api.CryptReleaseContext(new_container(), 0)
    with raises_hresult(NTE_EXISTS):  # R test_null_provider
        new_container()
    assert api.CryptAcquireContext("c1", AES, PROV_RSA_AES, MK | CRYPT_DELETEKEYSET) is None
    with raises_hresult(NTE_BAD_KEYSET):  # deleted -> missing
        api.CryptAcquireContext("c1", AES, PROV_RSA_AES, MK)
    with raises_hresult(NTE_BAD_KEYSET):  # DELETEKEYSET on a missing one
        api.CryptAcquireContext("c1", AES, PROV_RSA_AES, MK | CRYPT_DELETEKEYSET)


def test_provider_type_errors(machine):
    with raises_hresult(NTE_BAD_PROV_TYPE):  # R test_null_provider: type 0
        api.CryptAcquireContext(None, AES, 0, CRYPT_VERIFYCONTEXT)
    with raises_hresult(NTE_PROV_TYPE_NO_MATCH):  # docs/windows-facts.md §9 #1, 0x8009001B
        api.CryptAcquireContext(None, AES, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)
    # Windows (A test_incorrect_api_usage/dss): a provider that is not installed.
    with raises_hresult(NTE_KEYSET_NOT_DEF):
        api.CryptAcquireContext(None, "Microsoft RSA Signature Cryptographic Provider",
                                PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)
    with raises_hresult(NTE_KEYSET_NOT_DEF):  # a KSP is not a CSP
        api.CryptAcquireContext(None, MS_KEY_STORAGE_PROVIDER, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)


def test_machine_and_user_keysets_are_independent(machine):
    # R test_null_provider: CRYPT_MACHINE_KEYSET containers are separate from user ones.
    api.CryptReleaseContext(new_container("same", flags=MK), 0)
    with raises_hresult(NTE_BAD_KEYSET):
        api.CryptAcquireContext("same", AES, PROV_RSA_AES, 0)
    api.CryptReleaseContext(new_container("same", flags=0), 0)
    with api.CryptAcquireContext("same", AES, PROV_RSA_AES, 0) as prov:
        assert api.CryptGetProvParam(prov, PP_KEYSET_TYPE) == 0
    with api.CryptAcquireContext("same", AES, PROV_RSA_AES, MK) as prov:
        assert api.CryptGetProvParam(prov, PP_KEYSET_TYPE) == CRYPT_MACHINE_KEYSET


def test_null_container_is_the_account_name(machine):
    api.CryptReleaseContext(api.CryptAcquireContext(None, AES, PROV_RSA_AES, CRYPT_NEWKEYSET), 0)
    with api.CryptAcquireContext("Administrator", AES, PROV_RSA_AES, 0) as prov:
        assert api.CryptGetProvParam(prov, PP_CONTAINER) == "Administrator"


def test_release_rules(machine):
    prov = new_container()
    with raises_hresult(NTE_BAD_FLAGS):  # R clean_up_base_environment: fails but frees
        api.CryptReleaseContext(prov, 1)
    with raises_hresult(ERROR_INVALID_PARAMETER):  # second release
        api.CryptReleaseContext(prov, 0)
    assert GetLastError() == ERROR_INVALID_PARAMETER


def test_prov_params(machine):
    with new_container("winetest") as prov:
        assert api.CryptGetProvParam(prov, PP_PROVTYPE) == PROV_RSA_AES
        assert api.CryptGetProvParam(prov, PP_CONTAINER) == "winetest"
        # docs/windows-facts.md §1: "winetest" -> 9d20fd8d05ed2b8455d125d0bf6d6a70_<MachineGuid>
        assert api.CryptGetProvParam(prov, PP_UNIQUE_CONTAINER) == \
            "9d20fd8d05ed2b8455d125d0bf6d6a70_3ade29bb-f050-41f3-b0db-f2b69957a1d7"
        assert api.CryptGetProvParam(prov, PP_KEYSTORAGE) == CRYPT_SEC_DESCR  # R: 0x1
        assert api.CryptGetProvParam(prov, PP_IMPTYPE) == CRYPT_IMPL_SOFTWARE
        assert api.CryptGetProvParam(prov, PP_KEYSPEC) == 3
        with raises_hresult(NTE_BAD_TYPE):
            api.CryptSetProvParam(prov, PP_KEYEXCHANGE_PIN, b"1234")


def test_seed_002_unique_container_name(machine):
    # The 0x80070520 article (docs/windows-facts.md §8): {00F81886-...} ->
    # 99247943bd018ca78ef945b82652598d_<MachineGuid>
    with new_container("{00F81886-5F70-430A-939C-BB7DD58ECE2A}", MS_STRONG_PROV, PROV_RSA_FULL) as prov:
        assert api.CryptGetProvParam(prov, PP_UNIQUE_CONTAINER) == \
            "99247943bd018ca78ef945b82652598d_3ade29bb-f050-41f3-b0db-f2b69957a1d7"


def test_enum_containers(machine):
    for name in ("a", "b"):
        api.CryptReleaseContext(new_container(name), 0)
    with api.CryptAcquireContext(None, AES, PROV_RSA_AES, CRYPT_VERIFYCONTEXT | MK) as prov:
        names = [api.CryptGetProvParam(prov, PP_ENUMCONTAINERS, CRYPT_FIRST)]
        while True:
            try:
                names.append(api.CryptGetProvParam(prov, PP_ENUMCONTAINERS, CRYPT_NEXT))
            except WinError as exc:
                assert exc.hresult == HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS)  # R test_enum_container
                break
    assert sorted(names) == ["a", "b"]


# --- keys, blobs, permissions ---------------------------------------------------------


def test_2048_keyx_blob_sizes_and_header(machine):
    with new_container() as prov:
        key = api.CryptGenKey(prov, AT_KEYEXCHANGE, (2048 << 16) | CRYPT_EXPORTABLE)
        pub = api.CryptExportKey(key, None, PUBLICKEYBLOB, 0)
        priv = api.CryptExportKey(key, None, PRIVATEKEYBLOB, 0)
    # docs/windows-facts.md §9 #2: 276 bytes starting 06 02 00 00 00 a4 00 00 "RSA1" 00 08 ...
    assert len(pub) == 276
    assert pub[:20] == bytes.fromhex("0602000000a40000525341310008000001000100")
    assert len(priv) == 1172 and priv[:12] == bytes.fromhex("0702000000a4000052534132")


def test_non_exportable_key_permissions_and_refusal(machine):
    with new_container() as prov:
        key = import_keyx(prov, exportable=False)
        assert api.CryptGetKeyParam(key, KP_PERMISSIONS) == 0x3B  # R test_rsa_encrypt
        assert len(api.CryptExportKey(key, None, PUBLICKEYBLOB, 0)) == 148
        with raises_hresult(NTE_BAD_KEY_STATE):
            api.CryptExportKey(key, None, PRIVATEKEYBLOB, 0)
        with raises_hresult(NTE_BAD_DATA):  # adding CRYPT_EXPORT back
            api.CryptSetKeyParam(key, KP_PERMISSIONS, 0x3F)


def test_exportable_key_clearing_export_is_silent(machine):
    with new_container() as prov:
        key = import_keyx(prov)
        assert api.CryptGetKeyParam(key, KP_PERMISSIONS) == 0x3F
        api.CryptSetKeyParam(key, KP_PERMISSIONS, 0x3B)  # R test_key_permissions
        assert api.CryptGetKeyParam(key, KP_PERMISSIONS) == 0x3F
        assert len(api.CryptExportKey(key, None, PRIVATEKEYBLOB, 0)) == 596


def test_private_blob_reexports_identically(machine):
    blob = capi_private_blob(rsa_key(1024), CALG_RSA_SIGN)
    with new_container() as prov:
        key = api.CryptImportKey(prov, blob, None, CRYPT_EXPORTABLE)
        assert api.CryptExportKey(key, None, PRIVATEKEYBLOB, 0) == blob  # R test_import_export
        assert api.CryptGetKeyParam(key, KP_ALGID) == CALG_RSA_SIGN
        # R test_null_provider: a CALG_RSA_SIGN blob fills AT_SIGNATURE only
        with raises_hresult(NTE_NO_KEY):
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
    # imported private keys are persisted at once
    with api.CryptAcquireContext("c1", AES, PROV_RSA_AES, MK) as prov:
        key = api.CryptGetUserKey(prov, AT_SIGNATURE)
        assert api.CryptGetKeyParam(key, KP_KEYLEN) == 1024


def test_public_blob_import_is_not_stored(machine):
    pub_blob = None
    with new_container() as prov:
        pub_blob = api.CryptExportKey(import_keyx(prov), None, PUBLICKEYBLOB, 0)
    with api.CryptAcquireContext(None, AES, PROV_RSA_AES, CRYPT_VERIFYCONTEXT) as v:
        key = api.CryptImportKey(v, pub_blob, None, 0)
        assert api.CryptGetKeyParam(key, KP_ALGID) == CALG_RSA_KEYX
        assert api.CryptGetKeyParam(key, KP_PERMISSIONS) == 0x3B  # R test_import_export
        assert api.CryptExportKey(key, None, PUBLICKEYBLOB, 0) == pub_blob
        with raises_hresult(NTE_NO_KEY):
            api.CryptGetUserKey(v, AT_KEYEXCHANGE)


@pytest.mark.parametrize("mutate", [
    lambda b: b[:1] + b"\x03" + b[2:],  # bVersion
    lambda b: b[:2] + b"\x01\x00" + b[4:],  # reserved
    lambda b: b[:8] + b"RSA3" + b[12:],  # magic
    lambda b: b[: 20 + 1024 // 8 + 5 * 1024 // 16 - 1],  # cut inside the CRT values
    lambda b: b + b"\x00",  # too long
    lambda b: b[:10],  # shorter than the header
])
def test_bad_blobs_are_bad_data(machine, mutate):
    # A blob cut inside the private exponent still imports (Wine rsaenh.c
    # test_import_private; tests/test_advapi32_sessionkeys.py); one cut before it does not.
    blob = capi_private_blob(rsa_key(1024), CALG_RSA_KEYX)
    with new_container() as prov:
        with raises_hresult(NTE_BAD_DATA):  # docs/windows-facts.md §4 #9
            api.CryptImportKey(prov, mutate(blob), None, 0)
        with raises_hresult(NTE_NO_KEY):  # nothing was stored
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)


def test_genkey_lengths_and_flags(machine):
    with new_container() as prov:
        with raises_hresult(NTE_BAD_FLAGS):
            api.CryptGenKey(prov, AT_SIGNATURE, 100 << 16)
        with raises_hresult(NTE_BAD_FLAGS):  # not a multiple of 8
            api.CryptGenKey(prov, AT_SIGNATURE, 1028 << 16)
        with raises_hresult(NTE_BAD_ALGID):
            api.CryptGenKey(prov, 0x1234, 0)
        key = api.CryptGenKey(prov, CALG_RSA_SIGN, 1024 << 16)
        assert api.CryptGetKeyParam(key, KP_ALGID) == CALG_RSA_SIGN
        with raises_hresult(NTE_NO_KEY):  # R: CALG_RSA_SIGN fills AT_SIGNATURE only
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
    with api.CryptAcquireContext("c1", AES, PROV_RSA_AES, MK | CRYPT_SILENT) as prov:
        with raises_hresult(NTE_SILENT_CONTEXT):
            api.CryptGenKey(prov, AT_KEYEXCHANGE, (1024 << 16) | CRYPT_USER_PROTECTED)
        # generated keys survive a reopen (R test_null_provider)
        assert api.CryptGetKeyParam(api.CryptGetUserKey(prov, AT_SIGNATURE), KP_KEYLEN) == 1024


def test_default_key_length_strong_provider(machine):
    with api.CryptAcquireContext(None, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT) as prov:
        key = api.CryptGenKey(prov, AT_KEYEXCHANGE, 0)
        assert api.CryptGetKeyParam(key, KP_KEYLEN) == 1024  # ICspAlgorithm DefaultLength


# --- hashes and signatures -----------------------------------------------------------


def test_sha256_needs_prov_rsa_aes(machine):
    with api.CryptAcquireContext(None, MS_ENHANCED_PROV, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT) as prov:
        with raises_hresult(NTE_BAD_ALGID):  # docs/windows-facts.md §8: 0x80090008 in PROV_RSA_FULL
            api.CryptCreateHash(prov, CALG_SHA_256, None, 0)
        api.CryptDestroyHash(api.CryptCreateHash(prov, CALG_SHA1, None, 0))
    with api.CryptAcquireContext(None, AES, PROV_RSA_AES, CRYPT_VERIFYCONTEXT) as prov:
        for alg, size in ((CALG_SHA_256, 32), (CALG_SHA_384, 48), (CALG_SHA_512, 64), (CALG_MD5, 16)):
            h = api.CryptCreateHash(prov, alg, None, 0)
            api.CryptHashData(h, b"abc", 0)
            assert api.CryptGetHashParam(h, HP_HASHSIZE) == size
            assert api.CryptGetHashParam(h, HP_ALGID) == alg
            value = api.CryptGetHashParam(h, HP_HASHVAL)
            assert value == hashlib.new({16: "md5", 32: "sha256", 48: "sha384", 64: "sha512"}[size], b"abc").digest()
            with raises_hresult(NTE_BAD_HASH_STATE):
                api.CryptHashData(h, b"more", 0)


def test_signature_is_little_endian_and_verifies_with_cryptography(machine):
    key_obj = rsa_key(1024)
    with new_container() as prov:
        api.CryptImportKey(prov, capi_private_blob(key_obj, CALG_RSA_SIGN), None, 0)
        h = api.CryptCreateHash(prov, CALG_SHA_256, None, 0)
        api.CryptHashData(h, b"hello", 0)
        sig = api.CryptSignHash(h, AT_SIGNATURE, None, 0)
        key = api.CryptGetUserKey(prov, AT_SIGNATURE)
        api.CryptVerifySignature(h, sig, key, None, 0)
        # docs/windows-facts.md §9 #3: byte-reversed, the CAPI signature is a PKCS#1 v1.5 signature
        key_obj.public_key().verify(sig[::-1], b"hello", padding.PKCS1v15(), hashes.SHA256())
        with raises_hresult(NTE_BAD_SIGNATURE):
            api.CryptVerifySignature(h, sig[::-1], key, None, 0)
        with raises_hresult(NTE_BAD_SIGNATURE):  # R test_verify_signature: wrong length
            api.CryptVerifySignature(h, sig[:-1], key, None, 0)
        with raises_hresult(ERROR_INVALID_PARAMETER):  # NULL signature
            api.CryptVerifySignature(h, None, key, None, 0)
        # a key-exchange slot that is empty: NTE_BAD_KEYSET (alejacma)
        h2 = api.CryptCreateHash(prov, CALG_SHA1, None, 0)
        with raises_hresult(NTE_BAD_KEYSET):
            api.CryptSignHash(h2, AT_KEYEXCHANGE, None, 0)


def test_nohashoid_signatures_verify_either_way(machine):
    key_obj = rsa_key(1024)
    with new_container() as prov:
        api.CryptImportKey(prov, capi_private_blob(key_obj, CALG_RSA_SIGN), None, 0)
        key = api.CryptGetUserKey(prov, AT_SIGNATURE)
        h = api.CryptCreateHash(prov, CALG_SHA1, None, 0)
        api.CryptHashData(h, b"x", 0)
        bare = api.CryptSignHash(h, AT_SIGNATURE, None, CRYPT_NOHASHOID)
        key_obj.public_key().verify(bare[::-1], hashlib.sha1(b"x").digest(), padding.PKCS1v15(),
                                    utils.NoDigestInfo())
        api.CryptVerifySignature(h, bare, key, None, 0)  # R test_verify_signature
        with_oid = api.CryptSignHash(h, AT_SIGNATURE, None, 0)
        api.CryptVerifySignature(h, with_oid, key, None, CRYPT_NOHASHOID)


def test_encrypt_decrypt(machine):
    key_obj = rsa_key(1024)
    with new_container() as prov:
        api.CryptImportKey(prov, capi_private_blob(key_obj, CALG_RSA_KEYX), None, 0)
        api.CryptImportKey(prov, capi_private_blob(rsa_key(1024, 1), CALG_RSA_SIGN), None, 0)
        keyx = api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
        ct = api.CryptEncrypt(keyx, None, True, 0, b"secret")
        assert len(ct) == 128  # R test_rsa_encrypt: 1024-bit key -> 128 bytes
        assert key_obj.decrypt(ct[::-1], padding.PKCS1v15()) == b"secret"  # little-endian
        assert api.CryptDecrypt(keyx, None, True, 0, ct) == b"secret"
        oaep = api.CryptEncrypt(keyx, None, True, CRYPT_OAEP, b"secret")
        assert api.CryptDecrypt(keyx, None, True, CRYPT_OAEP, oaep) == b"secret"
        with raises_hresult(NTE_BAD_LEN):  # R: oversized OAEP data
            api.CryptEncrypt(keyx, None, True, CRYPT_OAEP, b"x" * 100)
        with raises_hresult(NTE_BAD_DATA):  # R: malformed ciphertext
            api.CryptDecrypt(keyx, None, True, CRYPT_OAEP, bytes(128))
        with raises_hresult(NTE_BAD_KEY):  # R: AT_SIGNATURE key cannot encrypt
            api.CryptEncrypt(api.CryptGetUserKey(prov, AT_SIGNATURE), None, True, 0, b"x")
        with raises_hresult(NTE_BAD_KEY):  # KP_SALT on RSA
            api.CryptGetKeyParam(keyx, KP_SALT)


def test_gen_random(machine):
    with api.CryptAcquireContext(None, None, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT) as prov:
        a, b = api.CryptGenRandom(prov, 32), api.CryptGenRandom(prov, 32)
        assert len(a) == 32 and a != b


# --- providers ----------------------------------------------------------------------


def test_enum_providers_and_defaults(machine):
    found = []
    i = 0
    while True:
        try:
            found.append(api.CryptEnumProviders(i, 0))
        except WinError as exc:
            assert exc.hresult == HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS)
            break
        i += 1
    assert (PROV_RSA_AES, AES) in found and (PROV_RSA_FULL, MS_DEF_PROV) in found
    assert (PROV_RSA_SCHANNEL, MS_DEF_RSA_SCHANNEL_PROV) in found
    assert (PROV_RSA_FULL, MS_SCARD_PROV) in found
    assert [n for _, n in found] == sorted((n for _, n in found), key=str.lower)
    assert api.CryptGetDefaultProvider(PROV_RSA_FULL, CRYPT_MACHINE_DEFAULT) == MS_STRONG_PROV
    assert api.CryptGetDefaultProvider(PROV_RSA_AES, CRYPT_MACHINE_DEFAULT) == AES
    assert api.CryptGetDefaultProvider(PROV_RSA_SCHANNEL, CRYPT_MACHINE_DEFAULT) == MS_DEF_RSA_SCHANNEL_PROV
    with raises_hresult(NTE_PROV_TYPE_NOT_DEF):
        api.CryptGetDefaultProvider(99, CRYPT_MACHINE_DEFAULT)
    assert api.CryptEnumProviderTypes(0) == (PROV_RSA_FULL, "RSA Full (Signature and Key Exchange)")


def test_unbound_smart_card_provider(machine):
    # No reader on the simulated machine (not verified against Windows; see report).
    with raises_hresult(SCARD_E_NO_READERS_AVAILABLE):
        api.CryptAcquireContext("card", MS_SCARD_PROV, PROV_RSA_FULL, 0)


def test_runtime_registration_persists(machine):
    from csp import get_provider, register_provider, unregister_provider

    register_provider(machine, "Contoso Test CSP", "csp", "tests.test_csp_capi:_factory", prov_type=PROV_RSA_FULL)
    from capi import Machine

    again = Machine.open(machine.path)
    p = get_provider(again, "contoso test csp")
    assert p.name == "Contoso Test CSP" and p.prov_type == PROV_RSA_FULL
    unregister_provider(machine, "Contoso Test CSP")
    assert get_provider(machine, "Contoso Test CSP") is None


def _factory(name, config):
    from csp.software import SoftwareCSP

    return SoftwareCSP(name, config["prov_type"])


def test_gen_random_refuses_absurd_lengths(machine):
    # In C the caller owns the buffer; the Python facade allocates it, so winpki caps it.
    prov = api.CryptAcquireContext(None, MS_ENH_RSA_AES_PROV, PROV_RSA_AES, CRYPT_VERIFYCONTEXT)
    assert len(api.CryptGenRandom(prov, 32)) == 32
    with raises_hresult(NTE_NO_MEMORY):
        api.CryptGenRandom(prov, -1)

"""Hashes, HMACs and MACs through CryptCreateHash and friends.

Known answers and codes are Windows' as Wine's dlls/rsaenh/tests/rsaenh.c records them
(the Wine function is named at each test; no todo_wine or broken() value is used).
"""

import hashlib
import struct

import pytest
from vectors.rsaenh_keys import PLAIN_PRIVATE_KEY, SIGNED_SSL3_SHAMD5

from capi.advapi32 import crypt as api
from capi.advapi32.hashes import HMAC_INFO
from capi.constants import *
from capi.errors import *
from capi.testing import raises_hresult

pytest.importorskip("Crypto", reason="PyCryptodome provides RC2, MD2 and MD4")

DATA2048 = bytes(i & 0xFF for i in range(2048))
DATA2000 = DATA2048[:2000]
PROVS = {"enhanced": (MS_ENHANCED_PROV, PROV_RSA_FULL), "base": (MS_DEF_PROV, PROV_RSA_FULL),
         "strong": (MS_STRONG_PROV, PROV_RSA_FULL), "aes": (MS_ENH_RSA_AES_PROV, PROV_RSA_AES)}


def verify_prov(which="enhanced"):
    return api.CryptAcquireContext(None, *PROVS[which], CRYPT_VERIFYCONTEXT)


def derive_key(prov, alg, bits):
    h = api.CryptCreateHash(prov, CALG_MD2, None, 0)
    api.CryptHashData(h, DATA2000, 0)
    return api.CryptDeriveKey(prov, alg, h, (bits << 16) | CRYPT_EXPORTABLE)


@pytest.fixture(params=["enhanced", "base", "strong"])
def rsa_full(machine, request):
    with verify_prov(request.param) as prov:
        yield prov


@pytest.mark.parametrize("alg, size, expected", [
    (CALG_MD2, 16, "12cb1b08c848a4a9aaf3f19ffc292868"),
    (CALG_MD4, 16, "8e2a58bff2f5262379d292361b23e381"),
    (CALG_MD5, 16, "1576a94d6cb334dd126cb1c27f19e0f2"),
])
def test_hashes(rsa_full, alg, size, expected):
    # Wine rsaenh.c test_hashes: bytes 0..2047; ~0 flags fail, CRYPT_USERDATA is taken.
    h = api.CryptCreateHash(rsa_full, alg, None, 0)
    with raises_hresult(NTE_BAD_FLAGS):
        api.CryptHashData(h, DATA2048, 0xFFFFFFFF)
    api.CryptHashData(h, DATA2048, CRYPT_USERDATA)
    assert api.CryptGetHashParam(h, HP_HASHSIZE) == size
    assert api.CryptGetHashParam(h, HP_HASHVAL) == bytes.fromhex(expected)


def test_hash_state_and_duplicate(rsa_full):
    # Wine rsaenh.c test_hashes: the value is there before any data, stable, and ends
    # the hash (NTE_BAD_HASH_STATE); CryptDuplicateHash copies the running state.
    h = api.CryptCreateHash(rsa_full, CALG_MD5, None, 0)
    assert api.CryptGetHashParam(h, HP_HASHVAL) == hashlib.md5().digest()
    assert api.CryptGetHashParam(h, HP_HASHVAL) == hashlib.md5().digest()
    with raises_hresult(NTE_BAD_HASH_STATE):
        api.CryptHashData(h, DATA2048, 0)
    sha = api.CryptCreateHash(rsa_full, CALG_SHA, None, 0)
    api.CryptHashData(sha, DATA2048[:5], CRYPT_USERDATA)
    clone = api.CryptDuplicateHash(sha, None, 0)
    api.CryptHashData(clone, DATA2048[5:], 0)
    assert api.CryptGetHashParam(clone, HP_HASHSIZE) == 20
    assert api.CryptGetHashParam(clone, HP_HASHVAL) == bytes.fromhex(
        "f10ccfde60c17db26e7d85d35665c7661dbbeb2c")
    api.CryptHashData(sha, b"more data", 0)  # the original goes on independently
    for alg in (CALG_SHA_256, CALG_SHA_384, CALG_SHA_512):  # not in PROV_RSA_FULL
        with raises_hresult(NTE_BAD_ALGID):
            api.CryptCreateHash(rsa_full, alg, None, 0)


def test_hash_after_release_is_invalid_parameter(machine):
    # Wine rsaenh.c test_hashes: "release provider before using the hash".
    prov = verify_prov()
    h = api.CryptCreateHash(prov, CALG_SHA1, None, 0)
    api.CryptReleaseContext(prov, 0)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        api.CryptHashData(h, b"data\x00", 0)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        api.CryptDestroyHash(h)


def test_sha2(machine):
    # Wine rsaenh.c test_sha2 (PROV_RSA_AES).
    expected = {
        CALG_SHA_256: "10fc3c51a152e90e5b90319b601d92ccf37290ef53c35ff92507687d8a911a08",
        CALG_SHA_384: "98d33f890b233344613 25a7ca30389b511d741c8546b120c4015b62a0343e564"
                      "7f101eae47a939056f406094d6ad8055",
        CALG_SHA_512: "37860e7d25d9f9843e3dc71395734204fd13ad233916325f993e3cee3f1136f9"
                      "c9660870cc49d8e07da1576271a6c9a42460fcde9db2f1d2c2fb2dbfb7f481d4",
    }
    with verify_prov("aes") as prov:
        for alg, value in expected.items():
            h = api.CryptCreateHash(prov, alg, None, 0)
            api.CryptHashData(h, DATA2048, 0)
            value = bytes.fromhex(value.replace(" ", ""))
            assert api.CryptGetHashParam(h, HP_HASHSIZE) == len(value)
            assert api.CryptGetHashParam(h, HP_HASHVAL) == value


def test_ssl3_shamd5_signature(machine):
    # Wine rsaenh.c test_hashes, "Test CALG_SSL3_SHAMD5": no data, HP_HASHVAL = MD5||SHA-1,
    # signed with abPlainPrivateKey -> the recorded 128 bytes.
    with verify_prov() as prov:
        h = api.CryptCreateHash(prov, CALG_SSL3_SHAMD5, None, 0)
        with raises_hresult(NTE_BAD_ALGID):
            api.CryptHashData(h, DATA2048, 0)
        api.CryptSetHashParam(h, HP_HASHVAL, hashlib.md5(DATA2048).digest() + hashlib.sha1(DATA2048).digest())
        api.CryptImportKey(prov, PLAIN_PRIVATE_KEY, None, 0)
        assert api.CryptSignHash(h, AT_KEYEXCHANGE, None, 0) == SIGNED_SSL3_SHAMD5


def test_md2_md4_signatures_carry_their_digest_info(machine):
    # CryptSignHash with MD2/MD4 puts the DigestInfo (OIDs 1.2.840.113549.2.2 / .2.4) in
    # the signature, and CryptVerifySignature takes it with or without.
    with verify_prov() as prov:
        key = api.CryptImportKey(prov, PLAIN_PRIVATE_KEY, None, 0)
        for alg in (CALG_MD2, CALG_MD4):
            h = api.CryptCreateHash(prov, alg, None, 0)
            api.CryptHashData(h, b"Wine rocks!\x00", 0)
            with_oid = api.CryptSignHash(h, AT_KEYEXCHANGE, None, 0)
            without = api.CryptSignHash(h, AT_KEYEXCHANGE, None, CRYPT_NOHASHOID)
            assert with_oid != without
            for sig in (with_oid, without):
                api.CryptVerifySignature(h, sig, key, None, 0)


def test_hmac(rsa_full):
    # Wine rsaenh.c test_hmac: HMAC-MD5 with the 56-bit RC2 key derived from MD2.
    key = derive_key(rsa_full, CALG_RC2, 56)
    h = api.CryptCreateHash(rsa_full, CALG_HMAC, key, 0)
    api.CryptSetHashParam(h, HP_HMAC_INFO, HMAC_INFO(CALG_MD5), 0)
    api.CryptHashData(h, bytes(range(256)), 0)
    assert api.CryptGetHashParam(h, HP_HASHVAL) == bytes.fromhex("1a7d49c59b2d0b9ccf106bb67d0f1332")
    with raises_hresult(NTE_BAD_KEY):  # "Provoke errors": CALG_HMAC without a key
        api.CryptCreateHash(rsa_full, CALG_HMAC, None, 0)


def test_mac(rsa_full):
    # Wine rsaenh.c test_mac: CBC-MAC with the 40-bit RC2 key; since Windows 8 the key's
    # own CryptEncrypt/CryptDecrypt chain does not touch it.
    key = derive_key(rsa_full, CALG_RC2, 40)
    assert len(api.CryptEncrypt(key, None, True, 0, bytes(range(256)))) == 264
    h = api.CryptCreateHash(rsa_full, CALG_MAC, key, 0)
    api.CryptEncrypt(key, None, False, 0, bytes(8))
    api.CryptHashData(h, bytes(range(256)), 0)
    assert api.CryptGetHashParam(h, HP_HASHVAL) == bytes.fromhex("b7a246e91131e0ad")
    with raises_hresult(NTE_BAD_HASH_STATE):
        api.CryptHashData(h, b"\x00", 0)
    h = api.CryptCreateHash(rsa_full, CALG_MAC, key, 0)
    data = bytes(range(17))
    api.CryptHashData(h, data[:1], 0)
    api.CryptDecrypt(key, None, False, 0, bytes(8))
    for part in (data[1:2], data[2:8], data[8:17]):
        api.CryptHashData(h, part, 0)
    assert api.CryptGetHashParam(h, HP_HASHVAL) == bytes.fromhex("ef220a3bd0ab4849")
    rc4 = derive_key(rsa_full, CALG_RC4, 56)
    with raises_hresult(NTE_BAD_KEY):  # a stream cipher cannot MAC
        api.CryptCreateHash(rsa_full, CALG_MAC, rc4, 0)


RFC2202 = [  # Wine rsaenh.c test_import_hmac: RFC 2202 section 3, HMAC-SHA-1
    (b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    (b"Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    (b"\xaa" * 20, b"\xdd" * 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
    (bytes(range(1, 26)), b"\xcd" * 50, "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
    (b"\x0c" * 20, b"Test With Truncation", "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
    (b"\xaa" * 80, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
    (b"\xaa" * 80, b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"),
]


@pytest.mark.parametrize("key, data, digest", RFC2202)
def test_import_hmac(machine, key, data, digest):
    with verify_prov() as prov:
        blob = struct.pack("<BBHII", PLAINTEXTKEYBLOB, 2, 0, CALG_RC2, len(key)) + key
        hkey = api.CryptImportKey(prov, blob, None, CRYPT_IPSEC_HMAC_KEY)
        h = api.CryptCreateHash(prov, CALG_HMAC, hkey, 0)
        api.CryptSetHashParam(h, HP_HMAC_INFO, HMAC_INFO(CALG_SHA1), 0)
        api.CryptHashData(h, data, 0)
        assert api.CryptGetHashParam(h, HP_HASHVAL) == bytes.fromhex(digest)


@pytest.mark.parametrize("length, words", [
    (136, (0x2f44586d, 0x76d04c9f, 0xdae8fc03, 0x27e870bd)),
    (256, (0xbcde3186, 0xd9892cd5, 0x578c89f5, 0xc2cba8e5)),
    (512, (0xad2bf1cc, 0xae4e2c1f, 0xd1599a67, 0x0167d802)),
    (1024, (0x6ee75968, 0x52a0eff5, 0x75340d85, 0x87b64962)),
])
def test_rc2_import_hmac_with_custom_pad_strings(machine, length, words):
    # Wine rsaenh.c test_rc2_import: a SIMPLEBLOB of min(length/8, 64) bytes of 0xcc, then
    # HMAC-MD5 whose inner and outer strings are `length` zero bytes, over one zero byte.
    with verify_prov("aes") as prov:
        exchange = api.CryptImportKey(prov, PLAIN_PRIVATE_KEY, None, 0)
        wrapped = api.CryptEncrypt(exchange, None, True, 0, b"\xcc" * min(length // 8, 64))
        blob = struct.pack("<BBHII", SIMPLEBLOB, 2, 0, CALG_RC2, CALG_RSA_KEYX) + wrapped
        key = api.CryptImportKey(prov, blob, exchange, 0)
        assert api.CryptGetKeyParam(key, KP_KEYLEN) == min(length, 512)
        assert api.CryptGetKeyParam(key, KP_EFFECTIVE_KEYLEN) == min(length, 512)
        h = api.CryptCreateHash(prov, CALG_HMAC, key, 0)
        api.CryptSetHashParam(h, HP_HMAC_INFO, HMAC_INFO(CALG_MD5, bytes(length), bytes(length)), 0)
        api.CryptHashData(h, b"\x00", 0)
        assert api.CryptGetHashParam(h, HP_HASHSIZE) == 16
        assert api.CryptGetHashParam(h, HP_HASHVAL) == struct.pack("<4I", *words)


def test_hash_session_key(machine):
    # CryptHashSessionKey (Microsoft docs): the key bytes, big-endian unless
    # CRYPT_LITTLE_ENDIAN. Checked against the PLAINTEXTKEYBLOB bytes of the same key.
    with verify_prov("aes") as prov:
        key = api.CryptGenKey(prov, CALG_AES_128, CRYPT_EXPORTABLE)
        raw = api.CryptExportKey(key, None, PLAINTEXTKEYBLOB, 0)[12:]
        for flags, material in ((0, raw[::-1]), (CRYPT_LITTLE_ENDIAN, raw)):
            h = api.CryptCreateHash(prov, CALG_SHA_256, None, 0)
            api.CryptHashSessionKey(h, key, flags)
            assert api.CryptGetHashParam(h, HP_HASHVAL) == hashlib.sha256(material).digest()
        with raises_hresult(NTE_BAD_FLAGS):
            api.CryptHashSessionKey(api.CryptCreateHash(prov, CALG_MD5, None, 0), key, 2)

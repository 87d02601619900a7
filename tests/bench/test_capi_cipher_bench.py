"""CryptEncrypt (AES-256-CBC) and CryptHashData (SHA-256) against cryptography doing the
same work in the same run. On 1 MiB the facade must keep at least 0.9 of the library's
throughput (one cipher context per message, no Python-level block loop); the 64-byte
case measures the per-call overhead and is reported, with a floor against regressions.
"""

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from ratio import repeated, time_ratio

from capi.advapi32 import crypt as api
from capi.constants import *

MIB = os.urandom(1 << 20)
SMALL = os.urandom(64)
SMALL_ROUNDS = 2000


@pytest.fixture
def aes_key(machine):
    prov = api.CryptAcquireContext(None, MS_ENH_RSA_AES_PROV, PROV_RSA_AES, CRYPT_VERIFYCONTEXT)
    key = api.CryptGenKey(prov, CALG_AES_256, CRYPT_EXPORTABLE)
    raw = api.CryptExportKey(key, None, PLAINTEXTKEYBLOB, 0)[12:]
    yield prov, key, raw
    api.CryptReleaseContext(prov, 0)


def _raw_cbc(raw: bytes, data: bytes) -> bytes:
    n = 16 - len(data) % 16
    enc = Cipher(algorithms.AES(raw), modes.CBC(bytes(16))).encryptor()
    return enc.update(data + bytes((n,)) * n) + enc.finalize()


def _ratio(benchmark, name, raw, facade, floor, rounds=5):
    benchmark(facade)
    time_ratio(benchmark, name, raw, facade, floor, rounds=rounds, side="facade",
               raw_side="cryptography")


def test_cryptencrypt_aes_cbc_1mib(benchmark, aes_key):
    _, key, raw = aes_key
    assert api.CryptEncrypt(key, None, True, 0, MIB) == _raw_cbc(raw, MIB)
    _ratio(benchmark, "CryptEncrypt AES-256-CBC 1 MiB",
           lambda: _raw_cbc(raw, MIB), lambda: api.CryptEncrypt(key, None, True, 0, MIB), 0.9)


def test_cryptencrypt_aes_cbc_64_bytes(benchmark, aes_key):
    _, key, raw = aes_key
    assert api.CryptEncrypt(key, None, True, 0, SMALL) == _raw_cbc(raw, SMALL)

    _ratio(benchmark, f"CryptEncrypt AES-256-CBC 64 B x{SMALL_ROUNDS}",
           repeated(lambda: _raw_cbc(raw, SMALL), SMALL_ROUNDS),
           repeated(lambda: api.CryptEncrypt(key, None, True, 0, SMALL), SMALL_ROUNDS), 0.6)


def test_crypthashdata_sha256_1mib(benchmark, aes_key):
    prov, _, _ = aes_key

    def raw():
        h = hashes.Hash(hashes.SHA256())
        h.update(MIB)
        return h.finalize()

    def facade():
        h = api.CryptCreateHash(prov, CALG_SHA_256, None, 0)
        api.CryptHashData(h, MIB, 0)
        return api.CryptGetHashParam(h, HP_HASHVAL)

    assert facade() == raw()
    _ratio(benchmark, "CryptHashData SHA-256 1 MiB", raw, facade, 0.9)

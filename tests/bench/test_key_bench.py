"""Facade overhead: RSA-2048 signing through CryptSignHash and NCryptSignHash against
`cryptography` signing with the same key in the same run; opening a cached container.
Run with `make bench` (benchmarks are disabled in `make test`)."""

import functools
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from capi.advapi32 import crypt as api
from capi.constants import *
from capi.formats.blobs import bcrypt_rsa_blob, capi_private_blob
from capi.ncrypt import keystorage as nc

DATA = b"benchmark payload" * 8
DIGEST = hashlib.sha256(DATA).digest()


@functools.lru_cache(maxsize=1)
def key2048():
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture
def capi_key(machine):
    prov = api.CryptAcquireContext("bench", MS_ENH_RSA_AES_PROV, PROV_RSA_AES,
                                   CRYPT_NEWKEYSET | CRYPT_MACHINE_KEYSET)
    api.CryptImportKey(prov, capi_private_blob(key2048(), CALG_RSA_SIGN), None, 0)
    yield prov
    api.CryptReleaseContext(prov, 0)


def test_bench_raw_cryptography_sign(benchmark):
    key = key2048()
    benchmark(key.sign, DIGEST, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


def test_bench_cryptsignhash(benchmark, capi_key):
    def sign():
        h = api.CryptCreateHash(capi_key, CALG_SHA_256, None, 0)
        api.CryptSetHashParam(h, HP_HASHVAL, DIGEST, 0)
        sig = api.CryptSignHash(h, AT_SIGNATURE, None, 0)
        api.CryptDestroyHash(h)
        return sig

    sig = benchmark(sign)
    key2048().public_key().verify(sig[::-1], DIGEST, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


def test_bench_ncryptsignhash(benchmark, machine):
    with nc.NCryptOpenStorageProvider() as p:
        key = nc.NCryptImportKey(p, None, BCRYPT_RSAPRIVATE_BLOB, {"NCRYPTBUFFER_PKCS_KEY_NAME": "bench"},
                                 bcrypt_rsa_blob(key2048(), BCRYPT_RSAPRIVATE_MAGIC), NCRYPT_MACHINE_KEY_FLAG)
        pad = nc.BCRYPT_PKCS1_PADDING_INFO(BCRYPT_SHA256_ALGORITHM)
        benchmark(nc.NCryptSignHash, key, pad, DIGEST, BCRYPT_PAD_PKCS1)


def test_bench_acquire_cached_container(benchmark, capi_key):
    def acquire():
        api.CryptReleaseContext(api.CryptAcquireContext(
            "bench", MS_ENH_RSA_AES_PROV, PROV_RSA_AES, CRYPT_MACHINE_KEYSET), 0)

    benchmark(acquire)

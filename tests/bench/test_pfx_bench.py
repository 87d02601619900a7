"""parse_pfx against cryptography's own PKCS#12 loader on the same 20 PFX files.

Issue 4's goal is import throughput of at least 0.70 of the raw load; the codec is the
first part of that path, so it must stay well above it. Both loaders run in the same
process on the same files; the best of three rounds is compared.
"""

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from helpers_pfx import AES256, LEGACY_3DES, MS_ENHANCED, OPENSSL, PfxFactory, material
from ratio import time_ratio

from capi.formats.pkcs12 import parse_pfx

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command line")

PASSWORD = "bench"
FILES = 20


@pytest.fixture(scope="module")
def pfx_files(tmp_path_factory):
    factory = PfxFactory(tmp_path_factory.mktemp("bench"))
    keys = [material().rsa2048, material().rsa1024]
    out = []
    for i in range(FILES):
        options = (AES256 if i % 2 else LEGACY_3DES) + ["-keyex", "-CSP", MS_ENHANCED]
        out.append(
            factory.make(
                key=keys[i % 2], password=PASSWORD, options=options,
                subject=f"host{i}.example.test", serial=100 + i, chain=bool(i % 3 == 0),
            )
        )
    return out


def test_parse_pfx_throughput_vs_cryptography(pfx_files, benchmark):
    password = PASSWORD.encode()

    def raw():
        for data in pfx_files:
            pkcs12.load_pkcs12(data, password)

    def codec():
        for data in pfx_files:
            parse_pfx(data, PASSWORD)

    benchmark(codec)
    # throughput of the codec relative to the raw load
    time_ratio(benchmark, "parse_pfx", raw, codec, 0.70, side="codec", raw_side="load_pkcs12")

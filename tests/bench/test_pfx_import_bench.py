"""PFXImportCertStore (keys persisted) against cryptography's load_pkcs12 of the same 20
PFX files, in the same run: import throughput must be at least 0.70 of the raw load.

Persisting a key means DPAPI, a key file and SQLite rows; the import keeps that to one
transaction per PFX, one KDF budget per parse and no re-reading of what it just wrote.
Each round imports into a fresh machine so every key is a new container, as on Windows.
"""

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from helpers_pfx import AES256, LEGACY_3DES, MS_ENHANCED, PfxFactory, material
from ratio import time_ratio

from capi import CRYPT_EXPORTABLE, CRYPT_MACHINE_KEYSET, Machine, PFXImportCertStore, use_machine

PASSWORD = "bench"
FILES = 20


@pytest.fixture(scope="module")
def pfx_files(tmp_path_factory):
    factory = PfxFactory(tmp_path_factory.mktemp("bench-import"))
    keys = [material().rsa2048, material().rsa1024]
    return [
        factory.make(key=keys[i % 2], password=PASSWORD,
                     options=(AES256 if i % 2 else LEGACY_3DES) + ["-keyex", "-CSP", MS_ENHANCED, "-LMK"],
                     subject=f"host{i}.example.test", serial=200 + i, chain=bool(i % 3 == 0))
        for i in range(FILES)
    ]


def test_pfx_import_throughput_vs_cryptography(pfx_files, tmp_path, benchmark):
    password = PASSWORD.encode()
    machines = iter([Machine.create(tmp_path / f"m{i}") for i in range(4)])

    def raw():
        for data in pfx_files:
            pkcs12.load_pkcs12(data, password)

    def imported():
        machine = next(machines)
        with use_machine(machine):
            for data in pfx_files:
                store = PFXImportCertStore(data, PASSWORD, CRYPT_EXPORTABLE | CRYPT_MACHINE_KEYSET)
                store.close()
        keys = list(machine.host_path(machine.machine_keys_dir).iterdir())
        assert len(keys) == FILES  # every key persisted
        machine.close()

    benchmark.pedantic(imported, rounds=1, iterations=1)
    time_ratio(benchmark, "PFXImportCertStore", raw, imported, 0.70, side="import",
               raw_side="load_pkcs12")

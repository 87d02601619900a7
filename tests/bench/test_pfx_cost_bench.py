"""What a costly PFX costs winpki against what it costs OpenSSL, file by file.

Files of cryptography's PKCS#12 writer with high KDF counts (the issue's CPU bombs): PBE-
SHA1-3DES and PBES2/AES-256 at the count, and an empty password tried against a MAC of that
count (ERROR_INVALID_PASSWORD after the NULL and "" passwords). OpenSSL's time is
``openssl pkcs12 -nodes`` on the file (the command line, CPU of the child: the same
libcrypto winpki's KDF calls); winpki's is ``parse_pfx``, the parse under
PFXImportCertStore. CPU time, best of two, so shared cores do not skew the ratio. Within
2x of it. cryptography's ``pkcs12.load_pkcs12`` is measured too: it bundles a newer OpenSSL
whose PKCS#12 KDF runs about 1.6x faster than the system's 3.0, so that ratio is held to
2.5x.

At the 5,000,000 cap with --benchmark-enable (``make bench``); at 500,000 in ``make test``.
"""

import os
import resource
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from helpers_pfx import OPENSSL, cryptography_pfx, with_mac_count
from ratio import best_of

from capi.errors import WinError
from capi.formats.pkcs12 import MAX_KDF_ITERATIONS, parse_pfx


def _cpu(fn) -> float:
    return best_of(2, fn, clock=time.process_time)


def _child_cpu(args) -> float:
    best = float("inf")
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, capture_output=True, timeout=120)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best


def _quietly(fn):
    def run():
        try:
            fn()
        except (WinError, ValueError):
            pass  # a wrong password is part of what is measured
    return run


@pytest.fixture(scope="module")
def rounds(request):
    enabled = (request.config.getoption("benchmark_enable")
               or not request.config.getoption("benchmark_disable"))
    return MAX_KDF_ITERATIONS if enabled else 500_000


@pytest.mark.parametrize("case", ["3des", "aes256", "empty-password-mac"])
def test_pfx_cost_against_openssl(case, rounds, tmp_path, benchmark):
    if case == "empty-password-mac":
        data, password = with_mac_count(cryptography_pfx(2048), "pw", rounds), ""
    else:
        data, password = cryptography_pfx(rounds, aes=case == "aes256"), "pw"
    winpki = _quietly(lambda: parse_pfx(data, password))
    benchmark.pedantic(winpki, rounds=1, iterations=1)
    winpki_time = _cpu(winpki)
    loader_time = _cpu(_quietly(lambda: crypto_pkcs12.load_pkcs12(data, password.encode())))
    cli_time = None
    if OPENSSL:
        path = tmp_path / "cost.pfx"
        path.write_bytes(data)
        cli_time = _child_cpu([OPENSSL, "pkcs12", "-in", os.fspath(path), "-nodes",
                               "-passin", f"pass:{password}", "-out", os.devnull])
    loader_ratio = winpki_time / loader_time
    ratio = winpki_time / cli_time if cli_time else None
    benchmark.extra_info.update(rounds=rounds, winpki_seconds=winpki_time,
                                load_pkcs12_seconds=loader_time, openssl_cli_seconds=cli_time,
                                ratio_to_openssl=ratio, ratio_to_load_pkcs12=loader_ratio)
    print(f"\n{case} at {rounds}: winpki {winpki_time:.2f}s, openssl pkcs12 "
          f"{cli_time if cli_time is None else round(cli_time, 2)}s (ratio "
          f"{ratio if ratio is None else round(ratio, 2)}), load_pkcs12 {loader_time:.2f}s "
          f"(ratio {loader_ratio:.2f})")
    if ratio is not None:
        assert ratio <= 2.0
    assert loader_ratio <= 2.5

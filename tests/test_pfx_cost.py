"""What a PFX costs to open: the PKCS#12 KDF runs in OpenSSL, each derivation once.

The figure of merit is the ratio to OpenSSL's own parse of the same file (cryptography's
``pkcs12.load_pkcs12``, which is OpenSSL's PKCS#12 code); tests/bench/test_pfx_cost_bench.py
measures it at the 5,000,000-iteration cap, this file at a modest count.
"""

import itertools
import time

import pytest
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from helpers_pfx import cryptography_pfx, with_mac_count

from capi.errors import CRYPT_E_BAD_ENCODE, ERROR_INVALID_PASSWORD
from capi.formats import openssl_kdf
from capi.formats import pkcs12 as codec
from capi.formats.pkcs12 import MAX_PYTHON_KDF_ITERATIONS, parse_pfx, pkcs12_kdf
from capi.testing import raises_hresult

ROUNDS = 200_000

pytestmark = pytest.mark.skipif(not openssl_kdf.available(),
                                reason="needs libcrypto's PKCS12_key_gen_uni")


def test_openssl_kdf_matches_the_rfc_7292_reference():
    # RFC 7292 Appendix B.2, computed by the Python reference, for the shapes the codec
    # asks for: key (1), IV (2) and MAC (3) material, NULL / empty / long passwords,
    # empty / short / long salts, output shorter and longer than one hash block.
    passwords = [b"", b"\x00\x00", "pässwörd".encode("utf-16-be") + b"\x00\x00", b"x" * 130]
    for hash_name, password, salt, purpose, iterations, length in itertools.product(
            ["sha1", "sha256", "sha512"], passwords, [b"s", b"salt" * 20], [1, 2, 3],
            [1, 7], [5, 20, 24, 65]):
        assert openssl_kdf.pkcs12_key_gen(
            hash_name, password, salt, purpose, iterations, length
        ) == codec._pkcs12_kdf_python(hash_name, password, salt, purpose, iterations, length)


def test_null_password_with_empty_salt_uses_the_bounded_reference():
    # libcrypto refuses an empty input block (NULL password, empty salt): the Python form
    # computes it for small counts, and a count it would spend seconds on is refused.
    assert pkcs12_kdf("sha1", b"", b"", 3, 2048, 20) == codec._pkcs12_kdf_python(
        "sha1", b"", b"", 3, 2048, 20)
    started = time.perf_counter()
    with raises_hresult(CRYPT_E_BAD_ENCODE):
        pkcs12_kdf("sha1", b"", b"", 3, MAX_PYTHON_KDF_ITERATIONS + 1, 20)
    assert time.perf_counter() - started < 0.1


def _cpu(fn) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("aes", [False, True], ids=["3des", "aes256"])
def test_cost_is_openssls_at_a_modest_count(aes):
    data = cryptography_pfx(ROUNDS, aes=aes)
    openssl_time = _cpu(lambda: crypto_pkcs12.load_pkcs12(data, b"pw"))
    winpki_time = _cpu(lambda: parse_pfx(data, "pw"))
    # Loose here (shared CPUs, small counts); the bench asserts 2x at the cap. The Python
    # loop this replaced ran at 4-5x.
    assert winpki_time / openssl_time < 3, (winpki_time, openssl_time)


def _count_derivations(monkeypatch) -> list[tuple]:
    calls = []
    original = openssl_kdf.pkcs12_key_gen

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(openssl_kdf, "pkcs12_key_gen", counting)
    return calls


def test_each_derivation_runs_once_per_import(monkeypatch):
    # Two shrouded key bags with the same salt and count (a producer reusing its salt):
    # the key and IV are derived once, not once per bag.
    data = cryptography_pfx(2048)
    pfx = asn1_pkcs12.Pfx.load(data)
    items = []
    for info in pfx.authenticated_safe:
        if info["content_type"].native == "data":
            bags = asn1_pkcs12.SafeContents.load(info["content"].native)
            doubled = asn1_pkcs12.SafeContents([bags[0], bags[0]]).dump()
            info = asn1_pkcs12.ContentInfo({"content_type": "data", "content": doubled})
        items.append(info)
    pfx["auth_safe"] = {"content_type": "data",
                        "content": asn1_pkcs12.AuthenticatedSafe(items).dump()}
    data = with_mac_count(pfx.dump(force=True), "pw", 2048)
    calls = _count_derivations(monkeypatch)
    contents = parse_pfx(data, "pw")
    assert len(contents.keys) == 2
    # MAC, certificate safe key and IV, key bag key and IV: five, each once.
    assert len(calls) == 5 == len(set(calls))


def test_empty_password_against_a_costly_mac(monkeypatch):
    # The NULL and "" passwords are both tried (PFXImportCertStore treats them alike),
    # each derived once, at OpenSSL's speed.
    data = with_mac_count(cryptography_pfx(2048), "pw", ROUNDS)
    calls = _count_derivations(monkeypatch)
    with raises_hresult(ERROR_INVALID_PASSWORD):
        parse_pfx(data, "")
    assert sorted(call[1] for call in calls) == [b"", b"\x00\x00"]

"""LocalMachine\\My holding 1 000, 20 000 and 100 000 certificates: add, open, find by SHA-1 and
enumerate through the facade, and the same find/enumeration as raw indexed SQLite queries
in the same run (the facade's overhead is the figure that matters).

`make bench` runs these with timing; under `make test` (--benchmark-disable) only the
1 000 case runs, once, as a smoke test.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers_certs import corpus  # noqa: E402
from ratio import benchmarks_enabled  # noqa: E402

import capi  # noqa: E402

SIZES = (1000, 20000, 100000)
SCALE_RATIO = 1.2  # per-certificate cost at any size within this of the cost at 1 000
ADD_BATCH = 200
LM_MY = ("LocalMachine", "My")


@pytest.fixture(scope="session")
def bench_corpus(request):
    """Certificates for the largest size that runs: under --benchmark-disable only the
    1 000 case does, so `make test` does not generate 100 000. The ADD_BATCH extra
    certificates (test_add) come after the largest size either way."""
    largest = max(SIZES) if benchmarks_enabled(request.config) else SIZES[0]
    certs = corpus(largest + 5 * ADD_BATCH, "bench")
    if largest < max(SIZES):  # test_add reads bench_corpus[max(SIZES):]
        certs = certs[:largest] + [b""] * (max(SIZES) - largest) + certs[largest:]
    return certs


@pytest.fixture(scope="session")
def populated(tmp_path_factory, bench_corpus, request):
    """{size: machine whose LocalMachine\\My holds ``size`` certificates}."""
    machines = {}

    def get(size):
        if size not in machines:
            m = capi.Machine.create(tmp_path_factory.mktemp(f"bench{size}") / "m")
            with capi.use_machine(m):
                store = capi.CertOpenStore(capi.CERT_STORE_PROV_SYSTEM, 0, None,
                                           capi.CERT_SYSTEM_STORE_LOCAL_MACHINE, "My")
                # One outer transaction (the store's own nest inside it) keeps set-up fast.
                with m.transaction():
                    for der in bench_corpus[:size]:
                        capi.CertAddEncodedCertificateToStore(store, capi.X509_ASN_ENCODING, der,
                                                              capi.CERT_STORE_ADD_NEW)
                capi.CertCloseStore(store)
            machines[size] = m
        return machines[size]

    return get


@pytest.fixture(params=SIZES, ids=[f"{n}" for n in SIZES])
def size(request):
    if request.param > SIZES[0] and not benchmarks_enabled(request.config):
        pytest.skip("the large-store cases run only with benchmarks enabled (make bench)")
    return request.param


def _open(machine):
    return capi.CertOpenStore(capi.CERT_STORE_PROV_SYSTEM, 0, None,
                              capi.CERT_SYSTEM_STORE_LOCAL_MACHINE
                              | capi.CERT_STORE_OPEN_EXISTING_FLAG, "My")


def _enumerate(store) -> int:
    n, ctx = 0, capi.CertEnumCertificatesInStore(store, None)
    while ctx is not None:
        n += 1
        ctx = capi.CertEnumCertificatesInStore(store, ctx)
    return n


def _raw_enumerate(db) -> int:
    return sum(1 for _ in db.execute("SELECT sha1, blob FROM certs WHERE location=? AND store=? "
                                     "ORDER BY sha1", LM_MY))


def _raw_find(db, sha1hex: str):
    return db.execute("SELECT blob FROM certs WHERE location=? AND store=? AND sha1=?",
                      (*LM_MY, sha1hex)).fetchone()


def test_open(benchmark, populated, size):
    m = populated(size)
    with capi.use_machine(m):
        benchmark(lambda: capi.CertCloseStore(_open(m)))


def test_find_sha1(benchmark, populated, size, bench_corpus):
    m = populated(size)
    sha1 = hashlib.sha1(bench_corpus[size // 2]).digest()
    with capi.use_machine(m):
        store = _open(m)
        ctx = benchmark(capi.CertFindCertificateInStore, store, capi.X509_ASN_ENCODING, 0,
                        capi.CERT_FIND_SHA1_HASH, sha1, None)
        assert ctx is not None and ctx.sha1 == sha1


def test_raw_find_sha1(benchmark, populated, size, bench_corpus):
    m = populated(size)
    key = hashlib.sha1(bench_corpus[size // 2]).hexdigest().upper()
    assert benchmark(_raw_find, m.db, key) is not None


def test_enumerate(benchmark, populated, size):
    m = populated(size)
    with capi.use_machine(m):
        store = _open(m)
        assert benchmark(_enumerate, store) == size


def test_raw_enumerate(benchmark, populated, size):
    m = populated(size)
    assert benchmark(_raw_enumerate, m.db) == size


def test_add(benchmark, populated, size, bench_corpus):
    m = populated(size)
    extra = bench_corpus[max(SIZES):max(SIZES) + ADD_BATCH]
    keys = [hashlib.sha1(d).hexdigest().upper() for d in extra]

    def reset():
        with m.transaction() as db:
            db.executemany("DELETE FROM certs WHERE location=? AND store=? AND sha1=?",
                           [(*LM_MY, k) for k in keys])

    def add_batch():
        store = _open(m)
        for der in extra:
            capi.CertAddEncodedCertificateToStore(store, capi.X509_ASN_ENCODING, der,
                                                  capi.CERT_STORE_ADD_NEW)

    with capi.use_machine(m):
        benchmark.pedantic(add_batch, setup=reset, rounds=3, iterations=1)
    reset()


def test_per_certificate_cost_scales(benchmark, request, populated, bench_corpus):
    """Find and enumerate cost per certificate at 20 000 and 100 000 within 1.2x of that at
    1 000 (100 000 certificates: one Ed25519 key, many serials; added in one transaction).

    Uses the ``benchmark`` fixture (once) so that ``--benchmark-only`` keeps it."""
    if not benchmarks_enabled(request.config):
        pytest.skip("timing comparison runs only with benchmarks enabled (make bench)")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    # Both sizes are measured alternately, best of several rounds, so that load from
    # other processes on the host affects them alike.
    runs = {}
    for n in SIZES:
        m = populated(n)
        with capi.use_machine(m):
            store = _open(m)
        shas = [hashlib.sha1(d).digest() for d in bench_corpus[:n:max(1, n // 200)]][:200]
        runs[n] = (m, store, shas)
    best = {n: [float("inf"), float("inf")] for n in SIZES}
    for _round in range(7):
        for n, (m, store, shas) in runs.items():
            with capi.use_machine(m):
                t0 = time.perf_counter()
                for s in shas:
                    capi.CertFindCertificateInStore(store, 1, 0, capi.CERT_FIND_SHA1_HASH, s, None)
                t1 = time.perf_counter()
                if _round < 3:
                    _enumerate(store)
                t2 = time.perf_counter()
            best[n][0] = min(best[n][0], (t1 - t0) / len(shas))
            if _round < 3:
                best[n][1] = min(best[n][1], (t2 - t1) / n)
    per_cert = {n: tuple(v) for n, v in best.items()}
    small = per_cert[SIZES[0]]
    report = "; ".join(
        f"{n}: find {per_cert[n][0] * 1e6:.1f}us, enumerate {per_cert[n][1] * 1e6:.2f}us"
        for n in SIZES) + " per certificate"
    print(report)
    for n in SIZES[1:]:
        assert per_cert[n][0] <= SCALE_RATIO * small[0], report
        assert per_cert[n][1] <= SCALE_RATIO * small[1], report

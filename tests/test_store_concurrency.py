"""Two processes adding 1 000 certificates each to LocalMachine\\My of one machine at once
end with all 2 000 present and the database intact."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

PER_PROCESS = 1000


def _worker(machine_path: str, prefix: str, barrier, result_queue) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from helpers_certs import corpus

    import capi

    ders = corpus(PER_PROCESS, prefix)
    machine = capi.Machine.open(machine_path)
    with capi.use_machine(machine):
        store = capi.CertOpenStore(capi.CERT_STORE_PROV_SYSTEM, 0, None,
                                   capi.CERT_SYSTEM_STORE_LOCAL_MACHINE, "My")
        barrier.wait(timeout=60)
        for der in ders:
            capi.CertAddEncodedCertificateToStore(store, capi.X509_ASN_ENCODING, der,
                                                  capi.CERT_STORE_ADD_NEW)
        capi.CertCloseStore(store)
    result_queue.put(prefix)


@pytest.mark.slow
def test_two_processes_add_concurrently(machine):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(machine.path), p, barrier, results))
             for p in ("alpha", "beta")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
        assert p.exitcode == 0
    assert sorted(results.get(timeout=5) for _ in procs) == ["alpha", "beta"]

    import capi

    store = capi.CertOpenStore(capi.CERT_STORE_PROV_SYSTEM, 0, None,
                               capi.CERT_SYSTEM_STORE_LOCAL_MACHINE, "My")
    names = {capi.CertGetNameString(c, capi.CERT_NAME_SIMPLE_DISPLAY_TYPE) for c in store}
    assert len(names) == 2 * PER_PROCESS
    assert {n.split("-")[0] for n in names} == {"alpha", "beta"}
    conn = sqlite3.connect(machine.path / machine.DB_NAME)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM certs WHERE location='LocalMachine' AND store='My'")]
        assert len(seqs) == len(set(seqs)) == 2 * PER_PROCESS  # one transaction each
    finally:
        conn.close()

"""kill -9 at every step of a key import: a key file and its security descriptor appear
together or not at all, an interrupted import leaves no key behind, a completed one is
never touched (capi.host.journal, Machine.open recovery).

Each trial forks a child that arms capi.host.crashpoints to SIGKILL itself at the N-th crash
point of the operation, for every N the operation passes (and one more, which completes);
the parent then opens the machine and checks the invariants.
"""

import io
import os
import shutil
import signal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from helpers_pfx import make_cert, material

from capi import *
from capi.crypt32.context import CRYPT_KEY_PROV_INFO
from capi.host import crashpoints, journal
from capi.host.paths import path_key
from csp import capi_unique_name
from csp.keyfiles import cng_unique_name
from winpki.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kill -9 trials fork a child")

INF = """[Version]
Signature= "$Windows NT$"

[NewRequest]
Subject = "CN=crash.example.test"
KeyLength = 1024
MachineKeySet = TRUE
Exportable = TRUE
"""


def _pfx(serial: int) -> bytes:
    m = material()
    ca_key = m.rsa1024
    ca = make_cert(ca_key, "crash test CA", ca=True)
    leaf = make_cert(m.rsa2048, "crash.example.test", issuer_key=ca_key, issuer="crash test CA",
                     serial=serial)
    return crypto_pkcs12.serialize_key_and_certificates(
        b"leaf", m.rsa2048, leaf, [ca], serialization.BestAvailableEncryption(b"pw"))


def _key_files(machine) -> dict[str, bytes]:
    """Windows path -> bytes of every machine key file (CAPI and CNG)."""
    out = {}
    for d in (machine.machine_keys_dir, machine.cng_machine_keys_dir):
        host = machine.host_path(d)
        if host.is_dir():
            for name in sorted(os.listdir(host)):
                out[d + "\\" + name] = (host / name).read_bytes()
    return out


def _sd_rows(machine) -> dict[str, str]:
    return dict(machine.db.execute("SELECT path, sddl FROM path_sd"))


def _referenced(machine, store_names=("My",)) -> set[str]:
    """Windows paths of the key files certificates in LocalMachine stores point at."""
    out = set()
    with use_machine(machine):
        for name in store_names:
            store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, name)
            for ctx in store:
                if CERT_KEY_PROV_INFO_PROP_ID not in ctx.properties():
                    continue
                info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
                if isinstance(info, bytes):
                    info = CRYPT_KEY_PROV_INFO.from_bytes(info)
                if info.dwProvType:
                    out.add(machine.machine_keys_dir + "\\"
                            + capi_unique_name(info.pwszContainerName, machine.machine_guid))
                else:
                    out.add(machine.cng_machine_keys_dir + "\\"
                            + cng_unique_name(info.pwszContainerName, machine.machine_guid))
            store.close()
    return out


def _run_in_child(path, crash_at, op) -> int:
    """Fork; the child opens the machine at ``path``, arms the crash points and runs
    ``op(machine)``. Returns the child's wait status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            crashpoints.arm(crash_at)
            m = Machine.open(path)
            with use_machine(m):
                op(m)
            code = 0
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _count_points(template, tmp_path, op) -> int:
    scratch = tmp_path / "count"
    shutil.copytree(template, scratch)
    m = Machine.open(scratch)
    crashpoints.arm(0)
    try:
        with use_machine(m):
            op(m)
        return len(crashpoints.points_passed())
    finally:
        crashpoints.disarm()
        m.close()


def _template(tmp_path, seed):
    """A machine with one completed import in it (that every trial must leave intact)."""
    path = tmp_path / "template"
    m = Machine.create(path, machine_guid="3ade29bb-f050-41f3-b0db-f2b69957a1d7")
    with use_machine(m):
        seed(m)
    before = (_key_files(m), _sd_rows(m))
    m.close()
    assert before[0], "the seed import made no key"
    return path, before


def _trials(tmp_path, seed, op, check):
    template, (seed_keys, seed_sds) = _template(tmp_path, seed)
    points = _count_points(template, tmp_path, op)
    assert points >= 5, points
    killed = completed = 0
    for n in range(1, points + 2):
        trial = tmp_path / f"t{n}"
        shutil.copytree(template, trial)
        status = _run_in_child(trial, n, op)
        if os.WIFSIGNALED(status):
            assert os.WTERMSIG(status) == signal.SIGKILL
            killed += 1
        else:
            assert os.WEXITSTATUS(status) == 0, f"trial {n}: child failed"
            completed += 1
        m = Machine.open(trial)  # recovers
        try:
            assert journal.pending_entries(m) == [], f"trial {n}: staged files left"
            keys = _key_files(m)
            sds = _sd_rows(m)
            # every key file has its own security descriptor row
            no_sd = [p for p in keys if path_key(p) not in sds]
            assert no_sd == [], f"trial {n}: key files without SD: {no_sd}"
            # the completed seed import is untouched: same bytes, same SD
            for p, data in seed_keys.items():
                assert keys.get(p) == data, f"trial {n}: seed key {p} changed"
                assert sds[path_key(p)] == seed_sds[path_key(p)]
            new = {p: d for p, d in keys.items() if p not in seed_keys}
            check(m, n, new, finished=not os.WIFSIGNALED(status))
        finally:
            m.close()
        shutil.rmtree(trial)
    assert killed == points and completed == 1, (killed, completed)
    return points


# --- certutil -importPFX --------------------------------------------------------------------


def _certutil_import(tmp_path, serial):
    path = tmp_path / f"in{serial}.pfx"
    path.write_bytes(_pfx(serial))

    def op(machine):
        rc = main(["certutil", "-p", "pw", "-importPFX", str(path)], io.StringIO(), io.StringIO())
        assert rc == 0

    return op


def test_kill9_certutil_importpfx_every_step(tmp_path):
    seed = _certutil_import(tmp_path, 100)
    op = _certutil_import(tmp_path, 101)

    def check(m, n, new, finished):
        # no orphan: every key file is one a certificate in My points at
        referenced = _referenced(m)
        orphans = [p for p in _key_files(m) if p not in referenced]
        assert orphans == [], f"trial {n}: orphan key files {orphans}"
        # all or nothing: no key, or the key and both certificates
        assert len(new) == 1 if finished else len(new) in (0, 1)
        if new:
            with use_machine(m):
                store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None,
                                      CERT_SYSTEM_STORE_LOCAL_MACHINE, "My")
                assert len(list(store)) == 2

    points = _trials(tmp_path, seed, op, check)
    assert points >= 8


# --- PFXImportCertStore (CAPI and CNG) ------------------------------------------------------


@pytest.mark.parametrize("flags", [CRYPT_MACHINE_KEYSET,
                                   CRYPT_MACHINE_KEYSET | PKCS12_PREFER_CNG_KSP])
def test_kill9_pfximportcertstore_every_step(tmp_path, flags):
    data = _pfx(7)

    def op(machine):
        store = PFXImportCertStore(data, "pw", flags | CRYPT_EXPORTABLE)
        assert len(list(store)) == 2

    def check(m, n, new, finished):
        # a finished import made its key; an interrupted one none (or, killed after its
        # commit, the whole key: with its SD, checked above)
        assert len(new) == 1 if finished else len(new) in (0, 1), f"trial {n}: {sorted(new)}"

    _trials(tmp_path, op, op, check)


# --- certreq -new ---------------------------------------------------------------------------


def test_kill9_certreq_new_every_step(tmp_path):
    inf = tmp_path / "req.inf"
    inf.write_text(INF)

    def op(machine):
        out = machine.path / "out.req"
        rc = main(["certreq", "-f", "-new", str(inf), str(out)], io.StringIO(), io.StringIO())
        assert rc == 0

    def check(m, n, new, finished):
        # The key is complete once made (Windows keeps it): it may outlive a kill, but
        # never without its SD (checked for every file above) and at most one.
        assert len(new) <= 1
        referenced = _referenced(m, ("REQUEST",))
        if finished:
            assert set(new) <= referenced and len(new) == 1

    _trials(tmp_path, op, op, check)


# --- real kill -9 at random moments -----------------------------------------------------------


@pytest.mark.slow
def test_kill9_certutil_importpfx_random_timing(tmp_path):
    """`certutil -importPFX` in a real process, SIGKILLed after a random delay; after each
    kill the machine holds no orphan key, no key without its SD, and every import that
    finished is intact. WINPKI_KILL_TRIALS sets the number of trials (default 10)."""
    import random
    import subprocess
    import sys
    import time

    trials = int(os.environ.get("WINPKI_KILL_TRIALS", "10"))
    rng = random.Random(os.environ.get("WINPKI_KILL_SEED", "6"))
    m = Machine.create(tmp_path / "m", machine_guid="3ade29bb-f050-41f3-b0db-f2b69957a1d7")
    m.close()
    env = dict(os.environ, WINPKI_MACHINE=str(tmp_path / "m"))
    env.pop(crashpoints.ENV, None)

    def start(serial):
        path = tmp_path / f"{serial}.pfx"
        path.write_bytes(_pfx(serial))
        return subprocess.Popen([sys.executable, "-m", "winpki", "certutil", "-p", "pw",
                                 "-importPFX", str(path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # How long one import takes here: the kills fall anywhere in that window.
    began = time.perf_counter()
    assert start(1).wait(60) == 0
    span = time.perf_counter() - began
    intact: dict[str, bytes] = {}
    killed = 0
    for serial in range(2, trials + 2):
        proc = start(serial)
        time.sleep(rng.uniform(0.3, 1.0) * span)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(60)
        killed += rc == -signal.SIGKILL
        assert rc in (0, -signal.SIGKILL)
        machine = Machine.open(tmp_path / "m")
        try:
            assert journal.pending_entries(machine) == []
            keys, sds = _key_files(machine), _sd_rows(machine)
            assert [p for p in keys if path_key(p) not in sds] == []
            assert [p for p in keys if p not in _referenced(machine)] == []
            for p, data in intact.items():
                assert keys.get(p) == data
            intact = keys
        finally:
            machine.close()
    assert killed, "no trial was killed before it finished"

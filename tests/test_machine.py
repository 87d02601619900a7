"""The simulated machine: creation, persistence, path mapping, context isolation."""

import asyncio
import sqlite3
import threading

import pytest

import capi
from capi import Machine, current_machine, run_as, use_machine
from capi.errors import (
    E_INVALIDARG,
    ERROR_FILE_EXISTS,
    ERROR_INVALID_NAME,
    ERROR_NONE_MAPPED,
    ERROR_PATH_NOT_FOUND,
)
from capi.host.osversions import OS_VERSIONS
from capi.testing import raises_hresult

GUID = "3ade29bb-f050-41f3-b0db-f2b69957a1d7"


def test_create_and_open_round_trip(tmp_path):
    m = Machine.create(tmp_path / "m", computer_name="web01", os_version="2012R2",
                       machine_guid=GUID.upper())
    again = Machine.open(tmp_path / "m")
    assert (again.computer_name, again.os.key, again.machine_guid) == ("WEB01", "2012R2", GUID)
    assert again.machine_sid == m.machine_sid and again.machine_sid.startswith("S-1-5-21-")
    # The state is SQLite in WAL mode inside the machine directory.
    conn = sqlite3.connect(tmp_path / "m" / "machine.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_create_and_open_errors(tmp_path):
    Machine.create(tmp_path / "m")
    with raises_hresult(ERROR_FILE_EXISTS):
        Machine.create(tmp_path / "m")
    with raises_hresult(ERROR_PATH_NOT_FOUND):
        Machine.open(tmp_path / "nowhere")
    with raises_hresult(E_INVALIDARG):
        Machine.create(tmp_path / "x", computer_name="bad name!")
    with pytest.raises(ValueError):
        Machine.create(tmp_path / "y", os_version="2000")
    with pytest.raises(ValueError):
        Machine.create(tmp_path / "z", machine_guid="not-a-guid")


@pytest.mark.parametrize("version", sorted(OS_VERSIONS))
def test_key_folders_follow_the_os(tmp_path, version):
    m = Machine.create(tmp_path / version, os_version=version)
    base = (r"C:\Documents and Settings\All Users\Application Data" if version == "2003"
            else r"C:\ProgramData")
    assert m.machine_keys_dir == base + r"\Microsoft\Crypto\RSA\MachineKeys"
    assert m.cng_machine_keys_dir == base + r"\Microsoft\Crypto\Keys"
    assert m.host_path(m.machine_keys_dir).is_dir()


def test_os_table_decides_schannel_behaviour():
    rejects = {k for k, v in OS_VERSIONS.items() if v.schannel_rejects_at_signature}
    assert rejects == {"2003", "2008", "2008R2"}
    # Windows Server 2025 keeps the "TLS" texts: Microsoft's "TLS 1.0 and TLS 1.1 soon to be
    # disabled in Windows" (2023) quotes 36871 as "A fatal error occurred while creating a
    # TLS <client/server> credential. ... The SSPI client process is <process ID>."
    assert {k for k, v in OS_VERSIONS.items() if v.schannel_event_style == "tls"} == {
        "2016", "2019", "2022", "2025"}
    # IIS's answer to a client certificate asked for after a TLS 1.3 handshake changed with
    # Windows Server 2025 (IIS support blog, "Addressing TLS 1.3 Compatibility Issues in IIS
    # Express on Windows 11"): 500.0 / 0x80070032 instead of a reset.
    assert {k for k, v in OS_VERSIONS.items()
            if v.httpsys_tls13_late_client_cert == "not-supported"} == {"2025"}


@pytest.mark.parametrize("path, code", [
    ("C:\\..\\etc", ERROR_PATH_NOT_FOUND),
    ("C:\\a\\..\\..\\etc", ERROR_PATH_NOT_FOUND),
    ("relative\\path", ERROR_INVALID_NAME),
    ("\\\\server\\share\\x", ERROR_INVALID_NAME),
    ("C:\\a\x00b", ERROR_INVALID_NAME),
    ("C:\\a\\b<c", ERROR_INVALID_NAME),
])
def test_windows_paths_never_leave_the_machine(machine, path, code):
    with raises_hresult(code):
        machine.host_path(path)


def test_windows_paths_are_case_insensitive(machine):
    a = machine.host_path(r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys")
    b = machine.host_path(r"c:\PROGRAMDATA\microsoft\crypto\rsa\machinekeys\.")
    assert a == b and str(a).startswith(str(machine.path / "fs"))


def test_use_machine_is_per_thread(make_machine, monkeypatch, tmp_path):
    monkeypatch.setenv("WINPKI_MACHINE", str(tmp_path / "env-machine"))
    a = make_machine()
    seen = {}
    with use_machine(a):
        t = threading.Thread(target=lambda: seen.setdefault("thread", current_machine().path))
        t.start()
        t.join()
        seen["main"] = current_machine().path
    # A new thread does not inherit use_machine: it gets the WINPKI_MACHINE machine.
    assert seen["main"] == a.path and seen["thread"] == tmp_path / "env-machine"


def test_use_machine_is_per_task(make_machine):
    a, b = make_machine(), make_machine()

    async def in_task(m):
        with use_machine(m):
            await asyncio.sleep(0.01)
            return current_machine().path

    async def both():
        return await asyncio.gather(in_task(a), in_task(b))

    assert asyncio.run(both()) == [a.path, b.path]


def test_default_machine_is_created_on_first_use(monkeypatch, tmp_path):
    monkeypatch.delenv("WINPKI_MACHINE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    m = current_machine()
    assert m.path == tmp_path / "data" / "winpki" / "machine"
    assert (m.path / "machine.db").is_file()


def test_run_as_validates_and_nests(machine):
    assert capi.current_token().name.endswith("\\Administrator")
    with run_as("NetworkService"):
        assert capi.current_token().name == "NT AUTHORITY\\NETWORK SERVICE"
        with run_as("S-1-5-18"):
            assert capi.current_token().name == "NT AUTHORITY\\SYSTEM"
        assert capi.current_token().user == capi.Sid("S-1-5-20")
    with raises_hresult(ERROR_NONE_MAPPED), run_as("NT AUTHORITY\\Nobody"):
        pass


def test_component_schema_inside_a_transaction_keeps_it_open(machine):
    # A component may create its tables lazily while the caller's transaction is open (a
    # PFX import onto a token registers the token tables mid-import): the transaction must
    # survive, and a rollback must not leave the schema marked as created.
    sql = "CREATE TABLE IF NOT EXISTS comp_a (x INTEGER);\nCREATE TABLE IF NOT EXISTS comp_b (y TEXT);"
    with pytest.raises(RuntimeError):
        with machine.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES ('probe', '1')")
            machine.ensure_schema("comp", sql)
            assert db.in_transaction
            raise RuntimeError("roll back")
    assert machine.db.execute("SELECT COUNT(*) FROM meta WHERE key = 'probe'").fetchone()[0] == 0
    with machine.transaction() as db:
        machine.ensure_schema("comp", sql)
        db.execute("INSERT INTO comp_a(x) VALUES (1)")
    assert machine.db.execute("SELECT COUNT(*) FROM comp_a").fetchone()[0] == 1


def test_store_version_moves_with_every_store_change_from_any_connection(tmp_path):
    """Caches of chain results (schannel.secur32's peer validations) compare store_version():
    adding, rewriting (a property) and deleting a certificate each move it, also when another
    connection to the machine (another process's Machine) made the change."""
    from helpers_certs import make_cert

    from capi import constants as C
    from capi.crypt32.cert import CertSetCertificateContextProperty
    from capi.crypt32.store import (
        CertAddEncodedCertificateToStore,
        CertDeleteCertificateFromStore,
        CertOpenStore,
    )

    m = Machine.create(tmp_path / "m")
    other = Machine.open(tmp_path / "m")
    try:
        seen = [m.store_version()]
        with use_machine(other), CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                                               C.CERT_SYSTEM_STORE_LOCAL_MACHINE, "Root") as store:
            ctx = CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, make_cert("v"),
                                                   C.CERT_STORE_ADD_NEW)
            seen.append(m.store_version())
            CertSetCertificateContextProperty(ctx, C.CERT_FRIENDLY_NAME_PROP_ID, 0, "renamed")
            seen.append(m.store_version())
            CertDeleteCertificateFromStore(ctx)
            seen.append(m.store_version())
        assert len(set(seen)) == 4, seen
        assert m.store_version() == seen[-1]  # nothing changed: the same number
    finally:
        other.close()
        m.close()

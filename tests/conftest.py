
import pytest

from capi import Machine, use_machine


@pytest.fixture(autouse=True)
def _isolated_default_machine(tmp_path, monkeypatch):
    # Never touch the user's real default machine from tests.
    monkeypatch.setenv("WINPKI_MACHINE", str(tmp_path / "default-machine"))


@pytest.fixture
def machine(tmp_path):
    """A fresh 2019 machine in a temporary directory, made current for the test."""
    m = Machine.create(tmp_path / "m", machine_guid="3ade29bb-f050-41f3-b0db-f2b69957a1d7")
    with use_machine(m):
        yield m
    m.close()


@pytest.fixture
def make_machine(tmp_path):
    """Factory: make_machine(os_version="2008R2", ...) -> a fresh machine (not made current)."""
    made = []

    def factory(**kwargs):
        kwargs.setdefault("machine_guid", "3ade29bb-f050-41f3-b0db-f2b69957a1d7")
        m = Machine.create(tmp_path / f"m{len(made)}", **kwargs)
        made.append(m)
        return m

    yield factory
    for m in made:
        m.close()


def _current_machine(make_machine, os_version: str):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        yield m


@pytest.fixture
def w2003(make_machine):
    """A fresh Windows Server 2003 machine, made current for the test."""
    yield from _current_machine(make_machine, "2003")


@pytest.fixture
def w2008(make_machine):
    """A fresh Windows Server 2008 R2 machine, made current for the test."""
    yield from _current_machine(make_machine, "2008R2")


@pytest.fixture
def w2019(make_machine):
    """A fresh Windows Server 2019 machine, made current for the test."""
    yield from _current_machine(make_machine, "2019")


@pytest.fixture
def prov(machine):
    """The Microsoft Software Key Storage Provider, opened on the test's machine."""
    from capi.constants import MS_KEY_STORAGE_PROVIDER
    from capi.ncrypt import keystorage

    with keystorage.NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER, 0) as p:
        yield p

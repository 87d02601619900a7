"""pytest plugin (entry point ``pytest11``): fixtures for users' own test suites.

- ``winpki_machine``: a fresh simulated machine in a temporary directory, made current.
  Its Windows version is the test's ``@pytest.mark.winpki_os("2008R2")``, else the ini
  option ``winpki_os_version``, else 2019.
- ``winpki_machine_factory``: ``factory(os_version=..., computer_name=..., machine_guid=...)``
  returns another fresh machine (not made current), closed after the test.
- ``softhsm_token``: a fresh SoftHSM2 token (``.module``, ``.label``, ``.pin``,
  ``.so_pin``, ``.config``). One SoftHSM configuration and token directory serve the whole
  pytest session (SoftHSM reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``); each test
  gets its own token, initialised with ``softhsm2-util --init-token --free`` under a unique
  label, and the module — if this process already loaded it — is re-initialised so it
  sees the new token. The token is deleted after the test. Skipped, with the reason,
  where SoftHSM2 is not installed; the ini option ``winpki_pkcs11_module`` names the
  module when it is not in a standard place.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from capi.host.machine import Machine
    from csp.softhsm import SoftHSMToken

DEFAULT_OS_VERSION = "2019"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("winpki_os_version",
                  "Windows version of the winpki_machine fixture (2008R2, 2012R2, 2016, "
                  "2019, 2022, 2025...); default 2019", default=DEFAULT_OS_VERSION)
    parser.addini("winpki_pkcs11_module",
                  "path of the PKCS#11 module (libsofthsm2.so) the softhsm_token fixture "
                  "uses; default: the standard install locations", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "winpki_os(version): the Windows version of the winpki_machine fixture "
        "for this test, e.g. @pytest.mark.winpki_os(\"2008R2\")")


def _os_version(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("winpki_os")
    if marker is not None:
        if len(marker.args) != 1:
            raise pytest.UsageError("@pytest.mark.winpki_os takes one version, e.g. \"2008R2\"")
        return str(marker.args[0])
    return str(request.config.getini("winpki_os_version") or DEFAULT_OS_VERSION)


@pytest.fixture
def winpki_machine_factory(tmp_path_factory: pytest.TempPathFactory
                           ) -> Iterator[Callable[..., Machine]]:
    """``factory(os_version="2019", computer_name="WEBSERVER", machine_guid=None)``: a fresh
    machine in its own temporary directory (not made current); all are closed after the
    test."""
    from capi.host.machine import Machine

    made: list[Machine] = []

    def factory(os_version: str = DEFAULT_OS_VERSION, computer_name: str = "WEBSERVER",
                machine_guid: str | None = None) -> Machine:
        machine = Machine.create(tmp_path_factory.mktemp("winpki") / "machine",
                                 computer_name=computer_name, os_version=os_version,
                                 machine_guid=machine_guid)
        made.append(machine)
        return machine

    yield factory
    for machine in made:
        machine.close()


@pytest.fixture
def winpki_machine(request: pytest.FixtureRequest,
                   winpki_machine_factory: Callable[..., Machine]) -> Iterator[Machine]:
    """A fresh machine in a temporary directory, made current: Windows Server 2019 unless
    the test's ``winpki_os`` marker or the ``winpki_os_version`` ini option says otherwise."""
    from capi.host.context import use_machine

    machine = winpki_machine_factory(os_version=_os_version(request))
    with use_machine(machine):
        yield machine


@pytest.fixture(scope="session")
def _winpki_softhsm_dir(tmp_path_factory):
    """The session's SoftHSM2 configuration; SOFTHSM2_CONF is set before any load."""
    from csp import softhsm

    base = tmp_path_factory.mktemp("softhsm")
    config, tokens = softhsm.write_config(base)
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = config
    yield config, tokens
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _softhsm_module(config: pytest.Config) -> str:
    """The SoftHSM2 module to use, or a skip naming what is missing."""
    import shutil

    from capi.errors import WinError
    from csp import softhsm

    configured = str(config.getini("winpki_pkcs11_module") or "")
    if configured:
        if not os.path.isfile(configured):
            pytest.skip(f"winpki_pkcs11_module = {configured}: no such file")
        module = os.path.realpath(configured)
    else:
        try:
            module = softhsm.find_module()
        except WinError:
            pytest.skip("SoftHSM2 is not installed (no libsofthsm2.so in the standard places; "
                        "install softhsm2, or set winpki_pkcs11_module / SOFTHSM2_MODULE)")
    if shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (softhsm2-util is not on PATH)")
    return module


@pytest.fixture
def softhsm_token(request: pytest.FixtureRequest, _winpki_softhsm_dir) -> Iterator[SoftHSMToken]:
    """A fresh SoftHSM2 token in the session's temporary token directory, chosen by label."""
    from csp import pkcs11 as p11
    from csp import softhsm

    module = _softhsm_module(request.config)
    config, tokens = _winpki_softhsm_dir
    os.environ["SOFTHSM2_CONF"] = config
    label = f"winpki-{uuid.uuid4().hex[:12]}"
    token = softhsm.SoftHSMToken(module, label, "1234", "5678", config, tokens)
    softhsm.init_token(config, label, token.pin, token.so_pin)
    if p11.canonical_module_path(module) in p11._modules:
        p11.reinitialize_module(module)
    yield token
    p11.drop_token(label)
    subprocess.run(["softhsm2-util", "--delete-token", "--token", label],
                   env=dict(os.environ, SOFTHSM2_CONF=config), capture_output=True, timeout=60)

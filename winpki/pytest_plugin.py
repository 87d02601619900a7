"""pytest plugin (entry point ``pytest11``): fixtures for users' own test suites.

- ``winpki_machine``: a fresh simulated machine in a temporary directory, made current.
- ``softhsm_token``: a fresh SoftHSM2 token (``.module``, ``.label``, ``.pin``,
  ``.so_pin``, ``.config``). One SoftHSM configuration and token directory serve the whole
  pytest session (SoftHSM reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``); each test
  gets its own token, initialised with ``softhsm2-util --init-token --free`` under a unique
  label, and the module — if this process already loaded it — is re-initialised so it
  sees the new token. The token is deleted after the test.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest


@pytest.fixture
def winpki_machine(tmp_path_factory):
    """A fresh Windows Server 2019 machine in a temporary directory, made current."""
    from capi.host.context import use_machine
    from capi.host.machine import Machine

    machine = Machine.create(tmp_path_factory.mktemp("winpki") / "machine")
    with use_machine(machine):
        yield machine
    machine.close()


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


@pytest.fixture
def softhsm_token(_winpki_softhsm_dir):
    """A fresh SoftHSM2 token in the session's temporary token directory, chosen by label."""
    from csp import pkcs11 as p11
    from csp import softhsm

    config, tokens = _winpki_softhsm_dir
    os.environ["SOFTHSM2_CONF"] = config
    module = softhsm.find_module()
    label = f"winpki-{uuid.uuid4().hex[:12]}"
    token = softhsm.SoftHSMToken(module, label, "1234", "5678", config, tokens)
    softhsm.init_token(config, label, token.pin, token.so_pin)
    if p11.canonical_module_path(module) in p11._modules:
        p11.reinitialize_module(module)
    yield token
    p11.drop_token(label)
    subprocess.run(["softhsm2-util", "--delete-token", "--token", label],
                   env=dict(os.environ, SOFTHSM2_CONF=config), capture_output=True, timeout=60)

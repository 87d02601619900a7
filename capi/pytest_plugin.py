"""pytest plugin (entry point ``pytest11``): fixtures for users' own test suites.

- ``winpki_machine``: a fresh simulated machine in a temporary directory, made current.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def winpki_machine(tmp_path_factory):
    """A fresh Windows Server 2019 machine in a temporary directory, made current."""
    from .machine import Machine, use_machine

    machine = Machine.create(tmp_path_factory.mktemp("winpki") / "machine")
    with use_machine(machine):
        yield machine
    machine.close()

"""The pytest plugin as a user's project sees it: a test directory outside this repository,
no conftest, the plugin loaded through its ``pytest11`` entry point, in a fresh process."""

from __future__ import annotations

import os
from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = str(Path(__file__).resolve().parent.parent)

USER_TESTS = '''
import pytest

from capi.host.context import current_machine


def test_default_machine_is_2019(winpki_machine):
    assert current_machine() is winpki_machine
    assert winpki_machine.os.key == "{default}"


@pytest.mark.winpki_os("2008R2")
def test_marker_chooses_the_version(winpki_machine):
    assert winpki_machine.os.key == "2008R2"


def test_factory_makes_independent_machines(winpki_machine_factory):
    a = winpki_machine_factory(os_version="2012R2", computer_name="WEB01")
    b = winpki_machine_factory(machine_guid="3ade29bb-f050-41f3-b0db-f2b69957a1d7")
    assert a.path != b.path
    assert (a.os.key, a.computer_name) == ("2012R2", "WEB01")
    assert b.machine_guid == "3ade29bb-f050-41f3-b0db-f2b69957a1d7"


def test_token(softhsm_token):
    assert softhsm_token.label.startswith("winpki-")
'''


def _run(pytester, monkeypatch, ini: str, default: str, *args):
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.delenv("WINPKI_MACHINE", raising=False)
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_user=USER_TESTS.replace("{default}", default))
    return pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider",
                                         "-rs", *args)


def test_fixtures_marker_and_ini_from_outside(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "winpki_os_version = 2016", "2016")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == 4, result.stdout.str()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0


def test_softhsm_token_skips_with_reason_when_module_missing(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "winpki_pkcs11_module = /nonexistent/libsofthsm2.so",
                  "2019", "-k", "token or default")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*winpki_pkcs11_module = /nonexistent/libsofthsm2.so: no such file*"])

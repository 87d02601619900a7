"""Every scenario (docs/windows-facts.md §7) replays end to end: the failure as Windows shows it, the doctor's
diagnosis, the fix, and (where there is a binding) a real TLS handshake."""

import io

import pytest

from winpki.cli import main
from winpki.scenarios import SCENARIOS, run_scenario


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_replays(name, tmp_path):
    run = run_scenario(name, workdir=str(tmp_path))
    checks = [r for r in run.records if r.kind == "check"]
    assert checks and all(r.text == "ok" for r in checks)


def test_scenario_cli_lists_and_rejects_unknown_names():
    out, err = io.StringIO(), io.StringIO()
    assert main(["scenario", "list"], out=out, err=err) == 0
    assert set(line.split()[0] for line in out.getvalue().splitlines()) == set(SCENARIOS)
    assert main(["scenario", "run", "nope"], out=out, err=err) == 1
    assert "usage: winpki scenario" in err.getvalue()


def test_demo_scenario_shows_the_seed_texts(tmp_path):
    run = run_scenario("keyspec", workdir=str(tmp_path))
    text = "\n".join(r.text for r in run.records)
    assert "SSL Certificate add failed, Error: 1312" in text
    assert "(Exception from HRESULT: 0x80070520)" in text
    assert ("A fatal error occurred when attempting to access the SSL server credential private key. "
            "The error code returned from the cryptographic module is 0x8009030d. "
            "The internal error state is 10001.") in text
    assert "KeySpec = 2 -- AT_SIGNATURE" in text

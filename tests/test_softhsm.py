"""SoftHSM2 provisioning (softhsm-config/) and the softhsm_token fixture."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from csp import pkcs11 as p11
from csp import softhsm

ROOT = Path(__file__).resolve().parent.parent


def test_fixture_gives_a_fresh_token_by_label(softhsm_token):
    t = softhsm_token
    assert os.path.realpath(t.module) == t.module  # one canonical path per process
    assert os.environ["SOFTHSM2_CONF"] == t.config
    token = p11.load_module(t.module).find_token(t.label)
    assert token.label == t.label


def test_provision_script_writes_config_and_token(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "softhsm-config" / "provision.py"), "--dir", str(tmp_path),
         "--label", "provisioned", "--pin", "4321", "--so-pin", "8765"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    conf = tmp_path / "softhsm2.conf"
    assert f"export SOFTHSM2_CONF={conf}" in result.stdout
    assert f"directories.tokendir = {tmp_path / 'tokens'}" in conf.read_text()
    listing = subprocess.run(["pkcs11-tool", "--module", softhsm.find_module(), "-L"], env=dict(os.environ, SOFTHSM2_CONF=str(conf)),
        capture_output=True, text=True, timeout=60).stdout
    assert "provisioned" in listing

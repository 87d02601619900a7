"""``winpki provider init-token``: softhsm-config/provision.py reachable from the installed
package — a token in <machine>/softhsm and the SOFTHSM2_CONF line to export."""

from __future__ import annotations

import io
import os
import subprocess

from winpki.cli import main


def test_init_token_in_machine_directory(tmp_path):
    machine_dir = tmp_path / "m"
    out, err = io.StringIO(), io.StringIO()
    rc = main(["provider", "init-token", "--label", "web-hsm", "--pin", "1111",
               "--so-pin", "2222", "--machine", str(machine_dir)], out, err)
    assert rc == 0, err.getvalue()
    conf = machine_dir / "softhsm" / "softhsm2.conf"
    assert f"export SOFTHSM2_CONF={conf}" in out.getvalue().splitlines()
    # The token is really there: softhsm2-util lists it under that configuration.
    listing = subprocess.run(["softhsm2-util", "--show-slots"], capture_output=True, text=True,
                             env=dict(os.environ, SOFTHSM2_CONF=str(conf)), timeout=60)
    assert "web-hsm" in listing.stdout


def test_init_token_needs_a_label(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["provider", "init-token", "--machine", str(tmp_path)], out, err)
    assert rc == 2 and "--label" in err.getvalue()

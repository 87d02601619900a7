"""A token registered in one shell is usable from another: the registration keeps the
module's configuration (SOFTHSM2_CONF) and applies it before the module loads."""

import os
import subprocess
import sys

from capi import use_machine


def test_registered_token_works_without_softhsm2_conf_exported(make_machine, softhsm_token):
    from capi.ncrypt import keystorage as ncrypt
    from csp import tokens

    m = make_machine(os_version="2019")
    with use_machine(m):
        tokens.add_pkcs11(m, "Contoso HSM KSP", softhsm_token.module, softhsm_token.label,
                          pin=softhsm_token.pin)
        with ncrypt.NCryptOpenStorageProvider("Contoso HSM KSP") as prov:
            key = ncrypt.NCryptCreatePersistedKey(prov, "RSA", "web-key")
            ncrypt.NCryptFinalizeKey(key)
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    env["WINPKI_MACHINE"] = str(m.path)
    proc = subprocess.run([sys.executable, "-m", "winpki", "certutil", "-csp", "Contoso HSM KSP",
                           "-key"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  web-key" in proc.stdout.splitlines()

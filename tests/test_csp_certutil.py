"""winpki certutil -csplist / -key / -delkey."""

import io

from capi.advapi32 import crypt as api
from capi.constants import *
from winpki.cli import main


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out, err)
    return rc, out.getvalue()


def test_csplist(machine):
    rc, out = run("-csplist")
    assert rc == 0
    lines = out.splitlines()
    # certutil -csplist: "Provider Name: X" / "Provider Type: 1 - PROV_RSA_FULL", blank line
    assert lines[0] == f"Provider Name: {MS_DEF_PROV}"
    assert lines[1] == "Provider Type: 1 - PROV_RSA_FULL"
    assert "Provider Type: 24 - PROV_RSA_AES" in lines
    assert f"Provider Name: {MS_KEY_STORAGE_PROVIDER}" in lines
    assert lines[-2] == f"Provider Name: {MS_SMART_CARD_KEY_STORAGE_PROVIDER}"
    assert lines[-1] == "CertUtil: -csplist command completed successfully."


def test_key_and_delkey(machine):
    with api.CryptAcquireContext("{00F81886-5F70-430A-939C-BB7DD58ECE2A}", MS_STRONG_PROV,
                                 PROV_RSA_FULL, CRYPT_NEWKEYSET | CRYPT_MACHINE_KEYSET) as prov:
        api.CryptGenKey(prov, AT_SIGNATURE, 1024 << 16)
    rc, out = run("-key")
    assert rc == 0, out
    lines = out.splitlines()
    # Real output indents the name under the provider line (certutil -v -csp KSP -key in
    # the k6ncrypt README).
    i = lines.index("  {00F81886-5F70-430A-939C-BB7DD58ECE2A}")
    assert lines[i + 1] == "  99247943bd018ca78ef945b82652598d_3ade29bb-f050-41f3-b0db-f2b69957a1d7"
    assert lines[i + 2] == "  AT_SIGNATURE"
    assert lines[-1] == "CertUtil: -key command completed successfully."
    rc, out = run("-delkey", "{00F81886-5F70-430A-939C-BB7DD58ECE2A}")
    assert rc == 0 and out.strip() == "CertUtil: -delkey command completed successfully."
    rc, out = run("-delkey", "{00F81886-5F70-430A-939C-BB7DD58ECE2A}")
    assert rc != 0
    assert out.splitlines()[0] == "CertUtil: -delkey command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)"
    assert out.splitlines()[1] == "CertUtil: Keyset does not exist"


def test_key_for_the_ksp(machine):
    from capi.ncrypt import keystorage as nc

    with nc.NCryptOpenStorageProvider() as p:
        k = nc.NCryptCreatePersistedKey(p, "ECDSA_P256", "tls", 0, NCRYPT_MACHINE_KEY_FLAG)
        nc.NCryptFinalizeKey(k)
    rc, out = run("-csp", MS_KEY_STORAGE_PROVIDER, "-key")
    assert rc == 0 and "  tls" in out.splitlines() and "  ECDSA_P256" in out.splitlines()

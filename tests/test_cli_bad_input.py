"""Bad input to every tool gives a Windows-style message and a non-zero exit — never a
traceback, never an exception out of `winpki`, and no change to the machine."""

import io

import pytest

from capi.tools import TOOLS, main

BAD = {
    "certutil": [["-store", "My", "zz"], ["-addstore"], ["-importPFX", "My", "/nonexistent.pfx"],
                 ["-p"], ["-exportPFX", "My", "00" * 20, "/tmp/never.pfx"], ["-repairstore", "My", "00" * 20],
                 ["-delkey", "no-such-container"], ["-dump", "/nonexistent"], ["-csp", "No Such CSP", "-key"]],
    "certreq": [["-new"], ["-new", "/nonexistent.inf", "/tmp/x.req"], ["-accept", "/nonexistent.cer"],
                ["-submit", "-config", "nohost\\noca", "/nonexistent.req"], ["-bogus"]],
    "icacls": [["relative\\path"], ["C:\\nope"], ["C:\\", "/grant", "NoSuchUser:F"], ["C:\\", "/grant"],
               ["C:\\", "/bogus"]],
    "winhttpcertcfg": [["-l"], ["-g", "-c", "LOCAL_MACHINE\\My", "-s", "x"], ["-z"],
                       ["-l", "-c", "NOWHERE\\My", "-s", "x"]],
    "netsh": [["http"], ["http", "add", "sslcert"], ["http", "add", "sslcert", "ipport=bad"],
              ["http", "show", "sslcert", "ipport=1.2.3.4:99999"], ["wlan", "show", "all"]],
    "appcmd": [["list"], ["list", "site", "Nope"], ["set", "apppool", "/apppool.name:Nope",
                                                     "/processModel.identityType:NetworkService"],
               ["add", "site", "/name:x"], ["frob", "site"]],
    "iis": [["add-binding"], ["add-binding", "--thumbprint", "xyz"], ["load-key", "--thumbprint", "00" * 20],
            ["import-pfx", "/nonexistent.pfx"], ["bogus"]],
    "mmc": [["import", "/nonexistent.pfx"], ["bogus"]],
    "wevtutil": [["qe"], ["qe", "NoSuchLog"], ["qe", "System", "/q:*[[["], ["qe", "System", "/c:x"],
                 ["bogus"]],
    "serve": [["0.0.0.0:443"], ["bad-ipport"], ["0.0.0.0:443", "--listen", "10.0.0.1:443"]],
    "doctor": [["xyz"], ["00" * 20], ["00" * 20, "--ipport", "bad"]],
    "scenario": [["run"], ["run", "nope"], ["bogus"]],
    "provider": [["add-pkcs11"], ["add-pkcs11", "--name", "X", "--module", "/nonexistent.so",
                                  "--token-label", "t"], ["remove", "Nope"], ["bogus"]],
    "machine": [["create", "--os", "1999"], ["bogus"]],
}


def test_every_tool_is_covered():
    assert set(BAD) == set(TOOLS)


@pytest.mark.parametrize("tool, args", [(t, a) for t, cases in BAD.items() for a in cases],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_bad_input(machine, tool, args, capsys):
    before = machine.db.execute("SELECT COUNT(*) FROM certs").fetchone()[0]
    out, err = io.StringIO(), io.StringIO()
    rc = main([tool, *args], out=out, err=err)
    text = out.getvalue() + err.getvalue() + "".join(capsys.readouterr())
    assert rc != 0, text
    assert "Traceback" not in text
    assert machine.db.execute("SELECT COUNT(*) FROM certs").fetchone()[0] == before


def test_unknown_tool():
    out, err = io.StringIO(), io.StringIO()
    assert main(["notatool"], out=out, err=err) != 0
    assert "is not recognized as an internal or external command" in err.getvalue()

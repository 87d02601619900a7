"""Bad input to every tool gives a Windows-style message and a non-zero exit — never a
traceback, never an exception out of `winpki`, and no change to the machine."""

import io

import pytest

from winpki.cli import TOOLS, main

BAD = {
    "certutil": [["-store", "My", "zz"], ["-addstore"], ["-importPFX", "My", "/nonexistent.pfx"],
                 ["-p"], ["-exportPFX", "My", "00" * 20, "/tmp/never.pfx"], ["-repairstore", "My", "00" * 20],
                 ["-delkey", "no-such-container"], ["-dump", "/nonexistent"], ["-csp", "No Such CSP", "-key"],
                 ["-getkey", "nobody"], ["-setreg", "ca\\KRAFlags", "1"], ["-recoverkey", "/nonexistent.rec"],
                 ["-p", "x" * 33, "-backup", "/tmp/never-backup"], ["-MergePFX", "/nonexistent.pfx", "/tmp/x.pfx"],
                 ["-view", "-restrict", "Bogus=1"], ["-revoke", "00"],
                 ["-verify", "/nonexistent.cer"], ["-verify"], ["-delstore", "CA", "ff" * 20]],
    "certreq": [["-new"], ["-new", "/nonexistent.inf", "/tmp/x.req"], ["-accept", "/nonexistent.cer"],
                ["-submit", "-config", "nohost\\noca", "/nonexistent.req"], ["-bogus"]],
    "icacls": [["relative\\path"], ["C:\\nope"], ["C:\\", "/grant", "NoSuchUser:F"], ["C:\\", "/grant"],
               ["C:\\", "/bogus"]],
    "winhttpcertcfg": [["-l"], ["-g", "-c", "LOCAL_MACHINE\\My", "-s", "x"], ["-z"],
                       ["-l", "-c", "NOWHERE\\My", "-s", "x"]],
    "netsh": [["http"], ["http", "add", "sslcert"], ["http", "add", "sslcert", "ipport=bad"],
              ["http", "add", "sslcert", "ipport=0.0.0.0:443", "certhash=" + "ab" * 20,
               "appid={4dc3e181-e14b-4a21-b022-59fc669b0914}", "clientcertnegotiation=maybe"],
              ["http", "show", "sslcert", "ipport=1.2.3.4:99999"], ["wlan", "show", "all"]],
    "appcmd": [["list"], ["list", "site", "Nope"], ["set", "apppool", "/apppool.name:Nope",
                                                     "/processModel.identityType:NetworkService"],
               ["add", "site", "/name:x"], ["frob", "site"],
               ["add", "site", "/name:y", "/physicalPath:c:\\y", "/bindings:garbage"],
               ["set", "site", "/site.name:Default Web Site", "/bogus:1"],
               ["set", "site", "/site.name:Default Web Site",
                "/+bindings.[protocol='http',bindingInformation='*:80:']"]],
    "iis": [["add-binding"], ["add-binding", "--thumbprint", "xyz"], ["load-key", "--thumbprint", "00" * 20],
            ["import-pfx", "/nonexistent.pfx"], ["bogus"]],
    "mmc": [["import", "/nonexistent.pfx"], ["bogus"], ["duplicate-template", "NoSuch", "X"]],
    "wevtutil": [["qe"], ["qe", "NoSuchLog"], ["qe", "System", "/q:*[[["], ["qe", "System", "/c:x"],
                 ["bogus"]],
    "serve": [["0.0.0.0:443"], ["bad-ipport"], ["0.0.0.0:443", "--listen", "10.0.0.1:443"]],
    "doctor": [["xyz"], ["00" * 20], ["00" * 20, "--ipport", "bad"], ["request", "5"]],
    "scenario": [["run"], ["run", "nope"], ["bogus"]],
    "provider": [["add-pkcs11"], ["add-pkcs11", "--name", "X", "--module", "/nonexistent.so",
                                  "--token-label", "t"], ["remove", "Nope"], ["bogus"],
                 ["remove-token", "nope"], ["insert-token", "nope"]],
    "machine": [["create", "--os", "1999"], ["bogus"], ["create", "/proc/no/such/place"]],
    "reg": [["query"], ["query", "HKXX\\Software"], ["query", "HKLM\\SOFTWARE\\NoSuchKey"],
            ["query", "HKCU\\NoSuchKey"], ["query", "HKLM\\SOFTWARE", "/v", "Nope"],
            ["add", "HKLM\\SOFTWARE\\X", "/v", "n", "/t", "REG_DWORD", "/d", "zz", "/f"],
            ["add", "HKLM\\SOFTWARE\\X", "/t", "REG_BOGUS", "/v", "n", "/f"],
            ["add", "HKLM\\SOFTWARE\\X", "/v", "a", "/ve"], ["add", "HKLM\\NewRootKey", "/f"],
            ["delete", "HKLM\\SOFTWARE\\NoSuchKey", "/f"], ["delete", "HKLM\\SOFTWARE", "/f"],
            ["delete", "HKLM\\SOFTWARE\\Microsoft", "/v", "nope", "/f"], ["frob", "HKLM"]],
}


def test_every_tool_is_covered():
    assert set(BAD) == set(TOOLS)


def snapshot(machine):
    """Everything a tool could change: every table of the state database, and the files."""
    db = machine.db
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    state = {t: sorted(map(repr, db.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    state["files"] = sorted(str(p.relative_to(machine.path)) for p in (machine.path / "fs").rglob("*"))
    return state


@pytest.mark.parametrize("tool, args", [(t, a) for t, cases in BAD.items() for a in cases],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_bad_input(machine, tool, args, capsys):
    before = snapshot(machine)
    out, err = io.StringIO(), io.StringIO()
    rc = main([tool, *args], out=out, err=err)
    text = out.getvalue() + err.getvalue() + "".join(capsys.readouterr())
    assert rc != 0, text
    assert "Traceback" not in text and "internal error" not in text, text
    after = snapshot(machine)
    for table in set(before) | set(after):
        if table in before or after[table]:
            assert before.get(table) == after[table], f"{table} changed"


def test_unknown_tool():
    out, err = io.StringIO(), io.StringIO()
    assert main(["notatool"], out=out, err=err) != 0
    assert "is not recognized as an internal or external command" in err.getvalue()


@pytest.mark.parametrize("code, status", [(0, 0), (1, 1), (87, 87), (1332, 52), (768, 1),
                                          (0x80092004, 4), (-1, 255)])
def test_windows_exit_codes_become_nonzero_posix_statuses(code, status):
    from winpki.cli import exit_status

    assert exit_status(code) == status


def test_winpki_command_exit_status(machine, tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, WINPKI_MACHINE=str(machine.path))
    proc = subprocess.run([sys.executable, "-m", "winpki", "icacls", "C:\\", "/grant", "Nobody:F"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1332 & 0xFF and "Traceback" not in proc.stderr

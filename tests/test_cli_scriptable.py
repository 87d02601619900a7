"""Scriptable output and no silent surprises: doctor --json / --all, appcmd /xml and
/text, icacls /save and /restore, WINPKI_MACHINE without a machine, machine list/info/
delete, certutil's PFX password prompt, a busy --listen port, missing PFX files, scenario
clean-up and commands that paste into bash."""

import io
import json
import os
import shlex
import socket
import sys

import pytest
from helpers_keys import install_server_cert

from capi import AT_SIGNATURE, Machine
from capi.constants import DACL_SECURITY_INFORMATION
from capi.host.security import get_file_sd
from schannel import httpsys
from schannel.iis import IIS_APP_ID
from winpki.cli import main


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


FINDING_KEYS = {"cause", "title", "severity", "evidence", "fix", "commands", "scenario", "hresult"}


# --- doctor --json / --all ----------------------------------------------------------------


def test_doctor_json_keyspec(w2008):
    # The 0x80070520 article, scenario 3: an AT_SIGNATURE key on 2008 R2.
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    thumb = ctx.thumbprint.lower()
    rc, out, _ = call("doctor", thumb, "--json", "--ipport", "0.0.0.0:443")
    assert rc == 1
    doc = json.loads(out)
    assert set(doc) == {"thumbprint", "ipport", "verdict", "findings"}
    assert doc["thumbprint"] == thumb and doc["ipport"] == "0.0.0.0:443"
    assert doc["verdict"] == "error"
    first = doc["findings"][0]
    assert set(first) == FINDING_KEYS
    assert first["cause"] == "keyspec" and first["severity"] == "error"
    # What netsh/IIS get binding it: Error 1312 = 0x80070520, probed, not assumed.
    assert first["hresult"] == "0x80070520"
    assert f"winpki certutil -delstore My {thumb}" in first["commands"]
    assert any("KeySpec = 2 -- AT_SIGNATURE" in e for e in first["evidence"])


def test_doctor_slash_json_is_the_same(w2008):
    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    a = call("doctor", ctx.thumbprint, "--json")
    b = call("doctor", ctx.thumbprint, "/json")
    assert a == b and json.loads(a[1])["verdict"] == "error"


def test_doctor_says_the_binding_is_ok_after_the_fix(w2019):
    ctx, _ = install_server_cert(cn="localhost")
    thumb = ctx.thumbprint.lower()
    httpsys.add_binding(w2019, httpsys.SslBinding("0.0.0.0:443", "ipport", thumb, IIS_APP_ID, "MY"))
    # and the site's https binding, which takes the requests (else the doctor warns).
    assert call("appcmd", "set", "site", "/site.name:Default Web Site",
                "/+bindings.[protocol='https',bindingInformation='*:443:']")[0] == 0
    rc, out, _ = call("doctor", thumb, "--ipport", "0.0.0.0:443")
    assert rc == 0
    assert "[ OK ] The http.sys binding 0.0.0.0:443 uses this certificate" in out
    doc = json.loads(call("doctor", thumb, "--ipport", "0.0.0.0:443", "--json")[1])
    assert "binding-ok" in [f["cause"] for f in doc["findings"]]
    assert "no-site-binding" not in [f["cause"] for f in doc["findings"]]
    assert all(f["hresult"] is None for f in doc["findings"] if f["severity"] == "ok")


def test_doctor_all(w2008):
    good, _ = install_server_cert(cn="good.example")
    bad, _ = install_server_cert(cn="bad.example", keyspec=AT_SIGNATURE)
    httpsys.add_binding(w2008, httpsys.SslBinding("0.0.0.0:443", "ipport", good.thumbprint.lower(),
                                                  IIS_APP_ID, "MY"))
    rc, out, _ = call("doctor", "--all")
    assert rc == 1  # one certificate has a blocking problem
    lines = out.splitlines()
    assert lines[0] == "http.sys SSL bindings:"
    assert any(ln.startswith("  [WARN] 0.0.0.0:443") or ln.startswith("  [ OK ] 0.0.0.0:443")
               for ln in lines)
    assert any(ln.startswith(f"  [FAIL] {bad.thumbprint.lower()}") for ln in lines)
    doc = json.loads(call("doctor", "--all", "/json")[1])
    assert [b["binding"] for b in doc["bindings"]] == ["0.0.0.0:443"]
    verdicts = {c["thumbprint"]: c["verdict"] for c in doc["certificates"]}
    assert verdicts[bad.thumbprint.lower()] == "error"
    assert verdicts[good.thumbprint.lower()] in ("ok", "warning")
    for c in doc["certificates"]:
        assert all(set(f) == FINDING_KEYS for f in c["findings"])


def test_doctor_explains_missing_stored_keyset(w2019):
    ctx, container = install_server_cert()
    assert call("certutil", "-delkey", container)[0] == 0
    rc, out, _ = call("doctor", ctx.thumbprint)
    assert rc == 1
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.strip() == "Missing stored keyset")
    assert "no key provider has a container by that name" in lines[at + 1]


# --- appcmd /xml and /text ----------------------------------------------------------------


def test_appcmd_list_xml(machine):
    # Shape from "Getting Started with AppCmd.exe": <appcmd> holding one element per object.
    rc, out, _ = call("appcmd", "list", "site", "/xml")
    assert rc == 0
    assert out == ('<?xml version="1.0" encoding="UTF-8"?>\n<appcmd>\n'
                   '    <SITE SITE.NAME="Default Web Site" SITE.ID="1" bindings="http/*:80:" '
                   'state="Started" />\n</appcmd>\n')
    import xml.etree.ElementTree as ET

    root = ET.fromstring(call("appcmd", "list", "apppools", "/xml")[1].encode())
    assert root.tag == "appcmd" and root[0].tag == "APPPOOL"
    assert root[0].get("APPPOOL.NAME") == "DefaultAppPool"


def test_appcmd_list_text(machine):
    assert call("appcmd", "list", "site", "/text:name") == (0, "Default Web Site\n", "")
    assert call("appcmd", "list", "site", "/text:SITE.ID")[1] == "1\n"
    rc, out, _ = call("appcmd", "list", "site", "/text:*")
    assert rc == 0 and out.splitlines()[:3] == ['SITE "Default Web Site"',
                                                '  SITE.NAME:"Default Web Site"', '  SITE.ID:"1"']
    rc, out, _ = call("appcmd", "list", "site", "/text:nope")
    assert rc == 1 and out == 'ERROR ( message:Unknown attribute "nope".  Replace with -? for help. )\n'


# --- icacls /save and /restore ------------------------------------------------------------


def test_icacls_save_and_restore(machine, tmp_path):
    keys = machine.machine_keys_dir
    parent = keys.rsplit("\\", 1)[0]
    acl = tmp_path / "acl.txt"
    original = get_file_sd(machine, keys).to_sddl(DACL_SECURITY_INFORMATION)
    rc, out, _ = call("icacls", keys, "/save", str(acl))
    assert rc == 0
    assert out.splitlines() == [f"processed file: {keys}",
                                "Successfully processed 1 files; Failed processing 0 files"]
    # UTF-16LE; the name (relative to the folder holding it) then the DACL as SDDL.
    assert acl.read_bytes().decode("utf-16-le") == f"MachineKeys\r\n{original}\r\n"
    assert original.startswith("D:")
    assert call("icacls", keys, "/grant", "NT AUTHORITY\\NETWORK SERVICE:F", "/q")[0] == 0
    assert get_file_sd(machine, keys).to_sddl(DACL_SECURITY_INFORMATION) != original
    rc, out, _ = call("icacls", parent, "/restore", str(acl))
    assert rc == 0 and out.splitlines()[0] == f"processed file: {keys}"
    assert get_file_sd(machine, keys).to_sddl(DACL_SECURITY_INFORMATION) == original


def test_icacls_save_recursive_names_are_relative(machine, tmp_path):
    keys = machine.machine_keys_dir
    install_server_cert()
    acl = tmp_path / "acl.txt"
    assert call("icacls", keys, "/save", str(acl), "/t", "/q")[0] == 0
    names = acl.read_bytes().decode("utf-16-le").split("\r\n")[0:-1:2]
    assert names[0] == "MachineKeys" and len(names) >= 2
    assert all(n.startswith("MachineKeys\\") for n in names[1:])


def test_icacls_restore_missing_file(machine, tmp_path):
    missing = str(tmp_path / "nope.txt")
    rc, out, err = call("icacls", "C:\\ProgramData", "/restore", missing)
    assert rc == 2
    assert err == f"{missing}: The system cannot find the file specified.\n"


# --- WINPKI_MACHINE and winpki machine ------------------------------------------------------


def test_missing_machine_is_an_error_naming_the_path(tmp_path, monkeypatch):
    path = tmp_path / "nowhere"
    monkeypatch.setenv("WINPKI_MACHINE", str(path))
    rc, out, err = call("certutil", "-store", "My")
    assert rc == 3 and out == ""
    assert err.splitlines()[0] == (f"winpki: WINPKI_MACHINE names {path}, which holds no "
                                   "machine: The system cannot find the path specified.")
    assert not path.exists()  # nothing was created behind the user's back
    rc, out, _ = call("machine", "create")
    assert rc == 0 and (path / Machine.DB_NAME).is_file()
    assert call("certutil", "-store", "My")[0] == 0


def test_machine_list_info_delete(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("WINPKI_MACHINE", str(tmp_path / "env"))
    assert call("machine", "list")[1] == "No machines. Create one with: winpki machine create PATH\n"
    call("machine", "create", "--name", "WEB01")
    call("machine", "create", str(tmp_path / "data" / "winpki" / "other"), "--os", "2008R2",
         "--name", "OLD")
    rc, out, _ = call("machine", "list")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 2
    assert lines[0].startswith("* WEB01") and lines[0].endswith(str(tmp_path / "env"))
    assert lines[1].startswith("  OLD ") and "6.1.7601" in lines[1]
    rc, out, _ = call("machine", "info", str(tmp_path / "data" / "winpki" / "other"))
    assert rc == 0 and "Computer name : OLD" in out
    rc, out, _ = call("machine", "delete", str(tmp_path / "data" / "winpki" / "other"))
    assert rc == 0 and not (tmp_path / "data" / "winpki" / "other").exists()
    rc, _, err = call("machine", "delete", str(tmp_path / "data" / "winpki" / "other"))
    assert rc == 1 and "The system cannot find the path specified." in err
    # A directory that is not a machine is never removed.
    (tmp_path / "precious").mkdir()
    assert call("machine", "delete", str(tmp_path / "precious"))[0] == 1
    assert (tmp_path / "precious").is_dir()


# --- certutil -importPFX asks for the password ----------------------------------------------


@pytest.fixture
def pfx(tmp_path):
    from helpers_pfx import PfxFactory

    path = tmp_path / "site.pfx"
    path.write_bytes(PfxFactory(tmp_path / "pfx").make(password="s3cret"))
    return str(path)


def test_import_pfx_reads_the_password_from_stdin(machine, pfx, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret\n"))
    rc, out, _ = call("certutil", "-importPFX", pfx)
    assert rc == 0, out
    assert out.splitlines()[0] == "Enter PFX password:"
    assert out.splitlines()[-1] == "CertUtil: -importPFX command completed successfully."


def test_import_pfx_prompts_on_a_terminal(machine, pfx, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    asked = []
    monkeypatch.setattr(sys, "stdin", Tty(""))
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "wrong")
    rc, out, _ = call("certutil", "-importPFX", pfx)
    assert asked == ["Enter PFX password: "]
    assert rc != 0 and out.splitlines()[0] == (
        "CertUtil: -importPFX command FAILED: 0x80070056 (WIN32: 86 ERROR_INVALID_PASSWORD)")


# --- serve: a busy port ---------------------------------------------------------------------


def test_serve_busy_port_names_the_address(w2019):
    ctx, _ = install_server_cert(cn="localhost")
    httpsys.add_binding(w2019, httpsys.SslBinding("0.0.0.0:443", "ipport", ctx.thumbprint.lower(),
                                                  IIS_APP_ID, "MY"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rc, out, err = call("serve", "0.0.0.0:443", "--listen", f"127.0.0.1:{port}", "--seconds", "0")
    assert rc == 1
    assert err == (f"winpki serve: cannot listen on 127.0.0.1:{port}: Only one usage of each "
                   "socket address (protocol/network address/port) is normally permitted.\n")


# --- missing PFX files ----------------------------------------------------------------------


@pytest.mark.parametrize("tool", [["mmc", "import"], ["iis", "import-pfx"]])
def test_missing_pfx_named_in_windows_words(machine, tmp_path, tool):
    missing = str(tmp_path / "nope.pfx")
    rc, out, _ = call(*tool, missing)
    assert rc == 1
    assert f"The system cannot find the file specified. ({missing})" in out.splitlines()


# --- scenarios: clean-up and paste-able commands ----------------------------------------------


def test_scenario_run_removes_its_machine_unless_keep(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rc, out, _ = call("scenario", "run", "user-store")
    assert rc == 0 and os.listdir(tmp_path) == []
    rc, out, _ = call("scenario", "run", "user-store", "--keep")
    kept = os.listdir(tmp_path)
    assert rc == 0 and len(kept) == 1
    machine_dir = tmp_path / kept[0] / "machine"
    assert f"  export WINPKI_MACHINE={machine_dir}" in out.splitlines()
    assert (machine_dir / Machine.DB_NAME).is_file()


def test_scenario_commands_paste_into_bash(tmp_path):
    from winpki.scenarios import run_scenario

    run = run_scenario("keyspec", workdir=str(tmp_path))
    tools = [r for r in run.records if r.kind == "tool"]
    for rec in tools:
        words = shlex.split(rec.title)  # what bash hands the program
        assert shlex.join(words) == rec.title
    query = next(shlex.split(r.title) for r in tools if r.title.startswith("wevtutil"))
    assert "/q:*[System[(EventID=36870)]]" in query
    binding = next(shlex.split(r.title) for r in tools if r.title.startswith("iis add-binding"))
    assert binding[binding.index("--site") + 1] == "Default Web Site"
    notes = [r.text for r in run.records if r.kind == "note" and r.text.startswith("openssl")]
    assert not notes or all("-passout " in n for n in notes)


def test_doctor_changes_nothing(w2008):
    # The doctor probes what http.sys would return, but leaves no Schannel event behind.
    from schannel import eventlog

    ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
    before = len(eventlog.query(w2008, "System"))
    assert call("doctor", ctx.thumbprint, "--json")[0] == 1
    assert len(eventlog.query(w2008, "System")) == before

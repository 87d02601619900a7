"""winpki doctor for client certificates, URL reservations and in-process (ephemeral) keys
(winpki.doctor_clients): each finding is checked against what the machine really does --
the served endpoint's answer, http.sys's registration check, AcquireCredentialsHandle --
and each fix, run as printed, makes the finding go away.

Sources: Microsoft "The HTTP status code in IIS 7 and later versions" (403.13 / 403.16 /
403.17 / 403.7 texts); "add urlacl" (netsh http: url=, user=); "Namespace Reservations,
Registrations, and Routing" (a non-administrator needs a reservation, else
ERROR_ACCESS_DENIED); dotnet/corefx#24454 and Microsoft "Troubleshooting SslStream
authentication issues" (an ephemeral key: SEC_E_NO_CREDENTIALS 0x8009030E, event 36869).
"""

from __future__ import annotations

import io
import json
import shlex

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from helpers_sspi import client_cred, issue, make_root
from test_clientcert_events import _ec, _events, _ok, get, served  # noqa: F401 — the served fixture

from capi import constants as C
from capi.crypt32.pfx import PFXImportCertStore
from capi.crypt32.store import (
    CertEnumCertificatesInStore,
)
from capi.errors import ERROR_ACCESS_DENIED, SEC_E_NO_CREDENTIALS, WinError
from capi.host.accounts import resolve_token
from capi.testing import raises_hresult
from schannel import certevents, serve, urlacl
from schannel import secur32 as S
from winpki.cli import main
from winpki.doctor import diagnose
from winpki.doctor_clients import diagnose_client_certificate


def doctor(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["doctor", *args], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def run_fix(command: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = shlex.split(command.replace("\\", "\\\\"))
    assert argv[0] == "winpki"
    rc = main(argv[1:], out=out, err=err)
    assert rc == 0, (command, out.getvalue(), err.getvalue())


def _ctx(path):
    from winpki.tools.certutil_store import read_certificates

    return read_certificates(str(path))[0]


@pytest.mark.parametrize("client, cause, substatus, hresult", [
    ("rogue", "client-cert-untrusted", 16, 0x80090325),   # SEC_E_UNTRUSTED_ROOT
    ("revoked", "client-cert-revoked", 13, 0x80092010),   # CRYPT_E_REVOKED
    ("expired", "client-cert-expired", 17, 0x80090328),   # SEC_E_CERT_EXPIRED
])
def test_client_certificate_verdict_matches_what_the_endpoint_answers(served, client, cause,  # noqa: F811
                                                                      substatus, hresult):
    m = served["machine"]
    diag = diagnose_client_certificate(m, _ctx(served["clients"][client][0]), "0.0.0.0:443")
    finding = diag.findings[0]
    assert (finding.cause, finding.severity, finding.hresult) == (cause, "error", hresult)
    assert f"IIS answers: HTTP Error 403.{substatus} - Forbidden" in "\n".join(finding.evidence)
    # The served binding answers exactly that.
    with serve("0.0.0.0:443", handler=_ok) as endpoint:
        answer = get(endpoint.address, served, client)
    assert answer.startswith(b"HTTP/1.1 403 Forbidden") and f"403.{substatus}".encode() in answer
    # The doctor changed nothing: no event, no store change.
    assert _events(m, 36877) == []


def test_good_client_certificate_and_the_binding_that_does_not_ask(served):  # noqa: F811
    m = served["machine"]
    good = _ctx(served["clients"]["good"][0])
    diag = diagnose_client_certificate(m, good, "0.0.0.0:443")
    assert diag.verdict == "ok" and diag.causes == []
    # A binding without clientcertnegotiation (and no IIS sslFlags) never asks.
    thumb = served["ctx"].thumbprint.lower()
    run_fix("winpki netsh http delete sslcert ipport=0.0.0.0:443")
    run_fix(f"winpki netsh http add sslcert ipport=0.0.0.0:443 certhash={thumb} "
            "appid={4dc3e181-e14b-4a21-b022-59fc669b0914}")
    diag = diagnose_client_certificate(m, good, "0.0.0.0:443")
    assert diag.causes == ["client-cert-not-asked"]
    commands = diag.findings[1].commands
    assert commands[0] == "winpki netsh http delete sslcert ipport=0.0.0.0:443"
    assert commands[1].endswith("certstorename=MY clientcertnegotiation=enable")
    for command in commands:
        run_fix(command)
    assert diagnose_client_certificate(m, good, "0.0.0.0:443").causes == []


def test_cli_untrusted_client_certificate_and_its_fix(served, tmp_path, monkeypatch):  # noqa: F811
    m = served["machine"]
    monkeypatch.chdir(tmp_path)
    rc, out, err = doctor("--client-cert", str(served["clients"]["rogue"][0]), "0.0.0.0:443",
                          "--json")
    assert rc == 1, err
    doc = json.loads(out)
    assert doc["ipport"] == "0.0.0.0:443" and doc["verdict"] == "error"
    assert doc["client_cert"] == str(served["clients"]["rogue"][0])
    first = doc["findings"][0]
    assert first["cause"] == "client-cert-untrusted" and first["hresult"] == "0x80090325"
    assert any('does not name "Rogue Root"' in e for e in first["evidence"])
    assert first["commands"] == ["winpki certutil -addstore Root RogueRoot.cer"]
    # The fix, with the client's root exported to the file it names.
    rogue = _ctx(served["clients"]["rogue"][0])
    (tmp_path / "RogueRoot.cer").write_bytes(
        served["rogue_root"].public_bytes(serialization.Encoding.DER))
    run_fix(first["commands"][0])
    rc, out, _ = doctor("--client-cert", str(served["clients"]["rogue"][0]), "--ipport",
                        "0.0.0.0:443")
    assert rc == 0 and "[ OK ] The binding trusts this client certificate" in out
    assert out.startswith(f"Client certificate {rogue.thumbprint.lower()}")
    with serve("0.0.0.0:443", handler=_ok) as endpoint:
        assert get(endpoint.address, served, "rogue").startswith(b"HTTP/1.1 200")
    assert _events(m, 36877) == []


def test_binding_diagnosis_reports_refused_client_certificates(served):  # noqa: F811
    m = served["machine"]
    certevents.set_event_logging(m, 3)
    with serve("0.0.0.0:443", handler=_ok) as endpoint:
        get(endpoint.address, served, "rogue")
        get(endpoint.address, served, "revoked")
    diag = diagnose(m, served["ctx"].thumbprint, "0.0.0.0:443")
    finding = next(f for f in diag.findings if f.cause == "client-cert-refused")
    assert finding.severity == "warning"
    text = "\n".join(finding.evidence)
    assert "System log: Schannel 36877: The certificate received from the remote client " \
           "application has not validated correctly. The error code is 0x80092010." in text
    assert '0x80090325: SEC_E_UNTRUSTED_ROOT "' in text
    assert finding.commands[0].startswith("winpki doctor --client-cert")
    # The binding itself is fine: the refusals are a warning, not a failure.
    assert diag.verdict == "warning"
    # EventLogging back to the default (errors only): the fix says how to see new refusals,
    # and the command it prints is the one that does it.
    certevents.set_event_logging(m, 1)
    finding = next(f for f in diagnose(m, served["ctx"].thumbprint, "0.0.0.0:443").findings
                   if f.cause == "client-cert-refused")
    command = finding.commands[-1]
    assert command == ('winpki reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\'
                       'SecurityProviders\\SCHANNEL" /v EventLogging /t REG_DWORD /d 3 /f')
    run_fix(command)
    assert certevents.event_logging(m) == 3


def test_url_reservation_missing_then_fixed(machine):
    url, who = "http://+:8080/app/", "NT AUTHORITY\\NETWORK SERVICE"
    token = resolve_token(machine, who)
    with raises_hresult(ERROR_ACCESS_DENIED):
        urlacl.check_registration(machine, token, url)
    rc, out, err = doctor("--url", url, "--as", who, "--json")
    assert rc == 1, err
    doc = json.loads(out)
    assert (doc["url"], doc["account"], doc["verdict"]) == (url, who, "error")
    finding = doc["findings"][0]
    assert finding["cause"] == "urlacl-missing" and finding["hresult"] == "0x80070005"
    assert any("Your process does not have access rights to this namespace" in e
               for e in finding["evidence"])
    assert finding["commands"] == [f'winpki netsh http add urlacl url={url} user="{who}"']
    run_fix(finding["commands"][0])
    urlacl.check_registration(machine, token, url)  # http.sys now lets it register
    rc, out, _ = doctor("--url", url, "--as", who)
    assert rc == 0 and f"[ OK ] {who} may register {url}" in out
    # A reservation of that exact URL for someone else: the fix replaces it.
    run_fix('winpki netsh http add urlacl url=http://+:9090/ user="NT AUTHORITY\\LOCAL SERVICE"')
    rc, out, _ = doctor("--url", "http://+:9090/", "--as", who, "--json")
    commands = json.loads(out)["findings"][0]["commands"]
    assert commands[0] == "winpki netsh http delete urlacl url=http://+:9090/"
    for command in commands:
        run_fix(command)
    urlacl.check_registration(machine, token, "http://+:9090/")
    # An administrator needs no reservation; bad input is an error, not a traceback.
    assert doctor("--url", "http://+:7070/x/")[0] == 0
    rc, out, err = doctor("--url", "http://nope/", "--as", who)
    assert rc == 1 and "Traceback" not in err and err.startswith("winpki doctor: ")
    rc, out, err = doctor("--url", url, "--as", "NOBODY\\ghost")
    assert rc == 1 and "No mapping between account names and security IDs was done." in err


def _pfx(tmp_path, machine):
    """A real PFX with its key, as an application receives one."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    root = make_root()
    cert, key = issue(root, "app-client", eku=ExtendedKeyUsageOID.CLIENT_AUTH, key=_ec())
    pfx = pkcs12.serialize_key_and_certificates(
        b"app", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    path = tmp_path / "app.pfx"
    path.write_bytes(pfx)
    return path, pfx


def test_pfx_with_an_ephemeral_key(machine, tmp_path):
    path, pfx = _pfx(tmp_path, machine)
    rc, out, err = doctor("--pfx", str(path), "-p", "pw", "--ephemeral", "--json")
    assert rc == 1, err
    doc = json.loads(out)
    finding = doc["findings"][0]
    assert doc["ephemeral"] is True and finding["cause"] == "ephemeral-key"
    assert finding["hresult"] == "0x8009030E"
    assert any("AcquireCredentialsHandle(server, that certificate): SEC_E_NO_CREDENTIALS "
               "0x8009030E" in e for e in finding["evidence"])
    assert "winpki certutil -importPFX -p <pw> My <file>.pfx" in finding["commands"]
    # What the doctor ran is what an application gets.
    eph = CertEnumCertificatesInStore(PFXImportCertStore(pfx, "pw", C.PKCS12_NO_PERSIST_KEY), None)
    with raises_hresult(SEC_E_NO_CREDENTIALS):
        client_cred(S.SCH_CREDENTIALS(paCred=[eph]))
    # ...which leaves one 36869 (the application's), none from the doctor's dry run.
    assert len(_events(machine, 36869)) == 1
    # Without --ephemeral: the PFX is fine, with the warning.
    rc, out, _ = doctor("--pfx", str(path), "-p", "pw")
    assert rc == 0 and "[ OK ] The PFX holds a certificate with its private key" in out
    assert "[WARN] Imported in memory only, its key cannot be used by SSPI" in out
    # A wrong password or a missing file: an error line, exit 1.
    rc, _, err = doctor("--pfx", str(path), "-p", "wrong")
    assert rc == 1 and err.startswith("winpki doctor: ") and "Traceback" not in err
    rc, _, err = doctor("--pfx", str(tmp_path / "missing.pfx"), "-p", "pw")
    assert rc == 1 and "The system cannot find the file specified." in err


def test_binding_diagnosis_reports_an_applications_ephemeral_key(machine, tmp_path):
    from helpers_keys import install_server_cert

    ctx, _ = install_server_cert()
    _, pfx = _pfx(tmp_path, machine)
    eph = CertEnumCertificatesInStore(PFXImportCertStore(pfx, "pw", C.PKCS12_NO_PERSIST_KEY), None)
    with pytest.raises(WinError):
        client_cred(S.SCH_CREDENTIALS(paCred=[eph]))
    # A certificate's diagnosis alone does not list machine-wide events; a binding's does.
    assert "ephemeral-key" not in diagnose(machine, ctx.thumbprint).causes
    diag = diagnose(machine, ctx.thumbprint, "0.0.0.0:443")
    finding = next(f for f in diag.findings if f.cause == "ephemeral-key")
    assert finding.severity == "warning" and finding.hresult == SEC_E_NO_CREDENTIALS
    assert finding.evidence[0].startswith(
        "System log: Schannel 36869: The TLS client credential's certificate does not have a "
        "private key information property attached to it.")


def test_bad_combinations(machine):
    rc, _, err = doctor("--url", "http://+:1/", "--pfx", "x.pfx")
    assert rc == 1 and "give one of" in err
    rc, _, err = doctor("--as", "NT AUTHORITY\\NETWORK SERVICE")
    assert rc == 1 and "--as goes with --url" in err


def test_bad_input_is_an_error_line(machine, tmp_path):
    (tmp_path / "junk.cer").write_bytes(b"not a certificate")
    (tmp_path / "junk.pfx").write_bytes(b"not a pfx")
    for args, text in (
            (["--client-cert", str(tmp_path / "junk.cer")], "Cannot find the requested object."),
            (["--pfx", str(tmp_path / "junk.pfx"), "-p", "x"],
             "An error occurred during encode or decode operation."),
            (["--url", "ftp://x/"], "The parameter is incorrect."),
            # A group is not an identity one can run as (LogonUser: ERROR_LOGON_FAILURE).
            (["--url", "http://+:80/a/", "--as", "Everyone"],
             "The user name or password is incorrect.")):
        rc, out, err = doctor(*args)
        # The message, then what it was about when there is more to say.
        assert (rc, out) == (1, "") and err.startswith(f"winpki doctor: {text}"), (args, err)
        assert err.count("\n") == 1
    # A prefix without its final "/" (HttpListener: "Only Uri prefixes ending in '/' are
    # allowed"): the line says so.
    rc, _, err = doctor("--url", "http://+:8080/app", "--as", "NT AUTHORITY\\NETWORK SERVICE")
    assert rc == 1 and "The parameter is incorrect." in err and "ends in '/'" in err

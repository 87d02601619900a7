"""The scenarios of the public articles (docs/windows-facts.md §7), replayed end to end on a fresh simulated machine.

Each scenario builds the cause for real (a PFX made with OpenSSL, an import, an ACL change),
shows what Windows shows (netsh, IIS Manager, the System log, certutil), runs the doctor,
applies the documented fix and proves it: the binding succeeds and, where there is one, a
real TLS client completes a handshake. Every expectation is checked; a scenario that does
not behave as Windows does raises :class:`ScenarioFailed`.
"""

from __future__ import annotations

import datetime
import io
import os
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from capi.host.context import use_machine
from capi.host.machine import Machine

APPID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"


class ScenarioFailed(AssertionError):
    """The simulated machine did not behave as the scenario says Windows does."""


@dataclass
class Record:
    kind: str  # "step" | "tool" | "note" | "check"
    title: str
    text: str = ""
    rc: int | None = None
    excerpt: tuple[str, int] | None = None  # (first line to show, how many) for long outputs

    @property
    def shown(self) -> str:
        """The output as printed: all of it, or the excerpt with the elisions marked."""
        if not self.excerpt:
            return self.text
        marker, count = self.excerpt
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if marker in line:
                return "\n".join(["..."] + lines[i:i + count] + ["..."])
        return self.text


@dataclass
class Runner:
    """Runs tools in-process against one machine and records (and optionally prints) it all."""

    machine: Machine
    workdir: str
    printer: Callable[[Record], None] | None = None
    records: list[Record] = field(default_factory=list)

    def _emit(self, rec: Record) -> Record:
        self.records.append(rec)
        if self.printer:
            self.printer(rec)
        return rec

    def step(self, title: str, text: str = "") -> None:
        self._emit(Record("step", title, text))

    def note(self, text: str) -> None:
        self._emit(Record("note", "", text))

    def tool(self, *args: str, excerpt: tuple[str, int] | None = None) -> Record:
        from winpki.cli import main

        out = io.StringIO()
        rc = main(list(args), out=out, err=out)
        # Quoted for bash, so every command shown can be pasted as it is.
        shown = " ".join(shlex.quote(a) for a in args)
        return self._emit(Record("tool", shown, out.getvalue(), rc, excerpt))

    def expect(self, condition: bool, what: str) -> None:
        self._emit(Record("check", what, "ok" if condition else "FAILED"))
        if not condition:
            raise ScenarioFailed(what)

    def path(self, name: str) -> str:
        return os.path.join(self.workdir, name)


# --------------------------------------------------------------------------------------
# Material: certificates and PFX files as a CA or OpenSSL would hand them over
# --------------------------------------------------------------------------------------


def _key_and_cert(cn: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_pfx(run: Runner, cn: str, password: str, *, keysig: bool = False) -> tuple[str, str]:
    """(pfx path, thumbprint): a PFX made with the OpenSSL command line (-keysig writes the
    signature-only key usage Windows turns into AT_SIGNATURE)."""
    from cryptography.hazmat.primitives import hashes, serialization

    key, cert = _key_and_cert(cn)
    base = run.path(cn)
    with open(base + ".key", "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    with open(base + ".crt", "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    pfx = base + ".pfx"
    openssl = shutil.which("openssl")
    if openssl:
        cmd = [openssl, "pkcs12", "-export", "-inkey", base + ".key", "-in", base + ".crt",
               "-out", pfx, "-passout", f"pass:{password}", "-name", cn,
               # 3DES and an SHA-1 MAC, what OpenSSL 1.x wrote by default and what Windows
               # before 2019 can read (OpenSSL 3's AES-256/SHA-256 default is refused there
               # with ERROR_INVALID_PASSWORD, tests/test_pfx_versions.py)
               "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"]
        if keysig:
            cmd.append("-keysig")
        subprocess.run(cmd, check=True, capture_output=True)
        run.note(f"openssl pkcs12 -export {'-keysig ' if keysig else ''}-inkey {cn}.key "
                 f"-in {cn}.crt -out {cn}.pfx -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES "
                 "-macalg sha1 "
                 f"-passout {shlex.quote('pass:' + password)} -name {shlex.quote(cn)}")
    else:  # the same attributes, written by winpki's own PKCS#12 layer
        from capi.formats.pkcs12 import PfxCert, PfxKey, build_pfx

        kid = b"\x01\x00\x00\x00"
        data = build_pfx([PfxKey(key, key_usage=0x80 if keysig else None, local_key_id=kid,
                                 friendly_name=cn), PfxCert(cert.public_bytes(
                                     serialization.Encoding.DER), local_key_id=kid)], password)
        with open(pfx, "wb") as fh:
            fh.write(data)
    os.remove(base + ".key")
    return pfx, cert.fingerprint(hashes.SHA1()).hex()


def https_get(address: tuple[str, int], cafile: str, server_name: str,
              max_version: ssl.TLSVersion | None = None, *,
              client: tuple[str, str] | None = None) -> tuple[str, str]:
    """(TLS version, first response line) from Python's ssl client, verifying the chain;
    ``client``: (certificate file, key file) to offer when the server asks for one."""
    ctx = ssl.create_default_context(cafile=cafile)
    if max_version is not None:
        ctx.maximum_version = max_version
    if client is not None:
        ctx.load_cert_chain(*client)
    with socket.create_connection(address, timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            return tls.version(), data.split(b"\r\n", 1)[0].decode()


TLS12_SERVER_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server"


def _enable_tls12(run: Runner) -> None:
    """reg add Enabled=1 and DisabledByDefault=0 for TLS 1.2's server side, as the
    administrators of 2008 R2 web servers do ("Protocols in TLS/SSL (Schannel SSP)": TLS
    1.2 supported but disabled there)."""
    for value, data in (("Enabled", "1"), ("DisabledByDefault", "0")):
        rec = run.tool("reg", "add", TLS12_SERVER_KEY, "/v", value, "/t", "REG_DWORD", "/d", data, "/f")
        run.expect(rec.rc == 0, f"reg add ... TLS 1.2\\Server /v {value} /d {data}")


def _handshake(run: Runner, cn: str) -> None:
    from schannel import protocols
    from schannel.serve import serve

    if "TLS 1.2" not in protocols.effective_settings(run.machine).served_protocols:
        run.step(f"{run.machine.os.product} serves TLS 1.0 only: enable TLS 1.2",
                 "Microsoft's table (\"Protocols in TLS/SSL (Schannel SSP)\") lists TLS 1.1 and "
                 "1.2 as supported but disabled on this version; current clients require TLS "
                 "1.2. Schannel reads the setting at boot: the restart is the next serve.")
        _enable_tls12(run)
    run.step("A real TLS client connects",
             "winpki serves the binding on a loopback port; Python's ssl module verifies the "
             "certificate and the server signs the handshake through the key's provider.")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        version, status = https_get(endpoint.address, run.path(cn + ".crt"), cn)
    run.note(f"TLS handshake with {cn} at {endpoint.address[0]}:{endpoint.address[1]}: "
             f"{version}, '{status}'")
    run.expect(status == "HTTP/1.1 200 OK", "the TLS handshake completes and IIS answers 200")


def _bind(run: Runner, thumb: str) -> Record:
    return run.tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={thumb}",
                    f"appid={APPID}")


def _iis_bind(run: Runner, thumb: str) -> None:
    """IIS Manager's Add Site Binding (https, port 443, the certificate): the http.sys SSL
    binding and the Default Web Site's https binding, which routes the requests to the site
    (an SSL binding alone only completes the handshake: http.sys answers 404 itself)."""
    rec = run.tool("iis", "add-binding", "--site", "Default Web Site", "--thumbprint", thumb)
    run.expect(rec.rc == 0, "IIS Manager adds the https binding (site binding and http.sys binding)")


def _site_binding(run: Runner) -> None:
    """appcmd: the Default Web Site's https binding next to a binding netsh made."""
    rec = run.tool("appcmd", "set", "site", "/site.name:Default Web Site",
                   "/+bindings.[protocol='https',bindingInformation='*:443:']")
    run.expect(rec.rc == 0, "the Default Web Site has an https binding on *:443")


NETSH_1312 = "SSL Certificate add failed, Error: 1312"


# --------------------------------------------------------------------------------------
# The scenarios
# --------------------------------------------------------------------------------------


def scenario_keyspec(run: Runner) -> None:
    """0x80070520 article, scenario 3 (and `make demo`): KeySpec = 2 -- AT_SIGNATURE on 2008 R2."""
    cn = "www.contoso.com"
    run.step("A PFX whose key is signature-only",
             "The certificate came with a key marked for signing only (what certreq's KeySpec "
             "default or `openssl pkcs12 -keysig` produce).")
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd", keysig=True)
    run.step("Import it into LocalMachine\\My", "certutil reads the key usage inside the PFX.")
    rec = run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.expect(rec.rc == 0, "certutil -importPFX succeeds")
    rec = run.tool("certutil", "-v", "-store", "My", thumb,
                   excerpt=("CERT_KEY_PROV_INFO_PROP_ID(2):", 8))
    run.expect("  KeySpec = 2 -- AT_SIGNATURE" in rec.text, "certutil shows KeySpec = 2 -- AT_SIGNATURE")
    run.step("Bind it to 0.0.0.0:443", "This is where IIS Manager shows 0x80070520.")
    rec = _bind(run, thumb)
    run.expect(NETSH_1312 in rec.text, "netsh fails with Error: 1312")
    rec = run.tool("iis", "add-binding", "--site", "Default Web Site", "--thumbprint", thumb)
    run.expect("(Exception from HRESULT: 0x80070520)" in rec.text, "IIS Manager shows 0x80070520")
    run.step("The System log says why")
    rec = run.tool("wevtutil", "qe", "System", "/q:*[System[(EventID=36870)]]", "/f:text", "/c:1",
                   "/rd:true")
    run.expect("0x8009030d" in rec.text.lower() and "Schannel" in rec.text, "Schannel event 36870")
    run.step("Ask the doctor")
    rec = run.tool("doctor", thumb, "--ipport", "0.0.0.0:443")
    run.expect("scenario 3:" in rec.text, "the doctor names KeySpec (scenario 3)")
    run.step("Fix: import the key as a key-exchange key",
             "KeySpec cannot change on an issued certificate's key; import the PFX again with "
             "AT_KEYEXCHANGE (or re-issue with KeySpec = 1 in the certreq INF).")
    run.tool("certutil", "-delstore", "My", thumb)
    rec = run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx, "AT_KEYEXCHANGE")
    run.expect(rec.rc == 0, "re-import with AT_KEYEXCHANGE succeeds")
    run.step("Add the https binding in IIS Manager again",
             "http.sys now accepts the certificate; the site's binding routes the requests to "
             "the Default Web Site.")
    _iis_bind(run, thumb)
    _handshake(run, cn)


def scenario_iis_nonexportable(run: Runner) -> None:
    """0x80070520 article, scenario 1: IIS Manager import with 'Allow this certificate to be exported'
    unchecked leaves a broken keyset; the Certificates console import of the same PFX works."""
    cn = "shop.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    run.step("IIS Manager > Server Certificates > Import, export box unchecked")
    rec = run.tool("iis", "import-pfx", pfx, "--password", "P@ssw0rd", "--no-export")
    run.expect(rec.rc == 0, "IIS Manager's import reports success")
    rec = run.tool("certutil", "-v", "-store", "My", thumb,
                   excerpt=("CERT_KEY_PROV_INFO_PROP_ID(2):", 8))
    run.expect("Encryption test passed" in rec.text and "  Flags = 0" in rec.text,
               "certutil (as the administrator) passes its key test — but Flags = 0")
    run.step("Add the https binding in IIS Manager")
    rec = run.tool("iis", "add-binding", "--thumbprint", thumb)
    run.expect("0x80070520" in rec.text, "IIS Manager shows 0x80070520")
    rec = run.tool("doctor", thumb)
    run.expect("scenario 1:" in rec.text, "the doctor names the non-exportable IIS import")
    run.step("Fix: delete it and import through the Certificates console",
             "The key can stay non-exportable: the console puts it straight into MachineKeys.")
    run.tool("certutil", "-delstore", "My", thumb)
    rec = run.tool("mmc", "import", pfx, "-p", "P@ssw0rd")
    run.expect(rec.rc == 0, "the Certificates console import succeeds")
    rec = run.tool("iis", "add-binding", "--thumbprint", thumb)
    run.expect(rec.rc == 0, "IIS Manager adds the binding")
    _handshake(run, cn)


def scenario_machinekeys_acl(run: Runner) -> None:
    """0x80070520 article, scenario 2: permissions in MachineKeys changed; SYSTEM cannot read the key."""
    cn = "intranet.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    from schannel.httpsys import find_certificate
    from winpki.keyacl import key_file_path

    key_file = key_file_path(run.machine, find_certificate(run.machine, "MY", thumb))
    run.step("Someone 'resets' the permissions of the key files to the folder's",
             "MachineKeys' own entries apply to the folder only, so the key file is left with "
             "no entries at all.")
    run.tool("icacls", run.machine.machine_keys_dir)
    run.tool("icacls", key_file, "/reset")
    rec = _bind(run, thumb)
    run.expect(NETSH_1312 in rec.text, "netsh fails with Error: 1312")
    rec = run.tool("doctor", thumb)
    run.expect("scenario 2:" in rec.text, "the doctor names the MachineKeys permissions")
    run.step("Fix: give SYSTEM and Administrators their access back")
    run.tool("icacls", key_file, "/grant", "NT AUTHORITY\\SYSTEM:F", "/grant", "BUILTIN\\Administrators:F")
    rec = _bind(run, thumb)
    run.expect("SSL Certificate successfully added" in rec.text, "the binding succeeds")
    _site_binding(run)
    _handshake(run, cn)


def scenario_networkservice(run: Runner) -> None:
    """"X509 certificates on Windows Server 2003" (Steve Fenton): on Windows Server 2003, NETWORK SERVICE needs WinHttpCertCfg -g."""
    cn = "IssuedToName"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.step("The web application (DefaultAppPool runs as NETWORK SERVICE on IIS 6) uses the key")
    rec = run.tool("iis", "load-key", "--pool", "DefaultAppPool", "--thumbprint", thumb)
    run.expect("Keyset does not exist" in rec.text, "the application gets 'Keyset does not exist'")
    rec = run.tool("winhttpcertcfg", "-l", "-c", "LOCAL_MACHINE\\MY", "-s", cn)
    run.expect("NETWORK SERVICE" not in rec.text, "NETWORK SERVICE is not listed")
    run.step("Fix: WinHttpCertCfg -g ... -a NetworkService (no space in NetworkService)")
    rec = run.tool("winhttpcertcfg", "-g", "-c", "LOCAL_MACHINE\\MY", "-s", cn, "-a", "NetworkService")
    run.expect(rec.rc == 0, "the grant succeeds")
    rec = run.tool("iis", "load-key", "--pool", "DefaultAppPool", "--thumbprint", thumb)
    run.expect(rec.rc == 0, "the application opens the key")


def scenario_repairstore(run: Runner) -> None:
    """"Install certificate after deleting the pending certificate request (IIS 6.0)": a
    certificate added back without its key; certutil -repairstore re-links it,
    and fails with 0x80090011 once the key is gone."""
    cn = "owa.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.step("The certificate is deleted and added back from its .cer (the key stays)")
    run.tool("certutil", "-delstore", "My", thumb)
    rec = run.tool("certutil", "-addstore", "My", run.path(cn + ".crt"))
    run.expect(rec.rc == 0, "certutil -addstore succeeds")
    rec = run.tool("certutil", "-store", "My", thumb)
    run.expect("No key provider information" in rec.text, "certutil: No key provider information")
    run.step("Fix: certutil -repairstore")
    rec = run.tool("certutil", "-repairstore", "My", thumb)
    run.expect("Encryption test passed" in rec.text and rec.rc == 0, "Encryption test passed")
    run.step("Same again, but the key is gone too")
    run.tool("certutil", "-delstore", "My", thumb)
    run.tool("certutil", "-addstore", "My", run.path(cn + ".crt"))
    _delete_all_machine_keys(run)
    rec = run.tool("certutil", "-repairstore", "My", thumb)
    run.expect("FAILED: 0x80090011 (-2146893807 NTE_NOT_FOUND)" in rec.text
               and "CertUtil: Object was not found." in rec.text, "-repairstore fails with 0x80090011")


def _delete_all_machine_keys(run: Runner) -> None:
    from capi import constants as C
    from capi.advapi32.crypt import CryptAcquireContext, CryptGetProvParam, CryptReleaseContext

    names = []
    prov = CryptAcquireContext(None, C.MS_ENHANCED_PROV, C.PROV_RSA_FULL,
                               C.CRYPT_VERIFYCONTEXT | C.CRYPT_MACHINE_KEYSET)
    flag = C.CRYPT_FIRST
    from capi.errors import WinError

    while True:
        try:
            names.append(CryptGetProvParam(prov, C.PP_ENUMCONTAINERS, flag))
        except WinError:
            break
        flag = C.CRYPT_NEXT
    CryptReleaseContext(prov, 0)
    for name in names:
        run.tool("certutil", "-delkey", name)


def scenario_user_store(run: Runner) -> None:
    """KB 295281: the certificate was requested into the user store; http.sys looks only in
    LocalMachine. Fix: export it with its key and import it into the computer store."""
    cn = "portal.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    rec = run.tool("certutil", "-user", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.expect(rec.rc == 0, "import into CurrentUser\\My")
    rec = _bind(run, thumb)
    run.expect(NETSH_1312 in rec.text, "netsh fails with Error: 1312")
    rec = run.tool("doctor", thumb)
    run.expect("CurrentUser\\My" in rec.text, "the doctor finds it in CurrentUser\\My")
    run.step("Fix: move it to LocalMachine\\My with its key")
    out_pfx = run.path("moved.pfx")
    rec = run.tool("certutil", "-user", "-p", "x", "-exportPFX", "My", thumb, out_pfx)
    run.expect(rec.rc == 0, "export from the user store")
    rec = run.tool("certutil", "-p", "x", "-importPFX", "My", out_pfx)
    run.expect(rec.rc == 0, "import into the computer store")
    rec = _bind(run, thumb)
    run.expect("SSL Certificate successfully added" in rec.text, "the binding succeeds")
    _site_binding(run)
    _handshake(run, cn)


def scenario_tls12_2008r2(run: Runner) -> None:
    """"Protocols in TLS/SSL (Schannel SSP)": a default Windows Server 2008 R2 serves TLS 1.0
    (TLS 1.1/1.2 supported but disabled); a TLS 1.2 client fails until the registry enables it."""
    from schannel import protocols
    from schannel.serve import serve

    cn = "legacy.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    rec = run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx, "AT_KEYEXCHANGE")
    run.expect(rec.rc == 0, "certutil -importPFX succeeds")
    _iis_bind(run, thumb)
    run.step("A TLS 1.2 client connects", "Python's ssl limited to TLS 1.2 (its defaults: no "
             "SHA-1 cipher suites). The server picks TLS 1.0, its highest enabled protocol, "
             "and finds no cipher suite of the client's that TLS 1.0 can use.")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        try:
            https_get(endpoint.address, run.path(cn + ".crt"), cn, ssl.TLSVersion.TLSv1_2)
            failed = ""
        except (ssl.SSLError, OSError) as exc:
            failed = str(exc)
    run.note(f"client: {failed or 'connected'}")
    run.expect(bool(failed), "the handshake fails against the default 2008 R2")
    rec = run.tool("wevtutil", "qe", "System", "/q:*[System[(EventID=36874)]]", "/f:text", "/c:1",
                   "/rd:true")
    run.expect("An TLS 1.0 connection request was received from a remote client application"
               in rec.text, "Schannel event 36874: no common cipher suite at TLS 1.0")
    rec = run.tool("wevtutil", "qe", "System", "/q:*[System[(EventID=36888)]]", "/f:text", "/c:1",
                   "/rd:true")
    run.expect("The following fatal alert was generated: 40. The internal error state is 1205."
               in rec.text, "Schannel event 36888: handshake_failure (40) sent to the client")
    rec = run.tool("doctor", thumb, "--ipport", "0.0.0.0:443")
    run.expect("Protocol or cipher-suite mismatch" in rec.text and "DisabledByDefault" in rec.text,
               "the doctor names the protocol mismatch and the reg add fix")
    run.step("Fix: enable TLS 1.2 for Schannel's server side, then restart")
    _enable_tls12(run)
    rec = run.tool("reg", "query", TLS12_SERVER_KEY)
    run.expect("DisabledByDefault    REG_DWORD    0x0" in rec.text, "reg query shows the values")
    run.expect("TLS 1.2" in protocols.effective_settings(run.machine).served_protocols,
               "Schannel now serves TLS 1.2")
    _handshake(run, cn)


def _partner_pki(run: Runner) -> tuple[str, str, str]:
    """A partner's root (PartnerRoot.cer, DER) and a client certificate it issued
    (partner-client.crt / .key, PEM) -> the three paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Partner Root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner-client")]))
            .issuer_name(root_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(root_key, hashes.SHA256()))
    paths = run.path("PartnerRoot.cer"), run.path("partner-client.crt"), run.path("partner-client.key")
    with open(paths[0], "wb") as fh:
        fh.write(root.public_bytes(serialization.Encoding.DER))
    with open(paths[1], "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return paths


SCHANNEL_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"


def scenario_client_cert(run: Runner) -> None:
    """A binding that asks for client certificates (clientcertnegotiation=enable): a
    partner's certificate from a CA the server does not trust gets IIS's 403.16 ("The HTTP
    status code in IIS 7 and later versions"); Schannel logs 36877 once its EventLogging
    includes warnings (KB 260729); the doctor names the missing root; importing it into
    LocalMachine\\Root (which also puts it in the trusted issuer list) fixes it."""
    from schannel.serve import serve

    cn = "api.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    rec = run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.expect(rec.rc == 0, "certutil -importPFX succeeds")
    rec = run.tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={thumb}",
                   f"appid={APPID}", "clientcertnegotiation=enable")
    run.expect("SSL Certificate successfully added" in rec.text, "the binding succeeds")
    _site_binding(run)
    run.step("Log Schannel's warnings too (KB 260729: EventLogging 0x1 = errors, the default; "
             "0x2 = warnings); a refused client certificate is a warning")
    rec = run.tool("reg", "add", SCHANNEL_KEY, "/v", "EventLogging", "/t", "REG_DWORD", "/d", "3",
                   "/f")
    run.expect(rec.rc == 0, "reg add ... SCHANNEL /v EventLogging /d 3")
    root_file, client_crt, client_key = _partner_pki(run)
    run.step("The partner connects with its client certificate",
             "Python's ssl module offers partner-client.crt (issued by \"Partner Root\", a CA "
             "this server does not trust); the handshake completes and IIS judges the chain.")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        _, status = https_get(endpoint.address, run.path(cn + ".crt"), cn,
                              client=(client_crt, client_key))
    run.note(f"client: '{status}'")
    run.expect(status == "HTTP/1.1 403 Forbidden", "IIS refuses the request (403)")
    rec = run.tool("wevtutil", "qe", "System", "/q:*[System[(EventID=36877)]]", "/f:text", "/c:1",
                   "/rd:true")
    run.expect("The certificate received from the remote client application has not validated "
               "correctly. The error code is 0x80090325." in rec.text,
               "Schannel event 36877 with SEC_E_UNTRUSTED_ROOT")
    rec = run.tool("doctor", thumb, "--ipport", "0.0.0.0:443")
    run.expect("[WARN] Clients' certificates were refused" in rec.text,
               "the binding's diagnosis reports the refused client certificate")
    rec = run.tool("doctor", "--client-cert", client_crt, "--ipport", "0.0.0.0:443")
    run.expect('IIS answers: HTTP Error 403.16 - Forbidden "Client certificate is untrusted or '
               'invalid."' in rec.text and "winpki certutil -addstore Root PartnerRoot.cer"
               in rec.text, "the doctor predicts 403.16 and gives the certutil -addstore fix")
    run.step("Fix: trust the partner's root on the server (LocalMachine\\Root)")
    rec = run.tool("certutil", "-addstore", "Root", root_file)
    run.expect(rec.rc == 0, "certutil -addstore Root PartnerRoot.cer")
    rec = run.tool("doctor", "--client-cert", client_crt, "--ipport", "0.0.0.0:443")
    run.expect(rec.rc == 0 and "[ OK ] The binding trusts this client certificate" in rec.text,
               "the doctor now accepts the client certificate")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        version, status = https_get(endpoint.address, run.path(cn + ".crt"), cn,
                                    client=(client_crt, client_key))
    run.note(f"client: {version}, '{status}'")
    run.expect(status == "HTTP/1.1 200 OK", "the partner's request now succeeds (200)")


def _https_status(address, cafile: str, cn: str, version: ssl.TLSVersion, client) -> str:
    """The response's first line, or what the client saw instead of one."""
    try:
        got, status = https_get(address, cafile, cn, version, client=client)
    except ConnectionResetError:
        return "connection reset"
    except (ssl.SSLError, OSError) as exc:
        return f"failed: {exc}"
    return f"{got}, '{status}'" if status else f"{got}, connection closed without an answer"


def scenario_client_cert_tls13(run: Runner) -> None:
    """IIS asks for client certificates (sslFlags SslNegotiateCert, SslRequireCert) on a
    binding that does not (clientcertnegotiation off, the default): IIS asks by
    renegotiation after the request, which works over TLS 1.2 and cannot happen over TLS
    1.3 -- on Windows Server 2022 the connection is reset, on Windows Server 2025 IIS
    answers HTTP 500.0 with error code 0x80070032 (IIS support blog, "Addressing TLS 1.3
    Compatibility Issues in IIS Express on Windows 11"). The fix is the binding's
    clientcertnegotiation=enable."""
    from schannel.serve import serve

    cn = "api.contoso.com"
    pfx, thumb = make_pfx(run, cn, "P@ssw0rd")
    rec = run.tool("certutil", "-p", "P@ssw0rd", "-importPFX", "My", pfx)
    run.expect(rec.rc == 0, "certutil -importPFX succeeds")
    rec = run.tool("iis", "add-binding", "--thumbprint", thumb)
    run.expect(rec.rc == 0, "IIS Manager: an https binding on port 443 (http.sys binding added)")
    rec = run.tool("appcmd", "set", "config", "Default Web Site",
                   "-section:system.webServer/security/access",
                   "/sslFlags:Ssl, SslNegotiateCert, SslRequireCert", "/commit:apphost")
    run.expect(rec.rc == 0, "IIS SSL Settings: Require SSL, client certificates Require")
    root_file, client_crt, client_key = _partner_pki(run)
    rec = run.tool("certutil", "-addstore", "Root", root_file)
    run.expect(rec.rc == 0, "the partner's root is trusted (LocalMachine\\Root)")
    client = (client_crt, client_key)
    run.step("The partner connects with TLS 1.3, then with TLS 1.2",
             "Python's ssl module offers partner-client.crt when asked.")
    cafile = run.path(cn + ".crt")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        tls13 = _https_status(endpoint.address, cafile, cn, ssl.TLSVersion.TLSv1_3, client)
        tls12 = _https_status(endpoint.address, cafile, cn, ssl.TLSVersion.TLSv1_2, client)
    run.note(f"TLS 1.3 client: {tls13}")
    run.note(f"TLS 1.2 client: {tls12}")
    if run.machine.os.httpsys_tls13_late_client_cert == "not-supported":
        run.expect(tls13 == "TLSv1.3, 'HTTP/1.1 500 Internal Server Error'",
                   "TLS 1.3: http.sys cannot renegotiate and says ERROR_NOT_SUPPORTED; IIS "
                   "answers 500.0 (IIS Web Core, 0x80070032)")
    else:
        run.expect(tls13 in ("connection reset", "TLSv1.3, connection closed without an answer"),
                   "TLS 1.3: http.sys cannot renegotiate, the connection is reset")
    run.expect(tls12 == "TLSv1.2, 'HTTP/1.1 200 OK'",
               "TLS 1.2: IIS renegotiates, gets the certificate, answers 200")
    rec = run.tool("doctor", thumb, "--ipport", "0.0.0.0:443")
    run.expect("IIS asks for client certificates after the handshake, which TLS 1.3 cannot do"
               in rec.text and "clientcertnegotiation=enable" in rec.text,
               "the doctor names the renegotiation and the binding's fix")
    run.step("Fix: ask for the certificate in the handshake (clientcertnegotiation=enable)")
    rec = run.tool("netsh", "http", "delete", "sslcert", "ipport=0.0.0.0:443")
    run.expect(rec.rc == 0, "netsh http delete sslcert ipport=0.0.0.0:443")
    rec = run.tool("netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443", f"certhash={thumb}",
                   f"appid={APPID}", "certstorename=MY", "clientcertnegotiation=enable")
    run.expect("SSL Certificate successfully added" in rec.text,
               "netsh http add sslcert ... clientcertnegotiation=enable")
    with serve("0.0.0.0:443", ("127.0.0.1", 0), machine=run.machine) as endpoint:
        tls13 = _https_status(endpoint.address, cafile, cn, ssl.TLSVersion.TLSv1_3, client)
    run.note(f"TLS 1.3 client: {tls13}")
    run.expect(tls13 == "TLSv1.3, 'HTTP/1.1 200 OK'", "TLS 1.3 now succeeds (200)")


@dataclass(frozen=True)
class Scenario:
    name: str
    os_version: str
    source: str
    title: str
    func: Callable[[Runner], None]


_ARCHIVAL_INF = """[Version]
Signature= "$Windows NT$"

[NewRequest]
Subject = "CN=Test Subject"
KeySpec = 1
Exportable = FALSE
PrivateKeyArchive = TRUE

[RequestAttributes]
CertificateTemplate = EFSArchive
"""


def _write(run: Runner, name: str, text: str) -> str:
    path = run.path(name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def _der_of(path: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read()).public_bytes(serialization.Encoding.DER)


def scenario_key_archival(run: Runner) -> None:
    """Key archival on a CA: the two archival failures, then archive, lose the key,
    recover it ("Key Archival and Management in Windows Server 2003")."""
    import hashlib

    run.step("A key recovery agent enrolls (the KeyRecoveryAgent template waits for a certificate manager)")
    kra_inf = _write(run, "kra.inf", _ARCHIVAL_INF.replace("Test Subject", "KRA Admin")
                     .replace("Exportable = FALSE\nPrivateKeyArchive = TRUE", "KeyLength = 2048\nExportable = TRUE")
                     .replace("EFSArchive", "KeyRecoveryAgent"))
    run.tool("certreq", "-new", kra_inf, run.path("kra.req"))
    run.tool("certreq", "-submit", run.path("kra.req"))
    run.tool("certutil", "-SetCATemplates", "+KeyRecoveryAgent")
    rec = run.tool("certreq", "-submit", run.path("kra.req"))
    request_id = rec.text.split()[1]
    run.tool("certutil", "-resubmit", request_id)
    run.tool("certreq", "-retrieve", request_id, run.path("kra.cer"))
    run.tool("certreq", "-accept", run.path("kra.cer"))
    run.step("A version-2 template that archives the subject's encryption key")
    run.tool("mmc", "duplicate-template", "EFS", "EFSArchive", "--archive", "--min-key-size", "2048")
    run.tool("certutil", "-SetCATemplates", "+EFSArchive")
    run.tool("certreq", "-new", _write(run, "user.inf", _ARCHIVAL_INF), run.path("user.req"))

    run.step("Failure 1: the CA is not configured for key archival")
    rec = run.tool("certreq", "-submit", run.path("user.req"))
    run.expect("The certification authority is not configured for key archival. 0x8009400a (-2146877430) "
               "COM Error Info:" in rec.text, "certreq: 0x8009400a, not configured for key archival")
    run.tool("doctor", "request", rec.text.split()[1])

    run.step("Failure 2: a KRA is configured, but its certificate is not in the CA's KRA store")
    thumb = hashlib.sha1(_der_of(run.path("kra.cer"))).hexdigest()
    run.tool("certutil", "-setreg", "ca\\KRACertHash", thumb)
    run.tool("certutil", "-setreg", "ca\\KRACertCount", "1")
    rec = run.tool("certreq", "-submit", run.path("user.req"))
    run.expect("0x8009400b" in rec.text, "certreq: 0x8009400b, no valid key recovery agent")
    rec = run.tool("wevtutil", "qe", "Application", "/q:*[System[(EventID=21)]]", "/f:text", "/rd:true", "/c:1")
    run.expect("No valid key recovery agent is defined for this certification authority. 0x8009400b "
               "(-2146877429)" in rec.text, "event 21")

    run.step("Fix: the KRA certificate goes in the CA's KRA store; the request is archived and issued")
    run.tool("certutil", "-addstore", "KRA", run.path("kra.cer"))
    rec = run.tool("certreq", "-submit", run.path("user.req"), run.path("user.cer"))
    run.expect("Certificate retrieved(Issued) Issued" in rec.text, "issued with its key archived")
    run.tool("certreq", "-accept", run.path("user.cer"))
    user_thumb = hashlib.sha1(_der_of(run.path("user.cer"))).hexdigest()

    run.step("The user loses the key; a certificate manager gets the recovery blob, the KRA recovers it")
    run.tool("certutil", "-user", "-delstore", "My", user_thumb)
    run.tool("certutil", "-getkey", "Test Subject", run.path("user.rec"))
    rec = run.tool("certutil", "-user", "-p", "Rec0ver!", "-recoverkey", run.path("user.rec"),
                   run.path("user-1.p12"))
    run.expect(rec.rc == 0, "certutil -recoverkey")
    run.tool("certutil", "-p", "Rec0ver!,N3wPass", "-MergePFX", run.path("user-1.p12"), run.path("user.p12"))
    run.tool("certutil", "-user", "-p", "N3wPass", "-importPFX", run.path("user.p12"))
    rec = run.tool("certutil", "-user", "-repairstore", "My", user_thumb)
    run.expect("Encryption test passed" in rec.text, "the recovered key decrypts for the certificate")


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("keyspec", "2008R2", '"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 3',
             "KeySpec = 2 (AT_SIGNATURE): 0x80070520 on 2008 R2", scenario_keyspec),
    Scenario("iis-nonexportable", "2008R2", '"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 1',
             "IIS Manager import without 'Allow export' leaves a broken keyset",
             scenario_iis_nonexportable),
    Scenario("machinekeys-acl", "2012R2", '"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 2',
             "Permissions in MachineKeys keep SYSTEM from the key", scenario_machinekeys_acl),
    Scenario("networkservice", "2003", "Windows Server 2003 took NETWORK SERVICE's implicit key access away",
             "NETWORK SERVICE needs WinHttpCertCfg -g on Windows Server 2003",
             scenario_networkservice),
    Scenario("repairstore", "2008R2", "Microsoft's IIS certificate documentation: certutil -repairstore",
             "certutil -repairstore re-links a certificate to its key (or 0x80090011)",
             scenario_repairstore),
    Scenario("tls12-2008r2", "2008R2", '"Protocols in TLS/SSL (Schannel SSP)": Windows 7 / Server 2008 R2',
             "TLS 1.2 is disabled by default on 2008 R2: a TLS 1.2 client fails until reg add enables it",
             scenario_tls12_2008r2),
    Scenario("user-store", "2019", "Microsoft's IIS certificate documentation: the computer store",
             "A certificate in the user store cannot be bound", scenario_user_store),
    Scenario("client-cert", "2019", '"The HTTP status code in IIS 7 and later versions" (Microsoft): 403.16',
             "A client certificate from an untrusted CA: 403.16 and event 36877; trust its root",
             scenario_client_cert),
    Scenario("client-cert-tls13", "2022", 'IIS support blog, "Addressing TLS 1.3 Compatibility '
             'Issues in IIS Express on Windows 11"',
             "sslFlags ask for client certificates after the handshake: TLS 1.3 connections "
             "are reset; clientcertnegotiation=enable", scenario_client_cert_tls13),
    Scenario("client-cert-tls13-2025", "2025", 'IIS support blog, "Addressing TLS 1.3 '
             'Compatibility Issues in IIS Express on Windows 11" (Windows 11 24H2 / Server 2025)',
             "sslFlags ask for client certificates after the handshake: TLS 1.3 clients get "
             "HTTP 500.0 (0x80070032); clientcertnegotiation=enable", scenario_client_cert_tls13),
    Scenario("key-archival", "2019", '"Key Archival and Management in Windows Server 2003" (Microsoft)',
             "Archive a key on the CA, lose it, recover it (and the two archival failures)",
             scenario_key_archival),
)}


def run_scenario(name: str, *, workdir: str | None = None,
                 printer: Callable[[Record], None] | None = None) -> Runner:
    """Replay scenario ``name`` on a fresh machine; raises ScenarioFailed on a divergence."""
    scenario = SCENARIOS[name]
    workdir = workdir or tempfile.mkdtemp(prefix=f"winpki-{name}-")
    machine = Machine.create(os.path.join(workdir, "machine"), os_version=scenario.os_version)
    run = Runner(machine, workdir, printer)
    run.step(f"{scenario.title}", f"{scenario.source} — a fresh {machine.os.product} named "
             f"{machine.computer_name}, in {machine.path}")
    previous = os.environ.get("WINPKI_MACHINE")
    os.environ["WINPKI_MACHINE"] = str(machine.path)
    try:
        with use_machine(machine):
            scenario.func(run)
    finally:
        if previous is None:
            os.environ.pop("WINPKI_MACHINE", None)
        else:
            os.environ["WINPKI_MACHINE"] = previous
    return run

"""``winpki doctor``: why does binding this certificate fail, what shows it, and the fix.

Every finding comes from the machine's real state, checked the way Windows would act on it
(as the administrator for certutil's view, as SYSTEM for Schannel's, as each application
pool's identity for in-process key use). The causes are the scenarios of the public articles in
docs/windows-facts.md §7:

- store location          (KB 295281: requested into the user store, not LocalMachine\\My)
- no key information      (IIS 6.0 pending-request page: -repairstore re-links the key)
- missing key             (IIS 6.0 pending-request page: 0x80090011 from -repairstore)
- IIS non-exportable import (0x80070520 article, scenario 1: the key stayed in the importing user's profile)
- key file ACL / MachineKeys ACL (0x80070520 article, scenario 2)
- KeySpec AT_SIGNATURE    (0x80070520 article, scenario 3, on the versions whose Schannel rejects it)
- broken keyset           (a key file that cannot be read or decrypted)
- application-pool access (Windows Server 2003 note: NETWORK SERVICE / app pools need read)
- untrusted chain         (clients will not trust the binding)
- protocol or cipher-suite mismatch ("Protocols in TLS/SSL (Schannel SSP)": TLS 1.2 is
  supported but disabled on Windows Server 2008 / 2008 R2; the cipher-suite order policy;
  Schannel events 36874 / 36887 / 36888)
- for a binding: client certificates Schannel refused (events 36877 / 36875) and an
  application's certificate with an unpersisted key (event 36869 from an in-process
  caller); the checks behind them (--client-cert, --url, --pfx) are in winpki.doctor_clients
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from capi import constants as C
from capi.errors import (
    CRYPT_E_REVOCATION_OFFLINE,
    CRYPT_E_REVOKED,
    ERROR_NOT_SUPPORTED,
    SEC_E_NO_CREDENTIALS,
    WinError,
    normalize,
    symbolic_name,
)
from capi.host.context import run_as
from capi.host.machine import Machine
from schannel import eventlog, iis
from schannel.credentials import SYSTEM

ERROR, WARNING, OK = "error", "warning", "ok"


@dataclass
class Finding:
    cause: str
    title: str
    severity: str
    evidence: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)
    scenario: str | None = None
    hresult: int | None = None  # what the failing call returns (0x80070520 from http.sys...)

    @property
    def commands(self) -> list[str]:
        """The fix's lines that are commands to run, as they can be pasted."""
        return [x.split("  (")[0] for x in self.fix if x.startswith("winpki ")]

    def as_dict(self) -> dict:
        return {"cause": self.cause, "title": self.title, "severity": self.severity,
                "evidence": list(self.evidence), "fix": list(self.fix),
                "commands": self.commands, "scenario": self.scenario,
                "hresult": None if self.hresult is None else f"0x{self.hresult:08X}"}


@dataclass
class Diagnosis:
    thumbprint: str
    findings: list[Finding]
    heading: str | None = None  # the first line of the text output (default: the certificate)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def causes(self) -> list[str]:
        return [f.cause for f in self.findings if f.severity != OK]

    @property
    def verdict(self) -> str:
        """error when anything blocks, else warning when something is off, else ok."""
        severities = {f.severity for f in self.findings}
        return ERROR if ERROR in severities else WARNING if WARNING in severities else OK

    def as_dict(self) -> dict:
        return {"thumbprint": self.thumbprint, "verdict": self.verdict,
                "findings": [f.as_dict() for f in self.findings]}


# certutil's terse key lines, in plain words (the doctor shows both).
PLAIN_WORDS = {
    "Missing stored keyset":
        "  (certutil's words for: the certificate names a key container, but no key "
        "provider has a container by that name -- the key was deleted, or never came to "
        "this machine with the certificate)",
    "No key provider information":
        "  (the certificate carries no link to a private key, e.g. it was added from a "
        ".cer file without its key)",
    "Private key is NOT exportable":
        "  (the key was imported without 'Mark this key as exportable'; it works, but cannot "
        "be exported again)",
}


def _plain(lines: list[str]) -> list[str]:
    """``lines`` with an explanation after each terse certutil phrase."""
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line.strip() in PLAIN_WORDS:
            out.append(PLAIN_WORDS[line.strip()])
    return out


def _http_sys_probe(machine: Machine, digest: bytes) -> int | None:
    """What http.sys returns acquiring a credential for this certificate (as netsh add
    sslcert does): None when it succeeds, else the HRESULT (0x80070520 for error 1312)."""
    from capi.host.context import use_machine
    from schannel import httpsys

    class _DryRun(Exception):
        pass

    binding = httpsys.SslBinding("0.0.0.0:443", "ipport", digest.hex(),
                                 "{4dc3e181-e14b-4a21-b022-59fc669b0914}", "MY")
    result: int | None = None
    # In a transaction that is rolled back: the Schannel event a failed acquisition logs
    # is not left in the System log (the doctor changes nothing).
    try:
        with machine.transaction(), use_machine(machine):
            try:
                httpsys.credential_for(machine, binding)
            except WinError as exc:
                result = exc.hresult
            raise _DryRun
    except _DryRun:
        pass
    return result


def _with_hresults(machine: Machine, diag: Diagnosis) -> Diagnosis:
    """Give each blocking finding the HRESULT binding the certificate gives."""
    if any(f.severity == ERROR and f.hresult is None for f in diag.findings):
        hr = _http_sys_probe(machine, bytes.fromhex(diag.thumbprint))
        for f in diag.findings:
            if f.severity == ERROR and f.hresult is None:
                f.hresult = hr
    return diag


def _open_store(location: int, name: str):
    from capi.crypt32.store import CertOpenStore

    flags = location | C.CERT_STORE_OPEN_EXISTING_FLAG | C.CERT_STORE_READONLY_FLAG
    try:
        return CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, name)
    except WinError:
        return None


def _find(location: int, name: str, digest: bytes):
    from capi.crypt32.store import CertFindCertificateInStore

    store = _open_store(location, name)
    if store is None:
        return None
    with store:
        return CertFindCertificateInStore(store, C.X509_ASN_ENCODING, 0, C.CERT_FIND_SHA1_HASH,
                                          digest, None)


def _locate(machine: Machine, digest: bytes, findings: list[Finding]):
    cert = _find(C.CERT_SYSTEM_STORE_LOCAL_MACHINE, "My", digest)
    if cert is not None:
        return cert
    for location, label in ((C.CERT_SYSTEM_STORE_CURRENT_USER, "CurrentUser"),
                            (C.CERT_SYSTEM_STORE_LOCAL_MACHINE, "LocalMachine")):
        for store in ("My", "WebHosting", "CA", "Root", "REQUEST"):
            if (label, store) == ("LocalMachine", "My"):
                continue
            found = _find(location, store, digest)
            if found is not None:
                user = "-user " if label == "CurrentUser" else ""
                findings.append(Finding(
                    "store-location", f"The certificate is in {label}\\{store}, not LocalMachine\\My",
                    ERROR,
                    [f"certutil {user}-store {store} {digest.hex()}  -> found",
                     f"certutil -store My {digest.hex()}  -> CRYPT_E_NOT_FOUND",
                     "http.sys looks only in the LocalMachine store named by the binding "
                     "(certstorename=MY), so netsh/IIS fail with 1312."],
                    [f"Export it with its key and import it into the computer store: "
                     f"winpki certutil {user}-exportPFX -p <pw> {store} {digest.hex()} cert.pfx; "
                     "winpki certutil -importPFX -p <pw> My cert.pfx",
                     "or request the certificate for the computer (certreq -machine / MachineKeySet = TRUE)."],
                    "certificate requested into the user store; http.sys reads LocalMachine only"))
                return None
    findings.append(Finding("not-found", "No certificate with this thumbprint on the machine", ERROR,
                            [f"certutil -store My {digest.hex()}  -> CRYPT_E_NOT_FOUND"],
                            ["Check the thumbprint (certutil -store My lists them)."]))
    return None


def _key_file_findings(machine: Machine, cert, info, findings: list[Finding], *,
                       path: str | None = None) -> None:
    """Why SYSTEM cannot open a key the administrator can see: ACLs, profile, file state."""
    from capi.host.accounts import resolve_token
    from capi.host.security import FILE_GENERIC_READ, get_file_sd
    from winpki.keyacl import key_file_path

    if not info.dwFlags & C.CRYPT_MACHINE_KEYSET:
        findings.append(Finding(
            "user-keyset", "The private key is in a user's profile, not in MachineKeys",
            ERROR,
            [f"CERT_KEY_PROV_INFO_PROP_ID: Flags = {info.dwFlags:x} (no CRYPT_MACHINE_KEYSET 0x20)",
             f"Key Container = {info.pwszContainerName}",
             "SYSTEM (Schannel in lsass) cannot open another user's key container, so the "
             "credential cannot be built although certutil, run by that user, shows the key."],
            ["Delete the certificate and import the PFX again with the key exportable, or "
             "through the Certificates console (computer account), which puts the key in "
             "MachineKeys: winpki certutil -importPFX -p <pw> My cert.pfx"],
            '"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 1: '
            "IIS Manager import with 'Allow this certificate to be exported' unchecked"))
        return
    path = path or key_file_path(machine, cert)
    system = resolve_token(machine, SYSTEM)
    if path is None:
        return
    sd = get_file_sd(machine, path)
    if not sd.allows(system, FILE_GENERIC_READ) or not sd.dacl:
        folder_sd = get_file_sd(machine, machine.machine_keys_dir)
        from capi.host.provisioning import CRYPTO_KEY_FOLDER_SDDL
        from capi.host.security import SecurityDescriptor

        default = SecurityDescriptor.from_sddl(CRYPTO_KEY_FOLDER_SDDL)
        evidence = [f"icacls \"{path}\":"] + [f"    {line}" for line in sd.icacls_lines(machine)]
        evidence.append("SYSTEM has no read access to the key file.")
        fixes = [f'winpki icacls "{path}" /grant "NT AUTHORITY\\SYSTEM:F"']
        scenario = None
        if folder_sd.to_sddl() != default.to_sddl() or not sd.dacl or all(
                a.flags & 0x10 for a in sd.dacl):
            evidence += [f"icacls \"{machine.machine_keys_dir}\":"] + [
                f"    {line}" for line in folder_sd.icacls_lines(machine)]
            fixes.insert(0, "Restore MachineKeys' default permissions (KB278381: Everyone "
                            "special (R,W) and Administrators Full Control, this folder only), "
                            "give SYSTEM Full Control on the key file, then re-import the certificate.")
            scenario = ('"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 2: '
                        "missing permissions on MachineKeys")
        findings.append(Finding("key-acl", "SYSTEM cannot read the private key file", ERROR,
                                evidence, fixes, scenario))


def _expected_key_file(machine: Machine, info) -> str | None:
    """Where a machine key's file is, from its container name (Windows' file-name rule)."""
    if not info.dwFlags & C.CRYPT_MACHINE_KEYSET:
        return None
    from csp import capi_unique_name, cng_unique_name

    if info.dwProvType == 0:
        folder, name = machine.cng_machine_keys_dir, cng_unique_name(info.pwszContainerName,
                                                                     machine.machine_guid)
    else:
        folder, name = machine.machine_keys_dir, capi_unique_name(info.pwszContainerName,
                                                                  machine.machine_guid)
    return "\\".join((folder, name))


def _unreadable_key_findings(machine: Machine, cert, info, path: str, lines: list[str], report,
                             findings: list[Finding]) -> None:
    """The key file is there but cannot be opened: its ACL, or its content (broken keyset)."""
    from capi.host.context import current_token
    from capi.host.security import FILE_GENERIC_READ, get_file_sd

    sd = get_file_sd(machine, path)
    if not sd.allows(current_token(machine), FILE_GENERIC_READ):
        _key_file_findings(machine, cert, info, findings, path=path)
        findings[-1].evidence[:0] = lines
        return
    findings.append(Finding(
        "broken-keyset", "The key file is there but cannot be read or decrypted", ERROR,
        lines + [f"{path} exists", f"{report.error.name}: {report.error.strerror}" if report.error
                 else "the provider could not load it"],
        ["Delete the certificate and its key container, then import the PFX again."],
        '"Error HRESULT: 0x80070520 when adding SSL binding in IIS": broken keyset'))


def _key_on_machine(cert) -> bool:
    """Whether some container holds this certificate's key (without touching the store)."""
    try:
        from capi.crypt32.cert import CertCreateCertificateContext
        from capi.crypt32.keyacquire import CryptFindCertificateKeyProvInfo
    except ImportError:  # key association search not available in this build
        return False
    probe = CertCreateCertificateContext(C.X509_ASN_ENCODING, cert.pbCertEncoded)
    try:
        CryptFindCertificateKeyProvInfo(probe, C.CRYPT_FIND_MACHINE_KEYSET_FLAG)
    except WinError:
        return False
    return True


def _app_pool_findings(machine: Machine, cert, findings: list[Finding]) -> None:
    from capi.crypt32.str import CertGetNameString
    from winpki.keyacl import open_private_key

    subject = CertGetNameString(cert, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)
    for pool in iis.list_app_pools(machine):
        try:
            with run_as(pool.account), open_private_key(cert):
                pass
        except WinError as exc:
            findings.append(Finding(
                "app-pool-access", f"Application pool {pool.name} ({pool.account}) cannot open "
                "the private key", WARNING,
                [f"as {pool.account}: {exc.name} 0x{exc.hresult:08X} \"{exc.strerror}\"",
                 "Code in that pool using the certificate's private key (e.g. .NET "
                 "X509Certificate2.PrivateKey) fails with 'Keyset does not exist'."],
                [f"winpki winhttpcertcfg -g -c 'LOCAL_MACHINE\\My' -s {shlex.quote(subject)} "
                 f"-a {shlex.quote(pool.account)}",
                 "or grant read on the key file with icacls."],
                "NETWORK SERVICE / app-pool identities need read access to the key (WinHttpCertCfg -g)",
                exc.hresult))


def ssl_chain_status(cert, usage_oid: str, auth_type: int, chain_flags: int = 0,
                     policy_flags: int = 0):
    """(chain, CERT_CHAIN_POLICY_STATUS): the machine's chain for ``cert`` with ``usage_oid``
    required (CertGetCertificateChain, HCCE_LOCAL_MACHINE, ``chain_flags``) judged by the
    SSL policy for ``auth_type`` (AUTHTYPE_SERVER / AUTHTYPE_CLIENT) with ``policy_flags``."""
    from capi.crypt32.chain import (
        CERT_CHAIN_PARA,
        CERT_CHAIN_POLICY_PARA,
        CERT_USAGE_MATCH,
        SSL_EXTRA_CERT_CHAIN_POLICY_PARA,
        CertGetCertificateChain,
        CertVerifyCertificateChainPolicy,
    )

    para = CERT_CHAIN_PARA(CERT_USAGE_MATCH(C.USAGE_MATCH_TYPE_AND, [usage_oid]))
    chain = CertGetCertificateChain(C.HCCE_LOCAL_MACHINE, cert, None, None, para, chain_flags)
    policy = CERT_CHAIN_POLICY_PARA(policy_flags,
                                    SSL_EXTRA_CERT_CHAIN_POLICY_PARA(auth_type, 0, None))
    return chain, CertVerifyCertificateChainPolicy(C.CERT_CHAIN_POLICY_SSL, chain, policy)


def _chain_findings(cert, findings: list[Finding]) -> None:
    """What a TLS client will think of the chain (built as the server builds it)."""
    _, status = ssl_chain_status(cert, C.szOID_PKIX_KP_SERVER_AUTH, C.AUTHTYPE_SERVER)
    if status.dwError:
        err = WinError(status.dwError)
        findings.append(Finding(
            "untrusted-chain", "Clients will not trust the certificate chain", WARNING,
            [f"CertVerifyCertificateChainPolicy(SSL): {err.name} 0x{err.hresult:08X} {err.strerror}",
             f"chain {status.lChainIndex}, element {status.lElementIndex}"],
            ["Install the issuing CA certificates (LocalMachine CA and Root stores), or use a "
             "certificate from a CA the clients trust."], None, err.hresult))
        return
    _revocation_findings(cert, findings)


def _revocation_findings(cert, findings: list[Finding]) -> None:
    """Revocation as a client that checks it sees it: the chain (root excluded) against
    the CRLs in the machine's CA/Root stores and at file: distribution points. A revoked
    certificate is an error; a CRL that cannot be had is offline (clients that require
    revocation checking fail with CRYPT_E_REVOCATION_OFFLINE)."""
    chain, status = ssl_chain_status(cert, C.szOID_PKIX_KP_SERVER_AUTH, C.AUTHTYPE_SERVER,
                                     C.CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)
    if status.dwError not in (CRYPT_E_REVOKED, CRYPT_E_REVOCATION_OFFLINE):
        return  # CRYPT_E_NO_REVOCATION_CHECK: no CRL location named, nothing to report
    err = WinError(status.dwError)
    element = chain.rgpChain[status.lChainIndex].rgpElement[status.lElementIndex]
    from capi.crypt32.str import CertGetNameString

    who = CertGetNameString(element.pCertContext, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)
    evidence = [f"CertVerifyCertificateChainPolicy(SSL, revocation checked): {err.name} "
                f"0x{err.hresult:08X} {err.strerror}",
                f'chain {status.lChainIndex}, element {status.lElementIndex} ("{who}")']
    if status.dwError == CRYPT_E_REVOKED:
        findings.append(Finding(
            "revoked", "The certificate chain contains a revoked certificate", ERROR, evidence,
            ["Issue a new certificate and bind it; a revoked certificate cannot be un-revoked."]))
    else:
        from capi.crypt32.crl import cdp_urls

        urls = cdp_urls(element.pCertContext)
        findings.append(Finding(
            "revocation-offline", "The revocation status cannot be checked (CRL offline)",
            WARNING, evidence + [f"CRL distribution point: {u}" for u in urls],
            ["Publish a current CRL at the distribution point, or add it to the machine:",
             "winpki certutil -addstore CA <issuer>.crl"]))


MISMATCH_EVENTS = "*[System[(EventID=36874 or EventID=36887 or EventID=36888)]]"
RESTART_NOTE = ("Restart required: Schannel reads these settings when it starts (Windows: "
                "reboot the server; winpki: serve the binding again).")


def protocol_findings(machine: Machine, findings: list[Finding]) -> None:
    """Protocols and cipher suites modern clients cannot meet, and the handshakes that
    already failed on them (Schannel events 36874, 36887, 36888)."""
    from schannel import protocols

    settings = protocols.effective_settings(machine)
    recent = eventlog.query(machine, "System", xpath=MISMATCH_EVENTS, count=3, newest_first=True)
    modern = [p for p in settings.served_protocols if p in ("TLS 1.2", "TLS 1.3")]
    if modern and not recent:
        return
    evidence = [f"Protocols enabled (server): {', '.join(settings.protocols) or 'none'}"]
    for p in ("TLS 1.2", "TLS 1.3"):
        evidence.append(f"{p}: {protocols.protocol_state(machine, p)}")
    if settings.policy_order:
        evidence.append("Cipher suite order policy (SSL\\00010002 Functions): "
                        + ", ".join(settings.cipher_suites))
    evidence.append(f"Cipher suites served: {len(settings.served_suites)} "
                    f"({', '.join(settings.served_suites[:3])}{'...' if len(settings.served_suites) > 3 else ''})")
    evidence += [f"System log: Schannel {e.event_id}: {e.message}" for e in recent]
    fix: list[str] = []
    for p in ("TLS 1.2",):
        if protocols.protocol_state(machine, p) == "disabled":
            fix.append(f"Enable {p} for Schannel's server side:")
            fix += [f"winpki {c}" for c in protocols.enable_protocol_commands(p)]
    if settings.policy_order and not any(s for s in settings.served_suites):
        fix.append("The cipher-suite order policy leaves no suite this server can use; add "
                   "ECDHE suites (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, ...) to it or delete it:")
        fix.append('winpki reg delete "HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002" '
                   "/v Functions /f")
    if not fix:
        fix.append("The client offers no protocol or cipher suite this server enables: update the "
                   "client, or enable a suite it offers in the SSL Cipher Suite Order policy.")
    fix.append(RESTART_NOTE)
    title = "Protocol or cipher-suite mismatch"
    if not modern:
        title += f": {machine.os.product} does not serve TLS 1.2 or later, which current clients require"
    findings.append(Finding("protocol-mismatch", title, ERROR if recent else WARNING, evidence, fix,
                            '"Protocols in TLS/SSL (Schannel SSP)": TLS 1.1/1.2 disabled by default '
                            "on Windows Server 2008 R2"))


CLIENT_CERT_SCENARIO = '"The HTTP status code in IIS 7 and later versions" (Microsoft)'


CLIENT_CERT_EVENTS_XPATH = "*[System[Provider[@Name='Schannel'] and (EventID=36877 or EventID=36875)]]"


def client_cert_event_findings(machine: Machine, findings: list[Finding]) -> None:
    """Client certificates Schannel refused (36877) or could not find (36875) lately."""
    from schannel import certevents

    recent = eventlog.query(machine, "System", xpath=CLIENT_CERT_EVENTS_XPATH, count=3,
                            newest_first=True)
    if not recent:
        return
    evidence = [f"System log: Schannel {e.event_id}: {e.message}" for e in recent]
    fix = []
    for e in recent:
        code = (e.data or {}).get("ErrorCode")
        if e.event_id == 36877 and code:
            try:
                value = int(code, 16)
            except ValueError:
                continue
            err = WinError(value)
            evidence.append(f"  {code}: {err.name} \"{err.strerror}\"")
    fix.append("Check each client certificate the way http.sys does, and get its fix:")
    fix.append("winpki doctor --client-cert <client>.cer --ipport <ip:port>")
    if not certevents.event_logging(machine) & certevents.LOG_WARNINGS:
        fix.append("Schannel's EventLogging does not include warnings (0x2) now, so further "
                   "refusals are not logged; to log them:")
        fix.append(f"winpki {certevents.event_logging_command()}")
    findings.append(Finding(
        "client-cert-refused", "Clients' certificates were refused (Schannel events 36877/36875)",
        WARNING, evidence, fix, CLIENT_CERT_SCENARIO + ": 403.16 / 403.13 / 403.17 / 403.7"))


def renegotiation_findings(machine: Machine, binding, findings: list[Finding]) -> None:
    """IIS asks for client certificates (sslFlags) but the http.sys binding does not
    (clientcertnegotiation off): IIS asks by renegotiation, which TLS 1.3 does not have --
    on a machine that serves TLS 1.3 such clients' connections are reset (Windows Server
    2022) or answered HTTP 500.0 with 0x80070032 (Windows Server 2025; the OS row's
    httpsys_tls13_late_client_cert)."""
    from schannel import protocols
    from schannel.clientcert import SSL_FLAGS, format_ssl_flags, ssl_flags_reaching

    # Any site whose https binding takes requests on the binding (serve applies each
    # request's site's flags).
    flags = ssl_flags_reaching(machine, binding)
    asks = SSL_FLAGS["SslNegotiateCert"] | SSL_FLAGS["SslRequireCert"]
    if binding.client_cert_negotiation or not flags & asks:
        return
    if "TLS 1.3" not in protocols.effective_settings(machine).served_protocols:
        return
    hresult = None
    if machine.os.httpsys_tls13_late_client_cert == "not-supported":
        hresult = normalize(ERROR_NOT_SUPPORTED)
        symptom = (f"{machine.os.product} serves TLS 1.3: when IIS asks a TLS 1.3 client for its "
                   f"certificate, http.sys returns {symbolic_name(hresult)} and IIS answers "
                   f"HTTP 500.0 - Internal Server Error, module IIS Web Core, error code "
                   f"0x{hresult:08X} (TLS 1.2 clients are asked by renegotiation)")
    else:
        symptom = (f"{machine.os.product} serves TLS 1.3: a TLS 1.3 client's connection is reset "
                   "when IIS asks for its certificate (TLS 1.2 clients are asked by renegotiation)")
    findings.append(Finding(
        "client-cert-renegotiation",
        "IIS asks for client certificates after the handshake, which TLS 1.3 cannot do",
        WARNING,
        [f"IIS sslFlags of the sites on {binding.endpoint}: {format_ssl_flags(flags)}",
         f"netsh http show sslcert {binding.kind}={binding.endpoint}  -> Negotiate Client "
         "Certificate : Disabled",
         symptom],
        ["Ask for the certificate in the handshake (delete the binding, add it back with "
         "clientcertnegotiation=enable):",
         f"winpki netsh http delete sslcert {binding.kind}={binding.endpoint}",
         f"winpki netsh http add sslcert {binding.kind}={binding.endpoint} "
         f"certhash={binding.cert_hash} appid={binding.app_id} certstorename={binding.store_name} "
         "clientcertnegotiation=enable"],
        'IIS support blog, "Addressing TLS 1.3 Compatibility Issues in IIS Express on '
        'Windows 11": ERR_CONNECTION_RESET (Server 2022), HTTP 500.0 0x80070032 (Windows 11 '
        '24H2 / Server 2025) with sslFlags="SslNegotiateCert"', hresult))


def site_binding_findings(machine: Machine, binding, findings: list[Finding]) -> None:
    """An http.sys SSL binding no IIS site has an https binding for: the TLS handshake
    completes, then no registered URL takes the request and http.sys answers its own 404
    (Server: Microsoft-HTTPAPI/2.0) -- what `netsh http add sslcert` alone leaves."""
    if binding.kind != "ipport" or iis.https_bindings_reaching(machine, binding.endpoint,
                                                                binding.kind):
        return
    address, _, port = binding.endpoint.rpartition(":")
    ip = "*" if address in ("0.0.0.0", "[::]") else address
    info = f"{ip}:{port}:"
    sites = iis.list_sites(machine)
    https = [f"{site.name}: https/{b.binding_info}" for site in sites for b in site.bindings
             if b.protocol == "https"]
    findings.append(Finding(
        "no-site-binding",
        f"No IIS site has an https binding for {binding.endpoint}: requests get http.sys's 404",
        WARNING,
        [f"netsh http show sslcert ipport={binding.endpoint}  -> Certificate Hash : "
         f"{binding.cert_hash}",
         "appcmd list site  -> https bindings: " + ("; ".join(https) if https else "none"),
         "The TLS handshake completes; every request then gets HTTP/1.1 404 Not Found, "
         "Server: Microsoft-HTTPAPI/2.0, \"HTTP Error 404. The requested resource is not "
         "found.\" (no registered URL takes it)"],
        ["Add the site's https binding (IIS Manager: Site Bindings > Add, type https, "
         "which also keeps this SSL binding):",
         f"winpki appcmd set site /site.name:\"Default Web Site\" "
         f"\"/+bindings.[protocol='https',bindingInformation='{info}']\""],
        '"UrlPrefix Strings" (HTTP Server API): IIS registers a URL per site binding and '
        'http.sys routes by them; "IIS Websites handing 404 when website disabled": the 404 '
        'no site answers carries Server: Microsoft-HTTPAPI/2.0'))


def no_key_info_event_findings(machine: Machine, findings: list[Finding]) -> None:
    """36869 events written for an in-process caller (not http.sys's SYSTEM): an ephemeral
    key given to AcquireCredentialsHandle."""
    recent = [e for e in eventlog.query(machine, "System", xpath="*[System[(EventID=36869)]]",
                                        count=10, newest_first=True)
              if (e.data or {}).get("CallerProcessImageName", "SYSTEM") != "SYSTEM"
              or (e.data or {}).get("Type") == "client"][:3]
    if not recent:
        return
    findings.append(Finding(
        "ephemeral-key", "An application gave Schannel a certificate whose key is not "
        "persisted (event 36869 from an in-process caller)", WARNING,
        [f"System log: Schannel 36869: {e.message}" for e in recent],
        ["Check the application's certificate:",
         "winpki doctor --pfx <file>.pfx --ephemeral",
         "Import it with a persisted key (certutil -importPFX; .NET PersistKeySet | "
         "MachineKeySet instead of EphemeralKeySet)."],
        'dotnet/corefx#24454 "SslStream not working with ephemeral keys"', SEC_E_NO_CREDENTIALS))


def diagnose(machine: Machine, thumbprint: str, ipport: str | None = None) -> Diagnosis:
    """The findings for ``thumbprint`` (and the http.sys binding ``ipport``, if given)."""
    return _with_hresults(machine, _diagnose(machine, thumbprint, ipport))


def _diagnose(machine: Machine, thumbprint: str, ipport: str | None = None) -> Diagnosis:
    from winpki.keyreport import inspect, key_lines

    digest = bytes.fromhex("".join(thumbprint.split()))
    findings: list[Finding] = []
    cert = _locate(machine, digest, findings)
    if cert is None:
        return Diagnosis(digest.hex(), findings)
    report = inspect(cert)
    lines = _plain(key_lines(cert, verbose=True, report=report))
    if report.prov_info is None:
        fix = ["Import the PFX that has the private key again."]
        if _key_on_machine(cert):
            fix = [f"winpki certutil -repairstore My {digest.hex()}  (its key is on this machine)"]
        findings.append(Finding("no-key-info", "The certificate is not linked to a private key",
                                ERROR, lines, fix,
                                "certificate added back without its key association: certutil -repairstore"))
        return Diagnosis(digest.hex(), findings)
    info = report.prov_info
    if report.unique_name is None:
        path = _expected_key_file(machine, info)
        if path is not None and machine.host_path(path).is_file():
            _unreadable_key_findings(machine, cert, info, path, lines, report, findings)
        else:
            findings.append(Finding(
                "missing-key", "The private key is missing", ERROR,
                lines + ([f"{report.error.name}: {report.error.strerror}"] if report.error else []),
                ["Re-import the PFX (with its private key), or restore the key container.",
                 "winpki certutil -repairstore My <thumbprint> reports 0x80090011 when the key is gone."],
                "certutil -repairstore with the key gone"))
        return Diagnosis(digest.hex(), findings)
    if (info.dwProvType != 0 and info.dwKeySpec == C.AT_SIGNATURE
            and machine.os.schannel_rejects_at_signature):
        findings.append(Finding(
            "keyspec", f"KeySpec is AT_SIGNATURE; Schannel on {machine.os.product} needs AT_KEYEXCHANGE",
            ERROR, [ln for ln in lines if "KeySpec" in ln or "Provider" in ln or "Container" in ln],
            ["Re-issue the certificate with KeySpec = 1 in the certreq INF (KeySpec cannot be "
             "changed after issuance), or import the PFX again as a key-exchange key:",
             f"winpki certutil -delstore My {digest.hex()}",
             "winpki certutil -p <pw> -importPFX My cert.pfx AT_KEYEXCHANGE"],
            '"Error HRESULT: 0x80070520 when adding SSL binding in IIS", scenario 3: KeySpec = 2 -- AT_SIGNATURE'))
    try:
        from winpki.keyacl import open_private_key

        with run_as(SYSTEM), open_private_key(cert):
            pass
    except WinError:
        _key_file_findings(machine, cert, info, findings)
    _app_pool_findings(machine, cert, findings)
    _chain_findings(cert, findings)
    protocol_findings(machine, findings)
    if ipport:
        # What clients of a binding met lately (machine-wide events: a binding's diagnosis).
        client_cert_event_findings(machine, findings)
        no_key_info_event_findings(machine, findings)
    recent = eventlog.query(machine, "System", xpath="*[System[(EventID=36870 or EventID=36869)]]",
                            count=3, newest_first=True)
    if recent and any(f.severity == ERROR for f in findings):
        findings[0].evidence.append(f"System log: Schannel {recent[0].event_id}: {recent[0].message}")
    if ipport:
        from schannel import httpsys

        binding = httpsys.get_binding(machine, httpsys.parse_ipport(ipport))
        if binding is None:
            findings.append(Finding("not-bound", f"No http.sys SSL binding for {ipport}", WARNING,
                                    [f"netsh http show sslcert ipport={ipport}  -> not found"],
                                    [f"winpki netsh http add sslcert ipport={ipport} "
                                     f"certhash={digest.hex()} appid={{4dc3e181-e14b-4a21-b022-59fc669b0914}}"]))
        elif binding.cert_hash != digest.hex():
            findings.append(Finding("bound-elsewhere", f"{ipport} is bound to another certificate",
                                    WARNING, [f"Certificate Hash : {binding.cert_hash}"], []))
        else:
            renegotiation_findings(machine, binding, findings)
            site_binding_findings(machine, binding, findings)
        if binding is not None and binding.cert_hash == digest.hex() \
                and not any(f.severity == ERROR for f in findings):
            findings.append(Finding("binding-ok", f"The http.sys binding {ipport} uses this "
                                    "certificate, and Schannel can use its key", OK,
                                    [f"netsh http show sslcert ipport={ipport}  -> Certificate "
                                     f"Hash : {binding.cert_hash}"]))
    if not [f for f in findings if f.severity == ERROR]:
        findings.insert(0, Finding("ok", "Schannel can use this certificate's private key", OK,
                                   [ln for ln in lines if ln.endswith("passed")]))
    return Diagnosis(digest.hex(), findings)


def render(diag: Diagnosis) -> str:
    out = [diag.heading or f"Certificate {diag.thumbprint}", ""]
    for f in diag.findings:
        mark = {"error": "FAIL", "warning": "WARN", "ok": " OK "}[f.severity]
        out.append(f"[{mark}] {f.title}")
        if f.scenario:
            out.append(f"       Scenario: {f.scenario}")
        if f.evidence:
            out.append("       Evidence:")
            out += [f"         {e}" for e in f.evidence]
        if f.fix:
            out.append("       Fix:")
            out += [f"         {x}" for x in f.fix]
        out.append("")
    return "\n".join(out)

r"""The doctor's checks for the other side of TLS and for self-hosted listeners:

- a client certificate against what a binding trusts (``winpki doctor --client-cert``):
  the machine's chain engine as http.sys runs it (LocalMachine, Client Authentication,
  revocation from the machine's CRLs), Schannel's ClientAuthTrustMode and the trusted
  issuer list (:mod:`schannel.clientauth`: the binding's SslCtlStoreName, ClientAuthIssuer
  or Root; sent only with SendTrustedIssuerList), and what IIS answers: 403.16 "Client certificate is
  untrusted or invalid.", 403.13 "Client certificate revoked.", 403.17 "Client certificate
  has expired or is not yet valid." (Microsoft "The HTTP status code in IIS 7 and later
  versions"), or 403.7 when the binding requires a certificate the client will not offer
  (the refusals already in the System log, events 36877 / 36875, are read by
  :func:`winpki.doctor.client_cert_event_findings` for a binding's diagnosis);
- a URL reservation (``winpki doctor --url … --as …``): may that identity register the
  URL with http.sys (HttpAddUrl / HttpListener / WCF), and if not, the ``netsh http add
  urlacl`` that lets it ("HTTP could not register URL … Your process does not have access
  rights to this namespace", ERROR_ACCESS_DENIED);
- an in-process, ephemeral key (``winpki doctor --pfx f.pfx [--ephemeral]``): a PFX
  imported with PKCS12_NO_PERSIST_KEY (.NET X509KeyStorageFlags.EphemeralKeySet) gives a
  certificate whose key Schannel (in lsass) cannot reopen: AcquireCredentialsHandle fails
  with SEC_E_NO_CREDENTIALS 0x8009030E and Schannel logs 36869 (dotnet/corefx#24454,
  dotnet/runtime#23749; Microsoft "Troubleshooting SslStream authentication issues").

Each check changes nothing on the machine (what would write an event runs in a
transaction that is rolled back).
"""

from __future__ import annotations

import shlex

from capi import constants as C
from capi.errors import (
    CERT_E_EXPIRED,
    CERT_E_WRONG_USAGE,
    CRYPT_E_REVOKED,
    ERROR_ACCESS_DENIED,
    SEC_E_NO_CREDENTIALS,
    WinError,
)
from capi.host.machine import Machine
from winpki.doctor import ERROR, OK, WARNING, Diagnosis, Finding, ssl_chain_status

IIS_STATUS_PAGE = '"The HTTP status code in IIS 7 and later versions" (Microsoft)'
HRESULT_ACCESS_DENIED = 0x80070005  # HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)


def _name(cert) -> str:
    from capi.crypt32.str import CertGetNameString

    return CertGetNameString(cert, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)


def _err(code: int) -> str:
    e = WinError(code)
    return f"{e.name} 0x{e.hresult:08X} {e.strerror}"


def _rdn_text(name) -> str:
    """A name as CERT_NAME_SIMPLE_DISPLAY_TYPE shows it: its CN, else the whole name."""
    from cryptography.x509.oid import NameOID

    cn = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else name.rfc4514_string()


class _DryRun(Exception):
    pass


# --------------------------------------------------------------------------------------
# client certificates
# --------------------------------------------------------------------------------------


def _chain(machine: Machine, cert):
    """The chain and SSL policy status as ClientCertEndpoint judges a client certificate:
    revocation checked, an unknown revocation status ignored."""
    return ssl_chain_status(cert, C.szOID_PKIX_KP_CLIENT_AUTH, C.AUTHTYPE_CLIENT,
                            C.CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
                            C.CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS)


def _binding_asks(machine: Machine, ipport: str | None) -> tuple[list[str], bool, bool, list[Finding]]:
    """(evidence, asks for a certificate, requires one, findings) for the binding."""
    from schannel import clientcert, httpsys

    if ipport is None:
        return [], True, False, []
    endpoint = httpsys.parse_ipport(ipport)
    binding = httpsys.get_binding(machine, endpoint)
    if binding is None:
        return [], False, False, [Finding(
            "not-bound", f"No http.sys SSL binding for {endpoint}", WARNING,
            [f"netsh http show sslcert ipport={endpoint}  -> not found"],
            ["Bind a server certificate first: winpki netsh http add sslcert "
             f"ipport={endpoint} certhash=<thumbprint> appid={{4dc3e181-e14b-4a21-b022-59fc669b0914}} "
             "clientcertnegotiation=enable"])]
    flags = clientcert.ssl_flags_for_endpoint(machine, endpoint)
    negotiates = binding.client_cert_negotiation or bool(
        flags & (clientcert.SSL_FLAGS["SslNegotiateCert"] | clientcert.SSL_FLAGS["SslRequireCert"]))
    requires = bool(flags & clientcert.SSL_FLAGS["SslRequireCert"])
    evidence = [f"netsh http show sslcert ipport={endpoint}: Negotiate Client Certificate : "
                f"{'Enabled' if binding.client_cert_negotiation else 'Disabled'}",
                f"IIS system.webServer/security/access sslFlags: {clientcert.format_ssl_flags(flags)}"]
    findings = []
    if not negotiates:
        findings.append(Finding(
            "client-cert-not-asked", f"The binding {endpoint} does not ask for a client certificate",
            WARNING, evidence + ["Without clientcertnegotiation=enable or an sslFlags of "
                                 "SslNegotiateCert/SslRequireCert the client is never asked, so "
                                 "the application sees no certificate."],
            [f"winpki netsh http delete sslcert ipport={endpoint}",
             f"winpki netsh http add sslcert ipport={endpoint} certhash={binding.cert_hash} "
             f"appid={binding.app_id} certstorename={binding.store_name} "
             "clientcertnegotiation=enable",
             'or: winpki appcmd set config "<site>" -section:system.webServer/security/access '
             '/sslFlags:"Ssl, SslNegotiateCert, SslRequireCert" /commit:apphost']))
    return evidence, negotiates, requires, findings


def diagnose_client_certificate(machine: Machine, cert, ipport: str | None = None) -> Diagnosis:
    """Would the binding (or any http.sys binding of this machine) accept ``cert`` (a
    CERT_CONTEXT) as a client certificate, what would IIS answer, and the fix."""
    from capi.host.context import run_as, use_machine
    from schannel import clientauth, clientcert, httpsys
    from schannel.certevents import sec_code

    findings: list[Finding] = []
    thumb = cert.thumbprint.lower()
    subject = _name(cert)
    binding_evidence, asks, requires, binding_findings = _binding_asks(machine, ipport)
    bound = httpsys.get_binding(machine, httpsys.parse_ipport(ipport)) if ipport else None
    ctl_store = bound.ctl_store_name if bound is not None else None
    with use_machine(machine), run_as("NT AUTHORITY\\SYSTEM"):
        chain, status = _chain(machine, cert)
        elements = [e.pCertContext for e in chain.rgpChain[0].rgpElement]
        top = elements[-1]
        # Schannel's ClientAuthTrustMode on top of the machine's verdict (clientauth).
        trust = clientauth.judge_client_chain(machine, cert, None, ctl_store)
    # The names the server's CertificateRequest carries (schannel.clientauth).
    issuer_list = clientauth.trusted_issuer_list(machine, ctl_store)
    issuers = set(issuer_list.names) if issuer_list.sent else {
        c.x509.subject.public_bytes() for c in issuer_list.source.certificates}
    path = " -> ".join(f'"{_name(e)}"' for e in elements)
    # The CA the chain stops at: the top certificate itself when it is self-signed (a root
    # the machine does not trust), else its issuer, which the machine does not have.
    self_signed = top.x509.issuer.public_bytes() == top.x509.subject.public_bytes()
    anchor_name = top.x509.subject if self_signed else top.x509.issuer
    anchor = _rdn_text(anchor_name)
    if not self_signed:
        path += f' -> "{anchor}" (not on this machine)'
    evidence = [f'Client certificate "{subject}" ({thumb})',
                f"Chain built by the machine's engine (HCCE_LOCAL_MACHINE, Client Authentication): {path}"]
    in_list = anchor_name.public_bytes() in issuers
    count = f"{len(issuers)} name" + ("" if len(issuers) == 1 else "s")
    if issuer_list.sent:
        evidence.append(f"Trusted issuer list ({issuer_list.source.description}, {count}) "
                        f"{'names' if in_list else 'does not name'} \"{anchor}\""
                        + (" -- cut at 16 KB (event 36885)" if issuer_list.truncated else ""))
    else:
        evidence.append("Trusted issuer list: not sent (SendTrustedIssuerList is 0 or absent "
                        f"on {machine.os.product}): the client may offer any certificate; "
                        f"{issuer_list.source.description} ({count}) "
                        f"{'names' if in_list else 'does not name'} \"{anchor}\"")
    evidence += binding_evidence
    findings += binding_findings
    error = status.dwError
    if trust.mode != clientauth.MACHINE_TRUST:
        evidence.append(f"ClientAuthTrustMode {trust.mode} "
                        f"({clientauth.TRUST_MODE_NAMES[trust.mode]}): trusted issuers from "
                        f"{trust.source.description}")
        if error and not trust.error:
            error = 0  # Exclusive CA Trust anchors the chain at the store's CA
    if error == 0 and trust.error:
        findings.insert(0, _trust_mode_finding(machine, trust, elements, evidence, ctl_store))
        return Diagnosis(thumb, findings, heading=f"Client certificate {thumb}")
    if error == 0:
        answer = "the request reaches the application with the certificate (200)"
        if not asks:
            answer = "the client is never asked for it"
        findings.insert(0, Finding(
            "client-cert-ok", "The binding trusts this client certificate", OK,
            evidence + ["CertVerifyCertificateChainPolicy(SSL, client): 0 (revocation checked "
                        "against the machine's CRLs)", f"IIS: {answer}"]))
        return Diagnosis(thumb, findings, heading=f"Client certificate {thumb}")
    sec = sec_code(error)
    substatus = clientcert.substatus_for(error)
    text = clientcert._STATUS[substatus]
    evidence.append(f"CertVerifyCertificateChainPolicy(SSL, client): {_err(error)}")
    if status.lElementIndex >= 0:
        evidence.append(f"chain {status.lChainIndex}, element {status.lElementIndex} "
                        f'("{_name(elements[status.lElementIndex])}")')
    evidence += [f"Schannel's code (event 36877 \"The error code is …\"): 0x{sec:08X}",
                 f"IIS answers: HTTP Error 403.{substatus} - Forbidden \"{text}\""]
    if requires and issuer_list.sent and not in_list:
        # Only then may a client hold this certificate back (it offers certificates whose
        # issuer the CertificateRequest names): a revoked or expired one is offered and refused.
        evidence.append("sslFlags requires a certificate: a client that does not offer this one "
                        "(its issuer is not in the trusted issuer list) gets 403.7 \"Client "
                        "certificate required.\"")
    if error == CRYPT_E_REVOKED:
        cause, title = "client-cert-revoked", "The client certificate is revoked"
        fix = ["Issue the client a new certificate and have it use that one; a revoked "
               "certificate stays revoked (a CRL in LocalMachine\\CA or at the certificate's "
               "distribution point lists it)."]
    elif error == CERT_E_EXPIRED:
        cause, title = "client-cert-expired", "The client certificate has expired or is not yet valid"
        nb, na = cert.x509.not_valid_before_utc, cert.x509.not_valid_after_utc
        evidence.append(f"NotBefore: {nb:%Y-%m-%d %H:%M} UTC  NotAfter: {na:%Y-%m-%d %H:%M} UTC")
        fix = ["Renew the client certificate (winpki certreq -new / -submit / -accept on the "
               "client), or check the client's and the server's clocks."]
    elif error == CERT_E_WRONG_USAGE:
        cause, title = "client-cert-usage", "The certificate is not valid for Client Authentication"
        fix = ["Issue a certificate whose Enhanced Key Usage includes Client Authentication "
               "(1.3.6.1.5.5.7.3.2), e.g. from the User or Workstation Authentication template."]
    else:
        cause, title = "client-cert-untrusted", "The binding does not trust the client certificate's issuer"
        root_file = f"{anchor.replace(' ', '')}.cer"
        fix = [f'Import the issuing CA\'s root ("{anchor}", or the root above it) into the '
               "machine's trusted roots (it also joins the trusted issuer list):",
               f"winpki certutil -addstore Root {shlex.quote(root_file)}",
               "and any intermediate CA into LocalMachine\\CA: winpki certutil -addstore CA <intermediate>.cer"]
    findings.insert(0, Finding(cause, title, ERROR, evidence, fix, IIS_STATUS_PAGE, sec))
    return Diagnosis(thumb, findings, heading=f"Client certificate {thumb}")


def _trust_mode_finding(machine: Machine, trust, elements, evidence: list[str],
                        ctl_store: str | None) -> Finding:
    """The machine trusts the chain, Schannel's ClientAuthTrustMode does not."""
    from schannel import clientauth

    store = trust.source.store
    names = [f'"{_name(c)}"' for c in trust.source.certificates]
    mode_name = clientauth.TRUST_MODE_NAMES[trust.mode]
    if trust.mode == clientauth.EXCLUSIVE_ROOT_TRUST:
        wanted, want_cert = "its root", elements[-1]
    else:
        wanted, want_cert = "a CA of its chain", elements[1] if len(elements) > 1 else elements[-1]
    file = f"{_name(want_cert).replace(' ', '')}.cer"
    sec = 0x80090325  # SEC_E_UNTRUSTED_ROOT, what 36877 carries for CERT_E_UNTRUSTEDROOT
    ev = evidence + [
        "CertVerifyCertificateChainPolicy(SSL, client) with the machine's roots: 0",
        f"{mode_name}: {wanted} must be in LocalMachine\\{store}, which holds "
        f"{', '.join(names) if names else 'nothing'}: {_err(trust.error)}",
        "IIS answers: HTTP Error 403.16 - Forbidden \"Client certificate is untrusted or invalid.\"",
        f"Schannel's code (event 36877 \"The error code is …\"): 0x{sec:08X}"]
    where = f"the binding's SslCtlStoreName {ctl_store}" if trust.source.origin == "binding" \
        else "Client Authentication Issuers"
    fix = [f'Put "{_name(want_cert)}" into LocalMachine\\{store} ({where}):',
           f"winpki certutil -addstore {store} {shlex.quote(file)}",
           "or go back to Machine Trust (the machine's roots decide):",
           "winpki " + clientauth.reg_command(clientauth.CLIENT_AUTH_TRUST_MODE,
                                              clientauth.MACHINE_TRUST)]
    return Finding("client-cert-trust-mode",
                   f"Schannel's {mode_name} refuses the client certificate", ERROR, ev, fix,
                   '"What\'s New in TLS/SSL (Schannel SSP)" (Microsoft): ClientAuthTrustMode',
                   sec)


# --------------------------------------------------------------------------------------
# URL reservations
# --------------------------------------------------------------------------------------


def diagnose_url_reservation(machine: Machine, url: str, account: str) -> Diagnosis:
    """May ``account`` register ``url`` with http.sys? ERROR_INVALID_PARAMETER for a bad
    URL, ERROR_NONE_MAPPED / ERROR_LOGON_FAILURE for an identity that cannot run code."""
    from capi.host.accounts import account_display, resolve_token
    from schannel import urlacl

    prefix = urlacl.parse_url(url)
    token = resolve_token(machine, account)
    who = account_display(machine, token.user)
    covering = []
    for reserved, sddl in urlacl.list_reservations(machine):
        if urlacl._covers(urlacl.parse_url(reserved), prefix):
            covering.append((reserved, sddl))
    evidence = [f"Identity: {who} ({token.user})"
                + (" -- an administrator (needs no reservation)" if token.is_admin else "")]
    if covering:
        for reserved, sddl in covering:
            users = ", ".join(f"{a} (Listen: {'Yes' if li else 'No'})"
                              for a, li, _ in urlacl.describe(machine, sddl))
            evidence.append(f"netsh http show urlacl url={reserved}  -> {users or 'no one'}; SDDL: {sddl}")
    else:
        evidence.append(f"netsh http show urlacl: no reservation covers {prefix}")
    try:
        urlacl.check_registration(machine, token, str(prefix))
    except WinError as exc:
        if exc.winerror != ERROR_ACCESS_DENIED:
            raise
        quoted = f'"{who}"' if " " in who else who
        exact = urlacl.get_reservation(machine, str(prefix))
        fix = []
        if exact is not None:
            users = [a for a, _, _ in urlacl.describe(machine, exact)]
            fix.append(f"A reservation for {prefix} exists without this identity ({', '.join(users)}); "
                       "replace it with one that names it (an SDDL may name several accounts):")
            fix.append(f"winpki netsh http delete urlacl url={prefix}")
        fix.append(f"winpki netsh http add urlacl url={prefix} user={quoted}")
        fix.append("(or run the listener as an administrator; the reservation is the fix for a "
                   "service account or a standard user)")
        evidence.insert(0, f"HttpAddUrl as {who}: ERROR_ACCESS_DENIED (5) \"Access is denied.\"")
        evidence.append(f"WCF: \"HTTP could not register URL {prefix}. Your process does not have "
                        "access rights to this namespace\"; HttpListener: HttpListenerException "
                        "(5) Access is denied.")
        finding = Finding("urlacl-missing",
                          f"{who} may not register {prefix}: no URL reservation grants it Listen",
                          ERROR, evidence, fix,
                          'Microsoft "Namespace Reservations, Registrations, and Routing" and '
                          '"add urlacl" (netsh http)', HRESULT_ACCESS_DENIED)
        return Diagnosis("", [finding], heading=f"URL {prefix} as {who}")
    return Diagnosis("", [Finding("urlacl-ok", f"{who} may register {prefix}", OK, evidence)],
                     heading=f"URL {prefix} as {who}")


# --------------------------------------------------------------------------------------
# in-process, ephemeral keys
# --------------------------------------------------------------------------------------


def _acquire(cert, inbound: bool) -> int | None:
    """AcquireCredentialsHandle with ``cert``: None on success, else the HRESULT."""
    from schannel import secur32 as S

    cred_cls = S.SCH_CREDENTIALS
    use = S.SECPKG_CRED_INBOUND if inbound else S.SECPKG_CRED_OUTBOUND
    try:
        handle = S.AcquireCredentialsHandle(None, S.UNISP_NAME, use, None, cred_cls(paCred=[cert]))
    except WinError as exc:
        return exc.hresult
    S.FreeCredentialsHandle(handle)
    return None


def diagnose_pfx(machine: Machine, pfx: bytes, password: str, *, ephemeral: bool) -> Diagnosis:
    """Can SSPI use the PFX's certificate when the application imports it in memory
    (``ephemeral``: PKCS12_NO_PERSIST_KEY / EphemeralKeySet)? Raises the import's error
    (e.g. ERROR_INVALID_PASSWORD) for a PFX that cannot be opened."""
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.pfx import PFXImportCertStore
    from capi.crypt32.store import CertEnumCertificatesInStore
    from capi.host.context import use_machine

    with use_machine(machine):
        store = PFXImportCertStore(pfx, password, C.PKCS12_NO_PERSIST_KEY)
        cert = None
        ctx = CertEnumCertificatesInStore(store, None)
        while ctx is not None:
            try:
                CertGetCertificateContextProperty(ctx, C.CERT_KEY_CONTEXT_PROP_ID)
            except WinError:
                pass
            else:
                cert = ctx
                break
            ctx = CertEnumCertificatesInStore(store, ctx)
        if cert is None:
            return Diagnosis("", [Finding(
                "pfx-no-key", "The PFX has no private key for any of its certificates", ERROR,
                ["PFXImportCertStore: no certificate got a key (CERT_KEY_CONTEXT_PROP_ID)"],
                ["Export the certificate again with its private key: winpki certutil "
                 "-exportPFX -p <pw> My <thumbprint> cert.pfx"])], heading="PFX")
        thumb = cert.thumbprint.lower()
        has_prov_info = True
        try:
            CertGetCertificateContextProperty(cert, C.CERT_KEY_PROV_INFO_PROP_ID)
        except WinError:
            has_prov_info = False
        # The acquisitions would log 36869: run them in a transaction that is rolled back.
        results: dict[str, int | None] = {}
        try:
            with machine.transaction():
                results["server"] = _acquire(cert, True)
                results["client"] = _acquire(cert, False)
                raise _DryRun
        except _DryRun:
            pass
    heading = f'PFX certificate "{_name(cert)}" ({thumb})'
    evidence = [
        "PFXImportCertStore(PKCS12_NO_PERSIST_KEY): the key is held in this process only "
        "(CERT_KEY_CONTEXT_PROP_ID)" + ("" if has_prov_info else "; no CERT_KEY_PROV_INFO_PROP_ID "
                                        "(no key container lsass could open)")]
    for kind in ("server", "client"):
        hr = results[kind]
        evidence.append(f"AcquireCredentialsHandle({kind}, that certificate): "
                        + ("SEC_E_OK" if hr is None else _err(hr)))
    evidence.append("Schannel logs 36869: \"The TLS client|server credential's certificate does "
                    "not have a private key information property attached to it.\"")
    fix = ["Import the PFX with a persisted key, into the machine's store for a service:",
           "winpki certutil -importPFX -p <pw> My " + "<file>.pfx",
           ".NET: new X509Certificate2(path, password, X509KeyStorageFlags.PersistKeySet | "
           "X509KeyStorageFlags.MachineKeySet) (not EphemeralKeySet); or re-import an in-memory "
           "certificate: new X509Certificate2(cert.Export(X509ContentType.Pkcs12))",
           "C: PFXImportCertStore without PKCS12_NO_PERSIST_KEY (CRYPT_MACHINE_KEYSET for a "
           "service), then CertAddCertificateContextToStore"]
    failed = any(hr == SEC_E_NO_CREDENTIALS for hr in results.values())
    if ephemeral:
        finding = Finding(
            "ephemeral-key", "SSPI cannot use a certificate whose key is not persisted "
            "(EphemeralKeySet / PKCS12_NO_PERSIST_KEY)", ERROR if failed else WARNING,
            evidence, fix,
            'dotnet/corefx#24454 "SslStream not working with ephemeral keys"; Microsoft '
            '"Troubleshooting SslStream authentication issues"',
            SEC_E_NO_CREDENTIALS if failed else None)
        return Diagnosis(thumb, [finding], heading=heading)
    return Diagnosis(thumb, [
        Finding("pfx-ok", "The PFX holds a certificate with its private key", OK,
                [f"PFXImportCertStore: \"{_name(cert)}\" with a private key"]),
        Finding("ephemeral-key", "Imported in memory only, its key cannot be used by SSPI",
                WARNING, evidence, fix,
                'dotnet/corefx#24454 "SslStream not working with ephemeral keys"',
                SEC_E_NO_CREDENTIALS if failed else None)], heading=heading)


__all__ = ["diagnose_client_certificate", "diagnose_pfx", "diagnose_url_reservation"]

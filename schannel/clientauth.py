r"""Which issuers a Schannel server trusts for client authentication, and which it names in
its CertificateRequest.

Registry values under ``HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL``
(REG_DWORD, read as SYSTEM):

- ``SendTrustedIssuerList``: whether the CertificateRequest's certificate_authorities
  names the trusted issuers. Absent, the OS default: TRUE up to Windows Server 2008 R2,
  FALSE from 2012 on (Microsoft "Transport Layer Security (TLS) registry settings",
  SendTrustedIssuerList; "What's New in TLS/SSL (Schannel SSP)", Management of trusted
  issuers for client authentication). 0 sends an empty list, any other value the list.
- ``ClientAuthTrustMode`` (Windows Server 2012 on, same "What's New" page): 0 Machine Trust
  (the default), 1 Exclusive Root Trust (the client's chain must end in a root of the
  trusted issuer store), 2 Exclusive CA Trust (the chain must pass through an intermediate
  or root certificate of that store). A value the table does not list is read as 0 here
  (no source says what Schannel does with it).

The trusted issuer store ("What's New", How it works): from Windows Server 2012 on the
application's own store -- for http.sys the binding's ``SslCtlStoreName`` (netsh
``sslctlstorename=``) -- when it holds certificates, else LocalMachine\ClientAuthIssuer
("Client Authentication Issuers") when it holds any, else LocalMachine\Root, the only
source up to 2008 R2. Before 2012 the binding's SslCtlIdentifier named a Certificate Trust
List in that store; CTLs are not modelled (docs/windows-facts.md), so there the list is
always Root's.

The list holds the subjects of the store's certificates trusted for client authentication
(an EKU that lists Client Authentication or none at all: KB 2801679 "SSL/TLS communication
problems after you install KB 931125", More Information), at most 16 KB of names (the same
KB and KB 933430): what does not fit is left off and Schannel logs the warning 36885 ("...
this server trusts so many certificate authorities that the list has grown too long. This
list has thus been truncated. ..."; its text as KB 2801679 quotes it).

A client certificate the trust mode refuses is refused as the chain engine's "untrusted
root" (CERT_E_UNTRUSTEDROOT): IIS answers 403.16 and its log shows sc-win32-status
2148204809 = 0x800B0109 for a certificate Schannel considers untrusted (KB 2802568 "IIS may
reject client certificate requests with HTTP 403.7 or 403.16 errors"), and Schannel's 36877
carries SEC_E_UNTRUSTED_ROOT (schannel.certevents).
"""

from __future__ import annotations

import dataclasses

from capi import constants as C
from capi.errors import (
    CERT_E_CHAINING,
    CERT_E_UNTRUSTEDROOT,
    CRYPT_E_NOT_FOUND,
    GetLastError,
    WinError,
)
from capi.host import eventlog
from capi.host import registry as reg
from capi.host.machine import Machine

SCHANNEL_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
SEND_TRUSTED_ISSUER_LIST = "SendTrustedIssuerList"
CLIENT_AUTH_TRUST_MODE = "ClientAuthTrustMode"
MACHINE_TRUST, EXCLUSIVE_ROOT_TRUST, EXCLUSIVE_CA_TRUST = 0, 1, 2
TRUST_MODE_NAMES = {MACHINE_TRUST: "Machine Trust", EXCLUSIVE_ROOT_TRUST: "Exclusive Root Trust",
                    EXCLUSIVE_CA_TRUST: "Exclusive CA Trust"}
CLIENT_AUTH_ISSUER_STORE = "ClientAuthIssuer"
ROOT_STORE = "Root"
# "the maximum size of the trusted certificate authorities list that the Schannel security
# package supports is 16 KB" (KB 2801679; "What's New": unchanged in 2012).
ISSUER_LIST_LIMIT = 16 * 1024
ISSUER_LIST_TRUNCATED_EVENT = 36885
_ANY_EKU = "2.5.29.37.0"


def _dword(machine: Machine, name: str) -> int | None:
    try:
        value_type, value = reg.query_value(machine, SCHANNEL_KEY, name, reg.system_token(machine))
    except WinError:
        return None
    return value if value_type == reg.REG_DWORD and isinstance(value, int) else None


def store_based(machine: Machine) -> bool:
    """Trusted issuers from certificate stores and ClientAuthTrustMode: Windows Server 2012
    (6.2) on ("What's New in TLS/SSL (Schannel SSP)")."""
    return machine.os.major_minor >= (6, 2)


def sends_trusted_issuer_list(machine: Machine) -> bool:
    """SendTrustedIssuerList: the registry's DWORD (0: no list), else the OS default."""
    value = _dword(machine, SEND_TRUSTED_ISSUER_LIST)
    if value is None:
        return machine.os.schannel_sends_trusted_issuer_list
    return value != 0


def trust_mode(machine: Machine) -> int:
    """ClientAuthTrustMode (0, 1 or 2); Machine Trust before 2012, where it does not exist."""
    if not store_based(machine):
        return MACHINE_TRUST
    value = _dword(machine, CLIENT_AUTH_TRUST_MODE)
    return value if value in TRUST_MODE_NAMES else MACHINE_TRUST


def _open_existing(name: str):
    from capi.crypt32.store import CertOpenStore

    flags = (C.CERT_SYSTEM_STORE_LOCAL_MACHINE | C.CERT_STORE_OPEN_EXISTING_FLAG
             | C.CERT_STORE_READONLY_FLAG)
    try:
        return CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, name)
    except WinError:
        return None  # a store that does not exist holds nothing (and is not created)


def _store_certificates(machine: Machine, name: str) -> list:
    from capi.host.context import run_as, use_machine

    with use_machine(machine), run_as("NT AUTHORITY\\SYSTEM"):
        store = _open_existing(name)
        if store is None:
            return []
        with store:
            return list(store)


@dataclasses.dataclass(frozen=True)
class IssuerSource:
    """Where the trusted issuers come from and what that store holds."""

    store: str  # a LocalMachine store name
    origin: str  # "binding" (SslCtlStoreName), "ClientAuthIssuer" or "Root"
    certificates: tuple = ()  # CERT_CONTEXTs

    @property
    def description(self) -> str:
        what = {"binding": "the binding's SslCtlStoreName",
                "ClientAuthIssuer": "Client Authentication Issuers"}.get(self.origin,
                                                                         "Trusted Root Certification Authorities")
        return f"LocalMachine\\{self.store} ({what})"


def issuer_source(machine: Machine, ctl_store_name: str | None = None) -> IssuerSource:
    """The store Schannel takes the trusted issuers from for a binding whose SslCtlStoreName
    is ``ctl_store_name`` (module docstring)."""
    if store_based(machine):
        for name, origin in ((ctl_store_name, "binding"),
                             (CLIENT_AUTH_ISSUER_STORE, CLIENT_AUTH_ISSUER_STORE)):
            if name:
                certs = _store_certificates(machine, name)
                if certs:
                    return IssuerSource(name, origin, tuple(certs))
    return IssuerSource(ROOT_STORE, ROOT_STORE, tuple(_store_certificates(machine, ROOT_STORE)))


def _for_client_auth(cert) -> bool:
    import capi.crypt32.chain  # noqa: F401 - certhelpers needs chain loaded first
    from capi.crypt32.certhelpers import CertGetEnhancedKeyUsage

    try:
        oids = list(CertGetEnhancedKeyUsage(cert, 0).rgpszUsageIdentifier or [])
    except WinError:
        return False
    if not oids:
        # No EKU extension or property (CRYPT_E_NOT_FOUND): good for every purpose; an
        # empty property: for none.
        return GetLastError() == CRYPT_E_NOT_FOUND
    return C.szOID_PKIX_KP_CLIENT_AUTH in oids or _ANY_EKU in oids


@dataclasses.dataclass(frozen=True)
class IssuerList:
    """The certificate_authorities Schannel sends: the certificates whose subjects it names
    (DER), whether the 16 KB limit cut it, and where it came from."""

    certificates: tuple[bytes, ...]
    truncated: bool
    source: IssuerSource
    sent: bool  # SendTrustedIssuerList

    @property
    def names(self) -> list[bytes]:
        from cryptography import x509

        return [x509.load_der_x509_certificate(der).subject.public_bytes()
                for der in self.certificates]


def trusted_issuer_list(machine: Machine, ctl_store_name: str | None = None) -> IssuerList:
    """What the CertificateRequest names (empty when SendTrustedIssuerList is 0)."""
    source = issuer_source(machine, ctl_store_name)
    kept: list[bytes] = []
    size, truncated = 0, False
    for cert in source.certificates:
        if not _for_client_auth(cert):
            continue
        # Each DistinguishedName goes with its two-byte length (RFC 5246 7.4.4).
        entry = 2 + len(cert.x509.subject.public_bytes())
        if size + entry > ISSUER_LIST_LIMIT:
            truncated = True
            break
        size += entry
        kept.append(cert.pbCertEncoded)
    sent = sends_trusted_issuer_list(machine)
    return IssuerList(tuple(kept) if sent else (), truncated and sent, source, sent)


def event_36885_text() -> str:
    return ("When asking for client authentication, this server sends a list of trusted "
            "certificate authorities to the client. The client uses this list to choose a "
            "client certificate that is trusted by the server. Currently, this server trusts "
            "so many certificate authorities that the list has grown too long. This list has "
            "thus been truncated. The administrator of this machine should review the "
            "certificate authorities trusted for client authentication and remove those that "
            "do not really need to be trusted.")


def log_issuer_list_truncated(machine: Machine) -> list[int]:
    """36885, a warning (KB 933430 shows it as "Event Type: Warning"): written only when
    Schannel's EventLogging has the 0x2 bit."""
    from schannel.certevents import _write

    ok = _write(machine, ISSUER_LIST_TRUNCATED_EVENT, eventlog.LEVEL_WARNING,
                event_36885_text(), {})
    return [ISSUER_LIST_TRUNCATED_EVENT] if ok else []


# --- the trust decision ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClientTrust:
    """What Schannel decides of a client's chain: the chain policy's dwError (0: trusted),
    the trust mode, the machine engine's own verdict and where the trusted issuers are."""

    error: int
    mode: int
    machine_error: int
    source: IssuerSource | None = None
    anchor: object = None  # the CERT_CONTEXT of the store the chain was anchored at, if any

    @property
    def refused_by_mode(self) -> bool:
        return bool(self.error) and not self.machine_error


def _policy_error(chain) -> int:
    from capi.crypt32.chain import (
        CERT_CHAIN_POLICY_PARA,
        SSL_EXTRA_CERT_CHAIN_POLICY_PARA,
        CertVerifyCertificateChainPolicy,
    )

    # Revocation checked, but only a CRL's "revoked" refuses (schannel.clientcert).
    policy = CERT_CHAIN_POLICY_PARA(C.CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS,
                                    SSL_EXTRA_CERT_CHAIN_POLICY_PARA(C.AUTHTYPE_CLIENT, 0, None))
    return CertVerifyCertificateChainPolicy(C.CERT_CHAIN_POLICY_SSL, chain, policy).dwError


def judge_client_chain(machine: Machine, leaf, extra_store=None,
                       ctl_store_name: str | None = None) -> ClientTrust:
    """Schannel's verdict on a client certificate (a CERT_CONTEXT; ``extra_store`` holds
    the rest of the chain the client sent). Call as SYSTEM with ``machine`` current."""
    from capi.crypt32.chain import (
        CERT_CHAIN_ENGINE_CONFIG,
        CERT_CHAIN_PARA,
        CERT_USAGE_MATCH,
        CertCreateCertificateChainEngine,
        CertFreeCertificateChainEngine,
        CertGetCertificateChain,
    )

    para = CERT_CHAIN_PARA(CERT_USAGE_MATCH(C.USAGE_MATCH_TYPE_AND, [C.szOID_PKIX_KP_CLIENT_AUTH]))
    flags = C.CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT
    with CertGetCertificateChain(C.HCCE_LOCAL_MACHINE, leaf, None, extra_store, para,
                                 flags) as chain:
        machine_error = _policy_error(chain)
        elements = [e.pCertContext for e in chain.rgpChain[0].rgpElement]
    mode = trust_mode(machine)
    if mode == MACHINE_TRUST:
        return ClientTrust(machine_error, mode, machine_error)
    source = issuer_source(machine, ctl_store_name)
    if not source.certificates:  # a missing or empty store anchors nothing
        return ClientTrust(CERT_E_UNTRUSTEDROOT, mode, machine_error, source)
    # The chain engine gets the certificates issuer_source read, in a memory store: the
    # store is read once per handshake, and the issuers judged are the ones named.
    from capi.crypt32.store import CertAddCertificateContextToStore, CertOpenStore

    store = CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    for cert in source.certificates:
        CertAddCertificateContextToStore(store, cert, C.CERT_STORE_ADD_ALWAYS)
    with store:
        if mode == EXCLUSIVE_ROOT_TRUST:
            # The store's certificates are the only roots (CERT_CHAIN_ENGINE_CONFIG
            # hExclusiveRoot), LocalMachine's stores the intermediates.
            engine = CertCreateCertificateChainEngine(CERT_CHAIN_ENGINE_CONFIG(
                hExclusiveRoot=store, dwFlags=C.CERT_CHAIN_USE_LOCAL_MACHINE_STORE))
            try:
                with CertGetCertificateChain(engine, leaf, None, extra_store, para,
                                             flags) as chain:
                    error = _policy_error(chain)
                    top = chain.rgpChain[0].rgpElement[-1].pCertContext
            finally:
                CertFreeCertificateChainEngine(engine)
            if error == CERT_E_CHAINING:
                error = CERT_E_UNTRUSTEDROOT
            anchor = top if not error else None
            return ClientTrust(error, mode, machine_error, source, anchor)
        # Exclusive CA Trust: a CA certificate of the chain (not the client's own) is in the
        # store; the chain is trusted from there whatever is above it. The store is searched
        # for issuers too, so a CA the client did not send is found there.
        engine = CertCreateCertificateChainEngine(CERT_CHAIN_ENGINE_CONFIG(
            rghAdditionalStore=[store], dwFlags=C.CERT_CHAIN_USE_LOCAL_MACHINE_STORE))
        try:
            with CertGetCertificateChain(engine, leaf, None, extra_store, para, flags) as chain:
                error = _policy_error(chain)
                elements = [e.pCertContext for e in chain.rgpChain[0].rgpElement]
        finally:
            CertFreeCertificateChainEngine(engine)
        anchor = next((e for e in elements[1:] if store.find_sha1(e.sha1) is not None), None)
    if anchor is None:
        return ClientTrust(CERT_E_UNTRUSTEDROOT, mode, machine_error, source)
    if error in (CERT_E_UNTRUSTEDROOT, CERT_E_CHAINING):
        error = 0
    return ClientTrust(error, mode, machine_error, source, anchor)


def set_schannel_dword(machine: Machine, name: str, value: int, token=None) -> None:
    """``reg add HKLM\\...\\SCHANNEL /v <name> /t REG_DWORD /d <value> /f`` as ``token``
    (default: the current identity; the key's ACL is checked)."""
    from capi.host.context import current_token

    token = token if token is not None else current_token(machine)
    reg.create_key(machine, SCHANNEL_KEY, token)[0].close()
    reg.set_value(machine, SCHANNEL_KEY, name, reg.REG_DWORD, int(value), token)


def reg_command(name: str, value: int) -> str:
    return (r'reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL" '
            f"/v {name} /t REG_DWORD /d {value} /f")


__all__ = [
    "CLIENT_AUTH_ISSUER_STORE", "CLIENT_AUTH_TRUST_MODE", "EXCLUSIVE_CA_TRUST",
    "EXCLUSIVE_ROOT_TRUST", "ISSUER_LIST_LIMIT", "ISSUER_LIST_TRUNCATED_EVENT", "MACHINE_TRUST",
    "ROOT_STORE", "SCHANNEL_KEY", "SEND_TRUSTED_ISSUER_LIST", "TRUST_MODE_NAMES", "ClientTrust",
    "IssuerList", "IssuerSource", "event_36885_text", "issuer_source", "judge_client_chain",
    "log_issuer_list_truncated", "reg_command", "sends_trusted_issuer_list",
    "set_schannel_dword", "store_based", "trust_mode", "trusted_issuer_list",
]

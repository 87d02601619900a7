"""Schannel's server credentials: AcquireCredentialsHandle for a certificate.

Schannel runs inside lsass as ``NT AUTHORITY\\SYSTEM`` (PID 4). To build a server
credential it opens the certificate's private key *as SYSTEM*, through the provider the
certificate's key information names. What makes it fail is decided by the machine's real
state, never by a flag:

- no CERT_KEY_PROV_INFO_PROP_ID (and no in-memory key)   -> SEC_E_NO_CREDENTIALS
- the key cannot be opened by SYSTEM: container missing, key file unreadable for SYSTEM
  (its ACL), broken or undecryptable key file             -> SEC_E_UNKNOWN_CREDENTIALS
- a CAPI key whose KeySpec is AT_SIGNATURE, on the Windows versions whose Schannel demands
  AT_KEYEXCHANGE (the OS table's ``schannel_rejects_at_signature``) -> SEC_E_UNKNOWN_CREDENTIALS
- the key does not belong to the certificate             -> SEC_E_UNKNOWN_CREDENTIALS

Each key failure writes System event 36870 with the version's text (OS table); a certificate
without key information writes 36869.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capi import constants as C
from capi.errors import (
    SEC_E_NO_CREDENTIALS,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_UNKNOWN_CREDENTIALS,
    WinError,
)
from capi.host.context import current_machine, run_as, use_machine
from capi.host.machine import Machine
from schannel import eventlog

SECPKG_CRED_INBOUND = 0x1
SECPKG_CRED_OUTBOUND = 0x2
SECPKG_CRED_BOTH = 0x3
UNISP_NAME = "Microsoft Unified Security Protocol Provider"
SCHANNEL_NAME = "Schannel"
SCHANNEL_CRED_VERSION = 4
SCH_CREDENTIALS_VERSION = 5
SP_PROT_TLS1_2_SERVER = 0x00000400
SP_PROT_TLS1_3_SERVER = 0x00001000

LSASS_PID = 4
SYSTEM = "NT AUTHORITY\\SYSTEM"
SYSTEM_SID = "S-1-5-18"
# The "internal error state" Schannel reports when the key cannot be acquired.
INTERNAL_STATE_KEY_ACCESS = 10001


@dataclass
class SCHANNEL_CRED:
    """SCHANNEL_CRED: the server certificate(s) and protocol choices."""

    dwVersion: int = SCHANNEL_CRED_VERSION
    paCred: list = field(default_factory=list)
    grbitEnabledProtocols: int = 0
    dwFlags: int = 0

    @property
    def cCreds(self) -> int:
        return len(self.paCred)


@dataclass
class ServerCredential:
    """What an acquired credential holds: the certificate and how to reach its key."""

    certificate: object  # CertContext
    prov_info: object  # CRYPT_KEY_PROV_INFO
    key_spec: int  # AT_KEYEXCHANGE / AT_SIGNATURE / CERT_NCRYPT_KEY_SPEC
    machine: Machine


@dataclass
class CredHandle:
    credential: ServerCredential | None
    use: int

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        FreeCredentialsHandle(self)


def event_36870_text(machine: Machine, error_code: int) -> str:
    """Event 36870's message in the wording of the machine's Windows version."""
    if machine.os.schannel_event_style == "ssl":
        return ("A fatal error occurred when attempting to access the SSL server credential "
                "private key. The error code returned from the cryptographic module is "
                f"0x{error_code:08x}. The internal error state is {INTERNAL_STATE_KEY_ACCESS}.")
    return ("A fatal error occurred when attempting to access the TLS server credential "
            "private key. The error code returned from the cryptographic module is "
            f"0x{error_code:08X}. The internal error state is {INTERNAL_STATE_KEY_ACCESS}. "
            f"The SSPI client process is SYSTEM (PID: {LSASS_PID}).")


def event_36869_text(machine: Machine) -> str:
    """Event 36869: the certificate has no private key information property."""
    kind = "SSL" if machine.os.schannel_event_style == "ssl" else "TLS"
    text = (f"The {kind} server credential's certificate does not have a private key "
            "information property attached to it. This most often occurs when a certificate is "
            "backed up incorrectly and then later restored. This message can also indicate a "
            "certificate enrollment failure.")
    if machine.os.schannel_event_style == "tls":
        text += f" The SSPI client process is SYSTEM (PID: {LSASS_PID})."
    return text


def _log_36869(machine: Machine) -> None:
    data = {"Type": "server"}
    if machine.os.schannel_event_style == "tls":
        data = {"CallerProcessId": str(LSASS_PID), "CallerProcessImageName": "SYSTEM", **data}
    eventlog.write_event(machine, source="Schannel", event_id=36869,
                         level=eventlog.LEVEL_ERROR, message=event_36869_text(machine),
                         user_sid=SYSTEM_SID, data=data)


def _log_36870(machine: Machine, error_code: int) -> None:
    data = {"Type": "server", "ErrorCode": f"0x{error_code:x}",
            "ErrorStatus": str(INTERNAL_STATE_KEY_ACCESS)}
    if machine.os.schannel_event_style == "tls":
        data = {"CallerProcessId": str(LSASS_PID), "CallerProcessImageName": "SYSTEM", **data}
    eventlog.write_event(machine, source="Schannel", event_id=36870,
                         level=eventlog.LEVEL_ERROR, message=event_36870_text(machine, error_code),
                         user_sid=SYSTEM_SID, data=data)


# What lsass asks for: the certificate's own key, checked against the certificate, without UI,
# whichever API (CryptoAPI or CNG) holds it.
ACQUIRE_FLAGS = (C.CRYPT_ACQUIRE_SILENT_FLAG | C.CRYPT_ACQUIRE_COMPARE_KEY_FLAG
                 | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG)


def release_private_key(handle, key_spec: int, caller_free: bool) -> None:
    """Free what CryptAcquireCertificatePrivateKey handed out, when the caller owns it."""
    if not caller_free:
        return
    if key_spec == C.CERT_NCRYPT_KEY_SPEC:
        from capi.ncrypt.keystorage import NCryptFreeObject

        NCryptFreeObject(handle)
    else:
        from capi.advapi32.crypt import CryptReleaseContext

        CryptReleaseContext(handle, 0)


def acquire_server_credential(machine: Machine, cert) -> ServerCredential:
    """Build a server credential for ``cert`` as lsass would; raise SEC_E_* on failure."""
    from capi.crypt32.cert import CertGetCertificateContextProperty

    try:
        cert.x509.public_key()
    except Exception as exc:  # a certificate without a usable public key
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail=str(exc)) from exc
    try:
        info = CertGetCertificateContextProperty(cert, C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError as exc:
        _log_36869(machine)
        raise WinError(SEC_E_NO_CREDENTIALS, detail="certificate has no private key") from exc
    cng = info.dwProvType == 0
    if (not cng and info.dwKeySpec == C.AT_SIGNATURE
            and machine.os.schannel_rejects_at_signature):
        # Windows 2008/2008 R2 Schannel uses only AT_KEYEXCHANGE keys (docs/windows-facts.md §9 #6).
        _log_36870(machine, SEC_E_UNKNOWN_CREDENTIALS)
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="KeySpec = 2 -- AT_SIGNATURE")
    from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey

    try:
        with use_machine(machine), run_as(SYSTEM):
            release_private_key(*CryptAcquireCertificatePrivateKey(cert, ACQUIRE_FLAGS))
    except WinError as exc:
        _log_36870(machine, SEC_E_UNKNOWN_CREDENTIALS)
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS,
                       detail=f"private key not usable by SYSTEM: {exc.name}") from exc
    spec = C.CERT_NCRYPT_KEY_SPEC if cng else info.dwKeySpec
    return ServerCredential(cert, info, spec, machine)


def AcquireCredentialsHandle(pszPrincipal, pszPackage, fCredentialUse, pvLogonId=None,
                             pAuthData=None):
    """AcquireCredentialsHandle (Schannel) -> (CredHandle, expiry).

    Raises SEC_E_SECPKG_NOT_FOUND (unknown package), SEC_E_NO_CREDENTIALS (inbound without a
    certificate, or a certificate without a private key), SEC_E_UNKNOWN_CREDENTIALS (bad
    SCHANNEL_CRED version, more than one certificate, key not usable by SYSTEM, AT_SIGNATURE
    where the OS rejects it).
    """
    # SSPI package names are case-insensitive.
    if str(pszPackage or "").lower() not in (UNISP_NAME.lower(), SCHANNEL_NAME.lower()):
        raise WinError(SEC_E_SECPKG_NOT_FOUND, detail=repr(pszPackage))
    use = int(fCredentialUse) & 0xFFFFFFFF
    cred = pAuthData
    if cred is None or cred.cCreds == 0:
        if cred is not None and cred.dwVersion not in (SCHANNEL_CRED_VERSION,
                                                       SCH_CREDENTIALS_VERSION):
            raise WinError(SEC_E_UNKNOWN_CREDENTIALS)
        if use & SECPKG_CRED_INBOUND or use == 0:
            # Windows (Wine schannel.c testAcquireSecurityContext): inbound without a
            # certificate has no credentials; version 4 with cCreds=0 succeeds.
            if cred is None:
                raise WinError(SEC_E_NO_CREDENTIALS)
        return CredHandle(None, use), None
    if cred.dwVersion not in (SCHANNEL_CRED_VERSION, SCH_CREDENTIALS_VERSION):
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail=f"dwVersion {cred.dwVersion}")
    if cred.cCreds != 1:
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="Schannel takes exactly one certificate")
    machine = current_machine()
    return CredHandle(acquire_server_credential(machine, cred.paCred[0]), use), None


def FreeCredentialsHandle(phCredential) -> None:
    """FreeCredentialsHandle."""
    if phCredential is not None:
        phCredential.credential = None

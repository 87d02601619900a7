r"""What Schannel writes to the System log when a certificate on the other side of a
handshake is refused, when no client certificate can be found, and when a credential's
certificate has no private key information (an ephemeral, in-process key).

Event IDs, levels and texts: the Schannel provider's message table (lsasrv.dll), as the
public event catalogues list it -- nasbench/EVTX-ETW-Resources "ETW Events List/CSV/
W10_1507/Schannel.csv" (IDs, levels, the "SSL" wording of Windows 10 1507) and the
detection-wiki "Schannel" page (the later "TLS" wording of the same messages):

- 36877 Warning  "The certificate received from the remote client application has not
  validated correctly. The error code is 0x…. The attached data contains the client
  certificate."  -- a server's view of a client certificate its chain engine refuses.
- 36875 Warning  "The remote server has requested TLS client authentication, but no
  suitable client certificate could be found. An anonymous connection will be attempted.
  …"  -- a client asked for a certificate that has none to give.
- 36881 / 36882 / 36883 / 36884 / 36876 Error  "The certificate received from the remote
  server has either expired or is not yet valid / was issued by an untrusted certificate
  authority / has been revoked / does not contain the expected name / has not validated
  correctly" -- a client refusing the server's certificate (KB 822406 quotes 36876 with
  0x80090328).
- 36869 Error  "The TLS client|server credential's certificate does not have a private key
  information property attached to it. …" -- AcquireCredentialsHandle with a certificate
  whose key is not persisted (dotnet/corefx#24454 quotes it for an EphemeralKeySet
  certificate: "The TLS client credential's certificate does not have a private key
  information property attached to it.").

Which events are written at all is Schannel's ``EventLogging`` value
(``HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL``, REG_DWORD, a bit
mask: 0x1 errors, 0x2 warnings, 0x4 informational and success events; KB 260729 "How to
enable Schannel event logging" gives 0x1 as the default of Windows 2000 and XP, assumed for
every version here -- no source gives another). So by default a refused client
certificate leaves *no* Schannel event on the server (36877 is a warning): an
administrator sets EventLogging to 3 (or 7) to see it. The error events are written
whenever bit 0x1 is set, which is the default.
"""

from __future__ import annotations

import os
import sys

from capi.errors import (
    CERT_E_CHAINING,
    CERT_E_CN_NO_MATCH,
    CERT_E_EXPIRED,
    CERT_E_REVOKED,
    CERT_E_UNTRUSTEDROOT,
    CERT_E_WRONG_USAGE,
    CRYPT_E_REVOKED,
    SEC_E_CERT_EXPIRED,
    SEC_E_CERT_UNKNOWN,
    SEC_E_CERT_WRONG_USAGE,
    SEC_E_UNTRUSTED_ROOT,
    SEC_E_WRONG_PRINCIPAL,
    WinError,
)
from capi.host import eventlog
from capi.host import registry as reg
from capi.host.machine import Machine

SCHANNEL_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
EVENT_LOGGING_VALUE = "EventLogging"
# KB 260729: the logging options (a bit mask) and the default.
LOG_ERRORS, LOG_WARNINGS, LOG_INFORMATIONAL = 0x1, 0x2, 0x4
DEFAULT_EVENT_LOGGING = LOG_ERRORS

SYSTEM_SID = "S-1-5-18"

# The client-certificate events the doctor reads back (server side and client side).
CLIENT_CERT_EVENTS = (36877, 36875)
SERVER_CERT_EVENTS = (36876, 36881, 36882, 36883, 36884)
NO_KEY_INFO_EVENT = 36869

# CertVerifyCertificateChainPolicy(SSL)'s dwError -> the SEC_E code Schannel reports (and
# logs as "The error code is 0x…"; KB 822406 shows 0x80090328 for an expired certificate).
POLICY_TO_SEC = {
    CERT_E_UNTRUSTEDROOT: SEC_E_UNTRUSTED_ROOT,
    CERT_E_CHAINING: SEC_E_UNTRUSTED_ROOT,
    CERT_E_EXPIRED: SEC_E_CERT_EXPIRED,
    CERT_E_CN_NO_MATCH: SEC_E_WRONG_PRINCIPAL,
    CERT_E_WRONG_USAGE: SEC_E_CERT_WRONG_USAGE,
    CERT_E_REVOKED: CRYPT_E_REVOKED,
    CRYPT_E_REVOKED: CRYPT_E_REVOKED,
}


def sec_code(policy_error: int) -> int:
    """The SEC_E code for a chain policy's dwError (already a SEC_E code: itself)."""
    if policy_error in POLICY_TO_SEC.values() or (policy_error & 0xFFFF0000) == 0x80090000:
        return policy_error
    return POLICY_TO_SEC.get(policy_error, SEC_E_CERT_UNKNOWN)


def event_logging(machine: Machine) -> int:
    """Schannel's EventLogging mask (KB 260729; 0x1 when the value is absent)."""
    try:
        value_type, value = reg.query_value(machine, SCHANNEL_KEY, EVENT_LOGGING_VALUE,
                                            reg.system_token(machine))
    except WinError:
        return DEFAULT_EVENT_LOGGING
    if value_type != reg.REG_DWORD or not isinstance(value, int):
        return DEFAULT_EVENT_LOGGING
    return value


def _word(machine: Machine) -> str:
    return "SSL" if machine.os.schannel_event_style == "ssl" else "TLS"


def _hex(machine: Machine, code: int) -> str:
    # Older versions print the code in lower case (as 36870's 2012 text), later ones upper.
    code &= 0xFFFFFFFF
    return f"0x{code:08x}" if machine.os.schannel_event_style == "ssl" else f"0x{code:08X}"


def event_36877_text(machine: Machine, code: int) -> str:
    return ("The certificate received from the remote client application has not validated "
            f"correctly. The error code is {_hex(machine, code)}. The attached data contains "
            "the client certificate.")


def event_36875_text(machine: Machine) -> str:
    w = _word(machine)
    return (f"The remote server has requested {w} client authentication, but no suitable "
            "client certificate could be found. An anonymous connection will be attempted. "
            f"This {w} connection request may succeed or fail, depending on the server's "
            "policy settings.")


def server_cert_event(machine: Machine, code: int, target: str | None) -> tuple[int, str]:
    """(event ID, text) a client logs refusing the server's certificate with ``code``."""
    w = _word(machine)
    tail = f"The {w} connection request has failed. The attached data contains the server certificate."
    if code == SEC_E_CERT_EXPIRED:
        return 36881, ("The certificate received from the remote server has either expired or "
                       f"is not yet valid. {tail}")
    if code == SEC_E_UNTRUSTED_ROOT:
        return 36882, ("The certificate received from the remote server was issued by an "
                       "untrusted certificate authority. Because of this, none of the data "
                       f"contained in the certificate can be validated. {tail}")
    if code == CRYPT_E_REVOKED:
        return 36883, ("The certificate received from the remote server has been revoked. This "
                       "means that the certificate authority that issued the certificate has "
                       f"invalidated it. {tail}")
    if code == SEC_E_WRONG_PRINCIPAL:
        return 36884, ("The certificate received from the remote server does not contain the "
                       "expected name. It is therefore not possible to determine whether we are "
                       "connecting to the correct server. The server name we were expecting is "
                       f"{target or ''}. {tail}")
    return 36876, ("The certificate received from the remote server has not validated "
                   f"correctly. The error code is {_hex(machine, code)}. {tail}")


def event_36869_text(machine: Machine, kind: str, process: tuple[str, int] | None) -> str:
    text = (f"The {_word(machine)} {kind} credential's certificate does not have a private key "
            "information property attached to it. This most often occurs when a certificate is "
            "backed up incorrectly and then later restored. This message can also indicate a "
            "certificate enrollment failure.")
    if machine.os.schannel_event_style == "tls" and process is not None:
        text += f" The SSPI client process is {process[0]} (PID: {process[1]})."
    return text


def _write(machine: Machine, event_id: int, level: int, message: str, data: dict) -> bool:
    mask = LOG_ERRORS if level == eventlog.LEVEL_ERROR else LOG_WARNINGS
    if not event_logging(machine) & mask:
        return False
    eventlog.write_event(machine, source="Schannel", event_id=event_id, level=level,
                         message=message, user_sid=SYSTEM_SID, data=data)
    return True


def log_client_cert_rejected(machine: Machine, policy_error: int,
                             certificate: bytes | None = None) -> list[int]:
    """A server refused the client's certificate: 36877 (a warning, so only with
    EventLogging's 0x2 bit). Returns the event IDs written."""
    code = sec_code(policy_error)
    data = {"ErrorCode": _hex(machine, code)}
    if certificate:
        data["EncodedCert"] = certificate.hex()
    ok = _write(machine, 36877, eventlog.LEVEL_WARNING, event_36877_text(machine, code), data)
    return [36877] if ok else []


def log_no_client_certificate(machine: Machine) -> list[int]:
    """A client asked for a certificate found none to send: 36875 (a warning)."""
    ok = _write(machine, 36875, eventlog.LEVEL_WARNING, event_36875_text(machine), {})
    return [36875] if ok else []


def log_server_cert_rejected(machine: Machine, code: int, target: str | None,
                             certificate: bytes | None = None) -> list[int]:
    """A client refused the server's certificate (36881-36884 or 36876, errors)."""
    code = sec_code(code)
    event_id, text = server_cert_event(machine, code, target)
    data = {"ErrorCode": _hex(machine, code)} if event_id == 36876 else {}
    if event_id == 36884:
        data["Name"] = target or ""
    if certificate:
        data["EncodedCert"] = certificate.hex()
    return [event_id] if _write(machine, event_id, eventlog.LEVEL_ERROR, text, data) else []


def caller_process() -> tuple[str, int]:
    """The SSPI caller as 36869 names it: this process's image name and PID."""
    return os.path.basename(sys.executable or "python.exe") or "python.exe", os.getpid()


def log_no_key_information(machine: Machine, inbound: bool) -> list[int]:
    """AcquireCredentialsHandle with a certificate without CERT_KEY_PROV_INFO_PROP_ID: 36869
    for the "server" (inbound) or "client" credential, naming the calling process."""
    kind = "server" if inbound else "client"
    process = caller_process()
    data = {"Type": kind}
    if machine.os.schannel_event_style == "tls":
        data = {"CallerProcessId": str(process[1]), "CallerProcessImageName": process[0], **data}
    ok = _write(machine, NO_KEY_INFO_EVENT, eventlog.LEVEL_ERROR,
                event_36869_text(machine, kind, process), data)
    return [NO_KEY_INFO_EVENT] if ok else []


def set_event_logging(machine: Machine, value: int, token=None) -> None:
    """``reg add HKLM\\...\\SCHANNEL /v EventLogging /t REG_DWORD /d <value> /f`` as
    ``token`` (default: the current identity; the key's ACL is checked)."""
    from capi.host.context import current_token

    token = token if token is not None else current_token(machine)
    reg.create_key(machine, SCHANNEL_KEY, token)[0].close()
    reg.set_value(machine, SCHANNEL_KEY, EVENT_LOGGING_VALUE, reg.REG_DWORD, int(value), token)


def event_logging_command(value: int = LOG_ERRORS | LOG_WARNINGS) -> str:
    return (r'reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL" '
            f"/v EventLogging /t REG_DWORD /d {value} /f")


__all__ = [
    "CLIENT_CERT_EVENTS", "DEFAULT_EVENT_LOGGING", "LOG_ERRORS", "LOG_INFORMATIONAL",
    "LOG_WARNINGS", "NO_KEY_INFO_EVENT", "POLICY_TO_SEC", "SCHANNEL_KEY", "SERVER_CERT_EVENTS",
    "caller_process", "event_36869_text", "event_36875_text", "event_36877_text",
    "event_logging", "event_logging_command", "log_client_cert_rejected",
    "log_no_client_certificate", "log_no_key_information", "log_server_cert_rejected",
    "sec_code", "server_cert_event", "set_event_logging",
]

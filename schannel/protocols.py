r"""Schannel's protocol and cipher-suite configuration, and what a mismatch leaves behind.

What a Windows server speaks is its version's defaults (the OS table:
``OSVersion.schannel_protocols`` and ``schannel_cipher_suites``, from Microsoft's
"Protocols in TLS/SSL (Schannel SSP)" and "TLS Cipher Suites in Windows <version>")
changed by two machine settings:

- ``HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\<P>\Server``
  ``Enabled`` (0 turns the protocol off) and ``DisabledByDefault`` (1 keeps it out of a
  server that asks for the defaults, as http.sys does; 0 brings a supported protocol in).
  A protocol the version does not implement stays off whatever the registry says.
  "Transport Layer Security (TLS) registry settings" (Microsoft): a change takes effect
  after a restart — here, the next time the binding is served.
- ``HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002`` ``Functions``
  (REG_SZ, comma-separated, or REG_MULTI_SZ): the "SSL Cipher Suite Order" policy. When
  set it replaces the default list: only the suites it names, in its order, are used
  (suites the version does not implement are ignored); before Windows 10 the names may
  carry the curve suffix (``_P256``).

:func:`effective_settings` turns that into what the TLS endpoint (OpenSSL) is told:
the protocol range and holes, the TLS 1.2-and-earlier cipher list and the TLS 1.3 suites,
in Schannel's order with server preference. What OpenSSL cannot serve is left out and
recorded (``omitted``): SSL 2.0 and 3.0 (not in OpenSSL 3), RC4 and 3DES (not in its
default provider). The ``TLS_RSA_WITH_*`` suites are served: their key exchange decrypts
the premaster secret with the server key, through the winpki provider (``schannel.osslprov``).

A failed handshake leaves what Schannel leaves in the System log: 36874 (no common
cipher suite), 36888 (a fatal alert generated, with its alert code and Schannel's error
state) or 36887 (a fatal alert received from the client), in the version's wording
(:func:`log_handshake_failure`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from capi.errors import SEC_E_ALGORITHM_MISMATCH, WinError
from capi.host import eventlog
from capi.host import registry as reg
from capi.host.machine import Machine

PROTOCOLS_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
CIPHER_ORDER_KEY = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
CIPHER_ORDER_VALUE = "Functions"

# Schannel's protocol names (the registry subkeys), oldest first, and OpenSSL's.
PROTOCOL_ORDER = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
_OPENSSL_VERSIONS = {"TLS 1.0": "TLS1.0", "TLS 1.1": "TLS1.1", "TLS 1.2": "TLS1.2",
                     "TLS 1.3": "TLS1.3"}
# What a handshake reports (SSL_get_version) back to Schannel's names.
WIRE_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2",
              "TLSv1.3": "TLS 1.3"}

_NOT_IN_OPENSSL = "not available in OpenSSL 3's default provider"
_DSS = "needs a DSA server certificate, which Schannel's server credential never has here"

# Windows cipher-suite name (curve suffix removed) -> OpenSSL name, or None and why not.
# TLS 1.3 suites keep their IANA names (SSL_CTX_set_ciphersuites).
SUITES: dict[str, tuple[str | None, str]] = {
    "TLS_AES_256_GCM_SHA384": ("TLS_AES_256_GCM_SHA384", ""),
    "TLS_AES_128_GCM_SHA256": ("TLS_AES_128_GCM_SHA256", ""),
    "TLS_CHACHA20_POLY1305_SHA256": ("TLS_CHACHA20_POLY1305_SHA256", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": ("ECDHE-ECDSA-AES256-GCM-SHA384", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": ("ECDHE-ECDSA-AES128-GCM-SHA256", ""),
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": ("ECDHE-RSA-AES256-GCM-SHA384", ""),
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": ("ECDHE-RSA-AES128-GCM-SHA256", ""),
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": ("DHE-RSA-AES256-GCM-SHA384", ""),
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": ("DHE-RSA-AES128-GCM-SHA256", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": ("ECDHE-ECDSA-AES256-SHA384", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": ("ECDHE-ECDSA-AES128-SHA256", ""),
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": ("ECDHE-RSA-AES256-SHA384", ""),
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": ("ECDHE-RSA-AES128-SHA256", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": ("ECDHE-ECDSA-AES256-SHA", ""),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": ("ECDHE-ECDSA-AES128-SHA", ""),
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": ("ECDHE-RSA-AES256-SHA", ""),
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": ("ECDHE-RSA-AES128-SHA", ""),
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": ("DHE-RSA-AES256-SHA", ""),
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": ("DHE-RSA-AES128-SHA", ""),
    "TLS_RSA_WITH_AES_256_GCM_SHA384": ("AES256-GCM-SHA384", ""),
    "TLS_RSA_WITH_AES_128_GCM_SHA256": ("AES128-GCM-SHA256", ""),
    "TLS_RSA_WITH_AES_256_CBC_SHA256": ("AES256-SHA256", ""),
    "TLS_RSA_WITH_AES_128_CBC_SHA256": ("AES128-SHA256", ""),
    "TLS_RSA_WITH_AES_256_CBC_SHA": ("AES256-SHA", ""),
    "TLS_RSA_WITH_AES_128_CBC_SHA": ("AES128-SHA", ""),
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": (None, _NOT_IN_OPENSSL),
    "TLS_RSA_WITH_RC4_128_SHA": (None, _NOT_IN_OPENSSL),
    "TLS_RSA_WITH_RC4_128_MD5": (None, _NOT_IN_OPENSSL),
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256": (None, _DSS),
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256": (None, _DSS),
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA": (None, _DSS),
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA": (None, _DSS),
    "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA": (None, _NOT_IN_OPENSSL),
}
_TLS13 = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}
# Suites that exist only in TLS 1.2 (GCM, SHA-256/384 MACs); the *_CBC_SHA ones also run
# over TLS 1.0 and 1.1 ("TLS/SSL Protocol versions" column of the cipher-suite pages).
_TLS12_ONLY = re.compile(r"_GCM_|_SHA256$|_SHA384$")
_CURVE = re.compile(r"_P(256|384|521)$")


@dataclass(frozen=True)
class SchannelSettings:
    """A machine's effective Schannel server settings and what OpenSSL is told."""

    protocols: tuple[str, ...]  # enabled, Schannel names, oldest first
    cipher_suites: tuple[str, ...]  # enabled, Windows names, priority order
    served_protocols: tuple[str, ...]  # the subset OpenSSL serves
    served_suites: tuple[str, ...]  # Windows names (curve suffix removed) served, in order
    omitted: tuple[tuple[str, str], ...] = field(default=())  # (name, why) left out
    policy_order: bool = False  # the cipher-suite order policy is set
    groups: str = "X25519:P-256:P-384"  # ECDHE curves, OpenSSL names, in Schannel's order

    @property
    def min_version(self) -> str | None:
        return _OPENSSL_VERSIONS[self.served_protocols[0]] if self.served_protocols else None

    @property
    def max_version(self) -> str | None:
        return _OPENSSL_VERSIONS[self.served_protocols[-1]] if self.served_protocols else None

    @property
    def excluded_versions(self) -> tuple[str, ...]:
        """Protocols inside [min, max] that are off (OpenSSL's SSL_OP_NO_* holes)."""
        if not self.served_protocols:
            return ()
        names = list(_OPENSSL_VERSIONS)
        lo, hi = names.index(self.served_protocols[0]), names.index(self.served_protocols[-1])
        return tuple(_OPENSSL_VERSIONS[p] for p in names[lo:hi + 1]
                     if p not in self.served_protocols)

    @property
    def cipher_list(self) -> str:
        """SSL_CTX_set_cipher_list: the TLS 1.2-and-earlier suites in Schannel's order."""
        names = [SUITES[s][0] for s in self.served_suites if s not in _TLS13]
        text = ":".join(names)
        # SHA-1 and MD5-SHA1 handshake signatures (TLS 1.0/1.1) need security level 0.
        if any(p in self.served_protocols for p in ("TLS 1.0", "TLS 1.1")):
            text += ":@SECLEVEL=0"
        return text

    @property
    def tls13_suites(self) -> str:
        """SSL_CTX_set_ciphersuites: the TLS 1.3 suites in Schannel's order."""
        return ":".join(SUITES[s][0] for s in self.served_suites if s in _TLS13)

    def endpoint_options(self) -> dict:
        """Keyword arguments for :class:`schannel.tls.TlsEndpoint`."""
        return {"min_version": self.min_version, "max_version": self.max_version,
                "exclude_versions": self.excluded_versions, "ciphers": self.cipher_list,
                "ciphersuites": self.tls13_suites, "groups": self.groups}


def _dword(machine: Machine, path: str, name: str) -> int | None:
    try:
        value_type, value = reg.query_value(machine, path, name, reg.system_token(machine))
    except WinError:
        return None
    return value if value_type == reg.REG_DWORD and isinstance(value, int) else None


def protocol_state(machine: Machine, protocol: str) -> str:
    """"enabled", "disabled" (supported, off by default or by the registry) or
    "not supported", for Schannel's server side on ``machine``."""
    defaults = dict(machine.os.schannel_protocols)
    if protocol not in defaults:
        return "not supported"
    path = rf"{PROTOCOLS_KEY}\{protocol}\Server"
    enabled = _dword(machine, path, "Enabled")
    disabled_by_default = _dword(machine, path, "DisabledByDefault")
    if enabled == 0:
        return "disabled"
    if disabled_by_default is not None:
        return "disabled" if disabled_by_default else "enabled"
    return defaults[protocol]


def cipher_suite_policy(machine: Machine) -> list[str] | None:
    """The "SSL Cipher Suite Order" policy's list, or None when it is not set."""
    try:
        value_type, value = reg.query_value(machine, CIPHER_ORDER_KEY, CIPHER_ORDER_VALUE,
                                            reg.system_token(machine))
    except WinError:
        return None
    if value_type == reg.REG_MULTI_SZ:
        items = [str(v) for v in value]
    elif value_type in (reg.REG_SZ, reg.REG_EXPAND_SZ):
        items = str(value).split(",")
    else:
        return None
    return [i.strip() for i in items if i.strip()]


def effective_settings(machine: Machine) -> SchannelSettings:
    """What Schannel on ``machine`` serves now (defaults, registry, policy)."""
    protocols = tuple(p for p in PROTOCOL_ORDER if protocol_state(machine, p) == "enabled")
    supported = {_CURVE.sub("", s) for s in machine.os.schannel_cipher_suites} | set(
        s for s in SUITES if s in _TLS13 and "TLS 1.3" in dict(machine.os.schannel_protocols))
    policy = cipher_suite_policy(machine)
    if policy is None:
        suites = tuple(machine.os.schannel_cipher_suites)
    else:
        suites = tuple(s for s in policy if _CURVE.sub("", s) in supported)
    omitted: list[tuple[str, str]] = []
    served_protocols = []
    for p in protocols:
        if p in _OPENSSL_VERSIONS:
            served_protocols.append(p)
        else:
            omitted.append((p, "not implemented by OpenSSL 3"))
    served: list[str] = []
    for s in suites:
        base = _CURVE.sub("", s)
        if base in served:
            continue  # the same suite with another curve: curves are OpenSSL's groups
        openssl, why = SUITES.get(base, (None, "unknown to this table"))
        if openssl is None:
            omitted.append((s, why))
            continue
        if base in _TLS13:
            usable = "TLS 1.3" in served_protocols
        elif _TLS12_ONLY.search(base):
            usable = "TLS 1.2" in served_protocols
        else:
            usable = any(p in served_protocols for p in ("TLS 1.0", "TLS 1.1", "TLS 1.2"))
        if usable:
            served.append(base)
    # A protocol none of the served suites can run over is not offered either (Schannel
    # answers such a client with handshake_failure; OpenSSL would refuse to start).
    has13 = any(s in _TLS13 for s in served)
    has_legacy = any(s not in _TLS13 and not _TLS12_ONLY.search(s) for s in served)
    has12 = any(s not in _TLS13 for s in served)
    served_protocols = [p for p in served_protocols
                        if (p == "TLS 1.3" and has13) or (p == "TLS 1.2" and has12)
                        or (p in ("TLS 1.0", "TLS 1.1") and has_legacy)]
    return SchannelSettings(protocols, suites, tuple(served_protocols), tuple(served),
                            tuple(omitted), policy is not None, _groups(suites))


# Before Windows 10 the curve of an ECDHE suite is part of its name (_P256, _P384, _P521)
# and the enabled names are the enabled curves, in their order; Windows 10 / Server 2016
# and later order curves separately, curve25519, NistP256, NistP384 by default ("TLS
# Elliptic Curves in Windows 10 1607 and later", Microsoft).
_GROUP_NAMES = {"P256": "P-256", "P384": "P-384", "P521": "P-521"}


def _groups(suites: tuple[str, ...]) -> str:
    curves: list[str] = []
    for s in suites:
        m = _CURVE.search(s)
        if m and _GROUP_NAMES["P" + m.group(1)] not in curves:
            curves.append(_GROUP_NAMES["P" + m.group(1)])
    if not any(_CURVE.search(s) for s in suites):
        return "X25519:P-256:P-384"
    return ":".join(curves)


def require_servable(settings: SchannelSettings) -> None:
    """SEC_E_ALGORITHM_MISMATCH when no protocol and suite are left to serve."""
    if not settings.served_protocols:
        raise WinError(SEC_E_ALGORITHM_MISMATCH,
                       detail="no enabled protocol has an enabled cipher suite "
                              f"(protocols: {', '.join(settings.protocols) or 'none'})")


def enable_protocol_commands(protocol: str) -> list[str]:
    """The ``reg add`` commands that turn ``protocol`` on for Schannel's server side."""
    key = rf"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\{protocol}\Server"
    return [f'reg add "{key}" /v Enabled /t REG_DWORD /d 1 /f',
            f'reg add "{key}" /v DisabledByDefault /t REG_DWORD /d 0 /f']


# --------------------------------------------------------------------------------------
# What a failed handshake writes to the System log
# --------------------------------------------------------------------------------------

ALERT_HANDSHAKE_FAILURE = 40
ALERT_PROTOCOL_VERSION = 70
# Schannel's internal error states for the alerts it generates: 1205 with
# handshake_failure when no cipher suite is shared (the 36888 "fatal error code is 40 ...
# error state is 1205" pair seen with 36874), 105 with protocol_version.
_ERROR_STATES = {ALERT_HANDSHAKE_FAILURE: 1205, ALERT_PROTOCOL_VERSION: 105}
# OpenSSL's text for an alert received from the peer ("tlsv1 alert <description>", "sslv3
# alert <description>") -> the RFC 5246 §7.2 alert code.
_ALERTS = {
    "unexpected message": 10, "bad record mac": 20, "decryption failed": 21,
    "record overflow": 22, "handshake failure": 40, "bad certificate": 42,
    "unsupported certificate": 43, "certificate revoked": 44, "certificate expired": 45,
    "certificate unknown": 46, "illegal parameter": 47, "unknown ca": 48,
    "access denied": 49, "decode error": 50, "decrypt error": 51,
    "protocol version": 70, "insufficient security": 71, "internal error": 80,
    "inappropriate fallback": 86, "user cancelled": 90, "no renegotiation": 100,
    "missing extension": 109, "unsupported extension": 110, "unrecognized name": 112,
    "unknown psk identity": 115, "certificate required": 116,
    "no application protocol": 120,
}
_RECEIVED = re.compile(r"(?:tlsv1|sslv3|tlsv13) alert ([a-z ]+)")


def classify_failure(detail: str) -> tuple[str, int] | None:
    """("generated" | "received" | "no-cipher", alert code) for an OpenSSL handshake error,
    or None when it is not a protocol/cipher negotiation failure."""
    text = detail.lower()
    m = _RECEIVED.search(text)
    if m:
        code = _ALERTS.get(m.group(1).strip())
        return ("received", code) if code is not None else None
    if "no shared cipher" in text or "no suitable signature algorithm" in text:
        return ("no-cipher", ALERT_HANDSHAKE_FAILURE)
    if "unsupported protocol" in text or "version too low" in text:
        return ("generated", ALERT_PROTOCOL_VERSION)
    return None


def event_36874_text(machine: Machine, protocol: str) -> str:
    tail = "SSL" if machine.os.schannel_event_style == "ssl" else "TLS"
    return (f"An {protocol} connection request was received from a remote client application, "
            "but none of the cipher suites supported by the client application are supported "
            f"by the server. The {tail} connection request has failed.")


def event_36888_text(machine: Machine, alert: int) -> str:
    state = _ERROR_STATES.get(alert, 0)
    if machine.os.schannel_event_style == "ssl":
        return f"The following fatal alert was generated: {alert}. The internal error state is {state}."
    return ("A fatal alert was generated and sent to the remote endpoint. This may result in "
            f"termination of the connection. The TLS protocol defined fatal error code is {alert}. "
            f"The Windows SChannel error state is {state}.")


def event_36887_text(machine: Machine, alert: int) -> str:
    if machine.os.schannel_event_style == "ssl":
        return f"The following fatal alert was received: {alert}."
    return ("A fatal alert was received from the remote endpoint. The TLS protocol defined "
            f"fatal alert code is {alert}.")


_SYSTEM_SID = "S-1-5-18"


def log_handshake_failure(machine: Machine, detail: str, client_protocol: str | None = None
                          ) -> list[int]:
    """Write the Schannel events a failed handshake leaves; returns their event IDs."""
    kind = classify_failure(detail)
    if kind is None:
        return []
    what, alert = kind
    written = []

    def write(event_id: int, message: str, data: dict) -> None:
        eventlog.write_event(machine, source="Schannel", event_id=event_id,
                             level=eventlog.LEVEL_ERROR, message=message,
                             user_sid=_SYSTEM_SID, data=data)
        written.append(event_id)

    if what == "no-cipher":
        protocol = client_protocol or "TLS 1.2"
        write(36874, event_36874_text(machine, protocol), {"Protocol": protocol})
    if what in ("no-cipher", "generated"):
        write(36888, event_36888_text(machine, alert),
              {"AlertDesc": str(alert), "ErrorState": str(_ERROR_STATES.get(alert, 0))})
    else:
        write(36887, event_36887_text(machine, alert), {"AlertDesc": str(alert)})
    return written


__all__ = [
    "CIPHER_ORDER_KEY", "PROTOCOLS_KEY", "SUITES", "SchannelSettings", "cipher_suite_policy",
    "classify_failure", "effective_settings", "enable_protocol_commands",
    "event_36874_text", "event_36887_text", "event_36888_text", "log_handshake_failure",
    "protocol_state", "require_servable", "set_server_protocol",
]


def set_server_protocol(machine: Machine, protocol: str, enabled: bool, token=None) -> None:
    """What the ``reg add`` commands of :func:`enable_protocol_commands` do (``Enabled`` and
    ``DisabledByDefault`` under the protocol's Server key), as ``token`` (default: the
    current identity; the key's ACL is checked)."""
    from capi.host.context import current_token

    token = token if token is not None else current_token(machine)
    path = rf"{PROTOCOLS_KEY}\{protocol}\Server"
    reg.create_key(machine, path, token)[0].close()
    reg.set_value(machine, path, "Enabled", reg.REG_DWORD, 1 if enabled else 0, token)
    reg.set_value(machine, path, "DisabledByDefault", reg.REG_DWORD, 0 if enabled else 1, token)

"""Client certificates on http.sys/IIS: the binding's ``clientcertnegotiation=enable`` and
IIS's ``system.webServer/security/access`` ``sslFlags``.

- The server asks for a certificate in the handshake (CertificateRequest naming
  LocalMachine\\Root's subjects, the "trusted issuer list") when the http.sys binding has
  ``clientcertnegotiation=enable`` or the IIS site's sslFlags hold SslNegotiateCert or
  SslRequireCert. The sslFlags are those of the site the request is routed to
  (schannel.iis.route_https_request; :func:`ssl_flags_by_host`).
- Trust is decided by the machine's chain engine (``capi.crypt32.chain``, HCCE_LOCAL_MACHINE,
  Client Authentication usage), never OpenSSL's store: OpenSSL's verification is replaced by
  a callback that records the chain the client sent.
- IIS answers as it does (Microsoft "The HTTP status code in IIS 7 and later versions"):
  403.7 "Client certificate required." when SslRequireCert and none was sent, 403.16 "Client
  certificate is untrusted or invalid." when the chain fails, 403.13 "Client certificate
  revoked." when the chain engine says revoked, 403.17 "Client certificate has expired or is
  not yet valid." when it is out of its validity period. Otherwise the request handler runs and finds
  the certificate in ``request.handshake.client_certificate`` (a CERT_CONTEXT).

When only IIS's sslFlags ask (the binding's ``clientcertnegotiation`` is off, http.sys's
default), the certificate is asked for as IIS asks for it: after the request's headers
have arrived, by a renegotiation whose CertificateRequest names the trusted issuers, and
the request is answered once it completes (Microsoft TechNet "How it works on the wire:
IIS HTTP Client certificate authentication": GET, HelloRequest, a second handshake with
the client's certificate, then 200). TLS 1.3 has no renegotiation (RFC 8446) and http.sys
does not ask after the handshake. What the client sees is the OS row's
``httpsys_tls13_late_client_cert`` (IIS support blog "Addressing TLS 1.3 Compatibility
Issues in IIS Express on Windows 11"): on Windows Server 2022 the connection is reset (the
browser shows ERR_CONNECTION_RESET); on Windows Server 2025 (and Windows 11 24H2) http.sys
returns ERROR_NOT_SUPPORTED to IIS, which answers the request with its detailed error page
"HTTP Error 500.0 - Internal Server Error", module IIS Web Core, error code 0x80070032
(:func:`iis_500_not_supported`). The fix is ``clientcertnegotiation=enable`` on the binding. Revocation is checked against the CRLs the machine has (its stores and
file: distribution points); only a certificate a CRL lists as revoked is refused (the
simulated machine reaches no http: CRL, and treating "offline" as a failure would refuse
every certificate with an http: distribution point).

A refused certificate leaves Schannel's event 36877 in the System log when Schannel's
EventLogging includes warnings (:mod:`schannel.certevents`; not by default).
"""

from __future__ import annotations

import ctypes
import dataclasses
import socket
import struct
import threading

from capi import constants as C
from capi.errors import (
    CERT_E_EXPIRED,
    CERT_E_REVOKED,
    CRYPT_E_REVOKED,
    ERROR_INVALID_PARAMETER,
    ERROR_NOT_SUPPORTED,
    WinError,
    normalize,
)
from capi.host.machine import Machine
from schannel.http11 import HttpResponse
from schannel.sslext import SSL_VERIFY_PEER, SslExtras
from schannel.tls import SSL_OP_NO_RENEGOTIATION, HandshakeInfo, TlsEndpoint, TlsError

# IIS schema (system.webServer/security/access, sslFlags): flag values.
SSL_FLAGS = {"None": 0, "Ssl": 0x8, "SslNegotiateCert": 0x20, "SslRequireCert": 0x40,
             "SslMapCert": 0x80, "Ssl128": 0x100}
ACCESS_SECTION = "system.webServer/security/access"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS iis_access (
    location  TEXT PRIMARY KEY COLLATE NOCASE,   -- '' = the server level, else a site name
    ssl_flags INTEGER NOT NULL
);
"""


def parse_ssl_flags(text: str) -> int:
    """``"Ssl, SslNegotiateCert, SslRequireCert"`` -> the flag bits (names case-insensitive);
    ERROR_INVALID_PARAMETER for an unknown name."""
    value = 0
    names = {k.lower(): v for k, v in SSL_FLAGS.items()}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() not in names:
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"sslFlags value {part!r}")
        value |= names[part.lower()]
    return value


def format_ssl_flags(value: int) -> str:
    names = [n for n, bit in SSL_FLAGS.items() if bit and value & bit]
    return ", ".join(names) if names else "None"


def set_access_ssl_flags(machine: Machine, location: str, ssl_flags: int | str, *,
                         token=None) -> int:
    """appcmd set config "<site>" -section:system.webServer/security/access /sslFlags:...
    /commit:apphost, as the caller (only SYSTEM and Administrators may write the file)."""
    from schannel.iis import _require_config_write, get_site

    flags = parse_ssl_flags(ssl_flags) if isinstance(ssl_flags, str) else int(ssl_flags)
    if location:
        location = get_site(machine, location).name
    _require_config_write(machine, token)
    machine.ensure_schema("iis_access", _SCHEMA)
    with machine.transaction() as db:
        db.execute("INSERT INTO iis_access(location, ssl_flags) VALUES (?, ?) "
                   "ON CONFLICT(location) DO UPDATE SET ssl_flags = excluded.ssl_flags",
                   (location or "", flags))
    return flags


def get_access_ssl_flags(machine: Machine, site_name: str | None) -> int:
    """The effective sslFlags of a site: its own location, else the server level, else 0."""
    machine.ensure_schema("iis_access", _SCHEMA)
    for location in ([site_name] if site_name else []) + [""]:
        row = machine.db.execute("SELECT ssl_flags FROM iis_access WHERE location = ?",
                                 (location,)).fetchone()
        if row is not None:
            return row[0]
    return 0


def ssl_flags_for_endpoint(machine: Machine, endpoint: str) -> int:
    """sslFlags of the IIS site whose https binding is the http.sys endpoint (0 if none)."""
    from schannel import iis

    for site in iis.list_sites(machine):
        for b in site.bindings:
            if b.protocol.lower() == "https":
                try:
                    if iis.https_binding_endpoint(b) == endpoint:
                        return get_access_ssl_flags(machine, site.name)
                except (WinError, ValueError, IndexError):
                    continue
    return 0


def ssl_flags_by_host(machine: Machine, binding):
    """A function of a request's host name giving the sslFlags of the site http.sys routes
    it to on the SSL ``binding`` (schannel.iis.route_https_request), None when no site
    takes it (http.sys answers, IIS never sees the request). IIS applies the flags of the
    site the request reached."""
    from schannel import iis

    def flags(host: str) -> int | None:
        site = iis.route_https_request(machine, binding.endpoint, binding.kind, host)
        if site is None:
            return None
        # Configuration, as the routes are: this process's change at once, another's
        # within iis.ROUTES_REREAD_SECONDS.
        return machine.cached(("iis-ssl-flags", site[0]), iis.ROUTES_REREAD_SECONDS,
                              lambda: get_access_ssl_flags(machine, site[0]))

    return flags


def ssl_flags_reaching(machine: Machine, binding) -> int:
    """The sslFlags of every site a request on the SSL ``binding`` can reach, or-ed: what
    the endpoint must be ready for (asking for a certificate when any site asks)."""
    from schannel import iis

    value = 0
    for site, _ in iis.https_bindings_reaching(machine, binding.endpoint, binding.kind):
        value |= get_access_ssl_flags(machine, site)
    return value


def _raw_host(head: bytes) -> str:
    """The Host header's name in a request's raw header block ("" without one)."""
    from schannel.iisweb import host_name

    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return host_name(value.decode("latin-1"))
    return ""


_ASKS = SSL_FLAGS["SslNegotiateCert"] | SSL_FLAGS["SslRequireCert"]


# --- the endpoint ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClientHandshakeInfo(HandshakeInfo):
    """HandshakeInfo plus the client certificate and what the chain engine said of it."""

    client_certificate: object = None  # CertContext or None
    client_cert_error: int = 0  # the chain policy's dwError (0: trusted)


_STATUS = {
    7: "Client certificate required.",
    13: "Client certificate revoked.",
    16: "Client certificate is untrusted or invalid.",
    17: "Client certificate has expired or is not yet valid.",
}


def iis_403(substatus: int, server: str = "Microsoft-IIS/10.0") -> HttpResponse:
    """IIS's 403.<substatus> answer (sub-status texts: Microsoft "The HTTP status code in
    IIS 7 and later versions")."""
    text = _STATUS[substatus]
    body = (f"<!DOCTYPE html><html><head><title>403 - Forbidden: Access is denied.</title>"
            f"</head><body><h1>HTTP Error 403.{substatus} - Forbidden</h1>"
            f"<h2>{text}</h2></body></html>").encode()
    return HttpResponse(status=403, reason="Forbidden",
                        headers=[("Content-Type", "text/html"), ("Server", server)], body=body)


def iis_500_not_supported(server: str = "Microsoft-IIS/10.0") -> HttpResponse:
    """IIS's answer when http.sys cannot get the client certificate it was asked for after
    a TLS 1.3 handshake (Windows Server 2025): the detailed error page of HTTP 500.0, module
    IIS Web Core, error code 0x80070032 (ERROR_NOT_SUPPORTED) -- what the IIS support blog's
    "Addressing TLS 1.3 Compatibility Issues in IIS Express on Windows 11" shows. The real
    page also names the request's notification and handler; the source does not show them,
    so they are left out."""
    version = server.rsplit("/", 1)[-1]
    code = f"0x{normalize(ERROR_NOT_SUPPORTED):08x}"
    body = (f"<!DOCTYPE html><html><head><title>IIS {version} Detailed Error - 500.0 - "
            f"Internal Server Error</title></head><body>"
            f"<h3>HTTP Error 500.0 - Internal Server Error</h3><h4>Internal Server Error</h4>"
            f"<fieldset><h4>Detailed Error Information:</h4><table>"
            f"<tr><th>Module</th><td>IIS Web Core</td></tr>"
            f"<tr><th>Error Code</th><td>{code}</td></tr>"
            f"</table></fieldset></body></html>").encode()
    return HttpResponse(status=500, reason="Internal Server Error",
                        headers=[("Content-Type", "text/html"), ("Server", server)], body=body)


def substatus_for(policy_error: int) -> int:
    """The 403 sub-status IIS answers a client certificate the chain policy refused with."""
    if policy_error in (CRYPT_E_REVOKED, CERT_E_REVOKED):
        return 13
    if policy_error == CERT_E_EXPIRED:
        return 17
    return 16


_VERIFY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
SSL_VERIFY_NONE = 0x00  # include/openssl/ssl.h
SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION = 1 << 16
TLS1_3_VERSION = 0x0304
# http.sys's MaxRequestBytes default (16 KB): a request whose headers have not ended by
# then is the HTTP layer's to refuse, not a reason to renegotiate.
_MAX_REQUEST_HEADERS = 16384


@dataclasses.dataclass
class _Renegotiation:
    """A connection on which IIS will ask for the certificate after the request arrives."""

    state: str = "request"  # "request" (reading headers), "pending" (renegotiating), "done"
    buffered: bytes = b""


class ClientCertEndpoint(TlsEndpoint):
    """A TlsEndpoint that asks for a client certificate and applies IIS's sslFlags."""

    def __init__(self, *args, machine: Machine, ssl_flags: int = 0,
                 server: str = "Microsoft-IIS/10.0", negotiate_at_handshake: bool = True,
                 ctl_store_name: str | None = None, ssl_flags_for=None, **kwargs):
        """``negotiate_at_handshake``: the binding's clientcertnegotiation=enable (ask in
        the handshake); otherwise ask by renegotiation once a request has arrived.
        ``ctl_store_name``: the binding's SslCtlStoreName (schannel.clientauth).
        ``ssl_flags_for``: the sslFlags of the site a request goes to, by its host name
        (:func:`ssl_flags_by_host`; None: no site, the handler answers for http.sys);
        without it every request has ``ssl_flags``."""
        super().__init__(*args, **kwargs)
        self.machine = machine
        self.ctl_store_name = ctl_store_name
        self.ssl_flags = ssl_flags
        self.ssl_flags_for = ssl_flags_for
        self.server_header = server
        self.negotiate_at_handshake = negotiate_at_handshake
        self._lib = SslExtras.get()
        self._chains: dict[int, list[bytes]] = {}
        self._chains_lock = threading.Lock()
        self._renegotiations: dict[int, _Renegotiation] = {}
        self._verify_cb = _VERIFY_FN(self._record_chain)

    def _make_context(self):
        ctx = super()._make_context()
        lib, o = self._lib, self._ossl
        lib.request_client_certificate(ctx, self.machine, SSL_VERIFY_PEER
                                       if self.negotiate_at_handshake else SSL_VERIFY_NONE,
                                       self.ctl_store_name)
        if not self.negotiate_at_handshake:
            # The server's own renegotiation request; a client's is still refused (OpenSSL
            # 3 refuses client-initiated renegotiation unless told otherwise).
            lib.SSL_CTX_clear_options(ctx, SSL_OP_NO_RENEGOTIATION)
            # A full second handshake, never the session resumed (which would carry no
            # CertificateRequest).
            o.SSL_CTX_set_options(ctx, SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION)
        # Sessions that carry a verified peer belong to this endpoint only (OpenSSL refuses
        # to cache them, and fails a renegotiation, without a session ID context).
        lib.SSL_CTX_set_session_id_context(ctx, b"winpki-httpsys", 14)
        lib.SSL_CTX_set_cert_verify_callback(ctx, ctypes.cast(self._verify_cb, ctypes.c_void_p),
                                             None)
        return ctx

    def _record_chain(self, store_ctx, _arg) -> int:
        """OpenSSL's verification replaced: keep the chain the client sent, accept it; the
        machine's chain engine judges it after the handshake."""
        try:
            lib = self._lib
            ssl = lib.X509_STORE_CTX_get_ex_data(store_ctx, lib.store_idx)
            chain = lib.presented_chain(store_ctx)
            with self._chains_lock:
                self._chains[ssl] = chain
        except BaseException:  # noqa: BLE001 — nothing may escape into C
            return 0
        return 1

    def _handshake_done(self, conn) -> None:
        super()._handshake_done(conn)
        if self.negotiate_at_handshake:
            self._certificate_session(conn)
        else:
            self._renegotiations[conn.ssl] = _Renegotiation()

    # -- asking after the request: renegotiation -------------------------------------------

    def _feed(self, conn, data: bytes) -> None:
        reneg = self._renegotiations.get(conn.ssl)
        if reneg is None or reneg.state == "done":
            return super()._feed(conn, data)
        reneg.buffered += data
        if reneg.state == "pending":
            if not data:  # the client closed instead of renegotiating
                reneg.state = "done"
                super()._feed(conn, b"")
            return None
        headers_end = reneg.buffered.find(b"\r\n\r\n")
        if data and headers_end < 0 and len(reneg.buffered) <= _MAX_REQUEST_HEADERS:
            return None  # the request's headers are still arriving
        if not data or headers_end < 0:
            # End of stream or an oversized request: the HTTP layer answers it, no certificate.
            reneg.state = "done"
            self._certificate_session(conn)
            buffered, reneg.buffered = reneg.buffered, b""
            super()._feed(conn, buffered)
            if not data:
                super()._feed(conn, b"")
            return None
        if self.ssl_flags_for is not None and not (
                self.ssl_flags_for(_raw_host(reneg.buffered[:headers_end])) or 0) & _ASKS:
            # The site this request goes to does not ask (or none takes it): IIS answers
            # without a renegotiation.
            reneg.state = "done"
            self._certificate_session(conn)
            buffered, reneg.buffered = reneg.buffered, b""
            super()._feed(conn, buffered)
            return None
        self._ask_for_certificate(conn, reneg)
        return None

    def _ask_for_certificate(self, conn, reneg: _Renegotiation) -> None:
        lib = self._lib
        if lib.SSL_version(conn.ssl) >= TLS1_3_VERSION:
            # No renegotiation in TLS 1.3, and http.sys sends no post-handshake request
            # (module docstring): Windows Server 2025 answers IIS's 500.0, 2022 resets.
            if self.machine.os.httpsys_tls13_late_client_cert == "not-supported":
                self._answer_not_supported(conn, reneg)
                return
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raise ConnectionResetError(
                "http.sys cannot ask for a client certificate after a TLS 1.3 handshake "
                "(sslFlags SslNegotiateCert without clientcertnegotiation=enable): "
                "connection reset")
        lib.SSL_set_verify(conn.ssl, SSL_VERIFY_PEER, None)
        lib.ERR_clear_error()
        if lib.SSL_renegotiate(conn.ssl) != 1 or lib.SSL_do_handshake(conn.ssl) != 1:
            raise TlsError(f"renegotiation refused: {self._ossl.errors() or 'no detail'}")
        reneg.state = "pending"

    def _answer_not_supported(self, conn, reneg: _Renegotiation) -> None:
        """http.sys's ERROR_NOT_SUPPORTED reaches IIS, which answers each request on the
        connection with 500.0 (no certificate can come over it)."""
        from schannel.http11 import HttpSession

        reneg.state = "done"
        server = self.server_header
        conn.session = HttpSession(lambda _request: iis_500_not_supported(server), conn.addr,
                                   self._info_of(conn))
        buffered, reneg.buffered = reneg.buffered, b""
        super()._feed(conn, buffered)

    def _read_blocked(self, conn) -> bool:
        reneg = self._renegotiations.get(conn.ssl)
        lib = self._lib
        if reneg is None or reneg.state != "pending" or lib.SSL_renegotiate_pending(conn.ssl) \
                or lib.SSL_in_init(conn.ssl):
            return False  # HelloRequest sent, or the second handshake under way
        # The second handshake is complete: judge what it brought, answer the request.
        reneg.state = "done"
        self._certificate_session(conn)
        buffered, reneg.buffered = reneg.buffered, b""
        super()._feed(conn, buffered)
        return True

    def _release(self, conn) -> None:
        if conn.ssl:
            self._renegotiations.pop(conn.ssl, None)
            with self._chains_lock:
                self._chains.pop(conn.ssl, None)
        super()._release(conn)

    def _certificate_session(self, conn) -> None:
        """The HTTP session, gated by what the chain engine says of the client's chain."""
        with self._chains_lock:
            chain = self._chains.pop(conn.ssl, None)
        cert, error = (None, 0) if not chain else self._judge(chain)
        if error:
            from schannel.certevents import log_client_cert_rejected

            log_client_cert_rejected(self.machine, error, chain[0])
        info = conn.session.handshake if hasattr(conn.session, "handshake") else None
        base = info if isinstance(info, HandshakeInfo) else self._info_of(conn)
        full = ClientHandshakeInfo(**dataclasses.asdict(base), client_certificate=cert,
                                   client_cert_error=error)
        from schannel.http11 import HttpSession

        conn.session = HttpSession(self._gate(full), conn.addr, full)

    def _info_of(self, conn) -> HandshakeInfo:
        o = self._ossl
        cipher = o.SSL_get_current_cipher(conn.ssl)
        return HandshakeInfo(o.SSL_get_version(conn.ssl).decode(),
                             o.SSL_CIPHER_standard_name(cipher).decode(),
                             o.SSL_CIPHER_get_name(cipher).decode(), conn.addr, None,
                             self.key.algorithm)

    def _judge(self, chain: list[bytes]):
        """(CERT_CONTEXT, chain policy dwError) by LocalMachine's chain engine and
        Schannel's ClientAuthTrustMode (schannel.clientauth)."""
        from capi.crypt32.cert import CertCreateCertificateContext
        from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
        from capi.host.context import run_as, use_machine
        from schannel.clientauth import judge_client_chain

        with use_machine(self.machine), run_as("NT AUTHORITY\\SYSTEM"):
            try:
                leaf = CertCreateCertificateContext(C.X509_ASN_ENCODING, chain[0])
            except WinError as exc:
                return None, exc.hresult
            extra = CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, 0, None)
            for der in chain[1:]:
                try:
                    CertAddEncodedCertificateToStore(extra, C.X509_ASN_ENCODING, der,
                                                     C.CERT_STORE_ADD_ALWAYS)
                except WinError:
                    continue
            # Revocation checked, but only a CRL's "revoked" refuses: an unknown status
            # (no CRL, offline) is ignored by the policy (module docstring).
            trust = judge_client_chain(self.machine, leaf, extra, self.ctl_store_name)
        return leaf, trust.error

    def _gate(self, info: ClientHandshakeInfo):
        handler, server, flags_for = self.handler, self.server_header, self.ssl_flags_for

        def gate(request):
            flags = self.ssl_flags
            if flags_for is not None:
                from schannel.iisweb import host_name

                flags = flags_for(host_name(request.headers.get("host", "")))
                if flags is None:  # no site: http.sys answers, IIS never sees the request
                    return handler(request)
            if info.client_certificate is None:
                if flags & SSL_FLAGS["SslRequireCert"]:
                    return iis_403(7, server)
            elif info.client_cert_error:
                return iis_403(substatus_for(info.client_cert_error), server)
            return handler(request)

        return gate


__all__ = ["ACCESS_SECTION", "SSL_FLAGS", "ClientCertEndpoint", "ClientHandshakeInfo",
           "format_ssl_flags", "get_access_ssl_flags", "iis_403", "iis_500_not_supported",
           "parse_ssl_flags",
           "set_access_ssl_flags", "ssl_flags_by_host", "ssl_flags_for_endpoint",
           "ssl_flags_reaching", "substatus_for"]

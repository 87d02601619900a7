"""httpapi.dll: the HTTP Server API's configuration functions and URL registration.

``HttpSetServiceConfiguration`` and friends act on the same http.sys state that
``winpki netsh http`` reads and writes (``schannel.httpsys`` for SSL bindings — ipport,
SNI and Centralized Certificate Store (CCS) ones —
``schannel.urlacl`` for URL reservations and the IP listen list), so a binding added
through one is listed by the other — the SslCertBinding-style sequence ported code uses.
Structures keep http.h's names and C field order; the length arguments and
``pOverlapped`` have no Python form. Functions return None on NO_ERROR and raise
``WinError`` whose ``.winerror`` is the Win32 code (``.hresult`` its HRESULT) otherwise:
ERROR_ALREADY_EXISTS (183) for an existing record, ERROR_FILE_NOT_FOUND (2) for a missing
one, ERROR_NO_MORE_ITEMS (259) past the end of an enumeration, ERROR_NO_SUCH_LOGON_SESSION
(1312) when http.sys cannot use the certificate's key, ERROR_INVALID_PARAMETER (87) for a
malformed record (Microsoft's HttpSetServiceConfiguration, HttpQueryServiceConfiguration
and HttpDeleteServiceConfiguration pages).

URL registration has both forms: version 1.0 (``HttpCreateHttpHandle`` + ``HttpAddUrl``)
and version 2.0 (``HttpCreateServerSession`` -> session id, ``HttpCreateUrlGroup`` -> group
id, ``HttpCreateRequestQueue`` -> queue handle, ``HttpSetUrlGroupProperty`` with
``HttpServerBindingProperty`` to bind a group to a queue, ``HttpAddUrlToUrlGroup``). C's
output parameters are the return values. A CCS binding is configuration only: no CCS
provider serves certificates from a share here.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from capi.errors import (
    ERROR_ALREADY_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_NO_MORE_ITEMS,
    ERROR_REVISION_MISMATCH,
    WinError,
    winapi,
)
from capi.host.context import current_machine, current_token
from schannel import httpsys, urlacl

# http.h
HTTP_INITIALIZE_SERVER = 0x00000001
HTTP_INITIALIZE_CONFIG = 0x00000002
HttpServiceConfigIPListenList = 0
HttpServiceConfigSSLCertInfo = 1
HttpServiceConfigUrlAclInfo = 2
HttpServiceConfigTimeout = 3
HttpServiceConfigCache = 4
HttpServiceConfigSslSniCertInfo = 5
HttpServiceConfigSslCcsCertInfo = 6
HttpServiceConfigQueryExact = 0
HttpServiceConfigQueryNext = 1
HttpServiceConfigQueryMax = 2
HTTP_SERVICE_CONFIG_SSL_FLAG_USE_DS_MAPPER = 0x00000001
HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT = 0x00000002
HTTP_SERVICE_CONFIG_SSL_FLAG_NO_RAW_FILTER = 0x00000004


@dataclass
class HTTPAPI_VERSION:
    HttpApiMajorVersion: int = 1
    HttpApiMinorVersion: int = 0


HTTPAPI_VERSION_1 = HTTPAPI_VERSION(1, 0)
HTTPAPI_VERSION_2 = HTTPAPI_VERSION(2, 0)


@dataclass
class HTTP_SERVICE_CONFIG_SSL_KEY:
    pIpPort: tuple[str, int] | None = None


@dataclass
class HTTP_SERVICE_CONFIG_SSL_SNI_KEY:
    IpPort: tuple[str, int] | None = None
    Host: str | None = None


@dataclass
class HTTP_SERVICE_CONFIG_SSL_CCS_KEY:
    LocalAddress: tuple[str, int] | None = None


@dataclass
class HTTP_SERVICE_CONFIG_SSL_PARAM:
    SslHashLength: int | None = None
    pSslHash: bytes | None = None
    AppId: uuid.UUID | None = None
    pSslCertStoreName: str | None = None
    DefaultCertCheckMode: int = 0
    DefaultRevocationFreshnessTime: int = 0
    DefaultRevocationUrlRetrievalTimeout: int = 0
    pDefaultSslCtlIdentifier: str | None = None
    pDefaultSslCtlStoreName: str | None = None
    DefaultFlags: int = 0

    def __post_init__(self) -> None:
        if self.SslHashLength is None and self.pSslHash is not None:
            self.SslHashLength = len(self.pSslHash)


@dataclass
class HTTP_SERVICE_CONFIG_SSL_SET:
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_KEY)
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = field(default_factory=HTTP_SERVICE_CONFIG_SSL_PARAM)


@dataclass
class HTTP_SERVICE_CONFIG_SSL_SNI_SET:
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_SNI_KEY)
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = field(default_factory=HTTP_SERVICE_CONFIG_SSL_PARAM)


@dataclass
class HTTP_SERVICE_CONFIG_SSL_QUERY:
    QueryDesc: int = HttpServiceConfigQueryExact
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_KEY)
    dwToken: int = 0


@dataclass
class HTTP_SERVICE_CONFIG_SSL_SNI_QUERY:
    QueryDesc: int = HttpServiceConfigQueryExact
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_SNI_KEY)
    dwToken: int = 0


@dataclass
class HTTP_SERVICE_CONFIG_SSL_CCS_SET:
    """A Centralized Certificate Store binding: the key's LocalAddress is ("0.0.0.0", port);
    ParamDesc names no certificate (CCS finds it by host name in its file share)."""
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_CCS_KEY)
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = field(default_factory=HTTP_SERVICE_CONFIG_SSL_PARAM)


@dataclass
class HTTP_SERVICE_CONFIG_SSL_CCS_QUERY:
    QueryDesc: int = HttpServiceConfigQueryExact
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = field(default_factory=HTTP_SERVICE_CONFIG_SSL_CCS_KEY)
    dwToken: int = 0


@dataclass
class HTTP_SERVICE_CONFIG_URLACL_KEY:
    pUrlPrefix: str | None = None


@dataclass
class HTTP_SERVICE_CONFIG_URLACL_PARAM:
    pStringSecurityDescriptor: str | None = None


@dataclass
class HTTP_SERVICE_CONFIG_URLACL_SET:
    KeyDesc: HTTP_SERVICE_CONFIG_URLACL_KEY = field(default_factory=HTTP_SERVICE_CONFIG_URLACL_KEY)
    ParamDesc: HTTP_SERVICE_CONFIG_URLACL_PARAM = field(
        default_factory=HTTP_SERVICE_CONFIG_URLACL_PARAM)


@dataclass
class HTTP_SERVICE_CONFIG_URLACL_QUERY:
    QueryDesc: int = HttpServiceConfigQueryExact
    KeyDesc: HTTP_SERVICE_CONFIG_URLACL_KEY = field(default_factory=HTTP_SERVICE_CONFIG_URLACL_KEY)
    dwToken: int = 0


@dataclass
class HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM:
    AddrLength: int | None = None
    pAddress: tuple[str, int] | None = None


@dataclass
class HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY:
    AddrList: list = field(default_factory=list)

    @property
    def AddrCount(self) -> int:
        return len(self.AddrList)


def _facade(func):
    """@winapi, and a wrong argument type is ERROR_INVALID_PARAMETER (what the native
    function answers for a record it cannot read), never a Python exception."""
    import functools

    inner = winapi(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        except (TypeError, AttributeError, ValueError, OverflowError) as exc:
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"{func.__name__}: {exc}") from None
    return wrapper


# ---------------------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------------------

_init_lock = threading.Lock()
_init_counts = {HTTP_INITIALIZE_SERVER: 0, HTTP_INITIALIZE_CONFIG: 0}


def _flags(Flags) -> int:
    flags = int(Flags) & 0xFFFFFFFF
    if not flags or flags & ~(HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"Flags 0x{flags:x}")
    return flags


@_facade
def HttpInitialize(Version: HTTPAPI_VERSION, Flags: int, pReserved: None = None) -> None:
    """HttpInitialize: version 1.0 or 2.0, HTTP_INITIALIZE_SERVER and/or _CONFIG.
    ERROR_INVALID_PARAMETER for other flags, versions or a non-NULL reserved pointer."""
    flags = _flags(Flags)
    if pReserved is not None or (getattr(Version, "HttpApiMajorVersion", None),
                                 getattr(Version, "HttpApiMinorVersion", None)) not in ((1, 0), (2, 0)):
        raise WinError(ERROR_INVALID_PARAMETER, detail="HTTPAPI_VERSION or pReserved")
    with _init_lock:
        for bit in _init_counts:
            if flags & bit:
                _init_counts[bit] += 1


@_facade
def HttpTerminate(Flags: int, pReserved: None = None) -> None:
    """HttpTerminate: undoes one HttpInitialize for each flag given."""
    flags = _flags(Flags)
    with _init_lock:
        for bit in _init_counts:
            if flags & bit and _init_counts[bit]:
                _init_counts[bit] -= 1


# ---------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------


def _ipport_text(addr) -> str:
    if not isinstance(addr, tuple) or len(addr) != 2:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"address {addr!r}")
    host, port = addr
    return httpsys.parse_ipport(f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}")


def _addr_tuple(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def _binding(config_id: int, info) -> httpsys.SslBinding:
    key, param = getattr(info, "KeyDesc", None), getattr(info, "ParamDesc", None)
    if key is None or param is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="KeyDesc/ParamDesc")
    if config_id == HttpServiceConfigSSLCertInfo:
        endpoint, kind = _ipport_text(getattr(key, "pIpPort", None)), "ipport"
    else:
        host = getattr(key, "Host", None)
        port = getattr(key, "IpPort", None)
        if not host or not isinstance(port, tuple):
            raise WinError(ERROR_INVALID_PARAMETER, detail="SNI key")
        endpoint, kind = httpsys.parse_hostnameport(f"{host}:{port[1]}"), "hostnameport"
    digest = param.pSslHash
    if not isinstance(digest, (bytes, bytearray)) or len(digest) != 20 \
            or (param.SslHashLength not in (None, 20)):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pSslHash must be a 20-byte SHA-1 hash")
    app_id = param.AppId if isinstance(param.AppId, uuid.UUID) else None
    if app_id is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="AppId")
    ctl = {}
    for field_name, attr in (("pDefaultSslCtlIdentifier", "ctl_identifier"),
                             ("pDefaultSslCtlStoreName", "ctl_store_name")):
        value = getattr(param, field_name, None)
        if value is not None and not isinstance(value, str):
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"{field_name} must be a string")
        ctl[attr] = value or None  # an empty string is no value, as NULL
    return httpsys.SslBinding(
        endpoint=endpoint, kind=kind, cert_hash=bytes(digest).hex(),
        app_id="{" + str(app_id) + "}",
        store_name=(param.pSslCertStoreName or "MY").upper(),
        client_cert_negotiation=bool(param.DefaultFlags
                                     & HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT),
        **ctl)


def _ssl_param(b: httpsys.SslBinding) -> HTTP_SERVICE_CONFIG_SSL_PARAM:
    flags = HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT if b.client_cert_negotiation else 0
    return HTTP_SERVICE_CONFIG_SSL_PARAM(20, bytes.fromhex(b.cert_hash),
                                         uuid.UUID(b.app_id.strip("{}")), b.store_name,
                                         pDefaultSslCtlIdentifier=b.ctl_identifier,
                                         pDefaultSslCtlStoreName=b.ctl_store_name,
                                         DefaultFlags=flags)


def _ssl_record(config_id: int, b: httpsys.SslBinding):
    if config_id == HttpServiceConfigSSLCertInfo:
        return HTTP_SERVICE_CONFIG_SSL_SET(HTTP_SERVICE_CONFIG_SSL_KEY(_addr_tuple(b.endpoint)),
                                           _ssl_param(b))
    host, _, port = b.endpoint.rpartition(":")
    return HTTP_SERVICE_CONFIG_SSL_SNI_SET(
        HTTP_SERVICE_CONFIG_SSL_SNI_KEY(("0.0.0.0", int(port)), host), _ssl_param(b))


def _ccs_port(key) -> int:
    """HTTP_SERVICE_CONFIG_SSL_CCS_KEY.LocalAddress: "must be set to the IPv4 wildcard
    address ... The sin_port member can be any valid port" (its Microsoft page)."""
    addr = getattr(key, "LocalAddress", None)
    if not isinstance(addr, tuple) or len(addr) != 2 or addr[0] != "0.0.0.0" \
            or not isinstance(addr[1], int) or not 0 < addr[1] < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"LocalAddress {addr!r}")
    return addr[1]


def _ccs_binding(info) -> httpsys.SslBinding:
    key, param = getattr(info, "KeyDesc", None), getattr(info, "ParamDesc", None)
    if key is None or param is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="KeyDesc/ParamDesc")
    port = _ccs_port(key)
    if param.pSslHash or param.SslHashLength:
        # A CCS record carries no certificate: http.sys asks the CCS provider for the one
        # named by the client's host name.
        raise WinError(ERROR_INVALID_PARAMETER, detail="a CCS binding takes no pSslHash")
    if not isinstance(param.AppId, uuid.UUID):
        raise WinError(ERROR_INVALID_PARAMETER, detail="AppId")
    for name in ("pSslCertStoreName", "pDefaultSslCtlIdentifier", "pDefaultSslCtlStoreName"):
        value = getattr(param, name, None)
        if value is not None and not isinstance(value, str):
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"{name} must be a string")
    if not isinstance(param.DefaultFlags, int):
        raise WinError(ERROR_INVALID_PARAMETER, detail="DefaultFlags")
    return httpsys.ccs_binding(
        port, "{" + str(param.AppId) + "}",
        store_name=(param.pSslCertStoreName or "").upper() or None,
        client_cert_negotiation=bool(param.DefaultFlags
                                     & HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT),
        ctl_identifier=param.pDefaultSslCtlIdentifier or None,
        ctl_store_name=param.pDefaultSslCtlStoreName or None)


def _ccs_record(b: httpsys.SslBinding) -> HTTP_SERVICE_CONFIG_SSL_CCS_SET:
    flags = HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT if b.client_cert_negotiation else 0
    return HTTP_SERVICE_CONFIG_SSL_CCS_SET(
        HTTP_SERVICE_CONFIG_SSL_CCS_KEY(_addr_tuple(b.endpoint)),
        HTTP_SERVICE_CONFIG_SSL_PARAM(0, None, uuid.UUID(b.app_id.strip("{}")),
                                      b.store_name or None,
                                      pDefaultSslCtlIdentifier=b.ctl_identifier,
                                      pDefaultSslCtlStoreName=b.ctl_store_name,
                                      DefaultFlags=flags))


def _listen_address(info) -> str:
    """HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM.pAddress -> the address the listen list holds.
    The list holds IP addresses, not ports (HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM and "IP
    Listen List" pages; netsh: "This does not include the port number"), so the port of
    the SOCKADDR — normally 0 — is not part of the entry."""
    addr = getattr(info, "pAddress", None)
    if not isinstance(addr, tuple) or len(addr) != 2 or not isinstance(addr[0], str) \
            or not isinstance(addr[1], int) or not 0 <= addr[1] < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"pAddress {addr!r}")
    return urlacl.parse_listen_address(addr[0])


def _reserved(ServiceHandle) -> None:
    if ServiceHandle not in (None, 0):
        raise WinError(ERROR_INVALID_PARAMETER, detail="ServiceHandle is reserved and must be 0")


_SSL_IDS = (HttpServiceConfigSSLCertInfo, HttpServiceConfigSslSniCertInfo)


@_facade
def HttpSetServiceConfiguration(ServiceHandle: int | None, ConfigId: int,
                                pConfigInformation: HTTP_SERVICE_CONFIG_SSL_SET
                                | HTTP_SERVICE_CONFIG_SSL_SNI_SET | HTTP_SERVICE_CONFIG_URLACL_SET
                                | HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM) -> None:
    """HttpSetServiceConfiguration for SSL (ipport and SNI) bindings, URL reservations and
    the IP listen list. ERROR_ALREADY_EXISTS for an existing record,
    ERROR_NO_SUCH_LOGON_SESSION when http.sys cannot use the certificate,
    ERROR_ACCESS_DENIED for a caller who is not an administrator."""
    _reserved(ServiceHandle)
    machine = current_machine()
    if ConfigId in _SSL_IDS:
        httpsys.add_binding(machine, _binding(ConfigId, pConfigInformation))
    elif ConfigId == HttpServiceConfigSslCcsCertInfo:
        httpsys.add_ccs_binding(machine, _ccs_binding(pConfigInformation))
    elif ConfigId == HttpServiceConfigUrlAclInfo:
        url = getattr(getattr(pConfigInformation, "KeyDesc", None), "pUrlPrefix", None)
        sddl = getattr(getattr(pConfigInformation, "ParamDesc", None),
                       "pStringSecurityDescriptor", None)
        if not url or not sddl:
            raise WinError(ERROR_INVALID_PARAMETER, detail="pUrlPrefix/pStringSecurityDescriptor")
        urlacl.add_reservation(machine, current_token(machine), url, sddl)
    elif ConfigId == HttpServiceConfigIPListenList:
        urlacl.add_listen_address(machine, current_token(machine),
                                  _listen_address(pConfigInformation))
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")


@_facade
def HttpUpdateServiceConfiguration(ServiceHandle: int | None, ConfigId: int,
                                   pConfigInformation: HTTP_SERVICE_CONFIG_SSL_SET
                                   | HTTP_SERVICE_CONFIG_SSL_SNI_SET) -> None:
    """HttpUpdateServiceConfiguration: replace an SSL binding in one step (the old one
    stays if http.sys cannot use the new certificate); ERROR_FILE_NOT_FOUND if none."""
    _reserved(ServiceHandle)
    machine = current_machine()
    if ConfigId == HttpServiceConfigSslCcsCertInfo:
        httpsys.replace_ccs_binding(machine, _ccs_binding(pConfigInformation))
        return
    if ConfigId not in _SSL_IDS:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")
    binding = _binding(ConfigId, pConfigInformation)
    if httpsys.get_binding(machine, binding.endpoint) is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=binding.endpoint)
    httpsys.replace_binding(machine, binding)


@_facade
def HttpDeleteServiceConfiguration(ServiceHandle: int | None, ConfigId: int,
                                   pConfigInformation: HTTP_SERVICE_CONFIG_SSL_SET
                                   | HTTP_SERVICE_CONFIG_SSL_SNI_SET
                                   | HTTP_SERVICE_CONFIG_URLACL_SET
                                   | HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM) -> None:
    """HttpDeleteServiceConfiguration: ERROR_FILE_NOT_FOUND for a record that is not there."""
    _reserved(ServiceHandle)
    machine = current_machine()
    key = getattr(pConfigInformation, "KeyDesc", None)
    if ConfigId == HttpServiceConfigSSLCertInfo:
        httpsys.delete_binding(machine, _ipport_text(getattr(key, "pIpPort", None)))
    elif ConfigId == HttpServiceConfigSslSniCertInfo:
        port = getattr(key, "IpPort", None)
        if not isinstance(port, tuple) or not getattr(key, "Host", None):
            raise WinError(ERROR_INVALID_PARAMETER, detail="SNI key")
        httpsys.delete_binding(machine, httpsys.parse_hostnameport(f"{key.Host}:{port[1]}"))
    elif ConfigId == HttpServiceConfigUrlAclInfo:
        urlacl.delete_reservation(machine, current_token(machine), getattr(key, "pUrlPrefix", ""))
    elif ConfigId == HttpServiceConfigSslCcsCertInfo:
        httpsys.delete_ccs_binding(machine, _ccs_port(key))
    elif ConfigId == HttpServiceConfigIPListenList:
        urlacl.delete_listen_address(machine, current_token(machine),
                                     _listen_address(pConfigInformation))
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")


def _query_kind(pInput) -> tuple[int, int]:
    kind = getattr(pInput, "QueryDesc", None)
    if kind not in (HttpServiceConfigQueryExact, HttpServiceConfigQueryNext):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"QueryDesc {kind!r}")
    token = getattr(pInput, "dwToken", 0) or 0
    if not isinstance(token, int) or token < 0:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"dwToken {token!r}")
    return kind, token


@_facade
def HttpQueryServiceConfiguration(ServiceHandle: int | None, ConfigId: int,
                                  pInput: HTTP_SERVICE_CONFIG_SSL_QUERY
                                  | HTTP_SERVICE_CONFIG_SSL_SNI_QUERY
                                  | HTTP_SERVICE_CONFIG_URLACL_QUERY | None = None
                                  ) -> (HTTP_SERVICE_CONFIG_SSL_SET | HTTP_SERVICE_CONFIG_SSL_SNI_SET
                                        | HTTP_SERVICE_CONFIG_URLACL_SET
                                        | HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY):
    """HttpQueryServiceConfiguration -> the record. HttpServiceConfigQueryExact finds one by
    key (ERROR_FILE_NOT_FOUND when absent); HttpServiceConfigQueryNext walks the records by
    ``dwToken`` 0, 1, … until ERROR_NO_MORE_ITEMS. The IP listen list takes no input."""
    _reserved(ServiceHandle)
    machine = current_machine()
    if ConfigId in _SSL_IDS:
        kind, token = _query_kind(pInput)
        wanted = "ipport" if ConfigId == HttpServiceConfigSSLCertInfo else "hostnameport"
        if kind == HttpServiceConfigQueryNext:
            rows = [b for b in httpsys.list_bindings(machine) if b.kind == wanted]
            if token >= len(rows):
                raise WinError(ERROR_NO_MORE_ITEMS)
            return _ssl_record(ConfigId, rows[token])
        key = pInput.KeyDesc
        if ConfigId == HttpServiceConfigSSLCertInfo:
            endpoint = _ipport_text(getattr(key, "pIpPort", None))
        else:
            port = getattr(key, "IpPort", None)
            if not isinstance(port, tuple) or not getattr(key, "Host", None):
                raise WinError(ERROR_INVALID_PARAMETER, detail="SNI key")
            endpoint = httpsys.parse_hostnameport(f"{key.Host}:{port[1]}")
        binding = httpsys.get_binding(machine, endpoint)
        if binding is None or binding.kind != wanted:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=endpoint)
        return _ssl_record(ConfigId, binding)
    if ConfigId == HttpServiceConfigSslCcsCertInfo:
        kind, token = _query_kind(pInput)
        if kind == HttpServiceConfigQueryNext:
            rows = httpsys.list_ccs_bindings(machine)
            if token >= len(rows):
                raise WinError(ERROR_NO_MORE_ITEMS)
            return _ccs_record(rows[token])
        port = _ccs_port(getattr(pInput, "KeyDesc", None))
        binding = httpsys.get_ccs_binding(machine, port)
        if binding is None:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"0.0.0.0:{port}")
        return _ccs_record(binding)
    if ConfigId == HttpServiceConfigUrlAclInfo:
        kind, token = _query_kind(pInput)
        if kind == HttpServiceConfigQueryNext:
            rows = urlacl.list_reservations(machine)
            if token >= len(rows):
                raise WinError(ERROR_NO_MORE_ITEMS)
            url, sddl = rows[token]
        else:
            url = getattr(pInput.KeyDesc, "pUrlPrefix", None)
            sddl = urlacl.get_reservation(machine, url or "")
            if sddl is None:
                raise WinError(ERROR_FILE_NOT_FOUND, detail=str(url))
            url = str(urlacl.parse_url(url))
        return HTTP_SERVICE_CONFIG_URLACL_SET(HTTP_SERVICE_CONFIG_URLACL_KEY(url),
                                              HTTP_SERVICE_CONFIG_URLACL_PARAM(sddl))
    if ConfigId == HttpServiceConfigIPListenList:
        return HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY(
            [(a, 0) for a in urlacl.list_listen_addresses(machine)])
    raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")


# ---------------------------------------------------------------------------------------
# URL registration (the server side of the API: version 1.0 queues and HttpAddUrl; version
# 2.0 server sessions, URL groups and request queues)
# ---------------------------------------------------------------------------------------

HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING = 0x00000001
HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER = 0x00000002
# HTTP_SERVER_PROPERTY
HttpServerAuthenticationProperty = 0
HttpServerLoggingProperty = 1
HttpServerQosProperty = 2
HttpServerTimeoutsProperty = 3
HttpServerQueueLengthProperty = 4
HttpServerStateProperty = 5
HttpServer503VerbosityProperty = 6
HttpServerBindingProperty = 7
HttpServerExtendedAuthenticationProperty = 8
HttpServerListenEndpointProperty = 9
HttpServerChannelBindProperty = 10
HttpServerProtectionLevelProperty = 11
HTTP_PROPERTY_FLAG_PRESENT = 0x00000001
_MAX_PATH = 260

# The properties HttpSetUrlGroupProperty takes (HttpSetUrlGroupProperty page); the queue's
# own (queue length, 503 verbosity) and the session's listen endpoint are not among them.
_URL_GROUP_PROPERTIES = frozenset({
    HttpServerAuthenticationProperty, HttpServerLoggingProperty, HttpServerQosProperty,
    HttpServerTimeoutsProperty, HttpServerStateProperty, HttpServerBindingProperty,
    HttpServerExtendedAuthenticationProperty, HttpServerChannelBindProperty,
    HttpServerProtectionLevelProperty})


@dataclass
class HTTP_PROPERTY_FLAGS:
    Present: int = 0


@dataclass
class HTTP_BINDING_INFO:
    """HttpServerBindingProperty: ``Flags`` (HTTP_PROPERTY_FLAGS or its ULONG) and the
    request queue the URL group's requests go to."""
    Flags: HTTP_PROPERTY_FLAGS | int = field(default_factory=HTTP_PROPERTY_FLAGS)
    RequestQueueHandle: object = None


_registrations: dict[tuple[str, str], object] = {}
_reg_lock = threading.Lock()
_named_queues: dict[tuple[str, str], object] = {}
_sessions: dict[int, _ServerSession] = {}
_url_groups: dict[int, _UrlGroup] = {}
_next_id = [0x0100000020000000]


class HTTP_REQUEST_QUEUE_HANDLE:
    """A request queue (HttpCreateHttpHandle / HttpCreateRequestQueue) and the URLs
    registered on it with HttpAddUrl."""

    def __init__(self, machine, name: str | None = None) -> None:
        self.machine = machine
        self.name = name
        self.urls: set[str] = set()
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        HttpCloseRequestQueue(self)


class _ServerSession:
    def __init__(self, machine) -> None:
        self.machine = machine
        self.groups: set[int] = set()


class _UrlGroup:
    def __init__(self, session_id: int, machine) -> None:
        self.session_id = session_id
        self.machine = machine
        self.urls: set[str] = set()
        self.queue: HTTP_REQUEST_QUEUE_HANDLE | None = None
        self.properties: dict[int, object] = {}


def _new_id() -> int:
    with _reg_lock:
        _next_id[0] += 1
        return _next_id[0]


def _queue(h) -> HTTP_REQUEST_QUEUE_HANDLE:
    if not isinstance(h, HTTP_REQUEST_QUEUE_HANDLE) or h.closed:
        raise WinError(ERROR_INVALID_HANDLE)
    return h


def _version_2(Version) -> None:
    """HttpCreateServerSession / HttpCreateRequestQueue: "The version must be 2.0";
    another is ERROR_REVISION_MISMATCH (their Microsoft pages)."""
    major, minor = Version.HttpApiMajorVersion, Version.HttpApiMinorVersion
    if not isinstance(major, int) or not isinstance(minor, int):
        raise WinError(ERROR_INVALID_PARAMETER, detail="HTTPAPI_VERSION")
    if (major, minor) != (2, 0):
        raise WinError(ERROR_REVISION_MISMATCH, detail=f"HTTPAPI_VERSION({major}, {minor})")


def _zero(Reserved) -> None:
    if Reserved not in (0, None):
        raise WinError(ERROR_INVALID_PARAMETER, detail="Reserved must be 0")


@_facade
def HttpCreateHttpHandle(Reserved: int = 0) -> HTTP_REQUEST_QUEUE_HANDLE:
    """HttpCreateHttpHandle (version 1.0) -> a request queue for HttpAddUrl (the
    pReqQueueHandle output is the return value)."""
    _zero(Reserved)
    return HTTP_REQUEST_QUEUE_HANDLE(current_machine())


@_facade
def HttpCreateRequestQueue(Version: HTTPAPI_VERSION, pName: str | None = None,
                           pSecurityAttributes: object | None = None, Flags: int = 0
                           ) -> HTTP_REQUEST_QUEUE_HANDLE:
    """HttpCreateRequestQueue (version 2.0) -> the request queue handle (C's
    RequestQueueHandle output). ``pName`` names the queue so that another process may open
    it with HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING. ERROR_REVISION_MISMATCH for a
    version other than 2.0; ERROR_INVALID_PARAMETER for a name over MAX_PATH bytes, security
    attributes or the controller flag when opening, or OPEN_EXISTING without a name;
    ERROR_ALREADY_EXISTS when creating a name that exists, ERROR_FILE_NOT_FOUND when opening
    one that does not."""
    _version_2(Version)
    if not isinstance(Flags, int):
        raise WinError(ERROR_INVALID_PARAMETER, detail="Flags")
    flags = Flags & 0xFFFFFFFF
    if flags & ~(HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
                 | HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"Flags 0x{flags:x}")
    if pName is not None and (not isinstance(pName, str)
                              or len(pName.encode("utf-16-le")) > _MAX_PATH):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pName")
    machine = current_machine()
    opening = bool(flags & HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING)
    if opening and (not pName or pSecurityAttributes is not None
                    or flags & HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER):
        raise WinError(ERROR_INVALID_PARAMETER, detail="OPEN_EXISTING")
    key = (str(machine.path), pName.lower()) if pName else None
    with _reg_lock:
        existing = _named_queues.get(key) if key else None
        if existing is not None and existing.closed:
            _named_queues.pop(key, None)
            existing = None
        if opening:
            if existing is None:
                raise WinError(ERROR_FILE_NOT_FOUND, detail=pName)
            return existing
        if existing is not None:
            raise WinError(ERROR_ALREADY_EXISTS, detail=pName)
        queue = HTTP_REQUEST_QUEUE_HANDLE(machine, pName)
        if key:
            _named_queues[key] = queue
        return queue


def _register(owner, machine, url: str) -> str:
    prefix = str(urlacl.check_registration(machine, current_token(machine), url))
    key = (str(machine.path), prefix.lower())
    with _reg_lock:
        if key in _registrations:
            raise WinError(ERROR_ALREADY_EXISTS, detail=prefix)
        _registrations[key] = owner
        owner.urls.add(prefix.lower())
    return prefix


def _unregister_all(owner) -> None:
    with _reg_lock:
        for prefix in owner.urls:
            _registrations.pop((str(owner.machine.path), prefix), None)
        owner.urls.clear()


@_facade
def HttpAddUrl(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE, pFullyQualifiedUrl: str,
               pReserved: None = None) -> None:
    """HttpAddUrl (version 1.0): register a URL prefix for the queue. ERROR_ACCESS_DENIED
    when the caller is not an administrator and no reservation lets it listen there;
    ERROR_ALREADY_EXISTS when the prefix is registered already (by any queue or group)."""
    q = _queue(ReqQueueHandle)
    if not isinstance(pFullyQualifiedUrl, str):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pFullyQualifiedUrl")
    _register(q, q.machine, pFullyQualifiedUrl)


@_facade
def HttpRemoveUrl(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE, pFullyQualifiedUrl: str) -> None:
    """HttpRemoveUrl: ERROR_FILE_NOT_FOUND when the queue did not register the prefix."""
    q = _queue(ReqQueueHandle)
    prefix = str(urlacl.parse_url(pFullyQualifiedUrl)).lower()
    with _reg_lock:
        if prefix not in q.urls:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=prefix)
        q.urls.discard(prefix)
        _registrations.pop((str(q.machine.path), prefix), None)


@_facade
def HttpCloseRequestQueue(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE) -> None:
    """Close the queue; its URL registrations go with it, and URL groups bound to it are
    left unbound."""
    q = _queue(ReqQueueHandle)
    _unregister_all(q)
    with _reg_lock:
        q.closed = True
        for group in _url_groups.values():
            if group.queue is q:
                group.queue = None


@_facade
def HttpCreateServerSession(Version: HTTPAPI_VERSION, Reserved: int = 0) -> int:
    """HttpCreateServerSession -> the HTTP_SERVER_SESSION_ID (C's ServerSessionId output).
    ERROR_REVISION_MISMATCH unless ``Version`` is 2.0; ERROR_INVALID_PARAMETER for a
    non-zero ``Reserved``."""
    _version_2(Version)
    _zero(Reserved)
    session_id = _new_id()
    with _reg_lock:
        _sessions[session_id] = _ServerSession(current_machine())
    return session_id


def _session(ServerSessionId) -> _ServerSession:
    session = _sessions.get(ServerSessionId) if isinstance(ServerSessionId, int) else None
    if session is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="ServerSessionId")
    return session


def _group(UrlGroupId) -> _UrlGroup:
    group = _url_groups.get(UrlGroupId) if isinstance(UrlGroupId, int) else None
    if group is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="UrlGroupId")
    return group


@_facade
def HttpCloseServerSession(ServerSessionId: int) -> None:
    """HttpCloseServerSession: its URL groups (and their URLs) are closed with it."""
    session = _session(ServerSessionId)
    for group_id in list(session.groups):
        HttpCloseUrlGroup(group_id)
    with _reg_lock:
        _sessions.pop(ServerSessionId, None)


@_facade
def HttpCreateUrlGroup(ServerSessionId: int, Reserved: int = 0) -> int:
    """HttpCreateUrlGroup -> the HTTP_URL_GROUP_ID (C's pUrlGroupId output) of a new group
    under the server session; ERROR_INVALID_PARAMETER for an unknown session or a non-zero
    ``Reserved``."""
    session = _session(ServerSessionId)
    _zero(Reserved)
    group_id = _new_id()
    with _reg_lock:
        _url_groups[group_id] = _UrlGroup(ServerSessionId, session.machine)
        session.groups.add(group_id)
    return group_id


@_facade
def HttpCloseUrlGroup(UrlGroupId: int) -> None:
    """HttpCloseUrlGroup: the group's URL registrations go with it."""
    group = _group(UrlGroupId)
    _unregister_all(group)
    with _reg_lock:
        _url_groups.pop(UrlGroupId, None)
        session = _sessions.get(group.session_id)
        if session is not None:
            session.groups.discard(UrlGroupId)


@_facade
def HttpSetUrlGroupProperty(UrlGroupId: int, Property: int,
                            PropertyInformation: HTTP_BINDING_INFO | object) -> None:
    """HttpSetUrlGroupProperty (the length argument has no Python form).
    HttpServerBindingProperty with an HTTP_BINDING_INFO whose Flags has Present set binds
    the group to ``RequestQueueHandle`` (requests for its URLs go to that queue); Present
    clear unbinds it. The other URL-group properties are kept as given. A property a URL
    group does not take, or a closed or wrong queue handle, is ERROR_INVALID_PARAMETER."""
    group = _group(UrlGroupId)
    if not isinstance(Property, int) or Property not in _URL_GROUP_PROPERTIES \
            or PropertyInformation is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"Property {Property!r}")
    if Property == HttpServerBindingProperty:
        flags = PropertyInformation.Flags
        present = flags if isinstance(flags, int) else flags.Present
        if not isinstance(present, int):
            raise WinError(ERROR_INVALID_PARAMETER, detail="HTTP_BINDING_INFO.Flags")
        if present & HTTP_PROPERTY_FLAG_PRESENT:
            queue = PropertyInformation.RequestQueueHandle
            if not isinstance(queue, HTTP_REQUEST_QUEUE_HANDLE) or queue.closed:
                raise WinError(ERROR_INVALID_PARAMETER, detail="RequestQueueHandle")
            group.queue = queue
        else:
            group.queue = None
    group.properties[Property] = PropertyInformation


@_facade
def HttpAddUrlToUrlGroup(UrlGroupId: int, pFullyQualifiedUrl: str, UrlContext: int = 0,
                         Reserved: int = 0) -> None:
    """HttpAddUrlToUrlGroup (version 2.0): register a URL prefix for the group, checked as
    HttpAddUrl checks it (ERROR_ACCESS_DENIED without a reservation that lets the caller
    listen, ERROR_ALREADY_EXISTS when registered already)."""
    group = _group(UrlGroupId)
    _zero(Reserved)
    if not isinstance(pFullyQualifiedUrl, str) or not isinstance(UrlContext, int):
        raise WinError(ERROR_INVALID_PARAMETER, detail="pFullyQualifiedUrl/UrlContext")
    _register(group, group.machine, pFullyQualifiedUrl)


def url_group_queue(UrlGroupId: int) -> HTTP_REQUEST_QUEUE_HANDLE | None:
    """winpki's view (no Windows function): the queue a URL group is bound to, or None."""
    group = _url_groups.get(UrlGroupId)
    return group.queue if group is not None else None


__all__ = [n for n in dir() if n.startswith(("Http", "HTTP"))]

"""httpapi.dll: the HTTP Server API's configuration functions and URL registration.

``HttpSetServiceConfiguration`` and friends act on the same http.sys state that
``winpki netsh http`` reads and writes (``schannel.httpsys`` for SSL bindings,
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


@winapi
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


@winapi
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


def _reserved(ServiceHandle) -> None:
    if ServiceHandle not in (None, 0):
        raise WinError(ERROR_INVALID_PARAMETER, detail="ServiceHandle is reserved and must be 0")


_SSL_IDS = (HttpServiceConfigSSLCertInfo, HttpServiceConfigSslSniCertInfo)


@winapi
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
    elif ConfigId == HttpServiceConfigUrlAclInfo:
        url = getattr(getattr(pConfigInformation, "KeyDesc", None), "pUrlPrefix", None)
        sddl = getattr(getattr(pConfigInformation, "ParamDesc", None),
                       "pStringSecurityDescriptor", None)
        if not url or not sddl:
            raise WinError(ERROR_INVALID_PARAMETER, detail="pUrlPrefix/pStringSecurityDescriptor")
        urlacl.add_reservation(machine, current_token(machine), url, sddl)
    elif ConfigId == HttpServiceConfigIPListenList:
        addr = getattr(pConfigInformation, "pAddress", None)
        urlacl.add_listen_address(machine, current_token(machine), _addr_tuple(_ipport_text(addr))[0])
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")


@winapi
def HttpUpdateServiceConfiguration(ServiceHandle: int | None, ConfigId: int,
                                   pConfigInformation: HTTP_SERVICE_CONFIG_SSL_SET
                                   | HTTP_SERVICE_CONFIG_SSL_SNI_SET) -> None:
    """HttpUpdateServiceConfiguration: replace an SSL binding in one step (the old one
    stays if http.sys cannot use the new certificate); ERROR_FILE_NOT_FOUND if none."""
    _reserved(ServiceHandle)
    if ConfigId not in _SSL_IDS:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")
    machine = current_machine()
    binding = _binding(ConfigId, pConfigInformation)
    if httpsys.get_binding(machine, binding.endpoint) is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=binding.endpoint)
    httpsys.replace_binding(machine, binding)


@winapi
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
    elif ConfigId == HttpServiceConfigIPListenList:
        addr = getattr(pConfigInformation, "pAddress", None)
        urlacl.delete_listen_address(machine, current_token(machine),
                                     _addr_tuple(_ipport_text(addr))[0])
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ConfigId {ConfigId}")


def _query_kind(pInput) -> tuple[int, int]:
    kind = getattr(pInput, "QueryDesc", None)
    if kind not in (HttpServiceConfigQueryExact, HttpServiceConfigQueryNext):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"QueryDesc {kind!r}")
    return kind, int(getattr(pInput, "dwToken", 0) or 0)


@winapi
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
# URL registration (the server side of the API, version 1 and 2)
# ---------------------------------------------------------------------------------------

_registrations: dict[tuple[str, str], object] = {}
_reg_lock = threading.Lock()


class HTTP_REQUEST_QUEUE_HANDLE:
    """A request queue (HttpCreateHttpHandle / HttpCreateRequestQueue) and its URLs."""

    def __init__(self, machine) -> None:
        self.machine = machine
        self.urls: set[str] = set()
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        HttpCloseRequestQueue(self)


@dataclass
class HTTP_URL_GROUP:
    queue: HTTP_REQUEST_QUEUE_HANDLE


def _queue(h) -> HTTP_REQUEST_QUEUE_HANDLE:
    if not isinstance(h, HTTP_REQUEST_QUEUE_HANDLE) or h.closed:
        raise WinError(ERROR_INVALID_HANDLE)
    return h


@winapi
def HttpCreateHttpHandle(Reserved: int = 0) -> HTTP_REQUEST_QUEUE_HANDLE:
    """HttpCreateHttpHandle (version 1.0): a request queue for HttpAddUrl."""
    return HTTP_REQUEST_QUEUE_HANDLE(current_machine())


HttpCreateRequestQueue = HttpCreateHttpHandle


@winapi
def HttpAddUrl(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE, pFullyQualifiedUrl: str,
               pReserved: None = None) -> None:
    """HttpAddUrl: register a URL prefix for the queue. ERROR_ACCESS_DENIED when the
    caller is not an administrator and no reservation lets it listen there;
    ERROR_ALREADY_EXISTS when another queue registered the same prefix."""
    q = _queue(ReqQueueHandle)
    prefix = str(urlacl.check_registration(q.machine, current_token(q.machine), pFullyQualifiedUrl))
    key = (str(q.machine.path), prefix.lower())
    with _reg_lock:
        owner = _registrations.get(key)
        if owner is not None and owner is not q:
            raise WinError(ERROR_ALREADY_EXISTS, detail=prefix)
        if owner is q:
            raise WinError(ERROR_ALREADY_EXISTS, detail=prefix)
        _registrations[key] = q
        q.urls.add(prefix.lower())


@winapi
def HttpAddUrlToUrlGroup(UrlGroupId: HTTP_URL_GROUP, pFullyQualifiedUrl: str, UrlContext: int = 0,
                         Reserved: int = 0) -> None:
    """HttpAddUrlToUrlGroup (version 2.0): as HttpAddUrl, for the group's queue."""
    if not isinstance(UrlGroupId, HTTP_URL_GROUP):
        raise WinError(ERROR_INVALID_PARAMETER, detail="UrlGroupId")
    HttpAddUrl(UrlGroupId.queue, pFullyQualifiedUrl)


@winapi
def HttpCreateUrlGroup(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE) -> HTTP_URL_GROUP:
    """A URL group bound to a request queue (HttpCreateUrlGroup + the binding property)."""
    return HTTP_URL_GROUP(_queue(ReqQueueHandle))


@winapi
def HttpRemoveUrl(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE, pFullyQualifiedUrl: str) -> None:
    """HttpRemoveUrl: ERROR_FILE_NOT_FOUND when the queue did not register the prefix."""
    q = _queue(ReqQueueHandle)
    prefix = str(urlacl.parse_url(pFullyQualifiedUrl)).lower()
    with _reg_lock:
        if prefix not in q.urls:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=prefix)
        q.urls.discard(prefix)
        _registrations.pop((str(q.machine.path), prefix), None)


@winapi
def HttpCloseRequestQueue(ReqQueueHandle: HTTP_REQUEST_QUEUE_HANDLE) -> None:
    """Close the queue; its URL registrations go with it."""
    q = _queue(ReqQueueHandle)
    with _reg_lock:
        for prefix in q.urls:
            _registrations.pop((str(q.machine.path), prefix), None)
        q.urls.clear()
        q.closed = True


__all__ = [n for n in dir() if n.startswith(("Http", "HTTP"))]

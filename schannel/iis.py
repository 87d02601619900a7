"""IIS: sites, bindings and application pools (applicationHost.config) in machine state.

An HTTPS binding with a certificate is two things on Windows: the site binding in
applicationHost.config, and the http.sys SSL binding (0.0.0.0:443, or hostname:443 with
SNI) registered with IIS's application ID. IIS Manager and WebAdministration's
``AddSslCertificate`` register the http.sys part first; when http.sys cannot build the
credential the whole operation fails with the texts users see:

    There was an error while performing this operation.
    Details:
    A specified logon session does not exist. It may already have been terminated.
    (Exception from HRESULT: 0x80070520)
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from capi.errors import ERROR_ALREADY_EXISTS, ERROR_INVALID_PARAMETER, ERROR_NOT_FOUND, WinError
from capi.host.accounts import Token
from capi.host.context import current_token, use_machine
from capi.host.machine import Machine
from capi.host.objectsd import check_config_write
from schannel import httpsys

# The application ID IIS registers its http.sys SSL bindings with.
IIS_APP_ID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"

IDENTITY_TYPES = {
    "applicationpoolidentity": "ApplicationPoolIdentity",
    "networkservice": "NetworkService",
    "localsystem": "LocalSystem",
    "localservice": "LocalService",
    "specificuser": "SpecificUser",
}
_ACCOUNTS = {
    "NetworkService": "NT AUTHORITY\\NETWORK SERVICE",
    "LocalSystem": "NT AUTHORITY\\SYSTEM",
    "LocalService": "NT AUTHORITY\\LOCAL SERVICE",
}

IIS_MANAGER_ERROR = "There was an error while performing this operation."


@dataclass(frozen=True)
class Binding:
    protocol: str
    binding_info: str  # "ip:port:host"
    cert_hash: str | None = None
    cert_store: str | None = None
    ssl_flags: int = 0

    @property
    def port(self) -> int:
        return int(self.binding_info.split(":")[1])

    @property
    def host(self) -> str:
        return self.binding_info.split(":", 2)[2]

    @property
    def ip(self) -> str:
        return self.binding_info.split(":")[0]


@dataclass(frozen=True)
class Site:
    id: int
    name: str
    app_pool: str
    physical_path: str
    state: str
    bindings: tuple[Binding, ...]


@dataclass(frozen=True)
class AppPool:
    name: str
    identity_type: str
    username: str | None
    state: str

    @property
    def account(self) -> str:
        """The Windows account the pool's worker process (w3wp.exe) runs as."""
        if self.identity_type == "ApplicationPoolIdentity":
            return f"IIS APPPOOL\\{self.name}"
        if self.identity_type == "SpecificUser":
            return self.username or ""
        return _ACCOUNTS[self.identity_type]


def hresult_text(exc: WinError) -> str:
    """How .NET renders a Win32 failure: '<message> (Exception from HRESULT: 0x80070520)'."""
    return f"{exc.strerror} (Exception from HRESULT: 0x{exc.hresult:08X})"


def iis_manager_error(exc: WinError) -> str:
    """The IIS Manager error dialog's text for a failed operation."""
    return f"{IIS_MANAGER_ERROR}\n\nDetails:\n\n{hresult_text(exc)}"


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def _bindings(machine: Machine, site_id: int) -> tuple[Binding, ...]:
    rows = machine.db.execute(
        "SELECT protocol, binding_info, cert_hash, cert_store, ssl_flags FROM iis_bindings "
        "WHERE site_id = ? ORDER BY rowid", (site_id,)).fetchall()
    return tuple(Binding(*r) for r in rows)


def list_sites(machine: Machine) -> list[Site]:
    rows = machine.db.execute(
        "SELECT id, name, app_pool, physical_path, state FROM iis_sites ORDER BY id").fetchall()
    return [Site(*r, _bindings(machine, r[0])) for r in rows]


def get_site(machine: Machine, name: str) -> Site:
    row = machine.db.execute(
        "SELECT id, name, app_pool, physical_path, state FROM iis_sites WHERE name = ?",
        (name,)).fetchone()
    if row is None:
        raise WinError(ERROR_NOT_FOUND, detail=f"site {name!r}")
    return Site(*row, _bindings(machine, row[0]))


def list_app_pools(machine: Machine) -> list[AppPool]:
    rows = machine.db.execute(
        "SELECT name, identity_type, username, state FROM iis_app_pools ORDER BY rowid").fetchall()
    return [AppPool(*r) for r in rows]


def get_app_pool(machine: Machine, name: str) -> AppPool:
    row = machine.db.execute(
        "SELECT name, identity_type, username, state FROM iis_app_pools WHERE name = ?",
        (name,)).fetchone()
    if row is None:
        raise WinError(ERROR_NOT_FOUND, detail=f"application pool {name!r}")
    return AppPool(*row)


# --------------------------------------------------------------------------------------
# changing
# --------------------------------------------------------------------------------------


def parse_binding_info(text: str) -> str:
    m = re.fullmatch(r"(\*|[0-9.]+|\[[0-9A-Fa-f:]+\]):(\d{1,5}):([A-Za-z0-9.\-*]*)", text or "")
    if not m or not 0 < int(m.group(2)) < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"bindingInformation={text}")
    return f"{m.group(1)}:{int(m.group(2))}:{m.group(3).lower()}"


def _require_config_write(machine: Machine, token: Token | None) -> None:
    """Every change to applicationHost.config is access-checked as the caller (default:
    the current identity) before anything else: only SYSTEM and Administrators may."""
    check_config_write(machine, token if token is not None else current_token(machine))


# The configuration system's "applicationPoolName" validation of applicationPools/add/@name
# (IAppHostPropertySchema::ValidationType Property, IIS native-code API reference): the
# name may not contain any of these characters. No length is checked there: a name past
# WAS's own limit is kept in the configuration and ignored by WAS at run time (WAS event
# 5050, "The application pool id '%1' exceeds length limits ... will therefore be
# ignored"); the key store then refuses its profile's over-long paths.
_APP_POOL_NAME_FORBIDDEN = frozenset('|<>&\\"/[]+=;:,?*@')


def add_app_pool(machine: Machine, name: str, identity_type: str = "ApplicationPoolIdentity",
                 username: str | None = None, *, token: Token | None = None) -> AppPool:
    if not name or _APP_POOL_NAME_FORBIDDEN.intersection(name):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"application pool name {name!r}")
    _require_config_write(machine, token)
    kind = IDENTITY_TYPES.get(identity_type.lower())
    if kind is None or (kind == "SpecificUser") != bool(username):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"identityType={identity_type}")
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM iis_app_pools WHERE name = ?", (name,)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=f"application pool {name!r}")
        db.execute("INSERT INTO iis_app_pools(name, identity_type, username) VALUES (?, ?, ?)",
                   (name, kind, username))
    return get_app_pool(machine, name)


def set_app_pool_identity(machine: Machine, name: str, identity_type: str,
                          username: str | None = None, *, token: Token | None = None) -> AppPool:
    _require_config_write(machine, token)
    kind = IDENTITY_TYPES.get(identity_type.lower())
    if kind is None or (kind == "SpecificUser") != bool(username):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"identityType={identity_type}")
    get_app_pool(machine, name)
    with machine.transaction() as db:
        db.execute("UPDATE iis_app_pools SET identity_type = ?, username = ? WHERE name = ?",
                   (kind, username, name))
    return get_app_pool(machine, name)


def add_site(machine: Machine, name: str, physical_path: str, *, app_pool: str = "DefaultAppPool",
             bindings: tuple[tuple[str, str], ...] = (("http", "*:80:"),),
             token: Token | None = None) -> Site:
    _require_config_write(machine, token)
    get_app_pool(machine, app_pool)
    infos = [(p.lower(), parse_binding_info(b)) for p, b in bindings]
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM iis_sites WHERE name = ?", (name,)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=f"site {name!r}")
        site_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM iis_sites").fetchone()[0]
        db.execute("INSERT INTO iis_sites(id, name, app_pool, physical_path) VALUES (?, ?, ?, ?)",
                   (site_id, name, app_pool, physical_path))
        for protocol, info in infos:
            db.execute("INSERT INTO iis_bindings(site_id, protocol, binding_info) VALUES (?, ?, ?)",
                       (site_id, protocol, info))
    return get_site(machine, name)


def add_site_binding(machine: Machine, site_name: str, protocol: str, binding_info: str, *,
                     token: Token | None = None) -> Site:
    """appcmd set site /+bindings.[...]: a binding without a certificate; duplicates refused."""
    _require_config_write(machine, token)
    site = get_site(machine, site_name)
    info = parse_binding_info(binding_info)
    protocol = protocol.lower()
    if protocol not in ("http", "https", "net.tcp", "net.pipe", "net.msmq", "msmq.formatname", "ftp"):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"protocol={protocol}")
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM iis_bindings WHERE site_id = ? AND protocol = ? AND "
                      "binding_info = ?", (site.id, protocol, info)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=f"{protocol}, {info}")
        db.execute("INSERT INTO iis_bindings(site_id, protocol, binding_info) VALUES (?, ?, ?)",
                   (site.id, protocol, info))
    return get_site(machine, site_name)


def _sslcert_endpoint(binding_info: str, sni: bool) -> tuple[str, str]:
    ip, port, host = binding_info.split(":", 2)
    if sni:
        if not host:
            raise WinError(ERROR_INVALID_PARAMETER, detail="SNI needs a host name")
        return httpsys.parse_hostnameport(f"{host}:{port}"), "hostnameport"
    address = "0.0.0.0" if ip == "*" else ip.strip("[]")
    return httpsys.parse_ipport(f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"), "ipport"


def add_https_binding(machine: Machine, site_name: str, binding_info: str, cert_hash: str,
                      store_name: str = "My", *, sni: bool = False,
                      token: Token | None = None) -> Site:
    """What IIS Manager's "Add Site Binding" (https, with an SSL certificate) does.

    Registers the http.sys SSL binding first — which acquires the Schannel credential as
    SYSTEM — then the site binding. Raises the http.sys error (e.g. 0x80070520) unchanged;
    callers render it with :func:`iis_manager_error` or :func:`hresult_text`. The caller
    (default: the current identity) must be allowed to change applicationHost.config
    (ERROR_ACCESS_DENIED) and http.sys's SSL configuration.
    """
    token = token if token is not None else current_token(machine)
    _require_config_write(machine, token)
    site = get_site(machine, site_name)
    info = parse_binding_info(binding_info)
    endpoint, kind = _sslcert_endpoint(info, sni)
    binding = httpsys.SslBinding(endpoint, kind, httpsys.parse_certhash(cert_hash), IIS_APP_ID,
                                 store_name.upper(), False)
    existing = httpsys.get_binding(machine, endpoint)
    if existing is None:
        httpsys.add_binding(machine, binding, token=token)
    elif existing.cert_hash != binding.cert_hash:
        # IIS Manager replaces the certificate of an existing endpoint; if the new one
        # cannot be used, the old binding stays.
        httpsys.replace_binding(machine, binding, token=token)
    with machine.transaction() as db:
        db.execute("INSERT OR REPLACE INTO iis_bindings(site_id, protocol, binding_info, cert_hash, "
                   "cert_store, ssl_flags) VALUES (?, 'https', ?, ?, ?, ?)",
                   (site.id, info, binding.cert_hash, store_name, 1 if sni else 0))
    return get_site(machine, site_name)


def https_binding_endpoint(binding: Binding) -> str:
    """The http.sys endpoint that serves a site's HTTPS binding."""
    return _sslcert_endpoint(binding.binding_info, bool(binding.ssl_flags & 1))[0]


# --------------------------------------------------------------------------------------
# Routing: which site's https binding receives a request that came in on an http.sys
# SSL endpoint
# --------------------------------------------------------------------------------------
#
# The SSL binding (netsh http add sslcert) only lets the TLS handshake complete; the request
# then goes to the URL registered for it. IIS registers one URL per site binding (WAS does
# it for every started site): "*:443:" is a weak wildcard (https://*:443/), "*:443:name" an
# explicit host (https://name:443/), "10.0.0.5:443:" an IP-bound weak wildcard
# (https://10.0.0.5:443/). http.sys matches the request's Host header against them in that
# order of precedence -- explicit, IP-bound weak wildcard, weak wildcard ("UrlPrefix
# Strings", HTTP Server API: "Host-Specifier Categories"); in a binding "*" is all
# unassigned IP addresses and an empty host name is every host name ("BindingElement
# Class", IIS WMI provider; Get-IISSiteBinding: "all hostnames are indicated by leaving the
# corresponding field blank"). When nothing matches, http.sys answers 404 itself, with
# "Server: Microsoft-HTTPAPI/2.0" (schannel.iisweb.NO_SITE).
#
# The SNI flag of a binding (sslFlags 1) only chooses which SSL binding holds its
# certificate: the certificate is settled before http.sys hands the decrypted request on to
# be routed (MSDN blog "HTTPS Host Name for IIS", 2010), and the routing is by Host header,
# as for any binding. Whether http.sys refuses a Host that differs from the SNI name is not
# documented in the sources found; it is not modelled. The local address of a request on
# 0.0.0.0:443 (or [::]:443, or a hostname:port endpoint) is not known to the simulation:
# only "*" bindings receive it. IIS 10's wildcard host names (*.contoso.com) are not
# modelled: such a binding takes no request.

_ROUTE_EXPLICIT, _ROUTE_IP_BOUND, _ROUTE_WEAK, _ROUTE_NONE = 0, 1, 2, 3


@functools.lru_cache(maxsize=256)
def _endpoint_address(endpoint: str, kind: str) -> tuple[str | None, int]:
    """(the local IP address a request on the endpoint arrived at, if it names one; port)."""
    address, _, port = endpoint.rpartition(":")
    if kind != "ipport":
        return None, int(port)
    ip = ipaddress.ip_address(address.strip("[]"))
    return (None if ip.is_unspecified else str(ip)), int(port)


@functools.lru_cache(maxsize=256)
def _binding_ip(text: str) -> str | None:
    """A binding's IP address field in canonical form (None: "*" or not an address)."""
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return None


def _reaching(machine: Machine, endpoint: str, kind: str) -> list[tuple]:
    """(site name, physical path, binding_info, cert_hash, cert_store, ssl_flags, binding
    host name) of the https bindings a request on the endpoint can reach."""
    local_ip, port = _endpoint_address(endpoint, kind)
    rows = machine.db.execute(
        "SELECT s.name, s.physical_path, b.binding_info, b.cert_hash, b.cert_store, b.ssl_flags "
        "FROM iis_bindings b JOIN iis_sites s ON s.id = b.site_id "
        "WHERE b.protocol = 'https' ORDER BY s.id, b.rowid").fetchall()
    found = []
    for row in rows:
        ip, bport, host = row[2].rsplit(":", 2)
        if int(bport) == port and (ip == "*" or (local_ip is not None
                                                 and _binding_ip(ip) == local_ip)):
            found.append((*row, host))
    return found


# How long a serving process keeps the https bindings it read before it reads them again,
# when nothing in the process has written to the machine since: IIS takes a configuration
# change through WAS's change notifications (Microsoft, "IAppHostChangeHandler::
# OnSectionChanges": listeners are told when a section of the configuration files
# changed), not by reading applicationHost.config at each request.
ROUTES_REREAD_SECONDS = 1.0


def _reaching_now(machine: Machine, endpoint: str, kind: str) -> list[tuple]:
    """``_reaching``, read again only when this process changed the machine or
    ROUTES_REREAD_SECONDS have passed (a change made by another process)."""
    return machine.cached(("iis-routes", endpoint, kind), ROUTES_REREAD_SECONDS,
                          lambda: _reaching(machine, endpoint, kind))


def https_bindings_reaching(machine: Machine, endpoint: str, kind: str = "ipport"
                            ) -> list[tuple[str, Binding]]:
    """The https site bindings a request arriving on the http.sys SSL ``endpoint`` (of
    ``kind`` "ipport" or "hostnameport") can be routed to: (site name, binding), in the
    configuration's order. Empty: every request on it gets http.sys's 404."""
    return [(r[0], Binding("https", r[2], r[3], r[4], r[5]))
            for r in _reaching(machine, endpoint, kind)]


def route_https_request(machine: Machine, endpoint: str, kind: str, host: str | None
                        ) -> tuple[str, str] | None:
    """(site name, physical path) of the site http.sys gives a request for ``host`` (the
    Host header's name, without the port) arriving on the SSL ``endpoint``; None: no site
    (http.sys's own 404). A change this process makes applies at the next call, another
    process's within ROUTES_REREAD_SECONDS."""
    host = (host or "").lower()
    best, rank = None, _ROUTE_NONE
    for row in _reaching_now(machine, endpoint, kind):
        bhost = row[-1]
        if bhost:
            this = _ROUTE_EXPLICIT if bhost == host else _ROUTE_NONE
        else:
            this = _ROUTE_WEAK if row[2].startswith("*:") else _ROUTE_IP_BOUND
        if this < rank:  # the first binding of a category wins
            best, rank = (row[0], row[1]), this
    return best


# --------------------------------------------------------------------------------------
# Certificate import: IIS Manager vs the Certificates console
# --------------------------------------------------------------------------------------


def _add_to_local_machine(source_store, store_name: str) -> list:
    """Copy a PFX store's certificates (with their key properties) into LocalMachine."""
    from capi import constants as C
    from capi.crypt32.store import CertAddCertificateContextToStore, CertOpenStore

    added = []
    with CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, C.CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       store_name) as target:
        for ctx in source_store:
            added.append(CertAddCertificateContextToStore(
                target, ctx, C.CERT_STORE_ADD_REPLACE_EXISTING))
    return added


def _prov_info(ctx):
    from capi import constants as C

    try:
        return ctx.get_property(C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError:
        return None


def _end_entity(contexts: list):
    for ctx in contexts:
        if _prov_info(ctx) is not None:
            return ctx
    return contexts[0] if contexts else None


def certificates_console_import(machine: Machine, pfx: bytes, password: str, *,
                                exportable: bool = False, store_name: str = "My"):
    """The Certificates console (computer account) import: the key goes straight into
    MachineKeys (CRYPT_MACHINE_KEYSET), exportable or not. Returns the end-entity context."""
    from capi import constants as C
    from capi.crypt32.pfx import PFXImportCertStore

    flags = C.CRYPT_MACHINE_KEYSET | (C.CRYPT_EXPORTABLE if exportable else 0)
    with use_machine(machine), PFXImportCertStore(pfx, password, flags) as imported:
        return _end_entity(_add_to_local_machine(imported, store_name))


def iis_manager_import(machine: Machine, pfx: bytes, password: str, *,
                       allow_export: bool = True, store_name: str = "My"):
    """IIS Manager's "Import Certificate" dialog (IIS 7.x), as winpki models it.

    The dialog imports the PFX for the signed-in administrator, adds the certificate to
    LocalMachine\\<store>, then moves the private key into MachineKeys by exporting it from
    the administrator's container and importing it as a machine key. With "Allow this
    certificate to be exported" unchecked the key is imported non-exportable, the export
    is refused (NTE_BAD_KEY_STATE) and the move silently does not happen: the certificate
    keeps pointing at a key in the administrator's profile. certutil run by that
    administrator still passes its key test, but lsass (SYSTEM) cannot open the key, so
    Schannel fails with 0x8009030D / event 36870 and the binding with 0x80070520 — the
    broken keyset of scenario 1 of "Error HRESULT: 0x80070520 when adding SSL binding in
    IIS" (docs/windows-facts.md §7). The Certificates console does not do this
    (:func:`certificates_console_import`).
    """
    with use_machine(machine):
        return _iis_manager_import(pfx, password, allow_export, store_name)


def _iis_manager_import(pfx: bytes, password: str, allow_export: bool, store_name: str):
    from capi import constants as C
    from capi.advapi32.crypt import (
        CryptAcquireContext,
        CryptDestroyKey,
        CryptExportKey,
        CryptGetUserKey,
        CryptImportKey,
        CryptReleaseContext,
    )
    from capi.crypt32.cert import CertSetCertificateContextProperty
    from capi.crypt32.context import CRYPT_KEY_PROV_INFO
    from capi.crypt32.pfx import PFXImportCertStore, new_container_name

    flags = C.CRYPT_USER_KEYSET | (C.CRYPT_EXPORTABLE if allow_export else 0)
    with PFXImportCertStore(pfx, password, flags) as imported:
        cert = _end_entity(_add_to_local_machine(imported, store_name))
    info = _prov_info(cert) if cert else None
    if info is None or info.dwProvType == 0:
        return cert
    user_prov = CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType, 0)
    try:
        key = CryptGetUserKey(user_prov, info.dwKeySpec)
        try:
            blob = CryptExportKey(key, None, C.PRIVATEKEYBLOB, 0)
        except WinError:
            return cert  # the non-exportable key stays in the administrator's profile
        finally:
            CryptDestroyKey(key)
    finally:
        CryptReleaseContext(user_prov, 0)
    machine_container = new_container_name()
    prov = CryptAcquireContext(machine_container, info.pwszProvName, info.dwProvType,
                               C.CRYPT_NEWKEYSET | C.CRYPT_MACHINE_KEYSET)
    try:
        CryptDestroyKey(CryptImportKey(prov, blob, None, C.CRYPT_EXPORTABLE))
    finally:
        CryptReleaseContext(prov, 0)
    CertSetCertificateContextProperty(cert, C.CERT_KEY_PROV_INFO_PROP_ID, 0, CRYPT_KEY_PROV_INFO(
        machine_container, info.pwszProvName, info.dwProvType, C.CRYPT_MACHINE_KEYSET,
        info.dwKeySpec))
    CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                        C.CRYPT_DELETEKEYSET)
    return cert


# --------------------------------------------------------------------------------------
# Application pools using the certificate's private key in-process
# --------------------------------------------------------------------------------------

DOTNET_EXCEPTION = "System.Security.Cryptography.CryptographicException"


def app_pool_load_private_key(machine: Machine, pool_name: str, thumbprint: str,
                              store_name: str = "My"):
    """What code in the pool's w3wp.exe does with X509Certificate2.PrivateKey: acquire the
    certificate's private key as the pool identity. Raises the Windows error (for a CAPI
    machine key the identity cannot read: NTE_BAD_KEYSET, .NET's "Keyset does not exist")."""
    from capi import constants as C
    from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey
    from capi.host.context import run_as

    pool = get_app_pool(machine, pool_name)
    cert = httpsys.find_certificate(machine, store_name, "".join(thumbprint.split()).lower())
    if cert is None:
        from capi.errors import CRYPT_E_NOT_FOUND

        raise WinError(CRYPT_E_NOT_FOUND, detail=thumbprint)
    with use_machine(machine), run_as(pool.account):
        handle, spec, _ = CryptAcquireCertificatePrivateKey(
            cert, C.CRYPT_ACQUIRE_SILENT_FLAG | C.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG)
    return handle, spec

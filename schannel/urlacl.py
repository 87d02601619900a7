"""http.sys URL reservations (``netsh http add|delete|show urlacl``) and the IP listen list.

A reservation names a URL prefix (``http://+:80/MyUri/``) and a security descriptor:
``GX`` (GENERIC_EXECUTE) lets an account register URLs under the prefix ("Listen: Yes"),
``GW`` (GENERIC_WRITE) lets it delegate ("Delegate: Yes") — the SDDL form netsh writes and
Microsoft's "Namespace Reservations, Registrations, and Routing" / "netsh http" pages
describe. A process that is not an administrator and registers a URL no reservation grants
it gets ERROR_ACCESS_DENIED, the "HTTP could not register URL … Your process does not have
access rights to this namespace" failure of self-hosted WCF and HttpListener services.

Windows ships one reservation a service may use without one of its own:
``http://+:80/Temporary_Listen_Addresses/`` for Everyone (``D:(A;;GX;;;WD)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capi.constants import DACL_SECURITY_INFORMATION
from capi.errors import (
    ERROR_ACCESS_DENIED,
    ERROR_ALREADY_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    WinError,
)
from capi.host.accounts import Token, account_display, sid_for_account
from capi.host.machine import Machine
from capi.host.objectsd import KEY_CREATE_SUB_KEY, KEY_SET_VALUE, check_registry_access
from capi.host.security import (
    GENERIC_EXECUTE,
    GENERIC_MAPPING,
    GENERIC_WRITE,
    SecurityDescriptor,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS http_urlacl (
    url  TEXT PRIMARY KEY,   -- canonical prefix, lower-case scheme and host, ending in '/'
    sddl TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS http_iplisten (
    address TEXT PRIMARY KEY  -- '0.0.0.0' / '::' / an address
);
CREATE TABLE IF NOT EXISTS http_urlacl_defaults (done INTEGER PRIMARY KEY);
"""

DEFAULT_RESERVATIONS = (("http://+:80/Temporary_Listen_Addresses/", "D:(A;;GX;;;WD)"),)

# The rights of a URL reservation: listen is GENERIC_EXECUTE, delegate GENERIC_WRITE. They
# are checked as themselves (no object-specific rights behind them).
URL_MAPPING = GENERIC_MAPPING(0x80000000, GENERIC_WRITE, GENERIC_EXECUTE, 0xF0000000)
LISTEN = GENERIC_EXECUTE
DELEGATE = GENERIC_WRITE

_URL_RE = re.compile(r"(?i)(https?)://([^/:]+|\[[0-9a-f:.]+\]):(\d{1,5})(/[^?#]*)?")


@dataclass(frozen=True)
class UrlPrefix:
    scheme: str
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def parse_url(text: str) -> UrlPrefix:
    """A URL prefix as http.sys takes it: scheme, host (``+`` strong and ``*`` weak
    wildcards, a name or an address), an explicit port and a path ending in ``/``.
    ERROR_INVALID_PARAMETER otherwise."""
    m = _URL_RE.fullmatch((text or "").strip())
    if not m or not 0 < int(m.group(3)) < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"url={text}")
    path = m.group(4) or "/"
    if not path.endswith("/"):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"url={text} (the prefix ends in '/')")
    return UrlPrefix(m.group(1).lower(), m.group(2).lower(), int(m.group(3)), path)


def _schema(machine: Machine) -> None:
    machine.ensure_schema("http_urlacl", _SCHEMA)
    if machine.db.execute("SELECT 1 FROM http_urlacl_defaults").fetchone() is None:
        with machine.transaction() as db:
            if db.execute("SELECT 1 FROM http_urlacl_defaults").fetchone() is None:
                for url, sddl in DEFAULT_RESERVATIONS:
                    db.execute("INSERT OR IGNORE INTO http_urlacl(url, sddl) VALUES (?, ?)",
                               (str(parse_url(url)), sddl))
                db.execute("INSERT INTO http_urlacl_defaults(done) VALUES (1)")


_PARAMETERS_KEY = r"MACHINE\SYSTEM\CurrentControlSet\Services\HTTP\Parameters"


def _require_admin(machine: Machine, token: Token, key: str = "UrlAclInfo") -> None:
    # http.sys keeps reservations under HTTP\Parameters\UrlAclInfo and the listen list in
    # ListenOnlyList: changing them is a registry write, checked as the caller (SYSTEM and
    # Administrators may, no one else).
    check_registry_access(machine, f"{_PARAMETERS_KEY}\\{key}", token,
                          KEY_SET_VALUE | KEY_CREATE_SUB_KEY)


def sddl_for(machine: Machine, user: str, *, listen: bool = True, delegate: bool = False) -> str:
    """The SDDL netsh writes for ``user=… listen=yes delegate=no``."""
    sid = sid_for_account(machine, user)
    rights = ("GX" if listen else "") + ("GW" if delegate else "")
    if not rights:
        raise WinError(ERROR_INVALID_PARAMETER, detail="listen=no and delegate=no")
    # Through the SDDL writer, as netsh does: well-known SIDs come out as aliases (NS, WD).
    return SecurityDescriptor.from_sddl(f"D:(A;;{rights};;;{sid})", machine).to_sddl(
        DACL_SECURITY_INFORMATION)


def add_reservation(machine: Machine, token: Token, url: str, sddl: str) -> UrlPrefix:
    """HttpSetServiceConfiguration(HttpServiceConfigUrlAclInfo): 183 when it exists."""
    prefix = parse_url(url)
    SecurityDescriptor.from_sddl(sddl, machine)  # ERROR_INVALID_* for a bad descriptor
    _schema(machine)
    _require_admin(machine, token)
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM http_urlacl WHERE url = ?", (str(prefix),)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=str(prefix))
        db.execute("INSERT INTO http_urlacl(url, sddl) VALUES (?, ?)", (str(prefix), sddl))
    return prefix


def delete_reservation(machine: Machine, token: Token, url: str) -> None:
    """HttpDeleteServiceConfiguration(HttpServiceConfigUrlAclInfo): 2 when missing."""
    prefix = parse_url(url)
    _schema(machine)
    _require_admin(machine, token)
    with machine.transaction() as db:
        if db.execute("DELETE FROM http_urlacl WHERE url = ?", (str(prefix),)).rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=str(prefix))


def list_reservations(machine: Machine) -> list[tuple[str, str]]:
    """[(url, sddl)] in url order."""
    _schema(machine)
    return [tuple(r) for r in machine.db.execute("SELECT url, sddl FROM http_urlacl ORDER BY url")]


def get_reservation(machine: Machine, url: str) -> str | None:
    _schema(machine)
    row = machine.db.execute("SELECT sddl FROM http_urlacl WHERE url = ?",
                             (str(parse_url(url)),)).fetchone()
    return row[0] if row else None


def _covers(reserved: UrlPrefix, wanted: UrlPrefix) -> bool:
    if reserved.scheme != wanted.scheme or reserved.port != wanted.port:
        return False
    if reserved.host not in ("+", "*") and reserved.host != wanted.host:
        return False
    return wanted.path.lower().startswith(reserved.path.lower())


def check_registration(machine: Machine, token: Token, url: str) -> UrlPrefix:
    """May ``token`` register ``url`` (HttpAddUrl)? Administrators always may; anyone else
    needs Listen on the most specific reservation covering it, else ERROR_ACCESS_DENIED."""
    wanted = parse_url(url)
    if token.is_admin:
        return wanted
    best: tuple[int, str] | None = None
    for reserved_url, sddl in list_reservations(machine):
        reserved = parse_url(reserved_url)
        if _covers(reserved, wanted):
            rank = len(reserved.path) * 2 + (reserved.host not in ("+", "*"))
            if best is None or rank > best[0]:
                best = (rank, sddl)
    if best is None or not SecurityDescriptor.from_sddl(best[1], machine).allows(
            token, LISTEN, URL_MAPPING):
        raise WinError(ERROR_ACCESS_DENIED, detail=f"no reservation lets the caller listen on {wanted}")
    return wanted


def describe(machine: Machine, sddl: str) -> list[tuple[str, bool, bool]]:
    """[(account, listen, delegate)] of a reservation's allow ACEs, as netsh shows them."""
    sd = SecurityDescriptor.from_sddl(sddl, machine)
    out = []
    for ace in sd.dacl or []:
        name = account_display(machine, ace.sid)
        out.append((name if "\\" in name else "\\" + name, bool(ace.mask & LISTEN),
                    bool(ace.mask & DELEGATE)))
    return out


def parse_listen_address(address: str) -> str:
    """An IPv4 or IPv6 address of the IP listen list (netsh ``ipaddress=``; IPv6 with or
    without brackets) in canonical form; ERROR_INVALID_PARAMETER otherwise."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(str(address).strip().strip("[]")))
    except ValueError as exc:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ipaddress={address}") from exc


_listen_address = parse_listen_address


def add_listen_address(machine: Machine, token: Token, address: str) -> None:
    """HttpSetServiceConfiguration(HttpServiceConfigIPListenList): 183 when listed."""
    addr = _listen_address(address)
    _schema(machine)
    _require_admin(machine, token, "ListenOnlyList")
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM http_iplisten WHERE address = ?", (addr,)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=addr)
        db.execute("INSERT INTO http_iplisten(address) VALUES (?)", (addr,))


def delete_listen_address(machine: Machine, token: Token, address: str) -> None:
    """HttpDeleteServiceConfiguration(HttpServiceConfigIPListenList): 2 when not listed."""
    addr = _listen_address(address)
    _schema(machine)
    _require_admin(machine, token, "ListenOnlyList")
    with machine.transaction() as db:
        if db.execute("DELETE FROM http_iplisten WHERE address = ?", (addr,)).rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=addr)


def list_listen_addresses(machine: Machine) -> list[str]:
    _schema(machine)
    return [r[0] for r in machine.db.execute("SELECT address FROM http_iplisten ORDER BY address")]

"""Security identifiers, accounts and access tokens of the simulated machine.

- :class:`Sid` is a SID value (``S-1-5-18``) with its binary form.
- Accounts: the well-known SIDs Windows ships, the local accounts in the machine's
  ``accounts`` table (Administrator = RID 500, Guest = 501, users from RID 1000), and the
  virtual accounts ``IIS APPPOOL\\<pool>`` / ``NT SERVICE\\<service>`` whose SIDs are
  derived from the name exactly as Windows derives them.
- :class:`Token` is what a logged-on identity carries into an access check: the user
  SID, its groups, the default owner, primary group and default DACL.

The facade functions (``LookupAccountName``, ``LookupAccountSid``) act on the current
machine; everything else takes the machine as an argument.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capi.constants import (
    SidTypeAlias,
    SidTypeDomain,
    SidTypeGroup,
    SidTypeLabel,
    SidTypeUser,
    SidTypeWellKnownGroup,
)
from capi.errors import (
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_SID,
    ERROR_LOGON_FAILURE,
    ERROR_NONE_MAPPED,
    NERR_UserExists,
    WinError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from capi.host.machine import Machine

SID_REVISION = 1
SID_MAX_SUB_AUTHORITIES = 15
_MAX_AUTHORITY = (1 << 48) - 1
_MAX_DWORD = 0xFFFFFFFF

# Relative identifiers used in logic (winnt.h).
DOMAIN_USER_RID_ADMIN = 500
DOMAIN_USER_RID_GUEST = 501
DOMAIN_GROUP_RID_USERS = 513  # the local "None" group on a workgroup machine
FIRST_USER_RID = 1000
SECURITY_SERVICE_ID_BASE_RID = 80
SECURITY_APPPOOL_ID_BASE_RID = 82


class Sid:
    """A security identifier. ``Sid("S-1-5-18")``, ``str(sid)``, ``sid.to_bytes()``.

    Accepts what ConvertStringSidToSid accepts: ``S-R-I-S...`` with decimal or ``0x`` hex
    components (either case of the ``S``), and the fixed SDDL aliases (``"SY"``, ``"wd"``).
    Anything else raises ERROR_INVALID_SID.
    """

    __slots__ = ("revision", "authority", "subauthorities", "_key")

    def __init__(self, value: str | Sid):
        if isinstance(value, Sid):
            revision, authority, subs = value.revision, value.authority, value.subauthorities
        elif isinstance(value, str):
            revision, authority, subs = _parse_sid_text(value)
        else:
            raise WinError(ERROR_INVALID_SID, detail=repr(value))
        self.revision = revision
        self.authority = authority
        self.subauthorities: tuple[int, ...] = tuple(subs)
        self._key = (authority, self.subauthorities)

    @classmethod
    def from_parts(cls, authority: int, subauthorities) -> Sid:
        subs = tuple(int(s) for s in subauthorities)
        if not 0 <= authority <= _MAX_AUTHORITY or not 1 <= len(subs) <= SID_MAX_SUB_AUTHORITIES \
                or any(not 0 <= s <= _MAX_DWORD for s in subs):
            raise WinError(ERROR_INVALID_SID, detail=f"{authority} {subs}")
        sid = cls.__new__(cls)
        sid.revision = SID_REVISION
        sid.authority = authority
        sid.subauthorities = subs
        sid._key = (authority, subs)
        return sid

    # -- binary form (the SID structure) -----------------------------------------------

    def to_bytes(self) -> bytes:
        """Revision, sub-authority count, 6-byte big-endian authority, LE sub-authorities."""
        return (bytes([self.revision, len(self.subauthorities)])
                + self.authority.to_bytes(6, "big")
                + struct.pack(f"<{len(self.subauthorities)}I", *self.subauthorities))

    @classmethod
    def from_bytes(cls, data: bytes) -> Sid:
        """Parse a binary SID that fills ``data`` exactly (ERROR_INVALID_SID otherwise)."""
        sid, used = cls.parse_prefix(bytes(data), 0)
        if used != len(data):
            raise WinError(ERROR_INVALID_SID, detail="trailing bytes after SID")
        return sid

    @classmethod
    def parse_prefix(cls, data: bytes, offset: int) -> tuple[Sid, int]:
        """Parse a binary SID at ``offset``; return it and its length in bytes."""
        if offset < 0 or len(data) - offset < 8:
            raise WinError(ERROR_INVALID_SID, detail="truncated SID")
        revision, count = data[offset], data[offset + 1]
        if revision != SID_REVISION or not 1 <= count <= SID_MAX_SUB_AUTHORITIES:
            raise WinError(ERROR_INVALID_SID, detail=f"revision {revision}, {count} sub-authorities")
        size = 8 + 4 * count
        if len(data) - offset < size:
            raise WinError(ERROR_INVALID_SID, detail="truncated SID")
        authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
        subs = struct.unpack_from(f"<{count}I", data, offset + 8)
        return cls.from_parts(authority, subs), size

    # -- helpers -----------------------------------------------------------------------

    @property
    def rid(self) -> int:
        """The last sub-authority (the relative identifier)."""
        return self.subauthorities[-1]

    @property
    def domain(self) -> Sid | None:
        """The SID without its RID, or None for a one-sub-authority SID."""
        if len(self.subauthorities) < 2:
            return None
        return Sid.from_parts(self.authority, self.subauthorities[:-1])

    def __str__(self) -> str:
        # ConvertSidToStringSid prints authorities that fit in 32 bits in decimal.
        auth = str(self.authority) if self.authority <= _MAX_DWORD else f"0x{self.authority:012X}"
        return "-".join(["S", str(self.revision), auth, *map(str, self.subauthorities)])

    def __repr__(self) -> str:
        return f"Sid('{self}')"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sid):
            return self._key == other._key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key)


_SID_COMPONENT = r"(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_SID_RE = re.compile(rf"[sS]-({_SID_COMPONENT})-({_SID_COMPONENT})((?:-{_SID_COMPONENT})+)")


def _component(text: str) -> int:
    if text[:2] in ("0x", "0X"):
        return int(text, 16)
    digits = text.lstrip("0")
    if len(digits) > 20:
        # Past any SID field (and past Python's limit on decimal conversion): a value the
        # range checks refuse, ERROR_INVALID_SID as for any other too-large component.
        return 1 << 64
    return int(digits or "0")


def _parse_sid_text(text: str) -> tuple[int, int, list[int]]:
    m = _SID_RE.fullmatch(text)
    if m is None:
        alias = SDDL_ALIASES.get(text.upper()) if len(text) == 2 else None
        if alias is None:
            # Windows: "S-1-5" (no sub-authority) and "WDandmore" are ERROR_INVALID_SID.
            raise WinError(ERROR_INVALID_SID, detail=repr(text))
        return alias.revision, alias.authority, list(alias.subauthorities)
    revision = _component(m.group(1))
    authority = _component(m.group(2))
    subs = [_component(c) for c in m.group(3)[1:].split("-")]
    if (revision != SID_REVISION or authority > _MAX_AUTHORITY
            or len(subs) > SID_MAX_SUB_AUTHORITIES or any(s > _MAX_DWORD for s in subs)):
        raise WinError(ERROR_INVALID_SID, detail=repr(text))
    return revision, authority, subs


# ---------------------------------------------------------------------------------------
# Well-known SIDs: (SID, domain, name, SID_NAME_USE, SDDL alias). Names and domains are
# what LookupAccountSid returns on an English Windows Server; aliases from Microsoft's
# "SID Strings" page (sddl.h).
# ---------------------------------------------------------------------------------------

_NT = "NT AUTHORITY"
_BI = "BUILTIN"
_WKG = SidTypeWellKnownGroup

_WELL_KNOWN_ROWS: tuple[tuple[str, str, str, int, str | None], ...] = (
    ("S-1-0-0", "", "NULL SID", _WKG, None),
    ("S-1-1-0", "", "Everyone", _WKG, "WD"),
    ("S-1-2-0", "", "LOCAL", _WKG, None),
    ("S-1-2-1", "", "CONSOLE LOGON", _WKG, None),
    ("S-1-3-0", "", "CREATOR OWNER", _WKG, "CO"),
    ("S-1-3-1", "", "CREATOR GROUP", _WKG, "CG"),
    ("S-1-3-4", "", "OWNER RIGHTS", _WKG, "OW"),
    ("S-1-5-2", _NT, "NETWORK", _WKG, "NU"),
    ("S-1-5-3", _NT, "BATCH", _WKG, None),
    ("S-1-5-4", _NT, "INTERACTIVE", _WKG, "IU"),
    ("S-1-5-6", _NT, "SERVICE", _WKG, "SU"),
    ("S-1-5-7", _NT, "ANONYMOUS LOGON", _WKG, "AN"),
    ("S-1-5-9", _NT, "ENTERPRISE DOMAIN CONTROLLERS", _WKG, "ED"),
    ("S-1-5-10", _NT, "SELF", _WKG, "PS"),
    ("S-1-5-11", _NT, "Authenticated Users", _WKG, "AU"),
    ("S-1-5-12", _NT, "RESTRICTED", _WKG, "RC"),
    ("S-1-5-15", _NT, "This Organization", _WKG, None),
    ("S-1-5-17", _NT, "IUSR", _WKG, None),
    ("S-1-5-18", _NT, "SYSTEM", _WKG, "SY"),
    ("S-1-5-19", _NT, "LOCAL SERVICE", _WKG, "LS"),
    ("S-1-5-20", _NT, "NETWORK SERVICE", _WKG, "NS"),
    ("S-1-5-32", _BI, "BUILTIN", SidTypeDomain, None),
    ("S-1-5-32-544", _BI, "Administrators", SidTypeAlias, "BA"),
    ("S-1-5-32-545", _BI, "Users", SidTypeAlias, "BU"),
    ("S-1-5-32-546", _BI, "Guests", SidTypeAlias, "BG"),
    ("S-1-5-32-547", _BI, "Power Users", SidTypeAlias, "PU"),
    ("S-1-5-32-548", _BI, "Account Operators", SidTypeAlias, "AO"),
    ("S-1-5-32-549", _BI, "Server Operators", SidTypeAlias, "SO"),
    ("S-1-5-32-550", _BI, "Print Operators", SidTypeAlias, "PO"),
    ("S-1-5-32-551", _BI, "Backup Operators", SidTypeAlias, "BO"),
    ("S-1-5-32-552", _BI, "Replicator", SidTypeAlias, "RE"),
    ("S-1-5-32-554", _BI, "Pre-Windows 2000 Compatible Access", SidTypeAlias, "RU"),
    ("S-1-5-32-555", _BI, "Remote Desktop Users", SidTypeAlias, "RD"),
    ("S-1-5-32-556", _BI, "Network Configuration Operators", SidTypeAlias, "NO"),
    ("S-1-5-32-558", _BI, "Performance Monitor Users", SidTypeAlias, "MU"),
    ("S-1-5-32-559", _BI, "Performance Log Users", SidTypeAlias, "LU"),
    ("S-1-5-32-568", _BI, "IIS_IUSRS", SidTypeAlias, "IS"),
    ("S-1-5-32-569", _BI, "Cryptographic Operators", SidTypeAlias, "CY"),
    ("S-1-5-32-573", _BI, "Event Log Readers", SidTypeAlias, "ER"),
    ("S-1-5-64-10", _NT, "NTLM Authentication", _WKG, None),
    ("S-1-5-80-0", "NT SERVICE", "ALL SERVICES", _WKG, None),
    ("S-1-16-4096", "Mandatory Label", "Low Mandatory Level", SidTypeLabel, "LW"),
    ("S-1-16-8192", "Mandatory Label", "Medium Mandatory Level", SidTypeLabel, "ME"),
    ("S-1-16-12288", "Mandatory Label", "High Mandatory Level", SidTypeLabel, "HI"),
    ("S-1-16-16384", "Mandatory Label", "System Mandatory Level", SidTypeLabel, "SI"),
)


@dataclass(frozen=True)
class WellKnown:
    sid: Sid
    domain: str
    name: str
    use: int
    alias: str | None


WELL_KNOWN: dict[Sid, WellKnown] = {}
SDDL_ALIASES: dict[str, Sid] = {}
for _s, _d, _n, _u, _a in _WELL_KNOWN_ROWS:
    # Built without Sid(text) so the alias table exists before any alias lookup.
    _parts = [int(x) for x in _s.split("-")[2:]]
    _sid = Sid.from_parts(_parts[0], _parts[1:])
    WELL_KNOWN[_sid] = WellKnown(_sid, _d, _n, _u, _a)
    if _a:
        SDDL_ALIASES[_a] = _sid
ALIAS_OF: dict[Sid, str] = {sid: alias for alias, sid in SDDL_ALIASES.items()}
# Machine-relative SDDL aliases (the local Administrator and Guest accounts).
MACHINE_ALIASES = {"LA": DOMAIN_USER_RID_ADMIN, "LG": DOMAIN_USER_RID_GUEST}

SYSTEM = Sid("S-1-5-18")
LOCAL_SERVICE = Sid("S-1-5-19")
NETWORK_SERVICE = Sid("S-1-5-20")
ADMINISTRATORS = Sid("S-1-5-32-544")
USERS = Sid("S-1-5-32-545")
GUESTS = Sid("S-1-5-32-546")
IIS_IUSRS = Sid("S-1-5-32-568")
EVERYONE = Sid("S-1-1-0")
AUTHENTICATED_USERS = Sid("S-1-5-11")
CREATOR_OWNER = Sid("S-1-3-0")
CREATOR_GROUP = Sid("S-1-3-1")
OWNER_RIGHTS = Sid("S-1-3-4")
INTERACTIVE = Sid("S-1-5-4")
SERVICE = Sid("S-1-5-6")
BATCH = Sid("S-1-5-3")
IUSR = Sid("S-1-5-17")
LOCAL = Sid("S-1-2-0")
CONSOLE_LOGON = Sid("S-1-2-1")
THIS_ORGANIZATION = Sid("S-1-5-15")
HIGH_MANDATORY_LEVEL = Sid("S-1-16-12288")
SYSTEM_MANDATORY_LEVEL = Sid("S-1-16-16384")
ALL_APP_POOLS = Sid("S-1-5-82-0")

IIS_APPPOOL_DOMAIN = "IIS APPPOOL"
NT_SERVICE_DOMAIN = "NT SERVICE"

# Services installed on the simulated web server: NT SERVICE\<name> resolves only for an
# installed service, as on Windows.
INSTALLED_SERVICES = (
    "TrustedInstaller", "W3SVC", "WAS", "HTTP", "KeyIso", "CryptSvc", "EventLog",
    "WinHttpAutoProxySvc", "CertPropSvc", "SCardSvr",
)


def virtual_account_sid(base_rid: int, name: str) -> Sid:
    """S-1-5-<base>- + the SHA-1 of the name in UTF-16LE read as five LE DWORDs.

    IIS hashes the lower-cased pool name (base 82), the service controller the
    upper-cased service name (base 80).
    """
    folded = name.lower() if base_rid == SECURITY_APPPOOL_ID_BASE_RID else name.upper()
    digest = hashlib.sha1(folded.encode("utf-16-le")).digest()
    return Sid.from_parts(5, (base_rid, *struct.unpack("<5I", digest)))


def app_pool_sid(pool: str) -> Sid:
    """The SID of ``IIS APPPOOL\\<pool>``."""
    return virtual_account_sid(SECURITY_APPPOOL_ID_BASE_RID, pool)


def service_sid(service: str) -> Sid:
    """The SID of ``NT SERVICE\\<service>``."""
    return virtual_account_sid(SECURITY_SERVICE_ID_BASE_RID, service)


# ---------------------------------------------------------------------------------------
# Local accounts
# ---------------------------------------------------------------------------------------

# NetUserAdd rejects these characters in a user name.
_BAD_NAME_CHARS = set('"/\\[]:;|=,+*?<>@') | {chr(c) for c in range(32)}
_MAX_USER_NAME = 20


def _machine_sid(machine: Machine) -> Sid:
    return Sid(machine.machine_sid)


def _pools(machine: Machine) -> list[str]:
    return [r[0] for r in machine.db.execute("SELECT name FROM iis_app_pools")]


def create_local_user(machine: Machine, name: str, *,
                      groups: Iterable[str | Sid] = ("S-1-5-32-545",)) -> Sid:
    """Add a local user (NetUserAdd); its RID comes from meta 'next_rid' (from 1000).

    A name already used by a local account or a well-known/builtin name raises
    NERR_UserExists; an empty, over-long or ill-formed name ERROR_INVALID_PARAMETER.
    """
    if (not isinstance(name, str) or not name.strip() or len(name) > _MAX_USER_NAME
            or set(name) & _BAD_NAME_CHARS or name.endswith(".")):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"user name {name!r}")
    group_sids = [Sid(g) for g in groups]
    with machine.transaction() as db:
        taken = db.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone()
        if taken or _find_well_known_name(name) is not None \
                or name.lower() in (machine.computer_name.lower(), "none"):
            raise WinError(NERR_UserExists, detail=name)
        row = db.execute("SELECT value FROM meta WHERE key = 'next_rid'").fetchone()
        rid = int(row[0]) if row else FIRST_USER_RID
        sid = Sid(f"{machine.machine_sid}-{rid}")
        db.execute(
            "INSERT INTO accounts(name, sid, kind, groups) VALUES (?, ?, 'user', ?)",
            (name, str(sid), ",".join(str(g) for g in group_sids)),
        )
        db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('next_rid', ?)", (str(rid + 1),)
        )
    return sid


def _account_row(machine: Machine, *, name: str | None = None, sid: Sid | None = None):
    if name is not None:
        q = ("SELECT name, sid, kind, groups FROM accounts WHERE name = ?", (name,))
    else:
        q = ("SELECT name, sid, kind, groups FROM accounts WHERE sid = ?", (str(sid),))
    return machine.db.execute(*q).fetchone()


# ---------------------------------------------------------------------------------------
# Name <-> SID
# ---------------------------------------------------------------------------------------


def _find_well_known_name(name: str, domain: str | None = None) -> WellKnown | None:
    lname = name.lower()
    for wk in WELL_KNOWN.values():
        if wk.name.lower() != lname:
            continue
        if domain is None or wk.domain.lower() == domain.lower():
            return wk
    return None


def lookup_sid(machine: Machine, sid: Sid | str) -> tuple[str, str, int]:
    """(account name, domain, SID_NAME_USE) for ``sid``; ERROR_NONE_MAPPED if unknown."""
    sid = Sid(sid)
    wk = WELL_KNOWN.get(sid)
    if wk is not None:
        return wk.name, wk.domain, wk.use
    computer = machine.computer_name
    msid = _machine_sid(machine)
    if sid == msid:
        return computer, computer, SidTypeDomain
    if sid.domain == msid:
        row = _account_row(machine, sid=sid)
        if row is not None:
            return row[0], computer, SidTypeUser if row[2] == "user" else SidTypeAlias
        if sid.rid == DOMAIN_GROUP_RID_USERS:
            return "None", computer, SidTypeGroup
    subs = sid.subauthorities
    if sid.authority == 5 and len(subs) == 6:
        if subs[0] == SECURITY_APPPOOL_ID_BASE_RID:
            for pool in _pools(machine):
                if app_pool_sid(pool) == sid:
                    return pool, IIS_APPPOOL_DOMAIN, SidTypeWellKnownGroup
        if subs[0] == SECURITY_SERVICE_ID_BASE_RID:
            for svc in INSTALLED_SERVICES:
                if service_sid(svc) == sid:
                    return svc, NT_SERVICE_DOMAIN, SidTypeWellKnownGroup
    raise WinError(ERROR_NONE_MAPPED, detail=str(sid))


def lookup_name(machine: Machine, name: str) -> tuple[Sid, str, str, int]:
    """(SID, domain, account name, SID_NAME_USE) for a name as LookupAccountName takes it.

    Accepts ``name`` or ``DOMAIN\\name`` (case-insensitive), where DOMAIN is NT AUTHORITY,
    BUILTIN, the computer name, IIS APPPOOL or NT SERVICE. Unknown -> ERROR_NONE_MAPPED.
    """
    if not isinstance(name, str) or not name.strip():
        raise WinError(ERROR_INVALID_PARAMETER, detail=repr(name))
    text = name.strip()
    domain, _, account = text.rpartition("\\")
    domain = domain or None
    computer = machine.computer_name
    ldomain = domain.lower() if domain else None
    if ldomain == IIS_APPPOOL_DOMAIN.lower():
        for pool in _pools(machine):
            if pool.lower() == account.lower():
                return app_pool_sid(pool), IIS_APPPOOL_DOMAIN, pool, SidTypeWellKnownGroup
        raise WinError(ERROR_NONE_MAPPED, detail=text)
    if ldomain == NT_SERVICE_DOMAIN.lower():
        for svc in INSTALLED_SERVICES:
            if svc.lower() == account.lower():
                return service_sid(svc), NT_SERVICE_DOMAIN, svc, SidTypeWellKnownGroup
        wk = _find_well_known_name(account, NT_SERVICE_DOMAIN)
        if wk is not None:
            return wk.sid, wk.domain, wk.name, wk.use
        raise WinError(ERROR_NONE_MAPPED, detail=text)
    if ldomain in (None, computer.lower(), "."):
        row = _account_row(machine, name=account)
        if row is not None:
            use = SidTypeUser if row[2] == "user" else SidTypeAlias
            return Sid(row[1]), computer, row[0], use
        if account.lower() == "none":
            return Sid(f"{machine.machine_sid}-{DOMAIN_GROUP_RID_USERS}"), computer, "None", \
                SidTypeGroup
        if account.lower() == computer.lower() and domain is None:
            return _machine_sid(machine), computer, computer, SidTypeDomain
    if ldomain not in (computer.lower(), "."):
        wk = _find_well_known_name(account, domain)
        if wk is not None:
            return wk.sid, wk.domain, wk.name, wk.use
    raise WinError(ERROR_NONE_MAPPED, detail=text)


def account_display(machine: Machine, sid: Sid | str) -> str:
    """How icacls and the Security tab print a SID: ``DOMAIN\\name``, a bare name for
    domain-less well-known SIDs (``Everyone``), or the S-1-... string when unmapped."""
    sid = Sid(sid)
    try:
        name, domain, use = lookup_sid(machine, sid)
    except WinError:
        return str(sid)
    if use == SidTypeDomain or not domain:
        return name
    return f"{domain}\\{name}"


def sid_for_account(machine: Machine, text: str) -> Sid:
    """Any account spelling a Windows tool accepts -> SID: names (``NetworkService`` too),
    ``*S-1-...`` (icacls), ``S-1-...`` strings and SDDL aliases."""
    text = (text or "").strip()
    if text.startswith("*"):
        return Sid(text[1:])
    if text[:2].upper() == "S-":
        return Sid(text)
    canon = _SERVICE_SPELLINGS.get(text.lower())
    if canon is not None:
        return canon
    try:
        return lookup_name(machine, text)[0]
    except WinError:
        if len(text) == 2:
            upper = text.upper()
            if upper in SDDL_ALIASES:
                return SDDL_ALIASES[upper]
            if upper in MACHINE_ALIASES:
                return Sid(f"{machine.machine_sid}-{MACHINE_ALIASES[upper]}")
        raise


# Service-account spellings the service controller, IIS and WinHttpCertCfg accept.
_SERVICE_SPELLINGS: dict[str, Sid] = {}
for _names, _sid in (
    (("localsystem", "system", "nt authority\\system", "nt authority\\localsystem"), SYSTEM),
    (("localservice", "local service", "nt authority\\local service",
      "nt authority\\localservice"), LOCAL_SERVICE),
    (("networkservice", "network service", "nt authority\\network service",
      "nt authority\\networkservice"), NETWORK_SERVICE),
):
    for _n in _names:
        _SERVICE_SPELLINGS[_n] = _sid


# ---------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------

# Token default DACLs as (SID, access mask) with generic rights; a new object that
# inherits nothing gets these (mapped through the object's generic mapping).
_GENERIC_ALL = 0x10000000
_GENERIC_READ_EXECUTE_RC = 0x80000000 | 0x20000000 | 0x00020000


@dataclass(frozen=True)
class Token:
    """An access token: who the caller is for access checks and new objects."""

    user: Sid
    groups: frozenset
    name: str
    profile_dir: str
    owner: Sid
    primary_group: Sid
    default_dacl: tuple  # ((Sid, mask), ...)
    kind: str  # 'system' | 'service' | 'user' | 'apppool' | 'virtual'

    @property
    def sids(self) -> frozenset:
        """The user SID and every group SID (what ACEs are matched against)."""
        return self.groups | {self.user}

    @property
    def is_admin(self) -> bool:
        return ADMINISTRATORS in self.groups

    def has_sid(self, sid: Sid | str) -> bool:
        return Sid(sid) in self.sids

    def __repr__(self) -> str:
        return f"<Token {self.name} {self.user}>"


def _service_profile_root(machine: Machine) -> str:
    # Windows Server 2003 keeps service profiles beside user profiles; Vista and later
    # under %SystemRoot%\ServiceProfiles.
    if machine.os.key == "2003":
        return machine.os.users_root
    return r"C:\Windows\ServiceProfiles"


_SERVICE_GROUPS = frozenset({EVERYONE, USERS, SERVICE, CONSOLE_LOGON, AUTHENTICATED_USERS,
                             THIS_ORGANIZATION, LOCAL})
_USER_GROUPS = frozenset({EVERYONE, INTERACTIVE, CONSOLE_LOGON, AUTHENTICATED_USERS,
                          THIS_ORGANIZATION, LOCAL})


def system_token(machine: Machine) -> Token:
    """NT AUTHORITY\\SYSTEM (lsass, services): Administrators is in its token."""
    return Token(
        user=SYSTEM,
        groups=frozenset({ADMINISTRATORS, EVERYONE, AUTHENTICATED_USERS,
                          SYSTEM_MANDATORY_LEVEL}),
        name="NT AUTHORITY\\SYSTEM",
        profile_dir=r"C:\Windows\System32\config\systemprofile",
        owner=SYSTEM,
        primary_group=SYSTEM,
        default_dacl=((SYSTEM, _GENERIC_ALL), (ADMINISTRATORS, _GENERIC_READ_EXECUTE_RC)),
        kind="system",
    )


def _service_token(machine: Machine, sid: Sid, account: str, profile: str) -> Token:
    return Token(
        user=sid, groups=_SERVICE_GROUPS, name=f"NT AUTHORITY\\{account}",
        profile_dir=f"{_service_profile_root(machine)}\\{profile}", owner=sid,
        primary_group=sid, default_dacl=((sid, _GENERIC_ALL), (SYSTEM, _GENERIC_ALL)),
        kind="service",
    )


def _virtual_token(machine: Machine, sid: Sid, domain: str, name: str) -> Token:
    groups = set(_SERVICE_GROUPS)
    kind = "virtual"
    if domain == IIS_APPPOOL_DOMAIN:
        # whoami /all inside a pool: IIS_IUSRS and S-1-5-82-0 join the service groups.
        groups |= {IIS_IUSRS, ALL_APP_POOLS}
        kind = "apppool"
    return Token(
        user=sid, groups=frozenset(groups), name=f"{domain}\\{name}",
        profile_dir=f"{machine.os.users_root}\\{name}", owner=sid, primary_group=sid,
        default_dacl=((sid, _GENERIC_ALL), (SYSTEM, _GENERIC_ALL)), kind=kind,
    )


def _local_user_token(machine: Machine, row) -> Token:
    name, sid_text, _kind, groups_text = row
    sid = Sid(sid_text)
    groups = set(_USER_GROUPS)
    groups.update(Sid(g) for g in groups_text.split(",") if g)
    admin = ADMINISTRATORS in groups
    if admin:
        groups.add(HIGH_MANDATORY_LEVEL)
    # An elevated administrator's objects are owned by BUILTIN\Administrators and its
    # default DACL names the group, not the user.
    owner = ADMINISTRATORS if admin else sid
    return Token(
        user=sid, groups=frozenset(groups), name=f"{machine.computer_name}\\{name}",
        profile_dir=f"{machine.os.users_root}\\{name}", owner=owner,
        primary_group=Sid(f"{machine.machine_sid}-{DOMAIN_GROUP_RID_USERS}"),
        default_dacl=((owner, _GENERIC_ALL), (SYSTEM, _GENERIC_ALL)), kind="user",
    )


def resolve_token(machine: Machine, spec: str | Sid | Token | None) -> Token:
    """The token for ``spec``: None (the elevated local Administrator), a Token, a Sid, or
    any spelling Windows accepts for an identity to run as.

    Unknown names raise ERROR_NONE_MAPPED. Groups and aliases (BUILTIN\\Administrators,
    Everyone) are not identities one can log on as: LogonUser fails with
    ERROR_LOGON_FAILURE, and so does this.
    """
    if spec is None:
        spec = f"{machine.machine_sid}-{DOMAIN_USER_RID_ADMIN}"
    if isinstance(spec, Token):
        return spec
    if isinstance(spec, Sid):
        sid = spec
    elif isinstance(spec, str):
        sid = sid_for_account(machine, spec)
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"identity {spec!r}")
    if sid == SYSTEM:
        return system_token(machine)
    if sid == LOCAL_SERVICE:
        return _service_token(machine, sid, "LOCAL SERVICE", "LocalService")
    if sid == NETWORK_SERVICE:
        return _service_token(machine, sid, "NETWORK SERVICE", "NetworkService")
    name, domain, use = lookup_sid(machine, sid)
    if domain in (IIS_APPPOOL_DOMAIN, NT_SERVICE_DOMAIN) and use == SidTypeWellKnownGroup \
            and len(sid.subauthorities) == 6:
        return _virtual_token(machine, sid, domain, name)
    if use == SidTypeUser:
        return _local_user_token(machine, _account_row(machine, sid=sid))
    raise WinError(ERROR_LOGON_FAILURE, detail=f"{account_display(machine, sid)} is not a user")


# ---------------------------------------------------------------------------------------
# Facade
# ---------------------------------------------------------------------------------------


__all__ = [
    "SID_REVISION", "SID_MAX_SUB_AUTHORITIES", "Sid", "WellKnown", "WELL_KNOWN",
    "SDDL_ALIASES", "virtual_account_sid", "app_pool_sid", "service_sid", "create_local_user",
    "lookup_sid", "lookup_name", "account_display", "sid_for_account", "Token", "system_token",
    "resolve_token",
]

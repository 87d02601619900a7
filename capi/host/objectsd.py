"""Security descriptors of machine configuration that is not a key file: the IIS
configuration files, registry keys (provider and smart-card registrations, http.sys SSL
bindings) and event-log channels — and the access checks every change to them makes, as
the calling identity, with the same AccessCheck that guards key files
(:meth:`capi.host.security.SecurityDescriptor.access_check`).

Where the descriptors live:

- **Files** keep the key-file scheme (the ``path_sd`` table) (``c:\\windows\\system32\\inetsrv\\config\\...``):
  the IIS configuration folder, ``applicationHost.config`` and ``redirection.config`` are
  real files of the simulated drive, so ``winpki icacls`` shows and edits their ACLs.
- **Registry keys** are keys of the machine registry (``capi.host.registry``, which keeps
  each key's descriptor and seeds the hives with Windows' defaults), named here as
  ``SetNamedSecurityInfo(SE_REGISTRY_KEY)`` names them: ``MACHINE\\SOFTWARE\\...`` for
  ``HKLM\\SOFTWARE\\...`` (``HKLM\\`` is accepted). A provider registration creates its
  key there, so ``winpki reg query`` lists it; a key not created yet gets what it would
  inherit from its nearest existing ancestor.
- **Event-log channels** (``path_sd`` rows) are the ``ChannelAccess`` value of
  ``MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WINEVT\\Channels\\<channel>``;
  the row is keyed by that value's path (``...\\Channels\\System\\ChannelAccess``). A
  channel never inherits from the registry: no row means its built-in default.

No object is ever unprotected: a machine directory created before these rows existed gets
them when it is opened (:func:`upgrade`), and until then every lookup answers the
Windows default — never "no descriptor, so allowed".

Rights checked (winnt.h / winevt.h):

============================================  ===========================================
change                                        right, object
============================================  ===========================================
appcmd add/set, IIS Manager bindings          FILE_GENERIC_READ on redirection.config and
                                              applicationHost.config, then FILE_WRITE_DATA
                                              on applicationHost.config
register a provider                           KEY_CREATE_SUB_KEY on its parent key
unregister a provider                         DELETE on its key
pull or insert a token                        KEY_SET_VALUE on the smart-card database key
http.sys SSL binding add / replace / delete   KEY_SET_VALUE | KEY_CREATE_SUB_KEY on
                                              SslBindingInfo (delete: DELETE on the
                                              binding's key)
clear a log                                   EVT_CLEAR_ACCESS (0x4) on the channel
============================================  ===========================================

A refusal is ERROR_ACCESS_DENIED (HRESULT 0x80070005), raised before anything changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capi.errors import ERROR_ACCESS_DENIED, WinError
from capi.host.accounts import Token, service_sid, system_token

# The registry access rights (winnt.h) and the key generic mapping are the registry's,
# re-exported here for the callers of check_registry_access.
from capi.host.registry import (
    KEY_CREATE_LINK,
    KEY_CREATE_SUB_KEY,
    KEY_ENUMERATE_SUB_KEYS,
    KEY_GENERIC_MAPPING,
    KEY_NOTIFY,
    KEY_QUERY_VALUE,
    KEY_SET_VALUE,
)
from capi.host.security import (
    FILE_GENERIC_READ,
    FILE_WRITE_DATA,
    GENERIC_MAPPING,
    READ_CONTROL,
    STANDARD_RIGHTS_REQUIRED,
    SecurityDescriptor,
    get_file_sd,
)

if TYPE_CHECKING:
    from capi.host.machine import Machine

__all__ = [
    "KEY_QUERY_VALUE", "KEY_SET_VALUE", "KEY_CREATE_SUB_KEY", "KEY_ENUMERATE_SUB_KEYS",
    "KEY_NOTIFY", "KEY_CREATE_LINK", "KEY_GENERIC_MAPPING", "EVT_READ_ACCESS",
    "EVT_WRITE_ACCESS", "EVT_CLEAR_ACCESS", "EVT_ALL_ACCESS", "CHANNEL_GENERIC_MAPPING",
    "IIS_CONFIG_DIR", "APPLICATION_HOST_CONFIG", "REDIRECTION_CONFIG", "IIS_CONFIG_DIR_SDDL",
    "CHANNEL_ACCESS", "CSP_PROVIDERS_KEY",
    "KSP_PROVIDERS_KEY", "SMART_CARDS_KEY", "SSL_BINDING_KEY", "channel_access_key",
    "registry_name", "provision", "upgrade", "get_registry_sd", "check_registry_access",
    "create_registry_key_sd", "delete_registry_key_sd", "get_channel_sd",
    "check_channel_access", "check_config_read", "check_config_write",
]

# Event-log channel rights (winevt.h EVT_READ_ACCESS...; "Event Logging Security":
# ELF_LOGFILE_READ 0x1, ELF_LOGFILE_WRITE 0x2, ELF_LOGFILE_CLEAR 0x4 — ClearEventLog
# needs the clear right). The generic mapping is this module's: the default channel
# descriptors grant only specific rights.
EVT_READ_ACCESS = 0x1
EVT_WRITE_ACCESS = 0x2
EVT_CLEAR_ACCESS = 0x4
EVT_ALL_ACCESS = 0x7
CHANNEL_GENERIC_MAPPING = GENERIC_MAPPING(READ_CONTROL | EVT_READ_ACCESS,
                                          READ_CONTROL | EVT_WRITE_ACCESS, READ_CONTROL,
                                          STANDARD_RIGHTS_REQUIRED | EVT_ALL_ACCESS)

# --------------------------------------------------------------------------------------
# The objects and their Windows defaults
# --------------------------------------------------------------------------------------

IIS_CONFIG_DIR = r"C:\Windows\System32\inetsrv\config"
APPLICATION_HOST_CONFIG = IIS_CONFIG_DIR + r"\applicationHost.config"
REDIRECTION_CONFIG = IIS_CONFIG_DIR + r"\redirection.config"

_TRUSTED_INSTALLER = str(service_sid("TrustedInstaller"))
# %windir%\system32\inetsrv\config: SYSTEM, Administrators and TrustedInstaller full
# control, nobody else — not Users, not IIS_IUSRS, not the pools. "You receive an error
# when you use the Web Deployment Tool (Web Deploy) as a non-administrative user"
# (Microsoft KB 2023852): "By default, IIS requires administrative privileges to make
# configuration changes to the ApplicationHost.config file", and a non-administrator
# must be granted Read on the config folder and Modify on applicationHost.config; a
# non-elevated appcmd already fails reading redirection.config ("Cannot read
# configuration file due to insufficient permissions", microsoft/azure-pipelines-tasks
# issue 6029). The exact inheritance flags are this project's.
IIS_CONFIG_DIR_SDDL = (f"O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
                       f"(A;OICI;FA;;;{_TRUSTED_INSTALLER})")

CSP_PROVIDERS_KEY = r"MACHINE\SOFTWARE\Microsoft\Cryptography\Defaults\Provider"
KSP_PROVIDERS_KEY = r"MACHINE\SYSTEM\CurrentControlSet\Control\Cryptography\Providers"
SMART_CARDS_KEY = r"MACHINE\SOFTWARE\Microsoft\Cryptography\Calais\SmartCards"
SSL_BINDING_KEY = r"MACHINE\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo"
_CHANNELS_KEY = r"MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\WINEVT\Channels"

# Channel access as `wevtutil gl <log>` prints it on Windows 10 / Server 2016 and later:
# - System: Microsoft docs, "Troubleshoot issues with the Task Scheduler service not
#   starting" ("The default values should look like: ... channelAccess: ...").
# - Security: `wevtutil gl Security | findstr channelAccess` as quoted in public WEF
#   set-up notes; reading and clearing it is SYSTEM's and Administrators' (and reading
#   Event Log Readers').
# - Application: `wevtutil get-log` of the Application log (and of a new custom log,
#   which gets the same) as quoted in public notes.
# SYSTEM 0xf0007, Administrators 0x7 (read, write, clear); INTERACTIVE and SERVICE at
# most read and write: no standard user, service account or pool identity may clear.
CHANNEL_ACCESS = {
    "System": ("O:BAG:SYD:(A;;0xf0007;;;SY)(A;;0x7;;;BA)(A;;0x3;;;BO)(A;;0x5;;;SO)"
               "(A;;0x1;;;IU)(A;;0x3;;;SU)(A;;0x1;;;S-1-5-3)(A;;0x2;;;S-1-5-33)"
               "(A;;0x1;;;S-1-5-32-573)"),
    "Application": ("O:BAG:SYD:(A;;0xf0007;;;SY)(A;;0x7;;;BA)(A;;0x7;;;SO)(A;;0x3;;;IU)"
                    "(A;;0x3;;;SU)(A;;0x3;;;S-1-5-3)(A;;0x3;;;S-1-5-33)"
                    "(A;;0x1;;;S-1-5-32-573)"),
    "Security": "O:BAG:SYD:(A;;0xf0005;;;SY)(A;;0x5;;;BA)(A;;0x1;;;S-1-5-32-573)",
}



def registry_name(key: str) -> str:
    r"""``HKLM\X`` / ``HKEY_LOCAL_MACHINE\X`` / ``MACHINE\X`` -> ``MACHINE\X`` (no
    trailing backslash)."""
    text = key.strip().rstrip("\\")
    head, sep, rest = text.partition("\\")
    if head.upper() in ("HKLM", "HKEY_LOCAL_MACHINE", "MACHINE"):
        return "MACHINE" + sep + rest
    return text


def _key(name: str) -> str:
    return name.lower()


def channel_access_key(channel: str) -> str:
    """The ``path_sd`` key of a channel's ChannelAccess value."""
    return _key(f"{_CHANNELS_KEY}\\{channel}\\ChannelAccess")


def _canonical_channel(channel: str) -> str:
    for name in CHANNEL_ACCESS:
        if name.lower() == str(channel).lower():
            return name
    return str(channel)


# --------------------------------------------------------------------------------------
# Provisioning
# --------------------------------------------------------------------------------------

_CONFIG_SKELETON = {
    APPLICATION_HOST_CONFIG: "<configuration>\n    <system.applicationHost>\n"
                             "    </system.applicationHost>\n</configuration>\n",
    REDIRECTION_CONFIG: "<configuration>\n    <configSections>\n"
                        "        <section name=\"configurationRedirection\" />\n"
                        "    </configSections>\n</configuration>\n",
}


def _rows(machine: Machine) -> list[tuple[str, str]]:
    """(path_sd key, SDDL) of every object this module provisions."""
    from capi.host.paths import path_key

    rows = [(path_key(IIS_CONFIG_DIR), IIS_CONFIG_DIR_SDDL)]
    # The files IIS setup writes, created by SYSTEM below the protected folder.
    folder = SecurityDescriptor.from_sddl(IIS_CONFIG_DIR_SDDL, machine)
    for path in _CONFIG_SKELETON:
        sd = SecurityDescriptor.for_new_object(folder, system_token(machine), is_container=False)
        rows.append((path_key(path), sd.to_sddl()))
    rows += [(channel_access_key(name), sddl) for name, sddl in CHANNEL_ACCESS.items()]
    return rows


def provision(machine: Machine, db) -> None:
    """Create the IIS configuration files and store every default descriptor that is
    missing (existing rows — an administrator's changes — are kept)."""
    machine.host_path(IIS_CONFIG_DIR).mkdir(parents=True, exist_ok=True)
    for path, text in _CONFIG_SKELETON.items():
        host = machine.host_path(path)
        if not host.exists():
            host.write_text(text, encoding="utf-8")
    db.executemany("INSERT OR IGNORE INTO path_sd(path, sddl) VALUES (?, ?)", _rows(machine))


def upgrade(machine: Machine) -> None:
    """Give a machine created before these descriptors existed its defaults (called when
    the machine is opened; a no-op once done)."""
    rows = _rows(machine)
    keys = [k for k, _ in rows]
    marks = ",".join("?" * len(keys))
    have = machine.db.execute(f"SELECT COUNT(*) FROM path_sd WHERE path IN ({marks})",
                              keys).fetchone()[0]
    files_there = all(machine.host_path(p).exists() for p in _CONFIG_SKELETON)
    if have == len(keys) and files_there:
        return
    with machine.transaction() as db:
        provision(machine, db)


# --------------------------------------------------------------------------------------
# Lookups and checks
# --------------------------------------------------------------------------------------


def _stored(machine: Machine, key: str) -> SecurityDescriptor | None:
    row = machine.db.execute("SELECT sddl FROM path_sd WHERE path = ?", (key,)).fetchone()
    return SecurityDescriptor.from_sddl(row[0], machine) if row else None


def _registry_path(key: str) -> str:
    """``MACHINE\\X`` (the security-call name) -> the registry module's
    ``HKEY_LOCAL_MACHINE\\X``."""
    name = registry_name(key)
    return "HKEY_LOCAL_MACHINE" + name[len("MACHINE"):] if name.upper().startswith("MACHINE") else name


def get_registry_sd(machine: Machine, key: str) -> SecurityDescriptor:
    """The descriptor of a registry key of the machine registry (``capi.host.registry``):
    its own, or — for a key not created yet — what it would inherit from its nearest
    existing ancestor."""
    from capi.host import registry

    path = _registry_path(key)
    system = system_token(machine)
    missing = 0
    while not registry.key_exists(machine, path, system):
        parent = path.rpartition("\\")[0]
        if not parent:
            raise WinError(ERROR_ACCESS_DENIED, detail=f"{key} names no hive")
        path, missing = parent, missing + 1
    sd = registry.key_sd(machine, path)
    for _ in range(missing):
        sd = SecurityDescriptor.for_new_object(sd, system, is_container=True,
                                               mapping=KEY_GENERIC_MAPPING)
    return sd


def _denied(what: str, token: Token, desired: int) -> WinError:
    return WinError(ERROR_ACCESS_DENIED, detail=f"{token.name} may not 0x{desired:x} {what}")


def check_registry_access(machine: Machine, key: str, token: Token, desired: int) -> int:
    """AccessCheck on a registry key as ``token``: the granted mask, or
    ERROR_ACCESS_DENIED."""
    sd = get_registry_sd(machine, key)
    if not sd.allows(token, desired, KEY_GENERIC_MAPPING):
        raise _denied(registry_name(key), token, desired)
    return desired


def create_registry_key_sd(machine: Machine, key: str, token: Token) -> SecurityDescriptor:
    """Create the key in the machine registry as ``token`` would (RegCreateKeyEx: the
    parent's inheritable ACEs, owned by the creator) and return its descriptor. The
    caller has checked KEY_CREATE_SUB_KEY on the parent."""
    from capi.host import registry

    path = _registry_path(key)
    registry.create_key(machine, path, token)[0].close()
    return registry.key_sd(machine, path)


def delete_registry_key_sd(machine: Machine, key: str) -> None:
    """Delete the key (and its subkeys) from the machine registry, if it is there."""
    from capi.host import registry

    path = _registry_path(key)
    system = system_token(machine)
    if registry.key_exists(machine, path, system):
        registry.delete_key(machine, path, system, tree=True)


def get_channel_sd(machine: Machine, channel: str) -> SecurityDescriptor:
    """A channel's access descriptor (its ChannelAccess); the Windows default when the
    machine has no row. A channel this module does not know gets the Application log's
    (what a new custom log gets)."""
    name = _canonical_channel(channel)
    sd = _stored(machine, channel_access_key(name))
    if sd is not None:
        return sd
    return SecurityDescriptor.from_sddl(CHANNEL_ACCESS.get(name, CHANNEL_ACCESS["Application"]),
                                        machine)


def check_channel_access(machine: Machine, channel: str, token: Token, desired: int) -> int:
    """AccessCheck on an event-log channel as ``token``; ERROR_ACCESS_DENIED."""
    if not get_channel_sd(machine, channel).allows(token, desired, CHANNEL_GENERIC_MAPPING):
        raise _denied(f"channel {channel}", token, desired)
    return desired


def _file_check(machine: Machine, path: str, token: Token, desired: int) -> None:
    from capi.host.paths import path_key

    if _stored(machine, path_key(IIS_CONFIG_DIR)) is None \
            or not machine.host_path(path).exists():
        upgrade(machine)  # a machine made before the IIS configuration had its ACLs
    if not get_file_sd(machine, path).allows(token, desired):
        raise _denied(path, token, desired)


def check_config_read(machine: Machine, token: Token) -> None:
    """What the IIS configuration system needs to read the configuration:
    redirection.config first, then applicationHost.config; ERROR_ACCESS_DENIED."""
    _file_check(machine, REDIRECTION_CONFIG, token, FILE_GENERIC_READ)
    _file_check(machine, APPLICATION_HOST_CONFIG, token, FILE_GENERIC_READ)


def check_config_write(machine: Machine, token: Token) -> None:
    """What committing a change to applicationHost.config needs (read it, then write
    it); ERROR_ACCESS_DENIED."""
    check_config_read(machine, token)
    _file_check(machine, APPLICATION_HOST_CONFIG, token, FILE_WRITE_DATA)


"""What a new machine holds: Windows' folders with their default ACLs, the built-in local
accounts, IIS as shipped (Default Web Site on port 80, DefaultAppPool), and the security
descriptors of the machine's configuration (IIS configuration files, registry keys,
event-log channels: capi.host.objectsd).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from capi.host.paths import path_key

if TYPE_CHECKING:
    from capi.host.machine import Machine

# Default security descriptors (SDDL), from Windows' own defaults:
# - MachineKeys and Crypto\Keys (KB278381): Everyone gets the special rights List
#   Folder/Read Data, Read Attributes, Read Extended Attributes, Create Files/Write Data,
#   Create Folders/Append Data, Write Attributes, Write Extended Attributes and Read
#   Permissions (0x12019F, icacls "(R,W)"), Administrators Full Control, both on "this
#   folder only" (no inheritance flags), and the DACL is protected.
# - The system drive: SYSTEM and Administrators full control, Users read & execute,
#   CREATOR OWNER full control on children, all inheritable.
CRYPTO_KEY_FOLDER_SDDL = "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)"
SYSTEM_DRIVE_SDDL = (
    "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICIIO;GA;;;CO)"
)
PROFILE_SDDL = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

# Built-in local accounts: (name, RID, kind, local groups by SID).
LOCAL_ACCOUNTS = (
    ("Administrator", 500, "user", ("S-1-5-32-544", "S-1-5-32-545")),
    ("Guest", 501, "user", ("S-1-5-32-546",)),
)


def folders(machine: Machine) -> list[tuple[str, str | None]]:
    """(Windows folder, SDDL or None to inherit) created on a new machine."""
    pd = machine.program_data
    return [
        ("C:\\", SYSTEM_DRIVE_SDDL),
        (pd, None),
        (pd + r"\Microsoft\Crypto\RSA", None),
        (machine.machine_keys_dir, CRYPTO_KEY_FOLDER_SDDL),
        (machine.cng_machine_keys_dir, CRYPTO_KEY_FOLDER_SDDL),
        (r"C:\Windows\System32", None),
        (r"C:\inetpub\wwwroot", None),
        (machine.os.users_root, None),
    ]


# The <title> of iisstart.htm as each IIS version ships it: "IIS7" on IIS 7.0 and 7.5,
# "Microsoft Internet Information Services 8" on 8.0 and 8.5, "IIS Windows Server" on 10.
_IISSTART_TITLES = {"6.0": "Under Construction", "7.0": "IIS7", "7.5": "IIS7",
                    "8.0": "Microsoft Internet Information Services 8",
                    "8.5": "Microsoft Internet Information Services 8",
                    "10.0": "IIS Windows Server"}


def iisstart_page(iis_version: str) -> bytes:
    """iisstart.htm (the welcome page's markup, its title per IIS version; the images it
    links to are not simulated)."""
    title = _IISSTART_TITLES.get(iis_version, "IIS Windows Server")
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
        '<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />\r\n'
        f"<title>{title}</title>\r\n</head>\r\n<body>\r\n"
        '<div id="container"><h1>Internet Information Services</h1></div>\r\n'
        "</body>\r\n</html>").encode("ascii")


def provision(machine: Machine, db: sqlite3.Connection) -> None:
    for winpath, sddl in folders(machine):
        machine.host_path(winpath).mkdir(parents=True, exist_ok=True)
        if sddl is not None:
            db.execute(
                "INSERT OR REPLACE INTO path_sd(path, sddl) VALUES (?, ?)",
                (path_key(winpath), sddl),
            )
    # IIS's welcome page, the Default Web Site's default document.
    machine.host_path(r"C:\inetpub\wwwroot\iisstart.htm").write_bytes(
        iisstart_page(machine.os.iis_version))
    for name, rid, kind, groups in LOCAL_ACCOUNTS:
        db.execute(
            "INSERT INTO accounts(name, sid, kind, groups) VALUES (?, ?, ?, ?)",
            (name, f"{machine.machine_sid}-{rid}", kind, ",".join(groups)),
        )
    db.execute(
        "INSERT INTO meta(key, value) VALUES ('next_rid', '1000')"
    )
    from capi.host import registry

    registry.provision(machine, db)
    db.execute(
        "INSERT INTO iis_app_pools(name, identity_type) VALUES ('DefaultAppPool', ?)",
        (machine.os.default_app_pool_identity,),
    )
    db.execute(
        "INSERT INTO iis_sites(id, name, app_pool, physical_path) "
        "VALUES (1, 'Default Web Site', 'DefaultAppPool', '%SystemDrive%\\inetpub\\wwwroot')"
    )
    db.execute(
        "INSERT INTO iis_bindings(site_id, protocol, binding_info) VALUES (1, 'http', '*:80:')"
    )
    # The IIS configuration files, registry keys and event-log channels with the owner
    # and DACL Windows gives them (capi.host.objectsd).
    from capi.host import objectsd

    objectsd.provision(machine, db)

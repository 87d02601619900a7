"""The two things providers need from identities and security descriptors.

``token_for`` gives the current identity's token (capi.machine.current_token); the
``*_sd`` helpers and ``allowed`` read and write a key file's security descriptor in
``path_sd`` through capi.security — the one copy ``winpki icacls`` changes too.
"""

from __future__ import annotations

from capi.host.paths import path_key


def token_for(machine):
    """The access token of the current identity on ``machine``."""
    from capi.host.context import current_token

    return current_token(machine)


def sd_from_sddl(sddl: str):
    from capi.host.security import SecurityDescriptor

    return SecurityDescriptor.from_sddl(sddl)


def get_sd(machine, winpath: str):
    from capi.host.security import get_file_sd

    return get_file_sd(machine, winpath)


def set_sd(machine, winpath: str, sd) -> None:
    from capi.host.security import set_file_sd

    set_file_sd(machine, winpath, sd)


def delete_sd(machine, winpath: str) -> None:
    from capi.host.security import delete_file_sd

    delete_file_sd(machine, winpath)


def has_sd(machine, winpath: str) -> bool:
    row = machine.db.execute("SELECT 1 FROM path_sd WHERE path = ?", (path_key(winpath),)).fetchone()
    return row is not None


def allowed(machine, winpath: str, token, desired: int) -> bool:
    """Whether ``token`` is granted ``desired`` on the file or folder ``winpath``."""
    from capi.host.security import check_file_access

    return bool(check_file_access(machine, winpath, token, desired))

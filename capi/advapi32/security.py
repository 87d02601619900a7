"""advapi32's account and security-descriptor functions: LookupAccountName/Sid,
ConvertStringSidToSid/ConvertSidToStringSid, the SDDL conversions and AccessCheck —
the Win32 face of ``capi.host.accounts`` and ``capi.host.security``."""

from __future__ import annotations

from capi.constants import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
    SDDL_REVISION_1,
)
from capi.errors import (
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_SID,
    ERROR_UNKNOWN_REVISION,
    RPC_S_SERVER_UNAVAILABLE,
    WinError,
    win32_failure,
)
from capi.host.accounts import Sid, Token, lookup_name, lookup_sid
from capi.host.context import current_machine
from capi.host.machine import Machine
from capi.host.security import FILE_GENERIC_MAPPING, GENERIC_MAPPING, SecurityDescriptor


def _check_system_name(machine: Machine, system_name: str | None) -> None:
    if system_name in (None, ""):
        return
    name = system_name.lstrip("\\")
    if name.lower() not in (machine.computer_name.lower(), "localhost", "."):
        raise win32_failure(RPC_S_SERVER_UNAVAILABLE, detail=system_name)


def LookupAccountName(lpSystemName: str | None, lpAccountName: str) -> tuple[Sid, str, int]:
    """LookupAccountName: (SID, referenced domain name, SID_NAME_USE).

    Raises ERROR_NONE_MAPPED for an unknown name, RPC_S_SERVER_UNAVAILABLE for another
    system name.
    """

    machine = current_machine()
    _check_system_name(machine, lpSystemName)
    try:
        sid, domain, _name, use = lookup_name(machine, lpAccountName)
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None
    return sid, domain, use


def LookupAccountSid(lpSystemName: str | None, Sid_: Sid | str | bytes) -> tuple[str, str, int]:
    """LookupAccountSid: (account name, referenced domain name, SID_NAME_USE).

    Raises ERROR_NONE_MAPPED for an unmapped SID, ERROR_INVALID_SID for a malformed one,
    RPC_S_SERVER_UNAVAILABLE for another system name.
    """

    machine = current_machine()
    _check_system_name(machine, lpSystemName)
    try:
        sid = Sid.from_bytes(Sid_) if isinstance(Sid_, (bytes, bytearray)) else Sid(Sid_)
        return lookup_sid(machine, sid)
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None


def ConvertStringSidToSid(StringSid: str) -> Sid:
    """ConvertStringSidToSid (ERROR_INVALID_SID for a malformed string)."""
    if not isinstance(StringSid, str):
        raise win32_failure(ERROR_INVALID_PARAMETER)
    try:
        return Sid(StringSid)
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None


def ConvertSidToStringSid(Sid_: Sid | bytes) -> str:
    """ConvertSidToStringSid."""
    if isinstance(Sid_, (bytes, bytearray)):
        try:
            return str(Sid.from_bytes(Sid_))
        except WinError as exc:
            raise win32_failure(exc.winerror) from None
    if not isinstance(Sid_, Sid):
        raise win32_failure(ERROR_INVALID_SID)
    return str(Sid_)


def ConvertStringSecurityDescriptorToSecurityDescriptor(
        StringSecurityDescriptor: str, StringSDRevision: int = SDDL_REVISION_1
) -> SecurityDescriptor:
    """ConvertStringSecurityDescriptorToSecurityDescriptor.

    Raises ERROR_UNKNOWN_REVISION (revision != SDDL_REVISION_1), ERROR_INVALID_PARAMETER
    (NULL string, bad component), ERROR_INVALID_ACL (bad ACE, unknown right or trustee),
    ERROR_INVALID_SID (bad owner/group).
    """
    if not isinstance(StringSecurityDescriptor, str):
        raise win32_failure(ERROR_INVALID_PARAMETER)
    if StringSDRevision != SDDL_REVISION_1:
        raise win32_failure(ERROR_UNKNOWN_REVISION)

    try:
        return SecurityDescriptor.from_sddl(StringSecurityDescriptor, current_machine())
    except WinError as exc:
        raise win32_failure(exc.winerror, detail=exc.detail) from None


def ConvertSecurityDescriptorToStringSecurityDescriptor(
        SecurityDescriptor_: SecurityDescriptor | bytes,
        RequestedStringSDRevision: int = SDDL_REVISION_1,
        SecurityInformation: int = (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION
                                    | DACL_SECURITY_INFORMATION),
) -> str:
    """ConvertSecurityDescriptorToStringSecurityDescriptor (self-relative bytes or a
    SecurityDescriptor). ERROR_UNKNOWN_REVISION for a revision other than 1."""
    if RequestedStringSDRevision != SDDL_REVISION_1:
        raise win32_failure(ERROR_UNKNOWN_REVISION)
    sd = SecurityDescriptor_
    if isinstance(sd, (bytes, bytearray)):
        try:
            sd = SecurityDescriptor.from_bytes(sd)
        except WinError as exc:
            raise win32_failure(exc.winerror, detail=exc.detail) from None
    if not isinstance(sd, SecurityDescriptor):
        raise win32_failure(ERROR_INVALID_PARAMETER)
    return sd.to_sddl(SecurityInformation)


def AccessCheck(pSecurityDescriptor: SecurityDescriptor, ClientToken: Token,
                DesiredAccess: int,
                GenericMapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> int:
    """AccessCheck: returns GrantedAccess; a failed check raises E_ACCESSDENIED (the
    AccessStatus Windows reports as ERROR_ACCESS_DENIED)."""
    try:
        return pSecurityDescriptor.access_check(ClientToken, DesiredAccess, GenericMapping)
    except WinError as exc:
        raise win32_failure(exc.hresult, detail=exc.detail) from None


__all__ = [
    "LookupAccountName", "LookupAccountSid", "ConvertStringSidToSid", "ConvertSidToStringSid",
    "ConvertStringSecurityDescriptorToSecurityDescriptor",
    "ConvertSecurityDescriptorToStringSecurityDescriptor", "AccessCheck",
]

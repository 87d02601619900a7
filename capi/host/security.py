"""Security descriptors: SDDL and binary forms, the icacls text form, access checks,
inheritance into new objects, and the security descriptors of simulated files.

The model follows winnt.h: a :class:`SecurityDescriptor` has an owner, a primary group,
a DACL (a list of :class:`Ace`, or None) and control bits. ``access_check`` is
AccessCheck: generic rights mapped, ACEs in order, deny before allow as the ACL orders
them, the owner's implicit READ_CONTROL|WRITE_DAC unless an OWNER RIGHTS ACE is present.

Simulated files keep their SD in the machine's ``path_sd`` table (SDDL, keyed by the
case-folded Windows path). A file with no row inherits from its nearest ancestor.
"""

from __future__ import annotations

import re
import struct
from collections import namedtuple
from dataclasses import dataclass, replace
from pathlib import PureWindowsPath
from typing import TYPE_CHECKING

from capi.constants import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
    SACL_SECURITY_INFORMATION,
)
from capi.errors import (
    E_ACCESSDENIED,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_ACL,
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_SECURITY_DESCR,
    ERROR_INVALID_SID,
    ERROR_PATH_NOT_FOUND,
    WinError,
)
from capi.host.accounts import (
    ALIAS_OF,
    CREATOR_GROUP,
    CREATOR_OWNER,
    MACHINE_ALIASES,
    OWNER_RIGHTS,
    SDDL_ALIASES,
    Sid,
    Token,
    account_display,
    system_token,
)

if TYPE_CHECKING:
    from capi.host.machine import Machine

# ---------------------------------------------------------------------------------------
# Access rights (winnt.h)
# ---------------------------------------------------------------------------------------

FILE_READ_DATA = FILE_LIST_DIRECTORY = 0x0001
FILE_WRITE_DATA = FILE_ADD_FILE = 0x0002
FILE_APPEND_DATA = FILE_ADD_SUBDIRECTORY = 0x0004
FILE_READ_EA = 0x0008
FILE_WRITE_EA = 0x0010
FILE_EXECUTE = FILE_TRAVERSE = 0x0020
FILE_DELETE_CHILD = 0x0040
FILE_READ_ATTRIBUTES = 0x0080
FILE_WRITE_ATTRIBUTES = 0x0100
DELETE = 0x00010000
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
SYNCHRONIZE = 0x00100000
STANDARD_RIGHTS_REQUIRED = 0x000F0000
STANDARD_RIGHTS_READ = STANDARD_RIGHTS_WRITE = STANDARD_RIGHTS_EXECUTE = READ_CONTROL
STANDARD_RIGHTS_ALL = 0x001F0000
ACCESS_SYSTEM_SECURITY = 0x01000000
MAXIMUM_ALLOWED = 0x02000000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000
FILE_ALL_ACCESS = 0x001F01FF
FILE_GENERIC_READ = 0x00120089
FILE_GENERIC_WRITE = 0x00120116
FILE_GENERIC_EXECUTE = 0x001200A0
KEY_QUERY_VALUE = 0x0001
KEY_ALL_ACCESS = 0x000F003F
KEY_READ = 0x00020019
KEY_WRITE = 0x00020006
KEY_EXECUTE = 0x00020019

# ACE types and flags
ACCESS_ALLOWED_ACE_TYPE = 0x0
ACCESS_DENIED_ACE_TYPE = 0x1
SYSTEM_AUDIT_ACE_TYPE = 0x2
SYSTEM_ALARM_ACE_TYPE = 0x3
SYSTEM_MANDATORY_LABEL_ACE_TYPE = 0x11
OBJECT_INHERIT_ACE = 0x01
CONTAINER_INHERIT_ACE = 0x02
NO_PROPAGATE_INHERIT_ACE = 0x04
INHERIT_ONLY_ACE = 0x08
INHERITED_ACE = 0x10
VALID_INHERIT_FLAGS = 0x1F
SUCCESSFUL_ACCESS_ACE_FLAG = 0x40
FAILED_ACCESS_ACE_FLAG = 0x80
SYSTEM_MANDATORY_LABEL_NO_WRITE_UP = 0x1
SYSTEM_MANDATORY_LABEL_NO_READ_UP = 0x2
SYSTEM_MANDATORY_LABEL_NO_EXECUTE_UP = 0x4

# SECURITY_DESCRIPTOR_CONTROL
SE_OWNER_DEFAULTED = 0x0001
SE_GROUP_DEFAULTED = 0x0002
SE_DACL_PRESENT = 0x0004
SE_DACL_DEFAULTED = 0x0008
SE_SACL_PRESENT = 0x0010
SE_SACL_DEFAULTED = 0x0020
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_RM_CONTROL_VALID = 0x4000
SE_SELF_RELATIVE = 0x8000

SECURITY_DESCRIPTOR_REVISION = 1
ACL_REVISION = 2
ACL_REVISION_DS = 4
_SD_HEADER = struct.Struct("<BBHIIII")  # SECURITY_DESCRIPTOR_RELATIVE
_ACL_HEADER = struct.Struct("<BBHHH")
_ACE_HEADER = struct.Struct("<BBHI")  # ACE_HEADER + Mask
_ALL_INFO = (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION
             | DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION)

GENERIC_MAPPING = namedtuple("GENERIC_MAPPING",
                             "GenericRead GenericWrite GenericExecute GenericAll")
FILE_GENERIC_MAPPING = GENERIC_MAPPING(FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                       FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS)


def MapGenericMask(AccessMask: int, GenericMapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> int:
    """MapGenericMask: replace the four generic bits by the mapping's specific rights."""
    mask = AccessMask & 0xFFFFFFFF
    for bit, specific in ((GENERIC_READ, GenericMapping.GenericRead),
                          (GENERIC_WRITE, GenericMapping.GenericWrite),
                          (GENERIC_EXECUTE, GenericMapping.GenericExecute),
                          (GENERIC_ALL, GenericMapping.GenericAll)):
        if mask & bit:
            mask = (mask & ~bit) | specific
    return mask


# ---------------------------------------------------------------------------------------
# ACEs
# ---------------------------------------------------------------------------------------

_SID_ACE_TYPES = (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, SYSTEM_AUDIT_ACE_TYPE,
                  SYSTEM_ALARM_ACE_TYPE, SYSTEM_MANDATORY_LABEL_ACE_TYPE)


@dataclass(frozen=True)
class Ace:
    """An ACE whose trustee is a SID: ``Ace(ACCESS_ALLOWED_ACE_TYPE, flags, mask, sid)``."""

    ace_type: int
    flags: int
    mask: int
    sid: Sid

    def __post_init__(self):
        if self.ace_type not in _SID_ACE_TYPES:
            raise WinError(ERROR_INVALID_ACL, detail=f"ACE type {self.ace_type}")
        object.__setattr__(self, "sid", Sid(self.sid))
        object.__setattr__(self, "flags", int(self.flags) & 0xFF)
        object.__setattr__(self, "mask", int(self.mask) & 0xFFFFFFFF)

    @property
    def is_allow(self) -> bool:
        return self.ace_type == ACCESS_ALLOWED_ACE_TYPE

    @property
    def is_deny(self) -> bool:
        return self.ace_type == ACCESS_DENIED_ACE_TYPE

    @property
    def is_inherited(self) -> bool:
        return bool(self.flags & INHERITED_ACE)

    @property
    def is_inherit_only(self) -> bool:
        return bool(self.flags & INHERIT_ONLY_ACE)

    def to_bytes(self) -> bytes:
        sid = self.sid.to_bytes()
        return _ACE_HEADER.pack(self.ace_type, self.flags, 8 + len(sid), self.mask) + sid


# ---------------------------------------------------------------------------------------
# SDDL tables (sddl.h). Order matters for output: named masks are tried first, then
# single-bit names in ascending bit order (what ConvertSecurityDescriptorToString...
# prints, e.g. 0xF0000000 -> "GAGXGWGR", 0x2001F -> "CCDCLCSWRPRC").
# ---------------------------------------------------------------------------------------

_ACE_TYPE_CODES = {"A": ACCESS_ALLOWED_ACE_TYPE, "D": ACCESS_DENIED_ACE_TYPE,
                   "AU": SYSTEM_AUDIT_ACE_TYPE, "AL": SYSTEM_ALARM_ACE_TYPE,
                   "ML": SYSTEM_MANDATORY_LABEL_ACE_TYPE}
_ACE_TYPE_NAMES = {v: k for k, v in _ACE_TYPE_CODES.items()}
_ACE_FLAG_CODES = (("OI", OBJECT_INHERIT_ACE), ("CI", CONTAINER_INHERIT_ACE),
                   ("NP", NO_PROPAGATE_INHERIT_ACE), ("IO", INHERIT_ONLY_ACE),
                   ("ID", INHERITED_ACE), ("SA", SUCCESSFUL_ACCESS_ACE_FLAG),
                   ("FA", FAILED_ACCESS_ACE_FLAG))
_NAMED_MASKS = (("GA", GENERIC_ALL), ("GR", GENERIC_READ), ("GW", GENERIC_WRITE),
                ("GX", GENERIC_EXECUTE), ("FA", FILE_ALL_ACCESS), ("FR", FILE_GENERIC_READ),
                ("FW", FILE_GENERIC_WRITE), ("FX", FILE_GENERIC_EXECUTE),
                ("KA", KEY_ALL_ACCESS), ("KR", KEY_READ), ("KW", KEY_WRITE),
                ("KX", KEY_EXECUTE))
_BIT_NAMES = {0x1: "CC", 0x2: "DC", 0x4: "LC", 0x8: "SW", 0x10: "RP", 0x20: "WP",
              0x40: "DT", 0x80: "LO", 0x100: "CR", DELETE: "SD", READ_CONTROL: "RC",
              WRITE_DAC: "WD", WRITE_OWNER: "WO", GENERIC_ALL: "GA", GENERIC_EXECUTE: "GX",
              GENERIC_WRITE: "GW", GENERIC_READ: "GR"}
_LABEL_NAMES = (("NW", SYSTEM_MANDATORY_LABEL_NO_WRITE_UP),
                ("NR", SYSTEM_MANDATORY_LABEL_NO_READ_UP),
                ("NX", SYSTEM_MANDATORY_LABEL_NO_EXECUTE_UP))
_RIGHT_CODES: dict[str, int] = {**dict(_NAMED_MASKS), **{v: k for k, v in _BIT_NAMES.items()},
                                **dict(_LABEL_NAMES)}
_SID_TOKEN = re.compile(r"[sS]-(?:0[xX][0-9a-fA-F]+|[0-9]+)(?:-(?:0[xX][0-9a-fA-F]+|[0-9]+))*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def _mask_to_sddl(mask: int, ace_type: int) -> str:
    if mask == 0:
        return ""
    if ace_type == SYSTEM_MANDATORY_LABEL_ACE_TYPE and not mask & ~0x7:
        return "".join(n for n, bit in _LABEL_NAMES if mask & bit)
    for name, value in _NAMED_MASKS:
        if mask == value:
            return name
    bits = [1 << i for i in range(32) if mask & (1 << i)]
    if all(b in _BIT_NAMES for b in bits):
        return "".join(_BIT_NAMES[b] for b in bits)
    return f"0x{mask:x}"


def _sid_to_sddl(sid: Sid) -> str:
    return ALIAS_OF.get(sid) or str(sid)


def _parse_sid_token(text: str, machine: Machine | None) -> Sid:
    if _SID_TOKEN.fullmatch(text):
        return Sid(text)
    upper = text.upper()
    if upper in SDDL_ALIASES:
        return SDDL_ALIASES[upper]
    if upper in MACHINE_ALIASES:
        if machine is None:  # LA/LG are relative to a machine's SID; callers pass it
            raise WinError(ERROR_INVALID_SID, detail=f"{text!r} needs a machine")
        return Sid(f"{machine.machine_sid}-{MACHINE_ALIASES[upper]}")
    raise WinError(ERROR_INVALID_SID, detail=repr(text))


def _parse_rights(text: str) -> int:
    # Windows accepts letter codes and C-style numbers (hex, octal, decimal), even mixed
    # ("GR0xFFFFFFFF"); a trailing space or an unknown code is ERROR_INVALID_ACL.
    mask, i = 0, 0
    while i < len(text):
        m = _NUMBER.match(text, i)
        if m:
            digits = m.group(0)
            base = 16 if digits[:2] in ("0x", "0X") else 8 if len(digits) > 1 and \
                digits[0] == "0" else 10
            # A decimal of more than ten digits is past 0xFFFFFFFF (and may be past
            # Python's limit on decimal conversion): it saturates like any other.
            value = 0xFFFFFFFF if base == 10 and len(digits) > 10 else int(digits, base)
            mask |= min(value, 0xFFFFFFFF)
            i = m.end()
            continue
        code = text[i : i + 2].upper()
        if code not in _RIGHT_CODES:
            raise WinError(ERROR_INVALID_ACL, detail=f"access right {text!r}")
        mask |= _RIGHT_CODES[code]
        i += 2
    return mask & 0xFFFFFFFF


def _parse_ace(body: str, machine: Machine | None) -> Ace:
    fields = body.split(";")
    if len(fields) != 6:
        raise WinError(ERROR_INVALID_ACL, detail=f"ACE ({body})")
    type_text, flags_text, rights_text, guid1, guid2, sid_text = fields
    # Windows skips leading blanks in each field; trailing blanks are only tolerated
    # where the field is trimmed (flags, GUIDs, SID) - "D ;" and "GA ;" are rejected.
    type_text = type_text.lstrip()
    ace_type = _ACE_TYPE_CODES.get(type_text.upper())
    if ace_type is None:
        raise WinError(ERROR_INVALID_ACL, detail=f"ACE type {type_text!r}")
    flags = 0
    ftext = flags_text.strip().upper()
    for i in range(0, len(ftext), 2):
        code = dict(_ACE_FLAG_CODES).get(ftext[i : i + 2])
        if code is None:
            raise WinError(ERROR_INVALID_ACL, detail=f"ACE flags {flags_text!r}")
        flags |= code
    mask = _parse_rights(rights_text.lstrip())
    if guid1.strip() or guid2.strip():
        raise WinError(ERROR_INVALID_ACL, detail="object ACEs are not supported")
    try:
        sid = _parse_sid_token(sid_text.strip(), machine)
    except WinError:
        raise WinError(ERROR_INVALID_ACL, detail=f"ACE trustee {sid_text!r}") from None
    return Ace(ace_type, flags, mask, sid)


# ---------------------------------------------------------------------------------------
# icacls text form
# ---------------------------------------------------------------------------------------

# icacls's simple rights, and its specific-rights abbreviations in the order icacls
# prints them (its own help order; output spells READ_CONTROL "Rc").
ICACLS_SIMPLE = {"F": FILE_ALL_ACCESS, "M": 0x001301BF, "RX": 0x001200A9,
                 "R": 0x00120089, "W": 0x00100116, "D": DELETE | SYNCHRONIZE, "N": 0}
ICACLS_SPECIFIC = (("DE", DELETE), ("RC", READ_CONTROL), ("WDAC", WRITE_DAC),
                   ("WO", WRITE_OWNER), ("S", SYNCHRONIZE), ("AS", ACCESS_SYSTEM_SECURITY),
                   ("MA", MAXIMUM_ALLOWED), ("GR", GENERIC_READ), ("GW", GENERIC_WRITE),
                   ("GE", GENERIC_EXECUTE), ("GA", GENERIC_ALL), ("RD", FILE_READ_DATA),
                   ("WD", FILE_WRITE_DATA), ("AD", FILE_APPEND_DATA), ("REA", FILE_READ_EA),
                   ("WEA", FILE_WRITE_EA), ("X", FILE_EXECUTE), ("DC", FILE_DELETE_CHILD),
                   ("RA", FILE_READ_ATTRIBUTES), ("WA", FILE_WRITE_ATTRIBUTES))
_ICACLS_OUT_NAME = {"RC": "Rc"}
ICACLS_INHERIT = (("I", INHERITED_ACE), ("OI", OBJECT_INHERIT_ACE),
                  ("CI", CONTAINER_INHERIT_ACE), ("NP", NO_PROPAGATE_INHERIT_ACE),
                  ("IO", INHERIT_ONLY_ACE))


def icacls_rights(mask: int) -> str:
    """A mask as icacls prints it: F, M, RX, R,W ... or a specific-rights list."""
    if mask in (FILE_ALL_ACCESS, GENERIC_ALL):
        return "F"
    parts: list[str] = []
    covered = 0
    simple = ICACLS_SIMPLE
    if mask & simple["M"] == simple["M"]:
        parts.append("M")
        covered |= simple["M"]
    else:
        for name in ("RX", "R"):
            if mask & simple[name] == simple[name]:
                parts.append(name)
                covered |= simple[name]
                break
        for name in ("W", "D"):
            if mask & simple[name] == simple[name]:
                parts.append(name)
                covered |= simple[name]
    rest = mask & ~covered
    for name, bit in ICACLS_SPECIFIC:
        if rest & bit:
            parts.append(_ICACLS_OUT_NAME.get(name, name))
            rest &= ~bit
    if rest:
        parts.append(f"0x{rest:x}")
    return ",".join(parts) if parts else "N"


def icacls_ace_text(machine: Machine, ace: Ace) -> str:
    """``BUILTIN\\Administrators:(OI)(CI)(F)`` for one ACE."""
    flags = "".join(f"({n})" for n, bit in ICACLS_INHERIT if ace.flags & bit)
    deny = "(DENY)" if ace.is_deny else ""
    return f"{account_display(machine, ace.sid)}:{flags}{deny}({icacls_rights(ace.mask)})"


# ---------------------------------------------------------------------------------------
# Security descriptors
# ---------------------------------------------------------------------------------------


class SecurityDescriptor:
    """A security descriptor: owner, group, DACL (list of Ace, or None) and control.

    ``dacl=None`` with SE_DACL_PRESENT in ``control`` is a NULL DACL (everyone gets full
    access); without it, the DACL is absent (same effect on access checks). A list is an
    ACL, and SE_DACL_PRESENT is set for it.
    """

    def __init__(self, owner: Sid | None = None, group: Sid | None = None,
                 dacl: list[Ace] | None = None, control: int = 0, *,
                 sacl: list[Ace] | None = None):
        self.owner = Sid(owner) if owner is not None else None
        self.group = Sid(group) if group is not None else None
        self.dacl = list(dacl) if dacl is not None else None
        self.sacl = list(sacl) if sacl is not None else None
        control &= 0xFFFF & ~SE_SELF_RELATIVE
        if self.dacl is not None:
            control |= SE_DACL_PRESENT
        if self.sacl is not None:
            control |= SE_SACL_PRESENT
        self.control = control

    # -- value semantics -------------------------------------------------------------

    def copy(self) -> SecurityDescriptor:
        return SecurityDescriptor(self.owner, self.group, self.dacl, self.control,
                                  sacl=self.sacl)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecurityDescriptor):
            return NotImplemented
        return (self.owner, self.group, self.dacl, self.sacl, self.control) == \
            (other.owner, other.group, other.dacl, other.sacl, other.control)

    def __repr__(self) -> str:
        return f"SecurityDescriptor({self.to_sddl()!r})"

    @property
    def dacl_present(self) -> bool:
        return bool(self.control & SE_DACL_PRESENT)

    @property
    def is_protected(self) -> bool:
        return bool(self.control & SE_DACL_PROTECTED)

    # -- SDDL ------------------------------------------------------------------------

    @classmethod
    def from_sddl(cls, text: str, machine: Machine | None = None) -> SecurityDescriptor:
        """Parse SDDL as ConvertStringSecurityDescriptorToSecurityDescriptor does.

        A bad component tag is ERROR_INVALID_PARAMETER, a bad ACE ERROR_INVALID_ACL, a
        bad owner/group SID ERROR_INVALID_SID. ``machine`` resolves the machine-relative
        aliases LA/LG (default: the current machine).
        """
        if not isinstance(text, str):
            raise WinError(ERROR_INVALID_PARAMETER, detail="SDDL must be a string")
        sd = cls()
        seen: set[str] = set()
        i, n = 0, len(text)
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                break
            tag = text[i : i + 2]
            if tag not in ("O:", "G:", "D:", "S:") or tag in seen:
                raise WinError(ERROR_INVALID_PARAMETER, detail=f"SDDL at {text[i:i + 12]!r}")
            seen.add(tag)
            i += 2
            while i < n and text[i].isspace():
                i += 1
            if tag in ("O:", "G:"):
                m = _SID_TOKEN.match(text, i)
                end = m.end() if m else i + 2
                token = text[i:end]
                if not token:
                    raise WinError(ERROR_INVALID_SID, detail=f"empty {tag}")
                sid = _parse_sid_token(token, machine)
                if tag == "O:":
                    sd.owner = sid
                else:
                    sd.group = sid
                i = end
                continue
            i, control, aces, null = cls._parse_acl(text, i, machine)
            if tag == "D:":
                sd.dacl = None if null else aces
                sd.control |= SE_DACL_PRESENT | control
            else:
                sd.sacl = None if null else aces
                sd.control |= SE_SACL_PRESENT | (control << 1)
        return sd

    @staticmethod
    def _parse_acl(text: str, i: int, machine) -> tuple[int, int, list[Ace], bool]:
        control, null, n = 0, False, len(text)
        flag_codes = (("NO_ACCESS_CONTROL", None), ("P", SE_DACL_PROTECTED),
                      ("AR", SE_DACL_AUTO_INHERIT_REQ), ("AI", SE_DACL_AUTO_INHERITED))
        while i < n and text[i] not in "(" and text[i : i + 2] not in ("O:", "G:", "D:", "S:"):
            if text[i].isspace():
                i += 1
                continue
            for code, bit in flag_codes:
                if text.startswith(code, i):
                    if bit is None:
                        null = True
                    else:
                        control |= bit
                    i += len(code)
                    break
            else:
                raise WinError(ERROR_INVALID_PARAMETER, detail=f"ACL flags at {text[i:i + 8]!r}")
        aces: list[Ace] = []
        while i < n:
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != "(":
                break
            end = text.find(")", i)
            if end < 0:
                raise WinError(ERROR_INVALID_ACL, detail="unterminated ACE")
            aces.append(_parse_ace(text[i + 1 : end], machine))
            i = end + 1
        if null and aces:
            raise WinError(ERROR_INVALID_ACL, detail="NO_ACCESS_CONTROL with ACEs")
        return i, control, aces, null

    def to_sddl(self, security_information: int = _ALL_INFO) -> str:
        """SDDL as ConvertSecurityDescriptorToStringSecurityDescriptor writes it."""
        out = []
        if security_information & OWNER_SECURITY_INFORMATION and self.owner is not None:
            out.append("O:" + _sid_to_sddl(self.owner))
        if security_information & GROUP_SECURITY_INFORMATION and self.group is not None:
            out.append("G:" + _sid_to_sddl(self.group))
        if security_information & DACL_SECURITY_INFORMATION and self.dacl_present:
            out.append("D:" + self._acl_sddl(self.dacl, self.control))
        if security_information & SACL_SECURITY_INFORMATION and self.control & SE_SACL_PRESENT:
            out.append("S:" + self._acl_sddl(self.sacl, self.control >> 1))
        return "".join(out)

    @staticmethod
    def _acl_sddl(aces: list[Ace] | None, control: int) -> str:
        flags = ""
        if control & SE_DACL_PROTECTED:
            flags += "P"
        if control & SE_DACL_AUTO_INHERIT_REQ:
            flags += "AR"
        if control & SE_DACL_AUTO_INHERITED:
            flags += "AI"
        if aces is None:
            return flags + "NO_ACCESS_CONTROL"
        parts = []
        for ace in aces:
            aflags = "".join(code for code, bit in _ACE_FLAG_CODES if ace.flags & bit)
            parts.append(f"({_ACE_TYPE_NAMES[ace.ace_type]};{aflags};"
                         f"{_mask_to_sddl(ace.mask, ace.ace_type)};;;{_sid_to_sddl(ace.sid)})")
        return flags + "".join(parts)

    # -- self-relative binary form ------------------------------------------------------

    def to_bytes(self) -> bytes:
        """SECURITY_DESCRIPTOR_RELATIVE: header, then SACL, DACL, owner, group."""
        body = bytearray()
        offsets = {}
        pos = _SD_HEADER.size
        for key, blob in (("sacl", _acl_bytes(self.sacl)), ("dacl", _acl_bytes(self.dacl)),
                          ("owner", self.owner.to_bytes() if self.owner else None),
                          ("group", self.group.to_bytes() if self.group else None)):
            if blob is None:
                offsets[key] = 0
                continue
            offsets[key] = pos
            body += blob
            pos += len(blob)
        header = _SD_HEADER.pack(SECURITY_DESCRIPTOR_REVISION, 0,
                                 self.control | SE_SELF_RELATIVE, offsets["owner"],
                                 offsets["group"], offsets["sacl"], offsets["dacl"])
        return header + bytes(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> SecurityDescriptor:
        """Parse a self-relative SD; ERROR_INVALID_SECURITY_DESCR / _ACL / _SID on bad
        input."""
        data = bytes(data)
        if len(data) < _SD_HEADER.size:
            raise WinError(ERROR_INVALID_SECURITY_DESCR, detail="truncated header")
        rev, _sbz, control, o_owner, o_group, o_sacl, o_dacl = _SD_HEADER.unpack_from(data)
        if rev != SECURITY_DESCRIPTOR_REVISION or not control & SE_SELF_RELATIVE:
            raise WinError(ERROR_INVALID_SECURITY_DESCR, detail=f"revision {rev}")
        for off in (o_owner, o_group, o_sacl, o_dacl):
            if off and not _SD_HEADER.size <= off < len(data):
                raise WinError(ERROR_INVALID_SECURITY_DESCR, detail=f"offset {off}")
        owner = Sid.parse_prefix(data, o_owner)[0] if o_owner else None
        group = Sid.parse_prefix(data, o_group)[0] if o_group else None
        dacl = _parse_acl_bytes(data, o_dacl) if control & SE_DACL_PRESENT and o_dacl else None
        sacl = _parse_acl_bytes(data, o_sacl) if control & SE_SACL_PRESENT and o_sacl else None
        # The control word is kept as is, so a present-but-NULL DACL stays one.
        return cls(owner, group, dacl, control, sacl=sacl)

    # -- icacls form ---------------------------------------------------------------------

    def icacls_lines(self, machine: Machine) -> list[str]:
        """One ``ACCOUNT:(flags)(rights)`` line per DACL ACE, as icacls prints them."""
        if self.dacl is None:
            # A NULL (or absent) DACL grants everyone everything.
            return ["Everyone:(F)"]
        return [icacls_ace_text(machine, ace) for ace in self.dacl
                if ace.ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE)]

    # -- access check -------------------------------------------------------------------

    def access_check(self, token: Token, desired: int,
                     mapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> int:
        """AccessCheck: the granted mask, or E_ACCESSDENIED.

        ``desired`` may contain generic rights and MAXIMUM_ALLOWED (then every grantable
        right is returned, and nothing grantable is a denial).
        """
        want_max = bool(desired & MAXIMUM_ALLOWED)
        desired = MapGenericMask(desired & ~MAXIMUM_ALLOWED, mapping)
        granted = self._evaluate(token, desired, want_max, mapping)
        if want_max:
            if not granted and not desired:
                raise WinError(E_ACCESSDENIED, detail="nothing granted")
            if desired & ~granted:
                raise WinError(E_ACCESSDENIED, detail=f"missing 0x{desired & ~granted:x}")
            return granted
        if desired & ~granted:
            raise WinError(E_ACCESSDENIED, detail=f"missing 0x{desired & ~granted:x}")
        return desired

    def granted(self, token: Token, mapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> int:
        """The MAXIMUM_ALLOWED mask for ``token`` (0 when nothing is granted)."""
        return self._evaluate(token, 0, True, mapping)

    def allows(self, token: Token, desired: int,
               mapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> bool:
        try:
            self.access_check(token, desired, mapping)
        except WinError:
            return False
        return True

    def _evaluate(self, token: Token, desired: int, want_max: bool,
                  mapping: GENERIC_MAPPING) -> int:
        everything = mapping.GenericAll | STANDARD_RIGHTS_ALL
        if self.dacl is None:
            return everything if want_max else desired
        sids = token.sids
        is_owner = self.owner is not None and self.owner in sids
        effective = [a for a in self.dacl if not a.is_inherit_only
                     and a.ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE)]
        has_owner_rights = any(a.sid == OWNER_RIGHTS for a in effective)
        allowed = denied = 0
        if is_owner and not has_owner_rights:
            allowed = READ_CONTROL | WRITE_DAC
        for ace in effective:
            if ace.sid == OWNER_RIGHTS:
                applies = is_owner
            else:
                applies = ace.sid in sids
            if not applies:
                continue
            mask = MapGenericMask(ace.mask, mapping)
            if ace.is_deny:
                if want_max:
                    denied |= mask & ~allowed
                elif mask & desired & ~allowed:
                    return allowed & desired
            else:
                allowed |= mask & ~denied
                if not want_max and not desired & ~allowed:
                    break
        return allowed if want_max else allowed & desired

    # -- editing (icacls semantics) ---------------------------------------------------

    def _ensure_dacl(self) -> list[Ace]:
        if self.dacl is None:
            self.dacl = []
            self.control |= SE_DACL_PRESENT
        return self.dacl

    def grant(self, sid: Sid | str, mask: int, flags: int = 0) -> SecurityDescriptor:
        """icacls /grant: OR into the explicit allow ACE for ``sid`` with these flags, or
        add one."""
        sid = Sid(sid)
        dacl = self._ensure_dacl()
        flags &= VALID_INHERIT_FLAGS & ~INHERITED_ACE
        for idx, ace in enumerate(dacl):
            if ace.is_allow and not ace.is_inherited and ace.sid == sid and ace.flags == flags:
                dacl[idx] = replace(ace, mask=ace.mask | mask)
                break
        else:
            dacl.append(Ace(ACCESS_ALLOWED_ACE_TYPE, flags, mask, sid))
        return self.canonicalize()

    def grant_replace(self, sid: Sid | str, mask: int, flags: int = 0) -> SecurityDescriptor:
        """icacls /grant:r: drop the explicit grants for ``sid``, then grant."""
        self.remove(sid, kind="g")
        return self.grant(sid, mask, flags)

    def deny(self, sid: Sid | str, mask: int, flags: int = 0, *,
             strip_grants: bool = True) -> SecurityDescriptor:
        """icacls /deny: add an explicit deny ACE and remove the same rights from the
        explicit grants for ``sid``."""
        sid = Sid(sid)
        dacl = self._ensure_dacl()
        flags &= VALID_INHERIT_FLAGS & ~INHERITED_ACE
        if strip_grants:
            kept = []
            for ace in dacl:
                if ace.is_allow and not ace.is_inherited and ace.sid == sid:
                    ace = replace(ace, mask=ace.mask & ~mask)
                    if not ace.mask:
                        continue
                kept.append(ace)
            dacl[:] = kept
        for idx, ace in enumerate(dacl):
            if ace.is_deny and not ace.is_inherited and ace.sid == sid and ace.flags == flags:
                dacl[idx] = replace(ace, mask=ace.mask | mask)
                break
        else:
            dacl.append(Ace(ACCESS_DENIED_ACE_TYPE, flags, mask, sid))
        return self.canonicalize()

    def remove(self, sid: Sid | str, kind: str | None = None) -> SecurityDescriptor:
        """icacls /remove[:g|:d]: drop the explicit ACEs (grants 'g', denials 'd', or both)
        naming ``sid``."""
        sid = Sid(sid)
        if self.dacl is None:
            return self
        def doomed(ace: Ace) -> bool:
            if ace.is_inherited or ace.sid != sid:
                return False
            return kind is None or (kind == "g" and ace.is_allow) or (kind == "d" and ace.is_deny)
        self.dacl = [a for a in self.dacl if not doomed(a)]
        return self

    def canonicalize(self) -> SecurityDescriptor:
        """Order ACEs as Windows does: explicit deny, explicit allow, inherited deny,
        inherited allow (stable within each group)."""
        if self.dacl is not None:
            def rank(ace: Ace) -> int:
                return (2 if ace.is_inherited else 0) + (0 if ace.is_deny else 1)
            self.dacl.sort(key=rank)
        return self

    def set_protected(self, protected: bool, *, keep_inherited: bool = True) -> SecurityDescriptor:
        """Protect the DACL from inheritance (icacls /inheritance:d keeps copies of the
        inherited ACEs as explicit ones, /inheritance:r drops them) or unprotect it."""
        if protected:
            self.control |= SE_DACL_PROTECTED
            if self.dacl is not None:
                if keep_inherited:
                    self.dacl = [replace(a, flags=a.flags & ~INHERITED_ACE) for a in self.dacl]
                else:
                    self.dacl = [a for a in self.dacl if not a.is_inherited]
                self.canonicalize()
        else:
            self.control &= ~SE_DACL_PROTECTED
        return self

    # -- inheritance --------------------------------------------------------------------

    @classmethod
    def for_new_object(cls, parent: SecurityDescriptor | None, token: Token, *,
                       is_container: bool = False, explicit: SecurityDescriptor | None = None,
                       mapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> SecurityDescriptor:
        """The SD a new object gets (CreatePrivateObjectSecurityEx with auto-inherit).

        Owner and group come from ``explicit`` or the token (an elevated administrator's
        default owner is BUILTIN\\Administrators). The DACL is the explicit one plus the
        parent's inheritable ACEs (unless the explicit DACL is protected), else the
        inherited ACEs alone, else the token's default DACL.
        """
        owner = explicit.owner if explicit is not None and explicit.owner else token.owner
        group = explicit.group if explicit is not None and explicit.group else token.primary_group
        parent_ai = parent is not None and bool(parent.control & SE_DACL_AUTO_INHERITED)
        inherited = inherited_aces(parent, owner, group, is_container=is_container,
                                   mapping=mapping)
        if explicit is not None and explicit.dacl_present:
            if explicit.dacl is None:
                return cls(owner, group, None, SE_DACL_PRESENT)
            aces = [a if a.is_inherit_only else replace(a, mask=MapGenericMask(a.mask, mapping))
                    for a in explicit.dacl if not a.is_inherited]
            control = explicit.control & SE_DACL_PROTECTED
            if not control:
                aces += inherited
            if parent_ai or inherited:
                control |= SE_DACL_AUTO_INHERITED
            return cls(owner, group, aces, control).canonicalize()
        if inherited:
            return cls(owner, group, inherited, SE_DACL_AUTO_INHERITED)
        default = [Ace(ACCESS_ALLOWED_ACE_TYPE, 0, MapGenericMask(mask, mapping), sid)
                   for sid, mask in token.default_dacl]
        return cls(owner, group, default, 0)


def inherited_aces(parent: SecurityDescriptor | None, owner: Sid, group: Sid, *,
                   is_container: bool,
                   mapping: GENERIC_MAPPING = FILE_GENERIC_MAPPING) -> list[Ace]:
    """The ACEs a child (file or folder) inherits from ``parent``'s DACL, marked
    INHERITED_ACE. CREATOR OWNER/GROUP become the child's owner/group in the effective
    copy; a folder keeps an inherit-only copy for its own children."""
    if parent is None or parent.dacl is None:
        return []
    out: list[Ace] = []
    for ace in parent.dacl:
        if ace.ace_type not in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE):
            continue
        f = ace.flags
        creator = ace.sid in (CREATOR_OWNER, CREATOR_GROUP)
        real_sid = owner if ace.sid == CREATOR_OWNER else group if ace.sid == CREATOR_GROUP \
            else ace.sid
        effective = Ace(ace.ace_type, INHERITED_ACE, MapGenericMask(ace.mask, mapping), real_sid)
        if not is_container:
            if f & OBJECT_INHERIT_ACE:
                out.append(effective)
            continue
        if f & CONTAINER_INHERIT_ACE:
            if f & NO_PROPAGATE_INHERIT_ACE:
                out.append(effective)
                continue
            propagate = f & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)
            generic = ace.mask & (GENERIC_ALL | GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE)
            if generic or creator:
                out.append(effective)
                out.append(Ace(ace.ace_type, propagate | INHERIT_ONLY_ACE | INHERITED_ACE,
                               ace.mask, ace.sid))
            else:
                out.append(Ace(ace.ace_type, propagate | INHERITED_ACE, ace.mask, ace.sid))
        elif f & OBJECT_INHERIT_ACE and not f & NO_PROPAGATE_INHERIT_ACE:
            out.append(Ace(ace.ace_type, OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE,
                           ace.mask, ace.sid))
    # Inherited denials go before inherited grants, as Windows orders them.
    return [a for a in out if a.is_deny] + [a for a in out if not a.is_deny]


def _acl_bytes(aces: list[Ace] | None) -> bytes | None:
    if aces is None:
        return None
    body = b"".join(a.to_bytes() for a in aces)
    size = _ACL_HEADER.size + len(body)
    if size > 0xFFFF:
        raise WinError(ERROR_INVALID_ACL, detail="ACL larger than 64 KiB")
    return _ACL_HEADER.pack(ACL_REVISION, 0, size, len(aces), 0) + body


def _parse_acl_bytes(data: bytes, offset: int) -> list[Ace]:
    if len(data) - offset < _ACL_HEADER.size:
        raise WinError(ERROR_INVALID_ACL, detail="truncated ACL")
    rev, _sbz1, size, count, _sbz2 = _ACL_HEADER.unpack_from(data, offset)
    if not ACL_REVISION <= rev <= ACL_REVISION_DS or size < _ACL_HEADER.size \
            or offset + size > len(data):
        raise WinError(ERROR_INVALID_ACL, detail=f"ACL revision {rev} size {size}")
    pos, end = offset + _ACL_HEADER.size, offset + size
    aces = []
    for _ in range(count):
        if end - pos < _ACE_HEADER.size:
            raise WinError(ERROR_INVALID_ACL, detail="truncated ACE")
        ace_type, flags, ace_size, mask = _ACE_HEADER.unpack_from(data, pos)
        if ace_size < _ACE_HEADER.size + 8 or pos + ace_size > end or ace_type not in _SID_ACE_TYPES:
            raise WinError(ERROR_INVALID_ACL, detail=f"ACE type {ace_type} size {ace_size}")
        try:
            sid, used = Sid.parse_prefix(data[: pos + ace_size], pos + _ACE_HEADER.size)
        except WinError:
            raise WinError(ERROR_INVALID_ACL, detail="bad SID in ACE") from None
        aces.append(Ace(ace_type, flags, mask, sid))
        pos += ace_size
    return aces


# ---------------------------------------------------------------------------------------
# Security descriptors of simulated files (table path_sd)
# ---------------------------------------------------------------------------------------


def _parent_path(winpath: str) -> str | None:
    p = PureWindowsPath(winpath)
    parent = p.parent
    return None if parent == p else str(parent)


def _stored_sd(machine: Machine, key: str) -> SecurityDescriptor | None:
    row = machine.db.execute("SELECT sddl FROM path_sd WHERE path = ?", (key,)).fetchone()
    return SecurityDescriptor.from_sddl(row[0], machine) if row else None


def _computed_sd(machine: Machine, winpath: str) -> SecurityDescriptor:
    """The stored SD of ``winpath``, or what it inherits when it has none (as if SYSTEM
    had created every folder below the nearest ancestor that has one)."""
    from capi.host.paths import normalize_winpath, path_key

    norm = str(normalize_winpath(winpath))
    sd = _stored_sd(machine, path_key(norm))
    if sd is not None:
        return sd
    parent = _parent_path(norm)
    parent_sd = _computed_sd(machine, parent) if parent else None
    is_container = machine.host_path(norm).is_dir()
    return SecurityDescriptor.for_new_object(parent_sd, system_token(machine),
                                             is_container=is_container)


def _require_exists(machine: Machine, winpath: str) -> None:
    host = machine.host_path(winpath)
    if host.exists():
        return
    parent = _parent_path(winpath)
    if parent and not machine.host_path(parent).exists():
        raise WinError(ERROR_PATH_NOT_FOUND, detail=winpath)
    raise WinError(ERROR_FILE_NOT_FOUND, detail=winpath)


def get_file_sd(machine: Machine, winpath: str) -> SecurityDescriptor:
    """The security descriptor of a simulated file or folder (GetNamedSecurityInfo).

    ERROR_FILE_NOT_FOUND / ERROR_PATH_NOT_FOUND when the path does not exist.
    """
    _require_exists(machine, winpath)
    return _computed_sd(machine, winpath)


def _store(machine: Machine, db, winpath: str, sd: SecurityDescriptor) -> None:
    from capi.host.paths import path_key

    db.execute("INSERT OR REPLACE INTO path_sd(path, sddl) VALUES (?, ?)",
               (path_key(winpath), sd.to_sddl()))


def _propagate(machine: Machine, db, winpath: str) -> None:
    """Re-derive the inherited ACEs of every stored descendant (SetNamedSecurityInfo
    propagates a folder's inheritable ACEs to its children)."""
    from capi.host.paths import path_key

    prefix = path_key(winpath).rstrip("\\") + "\\"
    rows = db.execute("SELECT path, sddl FROM path_sd WHERE substr(path, 1, ?) = ?",
                      (len(prefix), prefix)).fetchall()
    for key, sddl in sorted(rows, key=lambda r: r[0].count("\\")):
        child = SecurityDescriptor.from_sddl(sddl, machine)
        if child.is_protected or child.dacl is None:
            continue
        parent_sd = _computed_sd(machine, _parent_path(key))
        host = machine.host_path(key)
        inherited = inherited_aces(parent_sd, child.owner, child.group,
                                   is_container=host.is_dir())
        explicit = [a for a in child.dacl if not a.is_inherited]
        new = SecurityDescriptor(child.owner, child.group, explicit + inherited,
                                 child.control | SE_DACL_AUTO_INHERITED, sacl=child.sacl)
        db.execute("UPDATE path_sd SET sddl = ? WHERE path = ?", (new.to_sddl(), key))


def set_file_sd(machine: Machine, winpath: str, sd: SecurityDescriptor) -> None:
    """Store ``sd`` for an existing simulated path and propagate inheritance below it."""
    _require_exists(machine, winpath)
    with machine.transaction() as db:
        _store(machine, db, winpath, sd)
        _propagate(machine, db, winpath)


def create_file_sd(machine: Machine, winpath: str, token: Token, *, is_container: bool = False,
                   explicit: SecurityDescriptor | None = None,
                   check: bool = False) -> SecurityDescriptor:
    """Compute and store the SD of a new file or folder created by ``token``.

    With ``check=True`` the creator needs FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a
    folder) on the parent folder, else E_ACCESSDENIED. The parent must exist
    (ERROR_PATH_NOT_FOUND).
    """
    from capi.host.paths import normalize_winpath

    norm = str(normalize_winpath(winpath))
    parent = _parent_path(norm)
    if parent is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="a drive root is not created")
    if not machine.host_path(parent).is_dir():
        raise WinError(ERROR_PATH_NOT_FOUND, detail=norm)
    parent_sd = _computed_sd(machine, parent)
    if check:
        need = FILE_ADD_SUBDIRECTORY if is_container else FILE_ADD_FILE
        parent_sd.access_check(token, need)
    sd = SecurityDescriptor.for_new_object(parent_sd, token, is_container=is_container,
                                           explicit=explicit)
    with machine.transaction() as db:
        _store(machine, db, norm, sd)
    return sd


def delete_file_sd(machine: Machine, winpath: str) -> None:
    """Forget the SD of a path and of everything below it (the file was deleted)."""
    from capi.host.paths import path_key

    key = path_key(winpath)
    prefix = key.rstrip("\\") + "\\"
    with machine.transaction() as db:
        db.execute("DELETE FROM path_sd WHERE path = ? OR substr(path, 1, ?) = ?",
                   (key, len(prefix), prefix))


def check_file_access(machine: Machine, winpath: str, token: Token, desired: int) -> bool:
    """Whether ``token`` may open ``winpath`` for ``desired`` access."""
    return get_file_sd(machine, winpath).allows(token, desired)


def _with_parent(machine: Machine, winpath: str):
    """(normalized path, its current SD, its parent's SD or None) for an existing path."""
    from capi.host.paths import normalize_winpath

    _require_exists(machine, winpath)
    norm = str(normalize_winpath(winpath))
    parent = _parent_path(norm)
    return norm, _computed_sd(machine, norm), _computed_sd(machine, parent) if parent else None


def reset_file_sd(machine: Machine, winpath: str) -> SecurityDescriptor:
    """icacls /reset: keep owner and group, replace the DACL by the inherited ACEs only."""
    norm, current, parent_sd = _with_parent(machine, winpath)
    owner = current.owner or system_token(machine).owner
    group = current.group or owner
    aces = inherited_aces(parent_sd, owner, group,
                          is_container=machine.host_path(norm).is_dir())
    sd = SecurityDescriptor(owner, group, aces, SE_DACL_AUTO_INHERITED, sacl=current.sacl)
    set_file_sd(machine, norm, sd)
    return sd


def inherit_file_sd(machine: Machine, winpath: str) -> SecurityDescriptor:
    """icacls /inheritance:e: unprotect the DACL and add the parent's inheritable ACEs."""
    norm, current, parent_sd = _with_parent(machine, winpath)
    explicit = [a for a in (current.dacl or []) if not a.is_inherited]
    aces = explicit + inherited_aces(parent_sd, current.owner, current.group,
                                     is_container=machine.host_path(norm).is_dir())
    control = (current.control & ~SE_DACL_PROTECTED) | SE_DACL_AUTO_INHERITED
    sd = SecurityDescriptor(current.owner, current.group, aces, control, sacl=current.sacl)
    set_file_sd(machine, norm, sd.canonicalize())
    return sd


# ---------------------------------------------------------------------------------------
# Facade
# ---------------------------------------------------------------------------------------


__all__ = [
    "FILE_READ_DATA", "FILE_LIST_DIRECTORY", "FILE_WRITE_DATA", "FILE_ADD_FILE",
    "FILE_APPEND_DATA", "FILE_ADD_SUBDIRECTORY", "FILE_READ_EA", "FILE_WRITE_EA",
    "FILE_EXECUTE", "FILE_TRAVERSE", "FILE_DELETE_CHILD", "FILE_READ_ATTRIBUTES",
    "FILE_WRITE_ATTRIBUTES", "DELETE", "READ_CONTROL", "WRITE_DAC", "WRITE_OWNER",
    "SYNCHRONIZE", "STANDARD_RIGHTS_REQUIRED", "STANDARD_RIGHTS_READ", "STANDARD_RIGHTS_WRITE",
    "STANDARD_RIGHTS_EXECUTE", "STANDARD_RIGHTS_ALL", "ACCESS_SYSTEM_SECURITY",
    "MAXIMUM_ALLOWED", "GENERIC_ALL", "GENERIC_EXECUTE", "GENERIC_WRITE", "GENERIC_READ",
    "FILE_ALL_ACCESS", "FILE_GENERIC_READ", "FILE_GENERIC_WRITE", "FILE_GENERIC_EXECUTE",
    "KEY_QUERY_VALUE", "KEY_ALL_ACCESS", "KEY_READ", "KEY_WRITE", "KEY_EXECUTE",
    "ACCESS_ALLOWED_ACE_TYPE", "ACCESS_DENIED_ACE_TYPE", "SYSTEM_AUDIT_ACE_TYPE",
    "SYSTEM_ALARM_ACE_TYPE", "SYSTEM_MANDATORY_LABEL_ACE_TYPE", "OBJECT_INHERIT_ACE",
    "CONTAINER_INHERIT_ACE", "NO_PROPAGATE_INHERIT_ACE", "INHERIT_ONLY_ACE", "INHERITED_ACE",
    "VALID_INHERIT_FLAGS", "SUCCESSFUL_ACCESS_ACE_FLAG", "FAILED_ACCESS_ACE_FLAG",
    "SYSTEM_MANDATORY_LABEL_NO_WRITE_UP", "SYSTEM_MANDATORY_LABEL_NO_READ_UP",
    "SYSTEM_MANDATORY_LABEL_NO_EXECUTE_UP", "SE_OWNER_DEFAULTED", "SE_GROUP_DEFAULTED",
    "SE_DACL_PRESENT", "SE_DACL_DEFAULTED", "SE_SACL_PRESENT", "SE_SACL_DEFAULTED",
    "SE_DACL_AUTO_INHERIT_REQ", "SE_SACL_AUTO_INHERIT_REQ", "SE_DACL_AUTO_INHERITED",
    "SE_SACL_AUTO_INHERITED", "SE_DACL_PROTECTED", "SE_SACL_PROTECTED", "SE_RM_CONTROL_VALID",
    "SE_SELF_RELATIVE", "SECURITY_DESCRIPTOR_REVISION", "ACL_REVISION", "ACL_REVISION_DS",
    "GENERIC_MAPPING", "FILE_GENERIC_MAPPING", "MapGenericMask", "Ace", "ICACLS_SIMPLE",
    "ICACLS_SPECIFIC", "icacls_rights", "icacls_ace_text", "SecurityDescriptor",
    "inherited_aces", "get_file_sd", "set_file_sd", "create_file_sd", "delete_file_sd",
    "check_file_access", "reset_file_sd", "inherit_file_sd",
]

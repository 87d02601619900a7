"""wincrypt.h structures that CryptEncodeObjectEx takes and CryptDecodeObjectEx returns.

Every class has the C field names and is constructible by keyword and positionally in C
order. A count and its array (``cRDN`` + ``rgRDN``) are one list under the array's name,
with the count a read-only property; blobs are ``bytes``; FILETIME is an ``int`` of
100-ns ticks since 1601. Unions (CERT_ALT_NAME_ENTRY, CERT_ID) alias one value under every
member name, as a C union does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")


def _count_name(array: str) -> str:
    name = array[2:]
    for prefix in ("psz", "p"):
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return "c" + name[len(prefix):]
    return "c" + name


def cstruct(cls: type[_T]) -> type[_T]:
    """A dataclass whose ``rgX`` list fields get a read-only ``cX`` count property."""
    cls = dataclass(cls)
    for f in dataclasses.fields(cls):
        if f.name.startswith("rg") and f.name[2:3].isalpha():
            count = _count_name(f.name)
            if not hasattr(cls, count):
                setattr(cls, count, property(lambda self, _n=f.name: len(getattr(self, _n))))
    return cls


def _list():
    return field(default_factory=list)


# CERT_EXTENSION and CERT_INFO live in their own module: a certificate context needs only
# them, and building every structure here costs a tool's start-up 10 ms.
from capi.crypt32.certinfo import CERT_EXTENSION, CERT_INFO  # noqa: E402


@cstruct
class CRYPT_BIT_BLOB:
    pbData: bytes = b""
    cUnusedBits: int = 0

    @property
    def cbData(self) -> int:
        return len(self.pbData)


def blob_bytes(v) -> bytes:
    """The bytes of a BLOB field: b"" for NULL, a CRYPT_BIT_BLOB's pbData, else bytes(v)."""
    if v is None:
        return b""
    if isinstance(v, CRYPT_BIT_BLOB):
        return bytes(v.pbData)
    return bytes(v)


@cstruct
class CRYPT_ALGORITHM_IDENTIFIER:
    pszObjId: str | None = None
    Parameters: bytes = b""


@cstruct
class CERT_PUBLIC_KEY_INFO:
    Algorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    PublicKey: CRYPT_BIT_BLOB = field(default_factory=CRYPT_BIT_BLOB)


@cstruct
class CERT_RDN_ATTR:
    pszObjId: str | None = None
    dwValueType: int = 0
    Value: bytes = b""


@cstruct
class CERT_RDN:
    rgRDNAttr: list[CERT_RDN_ATTR] = _list()


@cstruct
class CERT_NAME_INFO:
    rgRDN: list[CERT_RDN] = _list()


@cstruct
class CERT_NAME_VALUE:
    dwValueType: int = 0
    Value: bytes = b""


@cstruct
class CERT_OTHER_NAME:
    pszObjId: str | None = None
    Value: bytes = b""


class _Union:
    """A C union: every member name reads and writes the one stored value."""

    _choice_field = ""
    _members: tuple[str, ...] = ()

    def __init__(self, choice: int = 0, value: Any = None, **members):
        setattr(self, self._choice_field, choice)
        self._value = value
        for name, v in members.items():
            if name not in self._members:
                raise TypeError(f"{type(self).__name__} has no member {name!r}")
            self._value = v

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for name in cls._members:
            setattr(cls, name, property(lambda self: self._value,
                                        lambda self, v: setattr(self, "_value", v)))

    def __eq__(self, other):
        return (type(other) is type(self)
                and getattr(self, self._choice_field) == getattr(other, self._choice_field)
                and self._value == other._value)

    def __repr__(self):
        return f"{type(self).__name__}({getattr(self, self._choice_field)}, {self._value!r})"


class CERT_ALT_NAME_ENTRY(_Union):
    """CERT_ALT_NAME_ENTRY(dwAltNameChoice, value): the union member named by the choice
    (pwszURL, pwszDNSName, IPAddress, DirectoryName, pOtherName...) is the value."""

    _choice_field = "dwAltNameChoice"
    _members = ("pOtherName", "pwszRfc822Name", "pwszDNSName", "DirectoryName", "pwszURL",
                "IPAddress", "pszRegisteredID")

    def __init__(self, dwAltNameChoice: int = 0, value: Any = None, **members):
        super().__init__(dwAltNameChoice, value, **members)


@cstruct
class CERT_ALT_NAME_INFO:
    rgAltEntry: list[CERT_ALT_NAME_ENTRY] = _list()


@cstruct
class CERT_BASIC_CONSTRAINTS_INFO:
    SubjectType: CRYPT_BIT_BLOB = field(default_factory=CRYPT_BIT_BLOB)
    fPathLenConstraint: bool = False
    dwPathLenConstraint: int = 0
    rgSubtreesConstraint: list[bytes] = _list()


@cstruct
class CERT_BASIC_CONSTRAINTS2_INFO:
    fCA: bool = False
    fPathLenConstraint: bool = False
    dwPathLenConstraint: int = 0


@cstruct
class CERT_ENHKEY_USAGE:
    rgpszUsageIdentifier: list[str] = _list()


@cstruct
class CERT_AUTHORITY_KEY_ID_INFO:
    KeyId: bytes = b""
    CertIssuer: bytes = b""
    CertSerialNumber: bytes = b""


@cstruct
class CERT_AUTHORITY_KEY_ID2_INFO:
    KeyId: bytes = b""
    AuthorityCertIssuer: CERT_ALT_NAME_INFO = field(default_factory=CERT_ALT_NAME_INFO)
    AuthorityCertSerialNumber: bytes = b""


@cstruct
class CERT_POLICY_QUALIFIER_INFO:
    pszPolicyQualifierId: str | None = None
    Qualifier: bytes = b""


@cstruct
class CERT_POLICY_INFO:
    pszPolicyIdentifier: str | None = None
    rgPolicyQualifier: list[CERT_POLICY_QUALIFIER_INFO] = _list()


@cstruct
class CERT_POLICIES_INFO:
    rgPolicyInfo: list[CERT_POLICY_INFO] = _list()


@cstruct
class CERT_GENERAL_SUBTREE:
    Base: CERT_ALT_NAME_ENTRY = field(default_factory=CERT_ALT_NAME_ENTRY)
    dwMinimum: int = 0
    fMaximum: bool = False
    dwMaximum: int = 0


@cstruct
class CERT_NAME_CONSTRAINTS_INFO:
    rgPermittedSubtree: list[CERT_GENERAL_SUBTREE] = _list()
    rgExcludedSubtree: list[CERT_GENERAL_SUBTREE] = _list()


@cstruct
class CERT_ECC_SIGNATURE:
    r: bytes = b""   # CRYPT_UINT_BLOB, little-endian
    s: bytes = b""


@cstruct
class CERT_SIGNED_CONTENT_INFO:
    ToBeSigned: bytes = b""
    SignatureAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    Signature: CRYPT_BIT_BLOB = field(default_factory=CRYPT_BIT_BLOB)


@cstruct
class CERT_EXTENSIONS:
    rgExtension: list[CERT_EXTENSION] = _list()


@cstruct
class CRL_ENTRY:
    SerialNumber: bytes = b""
    RevocationDate: int = 0
    rgExtension: list[CERT_EXTENSION] = _list()


@cstruct
class CRL_INFO:
    dwVersion: int = 0
    SignatureAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    Issuer: bytes = b""
    ThisUpdate: int = 0
    NextUpdate: int = 0
    rgCRLEntry: list[CRL_ENTRY] = _list()
    rgExtension: list[CERT_EXTENSION] = _list()


@cstruct
class CRYPT_CONTENT_INFO:
    pszObjId: str | None = None
    Content: bytes = b""


@cstruct
class CRYPT_ATTRIBUTE:
    pszObjId: str | None = None
    rgValue: list[bytes] = _list()


@cstruct
class CRYPT_ATTRIBUTES:
    rgAttr: list[CRYPT_ATTRIBUTE] = _list()


@cstruct
class CRYPT_SEQUENCE_OF_ANY:
    rgValue: list[bytes] = _list()


@cstruct
class CERT_ISSUER_SERIAL_NUMBER:
    Issuer: bytes = b""
    SerialNumber: bytes = b""


class CERT_ID(_Union):
    """CERT_ID(dwIdChoice, value): IssuerSerialNumber, KeyId or HashId by the choice."""

    _choice_field = "dwIdChoice"
    _members = ("IssuerSerialNumber", "KeyId", "HashId")

    def __init__(self, dwIdChoice: int = 0, value: Any = None, **members):
        super().__init__(dwIdChoice, value, **members)


@cstruct
class CMSG_SIGNER_INFO:
    dwVersion: int = 0
    Issuer: bytes = b""
    SerialNumber: bytes = b""
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    HashEncryptionAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    EncryptedHash: bytes = b""
    AuthAttrs: CRYPT_ATTRIBUTES = field(default_factory=CRYPT_ATTRIBUTES)
    UnauthAttrs: CRYPT_ATTRIBUTES = field(default_factory=CRYPT_ATTRIBUTES)


@cstruct
class CMSG_CMS_SIGNER_INFO:
    dwVersion: int = 0
    SignerId: CERT_ID = field(default_factory=CERT_ID)
    HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    HashEncryptionAlgorithm: CRYPT_ALGORITHM_IDENTIFIER = field(
        default_factory=CRYPT_ALGORITHM_IDENTIFIER)
    EncryptedHash: bytes = b""
    AuthAttrs: CRYPT_ATTRIBUTES = field(default_factory=CRYPT_ATTRIBUTES)
    UnauthAttrs: CRYPT_ATTRIBUTES = field(default_factory=CRYPT_ATTRIBUTES)


__all__ = [
    "cstruct", "CRYPT_BIT_BLOB", "CRYPT_ALGORITHM_IDENTIFIER", "CERT_PUBLIC_KEY_INFO",
    "CERT_RDN_ATTR", "CERT_RDN", "CERT_NAME_INFO", "CERT_NAME_VALUE", "CERT_OTHER_NAME",
    "CERT_ALT_NAME_ENTRY", "CERT_ALT_NAME_INFO", "CERT_BASIC_CONSTRAINTS_INFO",
    "CERT_BASIC_CONSTRAINTS2_INFO", "CERT_ENHKEY_USAGE", "CERT_AUTHORITY_KEY_ID_INFO",
    "CERT_AUTHORITY_KEY_ID2_INFO", "CERT_POLICY_QUALIFIER_INFO", "CERT_POLICY_INFO",
    "CERT_POLICIES_INFO", "CERT_GENERAL_SUBTREE", "CERT_NAME_CONSTRAINTS_INFO",
    "CERT_ECC_SIGNATURE", "CERT_SIGNED_CONTENT_INFO", "CERT_EXTENSIONS", "CRL_ENTRY",
    "CRL_INFO", "CRYPT_CONTENT_INFO", "CRYPT_ATTRIBUTE", "CRYPT_ATTRIBUTES",
    "CRYPT_SEQUENCE_OF_ANY", "CERT_ISSUER_SERIAL_NUMBER", "CERT_ID", "CMSG_SIGNER_INFO",
    "CMSG_CMS_SIGNER_INFO", "CERT_INFO", "CERT_EXTENSION",
]

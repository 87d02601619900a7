"""CERT_EXTENSION and CERT_INFO (wincrypt.h), the structures a certificate context holds;
:mod:`capi.crypt32.structs` re-exports them with the other structures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CERT_EXTENSION:
    pszObjId: str
    fCritical: bool
    Value: bytes


@dataclass
class CERT_INFO:
    """CERT_INFO as CryptDecodeObjectEx(X509_CERT_TO_BE_SIGNED) returns it (and as
    ``CertContext.pCertInfo`` holds it): SerialNumber a little-endian CRYPT_INTEGER_BLOB,
    SignatureAlgorithm a CRYPT_ALGORITHM_IDENTIFIER, Issuer/Subject the encoded names,
    NotBefore/NotAfter FILETIME ticks, SubjectPublicKeyInfo a CERT_PUBLIC_KEY_INFO."""

    dwVersion: int = 0
    SerialNumber: bytes = b""
    SignatureAlgorithm: Any = None
    Issuer: bytes = b""
    NotBefore: Any = 0
    NotAfter: Any = 0
    Subject: bytes = b""
    SubjectPublicKeyInfo: Any = None
    # CRYPT_BIT_BLOB or None (absent); C order puts them before the extensions.
    IssuerUniqueId: Any = None
    SubjectUniqueId: Any = None
    rgExtension: list[CERT_EXTENSION] = field(default_factory=list)

    @property
    def cExtension(self) -> int:
        return len(self.rgExtension)


__all__ = ["CERT_EXTENSION", "CERT_INFO"]

"""bcrypt.h structures, with the C field names, constructible by keyword and positionally
in C's order. Length fields that only describe a buffer (cbNonce, cbTag...) are derived
from it; ``cbSize`` has no Python form."""

from __future__ import annotations

from dataclasses import dataclass, field

from capi.bcrypt.consts import BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO_VERSION, BCRYPT_SHA1_ALGORITHM


@dataclass(frozen=True)
class BCRYPT_PKCS1_PADDING_INFO:
    pszAlgId: str | None = None


@dataclass(frozen=True)
class BCRYPT_PSS_PADDING_INFO:
    pszAlgId: str
    cbSalt: int


@dataclass(frozen=True)
class BCRYPT_OAEP_PADDING_INFO:
    pszAlgId: str = BCRYPT_SHA1_ALGORITHM
    pbLabel: bytes | None = None

    @property
    def cbLabel(self) -> int:
        return len(self.pbLabel or b"")


@dataclass(frozen=True)
class BCRYPT_KEY_LENGTHS_STRUCT:
    dwMinLength: int
    dwMaxLength: int
    dwIncrement: int


BCRYPT_AUTH_TAG_LENGTHS_STRUCT = BCRYPT_KEY_LENGTHS_STRUCT


@dataclass(frozen=True)
class BCRYPT_ALGORITHM_IDENTIFIER:
    pszName: str
    dwClass: int
    dwFlags: int = 0


@dataclass
class BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO:
    """GCM/CCM parameters. On encrypt ``pbTag`` is a ``bytearray`` of the tag length the
    call fills; on decrypt it holds the expected tag. With
    BCRYPT_AUTH_MODE_CHAIN_CALLS_FLAG in ``dwFlags`` the running MAC state lives in
    ``pbMacContext`` between calls, as it does in the caller's buffer in C."""

    pbNonce: bytes | None = None
    pbAuthData: bytes | None = None
    pbTag: bytes | bytearray | None = None
    pbMacContext: object = None
    cbAAD: int = 0
    cbData: int = 0
    dwFlags: int = 0
    dwInfoVersion: int = BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO_VERSION

    @property
    def cbNonce(self) -> int:
        return len(self.pbNonce or b"")

    @property
    def cbAuthData(self) -> int:
        return len(self.pbAuthData or b"")

    @property
    def cbTag(self) -> int:
        return len(self.pbTag or b"")


@dataclass
class BCryptBuffer:
    cbBuffer: int = 0
    BufferType: int = 0
    pvBuffer: bytes | str | int | None = None


@dataclass
class BCryptBufferDesc:
    ulVersion: int = 0
    pBuffers: list = field(default_factory=list)

    @property
    def cBuffers(self) -> int:
        return len(self.pBuffers)


__all__ = [
    "BCRYPT_PKCS1_PADDING_INFO", "BCRYPT_PSS_PADDING_INFO", "BCRYPT_OAEP_PADDING_INFO",
    "BCRYPT_KEY_LENGTHS_STRUCT", "BCRYPT_AUTH_TAG_LENGTHS_STRUCT",
    "BCRYPT_ALGORITHM_IDENTIFIER", "BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO", "BCryptBuffer",
    "BCryptBufferDesc",
]

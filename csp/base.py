"""The provider interface: what the facade asks of a key provider.

Two small abstract classes, like a transport: :class:`CspProvider` (CryptoAPI: named
containers holding an AT_KEYEXCHANGE and an AT_SIGNATURE key pair) and
:class:`KspProvider` (CNG: one named key each). The software providers implement them
over key files; a PKCS#11 backend implements the same methods over a token and is added
with one ``registry.register_builtin``/``register_provider`` line.

Signatures and ciphertexts cross this interface big-endian (PKCS#1 byte order); the
CryptoAPI facade reverses them to CAPI's little-endian order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass
class KeyScope:
    """Where keys live for one call: the machine, the caller's token, machine or user."""

    machine: object
    token: object
    machine_keyset: bool = False
    silent: bool = False


@dataclass
class KeyPair:
    """One RSA key pair of a CAPI container (or a public key imported alone)."""

    spec: int  # AT_KEYEXCHANGE / AT_SIGNATURE; 0 for a public-only key
    alg_id: int  # CALG_RSA_KEYX / CALG_RSA_SIGN
    public: object  # cryptography public key
    private: object | None = None  # cryptography private key (decrypted, in memory)
    permissions: int = 0
    flags: int = 0  # CRYPT_USER_PROTECTED / CRYPT_ARCHIVABLE as generated
    certificate: bytes | None = None
    bitlen: int = 0  # RSAPUBKEY.bitlen as imported, when the modulus has leading zero bits

    @property
    def bits(self) -> int:
        # A 512-bit key whose modulus happens to be 509 bits long is still a 512-bit key.
        return self.bitlen or -(-self.public.key_size // 8) * 8


@dataclass
class KeyInfo:
    """What NCryptEnumKeys reports for a key."""

    name: str
    algorithm: str
    legacy_spec: int = 0
    flags: int = 0
    extra: dict = field(default_factory=dict)


class CspContainer(ABC):
    """An open CAPI key container (or a VERIFYCONTEXT pseudo-container)."""

    name: str
    unique_name: str | None
    machine_keyset: bool
    ephemeral: bool

    @abstractmethod
    def get_key(self, spec: int) -> KeyPair:
        """The key pair in slot ``spec``; NTE_NO_KEY when the slot is empty."""

    @abstractmethod
    def generate_key(self, spec: int, alg_id: int, bits: int, flags: int) -> KeyPair:
        """Generate (and persist) a key pair in slot ``spec``."""

    @abstractmethod
    def import_key(self, private_key, alg_id: int, flags: int) -> KeyPair:
        """Store an imported private key in the slot its ALG_ID names; persist at once."""

    @abstractmethod
    def export_key(self, pair: KeyPair, blob_type: int) -> bytes:
        """PUBLICKEYBLOB always; PRIVATEKEYBLOB only if exportable (NTE_BAD_KEY_STATE)."""

    @abstractmethod
    def sign_hash(self, pair: KeyPair, digest: bytes, hash_alg, with_oid: bool) -> bytes:
        """PKCS#1 v1.5 signature of ``digest``, big-endian."""

    @abstractmethod
    def decrypt(self, pair: KeyPair, ciphertext: bytes, oaep: bool) -> bytes:
        """RSA decryption of a big-endian ciphertext."""

    def sign_pss(self, pair: KeyPair, digest: bytes, hash_alg, salt_length: int) -> bytes:
        """RSA-PSS signature of ``digest`` (what Schannel needs for TLS 1.3), big-endian.

        CryptoAPI itself cannot ask for PSS; Windows reaches CAPI keys through CNG for it.
        """
        from capi.errors import NTE_NOT_SUPPORTED, WinError

        raise WinError(NTE_NOT_SUPPORTED, detail="RSA-PSS")

    def set_pin(self, pin) -> None:  # noqa: B027 - optional hook, a no-op for software keys
        """A PIN from CryptSetProvParam(PP_KEYEXCHANGE_PIN / PP_SIGNATURE_PIN)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for software keys
        """Release what the open container holds (a token session...)."""

    @abstractmethod
    def set_key_param(self, pair: KeyPair, param: int, value) -> None:
        """Change a persisted key parameter (permissions, certificate)."""

    @abstractmethod
    def get_security_descriptor(self):
        """The container file's security descriptor (needs READ_CONTROL)."""

    @abstractmethod
    def set_security_descriptor(self, sd, info: int) -> None:
        """Replace parts of the container's security descriptor (needs WRITE_DAC)."""


class CspProvider(ABC):
    """A CryptoAPI provider: named containers of key pairs."""

    name: str
    prov_type: int
    kind = "csp"
    hardware = False

    @abstractmethod
    def open_container(self, scope: KeyScope, name: str) -> CspContainer:
        """Open an existing container; NTE_BAD_KEYSET if missing or not accessible."""

    @abstractmethod
    def create_container(self, scope: KeyScope, name: str) -> CspContainer:
        """Create an empty container; NTE_EXISTS if it exists."""

    @abstractmethod
    def delete_container(self, scope: KeyScope, name: str) -> None:
        """Delete a container; NTE_BAD_KEYSET if missing."""

    @abstractmethod
    def enum_containers(self, scope: KeyScope) -> list[str]:
        """Names of the containers the caller can open."""

    @abstractmethod
    def verify_context(self, scope: KeyScope) -> CspContainer:
        """A container that is never persisted (CRYPT_VERIFYCONTEXT)."""

    @abstractmethod
    def hash_algorithms(self) -> dict[int, tuple[str, object]]:
        """Hash ALG_IDs this provider type supports -> (name, cryptography hash class)."""

    @abstractmethod
    def key_lengths(self, alg_id: int) -> tuple[int, int, int, int]:
        """(minimum, maximum, default, increment) RSA modulus bits for ``alg_id``."""


class KspKey(ABC):
    """A CNG key handle's provider object: persisted, or ephemeral when nameless."""

    name: str | None
    algorithm: str
    finalized: bool
    public: object  # cryptography public key once finalized, else None

    @abstractmethod
    def finalize(self, flags: int) -> None:
        """Generate the key material (if needed) and persist a named key."""

    @abstractmethod
    def get_property(self, name: str, flags: int):
        """A property value (int, str, bytes or SecurityDescriptor)."""

    @abstractmethod
    def set_property(self, name: str, value, flags: int) -> None:
        """Set a property; some only before finalization."""

    @abstractmethod
    def export(self, blob_type: str, params: dict | None) -> bytes:
        """Export as a BCRYPT/legacy/PKCS#8 blob, subject to the Export Policy."""

    @abstractmethod
    def sign_hash(self, digest: bytes, padding, flags: int) -> bytes:
        """Sign a hash (PKCS#1/PSS for RSA, r||s for ECDSA), subject to Key Usage."""

    @abstractmethod
    def verify_signature(self, digest: bytes, signature: bytes, padding, flags: int) -> None:
        """Verify; NTE_BAD_SIGNATURE on mismatch."""

    @abstractmethod
    def encrypt(self, data: bytes, padding, flags: int) -> bytes:
        """RSA encryption (PKCS#1 or OAEP)."""

    @abstractmethod
    def decrypt(self, data: bytes, padding, flags: int) -> bytes:
        """RSA decryption (PKCS#1 or OAEP), subject to Key Usage."""

    @abstractmethod
    def delete(self) -> None:
        """Delete the persisted key (needs DELETE)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for software keys
        """Release what the key handle holds (a token session...)."""


class KspProvider(ABC):
    """A CNG key storage provider."""

    name: str
    kind = "ksp"
    hardware = False

    @abstractmethod
    def open_key(self, scope: KeyScope, name: str, legacy_spec: int) -> KspKey:
        """Open a persisted key; NTE_BAD_KEYSET if missing."""

    @abstractmethod
    def create_key(self, scope: KeyScope, algorithm: str, name: str | None,
                   legacy_spec: int, flags: int) -> KspKey:
        """A new, not yet finalized key; NTE_EXISTS unless NCRYPT_OVERWRITE_KEY_FLAG."""

    @abstractmethod
    def import_key(self, scope: KeyScope, blob_type: str, data: bytes, name: str | None,
                   flags: int) -> KspKey:
        """A key from a blob (finalized unless NCRYPT_DO_NOT_FINALIZE_FLAG)."""

    @abstractmethod
    def enum_keys(self, scope: KeyScope) -> list[KeyInfo]:
        """The keys in scope the caller can open."""

    @abstractmethod
    def algorithms(self) -> tuple[str, ...]:
        """Algorithm names this provider creates keys for."""

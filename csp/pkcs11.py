"""Key providers on PKCS#11 tokens (python-pkcs11; SoftHSM2 in the tests).

A provider bound to a token (``csp.tokens``) is a :class:`Pkcs11CSP` (CryptoAPI) or a
:class:`Pkcs11KSP` (CNG). Both see the same objects on the token, as Windows' Base Smart
Card CSP and Smart Card KSP see the same card containers.

Object layout on the token (what ``pkcs11-tool --list-objects`` shows):

- A container / CNG key named ``N`` is the key pair(s) whose ``CKA_LABEL`` is ``N``.
- ``CKA_ID`` is the SHA-1 of the public key's value (the RSA modulus, big-endian, or the
  EC point), the convention NSS and OpenSC use, so a certificate object written with the
  same ``CKA_ID`` pairs with its key in any PKCS#11 tool.
- The CAPI KeySpec is the private key's usage: ``CKA_DECRYPT``/``CKA_UNWRAP`` true is
  AT_KEYEXCHANGE, sign-only is AT_SIGNATURE (Windows' AT_SIGNATURE keys cannot decrypt).
  A container therefore holds at most one key pair of each kind.
- Non-exportable is ``CKA_SENSITIVE`` true and ``CKA_EXTRACTABLE`` false; private objects
  are ``CKA_PRIVATE`` (visible only after login); public keys and certificates are public.
- Certificates are ``CKO_CERTIFICATE`` / ``CKC_X_509`` objects with the key's label and id.

Sessions: one :class:`TokenLink` per (module, token label) per process holds the single
read/write session and the single login (PKCS#11 allows one login per token per
application; python-pkcs11 docs/concurrency.rst). Handles take references on it; every call
on the session runs under its lock. Private-key objects are found once per handle and kept
(the handle's cache is keyed by the link's generation, which changes whenever the session
is replaced), so a signature costs one ``C_SignInit``/``C_Sign``.

PKCS#11 errors become Windows codes in one place: :func:`map_pkcs11_errors`.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pkcs11
from asn1crypto import algos
from asn1crypto import keys as asn1_keys
from asn1crypto.core import Integer, Null, OctetString
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e
from pkcs11.constants import CertificateType
from pkcs11.mechanisms import MGF

from capi import errors as _errors
from capi.constants import (
    AT_KEYEXCHANGE,
    AT_SIGNATURE,
    BCRYPT_ECCPUBLIC_BLOB,
    BCRYPT_PAD_OAEP,
    BCRYPT_PAD_PKCS1,
    BCRYPT_PAD_PSS,
    BCRYPT_PUBLIC_KEY_LENGTH,
    BCRYPT_RSAFULLPRIVATE_BLOB,
    BCRYPT_RSAFULLPRIVATE_MAGIC,
    BCRYPT_RSAPRIVATE_BLOB,
    BCRYPT_RSAPRIVATE_MAGIC,
    BCRYPT_RSAPUBLIC_BLOB,
    BCRYPT_RSAPUBLIC_MAGIC,
    BCRYPT_SIGNATURE_LENGTH,
    CALG_RSA_KEYX,
    CALG_RSA_SIGN,
    CRYPT_EXPORT,
    CRYPT_EXPORTABLE,
    CRYPT_USER_PROTECTED,
    KP_CERTIFICATE,
    KP_PERMISSIONS,
    LEGACY_RSAPRIVATE_BLOB,
    LEGACY_RSAPUBLIC_BLOB,
    NCRYPT_ALGORITHM_GROUP_PROPERTY,
    NCRYPT_ALGORITHM_PROPERTY,
    NCRYPT_ALLOW_ALL_USAGES,
    NCRYPT_ALLOW_DECRYPT_FLAG,
    NCRYPT_ALLOW_EXPORT_FLAG,
    NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG,
    NCRYPT_ALLOW_SIGNING_FLAG,
    NCRYPT_BLOCK_LENGTH_PROPERTY,
    NCRYPT_CERTIFICATE_PROPERTY,
    NCRYPT_DO_NOT_FINALIZE_FLAG,
    NCRYPT_EXPORT_POLICY_PROPERTY,
    NCRYPT_IMPL_HARDWARE_FLAG,
    NCRYPT_IMPL_REMOVABLE_FLAG,
    NCRYPT_IMPL_TYPE_PROPERTY,
    NCRYPT_KEY_TYPE_PROPERTY,
    NCRYPT_KEY_USAGE_PROPERTY,
    NCRYPT_LENGTH_PROPERTY,
    NCRYPT_LENGTHS_PROPERTY,
    NCRYPT_NAME_PROPERTY,
    NCRYPT_OVERWRITE_KEY_FLAG,
    NCRYPT_PAD_OAEP_FLAG,
    NCRYPT_PAD_PKCS1_FLAG,
    NCRYPT_PIN_PROPERTY,
    NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
    NCRYPT_READER_PROPERTY,
    NCRYPT_SECURITY_DESCR_PROPERTY,
    NCRYPT_UNIQUE_NAME_PROPERTY,
    PRIVATEKEYBLOB,
    PUBLICKEYBLOB,
)
from capi.errors import (
    NTE_BAD_ALGID,
    NTE_BAD_DATA,
    NTE_BAD_FLAGS,
    NTE_BAD_HASH,
    NTE_BAD_KEY,
    NTE_BAD_KEY_STATE,
    NTE_BAD_KEYSET,
    NTE_BAD_LEN,
    NTE_BAD_SIGNATURE,
    NTE_BAD_TYPE,
    NTE_EXISTS,
    NTE_FAIL,
    NTE_INVALID_HANDLE,
    NTE_INVALID_PARAMETER,
    NTE_NO_KEY,
    NTE_NOT_FOUND,
    NTE_NOT_SUPPORTED,
    NTE_PERM,
    NTE_PROV_DLL_NOT_FOUND,
    NTE_PROVIDER_DLL_FAIL,
    NTE_SILENT_CONTEXT,
    NTE_TOKEN_KEYSET_STORAGE_FULL,
    SCARD_E_NO_SMARTCARD,
    SCARD_W_CARD_NOT_AUTHENTICATED,
    SCARD_W_CHV_BLOCKED,
    SCARD_W_REMOVED_CARD,
    SCARD_W_WRONG_CHV,
    WinError,
)
from capi.formats import blobs
from csp.base import CspContainer, CspProvider, KeyInfo, KeyPair, KeyScope, KspKey, KspProvider

__all__ = [
    "PKCS11_ERRORS", "map_pkcs11_errors", "Pkcs11Module", "TokenLink", "TokenBinding",
    "load_module", "reinitialize_module", "drop_token", "Pkcs11CSP", "Pkcs11Container",
    "Pkcs11KSP", "Pkcs11Key", "TokenPrivateKey", "key_id_for",
]

# ---------------------------------------------------------------------------------------
# PKCS#11 error -> Windows code: one table, first match wins (subclasses before bases).
# ---------------------------------------------------------------------------------------

PKCS11_ERRORS: tuple[tuple[type[BaseException], int], ...] = (
    # The smart card minidriver's PIN results (SCARD_W_*: winerror.h).
    (p11e.PinIncorrect, SCARD_W_WRONG_CHV),
    (p11e.PinInvalid, SCARD_W_WRONG_CHV),
    (p11e.PinLenRange, SCARD_W_WRONG_CHV),
    (p11e.PinLocked, SCARD_W_CHV_BLOCKED),
    (p11e.UserNotLoggedIn, SCARD_W_CARD_NOT_AUTHENTICATED),
    # The token went away under an open handle.
    (p11e.TokenNotPresent, SCARD_W_REMOVED_CARD),
    (p11e.DeviceRemoved, SCARD_W_REMOVED_CARD),
    (p11e.SessionClosed, SCARD_W_REMOVED_CARD),
    (p11e.SessionHandleInvalid, SCARD_W_REMOVED_CARD),
    # No token with the label at all.
    (p11e.NoSuchToken, SCARD_E_NO_SMARTCARD),
    (p11e.TokenNotRecognised, SCARD_E_NO_SMARTCARD),
    (p11e.SlotIDInvalid, SCARD_E_NO_SMARTCARD),
    # Objects and their attributes.
    (p11e.NoSuchKey, NTE_BAD_KEYSET),
    (p11e.ObjectHandleInvalid, NTE_BAD_KEYSET),
    (p11e.KeyHandleInvalid, NTE_BAD_KEYSET),
    (p11e.AttributeSensitive, NTE_BAD_KEY_STATE),
    (p11e.KeyUnextractable, NTE_BAD_KEY_STATE),
    (p11e.KeyTypeInconsistent, NTE_BAD_KEY),
    (p11e.DeviceMemory, NTE_TOKEN_KEYSET_STORAGE_FULL),
    # Data.
    (p11e.DataLenRange, NTE_BAD_LEN),
    (p11e.DataInvalid, NTE_BAD_DATA),
    (p11e.EncryptedDataInvalid, NTE_BAD_DATA),
    (p11e.EncryptedDataLenRange, NTE_BAD_DATA),
    (p11e.SignatureInvalid, NTE_BAD_SIGNATURE),
    (p11e.SignatureLenRange, NTE_BAD_SIGNATURE),
    (p11e.MechanismInvalid, NTE_BAD_ALGID),
    (p11e.MechanismParamInvalid, NTE_INVALID_PARAMETER),
    (p11e.ArgumentsBad, NTE_INVALID_PARAMETER),
    (p11e.KeySizeRange, NTE_BAD_FLAGS),
    (p11e.TemplateInconsistent, NTE_BAD_FLAGS),
    (p11e.AttributeValueInvalid, NTE_BAD_FLAGS),
    # Anything else the token reports.
    (p11e.PKCS11Error, NTE_FAIL),
)


def _translate(exc: BaseException, default: int) -> WinError:
    for cls, code in PKCS11_ERRORS:
        if isinstance(exc, cls):
            if cls is p11e.PKCS11Error:
                code = default
            return _errors.win32_failure(code, detail=f"PKCS#11: {type(exc).__name__} {exc}".strip())
    return _errors.win32_failure(default, detail=repr(exc))


@contextlib.contextmanager
def map_pkcs11_errors(default: int = NTE_FAIL) -> Iterator[None]:
    """Translate python-pkcs11 exceptions raised inside the block to :class:`WinError`."""
    try:
        yield
    except p11e.PKCS11Error as exc:
        raise _translate(exc, default) from exc


# ---------------------------------------------------------------------------------------
# Modules and token links (process-wide; one per canonical module path / token label).
# ---------------------------------------------------------------------------------------

_registry_lock = threading.RLock()
_modules: dict[str, Pkcs11Module] = {}


class Pkcs11Module:
    """A loaded PKCS#11 library (loaded once per process under its canonical path)."""

    def __init__(self, path: str, lib):
        self.path = path
        self.lib = lib
        self.links: dict[str, TokenLink] = {}

    def link(self, label: str) -> TokenLink:
        with _registry_lock:
            link = self.links.get(label)
            if link is None:
                link = self.links[label] = TokenLink(self, label)
            return link

    def find_token(self, label: str):
        with map_pkcs11_errors(SCARD_E_NO_SMARTCARD):
            return self.lib.get_token(token_label=label)


def canonical_module_path(path: str) -> str:
    """The one path a module is loaded under (a symlink and its target must not both be
    loaded: SoftHSM then fails with "already initialized", docs/windows-facts.md §6 pitfall 6)."""
    return os.path.realpath(os.fspath(path))


def _clear_module_openssl_errors(path: str) -> None:
    """Empty the calling thread's error queue of the OpenSSL the module at ``path`` uses.

    SoftHSM's C_Initialize looks for OpenSSL's "rdrand" engine with ENGINE_by_id and goes on
    without it, leaving NO_SUCH_ENGINE in the queue (SoftHSMv2
    src/lib/crypto/OSSLCryptoFactory.cpp, OSSLCryptoFactory::OSSLCryptoFactory). The next
    OpenSSL caller on the thread reports that stale error as its own: Python's ``ssl``
    (the same libcrypto here) fails ``load_verify_locations`` with it. A handle opened with
    RTLD_NOLOAD looks the symbol up in the loaded module and its dependencies, so this is
    the module's own libcrypto, whichever; a module without OpenSSL has nothing to clear."""
    try:
        clear = ctypes.CDLL(path, mode=os.RTLD_NOLOAD).ERR_clear_error
    except (OSError, AttributeError):
        return
    clear.restype = None
    clear.argtypes = []
    clear()


def load_module(path: str) -> Pkcs11Module:
    """Load (once) the PKCS#11 module at ``path``.

    CryptAcquireContext's documented codes for a provider DLL: a file that does not exist
    is NTE_PROV_DLL_NOT_FOUND, one that "could not be loaded or failed to initialize" is
    NTE_PROVIDER_DLL_FAIL (MicrosoftDocs sdk-api, nf-wincrypt-cryptacquirecontextw.md).
    """
    if not path or not os.path.isfile(path):
        raise _errors.win32_failure(NTE_PROV_DLL_NOT_FOUND, detail=f"no module at {path!r}")
    canon = canonical_module_path(path)
    with _registry_lock:
        module = _modules.get(canon)
        if module is not None:
            if not module.lib.initialized:
                with map_pkcs11_errors(NTE_PROVIDER_DLL_FAIL):
                    module.lib.initialize()
                _clear_module_openssl_errors(canon)
            return module
        try:
            lib = pkcs11.lib(canon)
        except p11e.PKCS11Error as exc:
            raise _translate(exc, NTE_PROVIDER_DLL_FAIL) from exc
        except (OSError, RuntimeError) as exc:
            raise _errors.win32_failure(NTE_PROVIDER_DLL_FAIL, detail=str(exc)) from exc
        _clear_module_openssl_errors(canon)
        module = _modules[canon] = Pkcs11Module(canon, lib)
        return module


def reinitialize_module(path: str) -> None:
    """C_Finalize + C_Initialize: the module re-reads its configuration (SoftHSM sees
    tokens initialised since it was loaded). Every link's session is dropped first."""
    module = load_module(path)
    with _registry_lock:
        for link in list(module.links.values()):
            link.drop()
        with map_pkcs11_errors(NTE_PROVIDER_DLL_FAIL):
            module.lib.reinitialize()
        _clear_module_openssl_errors(module.path)


def drop_token(label: str) -> None:
    """Close this process's session (and login) on every token named ``label``."""
    with _registry_lock:
        for module in _modules.values():
            link = module.links.get(label)
            if link is not None:
                link.drop()


def registration_key(machine, provider_name: str) -> tuple:
    """Who authenticates on a token: one provider registration on one machine."""
    where = os.fspath(machine.path) if machine is not None else None
    return where, str(provider_name).lower()


def _pin_digest(pin: str) -> bytes:
    return hashlib.sha256(pin.encode("utf-8")).digest()


class TokenLink:
    """This process's one session and one login on a token, shared by all handles."""

    def __init__(self, module: Pkcs11Module, label: str):
        self.module = module
        self.label = label
        self.lock = threading.RLock()
        self.session = None
        self.logged_in = False
        self.generation = 0
        self.refs = 0
        self._good_pin: bytes | None = None
        # The registrations (registration_key) that presented the PIN on this login: the
        # login is the process's, but each registration authenticates for itself.
        self._authenticated: set = set()

    # -- reference counting ---------------------------------------------------------------

    def acquire(self) -> None:
        with self.lock:
            self._ensure_session()
            self.refs += 1

    def release(self) -> None:
        with self.lock:
            self.refs = max(0, self.refs - 1)
            if self.refs == 0:
                self.drop()

    # -- session and login ----------------------------------------------------------------

    def _ensure_session(self):
        if self.session is None:
            token = self.module.find_token(self.label)
            with map_pkcs11_errors():
                self.session = token.open(rw=True)
            self.logged_in = False
            self._authenticated.clear()
            self.generation += 1
        return self.session

    def open_session(self):
        with self.lock:
            return self._ensure_session()

    def authenticated(self, who) -> bool:
        """Whether the registration ``who`` presented the PIN on the current login."""
        with self.lock:
            return self.logged_in and who in self._authenticated

    def login(self, pin: str, who=None) -> None:
        """Log in with ``pin`` once; later PINs are checked against the login's PIN (the
        token has one user PIN, and a second C_Login would fail with
        CKR_USER_ALREADY_LOGGED_IN, docs/windows-facts.md §6 pitfall 4). ``who`` (a
        registration_key) is then authenticated on this login."""
        with self.lock:
            self._ensure_session()
            if self.logged_in:
                if self._good_pin is not None and not hmac.compare_digest(self._good_pin, _pin_digest(pin)):
                    raise _errors.win32_failure(SCARD_W_WRONG_CHV, detail="PIN differs from the token's")
                self._authenticated.add(who)
                return
            token = self.module.find_token(self.label)
            try:
                user = token.open(rw=True, user_pin=pin)
            except p11e.UserAlreadyLoggedIn:
                # Someone else in this process (e.g. raw python-pkcs11 code) logged in.
                self.logged_in = True
                self._authenticated.add(who)
                return
            except p11e.PKCS11Error as exc:
                raise _translate(exc, NTE_FAIL) from exc
            old, self.session = self.session, user
            self.logged_in = True
            self._authenticated = {who}
            self._good_pin = _pin_digest(pin)
            self.generation += 1
            with contextlib.suppress(p11e.PKCS11Error):
                old.close()

    def drop(self) -> None:
        """Forget the session (logout + close when possible); open handles go stale."""
        with self.lock:
            session, self.session = self.session, None
            self.logged_in = False
            self._good_pin = None
            self._authenticated.clear()
            self.generation += 1
            if session is not None:
                with contextlib.suppress(p11e.PKCS11Error):
                    session.close()

    # -- object helpers (callers hold no lock; every call takes it) ---------------------------

    def find(self, template: dict) -> list:
        with self.lock, map_pkcs11_errors():
            # Consume the iterator fully: a half-read search leaves the session busy
            # (OperationActive, python-pkcs11 docs/concurrency.rst).
            return list(self._ensure_session().get_objects(template))


# ---------------------------------------------------------------------------------------
# Binding: which token, which PIN, and the machine-side presence state.
# ---------------------------------------------------------------------------------------


@dataclass
class TokenBinding:
    """A provider's token: module path, label, registration PIN, and the callbacks
    ``csp.tokens`` supplies for the removal state kept in the machine database."""

    module_path: str
    token_label: str
    pin: str | None = None
    # (machine, label) -> (present, insertion number); None: always present.
    presence: object = None
    # (machine) -> PIN kept with the registration (DPAPI-protected there).
    pin_source: object = None

    def registered_pin(self, machine) -> str | None:
        if self.pin is not None:
            return self.pin
        if self.pin_source is not None and machine is not None:
            return self.pin_source(machine)
        return None

    def state(self, machine) -> tuple[bool, int]:
        if self.presence is None or machine is None:
            return True, 0
        return self.presence(machine, self.token_label)


_DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}
# DER DigestInfo prefixes (RFC 8017 §9.2), encoded once by asn1crypto: for a fixed hash the
# encoding is a constant prefix followed by the digest.
_DIGEST_INFO_PREFIX = {
    name: algos.DigestInfo({"digest_algorithm": {"algorithm": name, "parameters": Null()},
                            "digest": bytes(size)}).dump()[:-size]
    for name, size in _DIGEST_SIZES.items()
}


def digest_info(hash_name: str, digest: bytes) -> bytes:
    """DER DigestInfo {AlgorithmIdentifier {oid, NULL}, OCTET STRING digest}."""
    if len(digest) != _DIGEST_SIZES[hash_name]:
        raise _errors.win32_failure(NTE_BAD_HASH, detail="hash length")
    return _DIGEST_INFO_PREFIX[hash_name] + digest


def key_id_for(public_key) -> bytes:
    """CKA_ID: SHA-1 of the RSA modulus (big-endian) or of the uncompressed EC point."""
    if isinstance(public_key, rsa.RSAPublicKey):
        n = public_key.public_numbers().n
        value = n.to_bytes((n.bit_length() + 7) // 8, "big")
    else:
        value = public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return hashlib.sha1(value).digest()


_CURVE_OIDS = {"secp256r1": "1.2.840.10045.3.1.7", "secp384r1": "1.3.132.0.34"}
_CURVE_BY_OID = {v: k for k, v in _CURVE_OIDS.items()}
_CNG_CURVES = {"ECDSA_P256": "secp256r1", "ECDSA_P384": "secp384r1"}
_CNG_BY_CURVE = {v: k for k, v in _CNG_CURVES.items()}
RSA_ALGORITHM = "RSA"


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _public_from_object(obj):
    """A cryptography public key from a CKO_PUBLIC_KEY object."""
    key_type = obj[Attribute.KEY_TYPE]
    if key_type == KeyType.RSA:
        n = int.from_bytes(obj[Attribute.MODULUS], "big")
        e = int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if key_type == KeyType.EC:
        params = asn1_keys.ECDomainParameters.load(obj[Attribute.EC_PARAMS])
        curve_name = _CURVE_BY_OID.get(params.chosen.dotted if params.name == "named" else "")
        if curve_name is None:
            raise _errors.win32_failure(NTE_BAD_KEY, detail="unsupported EC domain parameters")
        # CKA_EC_POINT is a DER OCTET STRING wrapping the X9.62 point (PKCS#11 v2.40 §2.3.3).
        raw = OctetString.load(obj[Attribute.EC_POINT]).native
        curve = ec.SECP256R1() if curve_name == "secp256r1" else ec.SECP384R1()
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
    raise _errors.win32_failure(NTE_BAD_KEY, detail=f"key type {key_type!r}")


def _cng_algorithm_of(obj) -> str:
    """The CNG algorithm name of a CKO_PUBLIC_KEY object."""
    if _attr(obj, Attribute.KEY_TYPE, None) == KeyType.EC:
        try:
            params = asn1_keys.ECDomainParameters.load(obj[Attribute.EC_PARAMS])
            curve = _CURVE_BY_OID.get(params.chosen.dotted if params.name == "named" else "")
        except (ValueError, TypeError, KeyError):
            curve = None
        return _CNG_BY_CURVE.get(curve, "ECDSA")
    return RSA_ALGORITHM


class TokenPrivateKey(rsa.RSAPrivateKey):
    """An RSA private key that lives on the token: sign/decrypt run there; the private
    numbers are never available. Lets code that holds ``KeyPair.private`` use a token key
    as it uses a software one."""

    def __init__(self, owner, spec: int, public: rsa.RSAPublicKey):
        self._owner = owner
        self._spec = spec
        self._public = public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(self, data, padding_, algorithm):
        if isinstance(algorithm, asym_utils.Prehashed):
            digest, alg = bytes(data), algorithm._algorithm
        elif isinstance(algorithm, asym_utils.NoDigestInfo):
            digest, alg = bytes(data), None
        else:
            h = hashes.Hash(algorithm)
            h.update(bytes(data))
            digest, alg = h.finalize(), algorithm
        if isinstance(padding_, padding.PSS):
            salt = padding_._salt_length
            if not isinstance(salt, int):
                salt = alg.digest_size
            return self._owner._sign_pss(self._spec, digest, alg.name, salt)
        if not isinstance(padding_, padding.PKCS1v15):
            raise _errors.win32_failure(NTE_BAD_FLAGS, detail="padding")
        return self._owner._sign_pkcs1(self._spec, digest, alg.name if alg else None)

    def decrypt(self, ciphertext: bytes, padding_) -> bytes:
        return self._owner._decrypt(self._spec, bytes(ciphertext), isinstance(padding_, padding.OAEP))

    def private_numbers(self):
        raise _errors.win32_failure(NTE_BAD_KEY_STATE, detail="key lives on the token")

    def private_bytes(self, encoding, format, encryption_algorithm):
        raise _errors.win32_failure(NTE_BAD_KEY_STATE, detail="key lives on the token")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# ---------------------------------------------------------------------------------------
# The shared core of a container / CNG key name on a token.
# ---------------------------------------------------------------------------------------


@dataclass
class _Slot:
    spec: int
    key_type: object
    public: object
    key_id: bytes
    extractable: bool
    can_decrypt: bool
    can_sign: bool
    certificate: bytes | None


class TokenHandle:
    """Per-handle state: the link reference, the PIN, the presence stamp, cached objects."""

    def __init__(self, provider, scope: KeyScope, name: str | None):
        self.provider = provider
        self.scope = scope
        self.binding: TokenBinding = provider.binding
        self.silent = bool(getattr(scope, "silent", False))
        self.pin: str | None = None
        present, self._insertion = self.binding.state(scope.machine)
        if not present:
            raise _errors.win32_failure(SCARD_E_NO_SMARTCARD,
                                        detail=f"token {self.binding.token_label!r} is removed")
        self.link = load_module(self.binding.module_path).link(self.binding.token_label)
        self.who = registration_key(scope.machine, provider.name)
        self.link.acquire()
        self._closed = False
        self.name = name
        self._objects: dict[int, object] = {}
        self._objects_generation = -1

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.link.release()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    # -- checks -------------------------------------------------------------------------

    def check_present(self) -> None:
        if self._closed:
            raise _errors.win32_failure(NTE_INVALID_HANDLE)
        present, insertion = self.binding.state(self.scope.machine)
        if not present or insertion != self._insertion:
            # An open handle on a card that was pulled (even if put back since) is dead.
            raise _errors.win32_failure(SCARD_W_REMOVED_CARD,
                                        detail=f"token {self.binding.token_label!r} was removed")

    def ensure_login(self, checked: bool = False) -> None:
        if not checked:
            self.check_present()
        # The process's login counts only for a registration that presented the PIN
        # itself (its own registered PIN, or one set on this handle); other
        # registrations of the token get the missing-PIN behaviour below.
        if self.pin is None and self.link.authenticated(self.who):
            return
        pin = self.pin if self.pin is not None else self.binding.registered_pin(self.scope.machine)
        if pin is None:
            # CRYPT_SILENT: "If the CSP must display the UI to operate, the call fails and
            # the NTE_SILENT_CONTEXT error code is set" (CryptAcquireContext docs). Without
            # it Windows would prompt; there is no one to prompt here.
            code = NTE_SILENT_CONTEXT if self.silent else SCARD_W_CARD_NOT_AUTHENTICATED
            raise _errors.win32_failure(code, detail="a PIN is needed")
        self.link.login(pin, self.who)

    def set_pin(self, pin) -> None:
        if isinstance(pin, (bytes, bytearray)):
            pin = bytes(pin).split(b"\0", 1)[0].decode("utf-8")
        if not isinstance(pin, str):
            raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="PIN")
        self.check_present()
        # Verify at once, as the card does when the PIN is presented.
        self.link.login(pin, self.who)
        self.pin = pin

    # -- reading the token ----------------------------------------------------------------

    def try_login(self) -> bool:
        """Log in if a PIN is at hand; a missing or wrong PIN surfaces later, at the
        operation that needs it (opening a card container needs no PIN on Windows)."""
        try:
            self.ensure_login()
            return True
        except WinError:
            return False

    def read_slots(self, name: str) -> dict[int, _Slot]:
        self.check_present()
        logged_in = self.try_login()
        slots: dict[int, _Slot] = {}
        link = self.link
        with link.lock, map_pkcs11_errors():
            session = link.open_session()
            pubs = list(session.get_objects(
                {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: name}))
            certs = {c[Attribute.ID]: c[Attribute.VALUE] for c in list(session.get_objects(
                {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: name}))}
            privs = {}
            if logged_in:
                # Private objects are visible only after login; their CKA_EXTRACTABLE is
                # what decides exportability.
                for priv in list(session.get_objects(
                        {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: name})):
                    privs[priv[Attribute.ID]] = priv
            if self._objects_generation != link.generation:
                self._objects.clear()
                self._objects_generation = link.generation
            for pub in pubs:
                can_decrypt = bool(_attr(pub, Attribute.ENCRYPT, False) or _attr(pub, Attribute.WRAP, False))
                spec = AT_KEYEXCHANGE if can_decrypt else AT_SIGNATURE
                key_id = pub[Attribute.ID]
                priv = privs.get(key_id)
                extractable = bool(priv is not None and _attr(priv, Attribute.EXTRACTABLE, False)
                                   and not _attr(priv, Attribute.SENSITIVE, True))
                if priv is not None:
                    self._objects[spec] = priv
                slots[spec] = _Slot(spec, pub[Attribute.KEY_TYPE], _public_from_object(pub), key_id,
                                    extractable, can_decrypt, True, certs.get(key_id))
        return slots

    def private_object(self, slot: _Slot):
        """The private key object for ``slot`` (found once per session generation)."""
        link = self.link
        if self._objects_generation == link.generation and link.authenticated(self.who):
            obj = self._objects.get(slot.spec)
            if obj is not None:
                return obj
        self.ensure_login(checked=True)
        if self._objects_generation != link.generation:
            self._objects.clear()
            self._objects_generation = link.generation
        obj = self._objects.get(slot.spec)
        if obj is None:
            found = link.find({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: slot.key_id,
                               Attribute.LABEL: self.name})
            if not found:
                raise _errors.win32_failure(NTE_BAD_KEYSET, detail="private key object missing")
            obj = self._objects[slot.spec] = found[0]
        return obj

    def run(self, fn):
        """Run ``fn()`` on the link's session under its lock, translating errors (as
        map_pkcs11_errors does, without a generator: this runs for every signature)."""
        with self.link.lock:
            try:
                return fn()
            except p11e.PKCS11Error as exc:
                raise _translate(exc, NTE_FAIL) from exc

    # -- writing the token ----------------------------------------------------------------

    def destroy(self, name: str, key_id: bytes | None = None) -> int:
        self.ensure_login()
        template = {Attribute.LABEL: name}
        if key_id is not None:
            template[Attribute.ID] = key_id
        count = 0
        link = self.link
        with link.lock, map_pkcs11_errors():
            for obj in list(link.open_session().get_objects(template)):
                obj.destroy()
                count += 1
        self._objects.clear()
        return count

    def store_private(self, name: str, private_key, *, keyx: bool, exportable: bool) -> _Slot:
        """Create the private and public key objects of an imported key on the token."""
        self.ensure_login()
        public = private_key.public_key()
        key_id = key_id_for(public)
        common = {Attribute.TOKEN: True, Attribute.LABEL: name, Attribute.ID: key_id}
        if isinstance(private_key, rsa.RSAPrivateKey):
            pn = private_key.private_numbers()
            pub = pn.public_numbers
            key_type = KeyType.RSA
            priv_attrs = {
                Attribute.MODULUS: _int_bytes(pub.n), Attribute.PUBLIC_EXPONENT: _int_bytes(pub.e),
                Attribute.PRIVATE_EXPONENT: _int_bytes(pn.d), Attribute.PRIME_1: _int_bytes(pn.p),
                Attribute.PRIME_2: _int_bytes(pn.q), Attribute.EXPONENT_1: _int_bytes(pn.dmp1),
                Attribute.EXPONENT_2: _int_bytes(pn.dmq1), Attribute.COEFFICIENT: _int_bytes(pn.iqmp),
            }
            pub_attrs = {Attribute.MODULUS: _int_bytes(pub.n),
                         Attribute.PUBLIC_EXPONENT: _int_bytes(pub.e)}
        elif isinstance(private_key, ec.EllipticCurvePrivateKey):
            key_type = KeyType.EC
            params = _ec_params(private_key.curve.name)
            size = (private_key.curve.key_size + 7) // 8
            priv_attrs = {Attribute.EC_PARAMS: params,
                          Attribute.VALUE: private_key.private_numbers().private_value.to_bytes(size, "big")}
            pub_attrs = {Attribute.EC_PARAMS: params, Attribute.EC_POINT: _ec_point(public)}
            keyx = False
        else:
            raise _errors.win32_failure(NTE_BAD_ALGID, detail=type(private_key).__name__)
        usage = _usage_attrs(keyx)
        link = self.link
        with link.lock, map_pkcs11_errors():
            session = link.open_session()
            pub_obj = session.create_object({
                **common, Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: key_type,
                Attribute.PRIVATE: False,
                Attribute.VERIFY: True, Attribute.ENCRYPT: keyx, Attribute.WRAP: keyx, **pub_attrs})
            try:
                session.create_object({
                    **common, Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: key_type,
                    Attribute.PRIVATE: True, Attribute.SENSITIVE: not exportable,
                    Attribute.EXTRACTABLE: exportable, **usage, **priv_attrs})
            except BaseException:
                with contextlib.suppress(p11e.PKCS11Error):
                    pub_obj.destroy()
                raise
        self._objects.clear()
        return _Slot(AT_KEYEXCHANGE if keyx else AT_SIGNATURE, key_type, public, key_id,
                     exportable, keyx, True, None)

    def generate(self, name: str, *, algorithm: str, bits: int, keyx: bool,
                 exportable: bool) -> _Slot:
        """Generate a key pair on the token (CKM_RSA_PKCS_KEY_PAIR_GEN / CKM_EC_KEY_PAIR_GEN)."""
        self.ensure_login()
        temp_id = os.urandom(20)
        usage = _usage_attrs(keyx)
        pub_tpl = {Attribute.PRIVATE: False,
                   Attribute.VERIFY: True, Attribute.ENCRYPT: keyx, Attribute.WRAP: keyx}
        priv_tpl = {Attribute.PRIVATE: True, Attribute.SENSITIVE: not exportable,
                    Attribute.EXTRACTABLE: exportable, **usage}
        link = self.link
        with link.lock, map_pkcs11_errors():
            session = link.open_session()
            if algorithm == RSA_ALGORITHM:
                pub_obj, priv_obj = session.generate_keypair(
                    KeyType.RSA, bits, id=temp_id, label=name, store=True,
                    public_template=pub_tpl, private_template=priv_tpl)
            else:
                params = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: _ec_params(_CNG_CURVES[algorithm])}, local=True)
                pub_obj, priv_obj = params.generate_keypair(
                    id=temp_id, label=name, store=True,
                    public_template={k: v for k, v in pub_tpl.items()
                                     if k not in (Attribute.ENCRYPT, Attribute.WRAP)},
                    private_template={k: v for k, v in priv_tpl.items()
                                      if k not in (Attribute.DECRYPT, Attribute.UNWRAP)})
            public = _public_from_object(pub_obj)
            key_id = key_id_for(public)
            try:
                pub_obj[Attribute.ID] = key_id
                priv_obj[Attribute.ID] = key_id
            except BaseException:
                with contextlib.suppress(p11e.PKCS11Error):
                    pub_obj.destroy()
                    priv_obj.destroy()
                raise
        self._objects.clear()
        key_type = KeyType.RSA if algorithm == RSA_ALGORITHM else KeyType.EC
        return _Slot(AT_KEYEXCHANGE if keyx else AT_SIGNATURE, key_type, public, key_id,
                     exportable, keyx, True, None)

    def write_certificate(self, name: str, slot: _Slot, der: bytes) -> None:
        self.ensure_login()
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
        except ValueError as exc:
            raise _errors.win32_failure(NTE_BAD_DATA, detail="not a certificate") from exc
        link = self.link
        with link.lock, map_pkcs11_errors():
            session = link.open_session()
            for old in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                                 Attribute.LABEL: name, Attribute.ID: slot.key_id})):
                old.destroy()
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.PRIVATE: False,
                Attribute.LABEL: name, Attribute.ID: slot.key_id,
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                Attribute.VALUE: bytes(der)})
        slot.certificate = bytes(der)

    def extract_private(self, slot: _Slot):
        """Read an extractable private key's components (export of exportable keys)."""
        if not slot.extractable:
            raise _errors.win32_failure(NTE_BAD_KEY_STATE, detail="key is not exportable")
        obj = self.private_object(slot)

        def read():
            if slot.key_type == KeyType.RSA:
                a = obj.get_attributes([Attribute.PRIVATE_EXPONENT, Attribute.PRIME_1,
                                        Attribute.PRIME_2, Attribute.EXPONENT_1,
                                        Attribute.EXPONENT_2, Attribute.COEFFICIENT])
                v = {k: int.from_bytes(b, "big") for k, b in a.items()}
                return rsa.RSAPrivateNumbers(
                    v[Attribute.PRIME_1], v[Attribute.PRIME_2], v[Attribute.PRIVATE_EXPONENT],
                    v[Attribute.EXPONENT_1], v[Attribute.EXPONENT_2], v[Attribute.COEFFICIENT],
                    slot.public.public_numbers()).private_key()
            value = int.from_bytes(obj[Attribute.VALUE], "big")
            return ec.derive_private_key(value, slot.public.curve)

        return self.run(read)

    # -- operations on the token ---------------------------------------------------------

    def sign_pkcs1(self, slot: _Slot, digest: bytes, hash_name: str | None) -> bytes:
        obj = self.private_object(slot)
        data = digest_info(hash_name, digest) if hash_name else digest
        return self.run(lambda: obj.sign(data, mechanism=Mechanism.RSA_PKCS))

    def sign_pss(self, slot: _Slot, digest: bytes, hash_name: str, salt: int) -> bytes:
        obj = self.private_object(slot)
        mech, mgf = _PSS_PARAMS[hash_name]
        return self.run(lambda: obj.sign(digest, mechanism=Mechanism.RSA_PKCS_PSS,
                                         mechanism_param=(mech, mgf, salt)))

    def sign_ecdsa(self, slot: _Slot, digest: bytes) -> bytes:
        obj = self.private_object(slot)
        # CKM_ECDSA returns r||s, each the size of the order: CNG's format exactly.
        return self.run(lambda: obj.sign(digest, mechanism=Mechanism.ECDSA))

    def decrypt(self, slot: _Slot, data: bytes, oaep: bool, oaep_hash: str = "sha1",
                label: bytes | None = None) -> bytes:
        if not slot.can_decrypt:
            raise _errors.win32_failure(NTE_BAD_KEY, detail="signature key cannot decrypt")
        obj = self.private_object(slot)
        if oaep:
            mech, mgf = _PSS_PARAMS[oaep_hash]
            return self.run(lambda: obj.decrypt(data, mechanism=Mechanism.RSA_PKCS_OAEP,
                                                mechanism_param=(mech, mgf, label)))
        return self.run(lambda: obj.decrypt(data, mechanism=Mechanism.RSA_PKCS))


_PSS_PARAMS = {
    "sha1": (Mechanism.SHA_1, MGF.SHA1),
    "sha224": (Mechanism.SHA224, MGF.SHA224),
    "sha256": (Mechanism.SHA256, MGF.SHA256),
    "sha384": (Mechanism.SHA384, MGF.SHA384),
    "sha512": (Mechanism.SHA512, MGF.SHA512),
}

def _attr(obj, attribute, default):
    try:
        return obj[attribute]
    except (p11e.AttributeTypeInvalid, p11e.AttributeSensitive, KeyError):
        return default


def _usage_attrs(keyx: bool) -> dict:
    return {Attribute.SIGN: True, Attribute.DECRYPT: keyx, Attribute.UNWRAP: keyx}


def _ec_params(curve_name: str) -> bytes:
    return asn1_keys.ECDomainParameters(name="named", value=_CURVE_OIDS[curve_name]).dump()


def _ec_point(public) -> bytes:
    return OctetString(public.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)).dump()


def _der_integer(value: int) -> bytes:
    return Integer(value).dump()


# ---------------------------------------------------------------------------------------
# CryptoAPI: the smart-card / HSM CSP.
# ---------------------------------------------------------------------------------------

SPEC_FOR_ALG = {CALG_RSA_KEYX: AT_KEYEXCHANGE, CALG_RSA_SIGN: AT_SIGNATURE}
ALG_FOR_SPEC = {AT_KEYEXCHANGE: CALG_RSA_KEYX, AT_SIGNATURE: CALG_RSA_SIGN}
# KP_PERMISSIONS as the software CSPs report them (docs/windows-facts.md §2 #51/#52).
from csp.software import _HASHES_RSA_FULL, BASE_PERMISSIONS  # noqa: E402

# RSA_PKCS_KEY_PAIR_GEN limits are asked of the token; these fill in what it leaves out.
_DEFAULT_RSA_BITS = 2048
_RSA_INCREMENT = 8


class Pkcs11Container(CspContainer):
    """A CAPI container on a token: the key pairs labelled with its name."""

    def __init__(self, provider: Pkcs11CSP, scope: KeyScope, name: str, *, ephemeral=False):
        self.provider = provider
        self.scope = scope
        self.name = name
        self.unique_name = None if ephemeral else name
        self.machine_keyset = scope.machine_keyset
        self.ephemeral = ephemeral
        self.handle = TokenHandle(provider, scope, name)
        self._slots: dict[int, _Slot] | None = None
        self._pairs: dict[int, KeyPair] = {}

    hardware = True

    def close(self) -> None:
        self.handle.close()

    # -- slots --------------------------------------------------------------------------

    def _load(self) -> dict[int, _Slot]:
        if self._slots is None:
            self._slots = {} if self.ephemeral else self.handle.read_slots(self.name)
        return self._slots

    def _pair(self, slot: _Slot) -> KeyPair:
        pair = self._pairs.get(slot.spec)
        if pair is None or pair.public is not slot.public:
            perms = BASE_PERMISSIONS | (CRYPT_EXPORT if slot.extractable else 0)
            pair = KeyPair(slot.spec, ALG_FOR_SPEC[slot.spec], slot.public,
                           TokenPrivateKey(self, slot.spec, slot.public), perms, 0, slot.certificate)
            self._pairs[slot.spec] = pair
        return pair

    def _slot(self, spec: int) -> _Slot:
        self.handle.check_present()
        slot = self._load().get(spec)
        if slot is None:
            raise _errors.win32_failure(NTE_NO_KEY)
        return slot

    # -- CspContainer -------------------------------------------------------------------

    def get_key(self, spec: int) -> KeyPair:
        return self._pair(self._slot(spec))

    def _replace(self, spec: int, make) -> KeyPair:
        if self.ephemeral:
            raise _errors.win32_failure(NTE_BAD_KEYSET, detail="no container (VERIFYCONTEXT)")
        slots = self._load()
        old = slots.get(spec)
        slot = make()
        if old is not None:
            self.handle.destroy(self.name, old.key_id)
        slots[spec] = slot
        self._pairs.pop(spec, None)
        return self._pair(slot)

    def generate_key(self, spec: int, alg_id: int, bits: int, flags: int) -> KeyPair:
        if flags & CRYPT_USER_PROTECTED and self.handle.silent:
            raise _errors.win32_failure(NTE_SILENT_CONTEXT)
        return self._replace(spec, lambda: self.handle.generate(
            self.name, algorithm=RSA_ALGORITHM, bits=bits, keyx=spec == AT_KEYEXCHANGE,
            exportable=bool(flags & CRYPT_EXPORTABLE)))

    def import_key(self, private_key, alg_id: int, flags: int) -> KeyPair:
        spec = SPEC_FOR_ALG.get(alg_id)
        if spec is None:
            raise _errors.win32_failure(NTE_BAD_ALGID)
        if not isinstance(private_key, rsa.RSAPrivateKey) or isinstance(private_key, TokenPrivateKey):
            raise _errors.win32_failure(NTE_BAD_KEY, detail="needs an RSA private key")
        return self._replace(spec, lambda: self.handle.store_private(
            self.name, private_key, keyx=spec == AT_KEYEXCHANGE,
            exportable=bool(flags & CRYPT_EXPORTABLE)))

    def export_key(self, pair: KeyPair, blob_type: int) -> bytes:
        if blob_type == PUBLICKEYBLOB:
            return blobs.capi_public_blob(pair.public, pair.alg_id)
        if blob_type == PRIVATEKEYBLOB:
            if not pair.permissions & CRYPT_EXPORT:
                # Windows refuses a smart-card key's export like any non-exportable key.
                raise _errors.win32_failure(NTE_BAD_KEY_STATE, detail="key is not exportable")
            private = self.handle.extract_private(self._slot(pair.spec))
            return blobs.capi_private_blob(private, pair.alg_id)
        raise _errors.win32_failure(NTE_BAD_TYPE, detail=f"blob type {blob_type}")

    def _sign_pkcs1(self, spec: int, digest: bytes, hash_name: str | None) -> bytes:
        return self.handle.sign_pkcs1(self._slot(spec), digest, hash_name)

    def _sign_pss(self, spec: int, digest: bytes, hash_name: str, salt: int) -> bytes:
        return self.handle.sign_pss(self._slot(spec), digest, hash_name, salt)

    def _decrypt(self, spec: int, data: bytes, oaep: bool) -> bytes:
        return self.handle.decrypt(self._slot(spec), data, oaep)

    def sign_hash(self, pair: KeyPair, digest: bytes, hash_alg, with_oid: bool) -> bytes:
        name = hash_alg.name if (with_oid and hash_alg is not None) else None
        return self._sign_pkcs1(pair.spec, bytes(digest), name)

    def sign_pss(self, pair: KeyPair, digest: bytes, hash_alg, salt_length: int) -> bytes:
        return self._sign_pss(pair.spec, bytes(digest), hash_alg.name, salt_length)

    def decrypt(self, pair: KeyPair, ciphertext: bytes, oaep: bool) -> bytes:
        return self._decrypt(pair.spec, bytes(ciphertext), oaep)

    def set_key_param(self, pair: KeyPair, param: int, value) -> None:
        if param == KP_PERMISSIONS:
            if value & CRYPT_EXPORT and not pair.permissions & CRYPT_EXPORT:
                raise _errors.win32_failure(NTE_BAD_DATA, detail="cannot add CRYPT_EXPORT")
            pair.permissions = (value & ~CRYPT_EXPORT) | (pair.permissions & CRYPT_EXPORT)
            return
        if param == KP_CERTIFICATE:
            slot = self._slot(pair.spec)
            self.handle.write_certificate(self.name, slot, bytes(value))
            pair.certificate = bytes(value)
            return
        raise _errors.win32_failure(NTE_BAD_TYPE)

    def set_pin(self, pin) -> None:
        """CryptSetProvParam(PP_KEYEXCHANGE_PIN / PP_SIGNATURE_PIN)."""
        self.handle.set_pin(pin)

    def get_security_descriptor(self):
        # A card has no file ACL; CryptGetProvParam documents NTE_BAD_TYPE for a dwParam
        # the provider does not know.
        raise _errors.win32_failure(NTE_BAD_TYPE, detail="smart-card containers have no ACL")

    def set_security_descriptor(self, sd, info: int) -> None:
        raise _errors.win32_failure(NTE_BAD_TYPE, detail="smart-card containers have no ACL")


class _ProviderBase:
    hardware = True

    def __init__(self, name: str, binding: TokenBinding):
        self.name = name
        self.binding = binding

    def _names(self, scope: KeyScope) -> list[str]:
        handle = TokenHandle(self, scope, None)
        try:
            handle.check_present()
            objs = handle.link.find({Attribute.CLASS: ObjectClass.PUBLIC_KEY})
            names = []
            for obj in objs:
                label = _attr(obj, Attribute.LABEL, "")
                if label and label not in names:
                    names.append(label)
            return names
        finally:
            handle.close()

    def token_info(self):
        """The pkcs11 Token object (for reporting: label, serial, manufacturer)."""
        return load_module(self.binding.module_path).find_token(self.binding.token_label)

    def _rsa_limits(self) -> tuple[int, int]:
        token = self.token_info()
        with map_pkcs11_errors():
            info = token.slot.get_mechanism_info(Mechanism.RSA_PKCS_KEY_PAIR_GEN)
        return int(info.min_key_length), int(info.max_key_length)


class Pkcs11CSP(_ProviderBase, CspProvider):
    """A CryptoAPI provider whose containers live on one PKCS#11 token."""

    kind = "csp"

    def __init__(self, name: str, prov_type: int, binding: TokenBinding):
        super().__init__(name, binding)
        self.prov_type = prov_type

    def open_container(self, scope: KeyScope, name: str) -> Pkcs11Container:
        container = Pkcs11Container(self, scope, name)
        try:
            if not container._load():
                raise _errors.win32_failure(NTE_BAD_KEYSET, detail=f"no container {name!r}")
        except BaseException:
            container.close()
            raise
        return container

    def create_container(self, scope: KeyScope, name: str) -> Pkcs11Container:
        container = Pkcs11Container(self, scope, name)
        try:
            if container._load():
                raise _errors.win32_failure(NTE_EXISTS)
        except BaseException:
            container.close()
            raise
        # An empty container has no object on the token until a key is generated or
        # imported into it (a card's container map entry is written with its first key).
        return container

    def delete_container(self, scope: KeyScope, name: str) -> None:
        handle = TokenHandle(self, scope, name)
        try:
            if not handle.read_slots(name):
                raise _errors.win32_failure(NTE_BAD_KEYSET)
            handle.destroy(name)
        finally:
            handle.close()

    def enum_containers(self, scope: KeyScope) -> list[str]:
        return self._names(scope)

    def verify_context(self, scope: KeyScope) -> Pkcs11Container:
        return Pkcs11Container(self, scope, "", ephemeral=True)

    def hash_algorithms(self):
        return dict(_HASHES_RSA_FULL)

    def key_lengths(self, alg_id: int) -> tuple[int, int, int, int]:
        low, high = self._rsa_limits()
        default = _DEFAULT_RSA_BITS if low <= _DEFAULT_RSA_BITS <= high else high
        return low, high, default, _RSA_INCREMENT


# ---------------------------------------------------------------------------------------
# CNG: the smart-card / HSM KSP.
# ---------------------------------------------------------------------------------------

_GROUP = {"RSA": "RSA", "ECDSA_P256": "ECDSA", "ECDSA_P384": "ECDSA"}
_HASH_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384",
               "SHA512": "sha512"}
KSP_ALGORITHMS = ("RSA", "ECDSA_P256", "ECDSA_P384")


def _hash_name(alg) -> str | None:
    if alg is None:
        return None
    name = _HASH_NAMES.get(str(alg).upper())
    if name is None:
        raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=f"hash algorithm {alg!r}")
    return name


def _dword(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 4:
            raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="DWORD property")
        return int.from_bytes(value, "little")
    if not isinstance(value, int):
        raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="DWORD property")
    return value & 0xFFFFFFFF


class Pkcs11Key(KspKey):
    """A CNG key on a token: one key pair labelled with the key's name."""

    def __init__(self, provider: Pkcs11KSP, scope: KeyScope, algorithm: str, name: str | None,
                 legacy_spec: int = 0):
        self.provider = provider
        self.scope = scope
        self.algorithm = algorithm
        self.name = name
        self.legacy_spec = legacy_spec
        self.finalized = False
        self.overwrite = False
        self.length = _DEFAULT_RSA_BITS if algorithm == RSA_ALGORITHM else \
            blobs.curve_for(algorithm).key_size
        self.export_policy = 0
        self.key_usage = NCRYPT_ALLOW_ALL_USAGES
        self.pending_private = None
        self.slot: _Slot | None = None
        self.handle = TokenHandle(provider, scope, name)

    def close(self) -> None:
        self.handle.close()

    @property
    def public(self):
        """The key's public half (readable without a login), None before finalization."""
        return self.slot.public if self.slot is not None else None

    # -- helpers ------------------------------------------------------------------------

    def _from_slot(self, slot: _Slot) -> None:
        self.slot = slot
        if isinstance(slot.public, rsa.RSAPublicKey):
            self.algorithm = RSA_ALGORITHM
            self.length = slot.public.key_size
        else:
            self.algorithm = _CNG_BY_CURVE[slot.public.curve.name]
            self.length = slot.public.curve.key_size
        self.export_policy = (NCRYPT_ALLOW_EXPORT_FLAG | NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG) \
            if slot.extractable else 0
        self.key_usage = NCRYPT_ALLOW_SIGNING_FLAG | (NCRYPT_ALLOW_DECRYPT_FLAG if slot.can_decrypt else 0)
        self.finalized = True

    def _need_final(self) -> _Slot:
        if not self.finalized or self.slot is None:
            raise _errors.win32_failure(NTE_BAD_KEY_STATE, detail="key not finalized")
        self.handle.check_present()
        return self.slot

    # -- KspKey -------------------------------------------------------------------------

    def finalize(self, flags: int) -> None:
        if self.finalized:
            raise _errors.win32_failure(NTE_INVALID_HANDLE)
        if self.name is None:
            # Ephemeral keys do not go to the card.
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="keys on a token need a name")
        keyx = self.algorithm == RSA_ALGORITHM and bool(self.key_usage & NCRYPT_ALLOW_DECRYPT_FLAG)
        exportable = bool(self.export_policy & (NCRYPT_ALLOW_EXPORT_FLAG | NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG))
        existing = self.handle.read_slots(self.name)
        if existing and not self.overwrite:
            raise _errors.win32_failure(NTE_EXISTS)
        if self.pending_private is not None:
            slot = self.handle.store_private(self.name, self.pending_private, keyx=keyx,
                                             exportable=exportable)
        else:
            slot = self.handle.generate(self.name, algorithm=self.algorithm, bits=self.length,
                                        keyx=keyx, exportable=exportable)
        for old in existing.values():
            if old.key_id != slot.key_id:
                self.handle.destroy(self.name, old.key_id)
        self.pending_private = None
        self._from_slot(slot)

    def get_property(self, name: str, flags: int):
        prop = str(name)
        simple = {
            NCRYPT_ALGORITHM_PROPERTY: lambda: self.algorithm,
            NCRYPT_ALGORITHM_GROUP_PROPERTY: lambda: _GROUP[self.algorithm],
            NCRYPT_LENGTH_PROPERTY: lambda: self.length,
            NCRYPT_EXPORT_POLICY_PROPERTY: lambda: self.export_policy,
            NCRYPT_KEY_USAGE_PROPERTY: lambda: self.key_usage,
            NCRYPT_KEY_TYPE_PROPERTY: lambda: 0,
            NCRYPT_IMPL_TYPE_PROPERTY: lambda: NCRYPT_IMPL_HARDWARE_FLAG | NCRYPT_IMPL_REMOVABLE_FLAG,
            NCRYPT_READER_PROPERTY: lambda: self.provider.binding.token_label,
        }
        if prop in simple:
            return simple[prop]()
        if prop == NCRYPT_BLOCK_LENGTH_PROPERTY:
            if self.algorithm != RSA_ALGORITHM:
                raise _errors.win32_failure(NTE_NOT_SUPPORTED)
            return self.length // 8
        if prop == NCRYPT_LENGTHS_PROPERTY:
            # (min, max, increment, default): the token's RSA range, a curve's one size.
            if self.algorithm == RSA_ALGORITHM:
                low, high = self.provider._rsa_limits()
                return low, high, _RSA_INCREMENT, _DEFAULT_RSA_BITS
            return self.length, self.length, 0, self.length
        if prop == BCRYPT_PUBLIC_KEY_LENGTH:
            return self.length
        if prop == BCRYPT_SIGNATURE_LENGTH:
            size = (self.length + 7) // 8
            return size if self.algorithm == RSA_ALGORITHM else 2 * size
        if prop in (NCRYPT_NAME_PROPERTY, NCRYPT_UNIQUE_NAME_PROPERTY):
            if self.name is None:
                raise _errors.win32_failure(NTE_NOT_SUPPORTED)
            return self.name
        if prop == NCRYPT_CERTIFICATE_PROPERTY:
            slot = self._need_final()
            if slot.certificate is None:
                raise _errors.win32_failure(NTE_NOT_FOUND)
            return slot.certificate
        raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail=f"property {prop!r}")

    def set_property(self, name: str, value, flags: int) -> None:
        prop = str(name)
        if prop == NCRYPT_PIN_PROPERTY:
            self.handle.set_pin(value)
            return
        if prop == NCRYPT_LENGTH_PROPERTY:
            if self.finalized:
                raise _errors.win32_failure(NTE_BAD_KEY_STATE)
            if self.algorithm != RSA_ALGORITHM:
                raise _errors.win32_failure(NTE_NOT_SUPPORTED)
            bits = _dword(value)
            low, high = self.provider._rsa_limits()
            if not low <= bits <= high or bits % _RSA_INCREMENT:
                raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=f"length {bits}")
            self.length = bits
            return
        if prop in (NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_KEY_USAGE_PROPERTY):
            if self.finalized:
                raise _errors.win32_failure(NTE_PERM, detail=f"{prop} after finalization")
            if prop == NCRYPT_EXPORT_POLICY_PROPERTY:
                self.export_policy = _dword(value)
            else:
                self.key_usage = _dword(value)
            return
        if prop == NCRYPT_CERTIFICATE_PROPERTY:
            slot = self._need_final()
            self.handle.write_certificate(self.name, slot, bytes(value))
            return
        if prop == NCRYPT_SECURITY_DESCR_PROPERTY:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="token keys have no ACL")
        raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail=f"property {prop!r}")

    def export(self, blob_type: str, params: dict | None) -> bytes:
        slot = self._need_final()
        bt = str(blob_type)
        rsa_key = self.algorithm == RSA_ALGORITHM
        if bt == BCRYPT_RSAPUBLIC_BLOB and rsa_key:
            return blobs.bcrypt_rsa_blob(slot.public, BCRYPT_RSAPUBLIC_MAGIC)
        if bt == LEGACY_RSAPUBLIC_BLOB and rsa_key:
            return blobs.capi_public_blob(slot.public, CALG_RSA_KEYX)
        if bt == BCRYPT_ECCPUBLIC_BLOB and not rsa_key:
            return blobs.bcrypt_ecc_blob(slot.public, self.algorithm, False)
        private_blobs = {BCRYPT_RSAPRIVATE_BLOB, BCRYPT_RSAFULLPRIVATE_BLOB, LEGACY_RSAPRIVATE_BLOB,
                         NCRYPT_PKCS8_PRIVATE_KEY_BLOB, "ECCPRIVATEBLOB"}
        if bt not in private_blobs:
            raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r}")
        if not self.export_policy & NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG:
            # As the software KSP: refusal of a plaintext export is NTE_NOT_SUPPORTED.
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="key is not exportable")
        private = self.handle.extract_private(slot)
        if bt == NCRYPT_PKCS8_PRIVATE_KEY_BLOB:
            return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        if rsa_key and bt == BCRYPT_RSAPRIVATE_BLOB:
            return blobs.bcrypt_rsa_blob(private, BCRYPT_RSAPRIVATE_MAGIC)
        if rsa_key and bt == BCRYPT_RSAFULLPRIVATE_BLOB:
            return blobs.bcrypt_rsa_blob(private, BCRYPT_RSAFULLPRIVATE_MAGIC)
        if rsa_key and bt == LEGACY_RSAPRIVATE_BLOB:
            return blobs.capi_private_blob(private, CALG_RSA_KEYX)
        if not rsa_key:
            return blobs.bcrypt_ecc_blob(private, self.algorithm, True)
        raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r}")

    def sign_hash(self, digest: bytes, pad, flags: int) -> bytes:
        slot = self._need_final()
        if not self.key_usage & NCRYPT_ALLOW_SIGNING_FLAG:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="Key Usage does not allow signing")
        digest = bytes(digest)
        if self.algorithm != RSA_ALGORITHM:
            return self.handle.sign_ecdsa(slot, digest)
        if flags & BCRYPT_PAD_PSS:
            if pad is None:
                raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="PSS needs padding info")
            return self.handle.sign_pss(slot, digest, _hash_name(pad.pszAlgId), int(pad.cbSalt))
        if flags & BCRYPT_PAD_PKCS1:
            name = _hash_name(pad.pszAlgId) if pad is not None else None
            if name is not None and len(digest) != _DIGEST_SIZES[name]:
                raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="hash length")
            return self.handle.sign_pkcs1(slot, digest, name)
        raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="padding flag")

    def verify_signature(self, digest: bytes, signature: bytes, pad, flags: int) -> None:
        from cryptography.exceptions import InvalidSignature

        slot = self._need_final()
        digest, signature = bytes(digest), bytes(signature)
        try:
            if self.algorithm != RSA_ALGORITHM:
                if len(signature) != 2 * ((self.length + 7) // 8):
                    raise InvalidSignature()
                der = blobs.ecdsa_der_from_p1363(signature)
                alg = {20: hashes.SHA1(), 32: hashes.SHA256(), 48: hashes.SHA384(),
                       64: hashes.SHA512()}.get(len(digest))
                if alg is None:
                    raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail="hash length")
                slot.public.verify(der, digest, ec.ECDSA(asym_utils.Prehashed(alg)))
                return
            if flags & BCRYPT_PAD_PSS:
                alg = hashes.Hash(getattr(hashes, _hash_name(pad.pszAlgId).upper())()).algorithm
                slot.public.verify(signature, digest, padding.PSS(padding.MGF1(alg), int(pad.cbSalt)),
                                   asym_utils.Prehashed(alg))
                return
            name = _hash_name(pad.pszAlgId) if pad is not None else None
            algorithm = asym_utils.Prehashed(getattr(hashes, name.upper())()) if name else \
                asym_utils.NoDigestInfo()
            slot.public.verify(signature, digest, padding.PKCS1v15(), algorithm)
        except (InvalidSignature, ValueError) as exc:
            raise _errors.win32_failure(NTE_BAD_SIGNATURE) from exc

    def _oaep(self, pad, flags: int):
        if self.algorithm != RSA_ALGORITHM:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="encryption needs an RSA key")
        if not flags & (NCRYPT_PAD_PKCS1_FLAG | NCRYPT_PAD_OAEP_FLAG):
            raise _errors.win32_failure(NTE_BAD_FLAGS)
        if flags & BCRYPT_PAD_OAEP:
            name = _hash_name(pad.pszAlgId if pad is not None else "SHA1")
            label = (pad.pbLabel or None) if pad is not None else None
            return True, name, label
        return False, "sha1", None

    def encrypt(self, data: bytes, pad, flags: int) -> bytes:
        slot = self._need_final()
        oaep, name, label = self._oaep(pad, flags)
        alg = getattr(hashes, name.upper())()
        scheme = padding.OAEP(padding.MGF1(alg), alg, label) if oaep else padding.PKCS1v15()
        try:
            return slot.public.encrypt(bytes(data), scheme)
        except ValueError as exc:
            raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=str(exc)) from exc

    def decrypt(self, data: bytes, pad, flags: int) -> bytes:
        slot = self._need_final()
        oaep, name, label = self._oaep(pad, flags)
        if not self.key_usage & NCRYPT_ALLOW_DECRYPT_FLAG:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="Key Usage does not allow decryption")
        return self.handle.decrypt(slot, bytes(data), oaep, name, label)

    def delete(self) -> None:
        if self.name is None or not self.finalized:
            return
        if not self.handle.destroy(self.name):
            raise _errors.win32_failure(NTE_BAD_KEYSET)
        self.finalized = False


class Pkcs11KSP(_ProviderBase, KspProvider):
    """A CNG key storage provider whose keys live on one PKCS#11 token."""

    kind = "ksp"

    def algorithms(self) -> tuple[str, ...]:
        return KSP_ALGORITHMS

    def open_key(self, scope: KeyScope, name: str, legacy_spec: int) -> Pkcs11Key:
        key = Pkcs11Key(self, scope, RSA_ALGORITHM, name, legacy_spec)
        try:
            slots = key.handle.read_slots(name)
            slot = slots.get(legacy_spec) if legacy_spec else \
                (slots.get(AT_KEYEXCHANGE) or slots.get(AT_SIGNATURE))
            if slot is None:
                raise _errors.win32_failure(NTE_BAD_KEYSET, detail=f"no key {name!r}")
            key._from_slot(slot)
        except BaseException:
            key.close()
            raise
        return key

    def create_key(self, scope: KeyScope, algorithm: str, name: str | None,
                   legacy_spec: int, flags: int) -> Pkcs11Key:
        if algorithm not in KSP_ALGORITHMS:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail=f"algorithm {algorithm!r}")
        key = Pkcs11Key(self, scope, algorithm, name, legacy_spec)
        key.overwrite = bool(flags & NCRYPT_OVERWRITE_KEY_FLAG)
        if legacy_spec == AT_SIGNATURE:
            key.key_usage = NCRYPT_ALLOW_SIGNING_FLAG
        try:
            if name is not None and not key.overwrite and key.handle.read_slots(name):
                raise _errors.win32_failure(NTE_EXISTS)
        except BaseException:
            key.close()
            raise
        return key

    def import_key(self, scope: KeyScope, blob_type: str, data: bytes, name: str | None,
                   flags: int) -> Pkcs11Key:
        bt = str(blob_type)
        if bt in (BCRYPT_RSAPRIVATE_BLOB, BCRYPT_RSAFULLPRIVATE_BLOB):
            private = blobs.parse_bcrypt_rsa_blob(data, (BCRYPT_RSAPRIVATE_MAGIC,
                                                         BCRYPT_RSAFULLPRIVATE_MAGIC))
        elif bt == "ECCPRIVATEBLOB":
            _, private = blobs.parse_bcrypt_ecc_blob(data, True)
        elif bt == LEGACY_RSAPRIVATE_BLOB:
            _, _, private = blobs.parse_capi_blob(data)
        elif bt == NCRYPT_PKCS8_PRIVATE_KEY_BLOB:
            try:
                private = serialization.load_der_private_key(bytes(data), None)
            except (ValueError, TypeError) as exc:
                raise _errors.win32_failure(NTE_BAD_DATA, detail=str(exc)) from exc
        else:
            # Public-only keys are not stored on a token.
            raise _errors.win32_failure(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r}")
        if isinstance(private, rsa.RSAPrivateKey):
            algorithm = RSA_ALGORITHM
        elif isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name in _CNG_BY_CURVE:
            algorithm = _CNG_BY_CURVE[private.curve.name]
        else:
            raise _errors.win32_failure(NTE_NOT_SUPPORTED, detail="key type")
        key = self.create_key(scope, algorithm, name, 0, flags)
        key.pending_private = private
        key.length = private.key_size if algorithm == RSA_ALGORITHM else private.curve.key_size
        if not flags & NCRYPT_DO_NOT_FINALIZE_FLAG:
            try:
                key.finalize(0)
            except BaseException:
                key.close()
                raise
        return key

    def enum_keys(self, scope: KeyScope) -> list[KeyInfo]:
        """Each key's name with its own algorithm: "RSA", or "ECDSA_P256"/"ECDSA_P384"
        for an EC key (NCryptKeyName.pszAlgid names the key's algorithm)."""
        handle = TokenHandle(self, scope, None)
        try:
            handle.check_present()
            found: dict[str, str] = {}
            for obj in handle.link.find({Attribute.CLASS: ObjectClass.PUBLIC_KEY}):
                label = _attr(obj, Attribute.LABEL, "")
                if label and label not in found:
                    found[label] = _cng_algorithm_of(obj)
        finally:
            handle.close()
        return [KeyInfo(name, algorithm, 0, 0) for name, algorithm in found.items()]

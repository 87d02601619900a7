"""The TLS endpoint: a real TLS 1.2/1.3 server whose private-key operations call out.

Decision: OpenSSL (the ``libssl.so.3``/``libcrypto.so.3`` that Python's own ``ssl`` module
is linked against) driven through ``ctypes``, with the private key held by an OpenSSL
*provider* of our own (``schannel.osslprov``, "winpki") whose operations are routed to a
:class:`ServerKey` object.

Why not the alternatives:

- Python's ``ssl`` cannot take an external key: ``SSLContext.load_cert_chain`` wants the
  key's bytes, and there is no engine/provider hook in the module.
- tlslite-ng does accept custom key classes and speaks TLS 1.3, but its handshake, key
  schedule and record layer are pure Python; the handshake rate would be a fraction of
  OpenSSL's, far from the goal of at least half of a plain ``ssl`` server.
- A hand-written TLS stack is ruled out by the contract.
- The route used before this one — ``EVP_PKEY_meth_new``/``EVP_PKEY_meth_add0`` and
  ``RSA_METHOD``/``EC_KEY_METHOD`` tables making the key "foreign" — is deprecated since
  OpenSSL 3.0 (RSA_set_method(3): "Applications should instead use the OSSL_PROVIDER
  APIs") and the ``EVP_PKEY_meth_*`` functions are gone from 4.0 (ossl-removed-api(7));
  its legacy context also rejected libssl's TLS-version parameters, so the
  ``TLS_RSA_WITH_*`` suites could not be served. It has been removed.

How the key plugs in: ``OSSL_PROVIDER_add_builtin`` (OSSL_PROVIDER(3); present and not
deprecated from 3.0 on) registers the provider's init function — a ``ctypes`` callback —
in a library context of our own (``OSSL_LIB_CTX_new``) that also loads OpenSSL's
"default" provider. Every ``SSL_CTX`` of the endpoint, of SSPI (``schannel.secur32``) and
of the client-certificate endpoint is made in that context (``SSL_CTX_new_ex``); the
process's other OpenSSL users, Python's ``ssl`` included, keep the global context and never
see the provider. :meth:`_OpenSSL.bind_key` builds the key with ``EVP_PKEY_fromdata`` from
the provider's "RSA"/"EC" key management: the public parameters plus a reference to the
ServerKey. The provider's signature ("RSA", "ECDSA") hashes the handshake transcript and
hands the digest and a TLS signature scheme to ``ServerKey.sign`` — what a CNG KSP
(``NCryptSignHash`` with PKCS#1 or PSS padding info), a CAPI CSP or a PKCS#11 token
(``CKM_RSA_PKCS``, ``CKM_RSA_PKCS_PSS``, ``CKM_ECDSA``) needs, never a raw RSA block; its
asymmetric cipher ("RSA") decrypts the TLS_RSA premaster secret through
``ServerKey.decrypt`` with libssl's Bleichenbacher countermeasure. ``SSL_CTX_check_private_key``
compares the certificate with the key through the key management's ``match``.

Which OpenSSL: by default the one Python's ``ssl`` is linked against; the environment
variable ``WINPKI_OPENSSL_LIBDIR`` names a directory whose ``libcrypto.so.N``/``libssl.so.N``
are used instead (see :func:`_load`; Python's ``ssl`` keeps its own beside them). Only
provider APIs are used (provider-keymgmt(7), provider-signature(7), provider-asym_cipher(7)),
none of what 4.0 removed (tests/test_tls_provider.py checks the bound names). Tested, on
Linux x86-64: OpenSSL 3.0 (3.0.19, Debian's, what Python's ``ssl`` links on the reference
machine) by ``make test``, and OpenSSL 4.0 (4.0.2, built from the release's source by
``make test-openssl4``, which CI runs) by the endpoint, provider, SSPI, client-certificate,
serve, binding, protocol and IIS tests with Python's ssl on 3.0 as their client; both pass
the same tests with the same expectations. Versions between them (3.1–3.6) are untested.
Both builds refuse a server key under 2048 bits (security level 2: 4.0's default, and how
Debian builds 3.0; upstream 3.0's default is level 1).

The handshake, ECDHE (X25519, P-256, P-384), AES-GCM/ChaCha20 and the record layer are
OpenSSL's; ``ctypes`` releases the GIL around every call, so connections are served in
parallel by a bounded pool of worker threads fed by one non-blocking event loop (see
:class:`TlsEndpoint`), and the provider's callbacks take the GIL back only for the key
operation. A worker whose connection waits for the peer's next flight keeps it for a few
milliseconds while no other connection is queued and another worker is free, instead of a
trip through the event loop (that trip was a tenth of a loopback handshake's time).
"""

from __future__ import annotations

import abc
import ctypes
import ctypes.util
import dataclasses
import enum
import errno
import itertools
import logging
import os
import queue
import re
import resource
import select
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from .http11 import (
    BODY,
    HEADERS,
    IDLE,
    HttpRequest,
    HttpResponse,
    HttpSession,
    HttpTimeouts,
)

__all__ = [
    "HandshakeInfo",
    "HttpRequest",
    "HttpResponse",
    "HttpTimeouts",
    "ServerKey",
    "SignatureScheme",
    "SoftwareServerKey",
    "TlsEndpoint",
    "TlsError",
    "ecdsa_raw_to_der",
    "iis_default_page",
    "parse_listen",
]

log = logging.getLogger("schannel.tls")


class TlsError(RuntimeError):
    """OpenSSL refused a set-up step (certificate, key, protocol range)."""


# ---------------------------------------------------------------------------------------
# Signature schemes and the key interface
# ---------------------------------------------------------------------------------------


class SignatureScheme(enum.IntEnum):
    """TLS SignatureScheme code points (RFC 8446 §4.2.3) a server key may be asked for."""

    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203
    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    # TLS 1.0/1.1 sign the MD5 and SHA-1 hashes concatenated (36 bytes, no DigestInfo;
    # RFC 2246 §7.4.3). Not a TLS code point: a value of RFC 8446's private-use range.
    rsa_pkcs1_md5_sha1 = 0xFF01

    @property
    def hash_name(self) -> str:
        return "md5_sha1" if self is SignatureScheme.rsa_pkcs1_md5_sha1 \
            else self.name.rsplit("_", 1)[1]

    @property
    def hash_algorithm(self) -> hashes.HashAlgorithm | None:
        """The hash, or None for MD5+SHA-1 (signed raw: PKCS#1 v1.5 without DigestInfo)."""
        cls = _HASHES.get(self.hash_name)
        return cls() if cls else None

    @property
    def is_pss(self) -> bool:
        return self.name.startswith("rsa_pss_")

    @property
    def is_rsa(self) -> bool:
        return self.name.startswith("rsa_")

    @property
    def is_ecdsa(self) -> bool:
        return self.name.startswith("ecdsa_")


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class ServerKey(abc.ABC):
    """A server private key that lives in a provider; the endpoint only ever calls it."""

    @property
    @abc.abstractmethod
    def algorithm(self) -> str:
        """``"RSA"`` or ``"ECDSA"``."""

    @property
    @abc.abstractmethod
    def key_size(self) -> int:
        """Modulus or curve size in bits."""

    @property
    @abc.abstractmethod
    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        """The public half, as a ``cryptography`` public key."""

    @abc.abstractmethod
    def sign(self, digest: bytes, scheme: SignatureScheme) -> bytes:
        """Sign ``digest`` (already hashed with ``scheme.hash_algorithm``).

        RSA returns the modulus-sized signature (PKCS#1 v1.5, or PSS with MGF1 of the same
        hash and a salt as long as the hash, as TLS requires); ECDSA returns the DER
        ``ECDSA-Sig-Value`` TLS carries (providers that produce r||s convert with
        :func:`ecdsa_raw_to_der`). Any exception fails the handshake with an alert.
        """

    def decrypt(self, ciphertext: bytes) -> bytes:
        """RSA PKCS#1 v1.5 decryption (TLS 1.2 RSA key exchange). Raise on any failure."""
        raise NotImplementedError(f"{type(self).__name__} cannot decrypt")


def ecdsa_raw_to_der(raw: bytes) -> bytes:
    """Convert an IEEE P1363 r||s ECDSA signature (CNG, PKCS#11) to DER."""
    half = len(raw) // 2
    return utils.encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


class SoftwareServerKey(ServerKey):
    """A ServerKey over a ``cryptography`` private key, counting the calls made to it."""

    def __init__(self, private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        if isinstance(private_key, rsa.RSAPrivateKey):
            self._algorithm = "RSA"
        elif isinstance(private_key, ec.EllipticCurvePrivateKey):
            self._algorithm = "ECDSA"
        else:
            raise TypeError("private_key must be an RSA or EC private key")
        self._key = private_key
        self._lock = threading.Lock()
        self.sign_calls = 0
        self.decrypt_calls = 0
        self.schemes: list[SignatureScheme] = []

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def key_size(self) -> int:
        return self._key.key_size

    @property
    def public_key(self):
        return self._key.public_key()

    def sign(self, digest: bytes, scheme: SignatureScheme) -> bytes:
        with self._lock:
            self.sign_calls += 1
            self.schemes.append(scheme)
        if scheme.hash_algorithm is None:
            return self._key.sign(digest, padding.PKCS1v15(), utils.NoDigestInfo())
        algorithm = utils.Prehashed(scheme.hash_algorithm)
        if self._algorithm == "RSA":
            if scheme.is_pss:
                pad = padding.PSS(
                    mgf=padding.MGF1(scheme.hash_algorithm), salt_length=padding.PSS.DIGEST_LENGTH
                )
            else:
                pad = padding.PKCS1v15()
            return self._key.sign(digest, pad, algorithm)
        return self._key.sign(digest, ec.ECDSA(algorithm))

    def decrypt(self, ciphertext: bytes) -> bytes:
        if self._algorithm != "RSA":
            raise TypeError("ECDSA keys cannot decrypt")
        with self._lock:
            self.decrypt_calls += 1
        return self._key.decrypt(ciphertext, padding.PKCS1v15())


# ---------------------------------------------------------------------------------------
# OpenSSL through ctypes
# ---------------------------------------------------------------------------------------

# OpenSSL constants (include/openssl/*.h, 3.0)
OPENSSL_3_0 = 0x30000000  # OpenSSL_version_num() of 3.0.0
TLS1_VERSION = 0x0301
TLS1_1_VERSION = 0x0302
TLS1_2_VERSION = 0x0303
TLS1_3_VERSION = 0x0304
SSL_CTRL_CHAIN_CERT = 89
SSL_CTRL_SET_GROUPS_LIST = 92
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
SSL_CTRL_SET_DH_AUTO = 118
# Protocol holes inside the min..max range (Schannel may enable TLS 1.0 and 1.2 but not 1.1).
_SSL_OP_NO = {"TLS1.0": 0x04000000, "TLS1.1": 0x10000000, "TLS1.2": 0x08000000,
              "TLS1.3": 0x20000000}
SSL_OP_NO_RENEGOTIATION = 1 << 30
SSL_OP_CIPHER_SERVER_PREFERENCE = 1 << 22
SSL_OP_IGNORE_UNEXPECTED_EOF = 1 << 7
SSL_CTRL_MODE = 33
SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1
SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2
SSL_MODE_RELEASE_BUFFERS = 0x10
SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
TLSEXT_NAMETYPE_host_name = 0

_RSA_SCHEMES = {
    (False, "sha1"): SignatureScheme.rsa_pkcs1_sha1,
    (False, "sha256"): SignatureScheme.rsa_pkcs1_sha256,
    (False, "sha384"): SignatureScheme.rsa_pkcs1_sha384,
    (False, "sha512"): SignatureScheme.rsa_pkcs1_sha512,
    (True, "sha256"): SignatureScheme.rsa_pss_rsae_sha256,
    (True, "sha384"): SignatureScheme.rsa_pss_rsae_sha384,
    (True, "sha512"): SignatureScheme.rsa_pss_rsae_sha512,
    (False, "md5_sha1"): SignatureScheme.rsa_pkcs1_md5_sha1,
}
# In TLS 1.2 the ECDSA code points name only the hash; TLS 1.3 ties each to its curve,
# and OpenSSL only offers a TLS 1.3 ECDSA scheme whose curve matches the key.
_ECDSA_SCHEMES = {
    "sha1": SignatureScheme.ecdsa_sha1,
    "sha256": SignatureScheme.ecdsa_secp256r1_sha256,
    "sha384": SignatureScheme.ecdsa_secp384r1_sha384,
    "sha512": SignatureScheme.ecdsa_secp521r1_sha512,
}

_VERSIONS = {"TLS1.0": TLS1_VERSION, "TLS1.1": TLS1_1_VERSION, "TLS1.2": TLS1_2_VERSION,
             "TLS1.3": TLS1_3_VERSION}

_vp = ctypes.c_void_p


# Which OpenSSL the TLS key path runs on. Unset: the libssl/libcrypto Python's own ``_ssl``
# is linked against (one OpenSSL in the process). Set to a directory: the
# ``libcrypto.so.N``/``libssl.so.N`` in it (the highest N), e.g. a private OpenSSL 4 build
# (``make test-openssl4``). Python's ``ssl`` then keeps its own OpenSSL beside ours: each
# library is loaded RTLD_LOCAL and OpenSSL versions its symbols (OPENSSL_3.0.0,
# OPENSSL_4.0.0), so neither resolves a function of the other.
OPENSSL_LIBDIR_ENV = "WINPKI_OPENSSL_LIBDIR"


def _library_in(libdir: str, name: str) -> str:
    """The path of lib<name>.so.N in ``libdir``, the highest N (OSError when none is)."""
    pattern = re.compile(rf"lib{name}\.so\.(\d+)$")
    try:
        entries = os.listdir(libdir)
    except OSError as exc:
        raise OSError(f"{OPENSSL_LIBDIR_ENV}={libdir!r}: {exc.strerror}") from None
    found = sorted((int(m[1]), entry) for entry in entries if (m := pattern.match(entry)))
    if not found:
        raise OSError(f"{OPENSSL_LIBDIR_ENV}={libdir!r} holds no lib{name}.so.N")
    return os.path.join(libdir, found[-1][1])


def _load(name: str) -> ctypes.CDLL:
    """lib<name> from ``$WINPKI_OPENSSL_LIBDIR`` when it is set, else the one Python's own
    ``_ssl`` is linked against, so one OpenSSL is loaded. libcrypto is loaded first: the
    libssl found next to it then takes that libcrypto (the loader matches its soname)."""
    libdir = os.environ.get(OPENSSL_LIBDIR_ENV)
    if libdir:
        return ctypes.CDLL(_library_in(libdir, name))
    import _ssl  # noqa: F401 — loads the libraries we look for below

    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").partition("/")[2]
                if path and os.path.basename("/" + path).startswith(f"lib{name}.so"):
                    return ctypes.CDLL("/" + path)
    except OSError:
        pass  # not Linux: fall back to the loader's search
    return ctypes.CDLL(ctypes.util.find_library(name) or f"lib{name}.so.3")


def _bind(lib, name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


class _OpenSSL:
    """The libssl/libcrypto functions the endpoint uses, plus the key-routing hooks."""

    _instance: _OpenSSL | None = None
    _instance_lock = threading.Lock()

    @classmethod
    def get(cls) -> _OpenSSL:
        with cls._instance_lock:
            if cls._instance is None:
                try:
                    cls._instance = cls()
                except (OSError, AttributeError) as exc:  # no libssl, or one without the API
                    raise TlsError(f"cannot use OpenSSL: {exc}") from exc
            return cls._instance

    def __init__(self, *, c_signatures: bool | None = None):
        # c_signatures: the provider's signature functions in C (schannel._sspirecord) or in
        # Python; None: C when the kernel is built. The process's instance takes the default.
        self._c_signatures = c_signatures
        c = self.crypto = _load("crypto")
        s = self.ssl = _load("ssl")
        i, sz, cp = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
        ul, l = ctypes.c_ulong, ctypes.c_long
        ppv = ctypes.POINTER(_vp)
        self.OpenSSL_version_num = _bind(c, "OpenSSL_version_num", ul)
        self.ERR_get_error = _bind(c, "ERR_get_error", ul)
        self.ERR_clear_error = _bind(c, "ERR_clear_error", None)
        self.ERR_error_string_n = _bind(c, "ERR_error_string_n", None, ul, cp, sz)
        self.d2i_X509 = _bind(c, "d2i_X509", _vp, _vp, ppv, l)
        self.X509_free = _bind(c, "X509_free", None, _vp)
        self.d2i_PUBKEY = _bind(c, "d2i_PUBKEY", _vp, _vp, ppv, l)
        self.EVP_PKEY_free = _bind(c, "EVP_PKEY_free", None, _vp)
        self.EVP_PKEY_get_bits = _bind(c, "EVP_PKEY_get_bits", i, _vp)
        self.EVP_PKEY_get_security_bits = _bind(c, "EVP_PKEY_get_security_bits", i, _vp)
        self.EVP_PKEY_get_size = _bind(c, "EVP_PKEY_get_size", i, _vp)
        self.EVP_PKEY_CTX_new_from_name = _bind(c, "EVP_PKEY_CTX_new_from_name", _vp, _vp, cp, cp)
        self.EVP_PKEY_CTX_free = _bind(c, "EVP_PKEY_CTX_free", None, _vp)
        self.EVP_PKEY_fromdata_init = _bind(c, "EVP_PKEY_fromdata_init", i, _vp)
        self.EVP_PKEY_fromdata = _bind(c, "EVP_PKEY_fromdata", i, _vp, ppv, i, _vp)
        self.OSSL_LIB_CTX_new = _bind(c, "OSSL_LIB_CTX_new", _vp)
        self.OSSL_PROVIDER_add_builtin = _bind(c, "OSSL_PROVIDER_add_builtin", i, _vp, cp, _vp)
        self.OSSL_PROVIDER_load = _bind(c, "OSSL_PROVIDER_load", _vp, _vp, cp)
        self.OSSL_PROVIDER_get0_name = _bind(c, "OSSL_PROVIDER_get0_name", cp, _vp)
        self.EVP_KEYMGMT_fetch = _bind(c, "EVP_KEYMGMT_fetch", _vp, _vp, cp, cp)
        self.EVP_KEYMGMT_get0_provider = _bind(c, "EVP_KEYMGMT_get0_provider", _vp, _vp)
        self.EVP_KEYMGMT_free = _bind(c, "EVP_KEYMGMT_free", None, _vp)

        s_ = s
        self.TLS_server_method = _bind(s_, "TLS_server_method", _vp)
        self.SSL_CTX_new_ex = _bind(s_, "SSL_CTX_new_ex", _vp, _vp, cp, _vp)
        self.SSL_CTX_free = _bind(s_, "SSL_CTX_free", None, _vp)
        self.SSL_CTX_ctrl = _bind(s_, "SSL_CTX_ctrl", l, _vp, i, l, _vp)
        self.SSL_CTX_set_options = _bind(s_, "SSL_CTX_set_options", ctypes.c_uint64, _vp, ctypes.c_uint64)
        self.SSL_CTX_set_cipher_list = _bind(s_, "SSL_CTX_set_cipher_list", i, _vp, cp)
        self.SSL_CTX_set_ciphersuites = _bind(s_, "SSL_CTX_set_ciphersuites", i, _vp, cp)
        self.SSL_CTX_set_num_tickets = _bind(s_, "SSL_CTX_set_num_tickets", i, _vp, sz)
        self.SSL_CTX_use_certificate = _bind(s_, "SSL_CTX_use_certificate", i, _vp, _vp)
        self.SSL_CTX_use_PrivateKey = _bind(s_, "SSL_CTX_use_PrivateKey", i, _vp, _vp)
        self.SSL_CTX_check_private_key = _bind(s_, "SSL_CTX_check_private_key", i, _vp)
        self.SSL_new = _bind(s_, "SSL_new", _vp, _vp)
        self.SSL_free = _bind(s_, "SSL_free", None, _vp)
        self.SSL_set_fd = _bind(s_, "SSL_set_fd", i, _vp, i)
        self.SSL_accept = _bind(s_, "SSL_accept", i, _vp)
        self.SSL_in_before = _bind(s_, "SSL_in_before", i, _vp)
        self.SSL_read = _bind(s_, "SSL_read", i, _vp, _vp, i)
        self.SSL_write = _bind(s_, "SSL_write", i, _vp, _vp, i)
        self.SSL_shutdown = _bind(s_, "SSL_shutdown", i, _vp)
        self.SSL_get_error = _bind(s_, "SSL_get_error", i, _vp, i)
        self.SSL_get_version = _bind(s_, "SSL_get_version", cp, _vp)
        self.SSL_get_current_cipher = _bind(s_, "SSL_get_current_cipher", _vp, _vp)
        self.SSL_CIPHER_get_name = _bind(s_, "SSL_CIPHER_get_name", cp, _vp)
        self.SSL_CIPHER_standard_name = _bind(s_, "SSL_CIPHER_standard_name", cp, _vp)
        self.SSL_get_servername = _bind(s_, "SSL_get_servername", cp, _vp, i)

        self.version = self.OpenSSL_version_num()
        if self.version < OPENSSL_3_0:
            raise TlsError(f"OpenSSL 3 is required, found {self.version:#x}")
        self.local = threading.local()
        self._refs = itertools.count(1)
        self._load_provider()

    # -- errors ---------------------------------------------------------------------

    def errors(self) -> str:
        """The thread's queued OpenSSL errors as text, the queue emptied."""
        code = self.ERR_get_error()
        if not code:
            return ""
        out = []
        buf = ctypes.create_string_buffer(256)
        while code:
            self.ERR_error_string_n(code, buf, len(buf))
            out.append(buf.value.decode("ascii", "replace"))
            code = self.ERR_get_error()
        return "; ".join(out)

    # -- the provider and its library context ----------------------------------------

    def _load_provider(self) -> None:
        """A library context of our own holding OpenSSL's default provider and ours."""
        from .osslprov import PROVIDER_NAME, WinpkiProvider

        libctx = self.OSSL_LIB_CTX_new()
        if not libctx:
            raise TlsError("OSSL_LIB_CTX_new failed: " + self.errors())
        self.libctx = libctx
        self.provider = WinpkiProvider(libctx, self._fail, _RSA_SCHEMES, _ECDSA_SCHEMES,
                                       use_c=self._c_signatures)
        init = ctypes.cast(self.provider.init_fn, _vp)
        if self.OSSL_PROVIDER_add_builtin(libctx, PROVIDER_NAME.encode(), init) != 1:
            raise TlsError("OSSL_PROVIDER_add_builtin failed: " + self.errors())
        # The default provider first: its implementations serve every key but ours.
        self._default = self.OSSL_PROVIDER_load(libctx, b"default")
        self._winpki = self.OSSL_PROVIDER_load(libctx, PROVIDER_NAME.encode())
        if not self._default or not self._winpki:
            raise TlsError("cannot load the providers: " + self.errors())
        # OpenSSL 3.0's method cache answers a fetch from any provider with what a fetch
        # restricted to one provider left there (its cache entries match any provider).
        # OpenSSL fetches our "RSA"/"EC" key management that way when it signs with one of
        # our keys; had it not fetched the default provider's first, libssl's own fetches
        # (ECDHE key generation, the groups a new SSL_CTX offers) would get ours. So the
        # default provider's are fetched now, before any of our keys exists, and checked.
        for name in (b"RSA", b"EC"):
            keymgmt = self.EVP_KEYMGMT_fetch(libctx, name, None)
            try:
                owner = self.OSSL_PROVIDER_get0_name(self.EVP_KEYMGMT_get0_provider(keymgmt)) \
                    if keymgmt else None
            finally:
                self.EVP_KEYMGMT_free(keymgmt)
            if owner != b"default":
                raise TlsError(f"{name.decode()} key management is not the default provider's")

    def SSL_CTX_new(self, method):
        """Every SSL_CTX of the endpoint, SSPI and client certificates lives in our library
        context, where the keys bound here can be used."""
        return self.SSL_CTX_new_ex(self.libctx, None, method)

    def bind_key(self, key: ServerKey) -> int:
        """An EVP_PKEY of the winpki provider: the public half of ``key``, whose private
        operations call ``key``. Free it with :meth:`unbind_key`."""
        from .osslprov import (
            _CURVES,
            EVP_PKEY_KEYPAIR,
            KEY_REF,
            OSSL_PARAM_OCTET_STRING,
            OSSL_PARAM_UNSIGNED_INTEGER,
            OSSL_PARAM_UTF8_STRING,
            _build_params,
        )

        public = key.public_key
        spki = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if key.algorithm == "RSA" and isinstance(public, rsa.RSAPublicKey):
            numbers = public.public_numbers()
            entries = [("n", OSSL_PARAM_UNSIGNED_INTEGER, _le(numbers.n)),
                       ("e", OSSL_PARAM_UNSIGNED_INTEGER, _le(numbers.e))]
            keytype = b"RSA"
        elif key.algorithm == "ECDSA" and isinstance(public, ec.EllipticCurvePublicKey) \
                and public.curve.name in _CURVES:
            point = public.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
            entries = [("group", OSSL_PARAM_UTF8_STRING, _CURVES[public.curve.name][0].encode()),
                       ("pub", OSSL_PARAM_OCTET_STRING, point)]
            keytype = b"EC"
        else:
            raise ValueError(f"unsupported key algorithm {key.algorithm!r}")
        # Sizes as OpenSSL reckons them (security bits, the largest signature): ask the
        # default provider about the public key.
        buf = ctypes.create_string_buffer(spki, len(spki))
        ptr = _vp(ctypes.addressof(buf))
        plain = self.d2i_PUBKEY(None, ctypes.byref(ptr), len(spki))
        if not plain:
            raise TlsError("cannot load the public key: " + self.errors())
        try:
            info = (self.EVP_PKEY_get_bits(plain), self.EVP_PKEY_get_security_bits(plain),
                    self.EVP_PKEY_get_size(plain))
        finally:
            self.EVP_PKEY_free(plain)
        ref = next(self._refs)
        entries.append((KEY_REF, OSSL_PARAM_UNSIGNED_INTEGER, ref.to_bytes(8, "little")))
        params, _keep = _build_params(entries)
        self.provider.register_key(ref, key, info)
        pctx = self.EVP_PKEY_CTX_new_from_name(self.libctx, keytype, b"provider=winpki")
        try:
            pkey = _vp()
            if not pctx or self.EVP_PKEY_fromdata_init(pctx) != 1 or self.EVP_PKEY_fromdata(
                    pctx, ctypes.byref(pkey), EVP_PKEY_KEYPAIR, ctypes.addressof(params)) != 1:
                raise TlsError("cannot build the key object: " + self.errors())
        finally:
            self.provider.unregister_key(ref)
            if pctx:
                self.EVP_PKEY_CTX_free(pctx)
        return pkey.value

    def unbind_key(self, pkey: int) -> None:
        """Drop the caller's reference; the key object goes when OpenSSL drops its own."""
        self.EVP_PKEY_free(pkey)

    def _fail(self, exc: BaseException) -> None:
        # The callback cannot raise into C; the connection thread reports it.
        self.local.error = exc


def _le(value: int) -> bytes:
    """A BIGNUM as an OSSL_PARAM unsigned integer: native (little-endian) byte order."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "little")


# ---------------------------------------------------------------------------------------
# HTTP: h11 underneath, IIS's pages and limits on top (schannel.http11)
# ---------------------------------------------------------------------------------------

READ_CHUNK = 16 * 1024
# http.sys's HeaderWait default: the handshake and a request's headers must arrive within
# this time, however slowly their bytes trickle in (see HttpTimeouts).
REQUEST_TIMEOUT = 120.0

_IIS_PAGE = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS Windows Server</title>
</head>
<body>
<div id="container"><h1>Internet Information Services</h1></div>
</body>
</html>"""


@dataclass(frozen=True)
class HandshakeInfo:
    """What Schannel would log for a completed handshake (event 36880's fields)."""

    protocol: str  # "TLSv1.2" / "TLSv1.3"
    cipher_suite: str  # IANA name, e.g. "TLS_AES_256_GCM_SHA384"
    cipher: str  # OpenSSL's name, as s_client prints it
    client_address: tuple
    server_name: str | None
    key_algorithm: str


def iis_default_page(request: HttpRequest | None = None, *, body: bytes = _IIS_PAGE,
                     server: str = "Microsoft-IIS/10.0") -> HttpResponse:
    """IIS 10's answer for ``/`` of Default Web Site: the welcome page (``iisstart.htm``)."""
    return HttpResponse(
        headers=[("Content-Type", "text/html"), ("Accept-Ranges", "bytes"), ("Server", server)],
        body=body,
    )


# ---------------------------------------------------------------------------------------
# The endpoint
# ---------------------------------------------------------------------------------------

# OpenSSL's default list: ECDHE first, the TLS_RSA_WITH_* suites (key exchange by the
# provider's RSA decryption) after them, as Schannel orders them.
DEFAULT_CIPHERS = "DEFAULT:!aNULL"
DEFAULT_GROUPS = "X25519:P-256:P-384"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[::1]:PORT`` -> (host, port); loopback only (ValueError otherwise)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be HOST:PORT, not {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return _check_listen((host, int(port)))


_LOOPBACK = {"127.0.0.1", "::1"}


def _check_listen(listen) -> tuple[str, int]:
    try:
        host, port = listen
    except (TypeError, ValueError):
        raise ValueError(f"listen must be a (host, port) pair, not {listen!r}") from None
    if host == "localhost":
        host = "127.0.0.1"
    try:
        canonical = str(ip_address(host))
    except ValueError:
        raise ValueError(f"listen host must be 127.0.0.1 or ::1, not {host!r}") from None
    if canonical not in _LOOPBACK:
        raise ValueError(f"refusing to listen on non-loopback address {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
        raise ValueError(f"listen port must be 0..65535, not {port!r}")
    return canonical, port


def _default_max_connections() -> int:
    """http.sys's MaxConnections is a memory calculation; ours is the descriptor limit:
    half the process's descriptors, at most 1024 (each connection holds one)."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY:
        soft = 2048
    return max(16, min(1024, soft // 2))


# Connection states, and what a worker's step asks the event loop for next.
_HANDSHAKE, _HTTP, _WRITE, _DRAIN = "handshake", "http", "write", "drain"
_WANT_READ, _WANT_WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
_AGAIN, _CLOSE = "again", "close"
_LINGER_STEPS, _LINGER_MS = 4, 5  # a worker's wait for a prompt peer: flights, ms each
_STEP_READS = 64  # SSL_reads per step before the connection goes back in the queue (fairness)
_LISTENER, _WAKE = object(), object()


class _Connection:
    """One accepted socket and its SSL*, owned by the event loop while it waits for I/O and
    by exactly one worker while a step runs (``busy``)."""

    __slots__ = ("sock", "fd", "addr", "ssl", "state", "session", "out", "sent", "busy",
                 "last_progress", "deadline", "timer", "silence", "fresh")

    def __init__(self, sock, addr, ssl, now: float, header_wait: float, io_timeout: float):
        self.sock = sock
        self.fd = sock.fileno()
        self.addr = addr
        self.ssl = ssl
        self.state = _HANDSHAKE
        self.session: HttpSession | None = None
        self.out = b""
        self.sent = 0
        self.busy = False
        self.fresh = True
        self.last_progress = now
        self.set_timer("HeaderWait", now + header_wait, io_timeout)

    def set_timer(self, name: str, deadline: float, silence: float | None) -> None:
        """The phase's hard deadline (an http.sys timer) and, while the peer owes us bytes,
        the longest silence allowed (``io_timeout``)."""
        self.timer = name
        self.deadline = deadline
        self.silence = silence


class TlsEndpoint:
    """A TLS 1.2/1.3 server on a loopback port presenting ``cert_chain_der`` (leaf first).

    Every private-key operation goes to ``key``; ``handler(HttpRequest) -> HttpResponse``
    answers requests (IIS's default page when omitted); ``on_handshake(HandshakeInfo)``
    is called after each completed handshake and ``on_error(client_address, exc)`` after
    each failed connection. Connection failures are logged, never raised.

    Serving: one event-loop thread accepts and waits on every socket (non-blocking, the TLS
    handshake included); a fixed pool of ``workers`` threads runs the steps that have
    something to do (SSL_accept, SSL_read + HTTP parsing + the handler, SSL_write). A
    client that sends slowly or not at all therefore holds a descriptor and an SSL object,
    never a thread (a worker with nothing else to do waits a few milliseconds for a new
    connection's ClientHello, or a handshake's next flight, before handing it back to the
    loop). Timers (``timeouts``, http.sys's, see :class:`HttpTimeouts`;
    ``request_timeout`` overrides its HeaderWait) bound each phase, ``io_timeout`` bounds
    the silence while the client owes bytes, and at ``max_connections`` a new connection
    evicts the one that has been silent longest instead of being refused.
    """

    def __init__(
        self,
        cert_chain_der: list[bytes],
        key: ServerKey,
        listen=("127.0.0.1", 0),
        *,
        handler: Callable[[HttpRequest], HttpResponse] | None = None,
        min_version: str = "TLS1.2",
        max_version: str = "TLS1.3",
        on_handshake: Callable[[HandshakeInfo], None] | None = None,
        on_error: Callable[[tuple, BaseException], None] | None = None,
        ciphers: str = DEFAULT_CIPHERS,
        ciphersuites: str | None = None,
        exclude_versions: tuple[str, ...] = (),
        groups: str = DEFAULT_GROUPS,
        max_connections: int | None = None,
        io_timeout: float = 10.0,
        session_tickets: int = 2,
        request_timeout: float | None = None,
        timeouts: HttpTimeouts | None = None,
        workers: int = 8,
    ):
        if not cert_chain_der:
            raise ValueError("cert_chain_der must hold at least the server certificate")
        if not isinstance(key, ServerKey):
            raise TypeError("key must be a ServerKey")
        for name, value in (("min_version", min_version), ("max_version", max_version)):
            if value not in _VERSIONS:
                raise ValueError(f"{name} must be one of {sorted(_VERSIONS)}, not {value!r}")
        if _VERSIONS[min_version] > _VERSIONS[max_version]:
            raise ValueError("min_version is above max_version")
        for value in exclude_versions:
            if value not in _SSL_OP_NO:
                raise ValueError(f"exclude_versions: unknown protocol {value!r}")
        if max_connections is None:
            max_connections = _default_max_connections()
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) \
                or max_connections < 1:
            raise ValueError(f"max_connections must be a positive integer, not {max_connections!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
            raise ValueError(f"workers must be 1..256, not {workers!r}")
        timeouts = timeouts or HttpTimeouts()
        if request_timeout is not None:
            timeouts = dataclasses.replace(timeouts, header_wait=request_timeout)
        if not io_timeout > 0:
            raise ValueError(f"io_timeout must be positive, not {io_timeout!r}")
        self._listen = _check_listen(listen)
        self._chain = [bytes(c) for c in cert_chain_der]
        self.key = key
        self.handler = handler or iis_default_page
        self.on_handshake = on_handshake
        self.on_error = on_error
        self._versions = (_VERSIONS[min_version], _VERSIONS[max_version])
        self._ciphers = ciphers
        self._ciphersuites = ciphersuites  # TLS 1.3 suites (None: OpenSSL's default)
        self._no_versions = 0
        for value in exclude_versions:
            self._no_versions |= _SSL_OP_NO[value]
        self._groups = groups
        self._max_connections = max_connections
        self._io_timeout = io_timeout
        self.timeouts = timeouts
        self._workers = workers
        self._tickets = session_tickets
        self._ossl: _OpenSSL | None = None
        self._ctx = None
        self._pkey = None
        self._sock: socket.socket | None = None
        self._wake_r = self._wake_w = None
        self._accept_thread: threading.Thread | None = None  # the event loop
        self._worker_threads: list[threading.Thread] = []
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._done: deque = deque()
        self._conns: dict[int, _Connection] = {}  # fd -> connection; the loop's alone
        self._lock = threading.Lock()
        self._lingering = 0  # workers waiting briefly for their connection's peer
        self._stopping = threading.Event()
        self.address: tuple[str, int] | None = None
        self.handshakes = 0
        self.failures = 0
        self.evictions = 0
        self.peak_connections = 0

    # -- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> TlsEndpoint:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._accept_thread is not None and self._accept_thread.is_alive()

    @property
    def connections(self) -> int:
        """Connections open now (handshaking, reading, writing or idle)."""
        return len(self._conns)

    def start(self) -> TlsEndpoint:
        """Build the TLS context (TlsError if the chain or key is unusable) and listen."""
        if self._accept_thread is not None:
            raise RuntimeError("endpoint already started")
        self._ossl = _OpenSSL.get()
        self._ctx = self._make_context()
        family = socket.AF_INET6 if ":" in self._listen[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(self._listen)
            sock.listen(socket.SOMAXCONN)
            sock.setblocking(False)
        except OSError:
            sock.close()
            self._free_context()
            raise
        self._sock = sock
        self.address = sock.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping.clear()
        self._work = queue.SimpleQueue()
        self._done.clear()
        self._worker_threads = [
            threading.Thread(target=self._worker, name=f"tls-worker-{self.address[1]}-{n}",
                             daemon=True)
            for n in range(self._workers)
        ]
        for thread in self._worker_threads:
            thread.start()
        self._accept_thread = threading.Thread(
            target=self._event_loop, name=f"tls-accept-{self.address[1]}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, cut open connections, join every thread, free OpenSSL state."""
        if self._accept_thread is None:
            return
        self._stopping.set()
        self._wake()
        deadline = time.monotonic() + timeout
        self._accept_thread.join(timeout)
        for _ in self._worker_threads:
            self._work.put(None)
        for thread in self._worker_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t for t in [self._accept_thread, *self._worker_threads] if t.is_alive()]
        for conn in list(self._conns.values()):
            if stuck and conn.busy:
                continue  # a worker may still be inside OpenSSL with it
            self._release(conn)
        self._sock.close()
        self._wake_r.close()
        self._wake_w.close()
        if stuck:
            # Freeing the context under a live SSL* would crash the process; leak it.
            log.error("TLS endpoint %s: %d thread(s) did not stop", self.address, len(stuck))
        else:
            self._free_context()
        self._conns = {}
        self._worker_threads = []
        self._accept_thread = None

    # -- OpenSSL context ------------------------------------------------------------

    def _make_context(self):
        o = self._ossl
        o.ERR_clear_error()
        ctx = o.SSL_CTX_new(o.TLS_server_method())
        if not ctx:
            raise TlsError("SSL_CTX_new failed: " + o.errors())
        try:
            low, high = self._versions
            if (o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, low, None) != 1
                    or o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, high, None) != 1):
                raise TlsError("cannot set the protocol range: " + o.errors())
            # A peer closing without close_notify ends the stream (HTTP framing detects a
            # truncated request); non-blocking writes may be partial and resumed from a new
            # buffer; idle connections give their record buffers back (memory per slow client).
            o.SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                  | SSL_OP_IGNORE_UNEXPECTED_EOF | self._no_versions)
            o.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE
                           | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS, None)
            o.SSL_CTX_set_num_tickets(ctx, self._tickets)
            if o.SSL_CTX_set_cipher_list(ctx, self._ciphers.encode()) != 1:
                raise TlsError(f"cannot use ciphers {self._ciphers!r}: " + o.errors())
            if self._ciphersuites is not None and \
                    o.SSL_CTX_set_ciphersuites(ctx, self._ciphersuites.encode()) != 1:
                raise TlsError(f"cannot use TLS 1.3 suites {self._ciphersuites!r}: " + o.errors())
            # DHE suites (Schannel lists TLS_DHE_RSA_*) need group parameters: OpenSSL's
            # built-in ones, sized to the certificate key.
            o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_DH_AUTO, 1, None)
            if o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, self._groups.encode()) != 1:
                raise TlsError(f"cannot use groups {self._groups!r}: " + o.errors())
            for index, der in enumerate(self._chain):
                buf = ctypes.create_string_buffer(der, len(der))
                ptr = _vp(ctypes.addressof(buf))
                x509 = o.d2i_X509(None, ctypes.byref(ptr), len(der))
                if not x509:
                    raise TlsError(f"certificate {index} is not DER X.509: " + o.errors())
                try:
                    ok = (o.SSL_CTX_use_certificate(ctx, x509) if index == 0
                          else o.SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, x509))
                finally:
                    o.X509_free(x509)
                if ok != 1:
                    raise TlsError(f"cannot use certificate {index}: " + o.errors())
            self._pkey = o.bind_key(self.key)
            if (o.SSL_CTX_use_PrivateKey(ctx, self._pkey) != 1
                    or o.SSL_CTX_check_private_key(ctx) != 1):
                raise TlsError("the key does not match the certificate: " + o.errors())
        except BaseException:
            o.SSL_CTX_free(ctx)
            if self._pkey:
                o.unbind_key(self._pkey)
                self._pkey = None
            raise
        return ctx

    def _free_context(self):
        if self._ctx:
            self._ossl.SSL_CTX_free(self._ctx)
            self._ctx = None
        if self._pkey:
            self._ossl.unbind_key(self._pkey)
            self._pkey = None

    # -- the event loop (one thread: accept, wait, timers) ---------------------------

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already pending, or closing

    def _sweep_interval(self) -> float:
        t = self.timeouts
        shortest = min(self._io_timeout, t.header_wait, t.entity_body, t.idle_connection,
                       t.drain_entity_body)
        return max(0.01, min(0.1, shortest / 4))

    def _event_loop(self) -> None:
        interval = self._sweep_interval()
        accept_paused_until = 0.0
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ, _LISTENER)
            sel.register(self._wake_r, selectors.EVENT_READ, _WAKE)
            next_sweep = time.monotonic() + interval
            while not self._stopping.is_set():
                for selkey, _ in sel.select(max(0.0, next_sweep - time.monotonic())):
                    tag = selkey.data
                    if tag is _LISTENER:
                        if not self._accept_ready(sel):
                            # Out of descriptors: stop polling the listener for a moment
                            # (the sweep frees connections) instead of spinning on it.
                            sel.unregister(self._sock)
                            accept_paused_until = time.monotonic() + interval
                    elif tag is _WAKE:
                        try:
                            while self._wake_r.recv(4096):
                                pass
                        except (BlockingIOError, OSError):
                            pass
                    else:
                        sel.unregister(tag.sock)
                        tag.busy = True
                        self._work.put(tag)
                if self._stopping.is_set():
                    break
                self._collect(sel)
                now = time.monotonic()
                if now >= next_sweep:
                    self._sweep(sel, now)
                    next_sweep = now + interval
                    if accept_paused_until and now >= accept_paused_until:
                        sel.register(self._sock, selectors.EVENT_READ, _LISTENER)
                        accept_paused_until = 0.0

    def _accept_ready(self, sel) -> bool:
        """Accept what is pending (a bounded batch); False when out of descriptors."""
        for _ in range(64):
            try:
                sock, addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("TLS endpoint %s: accept failed: %s", self.address, exc)
                    return False
                continue  # ECONNABORTED and the like: that client is gone
            try:
                self._admit(sel, sock, addr)
            except Exception:  # noqa: BLE001 — the loop must survive
                log.exception("TLS endpoint %s: cannot serve %s", self.address, addr)
                sock.close()
        return True

    def _admit(self, sel, sock: socket.socket, addr) -> None:
        if len(self._conns) >= self._max_connections:
            # At the cap the connection silent longest makes room (http.sys does not refuse
            # a new client because others hold their connections open doing nothing).
            victim = min((c for c in self._conns.values() if not c.busy),
                         key=lambda c: c.last_progress, default=None)
            if victim is None:
                log.warning("TLS endpoint %s: too many connections, dropping %s",
                            self.address, addr)
                sock.close()
                return
            sel.unregister(victim.sock)
            self._release(victim)
            with self._lock:
                self.evictions += 1
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        o = self._ossl
        ssl = o.SSL_new(self._ctx)
        if not ssl or o.SSL_set_fd(ssl, sock.fileno()) != 1:
            if ssl:
                o.SSL_free(ssl)
            raise TlsError("cannot set up the connection: " + o.errors())
        conn = _Connection(sock, addr, ssl, time.monotonic(), self.timeouts.header_wait,
                           self._io_timeout)
        self._conns[conn.fd] = conn
        self.peak_connections = max(self.peak_connections, len(self._conns))
        if self._work.empty() and len(self._conns) * 2 <= self._max_connections:
            # Straight to a worker: the ClientHello is usually on its way (a client sends it
            # as soon as it is connected), and a free worker waits for it there (_worker)
            # rather than the loop registering the socket, waking for it and handing it
            # over. Not under a flood: there a connection in a worker cannot be evicted.
            conn.busy = True
            self._work.put(conn)
        else:
            conn.fresh = False
            sel.register(sock, selectors.EVENT_READ, conn)

    def _collect(self, sel) -> None:
        """Take back the connections whose step ended: wait for what they asked for."""
        while True:
            try:
                conn, want = self._done.popleft()
            except IndexError:
                return
            conn.busy = False
            if want == _CLOSE:
                self._release(conn)
            elif want == _AGAIN:
                conn.busy = True
                self._work.put(conn)
            else:
                sel.register(conn.sock, want, conn)

    def _sweep(self, sel, now: float) -> None:
        """Close every waiting connection whose timer expired (http.sys resets them)."""
        expired = []
        for conn in self._conns.values():
            if conn.busy:
                continue
            if now >= conn.deadline:
                expired.append((conn, f"the {conn.timer} timer expired"))
            elif conn.silence is not None and now - conn.last_progress >= conn.silence:
                expired.append((conn, f"no data from the peer for {conn.silence:g} s"))
        for conn, why in expired:
            sel.unregister(conn.sock)
            self._release(conn)
            if conn.state == _DRAIN or (conn.state == _HTTP and conn.session.phase == IDLE
                                        and conn.session.requests):
                continue  # an idle keep-alive connection or a finished drain: normal end
            self._report(conn.addr, TimeoutError(f"{conn.state}: {why}"))

    def _release(self, conn: _Connection) -> None:
        self._conns.pop(conn.fd, None)
        if conn.ssl:
            self._ossl.SSL_free(conn.ssl)
            conn.ssl = None
        conn.sock.close()

    def _report(self, addr, exc: Exception) -> None:
        with self._lock:
            self.failures += 1
        if not self._stopping.is_set():
            log.warning("TLS endpoint %s: connection from %s failed: %s", self.address, addr, exc)
        if self.on_error is not None:
            try:
                self.on_error(addr, exc)
            except Exception:  # noqa: BLE001
                log.exception("TLS endpoint %s: on_error hook failed", self.address)

    # -- workers (bounded pool: handshakes, parsing, handlers) -----------------------

    def _worker(self) -> None:
        buf = ctypes.create_string_buffer(READ_CHUNK)
        poller = select.poll()
        while True:
            conn = self._work.get()
            if conn is None:
                return
            fresh, conn.fresh = conn.fresh, False
            want = self._step(conn, buf)
            lingers = _LINGER_STEPS
            while want == _WANT_READ and lingers and (fresh or self._heard(conn)) \
                    and self._may_linger():
                # The peer of a handshake (or of a request just answered) sends its next
                # flight within a round trip, a client just connected its ClientHello: wait
                # for it here, briefly, rather than hand the connection to the event loop and
                # back (four thread switches). Only while no other connection waits for a
                # worker and another worker stays free; a new connection once.
                fresh = False
                lingers -= 1
                poller.register(conn.fd, select.POLLIN)
                try:
                    ready = poller.poll(_LINGER_MS)
                finally:
                    poller.unregister(conn.fd)
                    with self._lock:
                        self._lingering -= 1
                if not ready:
                    break
                want = self._step(conn, buf)
            self._done.append((conn, want))
            self._wake()

    def _heard(self, conn: _Connection) -> bool:
        """Whether the peer has spoken: a connection that has not sent its ClientHello is
        waited for only once, when it is new (it stays evictable as a silent one, see
        _admit)."""
        return conn.state != _HANDSHAKE or not self._ossl.SSL_in_before(conn.ssl)

    def _may_linger(self) -> bool:
        if not self._work.empty() or self._stopping.is_set():
            return False
        with self._lock:
            if self._lingering >= self._workers - 1:
                return False
            self._lingering += 1
            return True

    def _step(self, conn: _Connection, buf) -> str | int:
        """Advance ``conn`` as far as it goes without blocking; say what it waits for."""
        o = self._ossl
        o.local.error = None
        try:
            conn.last_progress = time.monotonic()  # woken by I/O: the peer did something
            if conn.state == _HANDSHAKE:
                o.ERR_clear_error()
                ret = o.SSL_accept(conn.ssl)
                if ret != 1:
                    code = o.SSL_get_error(conn.ssl, ret)
                    if code in (SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE) and not o.local.error:
                        o.ERR_clear_error()  # what a retry left queued
                        return _WANT_READ if code == SSL_ERROR_WANT_READ else _WANT_WRITE
                    raise self._io_error(conn.ssl, ret, "handshake")
                self._handshake_done(conn)
            if conn.state == _DRAIN:
                return self._drain(conn)
            for _ in range(_STEP_READS):
                if conn.state == _WRITE:
                    want = self._flush(conn)
                    if want is not None:
                        return want
                    continue
                if conn.state == _DRAIN:
                    return self._drain(conn)
                o.ERR_clear_error()
                n = o.SSL_read(conn.ssl, buf, len(buf))
                if n > 0:
                    self._feed(conn, buf.raw[:n])
                    if conn.session.closing and conn.state == _HTTP:
                        return self._close_notify(conn)
                    continue
                code = o.SSL_get_error(conn.ssl, n)
                if code == SSL_ERROR_WANT_READ:
                    o.ERR_clear_error()
                    if self._read_blocked(conn):
                        continue
                    return _WANT_READ
                if code == SSL_ERROR_WANT_WRITE:
                    o.ERR_clear_error()
                    return _WANT_WRITE
                if code in (SSL_ERROR_ZERO_RETURN, SSL_ERROR_SYSCALL):
                    o.ERR_clear_error()  # end of stream (or a reset): the session decides
                    self._feed(conn, b"")
                    if conn.state == _WRITE:
                        continue
                    return _CLOSE
                raise self._io_error(conn.ssl, n, "read")
            return _AGAIN
        except Exception as exc:  # noqa: BLE001 — per-connection failures never escape
            self._report(conn.addr, exc)
            return _CLOSE
        finally:
            o.local.error = None

    def _handshake_done(self, conn: _Connection) -> None:
        o = self._ossl
        cipher = o.SSL_get_current_cipher(conn.ssl)
        sni = o.SSL_get_servername(conn.ssl, TLSEXT_NAMETYPE_host_name)
        info = HandshakeInfo(
            protocol=o.SSL_get_version(conn.ssl).decode(),
            cipher_suite=o.SSL_CIPHER_standard_name(cipher).decode(),
            cipher=o.SSL_CIPHER_get_name(cipher).decode(),
            client_address=conn.addr,
            server_name=sni.decode() if sni else None,
            key_algorithm=self.key.algorithm,
        )
        with self._lock:
            self.handshakes += 1
        if self.on_handshake is not None:
            try:
                self.on_handshake(info)
            except Exception:  # noqa: BLE001 — a failed event write does not cut TLS
                log.exception("TLS endpoint %s: on_handshake hook failed", self.address)
        conn.session = HttpSession(self.handler, conn.addr, info)
        conn.state = _HTTP  # the HeaderWait timer started at accept keeps running

    def _read_blocked(self, conn: _Connection) -> bool:
        """SSL_read has nothing for the application: a subclass that waits for something
        else on the connection (a renegotiation) may act now; True reads again."""
        return False

    def _feed(self, conn: _Connection, data: bytes) -> None:
        session = conn.session
        before = session.phase
        out = session.receive(data)
        now = time.monotonic()
        t = self.timeouts
        if out:
            conn.out, conn.sent = out, 0
            conn.state = _WRITE
            # MinSendRate: the client must take the response at 150 bytes/s or better.
            conn.set_timer("MinSendRate", now + max(self._io_timeout, len(out) / t.min_send_rate),
                           None)
        elif session.phase == BODY:
            conn.set_timer("EntityBody", now + t.entity_body, self._io_timeout)
        elif session.phase == HEADERS and before == IDLE and session.requests:
            conn.set_timer("HeaderWait", now + t.header_wait, self._io_timeout)

    def _flush(self, conn: _Connection) -> str | int | None:
        """Write the pending response; None once it is all sent and reading resumes."""
        o = self._ossl
        while conn.sent < len(conn.out):
            chunk = conn.out[conn.sent:conn.sent + 4 * READ_CHUNK]
            o.ERR_clear_error()
            n = o.SSL_write(conn.ssl, chunk, len(chunk))
            if n <= 0:
                code = o.SSL_get_error(conn.ssl, n)
                if code in (SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_READ):
                    o.ERR_clear_error()
                    return _WANT_WRITE if code == SSL_ERROR_WANT_WRITE else _WANT_READ
                raise self._io_error(conn.ssl, n, "write")
            conn.sent += n
            conn.last_progress = time.monotonic()
        conn.out, conn.sent = b"", 0
        session = conn.session
        now = time.monotonic()
        t = self.timeouts
        if session.closing:
            if session.drain:
                return self._close_notify(conn)
            self._close_notify(conn)
            return _CLOSE
        conn.state = _HTTP
        if session.phase == IDLE:
            conn.set_timer("IdleConnection", now + t.idle_connection, None)
        elif session.phase == BODY:
            conn.set_timer("EntityBody", now + t.entity_body, self._io_timeout)
        else:  # a pipelined request already under way
            conn.set_timer("HeaderWait", now + t.header_wait, self._io_timeout)
        return None

    def _close_notify(self, conn: _Connection) -> str | int:
        """Send close_notify; after an error response read and drop what the client still
        sends (DrainEntityBody), so that it gets the response rather than a reset."""
        o = self._ossl
        o.ERR_clear_error()
        o.SSL_shutdown(conn.ssl)
        o.ERR_clear_error()
        if not conn.session.drain:
            return _CLOSE
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return _CLOSE
        conn.state = _DRAIN
        conn.set_timer("DrainEntityBody", time.monotonic() + self.timeouts.drain_entity_body,
                       None)
        return self._drain(conn)

    def _drain(self, conn: _Connection) -> str | int:
        for _ in range(_STEP_READS):
            try:
                if not conn.sock.recv(READ_CHUNK):
                    return _CLOSE
            except (BlockingIOError, InterruptedError):
                return _WANT_READ
            except OSError:
                return _CLOSE
        return _AGAIN

    def _io_error(self, ssl, ret: int, what: str) -> Exception:
        o = self._ossl
        code = o.SSL_get_error(ssl, ret)
        detail = o.errors()
        cause = o.local.error
        o.local.error = None
        if code == SSL_ERROR_ZERO_RETURN:
            exc: Exception = ConnectionAbortedError(f"{what}: peer closed the connection")
        elif code == SSL_ERROR_SYSCALL and not detail:
            exc = ConnectionError(f"{what}: connection closed by the peer")
        else:
            exc = TlsError(f"{what} failed (SSL error {code}): {detail or 'no detail'}")
        if cause is not None:
            exc = TlsError(f"{exc.args[0]}; the server key failed: {cause!r}")
            exc.__cause__ = cause
        return exc

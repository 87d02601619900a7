"""SSPI with the Schannel package for in-process callers (secur32.dll / sspicli.dll).

``AcquireCredentialsHandle`` / ``InitializeSecurityContext`` / ``AcceptSecurityContext`` /
``QueryContextAttributes`` / ``EncryptMessage`` / ``DecryptMessage`` / ``ApplyControlToken``
/ ``DeleteSecurityContext`` / ``FreeCredentialsHandle`` with Windows' names, structures,
flags and SEC_E_* codes, so a port of a C or C# Schannel loop (curl's ``schannel.c``,
.NET's ``SslStreamPal.Windows``) runs as it is.

Engine: the OpenSSL of :mod:`schannel.tls` (``libssl`` through ``ctypes``) with two
memory BIOs per context, so the handshake bytes OpenSSL writes *are* the SSPI tokens and
the records *are* EncryptMessage's output. The server's private-key operations (and a
client certificate's) go through the provider's key object, as the TLS endpoint's do.

Status convention (docs/architecture.md "Facade conventions"): the statuses a C loop
branches on to keep going -- ``SEC_E_OK``, the ``SEC_I_*`` codes and
``SEC_E_INCOMPLETE_MESSAGE`` -- are *returned*; every other ``SEC_E_*`` is raised as
``WinError`` (``GetLastError()`` holds it). The output buffers are filled in place, as C
fills the caller's ``SecBuffer`` array, and returned too.

Where lsass gets the key: Schannel runs the handshake in lsass, which must reopen the
certificate's private key by its CERT_KEY_PROV_INFO (provider + container). For a process
that is the caller's key, opened as the caller (a persisted key the caller can open works
even when SYSTEM cannot read its file); a key that lives only in the process's handle
(PFXImportCertStore with PKCS12_NO_PERSIST_KEY, .NET's EphemeralKeySet) cannot be reached
and AcquireCredentialsHandle fails with SEC_E_NO_CREDENTIALS (dotnet/corefx#24454: "ACH
returns SEC_E_NO_CREDENTIALS", the certificate "does not have a private key information
property"; dotnet/runtime#23749, #45680; Microsoft's "Troubleshooting SslStream
authentication issues": "(0x8009030E): No credentials are available in the security
package ... when attempting to use certificates with ephemeral keys").
"""

from __future__ import annotations

import ctypes
import dataclasses
import threading
import time
from dataclasses import dataclass, field

from capi import constants as C
from capi.errors import (
    CERT_E_CHAINING,
    CERT_E_CN_NO_MATCH,
    CERT_E_EXPIRED,
    CERT_E_REVOKED,
    CERT_E_UNTRUSTEDROOT,
    CERT_E_WRONG_USAGE,
    CRYPT_E_REVOKED,
    SEC_E_ALGORITHM_MISMATCH,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_CERT_EXPIRED,
    SEC_E_CERT_UNKNOWN,
    SEC_E_CERT_WRONG_USAGE,
    SEC_E_CONTEXT_EXPIRED,
    SEC_E_DECRYPT_FAILURE,
    SEC_E_ILLEGAL_MESSAGE,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INTERNAL_ERROR,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_NO_CREDENTIALS,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_UNKNOWN_CREDENTIALS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_E_UNTRUSTED_ROOT,
    SEC_E_WRONG_PRINCIPAL,
    SetLastError,
    WinError,
    winapi,
)
from capi.host.context import current_machine, current_token
from schannel.credentials import SCHANNEL_NAME, UNISP_NAME, ServerCredential
from schannel.sslext import SSL_VERIFY_PEER, SslExtras, system_store_certificates, x509_from_der
from schannel.tls import (
    SSL_CTRL_CHAIN_CERT,
    SSL_CTRL_MODE,
    SSL_CTRL_SET_GROUPS_LIST,
    SSL_CTRL_SET_MAX_PROTO_VERSION,
    SSL_CTRL_SET_MIN_PROTO_VERSION,
    SSL_ERROR_WANT_READ,
    SSL_OP_NO_RENEGOTIATION,
    TLS1_2_VERSION,
    TLS1_3_VERSION,
    TLSEXT_NAMETYPE_host_name,
    _bind,
    _OpenSSL,
)

# --- sspi.h / schannel.h constants --------------------------------------------------------

SEC_E_OK = 0x00000000
SEC_I_CONTINUE_NEEDED = 0x00090312
SEC_I_COMPLETE_NEEDED = 0x00090313
SEC_I_CONTEXT_EXPIRED = 0x00090317
SEC_I_INCOMPLETE_CREDENTIALS = 0x00090320
SEC_I_RENEGOTIATE = 0x00090321

SECPKG_CRED_INBOUND = 0x1
SECPKG_CRED_OUTBOUND = 0x2
SECPKG_CRED_BOTH = 0x3
SECURITY_NATIVE_DREP = 0x10
SECURITY_NETWORK_DREP = 0x0

SECBUFFER_VERSION = 0
SECBUFFER_EMPTY = 0
SECBUFFER_DATA = 1
SECBUFFER_TOKEN = 2
SECBUFFER_PKG_PARAMS = 3
SECBUFFER_MISSING = 4
SECBUFFER_EXTRA = 5
SECBUFFER_STREAM_TRAILER = 6
SECBUFFER_STREAM_HEADER = 7
SECBUFFER_STREAM = 10
SECBUFFER_ALERT = 17
SECBUFFER_APPLICATION_PROTOCOLS = 18

ISC_REQ_DELEGATE = 0x00000001
ISC_REQ_MUTUAL_AUTH = 0x00000002
ISC_REQ_REPLAY_DETECT = 0x00000004
ISC_REQ_SEQUENCE_DETECT = 0x00000008
ISC_REQ_CONFIDENTIALITY = 0x00000010
ISC_REQ_USE_SESSION_KEY = 0x00000020
ISC_REQ_PROMPT_FOR_CREDS = 0x00000040
ISC_REQ_USE_SUPPLIED_CREDS = 0x00000080
ISC_REQ_ALLOCATE_MEMORY = 0x00000100
ISC_REQ_CONNECTION = 0x00000800
ISC_REQ_EXTENDED_ERROR = 0x00004000
ISC_REQ_STREAM = 0x00008000
ISC_REQ_INTEGRITY = 0x00010000
ISC_REQ_MANUAL_CRED_VALIDATION = 0x00080000
ISC_RET_REPLAY_DETECT = 0x00000004
ISC_RET_SEQUENCE_DETECT = 0x00000008
ISC_RET_CONFIDENTIALITY = 0x00000010
ISC_RET_USED_SUPPLIED_CREDS = 0x00000080
ISC_RET_ALLOCATED_MEMORY = 0x00000100
ISC_RET_EXTENDED_ERROR = 0x00004000
ISC_RET_STREAM = 0x00008000
ISC_RET_MANUAL_CRED_VALIDATION = 0x00080000

ASC_REQ_DELEGATE = 0x00000001
ASC_REQ_MUTUAL_AUTH = 0x00000002
ASC_REQ_REPLAY_DETECT = 0x00000004
ASC_REQ_SEQUENCE_DETECT = 0x00000008
ASC_REQ_CONFIDENTIALITY = 0x00000010
ASC_REQ_ALLOCATE_MEMORY = 0x00000100
ASC_REQ_CONNECTION = 0x00000800
ASC_REQ_EXTENDED_ERROR = 0x00008000
ASC_REQ_STREAM = 0x00010000
ASC_RET_MUTUAL_AUTH = 0x00000002
ASC_RET_REPLAY_DETECT = 0x00000004
ASC_RET_SEQUENCE_DETECT = 0x00000008
ASC_RET_CONFIDENTIALITY = 0x00000010
ASC_RET_ALLOCATED_MEMORY = 0x00000100
ASC_RET_EXTENDED_ERROR = 0x00008000
ASC_RET_STREAM = 0x00010000

SECPKG_ATTR_STREAM_SIZES = 4
SECPKG_ATTR_REMOTE_CERT_CONTEXT = 0x53
SECPKG_ATTR_LOCAL_CERT_CONTEXT = 0x54
SECPKG_ATTR_CONNECTION_INFO = 0x5A
SECPKG_ATTR_CIPHER_INFO = 0x64

SCHANNEL_SHUTDOWN = 1

SCHANNEL_CRED_VERSION = 4
SCH_CREDENTIALS_VERSION = 5
SCH_CRED_NO_SYSTEM_MAPPER = 0x00000002
SCH_CRED_NO_SERVERNAME_CHECK = 0x00000004
SCH_CRED_MANUAL_CRED_VALIDATION = 0x00000008
SCH_CRED_NO_DEFAULT_CREDS = 0x00000010
SCH_CRED_AUTO_CRED_VALIDATION = 0x00000020
SCH_CRED_USE_DEFAULT_CREDS = 0x00000040
SCH_CRED_REVOCATION_CHECK_END_CERT = 0x00000100
SCH_CRED_REVOCATION_CHECK_CHAIN = 0x00000200
SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT = 0x00000400
SCH_CRED_IGNORE_NO_REVOCATION_CHECK = 0x00000800
SCH_CRED_IGNORE_REVOCATION_OFFLINE = 0x00001000
SCH_USE_STRONG_CRYPTO = 0x00400000

SP_PROT_TLS1_0_SERVER = 0x00000040
SP_PROT_TLS1_0_CLIENT = 0x00000080
SP_PROT_TLS1_1_SERVER = 0x00000100
SP_PROT_TLS1_1_CLIENT = 0x00000200
SP_PROT_TLS1_2_SERVER = 0x00000400
SP_PROT_TLS1_2_CLIENT = 0x00000800
SP_PROT_TLS1_3_SERVER = 0x00001000
SP_PROT_TLS1_3_CLIENT = 0x00002000
SP_PROT_TLS1_2 = SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_2_CLIENT
SP_PROT_TLS1_3 = SP_PROT_TLS1_3_SERVER | SP_PROT_TLS1_3_CLIENT

CALG_ECDH_EPHEM = 0x0000AE06
CALG_ECDHE = CALG_ECDH_EPHEM

# OpenSSL (include/openssl/ssl.h, x509_vfy.h, 3.0)
_SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
_SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
_SSL_CTRL_GET_PEER_TMP_KEY = 109
_SSL_CTRL_GET_TMP_KEY = 133
_SSL_RECEIVED_SHUTDOWN = 2
_SSL_READING = 3  # SSL_want()
_X509_V_ERR_CERT_HAS_EXPIRED = 10
_X509_V_ERR_CERT_REVOKED = 23
_X509_V_ERR_CERT_UNTRUSTED = 27
_X509_V_ERR_HOSTNAME_MISMATCH = 62
_X509_V_ERR_APPLICATION_VERIFICATION = 50

_RECORD_TYPES = (20, 21, 22, 23)  # change_cipher_spec, alert, handshake, application_data
_MAX_RECORD = 5 + 16384 + 2048  # RFC 8446 §5.2: TLSCiphertext.length <= 2^14 + 256 (1.2: +2048)
_MAX_MESSAGE = 16384
_OBUF = _MAX_MESSAGE + 2048 + 64  # one record, however it is protected
# Validation results are kept per credential while the machine's certificate stores are
# unchanged, for at most a minute and never past a certificate's notAfter -- as the
# CryptoAPI chain engine caches what it built until a store it reads changes (Microsoft
# "CERT_CHAIN_ENGINE_CONFIG": CERT_CHAIN_CACHE_END_CERT; "CertControlStore":
# CERT_STORE_CTRL_RESYNC).
_VALIDATION_CACHE_TTL = 60.0
_VALIDATION_CACHE_SIZE = 256
_REVOCATION_CHECKS = (SCH_CRED_REVOCATION_CHECK_END_CERT | SCH_CRED_REVOCATION_CHECK_CHAIN
                      | SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)  # never cached


# --- structures ---------------------------------------------------------------------------


def _count_of(name: str) -> property:
    """A C count field that Python keeps as the length of its list (``cCreds`` of ``paCred``)."""
    return property(lambda self: len(getattr(self, name)), doc=f"len({name})")


class SecBuffer:
    """SecBuffer(cbBuffer, BufferType, pvBuffer): ``pvBuffer`` is bytes or a memoryview;
    ``cbBuffer`` is its length (set for you when omitted).

    Output buffers are filled as C fills them: EncryptMessage's header, data and trailer and
    DecryptMessage's header, trailer and EXTRA are memoryviews into one record or into the
    caller's input (C's pointers into the caller's buffer), so a loop over many records in
    one input copies nothing; ``bytes(buf.data)`` gives a copy."""

    __slots__ = ("cbBuffer", "BufferType", "pvBuffer")

    def __init__(self, cbBuffer: int = 0, BufferType: int = SECBUFFER_EMPTY, pvBuffer=None):
        if pvBuffer is not None and not isinstance(pvBuffer, (bytes, memoryview)):
            pvBuffer = memoryview(pvBuffer) if isinstance(pvBuffer, bytearray) else bytes(pvBuffer)
        self.cbBuffer = cbBuffer if cbBuffer or pvBuffer is None else len(pvBuffer)
        self.BufferType = BufferType
        self.pvBuffer = pvBuffer

    def set(self, buffer_type: int, data: bytes | None) -> None:
        self.BufferType = buffer_type
        self.pvBuffer = data
        self.cbBuffer = len(data) if data is not None else 0

    @property
    def data(self) -> bytes:
        """The buffer's bytes (``pvBuffer`` up to ``cbBuffer``)."""
        if self.pvBuffer is None:
            return b""
        return self.pvBuffer[: self.cbBuffer]

    def __repr__(self) -> str:
        return f"SecBuffer({self.cbBuffer}, {self.BufferType}, {len(self.pvBuffer or b'')} bytes)"


@dataclass
class SecBufferDesc:
    """SecBufferDesc(ulVersion, pBuffers): ``cBuffers`` is ``len(pBuffers)``."""

    ulVersion: int = SECBUFFER_VERSION
    pBuffers: list = field(default_factory=list)

    def __post_init__(self):
        if isinstance(self.ulVersion, list):  # SecBufferDesc([buffers...])
            self.ulVersion, self.pBuffers = SECBUFFER_VERSION, self.ulVersion

    cBuffers = _count_of("pBuffers")


@dataclass
class SCHANNEL_CRED:
    """SCHANNEL_CRED (schannel.h), C fields in order; count-and-array pairs are lists."""

    dwVersion: int = SCHANNEL_CRED_VERSION
    paCred: list = field(default_factory=list)
    hRootStore: object = None
    aphMappers: list = field(default_factory=list)
    palgSupportedAlgs: list = field(default_factory=list)
    grbitEnabledProtocols: int = 0
    dwMinimumCipherStrength: int = 0
    dwMaximumCipherStrength: int = 0
    dwSessionLifespan: int = 0
    dwFlags: int = 0
    dwCredFormat: int = 0

    cCreds = _count_of("paCred")
    cMappers = _count_of("aphMappers")
    cSupportedAlgs = _count_of("palgSupportedAlgs")


@dataclass
class TLS_PARAMETERS:
    rgstrAlpnIds: list = field(default_factory=list)
    grbitDisabledProtocols: int = 0
    pDisabledCrypto: list = field(default_factory=list)
    dwFlags: int = 0

    cAlpnIds = _count_of("rgstrAlpnIds")
    cDisabledCrypto = _count_of("pDisabledCrypto")


@dataclass
class SCH_CREDENTIALS:
    """SCH_CREDENTIALS (schannel.h, Windows 10 1809+), C fields in order."""

    dwVersion: int = SCH_CREDENTIALS_VERSION
    dwCredFormat: int = 0
    paCred: list = field(default_factory=list)
    hRootStore: object = None
    aphMappers: list = field(default_factory=list)
    dwSessionLifespan: int = 0
    dwFlags: int = 0
    pTlsParameters: list = field(default_factory=list)

    cCreds = _count_of("paCred")
    cMappers = _count_of("aphMappers")
    cTlsParameters = _count_of("pTlsParameters")


@dataclass
class SecPkgContext_StreamSizes:
    cbHeader: int
    cbTrailer: int
    cbMaximumMessage: int
    cBuffers: int
    cbBlockSize: int


@dataclass
class SecPkgContext_ConnectionInfo:
    dwProtocol: int
    aiCipher: int
    dwCipherStrength: int
    aiHash: int
    dwHashStrength: int
    aiExch: int
    dwExchStrength: int


@dataclass
class SecPkgContext_CipherInfo:
    dwVersion: int
    dwProtocol: int
    dwCipherSuite: int
    dwBaseCipherSuite: int
    szCipherSuite: str
    szCipher: str
    dwCipherLen: int
    dwCipherBlockLen: int
    szHash: str
    dwHashLen: int
    szExchange: str
    dwMinExchangeLen: int
    dwMaxExchangeLen: int
    szCertificate: str
    dwKeyType: int


SECPKGCONTEXT_CIPHERINFO_V1 = 1


# --- OpenSSL: the functions the endpoint does not bind ----------------------------------

_vp = ctypes.c_void_p
_addressof = ctypes.addressof
_from_buffer = ctypes.c_char.from_buffer  # a writable buffer's first byte, for its address
_VERIFY_FN = ctypes.CFUNCTYPE(ctypes.c_int, _vp, _vp)
_CLIENT_CERT_FN = ctypes.CFUNCTYPE(ctypes.c_int, _vp, ctypes.POINTER(_vp), ctypes.POINTER(_vp))
_SSL_ERROR_WANT_X509_LOOKUP = 4

# The record kernel in C (schannel/_sspirecord.c), built by the install when a compiler is
# there; without it the message path makes the same OpenSSL calls through ctypes.
try:
    from schannel import _sspirecord
except ImportError:  # not built: the ctypes path
    _sspirecord = None
# Its seal(), open(), new_bio() and step(), once _Lib has handed it OpenSSL's functions.
_seal = _open = _new_bio = _step = None
_R_FAILED, _R_TOO_SMALL, _R_NOT_HANDLED, _R_BIO_WRITE = -1, -2, -3, -4  # _sspirecord.c R_*


class _Lib(SslExtras):
    """SslExtras plus the SSPI callbacks, which find their context by its SSL*."""

    _instance: _Lib | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> _Lib:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls(_OpenSSL.get())
            return cls._instance

    def __init__(self, o: _OpenSSL):
        super().__init__(o)
        # One verification hook for every context: it finds the SSPI context by its SSL*.
        self.contexts: dict[int, CtxtHandle] = {}
        self.SSL_want = _bind(o.ssl, "SSL_want", ctypes.c_int, _vp)
        # A memory BIO's read, write and pending are a memcpy at most: cheaper called with the
        # GIL held (ctypes.PyDLL) than released and taken back around them.
        held = ctypes.PyDLL(o.crypto._name, handle=o.crypto._handle)
        i = ctypes.c_int
        self.BIO_read_held = _bind(held, "BIO_read", i, _vp, _vp, i)
        self.BIO_write_held = _bind(held, "BIO_write", i, _vp, _vp, i)
        self.BIO_ctrl_pending_held = _bind(held, "BIO_ctrl_pending", ctypes.c_size_t, _vp)
        self.verify_cb = _VERIFY_FN(self._verify)
        self.client_cert_cb = _CLIENT_CERT_FN(self._client_cert)
        if _sspirecord is not None:
            self._init_record_kernel(o)

    @staticmethod
    def _init_record_kernel(o: _OpenSSL) -> None:
        """The C kernel calls these very functions of the libraries loaded here."""
        global _seal, _open, _new_bio, _step
        names = {o.ssl: ("SSL_write", "SSL_read", "SSL_in_init", "SSL_set0_rbio",
                         "SSL_set0_wbio", "SSL_do_handshake", "SSL_get_error"),
                 o.crypto: ("BIO_write", "BIO_read", "BIO_ctrl_pending", "BIO_get_new_index",
                            "BIO_meth_new", "BIO_meth_set_write", "BIO_meth_set_read",
                            "BIO_meth_set_ctrl", "BIO_new", "BIO_free", "BIO_up_ref",
                            "BIO_set_data", "BIO_get_data", "BIO_set_init", "BIO_set_flags",
                            "BIO_clear_flags", "ERR_clear_error")}
        try:
            _sspirecord.init({name: ctypes.cast(getattr(lib, name), _vp).value
                              for lib, group in names.items() for name in group})
        except (AttributeError, RuntimeError, KeyError):  # an OpenSSL (or a build) without one: ctypes
            return
        _seal, _open, _new_bio = _sspirecord.seal, _sspirecord.open, _sspirecord.new_bio
        _step = getattr(_sspirecord, "step", None)  # a build older than step(): ctypes

    def _client_cert(self, ssl, x509_out, pkey_out) -> int:
        """OpenSSL asks the client for a certificate (the server sent CertificateRequest)."""
        context = self.contexts.get(ssl)
        if context is None:
            return 0
        try:
            return context._supply_client_certificate(x509_out, pkey_out)
        except BaseException as exc:  # noqa: BLE001 — nothing may escape into C
            context._failure = exc if isinstance(exc, WinError) else WinError(
                SEC_E_INTERNAL_ERROR, detail=repr(exc))
            return -1

    def _verify(self, store_ctx, _arg) -> int:
        try:
            ssl = self.X509_STORE_CTX_get_ex_data(store_ctx, self.store_idx)
            context = self.contexts.get(ssl)
            if context is None:
                return 0
            chain = self.presented_chain(store_ctx)
            context._peer_chain = chain
            error = context._validate_peer(chain)
        except BaseException as exc:  # noqa: BLE001 — nothing may escape into C
            error = exc if isinstance(exc, WinError) else WinError(SEC_E_CERT_UNKNOWN,
                                                                  detail=repr(exc))
            context = self.contexts.get(self.X509_STORE_CTX_get_ex_data(store_ctx, self.store_idx))
        if context is not None and context.server:
            # A server hands the client's certificate to the application whatever its
            # trust: .NET's SslStream server on Windows gets an untrusted client certificate
            # in its RemoteCertificateValidationCallback (SslPolicyErrors.
            # RemoteCertificateChainErrors) and http.sys reports it to IIS in CertFlags,
            # which answers 403.16. The result is kept for those callers.
            context.peer_trust_error = error
            if error is not None:
                _log_rejected_peer(context, error)
            return 1
        if error is None:
            return 1
        context._failure = error
        _log_rejected_peer(context, error)
        self.X509_STORE_CTX_set_error(store_ctx, _X509_ERRORS.get(error.hresult,
                                                                  _X509_V_ERR_APPLICATION_VERIFICATION))
        return 0


_SSL_CTRL_GET_NEGOTIATED_GROUP = 134  # SSL_get_negotiated_group (ssl.h, OpenSSL 3.0)
# NID -> key-exchange strength in bits, as EVP_PKEY_get_bits gives it for each group's key.
_GROUP_BITS = {1034: 253, 1035: 448, 415: 256, 715: 384, 716: 521}  # X25519 X448 P-256/384/521


def _log_rejected_peer(context, error: WinError) -> None:
    """Schannel's System-log event for a refused peer certificate (schannel.certevents)."""
    from schannel import certevents

    try:
        leaf = context._peer_chain[0] if context._peer_chain else None
        if context.server:
            certevents.log_client_cert_rejected(context.cred.machine, error.hresult, leaf)
        else:
            certevents.log_server_cert_rejected(context.cred.machine, error.hresult,
                                                context.target, leaf)
    except WinError:
        pass  # the log cannot be written: the handshake's result stands


# Which alert the peer gets: X509 error -> OpenSSL's alert (ssl/statem/statem_lib.c).
_X509_ERRORS = {
    SEC_E_UNTRUSTED_ROOT: _X509_V_ERR_CERT_UNTRUSTED,        # unknown_ca
    SEC_E_CERT_EXPIRED: _X509_V_ERR_CERT_HAS_EXPIRED,        # certificate_expired
    CRYPT_E_REVOKED: _X509_V_ERR_CERT_REVOKED,               # certificate_revoked
    SEC_E_WRONG_PRINCIPAL: _X509_V_ERR_HOSTNAME_MISMATCH,    # bad_certificate
}

# CertVerifyCertificateChainPolicy(SSL)'s dwError -> what Schannel returns.
_POLICY_TO_SEC = {
    CERT_E_UNTRUSTEDROOT: SEC_E_UNTRUSTED_ROOT,
    CERT_E_CHAINING: SEC_E_UNTRUSTED_ROOT,
    CERT_E_EXPIRED: SEC_E_CERT_EXPIRED,
    CERT_E_CN_NO_MATCH: SEC_E_WRONG_PRINCIPAL,
    CERT_E_WRONG_USAGE: SEC_E_CERT_WRONG_USAGE,
    CERT_E_REVOKED: CRYPT_E_REVOKED,
    CRYPT_E_REVOKED: CRYPT_E_REVOKED,
}


# --- credentials --------------------------------------------------------------------------


class CredHandle:
    """An acquired Schannel credential: the OpenSSL context it configures, and the key."""

    def __init__(self, machine, token, use: int, cred, certificate, key):
        self.machine = machine
        self.token = token
        self.use = use
        self.cred = cred
        self.certificate = certificate
        self.key = key  # a ServerKey (ProviderServerKey) or None
        self.flags = cred.dwFlags if cred is not None else 0
        self.versions = _versions(cred, use)
        self._ctx = None
        self._pkey = None
        self._lock = threading.Lock()
        self.validations: dict = {}

    @property
    def inbound(self) -> bool:
        return bool(self.use & SECPKG_CRED_INBOUND)

    def ssl_ctx(self, lib: _Lib, *, mutual: bool = False):
        """The SSL_CTX of this credential (one per credential, as Schannel keeps one
        credential per handle); ``mutual`` servers ask for a client certificate."""
        with self._lock:
            key = "mutual" if mutual else "plain"
            if self._ctx is None:
                self._ctx = {}
            if key not in self._ctx:
                self._ctx[key] = self._make_ctx(lib, mutual)
            return self._ctx[key]

    def _make_ctx(self, lib: _Lib, mutual: bool):
        o = lib.o
        o.ERR_clear_error()
        method = o.TLS_server_method() if self.inbound else lib.TLS_client_method()
        ctx = o.SSL_CTX_new(method)
        if not ctx:
            raise WinError(SEC_E_INTERNAL_ERROR, detail="SSL_CTX_new: " + o.errors())
        low, high = self.versions
        o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, low, None)
        o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, high, None)
        o.SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION)
        o.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, 0x2, None)  # ACCEPT_MOVING_WRITE_BUFFER
        o.SSL_CTX_set_cipher_list(ctx, b"DEFAULT:!aNULL")
        o.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, b"X25519:P-256:P-384")
        if self.certificate is not None:
            self._use_certificate(lib, ctx)
        if self.inbound:
            if mutual:
                lib.request_client_certificate(ctx, self.machine)
        else:
            lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, None)
            if self.certificate is None:
                lib.SSL_CTX_set_client_cert_cb(ctx, ctypes.cast(lib.client_cert_cb, _vp))
        lib.SSL_CTX_set_cert_verify_callback(ctx, ctypes.cast(lib.verify_cb, _vp), None)
        return ctx

    def _use_certificate(self, lib: _Lib, ctx) -> None:
        o = lib.o
        for index, der in enumerate(_chain_der(self.machine, self.certificate)):
            x509 = x509_from_der(o, der)
            if not x509:
                raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="certificate is not X.509")
            try:
                ok = (o.SSL_CTX_use_certificate(ctx, x509) if index == 0
                      else o.SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, x509))
            finally:
                o.X509_free(x509)
            if ok != 1:
                raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail=o.errors())
        if self._pkey is None:
            self._pkey = o.bind_key(self.key)
        if o.SSL_CTX_use_PrivateKey(ctx, self._pkey) != 1 or o.SSL_CTX_check_private_key(ctx) != 1:
            raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="key does not match: " + o.errors())

    def free(self) -> None:
        lib = _Lib._instance
        with self._lock:
            if lib is not None:
                for ctx in (self._ctx or {}).values():
                    lib.o.SSL_CTX_free(ctx)
                if self._pkey:
                    lib.o.unbind_key(self._pkey)
            self._ctx, self._pkey = None, None
            if self.key is not None:
                self.key.close()
                self.key = None
        self.use = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        FreeCredentialsHandle(self)


def _versions(cred, use: int) -> tuple[int, int]:
    """The protocol range: SCHANNEL_CRED's grbitEnabledProtocols (0 = system default),
    SCH_CREDENTIALS' grbitDisabledProtocols. SCHANNEL_CRED never negotiates TLS 1.3
    (zeroc-ice/ice#2209 "Use SCH_CREDENTIALS": "TLS 1.3 is not negotiated when using the old
    SCHANNEL_CRED version")."""
    enabled = {TLS1_2_VERSION: SP_PROT_TLS1_2, TLS1_3_VERSION: SP_PROT_TLS1_3}
    if cred is None or isinstance(cred, SCH_CREDENTIALS):
        allowed = [TLS1_2_VERSION, TLS1_3_VERSION]
        disabled = 0
        for params in getattr(cred, "pTlsParameters", None) or []:
            disabled |= params.grbitDisabledProtocols
        allowed = [v for v in allowed if not enabled[v] & disabled]
    else:
        bits = cred.grbitEnabledProtocols
        allowed = [TLS1_2_VERSION] if not bits else [
            v for v in (TLS1_2_VERSION,) if enabled[v] & bits]
    if not allowed:
        raise WinError(SEC_E_ALGORITHM_MISMATCH, detail="no enabled protocol")
    return min(allowed), max(allowed)


def _chain_der(machine, cert) -> list[bytes]:
    """The certificate and its issuing CAs (not the root), as Schannel sends them."""
    from capi.crypt32.chain import build_chain

    try:
        chain = build_chain(machine, cert, location="LocalMachine")
        elements = [e.pCertContext for e in chain.rgpChain[0].rgpElement]
    except WinError:
        elements = [cert]
    if len(elements) > 1 and elements[-1].x509.issuer == elements[-1].x509.subject:
        elements = elements[:-1]
    return [e.pbCertEncoded for e in elements]


def _default_client_certificate(cred: CredHandle, ca_names: list[bytes]):
    """(certificate, key) Schannel would pick for client authentication: CurrentUser\\My
    certificates with a private key, time-valid, good for client authentication, issued by
    one of the CAs the server named (any, when it named none)."""
    import datetime

    from capi.host.context import run_as, use_machine

    now = datetime.datetime.now(datetime.timezone.utc)
    with use_machine(cred.machine), run_as(cred.token):
        for ctx in system_store_certificates(C.CERT_SYSTEM_STORE_CURRENT_USER, "My"):
            if not _client_candidate(ctx, now, ca_names):
                continue
            try:
                return ctx, _open_key(cred.machine, cred.token, ctx)
            except WinError as exc:
                if exc.hresult == SEC_E_NO_CREDENTIALS:
                    continue  # no key information: not a candidate
                if isinstance(exc.__cause__, WinError) and exc.__cause__.name.startswith("SCARD_"):
                    raise exc.__cause__ from None  # the card's own error
                raise
    return None


def _client_candidate(ctx, now, ca_names: list[bytes]) -> bool:
    from cryptography import x509 as cx509

    cert = ctx.x509
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return False
    if C.CERT_KEY_PROV_INFO_PROP_ID not in ctx._root()._props:
        return False
    try:
        eku = cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage).value
        if C.szOID_PKIX_KP_CLIENT_AUTH not in {o.dotted_string for o in eku}:
            return False
    except cx509.ExtensionNotFound:
        pass
    return not ca_names or cert.issuer.public_bytes() in ca_names


def _open_key(machine, token, cert):
    """The certificate's key as this process reaches it through lsass (module docstring)."""
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from schannel.serve import ProviderServerKey

    try:
        cert.x509.public_key()
    except Exception as exc:
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail=str(exc)) from exc
    try:
        info = CertGetCertificateContextProperty(cert, C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError as exc:
        # An ephemeral key (CERT_KEY_CONTEXT_PROP_ID only) cannot be reopened by lsass.
        raise WinError(SEC_E_NO_CREDENTIALS,
                       detail="the certificate has no private key information property") from exc
    cng = info.dwProvType == 0
    if not cng and info.dwKeySpec == C.AT_SIGNATURE and machine.os.schannel_rejects_at_signature:
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="KeySpec = 2 -- AT_SIGNATURE")
    spec = C.CERT_NCRYPT_KEY_SPEC if cng else info.dwKeySpec
    try:
        return ProviderServerKey(machine, ServerCredential(cert, info, spec, machine),
                                 identity=token)
    except WinError as exc:
        # dotnet/corefx#41781: a client certificate whose key the user cannot open fails
        # AcquireCredentialsHandle with 0x8009030D.
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS,
                       detail=f"private key not usable by the caller: {exc.name}") from exc


@winapi
def AcquireCredentialsHandle(pszPrincipal: str | None, pszPackage: str, fCredentialUse: int,
                             pvLogonId: object = None,
                             pAuthData: SCHANNEL_CRED | SCH_CREDENTIALS | None = None) -> CredHandle:
    """AcquireCredentialsHandle (Schannel) -> CredHandle (the expiry output dropped).

    ``pAuthData`` is a SCHANNEL_CRED or SCH_CREDENTIALS (or None: a client with no
    certificate). Raises SEC_E_SECPKG_NOT_FOUND (unknown package), SEC_E_NO_CREDENTIALS (an
    inbound credential without a certificate, a certificate without key information -- an
    ephemeral key), SEC_E_UNKNOWN_CREDENTIALS (bad dwVersion, more than one certificate, a
    key the caller cannot open or that does not match), SEC_E_ALGORITHM_MISMATCH (every
    protocol disabled).
    """
    if str(pszPackage or "").lower() not in (UNISP_NAME.lower(), SCHANNEL_NAME.lower()):
        raise WinError(SEC_E_SECPKG_NOT_FOUND, detail=repr(pszPackage))
    use = int(fCredentialUse) & 0xFFFFFFFF
    if use not in (SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND):
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS if use == SECPKG_CRED_BOTH
                       else SEC_E_NO_CREDENTIALS, detail=f"fCredentialUse {use:#x}")
    cred = pAuthData
    if cred is not None and not isinstance(cred, (SCHANNEL_CRED, SCH_CREDENTIALS)):
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="pAuthData is not a SCHANNEL_CRED")
    if cred is not None and cred.dwVersion not in (SCHANNEL_CRED_VERSION, SCH_CREDENTIALS_VERSION):
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail=f"dwVersion {cred.dwVersion}")
    machine = current_machine()
    token = current_token(machine)
    certs = list(cred.paCred) if cred is not None else []
    if len(certs) > 1:
        raise WinError(SEC_E_UNKNOWN_CREDENTIALS, detail="Schannel takes one certificate")
    if not certs:
        if use == SECPKG_CRED_INBOUND:
            # Wine schannel.c testAcquireSecurityContext: inbound without a certificate.
            raise WinError(SEC_E_NO_CREDENTIALS)
        handle = CredHandle(machine, token, use, cred, None, None)
    else:
        try:
            key = _open_key(machine, token, certs[0])
        except WinError as exc:
            if exc.hresult == SEC_E_NO_CREDENTIALS:  # no key information: event 36869
                from schannel.certevents import log_no_key_information

                log_no_key_information(machine, use == SECPKG_CRED_INBOUND)
            raise
        handle = CredHandle(machine, token, use, cred, certs[0], key)
    _versions(cred, use)
    return handle


@winapi
def FreeCredentialsHandle(phCredential: CredHandle) -> None:
    """FreeCredentialsHandle; SEC_E_INVALID_HANDLE for something that is not a handle."""
    if not isinstance(phCredential, CredHandle):
        raise WinError(SEC_E_INVALID_HANDLE)
    phCredential.free()


# --- contexts -----------------------------------------------------------------------------


_local = threading.local()


def _scratch():
    buf = getattr(_local, "scratch", None)
    if buf is None:
        buf = _local.scratch = ctypes.create_string_buffer(_OBUF)
    return buf


def _scan(data: bytes) -> tuple[int, int]:
    """(length of the complete records at the start of ``data``, bytes missing for the
    next one); SEC_E_INVALID_TOKEN for bytes that are not TLS records."""
    pos = 0
    while True:
        rest = len(data) - pos
        if rest == 0:
            return pos, 0
        if data[pos] not in _RECORD_TYPES or (rest >= 2 and data[pos + 1] != 3):
            raise WinError(SEC_E_INVALID_TOKEN, detail="not a TLS record")
        if rest < 5:
            return pos, 5 - rest
        length = int.from_bytes(data[pos + 3:pos + 5], "big")
        if length > _MAX_RECORD:
            raise WinError(SEC_E_INVALID_TOKEN, detail="record too long")
        if rest < 5 + length:
            return pos, 5 + length - rest
        pos += 5 + length


def _first_record(data: bytes) -> tuple[int, int]:
    """(length of the first record if complete else 0, bytes missing)."""
    if len(data) < 5:
        if data and data[0] not in _RECORD_TYPES:
            raise WinError(SEC_E_INVALID_TOKEN, detail="not a TLS record")
        return 0, 5 - len(data)
    if data[0] not in _RECORD_TYPES or data[1] != 3:
        raise WinError(SEC_E_INVALID_TOKEN, detail="not a TLS record")
    length = int.from_bytes(data[3:5], "big")
    if len(data) < 5 + length:
        return 0, 5 + length - len(data)
    return 5 + length, 0


def _stream_buffers(bufs: list) -> tuple[SecBuffer, SecBuffer, SecBuffer]:
    """EncryptMessage's (STREAM_HEADER, DATA, STREAM_TRAILER) buffers, the last of each type
    where there are several; SEC_E_INVALID_TOKEN when one is missing."""
    header = data = trailer = None
    for buf in bufs:
        kind = buf.BufferType
        if kind == SECBUFFER_DATA:
            data = buf
        elif kind == SECBUFFER_STREAM_HEADER:
            header = buf
        elif kind == SECBUFFER_STREAM_TRAILER:
            trailer = buf
    if header is None or data is None or trailer is None:
        raise WinError(SEC_E_INVALID_TOKEN, detail="EncryptMessage needs header, data, trailer")
    return header, data, trailer


_STREAM_TYPES = (SECBUFFER_DATA, SECBUFFER_STREAM_HEADER, SECBUFFER_STREAM_TRAILER)


def _input_token(desc) -> bytes:
    """The bytes of the input's SECBUFFER_TOKEN (none: empty)."""
    for buf in desc.pBuffers if desc is not None else ():
        if buf.BufferType == SECBUFFER_TOKEN:
            data = buf.data
            return data if isinstance(data, bytes) else bytes(data)
    return b""


def _set_missing(buf: SecBuffer, count: int) -> None:
    """SECBUFFER_MISSING: ``cbBuffer`` is how many more bytes to read (pvBuffer is left)."""
    buf.BufferType, buf.cbBuffer = SECBUFFER_MISSING, count


def _decrypt_buffers(bufs: list) -> tuple[SecBuffer, SecBuffer, SecBuffer, SecBuffer]:
    """DecryptMessage's buffers: the one SECBUFFER_DATA (it becomes the STREAM_HEADER) and
    the first three SECBUFFER_EMPTY (they become DATA, STREAM_TRAILER and EXTRA, in order);
    SEC_E_INVALID_TOKEN for no DATA, two, or fewer than three EMPTY. Wine
    dlls/secur32/tests/schannel.c test_communication: "No data buffer", "Two data buffers",
    "Too few empty buffers" -> SEC_E_INVALID_TOKEN."""
    data = [b for b in bufs if b.BufferType == SECBUFFER_DATA]
    empty = [b for b in bufs if b.BufferType == SECBUFFER_EMPTY]
    if len(data) != 1:
        raise WinError(SEC_E_INVALID_TOKEN, detail="DecryptMessage needs one SECBUFFER_DATA")
    if len(empty) < 3:
        raise WinError(SEC_E_INVALID_TOKEN, detail="DecryptMessage needs three SECBUFFER_EMPTY")
    return data[0], empty[0], empty[1], empty[2]


def _set_extra(desc, extra: bytes) -> None:
    """Schannel reports unconsumed input (SECBUFFER_EXTRA) in the input's second buffer; with
    none, a second buffer that reported EXTRA or MISSING before is emptied."""
    if desc is None:
        return
    bufs = desc.pBuffers
    if not extra:
        if len(bufs) > 1 and bufs[1].BufferType in (SECBUFFER_EXTRA, SECBUFFER_MISSING):
            bufs[1].set(SECBUFFER_EMPTY, None)
        return
    if len(bufs) < 2:
        bufs.append(SecBuffer())
    bufs[1].set(SECBUFFER_EXTRA, extra)


def _output_desc(desc):
    if desc is None:
        desc = SecBufferDesc(SECBUFFER_VERSION, [SecBuffer(0, SECBUFFER_TOKEN, None),
                                                 SecBuffer(0, SECBUFFER_ALERT, None)])
    return desc


def _put_output(desc, token: bytes, alert: bool = False) -> None:
    """``token`` in the output's SECBUFFER_TOKEN (one is put first when there is none) or,
    with ``alert``, in its SECBUFFER_ALERT when it has one."""
    want = SECBUFFER_ALERT if alert else SECBUFFER_TOKEN
    for buf in desc.pBuffers:
        if buf.BufferType == want:
            buf.set(want, token)
            return
    if not alert:
        desc.pBuffers.insert(0, SecBuffer(len(token), SECBUFFER_TOKEN, token))


def _reply(status: int, out, token: bytes, pInput=None, extra: bytes = b""):
    """A handshake call's result: the token to send in the output, the input not consumed
    reported in the input (when given) -> (status, output)."""
    _put_output(out, token)
    _set_extra(pInput, extra)
    return status, out


# SSL_do_handshake wants more: the status that asks the caller to go on.
_HANDSHAKE_GOES_ON = {SSL_ERROR_WANT_READ: SEC_I_CONTINUE_NEEDED,
                      _SSL_ERROR_WANT_X509_LOOKUP: SEC_I_INCOMPLETE_CREDENTIALS}


class CtxtHandle:
    """A Schannel security context: one SSL* between two memory BIOs."""

    def __init__(self, lib: _Lib, cred: CredHandle, server: bool, target: str | None,
                 req: int):
        self._lib = lib
        self.cred = cred
        self.server = server
        self.target = target
        self.req = req
        self.state = "handshake"
        self._failure: WinError | None = None
        self._peer_chain: list[bytes] = []
        self._sizes: SecPkgContext_StreamSizes | None = None
        self._header = 0  # cbHeader, once the sizes are known
        self.peer_trust_error: WinError | None = None  # a server's view of the client chain
        self.alt_cred: CredHandle | None = None  # credentials given after INCOMPLETE_CREDENTIALS
        self._asked_for_credentials = False
        self._client_keys: list = []  # (ServerKey, EVP_PKEY) bound for a default certificate
        o = lib.o
        mutual = server and bool(req & ASC_REQ_MUTUAL_AUTH)
        self.ssl = o.SSL_new(cred.ssl_ctx(lib, mutual=mutual))
        if not self.ssl:
            raise WinError(SEC_E_INTERNAL_ERROR, detail="SSL_new: " + o.errors())
        self.rbio = lib.BIO_new(lib.BIO_s_mem())
        self.wbio = lib.BIO_new(lib.BIO_s_mem())
        lib.SSL_set_bio(self.ssl, self.rbio, self.wbio)
        if server:
            lib.SSL_set_accept_state(self.ssl)
        else:
            lib.SSL_set_connect_state(self.ssl)
            if target:
                try:
                    sni = target.encode("idna")
                except UnicodeError as exc:
                    raise WinError(SEC_E_WRONG_PRINCIPAL, detail=repr(target)) from exc
                lib.SSL_ctrl(self.ssl, _SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                             ctypes.c_char_p(sni))
        lib.contexts[self.ssl] = self
        self._buf = self._obuf = None  # record buffers, made when the context is established
        # The message path's calls, bound once (encrypt and decrypt in place). Neither
        # clears the thread's error queue first: nothing on it reads the queue (SSL_get_error
        # does, so a failed SSL_read is told apart by SSL_want and SSL_get_shutdown).
        self._send_io = (lib.SSL_write_p, lib.BIO_ctrl_pending_held, lib.BIO_read_held)
        self._recv_io = (lib.BIO_write_held, lib.SSL_read_p)
        # The C kernel's BIOs: one for sending, one for receiving (a caller may encrypt and
        # decrypt on one context from two threads, as .NET's SslStream does); made when the
        # handshake completes.
        self._send_bio = self._recv_bio = None

    # -- plumbing -----------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if data and self._lib.BIO_write(self.rbio, data, len(data)) != len(data):
            raise WinError(SEC_E_INTERNAL_ERROR, detail="BIO_write")

    def _drain(self, bio) -> bytes:
        """Everything ``bio`` holds: one BIO_read into the thread's scratch buffer."""
        lib = self._lib
        scratch = _scratch()
        got = lib.BIO_read(bio, scratch, _OBUF)
        if got <= 0:
            return b""
        data = ctypes.string_at(scratch, got)
        if got < _OBUF:
            return data
        out = [data]
        while (got := lib.BIO_read(bio, scratch, _OBUF)) > 0:
            out.append(ctypes.string_at(scratch, got))
        return b"".join(out)

    def _error(self, default: int) -> WinError:
        o = self._lib.o
        if self._failure is not None:
            exc, self._failure = self._failure, None
            o.ERR_clear_error()
            return exc
        err = getattr(o.local, "error", None)
        if err is not None:
            o.local.error = None
            o.ERR_clear_error()
            if isinstance(err, WinError):
                return err
            return WinError(SEC_E_INTERNAL_ERROR, detail=repr(err))
        text = o.errors()
        if any(k in text for k in ("no shared cipher", "no suitable", "unsupported protocol",
                                   "no protocols available", "protocol version")):
            return WinError(SEC_E_ALGORITHM_MISMATCH, detail=text)
        return WinError(default, detail=text or "handshake failed")

    def _validate_peer(self, chain: list[bytes]) -> WinError | None:
        """Validate the peer's chain with the machine's chain engine (capi.crypt32.chain)."""
        cred = self.cred
        if not self.server and (cred.flags & SCH_CRED_MANUAL_CRED_VALIDATION
                                or self.req & ISC_REQ_MANUAL_CRED_VALIDATION):
            return None
        name = None if self.server or cred.flags & SCH_CRED_NO_SERVERNAME_CHECK else self.target
        if cred.flags & _REVOCATION_CHECKS:
            # The CRLs (files at distribution points, the CA's published CRL) are read at
            # every handshake: a certificate revoked since the last one fails at the next.
            code, detail, _ = self._chain_policy(chain, name)
            return None if code is None else WinError(code, detail=detail)
        key = (tuple(chain), self.server, name, cred.flags)
        fingerprint = cred.machine.store_version()
        now = time.time()
        hit = cred.validations.get(key)
        if hit is not None and hit[0] == fingerprint and hit[1] > now:
            return None if hit[2] is None else WinError(hit[2], detail=hit[3])
        code, detail, not_after = self._chain_policy(chain, name)
        if len(cred.validations) >= _VALIDATION_CACHE_SIZE:
            cred.validations.clear()
        cred.validations[key] = (fingerprint, min(now + _VALIDATION_CACHE_TTL, not_after),
                                 code, detail)
        return None if code is None else WinError(code, detail=detail)

    def _chain_policy(self, chain: list[bytes], name: str | None):
        """(SEC code or None, detail, earliest notAfter as a timestamp)."""
        from capi.crypt32.cert import CertCreateCertificateContext
        from capi.crypt32.chain import (
            CERT_CHAIN_PARA,
            CERT_CHAIN_POLICY_PARA,
            CERT_USAGE_MATCH,
            SSL_EXTRA_CERT_CHAIN_POLICY_PARA,
            CertGetCertificateChain,
            CertVerifyCertificateChainPolicy,
        )
        from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore
        from capi.host.context import run_as, use_machine

        cred = self.cred
        with use_machine(cred.machine), run_as(cred.token):
            leaf = CertCreateCertificateContext(C.X509_ASN_ENCODING, chain[0])
            extra = CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, 0, None)
            for der in chain[1:]:
                CertAddEncodedCertificateToStore(extra, C.X509_ASN_ENCODING, der,
                                                 C.CERT_STORE_ADD_ALWAYS)
            usage = C.szOID_PKIX_KP_CLIENT_AUTH if self.server else C.szOID_PKIX_KP_SERVER_AUTH
            para = CERT_CHAIN_PARA(CERT_USAGE_MATCH(C.USAGE_MATCH_TYPE_AND, [usage]))
            # lsass validates a client certificate with the machine's engine; a client
            # process validates the server with its user's (whose roots include the machine's).
            engine = C.HCCE_LOCAL_MACHINE if self.server else C.HCCE_CURRENT_USER
            flags = 0
            for sch, chain_flag in ((SCH_CRED_REVOCATION_CHECK_END_CERT,
                                     C.CERT_CHAIN_REVOCATION_CHECK_END_CERT),
                                    (SCH_CRED_REVOCATION_CHECK_CHAIN,
                                     C.CERT_CHAIN_REVOCATION_CHECK_CHAIN),
                                    (SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
                                     C.CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)):
                if cred.flags & sch:
                    flags |= chain_flag
            with CertGetCertificateChain(engine, leaf, None, extra, para, flags) as ctx:
                not_after = min(e.pCertContext.x509.not_valid_after_utc.timestamp()
                                for e in ctx.rgpChain[0].rgpElement)
                extra_para = SSL_EXTRA_CERT_CHAIN_POLICY_PARA(
                    C.AUTHTYPE_CLIENT if self.server else C.AUTHTYPE_SERVER, 0, name)
                status = CertVerifyCertificateChainPolicy(
                    C.CERT_CHAIN_POLICY_SSL, ctx, CERT_CHAIN_POLICY_PARA(0, extra_para))
        if status.dwError == 0:
            return None, None, not_after
        code = _POLICY_TO_SEC.get(status.dwError, SEC_E_CERT_UNKNOWN)
        return code, f"chain policy: {WinError(status.dwError).name}", not_after

    def _supply_client_certificate(self, x509_out, pkey_out) -> int:
        """The server asked for a certificate and the credential has none: a certificate from
        credentials supplied after SEC_I_INCOMPLETE_CREDENTIALS, else (unless
        SCH_CRED_NO_DEFAULT_CREDS) one Schannel picks from CurrentUser\\My, else none.
        Microsoft "SCHANNEL_CRED": SCH_CRED_NO_DEFAULT_CREDS "Prevent Schannel from attempting
        to automatically supply a certificate chain for client authentication"; then
        InitializeSecurityContext returns SEC_I_INCOMPLETE_CREDENTIALS."""
        cred = self.cred
        if self.alt_cred is not None and self.alt_cred.certificate is not None:
            cert, key = self.alt_cred.certificate, self.alt_cred.key
        elif cred.flags & SCH_CRED_NO_DEFAULT_CREDS:
            if self._asked_for_credentials:
                return 0  # called again with the same credentials: go on without one
            self._asked_for_credentials = True
            return -1
        else:
            found = _default_client_certificate(cred, self._lib.ca_names(self.ssl))
            if found is None:
                from schannel.certevents import log_no_client_certificate

                log_no_client_certificate(cred.machine)  # 36875
                return 0
            cert, key = found
            self._client_keys.append((key, None))
        o = self._lib.o
        x509 = x509_from_der(o, cert.pbCertEncoded)
        pkey = o.bind_key(key)
        self._client_keys.append((None, pkey))
        self._lib.EVP_PKEY_up_ref(pkey)  # OpenSSL frees the reference it is handed
        x509_out[0] = x509
        pkey_out[0] = pkey
        return 1

    # -- handshake ----------------------------------------------------------------------

    def step(self, pInput, pOutput):
        """One InitializeSecurityContext / AcceptSecurityContext call."""
        lib, o = self._lib, self._lib.o
        out = _output_desc(pOutput)
        data = _input_token(pInput)
        if self.state == "closing":
            return _reply(SEC_E_OK, out, self._close())
        if self.state in ("established", "closed"):
            # Renegotiate / post-handshake call: nothing to do; hand the input back.
            return _reply(SEC_E_OK, out, b"", pInput, data)
        if self.server or data:
            complete, missing = _scan(data)
            if complete == 0:
                if pInput is not None:
                    if len(pInput.pBuffers) < 2:
                        pInput.pBuffers.append(SecBuffer())
                    _set_missing(pInput.pBuffers[1], missing)
                return SEC_E_INCOMPLETE_MESSAGE, out
        else:
            complete = 0
        o.local.error = None  # what a key operation reports is this step's, not an earlier one's
        if _step is not None:  # the C kernel: the same calls as below, in C
            done = _step(self.ssl, self.rbio, self.wbio, data, complete)
            if done is None:
                raise WinError(SEC_E_INTERNAL_ERROR, detail="BIO_write")
            ret, error, token, held = done
        else:
            self._feed(data[:complete])
            o.ERR_clear_error()
            ret = lib.SSL_do_handshake(self.ssl)
            token = self._drain(self.wbio)
            held = self._drain(self.rbio)
            error = 0 if ret == 1 else o.SSL_get_error(self.ssl, ret)
        extra = held + data[complete:]
        if ret == 1:
            self.state = "established"
            if _new_bio is not None:
                self._send_bio, self._recv_bio = _new_bio(), _new_bio()
            return _reply(SEC_E_OK, out, token, pInput, extra)
        status = _HANDSHAKE_GOES_ON.get(error)
        if status is not None and self._failure is None:
            return _reply(status, out, token, pInput, extra)
        self.state = "failed"
        exc = self._error(SEC_E_ILLEGAL_MESSAGE)
        if token:  # the alert to send: in the SECBUFFER_ALERT if there is one, and the token
            _put_output(out, token, alert=True)
            _put_output(out, token)
        exc.output = out
        raise exc

    def _close(self) -> bytes:
        """The close_notify to send (after ApplyControlToken(SCHANNEL_SHUTDOWN))."""
        o = self._lib.o
        o.ERR_clear_error()
        o.SSL_shutdown(self.ssl)
        self.state = "closed"
        return self._drain(self.wbio)

    # -- messages -----------------------------------------------------------------------

    def stream_sizes(self) -> SecPkgContext_StreamSizes:
        sizes = self._sizes
        if sizes is None:
            sizes = self._sizes = self._stream_sizes()
            self._header = sizes.cbHeader
        return sizes

    def _stream_sizes(self) -> SecPkgContext_StreamSizes:
        o = self._lib.o
        cipher = o.SSL_get_current_cipher(self.ssl)
        name = (o.SSL_CIPHER_standard_name(cipher) or b"").decode()
        if self._lib.SSL_version(self.ssl) == TLS1_3_VERSION:
            return SecPkgContext_StreamSizes(5, 17, _MAX_MESSAGE, 4, 16)
        if "GCM" in name or "CCM" in name:
            return SecPkgContext_StreamSizes(13, 16, _MAX_MESSAGE, 4, 16)
        if "CHACHA20" in name:
            return SecPkgContext_StreamSizes(5, 16, _MAX_MESSAGE, 4, 1)
        mac = 48 if name.endswith("SHA384") else 32 if name.endswith("SHA256") else 20
        return SecPkgContext_StreamSizes(21, mac + 16, _MAX_MESSAGE, 4, 16)

    def encrypt(self, pMessage) -> int:
        # The hot path, a C loop's every send: a few attribute reads, one address per buffer
        # and four calls into OpenSSL (tests/bench/test_sspi_bench.py states the floor).
        if self.state != "established" and self.state != "closing":
            self._require_established()
        bufs = pMessage.pBuffers
        if len(bufs) == 4:  # as C loops pass them: [HEADER, DATA, TRAILER, EMPTY]
            header, data, trailer, fourth = bufs
            if (header.BufferType != SECBUFFER_STREAM_HEADER or data.BufferType != SECBUFFER_DATA
                    or trailer.BufferType != SECBUFFER_STREAM_TRAILER
                    or fourth.BufferType in _STREAM_TYPES):
                header, data, trailer = _stream_buffers(bufs)
        else:
            header, data, trailer = _stream_buffers(bufs)
        plain = data.pvBuffer if data.pvBuffer is not None else b""
        n = data.cbBuffer
        if n > _MAX_MESSAGE or n > len(plain):
            raise WinError(SEC_E_INVALID_TOKEN, detail="cbBuffer beyond cbMaximumMessage or pvBuffer")
        h = self._header or self.stream_sizes().cbHeader
        hb, tb = header.pvBuffer, trailer.pvBuffer
        if n and _seal is not None:  # the C kernel: the same calls as below, in C
            tail = _seal(self.ssl, self.wbio, self._send_bio, hb, plain, tb, h, n)
            if tail >= 0:
                header.cbBuffer = h
                trailer.cbBuffer = tail
                return SEC_E_OK
            if tail == _R_FAILED:
                raise self._error(SEC_E_INTERNAL_ERROR)
            if tail == _R_TOO_SMALL:
                raise WinError(SEC_E_BUFFER_TOO_SMALL, detail="the trailer buffer is too small")
            # _R_NOT_HANDLED: not the caller's writable memoryviews, nothing done yet
        if (type(plain) is not memoryview or type(hb) is not memoryview
                or type(tb) is not memoryview or plain.readonly or hb.readonly or tb.readonly
                or len(hb) < h):
            return self._encrypt_copy(header, data, trailer, plain, h, n)
        # The caller's own writable buffers, as C passes them: the record is written over
        # them -- straight into one buffer when the three are contiguous.
        write, pending, read = self._send_io
        base = _addressof(_from_buffer(hb))
        daddr = _addressof(_from_buffer(plain)) if len(plain) else base + h
        if n:
            if write(self.ssl, daddr, n) != n:
                raise self._error(SEC_E_INTERNAL_ERROR)
        wbio = self.wbio
        size = pending(wbio)
        tail = size - h - n
        if tail > len(tb):
            self._drain(wbio)
            raise WinError(SEC_E_BUFFER_TOO_SMALL, detail="the trailer buffer is too small")
        taddr = _addressof(_from_buffer(tb)) if len(tb) else daddr + n
        if daddr == base + h and taddr == daddr + n:
            read(wbio, base, size)
        else:
            record = self._drain(wbio)
            hb[:h] = record[:h]
            plain[:n] = record[h:h + n]
            tb[:tail] = record[h + n:]
        header.cbBuffer = h
        trailer.cbBuffer = tail
        return SEC_E_OK

    def _encrypt_copy(self, header, data, trailer, plain, h: int, n: int) -> int:
        """Buffers that are not the caller's writable memory (bytes): the record is a new
        bytes object and header, data and trailer become views into it."""
        lib = self._lib
        if type(plain) is not bytes:
            plain = bytes(plain[:n])
        if self._obuf is None:
            self._obuf = ctypes.create_string_buffer(_OBUF)
        if n:
            lib.ERR_clear_error()
            if lib.SSL_write(self.ssl, plain, n) != n:
                raise self._error(SEC_E_INTERNAL_ERROR)
        got = lib.BIO_read(self.wbio, self._obuf, _OBUF)
        record = ctypes.string_at(self._obuf, got) if got > 0 else b""
        if got == _OBUF:
            record += self._drain(self.wbio)
        view = memoryview(record)
        header.pvBuffer, header.cbBuffer = view[:h], h
        data.pvBuffer = view[h:h + n]
        trailer.pvBuffer = view[h + n:]
        trailer.cbBuffer = len(record) - h - n
        return SEC_E_OK

    def decrypt(self, pMessage) -> int:
        # The hot path, a C loop's every receive: one record decrypted in place by three
        # calls into OpenSSL, then four SecBuffers pointing into the caller's buffer.
        if self.state != "established":
            if self.state == "closed":
                raise WinError(SEC_E_CONTEXT_EXPIRED)
            self._require_established()
        bufs = pMessage.pBuffers
        if len(bufs) == 4:  # as C loops pass them: [DATA, EMPTY, EMPTY, EMPTY]
            data_buf, b1, b2, b3 = bufs
            if (data_buf.BufferType != SECBUFFER_DATA or b1.BufferType != SECBUFFER_EMPTY
                    or b2.BufferType != SECBUFFER_EMPTY or b3.BufferType != SECBUFFER_EMPTY):
                data_buf, b1, b2, b3 = _decrypt_buffers(bufs)
        else:
            data_buf, b1, b2, b3 = _decrypt_buffers(bufs)
        data = data_buf.pvBuffer or b""
        size = data_buf.cbBuffer
        if size != len(data):
            if size > len(data):
                raise WinError(SEC_E_INVALID_TOKEN, detail="cbBuffer beyond pvBuffer")
            data = data[:size]
        if size >= 5 and data[0] in _RECORD_TYPES and data[1] == 3:
            length = 5 + (data[3] << 8 | data[4])
        else:
            length, missing = _first_record(data)  # raises for bytes that are not records
            length = length or size + missing
        if size < length:
            _set_missing(data_buf, length - size)
            return SEC_E_INCOMPLETE_MESSAGE
        view = data if type(data) is memoryview else memoryview(data)
        h = self._header or self.stream_sizes().cbHeader
        if h > length:
            h = length
        if _open is not None and (n := _open(self.ssl, self.rbio, self._recv_bio, view, h, length)) != _R_NOT_HANDLED:
            # The C kernel: the same two calls as below.
            if n == _R_BIO_WRITE:
                raise WinError(SEC_E_INTERNAL_ERROR, detail="BIO_write")
            plain = view[h:h + n] if n > 0 else None
        elif not view.readonly:
            # The caller's writable buffer: decrypted in place, DATA points into it (as C).
            feed, read = self._recv_io
            addr = _addressof(_from_buffer(view))
            if feed(self.rbio, addr, length) != length:
                raise WinError(SEC_E_INTERNAL_ERROR, detail="BIO_write")
            n = read(self.ssl, addr + h, length - h)
            plain = view[h:h + n] if n > 0 else None
        else:
            n, plain = self._decrypt_copy(data, length)
        status = SEC_E_OK
        if n <= 0:
            status, plain, n = self._read_failed(), b"", 0
        data_buf.BufferType, data_buf.pvBuffer, data_buf.cbBuffer = (SECBUFFER_STREAM_HEADER,
                                                                     view[:h], h)
        b1.BufferType, b1.pvBuffer, b1.cbBuffer = SECBUFFER_DATA, plain, n
        tail = length - h - n
        if tail < 0:
            tail = 0
        b2.BufferType, b2.pvBuffer, b2.cbBuffer = (SECBUFFER_STREAM_TRAILER,
                                                   view[length - tail:length], tail)
        if size > length:
            b3.BufferType, b3.pvBuffer, b3.cbBuffer = SECBUFFER_EXTRA, view[length:], size - length
        else:
            b3.BufferType, b3.pvBuffer, b3.cbBuffer = SECBUFFER_EMPTY, None, 0
        return status

    def _decrypt_copy(self, data, length: int):
        """A read-only input (bytes): the record is decrypted into the context's buffer and
        DATA is a new bytes object -> (SSL_read's result, plaintext or None)."""
        lib = self._lib
        if lib.BIO_write(self.rbio, data if type(data) is bytes else bytes(data[:length]),
                         length) != length:
            raise WinError(SEC_E_INTERNAL_ERROR, detail="BIO_write")
        if self._buf is None:
            self._buf = ctypes.create_string_buffer(_OBUF)
        n = lib.SSL_read(self.ssl, self._buf, _OBUF)
        return n, (ctypes.string_at(self._buf, n) if n > 0 else None)

    def _read_failed(self) -> int:
        """SSL_read returned no data: the status for the peer's close_notify (or alert) or a
        post-handshake message; a record that does not authenticate raises. What SSL_get_error
        would say with an empty error queue, read from the SSL itself (the queue is not
        cleared before each record): a shutdown received is SSL_ERROR_ZERO_RETURN (or the
        peer's alert), wanting to read after a whole record was consumed is
        SSL_ERROR_WANT_READ, anything else failed."""
        lib = self._lib
        if lib.SSL_get_shutdown(self.ssl) & _SSL_RECEIVED_SHUTDOWN:
            self.state = "closed"
            return SEC_I_CONTEXT_EXPIRED
        if lib.SSL_want(self.ssl) == _SSL_READING:
            # A post-handshake handshake message (TLS 1.3 NewSessionTicket, KeyUpdate):
            # Schannel reports it as SEC_I_RENEGOTIATE (curl/curl#18983).
            return SEC_I_RENEGOTIATE
        self.state = "failed"
        raise self._error(SEC_E_DECRYPT_FAILURE)

    def _require_established(self) -> None:
        if self.state not in ("established", "closing"):
            raise WinError(SEC_E_INVALID_HANDLE, detail=f"context is {self.state}")

    # -- attributes ---------------------------------------------------------------------

    def connection_info(self) -> SecPkgContext_ConnectionInfo:
        lib, o = self._lib, self._lib.o
        version = lib.SSL_version(self.ssl)
        cipher = o.SSL_get_current_cipher(self.ssl)
        name = (o.SSL_CIPHER_standard_name(cipher) or b"").decode()
        bits = lib.SSL_CIPHER_get_bits(cipher, None)
        proto = {TLS1_2_VERSION: SP_PROT_TLS1_2_SERVER, TLS1_3_VERSION: SP_PROT_TLS1_3_SERVER}
        dw_protocol = proto.get(version, 0) << (0 if self.server else 1)
        ai_cipher = {128: C.CALG_AES_128, 256: C.CALG_AES_256}.get(bits, 0) if "AES" in name else 0
        if name.endswith("SHA384"):
            ai_hash, hash_bits = C.CALG_SHA_384, 384
        elif name.endswith("SHA256"):
            ai_hash, hash_bits = C.CALG_SHA_256, 256
        else:
            ai_hash, hash_bits = C.CALG_SHA1, 160
        return SecPkgContext_ConnectionInfo(dw_protocol, ai_cipher, bits, ai_hash, hash_bits,
                                            CALG_ECDHE, self._exchange_bits())

    def _exchange_bits(self) -> int:
        lib = self._lib
        # A TLS 1.2 server has freed its own ephemeral key once the key exchange is done;
        # the client's share is on the same curve, so both sides report one strength.
        ctrls = ((_SSL_CTRL_GET_TMP_KEY, _SSL_CTRL_GET_PEER_TMP_KEY) if self.server
                 else (_SSL_CTRL_GET_PEER_TMP_KEY,))
        for ctrl in ctrls:
            pkey = _vp()
            if lib.SSL_ctrl(self.ssl, ctrl, 0, ctypes.byref(pkey)) and pkey.value:
                try:
                    return lib.EVP_PKEY_get_bits(pkey)
                finally:
                    lib.o.EVP_PKEY_free(pkey)
        # Neither share is kept: the negotiated group names the strength.
        nid = lib.SSL_ctrl(self.ssl, _SSL_CTRL_GET_NEGOTIATED_GROUP, 0, None)
        return _GROUP_BITS.get(nid, 0)

    def cipher_info(self) -> SecPkgContext_CipherInfo:
        lib, o = self._lib, self._lib.o
        info = self.connection_info()
        cipher = o.SSL_get_current_cipher(self.ssl)
        name = (o.SSL_CIPHER_standard_name(cipher) or b"").decode()
        suite = lib.SSL_CIPHER_get_protocol_id(cipher)
        sizes = self.stream_sizes()
        alg = ("AES" if "AES" in name else "CHACHA20" if "CHACHA20" in name else "")
        hash_name = "SHA384" if info.aiHash == C.CALG_SHA_384 else \
            "SHA256" if info.aiHash == C.CALG_SHA_256 else "SHA1"
        key_type = 0
        cert = "RSA" if "_RSA_" in name else "ECDSA" if "_ECDSA_" in name else ""
        if not cert:
            key = self.cred.key if self.server else None
            cert = key.algorithm if key is not None else ""
        return SecPkgContext_CipherInfo(
            SECPKGCONTEXT_CIPHERINFO_V1, info.dwProtocol, suite, suite, name, alg,
            info.dwCipherStrength, sizes.cbBlockSize, hash_name, info.dwHashStrength,
            "ECDHE" if info.aiExch else "", info.dwExchStrength, info.dwExchStrength,
            cert, key_type)

    def remote_cert(self):
        from capi.crypt32.cert import CertCreateCertificateContext

        if not self._peer_chain:
            self._peer_chain = self._fetch_peer_chain()
        if not self._peer_chain:
            raise WinError(SEC_E_NO_CREDENTIALS, detail="the peer sent no certificate")
        from capi.crypt32.store import CertAddEncodedCertificateToStore, CertOpenStore

        store = CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, None, 0, None)
        leaf = None
        for der in self._peer_chain:
            ctx = CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, der,
                                                   C.CERT_STORE_ADD_ALWAYS)
            leaf = leaf or ctx
        return leaf if leaf is not None else CertCreateCertificateContext(
            C.X509_ASN_ENCODING, self._peer_chain[0])

    def _fetch_peer_chain(self) -> list[bytes]:
        lib = self._lib
        get1 = getattr(self, "_get1", None)
        if get1 is None:
            get1 = self._get1 = _bind(lib.o.ssl, "SSL_get1_peer_certificate", _vp, _vp)
        x509 = get1(self.ssl)
        if not x509:
            return []
        try:
            return [lib.x509_der(x509)]
        finally:
            lib.o.X509_free(x509)

    def delete(self) -> None:
        lib = self._lib
        if self.ssl:
            lib.contexts.pop(self.ssl, None)
            lib.o.SSL_free(self.ssl)  # frees both BIOs
            self.ssl = None
        for bio in (self._send_bio, self._recv_bio):
            if bio:
                _sspirecord.free_bio(bio)
        self._send_bio = self._recv_bio = None
        for key, pkey in self._client_keys:
            if pkey:
                lib.o.unbind_key(pkey)
            if key is not None:
                key.close()
        self._client_keys = []
        self.state = "deleted"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        DeleteSecurityContext(self)


def _cred(phCredential, inbound: bool) -> CredHandle:
    if not isinstance(phCredential, CredHandle) or phCredential.use == 0:
        raise WinError(SEC_E_INVALID_HANDLE, detail="phCredential")
    if phCredential.inbound != inbound:
        raise WinError(SEC_E_NO_CREDENTIALS if inbound else SEC_E_UNKNOWN_CREDENTIALS,
                       detail="credential use does not match")
    return phCredential


def _ctxt(phContext) -> CtxtHandle:
    if not isinstance(phContext, CtxtHandle) or phContext.ssl is None:
        raise WinError(SEC_E_INVALID_HANDLE, detail="phContext")
    return phContext


# pfContextAttr: what every Schannel stream context has, and the requests it echoes (each
# ISC_REQ_ bit here is its ISC_RET_ bit; Wine dlls/secur32/tests/schannel.c
# test_communication: ISC_REQ_USE_SUPPLIED_CREDS alone -> REPLAY_DETECT | SEQUENCE_DETECT |
# CONFIDENTIALITY | STREAM | USED_SUPPLIED_CREDS).
_ISC_RET = ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_CONFIDENTIALITY | ISC_RET_STREAM
_ISC_REQ_ECHOED = (ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_EXTENDED_ERROR
                   | ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_USE_SUPPLIED_CREDS)
_ASC_RET = ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT | ASC_RET_CONFIDENTIALITY | ASC_RET_STREAM
_ASC_REQ_ECHOED = ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_EXTENDED_ERROR | ASC_REQ_MUTUAL_AUTH


def _negotiate(context: CtxtHandle, pInput, pOutput, req: int, always: int, echoed: int):
    """One handshake step -> (status, phNewContext, pOutput, pfContextAttr)."""
    status, out = context.step(pInput, pOutput)
    return status, context, out, always | (req & echoed)


@winapi
def InitializeSecurityContext(phCredential: CredHandle | None, phContext: CtxtHandle | None,
                              pszTargetName: str | None, fContextReq: int,
                              Reserved1: int = 0, TargetDataRep: int = 0,
                              pInput: SecBufferDesc | None = None, Reserved2: int = 0,
                              phNewContext: CtxtHandle | None = None,
                              pOutput: SecBufferDesc | None = None
                              ) -> tuple[int, CtxtHandle, SecBufferDesc, int]:
    """InitializeSecurityContext (Schannel client) -> (status, phNewContext, pOutput,
    pfContextAttr).

    First call: ``phContext`` None, no input; the ClientHello is in ``pOutput``'s token.
    Then pass each server flight as the SECBUFFER_TOKEN of ``pInput`` (with a second
    SECBUFFER_EMPTY buffer, which becomes SECBUFFER_EXTRA for unconsumed bytes or
    SECBUFFER_MISSING). Returns SEC_I_CONTINUE_NEEDED, SEC_E_INCOMPLETE_MESSAGE or SEC_E_OK;
    raises SEC_E_UNTRUSTED_ROOT / SEC_E_CERT_EXPIRED / SEC_E_WRONG_PRINCIPAL /
    CRYPT_E_REVOKED when the server's chain fails CertVerifyCertificateChainPolicy(SSL)
    (unless SCH_CRED_MANUAL_CRED_VALIDATION or ISC_REQ_MANUAL_CRED_VALIDATION),
    SEC_E_ALGORITHM_MISMATCH, SEC_E_ILLEGAL_MESSAGE, SEC_E_INVALID_TOKEN, SEC_E_INVALID_HANDLE.
    After ApplyControlToken(SCHANNEL_SHUTDOWN) the call returns the close_notify token.
    """
    if phContext is None:
        cred = _cred(phCredential, inbound=False)
        context = CtxtHandle(_Lib.get(), cred, False, pszTargetName or None, fContextReq)
    else:
        context = _ctxt(phContext)
        if isinstance(phCredential, CredHandle) and phCredential is not context.cred:
            context.alt_cred = _cred(phCredential, inbound=False)
    return _negotiate(context, pInput, pOutput, fContextReq, _ISC_RET, _ISC_REQ_ECHOED)


@winapi
def AcceptSecurityContext(phCredential: CredHandle | None, phContext: CtxtHandle | None,
                          pInput: SecBufferDesc | None, fContextReq: int,
                          TargetDataRep: int = 0, phNewContext: CtxtHandle | None = None,
                          pOutput: SecBufferDesc | None = None
                          ) -> tuple[int, CtxtHandle, SecBufferDesc, int]:
    """AcceptSecurityContext (Schannel server) -> (status, phNewContext, pOutput,
    pfContextAttr).

    Each client flight is the SECBUFFER_TOKEN of ``pInput``; SEC_E_INCOMPLETE_MESSAGE (and a
    SECBUFFER_MISSING) until a whole record is there, SEC_I_CONTINUE_NEEDED with the token
    to send, SEC_E_OK when done (SECBUFFER_EXTRA: bytes past the handshake).
    ASC_REQ_MUTUAL_AUTH asks for a client certificate (the CertificateRequest names trusted
    issuers only where SendTrustedIssuerList is on: up to 2008 R2 by default). The
    handshake does not fail for an untrusted, expired or revoked client certificate:
    "Schannel does not validate client's certificates; the server must perform this
    authentication manually" (Microsoft, "Performing Authentication Using Schannel"). Get
    it with QueryContextAttributes(SECPKG_ATTR_REMOTE_CERT_CONTEXT) and judge it with
    CertGetCertificateChain / CertVerifyCertificateChainPolicy, as a Windows server does
    (the Schannel event for a refused chain is still written where EventLogging asks).
    """
    if phContext is None:
        cred = _cred(phCredential, inbound=True)
        context = CtxtHandle(_Lib.get(), cred, True, None, fContextReq)
    else:
        context = _ctxt(phContext)
    return _negotiate(context, pInput, pOutput, fContextReq, _ASC_RET, _ASC_REQ_ECHOED)


@winapi
def QueryContextAttributes(phContext: CtxtHandle, ulAttribute: int) -> object:
    """QueryContextAttributes -> the attribute's structure: SECPKG_ATTR_STREAM_SIZES,
    _CONNECTION_INFO, _CIPHER_INFO, _REMOTE_CERT_CONTEXT (a CERT_CONTEXT whose hCertStore
    holds the chain the peer sent), _LOCAL_CERT_CONTEXT. SEC_E_UNSUPPORTED_FUNCTION for
    other attributes, SEC_E_INVALID_HANDLE before the handshake completes."""
    context = _ctxt(phContext)
    if ulAttribute == SECPKG_ATTR_REMOTE_CERT_CONTEXT:
        if context.state == "handshake":
            raise WinError(SEC_E_INVALID_HANDLE, detail="handshake not complete")
        return context.remote_cert()
    if ulAttribute == SECPKG_ATTR_LOCAL_CERT_CONTEXT:
        if context.cred.certificate is None:
            raise WinError(SEC_E_NO_CREDENTIALS)
        return context.cred.certificate
    if ulAttribute not in (SECPKG_ATTR_STREAM_SIZES, SECPKG_ATTR_CONNECTION_INFO,
                           SECPKG_ATTR_CIPHER_INFO):
        raise WinError(SEC_E_UNSUPPORTED_FUNCTION, detail=f"attribute {ulAttribute:#x}")
    context._require_established()
    if ulAttribute == SECPKG_ATTR_STREAM_SIZES:
        return dataclasses.replace(context.stream_sizes())
    if ulAttribute == SECPKG_ATTR_CONNECTION_INFO:
        return context.connection_info()
    return context.cipher_info()


def EncryptMessage(phContext: CtxtHandle, fQOP: int, pMessage: SecBufferDesc,
                   MessageSeqNo: int = 0) -> int:
    """EncryptMessage: [STREAM_HEADER, DATA (plaintext, at most cbMaximumMessage),
    STREAM_TRAILER, EMPTY] -> header + data + trailer are one TLS record. Returns SEC_E_OK."""
    # @winapi's contract written out: the message calls are the hot path (one call less).
    try:
        context = phContext if type(phContext) is CtxtHandle else _ctxt(phContext)
        return context.encrypt(pMessage)
    except WinError as exc:
        SetLastError(exc.winerror)
        raise


def DecryptMessage(phContext: CtxtHandle, pMessage: SecBufferDesc, MessageSeqNo: int = 0) -> int:
    """DecryptMessage: [DATA (received bytes), EMPTY, EMPTY, EMPTY] -> one record decrypted:
    [STREAM_HEADER, DATA (plaintext), STREAM_TRAILER, EXTRA (bytes after it) or EMPTY].

    Returns SEC_E_OK, SEC_E_INCOMPLETE_MESSAGE (the DATA buffer becomes a SECBUFFER_MISSING
    whose cbBuffer says how many more bytes are needed),
    SEC_I_CONTEXT_EXPIRED (the peer's close_notify), SEC_I_RENEGOTIATE (a post-handshake
    handshake message such as TLS 1.3's NewSessionTicket; call InitializeSecurityContext
    with the EXTRA bytes and go on). Raises SEC_E_DECRYPT_FAILURE for a record that does
    not authenticate, SEC_E_INVALID_TOKEN for bytes that are not a record."""
    try:  # @winapi's contract written out, as in EncryptMessage
        context = phContext if type(phContext) is CtxtHandle else _ctxt(phContext)
        return context.decrypt(pMessage)
    except WinError as exc:
        SetLastError(exc.winerror)
        raise


@winapi
def ApplyControlToken(phContext: CtxtHandle, pInput: SecBufferDesc) -> int:
    """ApplyControlToken with a SECBUFFER_TOKEN holding the DWORD SCHANNEL_SHUTDOWN: the
    next Initialize/AcceptSecurityContext returns the close_notify alert to send."""
    context = _ctxt(phContext)
    data = _input_token(pInput)
    if len(data) < 4 or int.from_bytes(data[:4], "little") != SCHANNEL_SHUTDOWN:
        raise WinError(SEC_E_UNSUPPORTED_FUNCTION, detail="only SCHANNEL_SHUTDOWN is supported")
    context.state = "closing"
    return SEC_E_OK


@winapi
def DeleteSecurityContext(phContext: CtxtHandle) -> int:
    """DeleteSecurityContext; SEC_E_INVALID_HANDLE for anything but a live context."""
    if not isinstance(phContext, CtxtHandle) or phContext.ssl is None:
        raise WinError(SEC_E_INVALID_HANDLE)
    phContext.delete()
    return SEC_E_OK


def shutdown_token() -> SecBufferDesc:
    """The ApplyControlToken input for SCHANNEL_SHUTDOWN."""
    return SecBufferDesc(SECBUFFER_VERSION, [SecBuffer(4, SECBUFFER_TOKEN,
                                                       SCHANNEL_SHUTDOWN.to_bytes(4, "little"))])


_EXPORTED_PREFIXES = ("SEC_I_", "SECPKG_", "SECURITY_", "SECBUFFER_", "ISC_", "ASC_",
                     "SCHANNEL_", "SCH_", "SP_PROT_", "CALG_ECDH", "UNISP_")
__all__ = sorted(n for n in dir() if n.startswith(_EXPORTED_PREFIXES) and n.isupper()) + [
    "SEC_E_OK", "AcquireCredentialsHandle", "FreeCredentialsHandle", "InitializeSecurityContext",
    "AcceptSecurityContext", "QueryContextAttributes", "EncryptMessage", "DecryptMessage",
    "ApplyControlToken", "DeleteSecurityContext", "SecBuffer", "SecBufferDesc", "SCHANNEL_CRED",
    "SCH_CREDENTIALS", "TLS_PARAMETERS", "SecPkgContext_StreamSizes",
    "SecPkgContext_ConnectionInfo", "SecPkgContext_CipherInfo", "CredHandle", "CtxtHandle",
    "shutdown_token",
]
__all__ = list(dict.fromkeys(__all__))

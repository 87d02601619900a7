"""The "winpki" OpenSSL provider: server keys that live in a CSP, a KSP or a token.

OpenSSL 3 fetches every private-key operation from a *provider* (provider(7)); this module
is one, written in Python and handed to libcrypto through ``ctypes`` with
``OSSL_PROVIDER_add_builtin`` (OSSL_PROVIDER(3)), so nothing is compiled at install time.
It offers, in a library context of its own (``OSSL_LIB_CTX_new``; the process's other
OpenSSL users — Python's ``ssl`` included — never see it):

- key management "RSA" and "EC" (provider-keymgmt(7)): a key is the public parameters
  plus a reference to the :class:`~schannel.tls.ServerKey` that holds the private half.
  ``export`` hands out the public parts only; ``import`` of the public parts alone (what
  ``X509_check_private_key`` does with the certificate's key) makes a key that can be
  compared with ``match`` but not used;
- signatures for RSA and ECDSA keys (provider-signature(7)): the message is hashed here
  (``hashlib``) and the digest goes to ``ServerKey.sign`` with its TLS SignatureScheme —
  PKCS#1 v1.5, PSS with a salt as long as the hash, the raw MD5+SHA-1 of TLS 1.0/1.1, or
  ECDSA (DER);
- an asymmetric cipher for RSA keys (provider-asym_cipher(7)): decryption for the TLS_RSA key
  exchange, with libssl's ``RSA_PKCS1_WITH_TLS_PADDING`` semantics: whatever goes wrong
  (the key refuses the block, a premaster of the wrong length or version), the answer is a
  random 48-byte premaster carrying the client's version, never an error (RFC 5246
  §7.4.7.1, the Bleichenbacher countermeasure); the handshake then fails at Finished as it
  would with any wrong premaster.

Which implementation serves a key: OpenSSL asks the key's key management for the name of
the operation (``query_operation_name``) and fetches that. Ours answers with names no other
provider offers (``WINPKI-RSA-SIG``, ``WINPKI-ECDSA``, ``WINPKI-RSA-DEC``), so an operation
on one of our keys can only be ours — whatever the property query and the providers'
order, and although OpenSSL 3.0's asymmetric-cipher fetch, unlike its signature fetch,
does not fall back to the key's own provider. Every other key (the peer's, the ECDHE
shares) keeps the default provider's "RSA"/"EC"/"ECDSA"; ``schannel.tls`` fetches those
key managements once before any of our keys is used (OpenSSL 3.0's method cache would
otherwise hand ours to libssl after a signature, see ``_OpenSSL._load_provider``). Should
an operation of another provider be handed one of our keys, ``export`` refuses the private
half and the operation fails rather than run without it.

With the optional C kernel (``schannel/_sspirecord.c``) built, ``query_operation``, the
key management's ``query_operation_name`` and every signature-context function are C:
they hold the context's digest, padding, salt length, MGF1 digest and streamed message, and
call :meth:`WinpkiProvider._c_size` for the size query and :meth:`WinpkiProvider._c_sign`
for the signature, which apply the same rules as the Python functions below (2 calls into
Python per signature where there were 17 per handshake; tests/test_tls_provider.py runs
on both).

Callbacks: ``ctypes`` takes the GIL for each (libssl calls them from the endpoint's worker
threads, which run OpenSSL without it); every object OpenSSL holds a pointer to — the
callbacks, the dispatch and parameter tables — lives as long as the provider. Handles are
integers mapping to Python objects (key data, operation contexts); a context is used by
one thread at a time, as OpenSSL requires of its callers.

Known divergence from OpenSSL's own countermeasure: the padding check runs in Python and
in the key's provider, so it is not constant-time; no error or alert distinguishes a bad
premaster, but its timing may.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import logging
import os

__all__ = ["WinpkiProvider"]

log = logging.getLogger("schannel.osslprov")

# The signature bookkeeping in C (schannel/_sspirecord.c), when the optional kernel is built:
# query_operation, query_operation_name and the signature contexts' functions are C, and
# Python is called for the size query and the signature only (2 calls where there were 17
# per handshake). Without it (or with a build that predates it) every function is Python.
try:
    from schannel import _sspirecord as _kernel
except ImportError:
    _kernel = None
if _kernel is not None and not hasattr(_kernel, "provider_functions"):
    _kernel = None

_vp = ctypes.c_void_p
_int = ctypes.c_int
_sz = ctypes.c_size_t
_psz = ctypes.POINTER(ctypes.c_size_t)

# include/openssl/core.h, core_dispatch.h, core_names.h, rsa.h (3.0; unchanged in 4.0)
OSSL_PARAM_INTEGER = 1
OSSL_PARAM_UNSIGNED_INTEGER = 2
OSSL_PARAM_UTF8_STRING = 4
OSSL_PARAM_OCTET_STRING = 5
OSSL_PARAM_UTF8_PTR = 6
OSSL_PARAM_UNMODIFIED = ctypes.c_size_t(-1).value
OSSL_FUNC_PROVIDER_TEARDOWN = 1024
OSSL_FUNC_PROVIDER_QUERY_OPERATION = 1027
OSSL_OP_KEYMGMT = 10
OSSL_OP_SIGNATURE = 12
OSSL_OP_ASYM_CIPHER = 13
SELECT_PRIVATE_KEY = 0x01
SELECT_PUBLIC_KEY = 0x02
SELECT_DOMAIN_PARAMETERS = 0x04
SELECT_OTHER_PARAMETERS = 0x80
EVP_PKEY_KEYPAIR = 0x87  # EVP_PKEY_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY
RSA_PKCS1_PADDING = 1
RSA_NO_PADDING = 3
RSA_PKCS1_PSS_PADDING = 6
RSA_PKCS1_WITH_TLS_PADDING = 7
RSA_PSS_SALTLEN_DIGEST = -1
TLS_PREMASTER_LENGTH = 48  # SSL_MAX_MASTER_KEY_LENGTH

# Function numbers: OSSL_FUNC_KEYMGMT_*, OSSL_FUNC_SIGNATURE_*, OSSL_FUNC_ASYM_CIPHER_*
KM_NEW, KM_FREE, KM_GET_PARAMS, KM_GETTABLE_PARAMS = 1, 10, 11, 12
KM_QUERY_OPERATION_NAME, KM_HAS, KM_MATCH = 20, 21, 23
KM_IMPORT, KM_IMPORT_TYPES, KM_EXPORT, KM_EXPORT_TYPES = 40, 41, 42, 43
SIG_NEWCTX, SIG_SIGN_INIT, SIG_SIGN = 1, 2, 3
SIG_DIGEST_SIGN_INIT, SIG_DIGEST_SIGN_UPDATE, SIG_DIGEST_SIGN_FINAL, SIG_DIGEST_SIGN = 8, 9, 10, 11
SIG_FREECTX, SIG_DUPCTX = 16, 17
SIG_GET_CTX_PARAMS, SIG_GETTABLE_CTX_PARAMS, SIG_SET_CTX_PARAMS, SIG_SETTABLE_CTX_PARAMS = 18, 19, 20, 21
AC_NEWCTX, AC_DECRYPT_INIT, AC_DECRYPT, AC_FREECTX, AC_DUPCTX = 1, 4, 5, 6, 7
AC_GET_CTX_PARAMS, AC_GETTABLE_CTX_PARAMS, AC_SET_CTX_PARAMS, AC_SETTABLE_CTX_PARAMS = 8, 9, 10, 11

PROVIDER_NAME = "winpki"
RSA_NAMES = "RSA:rsaEncryption:1.2.840.113549.1.1.1"
EC_NAMES = "EC:id-ecPublicKey:1.2.840.10045.2.1"
# The operations' names. Our key management names its keys' operations (query_operation_name)
# after these, which no other provider offers: OpenSSL fetches the operation for one of our
# keys by that name, so it can only find ours, whatever the property query and the order of
# the providers (OpenSSL 3.0's asymmetric-cipher fetch has no fallback to the key's provider).
SIG_RSA = "WINPKI-RSA-SIG"
SIG_ECDSA = "WINPKI-ECDSA"
CIPHER_RSA = "WINPKI-RSA-DEC"
_OPERATION_NAMES = {("RSA", OSSL_OP_SIGNATURE): SIG_RSA, ("EC", OSSL_OP_SIGNATURE): SIG_ECDSA,
                    ("RSA", OSSL_OP_ASYM_CIPHER): CIPHER_RSA}
KEY_REF = "winpki-key-ref"  # our own import parameter: which bound ServerKey this key is

# cryptography's curve names -> OpenSSL's (what the default provider's EC keymgmt reports)
_CURVES = {"secp256r1": ("prime256v1", 128), "secp384r1": ("secp384r1", 192),
           "secp521r1": ("secp521r1", 256)}
_GROUP_ALIASES = {"P-256": "prime256v1", "secp256r1": "prime256v1", "P-384": "secp384r1",
                  "P-521": "secp521r1"}


class OSSL_PARAM(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("data_type", ctypes.c_uint), ("data", _vp),
                ("data_size", _sz), ("return_size", _sz)]


class OSSL_DISPATCH(ctypes.Structure):
    _fields_ = [("function_id", _int), ("function", _vp)]


class OSSL_ALGORITHM(ctypes.Structure):
    _fields_ = [("algorithm_names", ctypes.c_char_p), ("property_definition", ctypes.c_char_p),
                ("implementation", _vp), ("algorithm_description", ctypes.c_char_p)]


_PARAM_SIZE = ctypes.sizeof(OSSL_PARAM)
_PARAM_CB = ctypes.CFUNCTYPE(_int, _vp, _vp)
_INIT_FN = ctypes.CFUNCTYPE(_int, _vp, _vp, ctypes.POINTER(_vp), ctypes.POINTER(_vp))
_PROTOTYPES = {
    "query": ctypes.CFUNCTYPE(_vp, _vp, _int, ctypes.POINTER(_int)),
    "teardown": ctypes.CFUNCTYPE(None, _vp),
    "new": ctypes.CFUNCTYPE(_vp, _vp),
    "free": ctypes.CFUNCTYPE(None, _vp),
    "has": ctypes.CFUNCTYPE(_int, _vp, _int),
    "import": ctypes.CFUNCTYPE(_int, _vp, _int, _vp),
    "types": ctypes.CFUNCTYPE(_vp, _int),
    "export": ctypes.CFUNCTYPE(_int, _vp, _int, _vp, _vp),
    "params": ctypes.CFUNCTYPE(_int, _vp, _vp),
    "table1": ctypes.CFUNCTYPE(_vp, _vp),
    "table2": ctypes.CFUNCTYPE(_vp, _vp, _vp),
    "opname": ctypes.CFUNCTYPE(_vp, _int),
    "match": ctypes.CFUNCTYPE(_int, _vp, _vp, _int),
    "newctx": ctypes.CFUNCTYPE(_vp, _vp, _vp),
    "dupctx": ctypes.CFUNCTYPE(_vp, _vp),
    "init": ctypes.CFUNCTYPE(_int, _vp, _vp, _vp),
    "md_init": ctypes.CFUNCTYPE(_int, _vp, ctypes.c_char_p, _vp, _vp),
    "update": ctypes.CFUNCTYPE(_int, _vp, _vp, _sz),
    "final": ctypes.CFUNCTYPE(_int, _vp, _vp, _psz, _sz),
    "oneshot": ctypes.CFUNCTYPE(_int, _vp, _vp, _psz, _sz, _vp, _sz),
}


# --- OSSL_PARAM reading and writing ---------------------------------------------------------


def _iter_params(params):
    """The OSSL_PARAMs of a NULL-key-terminated array, as views on OpenSSL's memory."""
    if not params:
        return
    address = params
    while True:
        p = OSSL_PARAM.from_address(address)
        if p.key is None:
            return
        yield p
        address += _PARAM_SIZE


def _get_int(p: OSSL_PARAM) -> int:
    if p.data_type not in (OSSL_PARAM_INTEGER, OSSL_PARAM_UNSIGNED_INTEGER) or not p.data:
        raise ValueError(f"{p.key!r}: not an integer")
    return int.from_bytes(ctypes.string_at(p.data, p.data_size), "little",
                          signed=p.data_type == OSSL_PARAM_INTEGER)


def _get_bytes(p: OSSL_PARAM) -> bytes:
    if p.data_type == OSSL_PARAM_UTF8_PTR:
        ptr = ctypes.cast(p.data, ctypes.POINTER(ctypes.c_char_p))
        return ptr[0] or b""
    if p.data_type not in (OSSL_PARAM_UTF8_STRING, OSSL_PARAM_OCTET_STRING):
        raise ValueError(f"{p.key!r}: not a string")
    raw = ctypes.string_at(p.data, p.data_size) if p.data else b""
    return raw.split(b"\0", 1)[0] if p.data_type == OSSL_PARAM_UTF8_STRING else raw


def _get_str(p: OSSL_PARAM) -> str:
    return _get_bytes(p).decode("ascii")


def _set_int(p: OSSL_PARAM, value: int) -> bool:
    if p.data_type not in (OSSL_PARAM_INTEGER, OSSL_PARAM_UNSIGNED_INTEGER):
        return False
    size = p.data_size or 8
    if not p.data:
        p.return_size = size
        return True
    raw = value.to_bytes(size, "little", signed=p.data_type == OSSL_PARAM_INTEGER)
    ctypes.memmove(p.data, raw, size)
    p.return_size = size
    return True


def _set_bn(p: OSSL_PARAM, value: int) -> bool:
    """A BIGNUM parameter: an unsigned integer in native (little-endian) byte order."""
    size = max(1, (value.bit_length() + 7) // 8)
    if p.data_type != OSSL_PARAM_UNSIGNED_INTEGER:
        return False
    p.return_size = size
    if not p.data:
        return True
    if p.data_size < size:
        return False
    ctypes.memmove(p.data, value.to_bytes(p.data_size, "little"), p.data_size)
    return True


def _set_bytes(p: OSSL_PARAM, value: bytes) -> bool:
    utf8 = p.data_type == OSSL_PARAM_UTF8_STRING
    if p.data_type not in (OSSL_PARAM_UTF8_STRING, OSSL_PARAM_OCTET_STRING):
        return False
    p.return_size = len(value)
    if not p.data:
        return True
    needed = len(value) + (1 if utf8 else 0)
    if p.data_size < needed:
        return False
    ctypes.memmove(p.data, value + (b"\0" if utf8 else b""), needed)
    return True


class _ParamTable:
    """A static OSSL_PARAM descriptor array (what the gettable/settable functions return)."""

    def __init__(self, *entries: tuple[str, int]):
        self.array = (OSSL_PARAM * (len(entries) + 1))()
        for slot, (key, kind) in enumerate(entries):
            self.array[slot] = OSSL_PARAM(key.encode(), kind, None, 0, OSSL_PARAM_UNMODIFIED)
        self.address = ctypes.addressof(self.array)


def _build_params(entries: list[tuple[str, int, bytes]]):
    """An OSSL_PARAM array over owned buffers; returns (array, keepalive)."""
    keep = []
    array = (OSSL_PARAM * (len(entries) + 1))()
    for slot, (key, kind, data) in enumerate(entries):
        dbuf = ctypes.create_string_buffer(data, len(data) + 1)
        keep.append(dbuf)
        array[slot] = OSSL_PARAM(key.encode(), kind, ctypes.addressof(dbuf), len(data),
                                 OSSL_PARAM_UNMODIFIED)
    return array, keep


# --- the objects behind the handles ---------------------------------------------------------


class _KeyData:
    """What one EVP_PKEY of ours holds: public parameters and (when bound) the ServerKey."""

    __slots__ = ("kind", "n", "e", "group", "pub", "key", "bits", "security_bits", "max_size")

    def __init__(self, kind: str):
        self.kind = kind  # "RSA" or "EC"
        self.n = self.e = None
        self.group = self.pub = None
        self.key = None
        self.bits = self.security_bits = self.max_size = 0

    def public(self):
        return (self.n, self.e) if self.kind == "RSA" else (self.group, self.pub)


_HASHLIB = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_DIGEST_SIZES = {"md5_sha1": 36, "sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}


_MD_NAMES = {"MD5SHA1": "md5_sha1", "MD5-SHA1": "md5_sha1", "SHA1": "sha1", "SHA256": "sha256",
             "SHA384": "sha384", "SHA512": "sha512"}
_md_cache: dict[str, str] = {}


def _hash_name(mdname: str) -> str:
    """OpenSSL's digest names (SHA2-256, SHA256, SHA-256, MD5-SHA1...) -> ours."""
    name = _md_cache.get(mdname)
    if name is None:
        n = mdname.upper().replace("SHA2-", "SHA").replace("SHA-", "SHA")
        if n not in _MD_NAMES:
            raise ValueError(f"digest {mdname!r} is not one a TLS server key signs with")
        name = _md_cache[mdname] = _MD_NAMES[n]
    return name


def _digest(name: str, data: bytes) -> bytes:
    if name == "md5_sha1":
        return hashlib.md5(data, usedforsecurity=False).digest() + hashlib.sha1(data).digest()  # noqa: S324
    return hashlib.new(name, data).digest()


class _Hasher:
    def __init__(self, name: str):
        self.name = name
        if name == "md5_sha1":
            self.parts = [hashlib.md5(usedforsecurity=False), hashlib.sha1()]  # noqa: S324 — TLS 1.0/1.1
        else:
            self.parts = [hashlib.new(_HASHLIB[name])]

    def update(self, data: bytes) -> None:
        for h in self.parts:
            h.update(data)

    def digest(self) -> bytes:
        return b"".join(h.digest() for h in self.parts)

    def copy(self) -> _Hasher:
        other = _Hasher.__new__(_Hasher)
        other.name = self.name
        other.parts = [h.copy() for h in self.parts]
        return other


class _SigCtx:
    __slots__ = ("algorithm", "keydata", "md", "hasher", "pad", "saltlen", "mgf1")

    def __init__(self, algorithm: str):
        self.algorithm = algorithm  # "RSA" or "ECDSA"
        self.keydata: _KeyData | None = None
        self.md: str | None = None
        self.hasher: _Hasher | None = None
        self.pad = RSA_PKCS1_PADDING
        self.saltlen: int | str = RSA_PSS_SALTLEN_DIGEST
        self.mgf1: str | None = None

    def dup(self) -> _SigCtx:
        other = _SigCtx(self.algorithm)
        other.keydata, other.md, other.pad = self.keydata, self.md, self.pad
        other.saltlen, other.mgf1 = self.saltlen, self.mgf1
        other.hasher = self.hasher.copy() if self.hasher is not None else None
        return other


class _DecCtx:
    __slots__ = ("keydata", "pad", "client_version", "negotiated_version")

    def __init__(self):
        self.keydata: _KeyData | None = None
        self.pad = RSA_PKCS1_PADDING
        self.client_version = 0
        self.negotiated_version = 0

    def dup(self) -> _DecCtx:
        other = _DecCtx()
        other.keydata, other.pad = self.keydata, self.pad
        other.client_version, other.negotiated_version = self.client_version, self.negotiated_version
        return other


_PAD_NAMES = {"pkcs1": RSA_PKCS1_PADDING, "none": RSA_NO_PADDING, "pss": RSA_PKCS1_PSS_PADDING}


def _pad_mode(p: OSSL_PARAM) -> int:
    if p.data_type in (OSSL_PARAM_INTEGER, OSSL_PARAM_UNSIGNED_INTEGER):
        return _get_int(p)
    return _PAD_NAMES[_get_str(p)]


# --- the provider ---------------------------------------------------------------------------


class WinpkiProvider:
    """The provider's dispatch tables and state, registered in ``libctx`` as "winpki".

    ``on_error(exc)`` is called with whatever a key operation raised (the callbacks cannot
    raise into C); ``rsa_schemes`` maps (PSS?, hash) and ``ecdsa_schemes`` a hash to the
    SignatureScheme given to ``ServerKey.sign``.
    """

    def __init__(self, libctx, on_error, rsa_schemes: dict, ecdsa_schemes: dict, *,
                 use_c: bool | None = None):
        self.libctx = libctx
        # The C signature functions when the kernel has them (None: whenever it does).
        self.c_signatures = _kernel is not None if use_c is None else use_c and _kernel is not None
        self._on_error = on_error
        self._rsa_schemes, self._ecdsa_schemes = rsa_schemes, ecdsa_schemes
        self._handles = itertools.count(1)
        self._objects: dict[int, object] = {}  # handle -> _KeyData / _SigCtx / _DecCtx
        self._pending: dict[int, object] = {}  # key reference -> ServerKey, during bind
        self._keep: list = []  # every callback and table OpenSSL holds a pointer to
        self._strings: dict[str, ctypes.Array] = {}
        self._build_tables()

    # -- handles ---------------------------------------------------------------------------

    def _new_handle(self, obj) -> int:
        handle = next(self._handles)
        self._objects[handle] = obj
        return handle

    def _cstr(self, text: str) -> int:
        """A C string that lives as long as the provider (made while building the tables,
        only looked up by the callbacks)."""
        buf = self._strings.get(text)
        if buf is None:
            buf = self._strings[text] = ctypes.create_string_buffer(text.encode())
        return ctypes.addressof(buf)

    def _cb(self, proto: str, fn):
        """A C callback that never lets a Python exception reach C."""
        failed = None if proto in ("free", "teardown") else 0  # void, or NULL / 0
        on_error = self._on_error
        arity = len(_PROTOTYPES[proto]._argtypes_)
        # One wrapper per arity: the hot callbacks run a few times per handshake, and a
        # fixed signature is cheaper than packing *args.
        if arity == 1:
            def guarded(a):
                try:
                    return fn(a)
                except BaseException as exc:  # noqa: BLE001 — nothing may escape into C
                    on_error(exc)
                    return failed
        elif arity == 2:
            def guarded(a, b):
                try:
                    return fn(a, b)
                except BaseException as exc:  # noqa: BLE001
                    on_error(exc)
                    return failed
        else:
            def guarded(*args):
                try:
                    return fn(*args)
                except BaseException as exc:  # noqa: BLE001
                    on_error(exc)
                    return failed
        thunk = _PROTOTYPES[proto](guarded)
        self._keep.append(thunk)
        return ctypes.cast(thunk, _vp).value

    def _dispatch(self, entries: list[tuple[int, int]]):
        table = (OSSL_DISPATCH * (len(entries) + 1))(*[OSSL_DISPATCH(i, f) for i, f in entries])
        self._keep.append(table)
        return ctypes.addressof(table)

    # -- tables ----------------------------------------------------------------------------

    def _build_tables(self) -> None:
        i, u, s, o = (OSSL_PARAM_INTEGER, OSSL_PARAM_UNSIGNED_INTEGER, OSSL_PARAM_UTF8_STRING,
                      OSSL_PARAM_OCTET_STRING)
        self._rsa_types = _ParamTable(("n", u), ("e", u), (KEY_REF, u))
        self._ec_types = _ParamTable(("group", s), ("pub", o), (KEY_REF, u))
        self._rsa_gettable = _ParamTable(("bits", i), ("security-bits", i), ("max-size", i),
                                         ("default-digest", s), ("n", u), ("e", u))
        self._ec_gettable = _ParamTable(("bits", i), ("security-bits", i), ("max-size", i),
                                        ("default-digest", s), ("group", s), ("pub", o),
                                        ("encoded-pub-key", o), ("point-format", s))
        self._sig_settable = _ParamTable(("digest", s), ("properties", s), ("pad-mode", i),
                                         ("saltlen", i), ("mgf1-digest", s),
                                         ("mgf1-properties", s))
        self._sig_gettable = _ParamTable(("digest", s), ("pad-mode", i), ("saltlen", i))
        self._dec_settable = _ParamTable(("pad-mode", i), ("tls-client-version", u),
                                         ("tls-negotiated-version", u))
        self._dec_gettable = _ParamTable(("pad-mode", i), ("tls-client-version", u),
                                         ("tls-negotiated-version", u))
        self._keep += [self._rsa_types, self._ec_types, self._rsa_gettable, self._ec_gettable,
                       self._sig_settable, self._sig_gettable, self._dec_settable,
                       self._dec_gettable]

        for name in ("RSA", "EC", *_OPERATION_NAMES.values()):
            self._cstr(name)
        c_fns = _kernel.provider_functions() if self.c_signatures else None

        def keymgmt(kind: str, types: _ParamTable, gettable: _ParamTable):
            return self._dispatch([
                (KM_NEW, self._cb("new", lambda _provctx: self._new_handle(_KeyData(kind)))),
                (KM_FREE, self._cb("free", self._km_free)),
                (KM_HAS, self._cb("has", self._km_has)),
                (KM_IMPORT, self._cb("import", self._km_import)),
                (KM_IMPORT_TYPES, self._cb("types", lambda _sel: types.address)),
                (KM_EXPORT, self._cb("export", self._km_export)),
                (KM_EXPORT_TYPES, self._cb("types", lambda _sel: types.address)),
                (KM_GET_PARAMS, self._cb("params", self._km_get_params)),
                (KM_GETTABLE_PARAMS, self._cb("table1", lambda _provctx: gettable.address)),
                (KM_QUERY_OPERATION_NAME, c_fns[f"opname_{kind.lower()}"] if c_fns else
                 self._cb("opname", lambda op: self._cstr(_OPERATION_NAMES.get((kind, op), kind)))),
                (KM_MATCH, self._cb("match", self._km_match)),
            ])

        def signature(algorithm: str):
            if c_fns:
                return self._dispatch([
                    (SIG_NEWCTX, c_fns["newctx_rsa" if algorithm == "RSA" else "newctx_ecdsa"]),
                    (SIG_FREECTX, c_fns["freectx"]),
                    (SIG_DUPCTX, c_fns["dupctx"]),
                    (SIG_SIGN_INIT, c_fns["sign_init"]),
                    (SIG_SIGN, c_fns["sign"]),
                    (SIG_DIGEST_SIGN_INIT, c_fns["digest_sign_init"]),
                    (SIG_DIGEST_SIGN_UPDATE, c_fns["digest_sign_update"]),
                    (SIG_DIGEST_SIGN_FINAL, c_fns["digest_sign_final"]),
                    (SIG_DIGEST_SIGN, c_fns["digest_sign"]),
                    (SIG_GET_CTX_PARAMS, c_fns["get_ctx_params"]),
                    (SIG_GETTABLE_CTX_PARAMS, c_fns["gettable_ctx_params"]),
                    (SIG_SET_CTX_PARAMS, c_fns["set_ctx_params"]),
                    (SIG_SETTABLE_CTX_PARAMS, c_fns["settable_ctx_params"]),
                ])
            return self._dispatch([
                (SIG_NEWCTX, self._cb("newctx", lambda _p, _q: self._new_handle(_SigCtx(algorithm)))),
                (SIG_FREECTX, self._cb("free", self._free_ctx)),
                (SIG_DUPCTX, self._cb("dupctx", self._dup_ctx)),
                (SIG_SIGN_INIT, self._cb("init", self._sig_init)),
                (SIG_SIGN, self._cb("oneshot", self._sig_sign)),
                (SIG_DIGEST_SIGN_INIT, self._cb("md_init", self._sig_digest_init)),
                (SIG_DIGEST_SIGN_UPDATE, self._cb("update", self._sig_update)),
                (SIG_DIGEST_SIGN_FINAL, self._cb("final", self._sig_final)),
                (SIG_DIGEST_SIGN, self._cb("oneshot", self._sig_digest_sign)),
                (SIG_GET_CTX_PARAMS, self._cb("params", self._sig_get_params)),
                (SIG_GETTABLE_CTX_PARAMS, self._cb("table2", lambda _c, _p: self._sig_gettable.address)),
                (SIG_SET_CTX_PARAMS, self._cb("params", self._sig_set_params)),
                (SIG_SETTABLE_CTX_PARAMS, self._cb("table2", lambda _c, _p: self._sig_settable.address)),
            ])

        cipher = self._dispatch([
            (AC_NEWCTX, self._cb("table1", lambda _p: self._new_handle(_DecCtx()))),
            (AC_FREECTX, self._cb("free", self._free_ctx)),
            (AC_DUPCTX, self._cb("dupctx", self._dup_ctx)),
            (AC_DECRYPT_INIT, self._cb("init", self._dec_init)),
            (AC_DECRYPT, self._cb("oneshot", self._dec_decrypt)),
            (AC_GET_CTX_PARAMS, self._cb("params", self._dec_get_params)),
            (AC_GETTABLE_CTX_PARAMS, self._cb("table2", lambda _c, _p: self._dec_gettable.address)),
            (AC_SET_CTX_PARAMS, self._cb("params", self._dec_set_params)),
            (AC_SETTABLE_CTX_PARAMS, self._cb("table2", lambda _c, _p: self._dec_settable.address)),
        ])
        prop = f"provider={PROVIDER_NAME}"

        def algorithms(*rows):
            array = (OSSL_ALGORITHM * (len(rows) + 1))(
                *[OSSL_ALGORITHM(names.encode(), prop.encode(), impl, None) for names, impl in rows])
            self._keep.append(array)
            return ctypes.addressof(array)

        self._algorithms = {
            OSSL_OP_KEYMGMT: algorithms(
                (RSA_NAMES, keymgmt("RSA", self._rsa_types, self._rsa_gettable)),
                (EC_NAMES, keymgmt("EC", self._ec_types, self._ec_gettable))),
            OSSL_OP_SIGNATURE: algorithms((SIG_RSA, signature("RSA")),
                                          (SIG_ECDSA, signature("ECDSA"))),
            OSSL_OP_ASYM_CIPHER: algorithms((CIPHER_RSA, cipher)),
        }

        # NULL for every other operation. (An empty list instead makes OpenSSL 3.0 slower:
        # measured ~20% on an SSPI handshake, whose certificate decoding asks each time.)
        def query(_provctx, operation, no_store):
            if no_store:
                no_store[0] = 0
            return self._algorithms.get(operation, 0)

        # The provider context OpenSSL hands every function: with the C functions, theirs
        # (the tables and the two callables); otherwise any non-NULL value (ours is self).
        provctx_value = 1
        if c_fns:
            provctx_value = _kernel.provider(
                self._c_sign, self._c_size, self._algorithms[OSSL_OP_KEYMGMT],
                self._algorithms[OSSL_OP_SIGNATURE], self._algorithms[OSSL_OP_ASYM_CIPHER])
        provider_table = self._dispatch([
            (OSSL_FUNC_PROVIDER_QUERY_OPERATION, c_fns["query"] if c_fns else self._cb("query", query)),
            (OSSL_FUNC_PROVIDER_TEARDOWN, self._cb("teardown", lambda _provctx: None)),
        ])

        def init(_handle, _in, out, provctx):
            out[0] = provider_table
            provctx[0] = provctx_value
            return 1

        self.init_fn = _INIT_FN(init)
        self._keep.append(self.init_fn)

    # -- key management --------------------------------------------------------------------

    def _km_free(self, handle) -> None:
        if handle:
            self._objects.pop(handle, None)

    def _km_has(self, handle, selection) -> int:
        kd = self._objects.get(handle)
        if kd is None:
            return 0
        if selection & SELECT_PRIVATE_KEY and kd.key is None:
            return 0
        if selection & (SELECT_PUBLIC_KEY | SELECT_DOMAIN_PARAMETERS) and kd.public()[0] is None:
            return 0
        return 1

    def _km_import(self, handle, selection, params) -> int:
        kd = self._objects.get(handle)
        if kd is None:
            return 0
        values = {p.key.decode(): p for p in _iter_params(params)}
        if selection & SELECT_PRIVATE_KEY and ("d" in values or "priv" in values):
            return 0  # another provider's private key: never held here, never dropped silently
        if kd.kind == "RSA":
            if "n" in values and "e" in values:
                kd.n, kd.e = _get_int(values["n"]), _get_int(values["e"])
            elif selection & SELECT_PUBLIC_KEY:
                return 0
        else:
            if "group" in values:
                name = _get_str(values["group"])
                kd.group = _GROUP_ALIASES.get(name, name)
            elif selection & (SELECT_PUBLIC_KEY | SELECT_DOMAIN_PARAMETERS):
                return 0
            if "pub" in values:
                kd.pub = _get_bytes(values["pub"])
            elif selection & SELECT_PUBLIC_KEY:
                return 0
        ref = values.get(KEY_REF)
        if ref is not None:
            kd.key, info = self._pending.get(_get_int(ref), (None, None))
            if kd.key is None:
                return 0
            kd.bits, kd.security_bits, kd.max_size = info
        else:
            kd.bits, kd.security_bits, kd.max_size = self._public_info(kd)
        return 1

    def _public_info(self, kd: _KeyData) -> tuple[int, int, int]:
        """Sizes of a public-only key (one imported to be compared with ours; it is never
        used to sign or decrypt, so security bits stay unknown)."""
        if kd.kind == "RSA":
            bits = kd.n.bit_length() if kd.n else 0
            return bits, 0, (bits + 7) // 8
        bits = {"prime256v1": 256, "secp384r1": 384, "secp521r1": 521}.get(kd.group, 0)
        return bits, 0, 0

    def _km_export(self, handle, selection, callback, cbarg) -> int:
        kd = self._objects.get(handle)
        if kd is None or kd.public()[0] is None:
            return 0
        # The private half never leaves its provider. When it is asked for (OpenSSL moving
        # the key to another provider's implementation of an operation) the export fails,
        # and OpenSSL uses this provider's implementation instead.
        if selection & SELECT_PRIVATE_KEY and kd.key is not None:
            return 0
        if kd.kind == "RSA":
            entries = [("n", OSSL_PARAM_UNSIGNED_INTEGER, kd.n.to_bytes((kd.n.bit_length() + 7) // 8, "little")),
                       ("e", OSSL_PARAM_UNSIGNED_INTEGER, kd.e.to_bytes((kd.e.bit_length() + 7) // 8, "little"))]
        else:
            entries = [("group", OSSL_PARAM_UTF8_STRING, kd.group.encode()),
                       ("pub", OSSL_PARAM_OCTET_STRING, kd.pub)]
        array, _keep = _build_params(entries)
        return _PARAM_CB(callback)(ctypes.addressof(array), cbarg)

    def _km_get_params(self, handle, params) -> int:
        kd = self._objects.get(handle)
        if kd is None:
            return 0
        for p in _iter_params(params):
            key = p.key
            if key == b"bits":
                ok = _set_int(p, kd.bits)
            elif key == b"security-bits":
                ok = _set_int(p, kd.security_bits)
            elif key == b"max-size":
                ok = _set_int(p, kd.max_size)
            elif key == b"default-digest":
                ok = _set_bytes(p, b"SHA256")
            elif kd.kind == "RSA" and key in (b"n", b"e"):
                ok = _set_bn(p, kd.n if key == b"n" else kd.e)
            elif kd.kind == "EC" and key == b"group":
                ok = _set_bytes(p, kd.group.encode())
            elif kd.kind == "EC" and key in (b"pub", b"encoded-pub-key"):
                ok = _set_bytes(p, kd.pub)
            elif kd.kind == "EC" and key == b"point-format":
                ok = _set_bytes(p, b"uncompressed")
            else:
                continue
            if not ok:
                return 0
        return 1

    def _km_match(self, handle1, handle2, selection) -> int:
        a, b = self._objects.get(handle1), self._objects.get(handle2)
        if a is None or b is None or a.kind != b.kind:
            return 0
        return int(a.public() == b.public())

    # -- contexts --------------------------------------------------------------------------

    def _free_ctx(self, handle) -> None:
        self._objects.pop(handle, None)

    def _dup_ctx(self, handle) -> int:
        ctx = self._objects.get(handle)
        return self._new_handle(ctx.dup()) if ctx is not None else 0

    def _bound(self, handle) -> _KeyData:
        kd = self._objects.get(handle)
        if not isinstance(kd, _KeyData) or kd.key is None:
            raise ValueError("not a key bound to a ServerKey")
        return kd

    # -- signature -------------------------------------------------------------------------

    def _sig_init(self, handle, provkey, params) -> int:
        ctx = self._objects[handle]
        ctx.keydata = self._bound(provkey)
        ctx.hasher = None
        return self._sig_set_params(handle, params) if params else 1

    def _sig_digest_init(self, handle, mdname, provkey, params) -> int:
        ctx = self._objects[handle]
        ctx.keydata = self._bound(provkey)
        if mdname:
            ctx.md = _hash_name(mdname.decode())
        elif ctx.md is None:
            ctx.md = "sha256"
        ctx.hasher = None  # made by the first update; the one-shot sign hashes at once
        return self._sig_set_params(handle, params) if params else 1

    def _sig_update(self, handle, data, length) -> int:
        ctx = self._objects[handle]
        if ctx.hasher is None:
            ctx.hasher = _Hasher(ctx.md)
        ctx.hasher.update(ctypes.string_at(data, length))
        return 1

    def _sig_final(self, handle, sig, siglen, sigsize) -> int:
        ctx = self._objects[handle]
        if not sig:
            siglen[0] = ctx.keydata.max_size
            return 1
        digest = ctx.hasher.digest() if ctx.hasher is not None else _digest(ctx.md, b"")
        return self._emit(ctx, digest, sig, siglen, sigsize)

    def _sig_digest_sign(self, handle, sig, siglen, sigsize, tbs, tbslen) -> int:
        ctx = self._objects[handle]
        if not sig:
            siglen[0] = ctx.keydata.max_size
            return 1
        data = ctypes.string_at(tbs, tbslen)
        if ctx.hasher is None:
            digest = _digest(ctx.md, data)
        else:  # updates came first: the one-shot call finishes that message
            hasher = ctx.hasher.copy()
            hasher.update(data)
            digest = hasher.digest()
        return self._emit(ctx, digest, sig, siglen, sigsize)

    def _sig_sign(self, handle, sig, siglen, sigsize, tbs, tbslen) -> int:
        """EVP_PKEY_sign: ``tbs`` is the digest already."""
        ctx = self._objects[handle]
        if not sig:
            siglen[0] = ctx.keydata.max_size
            return 1
        if ctx.md is None:
            ctx.md = {v: k for k, v in _DIGEST_SIZES.items()}.get(tbslen)
        return self._emit(ctx, ctypes.string_at(tbs, tbslen), sig, siglen, sigsize)

    def _emit(self, ctx: _SigCtx, digest: bytes, sig, siglen, sigsize) -> int:
        signature = self._signature(ctx.keydata, ctx.algorithm, ctx.md, ctx.pad, ctx.saltlen,
                                    ctx.mgf1, digest)
        if len(signature) > sigsize:
            raise ValueError("signature longer than the buffer OpenSSL provided")
        ctypes.memmove(sig, signature, len(signature))
        siglen[0] = len(signature)
        return 1

    def _signature(self, kd: _KeyData, algorithm: str, md: str | None, pad: int,
                   saltlen: int | str, mgf1: str | None, digest: bytes) -> bytes:
        """The key's signature of ``digest`` with a context's parameters: PKCS#1 v1.5 or
        PSS as TLS makes them (salt as long as the hash, MGF1 with the hash), or ECDSA."""
        if md is None or len(digest) != _DIGEST_SIZES[md]:
            raise ValueError("the digest does not match the signature's hash")
        if algorithm == "RSA":
            pss = pad == RSA_PKCS1_PSS_PADDING
            if pad not in (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING):
                raise ValueError(f"RSA padding {pad} is not one a TLS key signs with")
            if pss and (saltlen not in (RSA_PSS_SALTLEN_DIGEST, "digest", len(digest))
                        or (mgf1 is not None and mgf1 != md)):
                raise ValueError("PSS parameters other than TLS's (salt = hash length, MGF1 = hash)")
            scheme = self._rsa_schemes[pss, md]
        else:
            scheme = self._ecdsa_schemes[md]
        return kd.key.sign(digest, scheme)

    # -- the C signature functions' two calls (schannel/_sspirecord.c) ----------------------

    def _c_sign(self, handle: int, ecdsa: int, md: str | None, pad: int, saltlen: int,
                mgf1: str | None, data: bytes, prehashed: int) -> bytes | None:
        """The signature of ``data`` (a message, or with ``prehashed`` its digest) by the
        key behind ``handle``; None when it cannot be made (on_error has the reason)."""
        try:
            kd = self._bound(handle)
            if md is None:
                raise ValueError("no digest for the signature")
            digest = data if prehashed else _digest(md, data)
            return self._signature(kd, "ECDSA" if ecdsa else "RSA", md, pad, saltlen, mgf1,
                                   digest)
        except BaseException as exc:  # noqa: BLE001 — nothing may escape into C
            self._on_error(exc)
            return None

    def _c_size(self, handle: int) -> int:
        """The bound key's maximum signature size; 0 for a key that cannot sign."""
        kd = self._objects.get(handle)
        return kd.max_size if isinstance(kd, _KeyData) and kd.key is not None else 0

    def _sig_set_params(self, handle, params) -> int:
        ctx = self._objects[handle]
        for p in _iter_params(params):
            key = p.key
            if key == b"digest":
                ctx.md = _hash_name(_get_str(p))
                ctx.hasher = None
            elif key == b"pad-mode":
                ctx.pad = _pad_mode(p)
            elif key == b"saltlen":
                if p.data_type == OSSL_PARAM_UTF8_STRING:
                    text = _get_str(p)
                    ctx.saltlen = int(text) if text.lstrip("-").isdigit() else text
                else:
                    ctx.saltlen = _get_int(p)
            elif key == b"mgf1-digest":
                ctx.mgf1 = _hash_name(_get_str(p))
        return 1

    def _sig_get_params(self, handle, params) -> int:
        ctx = self._objects[handle]
        names = {"md5_sha1": b"MD5-SHA1", "sha1": b"SHA1", "sha256": b"SHA256",
                 "sha384": b"SHA384", "sha512": b"SHA512"}
        for p in _iter_params(params):
            if p.key == b"digest" and ctx.md:
                _set_bytes(p, names[ctx.md])
            elif p.key == b"pad-mode":
                if p.data_type == OSSL_PARAM_UTF8_STRING:
                    _set_bytes(p, b"pss" if ctx.pad == RSA_PKCS1_PSS_PADDING else b"pkcs1")
                else:
                    _set_int(p, ctx.pad)
            elif p.key == b"saltlen" and isinstance(ctx.saltlen, int):
                _set_int(p, ctx.saltlen)
        return 1

    # -- asymmetric cipher (TLS_RSA key exchange) ----------------------------------------

    def _dec_init(self, handle, provkey, params) -> int:
        ctx = self._objects[handle]
        kd = self._bound(provkey)
        if kd.kind != "RSA":
            return 0
        ctx.keydata = kd
        return self._dec_set_params(handle, params) if params else 1

    def _dec_set_params(self, handle, params) -> int:
        ctx = self._objects[handle]
        for p in _iter_params(params):
            if p.key == b"pad-mode":
                pad = _pad_mode(p)
                if pad not in (RSA_PKCS1_PADDING, RSA_PKCS1_WITH_TLS_PADDING):
                    return 0  # raw RSA or OAEP: not through a TLS server key
                ctx.pad = pad
            elif p.key == b"tls-client-version":
                ctx.client_version = _get_int(p)
            elif p.key == b"tls-negotiated-version":
                ctx.negotiated_version = _get_int(p)
        return 1

    def _dec_get_params(self, handle, params) -> int:
        ctx = self._objects[handle]
        for p in _iter_params(params):
            if p.key == b"pad-mode" and p.data_type != OSSL_PARAM_UTF8_STRING:
                _set_int(p, ctx.pad)
            elif p.key == b"tls-client-version":
                _set_int(p, ctx.client_version)
            elif p.key == b"tls-negotiated-version":
                _set_int(p, ctx.negotiated_version)
        return 1

    def _dec_decrypt(self, handle, out, outlen, outsize, data, datalen) -> int:
        ctx = self._objects[handle]
        kd = ctx.keydata
        if not out:
            outlen[0] = TLS_PREMASTER_LENGTH if ctx.pad == RSA_PKCS1_WITH_TLS_PADDING else kd.max_size
            return 1
        ciphertext = ctypes.string_at(data, datalen)
        if ctx.pad != RSA_PKCS1_WITH_TLS_PADDING:
            plain = kd.key.decrypt(ciphertext)
            if len(plain) > outsize:
                raise ValueError("plaintext longer than the buffer OpenSSL provided")
            ctypes.memmove(out, plain, len(plain))
            outlen[0] = len(plain)
            return 1
        if outsize < TLS_PREMASTER_LENGTH or not ctx.client_version:
            return 0  # a caller error (libssl always passes both), not a client's
        # RFC 5246 §7.4.7.1: make the substitute first, then decide which one to use; the
        # peer learns nothing either way (no error, no alert here).
        version = ctx.client_version.to_bytes(2, "big")
        substitute = version + os.urandom(TLS_PREMASTER_LENGTH - 2)
        try:
            plain = kd.key.decrypt(ciphertext) if len(ciphertext) == kd.max_size else b""
        except Exception as exc:  # noqa: BLE001 — a bad block is the client's problem
            log.debug("TLS premaster secret not decrypted (a random one is used): %r", exc)
            plain = b""
        good = len(plain) == TLS_PREMASTER_LENGTH
        if good and plain[:2] != version:
            # libssl passes the negotiated version only with SSL_OP_TLS_ROLLBACK_BUG: then
            # the version of the protocol agreed on is accepted as well.
            good = bool(ctx.negotiated_version) and \
                plain[:2] == ctx.negotiated_version.to_bytes(2, "big")
        premaster = plain if good else substitute
        ctypes.memmove(out, premaster, TLS_PREMASTER_LENGTH)
        outlen[0] = TLS_PREMASTER_LENGTH
        return 1

    # -- binding ---------------------------------------------------------------------------

    def register_key(self, ref: int, key, info: tuple[int, int, int]) -> None:
        self._pending[ref] = (key, info)

    def unregister_key(self, ref: int) -> None:
        self._pending.pop(ref, None)

    def key_of(self, handle: int):
        kd = self._objects.get(handle)
        return kd.key if isinstance(kd, _KeyData) else None

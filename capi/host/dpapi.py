"""DPAPI stand-in: CryptProtectData / CryptUnprotectData on PyNaCl (XChaCha20-Poly1305).

The same mechanism encrypts private keys at rest in the key files (``csp.keyfiles``).
Secrets: one random 32-byte machine secret (``CRYPTPROTECT_LOCAL_MACHINE``, used for
machine keys) and one per user SID (user scope, used for user keys), each a 0600 file
under ``<machine>/secrets/``. The blob starts like a Windows DPAPI blob (dwVersion 1 and
the provider GUID {df9d8cd0-1501-11d1-8c7a-00c04fc297eb}); what follows is winpki's own.

Failures, as Windows reports them:
- NULL input: ERROR_INVALID_PARAMETER (Wine crypt32 tests/protectdata.c).
- Wrong or missing entropy: ERROR_INVALID_DATA (same test); a tampered blob likewise
  (.NET "The data is invalid." from ProtectedData.Unprotect in public issue reports).
- Data that is not a DPAPI blob at all: ERROR_INVALID_PARAMETER — what real Windows
  returned to many callers handing Chrome 80+ "v10" values to CryptUnprotectData
  (pywin32 "(87, 'CryptUnprotectData', 'The parameter is incorrect.')", .NET
  CryptographicException "The parameter is incorrect.", in public GitHub issues).
- A user-scope blob of another user: NTE_BAD_KEY_STATE, "Key not valid for use in
  specified state." — the error ProtectedData.Unprotect users meet when the master key of
  the protecting user is not available (docs/windows-facts.md §7 quotes the text; pywin32 reports
  of (-2146893813, 'CryptUnprotectData', ...) on another user's or machine's data).
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from pathlib import Path

from nacl import bindings
from nacl.exceptions import CryptoError

from capi.constants import (
    CRYPTPROTECT_LOCAL_MACHINE,
)
from capi.errors import (
    ERROR_INVALID_DATA,
    ERROR_INVALID_PARAMETER,
    NTE_BAD_KEY_STATE,
    WinError,
)

# dwVersion 1 + the DPAPI provider GUID, as every Windows DPAPI blob starts.
DPAPI_PREFIX = bytes.fromhex("01000000d08c9ddf0115d1118c7a00c04fc297eb")
_FORMAT = 1
_HEAD = struct.Struct("<IIHH")  # format, dwFlags, len(sid utf-8), len(description utf-16)
_NONCE = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
SECRET_BYTES = 32
MACHINE_SECRET = "machine.key"
_secret_lock = threading.Lock()
_secret_cache: dict[str, bytes] = {}


def _secret_path(machine, sid: str | None) -> Path:
    name = MACHINE_SECRET if sid is None else f"user-{sid}.key"
    if sid is not None and not all(c.isalnum() or c == "-" for c in sid):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"SID {sid!r}")
    return Path(machine.path) / "secrets" / name


def _load_secret(machine, sid: str | None, *, create: bool) -> bytes | None:
    path = _secret_path(machine, sid)
    key = str(path)
    with _secret_lock:
        if key in _secret_cache:
            return _secret_cache[key]
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            if not create:
                return None
            secret = _create_secret(path)
        if len(secret) != SECRET_BYTES:
            raise WinError(ERROR_INVALID_DATA, detail=f"corrupt secret {path.name}")
        _secret_cache[key] = secret
        return secret


def _create_secret(path: Path) -> bytes:
    # Written to a temporary file, then hard-linked into place: link() fails if another
    # process created the secret first, and then that secret wins.
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, os.urandom(SECRET_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_bytes()


def _derive(secret: bytes, entropy: bytes | None) -> bytes:
    return hashlib.blake2b(entropy or b"", key=secret, person=b"winpki-dpapi", digest_size=32).digest()


def protect(machine, data: bytes, *, user_sid: str | None, description: str = "",
            entropy: bytes | None = None, flags: int = 0) -> bytes:
    """Encrypt ``data`` for the machine (``user_sid`` None) or for one user."""
    secret = _load_secret(machine, user_sid, create=True)
    sid_bytes = (user_sid or "").encode("ascii")
    descr = (description or "").encode("utf-16-le")
    header = DPAPI_PREFIX + _HEAD.pack(_FORMAT, flags, len(sid_bytes), len(descr)) + sid_bytes + descr
    nonce = os.urandom(_NONCE)
    ct = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(bytes(data), header, nonce, _derive(secret, entropy))
    return header + nonce + ct


def unprotect(machine, blob: bytes, *, user_sid: str | None,
              entropy: bytes | None = None) -> tuple[bytes, str]:
    """(data, description). ``user_sid`` is the caller's SID; it must own a user blob."""
    blob = bytes(blob)
    fixed = len(DPAPI_PREFIX) + _HEAD.size
    if len(blob) < fixed or not blob.startswith(DPAPI_PREFIX):
        raise WinError(ERROR_INVALID_PARAMETER, detail="not a DPAPI blob")
    fmt, flags, sid_len, descr_len = _HEAD.unpack_from(blob, len(DPAPI_PREFIX))
    body = fixed + sid_len + descr_len
    if fmt != _FORMAT or len(blob) < body + _NONCE + bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES:
        raise WinError(ERROR_INVALID_DATA, detail="truncated DPAPI blob")
    try:
        owner = blob[fixed : fixed + sid_len].decode("ascii")
        description = blob[fixed + sid_len : body].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise WinError(ERROR_INVALID_DATA, detail="corrupt DPAPI header") from exc
    if flags & CRYPTPROTECT_LOCAL_MACHINE:
        secret = _load_secret(machine, None, create=False)
    else:
        if not owner or owner != user_sid:
            raise WinError(NTE_BAD_KEY_STATE, detail="blob belongs to another user")
        secret = _load_secret(machine, owner, create=False)
    if secret is None:
        raise WinError(NTE_BAD_KEY_STATE, detail="master key not available")
    header, nonce, ct = blob[:body], blob[body : body + _NONCE], blob[body + _NONCE :]
    try:
        data = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, header, nonce, _derive(secret, entropy))
    except CryptoError as exc:
        raise WinError(ERROR_INVALID_DATA, detail="decryption failed") from exc
    return data, description

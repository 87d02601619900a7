"""The PKCS#12 key derivation (RFC 7292 Appendix B) run by OpenSSL's libcrypto.

``cryptography`` runs this derivation only inside its PKCS#12 loader and exposes no entry
point for it, so the codec calls ``PKCS12_key_gen_uni`` of the libcrypto that Python's own
``ssl`` module is linked against (the one ``openssl pkcs12`` uses), through ``ctypes``.
Every hash iteration runs in C: a 5,000,000-iteration derivation costs what it costs
OpenSSL, not the several times more of a Python loop over ``hashlib``. ``ctypes`` releases
the GIL for the call.

Where no libcrypto with that function can be loaded, :func:`pkcs12_key_gen` returns None
and the caller uses its own implementation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

__all__ = ["pkcs12_key_gen", "available"]

_lock = threading.Lock()
_state: dict[str, object] = {}


def _load_libcrypto() -> ctypes.CDLL:
    import _ssl  # noqa: F401 - maps the libcrypto Python's ssl module is linked against

    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").partition("/")[2]
                if path and os.path.basename("/" + path).startswith("libcrypto.so"):
                    return ctypes.CDLL("/" + path)
    except OSError:
        pass  # not Linux: the loader's own search below
    return ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")


def _functions():
    with _lock:
        if "fn" not in _state:
            try:
                lib = _load_libcrypto()
                key_gen = lib.PKCS12_key_gen_uni
                key_gen.restype = ctypes.c_int
                key_gen.argtypes = [
                    ctypes.c_char_p, ctypes.c_int,  # pass, passlen (BMPString with NUL)
                    ctypes.c_char_p, ctypes.c_int,  # salt, saltlen
                    ctypes.c_int, ctypes.c_int, ctypes.c_int,  # id, iter, n
                    ctypes.c_char_p,  # out
                    ctypes.c_void_p,  # const EVP_MD *
                ]
                digest = lib.EVP_get_digestbyname
                digest.restype = ctypes.c_void_p
                digest.argtypes = [ctypes.c_char_p]
                _state["fn"] = (key_gen, digest)
            except (OSError, AttributeError):
                _state["fn"] = None
        return _state["fn"]


def available() -> bool:
    """True if libcrypto's PKCS12_key_gen_uni can be called."""
    return _functions() is not None


def pkcs12_key_gen(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, length: int
) -> bytes | None:
    """``length`` bytes of RFC 7292 B.2 output for ``purpose`` (1 key, 2 IV, 3 MAC).

    ``password`` is the BMPString with its terminating NUL (b"" for a NULL password).
    None if libcrypto, the function or the digest is not available; ValueError if OpenSSL
    refuses the arguments.
    """
    fns = _functions()
    if fns is None:
        return None
    key_gen, digest_by_name = fns
    md = digest_by_name(hash_name.encode("ascii"))
    if not md:
        return None
    if not (0 < iterations < 2**31 and 0 < length < 2**31 and len(salt) < 2**31
            and len(password) < 2**31):
        raise ValueError("PKCS#12 KDF argument out of range")
    out = ctypes.create_string_buffer(length)
    ok = key_gen(password, len(password), salt, len(salt), purpose,
                 iterations, length, out, md)
    if ok != 1:
        raise ValueError("PKCS12_key_gen_uni failed")
    return out.raw

"""certutil -encode / -decode / -hashfile.

Output shapes (certutil.exe, en-US, Microsoft's certutil reference and public outputs)::

    Input Length = 1234
    Output Length = 1750
    CertUtil: -encode command completed successfully.

    SHA256 hash of file.txt:
    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    CertUtil: -hashfile command completed successfully.

-encode writes base64 between ``-----BEGIN CERTIFICATE-----`` / ``-----END CERTIFICATE-----``
lines (CryptBinaryToString CRYPT_STRING_BASE64HEADER, CRLF lines of 64); -decode reads
base64 with or without such lines (CRYPT_STRING_BASE64_ANY). An existing output file is
ERROR_FILE_EXISTS unless -f is given; a missing input file is ERROR_FILE_NOT_FOUND.
-hashfile's algorithms are certutil's (MD2 MD4 MD5 SHA1 SHA256 SHA384 SHA512, SHA1 by
default; any case); another name is NTE_BAD_ALGID.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes

from capi import constants as C
from capi.errors import (
    ERROR_FILE_EXISTS,
    NTE_BAD_ALGID,
    WinError,
)
from winpki.tools.certutil import Invocation, verb
from winpki.tools.common import check_input_file

_HASHES = {
    "MD5": hashes.MD5,
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
_LEGACY = ("MD2", "MD4")  # certutil accepts them; hashed through hashlib when OpenSSL has them
_CHUNK = 1 << 20


def _read_input(path: str) -> bytes:
    check_input_file(path)
    with open(path, "rb") as fh:
        return fh.read()


def _write_output(inv: Invocation, path: str, data: bytes) -> None:
    if os.path.exists(path) and not inv.flag("f"):
        raise WinError(ERROR_FILE_EXISTS, detail=path)
    with open(path, "wb") as fh:
        fh.write(data)


@verb("encode", "[-f] [-unicode] InFile OutFile", min_args=2, max_args=2)
def encode_verb(inv: Invocation):
    from capi.crypt32.base64 import CryptBinaryToString

    infile, outfile = inv.args
    data = _read_input(infile)
    text = CryptBinaryToString(data, C.CRYPT_STRING_BASE64HEADER)
    encoded = text.encode("utf-16-le") if inv.flag("unicode") else text.encode("ascii")
    _write_output(inv, outfile, encoded)
    inv.print(f"Input Length = {len(data)}")
    inv.print(f"Output Length = {len(text)}")


def _text_of(data: bytes) -> str:
    if data[:2] == b"\xff\xfe":
        return data[2:].decode("utf-16-le", "replace")
    if len(data) >= 2 and data[1:2] == b"\0" and data[:1] != b"\0":
        return data.decode("utf-16-le", "replace")
    return data.decode("latin-1").lstrip("\ufeff").rstrip("\0")


@verb("decode", "[-f] InFile OutFile", min_args=2, max_args=2)
def decode_verb(inv: Invocation):
    from capi.crypt32.base64 import CryptStringToBinary

    infile, outfile = inv.args
    data = _read_input(infile)
    decoded, _skip, _fmt = CryptStringToBinary(_text_of(data), C.CRYPT_STRING_BASE64_ANY)
    _write_output(inv, outfile, decoded)
    inv.print(f"Input Length = {len(data)}")
    inv.print(f"Output Length = {len(decoded)}")


def _file_digest(path: str, algorithm: str) -> bytes:
    name = algorithm.upper()
    if name in _LEGACY:
        import hashlib

        try:
            h = hashlib.new(name.lower())
        except ValueError as exc:
            raise WinError(NTE_BAD_ALGID, detail=f"{name} is not available") from exc
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        return h.digest()
    cls = _HASHES.get(name)
    if cls is None:
        raise WinError(NTE_BAD_ALGID, detail=algorithm)
    h = hashes.Hash(cls())
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.finalize()


@verb("hashfile", "InFile [HashAlgorithm]", min_args=1, max_args=2)
def hashfile_verb(inv: Invocation):
    path = inv.args[0]
    algorithm = inv.args[1] if len(inv.args) > 1 else "SHA1"
    check_input_file(path)
    digest = _file_digest(path, algorithm)
    inv.print(f"{algorithm.upper()} hash of {path}:")
    inv.print(digest.hex())


__all__ = ["decode_verb", "encode_verb", "hashfile_verb"]

"""CryptBinaryToString / CryptStringToBinary for the base64 and binary formats.

Layouts are Windows' (Wine dlls/crypt32/tests/base64.c): 64 base64 characters a line,
each line ended by CRLF (LF with CRYPT_STRING_NOCR, nothing with CRYPT_STRING_NOCRLF),
PEM-style header and trailer lines for the HEADER formats. Decoding skips white space,
accepts any ``-----BEGIN <label>-----`` / ``-----END <label>-----`` pair for the
header formats and reports the characters skipped before the header.

The hexadecimal formats are the dump layouts of Windows (capi/crypt32/hexdump.py): lower-case
pairs, 16 bytes a line with a double space after the eighth, the "0000    " address column
and the ASCII column; CRYPT_STRING_HEXRAW is one run of pairs.
"""

from __future__ import annotations

import base64 as _b64
import binascii

from capi.constants import (
    CRYPT_STRING_ANY,
    CRYPT_STRING_BASE64,
    CRYPT_STRING_BASE64_ANY,
    CRYPT_STRING_BASE64HEADER,
    CRYPT_STRING_BASE64REQUESTHEADER,
    CRYPT_STRING_BASE64X509CRLHEADER,
    CRYPT_STRING_BINARY,
    CRYPT_STRING_HEX_ANY,
    CRYPT_STRING_NOCR,
    CRYPT_STRING_NOCRLF,
    CRYPT_STRING_STRICT,
)
from capi.crypt32.hexdump import HEX_FORMATS, decode_hex, encode_hex
from capi.errors import (
    ERROR_INVALID_DATA,
    ERROR_INVALID_PARAMETER,
    WinError,
    winapi,
)

_HEADERS = {
    CRYPT_STRING_BASE64HEADER: "CERTIFICATE",
    CRYPT_STRING_BASE64REQUESTHEADER: "NEW CERTIFICATE REQUEST",
    CRYPT_STRING_BASE64X509CRLHEADER: "X509 CRL",
}
_FORMAT_MASK = 0xFF
_LINE = 64
_WHITESPACE = " \t\r\n"
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


@winapi
def CryptBinaryToString(pbBinary: bytes, dwFlags: int) -> str:
    """CryptBinaryToString: ``pbBinary`` as text in the CRYPT_STRING_* format of ``dwFlags``.

    Raises ERROR_INVALID_PARAMETER for NULL input or an unknown format.
    CRYPT_STRING_BINARY returns the bytes unchanged, one character per byte.
    """
    flags = int(dwFlags) & 0xFFFFFFFF
    fmt = flags & _FORMAT_MASK
    if pbBinary is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="NULL pbBinary")
    data = bytes(pbBinary)
    if fmt == CRYPT_STRING_BINARY:
        return data.decode("latin-1")
    if flags & CRYPT_STRING_NOCRLF:
        eol = ""
    elif flags & CRYPT_STRING_NOCR:
        eol = "\n"
    else:
        eol = "\r\n"
    if fmt in HEX_FORMATS:
        return encode_hex(data, fmt, eol)
    if fmt not in (CRYPT_STRING_BASE64, *_HEADERS):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"format {fmt}")
    text = _b64.b64encode(data).decode("ascii")
    body = "".join(text[i:i + _LINE] + eol for i in range(0, len(text), _LINE))
    if fmt in _HEADERS:
        label = _HEADERS[fmt]
        return f"-----BEGIN {label}-----{eol}{body}-----END {label}-----{eol}"
    return body


def _decode_base64(text: str) -> bytes:
    """Windows' lenient base64: white space anywhere, short final groups, padding ends."""
    chars: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            i += 1
            continue
        if c == "=":
            group = len(chars) % 4
            if group:
                pads = 0
                while i < n and (text[i] == "=" or text[i] in _WHITESPACE):
                    pads += text[i] == "="
                    i += 1
                if group + pads < 4:
                    raise WinError(ERROR_INVALID_DATA, detail="bad base64 padding")
            break
        if c not in _B64:
            raise WinError(ERROR_INVALID_DATA, detail=f"not base64: {c!r}")
        chars.append(c)
        i += 1
    usable = len(chars) - len(chars) % 4
    out = binascii.a2b_base64("".join(chars[:usable]).encode("ascii")) if usable else b""
    rest = chars[usable:]
    if rest:
        # A short final group still yields bytes (Wine: "V" -> "T", "VV" -> "U",
        # "VVV" -> "UU").
        tail = "".join(rest) + "A" * (4 - len(rest))
        out += binascii.a2b_base64(tail.encode("ascii"))[:(1, 1, 2)[len(rest) - 1]]
    return out


def _decode_header(text: str) -> tuple[bytes, int]:
    begin = text.find("-----BEGIN")
    if begin < 0:
        raise WinError(ERROR_INVALID_DATA, detail="no -----BEGIN header")
    pos = begin + len("-----BEGIN")
    if text[pos:pos + 1] != " ":
        raise WinError(ERROR_INVALID_DATA, detail="bad header")
    close = text.find("-----", pos)
    if close < 0:
        raise WinError(ERROR_INVALID_DATA, detail="unterminated header")
    body_start = close + 5
    end = text.find("-----END", body_start)
    if end < 0:
        raise WinError(ERROR_INVALID_DATA, detail="no -----END trailer")
    after = end + len("-----END")
    if text[after:after + 1] != " " or text.find("-----", after) < 0:
        raise WinError(ERROR_INVALID_DATA, detail="bad trailer")
    return _decode_base64(text[body_start:end]), begin


@winapi
def CryptStringToBinary(pszString: str, dwFlags: int) -> tuple[bytes, int, int]:
    """CryptStringToBinary: ``(pbBinary, dwSkip, dwFlags)`` -- the bytes, the characters
    skipped before the data, and the format actually used.

    Raises ERROR_INVALID_PARAMETER (NULL string) and ERROR_INVALID_DATA (text not in the
    format, flags other than the format and CRYPT_STRING_STRICT).
    """
    if pszString is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="NULL pszString")
    text = pszString.decode("latin-1") if isinstance(pszString, (bytes, bytearray)) else str(pszString)
    flags = int(dwFlags) & 0xFFFFFFFF
    fmt = flags & _FORMAT_MASK
    # Wine testStringToBinaryA: decoding does not take CRYPT_STRING_NOCR.
    if flags & ~(_FORMAT_MASK | CRYPT_STRING_STRICT):
        raise WinError(ERROR_INVALID_DATA, detail=f"flags 0x{flags:08X}")
    if fmt in _HEADERS:
        data, skip = _decode_header(text)
        return data, skip, fmt
    if fmt == CRYPT_STRING_BASE64:
        return _decode_base64(text), 0, CRYPT_STRING_BASE64
    if fmt == CRYPT_STRING_BINARY:
        return text.encode("latin-1", "replace"), 0, CRYPT_STRING_BINARY
    if fmt in (CRYPT_STRING_BASE64_ANY, CRYPT_STRING_ANY):
        try:
            data, skip = _decode_header(text)
            return data, skip, CRYPT_STRING_BASE64HEADER
        except WinError:
            pass
        try:
            return _decode_base64(text), 0, CRYPT_STRING_BASE64
        except WinError:
            if fmt == CRYPT_STRING_BASE64_ANY:
                raise
        return text.encode("latin-1", "replace"), 0, CRYPT_STRING_BINARY
    if fmt in HEX_FORMATS or fmt == CRYPT_STRING_HEX_ANY:
        data, used = decode_hex(text, fmt)
        return data, 0, used
    raise WinError(ERROR_INVALID_DATA, detail=f"format {fmt}")


__all__ = ["CryptBinaryToString", "CryptStringToBinary"]

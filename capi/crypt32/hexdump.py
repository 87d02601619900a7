"""The hexadecimal CRYPT_STRING_* formats of CryptBinaryToString / CryptStringToBinary.

Layouts (encoding):

* CRYPT_STRING_HEX -- lower-case pairs separated by a space, a second space after the
  eighth byte of a line, 16 bytes a line, every line (the last too) ended by the line
  end; with CRYPT_STRING_NOCRLF one run of pairs separated by single spaces and no line
  end (Wine dlls/crypt32/tests/base64.c test_CryptBinaryToString, binary_to_hex_len).
* CRYPT_STRING_HEXRAW -- the pairs with nothing between them, then one line end (same test).
* CRYPT_STRING_HEXADDR / HEXASCIIADDR / HEXASCII -- the HEX line behind a four-digit
  address and four spaces ("0000    "), and/or followed by the ASCII column: the hex area
  padded to 48 characters, three spaces, one character a byte (0x20..0x7E as themselves,
  others as '.'), as certutil prints them (certutil -dump / -view outputs).

Decoding CRYPT_STRING_HEX follows the parser Wine's conformance test models against
Windows (test_CryptStringToBinary, string_to_hex): separators ``- , space tab CR LF`` may
lead, pairs may be joined by ``-`` or ``,``, only separators may follow the last pair,
and anything else (a NUL, an odd digit, a letter) is ERROR_INVALID_DATA.
CRYPT_STRING_HEX_ANY tries HEXADDR, HEXASCIIADDR, HEX, HEXRAW, HEXASCII in that order
(Microsoft docs, CryptStringToBinaryW function).
"""

from __future__ import annotations

import re

from capi.constants import (
    CRYPT_STRING_HEX,
    CRYPT_STRING_HEXADDR,
    CRYPT_STRING_HEXASCII,
    CRYPT_STRING_HEXASCIIADDR,
    CRYPT_STRING_HEXRAW,
)
from capi.errors import ERROR_INVALID_DATA, WinError

HEX_FORMATS = (CRYPT_STRING_HEX, CRYPT_STRING_HEXASCII, CRYPT_STRING_HEXADDR,
               CRYPT_STRING_HEXASCIIADDR, CRYPT_STRING_HEXRAW)
_ANY_ORDER = (CRYPT_STRING_HEXADDR, CRYPT_STRING_HEXASCIIADDR, CRYPT_STRING_HEX,
              CRYPT_STRING_HEXRAW, CRYPT_STRING_HEXASCII)
_SEPARATORS = frozenset("-, \t\r\n")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_ASCII = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in range(256))
_HEX_AREA = 48


def _line_hex(chunk: bytes) -> str:
    text = chunk.hex(" ")
    return text[:23] + " " + text[23:] if len(chunk) > 8 else text


def encode_hex(data: bytes, fmt: int, eol: str) -> str:
    """``data`` in the hexadecimal layout ``fmt`` with the line end ``eol``."""
    if fmt == CRYPT_STRING_HEXRAW:
        return data.hex() + eol
    if fmt == CRYPT_STRING_HEX:
        if not eol:
            return data.hex(" ")
        return "".join(_line_hex(data[i:i + 16]) + eol for i in range(0, len(data), 16)) or eol
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        line = _line_hex(chunk)
        if fmt in (CRYPT_STRING_HEXASCII, CRYPT_STRING_HEXASCIIADDR):
            line = line.ljust(_HEX_AREA) + "   " + "".join(_ASCII[b] for b in chunk)
        if fmt in (CRYPT_STRING_HEXADDR, CRYPT_STRING_HEXASCIIADDR):
            line = f"{i:04x}    " + line
        lines.append(line + eol)
    return "".join(lines)


def _invalid(detail: str) -> WinError:
    return WinError(ERROR_INVALID_DATA, detail=detail)


def _decode_plain(text: str) -> bytes:
    """Wine's string_to_hex model (Windows-verified inputs)."""
    n, i = len(text), 0
    while i < n and text[i] in _SEPARATORS:
        i += 1
    out = bytearray()
    while i < n and text[i] in _HEXDIGITS:
        if i + 1 >= n or text[i + 1] not in _HEXDIGITS:
            raise _invalid("odd hexadecimal digit")
        out.append(int(text[i:i + 2], 16))
        i += 2
        while i < n and text[i] in "-,":
            i += 1
    for c in text[i:]:
        if c not in _SEPARATORS:
            raise _invalid(f"not hexadecimal: {c!r}")
    return bytes(out)


_ADDR = re.compile(r"[ \t]*([0-9a-fA-F]{4,8}) {2,}(.*)")
_ASCII_GAP = re.compile(r" {3,}")


def _pairs(area: str) -> bytes:
    tokens = area.split()
    if len(tokens) > 16 or any(len(t) != 2 or not set(t) <= _HEXDIGITS for t in tokens):
        raise _invalid("not a hex dump line")
    return bytes.fromhex("".join(tokens))


def _decode_dump(text: str, fmt: int) -> bytes:
    out = bytearray()
    address = fmt in (CRYPT_STRING_HEXADDR, CRYPT_STRING_HEXASCIIADDR)
    ascii_col = fmt in (CRYPT_STRING_HEXASCII, CRYPT_STRING_HEXASCIIADDR)
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if address:
            m = _ADDR.fullmatch(line)
            if not m:
                raise _invalid("no address column")
            line = m.group(2)
        else:
            line = line.lstrip(" \t")
        if ascii_col:
            parts = _ASCII_GAP.split(line, maxsplit=1)
            if len(parts) != 2:
                raise _invalid("no ASCII column")
            chunk = _pairs(parts[0])
            if len(parts[1]) > len(chunk):
                raise _invalid("ASCII column does not match")
        else:
            chunk = _pairs(line)
        if not chunk:
            raise _invalid("empty hex dump line")
        out += chunk
    return bytes(out)


def decode_hex(text: str, fmt: int) -> tuple[bytes, int]:
    """``(bytes, format used)`` for a hexadecimal format or CRYPT_STRING_HEX_ANY."""
    if fmt in (CRYPT_STRING_HEX, CRYPT_STRING_HEXRAW):
        return _decode_plain(text), fmt
    if fmt in HEX_FORMATS:
        return _decode_dump(text, fmt), fmt
    for candidate in _ANY_ORDER:
        try:
            return decode_hex(text, candidate)
        except WinError:
            continue
    raise _invalid("not in any hexadecimal format")


__all__ = ["HEX_FORMATS", "decode_hex", "encode_hex"]

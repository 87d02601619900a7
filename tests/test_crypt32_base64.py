"""CryptBinaryToString / CryptStringToBinary against Wine's dlls/crypt32/tests/base64.c
(test_CryptBinaryToString, testStringToBinaryA); the ok() checks used are Windows'."""

from __future__ import annotations

import pytest

from capi import constants as C
from capi.crypt32.base64 import CryptBinaryToString, CryptStringToBinary
from capi.errors import ERROR_INVALID_DATA, ERROR_INVALID_PARAMETER
from capi.testing import raises_hresult

LONG = (b"abcdefghijlkmnopqrstuvwxyz01234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890" * 3) + b"\0"
# Wine base64.c tests[] (the C strings' terminating NUL is part of the data)
TESTS = [
    (b"\0", ["AA=="]),
    (b"\1\2", ["AQI="]),
    (LONG, ["YWJjZGVmZ2hpamxrbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5MEFCQ0RFRkdISUpL",
            "TE1OT1BRUlNUVVZXWFlaMDEyMzQ1Njc4OTBhYmNkZWZnaGlqbGttbm9wcXJzdHV2",
            "d3h5ejAxMjM0NTY3ODkwQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU2",
            "Nzg5MGFiY2RlZmdoaWpsa21ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OTBBQkNERUZH",
            "SElKS0xNTk9QUVJTVFVWV1hZWjAxMjM0NTY3ODkwAA=="]),
    (b"abcdefghijlkmnopqrstuvwxyz01234567890ABCDEFGHI\0",
     ["YWJjZGVmZ2hpamxrbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5MEFCQ0RFRkdISQA="]),
]
HEADERS = [(C.CRYPT_STRING_BASE64, None),
           (C.CRYPT_STRING_BASE64HEADER, "CERTIFICATE"),
           (C.CRYPT_STRING_BASE64REQUESTHEADER, "NEW CERTIFICATE REQUEST"),
           (C.CRYPT_STRING_BASE64X509CRLHEADER, "X509 CRL")]


def _expected(lines, label, eol):
    body = "".join(line + eol for line in lines)
    return f"-----BEGIN {label}-----{eol}{body}-----END {label}-----{eol}" if label else body


@pytest.mark.parametrize("data, lines", TESTS)
@pytest.mark.parametrize("fmt, label", HEADERS)
def test_binary_to_string_layouts(data, lines, fmt, label):
    # test_CryptBinaryToString: 64-character lines, CRLF; CRYPT_STRING_NOCR gives LF
    assert CryptBinaryToString(data, fmt) == _expected(lines, label, "\r\n")
    assert CryptBinaryToString(data, fmt | C.CRYPT_STRING_NOCR) == _expected(lines, label, "\n")


@pytest.mark.parametrize("data, lines", TESTS)
def test_binary_format_and_errors(data, lines):
    # test_CryptBinaryToString: CRYPT_STRING_BINARY copies the bytes
    assert CryptBinaryToString(data, C.CRYPT_STRING_BINARY).encode("latin-1") == data
    assert CryptBinaryToString(data, C.CRYPT_STRING_BINARY | C.CRYPT_STRING_NOCR).encode("latin-1") == data
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptBinaryToString(None, 0)


def test_nocrlf():
    # Microsoft docs, CryptBinaryToString: CRYPT_STRING_NOCRLF appends no new-line characters
    assert CryptBinaryToString(TESTS[2][0], C.CRYPT_STRING_BASE64 | C.CRYPT_STRING_NOCRLF) == "".join(TESTS[2][1])


@pytest.mark.parametrize("data, lines", TESTS)
@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_string_to_binary(data, lines, eol):
    # testStringToBinaryA / decodeAndCompareBase64_A
    b64 = "".join(line + eol for line in lines)
    for fmt, label in HEADERS:
        text = _expected(lines, label, eol)
        assert CryptStringToBinary(text, fmt) == (data, 0, fmt)
        # garbage up front: skipped with a header, an error without
        garbage = "garbage\r\n" + text
        if label:
            assert CryptStringToBinary(garbage, fmt) == (data, len("garbage\r\n"), fmt)
        else:
            with raises_hresult(ERROR_INVALID_DATA):
                CryptStringToBinary(garbage, fmt)
    alt = f"-----BEGIN This is some arbitrary text that goes on and on-----{eol}{b64}-----END More arbitrary text------{eol}"
    assert CryptStringToBinary(alt, C.CRYPT_STRING_BASE64HEADER) == (data, 0, C.CRYPT_STRING_BASE64HEADER)
    assert CryptStringToBinary(b64, C.CRYPT_STRING_BASE64_ANY) == (data, 0, C.CRYPT_STRING_BASE64)
    cert = _expected(lines, "CERTIFICATE", eol)
    assert CryptStringToBinary(cert, C.CRYPT_STRING_BASE64_ANY) == (data, 0, C.CRYPT_STRING_BASE64HEADER)
    assert CryptStringToBinary(cert, C.CRYPT_STRING_ANY) == (data, 0, C.CRYPT_STRING_BASE64HEADER)


@pytest.mark.parametrize("text, expected", [
    ("V=", None), ("VV=", None), ("V==", None),
    ("V", b"T"), ("VV", b"U"), ("VVV", b"UU"), ("V===", b"T"), ("V========", b"T"),
    ("V\nVVV", b"UUU"), ("VV\nVV", b"UUU"), ("VVV\nV", b"UUU"), ("VV    VV", b"UUU"),
    ("V===VVVV", b"T"), ("VV==VVVV", b"U"), ("VVV=VVVV", b"UU"), ("VVVV=VVVV", b"UUU")])
def test_weird_base64(text, expected):
    # testStringToBinaryA: invalid padding, extra white space
    if expected is None:
        with raises_hresult(ERROR_INVALID_DATA):
            CryptStringToBinary(text, C.CRYPT_STRING_BASE64)
    else:
        assert CryptStringToBinary(text, C.CRYPT_STRING_BASE64) == (expected, 0, C.CRYPT_STRING_BASE64)


@pytest.mark.parametrize("text, fmt, expected", [
    ("-----BEGIN-----VVVV-----END-----", C.CRYPT_STRING_BASE64HEADER, None),
    ("-----BEGIN-----VVVV-----END -----", C.CRYPT_STRING_BASE64HEADER, None),
    ("-----BEGIN -----VVVV-----END-----", C.CRYPT_STRING_BASE64HEADER, None),
    ("-----BEGIN -----VVVV-----END -----", C.CRYPT_STRING_BASE64HEADER, b"UUU"),
    ("-----BEGIN foo-----V-----END foo-----", C.CRYPT_STRING_BASE64HEADER, b"T"),
    ("-----BEGIN -----V-----END foo-----", C.CRYPT_STRING_BASE64X509CRLHEADER, b"T"),
    ("-----BEGIN foo-----V-----END -----", C.CRYPT_STRING_BASE64REQUESTHEADER, b"T"),
    ("-----BEGIN X509 CRL-----\r\nAA==\r\n", C.CRYPT_STRING_BASE64X509CRLHEADER, None)])
def test_headers(text, fmt, expected):
    # testStringToBinaryA: decodeBase64WithFmt and badStrings[]
    if expected is None:
        with raises_hresult(ERROR_INVALID_DATA):
            CryptStringToBinary(text, fmt)
    else:
        assert CryptStringToBinary(text, fmt) == (expected, 0, fmt)


def test_string_to_binary_errors():
    # testStringToBinaryA
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptStringToBinary(None, 0)
    with raises_hresult(ERROR_INVALID_DATA):
        CryptStringToBinary("AA==\r\n", C.CRYPT_STRING_BASE64HEADER)   # no header
    with raises_hresult(ERROR_INVALID_DATA):
        CryptStringToBinary("AA==\r\n", C.CRYPT_STRING_BASE64 | C.CRYPT_STRING_NOCR)


# Wine base64.c test_CryptBinaryToString: input[] is the WCHARs 0..255 little-endian
HEX_INPUT = b"".join(i.to_bytes(2, "little") for i in range(256))


def _wine_hex(data, eol):
    # the expected string test_CryptBinaryToString builds for CRYPT_STRING_HEX
    out = []
    for j, b in enumerate(data):
        out.append(f"{b:02x}")
        if j >= len(data) - 1:
            break
        if j and eol:
            if not (j + 1) % 16:
                out.append(eol)
                continue
            if not (j + 1) % 8:
                out.append(" ")
        out.append(" ")
    return "".join(out) + eol


FLAG_EOLS = [(0, "\r\n"), (C.CRYPT_STRING_NOCR, "\n"), (C.CRYPT_STRING_NOCRLF, "")]


@pytest.mark.parametrize("flag, eol", FLAG_EOLS)
@pytest.mark.parametrize("size", [3, 4, 7, 8, 12, 15, 16, 17, 256])
def test_hex_layout(size, flag, eol):
    # Wine base64.c test_CryptBinaryToString: CRYPT_STRING_HEX sizes[] x flags[]
    text = CryptBinaryToString(HEX_INPUT[:size], C.CRYPT_STRING_HEX | flag)
    assert text == _wine_hex(HEX_INPUT[:size], eol)


@pytest.mark.parametrize("flag, eol", FLAG_EOLS)
def test_hexraw_layout(flag, eol):
    # Wine base64.c test_CryptBinaryToString: HEXRAW is the lower-case pairs and one line end
    text = CryptBinaryToString(HEX_INPUT, C.CRYPT_STRING_HEXRAW | flag)
    assert text == HEX_INPUT.hex() + eol
    assert len(text) + 1 == len(HEX_INPUT) * 2 + 1 + len(eol)


# certutil -view / -dump print CRYPT_STRING_HEXASCIIADDR / HEXADDR dumps (public outputs):
# "0000    63 00 65 00 20 00 39 00  35 00 20 00 61 00 62 00   c.e. .9.5. .a.b."
# "0070    20 00 37 00 64 00                                   .7.d."
# "0100    76 ad 1c a5 19 6f e1 f0  f1 02 03 01 00 01"
CERTUTIL_UTF16 = "ce 95 ab 7b 05 17 75 4a 9d e3 6a 4a 18 ad fa 03 a1 26 c8 7d".encode("utf-16-le")


def test_hexasciiaddr_matches_certutil_dump():
    lines = CryptBinaryToString(CERTUTIL_UTF16, C.CRYPT_STRING_HEXASCIIADDR).split("\r\n")
    assert lines[0] == "0000    63 00 65 00 20 00 39 00  35 00 20 00 61 00 62 00   c.e. .9.5. .a.b."
    assert lines[7] == "0070    20 00 37 00 64 00                                   .7.d."
    assert lines[8] == ""
    assert len(lines) == 9


def test_hexaddr_and_hexascii():
    key_tail = bytes.fromhex("76ad1ca5196fe1f0f10203010001")
    text = CryptBinaryToString(bytes(256) + key_tail, C.CRYPT_STRING_HEXADDR)
    assert text.split("\r\n")[-2] == "0100    76 ad 1c a5 19 6f e1 f0  f1 02 03 01 00 01"
    text = CryptBinaryToString(b"0Z1.", C.CRYPT_STRING_HEXASCII | C.CRYPT_STRING_NOCR)
    assert text == "30 5a 31 2e" + " " * 37 + "   0Z1.\n"


@pytest.mark.parametrize("fmt", [C.CRYPT_STRING_HEXADDR, C.CRYPT_STRING_HEXASCIIADDR,
                                 C.CRYPT_STRING_HEXASCII, C.CRYPT_STRING_HEXRAW])
@pytest.mark.parametrize("size", [1, 8, 16, 17, 256])
def test_hex_dumps_round_trip(fmt, size):
    data = HEX_INPUT[:size]
    text = CryptBinaryToString(data, fmt)
    assert CryptStringToBinary(text, fmt) == (data, 0, fmt)
    # Microsoft docs, CryptStringToBinaryW: HEX_ANY tries HEXADDR, HEXASCIIADDR, HEX, HEXRAW, HEXASCII
    expected = C.CRYPT_STRING_HEX if fmt == C.CRYPT_STRING_HEXRAW else fmt
    assert CryptStringToBinary(text, C.CRYPT_STRING_HEX_ANY) == (data, 0, expected)


# Wine base64.c test_CryptStringToBinary string_hex_tests[] through its string_to_hex model
@pytest.mark.parametrize("text, expected", [
    ("", b""), ("-", b""), (",-", b""), ("0", None), ("00", b"\0"), ("000", None),
    ("11220", None), ("1122q", None), ("q1122", None), (" aE\t\n\r\n", b"\xae"),
    ("01-02", b"\1\2"), ("-,01-02", b"\1\2"), ("01-02-", b"\1\2"), ("aa,BB-ff,-,", b"\xaa\xbb\xff"),
    ("1-2", None), ("010-02", None), ("aa,BBff,-,", b"\xaa\xbb\xff"),
    ("aa,,-BB---ff,-,", b"\xaa\xbb\xff"), ("010203040506070809q", None),
    ("01\0 02", None), ("0102q", None)])
def test_string_to_binary_hex(text, expected):
    if expected is None:
        with raises_hresult(ERROR_INVALID_DATA):
            CryptStringToBinary(text, C.CRYPT_STRING_HEX)
    else:
        assert CryptStringToBinary(text, C.CRYPT_STRING_HEX) == (expected, 0, C.CRYPT_STRING_HEX)


@pytest.mark.parametrize("code", range(1, 128))
def test_string_to_binary_hex_leading_character(code):
    # Wine base64.c test_CryptStringToBinary: chr(i) + "00" succeeds only for - , space tab CR LF
    text = chr(code) + "00"
    if chr(code) in "-, \t\r\n":
        assert CryptStringToBinary(text, C.CRYPT_STRING_HEX)[0] == b"\0"
    else:
        with raises_hresult(ERROR_INVALID_DATA):
            CryptStringToBinary(text, C.CRYPT_STRING_HEX)


def test_hex_dump_errors():
    with raises_hresult(ERROR_INVALID_DATA):
        CryptStringToBinary("not hex at all", C.CRYPT_STRING_HEX_ANY)
    with raises_hresult(ERROR_INVALID_DATA):
        CryptStringToBinary("0000    zz 01", C.CRYPT_STRING_HEXADDR)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptBinaryToString(None, C.CRYPT_STRING_HEX)

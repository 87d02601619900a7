"""DER building blocks for the crypt32 codecs, on top of asn1crypto.

asn1crypto does every tag, length and primitive value; this module only composes them
the way crypt32 lays its structures out (pre-encoded blobs spliced in as they are,
empty OIDs and integers, SET OF sorted as DER requires) and reads them back with
Windows' error codes.
"""

from __future__ import annotations

import functools

from asn1crypto import core
from asn1crypto import parser as _parser

from capi.errors import CRYPT_E_ASN1_BADTAG, CRYPT_E_ASN1_CORRUPT, CRYPT_E_ASN1_EOD, WinError

# Universal tags (class 0) as crypt32 meets them.
BOOLEAN, INTEGER, BITSTRING, OCTETSTRING, NULL, OID, ENUMERATED = 1, 2, 3, 4, 5, 6, 10
UTF8STRING, SEQUENCE, SET = 12, 16, 17
UTCTIME, GENERALIZEDTIME = 23, 24

_parse = getattr(_parser, "_parse", None)


def fail(code: int, detail: str | None = None) -> WinError:
    return WinError(code, detail=detail)


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------


def _tlv(identifier: int, contents: bytes) -> bytes:
    """One low-tag-number element: the identifier octet, the DER length, the contents
    (X.690 8.1.2-8.1.3; what asn1crypto writes for these, without an object per call)."""
    n = len(contents)
    if n < 0x80:
        return bytes((identifier, n)) + contents
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((identifier, 0x80 | len(raw))) + raw + contents


def seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


class _SetOfAny(core.SetOf):
    _child_spec = core.Any


def set_of(parts) -> bytes:
    """SET OF with its elements in DER order (sorted encodings)."""
    return _tlv(0x31, b"".join(sorted(parts)))


def explicit(n: int, der: bytes) -> bytes:
    """[n] constructed, holding ``der`` as it is."""
    return core.Sequence(contents=der, implicit=n).dump()


def implicit(n: int, contents: bytes) -> bytes:
    """[n] primitive with ``contents``."""
    return core.OctetString(contents=contents, implicit=n).dump()


@functools.lru_cache(maxsize=1024)
def oid(dotted: str | None) -> bytes:
    # Pure function of the dotted string; names and extensions repeat a few OIDs.
    if not dotted:
        return core.ObjectIdentifier(contents=b"").dump()
    return core.ObjectIdentifier(dotted).dump()


def integer(value: int) -> bytes:
    return core.Integer(value).dump()


def int_contents(value: int) -> bytes:
    return core.Integer(value).contents


def integer_blob(le: bytes, unsigned: bool = False) -> bytes:
    """INTEGER from a little-endian CRYPT_INTEGER_BLOB (an empty blob is ``02 00``)."""
    le = bytes(le or b"")
    if not le:
        return core.Integer(contents=b"").dump()
    return core.Integer(int.from_bytes(le, "little", signed=not unsigned)).dump()


def octets(data: bytes) -> bytes:
    return core.OctetString(bytes(data)).dump()


def boolean(v: bool) -> bytes:
    return core.Boolean(bool(v)).dump()


def null() -> bytes:
    return core.Null().dump()


def bits(data: bytes, unused: int) -> bytes:
    return core.OctetBitString(contents=bytes([unused]) + bytes(data)).dump()


def string(cls: type, contents: bytes) -> bytes:
    if cls.class_ == 0 and cls.method == 0 and cls.tag < 31:
        return _tlv(cls.tag, contents)  # a universal primitive string type
    return cls(contents=contents).dump()


def utc_time(text: str) -> bytes:
    return core.UTCTime(contents=text.encode("ascii")).dump()


def generalized_time(text: str) -> bytes:
    return core.GeneralizedTime(contents=text.encode("ascii")).dump()


# ---------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------


class TLV:
    """One element: class, constructed bit, tag number, contents and its whole encoding."""

    __slots__ = ("cls", "constructed", "tag", "contents", "raw")

    def __init__(self, cls, constructed, tag, contents, raw):
        self.cls = cls
        self.constructed = constructed
        self.tag = tag
        self.contents = contents
        self.raw = raw

    def is_(self, tag: int, cls: int = 0) -> bool:
        return self.tag == tag and self.cls == cls


def read(data: bytes, pos: int = 0) -> tuple[TLV, int]:
    """The element at ``pos`` and the offset after it."""
    n = len(data)
    if pos >= n:
        raise fail(CRYPT_E_ASN1_EOD, "no element")
    try:
        if _parse is not None:
            (cls, method, tag, header, contents, trailer), end = _parse(data, n, pos)
        else:
            cls, method, tag, header, contents, trailer = _parser.parse(data[pos:])
            end = pos + len(header) + len(contents) + len(trailer)
    except ValueError as exc:
        code = CRYPT_E_ASN1_EOD if "Insufficient data" in str(exc) else CRYPT_E_ASN1_CORRUPT
        raise fail(code, str(exc)) from None
    except (TypeError, IndexError, RecursionError) as exc:
        raise fail(CRYPT_E_ASN1_CORRUPT, str(exc)) from None
    return TLV(cls, method, tag, contents, data[pos:end]), end


def expect(data: bytes, tag: int, cls: int = 0) -> TLV:
    """The outer element, which must carry ``tag`` (bytes after it are ignored)."""
    if not data:
        raise fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = read(data)
    if not t.is_(tag, cls):
        raise fail(CRYPT_E_ASN1_BADTAG, f"expected tag {tag}, got {t.cls}/{t.tag}")
    return t


class Reader:
    """Walks the elements inside a constructed element."""

    __slots__ = ("data", "pos")

    def __init__(self, contents: bytes):
        self.data = contents
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def peek(self) -> tuple[int, int] | None:
        if self.pos >= len(self.data):
            return None
        b = self.data[self.pos]
        return b >> 6, b & 0x1F

    def next(self) -> TLV:
        t, self.pos = read(self.data, self.pos)
        return t

    def take(self, tag: int, cls: int = 0) -> TLV:
        t = self.next()
        if not t.is_(tag, cls):
            raise fail(CRYPT_E_ASN1_BADTAG, f"expected tag {tag}, got {t.cls}/{t.tag}")
        return t

    def optional(self, tag: int, cls: int = 0) -> TLV | None:
        if self.peek() == (cls, tag):
            return self.next()
        return None

    def done(self) -> None:
        if self.pos < len(self.data):
            raise fail(CRYPT_E_ASN1_CORRUPT, "unexpected data at the end of a sequence")

    def all(self) -> list[TLV]:
        out = []
        while self.more():
            out.append(self.next())
        return out


def seq_reader(data: bytes) -> Reader:
    return Reader(expect(data, SEQUENCE).contents)


def each(contents: bytes, tag: int, what: str):
    """A Reader over each element of ``contents`` (a SEQUENCE OF / SET OF; every element
    is read before the first is handed out); CRYPT_E_ASN1_BADTAG for one that is not
    ``tag`` ("<what> is not a SEQUENCE")."""
    for t in Reader(contents).all():
        if t.tag != tag or t.cls:
            kind = "SET" if tag == SET else "SEQUENCE" if tag == SEQUENCE else f"tag {tag}"
            raise fail(CRYPT_E_ASN1_BADTAG, f"{what} is not a {kind}")
        yield Reader(t.contents)


def decode_oid(t: TLV) -> str:
    if not t.is_(OID):
        raise fail(CRYPT_E_ASN1_BADTAG, "expected an OID")
    if not t.contents:
        return ""
    try:
        return core.ObjectIdentifier.load(t.raw).dotted
    except (ValueError, TypeError) as exc:
        raise fail(CRYPT_E_ASN1_CORRUPT, str(exc)) from None


def decode_int_contents(t: TLV) -> bytes:
    if not t.is_(INTEGER):
        raise fail(CRYPT_E_ASN1_BADTAG, "expected an INTEGER")
    if not t.contents:
        raise fail(CRYPT_E_ASN1_CORRUPT, "empty INTEGER")
    return bytes(t.contents)


def decode_bool(t: TLV) -> bool:
    if not t.is_(BOOLEAN):
        raise fail(CRYPT_E_ASN1_BADTAG, "expected a BOOLEAN")
    if len(t.contents) != 1:
        raise fail(CRYPT_E_ASN1_CORRUPT, "BOOLEAN of the wrong length")
    # BER: any non-zero byte is TRUE (Windows accepts 01 01 01).
    return t.contents != b"\x00"


def decode_bits(t: TLV) -> tuple[bytes, int]:
    if not t.is_(BITSTRING):
        raise fail(CRYPT_E_ASN1_BADTAG, "expected a BIT STRING")
    c = bytes(t.contents)
    if not c:
        raise fail(CRYPT_E_ASN1_CORRUPT, "empty BIT STRING")
    unused, data = c[0], c[1:]
    if unused > 7 or (unused and not data):
        raise fail(CRYPT_E_ASN1_CORRUPT, "bad unused-bit count")
    if unused and data:
        data = data[:-1] + bytes([data[-1] & (0xFF << unused) & 0xFF])
    return data, unused

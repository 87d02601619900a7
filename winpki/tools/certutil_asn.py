"""certutil -asn: the ASN.1 tree of a DER (or base64) file, in certutil's layout.

Layout (certutil.exe; Microsoft's CertEnroll ClientId attribute page prints one)::

    0143: |  |  31 4a                         ; SET (4a Bytes)
    0145: |  |     30 48                      ; SEQUENCE (48 Bytes)
    0147: |  |        02 01                   ; INTEGER (1 Bytes)
    0149: |  |        |  09
    014a: |  |        0c 23                   ; UTF8_STRING (23 Bytes)
    014c: |  |        |  74 65 73 74 33 64 2e 6a  64 6f 6d 63 73 63 2e 6e
          |  |        |     ; "test3d.jdomcsc.nttest.microsoft.com"

Each line starts with the offset ("%04x: "); each level of nesting adds "|  " when the
element at that level has siblings after it and three spaces when it is the last one;
the header (identifier and length octets) is followed, at column 42, by "; TYPE (len
Bytes)" with the length in hex. Contents of a primitive follow one level deeper, 16
bytes a line (a double space after the eighth; character strings padded to the full
width); an OBJECT IDENTIFIER gets "; <dotted> <name>" and a character string
'; "<text>"' on a line with a blank offset column. BIT STRING and OCTET STRING contents
that are DER themselves are shown as the nested tree (a BIT STRING's unused-bits octet
first, on its own line), as certutil does for keys and extensions.
"""

from __future__ import annotations

from capi import constants as C
from capi.errors import CRYPT_E_ASN1_BADTAG, WinError
from winpki.tools.certutil import Invocation, verb
from winpki.tools.common import base64_any, check_input_file

_UNIVERSAL = {
    1: "BOOLEAN", 2: "INTEGER", 3: "BIT_STRING", 4: "OCTET_STRING", 5: "NULL",
    6: "OBJECT_ID", 10: "ENUMERATED", 12: "UTF8_STRING", 16: "SEQUENCE", 17: "SET",
    18: "NUMERIC_STRING", 19: "PRINTABLE_STRING", 20: "TELETEX_STRING",
    22: "IA5_STRING", 23: "UTC_TIME", 24: "GENERALIZED_TIME", 26: "VISIBLE_STRING",
    27: "GENERAL_STRING", 28: "UNIVERSAL_STRING", 30: "BMP_STRING",
}
_STRINGS = {12, 18, 19, 20, 22, 23, 24, 26, 27}
_COMMENT_COLUMN = 42
_HEX_WIDTH = 49  # 16 "xx " groups and the extra space after the eighth


class _Node:
    __slots__ = ("offset", "header", "cls", "constructed", "tag", "contents", "children",
                 "lead")

    def __init__(self, offset, header, cls, constructed, tag, contents):
        self.offset = offset
        self.header = header
        self.cls = cls
        self.constructed = constructed
        self.tag = tag
        self.contents = contents
        self.children: list[_Node] | None = None
        self.lead = b""  # a BIT STRING's unused-bits octet shown before nested contents


def _bad(detail: str) -> WinError:
    return WinError(CRYPT_E_ASN1_BADTAG, detail=detail)


def _read(data: bytes, pos: int, end: int) -> tuple[_Node, int]:
    start = pos
    if pos >= end:
        raise _bad("no element")
    first = data[pos]
    pos += 1
    tag = first & 0x1F
    if tag == 0x1F:
        tag = 0
        while True:
            if pos >= end:
                raise _bad("truncated tag")
            b = data[pos]
            pos += 1
            tag = (tag << 7) | (b & 0x7F)
            if not b & 0x80:
                break
    if pos >= end:
        raise _bad("truncated length")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise _bad("unsupported length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise _bad("element overruns its container")
    node = _Node(start, data[start:pos], first >> 6, bool(first & 0x20), tag,
                 data[pos:pos + length])
    if node.constructed:
        node.children = _parse_all(data, pos, pos + length)
    return node, pos + length


def _parse_all(data: bytes, pos: int, end: int) -> list[_Node]:
    nodes = []
    while pos < end:
        node, pos = _read(data, pos, end)
        nodes.append(node)
    return nodes


def _try_nested(node: _Node, data: bytes) -> None:
    """Expand BIT STRING / OCTET STRING contents that are DER themselves."""
    if node.cls != 0 or node.constructed or node.tag not in (3, 4) or not node.contents:
        return
    start = node.offset + len(node.header)
    lead = 1 if node.tag == 3 else 0
    if lead and node.contents[0] != 0:
        return
    body = start + lead
    end = start + len(node.contents)
    if body >= end or data[body] not in (0x30, 0x31):
        return
    try:
        children = _parse_all(data, body, end)
    except WinError:
        return
    node.children = children
    node.lead = node.contents[:lead]


def _type_name(node: _Node) -> str:
    if node.cls == 0:
        return _UNIVERSAL.get(node.tag, f"UNIVERSAL[{node.tag}]")
    if node.cls == 2:
        return f"OPTIONAL[{node.tag}]" if node.constructed else f"CONTEXT_SPECIFIC[{node.tag}]"
    if node.cls == 1:
        return f"APPLICATION[{node.tag}]"
    return f"PRIVATE[{node.tag}]"


def _hex_lines(data: bytes, pad: bool) -> list[str]:
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        text = chunk.hex(" ")
        if len(chunk) > 8:
            text = text[:23] + " " + text[23:]
        lines.append((text + " ").ljust(_HEX_WIDTH) if pad else text)
    return lines or [""]


def _oid_text(contents: bytes) -> str:
    from capi.crypt32.oidinfo import find_oid_info

    arcs: list[int] = []
    value = 0
    for b in contents:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    dotted = ".".join(str(a) for a in head + arcs[1:])
    info = find_oid_info(C.CRYPT_OID_INFO_OID_KEY, dotted)
    return f"{dotted} {info.pwszName}" if info is not None else dotted


def _string_text(node: _Node) -> str:
    raw = node.contents
    if node.tag == 30:
        text = raw.decode("utf-16-be", "replace")
    elif node.tag == 28:
        text = raw.decode("utf-32-be", "replace")
    elif node.tag == 12:
        text = raw.decode("utf-8", "replace")
    else:
        text = raw.decode("latin-1")
    return f'"{text}"'


def _emit(node: _Node, prefix: str, last: bool, data: bytes, out: list[str]) -> None:
    _try_nested(node, data)
    head = f"{node.offset:04x}: {prefix}{node.header.hex(' ')}"
    comment = f"; {_type_name(node)} ({len(node.contents):x} Bytes)"
    out.append(head.ljust(_COMMENT_COLUMN) + comment if len(head) < _COMMENT_COLUMN
               else f"{head} {comment}")
    inner = prefix + ("   " if last else "|  ")
    if node.children is not None:
        pos = node.offset + len(node.header)
        if node.lead:
            out.append(f"{pos:04x}: {inner}{node.lead.hex(' ')}")
        for i, child in enumerate(node.children):
            _emit(child, inner, i == len(node.children) - 1, data, out)
        return
    if not node.contents:
        return
    pos = node.offset + len(node.header)
    string = node.cls == 0 and node.tag in (_STRINGS | {28, 30})
    for i, line in enumerate(_hex_lines(node.contents, pad=string)):
        out.append(f"{pos + 16 * i:04x}: {inner}{line}")
    if node.cls == 0 and node.tag == 6:
        out.append(f"      {inner}   ; {_oid_text(node.contents)}")
    elif string:
        out.append(f"      {inner}   ; {_string_text(node)}")


def asn_lines(der: bytes) -> list[str]:
    """certutil -asn's lines for ``der`` (every top-level element in turn)."""
    nodes = _parse_all(der, 0, len(der))
    out: list[str] = []
    for i, node in enumerate(nodes):
        _emit(node, "", i == len(nodes) - 1, der, out)
    return out


def _file_bytes(path: str) -> bytes:
    check_input_file(path)
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:1] == b"\x30":
        return data
    return base64_any(data) or data


@verb("asn", "File", min_args=1, max_args=1)
def asn_verb(inv: Invocation):
    for line in asn_lines(_file_bytes(inv.args[0])):
        inv.print(line)


__all__ = ["asn_lines", "asn_verb"]

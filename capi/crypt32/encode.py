"""CryptEncodeObjectEx / CryptDecodeObjectEx and their non-Ex forms.

``lpszStructType`` is the wincrypt.h number (``X509_NAME`` = 7) or an OID string
(``szOID_SUBJECT_ALT_NAME2``). Encodings are byte-for-byte Windows' (the vectors are the
tables in Wine's dlls/crypt32/tests/encode.c, which record what Windows produces),
including its quirks: pre-encoded blobs (names in CERT_INFO, attribute values) are
spliced in as they are, an empty CRYPT_INTEGER_BLOB is ``02 00``, a NULL OID is
``06 00``, algorithm identifiers get NULL parameters in public key infos and signer
infos but not inside a CERT_INFO, signatures in CERT_SIGNED_CONTENT_INFO are kept
little-endian, X509_KEY_USAGE drops trailing zero bits.

Decoding returns the wincrypt.h structures of :mod:`capi.crypt32.structs` (scalars for the
scalar types, per API-SHAPES); bad bytes raise CRYPT_E_ASN1_EOD (truncated),
CRYPT_E_ASN1_BADTAG (wrong element), CRYPT_E_ASN1_CORRUPT (bad contents, trailing data
inside a sequence) or CRYPT_E_ASN1_LARGE. Bytes after the outer element are ignored, as
Windows does.
"""

from __future__ import annotations

import datetime
import struct
from typing import Any

from asn1crypto import core

from capi.constants import (
    CERT_ALT_NAME_DIRECTORY_NAME,
    CERT_ALT_NAME_DNS_NAME,
    CERT_ALT_NAME_IP_ADDRESS,
    CERT_ALT_NAME_OTHER_NAME,
    CERT_ALT_NAME_REGISTERED_ID,
    CERT_ALT_NAME_RFC822_NAME,
    CERT_ALT_NAME_URL,
    CERT_ID_ISSUER_SERIAL_NUMBER,
    CERT_ID_KEY_IDENTIFIER,
    CERT_RDN_ANY_TYPE,
    CERT_RDN_BMP_STRING,
    CERT_RDN_ENABLE_T61_UNICODE_FLAG,
    CERT_RDN_ENABLE_UTF8_UNICODE_FLAG,
    CERT_RDN_ENCODED_BLOB,
    CERT_RDN_FORCE_UTF8_UNICODE_FLAG,
    CERT_RDN_GENERAL_STRING,
    CERT_RDN_GRAPHIC_STRING,
    CERT_RDN_IA5_STRING,
    CERT_RDN_NUMERIC_STRING,
    CERT_RDN_OCTET_STRING,
    CERT_RDN_PRINTABLE_STRING,
    CERT_RDN_TELETEX_STRING,
    CERT_RDN_UNIVERSAL_STRING,
    CERT_RDN_UTF8_STRING,
    CERT_RDN_VIDEOTEX_STRING,
    CERT_RDN_VISIBLE_STRING,
    CMS_SIGNER_INFO,
    CNG_RSA_PUBLIC_KEY_BLOB,
    CRYPT_DECODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG,
    CRYPT_DECODE_TO_BE_SIGNED_FLAG,
    CRYPT_ENCODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG,
    CRYPT_UNICODE_NAME_ENCODE_ENABLE_T61_UNICODE_FLAG,
    CRYPT_UNICODE_NAME_ENCODE_ENABLE_UTF8_UNICODE_FLAG,
    CRYPT_UNICODE_NAME_ENCODE_FORCE_UTF8_UNICODE_FLAG,
    PKCS7_SIGNER_INFO,
    PKCS_7_ASN_ENCODING,
    PKCS_ATTRIBUTE,
    PKCS_ATTRIBUTES,
    PKCS_CONTENT_INFO,
    PKCS_UTC_TIME,
    PUBLICKEYBLOB,
    RSA_CSP_PUBLICKEYBLOB,
    X509_ALTERNATE_NAME,
    X509_ASN_ENCODING,
    X509_AUTHORITY_KEY_ID,
    X509_AUTHORITY_KEY_ID2,
    X509_BASIC_CONSTRAINTS,
    X509_BASIC_CONSTRAINTS2,
    X509_BITS,
    X509_BITS_WITHOUT_TRAILING_ZEROES,
    X509_CERT,
    X509_CERT_CRL_TO_BE_SIGNED,
    X509_CERT_POLICIES,
    X509_CERT_TO_BE_SIGNED,
    X509_CHOICE_OF_TIME,
    X509_ECC_SIGNATURE,
    X509_ENHANCED_KEY_USAGE,
    X509_ENUMERATED,
    X509_EXTENSIONS,
    X509_INTEGER,
    X509_KEY_USAGE,
    X509_MULTI_BYTE_INTEGER,
    X509_MULTI_BYTE_UINT,
    X509_NAME,
    X509_NAME_CONSTRAINTS,
    X509_NAME_VALUE,
    X509_OCTET_STRING,
    X509_PUBLIC_KEY_INFO,
    X509_SEQUENCE_OF_ANY,
    X509_UNICODE_NAME,
    X509_UNICODE_NAME_VALUE,
)
from capi.crypt32 import _der as D
from capi.crypt32.structs import (
    CERT_ALT_NAME_ENTRY,
    CERT_ALT_NAME_INFO,
    CERT_AUTHORITY_KEY_ID2_INFO,
    CERT_AUTHORITY_KEY_ID_INFO,
    CERT_BASIC_CONSTRAINTS2_INFO,
    CERT_BASIC_CONSTRAINTS_INFO,
    CERT_ECC_SIGNATURE,
    CERT_ENHKEY_USAGE,
    CERT_EXTENSION,
    CERT_EXTENSIONS,
    CERT_GENERAL_SUBTREE,
    CERT_ID,
    CERT_INFO,
    CERT_ISSUER_SERIAL_NUMBER,
    CERT_NAME_CONSTRAINTS_INFO,
    CERT_NAME_INFO,
    CERT_NAME_VALUE,
    CERT_OTHER_NAME,
    CERT_POLICIES_INFO,
    CERT_POLICY_INFO,
    CERT_POLICY_QUALIFIER_INFO,
    CERT_PUBLIC_KEY_INFO,
    CERT_RDN,
    CERT_RDN_ATTR,
    CERT_SIGNED_CONTENT_INFO,
    CMSG_CMS_SIGNER_INFO,
    CMSG_SIGNER_INFO,
    CRL_ENTRY,
    CRL_INFO,
    CRYPT_ALGORITHM_IDENTIFIER,
    CRYPT_ATTRIBUTE,
    CRYPT_ATTRIBUTES,
    CRYPT_BIT_BLOB,
    CRYPT_CONTENT_INFO,
    CRYPT_SEQUENCE_OF_ANY,
)
from capi.crypt32.structs import blob_bytes as _b
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_ASN1_CHOICE,
    CRYPT_E_ASN1_CORRUPT,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_ASN1_LARGE,
    CRYPT_E_BAD_ENCODE,
    CRYPT_E_INVALID_IA5_STRING,
    CRYPT_E_INVALID_NUMERIC_STRING,
    CRYPT_E_INVALID_PRINTABLE_STRING,
    CRYPT_E_NOT_CHAR_STRING,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    STATUS_ACCESS_VIOLATION,
    WinError,
    winapi,
)

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
_CALG_RSA_KEYX = 0xA400
_RSA1 = 0x31415352
_BCRYPT_RSAPUBLIC_MAGIC = 0x31415352

# GET_CERT_UNICODE_*_ERR_INDEX / GET_CERT_ALT_NAME_*_ERR_INDEX packing (wincrypt.h).
_RDN_ERR_SHIFT, _ATTR_ERR_SHIFT = 22, 16
_ALT_ENTRY_ERR_SHIFT = 16


def _need(obj: Any) -> Any:
    # A NULL pvStructInfo faults inside crypt32; Windows reports the exception code.
    if obj is None:
        raise D.fail(STATUS_ACCESS_VIOLATION, "NULL structure")
    return obj


def _positional_error(code: int, index: int) -> WinError:
    exc = D.fail(code, f"invalid character at {index & 0xFFFF}")
    exc.pcbEncoded = index
    return exc


def ticks_from_datetime(dt: datetime.datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    delta = dt - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def datetime_from_ticks(ticks: int) -> datetime.datetime:
    return _FILETIME_EPOCH + datetime.timedelta(microseconds=int(ticks) // 10)


def _ticks(v) -> int:
    if isinstance(v, datetime.datetime):
        return ticks_from_datetime(v)
    return int(v or 0)


def _alg(v) -> CRYPT_ALGORITHM_IDENTIFIER:
    if v is None:
        return CRYPT_ALGORITHM_IDENTIFIER()
    if isinstance(v, str):
        return CRYPT_ALGORITHM_IDENTIFIER(v)
    return v


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


# ---------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------


def _enc_int(v, flags):
    return D.integer(_int32(int(_need(v))))


def _dec_int(data, flags):
    t = D.expect(data, D.INTEGER)
    c = D.decode_int_contents(t)
    if len(c) > 4:
        raise D.fail(CRYPT_E_ASN1_LARGE, "integer does not fit an int")
    return _int32(int.from_bytes(c, "big", signed=True))


def _enc_multi_int(v, flags):
    return D.integer_blob(_b(_need(v)))


def _dec_multi_int(data, flags):
    return D.decode_int_contents(D.expect(data, D.INTEGER))[::-1]


def _enc_multi_uint(v, flags):
    return D.integer_blob(_b(_need(v)), unsigned=True)


def _strip_sign(be: bytes) -> bytes:
    while len(be) > 1 and be[0] == 0:
        be = be[1:]
    return be


def _dec_multi_uint(data, flags):
    return _strip_sign(D.decode_int_contents(D.expect(data, D.INTEGER)))[::-1]


def _enc_enum(v, flags):
    # Windows encodes the DWORD unsigned (-128 -> 0a 05 00 ff ff ff 80).
    return core.Enumerated(contents=D.int_contents(int(_need(v)) & 0xFFFFFFFF)).dump()


def _dec_enum(data, flags):
    t = D.expect(data, D.ENUMERATED)
    if not t.contents:
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "empty ENUMERATED")
    if len(t.contents) > 5:
        raise D.fail(CRYPT_E_ASN1_LARGE, "enumerated does not fit a DWORD")
    return _int32(int.from_bytes(t.contents, "big", signed=True))


def _enc_octets(v, flags):
    return D.octets(_b(_need(v)))


def _dec_octets(data, flags):
    return bytes(D.expect(data, D.OCTETSTRING).contents)


def _bit_parts(v) -> tuple[bytes, int]:
    _need(v)
    data = bytes(v.pbData or b"")
    unused = int(v.cUnusedBits)
    # Whole unused bytes are dropped; the remainder is masked (Wine test_encodeBits).
    drop = unused // 8
    if drop:
        data = data[:-drop] if drop < len(data) else b""
    unused %= 8
    if not data:
        unused = 0
    elif unused:
        data = data[:-1] + bytes([data[-1] & (0xFF << unused) & 0xFF])
    return data, unused


def _enc_bits(v, flags):
    return D.bits(*_bit_parts(v))


def _enc_bits_no_trailing_zeroes(v, flags):
    data, unused = _bit_parts(v)
    data = data.rstrip(b"\x00")
    if data:
        last = data[-1]
        unused = (last & -last).bit_length() - 1
    else:
        unused = 0
    return D.bits(data, unused)


def _dec_bits(data, flags):
    d, unused = D.decode_bits(D.expect(data, D.BITSTRING))
    return CRYPT_BIT_BLOB(d, unused)


# --- time ------------------------------------------------------------------------------


def _time_der(ticks: int, utc_only: bool) -> bytes:
    try:
        dt = datetime_from_ticks(ticks)
    except (OverflowError, ValueError):
        raise D.fail(CRYPT_E_BAD_ENCODE, "time out of range") from None
    if 1950 <= dt.year < 2050:
        return D.utc_time(dt.strftime("%y%m%d%H%M%S") + "Z")
    if utc_only:
        raise D.fail(CRYPT_E_BAD_ENCODE, "UTCTime holds 1950-2049 only")
    return D.generalized_time(f"{dt.year:04d}" + dt.strftime("%m%d%H%M%S") + "Z")


def _enc_choice_of_time(v, flags):
    return _time_der(_ticks(_need(v)), utc_only=False)


def _enc_utc_time(v, flags):
    return _time_der(_ticks(_need(v)), utc_only=True)


def _digits(s: str, i: int, n: int) -> int:
    part = s[i:i + n]
    if len(part) != n or not part.isdigit() or not part.isascii():
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad time")
    return int(part)


def _parse_time(t: D.TLV) -> int:
    try:
        s = bytes(t.contents).decode("ascii")
    except UnicodeDecodeError:
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad time") from None
    if t.is_(D.UTCTIME):
        yy = _digits(s, 0, 2)
        year, i = (2000 + yy if yy < 50 else 1900 + yy), 2
    else:
        year, i = _digits(s, 0, 4), 4
    month, day, hour = _digits(s, i, 2), _digits(s, i + 2, 2), _digits(s, i + 4, 2)
    i += 6
    minute = second = ms = 0
    if t.is_(D.UTCTIME) or (i < len(s) and s[i].isdigit()):
        minute = _digits(s, i, 2)
        i += 2
    if i + 1 < len(s) and s[i].isdigit():
        second = _digits(s, i, 2)
        i += 2
    if t.is_(D.GENERALIZEDTIME) and i < len(s) and s[i] in ".,":
        j = i + 1
        while j < len(s) and s[j].isdigit():
            j += 1
        frac = s[i + 1:j]
        if not frac:
            raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad time fraction")
        ms = int((frac + "000")[:3])
        i = j
    offset = 0
    if i < len(s):
        sign = s[i]
        if sign == "Z":
            i += 1
        elif sign in "+-":
            oh = _digits(s, i + 1, 2)
            om = _digits(s, i + 3, 2) if len(s) >= i + 5 else 0
            i += 5 if len(s) >= i + 5 else 3
            # Windows adds the offset (Wine test_decodeFiletime: +0100 -> 17:10).
            offset = (oh * 60 + om) * (1 if sign == "+" else -1)
        else:
            raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad time zone")
    if i != len(s):
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "trailing characters in time")
    try:
        dt = datetime.datetime(year, month, day, hour, minute, second, ms * 1000,
                               tzinfo=datetime.timezone.utc)
    except ValueError:
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad date") from None
    return ticks_from_datetime(dt + datetime.timedelta(minutes=offset))


def _decode_time_tlv(t: D.TLV) -> int:
    if not (t.is_(D.UTCTIME) or t.is_(D.GENERALIZEDTIME)):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "expected a time")
    return _parse_time(t)


def _dec_choice_of_time(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return _decode_time_tlv(t)


def _dec_utc_time(data, flags):
    return _parse_time(D.expect(data, D.UTCTIME))


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------

_STRING_CLASSES = {
    CERT_RDN_OCTET_STRING: core.OctetString,
    CERT_RDN_NUMERIC_STRING: core.NumericString,
    CERT_RDN_PRINTABLE_STRING: core.PrintableString,
    CERT_RDN_TELETEX_STRING: core.TeletexString,
    CERT_RDN_VIDEOTEX_STRING: core.VideotexString,
    CERT_RDN_IA5_STRING: core.IA5String,
    CERT_RDN_GRAPHIC_STRING: core.GraphicString,
    CERT_RDN_VISIBLE_STRING: core.VisibleString,
    CERT_RDN_GENERAL_STRING: core.GeneralString,
    CERT_RDN_UNIVERSAL_STRING: core.UniversalString,
    CERT_RDN_BMP_STRING: core.BMPString,
    CERT_RDN_UTF8_STRING: core.UTF8String,
}
_TAG_TO_TYPE = {cls.tag: t for t, cls in _STRING_CLASSES.items()}
_WIDE_TYPES = (CERT_RDN_UNIVERSAL_STRING, CERT_RDN_BMP_STRING, CERT_RDN_UTF8_STRING)
_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
_NUMERIC = set("0123456789 ")
# Attributes whose values are IA5 when chosen automatically (email, DC).
_IA5_OIDS = {"1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"}


def _wide_text(value) -> str:
    if isinstance(value, str):
        return value
    return bytes(value or b"").decode("utf-16-le", "surrogatepass")


def _wide_to_contents(vtype: int, text: str) -> bytes:
    if vtype == CERT_RDN_BMP_STRING:
        return text.encode("utf-16-be", "surrogatepass")
    if vtype == CERT_RDN_UTF8_STRING:
        return text.encode("utf-8", "surrogatepass")
    # UNIVERSAL: UCS-4 big-endian.
    return text.encode("utf-32-be", "surrogatepass")


def _encode_ansi_value(vtype: int, value) -> bytes:
    """X509_NAME / X509_NAME_VALUE: 8-bit types copied, wide types from UTF-16LE."""
    if vtype == CERT_RDN_ENCODED_BLOB:
        return _b(value)
    cls = _STRING_CLASSES.get(vtype)
    if cls is None:
        raise D.fail(CRYPT_E_ASN1_CHOICE, f"value type {vtype}")
    if vtype in _WIDE_TYPES:
        return D.string(cls, _wide_to_contents(vtype, _wide_text(value)))
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    return D.string(cls, _b(value))


def _choose_type(oid: str | None, text: str, flags: int) -> int:
    if all(c in _PRINTABLE for c in text):
        return CERT_RDN_PRINTABLE_STRING
    if oid in _IA5_OIDS and all(ord(c) < 0x80 for c in text):
        return CERT_RDN_IA5_STRING
    if flags & CERT_RDN_ENABLE_T61_UNICODE_FLAG and all(ord(c) < 0x100 for c in text):
        return CERT_RDN_TELETEX_STRING
    if flags & CERT_RDN_ENABLE_UTF8_UNICODE_FLAG:
        return CERT_RDN_UTF8_STRING
    return CERT_RDN_BMP_STRING


def _encode_unicode_value(vtype_full: int, value, oid: str | None, flags: int,
                          err_base: int) -> bytes:
    """X509_UNICODE_NAME / X509_UNICODE_NAME_VALUE: the value is a UTF-16 string."""
    vtype = vtype_full & 0xFF
    flags |= vtype_full & 0xFF000000
    if vtype in (CERT_RDN_ENCODED_BLOB, CERT_RDN_OCTET_STRING):
        raise _positional_error(CRYPT_E_NOT_CHAR_STRING, err_base)
    text = _wide_text(value)
    if vtype == CERT_RDN_ANY_TYPE:
        vtype = _choose_type(oid, text, flags)
    elif (flags & CERT_RDN_FORCE_UTF8_UNICODE_FLAG and vtype in (
            CERT_RDN_PRINTABLE_STRING, CERT_RDN_TELETEX_STRING, CERT_RDN_BMP_STRING)):
        vtype = CERT_RDN_UTF8_STRING
    cls = _STRING_CLASSES.get(vtype)
    if cls is None:
        raise _positional_error(CRYPT_E_ASN1_CHOICE, err_base)
    check = {CERT_RDN_NUMERIC_STRING: (_NUMERIC.__contains__, CRYPT_E_INVALID_NUMERIC_STRING),
             CERT_RDN_PRINTABLE_STRING: (_PRINTABLE.__contains__,
                                         CRYPT_E_INVALID_PRINTABLE_STRING),
             CERT_RDN_IA5_STRING: (lambda c: ord(c) < 0x80, CRYPT_E_INVALID_IA5_STRING)}
    if vtype in check:
        ok, code = check[vtype]
        for i, c in enumerate(text):
            if not ok(c):
                raise _positional_error(code, err_base | i)
    if vtype in _WIDE_TYPES:
        return D.string(cls, _wide_to_contents(vtype, text))
    # The 8-bit types keep each character's low byte (Wine unicodeWeirdness: Windows).
    return D.string(cls, bytes(ord(c) & 0xFF for c in text))


def _attr_der(oid_s, vtype, value, unicode: bool, flags: int, err_base: int) -> bytes:
    if unicode:
        vt = vtype & 0xFF
        if vt == CERT_RDN_ENCODED_BLOB:
            val = _b(value)
        else:
            val = _encode_unicode_value(vtype, value, oid_s, flags, err_base)
    else:
        if vtype & 0xFF == CERT_RDN_ANY_TYPE:
            # Wine test_encodeName: CERT_RDN_ANY_TYPE is too vague for X509_NAME.
            raise D.fail(E_INVALIDARG, "CERT_RDN_ANY_TYPE in X509_NAME")
        val = _encode_ansi_value(vtype & 0xFF, value)
    return D.seq(D.oid(oid_s), val)


def _encode_name(info, flags, unicode: bool) -> bytes:
    _need(info)
    rdns = []
    for i, rdn in enumerate(info.rgRDN):
        attrs = [_attr_der(a.pszObjId, a.dwValueType, a.Value, unicode, flags,
                           (i << _RDN_ERR_SHIFT) | (j << _ATTR_ERR_SHIFT))
                 for j, a in enumerate(rdn.rgRDNAttr)]
        rdns.append(D.set_of(attrs))
    return D.seq(*rdns)


def _enc_name(v, flags):
    return _encode_name(v, flags, unicode=False)


def _enc_unicode_name(v, flags):
    return _encode_name(v, flags, unicode=True)


def _decode_value(t: D.TLV, unicode: bool) -> tuple[int, bytes]:
    vtype = _TAG_TO_TYPE.get(t.tag) if t.cls == 0 else None
    if vtype is None:
        raise D.fail(CRYPT_E_ASN1_BADTAG, f"not a string type: {t.cls}/{t.tag}")
    c = bytes(t.contents)
    if vtype == CERT_RDN_OCTET_STRING:
        return vtype, c
    try:
        if vtype == CERT_RDN_BMP_STRING:
            text = c.decode("utf-16-be", "surrogatepass")
        elif vtype == CERT_RDN_UTF8_STRING:
            text = c.decode("utf-8")
        elif vtype == CERT_RDN_UNIVERSAL_STRING:
            text = c.decode("utf-32-be")
        elif unicode:
            text = c.decode("latin-1")
        else:
            return vtype, c
    except UnicodeDecodeError:
        raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad string encoding") from None
    return vtype, text.encode("utf-16-le", "surrogatepass")


def _decode_name(data, unicode: bool) -> CERT_NAME_INFO:
    rdns = []
    # The loops spelled out (not D.each): names are decoded for every certificate.
    for rdn_t in D.seq_reader(data).all():
        if not rdn_t.is_(D.SET):
            raise D.fail(CRYPT_E_ASN1_BADTAG, "RDN is not a SET")
        attrs = []
        for atv in D.Reader(rdn_t.contents).all():
            if not atv.is_(D.SEQUENCE):
                raise D.fail(CRYPT_E_ASN1_BADTAG, "attribute is not a SEQUENCE")
            r = D.Reader(atv.contents)
            oid_s = D.decode_oid(r.next())
            vtype, value = _decode_value(r.next(), unicode)
            r.done()
            attrs.append(CERT_RDN_ATTR(oid_s, vtype, value))
        rdns.append(CERT_RDN(attrs))
    return CERT_NAME_INFO(rdns)


def _dec_name(data, flags):
    return _decode_name(data, unicode=False)


def _dec_unicode_name(data, flags):
    return _decode_name(data, unicode=True)


def _enc_name_value(v, flags):
    _need(v)
    return _encode_ansi_value(v.dwValueType & 0xFF, v.Value)


def _enc_unicode_name_value(v, flags):
    _need(v)
    if v.dwValueType & 0xFF == CERT_RDN_ANY_TYPE:
        # Wine test_encodeUnicodeNameValue: a name value must name its string type.
        raise _positional_error(CRYPT_E_NOT_CHAR_STRING, 0)
    return _encode_unicode_value(v.dwValueType, v.Value, None, flags, 0)


def _dec_name_value(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return CERT_NAME_VALUE(*_decode_value(t, unicode=False))


def _dec_unicode_name_value(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return CERT_NAME_VALUE(*_decode_value(t, unicode=True))


# ---------------------------------------------------------------------------------------
# Alternative names
# ---------------------------------------------------------------------------------------


def _ia5(text: str | None, err_base: int) -> bytes:
    text = text or ""
    for i, c in enumerate(text):
        if ord(c) >= 0x80:
            raise _positional_error(CRYPT_E_INVALID_IA5_STRING, err_base | i)
    return text.encode("ascii")


def _encode_alt_entry(e, index: int) -> bytes:
    choice = e.dwAltNameChoice
    base = index << _ALT_ENTRY_ERR_SHIFT
    if choice == CERT_ALT_NAME_RFC822_NAME:
        return D.implicit(1, _ia5(e.pwszRfc822Name, base))
    if choice == CERT_ALT_NAME_DNS_NAME:
        return D.implicit(2, _ia5(e.pwszDNSName, base))
    if choice == CERT_ALT_NAME_URL:
        return D.implicit(6, _ia5(e.pwszURL, base))
    if choice == CERT_ALT_NAME_IP_ADDRESS:
        return D.implicit(7, _b(e.IPAddress))
    if choice == CERT_ALT_NAME_REGISTERED_ID:
        return D.implicit(8, core.ObjectIdentifier(e.pszRegisteredID).contents)
    if choice == CERT_ALT_NAME_DIRECTORY_NAME:
        return D.explicit(4, _b(e.DirectoryName))
    if choice == CERT_ALT_NAME_OTHER_NAME:
        other = _need(e.pOtherName)
        return D.explicit(0, D.oid(other.pszObjId) + D.explicit(0, _b(other.Value)))
    # Wine test_encodeAltName: an entry without a (supported) choice is E_INVALIDARG.
    raise D.fail(E_INVALIDARG, f"alt name choice {choice}")


def _alt_entries(info) -> bytes:
    return b"".join(_encode_alt_entry(e, i) for i, e in enumerate(_need(info).rgAltEntry))


def _enc_alt_name(v, flags):
    return D.seq(_alt_entries(v))


def _decode_alt_entry(t: D.TLV) -> CERT_ALT_NAME_ENTRY:
    if t.cls != 2:
        raise D.fail(CRYPT_E_ASN1_BADTAG, "GeneralName is context-tagged")
    if t.tag > 8:
        raise D.fail(CRYPT_E_ASN1_CORRUPT, f"GeneralName [{t.tag}]")
    c = bytes(t.contents)
    if t.tag in (1, 2, 6) and not t.constructed:
        try:
            text = c.decode("ascii")
        except UnicodeDecodeError:
            text = c.decode("latin-1")
        choice = {1: CERT_ALT_NAME_RFC822_NAME, 2: CERT_ALT_NAME_DNS_NAME,
                  6: CERT_ALT_NAME_URL}[t.tag]
        return CERT_ALT_NAME_ENTRY(choice, text)
    if t.tag == 7 and not t.constructed:
        return CERT_ALT_NAME_ENTRY(CERT_ALT_NAME_IP_ADDRESS, c)
    if t.tag == 8 and not t.constructed:
        try:
            dotted = core.ObjectIdentifier(contents=c).dotted
        except (ValueError, TypeError):
            raise D.fail(CRYPT_E_ASN1_CORRUPT, "bad registered ID") from None
        return CERT_ALT_NAME_ENTRY(CERT_ALT_NAME_REGISTERED_ID, dotted)
    if t.tag == 4 and t.constructed:
        r = D.Reader(c)
        name = r.take(D.SEQUENCE)
        r.done()
        return CERT_ALT_NAME_ENTRY(CERT_ALT_NAME_DIRECTORY_NAME, bytes(name.raw))
    if t.tag == 0 and t.constructed:
        r = D.Reader(c)
        oid_s = D.decode_oid(r.next())
        val = r.take(0, cls=2)
        r.done()
        inner = D.Reader(val.contents)
        v = inner.next()
        inner.done()
        return CERT_ALT_NAME_ENTRY(CERT_ALT_NAME_OTHER_NAME, CERT_OTHER_NAME(oid_s, bytes(v.raw)))
    # x400Address, ediPartyName and wrongly constructed forms (Wine test_decodeAltName).
    raise D.fail(CRYPT_E_ASN1_BADTAG, f"GeneralName [{t.tag}] not supported")


def _decode_alt_entries(contents: bytes) -> CERT_ALT_NAME_INFO:
    return CERT_ALT_NAME_INFO([_decode_alt_entry(t) for t in D.Reader(contents).all()])


def _dec_alt_name(data, flags):
    return _decode_alt_entries(D.expect(data, D.SEQUENCE).contents)


# ---------------------------------------------------------------------------------------
# Extensions and the small extension structures
# ---------------------------------------------------------------------------------------


def _enc_basic_constraints2(v, flags):
    _need(v)
    parts = []
    if v.fCA:
        parts.append(D.boolean(True))
    if v.fPathLenConstraint:
        parts.append(D.integer(int(v.dwPathLenConstraint) & 0xFFFFFFFF))
    return D.seq(*parts)


def _small_uint(t: D.TLV) -> int:
    c = D.decode_int_contents(t)
    v = int.from_bytes(c, "big", signed=True)
    if v < 0 or v > 0xFFFFFFFF:
        raise D.fail(CRYPT_E_ASN1_LARGE, "value does not fit a DWORD")
    return v


def _dec_basic_constraints2(data, flags):
    r = D.seq_reader(data)
    out = CERT_BASIC_CONSTRAINTS2_INFO()
    t = r.optional(D.BOOLEAN)
    if t is not None:
        out.fCA = D.decode_bool(t)
    t = r.optional(D.INTEGER)
    if t is not None:
        out.fPathLenConstraint = True
        out.dwPathLenConstraint = _small_uint(t)
    r.done()
    return out


def _enc_basic_constraints(v, flags):
    _need(v)
    parts = [D.bits(*_bit_parts(v.SubjectType or CRYPT_BIT_BLOB()))]
    if v.fPathLenConstraint:
        parts.append(D.integer(int(v.dwPathLenConstraint) & 0xFFFFFFFF))
    if v.rgSubtreesConstraint:
        parts.append(D.seq(*(_b(n) for n in v.rgSubtreesConstraint)))
    return D.seq(*parts)


def _dec_basic_constraints(data, flags):
    r = D.seq_reader(data)
    out = CERT_BASIC_CONSTRAINTS_INFO()
    d, unused = D.decode_bits(r.take(D.BITSTRING))
    out.SubjectType = CRYPT_BIT_BLOB(d, unused)
    t = r.optional(D.INTEGER)
    if t is not None:
        out.fPathLenConstraint = True
        out.dwPathLenConstraint = _small_uint(t)
    t = r.optional(D.SEQUENCE)
    if t is not None:
        out.rgSubtreesConstraint = [bytes(n.raw) for n in D.Reader(t.contents).all()]
    r.done()
    return out


def _enc_eku(v, flags):
    return D.seq(*(D.oid(o) for o in _need(v).rgpszUsageIdentifier))


def _dec_eku(data, flags):
    return CERT_ENHKEY_USAGE([D.decode_oid(t) for t in D.seq_reader(data).all()])


def _serial_contents(le: bytes) -> bytes:
    return core.Integer.load(D.integer_blob(le)).contents


def _key_id_codec(cls, key_id: str, issuer: str, serial: str, enc_issuer, dec_issuer):
    """Encoder and decoder of an AuthorityKeyIdentifier: a SEQUENCE of optional [0] key
    identifier, [1] issuer and [2] serial number (a little-endian blob in the structure).
    ``cls`` names the three fields; the two forms differ only in how [1] holds the issuer
    (``enc_issuer`` returns None to leave it out)."""

    def enc(v, flags):
        _need(v)
        parts = []
        if getattr(v, key_id):
            parts.append(D.implicit(0, _b(getattr(v, key_id))))
        issuer_der = enc_issuer(getattr(v, issuer))
        if issuer_der is not None:
            parts.append(D.explicit(1, issuer_der))
        if getattr(v, serial):
            parts.append(D.implicit(2, _serial_contents(_b(getattr(v, serial)))))
        return D.seq(*parts)

    def dec(data, flags):
        r = D.seq_reader(data)
        out = cls()
        t = r.optional(0, cls=2)
        if t is not None:
            setattr(out, key_id, bytes(t.contents))
        t = r.optional(1, cls=2)
        if t is not None:
            setattr(out, issuer, dec_issuer(t.contents))
        t = r.optional(2, cls=2)
        if t is not None:
            setattr(out, serial, bytes(t.contents)[::-1])
        r.done()
        return out

    return enc, dec


def _dec_wrapped_name(contents: bytes) -> bytes:
    inner = D.Reader(contents)
    name = bytes(inner.take(D.SEQUENCE).raw)
    inner.done()
    return name


# X509_AUTHORITY_KEY_ID: [1] holds the issuer's Name; X509_AUTHORITY_KEY_ID2: GeneralNames.
_enc_aki, _dec_aki = _key_id_codec(
    CERT_AUTHORITY_KEY_ID_INFO, "KeyId", "CertIssuer", "CertSerialNumber",
    lambda name: _b(name) if name else None, _dec_wrapped_name)
_enc_aki2, _dec_aki2 = _key_id_codec(
    CERT_AUTHORITY_KEY_ID2_INFO, "KeyId", "AuthorityCertIssuer", "AuthorityCertSerialNumber",
    lambda alt: _alt_entries(alt) if alt is not None and alt.rgAltEntry else None,
    _decode_alt_entries)


def _enc_policies(v, flags):
    policies = []
    for p in _need(v).rgPolicyInfo:
        if not p.pszPolicyIdentifier:
            raise D.fail(E_INVALIDARG, "policy without an identifier")
        parts = [D.oid(p.pszPolicyIdentifier)]
        if p.rgPolicyQualifier:
            quals = []
            for q in p.rgPolicyQualifier:
                if not q.pszPolicyQualifierId:
                    raise D.fail(E_INVALIDARG, "qualifier without an identifier")
                quals.append(D.seq(D.oid(q.pszPolicyQualifierId), _b(q.Qualifier)))
            parts.append(D.seq(*quals))
        policies.append(D.seq(*parts))
    return D.seq(*policies)


def _dec_policies(data, flags):
    out = CERT_POLICIES_INFO()
    for r in D.each(D.seq_reader(data).data, D.SEQUENCE, "policy"):
        info = CERT_POLICY_INFO(D.decode_oid(r.next()))
        qs = r.optional(D.SEQUENCE)
        if qs is not None:
            for qr in D.each(qs.contents, D.SEQUENCE, "qualifier"):
                qid = D.decode_oid(qr.next())
                qual = bytes(qr.next().raw) if qr.more() else b""
                qr.done()
                info.rgPolicyQualifier.append(CERT_POLICY_QUALIFIER_INFO(qid, qual))
        r.done()
        out.rgPolicyInfo.append(info)
    return out


def _enc_subtrees(subtrees) -> bytes:
    out = []
    for st in subtrees:
        parts = [_encode_alt_entry(st.Base, 0)]
        if st.dwMinimum:
            parts.append(D.implicit(0, D.int_contents(int(st.dwMinimum))))
        if st.fMaximum:
            parts.append(D.implicit(1, D.int_contents(int(st.dwMaximum))))
        out.append(D.seq(*parts))
    return b"".join(out)


def _enc_name_constraints(v, flags):
    _need(v)
    parts = []
    if v.rgPermittedSubtree:
        parts.append(D.explicit(0, _enc_subtrees(v.rgPermittedSubtree)))
    if v.rgExcludedSubtree:
        parts.append(D.explicit(1, _enc_subtrees(v.rgExcludedSubtree)))
    return D.seq(*parts)


def _dec_subtrees(contents: bytes) -> list[CERT_GENERAL_SUBTREE]:
    out = []
    for r in D.each(contents, D.SEQUENCE, "subtree"):
        st = CERT_GENERAL_SUBTREE(_decode_alt_entry(r.next()))
        m = r.optional(0, cls=2)
        if m is not None:
            st.dwMinimum = int.from_bytes(m.contents, "big") if m.contents else 0
        m = r.optional(1, cls=2)
        if m is not None:
            st.fMaximum = True
            st.dwMaximum = int.from_bytes(m.contents, "big") if m.contents else 0
        r.done()
        out.append(st)
    return out


def _dec_name_constraints(data, flags):
    r = D.seq_reader(data)
    out = CERT_NAME_CONSTRAINTS_INFO()
    t = r.optional(0, cls=2)
    if t is not None:
        out.rgPermittedSubtree = _dec_subtrees(t.contents)
    t = r.optional(1, cls=2)
    if t is not None:
        out.rgExcludedSubtree = _dec_subtrees(t.contents)
    r.done()
    return out


def _encode_extensions(exts) -> bytes:
    out = []
    for e in exts:
        parts = [D.oid(e.pszObjId)]
        if e.fCritical:
            parts.append(D.boolean(True))
        parts.append(D.octets(_b(e.Value)))
        out.append(D.seq(*parts))
    return D.seq(*out)


def _enc_extensions(v, flags):
    return _encode_extensions(_need(v).rgExtension)


def _decode_extensions(t: D.TLV) -> list[CERT_EXTENSION]:
    if not t.is_(D.SEQUENCE):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "extensions are not a SEQUENCE")
    out = []
    for r in D.each(t.contents, D.SEQUENCE, "extension"):
        oid_s = D.decode_oid(r.next())
        crit = r.optional(D.BOOLEAN)
        value = r.take(D.OCTETSTRING)
        r.done()
        out.append(CERT_EXTENSION(oid_s, D.decode_bool(crit) if crit else False,
                                  bytes(value.contents)))
    return out


def _dec_extensions(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return CERT_EXTENSIONS(_decode_extensions(t))


# ---------------------------------------------------------------------------------------
# Keys, signatures, certificates, CRLs
# ---------------------------------------------------------------------------------------


def _alg_der(a, with_null: bool) -> bytes:
    a = _alg(a)
    params = _b(a.Parameters)
    if params:
        return D.seq(D.oid(a.pszObjId), params)
    if with_null:
        return D.seq(D.oid(a.pszObjId), D.null())
    return D.seq(D.oid(a.pszObjId))


def _decode_alg(t: D.TLV) -> CRYPT_ALGORITHM_IDENTIFIER:
    if not t.is_(D.SEQUENCE):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "algorithm identifier is not a SEQUENCE")
    r = D.Reader(t.contents)
    oid_s = D.decode_oid(r.next())
    params = bytes(r.next().raw) if r.more() else b""
    r.done()
    return CRYPT_ALGORITHM_IDENTIFIER(oid_s, params)


def _spki_der(v, with_null: bool) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)   # CERT_INFO from a certificate context keeps the DER
    v = v or CERT_PUBLIC_KEY_INFO()
    key = v.PublicKey or CRYPT_BIT_BLOB()
    return D.seq(_alg_der(v.Algorithm, with_null), D.bits(_b(key.pbData), key.cUnusedBits))


def _decode_spki(t: D.TLV) -> CERT_PUBLIC_KEY_INFO:
    if not t.is_(D.SEQUENCE):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "public key info is not a SEQUENCE")
    r = D.Reader(t.contents)
    alg = _decode_alg(r.next())
    d, unused = D.decode_bits(r.take(D.BITSTRING))
    r.done()
    return CERT_PUBLIC_KEY_INFO(alg, CRYPT_BIT_BLOB(d, unused))


def _enc_public_key_info(v, flags):
    return _spki_der(_need(v), with_null=True)


def _dec_public_key_info(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return _decode_spki(t)


def _rsa_der(modulus_be: bytes, exponent: int) -> bytes:
    return D.seq(D.integer(int.from_bytes(modulus_be, "big")), D.integer(exponent))


def _enc_rsa_csp(v, flags):
    blob = _b(_need(v))
    if len(blob) < 20:
        raise D.fail(E_INVALIDARG, "blob shorter than its headers")
    btype, _ver, _res, _alg_id = struct.unpack_from("<BBHI", blob, 0)
    _magic, bitlen, pubexp = struct.unpack_from("<III", blob, 8)
    # Wine test_encodeRsaPublicKey: only the blob type is checked.
    if btype != PUBLICKEYBLOB:
        raise D.fail(E_INVALIDARG, f"blob type {btype}")
    modulus = blob[20:20 + bitlen // 8]
    return _rsa_der(modulus[::-1], pubexp)


def _decode_rsa(data) -> tuple[bytes, int]:
    r = D.seq_reader(data)
    n = _strip_sign(D.decode_int_contents(r.take(D.INTEGER)))
    e = int.from_bytes(D.decode_int_contents(r.take(D.INTEGER)), "big", signed=True)
    r.done()
    return n, e


def _dec_rsa_csp(data, flags):
    n, e = _decode_rsa(data)
    if not 0 <= e <= 0xFFFFFFFF:
        raise D.fail(CRYPT_E_ASN1_LARGE, "public exponent does not fit a DWORD")
    hdr = struct.pack("<BBHI", PUBLICKEYBLOB, 2, 0, _CALG_RSA_KEYX)
    return hdr + struct.pack("<III", _RSA1, len(n) * 8, e) + n[::-1]


def _enc_cng_rsa(v, flags):
    blob = _b(_need(v))
    if len(blob) < 24:
        raise D.fail(E_INVALIDARG, "blob shorter than BCRYPT_RSAKEY_BLOB")
    _magic, _bits, cb_exp, cb_mod, _p1, _p2 = struct.unpack_from("<6I", blob, 0)
    exp = blob[24:24 + cb_exp]
    mod = blob[24 + cb_exp:24 + cb_exp + cb_mod]
    if len(exp) != cb_exp or len(mod) != cb_mod:
        raise D.fail(E_INVALIDARG, "blob shorter than its lengths")
    return _rsa_der(mod, int.from_bytes(exp, "big"))


def _dec_cng_rsa(data, flags):
    n, e = _decode_rsa(data)
    exp = e.to_bytes(max(1, (e.bit_length() + 7) // 8), "big")
    hdr = struct.pack("<6I", _BCRYPT_RSAPUBLIC_MAGIC, len(n) * 8, len(exp), len(n), 0, 0)
    return hdr + exp + n


def _enc_ecc_signature(v, flags):
    _need(v)
    return D.seq(D.integer_blob(_b(v.r), unsigned=True), D.integer_blob(_b(v.s), unsigned=True))


def _dec_ecc_signature(data, flags):
    r = D.seq_reader(data)
    rv = _strip_sign(D.decode_int_contents(r.take(D.INTEGER)))[::-1]
    sv = _strip_sign(D.decode_int_contents(r.take(D.INTEGER)))[::-1]
    r.done()
    return CERT_ECC_SIGNATURE(rv, sv)


def _enc_signed_content(v, flags):
    _need(v)
    sig = v.Signature or CRYPT_BIT_BLOB()
    data = _b(sig.pbData)
    if not flags & CRYPT_ENCODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG:
        data = data[::-1]   # CERT_SIGNED_CONTENT_INFO keeps the signature little-endian
    return D.seq(_b(v.ToBeSigned), _alg_der(v.SignatureAlgorithm, with_null=False),
                 D.bits(data, sig.cUnusedBits))


def _decode_signed_content(data, flags) -> CERT_SIGNED_CONTENT_INFO:
    r = D.seq_reader(data)
    tbs = r.next()
    if not tbs.is_(D.SEQUENCE):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "to-be-signed part is not a SEQUENCE")
    alg = _decode_alg(r.next())
    sig, unused = D.decode_bits(r.take(D.BITSTRING))
    r.done()
    if not flags & CRYPT_DECODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG:
        sig = sig[::-1]
    return CERT_SIGNED_CONTENT_INFO(bytes(tbs.raw), alg, CRYPT_BIT_BLOB(sig, unused))


def _dec_signed_content(data, flags):
    return _decode_signed_content(data, flags)


def _validity(nb, na) -> bytes:
    return D.seq(_time_der(_ticks(nb), False), _time_der(_ticks(na), False))


def _enc_cert_info(v, flags):
    _need(v)
    parts = []
    if v.dwVersion:
        parts.append(D.explicit(0, D.integer(int(v.dwVersion))))
    parts.append(D.integer_blob(_b(v.SerialNumber)))
    parts.append(_alg_der(v.SignatureAlgorithm, with_null=False))
    parts.append(_b(v.Issuer))
    parts.append(_validity(v.NotBefore, v.NotAfter))
    parts.append(_b(v.Subject))
    parts.append(_spki_der(v.SubjectPublicKeyInfo, with_null=False))
    for n, uid in ((1, getattr(v, "IssuerUniqueId", None)),
                   (2, getattr(v, "SubjectUniqueId", None))):
        if uid is not None and _b(uid):
            unused = getattr(uid, "cUnusedBits", 0)
            parts.append(D.implicit(n, bytes([unused]) + _b(uid)))
    if v.rgExtension:
        parts.append(D.explicit(3, _encode_extensions(v.rgExtension)))
    return D.seq(*parts)


def _decode_cert_info(data) -> CERT_INFO:
    r = D.seq_reader(data)
    version = 0
    t = r.optional(0, cls=2)
    if t is not None:
        vr = D.Reader(t.contents)
        version = _small_uint(vr.take(D.INTEGER))
        vr.done()
    serial = D.decode_int_contents(r.take(D.INTEGER))[::-1]
    sig_alg = _decode_alg(r.next())
    issuer = r.take(D.SEQUENCE)
    validity = D.Reader(r.take(D.SEQUENCE).contents)
    not_before = _decode_time_tlv(validity.next())
    not_after = _decode_time_tlv(validity.next())
    validity.done()
    subject = r.take(D.SEQUENCE)
    spki = _decode_spki(r.next())
    uids = {}
    for n in (1, 2):
        u = r.optional(n, cls=2)
        if u is not None:
            c = bytes(u.contents)
            if not c:
                raise D.fail(CRYPT_E_ASN1_CORRUPT, "empty unique id")
            uids[n] = CRYPT_BIT_BLOB(c[1:], c[0])
    exts = []
    t = r.optional(3, cls=2)
    if t is not None:
        er = D.Reader(t.contents)
        exts = _decode_extensions(er.next())
        er.done()
    r.done()
    return CERT_INFO(
        dwVersion=version, SerialNumber=serial, SignatureAlgorithm=sig_alg,
        Issuer=bytes(issuer.raw), NotBefore=not_before, NotAfter=not_after,
        Subject=bytes(subject.raw), SubjectPublicKeyInfo=spki,
        IssuerUniqueId=uids.get(1), SubjectUniqueId=uids.get(2), rgExtension=exts,
    )


def _to_be_signed(data, flags, decode_inner):
    """Windows decodes a signed wrapper's inner part unless told the input is bare."""
    if not flags & CRYPT_DECODE_TO_BE_SIGNED_FLAG:
        try:
            signed = _decode_signed_content(data, flags)
        except WinError:
            signed = None
        if signed is not None:
            try:
                return decode_inner(signed.ToBeSigned)
            except WinError:
                pass
    return decode_inner(data)


def _dec_cert_info(data, flags):
    return _to_be_signed(data, flags, _decode_cert_info)


def decode_cert_info(cert_der: bytes) -> CERT_INFO:
    """CERT_INFO of a whole certificate (CertContext.pCertInfo)."""
    return _to_be_signed(bytes(cert_der), 0, _decode_cert_info)


def _enc_crl_info(v, flags):
    _need(v)
    parts = []
    if v.dwVersion:
        parts.append(D.integer(int(v.dwVersion)))
    parts.append(_alg_der(v.SignatureAlgorithm, with_null=False))
    parts.append(_b(v.Issuer))
    parts.append(_time_der(_ticks(v.ThisUpdate), False))
    if _ticks(v.NextUpdate):
        parts.append(_time_der(_ticks(v.NextUpdate), False))
    if v.rgCRLEntry:
        entries = []
        for e in v.rgCRLEntry:
            ep = [D.integer_blob(_b(e.SerialNumber)), _time_der(_ticks(e.RevocationDate), False)]
            if e.rgExtension:
                ep.append(_encode_extensions(e.rgExtension))
            entries.append(D.seq(*ep))
        parts.append(D.seq(*entries))
    if v.rgExtension:
        parts.append(D.explicit(0, _encode_extensions(v.rgExtension)))
    return D.seq(*parts)


def _decode_crl_info(data) -> CRL_INFO:
    r = D.seq_reader(data)
    out = CRL_INFO()
    t = r.optional(D.INTEGER)
    if t is not None:
        out.dwVersion = _small_uint(t)
    out.SignatureAlgorithm = _decode_alg(r.next())
    out.Issuer = bytes(r.take(D.SEQUENCE).raw)
    out.ThisUpdate = _decode_time_tlv(r.next())
    peek = r.peek()
    if peek in ((0, D.UTCTIME), (0, D.GENERALIZEDTIME)):
        out.NextUpdate = _decode_time_tlv(r.next())
    t = r.optional(D.SEQUENCE)
    if t is not None:
        for er in D.each(t.contents, D.SEQUENCE, "CRL entry"):
            serial = D.decode_int_contents(er.take(D.INTEGER))[::-1]
            when = _decode_time_tlv(er.next())
            exts = _decode_extensions(er.next()) if er.more() else []
            er.done()
            out.rgCRLEntry.append(CRL_ENTRY(serial, when, exts))
    t = r.optional(0, cls=2)
    if t is not None:
        xr = D.Reader(t.contents)
        out.rgExtension = _decode_extensions(xr.next())
        xr.done()
    r.done()
    return out


def _dec_crl_info(data, flags):
    return _to_be_signed(data, flags, _decode_crl_info)


# ---------------------------------------------------------------------------------------
# PKCS #7 / CMS pieces
# ---------------------------------------------------------------------------------------


def _enc_content_info(v, flags):
    _need(v)
    if not v.pszObjId:
        raise D.fail(E_INVALIDARG, "content info without a content type")
    parts = [D.oid(v.pszObjId)]
    if v.Content:
        parts.append(D.explicit(0, _b(v.Content)))
    return D.seq(*parts)


def _dec_content_info(data, flags):
    r = D.seq_reader(data)
    out = CRYPT_CONTENT_INFO(D.decode_oid(r.next()))
    t = r.optional(0, cls=2)
    if t is not None:
        inner, _ = D.read(t.contents)
        out.Content = bytes(inner.raw)
    return out


def _attribute_der(a) -> bytes:
    if not a.pszObjId:
        raise D.fail(E_INVALIDARG, "attribute without an OID")
    return D.seq(D.oid(a.pszObjId), D.set_of([_b(x) for x in a.rgValue]))


def _enc_attribute(v, flags):
    return _attribute_der(_need(v))


def _decode_attribute(t: D.TLV) -> CRYPT_ATTRIBUTE:
    if not t.is_(D.SEQUENCE):
        raise D.fail(CRYPT_E_ASN1_BADTAG, "attribute is not a SEQUENCE")
    r = D.Reader(t.contents)
    oid_s = D.decode_oid(r.next())
    values = r.take(D.SET)
    r.done()
    return CRYPT_ATTRIBUTE(oid_s, [bytes(x.raw) for x in D.Reader(values.contents).all()])


def _dec_attribute(data, flags):
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    t, _ = D.read(data)
    return _decode_attribute(t)


def _attributes_contents(attrs) -> list[bytes]:
    return [_attribute_der(a) for a in attrs.rgAttr]


def _enc_attributes(v, flags):
    return D.set_of(_attributes_contents(_need(v)))


def _decode_attributes_contents(contents: bytes) -> CRYPT_ATTRIBUTES:
    return CRYPT_ATTRIBUTES([_decode_attribute(t) for t in D.Reader(contents).all()])


def _dec_attributes(data, flags):
    return _decode_attributes_contents(D.expect(data, D.SET).contents)


def _signer_tail(v, parts: list[bytes]) -> bytes:
    parts.append(_alg_der(v.HashAlgorithm, with_null=True))
    if v.AuthAttrs is not None and v.AuthAttrs.rgAttr:
        parts.append(core.SetOf(contents=b"".join(sorted(_attributes_contents(v.AuthAttrs))),
                                implicit=0).dump())
    parts.append(_alg_der(v.HashEncryptionAlgorithm, with_null=True))
    parts.append(D.octets(_b(v.EncryptedHash)))
    if v.UnauthAttrs is not None and v.UnauthAttrs.rgAttr:
        parts.append(core.SetOf(contents=b"".join(sorted(_attributes_contents(v.UnauthAttrs))),
                                implicit=1).dump())
    return D.seq(*parts)


def _check_pkcs7(encoding: int) -> None:
    # Wine test_encodePKCSSignerInfo: a signer needs PKCS_7_ASN_ENCODING.
    if not encoding & PKCS_7_ASN_ENCODING:
        raise D.fail(E_INVALIDARG, "signer info needs PKCS_7_ASN_ENCODING")


def _issuer_serial(issuer, serial) -> bytes:
    if not _b(issuer):
        raise D.fail(E_INVALIDARG, "signer without an issuer")
    return D.seq(_b(issuer), D.integer_blob(_b(serial)))


def _enc_pkcs7_signer(v, flags):
    _need(v)
    return _signer_tail(v, [D.integer(int(v.dwVersion)), _issuer_serial(v.Issuer, v.SerialNumber)])


def _enc_cms_signer(v, flags):
    _need(v)
    sid = v.SignerId
    if sid is None:
        raise D.fail(E_INVALIDARG, "no signer id")
    if sid.dwIdChoice == CERT_ID_ISSUER_SERIAL_NUMBER:
        isn = sid.IssuerSerialNumber or CERT_ISSUER_SERIAL_NUMBER()
        ident = _issuer_serial(isn.Issuer, isn.SerialNumber)
    elif sid.dwIdChoice == CERT_ID_KEY_IDENTIFIER:
        ident = D.implicit(0, _b(sid.KeyId))
    else:
        # Wine test_encodeCMSSignerInfo: CMS allows issuer+serial or key id only.
        raise D.fail(E_INVALIDARG, f"signer id choice {sid.dwIdChoice}")
    return _signer_tail(v, [D.integer(int(v.dwVersion)), ident])


def _decode_signer(data, cms: bool):
    r = D.seq_reader(data)
    version = _small_uint(r.take(D.INTEGER))
    ident = r.next()
    if ident.is_(D.SEQUENCE):
        ir = D.Reader(ident.contents)
        issuer = bytes(ir.take(D.SEQUENCE).raw)
        serial = D.decode_int_contents(ir.take(D.INTEGER))[::-1]
        ir.done()
        sid = CERT_ID(CERT_ID_ISSUER_SERIAL_NUMBER, CERT_ISSUER_SERIAL_NUMBER(issuer, serial))
    elif cms and ident.is_(0, cls=2):
        sid = CERT_ID(CERT_ID_KEY_IDENTIFIER, bytes(ident.contents))
    else:
        raise D.fail(CRYPT_E_ASN1_BADTAG, "bad signer identifier")
    hash_alg = _decode_alg(r.next())
    auth = CRYPT_ATTRIBUTES()
    t = r.optional(0, cls=2)
    if t is not None:
        auth = _decode_attributes_contents(t.contents)
    enc_alg = _decode_alg(r.next())
    enc_hash = bytes(r.take(D.OCTETSTRING).contents)
    unauth = CRYPT_ATTRIBUTES()
    t = r.optional(1, cls=2)
    if t is not None:
        unauth = _decode_attributes_contents(t.contents)
    r.done()
    if cms:
        return CMSG_CMS_SIGNER_INFO(version, sid, hash_alg, enc_alg, enc_hash, auth, unauth)
    isn = sid.IssuerSerialNumber
    return CMSG_SIGNER_INFO(version, isn.Issuer, isn.SerialNumber, hash_alg, enc_alg,
                            enc_hash, auth, unauth)


def _dec_pkcs7_signer(data, flags):
    return _decode_signer(data, cms=False)


def _dec_cms_signer(data, flags):
    return _decode_signer(data, cms=True)


def _enc_sequence_of_any(v, flags):
    return D.seq(*(_b(x) for x in _need(v).rgValue))


def _dec_sequence_of_any(data, flags):
    return CRYPT_SEQUENCE_OF_ANY([bytes(t.raw) for t in D.seq_reader(data).all()])


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

_CODECS: dict[int, tuple] = {
    X509_CERT: (_enc_signed_content, _dec_signed_content),
    X509_CERT_TO_BE_SIGNED: (_enc_cert_info, _dec_cert_info),
    X509_CERT_CRL_TO_BE_SIGNED: (_enc_crl_info, _dec_crl_info),
    X509_EXTENSIONS: (_enc_extensions, _dec_extensions),
    X509_NAME_VALUE: (_enc_name_value, _dec_name_value),
    X509_NAME: (_enc_name, _dec_name),
    X509_PUBLIC_KEY_INFO: (_enc_public_key_info, _dec_public_key_info),
    X509_AUTHORITY_KEY_ID: (_enc_aki, _dec_aki),
    X509_ALTERNATE_NAME: (_enc_alt_name, _dec_alt_name),
    X509_BASIC_CONSTRAINTS: (_enc_basic_constraints, _dec_basic_constraints),
    X509_KEY_USAGE: (_enc_bits_no_trailing_zeroes, _dec_bits),
    X509_BASIC_CONSTRAINTS2: (_enc_basic_constraints2, _dec_basic_constraints2),
    X509_CERT_POLICIES: (_enc_policies, _dec_policies),
    PKCS_UTC_TIME: (_enc_utc_time, _dec_utc_time),
    RSA_CSP_PUBLICKEYBLOB: (_enc_rsa_csp, _dec_rsa_csp),
    X509_UNICODE_NAME: (_enc_unicode_name, _dec_unicode_name),
    PKCS_ATTRIBUTE: (_enc_attribute, _dec_attribute),
    X509_UNICODE_NAME_VALUE: (_enc_unicode_name_value, _dec_unicode_name_value),
    X509_OCTET_STRING: (_enc_octets, _dec_octets),
    X509_BITS: (_enc_bits, _dec_bits),
    X509_INTEGER: (_enc_int, _dec_int),
    X509_MULTI_BYTE_INTEGER: (_enc_multi_int, _dec_multi_int),
    X509_ENUMERATED: (_enc_enum, _dec_enum),
    X509_CHOICE_OF_TIME: (_enc_choice_of_time, _dec_choice_of_time),
    X509_AUTHORITY_KEY_ID2: (_enc_aki2, _dec_aki2),
    PKCS_CONTENT_INFO: (_enc_content_info, _dec_content_info),
    X509_SEQUENCE_OF_ANY: (_enc_sequence_of_any, _dec_sequence_of_any),
    X509_ENHANCED_KEY_USAGE: (_enc_eku, _dec_eku),
    X509_MULTI_BYTE_UINT: (_enc_multi_uint, _dec_multi_uint),
    X509_ECC_SIGNATURE: (_enc_ecc_signature, _dec_ecc_signature),
    PKCS_ATTRIBUTES: (_enc_attributes, _dec_attributes),
    X509_BITS_WITHOUT_TRAILING_ZEROES: (_enc_bits_no_trailing_zeroes, _dec_bits),
    X509_NAME_CONSTRAINTS: (_enc_name_constraints, _dec_name_constraints),
    CNG_RSA_PUBLIC_KEY_BLOB: (_enc_cng_rsa, _dec_cng_rsa),
    PKCS7_SIGNER_INFO: (_enc_pkcs7_signer, _dec_pkcs7_signer),
    CMS_SIGNER_INFO: (_enc_cms_signer, _dec_cms_signer),
}

# OIDs crypt32 accepts as lpszStructType (wincrypt.h: "Predefined X509 certificate
# extension data structures that can be encoded / decoded").
_OID_TYPES: dict[str, int] = {
    "1.3.6.1.4.1.311.2.1.14": X509_EXTENSIONS,        # szOID_CERT_EXTENSIONS
    "1.2.840.113549.1.9.14": X509_EXTENSIONS,         # szOID_RSA_certExtensions
    "1.2.840.113549.1.9.5": PKCS_UTC_TIME,            # szOID_RSA_signingTime
    "2.5.29.21": X509_ENUMERATED,                     # szOID_CRL_REASON_CODE
    "2.5.29.1": X509_AUTHORITY_KEY_ID,                # szOID_AUTHORITY_KEY_IDENTIFIER
    "2.5.29.35": X509_AUTHORITY_KEY_ID2,              # szOID_AUTHORITY_KEY_IDENTIFIER2
    "2.5.29.7": X509_ALTERNATE_NAME,                  # szOID_SUBJECT_ALT_NAME
    "2.5.29.8": X509_ALTERNATE_NAME,                  # szOID_ISSUER_ALT_NAME
    "2.5.29.17": X509_ALTERNATE_NAME,                 # szOID_SUBJECT_ALT_NAME2
    "2.5.29.18": X509_ALTERNATE_NAME,                 # szOID_ISSUER_ALT_NAME2
    "1.3.6.1.4.1.311.10.2": X509_ALTERNATE_NAME,      # szOID_NEXT_UPDATE_LOCATION
    "2.5.29.10": X509_BASIC_CONSTRAINTS,              # szOID_BASIC_CONSTRAINTS
    "2.5.29.19": X509_BASIC_CONSTRAINTS2,             # szOID_BASIC_CONSTRAINTS2
    "2.5.29.15": X509_KEY_USAGE,                      # szOID_KEY_USAGE
    "2.5.29.32": X509_CERT_POLICIES,                  # szOID_CERT_POLICIES
    "2.5.29.3": X509_CERT_POLICIES,                   # szOID_CERT_POLICIES_95
    "2.5.29.14": X509_OCTET_STRING,                   # szOID_SUBJECT_KEY_IDENTIFIER
    "2.5.29.37": X509_ENHANCED_KEY_USAGE,             # szOID_ENHANCED_KEY_USAGE
    "2.5.29.30": X509_NAME_CONSTRAINTS,               # szOID_NAME_CONSTRAINTS
}


def _resolve(encoding: int, struct_type) -> tuple:
    encoding = int(encoding) & 0xFFFFFFFF
    # Wine test_encodeInt / test_decodeInt: any certificate encoding other than
    # X509_ASN_ENCODING has no encoder (ERROR_FILE_NOT_FOUND).
    if encoding & 0xFFFF != X509_ASN_ENCODING:
        raise D.fail(ERROR_FILE_NOT_FOUND, f"no codec for encoding 0x{encoding:08X}")
    if isinstance(struct_type, str):
        key = _OID_TYPES.get(struct_type)
    else:
        try:
            key = int(struct_type)
        except (TypeError, ValueError):
            key = None
    codec = _CODECS.get(key) if key is not None else None
    if codec is None:
        # Wine test_encodeRsaPublicKey: szOID_RSA_RSA has no encoder.
        raise D.fail(ERROR_FILE_NOT_FOUND, f"no codec for {struct_type!r}")
    return encoding, key, codec


def _unexpected(exc: Exception, code: int) -> WinError:
    return D.fail(code, f"{type(exc).__name__}: {exc}")


@winapi
def CryptEncodeObjectEx(dwCertEncodingType: int, lpszStructType: int | str, pvStructInfo: Any,
                        dwFlags: int = 0, pEncodePara: Any = None) -> bytes:
    """CryptEncodeObjectEx: the DER of ``pvStructInfo`` as Windows encodes it.

    Raises ERROR_FILE_NOT_FOUND (unknown structure type or encoding), E_INVALIDARG,
    CRYPT_E_ASN1_CHOICE, CRYPT_E_NOT_CHAR_STRING, CRYPT_E_BAD_ENCODE and
    CRYPT_E_INVALID_{NUMERIC,PRINTABLE,IA5}_STRING (with the position in ``.pcbEncoded``).
    CRYPT_ENCODE_ALLOC_FLAG and pEncodePara change nothing in Python.
    """
    encoding, key, (enc, _dec) = _resolve(dwCertEncodingType, lpszStructType)
    flags = int(dwFlags) & 0xFFFFFFFF
    if key in (PKCS7_SIGNER_INFO, CMS_SIGNER_INFO):
        _check_pkcs7(encoding)
    if key in (X509_UNICODE_NAME, X509_UNICODE_NAME_VALUE):
        flags = _unicode_flags(flags)
    try:
        return enc(pvStructInfo, flags)
    except WinError:
        raise
    except (AttributeError, TypeError, ValueError, OverflowError) as exc:
        # A structure of the wrong shape: what crypt32 does with garbage memory.
        raise _unexpected(exc, E_INVALIDARG) from None


def _unicode_flags(flags: int) -> int:
    """The CRYPT_UNICODE_NAME_ENCODE_* flags in the CERT_RDN_* bit positions."""
    out = 0
    if flags & CRYPT_UNICODE_NAME_ENCODE_ENABLE_T61_UNICODE_FLAG:
        out |= CERT_RDN_ENABLE_T61_UNICODE_FLAG
    if flags & CRYPT_UNICODE_NAME_ENCODE_ENABLE_UTF8_UNICODE_FLAG:
        out |= CERT_RDN_ENABLE_UTF8_UNICODE_FLAG
    if flags & CRYPT_UNICODE_NAME_ENCODE_FORCE_UTF8_UNICODE_FLAG:
        out |= CERT_RDN_FORCE_UTF8_UNICODE_FLAG
    return out


@winapi
def CryptDecodeObjectEx(dwCertEncodingType: int, lpszStructType: int | str, pbEncoded: bytes,
                        dwFlags: int = 0, pDecodePara: Any = None) -> Any:
    """CryptDecodeObjectEx: the structure (or scalar) ``pbEncoded`` holds.

    Raises ERROR_FILE_NOT_FOUND (unknown type or encoding), CRYPT_E_ASN1_EOD,
    CRYPT_E_ASN1_BADTAG, CRYPT_E_ASN1_CORRUPT, CRYPT_E_ASN1_LARGE. CRYPT_DECODE_ALLOC_FLAG,
    CRYPT_DECODE_NOCOPY_FLAG, CRYPT_DECODE_SHARE_OID_STRING_FLAG change nothing in Python;
    CRYPT_DECODE_TO_BE_SIGNED_FLAG and CRYPT_DECODE_NO_SIGNATURE_BYTE_REVERSAL_FLAG act.
    """
    _encoding, _key, (_enc, dec) = _resolve(dwCertEncodingType, lpszStructType)
    data = bytes(pbEncoded or b"")
    if not data:
        raise D.fail(CRYPT_E_ASN1_EOD, "empty input")
    try:
        return dec(data, int(dwFlags) & 0xFFFFFFFF)
    except WinError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, RecursionError,
            struct.error) as exc:
        raise _unexpected(exc, CRYPT_E_ASN1_CORRUPT) from None


def CryptEncodeObject(dwCertEncodingType: int, lpszStructType: int | str,
                      pvStructInfo: Any) -> bytes:
    """CryptEncodeObject: CryptEncodeObjectEx without flags."""
    return CryptEncodeObjectEx(dwCertEncodingType, lpszStructType, pvStructInfo, 0, None)


def CryptDecodeObject(dwCertEncodingType: int, lpszStructType: int | str, pbEncoded: bytes,
                      dwFlags: int = 0) -> Any:
    """CryptDecodeObject: CryptDecodeObjectEx without decode parameters."""
    return CryptDecodeObjectEx(dwCertEncodingType, lpszStructType, pbEncoded, dwFlags, None)


__all__ = [
    "CryptEncodeObjectEx", "CryptDecodeObjectEx", "CryptEncodeObject", "CryptDecodeObject",
    "ticks_from_datetime", "datetime_from_ticks",
]


"""Certificate contexts (CERT_CONTEXT) and their properties.

A :class:`CertContext` holds the encoded certificate and a property list. Parsing is lazy:
a context made from a store row never touches ``cryptography`` until an attribute of the
certificate (``x509``, ``pCertInfo``) is used, so opening and enumerating a store of
20 000 certificates costs only the rows read. Contexts built from caller-supplied bytes
(:func:`CertCreateCertificateContext`) are validated once, through ``cryptography``.

Property values are kept as Windows keeps them: the persisted byte form (what a
serialized element carries) for every property except the handle-bearing ones
(KEY_CONTEXT, KEY_PROV_HANDLE), which never leave the process.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from capi.constants import (
    CERT_ACCESS_STATE_PROP_ID,
    CERT_DESCRIPTION_PROP_ID,
    CERT_ENHKEY_USAGE_PROP_ID,
    CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG,
    CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG,
    CERT_FRIENDLY_NAME_PROP_ID,
    CERT_HCRYPTPROV_OR_NCRYPT_KEY_HANDLE_PROP_ID,
    CERT_KEY_CONTEXT_PROP_ID,
    CERT_KEY_IDENTIFIER_PROP_ID,
    CERT_KEY_PROV_HANDLE_PROP_ID,
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_KEY_SPEC_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_NCRYPT_KEY_HANDLE_PROP_ID,
    CERT_PVK_FILE_PROP_ID,
    CERT_SET_PROPERTY_IGNORE_PERSIST_ERROR_FLAG,
    CERT_SET_PROPERTY_INHIBIT_PERSIST_FLAG,
    CERT_SHA1_HASH_PROP_ID,
    CERT_SHA256_HASH_PROP_ID,
    CERT_SIGNATURE_HASH_PROP_ID,
    X509_ASN_ENCODING,
)
from capi.crypt32.certinfo import CERT_EXTENSION, CERT_INFO
from capi.crypt32.contextbase import LinkedContext
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_ASN1_CORRUPT,
    CRYPT_E_ASN1_EOD,
    CRYPT_E_NOT_FOUND,
    E_INVALIDARG,
    ERROR_INVALID_DATA,
    NTE_BAD_ALGID,
    WinError,
)
from capi.formats.serialized import STRIPPED_IN_STORE, encode_element

# The encoding-type word holds the certificate encoding in its low half and the message
# encoding in its high half (wincrypt.h CERT_ENCODING_TYPE_MASK / CMSG_ENCODING_TYPE_MASK).
CERT_ENCODING_TYPE_MASK = 0x0000FFFF
CMSG_ENCODING_TYPE_MASK = 0xFFFF0000

# Handle-bearing properties live only in memory: Windows never serializes them.
VOLATILE_PROP_IDS = frozenset({
    CERT_KEY_PROV_HANDLE_PROP_ID,
    CERT_KEY_CONTEXT_PROP_ID,
    CERT_NCRYPT_KEY_HANDLE_PROP_ID,
    CERT_HCRYPTPROV_OR_NCRYPT_KEY_HANDLE_PROP_ID,
})
# Hash properties Windows computes on first read and then caches on the context.
HASH_PROP_IDS = (CERT_SHA1_HASH_PROP_ID, CERT_MD5_HASH_PROP_ID, CERT_SIGNATURE_HASH_PROP_ID)
STRING_PROP_IDS = frozenset({CERT_FRIENDLY_NAME_PROP_ID, CERT_DESCRIPTION_PROP_ID,
                             CERT_PVK_FILE_PROP_ID})
DWORD_PROP_IDS = frozenset({CERT_KEY_SPEC_PROP_ID})

# sizeof(CERT_KEY_CONTEXT) on 64-bit Windows: DWORD cbSize, (pad), HCRYPTPROV, DWORD, (pad).
SIZEOF_CERT_KEY_CONTEXT = 24

_DWORD = struct.Struct("<I")


def _sign_hash_for(oid: str):
    """The hash algorithm a signature OID uses (CryptHashToBeSigned's choice)."""
    return _SIGNATURE_HASHES.get(oid)


_SIGNATURE_HASHES = {
    "1.2.840.113549.1.1.4": hashes.MD5,       # md5RSA
    "1.2.840.113549.1.1.5": hashes.SHA1,      # sha1RSA
    "1.2.840.113549.1.1.11": hashes.SHA256,   # sha256RSA
    "1.2.840.113549.1.1.12": hashes.SHA384,   # sha384RSA
    "1.2.840.113549.1.1.13": hashes.SHA512,   # sha512RSA
    "1.2.840.10045.4.1": hashes.SHA1,         # sha1ECDSA
    "1.2.840.10045.4.3.2": hashes.SHA256,     # sha256ECDSA
    "1.2.840.10045.4.3.3": hashes.SHA384,     # sha384ECDSA
    "1.2.840.10045.4.3.4": hashes.SHA512,     # sha512ECDSA
    "1.3.14.3.2.29": hashes.SHA1,             # sha1RSA (OIW)
    "1.2.840.10040.4.3": hashes.SHA1,         # sha1DSA
}


# ---------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------


@dataclass
class CRYPT_KEY_PROV_PARAM:
    dwParam: int
    pbData: bytes = b""
    dwFlags: int = 0

    @property
    def cbData(self) -> int:
        return len(self.pbData)


@dataclass
class CRYPT_KEY_PROV_INFO:
    """CRYPT_KEY_PROV_INFO; ``to_bytes``/``from_bytes`` give the persisted form.

    Persisted layout (docs/windows-facts.md §1; MS-BPAU 2.2.2.1.1): 32-bit offsets from the start
    of the property (0 = NULL); a 7-DWORD header (offContainer, offProvName, dwProvType,
    dwFlags, cProvParam, offParams, dwKeySpec), then one 4-DWORD record per parameter
    (dwParam, offData, cbData, dwFlags), then the data: container name and provider name
    as NUL-terminated UTF-16LE, then each parameter's bytes.
    """

    pwszContainerName: str | None
    pwszProvName: str | None
    dwProvType: int
    dwFlags: int
    dwKeySpec: int
    rgProvParam: tuple[CRYPT_KEY_PROV_PARAM, ...] | list = ()

    @property
    def cProvParam(self) -> int:
        return len(self.rgProvParam)

    _HEADER = struct.Struct("<7I")
    _PARAM = struct.Struct("<4I")

    def to_bytes(self) -> bytes:
        params = list(self.rgProvParam)
        off = self._HEADER.size + self._PARAM.size * len(params)
        data = bytearray()

        def place(chunk: bytes) -> int:
            nonlocal data
            pos = off + len(data)
            data += chunk
            return pos

        off_container = (place(_wstr(self.pwszContainerName))
                         if self.pwszContainerName is not None else 0)
        off_prov = place(_wstr(self.pwszProvName)) if self.pwszProvName is not None else 0
        param_recs = []
        for p in params:
            off_data = place(bytes(p.pbData)) if p.pbData else 0
            param_recs.append(self._PARAM.pack(p.dwParam & 0xFFFFFFFF, off_data, len(p.pbData),
                                               p.dwFlags & 0xFFFFFFFF))
        header = self._HEADER.pack(
            off_container, off_prov, self.dwProvType & 0xFFFFFFFF, self.dwFlags & 0xFFFFFFFF,
            len(params), self._HEADER.size if params else 0, self.dwKeySpec & 0xFFFFFFFF,
        )
        return header + b"".join(param_recs) + bytes(data)

    @classmethod
    def from_bytes(cls, b: bytes) -> CRYPT_KEY_PROV_INFO:
        b = bytes(b)
        if len(b) < cls._HEADER.size:
            raise WinError(ERROR_INVALID_DATA, detail="KEY_PROV_INFO shorter than its header")
        off_c, off_p, prov_type, flags, count, off_params, key_spec = cls._HEADER.unpack_from(b)
        params = []
        for i in range(count):
            pos = off_params + i * cls._PARAM.size
            if pos + cls._PARAM.size > len(b):
                raise WinError(ERROR_INVALID_DATA, detail="KEY_PROV_INFO parameter overruns")
            dw_param, off_d, cb, pflags = cls._PARAM.unpack_from(b, pos)
            if off_d + cb > len(b):
                raise WinError(ERROR_INVALID_DATA, detail="KEY_PROV_INFO data overruns")
            params.append(CRYPT_KEY_PROV_PARAM(dw_param, b[off_d:off_d + cb] if cb else b"",
                                               pflags))
        return cls(_read_wstr(b, off_c), _read_wstr(b, off_p), prov_type, flags, key_spec,
                   tuple(params))


@dataclass
class CERT_KEY_CONTEXT:
    """CERT_KEY_CONTEXT: a live key handle attached to a certificate (never persisted)."""

    hCryptProv: Any
    dwKeySpec: int
    cbSize: int = SIZEOF_CERT_KEY_CONTEXT

    @property
    def hNCryptKey(self):
        return self.hCryptProv


def _wstr(s: str) -> bytes:
    return s.encode("utf-16-le") + b"\x00\x00"


def _read_wstr(b: bytes, off: int) -> str | None:
    if not off:
        return None
    if off >= len(b):
        raise WinError(ERROR_INVALID_DATA, detail="string offset outside the property")
    end = off
    while end + 1 < len(b) and b[end:end + 2] != b"\x00\x00":
        end += 2
    return b[off:end].decode("utf-16-le", errors="replace")


def encode_string_prop(s: str) -> bytes:
    """A string property as Windows stores it: UTF-16LE with its NUL ("WineTest" -> 18 bytes)."""
    return _wstr(s)


def decode_string_prop(b: bytes) -> str:
    text = bytes(b).decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0]


def encode_eku_prop(oids) -> bytes:
    """ENHKEY_USAGE: the DER of an ExtKeyUsageSyntax, as in the EKU extension value."""
    from asn1crypto import x509 as asn1_x509  # imported when used: a tool starts faster

    return asn1_x509.ExtKeyUsageSyntax(list(oids)).dump()


def decode_eku_prop(b: bytes) -> list[str]:
    from asn1crypto import x509 as asn1_x509

    try:
        seq = asn1_x509.ExtKeyUsageSyntax.load(bytes(b))
        return [item.dotted for item in seq]
    except (ValueError, TypeError) as exc:
        raise WinError(CRYPT_E_ASN1_CORRUPT, detail=str(exc)) from exc


# ---------------------------------------------------------------------------------------
# DER failure classification
# ---------------------------------------------------------------------------------------

_UNIVERSAL, _CONTEXT = 0, 2
_CONSTRUCTED = 1
_TAG_INTEGER, _TAG_SEQUENCE = 2, 16


def _children(contents: bytes):
    """Top-level TLVs in ``contents``; raises CRYPT_E_ASN1_EOD on a truncated one."""
    from asn1crypto import parser as asn1_parser

    pos = 0
    while pos < len(contents):
        try:
            info, pos = asn1_parser._parse(contents, len(contents), pos)
        except ValueError as exc:
            raise WinError(CRYPT_E_ASN1_EOD, detail=str(exc)) from exc
        yield info


def classify_certificate_der(data: bytes) -> int:
    """The CRYPT_E_ASN1_* code Windows' X509_CERT decoder reports for bad ``data``.

    Called only after ``cryptography`` rejected the bytes, to pick the error family:
    missing bytes (``30 00``, a length past the end) are CRYPT_E_ASN1_EOD, a wrong tag
    where the certificate grammar expects another (a CRL passed as a certificate) is
    CRYPT_E_ASN1_BADTAG, anything else CRYPT_E_ASN1_CORRUPT. Only the outer structure
    and the TBSCertificate field tags are examined; cryptography did the real parse.
    """
    from asn1crypto import parser as asn1_parser

    if not data:
        return CRYPT_E_ASN1_EOD
    try:
        cls_, method, tag, _h, contents, _t = asn1_parser.parse(bytes(data), strict=False)
    except ValueError as exc:
        return CRYPT_E_ASN1_EOD if "insufficient" in str(exc).lower() else CRYPT_E_ASN1_CORRUPT
    if (cls_, method, tag) != (_UNIVERSAL, _CONSTRUCTED, _TAG_SEQUENCE):
        return CRYPT_E_ASN1_BADTAG
    try:
        parts = list(_children(contents))
    except WinError as exc:
        return exc.hresult
    if not parts:
        return CRYPT_E_ASN1_EOD
    tbs = parts[0]
    if (tbs[0], tbs[1], tbs[2]) != (_UNIVERSAL, _CONSTRUCTED, _TAG_SEQUENCE):
        return CRYPT_E_ASN1_BADTAG
    try:
        fields = list(_children(tbs[4]))
    except WinError as exc:
        return exc.hresult
    if fields and (fields[0][0], fields[0][2]) == (_CONTEXT, 0):
        fields = fields[1:]  # [0] EXPLICIT version
    expected = [(_UNIVERSAL, _TAG_INTEGER)] + [(_UNIVERSAL, _TAG_SEQUENCE)] * 5
    for want, got in zip(expected, fields, strict=False):
        if (got[0], got[2]) != want:
            return CRYPT_E_ASN1_BADTAG
    if len(fields) < len(expected) or len(parts) < 3:
        return CRYPT_E_ASN1_EOD
    return CRYPT_E_ASN1_CORRUPT


def parse_certificate(der: bytes) -> x509.Certificate:
    """Parse DER with cryptography, mapping failures to Windows' ASN.1 errors."""
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except (ValueError, TypeError, x509.InvalidVersion) as exc:
        raise WinError(classify_certificate_der(der), detail=str(exc)) from exc


# ---------------------------------------------------------------------------------------
# The context
# ---------------------------------------------------------------------------------------


class CertContext(LinkedContext):
    """CERT_CONTEXT: ``dwCertEncodingType``, ``pbCertEncoded``, ``cbCertEncoded``,
    ``pCertInfo``, ``hCertStore``; plus ``x509``, ``sha1``, ``thumbprint`` and the
    property methods. A context enumerated from a collection is a link: it shares the
    encoded bytes and the property list of the member store's context.
    """

    __slots__ = ("_der", "_props", "_x509", "_info", "_sha1", "hCertStore", "dwCertEncodingType",
                 "_source", "_refs", "_seq", "_member", "__weakref__")

    def __init__(self, der: bytes, *, encoding: int = X509_ASN_ENCODING, store=None,
                 props: dict[int, Any] | None = None, x509_cert: x509.Certificate | None = None,
                 sha1: bytes | None = None):
        self._der = bytes(der)
        self._props: dict[int, Any] = dict(props) if props else {}
        self._x509 = x509_cert
        self._info: CERT_INFO | None = None
        self._sha1 = sha1
        self.hCertStore = store
        self.dwCertEncodingType = encoding
        self._source: CertContext | None = None
        self._refs = 1
        self._seq = 0
        self._member = None

    @classmethod
    def link(cls, source: CertContext, store, member=None) -> CertContext:
        """A context of ``store`` (a collection) standing for ``source``."""
        root = source._root()
        ctx = cls.__new__(cls)
        ctx._der = root._der
        ctx._props = root._props
        ctx._x509 = None
        ctx._info = None
        ctx._sha1 = root._sha1
        ctx.hCertStore = store
        ctx.dwCertEncodingType = root.dwCertEncodingType
        ctx._source = source
        ctx._refs = 1
        ctx._seq = 0
        ctx._member = member
        return ctx

    # -- CERT_CONTEXT fields -------------------------------------------------------------

    @property
    def pbCertEncoded(self) -> bytes:
        return self._der

    @property
    def cbCertEncoded(self) -> int:
        return len(self._der)

    @property
    def x509(self) -> x509.Certificate:
        root = self._root()
        if root._x509 is None:
            root._x509 = parse_certificate(root._der)
        return root._x509

    @property
    def pCertInfo(self) -> CERT_INFO:
        root = self._root()
        if root._info is None:
            _ = self.x509  # validated once, as before
            root._info = _build_cert_info(root._der)
        return root._info

    @property
    def sha1(self) -> bytes:
        root = self._root()
        if root._sha1 is None:
            root._sha1 = hashlib.sha1(root._der).digest()
        return root._sha1

    @property
    def thumbprint(self) -> str:
        return self.sha1.hex().upper()

    def __repr__(self) -> str:
        return f"<CertContext {self.thumbprint}>"

    # -- properties ------------------------------------------------------------------------

    def properties(self) -> list[int]:
        """Property ids present, in the order they were set (CertEnum...Properties order)."""
        return list(self._props)

    def get_raw_property(self, prop_id: int) -> Any:
        """The stored value (bytes, or an object for the volatile ones), hashes computed
        on demand; CRYPT_E_NOT_FOUND when absent."""
        props = self._props
        if prop_id in props:
            return props[prop_id]
        if prop_id == CERT_ACCESS_STATE_PROP_ID:
            return _DWORD.pack(self.access_state())
        if prop_id == CERT_KEY_PROV_HANDLE_PROP_ID:
            kc = props.get(CERT_KEY_CONTEXT_PROP_ID)
            if kc is None:
                raise WinError(CRYPT_E_NOT_FOUND)
            return kc.hCryptProv
        if prop_id == CERT_KEY_SPEC_PROP_ID:
            return _DWORD.pack(self._derived_key_spec())
        computed = self._compute(prop_id)
        if computed is None:
            raise WinError(CRYPT_E_NOT_FOUND)
        # Windows caches a computed hash as a property of the context (it then shows up
        # in CertEnumCertificateContextProperties), without a store write-back.
        props[prop_id] = computed
        return computed

    def _compute(self, prop_id: int) -> bytes | None:
        der = self._der
        if prop_id == CERT_SHA1_HASH_PROP_ID:
            return self.sha1
        if prop_id == CERT_MD5_HASH_PROP_ID:
            return hashlib.md5(der).digest()
        if prop_id == CERT_SHA256_HASH_PROP_ID:
            return hashlib.sha256(der).digest()
        if prop_id == CERT_SIGNATURE_HASH_PROP_ID:
            cert = self.x509
            algo = _sign_hash_for(cert.signature_algorithm_oid.dotted_string)
            if algo is None:
                raise WinError(NTE_BAD_ALGID, detail=cert.signature_algorithm_oid.dotted_string)
            h = hashes.Hash(algo())
            h.update(cert.tbs_certificate_bytes)
            return h.finalize()
        if prop_id == CERT_KEY_IDENTIFIER_PROP_ID:
            try:
                ski = self.x509.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                # Windows (Wine cert.c testCertProperties): no SubjectKeyIdentifier
                # extension -> ERROR_INVALID_DATA, even though a public key is present.
                raise WinError(ERROR_INVALID_DATA) from None
            return ski.value.digest
        return None

    def _derived_key_spec(self) -> int:
        kc = self._props.get(CERT_KEY_CONTEXT_PROP_ID)
        if kc is not None:
            return kc.dwKeySpec
        raw = self._props.get(CERT_KEY_PROV_INFO_PROP_ID)
        if raw is not None:
            return CRYPT_KEY_PROV_INFO.from_bytes(raw).dwKeySpec
        raise WinError(CRYPT_E_NOT_FOUND)

    def get_property(self, prop_id: int) -> Any:
        """The property as a Python value (see module docstring for the mapping)."""
        raw = self.get_raw_property(prop_id)
        return decode_property(prop_id, raw)

    def set_property(self, prop_id: int, value: Any, flags: int = 0) -> None:
        """Set (value None: delete) a property; persisted stores write it through."""
        set_context_property(self, prop_id, flags, value)


def decode_property(prop_id: int, raw: Any) -> Any:
    if prop_id in VOLATILE_PROP_IDS:
        return raw
    if prop_id == CERT_KEY_PROV_INFO_PROP_ID:
        return CRYPT_KEY_PROV_INFO.from_bytes(raw)
    if prop_id in STRING_PROP_IDS:
        return decode_string_prop(raw)
    if prop_id in DWORD_PROP_IDS or prop_id == CERT_ACCESS_STATE_PROP_ID:
        return _DWORD.unpack_from(bytes(raw).ljust(4, b"\0"))[0]
    if prop_id == CERT_ENHKEY_USAGE_PROP_ID:
        return decode_eku_prop(raw)
    return bytes(raw)


def encode_property(prop_id: int, value: Any) -> Any:
    """A facade value -> what the context stores. Raw bytes are accepted for any id."""
    if prop_id in VOLATILE_PROP_IDS:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if prop_id == CERT_KEY_PROV_INFO_PROP_ID and isinstance(value, CRYPT_KEY_PROV_INFO):
        return value.to_bytes()
    if prop_id in STRING_PROP_IDS and isinstance(value, str):
        return encode_string_prop(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _DWORD.pack(value & 0xFFFFFFFF)
    if prop_id == CERT_ENHKEY_USAGE_PROP_ID and isinstance(value, (list, tuple)):
        return encode_eku_prop(value)
    if isinstance(value, str):
        return encode_string_prop(value)
    raise WinError(E_INVALIDARG, detail=f"unsupported value for property {prop_id}: "
                                        f"{type(value).__name__}")


def set_context_property(ctx: CertContext, prop_id: int, flags: int, value: Any) -> None:
    if not prop_id or prop_id < 0:
        # Windows (Wine cert.c testCertProperties): property 0 -> E_INVALIDARG.
        raise WinError(E_INVALIDARG)
    root = ctx._root()
    props = root._props
    before = dict(props)
    if prop_id == CERT_KEY_CONTEXT_PROP_ID and value is not None:
        if not isinstance(value, CERT_KEY_CONTEXT) or value.cbSize != SIZEOF_CERT_KEY_CONTEXT:
            # Windows (Wine cert.c testCertProperties): cbSize 0 -> E_INVALIDARG.
            raise WinError(E_INVALIDARG)
    if prop_id == CERT_KEY_PROV_HANDLE_PROP_ID:
        kc = props.get(CERT_KEY_CONTEXT_PROP_ID)
        if kc is None:
            kc = CERT_KEY_CONTEXT(value, 0)
        else:
            kc = CERT_KEY_CONTEXT(value, kc.dwKeySpec, kc.cbSize)
        # Windows: setting KEY_PROV_HANDLE NULL zeroes hCryptProv of the key context.
        props[CERT_KEY_CONTEXT_PROP_ID] = kc
    elif value is None:
        props.pop(prop_id, None)
    else:
        props[prop_id] = encode_property(prop_id, value)
    if prop_id in VOLATILE_PROP_IDS:
        return
    store = root.hCertStore
    persist = getattr(store, "persist_properties", None)
    if persist is None:
        return
    if flags & CERT_SET_PROPERTY_INHIBIT_PERSIST_FLAG:
        return
    try:
        persist(root)
    except WinError:
        if flags & CERT_SET_PROPERTY_IGNORE_PERSIST_ERROR_FLAG:
            return
        props.clear()
        props.update(before)
        raise


def _build_cert_info(der: bytes, cert: x509.Certificate | None = None) -> CERT_INFO:
    """CERT_INFO of a certificate, decoded by crypt32's own X509_CERT_TO_BE_SIGNED decoder
    (extension values stay opaque bytes, so a malformed one leaves the rest readable)."""
    from capi.crypt32.encode import decode_cert_info

    return decode_cert_info(der)


# ---------------------------------------------------------------------------------------
# Facade
# ---------------------------------------------------------------------------------------


def check_encoding(encoding: int) -> int:
    encoding &= 0xFFFFFFFF
    if not encoding & CERT_ENCODING_TYPE_MASK & X509_ASN_ENCODING:
        raise WinError(E_INVALIDARG, detail=f"encoding type 0x{encoding:08X}")
    return encoding


def element_properties(ctx: CertContext, *, include_hashes: bool = True):
    """The persistable (id, bytes) pairs of ``ctx`` in property order."""
    for pid, val in ctx._root()._props.items():
        if pid in VOLATILE_PROP_IDS:
            continue
        if not include_hashes and pid in STRIPPED_IN_STORE:
            continue
        yield pid, val


def serialize_element(ctx: CertContext, *, include_hashes: bool = True) -> bytes:
    """One certificate as a serialized element (12+cb bytes with no properties)."""
    return encode_element(ctx.pbCertEncoded, element_properties(ctx, include_hashes=include_hashes))


def next_property_id(ids: list[int], prop_id: int) -> int:
    """CertEnum{Certificate,CRL}ContextProperties: the id after ``prop_id`` in ``ids``
    (0 starts), or 0 past the last or for an id not present."""
    if not prop_id:
        return ids[0] if ids else 0
    try:
        i = ids.index(prop_id)
    except ValueError:
        return 0
    return ids[i + 1] if i + 1 < len(ids) else 0


def cert_eku(ctx: CertContext, flags: int) -> tuple[bool, list[str]]:
    """(has usage restrictions, allowed OIDs) from the extension and/or the property."""
    from cryptography import x509

    oids: list[str] | None = None
    if not flags & CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG:
        try:
            ext = ctx.x509.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
            oids = [o.dotted_string for o in ext.value]
        except x509.ExtensionNotFound:
            pass
    if not flags & CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG:
        raw = ctx._root()._props.get(CERT_ENHKEY_USAGE_PROP_ID)
        if raw is not None:
            prop = decode_eku_prop(raw)
            oids = prop if oids is None else [o for o in oids if o in prop]
    return oids is not None, oids or []


__all__ = [
    "CERT_ENCODING_TYPE_MASK", "CMSG_ENCODING_TYPE_MASK", "CRYPT_KEY_PROV_PARAM",
    "CRYPT_KEY_PROV_INFO", "CERT_KEY_CONTEXT", "CERT_EXTENSION", "CERT_INFO",
    "encode_string_prop", "decode_string_prop", "classify_certificate_der",
    "parse_certificate", "CertContext", "serialize_element",
]

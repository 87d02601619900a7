"""crypt32's store functions: CertOpenStore (a lookup from the provider constant to an
opener, as Wine's store.c does), enumeration, find types, add/delete, serialization
of elements and stores, collections and CertEnumSystemStore. The store kinds
themselves are in ``store_kinds``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from capi.constants import (
    CERT_ACCESS_STATE_PROP_ID,
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG,
    CERT_FIND_ANY,
    CERT_FIND_ENHKEY_USAGE,
    CERT_FIND_EXISTING,
    CERT_FIND_HASH_STR,
    CERT_FIND_ISSUER_NAME,
    CERT_FIND_ISSUER_STR_A,
    CERT_FIND_ISSUER_STR_W,
    CERT_FIND_KEY_SPEC,
    CERT_FIND_MD5_HASH,
    CERT_FIND_NO_ENHKEY_USAGE_FLAG,
    CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG,
    CERT_FIND_OR_ENHKEY_USAGE_FLAG,
    CERT_FIND_PROPERTY,
    CERT_FIND_SHA1_HASH,
    CERT_FIND_SIGNATURE_HASH,
    CERT_FIND_SUBJECT_CERT,
    CERT_FIND_SUBJECT_NAME,
    CERT_FIND_SUBJECT_STR_A,
    CERT_FIND_SUBJECT_STR_W,
    CERT_KEY_SPEC_PROP_ID,
    CERT_MD5_HASH_PROP_ID,
    CERT_NAME_STR_REVERSE_FLAG,
    CERT_SHA1_HASH_PROP_ID,
    CERT_SIGNATURE_HASH_PROP_ID,
    CERT_STORE_ALL_CONTEXT_FLAG,
    CERT_STORE_CERTIFICATE_CONTEXT,
    CERT_STORE_CERTIFICATE_CONTEXT_FLAG,
    CERT_STORE_CREATE_NEW_FLAG,
    CERT_STORE_CRL_CONTEXT,
    CERT_STORE_CRL_CONTEXT_FLAG,
    CERT_STORE_CTL_CONTEXT_FLAG,
    CERT_STORE_DELETE_FLAG,
    CERT_STORE_LOCALIZED_NAME_PROP_ID,
    CERT_STORE_OPEN_EXISTING_FLAG,
    CERT_STORE_PROV_COLLECTION,
    CERT_STORE_PROV_FILE,
    CERT_STORE_PROV_FILENAME_A,
    CERT_STORE_PROV_FILENAME_W,
    CERT_STORE_PROV_MEMORY,
    CERT_STORE_PROV_PKCS7,
    CERT_STORE_PROV_SERIALIZED,
    CERT_STORE_PROV_SYSTEM_A,
    CERT_STORE_PROV_SYSTEM_REGISTRY_A,
    CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    CERT_STORE_PROV_SYSTEM_W,
    CERT_STORE_READONLY_FLAG,
    CERT_STORE_SAVE_AS_PKCS7,
    CERT_STORE_SAVE_AS_STORE,
    CERT_STORE_SAVE_TO_FILE,
    CERT_STORE_SAVE_TO_FILENAME_A,
    CERT_STORE_SAVE_TO_FILENAME_W,
    CERT_STORE_SAVE_TO_MEMORY,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID,
    CERT_SYSTEM_STORE_LOCATION_MASK,
    CERT_SYSTEM_STORE_LOCATION_SHIFT,
    CERT_X500_NAME_STR,
    X509_ASN_ENCODING,
)
from capi.crypt32.cert import CertFreeCertificateContext
from capi.crypt32.context import (
    VOLATILE_PROP_IDS,
    CertContext,
    cert_eku,
    check_encoding,
    parse_certificate,
    serialize_element,
)
from capi.crypt32.store_kinds import (
    ADD_DISPOSITIONS,
    EMPTY_STORE,
    PKCS7_SUFFIXES,
    PREDEFINED_STORES,
    SYSTEM_STORE_LOCATIONS,
    CertStore,
    CollectionStore,
    FileStore,
    MemoryStore,
    _add_with_disposition,
    copy_props,
    create_context,
    location_key,
    open_registry_store,
    resolve_token,
    write_atomically,
)
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_NO_MATCH,
    CRYPT_E_NOT_FOUND,
    E_INVALIDARG,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_END_OF_MEDIA,
    ERROR_FILE_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_PATH_NOT_FOUND,
    SetLastError,
    WinError,
    winapi,
)
from capi.formats.serialized import (
    STORE_MAGIC,
    load_pkcs7_all,
    load_serialized_store_all,
    parse_element_ex,
    save_pkcs7,
    save_serialized_store,
    text_payload,
)
from capi.formats.x500 import name_to_str
from capi.host.context import current_machine, current_token

if TYPE_CHECKING:
    from capi.crypt32.crlcontext import CrlContext

# CertOpenStore's provider given by name, as Windows accepts it (case-insensitive).
_PROVIDER_NAMES = {
    "memory": CERT_STORE_PROV_MEMORY,
    "file": CERT_STORE_PROV_FILENAME_W,
    "system": CERT_STORE_PROV_SYSTEM_W,
    "systemregistry": CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    "serialized": CERT_STORE_PROV_SERIALIZED,
    "pkcs7": CERT_STORE_PROV_PKCS7,
    "collection": CERT_STORE_PROV_COLLECTION,
}


def _location_from_flags(flags: int) -> str | None:
    return SYSTEM_STORE_LOCATIONS.get(flags & CERT_SYSTEM_STORE_LOCATION_MASK)


def _is_known_location(flags: int) -> bool:
    loc_id = (flags & CERT_SYSTEM_STORE_LOCATION_MASK) >> CERT_SYSTEM_STORE_LOCATION_SHIFT
    return loc_id in (1, 2) or 4 <= loc_id <= CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID


def _store_name(pvPara, ansi: bool) -> str | None:
    if isinstance(pvPara, (bytes, bytearray)):
        if not ansi:
            return None  # an ANSI name passed to the W provider is not found
        return bytes(pvPara).decode("mbcs" if os.name == "nt" else "latin-1")
    return pvPara


def _load_file_items(data: bytes) -> tuple[list, int]:
    """(items, save_as) from the bytes of a certificate file of any supported format."""
    items, save_as, _crls = _load_file_items_all(data)
    return items, save_as


def _load_file_items_all(data: bytes) -> tuple[list, int, list]:
    """(certificate items, save_as, CRL items) of a certificate, CRL, PKCS#7 or
    serialized-store file."""
    if not data:
        return [], CERT_STORE_SAVE_AS_STORE, []
    if data.startswith(STORE_MAGIC):
        certs, crls = load_serialized_store_all(data)
        return certs, CERT_STORE_SAVE_AS_STORE, crls
    candidates = [data]
    text = text_payload(data)
    if text is None:
        trimmed = _strip_trailing_nul(data)
        if trimmed != data:
            text = text_payload(trimmed)
    if text is not None:
        candidates = [text[1]]
    for raw in candidates:
        try:
            parse_certificate(raw)
            return [(raw, {})], CERT_STORE_SAVE_AS_STORE, []
        except WinError:
            pass
        try:
            ders, crl_ders = _load_pkcs7_any(raw)
        except WinError:
            crl_ders = None
        if crl_ders is None:
            from capi.crypt32.crlcontext import decode_crl_info

            try:
                decode_crl_info(raw)
                return [], CERT_STORE_SAVE_AS_STORE, [(raw, {})]
            except WinError:
                continue
        for der in ders:
            parse_certificate(der)
        return [(d, {}) for d in ders], CERT_STORE_SAVE_AS_PKCS7, [(c, {}) for c in crl_ders]
    raise WinError(CRYPT_E_NO_MATCH, detail="not a certificate, PKCS#7 or serialized store")


def _strip_trailing_nul(data: bytes) -> bytes:
    """``data`` without the terminating NUL a C string leaves in a file (one byte for
    ANSI text, two for UTF-16); Wine store.c testFileNameStore writes base64SPC and
    utf16Base64SPC with their terminators and Windows reads them."""
    if len(data) > 1 and data[1:2] == b"\0":
        while data.endswith(b"\0\0"):
            data = data[:-2]
        return data
    return data.rstrip(b"\0")


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _looks_like_signed_data(raw: bytes) -> bool:
    """SignedData opens with version INTEGER then digestAlgorithms SET (RFC 5652 5.1);
    a bare DigestedData has a SEQUENCE second."""
    from capi.crypt32 import _der

    try:
        outer = _der.expect(raw, 16)
        first, pos = _der.read(outer.contents)
        second, _ = _der.read(outer.contents, pos)
    except WinError:
        return False
    return first.is_(2) and second.is_(17)


def _load_pkcs7_any(raw: bytes) -> tuple[list[bytes], list[bytes]]:
    """(certificates, CRLs) of a PKCS#7 SignedData given as a ContentInfo or bare (the content
    alone, as CryptMsgOpenToDecode with CMSG_SIGNED accepts it: Wine store.c
    testMessageStore opens signedWithCertAndCrlBareContent through CERT_STORE_PROV_PKCS7).
    A bare message of another type stays CRYPT_E_ASN1_BADTAG (hashBareContent)."""
    try:
        return load_pkcs7_all(raw)
    except WinError as exc:
        if exc.hresult != CRYPT_E_ASN1_BADTAG or not _looks_like_signed_data(raw):
            raise
        first = exc
    explicit = b"\xa0" + _der_length(len(raw)) + raw
    body = _SIGNED_DATA_OID + explicit
    wrapped = b"\x30" + _der_length(len(body)) + body
    try:
        return load_pkcs7_all(wrapped)
    except WinError:
        raise first from None


def _open_filename(flags: int, pvPara) -> FileStore:
    if pvPara is None or pvPara == "":
        raise WinError(ERROR_PATH_NOT_FOUND)
    if isinstance(pvPara, (bytes, bytearray)):
        pvPara = bytes(pvPara).decode()
    if flags & CERT_STORE_DELETE_FLAG:
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="FILENAME with CERT_STORE_DELETE_FLAG")
    if flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG and flags & CERT_STORE_READONLY_FLAG:
        raise WinError(E_INVALIDARG)
    path = Path(os.fspath(pvPara))
    exists = path.is_file()
    if exists and flags & CERT_STORE_CREATE_NEW_FLAG:
        raise WinError(ERROR_FILE_EXISTS, detail=str(path))
    if not exists:
        if path.exists():
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{path} is not a file")
        if not flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG or flags & CERT_STORE_OPEN_EXISTING_FLAG:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=str(path))
        if not path.parent.is_dir():
            raise WinError(ERROR_PATH_NOT_FOUND, detail=str(path))
        data = b""
    else:
        data = path.read_bytes()
    items, save_as, crls = _load_file_items_all(data)
    if not data and path.suffix.lower() in PKCS7_SUFFIXES:
        save_as = CERT_STORE_SAVE_AS_PKCS7
    store = FileStore(flags, path=path, save_as=save_as)
    store.load(items)
    store._crls.load(crls)
    return store


def _open_file_handle(flags: int, fileobj) -> FileStore:
    if fileobj is None:
        raise WinError(ERROR_INVALID_HANDLE)
    if flags & CERT_STORE_DELETE_FLAG:
        raise WinError(E_INVALIDARG)
    if flags & CERT_FILE_STORE_COMMIT_ENABLE_FLAG and flags & CERT_STORE_READONLY_FLAG:
        raise WinError(E_INVALIDARG)
    data = fileobj.read()
    items, crls = load_serialized_store_all(data) if data else ([], [])
    store = FileStore(flags, fileobj=fileobj)
    store.load(items)
    store._crls.load(crls)
    return store


def _provider_id(lpszStoreProvider) -> int:
    if lpszStoreProvider is None or lpszStoreProvider == 0:
        raise WinError(ERROR_FILE_NOT_FOUND, detail="no store provider")
    if isinstance(lpszStoreProvider, str):
        pid = _PROVIDER_NAMES.get(lpszStoreProvider.lower())
        if pid is None:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"store provider {lpszStoreProvider!r}")
        return pid
    return int(lpszStoreProvider)


@winapi
def CertOpenStore(lpszStoreProvider: int | str, dwEncodingType: int = 0, hCryptProv: Any = None,
                  dwFlags: int = 0, pvPara: Any = None) -> CertStore | None:
    r"""CertOpenStore: open a store by provider number (CERT_STORE_PROV_*) or name.

    MEMORY, COLLECTION; SERIALIZED / PKCS7 (``pvPara`` bytes); FILENAME (a host path:
    DER, PEM/base64 in ANSI or UTF-16, serialized store, PKCS#7; with
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG written back on close); FILE (a binary file
    object); SYSTEM (a collection of physical stores) and SYSTEM_REGISTRY (``pvPara`` the
    store name, location from ``dwFlags``). Returns None, with last error 0, for a
    system store opened with CERT_STORE_DELETE_FLAG (the store is deleted).

    Raises ERROR_FILE_NOT_FOUND (no/unknown provider, missing file, missing store with
    OPEN_EXISTING, a PROV_SYSTEM name or location that is not valid),
    ERROR_CALL_NOT_IMPLEMENTED (DELETE_FLAG on MEMORY/SERIALIZED, providers winpki does
    not have), E_INVALIDARG (SYSTEM_REGISTRY without a name or with a bad location,
    COMMIT_ENABLE with READONLY), ERROR_FILE_EXISTS (CREATE_NEW on an existing store),
    ERROR_PATH_NOT_FOUND, E_ACCESSDENIED, and the format errors of the loaders.
    """
    pid = _provider_id(lpszStoreProvider)
    flags = dwFlags & 0xFFFFFFFF
    if pid in (CERT_STORE_PROV_MEMORY, CERT_STORE_PROV_COLLECTION, CERT_STORE_PROV_SERIALIZED,
               CERT_STORE_PROV_PKCS7):
        if flags & CERT_STORE_DELETE_FLAG:
            # Windows (Wine store.c testMemStore, testSerializedStore).
            raise WinError(ERROR_CALL_NOT_IMPLEMENTED)
        if pid == CERT_STORE_PROV_COLLECTION:
            return CollectionStore(flags)
        store = MemoryStore(flags)
        if pid == CERT_STORE_PROV_SERIALIZED:
            if pvPara is None:
                raise WinError(E_INVALIDARG)
            certs, crls = load_serialized_store_all(bytes(pvPara))
            store.load(certs)
            store._crls.load(crls)
        elif pid == CERT_STORE_PROV_PKCS7:
            if pvPara is None:
                raise WinError(E_INVALIDARG)
            ders, crl_ders = _load_pkcs7_any(bytes(pvPara))
            for der in ders:
                parse_certificate(der)
            store.load([(d, {}) for d in ders])
            store._crls.load([(c, {}) for c in crl_ders])
        return store
    if pid in (CERT_STORE_PROV_FILENAME_W, CERT_STORE_PROV_FILENAME_A):
        return _open_filename(flags, pvPara)
    if pid == CERT_STORE_PROV_FILE:
        return _open_file_handle(flags, pvPara)
    if pid in (CERT_STORE_PROV_SYSTEM_W, CERT_STORE_PROV_SYSTEM_A,
               CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_STORE_PROV_SYSTEM_REGISTRY_A):
        system = pid in (CERT_STORE_PROV_SYSTEM_W, CERT_STORE_PROV_SYSTEM_A)
        # PROV_SYSTEM reports a bad name or location as ERROR_FILE_NOT_FOUND, the
        # registry provider as E_INVALIDARG (Wine store.c testSystemStore/testSystemRegStore).
        bad = ERROR_FILE_NOT_FOUND if system else E_INVALIDARG
        name = _store_name(pvPara, pid in (CERT_STORE_PROV_SYSTEM_A,
                                           CERT_STORE_PROV_SYSTEM_REGISTRY_A))
        if not name:
            raise WinError(ERROR_FILE_NOT_FOUND if (system or pvPara is not None) else bad,
                           detail="no store name")
        location = _location_from_flags(flags)
        if location is None:
            if _is_known_location(flags):
                raise WinError(ERROR_CALL_NOT_IMPLEMENTED,
                               detail=f"system store location 0x{flags & CERT_SYSTEM_STORE_LOCATION_MASK:08X}")
            raise WinError(bad, detail=f"location 0x{flags & CERT_SYSTEM_STORE_LOCATION_MASK:08X}")

        machine = current_machine()
        token = resolve_token(machine, None)
        store = open_registry_store(machine, location, name, token=token, flags=flags,
                               missing_error=ERROR_FILE_NOT_FOUND, as_system=system)
        if flags & CERT_STORE_DELETE_FLAG:
            target = store.registry if system else store
            target.delete_store()
            SetLastError(0)
            return None
        return store
    raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail=f"store provider {lpszStoreProvider!r}")


@winapi
def CertOpenSystemStore(hProv: Any, szSubsystemProtocol: str) -> CertStore:
    """CertOpenSystemStore: CurrentUser's system store ``szSubsystemProtocol`` (created if
    missing). Raises E_INVALIDARG for an empty name (Wine store.c testCertOpenSystemStore)."""
    if not szSubsystemProtocol:
        raise WinError(E_INVALIDARG)
    return CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, hProv, CERT_SYSTEM_STORE_CURRENT_USER,
                         szSubsystemProtocol)


@winapi
def CertDuplicateStore(hCertStore: CertStore) -> CertStore:
    """CertDuplicateStore: the same handle with one more reference."""
    return hCertStore.duplicate()


@winapi
def CertCloseStore(hCertStore: CertStore, dwFlags: int = 0) -> bool:
    """CertCloseStore. NULL -> TRUE. With CERT_CLOSE_STORE_CHECK_FLAG raises
    CRYPT_E_PENDING_CLOSE (after releasing the handle) while another handle or a context
    from the store is alive; the empty store of created contexts -> E_UNEXPECTED."""
    if hCertStore is None:
        return True
    return hCertStore.close(dwFlags & 0xFFFFFFFF)


def _require_store(hCertStore) -> CertStore:
    if not isinstance(hCertStore, CertStore):
        raise WinError(ERROR_INVALID_HANDLE, detail=f"not a store: {hCertStore!r}")
    return hCertStore


def _next_result(store: CertStore, previous, ctx):
    """What the enumerating functions return: ``previous`` is released; no match is NULL
    with CRYPT_E_NOT_FOUND left in GetLastError (so C loops port unchanged)."""
    if previous is not None:

        CertFreeCertificateContext(previous)
    if ctx is None:
        SetLastError(CRYPT_E_NOT_FOUND)
        return None
    return store._hand_out(ctx)


@winapi
def CertEnumCertificatesInStore(hCertStore: CertStore, pPrevCertContext: CertContext | None = None
                                ) -> CertContext | None:
    """CertEnumCertificatesInStore: the context after ``pPrevCertContext`` (which is
    released), or None with CRYPT_E_NOT_FOUND in GetLastError at the end. Memory stores
    give the newest first; system stores ascending SHA-1 (module docstring)."""
    store = _require_store(hCertStore)
    return _next_result(store, pPrevCertContext, store.enum_next(pPrevCertContext))




def _matcher(find_type: int, flags: int, para) -> Callable[[CertContext], bool]:
    if find_type == CERT_FIND_ANY:
        return lambda ctx: True
    if find_type == CERT_FIND_MD5_HASH:
        want = bytes(para)
        return lambda ctx: hashlib.md5(ctx.pbCertEncoded).digest() == want
    if find_type == CERT_FIND_SIGNATURE_HASH:
        want = bytes(para)

        def sig(ctx):
            try:
                return ctx.get_raw_property(CERT_SIGNATURE_HASH_PROP_ID) == want
            except WinError:
                return False
        return sig
    if find_type in (CERT_FIND_SUBJECT_STR_W, CERT_FIND_SUBJECT_STR_A,
                     CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A):
        issuer = find_type in (CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A)
        if para is None:
            return lambda ctx: True  # Windows (Wine cert.c testFindCert): NULL matches all
        needle = (bytes(para).decode() if isinstance(para, (bytes, bytearray)) else str(para)).lower()

        def by_str(ctx):
            info = ctx.pCertInfo
            text = name_to_str(info.Issuer if issuer else info.Subject,
                               CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG)
            return needle in text.lower()
        return by_str
    if find_type in (CERT_FIND_SUBJECT_NAME, CERT_FIND_ISSUER_NAME):
        want = bytes(para)
        if find_type == CERT_FIND_ISSUER_NAME:
            return lambda ctx: ctx.pCertInfo.Issuer == want
        return lambda ctx: ctx.pCertInfo.Subject == want
    if find_type == CERT_FIND_SUBJECT_CERT:
        issuer_der, serial = para.Issuer, bytes(para.SerialNumber)
        if not serial:
            return lambda ctx: False  # an empty serial never matches
        return lambda ctx: ctx.pCertInfo.Issuer == bytes(issuer_der) and \
            ctx.pCertInfo.SerialNumber == serial
    if find_type == CERT_FIND_KEY_SPEC:
        want = int(para)

        def spec(ctx):
            try:
                return ctx.get_property(CERT_KEY_SPEC_PROP_ID) == want
            except WinError:
                return False
        return spec
    if find_type == CERT_FIND_PROPERTY:
        pid = int(para)

        def has(ctx):
            try:
                ctx.get_raw_property(pid)
                return True
            except WinError:
                return False
        return has
    if find_type == CERT_FIND_ENHKEY_USAGE:
        wanted = [str(o) for o in (para or [])]

        def eku(ctx):
            restricted, allowed = cert_eku(ctx, flags)
            if flags & CERT_FIND_NO_ENHKEY_USAGE_FLAG:
                return not restricted
            if not restricted:
                # Documented: certificates without an EKU extension or property match
                # only with CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG.
                return bool(flags & CERT_FIND_OPTIONAL_ENHKEY_USAGE_FLAG)
            if not wanted:
                return True
            if flags & CERT_FIND_OR_ENHKEY_USAGE_FLAG:
                return any(o in allowed for o in wanted)
            return all(o in allowed for o in wanted)
        return eku
    raise WinError(E_INVALIDARG, detail=f"find type 0x{find_type:08X}")


@winapi
def CertFindCertificateInStore(hCertStore: CertStore, dwCertEncodingType: int, dwFindFlags: int,
                               dwFindType: int, pvFindPara: Any,
                               pPrevCertContext: CertContext | None = None
                               ) -> CertContext | None:
    """CertFindCertificateInStore: the next context matching ``dwFindType``, or None with
    CRYPT_E_NOT_FOUND. ``pPrevCertContext`` is released, as on Windows.

    SHA1_HASH/HASH (bytes; one indexed lookup in system stores), MD5_HASH, HASH_STR (hex,
    spaces allowed), SIGNATURE_HASH, SUBJECT_STR/ISSUER_STR (case-insensitive substring
    of the X.500 string; None matches all), SUBJECT_NAME/ISSUER_NAME (DER equality),
    EXISTING (same SHA-1 as a context), SUBJECT_CERT (issuer + serial of a CERT_INFO),
    ENHKEY_USAGE (list of OIDs, CERT_FIND_*_ENHKEY_USAGE_FLAG), KEY_SPEC, PROPERTY, ANY.
    Raises E_INVALIDARG for an unknown find type or a missing parameter.
    """
    store = _require_store(hCertStore)
    find_type = dwFindType & 0xFFFFFFFF
    flags = dwFindFlags & 0xFFFFFFFF
    if find_type in (CERT_FIND_SHA1_HASH, CERT_FIND_HASH_STR, CERT_FIND_EXISTING):
        if find_type == CERT_FIND_EXISTING:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            sha1 = pvFindPara.sha1
        elif find_type == CERT_FIND_HASH_STR:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            try:
                sha1 = bytes.fromhex("".join(str(pvFindPara).split()))
            except ValueError:
                sha1 = b""
        else:
            if pvFindPara is None:
                raise WinError(E_INVALIDARG)
            sha1 = bytes(pvFindPara)
        ctx = store.find_sha1(sha1, pPrevCertContext)
    else:
        if pvFindPara is None and find_type not in (
                CERT_FIND_ANY, CERT_FIND_SUBJECT_STR_W, CERT_FIND_SUBJECT_STR_A,
                CERT_FIND_ISSUER_STR_W, CERT_FIND_ISSUER_STR_A, CERT_FIND_ENHKEY_USAGE):
            raise WinError(E_INVALIDARG)
        if find_type == CERT_FIND_SUBJECT_CERT and pvFindPara is None:
            raise WinError(E_INVALIDARG)
        ctx = store.find(_matcher(find_type, flags, pvFindPara), pPrevCertContext)
    return _next_result(store, pPrevCertContext, ctx)


def _free_standing_copy(der: bytes, props: dict, encoding: int) -> CertContext:
    return CertContext(der, encoding=encoding, store=EMPTY_STORE, props=props)


@winapi
def CertAddCertificateContextToStore(hCertStore: CertStore | None, pCertContext: CertContext,
                                     dwAddDisposition: int) -> CertContext:
    """CertAddCertificateContextToStore: add a copy (with its properties) of a context.

    Returns the context now in the store (a new one; the existing one for USE_EXISTING).
    Raises E_INVALIDARG (disposition 0 or unknown), CRYPT_E_EXISTS (ADD_NEW of a present
    certificate — by SHA-1 — or NEWER not newer), E_ACCESSDENIED (no add-enabled member in
    a collection, a read-only or LocalMachine store for a non-administrator).
    ``hCertStore`` None with a valid disposition gives a copy in no store.
    """
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    if dwAddDisposition not in ADD_DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {dwAddDisposition}")
    if hCertStore is None:
        return _free_standing_copy(pCertContext.pbCertEncoded, copy_props(pCertContext),
                                   pCertContext.dwCertEncodingType)
    store = _require_store(hCertStore)
    return store._hand_out(store.add(pCertContext, dwAddDisposition))


@winapi
def CertAddEncodedCertificateToStore(hCertStore: CertStore | None, dwCertEncodingType: int,
                                     pbCertEncoded: bytes, dwAddDisposition: int
                                     ) -> CertContext:
    """CertAddEncodedCertificateToStore: decode ``pbCertEncoded`` and add it.

    Raises the decoder's CRYPT_E_ASN1_* error for bad bytes (``30 00`` ->
    CRYPT_E_ASN1_EOD, a CRL -> CRYPT_E_ASN1_BADTAG), E_INVALIDARG for a bad encoding
    type or disposition, and the errors of CertAddCertificateContextToStore.
    """

    encoding = check_encoding(dwCertEncodingType)
    ctx = create_context(encoding, pbCertEncoded)
    return CertAddCertificateContextToStore(hCertStore, ctx, dwAddDisposition)


@winapi
def CertDeleteCertificateFromStore(pCertContext: CertContext) -> bool:
    """CertDeleteCertificateFromStore: remove the context's certificate from its store
    (the context is released). Deleting one already deleted succeeds. Raises
    E_ACCESSDENIED for a read-only store or a LocalMachine store and a non-administrator."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    store = pCertContext.hCertStore
    try:
        # A context keeps its store alive (CertCloseStore without FORCE only drops the
        # handle's reference), so deleting through it works after the handle is closed.
        if isinstance(store, CertStore):
            store._remove(pCertContext)
    finally:
        pCertContext._refs = 0
        if isinstance(store, CertStore):
            store._release_context(pCertContext)
    return True


@winapi
def CertSerializeCertificateStoreElement(pCertContext: CertContext, dwFlags: int = 0) -> bytes:
    """CertSerializeCertificateStoreElement: the context as a serialized element,
    cached hash properties included (``dwFlags`` is ignored, as on Windows)."""
    if pCertContext is None:
        raise WinError(E_INVALIDARG)
    return serialize_element(pCertContext, include_hashes=True)


@winapi
def CertAddSerializedElementToStore(hCertStore: CertStore | None, pbElement: bytes,
                                    dwAddDisposition: int, dwFlags: int,
                                    dwContextTypeFlags: int
                                    ) -> tuple[CertContext | CrlContext, int]:
    """CertAddSerializedElementToStore: add a serialized element; (context, context type).

    Raises ERROR_END_OF_MEDIA (empty), E_INVALIDARG (context-type flags 0 or not
    matching the element, a record overrunning or a context record of 0 bytes),
    ERROR_FILE_NOT_FOUND (a record encoding other than 1), the decoder's errors, and
    the errors of the add (CRYPT_E_EXISTS...). A hash property inside the element is
    replaced by the certificate's real SHA-1 (Wine store.c testAddSerialized).
    """
    data = bytes(pbElement or b"")
    if not data:
        raise WinError(ERROR_END_OF_MEDIA)
    type_flags = dwContextTypeFlags & 0xFFFFFFFF
    if type_flags == CERT_STORE_ALL_CONTEXT_FLAG:
        wanted = None
    elif type_flags & CERT_STORE_CERTIFICATE_CONTEXT_FLAG:
        wanted = 32
    elif type_flags & (CERT_STORE_CRL_CONTEXT_FLAG | CERT_STORE_CTL_CONTEXT_FLAG):
        wanted = 33 if type_flags & CERT_STORE_CRL_CONTEXT_FLAG else 34
    else:
        raise WinError(E_INVALIDARG, detail="no context type requested")
    cid, der, props, _ = parse_element_ex(data)
    if wanted is not None and cid != wanted:
        raise WinError(E_INVALIDARG, detail=f"element holds context type {cid}")
    if cid == 33:
        # A CRL element: its CRL, with its properties, added with the CRL add rules.
        from capi.crypt32.crl import CertAddCRLContextToStore
        from capi.crypt32.crlcontext import CrlContext, decode_crl_info

        crl = CrlContext(der, info=decode_crl_info(der),
                         props={k: v for k, v in props.items()
                                if k not in VOLATILE_PROP_IDS and k != CERT_MD5_HASH_PROP_ID})
        if hCertStore is None:
            if dwAddDisposition not in ADD_DISPOSITIONS:
                raise WinError(E_INVALIDARG)
            return crl, CERT_STORE_CRL_CONTEXT
        return CertAddCRLContextToStore(hCertStore, crl, dwAddDisposition), CERT_STORE_CRL_CONTEXT
    if cid != 32:
        # CTLs: winpki keeps no CTL contexts.
        raise WinError(ERROR_CALL_NOT_IMPLEMENTED, detail="CTL contexts")
    if CERT_SHA1_HASH_PROP_ID in props:
        props[CERT_SHA1_HASH_PROP_ID] = hashlib.sha1(der).digest()
    props.pop(CERT_MD5_HASH_PROP_ID, None)
    ctx = create_context(X509_ASN_ENCODING, der)
    ctx._props.update({k: v for k, v in props.items() if k not in VOLATILE_PROP_IDS})
    if hCertStore is None:
        if dwAddDisposition not in ADD_DISPOSITIONS:
            raise WinError(E_INVALIDARG)
        return ctx, CERT_STORE_CERTIFICATE_CONTEXT
    added = CertAddCertificateContextToStore(hCertStore, ctx, dwAddDisposition)
    return added, CERT_STORE_CERTIFICATE_CONTEXT


@winapi
def CertSaveStore(hCertStore: CertStore, dwEncodingType: int, dwSaveAs: int, dwSaveTo: int,
                  pvSaveToPara: str | os.PathLike[str] | BinaryIO | None,
                  dwFlags: int = 0) -> bytes | bool:
    """CertSaveStore: the store as a serialized store (CERT_STORE_SAVE_AS_STORE) or a
    PKCS#7 SignedData (CERT_STORE_SAVE_AS_PKCS7). CERT_STORE_SAVE_TO_MEMORY returns the
    bytes; SAVE_TO_FILENAME writes the host file ``pvSaveToPara``; SAVE_TO_FILE writes a
    binary file object. Raises ERROR_INVALID_PARAMETER for other save kinds/targets."""
    store = _require_store(hCertStore)
    store._check_open()
    contexts = list(store)
    crls = list(store.crl_all())
    if dwSaveAs == CERT_STORE_SAVE_AS_STORE:
        from capi.crypt32.crlcontext import crl_element

        data = save_serialized_store(
            [*(serialize_element(c, include_hashes=False) for c in contexts),
             *(crl_element(c, include_hashes=False) for c in crls)])
    elif dwSaveAs == CERT_STORE_SAVE_AS_PKCS7:
        data = save_pkcs7((c.x509 for c in contexts), [c.pbCrlEncoded for c in crls])
    else:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"dwSaveAs {dwSaveAs}")
    if dwSaveTo == CERT_STORE_SAVE_TO_MEMORY:
        return data
    if dwSaveTo in (CERT_STORE_SAVE_TO_FILENAME_W, CERT_STORE_SAVE_TO_FILENAME_A):
        if not pvSaveToPara:
            raise WinError(ERROR_PATH_NOT_FOUND)
        path = Path(os.fspath(pvSaveToPara))
        if not path.parent.is_dir():
            raise WinError(ERROR_PATH_NOT_FOUND, detail=str(path))
        write_atomically(path, data)
        return True
    if dwSaveTo == CERT_STORE_SAVE_TO_FILE:
        if pvSaveToPara is None:
            raise WinError(ERROR_INVALID_HANDLE)
        pvSaveToPara.write(data)
        return True
    raise WinError(ERROR_INVALID_PARAMETER, detail=f"dwSaveTo {dwSaveTo}")


@winapi
def CertAddStoreToCollection(hCollectionStore: CertStore, hSiblingStore: CertStore | None,
                             dwUpdateFlags: int = 0, dwPriority: int = 0) -> bool:
    """CertAddStoreToCollection. Raises E_INVALIDARG when the target is not a collection
    (a SYSTEM_REGISTRY store is not; a PROV_SYSTEM store is). A None sibling adds
    nothing and returns True, as on Windows."""
    if not isinstance(hCollectionStore, CollectionStore):
        raise WinError(E_INVALIDARG, detail="not a collection store")
    if hSiblingStore is None:
        # Windows (Wine store.c testCollectionStore): a NULL sibling "succeeds".
        return True
    sibling = _require_store(hSiblingStore)
    hCollectionStore.add_member(sibling, dwUpdateFlags & 0xFFFFFFFF, dwPriority)
    return True


@winapi
def CertRemoveStoreFromCollection(hCollectionStore: CertStore, hSiblingStore: CertStore) -> None:
    """CertRemoveStoreFromCollection."""
    if isinstance(hCollectionStore, CollectionStore):
        hCollectionStore.remove_member(hSiblingStore)


@winapi
def CertEnumSystemStore(dwFlags: int, pvSystemStoreLocationPara: Any = None, pvArg: Any = None,
                        pfnEnum: Callable[[str, int, Any, Any, Any], bool] | None = None
                        ) -> list[str] | bool:
    """CertEnumSystemStore: the system stores of the location in ``dwFlags`` (predefined
    ones, then those created). Without ``pfnEnum`` returns their names; with it, calls
    ``pfnEnum(pvSystemStore, dwFlags, pStoreInfo, pvReserved, pvArg)`` for each as the C
    function does and returns True, or False when the callback stopped the enumeration
    (Wine store.c testCertEnumSystemStore). Raises ERROR_FILE_NOT_FOUND for location 0
    (same test) and E_INVALIDARG for another location."""
    if not dwFlags & CERT_SYSTEM_STORE_LOCATION_MASK:
        raise WinError(ERROR_FILE_NOT_FOUND, detail="no system store location")
    location = _location_from_flags(dwFlags & 0xFFFFFFFF)
    if location is None:
        raise WinError(E_INVALIDARG, detail="location")

    machine = current_machine()
    token = current_token(machine)
    key = location_key(machine, location, token)
    names = list(PREDEFINED_STORES[location])
    lowered = {n.lower() for n in names}
    for (name,) in machine.db.execute("SELECT store FROM stores WHERE location=? ORDER BY rowid",
                                      (key,)):
        if name.lower() not in lowered:
            names.append(name)
            lowered.add(name.lower())
    if pfnEnum is None:
        return names
    for name in names:
        if not pfnEnum(name, dwFlags & 0xFFFFFFFF, None, None, pvArg):
            return False
    return True


@winapi
def CertControlStore(hCertStore: CertStore, dwFlags: int, dwCtrlType: int,
                     pvCtrlPara: Any = None) -> bool:
    """CertControlStore: RESYNC, COMMIT, AUTO_RESYNC. System stores write through, so
    COMMIT succeeds; a memory store (alone or in a collection) and a file store without
    CERT_FILE_STORE_COMMIT_ENABLE_FLAG raise ERROR_CALL_NOT_IMPLEMENTED."""
    store = _require_store(hCertStore)
    store._check_open()
    return store.control(dwCtrlType)






@winapi
def CertGetStoreProperty(hCertStore: CertStore, dwPropId: int) -> int | str | bytes:
    """CertGetStoreProperty: a property of the store.

    CERT_ACCESS_STATE_PROP_ID is always there (an int: 0 for a memory store,
    CERT_ACCESS_STATE_WRITE_PERSIST_FLAG and the system-store flags for a persisted
    one); CERT_STORE_LOCALIZED_NAME_PROP_ID (a str) and the others (bytes) only once
    set. Raises CRYPT_E_NOT_FOUND for a property not set -- the localized name of a
    system store included (Wine store.c testStoreProperty).
    """
    store = _require_store(hCertStore)
    prop_id = int(dwPropId) & 0xFFFFFFFF
    if prop_id == CERT_ACCESS_STATE_PROP_ID:
        return store.access_state()
    props = getattr(store, "_store_props", None) or {}
    if prop_id not in props:
        SetLastError(CRYPT_E_NOT_FOUND)
        raise WinError(CRYPT_E_NOT_FOUND, detail=f"store property {prop_id}")
    value = props[prop_id]
    if prop_id == CERT_STORE_LOCALIZED_NAME_PROP_ID:
        return value.decode("utf-16-le").split("\0", 1)[0]
    return value


@winapi
def CertSetStoreProperty(hCertStore: CertStore, dwPropId: int, dwFlags: int,
                         pvData: bytes | str | None) -> bool:
    """CertSetStoreProperty: set a store property (``pvData`` bytes, or a str for
    CERT_STORE_LOCALIZED_NAME_PROP_ID, stored as its NUL-terminated UTF-16), or delete
    it with ``pvData`` None -- deleting one not set succeeds (Wine store.c
    testStoreProperty). Raises E_INVALIDARG for property 0, CERT_ACCESS_STATE_PROP_ID
    (computed, not settable) or a value that is neither bytes nor str."""
    store = _require_store(hCertStore)
    prop_id = int(dwPropId) & 0xFFFFFFFF
    if not prop_id or prop_id == CERT_ACCESS_STATE_PROP_ID:
        raise WinError(E_INVALIDARG, detail=f"store property {prop_id}")
    props = getattr(store, "_store_props", None)
    if props is None:
        props = store._store_props = {}
    if pvData is None:
        props.pop(prop_id, None)
        return True
    if isinstance(pvData, str):
        value = (pvData + "\0").encode("utf-16-le")
    elif isinstance(pvData, (bytes, bytearray, memoryview)):
        value = bytes(pvData)
    else:
        raise WinError(E_INVALIDARG, detail=f"store property value {type(pvData).__name__}")
    props[prop_id] = value
    return True


def _system_store_name(pvSystemStore) -> str:
    if isinstance(pvSystemStore, (bytes, bytearray)):
        pvSystemStore = bytes(pvSystemStore).decode("latin-1")
    if not pvSystemStore:
        raise WinError(E_INVALIDARG, detail="no system store name")
    return str(pvSystemStore)


@winapi
def CertRegisterSystemStore(pvSystemStore: str, dwFlags: int, pStoreInfo: Any = None,
                            pvReserved: Any = None) -> bool:
    """CertRegisterSystemStore: create the system store ``pvSystemStore`` in the location
    of ``dwFlags`` (an existing one is kept; with CERT_STORE_CREATE_NEW_FLAG it is
    ERROR_FILE_EXISTS). Wine store.c testCertRegisterSystemStore: the store then opens
    with CERT_STORE_OPEN_EXISTING_FLAG and takes certificates.

    Raises E_INVALIDARG (no name), E_ACCESSDENIED (a LocalMachine store for a
    non-administrator), ERROR_FILE_NOT_FOUND (a location that is not one) and
    ERROR_CALL_NOT_IMPLEMENTED (a location winpki does not keep), as CertOpenStore.
    """
    name = _system_store_name(pvSystemStore)
    flags = dwFlags & (CERT_SYSTEM_STORE_LOCATION_MASK | CERT_STORE_CREATE_NEW_FLAG)
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, None, flags, name)
    store.close()
    return True


@winapi
def CertUnregisterSystemStore(pvSystemStore: str, dwFlags: int) -> bool:
    """CertUnregisterSystemStore: delete the system store and its certificates (Wine
    store.c testCertRegisterSystemStore). Raises E_INVALIDARG (no name),
    ERROR_FILE_NOT_FOUND (no such store), E_ACCESSDENIED (a LocalMachine store for a
    non-administrator)."""
    name = _system_store_name(pvSystemStore)
    flags = (dwFlags & CERT_SYSTEM_STORE_LOCATION_MASK) | CERT_STORE_DELETE_FLAG
    CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, None, flags, name)
    return True


@winapi
def CertAddCertificateLinkToStore(hCertStore: CertStore, pCertContext: CertContext,
                                  dwAddDisposition: int) -> CertContext:
    """CertAddCertificateLinkToStore: add a link to ``pCertContext``; returns the link.

    A link in a memory or file store shares the source's encoding, CERT_INFO and
    properties (Wine cert.c testLinkCert; store.c testAddCertificateLink: a friendly
    name set on the source shows through the link, and a file store commits the link
    with the source's properties). A system-registry store keeps a copy. The usual
    dispositions apply (ADD_NEW of a present certificate -> CRYPT_E_EXISTS).

    Raises E_INVALIDARG for disposition 0 or unknown, a None context, or a collection
    (a PROV_SYSTEM store is one) as the target (store.c testAddCertificateLink).
    """
    store = _require_store(hCertStore)
    if dwAddDisposition not in ADD_DISPOSITIONS:
        raise WinError(E_INVALIDARG, detail=f"disposition {dwAddDisposition}")
    if pCertContext is None:
        raise WinError(E_INVALIDARG, detail="NULL pCertContext")
    if isinstance(store, CollectionStore):
        raise WinError(E_INVALIDARG, detail="links cannot be added to a collection")
    store._check_open()
    added = _add_with_disposition(store, pCertContext.pbCertEncoded, copy_props(pCertContext),
                                  pCertContext.dwCertEncodingType, dwAddDisposition,
                                  link=pCertContext)
    return store._hand_out(added)


__all__ = [
    "CertGetStoreProperty", "CertSetStoreProperty", "CertRegisterSystemStore",
    "CertUnregisterSystemStore", "CertAddCertificateLinkToStore",
    "CertOpenStore", "CertOpenSystemStore", "CertDuplicateStore", "CertCloseStore",
    "CertEnumCertificatesInStore", "CertFindCertificateInStore",
    "CertAddCertificateContextToStore", "CertAddEncodedCertificateToStore",
    "CertDeleteCertificateFromStore", "CertSerializeCertificateStoreElement",
    "CertAddSerializedElementToStore", "CertSaveStore", "CertAddStoreToCollection",
    "CertRemoveStoreFromCollection", "CertEnumSystemStore", "CertControlStore",
]

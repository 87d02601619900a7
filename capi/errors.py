"""One table from HRESULT to symbolic name, Windows message and family class.

Every code the project raises comes from :data:`HRESULTS`. ``WinError(code)`` picks the
family class from the table, so ``raise WinError(NTE_BAD_KEYSET)`` raises a
:class:`BadKeyset`, and ``except BadKeyset`` works for callers that branch on it.

Messages are the SDK ``winerror.h`` MessageText / MS-ERREF texts (see
docs/windows-facts.md §3); where a public article quotes a text as Windows printed it, that
text is used.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    _F = TypeVar("_F", bound=Callable[..., Any])

FACILITY_WIN32 = 7


def HRESULT_FROM_WIN32(code: int) -> int:
    """Windows' HRESULT_FROM_WIN32 macro."""
    code &= 0xFFFFFFFF
    if code == 0 or code & 0x80000000:
        return code
    return 0x80000000 | (FACILITY_WIN32 << 16) | (code & 0xFFFF)


def to_signed(code: int) -> int:
    """The signed 32-bit form certutil prints in parentheses: 0x80090011 -> -2146893807."""
    code &= 0xFFFFFFFF
    return code - 0x100000000 if code & 0x80000000 else code


# ---------------------------------------------------------------------------------------
# Family classes. Callers branch on these; the table decides which code belongs where.
# ---------------------------------------------------------------------------------------


class WinError(OSError):
    """A Windows failure: ``.hresult``, ``.winerror``, ``.name``, ``.strerror``.

    ``WinError(code)`` accepts an HRESULT or a Win32 error code and returns an instance
    of the family class the table names for it.
    """

    def __new__(cls, code: int = 0, message: str | None = None, *args, **kwargs):
        entry = lookup(code)[0]
        target = cls
        if entry is not None:
            fam = _FAMILIES[entry.family]
            if issubclass(fam, cls):
                target = fam
        return OSError.__new__(target)

    def __init__(self, code: int = 0, message: str | None = None, detail: str | None = None):
        entry, hr, last = lookup(code)
        self.hresult = hr
        self.name = entry.name if entry else f"0x{hr:08X}"
        self.winerror = last
        text = message or (entry.message if entry else f"Unknown error 0x{hr:08X}")
        self.detail = detail
        super().__init__(self.winerror, text)
        # OSError keeps (errno, strerror); keep the Windows names readable as well.
        self.strerror = text
        # NTSTATUS failures (bcrypt.dll) carry the status too; bcrypt sets it for the
        # NTE_* codes it returns as well (NTE_BAD_DATA from BCryptImportKeyPair).
        self.status = hr if hr in NTSTATUS_CODES else None

    def __str__(self) -> str:
        base = f"[{self.name} 0x{self.hresult:08X}] {self.strerror}"
        return f"{base} ({self.detail})" if self.detail else base

    def __reduce__(self):
        return (WinError, (self.winerror, self.strerror, self.detail))


class NotFound(WinError):
    """Object, property, file or container not found."""


class AlreadyExists(WinError):
    """Object already exists."""


class AccessDenied(WinError):
    """Access denied by a security descriptor or a store's add rules."""


class InvalidArgument(WinError):
    """A parameter, flag or argument combination Windows rejects."""


class BadKeyset(WinError):
    """Keyset does not exist, or is broken."""


class BadKey(WinError):
    """A key that cannot be used for the requested operation."""


class BadKeyState(WinError):
    """Key not valid for use in specified state (e.g. export of a non-exportable key)."""


class BadData(WinError):
    """Malformed blob, signature or ciphertext."""


class BadAlgorithm(WinError):
    """An algorithm the provider does not support."""


class ProviderError(WinError):
    """Provider name/type errors."""


class EncodingError(WinError):
    """ASN.1 / file-format decode failures."""


class InvalidPassword(WinError):
    """Wrong PFX password."""


class SmartCardError(WinError):
    """Smart card / token errors (SCARD_*)."""


class CredentialsError(WinError):
    """Schannel credential failures (SEC_E_*)."""


class TrustError(WinError):
    """Certificate chain trust failures (CERT_E_*, TRUST_E_*)."""


class NotImplementedCall(WinError):
    """ERROR_CALL_NOT_IMPLEMENTED: a call Windows (or winpki) does not implement."""


class SystemFailure(WinError):
    """Other Win32 failures (logon session, file exists, internal errors)."""


_FAMILIES: dict[str, type[WinError]] = {
    c.__name__: c
    for c in (
        WinError, NotFound, AlreadyExists, AccessDenied, InvalidArgument, BadKeyset, BadKey,
        BadKeyState, BadData, BadAlgorithm, ProviderError, EncodingError, InvalidPassword,
        SmartCardError, CredentialsError, TrustError, NotImplementedCall, SystemFailure,
    )
}


@dataclass(frozen=True)
class HResultInfo:
    code: int
    name: str
    message: str
    family: str


class W(int):
    """Marks a Win32 error code in the table (its HRESULT is HRESULT_FROM_WIN32(code))."""


class NT(int):
    """Marks an NTSTATUS in the table: raised as itself, with ``.status`` equal to it."""


# (hresult, symbolic name, Windows message, family). Win32 codes are stored as their
# HRESULT_FROM_WIN32 form; the symbolic name is the Win32 one.
_TABLE: list[tuple[int, str, str, str]] = [
    (0, "ERROR_SUCCESS", "The operation completed successfully.", "WinError"),
    # --- Win32 (HRESULT_FROM_WIN32) ---
    (W(2), "ERROR_FILE_NOT_FOUND", "The system cannot find the file specified.", "NotFound"),
    (W(3), "ERROR_PATH_NOT_FOUND", "The system cannot find the path specified.", "NotFound"),
    (W(5), "ERROR_ACCESS_DENIED", "Access is denied.", "AccessDenied"),
    (W(6), "ERROR_INVALID_HANDLE", "The handle is invalid.", "InvalidArgument"),
    (W(13), "ERROR_INVALID_DATA", "The data is invalid.", "BadData"),
    (W(80), "ERROR_FILE_EXISTS", "The file exists.", "AlreadyExists"),
    (W(86), "ERROR_INVALID_PASSWORD", "The specified network password is not correct.", "InvalidPassword"),
    (W(87), "ERROR_INVALID_PARAMETER", "The parameter is incorrect.", "InvalidArgument"),
    (W(120), "ERROR_CALL_NOT_IMPLEMENTED", "This function is not supported on this system.", "NotImplementedCall"),
    (W(122), "ERROR_INSUFFICIENT_BUFFER", "The data area passed to a system call is too small.", "InvalidArgument"),
    (W(123), "ERROR_INVALID_NAME", "The filename, directory name, or volume label syntax is incorrect.", "InvalidArgument"),
    (W(160), "ERROR_BAD_ARGUMENTS", "One or more arguments are not correct.", "InvalidArgument"),
    (W(183), "ERROR_ALREADY_EXISTS", "Cannot create a file when that file already exists.", "AlreadyExists"),
    (W(234), "ERROR_MORE_DATA", "More data is available.", "InvalidArgument"),
    (W(259), "ERROR_NO_MORE_ITEMS", "No more data is available.", "NotFound"),
    (W(1010), "ERROR_BADKEY", "The configuration registry key is invalid.", "InvalidArgument"),
    (W(1100), "ERROR_END_OF_MEDIA", "The physical end of the tape has been reached.", "BadData"),
    (W(1168), "ERROR_NOT_FOUND", "Element not found.", "NotFound"),
    (W(1312), "ERROR_NO_SUCH_LOGON_SESSION", "A specified logon session does not exist. It may already have been terminated.", "SystemFailure"),
    (W(1332), "ERROR_NONE_MAPPED", "No mapping between account names and security IDs was done.", "NotFound"),
    (W(1336), "ERROR_INVALID_ACL", "The access control list (ACL) structure is invalid.", "InvalidArgument"),
    (W(1337), "ERROR_INVALID_SID", "The security ID structure is invalid.", "InvalidArgument"),
    (W(1338), "ERROR_INVALID_SECURITY_DESCR", "The security descriptor structure is invalid.", "InvalidArgument"),
    (W(1804), "ERROR_INVALID_DATATYPE", "The specified datatype is invalid.", "InvalidArgument"),
    (W(1747), "RPC_S_UNKNOWN_AUTHN_SERVICE", "The authentication service is unknown.", "SystemFailure"),
    (W(1780), "RPC_X_NULL_REF_POINTER", "A null reference pointer was passed to the stub.", "InvalidArgument"),
    # --- identities / security descriptors (capi.identity, capi.security) ---
    (W(1305), "ERROR_UNKNOWN_REVISION", "The revision level is unknown.", "InvalidArgument"),
    (W(1326), "ERROR_LOGON_FAILURE", "The user name or password is incorrect.", "AccessDenied"),
    (W(1722), "RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable.", "SystemFailure"),
    (W(2224), "NERR_UserExists", "The account already exists.", "AlreadyExists"),
    # --- event log (winerror.h ERROR_EVT_*) ---
    # Texts checked against winerror.h MessageText copies (mingw-w64 style headers) and
    # wevtutil output quoted in public tests (exit 15007, "The specified channel could not
    # be found.").
    (W(15001), "ERROR_EVT_INVALID_QUERY", "The specified query is invalid.", "InvalidArgument"),
    (W(15007), "ERROR_EVT_CHANNEL_NOT_FOUND", "The specified channel could not be found.", "NotFound"),
    # --- file paths the key store builds (csp.keyfiles): winerror.h value and MessageText ---
    (W(206), "ERROR_FILENAME_EXCED_RANGE", "The filename or extension is too long.", "InvalidArgument"),
    # --- winpki machine create: a directory that already holds other files (winerror.h
    # value and MessageText; 0x91, as .NET's and Wine's copies of winerror.h give it) ---
    (W(145), "ERROR_DIR_NOT_EMPTY", "The directory is not empty.", "AlreadyExists"),
    # the tools' answer to input nested deeper than they recurse (certutil -asn of a DER
    # nested thousands deep); winerror.h value and MessageText
    (W(1001), "ERROR_STACK_OVERFLOW", "Recursion too deep; the stack overflowed.", "SystemFailure"),
    # --- certreq INF files (winpki.tools.certreq): SetupAPI's ERROR_LINE_NOT_FOUND as an HRESULT ---
    # (value and MessageText as in winerror.h; also quoted in real setupapi.dev.log lines)
    (0x800F0102, "SPAPI_E_LINE_NOT_FOUND", "The required line was not found in the INF.", "NotFound"),
    # --- http.sys asked for a client certificate after a TLS 1.3 handshake (Windows Server
    # 2025: IIS answers 500.0 with this code; schannel.clientcert); winerror.h value and
    # MessageText ---
    (W(50), "ERROR_NOT_SUPPORTED", "The request is not supported.", "NotImplementedCall"),
    # --- HTTP Server API 2.0 (schannel.httpapi): HttpCreateServerSession /
    # HttpCreateRequestQueue with a version other than 2.0; winerror.h value and MessageText ---
    (W(1306), "ERROR_REVISION_MISMATCH", "Indicates two revision levels are incompatible.", "InvalidArgument"),
    # --- generic HRESULTs ---
    (0x80004001, "E_NOTIMPL", "Not implemented", "NotImplementedCall"),
    (0x80004005, "E_FAIL", "Unspecified error", "SystemFailure"),
    (0x8000FFFF, "E_UNEXPECTED", "Catastrophic failure", "SystemFailure"),
    (0x80070005, "E_ACCESSDENIED", "Access is denied.", "AccessDenied"),
    (0x80070057, "E_INVALIDARG", "The parameter is incorrect.", "InvalidArgument"),
    (0x8007000E, "E_OUTOFMEMORY", "Not enough memory resources are available to complete this operation.", "SystemFailure"),
    (0x8002802C, "TYPE_E_AMBIGUOUSNAME", "Ambiguous name.", "InvalidArgument"),
    # --- NTE_* (CryptoAPI / CNG) ---
    # MessageText as in winerror.h ("Keyset does not exist" has no full stop); MS-ERREF
    # rewords several of these ("Key set does not exist."), FormatMessage does not.
    (0x80090001, "NTE_BAD_UID", "Bad UID.", "InvalidArgument"),
    (0x80090002, "NTE_BAD_HASH", "Bad Hash.", "BadData"),
    (0x80090003, "NTE_BAD_KEY", "Bad Key.", "BadKey"),
    (0x80090004, "NTE_BAD_LEN", "Bad Length.", "BadData"),
    (0x80090005, "NTE_BAD_DATA", "Bad Data.", "BadData"),
    (0x80090006, "NTE_BAD_SIGNATURE", "Invalid Signature.", "BadData"),
    (0x80090007, "NTE_BAD_VER", "Bad Version of provider.", "ProviderError"),
    (0x80090008, "NTE_BAD_ALGID", "Invalid algorithm specified.", "BadAlgorithm"),
    (0x80090009, "NTE_BAD_FLAGS", "Invalid flags specified.", "InvalidArgument"),
    (0x8009000A, "NTE_BAD_TYPE", "Invalid type specified.", "InvalidArgument"),
    (0x8009000B, "NTE_BAD_KEY_STATE", "Key not valid for use in specified state.", "BadKeyState"),
    (0x8009000C, "NTE_BAD_HASH_STATE", "Hash not valid for use in specified state.", "BadKeyState"),
    (0x8009000D, "NTE_NO_KEY", "Key does not exist.", "NotFound"),
    (0x8009000E, "NTE_NO_MEMORY", "Insufficient memory available for the operation.", "SystemFailure"),
    (0x8009000F, "NTE_EXISTS", "Object already exists.", "AlreadyExists"),
    (0x80090010, "NTE_PERM", "Access denied.", "AccessDenied"),
    (0x80090011, "NTE_NOT_FOUND", "Object was not found.", "NotFound"),
    (0x80090012, "NTE_DOUBLE_ENCRYPT", "Data already encrypted.", "BadData"),
    (0x80090013, "NTE_BAD_PROVIDER", "Invalid provider specified.", "ProviderError"),
    (0x80090014, "NTE_BAD_PROV_TYPE", "Invalid provider type specified.", "ProviderError"),
    (0x80090015, "NTE_BAD_PUBLIC_KEY", "Provider's public key is invalid.", "BadKey"),
    (0x80090016, "NTE_BAD_KEYSET", "Keyset does not exist", "BadKeyset"),
    (0x80090017, "NTE_PROV_TYPE_NOT_DEF", "Provider type not defined.", "ProviderError"),
    (0x80090018, "NTE_PROV_TYPE_ENTRY_BAD", "Provider type as registered is invalid.", "ProviderError"),
    (0x80090019, "NTE_KEYSET_NOT_DEF", "The keyset is not defined.", "BadKeyset"),
    (0x8009001A, "NTE_KEYSET_ENTRY_BAD", "Keyset as registered is invalid.", "BadKeyset"),
    (0x8009001B, "NTE_PROV_TYPE_NO_MATCH", "Provider type does not match registered value.", "ProviderError"),
    (0x8009001C, "NTE_SIGNATURE_FILE_BAD", "The digital signature file is corrupt.", "ProviderError"),
    (0x8009001D, "NTE_PROVIDER_DLL_FAIL", "Provider DLL failed to initialize correctly.", "ProviderError"),
    (0x8009001E, "NTE_PROV_DLL_NOT_FOUND", "Provider DLL could not be found.", "ProviderError"),
    (0x8009001F, "NTE_BAD_KEYSET_PARAM", "The Keyset parameter is invalid.", "InvalidArgument"),
    (0x80090020, "NTE_FAIL", "An internal error occurred.", "SystemFailure"),
    (0x80090021, "NTE_SYS_ERR", "A base error occurred.", "SystemFailure"),
    (0x80090022, "NTE_SILENT_CONTEXT", "Provider could not perform the action since the context was acquired as silent.", "InvalidArgument"),
    (0x80090023, "NTE_TOKEN_KEYSET_STORAGE_FULL", "The security token does not have storage space available for an additional container.", "SmartCardError"),
    (0x80090026, "NTE_INVALID_HANDLE", "The supplied handle is invalid.", "InvalidArgument"),
    (0x80090027, "NTE_INVALID_PARAMETER", "The parameter is incorrect.", "InvalidArgument"),
    (0x80090028, "NTE_BUFFER_TOO_SMALL", "The buffer supplied to a function was too small.", "InvalidArgument"),
    (0x80090029, "NTE_NOT_SUPPORTED", "The requested operation is not supported.", "NotImplementedCall"),
    (0x8009002A, "NTE_NO_MORE_ITEMS", "No more data is available.", "NotFound"),
    (0x80090030, "NTE_DEVICE_NOT_READY", "The device that is required by this cryptographic provider is not ready for use.", "SmartCardError"),
    # --- SEC_E_* (SSPI / Schannel) ---
    # winerror.h/issperr.h MessageText: most SEC_E_* texts carry no full stop.
    (0x80090300, "SEC_E_INSUFFICIENT_MEMORY", "Not enough memory is available to complete this request", "CredentialsError"),
    (0x80090305, "SEC_E_SECPKG_NOT_FOUND", "The requested security package does not exist", "CredentialsError"),
    (0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS", "The credentials supplied to the package were not recognized", "CredentialsError"),
    (0x8009030E, "SEC_E_NO_CREDENTIALS", "No credentials are available in the security package", "CredentialsError"),
    (0x80090331, "SEC_E_ALGORITHM_MISMATCH", "The client and server cannot communicate, because they do not possess a common algorithm.", "CredentialsError"),
    # SSPI stream contexts (schannel/secur32.py): winerror.h MessageText, as FormatMessage
    # prints them (Microsoft "SSPI Status Codes" lists the same codes).
    (0x80090301, "SEC_E_INVALID_HANDLE", "The handle specified is invalid", "CredentialsError"),
    (0x80090302, "SEC_E_UNSUPPORTED_FUNCTION", "The function requested is not supported", "CredentialsError"),
    (0x80090304, "SEC_E_INTERNAL_ERROR", "The Local Security Authority cannot be contacted", "CredentialsError"),
    (0x80090308, "SEC_E_INVALID_TOKEN", "The token supplied to the function is invalid", "CredentialsError"),
    (0x80090317, "SEC_E_CONTEXT_EXPIRED", "The context has expired and can no longer be used.", "CredentialsError"),
    (0x80090318, "SEC_E_INCOMPLETE_MESSAGE", "The supplied message is incomplete. The signature was not verified.", "CredentialsError"),
    (0x80090321, "SEC_E_BUFFER_TOO_SMALL", "The buffers supplied to a function was too small.", "CredentialsError"),
    (0x80090322, "SEC_E_WRONG_PRINCIPAL", "The target principal name is incorrect.", "CredentialsError"),
    (0x80090325, "SEC_E_UNTRUSTED_ROOT", "The certificate chain was issued by an authority that is not trusted.", "CredentialsError"),
    (0x80090326, "SEC_E_ILLEGAL_MESSAGE", "The message received was unexpected or badly formatted.", "CredentialsError"),
    (0x80090327, "SEC_E_CERT_UNKNOWN", "An unknown error occurred while processing the certificate.", "CredentialsError"),
    (0x80090328, "SEC_E_CERT_EXPIRED", "The received certificate has expired.", "CredentialsError"),
    (0x80090330, "SEC_E_DECRYPT_FAILURE", "The specified data could not be decrypted.", "CredentialsError"),
    (0x80090349, "SEC_E_CERT_WRONG_USAGE", "The certificate is not valid for the requested usage.", "CredentialsError"),
    # --- CRYPT_E_* ---
    (0x80091004, "CRYPT_E_INVALID_MSG_TYPE", "Invalid cryptographic message type.", "EncodingError"),
    (0x80092002, "CRYPT_E_BAD_ENCODE", "An error occurred during encode or decode operation.", "EncodingError"),
    (0x80092003, "CRYPT_E_FILE_ERROR", "An error occurred while reading or writing to a file.", "EncodingError"),
    (0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.", "NotFound"),
    (0x80092005, "CRYPT_E_EXISTS", "The object or property already exists.", "AlreadyExists"),
    (0x80092006, "CRYPT_E_NO_PROVIDER", "No provider was specified for the store or object.", "ProviderError"),
    # winerror.h: CRYPT_E_SELF_SIGNED is 0x80092007 (0x80092008 is CRYPT_E_DELETED_PREV);
    # the value and text as in the SDK-derived tables of ziglang/zig (std/os/windows) and
    # impacket's MS-ERREF table (fortra/impacket hresult_errors.py).
    (0x80092007, "CRYPT_E_SELF_SIGNED", "The specified certificate is self signed.", "InvalidArgument"),
    (0x8009200B, "CRYPT_E_NO_KEY_PROPERTY", "Cannot find the certificate and private key for decryption.", "NotFound"),
    (0x8009200F, "CRYPT_E_PENDING_CLOSE", "Final closure is pending until additional frees or closes.", "InvalidArgument"),
    # --- certificate stores (capi/stores.py, capi/serialization.py) ---
    # CRYPT_E_NO_MATCH text: .NET's CAPI interop constants and zig's winerror table agree.
    (0x80092009, "CRYPT_E_NO_MATCH", "Cannot find the requested object.", "NotFound"),
    (0x80093102, "CRYPT_E_ASN1_EOD", "ASN1 unexpected end of data.", "EncodingError"),
    (0x80093103, "CRYPT_E_ASN1_CORRUPT", "ASN1 corrupted data.", "EncodingError"),
    (0x8009310B, "CRYPT_E_ASN1_BADTAG", "ASN1 bad tag value met.", "EncodingError"),
    (0x80092010, "CRYPT_E_REVOKED", "The certificate is revoked.", "TrustError"),
    (0x80092012, "CRYPT_E_NO_REVOCATION_CHECK", "The revocation function was unable to check revocation for the certificate.", "TrustError"),
    # --- Certificate Services (capi.certsrv) ---
    # 0x8009400A's text is the one "Key Archival and Management in Windows Server 2003"
    # (Microsoft) quotes in certreq's COM Error Info; the others as winerror.h / MS-ERREF
    # 2.1 word them.
    (0x8009400A, "CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED", "Cannot archive private key.  The certification authority is not configured for key archival.", "SystemFailure"),
    (0x8009400B, "CERTSRV_E_NO_VALID_KRA", "Cannot archive private key.  The certification authority could not verify one or more key recovery certificates.", "SystemFailure"),
    (0x80094002, "CERTSRV_E_NO_REQUEST", "The request does not exist.", "NotFound"),
    (0x80094003, "CERTSRV_E_BAD_REQUESTSTATUS", "The request's current status does not allow this operation.", "InvalidArgument"),
    (0x80094004, "CERTSRV_E_PROPERTY_EMPTY", "The requested property value is empty.", "NotFound"),
    (0x80094008, "CERTSRV_E_ROLECONFLICT", "The operation is denied. The user has multiple roles assigned, and the CA is configured to enforce role separation.", "AccessDenied"),
    (0x8009400C, "CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL", "The request is incorrectly formatted. The encrypted private key must be in an unauthenticated attribute in an outermost signature.", "BadData"),
    (0x80094011, "CERTSRV_E_ENROLL_DENIED", "The permissions on this CA do not allow the current user to enroll for certificates.", "AccessDenied"),
    (0x80094012, "CERTSRV_E_TEMPLATE_DENIED", "The permissions on the certificate template do not allow the current user to enroll for this type of certificate.", "AccessDenied"),
    (0x80094800, "CERTSRV_E_UNSUPPORTED_CERT_TYPE", "The requested certificate template is not supported by this CA.", "InvalidArgument"),
    (0x80094801, "CERTSRV_E_NO_CERT_TYPE", "The request contains no certificate template information.", "InvalidArgument"),
    (0x80094804, "CERTSRV_E_ARCHIVED_KEY_REQUIRED", "The request is missing a required private key for archival by the server.", "InvalidArgument"),
    (0x80094810, "CERTSRV_E_ARCHIVED_KEY_UNEXPECTED", "The request includes a private key for archival by the server, but key archival is not enabled for the specified certificate template.", "InvalidArgument"),
    (0x80094811, "CERTSRV_E_KEY_LENGTH", "The public key does not meet the minimum size required by the specified certificate template.", "InvalidArgument"),
    (0x80094813, "CERTSRV_E_UNKNOWN_CERT_TYPE", "One or more certificate templates to be enabled on this CA could not be found.", "NotFound"),
    (0x80095000, "XENROLL_E_KEY_NOT_EXPORTABLE", "The key is not exportable.", "BadKeyState"),
    # --- CERT_E_* / TRUST_E_* ---
    # CERT_E_EXPIRED / CERT_E_UNTRUSTEDROOT as FormatMessage prints them ("timestamp";
    # "which is not trusted"): Microsoft support article on NDES, setupapi.dev.log lines
    # "Error 0x800b0109: ...", Add-AppxPackage output quoted in public issues.
    (0x800B0101, "CERT_E_EXPIRED", "A required certificate is not within its validity period when verifying against the current system clock or the timestamp in the signed file.", "TrustError"),
    (0x800B0109, "CERT_E_UNTRUSTEDROOT", "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider.", "TrustError"),
    (0x800B010A, "CERT_E_CHAINING", "A certificate chain could not be built to a trusted root authority.", "TrustError"),
    (0x800B010F, "CERT_E_CN_NO_MATCH", "The certificate's CN name does not match the passed value.", "TrustError"),
    (0x800B0110, "CERT_E_WRONG_USAGE", "The certificate is not valid for the requested usage.", "TrustError"),
    (0x800B010C, "CERT_E_REVOKED", "A certificate was explicitly revoked by its issuer.", "TrustError"),
    (0x80096004, "TRUST_E_CERT_SIGNATURE", "The signature of the certificate cannot be verified.", "TrustError"),
    (0x800B0113, "CERT_E_INVALID_POLICY", "The certificate has invalid policy.", "TrustError"),
    (0x800B0114, "CERT_E_INVALID_NAME", "The certificate has an invalid name. The name is not included in the permitted list or is explicitly excluded.", "TrustError"),
    # --- certificate chains (capi/chain.py): winerror.h values and MessageText ---
    # (0x800B0111 is TRUST_E_EXPLICIT_DISTRUST; CERT_E_UNTRUSTEDCA is 0x800B0112.)
    (0x800B0111, "TRUST_E_EXPLICIT_DISTRUST", "The certificate was explicitly marked as untrusted by the user.", "TrustError"),
    (0x800B0112, "CERT_E_UNTRUSTEDCA", "A certification chain processed correctly, but one of the CA certificates is not trusted by the policy provider.", "TrustError"),
    (0x80092013, "CRYPT_E_REVOCATION_OFFLINE", "The revocation function was unable to check revocation because the revocation server was offline.", "TrustError"),
    (0x80096019, "TRUST_E_BASIC_CONSTRAINTS", "A certificate's basic constraint extension has not been observed.", "TrustError"),
    # --- SCARD_* ---
    (0x8010000C, "SCARD_E_NO_SMARTCARD", "The operation requires a Smart Card, but no Smart Card is currently in the device.", "SmartCardError"),
    (0x80100004, "SCARD_E_INVALID_PARAMETER", "One or more of the supplied parameters could not be properly interpreted.", "SmartCardError"),
    (0x8010002E, "SCARD_E_NO_READERS_AVAILABLE", "Cannot find a smart card reader.", "SmartCardError"),
    (0x80100069, "SCARD_W_REMOVED_CARD", "The smart card has been removed, so that further communication is not possible.", "SmartCardError"),
    (0x8010006B, "SCARD_W_WRONG_CHV", "The card cannot be accessed because the wrong PIN was presented.", "SmartCardError"),
    (0x8010006C, "SCARD_W_CHV_BLOCKED", "The card cannot be accessed because the maximum number of PIN entry attempts has been reached.", "SmartCardError"),
    (0x80100070, "SCARD_W_CARD_NOT_AUTHENTICATED", "No PIN was presented to the smart card.", "SmartCardError"),
    # --- crypt32 encode/decode and string conversion (capi/crypt32): winerror.h / ntstatus.h ---
    (0x80093104, "CRYPT_E_ASN1_LARGE", "ASN1 value too large.", "EncodingError"),
    (0x8009310C, "CRYPT_E_ASN1_CHOICE", "ASN1 bad choice value.", "EncodingError"),
    (0x80092020, "CRYPT_E_INVALID_NUMERIC_STRING", "The string contains a non-numeric character.", "EncodingError"),
    (0x80092021, "CRYPT_E_INVALID_PRINTABLE_STRING", "The string contains a non-printable character.", "EncodingError"),
    (0x80092022, "CRYPT_E_INVALID_IA5_STRING", "The string contains a character not in the 7 bit ASCII character set.", "EncodingError"),
    (0x80092023, "CRYPT_E_INVALID_X500_STRING", "The string contains an invalid X500 name attribute key, oid, value or delimiter.", "EncodingError"),
    (0x80092024, "CRYPT_E_NOT_CHAR_STRING", "The dwValueType for the CERT_NAME_VALUE is not one of the character strings.  Most likely it is either a CERT_RDN_ENCODED_BLOB or CERT_RDN_OCTET_STRING.", "EncodingError"),
    (NT(0xC0000005), "STATUS_ACCESS_VIOLATION", "The instruction at 0x%p referenced memory at 0x%p. The memory could not be %s.", "InvalidArgument"),
    # --- NTSTATUS (bcrypt.dll returns these; ntstatus.h values, MS-ERREF 2.3.1 texts) ---
    (NT(0xC0000008), "STATUS_INVALID_HANDLE", "An invalid HANDLE was specified.", "InvalidArgument"),
    (NT(0xC000000D), "STATUS_INVALID_PARAMETER", "An invalid parameter was passed to a service or function.", "InvalidArgument"),
    (NT(0xC0000017), "STATUS_NO_MEMORY", "{Not Enough Quota} Not enough virtual memory or paging file quota is available to complete the specified operation.", "SystemFailure"),
    (NT(0xC0000022), "STATUS_ACCESS_DENIED", "{Access Denied} A process has requested access to an object but has not been granted those access rights.", "AccessDenied"),
    (NT(0xC0000023), "STATUS_BUFFER_TOO_SMALL", "{Buffer Too Small} The buffer is too small to contain the entry. No information has been written to the buffer.", "InvalidArgument"),
    (NT(0xC000003E), "STATUS_DATA_ERROR", "{Data Error} An error occurred in reading or writing data.", "BadData"),
    (NT(0xC00000BB), "STATUS_NOT_SUPPORTED", "The request is not supported.", "NotImplementedCall"),
    (NT(0xC00000E5), "STATUS_INTERNAL_ERROR", "An internal error occurred.", "SystemFailure"),
    (NT(0xC0000206), "STATUS_INVALID_BUFFER_SIZE", "The size of the buffer is invalid for the specified operation.", "InvalidArgument"),
    (NT(0xC0000225), "STATUS_NOT_FOUND", "The object was not found.", "NotFound"),
    (NT(0xC000A000), "STATUS_INVALID_SIGNATURE", "The cryptographic signature is invalid.", "BadData"),
    (NT(0xC000A002), "STATUS_AUTH_TAG_MISMATCH", "The computed authentication tag did not match the input authentication tag.", "BadData"),
    # crypt32 helpers and chain checks (winerror.h names, values and texts)
    (0x800B0105, "CERT_E_CRITICAL", "A certificate contains an unknown extension that is marked 'critical'.", "TrustError"),
    # --- crypt32 CRLs and cryptographic messages (capi/crypt32/crl.py, msg.py): winerror.h ---
    (0x80091001, "CRYPT_E_MSG_ERROR", "An error occurred while performing an operation on a cryptographic message.", "EncodingError"),
    (0x80091002, "CRYPT_E_UNKNOWN_ALGO", "Unknown cryptographic algorithm.", "BadAlgorithm"),
    (0x80091005, "CRYPT_E_UNEXPECTED_ENCODING", "Unexpected cryptographic message encoding.", "EncodingError"),
    (0x80091006, "CRYPT_E_AUTH_ATTR_MISSING", "The cryptographic message does not contain an expected authenticated attribute.", "EncodingError"),
    (0x80091007, "CRYPT_E_HASH_VALUE", "The hash value is not correct.", "BadData"),
    (0x80091008, "CRYPT_E_INVALID_INDEX", "The index value is not valid.", "InvalidArgument"),
    (0x80091009, "CRYPT_E_ALREADY_DECRYPTED", "The content of the cryptographic message has already been decrypted.", "InvalidArgument"),
    (0x8009100A, "CRYPT_E_NOT_DECRYPTED", "The content of the cryptographic message has not been decrypted yet.", "InvalidArgument"),
    (0x8009100B, "CRYPT_E_RECIPIENT_NOT_FOUND", "The enveloped-data message does not contain the specified recipient.", "NotFound"),
    (0x8009100C, "CRYPT_E_CONTROL_TYPE", "Invalid control type.", "InvalidArgument"),
    (0x8009100D, "CRYPT_E_ISSUER_SERIALNUMBER", "Invalid issuer and/or serial number.", "InvalidArgument"),
    (0x8009100E, "CRYPT_E_SIGNER_NOT_FOUND", "Cannot find the original signer.", "NotFound"),
    (0x8009100F, "CRYPT_E_ATTRIBUTES_MISSING", "The cryptographic message does not contain all of the requested attributes.", "EncodingError"),
    (0x80091010, "CRYPT_E_STREAM_MSG_NOT_READY", "The streamed cryptographic message is not ready to return data.", "InvalidArgument"),
    (0x80091011, "CRYPT_E_STREAM_INSUFFICIENT_DATA", "The streamed cryptographic message requires more data to complete the decode operation.", "EncodingError"),
    (0x80092008, "CRYPT_E_DELETED_PREV", "The previous certificate or CRL context was deleted.", "InvalidArgument"),
    (0x8009200A, "CRYPT_E_UNEXPECTED_MSG_TYPE", "The type of the cryptographic message being decoded is different than what was expected.", "EncodingError"),
    (0x8009200C, "CRYPT_E_NO_DECRYPT_CERT", "Cannot find the certificate and private key to use for decryption.", "NotFound"),
    (0x8009200D, "CRYPT_E_BAD_MSG", "Not a cryptographic message or the cryptographic message is not formatted correctly.", "EncodingError"),
    (0x8009200E, "CRYPT_E_NO_SIGNER", "The signed cryptographic message does not have a signer for the specified signer index.", "NotFound"),
    (0x80092011, "CRYPT_E_NO_REVOCATION_DLL", "No Dll or exported function was found to verify revocation.", "TrustError"),
]

# Win32 codes by their own value; HRESULTs (including E_ACCESSDENIED, which shares its
# value with HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)) by theirs.
WIN32: dict[int, HResultInfo] = {}
HRESULTS: dict[int, HResultInfo] = {}
# NTSTATUS codes live in HRESULTS under their own value (none collides with an HRESULT);
# this set tells them apart so WinError can give them a ``.status``.
NTSTATUS_CODES: set[int] = set()
for _code, _name, _msg, _fam in _TABLE:
    if isinstance(_code, W):
        WIN32[int(_code)] = HResultInfo(HRESULT_FROM_WIN32(int(_code)), _name, _msg, _fam)
    else:
        HRESULTS[int(_code)] = HResultInfo(int(_code), _name, _msg, _fam)
        if isinstance(_code, NT):
            NTSTATUS_CODES.add(int(_code))
BY_NAME: dict[str, HResultInfo] = {i.name: i for i in (*WIN32.values(), *HRESULTS.values())}


def lookup(code: int) -> tuple[HResultInfo | None, int, int]:
    """(table entry, HRESULT, GetLastError value) for a Win32 code or an HRESULT.

    A Win32 code (1312) is raised as its HRESULT (0x80070520) and reported by
    GetLastError as itself; a CryptoAPI HRESULT (NTE_BAD_KEYSET) is reported as itself.
    """
    code = int(code) & 0xFFFFFFFF
    if code and code <= 0xFFFF:
        return WIN32.get(code), HRESULT_FROM_WIN32(code), code
    if code in HRESULTS:
        return HRESULTS[code], code, code
    if code & 0xFFFF0000 == 0x80070000 and (code & 0xFFFF) in WIN32:
        return WIN32[code & 0xFFFF], code, code & 0xFFFF
    return None, code, code


def normalize(code: int) -> int:
    """Accept a Win32 error code, a signed or unsigned HRESULT; return the unsigned HRESULT."""
    return lookup(code)[1]


def win32_code(code: int) -> int:
    """What GetLastError() returns after a failure raised with ``code``."""
    return lookup(code)[2]


def message(code: int) -> str:
    info, hr, _ = lookup(code)
    return info.message if info else f"Unknown error 0x{hr:08X}"


def symbolic_name(code: int) -> str:
    info, hr, _ = lookup(code)
    return info.name if info else f"0x{hr:08X}"


# Module-level constants for every code in the table, so `from capi.errors import *`
# gives NTE_BAD_KEYSET and friends with their real values. Win32 names carry their
# Win32 value, as in winerror.h.
_exports: dict[str, int] = {i.name: i.code for i in HRESULTS.values()}
_exports.update({i.name: code for code, i in WIN32.items()})
globals().update(_exports)
ERROR_CODE_NAMES = sorted(_exports)


# ---------------------------------------------------------------------------------------
# GetLastError
# ---------------------------------------------------------------------------------------

_last = threading.local()


def GetLastError() -> int:
    """GetLastError: the last failure's code on the calling thread."""
    return getattr(_last, "code", 0)


def SetLastError(code: int) -> None:
    """SetLastError."""
    _last.code = int(code) & 0xFFFFFFFF


def winapi(func: _F) -> _F:
    """Decorator for facade functions: a failure leaves its code in GetLastError(), as the
    Win32 function would, and propagates unchanged."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WinError as exc:
            SetLastError(exc.winerror)
            raise

    return wrapper


def win32_failure(code: int, message: str | None = None, detail: str | None = None) -> WinError:
    """Build the exception for ``code`` and record it as the thread's last error."""
    exc = WinError(code, message, detail)
    SetLastError(exc.winerror)
    return exc


__all__ = [
    "WinError", "NotFound", "AlreadyExists", "AccessDenied", "InvalidArgument", "BadKeyset",
    "BadKey", "BadKeyState", "BadData", "BadAlgorithm", "ProviderError", "EncodingError",
    "InvalidPassword", "SmartCardError", "CredentialsError", "TrustError",
    "NotImplementedCall", "SystemFailure", "HRESULTS", "WIN32", "BY_NAME", "NTSTATUS_CODES", "HResultInfo", "lookup", "HRESULT_FROM_WIN32",
    "GetLastError", "SetLastError", "normalize", "win32_code", "message", "symbolic_name",
    "to_signed", "win32_failure", "winapi", *ERROR_CODE_NAMES,
]

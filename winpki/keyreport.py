"""The key section certutil prints for a certificate, and the key tests behind it.

Shared by ``-store``, ``-repairstore``, ``-verifykeys`` and ``winpki doctor``: what the
certificate's CERT_KEY_PROV_INFO_PROP_ID says, whether that key can be opened by the
current identity, whether it is exportable, and whether it works (``Encryption test
passed`` for key-exchange keys, ``Signature test passed`` for signature keys).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from capi import constants as C
from capi.errors import WinError

KEYSPEC_NAMES = {
    C.AT_NONE: "AT_NONE",
    C.AT_KEYEXCHANGE: "AT_KEYEXCHANGE",
    C.AT_SIGNATURE: "AT_SIGNATURE",
}


@dataclass
class KeyReport:
    """What certutil finds out about a certificate's private key."""

    prov_info: object | None = None  # CRYPT_KEY_PROV_INFO
    unique_name: str | None = None
    exportable: bool | None = None
    plaintext_exportable: bool | None = None
    test: str | None = None  # "Encryption" | "Signature"
    passed: bool | None = None
    error: WinError | None = None  # why the key could not be opened or tested
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return self.prov_info is not None and self.unique_name is None


def _test_capi_key(prov, spec: int, report: KeyReport) -> None:
    from capi.advapi32 import crypt as api

    key = api.CryptGetUserKey(prov, spec)
    try:
        perms = api.CryptGetKeyParam(key, C.KP_PERMISSIONS)
        report.exportable = bool(perms & C.CRYPT_EXPORT)
        pub_blob = api.CryptExportKey(key, None, C.PUBLICKEYBLOB, 0)
        if spec == C.AT_KEYEXCHANGE:
            report.test = "Encryption"
            probe = hashlib.sha1(pub_blob).digest()
            verify_prov = api.CryptAcquireContext(None, None, C.PROV_RSA_FULL,
                                                  C.CRYPT_VERIFYCONTEXT)
            try:
                pub = api.CryptImportKey(verify_prov, pub_blob, None, 0)
                cipher = api.CryptEncrypt(pub, None, True, 0, probe)
                plain = api.CryptDecrypt(key, None, True, 0, cipher)
                report.passed = plain == probe
            finally:
                api.CryptReleaseContext(verify_prov, 0)
        else:
            report.test = "Signature"
            h = api.CryptCreateHash(prov, C.CALG_SHA1, None, 0)
            api.CryptHashData(h, pub_blob, 0)
            sig = api.CryptSignHash(h, spec, None, 0)
            api.CryptVerifySignature(h, sig, key, None, 0)
            report.passed = True
    finally:
        api.CryptDestroyKey(key)


def _test_cng_key(info, report: KeyReport) -> None:
    from capi.ncrypt import keystorage as api

    flags = C.NCRYPT_MACHINE_KEY_FLAG if info.dwFlags & C.CRYPT_MACHINE_KEYSET else 0
    with api.NCryptOpenStorageProvider(info.pwszProvName, 0) as prov:
        key = api.NCryptOpenKey(prov, info.pwszContainerName, 0, flags | C.NCRYPT_SILENT_FLAG)
        try:
            report.unique_name = api.NCryptGetProperty(key, C.NCRYPT_UNIQUE_NAME_PROPERTY, 0)
            policy = api.NCryptGetProperty(key, C.NCRYPT_EXPORT_POLICY_PROPERTY, 0)
            report.exportable = bool(policy & C.NCRYPT_ALLOW_EXPORT_FLAG)
            report.plaintext_exportable = bool(policy & C.NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG)
            usage = api.NCryptGetProperty(key, C.NCRYPT_KEY_USAGE_PROPERTY, 0)
            algorithm = api.NCryptGetProperty(key, C.NCRYPT_ALGORITHM_GROUP_PROPERTY, 0)
            probe = hashlib.sha256(report.unique_name.encode()).digest()
            if algorithm == "RSA" and usage & C.NCRYPT_ALLOW_DECRYPT_FLAG:
                report.test = "Encryption"
                cipher = api.NCryptEncrypt(key, probe, None, C.NCRYPT_PAD_PKCS1_FLAG)
                report.passed = api.NCryptDecrypt(key, cipher, None,
                                                  C.NCRYPT_PAD_PKCS1_FLAG) == probe
            else:
                report.test = "Signature"
                padding = api.BCRYPT_PKCS1_PADDING_INFO(C.BCRYPT_SHA256_ALGORITHM) \
                    if algorithm == "RSA" else None
                pad_flag = C.BCRYPT_PAD_PKCS1 if algorithm == "RSA" else 0
                sig = api.NCryptSignHash(key, padding, probe, pad_flag)
                api.NCryptVerifySignature(key, padding, probe, sig, pad_flag)
                report.passed = True
        finally:
            api.NCryptFreeObject(key)


def inspect(ctx) -> KeyReport:
    """Open and test the private key named by ``ctx``'s CERT_KEY_PROV_INFO_PROP_ID."""
    from capi.advapi32 import crypt as api
    from capi.crypt32.cert import CertGetCertificateContextProperty

    report = KeyReport()
    try:
        info = CertGetCertificateContextProperty(ctx, C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError:
        return report
    report.prov_info = info
    try:
        if info.dwProvType == 0:
            _test_cng_key(info, report)
            return report
        flags = C.CRYPT_SILENT | (info.dwFlags & C.CRYPT_MACHINE_KEYSET)
        prov = api.CryptAcquireContext(info.pwszContainerName, info.pwszProvName,
                                       info.dwProvType, flags)
        try:
            report.unique_name = api.CryptGetProvParam(prov, C.PP_UNIQUE_CONTAINER, 0)
            _test_capi_key(prov, info.dwKeySpec, report)
        finally:
            api.CryptReleaseContext(prov, 0)
    except WinError as exc:
        report.error = exc
        if report.test is not None:
            report.passed = False
    return report


def key_lines(ctx, *, verbose: bool = False, report: KeyReport | None = None) -> list[str]:
    """The lines certutil prints after a certificate for its key."""
    report = report or inspect(ctx)
    info = report.prov_info
    if info is None:
        # certutil prints the CRYPT_E_NO_KEY_PROPERTY text after this line.
        return ["No key provider information",
                "Cannot find the certificate and private key for decryption."]
    lines: list[str] = []
    if verbose:
        lines.append(f"CERT_KEY_PROV_INFO_PROP_ID({C.CERT_KEY_PROV_INFO_PROP_ID}):")
    lines.append(f"  Key Container = {info.pwszContainerName}")
    if report.unique_name:
        lines.append(f"  Unique container name: {report.unique_name}")
    lines.append(f"  Provider = {info.pwszProvName}")
    if verbose:
        lines.append(f"  ProviderType = {info.dwProvType:x}")
        lines.append(f"  Flags = {info.dwFlags:x}")
        spec = KEYSPEC_NAMES.get(info.dwKeySpec)
        lines.append(f"  KeySpec = {info.dwKeySpec}" + (f" -- {spec}" if spec else ""))
    if report.unique_name is None:
        lines.append("Missing stored keyset")
        return lines
    if report.exportable is False:
        lines.append("Private key is NOT exportable")
    elif report.plaintext_exportable is False:
        lines.append("Private key is NOT plain text exportable")
    if report.test:
        lines.append(f"{report.test} test {'passed' if report.passed else 'FAILED'}")
    return lines

"""Inputs that used to leave the API as a Python exception (ValueError, InvalidVersion,
UnicodeEncodeError, OSError) now give a Windows error, or are taken as Windows takes them.
"""

import io

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from helpers_pfx import cryptography_pfx, make_cert, material, pfx_with_mac
from test_cli_bad_input import snapshot

from capi import constants as C
from capi.crypt32.pfx import PFXImportCertStore
from capi.errors import (
    CRYPT_E_ASN1_BADTAG,
    CRYPT_E_BAD_ENCODE,
    ERROR_FILENAME_EXCED_RANGE,
    ERROR_INVALID_ACL,
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_SID,
    WinError,
)
from capi.host.security import SecurityDescriptor
from capi.testing import raises_hresult

# -- DER by hand: the malformed structures asn1crypto will not build --------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 128:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def _pfx(auth_safe: bytes, password: str = "pw") -> bytes:
    """A PFX around ``auth_safe`` (the AuthenticatedSafe's DER) with a right MAC."""
    return pfx_with_mac(auth_safe, b"\x01" * 8, password, 2048)


def _data_safe(*bags: bytes) -> bytes:
    safe_contents = _tlv(0x30, b"".join(bags))
    content_info = _tlv(0x30, _oid("1.2.840.113549.1.7.1") + _tlv(0xA0, _tlv(0x04, safe_contents)))
    return _tlv(0x30, content_info)


def _bag(bag_oid: str, value: bytes) -> bytes:
    return _tlv(0x30, _oid(bag_oid) + _tlv(0xA0, value))


# -- PFXImportCertStore --------------------------------------------------------------------


def test_pfx_content_info_whose_type_is_an_integer(machine):
    # AuthenticatedSafe { ContentInfo { INTEGER 1, [0] ... } }: was ValueError. An
    # undecodable PFX structure is CRYPT_E_BAD_ENCODE (the codec's code for the layers
    # around the keys; WiX "Failed to open PFX file" 0x80092002).
    content_info = _tlv(0x30, b"\x02\x01\x01" + _tlv(0xA0, _tlv(0x04, b"")))
    before = snapshot(machine)
    with raises_hresult(CRYPT_E_BAD_ENCODE):
        PFXImportCertStore(_pfx(_tlv(0x30, content_info)), "pw", C.CRYPT_EXPORTABLE)
    assert snapshot(machine) == before


def test_pfx_private_key_info_whose_version_is_null(machine):
    # A keyBag whose PrivateKeyInfo has NULL for its version: was ValueError. A wrong tag
    # inside the key's structure is the decoder's CRYPT_E_ASN1_BADTAG (dotnet/runtime
    # PfxFormatTests.OneCert_ExtraKeyBadEncoding(badTag: true), as the codec already gives).
    pki = material().p256.private_bytes(serialization.Encoding.DER,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    fields = core.Sequence.load(pki)
    parts = [b"\x05\x00"] + [fields[i].dump() for i in range(1, len(fields))]
    bag = _bag("1.2.840.113549.1.12.10.1.1", _tlv(0x30, b"".join(parts)))
    before = snapshot(machine)
    with raises_hresult(CRYPT_E_ASN1_BADTAG):
        PFXImportCertStore(_pfx(_data_safe(bag)), "pw", C.CRYPT_EXPORTABLE)
    assert snapshot(machine) == before


def test_pfx_certificate_of_version_18(machine):
    # A certBag holding a certificate whose version INTEGER is 17 ("v18"): was
    # cryptography's InvalidVersion. A certificate bag that does not decode is
    # CRYPT_E_BAD_ENCODE (dotnet/runtime PfxFormatTests.OneCorruptCert).
    der = make_cert(material().p256, "v18.example.test").public_bytes(
        serialization.Encoding.DER)
    at = der.index(b"\xa0\x03\x02\x01\x02")
    der = der[:at] + b"\xa0\x03\x02\x01\x11" + der[at + 5:]
    cert_bag = _tlv(0x30, _oid("1.2.840.113549.1.9.22.1") + _tlv(0xA0, _tlv(0x04, der)))
    before = snapshot(machine)
    with raises_hresult(CRYPT_E_BAD_ENCODE):
        PFXImportCertStore(_pfx(_data_safe(_bag("1.2.840.113549.1.12.10.1.3", cert_bag))),
                           "pw", C.CRYPT_EXPORTABLE)
    assert snapshot(machine) == before


def test_a_valid_pfx_still_imports(machine):
    with PFXImportCertStore(cryptography_pfx(2048), "pw", C.CRYPT_EXPORTABLE) as store:
        assert len(list(store)) == 1


# -- SDDL -----------------------------------------------------------------------------------


def test_sddl_rights_of_5000_digits_saturate():
    # Was ValueError (Python's limit on decimal conversion). Windows reads a number in
    # the rights with wcstoul (Wine dlls/sechost/security.c parse_ace_right), which
    # saturates at 0xFFFFFFFF, as winpki already did for an 11-digit number.
    sd = SecurityDescriptor.from_sddl("D:(A;;" + "1" * 5000 + ";;;WD)")
    assert sd.dacl[0].mask == 0xFFFFFFFF
    assert sd.dacl[0].mask == SecurityDescriptor.from_sddl("D:(A;;99999999999;;;WD)").dacl[0].mask


@pytest.mark.parametrize("text, code", [
    ("O:S-1-5-" + "9" * 5000, ERROR_INVALID_SID),
    ("O:S-1-" + "9" * 5000 + "-5", ERROR_INVALID_SID),
    ("G:S-" + "1" * 5000 + "-5-18", ERROR_INVALID_SID),
    ("D:(A;;GA;;;S-1-5-" + "9" * 5000 + ")", ERROR_INVALID_ACL),
])
def test_sddl_sids_of_5000_digits(text, code):
    # Was ValueError; a SID component out of range is ERROR_INVALID_SID for an owner or
    # group and ERROR_INVALID_ACL for an ACE trustee, as for any other bad SID there.
    with raises_hresult(code):
        SecurityDescriptor.from_sddl(text)


def test_sddl_sid_with_leading_zeros_is_still_read():
    assert str(SecurityDescriptor.from_sddl("O:S-1-5-" + "0" * 5000 + "18").owner) == "S-1-5-18"


# -- NCrypt key names ------------------------------------------------------------------------


def test_ncrypt_key_name_with_a_lone_surrogate(machine):
    # Was UnicodeEncodeError. Key names are UTF-16 strings on Windows, where a lone
    # surrogate is a valid WCHAR: the KSP takes it, and the file name is the MD5 of the
    # name's UTF-16LE as for any name.
    from capi.ncrypt.keystorage import (
        NCryptCreatePersistedKey,
        NCryptDeleteKey,
        NCryptEnumKeys,
        NCryptFinalizeKey,
        NCryptGetProperty,
        NCryptOpenKey,
        NCryptOpenStorageProvider,
    )

    prov = NCryptOpenStorageProvider(C.MS_KEY_STORAGE_PROVIDER)
    key = NCryptCreatePersistedKey(prov, "ECDSA_P256", "\ud800")
    NCryptFinalizeKey(key)
    opened = NCryptOpenKey(prov, "\ud800")
    assert NCryptGetProperty(opened, C.NCRYPT_NAME_PROPERTY) == "\ud800"
    assert [k.pszName for k in NCryptEnumKeys(prov)] == ["\ud800"]
    NCryptDeleteKey(opened)
    assert list(NCryptEnumKeys(prov)) == []


# -- IIS application pools and the key store's paths ----------------------------------------


@pytest.mark.parametrize("name", ["a/b", "pool:1", "x|y", 'q"', "at@host", "[p]"])
def test_app_pool_name_with_a_forbidden_character(machine, name):
    # IAppHostPropertySchema::ValidationType: applicationPoolName refuses |<>&\"/[]+=;:,?*@
    from schannel import iis

    before = snapshot(machine)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        iis.add_app_pool(machine, name)
    assert snapshot(machine) == before


def test_long_app_pool_name_key_paths_fail_with_a_windows_error(machine):
    # The configuration keeps a 300-character pool (WAS ignores it at run time, event
    # 5050). Its first user key was OSError [Errno 36]; the key folder under the pool's
    # profile would put every key file past MAX_PATH: ERROR_FILENAME_EXCED_RANGE, CAPI
    # and CNG alike, and nothing written.
    from capi.advapi32.crypt import CryptAcquireContext
    from capi.host.context import run_as
    from capi.ncrypt.keystorage import NCryptCreatePersistedKey, NCryptOpenStorageProvider
    from schannel import iis

    pool = iis.add_app_pool(machine, "p" * 300)
    before = snapshot(machine)
    with run_as(pool.account):
        with raises_hresult(ERROR_FILENAME_EXCED_RANGE):
            CryptAcquireContext("c1", None, C.PROV_RSA_FULL, C.CRYPT_NEWKEYSET)
        with raises_hresult(ERROR_FILENAME_EXCED_RANGE):
            NCryptCreatePersistedKey(NCryptOpenStorageProvider(C.MS_KEY_STORAGE_PROVIDER),
                                     "RSA", "k1")
    assert snapshot(machine) == before


# -- found by tests/test_fuzz_parsers.py -----------------------------------------------------


def _with_unknown_key_algorithm(der: bytes) -> bytes:
    ec_public_key = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
    at = der.index(ec_public_key)
    return der[:at + 2] + b"\x2b" + der[at + 3:]  # 1.3.840.10045.2.1: nobody's


def test_certutil_dump_of_a_certificate_with_an_unknown_key_algorithm(machine, tmp_path):
    # Was KeyError from asn1crypto's typed SubjectPublicKeyInfo; the key is now printed
    # by its algorithm OID and bytes.
    from helpers_badcerts import good_cert

    from winpki.cli import main

    path = tmp_path / "x.cer"
    path.write_bytes(_with_unknown_key_algorithm(good_cert()))
    out = io.StringIO()
    assert main(["certutil", "-dump", str(path)], out=out, err=out) == 0, out.getvalue()
    assert "    Algorithm ObjectId: 1.3.840.10045.2.1" in out.getvalue()


@pytest.mark.parametrize("make", [
    lambda: _with_unknown_key_algorithm(material().p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())),
    lambda: ec.generate_private_key(ec.SECP256K1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()),
    lambda: ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()),
], ids=["unknown-oid", "secp256k1", "ed25519"])
def test_ncrypt_import_of_a_pkcs8_key_the_ksp_lacks(machine, make):
    # Was UnsupportedAlgorithm / KeyError / AttributeError: NTE_NOT_SUPPORTED, the code
    # NCryptCreatePersistedKey gives for an algorithm the provider lacks.
    from capi.errors import NTE_NOT_SUPPORTED
    from capi.ncrypt.keystorage import NCryptImportKey, NCryptOpenStorageProvider

    prov = NCryptOpenStorageProvider(C.MS_KEY_STORAGE_PROVIDER)
    before = snapshot(machine)
    with raises_hresult(NTE_NOT_SUPPORTED):
        NCryptImportKey(prov, None, C.NCRYPT_PKCS8_PRIVATE_KEY_BLOB, None, make())
    assert snapshot(machine) == before


@pytest.mark.parametrize("subject", ['"CN="', '"CN=' + "x" * 65 + '"'])
def test_certreq_subject_cryptography_will_not_encode(machine, tmp_path, subject):
    # Was ValueError from cryptography's NameAttribute (CN of 1-64 characters), reported
    # as 0x80070057 by the tool's catch-all: now the INF's bad-Subject error with its line.
    from winpki.tools import certreq

    inf = tmp_path / "r.inf"
    inf.write_text(f"[NewRequest]\nSubject = {subject}\n")
    seen = []
    original = certreq.describe_failure
    certreq.describe_failure = lambda exc: seen.append(exc) or original(exc)
    try:
        before = snapshot(machine)
        out = io.StringIO()
        rc = certreq.run(["-new", "-q", str(inf), str(tmp_path / "r.req")], out, out)
    finally:
        certreq.describe_failure = original
    assert rc != 0
    assert seen and all(isinstance(e, WinError) for e in seen), seen
    assert snapshot(machine) == before

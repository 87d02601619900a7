"""certreq INF files as Microsoft's certreq reference writes them: [Strings] with %name%
substitution (the reference's EKU example), _continue_ lines, and [NewRequest] keys that
have no effect here but are accepted as Windows accepts them."""

from __future__ import annotations

import io

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from winpki.cli import main
from winpki.tools.certreq import parse_inf

# certreq reference (learn.microsoft.com, "certreq", INF example with [Strings]).
STRINGS_INF = """[Version]
Signature = "$Windows NT$"

[Strings]
szOID_ENHANCED_KEY_USAGE = "2.5.29.37"
szOID_PKIX_KP_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
szOID_PKIX_KP_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"

[NewRequest]
Subject = "CN=www.contoso.com"
KeyLength = 2048
MachineKeySet = TRUE
{extra}
[Extensions]
%szOID_ENHANCED_KEY_USAGE% = "{{text}}%szOID_PKIX_KP_SERVER_AUTH%,%szOID_PKIX_KP_CLIENT_AUTH%"
2.5.29.17 = "{{text}}"
_continue_ = "dns=www.contoso.com&"
_continue_ = "dns=contoso.com&"
"""


def _new(tmp_path, text):
    path = tmp_path / "request.inf"
    path.write_text(text)
    req = tmp_path / "r.req"
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certreq", "-new", str(path), str(req)], out, err)
    return rc, out.getvalue() + err.getvalue(), req


def test_strings_are_substituted_in_keys_and_values():
    inf = parse_inf(STRINGS_INF.format(extra=""))
    ext = inf.section("Extensions")
    assert ext[0] == ("2.5.29.37", "{text}1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2")
    assert ext[1] == ("2.5.29.17", "{text}dns=www.contoso.com&dns=contoso.com&")
    assert parse_inf('[a]\nk = "100%%"\n[Strings]\nx = 1\n').value("a", "k") == "100%"


def test_reference_eku_example_makes_a_request(machine, tmp_path):
    rc, text, req = _new(tmp_path, STRINGS_INF.format(extra=""))
    assert rc == 0, text
    csr = x509.load_pem_x509_csr(req.read_bytes())
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.contoso.com", "contoso.com"]


@pytest.mark.parametrize("line", [
    "KeyContainer = my-container", "KeyProtection = XCN_NCRYPT_UI_NO_PROTECTION_FLAG",
    "NotBefore = 7/24/2026 10:31 AM", "NotAfter = 7/24/2027 10:31 AM",
    "RequesterName = CONTOSO\\\\admin", "SecurityDescriptor = D:P(A;;GA;;;SY)",
    "AlternateSignatureAlgorithm = FALSE", "PrivateKeyArchive = FALSE", "SMIME = FALSE",
    "Silent = TRUE", "SuppressDefaults = TRUE", "UseExistingKeySet = FALSE",
    "KeyUsageProperty = 2", "ExportableEncrypted = FALSE", "EncryptionAlgorithm = 3des",
    "EncryptionLength = 168", "FriendlyName = web", "ValidityPeriod = Years",
])
def test_documented_newrequest_keys_are_accepted(machine, tmp_path, line):
    rc, text, _ = _new(tmp_path, STRINGS_INF.format(extra=line))
    assert rc == 0, text

"""winpki certreq -new / -submit / -accept with the machine CA."""

import io
import os

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from capi import *
from capi.certsrv.ca import MachineCA
from csp import capi_unique_name
from winpki.cli import main

INF = """[Version]
Signature= "$Windows NT$"

[NewRequest]
Subject = "CN=www.contoso.com, O=Contoso, C=US"
{extra}
[RequestAttributes]
CertificateTemplate = WebServer

[Extensions]
2.5.29.17 = "{{text}}"
_continue_ = "dns=www.contoso.com&"
_continue_ = "dns=contoso.com&"
"""


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out, err)
    return rc, out.getvalue().splitlines()


@pytest.fixture
def inf(tmp_path):
    def write(extra="", text=None):
        path = tmp_path / "request.inf"
        path.write_text(text if text is not None else INF.format(extra=extra))
        return str(path)

    return write


def _store(name, machine_keyset=True):
    loc = CERT_SYSTEM_STORE_LOCAL_MACHINE if machine_keyset else CERT_SYSTEM_STORE_CURRENT_USER
    return CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, loc, name)


def _only(store):
    items = list(store)
    assert len(items) == 1, items
    return items[0]


def _key_files(machine):
    out = []
    for d in (machine.machine_keys_dir, machine.cng_machine_keys_dir):
        host = machine.host_path(d)
        out += os.listdir(host) if host.is_dir() else []
    return out


def _enroll(tmp_path, inf_path, *new_opts):
    req, cer = str(tmp_path / "r.req"), str(tmp_path / "r.cer")
    rc, lines = run("certreq", "-new", *new_opts, inf_path, req)
    assert (rc, lines) == (0, ["CertReq: Request Created"])
    rc, lines = run("certreq", "-submit", "-config", "WEBSERVER\\WEBSERVER-CA", req, cer)
    assert rc == 0, lines
    rc, lines = run("certreq", "-accept", cer)
    assert rc == 0, lines
    return req, cer, lines


def test_new_writes_a_pkcs10_request_and_pending_key(machine, inf, tmp_path):
    req = tmp_path / "r.req"
    rc, lines = run("certreq", "-new", "-machine", inf("HashAlgorithm = sha256\n"), str(req))
    assert (rc, lines) == (0, ["CertReq: Request Created"])
    text = req.read_bytes().decode("ascii")
    assert text.startswith("-----BEGIN NEW CERTIFICATE REQUEST-----\r\n")
    csr = x509.load_pem_x509_csr(text.replace("NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST").encode())
    assert csr.is_signature_valid
    # CertStrToName keeps the written order: CN, O, C.
    assert [a.oid for a in csr.subject] == [NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME,
                                            NameOID.COUNTRY_NAME]
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.contoso.com", "contoso.com"]
    assert b"W\x00e\x00b\x00S\x00e\x00r\x00v\x00e\x00r" in csr.tbs_certrequest_bytes  # template, BMPString
    with _store("REQUEST") as pending:
        ctx = _only(pending)
        info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
        assert ctx.x509.public_key().public_numbers() == csr.public_key().public_numbers()
    # 2019: no ProviderName -> Microsoft Software Key Storage Provider (certreq docs).
    assert (info.pwszProvName, info.dwProvType, info.dwFlags) == (MS_KEY_STORAGE_PROVIDER, 0, CRYPT_MACHINE_KEYSET)


def test_full_enrollment_links_the_key(machine, inf, tmp_path):
    _, cer, lines = _enroll(tmp_path, inf("FriendlyName = \"Contoso web\"\n"), "-machine")
    assert lines[0] == "Installed Certificate:"
    assert lines[2] == "  Subject: CN=www.contoso.com, O=Contoso, C=US"
    # After Thumbprint: "  Friendly Name: ...", the provider, the key's container, a blank
    # line (Securosys signtool guide quoting certreq -new output with FriendlyName and a KSP).
    assert [line.split(":")[0] for line in lines[1:6]] == [
        "  Serial Number", "  Subject", "  NotBefore", "  NotAfter", "  Thumbprint"]
    assert lines[6] == "  Friendly Name: Contoso web"
    assert lines[7] == f"  {MS_KEY_STORAGE_PROVIDER}"
    assert lines[8].endswith("_" + machine.machine_guid) and lines[9] == ""
    with _store("REQUEST") as pending:
        assert list(pending) == []
    with _store("My") as my:
        ctx = [c for c in my if c.x509.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
               == "www.contoso.com"][0]
        assert CertGetCertificateContextProperty(ctx, CERT_FRIENDLY_NAME_PROP_ID) == "Contoso web"
        handle, spec, _ = CryptAcquireCertificatePrivateKey(
            ctx, CRYPT_ACQUIRE_COMPARE_KEY_FLAG | CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG)
        assert spec == CERT_NCRYPT_KEY_SPEC
        ca = MachineCA.find(machine)
        ctx.x509.verify_directly_issued_by(ca.certificate)
    rc, lines = run("certutil", "-store", "my", "www.contoso.com")
    assert rc == 0 and "Signature test passed" in lines or "Encryption test passed" in lines


def test_seed_002_scenario_3_keyspec_defaults_to_signature(make_machine, inf, tmp_path):
    """2008 R2: Strong CSP by default, and no KeySpec -> AT_SIGNATURE."""
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        _enroll(tmp_path, inf("MachineKeySet = TRUE\n"))
        rc, lines = run("certutil", "-v", "-store", "my", "www.contoso.com")
    assert rc == 0
    i = lines.index("CERT_KEY_PROV_INFO_PROP_ID(2):")
    # Windows: KeySpec defaults to AT_SIGNATURE when the INF omits it (0x80070520 article, scenario 3).
    assert lines[i + 3:i + 7] == ["  Provider = Microsoft Strong Cryptographic Provider",
                                  "  ProviderType = 1", "  Flags = 20", "  KeySpec = 2 -- AT_SIGNATURE"]


def test_keyspec_1_in_the_inf(make_machine, inf, tmp_path):
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        _enroll(tmp_path, inf("KeySpec = 1\nMachineKeySet = TRUE\nExportable = TRUE\n"))
        rc, lines = run("certutil", "-v", "-store", "my", "www.contoso.com")
    assert "  KeySpec = 1 -- AT_KEYEXCHANGE" in lines
    assert "Encryption test passed" in lines


def test_user_request_goes_to_the_user_store(machine, inf, tmp_path):
    # KB 295281: requested into the user store, absent from LocalMachine\My.
    _enroll(tmp_path, inf("ProviderName = \"Microsoft Enhanced Cryptographic Provider v1.0\"\n"))
    with _store("My", machine_keyset=False) as my:
        info = CertGetCertificateContextProperty(_only(my), CERT_KEY_PROV_INFO_PROP_ID)
    assert info.dwFlags == 0 and info.dwKeySpec == AT_SIGNATURE
    with _store("My") as lm:
        assert [c for c in lm if "contoso" in c.x509.subject.rfc4514_string()] == []


def test_request_type_cert_installs_self_signed(machine, inf, tmp_path):
    out = tmp_path / "self.cer"
    rc, lines = run("certreq", "-new", "-machine",
                    inf("RequestType = Cert\nKeySpec = 1\nProviderName = \"Microsoft Enhanced RSA and AES "
                        "Cryptographic Provider\"\nHashAlgorithm = sha256\n"), str(out))
    assert rc == 0, lines
    assert lines[0] == "Installed Certificate:" and lines[-1] == "CertReq: Certificate Created and Installed"
    # certreq -new with a CSP: the provider name, then the unique container name, a blank
    # line, then the summary (projectacrn acrn-hypervisor waag-secure-boot docs).
    with _store("My") as my:
        unique = CertGetCertificateContextProperty(_only(my), CERT_KEY_PROV_INFO_PROP_ID)
    assert lines[-4:-1] == ["  Microsoft Enhanced RSA and AES Cryptographic Provider",
                            f"  {capi_unique_name(unique.pwszContainerName, machine.machine_guid)}", ""]
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    cert.verify_directly_issued_by(cert)
    with _store("My") as my:
        ctx = _only(my)
        assert ctx.x509 == cert
        CryptAcquireCertificatePrivateKey(ctx, CRYPT_ACQUIRE_COMPARE_KEY_FLAG)


@pytest.mark.parametrize("extra, bad_line", [
    ("KeyLength = 100\n", "KeyLength = 100"),
    ("KeyLength = 999999999\n", "KeyLength = 999999999"),
    ("Exportable = maybe\n", "Exportable = maybe"),
    ("KeySpec = 7\n", "KeySpec = 7"),
    ("HashAlgorithm = sha999\n", "HashAlgorithm = sha999"),
    ("Bogus = 1\n", "Bogus = 1"),
])
def test_bad_values_write_nothing(machine, inf, tmp_path, extra, bad_line):
    req = tmp_path / "r.req"
    rc, lines = run("certreq", "-new", "-machine", inf(extra), str(req))
    assert rc != 0
    assert lines == ["Certificate Request Processor: The parameter is incorrect. 0x80070057 (WIN32: 87 "
                     + lines[0].rsplit(" ", 1)[-1], bad_line]
    assert not req.exists() and _key_files(machine) == []
    with _store("REQUEST") as pending:
        assert list(pending) == []


def test_missing_new_request_section(machine, inf, tmp_path):
    rc, lines = run("certreq", "-new", inf(text="[Version]\nSignature=\"$Windows NT$\"\n"),
                    str(tmp_path / "r.req"))
    assert rc != 0
    assert lines[0] == ("Certificate Request Processor: The required line was not found in the INF. "
                        "0x800f0102 (-2146500350 SPAPI_E_LINE_NOT_FOUND)")
    assert _key_files(machine) == []


def test_unknown_provider(machine, inf, tmp_path):
    rc, lines = run("certreq", "-new", inf("ProviderName = \"Nope CSP\"\n"), str(tmp_path / "r.req"))
    assert rc != 0 and lines[0].endswith("NTE_KEYSET_NOT_DEF)")


def test_submit_to_an_unknown_ca(machine, inf, tmp_path):
    req = str(tmp_path / "r.req")
    run("certreq", "-new", inf(), req)
    rc, lines = run("certreq", "-submit", "-config", "OTHERHOST\\Other-CA", req)
    assert rc != 0
    assert lines[0] == "Certificate Request Processor: The RPC server is unavailable. 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)"


def test_submit_rejects_garbage(machine, tmp_path):
    bad = tmp_path / "bad.req"
    bad.write_bytes(b"\x30\x03\x02\x01\x00")
    rc, lines = run("certreq", "-submit", str(bad))
    assert rc != 0 and lines[0].startswith("Certificate Request Processor:")


def test_accept_without_pending_request(machine, inf, tmp_path):
    req, cer, _ = _enroll(tmp_path, inf())
    rc, lines = run("certreq", "-accept", cer)  # the pending request is gone now
    assert rc != 0
    assert lines[0] == ("Certificate Request Processor: Cannot find object or property. "
                        "0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)")


def test_hostile_inf_size(machine, inf, tmp_path):
    rc, lines = run("certreq", "-new", inf(text="[NewRequest]\n" + ";" * 200_000), str(tmp_path / "r.req"))
    assert rc != 0 and "0x80070057" in lines[0]
    assert _key_files(machine) == []


def test_ca_installs_once(machine):
    from csp.identity import token_for

    ca = MachineCA.install(machine, token_for(machine))
    assert MachineCA.install(machine, token_for(machine)).cert_der == ca.cert_der
    assert ca.config == "WEBSERVER\\WEBSERVER-CA"
    with _store("Root") as root:
        assert [c.pbCertEncoded for c in root] == [ca.cert_der]


# -- what the CA takes from a request (review findings) ------------------------------------

def _submit_der(tmp_path, der):
    req = tmp_path / "x.req"
    req.write_bytes(der)
    cer = tmp_path / "x.cer"
    rc, lines = run("certreq", "-submit", str(req), str(cer))
    return rc, lines, cer


def _rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


_EVIL = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil")])


def test_submit_never_issues_a_ca_certificate(machine, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization

    # A standalone CA's policy module builds the certificate from its own policy: a
    # requested BasicConstraints CA=true and keyCertSign/cRLSign do not make the requester a CA.
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_EVIL)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                          critical=True)
           .sign(_rsa_key(), hashes.SHA256()))
    rc, lines, cer = _submit_der(tmp_path, csr.public_bytes(serialization.Encoding.DER))
    assert rc == 0, lines
    cert = x509.load_pem_x509_certificate(cer.read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign and not usage.crl_sign


def test_submit_drops_a_key_usage_of_only_ca_bits(machine, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization

    csr = (x509.CertificateSigningRequestBuilder().subject_name(_EVIL)
           .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                          critical=True)
           .sign(_rsa_key(), hashes.SHA256()))
    rc, lines, cer = _submit_der(tmp_path, csr.public_bytes(serialization.Encoding.DER))
    assert rc == 0, lines
    cert = x509.load_pem_x509_certificate(cer.read_bytes())
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.KeyUsage)


def test_submit_accepts_an_rsa_pss_signed_request(machine, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    # Windows CAs verify RSASSA-PSS requests (certreq's AlternateSignatureAlgorithm = TRUE).
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    csr = x509.CertificateSigningRequestBuilder().subject_name(_EVIL).sign(
        _rsa_key(), hashes.SHA256(), rsa_padding=pss)
    rc, lines, cer = _submit_der(tmp_path, csr.public_bytes(serialization.Encoding.DER))
    assert rc == 0, lines
    assert x509.load_pem_x509_certificate(cer.read_bytes()).subject == _EVIL


def test_submit_rejects_a_tampered_pss_request(machine, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    der = bytearray(x509.CertificateSigningRequestBuilder().subject_name(_EVIL).sign(
        _rsa_key(), hashes.SHA256(), rsa_padding=pss).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1
    rc, lines, cer = _submit_der(tmp_path, bytes(der))
    assert lines[0] == ("Certificate Request Processor: Invalid Signature. "
                        "0x80090006 (-2146893818 NTE_BAD_SIGNATURE)")
    assert not cer.exists()


def test_submit_ed25519_request_is_an_unknown_algorithm(machine, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    # AD CS has no Ed25519; crypt32 finds no OID information for the signature algorithm
    # and fails with NTE_BAD_ALGID (Wine dlls/crypt32/cert.c, signature verification).
    csr = x509.CertificateSigningRequestBuilder().subject_name(_EVIL).sign(
        ed25519.Ed25519PrivateKey.generate(), None)
    rc, lines, cer = _submit_der(tmp_path, csr.public_bytes(serialization.Encoding.DER))
    assert rc != 0 and not cer.exists()
    assert lines[0] == ("Certificate Request Processor: Invalid algorithm specified. "
                        "0x80090008 (-2146893816 NTE_BAD_ALGID)")


def test_submit_duplicate_extension_is_invalid_data(machine, tmp_path):
    from asn1crypto import core
    from asn1crypto import csr as acsr
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _rsa_key()
    base = acsr.CertificationRequest.load(
        x509.CertificateSigningRequestBuilder().subject_name(_EVIL)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a")]), False)
        .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    info = base["certification_request_info"]
    san = info["attributes"][0]["values"][0][0]
    info["attributes"] = acsr.CRIAttributes([acsr.CRIAttribute(
        {"type": "extension_request", "values": [acsr.Extensions([san, san])]})])
    tbs = info.dump(force=True)
    der = acsr.CertificationRequest({
        "certification_request_info": acsr.CertificationRequestInfo.load(tbs),
        "signature_algorithm": {"algorithm": "sha256_rsa", "parameters": core.Null()},
        "signature": key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())}).dump()
    rc, lines, cer = _submit_der(tmp_path, der)
    # Chosen, not observed: MS-WCCE 3.2.1.4.2.1.4.1.1/.1.3 name ERROR_INVALID_DATA for a
    # PKCS#10 request whose content breaks the format's rules.
    assert rc != 0 and not cer.exists()
    assert lines[0] == ("Certificate Request Processor: The data is invalid. "
                        "0x8007000d (WIN32: 13 ERROR_INVALID_DATA)")
    assert machine.db.execute("SELECT COUNT(*) FROM ca_requests").fetchone()[0] == 0

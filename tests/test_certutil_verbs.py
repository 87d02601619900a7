"""certutil -encode / -decode / -hashfile: output shapes and failure lines.

Shapes are certutil.exe's (Microsoft's certutil reference; outputs users paste):
"Input Length = N", "Output Length = N", "<ALG> hash of <file>:" then the lower-case hex
digest, "CertUtil: -<verb> command completed successfully." and for a missing file
"CertUtil: -<verb> command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)".
"""

import base64
import hashlib
import io

import pytest

from winpki.cli import main


def certutil(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


PAYLOAD = bytes(range(256)) * 3 + b"tail"


@pytest.fixture
def blob(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(PAYLOAD)
    return path


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA256", "SHA384", "SHA512", "sha256"])
def test_hashfile(blob, alg):
    rc, out, _ = certutil("-hashfile", str(blob), alg)
    assert rc == 0
    expected = hashlib.new(alg.lower(), PAYLOAD).hexdigest()
    assert out == (f"{alg.upper()} hash of {blob}:\n{expected}\n"
                   "CertUtil: -hashfile command completed successfully.\n")


def test_hashfile_defaults_to_sha1(blob):
    rc, out, _ = certutil("-hashfile", str(blob))
    assert rc == 0
    assert out.splitlines()[:2] == [f"SHA1 hash of {blob}:", hashlib.sha1(PAYLOAD).hexdigest()]


def test_hashfile_failures(tmp_path, blob):
    rc, out, _ = certutil("-hashfile", str(tmp_path / "missing.bin"), "SHA256")
    assert rc != 0
    assert out == ("CertUtil: -hashfile command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\n"
                   "CertUtil: The system cannot find the file specified.\n")
    rc, out, _ = certutil("-hashfile", str(blob), "SHA3")
    assert rc != 0
    assert out == ("CertUtil: -hashfile command FAILED: 0x80090008 (-2146893816 NTE_BAD_ALGID)\n"
                   "CertUtil: Invalid algorithm specified.\n")


def test_encode_then_decode(tmp_path, blob):
    b64 = tmp_path / "blob.b64"
    rc, out, _ = certutil("-encode", str(blob), str(b64))
    assert rc == 0
    text = b64.read_bytes().decode("ascii")
    body = base64.b64encode(PAYLOAD).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    assert text == ("-----BEGIN CERTIFICATE-----\r\n" + "".join(x + "\r\n" for x in lines)
                    + "-----END CERTIFICATE-----\r\n")
    assert out == (f"Input Length = {len(PAYLOAD)}\nOutput Length = {len(text)}\n"
                   "CertUtil: -encode command completed successfully.\n")
    back = tmp_path / "back.bin"
    rc, out, _ = certutil("-decode", str(b64), str(back))
    assert rc == 0
    assert back.read_bytes() == PAYLOAD
    assert out == (f"Input Length = {len(text)}\nOutput Length = {len(PAYLOAD)}\n"
                   "CertUtil: -decode command completed successfully.\n")


def test_decode_accepts_bare_base64_and_other_labels(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("-----BEGIN PKCS7-----\n" + base64.b64encode(b"hello").decode() + "\n-----END PKCS7-----\n")
    rc, _, _ = certutil("-decode", str(src), str(tmp_path / "a.bin"))
    assert rc == 0 and (tmp_path / "a.bin").read_bytes() == b"hello"
    src.write_text(base64.b64encode(b"world").decode())
    rc, _, _ = certutil("-decode", str(src), str(tmp_path / "b.bin"))
    assert rc == 0 and (tmp_path / "b.bin").read_bytes() == b"world"


def test_decode_failures(tmp_path, blob):
    rc, out, _ = certutil("-decode", str(tmp_path / "missing.b64"), str(tmp_path / "o.bin"))
    assert rc != 0
    assert out.startswith("CertUtil: -decode command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\n")
    # an existing output file is kept without -f
    b64 = tmp_path / "x.b64"
    b64.write_text(base64.b64encode(b"new").decode())
    target = tmp_path / "exists.bin"
    target.write_bytes(b"old")
    rc, out, _ = certutil("-decode", str(b64), str(target))
    assert rc != 0
    assert out == ("CertUtil: -decode command FAILED: 0x80070050 (WIN32: 80 ERROR_FILE_EXISTS)\n"
                   "CertUtil: The file exists.\n")
    assert target.read_bytes() == b"old"
    rc, _, _ = certutil("-f", "-decode", str(b64), str(target))
    assert rc == 0 and target.read_bytes() == b"new"
    # text that is not base64 is ERROR_INVALID_DATA and writes nothing
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not base64 !!")
    rc, out, _ = certutil("-decode", str(bad), str(tmp_path / "none.bin"))
    assert rc != 0
    assert out.startswith("CertUtil: -decode command FAILED: 0x8007000d (WIN32: 13 ERROR_INVALID_DATA)\n")
    assert not (tmp_path / "none.bin").exists()


def test_encode_refuses_existing_output(tmp_path, blob):
    target = tmp_path / "o.b64"
    target.write_text("keep")
    rc, out, _ = certutil("-encode", str(blob), str(target))
    assert rc != 0 and "ERROR_FILE_EXISTS" in out
    assert target.read_text() == "keep"


# --------------------------------------------------------------------------------------
# -asn
# --------------------------------------------------------------------------------------

# Microsoft Learn, "ClientId attribute" (CertEnroll): the certutil -asn dump of a request's
# ClientId attribute, from the SET on (the page's first lines lost their tree prefix).
CLIENT_ID_DUMP = [
    '0143: |  |  31 4a                         ; SET (4a Bytes)',
    '0145: |  |     30 48                      ; SEQUENCE (48 Bytes)',
    '0147: |  |        02 01                   ; INTEGER (1 Bytes)',
    '0149: |  |        |  09',
    '014a: |  |        0c 23                   ; UTF8_STRING (23 Bytes)',
    '014c: |  |        |  74 65 73 74 33 64 2e 6a  64 6f 6d 63 73 63 2e 6e ',
    '015c: |  |        |  74 74 65 73 74 2e 6d 69  63 72 6f 73 6f 66 74 2e ',
    '016c: |  |        |  63 6f 6d                                         ',
    '      |  |        |     ; "test3d.jdomcsc.nttest.microsoft.com"',
    '016f: |  |        0c 15                   ; UTF8_STRING (15 Bytes)',
    '0171: |  |        |  4a 44 4f 4d 43 53 43 5c  61 64 6d 69 6e 69 73 74 ',
    '0181: |  |        |  72 61 74 6f 72                                   ',
    '      |  |        |     ; "JDOMCSC\\administrator"',
    '0186: |  |        0c 07                   ; UTF8_STRING (7 Bytes)',
    '0188: |  |           63 65 72 74 72 65 71                             ',
    '      |  |              ; "certreq"',
]


def _tlv(tag, body):
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _client_id_file(tmp_path):
    from asn1crypto import core

    values = b"".join([core.Integer(9).dump(), core.UTF8String("test3d.jdomcsc.nttest.microsoft.com").dump(),
                       core.UTF8String("JDOMCSC\\administrator").dump(), core.UTF8String("certreq").dump()])
    attribute = _tlv(0x30, core.ObjectIdentifier("1.3.6.1.4.1.311.21.20").dump()
                     + _tlv(0x31, _tlv(0x30, values)))
    # the attribute sits where the page's does: offset 0x136, inside a container, not last
    filler = _tlv(0x04, bytes(0x136 - 2 - 4))
    der = filler + _tlv(0x30, attribute + b"\x05\x00") + b"\x05\x00"
    path = tmp_path / "clientid.der"
    path.write_bytes(der)
    return path


def test_asn_matches_certutil_layout(tmp_path):
    path = _client_id_file(tmp_path)
    rc, out, _ = certutil("-asn", str(path))
    assert rc == 0
    lines = out.splitlines()
    assert lines[-1] == "CertUtil: -asn command completed successfully."
    start = lines.index(CLIENT_ID_DUMP[0])
    assert lines[start:start + len(CLIENT_ID_DUMP)] == CLIENT_ID_DUMP
    # the lines the page shortened, with their tree prefix restored
    assert "0136: |  30 57                            ; SEQUENCE (57 Bytes)" in lines
    assert "0138: |  |  06 09                         ; OBJECT_ID (9 Bytes)" in lines
    assert "013a: |  |  |  2b 06 01 04 01 82 37 15  14" in lines


def test_asn_of_a_certificate_nests_key_and_extensions(tmp_path):
    from helpers_certs import make_cert, name

    der = make_cert(subject=name("asn.example"), dns=("asn.example",))
    path = tmp_path / "c.cer"
    path.write_bytes(der)
    rc, out, _ = certutil("-asn", str(path))
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("0000: 30 82 ") and lines[0].endswith(" Bytes)")
    assert lines[0].index(";") == 42
    assert any("; OPTIONAL[0] (3 Bytes)" in x for x in lines)           # version
    assert any(x.endswith("; 2.5.4.3 CN") for x in lines)               # commonName OID
    assert any(x.endswith('; "asn.example"') for x in lines)
    assert any("; CONTEXT_SPECIFIC[2] (b Bytes)" in x for x in lines)   # dNSName
    # the public key BIT STRING opens into its SEQUENCE after the unused-bits octet
    bit = next(i for i, x in enumerate(lines) if "; BIT_STRING (" in x)
    assert lines[bit + 1].endswith(" 00") and "; SEQUENCE (" in lines[bit + 2]
    # base64 input is decoded first
    pem = tmp_path / "c.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n" + base64.b64encode(der).decode() + "\n-----END CERTIFICATE-----\n")
    rc, out2, _ = certutil("-asn", str(pem))
    assert rc == 0 and out2 == out


def test_asn_failures(tmp_path):
    rc, out, _ = certutil("-asn", str(tmp_path / "missing.der"))
    assert rc != 0
    assert out.startswith("CertUtil: -asn command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\n")
    bad = tmp_path / "bad.der"
    bad.write_bytes(b"\x30\x05\x02\x01")
    rc, out, _ = certutil("-asn", str(bad))
    assert rc != 0 and "CRYPT_E_ASN1_BADTAG" in out
    assert "Traceback" not in out


# --------------------------------------------------------------------------------------
# -dump of a CRL and of a PKCS#7
# --------------------------------------------------------------------------------------


def _crl(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from helpers_certs import BASE_TIME, name, rsa_key

    key = rsa_key()
    revoked = (x509.RevokedCertificateBuilder().serial_number(0x4400000014178d21c3ed6a4575000000000014)
               .revocation_date(BASE_TIME)
               .add_extension(x509.CRLReason(x509.ReasonFlags.cessation_of_operation), False).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(name("CVI Issuing CA 1"))
           .last_update(BASE_TIME).next_update(BASE_TIME + datetime.timedelta(days=7))
           .add_revoked_certificate(revoked).add_extension(x509.CRLNumber(5), False)
           .sign(key, hashes.SHA256()))
    der = crl.public_bytes(serialization.Encoding.DER)
    path = tmp_path / "ca.crl"
    path.write_bytes(der)
    return path, der


def test_dump_crl(machine, tmp_path):
    # the shape of "certutil -dump <CA>.crl" as pasted from Windows (module docstring of
    # winpki/tools/certutil_crldump.py)
    path, der = _crl(tmp_path)
    rc, out, _ = certutil("-dump", str(path))
    assert rc == 0
    lines = out.splitlines()
    assert lines[:10] == [
        "X509 Certificate Revocation List:",
        "Version: 2",
        "Signature Algorithm:",
        "    Algorithm ObjectId: 1.2.840.113549.1.1.11 sha256RSA",
        "    Algorithm Parameters:",
        "    05 00",
        "Issuer:",
        "    CN=CVI Issuing CA 1",
        f"  Name Hash(sha1): {hashlib.sha1(_issuer_der(der)).hexdigest()}",
        f"  Name Hash(md5): {hashlib.md5(_issuer_der(der)).hexdigest()}",
    ]
    assert lines[10:20] == [
        "",
        " ThisUpdate: 1/1/2024 12:00 AM",
        " NextUpdate: 1/8/2024 12:00 AM",
        "CRL Entries: 1",
        "  Serial Number: 4400000014178d21c3ed6a4575000000000014",
        "   Revocation Date: 1/1/2024 12:00 AM",
        "  Extensions: 1",
        "    2.5.29.21: Flags = 0, Length = 3",
        "    CRL Reason Code",
        "        Cessation of Operation (5)",
    ]
    assert "CRL Extensions: 1" in lines
    assert f"CRL Hash(sha1): {hashlib.sha1(der).hexdigest()}" in lines
    assert lines[-1] == "CertUtil: -dump command completed successfully."
    # a PEM CRL dumps the same
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN X509 CRL-----\n" + base64.b64encode(der).decode() + "\n-----END X509 CRL-----\n")
    assert certutil("-dump", str(pem))[1] == out


def _issuer_der(crl_der):
    from asn1crypto import crl

    return crl.CertificateList.load(crl_der)["tbs_cert_list"]["issuer"].dump()


def test_dump_pkcs7_lists_its_certificates(machine, tmp_path):
    from cryptography import x509
    from helpers_certs import make_cert, name

    from capi.formats.serialized import save_pkcs7

    ders = [make_cert(subject=name(cn)) for cn in ("p7-one", "p7-two")]
    path = tmp_path / "chain.p7b"
    path.write_bytes(save_pkcs7(x509.load_der_x509_certificate(d) for d in ders))
    rc, out, _ = certutil("-dump", str(path))
    assert rc == 0
    assert "================ Certificate 0 ================" in out
    assert "================ Certificate 1 ================" in out
    for der in ders:
        assert f"Cert Hash(sha1): {hashlib.sha1(der).hexdigest()}" in out

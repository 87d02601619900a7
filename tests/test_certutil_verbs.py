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

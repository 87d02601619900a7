"""certutil -store / -addstore / -delstore / -dump: output shape, CertIds, failures.

Shapes follow certutil.exe (en-US) as users paste it: the store header `My "Personal"`, the
`================ Certificate N ================` separator, `Cert Hash(sha1):` (spaced on
2012 R2 and earlier; the 0x80070520 article shows both forms, docs/windows-facts.md §7), the key section, and
`CertUtil: -<verb> command FAILED: 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)`.
"""

import io

import pytest
from helpers_certs import make_cert, name
from helpers_keys import NOW, install_server_cert

from capi import (
    AT_SIGNATURE,
    CERT_STORE_PROV_SYSTEM,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CertOpenStore,
)
from winpki.cli import main


def certutil(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def cer(tmp_path):
    der = make_cert(subject=name("www.contoso.com", o="Contoso", c="US"), not_before=NOW)
    path = tmp_path / "www.cer"
    path.write_bytes(der)
    return path


def _thumb(der):
    import hashlib

    return hashlib.sha1(der).hexdigest()


def test_addstore_then_store(machine, cer):
    rc, out, _ = certutil("-addstore", "my", str(cer))
    assert rc == 0
    assert out == ('my "Personal"\nSignature matches Public Key\n'
                   'Certificate "www.contoso.com" added to store.\n\n'
                   "CertUtil: -addstore command completed successfully.\n")
    rc, out, _ = certutil("-addstore", "My", str(cer))
    assert 'Certificate "www.contoso.com" already in store.' in out
    rc, out, _ = certutil("-store", "My")
    lines = out.splitlines()
    assert lines[0] == 'My "Personal"'
    assert lines[1] == "================ Certificate 0 ================"
    # Windows: certutil prints names last RDN first ("CN=..., O=..., C=US").
    assert "Issuer: CN=www.contoso.com, O=Contoso, C=US" in lines
    assert "Root Certificate: Subject matches Issuer" in lines
    assert f"Cert Hash(sha1): {_thumb(cer.read_bytes())}" in lines
    assert "No key provider information" in lines
    assert lines[-1] == "CertUtil: -store command completed successfully."


@pytest.mark.parametrize("form", ["plain", "spaced", "upper", "slash"])
def test_thumbprints_with_or_without_spaces_and_options_with_slash(machine, cer, form):
    certutil("-addstore", "My", str(cer))
    t = _thumb(cer.read_bytes())
    arg = {"plain": t, "spaced": " ".join(t[i:i + 2] for i in range(0, 40, 2)),
           "upper": t.upper(), "slash": t}[form]
    verb = "/STORE" if form == "slash" else "-store"
    rc, out, _ = certutil(verb, "my", arg)
    assert rc == 0 and "================ Certificate 0 ================" in out


def test_spaced_hashes_on_2008r2(make_machine, cer):
    from capi import use_machine

    with use_machine(make_machine(os_version="2008R2")):
        certutil("-addstore", "My", str(cer))
        _, out, _ = certutil("-store", "My")
    t = _thumb(cer.read_bytes())
    assert f"Cert Hash(sha1): {' '.join(t[i:i + 2] for i in range(0, 40, 2))}" in out


def test_store_v_prints_key_prov_info_like_seed_002(make_machine):
    from capi import use_machine

    with use_machine(make_machine(os_version="2008R2")):
        ctx, container = install_server_cert(keyspec=AT_SIGNATURE)
        rc, out, _ = certutil("-v", "-store", "my", ctx.thumbprint)
    assert rc == 0
    lines = out.splitlines()
    i = lines.index("CERT_KEY_PROV_INFO_PROP_ID(2):")
    assert lines[i + 1] == f"  Key Container = {container}"
    assert lines[i + 2].startswith("  Unique container name: ")
    assert lines[i + 2].endswith("_3ade29bb-f050-41f3-b0db-f2b69957a1d7")
    assert lines[i + 3:i + 7] == ["  Provider = Microsoft Strong Cryptographic Provider",
                                  "  ProviderType = 1", "  Flags = 20", "  KeySpec = 2 -- AT_SIGNATURE"]
    assert "Signature test passed" in lines
    assert "X509 Certificate:" in lines


def test_store_key_section_non_verbose(machine):
    ctx, container = install_server_cert(exportable=False)
    _, out, _ = certutil("-store", "My", ctx.thumbprint)
    lines = out.splitlines()
    i = lines.index(f"  Key Container = {container}")
    assert lines[i + 1].startswith("  Unique container name: ")
    assert lines[i + 2:i + 5] == ["  Provider = Microsoft Strong Cryptographic Provider",
                                  "Private key is NOT exportable", "Encryption test passed"]


def test_missing_stored_keyset(machine):
    from capi import (
        CRYPT_DELETEKEYSET,
        CRYPT_MACHINE_KEYSET,
        MS_STRONG_PROV,
        PROV_RSA_FULL,
        CryptAcquireContext,
    )

    ctx, container = install_server_cert()
    CryptAcquireContext(container, MS_STRONG_PROV, PROV_RSA_FULL, CRYPT_DELETEKEYSET | CRYPT_MACHINE_KEYSET)
    _, out, _ = certutil("-store", "My", ctx.thumbprint)
    lines = out.splitlines()
    i = lines.index(f"  Key Container = {container}")
    assert lines[i + 1:i + 3] == ["  Provider = Microsoft Strong Cryptographic Provider",
                                  "Missing stored keyset"]


def test_unknown_hash_unknown_store_and_missing_file(machine, tmp_path):
    rc, out, _ = certutil("-store", "My", "00" * 20)
    assert rc != 0
    assert out.endswith("CertUtil: -store command FAILED: 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)\n"
                        "CertUtil: Cannot find object or property.\n")
    rc, out, _ = certutil("-store", "NoSuchStore")
    assert rc != 0 and out == ("CertUtil: -store command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\n"
                               "CertUtil: The system cannot find the file specified.\n")
    rc, out, _ = certutil("-addstore", "My", str(tmp_path / "nope.cer"))
    assert rc != 0 and "ERROR_FILE_NOT_FOUND" in out
    # Nothing was created by the failures.
    assert not any(True for _ in CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None,
                                               CERT_SYSTEM_STORE_LOCAL_MACHINE, "My"))


def test_malformed_certificate_file_changes_nothing(machine, tmp_path):
    bad = tmp_path / "bad.cer"
    bad.write_bytes(b"\x30\x82\x01\x00garbage")
    rc, out, _ = certutil("-addstore", "My", str(bad))
    assert rc != 0 and out.startswith("CertUtil: -addstore command FAILED: 0x")
    assert "Traceback" not in out
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as s:
        assert list(s) == []


def test_delstore(machine, cer):
    certutil("-addstore", "My", str(cer))
    rc, out, _ = certutil("-delstore", "My", _thumb(cer.read_bytes()))
    assert rc == 0 and "Deleting Certificate 0" in out
    rc, out, _ = certutil("-delstore", "My", _thumb(cer.read_bytes()))
    assert rc != 0 and "CRYPT_E_NOT_FOUND" in out


def test_user_store_is_separate(machine, cer):
    certutil("-user", "-addstore", "My", str(cer))
    rc, out, _ = certutil("-store", "My", _thumb(cer.read_bytes()))
    assert rc != 0
    rc, out, _ = certutil("-user", "-store", "My", _thumb(cer.read_bytes()))
    assert rc == 0


def test_dump_certificate_file(machine, cer):
    rc, out, _ = certutil("-dump", str(cer))
    assert rc == 0
    lines = out.splitlines()
    assert lines[:3] == ["X509 Certificate:", "Version: 3", lines[2]]
    assert lines[2].startswith("Serial Number: ")
    assert "    Algorithm ObjectId: 1.2.840.113549.1.1.11 sha256RSA" in lines
    assert "Public Key Length: 2048 bits" in lines
    assert f"Cert Hash(sha1): {_thumb(cer.read_bytes())}" in lines
    assert lines[-1] == "CertUtil: -dump command completed successfully."
    # `certutil file` is `certutil -dump file`.
    assert certutil(str(cer))[1] == out


def test_bad_usage_never_a_traceback(machine):
    for args in (["-bogusverb"], ["-store", "a", "b", "c", "d"], ["-addstore", "My"], ["-p"]):
        rc, out, err = certutil(*args)
        assert rc != 0
        assert "Traceback" not in out + err


@pytest.mark.parametrize("code, text", [
    # As users paste it (kingparks/cursor-vip#462): "CertUtil: -addstore command FAILED:
    # 0x80070057 (WIN32: 87 ERROR_INVALID_PARAMETER)".
    (0x80070057, "0x80070057 (WIN32: 87 ERROR_INVALID_PARAMETER)"),
    (0x80070005, "0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)"),
    (5, "0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)"),
    (0x80090011, "0x80090011 (-2146893807 NTE_NOT_FOUND)"),
    (0x8009000B, "0x8009000b (-2146893813 NTE_BAD_KEY_STATE)"),
])
def test_failure_code_rendering(code, text):
    from winpki.tools.common import hresult_line

    assert hresult_line(code) == text

"""One undecodable part of one certificate no longer stops the store tools.

CertAddEncodedCertificateToStore takes a certificate whose outer structure frames, as
Windows does; certutil -store, -v -store, -repairstore and -dump then list every
certificate and print what they can decode of each: a name that does not decode as its
bytes, an extension that does not decode as its value's hex dump in certutil's dump layout,
a key of an unknown curve by its algorithm and parameters.
"""

import hashlib
import io

import pytest
from helpers_badcerts import BAD_CERTS, good_cert

from capi import constants as C
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertCloseStore, CertOpenStore
from capi.crypt32.str import CertGetNameString
from winpki.cli import main


def certutil(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["certutil", *args], out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


@pytest.fixture
def store_with_bad(machine):
    def fill(kind):
        bad, good = BAD_CERTS[kind](), good_cert()
        store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                              C.CERT_SYSTEM_STORE_LOCAL_MACHINE, "My")
        for der in (bad, good):
            CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, der,
                                             C.CERT_STORE_ADD_ALWAYS)
        CertCloseStore(store)
        return bad, good
    return fill


@pytest.mark.parametrize("kind", sorted(BAD_CERTS))
@pytest.mark.parametrize("verbose", [False, True], ids=["store", "v-store"])
def test_store_lists_every_certificate(store_with_bad, kind, verbose):
    bad, good = store_with_bad(kind)
    rc, out = certutil(*(["-v"] if verbose else []), "-store", "My")
    assert rc == 0, out
    assert "================ Certificate 1 ================" in out
    for der in (bad, good):
        assert f"Cert Hash(sha1): {hashlib.sha1(der).hexdigest()}" in out
    assert "command completed successfully" in out


@pytest.mark.parametrize("kind", sorted(BAD_CERTS))
def test_store_and_repairstore_select_the_other_certificate(store_with_bad, kind):
    # -repairstore of the good certificate reaches it (it has no key: NTE_NOT_FOUND, the
    # code for a certificate no container holds) instead of failing on the bad one's name.
    bad, good = store_with_bad(kind)
    thumb = hashlib.sha1(good).hexdigest()
    rc, out = certutil("-store", "My", thumb)
    assert rc == 0 and f"Cert Hash(sha1): {thumb}" in out, out
    rc, out = certutil("-repairstore", "My", thumb)
    assert "0x80090011" in out, out


@pytest.mark.parametrize("kind", sorted(BAD_CERTS))
def test_dump_prints_what_decodes(machine, tmp_path, kind):
    path = tmp_path / "bad.cer"
    der = BAD_CERTS[kind]()
    path.write_bytes(der)
    rc, out = certutil("-dump", str(path))
    assert rc == 0, out
    assert f"Cert Hash(sha1): {hashlib.sha1(der).hexdigest()}" in out
    assert "Certificate Extensions: 5" in out  # every extension is listed


@pytest.mark.parametrize("kind, oid, shown", [
    ("san", "2.5.29.17", "DNS Name=good.example.test"),
    ("eku", "2.5.29.37", "Server Authentication (1.3.6.1.5.5.7.3.1)"),
    ("ku", "2.5.29.15", "Digital Signature, Key Encipherment (a0)"),
    ("bc", "2.5.29.19", "Subject Type=End Entity"),
    ("aki", "2.5.29.35", "KeyID=11 11"),
])
def test_a_bad_extension_is_its_hex_dump_and_the_others_decode(machine, tmp_path, kind, oid, shown):
    path = tmp_path / "bad.cer"
    path.write_bytes(BAD_CERTS[kind]())
    _, out = certutil("-dump", str(path))
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"    {oid}: Flags = "))
    assert lines[at + 2].startswith("        0000  04 ")  # the value's bytes, dump layout
    assert not any(shown in line for line in lines)  # the bad one is not interpreted
    good_path = tmp_path / "good.cer"
    good_path.write_bytes(good_cert())
    _, good_out = certutil("-dump", str(good_path))
    assert any(shown in line for line in good_out.splitlines())


def test_unknown_curve_key_is_shown_by_its_parameters(machine, tmp_path):
    path = tmp_path / "bad.cer"
    path.write_bytes(BAD_CERTS["curve"]())
    _, out = certutil("-dump", str(path))
    assert "    Algorithm ObjectId: 1.2.840.10045.2.1 ECC" in out
    assert "    06 08 2a 86 48 ce 3d 03 01 63" in out


def test_undecodable_subject(machine, store_with_bad):
    bad, _ = store_with_bad("subject")
    _, out = certutil("-store", "My")
    # CertNameToStr never fails: an undecodable name prints as ""
    assert "Subject: " in out.splitlines()
    from capi.crypt32.cert import CertCreateCertificateContext

    ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING, bad)
    # CertGetNameString returns "" (length 1) for a name it cannot read, never an error.
    assert CertGetNameString(ctx, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None) == ""
    assert CertGetNameString(ctx, C.CERT_NAME_RDN_TYPE, 0, C.CERT_X500_NAME_STR) == ""
    assert CertGetNameString(ctx, C.CERT_NAME_DNS_TYPE, 0, None) == "good.example.test"

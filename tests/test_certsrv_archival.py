r"""Key archival and recovery end to end, from the command line, against "Key Archival and
Management in Windows Server 2003" (Microsoft; quoted next to each assertion) and the
certutil / certreq references.
"""

import hashlib
import io
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from capi.host import eventlog
from winpki.cli import main

KRA_INF = """[Version]
Signature= "$Windows NT$"

[NewRequest]
Subject = "CN=KRA Admin"
KeySpec = 1
KeyLength = 2048
Exportable = TRUE

[RequestAttributes]
CertificateTemplate = KeyRecoveryAgent
"""

# The INF the document shows for a request with archival.
USER_INF = """[Version]
Signature= "$Windows NT$"

[NewRequest]
Subject = "CN=Test Subject"
KeySpec = 1
Exportable = FALSE
PrivateKeyArchive = TRUE

[RequestAttributes]
CertificateTemplate = {template}
"""


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


def ok(*args):
    rc, text = run(*args)
    assert rc == 0, text
    return text


@pytest.fixture
def work(tmp_path, machine):
    def path(name):
        return str(tmp_path / name)
    return path


def enroll_kra(work, *, configure=True):
    """Enroll a KRA (the template pends for a certificate manager), install it, put it in
    the CA's KRA store and configure the CA with it ("Enabling a Key Recovery Agent")."""
    with open(work("kra.inf"), "w") as fh:
        fh.write(KRA_INF)
    ok("certreq", "-new", work("kra.inf"), work("kra.req"))
    rc, text = run("certreq", "-submit", work("kra.req"))   # installs the CA, which does
    assert rc != 0 and "0x80094800" in text                   # not offer KeyRecoveryAgent yet
    ok("certutil", "-SetCATemplates", "+KeyRecoveryAgent")
    text = ok("certreq", "-submit", work("kra.req"))
    request_id = text.split()[1]
    assert "Certificate request is pending: Taken Under Submission" in text
    ok("certutil", "-resubmit", request_id)
    ok("certreq", "-retrieve", request_id, work("kra.cer"))
    ok("certreq", "-accept", work("kra.cer"))
    der = _der(work("kra.cer"))
    if configure:
        ok("certutil", "-addstore", "KRA", work("kra.cer"))
        ok("certutil", "-setreg", "ca\\KRACertHash", hashlib.sha1(der).hexdigest())
        ok("certutil", "-setreg", "ca\\KRACertCount", "1")
    return der


def _der(path):
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read()).public_bytes(serialization.Encoding.DER)


def archival_template():
    ok("mmc", "duplicate-template", "EFS", "EFSArchive", "--archive", "--min-key-size", "2048")
    ok("certutil", "-SetCATemplates", "+EFSArchive")


def user_request(work, name="user", template="EFSArchive"):
    with open(work(f"{name}.inf"), "w") as fh:
        fh.write(USER_INF.format(template=template))
    ok("certreq", "-new", "-f", work(f"{name}.inf"), work(f"{name}.req"))
    return work(f"{name}.req")


def app_events(machine, event_id):
    return [e.message for e in eventlog.query(machine, "Application") if e.event_id == event_id]


def test_archive_lose_the_key_recover_it(machine, work):
    kra_der = enroll_kra(work)
    archival_template()
    req = user_request(work)
    text = ok("certreq", "-submit", req, work("user.cer"))
    assert "Certificate retrieved(Issued) Issued" in text
    ok("certreq", "-accept", work("user.cer"))
    user_der = _der(work("user.cer"))
    # "the client key stays as the INF asked": Exportable = FALSE, and CRYPT_ARCHIVABLE
    # was spent on the one export for the CA.
    thumb = hashlib.sha1(user_der).hexdigest()
    rc, text = run("certutil", "-user", "-p", "x", "-exportPFX", "My", thumb, work("nope.pfx"))
    assert rc != 0 and "Private key is NOT exportable" in text and "0x8009000b" in text, text

    # Lose the key.
    ok("certutil", "-user", "-delstore", "My", thumb)

    # "Certutil -getkey <cn of user> outputblob" / by serial number / by request ID.
    serial = format(x509.load_der_x509_certificate(user_der).serial_number, "x")
    ok("certutil", "-getkey", serial, work("blob.rec"))
    # "Certutil -config <machine name\CA name> -getkey ##### outputblob"
    ok("certutil", "-config", "WEBSERVER\\WEBSERVER-CA", "-f", "-getkey", "Test Subject", work("blob.rec"))
    # "An event log message will be generated when a private key is recovered from the
    # database ... Certificate Services retrieved an archived key."
    assert any("Certificate Services retrieved an archived key." in e.message
               for e in eventlog.query(machine, "Security"))
    # "Certutil -recoverkey outputblob user.pfx -p password" with the KRA's key.
    text = ok("certutil", "-user", "-p", "pw1", "-recoverkey", work("blob.rec"), work("rec.pfx"))
    assert "Subject: CN=KRA Admin" in text     # the KRA the key was encrypted to
    ok("certutil", "-p", "pw1,pw2", "-MergePFX", work("rec.pfx"), work("user.pfx"))

    # The recovered private key matches the issued certificate...
    from capi.formats import pkcs12

    with open(work("user.pfx"), "rb") as fh:
        contents = pkcs12.parse_pfx(fh.read(), "pw2")
    (cert, key), = [(c, k) for c, k in contents.pairs() if k is not None]
    assert cert.der == user_der
    assert key.private_key.public_key().public_numbers() == \
        x509.load_der_x509_certificate(user_der).public_key().public_numbers()
    # ... and, installed, decrypts what was encrypted to the certificate.
    ok("certutil", "-user", "-p", "pw2", "-importPFX", work("user.pfx"))
    from capi import constants as C
    from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey
    from capi.crypt32.store import CertFindCertificateInStore
    from capi.crypt32.store_kinds import open_system_store

    secret = x509.load_der_x509_certificate(user_der).public_key().encrypt(b"lost and found", padding.PKCS1v15())
    with open_system_store(machine, "CurrentUser", "My") as store:
        ctx = CertFindCertificateInStore(store, C.X509_ASN_ENCODING, 0, C.CERT_FIND_SHA1_HASH,
                                         bytes.fromhex(thumb), None)
        handle, _spec, _free = CryptAcquireCertificatePrivateKey(ctx, C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG)
        assert handle.key.decrypt(secret, None, C.BCRYPT_PAD_PKCS1) == b"lost and found"
    assert kra_der


def test_ca_not_configured_for_archival(machine, work):
    # "Cannot archive private key. The certification authority is not configured for key
    # archival. 0x8009400a (-2146877430) COM Error Info: CCertRequest::Submit ..."
    enroll_kra(work, configure=False)
    archival_template()
    rc, text = run("certreq", "-submit", user_request(work))
    assert rc != 0
    line = ("Cannot archive private key. The certification authority is not configured for key "
            "archival. 0x8009400a (-2146877430)")
    assert f"{line} COM Error Info:\nCCertRequest::Submit {line} LastStatus:\n{line}\n" in text
    # The doctor explains the failed request from the CA's state.
    rc, text = run("doctor", "request", text.split()[1])
    assert rc == 1 and "Error" in text and "No KRA is configured on the CA" in text


def test_no_valid_kra_event_21_and_load_events(machine, work):
    enroll_kra(work, configure=False)
    # A KRA hash configured, but the certificate is not in the CA's KRA store.
    ok("certutil", "-setreg", "ca\\KRACertHash", "00" * 20)
    ok("certutil", "-setreg", "ca\\KRACertCount", "1")
    archival_template()
    rc, text = run("certreq", "-submit", user_request(work))
    assert rc != 0 and "0x8009400b" in text
    # Event 21: "Certificate Services could not process request 16094 due to an error:
    # Cannot archive private key. No valid key recovery agent is defined for this
    # certification authority. 0x8009400b (-2146877429). The request was for NWTRADERS\User1."
    (msg,) = app_events(machine, 21)
    assert msg.endswith("due to an error: Cannot archive private key. No valid key recovery agent is "
                        "defined for this certification authority. 0x8009400b (-2146877429). "
                        "The request was for WEBSERVER\\Administrator.")
    # Event 85: "Certificate Services ignored key recovery certificate 0 because it could not
    # be loaded. Cannot find object or property. 0x80092004 (-2146885628)"; 83 and 82.
    assert app_events(machine, 85) == ["Certificate Services ignored key recovery certificate 0 because it "
                                       "could not be loaded. Cannot find object or property. 0x80092004 "
                                       "(-2146885628)"]
    assert app_events(machine, 83)[0].endswith("The system cannot find the file specified. 0x80070002 (WIN32: 2)")
    assert app_events(machine, 82) == ["Certificate Services could not load any valid key recovery "
                                       "certificates. Requests to archive private keys will not be accepted."]


def test_revoked_kra_is_not_used(machine, work):
    kra_der = enroll_kra(work)
    serial = format(x509.load_der_x509_certificate(kra_der).serial_number, "x")
    ok("certutil", "-revoke", serial, "1")
    archival_template()
    rc, text = run("certreq", "-submit", user_request(work))
    assert rc != 0 and "0x8009400b" in text
    # Event 84: "... will not use key recovery certificate N because it could not be
    # verified for use as a Key Recovery Agent. <subject> <error>"
    (msg,) = app_events(machine, 84)
    assert "could not be verified for use as a Key Recovery Agent. CN=KRA Admin The certificate is revoked. " \
           "0x80092010 (-2146885616)" in msg


def test_missing_kra_certificate_at_getkey(machine, work):
    # "Missing KRA Certificate in the CA Registry": CertUtil: -GetKey command FAILED:
    # 0x80092004 (-2146885628) / CertUtil: Cannot find object or property
    kra_der = enroll_kra(work)
    archival_template()
    ok("certreq", "-submit", user_request(work))
    ok("certutil", "-delstore", "KRA", hashlib.sha1(kra_der).hexdigest())
    rc, text = run("certutil", "-getkey", "Test Subject", work("blob.rec"))
    assert "CertUtil: -GetKey command FAILED: 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)\n" \
           "CertUtil: Cannot find object or property." in text


def test_two_archived_keys_are_ambiguous(machine, work):
    # "CertUtil: -GetKey command FAILED: 0x8002802c (-2147319764) / CertUtil: Ambiguous name."
    enroll_kra(work)
    archival_template()
    ok("certreq", "-submit", user_request(work, "a"))
    ok("certreq", "-submit", user_request(work, "b"))
    rc, text = run("certutil", "-getkey", "Test Subject", work("blob.rec"))
    assert rc != 0
    assert "CertUtil: -GetKey command FAILED: 0x8002802c (-2147319764 TYPE_E_AMBIGUOUSNAME)\n" \
           "CertUtil: Ambiguous name." in text
    assert text.count("Serial Number:") == 2
    # -v -getkey: the batch file of "Recovery Batch File".
    rc, text = run("certutil", "-v", "-getkey", "Test Subject")
    lines = text.splitlines()
    assert lines[0] == "@goto start" and ":start" in lines and "@goto exit" in lines
    assert sum(line.startswith('CertUtil -config "WEBSERVER\\WEBSERVER-CA" -getkey ') for line in lines) == 2
    assert sum(" -recoverkey -user " in line for line in lines) == 2
    assert any(" -MergePFX -user " in line for line in lines)
    assert "CertUtil: -GetKey command FAILED: 0x8002802c" in text


def test_signature_keys_are_not_archived(machine, work):
    # "Only RSA Security encryption keys may be archived in the CA database. Signature only
    # keys as well as non-RSA key pairs will not be archived." and "A Windows Server 2003
    # CA will not allow archival of a key marked for signature only and will reject the
    # request"
    enroll_kra(work)
    archival_template()
    with open(work("sig.inf"), "w") as fh:
        fh.write(USER_INF.format(template="EFSArchive").replace("KeySpec = 1", "KeySpec = 2")
                 .replace("[NewRequest]", '[NewRequest]\nProviderName = "Microsoft Enhanced Cryptographic '
                                          'Provider v1.0"'))
    ok("certreq", "-new", work("sig.inf"), work("sig.req"))
    rc, text = run("certreq", "-submit", work("sig.req"))
    assert rc != 0 and "0x8009400c" in text
    from capi.certsrv.authority import CertificateAuthority

    row = CertificateAuthority.open(machine).rows()[-1]
    assert row["archived_key"] is None and row["disposition"] == 30
    # Non-RSA: certreq will not send an ECDSA key for archival.
    with open(work("ec.inf"), "w") as fh:
        fh.write(USER_INF.format(template="EFSArchive").replace("KeySpec = 1", "KeyAlgorithm = ECDSA_P256"))
    rc, text = run("certreq", "-new", work("ec.inf"), work("ec.req"))
    assert rc != 0 and "PrivateKeyArchive = TRUE" in text


@pytest.mark.parametrize("template, code", [
    ("NoSuchTemplate", "0x80094800"),   # CERTSRV_E_UNSUPPORTED_CERT_TYPE
    ("KeyRecoveryAgent", "0x80094800"),  # a template this CA does not offer
])
def test_template_not_supported_event_53(machine, work, template, code):
    # Event 53: "Certificate Services denied request 8 because the requested certificate
    # template is not supported by this CA. 0x80094800 (-2146875392). The request was for
    # NWTRADERS\Administrator. Additional information: Denied by Policy Module"
    with open(work("t.inf"), "w") as fh:
        fh.write(KRA_INF.replace("KeyRecoveryAgent", template))
    ok("certreq", "-new", work("t.inf"), work("t.req"))
    rc, text = run("certreq", "-submit", work("t.req"))
    assert rc != 0 and f"Certificate not issued (Denied) Denied by Policy Module  {code}" in text
    (msg,) = app_events(machine, 53)
    assert "because the requested certificate template is not supported by this CA. 0x80094800 " \
           "(-2146875392). The request was for WEBSERVER\\Administrator. Additional information: " \
           "Denied by Policy Module" in msg


def test_template_permissions_and_key_size(machine, work):
    from capi.host.accounts import create_local_user
    from capi.host.context import run_as

    enroll_kra(work)
    ok("mmc", "duplicate-template", "WebServer", "BigWeb", "--min-key-size", "4096")
    ok("certutil", "-SetCATemplates", "+BigWeb,+WebServer")
    with open(work("w.inf"), "w") as fh:
        fh.write(KRA_INF.replace("KeyRecoveryAgent", "BigWeb"))
    ok("certreq", "-new", work("w.inf"), work("w.req"))
    rc, text = run("certreq", "-submit", work("w.req"))
    assert "0x80094811, The public key does not meet the minimum size required by the specified " \
           "certificate template." in text                      # CERTSRV_E_KEY_LENGTH
    create_local_user(machine, "bob")
    with open(work("w2.inf"), "w") as fh:
        fh.write(KRA_INF.replace("KeyRecoveryAgent", "WebServer"))
    with run_as("bob"):
        ok("certreq", "-new", work("w2.inf"), work("w2.req"))
        rc, text = run("certreq", "-submit", work("w2.req"))
    # CERTSRV_E_TEMPLATE_DENIED: WebServer's Enroll permission is for administrators.
    assert "0x80094012, The permissions on the certificate template do not allow the current user to " \
           "enroll for this type of certificate." in text


def test_registry_settings_view_revoke_and_crl(machine, work):
    enroll_kra(work)
    text = ok("certutil", "-getreg", "ca\\KRACertCount")
    assert "  KRACertCount REG_DWORD = 1" in text
    ok("certutil", "-setreg", "ca\\KRAFlags", "+KRAF_ENABLEFOREIGN")
    from capi.host import registry as R

    key = r"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\WEBSERVER-CA"
    assert R.query_value(machine, key, "KRAFlags") == (R.REG_DWORD, 1)
    rc, text = run("reg", "query", key, "/v", "KRACertCount")
    assert "    KRACertCount    REG_DWORD    0x1" in text
    text = ok("certutil", "-view", "-restrict", "Disposition=20", "-out", "RequestID,SerialNumber,CertificateTemplate")
    assert '  Certificate Template: "KeyRecoveryAgent"' in text
    serial = text.split('Serial Number: "')[1].split('"')[0]
    ok("certutil", "-revoke", serial, "4")
    text = ok("certutil", "-view", "-restrict", f"SerialNumber={serial}", "-out", "Disposition,RevokedReason")
    assert "Request Disposition: 0x15 (21) -- Revoked" in text and "-- Superseded" in text
    ok("certutil", "-CRL")
    crl_path = machine.host_path(r"C:\Windows\System32\CertSrv\CertEnroll\WEBSERVER-CA.crl")
    crl = x509.load_der_x509_crl(crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    from capi.certsrv.authority import CertificateAuthority

    authority = CertificateAuthority.open(machine)
    assert crl.is_signature_valid(authority.ca.certificate.public_key())
    # Chain building reads the published CRL: the revoked KRA certificate is revoked, the
    # CA's other certificates are checked and clean.
    from capi import constants as C
    from capi.crypt32.cert import CertCreateCertificateContext
    from capi.crypt32.chain import build_chain

    row = authority.find_serial(serial)
    ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING, authority.certificate(row["id"]))
    chain = build_chain(machine, ctx, location="LocalMachine", flags=C.CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert chain.TrustStatus.dwErrorStatus & C.CERT_TRUST_IS_REVOKED
    xchg = CertCreateCertificateContext(C.X509_ASN_ENCODING, authority.exchange_certificate())
    chain = build_chain(machine, xchg, location="LocalMachine", flags=C.CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert chain.TrustStatus.dwErrorStatus == 0


def test_backup_password_limit_and_restore_to_a_fresh_machine(machine, work, make_machine):
    # "With a PKCS #12 (.pfx) file, 32 characters is the maximum length allowed for a password."
    enroll_kra(work)
    archival_template()
    ok("certreq", "-submit", user_request(work), work("user.cer"))
    rc, text = run("certutil", "-p", "x" * 33, "-backup", work("bk"))
    assert rc != 0 and not os.path.exists(work("bk"))
    ok("certutil", "-p", "x" * 32, "-backup", work("bk"))
    ok("certutil", "-p", "pk", "-exportPFX", "-user", "My", hashlib.sha1(_der(work("kra.cer"))).hexdigest(),
       work("kra.pfx"))
    from capi.host.context import use_machine

    fresh = make_machine()
    with use_machine(fresh):
        ok("certutil", "-p", "x" * 32, "-restore", work("bk"))
        ok("certutil", "-addstore", "KRA", work("kra.cer"))
        ok("certutil", "-getkey", "Test Subject", work("blob2.rec"))
        ok("certutil", "-user", "-p", "pk", "-importPFX", work("kra.pfx"))
        ok("certutil", "-user", "-p", "pw", "-recoverkey", work("blob2.rec"), work("rec2.pfx"))
    from capi.formats import pkcs12

    with open(work("rec2.pfx"), "rb") as fh:
        contents = pkcs12.parse_pfx(fh.read(), "pw")
    user = x509.load_der_x509_certificate(_der(work("user.cer")))
    assert contents.keys[0].private_key.public_key().public_numbers() == user.public_key().public_numbers()


def test_cmc_request_carries_the_key_unauthenticated(machine, work):
    # Appendix A: the encrypted private key is an unauthenticated attribute of the
    # outermost signature; its hash is in the controlSequence.
    import base64

    from asn1crypto import cms

    from capi.certsrv import cmc

    enroll_kra(work)
    archival_template()
    with open(user_request(work)) as fh:
        der = base64.b64decode("".join(fh.read().split("-----")[2].split()))
    assert cmc.is_cmc(der)
    signer = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    assert [a["type"].dotted for a in signer["unsigned_attrs"]] == [cmc.szOID_ARCHIVED_KEY_ATTR]
    _pkcs10, enveloped = cmc.parse_archival_request(der)
    assert enveloped is not None

"""Property-based, bounded: every parser that takes outside bytes or text gives a result or
a WinError, never another exception, and a failure changes nothing on the machine.

Parsers: PFXImportCertStore (mutated PFX files, mutated contents under a right MAC, random
bytes), CertCreateCertificateContext (and certutil's dump of what it accepts), CryptImportKey
and NCryptImportKey blobs, certreq -new INF files, SDDL and binary security descriptors,
CertNameToStr. Deterministic (derandomized, no example database) and small, so the file
runs in seconds; ``-s`` prints how many inputs each parser was given.
"""

import collections
import io
import os
import struct

import pytest
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from helpers_badcerts import BAD_CERTS, good_cert
from helpers_pfx import cryptography_pfx, make_cert, material, pfx_with_mac
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_bad_input import snapshot

from capi import constants as C
from capi.errors import WinError
from winpki.tools.common import describe_failure

TRIED: collections.Counter = collections.Counter()

# WINPKI_FUZZ_EXAMPLES=2000 for a longer, randomized run (the suite's is fixed and small).
_EXAMPLES = int(os.environ.get("WINPKI_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_EXAMPLES or 60, deadline=None, derandomize=not _EXAMPLES,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if TRIED:
        print("\ninputs tried per parser: " + ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items())))


@st.composite
def mutated(draw, seeds: list[bytes]):
    """One of ``seeds`` with 1-4 byte-level edits (flip, set, delete, insert, cut)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "set", "delete", "insert", "cut"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x0C, 0x30,
                                            0x31, 0x80, 0x81, 0x82, 0xA0, 0xFF]))
        elif op == "delete":
            del data[i]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[i:]
    return bytes(data)


def _only_win_error(machine, fn):
    """Run ``fn``: a result, or a WinError with the machine unchanged."""
    before = snapshot(machine)
    try:
        return fn()
    except WinError:
        assert snapshot(machine) == before, "a failure changed the machine"
        return None


# -- PFX -----------------------------------------------------------------------------------


def _with_mac(auth_safe: bytes) -> bytes:
    return pfx_with_mac(auth_safe, b"\x02" * 8)


def _auth_safe(pfx: bytes) -> bytes:
    return asn1_pkcs12.Pfx.load(pfx)["auth_safe"]["content"].native


_PFX_SEEDS = [cryptography_pfx(1), cryptography_pfx(1, aes=True)]
_PLAIN_PFX = crypto_pkcs12.serialize_key_and_certificates(
    b"plain", material().p256, make_cert(material().p256, "plain.example.test"), None,
    serialization.NoEncryption())
_AUTH_SAFE_SEEDS = [_auth_safe(s) for s in _PFX_SEEDS] + [_auth_safe(_PLAIN_PFX)]


def _import_pfx(machine, data):
    from capi.crypt32.pfx import PFXImportCertStore

    def run():
        with PFXImportCertStore(data, "pw", C.CRYPT_EXPORTABLE):
            pass
    _only_win_error(machine, run)


@FUZZ
@given(data=mutated(_PFX_SEEDS))
def test_pfx_mutated_file(machine, data):
    TRIED["pfx (file)"] += 1
    _import_pfx(machine, data)


@FUZZ
@given(data=mutated(_AUTH_SAFE_SEEDS))
def test_pfx_mutated_contents_under_a_right_mac(machine, data):
    TRIED["pfx (contents)"] += 1
    _import_pfx(machine, _with_mac(data))


@FUZZ
@given(data=st.binary(max_size=300))
def test_pfx_random_bytes(machine, data):
    TRIED["pfx (random)"] += 1
    _import_pfx(machine, data)


# -- DER certificates -----------------------------------------------------------------------

_CERT_SEEDS = [good_cert(), *(make() for make in BAD_CERTS.values())]


@FUZZ
@given(data=mutated(_CERT_SEEDS))
def test_certificate_der(data):
    from capi.crypt32.cert import CertCreateCertificateContext
    from capi.crypt32.str import CertGetNameString
    from winpki.tools.certutil_store import dump_lines, summary_lines

    TRIED["certificate"] += 1
    try:
        ctx = CertCreateCertificateContext(C.X509_ASN_ENCODING, data)
    except WinError:
        return
    # What the store accepts, the tools show: no exception of any kind.
    dump_lines(ctx.pbCertEncoded)
    summary_lines(ctx)
    for kind in (C.CERT_NAME_SIMPLE_DISPLAY_TYPE, C.CERT_NAME_DNS_TYPE, C.CERT_NAME_EMAIL_TYPE):
        assert isinstance(CertGetNameString(ctx, kind, 0, None), str)


# -- CAPI and CNG key blobs ------------------------------------------------------------------


def _capi_seeds() -> list[bytes]:
    from capi.advapi32.crypt import CryptAcquireContext, CryptExportKey, CryptGenKey

    prov = CryptAcquireContext(None, C.MS_ENHANCED_PROV, C.PROV_RSA_FULL, C.CRYPT_VERIFYCONTEXT)
    key = CryptGenKey(prov, C.AT_KEYEXCHANGE, (1024 << 16) | C.CRYPT_EXPORTABLE)
    return [CryptExportKey(key, None, C.PRIVATEKEYBLOB), CryptExportKey(key, None, C.PUBLICKEYBLOB)]


@FUZZ
@given(data=st.data())
def test_capi_key_blobs(machine, data):
    from capi.advapi32.crypt import CryptAcquireContext, CryptImportKey

    seeds = _capi_seeds.__dict__.setdefault("cache", None) or _capi_seeds()
    _capi_seeds.cache = seeds
    blob = data.draw(mutated(seeds))
    TRIED["CryptImportKey"] += 1
    prov = CryptAcquireContext(None, C.MS_ENHANCED_PROV, C.PROV_RSA_FULL, C.CRYPT_VERIFYCONTEXT)
    _only_win_error(machine, lambda: CryptImportKey(prov, blob, None, C.CRYPT_EXPORTABLE))


def _bcrypt_rsa_private(key: rsa.RSAPrivateKey) -> bytes:
    n = key.private_numbers()
    size = (key.key_size + 7) // 8
    exp = n.public_numbers.e.to_bytes(3, "big")
    p = n.p.to_bytes(size // 2, "big")
    q = n.q.to_bytes(size // 2, "big")
    header = struct.pack("<6I", C.BCRYPT_RSAPRIVATE_MAGIC, key.key_size, len(exp), size,
                         len(p), len(q))
    return header + exp + n.public_numbers.n.to_bytes(size, "big") + p + q


def _bcrypt_p256_private(key: ec.EllipticCurvePrivateKey) -> bytes:
    nums = key.private_numbers()
    return (struct.pack("<2I", C.BCRYPT_ECDSA_PRIVATE_P256_MAGIC, 32)
            + nums.public_numbers.x.to_bytes(32, "big") + nums.public_numbers.y.to_bytes(32, "big")
            + nums.private_value.to_bytes(32, "big"))


_CNG_SEEDS = {
    C.BCRYPT_RSAPRIVATE_BLOB: _bcrypt_rsa_private(material().rsa1024),
    C.BCRYPT_ECCPRIVATE_BLOB: _bcrypt_p256_private(material().p256),
    C.NCRYPT_PKCS8_PRIVATE_KEY_BLOB: material().p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()),
}


@FUZZ
@given(blob_type=st.sampled_from(sorted(_CNG_SEEDS)), data=st.data())
def test_cng_key_blobs(machine, blob_type, data):
    from capi.ncrypt.keystorage import NCryptImportKey, NCryptOpenStorageProvider

    blob = data.draw(mutated([_CNG_SEEDS[blob_type]]))
    TRIED["NCryptImportKey"] += 1
    prov = NCryptOpenStorageProvider(C.MS_KEY_STORAGE_PROVIDER)
    _only_win_error(machine, lambda: NCryptImportKey(prov, None, blob_type, None, blob))


# -- certreq -new INF files ------------------------------------------------------------------

_INF_LINES = st.sampled_from([
    '[Version]', 'Signature="$Windows NT$"', '[NewRequest]', '[Extensions]',
    '[RequestAttributes]', 'Subject = "CN=www.contoso.com, O=Contoso"', 'Subject = "CN="',
    'Subject = "X=1"', 'KeyAlgorithm = ECDSA_P256', 'KeyAlgorithm = RSA', 'KeyLength = 1',
    'KeyLength = 99999999999999999999', 'KeySpec = 7', 'KeyUsage = 0xa0', 'KeyUsage = zz',
    'MachineKeySet = TRUE', 'Exportable = maybe', 'HashAlgorithm = sha256',
    'HashAlgorithm = nope', 'ProviderName = "Microsoft Software Key Storage Provider"',
    'ProviderName = "No Such Provider"', 'RequestType = PKCS10', 'RequestType = Cert',
    'FriendlyName = "x"', '2.5.29.17 = "{text}"', '_continue_ = "dns=a.test&"',
    '_continue_ = "ipaddress=999.1.1.1&"', '2.5.29.37 = "{text}1.3.6.1.5.5.7.3.1"',
    '2.5.29.19 = "{text}ca=1&pathlength=-1"', 'CertificateTemplate = WebServer', '=',
    '[', ']', '"unterminated', ';comment', '[Strings]', 'x = %y%',
])


@st.composite
def inf_text(draw):
    lines = draw(st.lists(st.one_of(_INF_LINES, _INF_LINES, st.text(max_size=30)), max_size=14))
    return "\n".join(['[NewRequest]', 'KeyAlgorithm = ECDSA_P256',
                      'ProviderName = "Microsoft Software Key Storage Provider"'][
                         : draw(st.integers(0, 3))] + lines) + "\n"


@FUZZ
@given(text=inf_text())
def test_certreq_new_inf(machine, tmp_path, text, monkeypatch):
    from winpki.tools import certreq

    escaped = []

    def only_windows_errors(exc):
        if not isinstance(exc, WinError):
            escaped.append(exc)
        return describe_failure(exc)  # the real one (examples share the monkeypatch)

    monkeypatch.setattr(certreq, "describe_failure", only_windows_errors)
    TRIED["certreq -new"] += 1
    inf = tmp_path / "request.inf"
    inf.write_text(text, encoding="utf-8", errors="surrogatepass")
    req = tmp_path / "request.req"
    req.unlink(missing_ok=True)
    before = snapshot(machine)
    out, err = io.StringIO(), io.StringIO()
    rc = certreq.run(["-new", "-q", str(inf), str(req)], out, err)
    assert not escaped, (escaped, text)
    if rc != 0:
        assert snapshot(machine) == before, text


# -- security descriptors -------------------------------------------------------------------

_SDDL_TOKENS = st.sampled_from([
    "O:", "G:", "D:", "S:", "P", "AI", "AR", "(", ")", ";", "A", "D", "AU", "OA", "CI", "OI",
    "IO", "ID", "GA", "GR", "FA", "0x1f01ff", "0X", "0", "1", "07", "4294967296",
    "9" * 30, "WD", "SY", "BA", "LA", "S-1-5-18", "S-1-5-21-1-2-3-500", "S-1-", "-", " ",
    "NO_ACCESS_CONTROL", "{", "}", "00000000-0000-0000-0000-000000000000", "ML", "NW",
])


@FUZZ
@given(text=st.one_of(st.lists(_SDDL_TOKENS, max_size=20).map("".join), st.text(max_size=40)))
def test_sddl(machine, text):
    from capi.host.security import SecurityDescriptor

    TRIED["SDDL"] += 1
    try:
        sd = SecurityDescriptor.from_sddl(text, machine)
    except WinError:
        return
    again = SecurityDescriptor.from_bytes(sd.to_bytes())
    assert again == sd
    SecurityDescriptor.from_sddl(sd.to_sddl(), machine)


def _sd_seeds() -> list[bytes]:
    from capi.host.security import SecurityDescriptor

    return [SecurityDescriptor.from_sddl(t).to_bytes() for t in (
        "O:BAG:SYD:PAI(A;;FA;;;SY)(A;OICIIO;GA;;;BA)(D;;WD;;;WD)",
        "O:SYG:SYD:(A;;0x1200a9;;;S-1-5-21-1-2-3-1001)S:(AU;SA;FA;;;WD)",
        "D:NO_ACCESS_CONTROL")]


@FUZZ
@given(data=st.one_of(mutated(_sd_seeds()), st.binary(max_size=80)))
def test_binary_security_descriptor(data):
    from capi.host.security import SecurityDescriptor

    TRIED["security descriptor (binary)"] += 1
    try:
        sd = SecurityDescriptor.from_bytes(data)
    except WinError:
        return
    sd.to_sddl()
    sd.to_bytes()


# -- X.500 names ------------------------------------------------------------------------------


def _name_seeds() -> list[bytes]:
    from cryptography.x509.oid import NameOID

    def attr(oid, value):
        return x509.NameAttribute(oid, value)

    names = [
        x509.Name([attr(NameOID.COUNTRY_NAME, "US"), attr(NameOID.ORGANIZATION_NAME, "Contoso"),
                   attr(NameOID.COMMON_NAME, "www.contoso.com")]),
        x509.Name([x509.RelativeDistinguishedName([
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "x"), attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "y")]),
            x509.RelativeDistinguishedName([attr(NameOID.DOMAIN_COMPONENT, "corp")]),
            x509.RelativeDistinguishedName([attr(NameOID.EMAIL_ADDRESS, "a@b.test")])]),
        x509.Name([attr(NameOID.COMMON_NAME, "quoted, name"), attr(NameOID.SERIAL_NUMBER, "42")]),
    ]
    return [name.public_bytes() for name in names]


@FUZZ
@given(data=st.one_of(mutated(_name_seeds()), st.binary(max_size=60)),
       str_type=st.sampled_from([C.CERT_SIMPLE_NAME_STR, C.CERT_OID_NAME_STR, C.CERT_X500_NAME_STR,
                                 C.CERT_X500_NAME_STR | C.CERT_NAME_STR_REVERSE_FLAG
                                 | C.CERT_NAME_STR_SEMICOLON_FLAG]))
def test_cert_name_to_str(data, str_type):
    from capi.crypt32.str import CertNameToStr

    TRIED["CertNameToStr"] += 1
    assert isinstance(CertNameToStr(C.X509_ASN_ENCODING, data, str_type), str)

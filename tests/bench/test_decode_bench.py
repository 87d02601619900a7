"""CryptDecodeObjectEx against asn1crypto doing the same parse in the same run.

X509_CERT_TO_BE_SIGNED of a real certificate and X509_NAME of its subject: asn1crypto
loads the same bytes and reads every field the CERT_INFO / CERT_NAME_INFO holds (the
lazy parse forced to the same depth), so both sides do the same work. Nothing is cached
between calls. Best of three rounds; the decoder must keep at least 0.9 of asn1crypto's
throughput.
"""

import sys
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from ratio import repeated, time_ratio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers_certs import make_cert, name  # noqa: E402

from capi.constants import X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED, X509_NAME  # noqa: E402
from capi.crypt32.encode import CryptDecodeObjectEx  # noqa: E402

LOOPS = 300


def _cert():
    return make_cert("www.contoso.com", subject=name("www.contoso.com", o="Contoso", c="US"),
                     serial=0x0102AB)


def _raw_cert_info(der):
    tbs = asn1_x509.Certificate.load(der)["tbs_certificate"]
    out = [tbs["version"].native, tbs["serial_number"].contents,
           tbs["signature"]["algorithm"].dotted, tbs["signature"]["parameters"].dump(),
           tbs["issuer"].dump(), tbs["validity"]["not_before"].native,
           tbs["validity"]["not_after"].native, tbs["subject"].dump()]
    spki = tbs["subject_public_key_info"]
    out += [spki["algorithm"]["algorithm"].dotted, spki["algorithm"]["parameters"].dump(),
            spki["public_key"].contents]
    for ext in tbs["extensions"]:
        out.append((ext["extn_id"].dotted, ext["critical"].native, ext["extn_value"].contents))
    return out


def _raw_name(der):
    out = []
    for rdn in asn1_x509.Name.load(der).chosen:
        out.append([(atv["type"].dotted, atv["value"].chosen.tag, atv["value"].chosen.contents)
                    for atv in rdn])
    return out


def _compare(benchmark, label, mine, raw):
    benchmark(mine)
    time_ratio(benchmark, label, raw, mine, 0.9, side="decode", raw_side="asn1crypto")


def test_decode_cert_to_be_signed_vs_asn1crypto(benchmark):
    der = _cert()
    info = CryptDecodeObjectEx(X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED, der)
    assert info.cExtension == len(_raw_cert_info(der)) - 11

    _compare(benchmark, "X509_CERT_TO_BE_SIGNED",
             repeated(lambda: CryptDecodeObjectEx(X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED, der),
                      LOOPS),
             repeated(lambda: _raw_cert_info(der), LOOPS))


def test_decode_name_vs_asn1crypto(benchmark):
    subject = asn1_x509.Certificate.load(_cert())["tbs_certificate"]["subject"].dump()
    got = CryptDecodeObjectEx(X509_ASN_ENCODING, X509_NAME, subject)
    assert got.cRDN == len(_raw_name(subject))

    _compare(benchmark, "X509_NAME",
             repeated(lambda: CryptDecodeObjectEx(X509_ASN_ENCODING, X509_NAME, subject), LOOPS),
             repeated(lambda: _raw_name(subject), LOOPS))

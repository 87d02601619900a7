"""CertStrToName and CertNameToStr against the raw libraries doing the same work, in the
same run.

* CertStrToName (X.500 string -> DER Name) against cryptography's
  ``x509.Name.from_rfc4514_string(...).public_bytes()`` (string -> DER), the same six
  attributes. cryptography parses and encodes in Rust; winpki keeps 0.5-0.8 of its
  throughput on a loaded machine. The floor (0.35) sits above what the linear OID-table
  scan and an asn1crypto object per DER element cost before (about 0.2), so that
  regression fails.
* CertNameToStr (DER Name -> string) against asn1crypto loading the same Name and
  formatting every attribute (``Name.human_friendly``): cryptography has no parser for a
  bare DER Name, asn1crypto is what winpki decodes with (measured 0.9-1.1; floor 0.6).

The round trip is checked first (the string comes back). Best of three rounds.
"""

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from ratio import repeated, time_ratio

from capi.constants import CERT_NAME_STR_COMMA_FLAG, CERT_X500_NAME_STR, X509_ASN_ENCODING
from capi.crypt32.str import CertNameToStr, CertStrToName

LOOPS = 300
TEXT = "CN=www.contoso.com, OU=Web, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
# RFC 4514 lists the last RDN first: the same Name as TEXT.
RFC4514 = "C=US,ST=Washington,L=Redmond,O=Contoso Ltd,OU=Web,CN=www.contoso.com"
FLAGS = CERT_X500_NAME_STR | CERT_NAME_STR_COMMA_FLAG


def _compare(benchmark, label, mine, raw, floor):
    benchmark(mine)
    time_ratio(benchmark, label, raw, mine, floor)


def test_str_to_name_vs_cryptography(benchmark):
    der = CertStrToName(X509_ASN_ENCODING, TEXT, FLAGS)
    assert CertNameToStr(X509_ASN_ENCODING, der, FLAGS) == TEXT
    # both sides build the same six attributes in the same DER order (RFC 4514 lists the
    # last RDN first)
    mine_attrs = [(atv["type"].dotted, atv["value"].native)
                  for rdn in asn1_x509.Name.load(der).chosen for atv in rdn]
    raw_attrs = [(a.oid.dotted_string, a.value) for a in x509.Name.from_rfc4514_string(RFC4514)]
    assert mine_attrs == raw_attrs

    _compare(benchmark, "CertStrToName vs cryptography",
             repeated(lambda: CertStrToName(X509_ASN_ENCODING, TEXT, FLAGS), LOOPS),
             repeated(lambda: x509.Name.from_rfc4514_string(RFC4514).public_bytes(), LOOPS), 0.35)


def test_name_to_str_vs_asn1crypto(benchmark):
    der = CertStrToName(X509_ASN_ENCODING, TEXT, FLAGS)
    assert len(asn1_x509.Name.load(der).chosen) == 6

    _compare(benchmark, "CertNameToStr vs asn1crypto",
             repeated(lambda: CertNameToStr(X509_ASN_ENCODING, der, FLAGS), LOOPS),
             repeated(lambda: asn1_x509.Name.load(der).human_friendly, LOOPS), 0.6)

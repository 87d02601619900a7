"""CertGetCertificateChain / CertVerifyCertificateChainPolicy.

Sources for the Windows behaviour asserted here:
- Wine ``dlls/crypt32/tests/chain.c`` (runs on Windows; records statuses, policy errors and
  lChainIndex/lElementIndex): tables chainCheck, chainCheckNoStore, basePolicyCheck,
  sslPolicyCheck, basicConstraintsPolicyCheck and functions testGetCertChain,
  check_base_policy, check_ssl_policy, testVerifyCertChainPolicy.
- Microsoft docs: CertVerifyCertificateChainPolicy, CERT_CHAIN_POLICY_STATUS,
  CERT_TRUST_STATUS.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers_certs import BASE_TIME, CLIENT_AUTH, SERVER_AUTH, name

from capi import (
    AUTHTYPE_CLIENT,
    AUTHTYPE_SERVER,
    CERT_CHAIN_ENGINE_CONFIG,
    CERT_CHAIN_PARA,
    CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG,
    CERT_CHAIN_POLICY_AUTHENTICODE,
    CERT_CHAIN_POLICY_BASE,
    CERT_CHAIN_POLICY_BASIC_CONSTRAINTS,
    CERT_CHAIN_POLICY_IGNORE_END_REV_UNKNOWN_FLAG,
    CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG,
    CERT_CHAIN_POLICY_IGNORE_WRONG_USAGE_FLAG,
    CERT_CHAIN_POLICY_PARA,
    CERT_CHAIN_POLICY_SSL,
    CERT_CHAIN_POLICY_STATUS,
    CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
    CERT_CHAIN_REVOCATION_CHECK_END_CERT,
    CERT_E_CHAINING,
    CERT_E_CN_NO_MATCH,
    CERT_E_EXPIRED,
    CERT_E_UNTRUSTEDROOT,
    CERT_E_WRONG_USAGE,
    CERT_STORE_ADD_ALWAYS,
    CERT_STORE_ADD_NEW,
    CERT_STORE_PROV_MEMORY,
    CERT_STORE_PROV_SYSTEM,
    CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CERT_TRUST_HAS_EXACT_MATCH_ISSUER,
    CERT_TRUST_HAS_KEY_MATCH_ISSUER,
    CERT_TRUST_HAS_NAME_MATCH_ISSUER,
    CERT_TRUST_HAS_PREFERRED_ISSUER,
    CERT_TRUST_INVALID_BASIC_CONSTRAINTS,
    CERT_TRUST_IS_CYCLIC,
    CERT_TRUST_IS_EXPLICIT_DISTRUST,
    CERT_TRUST_IS_NOT_SIGNATURE_VALID,
    CERT_TRUST_IS_NOT_TIME_VALID,
    CERT_TRUST_IS_NOT_VALID_FOR_USAGE,
    CERT_TRUST_IS_OFFLINE_REVOCATION,
    CERT_TRUST_IS_PARTIAL_CHAIN,
    CERT_TRUST_IS_SELF_SIGNED,
    CERT_TRUST_IS_UNTRUSTED_ROOT,
    CERT_TRUST_REVOCATION_STATUS_UNKNOWN,
    CERT_USAGE_MATCH,
    CRYPT_E_NO_REVOCATION_CHECK,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_REVOCATION_OFFLINE,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    HCCE_LOCAL_MACHINE,
    SECURITY_FLAG_IGNORE_CERT_CN_INVALID,
    SECURITY_FLAG_IGNORE_CERT_DATE_INVALID,
    SECURITY_FLAG_IGNORE_REVOCATION,
    SECURITY_FLAG_IGNORE_UNKNOWN_CA,
    SECURITY_FLAG_IGNORE_WRONG_USAGE,
    SSL_EXTRA_CERT_CHAIN_POLICY_PARA,
    TRUST_E_BASIC_CONSTRAINTS,
    TRUST_E_CERT_SIGNATURE,
    TRUST_E_EXPLICIT_DISTRUST,
    USAGE_MATCH_TYPE_AND,
    USAGE_MATCH_TYPE_OR,
    X509_ASN_ENCODING,
    CertAddEncodedCertificateToStore,
    CertCreateCertificateChainEngine,
    CertCreateCertificateContext,
    CertFreeCertificateChain,
    CertGetCertificateChain,
    CertOpenStore,
    CertVerifyCertificateChainPolicy,
    GetLastError,
    build_chain,
    server_name_matches,
)
from capi.testing import raises_hresult

WHEN = BASE_TIME + datetime.timedelta(days=100)
LATER = BASE_TIME + datetime.timedelta(days=500)  # leaf (365 days) expired, CAs (10 y) valid
CA_DAYS = 3650
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------------------------------
# A small PKI (EC keys: fast, and distinct per role so signatures really matter)
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return {role: ec.generate_private_key(ec.SECP256R1())
            for role in ("root", "inter", "leaf", "other", "other2")}


def issue(subject: x509.Name, key, issuer: tuple[x509.Name, object] | None = None, *,
          ca: bool | None = None, path_length: int | None = None, days: int = 365,
          dns: tuple[str, ...] = (), eku: tuple[str, ...] = (), aki: str | None = None,
          ski: bool = False, cdp: str | None = None, serial: int | None = None) -> bytes:
    """DER; self-signed unless ``issuer`` = (name, key). ``aki``: "keyid" or "issuer"."""
    issuer_name, issuer_key = issuer[:2] if issuer else (subject, key)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(BASE_TIME).not_valid_after(BASE_TIME + datetime.timedelta(days=days)))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]),
                            critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]),
                            critical=False)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    if aki == "keyid":
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    elif aki == "issuer":
        b = b.add_extension(x509.AuthorityKeyIdentifier(
            None, [x509.DirectoryName(issuer_name)], issuer[2] if len(issuer) > 2 else 1),
            critical=False)
    if cdp:
        b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(cdp)], None, None, None)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


ROOT_NAME = name("Contoso Root CA", o="Contoso")
INTER_NAME = name("Contoso Issuing CA", o="Contoso")


@pytest.fixture(scope="module")
def pki(keys):
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS)
    inter = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 dns=("www.contoso.com",), eku=(SERVER_AUTH,))
    return {"root": root, "inter": inter, "leaf": leaf}


def add(der: bytes, store: str = "Root", location: int = CERT_SYSTEM_STORE_LOCAL_MACHINE):
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, location, store) as s:
        CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)


def ctx_of(der: bytes):
    return CertCreateCertificateContext(X509_ASN_ENCODING, der)


def chain_for(der: bytes, *, when=WHEN, engine=None, usage: list[str] | None = None,
              usage_type: int = USAGE_MATCH_TYPE_AND, additional=None, flags: int = 0):
    para = CERT_CHAIN_PARA(CERT_USAGE_MATCH(usage_type, usage) if usage else None)
    return CertGetCertificateChain(engine, ctx_of(der), when, additional, para, flags)


def ssl_para(server: str | None = "www.contoso.com", checks: int = 0, flags: int = 0,
             auth: int = AUTHTYPE_SERVER):
    return CERT_CHAIN_POLICY_PARA(flags, SSL_EXTRA_CERT_CHAIN_POLICY_PARA(auth, checks, server))


def policy(chain, oid=CERT_CHAIN_POLICY_BASE, para=None) -> tuple[int, int, int]:
    s = CertVerifyCertificateChainPolicy(oid, chain, para)
    return s.dwError, s.lChainIndex, s.lElementIndex


def statuses(chain) -> list[tuple[int, int]]:
    return [(e.TrustStatus.dwErrorStatus, e.TrustStatus.dwInfoStatus)
            for e in chain.rgpChain[0].rgpElement]


@pytest.fixture
def installed(machine, pki):
    """Root in LocalMachine\\Root, intermediate in LocalMachine\\CA."""
    add(pki["root"], "Root")
    add(pki["inter"], "CA")
    return pki


# ---------------------------------------------------------------------------------------
# Trusted chains
# ---------------------------------------------------------------------------------------


def test_trusted_chain_leaf_intermediate_root(installed):
    leaf = ctx_of(installed["leaf"])
    chain = CertGetCertificateChain(None, leaf, WHEN, None, CERT_CHAIN_PARA(), 0)
    assert chain.cChain == 1 and chain.rgpChain[0].cElement == 3
    # Wine chain.c testGetCertChain: rgpElement[0]->pCertContext is the caller's context.
    assert chain.rgpChain[0].rgpElement[0].pCertContext is leaf
    assert [e.pCertContext.pbCertEncoded for e in chain.rgpChain[0].rgpElement] == \
        [installed["leaf"], installed["inter"], installed["root"]]
    assert chain.TrustStatus.dwErrorStatus == 0
    # Issuers found by name carry HAS_NAME_MATCH_ISSUER; a root is SELF_SIGNED. Every
    # element of a chain to a trusted root carries HAS_PREFERRED_ISSUER: certutil -verify
    # output on current Windows shows 0x102 on leaf and intermediate and 0x10c on the root
    # (observed with key-matched issuers; Wine's chain.c tests do not check this bit).
    assert statuses(chain) == [
        (0, CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_HAS_PREFERRED_ISSUER),
        (0, CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_HAS_PREFERRED_ISSUER),
        (0, CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_IS_SELF_SIGNED
         | CERT_TRUST_HAS_PREFERRED_ISSUER)]
    # The low nibble (match kind, self-signed) is per element; the chain keeps the rest
    # (Wine chain.c testGetCertChain: chain dwInfoStatus == CERT_TRUST_HAS_PREFERRED_ISSUER).
    assert chain.TrustStatus.dwInfoStatus == CERT_TRUST_HAS_PREFERRED_ISSUER
    assert chain.rgpChain[0].TrustStatus.dwInfoStatus == CERT_TRUST_HAS_PREFERRED_ISSUER
    CertFreeCertificateChain(chain)


def test_trusted_chain_passes_base_and_ssl_policies(installed):
    chain = chain_for(installed["leaf"], usage=[SERVER_AUTH])
    # Wine chain.c tests (googlePolicyCheckWithMatchingName): success is 0 with both
    # indexes -1.
    assert policy(chain) == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("www.contoso.com")) == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_AUTHENTICODE) == (0, -1, -1)


def test_policy_status_output_parameter_is_filled(installed):
    chain = chain_for(installed["leaf"])
    out = CERT_CHAIN_POLICY_STATUS(dwError=0xDEADBEEF, lChainIndex=7, lElementIndex=7)
    got = CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, ssl_para("nope.example"), out)
    assert got is out
    assert (out.dwError, out.lChainIndex, out.lElementIndex) == (CERT_E_CN_NO_MATCH, 0, 0)


def test_intermediate_from_additional_store(machine, pki):
    add(pki["root"], "Root")
    extra = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(extra, X509_ASN_ENCODING, pki["inter"], CERT_STORE_ADD_ALWAYS)
    chain = chain_for(pki["leaf"], additional=extra)
    assert chain.TrustStatus.dwErrorStatus == 0
    assert chain.rgpChain[0].cElement == 3


def test_filetime_ptime(installed):
    filetime = int((LATER - _FILETIME_EPOCH).total_seconds()) * 10_000_000
    chain = chain_for(installed["leaf"], when=filetime)
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_NOT_TIME_VALID


# ---------------------------------------------------------------------------------------
# Trust failures and their codes
# ---------------------------------------------------------------------------------------


def test_root_not_in_root_store_is_untrusted(machine, pki):
    add(pki["root"], "CA")  # found as an issuer, but not trusted
    add(pki["inter"], "CA")
    chain = chain_for(pki["leaf"])
    assert chain.rgpChain[0].cElement == 3
    # Wine chain.c tests (chainCheck chain4/chain8): UNTRUSTED_ROOT on the root element.
    assert statuses(chain)[2] == (CERT_TRUST_IS_UNTRUSTED_ROOT,
                                  CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_IS_SELF_SIGNED)
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_UNTRUSTED_ROOT
    # Wine chain.c basePolicyCheck/sslPolicyCheck chain4, chain8: CERT_E_UNTRUSTEDROOT at [0, 2].
    assert policy(chain) == (CERT_E_UNTRUSTEDROOT, 0, 2)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_UNTRUSTEDROOT, 0, 2)
    # Wine chain.c check_ssl_policy: the name is only checked once the chain passes.
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("wrong.example")) == \
        (CERT_E_UNTRUSTEDROOT, 0, 2)
    # Wine chain.c check_base_policy / check_ssl_policy: ALLOW_UNKNOWN_CA and
    # SECURITY_FLAG_IGNORE_UNKNOWN_CA accept the untrusted root.
    assert policy(chain, para=CERT_CHAIN_POLICY_PARA(CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG)) == \
        (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para(checks=SECURITY_FLAG_IGNORE_UNKNOWN_CA)) == (0, -1, -1)


def test_missing_intermediate_is_partial_chain(machine, pki):
    add(pki["root"], "Root")
    chain = chain_for(pki["leaf"])
    assert chain.rgpChain[0].cElement == 1
    # Wine chain.c chainCheckNoStore (chain8): the chain is PARTIAL, the element itself has no
    # error and still reports how its issuer would be matched.
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_PARTIAL_CHAIN
    assert chain.rgpChain[0].TrustStatus.dwErrorStatus == CERT_TRUST_IS_PARTIAL_CHAIN
    assert statuses(chain) == [(0, CERT_TRUST_HAS_NAME_MATCH_ISSUER)]
    # CERT_CHAIN_POLICY_STATUS docs list CERT_E_CHAINING among base errors; the partial bit
    # is chain-only, so no element is named (Wine basePolicyCheck chain9, partial: [0, -1]).
    assert policy(chain) == (CERT_E_CHAINING, 0, -1)
    # Wine sslPolicyCheck chain9 (partial): the SSL policy says CERT_E_UNTRUSTEDROOT at [0, -1].
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_UNTRUSTEDROOT, 0, -1)


def test_expired_leaf(installed):
    chain = chain_for(installed["leaf"], when=LATER)
    assert statuses(chain)[0][0] == CERT_TRUST_IS_NOT_TIME_VALID
    assert statuses(chain)[1][0] == 0
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_NOT_TIME_VALID
    # Wine chain.c googlePolicyCheckWithMatchingNameExpired: CERT_E_EXPIRED at [0, 0].
    assert policy(chain) == (CERT_E_EXPIRED, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_EXPIRED, 0, 0)
    # Wine chain.c check_base_policy (ignoredInvalidDateBasePolicyCheck) and check_ssl_policy.
    assert policy(chain, para=CERT_CHAIN_POLICY_PARA(
        CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG)) == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para(checks=SECURITY_FLAG_IGNORE_CERT_DATE_INVALID)) == (0, -1, -1)


def test_default_time_is_now(installed):
    # BASE_TIME + 365 days is in the past: with pTime NULL the leaf is expired now.
    chain = CertGetCertificateChain(None, ctx_of(installed["leaf"]), None, None,
                                    CERT_CHAIN_PARA(), 0)
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_NOT_TIME_VALID


def test_untrusted_root_wins_over_expired(machine, pki):
    add(pki["inter"], "CA")
    add(pki["root"], "CA")
    chain = chain_for(pki["leaf"], when=LATER)
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_NOT_TIME_VALID
    # Wine chain.c basePolicyCheck chain0 (expired leaf, untrusted root): CERT_E_UNTRUSTEDROOT;
    # ignoredUnknownCAPolicyCheck: with the root accepted, CERT_E_EXPIRED at [0, 0].
    assert policy(chain) == (CERT_E_UNTRUSTEDROOT, 0, 2)
    assert policy(chain, para=CERT_CHAIN_POLICY_PARA(CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG)) == \
        (CERT_E_EXPIRED, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para(checks=SECURITY_FLAG_IGNORE_UNKNOWN_CA)) == (CERT_E_EXPIRED, 0, 0)


def _tamper(der: bytes) -> bytes:
    """Flip the last byte (inside the signature's last INTEGER): parses, does not verify."""
    return der[:-1] + bytes([der[-1] ^ 0x01])


def test_tampered_leaf_signature(installed):
    bad = _tamper(installed["leaf"])
    chain = chain_for(bad)
    assert chain.rgpChain[0].cElement == 3
    # Wine chain.c chainCheck chain1: NOT_SIGNATURE_VALID on the element whose own signature
    # fails; basePolicyCheck/sslPolicyCheck chain1: TRUST_E_CERT_SIGNATURE at [0, 0].
    assert statuses(chain)[0][0] == CERT_TRUST_IS_NOT_SIGNATURE_VALID
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_NOT_SIGNATURE_VALID
    assert policy(chain) == (TRUST_E_CERT_SIGNATURE, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (TRUST_E_CERT_SIGNATURE, 0, 0)


def test_bad_signature_wins_over_untrusted_root_and_expiry(machine, pki):
    add(pki["inter"], "CA")
    add(pki["root"], "CA")
    chain = chain_for(_tamper(pki["leaf"]), when=LATER)
    # Wine chain.c chain1: signature + untrusted root + expired -> TRUST_E_CERT_SIGNATURE [0, 0].
    assert chain.TrustStatus.dwErrorStatus == (CERT_TRUST_IS_NOT_SIGNATURE_VALID
                                               | CERT_TRUST_IS_UNTRUSTED_ROOT
                                               | CERT_TRUST_IS_NOT_TIME_VALID)
    assert policy(chain) == (TRUST_E_CERT_SIGNATURE, 0, 0)


def test_root_with_bad_self_signature(machine, keys):
    root = _tamper(issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS))
    leaf = issue(name("www.contoso.com"), keys["leaf"], (ROOT_NAME, keys["root"]))
    add(root, "Root")
    chain = chain_for(leaf)
    # Wine chain.c chain12: the root's own signature fails -> TRUST_E_CERT_SIGNATURE at [0, 1].
    assert statuses(chain)[1][0] & CERT_TRUST_IS_NOT_SIGNATURE_VALID
    assert policy(chain) == (TRUST_E_CERT_SIGNATURE, 0, 1)


def test_issuer_with_same_name_but_other_key_is_not_signature_valid(machine, keys):
    impostor = issue(INTER_NAME, keys["other"], (ROOT_NAME, keys["root"]), ca=True, days=CA_DAYS)
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]))
    add(root, "Root")
    add(impostor, "CA")
    chain = chain_for(leaf)
    assert statuses(chain)[0][0] == CERT_TRUST_IS_NOT_SIGNATURE_VALID
    assert policy(chain) == (TRUST_E_CERT_SIGNATURE, 0, 0)


# ---------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------


def test_client_auth_only_leaf_with_server_auth_requested(machine, keys, pki):
    add(pki["root"], "Root")
    add(pki["inter"], "CA")
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 dns=("www.contoso.com",), eku=(CLIENT_AUTH,))
    chain = chain_for(leaf, usage=[SERVER_AUTH])
    # Wine chain.c testGetCertChain (usage match): a requested usage the EKU lacks sets
    # CERT_TRUST_IS_NOT_VALID_FOR_USAGE; Windows puts it on the restricting element (chain16).
    assert statuses(chain)[0][0] == CERT_TRUST_IS_NOT_VALID_FOR_USAGE
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_WRONG_USAGE, 0, 0)
    assert policy(chain) == (CERT_E_WRONG_USAGE, 0, 0)
    assert policy(chain, para=CERT_CHAIN_POLICY_PARA(CERT_CHAIN_POLICY_IGNORE_WRONG_USAGE_FLAG)) \
        == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para(checks=SECURITY_FLAG_IGNORE_WRONG_USAGE)) == (0, -1, -1)
    # The SSL policy itself does not look at EKUs: only a chain built with a RequestedUsage
    # (as Schannel and WinHTTP build it) carries the usage error (Wine chain.c: the policy
    # maps CERT_TRUST_IS_NOT_VALID_FOR_USAGE, nothing else).
    unrestricted = chain_for(leaf)
    assert unrestricted.TrustStatus.dwErrorStatus == 0
    assert policy(unrestricted, CERT_CHAIN_POLICY_SSL, ssl_para()) == (0, -1, -1)


def test_usage_match_and_or(installed):
    # Wine chain.c testGetCertChain: AND of (serverAuth, 1.2.3) fails, OR succeeds; an
    # unknown OID alone fails.
    leaf = installed["leaf"]
    assert chain_for(leaf, usage=[SERVER_AUTH]).TrustStatus.dwErrorStatus == 0
    assert chain_for(leaf, usage=["1.2.3"]).TrustStatus.dwErrorStatus == \
        CERT_TRUST_IS_NOT_VALID_FOR_USAGE
    assert chain_for(leaf, usage=[SERVER_AUTH, "1.2.3"]).TrustStatus.dwErrorStatus == \
        CERT_TRUST_IS_NOT_VALID_FOR_USAGE
    assert chain_for(leaf, usage=[SERVER_AUTH, "1.2.3"],
                     usage_type=USAGE_MATCH_TYPE_OR).TrustStatus.dwErrorStatus == 0


def test_intermediate_restricting_usage(machine, keys, pki):
    add(pki["root"], "Root")
    inter = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True,
                  days=CA_DAYS, eku=(CLIENT_AUTH,))
    add(inter, "CA")
    chain = chain_for(pki["leaf"], usage=[SERVER_AUTH])
    # Wine chain.c chain18 / invalidUsageBasePolicyCheck: the bit is on the CA and the base
    # policy names it: CERT_E_WRONG_USAGE at [0, 1].
    assert [s[0] for s in statuses(chain)] == [0, CERT_TRUST_IS_NOT_VALID_FOR_USAGE, 0]
    assert policy(chain) == (CERT_E_WRONG_USAGE, 0, 1)


# ---------------------------------------------------------------------------------------
# Server names
# ---------------------------------------------------------------------------------------


def test_name_mismatch(installed):
    chain = chain_for(installed["leaf"])
    # Wine chain.c sslPolicyCheckWithoutMatchingName: CERT_E_CN_NO_MATCH at [0, 0].
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("mail.contoso.com")) == \
        (CERT_E_CN_NO_MATCH, 0, 0)
    # Case-insensitive.
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("WWW.Contoso.COM")) == (0, -1, -1)
    # Wine chain.c check_ssl_policy: SECURITY_FLAG_IGNORE_CERT_CN_INVALID, AUTHTYPE_CLIENT,
    # no server name, or no extra para at all: no name check.
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para("mail.contoso.com", checks=SECURITY_FLAG_IGNORE_CERT_CN_INVALID)) == \
        (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("mail.contoso.com", auth=AUTHTYPE_CLIENT)) \
        == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para(None)) == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, None) == (0, -1, -1)


@pytest.mark.parametrize(("server", "ok"), [
    # Wine chain.c check_ssl_policy (winehq chain29: "*.winehq.org" in the SAN): one
    # left-most label only.
    ("test.contoso.com", True), ("TEST.Contoso.Com", True), ("contoso.com", False),
    ("a.b.contoso.com", False), ("testcontoso.com", False),
])
def test_wildcard_in_san(keys, server, ok):
    der = issue(name("Contoso wildcard"), keys["leaf"], (INTER_NAME, keys["inter"]),
                dns=("*.contoso.com",))
    assert server_name_matches(ctx_of(der), server) is ok


@pytest.mark.parametrize(("server", "ok"), [
    # Wine chain.c check_ssl_policy (openssl chain, CN "*.openssl.org"): a.openssl.org
    # matches; openssl.org, fopenssl.org, a.b.openssl.org do not.
    ("a.contoso.com", True), ("contoso.com", False), ("fcontoso.com", False),
    ("a.b.contoso.com", False),
])
def test_wildcard_in_common_name(keys, server, ok):
    der = issue(name("*.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]))
    assert server_name_matches(ctx_of(der), server) is ok


@pytest.mark.parametrize(("server", "ok"), [
    # Wine chain.c check_ssl_policy (chain31 with CNs "*.foo.com" and "foo.com").
    ("foo.com", True), ("a.foo.com", True), ("afoo.com", False),
])
def test_any_of_several_common_names(keys, server, ok):
    subject = x509.Name([x509.RelativeDistinguishedName([x509.NameAttribute(
        x509.NameOID.COMMON_NAME, "*.foo.com")]), x509.RelativeDistinguishedName([
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "foo.com")])])
    der = issue(subject, keys["leaf"], (INTER_NAME, keys["inter"]))
    assert server_name_matches(ctx_of(der), server) is ok


def test_san_present_means_cn_is_not_used(keys):
    # RFC 2818 3.1: a subjectAltName dNSName is used when present; the CN only without one.
    der = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]),
                dns=("other.contoso.com",))
    assert not server_name_matches(ctx_of(der), "www.contoso.com")
    assert server_name_matches(ctx_of(der), "other.contoso.com")


def test_wildcard_chain_passes_ssl_policy(machine, keys, pki):
    add(pki["root"], "Root")
    add(pki["inter"], "CA")
    der = issue(name("Contoso wildcard"), keys["leaf"], (INTER_NAME, keys["inter"]),
                dns=("*.contoso.com",), eku=(SERVER_AUTH,))
    chain = chain_for(der, usage=[SERVER_AUTH])
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("shop.contoso.com")) == (0, -1, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para("contoso.com")) == (CERT_E_CN_NO_MATCH, 0, 0)


# ---------------------------------------------------------------------------------------
# Self-signed certificates, engines and stores
# ---------------------------------------------------------------------------------------


def test_self_signed_leaf_in_root_is_trusted(machine, keys):
    der = issue(name("www.contoso.com"), keys["leaf"], dns=("www.contoso.com",))
    add(der, "Root")
    chain = chain_for(der)
    assert statuses(chain) == [(0, CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_IS_SELF_SIGNED
                                | CERT_TRUST_HAS_PREFERRED_ISSUER)]
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (0, -1, -1)


def test_self_signed_leaf_not_in_root(machine, keys):
    der = issue(name("www.contoso.com"), keys["leaf"], dns=("www.contoso.com",))
    chain = chain_for(der)
    # Wine chain.c selfSignedChain: UNTRUSTED_ROOT on the only element; policies report
    # CERT_E_UNTRUSTEDROOT at [0, 0].
    assert statuses(chain) == [(CERT_TRUST_IS_UNTRUSTED_ROOT,
                                CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_IS_SELF_SIGNED)]
    assert policy(chain) == (CERT_E_UNTRUSTEDROOT, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_UNTRUSTEDROOT, 0, 0)


def test_current_user_engine_sees_local_machine_root(installed):
    # CurrentUser\Root's physical stores include .LocalMachine (Microsoft, System Store
    # Locations): a root in LocalMachine\Root is trusted by the HCCE_CURRENT_USER engine.
    assert chain_for(installed["leaf"], engine=None).TrustStatus.dwErrorStatus == 0
    assert chain_for(installed["leaf"], engine=HCCE_LOCAL_MACHINE).TrustStatus.dwErrorStatus == 0


def test_local_machine_engine_ignores_current_user_root(machine, pki):
    add(pki["root"], "Root", CERT_SYSTEM_STORE_CURRENT_USER)
    add(pki["inter"], "CA", CERT_SYSTEM_STORE_CURRENT_USER)
    assert chain_for(pki["leaf"], engine=None).TrustStatus.dwErrorStatus == 0
    lm = chain_for(pki["leaf"], engine=HCCE_LOCAL_MACHINE)
    # HCCE_LOCAL_MACHINE builds from LocalMachine stores only: no intermediate there.
    assert lm.TrustStatus.dwErrorStatus == CERT_TRUST_IS_PARTIAL_CHAIN


def test_authroot_is_trusted(machine, pki):
    add(pki["root"], "AuthRoot")
    add(pki["inter"], "CA")
    assert chain_for(pki["leaf"]).TrustStatus.dwErrorStatus == 0


def test_disallowed_intermediate(installed):
    add(installed["inter"], "Disallowed")
    chain = chain_for(installed["leaf"])
    # CERT_TRUST_STATUS docs: CERT_TRUST_IS_EXPLICIT_DISTRUST, "The certificate is explicitly
    # distrusted" (a certificate in the Disallowed store).
    assert [s[0] for s in statuses(chain)] == [0, CERT_TRUST_IS_EXPLICIT_DISTRUST, 0]
    status = policy(chain)
    # TRUST_E_EXPLICIT_DISTRUST (0x800B0111, "The certificate was explicitly marked as
    # untrusted by the user.") is the error Windows' trust providers give this bit.
    assert status == (TRUST_E_EXPLICIT_DISTRUST, 0, 1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (TRUST_E_EXPLICIT_DISTRUST, 0, 1)


def test_exclusive_root_engine(machine, pki):
    roots = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(roots, X509_ASN_ENCODING, pki["root"], CERT_STORE_ADD_ALWAYS)
    add(pki["inter"], "CA")
    engine = CertCreateCertificateChainEngine(CERT_CHAIN_ENGINE_CONFIG(hExclusiveRoot=roots))
    assert chain_for(pki["leaf"], engine=engine).TrustStatus.dwErrorStatus == 0
    # The default engine does not know the root at all.
    assert chain_for(pki["leaf"]).TrustStatus.dwErrorStatus == CERT_TRUST_IS_PARTIAL_CHAIN


def test_restricted_root_must_be_in_root_store(machine, pki):
    roots = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    CertAddEncodedCertificateToStore(roots, X509_ASN_ENCODING, pki["root"], CERT_STORE_ADD_ALWAYS)
    # Wine chain.c testCreateCertChainEngine: CRYPT_E_NOT_FOUND (ERROR_FILE_NOT_FOUND on 10).
    with raises_hresult(CRYPT_E_NOT_FOUND):
        CertCreateCertificateChainEngine(CERT_CHAIN_ENGINE_CONFIG(hRestrictedRoot=roots))
    add(pki["root"], "Root")
    assert CertCreateCertificateChainEngine(CERT_CHAIN_ENGINE_CONFIG(hRestrictedRoot=roots))


# ---------------------------------------------------------------------------------------
# Path choice, key identifiers, cycles, basic constraints
# ---------------------------------------------------------------------------------------


def test_key_identifier_picks_the_right_issuer(machine, keys):
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS, ski=True)
    inter_a = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True,
                    days=CA_DAYS, ski=True, aki="keyid")
    inter_b = issue(INTER_NAME, keys["other"], (ROOT_NAME, keys["root"]), ca=True,
                    days=CA_DAYS, ski=True, aki="keyid")
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["other"]),
                 aki="keyid")
    add(root, "Root")
    add(inter_a, "CA")
    add(inter_b, "CA")
    chain = chain_for(leaf)
    assert chain.TrustStatus.dwErrorStatus == 0
    assert chain.rgpChain[0].rgpElement[1].pCertContext.pbCertEncoded == inter_b
    # Wine chain.c tests (iTunes/google/openssl chains): an AKI key id gives
    # HAS_KEY_MATCH_ISSUER, an AKI issuer+serial HAS_EXACT_MATCH_ISSUER.
    assert [s[1] & 0xF for s in statuses(chain)] == [
        CERT_TRUST_HAS_KEY_MATCH_ISSUER, CERT_TRUST_HAS_KEY_MATCH_ISSUER,
        CERT_TRUST_HAS_NAME_MATCH_ISSUER | CERT_TRUST_IS_SELF_SIGNED]


def test_exact_match_issuer(machine, keys):
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS, serial=4242)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (ROOT_NAME, keys["root"], 4242),
                 aki="issuer")
    add(root, "Root")
    chain = chain_for(leaf)
    assert statuses(chain)[0] == (0, CERT_TRUST_HAS_EXACT_MATCH_ISSUER | CERT_TRUST_HAS_PREFERRED_ISSUER)


def test_trusted_path_preferred_over_untrusted(machine, keys):
    # Cross-certification: the same intermediate key certified by an untrusted root and by
    # a trusted one; Windows returns the highest-quality chain (the trusted one).
    other_root_name = name("Other Root", o="Fabrikam")
    untrusted_root = issue(other_root_name, keys["other2"], ca=True, days=CA_DAYS)
    cross = issue(INTER_NAME, keys["inter"], (other_root_name, keys["other2"]), ca=True,
                  days=CA_DAYS)
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS)
    inter = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]))
    add(untrusted_root, "CA")
    add(cross, "CA")
    add(inter, "CA")
    add(root, "Root")
    chain = chain_for(leaf)
    assert chain.TrustStatus.dwErrorStatus == 0
    assert chain.rgpChain[0].rgpElement[2].pCertContext.pbCertEncoded == root


def test_cyclic_chain(machine, keys):
    a_name, b_name = name("CA A"), name("CA B")
    ca_a = issue(a_name, keys["inter"], (b_name, keys["other"]), ca=True, days=CA_DAYS)
    ca_b = issue(b_name, keys["other"], (a_name, keys["inter"]), ca=True, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (a_name, keys["inter"]))
    add(ca_a, "CA")
    add(ca_b, "CA")
    chain = chain_for(leaf)
    # Wine chain.c chainCheck chain9: the repeated CA is CYCLIC (and fails basic
    # constraints); the chain is PARTIAL and CYCLIC.
    err = chain.TrustStatus.dwErrorStatus
    assert err & CERT_TRUST_IS_CYCLIC and err & CERT_TRUST_IS_PARTIAL_CHAIN
    assert statuses(chain)[-1][0] & CERT_TRUST_IS_CYCLIC
    # Wine chain.c basePolicyCheck / sslPolicyCheck chain9.
    assert policy(chain) == (CERT_E_CHAINING, 0, -1)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CERT_E_UNTRUSTEDROOT, 0, -1)


def test_intermediate_that_is_not_a_ca(machine, keys):
    root = issue(ROOT_NAME, keys["root"], ca=True, days=CA_DAYS)
    not_ca = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=False, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]))
    add(root, "Root")
    add(not_ca, "CA")
    chain = chain_for(leaf)
    assert [s[0] for s in statuses(chain)] == [0, CERT_TRUST_INVALID_BASIC_CONSTRAINTS, 0]
    # Wine chain.c basicConstraintsPolicyCheck chain3/chain8: TRUST_E_BASIC_CONSTRAINTS at
    # the CA that may not issue; CERT_CHAIN_POLICY_STATUS docs list it among base errors.
    assert policy(chain, CERT_CHAIN_POLICY_BASIC_CONSTRAINTS) == (TRUST_E_BASIC_CONSTRAINTS, 0, 1)
    assert policy(chain) == (TRUST_E_BASIC_CONSTRAINTS, 0, 1)


def test_path_length_constraint(machine, keys):
    root = issue(ROOT_NAME, keys["root"], ca=True, path_length=0, days=CA_DAYS)
    inter = issue(INTER_NAME, keys["inter"], (ROOT_NAME, keys["root"]), ca=True, days=CA_DAYS)
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]))
    add(root, "Root")
    add(inter, "CA")
    chain = chain_for(leaf)
    # RFC 5280 4.2.1.9: pathLenConstraint 0 allows no intermediate CA below the root.
    assert [s[0] for s in statuses(chain)] == [0, 0, CERT_TRUST_INVALID_BASIC_CONSTRAINTS]
    assert policy(chain, CERT_CHAIN_POLICY_BASIC_CONSTRAINTS) == (TRUST_E_BASIC_CONSTRAINTS, 0, 2)


# ---------------------------------------------------------------------------------------
# Revocation (no CRL/OCSP is reachable: the machine is offline)
# ---------------------------------------------------------------------------------------


def test_revocation_end_cert_without_distribution_point(installed):
    chain = chain_for(installed["leaf"], flags=CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert statuses(chain)[0][0] == CERT_TRUST_REVOCATION_STATUS_UNKNOWN
    assert statuses(chain)[1][0] == 0
    # CERT_CHAIN_POLICY_STATUS docs: CRYPT_E_NO_REVOCATION_CHECK.
    assert policy(chain) == (CRYPT_E_NO_REVOCATION_CHECK, 0, 0)
    assert policy(chain, para=CERT_CHAIN_POLICY_PARA(
        CERT_CHAIN_POLICY_IGNORE_END_REV_UNKNOWN_FLAG)) == (0, -1, -1)


def test_revocation_offline(machine, keys, pki):
    add(pki["root"], "Root")
    add(pki["inter"], "CA")
    leaf = issue(name("www.contoso.com"), keys["leaf"], (INTER_NAME, keys["inter"]),
                 dns=("www.contoso.com",), cdp="http://crl.contoso.com/issuing.crl")
    chain = chain_for(leaf, flags=CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)
    assert statuses(chain)[0][0] == (CERT_TRUST_REVOCATION_STATUS_UNKNOWN
                                     | CERT_TRUST_IS_OFFLINE_REVOCATION)
    assert statuses(chain)[2][0] == 0  # the root is excluded
    # CERT_CHAIN_POLICY_STATUS docs: CRYPT_E_REVOCATION_OFFLINE; the SSL policy's
    # SECURITY_FLAG_IGNORE_REVOCATION accepts it.
    assert policy(chain) == (CRYPT_E_REVOCATION_OFFLINE, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL, ssl_para()) == (CRYPT_E_REVOCATION_OFFLINE, 0, 0)
    assert policy(chain, CERT_CHAIN_POLICY_SSL,
                  ssl_para(checks=SECURITY_FLAG_IGNORE_REVOCATION)) == (0, -1, -1)


def test_revocation_not_checked_on_an_invalid_chain(installed):
    # Wine chain.c testGetCertChain (revocation flags): a time-invalid chain built with the
    # revocation flags carries only its time error.
    chain = chain_for(installed["leaf"], when=LATER, flags=CERT_CHAIN_REVOCATION_CHECK_END_CERT)
    assert chain.TrustStatus.dwErrorStatus == CERT_TRUST_IS_NOT_TIME_VALID


# ---------------------------------------------------------------------------------------
# Argument errors
# ---------------------------------------------------------------------------------------


def test_missing_chain_para_or_certificate(machine, pki):
    # Wine chain.c testGetCertChain: NULL pChainPara (or NULL certificate) -> E_INVALIDARG.
    with raises_hresult(E_INVALIDARG):
        CertGetCertificateChain(None, ctx_of(pki["leaf"]), None, None, None, 0)
    assert GetLastError() == E_INVALIDARG
    with raises_hresult(E_INVALIDARG):
        CertGetCertificateChain(None, None, None, None, CERT_CHAIN_PARA(), 0)


def test_bad_engine_handle(machine, pki):
    with raises_hresult(E_INVALIDARG):
        CertGetCertificateChain(12345, ctx_of(pki["leaf"]), None, None, CERT_CHAIN_PARA(), 0)


def test_unknown_policy(installed):
    chain = chain_for(installed["leaf"])
    # Wine chain.c testVerifyCertChainPolicy: a NULL/unknown policy -> FALSE with
    # ERROR_FILE_NOT_FOUND.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertVerifyCertificateChainPolicy(None, chain, None)
    assert GetLastError() == ERROR_FILE_NOT_FOUND
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        CertVerifyCertificateChainPolicy(99, chain, None)


def test_chain_context_is_a_context_manager(installed):
    with chain_for(installed["leaf"]) as chain:
        assert chain.cChain == 1


def test_pythonic_build_chain(installed, machine):
    chain = build_chain(machine, ctx_of(installed["leaf"]), location="LocalMachine", time=WHEN,
                        usage=[SERVER_AUTH])
    assert chain.TrustStatus.dwErrorStatus == 0


def test_service_identity_trusts_local_machine_root(installed):
    from capi import run_as

    # A service account's CurrentUser\Root also shows LocalMachine\Root (physical store
    # .LocalMachine), so the default engine trusts the machine's roots for it too.
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        chain = chain_for(installed["leaf"])
    assert chain.TrustStatus.dwErrorStatus == 0


def test_current_user_root_is_per_user(machine, pki):
    from capi import run_as

    add(pki["inter"], "CA")
    add(pki["root"], "Root", CERT_SYSTEM_STORE_CURRENT_USER)  # the Administrator's own Root
    assert chain_for(pki["leaf"]).TrustStatus.dwErrorStatus == 0
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        other = chain_for(pki["leaf"])
    assert other.TrustStatus.dwErrorStatus == CERT_TRUST_IS_PARTIAL_CHAIN


# ---------------------------------------------------------------------------------------
# Hostile stores (review findings)
# ---------------------------------------------------------------------------------------


def _memory_store(ders):
    store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, None, 0, None)
    for der in ders:
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_ALWAYS)
    return store


def test_same_name_flood_in_additional_store_does_not_hide_the_issuer(installed, pki, keys):
    # Review finding: 64 certificates named like the real intermediate, with another key,
    # in hAdditionalStore (searched first) used up the candidate search before the real
    # issuer was tried; the chain came back partial with bad signatures. Issuers whose
    # signature verifies are now tried first, and failing ones draw on their own limit.
    bogus = [issue(INTER_NAME, keys["other"], ca=True, days=CA_DAYS, serial=i + 1)
             for i in range(80)]
    chain = chain_for(pki["leaf"], additional=_memory_store(bogus))
    assert chain.TrustStatus.dwErrorStatus == 0
    assert [e.pCertContext.pbCertEncoded for e in chain.rgpChain[0].rgpElement] == \
        [pki["leaf"], pki["inter"], pki["root"]]
    assert policy(chain) == (0, -1, -1)


def test_only_a_wrong_key_issuer_still_reports_the_bad_signature(machine, pki, keys):
    # With no issuer that verifies, a same-name issuer is still used and the leaf fails
    # its signature check (Wine chain.c tests: CERT_TRUST_IS_NOT_SIGNATURE_VALID).
    add(pki["root"], "Root")
    impostor = issue(INTER_NAME, keys["other"], (ROOT_NAME, keys["root"]), ca=True, days=CA_DAYS)
    chain = chain_for(pki["leaf"], additional=_memory_store([impostor]))
    assert statuses(chain)[0][0] & CERT_TRUST_IS_NOT_SIGNATURE_VALID
    assert chain.rgpChain[0].rgpElement[1].pCertContext.pbCertEncoded == impostor

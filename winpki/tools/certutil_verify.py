"""certutil -verify: build a certificate's chain with revocation checking and say what a
relying party would decide.

The chain is built as certutil builds it (HCCE_LOCAL_MACHINE, revocation checked for the
chain except the root, CERT_CHAIN_POLICY_BASE); revocation comes from the CRLs in the
stores and at ``file:`` CRL distribution points — there is no network, so a CRL that
cannot be had is "offline". Output follows certutil.exe (en-US) -verify: the Issuer and
Subject of the certificate, the chain dump (``CertContext[0][n]: dwInfoStatus=…
dwErrorStatus=…`` with each element's trust bits by name and the CRL used), then the
verdict line and ``CertUtil: -verify command completed successfully.`` or ``… FAILED: …``.
"""

from __future__ import annotations

from capi import constants as C
from capi.errors import CRYPT_E_REVOCATION_OFFLINE, CRYPT_E_REVOKED, WinError
from winpki.tools.certutil import Invocation, verb
from winpki.tools.certutil_store import hash_text, name_str, read_certificates

_ERROR_BITS = [
    (C.CERT_TRUST_IS_NOT_TIME_VALID, "CERT_TRUST_IS_NOT_TIME_VALID"),
    (C.CERT_TRUST_IS_REVOKED, "CERT_TRUST_IS_REVOKED"),
    (C.CERT_TRUST_IS_NOT_SIGNATURE_VALID, "CERT_TRUST_IS_NOT_SIGNATURE_VALID"),
    (C.CERT_TRUST_IS_NOT_VALID_FOR_USAGE, "CERT_TRUST_IS_NOT_VALID_FOR_USAGE"),
    (C.CERT_TRUST_IS_UNTRUSTED_ROOT, "CERT_TRUST_IS_UNTRUSTED_ROOT"),
    (C.CERT_TRUST_REVOCATION_STATUS_UNKNOWN, "CERT_TRUST_REVOCATION_STATUS_UNKNOWN"),
    (C.CERT_TRUST_IS_CYCLIC, "CERT_TRUST_IS_CYCLIC"),
    (C.CERT_TRUST_INVALID_BASIC_CONSTRAINTS, "CERT_TRUST_INVALID_BASIC_CONSTRAINTS"),
    (C.CERT_TRUST_IS_PARTIAL_CHAIN, "CERT_TRUST_IS_PARTIAL_CHAIN"),
    (C.CERT_TRUST_IS_OFFLINE_REVOCATION, "CERT_TRUST_IS_OFFLINE_REVOCATION"),
    (C.CERT_TRUST_IS_EXPLICIT_DISTRUST, "CERT_TRUST_IS_EXPLICIT_DISTRUST"),
]
_INFO_BITS = [
    (C.CERT_TRUST_HAS_EXACT_MATCH_ISSUER, "CERT_TRUST_HAS_EXACT_MATCH_ISSUER"),
    (C.CERT_TRUST_HAS_KEY_MATCH_ISSUER, "CERT_TRUST_HAS_KEY_MATCH_ISSUER"),
    (C.CERT_TRUST_HAS_NAME_MATCH_ISSUER, "CERT_TRUST_HAS_NAME_MATCH_ISSUER"),
    (C.CERT_TRUST_IS_SELF_SIGNED, "CERT_TRUST_IS_SELF_SIGNED"),
    (C.CERT_TRUST_HAS_PREFERRED_ISSUER, "CERT_TRUST_HAS_PREFERRED_ISSUER"),
]


def _bit_names(value: int, table) -> str:
    names = [n for bit, n in table if value & bit]
    return f"{' | '.join(names) or '0'} (0x{value:x})"


@verb("verify", "[-user] CertFile", min_args=1, max_args=1)
def verify_verb(inv: Invocation):
    from capi.crypt32.chain import (
        CERT_CHAIN_PARA,
        CertGetCertificateChain,
        CertVerifyCertificateChainPolicy,
    )
    from capi.crypt32.crl import check_certificate, find_entry

    certs = read_certificates(inv.args[0])
    if not certs:
        from capi.errors import CRYPT_E_NOT_FOUND

        raise WinError(CRYPT_E_NOT_FOUND, detail=inv.args[0])
    cert = certs[0]
    engine = C.HCCE_CURRENT_USER if inv.flag("user") else C.HCCE_LOCAL_MACHINE
    flags = C.CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT
    inv.print("Issuer:")
    inv.print(f"    {name_str(cert.pCertInfo.Issuer)}")
    inv.print("Subject:")
    inv.print(f"    {name_str(cert.pCertInfo.Subject)}")
    inv.print(f"Cert Serial Number: {cert.x509.serial_number:x}")
    inv.print()
    inv.print(f"ChainFlags = CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT (0x{flags:08x})")
    inv.print("HCCE_CURRENT_USER" if inv.flag("user") else "HCCE_LOCAL_MACHINE")
    inv.print("CERT_CHAIN_POLICY_BASE")
    chain = CertGetCertificateChain(engine, cert, None, None, CERT_CHAIN_PARA(), flags)
    inv.print("-------- CERT_CHAIN_CONTEXT --------")
    inv.print(f"ChainContext.dwInfoStatus = {_bit_names(chain.TrustStatus.dwInfoStatus, _INFO_BITS)}")
    inv.print(f"ChainContext.dwErrorStatus = "
              f"{_bit_names(chain.TrustStatus.dwErrorStatus, _ERROR_BITS)}")
    elements = chain.rgpChain[0].rgpElement
    revoked_reason = None
    for i, el in enumerate(elements):
        ctx = el.pCertContext
        st = el.TrustStatus
        inv.print()
        inv.print(f"CertContext[0][{i}]: dwInfoStatus={st.dwInfoStatus:x} "
                  f"dwErrorStatus={st.dwErrorStatus:x}")
        inv.print(f"  Issuer: {name_str(ctx.pCertInfo.Issuer)}")
        inv.print(f"  Subject: {name_str(ctx.pCertInfo.Subject)}")
        inv.print(f"  Serial: {ctx.x509.serial_number:x}")
        inv.print(f"  Cert: {hash_text(ctx.sha1)}")
        if st.dwErrorStatus:
            inv.print(f"  Element.dwErrorStatus = {_bit_names(st.dwErrorStatus, _ERROR_BITS)}")
        if i + 1 < len(elements) and not chain.TrustStatus.dwErrorStatus & ~(
                C.CERT_TRUST_IS_REVOKED | C.CERT_TRUST_REVOCATION_STATUS_UNKNOWN
                | C.CERT_TRUST_IS_OFFLINE_REVOCATION):
            result = check_certificate(ctx, elements[i + 1].pCertContext,
                                       _crl_stores(inv), machine=_machine())
            if result.crl is not None:
                inv.print(f"  CRL {hash_text(result.crl.sha1)}")
                inv.print(f"  Issuer: {name_str(result.crl.pCrlInfo.Issuer)}")
                entry = find_entry(ctx.pCertInfo.SerialNumber, result.crl.pCrlInfo)
                if entry is not None and i == 0:
                    revoked_reason = result.reason
    inv.print("------------------------------------")
    status = CertVerifyCertificateChainPolicy(C.CERT_CHAIN_POLICY_BASE, chain)
    err = status.dwError
    if err == CRYPT_E_REVOKED:
        inv.print(f"Certificate is REVOKED (Reason={revoked_reason or 0})"
                  if status.lElementIndex == 0 else "Issuing CA certificate is REVOKED")
    elif err == CRYPT_E_REVOCATION_OFFLINE:
        inv.print("Revocation check skipped -- server offline")
    elif err == 0:
        inv.print("Leaf certificate revocation check passed")
    if err:
        raise WinError(err)


def _machine():
    from capi.host.context import current_machine

    return current_machine()


def _crl_stores(inv: Invocation) -> list:
    from capi.crypt32.store import CertOpenStore

    location = C.CERT_SYSTEM_STORE_CURRENT_USER if inv.flag("user") \
        else C.CERT_SYSTEM_STORE_LOCAL_MACHINE
    return [CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                          location | C.CERT_STORE_READONLY_FLAG, name)
            for name in ("CA", "Root")]

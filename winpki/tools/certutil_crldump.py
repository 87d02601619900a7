"""certutil -dump of a CRL: the ``X509 Certificate Revocation List:`` block.

Shape (certutil.exe en-US, as a lab report pastes ``certutil -dump <CA>.crl``)::

    X509 Certificate Revocation List:
    Version: 2
    Signature Algorithm:
        Algorithm ObjectId: 1.2.840.113549.1.1.11 sha256RSA
        Algorithm Parameters:
        05 00
    Issuer:
        CN=CVI Issuing CA 1
        DC=corp
      Name Hash(sha1): 81835e9994945c3166bf7396611ca225004ed32b
      Name Hash(md5): d31087fe673eedadd94c85f2a0bc4782

     ThisUpdate: 7/11/2026 1:06 PM
     NextUpdate: 7/12/2125 1:26 AM
    CRL Entries: 7
      Serial Number: 4400000014178d21c3ed6a4575000000000014
       Revocation Date: 7/11/2026 1:14 PM
      Extensions: 1
        2.5.29.21: Flags = 0, Length = 3
        CRL Reason Code
            Cessation of Operation (5)

The CRL extensions, the signature and the hashes follow in the layout of the
certificate dump ("CRL Extensions: N", "Signature: UnusedBits=0", "CRL Hash(sha1): ...").
The CRL is parsed here with asn1crypto, so a CRL winpki's crypt32 would refuse still
dumps what it holds.
"""

from __future__ import annotations

import hashlib

from capi.errors import CRYPT_E_ASN1_BADTAG, WinError
from winpki.tools.certutil import DUMP_HANDLERS
from winpki.tools.common import base64_any

# RFC 5280 5.3.1 reason codes with the names certutil prints.
_REASONS = {
    0: "Unspecified", 1: "Key Compromise", 2: "CA Compromise", 3: "Affiliation Changed",
    4: "Superseded", 5: "Cessation of Operation", 6: "Certificate Hold",
    8: "Remove From CRL", 9: "Privilege Withdrawn", 10: "AA Compromise",
}
_EXT_NAMES = {
    "2.5.29.21": "CRL Reason Code",
    "2.5.29.20": "CRL Number",
    "2.5.29.35": "Authority Key Identifier",
    "2.5.29.27": "Delta CRL Indicator",
    "2.5.29.28": "Issuing Distribution Point",
    "2.5.29.24": "Invalidity Date",
    "1.3.6.1.4.1.311.21.1": "CA Version",
    "1.3.6.1.4.1.311.21.4": "Next CRL Publish",
}


def is_crl(der: bytes) -> bool:
    """``der`` is a CertificateList (tbsCertList, signatureAlgorithm, signature) whose
    tbsCertList starts with a version INTEGER or the signature AlgorithmIdentifier."""
    from asn1crypto import crl

    if der[:1] != b"\x30":
        return False
    try:
        parsed = crl.CertificateList.load(der, strict=True)
        _ = parsed["tbs_cert_list"]["this_update"].native
        _ = parsed["tbs_cert_list"]["issuer"].dump()
        return True
    except (ValueError, TypeError, KeyError):
        return False


def crl_der(data: bytes) -> bytes | None:
    """The DER CRL in a file's bytes (DER, or base64 with or without headers), or None."""
    if is_crl(data):
        return data
    der = base64_any(data)
    return der if der is not None and is_crl(der) else None


def _params_line(alg) -> list[str]:
    raw = alg["parameters"].dump()
    return [f"    {raw.hex(' ')}"] if raw else ["    NULL"]


def _ext_value_lines(oid: str, ext) -> list[str]:
    from asn1crypto import core

    from winpki.tools.certutil_store import _hexdump

    ind = "        "
    raw = ext["extn_value"].contents
    try:
        if oid == "2.5.29.21":
            inner = core.Asn1Value.load(raw, strict=True)
            if inner.tag == 10 and inner.contents:
                code = int.from_bytes(inner.contents, "big")
                return [f"{ind}{_REASONS.get(code, 'Unknown')} ({code})"]
        if oid == "2.5.29.20":
            number = core.Integer.load(raw, strict=True).native
            return [f"{ind}CRL Number={number:x}"]
        if oid == "2.5.29.35":
            key_id = ext["extn_value"].parsed["key_identifier"].native
            if key_id:
                return [f"{ind}KeyID={key_id.hex(' ')}"]
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    return _hexdump(raw, ind)


def _extension_lines(exts) -> list[str]:
    lines = []
    for ext in exts:
        oid = ext["extn_id"].dotted
        raw = ext["extn_value"].contents
        crit = "1(Critical)" if ext["critical"].native else "0"
        lines.append(f"    {oid}: Flags = {crit}, Length = {len(raw):x}")
        lines.append(f"    {_EXT_NAMES.get(oid, oid)}")
        lines += _ext_value_lines(oid, ext)
        lines.append("")
    return lines


def crl_dump_lines(der: bytes) -> list[str]:
    """The lines certutil -dump prints for the DER CRL ``der``."""
    from asn1crypto import crl

    from winpki.tools.certutil_store import (
        _SIG_NAMES,
        _hexdump,
        _name_block,
        format_time,
        hash_text,
    )

    try:
        parsed = crl.CertificateList.load(der, strict=True)
        tbs = parsed["tbs_cert_list"]
        version = tbs["version"].native
        sig_alg = parsed["signature_algorithm"]
        sig_oid = sig_alg["algorithm"].dotted
        this_update = tbs["this_update"].native
        next_update = tbs["next_update"].native
        entries = list(tbs["revoked_certificates"])
        crl_exts = list(tbs["crl_extensions"]) if tbs["crl_extensions"].native is not None else []
        signature = parsed["signature"].contents
    except (ValueError, TypeError, KeyError) as exc:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=str(exc)) from exc
    lines = [
        "X509 Certificate Revocation List:",
        f"Version: {2 if version == 'v2' else 1}",
        "Signature Algorithm:",
        f"    Algorithm ObjectId: {sig_oid} {_SIG_NAMES.get(sig_oid, '')}".rstrip(),
        "    Algorithm Parameters:",
    ]
    lines += _params_line(sig_alg)
    lines += _name_block("Issuer", tbs["issuer"].dump())
    lines += ["", f" ThisUpdate: {format_time(this_update)}"]
    if next_update is not None:
        lines.append(f" NextUpdate: {format_time(next_update)}")
    lines.append(f"CRL Entries: {len(entries)}")
    for entry in entries:
        lines.append(f"  Serial Number: {entry['user_certificate'].contents.hex()}")
        lines.append(f"   Revocation Date: {format_time(entry['revocation_date'].native)}")
        exts = entry["crl_entry_extensions"]
        if exts.native:
            lines.append(f"  Extensions: {len(exts)}")
            lines += _extension_lines(exts)
        else:
            lines.append("")
    lines.append(f"CRL Extensions: {len(crl_exts)}")
    lines += _extension_lines(crl_exts)
    lines += ["Signature Algorithm:",
              f"    Algorithm ObjectId: {sig_oid} {_SIG_NAMES.get(sig_oid, '')}".rstrip(),
              "    Algorithm Parameters:"]
    lines += _params_line(sig_alg)
    lines.append(f"Signature: UnusedBits={signature[0] if signature else 0}")
    lines += _hexdump(signature[1:])
    lines.append(f"CRL Hash(md5): {hashlib.md5(der).hexdigest()}")
    lines.append(f"CRL Hash(sha1): {hash_text(hashlib.sha1(der).digest())}")
    lines.append(f"CRL Hash(sha256): {hashlib.sha256(der).hexdigest()}")
    return lines


def _dump_handler(data: bytes) -> list[str] | None:
    der = crl_der(data)
    return None if der is None else crl_dump_lines(der)


DUMP_HANDLERS.append(_dump_handler)

__all__ = ["crl_der", "crl_dump_lines", "is_crl"]

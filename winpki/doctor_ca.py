"""``winpki doctor request N``: why the CA denied or failed request N, from the CA database,
its registry settings, its KRA store and the template, with the fix the document gives
("Key Archival and Management in Windows Server 2003", Microsoft: User Enrollment
Errors, Loading KRA Certificates, Certificate Template Not Supported by the CA)."""

from __future__ import annotations

from capi.certsrv.authority import (
    DB_DISP_DENIED,
    DB_DISP_ERROR,
    DISPOSITION_NAMES,
    CertificateAuthority,
    hresult_text,
)
from capi.errors import ERROR_INVALID_PARAMETER, WinError

_FIXES = {
    0x8009400A: ["No KRA is configured on the CA (KRACertHash is empty or KRACertCount is 0).",
                 "Fix: enroll a Key Recovery Agent certificate, add it to the CA's KRA store "
                 "(certutil -addstore KRA kra.cer), then certutil -setreg ca\\KRACertHash <thumbprint> "
                 "and certutil -setreg ca\\KRACertCount 1 (Recovery Agents tab: Archive the key, Add)."],
    0x8009400B: ["Fewer valid KRA certificates load than KRACertCount asks for: a configured KRA "
                 "certificate is missing from the CA's KRA store, revoked, expired or not a KRA "
                 "certificate (Application log events 82-85).",
                 "Fix: put the KRA certificate back in LocalMachine\\KRA, or configure a valid one."],
    0x8009400C: ["The key sent for archival was refused: only RSA encryption keys are archived; a "
                 "signature-only key (KeySpec = 2) or a key that does not match the request is rejected.",
                 "Fix: request with KeySpec = 1 (AT_KEYEXCHANGE) and an RSA key."],
    0x80094800: ["The request names a certificate template this CA does not offer.",
                 "Fix: certutil -SetCATemplates +<template>."],
    0x80094810: ["The request carries a key for archival, but the template does not archive keys.",
                 "Fix: use a template with 'Archive subject's encryption private key', or drop "
                 "PrivateKeyArchive from the INF."],
    0x80094804: ["The template archives keys, but the request carries none.",
                 "Fix: add PrivateKeyArchive = TRUE to the INF's [NewRequest]."],
    0x80094811: ["The key is shorter than the template's minimum key size.", "Fix: raise KeyLength."],
    0x80094012: ["The requester has no Enroll permission on the template.",
                 "Fix: enroll as an account the template allows, or grant Enroll on the template."],
}


def explain_request(machine, request_id: str) -> tuple[str, bool]:
    try:
        rid = int(request_id, 0)
    except ValueError:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"request id {request_id!r}") from None
    authority = CertificateAuthority.open(machine)
    row = authority.row(rid)
    lines = [f"Request {rid} for {row['requester']} (template {row['template'] or 'none'}): "
             f"{DISPOSITION_NAMES.get(row['disposition'], row['disposition'])}"]
    failed = row["disposition"] in (DB_DISP_DENIED, DB_DISP_ERROR)
    if failed and row["status"]:
        status = int(row["status"]) & 0xFFFFFFFF
        lines.append(f"  {hresult_text(status)}")
        for text in _FIXES.get(status, []):
            lines.append(f"  {text}")
    return "\n".join(lines) + "\n", failed


__all__ = ["explain_request"]

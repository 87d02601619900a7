r"""certutil's Certification Authority verbs (Microsoft certutil reference; "Key Archival
and Management in Windows Server 2003" for -getkey, -recoverkey and -MergePFX).

  -getreg ca[\Name]            -setreg ca\Name Value (+FLAG / -FLAG for flags and lists)
  -view [-restrict R] [-out C] -revoke Serial [Reason]   -CRL
  -resubmit RequestId          -deny RequestId           -CATemplates   -SetCATemplates +T
  -cainfo                      -ping
  -getkey [-v] SearchToken [RecoveryBlobOutFile]
  -recoverkey [-user] [-p pw] RecoveryBlobInFile [PFXOutFile]
  -MergePFX [-user] -p "in,out" PFXInFile1,PFXInFile2 PFXOutFile
  -backup / -backupDB / -backupKey [-p pw] BackupDirectory
  -restore / -restoreDB / -restoreKey [-p pw] BackupDirectory | PFXFile
"""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography import x509

from capi import constants as C
from capi.errors import (
    CRYPT_E_NOT_FOUND,
    ERROR_FILE_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    TYPE_E_AMBIGUOUSNAME,
    WinError,
)
from winpki.tools.certutil import Invocation, verb
from winpki.tools.common import check_input_file

# "With a PKCS #12 (.pfx) file, 32 characters is the maximum length allowed for a
# password" (certutil -backup / -backupKey / -restore / -restoreKey, certutil reference).
MAX_PFX_PASSWORD = 32


def _authority(inv: Invocation, *, install: bool = False):
    from capi.certsrv.authority import CertificateAuthority
    from capi.host.context import current_machine, current_token

    machine = current_machine()
    return CertificateAuthority.open(machine, inv.value("config"), install=install,
                                     token=current_token(machine))


def _token():
    from capi.host.context import current_machine, current_token

    return current_token(current_machine())


def _time(text: str | None) -> str:
    if not text:
        return "EMPTY"
    import datetime

    from winpki.tools.certutil_store import format_time

    return format_time(datetime.datetime.fromisoformat(text))


# -- registry --------------------------------------------------------------------------------


def _reg_line(name: str, kind: int, value) -> str:
    from capi.host import registry as R

    type_name = R.REG_TYPE_NAMES.get(kind, str(kind))
    if kind == R.REG_MULTI_SZ:
        lines = [f"  {name} {type_name} ="] + [f"    {i}: {v}" for i, v in enumerate(value)]
        return "\n".join(lines)
    if kind in (R.REG_DWORD, R.REG_QWORD):
        return f"  {name} {type_name} = {value:x} ({value})" if value > 9 else f"  {name} {type_name} = {value}"
    if kind == R.REG_BINARY:
        return f"  {name} {type_name} = {bytes(value).hex(' ')}"
    return f"  {name} {type_name} = {value}"


def _reg_name(inv: Invocation, text: str) -> str | None:
    head, _, name = text.replace("/", "\\").partition("\\")
    if head.lower() != "ca":
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"registry path {text!r}: only ca\\… is kept")
    return name or None


@verb("getreg", "[ca\\]RegistryValueName", max_args=1)
def getreg(inv: Invocation):
    from capi.host import registry as R

    authority = _authority(inv)
    name = _reg_name(inv, inv.args[0] if inv.args else "ca")
    key = R.open_key(authority.machine, authority.reg_key, _token())
    shown = R.full_path(authority.reg_key)
    if name is None:
        inv.print(f"Values:\n{shown}:\n")
        for value_name, kind, value in key.enum_values():
            inv.print(_reg_line(value_name, kind, value))
        return None
    kind, value = key.query_value(name)
    inv.print(f"{shown}\\{name}:\n")
    inv.print(_reg_line(name, kind, value))
    return None


@verb("setreg", "ca\\RegistryValueName Value", min_args=2, max_args=2)
def setreg(inv: Invocation):
    from capi.certsrv.authority import FLAG_NAMES
    from capi.host import registry as R

    authority = _authority(inv)
    name = _reg_name(inv, inv.args[0])
    if name is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="no value name")
    text = inv.args[1]
    token = _token()
    try:
        with R.open_key(authority.machine, authority.reg_key, token) as key:
            old_kind, old = key.query_value(name)
    except WinError as exc:
        if exc.winerror != ERROR_FILE_NOT_FOUND:
            raise
        old_kind, old = None, None
    kind, value = _new_value(name, text, old_kind, old, FLAG_NAMES.get(name, {}))
    authority.set_setting(name, kind, value, token)
    shown = R.full_path(authority.reg_key)
    inv.print(f"{shown}\\{name}:\n")
    if old_kind is not None:
        inv.print("Old Value:")
        inv.print(_reg_line(name, old_kind, old))
        inv.print("")
    inv.print("New Value:")
    inv.print(_reg_line(name, kind, value))
    inv.print("CertUtil: -setreg command completed successfully.")
    inv.print("The CertSvc service may need to be restarted for changes to take effect.")
    return 0


def _new_value(name: str, text: str, old_kind, old, flags: dict) -> tuple[int, object]:
    from capi.host import registry as R

    op = text[:1] if text[:1] in "+-" and len(text) > 1 else ""
    body = text[1:] if op else text
    if old_kind == R.REG_MULTI_SZ or "\n" in body or name.lower() == "kracerthash":
        items = list(old or [])
        parts = [p.strip() for p in body.replace("\\n", "\n").split("\n") if p.strip()]
        if op == "+":
            return R.REG_MULTI_SZ, items + [p for p in parts if p not in items]
        if op == "-":
            return R.REG_MULTI_SZ, [i for i in items if i not in parts]
        return R.REG_MULTI_SZ, parts
    number = None
    if body.upper() in {k.upper() for k in flags}:
        number = next(v for k, v in flags.items() if k.upper() == body.upper())
    else:
        try:
            number = int(body, 0)
        except ValueError:
            number = None
    if number is not None and old_kind in (None, R.REG_DWORD):
        current = int(old or 0)
        if op == "+":
            return R.REG_DWORD, current | number
        if op == "-":
            return R.REG_DWORD, current & ~number
        return R.REG_DWORD, number
    if op:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"{text!r} for {name}")
    return R.REG_SZ, body


# -- the database --------------------------------------------------------------------------

_COLUMNS = {
    "requestid": ("Request ID", "id"), "requestername": ("Requester Name", "requester"),
    "disposition": ("Request Disposition", "disposition"),
    "dispositionmessage": ("Request Disposition Message", "message"),
    "statuscode": ("Request Status Code", "status"),
    "serialnumber": ("Serial Number", "serial"), "commonname": ("Issued Common Name", "common_name"),
    "certificatetemplate": ("Certificate Template", "template"),
    "certificatehash": ("Certificate Hash", "cert_hash"),
    "upn": ("User Principal Name", "upn"),
    "revokedwhen": ("Revocation Date", "revoked_when"), "revokedreason": ("Revocation Reason", "revoked_reason"),
    "keyrecoveryhashes": ("Key Recovery Agent Hashes", "kra_hashes"),
    "archivedkey": ("Archived Key", "archived_key"),
}
_DEFAULT_OUT = ["requestid", "requestername", "disposition", "serialnumber", "commonname",
                "certificatetemplate", "archivedkey", "revokedreason"]


def _restrictions(text: str | None):
    import re

    tests = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        m = re.fullmatch(r"\s*([A-Za-z]+)\s*(<=|>=|==|=|<|>)\s*(.*?)\s*", part)
        if not m or m.group(1).lower() not in _COLUMNS:
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"-restrict {part!r}")
        column = _COLUMNS[m.group(1).lower()][1]
        op, value = m.group(2), m.group(3).strip('"')
        tests.append((column, op, value))

    def check(row) -> bool:
        for column, op, value in tests:
            have = row[column]
            try:
                have_n, want_n = int(have), int(value, 0)
            except (TypeError, ValueError):
                have_n, want_n = str(have or "").lower(), value.lower()
            ok = {"=": have_n == want_n, "==": have_n == want_n, "<": have_n < want_n, ">": have_n > want_n,
                  "<=": have_n <= want_n, ">=": have_n >= want_n}[op]
            if not ok:
                return False
        return True

    return check


def _cell(column: str, row) -> str:
    from capi.certsrv.authority import DISPOSITION_NAMES, REVOCATION_REASONS

    value = row[column]
    if column in ("id", "status", "disposition", "revoked_reason"):
        if value is None:
            return "EMPTY"
        value = int(value)
        tail = ""
        if column == "disposition":
            tail = f" -- {DISPOSITION_NAMES.get(value, '')}"
        elif column == "revoked_reason":
            tail = f" -- {REVOCATION_REASONS.get(value, '')}"
        return f"0x{value & 0xFFFFFFFF:x} ({value}){tail}"
    if column == "archived_key":
        return "EMPTY" if not value else f"{len(value)} bytes"
    if column == "revoked_when":
        return _time(value)
    return f'"{value}"' if value not in (None, "") else "EMPTY"


@verb("view", "[-restrict RestrictionList] [-out ColumnList]", max_args=1)
def view(inv: Invocation):
    authority = _authority(inv)
    columns = [c.strip().lower() for c in (inv.value("out") or "").split(",") if c.strip()] or _DEFAULT_OUT
    for c in columns:
        if c not in _COLUMNS:
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"-out {c}")
    check = _restrictions(inv.value("restrict"))
    rows = [r for r in authority.rows() if check(r)]
    inv.print("Schema:")
    inv.print("  Column Name                   Localized Name                Type    MaxLength")
    inv.print("  ----------------------------  ----------------------------  ------  ---------")
    for c in columns:
        inv.print(f"  {c:<28}  {_COLUMNS[c][0]:<28}")
    inv.print("")
    for n, row in enumerate(rows, 1):
        inv.print(f"Row {n}:")
        for c in columns:
            label, column = _COLUMNS[c]
            inv.print(f"  {label}: {_cell(column, row)}")
        inv.print("")
    inv.print(f"Maximum Row Index: {len(rows)}")
    inv.print("")
    inv.print(f"{len(rows)} Rows")
    return None


@verb("revoke", "SerialNumber [Reason]", min_args=1, max_args=2)
def revoke(inv: Invocation):
    from capi.certsrv.authority import REVOCATION_REASONS

    authority = _authority(inv)
    try:
        reason = int(inv.args[1], 0) if len(inv.args) > 1 else 0
    except ValueError:
        names = {v.replace(" ", "").lower(): k for k, v in REVOCATION_REASONS.items()}
        reason = names.get(inv.args[1].lower().replace("crl_reason_", "").replace("_", ""), -1)
    row = authority.revoke(inv.args[0], reason)
    inv.print(f'Revoking "{row["serial"]}" -- Reason: {REVOCATION_REASONS[reason]}')
    return None


@verb("CRL", "[dd:hh | republish] [delta]", max_args=2)
def crl(inv: Invocation):
    _authority(inv).publish_crl()
    return None


@verb("resubmit", "RequestId", min_args=1, max_args=1)
def resubmit(inv: Invocation):
    result = _authority(inv).resubmit(_request_id(inv.args[0]))
    inv.print("Certificate issued.")
    inv.print(f"RequestId: {result.request_id}")
    return None


@verb("deny", "RequestId", min_args=1, max_args=1)
def deny(inv: Invocation):
    _authority(inv).deny(_request_id(inv.args[0]))
    return None


def _request_id(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"request id {text!r}") from None


@verb("CATemplates", "[+TemplateList | -TemplateList]", max_args=1)
def catemplates(inv: Invocation):
    from capi.certsrv.templates import find_template

    authority = _authority(inv)
    for name in authority.templates():
        t = find_template(authority.machine, name)
        inv.print(f"{t.name}: {t.display_name} -- Auto-Enroll: Access is denied."
                  if t is not None and not t.may_enroll(_token()) else
                  f"{name}: {t.display_name if t else name} -- Auto-Enroll")
    return None


@verb("SetCATemplates", "[+|-]TemplateList", min_args=1, max_args=1)
def setcatemplates(inv: Invocation):
    _authority(inv).set_templates([p.strip() for p in inv.args[0].split(",") if p.strip()])
    return None


@verb("cainfo", "[InfoName [Index | ErrorCode]]", max_args=2)
def cainfo(inv: Invocation):
    authority = _authority(inv)
    inv.print(f"CA name: {authority.name}")
    inv.print(f"Sanitized CA short name (DS name): {authority.name}")
    inv.print("CA type: 3 -- Stand-alone Root CA")
    inv.print("    ENUM_STANDALONE_ROOTCA -- 3")
    inv.print(f"Config: {authority.config}")
    inv.print(f"KRA cert count: {authority.get_setting('KRACertCount', 0)}")
    inv.print(f"KRA cert used count: {len(authority.get_setting('KRACertHash', []) or [])}")
    inv.print(f"CA cert hash: {hashlib.sha1(authority.ca.cert_der).hexdigest()}")
    return None


@verb("ping", "[MaxSecondsToWait | CAMachineList]", max_args=1)
def ping(inv: Invocation):
    authority = _authority(inv)
    inv.print(f'Connecting to {authority.config} ...')
    inv.print(f'Server "{authority.name}" ICertRequest2 interface is alive (0ms)')
    return None


# -- key recovery ---------------------------------------------------------------------------


def _candidate_block(authority, row) -> list[str]:
    from capi.crypt32.str import CertNameToStr
    from winpki.tools.certutil_store import format_time

    der = authority.certificate(row["id"])
    cert = x509.load_der_x509_certificate(der)
    subject = CertNameToStr(C.X509_ASN_ENCODING, cert.subject.public_bytes(), C.CERT_X500_NAME_STR)
    lines = [f"  Serial Number: {row['serial']}", f"  Subject: {subject}"]
    if row["upn"]:
        lines.append(f"  UPN:{row['upn']}")
    lines += [f"  NotBefore: {format_time(cert.not_valid_before_utc)}",
              f"  NotAfter: {format_time(cert.not_valid_after_utc)}"]
    if row["template"]:
        lines.append(f"  Template: {row['template']}")
    lines += [f"  Version: {cert.version.value + 1}",
              f"  Cert Hash(sha1): {' '.join(row['cert_hash'][i:i + 2] for i in range(0, 40, 2))}"]
    return lines


@verb("GetKey", "SearchToken [RecoveryBlobOutFile]", min_args=1, max_args=2)
def getkey(inv: Invocation):
    from capi.certsrv.authority import ROLE_CA_OFFICER_CHECK

    authority = _authority(inv)
    ROLE_CA_OFFICER_CHECK(authority, _token())
    rows = authority.archived_candidates(inv.args[0])
    if inv.flag("v"):
        return _getkey_batch(inv, authority, rows)
    inv.print(f"Querying {authority.config}.....")
    inv.print("")
    inv.print(f'"{authority.config}"')
    for row in rows:
        for line in _candidate_block(authority, row):
            inv.print(line)
        inv.print("")
    if not rows:
        raise WinError(CRYPT_E_NOT_FOUND, detail=f"no archived key for {inv.args[0]!r}")
    if len(rows) > 1:
        raise WinError(TYPE_E_AMBIGUOUSNAME, detail=f"{len(rows)} archived keys for {inv.args[0]!r}")
    row = rows[0]
    if len(inv.args) < 2:
        # A CA officer without a KRA key: the KRA hashes the blob can go to.
        for h in (row["kra_hashes"] or "").split(","):
            inv.print(f"  Key Recovery Agent Cert Hash(sha1): {' '.join(h[i:i + 2] for i in range(0, 40, 2))}")
        return None
    blob = authority.recovery_blob(row)
    _write_new(inv, inv.args[1], blob)
    return None


def _getkey_batch(inv: Invocation, authority, rows) -> int:
    """-v -getkey: the batch file of the document's "Recovery Batch File" example."""
    out = ["@goto start", f"Querying {authority.config}.....", "", f'"{authority.config}"']
    for row in rows:
        out += _candidate_block(authority, row) + [""]
    out += [":start", "@echo Version 3 certificates and keys:"]
    user = (rows[0]["common_name"] or "user").split("@")[0] if rows else "user"
    first_pw, merge_pw = _password(), _password()
    names = []
    for row in rows:
        base = f"{user}-{row['serial']}"
        names.append(base)
        out.append(f'CertUtil -config "{authority.config}" -getkey {row["serial"]} "{base}.rec"')
    for base in names:
        out.append(f'CertUtil -p "{first_pw}" -recoverkey -user "{base}.rec" "{base}.p12"')
    if len(names) > 1:
        out.append(f'CertUtil -p "{first_pw},{merge_pw}" -MergePFX -user '
                   f'"{",".join(n + ".p12" for n in names)}" "{user}.p12"')
        for base in names:
            out += [f"@del {base}.rec", f"@del {base}.p12"]
        out.append(f'@echo PASSWORD: "{merge_pw}"')
    else:
        for base in names:
            out.append(f"@del {base}.rec")
        out.append(f'@echo PASSWORD: "{first_pw}"')
    out.append("@goto exit")
    for line in out:
        inv.print(line)
    if len(rows) > 1:
        from winpki.tools.certutil import fail

        return fail("GetKey", WinError(TYPE_E_AMBIGUOUSNAME), inv.out)
    if not rows:
        raise WinError(CRYPT_E_NOT_FOUND, detail=f"no archived key for {inv.args[0]!r}")
    return None


def _password() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789()[]&-_"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _write_new(inv: Invocation, path: str, data: bytes) -> None:
    if os.path.exists(path) and not inv.flag("f"):
        raise WinError(ERROR_FILE_EXISTS, detail=path)
    with open(path, "wb") as fh:
        fh.write(data)


def _read(path: str, limit: int = 4 * 1024 * 1024) -> bytes:
    check_input_file(path)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"{path} is too large")
    return data


def _decryptor(ctx):
    """decrypt(ciphertext) with the private key of a store certificate, opened through
    its provider as CNG does (CAPI keys through the key storage router, tokens through
    their KSP); None when the certificate has no key here."""
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.keyacquire import _open_from_prov_info

    try:
        info = CertGetCertificateContextProperty(ctx, C.CERT_KEY_PROV_INFO_PROP_ID)
    except WinError:
        return None

    def decrypt(ciphertext: bytes) -> bytes:
        handle, _ = _open_from_prov_info(info, C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG
                                         | C.CRYPT_ACQUIRE_SILENT_FLAG)
        try:
            return handle.key.decrypt(ciphertext, None, C.BCRYPT_PAD_PKCS1)
        finally:
            handle._open = False

    return decrypt


@verb("RecoverKey", "RecoveryBlobInFile [PFXOutFile [RecipientIndex]]", min_args=1, max_args=3)
def recoverkey(inv: Invocation):
    from capi.certsrv import cmc
    from capi.crypt32.store_kinds import open_system_store
    from capi.formats import blobs, pkcs12
    from capi.host.context import current_machine

    machine = current_machine()
    archived, user_cert, certs = cmc.parse_recovery_blob(_read(inv.args[0]))
    recipients = cmc.recipients_of(archived)
    kra_certs = [c for c in certs if _is_recipient(c, recipients)]
    for i, der in enumerate(kra_certs):
        inv.print(f"Recipient Info[{i}]:")
        inv.print(f"  Subject: {_subject(der)}")
        inv.print(f"  Cert Hash(sha1): {hashlib.sha1(der).hexdigest()}")
    if len(inv.args) < 2:
        return None
    token = _token()
    blob = None
    locations = ["CurrentUser"] if inv.flag("user") else ["CurrentUser", "LocalMachine"]
    for location in locations:
        with open_system_store(machine, location, "My", token=token) as store:
            for ctx in store:
                der = bytes(ctx.pbCertEncoded)
                if der not in kra_certs:
                    continue
                decrypt = _decryptor(ctx)
                if decrypt is None:
                    continue
                blob = cmc.open_envelope(archived, der, decrypt)
                break
        if blob is not None:
            break
    if blob is None:
        # No KRA private key of this blob in the caller's stores.
        from capi.errors import CRYPT_E_NO_KEY_PROPERTY

        raise WinError(CRYPT_E_NO_KEY_PROPERTY, detail="no KRA private key for this recovery blob")
    _btype, _alg, private = blobs.parse_capi_blob(blob)
    password = _pfx_password(inv, prompt=False)
    chain = [c for c in certs if c != user_cert and c not in kra_certs]
    data = pkcs12.build_pfx([pkcs12.PfxKey(private, key_usage=None),
                             pkcs12.PfxCert(user_cert), *[pkcs12.PfxCert(c) for c in chain]], password)
    _write_new(inv, inv.args[1], data)
    return None


def _is_recipient(der: bytes, recipients) -> bool:
    from asn1crypto import x509 as ax

    cert = ax.Certificate.load(der)
    return any(cert.issuer.dump() == issuer and cert.serial_number == serial for issuer, serial in recipients)


def _subject(der: bytes) -> str:
    from capi.crypt32.str import CertNameToStr

    cert = x509.load_der_x509_certificate(der)
    return CertNameToStr(C.X509_ASN_ENCODING, cert.subject.public_bytes(), C.CERT_X500_NAME_STR)


def _pfx_password(inv: Invocation, *, prompt: bool = False) -> str:
    password = inv.value("p")
    if password is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="-p Password is required here")
    return password


@verb("MergePFX", "PFXInFileList PFXOutFile [ExtendedProperties]", min_args=2, max_args=3)
def mergepfx(inv: Invocation):
    from capi.formats import pkcs12

    passwords = (inv.value("p") or "").split(",")
    inputs = [p for p in inv.args[0].split(",") if p]
    if not inputs or not passwords:
        raise WinError(ERROR_INVALID_PARAMETER, detail="-MergePFX needs input files and -p")
    in_pw, out_pw = passwords[0], passwords[-1]
    items, seen = [], set()
    for path in inputs:
        contents = pkcs12.parse_pfx(_read(path), in_pw)
        for key in contents.keys:
            items.append(pkcs12.PfxKey(key.private_key, key_usage=key.key_usage))
        for cert in contents.certs:
            if cert.der not in seen:
                seen.add(cert.der)
                items.append(pkcs12.PfxCert(cert.der))
    _write_new(inv, inv.args[1], pkcs12.build_pfx(items, out_pw))
    return None


# -- backup and restore ---------------------------------------------------------------------


def _backup_password(inv: Invocation) -> str:
    password = inv.value("p")
    if password is None:
        raise WinError(ERROR_INVALID_PARAMETER, detail="-p Password is required")
    if len(password) > MAX_PFX_PASSWORD:
        # The documented limit; the code is this project's choice (the document names none).
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"a PFX password has at most {MAX_PFX_PASSWORD} characters")
    return password


def _backup_key(inv: Invocation, authority, folder: str, password: str) -> str:
    from capi.crypt32.pfx import export_pfx
    from capi.crypt32.store import CertAddEncodedCertificateToStore
    from capi.crypt32.store_kinds import MemoryStore

    store = MemoryStore()
    ctx = CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, authority.ca.cert_der,
                                           C.CERT_STORE_ADD_NEW)
    ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, authority.ca.prov_info)
    data = export_pfx(store, password, C.EXPORT_PRIVATE_KEYS | C.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{authority.name}.p12")
    with open(path, "wb") as fh:
        fh.write(data)
    return path


@verb("backupKey", "BackupDirectory", min_args=1, max_args=1)
def backupkey(inv: Invocation):
    password = _backup_password(inv)
    _backup_key(inv, _authority(inv), inv.args[0], password)
    return None


@verb("backupDB", "BackupDirectory [Incremental] [KeepLog]", min_args=1, max_args=3)
def backupdb(inv: Invocation):
    path = _authority(inv).backup_database(inv.args[0])
    inv.print(f"Backed up database to {inv.args[0]}.")
    inv.print(f"Database logs successfully backed up to {path}.")
    return None


@verb("backup", "BackupDirectory [Incremental] [KeepLog]", min_args=1, max_args=3)
def backup(inv: Invocation):
    password = _backup_password(inv)
    authority = _authority(inv)
    _backup_key(inv, authority, inv.args[0], password)
    authority.backup_database(inv.args[0])
    inv.print(f"Backed up keys and certificates for {authority.config} to {inv.args[0]}\\{authority.name}.p12.")
    inv.print(f"Backed up database to {inv.args[0]}.")
    return None


def _restore_key(inv: Invocation, path: str, password: str) -> str:
    from capi.certsrv.ca import MachineCA
    from capi.crypt32.store_kinds import open_system_store
    from capi.formats import pkcs12
    from capi.host.context import current_machine

    machine = current_machine()
    contents = pkcs12.parse_pfx(_read(path), password)
    pairs = [(c, k) for c, k in contents.pairs() if k is not None]
    if len(pairs) != 1:
        raise WinError(CRYPT_E_NOT_FOUND, detail="the PFX holds no CA certificate with its key")
    cert, key = pairs[0]
    ca = MachineCA.restore(machine, _token(), cert.der, key.private_key)
    with open_system_store(machine, "LocalMachine", "Root", token=_token()):
        pass
    return ca.name


@verb("restoreKey", "BackupDirectory | PFXFile", min_args=1, max_args=1)
def restorekey(inv: Invocation):
    password = _backup_password(inv)
    target = inv.args[0]
    if os.path.isdir(target):
        found = [f for f in os.listdir(target) if f.lower().endswith(".p12")]
        if len(found) != 1:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{target}\\*.p12")
        target = os.path.join(target, found[0])
    _restore_key(inv, target, password)
    return None


@verb("restoreDB", "BackupDirectory", min_args=1, max_args=1)
def restoredb(inv: Invocation):
    from capi.certsrv.authority import restore_database

    authority = _authority(inv)
    restore_database(authority.machine, inv.args[0], authority.name)
    return None


@verb("restore", "BackupDirectory", min_args=1, max_args=1)
def restore(inv: Invocation):
    from capi.certsrv.authority import CertificateAuthority, restore_database
    from capi.host.context import current_machine

    password = _backup_password(inv)
    found = [f for f in os.listdir(inv.args[0])] if os.path.isdir(inv.args[0]) else None
    if found is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=inv.args[0])
    keys = [f for f in found if f.lower().endswith(".p12")]
    if len(keys) != 1:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=f"{inv.args[0]}\\*.p12")
    name = _restore_key(inv, os.path.join(inv.args[0], keys[0]), password)
    machine = current_machine()
    CertificateAuthority.open(machine)
    restore_database(machine, inv.args[0], name)
    inv.print(f"Restored keys and certificates for {machine.computer_name}\\{name} from {inv.args[0]}.")
    inv.print("Restored database.")
    return None

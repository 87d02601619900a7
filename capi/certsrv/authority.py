r"""Certificate Services as a role of the machine: the CA database, its registry
settings, the CA Exchange certificate, certificate templates, key archival to key
recovery agents, recovery, revocation, CRLs, backup and restore.

Sources: "Key Archival and Management in Windows Server 2003" (Microsoft) for the
archival protocol, the KRA configuration and every event and failure text quoted
here; the certutil reference (Microsoft) for the settings (``certutil -setreg
ca\KRAFlags``, ValidityPeriod…), which live under
``HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\<CA name>``; certcli.h /
certutil -view for the database columns and dispositions (9 pending, 20 issued, 21
revoked, 30 failed, 31 denied).

The CA acts as LocalSystem (the CertSvc service): its registry writes, its key and the
KRA store are SYSTEM's. Who asks matters where the document says it does: enrollment
permissions on templates, and (with role separation) the CA officer for -getkey.
"""

from __future__ import annotations

import datetime
import hashlib
import sqlite3
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from capi import constants as C
from capi.certsrv import cmc
from capi.certsrv.ca import MachineCA, random_serial
from capi.certsrv.templates import (
    AT_SIGNATURE,
    DEFAULT_CA_TEMPLATES,
    OID_KP_KEY_RECOVERY_AGENT,
    Template,
    find_template,
)
from capi.errors import (
    CERTSRV_E_ARCHIVED_KEY_REQUIRED,
    CERTSRV_E_ARCHIVED_KEY_UNEXPECTED,
    CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL,
    CERTSRV_E_BAD_REQUESTSTATUS,
    CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED,
    CERTSRV_E_KEY_LENGTH,
    CERTSRV_E_NO_REQUEST,
    CERTSRV_E_NO_VALID_KRA,
    CERTSRV_E_TEMPLATE_DENIED,
    CERTSRV_E_UNSUPPORTED_CERT_TYPE,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_REVOKED,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    WinError,
    lookup,
    to_signed,
)
from capi.host import eventlog
from capi.host import registry as R
from capi.host.accounts import account_display, system_token

CONFIG_ROOT = r"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration"
CERT_ENROLL = r"C:\Windows\System32\CertSrv\CertEnroll"

# Request dispositions as the database keeps them (certutil -view "Request Disposition").
DB_DISP_PENDING, DB_DISP_ISSUED, DB_DISP_REVOKED, DB_DISP_ERROR, DB_DISP_DENIED = 9, 20, 21, 30, 31
DISPOSITION_NAMES = {DB_DISP_PENDING: "Pending", DB_DISP_ISSUED: "Issued", DB_DISP_REVOKED: "Revoked",
                     DB_DISP_ERROR: "Error", DB_DISP_DENIED: "Denied"}
# CRL reason codes (certutil -revoke).
REVOCATION_REASONS = {0: "Unspecified", 1: "Key Compromise", 2: "CA Compromise",
                      3: "Affiliation Changed", 4: "Superseded", 5: "Cessation of Operation",
                      6: "Certificate Hold", 8: "Remove From CRL"}
# KRAFlags (certsrv.h)
KRAF_ENABLEFOREIGN, KRAF_SAVEBADREQUESTKEY, KRAF_ENABLEARCHIVEALL, KRAF_DISABLEUSEDEFAULTPROVIDER = 1, 2, 4, 8
FLAG_NAMES = {"KRAFlags": {"KRAF_ENABLEFOREIGN": 1, "KRAF_SAVEBADREQUESTKEY": 2,
                           "KRAF_ENABLEARCHIVEALL": 4, "KRAF_DISABLEUSEDEFAULTPROVIDER": 8},
              "CRLFlags": {"CRLF_USE_XCHG_CERT_TEMPLATE": 0x800}}
DEFAULT_SETTINGS = [
    ("KRAFlags", R.REG_DWORD, 0), ("KRACertCount", R.REG_DWORD, 0), ("KRACertHash", R.REG_MULTI_SZ, []),
    ("ValidityPeriod", R.REG_SZ, "Years"), ("ValidityPeriodUnits", R.REG_DWORD, 1),
    ("ClockSkewMinutes", R.REG_DWORD, 10), ("CRLPeriod", R.REG_SZ, "Weeks"), ("CRLPeriodUnits", R.REG_DWORD, 1),
    ("CRLFlags", R.REG_DWORD, 0), ("RoleSeparationEnabled", R.REG_DWORD, 0),
    ("CAXchgValidityPeriod", R.REG_SZ, "Weeks"), ("CAXchgValidityPeriodUnits", R.REG_DWORD, 1),
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ca_rows(
    id INTEGER PRIMARY KEY, ca TEXT NOT NULL, requester TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,
    disposition INTEGER NOT NULL, message TEXT NOT NULL DEFAULT '', serial TEXT, template TEXT,
    common_name TEXT, upn TEXT, cert_hash TEXT, revoked_when TEXT, revoked_reason INTEGER,
    archived_key BLOB, kra_hashes TEXT, resolved TEXT);
CREATE TABLE IF NOT EXISTS ca_offered(ca TEXT NOT NULL, template TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (ca, template));
CREATE TABLE IF NOT EXISTS ca_exchange(ca TEXT PRIMARY KEY, key_name TEXT NOT NULL, cert BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ca_kra_state(ca TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
"""


def _ensure(machine) -> None:
    machine.ensure_schema("capi.certsrv.authority", _SCHEMA)


def hresult_text(code: int) -> str:
    """'<message> 0x8009400b (-2146877429)' as events and certutil print a code."""
    info, hr, _ = lookup(code)
    text = info.message if info else ""
    win32 = hr & 0xFFFF if hr & 0xFFFF0000 == 0x80070000 else None
    tail = f"(WIN32: {win32})" if win32 is not None else f"({to_signed(hr)})"
    return f"{text} 0x{hr:08x} {tail}"


@dataclass
class Submission:
    request_id: int
    disposition: int
    status: int = 0
    cert: bytes | None = None
    message: str = ""


class CertificateAuthority:
    """The machine's CA (a :class:`MachineCA`) with its database and settings."""

    def __init__(self, ca: MachineCA):
        self.ca = ca
        self.machine = ca.machine
        self.name = ca.name
        _ensure(self.machine)

    # -- lifetime -------------------------------------------------------------------------

    @classmethod
    def open(cls, machine, config: str | None = None, *, install: bool = False, token=None):
        """The CA a ``-config "HOST\\CA Name"`` string names (None: the machine's one).
        RPC_S_SERVER_UNAVAILABLE when nothing answers there, as certutil/certreq report it."""
        from capi.errors import RPC_S_SERVER_UNAVAILABLE

        ca = MachineCA.find(machine)
        if ca is None and install:
            ca = MachineCA.install(machine, token or system_token(machine))
        if ca is None:
            raise WinError(RPC_S_SERVER_UNAVAILABLE, detail="no CA on this machine")
        if config and config not in ("-", "."):
            host, _, name = config.rpartition("\\")
            if not name or (host and host.upper().split(".")[0] != machine.computer_name) or \
                    name.lower() != ca.name.lower():
                raise WinError(RPC_S_SERVER_UNAVAILABLE, detail=config)
        authority = cls(ca)
        authority._ensure_settings()
        return authority

    @property
    def config(self) -> str:
        return self.ca.config

    @property
    def reg_key(self) -> str:
        return f"{CONFIG_ROOT}\\{self.name}"

    def _ensure_settings(self) -> None:
        sys_token = system_token(self.machine)
        if R.key_exists(self.machine, self.reg_key):
            return
        R.set_value(self.machine, CONFIG_ROOT, "Active", R.REG_SZ, self.name, sys_token)
        for name, kind, value in [("CommonName", R.REG_SZ, self.name), *DEFAULT_SETTINGS]:
            R.set_value(self.machine, self.reg_key, name, kind, value, sys_token)
        with self.machine.transaction() as db:
            for t in DEFAULT_CA_TEMPLATES:
                db.execute("INSERT OR IGNORE INTO ca_offered(ca, template) VALUES (?, ?)", (self.name, t))

    # -- settings (certutil -getreg / -setreg ca\...) -----------------------------------------

    def get_setting(self, name: str, default=None):
        return R.get_value(self.machine, self.reg_key, name, default, system_token(self.machine))

    def set_setting(self, name: str, kind: int, value, token) -> None:
        R.set_value(self.machine, self.reg_key, name, kind, value, token)

    # -- templates ------------------------------------------------------------------------

    def templates(self) -> list[str]:
        return [r[0] for r in self.machine.db.execute(
            "SELECT template FROM ca_offered WHERE ca = ? ORDER BY rowid", (self.name,))]

    def set_templates(self, changes: list[str]) -> None:
        """certutil -SetCATemplates +Name,-Name or a full list; CERTSRV_E_UNKNOWN_CERT_TYPE
        for a template that does not exist."""
        from capi.errors import CERTSRV_E_UNKNOWN_CERT_TYPE

        current = self.templates()
        replace_all = not all(c[:1] in "+-" for c in changes)
        wanted = [] if replace_all else list(current)
        for change in changes:
            op, name = (change[0], change[1:]) if change[:1] in "+-" else ("+", change)
            t = find_template(self.machine, name)
            if t is None:
                raise WinError(CERTSRV_E_UNKNOWN_CERT_TYPE, detail=name)
            wanted = [w for w in wanted if w.lower() != t.name.lower()]
            if op == "+":
                wanted.append(t.name)
        with self.machine.transaction() as db:
            db.execute("DELETE FROM ca_offered WHERE ca = ?", (self.name,))
            db.executemany("INSERT INTO ca_offered(ca, template) VALUES (?, ?)",
                           [(self.name, w) for w in wanted])

    # -- the CA Exchange certificate ----------------------------------------------------------

    def exchange_certificate(self) -> bytes:
        """The CA Exchange certificate (made on first use, renewed when expired): an
        encryption certificate the CA issues itself, subject "<CA name>-Xchg", key in the
        Microsoft Software KSP (machine key), CAExchange template extensions."""
        row = self.machine.db.execute("SELECT key_name, cert FROM ca_exchange WHERE ca = ?",
                                      (self.name,)).fetchone()
        now = datetime.datetime.now(datetime.timezone.utc)
        if row is not None and x509.load_der_x509_certificate(bytes(row[1])).not_valid_after_utc > now:
            return bytes(row[1])
        from csp.base import KeyScope
        from csp.registry import find_ksp

        key_name = f"{self.name}-Xchg-{random_serial() & 0xFFFFFF:06x}"
        ksp = find_ksp(self.machine, C.MS_KEY_STORAGE_PROVIDER)
        scope = KeyScope(self.machine, system_token(self.machine), True, True)
        key = ksp.create_key(scope, "RSA", key_name, 0, 0)
        key.set_property(C.NCRYPT_LENGTH_PROPERTY, 2048, 0)
        key.finalize(0)
        template = find_template(self.machine, "CAExchange")
        subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"{self.name}-Xchg")])
        der = self.ca.build_certificate(subject, key.public, [], template=template,
                                        validity=datetime.timedelta(days=template.validity_days))
        with self.machine.transaction() as db:
            db.execute("INSERT OR REPLACE INTO ca_exchange(ca, key_name, cert) VALUES (?, ?, ?)",
                       (self.name, key_name, der))
        return der

    def _exchange_decrypt(self, ciphertext: bytes) -> bytes:
        from capi.crypt32.context import CRYPT_KEY_PROV_INFO
        from capi.crypt32.keyacquire import _open_from_prov_info

        key_name = self.machine.db.execute("SELECT key_name FROM ca_exchange WHERE ca = ?",
                                           (self.name,)).fetchone()[0]
        info = CRYPT_KEY_PROV_INFO(key_name, C.MS_KEY_STORAGE_PROVIDER, 0, C.NCRYPT_MACHINE_KEY_FLAG, 0)
        handle, _ = _open_from_prov_info(info, C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG | C.CRYPT_ACQUIRE_SILENT_FLAG)
        try:
            return handle.key.decrypt(ciphertext, None, C.BCRYPT_PAD_PKCS1)
        finally:
            handle._open = False

    def sign(self, data: bytes) -> tuple[str, bytes]:
        from capi.certsrv.ca import sign_with_key

        return sign_with_key(self.ca.prov_info, data, "sha256")

    # -- events ---------------------------------------------------------------------------

    def event(self, event_id: int, level: int, message: str) -> None:
        eventlog.write_event(self.machine, source=self.machine.os.ca_event_source, event_id=event_id,
                             level=level, message=message, log="Application")

    # -- key recovery agents --------------------------------------------------------------

    def kra_certificates(self) -> list[bytes]:
        """The KRA certificates the CA can use, loading them as the service does at start:
        each hash of KRACertHash must name a certificate of LocalMachine\\KRA with the Key
        Recovery Agent EKU that this CA has not revoked. Events 85 (not found), 84 (not
        valid), 83 and 82 (none loaded) go to the Application log once per configuration.
        CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED when no KRA is configured,
        CERTSRV_E_NO_VALID_KRA when fewer than KRACertCount load."""
        hashes_cfg = [h.replace(" ", "").lower() for h in (self.get_setting("KRACertHash", []) or []) if h]
        wanted = int(self.get_setting("KRACertCount", 0) or 0)
        if not hashes_cfg or wanted == 0:
            raise WinError(CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED, detail="no KRA certificate configured")
        from capi.crypt32.store_kinds import open_system_store

        store_certs = {}
        with open_system_store(self.machine, "LocalMachine", "KRA", token=system_token(self.machine)) as store:
            for ctx in store:
                store_certs[hashlib.sha1(ctx.pbCertEncoded).hexdigest()] = bytes(ctx.pbCertEncoded)
        valid, events = [], []
        for index, h in enumerate(hashes_cfg):
            der = store_certs.get(h)
            if der is None:
                events.append((85, 2, "Certificate Services ignored key recovery certificate "
                               f"{index} because it could not be loaded. {hresult_text(CRYPT_E_NOT_FOUND)}"))
                continue
            problem = self._kra_problem(der)
            if problem is not None:
                subject = _subject_text(der)
                events.append((84, 2, f"Certificate Services will not use key recovery certificate {index} "
                               "because it could not be verified for use as a Key Recovery Agent. "
                               f"{subject} {hresult_text(problem)}"))
                continue
            valid.append(der)
        if len(valid) < wanted:
            if not valid:
                events.append((83, 2, "Certificate Services encountered an error loading key recovery "
                               "certificates. Requests to archive private keys will not be accepted. "
                               f"{hresult_text(ERROR_FILE_NOT_FOUND)}"))
                events.append((82, 2, "Certificate Services could not load any valid key recovery "
                               "certificates. Requests to archive private keys will not be accepted."))
            self._log_load(hashes_cfg, wanted, events)
            raise WinError(CERTSRV_E_NO_VALID_KRA, detail=f"{len(valid)} of {wanted} KRA certificates load")
        self._log_load(hashes_cfg, wanted, events)
        return valid[:wanted]

    def _log_load(self, hashes_cfg, wanted, events) -> None:
        fingerprint = hashlib.sha1(repr((hashes_cfg, wanted, [e[:2] for e in events])).encode()).hexdigest()
        row = self.machine.db.execute("SELECT fingerprint FROM ca_kra_state WHERE ca = ?", (self.name,)).fetchone()
        if row is not None and row[0] == fingerprint:
            return
        with self.machine.transaction() as db:
            db.execute("INSERT OR REPLACE INTO ca_kra_state(ca, fingerprint) VALUES (?, ?)",
                       (self.name, fingerprint))
            for event_id, level, text in events:
                self.event(event_id, level, text)

    def _kra_problem(self, der: bytes) -> int | None:
        cert = x509.load_der_x509_certificate(der)
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            is_kra = x509.ObjectIdentifier(OID_KP_KEY_RECOVERY_AGENT) in eku
        except x509.ExtensionNotFound:
            is_kra = False
        if not is_kra:
            from capi.errors import CERT_E_WRONG_USAGE

            return CERT_E_WRONG_USAGE
        if cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc):
            from capi.errors import CERT_E_EXPIRED

            return CERT_E_EXPIRED
        row = self.machine.db.execute("SELECT disposition FROM ca_rows WHERE ca = ? AND cert_hash = ?",
                                      (self.name, hashlib.sha1(der).hexdigest())).fetchone()
        if row is not None and row[0] == DB_DISP_REVOKED:
            return CRYPT_E_REVOKED
        return None

    # -- submitting -------------------------------------------------------------------------

    def submit(self, data: bytes, token, attributes: dict | None = None) -> Submission:
        """certreq -submit / ICertRequest::Submit. Bad bytes raise (nothing is stored);
        a request the policy refuses is stored Denied (event 53) and one whose archival
        fails stored as Failed (event 21), both returned with their status; a template that
        waits for a certificate manager leaves the request Pending."""
        data = bytes(data)
        enveloped = None
        if cmc.is_cmc(data):
            pkcs10, enveloped = cmc.parse_archival_request(data)
        else:
            pkcs10 = data
        csr, subject, public_key, requested = self.ca.parse_request(pkcs10)
        attributes = {k.lower(): v for k, v in (attributes or {}).items()}
        template_name = attributes.get("certificatetemplate") or _request_template(csr)
        requester = account_display(self.machine, token.user)
        request_id = self._new_row(data, requester, subject, template_name)
        try:
            template = self._check_policy(template_name, token, public_key, enveloped is not None)
            archived = kra_hashes = None
            if enveloped is not None:
                archived, kra_hashes = self._archive(enveloped, public_key, template)
        except WinError as exc:
            archival = exc.hresult in (CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED, CERTSRV_E_NO_VALID_KRA,
                                       CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL)
            disposition = DB_DISP_ERROR if archival else DB_DISP_DENIED
            self._finish(request_id, disposition, exc.hresult, exc.strerror)
            if archival:
                self.event(21, 2, f"Certificate Services could not process request {request_id} due to an "
                           f"error: {_archival_text(self.machine, exc.hresult)}. The request was for {requester}.")
            else:
                self.event(53, 3, f"Certificate Services denied request {request_id} because "
                           f"{_lower_first(exc.strerror)}. {hresult_text(exc.hresult)[len(exc.strerror) + 1:]}. "
                           f"The request was for {requester}. Additional information: Denied by Policy Module")
            return Submission(request_id, disposition, exc.hresult, None, exc.strerror)
        except Exception:
            from capi.errors import E_FAIL

            self._finish(request_id, DB_DISP_ERROR, E_FAIL, "Error")
            raise
        if template is not None and template.pend:
            self._finish(request_id, DB_DISP_PENDING, 0, "Taken Under Submission",
                         archived=archived, kra_hashes=kra_hashes)
            return Submission(request_id, DB_DISP_PENDING, 0, None, "Taken Under Submission")
        cert = self._issue(request_id, pkcs10, template)
        self._finish(request_id, DB_DISP_ISSUED, 0, "Issued", cert=cert, archived=archived, kra_hashes=kra_hashes)
        return Submission(request_id, DB_DISP_ISSUED, 0, cert, "Issued")

    def _new_row(self, data, requester, subject, template_name) -> int:
        cn = _cn(subject)
        stamp = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        with self.machine.transaction() as db:
            cur = db.execute("INSERT INTO ca_requests(ca, request, cert, disposition, submitted) "
                             "VALUES (?, ?, NULL, 'Pending', ?)", (self.name, data, stamp))
            request_id = cur.lastrowid
            db.execute("INSERT INTO ca_rows(id, ca, requester, disposition, template, common_name) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (request_id, self.name, requester, DB_DISP_PENDING,
                                                     template_name, cn))
        return request_id

    def _finish(self, request_id, disposition, status, message, *, cert=None, archived=None, kra_hashes=None):
        fields = {"disposition": disposition, "status": status, "message": message,
                  "resolved": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if archived is not None:
            fields.update(archived_key=archived, kra_hashes=",".join(kra_hashes))
        if cert is not None:
            parsed = x509.load_der_x509_certificate(cert)
            fields.update(serial=f"{parsed.serial_number:x}", cert_hash=hashlib.sha1(cert).hexdigest(),
                          upn=_upn(parsed))
        names = ", ".join(f"{k} = ?" for k in fields)
        with self.machine.transaction() as db:
            db.execute(f"UPDATE ca_rows SET {names} WHERE id = ?", (*fields.values(), request_id))
            db.execute("UPDATE ca_requests SET disposition = ?, cert = COALESCE(?, cert) WHERE id = ?",
                       (DISPOSITION_NAMES[disposition], cert, request_id))

    def _check_policy(self, template_name, token, public_key, has_key) -> Template | None:
        if has_key:
            # Archival is checked first: a CA that cannot archive says so whatever the
            # template (the document's 0x8009400a for a CA not configured).
            self.kra_certificates()
        if not template_name:
            if has_key:
                raise WinError(CERTSRV_E_ARCHIVED_KEY_UNEXPECTED, detail="no template")
            return None
        template = find_template(self.machine, template_name)
        offered = {t.lower() for t in self.templates()}
        if template is None or template.name.lower() not in offered:
            raise WinError(CERTSRV_E_UNSUPPORTED_CERT_TYPE, detail=template_name)
        if not template.may_enroll(token):
            raise WinError(CERTSRV_E_TEMPLATE_DENIED, detail=template.name)
        if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < template.min_key_size:
            raise WinError(CERTSRV_E_KEY_LENGTH, detail=f"{public_key.key_size} < {template.min_key_size}")
        if template.archive_key and not has_key:
            raise WinError(CERTSRV_E_ARCHIVED_KEY_REQUIRED, detail=template.name)
        if has_key and not template.archive_key:
            raise WinError(CERTSRV_E_ARCHIVED_KEY_UNEXPECTED, detail=template.name)
        return template

    def _archive(self, enveloped: bytes, public_key, template) -> tuple[bytes, list[str]]:
        from capi.formats import blobs

        kras = self.kra_certificates()
        exchange = self.exchange_certificate()
        blob = cmc.open_envelope(enveloped, exchange, self._exchange_decrypt)
        try:
            _btype, alg_id, private = blobs.parse_capi_blob(blob)
        except WinError:
            raise WinError(CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL, detail="not a PRIVATEKEYBLOB") from None
        # "Only RSA encryption keys may be archived ... Signature only keys as well as
        # non-RSA key pairs will not be archived" and the CA "will reject the request".
        if not isinstance(private, rsa.RSAPrivateKey) or alg_id != C.CALG_RSA_KEYX or \
                (template is not None and template.key_spec == AT_SIGNATURE):
            raise WinError(CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL, detail="only RSA exchange keys are archived")
        # Key verification: random data encrypted with the request's public key must come
        # back through the private key that was sent.
        import os

        probe = os.urandom(32)
        try:
            matches = private.decrypt(public_key.encrypt(probe, padding.PKCS1v15()), padding.PKCS1v15()) == probe
        except (ValueError, TypeError, AttributeError):
            matches = False
        if not matches:
            raise WinError(CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL, detail="the archived key does not match the request")
        archived = cmc.envelope(blob, kras)
        return archived, [hashlib.sha1(k).hexdigest() for k in kras]

    def _issue(self, request_id, pkcs10, template) -> bytes:
        _csr, subject, public_key, requested = self.ca.parse_request(pkcs10)
        validity = None
        if template is not None:
            validity = datetime.timedelta(days=template.validity_days)
        else:
            units = int(self.get_setting("ValidityPeriodUnits", 1) or 1)
            period = str(self.get_setting("ValidityPeriod", "Years") or "Years").lower()
            validity = datetime.timedelta(days=units * {"years": 365, "months": 30, "weeks": 7,
                                                        "days": 1}.get(period, 365))
        return self.ca.build_certificate(subject, public_key, requested, template=template, validity=validity)

    # -- certificate manager actions ----------------------------------------------------------

    def row(self, request_id: int) -> dict:
        cur = self.machine.db.execute("SELECT * FROM ca_rows WHERE id = ? AND ca = ?", (int(request_id), self.name))
        values = cur.fetchone()
        if values is None:
            raise WinError(CERTSRV_E_NO_REQUEST, detail=f"request {request_id}")
        return dict(zip([d[0] for d in cur.description], values, strict=True))

    def rows(self) -> list[dict]:
        cur = self.machine.db.execute("SELECT * FROM ca_rows WHERE ca = ? ORDER BY id", (self.name,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def certificate(self, request_id: int) -> bytes | None:
        row = self.machine.db.execute("SELECT cert FROM ca_requests WHERE id = ?", (int(request_id),)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def resubmit(self, request_id: int) -> Submission:
        """certutil -resubmit: issue a pending request (the archived key stays archived)."""
        row = self.row(request_id)
        if row["disposition"] != DB_DISP_PENDING:
            raise WinError(CERTSRV_E_BAD_REQUESTSTATUS, detail=f"request {request_id}")
        data = self.machine.db.execute("SELECT request FROM ca_requests WHERE id = ?", (request_id,)).fetchone()[0]
        pkcs10 = cmc.parse_archival_request(bytes(data))[0] if cmc.is_cmc(bytes(data)) else bytes(data)
        template = find_template(self.machine, row["template"]) if row["template"] else None
        cert = self._issue(request_id, pkcs10, template)
        self._finish(request_id, DB_DISP_ISSUED, 0, "Resubmitted by certificate manager", cert=cert)
        return Submission(request_id, DB_DISP_ISSUED, 0, cert, "Issued")

    def deny(self, request_id: int) -> None:
        from capi.errors import E_ACCESSDENIED

        row = self.row(request_id)
        if row["disposition"] != DB_DISP_PENDING:
            raise WinError(CERTSRV_E_BAD_REQUESTSTATUS, detail=f"request {request_id}")
        self._finish(request_id, DB_DISP_DENIED, E_ACCESSDENIED, "Denied by certificate manager")

    def find_serial(self, serial: str) -> dict:
        wanted = serial.replace(" ", "").lower().lstrip("0")
        for row in self.rows():
            if row["serial"] and row["serial"].lstrip("0") == wanted:
                return row
        raise WinError(CRYPT_E_NOT_FOUND, detail=f"serial {serial}")

    def revoke(self, serial: str, reason: int = 0) -> dict:
        """certutil -revoke: reason 8 (Remove From CRL) un-revokes a certificate on hold."""
        if reason not in REVOCATION_REASONS:
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"reason {reason}")
        row = self.find_serial(serial)
        if reason == 8:
            if row["disposition"] != DB_DISP_REVOKED or row["revoked_reason"] != 6:
                raise WinError(CERTSRV_E_BAD_REQUESTSTATUS, detail="not on hold")
            with self.machine.transaction() as db:
                db.execute("UPDATE ca_rows SET disposition = ?, revoked_when = NULL, revoked_reason = NULL "
                           "WHERE id = ?", (DB_DISP_ISSUED, row["id"]))
            return row
        if row["disposition"] not in (DB_DISP_ISSUED, DB_DISP_REVOKED):
            raise WinError(CERTSRV_E_BAD_REQUESTSTATUS, detail=f"request {row['id']}")
        with self.machine.transaction() as db:
            db.execute("UPDATE ca_rows SET disposition = ?, revoked_when = ?, revoked_reason = ? WHERE id = ?",
                       (DB_DISP_REVOKED, datetime.datetime.now(datetime.timezone.utc).isoformat(), reason,
                        row["id"]))
        return row

    def publish_crl(self) -> tuple[str, bytes]:
        """certutil -CRL: a CRL of every revoked serial, signed by the CA key, written to
        C:\\Windows\\System32\\CertSrv\\CertEnroll\\<CA name>.crl. Returns (path, DER)."""
        import os

        from capi.host.security import create_file_sd

        ca_cert = self.ca.certificate
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        units = int(self.get_setting("CRLPeriodUnits", 1) or 1)
        period = str(self.get_setting("CRLPeriod", "Weeks") or "Weeks").lower()
        next_update = now + datetime.timedelta(days=units * {"years": 365, "months": 30, "weeks": 7,
                                                              "days": 1, "hours": 1 / 24}.get(period, 7))
        builder = x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject) \
            .last_update(now).next_update(next_update)
        for row in self.rows():
            if row["disposition"] == DB_DISP_REVOKED:
                entry = x509.RevokedCertificateBuilder().serial_number(int(row["serial"], 16)) \
                    .revocation_date(datetime.datetime.fromisoformat(row["revoked_when"]))
                if row["revoked_reason"]:
                    flag = {1: x509.ReasonFlags.key_compromise, 2: x509.ReasonFlags.ca_compromise,
                            3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
                            5: x509.ReasonFlags.cessation_of_operation,
                            6: x509.ReasonFlags.certificate_hold}[row["revoked_reason"]]
                    entry = entry.add_extension(x509.CRLReason(flag), critical=False)
                builder = builder.add_revoked_certificate(entry.build())
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        der = _sign_crl(builder, self.ca.prov_info)
        winpath = f"{CERT_ENROLL}\\{self.name}.crl"
        host = self.machine.host_path(winpath)
        sys_token = system_token(self.machine)
        with self.machine.transaction():
            for folder in (r"C:\Windows\System32\CertSrv", CERT_ENROLL):
                fh = self.machine.host_path(folder)
                if not fh.is_dir():
                    fh.mkdir(parents=True, exist_ok=True)
                    create_file_sd(self.machine, folder, sys_token, is_container=True)
            existed = host.exists()
            tmp = host.with_suffix(".tmp")
            tmp.write_bytes(der)
            os.replace(tmp, host)
            if not existed:
                create_file_sd(self.machine, winpath, sys_token)
        return winpath, der

    # -- key recovery ---------------------------------------------------------------------

    def archived_candidates(self, token_text: str) -> list[dict]:
        """Rows with an archived key that a -getkey search token names: serial number,
        request ID, SHA-1 thumbprint, common name, UPN or DOMAIN\\user."""
        text = token_text.strip().strip('"')
        compact = text.replace(" ", "").lower()
        out = []
        for row in self.rows():
            if not row["archived_key"]:
                continue
            names = {(row["common_name"] or "").lower(), (row["upn"] or "").lower()}
            if compact and (compact.lstrip("0") == (row["serial"] or "").lstrip("0")
                            or compact == (row["cert_hash"] or "") or text == str(row["id"])
                            or text.lower() in names
                            or text.lower().rpartition("\\")[2] in names):
                out.append(row)
        return out

    def recovery_blob(self, row: dict) -> bytes:
        """The recovery blob of one archived key: CRYPT_E_NOT_FOUND when a KRA certificate
        it was encrypted to is no longer in the CA's KRA store ("Missing KRA Certificate
        in the CA Registry")."""
        from capi.crypt32.store_kinds import open_system_store

        present = {}
        with open_system_store(self.machine, "LocalMachine", "KRA", token=system_token(self.machine)) as store:
            for ctx in store:
                present[hashlib.sha1(ctx.pbCertEncoded).hexdigest()] = bytes(ctx.pbCertEncoded)
        kras = []
        for h in (row["kra_hashes"] or "").split(","):
            if h not in present:
                raise WinError(CRYPT_E_NOT_FOUND, detail=f"KRA certificate {h} is not in the KRA store")
            kras.append(present[h])
        cert = self.certificate(row["id"])
        blob = cmc.build_recovery_blob(bytes(row["archived_key"]), cert, [*kras, self.ca.cert_der], self.sign)
        self.event_security_787(row)
        return blob

    def event_security_787(self, row: dict) -> None:
        # "Certificate Services retrieved an archived key." (Security log, event 787 in
        # the document).
        eventlog.write_event(self.machine, source="Security", event_id=787, level=4, log="Security",
                             message=f"Certificate Services retrieved an archived key.\nRequest ID {row['id']}")

    # -- backup and restore -----------------------------------------------------------------

    def backup_database(self, folder: str) -> str:
        """certutil -backupDB: the CA's rows in ``folder``\\DataBase\\<CA name>.edb (an
        SQLite file here, where Windows writes an ESE database)."""
        import os

        target = os.path.join(folder, "DataBase")
        os.makedirs(target, exist_ok=True)
        path = os.path.join(target, f"{self.name}.edb")
        if os.path.exists(path):
            os.remove(path)
        out = sqlite3.connect(path)
        try:
            out.execute("CREATE TABLE ca_requests(id INTEGER PRIMARY KEY, ca TEXT, request BLOB, cert BLOB, "
                        "disposition TEXT, submitted TEXT)")
            out.executescript(_SCHEMA)
            src = self.machine.db
            out.executemany("INSERT INTO ca_requests VALUES (?, ?, ?, ?, ?, ?)",
                            src.execute("SELECT id, ca, request, cert, disposition, submitted FROM ca_requests "
                                        "WHERE ca = ?", (self.name,)).fetchall())
            cur = src.execute("SELECT * FROM ca_rows WHERE ca = ?", (self.name,))
            cols = [d[0] for d in cur.description]
            out.executemany(f"INSERT INTO ca_rows({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            cur.fetchall())
            out.executemany("INSERT INTO ca_offered VALUES (?, ?)",
                            src.execute("SELECT ca, template FROM ca_offered WHERE ca = ?", (self.name,)).fetchall())
            out.commit()
        finally:
            out.close()
        return path


def restore_database(machine, folder: str, ca_name: str) -> int:
    """certutil -restoreDB: the rows of ``folder``\\DataBase\\<CA>.edb into this machine's CA
    database (replacing the CA's rows). Returns the number of requests restored."""
    import os

    _ensure(machine)
    path = os.path.join(folder, "DataBase", f"{ca_name}.edb")
    if not os.path.isfile(path):
        raise WinError(ERROR_FILE_NOT_FOUND, detail=path)
    src = sqlite3.connect(path)
    try:
        requests = src.execute("SELECT id, ca, request, cert, disposition, submitted FROM ca_requests").fetchall()
        cur = src.execute("SELECT * FROM ca_rows")
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        offered = src.execute("SELECT ca, template FROM ca_offered").fetchall()
    except sqlite3.DatabaseError as exc:
        from capi.errors import ERROR_INVALID_DATA

        raise WinError(ERROR_INVALID_DATA, detail=f"{path}: {exc}") from None
    finally:
        src.close()
    with machine.transaction() as db:
        db.execute("DELETE FROM ca_rows WHERE ca = ?", (ca_name,))
        db.execute("DELETE FROM ca_requests WHERE ca = ?", (ca_name,))
        db.execute("DELETE FROM ca_offered WHERE ca = ?", (ca_name,))
        db.executemany("INSERT INTO ca_requests(id, ca, request, cert, disposition, submitted) "
                       "VALUES (?, ?, ?, ?, ?, ?)", requests)
        db.executemany(f"INSERT INTO ca_rows({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        db.executemany("INSERT INTO ca_offered VALUES (?, ?)", offered)
    return len(requests)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def ROLE_CA_OFFICER_CHECK(authority, token) -> None:  # noqa: N802 - a role check
    """Retrieving a recovery blob is a certificate manager's act ("Issue and Manage
    Certificates", by default the CA administrators): anyone else is E_ACCESSDENIED. The
    KRA's own act, decrypting the blob, needs only the KRA private key."""
    from capi.errors import E_ACCESSDENIED

    if not token.is_admin:
        raise WinError(E_ACCESSDENIED, detail="not a certificate manager of this CA")


def _sign_crl(builder, prov_info) -> bytes:
    from asn1crypto import core as _core
    from asn1crypto import crl as asn1_crl

    from capi.certsrv.ca import _scratch_key, sign_with_key

    layout = asn1_crl.CertificateList.load(
        builder.sign(_scratch_key(), hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    tbs = layout["tbs_cert_list"]
    sig_alg, signature = sign_with_key(prov_info, tbs.dump(), "sha256")
    alg = {"algorithm": sig_alg, "parameters": _core.Null()}
    return asn1_crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": alg,
                                     "signature": signature}).dump()


def _subject_text(der: bytes) -> str:
    from capi.crypt32.str import CertNameToStr

    cert = x509.load_der_x509_certificate(der)
    return CertNameToStr(C.X509_ASN_ENCODING, cert.subject.public_bytes(), C.CERT_X500_NAME_STR)


def _cn(subject: x509.Name) -> str | None:
    attrs = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _upn(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3":
            from asn1crypto import core as _core

            try:
                return _core.UTF8String.load(other.value).native
            except ValueError:
                return None
    emails = san.get_values_for_type(x509.RFC822Name)
    return emails[0] if emails else None


def _request_template(csr: x509.CertificateSigningRequest) -> str | None:
    """The CertificateTemplate name-value pair a request carries (certreq's
    [RequestAttributes], szOID_ENROLLMENT_NAME_VALUE_PAIR)."""
    from asn1crypto import core as _core
    from asn1crypto import csr as asn1_csr

    class _Pair(_core.Sequence):
        _fields = [("name", _core.BMPString), ("value", _core.BMPString)]

    class _AnySet(_core.SetOf):
        _child_spec = _core.Any

    try:
        info = asn1_csr.CertificationRequest.load(csr.public_bytes(serialization.Encoding.DER))
        for attr in info["certification_request_info"]["attributes"]:
            if attr["type"].dotted != "1.3.6.1.4.1.311.13.2.1":
                continue
            for value in _AnySet.load(attr["values"].dump()):
                pair = _Pair.load(value.dump())
                if pair["name"].native.lower() == "certificatetemplate":
                    return pair["value"].native
    except (ValueError, TypeError, KeyError):
        return None
    return None


def _lower_first(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]


def _archival_text(machine, code: int) -> str:
    """The archival failure as event 21 words it: the text and code, e.g. "Cannot archive
    private key. No valid key recovery agent is defined for this certification
    authority. 0x8009400b (-2146877429)", the wording the document quotes for event 21
    (the error table has winerror.h's later text for 0x8009400b)."""
    if code == CERTSRV_E_NO_VALID_KRA:
        return ("Cannot archive private key. No valid key recovery agent is defined for this certification "
                "authority. 0x8009400b (-2146877429)")
    return hresult_text(code)


__all__ = [
    "CONFIG_ROOT", "CERT_ENROLL", "DB_DISP_PENDING", "DB_DISP_ISSUED", "DB_DISP_REVOKED", "DB_DISP_ERROR",
    "DB_DISP_DENIED", "DISPOSITION_NAMES", "REVOCATION_REASONS", "FLAG_NAMES", "Submission",
    "CertificateAuthority", "restore_database", "hresult_text", "ROLE_CA_OFFICER_CHECK",
]

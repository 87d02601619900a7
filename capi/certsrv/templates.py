r"""Certificate templates: the standard ones a CA ships with and custom version-2 copies.

A template carries what the policy module enforces on a request made for it: who may
enroll (an allow list of account SIDs, as the template's Enroll permission), the
minimum key size, the KeySpec its keys have (signature keys are never archived),
whether the key must be archived ("Archive subject's encryption private key",
CT_FLAG_REQUIRE_PRIVATE_KEY_ARCHIVAL), whether the key may be exported, the CSPs a
request may use, the EKUs and key usage the certificate gets, and whether the request
waits for a certificate manager (CT_FLAG_PEND_ALL_REQUESTS: the KeyRecoveryAgent
template).

Standard template names, OIDs and EKUs follow "Certificate Template Concepts in Windows
Server 2003" and "Key Archival and Management in Windows Server 2003" (Microsoft):
KeyRecoveryAgent carries the Key Recovery Agent EKU (1.3.6.1.4.1.311.21.6) and its
requests pend for a certificate manager; CAExchange carries 1.3.6.1.4.1.311.21.5 with
a one-week validity. On this standalone machine the domain groups of those templates'
Enroll permissions become the local ones (Domain Users -> BUILTIN\Users, Domain and
Enterprise Admins -> BUILTIN\Administrators).

Custom templates are version-2 copies of a standard one, kept in the machine state
(``ca_templates``), as "Duplicate Template" in the Certificate Templates console makes
them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from capi.errors import ERROR_INVALID_PARAMETER, ERROR_NOT_FOUND, NTE_EXISTS, WinError

# EKU OIDs
OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
OID_EMAIL = "1.3.6.1.5.5.7.3.4"
OID_EFS = "1.3.6.1.4.1.311.10.3.4"
OID_KP_KEY_RECOVERY_AGENT = "1.3.6.1.4.1.311.21.6"
OID_KP_CA_EXCHANGE = "1.3.6.1.4.1.311.21.5"
# The certificate template name extension (szOID_ENROLL_CERTTYPE_EXTENSION, v1) and the
# template information extension (szOID_CERTIFICATE_TEMPLATE, v2).
szOID_ENROLL_CERTTYPE_EXTENSION = "1.3.6.1.4.1.311.20.2"
szOID_CERTIFICATE_TEMPLATE = "1.3.6.1.4.1.311.21.7"

USERS = "S-1-5-32-545"
ADMINISTRATORS = "S-1-5-32-544"
SYSTEM = "S-1-5-18"
AUTHENTICATED_USERS = "S-1-5-11"

AT_KEYEXCHANGE, AT_SIGNATURE = 1, 2
KU_DIGITAL_SIGNATURE, KU_KEY_ENCIPHERMENT, KU_DATA_ENCIPHERMENT = 0x80, 0x20, 0x10
KU_CERT_SIGN, KU_CRL_SIGN = 0x04, 0x02

_OID_BASE = "1.3.6.1.4.1.311.21.8.4144336743.1329436349.2065260953.3989445610.1"


@dataclass
class Template:
    name: str
    display_name: str
    oid: str
    schema_version: int = 1
    min_key_size: int = 1024
    key_spec: int = AT_KEYEXCHANGE
    key_usage: int = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
    ekus: list[str] = field(default_factory=list)
    archive_key: bool = False
    exportable: bool = True
    csps: list[str] = field(default_factory=list)     # empty: any CSP
    enroll: list[str] = field(default_factory=lambda: [ADMINISTRATORS])
    pend: bool = False
    machine: bool = False
    ca: bool = False
    validity_days: int = 365

    def may_enroll(self, token) -> bool:
        sids = {str(s) for s in token.sids}
        return bool(sids & set(self.enroll))

    def to_json(self) -> str:
        return json.dumps(asdict(self))


_STANDARD = [
    Template("User", "User", "1.3.6.1.4.1.311.21.8.1.1", ekus=[OID_EFS, OID_EMAIL, OID_CLIENT_AUTH],
             exportable=True, enroll=[USERS, ADMINISTRATORS]),
    Template("EFS", "Basic EFS", "1.3.6.1.4.1.311.21.8.1.2", ekus=[OID_EFS], key_usage=KU_KEY_ENCIPHERMENT,
             enroll=[USERS, ADMINISTRATORS]),
    Template("WebServer", "Web Server", "1.3.6.1.4.1.311.21.8.1.3", ekus=[OID_SERVER_AUTH],
             exportable=False, enroll=[ADMINISTRATORS], validity_days=730),
    Template("Machine", "Computer", "1.3.6.1.4.1.311.21.8.1.4", ekus=[OID_CLIENT_AUTH, OID_SERVER_AUTH],
             exportable=False, enroll=[ADMINISTRATORS, SYSTEM], machine=True),
    Template("KeyRecoveryAgent", "Key Recovery Agent", "1.3.6.1.4.1.311.21.8.1.5", schema_version=2,
             min_key_size=2048, ekus=[OID_KP_KEY_RECOVERY_AGENT], key_usage=KU_KEY_ENCIPHERMENT,
             exportable=True, enroll=[ADMINISTRATORS], pend=True, validity_days=730),
    Template("CAExchange", "CA Exchange", "1.3.6.1.4.1.311.21.8.1.6", schema_version=2,
             min_key_size=2048, ekus=[OID_KP_CA_EXCHANGE], key_usage=KU_KEY_ENCIPHERMENT,
             exportable=False, enroll=[SYSTEM], validity_days=7),
    Template("SubCA", "Subordinate Certification Authority", "1.3.6.1.4.1.311.21.8.1.7",
             min_key_size=2048, key_spec=AT_SIGNATURE, key_usage=KU_DIGITAL_SIGNATURE | KU_CERT_SIGN | KU_CRL_SIGN,
             ekus=[], enroll=[ADMINISTRATORS], ca=True, validity_days=1825),
]
STANDARD = {t.name.lower(): t for t in _STANDARD}
# Computer is the display name of the Machine template; certreq accepts either.
_ALIASES = {"computer": "machine"}
# What a new enterprise CA offers (the "Certificate Templates" folder of the console).
DEFAULT_CA_TEMPLATES = ["User", "EFS", "WebServer", "Machine", "SubCA"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ca_templates(
    name TEXT PRIMARY KEY COLLATE NOCASE, doc TEXT NOT NULL);
"""


def _custom(machine, name: str) -> Template | None:
    machine.ensure_schema("capi.ca.templates", _SCHEMA)
    row = machine.db.execute("SELECT doc FROM ca_templates WHERE name = ?", (name,)).fetchone()
    return Template(**json.loads(row[0])) if row else None


def find_template(machine, name: str) -> Template | None:
    """A template by its name, display name or OID (standard or custom); None if unknown."""
    key = (name or "").strip().lower()
    key = _ALIASES.get(key, key)
    if key in STANDARD:
        return replace(STANDARD[key])
    for t in all_templates(machine):
        if key in (t.name.lower(), t.display_name.lower(), t.oid):
            return t
    return None


def all_templates(machine) -> list[Template]:
    machine.ensure_schema("capi.ca.templates", _SCHEMA)
    custom = [Template(**json.loads(r[0])) for r in
              machine.db.execute("SELECT doc FROM ca_templates ORDER BY name")]
    return [replace(t) for t in _STANDARD] + custom


def duplicate_template(machine, source: str, name: str, **settings) -> Template:
    """"Duplicate Template": a version-2 copy of ``source`` named ``name`` with
    ``settings`` (archive_key, min_key_size, exportable, csps, enroll, key_spec…).
    NTE_EXISTS for a name in use, ERROR_NOT_FOUND for an unknown source."""
    base = find_template(machine, source)
    if base is None:
        raise WinError(ERROR_NOT_FOUND, detail=f"template {source!r}")
    if not name or find_template(machine, name) is not None:
        raise WinError(NTE_EXISTS, detail=f"template {name!r}")
    unknown = set(settings) - set(Template.__dataclass_fields__)
    if unknown:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"template settings {sorted(unknown)}")
    count = machine.db.execute("SELECT COUNT(*) FROM ca_templates").fetchone()[0]
    new = replace(base, name=name, display_name=name, oid=f"{_OID_BASE}.{100 + count}",
                  schema_version=2, pend=False, **settings)
    if new.archive_key and new.key_spec == AT_SIGNATURE:
        # The Request Handling tab offers archival only for encryption purposes.
        raise WinError(ERROR_INVALID_PARAMETER, detail="a signature template cannot archive keys")
    with machine.transaction() as db:
        db.execute("INSERT INTO ca_templates(name, doc) VALUES (?, ?)", (name, new.to_json()))
    return new


__all__ = [
    "Template", "STANDARD", "DEFAULT_CA_TEMPLATES", "find_template", "all_templates",
    "duplicate_template", "OID_KP_KEY_RECOVERY_AGENT", "OID_KP_CA_EXCHANGE", "OID_EFS",
    "szOID_ENROLL_CERTTYPE_EXTENSION", "szOID_CERTIFICATE_TEMPLATE",
]

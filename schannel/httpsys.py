"""http.sys SSL bindings (HttpSetServiceConfiguration / HttpQueryServiceConfiguration).

A binding names a certificate by hash in a LocalMachine store. Adding one makes http.sys
build a Schannel server credential for it — as SYSTEM, through the certificate's private
key — and any failure there comes back from the HTTP API as ERROR_NO_SUCH_LOGON_SESSION
(1312), the error netsh and IIS Manager show.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass

from capi import constants as C
from capi.errors import (
    ERROR_ALREADY_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    ERROR_NO_SUCH_LOGON_SESSION,
    WinError,
)
from capi.host.accounts import Token
from capi.host.context import current_token, use_machine
from capi.host.machine import Machine
from capi.host.objectsd import (
    KEY_CREATE_SUB_KEY,
    KEY_SET_VALUE,
    SSL_BINDING_KEY,
    check_registry_access,
)
from capi.host.security import DELETE
from schannel.credentials import ServerCredential, acquire_server_credential

_SCHEMA = """
CREATE TABLE IF NOT EXISTS http_sslcert (
    endpoint   TEXT PRIMARY KEY,     -- '0.0.0.0:443' or 'www.contoso.com:443' (lower-case)
    kind       TEXT NOT NULL,        -- 'ipport' | 'hostnameport'
    cert_hash  TEXT NOT NULL,        -- lower-case hex SHA-1
    app_id     TEXT NOT NULL,        -- '{guid}'
    store_name TEXT NOT NULL,
    client_cert_negotiation INTEGER NOT NULL DEFAULT 0
);
"""

# The binding's SslCtlIdentifier / SslCtlStoreName (netsh sslctlidentifier= sslctlstorename=,
# HTTP_SERVICE_CONFIG_SSL_PARAM pDefaultSslCtlIdentifier / pDefaultSslCtlStoreName): a table
# of its own, so that machines made before these fields keep their bindings as they are.
_CTL_SCHEMA = """
CREATE TABLE IF NOT EXISTS http_sslcert_ctl (
    endpoint       TEXT PRIMARY KEY,
    ctl_identifier TEXT,
    ctl_store_name TEXT
);
"""


@dataclass(frozen=True)
class SslBinding:
    endpoint: str
    kind: str
    cert_hash: str
    app_id: str
    store_name: str
    client_cert_negotiation: bool = False
    # SslCtlIdentifier / SslCtlStoreName (None: "(null)" in netsh's listing). From Windows
    # Server 2012 on the store under LocalMachine named by SslCtlStoreName is the binding's
    # own trusted-issuer store (schannel.clientauth); the identifier named a CTL before.
    ctl_identifier: str | None = None
    ctl_store_name: str | None = None


def _schema(machine: Machine) -> None:
    machine.ensure_schema("httpsys", _SCHEMA)
    machine.ensure_schema("httpsys_ctl", _CTL_SCHEMA)


def _write_ctl(db, binding: SslBinding) -> None:
    db.execute("DELETE FROM http_sslcert_ctl WHERE endpoint = ?", (binding.endpoint,))
    if binding.ctl_identifier is not None or binding.ctl_store_name is not None:
        db.execute("INSERT INTO http_sslcert_ctl(endpoint, ctl_identifier, ctl_store_name) "
                   "VALUES (?, ?, ?)",
                   (binding.endpoint, binding.ctl_identifier, binding.ctl_store_name))


def parse_ipport(text: str) -> str:
    """'0.0.0.0:443', '[::]:443' -> canonical form; ERROR_INVALID_PARAMETER otherwise."""
    m = re.fullmatch(r"\[?([0-9A-Fa-f:.]+?)\]?:(\d{1,5})", (text or "").strip())
    if not m:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ipport={text}")
    try:
        ip = ipaddress.ip_address(m.group(1))
    except ValueError as exc:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ipport={text}") from exc
    port = int(m.group(2))
    if not 0 < port < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ipport={text}")
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def parse_hostnameport(text: str) -> str:
    m = re.fullmatch(r"([A-Za-z0-9*][A-Za-z0-9.\-*]*):(\d{1,5})", (text or "").strip())
    if not m or not 0 < int(m.group(2)) < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"hostnameport={text}")
    return f"{m.group(1).lower()}:{int(m.group(2))}"


def parse_appid(text: str) -> str:
    """netsh wants the GUID in braces; a bare or mangled GUID is 'The parameter is incorrect.'"""
    t = (text or "").strip().strip("'\"")
    if not (t.startswith("{") and t.endswith("}")):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"appid={text}")
    try:
        return "{" + str(uuid.UUID(t[1:-1])) + "}"
    except ValueError as exc:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"appid={text}") from exc


def parse_certhash(text: str) -> str:
    t = (text or "").strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{40}", t):
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"certhash={text}")
    return t.lower()


def find_certificate(machine: Machine, store_name: str, cert_hash: str):
    """The certificate http.sys would use, from LocalMachine\\<store_name>, or None."""
    from capi.crypt32.store import CertFindCertificateInStore, CertOpenStore

    flags = (C.CERT_SYSTEM_STORE_LOCAL_MACHINE | C.CERT_STORE_OPEN_EXISTING_FLAG
             | C.CERT_STORE_READONLY_FLAG)
    with use_machine(machine):
        try:
            store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, store_name)
        except WinError:
            return None
        with store:
            return CertFindCertificateInStore(store, C.X509_ASN_ENCODING, 0,
                                              C.CERT_FIND_SHA1_HASH, bytes.fromhex(cert_hash), None)


def credential_for(machine: Machine, binding: SslBinding) -> ServerCredential:
    """Acquire the binding's server credential (as lsass does); 1312 when it cannot."""
    cert = find_certificate(machine, binding.store_name, binding.cert_hash)
    if cert is None:
        raise WinError(ERROR_NO_SUCH_LOGON_SESSION, detail="certificate not found in "
                       f"LocalMachine\\{binding.store_name}")
    try:
        return acquire_server_credential(machine, cert)
    except WinError as exc:
        raise WinError(ERROR_NO_SUCH_LOGON_SESSION, detail=f"{exc.name}: {exc.detail}") from exc


def _require_change(machine: Machine, token: Token | None, endpoint: str | None = None) -> None:
    r"""http.sys keeps its SSL configuration under HKLM\SYSTEM\CurrentControlSet\Services\
    HTTP\Parameters\SslBindingInfo: only SYSTEM and Administrators may change it (netsh
    as anyone else: "Error: 5"). Deleting a binding needs DELETE on its own key."""
    token = token if token is not None else current_token(machine)
    if endpoint is None:
        check_registry_access(machine, SSL_BINDING_KEY, token, KEY_SET_VALUE | KEY_CREATE_SUB_KEY)
    else:
        check_registry_access(machine, f"{SSL_BINDING_KEY}\\{endpoint}", token, DELETE)


def add_binding(machine: Machine, binding: SslBinding, *, token: Token | None = None) -> SslBinding:
    """HttpSetServiceConfiguration(HttpServiceConfigSSLCertInfo / SslSniCertInfo), as the
    caller (default: the current identity); ERROR_ACCESS_DENIED for a non-administrator."""
    _schema(machine)
    _require_change(machine, token)
    if get_binding(machine, binding.endpoint) is not None:
        raise WinError(ERROR_ALREADY_EXISTS, detail=binding.endpoint)
    credential_for(machine, binding)
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM http_sslcert WHERE endpoint = ?",
                      (binding.endpoint,)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=binding.endpoint)
        db.execute("INSERT INTO http_sslcert(endpoint, kind, cert_hash, app_id, store_name, "
                   "client_cert_negotiation) VALUES (?, ?, ?, ?, ?, ?)",
                   (binding.endpoint, binding.kind, binding.cert_hash, binding.app_id,
                    binding.store_name, int(binding.client_cert_negotiation)))
        _write_ctl(db, binding)
    return binding


def replace_binding(machine: Machine, binding: SslBinding, *,
                    token: Token | None = None) -> SslBinding:
    """Point an existing endpoint at another certificate — only once http.sys has built the
    new credential, so a failure leaves the working binding as it was."""
    _schema(machine)
    _require_change(machine, token)
    credential_for(machine, binding)
    with machine.transaction() as db:
        cur = db.execute("UPDATE http_sslcert SET kind = ?, cert_hash = ?, app_id = ?, "
                         "store_name = ?, client_cert_negotiation = ? WHERE endpoint = ?",
                         (binding.kind, binding.cert_hash, binding.app_id, binding.store_name,
                          int(binding.client_cert_negotiation), binding.endpoint))
        if cur.rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=binding.endpoint)
        _write_ctl(db, binding)
    return binding


_SELECT = ("SELECT b.endpoint, b.kind, b.cert_hash, b.app_id, b.store_name, "
           "b.client_cert_negotiation, c.ctl_identifier, c.ctl_store_name FROM http_sslcert b "
           "LEFT JOIN http_sslcert_ctl c ON c.endpoint = b.endpoint")


def _row(r) -> SslBinding:
    return SslBinding(*r[:5], bool(r[5]), r[6], r[7])


def get_binding(machine: Machine, endpoint: str) -> SslBinding | None:
    _schema(machine)
    row = machine.db.execute(f"{_SELECT} WHERE b.endpoint = ?", (endpoint,)).fetchone()
    return _row(row) if row else None


def list_bindings(machine: Machine) -> list[SslBinding]:
    _schema(machine)
    rows = machine.db.execute(f"{_SELECT} ORDER BY b.kind, b.endpoint").fetchall()
    return [_row(r) for r in rows]


def delete_binding(machine: Machine, endpoint: str, *, token: Token | None = None) -> None:
    _schema(machine)
    _require_change(machine, token, endpoint)
    with machine.transaction() as db:
        cur = db.execute("DELETE FROM http_sslcert WHERE endpoint = ?", (endpoint,))
        if cur.rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=endpoint)
        db.execute("DELETE FROM http_sslcert_ctl WHERE endpoint = ?", (endpoint,))


# Centralized Certificate Store bindings (netsh ``ccs=<port>``, HttpServiceConfigSslCcsCertInfo):
# a port on which http.sys asks the CCS provider for the certificate named by the client's
# host name, so the record carries no certificate hash. Windows keeps them apart from the
# ipport and SNI bindings (their own key, SslCcsBindingInfo); so does this table.
_CCS_SCHEMA = """
CREATE TABLE IF NOT EXISTS http_sslccs (
    port       INTEGER PRIMARY KEY,
    app_id     TEXT NOT NULL,
    store_name TEXT,
    client_cert_negotiation INTEGER NOT NULL DEFAULT 0,
    ctl_identifier TEXT,
    ctl_store_name TEXT
);
"""


def parse_ccs_port(text) -> int:
    """netsh ``ccs=443``: a port 1-65535; ERROR_INVALID_PARAMETER otherwise."""
    t = str(text if text is not None else "").strip()
    if not re.fullmatch(r"\d{1,5}", t) or not 0 < int(t) < 65536:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"ccs={text}")
    return int(t)


def ccs_binding(port: int, app_id: str, *, store_name: str | None = None,
                client_cert_negotiation: bool = False, ctl_identifier: str | None = None,
                ctl_store_name: str | None = None) -> SslBinding:
    """A CCS binding as an SslBinding of kind 'ccs' (endpoint '0.0.0.0:<port>', no hash)."""
    return SslBinding(endpoint=f"0.0.0.0:{port}", kind="ccs", cert_hash="", app_id=app_id,
                      store_name=store_name or "", client_cert_negotiation=client_cert_negotiation,
                      ctl_identifier=ctl_identifier, ctl_store_name=ctl_store_name)


def _ccs_port(binding: SslBinding) -> int:
    return int(binding.endpoint.rpartition(":")[2])


def _ccs_row(r) -> SslBinding:
    return ccs_binding(r[0], r[1], store_name=r[2], client_cert_negotiation=bool(r[3]),
                       ctl_identifier=r[4], ctl_store_name=r[5])


_CCS_SELECT = ("SELECT port, app_id, store_name, client_cert_negotiation, ctl_identifier, "
               "ctl_store_name FROM http_sslccs")


def get_ccs_binding(machine: Machine, port: int) -> SslBinding | None:
    machine.ensure_schema("httpsys_ccs", _CCS_SCHEMA)
    row = machine.db.execute(f"{_CCS_SELECT} WHERE port = ?", (int(port),)).fetchone()
    return _ccs_row(row) if row else None


def list_ccs_bindings(machine: Machine) -> list[SslBinding]:
    machine.ensure_schema("httpsys_ccs", _CCS_SCHEMA)
    return [_ccs_row(r) for r in machine.db.execute(f"{_CCS_SELECT} ORDER BY port").fetchall()]


def _ccs_values(binding: SslBinding) -> tuple:
    return (binding.app_id, binding.store_name or None, int(binding.client_cert_negotiation),
            binding.ctl_identifier, binding.ctl_store_name, _ccs_port(binding))


def add_ccs_binding(machine: Machine, binding: SslBinding, *, token: Token | None = None) -> None:
    """HttpSetServiceConfiguration(HttpServiceConfigSslCcsCertInfo): 183 when the port has
    one. No credential is built here: the certificate comes from the share per handshake."""
    machine.ensure_schema("httpsys_ccs", _CCS_SCHEMA)
    _require_change(machine, token)
    with machine.transaction() as db:
        if db.execute("SELECT 1 FROM http_sslccs WHERE port = ?",
                      (_ccs_port(binding),)).fetchone():
            raise WinError(ERROR_ALREADY_EXISTS, detail=binding.endpoint)
        db.execute("INSERT INTO http_sslccs(app_id, store_name, client_cert_negotiation, "
                   "ctl_identifier, ctl_store_name, port) VALUES (?, ?, ?, ?, ?, ?)",
                   _ccs_values(binding))


def replace_ccs_binding(machine: Machine, binding: SslBinding, *,
                        token: Token | None = None) -> None:
    """HttpUpdateServiceConfiguration(HttpServiceConfigSslCcsCertInfo): 2 when none."""
    machine.ensure_schema("httpsys_ccs", _CCS_SCHEMA)
    _require_change(machine, token)
    with machine.transaction() as db:
        cur = db.execute("UPDATE http_sslccs SET app_id = ?, store_name = ?, "
                         "client_cert_negotiation = ?, ctl_identifier = ?, ctl_store_name = ? "
                         "WHERE port = ?", _ccs_values(binding))
        if cur.rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=binding.endpoint)


def delete_ccs_binding(machine: Machine, port: int, *, token: Token | None = None) -> None:
    """HttpDeleteServiceConfiguration(HttpServiceConfigSslCcsCertInfo): 2 when none."""
    machine.ensure_schema("httpsys_ccs", _CCS_SCHEMA)
    _require_change(machine, token)
    with machine.transaction() as db:
        if db.execute("DELETE FROM http_sslccs WHERE port = ?", (int(port),)).rowcount == 0:
            raise WinError(ERROR_FILE_NOT_FOUND, detail=f"0.0.0.0:{port}")

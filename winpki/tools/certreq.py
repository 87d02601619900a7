r"""``winpki certreq``: -new, -submit, -accept against the machine's CA.

- ``-new [-user|-machine] [-f] PolicyFile.inf RequestFile`` reads the INF (``[Version]``,
  ``[NewRequest]``, ``[RequestAttributes]``, ``[Extensions]`` with ``_continue_`` lines,
  ``[EnhancedKeyUsageExtension]``), makes the key in the chosen provider and either writes
  a base64 PKCS#10 request and keeps the pending request (a self-signed placeholder
  linked to the key) in the REQUEST store, or with ``RequestType = Cert`` installs a
  self-signed certificate in My. Defaults: ProviderName from the OS table
  (``certreq_default_provider``), KeyLength 2048, HashAlgorithm sha1 (certreq docs),
  MachineKeySet FALSE unless -machine; with a CAPI provider and no KeySpec the key is
  AT_SIGNATURE, the xenroll default (0x80070520 article,
  scenario 3; docs/windows-facts.md §7).
- ``-submit [-config CA] RequestFile [CertFile]`` issues from the machine CA (installed on
  first use), printing ``RequestId: N`` / ``RequestId: "N"`` / ``Certificate
  retrieved(Issued) Issued``.
- ``-accept [-user|-machine] CertFile`` installs the certificate in My, links it to the
  pending request's key and removes the request.

Success lines: ``CertReq: Request Created`` (Azure Stack readiness-checker logs quote it),
``Installed Certificate:`` with the serial, subject, dates and thumbprint. Failures:
``Certificate Request Processor: <message> 0x<hr> (<WIN32: n NAME | signed NAME>)`` (the
shape certreq prints, e.g. for ERROR_WINHTTP_TIMEOUT).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import TextIO

from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from capi import constants as C
from capi.errors import (
    CRYPT_E_NOT_FOUND,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_FILE_EXISTS,
    ERROR_INVALID_PARAMETER,
    SPAPI_E_LINE_NOT_FOUND,
    WinError,
)
from capi.host import crashpoints
from winpki.tools.common import (
    Usage,
    check_input_file,
    describe_failure,
    hresult_line,
    is_option,
    option_name,
)

MAX_INF_BYTES = 64 * 1024
DEFAULT_KEY_LENGTH = 2048
DEFAULT_HASH = "sha1"
SELF_SIGNED_VALIDITY = datetime.timedelta(days=365)
REQUEST_PEM = ("-----BEGIN NEW CERTIFICATE REQUEST-----", "-----END NEW CERTIFICATE REQUEST-----")
CERT_PEM = ("-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----")
szOID_ENROLLMENT_NAME_VALUE_PAIR = "1.3.6.1.4.1.311.13.2.1"
_KEY_USAGE_NAMES = {
    "CERT_DIGITAL_SIGNATURE_KEY_USAGE": C.CERT_DIGITAL_SIGNATURE_KEY_USAGE,
    "CERT_NON_REPUDIATION_KEY_USAGE": C.CERT_NON_REPUDIATION_KEY_USAGE,
    "CERT_KEY_ENCIPHERMENT_KEY_USAGE": C.CERT_KEY_ENCIPHERMENT_KEY_USAGE,
    "CERT_DATA_ENCIPHERMENT_KEY_USAGE": C.CERT_DATA_ENCIPHERMENT_KEY_USAGE,
    "CERT_KEY_AGREEMENT_KEY_USAGE": C.CERT_KEY_AGREEMENT_KEY_USAGE,
    "CERT_KEY_CERT_SIGN_KEY_USAGE": C.CERT_KEY_CERT_SIGN_KEY_USAGE,
    "CERT_OFFLINE_CRL_SIGN_KEY_USAGE": C.CERT_OFFLINE_CRL_SIGN_KEY_USAGE,
    "CERT_CRL_SIGN_KEY_USAGE": C.CERT_CRL_SIGN_KEY_USAGE,
    "CERT_ENCIPHER_ONLY_KEY_USAGE": C.CERT_ENCIPHER_ONLY_KEY_USAGE,
}
_SUBJECT_KEYS = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME,
                 "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "L": NameOID.LOCALITY_NAME,
                 "S": NameOID.STATE_OR_PROVINCE_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
                 "C": NameOID.COUNTRY_NAME, "E": NameOID.EMAIL_ADDRESS,
                 "DC": NameOID.DOMAIN_COMPONENT, "STREET": NameOID.STREET_ADDRESS,
                 "SERIALNUMBER": NameOID.SERIAL_NUMBER, "T": NameOID.TITLE}
_CAPI_ALG = {C.AT_KEYEXCHANGE: C.CALG_RSA_KEYX, C.AT_SIGNATURE: C.CALG_RSA_SIGN}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class CertReqError(Exception):
    """A failure with the INF line that caused it."""

    def __init__(self, error: WinError, line: str | None = None):
        super().__init__(str(error))
        self.error = error
        self.line = line


def _bad(section: str, key: str, value: str, code: int = ERROR_INVALID_PARAMETER) -> CertReqError:
    return CertReqError(WinError(code, detail=f"[{section}] {key} = {value}"), f"{key} = {value}")


# ---------------------------------------------------------------------------------------
# The INF file
# ---------------------------------------------------------------------------------------


@dataclass
class Inf:
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def section(self, name: str) -> list[tuple[str, str]] | None:
        return self.sections.get(name.lower())

    def value(self, section: str, key: str) -> str | None:
        for k, v in self.sections.get(section.lower(), []):
            if k.lower() == key.lower():
                return v
        return None


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def parse_inf(text: str) -> Inf:
    """Sections of key = value lines; ``;`` comments; ``_continue_`` lines append to the
    previous value of the same section (certreq's way to write a long SAN)."""
    inf = Inf()
    current: list | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise CertReqError(WinError(ERROR_INVALID_PARAMETER, detail=line), line)
            current = inf.sections.setdefault(line[1:-1].strip().lower(), [])
            continue
        if current is None:
            raise CertReqError(WinError(ERROR_INVALID_PARAMETER, detail=line), line)
        key, sep, value = line.partition("=")
        if not sep:
            current.append((_unquote(key), ""))
            continue
        key, value = _unquote(key), _unquote(value)
        if key.lower() == "_continue_" and current:
            prev_key, prev_value = current[-1]
            current[-1] = (prev_key, prev_value + value)
        else:
            current.append((key, value))
    _substitute_strings(inf)
    return inf


_STRING_REF = re.compile(r"%([^%\s]*)%")


def _substitute_strings(inf: Inf) -> None:
    """``[Strings]``: ``%name%`` in any other section's keys and values is replaced by that
    string (names without regard to case; ``%%`` is a percent sign), as SetupAPI reads an
    INF — certreq's reference writes its EKU example this way:
    ``%szOID_ENHANCED_KEY_USAGE% = "{text}%szOID_PKIX_KP_SERVER_AUTH%"``."""
    strings = {k.lower(): v for k, v in inf.sections.get("strings", [])}
    if not strings:
        return

    def sub(text: str) -> str:
        return _STRING_REF.sub(lambda m: "%" if not m.group(1)
                               else strings.get(m.group(1).lower(), m.group(0)), text)

    for name, lines in inf.sections.items():
        if name != "strings":
            lines[:] = [(sub(k), sub(v)) for k, v in lines]


def _bool(section: str, key: str, value: str | None, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _bad(section, key, value)


def _int(section: str, key: str, value: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise _bad(section, key, value) from None


def parse_subject(text: str) -> x509.Name:
    """A Windows X.500 string ("CN=a, O=b") as CertStrToName reads it."""
    parts, buf, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch in ",;" and not quoted:
            parts.append(buf)
            buf = ""
            continue
        buf += ch
    parts.append(buf)
    attrs = []
    for part in parts:
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        oid = _SUBJECT_KEYS.get(key.strip().upper())
        if not sep or oid is None:
            raise _bad("NewRequest", "Subject", text)
        value = _unquote(value.strip())
        if oid == NameOID.COUNTRY_NAME and len(value) != 2:
            raise _bad("NewRequest", "Subject", text)
        try:
            attrs.append(x509.NameAttribute(oid, value))
        except ValueError:
            # A value cryptography will not encode (an empty or over-long CN): the INF's
            # bad-Subject error, as for any other Subject winpki cannot encode.
            raise _bad("NewRequest", "Subject", text) from None
    # CertStrToName without CERT_NAME_STR_REVERSE_FLAG encodes the RDNs in the order
    # written, so a certreq subject "CN=www, O=Contoso, C=US" is encoded CN first.
    return x509.Name(attrs)


def _san(value: str) -> x509.SubjectAlternativeName:
    if not value.lower().startswith("{text}"):
        raise _bad("Extensions", "2.5.29.17", value)
    names = []
    for item in value[len("{text}"):].split("&"):
        if not item.strip():
            continue
        kind, _, v = item.partition("=")
        kind = kind.strip().lower()
        v = v.strip()
        try:
            if kind == "dns":
                names.append(x509.DNSName(v))
            elif kind in ("ipaddress", "ip"):
                names.append(x509.IPAddress(ipaddress.ip_address(v)))
            elif kind in ("email", "rfc822"):
                names.append(x509.RFC822Name(v))
            elif kind == "url":
                names.append(x509.UniformResourceIdentifier(v))
            elif kind == "upn":
                upn = core.UTF8String(v).dump()
                names.append(x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), upn))
            else:
                raise ValueError(kind)
        except ValueError:
            raise _bad("Extensions", "2.5.29.17", value) from None
    if not names:
        raise _bad("Extensions", "2.5.29.17", value)
    return x509.SubjectAlternativeName(names)


def _eku(oids: list[str], section: str) -> x509.ExtendedKeyUsage:
    try:
        return x509.ExtendedKeyUsage([x509.ObjectIdentifier(o.strip()) for o in oids if o.strip()])
    except ValueError:
        raise _bad(section, "OID", ",".join(oids)) from None


def _key_usage_ext(bits: int) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=bool(bits & C.CERT_DIGITAL_SIGNATURE_KEY_USAGE),
        content_commitment=bool(bits & C.CERT_NON_REPUDIATION_KEY_USAGE),
        key_encipherment=bool(bits & C.CERT_KEY_ENCIPHERMENT_KEY_USAGE),
        data_encipherment=bool(bits & C.CERT_DATA_ENCIPHERMENT_KEY_USAGE),
        key_agreement=bool(bits & C.CERT_KEY_AGREEMENT_KEY_USAGE),
        key_cert_sign=bool(bits & C.CERT_KEY_CERT_SIGN_KEY_USAGE),
        crl_sign=bool(bits & C.CERT_CRL_SIGN_KEY_USAGE),
        encipher_only=bool(bits & C.CERT_ENCIPHER_ONLY_KEY_USAGE) and bool(bits & C.CERT_KEY_AGREEMENT_KEY_USAGE),
        decipher_only=False,
    )


@dataclass
class NewRequest:
    """The [NewRequest] settings after defaults and validation."""

    subject: x509.Name
    provider: object
    prov_type: int
    key_spec: int
    key_length: int
    key_algorithm: str
    exportable: bool
    machine_keyset: bool
    key_usage: int | None
    request_type: str
    hash_name: str
    friendly_name: str | None
    template: str | None
    extensions: list = field(default_factory=list)  # (cryptography ExtensionType, critical)
    validity: datetime.timedelta = SELF_SIGNED_VALIDITY
    archive: bool = False


def read_request_settings(machine, inf: Inf, *, force_machine: bool | None) -> NewRequest:
    from capi.certsrv.ca import hash_class
    from csp.registry import get_provider

    section = "NewRequest"
    if inf.section(section) is None:
        # certreq reads the INF through SetupAPI: no [NewRequest] lines -> ERROR_LINE_NOT_FOUND.
        raise CertReqError(WinError(SPAPI_E_LINE_NOT_FOUND, detail="[NewRequest]"), "[NewRequest]")
    known = {"subject", "keyspec", "keylength", "exportable", "machinekeyset", "providername",
             "providertype", "keyusage", "requesttype", "hashalgorithm", "friendlyname", "smime",
             "keyalgorithm", "silent", "privatekeyarchive", "usermprotected", "userprotected",
             "validityperiod", "validityperiodunits", "suppressdefaults", "keyusageproperty",
             "exportableencrypted", "encryptionalgorithm", "encryptionlength", "renewalcert",
             "usexistingkeyset", "useexistingkeyset",
             # Accepted as certreq accepts them; no effect on the simulated request (the
             # key's container name is generated, no protection dialog, no CA-side fields).
             "keycontainer", "keyprotection", "notbefore", "notafter", "requestername",
             "securitydescriptor", "alternatesignaturealgorithm"}
    for key, value in inf.section(section):
        if key.lower() not in known:
            raise _bad(section, key, value)
    get = functools_get(inf, section)
    subject_text = get("Subject") or ""
    subject = parse_subject(subject_text) if subject_text else x509.Name([])
    provider_name = get("ProviderName") or machine.os.certreq_default_provider
    provider = get_provider(machine, provider_name)
    if provider is None:
        raise _bad(section, "ProviderName", provider_name, C_NTE_PROV_NOT_DEF())
    prov_type = provider.prov_type if provider.kind == "csp" else 0
    if get("ProviderType") is not None:
        wanted = _int(section, "ProviderType", get("ProviderType"))
        if provider.kind == "csp" and wanted != provider.prov_type:
            from capi.errors import NTE_PROV_TYPE_NO_MATCH

            raise _bad(section, "ProviderType", get("ProviderType"), NTE_PROV_TYPE_NO_MATCH)
    spec_text = get("KeySpec")
    if spec_text is None:
        # Windows: KeySpec defaults to AT_SIGNATURE when the INF omits it (xenroll; the
        # 0x80070520 article, scenario 3); a KSP key has no KeySpec.
        key_spec = C.AT_SIGNATURE if provider.kind == "csp" else C.AT_NONE
    else:
        names = {"at_keyexchange": C.AT_KEYEXCHANGE, "at_signature": C.AT_SIGNATURE, "at_none": C.AT_NONE}
        key_spec = names.get(spec_text.lower())
        if key_spec is None:
            key_spec = _int(section, "KeySpec", spec_text)
        if key_spec not in (C.AT_NONE, C.AT_KEYEXCHANGE, C.AT_SIGNATURE) or \
                (provider.kind == "csp" and key_spec == C.AT_NONE):
            raise _bad(section, "KeySpec", spec_text)
    key_algorithm = (get("KeyAlgorithm") or "RSA").upper()
    if key_algorithm not in ("RSA", "ECDSA_P256", "ECDSA_P384") or \
            (key_algorithm != "RSA" and provider.kind == "csp"):
        raise _bad(section, "KeyAlgorithm", get("KeyAlgorithm") or "")
    length = DEFAULT_KEY_LENGTH
    if get("KeyLength") is not None:
        length = _int(section, "KeyLength", get("KeyLength"))
    if key_algorithm == "RSA":
        if provider.kind == "csp":
            low, high, _default, step = provider.key_lengths(_CAPI_ALG.get(key_spec, C.CALG_RSA_SIGN))
        else:
            low, high, step = 512, 16384, 8
        if not low <= length <= high or length % step:
            raise _bad(section, "KeyLength", str(length))
    usage = None
    if get("KeyUsage") is not None:
        usage = _key_usage_value(get("KeyUsage"))
    archive = _bool(section, "PrivateKeyArchive", get("PrivateKeyArchive"), False)
    request_type = (get("RequestType") or ("CMC" if archive else "PKCS10")).lower()
    if archive and request_type == "cmc":
        request_type = "pkcs10"  # wrapped in CMC when the request is written
    if archive and key_algorithm != "RSA":
        # "Only RSA ... encryption keys may be archived" ("Key Archival and Management in
        # Windows Server 2003", Microsoft): certreq does not send another key.
        raise _bad(section, "PrivateKeyArchive", get("PrivateKeyArchive"))
    if request_type not in ("pkcs10", "cert") or (archive and request_type == "cert"):
        code = ERROR_CALL_NOT_IMPLEMENTED if request_type in ("cmc", "pkcs7") else ERROR_INVALID_PARAMETER
        raise _bad(section, "RequestType", get("RequestType"), code)
    hash_name = (get("HashAlgorithm") or DEFAULT_HASH).lower()
    try:
        hash_class(hash_name)
    except WinError:
        raise _bad(section, "HashAlgorithm", hash_name) from None
    machine_keyset = _bool(section, "MachineKeySet", get("MachineKeySet"), False)
    if force_machine is not None:
        machine_keyset = force_machine
    settings = NewRequest(
        subject=subject, provider=provider, prov_type=prov_type, key_spec=key_spec,
        key_length=length, key_algorithm=key_algorithm,
        exportable=_bool(section, "Exportable", get("Exportable"), False),
        machine_keyset=machine_keyset, key_usage=usage, request_type=request_type,
        hash_name=hash_name, friendly_name=get("FriendlyName"),
        template=inf.value("RequestAttributes", "CertificateTemplate"),
        archive=archive,
    )
    if get("ValidityPeriodUnits") is not None:
        units = _int(section, "ValidityPeriodUnits", get("ValidityPeriodUnits"))
        period = (get("ValidityPeriod") or "Years").lower()
        days = {"years": 365, "months": 30, "weeks": 7, "days": 1}.get(period)
        if days is None or not 0 < units <= 100:
            raise _bad(section, "ValidityPeriodUnits", str(units))
        settings.validity = datetime.timedelta(days=days * units)
    _read_extensions(inf, settings)
    return settings


def functools_get(inf: Inf, section: str):
    return lambda key: inf.value(section, key)


def C_NTE_PROV_NOT_DEF() -> int:  # noqa: N802 - reads as the code it returns
    from capi.errors import NTE_KEYSET_NOT_DEF

    return NTE_KEYSET_NOT_DEF


def _key_usage_value(text: str) -> int:
    total = 0
    for part in text.split("|"):
        part = part.strip().strip('"')
        if part.upper() in _KEY_USAGE_NAMES:
            total |= _KEY_USAGE_NAMES[part.upper()]
            continue
        try:
            total |= int(part, 0)
        except ValueError:
            raise _bad("NewRequest", "KeyUsage", text) from None
    if not 0 < total <= 0xFF:
        raise _bad("NewRequest", "KeyUsage", text)
    return total


def _read_extensions(inf: Inf, s: NewRequest) -> None:
    if s.key_usage is not None:
        s.extensions.append((_key_usage_ext(s.key_usage), True))
    for key, value in inf.section("Extensions") or []:
        if key == "2.5.29.17":
            s.extensions.append((_san(value), False))
        elif key == "2.5.29.37":
            if not value.lower().startswith("{text}"):
                raise _bad("Extensions", key, value)
            s.extensions.append((_eku(value[len("{text}"):].split(","), "Extensions"), False))
        elif key.lower() == "critical":
            continue
        else:
            raise _bad("Extensions", key, value)
    eku = [v for k, v in (inf.section("EnhancedKeyUsageExtension") or []) if k.lower() == "oid"]
    if eku:
        s.extensions.append((_eku(eku, "EnhancedKeyUsageExtension"), False))


# ---------------------------------------------------------------------------------------
# Keys and requests
# ---------------------------------------------------------------------------------------


def _create_key(machine, token, s: NewRequest):
    """Make the key; (CRYPT_KEY_PROV_INFO, public key, undo, PRIVATEKEYBLOB or None). With
    PrivateKeyArchive the key is made archivable (CRYPT_ARCHIVABLE /
    NCRYPT_ALLOW_ARCHIVING_FLAG) and exported once, on this handle, for the CA; it stays
    as non-exportable as the INF asked."""
    from capi.crypt32.context import CRYPT_KEY_PROV_INFO
    from capi.crypt32.pfx import new_container_name
    from csp.base import KeyScope

    scope = KeyScope(machine, token, s.machine_keyset, True)
    name = new_container_name()
    mflag = C.CRYPT_MACHINE_KEYSET if s.machine_keyset else 0
    provider = s.provider
    if provider.kind == "csp":
        container = provider.create_container(scope, name)
        try:
            pair = container.generate_key(s.key_spec, _CAPI_ALG[s.key_spec], s.key_length,
                                          (C.CRYPT_EXPORTABLE if s.exportable else 0)
                                          | (C.CRYPT_ARCHIVABLE if s.archive else 0))
            blob = container.export_key(pair, C.PRIVATEKEYBLOB) if s.archive else None
        except BaseException:
            provider.delete_container(scope, name)
            raise
        info = CRYPT_KEY_PROV_INFO(name, provider.name, provider.prov_type, mflag, s.key_spec)
        return info, pair.public, lambda: provider.delete_container(scope, name), blob
    key = provider.create_key(scope, s.key_algorithm, name, s.key_spec, 0)
    if s.key_algorithm == "RSA":
        key.set_property(C.NCRYPT_LENGTH_PROPERTY, s.key_length, 0)
    key.set_property(C.NCRYPT_EXPORT_POLICY_PROPERTY,
                     (C.NCRYPT_ALLOW_EXPORT_FLAG if s.exportable else 0)
                     | (C.NCRYPT_ALLOW_ARCHIVING_FLAG if s.archive else 0), 0)
    if s.key_usage is not None:
        from capi.crypt32.pfx import cng_usage_for

        key.set_property(C.NCRYPT_KEY_USAGE_PROPERTY, cng_usage_for(s.key_usage), 0)
    key.finalize(0)
    blob = None
    if s.archive:
        try:
            blob = key.export(C.LEGACY_RSAPRIVATE_BLOB, None)
        except BaseException:
            key.delete()
            raise
    info = CRYPT_KEY_PROV_INFO(name, provider.name, 0, mflag, s.key_spec)
    return info, key.public, key.delete, blob


class _NameValuePair(core.Sequence):
    """szOID_ENROLLMENT_NAME_VALUE_PAIR: the "CertificateTemplate:<name>" request attribute."""

    _fields = [("name", core.BMPString), ("value", core.BMPString)]


class _AnySet(core.SetOf):
    _child_spec = core.Any


def build_request(s: NewRequest, info, public_key) -> bytes:
    """The PKCS#10 request, signed by the new key through its provider. cryptography lays
    out the CertificationRequestInfo (extensions included); asn1crypto puts the real
    public key and the template attribute in; the provider signs."""
    from capi.certsrv.ca import _scratch_key, sign_with_key

    builder = x509.CertificateSigningRequestBuilder().subject_name(s.subject)
    for ext, critical in s.extensions:
        builder = builder.add_extension(ext, critical=critical)
    layout = asn1_csr.CertificationRequest.load(
        builder.sign(_scratch_key(), hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    cri = layout["certification_request_info"]
    cri["subject_pk_info"] = asn1_keys.PublicKeyInfo.load(public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    if s.template:
        pair = _NameValuePair({"name": "CertificateTemplate", "value": s.template})
        attrs = list(cri["attributes"]) if cri["attributes"].native else []
        attrs.append(asn1_csr.CRIAttribute({
            "type": szOID_ENROLLMENT_NAME_VALUE_PAIR, "values": _AnySet([core.Any.load(pair.dump())])}))
        cri["attributes"] = asn1_csr.CRIAttributes(attrs)
    tbs = cri.dump()
    sig_alg, signature = sign_with_key(info, tbs, s.hash_name)
    alg = {"algorithm": sig_alg}
    if sig_alg.endswith("_rsa"):
        alg["parameters"] = core.Null()
    return asn1_csr.CertificationRequest({
        "certification_request_info": asn1_csr.CertificationRequestInfo.load(tbs),
        "signature_algorithm": alg, "signature": signature}).dump()


def self_signed(s: NewRequest, info, public_key, validity: datetime.timedelta) -> bytes:
    from capi.certsrv.ca import CLOCK_SKEW, certificate_from_tbs, random_serial, tbs_from_builder

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    builder = (x509.CertificateBuilder().subject_name(s.subject).issuer_name(s.subject)
               .public_key(public_key).serial_number(random_serial())
               .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + validity))
    for ext, critical in s.extensions:
        builder = builder.add_extension(ext, critical=critical)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    return certificate_from_tbs(tbs_from_builder(builder, s.hash_name), info, s.hash_name)


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def _pem(der: bytes, markers: tuple[str, str]) -> bytes:
    body = base64.b64encode(der).decode("ascii")
    lines = [markers[0], *[body[i:i + 64] for i in range(0, len(body), 64)], markers[1], ""]
    return "\r\n".join(lines).encode("ascii")


def _read_der(path: str, kind: str) -> bytes:
    check_input_file(path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_INF_BYTES * 4 + 1)
    if len(data) > MAX_INF_BYTES * 4:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"{path} is too large")
    text = data.decode("ascii", errors="ignore")
    match = re.search(r"-----BEGIN [A-Z ]+-----(.*?)-----END [A-Z ]+-----", text, re.S)
    if match:
        try:
            return base64.b64decode("".join(match.group(1).split()), validate=True)
        except ValueError:
            pass
    elif data[:1] == b"\x30":
        return data
    else:
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            pass
    from capi.errors import CRYPT_E_ASN1_BADTAG

    raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"{path} is not a {kind}")


def _write(path: str, data: bytes, force: bool) -> None:
    if os.path.exists(path) and not force:
        raise WinError(ERROR_FILE_EXISTS, detail=path)
    with open(path, "wb") as fh:
        fh.write(data)


# ---------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------


def _machine_and_token():
    from capi.host.context import current_machine
    from csp.identity import token_for

    machine = current_machine()
    return machine, token_for(machine)


def _store(machine, token, machine_keyset: bool, name: str):
    from capi.crypt32.store_kinds import open_system_store

    return open_system_store(machine, "LocalMachine" if machine_keyset else "CurrentUser", name,
                             token=token)


def _installed_lines(der: bytes, info=None, friendly_name: str | None = None,
                     machine=None) -> list[str]:
    """The block certreq prints for an installed certificate, as in real output:
    "Installed Certificate:", then indented Serial Number, Subject, NotBefore, NotAfter,
    Thumbprint, "Friendly Name: ..." when one is set, the provider name and the key's
    unique container name, then a blank line (projectacrn acrn-hypervisor "waag-secure-boot"
    docs: certreq -new with the Strong provider; Securosys' signtool guide: certreq -new
    with a KSP and FriendlyName). For a KSP the line after the provider is assumed to be
    the key's unique name like a CSP's; the Securosys HSM KSP shows the key name there.
    """
    from winpki.tools.certutil_store import format_time

    cert = x509.load_der_x509_certificate(der)
    from capi.crypt32.str import CertNameToStr

    subject = CertNameToStr(C.X509_ASN_ENCODING, cert.subject.public_bytes(), C.CERT_X500_NAME_STR)
    import hashlib

    lines = ["Installed Certificate:",
             f"  Serial Number: {cert.serial_number:x}",
             f"  Subject: {subject}",
             f"  NotBefore: {format_time(cert.not_valid_before_utc)}",
             f"  NotAfter: {format_time(cert.not_valid_after_utc)}",
             f"  Thumbprint: {hashlib.sha1(der).hexdigest()}"]
    if friendly_name:
        lines.append(f"  Friendly Name: {friendly_name}")
    if info is not None and machine is not None:
        from csp import capi_unique_name, cng_unique_name

        unique = (capi_unique_name if info.dwProvType else cng_unique_name)(
            info.pwszContainerName, machine.machine_guid)
        lines += [f"  {info.pwszProvName}", f"  {unique}"]
    lines.append("")
    return lines


def verb_new(args: list[str], opts: dict, out: TextIO) -> None:
    from capi.crypt32.store import CertAddEncodedCertificateToStore

    if len(args) != 2:
        raise Usage("-new needs PolicyFileIn and RequestFileOut")
    inf_path, out_path = args
    check_input_file(inf_path)
    if os.path.getsize(inf_path) > MAX_INF_BYTES:
        raise CertReqError(WinError(ERROR_INVALID_PARAMETER, detail=f"{inf_path} is too large"))
    if os.path.exists(out_path) and not opts.get("f"):
        raise WinError(ERROR_FILE_EXISTS, detail=out_path)
    with open(inf_path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig", "replace")
    machine, token = _machine_and_token()
    force_machine = True if opts.get("machine") else (False if opts.get("user") else None)
    settings = read_request_settings(machine, parse_inf(text), force_machine=force_machine)
    # The key is complete once made (Windows keeps a certreq key whether or not the
    # request is ever accepted); it commits with its security descriptor on its own.
    exchange = _exchange_certificate(machine, opts.get("config")) if settings.archive else None
    info, public, undo, archived_blob = _create_key(machine, token, settings)
    crashpoints.crash_point("certreq.key")
    try:
        with machine.transaction():
            if settings.request_type == "cert":
                der = self_signed(settings, info, public, settings.validity)
                store_name, output = "My", _pem(der, CERT_PEM)
            else:
                request = build_request(settings, info, public)
                if settings.archive:
                    from capi.certsrv.ca import sign_with_key
                    from capi.certsrv.cmc import build_archival_request

                    request = build_archival_request(
                        request, archived_blob, exchange, public,
                        lambda data: sign_with_key(info, data, settings.hash_name), settings.hash_name)
                # The pending request: a self-signed placeholder holding the key, in REQUEST.
                der = self_signed(settings, info, public, settings.validity)
                store_name, output = "REQUEST", _pem(request, REQUEST_PEM)
            with _store(machine, token, settings.machine_keyset, store_name) as store:
                ctx = CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, der,
                                                       C.CERT_STORE_ADD_NEW)
                ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, info)
                if settings.friendly_name:
                    ctx.set_property(C.CERT_FRIENDLY_NAME_PROP_ID, settings.friendly_name)
            crashpoints.crash_point("certreq.stored")
            _write(out_path, output, bool(opts.get("f")))
    except BaseException:
        undo()  # after the rollback, so the key's SD row goes with its file
        raise
    if settings.request_type == "cert":
        for line in _installed_lines(der, info, settings.friendly_name, machine):
            out.write(line + "\n")
        out.write("CertReq: Certificate Created and Installed\n")
    else:
        out.write("CertReq: Request Created\n")


def _exchange_certificate(machine, config: str | None) -> bytes:
    """The CA Exchange certificate, checked as the client checks it: signed by the key
    that signed the CA certificate ("Key Archival and Management in Windows Server 2003",
    CA Exchange Certificate Retrieval)."""
    from cryptography.hazmat.primitives.asymmetric import padding

    from capi.certsrv.authority import CertificateAuthority

    authority = CertificateAuthority.open(machine, config)
    der = authority.exchange_certificate()
    xchg = x509.load_der_x509_certificate(der)
    try:
        authority.ca.certificate.public_key().verify(xchg.signature, xchg.tbs_certificate_bytes,
                                                     padding.PKCS1v15(), xchg.signature_hash_algorithm)
    except Exception:
        from capi.errors import TRUST_E_CERT_SIGNATURE

        raise WinError(TRUST_E_CERT_SIGNATURE, detail="CA exchange certificate") from None
    return der


def _attributes(text: str | None) -> dict:
    """-attrib "Name:Value\nName:Value" (certreq's syntax; "\n" separates pairs)."""
    out = {}
    for part in (text or "").replace("\\n", "\n").split("\n"):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep or not name.strip():
            raise WinError(ERROR_INVALID_PARAMETER, detail=f"-attrib {part!r}")
        out[name.strip()] = value.strip()
    return out


def verb_submit(args: list[str], opts: dict, out: TextIO) -> None:
    from capi.certsrv.authority import DB_DISP_ISSUED, DB_DISP_PENDING, CertificateAuthority

    if not 1 <= len(args) <= 2:
        raise Usage("-submit needs RequestFileIn [CertFileOut]")
    machine, token = _machine_and_token()
    attributes = _attributes(opts.get("attrib"))
    # certreq reads and decodes the request (PKCS#10 or CMC) before it contacts the CA:
    # a request that cannot be read installs no CA.
    request = _read_der(args[0], "certificate request")
    _check_request_type(request, args[0])
    authority = CertificateAuthority.open(machine, opts.get("config"), install=True, token=token)
    result = authority.submit(request, token, attributes)
    out.write(f"RequestId: {result.request_id}\n")
    out.write(f'RequestId: "{result.request_id}"\n')
    if result.disposition == DB_DISP_ISSUED:
        out.write("Certificate retrieved(Issued) Issued\n")
        if len(args) == 2:
            _write(args[1], _pem(result.cert, CERT_PEM), bool(opts.get("f")))
        return
    if result.disposition == DB_DISP_PENDING:
        out.write("Certificate request is pending: Taken Under Submission (0)\n")
        return
    if result.status in (0x8009400A, 0x8009400B, 0x8009400C):
        # ICertRequest::Submit fails: the text, the COM error info and the last status,
        # as "Key Archival and Management in Windows Server 2003" shows them.
        from capi.certsrv.authority import hresult_text

        line = hresult_text(result.status).replace(".  ", ". ")
        out.write(f"{line} COM Error Info:\n")
        out.write(f"CCertRequest::Submit {line} LastStatus:\n")
        out.write(f"{line}\n")
        raise SubmitFailed(result.status)
    out.write(f"Certificate not issued (Denied) Denied by Policy Module  0x{result.status:x}, "
              f"{result.message}\n")
    raise SubmitFailed(result.status)


def _check_request_type(request: bytes, path: str) -> None:
    from capi.certsrv.cmc import is_cmc
    from capi.errors import CRYPT_E_ASN1_BADTAG

    if is_cmc(request):
        return
    try:
        x509.load_der_x509_csr(request)
    except ValueError:
        raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"{path} is not a certificate request") from None


class SubmitFailed(Exception):
    """The CA refused the request; what it said is already printed."""

    def __init__(self, status: int):
        super().__init__(f"0x{status:08x}")
        self.status = status


def verb_accept(args: list[str], opts: dict, out: TextIO) -> None:
    from capi.crypt32.cert import CertGetCertificateContextProperty
    from capi.crypt32.store import CertAddEncodedCertificateToStore, CertDeleteCertificateFromStore

    if len(args) != 1:
        raise Usage("-accept needs CertChainFileIn")
    der = _read_der(args[0], "certificate")
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        from capi.errors import CRYPT_E_ASN1_BADTAG

        raise WinError(CRYPT_E_ASN1_BADTAG, detail=args[0]) from None
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    machine, token = _machine_and_token()
    locations = [True] if opts.get("machine") else [False] if opts.get("user") else [False, True]
    for machine_keyset in locations:
        with _store(machine, token, machine_keyset, "REQUEST") as pending:
            for ctx in pending:
                pub = ctx.x509.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
                if pub != spki:
                    continue
                props = ctx._root()._props
                with machine.transaction(), _store(machine, token, machine_keyset, "My") as my:
                    new = CertAddEncodedCertificateToStore(my, C.X509_ASN_ENCODING, der,
                                                           C.CERT_STORE_ADD_REPLACE_EXISTING)
                    for prop in (C.CERT_KEY_PROV_INFO_PROP_ID, C.CERT_FRIENDLY_NAME_PROP_ID):
                        if prop in props:
                            new.set_property(prop, props[prop])
                    CertDeleteCertificateFromStore(ctx)
                    shown = {}
                    for prop in (C.CERT_KEY_PROV_INFO_PROP_ID, C.CERT_FRIENDLY_NAME_PROP_ID):
                        if prop in props:
                            shown[prop] = CertGetCertificateContextProperty(new, prop)
                for line in _installed_lines(der, shown.get(C.CERT_KEY_PROV_INFO_PROP_ID),
                                             shown.get(C.CERT_FRIENDLY_NAME_PROP_ID), machine):
                    out.write(line + "\n")
                return
    # certreq -accept without its pending request: "Cannot find object or property.
    # 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)".
    raise WinError(CRYPT_E_NOT_FOUND, detail="no pending request for this certificate")


def verb_retrieve(args: list[str], opts: dict, out: TextIO) -> None:
    """certreq -retrieve RequestId [CertFileOut]: the certificate of a request the CA
    has issued since (a pending one says so)."""
    from capi.certsrv.authority import DB_DISP_ISSUED, DB_DISP_PENDING, CertificateAuthority

    if not 1 <= len(args) <= 2:
        raise Usage("-retrieve needs RequestId [CertFileOut]")
    try:
        request_id = int(args[0], 0)
    except ValueError:
        raise WinError(ERROR_INVALID_PARAMETER, detail=f"request id {args[0]!r}") from None
    machine, _token = _machine_and_token()
    authority = CertificateAuthority.open(machine, opts.get("config"))
    row = authority.row(request_id)
    out.write(f"RequestId: {request_id}\n")
    out.write(f'RequestId: "{request_id}"\n')
    if row["disposition"] == DB_DISP_PENDING:
        out.write("Certificate request is pending: Taken Under Submission (0)\n")
        return
    cert = authority.certificate(request_id)
    if row["disposition"] != DB_DISP_ISSUED or cert is None:
        out.write(f"Certificate not issued ({row['message']})\n")
        raise SubmitFailed(row["status"] or 0x80094003)
    out.write("Certificate retrieved(Issued) Issued\n")
    if len(args) == 2:
        _write(args[1], _pem(cert, CERT_PEM), bool(opts.get("f")))


VERBS = {"new": verb_new, "submit": verb_submit, "accept": verb_accept, "retrieve": verb_retrieve}
FLAGS = {"user", "machine", "f", "q", "v", "adminforcemachine"}
VALUES = {"config", "attrib", "cert"}


def _usage(out: TextIO) -> None:
    out.write("Usage:\n"
              "  CertReq -new [Options] [PolicyFileIn [RequestFileOut]]\n"
              "  CertReq -submit [Options] [RequestFileIn [CertFileOut]]\n"
              "  CertReq -accept [Options] [CertChainFileIn | FullResponseFileIn | CertFileIn]\n"
              "Options:\n  -user -machine -f -q -config ConfigString\n")


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    verb_name, positional, opts = None, [], {}
    i = 0
    try:
        while i < len(args):
            a = args[i]
            if is_option(a):
                name = option_name(a)
                if name in VERBS and verb_name is None:
                    verb_name = name
                elif name in FLAGS:
                    opts[name] = True
                elif name in VALUES:
                    if i + 1 >= len(args):
                        raise Usage(f"Missing argument for option -{name}")
                    opts[name] = args[i + 1]
                    i += 1
                elif name in ("?", "h", "help"):
                    _usage(out)
                    return 0
                else:
                    raise Usage(f"Unknown arg: {a}")
            else:
                positional.append(a)
            i += 1
        if verb_name is None:
            verb_name = "submit"  # certreq's default verb
        VERBS[verb_name](positional, opts, out)
        return 0
    except Usage as exc:
        out.write(f"CertReq: {exc}\n")
        _usage(err)
        return 87 & 0xFF
    except CertReqError as exc:
        return _fail(exc.error, out, exc.line)
    except SubmitFailed as exc:
        return (exc.status & 0xFF) or 1
    except Exception as exc:  # never a traceback for bad input
        return _fail(exc, out, None)


def _fail(exc: BaseException, out: TextIO, line: str | None) -> int:
    hr, text = describe_failure(exc)
    out.write(f"Certificate Request Processor: {text} {hresult_line(hr)}\n")
    if line:
        out.write(f"{line}\n")
    return (hr & 0xFF) or 1

"""certutil's store verbs: -store, -addstore, -delstore, -dump.

Output follows certutil.exe (en-US): a store header line (``My "Personal"``), one block
per certificate under ``================ Certificate N ================``, the key
section (``  Key Container = …``, ``  Unique container name: …``, ``  Provider = …``
and the key test line), and ``CertUtil: -<verb> command completed successfully.``
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

from capi import constants as C
from capi.errors import CRYPT_E_EXISTS, CRYPT_E_NOT_FOUND, WinError
from capi.host.context import current_machine
from winpki import keyreport
from winpki.tools.certutil import DUMP_HANDLERS, Invocation, verb
from winpki.tools.common import check_input_file, normalize_hash

# Localized names certutil prints after the store name (en-US).
STORE_DISPLAY_NAMES = {
    "my": "Personal",
    "root": "Trusted Root Certification Authorities",
    "ca": "Intermediate Certification Authorities",
    "trust": "Enterprise Trust",
    "disallowed": "Untrusted Certificates",
    "trustedpeople": "Trusted People",
    "trustedpublisher": "Trusted Publishers",
    "authroot": "Third-Party Root Certification Authorities",
    "webhosting": "Web Hosting",
    "request": "Certificate Enrollment Requests",
    "smartcardroot": "Smart Card Trusted Roots",
    "remote desktop": "Remote Desktop",
}

SEPARATOR = "================ Certificate {} ================"


# --------------------------------------------------------------------------------------
# helpers shared by the verbs
# --------------------------------------------------------------------------------------


def _location_flags(inv: Invocation) -> int:
    return C.CERT_SYSTEM_STORE_CURRENT_USER if inv.flag("user") else C.CERT_SYSTEM_STORE_LOCAL_MACHINE


def open_system_store(inv: Invocation, name: str, *, write: bool, create: bool | None = None):
    """Open a system store the way certutil does: existing stores only for reads, and for
    changes that only remove (``create=False``); adding to a new name creates the store."""
    from capi.crypt32.store import CertOpenStore

    flags = _location_flags(inv)
    if not write:
        flags |= C.CERT_STORE_OPEN_EXISTING_FLAG | C.CERT_STORE_READONLY_FLAG
    elif not (write if create is None else create):
        flags |= C.CERT_STORE_OPEN_EXISTING_FLAG
    return CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None, flags, name)


def store_header(name: str) -> str:
    display = STORE_DISPLAY_NAMES.get(name.lower())
    return f'{name} "{display}"' if display else name


def hash_text(digest: bytes) -> str:
    """certutil's rendering of a hash: spaced bytes up to 2012 R2, plain hex after."""
    if current_machine().os.certutil_spaced_hashes:
        return " ".join(f"{b:02x}" for b in digest)
    return digest.hex()


def format_time(dt: datetime) -> str:
    """certutil's en-US date: 7/1/2012 10:34 PM (the simulated machine runs on UTC)."""
    dt = dt.astimezone(timezone.utc)
    hour = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {hour}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"


def name_str(name_der: bytes) -> str:
    from capi.crypt32.str import CertNameToStr

    # certutil (like .NET's X509Certificate2.Subject) prints the last RDN first.
    return CertNameToStr(C.X509_ASN_ENCODING, name_der,
                         C.CERT_X500_NAME_STR | C.CERT_NAME_STR_REVERSE_FLAG)


def is_self_signed(cert: x509.Certificate) -> bool:
    try:
        if cert.issuer != cert.subject:
            return False
    except (ValueError, KeyError):
        # A name that does not decode (cryptography before 50 raises KeyError for a value
        # of an unexpected ASN.1 type, later versions ValueError): compare the names as
        # encoded.
        from cryptography.hazmat.primitives.serialization import Encoding

        from capi.formats.certext import is_self_issued

        if not is_self_issued(cert.public_bytes(Encoding.DER)):
            return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:
        return False
    return True


def matches_cert_id(ctx, index: int, cert_id: str) -> bool:
    """certutil's CertId: an index, a SHA-1 hash, a serial number, or a name."""
    # A short decimal is an index; a 40-digit string of zeros is a hash, not index 0.
    if cert_id.isdigit() and len(cert_id) <= 6 and int(cert_id) == index:
        return True
    wanted = normalize_hash(cert_id)
    if wanted is not None:
        if ctx.sha1.hex().upper() == wanted:
            return True
        if ctx.x509.serial_number == int(wanted, 16):
            return True
    from capi.crypt32.str import CertGetNameString

    # CertGetNameString never fails: a name that does not decode matches nothing.
    simple = CertGetNameString(ctx, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)
    return simple.lower() == cert_id.lower()


def select(store, cert_id: str | None):
    """Yield (index, context) for the certificates of ``store`` matching ``cert_id``."""
    from capi.crypt32.store import CertEnumCertificatesInStore

    index = 0
    ctx = CertEnumCertificatesInStore(store, None)
    while ctx is not None:
        if cert_id is None or matches_cert_id(ctx, index, cert_id):
            yield index, ctx
        index += 1
        ctx = CertEnumCertificatesInStore(store, ctx)


def summary_lines(ctx) -> list[str]:
    """The per-certificate block of ``certutil -store`` (without the key section)."""
    cert = ctx.x509
    lines = [
        f"Serial Number: {cert.serial_number:x}" if cert.serial_number else "Serial Number: 00",
        f"Issuer: {name_str(ctx.pCertInfo.Issuer)}",
        f" NotBefore: {format_time(cert.not_valid_before_utc)}",
        f" NotAfter: {format_time(cert.not_valid_after_utc)}",
        f"Subject: {name_str(ctx.pCertInfo.Subject)}",
    ]
    if is_self_signed(cert):
        lines += ["Signature matches Public Key", "Root Certificate: Subject matches Issuer"]
    else:
        lines.append("Non-root Certificate")
    lines.append(f"Cert Hash(sha1): {hash_text(ctx.sha1)}")
    return lines


# --------------------------------------------------------------------------------------
# -store
# --------------------------------------------------------------------------------------


@verb("store", "[-v] [-user] [CertificateStoreName [CertId [OutputFile]]]", max_args=3)
def store_verb(inv: Invocation):
    name = inv.args[0] if inv.args else "CA"
    cert_id = inv.args[1] if len(inv.args) > 1 else None
    outfile = inv.args[2] if len(inv.args) > 2 else None
    with open_system_store(inv, name, write=False) as store:
        inv.print(store_header(name))
        found = 0
        for index, ctx in select(store, cert_id):
            found += 1
            inv.print(SEPARATOR.format(index))
            if inv.flag("v"):
                for line in dump_lines(ctx.pbCertEncoded):
                    inv.print(line)
                inv.print()
                for line in property_lines(ctx):
                    inv.print(line)
            else:
                for line in summary_lines(ctx):
                    inv.print(line)
            for line in keyreport.key_lines(ctx, verbose=inv.flag("v")):
                inv.print(line)
            inv.print()
            if outfile:
                _write_file(outfile, ctx.pbCertEncoded)
        if cert_id is not None and not found:
            raise WinError(CRYPT_E_NOT_FOUND)


def _write_file(path: str, data: bytes) -> None:
    if os.path.exists(path):
        raise WinError(0x80070050)  # ERROR_FILE_EXISTS, as certutil without -f
    with open(path, "wb") as fh:
        fh.write(data)


# --------------------------------------------------------------------------------------
# -addstore / -delstore
# --------------------------------------------------------------------------------------


def _read_file_store(path: str, enum) -> list:
    """Every context ``enum`` (CertEnumCertificatesInStore / CertEnumCRLsInStore) gives of
    the file at ``path`` opened as a read-only store."""
    from capi.crypt32.store import CertOpenStore

    with CertOpenStore(C.CERT_STORE_PROV_FILENAME, C.ENCODING_TYPE, None,
                       C.CERT_STORE_OPEN_EXISTING_FLAG | C.CERT_STORE_READONLY_FLAG, path) as src:
        result = []
        ctx = enum(src, None)
        while ctx is not None:
            result.append(ctx)
            ctx = enum(src, ctx)
    return result


def read_certificates(path: str) -> list:
    """Certificates from a file in any form certutil reads (DER, PEM, .sst, PKCS#7)."""
    from capi.crypt32.store import CertEnumCertificatesInStore

    check_input_file(path)
    return _read_file_store(path, CertEnumCertificatesInStore)


def read_crls(path: str) -> list:
    """CRLs from a file in any form certutil reads (DER/PEM .crl, .sst, PKCS#7)."""
    from capi.crypt32.crl import CertEnumCRLsInStore

    return _read_file_store(path, CertEnumCRLsInStore)


def crl_issuer_simple(crl) -> str:
    """The CRL issuer's common name (its whole name when it has none)."""
    from cryptography.x509.oid import NameOID

    obj = crl.x509crl
    if obj is not None:
        cns = obj.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
    return name_str(crl.pCrlInfo.Issuer)


CRL_SEPARATOR = "================ CRL {} ================"


def crl_summary_lines(crl) -> list[str]:
    """The per-CRL block of ``certutil -store`` (issuer, updates, hash)."""
    from capi.crypt32.crl import _when

    info = crl.pCrlInfo
    lines = [f"Issuer: {name_str(info.Issuer)}",
             f" ThisUpdate: {format_time(_when(info.ThisUpdate))}"]
    if info.NextUpdate:
        lines.append(f" NextUpdate: {format_time(_when(info.NextUpdate))}")
    lines.append(f"CRL Entries: {len(info.rgCRLEntry)}")
    lines.append(f"CRL Hash(sha1): {hash_text(crl.sha1)}")
    return lines


@verb("addstore", "[-f] [-user] CertificateStoreName InFile", min_args=2, max_args=2)
def addstore_verb(inv: Invocation):
    from capi.crypt32.crl import CertAddCRLContextToStore
    from capi.crypt32.store import CertAddCertificateContextToStore
    from capi.crypt32.str import CertGetNameString

    name, infile = inv.args
    certs = read_certificates(infile)
    crls = read_crls(infile)
    if not certs and not crls:
        raise WinError(CRYPT_E_NOT_FOUND, detail=infile)
    disposition = C.CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES if inv.flag("f") \
        else C.CERT_STORE_ADD_NEW
    with open_system_store(inv, name, write=True) as store:
        inv.print(store_header(name))
        for ctx in certs:
            simple = CertGetNameString(ctx, C.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, None)
            if is_self_signed(ctx.x509):
                inv.print("Signature matches Public Key")
            try:
                CertAddCertificateContextToStore(store, ctx, disposition)
            except WinError as exc:
                if exc.hresult != CRYPT_E_EXISTS:
                    raise
                inv.print(f'Certificate "{simple}" already in store.')
                continue
            inv.print(f'Certificate "{simple}" added to store.')
        for crl in crls:
            # A CRL replaces an older one of the same issuer (CERT_STORE_ADD_NEWER), as
            # publishing a new CRL does; -f replaces whatever is there.
            crl_disposition = C.CERT_STORE_ADD_REPLACE_EXISTING if inv.flag("f") \
                else C.CERT_STORE_ADD_NEWER
            simple = crl_issuer_simple(crl)
            try:
                CertAddCRLContextToStore(store, crl, crl_disposition)
            except WinError as exc:
                if exc.hresult != CRYPT_E_EXISTS:
                    raise
                inv.print(f'CRL "{simple}" already in store.')
                continue
            inv.print(f'CRL "{simple}" added to store.')
    inv.print()


def _select_crls(store, crl_id: str):
    from capi.crypt32.crl import CertEnumCRLsInStore

    wanted = normalize_hash(crl_id)
    index = 0
    ctx = CertEnumCRLsInStore(store, None)
    while ctx is not None:
        if (crl_id.isdigit() and len(crl_id) <= 6 and int(crl_id) == index) or (
                wanted is not None and ctx.sha1.hex().upper() == wanted):
            yield index, ctx
        index += 1
        ctx = CertEnumCRLsInStore(store, ctx)


@verb("delstore", "[-user] CertificateStoreName CertId", min_args=2, max_args=2)
def delstore_verb(inv: Invocation):
    from capi.crypt32.crl import CertDeleteCRLFromStore
    from capi.crypt32.store import CertDeleteCertificateFromStore

    name, cert_id = inv.args
    with open_system_store(inv, name, write=True, create=False) as store:
        inv.print(store_header(name))
        victims = list(select(store, cert_id))
        # A CRL is named by its SHA-1 hash (or, when no certificate matches, its index).
        crl_victims = list(_select_crls(store, cert_id)) if not victims or \
            normalize_hash(cert_id) is not None else []
        if not victims and not crl_victims:
            raise WinError(CRYPT_E_NOT_FOUND, detail=cert_id)
        for index, ctx in victims:
            inv.print(f"Deleting Certificate {index}")
            inv.print(SEPARATOR.format(index))
            for line in summary_lines(ctx):
                inv.print(line)
            inv.print()
            CertDeleteCertificateFromStore(ctx)
        for index, crl in crl_victims:
            inv.print(f"Deleting CRL {index}")
            inv.print(CRL_SEPARATOR.format(index))
            for line in crl_summary_lines(crl):
                inv.print(line)
            inv.print()
            CertDeleteCRLFromStore(crl)


# --------------------------------------------------------------------------------------
# -dump
# --------------------------------------------------------------------------------------


@verb("dump", "[-v] [File]", min_args=1, max_args=1)
def dump_verb(inv: Invocation):
    path = inv.args[0]
    check_input_file(path)
    from capi.formats.pkcs12 import is_pfx, parse_pfx

    with open(path, "rb") as fh:
        data = fh.read()
    for handler in DUMP_HANDLERS:  # other kinds of file (a CRL: certutil_crldump)
        lines = handler(data)
        if lines is not None:
            for line in lines:
                inv.print(line)
            return
    if is_pfx(data):
        # Like certutil: -p gives the password, else the empty password is tried;
        # a wrong one fails with ERROR_INVALID_PASSWORD from the PFX layer.
        contents = parse_pfx(data, inv.value("p") or "")
        ders = [c.der for c in contents.certs]
    else:
        ders = [ctx.pbCertEncoded for ctx in read_certificates(path)]
    if len(ders) == 1:
        for line in dump_lines(ders[0]):
            inv.print(line)
        return
    for index, der in enumerate(ders):
        inv.print(SEPARATOR.format(index))
        for line in dump_lines(der):
            inv.print(line)
        inv.print()


def _hexdump(data: bytes, indent: str = "    ") -> list[str]:
    """certutil's hex dump: offset, 8+8 bytes, ASCII column."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        hexpart = f"{left:<23}  {right:<23}"
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{indent}{off:04x}  {hexpart}   {text}")
    return lines


_EC_OID = "1.2.840.10045.2.1"
_SIG_NAMES = {
    "1.2.840.113549.1.1.5": "sha1RSA",
    "1.2.840.113549.1.1.11": "sha256RSA",
    "1.2.840.113549.1.1.12": "sha384RSA",
    "1.2.840.113549.1.1.13": "sha512RSA",
    "1.2.840.113549.1.1.4": "md5RSA",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.3.2": "sha256ECDSA",
    "1.2.840.10045.4.3.3": "sha384ECDSA",
    "1.2.840.10045.4.3.4": "sha512ECDSA",
}
_KU_NAMES = [
    ("digital_signature", "Digital Signature", 0x80),
    ("content_commitment", "Non-Repudiation", 0x40),
    ("key_encipherment", "Key Encipherment", 0x20),
    ("data_encipherment", "Data Encipherment", 0x10),
    ("key_agreement", "Key Agreement", 0x08),
    ("key_cert_sign", "Certificate Signing", 0x04),
    ("crl_sign", "Off-line CRL Signing, CRL Signing", 0x02),
]
_EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "Server Authentication",
    "1.3.6.1.5.5.7.3.2": "Client Authentication",
    "1.3.6.1.5.5.7.3.3": "Code Signing",
    "1.3.6.1.5.5.7.3.4": "Secure Email",
    "1.3.6.1.5.5.7.3.8": "Time Stamping",
    "1.3.6.1.4.1.311.20.2.2": "Smart Card Logon",
}
_EXT_NAMES = {
    "2.5.29.15": "Key Usage",
    "2.5.29.37": "Enhanced Key Usage",
    "2.5.29.17": "Subject Alternative Name",
    "2.5.29.19": "Basic Constraints",
    "2.5.29.14": "Subject Key Identifier",
    "2.5.29.35": "Authority Key Identifier",
    "2.5.29.31": "CRL Distribution Points",
    "1.3.6.1.5.5.7.1.1": "Authority Information Access",
}


def _extension_value_lines(ext: x509.Extension) -> list[str]:
    v = ext.value
    ind = "        "
    if ext.oid == ExtensionOID.KEY_USAGE:
        names, bits = [], 0
        for attr, label, bit in _KU_NAMES:
            if getattr(v, attr):
                names.append(label)
                bits |= bit
        return [f"{ind}{', '.join(names)} ({bits:02x})"]
    if ext.oid == ExtensionOID.EXTENDED_KEY_USAGE:
        return [f"{ind}{_EKU_NAMES.get(o.dotted_string, o.dotted_string)} ({o.dotted_string})"
                for o in v]
    if ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
        out = []
        for gn in v:
            if isinstance(gn, x509.DNSName):
                out.append(f"{ind}DNS Name={gn.value}")
            elif isinstance(gn, x509.IPAddress):
                out.append(f"{ind}IP Address={gn.value}")
            elif isinstance(gn, x509.RFC822Name):
                out.append(f"{ind}RFC822 Name={gn.value}")
            else:
                out.append(f"{ind}{gn}")
        return out
    if ext.oid == ExtensionOID.BASIC_CONSTRAINTS:
        out = [f"{ind}Subject Type={'CA' if v.ca else 'End Entity'}"]
        out.append(f"{ind}Path Length Constraint="
                   f"{'None' if v.path_length is None else v.path_length}")
        return out
    if ext.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
        return [f"{ind}{' '.join(f'{b:02x}' for b in v.digest)}"]
    if ext.oid == ExtensionOID.AUTHORITY_KEY_IDENTIFIER and v.key_identifier:
        return [f"{ind}KeyID={' '.join(f'{b:02x}' for b in v.key_identifier)}"]
    return _hexdump(ext.value.public_bytes(), ind)


def _name_block(label: str, der: bytes) -> list[str]:
    from capi.formats.x500 import parse_name

    lines = [f"{label}:"]
    try:
        rdns = parse_name(der)
    except WinError:
        # What does not decode is shown as its bytes, and the hashes still follow.
        lines += _hexdump(der)
        rdns = []
    for rdn in reversed(rdns):
        for oid, text in rdn:
            lines.append(f"    {_short(oid)}={text}")
    lines.append(f"  Name Hash(sha1): {hashlib.sha1(der).hexdigest()}")
    lines.append(f"  Name Hash(md5): {hashlib.md5(der).hexdigest()}")
    return lines


_SHORT = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "S", "2.5.4.10": "O",
          "2.5.4.11": "OU", "1.2.840.113549.1.9.1": "E", "0.9.2342.19200300.100.1.25": "DC",
          "2.5.4.9": "STREET", "2.5.4.12": "T", "2.5.4.5": "SERIALNUMBER"}


def _short(oid: str) -> str:
    return _SHORT.get(oid, oid)


def dump_lines(der: bytes) -> list[str]:
    """The ``X509 Certificate:`` block of certutil -dump (and of -store -v)."""
    from capi.formats.certext import certificate_extensions, public_key_or_none, raw_tbs

    cert = x509.load_der_x509_certificate(der)
    tbs = raw_tbs(der)  # each part as encoded: what does not decode is still printed
    sig_oid = cert.signature_algorithm_oid.dotted_string
    lines = [
        "X509 Certificate:",
        f"Version: {cert.version.value + 1}",
        f"Serial Number: {cert.serial_number:x}",
        "Signature Algorithm:",
        f"    Algorithm ObjectId: {sig_oid} {_SIG_NAMES.get(sig_oid, '')}".rstrip(),
        "    Algorithm Parameters:",
    ]
    params = tbs.signature_parameters
    lines += [f"    {' '.join(f'{b:02x}' for b in params)}"] if params else ["    NULL"]
    lines += _name_block("Issuer", tbs.issuer)
    lines += ["", f" NotBefore: {format_time(cert.not_valid_before_utc)}",
              f" NotAfter: {format_time(cert.not_valid_after_utc)}", ""]
    lines += _name_block("Subject", tbs.subject)
    lines.append("")
    pub = public_key_or_none(cert)  # None: an unknown curve, a malformed key
    alg_oid = tbs.key_algorithm
    lines.append("Public Key Algorithm:")
    if isinstance(pub, rsa.RSAPublicKey):
        lines.append(f"    Algorithm ObjectId: {alg_oid} RSA (RSA_SIGN)")
        lines += ["    Algorithm Parameters:", "    05 00",
                  f"Public Key Length: {pub.key_size} bits"]
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        lines.append(f"    Algorithm ObjectId: {alg_oid} ECC")
        lines += ["    Algorithm Parameters:",
                  f"    {' '.join(f'{b:02x}' for b in tbs.key_parameters)}",
                  f"Public Key Length: {pub.key_size} bits"]
    else:
        lines.append(f"    Algorithm ObjectId: {alg_oid}{' ECC' if alg_oid == _EC_OID else ''}")
        key_params = tbs.key_parameters
        if key_params:
            lines += ["    Algorithm Parameters:",
                      f"    {' '.join(f'{b:02x}' for b in key_params)}"]
    key_bits = tbs.key_bits
    lines.append("Public Key: UnusedBits = 0")
    lines += _hexdump(key_bits)
    exts = certificate_extensions(der, cert)
    lines.append(f"Certificate Extensions: {len(exts)}")
    for ext in exts:
        oid, raw = ext.oid, ext.raw
        crit = "1(Critical)" if ext.critical else "0"
        lines.append(f"    {oid}: Flags = {crit}, Length = {len(raw):x}")
        lines.append(f"    {_EXT_NAMES.get(oid, oid)}")
        if ext.value is None:
            # A value that does not decode: its bytes, in the dump's layout.
            lines += _hexdump(raw, "        ")
        else:
            try:
                lines += _extension_value_lines(ext.value)
            except Exception:
                lines += _hexdump(raw, "        ")
        lines.append("")
    lines += ["Signature Algorithm:",
              f"    Algorithm ObjectId: {sig_oid} {_SIG_NAMES.get(sig_oid, '')}".rstrip(),
              "    Algorithm Parameters:"]
    lines += [f"    {' '.join(f'{b:02x}' for b in params)}"] if params else ["    NULL"]
    lines.append("Signature: UnusedBits=0")
    lines += _hexdump(cert.signature)
    if is_self_signed(cert):
        lines += ["Signature matches Public Key", "Root Certificate: Subject matches Issuer"]
    else:
        lines.append("Non-root Certificate")
    spki_der = tbs.spki
    lines.append(f"Key Id Hash(rfc-sha1): {hashlib.sha1(key_bits).hexdigest()}")
    lines.append(f"Key Id Hash(sha1): {hashlib.sha1(tbs.key_bit_string).hexdigest()}")
    lines.append(f"Key Id Hash(sha256): {hashlib.sha256(spki_der).hexdigest()}")
    lines.append(f"Cert Hash(md5): {hashlib.md5(der).hexdigest()}")
    lines.append(f"Cert Hash(sha1): {hash_text(hashlib.sha1(der).digest())}")
    lines.append(f"Cert Hash(sha256): {cert.fingerprint(hashes.SHA256()).hex()}")
    return lines


# Property names as certutil -v prints them ("CERT_FRIENDLY_NAME_PROP_ID(11):").
PROP_NAMES = {
    v: k for k, v in vars(C).items()
    if k.startswith("CERT_") and k.endswith("_PROP_ID") and isinstance(v, int)
    and k not in ("CERT_HASH_PROP_ID", "CERT_CTL_USAGE_PROP_ID")
}


def property_lines(ctx) -> list[str]:
    """certutil -v's property dump (KEY_PROV_INFO is printed by the key section)."""
    from capi.crypt32.cert import (
        CertEnumCertificateContextProperties,
        CertGetCertificateContextProperty,
    )
    from capi.crypt32.context import CRYPT_KEY_PROV_INFO

    lines = []
    prop = CertEnumCertificateContextProperties(ctx, 0)
    while prop:
        if prop not in (C.CERT_KEY_PROV_INFO_PROP_ID, C.CERT_KEY_CONTEXT_PROP_ID):
            value = CertGetCertificateContextProperty(ctx, prop)
            name = PROP_NAMES.get(prop, "")
            lines.append(f"{name}({prop}):" if name else f"Unknown Property({prop}):")
            if isinstance(value, str):
                lines.append(f"  {value}")
            elif isinstance(value, (bytes, bytearray)):
                if prop in (C.CERT_SHA1_HASH_PROP_ID, C.CERT_MD5_HASH_PROP_ID,
                            C.CERT_SIGNATURE_HASH_PROP_ID, C.CERT_KEY_IDENTIFIER_PROP_ID,
                            C.CERT_SHA256_HASH_PROP_ID):
                    lines.append(f"  {hash_text(bytes(value))}")
                else:
                    lines += _hexdump(bytes(value), "  ")
            elif isinstance(value, CRYPT_KEY_PROV_INFO):
                pass
            else:
                lines.append(f"  {value}")
            lines.append("")
        prop = CertEnumCertificateContextProperties(ctx, prop)
    return lines

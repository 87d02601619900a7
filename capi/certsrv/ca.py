r"""A simple certification authority on the machine, for ``certreq -submit``.

A standalone root CA as ``Install-AdcsCertificationAuthority`` would make it on one
computer: a key in the Microsoft Software Key Storage Provider (machine key named after
the CA, not exportable), a self-signed CA certificate in LocalMachine\My (linked to the
key) and LocalMachine\Root, and a request database (``ca_requests``) in the machine
state. It issues end-entity certificates from PKCS#10 requests, copying the requested
SAN, EKU and key usage (without the CA-only bits) and adding the key identifiers; the
signature is made by the CA key through the provider interface, never with key bytes
read out of it.

Also here: signing with any key a CRYPT_KEY_PROV_INFO names (used by certreq for its
requests and self-signed certificates) and assembling X.509 structures with asn1crypto.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
from dataclasses import dataclass

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from capi import constants as C
from capi.crypt32.context import CRYPT_KEY_PROV_INFO
from capi.errors import NTE_BAD_SIGNATURE, WinError
from capi.formats.blobs import ecdsa_der_from_p1363

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ca_config(
    name TEXT PRIMARY KEY, key_name TEXT NOT NULL, cert BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ca_requests(
    id INTEGER PRIMARY KEY AUTOINCREMENT, ca TEXT NOT NULL, request BLOB NOT NULL,
    cert BLOB, disposition TEXT NOT NULL, submitted TEXT NOT NULL);
"""

# A standalone CA issues for one year (ValidityPeriod = Years, ValidityPeriodUnits = 1)
# and back-dates NotBefore by ClockSkewMinutes = 10 (certsrv registry defaults).
CA_VALIDITY = datetime.timedelta(days=365)
CLOCK_SKEW = datetime.timedelta(minutes=10)
CA_CERT_VALIDITY = datetime.timedelta(days=5 * 365)
CA_KEY_BITS = 2048
SERIAL_BYTES = 16

_HASHES = {"md5": (hashes.MD5, "MD5"), "sha1": (hashes.SHA1, "SHA1"),
           "sha256": (hashes.SHA256, "SHA256"), "sha384": (hashes.SHA384, "SHA384"),
           "sha512": (hashes.SHA512, "SHA512")}
_RSA_SIG_ALGS = {"md5": "md5_rsa", "sha1": "sha1_rsa", "sha256": "sha256_rsa",
                 "sha384": "sha384_rsa", "sha512": "sha512_rsa"}
_ECDSA_SIG_ALGS = {"sha1": "sha1_ecdsa", "sha256": "sha256_ecdsa", "sha384": "sha384_ecdsa",
                   "sha512": "sha512_ecdsa"}


def hash_class(name: str):
    entry = _HASHES.get(name.lower())
    if entry is None:
        from capi.errors import NTE_BAD_ALGID

        raise WinError(NTE_BAD_ALGID, detail=f"hash {name!r}")
    return entry[0]


# ---------------------------------------------------------------------------------------
# Signing with a provider key
# ---------------------------------------------------------------------------------------


def sign_with_key(info: CRYPT_KEY_PROV_INFO, data: bytes, hash_name: str) -> tuple[str, bytes]:
    """(asn1crypto signature algorithm name, signature) of ``data`` by the key ``info``
    names: opened through CNG (CAPI software keys through the CNG view, as CertEnroll
    does, so SHA-2 works with PROV_RSA_FULL keys), PKCS#1 v1.5 or ECDSA."""
    from capi.crypt32.keyacquire import _open_from_prov_info
    from capi.ncrypt.keystorage import BCRYPT_PKCS1_PADDING_INFO

    handle, _ = _open_from_prov_info(info, C.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG
                                     | C.CRYPT_ACQUIRE_SILENT_FLAG)
    try:
        key = handle.key
        cls = hash_class(hash_name)
        h = hashes.Hash(cls())
        h.update(data)
        digest = h.finalize()
        if isinstance(key.public, rsa.RSAPublicKey):
            sig = key.sign_hash(digest, BCRYPT_PKCS1_PADDING_INFO(_HASHES[hash_name.lower()][1]),
                                C.BCRYPT_PAD_PKCS1)
            return _RSA_SIG_ALGS[hash_name.lower()], sig
        der = ecdsa_der_from_p1363(key.sign_hash(digest, None, 0))
        return _ECDSA_SIG_ALGS[hash_name.lower()], der
    finally:
        handle._open = False


@functools.cache
def _scratch_key() -> rsa.RSAPrivateKey:
    # Only used to let cryptography's builder lay out a TBSCertificate; its signature is
    # discarded and the real one made by the provider key.
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def tbs_from_builder(builder: x509.CertificateBuilder, hash_name: str) -> bytes:
    """The DER TBSCertificate ``builder`` describes. cryptography lays it out with
    sha256RSA (it refuses to sign with SHA-1); :func:`certificate_from_tbs` puts the real
    signature algorithm in."""
    return builder.sign(_scratch_key(), hashes.SHA256()).tbs_certificate_bytes


def certificate_from_tbs(tbs: bytes, info: CRYPT_KEY_PROV_INFO, hash_name: str) -> bytes:
    """Sign ``tbs`` with the key ``info`` names and return the certificate's DER."""
    sig_alg, signature = sign_with_key(info, tbs, hash_name)
    parsed = asn1_x509.TbsCertificate.load(tbs)
    alg = {"algorithm": sig_alg}
    if sig_alg.endswith("_rsa"):
        alg["parameters"] = core.Null()
    if parsed["signature"]["algorithm"].native != sig_alg:
        # The layout says sha256RSA; another hash or an ECDSA issuer key needs its own
        # algorithm inside the TBS, so sign again over the corrected bytes.
        parsed["signature"] = alg
        tbs = parsed.dump()
        sig_alg, signature = sign_with_key(info, tbs, hash_name)
        parsed = asn1_x509.TbsCertificate.load(tbs)
    cert = asn1_x509.Certificate({"tbs_certificate": parsed, "signature_algorithm": alg,
                                  "signature_value": signature})
    return cert.dump()


def random_serial() -> int:
    # Positive, SERIAL_BYTES long, never zero.
    return int.from_bytes(os.urandom(SERIAL_BYTES), "big") >> 1 | 1


# ---------------------------------------------------------------------------------------
# The CA
# ---------------------------------------------------------------------------------------


@dataclass
class MachineCA:
    machine: object
    name: str
    key_name: str
    cert_der: bytes

    @property
    def config(self) -> str:
        r"""The -config string: ``COMPUTER\CA name``."""
        return f"{self.machine.computer_name}\\{self.name}"

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.cert_der)

    @property
    def prov_info(self) -> CRYPT_KEY_PROV_INFO:
        return CRYPT_KEY_PROV_INFO(self.key_name, C.MS_KEY_STORAGE_PROVIDER, 0,
                                   C.NCRYPT_MACHINE_KEY_FLAG, 0)

    # -- lifetime -------------------------------------------------------------------------

    @staticmethod
    def default_name(machine) -> str:
        return f"{machine.computer_name}-CA"

    @classmethod
    def find(cls, machine, name: str | None = None) -> MachineCA | None:
        machine.ensure_schema("capi.ca", _SCHEMA)
        if name is None:
            row = machine.db.execute("SELECT name, key_name, cert FROM ca_config ORDER BY name").fetchone()
        else:
            row = machine.db.execute("SELECT name, key_name, cert FROM ca_config WHERE name = ? "
                                     "COLLATE NOCASE", (name,)).fetchone()
        return cls(machine, row[0], row[1], bytes(row[2])) if row else None

    @classmethod
    def install(cls, machine, token, name: str | None = None) -> MachineCA:
        """Create the CA: key, self-signed certificate in My and Root, configuration."""
        from csp.base import KeyScope
        from csp.registry import find_ksp

        machine.ensure_schema("capi.ca", _SCHEMA)
        name = name or cls.default_name(machine)
        existing = cls.find(machine, name)
        if existing is not None:
            return existing
        ksp = find_ksp(machine, C.MS_KEY_STORAGE_PROVIDER)
        scope = KeyScope(machine, token, True, True)
        with machine.transaction() as db:
            key = ksp.create_key(scope, "RSA", name, 0, 0)
            key.set_property(C.NCRYPT_LENGTH_PROPERTY, CA_KEY_BITS, 0)
            # The CA key can be backed up (certutil -backupKey writes it to a PFX).
            key.set_property(C.NCRYPT_EXPORT_POLICY_PROPERTY,
                             C.NCRYPT_ALLOW_EXPORT_FLAG | C.NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG, 0)
            key.finalize(0)
            try:
                ca = cls(machine, name, name, b"")
                now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
                ski = x509.SubjectKeyIdentifier.from_public_key(key.public)
                builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                           .public_key(key.public).serial_number(random_serial())
                           .not_valid_before(now - CLOCK_SKEW)
                           .not_valid_after(now + CA_CERT_VALIDITY)
                           .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                        False, False), critical=False)
                           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                           .add_extension(ski, critical=False))
                ca.cert_der = certificate_from_tbs(tbs_from_builder(builder, "sha256"),
                                                   ca.prov_info, "sha256")
                ca._register(db, token)
            except BaseException:
                key.delete()
                raise
        return ca

    def _register(self, db, token) -> None:
        r"""The configuration row, and the CA certificate in LocalMachine\My (linked to its
        key) and in LocalMachine\Root, added as ``token`` inside the caller's transaction."""
        from capi.crypt32.store import CertAddEncodedCertificateToStore
        from capi.crypt32.store_kinds import open_system_store

        db.execute("INSERT INTO ca_config(name, key_name, cert) VALUES (?, ?, ?)",
                   (self.name, self.key_name, self.cert_der))
        for store_name in ("My", "Root"):
            with open_system_store(self.machine, "LocalMachine", store_name, token=token) as store:
                ctx = CertAddEncodedCertificateToStore(store, C.X509_ASN_ENCODING, self.cert_der,
                                                       C.CERT_STORE_ADD_REPLACE_EXISTING)
                if store_name == "My":
                    ctx.set_property(C.CERT_KEY_PROV_INFO_PROP_ID, self.prov_info)

    @classmethod
    def restore(cls, machine, token, cert_der: bytes, private_key) -> MachineCA:
        r"""certutil -restoreKey: the CA's certificate and key from its backup, on this
        machine (key in the Microsoft Software KSP as a machine key named after the CA,
        certificate in LocalMachine\My linked to it and in Root, configuration row)."""
        from capi.formats import blobs
        from csp.base import KeyScope
        from csp.registry import find_ksp

        machine.ensure_schema("capi.ca", _SCHEMA)
        cert = x509.load_der_x509_certificate(cert_der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names:
            from capi.errors import CRYPT_E_NOT_FOUND

            raise WinError(CRYPT_E_NOT_FOUND, detail="CA certificate without a common name")
        name = str(names[0].value)
        if cls.find(machine, name) is not None:
            from capi.errors import NTE_EXISTS

            raise WinError(NTE_EXISTS, detail=f"CA {name} exists on this machine")
        ksp = find_ksp(machine, C.MS_KEY_STORAGE_PROVIDER)
        scope = KeyScope(machine, token, True, True)
        with machine.transaction() as db:
            key = ksp.import_key(scope, C.BCRYPT_RSAFULLPRIVATE_BLOB,
                                 blobs.bcrypt_rsa_blob(private_key, C.BCRYPT_RSAFULLPRIVATE_MAGIC), name,
                                 0)
            try:
                ca = cls(machine, name, name, bytes(cert_der))
                ca._register(db, token)
            except BaseException:
                key.delete()
                raise
        return ca

    # -- issuing ---------------------------------------------------------------------------

    def submit(self, request_der: bytes) -> tuple[int, bytes]:
        """Issue a certificate for a PKCS#10 request: (RequestId, certificate DER).

        Raises CRYPT_E_ASN1_BADTAG (not a request), NTE_BAD_ALGID (a signature algorithm
        the CA does not know, e.g. Ed25519), NTE_BAD_SIGNATURE (the proof of possession
        fails) and ERROR_INVALID_DATA (a request that decodes but breaks the format's
        rules, such as one extension twice)."""
        csr, subject, public_key, requested = self.parse_request(request_der)
        cert = self.build_certificate(subject, public_key, requested)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        stamp = now.isoformat()
        with self.machine.transaction() as db:
            cur = db.execute("INSERT INTO ca_requests(ca, request, cert, disposition, submitted) "
                             "VALUES (?, ?, ?, 'Issued', ?)", (self.name, bytes(request_der), cert, stamp))
            request_id = cur.lastrowid
        return request_id, cert

    def parse_request(self, request_der: bytes):
        """(csr, subject, public key, requested extensions) of a PKCS#10 request, its
        proof of possession checked; the errors :meth:`submit` documents."""
        from capi.errors import CRYPT_E_ASN1_BADTAG, ERROR_INVALID_DATA

        try:
            csr = x509.load_der_x509_csr(bytes(request_der))
        except (ValueError, TypeError) as exc:
            raise WinError(CRYPT_E_ASN1_BADTAG, detail=f"not a PKCS#10 request: {exc}") from None
        if not _request_signature_valid(csr):
            raise WinError(NTE_BAD_SIGNATURE, detail="the request's signature does not verify")
        try:
            requested = list(csr.extensions)
            subject, public_key = csr.subject, csr.public_key()
        except (x509.DuplicateExtension, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # Not observed on a real CA: ERROR_INVALID_DATA is the code MS-WCCE
            # (3.2.1.4.2.1.4.1.1 and .1.3) names for a PKCS#10 request whose content breaks
            # the format's rules; RFC 5280 4.2 forbids a second instance of an extension.
            raise WinError(ERROR_INVALID_DATA, detail=f"malformed request: {exc}") from None
        return csr, subject, public_key, requested

    def build_certificate(self, subject, public_key, requested, *, template=None,
                          validity: datetime.timedelta | None = None, serial: int | None = None) -> bytes:
        """Sign an end-entity certificate for ``public_key``. With a ``template``, its
        EKUs and key usage replace the requested ones and its name goes in the
        certificate-template extension."""
        ca_cert = self.certificate
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
                   .public_key(public_key).serial_number(serial or random_serial())
                   .not_valid_before(now - CLOCK_SKEW)
                   .not_valid_after(min(now + (validity or CA_VALIDITY), ca_cert.not_valid_after_utc)))
        # The policy module builds the certificate from its own policy: requested names,
        # usages and EKUs are taken, but a requester never decides to be a CA. Requested
        # BasicConstraints are ignored, the CA-only key usages are dropped, and the issued
        # certificate says End Entity.
        for ext in requested:
            value = ext.value
            if template is not None and isinstance(value, (x509.KeyUsage, x509.ExtendedKeyUsage)):
                continue
            if isinstance(value, x509.KeyUsage):
                value = _end_entity_usage(value)
                if value is None:
                    continue
            elif not isinstance(value, (x509.SubjectAlternativeName, x509.ExtendedKeyUsage)):
                continue
            builder = builder.add_extension(value, critical=ext.critical)
        if template is not None:
            builder = _template_extensions(builder, template)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                                        critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        return certificate_from_tbs(tbs_from_builder(builder, "sha256"), self.prov_info, "sha256")

    def request(self, request_id: int) -> tuple[str, bytes | None]:
        row = self.machine.db.execute("SELECT disposition, cert FROM ca_requests WHERE id = ? AND ca = ?",
                                      (request_id, self.name)).fetchone()
        if row is None:
            from capi.errors import CRYPT_E_NOT_FOUND

            raise WinError(CRYPT_E_NOT_FOUND, detail=f"request {request_id}")
        return row[0], (bytes(row[1]) if row[1] is not None else None)


def _template_extensions(builder, template):
    """The template's key usage, EKUs and name (szOID_ENROLL_CERTTYPE_EXTENSION, a
    BMPString, as version-1 templates put it in the certificate)."""
    from asn1crypto import core as _core

    from capi.certsrv.templates import szOID_ENROLL_CERTTYPE_EXTENSION

    ku = template.key_usage
    usage = x509.KeyUsage(bool(ku & 0x80), bool(ku & 0x40), bool(ku & 0x20), bool(ku & 0x10),
                          bool(ku & 0x08), bool(ku & 0x04) and template.ca, bool(ku & 0x02) and template.ca,
                          False, False)
    if any((usage.digital_signature, usage.content_commitment, usage.key_encipherment,
            usage.data_encipherment, usage.key_agreement, usage.key_cert_sign, usage.crl_sign)):
        builder = builder.add_extension(usage, critical=True)
    if template.ekus:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in template.ekus]), critical=False)
    name = _core.BMPString(template.name).dump()
    return builder.add_extension(
        x509.UnrecognizedExtension(x509.ObjectIdentifier(szOID_ENROLL_CERTTYPE_EXTENSION), name),
        critical=False)


def _end_entity_usage(usage: x509.KeyUsage) -> x509.KeyUsage | None:
    """``usage`` without keyCertSign and cRLSign; None when nothing is left."""
    agreement = usage.key_agreement
    bits = dict(digital_signature=usage.digital_signature, content_commitment=usage.content_commitment,
                key_encipherment=usage.key_encipherment, data_encipherment=usage.data_encipherment,
                key_agreement=agreement, key_cert_sign=False, crl_sign=False,
                encipher_only=usage.encipher_only if agreement else False,
                decipher_only=usage.decipher_only if agreement else False)
    return x509.KeyUsage(**bits) if any(bits.values()) else None


def _request_signature_valid(csr: x509.CertificateSigningRequest) -> bool:
    """Verify a request's signature, SHA-1 included (cryptography's is_signature_valid
    refuses SHA-1, which certreq still uses by default), RSASSA-PSS with the request's
    own parameters. A signature algorithm crypt32 has no OID information for is
    NTE_BAD_ALGID, not a bad signature: Wine's crypt32 (cert.c, the signature check under
    CryptVerifyCertificateSignatureEx) fails CryptFindOIDInfo on the signature algorithm
    with NTE_BAD_ALGID, and AD CS has no Ed25519/Ed448 support."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding

    from capi.errors import NTE_BAD_ALGID

    try:
        key = csr.public_key()
        alg = csr.signature_hash_algorithm
        params = csr.signature_algorithm_parameters
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise WinError(NTE_BAD_ALGID, detail=f"request signature algorithm: {exc}") from None
    if alg is None or not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey,
                                           dsa.DSAPublicKey)):
        raise WinError(NTE_BAD_ALGID,
                       detail=f"request signature algorithm {csr.signature_algorithm_oid.dotted_string}")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            key.verify(csr.signature, csr.tbs_certrequest_bytes, pad, alg)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(csr.signature, csr.tbs_certrequest_bytes, ec.ECDSA(alg))
        else:
            key.verify(csr.signature, csr.tbs_certrequest_bytes, alg)
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest()


__all__ = [
    "CA_VALIDITY", "CLOCK_SKEW", "sign_with_key", "certificate_from_tbs", "MachineCA",
]

r"""Certificate chains: CertGetCertificateChain and CertVerifyCertificateChainPolicy.

The object model is :class:`ChainEngine`: the stores of one location (CurrentUser, which
also shows LocalMachine's Root/CA/Disallowed through its physical stores, or LocalMachine
alone) plus optional additional stores. ``engine.build(cert, ...)`` walks from the leaf
to a root, looking issuers up by subject name (CERT_FIND_SUBJECT_NAME) in the additional
store, then CA, Root, AuthRoot, Trust and My; every candidate path is scored and the
best one is returned as a :class:`CERT_CHAIN_CONTEXT` with Windows' per-element and
per-chain CERT_TRUST_* bits. :func:`verify_chain_policy` maps those bits to the
CERT_E_*/TRUST_E_* code a policy reports, in the order Windows reports them.

Where Windows' behaviour comes from (read, not copied): Wine's crypt32 conformance tests
``dlls/crypt32/tests/chain.c`` (they run on Windows and record its statuses, policy
errors and element indexes) and Microsoft's CertVerifyCertificateChainPolicy /
CERT_CHAIN_POLICY_STATUS / CERT_TRUST_STATUS documentation.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asn1crypto import parser as asn1_parser
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from capi.constants import (
    AUTHTYPE_SERVER,
    CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG,
    CERT_CHAIN_POLICY_AUTHENTICODE,
    CERT_CHAIN_POLICY_BASE,
    CERT_CHAIN_POLICY_BASIC_CONSTRAINTS,
    CERT_CHAIN_POLICY_IGNORE_CA_REV_UNKNOWN_FLAG,
    CERT_CHAIN_POLICY_IGNORE_END_REV_UNKNOWN_FLAG,
    CERT_CHAIN_POLICY_IGNORE_INVALID_BASIC_CONSTRAINTS_FLAG,
    CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG,
    CERT_CHAIN_POLICY_IGNORE_ROOT_REV_UNKNOWN_FLAG,
    CERT_CHAIN_POLICY_IGNORE_WRONG_USAGE_FLAG,
    CERT_CHAIN_POLICY_SSL,
    CERT_CHAIN_REVOCATION_CHECK_CHAIN,
    CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
    CERT_CHAIN_REVOCATION_CHECK_END_CERT,
    CERT_CHAIN_USE_LOCAL_MACHINE_STORE,
    CERT_STORE_READONLY_FLAG,
    CERT_TRUST_HAS_EXACT_MATCH_ISSUER,
    CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT,
    CERT_TRUST_HAS_KEY_MATCH_ISSUER,
    CERT_TRUST_HAS_NAME_MATCH_ISSUER,
    CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT,
    CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT,
    CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT,
    CERT_TRUST_HAS_PREFERRED_ISSUER,
    CERT_TRUST_INVALID_BASIC_CONSTRAINTS,
    CERT_TRUST_INVALID_EXTENSION,
    CERT_TRUST_INVALID_NAME_CONSTRAINTS,
    CERT_TRUST_IS_CYCLIC,
    CERT_TRUST_IS_EXPLICIT_DISTRUST,
    CERT_TRUST_IS_NOT_SIGNATURE_VALID,
    CERT_TRUST_IS_NOT_TIME_VALID,
    CERT_TRUST_IS_NOT_VALID_FOR_USAGE,
    CERT_TRUST_IS_OFFLINE_REVOCATION,
    CERT_TRUST_IS_PARTIAL_CHAIN,
    CERT_TRUST_IS_REVOKED,
    CERT_TRUST_IS_SELF_SIGNED,
    CERT_TRUST_IS_UNTRUSTED_ROOT,
    CERT_TRUST_REVOCATION_STATUS_UNKNOWN,
    HCCE_CURRENT_USER,
    HCCE_LOCAL_MACHINE,
    SECURITY_FLAG_IGNORE_CERT_CN_INVALID,
    SECURITY_FLAG_IGNORE_CERT_DATE_INVALID,
    SECURITY_FLAG_IGNORE_REVOCATION,
    SECURITY_FLAG_IGNORE_UNKNOWN_CA,
    SECURITY_FLAG_IGNORE_WRONG_USAGE,
    USAGE_MATCH_TYPE_AND,
    USAGE_MATCH_TYPE_OR,
    szOID_ANY_ENHANCED_KEY_USAGE,
)
from capi.crypt32.certhelpers import _spki_der_of, signed_by
from capi.crypt32.context import CertContext, cert_eku
from capi.errors import (
    CERT_E_CHAINING,
    CERT_E_CN_NO_MATCH,
    CERT_E_CRITICAL,
    CERT_E_EXPIRED,
    CERT_E_INVALID_NAME,
    CERT_E_UNTRUSTEDROOT,
    CERT_E_WRONG_USAGE,
    CRYPT_E_NO_REVOCATION_CHECK,
    CRYPT_E_NOT_FOUND,
    CRYPT_E_REVOCATION_OFFLINE,
    CRYPT_E_REVOKED,
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    TRUST_E_BASIC_CONSTRAINTS,
    TRUST_E_CERT_SIGNATURE,
    TRUST_E_EXPLICIT_DISTRUST,
    WinError,
    winapi,
)

if TYPE_CHECKING:
    from capi.crypt32.store_kinds import CertStore
    from capi.host.accounts import Token
    from capi.host.machine import Machine

# The lower nibble of an element's info status (how its issuer was matched, whether it is
# self-signed) describes that element only; Windows leaves it out of the chain's status.
_ELEMENT_ONLY_INFO = 0x0000000F
# Longest path tried and most candidate paths scored, so hostile stores cannot stall a build.
_MAX_CHAIN_LENGTH = 16
_NAME_CONSTRAINT_BITS = (CERT_TRUST_INVALID_NAME_CONSTRAINTS
                         | CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT
                         | CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT
                         | CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT)
_MAX_CANDIDATE_PATHS = 64
# Candidate paths with a link whose signature fails are scored on a separate allowance,
# and candidate choice checks at most this many signatures per build (a few hundred
# milliseconds of verification at worst); beyond it, unchecked issuers come last.
_MAX_UNVERIFIED_PATHS = 64
_MAX_SIGNATURE_CHECKS = 4096
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
_FILETIME_TICKS_PER_MICROSECOND = 10
_CONTEXT_CLASS = 2  # ASN.1 class of [n] tags

# Issuer lookup order; Wine's engine "world" is Root, CA, My and Trust plus the
# additional stores, and roots live in Root (and AuthRoot, the third-party roots store).
_ISSUER_STORES = ("CA", "Root", "AuthRoot", "Trust", "My")
_ROOT_STORES = ("Root", "AuthRoot")
_DISALLOWED_STORE = "Disallowed"


# ---------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------


@dataclass
class CERT_TRUST_STATUS:
    dwErrorStatus: int = 0
    dwInfoStatus: int = 0


@dataclass
class CERT_ENHKEY_USAGE:
    rgpszUsageIdentifier: list[str] = field(default_factory=list)

    @property
    def cUsageIdentifier(self) -> int:
        return len(self.rgpszUsageIdentifier)


@dataclass
class CERT_USAGE_MATCH:
    """``Usage`` is a CERT_ENHKEY_USAGE or simply a list of OID strings."""

    dwType: int = USAGE_MATCH_TYPE_AND
    Usage: CERT_ENHKEY_USAGE | list[str] | None = None

    def oids(self) -> list[str]:
        usage = self.Usage
        if usage is None:
            return []
        if isinstance(usage, CERT_ENHKEY_USAGE):
            return [str(o) for o in usage.rgpszUsageIdentifier]
        return [str(o) for o in usage]


@dataclass
class CERT_CHAIN_PARA:
    RequestedUsage: CERT_USAGE_MATCH | None = None
    RequestedIssuancePolicy: CERT_USAGE_MATCH | None = None
    dwUrlRetrievalTimeout: int = 0
    fCheckRevocationFreshnessTime: bool = False
    dwRevocationFreshnessTime: int = 0


@dataclass
class CERT_CHAIN_ELEMENT:
    pCertContext: CertContext
    TrustStatus: CERT_TRUST_STATUS = field(default_factory=CERT_TRUST_STATUS)
    pRevocationInfo: object = None
    pIssuanceUsage: object = None
    pApplicationUsage: object = None
    pwszExtendedErrorInfo: str | None = None


@dataclass
class CERT_SIMPLE_CHAIN:
    rgpElement: list[CERT_CHAIN_ELEMENT] = field(default_factory=list)
    TrustStatus: CERT_TRUST_STATUS = field(default_factory=CERT_TRUST_STATUS)
    pTrustListInfo: object = None
    fHasRevocationFreshnessTime: bool = False
    dwRevocationFreshnessTime: int = 0

    @property
    def cElement(self) -> int:
        return len(self.rgpElement)


@dataclass
class CERT_CHAIN_CONTEXT:
    """PCCERT_CHAIN_CONTEXT; a context manager that frees itself."""

    rgpChain: list[CERT_SIMPLE_CHAIN] = field(default_factory=list)
    TrustStatus: CERT_TRUST_STATUS = field(default_factory=CERT_TRUST_STATUS)
    rgpLowerQualityChainContext: list = field(default_factory=list)
    fHasRevocationFreshnessTime: bool = False
    dwRevocationFreshnessTime: int = 0
    dwCreateFlags: int = 0
    _refs: int = field(default=1, repr=False)

    @property
    def cChain(self) -> int:
        return len(self.rgpChain)

    @property
    def cLowerQualityChainContext(self) -> int:
        return len(self.rgpLowerQualityChainContext)

    @property
    def leaf(self) -> CertContext:
        return self.rgpChain[0].rgpElement[0].pCertContext

    def __enter__(self) -> CERT_CHAIN_CONTEXT:
        return self

    def __exit__(self, *exc) -> None:
        CertFreeCertificateChain(self)


@dataclass
class CERT_CHAIN_POLICY_PARA:
    dwFlags: int = 0
    pvExtraPolicyPara: object = None


@dataclass
class SSL_EXTRA_CERT_CHAIN_POLICY_PARA:
    dwAuthType: int = AUTHTYPE_SERVER
    fdwChecks: int = 0
    pwszServerName: str | None = None


HTTPSPolicyCallbackData = SSL_EXTRA_CERT_CHAIN_POLICY_PARA


@dataclass
class CERT_CHAIN_POLICY_STATUS:
    dwError: int = 0
    lChainIndex: int = -1
    lElementIndex: int = -1
    pvExtraPolicyStatus: object = None


@dataclass
class CERT_CHAIN_ENGINE_CONFIG:
    hRestrictedRoot: object = None
    hRestrictedTrust: object = None
    hRestrictedOther: object = None
    rghAdditionalStore: list = field(default_factory=list)
    dwFlags: int = 0
    dwUrlRetrievalTimeout: int = 0
    MaximumCachedCertificates: int = 0
    CycleDetectionModulus: int = 0
    hExclusiveRoot: object = None
    hExclusiveTrustedPeople: object = None
    dwExclusiveFlags: int = 0

    @property
    def cAdditionalStore(self) -> int:
        return len(self.rghAdditionalStore)


# ---------------------------------------------------------------------------------------
# Certificate facts the builder needs
# ---------------------------------------------------------------------------------------


def _ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return None  # a malformed extension counts as absent for chain building


def _ski(cert: x509.Certificate) -> bytes | None:
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    return ski.digest if ski is not None else None


# SHA-1 -> (issuer DER, subject DER): a certificate's names never change, so a store walk
# needs no full parse of the certificates it has seen before.
_NAMES: dict[bytes, tuple[bytes | None, bytes | None]] = {}
_NAMES_MAX = 1 << 16
_TBS_ISSUER, _TBS_SUBJECT = 2, 4  # TBSCertificate fields after the optional [0] version


def _name_ders(ctx: CertContext) -> tuple[bytes | None, bytes | None]:
    """(issuer, subject) as DER, read with asn1crypto's parser without building CERT_INFO."""
    der = ctx.pbCertEncoded
    # Hash the bytes here: a store's SHA-1 property may be stale or forged.
    key = hashlib.sha1(der).digest()
    found = _NAMES.get(key)
    if found is not None:
        return found
    try:
        outer = asn1_parser.parse(der)
        tbs = asn1_parser.parse(outer[4], strict=False)
        fields = []
        pos, contents = 0, tbs[4]
        while pos < len(contents):
            info, pos = asn1_parser._parse(contents, len(contents), pos)
            fields.append(info)
        if fields and fields[0][0] == _CONTEXT_CLASS and fields[0][2] == 0:
            fields = fields[1:]
        issuer, subject = (b"".join(fields[i][3:6]) for i in (_TBS_ISSUER, _TBS_SUBJECT))
        found = (issuer, subject)
    except (ValueError, IndexError):
        found = (None, None)
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    _NAMES[key] = found
    return found


def _is_self_issued(ctx: CertContext) -> bool:
    issuer, subject = _name_ders(ctx)
    if issuer is None or issuer != subject:
        return False
    aki = _ext(ctx.x509, x509.AuthorityKeyIdentifier)
    if aki is not None and aki.key_identifier is not None:
        ski = _ski(ctx.x509)
        if ski is not None and ski != aki.key_identifier:
            return False  # same name, another key: a CA rollover, not a root
    return True


def _issuer_match_info(ctx: CertContext, issuer: CertContext | None) -> int:
    """How the issuer was matched (Wine chain.c tests: EXACT when the AKI names issuer and
    serial, KEY when it carries a key id, NAME otherwise; set even when no issuer was found)."""
    aki = _ext(ctx.x509, x509.AuthorityKeyIdentifier)
    if aki is not None:
        if aki.authority_cert_issuer and aki.authority_cert_serial_number is not None:
            if issuer is None:
                return CERT_TRUST_HAS_EXACT_MATCH_ISSUER
            names = [n.value for n in aki.authority_cert_issuer if isinstance(n, x509.DirectoryName)]
            if issuer.x509.serial_number == aki.authority_cert_serial_number and \
                    any(n == issuer.x509.subject for n in names):
                return CERT_TRUST_HAS_EXACT_MATCH_ISSUER
        elif aki.key_identifier is not None:
            if issuer is None or _ski(issuer.x509) == aki.key_identifier:
                return CERT_TRUST_HAS_KEY_MATCH_ISSUER
    return CERT_TRUST_HAS_NAME_MATCH_ISSUER


def _utc(t) -> datetime.datetime:
    if t is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(t, datetime.datetime):
        return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)
    if isinstance(t, int):  # FILETIME: 100-ns ticks since 1601-01-01 UTC
        return _FILETIME_EPOCH + datetime.timedelta(microseconds=t // _FILETIME_TICKS_PER_MICROSECOND)
    raise WinError(E_INVALIDARG, detail=f"pTime {t!r}")


def _time_valid(ctx: CertContext, when: datetime.datetime) -> bool:
    cert = ctx.x509
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _usage_ok(ctx: CertContext, match: CERT_USAGE_MATCH | None) -> bool:

    wanted = match.oids() if match is not None else []
    if not wanted:
        return True
    restricted, allowed = cert_eku(ctx, 0)
    # RFC 5280 4.2.1.12: no EKU means any purpose; so does anyExtendedKeyUsage.
    if not restricted or szOID_ANY_ENHANCED_KEY_USAGE in allowed:
        return True
    if match.dwType == USAGE_MATCH_TYPE_OR:
        return any(o in allowed for o in wanted)
    return all(o in allowed for o in wanted)


def _basic_constraints_ok(ctx: CertContext, index: int, is_root: bool) -> bool:
    """Can this element issue the ``index`` certificates below it? (``index`` >= 1)"""
    cert = ctx.x509
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None:
        # Roots and v1 certificates are CAs by installation (RFC 5280 6.1.4(k)).
        return is_root or cert.version == x509.Version.v1
    if not bc.ca:
        return False
    intermediates_below = index - 1
    return bc.path_length is None or intermediates_below <= bc.path_length


def _has_revocation_pointer(ctx: CertContext) -> bool:
    cert = ctx.x509
    if _ext(cert, x509.CRLDistributionPoints) is not None:
        return True
    aia = _ext(cert, x509.AuthorityInformationAccess)
    return aia is not None and len(aia) > 0


# Critical extensions the chain engine understands; any other critical extension makes the
# element CERT_TRUST_INVALID_EXTENSION | CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT
# (CERT_TRUST_STATUS documentation; the set is RFC 5280's path-validation extensions).
_SUPPORTED_CRITICAL = frozenset({
    "2.5.29.10", "2.5.29.19",            # basic constraints (legacy, current)
    "2.5.29.15", "2.5.29.37",            # key usage, enhanced key usage
    "2.5.29.7", "2.5.29.17", "2.5.29.18",  # alternative names
    "2.5.29.30",                         # name constraints
    "2.5.29.32", "2.5.29.33", "2.5.29.36", "2.5.29.54",  # policies, mappings, constraints, inhibit
    "2.5.29.14", "2.5.29.35",            # key identifiers
})


def _extension_errors(ctx: CertContext) -> int:
    bits = 0
    for ext in ctx.pCertInfo.rgExtension:
        if ext.fCritical and ext.pszObjId not in _SUPPORTED_CRITICAL:
            bits |= CERT_TRUST_INVALID_EXTENSION | CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT
    return bits


def _dns_in_subtree(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower().rstrip(".")
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _email_in_subtree(addr: str, base: str) -> bool:
    addr, base = addr.lower(), base.lower()
    if "@" in base:
        return addr == base
    host = addr.rpartition("@")[2]
    return _dns_in_subtree(host, base)


def _uri_host(uri: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(uri).hostname or ""
    except ValueError:
        return ""


def _dn_in_subtree(name: x509.Name, base: x509.Name) -> bool:
    rdns, brdns = list(name.rdns), list(base.rdns)
    return len(rdns) >= len(brdns) and rdns[:len(brdns)] == brdns


def _ip_in_subtree(ip, net) -> bool:
    try:
        return ip in net
    except TypeError:
        return False


def _in_subtree(gn, base) -> bool | None:
    """Whether general name ``gn`` is inside subtree ``base``; None when the types differ."""
    if type(gn) is not type(base):
        if isinstance(gn, x509.UniformResourceIdentifier) and isinstance(base, x509.DNSName):
            return None
        return None
    if isinstance(gn, x509.DNSName):
        return _dns_in_subtree(gn.value, base.value)
    if isinstance(gn, x509.RFC822Name):
        return _email_in_subtree(gn.value, base.value)
    if isinstance(gn, x509.UniformResourceIdentifier):
        return _dns_in_subtree(_uri_host(gn.value), base.value.lstrip("."))
    if isinstance(gn, x509.DirectoryName):
        return _dn_in_subtree(gn.value, base.value)
    if isinstance(gn, x509.IPAddress):
        return _ip_in_subtree(gn.value, base.value)
    return None


_SUPPORTED_SUBTREES = (x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier,
                       x509.DirectoryName, x509.IPAddress)


def _names_of(ctx: CertContext) -> list:
    """The names a CA's constraints apply to: the subject DN (when not empty), the
    subject alternative names, and an E= address when there is no rfc822Name."""
    cert = ctx.x509
    names: list = []
    if len(cert.subject.rdns):
        names.append(x509.DirectoryName(cert.subject))
    san = _ext(cert, x509.SubjectAlternativeName)
    if san is not None:
        names.extend(san)
    if not any(isinstance(n, x509.RFC822Name) for n in names):
        for attr in cert.subject.get_attributes_for_oid(x509.oid.NameOID.EMAIL_ADDRESS):
            names.append(x509.RFC822Name(str(attr.value)))
    return names


def _name_constraint_errors(subject: CertContext, ca: CertContext) -> tuple[int, int]:
    """(bits for the subject, bits for the CA) of ``ca``'s name constraints."""
    try:
        nc = ca.x509.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return 0, 0
    except ValueError:
        # An undecodable name constraints extension (CERT_TRUST_STATUS documentation:
        # "The certificate has an invalid name constraint").
        return 0, CERT_TRUST_INVALID_EXTENSION | CERT_TRUST_INVALID_NAME_CONSTRAINTS
    permitted = list(nc.permitted_subtrees or [])
    excluded = list(nc.excluded_subtrees or [])
    bits = 0
    if any(not isinstance(t, _SUPPORTED_SUBTREES) for t in permitted + excluded):
        bits |= CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT
    for gn in _names_of(subject):
        if any(_in_subtree(gn, t) for t in excluded):
            bits |= CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT
        same_type = [t for t in permitted if type(t) is type(gn) or (
            isinstance(gn, x509.UniformResourceIdentifier) and isinstance(t, x509.UniformResourceIdentifier))]
        if same_type and not any(_in_subtree(gn, t) for t in same_type):
            bits |= CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT
    return bits, 0


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------


class _Lookup:
    """The stores one build searches, with per-build memoisation of name lookups."""

    def __init__(self, issuer_stores: list, root_stores: list, disallowed: list):
        self.issuer_stores = issuer_stores
        self.root_stores = root_stores
        self.disallowed = disallowed
        self._by_name: dict[bytes, list[CertContext]] | None = None
        self._sig: dict[tuple[bytes, bytes], bool] = {}

    def issuers_named(self, name_der: bytes) -> list[CertContext]:
        """Certificates whose subject is ``name_der`` (CERT_FIND_SUBJECT_NAME semantics:
        DER equality), in store order, one per SHA-1. Each store is read once per build."""
        if self._by_name is None:
            self._by_name = {}
            seen: set[bytes] = set()
            for store in self.issuer_stores:
                for ctx in store:
                    if ctx.sha1 in seen:
                        continue
                    seen.add(ctx.sha1)
                    subject = _name_ders(ctx)[1]
                    if subject is not None:
                        self._by_name.setdefault(subject, []).append(ctx)
        return self._by_name.get(name_der, [])

    def in_any(self, stores: list, ctx: CertContext) -> bool:
        return any(s.find_sha1(ctx.sha1) is not None for s in stores)

    def signature_checked_or_affordable(self, subject: CertContext, issuer: CertContext) -> bool:
        """Whether choosing candidates may (still) check this signature: known already,
        or within the build's budget of signature checks."""
        return (subject.sha1, issuer.sha1) in self._sig or len(self._sig) < _MAX_SIGNATURE_CHECKS

    def signed_by(self, subject: CertContext, issuer: CertContext) -> bool:
        """Whether ``issuer``'s key verifies ``subject``'s signature (cached per build)."""
        key = (subject.sha1, issuer.sha1)
        ok = self._sig.get(key)
        if ok is None:
            # The outer signature over the TBS bytes with the issuer's key, as Windows
            # checks it: an RSA AlgorithmIdentifier without its NULL parameter verifies
            # (cryptography's verify_directly_issued_by rejects inner/outer mismatches).
            try:
                ok = signed_by(subject.pbCertEncoded, _spki_der_of(issuer))
            except WinError:
                ok = False
            self._sig[key] = ok
        return ok


@dataclass
class _Candidate:
    path: list[CertContext]
    kind: str  # "root", "partial" or "cyclic"


class ChainEngine:
    """HCERTCHAINENGINE: which stores a chain is built from and which roots are trusted.

    ``location`` is "CurrentUser" (HCCE_CURRENT_USER; its Root/CA/Disallowed stores show
    LocalMachine's too) or "LocalMachine" (HCCE_LOCAL_MACHINE). ``token`` picks the
    CurrentUser profile. ``exclusive_root`` replaces the trusted roots;
    ``restricted_root`` narrows them.
    """

    def __init__(self, machine, location: str = "CurrentUser", *, token=None,
                 additional_stores: Iterable = (), exclusive_root=None, restricted_root=None):
        self.machine = machine
        self.location = location
        self.token = token
        self.additional_stores = list(additional_stores)
        self.exclusive_root = exclusive_root
        self.restricted_root = restricted_root
        self._refs = 1

    def _open(self, name: str):
        from capi.crypt32.store_kinds import open_system_store

        return open_system_store(self.machine, self.location, name, token=self.token,
                                 flags=CERT_STORE_READONLY_FLAG)

    def build(self, cert: CertContext, *, time=None, additional_store=None,
              usage: CERT_USAGE_MATCH | None = None, flags: int = 0) -> CERT_CHAIN_CONTEXT:
        """The best chain for ``cert`` at ``time`` (datetime, FILETIME int, or None = now)."""
        when = _utc(time)
        opened = {name: self._open(name) for name in
                  dict.fromkeys((*_ISSUER_STORES, *_ROOT_STORES, _DISALLOWED_STORE))}
        try:
            extra = [s for s in (additional_store, *self.additional_stores) if s is not None]
            if self.exclusive_root is not None:
                roots = [self.exclusive_root]
            elif self.restricted_root is not None:
                roots = [self.restricted_root]
            else:
                roots = [opened[n] for n in _ROOT_STORES]
            issuer_stores = [*extra, *(opened[n] for n in _ISSUER_STORES)]
            if self.exclusive_root is not None:
                issuer_stores.append(self.exclusive_root)
            lookup = _Lookup(issuer_stores, roots, [opened[_DISALLOWED_STORE]])
            best = None
            for cand in self._candidates(cert, lookup):
                chain = _evaluate(cand, lookup, when, usage)
                score = _quality(chain)
                if best is None or score > best[0]:
                    best = (score, chain)
            chain = best[1]
            if flags & (CERT_CHAIN_REVOCATION_CHECK_END_CERT | CERT_CHAIN_REVOCATION_CHECK_CHAIN
                        | CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT):
                crl_stores = [*extra, opened["CA"], opened["Root"]]
                _check_revocation(chain, flags, crl_stores, when, self.machine)
            chain.dwCreateFlags = flags
            return chain
        finally:
            for store in opened.values():
                store.close()

    def _candidates(self, leaf: CertContext, lookup: _Lookup) -> Iterator[_Candidate]:
        """Candidate paths, depth first, issuers whose signature over the certificate
        verifies tried before those whose signature fails. Paths with a failing link draw
        on their own limit, so same-name certificates with the wrong key (in
        hAdditionalStore, say) cannot use up the search before the real issuer is tried."""
        left = {True: _MAX_CANDIDATE_PATHS, False: _MAX_UNVERIFIED_PATHS}
        # (path, every link so far verified)
        stack: list[tuple[list[CertContext], bool]] = [([leaf], True)]
        while stack and (left[True] or left[False]):
            path, verified = stack.pop()
            if not left[verified]:
                continue
            top = path[-1]
            if _is_self_issued(top):
                left[verified] -= 1
                yield _Candidate(path, "root")
                continue
            if len(path) >= _MAX_CHAIN_LENGTH:
                left[verified] -= 1
                yield _Candidate(path, "partial")
                continue
            on_path = {c.sha1 for c in path}
            issuers = lookup.issuers_named(_name_ders(top)[0])
            fresh = [c for c in issuers if c.sha1 not in on_path]
            if not fresh:
                left[verified] -= 1
                looped = [c for c in issuers if c.sha1 in on_path]
                if looped:
                    yield _Candidate([*path, looped[0]], "cyclic")
                else:
                    yield _Candidate(path, "partial")
                continue
            # Key-identifier matches first, then store order; within that, issuers that
            # verify before those that do not. The stack pops the last pushed first.
            fresh.sort(key=lambda c: _issuer_match_info(top, c) == CERT_TRUST_HAS_NAME_MATCH_ISSUER)
            good, bad = [], []
            for issuer in fresh:
                ok = verified and lookup.signature_checked_or_affordable(top, issuer) \
                    and lookup.signed_by(top, issuer)
                (good if ok else bad).append(issuer)
            for issuer in reversed(bad):
                stack.append(([*path, issuer], False))
            for issuer in reversed(good):
                stack.append(([*path, issuer], True))

    def close(self) -> None:
        self._refs -= 1


def _evaluate(cand: _Candidate, lookup: _Lookup, when: datetime.datetime,
              usage: CERT_USAGE_MATCH | None) -> CERT_CHAIN_CONTEXT:
    path = cand.path
    last = len(path) - 1
    elements = []
    for i, ctx in enumerate(path):
        status = CERT_TRUST_STATUS()
        is_root = cand.kind == "root" and i == last
        is_cycle_repeat = cand.kind == "cyclic" and i == last
        issuer = path[i + 1] if i < last else None
        if not _time_valid(ctx, when):
            status.dwErrorStatus |= CERT_TRUST_IS_NOT_TIME_VALID
        if issuer is not None and not lookup.signed_by(ctx, issuer):
            status.dwErrorStatus |= CERT_TRUST_IS_NOT_SIGNATURE_VALID
        status.dwInfoStatus |= _issuer_match_info(ctx, ctx if is_root else issuer)
        if is_root:
            status.dwInfoStatus |= CERT_TRUST_IS_SELF_SIGNED
            if not lookup.signed_by(ctx, ctx):
                # Wine chain.c tests (chain12): a root whose self-signature fails.
                status.dwErrorStatus |= CERT_TRUST_IS_NOT_SIGNATURE_VALID
            if not lookup.in_any(lookup.root_stores, ctx):
                status.dwErrorStatus |= CERT_TRUST_IS_UNTRUSTED_ROOT
        if i >= 1 and not _basic_constraints_ok(ctx, i, is_root):
            status.dwErrorStatus |= CERT_TRUST_INVALID_BASIC_CONSTRAINTS
        if is_cycle_repeat:
            # Wine chain.c tests (chain9): the repeated certificate is cyclic and fails
            # basic constraints.
            status.dwErrorStatus |= CERT_TRUST_IS_CYCLIC | CERT_TRUST_INVALID_BASIC_CONSTRAINTS
        if lookup.in_any(lookup.disallowed, ctx):
            status.dwErrorStatus |= CERT_TRUST_IS_EXPLICIT_DISTRUST
        if not _usage_ok(ctx, usage):
            status.dwErrorStatus |= CERT_TRUST_IS_NOT_VALID_FOR_USAGE
        status.dwErrorStatus |= _extension_errors(ctx)
        elements.append(CERT_CHAIN_ELEMENT(ctx, status))
    # Name constraints of each CA apply to every certificate below it (RFC 5280 6.1.3(b);
    # a self-issued intermediate is exempt, 6.1.3(b) last sentence).
    for ca_index in range(1, len(path)):
        for below in range(ca_index):
            if below > 0 and _is_self_issued(path[below]):
                continue
            sub_bits, ca_bits = _name_constraint_errors(path[below], path[ca_index])
            elements[below].TrustStatus.dwErrorStatus |= sub_bits
            elements[ca_index].TrustStatus.dwErrorStatus |= ca_bits
    if cand.kind == "root" and not elements[-1].TrustStatus.dwErrorStatus & CERT_TRUST_IS_UNTRUSTED_ROOT:
        # Observed, not documented: certutil -verify -v on current Windows dumps a chain to
        # a trusted root with CERT_TRUST_HAS_PREFERRED_ISSUER (0x100) on every element
        # (leaf and intermediate 0x102, root 0x10c) and on the simple chain and chain
        # context; a CAPI2 event log shows a trusted root element at 0x10c too. Wine's
        # chain.c tests do not check the bit on elements, so they are no source for it.
        # Whether Windows sets it in a chain that ends in an untrusted root, or on
        # name-matched (rather than key-matched) elements, is unconfirmed; winpki sets it
        # on every element of a chain to a trusted root and nowhere else.
        for el in elements:
            el.TrustStatus.dwInfoStatus |= CERT_TRUST_HAS_PREFERRED_ISSUER
    simple = CERT_SIMPLE_CHAIN(elements)
    for el in elements:
        simple.TrustStatus.dwErrorStatus |= el.TrustStatus.dwErrorStatus
        simple.TrustStatus.dwInfoStatus |= el.TrustStatus.dwInfoStatus & ~_ELEMENT_ONLY_INFO
    if cand.kind != "root":
        # Chain-only bit (CERT_TRUST_STATUS docs); Wine chain.c tests record it on the
        # chain, not on the last element, for chain8 without its store and chain9.
        simple.TrustStatus.dwErrorStatus |= CERT_TRUST_IS_PARTIAL_CHAIN
    return CERT_CHAIN_CONTEXT([simple], CERT_TRUST_STATUS(simple.TrustStatus.dwErrorStatus,
                                                          simple.TrustStatus.dwInfoStatus))


def _quality(chain: CERT_CHAIN_CONTEXT) -> tuple:
    err = chain.TrustStatus.dwErrorStatus
    return (not err & CERT_TRUST_IS_EXPLICIT_DISTRUST,
            not err & CERT_TRUST_IS_NOT_SIGNATURE_VALID,
            not err & (CERT_TRUST_IS_PARTIAL_CHAIN | CERT_TRUST_IS_CYCLIC),
            not err & CERT_TRUST_IS_UNTRUSTED_ROOT,
            not err & CERT_TRUST_IS_NOT_TIME_VALID,
            not err & CERT_TRUST_IS_NOT_VALID_FOR_USAGE,
            not err & CERT_TRUST_INVALID_BASIC_CONSTRAINTS,
            -chain.rgpChain[0].cElement)


def _published_crl(machine, issuer_ctx, cert_ctx):
    r"""The CRL the machine's CA published for ``issuer_ctx`` (certutil -CRL writes it to
    C:\Windows\System32\CertSrv\CertEnroll\<CA name>.crl), verified with the issuer's key
    and current; None when there is none."""
    if machine is None or issuer_ctx is None:
        return None
    folder = machine.host_path(r"C:\Windows\System32\CertSrv\CertEnroll")
    if not folder.is_dir():
        return None
    issuer = issuer_ctx.x509
    now = datetime.datetime.now(datetime.timezone.utc)
    for path in sorted(folder.glob("*.crl")):
        try:
            crl = x509.load_der_x509_crl(path.read_bytes())
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
                continue
        except (ValueError, TypeError):
            continue
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            continue
        return crl
    return None


def _check_revocation(chain: CERT_CHAIN_CONTEXT, flags: int, stores: list | None = None,
                      when: datetime.datetime | None = None, machine=None) -> None:
    """Each checked element against CRLs (capi.crypt32.crl.check_certificate): those in
    ``stores`` (the additional store, CA and Root) and at ``file:`` CRL distribution
    points, signed by the element's issuer and current. Revoked ->
    CERT_TRUST_IS_REVOKED (CRYPT_E_REVOKED from the policies); no usable CRL for a
    certificate that names a CRL or OCSP location -> REVOCATION_STATUS_UNKNOWN |
    IS_OFFLINE_REVOCATION (CRYPT_E_REVOCATION_OFFLINE: nothing is fetched over a network);
    none named -> REVOCATION_STATUS_UNKNOWN (CRYPT_E_NO_REVOCATION_CHECK). Like Windows,
    revocation is only looked at when the chain is otherwise clean (Wine chain.c tests: a
    time-invalid chain built with the revocation flags carries no revocation bits)."""
    from capi.crypt32.crl import check_certificate

    if chain.TrustStatus.dwErrorStatus:
        return
    simple = chain.rgpChain[0]
    elements = simple.rgpElement
    if flags & CERT_CHAIN_REVOCATION_CHECK_CHAIN:
        checked = elements
    elif flags & CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT:
        checked = elements[:-1] if len(elements) > 1 else elements
    else:
        checked = elements[:1]
    for i, el in enumerate(checked):
        issuer = elements[i + 1].pCertContext if i + 1 < len(elements) else el.pCertContext
        result = check_certificate(el.pCertContext, issuer, stores or [], when=when,
                                   machine=machine)
        if result.status != "revoked":
            # The machine's own CA publishes its CRL to CertEnroll (certutil -CRL); its
            # certificates name no distribution point, so that CRL is read here.
            crl = _published_crl(machine, issuer, el.pCertContext)
            if crl is not None:
                if crl.get_revoked_certificate_by_serial_number(
                        el.pCertContext.x509.serial_number) is None:
                    continue
                result = dataclasses.replace(result, status="revoked")
        if result.status == "good":
            continue
        if result.status == "revoked":
            bits = CERT_TRUST_IS_REVOKED
        else:
            bits = CERT_TRUST_REVOCATION_STATUS_UNKNOWN
            if result.status == "offline":
                bits |= CERT_TRUST_IS_OFFLINE_REVOCATION
        el.TrustStatus.dwErrorStatus |= bits
        simple.TrustStatus.dwErrorStatus |= bits
        chain.TrustStatus.dwErrorStatus |= bits


def build_chain(machine: Machine, cert: CertContext, *, location: str = "CurrentUser",
                token: Token | None = None, time: int | datetime.datetime | None = None,
                additional_store: CertStore | None = None,
                usage: CERT_USAGE_MATCH | list[str] | None = None,
                flags: int = 0) -> CERT_CHAIN_CONTEXT:
    """Pythonic CertGetCertificateChain: ``usage`` may be a list of EKU OIDs (AND)."""
    if isinstance(usage, (list, tuple)):
        usage = CERT_USAGE_MATCH(USAGE_MATCH_TYPE_AND, list(usage))
    if location == "CurrentUser" and token is None:
        from capi.crypt32.store_kinds import resolve_token

        token = resolve_token(machine, None)
    return ChainEngine(machine, location, token=token).build(
        cert, time=time, additional_store=additional_store, usage=usage, flags=flags)


# ---------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------


def _first_element_with(chain: CERT_CHAIN_CONTEXT, bits: int) -> tuple[int, int]:
    for ci, simple in enumerate(chain.rgpChain):
        for ei, el in enumerate(simple.rgpElement):
            if el.TrustStatus.dwErrorStatus & bits:
                return ci, ei
    for ci, simple in enumerate(chain.rgpChain):
        if simple.TrustStatus.dwErrorStatus & bits:
            return ci, -1  # a chain-only bit (partial chain) names no element
    return -1, -1


def _status(chain, code: int, bits: int, *, element: bool = True) -> CERT_CHAIN_POLICY_STATUS:
    ci, ei = _first_element_with(chain, bits)
    return CERT_CHAIN_POLICY_STATUS(code, ci, ei if element else -1)


def _revocation_unknown(chain: CERT_CHAIN_CONTEXT, flags: int) -> CERT_CHAIN_POLICY_STATUS | None:
    for ci, simple in enumerate(chain.rgpChain):
        last = simple.cElement - 1
        for ei, el in enumerate(simple.rgpElement):
            err = el.TrustStatus.dwErrorStatus
            if not err & CERT_TRUST_REVOCATION_STATUS_UNKNOWN:
                continue
            if ei == 0:
                ignore = CERT_CHAIN_POLICY_IGNORE_END_REV_UNKNOWN_FLAG
            elif ei == last and el.TrustStatus.dwInfoStatus & CERT_TRUST_IS_SELF_SIGNED:
                ignore = CERT_CHAIN_POLICY_IGNORE_ROOT_REV_UNKNOWN_FLAG
            else:
                ignore = CERT_CHAIN_POLICY_IGNORE_CA_REV_UNKNOWN_FLAG
            if flags & ignore:
                continue
            code = (CRYPT_E_REVOCATION_OFFLINE if err & CERT_TRUST_IS_OFFLINE_REVOCATION
                    else CRYPT_E_NO_REVOCATION_CHECK)
            return CERT_CHAIN_POLICY_STATUS(code, ci, ei)
    return None


def _chain_checks(chain: CERT_CHAIN_CONTEXT, *, ssl: bool, flags: int,
                  checks: int) -> CERT_CHAIN_POLICY_STATUS:
    """The checks BASE and SSL share, in the order Windows reports them (Wine chain.c
    tests basePolicyCheck/sslPolicyCheck: a bad signature wins over an untrusted root,
    which wins over an expired certificate; ALLOW_UNKNOWN_CA then yields CERT_E_EXPIRED)."""
    err = chain.TrustStatus.dwErrorStatus
    if err & CERT_TRUST_IS_EXPLICIT_DISTRUST:
        return _status(chain, TRUST_E_EXPLICIT_DISTRUST, CERT_TRUST_IS_EXPLICIT_DISTRUST)
    if err & CERT_TRUST_IS_NOT_SIGNATURE_VALID:
        return _status(chain, TRUST_E_CERT_SIGNATURE, CERT_TRUST_IS_NOT_SIGNATURE_VALID)
    unknown_ca_ok = flags & CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG or (
        ssl and checks & SECURITY_FLAG_IGNORE_UNKNOWN_CA)
    if err & CERT_TRUST_IS_UNTRUSTED_ROOT and not unknown_ca_ok:
        return _status(chain, CERT_E_UNTRUSTEDROOT, CERT_TRUST_IS_UNTRUSTED_ROOT)
    if err & (CERT_TRUST_IS_CYCLIC | CERT_TRUST_IS_PARTIAL_CHAIN):
        # Wine chain.c tests (chain9, partial and cyclic): BASE reports CERT_E_CHAINING
        # and SSL CERT_E_UNTRUSTEDROOT, both at element -1.
        return _status(chain, CERT_E_UNTRUSTEDROOT if ssl else CERT_E_CHAINING,
                       CERT_TRUST_IS_CYCLIC | CERT_TRUST_IS_PARTIAL_CHAIN, element=False)
    time_ok = flags & CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG or (
        ssl and checks & SECURITY_FLAG_IGNORE_CERT_DATE_INVALID)
    if err & CERT_TRUST_IS_NOT_TIME_VALID and not time_ok:
        return _status(chain, CERT_E_EXPIRED, CERT_TRUST_IS_NOT_TIME_VALID)
    usage_ok = flags & CERT_CHAIN_POLICY_IGNORE_WRONG_USAGE_FLAG or (
        ssl and checks & SECURITY_FLAG_IGNORE_WRONG_USAGE)
    if err & CERT_TRUST_IS_NOT_VALID_FOR_USAGE and not usage_ok:
        return _status(chain, CERT_E_WRONG_USAGE, CERT_TRUST_IS_NOT_VALID_FOR_USAGE)
    if err & CERT_TRUST_INVALID_BASIC_CONSTRAINTS and not (
            flags & CERT_CHAIN_POLICY_IGNORE_INVALID_BASIC_CONSTRAINTS_FLAG):
        return _status(chain, TRUST_E_BASIC_CONSTRAINTS, CERT_TRUST_INVALID_BASIC_CONSTRAINTS)
    # The codes whose Windows texts name these conditions: CERT_E_CRITICAL ("an unknown
    # extension that is marked 'critical'") and CERT_E_INVALID_NAME ("not included in the
    # permitted list or is explicitly excluded").
    if err & CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT:
        return _status(chain, CERT_E_CRITICAL, CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT)
    if err & _NAME_CONSTRAINT_BITS:
        return _status(chain, CERT_E_INVALID_NAME, _NAME_CONSTRAINT_BITS)
    revocation_ignored = ssl and checks & SECURITY_FLAG_IGNORE_REVOCATION
    if err & CERT_TRUST_IS_REVOKED and not revocation_ignored:
        return _status(chain, CRYPT_E_REVOKED, CERT_TRUST_IS_REVOKED)
    if err & CERT_TRUST_REVOCATION_STATUS_UNKNOWN and not revocation_ignored:
        found = _revocation_unknown(chain, flags)
        if found is not None:
            return found
    return CERT_CHAIN_POLICY_STATUS()


def _dns_label_match(pattern: str, server: str) -> bool:
    """A SAN dNSName: exact, or '*.' + the rest after the server name's first label."""
    pattern, server = pattern.lower(), server.lower()
    if pattern.startswith("*"):
        dot = server.find(".")
        return dot >= 0 and server[dot:] == pattern[1:]
    return pattern == server


def _common_name_match(allowed: str, server: str) -> bool:
    """A subject CN: as many labels as the server name; '*' only at the end of a label
    and only in leading labels ('*.a.com' matches 'b.a.com', 'www*.a.com' 'www1.a.com')."""
    allowed = allowed.rstrip("\0").lower()
    server = server.lower()
    a_labels, s_labels = allowed.split("."), server.split(".")
    if len(a_labels) != len(s_labels):
        return False
    wildcards_allowed = True
    for a, s in zip(a_labels, s_labels, strict=True):
        star = a.find("*")
        if star >= 0:
            if star != len(a) - 1 or not wildcards_allowed:
                return False
            if not s.startswith(a[:-1]):
                return False
        else:
            wildcards_allowed = False
            if a != s:
                return False
    return True


def server_name_matches(cert: CertContext, server_name: str) -> bool:
    """The SSL policy's name check: SAN dNSNames when the extension is present (RFC 5280
    4.2.1.6), else the subject's CNs (Wine chain.c tests: openssl/winehq/foo chains)."""
    x = cert.x509
    try:
        san = x.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        return any(_dns_label_match(n, server_name) for n in san.get_values_for_type(x509.DNSName))
    dcs = x.subject.get_attributes_for_oid(x509.NameOID.DOMAIN_COMPONENT)
    if dcs:
        # Every label must be one of the subject's domainComponent values.
        values = {str(a.value).rstrip("\0").lower() for a in dcs}
        return all(label in values for label in server_name.lower().split("."))
    return any(_common_name_match(str(a.value), server_name)
               for a in x.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME))


def _ssl_policy(chain, para: CERT_CHAIN_POLICY_PARA | None) -> CERT_CHAIN_POLICY_STATUS:
    flags = para.dwFlags & 0xFFFFFFFF if para is not None else 0
    extra = para.pvExtraPolicyPara if para is not None else None
    checks = extra.fdwChecks & 0xFFFFFFFF if extra is not None else 0
    status = _chain_checks(chain, ssl=True, flags=flags, checks=checks)
    if status.dwError:
        return status
    # Wine chain.c tests (check_ssl_policy): the name is checked only for AUTHTYPE_SERVER
    # with a server name, and only once the chain itself passed.
    if extra is not None and extra.dwAuthType == AUTHTYPE_SERVER and extra.pwszServerName \
            and not checks & SECURITY_FLAG_IGNORE_CERT_CN_INVALID:
        if not server_name_matches(chain.leaf, extra.pwszServerName):
            return CERT_CHAIN_POLICY_STATUS(CERT_E_CN_NO_MATCH, 0, 0)
    return status


def _base_policy(chain, para: CERT_CHAIN_POLICY_PARA | None) -> CERT_CHAIN_POLICY_STATUS:
    flags = para.dwFlags & 0xFFFFFFFF if para is not None else 0
    return _chain_checks(chain, ssl=False, flags=flags, checks=0)


def _basic_constraints_policy(chain, para) -> CERT_CHAIN_POLICY_STATUS:
    if chain.TrustStatus.dwErrorStatus & CERT_TRUST_INVALID_BASIC_CONSTRAINTS:
        return _status(chain, TRUST_E_BASIC_CONSTRAINTS, CERT_TRUST_INVALID_BASIC_CONSTRAINTS)
    return CERT_CHAIN_POLICY_STATUS()


# Wine chain.c tests (check_authenticode_policy): Authenticode checks nothing beyond the
# base policy for chains that are not signed by the Microsoft test roots.
POLICIES = {
    CERT_CHAIN_POLICY_BASE: _base_policy,
    CERT_CHAIN_POLICY_AUTHENTICODE: _base_policy,
    CERT_CHAIN_POLICY_SSL: _ssl_policy,
    CERT_CHAIN_POLICY_BASIC_CONSTRAINTS: _basic_constraints_policy,
}


def verify_chain_policy(policy: int, chain: CERT_CHAIN_CONTEXT,
                        para: CERT_CHAIN_POLICY_PARA | None = None) -> CERT_CHAIN_POLICY_STATUS:
    """Pythonic CertVerifyCertificateChainPolicy; ERROR_FILE_NOT_FOUND for an unknown policy."""
    fn = POLICIES.get(policy) if isinstance(policy, int) else None
    if fn is None:
        # Wine chain.c tests (testVerifyCertChainPolicy): a NULL or unknown policy OID.
        raise WinError(ERROR_FILE_NOT_FOUND, detail=f"no chain policy {policy!r}")
    return fn(chain, para)


# ---------------------------------------------------------------------------------------
# Facade
# ---------------------------------------------------------------------------------------




def _engine_for(hChainEngine) -> ChainEngine:
    from capi.host.context import current_machine, current_token

    if isinstance(hChainEngine, ChainEngine):
        return hChainEngine
    machine = current_machine()
    if hChainEngine is None or hChainEngine == HCCE_CURRENT_USER:
        return ChainEngine(machine, "CurrentUser", token=current_token(machine))
    if hChainEngine == HCCE_LOCAL_MACHINE:
        return ChainEngine(machine, "LocalMachine", token=current_token(machine))
    raise WinError(E_INVALIDARG, detail=f"chain engine {hChainEngine!r}")


@winapi
def CertCreateCertificateChainEngine(pConfig: CERT_CHAIN_ENGINE_CONFIG) -> ChainEngine:
    """CertCreateCertificateChainEngine: an engine over the current identity's stores
    (LocalMachine with CERT_CHAIN_USE_LOCAL_MACHINE_STORE). E_INVALIDARG without a config;
    CRYPT_E_NOT_FOUND when hRestrictedRoot holds a certificate the Root store does not
    (Wine chain.c testCreateCertChainEngine; Windows 10 reports ERROR_FILE_NOT_FOUND)."""
    from capi.host.context import current_machine, current_token

    if not isinstance(pConfig, CERT_CHAIN_ENGINE_CONFIG):
        raise WinError(E_INVALIDARG)
    machine = current_machine()
    location = "LocalMachine" if pConfig.dwFlags & CERT_CHAIN_USE_LOCAL_MACHINE_STORE \
        else "CurrentUser"
    engine = ChainEngine(machine, location, token=current_token(machine),
                         additional_stores=pConfig.rghAdditionalStore,
                         exclusive_root=pConfig.hExclusiveRoot,
                         restricted_root=pConfig.hRestrictedRoot)
    if pConfig.hRestrictedRoot is not None:
        root = engine._open("Root")
        try:
            for ctx in pConfig.hRestrictedRoot:
                if root.find_sha1(ctx.sha1) is None:
                    raise WinError(CRYPT_E_NOT_FOUND, detail="restricted root not in Root")
        finally:
            root.close()
    return engine


def CertFreeCertificateChainEngine(hChainEngine: ChainEngine | int | None) -> None:
    """CertFreeCertificateChainEngine (the HCCE_* defaults are never freed)."""
    if isinstance(hChainEngine, ChainEngine):
        hChainEngine.close()


@winapi
def CertGetCertificateChain(hChainEngine: ChainEngine | int | None, pCertContext: CertContext,
                            pTime: int | datetime.datetime | None,
                            hAdditionalStore: CertStore | None, pChainPara: CERT_CHAIN_PARA,
                            dwFlags: int = 0, pvReserved: Any = None) -> CERT_CHAIN_CONTEXT:
    """CertGetCertificateChain: the chain context (output parameter returned).

    ``hChainEngine`` None/HCCE_CURRENT_USER, HCCE_LOCAL_MACHINE or an engine from
    CertCreateCertificateChainEngine; ``pTime`` None (now), a datetime or a FILETIME int.
    Raises E_INVALIDARG without pChainPara or pCertContext (Wine chain.c testGetCertChain)
    or with an unknown engine handle. Chain problems are not failures: they are the
    CERT_TRUST_* bits of the returned context.
    """
    if pChainPara is None or pCertContext is None:
        raise WinError(E_INVALIDARG)
    if not isinstance(pCertContext, CertContext):
        raise WinError(E_INVALIDARG, detail="pCertContext is not a CERT_CONTEXT")
    engine = _engine_for(hChainEngine)
    return engine.build(pCertContext, time=pTime, additional_store=hAdditionalStore,
                        usage=pChainPara.RequestedUsage, flags=dwFlags & 0xFFFFFFFF)


def CertDuplicateCertificateChain(pChainContext: CERT_CHAIN_CONTEXT | None
                                  ) -> CERT_CHAIN_CONTEXT | None:
    """CertDuplicateCertificateChain: the same context, one more reference."""
    if pChainContext is not None:
        pChainContext._refs += 1
    return pChainContext


def CertFreeCertificateChain(pChainContext: CERT_CHAIN_CONTEXT | None) -> None:
    """CertFreeCertificateChain: drop a reference (NULL is ignored)."""
    if pChainContext is not None and pChainContext._refs > 0:
        pChainContext._refs -= 1


@winapi
def CertVerifyCertificateChainPolicy(pszPolicyOID: int | str, pChainContext: CERT_CHAIN_CONTEXT,
                                     pPolicyPara: CERT_CHAIN_POLICY_PARA | None = None,
                                     pPolicyStatus: CERT_CHAIN_POLICY_STATUS | None = None
                                     ) -> CERT_CHAIN_POLICY_STATUS:
    """CertVerifyCertificateChainPolicy: the CERT_CHAIN_POLICY_STATUS (also written into
    ``pPolicyStatus`` when given). As in C, a policy failure is not an exception: it is
    ``dwError`` (0 when the chain passes) with ``lChainIndex``/``lElementIndex`` of the
    failing element (-1 when none).

    Policies CERT_CHAIN_POLICY_BASE, AUTHENTICODE, SSL (pvExtraPolicyPara an
    SSL_EXTRA_CERT_CHAIN_POLICY_PARA) and BASIC_CONSTRAINTS. dwError values:
    TRUST_E_EXPLICIT_DISTRUST, TRUST_E_CERT_SIGNATURE, CERT_E_UNTRUSTEDROOT,
    CERT_E_CHAINING, CERT_E_EXPIRED, CERT_E_WRONG_USAGE, TRUST_E_BASIC_CONSTRAINTS,
    CRYPT_E_REVOKED, CRYPT_E_REVOCATION_OFFLINE, CRYPT_E_NO_REVOCATION_CHECK,
    CERT_E_CN_NO_MATCH. Raises ERROR_FILE_NOT_FOUND for an unknown policy and
    E_INVALIDARG without a chain context.
    """
    if isinstance(pszPolicyOID, str) and pszPolicyOID.isdigit():
        pszPolicyOID = int(pszPolicyOID)
    if pChainContext is None and pszPolicyOID in POLICIES:
        raise WinError(E_INVALIDARG)
    status = verify_chain_policy(pszPolicyOID, pChainContext, pPolicyPara)
    if pPolicyStatus is not None:
        pPolicyStatus.dwError = status.dwError
        pPolicyStatus.lChainIndex = status.lChainIndex
        pPolicyStatus.lElementIndex = status.lElementIndex
        return pPolicyStatus
    return status


__all__ = [
    "CERT_TRUST_STATUS", "CERT_ENHKEY_USAGE", "CERT_USAGE_MATCH", "CERT_CHAIN_PARA",
    "CERT_CHAIN_ELEMENT", "CERT_SIMPLE_CHAIN", "CERT_CHAIN_CONTEXT", "CERT_CHAIN_POLICY_PARA",
    "SSL_EXTRA_CERT_CHAIN_POLICY_PARA", "HTTPSPolicyCallbackData", "CERT_CHAIN_POLICY_STATUS",
    "CERT_CHAIN_ENGINE_CONFIG", "ChainEngine", "build_chain", "server_name_matches",
    "verify_chain_policy", "CertCreateCertificateChainEngine",
    "CertFreeCertificateChainEngine", "CertGetCertificateChain",
    "CertDuplicateCertificateChain", "CertFreeCertificateChain",
    "CertVerifyCertificateChainPolicy",
]

"""The one table of behaviour that differs between Windows versions.

Everything version-dependent reads a row of :data:`OS_VERSIONS`; no scattered ``if``s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from capi.constants import MS_KEY_STORAGE_PROVIDER, MS_STRONG_PROV


@dataclass(frozen=True)
class OSVersion:
    key: str
    product: str
    version: str  # major.minor.build
    # Where "All Users" application data lives: the MachineKeys root.
    program_data: str
    # Where user profiles live.
    users_root: str
    # Schannel refuses a CAPI key whose KeySpec is AT_SIGNATURE (the 0x80070520
    # article, scenario 3: seen on 2008; Windows 10 / 2016 Schannel accepts it, docs/windows-facts.md §2 #70).
    schannel_rejects_at_signature: bool
    # Event 36870 wording: "SSL" with lower-case hex (2012 text) vs "TLS" with upper-case
    # hex and the SSPI client line (2019 revision of the 0x80070520 article, docs/windows-facts.md §7).
    schannel_event_style: str  # "ssl" | "tls"
    # certreq without ProviderName (Microsoft certreq documentation).
    certreq_default_provider: str
    # IIS version shipped with the OS.
    iis_version: str
    # DefaultAppPool's identity: NetworkService on IIS 6 and 7.0; ApplicationPoolIdentity
    # (IIS APPPOOL\DefaultAppPool) from IIS 7.5 (2008 R2) on.
    default_app_pool_identity: str
    # certutil prints hashes with a space between bytes up to 2012 R2 ("32 b5 39 ..."; the
    # 0x80070520 article shows both forms) and as one lower-case hex string from Windows 10 / 2016 on.
    certutil_spaced_hashes: bool = False
    # The Application-log source of Certificate Services events: "CertSvc" in "Key
    # Archival and Management in Windows Server 2003" (Microsoft), the
    # Microsoft-Windows-CertificationAuthority provider from Windows Server 2008 on.
    ca_event_source: str = "Microsoft-Windows-CertificationAuthority"
    # PFX with PBES2 (AES-256) encryption and an HMAC-SHA256 MAC, OpenSSL 3's default: read
    # and, with PKCS12_EXPORT_PBES2_PARAMS "AES256-SHA256", written from Windows 10 1709 /
    # Server 2019 on (PKCS12_PBES2_EXPORT_PARAMS documentation, minimum supported server);
    # older versions fail the import with ERROR_INVALID_PASSWORD.
    pfx_pbes2_aes: bool = False
    # Schannel's server side: each protocol the version implements and whether it is
    # enabled by default ("enabled") or supported but disabled ("disabled"); a protocol
    # not listed is not supported at all (registry settings cannot turn it on). Sources:
    # "Protocols in TLS/SSL (Schannel SSP)" (Microsoft, the TLS/DTLS/pre-TLS tables) and,
    # for TLS 1.3, "TLS Cipher Suites in Windows Server 2022" (its TLS 1.3 suites are
    # enabled by default; no earlier server version lists one).
    schannel_protocols: tuple[tuple[str, str], ...] = ()
    # The cipher suites enabled by default, in Schannel's priority order, as Windows names
    # them ("TLS Cipher Suites in Windows <version>"; the suites "only used when the
    # application explicitly requests" are left out: http.sys does not request them).
    schannel_cipher_suites: tuple[str, ...] = ()
    # What http.sys does when IIS asks for a client certificate after a TLS 1.3 handshake
    # (sslFlags SslNegotiateCert/SslRequireCert, the binding's clientcertnegotiation off):
    # TLS 1.3 has no renegotiation. "reset": the TCP connection is reset (Windows Server
    # 2022 and Windows 11 before 24H2: ERR_CONNECTION_RESET); "not-supported": http.sys
    # returns ERROR_NOT_SUPPORTED to IIS, which answers HTTP 500.0 with error code
    # 0x80070032 from the IIS Web Core module (Windows 11 24H2 and Windows Server 2025).
    # Source: IIS support blog, "Addressing TLS 1.3 Compatibility Issues in IIS Express on
    # Windows 11" (Microsoft, 2025). Versions without TLS 1.3 never get there.
    httpsys_tls13_late_client_cert: str = "reset"
    # Schannel's SendTrustedIssuerList default (HKLM\...\SCHANNEL, value absent): whether a
    # server's CertificateRequest names the issuers it trusts. TRUE up to Windows Server
    # 2008 R2, FALSE from 2012 on ("TLS registry settings", Default Send Trusted Issuer List
    # behavior; "What's New in TLS/SSL (Schannel SSP)", Management of trusted issuers).
    schannel_sends_trusted_issuer_list: bool = True

    @property
    def major_minor(self) -> tuple[int, int]:
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)

    @property
    def ncrypt_key_length_properties(self) -> bool:
        """BCRYPT_SIGNATURE_LENGTH and BCRYPT_PUBLIC_KEY_LENGTH asked of an NCrypt key:
        NTE_NOT_SUPPORTED up to Windows 8 / Server 2012 (Wine ncrypt.c check_properties,
        the broken() status of those rows), a DWORD from Windows 8.1 / 2012 R2 on."""
        return self.major_minor >= (6, 3)


_XP_PD = r"C:\Documents and Settings\All Users\Application Data"
_XP_USERS = r"C:\Documents and Settings"
# "TLS Cipher Suites in Windows 7" = "... in Windows 8" = "... in Windows 8.1" (the same
# list and order once updates 3042058 / 2919355 are applied): Windows Server 2008 R2, 2012
# and 2012 R2. Windows Server 2003 and 2008 have no page in the sources at hand; they use
# this list (an approximation, see docs/windows-facts.md).
_WIN7_SUITES = (
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA_P256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA_P384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA_P256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA_P384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384_P384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256_P256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256_P384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384_P384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256_P256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256_P384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA_P256", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA_P384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA_P256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA_P384",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_RC4_128_MD5",
)
# "TLS Cipher Suites in Windows 10 v1607" (Windows Server 2016).
_1607_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_RC4_128_MD5",
)
# "TLS Cipher Suites in Windows 10 v1809" (Windows Server 2019): the v1607 list in the
# same order, less the DHE_RSA CBC suites, the DHE_DSS suites and RC4.
_1809_SUITES = tuple(
    s for s in _1607_SUITES
    if "_DHE_DSS_" not in s and "_RC4_" not in s
    and s not in ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"))
# "TLS Cipher Suites in Windows Server 2022": its two TLS 1.3 suites, then the v1809 list.
_2022_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256") + _1809_SUITES
# Server-side protocol states ("Protocols in TLS/SSL (Schannel SSP)"): Windows Server 2008
# SP2 and 2008 R2 implement TLS 1.1 and 1.2 but leave them disabled; SSL 2.0's server side
# is enabled up to 2008 R2 and disabled from 2012; SSL 3.0 is disabled and SSL 2.0 removed
# from 2016 (Windows 10 1607) on. Windows Server 2003 (not in the table) speaks SSL 2.0,
# SSL 3.0 and TLS 1.0.
# Elliptic-curve suites arrived with Windows Vista / Server 2008 (Schannel's ECC support);
# Windows Server 2003 keeps the rest of the list.
_2003_SUITES = tuple(s for s in _WIN7_SUITES if "_ECDHE_" not in s)
_P_2003 = (("SSL 2.0", "enabled"), ("SSL 3.0", "enabled"), ("TLS 1.0", "enabled"))
_P_2008 = _P_2003 + (("TLS 1.1", "disabled"), ("TLS 1.2", "disabled"))
_P_2012 = (("SSL 2.0", "disabled"), ("SSL 3.0", "enabled"), ("TLS 1.0", "enabled"),
           ("TLS 1.1", "enabled"), ("TLS 1.2", "enabled"))
_P_2016 = (("SSL 3.0", "disabled"), ("TLS 1.0", "enabled"), ("TLS 1.1", "enabled"),
           ("TLS 1.2", "enabled"))
_P_2022 = _P_2016 + (("TLS 1.3", "enabled"),)
# "TLS Cipher Suites in Windows Server 2025 and later" (the same list and order as "TLS
# Cipher Suites in Windows 11 v22H2 and later"): the two TLS 1.3 suites, then the v1809
# list less the DHE_RSA GCM suites and 3DES, which 2025 supports but no longer enables.
_2025_SUITES = tuple(
    s for s in _2022_SUITES
    if s not in ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                 "TLS_RSA_WITH_3DES_EDE_CBC_SHA"))
# Windows Server 2025's protocols are Server 2022's: "Protocols in TLS/SSL (Schannel SSP)"
# (its Windows Server 2025 rows, added after the release) lists TLS 1.0 to 1.3 enabled,
# client and server, and SSL 3.0 supported but disabled. Microsoft's "TLS 1.0 and TLS 1.1
# deprecation in Windows" announced TLS 1.0/1.1 "disabled by default" for Windows 11 and
# Windows Server Insider Preview releases in 2024; the released version's table does not
# say so (docs/windows-facts.md).
_P_2025 = _P_2022
_PD = r"C:\ProgramData"
_USERS = r"C:\Users"

_2003 = OSVersion("2003", "Windows Server 2003 R2", "5.2.3790", _XP_PD, _XP_USERS, True, "ssl", MS_STRONG_PROV, "6.0", "NetworkService", True, "CertSvc",
                  schannel_protocols=_P_2003, schannel_cipher_suites=_2003_SUITES)
_2008 = OSVersion("2008", "Windows Server 2008", "6.0.6002", _PD, _USERS, True, "ssl", MS_STRONG_PROV, "7.0", "NetworkService", True,
                  schannel_protocols=_P_2008, schannel_cipher_suites=_WIN7_SUITES)
# Each later version: the one before it, with what changed.
_2008R2 = replace(_2008, key="2008R2", product="Windows Server 2008 R2", version="6.1.7601",
                  iis_version="7.5", default_app_pool_identity="ApplicationPoolIdentity")
_2012 = replace(_2008R2, key="2012", product="Windows Server 2012", version="6.2.9200",
                schannel_rejects_at_signature=False,
                certreq_default_provider=MS_KEY_STORAGE_PROVIDER, iis_version="8.0",
                schannel_protocols=_P_2012, schannel_sends_trusted_issuer_list=False)
_2012R2 = replace(_2012, key="2012R2", product="Windows Server 2012 R2", version="6.3.9600",
                  iis_version="8.5")
_2016 = replace(_2012R2, key="2016", product="Windows Server 2016", version="10.0.14393",
                schannel_event_style="tls", iis_version="10.0", certutil_spaced_hashes=False,
                schannel_protocols=_P_2016, schannel_cipher_suites=_1607_SUITES)
_2019 = replace(_2016, key="2019", product="Windows Server 2019", version="10.0.17763",
                pfx_pbes2_aes=True, schannel_cipher_suites=_1809_SUITES)
_2022 = replace(_2019, key="2022", product="Windows Server 2022", version="10.0.20348",
                schannel_protocols=_P_2022, schannel_cipher_suites=_2022_SUITES)

# Windows Server 2025 (10.0.26100, the server release of Windows 11 24H2): IIS 10.0 still
# (no later IIS version exists), and http.sys's answer to a client certificate asked for
# after a TLS 1.3 handshake changed (httpsys_tls13_late_client_cert).
_2025 = replace(_2022, key="2025", product="Windows Server 2025", version="10.0.26100",
                schannel_protocols=_P_2025, schannel_cipher_suites=_2025_SUITES,
                httpsys_tls13_late_client_cert="not-supported")

OS_VERSIONS: dict[str, OSVersion] = {
    v.key: v for v in (_2003, _2008, _2008R2, _2012, _2012R2, _2016, _2019, _2022, _2025)
}

_ALIASES = {k.lower().replace(" ", ""): k for k in OS_VERSIONS}
_ALIASES.update({"2008 r2": "2008R2", "2012 r2": "2012R2"})


def os_version(name: str) -> OSVersion:
    key = _ALIASES.get(str(name).lower().replace(" ", ""), None)
    if key is None:
        raise ValueError(
            f"unknown os_version {name!r}; expected one of {', '.join(OS_VERSIONS)}"
        )
    return OS_VERSIONS[key]


__all__ = [
    "OSVersion", "OS_VERSIONS",
]

"""CryptFindOIDInfo over Windows' OID information table (crypt32).

The table below holds the facts Windows' table carries for each OID: its display name
(what certutil and the certificate UI print: "sha256RSA", "Server Authentication", "CN"),
its group, the CryptoAPI ALG_ID (hash, cipher, public key; a signature's hash), the
extra information (a signature's public-key ALG_ID; the string types an RDN attribute
may be encoded with) and the CNG algorithm names. Sources: the CryptFindOIDInfo and
CRYPT_OID_INFO documentation, the CertStrToName documentation's table of X.500 keys, and
the facts of Wine's dlls/crypt32/oid.c table, here as data.
"""

from __future__ import annotations

from dataclasses import dataclass

from capi import constants as C

_HASH, _ENCRYPT, _PUBKEY, _SIGN, _RDN, _EXT, _EKU, _POLICY = 1, 2, 3, 4, 5, 6, 7, 8

# ALG_IDs the table refers to (wincrypt.h)
_CALG_RC2, _CALG_RC4, _CALG_DES, _CALG_3DES = 0x6602, 0x6801, 0x6601, 0x6603
_CALG_AES_128, _CALG_AES_192, _CALG_AES_256 = 0x660E, 0x660F, 0x6610
_CALG_RSA_KEYX, _CALG_RSA_SIGN, _CALG_DSS_SIGN = 0xA400, 0x2400, 0x2200
_CALG_DH_SF = 0xAA01


@dataclass(frozen=True)
class CRYPT_OID_INFO:
    """CRYPT_OID_INFO: ``Algid`` is the union member (also ``dwValue``/``dwLength``);
    ``ExtraInfo`` a tuple of DWORDs (the C blob's contents)."""

    pszOID: str
    pwszName: str
    dwGroupId: int
    Algid: int = 0
    ExtraInfo: tuple[int, ...] = ()
    pwszCNGAlgid: str | None = None
    pwszCNGExtraAlgid: str | None = None

    @property
    def dwValue(self) -> int:
        return self.Algid

    @property
    def dwLength(self) -> int:
        return self.Algid

    @property
    def cbSize(self) -> int:
        return 40


def _e(oid, name, group, algid=0, extra=(), cng=None, cng_extra=None):
    return CRYPT_OID_INFO(oid, name, group, algid, tuple(extra), cng, cng_extra)


_PRINTABLE_ONLY = (C.CERT_RDN_PRINTABLE_STRING,)
_IA5_ONLY = (C.CERT_RDN_IA5_STRING,)
_IA5_UTF8 = (C.CERT_RDN_IA5_STRING, C.CERT_RDN_UTF8_STRING)
_NUMERIC_ONLY = (C.CERT_RDN_NUMERIC_STRING,)

TABLE: tuple[CRYPT_OID_INFO, ...] = (
    # hashes
    _e("1.3.14.3.2.26", "sha1", _HASH, C.CALG_SHA1, cng="SHA1"),
    _e("1.2.840.113549.2.5", "md5", _HASH, C.CALG_MD5, cng="MD5"),
    _e("1.2.840.113549.2.4", "md4", _HASH, C.CALG_MD4, cng="MD4"),
    _e("1.2.840.113549.2.2", "md2", _HASH, C.CALG_MD2, cng="MD2"),
    _e("2.16.840.1.101.3.4.2.1", "sha256", _HASH, C.CALG_SHA_256, cng="SHA256"),
    _e("2.16.840.1.101.3.4.2.2", "sha384", _HASH, C.CALG_SHA_384, cng="SHA384"),
    _e("2.16.840.1.101.3.4.2.3", "sha512", _HASH, C.CALG_SHA_512, cng="SHA512"),
    # symmetric ciphers
    _e("1.2.840.113549.3.2", "rc2", _ENCRYPT, _CALG_RC2, cng="RC2"),
    _e("1.2.840.113549.3.4", "rc4", _ENCRYPT, _CALG_RC4, cng="RC4"),
    _e("1.3.14.3.2.7", "des", _ENCRYPT, _CALG_DES, cng="DES"),
    _e("1.2.840.113549.3.7", "3des", _ENCRYPT, _CALG_3DES, cng="3DES"),
    _e("2.16.840.1.101.3.4.1.2", "aes128", _ENCRYPT, _CALG_AES_128, cng="AES"),
    _e("2.16.840.1.101.3.4.1.22", "aes192", _ENCRYPT, _CALG_AES_192, cng="AES"),
    _e("2.16.840.1.101.3.4.1.42", "aes256", _ENCRYPT, _CALG_AES_256, cng="AES"),
    # public keys
    _e("1.2.840.113549.1.1.1", "RSA", _PUBKEY, _CALG_RSA_KEYX, cng="RSA"),
    _e("1.2.840.113549.1.1.10", "RSASSA-PSS", _PUBKEY, C.CALG_OID_INFO_PARAMETERS,
       cng="CryptOIDInfoParameters", cng_extra="RSA"),
    _e("1.2.840.10040.4.1", "DSA", _PUBKEY, _CALG_DSS_SIGN, cng="DSA"),
    _e("1.2.840.10046.2.1", "DH", _PUBKEY, _CALG_DH_SF, cng="DH"),
    _e("1.2.840.10045.2.1", "ECC", _PUBKEY, C.CALG_OID_INFO_PARAMETERS, cng="ECC"),
    _e("1.3.14.3.2.12", "DSA", _PUBKEY, _CALG_DSS_SIGN, cng="DSA"),
    # signatures: Algid is the hash, ExtraInfo the public-key ALG_ID
    _e("1.2.840.113549.1.1.5", "sha1RSA", _SIGN, C.CALG_SHA1, (_CALG_RSA_SIGN,), "SHA1", "RSA"),
    _e("1.2.840.113549.1.1.11", "sha256RSA", _SIGN, C.CALG_SHA_256, (_CALG_RSA_SIGN,), "SHA256", "RSA"),
    _e("1.2.840.113549.1.1.12", "sha384RSA", _SIGN, C.CALG_SHA_384, (_CALG_RSA_SIGN,), "SHA384", "RSA"),
    _e("1.2.840.113549.1.1.13", "sha512RSA", _SIGN, C.CALG_SHA_512, (_CALG_RSA_SIGN,), "SHA512", "RSA"),
    _e("1.2.840.113549.1.1.4", "md5RSA", _SIGN, C.CALG_MD5, (_CALG_RSA_SIGN,), "MD5", "RSA"),
    _e("1.2.840.113549.1.1.3", "md4RSA", _SIGN, C.CALG_MD4, (_CALG_RSA_SIGN,), "MD4", "RSA"),
    _e("1.2.840.113549.1.1.2", "md2RSA", _SIGN, C.CALG_MD2, (_CALG_RSA_SIGN,), "MD2", "RSA"),
    _e("1.2.840.113549.1.1.10", "RSASSA-PSS", _SIGN, C.CALG_OID_INFO_PARAMETERS,
       (_CALG_RSA_SIGN,), "CryptOIDInfoParameters", "RSA"),
    _e("1.3.14.3.2.29", "sha1RSA", _SIGN, C.CALG_SHA1, (_CALG_RSA_SIGN,), "SHA1", "RSA"),
    _e("1.3.14.3.2.27", "dsaSHA1", _SIGN, C.CALG_SHA1, (_CALG_DSS_SIGN,), "SHA1", "DSA"),
    _e("1.2.840.10040.4.3", "sha1DSA", _SIGN, C.CALG_SHA1, (_CALG_DSS_SIGN,), "SHA1", "DSA"),
    _e("1.2.840.10045.4.1", "sha1ECDSA", _SIGN, C.CALG_OID_INFO_CNG_ONLY, (), "SHA1", "ECDSA"),
    _e("1.2.840.10045.4.3.2", "sha256ECDSA", _SIGN, C.CALG_OID_INFO_CNG_ONLY, (), "SHA256", "ECDSA"),
    _e("1.2.840.10045.4.3.3", "sha384ECDSA", _SIGN, C.CALG_OID_INFO_CNG_ONLY, (), "SHA384", "ECDSA"),
    _e("1.2.840.10045.4.3.4", "sha512ECDSA", _SIGN, C.CALG_OID_INFO_CNG_ONLY, (), "SHA512", "ECDSA"),
    # RDN attributes (the CertStrToName keys); ExtraInfo lists the string types allowed,
    # none meaning PrintableString, then BMPString
    _e("2.5.4.3", "CN", _RDN),
    _e("2.5.4.7", "L", _RDN),
    _e("2.5.4.10", "O", _RDN),
    _e("2.5.4.11", "OU", _RDN),
    _e("1.2.840.113549.1.9.1", "E", _RDN, 0, _IA5_ONLY),
    _e("2.5.4.6", "C", _RDN, 0, _PRINTABLE_ONLY),
    _e("2.5.4.8", "S", _RDN),
    _e("2.5.4.8", "ST", _RDN),
    _e("2.5.4.9", "STREET", _RDN),
    _e("2.5.4.12", "T", _RDN),
    _e("2.5.4.12", "Title", _RDN),
    _e("2.5.4.42", "G", _RDN),
    _e("2.5.4.42", "GivenName", _RDN),
    _e("2.5.4.43", "I", _RDN),
    _e("2.5.4.43", "Initials", _RDN),
    _e("2.5.4.4", "SN", _RDN),
    _e("0.9.2342.19200300.100.1.25", "DC", _RDN, 0, _IA5_UTF8),
    _e("2.5.4.5", "SERIALNUMBER", _RDN, 0, _PRINTABLE_ONLY),
    _e("2.5.4.13", "Description", _RDN),
    _e("2.5.4.17", "PostalCode", _RDN),
    _e("2.5.4.18", "POBox", _RDN),
    _e("2.5.4.20", "Phone", _RDN, 0, _PRINTABLE_ONLY),
    _e("2.5.4.24", "X21Address", _RDN, 0, _NUMERIC_ONLY),
    _e("2.5.4.46", "dnQualifier", _RDN, 0, _PRINTABLE_ONLY),
    _e("1.2.840.113549.1.9.1", "Email", _RDN, 0, _IA5_ONLY),
    _e("0.9.2342.19200300.100.1.1", "UID", _RDN),
    # extensions and attributes
    _e("2.5.29.1", "Authority Key Identifier", _EXT),
    _e("2.5.29.7", "Subject Alternative Name", _EXT),
    _e("2.5.29.8", "Issuer Alternative Name", _EXT),
    _e("2.5.29.10", "Basic Constraints", _EXT),
    _e("2.5.29.14", "Subject Key Identifier", _EXT),
    _e("2.5.29.15", "Key Usage", _EXT),
    _e("2.5.29.17", "Subject Alternative Name", _EXT),
    _e("2.5.29.18", "Issuer Alternative Name", _EXT),
    _e("2.5.29.19", "Basic Constraints", _EXT),
    _e("2.5.29.20", "CRL Number", _EXT),
    _e("2.5.29.21", "CRL Reason Code", _EXT),
    _e("2.5.29.30", "Name Constraints", _EXT),
    _e("2.5.29.31", "CRL Distribution Points", _EXT),
    _e("2.5.29.32", "Certificate Policies", _EXT),
    _e("2.5.29.33", "Policy Mappings", _EXT),
    _e("2.5.29.35", "Authority Key Identifier", _EXT),
    _e("2.5.29.36", "Policy Constraints", _EXT),
    _e("2.5.29.37", "Enhanced Key Usage", _EXT),
    _e("1.3.6.1.5.5.7.1.1", "Authority Information Access", _EXT),
    _e("1.3.6.1.4.1.311.20.2", "Certificate Template Name", _EXT),
    _e("1.3.6.1.4.1.311.21.7", "Certificate Template Information", _EXT),
    _e("1.3.6.1.4.1.311.21.10", "Application Policies", _EXT),
    _e("1.3.6.1.4.1.311.21.1", "CA Version", _EXT),
    _e("2.16.840.1.113730.1.1", "Netscape Cert Type", _EXT),
    _e("1.2.840.113549.1.9.15", "SMIME Capabilities", _EXT),
    _e("1.2.840.113549.1.9.3", "Content Type", _EXT),
    _e("1.2.840.113549.1.9.4", "Message Digest", _EXT),
    _e("1.2.840.113549.1.9.5", "Signing Time", _EXT),
    # enhanced key usages
    _e("1.3.6.1.5.5.7.3.1", "Server Authentication", _EKU),
    _e("1.3.6.1.5.5.7.3.2", "Client Authentication", _EKU),
    _e("1.3.6.1.5.5.7.3.3", "Code Signing", _EKU),
    _e("1.3.6.1.5.5.7.3.4", "Secure Email", _EKU),
    _e("1.3.6.1.5.5.7.3.5", "IP security end system", _EKU),
    _e("1.3.6.1.5.5.7.3.6", "IP security tunnel termination", _EKU),
    _e("1.3.6.1.5.5.7.3.7", "IP security user", _EKU),
    _e("1.3.6.1.5.5.7.3.8", "Time Stamping", _EKU),
    _e("1.3.6.1.5.5.7.3.9", "OCSP Signing", _EKU),
    _e("1.3.6.1.5.2.3.5", "KDC Authentication", _EKU),
    _e("1.3.6.1.4.1.311.10.3.1", "Microsoft Trust List Signing", _EKU),
    _e("1.3.6.1.4.1.311.10.3.4", "Encrypting File System", _EKU),
    _e("1.3.6.1.4.1.311.10.3.4.1", "File Recovery", _EKU),
    _e("1.3.6.1.4.1.311.10.3.5", "Windows Hardware Driver Verification", _EKU),
    _e("1.3.6.1.4.1.311.10.3.12", "Document Signing", _EKU),
    _e("1.3.6.1.4.1.311.10.3.13", "Lifetime Signing", _EKU),
    _e("1.3.6.1.4.1.311.20.2.1", "Certificate Request Agent", _EKU),
    _e("1.3.6.1.4.1.311.20.2.2", "Smart Card Logon", _EKU),
    _e("1.3.6.1.4.1.311.21.5", "Private Key Archival", _EKU),
    _e("1.3.6.1.4.1.311.21.6", "Key Recovery Agent", _EKU),
    _e("1.3.6.1.4.1.311.54.1.2", "Remote Desktop Authentication", _EKU),
    _e("2.5.29.37.0", "Any Purpose", _EKU),
    # policies
    _e("2.5.29.32.0", "All issuance policies", _POLICY),
)

_GROUP_MASK = 0x0000FFFF


def _in_group(info: CRYPT_OID_INFO, group: int) -> bool:
    group &= _GROUP_MASK
    return not group or info.dwGroupId == group


# The OID and name lookups (CertStrToName, CertNameToStr and the dumps make them per
# attribute) go through indexes that keep the table's order among equal keys.
_BY_OID: dict[str, tuple[CRYPT_OID_INFO, ...]] = {}
_BY_NAME: dict[str, tuple[CRYPT_OID_INFO, ...]] = {}
for _info in TABLE:
    _BY_OID[_info.pszOID] = _BY_OID.get(_info.pszOID, ()) + (_info,)
    _BY_NAME[_info.pwszName.lower()] = _BY_NAME.get(_info.pwszName.lower(), ()) + (_info,)
del _info


def _first_in_group(candidates, group: int) -> CRYPT_OID_INFO | None:
    for info in candidates:
        if _in_group(info, group):
            return info
    return None


def find_oid_info(key_type: int, key, group: int = 0) -> CRYPT_OID_INFO | None:
    key_type &= 0xFFFF
    if key_type == C.CRYPT_OID_INFO_OID_KEY:
        return _first_in_group(_BY_OID.get(key, ()) if isinstance(key, str) else (), group)
    if key_type == C.CRYPT_OID_INFO_NAME_KEY:
        return _first_in_group(_BY_NAME.get(key.lower(), ()) if isinstance(key, str) else (),
                               group)
    for info in TABLE:
        if not _in_group(info, group):
            continue
        if key_type == C.CRYPT_OID_INFO_OID_KEY and info.pszOID == key:
            return info
        if key_type == C.CRYPT_OID_INFO_NAME_KEY and isinstance(key, str) \
                and info.pwszName.lower() == key.lower():
            return info
        if key_type == C.CRYPT_OID_INFO_ALGID_KEY and info.Algid == key \
                and info.Algid not in (C.CALG_OID_INFO_CNG_ONLY, C.CALG_OID_INFO_PARAMETERS):
            return info
        if key_type == C.CRYPT_OID_INFO_SIGN_KEY and info.dwGroupId == _SIGN:
            hash_alg, pub_alg = key
            if info.Algid == hash_alg and info.ExtraInfo[:1] == (pub_alg,):
                return info
        if key_type == C.CRYPT_OID_INFO_CNG_ALGID_KEY and isinstance(key, str) \
                and (info.pwszCNGAlgid or "").lower() == key.lower():
            return info
        if key_type == C.CRYPT_OID_INFO_CNG_SIGN_KEY and info.dwGroupId == _SIGN:
            hash_name, pub_name = key
            if (info.pwszCNGAlgid or "").lower() == str(hash_name).lower() and \
                    (info.pwszCNGExtraAlgid or "").lower() == str(pub_name).lower():
                return info
    return None


def CryptFindOIDInfo(dwKeyType: int, pvKey: str | int | tuple[int, int] | tuple[str, str],
                     dwGroupId: int = 0) -> CRYPT_OID_INFO | None:
    """CryptFindOIDInfo -> CRYPT_OID_INFO or None.

    Keys: CRYPT_OID_INFO_OID_KEY (a dotted OID), _NAME_KEY (a name, case-insensitive:
    "sha256RSA", "Server Authentication", "CN"), _ALGID_KEY (an ALG_ID), _SIGN_KEY (a
    (hash ALG_ID, public-key ALG_ID) pair), _CNG_ALGID_KEY ("SHA256"), _CNG_SIGN_KEY (a
    (hash name, public-key name) pair). ``dwGroupId`` 0 searches every group; its high
    word (key-length flags) is ignored.
    """
    return find_oid_info(int(dwKeyType or 0), pvKey, int(dwGroupId or 0))


__all__ = ["CRYPT_OID_INFO", "CryptFindOIDInfo"]

"""crypt32.dll: certificates, stores, chains, PFX, names and strings, DPAPI, and the
certificate-to-key functions.

One module per area, as Wine lays out dlls/crypt32: ``cert`` (certificate contexts),
``store`` (CertOpenStore and the store functions) over ``store_kinds`` (the store object
model), ``chain``, ``pfx``, ``str`` (CertNameToStr, CertGetNameString), ``protect``
(CryptProtectData), ``keyacquire`` (CryptAcquireCertificatePrivateKey), ``encode``
(CryptEncodeObjectEx/CryptDecodeObjectEx, with the decoded structures in ``structs``),
``base64`` (CryptBinaryToString/CryptStringToBinary), ``certhelpers`` (signing and
verifying certificates, public key info, hashes, comparisons, usages), ``oidinfo``
(CryptFindOIDInfo over Windows' OID table).
"""

from __future__ import annotations

from capi.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, (
    "capi.crypt32.context", "capi.crypt32.cert", "capi.crypt32.store_kinds",
    "capi.crypt32.store", "capi.crypt32.chain", "capi.crypt32.pfx", "capi.crypt32.str",
    "capi.crypt32.protect", "capi.crypt32.keyacquire", "capi.crypt32.encode",
    "capi.crypt32.structs", "capi.crypt32.base64", "capi.crypt32.certhelpers",
    "capi.crypt32.oidinfo",
))

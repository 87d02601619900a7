"""advapi32.dll: the CryptoAPI provider functions (CryptAcquireContext, keys, hashes —
``crypt``) and the account and security-descriptor functions (``security``).
"""

from __future__ import annotations

from capi.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, ("capi.advapi32.crypt", "capi.advapi32.security",
                                                   "capi.advapi32.enumalgs"))

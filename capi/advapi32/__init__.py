"""advapi32.dll: the CryptoAPI provider functions (CryptAcquireContext, keys, hashes —
``crypt``) and the account and security-descriptor functions (``security``).
"""

from __future__ import annotations

from capi.advapi32.crypt import *  # noqa: F403
from capi.advapi32.crypt import __all__ as _crypt_all
from capi.advapi32.security import *  # noqa: F403
from capi.advapi32.security import __all__ as _security_all

__all__ = [*_crypt_all, *_security_all]

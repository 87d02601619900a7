"""crypt32.dll: certificates, stores, chains, PFX, names and strings, DPAPI, and the
certificate-to-key functions.

One module per area, as Wine lays out dlls/crypt32: ``cert`` (certificate contexts),
``store`` (CertOpenStore and the store functions) over ``store_kinds`` (the store object
model), ``chain``, ``pfx``, ``str`` (CertNameToStr, CertGetNameString), ``protect``
(CryptProtectData), ``keyacquire`` (CryptAcquireCertificatePrivateKey).
"""

from __future__ import annotations

from capi.crypt32.cert import *  # noqa: F403
from capi.crypt32.cert import __all__ as _cert_all
from capi.crypt32.chain import *  # noqa: F403
from capi.crypt32.chain import __all__ as _chain_all
from capi.crypt32.context import *  # noqa: F403
from capi.crypt32.context import __all__ as _context_all
from capi.crypt32.keyacquire import *  # noqa: F403
from capi.crypt32.keyacquire import __all__ as _keyacquire_all
from capi.crypt32.pfx import *  # noqa: F403
from capi.crypt32.pfx import __all__ as _pfx_all
from capi.crypt32.protect import *  # noqa: F403
from capi.crypt32.protect import __all__ as _protect_all
from capi.crypt32.store import *  # noqa: F403
from capi.crypt32.store import __all__ as _store_all
from capi.crypt32.store_kinds import *  # noqa: F403
from capi.crypt32.store_kinds import __all__ as _store_kinds_all
from capi.crypt32.str import *  # noqa: F403
from capi.crypt32.str import __all__ as _str_all

__all__ = [*_context_all, *_cert_all, *_store_kinds_all, *_store_all, *_chain_all, *_pfx_all, *_str_all, *_protect_all, *_keyacquire_all]

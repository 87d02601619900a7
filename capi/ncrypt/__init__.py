"""ncrypt.dll: CNG key storage (NCryptOpenStorageProvider, NCryptOpenKey, …).
"""

from __future__ import annotations

from capi.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, ("capi.ncrypt.keystorage", "capi.ncrypt.providers",
                                                 "capi.ncrypt.agreement", "capi.ncrypt.translate"))

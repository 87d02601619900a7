"""ncrypt.dll: CNG key storage (NCryptOpenStorageProvider, NCryptOpenKey, …).
"""

from __future__ import annotations

from capi.ncrypt.keystorage import *  # noqa: F403
from capi.ncrypt.keystorage import __all__ as _keystorage_all

__all__ = [*_keystorage_all]

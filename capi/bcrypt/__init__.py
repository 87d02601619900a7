"""bcrypt.dll: CNG primitives (algorithm providers, hashes and HMAC, symmetric and
asymmetric keys, secret agreement and key derivation) over the cryptography package.

Functions return their outputs; a failing NTSTATUS raises capi.errors.WinError whose
``.status`` (and ``.hresult``) is the unsigned NTSTATUS. Depends only on capi.errors,
capi.constants and cryptography."""

from . import algorithms, consts, derive, hash, keys, structs
from .algorithms import *  # noqa: F403
from .consts import *  # noqa: F403
from .derive import *  # noqa: F403
from .hash import *  # noqa: F403
from .keys import *  # noqa: F403
from .structs import *  # noqa: F403

__all__ = [*consts.__all__, *structs.__all__, *algorithms.__all__, *hash.__all__,
           *keys.__all__, *derive.__all__]

"""bcrypt.dll: CNG primitives (algorithm providers, hashes and HMAC, symmetric and
asymmetric keys, secret agreement and key derivation) over the cryptography package.

Functions return their outputs; a failing NTSTATUS raises capi.errors.WinError whose
``.status`` (and ``.hresult``) is the unsigned NTSTATUS. Depends only on capi.errors,
capi.constants and cryptography."""

from __future__ import annotations

from capi.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, (
    "capi.bcrypt.consts", "capi.bcrypt.structs", "capi.bcrypt.algorithms", "capi.bcrypt.hash",
    "capi.bcrypt.keys", "capi.bcrypt.derive",
))

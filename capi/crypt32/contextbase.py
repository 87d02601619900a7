"""What certificate and CRL contexts share: a context enumerated from a collection is a
link to the member store's context (``_root`` follows the links), and its access state is
that of the store it lives in (CERT_ACCESS_STATE_PROP_ID)."""

from __future__ import annotations

__all__ = ["LinkedContext"]


class LinkedContext:
    """Base of CertContext and CrlContext (which keep their own ``__slots__``, among them
    ``_source`` and ``hCertStore``)."""

    __slots__ = ()

    def _root(self):
        ctx = self
        while ctx._source is not None:
            ctx = ctx._source
        return ctx

    def access_state(self) -> int:
        """CERT_ACCESS_STATE_PROP_ID: the store's access state (0 for no store)."""
        fn = getattr(self._root().hCertStore, "access_state", None)
        return fn() if fn else 0

"""Schannel, http.sys and IIS on the simulated machine."""

from .credentials import SCHANNEL_CRED, AcquireCredentialsHandle, FreeCredentialsHandle
from .serve import serve

__all__ = ["AcquireCredentialsHandle", "FreeCredentialsHandle", "SCHANNEL_CRED", "serve"]

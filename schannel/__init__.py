"""Schannel, http.sys and IIS on the simulated machine."""

from schannel.credentials import SCHANNEL_CRED, AcquireCredentialsHandle, FreeCredentialsHandle
from schannel.serve import serve

__all__ = ["AcquireCredentialsHandle", "FreeCredentialsHandle", "SCHANNEL_CRED", "serve"]

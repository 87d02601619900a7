"""winpki's CryptoAPI/CNG facade: Win32 names, constants, structures and error codes.

``from capi import *`` gives a port of C# P/Invoke code everything it names. Each Win32
function lives in the package of the DLL that exports it (``capi.crypt32``,
``capi.advapi32``, ``capi.ncrypt``, ``capi.bcrypt``); the simulated host (``capi.host``) and the byte
formats (``capi.formats``) sit below the key providers (``csp``). The object model behind
the facade (Machine, stores, contexts, security descriptors) is public too, for code that
is not a port.
"""

from __future__ import annotations

from capi import constants as _constants
from capi.lazy import lazy_exports

# Names are imported on first use (capi.lazy), so a tool that needs one DLL's functions
# does not load the others; ``from capi import *`` still sees everything.
_exports, __dir__ = lazy_exports(__name__, (
    "capi.errors", "capi.host.accounts", "capi.host.security", "capi.formats.serialized",
    "capi.formats.x500", "capi.crypt32", "capi.advapi32", "capi.ncrypt", "capi.bcrypt",
    # httpapi.dll lives with http.sys in schannel; a port still finds it here (names
    # only: no layer imports the capi root).
    "schannel.httpapi", "schannel.secur32",
), {
    "Machine": "capi.host.machine", "current_machine": "capi.host.context",
    "current_token": "capi.host.context", "run_as": "capi.host.context",
    "use_machine": "capi.host.context", "OS_VERSIONS": "capi.host.osversions",
    "OSVersion": "capi.host.osversions",
    **{n: "capi.constants" for n in dir(_constants) if n[:1].isupper() or n.startswith("sz")},
})


def __getattr__(name: str):
    if name == "__version__":  # read from the installed distribution on first use
        from capi.version import __version__

        return __version__
    return _exports(name)

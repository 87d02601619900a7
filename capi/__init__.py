"""winpki's CryptoAPI/CNG facade: Win32 names, constants, structures and error codes.

``from capi import *`` gives a port of C# P/Invoke code everything it names. Each Win32
function lives in the package of the DLL that exports it (``capi.crypt32``,
``capi.advapi32``, ``capi.ncrypt``); the simulated host (``capi.host``) and the byte
formats (``capi.formats``) sit below the key providers (``csp``). The object model behind
the facade (Machine, stores, contexts, security descriptors) is public too, for code that
is not a port.
"""

from capi import constants as _constants
from capi.advapi32 import *  # noqa: F403
from capi.advapi32 import __all__ as _advapi32_all
from capi.constants import *  # noqa: F403
from capi.crypt32 import *  # noqa: F403
from capi.crypt32 import __all__ as _crypt32_all
from capi.errors import *  # noqa: F403
from capi.errors import __all__ as _errors_all
from capi.formats.serialized import *  # noqa: F403
from capi.formats.serialized import __all__ as _serialized_all
from capi.formats.x500 import *  # noqa: F403
from capi.formats.x500 import __all__ as _x500_all
from capi.host.accounts import *  # noqa: F403
from capi.host.accounts import __all__ as _accounts_all
from capi.host.context import current_machine, current_token, run_as, use_machine
from capi.host.machine import Machine
from capi.host.osversions import OS_VERSIONS, OSVersion
from capi.host.security import *  # noqa: F403
from capi.host.security import __all__ as _security_all
from capi.ncrypt import *  # noqa: F403
from capi.ncrypt import __all__ as _ncrypt_all

__all__ = [
    "Machine", "current_machine", "current_token", "run_as", "use_machine", "OS_VERSIONS",
    "OSVersion",
    *[n for n in dir(_constants) if n[:1].isupper() or n.startswith("sz")],
    *_errors_all, *_accounts_all, *_security_all, *_serialized_all, *_x500_all,
    *_crypt32_all, *_advapi32_all, *_ncrypt_all,
]

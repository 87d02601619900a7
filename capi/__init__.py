"""winpki's CryptoAPI/CNG facade: Win32 names, constants, structures and error codes.

``from capi import *`` gives a port of C# P/Invoke code everything it names. The object
model behind the facade (Machine, stores, contexts, providers, security descriptors) is
public too, for code that is not a port.
"""

from . import constants as _constants
from .certs import *  # noqa: F403
from .certs import __all__ as _certs_all
from .chain import *  # noqa: F403
from .chain import __all__ as _chain_all
from .constants import *  # noqa: F403
from .cryptoapi import *  # noqa: F403
from .cryptoapi import __all__ as _cryptoapi_all
from .dpapi import *  # noqa: F403
from .dpapi import __all__ as _dpapi_all
from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .identity import *  # noqa: F403
from .identity import __all__ as _identity_all
from .keyacquire import *  # noqa: F403
from .keyacquire import __all__ as _keyacquire_all
from .machine import Machine, current_machine, current_token, run_as, use_machine
from .names import *  # noqa: F403
from .names import __all__ as _names_all
from .ncrypt import *  # noqa: F403
from .ncrypt import __all__ as _ncrypt_all
from .osversions import OS_VERSIONS, OSVersion
from .pfx import *  # noqa: F403
from .pfx import __all__ as _pfx_all
from .security import *  # noqa: F403
from .security import __all__ as _security_all
from .serialization import *  # noqa: F403
from .serialization import __all__ as _serialization_all
from .stores import *  # noqa: F403
from .stores import __all__ as _stores_all

__all__ = [
    "Machine", "current_machine", "current_token", "run_as", "use_machine", "OS_VERSIONS",
    "OSVersion",
    *[n for n in dir(_constants) if n[:1].isupper() or n.startswith("sz")],
    *_errors_all, *_identity_all, *_security_all, *_certs_all, *_serialization_all,
    *_names_all, *_stores_all, *_dpapi_all, *_cryptoapi_all, *_ncrypt_all, *_pfx_all, *_keyacquire_all,
    *_chain_all,
]

"""crypt32 beyond stores: encode/decode of wincrypt.h structures and string conversion."""

from .base64 import *  # noqa: F401,F403
from .base64 import __all__ as _base64_all
from .encode import *  # noqa: F401,F403
from .encode import __all__ as _encode_all
from .structs import *  # noqa: F401,F403
from .structs import __all__ as _structs_all

__all__ = [*_encode_all, *_structs_all, *_base64_all]

"""The event log, as Schannel and the tools import it: the store itself lives in
:mod:`capi.host.eventlog` (below the services, so Certificate Services can write to it)."""

from capi.host.eventlog import *  # noqa: F403
from capi.host.eventlog import __all__  # noqa: F401

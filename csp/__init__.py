"""Key providers: the provider interface, the registry, the Microsoft software CSPs and
KSP, and the key files they keep in the simulated key folders."""

from csp.base import CspContainer, CspProvider, KeyInfo, KeyPair, KeyScope, KspKey, KspProvider
from csp.keyfiles import capi_unique_name, cng_unique_name
from csp.registry import (
    all_providers,
    csp_list,
    default_provider_name,
    find_csp,
    find_ksp,
    get_provider,
    ksp_list,
    register_provider,
    unregister_provider,
)

__all__ = [
    "CspContainer", "CspProvider", "KeyInfo", "KeyPair", "KeyScope", "KspKey", "KspProvider",
    "capi_unique_name", "cng_unique_name", "all_providers", "csp_list", "default_provider_name",
    "find_csp", "find_ksp", "get_provider", "ksp_list", "register_provider",
    "unregister_provider",
]

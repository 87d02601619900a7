"""Providers by Windows name and type (docs/architecture.md "Providers"; Microsoft Learn
"Cryptographic Provider Names" and "Cryptographic Provider Types"), plus those registered
at run time.

Built-in providers are one line each in :func:`_builtins`; a provider registered at run
time (a PKCS#11 token, for instance) is a row of the machine's ``providers`` table naming
a factory ``"module:callable"`` that builds it from its JSON config.
"""

from __future__ import annotations

import importlib
import json
import threading

from capi.constants import (
    MS_DEF_RSA_SCHANNEL_PROV,
    MS_ENH_RSA_AES_PROV,
    MS_KEY_STORAGE_PROVIDER,
    MS_SCARD_PROV,
    MS_SMART_CARD_KEY_STORAGE_PROVIDER,
    MS_STRONG_PROV,
    PROV_RSA_AES,
    PROV_RSA_FULL,
    PROV_RSA_SCHANNEL,
)
from capi.errors import (
    NTE_BAD_PROV_TYPE,
    NTE_KEYSET_NOT_DEF,
    NTE_PROV_TYPE_NO_MATCH,
    NTE_PROV_TYPE_NOT_DEF,
    SCARD_E_NO_READERS_AVAILABLE,
    WinError,
)
from csp.base import CspProvider, KspProvider
from csp.ksp import SoftwareKSP
from csp.software import builtin_csps

# HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider Types\Type NNN (TypeName, Name).
PROVIDER_TYPES = {
    PROV_RSA_FULL: ("RSA Full (Signature and Key Exchange)", MS_STRONG_PROV),
    PROV_RSA_SCHANNEL: ("RSA SChannel", MS_DEF_RSA_SCHANNEL_PROV),
    PROV_RSA_AES: ("RSA Full and AES", MS_ENH_RSA_AES_PROV),
}


class UnboundSmartCardCSP(CspProvider):
    """A smart-card CSP with no reader: every container operation fails as Windows does
    on a machine without a smart-card reader (SCARD_E_NO_READERS_AVAILABLE). A PKCS#11
    binding replaces it through :func:`register_provider`."""

    hardware = True

    def __init__(self, name: str, prov_type: int):
        self.name = name
        self.prov_type = prov_type

    def _fail(self, *args, **kwargs):
        raise WinError(SCARD_E_NO_READERS_AVAILABLE, detail=f"{self.name} is not bound to a token")

    open_container = create_container = delete_container = verify_context = _fail

    def enum_containers(self, scope):
        self._fail()

    def hash_algorithms(self):
        from csp.software import _HASHES_RSA_FULL

        return dict(_HASHES_RSA_FULL)

    def key_lengths(self, alg_id):
        return (1024, 4096, 1024, 512)


class UnboundSmartCardKSP(KspProvider):
    """The Smart Card KSP with no reader (see :class:`UnboundSmartCardCSP`)."""

    hardware = True

    def __init__(self, name: str):
        self.name = name

    def _fail(self, *args, **kwargs):
        raise WinError(SCARD_E_NO_READERS_AVAILABLE, detail=f"{self.name} is not bound to a token")

    open_key = create_key = import_key = _fail

    def enum_keys(self, scope):
        self._fail()

    def algorithms(self):
        return ("RSA",)


def _builtins() -> list[CspProvider | KspProvider]:
    return [
        *builtin_csps(),
        UnboundSmartCardCSP(MS_SCARD_PROV, PROV_RSA_FULL),
        SoftwareKSP(MS_KEY_STORAGE_PROVIDER),
        UnboundSmartCardKSP(MS_SMART_CARD_KEY_STORAGE_PROVIDER),
    ]


_lock = threading.Lock()
_BUILTINS: dict[str, CspProvider | KspProvider] = {}
_runtime_cache: dict[tuple[str, str], tuple[str, object]] = {}


def _builtin_map() -> dict[str, CspProvider | KspProvider]:
    with _lock:
        if not _BUILTINS:
            for p in _builtins():
                _BUILTINS[p.name.lower()] = p
        return _BUILTINS


def _runtime_rows(machine) -> list[tuple[str, str, str]]:
    return list(machine.db.execute("SELECT name, kind, config FROM providers ORDER BY name"))


def _build(machine, name: str, kind: str, config: str):
    key = (str(machine.path), name.lower())
    cached = _runtime_cache.get(key)
    if cached is not None and cached[0] == config:
        return cached[1]
    cfg = json.loads(config)
    module, _, attr = cfg["factory"].partition(":")
    provider = getattr(importlib.import_module(module), attr)(name, cfg)
    _runtime_cache[key] = (config, provider)
    return provider


def provider_key(name: str, kind: str) -> str:
    r"""The HKLM key a provider registration is: CSPs under
    ``SOFTWARE\Microsoft\Cryptography\Defaults\Provider\<name>``, KSPs under
    ``SYSTEM\CurrentControlSet\Control\Cryptography\Providers\<name>``."""
    from capi.host.objectsd import CSP_PROVIDERS_KEY, KSP_PROVIDERS_KEY

    return f"{CSP_PROVIDERS_KEY if kind == 'csp' else KSP_PROVIDERS_KEY}\\{name}"


def _caller(machine, caller):
    from capi.host.context import current_token

    return caller if caller is not None else current_token(machine)


def check_can_register(machine, name: str, kind: str, caller=None) -> None:
    """Registering needs KEY_CREATE_SUB_KEY on the providers key (re-binding an existing
    registration KEY_SET_VALUE on its own key): SYSTEM and Administrators only, by the
    HKLM defaults. ERROR_ACCESS_DENIED otherwise."""
    from capi.host.objectsd import KEY_CREATE_SUB_KEY, KEY_SET_VALUE, check_registry_access

    caller = _caller(machine, caller)
    key = provider_key(name, kind)
    row = machine.db.execute("SELECT kind FROM providers WHERE name = ?", (name,)).fetchone()
    if row is not None:
        check_registry_access(machine, provider_key(name, row[0]), caller, KEY_SET_VALUE)
        if row[0] == kind:
            return
    check_registry_access(machine, key.rpartition("\\")[0], caller, KEY_CREATE_SUB_KEY)


def register_provider(machine, name: str, kind: str, factory: str, *, caller=None,
                      **config) -> None:
    """Register (or re-bind) a provider by name: ``factory`` is "module:callable" called as
    ``callable(name, config)``; ``config`` must be JSON-serializable. Persists in the
    machine's ``providers`` table; a built-in name (a smart-card provider) is re-bound.
    Access-checked as ``caller`` (default: the current identity), see
    :func:`check_can_register`; the new key is owned by its creator."""
    from capi.host.objectsd import create_registry_key_sd, delete_registry_key_sd

    if kind not in ("csp", "ksp"):
        raise ValueError("kind must be 'csp' or 'ksp'")
    caller = _caller(machine, caller)
    check_can_register(machine, name, kind, caller)
    text = json.dumps({"factory": factory, **config}, sort_keys=True)
    with machine.transaction() as db:
        old = db.execute("SELECT kind FROM providers WHERE name = ?", (name,)).fetchone()
        db.execute("INSERT OR REPLACE INTO providers(name, kind, config) VALUES (?, ?, ?)",
                   (name, kind, text))
        if old is None or old[0] != kind:
            if old is not None:
                delete_registry_key_sd(machine, provider_key(name, old[0]))
            create_registry_key_sd(machine, provider_key(name, kind), caller)


def unregister_provider(machine, name: str, *, caller=None) -> None:
    """Remove a registration: DELETE on its key, as ``caller`` (default: the current
    identity); ERROR_ACCESS_DENIED otherwise."""
    from capi.host.objectsd import check_registry_access, delete_registry_key_sd
    from capi.host.security import DELETE

    caller = _caller(machine, caller)
    row = machine.db.execute("SELECT kind FROM providers WHERE name = ?", (name,)).fetchone()
    if row is not None:
        check_registry_access(machine, provider_key(name, row[0]), caller, DELETE)
    with machine.transaction() as db:
        db.execute("DELETE FROM providers WHERE name = ?", (name,))
        if row is not None:
            delete_registry_key_sd(machine, provider_key(name, row[0]))
    _runtime_cache.pop((str(machine.path), name.lower()), None)


def all_providers(machine) -> list[CspProvider | KspProvider]:
    """Every provider of ``machine``: built-ins, with run-time registrations overriding."""
    found = dict(_builtin_map())
    for name, kind, config in _runtime_rows(machine):
        found[name.lower()] = _build(machine, name, kind, config)
    return list(found.values())


def get_provider(machine, name: str) -> CspProvider | KspProvider | None:
    row = machine.db.execute("SELECT name, kind, config FROM providers WHERE name = ?",
                             (name,)).fetchone()
    if row is not None:
        return _build(machine, *row)
    return _builtin_map().get(name.lower())


def csp_list(machine) -> list[CspProvider]:
    """CSPs in the order CryptEnumProviders and certutil -csplist list them (by name)."""
    return sorted((p for p in all_providers(machine) if p.kind == "csp"), key=lambda p: p.name.lower())


def ksp_list(machine) -> list[KspProvider]:
    builtin_order = [p.name.lower() for p in _builtins() if p.kind == "ksp"]
    ksps = [p for p in all_providers(machine) if p.kind == "ksp"]
    return sorted(ksps, key=lambda p: (builtin_order.index(p.name.lower())
                                       if p.name.lower() in builtin_order else len(builtin_order),
                                       p.name.lower()))


def default_provider_name(prov_type: int) -> str:
    entry = PROVIDER_TYPES.get(prov_type)
    if entry is None:
        raise WinError(NTE_PROV_TYPE_NOT_DEF)
    return entry[1]


def find_csp(machine, name: str | None, prov_type: int) -> CspProvider:
    """The CSP CryptAcquireContext opens: type 0 -> NTE_BAD_PROV_TYPE; unknown name ->
    NTE_KEYSET_NOT_DEF (Wine advapi32 tests/crypt.c); wrong type -> NTE_PROV_TYPE_NO_MATCH."""
    if prov_type == 0:
        raise WinError(NTE_BAD_PROV_TYPE)
    if not name:
        name = default_provider_name(prov_type)
    provider = get_provider(machine, name)
    if provider is None or provider.kind != "csp":
        raise WinError(NTE_KEYSET_NOT_DEF, detail=f"provider {name!r}")
    if provider.prov_type != prov_type:
        raise WinError(NTE_PROV_TYPE_NO_MATCH)
    return provider


def find_ksp(machine, name: str | None) -> KspProvider:
    provider = get_provider(machine, name or MS_KEY_STORAGE_PROVIDER)
    if provider is None or provider.kind != "ksp":
        from capi.errors import NTE_BAD_PROVIDER

        raise WinError(NTE_BAD_PROVIDER, detail=f"provider {name!r}")
    return provider

"""Providers bound to PKCS#11 tokens, and smart-card removal and insertion.

- :func:`add_pkcs11` registers a provider (an HSM provider under the user's name, or one of
  the two Microsoft smart-card providers) bound to a module and a token label, in the
  machine's ``providers`` table through ``csp.registry``. A registration PIN is kept
  DPAPI-protected for the machine, never in clear.
- The token's presence is machine state (table ``pkcs11_tokens``): :func:`remove_token`
  pulls the card — this process's session on it is closed, open handles answer
  SCARD_W_REMOVED_CARD and new opens SCARD_E_NO_SMARTCARD — and :func:`insert_token` puts
  it back; :func:`card_certificates` reads the certificates on the card, for the
  Certificate Propagation service (``capi.certprop``) above the providers.
"""

from __future__ import annotations

import base64
import json
import os

from capi.constants import MS_SCARD_PROV, MS_SMART_CARD_KEY_STORAGE_PROVIDER, PROV_RSA_FULL
from capi.errors import (
    ERROR_INVALID_PARAMETER,
    NTE_BAD_PROVIDER,
    NTE_KEYSET_NOT_DEF,
    SCARD_E_NO_SMARTCARD,
    win32_failure,
)
from csp import pkcs11 as p11

__all__ = [
    "SMART_CARD_PROVIDERS", "TokenRegistration", "add_pkcs11", "list_pkcs11", "remove_provider",
    "remove_token", "insert_token", "token_state", "card_certificates", "build_provider",
]

FACTORY = "csp.tokens:build_provider"
SMART_CARD_PROVIDERS = {MS_SCARD_PROV.lower(): "csp", MS_SMART_CARD_KEY_STORAGE_PROVIDER.lower(): "ksp"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pkcs11_tokens (
    label      TEXT PRIMARY KEY,        -- PKCS#11 token label (case-sensitive)
    present    INTEGER NOT NULL DEFAULT 1,
    insertion  INTEGER NOT NULL DEFAULT 0  -- bumped on every re-insertion
);
"""


def _schema(machine) -> None:
    machine.ensure_schema("pkcs11_tokens", _SCHEMA)


# ---------------------------------------------------------------------------------------
# Presence
# ---------------------------------------------------------------------------------------


# How long a token's presence, read for every operation on it, is kept before it is read
# again when nothing in this process has written to the machine since: a card pulled by
# another process (winpki token remove in another shell) is noticed within this time, one
# pulled through the same Machine at once.
TOKEN_STATE_REREAD_SECONDS = 0.1


def token_state(machine, label: str) -> tuple[bool, int]:
    """(present, insertion number) of the token named ``label`` on ``machine``."""
    return machine.cached(("pkcs11-token-state", label), TOKEN_STATE_REREAD_SECONDS,
                          lambda: _read_token_state(machine, label))


def _read_token_state(machine, label: str) -> tuple[bool, int]:
    _schema(machine)
    row = machine.db.execute("SELECT present, insertion FROM pkcs11_tokens WHERE label = ?",
                             (label,)).fetchone()
    if row is None:
        return True, 0
    return bool(row[0]), int(row[1])


def _require_bound(machine, label: str) -> None:
    """Only a token some registered provider uses can be pulled or put back."""
    if not any(reg.token_label == label for reg in list_pkcs11(machine)):
        raise win32_failure(SCARD_E_NO_SMARTCARD, detail=f"no provider is bound to token {label!r}")


def _require_token_change(machine, caller) -> None:
    r"""The token's presence and insertion count are the machine's smart-card state, kept
    with the smart-card database (HKLM\SOFTWARE\Microsoft\Cryptography\Calais\
    SmartCards): changing them needs KEY_SET_VALUE there — SYSTEM and Administrators
    only. ERROR_ACCESS_DENIED for anyone else, before anything changes."""
    from capi.host.context import current_token
    from capi.host.objectsd import KEY_SET_VALUE, SMART_CARDS_KEY, check_registry_access

    caller = caller if caller is not None else current_token(machine)
    check_registry_access(machine, SMART_CARDS_KEY, caller, KEY_SET_VALUE)


def remove_token(machine, label: str, *, caller=None) -> None:
    """Pull the card: the token is unavailable until :func:`insert_token`. ``caller`` is
    the access token acting (default: the current identity)."""
    _schema(machine)
    _require_token_change(machine, caller)
    _require_bound(machine, label)
    with machine.transaction() as db:
        db.execute("INSERT INTO pkcs11_tokens(label, present, insertion) VALUES (?, 0, 0) "
                   "ON CONFLICT(label) DO UPDATE SET present = 0", (label,))
    p11.drop_token(label)


def insert_token(machine, label: str, *, caller=None) -> None:
    """Put the card back (the Certificate Propagation service, capi.certprop, then copies
    its certificates to CurrentUser\\My). Access-checked as ``caller`` (default: the
    current identity), like :func:`remove_token`."""
    _schema(machine)
    _require_token_change(machine, caller)
    _require_bound(machine, label)
    with machine.transaction() as db:
        db.execute("INSERT INTO pkcs11_tokens(label, present, insertion) VALUES (?, 1, 1) "
                   "ON CONFLICT(label) DO UPDATE SET present = 1, insertion = insertion + 1 "
                   "WHERE present = 0", (label,))


# ---------------------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------------------


class TokenRegistration:
    """One provider bound to a token, as listed by ``winpki provider list``."""

    def __init__(self, name: str, kind: str, config: dict):
        self.name = name
        self.kind = kind
        self.module = config["module"]
        self.token_label = config["token_label"]
        self.prov_type = config.get("prov_type")
        self.has_pin = bool(config.get("pin"))

    def __repr__(self) -> str:
        return f"<TokenRegistration {self.name!r} {self.kind} {self.token_label!r}>"


def _protect_pin(machine, pin: str) -> str:
    from capi.constants import CRYPTPROTECT_LOCAL_MACHINE
    from capi.host import dpapi

    blob = dpapi.protect(machine, pin.encode("utf-8"), user_sid=None, description="PKCS#11 PIN",
                         flags=CRYPTPROTECT_LOCAL_MACHINE)
    return base64.b64encode(blob).decode("ascii")


def _unprotect_pin(machine, text: str) -> str:
    from capi.host import dpapi

    data, _ = dpapi.unprotect(machine, base64.b64decode(text), user_sid=None)
    return data.decode("utf-8")


# Environment variables PKCS#11 modules read at initialisation, kept with a registration.
MODULE_ENVIRONMENT = ("SOFTHSM2_CONF",)


def add_pkcs11(machine, name: str, module: str, token_label: str, *, pin: str | None = None,
               kind: str = "ksp", caller=None) -> TokenRegistration:
    """Register ``name`` as a provider on the token ``token_label`` of PKCS#11 ``module``.

    The module is loaded and the token looked up now, so a wrong path or label fails at
    registration: NTE_PROV_DLL_NOT_FOUND, NTE_PROVIDER_DLL_FAIL, SCARD_E_NO_SMARTCARD; a
    PIN is verified by logging in (SCARD_W_WRONG_CHV, SCARD_W_CHV_BLOCKED). The Microsoft
    smart-card providers keep their own kind; a CSP gets PROV_RSA_FULL. Registering is
    access-checked as ``caller`` (default: the current identity): only SYSTEM and
    Administrators may (ERROR_ACCESS_DENIED)."""
    from csp import registry

    if not name or not isinstance(name, str) or not token_label or not module:
        raise win32_failure(ERROR_INVALID_PARAMETER, detail="name, module and token label are required")
    kind = SMART_CARD_PROVIDERS.get(name.lower(), kind)
    if kind not in ("ksp", "csp"):
        raise win32_failure(ERROR_INVALID_PARAMETER, detail=f"kind {kind!r}")
    builtin = registry._builtin_map().get(name.lower())
    if builtin is not None and name.lower() not in SMART_CARD_PROVIDERS:
        # The software providers are not re-bindable.
        raise win32_failure(NTE_BAD_PROVIDER, detail=f"{name!r} is a software provider")
    if builtin is not None:
        name = builtin.name
    # A registration is an HKLM key: refused before the module is even loaded.
    from capi.host.context import current_token

    caller = caller if caller is not None else current_token(machine)
    registry.check_can_register(machine, name, kind, caller)
    mod = p11.load_module(module)
    mod.find_token(token_label)
    if pin is not None:
        mod.link(token_label).login(pin, p11.registration_key(machine, name))
    config = {"module": mod.path, "token_label": token_label}
    environment = {k: os.path.abspath(os.environ[k]) for k in MODULE_ENVIRONMENT if os.environ.get(k)}
    if environment:
        # The module's configuration (SoftHSM2 reads SOFTHSM2_CONF at C_Initialize), so a
        # later process finds the token without the variable exported again.
        config["environment"] = environment
    if kind == "csp":
        config["prov_type"] = PROV_RSA_FULL
    if pin is not None:
        config["pin"] = _protect_pin(machine, pin)
    registry.register_provider(machine, name, kind, FACTORY, caller=caller, **config)
    _schema(machine)
    with machine.transaction() as db:
        db.execute("INSERT OR IGNORE INTO pkcs11_tokens(label, present, insertion) VALUES (?, 1, 0)",
                   (token_label,))
    return TokenRegistration(name, kind, config)


def _rows(machine):
    for name, kind, text in machine.db.execute("SELECT name, kind, config FROM providers ORDER BY name"):
        try:
            config = json.loads(text)
        except ValueError:
            continue
        if config.get("factory") == FACTORY:
            yield name, kind, config


def list_pkcs11(machine) -> list[TokenRegistration]:
    """The providers bound to tokens on ``machine``."""
    return [TokenRegistration(n, k, c) for n, k, c in _rows(machine)]


def remove_provider(machine, name: str, *, caller=None) -> None:
    """Unregister a token-bound provider; NTE_KEYSET_NOT_DEF if there is none by that name
    (CryptAcquireContext's code for "the requested provider does not exist");
    ERROR_ACCESS_DENIED unless ``caller`` (default: the current identity) may delete
    its registration key."""
    from csp import registry

    if not any(n.lower() == str(name).lower() for n, _, _ in _rows(machine)):
        raise win32_failure(NTE_KEYSET_NOT_DEF, detail=f"no token provider {name!r}")
    registry.unregister_provider(machine, name, caller=caller)


def build_provider(name: str, config: dict):
    """The registry's factory: a Pkcs11CSP or Pkcs11KSP for a ``providers`` row."""
    for key, value in (config.get("environment") or {}).items():
        os.environ.setdefault(key, value)  # an exported value wins; set before the module loads
    blob = config.get("pin")
    source = (lambda machine: _unprotect_pin(machine, blob)) if blob else None
    binding = p11.TokenBinding(config["module"], config["token_label"], None, token_state, source)
    if config.get("prov_type") is not None:
        return p11.Pkcs11CSP(name, int(config["prov_type"]), binding)
    return p11.Pkcs11KSP(name, binding)


# ---------------------------------------------------------------------------------------
# Certificate propagation
# ---------------------------------------------------------------------------------------


def card_certificates(machine, provider_name: str):
    """(provider, [(container, KeySpec, DER)]) of the certificates on the token bound to
    ``provider_name``, read as the current identity. SCARD_E_NO_SMARTCARD while the card
    is out; NTE_KEYSET_NOT_DEF for a provider bound to no token."""
    from csp import registry
    from csp.base import KeyScope
    from csp.identity import token_for

    provider = registry.get_provider(machine, provider_name)
    if provider is None or not isinstance(provider, (p11.Pkcs11CSP, p11.Pkcs11KSP)):
        raise win32_failure(NTE_KEYSET_NOT_DEF, detail=f"{provider_name!r} is not bound to a token")
    present, _ = token_state(machine, provider.binding.token_label)
    if not present:
        raise win32_failure(SCARD_E_NO_SMARTCARD)
    scope = KeyScope(machine, token_for(machine), False, True)
    handle = p11.TokenHandle(provider, scope, None)
    found: list[tuple[str, int, bytes]] = []
    try:
        for name in provider._names(scope):
            for spec, slot in handle.read_slots(name).items():
                if slot.certificate:
                    found.append((name, spec, slot.certificate))
    finally:
        handle.close()
    return provider, found

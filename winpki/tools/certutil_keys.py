"""certutil's key verbs: -csplist, -key [-csp name] [-user], -delkey [-csp name] [-user].

-csplist follows certutil's output: "Provider Name: ..." and "Provider Type: N - PROV_..."
for each CSP (alphabetical, as the registry enumerates them), then the KSPs by name only
(certutil -csplist output quoted in projectacrn's and nCipher's documentation).
"""

from __future__ import annotations

from capi import constants as C
from capi.errors import NTE_BAD_KEYSET, WinError
from winpki.tools.certutil import Invocation, verb

_TYPE_NAMES = {C.PROV_RSA_FULL: "PROV_RSA_FULL", C.PROV_RSA_SIG: "PROV_RSA_SIG",
               C.PROV_DSS: "PROV_DSS", C.PROV_RSA_SCHANNEL: "PROV_RSA_SCHANNEL",
               C.PROV_DSS_DH: "PROV_DSS_DH", C.PROV_DH_SCHANNEL: "PROV_DH_SCHANNEL",
               C.PROV_RSA_AES: "PROV_RSA_AES"}


def _machine():
    from capi.host.context import current_machine

    return current_machine()


@verb("csplist", "", max_args=0)
def csplist(inv: Invocation):
    from csp.registry import csp_list, ksp_list

    machine = _machine()
    entries = []
    for p in csp_list(machine):
        entries.append([f"Provider Name: {p.name}",
                        f"Provider Type: {p.prov_type} - {_TYPE_NAMES.get(p.prov_type, '')}".rstrip(" -")])
    for p in ksp_list(machine):
        entries.append([f"Provider Name: {p.name}"])
    for i, lines in enumerate(entries):
        for line in lines:
            inv.print(line)
        if i + 1 < len(entries):
            inv.print()


def _provider(name: str | None):
    from csp.registry import default_provider_name, get_provider

    machine = _machine()
    provider = get_provider(machine, name or default_provider_name(C.PROV_RSA_FULL))
    if provider is None:
        from capi.errors import NTE_KEYSET_NOT_DEF

        raise WinError(NTE_KEYSET_NOT_DEF, detail=f"provider {name!r}")
    return provider


@verb("key", "[-csp Provider] [-user] [KeyContainerName | -]", max_args=1)
def key(inv: Invocation):
    from capi.advapi32 import crypt as capi_api
    from capi.ncrypt import keystorage as nc_api

    provider = _provider(inv.value("csp"))
    machine_flag = not inv.flag("user")
    wanted = inv.args[0] if inv.args and inv.args[0] != "-" else None
    # Layout as real output shows it (certutil -v -csp KSP -key, quoted in the k6ncrypt
    # README): the provider line, then each key's name and unique name indented two spaces.
    inv.print(f"{provider.name}:")
    if provider.kind == "ksp":
        with nc_api.NCryptOpenStorageProvider(provider.name, 0) as prov:
            flags = C.NCRYPT_MACHINE_KEY_FLAG if machine_flag else 0
            for info in nc_api.NCryptEnumKeys(prov, None, flags):
                if wanted and wanted.lower() != info.pszName.lower():
                    continue
                k = nc_api.NCryptOpenKey(prov, info.pszName, 0, flags)
                try:
                    unique = nc_api.NCryptGetProperty(k, C.NCRYPT_UNIQUE_NAME_PROPERTY)
                finally:
                    nc_api.NCryptFreeObject(k)
                inv.print(f"  {info.pszName}")
                inv.print(f"  {unique}")
                inv.print(f"  {info.pszAlgid}")
                inv.print()
        return None
    flags = C.CRYPT_VERIFYCONTEXT | (C.CRYPT_MACHINE_KEYSET if machine_flag else 0)
    names = []
    with capi_api.CryptAcquireContext(None, provider.name, provider.prov_type, flags) as prov:
        try:
            names.append(capi_api.CryptGetProvParam(prov, C.PP_ENUMCONTAINERS, C.CRYPT_FIRST))
            while True:
                names.append(capi_api.CryptGetProvParam(prov, C.PP_ENUMCONTAINERS, C.CRYPT_NEXT))
        except WinError:
            pass
    found = False
    for name in sorted(names, key=str.lower):
        if wanted and wanted.lower() != name.lower():
            continue
        found = True
        open_flags = C.CRYPT_SILENT | (C.CRYPT_MACHINE_KEYSET if machine_flag else 0)
        with capi_api.CryptAcquireContext(name, provider.name, provider.prov_type, open_flags) as prov:
            inv.print(f"  {name}")
            inv.print(f"  {capi_api.CryptGetProvParam(prov, C.PP_UNIQUE_CONTAINER)}")
            for spec, label in ((C.AT_KEYEXCHANGE, "AT_KEYEXCHANGE"), (C.AT_SIGNATURE, "AT_SIGNATURE")):
                try:
                    capi_api.CryptDestroyKey(capi_api.CryptGetUserKey(prov, spec))
                except WinError:
                    continue
                inv.print(f"  {label}")
        inv.print()
    if wanted and not found:
        raise WinError(NTE_BAD_KEYSET)
    return None


@verb("delkey", "[-csp Provider] [-user] KeyContainerName", min_args=1, max_args=1)
def delkey(inv: Invocation):
    from capi.advapi32 import crypt as capi_api
    from capi.ncrypt import keystorage as nc_api

    provider = _provider(inv.value("csp"))
    machine_flag = not inv.flag("user")
    name = inv.args[0]
    if provider.kind == "ksp":
        with nc_api.NCryptOpenStorageProvider(provider.name, 0) as prov:
            k = nc_api.NCryptOpenKey(prov, name, 0, C.NCRYPT_MACHINE_KEY_FLAG if machine_flag else 0)
            nc_api.NCryptDeleteKey(k, 0)
        return None
    flags = C.CRYPT_DELETEKEYSET | C.CRYPT_SILENT | (C.CRYPT_MACHINE_KEYSET if machine_flag else 0)
    capi_api.CryptAcquireContext(name, provider.name, provider.prov_type, flags)
    return None

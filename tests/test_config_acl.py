"""Machine configuration has the owner and DACL Windows gives it, and every change is
access-checked as the caller: IIS configuration (applicationHost.config), event-log
channels, provider and token registrations (HKLM), http.sys SSL bindings. A pool identity,
NETWORK SERVICE or a standard user changes nothing; the administrator still can.

Texts: appcmd's configuration error for a caller who cannot read the configuration
(redirection.config first) as mocked in microsoft/azure-pipelines-tasks' IISWebAppManagement
tests, exit code 5 ("Process 'appcmd.exe' exited with code '5'", MicrosoftLearning AZ-400
issue 200); wevtutil's "Failed to clear log <name>. Access is denied." (clong/DetectionLab
issue 171); channel access SDDL from Microsoft docs ("Troubleshoot issues with the Task
Scheduler service not starting": the System log's default channelAccess).
"""

import io

import pytest
from helpers_keys import install_server_cert
from test_cli_bad_input import snapshot

from capi import run_as
from capi.errors import ERROR_ACCESS_DENIED, NTE_BAD_KEYSET
from capi.host.accounts import create_local_user, resolve_token
from capi.host.objectsd import (
    APPLICATION_HOST_CONFIG,
    CHANNEL_ACCESS,
    CSP_PROVIDERS_KEY,
    EVT_CLEAR_ACCESS,
    EVT_READ_ACCESS,
    SSL_BINDING_KEY,
    check_channel_access,
    get_channel_sd,
    get_registry_sd,
)
from capi.host.security import FILE_GENERIC_READ, SecurityDescriptor, check_file_access
from capi.testing import raises_hresult
from schannel import eventlog, httpsys, iis
from winpki.cli import main

POOL = "IIS APPPOOL\\DefaultAppPool"
NON_ADMINS = (POOL, "NT AUTHORITY\\NETWORK SERVICE", "bob")
APPCMD_DENIED = ("ERROR ( message:Configuration error\nFilename: redirection.config\n"
                 "Line Number: 0\nDescription: Cannot read configuration file due to "
                 "insufficient permissions\n. )\n")


def tool(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue() + err.getvalue()


@pytest.fixture
def bob(machine):
    create_local_user(machine, "bob")
    return "bob"


@pytest.fixture
def hsm(machine, softhsm_token):
    """A token-bound provider registered by the administrator."""
    rc, out = tool("provider", "add-pkcs11", "--name", "Contoso HSM KSP", "--module",
                   softhsm_token.module, "--token-label", softhsm_token.label)
    assert rc == 0, out
    return softhsm_token


def unchanged(machine, before):
    """Nothing changed (a component's table created empty on first use is no change)."""
    after = snapshot(machine)
    return all(before.get(t) == after[t] for t in set(before) | set(after)
               if t in before or after[t])


def _refused(machine, who, *args):
    before = snapshot(machine)
    with run_as(who):
        rc, out = tool(*args)
    assert rc != 0, out
    assert unchanged(machine, before), f"{args} as {who} changed the machine"
    return rc, out


# --------------------------------------------------------------------------------------
# IIS configuration
# --------------------------------------------------------------------------------------

APPCMD_CHANGES = [
    ("set", "apppool", "/apppool.name:DefaultAppPool", "/processModel.identityType:LocalSystem"),
    ("add", "site", "/name:Evil", "/physicalPath:C:\\inetpub\\evil", "/bindings:http/*:8080:"),
    ("add", "apppool", "/name:EvilPool"),
    ("set", "site", "/site.name:Default Web Site",
     "/+bindings.[protocol='http',bindingInformation='*:8081:']"),
]


@pytest.mark.parametrize("who", NON_ADMINS)
@pytest.mark.parametrize("args", APPCMD_CHANGES, ids=lambda a: " ".join(a[:2]))
def test_appcmd_changes_refused(machine, bob, who, args):
    rc, out = _refused(machine, who, "appcmd", *args)
    assert (rc, out) == (ERROR_ACCESS_DENIED, APPCMD_DENIED)


@pytest.mark.parametrize("who", NON_ADMINS)
def test_iis_object_model_checks_the_current_identity(machine, bob, who):
    token = resolve_token(machine, who)
    before = snapshot(machine)
    with run_as(who):
        for call in (lambda: iis.set_app_pool_identity(machine, "DefaultAppPool", "LocalSystem"),
                     lambda: iis.add_app_pool(machine, "EvilPool"),
                     lambda: iis.add_site(machine, "Evil", "C:\\evil"),
                     lambda: iis.add_site_binding(machine, "Default Web Site", "http", "*:81:")):
            with raises_hresult(ERROR_ACCESS_DENIED):
                call()
    # ... and an explicit token is checked too, whoever is current.
    with raises_hresult(ERROR_ACCESS_DENIED):
        iis.set_app_pool_identity(machine, "DefaultAppPool", "LocalSystem", token=token)
    assert unchanged(machine, before)


def test_pool_cannot_escalate_to_local_system(machine):
    """The reported path: the pool cannot open the key, reconfigures itself to run as
    LocalSystem, and opens it as SYSTEM. The appcmd step must fail."""
    ctx, _ = install_server_cert()
    thumb = ctx.thumbprint
    with run_as(POOL):
        rc, out = tool("iis", "load-key", "--pool", "DefaultAppPool", "--thumbprint", thumb)
        assert rc == 1 and out.startswith("System.Security.Cryptography.CryptographicException: "
                                          "Keyset does not exist")
        rc, out = tool("appcmd", "set", "apppool", "/apppool.name:DefaultAppPool",
                       "/processModel.identityType:LocalSystem")
        assert (rc, out) == (ERROR_ACCESS_DENIED, APPCMD_DENIED)
        rc, out = tool("iis", "load-key", "--pool", "DefaultAppPool", "--thumbprint", thumb)
        assert rc == 1 and "Keyset does not exist" in out
    assert iis.get_app_pool(machine, "DefaultAppPool").identity_type == "ApplicationPoolIdentity"
    with raises_hresult(NTE_BAD_KEYSET):
        iis.app_pool_load_private_key(machine, "DefaultAppPool", thumb)


def test_administrator_still_configures_iis(machine):
    for args in APPCMD_CHANGES:
        rc, out = tool("appcmd", *args)
        assert rc == 0, out
    assert iis.get_app_pool(machine, "DefaultAppPool").identity_type == "LocalSystem"
    assert iis.get_site(machine, "Evil").bindings[0].binding_info == "*:8080:"
    rc, out = tool("appcmd", "list", "apppool", "EvilPool")
    assert rc == 0 and 'APPPOOL "EvilPool"' in out


def test_appcmd_list_needs_read_access_too(machine):
    # A non-elevated appcmd cannot even read the configuration.
    with run_as("NetworkService"):
        assert tool("appcmd", "list", "site") == (ERROR_ACCESS_DENIED, APPCMD_DENIED)


def test_icacls_shows_application_host_config_acl(machine):
    rc, out = tool("icacls", APPLICATION_HOST_CONFIG)
    pad = " " * (len(APPLICATION_HOST_CONFIG) + 1)
    assert rc == 0
    assert out == (f"{APPLICATION_HOST_CONFIG} NT AUTHORITY\\SYSTEM:(I)(F)\n"
                   f"{pad}BUILTIN\\Administrators:(I)(F)\n"
                   f"{pad}NT SERVICE\\TrustedInstaller:(I)(F)\n"
                   "\nSuccessfully processed 1 files; Failed processing 0 files\n")
    for who in NON_ADMINS[:2]:
        assert not check_file_access(machine, APPLICATION_HOST_CONFIG,
                                     resolve_token(machine, who), FILE_GENERIC_READ)


def test_pool_cannot_grant_itself_the_configuration(machine):
    rc, out = _refused(machine, POOL, "icacls", APPLICATION_HOST_CONFIG, "/grant", f"{POOL}:F")
    assert f"{APPLICATION_HOST_CONFIG}: Access is denied." in out


def test_granting_write_lets_a_user_change_the_configuration(machine, bob):
    """The check is the file's ACL, not a hard-coded administrator test: KB 2023852's
    workaround (read on the folder, modify on the file) works."""
    assert tool("icacls", r"C:\Windows\System32\inetsrv\config", "/grant", "bob:(OI)(CI)R")[0] == 0
    assert tool("icacls", APPLICATION_HOST_CONFIG, "/grant", "bob:M")[0] == 0
    with run_as("bob"):
        rc, out = tool("appcmd", "add", "apppool", "/name:BobPool")
    assert rc == 0, out


def test_machine_without_rows_gets_the_defaults(machine):
    """A machine made before these descriptors existed: no row never means "allowed",
    and opening the machine stores the Windows defaults."""
    from capi import Machine

    def rows():
        return machine.db.execute("SELECT COUNT(*) FROM path_sd WHERE path LIKE "
                                  "'c:\\windows\\system32\\inetsrv%' OR path LIKE "
                                  "'machine\\%'").fetchone()[0]

    provisioned = rows()
    assert provisioned == 6  # folder, 2 files, 3 channels (hive keys live in the registry)
    with machine.transaction() as db:
        db.execute("DELETE FROM path_sd WHERE path LIKE 'c:\\windows\\system32\\inetsrv%' "
                   "OR path LIKE 'machine\\%'")
    machine.host_path(APPLICATION_HOST_CONFIG).unlink()
    assert rows() == 0
    pool = resolve_token(machine, POOL)
    assert not get_registry_sd(machine, CSP_PROVIDERS_KEY).allows(pool, 0x4)
    assert not get_channel_sd(machine, "System").allows(pool, EVT_CLEAR_ACCESS)
    reopened = Machine.open(machine.path)
    try:
        assert rows() == provisioned
        assert reopened.host_path(APPLICATION_HOST_CONFIG).is_file()
    finally:
        reopened.close()
    with run_as(POOL):
        assert tool("appcmd", "add", "apppool", "/name:X") == (ERROR_ACCESS_DENIED, APPCMD_DENIED)


# --------------------------------------------------------------------------------------
# Event logs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", NON_ADMINS)
def test_wevtutil_cl_refused(machine, bob, who):
    eventlog.write_event(machine, source="Schannel", event_id=36870, level=2, message="x")
    rc, out = _refused(machine, who, "wevtutil", "cl", "System")
    assert (rc, out) == (ERROR_ACCESS_DENIED, "Failed to clear log System. Access is denied.\n")
    with run_as(who), raises_hresult(ERROR_ACCESS_DENIED):
        eventlog.clear_log(machine, "System")
    assert len(eventlog.query(machine, "System")) == 1


def test_administrator_and_system_clear_logs(machine):
    eventlog.write_event(machine, source="Schannel", event_id=36870, level=2, message="x")
    assert tool("wevtutil", "cl", "System") == (0, "")
    assert eventlog.query(machine, "System") == []
    with run_as("SYSTEM"):
        eventlog.clear_log(machine, "Application")


def test_channel_access_is_windows_default(machine):
    assert get_channel_sd(machine, "system") == SecurityDescriptor.from_sddl(
        CHANNEL_ACCESS["System"])
    pool = resolve_token(machine, POOL)
    # SERVICE may read and write the System log; only the clear right is missing.
    assert check_channel_access(machine, "System", pool, EVT_READ_ACCESS)
    assert not get_channel_sd(machine, "System").allows(pool, EVT_CLEAR_ACCESS)
    assert not get_channel_sd(machine, "Security").allows(pool, EVT_READ_ACCESS)


# --------------------------------------------------------------------------------------
# Provider and token registrations
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", NON_ADMINS)
def test_provider_changes_refused(machine, bob, hsm, who):
    for args in (("add-pkcs11", "--name", "Evil KSP", "--module", hsm.module,
                  "--token-label", hsm.label),
                 ("remove-token", hsm.label), ("insert-token", hsm.label),
                 ("remove", "Contoso HSM KSP")):
        rc, out = _refused(machine, who, "provider", *args)
        assert out.splitlines()[:2] == [
            f"winpki provider: {args[0]} FAILED: 0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)",
            "winpki provider: Access is denied."], out


@pytest.mark.parametrize("who", NON_ADMINS)
def test_token_api_checks_the_current_identity(machine, bob, hsm, who):
    from csp import registry, tokens

    before = snapshot(machine)
    with run_as(who):
        for call in (lambda: tokens.remove_token(machine, hsm.label),
                     lambda: tokens.insert_token(machine, hsm.label),
                     lambda: tokens.remove_provider(machine, "Contoso HSM KSP"),
                     lambda: registry.unregister_provider(machine, "Contoso HSM KSP"),
                     lambda: registry.register_provider(machine, "X", "csp", "m:f")):
            with raises_hresult(ERROR_ACCESS_DENIED):
                call()
    assert unchanged(machine, before)


def test_administrator_manages_providers_and_tokens(machine, hsm):
    assert tool("provider", "remove-token", hsm.label)[0] == 0
    assert tool("provider", "insert-token", hsm.label)[0] == 0
    # The registration key belongs to its creator (an elevated administrator's objects
    # are owned by BUILTIN\Administrators) and Users may only read it.
    sd = get_registry_sd(machine, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Cryptography"
                                  "\\Providers\\Contoso HSM KSP")
    assert sd.to_sddl().startswith("O:BAG:")
    assert "(A;CIID;KR;;;BU)" in sd.to_sddl()
    assert tool("provider", "remove", "Contoso HSM KSP")[0] == 0
    assert machine.db.execute("SELECT COUNT(*) FROM path_sd WHERE path LIKE "
                              "'%contoso hsm ksp%'").fetchone()[0] == 0


# --------------------------------------------------------------------------------------
# http.sys
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", NON_ADMINS)
def test_netsh_sslcert_refused(machine, bob, who):
    ctx, _ = install_server_cert()
    rc, out = _refused(machine, who, "netsh", "http", "add", "sslcert", "ipport=0.0.0.0:443",
                       f"certhash={ctx.thumbprint}",
                       "appid={4dc3e181-e14b-4a21-b022-59fc669b0914}")
    assert out == "\nSSL Certificate add failed, Error: 5\nAccess is denied.\n\n"
    # The registry key http.sys keeps its bindings under: Users read, nothing more.
    assert not get_registry_sd(machine, SSL_BINDING_KEY).allows(resolve_token(machine, who),
                                                                 0x2)
    with run_as(who), raises_hresult(ERROR_ACCESS_DENIED):
        iis.add_https_binding(machine, "Default Web Site", "*:443:", ctx.thumbprint)
    assert httpsys.list_bindings(machine) == []

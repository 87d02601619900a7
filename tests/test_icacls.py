"""``winpki icacls``: display format, changes, failures and exit codes."""

import io

import pytest

from capi import ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER, ERROR_NONE_MAPPED, run_as
from capi.host.accounts import app_pool_sid, resolve_token
from capi.host.security import FILE_READ_DATA, check_file_access, create_file_sd, get_file_sd
from winpki.cli import main

MK = r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys"
# Summary line and display layout (path, space, first ACE, the rest aligned, blank line)
# as quoted from real icacls runs, e.g. support.moonpoint.com/os/windows/commands/icacls.php.
SUMMARY_OK = "Successfully processed 1 files; Failed processing 0 files\n"
SUMMARY_FAIL = "Successfully processed 0 files; Failed processing 1 files\n"


def icacls(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["icacls", *args], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def test_display_machine_keys(machine):
    rc, out, err = icacls(MK)
    assert rc == 0 and err == ""
    assert out == (
        f"{MK} Everyone:(R,W)\n"
        f"{' ' * (len(MK) + 1)}BUILTIN\\Administrators:(F)\n"
        "\n" + SUMMARY_OK)


def test_display_system_drive(machine):
    rc, out, _ = icacls("C:\\")
    assert rc == 0
    assert out.splitlines()[:4] == [
        "C:\\ NT AUTHORITY\\SYSTEM:(OI)(CI)(F)",
        "    BUILTIN\\Administrators:(OI)(CI)(F)",
        "    BUILTIN\\Users:(OI)(CI)(RX)",
        "    CREATOR OWNER:(OI)(CI)(IO)(F)",
    ]


def test_missing_path(machine):
    rc, out, err = icacls(r"C:\nope.txt")
    assert rc == ERROR_FILE_NOT_FOUND
    assert err == "C:\\nope.txt: The system cannot find the file specified.\n"
    assert out == SUMMARY_FAIL


def test_grant_key_file_to_app_pool(machine):
    key = MK + r"\99247943bd018ca78ef945b82652598d_3ade29bb-f050-41f3-b0db-f2b69957a1d7"
    machine.host_path(key).write_bytes(b"key")
    pool = resolve_token(machine, "IIS APPPOOL\\DefaultAppPool")
    # MachineKeys passes nothing on: the key file gets its creator's default DACL.
    create_file_sd(machine, key, resolve_token(machine, None))
    assert not check_file_access(machine, key, pool, FILE_READ_DATA)
    rc, out, err = icacls(key, "/grant", "IIS APPPOOL\\DefaultAppPool:R")
    assert (rc, err) == (0, "")
    # "processed file: <path as given>" then the summary: real output quoted in many
    # write-ups (e.g. HTB Academy "icacls c:\\users /grant joe:f").
    assert out == f"processed file: {key}\n" + SUMMARY_OK
    assert check_file_access(machine, key, pool, FILE_READ_DATA)
    rc, out, _ = icacls(key)
    assert "IIS APPPOOL\\DefaultAppPool:(R)" in out


@pytest.mark.parametrize("account", [
    "NetworkService", "NT AUTHORITY\\NETWORK SERVICE", "network service", "*S-1-5-20",
])
def test_account_spellings(machine, account):
    rc, _, _ = icacls(r"C:\inetpub\wwwroot", "/grant", f"{account}:(OI)(CI)M")
    assert rc == 0
    rc, out, _ = icacls(r"C:\inetpub\wwwroot")
    assert "NT AUTHORITY\\NETWORK SERVICE:(OI)(CI)(M)" in out


def test_grant_replace_deny_remove(machine):
    path = r"C:\inetpub\wwwroot"
    assert icacls(path, "/grant", "Everyone:(RD,WD)", "IUSR:RX")[0] == 0
    assert icacls(path, "/grant:r", "Everyone:R")[0] == 0
    assert icacls(path, "/deny", "IUSR:(OI)(CI)W")[0] == 0
    out = icacls(path)[1]
    lines = [line.strip() for line in out.splitlines()]
    # Canonical order: explicit deny, explicit grants, then inherited ACEs.
    assert lines[0] == f"{path} NT AUTHORITY\\IUSR:(OI)(CI)(DENY)(W)"
    # /deny removes the denied rights (W includes SYNCHRONIZE) from IUSR's grant; /grant:r
    # re-added Everyone at the end of the explicit grants.
    # READ_CONTROL is printed "Rc", before S and the file rights: puppetlabs-acl
    # acceptance tests match real icacls output such as "(Rc,S,RD,WEA,DC)".
    assert lines[1:3] == ["NT AUTHORITY\\IUSR:(Rc,RD,REA,X,RA)", "Everyone:(R)"]
    assert lines[3].startswith("NT AUTHORITY\\SYSTEM:(I)(OI)(CI)(F)")
    assert icacls(path, "/remove:d", "IUSR")[0] == 0
    assert "DENY" not in icacls(path)[1]
    assert icacls(path, "/remove", "Everyone", "IUSR")[0] == 0
    out = icacls(path)[1]
    assert "Everyone" not in out and "IUSR" not in out


def test_unknown_account(machine):
    before = get_file_sd(machine, MK)
    rc, out, err = icacls(MK, "/grant", "nobody:F")
    # Message and summary: Microsoft support article KB 2744558 ("Overlapping Forest
    # Names cause problems once Forest Trusts are established") quotes
    # "forest2.forest1.com\\admins: No mapping between account names and security IDs
    # was done." followed by "Successfully processed 0 files; Failed processing 1 files".
    # The exit status 1332 is NOT confirmed by a public source.
    assert rc == ERROR_NONE_MAPPED
    assert err == "nobody: No mapping between account names and security IDs was done.\n"
    assert out == SUMMARY_FAIL
    assert get_file_sd(machine, MK) == before


@pytest.mark.parametrize("args", [
    ["/grant", "Everyone:Q"], ["/grant"], ["/frobnicate"], ["/grant", "Everyone"],
    ["/inheritance:x"], ["/grant", "Everyone:(XX)"],
])
def test_invalid_parameters(machine, args):
    rc, out, err = icacls(MK, *args)
    # 'Invalid parameter "<the argument>"', no summary, exit 87: microsoft/hcsshim PR
    # #1643 quotes `Invalid parameter ""CREATOR"` with "process exited with exit code 87".
    assert rc == ERROR_INVALID_PARAMETER
    assert err.startswith('Invalid parameter "') and out == ""


def test_changes_need_write_dac(machine):
    before = get_file_sd(machine, MK)
    with run_as("NetworkService"):
        rc, out, err = icacls(MK, "/grant", "NetworkService:F")
        assert rc == 5  # exit status NOT confirmed by a public source
        # "<path>: Access is denied." then the failure summary: real output quoted in
        # public write-ups (e.g. "C:\\Windows\\System32\\config\\SAM: Access is denied.").
        assert err == f"{MK}: Access is denied.\n"
        assert out == SUMMARY_FAIL
        # Reading needs READ_CONTROL, which (R,W) includes.
        assert icacls(MK)[0] == 0
    assert get_file_sd(machine, MK) == before


def test_reset_and_inheritance(machine):
    folder = r"C:\inetpub\wwwroot"
    assert icacls(folder, "/inheritance:d")[0] == 0
    out = icacls(folder)[1]
    assert "(I)" not in out and "BUILTIN\\Users:(OI)(CI)(RX)" in out
    assert icacls(folder, "/remove", "BUILTIN\\Users")[0] == 0
    assert "Users" not in icacls(folder)[1]
    assert icacls(folder, "/reset")[0] == 0
    out = icacls(folder)[1]
    assert "BUILTIN\\Users:(I)(OI)(CI)(RX)" in out
    assert icacls(folder, "/inheritance:r")[0] == 0
    # Nothing explicit and nothing inherited: even the administrator is locked out.
    rc, out, err = icacls(folder)
    assert rc == 5 and "Access is denied." in err
    with run_as("SYSTEM"):  # SYSTEM owns the folder: READ_CONTROL|WRITE_DAC remain
        assert icacls(folder, "/inheritance:e")[0] == 0
    assert icacls(folder)[0] == 0


def test_recursive_grant(machine):
    root = r"C:\inetpub\wwwroot"
    machine.host_path(root + r"\app").mkdir()
    machine.host_path(root + r"\app\web.config").write_text("<configuration/>")
    rc, out, _ = icacls(root, "/grant", "IIS APPPOOL\\DefaultAppPool:(OI)(CI)RX", "/T")
    assert rc == 0
    # wwwroot, iisstart.htm (IIS's welcome page, there from installation), app, web.config
    assert out.count("processed file:") == 4
    assert "Successfully processed 4 files; Failed processing 0 files" in out
    shown = icacls(root + r"\app\web.config")[1]
    assert "IIS APPPOOL\\DefaultAppPool:(RX)" in shown
    sd = get_file_sd(machine, root + r"\app\web.config")
    assert any(a.sid == app_pool_sid("DefaultAppPool") and a.is_inherited for a in sd.dacl)


def test_quiet_and_usage(machine):
    rc, out, _ = icacls(MK, "/grant", "Everyone:R", "/Q")
    assert rc == 0 and out == ""
    rc, out, _ = icacls("/?")
    assert rc == 0 and "ICACLS name" in out
    rc, out, err = icacls()
    assert rc == ERROR_INVALID_PARAMETER


def test_relative_path_is_rejected(machine):
    rc, out, err = icacls("relative\\path")
    assert rc == 123  # ERROR_INVALID_NAME
    assert "The filename, directory name, or volume label syntax is incorrect." in err


def test_key_file_without_stored_sd_is_systems(machine):
    # A file nobody gave an SD counts as created by SYSTEM: its default DACL gives
    # Administrators only read/execute/read-control, so changing it is denied to them.
    key = MK + r"\orphan"
    machine.host_path(key).write_bytes(b"k")
    rc, out, err = icacls(key, "/grant", "Everyone:R")
    assert rc == 5 and err == f"{key}: Access is denied.\n"
    with run_as("SYSTEM"):
        assert icacls(key, "/grant", "Everyone:R")[0] == 0


@pytest.mark.parametrize("mask,shown", [
    (0x00100124, "S,AD,X,WA"),
    (0x00120180, "Rc,S,RA,WA"),
    (0x0010008A, "S,WD,REA,RA"),
])
def test_specific_rights_order_matches_real_icacls(mask, shown):
    # Masks and the icacls text Windows printed for them, from the puppetlabs-acl
    # acceptance tests ("Directory - Deny Mask Specific": masks 1048868, 1180032, 1048714).
    from capi.host.security import icacls_rights
    assert icacls_rights(mask) == shown


def test_empty_account_is_no_mapping_not_a_crash(machine):
    # icacls resolves every account before touching a file; "" maps to no account (1332).
    rc, out, err = icacls("C:\\", "/remove", "")
    assert rc == 1332
    assert err == ": No mapping between account names and security IDs was done.\n"


def test_a_failing_operation_leaves_the_acl_as_it_was(machine, monkeypatch):
    # A failed command changes nothing: /grant then /reset, the reset failing.
    from capi.errors import ERROR_ACCESS_DENIED, WinError
    from winpki.tools import icacls as tool

    before = get_file_sd(machine, "C:\\ProgramData").to_sddl()

    def failing_reset(machine, path):
        raise WinError(ERROR_ACCESS_DENIED)

    monkeypatch.setattr(tool, "reset_file_sd", failing_reset)
    rc, _, _ = icacls("C:\\ProgramData", "/grant", "NetworkService:F", "/reset")
    assert rc == 5
    assert get_file_sd(machine, "C:\\ProgramData").to_sddl() == before

r"""The machine registry (capi.host.registry) and ``winpki reg``.

Sources: Wine's conformance tests for advapi32's registry functions
(dlls/advapi32/tests/registry.c) and for reg.exe (programs/reg/tests/query.c, add.c,
delete.c), the RegDeleteKey / RegCreateKeyEx pages of the Win32 reference, and "Registry
Key Security and Access Rights" (Microsoft docs) for the KEY_* rights.
"""

import io

import pytest

from capi.errors import (
    ERROR_ACCESS_DENIED,
    ERROR_BADKEY,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
)
from capi.host import registry as R
from capi.host.accounts import create_local_user, resolve_token, system_token
from capi.host.context import run_as
from capi.host.security import KEY_ALL_ACCESS
from capi.testing import raises_hresult
from winpki.cli import main

CA_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\WEBSERVER-CA"


def reg(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["reg", *args], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


# -- the API -----------------------------------------------------------------------------------


def test_values_round_trip_with_windows_bytes(machine):
    R.set_value(machine, CA_KEY, "KRAFlags", R.REG_DWORD, 0)
    R.set_value(machine, CA_KEY, "CommonName", R.REG_SZ, "WEBSERVER-CA")
    R.set_value(machine, CA_KEY, "CRLPublicationURLs", R.REG_MULTI_SZ, ["a", "b"])
    R.set_value(machine, CA_KEY, "Big", R.REG_QWORD, 1 << 40)
    R.set_value(machine, CA_KEY, "Raw", R.REG_BINARY, b"\x01\x02")
    R.set_value(machine, CA_KEY, "Path", R.REG_EXPAND_SZ, r"%SystemRoot%\x")
    assert R.query_value(machine, CA_KEY, "krafLAGS") == (R.REG_DWORD, 0)   # names ignore case
    assert R.query_value(machine, CA_KEY, "CRLPublicationURLs") == (R.REG_MULTI_SZ, ["a", "b"])
    with R.open_key(machine, CA_KEY) as key:
        # REG_SZ is stored UTF-16LE with its terminating NUL; REG_MULTI_SZ ends in two NULs;
        # REG_DWORD is four little-endian bytes.
        assert key.query_value_raw("CommonName")[1] == "WEBSERVER-CA\0".encode("utf-16-le")
        assert key.query_value_raw("CRLPublicationURLs")[1] == "a\0b\0\0".encode("utf-16-le")
        assert key.query_value_raw("KRAFlags")[1] == b"\0\0\0\0"
        assert key.query_value_raw("Big")[1] == (1 << 40).to_bytes(8, "little")
        # RegEnumValue: in the order the values were set.
        assert [n for n, _, _ in key.enum_values()] == ["KRAFlags", "CommonName", "CRLPublicationURLs",
                                                       "Big", "Raw", "Path"]
    # Keys are found whatever the case and keep the case they were created with.
    assert R.enum_subkeys(machine, r"hklm\system\currentcontrolset\services\certsvc\CONFIGURATION") == [
        "WEBSERVER-CA"]


def test_missing_key_and_value_are_error_file_not_found(machine):
    # Wine registry.c test_reg_delete_key: RegOpenKey of a deleted key -> ERROR_FILE_NOT_FOUND;
    # test_reg_query_value: a missing value -> ERROR_FILE_NOT_FOUND.
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        R.open_key(machine, r"HKLM\SOFTWARE\NoSuchKey")
    R.set_value(machine, CA_KEY, "A", R.REG_SZ, "x")
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        R.query_value(machine, CA_KEY, "B")
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        R.delete_value(machine, CA_KEY, "B")
    assert R.get_value(machine, CA_KEY, "B", 7) == 7
    with raises_hresult(ERROR_BADKEY):
        R.open_key(machine, r"HKXX\SOFTWARE")


def test_bad_data_for_a_type_changes_nothing(machine):
    with raises_hresult(ERROR_INVALID_PARAMETER):
        R.set_value(machine, CA_KEY, "N", R.REG_DWORD, 1 << 33)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        R.query_value(machine, CA_KEY, "N")


def test_hklm_users_read_administrators_and_system_write(machine):
    bob = create_local_user(machine, "bob")
    bob_token = resolve_token(machine, bob)
    R.set_value(machine, CA_KEY, "ValidityPeriodUnits", R.REG_DWORD, 2)   # the elevated Administrator
    # Users read HKLM...
    assert R.query_value(machine, CA_KEY, "ValidityPeriodUnits", bob_token) == (R.REG_DWORD, 2)
    # ... but may not write or delete there (KEY_SET_VALUE / KEY_CREATE_SUB_KEY / DELETE).
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.set_value(machine, CA_KEY, "ValidityPeriodUnits", R.REG_DWORD, 9, bob_token)
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.create_key(machine, CA_KEY + r"\Sub", bob_token)
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.delete_key(machine, CA_KEY, bob_token)
    assert R.query_value(machine, CA_KEY, "ValidityPeriodUnits") == (R.REG_DWORD, 2)
    R.set_value(machine, CA_KEY, "ValidityPeriodUnits", R.REG_DWORD, 3, system_token(machine))
    # A new key inherits the SD: SYSTEM and Administrators full control, Users read.
    sd = R.key_sd(machine, CA_KEY)
    assert sd.allows(bob_token, R.KEY_QUERY_VALUE, R.KEY_GENERIC_MAPPING)
    assert not sd.allows(bob_token, R.KEY_SET_VALUE, R.KEY_GENERIC_MAPPING)
    assert sd.allows(system_token(machine), KEY_ALL_ACCESS,
                     R.KEY_GENERIC_MAPPING)


def test_a_key_whose_sd_denies_reading_is_access_denied(machine):
    from capi.host.security import SecurityDescriptor

    bob = create_local_user(machine, "bob")
    bob_token = resolve_token(machine, bob)
    R.set_value(machine, CA_KEY, "Secret", R.REG_SZ, "x")
    R.set_key_sd(machine, CA_KEY, SecurityDescriptor.from_sddl("O:BAG:SYD:P(A;CI;KA;;;SY)(A;CI;KA;;;BA)",
                                                                 machine))
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.query_value(machine, CA_KEY, "Secret", bob_token)


def test_regdeletekey_refuses_a_key_with_subkeys(machine):
    # RegDeleteKey (Win32 reference): "The subkey to be deleted must not have subkeys";
    # it fails with ERROR_ACCESS_DENIED. RegDeleteTree removes the whole tree.
    R.create_key(machine, CA_KEY + r"\Child")
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.delete_key(machine, CA_KEY)
    R.delete_key(machine, CA_KEY, tree=True)
    assert not R.key_exists(machine, CA_KEY)
    assert not R.key_exists(machine, CA_KEY + r"\Child")
    with raises_hresult(ERROR_ACCESS_DENIED):
        R.delete_key(machine, r"HKLM\SOFTWARE", tree=True)      # a hive


def test_create_key_dispositions(machine):
    _, disp = R.create_key(machine, r"HKLM\SOFTWARE\Contoso\App")
    assert disp == R.REG_CREATED_NEW_KEY
    _, disp = R.create_key(machine, r"HKLM\software\CONTOSO\app")
    assert disp == R.REG_OPENED_EXISTING_KEY


def test_hkcu_is_the_callers_own_hive(machine):
    bob = create_local_user(machine, "bob")
    with run_as("bob"):
        rc, _, err = reg("add", r"HKCU\Software\Contoso", "/v", "Color", "/d", "blue", "/f")
        assert rc == 0, err
    rc, out, _ = reg("query", rf"HKU\{bob}\Software\Contoso", "/v", "Color")
    assert rc == 0 and "Color    REG_SZ    blue" in out
    rc, _, err = reg("query", r"HKCU\Software\Contoso")          # the Administrator's own hive
    assert rc == 1


# -- reg.exe -----------------------------------------------------------------------------------


def test_reg_query_layout_as_wine_records_it(machine):
    # Wine programs/reg/tests/query.c test_query, strings test1, test2, test3, test6, test8a.
    base = r"HKCU\Software\Wine\reg_test"
    shown = r"HKEY_CURRENT_USER\Software\Wine\reg_test"
    assert reg("add", base, "/v", "Test1", "/d", "Hello, World", "/f")[0] == 0
    assert reg("add", base, "/v", "Test2", "/t", "REG_DWORD", "/d", "0x123", "/f")[0] == 0
    rc, out, _ = reg("query", base)
    assert rc == 0
    assert out == f"\n{shown}\n    Test1    REG_SZ    Hello, World\n    Test2    REG_DWORD    0x123\n\n"
    rc, out, _ = reg("query", base, "/v", "Test1")
    assert out == f"\n{shown}\n    Test1    REG_SZ    Hello, World\n\n"
    reg("add", base, "/v", "Wine", "/d", "First instance", "/f")
    reg("add", base + r"\subkey", "/f")
    rc, out, _ = reg("query", base)
    assert out == (f"\n{shown}\n    Test1    REG_SZ    Hello, World\n    Test2    REG_DWORD    0x123\n"
                   f"    Wine    REG_SZ    First instance\n\n{shown}\\subkey\n")
    reg("add", base + r"\subkey", "/v", "Test3", "/d", "Some string data", "/f")
    rc, out, _ = reg("query", base, "/s")
    assert out == (f"\n{shown}\n    Test1    REG_SZ    Hello, World\n    Test2    REG_DWORD    0x123\n"
                   f"    Wine    REG_SZ    First instance\n\n{shown}\\subkey\n"
                   f"    Test3    REG_SZ    Some string data\n\n")
    # Failures (exit 1): no key, missing value, /v twice, /v with /ve, /s twice.
    for args in ([], [base, "/v"], [base, "/v", "Missing"], [base, "/v", "Test1", "/v", "Test2"],
                 [base, "/v", "Test1", "/ve"], [base, "/s", "/s"], [base + r"\nope"]):
        assert reg("query", *args)[0] == 1, args


def test_reg_query_subkeys_only(machine):
    base = r"HKLM\SOFTWARE\Wine"
    for i in (1, 2):
        reg("add", rf"{base}\subkey{i}", "/f")
    rc, out, _ = reg("query", base)
    shown = r"HKEY_LOCAL_MACHINE\SOFTWARE\Wine"
    assert out == f"\n{shown}\\subkey1\n{shown}\\subkey2\n"                    # test8a
    rc, out, _ = reg("query", base, "/s")
    assert out == f"\n{shown}\\subkey1\n\n{shown}\\subkey2\n\n"                # test8b


def test_reg_value_types_print_as_reg_does(machine):
    key = r"HKLM\SOFTWARE\Types"
    reg("add", key, "/v", "bin", "/t", "REG_BINARY", "/d", "deadBEEF", "/f")
    reg("add", key, "/v", "multi", "/t", "REG_MULTI_SZ", "/d", r"one\0two", "/f")
    reg("add", key, "/v", "q", "/t", "REG_QWORD", "/d", "4294967296", "/f")
    reg("add", key, "/ve", "/d", "dflt", "/f")
    rc, out, _ = reg("query", key)
    assert "    bin    REG_BINARY    DEADBEEF\n" in out
    assert "    multi    REG_MULTI_SZ    one\\0two\n" in out
    assert "    q    REG_QWORD    0x100000000\n" in out
    assert "    (Default)    REG_SZ    dflt\n" in out
    assert R.query_value(machine, key, "multi") == (R.REG_MULTI_SZ, ["one", "two"])
    assert R.query_value(machine, key, None) == (R.REG_SZ, "dflt")


def test_reg_add_and_delete_messages(machine, capsys):
    rc, out, _ = reg("add", CA_KEY, "/v", "KRAFlags", "/t", "REG_DWORD", "/d", "1", "/f")
    assert (rc, out) == (0, "The operation completed successfully.\n")
    rc, out, _ = reg("query", CA_KEY, "/v", "KRAFlags")
    assert out == ("\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration"
                   "\\WEBSERVER-CA\n    KRAFlags    REG_DWORD    0x1\n\n")
    rc, out, _ = reg("delete", CA_KEY, "/v", "KRAFlags", "/f")
    assert (rc, out) == (0, "The operation completed successfully.\n")
    rc, out, err = reg("query", CA_KEY, "/v", "KRAFlags")
    assert (rc, out, err) == (1, "", "ERROR: The system was unable to find the specified registry key or value.\n")
    rc, _, err = reg("delete", CA_KEY, "/f")
    assert rc == 0 and not R.key_exists(machine, CA_KEY)
    rc, _, err = reg("delete", CA_KEY, "/f")
    assert (rc, err) == (1, "ERROR: The system was unable to find the specified registry key or value.\n")


def test_reg_add_refuses_bad_numbers(machine):
    rc, _, err = reg("add", CA_KEY, "/v", "n", "/t", "REG_DWORD", "/d", "0xabcdefg", "/f")
    assert rc == 1 and err.startswith("ERROR: Invalid syntax.")
    assert not R.key_exists(machine, CA_KEY)


def test_reg_as_a_user_is_access_denied_in_hklm(machine):
    create_local_user(machine, "bob")
    with run_as("bob"):
        rc, out, err = reg("add", CA_KEY, "/v", "KRAFlags", "/t", "REG_DWORD", "/d", "1", "/f")
    assert (rc, err) == (1, "ERROR: Access is denied.\n")
    assert not R.key_exists(machine, CA_KEY)


def test_reg_delete_without_f_asks(machine, monkeypatch):
    R.set_value(machine, CA_KEY, "A", R.REG_SZ, "x")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    rc, out, _ = reg("delete", CA_KEY, "/v", "A")
    assert rc == 0 and out.endswith("The operation was canceled by the user.\n")
    assert R.query_value(machine, CA_KEY, "A") == (R.REG_SZ, "x")
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    rc, out, _ = reg("delete", CA_KEY, "/v", "A")
    assert out.endswith("The operation completed successfully.\n")


@pytest.mark.parametrize("root, full", [("HKLM", "HKEY_LOCAL_MACHINE"), ("hkcr", "HKEY_CLASSES_ROOT"),
                                        ("HKU", "HKEY_USERS"), ("HKEY_CURRENT_USER", "HKEY_CURRENT_USER")])
def test_root_abbreviations(root, full):
    assert R.split_root(root + r"\X")[0] == full


def test_machine_guid_is_in_the_registry(make_machine):
    # HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid: the value CAPI's unique container
    # names derive from (docs/windows-facts.md §1), REG_SZ, lower-case GUID.
    from capi.host import registry

    m = make_machine(machine_guid="3ADE29BB-F050-41F3-B0DB-F2B69957A1D7")
    assert registry.query_value(m, r"HKLM\SOFTWARE\Microsoft\Cryptography", "MachineGuid") == \
        (registry.REG_SZ, "3ade29bb-f050-41f3-b0db-f2b69957a1d7")

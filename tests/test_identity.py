"""SIDs, well-known and local accounts, virtual accounts, tokens, LookupAccountName/Sid."""

import pytest

from capi import (
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_SID,
    ERROR_LOGON_FAILURE,
    ERROR_NONE_MAPPED,
    RPC_S_SERVER_UNAVAILABLE,
    ConvertStringSidToSid,
    GetLastError,
    LookupAccountName,
    LookupAccountSid,
    NERR_UserExists,
    Sid,
    SidTypeAlias,
    SidTypeDomain,
    SidTypeGroup,
    SidTypeUser,
    SidTypeWellKnownGroup,
    current_token,
    run_as,
)
from capi.host.accounts import (
    account_display,
    app_pool_sid,
    create_local_user,
    lookup_name,
    lookup_sid,
    resolve_token,
    service_sid,
)
from capi.testing import raises_hresult

# --- Sid --------------------------------------------------------------------------------


def test_sid_text_and_binary_round_trip():
    sid = Sid("S-1-5-21-93476-23408-4576")
    assert str(sid) == "S-1-5-21-93476-23408-4576"
    raw = sid.to_bytes()
    # revision 1, 4 sub-authorities, authority 5 big-endian, sub-authorities little-endian
    assert raw[:8] == bytes([1, 4, 0, 0, 0, 0, 0, 5])
    assert raw[8:12] == (21).to_bytes(4, "little")
    assert Sid.from_bytes(raw) == sid
    assert hash(Sid.from_bytes(raw)) == hash(sid)


@pytest.mark.parametrize("text, expected", [
    # Wine advapi32/tests/security.c test_ConvertStringSidToSid (run on Windows):
    ("s-1-12-1", "S-1-12-1"),
    ("S-0x1-0XC-0x1a", "S-1-12-26"),
    ("wD", "S-1-1-0"),
    ("SY", "S-1-5-18"),
    ("IU", "S-1-5-4"),
    ("SU", "S-1-5-6"),
    ("NS", "S-1-5-20"),
    ("BA", "S-1-5-32-544"),
    # Microsoft "SID Strings": "IS" is SDDL_IIS_USERS (DOMAIN_ALIAS_RID_IUSERS = 568)
    ("IS", "S-1-5-32-568"),
    ("OW", "S-1-3-4"),
])
def test_sid_parses_what_convertstringsidtosid_parses(text, expected):
    assert str(Sid(text)) == expected


@pytest.mark.parametrize("bad", ["S-1-5", "WDandmorecharacters", "WD)", "", "S-2-5-18",
                                 "S-1-5-18-", "X-1-5-18", "S-1-5-4294967296"])
def test_bad_sid_text_is_error_invalid_sid(bad):
    # Windows: "S-1-5" (no sub-authority) and trailing characters -> ERROR_INVALID_SID
    # (Wine test_ConvertStringSidToSid).
    with raises_hresult(ERROR_INVALID_SID):
        Sid(bad)


def test_convertstringsidtosid_sets_last_error():
    with raises_hresult(ERROR_INVALID_SID):
        ConvertStringSidToSid("S-1-5")
    assert GetLastError() == ERROR_INVALID_SID


@pytest.mark.parametrize("blob", [b"", b"\x01\x01\x00\x00\x00\x00\x00", b"\x02\x01" + bytes(10),
                                  b"\x01\x02" + bytes(10), b"\x01\x00" + bytes(6)])
def test_bad_binary_sid(blob):
    with raises_hresult(ERROR_INVALID_SID):
        Sid.from_bytes(blob)


# --- virtual accounts -------------------------------------------------------------------


def test_app_pool_sid_matches_windows():
    # whoami /all inside DefaultAppPool (public write-ups of IIS hosts):
    # "iis apppool\defaultapppool S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"
    expected = "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"
    assert str(app_pool_sid("DefaultAppPool")) == expected
    assert app_pool_sid("DEFAULTAPPPOOL") == app_pool_sid("defaultapppool")


def test_service_sid_matches_windows():
    # winnt.h: SECURITY_SERVICE_ID_BASE_RID 80, SECURITY_TRUSTED_INSTALLER_RID1..5 =
    # 956008885, 3418522649, 1831038044, 1853292631, 2271478464.
    expected = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
    assert str(service_sid("TrustedInstaller")) == expected
    assert service_sid("trustedinstaller") == service_sid("TRUSTEDINSTALLER")


def test_app_pool_resolves_only_when_the_pool_exists(machine):
    sid, domain, name, use = lookup_name(machine, "IIS APPPOOL\\defaultapppool")
    assert (domain, name, use) == ("IIS APPPOOL", "DefaultAppPool", SidTypeWellKnownGroup)
    assert sid == app_pool_sid("DefaultAppPool")
    # LookupAccountName of a pool that does not exist: ERROR_NONE_MAPPED.
    with raises_hresult(ERROR_NONE_MAPPED):
        lookup_name(machine, "IIS APPPOOL\\NoSuchPool")
    with raises_hresult(ERROR_NONE_MAPPED):
        lookup_sid(machine, app_pool_sid("NoSuchPool"))
    machine.db.execute("INSERT INTO iis_app_pools(name, identity_type) VALUES ('Shop', "
                       "'ApplicationPoolIdentity')")
    assert lookup_sid(machine, app_pool_sid("Shop")) == ("Shop", "IIS APPPOOL",
                                                         SidTypeWellKnownGroup)


# --- LookupAccountName / LookupAccountSid ----------------------------------------------


@pytest.mark.parametrize("name, sid, domain, use", [
    ("Administrators", "S-1-5-32-544", "BUILTIN", SidTypeAlias),
    ("BUILTIN\\Users", "S-1-5-32-545", "BUILTIN", SidTypeAlias),
    ("builtin\\iis_iusrs", "S-1-5-32-568", "BUILTIN", SidTypeAlias),
    ("SYSTEM", "S-1-5-18", "NT AUTHORITY", SidTypeWellKnownGroup),
    ("NT AUTHORITY\\NETWORK SERVICE", "S-1-5-20", "NT AUTHORITY", SidTypeWellKnownGroup),
    ("LOCAL SERVICE", "S-1-5-19", "NT AUTHORITY", SidTypeWellKnownGroup),
    ("Everyone", "S-1-1-0", "", SidTypeWellKnownGroup),
    ("CREATOR OWNER", "S-1-3-0", "", SidTypeWellKnownGroup),
    ("Authenticated Users", "S-1-5-11", "NT AUTHORITY", SidTypeWellKnownGroup),
    ("BUILTIN", "S-1-5-32", "BUILTIN", SidTypeDomain),
    ("NT SERVICE\\TrustedInstaller",
     "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", "NT SERVICE",
     SidTypeWellKnownGroup),
])
def test_lookup_account_name(machine, name, sid, domain, use):
    assert LookupAccountName(None, name) == (Sid(sid), domain, use)


def test_lookup_local_accounts(machine):
    admin = Sid(f"{machine.machine_sid}-500")
    assert LookupAccountName(None, "Administrator") == (admin, "WEBSERVER", SidTypeUser)
    assert LookupAccountName("WEBSERVER", "webserver\\administrator") == (admin, "WEBSERVER",
                                                                          SidTypeUser)
    assert LookupAccountSid(None, admin) == ("Administrator", "WEBSERVER", SidTypeUser)
    assert LookupAccountSid(None, f"{machine.machine_sid}-501") == ("Guest", "WEBSERVER",
                                                                     SidTypeUser)
    assert LookupAccountName(None, "None")[2] == SidTypeGroup
    assert LookupAccountSid(None, machine.machine_sid) == ("WEBSERVER", "WEBSERVER",
                                                           SidTypeDomain)


def test_lookup_failures_set_last_error(machine):
    with raises_hresult(ERROR_NONE_MAPPED):
        LookupAccountName(None, "nobody-here")
    assert GetLastError() == ERROR_NONE_MAPPED
    with raises_hresult(ERROR_NONE_MAPPED):
        LookupAccountSid(None, "S-1-5-21-1-2-3-1234")
    with raises_hresult(RPC_S_SERVER_UNAVAILABLE):
        LookupAccountName("OTHERHOST", "Administrators")
    assert GetLastError() == RPC_S_SERVER_UNAVAILABLE
    with raises_hresult(ERROR_INVALID_SID):
        LookupAccountSid(None, b"\x01")


def test_lookup_sid_binary_form(machine):
    assert LookupAccountSid(None, Sid("S-1-5-18").to_bytes()) == ("SYSTEM", "NT AUTHORITY",
                                                                   SidTypeWellKnownGroup)


@pytest.mark.parametrize("sid, shown", [
    ("S-1-5-18", "NT AUTHORITY\\SYSTEM"),
    ("S-1-5-32-544", "BUILTIN\\Administrators"),
    ("S-1-1-0", "Everyone"),
    ("S-1-3-0", "CREATOR OWNER"),
    ("S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415",
     "IIS APPPOOL\\DefaultAppPool"),
    ("S-1-5-21-1-2-3-4", "S-1-5-21-1-2-3-4"),  # unmapped: icacls prints the SID
])
def test_account_display(machine, sid, shown):
    assert account_display(machine, sid) == shown


def test_account_display_local_admin(machine):
    assert account_display(machine, f"{machine.machine_sid}-500") == "WEBSERVER\\Administrator"


# --- local users ------------------------------------------------------------------------


def test_create_local_user_allocates_rids(machine):
    alice = create_local_user(machine, "alice")
    bob = create_local_user(machine, "bob", groups=())
    assert str(alice) == f"{machine.machine_sid}-1000"
    assert str(bob) == f"{machine.machine_sid}-1001"
    assert LookupAccountName(None, "ALICE") == (alice, "WEBSERVER", SidTypeUser)
    assert Sid("S-1-5-32-545") in resolve_token(machine, "alice").groups
    assert Sid("S-1-5-32-545") not in resolve_token(machine, "bob").groups


def test_create_local_user_duplicate_changes_nothing(machine):
    create_local_user(machine, "alice")
    with raises_hresult(NERR_UserExists):
        create_local_user(machine, "Alice")
    with raises_hresult(NERR_UserExists):
        create_local_user(machine, "Administrator")
    with raises_hresult(NERR_UserExists):
        create_local_user(machine, "Administrators")
    with raises_hresult(ERROR_INVALID_PARAMETER):
        create_local_user(machine, "bad/name")
    assert str(create_local_user(machine, "carol")) == f"{machine.machine_sid}-1001"


# --- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [
    "NT AUTHORITY\\NETWORK SERVICE", "NETWORK SERVICE", "NetworkService",
    "NT AUTHORITY\\NetworkService", "networkservice", "NS", "S-1-5-20",
])
def test_network_service_spellings(machine, spec):
    token = resolve_token(machine, spec)
    assert token.user == Sid("S-1-5-20")
    assert token.name == "NT AUTHORITY\\NETWORK SERVICE"
    assert token.profile_dir == r"C:\Windows\ServiceProfiles\NetworkService"
    assert not token.is_admin
    assert token.has_sid(Sid("S-1-5-6")) and token.has_sid(Sid("S-1-5-11"))


@pytest.mark.parametrize("spec", ["LocalSystem", "SYSTEM", "NT AUTHORITY\\SYSTEM", "sy"])
def test_system_token(machine, spec):
    token = resolve_token(machine, spec)
    assert token.name == "NT AUTHORITY\\SYSTEM"
    assert token.is_admin  # SYSTEM's token carries BUILTIN\Administrators
    assert token.profile_dir == r"C:\Windows\System32\config\systemprofile"


def test_default_identity_is_elevated_local_administrator(machine):
    token = resolve_token(machine, None)
    assert token.name == "WEBSERVER\\Administrator"
    assert token.is_admin
    assert token.owner == Sid("S-1-5-32-544")  # admins' objects are owned by the group
    assert token.profile_dir == r"C:\Users\Administrator"
    for spec in (".\\Administrator", "WEBSERVER\\Administrator", "administrator"):
        assert resolve_token(machine, spec).user == token.user


def test_app_pool_token(machine):
    token = resolve_token(machine, "IIS APPPOOL\\DefaultAppPool")
    assert token.name == "IIS APPPOOL\\DefaultAppPool"
    assert token.has_sid(Sid("S-1-5-32-568"))  # IIS_IUSRS
    assert token.has_sid(Sid("S-1-5-82-0"))
    assert token.profile_dir == r"C:\Users\DefaultAppPool"
    assert resolve_token(machine, "NT SERVICE\\W3SVC").user == service_sid("W3SVC")


def test_service_profiles_on_2003(make_machine):
    old = make_machine(os_version="2003")
    assert resolve_token(old, "NetworkService").profile_dir == \
        r"C:\Documents and Settings\NetworkService"
    assert resolve_token(old, "LocalService").profile_dir == \
        r"C:\Documents and Settings\LocalService"


def test_groups_and_unknown_names_cannot_run(machine):
    # LogonUser for a group name fails: ERROR_LOGON_FAILURE (documented choice).
    with raises_hresult(ERROR_LOGON_FAILURE):
        resolve_token(machine, "BUILTIN\\Administrators")
    with raises_hresult(ERROR_LOGON_FAILURE):
        resolve_token(machine, "Everyone")
    with raises_hresult(ERROR_NONE_MAPPED):
        resolve_token(machine, "nobody")
    with raises_hresult(ERROR_NONE_MAPPED):
        with run_as("IIS APPPOOL\\Missing"):
            pass


def test_run_as_switches_current_token(machine):
    with run_as("NetworkService"):
        assert current_token().user == Sid("S-1-5-20")
        with run_as("IIS APPPOOL\\DefaultAppPool"):
            assert current_token().user == app_pool_sid("DefaultAppPool")
    assert current_token().is_admin

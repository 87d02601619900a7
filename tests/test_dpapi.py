"""CryptProtectData / CryptUnprotectData (Wine crypt32/tests/protectdata.c = P)."""

from capi import run_as
from capi.constants import CRYPTPROTECT_LOCAL_MACHINE
from capi.crypt32.protect import CryptProtectData, CryptUnprotectData
from capi.errors import *
from capi.host.dpapi import DPAPI_PREFIX
from capi.testing import raises_hresult

SECRET = b"I am a super secret string that no one can see!\x00"
KEY = b"Wibble wibble wibble\x00"


def test_round_trip_with_description_and_entropy(machine):
    blob = CryptProtectData(SECRET, "Ultra secret test message", KEY, None, None, 0)
    assert blob.startswith(DPAPI_PREFIX) and SECRET not in blob
    assert CryptUnprotectData(blob, KEY, None, None, 0) == (SECRET, "Ultra secret test message")
    plain = CryptProtectData(SECRET, None, None, None, None, 0)
    assert CryptUnprotectData(plain) == (SECRET, "")  # P: empty description


def test_errors(machine):
    with raises_hresult(ERROR_INVALID_PARAMETER):  # P: no plain data
        CryptProtectData(None)
    with raises_hresult(ERROR_INVALID_PARAMETER):  # P: no source
        CryptUnprotectData(None)
    assert GetLastError() == ERROR_INVALID_PARAMETER
    blob = CryptProtectData(SECRET, None, KEY)
    with raises_hresult(ERROR_INVALID_DATA):  # P: without the needed entropy
        CryptUnprotectData(blob)
    with raises_hresult(ERROR_INVALID_DATA):  # P: wrong entropy
        CryptUnprotectData(blob, blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with raises_hresult(ERROR_INVALID_DATA):
        CryptUnprotectData(tampered, KEY)
    # Not a DPAPI blob at all: ERROR_INVALID_PARAMETER, as real Windows answers
    # CryptUnprotectData on Chrome 80+ "v10" values (pywin32 and .NET reports of "The
    # parameter is incorrect." in public GitHub issues).
    with raises_hresult(ERROR_INVALID_PARAMETER):
        CryptUnprotectData(b"garbage")
    assert GetLastError() == ERROR_INVALID_PARAMETER


def test_user_scope_and_machine_scope(machine):
    mine = CryptProtectData(SECRET)
    shared = CryptProtectData(SECRET, None, None, None, None, CRYPTPROTECT_LOCAL_MACHINE)
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        # another user's blob: "Key not valid for use in specified state."
        with raises_hresult(NTE_BAD_KEY_STATE):
            CryptUnprotectData(mine)
        assert CryptUnprotectData(shared)[0] == SECRET
    secrets = sorted(p.name for p in (machine.path / "secrets").iterdir())
    assert "machine.key" in secrets and any(s.startswith("user-S-1-5-21-") for s in secrets)
    for p in (machine.path / "secrets").iterdir():
        assert p.stat().st_mode & 0o777 == 0o600

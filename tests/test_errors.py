"""The HRESULT table and the WinError hierarchy."""

import pickle
import threading

import pytest

import capi
from capi import errors

MESSAGE_TEXTS = [  # winerror.h MessageText, docs/windows-facts.md §3
    (0x80070520, "ERROR_NO_SUCH_LOGON_SESSION",
     "A specified logon session does not exist. It may already have been terminated."),
    (0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS", "The credentials supplied to the package were not recognized"),
    (0x8009030E, "SEC_E_NO_CREDENTIALS", "No credentials are available in the security package"),
    (0x80090016, "NTE_BAD_KEYSET", "Keyset does not exist"),
    (0x8009000B, "NTE_BAD_KEY_STATE", "Key not valid for use in specified state."),
    (0x8009000F, "NTE_EXISTS", "Object already exists."),
    (0x80090010, "NTE_PERM", "Access denied."),
    (0x80090011, "NTE_NOT_FOUND", "Object was not found."),
    (0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property."),
    (0x80092005, "CRYPT_E_EXISTS", "The object or property already exists."),
    (0x80070005, "E_ACCESSDENIED", "Access is denied."),
    (0x80070056, "ERROR_INVALID_PASSWORD", "The specified network password is not correct."),
]


@pytest.mark.parametrize("code, name, text", MESSAGE_TEXTS)
def test_message_texts(code, name, text):
    exc = capi.WinError(code)
    assert (exc.hresult, exc.name, exc.strerror) == (code, name, text)
    assert isinstance(exc, OSError)


def test_family_classes_and_constants():
    assert isinstance(capi.WinError(capi.NTE_BAD_KEYSET), capi.BadKeyset)
    assert isinstance(capi.WinError(capi.E_ACCESSDENIED), capi.AccessDenied)
    assert isinstance(capi.WinError(capi.NTE_PERM), capi.AccessDenied)
    assert isinstance(capi.WinError(capi.CRYPT_E_NOT_FOUND), capi.NotFound)
    assert capi.NTE_BAD_KEYSET == 0x80090016 and capi.ERROR_NO_SUCH_LOGON_SESSION == 1312
    with pytest.raises(capi.BadKeyset):
        raise capi.WinError(capi.NTE_BAD_KEYSET)


def test_win32_codes_and_getlasterror_values():
    # A Win32 failure is raised as its HRESULT and reported by GetLastError as itself...
    exc = capi.WinError(1312)
    assert (exc.hresult, exc.winerror) == (0x80070520, 1312)
    # ...while E_INVALIDARG and ERROR_INVALID_PARAMETER share an HRESULT but not a last error
    # (Wine's tests check GetLastError() == E_INVALIDARG in some APIs, 87 in others).
    assert capi.WinError(capi.E_INVALIDARG).winerror == 0x80070057
    assert capi.WinError(capi.ERROR_INVALID_PARAMETER).winerror == 87
    assert capi.WinError(capi.NTE_BAD_KEYSET).winerror == 0x80090016
    assert errors.HRESULT_FROM_WIN32(5) == 0x80070005 and errors.to_signed(0x80090011) == -2146893807


def test_every_row_is_complete_and_unique():
    names = [i.name for i in (*errors.WIN32.values(), *errors.HRESULTS.values())]
    assert len(names) == len(set(names))
    for info in (*errors.WIN32.values(), *errors.HRESULTS.values()):
        assert info.message and info.family in errors._FAMILIES


def test_unknown_code_and_pickling():
    exc = capi.WinError(0x8BADF00D)
    assert exc.name == "0x8BADF00D" and type(exc) is capi.WinError
    again = pickle.loads(pickle.dumps(capi.WinError(capi.NTE_BAD_KEYSET, detail="x")))
    assert isinstance(again, capi.BadKeyset) and again.detail == "x"


def test_last_error_is_per_thread(machine):
    with pytest.raises(capi.WinError):
        capi.CryptAcquireContext("missing", capi.MS_ENHANCED_PROV, capi.PROV_RSA_FULL, 0)
    assert capi.GetLastError() == capi.NTE_BAD_KEYSET
    other = []
    t = threading.Thread(target=lambda: other.append(capi.GetLastError()))
    t.start()
    t.join()
    assert other == [0]

"""``winpki provider``: registrations, token removal, and failures as clear messages."""

from __future__ import annotations

import io

from csp import tokens
from winpki.cli import main


def winpki(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def test_add_list_remove(machine, softhsm_token):
    t = softhsm_token
    code, out, err = winpki("provider", "add-pkcs11", "--name", "Contoso HSM KSP", "--module", t.module,
                            "--token-label", t.label, "--pin", t.pin)
    assert code == 0, err
    assert f'Provider "Contoso HSM KSP" (KSP) bound to token "{t.label}"' in out
    code, out, _ = winpki("provider", "list")
    assert code == 0
    assert "Contoso HSM KSP" in out and f"Token label: {t.label}" in out
    assert "Token:       present" in out and "PIN:         registered" in out
    # The PIN is never kept in clear in the machine database.
    assert t.pin.encode() + b'"' not in (machine.path / "machine.db").read_bytes()
    assert winpki("provider", "remove", "Contoso HSM KSP")[0] == 0
    assert "No providers are bound to tokens." in winpki("provider", "list")[1]


def test_smart_card_csp_binds_with_its_own_kind(machine, softhsm_token):
    t = softhsm_token
    code, out, err = winpki("provider", "add-pkcs11", "--name", "Microsoft Base Smart Card Crypto Provider",
                            "--module", t.module, "--token-label", t.label, "--kind", "ksp")
    assert code == 0, err
    assert "(CSP)" in out
    [reg] = tokens.list_pkcs11(machine)
    assert reg.prov_type == 1  # PROV_RSA_FULL


def test_wrong_pin_message(machine, softhsm_token):
    t = softhsm_token
    code, out, err = winpki("provider", "add-pkcs11", "--name", "HSM", "--module", t.module,
                            "--token-label", t.label, "--pin", "0000")
    assert code == 1 and out == ""
    assert "add-pkcs11 FAILED: 0x8010006b (-2146434965 SCARD_W_WRONG_CHV)" in err
    assert "The card cannot be accessed because the wrong PIN was presented." in err
    assert "Traceback" not in err


def test_unknown_label_and_module_messages(machine, softhsm_token, tmp_path):
    code, _, err = winpki("provider", "add-pkcs11", "--name", "HSM", "--module", softhsm_token.module,
                          "--token-label", "nope")
    assert code == 1 and "SCARD_E_NO_SMARTCARD" in err
    assert "no Smart Card is currently in the device" in err
    code, _, err = winpki("provider", "add-pkcs11", "--name", "HSM", "--module",
                          str(tmp_path / "none.so"), "--token-label", "x")
    assert code == 1 and "0x8009001e" in err and "Provider DLL could not be found." in err
    (tmp_path / "junk.so").write_text("junk")
    code, _, err = winpki("provider", "add-pkcs11", "--name", "HSM", "--module",
                          str(tmp_path / "junk.so"), "--token-label", "x")
    assert code == 1 and "Provider DLL failed to initialize correctly." in err


def test_remove_and_insert_token(machine, softhsm_token):
    t = softhsm_token
    winpki("provider", "add-pkcs11", "--name", "HSM", "--module", t.module, "--token-label", t.label,
           "--pin", t.pin, "--kind", "csp")
    code, out, _ = winpki("provider", "remove-token", t.label)
    assert code == 0 and f'Token "{t.label}" removed.' in out
    assert "Token:       removed" in winpki("provider", "list")[1]
    code, _, err = winpki("provider", "propagate", "HSM")
    assert code == 1 and "SCARD_E_NO_SMARTCARD" in err
    code, out, _ = winpki("provider", "insert-token", t.label)
    assert code == 0 and f'Token "{t.label}" inserted.' in out
    assert "Token:       present" in winpki("provider", "list")[1]


def test_usage_errors_exit_2_without_traceback(machine):
    code, _, err = winpki("provider", "add-pkcs11", "--name", "x")
    assert code == 2 and "required" in err and "Traceback" not in err
    code, _, err = winpki("provider", "remove", "not-registered")
    assert code == 1 and "NTE_KEYSET_NOT_DEF" in err

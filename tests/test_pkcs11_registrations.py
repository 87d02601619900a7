"""Each token registration authenticates for itself: a PKCS#11 login made through one
machine's (or one provider's) registration does not let another registration of the same
token in the same process use the private keys without a PIN of its own.

PKCS#11 allows one login per token per process (a second C_Login is
CKR_USER_ALREADY_LOGGED_IN, PKCS#11 v2.40 §5.6 C_Login), so a second registration's PIN is
checked against the PIN that logged in. Without a PIN, the smart-card behaviour for a
missing PIN: SCARD_W_CARD_NOT_AUTHENTICATED ("No PIN was presented to the smart card",
winerror.h), or NTE_SILENT_CONTEXT under CRYPT_SILENT / NCRYPT_SILENT_FLAG (CryptAcquireContext
docs: a CSP that must display UI fails with NTE_SILENT_CONTEXT).
"""

from __future__ import annotations

import hashlib

import pytest

from capi import *
from capi.testing import raises_hresult
from csp import pkcs11 as p11
from csp import tokens

KSP = "Contoso HSM KSP"
CSP = "Contoso HSM CSP"
DIGEST = hashlib.sha256(b"signed by whom?").digest()


@pytest.fixture
def two_machines(make_machine, softhsm_token):
    p11.drop_token(softhsm_token.label)  # no login left over in this process
    a, b = make_machine(), make_machine()
    # Machine A registers the token with its PIN and makes a key on it.
    tokens.add_pkcs11(a, KSP, softhsm_token.module, softhsm_token.label, pin=softhsm_token.pin)
    with use_machine(a):
        ksp = NCryptOpenStorageProvider(KSP)
        key = NCryptCreatePersistedKey(ksp, "ECDSA_P256", "shared")
        NCryptFinalizeKey(key)
        NCryptSignHash(key, None, DIGEST, 0)  # A is logged in now
    # A keeps its key open (a service of A's in this process), so the login stays.
    yield a, b, softhsm_token
    NCryptFreeObject(key)


def test_other_machine_without_pin_cannot_sign(two_machines):
    a, b, t = two_machines
    tokens.add_pkcs11(b, KSP, t.module, t.label)  # same token, same name, no PIN
    with use_machine(b):
        key = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")  # opening needs no PIN
        with raises_hresult(SCARD_W_CARD_NOT_AUTHENTICATED):
            NCryptSignHash(key, None, DIGEST, 0)
        quiet = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared", 0, NCRYPT_SILENT_FLAG)
        with raises_hresult(NTE_SILENT_CONTEXT):
            NCryptSignHash(quiet, None, DIGEST, 0)
        # Its own PIN, checked against the PIN of the process's one login.
        with raises_hresult(SCARD_W_WRONG_CHV):
            NCryptSetProperty(key, NCRYPT_PIN_PROPERTY, "9999")
        with raises_hresult(SCARD_W_CARD_NOT_AUTHENTICATED):
            NCryptSignHash(key, None, DIGEST, 0)
        NCryptSetProperty(key, NCRYPT_PIN_PROPERTY, t.pin)
        sig = NCryptSignHash(key, None, DIGEST, 0)
        NCryptVerifySignature(key, None, DIGEST, sig, 0)
        # Once presented, the PIN serves B's other handles too: the Base CSP caches a
        # card's PIN under the standard PIN_CACHE_POLICY (Microsoft KB 4516455, "Registry
        # keys for smart card PIN caching options are no longer available in Windows 10").
        other = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")
        NCryptSignHash(other, None, DIGEST, 0)
    with use_machine(a):  # A's own registration is still logged in
        key = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")
        NCryptSignHash(key, None, DIGEST, 0)


def test_other_machine_registration_pin_is_checked(two_machines):
    a, b, t = two_machines
    # Registering verifies the PIN: against the login already made in this process.
    with raises_hresult(SCARD_W_WRONG_CHV):
        tokens.add_pkcs11(b, KSP, t.module, t.label, pin="0000")
    tokens.add_pkcs11(b, KSP, t.module, t.label, pin=t.pin)
    with use_machine(b):
        key = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")
        NCryptSignHash(key, None, DIGEST, 0)


def test_second_provider_on_same_machine_authenticates_for_itself(two_machines):
    a, _, t = two_machines
    tokens.add_pkcs11(a, CSP, t.module, t.label, kind="csp")  # no PIN
    with use_machine(a):
        h = CryptAcquireContext("csp-key", CSP, PROV_RSA_FULL, CRYPT_NEWKEYSET | CRYPT_SILENT)
        with raises_hresult(NTE_SILENT_CONTEXT):
            CryptGenKey(h, AT_SIGNATURE, 1024 << 16)


def test_registration_login_survives_for_its_own_handles(two_machines):
    a, b, t = two_machines
    tokens.add_pkcs11(b, KSP, t.module, t.label)
    with use_machine(b):
        key = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")
        with raises_hresult(SCARD_W_CARD_NOT_AUTHENTICATED):
            NCryptSignHash(key, None, DIGEST, 0)
    # A's registration keeps working, with new handles, after B was refused.
    with use_machine(a):
        for _ in range(2):
            key = NCryptOpenKey(NCryptOpenStorageProvider(KSP), "shared")
            NCryptSignHash(key, None, DIGEST, 0)

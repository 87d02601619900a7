"""RSA-2048 signing on a SoftHSM2 key: the NCrypt facade against raw python-pkcs11.

Both sides sign the same SHA-256 digest with the same token key and the same mechanism
(CKM_RSA_PKCS over the DigestInfo), in the same run. The facade must not re-login, re-open
sessions or re-find objects per signature, so its throughput stays within 10% of raw.
"""

from __future__ import annotations

import hashlib

from ratio import rate_ratio

from capi import (
    BCRYPT_PAD_PKCS1,
    BCRYPT_PKCS1_PADDING_INFO,
    NCRYPT_LENGTH_PROPERTY,
    NCryptCreatePersistedKey,
    NCryptFinalizeKey,
    NCryptOpenKey,
    NCryptOpenStorageProvider,
    NCryptSetProperty,
    NCryptSignHash,
)
from csp import pkcs11 as p11
from csp import tokens

DIGEST = hashlib.sha256(b"benchmark").digest()
PAD = BCRYPT_PKCS1_PADDING_INFO("SHA256")
ROUNDS = 200


def _setup(machine, token):
    tokens.add_pkcs11(machine, "Bench HSM", token.module, token.label, pin=token.pin)
    ksp = NCryptOpenStorageProvider("Bench HSM")
    key = NCryptCreatePersistedKey(ksp, "RSA", "bench")
    NCryptSetProperty(key, NCRYPT_LENGTH_PROPERTY, 2048)
    NCryptFinalizeKey(key)
    key = NCryptOpenKey(ksp, "bench")
    # Raw python-pkcs11 on the same token and key: a second session of this process (the
    # token is already logged in — one login per application, so no PIN here).
    link = p11.load_module(token.module).link(token.label)
    raw_session = link.module.find_token(token.label).open()
    import pkcs11

    [raw_key] = list(raw_session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                                              pkcs11.Attribute.LABEL: "bench"}))
    data = p11.digest_info("sha256", DIGEST)

    def raw():
        return raw_key.sign(data, mechanism=pkcs11.Mechanism.RSA_PKCS)

    def facade():
        return NCryptSignHash(key, PAD, DIGEST, BCRYPT_PAD_PKCS1)

    return raw, facade, raw_session


def test_facade_signing_throughput_ratio(machine, softhsm_token):
    raw, facade, session = _setup(machine, softhsm_token)
    try:
        assert raw() == facade()  # deterministic PKCS#1 v1.5: same key, same bytes
        rate_ratio("NCryptSignHash on SoftHSM2", raw, facade, 0.90, rounds=ROUNDS)
    finally:
        session.close()


def test_bench_raw_sign(benchmark, machine, softhsm_token):
    raw, _, session = _setup(machine, softhsm_token)
    try:
        benchmark(raw)
    finally:
        session.close()


def test_bench_facade_sign(benchmark, machine, softhsm_token):
    _, facade, session = _setup(machine, softhsm_token)
    try:
        benchmark(facade)
    finally:
        session.close()

"""ncrypt.dll EC overhead: NCryptSecretAgreement + NCryptDeriveKey (HASH, SHA-256) and
NCryptSignHash (ECDSA P-256) against the cryptography package doing the same work with
the same keys in the same run. Each must reach 0.8 of cryptography's rate. Run with
`make bench`."""

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from ratio import rates

from capi.bcrypt.structs import BCryptBuffer, BCryptBufferDesc
from capi.constants import *
from capi.formats.blobs import bcrypt_ecc_blob
from capi.ncrypt import agreement as ag
from capi.ncrypt import keystorage as nc

DIGEST = hashlib.sha256(b"ecc benchmark").digest()
SHA256 = BCryptBufferDesc(0, [BCryptBuffer(0, 0, "SHA256")])


def _agreement_pair(prov):
    ours_priv = ec.generate_private_key(ec.SECP256R1())
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    h_priv = nc.NCryptImportKey(prov, None, BCRYPT_ECCPRIVATE_BLOB, None,
                                bcrypt_ecc_blob(ours_priv, "ECDH_P256", True), 0)
    h_pub = nc.NCryptImportKey(prov, None, BCRYPT_ECCPUBLIC_BLOB, None,
                               bcrypt_ecc_blob(peer, "ECDH_P256", False), 0)

    def ours():
        secret = ag.NCryptSecretAgreement(h_priv, h_pub, 0)
        out = ag.NCryptDeriveKey(secret, "HASH", SHA256)
        nc.NCryptFreeObject(secret)
        return out

    def raw():
        h = hashes.Hash(hashes.SHA256())
        h.update(ours_priv.exchange(ec.ECDH(), peer))
        return h.finalize()

    return ours, raw, True


def _sign_pair(prov):
    private = ec.generate_private_key(ec.SECP256R1())
    key = nc.NCryptImportKey(prov, None, BCRYPT_ECCPRIVATE_BLOB, None,
                             bcrypt_ecc_blob(private, "ECDSA_P256", True), 0)

    def ours():
        return nc.NCryptSignHash(key, None, DIGEST, 0)

    def raw():
        r, s = utils.decode_dss_signature(private.sign(DIGEST, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    ours.verify = lambda sig: nc.NCryptVerifySignature(key, None, DIGEST, sig, 0)
    return ours, raw, False


CASES = {"ecdh-p256-hash": _agreement_pair, "ecdsa-p256-sign": _sign_pair}


@pytest.mark.parametrize("case", CASES)
def test_ncrypt_ecc_ratio(benchmark, machine, case):
    with nc.NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER) as prov:
        ours, raw, deterministic = CASES[case](prov)
        if deterministic:
            assert ours() == raw()  # the same work, byte for byte
        else:
            ours.verify(raw())  # ECDSA is randomized: each side's output verifies
            ours.verify(ours())
        benchmark(ours)
        ours_rate, raw_rate = rates(ours, raw, rounds=300)
        ratio = ours_rate / raw_rate
        benchmark.extra_info.update(ncrypt_per_s=round(ours_rate, 1), raw_per_s=round(raw_rate, 1),
                                    ratio=round(ratio, 3))
        print(f"\n{case}: ncrypt {ours_rate:.0f}/s cryptography {raw_rate:.0f}/s ratio {ratio:.3f}")
        assert ratio >= 0.8

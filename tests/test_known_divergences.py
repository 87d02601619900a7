"""Known divergences from Windows, each an xfail(strict=True) that says why. If one starts
passing, the divergence is gone and the marker must go with it."""

import pytest

from capi import (
    AT_KEYEXCHANGE,
    CRYPT_VERIFYCONTEXT,
    KP_KEYLEN,
    MS_DEF_PROV,
    PROV_RSA_FULL,
    CryptAcquireContext,
    CryptGenKey,
    CryptGetKeyParam,
)


@pytest.mark.xfail(strict=True, reason="Windows' Base provider generates RSA keys from 384 bits "
                   "(its PP_ENUMALGS_EX minimum); cryptography and the openssl command refuse "
                   "moduli under 512 bits, so winpki answers NTE_FAIL")
def test_384_bit_key_exchange_key(machine):
    prov = CryptAcquireContext(None, MS_DEF_PROV, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)
    key = CryptGenKey(prov, AT_KEYEXCHANGE, 384 << 16)
    assert CryptGetKeyParam(key, KP_KEYLEN) == 384


@pytest.mark.xfail(strict=True, reason="The project's first contract named NTE_BAD_KEY_STATE for a key whose "
                   "Export Policy lacks ALLOW_EXPORT; Windows' NCryptExportKey answers NTE_NOT_SUPPORTED "
                   "(.NET: 'The requested operation is not supported.') and winpki follows Windows. "
                   "CAPI PRIVATEKEYBLOB and PFX export do give NTE_BAD_KEY_STATE "
                   "(docs/windows-facts.md §9 #5).")
def test_cng_private_export_code_named_by_design(machine):
    from capi import (
        BCRYPT_RSAPRIVATE_BLOB,
        MS_KEY_STORAGE_PROVIDER,
        NCryptCreatePersistedKey,
        NCryptExportKey,
        NCryptFinalizeKey,
        NCryptOpenStorageProvider,
    )
    from capi.errors import NTE_BAD_KEY_STATE
    from capi.testing import raises_hresult

    with NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER) as prov:
        key = NCryptCreatePersistedKey(prov, "RSA", "design-6")
        NCryptFinalizeKey(key)
        with raises_hresult(NTE_BAD_KEY_STATE):
            NCryptExportKey(key, None, BCRYPT_RSAPRIVATE_BLOB)

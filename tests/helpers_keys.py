"""Put a server certificate into LocalMachine\\My linked to a real private key, the way a
PFX import or certreq -accept leaves it, so Schannel/IIS tests start from real state."""

from __future__ import annotations

import datetime
import uuid

from cryptography.hazmat.primitives import serialization
from helpers_certs import make_cert, rsa_key

from capi import (
    AT_KEYEXCHANGE,
    AT_SIGNATURE,
    CALG_RSA_KEYX,
    CALG_RSA_SIGN,
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_STORE_ADD_NEW,
    CERT_STORE_PROV_SYSTEM,
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CRYPT_EXPORTABLE,
    CRYPT_KEY_PROV_INFO,
    CRYPT_MACHINE_KEYSET,
    CRYPT_NEWKEYSET,
    MS_KEY_STORAGE_PROVIDER,
    MS_STRONG_PROV,
    NCRYPT_ALLOW_EXPORT_FLAG,
    NCRYPT_DO_NOT_FINALIZE_FLAG,
    NCRYPT_EXPORT_POLICY_PROPERTY,
    NCRYPT_MACHINE_KEY_FLAG,
    NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
    PROV_RSA_FULL,
    X509_ASN_ENCODING,
    CertAddEncodedCertificateToStore,
    CertOpenStore,
    CertSetCertificateContextProperty,
    CryptAcquireContext,
    CryptImportKey,
    CryptReleaseContext,
    NCryptFinalizeKey,
    NCryptFreeObject,
    NCryptImportKey,
    NCryptOpenStorageProvider,
    NCryptSetProperty,
)
from capi.formats.blobs import capi_private_blob

NOW = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)


def install_server_cert(*, keyspec: int = AT_KEYEXCHANGE, provider: str = MS_STRONG_PROV,
                        prov_type: int = PROV_RSA_FULL, exportable: bool = True,
                        cng: bool = False, cn: str = "www.contoso.com", bits: int = 2048,
                        key=None):
    """(certificate context in LocalMachine\\My, container name) for a fresh machine key
    (``key``: that private key instead of a new RSA one; an EC key needs ``cng``)."""
    key = key if key is not None else rsa_key(bits)
    der = make_cert(cn, key=key, dns=(cn,), not_before=NOW)
    container = "{" + str(uuid.uuid4()).upper() + "}"
    if cng:
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        with NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER, 0) as prov:
            h = NCryptImportKey(prov, None, NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
                                {"NCRYPTBUFFER_PKCS_KEY_NAME": container}, pkcs8,
                                NCRYPT_MACHINE_KEY_FLAG | NCRYPT_DO_NOT_FINALIZE_FLAG)
            if exportable:
                NCryptSetProperty(h, NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_ALLOW_EXPORT_FLAG, 0)
            NCryptFinalizeKey(h, 0)
            NCryptFreeObject(h)
        info = CRYPT_KEY_PROV_INFO(container, MS_KEY_STORAGE_PROVIDER, 0, CRYPT_MACHINE_KEYSET, 0)
    else:
        prov = CryptAcquireContext(container, provider, prov_type,
                                   CRYPT_NEWKEYSET | CRYPT_MACHINE_KEYSET)
        alg = CALG_RSA_KEYX if keyspec == AT_KEYEXCHANGE else CALG_RSA_SIGN
        CryptImportKey(prov, capi_private_blob(key, alg), None,
                       CRYPT_EXPORTABLE if exportable else 0)
        CryptReleaseContext(prov, 0)
        info = CRYPT_KEY_PROV_INFO(container, provider, prov_type, CRYPT_MACHINE_KEYSET, keyspec)
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "My") as store:
        ctx = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
    return ctx, container


__all__ = ["install_server_cert", "AT_SIGNATURE", "AT_KEYEXCHANGE"]


def install_token_cert(machine, token, provider: str, key_name: str, subject: str,
                       serial: int):
    """A token-bound KSP named ``provider`` for ``token`` (the softhsm_token fixture), a
    2048-bit RSA key ``key_name`` made on the token, and a certificate for that key
    (``subject``, ``serial``; issued by a throwaway EC CA) in LocalMachine\\My, linked to
    the key: (context, certificate DER, key handle). The token stays logged in while the
    key handle lives."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from helpers_certs import BASE_TIME, name

    from capi.constants import NCRYPT_LENGTH_PROPERTY
    from capi.ncrypt.keystorage import NCryptCreatePersistedKey
    from csp import tokens

    tokens.add_pkcs11(machine, provider, token.module, token.label, pin=token.pin)
    key = NCryptCreatePersistedKey(NCryptOpenStorageProvider(provider), "RSA", key_name)
    NCryptSetProperty(key, NCRYPT_LENGTH_PROPERTY, 2048)
    NCryptFinalizeKey(key)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    der = (x509.CertificateBuilder().subject_name(name(subject))
           .issuer_name(name(f"{subject} ca")).public_key(key.key.public).serial_number(serial)
           .not_valid_before(BASE_TIME)
           .not_valid_after(BASE_TIME + datetime.timedelta(days=3650))
           .sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                       "My") as my:
        ctx = CertAddEncodedCertificateToStore(my, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)
        CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0,
                                          CRYPT_KEY_PROV_INFO(key_name, provider, 0, 0, 0))
    return ctx, der, key

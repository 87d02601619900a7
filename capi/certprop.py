"""The Certificate Propagation service (CertPropSvc): when a smart card is inserted, the
certificates on it are copied into CurrentUser\\My of the logged-on user, each with
CERT_KEY_PROV_INFO_PROP_ID naming the card's provider and container, so that
CryptAcquireCertificatePrivateKey finds the key on the card.

A service on top of the facade (it writes a system store), as on Windows.
"""

from __future__ import annotations

import hashlib

from capi.constants import (
    CERT_KEY_PROV_INFO_PROP_ID,
    CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES,
    CERT_STORE_PROV_SYSTEM,
    CERT_SYSTEM_STORE_CURRENT_USER,
    PKCS_7_ASN_ENCODING,
    X509_ASN_ENCODING,
)
from capi.crypt32.cert import CertSetCertificateContextProperty
from capi.crypt32.context import CRYPT_KEY_PROV_INFO
from capi.crypt32.store import CertAddEncodedCertificateToStore, CertCloseStore, CertOpenStore
from capi.host.context import use_machine
from csp import tokens

__all__ = ["propagate_certificates", "insert_token"]


def propagate_certificates(machine, provider_name: str) -> list[str]:
    """Copy the certificates on the provider's token into CurrentUser\\My of the current
    identity. Returns the SHA-1 thumbprints added or refreshed; SCARD_E_NO_SMARTCARD
    while the card is out."""
    provider, found = tokens.card_certificates(machine, provider_name)
    prov_type = getattr(provider, "prov_type", 0)
    thumbs = []
    with use_machine(machine):
        store = CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_CURRENT_USER, "My")
        try:
            for container, spec, der in found:
                ctx = CertAddEncodedCertificateToStore(
                    store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, der,
                    CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES)
                info = CRYPT_KEY_PROV_INFO(container, provider.name, prov_type, 0,
                                           spec if provider.kind == "csp" else 0)
                CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, info)
                thumbs.append(hashlib.sha1(der).hexdigest().upper())
        finally:
            CertCloseStore(store, 0)
    return thumbs


def insert_token(machine, label: str, *, propagate: bool = True) -> list[str]:
    """Put the card back; returns the thumbprints propagated to CurrentUser\\My (every
    CSP bound to the token is asked, as the propagation service reads the card)."""
    tokens.insert_token(machine, label)
    done: list[str] = []
    if propagate:
        for reg in tokens.list_pkcs11(machine):
            if reg.token_label == label and reg.kind == "csp":
                done += propagate_certificates(machine, reg.name)
    return done

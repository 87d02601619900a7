"""Serve an http.sys SSL binding over real TLS, the private key staying in its provider.

``schannel.serve("0.0.0.0:443", listen=("127.0.0.1", 0))`` looks the binding up, acquires
its Schannel credential as lsass does (SYSTEM, the key's ACL, KeySpec, the OS table — the
same checks that make netsh fail with 1312), opens the private key once as SYSTEM, and
serves, on a loopback address, the files of the IIS site whose https binding receives each
request (http.sys's own 404 when no site has one). Every handshake's signature is made by
the provider that holds the key: a software CSP container, the CNG KSP, or a PKCS#11
token — never by a copy of the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa

from capi import constants as C
from capi.errors import ERROR_FILE_NOT_FOUND, WinError
from capi.host.context import current_machine, run_as, use_machine
from capi.host.machine import Machine
from schannel import httpsys, protocols
from schannel.credentials import SYSTEM, ServerCredential

if TYPE_CHECKING:
    from schannel.tls import SignatureScheme, TlsEndpoint


def _cng_plan(scheme: SignatureScheme) -> tuple:
    """(ECDSA?, padding info, NCryptSignHash flags) of a TLS SignatureScheme: PKCS#1 v1.5
    with the hash's DigestInfo, PSS with a salt as long as the hash, the 36 raw bytes of
    TLS 1.0/1.1 (PKCS#1 v1.5 without a DigestInfo), or ECDSA."""
    from capi.ncrypt import keystorage as ncrypt

    if scheme.is_ecdsa:
        return True, None, 0
    if scheme.hash_algorithm is None:  # TLS 1.0/1.1: MD5+SHA-1, no DigestInfo
        return False, ncrypt.BCRYPT_PKCS1_PADDING_INFO(None), C.BCRYPT_PAD_PKCS1
    alg = scheme.hash_name.upper()
    if scheme.is_pss:
        return (False, ncrypt.BCRYPT_PSS_PADDING_INFO(alg, scheme.hash_algorithm.digest_size),
                C.BCRYPT_PAD_PSS)
    return False, ncrypt.BCRYPT_PKCS1_PADDING_INFO(alg), C.BCRYPT_PAD_PKCS1


_CNG_PLANS: dict = {}  # SignatureScheme -> _cng_plan(scheme): made once per scheme


class ProviderServerKey:
    """A TLS server key whose operations go through the provider holding it: a
    ``schannel.tls.ServerKey``, registered as one when the first is made (the TLS
    endpoint, with OpenSSL, is loaded only by what serves)."""

    def __init__(self, machine: Machine, credential: ServerCredential, identity=SYSTEM):
        """Open the key as ``identity``: SYSTEM for http.sys (lsass), the caller's token for
        an in-process SSPI credential (schannel.secur32)."""
        from capi.advapi32.crypt import CryptGetUserKey
        from capi.crypt32.keyacquire import CryptAcquireCertificatePrivateKey
        from schannel.credentials import ACQUIRE_FLAGS
        from schannel.tls import ServerKey

        ServerKey.register(ProviderServerKey)
        cert = credential.certificate
        self._public = cert.x509.public_key()
        self._algorithm = "RSA" if isinstance(self._public, rsa.RSAPublicKey) else "ECDSA"
        with use_machine(machine), run_as(identity):
            self._handle, self._spec, self._free = CryptAcquireCertificatePrivateKey(
                cert, ACQUIRE_FLAGS)
        self._cng = self._spec == C.CERT_NCRYPT_KEY_SPEC
        self._key = self._handle if self._cng else CryptGetUserKey(self._handle, self._spec)
        self.sign_calls = 0
        self.decrypt_calls = 0

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def key_size(self) -> int:
        return self._public.key_size

    @property
    def public_key(self):
        return self._public

    def sign(self, digest: bytes, scheme: SignatureScheme) -> bytes:
        self.sign_calls += 1
        if self._cng:
            from capi.ncrypt import keystorage as ncrypt

            plan = _CNG_PLANS.get(scheme)
            if plan is None:
                plan = _CNG_PLANS[scheme] = _cng_plan(scheme)
            ecdsa, pad, flags = plan
            signature = ncrypt.NCryptSignHash(self._key, pad, digest, flags)
            if ecdsa:
                from schannel.tls import ecdsa_raw_to_der

                return ecdsa_raw_to_der(signature)
            return signature
        # CryptoAPI keys: Windows reaches them through CNG's key router for PSS; the
        # container object does both paddings.
        hash_cls = type(scheme.hash_algorithm) if scheme.hash_algorithm is not None else None
        container, pair = self._key.prov.container, self._key.pair
        if scheme.is_pss:
            return container.sign_pss(pair, digest, hash_cls, len(digest))
        if scheme.hash_algorithm is None:  # CALG_SSL3_SHAMD5: the 36 bytes, no DigestInfo
            return container.sign_hash(pair, digest, None, False)
        return container.sign_hash(pair, digest, hash_cls, True)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """RSA PKCS#1 v1.5 decryption of a TLS_RSA premaster secret, by the provider:
        NCryptDecrypt with NCRYPT_PAD_PKCS1_FLAG for CNG keys, CryptDecrypt (which takes
        the ciphertext little-endian, and refuses AT_SIGNATURE keys with NTE_BAD_KEY) for
        CryptoAPI keys; a PKCS#11 token does it with CKM_RSA_PKCS."""
        self.decrypt_calls += 1
        if self.algorithm != "RSA":
            raise TypeError("only RSA keys decrypt")
        if self._cng:
            from capi.ncrypt import keystorage as ncrypt

            return ncrypt.NCryptDecrypt(self._key, ciphertext, None, C.NCRYPT_PAD_PKCS1_FLAG)
        from capi.advapi32.crypt import CryptDecrypt

        return CryptDecrypt(self._key, None, True, 0, bytes(ciphertext)[::-1])

    def close(self) -> None:
        from schannel.credentials import release_private_key

        if not self._cng:
            from capi.advapi32.crypt import CryptDestroyKey

            CryptDestroyKey(self._key)
        release_private_key(self._handle, self._spec, self._free)


def _chain_der(cert) -> list[bytes]:
    """The certificate and its issuing CAs (not the root), as Schannel sends them; the
    chain is built from LocalMachine's stores, as lsass builds it."""
    from capi.crypt32.chain import CERT_CHAIN_PARA, CERT_USAGE_MATCH, CertGetCertificateChain

    para = CERT_CHAIN_PARA(CERT_USAGE_MATCH(C.USAGE_MATCH_TYPE_AND, [C.szOID_PKIX_KP_SERVER_AUTH]))
    chain = CertGetCertificateChain(C.HCCE_LOCAL_MACHINE, cert, None, None, para, 0)
    elements = [e.pCertContext for e in chain.rgpChain[0].rgpElement]
    if len(elements) > 1 and elements[-1].x509.issuer == elements[-1].x509.subject:
        elements = elements[:-1]  # the root stays with the client
    return [e.pbCertEncoded for e in elements]


def _schannel_events(machine: Machine, settings, user_hook):
    """on_error: a failed negotiation leaves Schannel's System-log events (36874, 36887,
    36888); then the caller's hook runs."""
    top = [p for p in settings.served_protocols if p != "TLS 1.3"]
    protocol = top[-1] if top else "TLS 1.2"

    def hook(address, exc):
        try:
            protocols.log_handshake_failure(machine, str(exc), protocol)
        finally:
            if user_hook is not None:
                user_hook(address, exc)

    return hook


@contextlib.contextmanager
def serve(ipport: str, listen=("127.0.0.1", 0), *, machine: Machine | None = None,
          handler=None, on_handshake=None, **endpoint_options) -> Iterator[TlsEndpoint]:
    """Serve the http.sys binding for ``ipport`` (e.g. "0.0.0.0:443") over TLS on a loopback
    address; yields the running endpoint (``.address`` is (host, port)).

    ``endpoint_options`` go to :class:`~schannel.tls.TlsEndpoint` (``timeouts`` — http.sys's
    timers —, ``max_connections``, ``workers``, ``io_timeout``...).

    Without ``handler`` each request goes to the IIS site whose https binding takes it (its
    files and its sslFlags), or gets http.sys's own 404 when none does. A ``handler``
    answers every request itself, as the site bound to the endpoint (its sslFlags: those of
    the site whose https binding names the endpoint).

    Raises ERROR_FILE_NOT_FOUND when there is no such binding and ERROR_NO_SUCH_LOGON_SESSION
    (0x80070520) when its credential cannot be acquired — as http.sys would.
    """
    from schannel import iisweb  # the HTTP layer (h11), loaded only by what serves
    from schannel.tls import TlsEndpoint
    machine = machine or current_machine()
    endpoint_name = httpsys.parse_ipport(ipport) if "[" in ipport or ipport[:1].isdigit() \
        else httpsys.parse_hostnameport(ipport)
    binding = httpsys.get_binding(machine, endpoint_name)
    if binding is None:
        raise WinError(ERROR_FILE_NOT_FOUND, detail=f"no SSL binding for {ipport}")
    with use_machine(machine):
        credential = httpsys.credential_for(machine, binding)
        key = ProviderServerKey(machine, credential)
        chain = _chain_der(credential.certificate)
    # Each request goes to the site whose https binding http.sys routes it to: its files,
    # IIS's 404 for a missing one; none: http.sys's own 404 (schannel.iis routing).
    page = handler or iisweb.static_handler(machine, binding)
    # The protocols and cipher suites the machine's Schannel allows (OS defaults, the
    # SCHANNEL\Protocols registry keys, the cipher-suite order policy), read when the
    # binding starts serving -- Windows reads them at boot. Explicit options win.
    settings = protocols.effective_settings(machine)
    if not {"min_version", "max_version", "ciphers"} & set(endpoint_options):
        try:
            protocols.require_servable(settings)
        except WinError:
            key.close()
            raise
        endpoint_options = {**settings.endpoint_options(), **endpoint_options}
    endpoint_options["on_error"] = _schannel_events(machine, settings,
                                                    endpoint_options.get("on_error"))
    # Client certificates: the binding's clientcertnegotiation or the IIS site's sslFlags --
    # with the sites' pages, those of the site each request goes to (any site that asks
    # makes the endpoint ready to); a caller's handler stands for the site bound to the
    # endpoint.
    from schannel.clientcert import (
        SSL_FLAGS,
        ClientCertEndpoint,
        ssl_flags_by_host,
        ssl_flags_for_endpoint,
        ssl_flags_reaching,
    )

    if handler is None:
        ssl_flags, flags_for = ssl_flags_reaching(machine, binding), ssl_flags_by_host(machine,
                                                                                      binding)
    else:
        ssl_flags, flags_for = ssl_flags_for_endpoint(machine, binding.endpoint), None
    if binding.client_cert_negotiation or ssl_flags & (SSL_FLAGS["SslNegotiateCert"]
                                                       | SSL_FLAGS["SslRequireCert"]):
        endpoint = ClientCertEndpoint(chain, key, listen, handler=page, on_handshake=on_handshake,
                                      machine=machine, ssl_flags=ssl_flags,
                                      negotiate_at_handshake=binding.client_cert_negotiation,
                                      ctl_store_name=binding.ctl_store_name,
                                      ssl_flags_for=flags_for,
                                      server=iisweb.server_header(machine), **endpoint_options)
    else:
        endpoint = TlsEndpoint(chain, key, listen, handler=page, on_handshake=on_handshake,
                               **endpoint_options)
    try:
        with endpoint:
            yield endpoint
    finally:
        key.close()


__all__ = ["ProviderServerKey", "serve"]

"""The libssl/libcrypto functions beyond the TLS endpoint's that SSPI contexts
(schannel.secur32) and the client-certificate endpoint (schannel.clientcert) share."""

from __future__ import annotations

import ctypes
import threading

from capi import constants as C
from capi.errors import WinError
from schannel.tls import _bind, _OpenSSL

_vp = ctypes.c_void_p
SSL_VERIFY_PEER = 0x01  # include/openssl/ssl.h


class SslExtras:
    """Bindings for memory BIOs, client-side TLS, certificate requests and verification."""

    _instance: SslExtras | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls):
        with cls._lock:
            if cls.__dict__.get("_instance") is None:
                cls._instance = cls(_OpenSSL.get())
            return cls._instance

    def __init__(self, o: _OpenSSL):
        self.o = o
        c, s = o.crypto, o.ssl
        i, sz, cp, l = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_long
        self.TLS_client_method = _bind(s, "TLS_client_method", _vp)
        self.BIO_s_mem = _bind(c, "BIO_s_mem", _vp)
        self.BIO_new = _bind(c, "BIO_new", _vp, _vp)
        self.BIO_write = _bind(c, "BIO_write", i, _vp, cp, i)
        self.BIO_read = _bind(c, "BIO_read", i, _vp, _vp, i)
        self.BIO_ctrl_pending = _bind(c, "BIO_ctrl_pending", sz, _vp)
        self.SSL_set_bio = _bind(s, "SSL_set_bio", None, _vp, _vp, _vp)
        self.SSL_do_handshake = _bind(s, "SSL_do_handshake", i, _vp)
        self.SSL_set_connect_state = _bind(s, "SSL_set_connect_state", None, _vp)
        self.SSL_set_accept_state = _bind(s, "SSL_set_accept_state", None, _vp)
        self.SSL_ctrl = _bind(s, "SSL_ctrl", l, _vp, i, l, _vp)
        self.SSL_version = _bind(s, "SSL_version", i, _vp)
        self.SSL_get_shutdown = _bind(s, "SSL_get_shutdown", i, _vp)
        self.SSL_CIPHER_get_bits = _bind(s, "SSL_CIPHER_get_bits", i, _vp, ctypes.POINTER(i))
        self.SSL_CIPHER_get_protocol_id = _bind(s, "SSL_CIPHER_get_protocol_id", ctypes.c_uint16, _vp)
        self.SSL_CTX_set_verify = _bind(s, "SSL_CTX_set_verify", None, _vp, i, _vp)
        self.SSL_set_verify = _bind(s, "SSL_set_verify", None, _vp, i, _vp)
        self.SSL_renegotiate = _bind(s, "SSL_renegotiate", i, _vp)
        self.SSL_CTX_set_session_id_context = _bind(s, "SSL_CTX_set_session_id_context", i,
                                                    _vp, cp, ctypes.c_uint)
        self.SSL_CTX_clear_options = _bind(s, "SSL_CTX_clear_options", ctypes.c_uint64, _vp,
                                           ctypes.c_uint64)
        self.SSL_renegotiate_pending = _bind(s, "SSL_renegotiate_pending", i, _vp)
        self.SSL_in_init = _bind(s, "SSL_in_init", i, _vp)
        self.SSL_CTX_set_cert_verify_callback = _bind(
            s, "SSL_CTX_set_cert_verify_callback", None, _vp, _vp, _vp)
        self.SSL_CTX_add_client_CA = _bind(s, "SSL_CTX_add_client_CA", i, _vp, _vp)
        self.SSL_get_ex_data_X509_STORE_CTX_idx = _bind(s, "SSL_get_ex_data_X509_STORE_CTX_idx", i)
        self.X509_STORE_CTX_get_ex_data = _bind(c, "X509_STORE_CTX_get_ex_data", _vp, _vp, i)
        self.X509_STORE_CTX_get0_cert = _bind(c, "X509_STORE_CTX_get0_cert", _vp, _vp)
        self.X509_STORE_CTX_get0_untrusted = _bind(c, "X509_STORE_CTX_get0_untrusted", _vp, _vp)
        self.X509_STORE_CTX_set_error = _bind(c, "X509_STORE_CTX_set_error", None, _vp, i)
        self.OPENSSL_sk_num = _bind(c, "OPENSSL_sk_num", i, _vp)
        self.OPENSSL_sk_value = _bind(c, "OPENSSL_sk_value", _vp, _vp, i)
        self.i2d_X509 = _bind(c, "i2d_X509", i, _vp, ctypes.POINTER(_vp))
        self.EVP_PKEY_get_bits = _bind(c, "EVP_PKEY_get_bits", i, _vp)
        self.EVP_PKEY_up_ref = _bind(c, "EVP_PKEY_up_ref", i, _vp)
        self.SSL_CTX_set_client_cert_cb = _bind(s, "SSL_CTX_set_client_cert_cb", None, _vp, _vp)
        self.SSL_get_client_CA_list = _bind(s, "SSL_get_client_CA_list", _vp, _vp)
        self.i2d_X509_NAME = _bind(c, "i2d_X509_NAME", i, _vp, ctypes.POINTER(_vp))
        self.SSL_CTX_set_num_tickets = o.SSL_CTX_set_num_tickets
        self.SSL_write = o.SSL_write
        self.ERR_clear_error = o.ERR_clear_error
        self.SSL_read = o.SSL_read
        # The same functions taking raw addresses (the caller's writable buffers).
        self.SSL_write_p = _bind(s, "SSL_write", i, _vp, _vp, i)
        self.SSL_read_p = _bind(s, "SSL_read", i, _vp, _vp, i)
        self.BIO_write_p = _bind(c, "BIO_write", i, _vp, _vp, i)
        self.store_idx = self.SSL_get_ex_data_X509_STORE_CTX_idx()

    def request_client_certificate(self, ctx, machine, mode: int = SSL_VERIFY_PEER,
                                   ctl_store_name: str | None = None) -> None:
        """A server SSL_CTX asks for a client certificate (SSL_VERIFY_PEER), naming the
        issuers Schannel would name (:func:`schannel.clientauth.trusted_issuer_list`: none
        when SendTrustedIssuerList is off, else the binding's SslCtlStoreName store,
        ClientAuthIssuer or Root, cut at 16 KB with event 36885); with ``mode``
        SSL_VERIFY_NONE the names are set for a later request (a renegotiation)."""
        from schannel import clientauth

        self.SSL_CTX_set_verify(ctx, mode, None)
        issuers = clientauth.trusted_issuer_list(machine, ctl_store_name)
        if issuers.truncated:
            clientauth.log_issuer_list_truncated(machine)
        for der in issuers.certificates:
            x509 = x509_from_der(self.o, der)
            if x509:
                self.SSL_CTX_add_client_CA(ctx, x509)
                self.o.X509_free(x509)

    def presented_chain(self, store_ctx) -> list[bytes]:
        """In a verification callback: the certificates the peer sent, DER, its own first
        and each once."""
        chain = [self.x509_der(self.X509_STORE_CTX_get0_cert(store_ctx))]
        stack = self.X509_STORE_CTX_get0_untrusted(store_ctx)
        if stack:
            for index in range(self.OPENSSL_sk_num(stack)):
                der = self.x509_der(self.OPENSSL_sk_value(stack, index))
                if der and der not in chain:
                    chain.append(der)
        return chain

    def x509_der(self, x509) -> bytes:
        n = self.i2d_X509(x509, None)
        if n <= 0:
            return b""
        buf = ctypes.create_string_buffer(n)
        ptr = _vp(ctypes.addressof(buf))
        self.i2d_X509(x509, ctypes.byref(ptr))
        return buf.raw

    def ca_names(self, ssl) -> list[bytes]:
        stack = self.SSL_get_client_CA_list(ssl)
        out = []
        if stack:
            for index in range(self.OPENSSL_sk_num(stack)):
                name = self.OPENSSL_sk_value(stack, index)
                n = self.i2d_X509_NAME(name, None)
                if n > 0:
                    buf = ctypes.create_string_buffer(n)
                    ptr = _vp(ctypes.addressof(buf))
                    self.i2d_X509_NAME(name, ctypes.byref(ptr))
                    out.append(buf.raw)
        return out


def x509_from_der(o, der: bytes):
    buf = ctypes.create_string_buffer(der, len(der))
    ptr = _vp(ctypes.addressof(buf))
    return o.d2i_X509(None, ctypes.byref(ptr), len(der))


def system_store_certificates(location: int, name: str):
    """The certificates of a system store opened read-only (``location``: a
    CERT_SYSTEM_STORE_* flag), as the current machine and caller see it; none when it cannot
    be opened."""
    from capi.crypt32.store import CertEnumCertificatesInStore, CertOpenStore

    try:
        store = CertOpenStore(C.CERT_STORE_PROV_SYSTEM, 0, None,
                              location | C.CERT_STORE_READONLY_FLAG, name)
    except WinError:
        return
    with store:
        ctx = CertEnumCertificatesInStore(store, None)
        while ctx is not None:
            yield ctx
            ctx = CertEnumCertificatesInStore(store, ctx)


__all__ = ["SSL_VERIFY_PEER", "SslExtras", "system_store_certificates",
           "x509_from_der"]

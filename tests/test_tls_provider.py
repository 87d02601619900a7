"""The winpki OpenSSL provider (schannel.osslprov): the only route from libssl to a
ServerKey, fetched in a library context of its own; its RSA decryption keeps libssl's
Bleichenbacher countermeasure (RFC 5246 §7.4.7.1).

OpenSSL documentation relied on: OSSL_PROVIDER(3) (OSSL_PROVIDER_add_builtin),
provider-keymgmt(7), provider-signature(7), provider-asym_cipher(7) ("tls-client-version",
"tls-negotiated-version", RSA_PKCS1_WITH_TLS_PADDING), EVP_PKEY_CTX_set_params(3)."""

from __future__ import annotations

import ctypes
import inspect
import os
import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

import schannel
from schannel import osslprov
from schannel.tls import SignatureScheme, SoftwareServerKey, _bind, _OpenSSL

_vp = ctypes.c_void_p
# What OpenSSL 4.0 removed (its migration guide): the EVP_PKEY_METHOD, RSA_METHOD and
# EC_KEY_METHOD APIs, and engines.
_REMOVED = re.compile(r"EVP_PKEY_meth_|RSA_meth_|RSA_set_method|EC_KEY_METHOD|EC_KEY_set_method"
                      r"|RSA_PKCS1_OpenSSL|EC_KEY_OpenSSL|\bENGINE_")


@pytest.fixture(scope="module", params=["c", "python"])
def o(request):
    """The process's OpenSSL (its provider's signature functions in C when the optional
    kernel is built), and one whose provider does everything in Python, as it does without
    the kernel."""
    if request.param == "c":
        lib = _OpenSSL.get()
        if not lib.provider.c_signatures:
            pytest.skip("schannel._sspirecord is not built here (optional C extension)")
        return lib
    lib = _OpenSSL(c_signatures=False)
    assert not lib.provider.c_signatures
    return lib


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(65537, 2048)


def _fn(lib, name, restype, *argtypes):
    return _bind(lib, name, restype, *argtypes)


def test_no_removed_api_is_bound(o):
    """The EVP_PKEY_meth route is gone: no function OpenSSL 4 removed is bound by the
    endpoint, SSPI or the client-certificate code, nor named anywhere in schannel."""
    from schannel.secur32 import _Lib

    bound = set()
    for obj in (o, _Lib.get()):
        for value in vars(obj).values():
            if isinstance(value, ctypes._CFuncPtr) and hasattr(value, "__name__"):
                bound.add(value.__name__)  # a bound library function (callbacks have none)
    assert "OSSL_PROVIDER_add_builtin" in bound and "SSL_CTX_new_ex" in bound
    assert not [name for name in bound if _REMOVED.search(name)]
    # Nor bound lazily anywhere: no such name as a string literal (what _bind is given).
    package = os.path.dirname(schannel.__file__)
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            with open(os.path.join(package, name), encoding="utf-8") as f:
                literals = re.findall(r"[\"']([A-Za-z_0-9]+)[\"']", f.read())
            assert not [lit for lit in literals if _REMOVED.match(lit)], name
    assert "_install_hooks" not in inspect.getsource(_OpenSSL)


def test_provider_lives_in_its_own_library_context(o):
    available = _fn(o.crypto, "OSSL_PROVIDER_available", ctypes.c_int, _vp, ctypes.c_char_p)
    fetch = _fn(o.crypto, "EVP_SIGNATURE_fetch", _vp, _vp, ctypes.c_char_p, ctypes.c_char_p)
    free = _fn(o.crypto, "EVP_SIGNATURE_free", None, _vp)
    get_provider = _fn(o.crypto, "EVP_SIGNATURE_get0_provider", _vp, _vp)
    provider_name = _fn(o.crypto, "OSSL_PROVIDER_get0_name", ctypes.c_char_p, _vp)
    assert available(o.libctx, b"winpki") == 1
    assert available(o.libctx, b"default") == 1
    # The process's global context (Python's ssl, cryptography) does not have it.
    assert available(None, b"winpki") == 0
    assert not fetch(None, osslprov.SIG_RSA.encode(), None)
    o.ERR_clear_error()
    sig = fetch(o.libctx, osslprov.SIG_RSA.encode(), None)
    assert sig and provider_name(get_provider(sig)) == b"winpki"
    free(sig)


def test_the_openssl_used_is_the_chosen_one(o):
    """Unset, WINPKI_OPENSSL_LIBDIR leaves the endpoint on the OpenSSL Python's ssl uses;
    set (make test-openssl4), both libraries come from that directory, their major version
    is the one OpenSSL_version_num reports (Python's ssl keeps its own beside it: the
    handshake tests' clients)."""
    import ssl

    from schannel import tls

    libdir = os.environ.get(tls.OPENSSL_LIBDIR_ENV)
    if not libdir:
        assert o.version == ssl.OPENSSL_VERSION_NUMBER
        return
    for lib in (o.crypto, o.ssl):
        assert os.path.dirname(lib._name) == libdir
        assert int(lib._name.rsplit(".", 1)[1]) == o.version >> 28


def test_library_found_in_the_chosen_directory(tmp_path, monkeypatch):
    from schannel import tls

    for name in ("libssl.so", "libssl.so.3", "libssl.so.4", "libssl.so.4.0.txt", "libcrypto.so.3"):
        (tmp_path / name).write_bytes(b"")
    assert tls._library_in(str(tmp_path), "ssl") == str(tmp_path / "libssl.so.4")
    assert tls._library_in(str(tmp_path), "crypto") == str(tmp_path / "libcrypto.so.3")
    with pytest.raises(OSError, match=r"holds no libfoo\.so\.N"):
        tls._library_in(str(tmp_path), "foo")
    with pytest.raises(OSError, match="No such file or directory"):
        tls._library_in(str(tmp_path / "missing"), "ssl")
    # _load reads the variable each time; an empty directory is an error, not a fallback.
    monkeypatch.setenv(tls.OPENSSL_LIBDIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(OSError, match=tls.OPENSSL_LIBDIR_ENV):
        tls._load("crypto")


def test_bound_key_is_the_providers_and_the_certificate_matches(o, rsa_key):
    key_provider = _fn(o.crypto, "EVP_PKEY_get0_provider", _vp, _vp)
    provider_name = _fn(o.crypto, "OSSL_PROVIDER_get0_name", ctypes.c_char_p, _vp)
    is_a = _fn(o.crypto, "EVP_PKEY_is_a", ctypes.c_int, _vp, ctypes.c_char_p)
    pkey = o.bind_key(SoftwareServerKey(rsa_key))
    try:
        assert provider_name(key_provider(pkey)) == b"winpki"
        assert is_a(pkey, b"RSA") == 1
        assert o.EVP_PKEY_get_bits(pkey) == 2048
        assert o.EVP_PKEY_get_security_bits(pkey) == 112
        assert o.EVP_PKEY_get_size(pkey) == 256
    finally:
        o.unbind_key(pkey)


def _digest_sign_fns(o):
    """(EVP_MD_CTX_new, _free, EVP_DigestSignInit_ex, EVP_DigestSign,
    EVP_PKEY_CTX_set_rsa_padding, EVP_PKEY_CTX_set_rsa_pss_saltlen) of ``o``'s libcrypto."""
    return (_fn(o.crypto, "EVP_MD_CTX_new", _vp), _fn(o.crypto, "EVP_MD_CTX_free", None, _vp),
            _fn(o.crypto, "EVP_DigestSignInit_ex", ctypes.c_int, _vp, ctypes.POINTER(_vp),
                ctypes.c_char_p, _vp, ctypes.c_char_p, _vp, _vp),
            _fn(o.crypto, "EVP_DigestSign", ctypes.c_int, _vp, _vp,
                ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t),
            _fn(o.crypto, "EVP_PKEY_CTX_set_rsa_padding", ctypes.c_int, _vp, ctypes.c_int),
            _fn(o.crypto, "EVP_PKEY_CTX_set_rsa_pss_saltlen", ctypes.c_int, _vp, ctypes.c_int))


def _sign(o, pkey, md: bytes, data: bytes, pss: bool = False) -> bytes:
    """EVP_DigestSign in our library context, as libssl signs a handshake."""
    new, free, init, sign, set_padding, set_saltlen = _digest_sign_fns(o)
    mctx = new()
    try:
        pctx = _vp()
        assert init(mctx, ctypes.byref(pctx), md, o.libctx, None, pkey, None) == 1, o.errors()
        if pss:
            assert set_padding(pctx, osslprov.RSA_PKCS1_PSS_PADDING) == 1, o.errors()
            assert set_saltlen(pctx, osslprov.RSA_PSS_SALTLEN_DIGEST) == 1, o.errors()
        size = ctypes.c_size_t(0)
        assert sign(mctx, None, ctypes.byref(size), data, len(data)) == 1
        buf = ctypes.create_string_buffer(size.value)
        assert sign(mctx, buf, ctypes.byref(size), data, len(data)) == 1, o.errors()
        return buf.raw[:size.value]
    finally:
        free(mctx)


@pytest.mark.parametrize("md, scheme, pss", [
    (b"SHA2-256", SignatureScheme.rsa_pkcs1_sha256, False),
    (b"SHA384", SignatureScheme.rsa_pkcs1_sha384, False),
    (b"SHA2-256", SignatureScheme.rsa_pss_rsae_sha256, True),
    (b"SHA512", SignatureScheme.rsa_pss_rsae_sha512, True),
    (b"MD5-SHA1", SignatureScheme.rsa_pkcs1_md5_sha1, False),
])
def test_rsa_signature_reaches_the_key_with_its_scheme(o, rsa_key, md, scheme, pss):
    key = SoftwareServerKey(rsa_key)
    pkey = o.bind_key(key)
    try:
        data = b"client random, server random, params"
        signature = _sign(o, pkey, md, data, pss)
    finally:
        o.unbind_key(pkey)
    assert key.schemes == [scheme]
    public = rsa_key.public_key()
    if scheme.hash_algorithm is None:
        import hashlib

        digest = hashlib.md5(data).digest() + hashlib.sha1(data).digest()  # noqa: S324
        public.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(_Raw36()))
    elif pss:
        public.verify(signature, data, padding.PSS(padding.MGF1(scheme.hash_algorithm),
                                                   padding.PSS.DIGEST_LENGTH), scheme.hash_algorithm)
    else:
        public.verify(signature, data, padding.PKCS1v15(), scheme.hash_algorithm)


class _Raw36(hashes.HashAlgorithm):
    """TLS 1.0/1.1's MD5+SHA-1: 36 bytes signed without a DigestInfo."""

    name = "md5-sha1"
    digest_size = 36
    block_size = None


def test_ecdsa_signature_is_der_and_verifies(o):
    private = ec.generate_private_key(ec.SECP384R1())
    key = SoftwareServerKey(private)
    pkey = o.bind_key(key)
    try:
        signature = _sign(o, pkey, b"SHA384", b"transcript")
    finally:
        o.unbind_key(pkey)
    private.public_key().verify(signature, b"transcript", ec.ECDSA(hashes.SHA384()))
    assert key.schemes == [SignatureScheme.ecdsa_secp384r1_sha384]


# -- RSA decryption with libssl's TLS padding (tls_process_cke_rsa's calls) ---------------


class _Param(ctypes.Structure):
    _fields_ = osslprov.OSSL_PARAM._fields_


def _tls_decrypt(o, pkey, ciphertext: bytes, client_version: int) -> tuple[int, bytes, str]:
    new = _fn(o.crypto, "EVP_PKEY_CTX_new_from_pkey", _vp, _vp, _vp, ctypes.c_char_p)
    free = _fn(o.crypto, "EVP_PKEY_CTX_free", None, _vp)
    init = _fn(o.crypto, "EVP_PKEY_decrypt_init", ctypes.c_int, _vp)
    set_padding = _fn(o.crypto, "EVP_PKEY_CTX_set_rsa_padding", ctypes.c_int, _vp, ctypes.c_int)
    set_params = _fn(o.crypto, "EVP_PKEY_CTX_set_params", ctypes.c_int, _vp, _vp)
    decrypt = _fn(o.crypto, "EVP_PKEY_decrypt", ctypes.c_int, _vp, _vp,
                  ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t)
    o.ERR_clear_error()
    ctx = new(o.libctx, pkey, None)
    try:
        assert init(ctx) == 1, o.errors()
        assert set_padding(ctx, osslprov.RSA_PKCS1_WITH_TLS_PADDING) == 1, o.errors()
        version = ctypes.c_uint(client_version)
        params = (_Param * 2)(_Param(b"tls-client-version", osslprov.OSSL_PARAM_UNSIGNED_INTEGER,
                                     ctypes.addressof(version), ctypes.sizeof(version),
                                     osslprov.OSSL_PARAM_UNMODIFIED))
        assert set_params(ctx, ctypes.addressof(params)) == 1, o.errors()
        out = ctypes.create_string_buffer(48)
        size = ctypes.c_size_t(48)
        rc = decrypt(ctx, out, ctypes.byref(size), ciphertext, len(ciphertext))
        return rc, out.raw[:size.value], o.errors()
    finally:
        free(ctx)


def test_tls_premaster_is_decrypted_by_the_key(o, rsa_key):
    key = SoftwareServerKey(rsa_key)
    pkey = o.bind_key(key)
    premaster = b"\x03\x03" + os.urandom(46)
    try:
        rc, out, errors = _tls_decrypt(o, pkey, rsa_key.public_key().encrypt(
            premaster, padding.PKCS1v15()), 0x0303)
    finally:
        o.unbind_key(pkey)
    assert (rc, out, errors) == (1, premaster, "")
    assert key.decrypt_calls == 1


@pytest.mark.parametrize("case", ["garbage", "short", "wrong-length", "wrong-version", "key-fails"])
def test_bad_premaster_gets_a_random_one_and_no_error(o, rsa_key, case):
    """RFC 5246 §7.4.7.1: whatever is wrong, the server goes on with a random premaster
    carrying the client's version; nothing tells the client what went wrong."""
    key = SoftwareServerKey(rsa_key)
    public = rsa_key.public_key()
    ciphertext = {
        "garbage": os.urandom(256),
        "short": os.urandom(100),
        "wrong-length": public.encrypt(b"\x03\x03" + os.urandom(30), padding.PKCS1v15()),
        "wrong-version": public.encrypt(b"\x03\x01" + os.urandom(46), padding.PKCS1v15()),
        "key-fails": public.encrypt(b"\x03\x03" + os.urandom(46), padding.PKCS1v15()),
    }[case]
    if case == "key-fails":
        def refuse(_ciphertext):
            raise RuntimeError("the token is gone")
        key.decrypt = refuse
    pkey = o.bind_key(key)
    try:
        first = _tls_decrypt(o, pkey, ciphertext, 0x0303)
        second = _tls_decrypt(o, pkey, ciphertext, 0x0303)
    finally:
        o.unbind_key(pkey)
    for rc, out, errors in (first, second):
        assert (rc, len(out), out[:2], errors) == (1, 48, b"\x03\x03", "")
    assert first[1] != second[1]  # random each time, not a fixed answer
    assert o.local.__dict__.get("error") is None  # nothing reported to the connection either


def test_ec_key_does_not_decrypt(o):
    pkey = o.bind_key(SoftwareServerKey(ec.generate_private_key(ec.SECP256R1())))
    init = _fn(o.crypto, "EVP_PKEY_decrypt_init", ctypes.c_int, _vp)
    new = _fn(o.crypto, "EVP_PKEY_CTX_new_from_pkey", _vp, _vp, _vp, ctypes.c_char_p)
    free = _fn(o.crypto, "EVP_PKEY_CTX_free", None, _vp)
    ctx = new(o.libctx, pkey, None)
    try:
        assert init(ctx) != 1
    finally:
        free(ctx)
        o.unbind_key(pkey)
        o.ERR_clear_error()


def test_private_half_is_never_exported(o, rsa_key):
    """EVP_PKEY_todata asks the key management for the private key: refused."""
    todata = _fn(o.crypto, "EVP_PKEY_todata", ctypes.c_int, _vp, ctypes.c_int,
                 ctypes.POINTER(_vp))
    pkey = o.bind_key(SoftwareServerKey(rsa_key))
    try:
        out = _vp()
        assert todata(pkey, osslprov.EVP_PKEY_KEYPAIR, ctypes.byref(out)) != 1
        # The public half alone is exported (what a certificate comparison needs).
        public_only = 0x86  # EVP_PKEY_PUBLIC_KEY
        assert todata(pkey, public_only, ctypes.byref(out)) == 1
        _fn(o.crypto, "OSSL_PARAM_free", None, _vp)(out)
    finally:
        o.unbind_key(pkey)
        o.ERR_clear_error()


def test_using_our_keys_leaves_the_default_key_management_to_everyone_else(rsa_key):
    """OpenSSL 3.0's method cache: signing with one of our keys fetches our "EC"/"RSA" key
    management from our provider; libssl's own fetches (ECDHE key generation, the groups a
    new SSL_CTX offers) must still get the default provider's. A fresh library context, so
    nothing else has fetched them yet."""
    fresh = _OpenSSL()
    fetch = _fn(fresh.crypto, "EVP_KEYMGMT_fetch", _vp, _vp, ctypes.c_char_p, ctypes.c_char_p)
    for key, md in ((ec.generate_private_key(ec.SECP384R1()), b"SHA384"), (rsa_key, b"SHA256")):
        pkey = fresh.bind_key(SoftwareServerKey(key))
        try:
            _sign(fresh, pkey, md, b"transcript")
        finally:
            fresh.unbind_key(pkey)
    for name in (b"EC", b"RSA"):
        keymgmt = fetch(fresh.libctx, name, None)
        assert fresh.OSSL_PROVIDER_get0_name(fresh.EVP_KEYMGMT_get0_provider(keymgmt)) == \
            b"default"
        fresh.EVP_KEYMGMT_free(keymgmt)


def test_sign_of_a_ready_digest(o, rsa_key):
    """EVP_PKEY_sign (sign_init/sign): the digest comes hashed; the digest set on the
    context (EVP_PKEY_CTX_set_signature_md) names the scheme."""
    import hashlib

    new = _fn(o.crypto, "EVP_PKEY_CTX_new_from_pkey", _vp, _vp, _vp, ctypes.c_char_p)
    free = _fn(o.crypto, "EVP_PKEY_CTX_free", None, _vp)
    init = _fn(o.crypto, "EVP_PKEY_sign_init", ctypes.c_int, _vp)
    get_md = _fn(o.crypto, "EVP_get_digestbyname", _vp, ctypes.c_char_p)
    set_md = _fn(o.crypto, "EVP_PKEY_CTX_set_signature_md", ctypes.c_int, _vp, _vp)
    sign = _fn(o.crypto, "EVP_PKEY_sign", ctypes.c_int, _vp, _vp, ctypes.POINTER(ctypes.c_size_t),
               ctypes.c_char_p, ctypes.c_size_t)
    key = SoftwareServerKey(rsa_key)
    pkey = o.bind_key(key)
    digest = hashlib.sha384(b"to be signed").digest()
    ctx = new(o.libctx, pkey, None)
    try:
        assert init(ctx) == 1 and set_md(ctx, get_md(b"SHA384")) == 1, o.errors()
        size = ctypes.c_size_t(0)
        assert sign(ctx, None, ctypes.byref(size), digest, len(digest)) == 1
        buf = ctypes.create_string_buffer(size.value)
        assert sign(ctx, buf, ctypes.byref(size), digest, len(digest)) == 1, o.errors()
    finally:
        free(ctx)
        o.unbind_key(pkey)
    assert key.schemes == [SignatureScheme.rsa_pkcs1_sha384]
    rsa_key.public_key().verify(buf.raw[:size.value], b"to be signed", padding.PKCS1v15(),
                                hashes.SHA384())


def test_streamed_and_copied_signature(o, rsa_key):
    """EVP_DigestSignUpdate then Final (the message in pieces, longer than the context's
    first buffer), and a context copied half way (EVP_MD_CTX_copy_ex: the provider's
    dupctx) finishing the same message: both signatures are the key's over the whole."""
    new, free, init = _digest_sign_fns(o)[:3]
    update = _fn(o.crypto, "EVP_DigestSignUpdate", ctypes.c_int, _vp, ctypes.c_char_p,
                 ctypes.c_size_t)
    final = _fn(o.crypto, "EVP_DigestSignFinal", ctypes.c_int, _vp, _vp,
                ctypes.POINTER(ctypes.c_size_t))
    copy = _fn(o.crypto, "EVP_MD_CTX_copy_ex", ctypes.c_int, _vp, _vp)
    key = SoftwareServerKey(rsa_key)
    pkey = o.bind_key(key)
    first, second = b"a" * 300, b"b" * 1000
    mctx, twin = new(), new()

    def finish(ctx) -> bytes:
        size = ctypes.c_size_t(0)
        assert final(ctx, None, ctypes.byref(size)) == 1, o.errors()
        buf = ctypes.create_string_buffer(size.value)
        assert final(ctx, buf, ctypes.byref(size)) == 1, o.errors()
        return buf.raw[:size.value]

    try:
        assert init(mctx, None, b"SHA256", o.libctx, None, pkey, None) == 1, o.errors()
        assert update(mctx, first, len(first)) == 1
        assert copy(twin, mctx) == 1, o.errors()
        assert update(mctx, second, len(second)) == 1 and update(twin, second, len(second)) == 1
        signatures = finish(mctx), finish(twin)
    finally:
        free(mctx)
        free(twin)
        o.unbind_key(pkey)
    for signature in signatures:
        rsa_key.public_key().verify(signature, first + second, padding.PKCS1v15(), hashes.SHA256())
    assert signatures[0] == signatures[1]  # PKCS#1 v1.5 is deterministic
    assert key.schemes == [SignatureScheme.rsa_pkcs1_sha256] * 2


def test_parameters_tls_never_uses_are_refused_before_the_key(o, rsa_key):
    """A PSS salt other than the hash's length (RSA_PSS_SALTLEN_MAX) fails the signature
    and the key is never asked; a digest a TLS key does not sign with (SHA3-256) fails
    at init. The provider keeps the reason for the connection's report."""
    new, free, init, sign, set_padding, set_saltlen = _digest_sign_fns(o)
    key = SoftwareServerKey(rsa_key)
    pkey = o.bind_key(key)
    mctx = new()
    o.local.error = None
    try:
        assert init(mctx, None, b"SHA3-256", o.libctx, None, pkey, None) != 1
        o.ERR_clear_error()
        pctx = _vp()
        assert init(mctx, ctypes.byref(pctx), b"SHA256", o.libctx, None, pkey, None) == 1
        assert set_padding(pctx, osslprov.RSA_PKCS1_PSS_PADDING) == 1, o.errors()
        assert set_saltlen(pctx, -3) == 1, o.errors()  # RSA_PSS_SALTLEN_MAX
        size = ctypes.c_size_t(0)
        assert sign(mctx, None, ctypes.byref(size), b"data", 4) == 1
        buf = ctypes.create_string_buffer(size.value)
        assert sign(mctx, buf, ctypes.byref(size), b"data", 4) != 1
    finally:
        o.ERR_clear_error()
        free(mctx)
        o.unbind_key(pkey)
    error, o.local.error = o.local.error, None  # this thread's next connection starts clean
    assert key.schemes == []
    assert isinstance(error, ValueError) and "PSS parameters" in str(error)

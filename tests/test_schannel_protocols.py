r"""Schannel's protocols and cipher suites per Windows version, the registry and policy that
change them, and what a mismatch leaves (alerts, System events 36874/36887/36888, the
doctor's finding).

Sources: "Protocols in TLS/SSL (Schannel SSP)" (Microsoft: TLS 1.1/1.2 supported but
disabled on Windows 7 / Server 2008 R2, enabled from Windows 8 / Server 2012);
"TLS Cipher Suites in Windows 7 / 8.1 / 10 v1607 / 10 v1809 / Windows Server 2022"
(TLS 1.3 suites only from Server 2022); "Transport Layer Security (TLS) registry
settings" (Enabled / DisabledByDefault under SCHANNEL\Protocols\<protocol>\Server).
"""

import ssl

import pytest
from helpers_keys import install_server_cert
from helpers_sspi import tls_exchange

from capi import AT_KEYEXCHANGE, use_machine
from capi.errors import SEC_E_ALGORITHM_MISMATCH
from capi.host import eventlog
from capi.host import registry as reg
from capi.testing import raises_hresult
from schannel import iis, protocols, serve

TLS12_SERVER = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server"


def _bind(machine, **kw):
    ctx, _ = install_server_cert(cn="localhost", keyspec=AT_KEYEXCHANGE, **kw)
    # IIS Manager's Add Site Binding: the site's https binding and the http.sys SSL binding.
    iis.add_https_binding(machine, "Default Web Site", "*:443:", ctx.thumbprint, "MY")
    return ctx


def _client(cert_der, low, high, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version, ctx.maximum_version = low, high
    if low <= ssl.TLSVersion.TLSv1_1:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if ciphers:
        ctx.set_ciphers(ciphers)
    ctx.load_verify_locations(cadata=cert_der)
    return ctx


def _handshake(address, ctx):
    return tls_exchange(address, ctx)


def _events(machine, event_id):
    return eventlog.query(machine, "System", xpath=f"*[System[(EventID={event_id})]]")


def _wait_events(machine, event_id, endpoint):
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _events(machine, event_id):
            return _events(machine, event_id)
        time.sleep(0.02)
    return []


T10, T12, T13 = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


# -- the matrix ------------------------------------------------------------------------

@pytest.mark.parametrize("os_version, enabled", [
    ("2003", ("SSL 2.0", "SSL 3.0", "TLS 1.0")),
    ("2008R2", ("SSL 2.0", "SSL 3.0", "TLS 1.0")),
    ("2012", ("SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2")),
    ("2012R2", ("SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2")),
    ("2016", ("TLS 1.0", "TLS 1.1", "TLS 1.2")),
    ("2019", ("TLS 1.0", "TLS 1.1", "TLS 1.2")),
    ("2022", ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")),
    # "Protocols in TLS/SSL (Schannel SSP)", its Windows Server 2025 rows: TLS 1.0 to 1.3
    # enabled, SSL 3.0 supported but disabled (docs/windows-facts.md: the TLS 1.0/1.1
    # deprecation announced for Insider builds is not what the released version's row says).
    ("2025", ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")),
])
def test_default_protocols_per_version(make_machine, os_version, enabled):
    settings = protocols.effective_settings(make_machine(os_version=os_version))
    assert settings.protocols == enabled
    # SSL 2.0/3.0 are not in OpenSSL 3: recorded, not served.
    assert settings.served_protocols == tuple(p for p in enabled if p.startswith("TLS"))


def test_2008r2_tls12_is_supported_but_disabled(make_machine):
    m = make_machine(os_version="2008R2")
    assert protocols.protocol_state(m, "TLS 1.2") == "disabled"
    assert protocols.protocol_state(m, "TLS 1.3") == "not supported"
    # Enabled=1 alone leaves it disabled by default; DisabledByDefault=0 brings it in.
    reg.set_value(m, reg.full_path(TLS12_SERVER), "Enabled", reg.REG_DWORD, 1, reg.system_token(m))
    assert protocols.protocol_state(m, "TLS 1.2") == "disabled"
    reg.set_value(m, reg.full_path(TLS12_SERVER), "DisabledByDefault", reg.REG_DWORD, 0,
                  reg.system_token(m))
    assert protocols.protocol_state(m, "TLS 1.2") == "enabled"
    # A protocol the version does not implement stays off whatever the registry says.
    protocols.set_server_protocol(m, "TLS 1.3", True, reg.system_token(m))
    assert protocols.protocol_state(m, "TLS 1.3") == "not supported"


def test_cipher_suite_order_with_rsa_key_exchange_after_ecdhe(make_machine):
    s = protocols.effective_settings(make_machine(os_version="2019"))
    # "TLS Cipher Suites in Windows 10 v1809": the first suites, in order.
    assert s.cipher_suites[:4] == ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    assert s.cipher_list.split(":")[:4] == ["ECDHE-ECDSA-AES256-GCM-SHA384",
                                            "ECDHE-ECDSA-AES128-GCM-SHA256",
                                            "ECDHE-RSA-AES256-GCM-SHA384",
                                            "ECDHE-RSA-AES128-GCM-SHA256"]
    # The TLS_RSA_WITH_* suites are served (the winpki provider decrypts the premaster
    # secret), after every ECDHE suite as in Windows' list; 3DES is not in OpenSSL 3.
    omitted = dict(s.omitted)
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" not in omitted
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in omitted
    names = s.cipher_list.split(":")
    rsa_kx = [n for n in names if n.startswith("AES")]
    assert rsa_kx == ["AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-SHA256", "AES128-SHA256",
                      "AES256-SHA", "AES128-SHA"]
    assert max(names.index(n) for n in names if n.startswith("ECDHE")) < names.index(rsa_kx[0])
    assert s.tls13_suites == ""
    s22 = protocols.effective_settings(make_machine(os_version="2022"))
    assert s22.tls13_suites == "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
    # Windows Server 2012 R2 has no ECDHE_RSA GCM suite ("TLS Cipher Suites in Windows 8.1").
    s12 = protocols.effective_settings(make_machine(os_version="2012R2"))
    assert "ECDHE-RSA-AES128-GCM-SHA256" not in s12.cipher_list.split(":")


def test_cipher_suite_order_policy_replaces_the_list(make_machine):
    m = make_machine(os_version="2019")
    reg.create_key(m, protocols.CIPHER_ORDER_KEY, reg.system_token(m))[0].close()
    reg.set_value(m, protocols.CIPHER_ORDER_KEY, "Functions", reg.REG_SZ,
                  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,TLS_AES_256_GCM_SHA384,"
                  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", reg.system_token(m))
    s = protocols.effective_settings(m)
    assert s.policy_order
    # Only the listed suites, in the policy's order; TLS 1.3 suites are not on 2019.
    assert s.cipher_list == "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
    # No TLS 1.0/1.1 suite left: those protocols are not offered.
    assert s.served_protocols == ("TLS 1.2",)


def test_nothing_servable_fails_like_schannel(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        _bind(m)
        reg.create_key(m, protocols.CIPHER_ORDER_KEY, reg.system_token(m))[0].close()
        reg.set_value(m, protocols.CIPHER_ORDER_KEY, "Functions", reg.REG_MULTI_SZ,
                      ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"], reg.system_token(m))
        with raises_hresult(SEC_E_ALGORITHM_MISMATCH):
            with serve("0.0.0.0:443"):
                pass


# -- real handshakes -------------------------------------------------------------------

@pytest.mark.parametrize("os_version", ["2008R2", "2019"])
def test_tls13_only_client_fails_before_2022(make_machine, os_version):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T13, T13))
    assert _events(m, 36888) or _events(m, 36874)


@pytest.mark.xfail(strict=True, reason=(
    "Windows Server 2019 predates TLS 1.3: it reads the ClientHello's TLS 1.2 version, finds "
    "none of the client's (TLS 1.3-only) suites and logs 36874 with handshake_failure; "
    "OpenSSL reads supported_versions and answers protocol_version (36888, 70)"))
def test_tls13_only_client_against_2019_logs_36874(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T13, T13))
    assert _events(m, 36874)


@pytest.mark.parametrize("os_version", ["2008R2", "2019"])
def test_protocol_version_alert_when_the_client_is_below_the_server(make_machine, os_version):
    # TLS 1.0 and 1.1 turned off (as hardening guides do), TLS 1.2 on: a TLS 1.0 client gets
    # protocol_version (70) and Schannel logs 36888 with it.
    m = make_machine(os_version=os_version)
    with use_machine(m):
        for p in ("TLS 1.0", "TLS 1.1"):
            protocols.set_server_protocol(m, p, False, reg.system_token(m))
        protocols.set_server_protocol(m, "TLS 1.2", True, reg.system_token(m))
        assert protocols.effective_settings(m).served_protocols == ("TLS 1.2",)
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError) as info:
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T10, T10))
            events = _wait_events(m, 36888, endpoint)
    assert "VERSION" in str(info.value).upper()
    if os_version == "2019":
        assert events[-1].message == (
            "A fatal alert was generated and sent to the remote endpoint. This may result in "
            "termination of the connection. The TLS protocol defined fatal error code is 70. "
            "The Windows SChannel error state is 105.")
    else:
        assert events[-1].message == ("The following fatal alert was generated: 70. "
                                      "The internal error state is 105.")


@pytest.mark.parametrize("os_version", ["2022", "2025"])  # TLS 1.3 from Server 2022 on
def test_tls13_client_succeeds_against_2022_and_later(make_machine, os_version):
    m = make_machine(os_version=os_version)
    with use_machine(m):
        ctx = _bind(m, cng=True)
        with serve("0.0.0.0:443") as endpoint:
            version, cipher, data = _handshake(endpoint.address, _client(ctx.pbCertEncoded, T13, T13))
    assert (version, cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")  # Schannel's first suite
    assert data.startswith(b"HTTP/1.1 200 OK") and b"Server: Microsoft-IIS/10.0" in data


@pytest.mark.parametrize("cng", [False, True])
def test_default_2008r2_serves_tls10_only(make_machine, cng):
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        ctx = _bind(m, cng=cng)
        with serve("0.0.0.0:443") as endpoint:
            # A TLS 1.0 client: the ServerKeyExchange is signed (MD5+SHA-1) by the provider.
            version, cipher, data = _handshake(endpoint.address, _client(ctx.pbCertEncoded, T10, T10))
            assert endpoint.key.sign_calls >= 1
            # Python's default TLS 1.2 client offers no SHA-1 suite: at TLS 1.0 nothing is
            # shared -> 36874 ("An TLS 1.0 connection request...") and alert 40 (36888).
            # (A client that also offers TLS 1.3 sends supported_versions, which OpenSSL
            # answers with protocol_version where 2008 R2, predating the extension, would
            # negotiate TLS 1.0.)
            with pytest.raises(ssl.SSLError):
                modern = ssl.create_default_context(cadata=ctx.pbCertEncoded)
                modern.maximum_version = T12
                _handshake(endpoint.address, modern)
            no_cipher = _wait_events(m, 36874, endpoint)
    assert (version, cipher) == ("TLSv1", "ECDHE-RSA-AES256-SHA")
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert no_cipher[-1].message == (
        "An TLS 1.0 connection request was received from a remote client application, but none "
        "of the cipher suites supported by the client application are supported by the server. "
        "The SSL connection request has failed.")


def test_tls12_client_after_reg_add_on_2008r2(make_machine):
    from winpki.cli import main

    m = make_machine(os_version="2008R2")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T12, T12))
        for command in protocols.enable_protocol_commands("TLS 1.2"):
            args = [a.strip('"') for a in _split(command)]
            assert main(args, out=_Sink(), err=_Sink()) == 0
        # The settings are read when the binding starts serving (Windows: after a restart).
        with serve("0.0.0.0:443") as endpoint:
            version, cipher, data = _handshake(endpoint.address, _client(ctx.pbCertEncoded, T12, T12))
    assert version == "TLSv1.2" and cipher == "ECDHE-RSA-AES256-SHA384"
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_no_common_cipher_suite_writes_36874_and_36888(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                # TLS_DHE_RSA_WITH_AES_256_CBC_SHA is supported but not enabled by default on
                # 2019 ("TLS Cipher Suites in Windows 10 v1809"): nothing in common.
                _handshake(endpoint.address,
                           _client(ctx.pbCertEncoded, T12, T12, "DHE-RSA-AES256-SHA"))
            events = _wait_events(m, 36874, endpoint)
            generated = _events(m, 36888)
    assert events[-1].message == (
        "An TLS 1.2 connection request was received from a remote client application, but none "
        "of the cipher suites supported by the client application are supported by the server. "
        "The TLS connection request has failed.")
    assert generated[-1].message.endswith(
        "The TLS protocol defined fatal error code is 40. The Windows SChannel error state is 1205.")


def test_received_alert_event_text(make_machine):
    # A client refusing the server's choice answers with an alert; Schannel logs 36887. (Over
    # the wire here OpenSSL reports such a TLS 1.0 exchange as "wrong version number": the
    # client's alert record carries another version; the texts are checked directly.)
    m = make_machine(os_version="2008R2")
    assert protocols.log_handshake_failure(
        m, "error:0A00042E:SSL routines::tlsv1 alert protocol version") == [36887]
    assert _events(m, 36887)[-1].message == "The following fatal alert was received: 70."
    m = make_machine(os_version="2022")
    protocols.log_handshake_failure(m, "error:0A000418:SSL routines::tlsv1 alert unknown ca")
    assert _events(m, 36887)[-1].message == (
        "A fatal alert was received from the remote endpoint. The TLS protocol defined fatal "
        "alert code is 48.")


def test_classify_failure_texts():
    assert protocols.classify_failure(
        "handshake failed (SSL error 1): error:0A000102:SSL routines::unsupported protocol") == (
        "generated", 70)
    assert protocols.classify_failure("error:0A0000C1:SSL routines::no shared cipher") == (
        "no-cipher", 40)
    assert protocols.classify_failure(
        "error:0A00042E:SSL routines::tlsv1 alert protocol version") == ("received", 70)
    assert protocols.classify_failure("connection closed by the peer") is None
    # Plain HTTP sent to the TLS port is not a protocol/suite negotiation.
    assert protocols.classify_failure("error:0A00010B:SSL routines::wrong version number") is None


class _Sink:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def _split(command):
    import shlex

    return shlex.split(command, posix=True)


@pytest.mark.xfail(strict=True, reason=(
    "OpenSSL answers a client that sends supported_versions (any TLS 1.3-capable client) "
    "with protocol_version itself when none of its versions is enabled (36888); Windows "
    "Server 2008 R2 predates the extension, sends a TLS 1.0 ServerHello and receives the "
    "client's protocol_version alert (36887)"))
def test_tls13_capable_client_alerts_the_2008r2_server(make_machine):
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T12, T13,
                                                     "DEFAULT:@SECLEVEL=0"))
    assert _events(m, 36887) and not _events(m, 36888)


# -- the doctor ------------------------------------------------------------------------

def _doctor(machine, ctx):
    from winpki import doctor

    with use_machine(machine):
        return doctor.diagnose(machine, ctx.thumbprint, "0.0.0.0:443")


def test_doctor_protocol_mismatch_on_default_2008r2(make_machine):
    from winpki import doctor

    m = make_machine(os_version="2008R2")
    with use_machine(m):
        ctx = _bind(m)
    diag = _doctor(m, ctx)
    finding = next(f for f in diag.findings if f.cause == "protocol-mismatch")
    # Predicted from the configuration only: a warning, with the reg add fix and the note.
    assert finding.severity == doctor.WARNING
    assert finding.title.startswith("Protocol or cipher-suite mismatch")
    assert "TLS 1.2: disabled" in finding.evidence
    assert any(TLS12_SERVER in x and "/v DisabledByDefault /t REG_DWORD /d 0 /f" in x
               for x in finding.fix)
    assert doctor.RESTART_NOTE in finding.fix
    # After the fix: no finding.
    protocols.set_server_protocol(m, "TLS 1.2", True, reg.system_token(m))
    assert "protocol-mismatch" not in _doctor(m, ctx).causes


def test_doctor_reports_failed_handshakes_on_2019(make_machine):
    from winpki import doctor

    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx = _bind(m)
    assert "protocol-mismatch" not in _doctor(m, ctx).causes
    protocols.log_handshake_failure(m, "error:0A000102:SSL routines::unsupported protocol")
    finding = next(f for f in _doctor(m, ctx).findings if f.cause == "protocol-mismatch")
    assert finding.severity == doctor.ERROR
    assert any("Schannel 36888" in e and "fatal error code is 70" in e for e in finding.evidence)


def test_protocol_hole_tls11_stays_off(make_machine):
    # 2008 R2 with TLS 1.2 enabled: TLS 1.0 and 1.2 on, TLS 1.1 still disabled by default.
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        protocols.set_server_protocol(m, "TLS 1.2", True, reg.system_token(m))
        settings = protocols.effective_settings(m)
        assert settings.served_protocols == ("TLS 1.0", "TLS 1.2")
        assert settings.excluded_versions == ("TLS1.1",)
        ctx = _bind(m)
        t11 = ssl.TLSVersion.TLSv1_1
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, t11, t11))
            assert _handshake(endpoint.address, _client(ctx.pbCertEncoded, T10, T10))[0] == "TLSv1"


def test_ecdhe_curves_per_version(make_machine):
    # Curves come from the suite names before Windows 10 (_P256, _P384 enabled; _P521 not),
    # curve25519 first from Windows 10 / Server 2016 on.
    assert protocols.effective_settings(make_machine(os_version="2012R2")).groups == "P-256:P-384"
    assert protocols.effective_settings(make_machine(os_version="2016")).groups == \
        "X25519:P-256:P-384"
    m = make_machine(os_version="2012R2")
    with use_machine(m):
        protocols.set_server_protocol(m, "TLS 1.2", True, reg.system_token(m))
        ctx = _bind(m)
        client = _client(ctx.pbCertEncoded, T12, T12)
        with serve("0.0.0.0:443") as endpoint:
            assert _handshake(endpoint.address, client)[0] == "TLSv1.2"
            # A client that offers only X25519 shares no curve with 2012 R2's Schannel: the
            # ECDHE suites drop out and the server falls back to its first DHE_RSA suite.
            x25519_only = _client(ctx.pbCertEncoded, T12, T12)
            x25519_only.set_ecdh_curve("X25519")
            assert _handshake(endpoint.address, x25519_only)[1] == "DHE-RSA-AES256-GCM-SHA384"


def test_rsa_key_exchange_client_is_served_by_2019(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            version, cipher, _ = _handshake(endpoint.address,
                                            _client(ctx.pbCertEncoded, T12, T12, "AES128-SHA"))
    assert cipher == "AES128-SHA"


# -- Windows Server 2025 -----------------------------------------------------------------

def test_2025_protocol_states(make_machine):
    m = make_machine(os_version="2025")
    assert protocols.protocol_state(m, "SSL 3.0") == "disabled"  # pre-TLS table: Disabled
    assert protocols.protocol_state(m, "SSL 2.0") == "not supported"
    for p in ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"):
        assert protocols.protocol_state(m, p) == "enabled"


def test_2025_cipher_suite_order(make_machine):
    # "TLS Cipher Suites in Windows Server 2025 and later": 2022's list less the DHE_RSA GCM
    # suites and 3DES, which are "supported ... but not enabled by default".
    s = protocols.effective_settings(make_machine(os_version="2025"))
    assert s.tls13_suites == "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
    assert s.cipher_suites[2:6] == ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    assert s.cipher_suites[-1] == "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert len(s.cipher_suites) == 20
    names = s.cipher_list.split(":")
    assert "DHE-RSA-AES256-GCM-SHA384" not in names and "DHE-RSA-AES128-GCM-SHA256" not in names
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" not in dict(s.omitted)  # not listed at all
    s22 = protocols.effective_settings(make_machine(os_version="2022"))
    assert "DHE-RSA-AES256-GCM-SHA384" in s22.cipher_list.split(":")


def test_tls10_client_against_2025_default_and_disabled(make_machine):
    r"""A default 2025 serves TLS 1.0 (its row in "Protocols in TLS/SSL (Schannel SSP)");
    with TLS 1.0/1.1 turned off as "TLS 1.0 and TLS 1.1 deprecation in Windows" describes
    (SCHANNEL\Protocols\TLS 1.x\Server Enabled=0), a TLS 1.0-only client gets
    protocol_version (70) and Schannel logs 36888 with error state 105."""
    m = make_machine(os_version="2025")
    with use_machine(m):
        ctx = _bind(m)
        with serve("0.0.0.0:443") as endpoint:
            version, _, data = _handshake(endpoint.address, _client(ctx.pbCertEncoded, T10, T10))
        assert version == "TLSv1" and data.startswith(b"HTTP/1.1 200 OK")
        for p in ("TLS 1.0", "TLS 1.1"):
            protocols.set_server_protocol(m, p, False, reg.system_token(m))
        assert protocols.effective_settings(m).served_protocols == ("TLS 1.2", "TLS 1.3")
        with serve("0.0.0.0:443") as endpoint:
            with pytest.raises(ssl.SSLError) as info:
                _handshake(endpoint.address, _client(ctx.pbCertEncoded, T10, T10))
            events = _wait_events(m, 36888, endpoint)
    assert "VERSION" in str(info.value).upper()
    assert events[-1].message == (
        "A fatal alert was generated and sent to the remote endpoint. This may result in "
        "termination of the connection. The TLS protocol defined fatal error code is 70. "
        "The Windows SChannel error state is 105.")


@pytest.mark.parametrize("os_version, served", [("2022", True), ("2025", False)])
def test_dhe_rsa_gcm_only_client_2022_vs_2025(make_machine, os_version, served):
    # TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: enabled on 2022 ("TLS Cipher Suites in Windows
    # Server 2022"), supported but not enabled on 2025: no common suite -> 36874 and 40.
    m = make_machine(os_version=os_version)
    with use_machine(m):
        ctx = _bind(m)
        client = _client(ctx.pbCertEncoded, T12, T12, "DHE-RSA-AES256-GCM-SHA384")
        with serve("0.0.0.0:443") as endpoint:
            if served:
                version, cipher, data = _handshake(endpoint.address, client)
                assert (version, cipher) == ("TLSv1.2", "DHE-RSA-AES256-GCM-SHA384")
                return
            with pytest.raises(ssl.SSLError):
                _handshake(endpoint.address, client)
            events = _wait_events(m, 36874, endpoint)
    assert events[-1].message == (
        "An TLS 1.2 connection request was received from a remote client application, but none "
        "of the cipher suites supported by the client application are supported by the server. "
        "The TLS connection request has failed.")

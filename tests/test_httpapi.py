"""httpapi.dll: the configuration functions over the state netsh reads and writes, and URL
registration against reservations.

Sources: Microsoft's HttpSetServiceConfiguration / HttpQueryServiceConfiguration /
HttpDeleteServiceConfiguration pages (ERROR_ALREADY_EXISTS for an existing record,
ERROR_FILE_NOT_FOUND for a missing one, ERROR_NO_MORE_ITEMS past the last record of a
HttpServiceConfigQueryNext walk, ERROR_NO_SUCH_LOGON_SESSION for a certificate http.sys
cannot use), HttpAddUrl (ERROR_ACCESS_DENIED when the caller may not register the URL,
ERROR_ALREADY_EXISTS when it conflicts with an existing registration), and "Namespace
Reservations, Registrations, and Routing" (the default Temporary_Listen_Addresses
reservation for Everyone; listen is GX, delegate GW in the reservation's SDDL).
"""

import io
import uuid

import pytest
from helpers_keys import AT_SIGNATURE, install_server_cert

from capi import run_as, use_machine
from capi.errors import (
    ERROR_ACCESS_DENIED,
    ERROR_ALREADY_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    ERROR_NO_MORE_ITEMS,
    ERROR_NO_SUCH_LOGON_SESSION,
)
from capi.testing import raises_hresult
from schannel import httpsys
from schannel.httpapi import *  # noqa: F403
from winpki.cli import main

APPID = uuid.UUID("4dc3e181-e14b-4a21-b022-59fc669b0914")


@pytest.fixture
def web2019(make_machine):
    m = make_machine(os_version="2019")
    with use_machine(m):
        HttpInitialize(HTTPAPI_VERSION_1, HTTP_INITIALIZE_CONFIG)
        yield m
        HttpTerminate(HTTP_INITIALIZE_CONFIG)


def _ssl_set(ctx, port=443):
    return HTTP_SERVICE_CONFIG_SSL_SET(
        HTTP_SERVICE_CONFIG_SSL_KEY(("0.0.0.0", port)),
        HTTP_SERVICE_CONFIG_SSL_PARAM(pSslHash=bytes.fromhex(ctx.thumbprint), AppId=APPID,
                                      pSslCertStoreName="MY"))


def netsh(*args):
    out = io.StringIO()
    rc = main(["netsh", "http", *args], out=out, err=out)
    return rc, out.getvalue()


def test_set_then_netsh_shows_it_and_exact_query_returns_it(web2019):
    ctx, _ = install_server_cert()
    assert HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx)) is None
    rc, out = netsh("show", "sslcert", "ipport=0.0.0.0:443")
    assert rc == 0 and ctx.thumbprint.lower() in out and "{" + str(APPID) + "}" in out
    rec = HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo, HTTP_SERVICE_CONFIG_SSL_QUERY(
        HttpServiceConfigQueryExact, HTTP_SERVICE_CONFIG_SSL_KEY(("0.0.0.0", 443))))
    assert rec.ParamDesc.pSslHash == bytes.fromhex(ctx.thumbprint)
    assert rec.ParamDesc.SslHashLength == 20 and rec.ParamDesc.AppId == APPID
    assert rec.KeyDesc.pIpPort == ("0.0.0.0", 443)


def test_netsh_binding_is_listed_by_the_api_walk_to_no_more_items(web2019):
    ctx, _ = install_server_cert()
    assert netsh("add", "sslcert", "ipport=0.0.0.0:8443", f"certhash={ctx.thumbprint}",
                 "appid={" + str(APPID) + "}")[0] == 0
    rec = HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo,
                                        HTTP_SERVICE_CONFIG_SSL_QUERY(HttpServiceConfigQueryNext,
                                                                      dwToken=0))
    assert rec.KeyDesc.pIpPort == ("0.0.0.0", 8443)
    with raises_hresult(ERROR_NO_MORE_ITEMS) as caught:
        HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo,
                                      HTTP_SERVICE_CONFIG_SSL_QUERY(HttpServiceConfigQueryNext,
                                                                    dwToken=1))
    assert caught.exc.winerror == 259


def test_existing_is_183_missing_is_2(web2019):
    ctx, _ = install_server_cert()
    HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    with raises_hresult(ERROR_ALREADY_EXISTS) as caught:
        HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    assert caught.exc.winerror == 183
    HttpDeleteServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        HttpDeleteServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo, HTTP_SERVICE_CONFIG_SSL_QUERY(
            HttpServiceConfigQueryExact, HTTP_SERVICE_CONFIG_SSL_KEY(("0.0.0.0", 443))))


def test_unusable_key_is_1312_as_netsh_shows(make_machine):
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        ctx, _ = install_server_cert(keyspec=AT_SIGNATURE)
        with raises_hresult(ERROR_NO_SUCH_LOGON_SESSION) as caught:
            HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
        assert caught.exc.winerror == 1312
        assert httpsys.list_bindings(m) == []


def test_update_replaces_and_requires_an_existing_record(web2019):
    ctx, _ = install_server_cert()
    other, _ = install_server_cert(cn="www2.contoso.com")
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        HttpUpdateServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    HttpUpdateServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(other))
    assert httpsys.get_binding(web2019, "0.0.0.0:443").cert_hash == other.thumbprint.lower()


def test_sni_record(web2019):
    ctx, _ = install_server_cert()
    rec = HTTP_SERVICE_CONFIG_SSL_SNI_SET(
        HTTP_SERVICE_CONFIG_SSL_SNI_KEY(("0.0.0.0", 443), "www.contoso.com"),
        HTTP_SERVICE_CONFIG_SSL_PARAM(pSslHash=bytes.fromhex(ctx.thumbprint), AppId=APPID))
    HttpSetServiceConfiguration(0, HttpServiceConfigSslSniCertInfo, rec)
    assert "www.contoso.com:443" in netsh("show", "sslcert")[1]
    got = HttpQueryServiceConfiguration(0, HttpServiceConfigSslSniCertInfo,
                                        HTTP_SERVICE_CONFIG_SSL_SNI_QUERY(
                                            HttpServiceConfigQueryExact, rec.KeyDesc))
    assert got.KeyDesc.Host == "www.contoso.com"


def test_bad_records_are_87(web2019):
    ctx, _ = install_server_cert()
    bad = _ssl_set(ctx)
    bad.ParamDesc.pSslHash = b"\x01" * 19
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, bad)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpSetServiceConfiguration(1, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpInitialize(HTTPAPI_VERSION(3, 0), HTTP_INITIALIZE_CONFIG)
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpInitialize(HTTPAPI_VERSION_1, 0x8)


def test_non_admin_cannot_configure(web2019):
    ctx, _ = install_server_cert()
    with run_as("NT AUTHORITY\\NETWORK SERVICE"), raises_hresult(ERROR_ACCESS_DENIED):
        HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    with run_as("IIS APPPOOL\\DefaultAppPool"), raises_hresult(ERROR_ACCESS_DENIED):
        HttpSetServiceConfiguration(0, HttpServiceConfigUrlAclInfo, HTTP_SERVICE_CONFIG_URLACL_SET(
            HTTP_SERVICE_CONFIG_URLACL_KEY("http://+:8080/app/"),
            HTTP_SERVICE_CONFIG_URLACL_PARAM("D:(A;;GX;;;WD)")))


# --- URL reservations and registration -------------------------------------------------------


def test_default_reservation_is_there(web2019):
    rec = HttpQueryServiceConfiguration(0, HttpServiceConfigUrlAclInfo,
                                        HTTP_SERVICE_CONFIG_URLACL_QUERY(
                                            HttpServiceConfigQueryExact,
                                            HTTP_SERVICE_CONFIG_URLACL_KEY(
                                                "http://+:80/Temporary_Listen_Addresses/")))
    assert rec.ParamDesc.pStringSecurityDescriptor == "D:(A;;GX;;;WD)"


def test_unreserved_url_is_access_denied_for_a_service(web2019):
    # The "HTTP could not register URL http://+:8080/app/. Your process does not have access
    # rights to this namespace" case of self-hosted services: HttpAddUrl fails with 5.
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        q = HttpCreateHttpHandle(0)
        with raises_hresult(ERROR_ACCESS_DENIED) as caught:
            HttpAddUrl(q, "http://+:8080/app/")
        assert caught.exc.winerror == 5
        HttpAddUrl(q, "http://+:80/Temporary_Listen_Addresses/svc/")  # Everyone may listen
        HttpCloseRequestQueue(q)


def test_reservation_lets_the_account_listen(web2019):
    HttpSetServiceConfiguration(0, HttpServiceConfigUrlAclInfo, HTTP_SERVICE_CONFIG_URLACL_SET(
        HTTP_SERVICE_CONFIG_URLACL_KEY("http://+:8080/app/"),
        HTTP_SERVICE_CONFIG_URLACL_PARAM("D:(A;;GX;;;NS)")))
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        q = HttpCreateHttpHandle(0)
        HttpAddUrl(q, "http://+:8080/app/api/")
        other = HttpCreateHttpHandle(0)
        with raises_hresult(ERROR_ALREADY_EXISTS):
            HttpAddUrl(other, "http://+:8080/app/api/")
        HttpRemoveUrl(q, "http://+:8080/app/api/")
        HttpAddUrl(other, "http://+:8080/app/api/")
    with run_as("IIS APPPOOL\\DefaultAppPool"), raises_hresult(ERROR_ACCESS_DENIED):
        HttpAddUrl(HttpCreateHttpHandle(0), "http://+:8080/app/x/")


def test_netsh_urlacl_and_api_agree(web2019):
    rc, out = netsh("add", "urlacl", "url=http://+:8080/app/", "user=NT AUTHORITY\\NETWORK SERVICE")
    assert rc == 0 and out == "\nURL reservation successfully added\n\n"
    rec = HttpQueryServiceConfiguration(0, HttpServiceConfigUrlAclInfo,
                                        HTTP_SERVICE_CONFIG_URLACL_QUERY(
                                            HttpServiceConfigQueryExact,
                                            HTTP_SERVICE_CONFIG_URLACL_KEY("http://+:8080/app/")))
    assert rec.ParamDesc.pStringSecurityDescriptor == "D:(A;;GX;;;NS)"
    rc, out = netsh("add", "urlacl", "url=http://+:8080/app/", "user=NT AUTHORITY\\NETWORK SERVICE")
    assert rc == 1 and out == ("\nUrl reservation add failed, Error: 183\n"
                               "Cannot create a file when that file already exists.\n\n")
    rc, out = netsh("show", "urlacl", "url=http://+:8080/app/")
    assert rc == 0
    assert "    Reserved URL            : http://+:8080/app/\n" in out
    assert "        User: NT AUTHORITY\\NETWORK SERVICE\n            Listen: Yes\n" in out
    assert "            Delegate: No\n            SDDL: D:(A;;GX;;;NS)\n" in out
    rc, out = netsh("delete", "urlacl", "url=http://+:8080/app/")
    assert rc == 0 and out == "\nURL reservation successfully deleted\n\n"
    rc, out = netsh("delete", "urlacl", "url=http://+:8080/app/")
    assert rc == 1 and out == ("\nUrl reservation delete failed, Error: 2\n"
                               "The system cannot find the file specified.\n\n")

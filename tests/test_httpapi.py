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
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_NO_MORE_ITEMS,
    ERROR_NO_SUCH_LOGON_SESSION,
    ERROR_REVISION_MISMATCH,
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


# --- Centralized Certificate Store bindings --------------------------------------------------
# Microsoft: HTTP_SERVICE_CONFIG_SSL_CCS_KEY ("LocalAddress ... must be set to the IPv4
# wildcard address ... The sin_port member can be any valid port"), HTTP_SERVICE_CONFIG_SSL_CCS_SET
# / _QUERY, HttpSetServiceConfiguration (183), HttpDeleteServiceConfiguration (2),
# HttpQueryServiceConfiguration (QueryNext to 259). netsh: "add sslcert ccs=443 appid={…}";
# its listing names the binding "Central Certificate Store    : 443".

APPID2 = uuid.UUID("7276352b-8070-4b14-822a-4b72e20f0dbe")


def _ccs_set(port=443, app_id=APPID, **param):
    return HTTP_SERVICE_CONFIG_SSL_CCS_SET(HTTP_SERVICE_CONFIG_SSL_CCS_KEY(("0.0.0.0", port)),
                                           HTTP_SERVICE_CONFIG_SSL_PARAM(AppId=app_id, **param))


def _ccs_query(kind=HttpServiceConfigQueryExact, port=443, token=0):
    return HTTP_SERVICE_CONFIG_SSL_CCS_QUERY(kind, HTTP_SERVICE_CONFIG_SSL_CCS_KEY(("0.0.0.0", port)),
                                             token)


def test_ccs_binding_set_query_walk_update_delete(web2019):
    assert HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set()) is None
    rec = HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_query())
    assert isinstance(rec, HTTP_SERVICE_CONFIG_SSL_CCS_SET)
    assert rec.KeyDesc.LocalAddress == ("0.0.0.0", 443)
    assert rec.ParamDesc.AppId == APPID and rec.ParamDesc.pSslHash is None
    assert rec.ParamDesc.SslHashLength == 0
    with raises_hresult(ERROR_ALREADY_EXISTS) as caught:
        HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set(app_id=APPID2))
    assert caught.exc.winerror == 183
    HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set(8443))
    walked = []
    for token in range(2):
        walked.append(HttpQueryServiceConfiguration(
            0, HttpServiceConfigSslCcsCertInfo,
            _ccs_query(HttpServiceConfigQueryNext, token=token)).KeyDesc.LocalAddress[1])
    assert walked == [443, 8443]
    with raises_hresult(ERROR_NO_MORE_ITEMS) as caught:
        HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo,
                                      _ccs_query(HttpServiceConfigQueryNext, token=2))
    assert caught.exc.winerror == 259
    HttpUpdateServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set(app_id=APPID2))
    assert HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo,
                                         _ccs_query()).ParamDesc.AppId == APPID2
    HttpDeleteServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set())
    for call in (lambda: HttpDeleteServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set()),
                 lambda: HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_query()),
                 lambda: HttpUpdateServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set())):
        with raises_hresult(ERROR_FILE_NOT_FOUND) as caught:
            call()
        assert caught.exc.winerror == 2


def test_ccs_binding_lives_beside_the_ipport_binding_of_its_port(web2019):
    ctx, _ = install_server_cert()
    HttpSetServiceConfiguration(0, HttpServiceConfigSSLCertInfo, _ssl_set(ctx))
    HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set())
    assert httpsys.get_binding(web2019, "0.0.0.0:443").cert_hash == ctx.thumbprint.lower()
    with raises_hresult(ERROR_NO_MORE_ITEMS):  # the SSL walk lists only the ipport binding
        HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo,
                                      HTTP_SERVICE_CONFIG_SSL_QUERY(HttpServiceConfigQueryNext,
                                                                    dwToken=1))
    rc, out = netsh("show", "sslcert")
    assert rc == 0
    assert "    IP:port                      : 0.0.0.0:443\n" in out
    assert "    Central Certificate Store    : 443\n" in out


def test_bad_ccs_records_are_87_and_change_nothing(web2019):
    bad_records = [
        HTTP_SERVICE_CONFIG_SSL_CCS_SET(HTTP_SERVICE_CONFIG_SSL_CCS_KEY(("127.0.0.1", 443)),
                                        HTTP_SERVICE_CONFIG_SSL_PARAM(AppId=APPID)),
        _ccs_set(0),
        _ccs_set(70000),
        _ccs_set(pSslHash=b"\x01" * 20),  # CCS finds the certificate itself
        _ccs_set(app_id=None),
        _ccs_set(app_id=str(APPID)),
        HTTP_SERVICE_CONFIG_SSL_CCS_SET("0.0.0.0:443", HTTP_SERVICE_CONFIG_SSL_PARAM(AppId=APPID)),
        "not a record",
        None,
    ]
    for rec in bad_records:
        with raises_hresult(ERROR_INVALID_PARAMETER) as caught:
            HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, rec)
        assert caught.exc.winerror == 87
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo,
                                      HTTP_SERVICE_CONFIG_SSL_CCS_QUERY(HttpServiceConfigQueryNext,
                                                                        dwToken="0"))
    assert httpsys.list_ccs_bindings(web2019) == []
    with run_as("NT AUTHORITY\\NETWORK SERVICE"), raises_hresult(ERROR_ACCESS_DENIED):
        HttpSetServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo, _ccs_set())


def test_netsh_ccs_add_show_update_delete_and_the_api_agree(web2019):
    rc, out = netsh("add", "sslcert", "ccs=443", "appid={" + str(APPID) + "}")
    assert (rc, out) == (0, "\nSSL Certificate successfully added\n\n")
    assert HttpQueryServiceConfiguration(0, HttpServiceConfigSslCcsCertInfo,
                                         _ccs_query()).ParamDesc.AppId == APPID
    rc, out = netsh("show", "sslcert", "ccs=443")
    assert rc == 0
    assert "    Central Certificate Store    : 443\n" in out
    assert "    Certificate Hash             : (null)\n" in out
    assert "    Application ID               : {" + str(APPID) + "}\n" in out
    rc, out = netsh("add", "sslcert", "ccs=443", "appid={" + str(APPID2) + "}")
    assert (rc, out) == (1, "\nSSL Certificate add failed, Error: 183\n"
                            "Cannot create a file when that file already exists.\n\n")
    rc, out = netsh("update", "sslcert", "ccs=443", "appid={" + str(APPID2) + "}")
    assert (rc, out) == (0, "\nSSL Certificate successfully updated\n\n")
    assert httpsys.get_ccs_binding(web2019, 443).app_id == "{" + str(APPID2) + "}"
    rc, out = netsh("delete", "sslcert", "ccs=443")
    assert (rc, out) == (0, "\nSSL Certificate successfully deleted\n\n")
    rc, out = netsh("delete", "sslcert", "ccs=443")
    assert (rc, out) == (1, "\nSSL Certificate deletion failed, Error: 2\n"
                            "The system cannot find the file specified.\n\n")
    rc, out = netsh("update", "sslcert", "ccs=443", "appid={" + str(APPID) + "}")
    assert (rc, out) == (1, "\nSSL Certificate update failed, Error: 2\n"
                            "The system cannot find the file specified.\n\n")
    rc, out = netsh("show", "sslcert", "ccs=443")
    assert rc == 1 and "The system cannot find the file specified." in out
    for bad in (["ccs=0"], ["ccs=abc"], ["ccs=443", "certhash=" + "ab" * 20],
                ["ccs=443", "ipport=0.0.0.0:443"]):
        rc, out = netsh("add", "sslcert", *bad, "appid={" + str(APPID) + "}")
        assert (rc, out) == (1, "The parameter is incorrect.\n")
    assert httpsys.list_ccs_bindings(web2019) == []


def test_netsh_add_sslcert_usage_names_ccs(web2019):
    rc, out = netsh("add", "sslcert", "appid={" + str(APPID) + "}")
    assert rc == 1
    assert "Usage: add sslcert hostnameport=<name:port> | ipport=<ipaddr:port> | ccs=<port>\n" in out
    assert "    ccs                - Central Certificate Store binding.\n" in out
    rc, out = netsh("add", "sslcert", "?")
    assert "[ccs=]port" in out and "add sslcert ccs=443 appid=" in out


# --- HTTP Server API 2.0: server sessions, URL groups, request queues ------------------------
# Microsoft: HttpCreateServerSession / HttpCreateRequestQueue ("The version must be 2.0";
# ERROR_REVISION_MISMATCH; ERROR_INVALID_PARAMETER for a non-zero Reserved, OPEN_EXISTING
# without a name, security attributes when opening), HttpCreateUrlGroup,
# HttpSetUrlGroupProperty (HttpServerBindingProperty, HTTP_BINDING_INFO), HttpAddUrlToUrlGroup.


def test_server_session_url_group_and_queue_bound_by_the_binding_property(web2019):
    from schannel.httpapi import url_group_queue

    session = HttpCreateServerSession(HTTPAPI_VERSION_2, 0)
    group = HttpCreateUrlGroup(session, 0)
    assert isinstance(session, int) and isinstance(group, int) and session != group
    queue = HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0)
    assert isinstance(queue, HTTP_REQUEST_QUEUE_HANDLE)
    assert url_group_queue(group) is None
    HttpSetUrlGroupProperty(group, HttpServerBindingProperty,
                            HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(Present=1), queue))
    assert url_group_queue(group) is queue
    HttpAddUrlToUrlGroup(group, "http://+:8080/app/", 0, 0)
    with raises_hresult(ERROR_ALREADY_EXISTS):  # the 1.0 path sees the 2.0 registration
        HttpAddUrl(HttpCreateHttpHandle(0), "http://+:8080/app/")
    HttpSetUrlGroupProperty(group, HttpServerBindingProperty, HTTP_BINDING_INFO(0, None))
    assert url_group_queue(group) is None
    HttpCloseServerSession(session)  # closes its groups and their registrations
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpAddUrlToUrlGroup(group, "http://+:8080/other/")
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpCreateUrlGroup(session, 0)
    HttpAddUrl(HttpCreateHttpHandle(0), "http://+:8080/app/")
    HttpCloseRequestQueue(queue)


def test_version_2_functions_want_version_2(web2019):
    for call in (lambda: HttpCreateServerSession(HTTPAPI_VERSION_1, 0),
                 lambda: HttpCreateRequestQueue(HTTPAPI_VERSION_1, None, None, 0),
                 lambda: HttpCreateServerSession(HTTPAPI_VERSION(3, 0))):
        with raises_hresult(ERROR_REVISION_MISMATCH) as caught:
            call()
        assert caught.exc.winerror == 1306


def test_wrong_argument_types_are_87_not_python_errors(web2019):
    session = HttpCreateServerSession(HTTPAPI_VERSION_2)
    group = HttpCreateUrlGroup(session)
    queue = HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0)
    calls = [
        lambda: HttpCreateServerSession(None),
        lambda: HttpCreateServerSession("2.0"),
        lambda: HttpCreateServerSession(HTTPAPI_VERSION_2, 1),
        lambda: HttpCreateRequestQueue(HTTPAPI_VERSION_2, 5, None, 0),
        lambda: HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, "0"),
        lambda: HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0x100),
        lambda: HttpCreateRequestQueue(HTTPAPI_VERSION_2, "q" * 131, None, 0),
        lambda: HttpCreateUrlGroup("session"),
        lambda: HttpCreateUrlGroup(session + 12345),
        lambda: HttpCreateUrlGroup(session, 1),
        lambda: HttpSetUrlGroupProperty(group, HttpServerBindingProperty, "junk"),
        lambda: HttpSetUrlGroupProperty(group, HttpServerBindingProperty,
                                        HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), "queue")),
        lambda: HttpSetUrlGroupProperty(group, HttpServerQueueLengthProperty, 1000),
        lambda: HttpSetUrlGroupProperty("group", HttpServerBindingProperty,
                                        HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue)),
        lambda: HttpAddUrlToUrlGroup(group, 8080),
        lambda: HttpAddUrlToUrlGroup(group, "http://+:8080/app/", "ctx"),
        lambda: HttpCloseUrlGroup(None),
        lambda: HttpCloseServerSession("x"),
        lambda: HttpSetServiceConfiguration(0, "1", None),
        lambda: HttpQueryServiceConfiguration(0, HttpServiceConfigSSLCertInfo, object()),
    ]
    for call in calls:
        with raises_hresult(ERROR_INVALID_PARAMETER) as caught:
            call()
        assert caught.exc.winerror == 87
    with raises_hresult(ERROR_INVALID_HANDLE):
        HttpAddUrl("queue", "http://+:8080/app/")


def test_url_group_registration_is_access_denied_without_a_reservation(web2019):
    # The 2.0 form of "HTTP could not register URL ... Your process does not have access
    # rights to this namespace": HttpAddUrlToUrlGroup fails with 5 (HttpAddUrlToUrlGroup page).
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        session = HttpCreateServerSession(HTTPAPI_VERSION_2, 0)
        group = HttpCreateUrlGroup(session, 0)
        with raises_hresult(ERROR_ACCESS_DENIED) as caught:
            HttpAddUrlToUrlGroup(group, "http://+:8080/app/")
        assert caught.exc.winerror == 5
        HttpAddUrlToUrlGroup(group, "http://+:80/Temporary_Listen_Addresses/svc/")
        other = HttpCreateUrlGroup(session, 0)
        with raises_hresult(ERROR_ALREADY_EXISTS):
            HttpAddUrlToUrlGroup(other, "http://+:80/Temporary_Listen_Addresses/svc/")
        HttpCloseUrlGroup(group)
        HttpAddUrlToUrlGroup(other, "http://+:80/Temporary_Listen_Addresses/svc/")
        HttpCloseServerSession(session)


def test_named_request_queue_create_and_open_existing(web2019):
    q = HttpCreateRequestQueue(HTTPAPI_VERSION_2, "MyAppQueue", None, 0)
    with raises_hresult(ERROR_ALREADY_EXISTS):
        HttpCreateRequestQueue(HTTPAPI_VERSION_2, "MyAppQueue", None, 0)
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, "MyAppQueue", None,
                                  HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING) is q
    for name, sa, flags in ((None, None, HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING),
                            ("MyAppQueue", object(), HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING),
                            ("MyAppQueue", None, HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
                             | HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER)):
        with raises_hresult(ERROR_INVALID_PARAMETER):
            HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, sa, flags)
    HttpCloseRequestQueue(q)
    with raises_hresult(ERROR_FILE_NOT_FOUND):
        HttpCreateRequestQueue(HTTPAPI_VERSION_2, "MyAppQueue", None,
                               HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING)


# --- IP listen list ---------------------------------------------------------------------------
# Microsoft: HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM / _QUERY and "IP Listen List" (the list holds
# IP addresses; 0.0.0.0 any IPv4, :: any IPv6); "Netsh http commands" add/delete/show
# iplisten ("This does not include the port number"); the listing's heading "IP addresses
# present in the IP listen list:" and "IP address successfully added/deleted" as netsh prints.


def _listen(addr):
    return HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM(pAddress=addr)


def test_ip_listen_list_takes_addresses_with_port_0(web2019):
    HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("127.0.0.1", 0)))
    HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("::1", 0)))
    with raises_hresult(ERROR_ALREADY_EXISTS) as caught:
        HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("127.0.0.1", 0)))
    assert caught.exc.winerror == 183
    # The list holds the address: a SOCKADDR with a port names the same entry.
    with raises_hresult(ERROR_ALREADY_EXISTS):
        HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("127.0.0.1", 80)))
    got = HttpQueryServiceConfiguration(0, HttpServiceConfigIPListenList)
    assert sorted(got.AddrList) == [("127.0.0.1", 0), ("::1", 0)] and got.AddrCount == 2
    rc, out = netsh("show", "iplisten")
    assert (rc, out) == (0, "\nIP addresses present in the IP listen list:\n"
                            "-------------------------------------------\n\n"
                            "    127.0.0.1\n    ::1\n\n")
    HttpDeleteServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("127.0.0.1", 0)))
    with raises_hresult(ERROR_FILE_NOT_FOUND) as caught:
        HttpDeleteServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("127.0.0.1", 0)))
    assert caught.exc.winerror == 2
    for bad in (("not-an-ip", 0), ("127.0.0.1", 70000), ("127.0.0.1", -1), ("127.0.0.1", "0"),
                "127.0.0.1", None):
        with raises_hresult(ERROR_INVALID_PARAMETER):
            HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(bad))
    with raises_hresult(ERROR_INVALID_PARAMETER):
        HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, None)
    assert [a for a, _ in HttpQueryServiceConfiguration(0, HttpServiceConfigIPListenList).AddrList] \
        == ["::1"]
    with run_as("NT AUTHORITY\\NETWORK SERVICE"), raises_hresult(ERROR_ACCESS_DENIED):
        HttpSetServiceConfiguration(0, HttpServiceConfigIPListenList, _listen(("10.0.0.1", 0)))


def test_netsh_iplisten_add_show_delete(web2019):
    assert netsh("add", "iplisten", "ipaddress=127.0.0.1") == (
        0, "\nIP address successfully added\n\n")
    assert netsh("add", "iplisten", "::")[0] == 0  # the tag is optional, as in netsh
    rc, out = netsh("show", "iplisten")
    assert rc == 0 and out.endswith("    127.0.0.1\n    ::\n\n")
    assert netsh("add", "iplisten", "ipaddress=127.0.0.1") == (
        1, "\nIP address add failed, Error: 183\n"
           "Cannot create a file when that file already exists.\n\n")
    assert netsh("delete", "iplisten", "ipaddress=127.0.0.1") == (
        0, "\nIP address successfully deleted\n\n")
    assert netsh("delete", "iplisten", "ipaddress=127.0.0.1") == (
        1, "\nIP address delete failed, Error: 2\nThe system cannot find the file specified.\n\n")
    assert netsh("add", "iplisten", "ipaddress=1.2.3") == (1, "The parameter is incorrect.\n")
    assert netsh("add", "iplisten")[0] == 1
    assert HttpQueryServiceConfiguration(0, HttpServiceConfigIPListenList).AddrList == [("::", 0)]
    rc, out = netsh("add", "iplisten", "?")
    assert out.startswith("\nUsage: add iplisten [ipaddress=]")


def test_netsh_update_sslcert_replaces_an_ipport_binding(web2019):
    ctx, _ = install_server_cert()
    other, _ = install_server_cert(cn="www2.contoso.com")
    args = ["ipport=0.0.0.0:443", "appid={" + str(APPID) + "}"]
    assert netsh("update", "sslcert", *args, f"certhash={ctx.thumbprint}") == (
        1, "\nSSL Certificate update failed, Error: 2\nThe system cannot find the file specified.\n\n")
    assert netsh("add", "sslcert", *args, f"certhash={ctx.thumbprint}")[0] == 0
    assert netsh("update", "sslcert", *args, f"certhash={other.thumbprint}",
                 "clientcertnegotiation=enable") == (0, "\nSSL Certificate successfully updated\n\n")
    binding = httpsys.get_binding(web2019, "0.0.0.0:443")
    assert binding.cert_hash == other.thumbprint.lower() and binding.client_cert_negotiation
    rc, out = netsh("update", "sslcert", "ipport=0.0.0.0:443")
    assert rc == 1 and "Usage: update sslcert hostnameport=<name:port>" in out

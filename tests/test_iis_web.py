r"""IIS's answers for the Default Web Site: files from %SystemDrive%\inetpub\wwwroot with
IIS's MIME types, iisstart.htm as the default document, the custom 404 page a remote client
gets (httpErrors errorMode="DetailedLocalOnly", IIS's default), and Server: per IIS version."""

import socket
import ssl

import pytest
from helpers_keys import install_server_cert

from capi import AT_KEYEXCHANGE, use_machine
from schannel import httpsys, iisweb, protocols, serve
from schannel.http11 import HttpRequest
from schannel.iis import IIS_APP_ID


def _req(target, method="GET"):
    return HttpRequest(method, target, "1.1", {"host": "localhost"}, ("192.0.2.7", 50000), None)


@pytest.mark.parametrize("os_version, server, title", [
    ("2008R2", "Microsoft-IIS/7.5", b"<title>IIS7</title>"),
    ("2012", "Microsoft-IIS/8.0", b"<title>Microsoft Internet Information Services 8</title>"),
    ("2012R2", "Microsoft-IIS/8.5", b"<title>Microsoft Internet Information Services 8</title>"),
    ("2019", "Microsoft-IIS/10.0", b"<title>IIS Windows Server</title>"),
])
def test_default_document_and_server_header_per_version(make_machine, os_version, server, title):
    handle = iisweb.static_handler(make_machine(os_version=os_version))
    r = handle(_req("/"))
    headers = dict(r.headers)
    assert r.status == 200 and title in r.body
    assert headers["Server"] == server and headers["Content-Type"] == "text/html"
    assert headers["X-Powered-By"] == "ASP.NET" and headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"].endswith(':0"')
    # The same file by name.
    assert handle(_req("/iisstart.htm")).body == r.body
    missing = handle(_req("/nope.aspx"))
    assert (missing.status, missing.reason) == (404, "Not Found")
    assert dict(missing.headers)["Server"] == server
    assert b"<title>404 - File or directory not found.</title>" in missing.body
    assert b"The resource you are looking for might have been removed" in missing.body


def test_site_files_with_content_types(make_machine):
    m = make_machine(os_version="2022")
    root = m.host_path(r"C:\inetpub\wwwroot")
    (root / "css").mkdir()
    (root / "css" / "site.css").write_bytes(b"body{}")
    (root / "hello.txt").write_bytes(b"hi")
    (root / "data.bin").write_bytes(b"\0")
    handle = iisweb.static_handler(m)
    assert dict(handle(_req("/css/site.css")).headers)["Content-Type"] == "text/css"
    r = handle(_req("/hello.txt?x=1"))
    assert (r.status, r.body, dict(r.headers)["Content-Type"]) == (200, b"hi", "text/plain")
    assert handle(_req("/HELLO.TXT")).body == b"hi"  # NTFS: names match case-insensitively
    # No MIME map entry: IIS answers 404 (404.3), which a remote client sees as the 404 page.
    assert handle(_req("/data.bin")).status == 404
    # A folder without a default document: 403 (403.14, directory browsing is off); named
    # without its slash: a redirect to the slashed URL.
    r = handle(_req("/css/"))
    assert (r.status, r.reason) == (403, "Forbidden")
    assert b"<h2>403 - Forbidden: Access is denied.</h2>" in r.body
    r = handle(_req("/css"))
    assert r.status == 301 and dict(r.headers)["Location"] == "https://localhost/css/"
    # URLs that try to leave the site.
    for target in ("/../../Windows/System32/config", "/%2e%2e/%2e%2e/Windows", "/C:/Windows",
                   "/..%5c..%5cWindows"):
        assert handle(_req(target)).status == 404, target


def test_served_over_tls(make_machine):
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        protocols.set_server_protocol(m, "TLS 1.2", True)
        ctx, _ = install_server_cert(cn="localhost", keyspec=AT_KEYEXCHANGE)
        httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", ctx.thumbprint.lower(),
                                                  IIS_APP_ID, "MY"))
        client = ssl.create_default_context(cadata=ctx.pbCertEncoded)
        with serve("0.0.0.0:443") as endpoint:
            out = []
            for target in ("/", "/missing"):
                with socket.create_connection(endpoint.address, timeout=10) as raw:
                    with client.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n"
                                    "Connection: close\r\n\r\n".encode())
                        data = b""
                        while chunk := tls.recv(65536):
                            data += chunk
                        out.append(data)
    assert out[0].startswith(b"HTTP/1.1 200 OK") and b"<title>IIS7</title>" in out[0]
    assert out[1].startswith(b"HTTP/1.1 404 Not Found") and b"Server: Microsoft-IIS/7.5" in out[1]
    assert b"404 - File or directory not found." in out[1]


# The verbs IIS's StaticFile handler takes. Sources: a POST to an IIS 8.5 site answered
# "HTTP Error 405.0 - Method Not Allowed" / "The page you are looking for cannot be displayed
# because an invalid method (HTTP verb) is being used." with IIS70Error=405,0,0x80070001
# (GitHub XiaoFaye/WooCommerce.NET issue 237, the detailed page); the custom page a remote
# client gets, "405 - HTTP verb used to access this page is not allowed" / "...because an
# invalid method (HTTP verb) was used to attempt access." (an IIS 405 to a POSTed .html
# page, as quoted in "HTTP 405 error ... Microsoft IIS servers"); "Allow: GET, HEAD, OPTIONS,
# TRACE" as a captured IIS 7.5 405 carries it (pastebin eUi67ksN); RFC 7231 6.5.5: a 405
# carries Allow.
@pytest.mark.parametrize("os_version, server", [("2008R2", "Microsoft-IIS/7.5"),
                                                ("2019", "Microsoft-IIS/10.0")])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "FOO"])
def test_other_verbs_to_a_static_file_get_405(make_machine, os_version, server, method):
    handle = iisweb.static_handler(make_machine(os_version=os_version))
    r = handle(_req("/iisstart.htm", method))
    headers = dict(r.headers)
    assert (r.status, r.reason) == (405, "Method Not Allowed")
    assert headers["Allow"] == "GET, HEAD, OPTIONS, TRACE" and headers["Server"] == server
    assert b"<title>405 - HTTP verb used to access this page is not allowed.</title>" in r.body
    assert (b"The page you are looking for cannot be displayed because an invalid method "
            b"(HTTP verb) was used to attempt access.") in r.body
    # GET and HEAD still serve the file (HEAD's body is dropped by the HTTP layer).
    assert handle(_req("/iisstart.htm", "HEAD")).status == 200
    assert handle(_req("/iisstart.htm")).status == 200
    # A file that is not there is IIS's 404 whatever the verb (405 names a resource that
    # exists but does not take the method: RFC 9110 15.5.6).
    assert handle(_req("/missing.htm", method)).status == 404


@pytest.mark.xfail(strict=True, reason="IIS answers OPTIONS with its OPTIONSVerbHandler "
                   "(ProtocolSupportModule), not the StaticFile handler; that handler's exact "
                   "answer is not modelled, serve gives OPTIONS the 405")
def test_options_answered_by_options_verb_handler(make_machine):
    # "405 Method Not Allowed error ... IIS7 CORS": IIS7's OPTIONSVerbHandler (ProtocolSupportModule)
    # processes OPTIONS requests.
    handle = iisweb.static_handler(make_machine(os_version="2019"))
    assert handle(_req("/iisstart.htm", "OPTIONS")).status == 200

r"""IIS's answers for the Default Web Site: files from %SystemDrive%\inetpub\wwwroot with
IIS's MIME types, iisstart.htm as the default document, the custom 404 page a remote client
gets (httpErrors errorMode="DetailedLocalOnly", IIS's default), and Server: per IIS version."""

import socket
import ssl

import pytest
from helpers_keys import install_server_cert

from capi import AT_KEYEXCHANGE, use_machine
from schannel import httpsys, iis, iisweb, protocols, serve
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


def _settle(*paths, age: float = 30.0) -> None:
    """Give ``paths`` modification times ``age`` seconds old, as files written a while ago."""
    import os
    import time

    when = time.time() - age
    for path in paths:
        os.utime(path, (when, when))


def test_static_responses_are_kept_until_what_they_depend_on_changes(make_machine, monkeypatch):
    """IIS keeps a static file's response (its output cache) and drops it when the file
    changes: a kept response is served without reading the file, and a rewritten file, a
    default document added in front of it, or one removed is seen at the next request. A
    file changed within the last second is read every time (its time could still be the
    tick of a further write)."""
    m = make_machine(os_version="2019")
    root = m.host_path(r"C:\inetpub\wwwroot")
    start = root / "iisstart.htm"
    start.write_bytes(b"<p>first</p>")
    _settle(start, root, age=60)
    handle = iisweb.static_handler(m)

    def no_reading(*args, **kwargs):
        raise OSError("read from disk")

    # Every change below gets its own modification time (_settle): a file system's times
    # move in ticks, which is why what changed in the last second is not kept at all.
    monkeypatch.setattr(iisweb, "_SETTLED_NS", 0)
    assert handle(_req("/")).body == b"<p>first</p>"
    with monkeypatch.context() as patch:
        patch.setattr(iisweb, "open", no_reading, raising=False)
        assert handle(_req("/")).body == b"<p>first</p>"  # kept: the file is not read
    start.write_bytes(b"<p>again</p>")  # rewritten in place, same length
    _settle(start, age=30)
    assert handle(_req("/")).body == b"<p>again</p>"
    (root / "Default.htm").write_bytes(b"<p>default</p>")  # first in the default documents
    _settle(root, age=20)
    assert handle(_req("/")).body == b"<p>default</p>"
    (root / "Default.htm").unlink()
    _settle(root, age=10)
    assert handle(_req("/")).body == b"<p>again</p>"
    # With the real rule: a file just written is read again at each request, never kept.
    monkeypatch.setattr(iisweb, "_SETTLED_NS", 1_000_000_000)
    start.write_bytes(b"<p>fresh</p>")
    assert handle(_req("/iisstart.htm")).body == b"<p>fresh</p>"
    monkeypatch.setattr(iisweb, "open", no_reading, raising=False)
    assert handle(_req("/iisstart.htm")).status == 404


def _fetch(address, client, host, target="/", sni=None):
    """One GET over TLS (SNI ``sni`` or the host name), the whole response."""
    with socket.create_connection(address, timeout=10) as raw:
        with client.wrap_socket(raw, server_hostname=sni or host) as tls:
            tls.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
                        "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    return data


# http.sys's own 404, when no site's binding takes the request: its page and server name.
# A recorded http.sys 404 (Azure SDK for JS text-analytics test recordings): <TITLE>Not
# Found</TITLE>, <h2>Not Found</h2>, "HTTP Error 404. The requested resource is not found.";
# "IIS Websites handing 404 when website disabled" (n3bbq.org, 2020): the 404 for a host no
# running site serves carries "Server: Microsoft-HTTPAPI/2.0", not IIS's.
HTTPSYS_404_BODY = (b"<HTML><HEAD><TITLE>Not Found</TITLE>\r\n"
                    b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>'
                    b"\r\n<BODY><h2>Not Found</h2>\r\n<hr><p>HTTP Error 404. The requested "
                    b"resource is not found.</p>\r\n</BODY></HTML>\r\n")


def _is_httpsys_404(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    return (head.startswith(b"HTTP/1.1 404 Not Found") and b"\r\nServer: Microsoft-HTTPAPI/2.0" in head
            and b"Microsoft-IIS" not in head and b"X-Powered-By" not in head
            and body.endswith(HTTPSYS_404_BODY))


def test_sslcert_alone_gets_httpsys_404_then_the_site_binding_serves_the_site(make_machine):
    """netsh http add sslcert alone: the handshake completes, but no site has a binding for
    the request, so http.sys answers its own 404. The site's https binding added while
    serving (appcmd set site /+bindings) applies to the next request: the site's files, and
    IIS's 404 for a file that is not there."""
    from winpki.cli import main

    m = make_machine(os_version="2008R2")
    with use_machine(m):
        protocols.set_server_protocol(m, "TLS 1.2", True)
        ctx, _ = install_server_cert(cn="localhost", keyspec=AT_KEYEXCHANGE)
        httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", ctx.thumbprint.lower(),
                                                  IIS_APP_ID, "MY"))
        client = ssl.create_default_context(cadata=ctx.pbCertEncoded)
        with serve("0.0.0.0:443") as endpoint:
            before = _fetch(endpoint.address, client, "localhost")
            before_file = _fetch(endpoint.address, client, "localhost", "/iisstart.htm")
            assert endpoint.key.sign_calls >= 1  # the handshake did complete
            rc = main(["appcmd", "set", "site", "/site.name:Default Web Site",
                       "/+bindings.[protocol='https',bindingInformation='*:443:']"])
            assert rc == 0
            after = [_fetch(endpoint.address, client, "localhost", t) for t in ("/", "/missing")]
    assert _is_httpsys_404(before) and _is_httpsys_404(before_file)
    assert after[0].startswith(b"HTTP/1.1 200 OK") and b"<title>IIS7</title>" in after[0]
    assert b"Server: Microsoft-IIS/7.5" in after[0]
    assert after[1].startswith(b"HTTP/1.1 404 Not Found") and b"Server: Microsoft-IIS/7.5" in after[1]
    assert b"404 - File or directory not found." in after[1]


def test_served_over_tls(make_machine):
    """IIS Manager's Add Site Binding (site binding and SSL binding): the site's files."""
    m = make_machine(os_version="2008R2")
    with use_machine(m):
        protocols.set_server_protocol(m, "TLS 1.2", True)
        ctx, _ = install_server_cert(cn="localhost", keyspec=AT_KEYEXCHANGE)
        iis.add_https_binding(m, "Default Web Site", "*:443:", ctx.thumbprint, "MY")
        client = ssl.create_default_context(cadata=ctx.pbCertEncoded)
        with serve("0.0.0.0:443") as endpoint:
            out = [_fetch(endpoint.address, client, "localhost", t) for t in ("/", "/missing")]
    assert out[0].startswith(b"HTTP/1.1 200 OK") and b"<title>IIS7</title>" in out[0]
    assert out[1].startswith(b"HTTP/1.1 404 Not Found") and b"Server: Microsoft-IIS/7.5" in out[1]
    assert b"404 - File or directory not found." in out[1]


def _site_folder(m, folder, page):
    root = m.host_path(folder)
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.htm").write_bytes(page)


def test_two_sites_by_host_name_on_one_port(make_machine):
    """Two sites, each with an SNI binding for its own host name on port 443 (IIS Manager:
    Add Site Binding, host name, Require Server Name Indication): each host gets its own
    site's physical path; a host name no binding names, with no binding for all host names,
    gets http.sys's 404."""

    m = make_machine(os_version="2019")
    with use_machine(m):
        _site_folder(m, r"C:\inetpub\shop", b"<html>the shop</html>")
        _site_folder(m, r"C:\inetpub\wwwroot", b"<html>the www site</html>")
        iis.add_site(m, "Shop", r"C:\inetpub\shop", bindings=(("http", "*:80:shop.contoso.com"),))
        www, _ = install_server_cert(cn="www.contoso.com")
        shop, _ = install_server_cert(cn="shop.contoso.com")
        iis.add_https_binding(m, "Default Web Site", "*:443:www.contoso.com", www.thumbprint,
                              sni=True)
        iis.add_https_binding(m, "Shop", "*:443:shop.contoso.com", shop.thumbprint, sni=True)
        got = {}
        for cert, name in ((www, "www.contoso.com"), (shop, "shop.contoso.com")):
            client = ssl.create_default_context(cadata=cert.pbCertEncoded)
            with serve(f"{name}:443") as endpoint:
                got[name] = _fetch(endpoint.address, client, name)
                got[name + " upper"] = _fetch(endpoint.address, client, name.upper() + ":443",
                                              sni=name)
                got[name + " other"] = _fetch(endpoint.address, client, "other.contoso.com",
                                              sni=name)
    for name, page in (("www.contoso.com", b"<html>the www site</html>"),
                       ("shop.contoso.com", b"<html>the shop</html>")):
        assert got[name].startswith(b"HTTP/1.1 200 OK") and got[name].endswith(page), name
        # Host names match without regard to case, the port in Host: is not part of the name.
        assert got[name + " upper"].endswith(page)
        assert _is_httpsys_404(got[name + " other"]), name


def _route(m, endpoint, kind, host):
    handle = iisweb.static_handler(m, httpsys.SslBinding(endpoint, kind, "00" * 20, IIS_APP_ID, "MY"))
    r = handle(HttpRequest("GET", "/", "1.1", {"host": host}, ("192.0.2.7", 50000), None))
    return r.body if r.status == 200 else dict(r.headers)["Server"]


def test_routing_precedence_explicit_ip_bound_weak_wildcard(make_machine):
    """http.sys's order ("UrlPrefix Strings", HTTP Server API, Host-Specifier Categories):
    a binding naming the host, then one naming the IP address the request came to (an
    IP-bound weak wildcard), then "*" for all unassigned addresses (a weak wildcard)."""

    m = make_machine(os_version="2019")
    with use_machine(m):
        for name in ("a", "b", "c"):
            _site_folder(m, rf"C:\sites\{name}", name.encode())
            iis.add_site(m, name, rf"C:\sites\{name}", bindings=())
        iis.add_site_binding(m, "a", "https", "*:443:")
        iis.add_site_binding(m, "b", "https", "10.0.0.5:443:")
        iis.add_site_binding(m, "b", "https", "[::1]:443:")
        iis.add_site_binding(m, "c", "https", "*:443:c.contoso.com")
        iis.add_site_binding(m, "c", "https", "*:8443:")
        assert _route(m, "10.0.0.5:443", "ipport", "c.contoso.com") == b"c"
        assert _route(m, "10.0.0.5:443", "ipport", "x.contoso.com") == b"b"
        assert _route(m, "10.0.0.6:443", "ipport", "x.contoso.com") == b"a"
        assert _route(m, "0.0.0.0:443", "ipport", "x.contoso.com") == b"a"
        assert _route(m, "[::1]:443", "ipport", "[::1]:443") == b"b"
        assert _route(m, "[::]:443", "ipport", "[::1]") == b"a"
        assert _route(m, "x.contoso.com:443", "hostnameport", "X.Contoso.COM") == b"a"
        assert _route(m, "0.0.0.0:8443", "ipport", "c.contoso.com") == b"c"
        # No binding on the port: http.sys.
        assert _route(m, "0.0.0.0:4443", "ipport", "c.contoso.com") == "Microsoft-HTTPAPI/2.0"


def test_a_binding_another_process_adds_routes_within_the_reread_time(make_machine, monkeypatch):
    """Routing reads the https bindings again when this process wrote to the machine, and
    otherwise after ROUTES_REREAD_SECONDS: a binding added by another process (another
    Machine on the same files) reaches a serving process within that time, as WAS passes
    IIS a configuration change through its change notification."""
    from capi import Machine

    m = make_machine(os_version="2019")
    with use_machine(m):
        _site_folder(m, r"C:\sites\a", b"a")
        iis.add_site(m, "a", r"C:\sites\a", bindings=())
        assert _route(m, "0.0.0.0:443", "ipport", "a") == "Microsoft-HTTPAPI/2.0"
    other = Machine.open(m.path)
    try:
        with use_machine(other):
            iis.add_site_binding(other, "a", "https", "*:443:")
        with use_machine(m):
            # Read a moment ago, and nothing written by this Machine since: still http.sys.
            assert _route(m, "0.0.0.0:443", "ipport", "a") == "Microsoft-HTTPAPI/2.0"
            monkeypatch.setattr(iis, "ROUTES_REREAD_SECONDS", 0.0)
            assert _route(m, "0.0.0.0:443", "ipport", "a") == b"a"
            monkeypatch.setattr(iis, "ROUTES_REREAD_SECONDS", 60.0)
            _site_folder(m, r"C:\sites\b", b"b")
            with use_machine(other):
                iis.add_site(other, "b", r"C:\sites\b", bindings=(("https", "*:443:b"),))
            assert _route(m, "0.0.0.0:443", "ipport", "b") == b"a"  # not seen yet
            iis.add_site_binding(m, "a", "http", "*:8080:")  # this process writes: read again
            assert _route(m, "0.0.0.0:443", "ipport", "b") == b"b"
    finally:
        other.close()


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


# IIS's OPTIONSVerbHandler (ProtocolSupportModule) takes OPTIONS before the StaticFile
# handler, for any path. Captured answers: "HTTP/1.1 200 OK / Allow: OPTIONS, TRACE, GET,
# HEAD, POST / Server: Microsoft-IIS/10.0 / Public: OPTIONS, TRACE, GET, HEAD, POST /
# X-Powered-By: ASP.NET / ... / Content-Length: 0" (an IIS 10.0 site, a 2019 write-up); the
# same lists from IIS 7.5 (a libcurl binding's README, 2013) and IIS 8.0 (a disclosure
# report, 2015); a 2024 note gets the same 200 for a path that does not exist.
@pytest.mark.parametrize("os_version, server", [("2008R2", "Microsoft-IIS/7.5"),
                                                ("2019", "Microsoft-IIS/10.0")])
def test_options_answered_by_options_verb_handler(make_machine, os_version, server):
    handle = iisweb.static_handler(make_machine(os_version=os_version))
    for target in ("/iisstart.htm", "/", "/missing.aspx", "*"):
        r = handle(_req(target, "OPTIONS"))
        assert (r.status, r.reason, r.body) == (200, "OK", b""), target
        assert r.headers == [("Allow", "OPTIONS, TRACE, GET, HEAD, POST"), ("Server", server),
                             ("Public", "OPTIONS, TRACE, GET, HEAD, POST"),
                             ("X-Powered-By", "ASP.NET")]
    assert b"\r\nContent-Length: 0\r\n" in r.encode()


def test_doctor_names_an_sslcert_binding_no_site_binding_takes(make_machine):
    """winpki doctor T --ipport: an SSL binding (netsh http add sslcert) with no site's https
    binding for it gets a warning whose fix, pasted, adds the site binding."""
    import json
    import shlex
    from io import StringIO

    from winpki.cli import main

    def doctor():
        out = StringIO()
        rc = main(["doctor", thumb, "--ipport", "0.0.0.0:443", "--json"], out=out, err=out)
        return rc, {f["cause"]: f for f in json.loads(out.getvalue())["findings"]}

    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx, _ = install_server_cert(cn="localhost")
        thumb = ctx.thumbprint.lower()
        httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", thumb, IIS_APP_ID, "MY"))
        rc, found = doctor()
        assert rc == 0 and "binding-ok" in found  # the binding itself works: a warning only
        finding = found["no-site-binding"]
        assert finding["severity"] == "warning"
        assert finding["title"] == ("No IIS site has an https binding for 0.0.0.0:443: "
                                    "requests get http.sys's 404")
        assert finding["commands"] == [
            "winpki appcmd set site /site.name:\"Default Web Site\" "
            "\"/+bindings.[protocol='https',bindingInformation='*:443:']\""]
        # A binding for another port, or for one IP address, does not take these requests.
        iis.add_site_binding(m, "Default Web Site", "https", "*:8443:")
        iis.add_site_binding(m, "Default Web Site", "https", "10.0.0.5:443:")
        assert "no-site-binding" in doctor()[1]
        out = StringIO()
        assert main(shlex.split(finding["commands"][0])[1:], out=out, err=out) == 0, out.getvalue()
        rc, found = doctor()
        assert rc == 0 and "no-site-binding" not in found and "binding-ok" in found


def test_ssl_flags_are_those_of_the_site_the_request_reaches(make_machine):
    """Two sites on 0.0.0.0:443 by host name; only Shop's SSL settings require a client
    certificate (appcmd set config "Shop" -section:system.webServer/security/access). IIS
    applies the flags of the site the request reached: a request for Shop is asked for a
    certificate (by renegotiation, the binding's clientcertnegotiation being off) and gets
    403.7 without one; a request for the Default Web Site is answered with no question
    ("The HTTP status code in IIS 7 and later versions": 403.7 Client certificate required;
    TechNet "How it works on the wire: IIS HTTP Client certificate authentication")."""
    from winpki.cli import main

    m = make_machine(os_version="2019")
    with use_machine(m):
        _site_folder(m, r"C:\inetpub\shop", b"<html>the shop</html>")
        iis.add_site(m, "Shop", r"C:\inetpub\shop", bindings=())
        ctx, _ = install_server_cert(cn="localhost")
        iis.add_https_binding(m, "Default Web Site", "*:443:", ctx.thumbprint)
        iis.add_site_binding(m, "Shop", "https", "*:443:shop.contoso.com")
        assert main(["appcmd", "set", "config", "Shop", "-section:system.webServer/security/access",
                     "/sslFlags:Ssl, SslNegotiateCert, SslRequireCert", "/commit:apphost"]) == 0
        client = ssl.create_default_context(cadata=ctx.pbCertEncoded)
        client.maximum_version = ssl.TLSVersion.TLSv1_2  # IIS asks by renegotiation
        with serve("0.0.0.0:443") as endpoint:
            www = _fetch(endpoint.address, client, "www.contoso.com", sni="localhost")
            shop = _fetch(endpoint.address, client, "shop.contoso.com", sni="localhost")
            other = _fetch(endpoint.address, client, "localhost:443", sni="localhost")
    assert www.startswith(b"HTTP/1.1 200 OK") and b"Server: Microsoft-IIS/10.0" in www
    assert www.endswith(iisweb_page(m))
    assert shop.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"<h1>HTTP Error 403.7 - Forbidden</h1><h2>Client certificate required.</h2>" in shop
    assert other.startswith(b"HTTP/1.1 200 OK")  # the Default Web Site's *:443: binding


def iisweb_page(m) -> bytes:
    return (m.host_path(r"C:\inetpub\wwwroot") / "iisstart.htm").read_bytes()


def test_winpki_serve_says_when_no_site_binding_takes_the_requests(make_machine):
    """winpki serve on an SSL binding alone names the http.sys 404 its clients will get,
    and the appcmd command that adds the site binding; with the site binding it says
    nothing of it."""
    from io import StringIO

    from winpki.cli import main

    def serve_banner():
        out = StringIO()
        rc = main(["serve", "0.0.0.0:443", "--listen", "127.0.0.1:0", "--seconds", "0"],
                  out=out, err=out)
        assert rc == 0, out.getvalue()
        return out.getvalue().splitlines()

    m = make_machine(os_version="2019")
    with use_machine(m):
        ctx, _ = install_server_cert(cn="localhost")
        httpsys.add_binding(m, httpsys.SslBinding("0.0.0.0:443", "ipport", ctx.thumbprint.lower(),
                                                  IIS_APP_ID, "MY"))
        lines = serve_banner()
        assert lines[2] == (
            "No IIS site has an https binding for 0.0.0.0:443: every request gets http.sys's "
            "404 (Server: Microsoft-HTTPAPI/2.0). Add one: winpki appcmd set site "
            "/site.name:\"Default Web Site\" "
            "\"/+bindings.[protocol='https',bindingInformation='*:443:']\"")
        iis.add_site_binding(m, "Default Web Site", "https", "*:443:")
        assert len(serve_banner()) == 2

r"""IIS's answers for the Default Web Site: its files, its default document, its error pages.

The site's physical path (``%SystemDrive%\inetpub\wwwroot`` in applicationHost.config) is
the simulated machine's folder; a request for a file there gets it with the content type
of IIS's ``staticContent`` MIME map, ``/`` gets the first default document that exists
(IIS's ``defaultDocument`` list: Default.htm, Default.asp, index.htm, index.html,
iisstart.htm, default.aspx), a folder without one the 403 page (directory browsing is off
by default: 403.14), a folder named without its trailing slash a 301 to the slashed URL,
and anything else the 404 page. A verb other than GET or HEAD to a file gets 405 (IIS's StaticFile
handler takes those two only; the detailed page is "HTTP Error 405.0 - Method Not Allowed",
a remote client sees custerr's 405.htm).

Which 404 page: IIS's ``httpErrors`` default is ``errorMode="DetailedLocalOnly"`` — the
detailed "HTTP Error 404.0 - Not Found" page for requests from the server itself, the
custom error file ``%SystemDrive%\inetpub\custerr\<lang>\404.htm`` ("404 - File or directory
not found.") for everyone else. The client of a simulated server is never on that
server, so it gets the custom page. Every response names the OS row's IIS version in
``Server:`` (Microsoft-IIS/7.5, 8.0, 8.5, 10.0) and carries ``X-Powered-By: ASP.NET``.
"""

from __future__ import annotations

import email.utils
import os
import posixpath
import time
from pathlib import PureWindowsPath
from stat import S_ISREG
from urllib.parse import unquote, urlsplit

from capi.host.machine import Machine
from schannel.http11 import HttpRequest, HttpResponse, StaticResponse, httpsys_error

# IIS's default MIME map (applicationHost.config <staticContent>), the common types.
MIME_TYPES = {
    ".htm": "text/html", ".html": "text/html", ".txt": "text/plain", ".css": "text/css",
    ".js": "application/javascript", ".json": "application/json", ".xml": "text/xml",
    ".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".ico": "image/x-icon", ".svg": "image/svg+xml", ".pdf": "application/pdf",
    ".zip": "application/x-zip-compressed", ".woff": "font/x-woff",
}
DEFAULT_DOCUMENTS = ("Default.htm", "Default.asp", "index.htm", "index.html", "iisstart.htm",
                     "default.aspx")

# %SystemDrive%\inetpub\custerr\en-US\404.htm, as IIS 7 and later ship it.
NOT_FOUND_PAGE = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>404 - File or directory not found.</title>
<style type="text/css">
<!--
body{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}
fieldset{padding:0 15px 10px 15px;}
h1{font-size:2.4em;margin:0;color:#FFF;}
h2{font-size:1.7em;margin:0;color:#CC0000;}
h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;}
#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:"trebuchet MS", Verdana, sans-serif;color:#FFF;
background-color:#555555;}
#content{margin:0 0 0 2%;position:relative;}
.content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}
-->
</style>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>404 - File or directory not found.</h2>
  <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
 </fieldset></div>
</div>
</body>
</html>
""".replace(b"\n", b"\r\n")


# custerr\en-US\403.htm: a folder without a default document when directory browsing is off
# (IIS's default), 403.14 on the detailed page.
FORBIDDEN_PAGE = (NOT_FOUND_PAGE
                  .replace(b"404 - File or directory not found.", b"403 - Forbidden: Access is denied.")
                  .replace(b"The resource you are looking for might have been removed, had its name "
                           b"changed, or is temporarily unavailable.",
                           b"You do not have permission to view this directory or page using the "
                           b"credentials that you supplied."))


# custerr\en-US\405.htm: a verb other than GET or HEAD sent to a static file (the StaticFile
# handler's verbs); the detailed page calls it "HTTP Error 405.0 - Method Not Allowed".
METHOD_NOT_ALLOWED_PAGE = (NOT_FOUND_PAGE
                           .replace(b"404 - File or directory not found.",
                                    b"405 - HTTP verb used to access this page is not allowed.")
                           .replace(b"The resource you are looking for might have been removed, had "
                                    b"its name changed, or is temporarily unavailable.",
                                    b"The page you are looking for cannot be displayed because an "
                                    b"invalid method (HTTP verb) was used to attempt access."))
STATIC_FILE_VERBS = ("GET", "HEAD")
# The Allow header of IIS's 405: a captured IIS 7.5 response (Server: Microsoft-IIS/7.5,
# Content-Length 1293, 405 Method Not Allowed) carries "Allow: GET, HEAD, OPTIONS, TRACE"
# (pastebin eUi67ksN, a failed-request trace of a PUT).
ALLOW = "GET, HEAD, OPTIONS, TRACE"
# IIS's OPTIONSVerbHandler (ProtocolSupportModule) answers OPTIONS for any path of a site,
# file or not, before any other handler: 200, no body, these two lists. Captured answers:
# IIS 7.5 (2013, a libcurl binding's README), 8.0 (2015, a disclosure report) and 10.0 (a
# 2019 write-up: "Allow: OPTIONS, TRACE, GET, HEAD, POST", "Server: Microsoft-IIS/10.0",
# "Public: OPTIONS, TRACE, GET, HEAD, POST", "X-Powered-By: ASP.NET", "Content-Length: 0";
# a 2024 note shows the same for a path that does not exist).
OPTIONS_METHODS = "OPTIONS, TRACE, GET, HEAD, POST"


def server_header(machine: Machine) -> str:
    return f"Microsoft-IIS/{machine.os.iis_version}"


def _site_root(machine: Machine) -> str:
    """The Default Web Site's physical path as IIS's configuration holds it, kept as the
    site bindings are (schannel.iis.ROUTES_REREAD_SECONDS): a change this process makes
    applies at the next request, another process's within that time."""
    from schannel import iis

    return machine.cached(("iis-default-site-root",), iis.ROUTES_REREAD_SECONDS,
                          lambda: _read_site_root(machine))


def _read_site_root(machine: Machine) -> str:
    row = machine.db.execute("SELECT physical_path FROM iis_sites WHERE name = ?",
                             ("Default Web Site",)).fetchone()
    return row[0] if row else r"%SystemDrive%\inetpub\wwwroot"


# http.sys's own answer to a request no registered URL matches (no started site has an https
# binding for the endpoint, or only bindings naming other host names): 404 with its page and
# "Server: Microsoft-HTTPAPI/2.0" -- a recorded response: <TITLE>Not Found</TITLE>,
# <h2>Not Found</h2>, "HTTP Error 404. The requested resource is not found." (Azure SDK for
# JS text-analytics test recordings); seen from IIS for a host whose site is stopped ("IIS
# Websites handing 404 when website disabled": "the Server header being sent wasn't IIS's
# normal header. It was Microsoft-HTTPAPI/2.0").
NO_SITE = ("Not Found", "The requested resource is not found.")


def _request_host(request: HttpRequest) -> str:
    """The Host header's name, without the port (an IPv6 literal without its brackets)."""
    return host_name(request.headers.get("host", ""))


def host_name(header: str) -> str:
    """A Host header's name, without the port (an IPv6 literal without its brackets)."""
    host = header.strip()
    if host.startswith("["):
        return host[1:host.find("]")].lower() if "]" in host else host.lower()
    name, colon, port = host.rpartition(":")
    return (name if colon and port.isdigit() else host).lower()


def no_site() -> HttpResponse:
    """http.sys's 404: no site's binding matches the request. (Its 400s close the
    connection; nothing says this one does, so the connection stays open.)"""
    response = httpsys_error(NO_SITE, 404, "Not Found")
    response.headers = [h for h in response.headers if h[0] != "Connection"]
    return response


def _host_folder(machine: Machine, physical: str) -> str:
    """The real folder behind a physical path (%SystemDrive% expanded as IIS does)."""
    windows = PureWindowsPath(physical.replace("%SystemDrive%", "C:").replace("%systemdrive%", "C:"))
    return str(machine.host_path(windows))


def not_found(machine: Machine) -> HttpResponse:
    """IIS's 404 for a remote client: the custom error page."""
    return HttpResponse(404, "Not Found", [("Content-Type", "text/html"),
                                           ("Server", server_header(machine)),
                                           ("X-Powered-By", "ASP.NET")], NOT_FOUND_PAGE)


def forbidden(machine: Machine) -> HttpResponse:
    """IIS's 403 for a remote client (403.14: no default document, no directory browsing)."""
    return HttpResponse(403, "Forbidden", [("Content-Type", "text/html"),
                                           ("Server", server_header(machine)),
                                           ("X-Powered-By", "ASP.NET")], FORBIDDEN_PAGE)


def moved(machine: Machine, request: HttpRequest, path: str) -> HttpResponse:
    """A folder asked for without its trailing slash: IIS redirects to the slashed URL."""
    host = request.headers.get("host", "localhost")
    location = f"https://{host}{path}/"
    body = (f'<head><title>Document Moved</title></head>\n<body><h1>Object Moved</h1>This '
            f'document may be found <a HREF="{location}">here</a></body>').encode("latin-1", "replace")
    return HttpResponse(301, "Moved Permanently", [("Content-Type", "text/html; charset=UTF-8"),
                                                   ("Location", location),
                                                   ("Server", server_header(machine)),
                                                   ("X-Powered-By", "ASP.NET")], body)


def method_not_allowed(machine: Machine) -> HttpResponse:
    """IIS's 405 for a remote client: the StaticFile handler answers GET and HEAD only."""
    return HttpResponse(405, "Method Not Allowed", [("Allow", ALLOW),
                                                    ("Content-Type", "text/html"),
                                                    ("Server", server_header(machine)),
                                                    ("X-Powered-By", "ASP.NET")],
                        METHOD_NOT_ALLOWED_PAGE)


def options(machine: Machine) -> HttpResponse:
    """IIS's answer to OPTIONS (its OPTIONSVerbHandler), whatever the path."""
    return HttpResponse(200, "OK", [("Allow", OPTIONS_METHODS), ("Server", server_header(machine)),
                                    ("Public", OPTIONS_METHODS), ("X-Powered-By", "ASP.NET")])


def _verb_check(machine: Machine, request: HttpRequest,
                response: HttpResponse) -> HttpResponse:
    """The 405 for a verb the StaticFile handler does not take, sent to a file it would
    serve; a missing file stays IIS's 404 (RFC 9110 15.5.6: 405 is for a method the target
    resource does not support, so the resource exists)."""
    if request.method in STATIC_FILE_VERBS or response.status != 200:
        return response
    return method_not_allowed(machine)


def _etag(mtime_ns: int) -> str:
    # IIS's static-file ETag: the file time as FILETIME hex, then ":0".
    filetime = mtime_ns // 100 + 116444736000000000
    return f'"{filetime:x}:0"'


_CACHED_RESPONSES = 256  # static responses a handler keeps (all dropped when full)
# IIS's output cache keeps responses up to <caching maxResponseSize>, 262144 bytes by default
# (Microsoft, "caching Element [IIS Settings Schema]"): larger files are read every time.
_CACHED_BODY_MAX = 262144
_SETTLED_NS = 1_000_000_000  # what changed less than this ago is read again next time


def _mark(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file or folder's content changed: identity, size, modification and
    change times (a folder's move when an entry is added, removed or renamed)."""
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _still(marks: tuple) -> bool:
    """Whether every (path, mark) of a cached response still holds."""
    try:
        return all(_mark(os.stat(path)) == mark for path, mark in marks)
    except OSError:
        return False


def _entries(folder: str) -> dict[str, os.DirEntry]:
    """A folder's entries by lower-cased name (NTFS looks names up case-insensitively)."""
    with os.scandir(folder) as it:
        return {entry.name.lower(): entry for entry in it}


def static_handler(machine: Machine, binding=None):
    """A handler for :class:`schannel.tls.TlsEndpoint` serving a site's files.

    With an http.sys SSL ``binding`` (:class:`schannel.httpsys.SslBinding`) each request goes
    to the site whose https binding http.sys routes it to (schannel.iis.route_https_request:
    a binding this process adds while serving applies at the next request, another
    process's within a second); none: http.sys's own 404. Without one, the Default Web
    Site."""
    from schannel import iis

    folders: dict[str, str] = {}
    # Static responses by (site folder, canonical URL path): what IIS's output cache does for
    # a static file (http.sys keeps the response; a change to the file drops it). Each hit
    # is checked against the file and every folder on the way having the same identity and
    # modification time, so a changed, replaced or newly shadowing file is read again.
    cached: dict[tuple[str, str], tuple[tuple, HttpResponse]] = {}

    def site_root(request: HttpRequest) -> str | None:
        if binding is None:
            return _site_root(machine)
        site = iis.route_https_request(machine, binding.endpoint, binding.kind,
                                       _request_host(request))
        return None if site is None else site[1]

    def handle(request: HttpRequest) -> HttpResponse:
        physical = site_root(request)
        if physical is None:
            return no_site()
        if request.method == "OPTIONS":
            return options(machine)
        return _verb_check(machine, request, serve_file(request, physical))

    def serve_file(request: HttpRequest, physical: str) -> HttpResponse:
        path = unquote(urlsplit(request.target).path or "/")
        # http.sys canonicalizes the URL: "." and ".." segments never leave the site.
        norm = posixpath.normpath("/" + path.replace("\\", "/"))
        key = (physical, norm + "/" if path.endswith("/") and norm != "/" else norm)
        hit = cached.get(key)
        if hit is not None and _still(hit[0]):
            return hit[1]
        parts = [p for p in norm.split("/") if p]
        if any(":" in p or any(ord(c) < 32 for c in p) for p in parts):
            return not_found(machine)  # no drive, stream or device names through a URL
        try:
            host = folders.get(physical)
            if host is None:  # the mapping is fixed for a machine: computed once per path
                host = folders[physical] = _host_folder(machine, physical)
            visited = [host]  # the folders the lookup read
            for part in parts:  # NTFS names match case-insensitively
                exact = os.path.join(host, part)
                if not os.path.exists(exact) and os.path.isdir(host):
                    entry = _entries(host).get(part.lower())
                    exact = entry.path if entry is not None else exact
                host = exact
                visited.append(host)
            if os.path.isdir(host):
                if parts and not path.endswith("/"):
                    return moved(machine, request, "/" + "/".join(parts))
                entries = _entries(host)  # one listing for every default document
                for name in DEFAULT_DOCUMENTS:
                    entry = entries.get(name.lower())
                    if entry is not None and entry.is_file():
                        host = entry.path
                        break
                else:
                    return forbidden(machine)
            else:
                visited.pop()
            folder_marks = tuple((folder, _mark(os.stat(folder))) for folder in visited)
            stat = os.stat(host)  # never open a FIFO or a device: only a regular file
            if not S_ISREG(stat.st_mode):
                return not_found(machine)
            content_type = MIME_TYPES.get(os.path.splitext(host)[1].lower())
            if content_type is None:
                return not_found(machine)  # 404.3: no MIME map entry; remote clients see 404
            with open(host, "rb") as fh:
                body = fh.read()
                if _mark(os.fstat(fh.fileno())) != _mark(stat):
                    raise OSError("the file changed while it was read")
        except (ValueError, OSError):
            return not_found(machine)
        response = _file_response(content_type, stat, body)
        newest = max(stat.st_mtime_ns, stat.st_ctime_ns,
                     *(max(mark[2], mark[3]) for _, mark in folder_marks))
        # Kept when small enough (IIS's <caching maxResponseSize>, 256 KB by default) and
        # when nothing it depends on changed in the last second: a file system's times move
        # in ticks, so a second write within the tick of the one seen could leave the same
        # marks (git's "racy clean" entries, the same answer).
        if len(body) <= _CACHED_BODY_MAX and time.time_ns() - newest > _SETTLED_NS:
            if len(cached) >= _CACHED_RESPONSES:
                cached.clear()
            cached[key] = ((*folder_marks, (host, _mark(stat))), response)
        return response

    def _file_response(content_type: str, stat: os.stat_result, body: bytes) -> HttpResponse:
        return StaticResponse(headers=[
            ("Content-Type", content_type),
            ("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True)),
            ("Accept-Ranges", "bytes"),
            ("ETag", _etag(stat.st_mtime_ns)),
            ("Server", server_header(machine)),
            ("X-Powered-By", "ASP.NET"),
        ], body=body)

    return handle


__all__ = ["DEFAULT_DOCUMENTS", "FORBIDDEN_PAGE", "METHOD_NOT_ALLOWED_PAGE", "MIME_TYPES",
           "NOT_FOUND_PAGE", "NO_SITE", "OPTIONS_METHODS", "STATIC_FILE_VERBS", "forbidden",
           "host_name", "method_not_allowed", "moved", "no_site", "not_found", "options",
           "server_header", "static_handler"]

"""``winpki appcmd``: IIS's appcmd.exe for sites and application pools.

    appcmd list site [name]          appcmd list apppool [name]
    appcmd add site /name:N /physicalPath:P [/bindings:http/*:80:]
    appcmd set site /site.name:N /+bindings.[protocol='https',bindingInformation='*:443:']
    appcmd add apppool /name:N
    appcmd set apppool /apppool.name:N /processModel.identityType:NetworkService
    appcmd set config "Site" -section:system.webServer/security/access
           /sslFlags:"Ssl, SslNegotiateCert, SslRequireCert" /commit:apphost
    appcmd list config "Site" -section:system.webServer/security/access
"""

from __future__ import annotations

import re
from typing import TextIO

from capi.errors import ERROR_ACCESS_DENIED, WinError
from capi.host.context import current_machine, current_token
from capi.host.objectsd import APPLICATION_HOST_CONFIG, check_config_read
from schannel import iis


def _opts(words: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    positional, opts = [], []
    for w in words:
        if w.startswith(("/", "-")) and len(w) > 1:
            key, _, value = w[1:].partition(":")
            opts.append((key, value.strip('"')))
        else:
            positional.append(w)
    return positional, opts


def _site_line(site: iis.Site) -> str:
    bindings = ",".join(f"{b.protocol}/{b.binding_info}" for b in site.bindings)
    return f'SITE "{site.name}" (id:{site.id},bindings:{bindings},state:{site.state})'


def _pool_line(pool: iis.AppPool) -> str:
    return f'APPPOOL "{pool.name}" (MgdVersion:v4.0,MgdMode:Integrated,state:{pool.state})'


# appcmd's failure line, as quoted from real runs in public scripts and tests:
# 'ERROR ( message:Cannot find SITE object with identifier "SomeSite". )' and
# 'ERROR ( message:Unknown attribute "...".  Replace with -? for help. )' (two spaces).
# The duplicate-binding text is IIS's configuration error ("Cannot add duplicate collection
# entry of type 'binding' with combined key attributes 'protocol, bindingInformation'
# respectively set to 'http, *:61902:localhost'", Microsoft.Web.Administration tests) and
# 0x800700b7 is its HRESULT (Microsoft's IIS blog on 500.19); the "hresult:800700b7, "
# prefix inside appcmd's ERROR line is NOT confirmed by a public source.
def _error(out: TextIO, message: str, hresult: str | None = None) -> int:
    code = f"hresult:{hresult}, " if hresult else ""
    out.write(f"ERROR ( {code}message:{message} )\n")
    return 1


# A caller who may not read or write the configuration (anyone but SYSTEM and the
# Administrators, by its default ACL) gets the IIS configuration system's error. A
# non-elevated appcmd fails on the first file it reads, redirection.config:
#   ERROR ( message:Configuration error
#   Filename: redirection.config
#   Line Number: 0
#   Description: Cannot read configuration file due to insufficient permissions
#   . )
# and exits with 5 (appcmd's output as mocked in microsoft/azure-pipelines-tasks'
# IISWebAppManagement tests; "Process 'appcmd.exe' exited with code '5'", issue 200 of
# MicrosoftLearning/AZ400-DesigningandImplementingMicrosoftDevOpsSolutions). Someone
# granted read but not write fails at the commit with "Cannot write configuration file
# due to insufficient permissions" (Microsoft KB 2023852, "You receive an error when you
# use the Web Deployment Tool (Web Deploy) as a non-administrative user").
def _config_denied(out: TextIO, filename: str, verb: str) -> int:
    out.write(f"ERROR ( message:Configuration error\nFilename: {filename}\nLine Number: 0\n"
              f"Description: Cannot {verb} configuration file due to insufficient "
              "permissions\n. )\n")
    return ERROR_ACCESS_DENIED


# appcmd list <object>: how to read and how to print each kind.
_LISTS = {"site": (iis.list_sites, _site_line), "apppool": (iis.list_app_pools, _pool_line)}

_ADD_BINDING = re.compile(
    r"^\+bindings\.\[protocol='(?P<p>[^']+)',bindingInformation='(?P<b>[^']*)'\]$", re.I)


def _config_section(machine, verb: str, positional: list[str], values: dict, out: TextIO) -> int:
    """set/list config for system.webServer/security/access (sslFlags), the one section
    kept (schannel.clientcert). appcmd's success line names the section, the configuration
    path and the commit path."""
    from schannel import clientcert

    section = values.get("section", "")
    if section.lower() != clientcert.ACCESS_SECTION.lower():
        return _error(out, f'Unknown config section "{section}".  Replace with -? for help.')
    location = positional[0] if positional else ""
    if location:
        try:
            location = iis.get_site(machine, location).name
        except WinError:
            return _error(out, f'Cannot find SITE object with identifier "{location}".')
    path = "MACHINE/WEBROOT/APPHOST" + (f"/{location}" if location else "")
    if verb == "list":
        flags = clientcert.get_access_ssl_flags(machine, location or None)
        out.write("<system.webServer>\n  <security>\n    <access sslFlags=\""
                  f"{clientcert.format_ssl_flags(flags)}\" />\n  </security>\n"
                  "</system.webServer>\n")
        return 0
    if "sslflags" not in values:
        return _error(out, "Missing attribute sslFlags")
    try:
        clientcert.parse_ssl_flags(values["sslflags"])
    except WinError:
        return _error(out, f'Invalid sslFlags value "{values["sslflags"]}"')
    clientcert.set_access_ssl_flags(machine, location, values["sslflags"])
    out.write(f'Applied configuration changes to section "{clientcert.ACCESS_SECTION}" for '
              f'"{path}" at configuration commit path "MACHINE/WEBROOT/APPHOST"\n')
    return 0


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    if len(args) < 2:  # appcmd's help (of the object, when one is named), not a command
        from winpki.helptext import _appcmd_help

        out.write(_appcmd_help(args))
        return 1
    verb, obj = args[0].lower(), args[1].lower()
    obj = {"sites": "site", "apppools": "apppool"}.get(obj, obj)  # appcmd takes plurals too
    positional, opts = _opts(args[2:])
    machine = current_machine()
    try:
        check_config_read(machine, current_token(machine))
    except WinError as exc:
        if exc.winerror != ERROR_ACCESS_DENIED:
            raise
        return _config_denied(out, "redirection.config", "read")
    try:
        if verb == "list" and obj in _LISTS:
            items, render = _LISTS[obj][0](machine), _LISTS[obj][1]
            if positional:
                items = [i for i in items if i.name.lower() == positional[0].lower()]
                if not items:
                    return _error(out, f'Cannot find {obj.upper()} object with identifier '
                                       f'"{positional[0]}".')
            from winpki.tools.appcmd_output import render_list

            fmt = None
            for key, value in opts:  # /xml, /text, /text:ATTR, /text:*
                if key.lower() in ("xml", "text"):
                    fmt = key.lower() + (f":{value}" if value else "")
                    continue
                # /ATTR:VALUE keeps the objects whose attribute has that value
                # ("Getting Started with AppCmd.exe": appcmd list sites /state:Stopped).
                from winpki.tools.appcmd_output import attributes, config_attributes

                kept = []
                for i in items:
                    table = {k.lower(): v for k, v in config_attributes(obj, i) + attributes(obj, i)}
                    if key.lower() not in table:
                        return _error(out, f'Unknown attribute "{key}".  Replace with -? for help.')
                    if table[key.lower()].lower() == value.lower():
                        kept.append(i)
                items = kept
            text, unknown = render_list(obj, items, fmt, render)
            if unknown is not None:
                return _error(out, f'Unknown attribute "{unknown}".  Replace with -? for help.')
            out.write(text)
            return 0
        values = {k.lower(): v for k, v in opts}
        if obj == "config" and verb in ("set", "list"):
            return _config_section(machine, verb, positional, values, out)
        if verb == "add" and obj == "site":
            if "name" not in values or "physicalpath" not in values:
                return _error(out, "Missing required attribute name or physicalPath")
            bindings = []
            for item in values.get("bindings", "http/*:80:").split(","):
                protocol, sep, info = item.partition("/")
                if not sep or not protocol:
                    return _error(out, f'Invalid binding "{item}"; expected protocol/ip:port:host')
                bindings.append((protocol, info))
            iis.add_site(machine, values["name"], values["physicalpath"], bindings=tuple(bindings))
            name = values["name"]
            out.write(f'SITE object "{name}" added\nAPP object "{name}/" added\n'
                      f'VDIR object "{name}/" added\n')
            return 0
        if verb == "add" and obj == "apppool":
            if "name" not in values:
                return _error(out, "Missing required attribute name")
            iis.add_app_pool(machine, values["name"])
            out.write(f'APPPOOL object "{values["name"]}" added\n')
            return 0
        if verb == "set" and obj == "site":
            name = values.get("site.name") or (positional[0] if positional else None)
            if not name:
                return _error(out, "Missing site name")
            try:
                site = iis.get_site(machine, name)
            except WinError:
                return _error(out, f'Cannot find SITE object with identifier "{name}".')
            changes = []
            for key, value in opts:
                if key.lower() == "site.name":
                    continue
                m = _ADD_BINDING.match(key + (":" + value if value else ""))
                if not m:
                    return _error(out, f'Unknown attribute "{key}".  Replace with -? for help.')
                changes.append((m.group("p"), m.group("b")))
            for protocol, info in changes:
                try:
                    iis.add_site_binding(machine, site.name, protocol, info)
                except WinError as exc:
                    if exc.winerror != 183:
                        raise
                    return _error(out, "Cannot add duplicate collection entry of type 'binding' "
                                  "with combined key attributes 'protocol, bindingInformation' "
                                  f"respectively set to '{exc.detail}'", hresult="800700b7")
            out.write(f'SITE object "{site.name}" changed\n')
            return 0
        if verb == "set" and obj == "apppool":
            name = values.get("apppool.name") or (positional[0] if positional else None)
            identity = values.get("processmodel.identitytype")
            if not name or not identity:
                return _error(out, "Missing apppool.name or processModel.identityType")
            try:
                iis.get_app_pool(machine, name)
            except WinError:
                return _error(out, f'Cannot find APPPOOL object with identifier "{name}".')
            iis.set_app_pool_identity(machine, name, identity, values.get("processmodel.username"))
            out.write(f'APPPOOL object "{name}" changed\n')
            return 0
    except WinError as exc:
        if exc.winerror == ERROR_ACCESS_DENIED:
            return _config_denied(out, APPLICATION_HOST_CONFIG, "write")
        return _error(out, exc.strerror)
    return _error(out, f"Unknown verb or object: {args[0]} {args[1]}")

"""``winpki netsh http add|show|delete sslcert ...``: netsh's http context for SSL bindings."""

from __future__ import annotations

from typing import TextIO

from capi.errors import ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER, WinError
from capi.host.context import current_machine, current_token
from schannel import httpsys, urlacl

ADD_USAGE = """
Usage: add sslcert hostnameport=<name:port> | ipport=<ipaddr:port> | ccs=<port>
        appid=<GUID>
        [certhash=<string>]
        [certstorename=<string>]
        [verifyclientcertrevocation=enable|disable]
        [verifyrevocationwithcachedclientcertonly=enable|disable]
        [usagecheck=enable|disable]
        [revocationfreshnesstime=<u-int>]
        [urlretrievaltimeout=<u-int>]
        [sslctlidentifier=<string>]
        [sslctlstorename=<string>]
        [dsmapperusage=enable|disable]
        [clientcertnegotiation=enable|disable]

Parameters:

    Tag                  Value
    ipport             - IP address and port for the binding.
    hostnameport       - Unicode hostname and port for binding.
    ccs                - Central Certificate Store binding.
    certhash           - The SHA hash of the certificate. This hash is
                         20 bytes long and specified as a hex string.
    appid              - GUID to identify the owning application.
    certstorename      - Store name for the certificate. Defaults to MY.
                         Certificate must be stored in the local machine
                         context.
    sslctlidentifier   - List the certificate issuers that can be trusted.
                         This list can be a subset of the certificate issuers
                         that are trusted by the machine.
    sslctlstorename    - Store name under LOCAL_MACHINE where SslCtlIdentifier
                         is stored.
    clientcertnegotiation - Turns on/off negotiation of certificate. Default is
                         disabled.

Examples:

    add sslcert ipport=1.1.1.1:443 certhash=0102030405060708090A0B0C0D0E0F1011121314 appid={00112233-4455-6677-8899-AABBCCDDEEFF}
    add sslcert ccs=443 appid={00112233-4455-6677-8899-AABBCCDDEEFF}
"""

MISSING_PARAMS = ("One or more essential parameters were not entered.\n"
                  "Verify the required parameters, and reenter them.\n"
                  "The syntax supplied for this command is not valid. Check help for the "
                  "correct syntax.\n")

KNOWN_ADD = {"ipport", "hostnameport", "ccs", "certhash", "appid", "certstorename",
             "verifyclientcertrevocation", "verifyrevocationwithcachedclientcertonly",
             "usagecheck", "revocationfreshnesstime", "urlretrievaltimeout", "sslctlidentifier",
             "sslctlstorename", "dsmapperusage", "clientcertnegotiation"}


def _params(words: list[str], bare: str | None = None) -> dict[str, str]:
    """tag=value words; ``bare`` names the tag a single untagged word stands for (netsh's
    optional tags, as in ``add iplisten 127.0.0.1``)."""
    params: dict[str, str] = {}
    if bare is not None and len(words) == 1 and "=" not in words[0]:
        return {bare: words[0].strip().strip("'\"")}
    for w in words:
        if "=" not in w:
            raise WinError(ERROR_INVALID_PARAMETER, detail=w)
        key, _, value = w.partition("=")
        params[key.lower()] = value.strip().strip("'\"")
    return params


def _endpoint(params: dict[str, str]) -> tuple[str, str] | None:
    if len({"ipport", "hostnameport", "ccs"} & set(params)) > 1:
        raise WinError(ERROR_INVALID_PARAMETER, detail="one of ipport, hostnameport, ccs")
    if "ccs" in params:
        return f"0.0.0.0:{httpsys.parse_ccs_port(params['ccs'])}", "ccs"
    if "ipport" in params:
        return httpsys.parse_ipport(params["ipport"]), "ipport"
    if "hostnameport" in params:
        return httpsys.parse_hostnameport(params["hostnameport"]), "hostnameport"
    return None


def _show(out: TextIO, bindings: list[httpsys.SslBinding]) -> None:
    out.write("\nSSL Certificate bindings:\n-------------------------\n\n")
    for b in bindings:
        if b.kind == "ccs":
            # A CCS binding is listed by its port, with no certificate of its own.
            out.write(f"    {'Central Certificate Store':<28} : {b.endpoint.rpartition(':')[2]}\n")
        else:
            label = "IP:port" if b.kind == "ipport" else "Hostname:port"
            out.write(f"    {label:<28} : {b.endpoint}\n")
        out.write(f"    {'Certificate Hash':<28} : {b.cert_hash or '(null)'}\n")
        out.write(f"    {'Application ID':<28} : {b.app_id}\n")
        out.write(f"    {'Certificate Store Name':<28} : {b.store_name or '(null)'}\n")
        out.write("    Verify Client Certificate Revocation : Enabled\n")
        out.write("    Verify Revocation Using Cached Client Certificate Only : Disabled\n")
        out.write(f"    {'Usage Check':<28} : Enabled\n")
        out.write(f"    {'Revocation Freshness Time':<28} : 0\n")
        out.write(f"    {'URL Retrieval Timeout':<28} : 0\n")
        out.write(f"    {'Ctl Identifier':<28} : {b.ctl_identifier or '(null)'}\n")
        out.write(f"    {'Ctl Store Name':<28} : {b.ctl_store_name or '(null)'}\n")
        out.write(f"    {'DS Mapper Usage':<28} : Disabled\n")
        negotiate = "Enabled" if b.client_cert_negotiation else "Disabled"
        out.write(f"    {'Negotiate Client Certificate':<28} : {negotiate}\n\n")


def _failure(out: TextIO, verb: str, exc: WinError) -> int:
    out.write(f"\nSSL Certificate {verb} failed, Error: {exc.winerror}\n{exc.strerror}\n\n")
    return 1


def _urlacl(verb: str, words: list[str], out: TextIO) -> int:
    """netsh http add|delete|show urlacl (schannel.urlacl)."""
    machine = current_machine()
    try:
        params = _params(words)
    except WinError as exc:
        out.write(f"{exc.strerror}\n")
        return 1
    known = {"add": {"url", "user", "listen", "delegate", "sddl"}, "delete": {"url"},
             "show": {"url"}}
    if verb not in known or set(params) - known[verb] or (
            verb == "add" and ("url" not in params or not ({"user", "sddl"} & set(params))))\
            or (verb == "delete" and "url" not in params):
        out.write(MISSING_PARAMS)
        return 1
    token = current_token(machine)
    try:
        if verb == "show":
            # The URL is checked before the reservations are read (the first read
            # writes Windows' default reservations).
            wanted = str(urlacl.parse_url(params["url"])).lower() if "url" in params else None
            rows = urlacl.list_reservations(machine)
            if wanted is not None:
                rows = [r for r in rows if r[0].lower() == wanted]
            out.write("\nURL Reservations:\n-----------------\n\n")
            for url, sddl in rows:
                out.write(f"    Reserved URL            : {url}\n")
                for account, listen, delegate in urlacl.describe(machine, sddl):
                    out.write(f"        User: {account}\n"
                              f"            Listen: {'Yes' if listen else 'No'}\n"
                              f"            Delegate: {'Yes' if delegate else 'No'}\n")
                out.write(f"            SDDL: {sddl}\n\n")
            return 0
        if verb == "add":
            sddl = params.get("sddl") or urlacl.sddl_for(
                machine, params["user"], listen=params.get("listen", "yes").lower() == "yes",
                delegate=params.get("delegate", "no").lower() == "yes")
            urlacl.add_reservation(machine, token, params["url"], sddl)
            out.write("\nURL reservation successfully added\n\n")
        else:
            urlacl.delete_reservation(machine, token, params["url"])
            out.write("\nURL reservation successfully deleted\n\n")
        return 0
    except WinError as exc:
        if exc.winerror == ERROR_INVALID_PARAMETER:
            out.write(f"{exc.strerror}\n")
            return 1
        out.write(f"\nUrl reservation {verb} failed, Error: {exc.winerror}\n{exc.strerror}\n\n")
        return 1


def _iplisten(verb: str, words: list[str], out: TextIO) -> int:
    """netsh http add|delete|show iplisten [ipaddress=]<address> (schannel.urlacl's IP
    listen list: addresses only, no port — Microsoft's "Netsh http commands")."""
    machine = current_machine()
    try:
        params = _params(words, bare="ipaddress")
    except WinError as exc:
        out.write(f"{exc.strerror}\n")
        return 1
    if verb == "show":
        if params:
            out.write(MISSING_PARAMS)
            return 1
        out.write("\nIP addresses present in the IP listen list:\n"
                  "-------------------------------------------\n\n")
        for address in urlacl.list_listen_addresses(machine):
            out.write(f"    {address}\n")
        out.write("\n")
        return 0
    if set(params) != {"ipaddress"}:
        out.write(MISSING_PARAMS)
        return 1
    try:
        address = urlacl.parse_listen_address(params["ipaddress"])
    except WinError as exc:
        out.write(f"{exc.strerror}\n")
        return 1
    token = current_token(machine)
    try:
        if verb == "add":
            urlacl.add_listen_address(machine, token, address)
        else:
            urlacl.delete_listen_address(machine, token, address)
    except WinError as exc:
        out.write(f"\nIP address {verb} failed, Error: {exc.winerror}\n{exc.strerror}\n\n")
        return 1
    out.write(f"\nIP address successfully {'added' if verb == 'add' else 'deleted'}\n\n")
    return 0


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    words = list(args)
    if not words:  # netsh would start its interactive shell; show its commands instead
        from winpki.helptext import NETSH_TOP

        out.write(NETSH_TOP)
        return 1
    if len(words) >= 3 and words[0].lower() == "http" and words[2].lower() == "urlacl":
        return _urlacl(words[1].lower(), words[3:], out)
    if len(words) >= 3 and words[0].lower() == "http" and words[2].lower() == "iplisten" \
            and words[1].lower() in ("add", "delete", "show"):
        return _iplisten(words[1].lower(), words[3:], out)
    if len(words) < 3 or words[0].lower() != "http" or words[2].lower() != "sslcert":
        out.write(f"The following command was not found: {' '.join(words)}.\n")
        return 1
    verb = words[1].lower()
    machine = current_machine()
    try:
        params = _params(words[3:])
    except WinError as exc:
        out.write(f"{exc.strerror}\n")
        return 1
    if verb in ("add", "update"):
        unknown = set(params) - KNOWN_ADD
        if unknown or _has_no_endpoint(params) or "appid" not in params:
            out.write(MISSING_PARAMS + (ADD_USAGE if verb == "add"
                                        else ADD_USAGE.replace("add sslcert", "update sslcert")))
            return 1
        for toggle in ("verifyclientcertrevocation", "verifyrevocationwithcachedclientcertonly",
                       "usagecheck", "dsmapperusage", "clientcertnegotiation"):
            if toggle in params and params[toggle].lower() not in ("enable", "disable"):
                out.write("The parameter is incorrect.\n")
                return 1
        try:
            endpoint, kind = _endpoint(params)
            negotiate = params.get("clientcertnegotiation", "").lower() == "enable"
            app_id = httpsys.parse_appid(params["appid"])
            # Kept as typed (netsh's listing shows "Ctl Store Name : adfsclient" for
            # sslctlstorename=adfsclient: Microsoft Japan identity support blog, "AD FS
            # 証明書認証のトラブルシューティング"); an empty value is none.
            ctl = {"ctl_identifier": params.get("sslctlidentifier") or None,
                   "ctl_store_name": params.get("sslctlstorename") or None}
            if kind == "ccs":
                if params.get("certhash"):
                    # CCS finds the certificate by host name in its share: no hash.
                    raise WinError(ERROR_INVALID_PARAMETER, detail="ccs= takes no certhash")
                binding = httpsys.ccs_binding(
                    int(endpoint.rpartition(":")[2]), app_id,
                    store_name=(params.get("certstorename") or "").upper() or None,
                    client_cert_negotiation=negotiate, **ctl)
            else:
                binding = httpsys.SslBinding(
                    endpoint=endpoint, kind=kind,
                    cert_hash=httpsys.parse_certhash(params.get("certhash", "")),
                    app_id=app_id, store_name=(params.get("certstorename") or "MY").upper(),
                    client_cert_negotiation=negotiate, **ctl)
        except WinError as exc:
            out.write(f"{exc.strerror}\n")
            return 1
        try:
            if kind == "ccs":
                (httpsys.add_ccs_binding if verb == "add"
                 else httpsys.replace_ccs_binding)(machine, binding)
            elif verb == "add":
                httpsys.add_binding(machine, binding)
            else:
                if httpsys.get_binding(machine, binding.endpoint) is None:
                    raise WinError(ERROR_FILE_NOT_FOUND, detail=binding.endpoint)
                httpsys.replace_binding(machine, binding)
        except WinError as exc:
            return _failure(out, verb, exc)
        out.write(f"\nSSL Certificate successfully {'added' if verb == 'add' else 'updated'}\n\n")
        return 0
    if verb in ("show", "delete") and set(params) - {"ipport", "hostnameport", "ccs"}:
        out.write(MISSING_PARAMS)  # a tag the command does not take, as for add
        return 1
    if verb == "show":
        try:
            selected = _endpoint(params)
        except WinError as exc:
            out.write(f"{exc.strerror}\n")
            return 1
        if selected is None:
            _show(out, httpsys.list_bindings(machine) + httpsys.list_ccs_bindings(machine))
            return 0
        if selected[1] == "ccs":
            binding = httpsys.get_ccs_binding(machine, int(selected[0].rpartition(":")[2]))
        else:
            binding = httpsys.get_binding(machine, selected[0])
        if binding is None:
            out.write("\nSSL Certificate bindings:\n-------------------------\n\n")
            out.write("The system cannot find the file specified.\n\n")
            return 1
        _show(out, [binding])
        return 0
    if verb == "delete":
        try:
            selected = _endpoint(params)
            if selected is None:
                out.write(MISSING_PARAMS)
                return 1
            if selected[1] == "ccs":
                httpsys.delete_ccs_binding(machine, int(selected[0].rpartition(":")[2]))
            else:
                httpsys.delete_binding(machine, selected[0])
        except WinError as exc:
            if exc.winerror == ERROR_INVALID_PARAMETER:
                out.write(f"{exc.strerror}\n")
                return 1
            return _failure(out, "deletion", exc)
        out.write("\nSSL Certificate successfully deleted\n\n")
        return 0
    out.write(f"The following command was not found: {' '.join(words)}.\n")
    return 1


def _has_no_endpoint(params: dict[str, str]) -> bool:
    return not {"ipport", "hostnameport", "ccs"} & set(params)

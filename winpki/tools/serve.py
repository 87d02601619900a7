"""``winpki serve IPPORT --listen HOST:PORT``: serve an http.sys SSL binding over real TLS."""

from __future__ import annotations

import argparse
import errno
import time
from typing import TextIO

from capi.errors import WinError
from capi.host.context import current_machine
from schannel import protocols
from schannel.serve import serve
from schannel.tls import parse_listen


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="winpki serve",
                                description="Serve an http.sys SSL binding over real TLS: "
                                            "the certificate and key netsh bound, the key "
                                            "used where its provider keeps it.")
    p.add_argument("ipport", help="the http.sys binding, e.g. 0.0.0.0:443")
    p.add_argument("--listen", default="127.0.0.1:8443", help="loopback HOST:PORT to listen on")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--handshakes", type=int, default=None, help="stop after this many handshakes")
    return p


def _no_site_line(machine, ipport: str, out: TextIO) -> None:
    """Say so when no IIS site has an https binding for the served endpoint: every request
    will get http.sys's own 404 (the site binding is what routes requests to a site)."""
    from schannel import httpsys, iis

    ipport_kind = "[" in ipport or ipport[:1].isdigit()
    endpoint = httpsys.parse_ipport(ipport) if ipport_kind else httpsys.parse_hostnameport(ipport)
    kind = "ipport" if ipport_kind else "hostnameport"
    if iis.https_bindings_reaching(machine, endpoint, kind):
        return
    port = endpoint.rpartition(":")[2]
    out.write(f"No IIS site has an https binding for {endpoint}: every request gets http.sys's "
              f"404 (Server: Microsoft-HTTPAPI/2.0). Add one: winpki appcmd set site "
              f"/site.name:\"Default Web Site\" \"/+bindings.[protocol='https',"
              f"bindingInformation='*:{port}:']\"\n")


def run(args: list[str], out: TextIO, err: TextIO) -> int:
    try:
        ns = _parser().parse_args(args)
        listen = parse_listen(ns.listen)
    except SystemExit as exc:
        return int(exc.code or 0)
    except ValueError as exc:
        err.write(f"winpki serve: {exc}\n")
        return 1
    machine = current_machine()
    try:
        with serve(ns.ipport, listen, machine=machine) as endpoint:
            host, port = endpoint.address
            shown = f"[{host}]" if ":" in host else host
            out.write(f"Serving {ns.ipport} (http.sys binding) at https://{shown}:{port}/\n")
            settings = protocols.effective_settings(machine)
            suites = settings.served_suites
            unserved = [p for p in settings.protocols if p not in settings.served_protocols]
            also = (f" (also enabled, not served here: {', '.join(unserved)})"
                    if unserved else "")
            out.write(f"Schannel on {machine.os.product}: {', '.join(settings.served_protocols)}"
                      f"{also}; {len(suites)} cipher suites, first {suites[0] if suites else '-'}\n")
            _no_site_line(machine, ns.ipport, out)
            out.flush()
            deadline = None if ns.seconds is None else time.monotonic() + ns.seconds
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if ns.handshakes is not None and endpoint.handshakes >= ns.handshakes:
                    break
                time.sleep(0.05)
    except WinError as exc:
        detail = f" [{exc.detail}]" if exc.detail else ""
        out.write(f"{exc.strerror} (Exception from HRESULT: 0x{exc.hresult:08X}){detail}\n")
        return 1
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # the listening socket: say which address, in Windows' words
        host, port = listen
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            # WSAEADDRINUSE (10048), FormatMessage's text for it.
            err.write(f"winpki serve: cannot listen on {shown}: Only one usage of each socket "
                      "address (protocol/network address/port) is normally permitted.\n")
        else:
            err.write(f"winpki serve: cannot listen on {shown}: {exc.strerror or exc}\n")
        return 1
    return 0

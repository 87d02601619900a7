"""``make demo``: the mission end to end on a fresh simulated Windows Server 2008 R2.

A PFX made with ``openssl pkcs12 -export -keysig`` is imported; binding it to 0.0.0.0:443
fails as on Windows (netsh Error 1312, IIS Manager 0x80070520, Schannel event 36870); the
doctor names the cause (KeySpec = 2 -- AT_SIGNATURE, scenario 3 of the article "Error HRESULT: 0x80070520 when adding SSL binding in IIS"); the fix is
applied; the binding succeeds; TLS 1.2, disabled by default on 2008 R2, is enabled in the
registry; a real TLS client completes a handshake.
"""

from __future__ import annotations

import sys

INTRO = """\
winpki demo — "A specified logon session does not exist. (Exception from HRESULT: 0x80070520)"

Every command below runs against a simulated Windows Server 2008 R2 web server (state in
SQLite, key files under their Windows names with real ACLs, keys encrypted at rest). The
failure comes from its real cause, not from a switch: the certificate's private key was
imported as a signature key, and Schannel on 2008 R2 only uses key-exchange keys.
"""

OUTRO = """
What happened:
  1. certutil -importPFX read the key usage OpenSSL's -keysig wrote inside the PFX, so the
     key became AT_SIGNATURE (KeySpec = 2), as Windows does.
  2. netsh / IIS Manager asked http.sys to bind it; Schannel (lsass, as SYSTEM) refused the
     AT_SIGNATURE key: Error 1312 / 0x80070520, and System event 36870 (0x8009030d).
  3. winpki doctor found KeySpec = 2 and gave the fix; the PFX was imported again as
     AT_KEYEXCHANGE and IIS Manager's https binding succeeded (the http.sys binding and
     the site's binding, which routes the requests to the Default Web Site).
  4. A default 2008 R2 serves TLS 1.0 only (TLS 1.1/1.2 are supported but disabled,
     "Protocols in TLS/SSL (Schannel SSP)"), which current clients refuse; TLS 1.2 was
     enabled with reg add, as 2008 R2 administrators do, and Python's ssl completed a
     TLS 1.2 handshake, the server's signature made by the CSP holding the key.

More: `winpki scenario list` (the other scenarios), `winpki doctor <thumbprint>`,
`winpki certutil -store My`, `winpki wevtutil qe System /f:text` — on a machine of your
own (`winpki machine create`), or on the demo's with `make demo DEMO_ARGS=--keep`
(`python -m winpki.demo --keep`), which keeps the temporary machine and prints its path.
"""


def main(argv: list[str] | None = None) -> int:
    import shlex
    import shutil
    import tempfile

    from rich.console import Console

    from winpki.scenarios import ScenarioFailed, run_scenario
    from winpki.tools.scenario import console_printer

    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help", "-?", "/?") for a in args):
        sys.stdout.write("usage: python -m winpki.demo [--keep]\n\n"
                         "  --keep   keep the temporary machine (removed by default)\n")
        return 0
    keep = "--keep" in args
    console = Console(highlight=False)
    sys.stdout.write(INTRO)
    sys.stdout.flush()
    workdir = tempfile.mkdtemp(prefix="winpki-demo-")
    try:
        run = run_scenario("keyspec", workdir=workdir, printer=console_printer(sys.stdout))
        run.machine.close()
    except ScenarioFailed as exc:
        console.print(f"\n[red]The simulated machine diverged from Windows:[/red] {exc}")
        return 1
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(OUTRO)
    if keep:
        sys.stdout.write(f"\nThe machine is kept in {run.machine.path}:\n"
                         f"  export WINPKI_MACHINE={shlex.quote(str(run.machine.path))}\n")
    else:
        sys.stdout.write("\nThe temporary machine was removed (run with --keep to keep it).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

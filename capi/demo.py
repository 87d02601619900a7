"""``make demo``: the main job, end to end, on a fresh simulated machine.

Each step prints what a Windows administrator would type and what Windows answers.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
import tempfile

from rich.console import Console
from rich.panel import Panel

console = Console(highlight=False)


def step(title: str, text: str = "") -> None:
    console.print()
    console.print(Panel.fit(f"[bold]{title}[/bold]" + (f"\n{text}" if text else ""),
                            border_style="cyan"))


def tool(*args: str) -> int:
    """Run ``winpki <args>`` in-process and print it like a console session."""
    from capi.tools import main

    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    shown = " ".join(f'"{a}"' if " " in a else a for a in args)
    console.print(f"[green]C:\\>[/green] {shown}")
    console.print(out.getvalue().rstrip("\n"), markup=False)
    if err.getvalue().strip():
        console.print(err.getvalue().rstrip("\n"), markup=False, style="red")
    return rc


def server_certificate(cn: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def main() -> int:
    import capi
    from capi import (
        CERT_FIND_SHA1_HASH,
        CERT_STORE_ADD_NEW,
        CERT_STORE_PROV_SYSTEM,
        CERT_SYSTEM_STORE_LOCAL_MACHINE,
        X509_ASN_ENCODING,
        CertAddEncodedCertificateToStore,
        CertFindCertificateInStore,
        CertOpenStore,
        LookupAccountName,
    )

    workdir = tempfile.mkdtemp(prefix="winpki-demo-")
    path = os.path.join(workdir, "WEBSERVER")
    os.environ["WINPKI_MACHINE"] = path

    step("1. Build a Windows Server 2008 R2 web server",
         "capi.Machine.create(path, computer_name='WEBSERVER', os_version='2008R2')")
    machine = capi.Machine.create(path, computer_name="WEBSERVER", os_version="2008R2")
    tool("machine", "info")

    with capi.use_machine(machine):
        step("2. Who is who: IIS's application-pool identity is a virtual account",
             "LookupAccountName(None, 'IIS APPPOOL\\DefaultAppPool')")
        sid, domain, use = LookupAccountName(None, "IIS APPPOOL\\DefaultAppPool")
        console.print(f"  SID {sid}  domain {domain!r}  use {use}")

        step("3. The MachineKeys folder, with Windows' default ACL")
        tool("icacls", machine.machine_keys_dir)

        step("4. Put a server certificate into LocalMachine\\My from Python, as a C# port would",
             "CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None, CERT_SYSTEM_STORE_LOCAL_MACHINE, 'My')\n"
             "CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, CERT_STORE_ADD_NEW)")
        _, der = server_certificate("www.contoso.com")
        with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None,
                           CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as store:
            ctx = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der,
                                                   CERT_STORE_ADD_NEW)
            thumbprint = ctx.thumbprint
        console.print(f"  added, thumbprint {thumbprint}")

        step("5. Add the same certificate again from the command line")
        cer = os.path.join(workdir, "www.contoso.com.cer")
        with open(cer, "wb") as fh:
            fh.write(der)
        tool("certutil", "-addstore", "My", cer)

    step("6. 'Restart' the machine: open it again from disk and find the certificate by SHA-1")
    reopened = capi.Machine.open(path)
    with capi.use_machine(reopened):
        with CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, None,
                           CERT_SYSTEM_STORE_LOCAL_MACHINE, "My") as store:
            found = CertFindCertificateInStore(store, X509_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH,
                                               bytes.fromhex(thumbprint), None)
            console.print(f"  found after reopen: {found is not None}")
        tool("certutil", "-store", "My", thumbprint)

    step("7. A wrong thumbprint fails the way certutil fails")
    tool("certutil", "-store", "My", "00" * 20)

    console.print()
    console.print(f"[bold]The machine is in[/bold] {path} "
                  "(set WINPKI_MACHINE to it to keep using it with `winpki`).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

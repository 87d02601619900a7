"""WinHttpCertCfg, as Steve Fenton's "X509 certificates on Windows Server 2003" uses it: on Windows Server 2003, NETWORK SERVICE has no implicit
access to certificate private keys; `-l` lists who has access, `-g ... -a NetworkService`
grants it (note the spelling without a space, which the post warns about;
docs/windows-facts.md §7)."""

import io

from helpers_keys import install_server_cert

from capi import (
    CERT_KEY_PROV_INFO_PROP_ID,
    CRYPT_MACHINE_KEYSET,
    CertGetCertificateContextProperty,
    CryptAcquireContext,
    run_as,
    use_machine,
)
from capi.errors import NTE_BAD_KEYSET
from capi.testing import raises_hresult
from winpki.cli import main

BANNER = ("Microsoft (R) WinHTTP Certificate Configuration Tool\n"
          "Copyright (C) Microsoft Corporation 2001.\n\n")


def tool(*args):
    out = io.StringIO()
    rc = main(["winhttpcertcfg", *args], out=out, err=out)
    return rc, out.getvalue()


def _open_as(account, info):
    with run_as(account):
        return CryptAcquireContext(info.pwszContainerName, info.pwszProvName, info.dwProvType,
                                   CRYPT_MACHINE_KEYSET)


def test_seed_000_network_service_needs_a_grant(w2003):
    ctx, _ = install_server_cert(cn="IssuedToName")
    info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    # .NET reports this as "Keyset does not exist" (NTE_BAD_KEYSET) for a CAPI machine key.
    with raises_hresult(NTE_BAD_KEYSET):
        _open_as("NT AUTHORITY\\NETWORK SERVICE", info)
    rc, out = tool("-l", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName")
    assert rc == 0
    # Banner, "Matching certificate:", the subject, a blank line, the list: as the
    # WinHttpCertCfg sample source prints them and public scripts quote real runs.
    assert out == BANNER + ("Matching certificate:\nCN=IssuedToName\n\n"
                            "Additional accounts and groups with access to the private key include:\n"
                            "    BUILTIN\\Administrators\n    NT AUTHORITY\\SYSTEM\n")
    rc, out = tool("-g", "-c", "LOCAL_MACHINE\\MY", "-s", "issuedtoname", "-a", "NetworkService")
    assert rc == 0
    assert out.endswith("Granting private key access for account:\n    NT AUTHORITY\\NETWORK SERVICE\n")
    assert _open_as("NT AUTHORITY\\NETWORK SERVICE", info) is not None
    _, out = tool("-l", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName")
    assert out.endswith("    NT AUTHORITY\\NETWORK SERVICE\n")
    # A second grant changes nothing: "Private key access has already been granted for
    # account:" (real output quoted in public deployment scripts).
    rc, out = tool("-g", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName", "-a", "NetworkService")
    assert rc == 0 and out.endswith("Private key access has already been granted for account:\n"
                                    "    NT AUTHORITY\\NETWORK SERVICE\n")
    rc, out = tool("-r", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName", "-a", "NetworkService")
    assert rc == 0 and "Removing private key access for account:" in out
    rc, out = tool("-r", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName", "-a", "NetworkService")
    assert rc == 0 and out.endswith("Account already does not have access to private key.\n\n")
    with raises_hresult(NTE_BAD_KEYSET):
        _open_as("NetworkService", info)


def test_app_pool_identity_grant(make_machine):
    with use_machine(make_machine(os_version="2019")):
        ctx, _ = install_server_cert(cn="api.contoso.com")
        info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
        with raises_hresult(NTE_BAD_KEYSET):
            _open_as("IIS APPPOOL\\DefaultAppPool", info)
        rc, _ = tool("-g", "-c", "LOCAL_MACHINE\\My", "-s", "api.contoso", "-a", "IIS APPPOOL\\DefaultAppPool")
        assert rc == 0
        assert _open_as("IIS APPPOOL\\DefaultAppPool", info) is not None


def test_no_match_and_bad_arguments(w2003):
    rc, out = tool("-l", "-c", "LOCAL_MACHINE\\MY", "-s", "nothing-like-this")
    # WinHttpCertCfg sample source: two spaces after "Error:", a blank line, and the
    # process exits with ERROR_NOT_FOUND.
    assert rc == 1168
    assert out == BANNER + "Error:  Unable to find or obtain a context for requested certificate\n\n"
    rc, out = tool("-l", "-c", "SOMEWHERE\\MY", "-s", "x")
    assert rc == 1 and "Usage:" in out
    rc, out = tool("-q")
    assert rc == 1 and "Usage:" in out
    install_server_cert(cn="IssuedToName")
    rc, out = tool("-g", "-c", "LOCAL_MACHINE\\MY", "-s", "IssuedToName", "-a", "NoSuchAccount")
    # The sample source prints its own line and returns LookupAccountName's error (1332).
    assert rc == 1332
    assert out.endswith("Matching certificate:\nCN=IssuedToName\n\nError: No account information was found.\n")


def test_import_pfx_and_grant(w2003, tmp_path):
    """-i imports the PFX into the -c store with its key in MachineKeys, and -a grants."""
    from helpers_certs import make_cert, rsa_key
    from helpers_keys import NOW

    from capi.formats.pkcs12 import PfxCert, PfxKey, build_pfx

    key = rsa_key(2048)
    der = make_cert("imported.contoso.com", key=key, not_before=NOW)
    kid = b"\x01\x00\x00\x00"
    pfx = tmp_path / "site.pfx"
    pfx.write_bytes(build_pfx([PfxKey(key, local_key_id=kid), PfxCert(der, local_key_id=kid)], "pw"))
    rc, out = tool("-i", str(pfx), "-c", "LOCAL_MACHINE\\My", "-p", "pw", "-a", "NetworkService")
    assert rc == 0, out
    # -i says "Imported certificate:" and leaves one more blank line (sample source).
    assert "Imported certificate:\nCN=imported.contoso.com\n\n\nGranting" in out
    assert out.endswith("Granting private key access for account:\n    NT AUTHORITY\\NETWORK SERVICE\n")
    from schannel.httpsys import find_certificate

    ctx = find_certificate(w2003, "MY", __import__("hashlib").sha1(der).hexdigest())
    info = CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID)
    assert info.dwFlags & CRYPT_MACHINE_KEYSET
    assert _open_as("NetworkService", info) is not None
    rc, out = tool("-i", str(pfx), "-c", "LOCAL_MACHINE\\My", "-p", "wrong")
    assert rc == 1 and "The specified network password is not correct." in out
    rc, out = tool("-i", str(tmp_path / "missing.pfx"), "-c", "LOCAL_MACHINE\\My", "-p", "pw")
    assert rc == 1 and "Traceback" not in out

"""Every tool answers -?, /? and --help with its own help, on stdout, exit status 0 — as
the Windows tools do — and winpki's own tools take "/" options like the rest.

Sources of the texts (rephrased in winpki.helptext): Microsoft docs "Netsh http commands"
and "netsh http" (add/delete/show sslcert usage, parameters, examples), "certutil"
(verbs, -importPFX/-exportPFX modifiers, options), "certreq", "icacls", "wevtutil",
"Getting Started with AppCmd.exe" (appcmd's general help and object types).
"""

import io
import re

import pytest

from winpki.cli import TOOLS, main, own_tool_args

# The first line each tool's help starts with (its own layout, not winpki's).
FIRST_LINE = {
    "certutil": "Verbs:",
    "certreq": "Usage:",
    "icacls": "ICACLS name /save aclfile [/T] [/C] [/L] [/Q]",
    "winhttpcertcfg": "Microsoft (R) WinHTTP Certificate Configuration Tool",
    "wevtutil": "Windows Events Command Line Utility.",
    "appcmd": "General purpose IIS command line administration tool.",
    "netsh": "Usage: netsh [-a AliasFile] [-c Context] [-r RemoteMachine]",
    "machine": "usage: winpki machine",
    "provider": "usage: winpki provider",
    "iis": "usage: winpki iis",
    "doctor": "usage: winpki doctor",
    "scenario": "usage: winpki scenario",
    "serve": "usage: winpki serve",
    "mmc": "usage: winpki mmc",
    "reg": "REG Operation [Parameter List]",
}


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def first_line(text):
    return next(line for line in text.splitlines() if line.strip())


def test_every_tool_has_an_expected_first_line():
    assert set(FIRST_LINE) == set(TOOLS)


@pytest.mark.parametrize("flag", ["-?", "/?", "--help"])
@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_help_flags(tool, flag, capsys):
    # No machine exists (WINPKI_MACHINE names a missing directory): help needs none.
    rc, out, err = call(tool, flag)
    assert rc == 0, err
    assert out.strip() and first_line(out).startswith(FIRST_LINE[tool]), out[:200]
    assert "Traceback" not in out + err and capsys.readouterr().out == ""


def test_tool_name_with_exe_and_any_case():
    rc, out, _ = call("CertUtil.exe", "/?")
    assert rc == 0 and first_line(out) == "Verbs:"


# --- netsh: help at every context level ---------------------------------------------------


@pytest.mark.parametrize("args, expect", [
    (["/?"], "http           - Changes to the `netsh http' context."),
    (["help"], "http           - Changes to the `netsh http' context."),
    (["http", "/?"], "add            - Adds a configuration entry to a table."),
    (["http", "?"], "show           - Displays information."),
    (["http", "help"], "delete         - Deletes a configuration entry from a table."),
    (["http", "add", "?"], "add sslcert    - Adds an SSL server certificate binding."),
    (["http", "delete", "/?"], "delete sslcert - Deletes SSL server certificate bindings."),
    (["http", "show", "help"], "show sslcert   - Displays SSL server certificate bindings."),
])
def test_netsh_contexts(args, expect):
    rc, out, _ = call("netsh", *args)
    assert rc == 0 and expect in out.splitlines()


@pytest.mark.parametrize("verb", ["add", "delete", "show"])
@pytest.mark.parametrize("flag", ["/?", "-?", "?", "help"])
def test_netsh_sslcert_usage(verb, flag):
    rc, out, _ = call("netsh", "http", verb, "sslcert", flag)
    assert rc == 0
    assert first_line(out).startswith(f"Usage: {verb} sslcert ")
    for section in ("Parameters:", "Remarks:", "Examples:"):
        assert any(line.startswith(section) for line in out.splitlines()), section
    # Every example is a command netsh itself accepts in this context.
    examples = out.split("Examples:")[1].split()
    assert examples[0] == verb


def test_netsh_add_sslcert_usage_lists_every_parameter_winpki_takes():
    from winpki.tools.netsh import KNOWN_ADD

    _, out, _ = call("netsh", "http", "add", "sslcert", "/?")
    assert "Usage: add sslcert [ipport=]IP Address:port" in out
    params = set(re.findall(r"^    ([a-z]+)\b", out.split("Parameters:")[1].split("Remarks:")[0], re.M))
    assert params == KNOWN_ADD


def test_netsh_without_help_still_runs_the_command(machine):
    rc, out, _ = call("netsh", "http", "show", "sslcert")
    assert rc == 0 and "SSL Certificate bindings:" in out


# --- certutil: verb list and per-verb help --------------------------------------------------


def _registered_verbs():
    from winpki.tools import certutil

    certutil._load_verbs()
    return {v.name for v in certutil.VERBS.values()}


def test_certutil_verb_list_names_every_verb():
    from winpki.helptext import CERTUTIL_VERBS

    assert set(CERTUTIL_VERBS) == _registered_verbs()
    rc, out, _ = call("certutil", "-?")
    listed = re.findall(r"^  -(\w+)\s+-- ", out, re.M)
    assert set(listed) == _registered_verbs()
    assert "  -dump             -- Dump configuration information or file" in out.splitlines()
    assert "CertUtil -dump -?        -- Display help text for the \"dump\" verb" in out


@pytest.mark.parametrize("verb", sorted(_registered_verbs()))
def test_certutil_per_verb_help(verb):
    for args in (["-" + verb, "-?"], ["/?", "-" + verb.upper()], ["--help", "-" + verb]):
        rc, out, err = call("certutil", *args)
        assert rc == 0, err
        lines = out.splitlines()
        assert lines[0] == "Usage:"
        assert lines[1].startswith(f"  CertUtil [Options] -{verb}")
        assert "Options:" in lines


def test_certutil_import_pfx_help_lists_modifiers_and_options():
    from winpki.tools.certutil_pfx import IMPORT_MODIFIERS

    rc, out, _ = call("certutil", "-importPFX", "-?")
    lines = out.splitlines()
    assert lines[:4] == ["Usage:",
                         "  CertUtil [Options] -importPFX [CertificateStoreName] PFXFile [Modifiers]",
                         "  Import certificate and private key",
                         "    CertificateStoreName -- Certificate store name.  See -store."]
    assert "        AT_SIGNATURE -- Change the KeySpec to Signature" in lines
    # The modifiers listed are exactly the ones -importPFX accepts.
    listed = {m.lower() for m in re.findall(r"^        (\w+) -- ", out, re.M)}
    assert listed == IMPORT_MODIFIERS
    options = {m.group(1): m.group(2) for m in
               (re.match(r"^  (-\w+(?: \w+)?)\s+-- (.*)$", ln) for ln in lines) if m}
    assert options["-f"] == "Force overwrite"
    assert options["-user"] == "Use HKEY_CURRENT_USER keys or certificate store"
    assert options["-p Password"] == "Password"
    assert options["-csp Provider"] == "Provider"


def test_certutil_export_pfx_modifiers_match():
    from winpki.tools.certutil_pfx import EXPORT_MODIFIERS

    _, out, _ = call("certutil", "-exportPFX", "-?")
    assert {m.lower() for m in re.findall(r"^        (\w+) -- ", out, re.M)} == EXPORT_MODIFIERS


def test_certutil_options_in_help_are_options_certutil_parses():
    from winpki.helptext import CERTUTIL_OPTIONS
    from winpki.tools.certutil import FLAG_OPTIONS, VALUE_OPTIONS

    for name, (arg, _) in CERTUTIL_OPTIONS.items():
        assert name in (VALUE_OPTIONS if arg else FLAG_OPTIONS), name


# --- the other Windows tools ----------------------------------------------------------------


def test_certreq_verb_help():
    rc, out, _ = call("certreq", "-new", "-?")
    assert rc == 0 and "  CertReq -new [Options] [PolicyFileIn [RequestFileOut]]" in out.splitlines()


@pytest.mark.parametrize("args, first", [
    (["site", "/?"], "Administration of virtual sites"),
    (["apppool", "-?"], "Administration of application pools"),
    (["list", "site", "/?"], "List virtual sites"),
    (["list", "sites", "/?"], "List virtual sites"),
    (["set", "site", "/?"], "Configure virtual site"),
    (["add", "apppool", "/?"], "Add new application pool"),
])
def test_appcmd_object_and_command_help(args, first):
    rc, out, _ = call("appcmd", *args)
    assert rc == 0 and first_line(out) == first


def test_appcmd_top_help_lists_object_types_and_formats():
    _, out, _ = call("appcmd", "/?")
    lines = out.splitlines()
    assert "APPCMD (command) (object-type) <identifier> < /parameter1:value1 ... >" in lines
    assert "  SITE      Administration of virtual sites" in lines
    assert "  APPPOOL   Administration of application pools" in lines
    assert "  /xml      Generate output in XML format." in lines
    assert "``" not in out  # no docstring markup


# --- winpki's own tools ---------------------------------------------------------------------


def test_iis_subcommands_and_options_are_described():
    from winpki.tools.iismgr import _parser

    p = _parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert set(helps) == set(sub.choices) and all(helps.values())
    for name, parser in sub.choices.items():
        for action in parser._actions:
            assert action.help, f"iis {name} {action.dest}"


@pytest.mark.parametrize("args, converted", [
    (["/?"], ["--help"]),
    (["/json", "ab" * 20], ["--json", "ab" * 20]),
    (["/ipport:0.0.0.0:443"], ["--ipport=0.0.0.0:443"]),
    (["/p", "pw"], ["-p", "pw"]),
    (["/tmp/x.pfx", "/x.pfx", "-p"], ["/tmp/x.pfx", "/x.pfx", "-p"]),  # paths stay paths
])
def test_slash_options_for_own_tools(args, converted):
    assert own_tool_args(args) == converted


def test_subcommand_help_with_slash():
    rc, out, _ = call("iis", "import-pfx", "/?")
    assert rc == 0 and first_line(out).startswith("usage: winpki iis import-pfx")
    assert "--no-export" in out


def test_version():
    from importlib import metadata

    from capi.version import __version__

    rc, out, _ = call("--version")
    assert rc == 0 and out == f"winpki {__version__}\n"
    assert __version__ == metadata.version("winpki")


def test_top_level_usage_points_at_tool_help():
    rc, out, _ = call("-?")
    assert rc == 0 and "winpki <tool> -?" in out

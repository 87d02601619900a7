"""A hostile harness over the whole command line: every tool, every verb, bad arguments.

The verbs and options come from the tools' own tables (winpki.cli.TOOLS, certutil's
VERBS, certreq's VERBS/FLAGS/VALUES, each argparse tool's parser, netsh's and appcmd's
help tables, reg's _OPS, the usage texts of wevtutil, icacls and winhttpcertcfg), so a new
verb is covered without editing this file. For each verb the harness passes: nothing, too
many arguments, an empty string, a missing file, a directory, a file of random bytes, a
truncated DER, an empty file, bad thumbprints, a 10 000-character string, Unicode and NUL
characters, unknown options, and `/`- and `-`-style mixes. Whatever happens:

- no Python traceback, no "internal error" and no errno text reaches the user;
- a failure exits non-zero, with the status and failure shape docs/cli.md gives the tool;
- a failure changes nothing: the machine's database rows, its files, and the files of the
  working directory are as before.

Every option that takes a value also gets bad values, and a hypothesis run draws argument
vectors from each tool's vocabulary (a longer one with WINPKI_LONG_FUZZ=1). The harness
may run as root: confined() keeps every host path it passes inside its temporary
directory. The tests at the end pin, one by one, the holes this harness found.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import os
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winpki.cli import TOOLS, exit_status, main

# --- each tool's vocabulary, read from its own tables -------------------------------------


def _argparse_vocab(parser: argparse.ArgumentParser, extra_verbs=()):
    """(verbs, options) of an argparse tool: its sub-commands, and every option string."""
    verbs, options = [], set()

    def opts(p):
        for action in p._actions:
            options.update(s for s in action.option_strings if s not in ("-h", "--help"))

    opts(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                verbs.append((name,))
                opts(sub)
    return (verbs or [()]) + [tuple(v) for v in extra_verbs], sorted(options)


def vocabulary(tool: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """(verbs as the words that start a command, option words) of one tool."""
    module = importlib.import_module(TOOLS[tool][0])
    if tool == "certutil":
        module._load_verbs()
        verbs = sorted({("-" + v.name,) for v in module.VERBS.values()})
        options = sorted("-" + o for o in module.FLAG_OPTIONS | module.VALUE_OPTIONS)
        return verbs, options
    if tool == "certreq":
        return ([("-" + v,) for v in module.VERBS],
                sorted("-" + o for o in module.FLAGS | module.VALUES))
    if hasattr(module, "_parser"):
        extra = [("request",)] if tool == "doctor" else []
        return _argparse_vocab(module._parser(), extra)
    if tool == "netsh":
        from winpki.helptext import NETSH_GROUPS

        verbs = [("http", v, obj) for v in NETSH_GROUPS for obj in ("sslcert", "urlacl")]
        params = sorted(module.KNOWN_ADD | {"url", "user", "listen", "delegate", "sddl"})
        return verbs, [p + "=" for p in params]
    if tool == "appcmd":
        from winpki.helptext import APPCMD_COMMANDS

        attrs = set()
        for text in APPCMD_COMMANDS.values():
            attrs.update(re.findall(r"[-/][A-Za-z.]+:", text))
        return sorted(APPCMD_COMMANDS), sorted(attrs) + ["/xml", "/text"]
    if tool == "reg":
        return [(op,) for op in module._OPS], ["/v", "/ve", "/va", "/t", "/d", "/s", "/f"]
    if tool == "wevtutil":
        verbs = [(m,) for pair in re.findall(r"^(\w+) \| ([\w-]+)", module.USAGE, re.M)
                 for m in pair]
        return verbs, ["/q:", "/f:", "/c:", "/rd:", "/format:", "/count:"]
    if tool == "icacls":
        switches = sorted(set(re.findall(r"(/[a-z]+(?::[a-z])?)", module.USAGE)))
        return [()], switches
    if tool == "winhttpcertcfg":
        return [()], sorted(set(re.findall(r"(?<![\w-])(-[a-z])\b", module.USAGE)))
    raise AssertionError(f"no vocabulary for {tool}: add it here")


def _argparse_value_options(parser: argparse.ArgumentParser, verb: tuple[str, ...]) -> list[str]:
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and verb and verb[0] in action.choices:
            parsers.append(action.choices[verb[0]])
    return sorted({a.option_strings[-1] for p in parsers for a in p._actions
                   if a.option_strings and a.nargs != 0 and a.dest != "help"})


def value_options(tool: str, verb: tuple[str, ...]) -> list[str]:
    """The options of one verb that take a value. One ending in '=' or ':' is joined to
    its value (netsh's ipport=, appcmd's /name:, wevtutil's /q:); others take the next word."""
    module = importlib.import_module(TOOLS[tool][0])
    if tool == "certutil":
        from winpki.helptext import CERTUTIL_VERBS

        helps = {k.lower(): v for k, v in CERTUTIL_VERBS.items()}
        entry = helps.get(verb[0][1:].lower())
        allowed = {o.lower() for o in entry[4]} if entry else module.VALUE_OPTIONS
        return ["-" + o for o in sorted(module.VALUE_OPTIONS & allowed)]
    if tool == "certreq":
        return sorted("-" + o for o in module.VALUES)
    if hasattr(module, "_parser"):
        return _argparse_value_options(module._parser(), verb)
    if tool == "reg":
        return ["/v", "/t", "/d", "/s"]
    if tool == "icacls":
        return ["/grant", "/grant:r", "/deny", "/remove", "/save", "/restore"]
    if tool == "winhttpcertcfg":
        return ["-c", "-s", "-a", "-p", "-i"]
    return [o for o in vocabulary(tool)[1] if o.endswith(("=", ":"))]


# Words a verb needs before its options, so that the options are reached.
PREFIX = {"reg": ["HKLM\\SOFTWARE\\Contoso"], "icacls": ["C:\\"], "wevtutil": ["System"],
          "appcmd": [], "winhttpcertcfg": ["-g"]}


# --- the hostile payloads ------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory holding the bad files, made current (relative outputs land here)."""
    d = tmp_path / "work"
    d.mkdir()
    (d / "random.bin").write_bytes(hashlib.sha256(b"winpki").digest() * 37)
    # A certificate's first bytes: SEQUENCE of 0x3a6 bytes, cut short.
    (d / "truncated.der").write_bytes(bytes.fromhex("308203a63082028ea003020102020900"))
    (d / "empty.cer").write_bytes(b"")
    (d / "adir").mkdir()
    monkeypatch.chdir(d)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # prompts read an empty answer
    return d


def payloads(workdir) -> dict[str, list[str]]:
    return {
        "too-many": ["x"] * 12,
        "empty-string": [""],
        "missing-file": [str(workdir / "no-such-file.cer")],
        "directory": [str(workdir / "adir")],
        "random-bytes": [str(workdir / "random.bin")],
        "truncated-der": [str(workdir / "truncated.der")],
        "empty-file": [str(workdir / "empty.cer")],
        "bad-hex": ["zz" * 20],
        "short-hex": ["0" * 39],
        "overlong": ["A" * 10_000],
        "unicode": ["\u00e9\u2603\U0001f512\u200e\u202e"],
        "nul": ["a\x00b"],
        "unknown-dash-option": ["-bogusoption"],
        "unknown-slash-option": ["/bogusoption"],
        "unknown-double-dash": ["--bogusoption=1"],
        "lone-dash": ["-"],
        "double-dash": ["--"],
        "lone-slash": ["/"],
        "double-slash": ["//"],
    }


# --- what must hold ----------------------------------------------------------------------


def snapshot(machine, workdir) -> dict[str, str]:
    """Everything a tool could change, as {what: digest}: every table of the machine's
    database (machine.db, SQLite), every file of the machine directory (fs/, secrets/,
    softhsm/...), and every file of the working directory. Paths and contents, not times."""
    state = {}
    db = machine.db
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for t in tables:
        rows = sorted(map(repr, db.execute(f'SELECT * FROM "{t}"').fetchall()))
        if rows:  # a table made empty on first use (a schema) is no change
            state[f"table {t}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    for label, root in (("machine", machine.path), ("workdir", workdir)):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + [d + "/" for d in dirnames]:
                p = os.path.join(dirpath, name)
                rel = os.path.relpath(p, root)
                if name.startswith("machine.db"):
                    continue  # databases are compared by their rows (WAL files churn)
                digest = ""
                if not name.endswith("/"):
                    with open(p, "rb") as fh:
                        digest = hashlib.sha256(fh.read()).hexdigest()
                state[f"{label} {rel}"] = digest
    return state


def changes(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


_HR_LINE = re.compile(r"FAILED: 0x([0-9a-f]+) ")
_CERTREQ_HR = re.compile(r"^Certificate Request Processor: .* 0x([0-9a-f]+) \(", re.M)
ARGPARSE_TOOLS = {"machine", "provider", "doctor", "scenario", "serve", "iis", "mmc"}


def check_failure_shape(tool: str, rc: int, out: str, err: str) -> None:
    """The exit status and failure text docs/cli.md documents for the tool."""
    text = out + err
    # main() returns the tool's Windows code (1332); the winpki command exits with
    # exit_status() of it, which docs/cli.md's "Exit statuses" describes.
    rc = exit_status(rc)
    assert 0 < rc <= 255, f"{tool}: exit status {rc} is not a POSIX failure status"
    if tool == "certutil":
        m = _HR_LINE.search(out)
        if m:  # "Each failure ... exits with the HRESULT's low byte"
            assert rc == ((int(m.group(1), 16) & 0xFF) or 1), text
        elif "CertUtil: Unknown arg:" in out or "Missing argument for option" in out:
            assert rc == 87, text
        else:  # certutil with no verb: the usage, status 1
            assert rc == 1 and text.startswith("Usage:"), text
    elif tool == "certreq":
        m = _CERTREQ_HR.search(out)
        if m:
            assert rc == ((int(m.group(1), 16) & 0xFF) or 1), text
        else:
            assert rc == 87 and out.startswith("CertReq: "), text
    elif tool == "reg":
        assert rc == 1 and (err.startswith("ERROR: ") or not err), text
    elif tool in ("netsh", "appcmd"):
        assert rc == 1, text
        if tool == "appcmd" and "ERROR (" not in out:
            assert "appcmd" in out.lower(), text  # the usage text (fewer than two words)
    elif tool in ARGPARSE_TOOLS:
        if rc == 2:  # argparse's usage error
            assert "usage:" in err or err.startswith(f"winpki {tool}: "), text
        else:
            assert rc == 1, text
    elif tool == "wevtutil":
        assert text.strip(), "wevtutil failed silently"
        documented = {"The parameter is incorrect.": 87,
                      "The specified channel could not be found.": 159,
                      "Failed to read events. The specified query is invalid.": 153}
        if out.strip() in documented:
            assert rc == documented[out.strip()], text
    elif tool == "icacls":
        assert text.strip(), "icacls failed silently"
        if err.startswith("Invalid parameter "):
            assert rc == 87, text
    elif tool == "winhttpcertcfg":
        if "Unable to find or obtain a context for requested certificate" in err:
            assert rc == 144, text  # ERROR_NOT_FOUND, 1168
        elif "No account information was found." in text:
            assert rc == 52, text  # ERROR_NONE_MAPPED, 1332
        else:
            assert rc == 1 and text.strip(), text


def call(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(args), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def confined(args: list[str], workdir) -> list[str]:
    """Keep the harness's paths inside the working directory: it runs as whatever user runs
    the tests (root, in some CI), and a tool that writes an output file, a machine or a
    token directory must never be pointed at the real file system. A word that names a
    host path outside (absolute with a second "/", or with "..") is moved under workdir;
    so is any absolute word ("/", "//", "/x") given to ``machine`` and ``provider``, which
    act on whole directories, or after icacls' /save and /restore. Other Windows-style
    switches ("/v", "/q:...") are left as they are: the tools take them as switches.
    test_machine_create_and_delete_keep_to_their_own_files covers what those refuse."""
    whole_dirs = args[:1] in (["machine"], ["provider"])
    kept = args[:1]
    for word in args[1:]:
        path_like = word.startswith("/") and "/" in word[1:]
        switch = re.fullmatch(r"/[A-Za-z?][A-Za-z0-9-]*(:.*)?", word, re.S) is not None
        # icacls /save and /restore take the ACL file's name even when it looks like "/x".
        after_file_switch = kept[-1].lower() in ("/save", "/restore")
        if ".." in word or path_like or ((whole_dirs and not switch or after_file_switch)
                                         and (os.path.isabs(word) or word[:1] == "~")):
            if not word.startswith(str(workdir.parent)):
                word = str(workdir / "adir" / "confined")
        kept.append(word)
    return kept


def assert_robust(machine, workdir, args: list[str], capsys=None, *, must_fail: bool):
    args = confined(args, workdir)
    before = snapshot(machine, workdir)
    rc, out, err = call(args)
    if capsys is not None:
        extra = capsys.readouterr()
        out, err = out + extra.out, err + extra.err
    shown = f"winpki {args!r:.300} -> {rc}\n{(out + err)[:3000]}"
    # Python's words must not reach the user either: an errno text, an exception repr.
    for bad in ("Traceback", "internal error", "Error: <", "object at 0x", "[Errno", "Errno "):
        assert bad not in out + err, shown
    if must_fail:
        assert rc != 0, shown
    if rc != 0:
        check_failure_shape(args[0], rc, out, err)
        changed = changes(before, snapshot(machine, workdir))
        assert not changed, f"a failure changed {changed}: {shown}"
    return rc, out, err


def _cases():
    for tool in sorted(TOOLS):
        for verb in vocabulary(tool)[0]:
            yield pytest.param(tool, verb, id=f"{tool} {' '.join(verb) or '-'}")


@pytest.mark.parametrize("tool, verb", list(_cases()))
def test_every_verb_survives_bad_arguments(machine, workdir, capsys, tool, verb):
    verbs, options = vocabulary(tool)
    cases = payloads(workdir)
    for name, extra in cases.items():
        # Some payloads are arguments a verb may take (a store name, a request ID...);
        # an unknown option, too many arguments and a NUL are always wrong.
        assert_robust(machine, workdir, [tool, *verb, *extra], capsys,
                      must_fail=name.startswith(("unknown", "too-many", "nul")))
    # "/"-style and "-"-style spellings of the verb and the options mixed on one line.
    flipped = [("/" + w[1:] if w[:1] == "-" else "-" + w[1:] if w[:1] == "/" else w)
               for w in verb]
    for opt in options[:3]:
        flip = "/" + opt[1:] if opt[:1] == "-" and opt[1:2] != "-" else opt
        assert_robust(machine, workdir, [tool, *flipped, flip, "zz" * 20, "-x-unknown"],
                      capsys, must_fail=True)


VALUE_PAYLOADS = ["zz" * 20, "", "a\x00b", "A" * 10_000, "\u00e9\u2603\U0001f512\u200e",
                  "no-such-file.cer", "random.bin", "adir"]


@pytest.mark.parametrize("tool, verb", list(_cases()))
def test_every_option_value_survives_bad_values(machine, workdir, capsys, tool, verb):
    for opt in value_options(tool, verb):
        # The option last on the line, without its value: a usage error.
        assert_robust(machine, workdir, [tool, *verb, *PREFIX.get(tool, []), opt], capsys,
                      must_fail=not opt.endswith(("=", ":")))
        for value in VALUE_PAYLOADS:
            words = [opt + value] if opt.endswith(("=", ":")) else [opt, value]
            assert_robust(machine, workdir, [tool, *verb, *PREFIX.get(tool, []), *words], capsys,
                          must_fail=False)


def test_the_tool_table_has_a_vocabulary_for_every_tool():
    for tool in TOOLS:
        verbs, options = vocabulary(tool)
        assert verbs, tool


# `winpki <tool>` alone: the usage and a failure status, as docs/cli.md gives them
# (scenario alone lists the scenarios).
NO_ARGUMENTS = {"appcmd": 1, "certreq": 87, "certutil": 1, "doctor": 1, "icacls": 87,
                "iis": 2, "machine": 2, "mmc": 2, "netsh": 1, "provider": 2, "reg": 1,
                "scenario": 0, "serve": 2, "wevtutil": 1, "winhttpcertcfg": 1}


def test_no_arguments_table_covers_every_tool():
    assert set(NO_ARGUMENTS) == set(TOOLS)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_no_arguments(machine, workdir, capsys, tool):
    rc, out, err = assert_robust(machine, workdir, [tool], capsys, must_fail=False)
    assert rc == NO_ARGUMENTS[tool], out + err
    assert (out + err).strip()


# --- argument vectors drawn from the tools' real vocabulary -------------------------------

_ATOMS = ["", "x", "My", "Root", "0", "-1", "99999999999999999999", "zz" * 20, "00" * 20,
          "0.0.0.0:443", "1.2.3.4:99999", "{4dc3e181-e14b-4a21-b022-59fc669b0914}",
          "C:\\", "C:\\nope\\x", "HKLM\\SOFTWARE", "HKXX\\x", "NetworkService", "ca\\KRAFlags",
          "a\x00b", "\u2603", "A" * 300, "no-such-file.cer", "adir", "random.bin",
          "truncated.der", "empty.cer", "REG_DWORD", "*[System[(EventID=1)]]", "["]


def _vector(tool: str):
    verbs, options = vocabulary(tool)
    word = st.one_of(st.sampled_from(options or ["-x"]), st.sampled_from(_ATOMS),
                     st.sampled_from([o + "x" for o in options if o.endswith((":", "="))] or ["x"]),
                     st.text(max_size=12))
    return st.tuples(st.sampled_from(verbs), st.lists(word, max_size=6)).map(
        lambda t: [tool, *t[0], *t[1]])


# Tools whose random runs are cheap and cannot block (serve only runs for a binding).
FUZZED = sorted(set(TOOLS) - {"scenario"})


def _fuzz(tool, data, machine, workdir):
    args = data.draw(_vector(tool))
    if tool == "machine" and args[1:2] == ["delete"]:
        args = args[:2] + [str(workdir / "adir")]  # never the machine under test
    assert_robust(machine, workdir, args, must_fail=False)  # confined() keeps paths in workdir


@pytest.mark.parametrize("tool", FUZZED)
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_vocabulary_vectors(machine, workdir, tool, data):
    _fuzz(tool, data, machine, workdir)


# The exploration run (about a minute): WINPKI_LONG_FUZZ=1 pytest -m slow tests/test_cli_robustness.py
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("WINPKI_LONG_FUZZ"),
                    reason="the long exploration run is asked for with WINPKI_LONG_FUZZ=1")
@pytest.mark.parametrize("tool", FUZZED)
@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_vocabulary_vectors_long(machine, workdir, tool, data):
    _fuzz(tool, data, machine, workdir)


# --- the holes this harness found, one by one ---------------------------------------------


def test_a_request_that_cannot_be_read_installs_no_ca(machine, workdir):
    # certreq decodes the request before it contacts the CA; the CA is installed by the
    # first -submit that reaches it, so a bad file must leave the machine without one.
    for bad in ("", "no-such.req", "truncated.der", "random.bin"):
        rc, out, _ = call(["certreq", "-submit", bad])
        assert rc != 0 and out.startswith("Certificate Request Processor: "), out
    rc, out, _ = call(["certutil", "-ping"])
    assert exit_status(rc) == 186 and "RPC_S_SERVER_UNAVAILABLE" in out


@pytest.mark.parametrize("args", [["iis", "import-pfx", "a\x00b"], ["mmc", "import", "a\x00b"],
                                  ["doctor", "--pfx", "a\x00b", "-p", "x"],
                                  ["doctor", "--client-cert", "a\x00b"],
                                  ["machine", "create", "a\x00b"]])
def test_a_nul_in_a_file_name_is_error_invalid_name(machine, workdir, args):
    rc, out, err = call(args)
    assert rc == 1
    assert "The filename, directory name, or volume label syntax is incorrect." in out + err


def test_a_file_name_too_long(machine, workdir):
    rc, out, err = call(["machine", "delete", "A" * 10_000])
    assert rc == 1 and "The filename or extension is too long." in err


def test_certutil_delstore_and_repairstore_create_no_store(machine, workdir):
    before = snapshot(machine, workdir)
    for verb in ("-delstore", "-repairstore"):
        rc, out, _ = call(["certutil", verb, "NoSuchStore", "0"])
        assert "0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)" in out and exit_status(rc) == 2
    assert not changes(before, snapshot(machine, workdir))


def test_appcmd_list_filters_by_attribute_and_refuses_unknown_ones(machine, workdir):
    rc, out, _ = call(["appcmd", "list", "site", "/state:Started"])
    assert rc == 0 and out.startswith('SITE "Default Web Site"')
    rc, out, _ = call(["appcmd", "list", "site", "/state:Stopped"])
    assert rc == 0 and out == ""
    rc, out, _ = call(["appcmd", "list", "apppool", "-bogus"])
    assert rc == 1 and out == 'ERROR ( message:Unknown attribute "bogus".  Replace with -? for help. )\n'


def test_netsh_show_and_delete_refuse_tags_they_do_not_take(machine, workdir):
    for verb in ("show", "delete"):
        rc, out, _ = call(["netsh", "http", verb, "sslcert", "ipport=0.0.0.0:443", "bogus=1"])
        assert rc == 1 and out.startswith("One or more essential parameters were not entered.")


def test_extra_words_are_not_ignored(machine, workdir):
    rc, _, err = call(["scenario", "list", "x"])
    assert rc == 1 and err.startswith("usage: winpki scenario")
    for args in (["wevtutil", "el", "x"], ["wevtutil", "el", "/bogus"],
                 ["wevtutil", "qe", "System", "/bogus:1"]):
        rc, out, _ = call(args)
        assert rc == 87 and out == "The parameter is incorrect.\n", args


def test_netsh_and_appcmd_alone_print_their_help(machine, workdir):
    from winpki.helptext import APPCMD_OBJECTS, APPCMD_TOP, NETSH_TOP

    assert call(["netsh"]) == (1, NETSH_TOP, "")
    assert call(["appcmd"]) == (1, APPCMD_TOP, "")
    assert call(["appcmd", "site"]) == (1, APPCMD_OBJECTS["site"], "")


def test_icacls_save_and_restore_with_a_nul_in_the_acl_file(machine, workdir):
    rc, _, err = call(["icacls", "C:\\", "/save", "a\x00b"])
    assert rc == 123 and "The filename, directory name, or volume label syntax is incorrect." in err
    rc, _, err = call(["icacls", "C:\\", "/restore", "a\x00b"])
    assert rc == 2 and "The system cannot find the file specified." in err


def test_iis_load_key_with_a_thumbprint_that_is_not_hex(machine, workdir):
    from schannel.iis import DOTNET_EXCEPTION

    rc, out, _ = call(["iis", "load-key", "--thumbprint", "zz" * 20])
    assert rc == 1 and out == f"{DOTNET_EXCEPTION}: Cannot find object or property.\n"


def test_netsh_show_urlacl_with_a_bad_url_writes_nothing(machine, workdir):
    before = snapshot(machine, workdir)
    rc, out, _ = call(["netsh", "http", "show", "urlacl", "url=zz"])
    assert rc == 1 and out == "The parameter is incorrect.\n"
    assert not changes(before, snapshot(machine, workdir))


def test_a_failed_init_token_leaves_no_configuration(machine, workdir):
    rc, _, err = call(["provider", "init-token", "--label", "L" * 33])
    assert rc == 1 and "init-token FAILED: 0x" in err
    assert not (machine.path / "softhsm").exists()


# What each tool does first with the machine (a read): with a machine.db that is not a
# machine's, every tool says so in a line and fails; nothing is written.
FIRST_READ = {"appcmd": ["list", "site"], "certreq": ["-retrieve", "1"], "certutil": ["-store", "My"],
              "doctor": ["--all"], "icacls": ["C:\\"], "iis": ["sites"], "machine": ["info"],
              "mmc": ["duplicate-template", "EFS", "X"], "netsh": ["http", "show", "sslcert"],
              "provider": ["list"], "reg": ["query", "HKLM"], "scenario": ["run", "nope"],
              "serve": ["0.0.0.0:443"], "wevtutil": ["el"],
              "winhttpcertcfg": ["-l", "-c", "LOCAL_MACHINE\\My", "-s", "x"]}


@pytest.mark.parametrize("content", [b"", hashlib.sha256(b"not sqlite").digest() * 100],
                         ids=["empty", "random"])
def test_a_machine_db_that_is_not_a_machines(tmp_path, monkeypatch, content):
    assert set(FIRST_READ) == set(TOOLS)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "machine.db").write_bytes(content)
    monkeypatch.setenv("WINPKI_MACHINE", str(broken))
    for tool, args in FIRST_READ.items():
        rc, out, err = call([tool, *args])
        assert rc != 0 and (out + err).strip(), tool
        assert "Traceback" not in out + err and "internal error" not in out + err, (tool, out, err)
    assert sorted(p.name for p in broken.iterdir()) == ["machine.db"]
    assert (broken / "machine.db").read_bytes() == content


def test_output_the_console_cannot_encode_prints_as_question_marks(machine):
    # A harness whose stdout is ASCII: the tool still prints its whole line, "?" for what
    # the encoding lacks, as a Windows console whose code page lacks the character does.
    import subprocess

    env = dict(os.environ, WINPKI_MACHINE=str(machine.path), PYTHONIOENCODING="ascii")
    proc = subprocess.run([sys.executable, "-m", "winpki", "netsh", "http", "\u00e9", "x"],
                          capture_output=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == b"The following command was not found: http ? x.\n"
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr


@pytest.mark.parametrize("stdin", ["none", "closed"])
def test_prompts_without_a_usable_stdin_answer_empty(machine, workdir, monkeypatch, stdin):
    # The Windows tools that ask (reg's "overwrite(Yes/No)?", certutil's and the doctor's
    # "Enter PFX password:") read an empty answer when there is no stdin: "no" for reg, an
    # empty password for a PFX.
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdin", None if stdin == "none" else closed)
    key = "HKLM\\SOFTWARE\\Contoso"
    assert call(["reg", "add", key, "/v", "A", "/d", "1", "/f"])[0] == 0
    rc, out, _ = call(["reg", "add", key, "/v", "A", "/d", "2"])
    assert rc == 0 and out.endswith("The operation was canceled by the user.\n")
    rc, out, _ = call(["reg", "delete", key])
    assert rc == 0 and out.endswith("The operation was canceled by the user.\n")
    for args in (["certutil", "-importPFX", "random.bin"], ["doctor", "--pfx", "random.bin"]):
        rc, out, err = call(args)
        assert rc != 0 and "Enter PFX password:" in out + err, args
        assert "internal error" not in out + err and "Traceback" not in out + err


def test_machine_create_and_delete_keep_to_their_own_files(tmp_path, monkeypatch):
    # A directory in use is never made a machine, and deleting a machine removes what a
    # machine is made of, not the other files beside it.
    monkeypatch.chdir(tmp_path)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    rc, _, err = call(["machine", "create", str(used)])
    assert rc == 1 and err.startswith("winpki machine: The directory is not empty.")
    assert sorted(p.name for p in used.iterdir()) == ["keep.txt"]
    # A machine made first, then a file put beside it: delete keeps the file.
    shared = tmp_path / "shared"
    assert call(["machine", "create", str(shared)])[0] == 0
    (shared / "notes.txt").write_text("mine")
    rc, out, _ = call(["machine", "delete", str(shared)])
    assert rc == 0 and out == f"Deleted the machine in {shared} (other files there were kept)\n"
    assert sorted(p.name for p in shared.iterdir()) == ["notes.txt"]
    assert call(["machine", "create", str(tmp_path / "own")])[0] == 0
    rc, out, _ = call(["machine", "delete", str(tmp_path / "own")])
    assert rc == 0 and not (tmp_path / "own").exists()
    # A machine already there: ERROR_FILE_EXISTS, as before.
    assert call(["machine", "create", str(tmp_path / "again")])[0] == 0
    rc, _, err = call(["machine", "create", str(tmp_path / "again")])
    assert rc == 1 and "The file exists." in err


@pytest.mark.parametrize("size", ["0", "-5"])
def test_duplicate_template_refuses_a_key_size_no_key_has(machine, workdir, size):
    before = snapshot(machine, workdir)
    rc, out, _ = call(["mmc", "duplicate-template", "EFS", "Bad", "--min-key-size", size])
    assert rc == 1 and out == "Certificate Templates\n\nThe parameter is incorrect.\n"
    assert not changes(before, snapshot(machine, workdir))


def test_der_nested_thousands_deep(machine, workdir):
    # A SEQUENCE nested 5000 deep: certutil -asn answers with a Windows error, not the
    # interpreter's words; the verbs that look for certificates find none.
    der = b"\x05\x00"
    for _ in range(5000):
        n = len(der)
        length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + \
            n.to_bytes((n.bit_length() + 7) // 8, "big")
        der = b"\x30" + length + der
    (workdir / "deep.der").write_bytes(der)
    rc, out, _ = call(["certutil", "-asn", "deep.der"])
    assert out == ("CertUtil: -asn command FAILED: 0x800703e9 (WIN32: 1001 ERROR_STACK_OVERFLOW)\n"
                   "CertUtil: Recursion too deep; the stack overflowed.\n") and exit_status(rc) == 0xE9
    for args in (["-dump", "deep.der"], ["-addstore", "My", "deep.der"], ["-verify", "deep.der"]):
        assert_robust(machine, workdir, ["certutil", *args], must_fail=True)


@pytest.mark.skipif(not os.path.exists(os.devnull) or os.path.isfile(os.devnull),
                    reason="needs a device file")
@pytest.mark.parametrize("args", [["mmc", "import", os.devnull], ["iis", "import-pfx", os.devnull],
                                  ["doctor", "--client-cert", os.devnull],
                                  ["doctor", "--pfx", os.devnull, "-p", "x"],
                                  ["winhttpcertcfg", "-i", os.devnull, "-c", "LOCAL_MACHINE\\My"],
                                  ["icacls", "C:\\", "/restore", os.devnull]])
def test_a_device_is_not_read_as_an_input_file(machine, workdir, args):
    # Only regular files are read (a device such as /dev/zero would be read until memory
    # runs out): anything else is a file that is not there, as certutil and certreq say.
    rc, out, err = call(args)
    assert rc != 0 and "The system cannot find the file specified." in out + err, out + err


@pytest.mark.parametrize("args", [["mmc", "import", "adir"], ["iis", "import-pfx", "adir"],
                                  ["doctor", "--client-cert", "adir"],
                                  ["winhttpcertcfg", "-i", "adir", "-c", "LOCAL_MACHINE\\My"],
                                  ["certutil", "-dump", "adir"], ["certutil", "-asn", "adir"],
                                  ["certutil", "-decode", "adir", "out.bin"],
                                  ["certutil", "-hashfile", "adir"],
                                  ["certutil", "-addstore", "My", "adir"],
                                  ["certutil", "-p", "x", "-importPFX", "adir"],
                                  ["certreq", "-new", "adir", "out.req"],
                                  ["certreq", "-accept", "adir"]])
def test_a_directory_as_an_input_file_is_access_denied(machine, workdir, args):
    # CreateFile on a directory (without FILE_FLAG_BACKUP_SEMANTICS) fails with
    # ERROR_ACCESS_DENIED ("CreateFile function", Microsoft docs, Directories: a directory
    # needs FILE_FLAG_BACKUP_SEMANTICS; Python on Windows gets EACCES opening one).
    rc, out, err = call(args)
    assert rc != 0 and "Access is denied." in out + err, out + err


@pytest.mark.parametrize("name", ["", "\x00", "-", "--", "/", ".exe", "certutil.exe.exe", "A" * 10_000,
                                  "\u2603"])
def test_a_tool_name_that_is_no_tool(name):
    rc, out, err = call([name, "-store"])
    assert (rc, out) == (1, "")
    assert err == (f"'{name}' is not recognized as an internal or external command,\n"
                   "operable program or batch file.\n")

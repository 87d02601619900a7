"""The facade's lazy re-exports (capi.lazy) answer every name whatever is imported first.

A DLL module imported on its own (``import capi.crypt32.chain``, as a test module or a port
does) looks names up in its package while that package's index is being built; that
lookup must not leave a partial index behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

import capi.crypt32


@pytest.mark.parametrize("first", ["capi.crypt32.chain", "capi.crypt32.crl", "capi.crypt32.pfx",
                                   "capi.ncrypt", "capi.advapi32"])
def test_every_name_after_a_submodule_first(first):
    code = (f"import {first}\nimport capi, capi.crypt32\n"
            "missing = [n for n in capi.crypt32.__all__ if not hasattr(capi, n)]\n"
            "print(len(capi.crypt32.__all__), missing[:3])\n"
            "assert capi.CertGetNameString and not missing\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[0]) == len(capi.crypt32.__all__)

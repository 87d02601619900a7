"""SoftHSM2 provisioning: a configuration, a token directory and initialised tokens.

SoftHSM reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``; tokens initialised afterwards
by ``softhsm2-util`` become visible only after ``C_Finalize``/``C_Initialize``
(:func:`csp.pkcs11.reinitialize_module`). Tokens are always selected by label: the slot
number is random after initialisation (docs/windows-facts.md §6 pitfall 1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from capi.errors import NTE_PROV_DLL_NOT_FOUND, NTE_PROVIDER_DLL_FAIL, win32_failure

__all__ = ["SoftHSMToken", "SOFTHSM_MODULE_CANDIDATES", "find_module", "write_config",
           "init_token", "provision", "CONFIG_TEMPLATE"]

# Where distributions install the module (python-pkcs11's CI uses the first one).
SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

_TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "softhsm-config" / "softhsm2.conf.template"
# The same text as softhsm-config/softhsm2.conf.template, for installs without the
# source tree (a test keeps the two equal).
CONFIG_TEMPLATE = """\
# SoftHSM v2 configuration for winpki (written by softhsm-config/provision.py or the
# softhsm_token pytest fixture). @TOKENDIR@ is replaced by the token directory: inside the
# machine directory (<machine>/softhsm/tokens) or a temporary one. SoftHSM reads this file
# at C_Initialize, so SOFTHSM2_CONF must point here before the library is first loaded.
directories.tokendir = @TOKENDIR@
objectstore.backend = file
log.level = ERROR
slots.removable = false
"""


@dataclass(frozen=True)
class SoftHSMToken:
    """An initialised SoftHSM2 token: what a provider registration and tests need."""

    module: str
    label: str
    pin: str
    so_pin: str
    config: str
    token_dir: str


def find_module() -> str:
    """The canonical path of the installed SoftHSM2 module (``SOFTHSM2_MODULE`` wins)."""
    env = os.environ.get("SOFTHSM2_MODULE")
    for candidate in ((env,) if env else SOFTHSM_MODULE_CANDIDATES):
        if candidate and os.path.isfile(candidate):
            return os.path.realpath(candidate)
    raise win32_failure(NTE_PROV_DLL_NOT_FOUND, detail="libsofthsm2.so is not installed")


def _template() -> str:
    try:
        return _TEMPLATE_FILE.read_text(encoding="utf-8")
    except OSError:
        return CONFIG_TEMPLATE


def write_config(directory: str | os.PathLike) -> tuple[str, str]:
    """Write ``softhsm2.conf`` and create ``tokens/`` under ``directory``;
    returns (config path, token directory)."""
    base = Path(directory)
    tokens = base / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    os.chmod(tokens, 0o700)
    conf = base / "softhsm2.conf"
    conf.write_text(_template().replace("@TOKENDIR@", str(tokens)), encoding="utf-8")
    return str(conf), str(tokens)


def _util() -> str:
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise win32_failure(NTE_PROV_DLL_NOT_FOUND, detail="softhsm2-util is not installed")
    return tool


def init_token(config: str, label: str, pin: str, so_pin: str) -> None:
    """``softhsm2-util --init-token --free`` with ``SOFTHSM2_CONF=config``."""
    env = dict(os.environ, SOFTHSM2_CONF=config)
    result = subprocess.run(
        [_util(), "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise win32_failure(NTE_PROVIDER_DLL_FAIL,
                            detail=f"softhsm2-util: {(result.stderr or result.stdout).strip()}")


def provision(directory: str | os.PathLike, label: str | None = None, pin: str = "1234",
              so_pin: str = "5678", *, set_env: bool = True) -> SoftHSMToken:
    """Configuration + token directory under ``directory`` and a fresh token in it.

    With ``set_env`` the process's ``SOFTHSM2_CONF`` points at the configuration — do it
    before the module is first loaded, or reinitialise the module afterwards.
    """
    config, tokens = write_config(directory)
    label = label or f"winpki-{uuid.uuid4().hex[:12]}"
    init_token(config, label, pin, so_pin)
    if set_env:
        os.environ["SOFTHSM2_CONF"] = config
    return SoftHSMToken(find_module(), label, pin, so_pin, config, tokens)

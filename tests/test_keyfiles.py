"""Key files: Windows names, encryption at rest, hostile names, broken keysets, ACLs."""

import functools
import io
import multiprocessing
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from capi import run_as
from capi.advapi32 import crypt as api
from capi.constants import *
from capi.errors import *
from capi.formats.blobs import capi_private_blob
from capi.host.accounts import create_local_user
from capi.host.security import SecurityDescriptor
from capi.ncrypt import keystorage as nc
from capi.testing import raises_hresult
from csp import capi_unique_name, cng_unique_name
from csp.keyfiles import clear_cache

AES = MS_ENH_RSA_AES_PROV
MK = CRYPT_MACHINE_KEYSET
GUID = "3ade29bb-f050-41f3-b0db-f2b69957a1d7"


@functools.lru_cache(maxsize=None)
def rsa_key(bits=1024, n=0):
    return rsa.generate_private_key(65537, bits)


def machine_key_file(machine, name):
    return machine.host_path(machine.machine_keys_dir + "\\" + capi_unique_name(name, GUID))


def make_machine_container(name="app", exportable=False):
    with api.CryptAcquireContext(name, AES, PROV_RSA_AES, CRYPT_NEWKEYSET | MK) as prov:
        api.CryptImportKey(prov, capi_private_blob(rsa_key(), CALG_RSA_KEYX), None,
                           CRYPT_EXPORTABLE if exportable else 0)


def all_files(root):
    return {os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs}


def test_unique_names():
    # docs/windows-facts.md §1 and §8 (the 0x80070520 article's container)
    assert capi_unique_name("winetest", GUID).startswith("9d20fd8d05ed2b8455d125d0bf6d6a70_")
    assert capi_unique_name("{00F81886-5F70-430A-939C-BB7DD58ECE2A}", GUID) == \
        "99247943bd018ca78ef945b82652598d_" + GUID
    # jensign.com: MyCoolContainer -> 52ab417621a9d74c73e3e0f1bc374e0a
    assert capi_unique_name("MyCoolContainer", GUID).startswith("52ab417621a9d74c73e3e0f1bc374e0a_")
    assert len(cng_unique_name("key", GUID).split("_")[0]) == 32
    # Real Microsoft Software KSP key from `certutil -v -csp KSP -key` in the k6ncrypt
    # README (github.com/liupums/k6ncrypt): the name and the file name Windows made.
    assert cng_unique_name("{92761CBA-52AB-4531-9530-12533B1C9AF5}",
                           "64e6b472-74a5-4eb6-a106-b43815e2d97d") == \
        "cad91794ddf50456b13c563fdc9fe9aa_64e6b472-74a5-4eb6-a106-b43815e2d97d"


def test_key_file_lives_in_machinekeys_under_its_unique_name(machine):
    make_machine_container()
    path = machine_key_file(machine, "app")
    assert path.is_file()
    assert path.parent == machine.host_path(r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys")


def test_user_key_file_in_the_users_rsa_folder(machine):
    with api.CryptAcquireContext("mine", AES, PROV_RSA_AES, CRYPT_NEWKEYSET) as prov:
        api.CryptImportKey(prov, capi_private_blob(rsa_key(), CALG_RSA_KEYX), None, 0)
        sid = f"{machine.machine_sid}-500"
    folder = machine.host_path(rf"C:\Users\Administrator\AppData\Roaming\Microsoft\Crypto\RSA\{sid}")
    assert (folder / capi_unique_name("mine", GUID)).is_file()


def test_no_key_file_holds_private_key_bytes_in_the_clear(machine):
    key = rsa_key()
    make_machine_container()
    with api.CryptAcquireContext("u", AES, PROV_RSA_AES, CRYPT_NEWKEYSET) as prov:
        api.CryptImportKey(prov, capi_private_blob(key, CALG_RSA_SIGN), None, 0)
    with nc.NCryptOpenStorageProvider(MS_KEY_STORAGE_PROVIDER) as p:
        from capi.formats.blobs import bcrypt_rsa_blob

        nc.NCryptImportKey(p, None, BCRYPT_RSAPRIVATE_BLOB, {"NCRYPTBUFFER_PKCS_KEY_NAME": "cng"},
                           bcrypt_rsa_blob(key, BCRYPT_RSAPRIVATE_MAGIC), NCRYPT_MACHINE_KEY_FLAG)
    nums = key.private_numbers()
    secrets = []
    for value, size in ((nums.p, 64), (nums.q, 64), (nums.d, 128), (nums.dmp1, 64), (nums.iqmp, 64)):
        secrets += [value.to_bytes(size, "big"), value.to_bytes(size, "little")]
    from cryptography.hazmat.primitives import serialization

    secrets.append(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())[-64:])
    key_files = [f for f in all_files(machine.path / "fs") if "crypto" in f]
    assert len(key_files) == 3
    for f in key_files:
        data = open(f, "rb").read()
        for s in secrets:
            assert s[:24] not in data


@pytest.mark.parametrize("name", [
    "..\\..\\..\\evil", "../../evil", "C:\\Windows\\evil", "a/b\\c", "x" * 300, "nul\x00after",
    "CON", "\\\\server\\share\\x",
])
def test_hostile_container_names_stay_in_the_key_folder(machine, name):
    before = all_files(machine.path)
    try:
        with api.CryptAcquireContext(name, AES, PROV_RSA_AES, CRYPT_NEWKEYSET | MK) as prov:
            api.CryptGenRandom(prov, 1)
    except WinError as exc:
        # Wine rsaenh: a name over MAX_PATH is NTE_BAD_KEYSET_PARAM
        assert exc.hresult == NTE_BAD_KEYSET_PARAM and len(name) > 260
    new = all_files(machine.path) - before
    folder = str(machine.host_path(machine.machine_keys_dir))
    for f in new:
        assert os.path.dirname(f) == folder or f.startswith(str(machine.path / "secrets")) \
            or os.path.basename(f).startswith("machine.db")


def test_nul_truncates_like_a_c_string(machine):
    with api.CryptAcquireContext("abc\x00def", AES, PROV_RSA_AES, CRYPT_NEWKEYSET | MK) as prov:
        assert api.CryptGetProvParam(prov, PP_CONTAINER) == "abc"


@pytest.mark.parametrize("damage", [
    lambda b: b[: len(b) // 2],  # truncated
    lambda b: b"\x00garbage" * 10,  # not a key file
])
def test_broken_key_file_is_a_broken_keyset(machine, damage):
    make_machine_container()
    path = machine_key_file(machine, "app")
    path.write_bytes(damage(path.read_bytes()))
    clear_cache()
    with raises_hresult(NTE_BAD_KEYSET):
        api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK)


def test_altered_encrypted_key_is_bad_key_state(machine):
    # Issue "The rest of advapi32", item 5: a key file whose encrypted content was altered
    # is NTE_BAD_KEY_STATE, "Key not valid for use in specified state." (the DPAPI
    # failure), not NTE_BAD_KEYSET.
    make_machine_container()
    path = machine_key_file(machine, "app")
    path.write_bytes(path.read_bytes().replace(b'"secrets": {"1": "', b'"secrets": {"1": "AAAA'))
    clear_cache()
    with raises_hresult(NTE_BAD_KEY_STATE):
        api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK)


def test_wrong_machine_secret_is_bad_key_state(machine):
    # The same DPAPI failure: a MachineKeys file sealed under another machine's secret
    # does not decrypt ("Key not valid for use in specified state.").
    make_machine_container()
    from capi.host import dpapi

    (machine.path / "secrets" / "machine.key").write_bytes(os.urandom(32))
    dpapi._secret_cache.clear()
    clear_cache()
    with raises_hresult(NTE_BAD_KEY_STATE):
        api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK)


def test_default_sd_of_a_new_machine_key(machine):
    make_machine_container()
    with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as prov:
        sd = api.CryptGetProvParam(prov, PP_KEYSET_SEC_DESCR, DACL_SECURITY_INFORMATION)
    # certutil -v -store shows "D:PAI(A;;GAGR;;;BA)(A;;GAGR;;;SY)" / "Allow Full Control
    # BUILTIN\Administrators" / "Allow Full Control NT AUTHORITY\SYSTEM" for a Strong
    # provider machine key made by an administrator (projectacrn acrn-hypervisor docs,
    # "waag-secure-boot" tutorial). Owner and group are not shown there: O:BA G:SY is
    # NOT confirmed by a public source.
    assert sd.to_sddl().endswith("D:PAI(A;;GAGR;;;BA)(A;;GAGR;;;SY)")


# --- the access matrix --------------------------------------------------------------

IDENTITIES = ["NT AUTHORITY\\SYSTEM", "Administrator", "NT AUTHORITY\\NETWORK SERVICE",
              "IIS APPPOOL\\DefaultAppPool", "alice"]


def _open(who):
    with run_as(who):
        try:
            api.CryptReleaseContext(api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK), 0)
            return "ok"
        except WinError as exc:
            return exc.name


@pytest.mark.parametrize("acl, expected", [
    # default ACL: SYSTEM and Administrators only; others see "Keyset does not exist"
    (None, ["ok", "ok", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET"]),
    # a read grant for the app pool through icacls
    ("icacls-grant", ["ok", "ok", "NTE_BAD_KEYSET", "ok", "NTE_BAD_KEYSET"]),
    # a read grant for the local user alice via PP_KEYSET_SEC_DESCR
    ("sd-alice", ["ok", "ok", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET", "ok"]),
    # an explicit deny for Administrators: deny before allow, and SYSTEM's token holds
    # BUILTIN\Administrators too
    ("deny-admins", ["NTE_BAD_KEYSET", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET", "NTE_BAD_KEYSET"]),
])
def test_access_matrix(machine, acl, expected):
    alice = create_local_user(machine, "alice")
    make_machine_container()
    winpath = machine.machine_keys_dir + "\\" + capi_unique_name("app", GUID)
    if acl == "icacls-grant":
        from winpki.tools import icacls

        out = io.StringIO()
        assert icacls.run([winpath, "/grant", "IIS APPPOOL\\DefaultAppPool:R"], out, io.StringIO()) == 0, out.getvalue()
    elif acl == "sd-alice":
        with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as prov:
            sd = SecurityDescriptor.from_sddl(f"D:PAI(A;;GAGR;;;BA)(A;;GAGR;;;SY)(A;;GR;;;{alice})")
            api.CryptSetProvParam(prov, PP_KEYSET_SEC_DESCR, sd, DACL_SECURITY_INFORMATION)
    elif acl == "deny-admins":
        with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as prov:
            sd = SecurityDescriptor.from_sddl("D:PAI(D;;GA;;;BA)(A;;GAGR;;;BA)(A;;GAGR;;;SY)")
            api.CryptSetProvParam(prov, PP_KEYSET_SEC_DESCR, sd, DACL_SECURITY_INFORMATION)
    assert [_open(who) for who in IDENTITIES] == expected


def test_set_sd_needs_write_dac(machine):
    make_machine_container()
    with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as prov:
        sd = SecurityDescriptor.from_sddl("D:PAI(A;;GAGR;;;BA)(A;;GAGR;;;SY)(A;;GR;;;NS)")
        api.CryptSetProvParam(prov, PP_KEYSET_SEC_DESCR, sd, DACL_SECURITY_INFORMATION)
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as prov:
            with raises_hresult(NTE_PERM):
                api.CryptSetProvParam(prov, PP_KEYSET_SEC_DESCR, sd, DACL_SECURITY_INFORMATION)
            with raises_hresult(NTE_BAD_KEYSET):  # no DELETE right
                api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK | CRYPT_DELETEKEYSET)


def test_non_admin_creator_gets_its_own_ace(machine):
    with run_as("NT AUTHORITY\\NETWORK SERVICE"):
        with api.CryptAcquireContext("ns", AES, PROV_RSA_AES, CRYPT_NEWKEYSET | MK) as prov:
            sddl = api.CryptGetProvParam(prov, PP_KEYSET_SEC_DESCR).to_sddl()
    assert "(A;;GAGR;;;NS)" in sddl or "S-1-5-20" in sddl
    with run_as("IIS APPPOOL\\DefaultAppPool"):
        with raises_hresult(NTE_BAD_KEYSET):
            api.CryptAcquireContext("ns", AES, PROV_RSA_AES, MK)


def test_cache_reloads_a_changed_file(machine):
    make_machine_container()
    with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as p1:
        with api.CryptAcquireContext("app", AES, PROV_RSA_AES, MK) as p2:
            api.CryptImportKey(p2, capi_private_blob(rsa_key(1024, 1), CALG_RSA_SIGN), None, 0)
        # the other handle's new key is visible to this one
        assert api.CryptGetKeyParam(api.CryptGetUserKey(p1, AT_SIGNATURE), KP_KEYLEN) == 1024


def _worker(path, name, q):
    from capi import Machine, use_machine

    m = Machine.open(path)
    try:
        with use_machine(m):
            with api.CryptAcquireContext(name, AES, PROV_RSA_AES, CRYPT_NEWKEYSET | MK) as prov:
                api.CryptImportKey(prov, capi_private_blob(rsa_key(), CALG_RSA_KEYX), None, 0)
        q.put("ok")
    except Exception as exc:  # pragma: no cover - reported to the parent
        q.put(repr(exc))


@pytest.mark.slow
def test_processes_creating_containers_at_once(machine):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(machine.path, f"p{i % 3}", q)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = [q.get(timeout=5) for _ in procs]
    # each name is created exactly once; the others see NTE_EXISTS
    assert results.count("ok") == 3, results
    for i in range(3):
        with api.CryptAcquireContext(f"p{i}", AES, PROV_RSA_AES, MK) as prov:
            api.CryptGetUserKey(prov, AT_KEYEXCHANGE)
    folder = machine.host_path(machine.machine_keys_dir)
    assert not [f for f in os.listdir(folder) if f.startswith(".")]  # no temp files left

"""The Microsoft software CSPs (rsaenh): Base, Strong, Enhanced, Enhanced RSA and AES,
RSA SChannel — one implementation, parameterised by provider type and key lengths.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from capi.constants import (
    AT_KEYEXCHANGE,
    AT_SIGNATURE,
    CALG_MD5,
    CALG_RSA_KEYX,
    CALG_RSA_SIGN,
    CALG_SHA1,
    CALG_SHA_256,
    CALG_SHA_384,
    CALG_SHA_512,
    CALG_SSL3_SHAMD5,
    CRYPT_ARCHIVABLE,
    CRYPT_DECRYPT,
    CRYPT_ENCRYPT,
    CRYPT_EXPORT,
    CRYPT_EXPORTABLE,
    CRYPT_MAC,
    CRYPT_READ,
    CRYPT_USER_PROTECTED,
    CRYPT_WRITE,
    KP_CERTIFICATE,
    KP_PERMISSIONS,
    PRIVATEKEYBLOB,
    PROV_RSA_AES,
    PROV_RSA_FULL,
    PROV_RSA_SCHANNEL,
    PUBLICKEYBLOB,
)
from capi.errors import (
    NTE_BAD_DATA,
    NTE_BAD_KEY_STATE,
    NTE_BAD_KEYSET,
    NTE_BAD_TYPE,
    NTE_EXISTS,
    NTE_FAIL,
    NTE_NO_KEY,
    NTE_PERM,
    WinError,
)
from capi.formats import blobs
from csp import identity
from csp.base import CspContainer, CspProvider, KeyPair, KeyScope
from csp.keyfiles import (
    CAPI,
    DELETE,
    FILE_ADD_FILE,
    FILE_READ_DATA,
    FILE_WRITE_DATA,
    READ_CONTROL,
    WRITE_DAC,
    WRITE_OWNER,
    BrokenKeyFile,
    KeyFile,
    KeyStore,
    UndecryptableKeyFile,
    _b64,
    _unb64,
)

# KP_PERMISSIONS of a new key: CRYPT_ENCRYPT|DECRYPT|READ|WRITE|MAC = 0x3B, plus
# CRYPT_EXPORT = 0x3F when exportable (docs/windows-facts.md §2 #51/#52).
BASE_PERMISSIONS = CRYPT_ENCRYPT | CRYPT_DECRYPT | CRYPT_READ | CRYPT_WRITE | CRYPT_MAC

SPEC_FOR_ALG = {CALG_RSA_KEYX: AT_KEYEXCHANGE, CALG_RSA_SIGN: AT_SIGNATURE}
ALG_FOR_SPEC = {AT_KEYEXCHANGE: CALG_RSA_KEYX, AT_SIGNATURE: CALG_RSA_SIGN}

_HASHES_RSA_FULL = {
    CALG_MD5: ("MD5", hashes.MD5),
    CALG_SHA1: ("SHA-1", hashes.SHA1),
    CALG_SSL3_SHAMD5: ("SSL3 SHAMD5", None),
}
# PROV_RSA_AES adds SHA-2; PROV_RSA_FULL has none (docs/windows-facts.md §8).
_HASHES_RSA_AES = {
    **_HASHES_RSA_FULL,
    CALG_SHA_256: ("SHA-256", hashes.SHA256),
    CALG_SHA_384: ("SHA-384", hashes.SHA384),
    CALG_SHA_512: ("SHA-512", hashes.SHA512),
}


@dataclass(frozen=True)
class RsaLengths:
    """(min, max, default, increment) modulus bits per ALG_ID (Microsoft's provider
    algorithm tables: Base keyx 384-1024 default 512, signature 384-16384 default 512;
    Strong/Enhanced/AES/SChannel 384-16384 default 1024, increment 8)."""

    keyx: tuple[int, int, int, int]
    sign: tuple[int, int, int, int]


BASE_LENGTHS = RsaLengths((384, 1024, 512, 8), (384, 16384, 512, 8))
ENHANCED_LENGTHS = RsaLengths((384, 16384, 1024, 8), (384, 16384, 1024, 8))
# cryptography generates RSA keys of 1024 bits and more; shorter ones come from OpenSSL's
# command line, which stops at 512.
_LIBRARY_MIN_BITS = 1024


def generate_rsa(bits: int) -> rsa.RSAPrivateKey:
    if bits >= _LIBRARY_MIN_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    try:
        pem = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}"],
            check=True, capture_output=True, timeout=60,
        ).stdout
        return serialization.load_pem_private_key(pem, None)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise WinError(NTE_FAIL, detail=f"cannot generate a {bits}-bit RSA key: {exc}") from exc


def _pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class SoftwareContainer(CspContainer):
    """A container backed by a key file (or nothing, for VERIFYCONTEXT)."""

    def __init__(self, provider: SoftwareCSP, scope: KeyScope, name: str,
                 store: KeyStore | None, keyfile: KeyFile | None):
        self.provider = provider
        self.scope = scope
        self.name = name
        self.store = store
        self.keyfile = keyfile
        self.ephemeral = store is None
        self.machine_keyset = scope.machine_keyset
        self.unique_name = store.unique_name(name) if store else None
        self.slots: dict[int, KeyPair] = {}
        if keyfile is not None:
            self._load_slots(keyfile)

    # -- persistence ------------------------------------------------------------------------

    def _load_slots(self, kf: KeyFile) -> None:
        try:
            for slot, meta in kf.doc.get("keys", {}).items():
                spec = int(slot)
                _, alg, public, bitlen = blobs.parse_capi_blob_bits(_unb64(meta["pub"]))
                private = kf.private_key(slot)
                if private is not None and private.public_key().public_numbers() != public.public_numbers():
                    raise BrokenKeyFile("private key does not match its public key")
                cert = _unb64(meta.get("cert"))
                self.slots[spec] = KeyPair(spec, alg, public, private, int(meta["perm"]),
                                           int(meta.get("flags", 0)), cert, bitlen)
        except BrokenKeyFile:
            raise
        except (KeyError, ValueError, TypeError, WinError) as exc:
            raise BrokenKeyFile(f"bad container record: {exc}") from exc

    def _persist(self) -> None:
        if self.ephemeral:
            return
        store = self.store
        if not store.allowed(self.unique_name, FILE_WRITE_DATA):
            raise WinError(NTE_PERM, detail="no write access to the key file")
        with self.scope.machine.transaction():
            doc = store.new_document(self.name, keys={})
            secrets, objects = {}, {}
            for spec, pair in sorted(self.slots.items()):
                slot = str(spec)
                doc["keys"][slot] = {
                    # CRYPT_ARCHIVABLE lasts as long as the handle, never on disk.
                    "alg": pair.alg_id, "perm": pair.permissions,
                    "flags": pair.flags & ~CRYPT_ARCHIVABLE,
                    "pub": _b64(blobs.capi_public_blob(pair.public, pair.alg_id, pair.bits)),
                    "cert": _b64(pair.certificate),
                }
                der = _pkcs8(pair.private) if pair.private is not None else None
                store.seal(doc, slot, der)
                if der is not None:
                    secrets[slot], objects[slot] = der, pair.private
            if not store.exists(self.unique_name):
                raise WinError(NTE_BAD_KEYSET, detail="container deleted meanwhile")
            store.replace(self.unique_name, doc, secrets, objects)

    def _reload_other_slots(self) -> None:
        # Another handle (or process) may have filled the other slot since we opened.
        if self.ephemeral:
            return
        try:
            kf = self.store.load(self.unique_name)
        except BrokenKeyFile:
            return
        if kf is None:
            raise WinError(NTE_BAD_KEYSET, detail="container deleted meanwhile")
        fresh = SoftwareContainer(self.provider, self.scope, self.name, None, None)
        fresh._load_slots(kf)
        for spec, pair in fresh.slots.items():
            self.slots.setdefault(spec, pair)

    # -- CspContainer -----------------------------------------------------------------------

    def get_key(self, spec: int) -> KeyPair:
        pair = self.slots.get(spec)
        if pair is None:
            self._reload_other_slots()
            pair = self.slots.get(spec)
        if pair is None:
            raise WinError(NTE_NO_KEY)
        return pair

    def _store_pair(self, pair: KeyPair) -> KeyPair:
        with self.scope.machine.transaction():
            self._reload_other_slots()
            previous = self.slots.get(pair.spec)
            self.slots[pair.spec] = pair
            try:
                self._persist()
            except BaseException:
                if previous is None:
                    self.slots.pop(pair.spec, None)
                else:
                    self.slots[pair.spec] = previous
                raise
        return pair

    def generate_key(self, spec: int, alg_id: int, bits: int, flags: int) -> KeyPair:
        if not self.ephemeral and not self.store.allowed(self.unique_name, FILE_WRITE_DATA):
            raise WinError(NTE_PERM, detail="no write access to the key file")
        private = generate_rsa(bits)
        perms = BASE_PERMISSIONS | (CRYPT_EXPORT if flags & CRYPT_EXPORTABLE else 0)
        pair = KeyPair(spec, alg_id, private.public_key(), private, perms,
                       flags & (CRYPT_USER_PROTECTED | CRYPT_ARCHIVABLE))
        return self._store_pair(pair)

    def import_key(self, private_key, alg_id: int, flags: int) -> KeyPair:
        spec = SPEC_FOR_ALG[alg_id]
        perms = BASE_PERMISSIONS | (CRYPT_EXPORT if flags & CRYPT_EXPORTABLE else 0)
        pair = KeyPair(spec, alg_id, private_key.public_key(), private_key, perms,
                       flags & (CRYPT_USER_PROTECTED | CRYPT_ARCHIVABLE))
        return self._store_pair(pair)

    def export_key(self, pair: KeyPair, blob_type: int) -> bytes:
        if blob_type == PUBLICKEYBLOB:
            return blobs.capi_public_blob(pair.public, pair.alg_id, pair.bits)
        if blob_type == PRIVATEKEYBLOB:
            if pair.private is None:
                raise WinError(NTE_BAD_KEY_STATE, detail="public key only")
            if not pair.permissions & CRYPT_EXPORT:
                if not pair.flags & CRYPT_ARCHIVABLE:
                    raise WinError(NTE_BAD_KEY_STATE, detail="key is not exportable")
                # CRYPT_ARCHIVABLE (CryptGenKey): a non-exportable key may be exported
                # while the handle that generated it is open, for key archival; "the
                # one-time flag for key archival" ("Key Archival and Management in
                # Windows Server 2003", Microsoft). One export, then the flag is spent.
                pair.flags &= ~CRYPT_ARCHIVABLE
            return blobs.capi_private_blob(pair.private, pair.alg_id, pair.bits)
        raise WinError(NTE_BAD_TYPE, detail=f"blob type {blob_type}")

    def sign_hash(self, pair: KeyPair, digest: bytes, hash_alg, with_oid: bool) -> bytes:
        algorithm = asym_utils.Prehashed(hash_alg()) if with_oid and hash_alg else asym_utils.NoDigestInfo()
        return pair.private.sign(digest, padding.PKCS1v15(), algorithm)

    def sign_pss(self, pair: KeyPair, digest: bytes, hash_alg, salt_length: int) -> bytes:
        return pair.private.sign(digest, padding.PSS(padding.MGF1(hash_alg()), salt_length),
                                 asym_utils.Prehashed(hash_alg()))

    def decrypt(self, pair: KeyPair, ciphertext: bytes, oaep: bool) -> bytes:
        pad = (padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None) if oaep
               else padding.PKCS1v15())
        try:
            return pair.private.decrypt(ciphertext, pad)
        except ValueError as exc:
            raise WinError(NTE_BAD_DATA, detail="decryption failed") from exc

    def set_key_param(self, pair: KeyPair, param: int, value) -> None:
        if param == KP_PERMISSIONS:
            if value & CRYPT_EXPORT and not pair.permissions & CRYPT_EXPORT:
                # Export permission is one-way (docs/windows-facts.md §2 #51).
                raise WinError(NTE_BAD_DATA, detail="cannot add CRYPT_EXPORT")
            # Clearing CRYPT_EXPORT "succeeds" but the value stays (§2 #52).
            new = (value & ~CRYPT_EXPORT) | (pair.permissions & CRYPT_EXPORT)
        elif param == KP_CERTIFICATE:
            new = bytes(value)
        else:
            raise WinError(NTE_BAD_TYPE)
        if pair.spec == 0 or self.ephemeral or self.slots.get(pair.spec) is not pair:
            self._apply(pair, param, new)
            return
        with self.scope.machine.transaction():
            old = (pair.permissions, pair.certificate)
            self._apply(pair, param, new)
            try:
                self._persist()
            except BaseException:
                pair.permissions, pair.certificate = old
                raise

    @staticmethod
    def _apply(pair: KeyPair, param: int, value) -> None:
        if param == KP_PERMISSIONS:
            pair.permissions = value
        else:
            pair.certificate = value

    def get_security_descriptor(self):
        if self.ephemeral:
            raise WinError(NTE_BAD_KEYSET, detail="no container")
        if not self.store.allowed(self.unique_name, READ_CONTROL):
            raise WinError(NTE_PERM)
        return identity.get_sd(self.scope.machine, self.store.winpath(self.unique_name))

    def set_security_descriptor(self, sd, info: int) -> None:
        if self.ephemeral:
            raise WinError(NTE_BAD_KEYSET, detail="no container")
        set_key_file_sd(self.scope.machine, self.store, self.unique_name, sd, info)


def set_key_file_sd(machine, store, unique_name: str, sd, info: int) -> None:
    """A key file's descriptor set as the caller: WRITE_DAC (and WRITE_OWNER when ``info``
    has OWNER_SECURITY_INFORMATION) or NTE_PERM; the parts ``info`` names merged in."""
    desired = WRITE_DAC | (WRITE_OWNER if info & 0x1 else 0)
    if not store.allowed(unique_name, desired):
        raise WinError(NTE_PERM)
    winpath = store.winpath(unique_name)
    with machine.transaction():
        current = identity.get_sd(machine, winpath)
        identity.set_sd(machine, winpath, merge_sd(current, sd, info))


def merge_sd(current, new, info: int):
    """``current`` with the parts ``info`` (SECURITY_INFORMATION bits) names taken from
    ``new``."""
    from capi.host.security import SecurityDescriptor

    owner = new.owner if info & 0x1 else current.owner
    group = new.group if info & 0x2 else current.group
    dacl = new.dacl if info & 0x4 else current.dacl
    control = new.control if info & 0x4 else current.control
    return SecurityDescriptor(owner, group, dacl, control)


class SoftwareCSP(CspProvider):
    """A Microsoft software CSP: containers in MachineKeys or the user's RSA folder."""

    def __init__(self, name: str, prov_type: int, lengths: RsaLengths = ENHANCED_LENGTHS):
        self.name = name
        self.prov_type = prov_type
        self.lengths = lengths
        self._hashes = _HASHES_RSA_AES if prov_type == PROV_RSA_AES else _HASHES_RSA_FULL

    def _store(self, scope: KeyScope) -> KeyStore:
        return KeyStore(scope, CAPI)

    def open_container(self, scope: KeyScope, name: str) -> SoftwareContainer:
        store = self._store(scope)
        unique = store.unique_name(name)
        if not store.exists(unique):
            raise WinError(NTE_BAD_KEYSET, detail=f"no container {name!r}")
        # An identity the file's DACL does not admit sees "Keyset does not exist" — the
        # IIS application-pool symptom (docs/windows-facts.md §7: dotnet/aspnetcore#6840; the
        # 0x80070520 article's scenario 2, MachineKeys permissions).
        if not store.allowed(unique, FILE_READ_DATA):
            raise WinError(NTE_BAD_KEYSET, detail="access denied to the key file")
        try:
            kf = store.load(unique)
            if kf is None:
                raise WinError(NTE_BAD_KEYSET, detail=f"no container {name!r}")
            return SoftwareContainer(self, scope, name, store, kf)
        except UndecryptableKeyFile as exc:
            # The private key does not decrypt: "Key not valid for use in specified
            # state.", the DPAPI failure (capi.dpapi) surfacing through the CSP.
            raise WinError(NTE_BAD_KEY_STATE, detail=f"key does not decrypt: {exc}") from None
        except BrokenKeyFile as exc:
            raise WinError(NTE_BAD_KEYSET, detail=f"broken keyset: {exc}") from None

    def create_container(self, scope: KeyScope, name: str) -> SoftwareContainer:
        store = self._store(scope)
        unique = store.unique_name(name)
        if store.exists(unique):
            raise WinError(NTE_EXISTS)
        if not store.folder_allowed(FILE_ADD_FILE):
            raise WinError(NTE_PERM, detail="cannot create files in the key folder")
        doc = store.new_document(name, keys={})
        if not store.create(unique, doc):
            raise WinError(NTE_EXISTS)
        return SoftwareContainer(self, scope, name, store, store.load(unique))

    def delete_container(self, scope: KeyScope, name: str) -> None:
        store = self._store(scope)
        unique = store.unique_name(name)
        if not store.exists(unique) or not store.allowed(unique, DELETE):
            raise WinError(NTE_BAD_KEYSET)
        if not store.delete(unique):
            raise WinError(NTE_BAD_KEYSET)

    def enum_containers(self, scope: KeyScope) -> list[str]:
        return [kf.doc["name"] for kf in self._store(scope).readable()]

    def verify_context(self, scope: KeyScope) -> SoftwareContainer:
        return SoftwareContainer(self, scope, "", None, None)

    def hash_algorithms(self):
        return dict(self._hashes)

    def key_lengths(self, alg_id: int) -> tuple[int, int, int, int]:
        return self.lengths.keyx if alg_id == CALG_RSA_KEYX else self.lengths.sign


def builtin_csps() -> list[SoftwareCSP]:
    from capi.constants import (
        MS_DEF_PROV,
        MS_DEF_RSA_SCHANNEL_PROV,
        MS_ENH_RSA_AES_PROV,
        MS_ENHANCED_PROV,
        MS_STRONG_PROV,
    )

    return [
        SoftwareCSP(MS_DEF_PROV, PROV_RSA_FULL, BASE_LENGTHS),
        SoftwareCSP(MS_STRONG_PROV, PROV_RSA_FULL),
        SoftwareCSP(MS_ENHANCED_PROV, PROV_RSA_FULL),
        SoftwareCSP(MS_ENH_RSA_AES_PROV, PROV_RSA_AES),
        SoftwareCSP(MS_DEF_RSA_SCHANNEL_PROV, PROV_RSA_SCHANNEL),
    ]

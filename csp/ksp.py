"""The Microsoft Software Key Storage Provider (CNG): RSA, ECDSA and ECDH P-256/P-384/P-521."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from capi.constants import (
    BCRYPT_ECCPRIVATE_BLOB,
    BCRYPT_ECCPUBLIC_BLOB,
    BCRYPT_PAD_OAEP,
    BCRYPT_PAD_PKCS1,
    BCRYPT_PAD_PSS,
    BCRYPT_PRIVATE_KEY_BLOB,
    BCRYPT_PUBLIC_KEY_BLOB,
    BCRYPT_PUBLIC_KEY_LENGTH,
    BCRYPT_RSAFULLPRIVATE_BLOB,
    BCRYPT_RSAFULLPRIVATE_MAGIC,
    BCRYPT_RSAPRIVATE_BLOB,
    BCRYPT_RSAPRIVATE_MAGIC,
    BCRYPT_RSAPUBLIC_BLOB,
    BCRYPT_RSAPUBLIC_MAGIC,
    BCRYPT_SIGNATURE_LENGTH,
    CALG_RSA_KEYX,
    LEGACY_RSAPRIVATE_BLOB,
    LEGACY_RSAPUBLIC_BLOB,
    NCRYPT_ALGORITHM_GROUP_PROPERTY,
    NCRYPT_ALGORITHM_PROPERTY,
    NCRYPT_ALLOW_ALL_USAGES,
    NCRYPT_ALLOW_ARCHIVING_FLAG,
    NCRYPT_ALLOW_DECRYPT_FLAG,
    NCRYPT_ALLOW_EXPORT_FLAG,
    NCRYPT_ALLOW_KEY_AGREEMENT_FLAG,
    NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG,
    NCRYPT_ALLOW_SIGNING_FLAG,
    NCRYPT_BLOCK_LENGTH_PROPERTY,
    NCRYPT_CERTIFICATE_PROPERTY,
    NCRYPT_EXPORT_POLICY_PROPERTY,
    NCRYPT_IMPL_TYPE_PROPERTY,
    NCRYPT_KEY_TYPE_PROPERTY,
    NCRYPT_KEY_USAGE_PROPERTY,
    NCRYPT_LAST_MODIFIED_PROPERTY,
    NCRYPT_LENGTH_PROPERTY,
    NCRYPT_LENGTHS_PROPERTY,
    NCRYPT_MACHINE_KEY_FLAG,
    NCRYPT_NAME_PROPERTY,
    NCRYPT_PIN_PROPERTY,
    NCRYPT_PKCS8_PRIVATE_KEY_BLOB,
    NCRYPT_SECURITY_DESCR_PROPERTY,
    NCRYPT_UI_POLICY_PROPERTY,
    NCRYPT_UNIQUE_NAME_PROPERTY,
    NCRYPT_USE_CONTEXT_PROPERTY,
    NCRYPT_WINDOW_HANDLE_PROPERTY,
)
from capi.errors import (
    NTE_BAD_DATA,
    NTE_BAD_FLAGS,
    NTE_BAD_KEY_STATE,
    NTE_BAD_KEYSET,
    NTE_BAD_SIGNATURE,
    NTE_EXISTS,
    NTE_INVALID_HANDLE,
    NTE_INVALID_PARAMETER,
    NTE_NOT_FOUND,
    NTE_NOT_SUPPORTED,
    NTE_PERM,
    WinError,
)
from capi.formats import blobs
from csp import identity
from csp.base import KeyInfo, KeyScope, KspKey, KspProvider
from csp.keyfiles import (
    CNG,
    DELETE,
    FILE_ADD_FILE,
    FILE_READ_DATA,
    READ_CONTROL,
    BrokenKeyFile,
    KeyStore,
    _b64,
    _unb64,
)
from csp.software import generate_rsa, set_key_file_sd

NCRYPT_IMPL_SOFTWARE_FLAG = 0x2
RSA_ALGORITHM = "RSA"
# RSA lengths the software KSP accepts: certutil -key lists dwMinLength 512, dwMaxLength
# 16384, dwIncrement 8, dwDefaultLength 1024 for a Microsoft Software KSP RSA key.
RSA_MIN_BITS, RSA_MAX_BITS, RSA_DEFAULT_BITS, RSA_INCREMENT = 512, 16384, 1024, 8
ALGORITHMS = (RSA_ALGORITHM, *blobs.CURVE_ALGORITHMS)
_GROUP = {"RSA": "RSA", "ECDSA_P256": "ECDSA", "ECDSA_P384": "ECDSA", "ECDSA_P521": "ECDSA",
          "ECDH_P256": "ECDH", "ECDH_P384": "ECDH", "ECDH_P521": "ECDH"}
_EC_CURVES = {"secp256r1": "P256", "secp384r1": "P384", "secp521r1": "P521"}
# Properties a software key has no value for: NTE_NOT_FOUND rather than NTE_NOT_SUPPORTED
# (Wine ncrypt.c check_properties; its expected status is Windows' even on todo rows).
_UNSET_PROPERTIES = (NCRYPT_UI_POLICY_PROPERTY, NCRYPT_WINDOW_HANDLE_PROPERTY,
                     NCRYPT_USE_CONTEXT_PROPERTY)
_FILETIME_EPOCH = 116444736000000000  # 1601-01-01 -> 1970-01-01 in 100-ns ticks
_HASHES = {"MD5": hashes.MD5, "SHA1": hashes.SHA1, "SHA256": hashes.SHA256,
           "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}
_PLAINTEXT_BLOBS = (BCRYPT_RSAPRIVATE_BLOB, BCRYPT_RSAFULLPRIVATE_BLOB, BCRYPT_ECCPRIVATE_BLOB,
                    LEGACY_RSAPRIVATE_BLOB, NCRYPT_PKCS8_PRIVATE_KEY_BLOB)
SECRET_SLOT = "key"


def _hash(alg_name: str | None):
    if alg_name is None:
        return None
    cls = _HASHES.get(str(alg_name).upper())
    if cls is None:
        raise WinError(NTE_INVALID_PARAMETER, detail=f"hash algorithm {alg_name!r}")
    return cls()


def _int(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 4:
            raise WinError(NTE_INVALID_PARAMETER, detail="DWORD property needs 4 bytes")
        return int.from_bytes(value, "little")
    if not isinstance(value, int):
        raise WinError(NTE_INVALID_PARAMETER, detail="DWORD property")
    return value & 0xFFFFFFFF


def algorithm_of(key) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return RSA_ALGORITHM
    return "ECDSA_" + _EC_CURVES[key.curve.name]


def supported_lengths(algorithm: str) -> tuple[int, int, int, int]:
    """NCRYPT_SUPPORTED_LENGTHS (dwMinLength, dwMaxLength, dwIncrement, dwDefaultLength):
    RSA 512..16384 step 8, default 1024 (Wine ncrypt.c check_properties; Windows 7 and 8
    report an increment of 64); a curve has its one size."""
    if algorithm == RSA_ALGORITHM:
        return RSA_MIN_BITS, RSA_MAX_BITS, RSA_INCREMENT, RSA_DEFAULT_BITS
    bits = blobs.curve_for(algorithm).key_size
    return bits, bits, 0, bits


def import_blob_kind(blob_type: str, data: bytes) -> str:
    """The specific blob type a generic BCRYPT_PUBLIC_KEY_BLOB / BCRYPT_PRIVATE_KEY_BLOB
    stands for: its magic decides (Wine ncrypt.c test_key_import_rsa imports an RSA1 blob
    as BCRYPT_PUBLIC_KEY_BLOB; a bad magic is NTE_INVALID_PARAMETER)."""
    if len(data) < 8:
        raise WinError(NTE_BAD_DATA, detail="blob shorter than its header")
    magic = int.from_bytes(data[:4], "little")
    public = blob_type == BCRYPT_PUBLIC_KEY_BLOB
    if magic == BCRYPT_RSAPUBLIC_MAGIC and public:
        return BCRYPT_RSAPUBLIC_BLOB
    if magic in (BCRYPT_RSAPRIVATE_MAGIC, BCRYPT_RSAFULLPRIVATE_MAGIC) and not public:
        return BCRYPT_RSAPRIVATE_BLOB
    kind = blobs.ecc_magic_kind(magic)
    if kind is not None and kind == (not public):
        return BCRYPT_ECCPRIVATE_BLOB if kind else BCRYPT_ECCPUBLIC_BLOB
    raise WinError(NTE_INVALID_PARAMETER, detail=f"magic 0x{magic:08x} for {blob_type}")


class SoftwareKey(KspKey):
    def __init__(self, provider: SoftwareKSP, scope: KeyScope, algorithm: str,
                 name: str | None, legacy_spec: int = 0):
        self.provider = provider
        self.scope = scope
        self.algorithm = algorithm
        self.name = name
        self.legacy_spec = legacy_spec
        self.store = KeyStore(scope, CNG) if name is not None else None
        self.unique_name = self.store.unique_name(name) if name is not None else None
        self.finalized = False
        self.overwrite = False
        self.private = None
        self.public = None
        self.length = RSA_DEFAULT_BITS if algorithm == RSA_ALGORITHM else \
            blobs.curve_for(algorithm).key_size
        self.export_policy = 0
        self.key_usage = NCRYPT_ALLOW_ALL_USAGES
        self.imported = False

    # -- persistence ------------------------------------------------------------------------

    def _document(self) -> tuple[dict, dict]:
        doc = self.store.new_document(
            self.name, algorithm=self.algorithm, length=self.length,
            # NCRYPT_ALLOW_ARCHIVING_FLAG applies to the handle it was set on only.
            export_policy=self.export_policy & ~NCRYPT_ALLOW_ARCHIVING_FLAG, key_usage=self.key_usage,
            legacy_spec=self.legacy_spec,
            public=_b64(self.public.public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)))
        der = self.private.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        self.store.seal(doc, SECRET_SLOT, der)
        return doc, {SECRET_SLOT: der}

    def _load(self, kf) -> None:
        doc = kf.doc
        try:
            self.algorithm = doc["algorithm"]
            self.length = int(doc["length"])
            self.export_policy = int(doc["export_policy"])
            self.key_usage = int(doc["key_usage"])
            self.legacy_spec = int(doc.get("legacy_spec", 0))
            self.public = serialization.load_der_public_key(_unb64(doc["public"]))
            self.private = kf.private_key(SECRET_SLOT)
            if self.private is None:
                raise BrokenKeyFile("no private key")
        except BrokenKeyFile:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise BrokenKeyFile(f"bad key record: {exc}") from exc
        self.finalized = True

    def _persist(self, *, create: bool) -> None:
        doc, secrets = self._document()
        store = self.store
        machine = self.scope.machine
        with machine.transaction():
            if create:
                if store.exists(self.unique_name):
                    if not self.overwrite:
                        raise WinError(NTE_EXISTS)
                    if not store.allowed(self.unique_name, DELETE):
                        raise WinError(NTE_PERM)
                    store.delete(self.unique_name)
                if not store.folder_allowed(FILE_ADD_FILE):
                    raise WinError(NTE_PERM, detail="cannot create files in the key folder")
                if not store.create(self.unique_name, doc, secrets, {SECRET_SLOT: self.private}):
                    raise WinError(NTE_EXISTS)
            else:
                store.replace(self.unique_name, doc, secrets, {SECRET_SLOT: self.private})

    # -- KspKey -----------------------------------------------------------------------------

    def finalize(self, flags: int) -> None:
        if self.finalized:
            # A second NCryptFinalizeKey: NTE_INVALID_HANDLE (Wine ncrypt.c test_finalize_key).
            raise WinError(NTE_INVALID_HANDLE)
        if self.private is None:
            if self.algorithm == RSA_ALGORITHM:
                self.private = generate_rsa(self.length)
            else:
                self.private = ec.generate_private_key(blobs.curve_for(self.algorithm))
            self.public = self.private.public_key()
        if self.name is not None:
            self._persist(create=True)
        self.finalized = True

    def _need_final(self) -> None:
        if not self.finalized:
            raise WinError(NTE_BAD_KEY_STATE, detail="key not finalized")

    def get_property(self, name: str, flags: int):
        prop = str(name)
        if prop == NCRYPT_ALGORITHM_PROPERTY:
            return self.algorithm
        if prop == NCRYPT_ALGORITHM_GROUP_PROPERTY:
            return _GROUP[self.algorithm]
        if prop == NCRYPT_LENGTH_PROPERTY:
            return self.length
        if prop == NCRYPT_LENGTHS_PROPERTY:
            return supported_lengths(self.algorithm)
        if prop in (BCRYPT_PUBLIC_KEY_LENGTH, BCRYPT_SIGNATURE_LENGTH) and \
                not self.scope.machine.os.ncrypt_key_length_properties:
            raise WinError(NTE_NOT_SUPPORTED, detail=f"{prop} (this Windows version)")
        if prop == BCRYPT_PUBLIC_KEY_LENGTH:
            return self.length  # Wine ncrypt.c check_properties
        if prop == BCRYPT_SIGNATURE_LENGTH:
            if self.algorithm.startswith("ECDH"):
                raise WinError(NTE_NOT_SUPPORTED)
            size = (self.length + 7) // 8
            return size if self.algorithm == RSA_ALGORITHM else 2 * size
        if prop in _UNSET_PROPERTIES:
            raise WinError(NTE_NOT_FOUND)
        if prop == NCRYPT_LAST_MODIFIED_PROPERTY:
            if self.name is None or not self.finalized:
                raise WinError(NTE_NOT_FOUND)  # Wine check_properties: an ephemeral key
            try:
                mtime = self.store.host(self.unique_name).stat().st_mtime_ns
            except OSError:
                raise WinError(NTE_NOT_FOUND) from None
            return mtime // 100 + _FILETIME_EPOCH
        if prop == NCRYPT_BLOCK_LENGTH_PROPERTY:
            if self.algorithm != RSA_ALGORITHM:
                raise WinError(NTE_NOT_SUPPORTED)
            return self.length // 8
        if prop == NCRYPT_EXPORT_POLICY_PROPERTY:
            return self.export_policy
        if prop == NCRYPT_KEY_USAGE_PROPERTY:
            return self.key_usage
        if prop == NCRYPT_KEY_TYPE_PROPERTY:
            return NCRYPT_MACHINE_KEY_FLAG if self.scope.machine_keyset else 0
        if prop == NCRYPT_IMPL_TYPE_PROPERTY:
            # Asked of a key (not the provider), the software KSP has no Impl Type
            # (Wine ncrypt.c check_properties).
            raise WinError(NTE_NOT_SUPPORTED)
        if prop in (NCRYPT_NAME_PROPERTY, NCRYPT_UNIQUE_NAME_PROPERTY):
            if self.name is None:
                # An ephemeral key has no name (Wine ncrypt.c check_properties).
                raise WinError(NTE_NOT_SUPPORTED)
            return self.name if prop == NCRYPT_NAME_PROPERTY else self.unique_name
        if prop == NCRYPT_CERTIFICATE_PROPERTY:
            raise WinError(NTE_NOT_FOUND)
        if prop == NCRYPT_SECURITY_DESCR_PROPERTY:
            if not flags & 0xF:
                # No SECURITY_INFORMATION bit: NTE_BAD_FLAGS (Wine ncrypt.c check_properties).
                raise WinError(NTE_BAD_FLAGS)
            if self.name is None or not self.finalized:
                raise WinError(NTE_NOT_SUPPORTED)
            if not self.store.allowed(self.unique_name, READ_CONTROL):
                raise WinError(NTE_PERM)
            return identity.get_sd(self.scope.machine, self.store.winpath(self.unique_name))
        raise WinError(NTE_NOT_SUPPORTED, detail=f"property {prop!r}")

    def set_property(self, name: str, value, flags: int) -> None:
        prop = str(name)
        if prop == NCRYPT_LENGTH_PROPERTY and self.imported:
            # An imported key takes a Length without complaint, finalized or not; its
            # material is what was imported (Wine ncrypt.c test_set_property: 2048 on an
            # imported 1024-bit public key succeeds).
            bits = _int(value)
            if self.algorithm == RSA_ALGORITHM and not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
                raise WinError(NTE_INVALID_PARAMETER, detail=f"length {bits}")
            return
        if prop == NCRYPT_LENGTH_PROPERTY:
            if self.finalized or self.algorithm != RSA_ALGORITHM:
                raise WinError(NTE_NOT_SUPPORTED if not self.finalized else NTE_BAD_KEY_STATE)
            bits = _int(value)
            if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS or bits % RSA_INCREMENT:
                raise WinError(NTE_INVALID_PARAMETER, detail=f"length {bits}")
            self.length = bits
            return
        if prop in (NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_KEY_USAGE_PROPERTY):
            if self.finalized:
                # Policies are fixed once the key exists.
                raise WinError(NTE_PERM, detail=f"{prop} after finalization")
            if prop == NCRYPT_EXPORT_POLICY_PROPERTY:
                self.export_policy = _int(value)
            else:
                self.key_usage = _int(value)
            return
        if prop == NCRYPT_PIN_PROPERTY:
            raise WinError(NTE_NOT_SUPPORTED, detail="software keys have no PIN")
        if prop == NCRYPT_SECURITY_DESCR_PROPERTY:
            if self.name is None or not self.finalized:
                raise WinError(NTE_NOT_SUPPORTED)
            set_key_file_sd(self.scope.machine, self.store, self.unique_name, value,
                            flags & 0xF or 0x4)
            return
        raise WinError(NTE_NOT_SUPPORTED, detail=f"property {prop!r}")

    def export(self, blob_type: str, params: dict | None) -> bytes:
        self._need_final()
        bt = str(blob_type)
        # The generic blobs are the key type's own ("NCryptExportKey function":
        # BCRYPT_PUBLIC_KEY_BLOB / BCRYPT_PRIVATE_KEY_BLOB, the type told by the Magic).
        rsa_key = self.algorithm == RSA_ALGORITHM
        if bt == BCRYPT_PUBLIC_KEY_BLOB:
            bt = BCRYPT_RSAPUBLIC_BLOB if rsa_key else BCRYPT_ECCPUBLIC_BLOB
        elif bt == BCRYPT_PRIVATE_KEY_BLOB:
            bt = BCRYPT_RSAPRIVATE_BLOB if rsa_key else BCRYPT_ECCPRIVATE_BLOB
        if bt == BCRYPT_RSAPUBLIC_BLOB and self.algorithm == RSA_ALGORITHM:
            return blobs.bcrypt_rsa_blob(self.public, BCRYPT_RSAPUBLIC_MAGIC)
        if bt == LEGACY_RSAPUBLIC_BLOB and self.algorithm == RSA_ALGORITHM:
            return blobs.capi_public_blob(self.public, CALG_RSA_KEYX)
        if bt == BCRYPT_ECCPUBLIC_BLOB and self.algorithm != RSA_ALGORITHM:
            return blobs.bcrypt_ecc_blob(self.public, self.algorithm, False)
        password = (params or {}).get("NCRYPTBUFFER_PKCS_SECRET")
        if bt == NCRYPT_PKCS8_PRIVATE_KEY_BLOB and password is not None:
            # Encrypted PKCS#8 needs ALLOW_EXPORT only.
            if not self.export_policy & (NCRYPT_ALLOW_EXPORT_FLAG | NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG):
                raise WinError(NTE_NOT_SUPPORTED, detail="key is not exportable")
            return self.private.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(str(password).encode("utf-8")))
        if bt not in _PLAINTEXT_BLOBS:
            raise WinError(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r}")
        # Plaintext private blobs need ALLOW_PLAINTEXT_EXPORT; ALLOW_EXPORT alone permits
        # only encrypted export. Refusal is NTE_NOT_SUPPORTED, "The requested operation
        # is not supported." — what CngKey.Export reports for such keys.
        if not self.export_policy & NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG:
            if not self.export_policy & NCRYPT_ALLOW_ARCHIVING_FLAG:
                raise WinError(NTE_NOT_SUPPORTED, detail="key is not plaintext exportable")
            # NCRYPT_ALLOW_ARCHIVING_FLAG: "Allow the key to be exported once for
            # archiving purposes" on the original handle (Key Storage Property
            # Identifiers, Microsoft docs); then it no longer applies.
            self.export_policy &= ~NCRYPT_ALLOW_ARCHIVING_FLAG
        if bt == NCRYPT_PKCS8_PRIVATE_KEY_BLOB:
            return self.private.private_bytes(serialization.Encoding.DER,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        if self.algorithm == RSA_ALGORITHM:
            if bt == BCRYPT_RSAPRIVATE_BLOB:
                return blobs.bcrypt_rsa_blob(self.private, BCRYPT_RSAPRIVATE_MAGIC)
            if bt == BCRYPT_RSAFULLPRIVATE_BLOB:
                return blobs.bcrypt_rsa_blob(self.private, BCRYPT_RSAFULLPRIVATE_MAGIC)
            if bt == LEGACY_RSAPRIVATE_BLOB:
                return blobs.capi_private_blob(self.private, CALG_RSA_KEYX)
        elif bt == BCRYPT_ECCPRIVATE_BLOB:
            return blobs.bcrypt_ecc_blob(self.private, self.algorithm, True)
        raise WinError(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r} for {self.algorithm}")

    def _rsa_padding(self, pad, flags: int, *, for_sign: bool):
        if flags & BCRYPT_PAD_PSS:
            if pad is None:
                raise WinError(NTE_INVALID_PARAMETER, detail="PSS needs padding info")
            return padding.PSS(padding.MGF1(_hash(pad.pszAlgId)), int(pad.cbSalt)), _hash(pad.pszAlgId)
        if flags & BCRYPT_PAD_PKCS1:
            alg = _hash(pad.pszAlgId) if pad is not None else None
            return padding.PKCS1v15(), alg
        raise WinError(NTE_INVALID_PARAMETER, detail="padding flag")

    def sign_hash(self, digest: bytes, pad, flags: int) -> bytes:
        self._need_final()
        if not self.key_usage & NCRYPT_ALLOW_SIGNING_FLAG:
            raise WinError(NTE_NOT_SUPPORTED, detail="Key Usage does not allow signing")
        if self.algorithm.startswith("ECDH"):
            raise WinError(NTE_NOT_SUPPORTED, detail="ECDH keys do not sign")
        if self.private is None:
            # A public key alone: the invalid parameter BCryptSignHash reports for one
            # (STATUS_INVALID_PARAMETER in bcrypt.dll); no Windows test covers NCrypt's.
            raise WinError(NTE_INVALID_PARAMETER, detail="a public key cannot sign")
        if self.algorithm == RSA_ALGORITHM:
            scheme, alg = self._rsa_padding(pad, flags, for_sign=True)
            if alg is not None and len(digest) != alg.digest_size:
                raise WinError(NTE_INVALID_PARAMETER, detail="hash length")
            algorithm = asym_utils.Prehashed(alg) if alg is not None else asym_utils.NoDigestInfo()
            try:
                return self.private.sign(digest, scheme, algorithm)
            except ValueError as exc:
                raise WinError(NTE_INVALID_PARAMETER, detail=str(exc)) from exc
        der = self.private.sign(digest, ec.ECDSA(asym_utils.Prehashed(_prehash_for(digest))))
        return blobs.ecdsa_p1363_from_der(der, (self.length + 7) // 8)

    def verify_signature(self, digest: bytes, signature: bytes, pad, flags: int) -> None:
        self._need_final()
        try:
            if self.algorithm == RSA_ALGORITHM:
                scheme, alg = self._rsa_padding(pad, flags, for_sign=False)
                # A hash that is not the padding's hash's size, or a signature that is not
                # the modulus' size: NTE_INVALID_PARAMETER (Wine ncrypt.c
                # test_verify_signature: 4-byte hash, 4-byte signature, MD5 for SHA-256).
                if (alg is not None and len(digest) != alg.digest_size) or \
                        len(signature) != (self.public.key_size + 7) // 8:
                    raise WinError(NTE_INVALID_PARAMETER, detail="hash or signature size")
                algorithm = asym_utils.Prehashed(alg) if alg is not None else asym_utils.NoDigestInfo()
                self.public.verify(signature, digest, scheme, algorithm)
                return
            if len(signature) != 2 * ((self.length + 7) // 8):
                raise InvalidSignature()
            der = blobs.ecdsa_der_from_p1363(signature)
            self.public.verify(der, digest, ec.ECDSA(asym_utils.Prehashed(_prehash_for(digest))))
        except (InvalidSignature, ValueError) as exc:
            raise WinError(NTE_BAD_SIGNATURE) from exc

    def _oaep_or_pkcs1(self, pad, flags: int):
        from capi.constants import NCRYPT_PAD_OAEP_FLAG, NCRYPT_PAD_PKCS1_FLAG

        if self.algorithm != RSA_ALGORITHM:
            raise WinError(NTE_NOT_SUPPORTED, detail="encryption needs an RSA key")
        if flags & ~(NCRYPT_PAD_PKCS1_FLAG | NCRYPT_PAD_OAEP_FLAG | 0x40) or \
                not flags & (NCRYPT_PAD_PKCS1_FLAG | NCRYPT_PAD_OAEP_FLAG):
            raise WinError(NTE_BAD_FLAGS)
        if flags & BCRYPT_PAD_OAEP:
            alg = _hash(pad.pszAlgId if pad is not None else "SHA1")
            label = (pad.pbLabel or None) if pad is not None else None
            return padding.OAEP(padding.MGF1(alg), alg, label)
        return padding.PKCS1v15()

    def encrypt(self, data: bytes, pad, flags: int) -> bytes:
        self._need_final()
        scheme = self._oaep_or_pkcs1(pad, flags)
        try:
            return self.public.encrypt(bytes(data), scheme)
        except ValueError as exc:
            raise WinError(NTE_INVALID_PARAMETER, detail=str(exc)) from exc

    def decrypt(self, data: bytes, pad, flags: int) -> bytes:
        self._need_final()
        scheme = self._oaep_or_pkcs1(pad, flags)
        if not self.key_usage & NCRYPT_ALLOW_DECRYPT_FLAG:
            raise WinError(NTE_NOT_SUPPORTED, detail="Key Usage does not allow decryption")
        if self.private is None:
            raise WinError(NTE_INVALID_PARAMETER, detail="a public key cannot decrypt")
        try:
            return self.private.decrypt(bytes(data), scheme)
        except ValueError as exc:
            # RSACng reports a bad ciphertext as "The parameter is incorrect."
            raise WinError(NTE_INVALID_PARAMETER, detail="decryption failed") from exc

    def agree(self, peer_public) -> bytes:
        """ECDH: the shared secret Z with ``peer_public`` (big-endian, the curve's size).
        Both keys must be ECDH keys of one curve, as BCryptSecretAgreement demands
        (Wine bcrypt.c test_SecretAgreement: another algorithm is an invalid parameter)."""
        self._need_final()
        if not self.algorithm.startswith("ECDH") or self.private is None:
            raise WinError(NTE_INVALID_PARAMETER, detail="secret agreement needs an ECDH private key")
        if not self.key_usage & NCRYPT_ALLOW_KEY_AGREEMENT_FLAG:
            raise WinError(NTE_NOT_SUPPORTED, detail="Key Usage does not allow key agreement")
        if not isinstance(peer_public, ec.EllipticCurvePublicKey) or \
                peer_public.curve.name != self.private.curve.name:
            raise WinError(NTE_INVALID_PARAMETER, detail="the public key is not on this curve")
        return self.private.exchange(ec.ECDH(), peer_public)

    def delete(self) -> None:
        if self.name is None or not self.finalized:
            return
        if not self.store.allowed(self.unique_name, DELETE):
            raise WinError(NTE_PERM)
        if not self.store.delete(self.unique_name):
            raise WinError(NTE_BAD_KEYSET)


def _prehash_for(digest: bytes):
    by_size = {20: hashes.SHA1(), 32: hashes.SHA256(), 48: hashes.SHA384(), 64: hashes.SHA512()}
    alg = by_size.get(len(digest))
    if alg is None:
        raise WinError(NTE_INVALID_PARAMETER, detail="hash length")
    return alg


class SoftwareKSP(KspProvider):
    """Microsoft Software Key Storage Provider."""

    def __init__(self, name: str):
        self.name = name

    def algorithms(self) -> tuple[str, ...]:
        return ALGORITHMS

    def open_key(self, scope: KeyScope, name: str, legacy_spec: int) -> SoftwareKey:
        key = SoftwareKey(self, scope, RSA_ALGORITHM, name, legacy_spec)
        store = key.store
        if not store.exists(key.unique_name):
            raise WinError(NTE_BAD_KEYSET, detail=f"no key {name!r}")
        # CNG reports an ACL refusal as NTE_PERM, "Access denied." (the
        # "CryptographicException: Access denied." of IdentityServer3#849/#3373).
        if not store.allowed(key.unique_name, FILE_READ_DATA):
            raise WinError(NTE_PERM, detail="access denied to the key file")
        try:
            kf = store.load(key.unique_name)
            if kf is None:
                raise WinError(NTE_BAD_KEYSET)
            key._load(kf)
        except BrokenKeyFile as exc:
            raise WinError(NTE_BAD_KEYSET, detail=f"broken key: {exc}") from None
        return key

    def create_key(self, scope: KeyScope, algorithm: str, name: str | None,
                   legacy_spec: int, flags: int) -> SoftwareKey:
        from capi.constants import NCRYPT_OVERWRITE_KEY_FLAG

        key = SoftwareKey(self, scope, algorithm, name, legacy_spec)
        key.overwrite = bool(flags & NCRYPT_OVERWRITE_KEY_FLAG)
        if name is not None and not key.overwrite and key.store.exists(key.unique_name):
            raise WinError(NTE_EXISTS)
        return key

    def import_key(self, scope: KeyScope, blob_type: str, data: bytes, name: str | None,
                   flags: int) -> SoftwareKey:
        from capi.constants import NCRYPT_DO_NOT_FINALIZE_FLAG

        bt = str(blob_type)
        if bt in (BCRYPT_PUBLIC_KEY_BLOB, BCRYPT_PRIVATE_KEY_BLOB):
            bt = import_blob_kind(bt, bytes(data))
        if bt in (BCRYPT_RSAPRIVATE_BLOB, BCRYPT_RSAFULLPRIVATE_BLOB):
            private = blobs.parse_bcrypt_rsa_blob(
                data, (BCRYPT_RSAPRIVATE_MAGIC, BCRYPT_RSAFULLPRIVATE_MAGIC))
            algorithm = RSA_ALGORITHM
        elif bt == BCRYPT_RSAPUBLIC_BLOB:
            private = blobs.parse_bcrypt_rsa_blob(data, (BCRYPT_RSAPUBLIC_MAGIC,))
            algorithm = RSA_ALGORITHM
        elif bt == BCRYPT_ECCPRIVATE_BLOB:
            algorithm, private = blobs.parse_bcrypt_ecc_blob(data, True)
        elif bt == BCRYPT_ECCPUBLIC_BLOB:
            algorithm, private = blobs.parse_bcrypt_ecc_blob(data, False)
        elif bt == LEGACY_RSAPRIVATE_BLOB:
            _, _, private = blobs.parse_capi_blob(data)
            algorithm = RSA_ALGORITHM
        elif bt == NCRYPT_PKCS8_PRIVATE_KEY_BLOB:
            try:
                private = serialization.load_der_private_key(bytes(data), None)
            except (ValueError, TypeError) as exc:
                raise WinError(NTE_BAD_DATA, detail=str(exc)) from exc
            except UnsupportedAlgorithm as exc:
                raise WinError(NTE_NOT_SUPPORTED, detail=str(exc)) from exc
            # Only the algorithms this KSP has (RSA, ECDSA P-256/P-384): NTE_NOT_SUPPORTED
            # for another key, as NCryptCreatePersistedKey gives for an unknown algorithm.
            if not isinstance(private, rsa.RSAPrivateKey) and not (
                    isinstance(private, ec.EllipticCurvePrivateKey)
                    and private.curve.name in _EC_CURVES):
                raise WinError(NTE_NOT_SUPPORTED, detail=f"key type {type(private).__name__}")
            algorithm = algorithm_of(private)
        else:
            raise WinError(NTE_INVALID_PARAMETER, detail=f"blob type {bt!r}")
        is_public = isinstance(private, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
        if is_public and name is not None:
            raise WinError(NTE_INVALID_PARAMETER, detail="public keys are not persisted")
        key = self.create_key(scope, algorithm, name, 0, flags)
        key.private = None if is_public else private
        key.public = private if is_public else private.public_key()
        key.length = key.public.key_size
        key.imported = True
        if is_public:
            key.finalized = True
        elif not flags & NCRYPT_DO_NOT_FINALIZE_FLAG:
            key.finalize(0)
        return key

    def enum_keys(self, scope: KeyScope) -> list[KeyInfo]:
        out = []
        for kf in KeyStore(scope, CNG).readable():
            doc = kf.doc
            out.append(KeyInfo(doc["name"], doc.get("algorithm", RSA_ALGORITHM),
                               int(doc.get("legacy_spec", 0)),
                               NCRYPT_MACHINE_KEY_FLAG if scope.machine_keyset else 0))
        return out

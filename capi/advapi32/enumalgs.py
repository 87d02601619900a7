"""PP_ENUMALGS / PP_ENUMALGS_EX: what a CSP says it has.

The list is built from the tables the provider really uses, so that it never names an
algorithm CryptGenKey or CryptCreateHash would refuse: the session ciphers of its family
(``sessionkeys.table``: RC2, RC4, DES, 3DES TWO KEY, 3DES, and AES-128/192/256 for the AES
and SChannel providers), its hashes (``hashes.algorithms``: SHA-1, MD5, SSL3 SHAMD5, MD2
and MD4 except in SChannel, SHA-2 in the AES provider, MAC and HMAC), and the two RSA key
algorithms with the provider's lengths.

Sources: Microsoft docs "Base Provider Algorithms", "Enhanced Provider Algorithms", "AES
Provider Algorithms" (which algorithms, which key lengths), "PROV_ENUMALGS structure" and
"PROV_ENUMALGS_EX structure" (the fields).
"""

from __future__ import annotations

from typing import NamedTuple

from capi import constants as C
from capi.advapi32 import hashes as _hashes
from capi.advapi32 import sessionkeys as _sk


class PROV_ENUMALGS(NamedTuple):
    """wincrypt.h PROV_ENUMALGS (dwNameLen is len(szName) + 1 in C)."""

    aiAlgid: int
    dwBitLen: int
    szName: str


class PROV_ENUMALGS_EX(NamedTuple):
    """wincrypt.h PROV_ENUMALGS_EX. dwProtocols and szLongName are not modelled: 0 and
    the short name."""

    aiAlgid: int
    dwDefaultLen: int
    dwMinLen: int
    dwMaxLen: int
    dwProtocols: int
    szName: str
    szLongName: str


_SSL3_SHAMD5_BITS = 288  # MD5 || SHA-1
_HASH_ORDER = (C.CALG_SHA1, C.CALG_SHA_256, C.CALG_SHA_384, C.CALG_SHA_512, C.CALG_MD2,
               C.CALG_MD4, C.CALG_MD5, C.CALG_SSL3_SHAMD5, C.CALG_MAC)
_HASH_NAMES = {C.CALG_SSL3_SHAMD5: "SSL3 SHAMD5", C.CALG_MAC: "MAC", C.CALG_HMAC: "HMAC"}


def _hash_entry(alg: int) -> PROV_ENUMALGS_EX:
    if alg in _hashes.DIGESTS:
        name, bits = _hashes.DIGESTS[alg][0], _hashes.new_digest(alg).digest_size * 8
    else:  # SSL3 SHAMD5 is MD5 || SHA-1; MAC and HMAC have no fixed size
        name, bits = _HASH_NAMES[alg], _SSL3_SHAMD5_BITS if alg == C.CALG_SSL3_SHAMD5 else 0
    return PROV_ENUMALGS_EX(alg, bits, bits, bits, 0, name, name)


def algorithms_ex(provider) -> list[PROV_ENUMALGS_EX]:
    """Every PROV_ENUMALGS_EX entry of ``provider``, in enumeration order."""
    out = []
    for alg, (low, high, default) in _sk.table(provider).items():
        name = _sk.SPECS[alg].name
        out.append(PROV_ENUMALGS_EX(alg, default, low, high, 0, name, name))
    hashes = _hashes.algorithms(provider)
    out += [_hash_entry(alg) for alg in _HASH_ORDER if alg in hashes]
    for alg, name in ((C.CALG_RSA_SIGN, "RSA_SIGN"), (C.CALG_RSA_KEYX, "RSA_KEYX")):
        low, high, default, _inc = provider.key_lengths(alg)
        out.append(PROV_ENUMALGS_EX(alg, default, low, high, 0, name, name))
    if C.CALG_HMAC in hashes:
        out.append(_hash_entry(C.CALG_HMAC))
    return out


def algorithms(provider) -> list[PROV_ENUMALGS]:
    """PP_ENUMALGS: (aiAlgid, dwBitLen = the default length, szName) per algorithm."""
    return [PROV_ENUMALGS(e.aiAlgid, e.dwDefaultLen, e.szName) for e in algorithms_ex(provider)]


__all__ = ["PROV_ENUMALGS", "PROV_ENUMALGS_EX"]

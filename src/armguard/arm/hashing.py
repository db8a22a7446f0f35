"""The hashes behind uniqueString() and guid(), bit-compatible with Azure Resource Manager.

uniqueString: the arguments are joined with '-', encoded as UTF-8 and hashed with Resource
Manager's 64-bit MurmurHash variant (two 32-bit lanes using the MurmurHash3 x86 constants). The
64 bits are written as 13 base-32 digits (alphabet a-z2-7), most significant first; the last
digit carries the final 4 bits shifted left by one.

guid: a name-based (SHA-1, version 5) UUID of the arguments joined with '-' (UTF-8) in the
namespace 11fb06fb-712d-4ddd-98c7-e71bbd588830.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["GUID_NAMESPACE", "arm_guid", "murmurhash64", "unique_string"]

GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_MASK = 0xFFFFFFFF
_C1, _C2 = 0x239B961B, 0xAB0E9789


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def _mix1(k: int) -> int:
    return (_rotl((k * _C1) & _MASK, 15) * _C2) & _MASK


def _mix2(k: int) -> int:
    return (_rotl((k * _C2) & _MASK, 17) * _C1) & _MASK


def murmurhash64(data: bytes, seed: int = 0) -> int:
    """Resource Manager's 64-bit MurmurHash of `data`."""
    n = len(data)
    h1 = h2 = seed & _MASK
    end = n - n % 8
    for i in range(0, end, 8):
        h1 ^= _mix1(int.from_bytes(data[i : i + 4], "little"))
        h1 = (((_rotl(h1, 19) + h2) & _MASK) * 5 + 0x561CCD1B) & _MASK
        h2 ^= _mix2(int.from_bytes(data[i + 4 : i + 8], "little"))
        h2 = (((_rotl(h2, 13) + h1) & _MASK) * 5 + 0x0BCAA747) & _MASK
    if end < n:
        h1 ^= _mix1(int.from_bytes(data[end : min(end + 4, n)], "little"))
        if n - end > 4:
            h2 ^= _mix2(int.from_bytes(data[end + 4 : n], "little"))
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    """uniqueString(values...): 13 characters from a-z and 2-7."""
    bits = murmurhash64("-".join(values).encode("utf-8")) << 1  # 65 bits: 13 digits of 5
    return "".join(_BASE32[(bits >> shift) & 31] for shift in range(60, -1, -5))


def arm_guid(*values: str) -> str:
    """guid(values...): a version-5 UUID string in lowercase."""
    digest = bytearray(hashlib.sha1(GUID_NAMESPACE.bytes + "-".join(values).encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))

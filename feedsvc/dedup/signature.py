"""MinHash signatures of shingle arrays, computed in bulk with numpy, equal to datasketch's.

feedsvc signs with datasketch's ``affine32`` scheme (``MinHash(num_perm, seed, scheme="affine32")``; the
tests compare signatures with datasketch itself), but does not import datasketch to do it: that brings
scipy, about a second of CPU in every process that signs anything, for two parameter arrays that take
microseconds to draw the way datasketch 2.x draws them (``MinHash._init_permutations``)."""

from __future__ import annotations

import numpy as np

from feedsvc.dedup.shingles import U32

SCHEME = "affine32"
_WIDTH = 32  # affine32: h -> a * h + b mod 2**32


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The (a, b) parameters of datasketch's ``affine32`` permutations for ``num_perm`` and ``seed``: odd
    multipliers (bijections of 32-bit values) and offsets, from numpy's legacy ``RandomState(seed)``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << (_WIDTH - 1), num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << _WIDTH, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(h: U32) -> U32:
    """MurmurHash3's finalizer: the pre-mix datasketch's affine32 scheme applies to every input hash."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


class Signer:
    """MinHash signatures for whole shingle arrays at once, equal to datasketch's ``update_batch``."""

    def __init__(self, num_perm: int, seed: int) -> None:
        a, b = permutations(num_perm, seed)
        self.a = a[:, None].copy()  # one row per permutation: each signature value is a contiguous row min
        self.b = b[:, None].copy()
        self.num_perm = num_perm
        self.seed = seed
        self.empty = np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)

    def permuted(self, hashes: U32, out: U32 | None = None) -> U32:
        """Every hash under every permutation: one row per permutation, one column per hash (written to
        ``out`` when given, of that shape)."""
        permuted: U32 = np.multiply(self.a, _fmix32(hashes), out=out)
        permuted += self.b
        return permuted

    def sign(self, hashes: U32) -> U32:
        if hashes.size == 0:
            return self.empty.copy()
        result: U32 = self.permuted(hashes).min(axis=1)
        return result

    def sign_with_part(self, hashes: U32, part: U32) -> tuple[U32, U32]:
        """``(sign(hashes), sign(part))`` for sorted unique ``hashes`` and ``part``, some of them (in any
        order, repeats allowed), permuting each hash once."""
        if hashes.size == 0:
            return self.empty.copy(), self.empty.copy()
        permuted = self.permuted(hashes)
        whole: U32 = permuted.min(axis=1)
        if part.size == 0:
            return whole, self.empty.copy()
        piece: U32 = permuted[:, np.searchsorted(hashes, part)].min(axis=1)
        return whole, piece

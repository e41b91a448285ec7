"""The one module that imports datasketch: MinHash permutations and the MinHashLSH-backed shared index."""

from __future__ import annotations

from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from feedsvc.dedup.fingerprint import _Content
from feedsvc.dedup.shingles import U32

SCHEME = "affine32"


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The (a, b) parameters of datasketch's ``affine32`` permutations for ``num_perm`` and ``seed``."""
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


class _Sig:
    """The part of a MinHash that MinHashLSH reads: cheaper than building a LeanMinHash per story."""

    __slots__ = ("hashvalues",)
    scheme = SCHEME

    def __init__(self, hashvalues: U32) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


class _DatasketchIndex:
    """The same bands in two datasketch MinHashLSH indexes, for shared storage (``storage_config``,
    e.g. Redis) when several workers share one index."""

    def __init__(
        self, body: tuple[int, int], lead: tuple[int, int], num_perm: int, storage_config: dict[str, Any]
    ) -> None:
        self.body = MinHashLSH(num_perm=num_perm, params=body, storage_config=_named(storage_config, "body"))
        self.lead = MinHashLSH(num_perm=num_perm, params=lead, storage_config=_named(storage_config, "lead"))

    def query(self, content: _Content) -> set[str]:
        found: set[str] = set()
        for index, sig in ((self.body, content.body_sig), (self.lead, content.lead_sig)):
            if sig is not None:
                found.update(index.query(_Sig(sig)))
        return found

    def insert(self, key: str, content: _Content) -> None:
        for index, sig in ((self.body, content.body_sig), (self.lead, content.lead_sig)):
            if sig is not None:
                index.insert(key, _Sig(sig), check_duplication=False)

    def remove(self, key: str) -> None:
        for index in (self.body, self.lead):
            if key in index:
                index.remove(key)


def _named(config: dict[str, Any], part: str) -> dict[str, Any]:
    if "basename" not in config:
        return dict(config)
    return {**config, "basename": bytes(config["basename"]) + b"_" + part.encode()}

"""Candidate look-up: LSH band parameters and the in-memory banded index of body and lead signatures."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import numpy as np

from feedsvc.dedup.fingerprint import _Content

LEAD_THRESHOLD = 0.3  # Jaccard threshold of the lead bands (the leads of a brief and its story: often 0.5)


@lru_cache(maxsize=64)
def band_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the false-positive plus false-negative area around ``threshold``, as
    datasketch's MinHashLSH chooses them (so a threshold means the same here as there)."""
    step = 0.001
    below = np.arange(0.0, threshold, step) + step / 2
    above = np.arange(threshold, 1.0, step) + step / 2
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            false_pos = float(np.sum(1.0 - (1.0 - below**r) ** b)) * step
            false_neg = float(np.sum((1.0 - above**r) ** b)) * step
            err = 0.5 * false_pos + 0.5 * false_neg
            if err < best_err:
                best, best_err = (b, r), err
    return best


class _Index(Protocol):
    """Banded LSH over (body, lead) signatures; an empty signature (no content) is not indexed."""

    def query(self, content: _Content) -> set[str]: ...

    def insert(self, key: str, content: _Content) -> None: ...

    def remove(self, key: str) -> None: ...


class _MemoryIndex:
    """Banded LSH of body and lead signatures in one dict: 60-bit band key -> key (or list of keys).

    Much smaller and faster than MinHashLSH's dict storage (a set and a bytes object per band per
    story) and cheap for the garbage collector (no container per entry)."""

    def __init__(self, body: tuple[int, int], lead: tuple[int, int]) -> None:
        self.shapes = (body, lead)
        gen = np.random.default_rng(20250611)  # fixed: keys are only compared within one process
        self.mult = gen.integers(1, 1 << 63, size=max(body[1], lead[1], 1), dtype=np.uint64) | np.uint64(1)
        salts = gen.integers(0, 1 << 63, size=body[0] + lead[0], dtype=np.uint64)
        self.salts = (salts[: body[0]], salts[body[0] :])
        self.table: dict[int, str | list[str]] = {}
        self.keys: dict[str, list[int]] = {}
        self.epoch = 0  # changes with every insert and remove: a query's look-ups stay valid until then

    def _band_keys(self, content: _Content) -> list[int]:
        if content.bands is not None:
            return content.bands
        out: list[int] = []
        sigs = (content.body_sig, content.lead_sig)
        for sig, (bands, rows), salts in zip(sigs, self.shapes, self.salts, strict=True):
            if sig is None or bands == 0:
                continue
            # A salted random linear combination of the band's rows, remixed: 60-bit keys.
            keys = (sig[: bands * rows].reshape(bands, rows) * self.mult[:rows]).sum(axis=1, dtype=np.uint64)
            keys ^= salts
            keys *= np.uint64(0xBF58476D1CE4E5B9)
            keys >>= np.uint64(4)
            out += keys.tolist()
        content.bands = out
        return out

    def query(self, content: _Content) -> set[str]:
        hits = list(map(self.table.get, self._band_keys(content)))
        content.probed = (self.epoch, hits)
        found: set[str] = set()
        for hit in hits:
            if hit is None:
                continue
            if isinstance(hit, str):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def insert(self, key: str, content: _Content) -> None:
        bands = self._band_keys(content)
        self.keys[key] = bands
        table = self.table
        probed = content.probed
        if probed is not None and probed[0] == self.epoch:  # the usual path: matches(), then add()
            table.update(
                dict.fromkeys([b for b, hit in zip(bands, probed[1], strict=True) if hit is None], key)
            )
            taken = [b for b, hit in zip(bands, probed[1], strict=True) if hit is not None]
        else:
            taken = bands
        for band in taken:
            hit = table.setdefault(band, key)
            if hit is key:
                continue
            if isinstance(hit, str):
                if hit != key:
                    table[band] = [hit, key]
            elif key not in hit:
                hit.append(key)
        self.epoch += 1

    def remove(self, key: str) -> None:
        self.epoch += 1
        for band in self.keys.pop(key, ()):
            hit = self.table.get(band)
            if hit == key:
                del self.table[band]
            elif isinstance(hit, list) and key in hit:
                hit.remove(key)
                if len(hit) == 1:
                    self.table[band] = hit[0]

"""Candidate look-up: LSH band parameters and the in-memory banded index of body and lead signatures."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Protocol

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.fingerprint import _Content
from feedsvc.dedup.shingles import U32, U64

LEAD_THRESHOLD = 0.3  # Jaccard threshold of the lead bands (the leads of a brief and its story: often 0.5)
MIN_MERGE = 16_384  # recent stories kept in the dict before the first merge into the frozen arrays
MERGE_SHARE = 16  # later merges: when the recent stories reach 1/MERGE_SHARE of the frozen ones
WINDOW = 16  # band keys compared per look-up in the frozen arrays (longer runs: a slower exact path)

_MIX = np.uint64(0xBF58476D1CE4E5B9)


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

    def load(self, items: Sequence[tuple[str, bytes, bytes]]) -> None: ...


class _Frozen:
    """Band keys in one sorted uint64 array with the story number of each (12 bytes an entry), and a
    directory of where each run of keys sharing their top bits starts: a look-up reads a short window."""

    def __init__(self, keys: U64, ids: U32) -> None:
        self.keys, self.ids = keys, ids
        bits = max(1, int(keys.size // 8).bit_length())  # about 4-8 keys per directory slot
        self.shift = np.uint64(60 - bits)
        counts = np.bincount((keys >> self.shift).astype(np.intp), minlength=1 << bits)
        self.starts: npt.NDArray[np.int64] = np.zeros(  # uint32 while it can: half the memory
            (1 << bits) + 1, dtype=np.uint32 if keys.size < 1 << 32 else np.int64
        )
        np.cumsum(counts, out=self.starts[1:])
        self.longest = int(counts.max()) if counts.size else 0
        self.steps = np.arange(min(WINDOW, max(self.longest, 1)), dtype=np.int64)

    def __len__(self) -> int:
        return int(self.keys.size)

    def lookup(self, probe: U64) -> npt.NDArray[np.uint32]:
        """Story numbers filed under any of the band keys ``probe``."""
        slot = (probe >> self.shift).astype(np.intp)
        first = self.starts[slot]
        at = first[:, None] + self.steps
        np.minimum(at, self.keys.size - 1, out=at)  # past the end: the last key, equal only if it matches
        ids: npt.NDArray[np.uint32] = self.ids[at[self.keys[at] == probe[:, None]]]
        if self.longest <= self.steps.size:
            return ids
        ends = self.starts[slot + 1]
        extra = [ids]
        for i in np.flatnonzero(ends - first > self.steps.size).tolist():  # runs longer than the window
            lo, hi = int(first[i]) + self.steps.size, int(ends[i])
            extra.append(self.ids[lo:hi][self.keys[lo:hi] == probe[i]])
        return np.concatenate(extra)

    def merged(self, keys: U64, ids: U32, keep: npt.NDArray[np.bool_] | None) -> _Frozen:
        """These arrays plus ``keys``/``ids``, without the entries ``keep`` (by story number) drops."""
        order = np.argsort(keys)
        keys, ids = keys[order], ids[order]
        old_keys, old_ids = self.keys, self.ids
        if keep is not None:
            live = keep[old_ids]
            old_keys, old_ids = old_keys[live], old_ids[live]
        if not old_keys.size:
            return _Frozen(keys, ids)
        at = np.searchsorted(old_keys, keys)
        return _Frozen(np.insert(old_keys, at, keys), np.insert(old_ids, at, ids))


_EMPTY_FROZEN = _Frozen(np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint32))


class _MemoryIndex:
    """Banded LSH of body and lead signatures: 60-bit band key -> stories.

    Recent stories sit in one dict (band key -> key or list of keys; cheap to insert and remove);
    every so often they are merged into the frozen arrays (``_Frozen``: 12 bytes per band key instead of
    about 90 in the dict), where removal leaves a tombstone until the next merge. A merge costs time in
    proportion to the index, and happens when the recent stories reach a fixed share of it, so its
    cost per story stays flat however large the index grows."""

    def __init__(self, body: tuple[int, int], lead: tuple[int, int]) -> None:
        self.shapes = (body, lead)
        gen = np.random.default_rng(20250611)  # fixed: keys are only compared within one process
        self.mult = gen.integers(1, 1 << 63, size=max(body[1], lead[1], 1), dtype=np.uint64) | np.uint64(1)
        salts = gen.integers(0, 1 << 63, size=body[0] + lead[0], dtype=np.uint64)
        self.salts = (salts[: body[0]], salts[body[0] :])
        self.both = np.stack(self.salts) if body == lead else None  # both signatures keyed in one pass
        self.table: dict[int, str | list[str]] = {}  # the recent stories' bands
        self.keys: dict[str, list[int]] = {}  # band keys of each recent story
        self.number: dict[str, int] = {}  # every indexed story's number (position in ``names``)
        self.names: list[str | None] = []  # by number; None once removed
        self.removed = 0  # numbers in ``names`` that are None
        self.frozen = _EMPTY_FROZEN
        self.epoch = 0  # changes with every insert and remove: a query's look-ups stay valid until then

    def _keys(self, sigs: U32, shape: tuple[int, int], salts: U64) -> U64:
        """Band keys of signatures (rows of ``sigs``): a salted random linear combination of each band's
        rows, remixed to 60 bits. ``salts`` broadcasts against the ``(rows of sigs, bands)`` result."""
        bands, rows = shape
        keys: U64 = (sigs[..., : bands * rows].reshape(*sigs.shape[:-1], bands, rows) * self.mult[:rows]).sum(
            axis=-1, dtype=np.uint64
        )
        keys ^= salts
        keys *= _MIX
        keys >>= np.uint64(4)
        return keys

    def _band_keys(self, content: _Content) -> U64:
        if content.bands is not None:
            return content.bands
        body, lead = content.body_sig, content.lead_sig
        if body is not None and lead is not None and self.both is not None and self.shapes[0][0]:
            keys = self._keys(np.stack((body, lead)), self.shapes[0], self.both).ravel()
        else:
            parts = [
                self._keys(sig, shape, salts)
                for sig, shape, salts in zip((body, lead), self.shapes, self.salts, strict=True)
                if sig is not None and shape[0]
            ]
            keys = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
        content.bands = keys
        content.band_list = keys.tolist()
        return keys

    def query(self, content: _Content) -> set[str]:
        keys = self._band_keys(content)
        hits = list(map(self.table.get, content.band_list or ()))
        content.probed = (self.epoch, hits)
        found: set[str] = set()
        for hit in hits:
            if hit is None:
                continue
            if isinstance(hit, str):
                found.add(hit)
            else:
                found.update(hit)
        if len(self.frozen) and keys.size:
            names = self.names
            for number in set(self.frozen.lookup(keys).tolist()):
                name = names[number]
                if name is not None:
                    found.add(name)
        return found

    def insert(self, key: str, content: _Content) -> None:
        self._band_keys(content)
        bands = content.band_list or []
        self.number[key] = len(self.names)
        self.names.append(key)
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
        if len(self.keys) >= max(MIN_MERGE, (len(self.number) - len(self.keys)) // MERGE_SHARE):
            self.merge()

    def load(self, items: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Index many stories at once, straight into the frozen arrays: (key, body signature, lead
        signature) with each signature as stored (``uint32`` bytes; empty: nothing to index)."""
        first = len(self.names)
        for i, (key, _, _) in enumerate(items):
            self.number[key] = first + i
        self.names += [key for key, _, _ in items]
        parts: list[tuple[U64, U32]] = []
        for column, shape, salts in zip((1, 2), self.shapes, self.salts, strict=True):
            have = [i for i, item in enumerate(items) if item[column]]
            if not have or not shape[0]:
                continue
            raw = b"".join([items[i][column] for i in have])  # type: ignore[misc]
            keys = self._keys(np.frombuffer(raw, dtype=np.uint32).reshape(len(have), -1), shape, salts)
            ids = np.repeat(np.array(have, dtype=np.uint32) + np.uint32(first), shape[0])
            parts.append((keys.ravel(), ids))
        self.epoch += 1
        if parts:
            keys = np.concatenate([k for k, _ in parts])
            ids = np.concatenate([i for _, i in parts])
            self._freeze(keys, ids)

    def merge(self) -> None:
        """Move the recent stories' band keys into the frozen arrays."""
        recent = self.keys
        if not recent:
            return
        lengths = [len(bands) for bands in recent.values()]
        keys = np.fromiter(chain.from_iterable(recent.values()), dtype=np.uint64, count=sum(lengths))
        numbers = np.fromiter(map(self.number.__getitem__, recent), dtype=np.uint32, count=len(recent))
        self.table, self.keys = {}, {}
        self._freeze(keys, np.repeat(numbers, lengths))

    def _freeze(self, keys: U64, ids: U32) -> None:
        keep = None
        if self.removed:
            names = self.names
            keep = np.fromiter((name is not None for name in names), dtype=np.bool_, count=len(names))
        self.frozen = self.frozen.merged(keys, ids, keep)
        if self.removed * 4 > len(self.names):  # renumber: drop the removed stories' numbers
            assert keep is not None
            live = np.flatnonzero(keep)
            renumber = np.zeros(len(self.names), dtype=np.uint32)
            renumber[live] = np.arange(live.size, dtype=np.uint32)
            self.frozen = _Frozen(self.frozen.keys, renumber[self.frozen.ids])
            self.names = [self.names[i] for i in live.tolist()]
            self.number = {name: i for i, name in enumerate(self.names) if name is not None}
            self.removed = 0

    def remove(self, key: str) -> None:
        number = self.number.pop(key, None)
        if number is None:
            return
        self.epoch += 1
        self.names[number] = None
        self.removed += 1
        for band in self.keys.pop(key, ()):
            hit = self.table.get(band)
            if hit == key:
                del self.table[band]
            elif isinstance(hit, list) and key in hit:
                hit.remove(key)
                if len(hit) == 1:
                    self.table[band] = hit[0]

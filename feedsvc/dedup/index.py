"""Candidate look-up: LSH band parameters and the in-memory banded index of body and lead signatures."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Protocol

import numpy as np

from feedsvc.dedup.fingerprint import _Content
from feedsvc.dedup.runs import Runs, Stories
from feedsvc.dedup.shingles import U32, U64

LEAD_THRESHOLD = 0.3  # Jaccard threshold of the lead bands (the leads of a brief and its story: often 0.5)
MIN_MERGE = 4096  # recent stories kept in the dict before they are filed as a frozen run

_MIX = np.uint64(0xBF58476D1CE4E5B9)
_FEW = 1024  # signature values up to which band keys are summed in one call


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

    def warm(self, contents: Sequence[_Content]) -> None: ...

    def remove(self, key: str) -> None: ...

    def load(self, keys: Sequence[str], body: Sequence[bytes], lead: Sequence[bytes]) -> None: ...


class _MemoryIndex:
    """Banded LSH of body and lead signatures: 60-bit band key -> stories.

    Recent stories sit in one dict (band key -> key or list of keys; cheap to insert and remove);
    every ``MIN_MERGE`` of them are filed as a frozen run (``runs.Runs``: 12 bytes per band key instead
    of about 90 in the dict, runs merged logarithmically, all looked up in one pass), where removal
    leaves a tombstone (a dead story number) until its run is next merged."""

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
        self.alive = bytearray()  # by number: 1 while the story is indexed (``names`` as bytes, for numpy)
        self.removed = 0  # numbers in ``names`` that are None
        self.frozen = Runs()
        self.epoch = 0  # changes with every insert and remove: a query's look-ups stay valid until then

    def _keys(self, sigs: U32, shape: tuple[int, int], salts: U64, out: U64 | None = None) -> U64:
        """Band keys of signatures (rows of ``sigs``): a salted random linear combination of each band's
        rows, remixed to 60 bits. ``salts`` broadcasts against the ``(rows of sigs, bands)`` result,
        which is written to ``out`` when given (of that shape)."""
        bands, rows = shape
        banded = sigs[..., : bands * rows].reshape(*sigs.shape[:-1], bands, rows)
        keys: U64
        if sigs.size <= _FEW:  # one story: fewest numpy calls
            keys = np.sum(banded * self.mult[:rows], axis=-1, dtype=np.uint64, out=out)
        else:  # many (a restore): one pass per row, as numpy sums a short last axis slowly
            keys = np.multiply(banded[..., 0], self.mult[0], out=out)
            term = np.empty_like(keys)
            for row in range(1, rows):
                keys += np.multiply(banded[..., row], self.mult[row], out=term)
        keys ^= salts
        keys *= _MIX
        keys >>= np.uint64(4)
        return keys

    def _band_keys(self, content: _Content) -> U64:
        if content.bands is not None:
            return content.bands
        body, lead = content.body_sig, content.lead_sig
        if body is not None and lead is not None and self.both is not None and self.shapes[0][0]:
            keys = self._keys(np.concatenate((body, lead)).reshape(2, -1), self.shapes[0], self.both).ravel()
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

    def warm(self, contents: Sequence[_Content]) -> None:
        """Band keys of many contents (signed) at once, and their look-ups in the frozen runs in one pass:
        ``query`` uses them while the runs are unchanged."""
        both: list[tuple[_Content, U32, U32]] = []
        for c in contents:
            if c.bands is None and c.body_sig is not None and c.lead_sig is not None:
                both.append((c, c.body_sig, c.lead_sig))
        if both and self.both is not None and self.shapes[0][0]:
            sigs = np.concatenate([sig for _, body, lead in both for sig in (body, lead)]).reshape(
                len(both), 2, -1
            )
            keys = self._keys(sigs, self.shapes[0], self.both).reshape(len(both), -1)
            for (content, _, _), row, listed in zip(both, keys, keys.tolist(), strict=True):
                content.bands, content.band_list = row, listed
        signed = [c for c in contents if c.body_sig is not None]
        bands = [self._band_keys(content) for content in signed]
        if not len(self.frozen) or not signed:
            return
        numbers, by = self.frozen.lookup_by(np.concatenate(bands))
        sizes = [keys.size for keys in bands]
        owner = np.searchsorted(np.cumsum(sizes), by, side="right").tolist()
        found: list[list[int]] = [[] for _ in signed]
        for story, number in zip(owner, numbers.tolist(), strict=True):
            found[story].append(number)
        generation = self.frozen.generation
        for content, numbers_found in zip(signed, found, strict=True):
            content.frozen = (generation, numbers_found)

    def query(self, content: _Content) -> set[str]:
        keys = self._band_keys(content)
        bands = content.band_list or ()
        found: set[str] = set()
        # The usual answer: no recent story shares a band, asked in one call that stops at a hit (the
        # table then answers band by band, as without).
        if self.table.keys().isdisjoint(bands):
            content.probed = (self.epoch, None)
        else:
            hits = list(map(self.table.get, bands))
            content.probed = (self.epoch, hits)
            for hit in hits:
                if hit is None:
                    continue
                if isinstance(hit, str):
                    found.add(hit)
                else:
                    found.update(hit)
        if len(self.frozen) and keys.size:
            names = self.names
            frozen = content.frozen
            if frozen is not None and frozen[0] == self.frozen.generation:
                numbers = frozen[1]
            else:
                numbers = self.frozen.lookup(keys).tolist()
            for number in set(numbers):
                name = names[number]
                if name is not None:
                    found.add(name)
        return found

    def insert(self, key: str, content: _Content) -> None:
        self._band_keys(content)
        bands = content.band_list or []
        self.number[key] = len(self.names)
        self.names.append(key)
        self.alive.append(1)
        self.keys[key] = bands
        table = self.table
        probed = content.probed
        if probed is not None and probed[0] == self.epoch:  # the usual path: matches(), then add()
            hits = probed[1]
            if hits is None:  # no band was taken
                for band in bands:  # a loop of assignments: cheaper than update() with a dict made for it
                    table[band] = key
                taken = []
            else:
                for band, hit in zip(bands, hits, strict=True):
                    if hit is None:
                        table[band] = key
                taken = [b for b, hit in zip(bands, hits, strict=True) if hit is not None]
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
        if len(self.keys) >= MIN_MERGE:
            self.merge()

    def load(self, keys: Sequence[str], body: Sequence[bytes], lead: Sequence[bytes]) -> None:
        """Index many stories at once, straight into a frozen run: their (distinct) keys and their body
        and lead signatures as stored (``uint32`` bytes; empty: nothing to index), each column's
        signatures read from one buffer, their band keys written into one array."""
        first = len(self.names)
        self.number.update(zip(keys, range(first, first + len(keys)), strict=True))
        self.names += keys
        self.alive += b"\x01" * len(keys)
        self.epoch += 1
        signed: list[tuple[bytes, U32, tuple[int, int], U64]] = []
        for column, shape, salts in zip((body, lead), self.shapes, self.salts, strict=True):
            if not shape[0]:
                continue
            if all(column):  # the usual case: every story signed
                raw, numbers = b"".join(column), np.arange(first, first + len(column), dtype=np.uint32)
            else:
                have = [i for i, sig in enumerate(column) if sig]
                raw = b"".join([column[i] for i in have])
                numbers = np.array(have, dtype=np.uint32) + np.uint32(first)
            if numbers.size:
                signed.append((raw, numbers, shape, salts))
        if not signed:
            return
        total = sum(numbers.size * shape[0] for _, numbers, shape, _ in signed)
        band_keys = np.empty(total, dtype=np.uint64)
        at = 0
        for raw, numbers, shape, salts in signed:
            end = at + numbers.size * shape[0]
            sigs = np.frombuffer(raw, dtype=np.uint32).reshape(numbers.size, -1)
            self._keys(sigs, shape, salts, out=band_keys[at:end].reshape(numbers.size, shape[0]))
            at = end
        bands = {shape[0] for _, _, shape, _ in signed}
        if len(bands) == 1:  # story by story, as many bands each (body and lead alike by default)
            ids: U32 | Stories = Stories(np.concatenate([n for _, n, _, _ in signed]), bands.pop())
        else:
            ids = np.concatenate([np.repeat(n, shape[0]) for _, n, shape, _ in signed])
        self._freeze(band_keys, ids)

    def merge(self) -> None:
        """File the recent stories' band keys as a frozen run."""
        recent = self.keys
        if not recent:
            return
        lengths = [len(bands) for bands in recent.values()]
        keys = np.fromiter(chain.from_iterable(recent.values()), dtype=np.uint64, count=sum(lengths))
        numbers = np.fromiter(map(self.number.__getitem__, recent), dtype=np.uint32, count=len(recent))
        self.table, self.keys = {}, {}
        self._freeze(keys, np.repeat(numbers, lengths))

    def _freeze(self, keys: U64, ids: U32 | Stories) -> None:
        alive = np.frombuffer(self.alive, dtype=np.bool_) if self.removed else None
        self.frozen.add(keys, ids, alive)
        if self.removed * 4 > len(self.names):  # renumber: drop the removed stories' numbers
            assert alive is not None
            live = np.flatnonzero(alive)
            renumber = np.zeros(len(self.names), dtype=np.uint32)
            renumber[live] = np.arange(live.size, dtype=np.uint32)
            self.frozen.renumber(alive, renumber)
            self.names = [self.names[i] for i in live.tolist()]
            self.number = {name: i for i, name in enumerate(self.names) if name is not None}
            self.alive = bytearray(b"\x01" * len(self.names))
            self.removed = 0

    def remove(self, key: str) -> None:
        number = self.number.pop(key, None)
        if number is None:
            return
        self.epoch += 1
        self.names[number] = None
        self.alive[number] = 0
        self.removed += 1
        for band in self.keys.pop(key, ()):
            hit = self.table.get(band)
            if hit == key:
                del self.table[band]
            elif isinstance(hit, list) and key in hit:
                hit.remove(key)
                if len(hit) == 1:
                    self.table[band] = hit[0]

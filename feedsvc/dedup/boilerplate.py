"""Boilerplate counts: in how many unrelated stories each shingle was seen (decaying sketch, exact batch)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from functools import reduce
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.shingles import U32

Cells = npt.NDArray[np.intp]
HALF_LIFE = 4096  # new clusters after which the boilerplate counts halve


class ShingleCounts(Protocol):
    """How many unrelated stories each shingle was seen in (boilerplate when at or above the df)."""

    version: int  # changes whenever the counts do

    def add(self, shingles: U32) -> None: ...

    def frequency(self, shingles: U32) -> npt.NDArray[Any]: ...

    def to_bytes(self) -> bytes: ...


class BoilerplateCounter:
    """Count-min sketch (conservative update, uint8 cells) of how many new clusters each shingle has
    appeared in; every ``half_life`` additions all counts halve, so old text fades and the sketch never
    fills up however long the service runs (one shingle seen in 5 of the last few thousand clusters
    stays boilerplate)."""

    _MAGIC = b"BPC2"
    _HEADER = struct.Struct("<4sBBHIQ")  # magic, width bits, depth, reserved, half-life, additions

    def __init__(
        self, width_bits: int = 22, depth: int = 2, half_life: int = HALF_LIFE, data: bytes | None = None
    ) -> None:
        self.width_bits, self.depth, self.half_life, self.added = width_bits, depth, half_life, 0
        self.counts = np.zeros((depth, 1 << width_bits), dtype=np.uint8)
        if data is not None and len(data) >= self._HEADER.size:
            magic, bits, rows, _, life, added = self._HEADER.unpack_from(data)
            body = data[self._HEADER.size :]
            if magic == self._MAGIC and len(body) == rows << bits:
                self.width_bits, self.depth, self.half_life, self.added = bits, rows, life, added
                self.counts = np.frombuffer(body, dtype=np.uint8).reshape(rows, 1 << bits).copy()
        self._mask = np.uint32((1 << self.width_bits) - 1)
        self._shift = np.uint32(32 - self.width_bits)
        self._mults = [
            np.uint32((0x9E3779B1 + 0x7F4A7C16 * i) & 0xFFFFFFFF | 1) for i in range(1, self.depth)
        ]
        self.version = 0
        self._memo: tuple[U32, int, list[Cells], list[npt.NDArray[np.uint8]]] | None = None

    def _cells(self, shingles: U32) -> list[Cells]:
        # Shingle hashes are already uniform: the first row takes their low bits, the others the high
        # bits of a multiplicative rehash (cheap, and independent enough for a count-min sketch). As
        # intp: numpy indexes with it directly (other integer types are converted on every use).
        cells = [shingles & self._mask] + [(shingles * m) >> self._shift for m in self._mults]
        return [c.astype(np.intp) for c in cells]

    def _rows(self, shingles: U32) -> tuple[list[Cells], list[npt.NDArray[np.uint8]]]:
        """Each row's cells for ``shingles`` and their counts; ``add`` right after ``frequency`` of the same
        array (the service's path: match, then add) reuses what ``frequency`` read."""
        memo = self._memo
        if memo is not None and memo[0] is shingles and memo[1] == self.version:
            return memo[2], memo[3]
        cells = self._cells(shingles)
        rows = [self.counts[i][c] for i, c in enumerate(cells)]
        self._memo = (shingles, self.version, cells, rows)
        return cells, rows

    def add(self, shingles: U32) -> None:
        if shingles.size:
            cells, rows = self._rows(shingles)
            new = reduce(np.minimum, rows)
            np.minimum(new, 254, out=new)
            new += 1  # conservative update: raise only the cells at the estimate, and cap at 255
            for i, c in enumerate(cells):
                self.counts[i][c] = np.maximum(rows[i], new)
        self.version += 1
        self._memo = None
        self.added += 1
        if self.half_life and self.added % self.half_life == 0:
            self.counts >>= 1

    def frequency(self, shingles: U32) -> npt.NDArray[np.uint8]:
        if shingles.size == 0:
            return np.zeros(0, dtype=np.uint8)
        result: npt.NDArray[np.uint8] = reduce(np.minimum, self._rows(shingles)[1])
        return result

    def to_bytes(self) -> bytes:
        header = self._HEADER.pack(self._MAGIC, self.width_bits, self.depth, 0, self.half_life, self.added)
        return header + self.counts.tobytes()


class ExactCounts:
    """Exact shingle counts of a finished batch (``cluster_texts``): no sketch error, no decay."""

    def __init__(self, groups: Iterable[U32]) -> None:
        parts = [np.unique(g) for g in groups]
        merged = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint32)
        self.keys, counts = np.unique(merged, return_counts=True)
        self.counts = counts.astype(np.int64)
        self.version = 0

    def add(self, shingles: U32) -> None:  # a batch is counted once, up front
        self.version += 1

    def frequency(self, shingles: U32) -> npt.NDArray[np.int64]:
        if self.keys.size == 0 or shingles.size == 0:
            return np.zeros(shingles.shape, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, shingles), self.keys.size - 1)
        return np.where(self.keys[at] == shingles, self.counts[at], 0)

    def to_bytes(self) -> bytes:
        return self.keys.tobytes() + self.counts.astype(np.uint32).tobytes()

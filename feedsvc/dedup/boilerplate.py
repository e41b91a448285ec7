"""Boilerplate counts: in how many unrelated stories each shingle was seen (decaying sketch, exact batch)."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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

    def frequencies(self, arrays: Sequence[U32]) -> npt.NDArray[Any]:
        """``frequency`` of the arrays concatenated (a page's stories, each asked about again later)."""
        ...

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
        self._rows = list(self.counts)  # each row's view (made once: the counts change only in place)
        self._mask = np.uint32((1 << self.width_bits) - 1)
        self._shift = np.uint32(32 - self.width_bits)
        self._mults = [
            np.uint32((0x9E3779B1 + 0x7F4A7C16 * i) & 0xFFFFFFFF | 1) for i in range(1, self.depth)
        ]
        self.version = 0
        self._memo: _Read | None = None  # what the last frequency() read: add() of the same array reuses it
        # What frequencies() read last, and where each of its arrays lies in it (by id).
        self._page: tuple[_Read, dict[int, tuple[U32, int, int]]] | None = None

    def _cells(self, shingles: U32) -> list[Cells]:
        # Shingle hashes are already uniform: the first row takes their low bits, the others the high
        # bits of a multiplicative rehash (cheap, and independent enough for a count-min sketch). As
        # intp: numpy indexes with it directly (other integer types are converted on every use).
        cells = [shingles & self._mask] + [(shingles * m) >> self._shift for m in self._mults]
        return [c.astype(np.intp) for c in cells]

    def _read(self, shingles: U32) -> _Read:
        """Each row's cells for ``shingles``, their counts and the estimate, as they are now. ``add`` right
        after ``frequency`` of the same array (the service's path: match, then add) reuses what
        ``frequency`` read; an array of the last ``frequencies`` keeps its cells, and its counts until
        they change."""
        memo = self._memo
        if memo is not None and memo.shingles is shingles and memo.version == self.version:
            return memo
        page = self._page
        part = page[1].get(id(shingles)) if page is not None else None
        if page is None or part is None or part[0] is not shingles:
            read = self._gather(shingles, self._cells(shingles))
        else:
            whole, lo, hi = page[0], part[1], part[2]
            cells = [c[lo:hi] for c in whole.cells]
            if whole.version == self.version:
                read = _Read(shingles, cells, whole.version, [r[lo:hi] for r in whole.rows], whole.df[lo:hi])
            else:
                read = self._gather(shingles, cells)
        self._memo = read
        return read

    def _gather(self, shingles: U32, cells: list[Cells]) -> _Read:
        rows = [row[c] for row, c in zip(self._rows, cells, strict=True)]
        return _Read(shingles, cells, self.version, rows, reduce(np.minimum, rows))

    def add(self, shingles: U32) -> None:
        if shingles.size:
            read = self._read(shingles)
            new = _RAISED.take(read.df)  # conservative update: raise only the cells at the estimate
            for row, c, counts in zip(self._rows, read.cells, read.rows, strict=True):
                row[c] = np.maximum(counts, new)
        self.version += 1
        self._memo = None
        self.added += 1
        if self.half_life and self.added % self.half_life == 0:
            self.counts >>= 1

    def frequency(self, shingles: U32) -> npt.NDArray[np.uint8]:
        if shingles.size == 0:
            return np.zeros(0, dtype=np.uint8)
        return self._read(shingles).df

    def frequencies(self, arrays: Sequence[U32]) -> npt.NDArray[np.uint8]:
        """``frequency`` of the arrays concatenated, in one look-up; a later ``frequency`` or ``add`` of one
        of them (until the next call) reuses its cells, and its counts while they hold."""
        whole = np.concatenate(arrays) if arrays else _EMPTY
        read = self._gather(whole, self._cells(whole))
        parts = {}
        lo = 0
        for shingles in arrays:
            parts[id(shingles)] = (shingles, lo, lo + shingles.size)
            lo += shingles.size
        self._page = (read, parts)  # one assignment: a reader sees both of one call
        return read.df

    def to_bytes(self) -> bytes:
        header = self._HEADER.pack(self._MAGIC, self.width_bits, self.depth, 0, self.half_life, self.added)
        return header + self.counts.tobytes()


@dataclass(slots=True)  # not frozen: made for nearly every look-up, and a frozen one takes 3x as long
class _Read:
    """What a look-up read of one shingle array: each row's cells and counts, and their minimum."""

    shingles: U32  # kept: its id names it only while it lives
    cells: list[Cells]
    version: int  # the counts' version they were read at
    rows: list[npt.NDArray[np.uint8]]
    df: npt.NDArray[np.uint8]


_EMPTY = np.empty(0, dtype=np.uint32)
_RAISED = np.minimum(np.arange(256), 254).astype(np.uint8) + np.uint8(1)  # count -> count + 1, capped at 255


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

    def frequencies(self, arrays: Sequence[U32]) -> npt.NDArray[np.int64]:
        return self.frequency(np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32))

    def to_bytes(self) -> bytes:
        return self.keys.tobytes() + self.counts.astype(np.uint32).tobytes()

"""The frozen tier of the LSH index: runs of band keys in one buffer, merged logarithmically.

Each run is a stretch of (band key, story number) entries grouped by the keys' top bits, with its own
directory of where each group starts (4-8 keys a group). Runs lie oldest (largest) first in one keys
buffer and one numbers buffer, so a look-up reads each probe's group in every run in one pass of numpy
calls. A run holds under 2**32 entries (about 100M stories). A new run goes
at the end; runs merge while the one before is less than twice the size of what comes after it (a
binary counter), so only the tail of the buffers is ever rewritten, each entry is copied about
log2(entries / first run) times in all, and at most that many runs exist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.shingles import U32, U64

_EMPTY_IDS: U32 = np.empty(0, dtype=np.uint32)
_EMPTY_AT = np.empty(0, dtype=np.intp)
_EDGES = np.array([0, 1], dtype=np.intp)  # a directory slot and the next: where its group starts and ends


class _Buffer:
    """A 1-D array grown in place (``ndarray.resize``: realloc, no copy of a large block) and rewritten
    at its tail. Nothing keeps a view of ``data``: a resize may move it."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.data: npt.NDArray[Any] = np.empty(0, dtype=dtype)
        self.size = 0

    def put(self, at: int, parts: Sequence[npt.NDArray[Any]]) -> None:
        """Overwrite from ``at`` on with ``parts`` (fresh arrays, not views of ``data``) and end there."""
        self._grow(at + sum(int(p.size) for p in parts))
        for part in parts:
            self.data[at : at + part.size] = part
            at += part.size
        self.size = at

    def take(self, at: int, source: npt.NDArray[Any], order: npt.NDArray[np.intp]) -> None:
        """Overwrite from ``at`` on with ``source[order]`` (``source`` not a view of ``data``; every
        position in ``order`` within it) and end there: gathered in place, no array in between."""
        need = at + int(order.size)
        self._grow(need)
        np.take(source, order, out=self.data[at:need], mode="clip")  # "raise" would copy via a buffer
        self.size = need

    def _grow(self, need: int) -> None:
        if need > self.data.size:
            self.data.resize(max(need, self.data.size + self.data.size // 4, 4096), refcheck=False)


@dataclass(frozen=True, slots=True)
class Stories:
    """The story numbers of entries laid out story by story, ``bands`` entries each: entry ``e`` is
    story ``numbers[e // bands]`` (a bulk load's; computed for a run's order, not gathered)."""

    numbers: U32
    bands: int

    def of(self, at: npt.NDArray[np.intp]) -> U32:
        """The story numbers of entries ``at`` (``at`` is overwritten)."""
        at //= self.bands
        out: U32 = self.numbers[at]
        return out


@dataclass(frozen=True, slots=True)
class _Run:
    lo: int  # first entry in the keys and numbers buffers
    size: int
    dir_lo: int  # first slot of its directory in the directory buffer
    bits: int  # directory slots: 1 << bits (+ 1 for the end)


class Runs:
    """Runs of (60-bit band key, story number), looked up together."""

    def __init__(self) -> None:
        self.keys = _Buffer(np.uint64)
        self.ids = _Buffer(np.uint32)
        self.dirs = _Buffer(np.uint32)  # each run's directory: offsets into the run
        self.runs: list[_Run] = []
        self.generation = 0  # changes whenever the runs do: a look-up's answer holds until then
        self._layout()

    def __len__(self) -> int:
        return self.keys.size

    def _layout(self) -> None:
        """The per-run arrays a look-up broadcasts over."""
        runs = self.runs
        self.shifts = np.array([60 - r.bits for r in runs], dtype=np.uint64)[:, None]
        self.dir_lo = np.array([r.dir_lo for r in runs], dtype=np.intp)[:, None]
        self.run_lo = np.array([r.lo for r in runs], dtype=np.intp)[:, None]

    def lookup(self, probe: U64) -> U32:
        """Story numbers filed under any of the band keys ``probe``, in any run (a number may repeat)."""
        return self.lookup_by(probe)[0]

    def lookup_by(self, probe: U64) -> tuple[U32, npt.NDArray[np.intp]]:
        """``lookup``, and for each number found, the position in ``probe`` of the key it was found by."""
        if not self.runs or not probe.size:
            return _EMPTY_IDS, _EMPTY_AT
        slot = (probe >> self.shifts).astype(np.intp)  # (runs, probes)
        slot += self.dir_lo
        bounds = self.dirs.data[slot[..., None] + _EDGES].astype(np.intp)  # each probe's group, each run
        counts = (bounds[..., 1] - bounds[..., 0]).ravel()
        ends = np.cumsum(counts)
        total = int(ends[-1])
        if not total:
            return _EMPTY_IDS, _EMPTY_AT
        # Every key of those groups, group after group: position = its group's first + its rank there.
        ends -= counts
        ends -= (bounds[..., 0] + self.run_lo).ravel()
        at = np.arange(total, dtype=np.intp)
        at -= np.repeat(ends, counts)
        by = np.repeat(np.tile(np.arange(probe.size, dtype=np.intp), len(self.runs)), counts)
        hit = self.keys.data[at] == probe[by]
        ids: U32 = self.ids.data[at[hit]]
        return ids, by[hit]

    def add(self, keys: U64, ids: U32 | Stories, alive: npt.NDArray[np.bool_] | None = None) -> None:
        """File a batch of entries as a new run, then merge the tail while it breaks the size rule. Entries
        of the merged runs whose story number ``alive`` marks False are dropped on the way."""
        if not keys.size:
            return
        runs = self.runs
        total = int(keys.size)
        cut = len(runs)
        while cut and runs[cut - 1].size < 2 * total:
            cut -= 1
            total += runs[cut].size
        if cut < len(runs):
            lo = runs[cut].lo
            old_keys = self.keys.data[lo : self.keys.size]
            old_ids = self.ids.data[lo : self.ids.size]
            if alive is not None:
                live = alive[old_ids]
                old_keys, old_ids = old_keys[live], old_ids[live]
            if isinstance(ids, Stories):
                ids = np.repeat(ids.numbers, ids.bands)
            keys = np.concatenate((old_keys, keys))
            ids = np.concatenate((old_ids, ids))
            del old_keys, old_ids
        self._write(cut, keys, ids)

    def renumber(self, alive: npt.NDArray[np.bool_], number: U32) -> None:
        """Drop the entries of dead stories and give the others their new numbers (``number[old]``),
        as one run."""
        ids = self.ids.data[: self.ids.size]
        live = alive[ids]
        keys, ids = self.keys.data[: self.keys.size][live], number[ids[live]]  # copies, not views
        self._write(0, keys, ids)

    def _write(self, cut: int, keys: U64, ids: U32 | Stories) -> None:
        """Replace runs ``cut`` onwards with one run of ``keys`` and their ``ids`` (fresh arrays), grouped
        by directory slot: a group is read whole, so its keys need no order, and grouping is one sort of
        (slot, position) pairs packed into 64 bits (numpy sorts plain integers much faster than it
        argsorts)."""
        del self.runs[cut:]
        self.generation += 1
        lo = self.runs[-1].lo + self.runs[-1].size if self.runs else 0
        dir_lo = self.runs[-1].dir_lo + (1 << self.runs[-1].bits) + 1 if self.runs else 0
        if keys.size:
            bits = max(1, int(keys.size // 8).bit_length())  # about 4-8 keys per directory slot
            slots = keys >> np.uint64(60 - bits)
            counts = np.bincount(slots.view(np.intp), minlength=1 << bits)  # under 2**63: same numbers
            slots <<= np.uint64(32)
            slots |= np.arange(keys.size, dtype=np.uint64)
            slots.sort()
            slots &= np.uint64(0xFFFFFFFF)
            order = slots.view(np.intp)  # the positions, in slot order
            directory = np.zeros((1 << bits) + 1, dtype=np.uint32)
            np.cumsum(counts, out=directory[1:])
            self.runs.append(_Run(lo, int(keys.size), dir_lo, bits))
            self.dirs.put(dir_lo, [directory])
            self.keys.take(lo, keys, order)
            if isinstance(ids, Stories):  # a load's: arithmetic on the order, no gather over the entries
                self.ids.put(lo, [ids.of(order)])
            else:
                self.ids.take(lo, ids, order)
        else:
            self.dirs.put(dir_lo, [])
            self.keys.put(lo, [])
            self.ids.put(lo, [])
        self._layout()

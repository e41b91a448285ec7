"""The frozen tier of the LSH index: sorted runs of band keys in one buffer, merged logarithmically.

Each run is a sorted stretch of (band key, story number) entries with its own directory of where each
group of keys sharing their top bits starts. Runs lie oldest (largest) first in one keys buffer and one
numbers buffer, so a look-up reads every run's window in a single pass of numpy calls. A new run goes
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

WINDOW = 16  # keys compared per look-up in each run (a longer group of keys: a slower exact path)

_EMPTY_IDS: U32 = np.empty(0, dtype=np.uint32)


class _Buffer:
    """A 1-D array grown in place (``ndarray.resize``: realloc, no copy of a large block) and rewritten
    at its tail. Nothing keeps a view of ``data``: a resize may move it."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.data: npt.NDArray[Any] = np.empty(0, dtype=dtype)
        self.size = 0

    def put(self, at: int, parts: Sequence[npt.NDArray[Any]]) -> None:
        """Overwrite from ``at`` on with ``parts`` (fresh arrays, not views of ``data``) and end there."""
        need = at + sum(int(p.size) for p in parts)
        if need > self.data.size:
            self.data.resize(max(need, self.data.size + self.data.size // 4, 4096), refcheck=False)
        for part in parts:
            self.data[at : at + part.size] = part
            at += part.size
        self.size = at


@dataclass(frozen=True, slots=True)
class _Run:
    lo: int  # first entry in the keys and numbers buffers
    size: int
    dir_lo: int  # first slot of its directory in the directory buffer
    bits: int  # directory slots: 1 << bits (+ 1 for the end)
    longest: int  # most keys in one directory slot


class Runs:
    """Sorted runs of (60-bit band key, story number), looked up together."""

    def __init__(self) -> None:
        self.keys = _Buffer(np.uint64)
        self.ids = _Buffer(np.uint32)
        self.dirs = _Buffer(np.uint32)  # each run's directory: offsets into the run
        self.runs: list[_Run] = []
        self._layout()

    def __len__(self) -> int:
        return self.keys.size

    def _layout(self) -> None:
        """The per-run arrays a look-up broadcasts over."""
        runs = self.runs
        self.shifts = np.array([60 - r.bits for r in runs], dtype=np.uint64)[:, None]
        self.dir_lo = np.array([r.dir_lo for r in runs], dtype=np.intp)[:, None]
        self.run_lo = np.array([r.lo for r in runs], dtype=np.intp)[:, None]
        self.longest = max((r.longest for r in runs), default=0)
        self.steps = np.arange(min(WINDOW, max(self.longest, 1)), dtype=np.intp)

    def lookup(self, probe: U64) -> U32:
        """Story numbers filed under any of the band keys ``probe``, in any run (a number may repeat)."""
        if not self.runs or not probe.size:
            return _EMPTY_IDS
        keys = self.keys.data
        slot = (probe >> self.shifts).astype(np.intp)  # (runs, probes)
        slot += self.dir_lo
        first = self.dirs.data[slot] + self.run_lo
        at = first[..., None] + self.steps
        # Past a run's end the window reads the next run's keys (or the last key): equal keys there are
        # real entries too, found again by that run's own window, so reading on is harmless.
        np.minimum(at, self.keys.size - 1, out=at)
        ids: U32 = self.ids.data[at[keys[at] == probe[:, None]]]
        if self.longest <= self.steps.size:
            return ids
        ends = self.dirs.data[slot + 1] + self.run_lo
        extra = [ids]
        long_rows, long_cols = np.nonzero(ends - first > self.steps.size)  # groups longer than the window
        for r, p in zip(long_rows.tolist(), long_cols.tolist(), strict=True):
            lo, hi = int(first[r, p]) + self.steps.size, int(ends[r, p])
            extra.append(self.ids.data[lo:hi][keys[lo:hi] == probe[p]])
        return np.concatenate(extra)

    def add(self, keys: U64, ids: U32, alive: npt.NDArray[np.bool_] | None = None) -> None:
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
        if cut == len(runs):  # nothing to merge with
            order = np.argsort(keys, kind="stable")
            self._write(cut, keys[order], ids[order])
            return
        lo = runs[cut].lo
        old_keys = self.keys.data[lo : self.keys.size]
        old_ids = self.ids.data[lo : self.ids.size]
        if alive is not None:
            live = alive[old_ids]
            old_keys, old_ids = old_keys[live], old_ids[live]
        all_keys = np.concatenate((old_keys, keys))
        all_ids = np.concatenate((old_ids, ids))
        del old_keys, old_ids
        order = np.argsort(all_keys, kind="stable")  # timsort: sorted runs merge in linear passes
        self._write(cut, all_keys[order], all_ids[order])

    def renumber(self, alive: npt.NDArray[np.bool_], number: U32) -> None:
        """Drop the entries of dead stories and give the others their new numbers (``number[old]``),
        as one run."""
        keys = self.keys.data[: self.keys.size]
        ids = self.ids.data[: self.ids.size]
        live = alive[ids]
        keys, ids = keys[live], number[ids[live]]
        order = np.argsort(keys, kind="stable")
        self._write(0, keys[order], ids[order])

    def _write(self, cut: int, keys: U64, ids: U32) -> None:
        """Replace runs ``cut`` onwards with one run of sorted ``keys`` and their ``ids``."""
        del self.runs[cut:]
        lo = self.runs[-1].lo + self.runs[-1].size if self.runs else 0
        dir_lo = self.runs[-1].dir_lo + (1 << self.runs[-1].bits) + 1 if self.runs else 0
        if keys.size:
            bits = max(1, int(keys.size // 8).bit_length())  # about 4-8 keys per directory slot
            counts = np.bincount((keys >> np.uint64(60 - bits)).astype(np.intp), minlength=1 << bits)
            directory = np.zeros((1 << bits) + 1, dtype=np.uint32)
            np.cumsum(counts, out=directory[1:])
            self.runs.append(_Run(lo, int(keys.size), dir_lo, bits, int(counts.max())))
            self.dirs.put(dir_lo, [directory])
        else:
            self.dirs.put(dir_lo, [])
        self.keys.put(lo, [keys])
        self.ids.put(lo, [ids])
        self._layout()

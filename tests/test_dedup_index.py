"""feedsvc.dedup's LSH index: the frozen runs and the whole index against brute-force references."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import numpy as np
import pytest

from feedsvc.dedup import band_params
from feedsvc.dedup import index as dedup_index
from feedsvc.dedup.fingerprint import _Content
from feedsvc.dedup.index import _MemoryIndex
from feedsvc.dedup.runs import Runs

EMPTY = np.empty(0, dtype=np.uint32)


def check_shape(runs: Runs) -> None:
    """Each run at least twice the size of the next (so at most log2 of the entries of them), together
    covering the buffers; each grouped by directory slot, with a directory that points at its groups."""
    sizes = [run.size for run in runs.runs]
    assert all(a >= 2 * b for a, b in pairwise(sizes))
    assert len(sizes) <= math.log2(max(len(runs), 1)) + 1
    assert sum(sizes) == len(runs) == runs.ids.size
    for run in runs.runs:
        keys = runs.keys.data[run.lo : run.lo + run.size]
        directory = runs.dirs.data[run.dir_lo : run.dir_lo + (1 << run.bits) + 1]
        assert directory[-1] == run.size
        slots = (keys >> np.uint64(60 - run.bits)).astype(np.intp)
        assert np.all(slots[1:] >= slots[:-1])
        assert np.all(directory[slots] <= np.arange(run.size))
        assert np.all(directory[slots + 1] > np.arange(run.size))


@pytest.mark.parametrize("seed", range(6))
def test_runs_find_what_a_dict_finds(seed: int) -> None:
    """Batches of entries filed, merged, thinned by removals and renumbered: every look-up finds exactly
    the live story numbers a plain dict of the same entries holds."""
    rng = np.random.default_rng(seed)
    runs = Runs()
    reference: dict[int, set[int]] = {}
    alive: list[bool] = []
    # Few distinct keys, some of them hot: many stories share a key (long groups in a directory slot).
    pool = rng.integers(0, 1 << 60, size=400, dtype=np.uint64)
    for step in range(40):
        size = int(rng.integers(1, 300))
        keys = pool[np.minimum(rng.geometric(0.02, size), pool.size - 1)]
        first = len(alive)
        ids = (first + rng.integers(0, max(1, size // 3), size)).astype(np.uint32)
        alive += [True] * (int(ids.max()) + 1 - first)
        for key, number in zip(keys.tolist(), ids.tolist(), strict=True):
            reference.setdefault(key, set()).add(number)
        for number in rng.integers(0, max(first, 1), size // 4 if first else 0).tolist():  # tombstones
            alive[number] = False
        mask = np.array(alive, dtype=np.bool_)
        runs.add(keys, ids, mask if step % 3 else None)
        if step % 3:  # the merged run kept no dead story's entries
            last = runs.runs[-1]
            assert mask[runs.ids.data[last.lo : last.lo + last.size]].all()
        if step % 13 == 12:  # renumber: dead numbers dropped, the rest packed
            live = np.flatnonzero(mask)
            renumber = np.zeros(mask.size, dtype=np.uint32)
            renumber[live] = np.arange(live.size, dtype=np.uint32)
            runs.renumber(mask, renumber)
            reference = {
                key: {int(renumber[n]) for n in numbers if alive[n]} for key, numbers in reference.items()
            }
            alive = [True] * live.size
        check_shape(runs)
        probe = np.concatenate((pool[rng.integers(0, pool.size, 42)], rng.integers(0, 1 << 60, 5, np.uint64)))
        found = {n for n in runs.lookup(probe).tolist() if alive[n]}
        expected = set().union(*(reference.get(key, set()) for key in probe.tolist()))
        assert found == {n for n in expected if alive[n]}
    assert len(runs.runs) > 1


def signature(rng: random.Random, lo: int = 0, hi: int = 2) -> np.ndarray:
    """A 64-value signature from a tiny alphabet: bands (3 values) often agree between stories."""
    return np.array([rng.randint(lo, hi) for _ in range(64)], dtype=np.uint32)


def brute_force(stories: dict[str, tuple[np.ndarray | None, np.ndarray | None]], probe: _Content) -> set[str]:
    """Stories sharing a band with ``probe``: the same rows of one band of the same signature kind."""
    bands, rows = band_params(0.3, 64)
    found = set()
    for key, sigs in stories.items():
        for mine, theirs in zip((probe.body_sig, probe.lead_sig), sigs, strict=True):
            if mine is None or theirs is None:
                continue
            same = (mine[: bands * rows] == theirs[: bands * rows]).reshape(bands, rows).all(axis=1)
            if same.any():
                found.add(key)
    return found


def as_stored(sig: np.ndarray | None) -> bytes:
    return b"" if sig is None else sig.tobytes()


def content(body: np.ndarray | None, lead: np.ndarray | None) -> _Content:
    return _Content(EMPTY, EMPTY, EMPTY, body, lead)


@pytest.mark.parametrize("seed", range(3))
def test_index_finds_the_brute_force_candidates(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inserts (filed as frozen runs every few stories, then merged), removals, re-inserts, a renumbering
    and a restore by ``load``: every query gives the brute-force candidates of the stories indexed."""
    monkeypatch.setattr(dedup_index, "MIN_MERGE", 5)
    rng = random.Random(seed)
    shape = band_params(0.3, 64)
    live = _MemoryIndex(shape, shape)
    stories: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}

    def random_story() -> tuple[np.ndarray | None, np.ndarray | None]:
        kind = rng.random()
        body = signature(rng) if kind > 0.1 else None
        return body, signature(rng) if kind < 0.9 else None

    inserted = 0
    for i in range(160):
        key = f"s{i}"
        sigs = random_story()
        probe = content(*sigs)
        assert live.query(probe) == brute_force(stories, probe)
        live.insert(key, probe)  # after its query, as matches() then add() do
        stories[key] = sigs
        inserted += 1
        if i % 2:  # removals leave tombstones in the frozen runs; some keys come back
            gone = rng.choice(sorted(stories))
            live.remove(gone)
            del stories[gone]
            if rng.random() < 0.5:
                stories[gone] = random_story()
                live.insert(gone, content(*stories[gone]))
                inserted += 1
    assert len(live.names) < inserted  # renumbered: the removed stories' numbers dropped
    assert len(live.frozen.runs) > 1
    restored = _MemoryIndex(shape, shape)
    keys = list(stories)
    for part in (keys[: len(keys) // 2], keys[len(keys) // 2 :]):  # the second merges with the first's run
        sigs = [stories[key] for key in part]
        restored.load(part, [as_stored(body) for body, _ in sigs], [as_stored(lead) for _, lead in sigs])
    assert len(restored.frozen.runs) == 1
    for index in (live, restored):
        for _ in range(60):
            probe = content(*random_story())
            assert index.query(probe) == brute_force(stories, probe)
        for key, sigs in stories.items():
            assert key in index.query(content(*sigs))


@pytest.mark.parametrize("hi", [2, 3, 50])
def test_recent_stories_indexed_after_their_query_as_without_it(hi: int) -> None:
    """A query that finds no recent story answers in one call, and insert() then files its bands without
    looking at them again; one that finds some keeps what each band held: the recent-story table, and
    every query's answer, are those of an index filed without queries (band by band). Tiny alphabets, so
    stories share some bands and not others; removals take stories out of shared bands."""
    rng = random.Random(hi)
    shape = band_params(0.3, 64)
    queried, plain = _MemoryIndex(shape, shape), _MemoryIndex(shape, shape)
    stories: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}
    shared = missed = 0
    for i in range(300):
        sigs = (signature(rng, hi=hi), signature(rng, hi=hi) if i % 4 else None)
        probe = content(*sigs)
        found = queried.query(probe)
        assert found == brute_force(stories, probe) == plain.query(content(*sigs))
        shared, missed = shared + bool(found), missed + (not found)
        queried.insert(f"s{i}", probe)  # after its query, as matches() then add() do
        plain.insert(f"s{i}", content(*sigs))  # not queried: every band looked at
        stories[f"s{i}"] = sigs
        if i % 7 == 3:
            gone = rng.choice(sorted(stories))
            del stories[gone]
            queried.remove(gone)
            plain.remove(gone)
        assert queried.table == plain.table
    assert not queried.frozen.runs and shared and missed  # the recent tier alone; both kinds of query


def test_lookup_by_says_which_probe_found_each_number() -> None:
    rng = np.random.default_rng(5)
    runs = Runs()
    reference: dict[int, set[int]] = {}
    pool = rng.integers(0, 1 << 60, size=300, dtype=np.uint64)
    for step in range(12):
        keys = pool[rng.integers(0, pool.size, 200)]
        ids = rng.integers(0, 5000, keys.size).astype(np.uint32)
        for key, number in zip(keys.tolist(), ids.tolist(), strict=True):
            reference.setdefault(key, set()).add(number)
        runs.add(keys, ids)
        probe = np.concatenate(
            (pool[rng.integers(0, pool.size, 40)], rng.integers(0, 1 << 60, 5, dtype=np.uint64))
        )
        numbers, by = runs.lookup_by(probe)
        found: dict[int, set[int]] = {}
        for number, at in zip(numbers.tolist(), by.tolist(), strict=True):
            found.setdefault(at, set()).add(number)
        assert found == {i: reference[k] for i, k in enumerate(probe.tolist()) if k in reference}, step
        assert np.array_equal(np.sort(numbers), np.sort(runs.lookup(probe)))

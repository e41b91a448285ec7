"""Dedup speed on one core: per-story cost of feedsvc's path, datasketch references, scaling to 1M, memory."""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.corpus import Filler
from feedsvc.dedup import Deduper, tokens
from feedsvc.settings import DedupSettings


def pin_one_core() -> str:
    """Run on one core, as the targets are stated (and so numbers do not depend on the machine's load)."""
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


@dataclass(frozen=True)
class Rate:
    name: str
    stories: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.stories / self.seconds

    @property
    def micros(self) -> float:
        return self.seconds / self.stories * 1e6


def _timed(name: str, count: int, run: Callable[[], object]) -> Rate:
    gc.collect()
    started = time.perf_counter()
    run()
    return Rate(name, count, time.perf_counter() - started)


def throughput(stories: Sequence[tuple[str, str]], settings: DedupSettings) -> list[Rate]:
    """feedsvc's per-story path on ``stories`` (into a fresh index), step by step."""
    rates = []

    def pipeline() -> None:  # what the target counts: shingling, signature, LSH query, insert
        deduper = Deduper(settings)
        for i, (title, body) in enumerate(stories):
            fp = deduper.fingerprint(title, body)
            deduper.candidates(fp)
            deduper._insert(str(i), fp)

    def service() -> None:  # what ingest does per story: the above plus verification and boilerplate
        deduper = Deduper(settings)
        for i, (title, body) in enumerate(stories):
            fp = deduper.fingerprint(title, body)
            found = deduper.matches(fp)
            deduper.add(str(i), fp, count_boilerplate=not found)

    deduper = Deduper(settings)
    prints = [deduper.fingerprint(t, b) for t, b in stories[:200]]  # warm caches and tables
    rates.append(
        _timed("shingling only", len(stories), lambda: [deduper.fingerprint(t, b) for t, b in stories])
    )
    rates.append(_timed("shingling+signature+LSH query+insert", len(stories), pipeline))
    rates.append(_timed("  + verification + boilerplate (ingest path)", len(stories), service))
    del prints
    return rates


def datasketch_references(stories: Sequence[tuple[str, str]], num_perm: int) -> list[Rate]:
    """datasketch's own MinHash on the same stories' 5-word shingles (shingling not timed)."""
    from datasketch import MinHash, MinHashLSH

    shingled = []
    for _, body in stories:
        words = tokens(body)
        shingled.append([" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))])

    def per_shingle() -> None:
        for grams in shingled:
            m = MinHash(num_perm=num_perm)
            for gram in grams:
                m.update(gram)

    def batch() -> None:
        for grams in shingled:
            MinHash(num_perm=num_perm).update_batch(grams)

    def batch_lsh() -> None:
        lsh = MinHashLSH(threshold=0.5, num_perm=num_perm)
        for i, grams in enumerate(shingled):
            m = MinHash(num_perm=num_perm)
            m.update_batch(grams)
            lsh.query(m)
            lsh.insert(i, m)

    return [
        _timed("datasketch MinHash.update per shingle", len(shingled), per_shingle),
        _timed("datasketch MinHash.update_batch", len(shingled), batch),
        _timed("datasketch update_batch + MinHashLSH(0.5) query+insert", len(shingled), batch_lsh),
    ]


@dataclass(frozen=True)
class Point:
    indexed: int  # stories in the index when this point was measured
    fill_us: float  # mean per-story cost over the window of filler stories that ended here
    probe_us: float  # per-story cost of a batch of realistic stories into the index at this size
    rss: int  # resident set size at this point
    candidates: float  # mean LSH candidates per probe story besides itself (each costs a verification)


def scaling(
    settings: DedupSettings,
    checkpoints: Sequence[int],
    probes: Sequence[tuple[str, str]],
    words: int = 400,
    seed: int = 11,
    report: Callable[[Point], None] | None = None,
    base_rss: list[int] | None = None,
) -> tuple[list[Point], Deduper, int]:
    """Fill one index with synthetic stories up to each checkpoint (as the service ingests: match, then
    add) and time a batch of realistic probe stories there. Returns the points, the filled index and
    the RSS before it (also put in ``base_rss``, for ``report``)."""
    filler = Filler(seed)
    deduper = Deduper(settings)
    gc.collect()
    base = rss_bytes()
    if base_rss is not None:
        base_rss[:] = [base]
    points = []
    indexed = 0
    chunk = 5000
    for target in checkpoints:
        fill_time = 0.0
        start_count = indexed
        while indexed < target:
            texts = filler.texts(min(chunk, target - indexed), words)
            started = time.perf_counter()
            for text in texts:
                fp = deduper.fingerprint("", text)
                found = deduper.matches(fp)
                deduper.add(f"f{indexed}", fp, count_boilerplate=not found)
                indexed += 1
            fill_time += time.perf_counter() - started
        window = max(1, indexed - start_count)
        candidates = 0
        gc.collect()
        started = time.perf_counter()
        for i, (title, body) in enumerate(probes):
            fp = deduper.fingerprint(title, body)
            deduper.matches(fp)
            deduper.add(f"p{i}", fp, count_boilerplate=False)
        probe_time = time.perf_counter() - started
        for title, body in probes:  # untimed: count candidates, then take the probes out
            candidates += len(deduper.candidates(deduper.fingerprint(title, body))) - 1
        for i in range(len(probes)):
            deduper.remove(f"p{i}")
        point = Point(
            indexed,
            fill_time / window * 1e6,
            probe_time / len(probes) * 1e6,
            rss_bytes(),
            candidates / len(probes),
        )
        points.append(point)
        if report is not None:
            report(point)
    return points, deduper, base

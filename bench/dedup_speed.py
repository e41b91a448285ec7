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


def cpu_seconds() -> float:
    """This process's CPU time: what a story costs on one core, without the time spent waiting for the
    core while other programs run on a shared machine (wall time there measures the scheduler)."""
    return time.process_time()


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
    started = cpu_seconds()
    run()
    return Rate(name, count, cpu_seconds() - started)


PAGE = 12  # stories a listing page gives (10-15): what ingest prepares together


def ingest_pages(
    deduper: Deduper, stories: Sequence[tuple[str, str]], prefix: str, first: int, count: bool = True
) -> None:
    """What ``feedsvc.ingest`` does with pages of ``PAGE`` stories: fingerprint and prepare each page
    together, then decide its stories in turn (match, then add; a story that matched nothing counts its
    text for boilerplate unless ``count`` is False)."""
    for start in range(0, len(stories), PAGE):
        prints = deduper.fingerprints(stories[start : start + PAGE])
        deduper.warm(prints)
        for i, fp in enumerate(prints, first + start):
            found = deduper.matches(fp)
            deduper.add(f"{prefix}{i}", fp, count_boilerplate=count and not found)


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

    def pages() -> None:  # the same, a page at a time, as ingest decides: prepared together, decided in turn
        ingest_pages(Deduper(settings), stories, "", 0)

    deduper = Deduper(settings)
    prints = [deduper.fingerprint(t, b) for t, b in stories[:200]]  # warm caches and tables
    rates.append(
        _timed("shingling only", len(stories), lambda: [deduper.fingerprint(t, b) for t, b in stories])
    )
    rates.append(_timed("shingling+signature+LSH query+insert", len(stories), pipeline))
    rates.append(_timed("  + verification + boilerplate (ingest path)", len(stories), service))
    rates.append(_timed(f"ingest path, pages of {PAGE} stories prepared together", len(stories), pages))
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
            started = cpu_seconds()
            ingest_pages(deduper, [("", text) for text in texts], "f", indexed)
            indexed += len(texts)
            fill_time += cpu_seconds() - started
        window = max(1, indexed - start_count)
        candidates = 0
        gc.collect()
        started = cpu_seconds()
        ingest_pages(deduper, probes, "p", 0, count=False)
        probe_time = cpu_seconds() - started
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


def rensa_references(stories: Sequence[tuple[str, str]], settings: DedupSettings) -> list[Rate]:
    """rensa (Rust MinHash + LSH) on the same stories: from raw text, and signing + indexing feedsvc's own
    content shingles (fingerprinting not timed)."""
    try:
        from rensa import RMinHash, RMinHashLSH
    except ImportError:  # a comparison only: feedsvc does not depend on it
        return []
    perm = settings.num_perm

    def from_text() -> None:
        lsh = RMinHashLSH(threshold=settings.lsh_threshold, num_perm=perm, num_bands=32)
        for i, (_, body) in enumerate(stories):
            words = tokens(body)
            m = RMinHash(num_perm=perm, seed=settings.seed)
            m.update([" ".join(words[j : j + 5]) for j in range(max(1, len(words) - 4))])
            lsh.query(m)
            lsh.insert(i, m)

    deduper = Deduper(settings)
    prints = []  # each content shingle as a 4-byte token (rensa takes tokens, not integers)
    for title, body in stories:
        raw = deduper.fingerprint(title, body).shingles.tobytes()
        prints.append([raw[j : j + 4] for j in range(0, len(raw), 4)])

    def from_shingles() -> None:
        lsh = RMinHashLSH(threshold=settings.lsh_threshold, num_perm=perm, num_bands=32)
        for i, grams in enumerate(prints):
            m = RMinHash(num_perm=perm, seed=settings.seed)
            m.update(grams)
            lsh.query(m)
            lsh.insert(i, m)

    return [
        _timed("rensa from text (tokens, RMinHash, RMinHashLSH)", len(stories), from_text),
        _timed("rensa signing + LSH of feedsvc's shingles", len(stories), from_shingles),
    ]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


BENCH = "dedup_speed"


def main(argv: list[str]) -> int:
    """python -m bench dedup_speed [--quick]: the issue's dedup targets, each with its baselines."""
    from bench.corpus import stories_of_length

    quick = "--quick" in argv
    print(pin_one_core())
    settings = DedupSettings()
    probes = stories_of_length(1000 if quick else 5000, 400)
    rates = throughput(probes, settings)
    refs = datasketch_references(probes[:500], settings.num_perm) + rensa_references(probes[:500], settings)
    print("\n## Ingest path, 400-word stories into a fresh index, one core (CPU time)")
    for rate in rates + refs:
        print(f"  {rate.name:<58} {rate.per_second:8.0f} stories/s  {rate.micros:7.1f} us/story")
    ingest = rates[-1]
    print(
        f"  target >= 10,000 stories/s (pages of {PAGE}): {ingest.per_second:,.0f}",
        f"-> {verdict(ingest.per_second >= 10_000)}",
    )
    checkpoints = (10_000, 30_000, 100_000) if quick else (10_000, 100_000, 300_000, 1_000_000)
    print(f"\n## Scaling to {checkpoints[-1]:,} indexed stories (as ingest does: pages of {PAGE})")
    print(
        f"{'stories':>11} {'fill us':>9} {'probe us':>9} {'candidates':>11} {'RSS MB':>9} {'bytes/story':>12}"
    )
    base = [0]

    def report(point: Point) -> None:
        per_story = (point.rss - base[0]) / point.indexed
        print(
            f"{point.indexed:>11,} {point.fill_us:9.1f} {point.probe_us:9.1f} {point.candidates:11.2f} "
            f"{point.rss / 1e6:9.0f} {per_story:12.0f}",
            flush=True,
        )

    points, _, start = scaling(
        settings, checkpoints, stories_of_length(2000, 400, seed=99), report=report, base_rss=base
    )
    first, last = points[0], points[-1]
    growth = last.probe_us / first.probe_us
    per_story = (last.rss - start) / last.indexed
    print(
        f"  flat within 1.3x from {first.indexed:,} to {last.indexed:,}: probe x{growth:.2f}",
        f"-> {verdict(growth <= 1.3)}",
    )
    print(
        f"  memory <= 3 KB per indexed story: {per_story:,.0f} bytes (RSS delta)",
        f"-> {verdict(per_story <= 3072)}",
    )
    return 0

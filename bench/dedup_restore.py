"""Restart cost: how long the dedup index takes to come back from the store for 100k stories.

Fills a SQLite store with N distinct 400-word stories (fingerprints as the service writes them), then
times Ingestor.restore() (read every fingerprint and stored signature + rebuild the LSH index) against
a baseline in the same run: only reading the same rows (``Store.index_rows``, what restore() reads; and,
shown beside it, the bare fetch of the same columns through SQLAlchemy with no object made per row).
Each of ``--trials`` trials reads the rows alone, then restores (the same Ingestor: what a rebuild
does); the ratio is each trial's, the target's figure their median (CPU time swings on a shared
machine). ``--store=PATH`` keeps the filled store there, or reuses it if it exists (the fill takes
minutes; its story count then is the store's).
Run: python -m bench dedup_restore [--stories=N] [--trials=N] [--store=PATH]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from feedsvc.dedup import Deduper, fingerprint_to_bytes
from feedsvc.ingest import Ingestor, mint_cluster_id
from feedsvc.models import Copy
from feedsvc.settings import DedupSettings
from feedsvc.store import _INDEX_COLUMNS, ClusterWrite, Store, StoredCopy, copies

WORDS = 400
BATCH = 2000


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(size)]


def fill(store: Store, n: int, settings: DedupSettings) -> None:
    rng = random.Random(7)
    vocab = _vocabulary(rng)
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like, as news text is
    deduper = Deduper(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    for start in range(0, n, BATCH):
        copies, writes = [], []
        for i in range(start, min(n, start + BATCH)):
            body = " ".join(rng.choices(vocab, weights, k=WORDS))
            fp = deduper.fingerprint(f"story {i}", body)
            cid = mint_cluster_id(now) + f"{i:x}"
            key = f"k{i:08d}"
            copy = Copy(key, f"story {i}", "Outlet", None, now, (body,), None, "bench", now)
            shingles, lead = fingerprint_to_bytes(fp)
            copies.append(StoredCopy(copy, cid, shingles, lead, *deduper.signatures(fp)))
            writes.append(ClusterWrite(cid, now, now, now, key, "h", is_new=True))
        store.apply(
            new_copies=copies, seen_keys=[], moved={}, cluster_writes=writes, boilerplate=None, seen_at=now
        )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench dedup_restore", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stories", type=int, default=100_000, help="stories in the store")
    parser.add_argument("--trials", type=int, default=3, help="row reads and restores, alternated")
    parser.add_argument(
        "--store", type=Path, help="SQLite file to fill once and reuse (the fill takes minutes)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    n, trials, keep = args.stories, args.trials, args.store
    settings = DedupSettings()
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "bench.db"
        reused = path.exists()
        store = Store(f"sqlite:///{path}")
        t0 = time.perf_counter()
        if not reused:
            fill(store, n, settings)
        filled = time.perf_counter() - t0
        since = datetime(2000, 1, 1, tzinfo=UTC)
        query = select(*_INDEX_COLUMNS).where(copies.c.last_seen >= since)

        def fetch() -> int:  # the same columns fetched, nothing made of them
            with store.engine.connect() as conn:
                return sum(1 for _ in conn.execute(query).yield_per(5000))

        fetch()  # not timed: the first read of the file pays for bringing it into memory
        ingestor = Ingestor(store, settings, retention_days=36500)
        reads, bares, restores, grew = [], [], [], 0.0
        for _ in range(trials):
            t0 = time.process_time()  # CPU time: on a shared machine, wall time measures the other programs
            rows = sum(1 for _ in store.index_rows(since=since))  # the rows restore() reads, read alone
            reads.append(time.process_time() - t0)
            t0 = time.process_time()
            fetched = fetch()
            bares.append(time.process_time() - t0)
            assert fetched == rows
            before = _rss_mb()
            t0 = time.process_time()
            indexed = ingestor.restore()
            restores.append(time.process_time() - t0)
            grew = max(grew, _rss_mb() - before)
            assert indexed == rows
        store.close()
    made = "reused" if reused else f"filled in {filled:.1f} s"
    print(f"stories in store: {rows:,} ({WORDS} words each; store {made}); {trials} trials, CPU s each")
    print(f"{'step':<44} {'median':>7}  trials")
    for name, figures in (
        ("baseline: read every index row", reads),
        ("  (bare fetch of the same columns)", bares),
        ("Ingestor.restore(): read + rebuild index", restores),
    ):
        print(f"{name:<44} {statistics.median(figures):>7.2f}  {' '.join(f'{x:.2f}' for x in figures)}")
    print(f"indexed {indexed:,} copies; peak RSS grew {grew:,.0f} MB during the restores")
    ratios = [r / b for r, b in zip(restores, reads, strict=True)]
    ratio = statistics.median(ratios)
    print(f"target restore <= 2x the row read: x{ratio:.2f} (trials {' '.join(f'{x:.2f}' for x in ratios)})"
          f" -> {'PASS' if ratio <= 2 else 'MISS'}"
          f" (x{statistics.median(restores) / statistics.median(bares):.2f} the bare fetch)")  # fmt: skip


if __name__ == "__main__":
    main()

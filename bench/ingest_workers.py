"""Ingest throughput with several workers: pages/s and stories/s for the same pages with 1, 2 and 3 worker
processes on PostgreSQL and 1 on SQLite, in one run, and how long each dedup decision holds the lock.

The pages are generated aggregator pages (tests/wirepages.py: every wire story carried by three sources),
read from files so that no per-host politeness lock serialises the fetches. Each worker is a process
running the service's own claim loop (Service.claim + Service.run_claimed) until no source is due; the
clock starts when every worker has opened the store and restored its index. A worker parses and
fingerprints outside the lock; only the decision (catch up, match, write) is serialised.

Run: python -m bench ingest_workers [--sources=N] (default 300 sources, 1200 stories).
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = "ingest_workers"


def _config(tmp: Path, db: str, sources: int) -> Path:
    from tests.wirepages import corpus

    pages = tmp / "pages"
    pages.mkdir(exist_ok=True)
    lines = ["[service]", f'database_url = "{db}"', f'data_dir = "{tmp}/data"', 'log_level = "ERROR"']
    lines += ["retention_days = 3650", "lease = 600", ""]
    for i, page in enumerate(corpus(sources).pages):
        (pages / f"p{i:03d}.txt").write_text(page, encoding="utf-8")
        lines += ["[[sources]]", f'name = "p{i:03d}"', f'url = "pages/p{i:03d}.txt"', 'interval = "1h"', ""]
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _worker(config: str, ready: Any, go: Any, results: Any) -> None:
    from feedsvc.service import Service
    from feedsvc.settings import load_settings

    service = Service(load_settings(Path(config), environ={}), role="worker")
    service.start()
    due = datetime(2000, 1, 1, tzinfo=UTC)  # every source due at once (the service spreads first runs)
    sources = service.settings.sources
    service.store.ensure_sources({s.name: due for s in sources}, {s.name: s.interval for s in sources})
    ready.put(1)
    go.wait()
    pages = stories = 0
    started = time.perf_counter()
    while claims := service.claim(4):
        for claim in claims:
            report = service.run_claimed(claim)
            pages += 1
            stories += report.stories
    elapsed = time.perf_counter() - started
    results.put((pages, stories, elapsed, list(service.ingestor.decision_seconds)))
    service.close()


def _run(config: Path, workers: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(str(config), ready, go, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    started = time.perf_counter()
    go.set()
    outs = [results.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - started
    for p in procs:
        p.join(60)
    pages = sum(o[0] for o in outs)
    stories = sum(o[1] for o in outs)
    holds = sorted(h for o in outs for h in o[3])
    return {
        "pages": pages,
        "stories": stories,
        "seconds": wall,
        "pages_s": pages / wall,
        "stories_s": stories / wall,
        "hold_median_ms": statistics.median(holds) * 1000 if holds else 0.0,
        "hold_p95_ms": holds[int(len(holds) * 0.95)] * 1000 if holds else 0.0,
        "hold_max_ms": holds[-1] * 1000 if holds else 0.0,
        "hold_share": sum(holds) / wall,
    }


def main(argv: list[str] | None = None) -> int:
    from tests import pg

    sources = 300
    for arg in argv or []:
        if arg.startswith("--sources="):
            sources = int(arg.split("=", 1)[1])
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        lite = base / "sqlite"
        lite.mkdir()
        rows.append(("SQLite, 1 worker", _run(_config(lite, f"sqlite:///{lite}/db.sqlite", sources), 1)))
        for workers in (1, 2, 3):
            where = base / f"pg{workers}"
            where.mkdir()
            databases = pg.fresh_database()
            url = next(databases)
            try:
                rows.append((f"PostgreSQL, {workers} worker(s)", _run(_config(where, url, sources), workers)))
            finally:
                databases.close()
    print(f"{sources} pages, the same pages in every run (4 stories each; every wire story on 3 pages)")
    print(
        f"{'':26} {'pages/s':>8} {'stories/s':>10} {'seconds':>8} {'lock median':>12} {'p95':>8} {'max':>8}"
    )
    for name, r in rows:
        print(
            f"{name:26} {r['pages_s']:8.1f} {r['stories_s']:10.1f} {r['seconds']:8.2f} "
            f"{r['hold_median_ms']:10.1f}ms {r['hold_p95_ms']:6.1f}ms {r['hold_max_ms']:6.1f}ms"
            f"   (lock held {r['hold_share'] * 100:.0f}% of the run)"
        )
        assert r["pages"] == sources, f"{name}: {r['pages']} pages run, expected {sources}"
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

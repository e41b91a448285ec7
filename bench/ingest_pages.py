"""Ingest alone (prepare + decision + commit) of the 100 pages of `bench run_once`, in CPU time per story.

The pages are those of bench/run_once.py (every fixture without a site profile, each source its own varied
edition), extracted once in this process; their stories are then ingested by a child process on a fresh
store, page by page, as `feedsvc run-once` does: on SQLite (the embedded default) the decisions share a
transaction (``Ingestor.batched``) committed every ``--commit-every`` pages (run-once commits by age, every
0.25 s: a few pages); on PostgreSQL (``--db=postgresql``, a throwaway database on 127.0.0.1:5432) each
page is a decision of its own, as a worker's are. Two passes: ``first`` stores every story (a first
run); ``again`` gives the same stories again (a page that changed but shows stories already stored: the
last-seen update, the common case of a scheduled run).

Figures are the child's CPU time (time.process_time) per story, split into prepare (keys, lookup,
fingerprints), ingest (the decision and its writes) and commit, with the SQL statements run per page.
The index is restored and the dedup code warmed before the clock starts. ``--baseline=DIR`` runs every
trial a second time with the feedsvc package found in DIR (e.g. /work/main, or ``git archive REV
feedsvc | tar -x -C DIR``), interleaved, on the same stories: before and after under the same load.

Run: python -m bench ingest_pages [--trials=N] [--sources=N] [--db=sqlite|postgresql]
     [--commit-every=N] [--baseline=DIR] [--profile] (cProfile of the last trial's current code)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = "ingest_pages"
ROOT = Path(__file__).resolve().parent.parent
PHASES = ("prepare", "ingest", "commit")


def extracted(sources: int, where: Path) -> tuple[Path, int]:
    """The stories of the run_once pages, pickled to ``where`` as [(source name, [Story, ...]), ...]."""
    from bench.run_once import make_pages, write_config
    from feedsvc.extract import extract_page
    from feedsvc.models import Page
    from feedsvc.settings import load_settings

    pages = make_pages(sources)
    settings = load_settings(write_config(where, "http://127.0.0.1:9", pages), environ={})
    out = []
    now = datetime.now(UTC)
    for source, (name, body, kind, _order) in zip(settings.sources, pages, strict=True):
        page = Page(source.name, f"http://127.0.0.1:9/{name}", body, now, kind)
        out.append((source.name, extract_page(page, source).stories))
    path = where / "stories.pickle"
    path.write_bytes(pickle.dumps(out))
    return path, sum(len(s) for _, s in out)


def child(stories_path: str, db: str, commit_every: int, profile_to: str) -> None:
    """Ingest the pickled pages twice on a fresh store ``db``; print the figures as JSON."""
    import cProfile

    from sqlalchemy import event

    from feedsvc.ingest import Ingestor
    from feedsvc.settings import DedupSettings
    from feedsvc.store import Store

    pages = pickle.loads(Path(stories_path).read_bytes())
    store = Store(db)
    ingestor = Ingestor(store, DedupSettings(), retention_days=3650)
    ingestor.ready()
    # Warm the dedup code (imports, numpy, signing) on a story the run never shows.
    warm = pages[0][1][0]
    ingestor.deduper.fingerprint("warm-up " + warm.title, warm.body_text)
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(store.engine, "before_cursor_execute", count)
    profile = cProfile.Profile(time.process_time) if profile_to else None  # CPU, not waits
    result: dict[str, Any] = {}
    for run in ("first", "again"):
        spent = dict.fromkeys(PHASES, 0.0)
        before = statements[0]
        stories = new = 0
        if profile is not None and run == "first":
            profile.enable()
        with ingestor.batched():
            for n, (_name, page) in enumerate(pages, 1):
                t0 = time.process_time()
                prepared = ingestor.prepare(page)
                t1 = time.process_time()
                got = ingestor.ingest(prepared)
                t2 = time.process_time()
                if n % commit_every == 0 or n == len(pages):
                    ingestor.commit_batch()
                t3 = time.process_time()
                spent["prepare"] += t1 - t0
                spent["ingest"] += t2 - t1
                spent["commit"] += t3 - t2
                stories += got.stories
                new += got.new_copies
        if profile is not None and run == "first":
            profile.disable()
        result[run] = {
            **spent,
            "stories": stories,
            "new": new,
            "statements": statements[0] - before,
            "pages": len(pages),
        }
    result["counts"] = store.counts()
    store.close()
    if profile is not None:
        profile.dump_stats(profile_to)
    print(json.dumps(result))


def _run_child(code: str, stories: Path, db: str, commit_every: int, profile_to: str = "") -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=code)  # that code's feedsvc; this file run as a script
    args = [sys.executable, __file__, "--child", str(stories), db, str(commit_every)]
    done = subprocess.run([*args, profile_to], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child ({code}) failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def _database(kind: str, tmp: Path, n: int) -> Iterator[str]:
    """A fresh database URL: an SQLite file of its own, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/ingest-{n}.db"
        return
    from tests import pg

    yield from pg.fresh_database()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest_pages", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--commit-every", type=int, default=5)
    parser.add_argument(
        "--baseline", type=lambda value: str(Path(value).resolve()), help="another feedsvc checkout"
    )
    parser.add_argument("--profile", action="store_true", help="a CPU-time profile of ingest")
    args = parser.parse_args(list(argv or []))
    trials, sources, db, commit_every, baseline, profile = (
        args.trials,
        args.sources,
        args.db,
        args.commit_every,
        args.baseline,
        args.profile,
    )
    codes = [("current", str(ROOT))] + ([("baseline", baseline)] if baseline else [])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in codes}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        stories, count = extracted(sources, tmp)
        n = 0
        for t in range(trials):
            order = codes if t % 2 == 0 else codes[::-1]  # interleaved, alternating who goes first
            for name, code in order:
                n += 1
                prof = str(tmp / "profile") if profile and name == "current" and t == trials - 1 else ""
                with _database(db, tmp, n) as url:
                    rows[name].append(_run_child(code, stories, url, commit_every, prof))
        if profile:
            import pstats

            pstats.Stats(str(tmp / "profile")).sort_stats("cumulative").print_stats(40)
            pstats.Stats(str(tmp / "profile")).sort_stats("tottime").print_stats(25)
    how = f"batched, commit every {commit_every} pages" if db == "sqlite" else "one decision per page"
    print(f"{sources} pages of bench run_once, {count} stories extracted; db {db}; {how}; {trials} trials, "
          "interleaved; CPU per story (median, range)")  # fmt: skip
    for run in ("first", "again"):
        for name, _ in codes:
            rs = rows[name]
            per = [sum(r[run][p] for p in PHASES) / r[run]["stories"] * 1e6 for r in rs]
            share = {p: statistics.median(r[run][p] / r[run]["stories"] * 1e6 for r in rs) for p in PHASES}
            parts = ", ".join(f"{p} {v:.0f}" for p, v in share.items())
            statements = statistics.median(r[run]["statements"] / r[run]["pages"] for r in rs)
            low, high = min(per), max(per)
            print(f"{run:>5} {name:>8}: {statistics.median(per):6.0f} us/story ({low:.0f}-{high:.0f})"
                  f" [{parts}]; {statements:.1f} statements/page;"
                  f" {rs[0][run]['new']} new copies; {rs[0]['counts']}")  # fmt: skip
        if baseline:
            ratios = [
                sum(b[run][p] for p in PHASES) / sum(c[run][p] for p in PHASES)
                for b, c in zip(rows["baseline"], rows["current"], strict=True)
            ]
            print(f"{run:>5}  speed-up: {statistics.median(ratios):.2f}x (baseline / current CPU, per trial: "
                  f"{', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "")
    else:
        raise SystemExit(main(sys.argv[1:]))

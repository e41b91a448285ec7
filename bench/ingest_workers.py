"""Ingest throughput with several workers: pages/s and stories/s for the same pages with 1, 2 and 3 worker
processes on PostgreSQL and 1 on SQLite, in one run, how long each dedup decision holds the lock and how
many statements it runs while holding it.

The pages are generated aggregator pages (tests/wirepages.py: every wire story carried by three sources),
read from files so that no per-host politeness lock serialises the fetches, in two mixes of the same
stories: ``text`` (the compact text rendering the scale tests use, cheap to parse) and ``html`` (each page
rendered as cards of a real-shaped Daily8 hashtag listing, tests/data/pages/html-hashtag-listing.html,
chrome, scripts, ads and all: what an aggregator serves, and dearer to parse). Each worker is a process
running the service's own claim loop (Service.claim + Service.run_claimed) until no source is due; the
clock starts when every worker has opened the store and restored its index. A worker parses and
fingerprints outside the lock; only the decision (catch up, match, write) is serialised.

The machine may be shared: every configuration runs ``--trials`` times, the configurations interleaved
within each trial (1, 2, 3 workers, then again), and the table gives the median and the range.
``--baseline=DIR`` runs every configuration a second time, interleaved, with the feedsvc package found in
DIR (e.g. ``git archive REV feedsvc | tar -x -C DIR``): before and after, measured under the same load.

Run: python -m bench ingest_workers [--sources=N] [--trials=N] [--mix=text,html] [--baseline=DIR]
(defaults: 300 sources, 1200 stories, 3 trials, both mixes).
"""

from __future__ import annotations

import html
import multiprocessing as mp
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = "ingest_workers"
LISTING = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages" / "html-hashtag-listing.html"


def _records(page: str) -> list[tuple[str, str, str, str]]:
    """(title, outlet, time, body) of each story of a tests.wirepages text page: its main story, then the
    related records "title / - outlet / timeN hours ago / body"."""
    lines = page.splitlines()
    title, dateline = lines[1], lines[3]
    outlet, ago = dateline.split("News", 1)
    body_end = lines.index("Orange background")
    out = [(title, outlet + "News", ago, " ".join(lines[4:body_end]))]
    related = lines[lines.index("Related Articles") + 1 : lines.index("DOWNLOAD THE APP")]
    for i in range(0, len(related), 4):
        story, source, when, body = related[i : i + 4]
        out.append((story, source.removeprefix("- "), when.removeprefix("time"), body))
    return out


def html_page(page: str, number: int) -> str:
    """A tests.wirepages text page as the Daily8 listing would show it: one card per story (category,
    linked title, the text as the snippet, outlet, time) in the listing's own markup and chrome."""
    template = LISTING.read_text(encoding="utf-8")
    start = template.index('<div class="card-grid">')
    end = template.index('<div class="load-more">')
    cards = []
    for i, (title, outlet, when, body) in enumerate(_records(page)):
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        link = f"https://www.daily8.com/news/local/{slug}-{number:03d}{i:02d}"
        image = f"https://cdn.daily8.com/i/{number}-{i}.jpg"
        cards.append(
            f"""      <article class="hashtag-card">
        <a class="hashtag-card__image" href="{link}"><img src="{image}" alt=""></a>
        <span class="hashtag-card__category">Local</span>
        <h2 class="hashtag-card__title"><a href="{link}">{html.escape(title)}</a></h2>
        <p class="hashtag-card__snippet">{html.escape(body)}</p>
        <div class="hashtag-card__footer">
          <span class="hashtag-card__source">{html.escape(outlet)}</span>
          <span class="hashtag-card__time"><img src="/icons/time.svg" alt="time">{html.escape(when)}</span>
        </div>
      </article>
"""
        )
    grid = '<div class="card-grid">\n' + "\n".join(cards) + "    </div>\n\n    "
    return template[:start] + grid + template[end:]


def _config(tmp: Path, db: str, sources: int, mix: str = "text") -> Path:
    from tests.wirepages import corpus

    pages = tmp / "pages"
    pages.mkdir(exist_ok=True)
    lines = ["[service]", f'database_url = "{db}"', f'data_dir = "{tmp}/data"', 'log_level = "ERROR"']
    lines += ["retention_days = 3650", "lease = 600", ""]
    suffix = "html" if mix == "html" else "txt"
    for i, page in enumerate(corpus(sources).pages):
        text = html_page(page, i) if mix == "html" else page
        (pages / f"p{i:03d}.{suffix}").write_text(text, encoding="utf-8")
        lines += ["[[sources]]", f'name = "p{i:03d}"', f'url = "pages/p{i:03d}.{suffix}"', 'interval = "1h"']
        lines += ['date_order = "DMY"', ""] if mix == "html" else [""]
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _worker(config: str, ready: Any, go: Any, results: Any, code: str | None) -> None:
    if code is not None:  # the baseline's feedsvc, not this one
        sys.path.insert(0, code)
    from sqlalchemy import event

    from feedsvc.service import Service
    from feedsvc.settings import load_settings

    service = Service(load_settings(Path(config), environ={}), role="worker")
    service.start()
    # Every source due at once (the service spreads first runs); just now, so that the next run (on the
    # source's grid: its slot plus whole intervals) is an interval away, not at the next full hour.
    due = datetime.now(UTC) - timedelta(seconds=5)
    sources = service.settings.sources
    service.store.ensure_sources({s.name: due for s in sources}, {s.name: s.interval for s in sources})
    store = service.store
    locked = [0]  # statements run while this worker held the decision lock

    def count(*_args: Any) -> None:  # (an older feedsvc, measured as a baseline, kept it private)
        if getattr(store, "in_decision", None) or getattr(store._local, "conn", None) is not None:
            locked[0] += 1

    event.listen(store.engine, "before_cursor_execute", count)
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
    results.put((pages, stories, elapsed, list(service.ingestor.decision_seconds), locked[0]))
    service.close()


def _run(config: Path, workers: int, code: str | None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    args = (str(config), ready, go, results, code)
    procs = [ctx.Process(target=_worker, args=args) for _ in range(workers)]
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
    holds = [h for o in outs for h in o[3]]
    return {
        "pages": pages,
        "stories": sum(o[1] for o in outs),
        "seconds": wall,
        "holds": holds,
        "statements": sum(o[4] for o in outs),
    }


def _trial(
    base: Path, name: str, engine: str, workers: int, sources: int, mix: str, code: str | None
) -> dict[str, Any]:
    from tests import pg

    where = base / name
    where.mkdir()
    if engine == "sqlite":
        return _run(_config(where, f"sqlite:///{where}/db.sqlite", sources, mix), workers, code)
    databases = pg.fresh_database()
    try:
        return _run(_config(where, next(databases), sources, mix), workers, code)
    finally:
        databases.close()


def _table(mix: str, sources: int, runs: dict[str, list[dict[str, Any]]]) -> None:
    print(
        f"\n{mix} pages: {sources} pages, the same in every run (4 stories each; every wire story on 3 pages)"
    )
    print(
        f"{'':36} {'pages/s (range)':>22} {'stories/s':>10} {'lock median':>12} {'p95':>8}"
        f" {'held':>5} {'stmts/page':>11}"
    )
    for name, trials in runs.items():
        rates = sorted(r["pages"] / r["seconds"] for r in trials)
        holds = sorted(h for r in trials for h in r["holds"])
        pages = sum(r["pages"] for r in trials)
        held = sum(holds) / sum(r["seconds"] for r in trials)
        stories = statistics.median(r["stories"] / r["seconds"] for r in trials)
        print(
            f"{name:36} {statistics.median(rates):8.1f} ({rates[0]:5.1f}-{rates[-1]:5.1f}) {stories:10.1f}"
            f" {statistics.median(holds) * 1000:10.1f}ms {holds[int(len(holds) * 0.95)] * 1000:6.1f}ms"
            f" {held * 100:4.0f}% {sum(r['statements'] for r in trials) / pages:11.1f}"
        )
    for name, trials in runs.items():
        for r in trials:
            assert r["pages"] == sources, f"{name}: {r['pages']} pages run, expected {sources}"


def main(argv: list[str] | None = None) -> int:
    sources, trials, mixes, baseline = 300, 3, ["text", "html"], None
    for arg in argv or []:
        if arg.startswith("--sources="):
            sources = int(arg.split("=", 1)[1])
        elif arg.startswith("--trials="):
            trials = int(arg.split("=", 1)[1])
        elif arg.startswith("--mix="):
            mixes = arg.split("=", 1)[1].split(",")
        elif arg.startswith("--baseline="):
            baseline = str(Path(arg.split("=", 1)[1]).resolve())
    codes: list[tuple[str, str | None]] = [("", None)] + ([(", baseline", baseline)] if baseline else [])
    configs = [("SQLite, 1 worker", "sqlite", 1)] + [
        (f"PostgreSQL, {n} worker(s)", "pg", n) for n in (1, 2, 3)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for mix in mixes:
            runs: dict[str, list[dict[str, Any]]] = {}
            for t in range(trials):  # interleaved: a load spike hits every configuration alike
                for name, engine, n in configs:
                    for label, code in codes:
                        where = f"{mix}-{engine}{n}-{t}{'-base' if code else ''}"
                        result = _trial(base, where, engine, n, sources, mix, code)
                        runs.setdefault(name + label, []).append(result)
            _table(mix, sources, runs)
    print("\nheld: share of the run some worker held the decision lock; stmts/page: statements run under it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

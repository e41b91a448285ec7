"""kill -9 at 32 distinct points of a run, each followed by a restart: the store stays consistent, no story is
stored or published twice, nothing committed is lost, every feed file is whole.

The points are (all but) deterministic: a forked child runs `feedsvc run-once` with hooks that count every SQL
statement, every commit, every fsync and every rename of a feed file, and SIGKILLs itself at the N-th. A
reference run on a fresh store lists the points (migrations, fetch and ingest of each source, the feed
writes); the kills are spread over all of them and include every kind. Forking from a warmed-up process
(imports and caches already loaded) keeps each kill and restart well under a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from feedsvc import service
from feedsvc.cli import main
from feedsvc.published import SIDECARS
from tests.conftest import DEMO_PAGES

pytestmark = pytest.mark.slow
COPIES_PER_PAGE = 2  # each demo page as two sources: every story is syndicated
KILLS = 32
KINDS = ("sql", "commit", "fsync", "rename")


def _config(tmp: Path) -> Path:
    (tmp / "pages").mkdir(parents=True)
    sources = []
    for page in sorted(DEMO_PAGES.glob("*.txt")):
        for i in range(COPIES_PER_PAGE):
            name = f"{page.stem.removeprefix('daily8-')}-{i}"
            (tmp / "pages" / f"{name}.txt").write_bytes(page.read_bytes())
            sources.append(f'[[sources]]\nname = "{name}"\nurl = "{tmp}/pages/{name}.txt"\n')
    config = tmp / "feedsvc.toml"
    config.write_text(
        f'[service]\ndatabase_url = "sqlite:///{tmp}/db/feedsvc.db"\ndata_dir = "{tmp}/data"\n'
        'log_level = "ERROR"\nretention_days = 3650\n\n' + "\n".join(sources),
        encoding="utf-8",
    )
    return config


@contextmanager
def _points(on_point: Callable[[str], None]) -> Iterator[None]:
    """Call ``on_point(kind)`` before every SQL statement and commit, every fsync and every rename."""
    real_fsync, real_replace = os.fsync, os.replace

    def statement(*args: Any) -> None:
        on_point("sql")

    def commit(*args: Any) -> None:
        on_point("commit")

    def fsync(fd: int) -> None:
        on_point("fsync")
        real_fsync(fd)

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        on_point("rename")
        real_replace(src, dst, **kwargs)

    event.listen(sa.engine.Engine, "before_cursor_execute", statement)
    event.listen(sa.engine.Engine, "commit", commit)
    os.fsync, os.replace = fsync, replace  # type: ignore[assignment]
    try:
        yield
    finally:
        os.fsync, os.replace = real_fsync, real_replace
        event.remove(sa.engine.Engine, "before_cursor_execute", statement)
        event.remove(sa.engine.Engine, "commit", commit)


def _forked_run_once(config: Path, kill_at: int | None) -> int:
    """Run `feedsvc run-once` in a forked child, killed by SIGKILL at point ``kill_at`` (None: never).
    Returns the wait status. A run can have a point or two fewer than the reference (the time of a fetch,
    to the second, decides whether a cluster row changes): one that ends before ``kill_at`` is run
    again on the same fresh directory, killed at its own last point."""
    counted = config.parent / "points"
    status = _fork(config, kill_at, counted)
    if kill_at is not None and os.WIFEXITED(status) and counted.exists():
        seen = int(counted.read_text())
        if seen < kill_at:  # every point of this run passed: again, killed at its last one
            for path in sorted(config.parent.iterdir()):
                if path.name not in ("pages", "feedsvc.toml"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            status = _fork(config, seen, counted)
    return status


def _fork(config: Path, kill_at: int | None, counted: Path) -> int:
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            seen = 0

            def on_point(kind: str) -> None:
                nonlocal seen
                seen += 1
                if seen == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            with _points(on_point):
                code = main(["run-once", "--config", str(config)])
            counted.write_text(str(seen))
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _published(data: Path, validators: bool = False) -> dict[str, list[str]]:
    """Entry ids per feed file, each of which must be whole and hold no entry twice. With ``validators``,
    every feed's sidecar entry must match its bytes (a kill between a feed's rename and the sidecars' may
    leave it missing or stale: the service then ignores the file and rewrites it on its next build)."""
    feeds: dict[str, list[str]] = {}
    sidecars = json.loads((data / "feeds" / SIDECARS).read_text(encoding="utf-8")) if validators else {}
    for path in sorted((data / "feeds").glob("*.atom")) if (data / "feeds").exists() else []:
        content = path.read_bytes()
        parsed = feedparser.parse(content)
        assert not parsed.bozo, f"{path.name} is not whole: {parsed.get('bozo_exception')}"
        ids = [e.id for e in parsed.entries]
        titles = [e.title for e in parsed.entries]
        assert len(set(ids)) == len(ids) and len(set(titles)) == len(titles), f"{path.name}: an entry twice"
        if validators:
            meta = sidecars[path.name]
            assert meta["etag"].strip('"') == hashlib.sha256(content).hexdigest()[:32], path.name
        feeds[path.name] = ids
    return feeds


def _store(db: Path) -> dict[str, frozenset[str]]:
    """Cluster id -> its copies' keys, after checking the store's integrity (empty: no store yet)."""
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'copies'").fetchone() is None:
            return {}  # killed before the schema was made
        orphans = conn.execute(
            "SELECT COUNT(*) FROM copies c LEFT JOIN clusters k ON k.id = c.cluster_id "
            "WHERE k.id IS NULL OR k.merged_into IS NOT NULL"
        ).fetchone()[0]
        assert orphans == 0, "copies point at missing or merged-away clusters"
        empty = conn.execute(
            "SELECT COUNT(*) FROM clusters k WHERE k.merged_into IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.cluster_id = k.id)"
        ).fetchone()[0]
        assert empty == 0, "a live cluster without copies"
        rows = conn.execute("SELECT key, cluster_id FROM copies").fetchall()
    clusters: dict[str, set[str]] = defaultdict(set)
    for key, cluster in rows:
        clusters[cluster].add(key)
    return {cluster: frozenset(keys) for cluster, keys in clusters.items()}


def _kill_points(kinds: list[str]) -> list[int]:
    """KILLS distinct points (1-based) spread evenly over the run, with the first of each kind among them."""
    total = len(kinds)
    chosen = {kinds.index(kind) + 1 for kind in KINDS}
    step = total / (KILLS - len(chosen) + 1)
    k = 1
    while len(chosen) < KILLS and k * step <= total:
        chosen.add(max(1, round(k * step)))
        k += 1
    # Where a grid point fell on the first point of a kind, take others (the middle of what is left).
    rest = [p for p in range(1, total + 1) if p not in chosen]
    while len(chosen) < min(KILLS, total):
        chosen.add(rest.pop(len(rest) // 2))
    return sorted(chosen)


def test_kill_9_at_32_points_then_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The points must be the same in every run: run-once's batches of decisions are bounded in time, so
    # here the whole run is one batch (a kill inside it loses every page's decision but the last commit's).
    monkeypatch.setattr(service, "_BATCH_SECONDS", math.inf)
    kinds: list[str] = []
    reference = tmp_path / "reference"
    with _points(kinds.append):  # in this process: it also warms up what the forked children inherit
        assert main(["run-once", "--config", str(_config(reference))]) == 0
    expected = _store(reference / "db" / "feedsvc.db")
    expected_feeds = _published(reference / "data")
    assert {kind for kind in kinds} == set(KINDS), kinds
    points = _kill_points(kinds)
    assert len(points) >= 30 and {kinds[p - 1] for p in points} == set(KINDS)

    for n, point in enumerate(points):
        trial = tmp_path / f"kill-{n:02d}"
        config = _config(trial)
        where = f"kill -9 at point {point} of {len(kinds)} ({kinds[point - 1]})"
        status = _forked_run_once(config, kill_at=point)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{where}: not killed"

        db = trial / "db" / "feedsvc.db"
        committed = _store(db)  # consistent as the kill left it
        published = _published(trial / "data")  # every feed file whole, no entry twice

        status = _forked_run_once(config, kill_at=None)  # the restart
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"{where}: restart failed ({status})"
        after = _store(db)
        kept = {keys for keys in after.values()}
        lost = [keys for keys in committed.values() if not any(keys <= k for k in kept)]
        assert not lost, f"{where}: committed copies lost after the restart: {lost}"
        assert set(committed) <= set(after), f"{where}: a committed story's id changed"
        assert sorted(after.values(), key=sorted) == sorted(expected.values(), key=sorted), where
        final = _published(trial / "data", validators=True)
        assert {name: len(ids) for name, ids in final.items()} == {
            name: len(ids) for name, ids in expected_feeds.items()
        }, where
        for name, ids in published.items():
            assert set(ids) <= set(final[name]), f"{where}: a published entry disappeared from {name}"

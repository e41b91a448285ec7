"""kill -9 at many points of a run, then restart: consistent store, no duplicates, nothing committed lost,
every feed file whole."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest

from tests.conftest import DEMO_PAGES

pytestmark = pytest.mark.slow
COPIES_PER_PAGE = 8  # 24 sources: a run long enough to be killed in fetch, ingest and publish


def _config(tmp: Path) -> Path:
    (tmp / "pages").mkdir()
    sources = []
    for page in sorted(DEMO_PAGES.glob("*.txt")):
        for i in range(COPIES_PER_PAGE):
            name = f"{page.stem.removeprefix('daily8-')}-{i}"
            (tmp / "pages" / f"{name}.txt").write_bytes(page.read_bytes())
            sources.append(f'[[sources]]\nname = "{name}"\nurl = "pages/{name}.txt"\n')
    config = tmp / "feedsvc.toml"
    config.write_text(
        f'[service]\ndatabase_url = "sqlite:///{tmp}/db/feedsvc.db"\ndata_dir = "{tmp}/data"\n'
        'log_level = "WARNING"\n\n' + "\n".join(sources),
        encoding="utf-8",
    )
    return config


def _run_once(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedsvc.cli", "run-once", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _published_ids(data: Path, validators: bool = False) -> set[str]:
    """Entry ids of every feed file, each of which must be whole. With ``validators``, every feed's
    sidecar must also match its bytes (a kill between the two renames may leave it missing or stale:
    the service then ignores it and rewrites both on its next build, which the final check proves)."""
    ids: set[str] = set()
    for path in (data / "feeds").glob("*.atom"):
        content = path.read_bytes()
        parsed = feedparser.parse(content)
        assert not parsed.bozo, f"{path.name} is not whole: {parsed.get('bozo_exception')}"
        if validators:
            meta = json.loads((data / "feeds" / f"{path.name}.meta.json").read_text(encoding="utf-8"))
            assert meta["etag"].strip('"') == hashlib.sha256(content).hexdigest()[:32]
        ids.update(e.id for e in parsed.entries)
    return ids


def _check_store(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        orphans = conn.execute(
            "SELECT COUNT(*) FROM copies c LEFT JOIN clusters k ON k.id = c.cluster_id "
            "WHERE k.id IS NULL OR k.merged_into IS NOT NULL"
        ).fetchone()[0]
        assert orphans == 0
        empty = conn.execute(
            "SELECT COUNT(*) FROM clusters k WHERE k.merged_into IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.cluster_id = k.id)"
        ).fetchone()[0]
        assert empty == 0
        copies = conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0]
        clusters = conn.execute("SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL").fetchone()[0]
    return copies, clusters


def test_kill_9_anywhere_then_restart(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    started = time.monotonic()
    assert _run_once(_config(reference)).wait(timeout=120) == 0
    full_run = time.monotonic() - started
    expected = _check_store(reference / "db" / "feedsvc.db")

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    config = _config(crashed)
    seen_ids: set[str] = set()
    points = 8
    for k in range(points):
        proc = _run_once(config)
        time.sleep(0.3 + full_run * k / points)  # start-up, then spread across fetch, ingest and publish
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        db = crashed / "db" / "feedsvc.db"
        if db.exists():
            _check_store(db)
        if (crashed / "data" / "feeds").exists():
            ids = _published_ids(crashed / "data")
            assert seen_ids <= ids, "a published entry disappeared after a crash"
            seen_ids = ids
    assert _run_once(config).wait(timeout=120) == 0
    assert _check_store(crashed / "db" / "feedsvc.db") == expected
    final_ids = _published_ids(crashed / "data", validators=True)
    assert seen_ids <= final_ids
    assert len(final_ids) == len(_published_ids(reference / "data"))

"""`feedsvc serve` and `feedsvc run-once` on one store at the same time (SQLite and PostgreSQL), over the
bundled demo pages, each under several source names (a syndicated story on many sources): no errors in
either, and the store and the feeds hold each story once, exactly as one run-once alone makes them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PAGES
from tests.ports import free_port

pytestmark = pytest.mark.slow
COPIES = 3  # each demo page as three sources
# Run-onces that must overlap serve's runs. A run-once sets the sources' next run an interval after its own
# fetch (they were just fetched), so serve's runs fall due between run-onces, not inside them, unless the
# interval is well under a run-once's start-up (about 1 s on a quiet machine, less as feedsvc got faster):
# hence 0.3 s, and run-onces one right after the other.
INTERVAL = "0.3s"
RUN_ONCES = 3


def _config(tmp: Path, database_url: str) -> Path:
    (tmp / "pages").mkdir(parents=True)
    lines = [
        "[service]",
        f'listen = "127.0.0.1:{free_port()}"',
        'public_url = "http://feeds.test"',
        f'database_url = "{database_url}"',
        f'data_dir = "{tmp}/data"',
        'log_level = "INFO"',
        "claim_interval = 0.2",
        "publish_interval = 0.3",
        "retention_days = 3650",
        "",
    ]
    for page in sorted(DEMO_PAGES.glob("*.txt")):
        for i in range(COPIES):
            name = f"{page.stem.removeprefix('daily8-')}-{i}"
            (tmp / "pages" / f"{name}.txt").write_bytes(page.read_bytes())
            lines += [
                "[[sources]]",
                f'name = "{name}"',
                f'url = "{tmp}/pages/{name}.txt"',
                f'interval = "{INTERVAL}"',
            ]
            lines.append("")
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _run_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedsvc.cli", "run-once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _partition(url: str) -> set[frozenset[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, cluster_id FROM copies")).all()
            live = set(conn.execute(sa.text("SELECT id FROM clusters WHERE merged_into IS NULL")).scalars())
    finally:
        engine.dispose()
    groups: dict[str, set[str]] = defaultdict(set)
    for key, cluster_id in rows:
        assert cluster_id in live, f"copy {key} points at a merged-away or missing cluster"
        groups[cluster_id].add(key)
    return {frozenset(g) for g in groups.values()}


def _feed_titles(data: Path) -> list[str]:
    parsed = feedparser.parse((data / "feeds" / "all.atom").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)), "an entry id shows twice"
    titles = [e.title for e in parsed.entries]
    repeated = [t for t, n in Counter(titles).items() if n > 1]
    assert not repeated, f"stories shown twice: {repeated}"
    for other in (data / "feeds").glob("*.atom"):
        assert not feedparser.parse(other.read_bytes()).bozo, other.name
    return titles


def _fetches(log: str) -> Counter[str]:
    """Successful fetches per source in a serve log."""
    return Counter(
        line.split("source=", 1)[1].split()[0]
        for line in log.splitlines()
        if "event=fetch " in line and "status=ok" in line
    )


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_serve_and_run_once_on_one_store(tmp_path: Path, database_url: str) -> None:
    reference = tmp_path / "reference"
    done = _run_once(_config(reference, f"sqlite:///{reference}/alone.db"))
    assert done.returncode == 0, done.stdout + done.stderr
    expected_partition = _partition(f"sqlite:///{reference}/alone.db")
    expected_titles = _feed_titles(reference / "data")
    sources = len(list(DEMO_PAGES.glob("*.txt"))) * COPIES

    shared = tmp_path / "shared"
    config = _config(shared, database_url)
    log = shared / "serve.log"
    with log.open("ab") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        outputs = []
        overlapped = 0  # run-onces during which serve stored fetches of the same sources
        while overlapped < RUN_ONCES:
            # A run-once can fall between two of serve's rounds (a quick one on an idle machine, or serve
            # held up on a loaded one): run again until RUN_ONCES of them did overlap, within a bound.
            assert len(outputs) < RUN_ONCES * 8, f"only {overlapped} of {len(outputs)} run-onces overlapped"
            started = datetime.now()
            done = _run_once(config)
            ended = datetime.now()
            outputs.append(done)
            assert serve.poll() is None, log.read_text()[-3000:]
            runs = [_run_span(line) for line in log.read_text().splitlines() if _stored_fetch(line)]
            overlapped += any(begun <= ended and started <= at for begun, at in runs)
        # Serve goes on until every source was fetched by it at least twice (so, also after the run-onces).
        deadline = time.monotonic() + 120
        while min((_fetches(log.read_text()).get(s, 0) for s in _names(config)), default=0) < 2:
            assert serve.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"serve did not fetch every source twice:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=120)
    text = log.read_text()
    assert code == 0, text[-3000:]
    for done in outputs:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "FAILED" not in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    problems = [line for line in text.splitlines() if "level=ERROR" in line or "status=error" in line]
    assert not problems and "Traceback" not in text, "\n".join(problems) or text[-3000:]
    assert len(_names(config)) == sources

    assert _partition(database_url) == expected_partition
    assert sorted(_feed_titles(shared / "data")) == sorted(expected_titles)


def _stored_fetch(line: str) -> bool:
    return "event=fetch " in line and "status=ok" in line


def _run_span(line: str) -> tuple[datetime, datetime]:
    """When one of serve's runs began and ended: it logs at the end, with its duration. (On SQLite a run
    waits for run-once's write transactions, so it ends after them; what matters is that it ran meanwhile.)"""
    ended = _logged_at(line)
    duration = float(line.split(" duration=", 1)[1].split()[0])
    return ended - timedelta(seconds=duration), ended


def _logged_at(line: str) -> datetime:
    """The local time a kv log line was written at ("time=2025-08-19 12:00:00,123 ...")."""
    stamp = line.split("time=", 1)[1][:23]
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


def _names(config: Path) -> list[str]:
    return [
        line.split('"')[1]
        for line in config.read_text(encoding="utf-8").splitlines()
        if line.startswith("name = ")
    ]

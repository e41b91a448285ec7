"""Scale-out as real processes on one PostgreSQL: workers claim sources, web servers serve the stored feeds.

A local HTTP server serves generated aggregator pages (tests/wirepages.py: every wire story on three
sources) and logs every request. The processes are `feedsvc serve --role worker|web`, started all at once
on an empty database, with short intervals and leases from the settings.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import sqlalchemy as sa

from tests import pg
from tests.ports import free_port
from tests.wirepages import Corpus, corpus, extra_story

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Site:
    """The pages, the request log (path, monotonic time) and a switch that holds one page's response."""

    pages: dict[str, bytes]
    log: list[tuple[str, float]] = field(default_factory=list)
    hold: str | None = None  # this path's first request waits for `release`
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.log if p == path)


def _serve_site(site: Site) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                site.log.append((self.path, time.monotonic()))
                first = sum(1 for p, _ in site.log if p == self.path) == 1
            body = site.pages.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == site.hold and first:
                site.held.set()
                site.release.wait(60)  # the worker holding this request is killed meanwhile
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


def _config(tmp: Path, port: int, sources: int, db: str, interval: float, lease: float) -> Path:
    lines = [
        "[service]",
        'public_url = "http://feeds.test"',
        f'database_url = "{db}"',
        'log_level = "INFO"',
        "respect_robots = false",
        "feed_entries = 1000",
        "retention_days = 3650",
        f"lease = {lease}",
        "claim_interval = 0.2",
        "publish_interval = 0.3",
        "",
    ]
    for i in range(sources):
        lines += ["[[sources]]", f'name = "p{i:03d}"', f'url = "http://127.0.0.1:{port}/p/{i}"']
        lines += [f"interval = {interval}", ""]
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Proc:
    role: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _start(config: Path, role: str, n: int) -> Proc:
    port = free_port()
    log = config.parent / f"{role}-{n}.log"
    env = {
        **os.environ,
        "FEEDSVC_LISTEN": f"127.0.0.1:{port}",
        "FEEDSVC_DATA_DIR": str(config.parent / f"data-{role}-{n}"),
        "PYTHONPATH": str(ROOT),
    }
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config), "--role", role],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return Proc(role, port, log, popen)


def _wait(
    condition: Callable[[], bool],
    limit: float,
    what: str,
    procs: Sequence[Proc] = (),
    last: Sequence[str] = (),
    progress: Callable[[], int] | None = None,
) -> None:
    """Until ``condition``, for ``limit`` seconds; with ``progress`` (a count that grows while the processes
    get on with it), ``limit`` seconds without progress (a loaded machine is slow, not stuck), at most 10
    minutes in all."""
    deadline = time.monotonic() + limit
    cap = time.monotonic() + max(limit, 600)
    done = progress() if progress else 0
    while time.monotonic() < min(deadline, cap):
        if progress is not None and (now := progress()) > done:
            done, deadline = now, time.monotonic() + limit
        for p in procs:
            assert p.popen.poll() is None, (
                f"{p.role} exited with {p.popen.returncode}: {p.log.read_text()[-3000:]}"
            )
        if condition():
            return
        time.sleep(0.2)
    trouble = [
        f"{p.log.name}: {line}"
        for p in procs
        for line in p.log.read_text(errors="replace").splitlines()
        if "WARNING" in line or "ERROR" in line
    ]
    raise AssertionError(f"not within {limit} s: {what} (last seen: {list(last)}; warnings: {trouble[-40:]})")


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg.fresh_database()


@pytest.fixture
def processes() -> Iterator[list[Proc]]:
    procs: list[Proc] = []
    yield procs
    for p in procs:
        if p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.popen.kill()
            p.popen.wait()


def _feed(proc: Proc) -> httpx.Response | None:
    try:
        r = httpx.get(f"{proc.url}/feeds/all.atom", timeout=5)
    except httpx.TransportError:
        return None
    return r if r.status_code == 200 else None


def _expected_authors(wire: Corpus) -> dict[str, set[str]]:
    out = {}
    for title, where in wire.carriers.items():
        main = len(where) == 1 and wire.pages[where[0]].split("\n")[1] == title
        out[title] = {f"Station {where[0]:03d} News"} if main else {f"Outlet {s:03d}" for s in where}
    return out


def _partition(engine: sa.Engine) -> set[frozenset[str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, cluster_id FROM copies")).all()
    groups: dict[str, set[str]] = defaultdict(set)
    for key, cluster_id in rows:
        groups[cluster_id].add(key)
    return {frozenset(g) for g in groups.values()}


def _check_store_against_feed(engine: sa.Engine, content: bytes, expected: dict[str, set[str]]) -> None:
    parsed = feedparser.parse(content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    titles = [e.title for e in parsed.entries]
    assert Counter(titles).most_common(1)[0][1] == 1, "a story shows twice"
    assert set(titles) == set(expected)
    for entry in parsed.entries:
        assert {a.name for a in entry.authors} == expected[entry.title], entry.title
    ids = {e.id.rsplit("/", 1)[1] for e in parsed.entries}
    with engine.connect() as conn:
        used = set(conn.execute(sa.text("SELECT DISTINCT cluster_id FROM copies")).scalars())
        live = set(conn.execute(sa.text("SELECT id FROM clusters WHERE merged_into IS NULL")).scalars())
    assert used <= live, "copies point at merged-away clusters"
    assert used == ids, "copies point at clusters missing from the feed"


def test_three_workers_and_two_web_servers_on_one_postgresql(
    tmp_path: Path, pg_url: str, processes: list[Proc]
) -> None:
    wire = corpus(100)
    site = Site({f"/p/{i}": page.encode() for i, page in enumerate(wire.pages)})
    server, port = _serve_site(site)
    interval, rounds = 8.0, 3
    config = _config(tmp_path, port, 100, pg_url, interval=interval, lease=30)
    engine = sa.create_engine(pg_url)
    try:
        # All at once on an empty database: migrations, schedule rows and leadership race; none may crash.
        processes += [_start(config, "worker", i) for i in range(3)]
        processes += [_start(config, "web", i) for i in range(2)]
        paths = [f"/p/{i}" for i in range(100)]
        _wait(
            lambda: all(site.count(p) >= rounds for p in paths),
            60 + rounds * interval * 3,
            f"every source fetched {rounds} times",
            processes,
            progress=lambda: len(site.log),
        )
        with site.lock:
            log = list(site.log)
        times: dict[str, list[float]] = defaultdict(list)
        for path, at in log:
            times[path].append(at)
        gaps = [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]
        # Never two workers on one due run: a double claim shows as two fetches moments apart.
        assert min(gaps) >= 1.0, sorted(gaps)[:5]
        # Never twice in one interval. The schedule keeps a fixed grid, so a run delayed by a busy machine is
        # followed by one on the grid (a short gap, not an extra fetch); over a source's whole span that
        # allows at most one fetch per interval plus the first and one catch-up.
        for path, ts in times.items():
            assert len(ts) - 1 <= (ts[-1] - ts[0]) / interval + 1, (path, [round(t - ts[0], 1) for t in ts])
        assert {p.role for p in processes if p.popen.poll() is None} == {"worker", "web"}

        expected = _expected_authors(wire)
        webs = [p for p in processes if p.role == "web"]

        seen: list[str] = []

        def identical() -> bool:
            answers = [_feed(w) for w in webs]
            seen[:] = [
                "none" if a is None else f"{a.headers['etag']} {len(feedparser.parse(a.content).entries)}"
                for a in answers
            ]
            if answers[0] is not None:
                titles = Counter(e.title for e in feedparser.parse(answers[0].content).entries)
                twice = [t for t, n in titles.items() if n > 1]
                seen.append(str(twice))
                seen.append(str(sorted(set(expected) - set(titles))))
                with engine.connect() as conn:
                    seen.append(str(conn.execute(sa.text("SELECT count(*) FROM clusters")).scalar()))
                    if twice:  # how the store came to hold a story twice: its copies and their clusters
                        rows = conn.execute(
                            sa.text(
                                "SELECT c.title, c.source, c.cluster_id, c.seq, c.changed, c.new_cluster,"
                                " octet_length(c.body_sig), octet_length(c.lead_sig),"
                                " octet_length(c.shingles),"
                                " k.merged_into, k.created FROM copies c"
                                " JOIN clusters k ON k.id = c.cluster_id"
                                " WHERE c.title = ANY(:t) ORDER BY c.title, c.seq"
                            ),
                            {"t": twice[:3]},
                        ).all()
                        seen.append(str([tuple(map(str, r)) for r in rows]))
            if any(a is None for a in answers):
                return False
            first = answers[0]
            assert first is not None
            if len(feedparser.parse(first.content).entries) != len(expected):
                return False
            return all(
                a is not None
                and a.content == first.content
                and a.headers["etag"] == first.headers["etag"]
                and a.headers["last-modified"] == first.headers["last-modified"]
                for a in answers
            )

        def stored() -> int:  # copies stored so far: the feeds follow them
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM copies")).scalar_one())

        _wait(identical, 90, "both web servers serving the same complete all.atom", processes, seen, stored)
        answer = _feed(webs[0])
        assert answer is not None
        _check_store_against_feed(engine, answer.content, expected)
        shared = _partition(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM copies")).scalar_one() == 400
    finally:
        engine.dispose()

    # The same pages through one process on SQLite give the same clusters, copy for copy.
    single = tmp_path / "single"
    single.mkdir()
    one = _config(single, port, 100, f"sqlite:///{single}/one.db", interval=interval, lease=30)
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc.cli", "run-once", "--config", str(one)],
        capture_output=True,
        env={**os.environ, "FEEDSVC_DATA_DIR": str(single / "data"), "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    server.shutdown()
    server.server_close()
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    alone = sa.create_engine(f"sqlite:///{single}/one.db")
    try:
        assert _partition(alone) == shared
    finally:
        alone.dispose()


def _lease_holder(engine: sa.Engine, source: str) -> int | None:
    with engine.connect() as conn:
        token = conn.execute(
            sa.text("SELECT lease_owner FROM sources WHERE name = :n"), {"n": source}
        ).scalar()
    if not token:
        return None
    return int(token.split("/", 1)[0].rsplit("-", 2)[1])


def test_killed_worker_and_publisher_are_taken_over_without_loss_or_duplicates(
    tmp_path: Path, pg_url: str, processes: list[Proc]
) -> None:
    wire = corpus(20)
    site = Site({f"/p/{i}": page.encode() for i, page in enumerate(wire.pages)}, hold="/p/5")
    server, port = _serve_site(site)
    config = _config(tmp_path, port, 20, pg_url, interval=4.0, lease=3.0)

    def fetches() -> int:  # grows while the workers get on with it: a loaded machine is slow, not stuck
        return len(site.log)

    engine = sa.create_engine(pg_url)
    try:
        processes += [_start(config, "worker", i) for i in range(3)]
        processes.append(_start(config, "web", 0))
        _wait(site.held.is_set, 90, "a worker in the middle of fetching p005", processes, progress=fetches)
        holder = _lease_holder(engine, "p005")
        assert holder is not None
        victim = next(p for p in processes if p.popen.pid == holder)
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(10)
        site.release.set()
        alive = [p for p in processes if p is not victim]

        def p005_stored() -> bool:
            with engine.connect() as conn:
                n = conn.execute(sa.text("SELECT count(*) FROM copies WHERE source = 'p005'")).scalar_one()
            return site.count("/p/5") >= 2 and n == 4

        _wait(
            p005_stored,
            60,
            "p005 taken over by another worker after its lease expired",
            alive,
            progress=fetches,
        )

        # Now the publisher: kill whichever surviving worker leads, then change a page.
        workers = [p for p in alive if p.role == "worker"]
        _wait(
            lambda: any("event=leading" in p.log.read_text() for p in workers),
            60,
            "a surviving worker leading",
            alive,
            progress=fetches,
        )
        leader = next(p for p in workers if "event=leading" in p.log.read_text())
        leader.popen.send_signal(signal.SIGKILL)
        leader.popen.wait(10)
        alive = [p for p in alive if p is not leader]
        added = extra_story(1)
        wire = corpus(20, extra={10: added})
        site.pages["/p/10"] = wire.pages[10].encode()
        web = next(p for p in alive if p.role == "web")

        expected = _expected_authors(wire)

        def published() -> bool:  # the new story, and every other one (sources of the killed worker too)
            answer = _feed(web)
            return answer is not None and {e.title for e in feedparser.parse(answer.content).entries} == set(
                expected
            )

        _wait(
            published,
            90,
            "the last worker fetching and publishing after the publisher died",
            alive,
            progress=fetches,
        )
        answer = _feed(web)
        assert answer is not None
        _check_store_against_feed(engine, answer.content, expected)
        with engine.connect() as conn:
            per_source = dict(
                conn.execute(sa.text("SELECT source, count(*) FROM copies GROUP BY source")).all()
            )
        assert per_source == {f"p{i:03d}": 4 + (i == 10) for i in range(20)}
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
        engine.dispose()

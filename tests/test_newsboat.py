"""A real feed reader (Debian's newsboat) subscribes to `feedsvc serve` over HTTP and sees no old item anew.

newsboat keeps what it has seen in an SQLite cache (table ``rss_item``: ``guid`` is the entry id, ``unread``
the flag a user sees). The test reads that cache after each ``newsboat -x reload``. A small relay in front
of the server notes what newsboat asked for and what it got, because the trap is in the conditional path:
newsboat sends validators only from its third fetch, and libcurl silently drops a 200 whose Last-Modified
is not newer than the If-Modified-Since it sent.
"""

from __future__ import annotations

import http.client
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.conftest import DATA, write_config
from tests.ports import free_port
from tests.test_serve import _serve, _stop, _wait_for_feed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("newsboat") is None,
        reason="newsboat is not installed (apt-get install newsboat); .ci/run installs it",
    ),
]

FIRST_PAGE = "daily8-putin-invites-trump.txt"  # 4 stories, among them NBC News' drone story
# One original story (Kyiv Independent) plus AP News' syndicated copy of the NBC drone story.
SECOND_PAGE = DATA / "newsboat-rail-and-drones.txt"
NEW_TITLE = "Ukraine's railway adds night trains to Poland and Moldova as late-summer demand peaks"


@dataclass(frozen=True)
class Exchange:
    if_none_match: str | None
    if_modified_since: str | None
    status: int

    @property
    def conditional(self) -> bool:
        return self.if_none_match is not None or self.if_modified_since is not None


@contextmanager
def _relay(upstream_port: int) -> Iterator[tuple[int, list[Exchange]]]:
    """A transparent HTTP relay on a free port that records every request's validators and status."""
    seen: list[Exchange] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=10)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                conn.request("GET", self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()  # raw bytes: gzip stays gzip
            finally:
                conn.close()
            validators = (self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"))
            seen.append(Exchange(*validators, status=resp.status))
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in {"connection", "content-length", "transfer-encoding", "date", "server"}:
                    self.send_header(key, value)
            if resp.status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if resp.status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    author: str
    content: str
    unread: bool


class Newsboat:
    """newsboat with its own HOME, XDG dirs, config, urls file and cache, all inside ``root``."""

    def __init__(self, root: Path, feed_url: str) -> None:
        self.root = root
        home = root / "home"
        for sub in (".config", ".local/share", ".cache"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        }
        self.urls = root / "urls"
        self.urls.write_text(feed_url + "\n", encoding="utf-8")
        self.config = root / "config"
        self.config.write_text(
            "auto-reload no\nreload-threads 1\ndownload-retries 1\ndownload-timeout 10\n", encoding="utf-8"
        )
        self.cache = root / "cache.db"
        self.reloads = 0

    def reload(self) -> dict[str, Item]:
        self.reloads += 1
        log = self.root / f"reload-{self.reloads}.log"
        args = ["-u", str(self.urls), "-c", str(self.cache), "-C", str(self.config)]
        done = subprocess.run(
            ["newsboat", *args, "-d", str(log), "-l", "4", "-x", "reload"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"newsboat reload {self.reloads}: {done.stdout!r} {done.stderr!r}"
        return self.items()

    def items(self) -> dict[str, Item]:
        with closing(sqlite3.connect(self.cache)) as db:
            rows = db.execute(
                "SELECT guid, title, author, content, unread FROM rss_item WHERE deleted = 0"
            ).fetchall()
        guids = [row[0] for row in rows]
        assert len(guids) == len(set(guids)), f"newsboat holds duplicate items: {sorted(guids)}"
        return {row[0]: Item(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows}

    def mark_all_read(self) -> None:
        """What a user does after reading; feedsvc must never make these unread again."""
        with closing(sqlite3.connect(self.cache)) as db, db:
            db.execute("UPDATE rss_item SET unread = 0")


def _entries(url: str) -> int:
    return len(feedparser.parse(httpx.get(url, timeout=5).content).entries)


def test_newsboat_sees_one_new_entry_and_no_old_one_again(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, pages=(FIRST_PAGE,), listen=f"127.0.0.1:{port}")
    feed = f"http://127.0.0.1:{port}/feeds/all.atom"

    with _relay(port) as (relay_port, seen):
        reader = Newsboat(tmp_path / "newsboat", f"http://127.0.0.1:{relay_port}/feeds/all.atom")

        proc = _serve(config)
        try:
            _wait_for_feed(feed, proc)
            assert _entries(feed) == 4
            first = reader.reload()
            assert len(first) == 4 and all(item.unread for item in first.values())
            reader.mark_all_read()
            # newsboat stores validators only from its second fetch and sends them from its third.
            second = reader.reload()
            assert set(second) == set(first) and not any(item.unread for item in second.values())
            third = reader.reload()
            assert seen[-1].conditional and seen[-1].status == 304, seen
            assert third == reader.items() and not any(item.unread for item in third.values())
        finally:
            assert _stop(proc) == 0

        # The sources change while the server is down: one new story, and an AP copy of NBC's drone story.
        shutil.copy(SECOND_PAGE, tmp_path / "pages" / SECOND_PAGE.name)
        with config.open("a", encoding="utf-8") as out:
            out.write(f'\n[[sources]]\nname = "rail-and-drones"\nurl = "pages/{SECOND_PAGE.name}"\n')
        run = subprocess.run(
            [sys.executable, "-m", "feedsvc.cli", "run-once", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr

        proc = _serve(config)
        try:
            _wait_for_feed(feed, proc)
            assert _entries(feed) == 5
            fourth = reader.reload()
            assert seen[-1].conditional and seen[-1].status == 200, seen
            fifth = reader.reload()
            assert seen[-1].conditional and seen[-1].status == 304, seen
            assert fifth == fourth
        finally:
            assert _stop(proc) == 0

    new = set(fourth) - set(third)
    assert len(new) == 1 and len(fourth) == len(third) + 1, sorted(fourth)
    assert set(third) <= set(fourth), "an entry id changed"
    (new_guid,) = new
    assert fourth[new_guid].title == NEW_TITLE and fourth[new_guid].unread
    assert [g for g, item in fourth.items() if item.unread] == [new_guid], "an old item came back as unread"
    (drones,) = [g for g, item in third.items() if "NBC News" in item.author]
    assert fourth[drones].title == third[drones].title
    assert "AP News" not in third[drones].author and "AP News" in fourth[drones].author
    assert "AP News" in fourth[drones].content


def test_newsboat_importing_the_opml_shows_every_story_once(tmp_path: Path) -> None:
    """What a new user does: import /feeds.opml into newsboat (``newsboat -i``) and reload. Every story of
    every source is there, each exactly once, and no subscribed feed is empty (newsboat files an item under
    one feed only, so overlapping subscriptions would leave feeds that look empty)."""
    port = free_port()
    pages = ("daily8-putin-invites-trump.txt", "daily8-ukraine-security-talks.txt")
    config = write_config(tmp_path, pages=pages, listen=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    proc = _serve(config)
    try:
        _wait_for_feed(f"{base}/feeds/all.atom", proc)
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"{base}/readyz", timeout=10).status_code != 200
        ):  # every feed built after every fetch
            assert time.monotonic() < deadline, "the service never became ready"
            time.sleep(0.2)
        opml = tmp_path / "feeds.opml"
        opml.write_bytes(httpx.get(f"{base}/feeds.opml", timeout=10).content)
        reader = Newsboat(tmp_path / "newsboat", "")
        reader.urls.write_text("", encoding="utf-8")
        done = subprocess.run(
            [
                "newsboat",
                "-u",
                str(reader.urls),
                "-c",
                str(reader.cache),
                "-C",
                str(reader.config),
                "-i",
                str(opml),
            ],
            env=reader.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done
        subscribed = [
            line.split()[0] for line in reader.urls.read_text(encoding="utf-8").splitlines() if line
        ]
        assert subscribed, "the OPML subscribed nothing"
        items = reader.reload()  # asserts no guid is held twice
        every_story = {e.id for e in feedparser.parse(httpx.get(f"{base}/feeds/all.atom").content).entries}
        with closing(sqlite3.connect(reader.cache)) as db:
            per_feed = dict(db.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl").fetchall())
    finally:
        assert _stop(proc) == 0
    assert set(items) == every_story and len(every_story) >= 5
    assert all(per_feed.get(url, 0) > 0 for url in subscribed), per_feed

"""HTTP behaviour feed readers rely on: types, validators, 304s, gzip, HEAD, 404, index, OPML, stories."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest
from starlette.testclient import TestClient

from feedsvc.app import create_app
from feedsvc.models import Cluster, Copy
from feedsvc.settings import Settings
from feedsvc.web import accepts_gzip, ago, outlet_copies
from tests.conftest import write_config


@pytest.fixture
def client(demo_settings: Callable[[], Settings]) -> Iterator[TestClient]:
    app = create_app(demo_settings(), schedule=False)
    app.state.service.run_once()
    with TestClient(app) as test_client:
        yield test_client


def test_feed_is_served_with_validators_and_type(client: TestClient) -> None:
    r = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert r.headers["etag"].startswith('"') and not r.headers["etag"].startswith("W/")
    assert parsedate_to_datetime(r.headers["last-modified"])
    assert "max-age=" in r.headers["cache-control"]
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.content.startswith(b"<?xml")


def test_conditional_get_answers_304(client: TestClient) -> None:
    plain = {"Accept-Encoding": "identity"}
    first = client.get("/feeds/all.atom", headers=plain)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    r = client.get("/feeds/all.atom", headers={**plain, "If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    r = client.get("/feeds/all.atom", headers={**plain, "If-Modified-Since": last_modified})
    assert r.status_code == 304
    # If-None-Match wins over If-Modified-Since.
    r = client.get(
        "/feeds/all.atom", headers={**plain, "If-None-Match": '"other"', "If-Modified-Since": last_modified}
    )
    assert r.status_code == 200
    older = format_datetime(parsedate_to_datetime(last_modified).replace(year=2000), usegmt=True)
    assert client.get("/feeds/all.atom", headers={**plain, "If-Modified-Since": older}).status_code == 200


def test_gzip_and_head(client: TestClient) -> None:
    plain = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    raw = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == plain.content  # the client decoded it
    assert raw.headers["etag"] != plain.headers["etag"]
    assert (
        client.get(
            "/feeds/all.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]}
        ).status_code
        == 304
    )
    head = client.head("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(plain.content)
    assert len(gzip.compress(plain.content)) < len(plain.content)


def test_unknown_feed_is_404(client: TestClient) -> None:
    assert client.get("/feeds/nope.atom").status_code == 404
    assert client.get("/feeds/all.exe").status_code == 404


def test_index_opml_story_pages_and_health(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert 'rel="alternate" type="application/atom+xml"' in index.text
    assert "http://127.0.0.1:8080/feeds/all.atom" in index.text
    opml = client.get("/feeds.opml?all=1")
    assert (
        opml.status_code == 200
        and 'xmlUrl="http://127.0.0.1:8080/feeds/ukraine-security-talks.atom"' in opml.text
    )
    feed = client.get("/feeds/all.atom").text
    story_url = feed.split("/stories/", 1)[1].split('"', 1)[0].split("<", 1)[0]
    page = client.get(f"/stories/{story_url}")
    assert page.status_code == 200 and "Reported by" in page.text
    assert client.get("/stories/doesnotexist").status_code == 404
    assert client.get("/healthz").text == "ok\n"
    assert client.get("/readyz").status_code == 200


def test_readyz_waits_for_the_first_publication(demo_settings: Callable[[], Settings]) -> None:
    app = create_app(demo_settings(), schedule=False)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200


def test_metrics_count_fetches_builds_and_requests(client: TestClient) -> None:
    client.get("/feeds/all.atom")
    client.get("/feeds/nope.atom")
    text = client.get("/metrics").text
    assert 'feedsvc_fetches_total{result="ok",source="putin-invites-trump"} 1.0' in text
    assert 'feedsvc_stories_parsed_total{source="putin-invites-trump"} 4.0' in text
    assert "feedsvc_clusters_created_total 9.0" in text
    assert "feedsvc_clusters_merged_total 4.0" in text
    assert 'feedsvc_http_requests_total{status="404"} 1.0' in text
    assert 'feedsvc_feed_builds_total{result="ok"}' in text
    assert "feedsvc_source_last_success_timestamp_seconds" in text
    assert "feedsvc_fetch_duration_seconds_bucket" in text
    # one decision per page that reached dedup, each timed while it held the decision lock
    count = next(
        line for line in text.splitlines() if line.startswith("feedsvc_dedup_decision_seconds_count")
    )
    assert float(count.split()[-1]) >= 3


def test_status_page_lists_every_source(client: TestClient) -> None:
    page = client.get("/status")
    assert page.status_code == 200
    for name in ("putin-invites-trump", "ukraine-security-talks", "habba-ruling-reaction"):
        assert name in page.text
    assert "9 stories from 13 copies" in page.text
    assert page.text.count('<span class="badge ok">ok</span>') == 3


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        ("x-gzip", True),
        ("gzip;q=bogus", False),
    ],
)
def test_accept_encoding_qualities(header: str, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok


def test_gzip_refused_with_zero_quality_and_no_host_based_redirects(client: TestClient) -> None:
    r = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert r.status_code == 200 and "content-encoding" not in r.headers
    r = client.get("/feeds/all.atom/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
    r = client.get("/status/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert "evil.example" not in r.headers.get("location", "")


def _opml_feeds(text: str) -> list[str]:
    return [o.get("xmlUrl", "") for o in ET.fromstring(text).iter("outline") if o.get("xmlUrl")]


def _ids_by_feed(get: Callable[[str], bytes], urls: list[str]) -> dict[str, list[str]]:
    return {url: [e.id for e in feedparser.parse(get(url)).entries] for url in urls}


def test_subscribing_to_the_whole_opml_never_shows_a_story_twice(client: TestClient) -> None:
    def get(url: str) -> bytes:
        return client.get(url.removeprefix("http://127.0.0.1:8080")).content

    everything = {e.id for e in feedparser.parse(get("/feeds/all.atom")).entries}
    default = client.get("/feeds.opml")
    assert default.headers["content-type"].startswith("text/x-opml")
    by_feed = _ids_by_feed(get, _opml_feeds(default.text))
    ids = [i for feed_ids in by_feed.values() for i in feed_ids]
    assert len(ids) == len(set(ids)), "a story sits in two of the offered feeds"
    assert set(ids) == everything and len(everything) == 9, "the offered feeds lose a story"
    # The full list, in folders, offers every feed: there stories do repeat, which the check above sees.
    full = client.get("/feeds.opml?all=1")
    root = ET.fromstring(full.text)
    folders = [o.get("text") for o in root.find("body") or [] if o.get("xmlUrl") is None]
    assert folders == ["Everything", "By source"]
    urls = _opml_feeds(full.text)
    assert len(urls) == 4 and "http://127.0.0.1:8080/feeds/putin-invites-trump.atom" in urls
    every = [i for feed_ids in _ids_by_feed(get, urls).values() for i in feed_ids]
    assert len(every) > len(set(every))


def test_cors_on_feeds_and_opml(client: TestClient) -> None:
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/feeds.opml"):
        r = client.get(path, headers={"Origin": "https://reader.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*", path
    first = client.get("/feeds/all.json")
    again = client.get("/feeds/all.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["access-control-allow-origin"] == "*"
    assert "ETag" in again.headers["access-control-expose-headers"]


def test_index_names_feeds_with_counts_and_all_formats(client: TestClient) -> None:
    page = client.get("/").text
    assert "Putin invites trump" in page and "9 stories" in page and "4 stories" in page
    for ext in ("atom", "rss", "json"):
        assert f'href="http://127.0.0.1:8080/feeds/ukraine-security-talks.{ext}"' in page
    assert 'href="http://127.0.0.1:8080/feeds.opml?all=1"' in page


def test_story_page_lists_outlets_once_in_publication_order() -> None:
    when = datetime(2025, 8, 19, 10, tzinfo=UTC)

    def copy(key: str, outlet: str, minutes: int | None) -> Copy:
        published = when + timedelta(minutes=minutes) if minutes is not None else None
        return Copy(key, "Title", outlet, None, published, ("Body.",), None, "demo", when)

    copies = (
        copy("a", "NBC News", 120),
        copy("b", "AP News", 60),
        copy("c", "ABC News", 0),
        copy("d", "AP News", 90),  # AP's second page with the same story
        copy("e", "Yahoo", None),
    )
    cluster = Cluster("x", when, when, copies, "a")
    assert [c.key for c in outlet_copies(cluster)] == ["c", "b", "a", "e"]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (5, "just now"),
        (90, "2 minutes ago"),
        (3600 * 2, "2 hours ago"),
        (86400 * 3, "3 days ago"),
        (-900, "in 15 minutes"),
    ],
)
def test_times_in_a_readers_terms(seconds: int, words: str) -> None:
    now = datetime(2025, 8, 19, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=seconds), now) == words


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed; .ci/run installs it")
def test_newsboat_importing_the_opml_files_every_story_once(tmp_path: Path) -> None:
    from tests.test_newsboat import Newsboat
    from tests.test_serve import _free_port, _serve, _stop, _wait_for_feed

    port = _free_port()
    config = write_config(tmp_path, listen=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    proc = _serve(config)
    try:
        _wait_for_feed(f"{base}/feeds/all.atom", proc, limit=120)
        deadline = time.monotonic() + 60
        while len(feedparser.parse(httpx.get(f"{base}/feeds/all.atom").content).entries) < 9:
            assert time.monotonic() < deadline, "the demo's 9 stories were never published"
            time.sleep(0.2)
        results = {}
        for name, query in (("default", ""), ("full", "?all=1")):
            reader = Newsboat(tmp_path / name, base)
            reader.urls.write_text("", encoding="utf-8")
            opml = tmp_path / f"{name}.opml"
            opml.write_bytes(httpx.get(f"{base}/feeds.opml{query}").content)
            imported = subprocess.run(
                ["newsboat", "-i", str(opml), "-u", str(reader.urls), "-C", str(reader.config)],
                env=reader.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
            assert imported.returncode == 0, imported.stderr
            subscribed = [line.split()[0] for line in reader.urls.read_text().splitlines() if line.strip()]
            reader.reload()
            with closing(sqlite3.connect(reader.cache)) as db:
                filed = db.execute("SELECT feedurl, COUNT(*) FROM rss_item GROUP BY feedurl").fetchall()
            served = {url: len(feedparser.parse(httpx.get(url).content).entries) for url in subscribed}
            results[name] = (served, dict(filed))
    finally:
        assert _stop(proc) == 0
    served, filed = results["default"]
    assert served == {f"{base}/feeds/all.atom": 9}
    assert filed == served, "newsboat filed a story under another feed than the one that served it"
    # With every feed subscribed, newsboat keeps each story under one feed only: the others look empty.
    served, filed = results["full"]
    assert sum(served.values()) > sum(filed.values()) == 9

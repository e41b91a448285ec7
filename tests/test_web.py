"""HTTP behaviour feed readers rely on: types, validators, 304s, gzip, HEAD, 404, index, OPML, stories."""

from __future__ import annotations

import base64
import gzip
import html
import logging
import math
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest
from starlette.testclient import TestClient

from feedsvc.access import basic_password, presented_tokens, required_token, token_matches, unavailable
from feedsvc.app import create_app
from feedsvc.feedreply import accepts_gzip
from feedsvc.logs import setup_logging
from feedsvc.models import Cluster, Copy, FeedSpec, Source
from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings
from feedsvc.store import SourceState
from feedsvc.web import ago, outlet_copies
from tests.conftest import DEMO_PAGES, write_config


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
    from tests.ports import free_port
    from tests.test_newsboat import Newsboat
    from tests.test_serve import _serve, _stop, _wait_for_feed

    port = free_port()
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


# -- feeds whose sources never succeeded ---------------------------------------------------------------

NOW = datetime(2025, 8, 19, 12, tzinfo=UTC)


def _source(name: str, interval: float = 900.0) -> Source:
    return Source(name=name, url=f"https://{name}.example/", interval=interval)


@pytest.mark.parametrize(
    ("state", "retry", "words"),
    [
        (None, 900, "has not been fetched yet"),
        (SourceState("ap", next_run=NOW + timedelta(seconds=120.2)), 121, "has not been fetched yet"),
        (
            SourceState(
                "ap",
                last_error="HTTP 503 from https://user:hunter2@ap.example/?token=abc",
                failures=2,
                next_run=NOW + timedelta(seconds=1800),
            ),
            1800,
            "last attempt: HTTP 503 from https://user:***@ap.example/?token=***",
        ),
        (SourceState("ap", next_run=NOW - timedelta(seconds=30)), 1, "has not been fetched yet"),
    ],
)
def test_a_source_that_never_succeeded_makes_its_feed_wait(
    state: SourceState | None, retry: int, words: str
) -> None:
    sources = {"ap": _source("ap")}
    states = {"ap": state} if state else {}
    verdict = unavailable(FeedSpec("ap", "AP", sources=("ap",)), sources, states, NOW)
    assert verdict is not None and verdict.retry_after == retry
    assert words in verdict.reason and "'ap'" in verdict.reason and "hunter2" not in verdict.reason


def test_feeds_are_served_once_a_source_has_succeeded_or_draw_on_no_particular_source() -> None:
    sources = {"ap": _source("ap"), "bbc": _source("bbc", 60)}
    failing_now = SourceState("ap", last_success=NOW - timedelta(days=1), last_error="HTTP 500", failures=3)
    assert unavailable(FeedSpec("ap", "AP", sources=("ap",)), sources, {"ap": failing_now}, NOW) is None
    assert unavailable(FeedSpec("all", "All"), sources, {}, NOW) is None
    both = FeedSpec("wire", "Wire", sources=("ap", "bbc"))
    assert unavailable(both, sources, {"ap": failing_now}, NOW) is None
    verdict = unavailable(both, sources, {}, NOW)
    assert verdict is not None and verdict.retry_after == 60 and "ap, bbc" in verdict.reason
    # A source no longer configured is no reason to wait.
    assert unavailable(FeedSpec("gone", "Gone", sources=("gone",)), sources, {}, NOW) is None


GOOD_PAGE = "daily8-putin-invites-trump.txt"


def _breakable_config(tmp: Path, database_url: str | None = None) -> Path:
    """The demo's first page plus a source "flaky" whose page is empty (an extraction failure) until the
    test writes a real one there."""
    page = tmp / "pages" / "flaky.txt"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("", encoding="utf-8")
    extra = '[[sources]]\nname = "flaky"\nurl = "pages/flaky.txt"\ninterval = "15m"\n'
    return write_config(tmp, extra=extra, pages=(GOOD_PAGE,), database_url=database_url)


def _retry_window(service: Any, name: str, before: datetime, after: datetime) -> tuple[int, int]:
    next_run = service.store.source_state(name).next_run
    return (
        max(1, math.ceil((next_run - after).total_seconds())),
        max(1, math.ceil((next_run - before).total_seconds())),
    )


def test_a_never_successful_source_answers_503_until_its_first_success(tmp_path: Path) -> None:
    config = _breakable_config(tmp_path)
    app = create_app(load_settings(config, environ={}), schedule=False)
    service = app.state.service
    with TestClient(app) as client:
        # Not even tried yet: its interval.
        r = client.get("/feeds/flaky.atom")
        assert r.status_code == 503 and r.headers["retry-after"] == "900"
        assert r.headers["content-type"].startswith("text/plain") and "'flaky'" in r.text
        service.run_once()  # the good source succeeds; flaky fails on its empty page
        for ext in ("atom", "rss", "json"):
            before = datetime.now(UTC)
            r = client.get(f"/feeds/flaky.{ext}")
            low, high = _retry_window(service, "flaky", before, datetime.now(UTC))
            assert r.status_code == 503, ext
            assert low <= int(r.headers["retry-after"]) <= high, (r.headers["retry-after"], low, high)
            assert "has not been fetched successfully yet" in r.text and r.text[-1] == "\n"
            assert r.headers["access-control-allow-origin"] == "*"
        # Every other feed keeps serving.
        for name in ("all", "putin-invites-trump"):
            r = client.get(f"/feeds/{name}.atom")
            assert r.status_code == 200 and feedparser.parse(r.content).entries, name
        # The first success opens it...
        shutil.copy(DEMO_PAGES / "daily8-ukraine-security-talks.txt", tmp_path / "pages" / "flaky.txt")
        assert service.run_source(service.settings.sources[1], force=True).ok
        service.publish_feeds()
        good = client.get("/feeds/flaky.atom")
        assert good.status_code == 200 and len(feedparser.parse(good.content).entries) == 4
        # ...and a failure afterwards keeps the last good feed.
        (tmp_path / "pages" / "flaky.txt").write_text("", encoding="utf-8")
        assert not service.run_source(service.settings.sources[1], force=True).ok
        service.publish_feeds()
        again = client.get("/feeds/flaky.atom")
        assert again.status_code == 200 and again.content == good.content


def test_a_web_server_answers_503_from_the_stores_state(tmp_path: Path) -> None:
    from tests import pg

    databases = pg.fresh_database()
    database_url = next(databases)
    try:
        settings = load_settings(_breakable_config(tmp_path, database_url), environ={})
        worker = Service(settings, role="worker")
        worker.start()
        try:
            worker.run_once()
            web = create_app(settings, schedule=False, role="web")
            with TestClient(web) as client:
                assert client.get("/feeds/putin-invites-trump.json").status_code == 200
                r = client.get("/feeds/flaky.json")
                assert r.status_code == 503 and int(r.headers["retry-after"]) > 1
                shutil.copy(
                    DEMO_PAGES / "daily8-ukraine-security-talks.txt", tmp_path / "pages" / "flaky.txt"
                )
                assert worker.run_source(settings.sources[1], force=True).ok
                assert client.get("/feeds/flaky.json").status_code == 200  # no longer waits
        finally:
            worker.close()
    finally:
        databases.close()


def test_a_feed_not_published_yet_is_503_not_404(demo_settings: Callable[[], Settings]) -> None:
    app = create_app(demo_settings(), schedule=False)
    with TestClient(app) as client:
        r = client.get("/feeds/all.atom")
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert client.get("/feeds/nope.atom").status_code == 404


# -- private feeds ---------------------------------------------------------------------------------

FEED_TOKEN = "fEEd-t0ken-2c1b"
SERVICE_TOKEN = "serv1ce-t0ken-8d4e"
PRIVATE_FEED = (
    '[[feeds]]\nname = "ukraine"\ntitle = "Kyiv watch"\nkeywords = ["Ukraine", "Kyiv", "Zelensky"]\n'
    f'token = "{FEED_TOKEN}"\n'
)
CHALLENGE = 'Basic realm="feedsvc"'


def _basic(token: str, user: str = "reader") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def _private_client(tmp: Path, service_token: str = "") -> TestClient:
    environ = {"FEEDSVC_TOKEN": service_token} if service_token else {}
    app = create_app(load_settings(write_config(tmp, extra=PRIVATE_FEED), environ=environ), schedule=False)
    app.state.service.run_once()
    return TestClient(app)


@pytest.mark.parametrize(
    ("header", "password"),
    [
        (None, None),
        ("", None),
        ("Basic " + base64.b64encode(b"reader:tok").decode(), "tok"),
        ("basic " + base64.b64encode(b":tok:with:colons").decode(), "tok:with:colons"),
        ("Basic " + base64.b64encode("r:pässwörd".encode()).decode(), "pässwörd"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Basic not base64!", None),
        ("Bearer tok", None),
        ("Basic", None),
    ],
)
def test_basic_password(header: str | None, password: str | None) -> None:
    assert basic_password(header) == password


def test_token_comparison() -> None:
    assert token_matches(None, ())
    assert not token_matches("t", ())
    assert not token_matches("t", ("T", "tt", ""))
    assert token_matches("t", ("wrong", "t"))
    assert presented_tokens(_basic("a")["Authorization"], ["b", ""]) == ("a", "b")
    spec = FeedSpec("x", "X", token="own")
    assert required_token(spec, "service") == "own"  # the service token never opens a feed's own
    assert required_token(FeedSpec("y", "Y"), "service") == "service"
    assert required_token(FeedSpec("y", "Y"), "") is None


def test_a_feed_token_protects_that_feed_only(tmp_path: Path) -> None:
    with _private_client(tmp_path) as client:
        for ext in ("atom", "rss", "json"):
            for headers, query in (({}, ""), (_basic("wrong"), ""), ({}, "?token=wrong"), (_basic(""), "")):
                r = client.get(f"/feeds/ukraine.{ext}{query}", headers=headers)
                assert r.status_code == 401, (ext, headers, query)
                assert r.headers["www-authenticate"] == CHALLENGE
                assert FEED_TOKEN not in r.text
            by_basic = client.get(f"/feeds/ukraine.{ext}", headers=_basic(FEED_TOKEN, user="anyone"))
            by_query = client.get(f"/feeds/ukraine.{ext}?token={FEED_TOKEN}")
            assert by_basic.status_code == by_query.status_code == 200
            assert by_basic.content == by_query.content
            assert by_basic.headers["cache-control"].startswith("private")
            assert FEED_TOKEN.encode() not in by_basic.content  # self links never carry it
        parsed = feedparser.parse(client.get("/feeds/ukraine.atom", headers=_basic(FEED_TOKEN)).content)
        assert parsed.entries and parsed.feed.links[0].href == "http://127.0.0.1:8080/feeds/ukraine.atom"
        # The other feeds, the pages and the OPML stay public.
        for path in ("/feeds/all.atom", "/feeds/putin-invites-trump.rss", "/", "/feeds.opml", "/status"):
            r = client.get(path)
            assert r.status_code == 200, path
            assert client.get("/feeds/all.atom").headers["cache-control"].startswith("public")
        assert client.get("/metrics").status_code == 200


def test_conditional_get_works_for_authenticated_readers(tmp_path: Path) -> None:
    with _private_client(tmp_path) as client:
        plain = {"Accept-Encoding": "identity"}
        first = client.get("/feeds/ukraine.atom", headers={**plain, **_basic(FEED_TOKEN)})
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        r = client.get("/feeds/ukraine.atom", headers={**plain, **_basic(FEED_TOKEN), "If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag
        r = client.get(
            f"/feeds/ukraine.atom?token={FEED_TOKEN}", headers={**plain, "If-Modified-Since": modified}
        )
        assert r.status_code == 304
        gz = client.get(f"/feeds/ukraine.atom?token={FEED_TOKEN}", headers={"Accept-Encoding": "gzip"})
        r = client.get(
            f"/feeds/ukraine.atom?token={FEED_TOKEN}",
            headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["etag"]},
        )
        assert r.status_code == 304
        # Without the token a validator reveals nothing: 401, not 304.
        r = client.get("/feeds/ukraine.atom", headers={**plain, "If-None-Match": etag})
        assert r.status_code == 401 and "etag" not in r.headers


def _listed(text: str) -> list[str]:
    return [o.get("xmlUrl", "") for o in ET.fromstring(text).iter("outline") if o.get("xmlUrl")]


def test_private_feeds_are_listed_only_to_their_readers(tmp_path: Path) -> None:
    with _private_client(tmp_path) as client:
        index = client.get("/").text
        assert "/feeds/ukraine." not in index and "Kyiv watch" not in index
        assert not any("ukraine." in url for url in _listed(client.get("/feeds.opml?all=1").text))
        wrong = client.get("/feeds.opml?all=1&token=nope")
        assert wrong.status_code == 200 and not any("ukraine." in u for u in _listed(wrong.text))
        # With the token: listed, with links a reader can subscribe to as they are.
        index = client.get(f"/?token={FEED_TOKEN}").text
        assert "Kyiv watch" in index
        for ext in ("atom", "rss", "json"):
            assert f'href="http://127.0.0.1:8080/feeds/ukraine.{ext}?token={FEED_TOKEN}"' in index
        assert 'href="http://127.0.0.1:8080/feeds/all.atom"' in index  # public links stay token-free
        opml = client.get("/feeds.opml?all=1", headers=_basic(FEED_TOKEN))
        urls = _listed(opml.text)
        assert f"http://127.0.0.1:8080/feeds/ukraine.atom?token={FEED_TOKEN}" in urls
        assert "http://127.0.0.1:8080/feeds/all.atom" in urls
        assert opml.headers["cache-control"] == "private, no-store"
        for url in urls:
            assert client.get(url.removeprefix("http://127.0.0.1:8080")).status_code == 200, url


def test_a_service_token_protects_every_feed_and_page_but_health(tmp_path: Path) -> None:
    with _private_client(tmp_path, SERVICE_TOKEN) as client:
        story = client.get(f"/feeds/all.atom?token={SERVICE_TOKEN}").text
        story_path = "/stories/" + story.split("/stories/", 1)[1].split("<", 1)[0].split('"', 1)[0]
        guarded = [
            "/",
            "/feeds.opml",
            "/feeds.opml?all=1",
            "/feeds/all.atom",
            "/feeds/all.rss",
            "/feeds/putin-invites-trump.json",
            story_path,
            "/status",
            "/metrics",
        ]
        for path in guarded:
            r = client.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == CHALLENGE, path
            assert client.get(path, headers=_basic(SERVICE_TOKEN)).status_code == 200, path
            sep = "&" if "?" in path else "?"
            assert client.get(f"{path}{sep}token={SERVICE_TOKEN}").status_code == 200, path
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        # A feed with its own token opens with that token only.
        assert client.get("/feeds/ukraine.atom", headers=_basic(SERVICE_TOKEN)).status_code == 401
        assert client.get("/feeds/ukraine.atom", headers=_basic(FEED_TOKEN)).status_code == 200
        assert client.get("/", headers=_basic(FEED_TOKEN)).status_code == 401
        index = client.get("/", headers=_basic(SERVICE_TOKEN)).text
        assert "/feeds/ukraine." not in index
        assert f'href="http://127.0.0.1:8080/feeds/all.atom?token={SERVICE_TOKEN}"' in index
        assert f'href="http://127.0.0.1:8080/feeds.opml?token={SERVICE_TOKEN}&amp;all=1"' in index
        feed = client.get("/feeds/all.atom", headers=_basic(SERVICE_TOKEN)).content
        assert SERVICE_TOKEN.encode() not in feed
        # A visitor who came with ?token= can follow every link of the pages without signing in.
        for page in ("/", "/status", story_path):
            text = client.get(f"{page}?token={SERVICE_TOKEN}").text
            links = {html.unescape(h) for h in re.findall(r'href="(http://127\.0\.0\.1:8080[^"]*)"', text)}
            assert f"http://127.0.0.1:8080/status?token={SERVICE_TOKEN}" in links
            for url in links:
                assert client.get(url.removeprefix("http://127.0.0.1:8080")).status_code == 200, (page, url)


def test_tokens_never_reach_the_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("kv", "DEBUG")
    try:
        with _private_client(tmp_path, SERVICE_TOKEN) as client:
            for token in (FEED_TOKEN, SERVICE_TOKEN, "wrong-" + FEED_TOKEN):
                for path in ("/feeds/ukraine.atom", "/feeds/all.json", "/feeds/nope.atom", "/", "/status"):
                    client.get(f"{path}?token={token}")
                    client.get(path, headers=_basic(token))
            logging.getLogger("feedsvc").info(
                "event=check url=%s", f"http://x/feeds/a.atom?token={FEED_TOKEN}"
            )
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "event=check url=http://x/feeds/a.atom?token=***" in err  # the lines were captured
    assert "HTTP Request: GET http://testserver/feeds/ukraine.atom?token=***" in err  # httpx's, masked
    assert FEED_TOKEN not in err and SERVICE_TOKEN not in err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed; .ci/run installs it")
def test_newsboat_reads_a_private_feed_and_the_server_never_logs_its_token(tmp_path: Path) -> None:
    from tests.ports import free_port
    from tests.test_newsboat import Newsboat
    from tests.test_serve import _serve, _stop, _wait_for_feed

    port = free_port()
    config = write_config(tmp_path, extra=PRIVATE_FEED, listen=f"127.0.0.1:{port}")
    config.write_text(config.read_text().replace('log_level = "WARNING"', 'log_level = "DEBUG"'))
    base = f"http://127.0.0.1:{port}"
    proc = _serve(config)
    try:
        _wait_for_feed(f"{base}/feeds/all.atom", proc, limit=120)
        deadline = time.monotonic() + 60
        # ready: every source tried and every feed (the private one too) published since, so its entries
        # no longer change under the readers
        while httpx.get(f"{base}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the service never became ready"
            time.sleep(0.2)
        assert len(feedparser.parse(httpx.get(f"{base}/feeds/all.atom").content).entries) == 9
        private = httpx.get(f"{base}/feeds/ukraine.atom", auth=("reader", FEED_TOKEN), timeout=10)
        expected = {e.id for e in feedparser.parse(private.content).entries}
        assert httpx.get(f"{base}/feeds/ukraine.atom", timeout=10).status_code == 401
        seen = {}
        for label, url in (
            ("basic", f"http://reader:{FEED_TOKEN}@127.0.0.1:{port}/feeds/ukraine.atom"),
            ("query", f"{base}/feeds/ukraine.atom?token={FEED_TOKEN}"),
            ("none", f"{base}/feeds/ukraine.atom"),
        ):
            reader = Newsboat(tmp_path / label, url)
            seen[label] = set(reader.reload())
            if label != "none":
                assert set(reader.reload()) == seen[label]  # and keeps them on the next reload
    finally:
        assert _stop(proc) == 0
    assert expected and seen["basic"] == seen["query"] == expected
    assert seen["none"] == set()
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "event=fetch" in log  # the DEBUG log was written...
    assert FEED_TOKEN not in log  # ...and never names the token

"""HTTP behaviour feed readers rely on: types, validators, 304s, gzip, HEAD, 404, index, OPML, stories."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from starlette.testclient import TestClient

from feedsvc.app import create_app
from feedsvc.settings import Settings
from feedsvc.web import accepts_gzip


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

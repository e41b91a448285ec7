"""Feeds readers trust: RFC 4287 essentials, RSS and JSON Feed twins, validators that only move on change."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser

from feedsvc.models import Cluster, Copy, FeedSpec
from feedsvc.publish import FeedContext, Publisher, render_atom, render_json, render_rss
from feedsvc.service import Service
from feedsvc.settings import Settings

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CTX = FeedContext("http://127.0.0.1:8080", "127.0.0.1,2026", datetime(2026, 1, 1, tzinfo=UTC))


def _cluster(cid: str, title: str, *outlets: str) -> Cluster:
    when = datetime(2025, 8, 19, 10, tzinfo=UTC)
    copies = tuple(
        Copy(
            key=f"{cid}-{i}",
            title=title,
            outlet=outlet,
            url=f"https://{outlet.lower().replace(' ', '')}.example/{cid}",
            published=when,
            body=("First paragraph.", "Second paragraph."),
            category="Politics",
            source="demo",
            first_seen=when,
        )
        for i, outlet in enumerate(outlets)
    )
    return Cluster(id=cid, created=when, updated=when, copies=copies, canonical_key=f"{cid}-0")


def test_every_demo_feed_meets_rfc4287_essentials(demo_settings: Callable[[], Settings]) -> None:
    service = Service(demo_settings())
    service.start()
    service.run_once()
    try:
        for spec in service.feed_specs():
            feed = service.publisher.get(f"{spec.name}.atom")
            assert feed is not None
            assert not feedparser.parse(feed.content).bozo
            root = ET.fromstring(feed.content)
            for tag in ("id", "title", "updated"):
                assert root.find(ATOM + tag) is not None, tag
            assert root.find(f"{ATOM}author/{ATOM}name") is not None
            self_links = [link for link in root.findall(ATOM + "link") if link.get("rel") == "self"]
            assert [link.get("href") for link in self_links] == [
                f"http://127.0.0.1:8080/feeds/{spec.name}.atom"
            ]
            ids = []
            for entry in root.findall(ATOM + "entry"):
                ids.append(entry.findtext(ATOM + "id"))
                assert entry.findtext(ATOM + "title")
                assert entry.find(f"{ATOM}author/{ATOM}name") is not None
                for tag in ("updated", "published"):
                    assert RFC3339.match(entry.findtext(ATOM + tag) or ""), tag
                for link in entry.findall(ATOM + "link"):
                    assert (link.get("href") or "").startswith(("http://", "https://"))
            assert len(ids) == len(set(ids)) and all(i and i.startswith("tag:") for i in ids)
            assert RFC3339.match(root.findtext(ATOM + "updated") or "")
    finally:
        service.close()


def test_rss_and_json_twins_carry_the_same_entries() -> None:
    spec = FeedSpec(name="all", title="All stories")
    entries = [_cluster("abc", "Wire story", "AP News", "CNN"), _cluster("def", "Other story", "Reuters")]
    rss = feedparser.parse(render_rss(spec, entries, CTX))
    assert not rss.bozo
    assert [e.id for e in rss.entries] == ["tag:127.0.0.1,2026:story/abc", "tag:127.0.0.1,2026:story/def"]
    assert b'isPermaLink="false"' in render_rss(spec, entries, CTX)
    doc = json.loads(render_json(spec, entries, CTX))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["feed_url"] == "http://127.0.0.1:8080/feeds/all.json"
    assert [i["id"] for i in doc["items"]] == [e.id for e in rss.entries]
    assert doc["items"][0]["authors"] == [{"name": "AP News"}, {"name": "CNN"}]


def test_entry_names_every_outlet_and_links_related_copies() -> None:
    cluster = _cluster("abc", "Wire", "AP News", "CNN")
    atom = feedparser.parse(render_atom(FeedSpec("all", "All"), [cluster], CTX))
    entry = atom.entries[0]
    assert [a.name for a in entry.authors] == ["AP News", "CNN"]
    assert entry.link == "https://apnews.example/abc"
    assert [link.href for link in entry.links if link.rel == "related"] == ["https://cnn.example/abc"]
    assert "Also reported by" in entry.content[0].value and "CNN" in entry.content[0].value
    assert entry.summary == "First paragraph."


def test_same_input_gives_identical_bytes() -> None:
    spec, entries = FeedSpec("all", "All"), [_cluster("abc", "Wire", "AP News")]
    assert render_atom(spec, entries, CTX) == render_atom(spec, entries, CTX)
    assert render_atom(spec, [], CTX) == render_atom(spec, [], CTX)


def test_last_modified_strictly_increases_on_change_even_in_one_second(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    first = publisher.publish("all.atom", "application/atom+xml", b"<a/>", now=now)
    same = publisher.publish("all.atom", "application/atom+xml", b"<a/>", now=now.replace(hour=13))
    assert same == first
    changed = publisher.publish("all.atom", "application/atom+xml", b"<b/>", now=now)
    assert changed.etag != first.etag and changed.last_modified > first.last_modified
    again = publisher.publish("all.atom", "application/atom+xml", b"<c/>", now=now)
    assert again.last_modified > changed.last_modified
    reloaded = Publisher(tmp_path)
    assert reloaded.load() == 1 and reloaded.get("all.atom") == again
    assert not list((tmp_path / "feeds").glob(".*.tmp"))


def test_xml_illegal_characters_never_break_a_feed() -> None:
    bad = _cluster("abc", "Bell\x07 in title", "AP\x0b News")
    feed = render_atom(FeedSpec("all", "All"), [bad], CTX)
    assert not feedparser.parse(feed).bozo
    assert b"\x07" not in feed and b"\x0b" not in feed


def test_filtered_feeds_select_by_outlet_keyword_category_and_source() -> None:
    wire = _cluster("a", "Wire story about Kyiv", "AP News", "CNN")
    other = _cluster("b", "Budget vote in Trenton", "NJ.com")
    assert FeedSpec("f", "F", outlets=("cnn",)).matches(wire)
    assert not FeedSpec("f", "F", outlets=("cnn",)).matches(other)
    assert FeedSpec("f", "F", keywords=("kyiv",)).matches(wire)
    assert FeedSpec("f", "F", keywords=("second paragraph",)).matches(other)  # body text counts too
    assert not FeedSpec("f", "F", keywords=("Moscow",)).matches(wire)
    assert FeedSpec("f", "F", categories=("politics",)).matches(wire)
    assert not FeedSpec("f", "F", categories=("Sport",)).matches(wire)
    assert FeedSpec("f", "F", sources=("demo",)).matches(wire)
    assert not FeedSpec("f", "F", sources=("elsewhere",)).matches(wire)
    both = FeedSpec("f", "F", outlets=("NJ.com",), keywords=("Kyiv",))
    assert not both.matches(wire) and not both.matches(other)  # every given filter must hold


def test_feed_files_are_world_readable_and_stale_temporaries_are_removed(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    stale = feeds / ".all.atom.k1ll3d.tmp"  # left by a process killed between write and rename
    stale.write_bytes(b"<half")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    fresh = feeds / ".all.rss.w0rk1ng.tmp"  # another process on this directory is writing it right now
    fresh.write_bytes(b"<in progress")
    publisher = Publisher(tmp_path)
    publisher.load()
    assert not stale.exists() and fresh.exists()
    publisher.publish("all.atom", "application/atom+xml", b"<a/>")
    assert stat.S_IMODE((feeds / "all.atom").stat().st_mode) == 0o644
    assert stat.S_IMODE((feeds / "all.atom.meta.json").stat().st_mode) == 0o644

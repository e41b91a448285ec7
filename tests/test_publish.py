"""Feeds readers trust: RFC 4287 essentials, RSS and JSON Feed twins, validators that only move on change."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.models import Cluster, Copy, Feed, FeedSpec, Source
from feedsvc.publish import (
    SUMMARY_MAX,
    Renderings,
    absolute_url,
    entries_digest,
    entry_stamps,
    excerpt,
    render_atom,
    render_json,
    render_rss,
)
from feedsvc.published import SIDECARS, FeedContext, Publisher, feed_language
from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings

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
    assert entry.summary == "First paragraph. Second paragraph."  # short: the excerpt is all of it


def test_same_input_gives_identical_bytes() -> None:
    spec, entries = FeedSpec("all", "All"), [_cluster("abc", "Wire", "AP News")]
    assert render_atom(spec, entries, CTX) == render_atom(spec, entries, CTX)
    assert render_atom(spec, [], CTX) == render_atom(spec, [], CTX)


def test_entries_rendered_once_for_a_build_give_the_bytes_of_feeds_rendered_alone() -> None:
    """A build renders each entry once for every feed that carries it (Renderings): every feed's bytes
    are those it has when rendered on its own, whatever the feeds rendered before it; and the JSON Feed
    is exactly json.dumps of its document."""
    base = _cluster("p1", "A picture", "AP News", "ABC News")
    shown = tuple(replace(c, image="https://cdn.example/a b.jpg") for c in base.copies)
    pictured = replace(base, copies=shown)
    plain = [_cluster(f"c{i}", f"Story {i} & <more>", "AP News", "NBC News", "CNN") for i in range(4)]
    twins = _same_second_clusters()  # equal seconds: stamps told apart by their milliseconds
    # Two ids whose stamps fall on the same millisecond: together, the later one moves to the next.
    first: dict[int, str] = {}
    for n in range(10_000):
        millis = entry_stamps([_cluster(f"x{n}", "X", "AP")])[f"x{n}"].microsecond
        if millis in first:
            clash = [_cluster(first[millis], "Clash", "AP"), _cluster(f"x{n}", "Clash too", "PBS")]
            break
        first[millis] = f"x{n}"
    stamps = entry_stamps(clash)
    assert stamps[clash[0].id] != stamps[clash[1].id] != entry_stamps(clash[1:])[clash[1].id]
    ctx = replace(CTX, hub="https://hub.example/")
    feeds = [
        (FeedSpec("all", "All"), [pictured, *plain, *twins], "en"),
        (FeedSpec("one", "One"), plain[:2], None),
        (FeedSpec("pics", "Pictures", token="secret"), [plain[3], pictured], "de"),
        (FeedSpec("empty", "Nothing"), [], None),
        (FeedSpec("same", "Same second"), twins[2:], None),
        (FeedSpec("clash", "Clash"), clash, None),
        (FeedSpec("later", "Later"), clash[1:], None),
    ]
    for render in (render_atom, render_rss, render_json):
        shared = Renderings(ctx)
        for _ in range(2):  # again: every entry now comes from what the first round rendered
            for spec, entries, language in feeds:
                alone = render(spec, entries, ctx, language=language)
                assert render(spec, entries, ctx, language=language, shared=shared) == alone, spec.name
    for spec, entries, language in feeds:
        text = render_json(spec, entries, ctx, language=language).decode("utf-8")
        assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n" == text


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


def test_exclusions_leave_out_stories_by_keyword_and_outlet() -> None:
    wire = _cluster("a", "Sports ministers meet in Kyiv", "AP News", "CNN")
    other = _cluster("b", "Transport budget vote in Trenton", "NJ.com")
    no_sport = FeedSpec("f", "F", exclude_keywords=("sport",))
    assert not no_sport.matches(wire)  # "sport" starts "Sports"
    assert no_sport.matches(other)  # but not "Transport": words match where they start
    no_cnn = FeedSpec("f", "F", exclude_outlets=("cnn",))
    assert not no_cnn.matches(wire)  # any outlet that carried it excludes it
    assert no_cnn.matches(other)
    # exclusions win over inclusions
    assert not FeedSpec("f", "F", keywords=("Kyiv",), exclude_outlets=("AP News",)).matches(wire)
    assert FeedSpec("f", "F", keywords=("kyiv",), exclude_keywords=("trenton",)).matches(wire)


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
    assert stat.S_IMODE((feeds / SIDECARS).stat().st_mode) == 0o644


# -- what the W3C feed validator checks ------------------------------------------------------------
# Encoded from its source (feedvalidator: entry.py, item.py, channel.py, link.py, validators.py,
# logging.py), the checks a feedsvc feed could trip, each named by the message it logs.

DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
RFC3339_STRICT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*)?(Z|[+-]\d{2}:\d{2})$")
RFC2822 = re.compile(
    r"^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d(:\d\d)? ([+-]?\d\d[03]0|UT|GMT|Z)$"
)
URI_CHARS = re.compile(r"^[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#\[\]]+$")
HTML_OK = {"a", "p", "ul", "ol", "li", "br", "em", "strong", "time", "img", "blockquote"}
HTML_ATTRS_OK = {"href", "src", "alt", "title", "datetime"}


def _html_problems(markup: str) -> list[str]:
    from html.parser import HTMLParser

    problems: list[str] = []

    class Check(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in HTML_OK:
                problems.append(f"SecurityRisk: <{tag}>")
            for name, value in attrs:
                if name not in HTML_ATTRS_OK:
                    problems.append(f"SecurityRiskAttr: {name}")
                if name in ("href", "src") and not re.match(r"^\w+:", value or ""):
                    problems.append(f"ContainsRelRef: {value}")

    Check().feed(markup)
    return problems


def _plausible(when: datetime) -> list[str]:
    if when.year < 1990 or (when - datetime.now(UTC)).total_seconds() > 600:
        return [f"ImplausibleDate: {when}"]
    return []


def atom_problems(content: bytes) -> list[str]:
    """Errors and warnings the W3C validator would log for an Atom feed (the checks feedsvc can trip)."""
    root = ET.fromstring(content)
    problems: list[str] = []
    if not any(link.get("rel") == "self" for link in root.findall(ATOM + "link")):
        problems.append("MissingSelf")
    updated_seen: set[str] = set()
    ids_seen: set[str] = set()
    for entry in root.findall(ATOM + "entry"):
        for tag in ("id", "title", "updated"):
            if entry.find(ATOM + tag) is None:
                problems.append(f"MissingElement: {tag}")
        if entry.find(ATOM + "author") is None and root.find(ATOM + "author") is None:
            problems.append("MissingElement: author")
        entry_id = entry.findtext(ATOM + "id") or ""
        if entry_id in ids_seen:
            problems.append(f"DuplicateEntries: {entry_id}")
        ids_seen.add(entry_id)
        updated = entry.findtext(ATOM + "updated") or ""
        if updated in updated_seen:  # feedvalidator: unique('updated', feed, DuplicateUpdated), by text
            problems.append(f"DuplicateUpdated: {updated}")
        updated_seen.add(updated)
        for tag in ("updated", "published"):
            text = entry.findtext(ATOM + tag)
            if text is not None:
                if not RFC3339_STRICT.match(text):
                    problems.append(f"InvalidRFC3339Date: {text}")
                else:
                    problems += _plausible(datetime.fromisoformat(text.replace("Z", "+00:00")))
        alternates = [
            link.get("type") for link in entry.findall(ATOM + "link") if link.get("rel") == "alternate"
        ]
        if len(alternates) != len(set(alternates)):
            problems.append("DuplicateAtomLink")
        for link in entry.findall(ATOM + "link"):
            if not URI_CHARS.match(link.get("href") or ""):
                problems.append(f"InvalidIRI: {link.get('href')}")
        body = entry.find(ATOM + "content")
        if body is None and entry.find(ATOM + "summary") is None:
            problems.append("MissingTextualContent")
        if body is not None and body.get("type") == "html":
            problems += _html_problems(body.text or "")
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang is not None and not re.match(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$", lang):
        problems.append(f"InvalidLanguage: {lang}")
    return problems


def rss_problems(content: bytes) -> list[str]:
    """The same for RSS 2.0, including the RSS Profile warnings the W3C validator logs."""
    channel = ET.fromstring(content).find("channel")
    assert channel is not None
    problems: list[str] = []
    if not any(link.get("rel") == "self" for link in channel.findall(ATOM + "link")):
        problems.append("MissingAtomSelfLink")
    if channel.find("language") is not None and channel.find(DC + "language") is not None:
        problems.append("DuplicateSemantics: language")
    seen_item = False
    guids: set[str] = set()
    for child in channel:
        if child.tag == "item":
            seen_item = True
        elif seen_item:
            problems.append(f"MisplacedItem: {child.tag} after the items")
    for item in channel.findall("item"):
        if item.find("title") is None and item.find("description") is None:
            problems.append("ItemMustContainTitleOrDescription")
        guid = item.findtext("guid")
        if guid is None:
            problems.append("MissingGuid")
        elif guid in guids:
            problems.append(f"DuplicateValue: guid {guid}")
        guids.add(guid or "")
        if item.find("author") is not None and item.find(DC + "creator") is not None:
            problems.append("DuplicateItemSemantics: author and dc:creator")
        tags = [child.tag for child in item]
        if CONTENT + "encoded" in tags and (
            "description" not in tags or tags.index("description") > tags.index(CONTENT + "encoded")
        ):
            problems.append("NeedDescriptionBeforeContent")
        pub = item.findtext("pubDate")
        if pub is not None:
            if not RFC2822.match(pub):
                problems.append(f"InvalidRFC2822Date: {pub}")
            else:
                from email.utils import parsedate_to_datetime

                problems += _plausible(parsedate_to_datetime(pub))
        title = item.findtext("title") or ""
        if re.search(r"</(\w+)>", title):
            problems.append("ContainsHTML: title")
        link = item.findtext("link")
        if link is not None and not URI_CHARS.match(link):
            problems.append(f"InvalidFullLink: {link}")
        for tag in ("description", CONTENT + "encoded"):
            problems += _html_problems(item.findtext(tag) or "")
    return problems


def _same_second_clusters() -> list[Cluster]:
    """Six stories one run touched: all updated in the same second, as in the demo's all.atom."""
    when = datetime(2025, 8, 19, 10, tzinfo=UTC)
    touched = datetime(2025, 8, 19, 11, 30, 5, tzinfo=UTC)
    result = []
    for i in range(6):
        base = _cluster(f"c{i}", f"Story {i}", "AP News", "NBC News")
        result.append(Cluster(base.id, when, touched, base.copies, base.canonical_key))
    return result


def test_the_validator_checks_catch_what_they_describe() -> None:
    """The encoded checks fail on the feeds the issue reported (so a pass below means something)."""
    entries = "".join(
        f"<entry><id>tag:x,2026:{i}</id><title>t</title><updated>2025-08-19T11:30:05Z</updated>"
        "<author><name>a</name></author><content type='html'>&lt;p&gt;x&lt;/p&gt;</content></entry>"
        for i in range(6)
    )
    old = f"<feed xmlns='http://www.w3.org/2005/Atom'><link rel='self' href='http://x/'/>{entries}</feed>"
    assert atom_problems(old.encode()) == ["DuplicateUpdated: 2025-08-19T11:30:05Z"] * 5
    two_authors = (
        "<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><item><title>t</title>"
        "<guid isPermaLink='false'>tag:x,2026:a</guid><author>a@example.org (A)</author>"
        "<dc:creator>B</dc:creator></item></channel></rss>"
    )
    assert rss_problems(two_authors.encode()) == [
        "MissingAtomSelfLink",
        "DuplicateItemSemantics: author and dc:creator",
    ]


def test_every_feed_passes_the_validator_checks(demo_settings: Callable[[], Settings]) -> None:
    service = Service(demo_settings())
    service.start()
    service.run_once()
    try:
        for spec in service.feed_specs():
            for ext, check in (("atom", atom_problems), ("rss", rss_problems)):
                feed = service.publisher.get(f"{spec.name}.{ext}")
                assert feed is not None
                assert check(feed.content) == [], f"{spec.name}.{ext}"
    finally:
        service.close()
    spec = FeedSpec("all", "All")
    clusters = _same_second_clusters()
    assert atom_problems(render_atom(spec, clusters, CTX)) == []
    assert rss_problems(render_rss(spec, clusters, CTX)) == []


def test_entry_updated_values_are_distinct_honest_and_stable() -> None:
    clusters = _same_second_clusters()
    stamps = entry_stamps(clusters)
    assert len(set(stamps.values())) == len(clusters)
    for cluster in clusters:  # within the second the change happened in, never before it
        assert (
            cluster.updated
            <= stamps[cluster.id]
            < cluster.updated.replace(microsecond=0) + timedelta(seconds=1)
        )
    # An entry's stamp does not depend on which other entries share the feed.
    assert entry_stamps(clusters[2:4]) == {c.id: stamps[c.id] for c in clusters[2:4]}
    # Colliding fractions are moved apart (a thousand entries in one second fill every millisecond).
    many = [
        Cluster(f"k{i}", c.created, c.updated, c.copies, c.canonical_key)
        for i in range(1000)
        for c in clusters[:1]
    ]
    assert len(set(entry_stamps(many).values())) == 1000


def test_summary_is_a_bounded_excerpt_and_content_the_whole_body() -> None:
    sentence = "Officials said the talks would resume next week in Geneva after a pause."
    body = tuple(f"{sentence} Paragraph {i} adds detail about the delegations." for i in range(12))
    cluster = _cluster("abc", "Long story", "AP News")
    cluster = Cluster(
        cluster.id,
        cluster.created,
        cluster.updated,
        (replace_body(cluster.copies[0], body),),
        cluster.canonical_key,
    )
    atom = feedparser.parse(render_atom(FeedSpec("all", "All"), [cluster], CTX))
    summary = atom.entries[0].summary
    assert 0 < len(summary) <= SUMMARY_MAX and summary.endswith(".")
    assert " ".join(body).startswith(summary)
    assert all(p in atom.entries[0].content[0].value for p in body)
    doc = json.loads(render_json(FeedSpec("all", "All"), [cluster], CTX))
    assert doc["items"][0]["summary"] == summary
    rss = feedparser.parse(render_rss(FeedSpec("all", "All"), [cluster], CTX))
    assert rss.entries[0].summary == summary and body[-1] in rss.entries[0].content[0].value


def replace_body(copy: Copy, body: tuple[str, ...]) -> Copy:
    from dataclasses import replace

    return replace(copy, body=body)


def test_excerpt_cuts_at_sentences_then_words() -> None:
    assert excerpt(("One. Two.",)) == "One. Two."
    assert excerpt(()) == ""
    long_sentence = "word " * 100
    cut = excerpt((long_sentence,))
    assert len(cut) <= SUMMARY_MAX and cut.endswith("word…")
    sentences = ("A first sentence that is long enough to count as a lead for the reader. " * 6,)
    cut = excerpt(sentences)
    assert len(cut) <= SUMMARY_MAX and cut.endswith("reader.") and "…" not in cut


@given(st.lists(st.text(min_size=0, max_size=400), max_size=6), st.integers(min_value=40, max_value=400))
def test_excerpt_is_bounded_and_a_prefix_of_the_text(paragraphs: list[str], limit: int) -> None:
    text = " ".join(" ".join(p.split()) for p in paragraphs if p.strip())
    cut = excerpt(paragraphs, limit)
    assert len(cut) <= limit
    assert text.startswith(cut.removesuffix("…").rstrip(" ,;:-–—"))
    assert (cut == text) or cut.endswith(("…", ".", "!", "?", "…", '"', "'", "”", "’", ")", "]"))


def test_every_outlet_reaches_every_reader() -> None:
    cluster = _cluster("abc", "Drone story", "NBC News", "ABC News", "AP News")
    spec = FeedSpec("all", "All")
    rss = ET.fromstring(render_rss(spec, [cluster], CTX))
    item = rss.find("channel/item")
    assert item is not None
    assert [e.text for e in item.findall(DC + "creator")] == ["NBC News, ABC News, AP News"]
    assert item.find("author") is None
    atom = feedparser.parse(render_atom(spec, [cluster], CTX))
    assert [a.name for a in atom.entries[0].authors] == ["NBC News", "ABC News", "AP News"]
    doc = json.loads(render_json(spec, [cluster], CTX))
    item_json = doc["items"][0]
    assert item_json["authors"] == [{"name": "NBC News"}, {"name": "ABC News"}, {"name": "AP News"}]
    assert "<li>" in item_json["content_html"] and "Also reported by" in item_json["content_html"]
    text = item_json["content_text"]
    assert "Also reported by:\n- ABC News (2025-08-19 10:00 UTC)\n  https://abcnews.example/abc" in text
    assert "- AP News" in text and "<" not in text


def test_language_comes_from_the_sources_and_is_absent_when_unknown() -> None:
    spec, entries = FeedSpec("all", "All"), [_cluster("abc", "Wire", "AP News")]
    atom = ET.fromstring(render_atom(spec, entries, CTX, language="de"))
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert ET.fromstring(render_rss(spec, entries, CTX, language="de")).findtext("channel/language") == "de"
    assert json.loads(render_json(spec, entries, CTX, language="de"))["language"] == "de"
    assert (
        "{http://www.w3.org/XML/1998/namespace}lang"
        not in ET.fromstring(render_atom(spec, entries, CTX)).attrib
    )
    assert b"<language>" not in render_rss(spec, entries, CTX)
    assert "language" not in json.loads(render_json(spec, entries, CTX))
    de = Source("spiegel", "https://spiegel.example/", 900, language="de")
    en = Source("ap", "https://ap.example/", 900, language="en")
    unknown = Source("other", "https://other.example/", 900)
    assert feed_language(FeedSpec("spiegel", "Spiegel", sources=("spiegel",)), [de, en]) == "de"
    assert feed_language(FeedSpec("all", "All"), [de, en]) is None
    assert feed_language(FeedSpec("all", "All"), [en, en]) == "en"
    assert feed_language(FeedSpec("all", "All"), [en, unknown]) is None


def test_links_are_absolute_and_percent_encoded() -> None:
    assert absolute_url("https://news.example/a b|c/ü?q=1") == "https://news.example/a%20b%7Cc/%C3%BC?q=1"
    assert absolute_url("/relative/path") is None
    assert absolute_url("javascript:alert(1)") is None
    assert absolute_url(None) is None
    assert absolute_url("https://news.example/already%20encoded") == "https://news.example/already%20encoded"


def test_feeds_built_for_another_public_url_are_rebuilt_at_start(
    demo_config: Path, demo_settings: Callable[[], Settings]
) -> None:
    first = Service(demo_settings())
    first.publisher.load(first._fingerprint())  # what Service.start loads with
    first.run_once()
    first.close()
    moved = load_settings(demo_config, environ={"FEEDSVC_PUBLIC_URL": "https://feeds.example.org"})
    service = Service(moved)
    try:
        fingerprint = service._fingerprint()  # what Service.start loads with
        assert service.publisher.load(fingerprint) > 0
        outdated = service.publisher.outdated()
        assert "all.atom" in outdated and len(outdated) == len(service.feed_specs()) * 3
        service.publish_feeds()  # what Service.start does when anything is outdated
        assert service.publisher.outdated() == []
        feed = service.publisher.get("all.atom")
        assert feed is not None and b"https://feeds.example.org/feeds/all.atom" in feed.content
        assert b"127.0.0.1:8080" not in feed.content
        again = Publisher(moved.data_dir)  # the next start finds nothing to rebuild
        again.load(fingerprint)
        assert again.outdated() == []
    finally:
        service.close()


def test_same_bytes_under_a_new_fingerprint_keep_their_validators(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    publisher.load("one")
    feed = publisher.publish("all.atom", "application/atom+xml", b"<a/>")
    later = Publisher(tmp_path)
    later.load("two")
    assert later.outdated() == ["all.atom"]
    same = later.publish("all.atom", "application/atom+xml", b"<a/>")
    assert same == feed and later.outdated() == []
    assert Publisher(tmp_path).load("two") == 1


def test_a_build_is_stored_and_written_whole_with_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedsvc.published as publish_module

    synced: list[int] = []
    real_fsync = publish_module.os.fsync
    monkeypatch.setattr(publish_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    publisher = Publisher(tmp_path)
    publisher.load("fp")
    items = [(f"f{i}.atom", "application/atom+xml", f"<f{i}/>".encode(), f"in{i}") for i in range(5)]
    results = publisher.publish_many(items)
    assert len(synced) == 1  # the directory, once for the whole build: not two per feed
    assert all(publisher.up_to_date(name, inputs) for name, _, _, inputs in items)
    assert not publisher.up_to_date("f0.atom", "other entries")
    synced.clear()
    again = publisher.publish_many(items)  # the same bytes: nothing written, nothing synced
    assert again == results and synced == []
    # Another process on the data directory knows what each file was built from (its sidecar says).
    later = Publisher(tmp_path)
    assert later.load("fp") == 5
    assert later.current(name for name, *_ in items)
    assert all(later.up_to_date(name, inputs) for name, _, _, inputs in items)
    assert all(later.get(name) == results[name] for name, *_ in items)
    other = Publisher(tmp_path)
    other.load("another rendering context")
    assert not other.up_to_date("f0.atom", "in0") and not other.current(["f0.atom"])
    assert not later.current(["f0.atom", "missing.atom"])


def test_a_build_writes_its_feeds_and_one_file_of_sidecars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedsvc.published as publish_module

    renamed: list[str] = []
    real_replace = publish_module.os.replace
    monkeypatch.setattr(
        publish_module.os,
        "replace",
        lambda src, dst: (renamed.append(Path(dst).name), real_replace(src, dst)),
    )
    publisher = Publisher(tmp_path)
    publisher.load("fp")
    items = [(f"f{i}.atom", "application/atom+xml", f"<f{i}/>".encode(), f"in{i}") for i in range(5)]
    publisher.publish_many(items)
    assert sorted(renamed) == sorted([SIDECARS, *(name for name, *_ in items)])  # not a sidecar file each
    renamed.clear()
    publisher.publish_many([("f0.atom", "application/atom+xml", b"<new/>", "new")])
    assert renamed == ["f0.atom", SIDECARS]  # the sidecars after the feed they describe
    renamed.clear()
    publisher.publish_many([("f1.atom", "application/atom+xml", b"<f1/>", "other entries")])
    assert renamed == [SIDECARS]  # the same bytes from other entries: only the sidecar entry changes
    later = Publisher(tmp_path)
    assert later.load("fp") == 5
    assert later.up_to_date("f0.atom", "new") and later.up_to_date("f1.atom", "other entries")
    assert later.get("f0.atom") == publisher.get("f0.atom")


def test_a_file_the_sidecars_do_not_describe_is_not_served(tmp_path: Path) -> None:
    """A kill between a feed's rename and the sidecars': the file's new bytes fail the old entry's ETag."""
    publisher = Publisher(tmp_path)
    publisher.load("fp")
    publisher.publish_many(
        [(f"f{i}.atom", "application/atom+xml", f"<f{i}/>".encode(), None) for i in range(2)]
    )
    (tmp_path / "feeds" / "f0.atom").write_bytes(b"<newer/>")
    later = Publisher(tmp_path)
    assert later.load("fp") == 1 and later.get("f0.atom") is None and not later.current(["f0.atom"])
    (tmp_path / "feeds" / SIDECARS).write_bytes(b'{"f1.atom": {"etag": ')  # torn by a power cut
    assert Publisher(tmp_path).load("fp") == 0


def test_the_sidecar_files_of_an_older_feedsvc_are_read_then_replaced(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    content = b"<a/>"
    (feeds / "all.atom").write_bytes(content)
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    meta = {"etag": etag, "last_modified": "2026-01-01T12:00:00+00:00", "media_type": "application/atom+xml"}
    (feeds / "all.atom.meta.json").write_text(json.dumps({**meta, "fingerprint": "fp", "inputs": "in"}))
    publisher = Publisher(tmp_path)
    assert publisher.load("fp") == 1
    assert publisher.up_to_date("all.atom", "in") and publisher.current(["all.atom"])
    assert publisher.get("all.atom") == Feed(
        "all.atom", meta["media_type"], content, etag, datetime(2026, 1, 1, 12, tzinfo=UTC)
    )
    publisher.publish("all.rss", "application/rss+xml", b"<rss/>", inputs="in")
    assert not (feeds / "all.atom.meta.json").exists()  # its entry is in the sidecars now
    later = Publisher(tmp_path)
    assert later.load("fp") == 2 and later.up_to_date("all.atom", "in") and later.up_to_date("all.rss", "in")


def test_the_entries_digest_changes_with_whatever_the_entries_show() -> None:
    base = _cluster("abc", "Wire", "AP News", "CNN")
    digest = entries_digest([base])
    assert entries_digest([_cluster("abc", "Wire", "AP News", "CNN")]) == digest  # a pure function
    canonical = base.copies[0]
    grown = replace(canonical, body=(*canonical.body, "A third paragraph."))
    variants = [
        [],
        [base, _cluster("def", "Other", "BBC")],
        [replace(base, updated=base.updated + timedelta(seconds=1))],
        [replace(base, canonical_key=base.copies[1].key)],
        [replace(base, copies=base.copies[:1])],  # a copy left (a fold moved it, or prune)
        [replace(base, copies=(grown, base.copies[1]))],  # the canonical body grew
    ]
    assert len({digest, *(entries_digest(v) for v in variants)}) == len(variants) + 1


def test_two_publishers_on_one_directory_keep_each_others_sidecar_entries(tmp_path: Path) -> None:
    """A leader handover (or ``run-once`` beside ``serve``): each publisher's build kept only the entries it
    knew, so the other's files lost theirs and were rebuilt, not served, at the next start."""
    first, second = Publisher(tmp_path), Publisher(tmp_path)
    first.load("fp")
    second.load("fp")
    first.publish("a.atom", "application/atom+xml", b"<a/>", inputs="in")
    second.publish("b.atom", "application/atom+xml", b"<b/>", inputs="in")
    second.publish("a.atom", "application/atom+xml", b"<a2/>", inputs="in2")  # newer than first's
    first.publish("c.atom", "application/atom+xml", b"<c/>", inputs="in")  # first's a.atom entry is stale
    later = Publisher(tmp_path)
    assert later.load("fp") == 3
    assert later.get("a.atom") == second.get("a.atom") and later.up_to_date("a.atom", "in2")
    assert later.up_to_date("b.atom", "in") and later.up_to_date("c.atom", "in")


def test_an_older_feedsvcs_sidecar_file_left_beside_the_sidecars_is_removed(tmp_path: Path) -> None:
    """A kill between writing the sidecars and removing the old files, or an older writer in a rolling
    upgrade, left NAME.meta.json files that were never removed once the sidecars existed."""
    publisher = Publisher(tmp_path)
    publisher.load("fp")
    publisher.publish("a.atom", "application/atom+xml", b"<a/>", inputs="in")
    stale = tmp_path / "feeds" / "a.atom.meta.json"
    stale.write_text("{}")
    later = Publisher(tmp_path)
    later.load("fp")
    later.publish("b.atom", "application/atom+xml", b"<b/>", inputs="in")
    assert not stale.exists()

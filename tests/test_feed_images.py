"""Pictures and page titles as readers get them: Atom and RSS media:thumbnail, JSON Feed `image`, the story
page, and each source's feed named by its page (or its `title` setting), republished when that changes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest
from starlette.testclient import TestClient

from feedsvc.app import create_app
from feedsvc.models import FeedSpec, Source
from feedsvc.service import Service, titled_specs
from feedsvc.settings import Settings, load_settings
from tests.conftest import DATA, DEMO_PAGES
from tests.test_publish import ATOM, URI_CHARS, atom_problems, rss_problems

MEDIA = "{http://search.yahoo.com/mrss/}"
LIFEBOAT = "https://img.harboursidewire.example/2025/08/19/lifeboat-1440.jpg"
RESERVOIR = "https://media.valleyledger.example/2025/08/reservoir-16x9.jpg"


def media_problems(content: bytes) -> list[str]:
    """What the W3C validator would log for feedsvc's pictures (feedvalidator media.py, item.py): a
    media:thumbnail needs a full URI in url and takes only url/width/height/time, positive integers for
    the sizes; an RSS enclosure needs a positive integer length and a MIME type (feedsvc never writes
    one, as it does not know an image's length)."""
    problems: list[str] = []
    for el in ET.fromstring(content).iter():
        if el.tag == MEDIA + "thumbnail":
            url = el.get("url")
            if not url:
                problems.append("MissingAttribute: url")
            elif not URI_CHARS.match(url):
                problems.append(f"InvalidFullLink: {url}")
            for name, value in el.attrib.items():
                if name not in ("url", "width", "height", "time"):
                    problems.append(f"UnexpectedAttribute: {name}")
                elif name in ("width", "height") and not (value.isdigit() and int(value) > 0):
                    problems.append(f"InvalidPositiveInteger: {name}")
        elif el.tag == "enclosure":
            length = el.get("length") or ""
            if not (length.isdigit() and int(length) > 0):
                problems.append("InvalidIntegerAttribute: length")
            if not el.get("type"):
                problems.append("MissingAttribute: type")
    return problems


def test_the_media_checks_catch_what_they_describe() -> None:
    bad = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><item>'
        '<media:thumbnail url="relative/a.jpg" width="0" medium="image"/><media:thumbnail/>'
        '<enclosure url="https://i.example/a.jpg" length="0"/></item></channel></rss>'
    )
    assert media_problems(bad.encode()) == [
        "InvalidFullLink: relative/a.jpg",
        "InvalidPositiveInteger: width",
        "UnexpectedAttribute: medium",
        "MissingAttribute: url",
        "InvalidIntegerAttribute: length",
        "MissingAttribute: type",
    ]


def _config(tmp_path: Path) -> Path:
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(DATA / "pages" / "html-image-cards.html", pages / "cards.html")
    shutil.copy(DATA / "pages" / "html-jsonld-image-article.html", pages / "ledger.html")
    shutil.copy(DEMO_PAGES / "daily8-putin-invites-trump.txt", pages / "putin.txt")
    text = (
        "[service]\n"
        'listen = "127.0.0.1:8080"\npublic_url = "http://127.0.0.1:8080"\n'
        f'database_url = "sqlite:///{tmp_path}/db/feedsvc.db"\ndata_dir = "{tmp_path}/data"\n'
        'log_level = "WARNING"\n\n'
        '[[sources]]\nname = "harbourside"\nurl = "pages/cards.html"\ninterval = "15m"\n\n'
        '[[sources]]\nname = "ledger"\nurl = "pages/ledger.html"\ninterval = "15m"\n'
        'title = "The Valley Ledger, front page"\n\n'
        '[[sources]]\nname = "world-briefing"\nurl = "pages/putin.txt"\ninterval = "15m"\n'
    )
    path = tmp_path / "feedsvc.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(_config(tmp_path), environ={})


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    service = Service(settings)
    service.start()
    try:
        yield service
    finally:
        service.close()


def _feed(service: Service, name: str) -> bytes:
    feed = service.publisher.get(name)
    assert feed is not None, name
    return feed.content


def test_entries_carry_their_pictures_in_every_format(service: Service) -> None:
    assert all(r.ok for r in service.run_once())
    atom = _feed(service, "harbourside.atom")
    entries = {e.findtext(ATOM + "title"): e for e in ET.fromstring(atom).findall(ATOM + "entry")}
    thumbs = {t: [m.get("url") for m in e.findall(MEDIA + "thumbnail")] for t, e in entries.items()}
    assert thumbs["Lifeboat crew rescue four kayakers swept out past the headland"] == [LIFEBOAT]
    assert thumbs["Harbour dredging plan approved despite objections from anglers"] == []
    assert sum(1 for urls in thumbs.values() if urls) == 5

    rss = _feed(service, "harbourside.rss")
    items = {i.findtext("title"): i for i in ET.fromstring(rss).iter("item")}
    lifeboat = items["Lifeboat crew rescue four kayakers swept out past the headland"]
    assert [m.get("url") for m in lifeboat.findall(MEDIA + "thumbnail")] == [LIFEBOAT]
    assert lifeboat.find("enclosure") is None  # an image's byte length is unknown: no enclosure

    doc = json.loads(_feed(service, "harbourside.json"))
    images = {i["title"]: i.get("image") for i in doc["items"]}
    assert images["Lifeboat crew rescue four kayakers swept out past the headland"] == LIFEBOAT
    assert "image" not in next(i for i in doc["items"] if i["title"].startswith("Harbour dredging"))
    resize = images["New bus route links six villages to the market town on weekdays"]
    assert resize is not None and resize.startswith("https://img.harboursidewire.example/resize?src=https%3A")

    parsed = feedparser.parse(atom)
    assert not parsed.bozo
    by_title = {e.title: e for e in parsed.entries}
    assert (
        by_title["Lifeboat crew rescue four kayakers swept out past the headland"].media_thumbnail[0]["url"]
        == LIFEBOAT
    )
    assert feedparser.parse(rss).entries[0].media_thumbnail[0]["url"].startswith("https://")

    for spec in service.feed_specs():
        for ext, check in (("atom", atom_problems), ("rss", rss_problems)):
            content = _feed(service, f"{spec.name}.{ext}")
            assert check(content) == [] and media_problems(content) == [], f"{spec.name}.{ext}"
    # a feed with no picture declares no Media RSS namespace (its bytes are as before)
    assert b"search.yahoo.com/mrss" not in _feed(service, "world-briefing.atom")
    assert b"search.yahoo.com/mrss" in _feed(service, "all.rss")


def test_each_source_feed_is_named_by_its_page_setting_or_name(service: Service) -> None:
    service.run_once()
    titles = {s.name: s.title for s in service.feed_specs()}
    assert titles["harbourside"] == "UK news – Harbourside Wire"  # what the page calls itself
    assert titles["ledger"] == "The Valley Ledger, front page"  # the setting wins
    assert titles["world-briefing"] == "World briefing"  # a text rendering names nothing: the name in words
    assert ET.fromstring(_feed(service, "harbourside.atom")).findtext(ATOM + "title") == titles["harbourside"]
    assert json.loads(_feed(service, "harbourside.json"))["title"] == titles["harbourside"]
    assert service.store.source_titles() == {
        "harbourside": "UK news – Harbourside Wire",
        "ledger": "Valley Ledger",
    }


def test_a_page_that_renames_itself_republishes_its_feed(service: Service, settings: Settings) -> None:
    service.run_once()
    assert service.lead() is not None
    before = service.publisher.get("harbourside.atom")
    assert before is not None and service.lead() == 0  # nothing changed: nothing rebuilt
    page = settings.data_dir.parent / "pages" / "cards.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace('content="UK news"', 'content="UK and Ireland news"'),
        encoding="utf-8",
    )
    harbourside = next(s for s in settings.sources if s.name == "harbourside")
    report = service.run_source(harbourside, force=True)
    assert report.ok and report.new_clusters == 0  # the same stories: only the page's name changed
    assert service.lead() > 0  # type: ignore[operator]
    after = service.publisher.get("harbourside.atom")
    assert after is not None and after.etag != before.etag
    assert ET.fromstring(after.content).findtext(ATOM + "title") == "UK and Ireland news – Harbourside Wire"
    assert service.publisher.get("ledger.atom") is not None


def test_a_failed_fetch_keeps_the_last_page_title(service: Service, settings: Settings) -> None:
    service.run_once()
    (settings.data_dir.parent / "pages" / "cards.html").write_text("", encoding="utf-8")
    harbourside = next(s for s in settings.sources if s.name == "harbourside")
    assert not service.run_source(harbourside, force=True).ok
    assert service.store.source_titles()["harbourside"] == "UK news – Harbourside Wire"


def test_titled_specs_touch_only_untitled_source_feeds() -> None:
    sources = (
        Source(name="gn-world", url="https://g.example", interval=900),
        Source(name="ledger", url="https://l.example", interval=900, title="Ledger"),
    )
    specs = (
        FeedSpec("all", "All stories"),
        FeedSpec("gn-world", "gn-world", sources=("gn-world",)),
        FeedSpec("ledger", "Ledger", sources=("ledger",)),
        FeedSpec("topic", "topic", sources=("gn-world",)),
    )
    got = titled_specs(specs, sources, {"gn-world": "World – Google News", "ledger": "Valley Ledger"})
    assert [s.title for s in got] == ["All stories", "World – Google News", "Ledger", "topic"]
    assert [s.title for s in titled_specs(specs, sources, {})][1] == "Gn world"
    # a configured feed over one source keeps the title it was given
    mine = (FeedSpec("gn-world", "My world feed", sources=("gn-world",)),)
    assert titled_specs(mine, sources, {"gn-world": "World – Google News"}) == mine


def test_the_index_and_story_pages_show_titles_and_pictures(settings: Settings) -> None:
    app = create_app(settings, schedule=False)
    service: Service = app.state.service
    service.run_once()
    with TestClient(app) as client:
        index = client.get("/").text
        assert "UK news – Harbourside Wire" in index and "The Valley Ledger, front page" in index
        assert "World briefing" in index
        lifeboat = next(
            c for c in service.store.recent_clusters(limit=100) if c.canonical.title.startswith("Lifeboat")
        )
        page = client.get(f"/stories/{lifeboat.id}").text
        assert re.search(rf'<img src="{re.escape(LIFEBOAT)}" alt=""', page)
        plain = next(c for c in service.store.recent_clusters(limit=100) if c.image is None)
        assert "<img" not in client.get(f"/stories/{plain.id}").text

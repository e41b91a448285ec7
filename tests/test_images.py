"""Story pictures and page titles: the forms pages give them in, and what is never taken for one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from feedsvc.extract import extract_page
from feedsvc.extract.html import parse_html, parse_html_page
from feedsvc.extract.html.images import MAX_IMAGE_URL, parse_srcset
from feedsvc.extract.jsonld import image_urls
from feedsvc.models import Page, Source

FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)
PAGE_URL = "https://news.example.com/uk/index.html"
PARAS = "".join(
    f"<p>{p}</p>"
    for p in (
        "The harbour board voted on Tuesday to extend the ferry timetable into winter for the first time.",
        "Board members said passenger numbers had risen by a fifth since the new terminal opened in spring.",
        "The change will add two sailings a day on weekdays and one more sailing on Saturdays from November.",
    )
)


def _stories(html: str, url: str | None = PAGE_URL) -> list[Any]:
    return parse_html(html, page_url=url, fetched_at=FETCHED, date_order="DMY", profile=None)


def _card_image(img: str, url: str | None = PAGE_URL) -> str | None:
    html = (
        "<!DOCTYPE html><html><body><main>"
        f'<article class="card">{img}<h3><a href="/a/ferry-timetable-extended">Ferry timetable extended into'
        " the winter months</a></h3><div>Harbour Herald · 2 hours ago</div></article>"
        '<article class="card"><h3><a href="/b/other">Council approves new harbour wall after storm</a></h3>'
        "<div>Coast News · 3 hours ago</div></article></main></body></html>"
    )
    stories = _stories(html, url)
    assert stories[0].title == "Ferry timetable extended into the winter months"
    assert stories[1].image is None  # a card without a picture never borrows its neighbour's
    return stories[0].image


def _article_image(head: str, body: str = "") -> str | None:
    html = (
        f"<!DOCTYPE html><html><head><title>Ferry timetable extended | Harbour Herald</title>{head}</head>"
        f"<body><main><article><h1>Ferry timetable extended into the winter</h1>{body}{PARAS}</article>"
        "</main></body></html>"
    )
    stories = _stories(html, "https://herald.example/news/2025/08/19/ferry-timetable-extended")
    assert stories and stories[0].title == "Ferry timetable extended into the winter"
    return stories[0].image


def _ld(obj: dict[str, Any]) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


# -- article pages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "want"),
    [
        ('<meta property="og:image" content="https://cdn.herald.example/lead.jpg">', "lead.jpg"),
        ('<meta property="og:image" content="/img/lead.jpg">', "img/lead.jpg"),  # relative: resolved
        ('<meta name="twitter:image" content="https://cdn.herald.example/tw.jpg">', "tw.jpg"),
        ('<meta name="twitter:image:src" content="https://cdn.herald.example/tw2.jpg">', "tw2.jpg"),
        (_ld({"@type": "NewsArticle", "image": "https://cdn.herald.example/ld.jpg"}), "ld.jpg"),
        (_ld({"@type": "NewsArticle", "image": ["https://cdn.herald.example/a.jpg", "b.jpg"]}), "a.jpg"),
        (
            _ld(
                {"@type": "NewsArticle", "image": {"@type": "ImageObject", "url": "https://c.example/o.jpg"}}
            ),
            "o.jpg",
        ),
        (
            _ld(
                {
                    "@type": "NewsArticle",
                    "image": [
                        {"@type": "ImageObject", "contentUrl": "https://c.example/first.jpg"},
                        {"@type": "ImageObject", "url": "https://c.example/second.jpg"},
                    ],
                }
            ),
            "first.jpg",
        ),
        (_ld({"@type": "NewsArticle", "thumbnailUrl": "https://c.example/thumb.jpg"}), "thumb.jpg"),
        ('<link rel="image_src" href="https://c.example/linked.jpg">', "linked.jpg"),
    ],
)
def test_an_article_pages_declared_image(head: str, want: str) -> None:
    got = _article_image(head)
    assert got is not None and got.startswith(("https://", "http://")) and got.endswith(want)


def test_og_image_comes_before_json_ld_and_twitter() -> None:
    head = (
        '<meta name="twitter:image" content="https://c.example/tw.jpg">'
        + _ld({"@type": "NewsArticle", "image": "https://c.example/ld.jpg"})
        + '<meta property="og:image" content="https://c.example/og.jpg">'
    )
    assert _article_image(head) == "https://c.example/og.jpg"


def test_a_logo_as_og_image_is_passed_over_for_the_next_declaration() -> None:
    head = (
        '<meta property="og:image" content="https://herald.example/static/logo-share.png">'
        + _ld({"@type": "NewsArticle", "image": {"@id": "https://herald.example/x/#primaryimage"}})
        + '<meta name="twitter:image" content="https://c.example/photo.jpg">'
    )
    assert _article_image(head) == "https://c.example/photo.jpg"


def test_an_undeclared_article_uses_its_own_photo_not_the_cards_around_it() -> None:
    figure = '<figure><img src="/img/ferry.jpg" width="800" height="450" alt="The ferry"></figure>'
    assert _article_image("", figure) == "https://herald.example/img/ferry.jpg"
    assert _article_image("", '<img src="/brand/logo.png" alt="Harbour Herald">') is None


def test_json_ld_image_forms() -> None:
    assert list(image_urls(" https://a.example/x.jpg ")) == ["https://a.example/x.jpg"]
    assert list(image_urls(["https://a/1.jpg", "", 5, "https://a/2.jpg"])) == [
        "https://a/1.jpg",
        "https://a/2.jpg",
    ]
    assert list(image_urls({"@type": "ImageObject", "url": "u", "contentUrl": "c"})) == ["u"]
    assert list(image_urls({"@type": "ImageObject", "contentUrl": "c"})) == ["c"]
    assert list(image_urls({"@id": "https://a.example/#primaryimage"})) == []
    assert list(image_urls(None)) == [] and list(image_urls({"url": ["x"]})) == []


# -- cards --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("img", "want"),
    [
        ('<img src="https://i.example/a.jpg" alt="">', "https://i.example/a.jpg"),
        ('<img src="/t/a.jpg">', "https://news.example.com/t/a.jpg"),
        ('<img src="//i.example/a.jpg">', "https://i.example/a.jpg"),
        (
            '<img src="data:image/gif;base64,R0lGOD" data-src="/t/lazy.jpg">',
            "https://news.example.com/t/lazy.jpg",
        ),
        ('<img data-original="https://i.example/orig.jpg">', "https://i.example/orig.jpg"),
        (
            '<img src="https://i.example/s.jpg" srcset="https://i.example/m.jpg 2x">',
            "https://i.example/m.jpg",
        ),
        (
            '<img src="https://i.example/s.jpg" srcset="https://i.example/w1.jpg 300w, '
            'https://i.example/w2.jpg 900w, https://i.example/w3.jpg 600w">',
            "https://i.example/w2.jpg",
        ),
        (
            '<picture><source type="image/avif" srcset="https://i.example/p.avif 2000w">'
            '<source srcset="https://i.example/p-1000.jpg 1000w, https://i.example/p-500.jpg 500w">'
            '<img src="data:image/gif;base64,R0lGOD"></picture>',
            "https://i.example/p-1000.jpg",
        ),
    ],
)
def test_a_cards_picture(img: str, want: str) -> None:
    assert _card_image(img) == want


@pytest.mark.parametrize(
    "img",
    [
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img src="https://t.example/p.gif" width="1" height="1">',
        '<img src="https://t.example/p.gif" style="width:1px;height:1px">',
        '<img src="https://i.example/outlet.png" width="16" height="16" alt="Harbour Herald">',
        '<img src="https://i.example/brand/harbour-herald-logo.png" alt="">',
        '<img src="https://i.example/a.png" alt="Harbour Herald logo">',
        '<img class="author-avatar" src="https://i.example/jane.jpg">',
        '<span class="avatar"><img src="https://i.example/jane.jpg"></span>',
        '<img class="sprite" src="https://i.example/ui.png">',
        '<img src="https://i.example/assets/placeholder.png">',
        '<img src="https://i.example/icons/play.svg">',
        '<img src="https://i.example/img/blank.gif">',
        '<img src="https://encrypted-tbn1.gstatic.com/faviconV2?url=https://www.herald.example">',
        '<img src="javascript:alert(1)">',
        '<img src="ftp://i.example/a.jpg">',
        f'<img src="https://i.example/{"x" * MAX_IMAGE_URL}.jpg">',
    ],
)
def test_never_a_picture(img: str) -> None:
    assert _card_image(img) is None


def test_a_relative_picture_without_a_page_address_is_dropped() -> None:
    assert _card_image('<img src="/t/a.jpg">', url=None) is None
    assert _card_image('<img src="https://i.example/a.jpg">', url=None) == "https://i.example/a.jpg"


def test_srcset_parsing() -> None:
    assert parse_srcset("a.jpg 480w, b.jpg 960w") == [("a.jpg", 480.0, True), ("b.jpg", 960.0, True)]
    assert parse_srcset("a.jpg, b.jpg 2x") == [("a.jpg", 1.0, False), ("b.jpg", 2.0, False)]
    # commas inside a URL (image CDNs' transformations) do not split it
    got = parse_srcset("https://c.example/c_fill,w_400/a.jpg 400w, https://c.example/c_fill,w_800/a.jpg 800w")
    assert [u for u, _, _ in got] == [
        "https://c.example/c_fill,w_400/a.jpg",
        "https://c.example/c_fill,w_800/a.jpg",
    ]
    assert parse_srcset("a.jpg 100h, b.jpg junk") == []
    assert parse_srcset("  ,, ") == []


# -- titles, and pages without either ----------------------------------------------------------------------


def _title(head: str, body: str = "<main><p>Nothing here yet.</p></main>") -> str | None:
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
    return parse_html_page(html, page_url=PAGE_URL, fetched_at=FETCHED, date_order="DMY", profile=None).title


@pytest.mark.parametrize(
    ("head", "want"),
    [
        ("<title>Europe | Eurodesk News</title>", "Europe | Eurodesk News"),
        (
            '<title>Europe | Eurodesk News</title><meta property="og:site_name" content="Eurodesk News">',
            "Europe – Eurodesk News",
        ),
        (
            '<title>Eurodesk News - Europe</title><meta property="og:site_name" content="Eurodesk News">',
            "Europe – Eurodesk News",
        ),
        (
            '<title>Yahoo News - Latest World News &amp; Headlines</title><meta property="og:title" '
            'content="World News"><meta property="og:site_name" content="Yahoo News">',
            "World News – Yahoo News",
        ),
        (
            '<meta property="og:title" content="Yahoo News">'
            '<meta property="og:site_name" content="Yahoo News">',
            "Yahoo News",
        ),
        ('<meta property="og:site_name" content="Eurodesk News">', "Eurodesk News"),
        ("<title>  | Daily8 |  </title>", "Daily8"),
        ("<title>" + "Very long title " * 20 + "</title>", None),  # bounded: checked below
        ("", None),
    ],
)
def test_a_listings_title(head: str, want: str | None) -> None:
    got = _title(head)
    if "Very long" in head:
        assert got is not None and len(got) <= 120 and got.endswith("…")
    else:
        assert got == want


def test_an_article_pages_title_is_its_sites_name_not_its_headline() -> None:
    head = (
        "<title>Ferry timetable extended | Harbour Herald</title>"
        '<meta property="og:type" content="article"><meta property="og:site_name" content="Harbour Herald">'
    )
    assert _title(head) == "Harbour Herald"
    ld = _ld(
        {"@type": "NewsArticle", "headline": "Ferry", "publisher": {"@type": "Organization", "name": "HH"}}
    )
    assert _title("<title>Ferry | HH</title>" + ld) == "HH"
    assert _title('<title>Ferry</title><meta property="og:type" content="article">') is None


def test_a_text_rendering_has_neither_pictures_nor_a_title() -> None:
    text = (
        "logo\nCouncil approves new harbour wall after storm damage\n"
        "Council approves new harbour wall after storm damage\nCoast News2 hours ago\n"
        "The council approved the plan on Monday. ![photo](https://i.example/wall.jpg)\n"
    )
    page = Page(source="t", url="/tmp/t.txt", content=text.encode(), fetched_at=FETCHED)
    found = extract_page(page, Source(name="t", url="/tmp/t.txt", interval=900))
    assert found.stories and all(s.image is None for s in found.stories)
    assert found.title is None


@pytest.mark.parametrize(
    "path",
    [
        "/img/icons/a.png", "/img/iconsx/a.png", "/a/xicons.png", "/a/icons2.png", "/a/é-avatar.jpg",
        "/a/avatar_1.jpg", "/msnlogo.png", "/fashion-icon-dies.jpg", "/a/spacer.gif", "/a/spacers.gif",
        "/faviconv2", "/sprites/x.png", "/x/placeholder", "/gravatar9/a.jpg", "/photo/2025/story.jpg", "",
    ],
)  # fmt: skip
def test_furniture_words_in_a_path_are_whole_words_or_glued_names(path: str) -> None:
    # the one search finds what looking at every word of the path (runs of letters and digits) finds
    from feedsvc.extract.html.images import _FURNITURE_PATH_RE, _FURNITURE_PATH_WORDS

    words = set(re.findall(r"[a-z0-9]+", path))
    glued = re.search(r"logo|favicon|sprite", path) is not None
    assert (_FURNITURE_PATH_RE.search(path) is not None) == (glued or bool(words & _FURNITURE_PATH_WORDS))

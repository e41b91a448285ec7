"""The grown listings of ``bench.extract_pages`` parse to the stories recorded in tests/data/listings/ (made
by the extractor before its listing speed-ups), and the shortcuts those speed-ups take give what the general
path gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from bench.extract_pages import LISTINGS, big_html
from feedsvc.extract.html import parse_html_page
from feedsvc.extract.html.dom import _ad_link, _parse
from feedsvc.extract.html.page import _Page

RECORDED = Path(__file__).parent / "data" / "listings"
FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)


@pytest.mark.parametrize("label", sorted(LISTINGS))
def test_grown_listing_gives_the_recorded_stories(label: str) -> None:
    name, start, end = LISTINGS[label]
    want = json.loads((RECORDED / f"{Path(name).stem}.json").read_text(encoding="utf-8"))
    text = big_html(name, start, end, want["target_bytes"]).decode()
    page = parse_html_page(
        text,
        page_url="https://daily8.example/tag/ukraine",
        fetched_at=FETCHED,
        date_order="DMY",
        profile=None,
    )
    assert page.title == want["title"]
    assert [s.to_json() for s in page.stories] == want["stories"]


def _general(base: str | None, href: str) -> str | None:
    """_Page.url as urljoin and urlsplit give it, for an href that is not a fragment or script link."""
    try:
        url = urljoin(base, href) if base else href
        return url if url.startswith(("http://", "https://")) and urlsplit(url).hostname else None
    except ValueError:
        return None


HREFS = [
    "https://example.com/a/b?x=1#top",
    "http://example.com",
    "https://example.com?q=1",
    "https://Example.COM:8080/p",
    "https://example.com/a;params",
    "https://example.com/a?",
    "https://example.com/a#",
    "https://example.com/a?#f",
    "https://user@example.com/a",
    "https://@example.com/a",
    "https://:80/a",
    "https:///a",
    "https://[::1]/a",
    "https://[::1/a",
    "HTTPS://example.com/a",
    "https://exa\tmple.com/a",
    "https://example.com/a b",
    "https://exämple.com/a",
    "/news/world/story-1",
    "/",
    "//cdn.example.com/i.jpg",
    "/a/./b",
    "/a/../b",
    "/a/..",
    "/a/.",
    "/a/.b/..c",
    "/a//b",
    "/a;p?q=1",
    "/a?",
    "/a?q=1#frag",
    "/a#",
    "../news/x",
    "news/x",
    "?page=2",
    "ftp://example.com/f",
]
BASES = [
    "https://daily8.example/tag/ukraine",
    "http://example.org:8080/a/b/",
    "https://user@example.org/x",
    "https://[::1]/x",
    "https://[::1/x",
    "https:///nohost",
    None,
]


@pytest.mark.parametrize("base", BASES)
def test_page_urls_match_urljoin(base: str | None) -> None:
    page = _Page(None, {}, None, base, FETCHED, "DMY", None)  # type: ignore[arg-type]
    assert [page.url(href) for href in HREFS] == [_general(base, href) for href in HREFS]


@pytest.mark.parametrize(
    ("href", "ad"),
    [
        ("https://ad.doubleclick.net/x", True),
        ("https://AD.DoubleClick.NET/x", True),
        ("https://doubleclic\u212a.net/x", True),  # the Kelvin sign: "k" once the host is lower-cased
        ("https://double\tclick.net/x", True),  # urlsplit drops the tab
        ("https://www.taboola.com.example.org/x", False),
        ("https://news.example.com/doubleclick.net", False),
        ("https://[doubleclick.net/x", False),
    ],
)
def test_ad_links(href: str, ad: bool) -> None:
    assert _ad_link(href) is ad


def test_blank_runs_collapse_outside_pre_only() -> None:
    parsed = _parse(
        "<html><body><div id=d><span>a</span>\x0c  <!-- c -->\t\t<b>b</b>&#12; </div>"
        "<pre>  <i>x</i>  </pre><p> </p></body></html>"
    )
    assert parsed is not None
    div = parsed.root.get_element_by_id("d")
    span, comment, bold = div[0], div[1], div[2]
    assert (span.tail, comment.tail, bold.tail) == (" ", " ", "\n")  # a newline goes before </div>
    pre = next(parsed.root.iter("pre"))
    assert (pre.text, pre[0].tail) == ("\n  ", "  \n")  # kept as they are (with the block breaks)
    assert next(parsed.root.iter("p")).text == "\n"  # " \n \n": one newline

"""Hostile and generated pages: extraction ends in stories or an ExtractError naming the source, never in
any other exception. CI runs a few hundred generated pages per run; `make fuzz` runs 10,000+."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.errors import ExtractError
from feedsvc.extract import extract
from feedsvc.models import Page, Source

FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)
SOURCE = Source(name="fuzz", url="https://agg.example/world/", interval=900)
EXAMPLES = int(os.environ.get("FEEDSVC_FUZZ_EXAMPLES", "300"))
# CI runs the same pages every time (a red CI names a real bug, not a lucky draw); `make fuzz` draws anew.
RANDOM = os.environ.get("FEEDSVC_FUZZ_RANDOM") == "1"

_HOSTILE_VALUES = [
    "http://[x",
    "http://[::1",
    "https://[fe80::1%25en0]/a",
    "//[bad]/x",
    "javascript:alert(1)",
    "\ud800",
    "x\udfffy",
    "\x00",
    "rot13",
    "base64",
    "utf-7",
    "9" * 40,
    "-1",
    "2025-13-45T99:99:99Z",
    "1e400",
    "\u202e\u2066evil\u2069",
    "",
    " ",
    "%",
    "%zz",
    "http://a b/",
    "http://999999999999/",
    "http://example.com:99999/",
    "mailto:",
    "data:text/html,<b>x</b>",
]
_WORDS = st.sampled_from(
    ["Council", "approves", "harbour", "wall", "Reuters", "AP", "2 hours ago", "vor 3 Stunden",
     "3/9(木) 18:45", "Sponsored", "Ad", "Provided by", "配信", "Yesterday", "now", "•", "|", "—",
     "Read more", "Related"]
)  # fmt: skip
_TEXT = st.one_of(st.lists(_WORDS, max_size=12).map(" ".join), st.text(max_size=40))
_VALUE = st.one_of(st.sampled_from(_HOSTILE_VALUES), _TEXT)
_TAGS = st.sampled_from(
    ["div", "article", "section", "li", "ul", "h1", "h2", "h3", "a", "p", "span", "time", "img", "main",
     "header", "footer", "nav", "aside", "figure", "figcaption", "base", "meta", "link", "script", "br"]
)  # fmt: skip
_ATTRS = st.sampled_from(
    ["href", "src", "datetime", "content", "property", "name", "class", "id", "itemprop", "charset", "rel",
     "alt", "lang", "role", "aria-hidden", "style", "data-src"]
)  # fmt: skip


def _attr_text(attrs: list[tuple[str, str]]) -> str:
    return "".join(f' {k}="{v.replace(chr(34), "&quot;")}"' for k, v in attrs)


_ELEMENT = st.recursive(
    _TEXT,
    lambda children: st.builds(
        lambda tag, attrs, kids: f"<{tag}{_attr_text(attrs)}>{''.join(kids)}</{tag}>",
        _TAGS,
        st.lists(st.tuples(_ATTRS, _VALUE), max_size=4),
        st.lists(children, max_size=5),
    ),
    max_leaves=40,
)
_LD = st.builds(
    lambda kind, url, headline, date, body: json.dumps(
        {"@context": "https://schema.org", "@type": kind, "url": url, "headline": headline,
         "datePublished": date, "articleBody": body,
         "publisher": {"@type": "Organization", "name": headline}},
        ensure_ascii=False,
    ),
    st.sampled_from(["NewsArticle", "Article", ["NewsArticle", "Thing"], "ItemList", 7]),
    _VALUE,
    _VALUE,
    _VALUE,
    _TEXT,
)  # fmt: skip


@st.composite
def _pages(draw: st.DrawFn) -> tuple[bytes, str | None]:
    head = "".join(
        [
            f'<meta charset="{draw(_VALUE)}">' if draw(st.booleans()) else "",
            f'<base href="{draw(_VALUE)}">' if draw(st.booleans()) else "",
            f'<link rel="canonical" href="{draw(_VALUE)}">' if draw(st.booleans()) else "",
            f'<meta property="og:url" content="{draw(_VALUE)}">' if draw(st.booleans()) else "",
            f'<meta property="article:published_time" content="{draw(_VALUE)}">'
            if draw(st.booleans())
            else "",
            f'<script type="application/ld+json">{draw(_LD)}</script>' if draw(st.booleans()) else "",
        ]
    )
    body = "".join(draw(st.lists(_ELEMENT, max_size=8)))
    html = f'<!doctype html><html lang="{draw(_VALUE)}"><head>{head}</head><body>{body}</body></html>'
    if draw(st.booleans()):
        html = html[: draw(st.integers(0, len(html)))]  # cut off anywhere
    content_type = draw(st.sampled_from([None, "text/html", f"text/html; charset={draw(_VALUE)}"]))
    encoded = html.encode("utf-8", "surrogatepass")
    return encoded, content_type


def _extract(content: bytes, content_type: str | None) -> None:
    page = Page(source="fuzz", url=SOURCE.url, content=content, fetched_at=FETCHED, content_type=content_type)
    try:
        stories = extract(page, SOURCE)
    except ExtractError:
        return
    for story in stories:
        assert story.title and "\n" not in story.title
        assert story.published is None or story.published <= FETCHED
        assert story.url is None or story.url.startswith(("http://", "https://"))
        story.title.encode("utf-8")  # no lone surrogates reach the store or the feeds
        story.body_text.encode("utf-8")
        (story.url or "").encode("utf-8")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not RANDOM,
)
@given(_pages())
def test_generated_hostile_pages_never_raise_anything_but_extract_error(
    page: tuple[bytes, str | None],
) -> None:
    _extract(*page)


def test_known_triggers() -> None:
    """The triggers an outside fuzz run found, each alone."""
    triggers = [
        ('<html><head><meta charset="rot13"></head><body><h1>A headline about the harbour</h1></body></html>',
         None),
        ("<p>x</p><h2><a href='/a'>Council approves the new harbour wall</a></h2><p>Reuters 2 hours ago</p>",
         "text/html; charset=rot13"),
        ('<base href="http://[x"><h2><a href="/a">Council approves the new harbour wall</a></h2>'
         "<span>Reuters</span><span>2 hours ago</span>", None),
        ('<h2><a href="http://[x/a">Council approves the new harbour wall</a></h2>'
         "<span>Reuters</span><span>2 hours ago</span>", None),
        ('<script type="application/ld+json">{"@type": "NewsArticle", "url": "https://e.example/\\ud800", '
         '"headline": "Council approves the new harbour wall", "articleBody": "The council voted."}</script>'
         "<h1>Council approves the new harbour wall</h1><p>The council voted on Tuesday.</p>", None),
    ]  # fmt: skip
    for html, content_type in triggers:
        _extract(html.encode("utf-8", "surrogatepass"), content_type)

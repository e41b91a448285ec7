"""Split an HTML page into stories: the main article (structured data merged with its DOM), then cards."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, ParserRejectedMarkup, Tag, UnusualUsageWarning
from bs4.element import NavigableString
from soupsieve import SelectorSyntaxError
from soupsieve import compile as soupsieve_compile

from feedsvc.extract import times
from feedsvc.extract.clean import clean_body, clean_line, is_chrome
from feedsvc.models import DateOrder, SiteProfile, Story, utc

_log = logging.getLogger(__name__)

# Elements that never hold story text, whatever their class or position.
_NEVER_TEXT = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "select", "input", "textarea", "figcaption",
)  # fmt: skip
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figure", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "table", "td", "th",
    "tr", "ul",
})  # fmt: skip
_HEADINGS = ["h2", "h3", "h4", "h5", "h6"]  # h1 is the page's own title, never a card's
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "dialog", "alertdialog"})
# Page chrome recognised by class/id words. Prefixes catch "cookieBanner", "subscription", "advertorial";
# "ad" must be a whole word or it would hit "header", "thread" and "badge".
_CHROME_PREFIXES = (
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "newsletter",
    "subscri",
    "promo",
    "advert",
    "sponsor",
)
_CHROME_WORDS = frozenset({
    "ad", "ads", "adslot", "adunit", "adsbygoogle", "dfp", "onetrust", "cmp", "popup", "modal", "breadcrumb",
    "breadcrumbs", "share", "shares", "sharing", "sharebar", "sharetools", "sharethis", "addthis", "social",
    "comment", "comments", "commenting", "disqus", "outbrain", "taboola", "tweet", "instagram", "tiktok",
    # screen-reader-only text ("Published" before a time): not shown, so not "as shown"
    "sronly", "visuallyhidden", "screenreader", "screenreadertext", "vh",
})  # fmt: skip
# A record carrying one of these is paid placement; "promo" is missing on purpose: news sites call their
# own story cards promos (BBC's "gs-c-promo"), and a profile must be able to select them.
_SPONSOR_PREFIXES = ("sponsor", "advert", "promoted", "paidcontent", "paidpost")
_SPONSOR_WORDS = frozenset({"ad", "ads", "nativead"})
_SPONSOR_LABELS = frozenset({
    "sponsored", "ad", "ads", "advertisement", "promoted", "paid content", "paid post", "paid partnership",
    "sponsored content", "partner content", "paid for by", "sponsored by", "promoted by",
})  # fmt: skip
_SPONSOR_LINE_RE = re.compile(r"^(?:sponsored|promoted|paid for) by\s", re.IGNORECASE)

_OUTLET_HINTS = frozenset(
    {"source", "provider", "outlet", "publisher", "attribution", "sitename", "publication"}
)
_CATEGORY_HINTS = frozenset({"category", "categories", "kicker", "eyebrow", "rubric", "topic"})
_SNIPPET_HINTS = frozenset({
    "summary", "snippet", "excerpt", "description", "desc", "dek", "teaser", "standfirst", "abstract",
    "blurb",
})  # fmt: skip
_TITLE_HINTS = frozenset({"title", "headline", "heading", "hed"})
# Words that share a meta line with a time but are not outlets ("Updated • 2 hours ago").
_NOT_OUTLETS = frozenset({
    "published", "updated", "posted", "last updated", "modified", "live", "breaking", "breaking news",
    "video", "watch", "listen", "opinion", "analysis", "exclusive", "read more", "new",
})  # fmt: skip
_PROVIDED_RE = re.compile(r"^\s*(?:provided by|source:)\s*(?P<name>.*)$", re.IGNORECASE)
_OUTLET_PREFIX_RE = re.compile(r"^(?:provided by|source:|from|via|by)\s+", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"\s*(?:[•·‣▪◦|]|\s[-–—]\s)\s*")
_READ_TIME_RE = re.compile(r"^\d+\s*min(?:ute)?s?\s+read$", re.IGNORECASE)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT_RE = re.compile(r"[^A-Za-z0-9]+")
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_CLOSED_RE = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
_UNPARSEABLE_RE = re.compile("[\x00\ud800-\udfff]")
_ARTICLE_BODY = "[itemprop~=articleBody]"
_ARTICLE_TYPES = frozenset({"blogposting", "liveblogposting"})
_TIME = ""  # marks the time's place among the parts of a meta line


# -- small helpers over bs4 ------------------------------------------------------------------------------


def _attr(el: Tag, name: str) -> str | None:
    value = el.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _words(el: Tag) -> set[str]:
    """The words of an element's class and id, camelCase split, plus joined neighbours ("site-name")."""
    raw = _CAMEL_RE.sub(" ", f"{_attr(el, 'class') or ''} {_attr(el, 'id') or ''}")
    words = [w.lower() for w in _WORD_SPLIT_RE.split(raw) if w]
    return {*words, *(a + b for a, b in pairwise(words))}


def _has_hint(el: Tag, hints: frozenset[str]) -> bool:
    return bool(_words(el) & hints) or (_attr(el, "itemprop") or "").lower() in hints


def _tags(root: Tag, name: str | list[str] | None = None) -> Iterator[Tag]:
    for el in root.find_all(name) if name else root.find_all(True):
        if isinstance(el, Tag):
            yield el


def _lines(el: Tag) -> list[str]:
    return [line for raw in el.get_text().split("\n") if (line := clean_line(raw))]


def _text(el: Tag) -> str:
    return clean_line(el.get_text())


def _within(el: Tag, container: Tag) -> bool:
    return el is container or any(parent is container for parent in el.parents)


class _Fence:
    """Elements to keep out of a search, with their subtrees and their ancestors."""

    def __init__(self, tags: Iterable[Tag | None]) -> None:
        self.inside: set[int] = set()
        self.around: set[int] = set()
        for tag in tags:
            if tag is None:
                continue
            self.inside.add(id(tag))
            self.inside.update(id(d) for d in tag.descendants)
            self.around.update(id(p) for p in tag.parents)

    def covers(self, el: Tag) -> bool:
        return id(el) in self.inside

    def touches(self, el: Tag) -> bool:
        return id(el) in self.inside or id(el) in self.around


# -- the page: parse, read the machine-readable parts, drop the chrome --------------------------------------


@dataclass
class _Page:
    soup: BeautifulSoup
    meta: dict[str, str]
    ld: dict[str, Any] | None
    base: str | None
    fetched_at: datetime
    date_order: DateOrder
    # Ids of the elements around the last text of a page that was cut off (kept as ids because chrome removal
    # may take the innermost ones away): a story whose container is among them is incomplete.
    cut: frozenset[int] | None

    def url(self, href: str | None) -> str | None:
        href = (href or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            return None
        url = urljoin(self.base, href) if self.base else href
        return url if url.startswith(("http://", "https://")) else None

    def is_cut(self, *containers: Tag | None) -> bool:
        return self.cut is not None and any(c is not None and id(c) in self.cut for c in containers)


def _parse(text: str) -> BeautifulSoup | None:
    # lxml rejects NULs and lone surrogates; they carry no text anyway.
    text = _UNPARSEABLE_RE.sub("", text)
    try:
        with warnings.catch_warnings():
            # "looks like a URL/filename" and "XML parsed as HTML" are guesses about the caller; we know.
            warnings.simplefilter("ignore", UnusualUsageWarning)
            return BeautifulSoup(text, "lxml")
    except (ParserRejectedMarkup, ValueError, UnicodeError, RecursionError) as exc:
        _log.warning("unparseable HTML page: %s", exc)
        return None


def _read_page(
    soup: BeautifulSoup, text: str, page_url: str | None, fetched_at: datetime, order: DateOrder
) -> _Page:
    meta = _meta_tags(soup)
    base = page_url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(page_url or "", _attr(base_tag, "href") or "") or page_url
    if not (base or "").startswith(("http://", "https://")):
        # Without a page URL, the page's own canonical address still anchors its relative links.
        own = meta.get("canonical") or meta.get("og:url") or ""
        base = own if own.startswith(("http://", "https://")) else None
    return _Page(soup, meta, _json_ld(soup), base, fetched_at, order, _cut_point(soup, text))


def _meta_tags(soup: BeautifulSoup) -> dict[str, str]:
    meta: dict[str, str] = {}
    for tag in _tags(soup, "meta"):
        key = _attr(tag, "property") or _attr(tag, "name") or _attr(tag, "itemprop")
        content = _attr(tag, "content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), content.strip())
    for link in _tags(soup, "link"):
        if "canonical" in (_attr(link, "rel") or "").lower().split() and _attr(link, "href"):
            meta.setdefault("canonical", (_attr(link, "href") or "").strip())
    return meta


def _json_ld(soup: BeautifulSoup) -> dict[str, Any] | None:
    """The page's own article object (top level or in @graph; an ItemList's members are cards, not it)."""
    for script in _tags(soup, "script"):
        if (_attr(script, "type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.get_text().strip().removeprefix("<!--").removesuffix("-->").strip()
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        for item in _ld_items(data):
            if _is_article(item):
                return item
    return None


def _ld_items(data: Any) -> Iterator[dict[str, Any]]:
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (g for g in graph if isinstance(g, dict))


def _is_article(item: dict[str, Any]) -> bool:
    kinds = item.get("@type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if isinstance(kind, str):
            name = kind.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
            if name.endswith("article") or name in _ARTICLE_TYPES:
                return True
    return False


def _cut_point(soup: BeautifulSoup, text: str) -> frozenset[int] | None:
    """Ids of the elements holding the last text of a page cut off before its end; None for a whole page."""
    # HTML allows leaving </body></html> out, but fetched pages keep them; a page that holds neither lost its
    # end. Where it still ends on whole records, its last text is chrome or a script, which no story holds.
    if _CLOSED_RE.search(text[-4096:]):
        return None
    last: NavigableString | None = None
    for node in soup.descendants:
        if isinstance(node, NavigableString) and node.strip():
            last = node
    return frozenset(id(parent) for parent in last.parents) if last is not None else frozenset()


def _drop_chrome(soup: BeautifulSoup, keep: set[int]) -> None:
    """Remove page chrome in place; ``keep`` holds ids of elements a site profile selected."""
    for el in list(_tags(soup, list(_NEVER_TEXT))):
        el.extract()
    page_chars = len(soup.get_text())
    for el in list(_tags(soup)):
        if id(el) in keep or not _attached(el, soup) or not _is_chrome_element(el):
            continue
        if _is_label(el.get_text()):
            continue  # a "Sponsored" badge stays so that the card around it is recognised and dropped
        if not _holds_content(el, page_chars, structural=el.name in ("nav", "header", "footer", "form")):
            el.extract()


def _attached(el: Tag, soup: BeautifulSoup) -> bool:
    return any(parent is soup for parent in el.parents)


def _is_chrome_element(el: Tag) -> bool:
    if el.name in ("nav", "form", "dialog"):
        return True
    if (
        el.name in ("header", "footer")
        and el.find_parent(["article", "main", "section", "li", "aside"]) is None
    ):
        return True
    if (_attr(el, "role") or "").lower() in _CHROME_ROLES:
        return True
    if (
        el.has_attr("hidden")
        or _attr(el, "aria-hidden") == "true"
        or _HIDDEN_STYLE_RE.search(_attr(el, "style") or "")
    ):
        return True
    if _is_label(_attr(el, "aria-label") or ""):
        return True
    return any(w in _CHROME_WORDS or w.startswith(_CHROME_PREFIXES) for w in _words(el))


def _holds_content(el: Tag, page_chars: int, structural: bool) -> bool:
    """A chrome-looking element that wraps the page's real content (an ASP.NET page-wide <form>,
    a <div class="has-ads"> wrapper) must stay; a site header holding the logo's <h1> must not."""
    if el.name in ("html", "body", "main"):
        return True
    if el.find("main") or el.select_one(_ARTICLE_BODY):
        return True
    h1 = el.find("h1")
    if isinstance(h1, Tag) and (not structural or len(h1.get_text().split()) >= 4):
        return True  # a headline, not a logo
    return len(el.get_text()) * 2 > page_chars > 500


def _mark_blocks(soup: BeautifulSoup) -> None:
    """Make get_text() line-structured: a newline where the page breaks a line (block edges, <br>), none
    where only the source was wrapped, so "Reuters" and "2 hours ago" in sibling <div>s stay apart."""
    for node in list(soup.descendants):
        if type(node) is NavigableString and "\n" in node:
            node.replace_with(node.replace("\n", " "))
    for el in list(_tags(soup, ["br", "hr"])):
        el.replace_with("\n")
    for el in list(_tags(soup, list(_BLOCKS))):
        el.insert(0, "\n")
        el.append("\n")


def _is_label(text: str) -> bool:
    folded = text.strip().strip(":").casefold()
    return folded in _SPONSOR_LABELS or bool(_SPONSOR_LINE_RE.match(folded))


def _sponsored(record: Tag) -> bool:
    """Paid placement: a sponsor class on the record (or a wrapper), a rel=sponsored link, or a label."""
    if any(w in _SPONSOR_WORDS or w.startswith(_SPONSOR_PREFIXES) for w in _words(record)):
        return True
    for parent in record.parents:
        if isinstance(parent, Tag) and any(w.startswith(_SPONSOR_PREFIXES) for w in _words(parent)):
            return True
    if any("sponsored" in (_attr(a, "rel") or "").lower() for a in _tags(record, "a")):
        return True
    if any(_is_label(el.get_text()) for el in _tags(record)):
        return True  # a badge element: <span>Sponsored</span>, even when glued to the brand next to it
    return any(_is_label(part) for line in _lines(record) for part in _SEPARATOR_RE.split(line))


# -- fields shared by the main story and the cards ---------------------------------------------------------


@dataclass
class _When:
    machine: str | None  # a machine-readable datetime (attribute, JSON-LD, meta)
    text: str | None  # the time as the page shows it
    outlet: str | None = None  # an outlet named on the same meta line ("Reuters • 2 hours ago")
    line: Tag | None = None  # the meta line element, kept out of the snippet


@dataclass
class _Fields:
    title: str
    url: str | None = None
    outlet: str | None = None
    category: str | None = None
    published: datetime | None = None
    published_text: str | None = None
    body: tuple[str, ...] = ()


def _machine_time(value: str | None) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        pass
    if value.isdigit() and len(value) in (10, 13):  # epoch seconds or milliseconds
        return datetime.fromtimestamp(int(value[:10]), UTC)
    try:
        return utc(parsedate_to_datetime(value))  # RFC 822, as in feeds and HTTP headers
    except (TypeError, ValueError, IndexError):
        return None


def _stamp(page: _Page, machines: list[str | None], text: str | None) -> tuple[datetime | None, str | None]:
    """(published, published_text): a machine datetime wins; the visible text is resolved only without one."""
    for machine in machines:
        published = _machine_time(machine)
        if published is not None:
            return published, text or (machine or "").strip()
    published = times.resolve(text, page.fetched_at, page.date_order)
    return published, text or next((m.strip() for m in machines if m and m.strip()), None)


def _find_when(scope: Tag, fence: _Fence) -> _When | None:
    """The first time in ``scope``: a <time> or datePublished element, else a recognisable time phrase."""
    for el in _tags(scope):
        if fence.covers(el):
            continue
        if el.name == "time" or (_attr(el, "itemprop") or "").lower() == "datepublished":
            machine = _attr(el, "datetime") or _attr(el, "content")
            shown = _text(el)
            text = times.strip_icon(shown) or shown or None
            return _When(machine, text, *_meta_line(el, scope, fence, text))
    for node in scope.find_all(string=True):
        if type(node) is not NavigableString or not isinstance(node.parent, Tag) or fence.covers(node.parent):
            continue
        phrase = _phrase_in(str(node))
        if phrase:
            return _When(None, phrase, *_meta_line(node.parent, scope, fence, phrase))
    return None


def _phrase_in(text: str) -> str | None:
    for part in _SEPARATOR_RE.split(clean_line(text)):
        phrase = times.strip_icon(part)
        glued = None if phrase else times.split_glued(part)
        if phrase or glued:
            return phrase or (glued[1] if glued else None)
    return None


def _meta_line(el: Tag, scope: Tag, fence: _Fence, phrase: str | None) -> tuple[str | None, Tag]:
    """Climb from the time to the widest short line around it; return the outlet it names and the line."""
    line = el
    while line is not scope and isinstance(line.parent, Tag) and line.parent is not scope:
        parent = line.parent
        text = parent.get_text()
        if fence.touches(parent) or len(text.strip()) > 120 or len(_lines(parent)) > 4:
            break
        line = parent
    return _outlet_in_lines(_lines(line), phrase, byline_is_author=True), line


def _outlet_in_lines(lines: list[str], phrase: str | None, byline_is_author: bool) -> str | None:
    """The outlet among a meta line's parts: the name nearest before the time ("Reuters • 2 hours ago";
    what follows a time is a section link more often than an outlet), or the first name without a time."""
    parts: list[str | None] = []
    for line in lines:
        for part in _SEPARATOR_RE.split(line):
            if not part:
                continue
            glued = times.split_glued(part)
            if part == phrase or times.strip_icon(part):
                parts.append(_TIME)
            elif glued:
                parts.extend([_outlet_name(glued[0], byline_is_author), _TIME])
            else:
                parts.append(_outlet_name(part, byline_is_author))
    if _TIME in parts:
        before = [p for p in parts[: parts.index(_TIME)] if p]
        return before[-1] if before else None
    return next((p for p in parts if p), None)


def _outlet_name(text: str, byline_is_author: bool = False) -> str | None:
    name = clean_line(text).strip(" •·|-–—:©")
    if byline_is_author and name[:3].lower() == "by ":
        return None  # "By Jane Doe": a reporter, not an outlet
    name = _OUTLET_PREFIX_RE.sub("", name).strip()
    if not name or len(name) > 60 or len(name.split()) > 8 or name.endswith((".", "!", "?", ",")):
        return None
    folded = name.casefold()
    if folded in _NOT_OUTLETS or _is_label(name) or _READ_TIME_RE.match(name) or times.strip_icon(name):
        return None
    return None if is_chrome(name) else name


def _provided_by(scope: Tag, fence: _Fence) -> str | None:
    """The outlet a republishing page credits: "Provided by Reuters" (the name may sit in a sibling)."""
    for node in scope.find_all(string=_PROVIDED_RE):
        el = node.parent
        for _ in range(3):
            if not isinstance(el, Tag) or fence.covers(el):
                break
            for line in _lines(el):
                match = _PROVIDED_RE.match(line)
                name = _outlet_name(match.group("name")) if match else None
                if name:
                    return name
            logo = el.find("img", alt=True)
            if isinstance(logo, Tag) and (name := _logo_name(_attr(logo, "alt"))):
                return name
            el = el.parent
    return None


def _hinted(scope: Tag, hints: frozenset[str], fence: _Fence) -> Iterator[Tag]:
    for el in _tags(scope):
        if not fence.covers(el) and el.find_parent("figure") is None and _has_hint(el, hints):
            yield el


def _outlet_of(el: Tag) -> str | None:
    """An outlet element's name: its text (minus any time on the same line), else its logo's alt text."""
    name = _outlet_in_lines(_lines(el), None, byline_is_author=False)
    if name:
        return name
    for inner in _tags(el):
        alt = _attr(inner, "content") if _attr(inner, "itemprop") == "name" else _attr(inner, "alt")
        if name := _logo_name(alt):
            return name
    return None


def _logo_name(alt: str | None) -> str | None:
    return _outlet_name(re.sub(r"\s+logo$", "", alt or "", flags=re.IGNORECASE)) if alt else None


def _hinted_outlet(scope: Tag, fence: _Fence) -> str | None:
    for el in _hinted(scope, _OUTLET_HINTS, fence):
        name = _outlet_of(el)
        if name:
            return name
    return None


def _hinted_category(scope: Tag, fence: _Fence) -> str | None:
    for el in _hinted(scope, _CATEGORY_HINTS, fence):
        text = _text(el)
        if text and len(text) <= 40 and not _is_label(text):
            return text
    return None


def _snippet(scope: Tag, fence: _Fence, title: str) -> str | None:
    """A card's summary: a summary-like element first, else its first real <p>."""
    candidates = [
        *_hinted(scope, _SNIPPET_HINTS, fence),
        *(p for p in _tags(scope, "p") if not fence.touches(p)),
    ]
    for el in candidates:
        if fence.touches(el):
            continue
        text = _text(el)
        if text and text != title and len(text.split()) >= 4 and not is_chrome(text):
            return text
    return None


# -- automatic mode: the main story ------------------------------------------------------------------------


@dataclass
class _Main:
    scope: Tag | None  # where the main story's header lives
    h1: Tag | None
    body: Tag | None  # holds the body paragraphs


def _find_main(page: _Page) -> _Main | None:
    """The page's own article, when structured data says there is one or an <article> holds the <h1>
    and a body; a listing page ("Latest news with #Ukraine") has none."""
    soup = page.soup
    found = soup.select_one(_ARTICLE_BODY)
    body = found if isinstance(found, Tag) else None
    article = body.find_parent("article") if body else None
    if article is None:
        article = next((a for a in _tags(soup, "article") if a.find("h1")), None)
    h1_found = (article or soup).find("h1")
    h1 = h1_found if isinstance(h1_found, Tag) else None
    strong = page.ld is not None or page.meta.get("og:type", "").startswith("article") or body is not None
    if body is None:
        main_el = soup.find("main")
        body = _densest(article or (main_el if isinstance(main_el, Tag) else None) or soup.body or soup)
    if not strong and not (article and body and len(_paragraph_tags(body)) >= 2):
        return None
    return _Main(article or _common_ancestor(h1, body), h1, body)


def _densest(root: Tag) -> Tag | None:
    """The element whose paragraphs hold the most text (a paragraph's grandparent earns half)."""
    scores: dict[int, float] = {}
    by_id: dict[int, Tag] = {}
    for p in _tags(root, "p"):
        size = len(p.get_text().strip())
        for parent, share in ((p.parent, 1.0), (p.parent.parent if p.parent else None, 0.5)):
            if isinstance(parent, Tag) and size:
                scores[id(parent)] = scores.get(id(parent), 0.0) + size * share
                by_id[id(parent)] = parent
    if not scores:
        return None
    return by_id[max(scores, key=lambda key: scores[key])]


def _common_ancestor(a: Tag | None, b: Tag | None) -> Tag | None:
    if a is None or b is None:
        return a or b
    above_b = {id(b), *(id(p) for p in b.parents)}
    for el in (a, *a.parents):
        if id(el) in above_b and isinstance(el, Tag):
            return el
    return None


def _paragraph_tags(body: Tag, fence: _Fence | None = None) -> list[Tag]:
    return [
        p
        for p in _tags(body, "p")
        if p.find_parent("figure") is None and (fence is None or not fence.covers(p))
    ]


def _main_story(page: _Page, main: _Main, cards: list[Tag]) -> _Fields | None:
    ld = page.ld or {}
    fence = _main_fence(main, cards)
    when = _find_when(main.scope, fence) if main.scope else None
    title = _main_title(page, main)
    if not title or is_chrome(title):
        return None
    published, published_text = _stamp(
        page,
        [when.machine if when else None, _ld_str(ld.get("datePublished")), *_meta_times(page)],
        when.text if when else None,
    )
    return _Fields(
        title=title,
        url=page.url(_ld_url(ld) or page.meta.get("og:url") or page.meta.get("canonical")),
        outlet=_main_outlet(page, main, fence, when),
        category=_main_category(page, main, fence),
        published=published,
        published_text=published_text,
        body=_main_body(page, main, _Fence(cards)),
    )


def _main_fence(main: _Main, cards: list[Tag]) -> _Fence:
    """Keep the header search out of the body and the cards. When the body block is the whole article
    (paragraphs straight under <article>), fence only its paragraphs: the header lives in it too."""
    if main.body is not None and main.h1 is not None and _within(main.h1, main.body):
        return _Fence([main.h1, *_paragraph_tags(main.body), *cards])
    return _Fence([main.body, main.h1, *cards])


def _meta_times(page: _Page) -> list[str | None]:
    keys = ("article:published_time", "og:article:published_time", "datepublished", "pubdate", "publish-date")
    return [page.meta.get(key) for key in keys]


def _main_title(page: _Page, main: _Main) -> str | None:
    if main.h1 is not None and (title := _text(main.h1)):
        return title
    ld = page.ld or {}
    site = page.meta.get("og:site_name", "")
    page_title = page.soup.title.get_text() if page.soup.title else None
    for raw in (
        ld.get("headline"),
        ld.get("name"),
        page.meta.get("og:title"),
        page.meta.get("twitter:title"),
        page_title,
    ):
        text = clean_line(raw) if isinstance(raw, str) else ""
        for sep in (" | ", " - ", " – ", " — "):
            text = text.removesuffix(f"{sep}{site}") if site else text
        if text:
            return text
    return None


def _main_outlet(page: _Page, main: _Main, fence: _Fence, when: _When | None) -> str | None:
    """The outlet the page credits ("Provided by Reuters", a source element) before the publishing site;
    a bare name on the time's line comes last, as on an outlet's own page it is usually the reporter."""
    ld = page.ld or {}
    if main.scope is not None:
        credited = _provided_by(main.scope, fence) or _hinted_outlet(main.scope, fence)
        if credited:
            return credited
    for raw in (_ld_org(ld.get("author")), _ld_name(ld.get("publisher")), page.meta.get("og:site_name")):
        if raw and (name := _outlet_name(raw)):
            return name
    return when.outlet if when else None


def _main_category(page: _Page, main: _Main, fence: _Fence) -> str | None:
    section = (page.ld or {}).get("articleSection")
    if isinstance(section, list):
        section = next((s for s in section if isinstance(s, str) and s.strip()), None)
    for raw in (section, page.meta.get("article:section")):
        if isinstance(raw, str) and clean_line(raw):
            return clean_line(raw)
    return _hinted_category(main.scope, fence) if main.scope else None


def _dom_body(main: _Main, fence: _Fence) -> tuple[str, ...]:
    if main.body is None:
        return ()
    paragraphs = _paragraph_tags(main.body, fence) if main.body.find("p") else []
    return clean_body([p.get_text() for p in paragraphs] or _lines(main.body))


def _main_body(page: _Page, main: _Main, fence: _Fence) -> tuple[str, ...]:
    """DOM paragraphs as shown; else JSON-LD articleBody; else the page's description as one paragraph."""
    body = _dom_body(main, fence)
    if body:
        return body
    article_body = (page.ld or {}).get("articleBody")
    if isinstance(article_body, str) and article_body.strip():
        return clean_body(re.split(r"\n\s*\n|\n", article_body))
    description = page.meta.get("og:description") or page.meta.get("description")
    return clean_body([description]) if description else ()


def _ld_str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _ld_name(value: Any) -> str | None:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and (name := _ld_str(item.get("name"))):
            return name
        if isinstance(item, str) and item.strip():
            return item.strip()
    return None


def _ld_org(value: Any) -> str | None:
    """An author that is an organisation is the outlet; a person is a reporter."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "organization" in str(item.get("@type", "")).lower():
            return _ld_str(item.get("name"))
    return None


def _ld_url(ld: dict[str, Any]) -> str | None:
    entity = ld.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    return _ld_str(ld.get("url")) or _ld_str(entity)


# -- automatic mode: cards ---------------------------------------------------------------------------------


@dataclass
class _Headline:
    anchor: Tag
    element: Tag  # the heading (or the link itself) whose text is the title
    key: str  # the link target: several links to one story are one headline
    strong: bool  # a heading or a title-classed link, not just a long link text


def _headlines(root: Tag, fence: _Fence) -> list[_Headline]:
    found: list[_Headline] = []
    for a in _tags(root, "a"):
        href = (_attr(a, "href") or "").strip()
        if fence.covers(a) or not href or href.startswith(("mailto:", "tel:")):
            continue
        heading = _title_element(a)
        strong = heading is not None or _has_hint(a, _TITLE_HINTS)
        element = heading or a
        title = _text(element)
        if len(title.split()) < 3 or is_chrome(title):
            continue
        # A script-driven card ("#", "javascript:") is still a story, without a URL; its title tells it apart.
        key = href if _navigable(href) else f"title:{title}"
        if strong or (len(title.split()) >= 5 and a.find_parent("p") is None):
            found.append(_Headline(a, element, key, strong))
    return found


def _navigable(href: str) -> bool:
    return not href.startswith(("#", "javascript:", "data:"))


def _title_element(a: Tag) -> Tag | None:
    for found in (a.find(_HEADINGS), a.find_parent(_HEADINGS)):
        if isinstance(found, Tag):
            return found
    parent = a.parent
    if isinstance(parent, Tag) and _has_hint(parent, _TITLE_HINTS):
        return a
    return next((el for el in _tags(a) if _has_hint(el, _TITLE_HINTS)), None)


def _containers(headlines: list[_Headline], stops: set[int]) -> list[tuple[_Headline, Tag]]:
    """Each headline's card: its widest ancestor that holds no other story's headline. A heading
    counts only other headings, so sub-links listed inside a card do not split it."""
    strong: dict[int, set[str]] = {}
    every: dict[int, set[str]] = {}
    for h in headlines:
        for parent in h.anchor.parents:
            every.setdefault(id(parent), set()).add(h.key)
            if h.strong:
                strong.setdefault(id(parent), set()).add(h.key)
    out: list[tuple[_Headline, Tag]] = []
    seen: set[int] = set()
    for h in headlines:
        counts = strong if h.strong else every
        box = h.anchor
        while (
            isinstance(box.parent, Tag) and id(box.parent) not in stops and len(counts[id(box.parent)]) == 1
        ):
            box = box.parent
        if id(box) not in seen:
            seen.add(id(box))
            out.append((h, box))
    return out


def _card_fields(page: _Page, card: Tag, title_el: Tag, anchor: Tag | None) -> _Fields:
    title = _text(title_el)
    fence = _Fence([title_el])
    when = _find_when(card, fence)
    outlet = _provided_by(card, fence) or _hinted_outlet(card, fence) or (when.outlet if when else None)
    used = [title_el, when.line if when else None, *_hinted(card, _OUTLET_HINTS | _CATEGORY_HINTS, fence)]
    snippet = _snippet(card, _Fence(used), title)
    published, published_text = _stamp(page, [when.machine] if when else [], when.text if when else None)
    return _Fields(
        title=title,
        url=page.url(_attr(anchor, "href")) if anchor is not None else None,
        outlet=outlet,
        category=_hinted_category(card, fence),
        published=published,
        published_text=published_text,
        body=clean_body([snippet]) if snippet else (),
    )


def _is_story(fields: _Fields) -> bool:
    """A card is a story when, beside its headline, it shows at least two of outlet, time and snippet: a bare
    "Related" link (or a link with only a time) is navigation, not a story we could date or dedup."""
    shown = (fields.outlet is not None, fields.published_text is not None, bool(fields.body))
    return bool(fields.title) and sum(shown) >= 2


def _auto_stories(page: _Page, profile: SiteProfile | None) -> list[tuple[_Fields, Tag | None]]:
    soup = page.soup
    main = _find_main(page)
    fence = _Fence([main.h1, main.body] if main else [])
    stops = {id(soup), *(id(el) for el in _tags(soup, ["html", "body", "main"]))}
    for anchor in (main.h1, main.body, main.scope) if main else ():
        if anchor is not None:
            stops.update({id(anchor), *(id(p) for p in anchor.parents)})
    cards: list[tuple[_Fields, Tag]] = []
    taken: set[int] = set()
    for h, box in _containers(_headlines(soup, fence), stops):
        # A sub-link inside a card already taken is part of that card, not a story of its own.
        if any(id(parent) in taken for parent in box.parents) or _sponsored(box):
            continue
        fields = _card_fields(page, box, h.element, h.anchor)
        if profile is not None:
            fields = _override(page, box, profile, fields)
        if _is_story(fields):
            cards.append((fields, box))
            taken.add(id(box))
    stories: list[tuple[_Fields, Tag | None]] = list(cards)
    main_fields = _main_story(page, main, [box for _, box in cards]) if main else None
    if main and main_fields and _whole(page, main):
        if profile is not None and main.scope is not None:
            main_fields = _override(page, main.scope, profile, main_fields)
        stories.insert(0, (main_fields, None))
    return stories


def _whole(page: _Page, main: _Main) -> bool:
    """On a cut page, a main story is whole only if its DOM body was reached and closed before the cut."""
    if page.cut is None:
        return True
    return bool(_dom_body(main, _Fence([]))) and not page.is_cut(main.body, main.h1)


# -- per-site profile -------------------------------------------------------------------------------------


def selector_problem(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None when it is."""
    try:
        soupsieve_compile(selector)
    except SelectorSyntaxError as exc:
        return f"invalid CSS selector {selector!r}: {str(exc).splitlines()[0]}"
    return None


def _select(root: Tag, selector: str | None) -> list[Tag]:
    if not selector:
        return []
    try:
        return list(root.select(selector))
    except SelectorSyntaxError as exc:
        # Settings should have caught it; one bad selector must not take the whole source down.
        _log.warning("invalid CSS selector %r in site profile: %s", selector, exc)
        return []


def _protected(soup: BeautifulSoup, profile: SiteProfile | None) -> tuple[list[Tag], set[int]]:
    """The profile's records and the elements its selectors pick, which chrome removal must spare even
    when their classes look like chrome (BBC calls its story cards "promo")."""
    if profile is None or not profile.record:
        return [], set()
    records = _select(soup, profile.record)
    keep: set[int] = set()
    fields = (profile.title, profile.outlet, profile.time, profile.body, profile.link, profile.category)
    for record in records:
        picked = [record, *(el for sel in fields for el in _select(record, sel))]
        for el in picked:
            keep.update({id(el), *(id(p) for p in el.parents)})
    return records, keep


def _override(page: _Page, box: Tag, profile: SiteProfile, fields: _Fields) -> _Fields:
    """Fields whose selector the profile gives come from it (missing when it matches nothing)."""
    first = {name: next(iter(_select(box, sel)), None) for name, sel in _profile_fields(profile)}
    changes: dict[str, Any] = {}
    if profile.title:
        changes["title"] = _text(first["title"]) if first["title"] else ""
    if profile.link:
        changes["url"] = page.url(_href(first["link"])) if first["link"] else None
    if profile.outlet:
        changes["outlet"] = _outlet_of(first["outlet"]) if first["outlet"] else None
    if profile.category:
        changes["category"] = (_text(first["category"]) or None) if first["category"] else None
    if profile.time:
        el = first["time"]
        text = (_text(el) or None) if el else None
        changes["published"], changes["published_text"] = _stamp(
            page, [_attr(el, "datetime")] if el else [], text
        )
    if profile.body:
        changes["body"] = clean_body(
            [p.get_text() for el in _select(box, profile.body) for p in _paragraphs_of(el)]
        )
    return replace(fields, **changes)


def _profile_fields(profile: SiteProfile) -> list[tuple[str, str | None]]:
    return [
        ("title", profile.title),
        ("link", profile.link),
        ("outlet", profile.outlet),
        ("category", profile.category),
        ("time", profile.time),
    ]


def _href(el: Tag) -> str | None:
    if el.name == "a":
        return _attr(el, "href")
    inner = el.find("a", href=True) or el.find_parent("a", href=True)
    return _attr(inner, "href") if isinstance(inner, Tag) else None


def _paragraphs_of(el: Tag) -> list[Tag]:
    return _paragraph_tags(el) or [el]


def _profile_story(page: _Page, record: Tag, profile: SiteProfile) -> _Fields | None:
    if _sponsored(record):
        return None
    auto = next(iter(_headlines(record, _Fence([]))), None)
    picked = _select(record, profile.title)
    title_el = picked[0] if picked else (auto.element if auto and not profile.title else None)
    if title_el is None:
        return None
    anchor = title_el if title_el.name == "a" else title_el.find_parent("a") or title_el.find("a")
    if not isinstance(anchor, Tag):
        anchor = auto.anchor if auto else None
    fields = _override(page, record, profile, _card_fields(page, record, title_el, anchor))
    return fields if fields.title else None


# -- the public function ----------------------------------------------------------------------------------


def parse_html(
    text: str,
    *,
    page_url: str | None,
    fetched_at: datetime,
    date_order: DateOrder,
    profile: SiteProfile | None,
) -> list[Story]:
    """The page's stories in page order, main story first; [] when it shows none. Never raises on bad HTML."""
    soup = _parse(text)
    if soup is None:
        return []
    page = _read_page(soup, text, page_url, fetched_at, date_order)
    records, keep = _protected(soup, profile)
    _drop_chrome(soup, keep)
    _mark_blocks(soup)
    found: list[tuple[_Fields, Tag | None]]
    if profile is not None and profile.record:
        found = []
        for record in records:
            fields = _profile_story(page, record, profile) if _attached(record, soup) else None
            if fields is not None:
                found.append((fields, record))
    else:
        found = _auto_stories(page, profile)
    return _finish(page, found)


def _finish(page: _Page, found: list[tuple[_Fields, Tag | None]]) -> list[Story]:
    """Drop the card a cut-off page ends in and repeats of one link; build the stories."""
    stories: list[Story] = []
    seen: set[str] = set()
    for fields, box in found:
        if box is not None and page.is_cut(box):
            continue
        if fields.outlet and fields.category and fields.outlet.casefold() == fields.category.casefold():
            fields = replace(fields, outlet=None)  # a section label read as an outlet: unknown beats wrong
        key = fields.url or f"title:{fields.title}"
        if key in seen:
            continue
        seen.add(key)
        stories.append(
            Story(
                title=fields.title,
                outlet=fields.outlet,
                published=fields.published,
                published_text=fields.published_text,
                body=fields.body,
                url=fields.url,
                category=fields.category,
            )
        )
    return stories

"""Page-level facts: meta tags, the JSON-LD article, the base URL, a cut-off end, and publication times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from feedsvc.extract import jsonld, times
from feedsvc.extract.html.dom import Tag, _attr, _Parsed, _tags, _text_parent
from feedsvc.extract.jsonld import text as _ld_str
from feedsvc.models import DateOrder, utc

_CLOSED_RE = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
# Addresses that urljoin and urlsplit read back unchanged: no spaces or control characters (they strip or
# drop them), no ";" in the path (path parameters), no empty "?" or "#" (dropped), no "[" (IPv6) or "@"
# (user info) in the host; for a root-relative path, no "//" start (a host) and no "." or ".." segments.
_PLAIN_ABSOLUTE_RE = re.compile(
    r"https?://[A-Za-z0-9][^/?#\x00-\x20;\[\]@\\]*(?:/[^?#\x00-\x20;]*)?(?:\?[^#\x00-\x20]+)?(?:#[^\x00-\x20]+)?"
)
_PLAIN_ROOTED_RE = re.compile(r"(/(?!/)[^?#\x00-\x20;]*)(?:\?[^#\x00-\x20]+)?(?:#[^\x00-\x20]+)?")
_DOT_SEGMENT_RE = re.compile(r"/\.\.?(?:/|$)")


@dataclass(frozen=True)
class _Listed:
    """An ItemList member's publication time (as written) and publisher, for the card linking to it."""

    published: str | None
    publisher: str | None


@dataclass
class _Page:
    soup: Tag  # the page's root element
    meta: dict[str, str]
    ld: dict[str, Any] | None
    base: str | None
    fetched_at: datetime
    date_order: DateOrder
    # Ids of the elements around the last text of a page that was cut off (kept as ids because chrome removal
    # may take the innermost ones away): a story whose container is among them is incomplete.
    cut: frozenset[int] | None
    # The page's language ("ja", "de-DE") from <html lang> or og:locale, for reading its times.
    language: str | None = None
    parsed: _Parsed | None = None
    # The instant each visible time text names (times.resolve, with this page's clock, order and
    # language): a listing shows "2 hours ago" on card after card.
    resolved: dict[str, datetime | None] = field(default_factory=dict)
    # The page's structured data calls it a listing (a category or tag archive, search results, an author's
    # page; see jsonld.LISTING_PAGE_TYPES), or its <body> carries WordPress' archive classes
    # (_archive_body), whatever its Open Graph type says: it has no article of its own.
    listing: bool = False
    # What the page's JSON-LD ItemList says of each member, by its address (see _listed).
    listed: dict[str, _Listed] = field(default_factory=dict)

    def url(self, href: str | None) -> str | None:
        href = (href or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            return None
        fast = self._plain_url(href)
        if fast is not None:
            return fast
        url = _join(self.base, href) if self.base else href
        if not url or not url.startswith(("http://", "https://")):
            return None
        try:
            return url if urlsplit(url).hostname else None
        except ValueError:  # a broken IPv6 host
            return None

    def _plain_url(self, href: str) -> str | None:
        """What url() gives for a plain absolute address or a root-relative path without dot segments,
        worked out without urljoin and urlsplit (a listing resolves two per card); None for any other."""
        readable, origin = self._origin
        if not readable or not href.isascii():
            return None
        if _PLAIN_ABSOLUTE_RE.fullmatch(href):
            return href  # urljoin gives it back as it is, and its host is not empty
        rooted = _PLAIN_ROOTED_RE.fullmatch(href)
        if rooted is None or origin is None or _DOT_SEGMENT_RE.search(rooted.group(1)):
            return None
        return origin + href

    @cached_property
    def _origin(self) -> tuple[bool, str | None]:
        """Whether urljoin can read the base (no base counts), and its "scheme://host" when urljoin puts a
        root-relative path after just that."""
        if not self.base:
            return True, None
        try:
            parts = urlsplit(self.base)
            host = parts.hostname
        except ValueError:  # a broken IPv6 host: urljoin fails on every address
            return False, None
        if parts.scheme not in ("http", "https") or not host:
            return True, None
        return True, f"{parts.scheme}://{parts.netloc}"

    def is_cut(self, *containers: Tag | None) -> bool:
        return self.cut is not None and any(c is not None and id(c) in self.cut for c in containers)


def _read_page(
    parsed: _Parsed, text: str, page_url: str | None, fetched_at: datetime, order: DateOrder
) -> _Page:
    soup = parsed.root
    meta = _meta_tags(soup)
    base = page_url
    base_tag = next((b for b in _tags(soup, "base") if b.get("href") is not None), None)
    if base_tag is not None:
        base = _join(page_url or "", _attr(base_tag, "href") or "") or page_url
    if not (base or "").startswith(("http://", "https://")):
        # Without a page URL, the page's own canonical address still anchors its relative links.
        own = meta.get("canonical") or meta.get("og:url") or ""
        base = own if own.startswith(("http://", "https://")) else None
    cut = _cut_point(soup, text)
    ld_objects = list(jsonld.objects(_ld_scripts(soup)))  # each script parsed once, for both readers
    ld, listing = jsonld.read(ld_objects)
    listing = listing or _archive_body(soup)
    language = _language(soup, meta)
    page = _Page(soup, meta, ld, base, fetched_at, order, cut, language, parsed, listing=listing)
    page.listed = _listed(page, ld_objects)
    return page


# WordPress' body classes: every archive view is "archive" with its kind ("archive category category-local",
# "archive tag …", "archive author …", "archive date", "archive tax-…", "archive post-type-archive …"), search
# results "search search-results"; a post is "single", a page "page". Themes print them on every such page,
# whatever og:type an SEO plugin sets (Yoast and others say "article" on archives too).
_ARCHIVE_KINDS = frozenset({"category", "tag", "author", "date", "post-type-archive"})


def _archive_body(soup: Tag) -> bool:
    """Whether the page's <body> carries WordPress' classes of an archive or of search results."""
    body = next(_tags(soup, "body"), None)
    classes = set((body.get("class") or "").split()) if body is not None else set()
    if not classes or "single" in classes:
        return False
    if "archive" in classes:
        return bool(classes & _ARCHIVE_KINDS) or any(c.startswith("tax-") for c in classes)
    return {"search", "search-results"} <= classes


def _join(base: str, href: str) -> str | None:
    """urljoin, None for an address it cannot read ("http://[x": a broken IPv6 host)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _language(soup: Tag, meta: dict[str, str]) -> str | None:
    """The page's language tag, lower-cased with "-" ("en-us", "ja"); og:locale ("de_DE") without a lang."""
    html = next(_tags(soup, "html"), None)
    raw = (_attr(html, "lang") or _attr(html, "xml:lang") or "") if html is not None else ""
    raw = raw.strip() or meta.get("og:locale", "").strip()
    tag = raw.replace("_", "-").lower()
    return tag if re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", tag) else None


def _meta_tags(soup: Tag) -> dict[str, str]:
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


def _ld_scripts(soup: Tag) -> list[str]:
    """The texts of the page's JSON-LD scripts."""
    return [
        "".join(script.itertext())
        for script in _tags(soup, "script")
        if (_attr(script, "type") or "").strip().lower() == "application/ld+json"
    ]


# A member's time: when it was published (a video's upload), never when it was last changed.
_LISTED_TIMES = ("datePublished", "uploadDate", "dateCreated")


def _listed(page: _Page, ld_objects: list[dict[str, Any]]) -> dict[str, _Listed]:
    """The members of the page's JSON-LD ItemLists (top level, in an @graph, or a page's mainEntity) that
    name a time or a publisher, by their resolved address. The page's own site as publisher is left out:
    on a site's own listing it names no outlet (as its cards do not)."""
    own = page.meta.get("og:site_name", "").casefold()
    found: dict[str, _Listed] = {}
    for node in _list_members(ld_objects):
        url = page.url(_ld_str(node.get("url")) or _ld_str(node.get("@id")))
        published = next((v for k in _LISTED_TIMES if (v := _ld_str(node.get(k)))), None)
        publisher = _ld_name(node.get("publisher"))
        publisher = None if publisher and publisher.casefold() == own else publisher
        if url and (published or publisher):
            found.setdefault(url, _Listed(published, publisher))
    return found


def _list_members(ld_objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each ItemList member's object (an ItemList at the top, in an @graph, or a page's mainEntity): a
    ListItem with its ``item`` object's keys over its own."""
    for item in ld_objects:
        for found in (item, item.get("mainEntity")):
            members = found.get("itemListElement") if isinstance(found, dict) else None
            for member in members if isinstance(members, list) else []:
                if isinstance(member, dict):
                    inner = member.get("item")
                    yield {**member, **inner} if isinstance(inner, dict) else member


def _cut_point(soup: Tag, text: str) -> frozenset[int] | None:
    """Ids of the elements holding the last text of a page cut off before its end; None for a whole page."""
    # HTML allows leaving </body></html> out, but fetched pages keep them; a page that holds neither lost its
    # end. Where it still ends on whole records, its last text is chrome or a script, which no story holds.
    if _CLOSED_RE.search(text[-4096:]):
        return None
    for node in reversed(_LAST_TEXTS(soup)):
        if isinstance(node, str):
            if node.strip():
                parent: Tag | None = _text_parent(node)
                break
        elif (node.text or "").strip():  # a comment's text counts too
            parent = node.getparent()
            break
    else:
        return frozenset()
    return (
        frozenset(id(el) for el in (parent, *parent.iterancestors())) if parent is not None else frozenset()
    )


_LAST_TEXTS = etree.XPath("//text()|//comment()")


# A page's own clock may run a little ahead of ours; further ahead than this, its date is not believed.
_CLOCK_SKEW = timedelta(hours=1)


def _machine_time(value: str | None) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        pass
    except OverflowError:  # "9999-12-31T23:59:59-23:59": past datetime's range once in UTC
        return None
    if value.isascii() and value.isdigit() and len(value) in (10, 13):  # epoch seconds or milliseconds
        return datetime.fromtimestamp(int(value[:10]), UTC)
    try:
        return utc(parsedate_to_datetime(value))  # RFC 822, as in feeds and HTTP headers
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _stamp(page: _Page, machines: list[str | None], text: str | None) -> tuple[datetime | None, str | None]:
    """(published, published_text): a machine datetime wins; the visible text is resolved only without one."""
    for machine in machines:
        published = _machine_time(machine)
        if published is not None and published > page.fetched_at + _CLOCK_SKEW:
            published = None  # after the fetch: a wrong clock or a scheduled embargo time, not a fact
        if published is not None:
            return min(published, page.fetched_at), text or (machine or "").strip()
    if text is None:
        published = None
    elif text in page.resolved:
        published = page.resolved[text]
    else:
        published = times.resolve(text, page.fetched_at, page.date_order, languages=page.language)
        page.resolved[text] = published
    return published, text or next((m.strip() for m in machines if m and m.strip()), None)


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


# A headline is one line: a paragraph-long text in its place is a photo caption or a summary.
_MAX_HEADLINE_CHARS = 300


def _headline_like(text: str | None) -> bool:
    return bool(text) and len(text or "") <= _MAX_HEADLINE_CHARS and len((text or "").split()) <= 45


_ARTICLE_EXT_RE = re.compile(r"\.(?:s?html?|php|aspx?|cms|ece)$", re.IGNORECASE)
_SLUG_RE = re.compile(r"[^\W_]+(?:[-_][^\W_]+){2,}")


def _article_like(url: str) -> bool:
    """An article's address: a slug ("zelenskiy-says-ukraine-ready"), an id ("ar-AA1kXyZ9", "/articles/
    3f2a9c…", "66543210") or a page file; a section ("/world/") or a site's home has none of them."""
    try:
        path = urlsplit(url).path
    except ValueError:  # a broken IPv6 host
        return False
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    last = segments[-1]
    digits = sum(c.isdigit() for c in path)
    return bool(
        _ARTICLE_EXT_RE.search(last)
        or any(_SLUG_RE.fullmatch(s) and len(s) >= 12 for s in segments)
        or len(last) >= 16
        or sum(c.isdigit() for c in last) >= 4
        or digits >= 6
        or re.search(r"[A-Za-z]+\d+[A-Za-z]+\d*|\d+[A-Za-z]+\d+", last)
    )


def _article_url(page: _Page, candidates: list[str | None]) -> str | None:
    """The main story's link: the first candidate that is an article's address, never a section or
    listing page (an aggregator's og:url often names the section the article sits in)."""
    for raw in candidates:
        url = page.url(raw)
        if url and _article_like(url):
            return url
    return None

"""JSON-LD (schema.org): the page's own article object among its ``application/ld+json`` scripts, and
whether the page calls itself a listing.

Shared by the HTML extractor and the article reader (both on lxml trees), which each hand over the raw
script texts. A page's ItemList members are cards, not the page: only a top-level object, or one in an
``@graph``, whose type is an article kind counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

# schema.org Article and its kinds, matched on the end of the type's name: NewsArticle, ReportageNewsArticle,
# BlogPosting, LiveBlogPosting, Report ("https://schema.org/NewsArticle" and "schema:NewsArticle" too).
ARTICLE_TYPE_ENDINGS = ("article", "blogposting", "report")
# schema.org page kinds that list other pages: a category or tag archive (CollectionPage), a search, an
# author's page. SEO plugins declare them where their Open Graph type still says "article" (Yoast does on
# every archive).
LISTING_PAGE_TYPES = frozenset({"collectionpage", "searchresultspage", "profilepage"})


def items(data: Any) -> Iterator[dict[str, Any]]:
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (g for g in graph if isinstance(g, dict))


def _type_names(item: dict[str, Any]) -> Iterator[str]:
    """An object's type names, lower-cased, without a vocabulary ("https://schema.org/", "schema:")."""
    kinds = item.get("@type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if isinstance(kind, str):
            yield kind.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()


def is_article(item: dict[str, Any]) -> bool:
    return any(name.endswith(ARTICLE_TYPE_ENDINGS) for name in _type_names(item))


def is_listing_page(item: dict[str, Any]) -> bool:
    return not LISTING_PAGE_TYPES.isdisjoint(_type_names(item))


def objects(scripts: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The top-level and ``@graph`` objects of the given script texts, in order; unparseable scripts are
    skipped."""
    for script in scripts:
        raw = script.strip().removeprefix("<!--").removesuffix("-->").strip()
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        yield from items(data)


def article_in(scripts: Iterable[str]) -> dict[str, Any] | None:
    """The first article object in the given script texts."""
    return next(filter(is_article, objects(scripts)), None)


def read(found: Iterable[dict[str, Any]]) -> tuple[dict[str, Any] | None, bool]:
    """The first article among a page's :func:`objects`, and whether they call the page a listing: a
    listing type beside no article object, or beside several (a section that lists its articles); beside
    exactly one, the page is that article (its author's ProfilePage or a WebPage kind around it)."""
    articles: list[dict[str, Any]] = []
    listing = False
    for item in found:
        if is_article(item) and len(articles) < 2:
            articles.append(item)
        listing = listing or is_listing_page(item)
    return (articles[0] if articles else None), listing and len(articles) != 1


def text(value: Any) -> str | None:
    """A JSON-LD value as text, when it is a non-empty string."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def image_urls(value: Any) -> Iterator[str]:
    """The image addresses a schema.org ``image`` (or ``thumbnailUrl``) value names, in order, in each of
    its forms: a URL, a list of URLs, an ImageObject (``url`` or ``contentUrl``), a list of ImageObjects.
    An ImageObject given only by ``@id`` (a reference into the page's graph, "…/#primaryimage") names no
    address and yields nothing."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item.strip():
            yield item.strip()
        elif isinstance(item, dict):
            for key in ("url", "contentUrl"):
                found = item.get(key)
                if isinstance(found, str) and found.strip():
                    yield found.strip()
                    break

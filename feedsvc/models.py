"""Domain types passed between pipeline stages: frozen dataclasses, UTC-aware datetimes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

DateOrder = Literal["DMY", "MDY", "YMD"]


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive input is taken to be UTC already)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def isoformat_z(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or None."""
    if dt is None:
        return None
    return utc(dt).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SiteProfile:
    """CSS selectors for a site that automatic extraction gets wrong (all optional)."""

    record: str | None = None
    title: str | None = None
    outlet: str | None = None
    time: str | None = None
    body: str | None = None
    link: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Source:
    """One configured aggregator page."""

    name: str
    url: str  # http(s) URL, file: URL or local path
    interval: float  # seconds between fetches
    date_order: DateOrder = "DMY"
    profile: SiteProfile | None = None
    full_text: bool = False  # fetch each new card's article page and use its text as the body
    full_text_max: int = 20  # article fetches per run of this source
    language: str | None = None  # BCP 47 tag ("de", "pt-BR"); None: the page's declared language
    title: str | None = None  # shown to people (feed title, index); None: the title the page gives itself

    @property
    def is_http(self) -> bool:
        return self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Page:
    """The raw bytes of one fetched page and what we know about how they arrived."""

    source: str
    url: str
    content: bytes
    fetched_at: datetime
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # upstream answered 304: nothing to parse


@dataclass(frozen=True)
class Story:
    """One story as a page showed it."""

    title: str
    outlet: str | None
    published: datetime | None
    published_text: str | None
    body: tuple[str, ...]  # paragraphs
    url: str | None = None
    category: str | None = None
    source: str | None = None
    image: str | None = None  # absolute http(s) URL of the story's picture, where the page showed one

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.body)

    def to_json(self) -> dict[str, Any]:
        """The `feedsvc parse` shape (a contract: keep the keys)."""
        return {
            "title": self.title,
            "outlet": self.outlet,
            "published": isoformat_z(self.published),
            "published_text": self.published_text,
            "category": self.category,
            "url": self.url,
            "image": self.image,
            "body": self.body_text,
        }


@dataclass(frozen=True)
class Copy:
    """One outlet's copy of a story, as kept in a cluster."""

    key: str  # stable identity of this copy (see store.copy_key)
    title: str
    outlet: str | None
    url: str | None
    published: datetime | None
    body: tuple[str, ...]
    category: str | None
    source: str | None
    first_seen: datetime
    image: str | None = None  # absolute http(s) URL of the copy's picture


def cluster_image(canonical: Copy, copies: Sequence[Copy]) -> str | None:
    """A story's picture: the canonical copy's, else that of the earliest copy that has one (by page-given
    time, then first sight); None when no copy has one."""
    if canonical.image:
        return canonical.image
    far = datetime.max.replace(tzinfo=UTC)
    pictured = [c for c in copies if c.image]
    if not pictured:
        return None
    return min(pictured, key=lambda c: (c.published or far, c.first_seen, c.key)).image


def name_in_words(name: str) -> str:
    """A configured name as a title for people: "world-news" -> "World news"."""
    words = " ".join(name.replace("-", " ").replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else name


@dataclass(frozen=True)
class Cluster:
    """One story and every copy of it: the unit a feed entry is made from."""

    id: str  # minted once, never changes
    created: datetime  # first seen
    updated: datetime  # last time the entry's content changed
    copies: tuple[Copy, ...]
    canonical_key: str

    @property
    def canonical(self) -> Copy:
        for copy in self.copies:
            if copy.key == self.canonical_key:
                return copy
        return self.copies[0]

    @property
    def published(self) -> datetime:
        """Earliest page-given publication time; first-seen only when no page gave one."""
        times = [c.published for c in self.copies if c.published is not None]
        return min(times) if times else self.created

    @property
    def outlets(self) -> list[str]:
        """Every outlet that carried the story: the canonical copy's first, then by publication."""
        seen: dict[str, None] = {}
        far = datetime.max.replace(tzinfo=UTC)
        ordered = sorted(self.copies, key=lambda c: (c.key != self.canonical_key, c.published or far))
        for copy in ordered:
            if copy.outlet:
                seen.setdefault(copy.outlet, None)
        return list(seen)

    @property
    def image(self) -> str | None:
        return cluster_image(self.canonical, self.copies)

    @property
    def sources(self) -> set[str]:
        return {c.source for c in self.copies if c.source}

    @property
    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for copy in self.copies:
            if copy.category:
                seen.setdefault(copy.category, None)
        return list(seen)


def _mentions(cluster: Cluster, words: tuple[str, ...]) -> bool:
    """Whether the story's title or body has one of ``words`` starting a word, case-insensitively:
    "sport" finds "Sport" and "sports" but not "transport"; "Kyiv" finds "Kyiv's"."""
    text = " ".join([cluster.canonical.title, *cluster.canonical.body]).casefold()
    return any(re.search(r"(?<!\w)" + re.escape(w.casefold()), text) for w in words)


@dataclass(frozen=True)
class FeedSpec:
    """A feed to publish: everything, one source, or a filter."""

    name: str
    title: str
    sources: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    exclude_outlets: tuple[str, ...] = ()
    token: str | None = None  # private feed: readers must present this token (never logged)

    def matches(self, cluster: Cluster) -> bool:
        if self.exclude_outlets:
            unwanted = {o.casefold() for o in self.exclude_outlets}
            if any(o.casefold() in unwanted for o in cluster.outlets):
                return False
        if self.exclude_keywords and _mentions(cluster, self.exclude_keywords):
            return False
        if self.sources and not (cluster.sources & set(self.sources)):
            return False
        if self.outlets:
            wanted = {o.casefold() for o in self.outlets}
            if not any(o.casefold() in wanted for o in cluster.outlets):
                return False
        if self.categories:
            wanted = {c.casefold() for c in self.categories}
            if not any(c.casefold() in wanted for c in cluster.categories):
                return False
        return not (self.keywords and not _mentions(cluster, self.keywords))


@dataclass(frozen=True)
class Feed:
    """A built feed: bytes ready to serve, with their validators."""

    name: str
    media_type: str
    content: bytes
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class RunReport:
    """What one fetch of one source did."""

    source: str
    ok: bool
    stories: int = 0
    new_clusters: int = 0
    merged: int = 0
    error: str | None = None
    duration: float = 0.0
    not_modified: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

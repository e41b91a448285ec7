"""Clusters -> Atom, RSS and JSON Feed bytes (feedgen); feedsvc.published keeps them, with validators."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import quote, urlsplit

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator

from feedsvc import __version__
from feedsvc.errors import PublishError
from feedsvc.extract.clean import XML_ILLEGAL as _XML_ILLEGAL
from feedsvc.models import Cluster, Copy, FeedSpec
from feedsvc.published import FeedContext


def _safe(text: str) -> str:
    """Text without the characters XML 1.0 forbids (feedgen raises on them, breaking the whole feed)."""
    return _XML_ILLEGAL.sub("", text)


# Characters RFC 3986 allows in a URI (plus "%", kept as is): anything else is percent-encoded, because
# validators reject a raw space, "|" or non-ASCII letter in an href, and some readers cut the link there.
_URI_SAFE = "/?:@&=+$,;#-_.!~*'()%[]"


def absolute_url(url: str | None) -> str | None:
    """``url`` as an absolute, percent-encoded http(s) URI, or None when it is anything else (a relative
    reference in feed content is a validator warning and a dead link in most readers)."""
    if not url:
        return None
    url = _safe(url).strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URI_SAFE)


SUMMARY_MAX = 300  # characters of the excerpt given as `summary` (the full text is in `content`)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")


def excerpt(paragraphs: Sequence[str], limit: int = SUMMARY_MAX) -> str:
    """A short plain-text excerpt: whole sentences up to ``limit`` characters; a first sentence longer
    than that is cut at a word boundary and ends with an ellipsis. Empty when there is no text."""
    text = " ".join(" ".join(p.split()) for p in paragraphs if p.strip())
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit]
    if ends and ends[-1] >= limit // 3:
        return text[: ends[-1]]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _paragraphs(body: tuple[str, ...]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in body)


def _when(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def other_copies(cluster: Cluster) -> list[Copy]:
    """The copies besides the canonical one, one per outlet, in the order they were published (copies
    with no page-given time last, by when feedsvc first saw them)."""
    far = datetime.max.replace(tzinfo=UTC)
    canonical = cluster.canonical
    seen = {canonical.outlet} if canonical.outlet else set()
    result = []
    for copy in sorted(cluster.copies, key=lambda c: (c.published or far, c.first_seen, c.key)):
        if copy.key == canonical.key or (copy.outlet and copy.outlet in seen):
            continue
        if copy.outlet:
            seen.add(copy.outlet)
        result.append(copy)
    return result


def entry_html(cluster: Cluster, ctx: FeedContext) -> str:
    """The entry content: canonical body as escaped paragraphs, then every other outlet that carried it.

    The list reads the same rendered as text (newsboat, rss2email, sfeed): one outlet per line, its
    headline and time in words, the link on the outlet's name."""
    canonical = cluster.canonical
    parts = [_paragraphs(canonical.body) or f"<p>{html.escape(canonical.title)}</p>"]
    others = other_copies(cluster)
    if others:
        items = []
        for c in others:
            name = html.escape(c.outlet or "Unknown outlet")
            url = absolute_url(c.url)
            label = f'<a href="{html.escape(url)}">{name}</a>' if url else name
            when = f" ({_when(c.published)})" if c.published else ""
            headline = f": {html.escape(c.title)}" if c.title != canonical.title else ""
            items.append(f"<li>{label}{when}{headline}</li>")
        parts.append(f"<p>Also reported by:</p><ul>{''.join(items)}</ul>")
    parts.append(f'<p><a href="{html.escape(ctx.story_url(cluster.id))}">All copies on feedsvc</a></p>')
    return "".join(parts)


def entry_text(cluster: Cluster, ctx: FeedContext) -> str:
    """The entry content as plain text (JSON Feed ``content_text``), "Also reported by" included."""
    canonical = cluster.canonical
    parts = ["\n\n".join(canonical.body) or canonical.title]
    others = other_copies(cluster)
    if others:
        lines = []
        for c in others:
            line = f"- {c.outlet or 'Unknown outlet'}"
            if c.published:
                line += f" ({_when(c.published)})"
            if c.title != canonical.title:
                line += f": {c.title}"
            url = absolute_url(c.url)
            lines.append(f"{line}\n  {url}" if url else line)
        parts.append("Also reported by:\n" + "\n".join(lines))
    parts.append(f"All copies on feedsvc: {ctx.story_url(cluster.id)}")
    return "\n\n".join(parts)


def entry_image(cluster: Cluster) -> str | None:
    """The entry's picture as an absolute, percent-encoded http(s) URL, or None."""
    return absolute_url(cluster.image)


def outlet_names(cluster: Cluster) -> list[str]:
    """Every outlet that carried the story (the canonical copy's first), never empty."""
    return [_safe(o) for o in cluster.outlets] or ["Unknown outlet"]


def entry_stamps(entries: Sequence[Cluster]) -> dict[str, datetime]:
    """Each entry's `updated`, distinct within the feed.

    Stamps are kept to the second, so clusters touched by one run share a value, and the W3C validator
    warns "Two entries with the same value for atom:updated" (it compares the text of every entry's
    updated). The true instant lies somewhere within that second, so each entry gets a fixed
    millisecond fraction derived from its id: still inside the second the change happened in, the same
    on every build whatever else is in the feed, and different between entries. On the rare equal
    fraction the later id moves to the next free millisecond."""
    taken: set[datetime] = set()
    stamps: dict[str, datetime] = {}
    for cluster in sorted(entries, key=lambda c: c.id):
        base = max(cluster.updated, cluster.published).astimezone(UTC).replace(microsecond=0)
        millis = _millis(cluster.id)
        stamp = base + timedelta(milliseconds=millis)
        for step in range(1, 1000):
            if stamp not in taken:
                break
            stamp = base + timedelta(milliseconds=(millis + step) % 1000)
        taken.add(stamp)
        stamps[cluster.id] = stamp
    return stamps


@functools.lru_cache(maxsize=1 << 16)
def _millis(cluster_id: str) -> int:
    """The millisecond an entry's `updated` takes within its second (see :func:`entry_stamps`)."""
    return int(hashlib.sha256(cluster_id.encode("utf-8")).hexdigest()[:8], 16) % 1000


def _rfc3339(dt: datetime) -> str:
    """RFC 3339 in UTC with "Z", milliseconds only when there are any."""
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond // 1000:03d}"
    return text + "Z"


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


class _Entry(FeedEntry):  # type: ignore[misc]
    """feedgen 1.0 drops rel/type of entry links in Atom (lkiesow/python-feedgen#135): put them back;
    and its dates lose no precision but print "+00:00": write RFC 3339 "Z" times with milliseconds.

    An entry is complete when a feed takes it (see :func:`_entry`), so its element is built once per
    format and every feed that carries it gets a copy (a feed's extensions add none to it: Dublin Core
    and Media RSS are given to the entry when it is made, and Media RSS without a picture adds nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[tuple[str, bool], Any] = {}

    def atom_entry(self, extensions: bool = True) -> Any:
        if ("atom", extensions) not in self._built:
            entry = super().atom_entry(extensions)
            elements = [child for child in entry if child.tag.endswith("link")]
            for element, link in zip(elements, self.link() or [], strict=False):
                for attr in ("rel", "type", "hreflang", "title", "length"):
                    if link.get(attr):
                        element.attrib[attr] = str(link[attr])
            for child in entry:
                if _local(child.tag) in ("updated", "published") and child.text:
                    child.text = _rfc3339(datetime.fromisoformat(child.text))
            self._built["atom", extensions] = entry
        return deepcopy(self._built["atom", extensions])

    def rss_entry(self, extensions: bool = True) -> Any:
        if ("rss", extensions) not in self._built:
            self._built["rss", extensions] = super().rss_entry(extensions)
        return deepcopy(self._built["rss", extensions])


ATOM_NS = "http://www.w3.org/2005/Atom"


def feed_hub(spec: FeedSpec, ctx: FeedContext) -> str | None:
    """The WebSub hub a feed advertises: the context's hub for a public feed; a private one (its own
    token) names none, since its updates are never announced to a public hub."""
    if spec.token or not ctx.hub:
        return None
    return ctx.hub


class _Feed(FeedGenerator):  # type: ignore[misc]
    """The feed-level `updated` in the same RFC 3339 form as the entries'; in RSS, the hub link as an
    `atom:link` beside the self link (feedgen writes only the self one there)."""

    def _create_rss(self, extensions: bool = True) -> Any:
        feed, doc = super()._create_rss(extensions)
        channel = feed.find("channel")
        hubs = [link["href"] for link in self.link() or [] if link.get("rel") == "hub"]
        if channel is not None and hubs:
            tag = f"{{{ATOM_NS}}}link"
            # After the self link (else after title, link and description): items must come last.
            after = next((i for i, child in enumerate(channel) if child.tag == tag), 2)
            for offset, href in enumerate(hubs, start=1):
                link = channel.makeelement(tag, {"href": href, "rel": "hub"})
                channel.insert(after + offset, link)
        return feed, doc

    def _create_atom(self, extensions: bool = True) -> Any:
        feed, doc = super()._create_atom(extensions)
        for child in feed:
            if _local(child.tag) == "updated" and child.text:
                child.text = _rfc3339(datetime.fromisoformat(child.text))
        return feed, doc


def _entry(cluster: Cluster, ctx: FeedContext, ext: str, stamp: datetime) -> _Entry:
    """One feed entry of ``cluster`` (Atom or RSS), `updated` at ``stamp``; with the extensions a feed
    would give it (Dublin Core in RSS, Media RSS when it has a picture), in the order feeds load them."""
    canonical = cluster.canonical
    fe = _Entry()
    if ext == "rss":
        fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    image = entry_image(cluster)
    if image:
        fe.register_extension("media", MediaEntryExtension, atom=True, rss=True)
    fe.id(ctx.entry_id(cluster.id))
    fe.guid(ctx.entry_id(cluster.id), permalink=False)
    fe.title(_safe(canonical.title))
    fe.published(cluster.published)
    fe.updated(stamp)
    outlets = outlet_names(cluster)
    if ext == "rss":
        # One element with every outlet: newsboat and others show only the last of several.
        fe.dc.dc_creator(", ".join(outlets))
    else:
        fe.author([{"name": outlet} for outlet in outlets])
    content = _safe(entry_html(cluster, ctx))
    summary = _safe(excerpt(canonical.body))
    fe.content(content, type="html")  # RSS: <content:encoded>
    if ext == "rss":  # <description> holds HTML: the excerpt, escaped
        fe.description(html.escape(summary or canonical.title, quote=False))
    elif summary:
        fe.summary(summary)
    link = absolute_url(canonical.url) or ctx.story_url(cluster.id)
    fe.link(href=link, rel="alternate", type="text/html")
    related = {absolute_url(c.url) for c in cluster.copies if c.key != canonical.key} - {None, link}
    for url in sorted(u for u in related if u):
        fe.link(href=url, rel="related", type="text/html")
    for category in cluster.categories:
        fe.category(term=_safe(category))
    if image:
        # Media RSS in both formats: <media:thumbnail url> is what readers show as the entry's picture,
        # and the W3C validator accepts it with no other attribute. An RSS <enclosure> (or Atom link
        # rel=enclosure) would need the image's byte length, which feedsvc never fetches: a made-up
        # or zero length is an error in the validator.
        fe.media.thumbnail({"url": image}, group=None)
    return fe


def _generator(
    spec: FeedSpec,
    entries: list[Cluster],
    ctx: FeedContext,
    ext: str,
    language: str | None,
    shared: Renderings | None,
) -> FeedGenerator:
    """One feedgen document; every date comes from the data, never from the clock."""
    stamps = entry_stamps(entries)
    fg = _Feed()
    fg.id(ctx.feed_id(spec.name))
    fg.title(_safe(spec.title))
    fg.subtitle(f"Deduplicated stories from news-aggregator pages: {_safe(spec.title)}")
    fg.author({"name": "feedsvc"})
    fg.link(href=ctx.feed_url(spec.name, ext), rel="self", type=MEDIA_TYPES[ext].split(";")[0])
    hub = feed_hub(spec, ctx)
    if hub:  # before the alternate link: feedgen takes RSS's <link> from the last link given
        fg.link(href=hub, rel="hub")
    fg.link(href=f"{ctx.public_url}/", rel="alternate", type="text/html")
    fg.generator("feedsvc", version=__version__, uri="https://pypi.org/project/feedsvc/")
    if language:
        fg.language(language)  # Atom xml:lang on <feed>, RSS <language>
    updated = max(stamps.values(), default=ctx.epoch)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    if ext == "rss":
        fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    if any(entry_image(c) for c in entries):  # xmlns:media only where an entry uses it
        fg.register_extension("media", MediaExtension, MediaEntryExtension)
    for cluster in entries:
        stamp = stamps[cluster.id]
        fe = shared.entry(cluster, ext, stamp) if shared else _entry(cluster, ctx, ext, stamp)
        fg.add_entry(fe, order="append")
    return fg


def render_atom(
    spec: FeedSpec,
    entries: list[Cluster],
    ctx: FeedContext,
    language: str | None = None,
    shared: Renderings | None = None,
) -> bytes:
    """Atom 1.0 for ``entries`` (newest first)."""
    try:
        return bytes(_generator(spec, entries, ctx, "atom", language, shared).atom_str(pretty=True))
    except ValueError as exc:  # feedgen refuses XML-illegal characters
        raise PublishError(f"feed {spec.name!r}: cannot build Atom: {exc}") from exc


def render_rss(
    spec: FeedSpec,
    entries: list[Cluster],
    ctx: FeedContext,
    language: str | None = None,
    shared: Renderings | None = None,
) -> bytes:
    """RSS 2.0; guid is the entry's tag: URI with isPermaLink="false"."""
    try:
        return bytes(_generator(spec, entries, ctx, "rss", language, shared).rss_str(pretty=True))
    except ValueError as exc:
        raise PublishError(f"feed {spec.name!r}: cannot build RSS: {exc}") from exc


def render_json(
    spec: FeedSpec,
    entries: list[Cluster],
    ctx: FeedContext,
    language: str | None = None,
    shared: Renderings | None = None,
) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    stamps = entry_stamps(entries)
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": f"{ctx.public_url}/",
        "feed_url": ctx.feed_url(spec.name, "json"),
        "description": f"Deduplicated stories from news-aggregator pages: {spec.title}",
        "authors": [{"name": "feedsvc"}],
    }
    hub = feed_hub(spec, ctx)
    if hub:
        doc["hubs"] = [{"type": "WebSub", "url": hub}]
    if language:
        doc["language"] = language
    head = json.dumps(doc, ensure_ascii=False, indent=2)
    # As json.dumps(doc | {"items": items}, indent=2) writes it, each item rendered once for every feed
    # (an item's text holds no raw line break, so indenting its lines nests it).
    items = [
        shared.json_item(c, stamps[c.id]) if shared else _json_item(c, ctx, stamps[c.id]) for c in entries
    ]
    tail = "[\n    " + ",\n    ".join(items) + "\n  ]" if items else "[]"
    return (f'{head[:-2]},\n  "items": {tail}\n}}\n').encode()


def _json_item(cluster: Cluster, ctx: FeedContext, stamp: datetime) -> str:
    """One JSON Feed item, as json.dumps writes it at the depth of the feed's items."""
    canonical = cluster.canonical
    item: dict[str, Any] = {
        "id": ctx.entry_id(cluster.id),
        "url": absolute_url(canonical.url) or ctx.story_url(cluster.id),
        "title": canonical.title,
        "content_html": entry_html(cluster, ctx),
        "content_text": entry_text(cluster, ctx),
        "date_published": _rfc3339(cluster.published),
        "date_modified": _rfc3339(stamp),
        "authors": [{"name": o} for o in outlet_names(cluster)],
    }
    summary = excerpt(canonical.body)
    if summary:
        item["summary"] = summary
    image = entry_image(cluster)
    if image:
        item["image"] = image
    if cluster.categories:
        item["tags"] = cluster.categories
    return json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n    ")


class Renderings:
    """The entries of one build, each rendered once per format and `updated` stamp, for every feed that
    carries it (the feeds of one build share most entries: a source's feed, ``all``, filtered feeds)."""

    def __init__(self, ctx: FeedContext) -> None:
        self.ctx = ctx
        self._done: dict[tuple[str, str, datetime], tuple[Cluster, object]] = {}

    def entry(self, cluster: Cluster, ext: str, stamp: datetime) -> _Entry:
        return cast(_Entry, self._get(cluster, ext, stamp, lambda: _entry(cluster, self.ctx, ext, stamp)))

    def json_item(self, cluster: Cluster, stamp: datetime) -> str:
        return cast(str, self._get(cluster, "json", stamp, lambda: _json_item(cluster, self.ctx, stamp)))

    def _get(self, cluster: Cluster, ext: str, stamp: datetime, make: Callable[[], object]) -> object:
        key = (cluster.id, ext, stamp)
        done = self._done.get(key)
        if done is None or done[0] is not cluster:  # another object under the same id: never mixed up
            done = self._done[key] = (cluster, make())
        return done[1]


MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


class Renderer(Protocol):
    def __call__(
        self,
        spec: FeedSpec,
        entries: list[Cluster],
        ctx: FeedContext,
        language: str | None = None,
        shared: Renderings | None = None,
    ) -> bytes: ...


RENDERERS: dict[str, Renderer] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}


def entries_digest(entries: Sequence[Cluster]) -> str:
    """A digest of what a feed's bytes take from its entries, beside :func:`render_fingerprint`: equal
    digests under one fingerprint mean equal bytes, so the publisher skips rendering such a feed.

    A stored copy never changes but for its body, which only grows (ingest's grown copies): so each entry
    is its id, ``updated``, canonical copy and that copy's body length, and the keys of its copies (a copy
    joining, leaving or a fold change them). Cheap: no text is hashed."""
    parts = []
    for cluster in entries:
        canonical = cluster.canonical
        parts.append(
            f"{cluster.id}|{cluster.updated.isoformat()}|{cluster.canonical_key}"
            f"|{sum(map(len, canonical.body))}|{','.join(sorted(c.key for c in cluster.copies))}"
        )
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:32]

"""Clusters -> Atom feed bytes (feedgen), written atomically with validators that survive restarts."""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from feedsvc import __version__
from feedsvc.errors import PublishError
from feedsvc.extract.clean import XML_ILLEGAL as _XML_ILLEGAL
from feedsvc.models import Cluster, Feed, FeedSpec


@dataclass(frozen=True)
class FeedContext:
    public_url: str  # absolute, no trailing slash
    tag_authority: str  # "host,YYYY" (RFC 4151), fixed at first start so ids never change
    epoch: datetime  # `updated` of a feed with no entries

    def entry_id(self, cluster_id: str) -> str:
        return f"tag:{self.tag_authority}:story/{cluster_id}"

    def feed_id(self, name: str) -> str:
        return f"tag:{self.tag_authority}:feed/{name}"

    def feed_url(self, name: str, ext: str = "atom") -> str:
        return f"{self.public_url}/feeds/{name}.{ext}"

    def story_url(self, cluster_id: str) -> str:
        return f"{self.public_url}/stories/{cluster_id}"


def _safe(text: str) -> str:
    """Text without the characters XML 1.0 forbids (feedgen raises on them, breaking the whole feed)."""
    return _XML_ILLEGAL.sub("", text)


def _paragraphs(body: tuple[str, ...]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in body)


def entry_html(cluster: Cluster, ctx: FeedContext) -> str:
    """The entry content: canonical body as escaped paragraphs, then every other outlet that carried it."""
    canonical = cluster.canonical
    parts = [_paragraphs(canonical.body) or f"<p>{html.escape(canonical.title)}</p>"]
    others = [c for c in cluster.copies if c.key != canonical.key]
    if others:
        items = []
        for c in others:
            name = html.escape(c.outlet or "Unknown outlet")
            label = f'<a href="{html.escape(c.url)}">{name}</a>' if c.url else name
            when = f" ({c.published.strftime('%Y-%m-%d %H:%M UTC')})" if c.published else ""
            items.append(f"<li>{label}{when}: {html.escape(c.title)}</li>")
        parts.append(f"<p>Also reported by:</p><ul>{''.join(items)}</ul>")
    parts.append(f'<p><a href="{html.escape(ctx.story_url(cluster.id))}">All copies on feedsvc</a></p>')
    return "".join(parts)


class _Entry(FeedEntry):  # type: ignore[misc]
    """feedgen 1.0 drops rel/type of entry links in Atom (lkiesow/python-feedgen#135): put them back."""

    def atom_entry(self, extensions: bool = True) -> Any:
        entry = super().atom_entry(extensions)
        elements = [child for child in entry if child.tag.endswith("link")]
        for element, link in zip(elements, self.link() or [], strict=False):
            for attr in ("rel", "type", "hreflang", "title", "length"):
                if link.get(attr):
                    element.attrib[attr] = str(link[attr])
        return entry


def _generator(spec: FeedSpec, entries: list[Cluster], ctx: FeedContext, ext: str) -> FeedGenerator:
    """One feedgen document; every date comes from the data, never from the clock."""
    fg = FeedGenerator()
    fg.id(ctx.feed_id(spec.name))
    fg.title(_safe(spec.title))
    fg.subtitle(f"Deduplicated stories from news-aggregator pages: {spec.title}")
    fg.author({"name": "feedsvc"})
    fg.link(href=ctx.feed_url(spec.name, ext), rel="self", type=MEDIA_TYPES[ext].split(";")[0])
    fg.link(href=f"{ctx.public_url}/", rel="alternate", type="text/html")
    fg.generator("feedsvc", version=__version__, uri="https://pypi.org/project/feedsvc/")
    updated = max((c.updated for c in entries), default=ctx.epoch)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    if ext == "rss":
        fg.load_extension("dc", atom=False, rss=True)
    for cluster in entries:
        canonical = cluster.canonical
        fe = fg.add_entry(_Entry(), order="append")
        fe.id(ctx.entry_id(cluster.id))
        fe.guid(ctx.entry_id(cluster.id), permalink=False)
        fe.title(_safe(canonical.title))
        fe.published(cluster.published)
        fe.updated(max(cluster.updated, cluster.published))
        outlets = [_safe(o) for o in cluster.outlets] or ["Unknown outlet"]
        if ext == "rss":
            fe.dc.dc_creator(outlets)
        else:
            fe.author([{"name": outlet} for outlet in outlets])
        fe.content(_safe(entry_html(cluster, ctx)), type="html")
        if canonical.body:
            fe.summary(_safe(canonical.body[0]))
        fe.link(href=_safe(canonical.url or ctx.story_url(cluster.id)), rel="alternate", type="text/html")
        for c in cluster.copies:
            if c.url and c.url != canonical.url:
                fe.link(href=_safe(c.url), rel="related", type="text/html")
        for category in cluster.categories:
            fe.category(term=_safe(category))
    return fg


def render_atom(spec: FeedSpec, entries: list[Cluster], ctx: FeedContext) -> bytes:
    """Atom 1.0 for ``entries`` (newest first)."""
    try:
        return bytes(_generator(spec, entries, ctx, "atom").atom_str(pretty=True))
    except ValueError as exc:  # feedgen refuses XML-illegal characters
        raise PublishError(f"feed {spec.name!r}: cannot build Atom: {exc}") from exc


def render_rss(spec: FeedSpec, entries: list[Cluster], ctx: FeedContext) -> bytes:
    """RSS 2.0; guid is the entry's tag: URI with isPermaLink="false"."""
    try:
        return bytes(_generator(spec, entries, ctx, "rss").rss_str(pretty=True))
    except ValueError as exc:
        raise PublishError(f"feed {spec.name!r}: cannot build RSS: {exc}") from exc


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_json(spec: FeedSpec, entries: list[Cluster], ctx: FeedContext) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    items = []
    for cluster in entries:
        canonical = cluster.canonical
        item: dict[str, Any] = {
            "id": ctx.entry_id(cluster.id),
            "url": canonical.url or ctx.story_url(cluster.id),
            "title": canonical.title,
            "content_html": entry_html(cluster, ctx),
            "date_published": _iso(cluster.published),
            "date_modified": _iso(max(cluster.updated, cluster.published)),
            "authors": [{"name": o} for o in cluster.outlets or ["Unknown outlet"]],
        }
        if canonical.body:
            item["summary"] = canonical.body[0]
        if cluster.categories:
            item["tags"] = cluster.categories
        items.append(item)
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": f"{ctx.public_url}/",
        "feed_url": ctx.feed_url(spec.name, "json"),
        "description": f"Deduplicated stories from news-aggregator pages: {spec.title}",
        "authors": [{"name": "feedsvc"}],
        "items": items,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
RENDERERS: dict[str, Callable[[FeedSpec, list[Cluster], FeedContext], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


class Publisher:
    """Holds the current bytes of every feed in memory and on disk (``data_dir/feeds``).

    A feed whose bytes are unchanged keeps its ETag and Last-Modified. A changed one gets a new strong
    ETag and a Last-Modified strictly later than the previous one, even within the same second, because
    some clients (newsboat, anything on libcurl) drop a 200 that is not newer than If-Modified-Since.
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "feeds"
        self._feeds: dict[str, Feed] = {}
        self._lock = threading.Lock()

    def get(self, filename: str) -> Feed | None:
        return self._feeds.get(filename)

    def names(self) -> list[str]:
        return sorted(self._feeds)

    def load(self) -> int:
        """Serve what was published before the restart until the first build replaces it."""
        if not self.dir.is_dir():
            return 0
        _remove_stale_temporaries(self.dir)
        for meta_path in self.dir.glob("*.meta.json"):
            filename = meta_path.name.removesuffix(".meta.json")
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                content = (self.dir / filename).read_bytes()
            except (OSError, ValueError):
                continue  # a feed file without readable validators is rebuilt on the first publish
            if hashlib.sha256(content).hexdigest()[:32] != meta.get("etag", "").strip('"'):
                continue
            self._feeds[filename] = Feed(
                name=filename,
                media_type=meta["media_type"],
                content=content,
                etag=meta["etag"],
                last_modified=datetime.fromisoformat(meta["last_modified"]),
            )
        return len(self._feeds)

    def publish(self, filename: str, media_type: str, content: bytes, now: datetime | None = None) -> Feed:
        with self._lock:
            current = self._feeds.get(filename)
            etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
            if current is not None and current.etag == etag:
                return current
            stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
            if current is not None and stamp <= current.last_modified:
                stamp = current.last_modified + timedelta(seconds=1)
            feed = Feed(name=filename, media_type=media_type, content=content, etag=etag, last_modified=stamp)
            self._write(feed)
            self._feeds[filename] = feed
            return feed

    def _write(self, feed: Feed) -> None:
        meta = {
            "etag": feed.etag,
            "last_modified": feed.last_modified.isoformat(),
            "media_type": feed.media_type,
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.dir / feed.name, feed.content)
            _atomic_write(self.dir / f"{feed.name}.meta.json", json.dumps(meta).encode("utf-8"))
        except OSError as exc:
            raise PublishError(f"cannot write feed {feed.name} to {self.dir}: {exc}") from exc


# A temporary file older than this was left by a process killed while publishing (a live writer renames
# its file within milliseconds; the margin covers another process on the same data directory).
_STALE_TEMPORARY = 600.0
FEED_FILE_MODE = 0o644  # feeds are public: a web server or backup job running as another user reads them


def _remove_stale_temporaries(directory: Path) -> None:
    now = time.time()
    for tmp in directory.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TEMPORARY:
                tmp.unlink()
        except OSError:
            continue  # gone already, or not ours to remove: never a reason to stop serving


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader or a crash never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FEED_FILE_MODE)  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def http_validators(feed: Feed) -> dict[str, Any]:
    return {"ETag": feed.etag, "Last-Modified": _http_date(feed.last_modified)}

"""What a restarted `feedsvc serve` holds before its service is built: the feeds it will serve and the
sources known to have succeeded, read from an SQLite store with the standard library's sqlite3 (SQLAlchemy,
the dedup index and the rest take most of a second to import) and from the published feed files.

The service, once built, must answer exactly as :class:`Snapshot` did (feedsvc.early), so the snapshot
takes what :meth:`Service.start` takes (the files whose bytes match their sidecar, then the store's newer
versions: ``Publisher.load``) and gives up (None) wherever it cannot be sure: a store other than an SQLite
file, none yet, a schema other than this release's, or a configured feed built for another rendering
context (the publisher rebuilds those before serving them).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from feedsvc.migrations import HEAD
from feedsvc.models import Feed, utc
from feedsvc.published import Publisher, feed_context, specs_fingerprint, stored_is_newer, titled_specs
from feedsvc.settings import Settings

_SQLITE_FILE = re.compile(r"sqlite(?:\+pysqlite)?:///([^?%]+)")  # no query, nothing percent-encoded


@dataclass(frozen=True)
class Snapshot:
    feeds: dict[str, Feed]  # file name (all.atom) -> the bytes and validators the service will serve
    succeeded: frozenset[str]  # sources with a successful fetch (a success is never forgotten)


@dataclass(frozen=True)
class _Stored:
    tag_authority: str
    epoch: datetime
    page_titles: dict[str, str]
    succeeded: frozenset[str]
    versions: dict[str, tuple[str, datetime, str | None]]  # file name -> ETag, Last-Modified, fingerprint


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite ``database_url`` (as SQLAlchemy reads it), None for any other store."""
    match = _SQLITE_FILE.fullmatch(url)
    return Path(match[1]) if match is not None and match[1] != ":memory:" else None


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that reads (never creates) the store; a write under way makes it wait, as the store's
    own connections do."""
    uri = f"file:{quote(str(path))}?mode=rw"
    with closing(sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None)) as conn:
        yield conn


def _read(conn: sqlite3.Connection) -> _Stored | None:
    conn.execute("BEGIN")  # one snapshot of every table
    revisions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    if revisions != [HEAD]:
        return None
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('tag_authority', 'epoch')"))
    if "tag_authority" not in meta or "epoch" not in meta:
        return None  # the service has never started on this store
    titles: dict[str, str] = {}
    succeeded = set()
    for name, title, success in conn.execute("SELECT name, page_title, last_success FROM sources"):
        if title is not None:
            titles[name] = title
        if success is not None:
            succeeded.add(name)
    versions = {
        name: (etag, utc(datetime.fromisoformat(modified)), fingerprint)
        for name, etag, modified, fingerprint in conn.execute(
            "SELECT name, etag, last_modified, fingerprint FROM feeds"
        )
    }
    return _Stored(
        meta["tag_authority"], datetime.fromisoformat(meta["epoch"]), titles, frozenset(succeeded), versions
    )


def _stored_feeds(conn: sqlite3.Connection, names: list[str]) -> dict[str, Feed]:
    if not names:
        return {}
    marks = ",".join("?" * len(names))
    rows = conn.execute(
        f"SELECT name, media_type, content, etag, last_modified FROM feeds WHERE name IN ({marks})", names
    )
    return {
        name: Feed(name, media_type, bytes(content), etag, utc(datetime.fromisoformat(modified)))
        for name, media_type, content, etag, modified in rows
    }


def read_snapshot(settings: Settings, role: str) -> Snapshot | None:
    """The feeds a service with ``settings`` and ``role`` will serve once started, or None when that
    cannot be told without building it (see the module's docstring)."""
    path = sqlite_file(settings.database_url)
    if path is None or not path.is_file():
        return None
    try:
        with _connect(path) as conn:
            stored = _read(conn)
            if stored is None:
                return None
            ctx = feed_context(
                settings.public_url, settings.hub, settings.token, stored.tag_authority, stored.epoch
            )
            specs = titled_specs(settings.all_feeds(), settings.sources, stored.page_titles)
            fingerprint = specs_fingerprint(ctx, specs, settings.sources, settings.feed_entries)
            files = Publisher(settings.data_dir, files=role != "web")  # web servers serve the store's
            files.load(fingerprint)
            feeds = {name: feed for name in files.names() if (feed := files.get(name)) is not None}
            outdated = set(files.outdated())
            # The store's newer versions replace the files' (Publisher.refresh): a crash between storing
            # a build and writing its files leaves the files behind.
            newer = [
                name
                for name, (etag, modified, _) in stored.versions.items()
                if stored_is_newer(feeds.get(name), etag, modified)
            ]
            feeds.update(_stored_feeds(conn, newer))
    except (sqlite3.Error, ValueError):  # locked past the timeout, another layout: the service will tell
        return None
    for name in newer:
        outdated.discard(name)
        if stored.versions[name][2] != fingerprint:
            outdated.add(name)
    configured = {spec.name for spec in specs}
    if role != "web" and any(name.rsplit(".", 1)[0] in configured for name in outdated):
        return None  # the service rebuilds these feeds before it serves them
    return Snapshot(feeds, stored.succeeded)

"""The published feeds: their bytes with validators, held in memory, in the store and in
``data_dir/feeds`` (:class:`Publisher`), and the rendering context they were built under (fingerprints).

No rendering here (feedsvc.publish renders with feedgen): a restarted server reads what was published
without importing the renderers (feedsvc.snapshot).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from feedsvc.errors import FeedsvcError, PublishError
from feedsvc.models import Feed, FeedSpec, Source, name_in_words


@dataclass(frozen=True)
class FeedContext:
    public_url: str  # absolute, no trailing slash
    tag_authority: str  # "host,YYYY" (RFC 4151), fixed at first start so ids never change
    epoch: datetime  # `updated` of a feed with no entries
    hub: str = ""  # WebSub hub public feeds link to ("": none)

    def entry_id(self, cluster_id: str) -> str:
        return f"tag:{self.tag_authority}:story/{cluster_id}"

    def feed_id(self, name: str) -> str:
        return f"tag:{self.tag_authority}:feed/{name}"

    def feed_url(self, name: str, ext: str = "atom") -> str:
        return f"{self.public_url}/feeds/{name}.{ext}"

    def story_url(self, cluster_id: str) -> str:
        return f"{self.public_url}/stories/{cluster_id}"


def feed_context(public_url: str, hub: str, token: str, tag_authority: str, epoch: datetime) -> FeedContext:
    """The rendering context of a service's feeds (``tag_authority`` and ``epoch``: as its store has them)."""
    # With a service-wide token every feed is private: no hub is named, none is pinged.
    return FeedContext(
        public_url=public_url, tag_authority=tag_authority, epoch=epoch, hub="" if token else hub
    )


def titled_specs(
    specs: tuple[FeedSpec, ...], sources: tuple[Source, ...], page_titles: dict[str, str]
) -> tuple[FeedSpec, ...]:
    """The feeds with each source's own feed titled for people: its ``title`` setting, else the title its
    page gives itself (stored at its last successful fetch), else its name in words."""
    untitled = {s.name for s in sources if s.title is None}
    out = []
    for spec in specs:
        if spec.name in untitled and spec.sources == (spec.name,) and spec.title == spec.name:
            spec = replace(spec, title=page_titles.get(spec.name) or name_in_words(spec.name))
        out.append(spec)
    return tuple(out)


def feed_language(spec: FeedSpec, sources: Iterable[Source]) -> str | None:
    """The language of a feed: the one language every source it draws from declares, else None (an
    absent language is better than a wrong one; readers then guess from the text)."""
    wanted = set(spec.sources)
    languages = {s.language for s in sources if not wanted or s.name in wanted}
    if len(languages) == 1:
        (language,) = languages
        return language
    return None


# Bumped whenever the renderers change what they write, so feeds built by an older feedsvc are rebuilt
# at start-up rather than served until some story changes.
RENDER_VERSION = 2


def render_fingerprint(
    ctx: FeedContext, specs: Iterable[FeedSpec], entries: int, languages: dict[str, str | None] | None = None
) -> str:
    """A digest of everything besides the stories that shapes a feed's bytes: public URL, tag authority,
    epoch, WebSub hub, every feed's name, title and filters, the entry limit, languages and the renderer
    version.
    Stored beside each published feed; a different one at start-up means the feed must be rebuilt."""
    doc = {
        "version": RENDER_VERSION,
        "public_url": ctx.public_url,
        "tag_authority": ctx.tag_authority,
        "epoch": ctx.epoch.isoformat(),
        **({"hub": ctx.hub} if ctx.hub else {}),  # absent without one: earlier fingerprints still hold
        "entries": entries,
        "feeds": [repr(spec) for spec in specs],
        "languages": sorted((languages or {}).items()),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def specs_fingerprint(
    ctx: FeedContext, specs: tuple[FeedSpec, ...], sources: tuple[Source, ...], entries: int
) -> str:
    """:func:`render_fingerprint` of ``specs`` with each feed's language (see :func:`feed_language`)."""
    languages = {spec.name: feed_language(spec, sources) for spec in specs}
    return render_fingerprint(ctx, specs, entries, languages)


class FeedStore(Protocol):
    """Where the publisher keeps feeds for every web server (feedsvc.store.Store)."""

    def feed_versions(self) -> dict[str, tuple[str, datetime]]: ...

    def feeds(self, names: Sequence[str]) -> list[tuple[Feed, str | None]]: ...

    def put_feeds(self, items: Sequence[tuple[Feed, str | None]]) -> list[Feed]: ...


def stored_is_newer(mine: Feed | None, etag: str, modified: datetime) -> bool:
    """Whether the store's version of a feed (``etag``, ``modified``) replaces ``mine``: another process
    published it after the bytes held here (or none are held)."""
    return mine is None or (mine.etag != etag and modified > mine.last_modified)


class Publisher:
    """Holds the current bytes of every feed in memory, in the store (``store``: what every web server
    serves) and, on the embedded path (``files``), on disk (``data_dir/feeds``).

    A feed whose bytes are unchanged keeps its ETag and Last-Modified. A changed one gets a new strong
    ETag and a Last-Modified strictly later than the previous one, even within the same second, because
    some clients (newsboat, anything on libcurl) drop a 200 that is not newer than If-Modified-Since.
    Only one process publishes at a time (the leader); the others :meth:`refresh` from the store.

    Durability: the store holds every feed, committed before its files are replaced, and :meth:`load` takes
    a file only when its bytes match the ETag its sidecar entry gives; so the files are a verified copy,
    replaced by rename (a reader or a kill never sees half a file) with one fsync of the directory per
    build for the renames, not one per file (a file a power cut tore is ignored at start and rewritten).
    The sidecar entries of every file (validators, fingerprint, entries digest) are one file,
    :data:`SIDECARS`, replaced after the build's feed files: a build writes its changed feeds and that one
    file (a file per feed cost as much again, making a new file being most of what writing one costs). A
    kill between a feed's rename and the sidecars' leaves an entry that no longer matches: the file is
    ignored and rewritten, as a torn one.
    """

    def __init__(self, data_dir: Path, store: FeedStore | None = None, *, files: bool = True) -> None:
        self.dir = Path(data_dir) / "feeds"
        self.store = store
        self.files = files
        self._feeds: dict[str, Feed] = {}
        self._built_with: dict[str, str | None] = {}  # filename -> fingerprint its bytes were built with
        self._on_disk: dict[str, dict[str, Any]] = {}  # filename -> sidecar entry of the file on disk
        self._legacy: list[Path] = []  # one sidecar file per feed (before SIDECARS): removed once replaced
        self._inputs: dict[str, str] = {}  # filename -> entries_digest its bytes were built from
        self.fingerprint: str | None = None  # of the rendering context this process builds with
        self._lock = threading.Lock()

    def get(self, filename: str) -> Feed | None:
        return self._feeds.get(filename)

    def names(self) -> list[str]:
        return sorted(self._feeds)

    def load(self, fingerprint: str | None = None) -> int:
        """Serve what was published before the restart until the first build replaces it.

        ``fingerprint`` (see :func:`render_fingerprint`) describes what this process would build with;
        feeds built with another one (an older public URL, title or entry limit) are still served until
        rebuilt, and :meth:`outdated` names them so the caller rebuilds them at once."""
        self.fingerprint = fingerprint
        if self.files and self.dir.is_dir():
            self._load_files()
        if self.store is not None:
            self.refresh()
        return len(self._feeds)

    def _load_files(self) -> None:
        _remove_stale_temporaries(self.dir)
        for filename, meta in self._sidecars().items():
            try:
                content = (self.dir / filename).read_bytes()
                feed = Feed(
                    name=filename,
                    media_type=str(meta["media_type"]),
                    content=content,
                    etag=str(meta["etag"]),
                    last_modified=datetime.fromisoformat(meta["last_modified"]),
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a feed file without readable validators is rebuilt on the first publish
            if _etag(content) != feed.etag:
                continue
            self._feeds[filename] = feed
            self._built_with[filename] = meta.get("fingerprint")
            self._on_disk[filename] = meta
            if isinstance(meta.get("inputs"), str):
                self._inputs[filename] = meta["inputs"]

    def _sidecars(self) -> dict[str, dict[str, Any]]:
        """Each feed file's sidecar entry: from :data:`SIDECARS`, else (written by an older feedsvc) from
        the feed's own NAME.meta.json, which the next build's SIDECARS replaces."""
        try:
            found = json.loads((self.dir / SIDECARS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            found = None
        except (OSError, ValueError):
            return {}  # unreadable (a power cut tore it): every file is rebuilt on the first publish
        legacy = list(self.dir.glob("*.meta.json"))
        # removed once a build's SIDECARS is written (left there by a kill or by an older writer)
        self._legacy = legacy
        if found is not None:
            return _entries(found)
        out = {}
        for meta_path in legacy:
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict):
                out[meta_path.name.removesuffix(".meta.json")] = meta
        return out

    def refresh(self) -> int:
        """Take the feeds the store holds newer bytes of than this process (another process published
        them); returns how many changed here."""
        if self.store is None:
            return 0
        versions = self.store.feed_versions()
        stale = [
            name
            for name, (etag, modified) in versions.items()
            if stored_is_newer(self._feeds.get(name), etag, modified)
        ]
        for feed, fingerprint in self.store.feeds(stale):
            with self._lock:
                self._feeds[feed.name] = feed
                self._built_with[feed.name] = fingerprint
                self._inputs.pop(feed.name, None)  # built by another process, from entries unknown here
        return len(stale)

    def outdated(self) -> list[str]:
        """Loaded feeds whose bytes were built with another rendering context than :attr:`fingerprint`."""
        if self.fingerprint is None:
            return []
        return sorted(name for name in self._feeds if self._built_with.get(name) != self.fingerprint)

    def current(self, filenames: Iterable[str]) -> bool:
        """True when every feed of ``filenames`` is held, built under this process's fingerprint and
        (with files) on disk as held."""
        with self._lock:
            return all(
                (feed := self._feeds.get(name)) is not None
                and self._built_with.get(name) == self.fingerprint
                and (not self.files or self._disk_etag(name) == feed.etag)
                for name in filenames
            )

    def up_to_date(self, filename: str, inputs: str) -> bool:
        """True when ``filename`` holds bytes built from entries with digest ``inputs`` (entries_digest)
        under this process's fingerprint, stored and (with files) on disk: building it again would give
        the same bytes, so the caller need not render it."""
        with self._lock:
            feed = self._feeds.get(filename)
            return (
                feed is not None
                and self._inputs.get(filename) == inputs
                and self._built_with.get(filename) == self.fingerprint
                and (not self.files or self._disk_etag(filename) == feed.etag)
            )

    def _disk_etag(self, filename: str) -> str | None:
        etag = self._on_disk.get(filename, {}).get("etag")
        return etag if isinstance(etag, str) else None

    def publish(
        self,
        filename: str,
        media_type: str,
        content: bytes,
        now: datetime | None = None,
        inputs: str | None = None,
    ) -> Feed:
        """Publish one feed (see :meth:`publish_many`); PublishError when it cannot be stored or written."""
        result = self.publish_many([(filename, media_type, content, inputs)], now)[filename]
        if isinstance(result, PublishError):
            raise result
        return result

    def publish_many(
        self, items: Sequence[tuple[str, str, bytes, str | None]], now: datetime | None = None
    ) -> dict[str, Feed | PublishError]:
        """Publish every (filename, media type, bytes, entries digest) of ``items`` as one build: the
        changed feeds are stored in one transaction, then their files written, then their sidecars (one
        file), then the directory synced once. Returns each filename's feed as now served, or the
        PublishError that kept its last good bytes in place (a store failure fails the whole build; a file
        that cannot be written, only itself)."""
        out: dict[str, Feed | PublishError] = {}
        with self._lock:
            stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
            to_store: list[Feed] = []  # new bytes, or the same bytes under a new fingerprint
            to_write: dict[str, bool] = {}  # filename -> its content changed (else only the sidecar)
            inputs_of: dict[str, str | None] = {}
            for filename, media_type, content, inputs in items:
                inputs_of[filename] = inputs
                current = self._feeds.get(filename)
                etag = _etag(content)
                if current is not None and current.etag == etag:
                    out[filename] = current
                    if self.files and self._disk_etag(filename) != etag:
                        # Taken from the store while the files lag (a crash between the store and the files,
                        # or between a file and its sidecar): write both now.
                        to_write[filename] = True
                    if self._built_with.get(filename) != self.fingerprint:
                        to_store.append(current)  # same bytes: only the note changes
                        if self.files:
                            to_write.setdefault(filename, False)
                    elif self.files and self._inputs.get(filename) != inputs:
                        to_write.setdefault(filename, False)  # the sidecar notes the new digest
                    continue
                modified = stamp
                if current is not None and modified <= current.last_modified:
                    modified = current.last_modified + timedelta(seconds=1)
                feed = Feed(filename, media_type, content, etag, modified)
                to_store.append(feed)
                out[filename] = feed
                if self.files:
                    to_write[filename] = True
            try:
                stored = self.store.put_feeds([(f, self.fingerprint) for f in to_store]) if self.store else []
            except FeedsvcError as exc:
                for feed in to_store:
                    out[feed.name] = PublishError(f"cannot store feed {feed.name}: {exc}")
                return out
            for feed in stored:
                out[feed.name] = feed
            if to_write:
                try:
                    self.dir.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    for filename in to_write:
                        out[filename] = PublishError(f"cannot write feed {filename} to {self.dir}: {exc}")
                else:
                    self._write(to_write, out, inputs_of)
            for filename, result in out.items():
                if isinstance(result, Feed):
                    self._feeds[filename] = result
                    self._built_with[filename] = self.fingerprint
                    inputs = inputs_of[filename]
                    if inputs is None:
                        self._inputs.pop(filename, None)
                    else:
                        self._inputs[filename] = inputs
        return out

    def _write(
        self, to_write: dict[str, bool], out: dict[str, Feed | PublishError], inputs_of: dict[str, str | None]
    ) -> None:
        """Write the feed files of ``to_write`` (filename -> its bytes changed, else only its sidecar entry)
        whose ``out`` is a Feed, then the sidecars, then sync the directory once; a file that could not be
        written, or every written one when the sidecars or the sync fail, gets its PublishError in ``out``."""
        entries = self._current_entries()
        written = []
        for filename, content_changed in to_write.items():
            feed = out[filename]
            assert isinstance(feed, Feed)  # stored, or unchanged
            try:
                if content_changed:
                    _atomic_write(self.dir / filename, feed.content)
            except OSError as exc:
                out[filename] = PublishError(f"cannot write feed {filename} to {self.dir}: {exc}")
                continue
            entries[filename] = _sidecar(feed, self.fingerprint, inputs_of[filename])
            written.append(filename)
        if not written:
            return
        try:
            _atomic_write(self.dir / SIDECARS, json.dumps(entries, sort_keys=True).encode("utf-8"))
            _sync_directory(self.dir)
        except OSError as exc:
            for filename in written:
                out[filename] = PublishError(f"cannot write the sidecars of {filename} to {self.dir}: {exc}")
            return
        self._on_disk = entries
        for path in self._legacy:  # replaced by SIDECARS
            path.unlink(missing_ok=True)
        self._legacy.clear()

    def _current_entries(self) -> dict[str, dict[str, Any]]:
        """The sidecar entries as they stand: this process's, and where another process on the directory
        (a leader before a handover, ``run-once`` beside ``serve``) wrote SIDECARS since, whichever entry
        of the two its file's bytes match (a build that started from its own entries alone dropped the
        other's files from SIDECARS: they were rebuilt instead of served at the next start)."""
        entries = dict(self._on_disk)
        try:
            theirs = _entries(json.loads((self.dir / SIDECARS).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return entries
        for filename, entry in theirs.items():
            mine = entries.get(filename)
            if mine is None or (mine != entry and _file_etag(self.dir / filename) == entry.get("etag")):
                entries[filename] = entry
        return entries


def _entries(found: Any) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def _etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()[:32]}"'


def _file_etag(path: Path) -> str | None:
    try:
        return _etag(path.read_bytes())
    except OSError:
        return None


def _sidecar(feed: Feed, fingerprint: str | None, inputs: str | None) -> dict[str, Any]:
    """What :data:`SIDECARS` notes of a feed file: its validators and media type, the rendering context it
    was built with (:func:`render_fingerprint`) and the entries digest it was built from."""
    meta: dict[str, Any] = {
        "etag": feed.etag,
        "last_modified": feed.last_modified.isoformat(),
        "media_type": feed.media_type,
    }
    if fingerprint is not None:
        meta["fingerprint"] = fingerprint
    if inputs is not None:
        meta["inputs"] = inputs
    return meta


# Every feed file's sidecar entry, in one file beside them (a name no feed file can have: see Publisher).
SIDECARS = ".sidecars.json"
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
    """Write via a temporary file and rename, so a reader or a kill never sees half a file. Not synced:
    see :class:`Publisher` (the caller syncs the directory once after a batch of renames)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FEED_FILE_MODE)  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    """Make the renames done in ``directory`` durable (one fsync for a whole build)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

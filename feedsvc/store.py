"""Persistence (SQLAlchemy Core): copies, clusters, fingerprints and per-source state.

SQLite (WAL) is the embedded default; the same statements run on PostgreSQL. Everything one page
changes is written in one transaction, so a crash leaves either all of it or none of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from feedsvc import migrate as migrations
from feedsvc.errors import StoreError
from feedsvc.models import Cluster, Copy, Feed, utc

log = logging.getLogger("feedsvc")
Decision = Connection  # the transaction of one dedup decision (Store.decision)
metadata = MetaData()
_HOST_LOCKS = 0x66656564  # advisory lock namespace of the per-host request locks ("feed")
DEDUP_LOCK = 0x6465647570  # pg_advisory_xact_lock key of the dedup decision ("dedup")

meta_table = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
blobs = Table(
    "blobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
clusters = Table(
    "clusters",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("canonical_key", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("merged_into", String(40), nullable=True),
    Index("ix_clusters_published", "published"),
)
IMAGE_URL_MAX = 2048  # feedsvc.extract.html.images.MAX_IMAGE_URL: longer addresses are never kept
PAGE_TITLE_MAX = 200
copies = Table(
    "copies",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("cluster_id", String(40), ForeignKey("clusters.id"), nullable=False, index=True),
    Column("source", String(64), nullable=True),
    Column("outlet", String(200), nullable=True),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=True),
    Column("published", DateTime(timezone=True), nullable=True),
    Column("category", String(200), nullable=True),
    Column("body", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("shingles", LargeBinary, nullable=False),
    Column("lead", LargeBinary, nullable=False),
    # The MinHash signatures the copy was indexed under (dedup parameters are in meta.dedup_params).
    Column("body_sig", LargeBinary, nullable=True),
    Column("lead_sig", LargeBinary, nullable=True),
    # Decision order (see Store.decision): seq numbers the copy when stored, changed is the last decision
    # that changed its cluster or fingerprint; new_cluster marks a copy that started its cluster.
    Column("seq", BigInteger, nullable=True),
    Column("changed", BigInteger, nullable=True),
    Column("new_cluster", Boolean, nullable=True),
    Column("image", String(IMAGE_URL_MAX), nullable=True),  # absolute URL of the copy's picture
    Index("ix_copies_seq", "seq"),
    Index("ix_copies_changed", "changed"),
)
sources = Table(
    "sources",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_fetch", DateTime(timezone=True), nullable=True),
    Column("last_success", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("stories", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_run", DateTime(timezone=True), nullable=True),
    Column("backoff_until", DateTime(timezone=True), nullable=True),
    # The lease of the worker running the source now (owner token, expiry): see Store.claim_due.
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", DateTime(timezone=True), nullable=True),
    # The title the source's page gave itself at its last successful fetch that gave one.
    Column("page_title", String(PAGE_TITLE_MAX), nullable=True),
    Index("ix_sources_next_run", "next_run"),
)

# Published feeds (feedsvc.published.Publisher): the bytes every web server serves, with their validators.
feeds_table = Table(
    "feeds",
    metadata,
    Column("name", String(160), primary_key=True),  # file name: all.atom
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("fingerprint", String(128), nullable=True),  # of the rendering context the bytes were built with
)
FEEDS_CHANNEL = "feedsvc_feeds"  # NOTIFY channel: a feed's bytes changed (payload: its name)
_LEADER_LOCK = 0x7075626C697368  # session-level advisory lock held by the publisher ("publish")

# Full-text cache: one row per article URL a card linked to (feedsvc.fulltext). Text columns are bounded
# so that a hostile page cannot grow the store; fulltext trims to these before writing.
ARTICLE_URL_MAX = 2048
ARTICLE_BODY_MAX = 100_000  # characters of the JSON list of paragraphs
articles = Table(
    "articles",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of the URL without its fragment
    Column("url", String(ARTICLE_URL_MAX), nullable=False),
    Column("source", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # full | none (no usable article) | failed
    Column("body", String(ARTICLE_BODY_MAX), nullable=True),
    Column("etag", String(512), nullable=True),
    Column("last_modified", String(64), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("tries", Integer, nullable=False, default=0),
    Column("checked", DateTime(timezone=True), nullable=False),
    Column("next_check", DateTime(timezone=True), nullable=True),  # None: never again
    Index("ix_articles_checked", "checked"),
)


@dataclass(frozen=True)
class ArticleRecord:
    """What feedsvc knows about one article URL: its text when it had a usable one, and when to ask again."""

    key: str
    url: str
    source: str
    status: str  # "full", "none" or "failed"
    checked: datetime
    body: tuple[str, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    reason: str | None = None
    tries: int = 0
    next_check: datetime | None = None


@dataclass(frozen=True)
class SourceState:
    name: str
    last_fetch: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    stories: int = 0
    failures: int = 0
    next_run: datetime | None = None
    backoff_until: datetime | None = None
    page_title: str | None = None


@dataclass(frozen=True)
class Claim:
    """A lease on one source: ``token`` fences every write of the run; ``scheduled`` is the next_run it
    was claimed at (None: first run)."""

    source: str
    token: str
    scheduled: datetime | None
    expires: datetime


class LeaseLost(StoreError):
    """The lease of a run expired and the source may have been claimed by another worker: its results are
    not written (an expired lease never overwrites newer state)."""


@dataclass(frozen=True)
class StoredCopy:
    """A copy row with its cluster id and fingerprint bytes."""

    copy: Copy
    cluster_id: str
    shingles: bytes
    lead: bytes
    body_sig: bytes = b""
    lead_sig: bytes = b""


class IndexRow(NamedTuple):
    """A copy as the dedup index needs it (restore and catch-up): a tuple, made for every stored copy at a
    restore (a frozen dataclass cost more than reading the row)."""

    key: str
    cluster_id: str
    shingles: bytes
    lead: bytes
    body_sig: bytes
    lead_sig: bytes
    seq: int
    changed: int
    new_cluster: bool


@dataclass(frozen=True)
class Counters:
    """Where the store's decisions stand: the last copy sequence number handed out and the number of
    prunes that removed copies (an index that has not seen the last prune may hold keys that are gone)."""

    copy_seq: int
    prune_seq: int
    server: str = ""  # PostgreSQL: when the server started (an index built before a restart is void)


@dataclass(frozen=True)
class PageLookup:
    """What the store holds of one page's copy keys, and the prune count it was read at."""

    prune_seq: int
    clusters: dict[str, str]  # stored key -> its cluster id
    copies: dict[str, Copy]  # stored key -> the copy as stored


@dataclass(frozen=True)
class ClusterState:
    """A cluster's row (None for a cluster the store does not hold) and its copies, first seen first."""

    row: ClusterWrite | None
    copies: list[Copy]


@dataclass
class Deferred:
    """Writes that decisions sharing one transaction make once, before it commits (Ingestor.batched),
    not once per page: the last copy sequence number handed out, and the stored copies each page showed
    again, by the time it saw them. Until written, the transaction's own reads of the counters and of
    last sightings are behind: :meth:`Store.write_deferred` comes first."""

    copy_seq: int | None = None
    seen: dict[datetime, list[str]] = field(default_factory=dict)

    def mark(self) -> tuple[int | None, dict[datetime, int]]:
        """Where the deferred writes stand now: :meth:`rewind` drops what was added since."""
        return self.copy_seq, {when: len(keys) for when, keys in self.seen.items()}

    def rewind(self, mark: tuple[int | None, dict[datetime, int]]) -> None:
        self.copy_seq, lengths = mark
        self.seen = {when: keys[: lengths[when]] for when, keys in self.seen.items() if when in lengths}


@dataclass
class ClusterWrite:
    """One cluster as it should be after a page is applied."""

    id: str
    created: datetime
    updated: datetime
    published: datetime
    canonical_key: str
    content_hash: str
    is_new: bool


def _aware(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # The driver's own transaction handling commits DDL statement by statement, so a migration killed
    # half-way would leave half a schema; transactions are begun explicitly instead (_sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN every transaction ourselves (SQLAlchemy's recipe for transactional DDL on pysqlite); a write
    transaction takes the write lock at once (IMMEDIATE), so it never fails to upgrade a stale snapshot."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("store_write") else "BEGIN")


def _create_sqlite(path: Path, where: str) -> None:
    """Create a missing SQLite store whole: migrated under a temporary name, then linked into place (an
    atomic create-if-absent), so a process killed while creating it leaves no store without tables."""
    if path.exists():
        return
    now = time.time()
    for stale in path.parent.glob(f".{path.name}.*.new*"):  # left by a process killed while creating one
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > 600:
                stale.unlink()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new")
    engine = create_engine(f"sqlite:///{tmp}", future=True)
    event.listen(engine, "connect", _sqlite_autocommit)
    event.listen(engine, "begin", _sqlite_begin)
    try:
        try:
            migrations.upgrade(engine)
        except StoreError as exc:  # name the store the operator configured, not our temporary file
            raise StoreError(str(exc).replace(str(tmp), str(path))) from exc
        engine.dispose()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it meanwhile: theirs is as good as ours
        except OSError as exc:
            raise StoreError(f"cannot create the store {where}: {exc}") from exc
    finally:
        engine.dispose()
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)


def _sqlite_autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions begun by _sqlite_begin


class Store:
    """The database behind feedsvc. Methods raise StoreError, never SQLAlchemy's own exceptions."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        """Open the store at ``url`` and bring its schema to this release's (``migrate``), or only check
        that it is there already (a process not allowed to migrate)."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"database_url {url!r} is not a database URL: {exc}") from exc
        self.url = url
        where = parsed.render_as_string(hide_password=True)
        database = parsed.database
        if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of the store {where}: {exc}") from exc
            if migrate:
                _create_sqlite(Path(database), where)
        try:
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            hint = " (pip install 'feedsvc[postgresql]')" if parsed.get_backend_name() == "postgresql" else ""
            raise StoreError(f"no database driver for {where}: {exc}{hint}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {where}: {exc}") from exc
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._leader: Connection | None = None  # holds the publisher's lock while this process leads
        self._local = threading.local()  # .conn: the open decision's transaction in this thread
        self.migration: migrations.Migration | None = None
        if migrate:
            self.migration = migrations.upgrade(self.engine)
        else:
            migrations.check(self.engine)

    @property
    def embedded(self) -> bool:
        """True for SQLite: one process does everything (no leader election, no notifications)."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.resign()
        self.engine.dispose()

    # -- published feeds and the publisher's leadership --------------------------------------------

    def feed_versions(self) -> dict[str, tuple[str, datetime]]:
        """(ETag, Last-Modified) of every stored feed, by file name."""
        t = feeds_table.c
        with self._read() as conn:
            rows = conn.execute(select(t.name, t.etag, t.last_modified)).all()
        return {row.name: (row.etag, utc(row.last_modified)) for row in rows}

    def feeds(self, names: Sequence[str]) -> list[tuple[Feed, str | None]]:
        """The stored feeds ``names`` with the fingerprint each was built with."""
        if not names:
            return []
        with self._read() as conn:
            rows = conn.execute(select(feeds_table).where(feeds_table.c.name.in_(list(names)))).all()
        return [(_feed(row), row.fingerprint) for row in rows]

    def put_feed(self, feed: Feed, fingerprint: str | None) -> Feed:
        """Store ``feed`` unless the store has these bytes already; a changed feed gets a Last-Modified
        strictly later than the stored one. Returns the feed as stored; on PostgreSQL, NOTIFYs web servers."""
        return self.put_feeds([(feed, fingerprint)])[0]

    def put_feeds(self, items: Sequence[tuple[Feed, str | None]]) -> list[Feed]:
        """:meth:`put_feed` for every (feed, fingerprint) of ``items``, in one transaction (a publisher's
        whole build: one commit, and web servers never see half of it); each name at most once. Returns the
        feeds as stored, in the order of ``items``."""
        if not items:
            return []
        t = feeds_table.c
        out = []
        rows: list[dict[str, Any]] = []  # new bytes: upserted in one statement
        noted: list[dict[str, Any]] = []  # the same bytes under another fingerprint
        with self._write() as conn:
            names = sorted({feed.name for feed, _ in items})
            stored = {
                row.name: row
                for row in conn.execute(select(feeds_table).where(t.name.in_(names)).with_for_update())
            }
            for feed, fingerprint in items:
                row = stored.get(feed.name)
                if row is not None and row.etag == feed.etag:
                    if row.fingerprint != fingerprint:
                        noted.append({"b_name": feed.name, "b_fingerprint": fingerprint})
                    out.append(_feed(row))
                    continue
                stamp = feed.last_modified
                if row is not None and stamp <= utc(row.last_modified):
                    stamp = utc(row.last_modified) + timedelta(seconds=1)
                rows.append(
                    {
                        "name": feed.name,
                        "media_type": feed.media_type,
                        "content": feed.content,
                        "etag": feed.etag,
                        "last_modified": stamp,
                        "fingerprint": fingerprint,
                    }
                )
                out.append(Feed(feed.name, feed.media_type, feed.content, feed.etag, stamp))
            if noted:
                conn.execute(_NOTE_FINGERPRINT, noted)
            _insert_values(conn, feeds_table, rows, update=_FEED_COLUMNS)
            if rows and conn.dialect.name == "postgresql":
                conn.execute(_NOTIFY, {"channel": FEEDS_CHANNEL, "names": [row["name"] for row in rows]})
        return out

    def try_lead(self) -> bool:
        """True while this process is the publisher: on PostgreSQL it holds a session-level advisory lock
        on a connection of its own (the others stand by; when the leader dies its session ends and the
        next one to ask takes over). SQLite: always (one process)."""
        if self.embedded:
            return True
        if self._leader is not None:
            try:
                self._leader.execute(select(1))
                self._leader.commit()
                return True
            except SQLAlchemyError:  # the session (and the lock with it) is gone
                self.resign()
        try:
            conn = self.engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _LEADER_LOCK}).scalar()
            conn.commit()
        except SQLAlchemyError:
            conn.close()
            return False
        if got:
            self._leader = conn
            return True
        conn.close()
        return False

    def resign(self) -> None:
        """Give up the publisher's lock (a clean stop: a standby takes over at once)."""
        conn, self._leader = self._leader, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LEADER_LOCK})
            conn.commit()
        except SQLAlchemyError:
            conn.invalidate()
        finally:
            conn.close()

    def change_seq(self) -> int:
        """A number that grows whenever the stored stories change (what the publisher watches)."""
        with self._read() as conn:
            value = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "copy_seq")).scalar()
        return int(value or 0)

    def watch_feeds(self, stop: threading.Event, on_change: Callable[[], object], interval: float) -> None:
        """Call ``on_change`` whenever a feed changes and at least every ``interval`` seconds, until
        ``stop``. On PostgreSQL it LISTENs on its own connection, so a web server picks up the bytes the
        publisher stored at once; the interval covers a lost connection or notification."""
        while not stop.is_set():
            if self.embedded:
                stop.wait(interval)
                _quietly(on_change)
                continue
            raw: Any = None
            try:
                raw = self.engine.raw_connection()
                driver = raw.driver_connection
                raw.detach()  # autocommit for LISTEN; never handed back to the pool
                driver.autocommit = True
                driver.execute(f"LISTEN {FEEDS_CHANNEL}")
                _quietly(on_change)
                while not stop.is_set():
                    for _note in driver.notifies(timeout=interval, stop_after=1):
                        pass
                    _quietly(on_change)
            except Exception as exc:  # the connection broke: poll until it is back
                log.warning("event=feed_watch_failed error=%r", str(exc))
                stop.wait(interval)
            finally:
                if raw is not None:
                    with contextlib.suppress(Exception):
                        raw.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    # -- meta and blobs -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value is there already; return the stored value."""
        with self._write() as conn:
            _insert_ignore(conn, meta_table, [{"key": key, "value": value}])
            return str(conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar_one())

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            _upsert(conn, meta_table, key=key, value=value)

    def get_blob(self, name: str) -> bytes | None:
        with self._read() as conn:
            value = conn.execute(select(blobs.c.data).where(blobs.c.name == name)).scalar()
            return bytes(value) if value is not None else None

    def save_blob(self, name: str, data: bytes) -> None:
        with self._write() as conn:
            _upsert(conn, blobs, name=name, data=data)

    # -- copies and clusters --------------------------------------------------------------------

    # Reads of a decision: each is one statement (one round trip), whatever the number of keys, and those
    # made under the lock read the counters in the same statement (one snapshot: rows and counters agree).

    def lookup(self, keys: Sequence[str]) -> PageLookup:
        """The stored copies among ``keys`` and the prune count, in one statement (needs no lock: a copy
        key names its source, whose lease holder alone writes it; a prune is told by the count)."""
        with self._read() as conn:
            rows = conn.execute(_LOOKUP, {"keys": list(keys)}).all()
        found = [row for row in rows if row.key is not None]
        return PageLookup(
            prune_seq=int(rows[0].prune_seq or 0),
            clusters={row.key: row.cluster_id for row in found},
            copies={row.key: _copy(row) for row in found},
        )

    def catch_up(self, after: int) -> tuple[Counters, list[IndexRow]]:
        """The counters and every copy a decision changed after sequence number ``after``, in decision
        order, in one statement."""
        with self._read() as conn:
            rows = conn.execute(_catch_up_statement(conn.dialect.name), {"after": after}).all()
        return _counters_of(rows[0]), [_index_row(row) for row in rows if row.key is not None]

    def live_keys(self) -> set[str]:
        """Every stored copy key (how an index learns what another worker's prune removed)."""
        with self._read() as conn:
            return set(conn.execute(select(copies.c.key)).scalars())

    def cluster_states(self, ids: Sequence[str]) -> dict[str, ClusterState]:
        """The rows and copies of clusters ``ids``, in one statement."""
        if not ids:
            return {}
        out: dict[str, ClusterState] = {cid: ClusterState(None, []) for cid in ids}
        with self._read() as conn:
            for row in conn.execute(_CLUSTER_STATES, {"ids": list(ids)}):
                state = out[row.cluster]
                if state.row is None:
                    state = out[row.cluster] = ClusterState(_cluster_write(row), [])
                if row.key is not None:
                    state.copies.append(_copy(row))
        return out

    def index_rows(
        self, since: datetime | None = None, changed_after: int | None = None
    ) -> Iterator[IndexRow]:
        """Copies for the dedup index: those seen since ``since`` (restore), or those a decision changed
        after sequence number ``changed_after`` (catch-up), in decision order."""
        c = copies.c
        query = select(*_INDEX_COLUMNS)
        if since is not None:
            query = query.where(c.last_seen >= since)
        if changed_after is not None:
            query = query.where(c.changed > changed_after)
        query = query.order_by(c.changed.asc().nulls_first(), c.first_seen, c.key)
        with self._read() as conn:
            for row in conn.execute(query).yield_per(5000):
                yield _index_row(row)

    @contextmanager
    def decision(self, lease: Claim | None = None) -> Iterator[Connection]:
        """A write transaction for one dedup decision. On PostgreSQL it first takes one transaction-scoped
        advisory lock shared by every process, so decisions are made one at a time everywhere and each
        sees every earlier one (committed before the lock was released). SQLite has one process, whose
        ingest lock and the database's write lock do the same. Every other read and write of this store
        made by the same thread meanwhile runs in this transaction (one connection, no extra round trips
        while the lock is held). With ``lease``, the transaction first locks the source's row and checks
        that the lease holds (LeaseLost if not), before waiting for the decision lock: the row stays
        locked until the commit, so no other worker can take the source meanwhile.

        On PostgreSQL the decision commits without waiting for its WAL to reach the disk (the flush is
        most of a commit, and it would hold the lock): the write that follows a page's decision, its
        source state, commits durably and so flushes the decision before it, and a published feed does
        the same for every decision it shows. A server crash can thus lose only the last decisions of
        pages whose state was not written either: their lease runs out and they are fetched again. An
        index that learnt such a decision is rebuilt when it sees the server restarted (Counters.server)."""
        if getattr(self._local, "conn", None) is not None:
            raise StoreError("a dedup decision is already open in this thread")
        with self._write() as conn:
            if lease is not None:
                _check_lease(conn, lease)
            if conn.dialect.name == "postgresql":
                conn.execute(_TAKE_DECISION_LOCK, {"key": DEDUP_LOCK})
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @property
    def in_decision(self) -> bool:
        """True while this thread holds the decision lock (between taking it and the commit)."""
        return getattr(self._local, "conn", None) is not None

    @staticmethod
    def sequence(conn: Connection) -> tuple[int, int]:
        """(last copy sequence number handed out, sequence the stored boilerplate counts include)."""
        rows = dict(
            conn.execute(
                select(meta_table.c.key, meta_table.c.value).where(
                    meta_table.c.key.in_(["copy_seq", "boilerplate_seq"])
                )
            ).all()
        )
        return int(rows.get("copy_seq", 0)), int(rows.get("boilerplate_seq", 0))

    @staticmethod
    def counters(conn: Connection) -> Counters:
        """The decision counters (see :class:`Counters`)."""
        return _counters_of(conn.execute(select(_counters(conn.dialect.name))).one())

    @staticmethod
    def write_deferred(conn: Connection, deferred: Deferred) -> None:
        """Write what decisions of ``conn``'s transaction deferred (one statement each), and forget it."""
        for seen_at, keys in deferred.seen.items():
            for i in range(0, len(keys), _SEEN_CHUNK):
                conn.execute(_SEEN, {"keys": keys[i : i + _SEEN_CHUNK], "seen": seen_at})
        if deferred.copy_seq is not None:
            _insert_values(
                conn, meta_table, [{"key": "copy_seq", "value": str(deferred.copy_seq)}], ("value",)
            )
        deferred.copy_seq, deferred.seen = None, {}

    @staticmethod
    @contextmanager
    def savepoint(conn: Connection) -> Iterator[None]:
        """A savepoint in ``conn``'s transaction: what the block wrote is taken back when it raises. Plain
        SQL: Connection.begin_nested compiles its statements anew each time (5x the cost of these)."""
        conn.exec_driver_sql("SAVEPOINT page")
        try:
            yield
        except BaseException:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT page")
            conn.exec_driver_sql("RELEASE SAVEPOINT page")
            raise
        conn.exec_driver_sql("RELEASE SAVEPOINT page")

    @staticmethod
    def save_boilerplate(conn: Connection, data: bytes, seq: int) -> None:
        """Store boilerplate counts that include every decision up to ``seq`` (inside a decision, so the
        counts written are the newest there are)."""
        _upsert(conn, blobs, name="boilerplate", data=data)
        _upsert(conn, meta_table, key="boilerplate_seq", value=str(seq))

    def update_fingerprints(self, rows: Sequence[tuple[str, bytes, bytes, bytes, bytes]]) -> None:
        """Replace (key, shingles, lead, body signature, lead signature) of stored copies, in one go."""
        with self._write() as conn:
            for key, shingles, lead, body_sig, lead_sig in rows:
                conn.execute(
                    update(copies)
                    .where(copies.c.key == key)
                    .values(shingles=shingles, lead=lead, body_sig=body_sig, lead_sig=lead_sig)
                )

    def cluster_rows(self, ids: Sequence[str]) -> dict[str, ClusterWrite]:
        if not ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(select(clusters).where(clusters.c.id.in_(list(ids)))).all()
        return {
            r.id: ClusterWrite(
                id=r.id,
                created=utc(r.created),
                updated=utc(r.updated),
                published=utc(r.published),
                canonical_key=r.canonical_key,
                content_hash=r.content_hash,
                is_new=False,
            )
            for r in rows
        }

    def copies_of(self, cluster_ids: Sequence[str]) -> dict[str, list[Copy]]:
        out: dict[str, list[Copy]] = {cid: [] for cid in cluster_ids}
        if not cluster_ids:
            return out
        with self._read() as conn:
            rows = conn.execute(
                select(*_COPY_COLUMNS)
                .where(copies.c.cluster_id.in_(list(cluster_ids)))
                .order_by(copies.c.first_seen, copies.c.key)
            ).all()
        for row in rows:
            out[row.cluster_id].append(_copy(row))
        return out

    def apply(
        self,
        *,
        new_copies: Sequence[StoredCopy],
        seen_keys: Sequence[str],
        moved: dict[str, str],
        cluster_writes: Sequence[ClusterWrite],
        boilerplate: bytes | None,
        seen_at: datetime,
        grown_copies: Sequence[StoredCopy] = (),
        lease: Claim | None = None,
        conn: Connection | None = None,
        new_cluster_keys: frozenset[str] = frozenset(),
        boilerplate_seq: int | None = None,
        pictured: Sequence[tuple[str, str]] = (),
        copy_seq: int | None = None,
        deferred: Deferred | None = None,
    ) -> int:
        """Write one page's effect in one transaction: new clusters first, then copies, then merges.
        ``grown_copies``: stored copies the page now shows in full (their text and prints are replaced).
        ``pictured``: (key, image) of stored copies without a picture that the page now shows with one.
        With ``lease``, nothing is written (LeaseLost) unless the lease still holds, checked in the same
        transaction with the source's row locked. ``conn``: the transaction of a :meth:`decision` (else one
        of its own). Every copy written or changed gets the next sequence numbers; returns the last one
        (``boilerplate`` counts include everything up to ``boilerplate_seq``, or up to it if None).
        ``copy_seq``: the last sequence number, when the decision has read it already (else read here).
        ``deferred``: the new sequence number and the last sightings are left there, for the caller to
        write before its transaction commits (:meth:`write_deferred`), instead of written now."""
        with self.decision() if conn is None else contextlib.nullcontext(conn) as decided:
            return self._apply(
                decided,
                new_copies,
                seen_keys,
                moved,
                cluster_writes,
                boilerplate,
                seen_at,
                grown_copies,
                lease,
                new_cluster_keys,
                boilerplate_seq,
                pictured,
                copy_seq,
                deferred,
            )

    def _apply(
        self,
        conn: Connection,
        new_copies: Sequence[StoredCopy],
        seen_keys: Sequence[str],
        moved: dict[str, str],
        cluster_writes: Sequence[ClusterWrite],
        boilerplate: bytes | None,
        seen_at: datetime,
        grown_copies: Sequence[StoredCopy],
        lease: Claim | None,
        new_cluster_keys: frozenset[str],
        boilerplate_seq: int | None,
        pictured: Sequence[tuple[str, str]] = (),
        copy_seq: int | None = None,
        deferred: Deferred | None = None,
    ) -> int:
        if lease is not None:
            _check_lease(conn, lease)
        seq = self.sequence(conn)[0] if copy_seq is None else copy_seq
        first = seq
        # New and changed clusters in one statement (a new id is random: it never meets a stored one).
        _insert_values(
            conn,
            clusters,
            [
                {
                    "id": cw.id,
                    "created": cw.created,
                    "updated": cw.updated,
                    "published": cw.published,
                    "canonical_key": cw.canonical_key,
                    "content_hash": cw.content_hash,
                }
                for cw in cluster_writes
            ],
            update=("updated", "published", "canonical_key", "content_hash"),
        )
        rows = []
        for stored in new_copies:
            c = stored.copy
            seq += 1
            rows.append(
                dict(
                    key=c.key,
                    cluster_id=stored.cluster_id,
                    source=c.source,
                    outlet=c.outlet,
                    title=c.title,
                    url=c.url,
                    published=c.published,
                    category=c.category,
                    body=_body_json(c.body),
                    image=_image(c.image),
                    first_seen=c.first_seen,
                    last_seen=seen_at,
                    shingles=stored.shingles,
                    lead=stored.lead,
                    body_sig=stored.body_sig,
                    lead_sig=stored.lead_sig,
                    seq=seq,
                    changed=seq,
                    new_cluster=c.key in new_cluster_keys,
                )
            )
        _insert_values(conn, copies, rows)
        grown = []
        for stored in grown_copies:
            seq += 1
            grown.append(
                {
                    "b_key": stored.copy.key,
                    "b_changed": seq,
                    "b_body": _body_json(stored.copy.body),
                    "b_image": _image(stored.copy.image),
                    "b_shingles": stored.shingles,
                    "b_lead": stored.lead,
                    "b_body_sig": stored.body_sig,
                    "b_lead_sig": stored.lead_sig,
                }
            )
        if grown:  # one statement, run for every row
            conn.execute(_GROWN, grown)
        shown = []
        for key, image in pictured:
            if _image(image) is None:
                continue
            seq += 1
            shown.append({"b_key": key, "b_image": image, "b_changed": seq})
        if shown:
            conn.execute(_PICTURED, shown)
        for old, new in moved.items():
            seq += 1
            conn.execute(_MOVE_COPIES, {"b_old": old, "b_new": new, "b_changed": seq})
            conn.execute(_FOLD_CLUSTER, {"b_old": old, "b_new": new})
            conn.execute(_REFOLD_CLUSTERS, {"b_old": old, "b_new": new})
        later = Deferred() if deferred is None else deferred
        if seen_keys:
            later.seen.setdefault(seen_at, []).extend(seen_keys)
        if seq != first:
            later.copy_seq = seq
        if deferred is None:
            self.write_deferred(conn, later)
        if boilerplate is not None:
            self.save_boilerplate(conn, boilerplate, seq if boilerplate_seq is None else boilerplate_seq)
        return seq

    def recent_clusters(self, limit: int, since: datetime | None = None) -> list[Cluster]:
        """Live clusters, newest publication first."""
        query = select(clusters).where(clusters.c.merged_into.is_(None))
        if since is not None:
            query = query.where(clusters.c.published >= since)
        query = query.order_by(clusters.c.published.desc(), clusters.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        members = self.copies_of([r.id for r in rows])
        return [_cluster(r, members[r.id]) for r in rows if members[r.id]]

    def cluster(self, cluster_id: str) -> tuple[Cluster | None, str | None]:
        """(cluster, None), or (None, survivor id) for a folded cluster, or (None, None)."""
        with self._read() as conn:
            row = conn.execute(select(clusters).where(clusters.c.id == cluster_id)).first()
        if row is None:
            return None, None
        if row.merged_into:
            return None, row.merged_into
        members = self.copies_of([row.id])[row.id]
        return (_cluster(row, members) if members else None), None

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            n_copies = conn.execute(select(func.count()).select_from(copies)).scalar_one()
            n_clusters = conn.execute(
                select(func.count()).select_from(clusters).where(clusters.c.merged_into.is_(None))
            ).scalar_one()
        return {"copies": int(n_copies), "clusters": int(n_clusters)}

    def prune(self, before: datetime) -> list[str]:
        """Forget copies not seen since ``before`` and clusters left empty; returns the copy keys removed."""
        with self._write() as conn:
            gone = list(conn.execute(select(copies.c.key).where(copies.c.last_seen < before)).scalars())
            conn.execute(delete(copies).where(copies.c.last_seen < before))
            live = select(copies.c.cluster_id).distinct()
            conn.execute(
                delete(clusters).where(clusters.c.merged_into.isnot(None), clusters.c.updated < before)
            )
            conn.execute(delete(clusters).where(clusters.c.merged_into.is_(None), clusters.c.id.not_in(live)))
            conn.execute(delete(articles).where(articles.c.checked < before))
            if gone:  # the feeds change (the publisher watches the copy sequence); indexes learn of it
                counters = self.counters(conn)
                _upsert(conn, meta_table, key="copy_seq", value=str(counters.copy_seq + 1))
                _upsert(conn, meta_table, key="prune_seq", value=str(counters.prune_seq + 1))
        return gone

    # -- full-text cache --------------------------------------------------------------------------

    def get_articles(self, keys: Sequence[str]) -> dict[str, ArticleRecord]:
        """The cached article of each key that has one."""
        if not keys:
            return {}
        with self._read() as conn:
            rows = conn.execute(select(articles).where(articles.c.key.in_(list(keys)))).all()
        return {
            row.key: ArticleRecord(
                key=row.key,
                url=row.url,
                source=row.source,
                status=row.status,
                checked=utc(row.checked),
                body=tuple(json.loads(row.body)) if row.body else (),
                etag=row.etag,
                last_modified=row.last_modified,
                reason=row.reason,
                tries=row.tries or 0,
                next_check=_aware(row.next_check),
            )
            for row in rows
        }

    def save_articles(self, records: Sequence[ArticleRecord]) -> None:
        """Replace the cached articles ``records``, in one transaction."""
        if not records:
            return
        with self._write() as conn:
            for record in records:
                row = asdict(record)
                row["body"] = _body_json(record.body) if record.body else None
                _upsert(conn, articles, **row)

    # -- sources ----------------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        with self._read() as conn:
            row = conn.execute(select(sources).where(sources.c.name == name)).first()
        return SourceState(name=name) if row is None else _source_state(row)

    def source_titles(self) -> dict[str, str]:
        """Each source's page title, for the sources whose page gave one."""
        with self._read() as conn:
            rows = conn.execute(
                select(sources.c.name, sources.c.page_title).where(sources.c.page_title.is_not(None))
            ).all()
        return {row.name: row.page_title for row in rows}

    def all_source_states(self) -> dict[str, SourceState]:
        with self._read() as conn:
            rows = conn.execute(select(sources)).all()
        return {row.name: _source_state(row) for row in rows}

    def save_source_state(self, state: SourceState) -> None:
        self.save_source_states([state])

    def save_source_states(self, states: Sequence[SourceState]) -> None:
        """Save every state of ``states`` in one transaction."""
        if not states:
            return
        with self._write() as conn:
            # Shallow: asdict deep-copies every value, a third of a 304 run's store time.
            names = [f.name for f in fields(SourceState)]
            _upsert_many(conn, sources, [{n: getattr(state, n) for n in names} for state in states])

    # -- the schedule: leases on due sources ------------------------------------------------------

    def ensure_sources(
        self, first_runs: dict[str, datetime], intervals: dict[str, float], *, startup: bool = True
    ) -> None:
        """Give every configured source a row and a next run: ``first_runs[name]`` for a new source, its
        last fetch plus its interval for one stored by an earlier build (which kept no next run).
        ``startup=False`` (a reload) leaves the leases of running sources alone."""
        with self._write() as conn:
            if startup and conn.dialect.name == "sqlite":  # one process: leases left are stale
                conn.execute(update(sources).values(lease_owner=None, lease_expires=None))
            _insert_ignore(
                conn,
                sources,
                [{"name": n, "stories": 0, "failures": 0, "next_run": t} for n, t in first_runs.items()],
            )
            rows = conn.execute(
                select(sources.c.name, sources.c.last_fetch).where(
                    sources.c.name.in_(list(first_runs)), sources.c.next_run.is_(None)
                )
            ).all()
            for row in rows:
                last = _aware(row.last_fetch)
                when = last + timedelta(seconds=intervals[row.name]) if last else first_runs[row.name]
                conn.execute(
                    update(sources)
                    .where(sources.c.name == row.name, sources.c.next_run.is_(None))
                    .values(next_run=when)
                )

    def claim_due(
        self, owner: str, names: Sequence[str], now: datetime, lease: float, limit: int
    ) -> list[Claim]:
        """Lease up to ``limit`` of the sources ``names`` that are due and not leased (or whose lease
        expired). On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so workers claiming at the same
        moment take different sources and never wait for each other; each lease is taken by an UPDATE
        that re-checks the row, so on any engine a source is leased to one worker at a time."""
        if limit <= 0 or not names:
            return []
        s = sources.c
        free = or_(s.lease_expires.is_(None), s.lease_expires <= now)
        query = (
            select(s.name, s.next_run)
            .where(s.name.in_(list(names)), or_(s.next_run.is_(None), s.next_run <= now), free)
            .order_by(s.next_run.asc().nulls_first(), s.name)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        expires = now + timedelta(seconds=lease)
        claims = []
        with self._write() as conn:
            for row in conn.execute(query).all():
                token = f"{owner[:48]}/{uuid.uuid4().hex[:12]}"
                taken = conn.execute(
                    update(sources)
                    .where(s.name == row.name, free)
                    .values(lease_owner=token, lease_expires=expires)
                ).rowcount
                if taken:
                    claims.append(Claim(row.name, token, _aware(row.next_run), expires))
        return claims

    def renew(self, claims: Sequence[Claim], now: datetime, lease: float) -> list[str]:
        """Extend the leases ``claims`` still hold to ``now + lease`` (a long run keeps its sources while its
        process lives; a killed process stops renewing and its leases run out). Returns the sources whose
        lease was lost."""
        lost = []
        with self._write() as conn:
            for claim in claims:
                held = conn.execute(
                    update(sources)
                    .where(sources.c.name == claim.source, sources.c.lease_owner == claim.token)
                    .values(lease_expires=now + timedelta(seconds=lease))
                ).rowcount
                if not held:
                    lost.append(claim.source)
        return lost

    def finish(self, claim: Claim, state: SourceState) -> bool:
        """Write the run's source state and release the lease, only if ``claim`` still holds it (False:
        the lease was lost, nothing written)."""
        values = {k: v for k, v in asdict(state).items() if k != "name"}
        with self._write() as conn:
            done = conn.execute(
                update(sources)
                .where(sources.c.name == claim.source, sources.c.lease_owner == claim.token)
                .values(**bounded(sources, values), lease_owner=None, lease_expires=None)
            ).rowcount
        return bool(done)

    def set_next_run(self, name: str, when: datetime, now: datetime) -> bool:
        """Move the next run of ``name`` to ``when`` unless it is leased (a running fetch sets the next run
        itself when it finishes). True when moved."""
        s = sources.c
        free = or_(s.lease_expires.is_(None), s.lease_expires <= now)
        with self._write() as conn:
            moved = conn.execute(update(sources).where(s.name == name, free).values(next_run=when)).rowcount
        return bool(moved)

    def next_runs(self) -> dict[str, datetime | None]:
        with self._read() as conn:
            rows = conn.execute(select(sources.c.name, sources.c.next_run)).all()
        return {row.name: _aware(row.next_run) for row in rows}

    @contextmanager
    def host_lock(self, host: str) -> Iterator[None]:
        """One request at a time to ``host`` across every process on this store: on PostgreSQL a
        session-level advisory lock keyed by the host, held on its own connection (a killed process's
        session ends, and its locks with it). On SQLite (one process) there is nothing to add to the
        fetcher's in-process lock."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        key = zlib.crc32(host.encode("utf-8")) - (1 << 31)  # a signed int4
        try:
            conn = self.engine.connect()
            conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": _HOST_LOCKS, "key": key})
            conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"store unavailable for the host lock of {host}: {exc}") from exc
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _HOST_LOCKS, "key": key})
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()  # the session (and its lock) goes with the connection
            finally:
                conn.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _read(self) -> _Tx:
        return _Tx(self, write=False)

    def _write(self) -> _Tx:
        return _Tx(self, write=True)


def _check_lease(conn: Connection, lease: Claim) -> None:
    held = conn.execute(
        select(sources.c.name)
        .where(
            sources.c.name == lease.source,
            sources.c.lease_owner == lease.token,
            sources.c.lease_expires > datetime.now(UTC),
        )
        .with_for_update()
    ).first()
    if held is None:
        raise LeaseLost(f"the lease on {lease.source} expired before its results were written")


def bounded(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every string longer than its column's length cut to fit: a 300-character category
    would fail the whole page's transaction on PostgreSQL (SQLite does not check lengths). ``row`` itself
    when every value fits (a copy only when one is cut)."""
    out = row
    for name, length in _lengths(table):
        value = row.get(name)
        if isinstance(value, str) and len(value) > length:
            if out is row:
                out = dict(row)
            out[name] = value[:length]
    return out


@functools.cache
def _lengths(table: Table) -> tuple[tuple[str, int], ...]:
    """(name, length) of the columns of ``table`` whose type has a length."""
    lengths = ((c.name, getattr(c.type, "length", None)) for c in table.c)
    return tuple((name, length) for name, length in lengths if length is not None)


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return pg_dialect.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite_dialect.insert(table)
    raise StoreError(f"unsupported database {conn.dialect.name!r}: feedsvc runs on SQLite or PostgreSQL")


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (one executemany; every row with the same keys), skipping any whose primary key is
    there already (another writer got there first: ON CONFLICT DO NOTHING). Returns the driver's count."""
    if not rows:
        return 0
    stmt = _dialect_insert(conn, table).on_conflict_do_nothing()
    return conn.execute(stmt, [bounded(table, row) for row in rows]).rowcount or 0


def _upsert(conn: Connection, table: Table, **row: Any) -> None:
    """Insert ``row``, or update the row with the same primary key (one statement: ON CONFLICT DO UPDATE,
    so two writers meeting on one key never fail)."""
    row = bounded(table, row)
    keys = [c.name for c in table.primary_key.columns]
    stmt = _dialect_insert(conn, table).values(**row)
    changes = {name: stmt.excluded[name] for name in row if name not in keys}
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing()
    conn.execute(stmt)


def _upsert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """:func:`_upsert` for ``rows`` that all name the same columns: one statement, run for every row."""
    if not rows:
        return
    rows = [bounded(table, row) for row in rows]
    keys = [c.name for c in table.primary_key.columns]
    stmt = _dialect_insert(conn, table)
    changes = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes), rows)


class _Tx:
    """A connection (read) or transaction (write) whose SQLAlchemy errors become StoreError."""

    def __init__(self, store: Store, write: bool) -> None:
        self.store = store
        self.write = write
        self._ctx: Any = None

    def __enter__(self) -> Connection:
        shared: Connection | None = getattr(self.store._local, "conn", None)
        if shared is not None:  # inside this thread's open decision: part of its transaction
            return shared
        try:
            engine = self.store.engine
            self._ctx = engine.execution_options(store_write=True).begin() if self.write else engine.connect()
            conn: Connection = self._ctx.__enter__()
        except SQLAlchemyError as exc:
            raise StoreError(f"store unavailable: {exc}") from exc
        return conn

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._ctx is None:  # the decision's transaction: it commits or rolls back as a whole
            if isinstance(exc, SQLAlchemyError):
                raise StoreError(f"store operation failed: {exc}") from exc
            return
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise StoreError(f"store write failed: {err}") from err
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(f"store operation failed: {exc}") from exc


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:  # the watcher must outlive a failed refresh; the next one tries again
        log.exception("event=feed_refresh_failed")


def _feed(row: Any) -> Feed:
    return Feed(
        name=row.name,
        media_type=row.media_type,
        content=bytes(row.content),
        etag=row.etag,
        last_modified=utc(row.last_modified),
    )


def _source_state(row: Any) -> SourceState:
    return SourceState(
        name=row.name,
        last_fetch=_aware(row.last_fetch),
        last_success=_aware(row.last_success),
        last_error=row.last_error,
        etag=row.etag,
        last_modified=row.last_modified,
        stories=row.stories or 0,
        failures=row.failures or 0,
        next_run=_aware(row.next_run),
        backoff_until=_aware(row.backoff_until),
        page_title=row.page_title,
    )


def _copy(row: Any) -> Copy:
    return Copy(
        key=row.key,
        title=row.title,
        outlet=row.outlet,
        url=row.url,
        published=_aware(row.published),
        body=tuple(json.loads(row.body)),
        category=row.category,
        source=row.source,
        first_seen=utc(row.first_seen),
        image=row.image,
    )


_BODY_ENCODER = json.JSONEncoder(ensure_ascii=False)  # made once (json.dumps with options makes one a call)


def _body_json(body: Sequence[str]) -> str:
    """A copy's paragraphs as stored: a JSON list (what json.dumps(list(body), ensure_ascii=False) gives)."""
    return _BODY_ENCODER.encode(list(body))


def _image(url: str | None) -> str | None:
    """An image address as stored: one that does not fit is left out, never cut (a cut URL is broken)."""
    return url if url and len(url) <= IMAGE_URL_MAX else None


def _cluster(row: Any, members: list[Copy]) -> Cluster:
    return Cluster(
        id=row.id,
        created=utc(row.created),
        updated=utc(row.updated),
        copies=tuple(members),
        canonical_key=row.canonical_key,
    )


def retention_cutoff(now: datetime, days: int) -> datetime:
    return now.astimezone(UTC) - timedelta(days=days)


_INDEX_COLUMNS = tuple(
    copies.c[name]
    for name in (
        "key",
        "cluster_id",
        "shingles",
        "lead",
        "body_sig",
        "lead_sig",
        "seq",
        "changed",
        "new_cluster",
    )
)


@functools.cache
def _counters(dialect: str = "") -> Any:
    """A one-row subquery of the decision counters; a query outer-joins its rows to it, so that the
    counters and the rows come from one statement (one snapshot) even when there are no rows. On
    PostgreSQL it also tells when the server started."""
    m = meta_table.c
    started = func.pg_postmaster_start_time() if dialect == "postgresql" else None
    return select(
        select(m.value).where(m.key == "copy_seq").scalar_subquery().label("copy_seq"),
        select(m.value).where(m.key == "prune_seq").scalar_subquery().label("prune_seq"),
        (literal_column("''") if started is None else cast(started, Text)).label("server"),
    ).subquery("counters")


def _counters_of(row: Any) -> Counters:
    return Counters(int(row.copy_seq or 0), int(row.prune_seq or 0), str(row.server or ""))


@functools.cache
def _catch_up_statement(dialect: str) -> Any:
    n = _counters(dialect)
    return (
        select(n.c.copy_seq, n.c.prune_seq, n.c.server, *_INDEX_COLUMNS)
        .select_from(n.outerjoin(copies, copies.c.changed > bindparam("after")))
        .order_by(copies.c.changed.asc().nulls_first(), copies.c.first_seen, copies.c.key)
    )


def _index_row(row: Any) -> IndexRow:
    """The IndexRow of a row that ends with the columns of _INDEX_COLUMNS (by position: a restore makes one
    per stored copy, and a lookup by name costs more than the rest)."""
    key, cluster_id, shingles, lead, body_sig, lead_sig, seq, changed, new_cluster = row[-9:]
    return IndexRow(
        key,
        cluster_id,
        bytes(shingles),
        bytes(lead),
        bytes(body_sig or b""),
        bytes(lead_sig or b""),
        int(seq or 0),
        int(changed or 0),
        bool(new_cluster),
    )


def _cluster_write(row: Any) -> ClusterWrite:
    return ClusterWrite(
        id=row.cluster,
        created=utc(row.cluster_created),
        updated=utc(row.cluster_updated),
        published=utc(row.cluster_published),
        canonical_key=row.cluster_canonical,
        content_hash=row.cluster_hash,
        is_new=False,
    )


def _insert_values(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], update: tuple[str, ...] = ()
) -> None:
    """Insert ``rows`` (all naming the same columns) in one executemany, skipping a row whose key is there
    already, or with ``update`` setting those columns of the stored row to the new row's values (an
    upsert). One statement, built and compiled once: psycopg sends its rows in one pipeline."""
    if rows:
        conn.execute(_insert_statement(conn.dialect.name, table, update), [bounded(table, r) for r in rows])


@functools.cache
def _insert_statement(dialect: str, table: Table, update: tuple[str, ...]) -> Any:
    if dialect not in _INSERTS:
        raise StoreError(f"unsupported database {dialect!r}: feedsvc runs on SQLite or PostgreSQL")
    stmt: Any = _INSERTS[dialect](table)
    if not update:
        return stmt.on_conflict_do_nothing()
    keys = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(index_elements=keys, set_={n: stmt.excluded[n] for n in update})


_TAKE_DECISION_LOCK = text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(:key)"
)
_INSERTS = {"postgresql": pg_dialect.insert, "sqlite": sqlite_dialect.insert}

# The statements of a decision, built once (SQLAlchemy then reuses their compiled form as is).
_COUNTERS = _counters()
# What a Copy is made of (_copy): a read of copies never fetches their fingerprints and signatures (blobs
# of kilobytes) nor the dates it does not use (each a string parsed on SQLite).
_COPY_COLUMNS = tuple(
    copies.c[name]
    for name in (
        "key",
        "cluster_id",
        "title",
        "outlet",
        "url",
        "published",
        "body",
        "category",
        "source",
        "first_seen",
        "image",
    )
)
_LOOKUP = select(_COUNTERS.c.prune_seq, *_COPY_COLUMNS).select_from(
    _COUNTERS.outerjoin(copies, copies.c.key.in_(bindparam("keys", expanding=True)))
)
_CLUSTER_STATES = (
    select(
        clusters.c.id.label("cluster"),
        clusters.c.created.label("cluster_created"),
        clusters.c.updated.label("cluster_updated"),
        clusters.c.published.label("cluster_published"),
        clusters.c.canonical_key.label("cluster_canonical"),
        clusters.c.content_hash.label("cluster_hash"),
        *_COPY_COLUMNS,
    )
    .select_from(clusters.outerjoin(copies, copies.c.cluster_id == clusters.c.id))
    .where(clusters.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(clusters.c.id, copies.c.first_seen, copies.c.key)
)
_FEED_COLUMNS = ("media_type", "content", "etag", "last_modified", "fingerprint")
_NOTE_FINGERPRINT = (
    update(feeds_table)
    .where(feeds_table.c.name == bindparam("b_name"))
    .values(fingerprint=bindparam("b_fingerprint"))
)
_NOTIFY = text("SELECT pg_notify(:channel, name) FROM unnest(CAST(:names AS text[])) AS name")
_SEEN_CHUNK = 500  # keys per UPDATE of last sightings (old SQLite takes at most 999 parameters)
_SEEN = (
    update(copies)
    .where(copies.c.key.in_(bindparam("keys", expanding=True)))
    .values(last_seen=bindparam("seen"))
)
_GROWN = (
    update(copies)
    .where(copies.c.key == bindparam("b_key"))
    .values(
        {
            name: bindparam(f"b_{name}")
            for name in ("changed", "body", "image", "shingles", "lead", "body_sig", "lead_sig")
        }
    )
)
_PICTURED = (
    update(copies)
    .where(copies.c.key == bindparam("b_key"), copies.c.image.is_(None))
    .values(image=bindparam("b_image"), changed=bindparam("b_changed"))
)
_MOVE_COPIES = (
    update(copies)
    .where(copies.c.cluster_id == bindparam("b_old"))
    .values(cluster_id=bindparam("b_new"), changed=bindparam("b_changed"))
)
_FOLD_CLUSTER = (
    update(clusters).where(clusters.c.id == bindparam("b_old")).values(merged_into=bindparam("b_new"))
)
_REFOLD_CLUSTERS = (
    update(clusters)
    .where(clusters.c.merged_into == bindparam("b_old"))
    .values(merged_into=bindparam("b_new"))
)

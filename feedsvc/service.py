"""The pipeline, run per source: fetch -> extract -> ingest (dedup + store) -> publish feeds."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from feedsvc.errors import FeedsvcError, Interrupted, PublishError, SourceError
from feedsvc.extract import extract_page, limits
from feedsvc.fetch import Fetcher, Validators, backoff_delay
from feedsvc.fulltext import FullText
from feedsvc.ingest import Ingestor
from feedsvc.metrics import Metrics
from feedsvc.models import FeedSpec, Page, RunReport, Source
from feedsvc.publish import MEDIA_TYPES, RENDERERS, Renderings, entries_digest, feed_hub
from feedsvc.published import (
    FeedContext,
    Publisher,
    feed_context,
    feed_language,
    specs_fingerprint,
    titled_specs,
)
from feedsvc.settings import Settings
from feedsvc.store import Claim, LeaseLost, SourceState, Store, retention_cutoff
from feedsvc.websub import HubPinger

log = logging.getLogger("feedsvc")
# The rendering fingerprint and the store's change sequence every feed was last built at, whole.
_PUBLISHED_AT = "feeds_built_at"
ROLES = ("all", "worker", "web")
_PREFETCH = 2  # pages run_once fetches ahead of the one it is extracting and ingesting
# How long run_once's batch of decisions may hold the embedded store's write lock before it commits: long
# enough to share one commit among many pages, short enough for another process's writes to wait on.
_BATCH_SECONDS = 0.25


def next_run_after(scheduled: datetime | None, interval: float, now: datetime) -> datetime:
    """The next slot of a source's schedule after ``now``: the slot it was claimed at plus whole
    intervals (a late run does not shift the schedule, a very late one skips the slots it missed)."""
    step = timedelta(seconds=interval)
    if scheduled is None or scheduled > now:
        return now + step
    missed = int((now - scheduled) / step)
    return scheduled + step * (missed + 1)


class RunObserver(Protocol):
    """Hears of each source's start and finish in :meth:`Service.run_once` (feedsvc.progress)."""

    def started(self, source: str) -> None: ...

    def finished(self, report: RunReport) -> None: ...


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _failure(source: Source, exc: Exception) -> tuple[str, float | None]:
    """What a failed run records (error text, the site's Retry-After): called in the ``except`` block."""
    if isinstance(exc, SourceError):
        return exc.reason, getattr(exc, "retry_after", None)
    if isinstance(exc, FeedsvcError):  # the store: recorded against the run, the service goes on
        return str(exc), None
    # A bug met on this source's page: loud, but the other sources go on.
    log.exception("event=source_crashed source=%s error=%r", source.name, str(exc))
    return f"unexpected {type(exc).__name__}: {exc}"[:500], None


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "never"


class Service:
    """Everything a running feedsvc holds: store, dedup index, fetcher and the published feeds."""

    def __init__(self, settings: Settings, fetcher: Fetcher | None = None, *, role: str = "all") -> None:
        """``role``: "all" (fetch, dedup, publish and serve: the embedded default), "worker" (fetch, dedup
        and stand by to publish) or "web" (serve what the publisher stored: no index, no fetching)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        self.settings = settings
        self.role = role
        self.store = Store(settings.database_url, migrate=settings.auto_migrate)
        self.owner = f"{socket.gethostname()[:24]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.fetcher = fetcher or Fetcher(
            max_bytes=settings.max_page_bytes,
            timeout=settings.fetch_timeout,
            contact_url=settings.contact_url,
            respect_robots=settings.respect_robots,
            # one request at a time per host across every process on the store, not only this one
            host_lock=self.store.host_lock,
        )
        self.ingestor = Ingestor(self.store, settings.dedup, settings.retention_days)
        self._restore_thread: threading.Thread | None = None
        # Feeds live in the store for every web server; a publishing process keeps its files too (the
        # embedded path serves them after a restart; with PostgreSQL they are a local copy).
        self.publisher = Publisher(settings.data_dir, self.store, files=role != "web")
        self.leading = False  # this process is the publisher now
        self._published_seq: int | None = None  # the store's change sequence the feeds were last built at
        self._published_specs: tuple[FeedSpec, ...] | None = None  # and the feeds (with titles) built
        # Whether this process (as the publisher) has built the feeds after every source was tried once:
        # until then a fresh start would announce readiness with feeds that miss the first fetches.
        self.built_after_every_source = False
        self.metrics = Metrics()
        self.fulltext = FullText(self.fetcher, self.store, self.metrics)
        self.context = self._context()
        # WebSub: only the publishing roles ping, and only about public feeds (see FeedContext.hub).
        self.websub = HubPinger(self.context.hub) if self.context.hub and role != "web" else None
        self._source_locks = {s.name: threading.Lock() for s in settings.sources}
        self._feed_names = frozenset(spec.name for spec in settings.all_feeds())
        self._ingest_lock = threading.Lock()  # the dedup index is shared by every source
        self.publish_errors: dict[str, str] = {}  # feed file -> why its last build failed
        self.stopping = limits.StopSignal()  # set by interrupt(): runs in flight end without a record

    def _context(self) -> FeedContext:
        host = urlsplit(self.settings.public_url).hostname or "localhost"
        now = datetime.now(UTC).replace(microsecond=0)
        authority = self.store.set_meta_default("tag_authority", f"{host},{now.year}")
        epoch = datetime.fromisoformat(self.store.set_meta_default("epoch", now.isoformat()))
        s = self.settings
        return feed_context(s.public_url, s.hub, s.token, authority, epoch)

    def start(self, *, restore: bool = True) -> None:
        """Load the last published feeds and start restoring the dedup index (cheap; no fetching).
        ``restore=False``: the index is restored at its first use instead (`run-once`: a run whose pages
        are all unchanged never loads it)."""
        started = time.monotonic()
        loaded = self.publisher.load(self._fingerprint())
        if self.role != "web" and restore:
            # The index loads in the background: the stored feeds are served meanwhile, and every use of
            # the index (a fetched page's dedup, prune) waits for it.
            self._restore_thread = self.ingestor.restore_in_background(
                lambda copies, seconds: log.info("event=restored copies=%d seconds=%.2f", copies, seconds)
            )
        # Built for another public URL, title, limit or renderer: rebuilt now (by the publisher).
        if self.role != "web" and self._outdated() and self.store.try_lead():
            self.publish_feeds()
        log.info("event=started feeds=%d seconds=%.2f", loaded, time.monotonic() - started)

    def _fingerprint(self, specs: tuple[FeedSpec, ...] | None = None) -> str:
        s = self.settings
        specs = self.feed_specs() if specs is None else specs
        return specs_fingerprint(self.context, specs, s.sources, s.feed_entries)

    def reconfigure(self, settings: Settings) -> None:
        """Switch to ``settings`` (a reload, see feedsvc.reload): sources and feeds added, removed or
        changed. A changed source takes effect at its next run; the publisher's next tick rebuilds the
        feeds whose shape changed (their fingerprint) and builds the new ones."""
        for source in settings.sources:
            self._source_locks.setdefault(source.name, threading.Lock())
        self.settings = settings
        self._feed_names = frozenset(spec.name for spec in settings.all_feeds())
        self.publisher.fingerprint = self._fingerprint()

    def _outdated(self) -> list[str]:
        """Configured feeds built with another rendering context (a feed no longer configured is never
        rebuilt, so its old fingerprint must not count, or the publisher would rebuild on every tick)."""
        return [n for n in self.publisher.outdated() if self.serves(n.rsplit(".", 1)[0])]

    def serves(self, name: str) -> bool:
        """Whether ``name`` is a configured feed (a removed source's stored feed is no longer served)."""
        return name in self._feed_names

    def busy(self) -> bool:
        """True while any source is being fetched or ingested."""
        return any(lock.locked() for lock in tuple(self._source_locks.values()))

    def interrupt(self) -> None:
        """A clean stop: cut the fetches and extractions in flight and refuse new ones. A run cut short
        records nothing (no error, no backoff) and releases its lease, so the next start runs it again."""
        self.stopping.set()
        self.fetcher.cancel()

    def close(self) -> None:
        if self.websub is not None:
            self.websub.close(timeout=self.settings.stop_timeout / 4)
        self.fetcher.close()
        if self._restore_thread is not None:  # the store closes below: let a restore under way end first
            self._restore_thread.join(timeout=self.settings.stop_timeout / 2)
        try:
            if self.role != "web":
                with self._ingest_lock:
                    self.ingestor.flush()
        except FeedsvcError as exc:
            log.error("event=flush_failed error=%r", str(exc))
        self.store.close()

    # -- the publisher ------------------------------------------------------------------------------

    def lead(self) -> int | None:
        """One publisher tick: if this process is (or now becomes) the leader, rebuild the feeds when the
        stored stories changed since its last build, a feed is missing or outdated. Returns the number of
        feeds changed, or None when another process leads."""
        if self.role == "web" or not self.store.try_lead():
            if self.leading:
                log.warning("event=leadership_lost")
            self.leading = False
            return None
        if not self.leading:  # just took over: start from what the previous leader stored
            log.info("event=leading owner=%s", self.owner)
            self.leading = True
            self._published_seq = None
            self.publisher.refresh()
        seq = self.store.change_seq()
        specs = self.feed_specs()  # a source's page may have renamed itself: its feed's title changes
        missing = any(self.publisher.get(f"{s.name}.atom") is None for s in specs)
        if (
            seq == self._published_seq
            and specs == self._published_specs
            and not missing
            and not self._outdated()
        ):
            return 0
        self._published_seq = seq  # read before building: a change made meanwhile triggers the next tick
        self._published_specs = specs
        every_source_tried = not self._untried()  # read before building too, for the same reason
        changed = self.publish_feeds(specs)
        self.built_after_every_source |= every_source_tried
        log.info("event=published changed=%d seq=%d", changed, seq)
        return changed

    def watch_feeds(self, stop: threading.Event) -> None:
        """Keep this process's feeds in step with the store until ``stop`` (web servers, standbys)."""
        self.store.watch_feeds(stop, self.publisher.refresh, self.settings.publish_interval)

    # -- one source -----------------------------------------------------------------------------

    # -- the schedule -------------------------------------------------------------------------------

    def ensure_schedule(self, *, startup: bool = True) -> None:
        """Give every configured source a row and a first run, spread over at most one interval
        (``startup=False``: a reload, while sources may be running)."""
        now = datetime.now(UTC).replace(microsecond=0)
        count = max(len(self.settings.sources), 1)
        first = {
            s.name: now + timedelta(seconds=i * min(1.0, s.interval / count))
            for i, s in enumerate(self.settings.sources)
        }
        self.store.ensure_sources(first, {s.name: s.interval for s in self.settings.sources}, startup=startup)

    def claim(self, limit: int) -> list[Claim]:
        """Lease up to ``limit`` due sources for this process."""
        now = datetime.now(UTC)
        names = [s.name for s in self.settings.sources]
        return self.store.claim_due(self.owner, names, now, self.settings.lease, limit)

    def run_claimed(self, claim: Claim) -> RunReport:
        """Run the source ``claim`` leases; its results are written only while the lease holds."""
        source = next((s for s in self.settings.sources if s.name == claim.source), None)
        if source is None:  # no longer configured here: another configuration's source
            return RunReport(source=claim.source, ok=True, error="skipped: not configured")
        return self.run_source(source, claim=claim)

    def run_source(
        self,
        source: Source,
        *,
        force: bool = False,
        claim: Claim | None = None,
        state: SourceState | None = None,
        save: Callable[[SourceState], object] | None = None,
        page: Future[Page] | None = None,
    ) -> RunReport:
        """Fetch, extract and ingest one source. Expected failures are recorded, never raised.

        A source in backoff (after failures, or a Retry-After) is skipped unless ``force``. With a
        ``claim`` (a lease from the store's schedule) every write of the run is fenced by the lease.
        ``state``: the source's stored state when the caller read it already; ``save``: what takes the
        source's new state instead of the store (a caller saving many at once); ``page``: the source's fetch,
        started by the caller (with ``state``'s validators)."""
        lock = self._source_locks.setdefault(source.name, threading.Lock())
        if not lock.acquire(blocking=False):
            return RunReport(
                source=source.name, ok=True, error="skipped: a run of this source is in progress"
            )
        try:
            with limits.stop_scope(self.stopping):
                return self._run_source(source, force, claim, state, save, page)
        finally:
            lock.release()

    def _run_source(
        self,
        source: Source,
        force: bool,
        claim: Claim | None = None,
        known: SourceState | None = None,
        save: Callable[[SourceState], object] | None = None,
        fetched: Future[Page] | None = None,
    ) -> RunReport:
        started = time.monotonic()
        state = known or self.store.source_state(source.name)
        began = datetime.now(UTC)  # whole: the schedule's slots have fractions of a second
        now = began.replace(microsecond=0)  # what the state records and the status page shows
        if state.backoff_until and now < state.backoff_until and not force:
            return RunReport(
                source=source.name, ok=True, error=f"backing off until {_when(state.backoff_until)}"
            )
        retry_after: float | None = None
        try:
            page = self._fetch(source, state) if fetched is None else fetched.result()
            if page.not_modified:
                report = RunReport(source=source.name, ok=True, not_modified=True)
            else:
                log.debug("event=extracting source=%s bytes=%d", source.name, len(page.content))
                extracted = extract_page(page, source, self.settings.max_page_bytes)
                stories = self.fulltext.enrich(source, extracted.stories, page.url)
                prepared = self.ingestor.prepare(stories)  # fingerprints: no lock needed
                with self._ingest_lock:
                    result = self.ingestor.ingest(prepared, lease=claim)
                    self.metrics.decision_seconds.observe(self.ingestor.decision_seconds[-1])
                report = RunReport(
                    source=source.name,
                    ok=True,
                    stories=result.stories,
                    new_clusters=result.new_clusters,
                    merged=result.joined,
                )
                state = replace(
                    state,
                    etag=page.etag,
                    last_modified=page.last_modified,
                    stories=len(stories),
                    page_title=extracted.title or state.page_title,
                )
            state = replace(
                state, last_fetch=now, last_success=now, last_error=None, failures=0, backoff_until=None
            )
        except Interrupted as exc:
            return self._interrupted(source, state, claim, exc)
        except LeaseLost as exc:  # another worker has the source now: leave its state alone
            log.warning("event=lease_lost source=%s error=%r", source.name, str(exc))
            return RunReport(source=source.name, ok=False, error=str(exc))
        except Exception as exc:
            if self.stopping.is_set():  # fallout of the stop (a client closed under it): not the source's
                return self._interrupted(source, state, claim, exc)
            error, retry_after = _failure(source, exc)
            report = RunReport(source=source.name, ok=False, error=error)
            state = replace(state, last_fetch=now, last_error=error, failures=state.failures + 1)
        report = replace(report, duration=time.monotonic() - started)
        # The interval configured now: a reload during the run may have changed it.
        interval = next((s.interval for s in self.settings.sources if s.name == source.name), source.interval)
        if report.ok:
            scheduled = claim.scheduled if claim is not None else None
            # Not ``now``: cut to the second it can be just before the slot the run was claimed at, which
            # made the next run "now + interval", up to a second before the next slot.
            state = replace(state, next_run=next_run_after(scheduled, interval, began))
        else:  # exponential backoff with jitter, never sooner than the site's Retry-After
            delay = backoff_delay(state.failures, base=interval, retry_after=retry_after)
            until = now + timedelta(seconds=max(delay, interval))
            state = replace(
                state, next_run=until, backoff_until=until if state.failures > 1 or retry_after else None
            )
        self._count(report, now)
        try:
            if claim is None:
                (save or self.store.save_source_state)(state)
            elif not self.store.finish(claim, state):
                log.warning("event=lease_lost source=%s state_not_saved=1", source.name)
        except FeedsvcError as exc:
            log.error("event=state_not_saved source=%s error=%r", source.name, str(exc))
        log.log(
            logging.INFO if report.ok else logging.WARNING,
            "event=fetch source=%s status=%s stories=%d new=%d merged=%d duration=%.3f error=%r",
            report.source,
            "not_modified" if report.not_modified else ("ok" if report.ok else "error"),
            report.stories,
            report.new_clusters,
            report.merged,
            report.duration,
            report.error,
        )
        return report

    def _interrupted(
        self, source: Source, state: SourceState, claim: Claim | None, exc: Exception
    ) -> RunReport:
        """A run a clean stop cut short: nothing recorded; its lease (if any) released with the state it
        found, so the source is due again at once."""
        log.info("event=run_interrupted source=%s reason=%r", source.name, str(exc))
        if claim is not None:
            self.release(claim, state)
        return RunReport(source=source.name, ok=False, error="interrupted by a stop")

    def release(self, claim: Claim, state: SourceState | None = None) -> None:
        """Give back a lease without a result (a run cut short or never started): the source keeps its
        state and is due again at once, for this process's next start or another worker."""
        try:
            self.store.finish(claim, state or self.store.source_state(claim.source))
        except FeedsvcError as exc:  # the lease runs out instead
            log.warning("event=lease_not_released source=%s error=%r", claim.source, str(exc))

    def _count(self, report: RunReport, now: datetime) -> None:
        m = self.metrics
        result = "not_modified" if report.not_modified else ("ok" if report.ok else "error")
        m.fetches.labels(report.source, result).inc()
        m.fetch_seconds.labels(report.source).observe(report.duration)
        m.stories.labels(report.source).inc(report.stories)
        m.clusters_created.inc(report.new_clusters)
        m.clusters_merged.inc(report.merged)
        if report.ok:
            m.last_success.labels(report.source).set(now.timestamp())

    # -- feeds ----------------------------------------------------------------------------------

    def publish_feeds(self, specs: tuple[FeedSpec, ...] | None = None) -> int:
        """Rebuild every feed whose entries or spec changed since its last build (all of them after a
        change of rendering context), storing them in one transaction; a feed that fails to build keeps
        its last good bytes. Returns the number of feeds whose bytes changed."""
        specs = self.feed_specs() if specs is None else specs
        # Noted with every feed built: the specs' titles come from the pages, so they may have changed since
        # start-up (the first fetch of a source names it), and a fingerprint of the specs at start-up would
        # make the next start rebuild every feed with the same bytes.
        self.publisher.fingerprint = self._fingerprint(specs)
        # The stored stories and the feeds' specs (titles from pages, a reload) have not changed since
        # every feed was last built here, whole: nothing to do. (Read before building: a change made
        # meanwhile is built by the next call.)
        built_at = f"{self.publisher.fingerprint}:{self.store.change_seq()}"  # the fingerprint covers specs
        names = [f"{spec.name}.{ext}" for spec in specs for ext in RENDERERS]
        if (
            not self.publish_errors
            and self.publisher.current(names)
            and self.store.get_meta(_PUBLISHED_AT) == built_at
        ):
            return 0
        limit = self.settings.feed_entries
        # Filtered feeds pick from the newest clusters; retention (prune) bounds what the store holds.
        pool = self.store.recent_clusters(limit=max(limit * 20, 1000))
        built: list[tuple[str, str, bytes, str | None]] = []
        shared = Renderings(self.context)  # each entry rendered once for every feed that carries it
        hubbed: dict[str, str] = {}  # feed file -> its public URL, for the WebSub hub when its bytes change
        by_source: dict[str, list[int]] = {}  # source -> where its clusters stand in the pool
        for i, cluster in enumerate(pool):
            for name in cluster.sources:
                by_source.setdefault(name, []).append(i)
        for spec in specs:
            # A feed of some sources only looks at their clusters (the rest cannot match), in pool order.
            candidates = (
                [pool[i] for i in sorted({i for name in spec.sources for i in by_source.get(name, ())})]
                if spec.sources
                else pool
            )
            entries = [c for c in candidates if spec.matches(c)][:limit]
            language = feed_language(spec, self.settings.sources)
            # what the bytes take from the entries, and from the spec (title, filters) and language
            inputs = _digest(f"{entries_digest(entries)}|{spec!r}|{language}")
            for ext, render in RENDERERS.items():
                filename = f"{spec.name}.{ext}"
                if self.publisher.up_to_date(filename, inputs):
                    self.publish_errors.pop(filename, None)
                    continue
                if feed_hub(spec, self.context):
                    hubbed[filename] = self.context.feed_url(spec.name, ext)
                try:
                    built.append(
                        (
                            filename,
                            MEDIA_TYPES[ext],
                            render(spec, entries, self.context, language=language, shared=shared),
                            inputs,
                        )
                    )
                except PublishError as exc:  # the last good bytes stay in place
                    self._publish_failed(filename, str(exc))
                except Exception as exc:  # a rendering bug: the last good bytes stay, the others go on
                    self._publish_failed(filename, f"unexpected {type(exc).__name__}: {exc}", crashed=True)
        before = {name: self.publisher.get(name) for name, *_ in built}
        changed = 0
        ping: list[str] = []  # public feed URLs whose bytes changed
        for filename, result in self.publisher.publish_many(built).items():
            if isinstance(result, PublishError):
                self._publish_failed(filename, str(result))
                continue
            old = before[filename]
            if old is None or old.etag != result.etag:
                changed += 1
                if filename in hubbed:
                    ping.append(hubbed[filename])
            self.metrics.feed_builds.labels("ok").inc()
            self.publish_errors.pop(filename, None)
        if not self.publish_errors:
            self.store.set_meta(_PUBLISHED_AT, built_at)
        if ping and self.websub is not None:
            self.websub.ping(ping)  # in the background: never waits for the hub
        return changed

    def _publish_failed(self, filename: str, error: str, crashed: bool = False) -> None:
        self.metrics.feed_builds.labels("error").inc()
        self.publish_errors[filename] = error
        if crashed:
            log.exception("event=publish_crashed feed=%s", filename)
        else:
            log.error("event=publish_failed feed=%s error=%r", filename, error)

    def not_ready(self) -> list[str]:
        """Why the service should not get traffic yet ([] when ready): the store is unreachable, a source
        has never been tried since the store was made, a feed has never been published, or the last build of
        a feed failed (full disk, read-only data directory)."""
        if not self.store.ping():
            return ["store unreachable"]
        problems = []
        if self.role != "web" and not self.ingestor.restored:
            problems.append("loading the dedup index")
        untried = self._untried()
        if untried:
            problems.append(f"never fetched yet: {', '.join(untried)}")
        elif self.leading and not self.built_after_every_source:
            problems.append("publishing what the first fetches found")
        unpublished = [s.name for s in self.feed_specs() if self.publisher.get(f"{s.name}.atom") is None]
        if unpublished:
            problems.append(f"not yet published: {', '.join(unpublished)}")
        problems.extend(
            f"cannot publish {name}: {error}" for name, error in sorted(self.publish_errors.items())
        )
        return problems

    def _untried(self) -> list[str]:
        tried = {name for name, st in self.source_states().items() if st.last_fetch is not None}
        return [s.name for s in self.settings.sources if s.name not in tried]

    def feed_specs(self) -> tuple[FeedSpec, ...]:
        """Every feed, each source's titled as people know it (see :func:`titled_specs`)."""
        try:
            page_titles = self.store.source_titles()
        except FeedsvcError as exc:  # the store is down: the configured titles still name every feed
            log.warning("event=page_titles_unavailable error=%r", str(exc))
            page_titles = {}
        return titled_specs(self.settings.all_feeds(), self.settings.sources, page_titles)

    def run_once(self, progress: RunObserver | None = None) -> list[RunReport]:
        """Run every source once (``progress`` hears of each start and finish), then publish and prune.
        The sources' states are read in one query and saved in one transaction after the last source (a
        run killed part-way fetches again, next time, what it had done: ingesting a page again adds
        nothing). The next pages are fetched in a thread while one is extracted and ingested, in turn
        (one request at a time, as before). On the embedded store the pages' decisions share a
        transaction for up to ``_BATCH_SECONDS`` (see Ingestor.batched); when one cannot be committed,
        its pages are reported failed and their states left as they were, so the next run fetches them.
        The dedup index is restored by the first page that changed (if it is not already)."""
        states = self.store.all_source_states()
        sources = self.settings.sources
        known = {s.name: states.get(s.name) or SourceState(name=s.name) for s in sources}  # no row: new
        done: list[SourceState] = []
        reports: list[RunReport] = []
        pending: list[int] = []  # reports whose pages' decisions the open batch holds uncommitted
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        ahead: dict[str, Future[Page]] = {}
        try:
            with self.ingestor.batched():  # embedded store: pages' decisions share transactions
                for i, source in enumerate(sources):
                    for later in sources[i : i + _PREFETCH + 1]:
                        if later.name not in ahead:
                            ahead[later.name] = pool.submit(self._fetch, later, known[later.name])
                    if progress is not None:
                        progress.started(source.name)
                    report = self.run_source(
                        source,
                        force=True,
                        state=known[source.name],
                        save=done.append,
                        page=ahead[source.name],
                    )
                    del ahead[source.name]
                    if self.ingestor.batch_lost():
                        self._not_stored(pending, reports, done, "a failure rolled back its batch")
                    reports.append(report)
                    if report.ok and not report.not_modified:
                        pending.append(len(reports) - 1)
                    if self.ingestor.batch_age() >= _BATCH_SECONDS or i == len(sources) - 1:
                        self._commit_batch(pending, reports, done)
                    if progress is not None:
                        progress.finished(reports[-1])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        try:
            self.store.save_source_states(done)
        except FeedsvcError as exc:
            log.error("event=state_not_saved sources=%d error=%r", len(done), str(exc))
        self.publish_feeds()
        self.prune()
        return reports

    def _commit_batch(self, pending: list[int], reports: list[RunReport], done: list[SourceState]) -> None:
        try:
            self.ingestor.commit_batch()
        except FeedsvcError as exc:
            log.error("event=batch_not_stored sources=%d error=%r", len(pending), str(exc))
            self._not_stored(pending, reports, done, str(exc))
        pending.clear()

    @staticmethod
    def _not_stored(pending: list[int], reports: list[RunReport], done: list[SourceState], why: str) -> None:
        """The pages of ``pending`` were not stored after all: failed runs whose states are not saved (so
        the next run fetches them whole again, as after a kill)."""
        lost = {reports[i].source for i in pending}
        for i in pending:
            reports[i] = replace(reports[i], ok=False, error=f"not stored: {why}"[:500])
        done[:] = [state for state in done if state.name not in lost]
        pending.clear()

    def _fetch(self, source: Source, state: SourceState) -> Page:
        if self.stopping.is_set():
            raise Interrupted("not started: stopping")
        return self.fetcher.fetch(source, Validators(state.etag, state.last_modified))

    def prune(self) -> int:
        """Forget copies past the retention window, in the store and the dedup index together."""
        cutoff = retention_cutoff(datetime.now(UTC), self.settings.retention_days)
        try:
            with self._ingest_lock:
                removed = self.ingestor.prune(cutoff)
        except FeedsvcError as exc:
            log.error("event=prune_failed error=%r", str(exc))
            return 0
        if removed:
            log.info("event=pruned copies=%d", removed)
        return removed

    def status(self) -> list[dict[str, str]]:
        """One row per configured source: what the status page and `feedsvc status` show."""
        states = self.source_states()
        now = datetime.now(UTC)
        rows = []
        for source in self.settings.sources:
            st = states.get(source.name) or SourceState(name=source.name)
            if st.backoff_until and st.backoff_until > now:
                backoff = f"until {_when(st.backoff_until)} ({st.failures} failures)"
            else:
                backoff = f"{st.failures} failures" if st.failures else "-"
            rows.append(
                {
                    "source": source.name,
                    "last fetch": _when(st.last_fetch),
                    "last success": _when(st.last_success),
                    "last error": st.last_error or "-",
                    "next run": _when(st.next_run) if st.next_run else "at start-up",
                    "stories": str(st.stories),
                    "backoff": backoff,
                }
            )
        return rows

    def source_states(self) -> dict[str, SourceState]:
        return self.store.all_source_states()

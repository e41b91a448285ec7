"""The pipeline, run per source: fetch -> extract -> ingest (dedup + store) -> publish feeds."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from feedsvc.errors import FeedsvcError, Interrupted, PublishError, SourceError
from feedsvc.extract import extract, limits
from feedsvc.fetch import Fetcher, Validators, backoff_delay
from feedsvc.fulltext import FullText
from feedsvc.ingest import Ingestor
from feedsvc.metrics import Metrics
from feedsvc.models import FeedSpec, RunReport, Source
from feedsvc.publish import (
    MEDIA_TYPES,
    RENDERERS,
    FeedContext,
    Publisher,
    feed_language,
    render_fingerprint,
)
from feedsvc.settings import Settings
from feedsvc.store import Claim, LeaseLost, SourceState, Store, retention_cutoff

log = logging.getLogger("feedsvc")
ROLES = ("all", "worker", "web")


class SharedFetcher(Fetcher):
    """The Fetcher with its one-request-per-host rule held across every process on the store: the
    store's host lock (a PostgreSQL advisory lock keyed by the host) is taken inside the in-process one."""

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._store = store

    @contextmanager
    def _host_lock(self, url: Any) -> Iterator[None]:
        with super()._host_lock(url), self._store.host_lock(str(url.host).lower()):
            yield


def next_run_after(scheduled: datetime | None, interval: float, now: datetime) -> datetime:
    """The next slot of a source's schedule after ``now``: the slot it was claimed at plus whole
    intervals (a late run does not shift the schedule, a very late one skips the slots it missed)."""
    step = timedelta(seconds=interval)
    if scheduled is None or scheduled > now:
        return now + step
    missed = int((now - scheduled) / step)
    return scheduled + step * (missed + 1)


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
        self.fetcher = fetcher or SharedFetcher(
            self.store,
            max_bytes=settings.max_page_bytes,
            timeout=settings.fetch_timeout,
            contact_url=settings.contact_url,
            respect_robots=settings.respect_robots,
        )
        self.ingestor = Ingestor(self.store, settings.dedup, settings.retention_days)
        # Feeds live in the store for every web server; a publishing process keeps its files too (the
        # embedded path serves them after a restart; with PostgreSQL they are a local copy).
        self.publisher = Publisher(settings.data_dir, self.store, files=role != "web")
        self.leading = False  # this process is the publisher now
        self._published_seq: int | None = None  # the store's change sequence the feeds were last built at
        # Whether this process (as the publisher) has built the feeds after every source was tried once:
        # until then a fresh start would announce readiness with feeds that miss the first fetches.
        self.built_after_every_source = False
        self.metrics = Metrics()
        self.fulltext = FullText(self.fetcher, self.store, self.metrics)
        self.context = self._context()
        self._source_locks = {s.name: threading.Lock() for s in settings.sources}
        self._ingest_lock = threading.Lock()  # the dedup index is shared by every source
        self.publish_errors: dict[str, str] = {}  # feed file -> why its last build failed
        self.stopping = limits.StopSignal()  # set by interrupt(): runs in flight end without a record

    def _context(self) -> FeedContext:
        host = urlsplit(self.settings.public_url).hostname or "localhost"
        now = datetime.now(UTC).replace(microsecond=0)
        authority = self.store.set_meta_default("tag_authority", f"{host},{now.year}")
        epoch = datetime.fromisoformat(self.store.set_meta_default("epoch", now.isoformat()))
        return FeedContext(public_url=self.settings.public_url, tag_authority=authority, epoch=epoch)

    def start(self) -> None:
        """Restore the dedup index and the last published feeds (cheap; no fetching)."""
        started = time.monotonic()
        languages = {s.name: feed_language(s, self.settings.sources) for s in self.feed_specs()}
        fingerprint = render_fingerprint(
            self.context, self.feed_specs(), self.settings.feed_entries, languages
        )
        loaded = self.publisher.load(fingerprint)
        indexed = self.ingestor.restore() if self.role != "web" else 0
        # Built for another public URL, title, limit or renderer: rebuilt now (by the publisher).
        if self.role != "web" and self.publisher.outdated() and self.store.try_lead():
            self.publish_feeds()
        log.info(
            "event=restored copies=%d feeds=%d seconds=%.2f", indexed, loaded, time.monotonic() - started
        )

    def busy(self) -> bool:
        """True while any source is being fetched or ingested."""
        return any(lock.locked() for lock in self._source_locks.values())

    def interrupt(self) -> None:
        """A clean stop: cut the fetches and extractions in flight and refuse new ones. A run cut short
        records nothing (no error, no backoff) and releases its lease, so the next start runs it again."""
        self.stopping.set()
        self.fetcher.cancel()

    def close(self) -> None:
        self.fetcher.close()
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
        missing = any(self.publisher.get(f"{s.name}.atom") is None for s in self.feed_specs())
        if seq == self._published_seq and not missing and not self.publisher.outdated():
            return 0
        self._published_seq = seq  # read before building: a change made meanwhile triggers the next tick
        every_source_tried = not self._untried()  # read before building too, for the same reason
        changed = self.publish_feeds()
        self.built_after_every_source |= every_source_tried
        log.info("event=published changed=%d seq=%d", changed, seq)
        return changed

    def watch_feeds(self, stop: threading.Event) -> None:
        """Keep this process's feeds in step with the store until ``stop`` (web servers, standbys)."""
        self.store.watch_feeds(stop, self.publisher.refresh, self.settings.publish_interval)

    # -- one source -----------------------------------------------------------------------------

    # -- the schedule -------------------------------------------------------------------------------

    def ensure_schedule(self) -> None:
        """Give every configured source a row and a first run, spread over at most one interval."""
        now = datetime.now(UTC).replace(microsecond=0)
        count = max(len(self.settings.sources), 1)
        first = {
            s.name: now + timedelta(seconds=i * min(1.0, s.interval / count))
            for i, s in enumerate(self.settings.sources)
        }
        self.store.ensure_sources(first, {s.name: s.interval for s in self.settings.sources})

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

    def run_source(self, source: Source, *, force: bool = False, claim: Claim | None = None) -> RunReport:
        """Fetch, extract and ingest one source. Expected failures are recorded, never raised.

        A source in backoff (after failures, or a Retry-After) is skipped unless ``force``. With a
        ``claim`` (a lease from the store's schedule) every write of the run is fenced by the lease."""
        lock = self._source_locks.setdefault(source.name, threading.Lock())
        if not lock.acquire(blocking=False):
            return RunReport(
                source=source.name, ok=True, error="skipped: a run of this source is in progress"
            )
        try:
            with limits.stop_scope(self.stopping):
                return self._run_source(source, force, claim)
        finally:
            lock.release()

    def _run_source(self, source: Source, force: bool, claim: Claim | None = None) -> RunReport:
        started = time.monotonic()
        state = self.store.source_state(source.name)
        began = datetime.now(UTC)  # whole: the schedule's slots have fractions of a second
        now = began.replace(microsecond=0)  # what the state records and the status page shows
        if state.backoff_until and now < state.backoff_until and not force:
            return RunReport(
                source=source.name, ok=True, error=f"backing off until {_when(state.backoff_until)}"
            )
        retry_after: float | None = None
        try:
            if self.stopping.is_set():
                raise Interrupted("not started: stopping")
            page = self.fetcher.fetch(source, Validators(state.etag, state.last_modified))
            if page.not_modified:
                report = RunReport(source=source.name, ok=True, not_modified=True)
            else:
                log.debug("event=extracting source=%s bytes=%d", source.name, len(page.content))
                stories = extract(page, source, self.settings.max_page_bytes)
                stories = self.fulltext.enrich(source, stories, page.url)
                prepared = self.ingestor.prepare(stories)  # fingerprints: no lock needed
                with self._ingest_lock:
                    result = self.ingestor.ingest(prepared, lease=claim)
                report = RunReport(
                    source=source.name,
                    ok=True,
                    stories=result.stories,
                    new_clusters=result.new_clusters,
                    merged=result.joined,
                )
                state = replace(state, etag=page.etag, last_modified=page.last_modified, stories=len(stories))
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
        if report.ok:
            scheduled = claim.scheduled if claim is not None else None
            # Not ``now``: cut to the second it can be just before the slot the run was claimed at, which
            # made the next run "now + interval", up to a second before the next slot.
            state = replace(state, next_run=next_run_after(scheduled, source.interval, began))
        else:  # exponential backoff with jitter, never sooner than the site's Retry-After
            delay = backoff_delay(state.failures, base=source.interval, retry_after=retry_after)
            until = now + timedelta(seconds=max(delay, source.interval))
            state = replace(
                state, next_run=until, backoff_until=until if state.failures > 1 or retry_after else None
            )
        self._count(report, now)
        try:
            if claim is None:
                self.store.save_source_state(state)
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

    def publish_feeds(self) -> int:
        """Rebuild every feed; a feed that fails to build keeps its last good bytes. Returns changed."""
        limit = self.settings.feed_entries
        # Filtered feeds pick from the newest clusters; retention (prune) bounds what the store holds.
        pool = self.store.recent_clusters(limit=max(limit * 20, 1000))
        changed = 0
        for spec in self.settings.all_feeds():
            entries = [c for c in pool if spec.matches(c)][:limit]
            language = feed_language(spec, self.settings.sources)
            for ext, render in RENDERERS.items():
                filename = f"{spec.name}.{ext}"
                try:
                    before = self.publisher.get(filename)
                    content = render(spec, entries, self.context, language=language)
                    feed = self.publisher.publish(filename, MEDIA_TYPES[ext], content)
                    changed += before is None or before.etag != feed.etag
                    self.metrics.feed_builds.labels("ok").inc()
                    self.publish_errors.pop(filename, None)
                except PublishError as exc:  # the last good bytes stay in place
                    self.metrics.feed_builds.labels("error").inc()
                    self.publish_errors[filename] = str(exc)
                    log.error("event=publish_failed feed=%s error=%r", filename, str(exc))
                except Exception as exc:  # a rendering bug: the last good bytes stay, the others go on
                    self.metrics.feed_builds.labels("error").inc()
                    self.publish_errors[filename] = f"unexpected {type(exc).__name__}: {exc}"
                    log.exception("event=publish_crashed feed=%s", filename)
        return changed

    def not_ready(self) -> list[str]:
        """Why the service should not get traffic yet ([] when ready): the store is unreachable, a source
        has never been tried since the store was made, a feed has never been published, or the last build of
        a feed failed (full disk, read-only data directory)."""
        if not self.store.ping():
            return ["store unreachable"]
        problems = []
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
        return self.settings.all_feeds()

    def run_once(self) -> list[RunReport]:
        reports = [self.run_source(source, force=True) for source in self.settings.sources]
        self.publish_feeds()
        self.prune()
        return reports

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

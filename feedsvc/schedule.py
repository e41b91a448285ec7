"""APScheduler wiring only: one "claim due sources" tick and one publisher tick per worker, pruning.

The schedule itself lives in the store (``sources.next_run``); every worker process ticks the same claim
loop, leases the sources that are due (``Store.claim_due``) and runs them on its own thread pool. There is
never one job per source per process, so any number of workers fetch each source once per interval. The
publisher tick rebuilds the feeds in the one process that holds the leader lock (``Service.lead``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feedsvc.errors import FeedsvcError
from feedsvc.service import Service
from feedsvc.store import Claim

log = logging.getLogger("feedsvc")
# A tick still running when the next is due is skipped by design: not worth a warning every time.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
_PRUNE_DELAY = timedelta(minutes=5)


class Schedule:
    """The worker side of a process: claims due sources and runs them, and publishes while it leads."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1}
        )
        self.threads = service.settings.worker_threads
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="source")
        self._running: dict[str, Claim] = {}
        self._guard = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        now = datetime.now(UTC)
        self.service.ensure_schedule()
        self.scheduler.add_job(
            self._claim,
            IntervalTrigger(seconds=self.service.settings.claim_interval, timezone=UTC),
            id="claim",
            name="claim due sources",
            next_run_time=now,
        )
        lease = self.service.settings.lease
        self.scheduler.add_job(
            self._renew,
            IntervalTrigger(seconds=max(lease / 3, 0.1), timezone=UTC),
            id="renew",
            name="renew the leases of running sources",
        )
        self.scheduler.add_job(
            self._lead,
            IntervalTrigger(seconds=self.service.settings.publish_interval, timezone=UTC),
            id="publish",
            name="publish feeds while leading",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.service.prune,
            IntervalTrigger(hours=6, timezone=UTC),
            id="prune",
            next_run_time=now + _PRUNE_DELAY,
        )
        self.scheduler.start()

    def publish_soon(self) -> None:
        """Run the publisher tick now rather than at its next interval (after a reload). A tick already
        running is not doubled: it, or the next, sees what changed."""
        if not self.scheduler.running or self._stopping:
            return
        with contextlib.suppress(JobLookupError):  # stopped meanwhile
            self.scheduler.modify_job("publish", next_run_time=datetime.now(UTC))
            self.scheduler.modify_job("claim", next_run_time=datetime.now(UTC))

    def next_runs(self) -> dict[str, datetime | None]:
        """Next scheduled fetch per configured source name (from the store's schedule)."""
        stored = self.service.store.next_runs()
        return {s.name: stored.get(s.name) for s in self.service.settings.sources}

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop claiming, cut the fetches and extractions in flight (they record nothing and release their
        leases: see ``Service.interrupt``) and wait up to ``timeout`` for the runs to end. Returns False
        when one is still running then (in a store write, which is one transaction: the store stays
        consistent whether it finishes or the process exits under it, and its lease expires)."""
        if not self.scheduler.running:
            return True
        self._stopping = True
        self.scheduler.shutdown(wait=False)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.service.interrupt()
        deadline = time.monotonic() + timeout
        while (self._running or self.service.busy()) and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._guard:
            still = sorted(self._running)
        if still or self.service.busy():
            log.warning("event=stop_timed_out running=%s", ",".join(still) or "-")
            return False
        return True

    def _claim(self) -> None:
        with self._guard:
            free = self.threads - len(self._running)
        if free <= 0 or self._stopping:
            return
        try:
            claims = self.service.claim(free)
        except FeedsvcError as exc:
            log.error("event=claim_failed error=%r", str(exc))
            return
        for claim in claims:
            with self._guard:
                self._running[claim.source] = claim
            try:
                future = self.pool.submit(self._run, claim)
            except RuntimeError:  # stopping: given back, for another worker or the next start
                self._never_run(claim)
            else:  # cancelled by stop() while queued: given back too
                future.add_done_callback(functools.partial(self._if_cancelled, claim))

    def _if_cancelled(self, claim: Claim, future: Future[None]) -> None:
        if future.cancelled():
            self._never_run(claim)

    def _never_run(self, claim: Claim) -> None:
        with self._guard:
            self._running.pop(claim.source, None)
        self.service.release(claim)

    def _renew(self) -> None:
        with self._guard:
            claims = list(self._running.values())
        if not claims:
            return
        try:
            lost = self.service.store.renew(claims, datetime.now(UTC), self.service.settings.lease)
        except FeedsvcError as exc:
            log.error("event=renew_failed error=%r", str(exc))
            return
        with self._guard:  # a run that ended meanwhile gave its lease back: not lost
            lost = [c.source for c in claims if c.source in lost and self._running.get(c.source) is c]
        for name in lost:
            log.warning("event=lease_lost source=%s", name)

    def _run(self, claim: Claim) -> None:
        try:
            if self._stopping:
                return
            self.service.run_claimed(claim)
        finally:
            with self._guard:
                self._running.pop(claim.source, None)

    def _lead(self) -> None:
        if self._stopping:
            return
        try:
            self.service.lead()
        except FeedsvcError as exc:
            log.error("event=publish_failed error=%r", str(exc))

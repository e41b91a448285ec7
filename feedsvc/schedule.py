"""APScheduler wiring only: one job per source, and a debounced feed rebuild after changes."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feedsvc.service import Service

log = logging.getLogger("feedsvc")
_PUBLISH_DELAY = timedelta(seconds=1)
_STAGGER = timedelta(seconds=1)
_PRUNE_DELAY = timedelta(minutes=5)


class Schedule:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1}
        )

    def start(self) -> None:
        now = datetime.now(UTC)
        states = self.service.source_states()
        for i, source in enumerate(self.service.settings.sources):
            interval = timedelta(seconds=source.interval)
            last = states[source.name].last_fetch if source.name in states else None
            # Follow the stored last fetch, so a restart does not refetch everything at once.
            first = max(last + interval, now + _STAGGER * i) if last else now + _STAGGER * i
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(
                    seconds=source.interval, jitter=min(60.0, source.interval / 10), timezone=UTC
                ),
                args=[source.name],
                id=f"source:{source.name}",
                name=f"fetch {source.name}",
                next_run_time=first,
                misfire_grace_time=int(max(30, source.interval / 2)),
            )
        if not all(self.service.publisher.get(f"{s.name}.atom") for s in self.service.feed_specs()):
            self._queue_publish(now)
        self.scheduler.add_job(
            self.service.prune,
            IntervalTrigger(hours=6, timezone=UTC),
            id="prune",
            next_run_time=now + _PRUNE_DELAY,
        )
        self.scheduler.start()

    def next_runs(self) -> dict[str, datetime | None]:
        """Next scheduled fetch per source name."""
        return {
            job.id.removeprefix("source:"): job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith("source:")
        }

    def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling; give a running fetch until ``timeout`` to finish. One that is still running is
        abandoned: everything it writes is one transaction, so the store stays consistent either way."""
        if not self.scheduler.running:
            return
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        while self.service.busy() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self, name: str) -> None:
        source = next(s for s in self.service.settings.sources if s.name == name)
        report = self.service.run_source(source)
        if report.new_clusters or report.merged:
            self._queue_publish(datetime.now(UTC))

    def _queue_publish(self, now: datetime) -> None:
        # One pending rebuild at a time: changes from several sources in a burst share it.
        self.scheduler.add_job(
            self._publish, "date", run_date=now + _PUBLISH_DELAY, id="publish", replace_existing=True
        )

    def _publish(self) -> None:
        changed = self.service.publish_feeds()
        log.info("event=published changed=%d", changed)

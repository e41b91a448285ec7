"""Scheduling: first runs staggered, a restart follows the stored last fetch instead of refetching."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.schedule import Schedule
from feedsvc.service import Service
from feedsvc.settings import Settings
from feedsvc.store import Claim


def test_first_runs_are_staggered_and_restarts_follow_last_fetch(
    demo_settings: Callable[[], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = Service(demo_settings())
    # The claim tick may lease the first fresh source (due within a second) before the schedule is read
    # here; a run of it would move its next run an interval on. Claimed runs do nothing in this test.
    monkeypatch.setattr(service, "run_claimed", lambda claim: None)
    names = [s.name for s in service.settings.sources]
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    state = service.store.source_state(names[0])
    service.store.save_source_state(replace(state, last_fetch=last))
    schedule = Schedule(service)
    schedule.start()
    try:
        runs = schedule.next_runs()
        now = datetime.now(UTC)
        assert set(runs) == set(names)
        followed = runs[names[0]]
        assert followed is not None and timedelta(minutes=9) < followed - now <= timedelta(minutes=11)
        fresh = sorted(r for n, r in runs.items() if n != names[0] and r is not None)
        assert all(r - now < timedelta(seconds=10) for r in fresh)
        assert fresh[1] - fresh[0] >= timedelta(milliseconds=500)  # staggered, not all at once
    finally:
        schedule.stop()
        service.close()


def test_renewing_reports_only_leases_lost_by_runs_still_going(
    demo_settings: Callable[[], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(demo_settings())
    schedule = Schedule(service)
    try:
        service.ensure_schedule()
        now = datetime.now(UTC) + timedelta(minutes=30)  # every source due
        names = [s.name for s in service.settings.sources]
        ended, lost = service.store.claim_due(service.owner, names, now, service.settings.lease, 2)
        schedule._running = {ended.source: ended, lost.source: lost}
        service.release(lost)  # its lease is gone while its run goes on (as when it ran out)
        renew = service.store.renew

        def ends_meanwhile(claims: Sequence[Claim], at: datetime, lease: float) -> list[str]:
            service.release(ended)  # this run ends between the renewer's look and its update
            schedule._running.pop(ended.source)
            return renew(claims, at, lease)

        service.store.renew = ends_meanwhile  # type: ignore[method-assign]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="feedsvc"):
            schedule._renew()
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warned == [f"event=lease_lost source={lost.source}"]
    finally:
        service.close()

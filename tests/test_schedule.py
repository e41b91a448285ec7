"""Scheduling: first runs staggered, a restart follows the stored last fetch instead of refetching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from feedsvc.schedule import Schedule
from feedsvc.service import Service
from feedsvc.settings import Settings


def test_first_runs_are_staggered_and_restarts_follow_last_fetch(
    demo_settings: Callable[[], Settings],
) -> None:
    service = Service(demo_settings())
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

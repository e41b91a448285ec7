"""Composition root: create_app(settings) wires the service, the scheduler and the web routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from feedsvc.reload import Reloader
from feedsvc.schedule import Schedule
from feedsvc.service import Service
from feedsvc.settings import Settings
from feedsvc.web import WebApp, create_web


def create_app(settings: Settings, *, schedule: bool = True, role: str = "all") -> WebApp:
    """``role``: all (everything in one process), worker (claims sources, dedups, publishes while it
    leads) or web (serves the feeds the publisher stored; no scheduler, no index)."""
    service = Service(settings, role=role)
    service.start()
    app = create_web(service)
    scheduler = Schedule(service) if schedule and role != "web" else None
    reloader = Reloader(service, scheduler)  # `feedsvc serve` sends it SIGHUP
    stop = threading.Event()
    # Several processes share a PostgreSQL store: follow the feeds the publisher stores (LISTEN/NOTIFY).
    watcher = (
        threading.Thread(target=service.watch_feeds, args=(stop,), name="feed-watch", daemon=True)
        if not service.store.embedded
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        if watcher is not None:
            watcher.start()
        reloader.start()
        try:
            yield
        finally:
            stop.set()
            reloader.stop(timeout=settings.stop_timeout / 4)
            if scheduler is not None:
                scheduler.stop(timeout=settings.stop_timeout / 2)
            if watcher is not None:
                watcher.join(timeout=settings.stop_timeout / 4)
            service.close()

    app.router.lifespan_context = lifespan
    app.state.service = service
    app.state.reloader = reloader
    return app

"""Composition root: create_app(settings) wires the service, the scheduler and the web routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from feedsvc.schedule import Schedule
from feedsvc.service import Service
from feedsvc.settings import Settings
from feedsvc.web import create_web


def create_app(settings: Settings, *, schedule: bool = True) -> Starlette:
    service = Service(settings)
    service.start()
    app = create_web(service)
    scheduler = Schedule(service) if schedule else None

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop(timeout=settings.stop_timeout / 2)
            service.close()

    app.router.lifespan_context = lifespan
    app.state.service = service
    return app

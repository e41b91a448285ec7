"""The app `feedsvc serve` runs from its first moment: it answers the published feeds at once while the
service (store, dedup index, scheduler, routes) is built in a thread, then hands every request to it.

Until the service is built, a feed request is answered from the :class:`~feedsvc.snapshot.Snapshot` only
when the answer is the built service's own (feedreply.QuickReplies: the feed is configured, the tokens open
it, one of its sources is known to have succeeded, its bytes are the ones the service will serve); every
other request waits for the service and gets its answer. /healthz answers at once (the process is alive),
/readyz says 503 "starting" (nothing is ready that the service would report ready). A SIGHUP meanwhile is
applied once the service runs; the answers given meanwhile are counted in its metrics when it takes over.
A stop (SIGTERM) while the service is built does not wait for it: nothing of it runs yet (no scheduler, no
fetch), and its thread closes what it built. A build that fails stops the server; `serve` reports why.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from feedsvc.feedreply import FEED_EXTS, PreparedFeed, QuickReplies, Reply, max_age, sources_to_prove
from feedsvc.models import FeedSpec
from feedsvc.settings import Settings
from feedsvc.snapshot import Snapshot

_TEXT = (b"content-type", b"text/plain; charset=utf-8")


class Built(Protocol):
    """What the service's app offers (feedsvc.app.create_app's): an ASGI app that answers some requests
    at once, with its lifespan (scheduler, reloader...), its reloader and its service's metrics."""

    state: Any
    router: Any

    def answer_now(self, scope: Any) -> Reply | None: ...

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


def _text(status: int, text: str, method: str) -> Reply:
    body = text.encode("utf-8")
    headers = [(b"content-length", str(len(body)).encode("latin-1")), _TEXT]
    return Reply(status, headers, b"" if method == "HEAD" else body)


class EarlyApp:
    """ASGI app: early answers from ``snapshot`` (None: none but /healthz and /readyz), and from the app
    ``build()`` returns (called in a thread at start-up) once it has started. ``failed`` is called on the
    event loop if the build raises; :attr:`failure` holds the exception."""

    def __init__(
        self,
        build: Callable[[], Built],
        settings: Settings,
        snapshot: Snapshot | None,
        failed: Callable[[], None] = lambda: None,
    ) -> None:
        self._build = build
        self._failed = failed
        self._token = settings.token
        self._specs = {spec.name: spec for spec in settings.all_feeds()}
        self._sources = {source.name for source in settings.sources}
        self._succeeded = snapshot.succeeded if snapshot is not None else frozenset()
        ttl = max_age(source.interval for source in settings.sources)
        feeds = snapshot.feeds if snapshot is not None else {}
        self._prepared = {name: PreparedFeed(feed, ttl) for name, feed in feeds.items()}
        self._feeds = QuickReplies(self._spec, lambda: self._token, self._waits, self._prepared.get)
        self.app: Built | None = None  # the service's app, once it runs
        self.failure: Exception | None = None
        self._ready: asyncio.Event | None = None  # set when the app runs, or failed
        self._early_statuses: Counter[int] = Counter()
        self._reload_pending = False

    # -- answers -------------------------------------------------------------------------------------

    def _spec(self, name: str, ext: str) -> FeedSpec | None:
        return self._specs.get(name) if ext in FEED_EXTS else None

    def _waits(self, spec: FeedSpec) -> bool:
        return bool(sources_to_prove(spec, self._sources, self._succeeded))

    def _early(self, scope: Any) -> Reply | None:
        """The answer the built service would give, when it can be given now; None: wait for it."""
        reply: Reply | None
        if scope["path"] in ("/healthz", "/readyz") and scope["method"] in ("GET", "HEAD"):
            if scope["path"] == "/healthz":
                reply = _text(200, "ok\n", scope["method"])
            else:
                reply = _text(503, "starting: the service is being built\n", scope["method"])
        else:
            reply = self._feeds(scope)
        if reply is not None:
            self._early_statuses[reply.status] += 1
        return reply

    def answer_now(self, scope: Any) -> Reply | None:
        """feedsvc.server's fast path: the service's answers once it runs, the early ones before."""
        app = self.app
        if app is not None:
            return app.answer_now(scope)
        return self._early(scope)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is None and scope["type"] == "http":
            reply = self._early(scope)
            if reply is None and (found := self._needs_gzip(scope)) is not None:
                await asyncio.get_running_loop().run_in_executor(None, found.make_gzip)
                reply = self._early(scope) if self.app is None else None
            if reply is not None:
                await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
                await send({"type": "http.response.body", "body": reply.body})
                return
        if self.app is None:
            assert self._ready is not None, "requests come after the lifespan's start-up"
            await self._ready.wait()
        if self.app is None:  # the server is stopping (asked to, or the build failed)
            why = "is stopping" if self.failure is None else "failed to start"
            reply = _text(503, f"the service {why}\n", scope.get("method", "GET"))
            await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
            await send({"type": "http.response.body", "body": reply.body})
            return
        await self.app(scope, receive, send)

    def _needs_gzip(self, scope: Any) -> PreparedFeed | None:
        """The early feed whose gzip bytes a request asks for before they are made (made off the loop)."""
        path = scope.get("path", "")
        if not path.startswith("/feeds/"):
            return None
        found = self._prepared.get(path.removeprefix("/feeds/"))
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-encoding"), "")
        return found if found is not None and found.needs_gzip(accept) else None

    # -- reloads -------------------------------------------------------------------------------------

    def request(self) -> None:
        """A reload asked for (SIGHUP): passed on to the service's reloader, or kept until it runs. (The
        signal handler and the take-over both run on the main thread, so this needs no lock.)"""
        app = self.app
        if app is None:
            self._reload_pending = True
        else:
            app.state.reloader.request()

    # -- the service's life --------------------------------------------------------------------------

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        self._ready = asyncio.Event()
        built = self._build_in_thread(asyncio.get_running_loop())
        async with contextlib.AsyncExitStack() as running:
            starting = asyncio.create_task(self._start(built, running))
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            if not built.done():
                # Stopped while the service is built: none of it runs yet, so the stop does not wait
                # for it (its thread closes what it built; a kill at this point is as safe).
                starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        await send({"type": "lifespan.shutdown.complete"})

    def _build_in_thread(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Built]:
        """The service's app, built in a daemon thread (a stop meanwhile cancels the future)."""
        future: asyncio.Future[Built] = loop.create_future()

        def settle(app: Built | None, error: Exception | None) -> None:
            if future.cancelled():
                if app is not None:
                    app.state.service.close()
            elif app is not None:
                future.set_result(app)
            else:
                future.set_exception(error or RuntimeError("no app built"))

        def run() -> None:
            app, error = None, None
            try:
                app = self._build()
            except Exception as exc:  # the server stops, and `serve` reports it
                error = exc
            try:
                loop.call_soon_threadsafe(settle, app, error)
            except RuntimeError:  # the event loop is closed: `serve` is exiting
                if app is not None:
                    app.state.service.close()

        threading.Thread(target=run, name="build-service", daemon=True).start()
        return future

    async def _start(self, built: asyncio.Future[Built], running: contextlib.AsyncExitStack) -> None:
        assert self._ready is not None
        try:
            app = await built
            await running.enter_async_context(app.router.lifespan_context(app))
        except asyncio.CancelledError:
            self._ready.set()
            raise
        except Exception as exc:  # the server stops, and `serve` reports it
            self.failure = exc
            self._ready.set()
            self._failed()
            return
        metrics = app.state.service.metrics
        for status, count in self._early_statuses.items():
            metrics.http_requests.labels(str(status)).inc(count)
        self.app = app
        pending, self._reload_pending = self._reload_pending, False
        if pending:
            app.state.reloader.request()
        self._ready.set()

"""HTTP routes (Starlette): feeds with conditional GET and gzip, OPML, and the HTML pages (Jinja2
templates in ``feedsvc/templates``, autoescaped); private feeds and 503s decided in ``feedsvc.access``."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from feedsvc.access import (
    CHALLENGE,
    matching_token,
    may_read,
    presented_tokens,
    required_token,
    token_matches,
    unavailable,
)
from feedsvc.errors import FeedsvcError
from feedsvc.feedreply import CORS, FEED_EXTS, PreparedFeed, QuickReplies, Reply, max_age, sources_to_prove
from feedsvc.metrics import CONTENT_TYPE as METRICS_TYPE
from feedsvc.metrics import Metrics
from feedsvc.models import Cluster, Copy, FeedSpec, Source
from feedsvc.publish import absolute_url
from feedsvc.service import Service
from feedsvc.settings import Settings
from feedsvc.store import SourceState

TEMPLATES = Path(__file__).parent / "templates"


def ago(dt: datetime, now: datetime) -> str:
    """A time in a reader's terms: "just now", "5 minutes ago", "in 2 hours", "3 days ago"."""
    seconds = (now - dt).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * 0.95 or unit == "minute":
            n = max(1, round(seconds / size))
            words = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"in {words}" if future else f"{words} ago"
    raise AssertionError("unreachable")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescapes .html templates
    templates.env.filters.update(ago=ago, iso=_iso, utc=_utc)
    return templates


@lru_cache(maxsize=256)
def _feed_facts(content: bytes) -> tuple[int, datetime | None]:
    """Entry count and newest entry change of a published JSON Feed (what a subscriber gets)."""
    try:
        items = json.loads(content).get("items", [])
        stamps = [datetime.fromisoformat(i["date_modified"]) for i in items if i.get("date_modified")]
    except (ValueError, TypeError, AttributeError, KeyError):
        return 0, None
    return len(items), max(stamps, default=None)


@dataclass(frozen=True)
class FeedRow:
    name: str
    title: str
    links: dict[str, str]
    count: int | None  # None: not published yet
    updated: datetime | None


def display_title(spec: FeedSpec) -> str:
    """A feed's title for people: its configured title, or its name in words when it has none."""
    if spec.title != spec.name:
        return spec.title
    words = spec.name.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else spec.name


def outlet_copies(cluster: Cluster) -> list[Copy]:
    """One copy per outlet, in the order the outlets published (no page-given time: last, by when
    feedsvc first saw it); for an outlet with several copies, its earliest."""
    far = datetime.max.replace(tzinfo=UTC)
    seen: set[str] = set()
    result = []
    for copy in sorted(cluster.copies, key=lambda c: (c.published or far, c.first_seen, c.key)):
        name = copy.outlet or "Unknown outlet"
        if name.casefold() in seen:
            continue
        seen.add(name.casefold())
        result.append(copy)
    return result


def opml_document(
    specs: list[tuple[str, list[FeedSpec]]], feed_url: Callable[[FeedSpec], str], public_url: str, title: str
) -> str:
    """OPML 2.0: one outline per feed, grouped in folders when there is more than one group."""

    def outline(spec: FeedSpec) -> str:
        name = html.escape(display_title(spec))
        return (
            f'<outline type="rss" text="{name}" title="{name}" xmlUrl="{html.escape(feed_url(spec))}" '
            f'htmlUrl="{html.escape(public_url)}/"/>'
        )

    groups = [(heading, members) for heading, members in specs if members]
    if len(groups) == 1:
        body = "".join(outline(s) for s in groups[0][1])
    else:
        body = "".join(
            f'<outline text="{html.escape(heading)}" title="{html.escape(heading)}">'
            + "".join(outline(s) for s in members)
            + "</outline>"
            for heading, members in groups
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head>'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></opml>\n"
    )


def status_row(name: str, state: SourceState | None, now: datetime) -> dict[str, Any]:
    """One source on the status page: a badge (ok, failing, waiting for its first fetch) and its times."""
    st = state or SourceState(name=name)
    if st.last_error:
        badge, label = "failing", f"failing ×{st.failures}" if st.failures > 1 else "failing"
    elif st.last_success:
        badge, label = "ok", "ok"
    else:
        badge, label = "pending", "waiting"
    backoff = f"retrying {ago(st.backoff_until, now)}" if st.backoff_until and st.backoff_until > now else ""
    return {
        "name": name,
        "state": badge,
        "label": label,
        "last_fetch": st.last_fetch,
        "last_success": st.last_success,
        "next_run": st.next_run,
        "stories": st.stories,
        "error": st.last_error,
        "backoff": backoff,
    }


class _CountStatuses:
    """ASGI middleware counting responses by status code for /metrics."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http_requests.labels(str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


class _ReplyResponse(Response):
    """A prepared :class:`Reply` as a Starlette response (its header list is already what Response
    would build)."""

    def __init__(self, reply: Reply) -> None:
        self.status_code = reply.status
        self.body = reply.body
        self.background = None
        self.raw_headers = list(reply.headers)  # MutableHeaders edits it in place: never the shared list


class WebApp(Starlette):
    """Starlette with a fast path: the function given to :meth:`fast_path` answers the requests it can
    (a feed's 200s and 304s) before any middleware or routing, counted in the metrics as the middleware
    counts them; whatever it declines (None) goes through the whole stack. The HTTP server calls
    :meth:`answer_now` itself, before making an ASGI task (feedsvc.server); other servers reach it here."""

    _fast: Callable[[dict[str, Any]], Reply | None] | None = None

    def fast_path(self, answer: Callable[[dict[str, Any]], Reply | None] | None, metrics: Metrics) -> None:
        """Answer with ``answer`` first (None: every request goes through the stack)."""
        self._fast = answer
        self._metrics = metrics
        self._counters: dict[int, Any] = {}

    def answer_now(self, scope: Any) -> Reply | None:
        """The fast path's answer to an HTTP request, counted; None: the app must be called."""
        if self._fast is None:
            return None
        try:
            reply = self._fast(scope)
        except Exception:  # the route answers it, and reports the error as a 500
            return None
        if reply is not None:
            self._count(reply.status)
        return reply

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            reply = self.answer_now(scope)
            if reply is not None:
                await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
                await send({"type": "http.response.body", "body": reply.body})
                return
        await super().__call__(scope, receive, send)

    def _count(self, status: int) -> None:
        counter = self._counters.get(status)
        if counter is None:
            counter = self._counters[status] = self._metrics.http_requests.labels(str(status))
        counter.inc()


def _with_token(url: str, token: str | None) -> str:
    return f"{url}?token={quote(token, safe='')}" if token else url


def unauthorized(cors: bool = False) -> Response:
    """401 with the Basic challenge; it never says whether the token was missing or wrong."""
    headers = {"WWW-Authenticate": CHALLENGE, "Cache-Control": "no-store"}
    if cors:
        headers.update(CORS)
    text = "private: give the access token as the HTTP Basic password (any user name) or as ?token=\n"
    return PlainTextResponse(text, status_code=401, headers=headers)


def not_yet(reason: str, retry_after: int) -> Response:
    """503 for a feed that cannot be served yet, with when to ask again (RFC 9110 10.2.3)."""
    headers = {"Retry-After": str(max(1, retry_after)), "Cache-Control": "no-store", **CORS}
    return PlainTextResponse(f"{reason}\n", status_code=503, headers=headers)


class _SpecCache:
    """The configured feeds and sources by name, rebuilt when the service's settings are replaced."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._for: Settings | None = None
        self.feeds: dict[str, FeedSpec] = {}
        self.sources: dict[str, Source] = {}

    def current(self) -> _SpecCache:
        settings = self.service.settings
        if settings is not self._for:
            self.feeds = {spec.name: spec for spec in self.service.feed_specs()}
            self.sources = {source.name: source for source in settings.sources}
            self._for = settings
        return self


def create_web(service: Service) -> WebApp:
    ctx = service.context
    feed_max_age = max_age(s.interval for s in service.settings.sources)
    configured = _SpecCache(service)
    succeeded: set[str] = set()  # sources seen with a success: they never make a feed wait again

    def presented(request: Request) -> tuple[str, ...]:
        return presented_tokens(request.headers.get("authorization"), request.query_params.getlist("token"))

    def service_token_ok(request: Request) -> bool:
        """Pages (index, OPML, stories, status, metrics) need the service-wide token when one is set."""
        return token_matches(service.settings.token or None, presented(request))

    def source_states(names: list[str]) -> dict[str, SourceState]:
        states = {name: service.store.source_state(name) for name in names}
        succeeded.update(name for name, st in states.items() if st.last_success is not None)
        return states

    def served_spec(name: str, ext: str) -> FeedSpec | None:
        """The configured feed ``name`` when ``ext`` is a feed format (a removed source's stored feed is
        not served: None)."""
        spec = configured.current().feeds.get(name) if ext in FEED_EXTS else None
        return spec if spec is not None and service.serves(name) else None

    def sources_to_ask(spec: FeedSpec) -> list[str]:
        """The feed's configured sources when none of them is known to have succeeded (the store says
        whether the feed must wait), else none."""
        return sources_to_prove(spec, configured.current().sources, succeeded)

    async def waiting(spec: FeedSpec) -> Response | None:
        """503 while every source of the feed has never succeeded (state from the store: any role)."""
        names = sources_to_ask(spec)
        if not names:
            return None
        try:
            states = await run_in_threadpool(source_states, names)
        except FeedsvcError:  # the store is unreachable: serve what this process holds
            return None
        verdict = unavailable(spec, configured.current().sources, states, datetime.now(UTC))
        return not_yet(verdict.reason, verdict.retry_after) if verdict else None

    prepared: dict[str, PreparedFeed] = {}

    def prepared_feed(filename: str) -> PreparedFeed | None:
        """The published feed with its answers prepared, once per version (the publisher hands out a
        new Feed object for every version)."""
        found = service.publisher.get(filename)
        if found is None:
            prepared.pop(filename, None)
            return None
        ready = prepared.get(filename)
        if ready is None or ready.feed is not found:
            ready = prepared[filename] = PreparedFeed(found, feed_max_age)
        return ready

    async def feed(request: Request) -> Response:
        name, ext = request.path_params["name"], request.path_params["ext"]
        spec = served_spec(name, ext)
        if spec is None:
            return PlainTextResponse(f"no feed named {name}.{ext}\n", status_code=404)
        required = required_token(spec, service.settings.token)
        if required is not None and not token_matches(required, presented(request)):
            return unauthorized(cors=True)
        refusal = await waiting(spec)
        if refusal is not None:
            return refusal
        ready = prepared_feed(f"{name}.{ext}")
        if ready is None:
            retry = max(1, math.ceil(service.settings.publish_interval))
            return not_yet(f"feed {name!r} is not published yet; try again in {retry} s", retry)
        accept_encoding = request.headers.get("accept-encoding", "")
        if ready.needs_gzip(accept_encoding):
            await run_in_threadpool(ready.make_gzip)  # a large feed takes milliseconds: off the event loop
        reply = ready.reply(
            request.method,
            accept_encoding,
            request.headers.get("if-none-match"),
            request.headers.get("if-modified-since"),
            private=required is not None,
        )
        return _ReplyResponse(reply)

    # What ``feed`` answers, for the requests it answers from memory (see feedreply.QuickReplies): None
    # for every other request (404, 401, 503, the first gzip request): the route answers.
    fast_feed = QuickReplies(
        served_spec, lambda: service.settings.token, lambda spec: bool(sources_to_ask(spec)), prepared_feed
    )

    templates = _templates()

    def page_base() -> dict[str, str]:
        """What every page's frame needs. Pages of a private service are shown only to a visitor who gave
        the service token, so its links carry it on (a visitor who gave it as ?token= keeps access)."""
        token = service.settings.token
        return {
            "public_url": ctx.public_url,
            "token_query": f"?token={quote(token, safe='')}" if token else "",
        }

    def groups(tokens: tuple[str, ...]) -> list[tuple[str, list[FeedSpec]]]:
        """The feeds as a person sees them: everything, one per source, then the configured ones; only
        those ``tokens`` open (a private feed is not even named to someone without its token)."""
        sources = {s.name for s in service.settings.sources}
        everything, per_source, topics = [], [], []
        for spec in service.feed_specs():
            if not may_read(spec, service.settings.token, tokens):
                continue
            if spec.name == "all":
                everything.append(spec)
            elif spec.sources == (spec.name,) and spec.name in sources:
                per_source.append(spec)
            else:
                topics.append(spec)
        return [("Everything", everything), ("By source", per_source), ("Topics", topics)]

    def feed_link(tokens: tuple[str, ...]) -> Callable[[FeedSpec, str], str]:
        """Links to a feed for a visitor: a private one carries the token the visitor gave, so the
        address can be copied into a reader as it is (feeds' own self links never carry one)."""

        def link(spec: FeedSpec, ext: str = "atom") -> str:
            token = matching_token(spec, service.settings.token, tokens)
            return _with_token(ctx.feed_url(spec.name, ext), token)

        return link

    def row(spec: FeedSpec, link: Callable[[FeedSpec, str], str]) -> FeedRow:
        links = {ext: link(spec, ext) for ext in FEED_EXTS}
        published = service.publisher.get(f"{spec.name}.json")
        count, updated = _feed_facts(published.content) if published else (None, None)
        return FeedRow(spec.name, display_title(spec), links, count, updated)

    async def index(request: Request) -> Response:
        if not service_token_ok(request):
            return unauthorized()
        tokens = presented(request)
        link = feed_link(tokens)
        listed = [
            {"heading": h, "feeds": [row(s, link) for s in members]}
            for h, members in groups(tokens)
            if members
        ]
        everything = next((s for s in service.feed_specs() if s.name == "all"), None)
        own = service.settings.token or None  # the visitor gave it (checked above): links carry it on
        opml_url = _with_token(f"{ctx.public_url}/feeds.opml", own)
        context = {
            **page_base(),
            "groups": listed,
            "now": datetime.now(UTC),
            "opml_url": opml_url,
            "opml_all_url": f"{opml_url}{'&' if own else '?'}all=1",
            "all_title": display_title(everything) if everything else "All stories",
        }
        return templates.TemplateResponse(request, "index.html", context)

    async def opml(request: Request) -> Response:
        if not service_token_ok(request):
            return unauthorized(cors=True)
        # Importing every outline must never show a story twice, so by default only `all` is offered
        # (every other feed is a subset of it); ?all=1 lists every feed, in folders, to pick from.
        full = request.query_params.get("all", "").lower() in ("1", "true", "yes")
        tokens = presented(request)
        listed = groups(tokens)
        if full:
            title = "feedsvc: every feed (they overlap: pick some, or use All stories alone)"
        else:
            listed = [(h, m) for h, m in listed if h == "Everything" and m] or listed[1:2]
            title = "feedsvc: all stories"
        link = feed_link(tokens)
        doc = opml_document(listed, lambda spec: link(spec, "atom"), ctx.public_url, title)
        # Links that carry a token are for this visitor only: no shared cache may keep them.
        tokened = any(matching_token(s, service.settings.token, tokens) for _, m in listed for s in m)
        headers = {**CORS, **({"Cache-Control": "private, no-store"} if tokened else {})}
        return Response(doc, media_type="text/x-opml; charset=utf-8", headers=headers)

    def story(request: Request) -> Response:  # sync: reads the store, so Starlette runs it in a thread
        if not service_token_ok(request):
            return unauthorized()
        cluster, survivor = service.store.cluster(request.path_params["id"])
        if survivor is not None:
            return RedirectResponse(ctx.story_url(survivor), status_code=301)
        if cluster is None:
            return PlainTextResponse("no such story\n", status_code=404)
        canonical = cluster.canonical
        outlets = [
            {
                "outlet": c.outlet or "Unknown outlet",
                "url": absolute_url(c.url),
                "published": c.published,
                "title": c.title,
            }
            for c in outlet_copies(cluster)
        ]
        context = {
            **page_base(),
            "title": canonical.title,
            "body": canonical.body,
            "image": absolute_url(cluster.image),
            "published": cluster.published,
            "outlets": outlets,
            "source_outlet": canonical.outlet if len(outlets) > 1 else None,
            "now": datetime.now(UTC),
        }
        return templates.TemplateResponse(request, "story.html", context)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def readyz(request: Request) -> Response:
        problems = service.not_ready()
        if problems:
            return PlainTextResponse("".join(f"{p}\n" for p in problems), status_code=503)
        return PlainTextResponse("ready\n")

    def status(request: Request) -> Response:
        if not service_token_ok(request):
            return unauthorized()
        now = datetime.now(UTC)
        tokens = presented(request)
        link = feed_link(tokens)
        feeds = configured.current().feeds
        states = service.source_states()
        rows = [status_row(source.name, states.get(source.name), now) for source in service.settings.sources]
        for r in rows:
            spec = feeds.get(str(r["name"]))
            readable = spec is not None and may_read(spec, service.settings.token, tokens)
            r["feed_url"] = link(spec, "atom") if spec is not None and readable else None
        counts = service.store.counts()
        tally = {state: sum(r["state"] == state for r in rows) for state in ("ok", "failing", "pending")}
        context = {
            **page_base(),
            "rows": rows,
            "counts": tally,
            "stories": counts["clusters"],
            "copies": counts["copies"],
            "now": now,
        }
        return templates.TemplateResponse(request, "status.html", context)

    async def metrics(request: Request) -> Response:
        if not service_token_ok(request):
            return unauthorized()
        return Response(service.metrics.render(), media_type=METRICS_TYPE)

    app = WebApp(
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/feeds/{name}.{ext}", feed, methods=["GET", "HEAD"]),
            Route("/feeds.opml", opml, methods=["GET", "HEAD"]),
            Route("/stories/{id}", story, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/status", status, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
    # Starlette's trailing-slash redirect builds its Location from the request's Host header; a feed
    # server's absolute URLs come from public_url only, so unknown paths are plain 404s.
    app.router.redirect_slashes = False
    app.add_middleware(_CountStatuses, metrics=service.metrics)
    app.fast_path(fast_feed, service.metrics)
    return app

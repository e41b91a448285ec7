"""HTTP routes (Starlette): feeds with conditional GET and gzip, the HTML index, OPML, story pages."""

from __future__ import annotations

import gzip
import html
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from feedsvc.metrics import CONTENT_TYPE as METRICS_TYPE
from feedsvc.metrics import Metrics
from feedsvc.models import Feed
from feedsvc.publish import http_validators
from feedsvc.service import Service

_FEED_EXTS = {"atom", "rss", "json"}


@lru_cache(maxsize=64)
def _gzipped(content: bytes) -> bytes:
    return gzip.compress(content, compresslevel=6, mtime=0)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    base = etag.strip('"')
    return etag in wanted or f'"{base}-gzip"' in wanted


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110 12.5.3): named or covered by "*" with a
    non-zero quality; "gzip;q=0" refuses it."""
    qualities: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip():
            qualities[coding.strip()] = quality
    if "gzip" in qualities or "x-gzip" in qualities:
        return max(qualities.get("gzip", 0.0), qualities.get("x-gzip", 0.0)) > 0
    return qualities.get("*", 0.0) > 0


def feed_response(request: Request, feed: Feed, max_age: int) -> Response:
    headers = http_validators(feed)
    use_gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
    if use_gzip:
        headers["ETag"] = f'"{feed.etag.strip(chr(34))}-gzip"'
    headers["Cache-Control"] = f"public, max-age={max_age}"
    headers["Vary"] = "Accept-Encoding"
    inm = request.headers.get("if-none-match")
    ims = request.headers.get("if-modified-since")
    if (inm is not None and _etag_matches(inm, feed.etag)) or (
        inm is None and ims is not None and _not_modified_since(ims, feed.last_modified)
    ):
        return Response(status_code=304, headers=headers)
    body = _gzipped(feed.content) if use_gzip else feed.content
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=feed.media_type)
    return Response(body, status_code=200, headers=headers, media_type=feed.media_type)


def _page(title: str, body: str, head: str = "") -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>{head}<style>"
        "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"
        "li{margin:.3rem 0}.meta{color:#555;font-size:.9em}</style></head>"
        f"<body>{body}</body></html>"
    )


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


def create_web(service: Service) -> Starlette:
    ctx = service.context
    intervals = [s.interval for s in service.settings.sources] or [900.0]
    max_age = int(max(60, min(min(intervals), 3600)))

    async def feed(request: Request) -> Response:
        name, ext = request.path_params["name"], request.path_params["ext"]
        found = service.publisher.get(f"{name}.{ext}") if ext in _FEED_EXTS else None
        if found is None:
            return PlainTextResponse(f"no feed named {name}.{ext}\n", status_code=404)
        return feed_response(request, found, max_age)

    async def index(request: Request) -> Response:
        specs = service.feed_specs()
        links = "".join(
            f'<link rel="alternate" type="application/atom+xml" title="{html.escape(s.title)}" '
            f'href="{html.escape(ctx.feed_url(s.name))}">'
            for s in specs
        )
        items = "".join(
            f'<li><a href="{html.escape(ctx.feed_url(s.name))}">{html.escape(s.title)}</a> '
            f"<span class=meta>/feeds/{html.escape(s.name)}.atom</span></li>"
            for s in specs
        )
        body = (
            "<h1>feedsvc</h1><p>Deduplicated feeds of news-aggregator pages. Subscribe in any feed reader, "
            f'or import <a href="{html.escape(ctx.public_url)}/feeds.opml">all feeds as OPML</a>.</p>'
            f"<ul>{items}</ul>"
        )
        return HTMLResponse(_page("feedsvc", body, links))

    async def opml(request: Request) -> Response:
        outlines = "".join(
            f'<outline type="rss" text="{html.escape(s.title)}" title="{html.escape(s.title)}" '
            f'xmlUrl="{html.escape(ctx.feed_url(s.name))}" htmlUrl="{html.escape(ctx.public_url)}/"/>'
            for s in service.feed_specs()
        )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>feedsvc feeds</title>'
            f"</head><body>{outlines}</body></opml>\n"
        )
        return Response(doc, media_type="text/x-opml; charset=utf-8")

    def story(request: Request) -> Response:  # sync: reads the store, so Starlette runs it in a thread
        cluster, survivor = service.store.cluster(request.path_params["id"])
        if survivor is not None:
            return RedirectResponse(ctx.story_url(survivor), status_code=301)
        if cluster is None:
            return PlainTextResponse("no such story\n", status_code=404)
        canonical = cluster.canonical
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in canonical.body)
        copies = "".join(
            "<li>"
            + (f'<a href="{html.escape(c.url)}">' if c.url else "")
            + html.escape(c.outlet or "Unknown outlet")
            + ("</a>" if c.url else "")
            + f": {html.escape(c.title)}"
            + (f" <span class=meta>{c.published:%Y-%m-%d %H:%M} UTC</span>" if c.published else "")
            + "</li>"
            for c in cluster.copies
        )
        body = (
            f"<h1>{html.escape(canonical.title)}</h1>"
            f"<p class=meta>{html.escape(', '.join(cluster.outlets))} · first published "
            f"{cluster.published:%Y-%m-%d %H:%M} UTC</p>{paragraphs}"
            f"<h2>Carried by {len(cluster.copies)} cop{'y' if len(cluster.copies) == 1 else 'ies'}</h2>"
            f"<ul>{copies}</ul>"
        )
        return HTMLResponse(_page(canonical.title, body))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def readyz(request: Request) -> Response:
        missing = [s.name for s in service.feed_specs() if service.publisher.get(f"{s.name}.atom") is None]
        if not service.store.ping():
            return PlainTextResponse("store unreachable\n", status_code=503)
        if missing:
            return PlainTextResponse(f"not yet published: {', '.join(missing)}\n", status_code=503)
        return PlainTextResponse("ready\n")

    def status(request: Request) -> Response:
        rows = service.status()
        head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
        body_rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows
        )
        counts = service.store.counts()
        body = (
            f"<h1>feedsvc status</h1><p>{counts['clusters']} stories from {counts['copies']} copies.</p>"
            f"<table border=1 cellpadding=4><tr>{head}</tr>{body_rows}</table>"
        )
        return HTMLResponse(_page("feedsvc status", body))

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=METRICS_TYPE)

    app = Starlette(
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
    return app

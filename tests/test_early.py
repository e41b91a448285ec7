"""`feedsvc serve` answers the published feeds before its service is built (feedsvc.early, from
feedsvc.snapshot): byte for byte what the built service answers, only where it is sure, and without
importing what the service needs."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from feedsvc.app import create_app
from feedsvc.cli import main
from feedsvc.early import Built, EarlyApp
from feedsvc.errors import StoreError
from feedsvc.published import SIDECARS
from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings
from feedsvc.snapshot import Snapshot, read_snapshot, sqlite_file
from feedsvc.store import Store
from tests.conftest import DATA, ROOT, asgi_scope, write_config
from tests.ports import free_port

TOKEN = "s3cret-feed-token"
PRIVATE = (
    f'[[feeds]]\nname = "kyiv"\ntitle = "Kyiv watch"\nkeywords = ["Ukraine", "Kyiv"]\ntoken = "{TOKEN}"\n'
)
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A data directory and store with the feeds of an earlier run (what a restart finds)."""
    path = write_config(tmp_path, extra=PRIVATE)
    service = Service(load_settings(path, environ={}))
    try:
        service.start()
        assert all(r.ok for r in service.run_once())
    finally:
        service.close()
    return path


def _settings(config: Path, **environ: str) -> Settings:
    return load_settings(config, environ=environ)


async def _acall(app: Any, scope: dict[str, Any]) -> Answer:
    """One request through an ASGI app."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], list(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def _call(app: Any, scope: dict[str, Any]) -> Answer:
    return asyncio.run(_acall(app, scope))


@pytest.fixture
def built(config: Path) -> Iterator[Built]:
    app = create_app(_settings(config), schedule=False)
    yield app
    app.state.service.close()


def _early(config: Path, build: Callable[[], Built] | None = None, **environ: str) -> EarlyApp:
    settings = _settings(config, **environ)
    snapshot = read_snapshot(settings, "all")
    assert snapshot is not None
    return EarlyApp(build or (lambda: create_app(settings, schedule=False)), settings, snapshot)


def _feed_requests(settings: Settings, etag_of: Callable[[str], str]) -> list[dict[str, Any]]:
    """Every configured feed in every format, plain, gzipped, HEAD and conditional (by ETag, by date)."""
    scopes = []
    for spec in settings.all_feeds():
        query = f"?token={TOKEN}" if spec.token else ""
        for ext in ("atom", "rss", "json"):
            path = f"/feeds/{spec.name}.{ext}{query}"
            scopes += [
                asgi_scope(path),
                asgi_scope(path, method="HEAD"),
                asgi_scope(path, {"Accept-Encoding": "gzip, deflate"}),
                asgi_scope(path, {"If-None-Match": etag_of(f"{spec.name}.{ext}")}),
                asgi_scope(path, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
            ]
    return scopes


def test_early_answers_are_the_built_services_byte_for_byte(config: Path, built: Built) -> None:
    early = _early(config)
    publisher = built.state.service.publisher
    scopes = _feed_requests(_settings(config), lambda name: publisher.get(name).etag)
    for scope in scopes:
        reply = early.answer_now(scope)
        if reply is None:  # only the first gzip request of a feed: its bytes are made off the loop
            assert dict(scope["headers"]).get(b"accept-encoding", b"").startswith(b"gzip")
            answer = _call(early, scope)
        else:
            answer = (reply.status, reply.headers, reply.body)
        assert answer == _call(built, scope), scope
        assert answer[0] in (200, 304)
    assert {scope["path"] for scope in scopes} >= {"/feeds/all.atom", "/feeds/kyiv.json"}


def test_early_leaves_to_the_service_what_it_cannot_be_sure_of(config: Path, built: Built) -> None:
    """A private feed without its token, a feed of a source never fetched successfully, unknown paths,
    other methods and every page: the service answers them (401, 503, 404, 405...), the early app waits."""
    store = built.state.service.store
    store.save_source_state(replace(store.source_state("ukraine-security-talks"), last_success=None))
    early = _early(config)
    waits = {
        "/feeds/kyiv.atom": 401,
        "/feeds/kyiv.atom?token=wrong": 401,
        "/feeds/ukraine-security-talks.atom": 503,
        "/feeds/nothing.atom": 404,
        "/feeds/all.xml": 404,
        "/": 200,
        "/status": 200,
        "/feeds.opml": 200,
    }
    for path, status in waits.items():
        assert early.answer_now(asgi_scope(path)) is None, path
        assert _call(built, asgi_scope(path))[0] == status, path
    assert early.answer_now(asgi_scope("/feeds/all.atom", method="POST")) is None
    auth = "Basic " + base64.b64encode(f"me:{TOKEN}".encode()).decode()
    opened = early.answer_now(asgi_scope("/feeds/kyiv.atom", {"Authorization": auth}))
    assert opened is not None and (b"cache-control", b"private, max-age=900") in opened.headers
    assert opened.body == _call(built, asgi_scope("/feeds/kyiv.atom", {"Authorization": auth}))[2]
    alive = early.answer_now(asgi_scope("/healthz"))
    assert alive is not None and alive.status == 200 and alive.body == b"ok\n"
    ready = early.answer_now(asgi_scope("/readyz"))
    assert ready is not None and ready.status == 503 and b"starting" in ready.body


def test_no_snapshot_where_the_service_would_serve_other_bytes(config: Path, tmp_path: Path) -> None:
    assert read_snapshot(_settings(config), "all") is not None
    # another public URL: the feeds are rebuilt before they are served
    assert read_snapshot(_settings(config, FEEDSVC_PUBLIC_URL="https://feeds.example.org"), "all") is None
    # a web server serves the store's feeds, rebuilt or not, and never the files
    web = read_snapshot(_settings(config, FEEDSVC_PUBLIC_URL="https://feeds.example.org"), "web")
    assert web is not None and web.feeds.keys() == read_snapshot(_settings(config), "all").feeds.keys()  # type: ignore[union-attr]
    # no store yet, or not an SQLite file
    elsewhere = _settings(config, FEEDSVC_DATABASE_URL=f"sqlite:///{tmp_path}/none.db")
    assert read_snapshot(elsewhere, "all") is None
    assert sqlite_file("postgresql+psycopg://u:p@db/feedsvc") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:////srv/feedsvc.db") == Path("/srv/feedsvc.db")


def test_the_stores_newer_bytes_win_over_stale_files(config: Path) -> None:
    """A crash between storing a build and writing its files: the service serves the store's bytes."""
    settings = _settings(config)
    feed_file = settings.data_dir / "feeds" / "all.atom"
    meta = json.loads(feed_file.with_name(SIDECARS).read_text())["all.atom"]
    stored = read_snapshot(settings, "all")
    assert stored is not None
    feed_file.write_bytes(b"<feed/>")  # torn: no longer matches its sidecar, so the store's copy is taken
    again = read_snapshot(settings, "all")
    assert again is not None and again.feeds["all.atom"] == stored.feeds["all.atom"]
    assert meta["etag"] == stored.feeds["all.atom"].etag


def test_the_service_takes_over_with_its_lifespan_metrics_and_reloads(config: Path) -> None:
    """Requests the early app cannot answer wait for the service; once it runs (its lifespan entered),
    every request is its; the early answers are counted in its metrics; a reload asked for meanwhile
    reaches its reloader."""
    reloads: list[str] = []

    def build() -> Built:
        app = create_app(_settings(config), schedule=False)
        app.state.reloader.request = lambda: reloads.append("reload")
        return app

    early = _early(config, build)
    before = early.answer_now(asgi_scope("/feeds/all.atom"))
    starting = early.answer_now(asgi_scope("/readyz"))
    assert before is not None and before.status == 200 and starting is not None and starting.status == 503
    early.request()  # a SIGHUP while the service is built

    async def run() -> tuple[Answer, Answer]:
        events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        sent: list[dict[str, Any]] = []
        started = asyncio.Event()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            started.set()

        life = asyncio.create_task(early({"type": "lifespan"}, events.get, send))
        await events.put({"type": "lifespan.startup"})
        await started.wait()  # as uvicorn does before it accepts connections
        waited = await _acall(early, asgi_scope("/status"))  # waits for the service, then gets its page
        assert early.app is not None and sent == [{"type": "lifespan.startup.complete"}]
        after = await _acall(early, asgi_scope("/feeds/all.atom"))
        await events.put({"type": "lifespan.shutdown"})
        await life
        assert sent[-1] == {"type": "lifespan.shutdown.complete"}
        return waited, after

    waited, after = asyncio.run(run())
    assert waited[0] == 200 and b"putin-invites-trump" in waited[2] and early.failure is None
    assert after == (before.status, before.headers, before.body)
    assert reloads == ["reload"]
    metrics = early.app.state.service.metrics.render().decode()  # type: ignore[union-attr]
    assert 'feedsvc_http_requests_total{status="503"} 1.0' in metrics  # the early /readyz


def test_a_stop_while_the_service_is_built_does_not_wait_for_it(config: Path) -> None:
    """SIGTERM right after start (the early answers came at once): the server stops without waiting for
    the build; the service built afterwards is closed, never started."""
    release, closed = threading.Event(), threading.Event()

    class Unstarted:
        state = SimpleNamespace(service=SimpleNamespace(close=closed.set))
        router = SimpleNamespace(lifespan_context=None)  # never entered

        def answer_now(self, scope: Any) -> None:
            raise AssertionError("never serves")

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("never serves")

    def build() -> Built:
        release.wait()
        return Unstarted()

    early = _early(config, build)

    async def run() -> list[dict[str, Any]]:
        events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await events.put({"type": "lifespan.startup"})
        await events.put({"type": "lifespan.shutdown"})
        await early({"type": "lifespan"}, events.get, send)
        return sent

    assert asyncio.run(run()) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert early.app is None and early.failure is None and not closed.is_set()
    release.set()
    assert closed.wait(timeout=60)


def test_a_service_that_cannot_be_built_stops_serve_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = write_config(tmp_path, listen=f"127.0.0.1:{port}")
    config.write_text(config.read_text().replace("[service]\n", "[service]\nauto_migrate = false\n"))
    db = tmp_path / "db" / "feedsvc.db"
    db.parent.mkdir()
    shutil.copy(DATA / "legacy" / "feedsvc-0.1.db", db)
    with pytest.raises(StoreError, match="feedsvc migrate"):
        Store(f"sqlite:///{db}", migrate=False)
    assert main(["serve", "--config", str(config)]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("feedsvc: error:")]
    assert len(lines) == 1 and "run `feedsvc migrate` first" in lines[0], lines


def test_what_serve_answers_with_imports_nothing_the_service_needs(config: Path) -> None:
    """Everything `feedsvc serve` imports before its first answer, in a fresh interpreter: the early app
    answers the feed, and none of the service's libraries is loaded."""
    code = f"""
import sys
from feedsvc.cli import main  # noqa: F401 (what `feedsvc serve` runs)
from feedsvc.early import EarlyApp
from feedsvc.server import server_config
from feedsvc.settings import load_settings
from feedsvc.snapshot import read_snapshot

settings = load_settings({str(config)!r}, environ={{}})
app = EarlyApp(lambda: None, settings, read_snapshot(settings, "all"))
server_config(app, "127.0.0.1", 8080, 10.0).load()
reply = app.answer_now({{"type": "http", "method": "GET", "path": "/feeds/all.atom", "root_path": "",
                        "query_string": b"", "headers": []}})
heavy = ("sqlalchemy", "alembic", "starlette", "jinja2", "numpy", "datasketch", "httpx", "lxml",
         "feedgen", "trafilatura", "apscheduler", "prometheus_client", "feedsvc.store", "feedsvc.service")
print(reply.status if reply else None, [name for name in heavy if name in sys.modules])
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    assert done.stdout.split(maxsplit=1) == ["200", "[]\n"], done.stdout + done.stderr


def test_snapshot_type_is_what_early_reads(config: Path) -> None:
    snapshot = read_snapshot(_settings(config), "all")
    assert isinstance(snapshot, Snapshot)
    assert snapshot.succeeded == {"putin-invites-trump", "ukraine-security-talks", "habba-ruling-reaction"}
    names = {
        f"{spec.name}.{ext}" for spec in _settings(config).all_feeds() for ext in ("atom", "rss", "json")
    }
    assert names <= snapshot.feeds.keys()

"""The feed fast path (feedsvc.web's WebApp.answer_now, written at once by feedsvc.server's httptools
protocol) answers exactly what the routes answer, byte for byte, and leaves everything else to them."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import re
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient
from uvicorn.server import ServerState

from feedsvc.app import create_app
from feedsvc.feedreply import PreparedFeed, QuickReplies, sources_to_prove
from feedsvc.models import Feed, FeedSpec
from feedsvc.publish import MEDIA_TYPES
from feedsvc.server import GuardedHttpToolsProtocol, server_config
from feedsvc.settings import load_settings
from feedsvc.web import WebApp
from tests.conftest import asgi_scope, write_config
from tests.ports import free_port
from tests.transports import RecordingTransport

FEED_TOKEN = "fEEd-t0ken-2c1b"
PRIVATE_FEED = (
    '[[feeds]]\nname = "ukraine"\ntitle = "Kyiv watch"\nkeywords = ["Ukraine", "Kyiv", "Zelensky"]\n'
    f'token = "{FEED_TOKEN}"\n'
)


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"reader:{token}".encode()).decode()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[WebApp]:
    app = create_app(load_settings(write_config(tmp_path, extra=PRIVATE_FEED), environ={}), schedule=False)
    app.state.service.run_once()
    assert isinstance(app, WebApp)
    yield app
    app.state.service.close()


def _requests(app: WebApp) -> list[tuple[str, str, dict[str, str]]]:
    feed = app.state.service.publisher.get("all.atom")
    etag, modified = feed.etag, format_datetime(feed.last_modified, usegmt=True)
    older = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    gzip_etag = f'"{etag.strip(chr(34))}-gzip"'
    found = []
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/feeds/ukraine.atom"):
        for method in ("GET", "HEAD"):
            for encoding in ("identity", "gzip", "gzip;q=0, *", "br, *;q=0.5"):
                for conditional in (
                    {},
                    {"If-None-Match": etag},
                    {"If-None-Match": f'W/{gzip_etag}, "other"'},
                    {"If-None-Match": "*"},
                    {"If-None-Match": '"other"', "If-Modified-Since": modified},
                    {"If-Modified-Since": modified},
                    {"If-Modified-Since": older},
                    {"If-Modified-Since": "not a date"},
                ):
                    found.append((method, path, {"Accept-Encoding": encoding, **conditional}))
    token = f"/feeds/ukraine.atom?token={FEED_TOKEN}"
    found += [
        ("GET", token, {"Accept-Encoding": "gzip"}),
        ("GET", f"{token}&token=wrong", {}),
        ("GET", "/feeds/ukraine.atom", {"Authorization": _basic(FEED_TOKEN)}),
        ("GET", "/feeds/ukraine.atom", {"Authorization": _basic("wrong")}),
        ("GET", "/feeds/ukraine.atom?token=wrong", {"If-None-Match": "*"}),
        ("GET", "/feeds/nope.atom", {}),
        ("GET", "/feeds/all.exe", {}),
        ("GET", "/feeds/a/b.atom", {}),
        ("POST", "/feeds/all.atom", {}),
        ("GET", "/healthz", {}),
    ]
    return found


def test_the_fast_path_answers_exactly_as_the_routes(app: WebApp) -> None:
    requests = _requests(app)
    metrics = app.state.service.metrics
    with TestClient(app) as client:
        client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})  # the gzip bytes, as made once

        def answers() -> list[tuple[int, list[tuple[str, str]], bytes]]:
            found = []
            for method, path, headers in requests:
                r = client.request(method, path, headers=headers)
                found.append((r.status_code, r.headers.multi_items(), r.content))
            return found

        fast = answers()
        answered = [app.answer_now(asgi_scope(p, h, m)) is not None for m, p, h in requests]
        app.fast_path(None, metrics)
        assert all(app.answer_now(asgi_scope(p, h, m)) is None for m, p, h in requests)
        routed = answers()
    assert len(fast) == len(routed)
    for request, a, b in zip(requests, fast, routed, strict=True):
        assert a == b, request
    # Every feed 200 and 304 came from the fast path; 401, 404, 405 and the rest from the routes.
    for request, (status, _, _), was_fast in zip(requests, fast, answered, strict=True):
        assert was_fast == (status in (200, 304) and request[1].startswith("/feeds/")), (request, status)
    statuses = {status for status, _, _ in fast}
    assert {200, 304, 401, 404, 405} <= statuses


def test_the_first_gzip_answer_is_made_by_the_route_off_the_event_loop(app: WebApp) -> None:
    gzip_get = asgi_scope("/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert app.answer_now(asgi_scope("/feeds/all.atom")) is not None
    assert app.answer_now(gzip_get) is None  # not compressed yet: the route compresses in a thread
    with TestClient(app) as client:
        r = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    reply = app.answer_now(gzip_get)
    assert reply is not None and reply.status == 200
    assert reply.headers == [(k.encode(), v.encode()) for k, v in r.headers.multi_items()]


def test_a_new_feed_version_is_answered_at_once(app: WebApp) -> None:
    publisher = app.state.service.publisher
    first = app.answer_now(asgi_scope("/feeds/all.atom"))
    assert first is not None and first.body == publisher.get("all.atom").content
    changed = first.body.replace(b"</feed>", b"<!-- --></feed>")
    newer = publisher.publish("all.atom", MEDIA_TYPES["atom"], changed)
    second = app.answer_now(asgi_scope("/feeds/all.atom"))
    assert second is not None and second.body == newer.content != first.body
    assert (b"etag", newer.etag.encode()) in second.headers
    old_etag = dict(first.headers)[b"etag"].decode()
    stale = app.answer_now(asgi_scope("/feeds/all.atom", {"If-None-Match": old_etag}))
    assert stale is not None and stale.status == 200


def test_remembered_answers_go_with_their_feed_version(app: WebApp) -> None:
    publisher = app.state.service.publisher
    old = publisher.get("all.atom")
    for headers in ({}, {"If-None-Match": old.etag}, {"If-Modified-Since": "not a date"}):
        assert app.answer_now(asgi_scope("/feeds/all.atom", headers)) is not None
    gone = weakref.ref(old)
    publisher.publish("all.atom", MEDIA_TYPES["atom"], old.content.replace(b"</feed>", b"<!-- --></feed>"))
    del old
    assert app.answer_now(asgi_scope("/feeds/all.atom")) is not None
    gc.collect()
    assert gone() is None  # nothing holds the old version (nor its bytes) for what it answered


def test_requests_with_large_header_values_are_answered_but_not_remembered(app: WebApp) -> None:
    feed = app.state.service.publisher.get("all.atom")
    assert isinstance(feed, Feed)
    ready = PreparedFeed(feed, 900)
    spec = FeedSpec(name="all", title="All stories")
    quick = QuickReplies(lambda name, ext: spec, lambda: "", lambda spec: False, lambda filename: ready)
    small = quick(asgi_scope("/feeds/all.atom", {"If-None-Match": feed.etag}))
    assert small is not None and small.status == 304 and len(ready.replies) == 1
    for i in range(50):  # distinct large validators, as a client filling memory would send
        tag = f'"{i}{"x" * 4000}", {feed.etag}'
        large = quick(asgi_scope("/feeds/all.atom", {"If-None-Match": tag}))
        assert large is not None and large.status == 304
        since = quick(asgi_scope("/feeds/all.atom", {"If-Modified-Since": f"{i} {'y' * 4000}"}))
        assert since is not None and since.status == 200  # unreadable: the whole feed
    assert len(ready.replies) == 1 and not ready._fresh_since


def test_a_remembered_answer_follows_a_reload(tmp_path: Path) -> None:
    public = PRIVATE_FEED.replace(f'token = "{FEED_TOKEN}"\n', "")
    app = create_app(load_settings(write_config(tmp_path, extra=public), environ={}), schedule=False)
    service = app.state.service
    try:
        service.run_once()
        for _ in range(2):  # made, then remembered
            reply = app.answer_now(asgi_scope("/feeds/ukraine.atom"))
            assert reply is not None and (b"cache-control", b"public, max-age=900") in reply.headers
        service.reconfigure(load_settings(write_config(tmp_path, extra=PRIVATE_FEED), environ={}))
        assert app.answer_now(asgi_scope("/feeds/ukraine.atom")) is None  # the route says 401
        reply = app.answer_now(asgi_scope(f"/feeds/ukraine.atom?token={FEED_TOKEN}"))
        assert reply is not None and (b"cache-control", b"private, max-age=900") in reply.headers
        service.reconfigure(load_settings(write_config(tmp_path), environ={}))
        assert app.answer_now(asgi_scope(f"/feeds/ukraine.atom?token={FEED_TOKEN}")) is None  # 404
    finally:
        service.close()


def test_fast_answers_are_counted_like_the_others(app: WebApp) -> None:
    with TestClient(app) as client:
        etag = client.get("/feeds/all.atom").headers["etag"]
        for _ in range(3):
            assert client.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 304
        client.get("/feeds/nope.atom")
        text = client.get("/metrics").text
    assert 'feedsvc_http_requests_total{status="304"} 3.0' in text
    assert 'feedsvc_http_requests_total{status="200"} 1.0' in text
    assert 'feedsvc_http_requests_total{status="404"} 1.0' in text


# -- through the real server -------------------------------------------------------------------------------


@contextmanager
def _serving(app: WebApp, access_log: logging.Handler | None = None) -> Iterator[int]:
    """``app`` served by `feedsvc serve`'s server on 127.0.0.1 (its port); ``access_log``: a handler
    for uvicorn's access log (off by default, as in `feedsvc serve`)."""
    port = free_port()
    config = server_config(app, "127.0.0.1", port, stop_timeout=2)
    access = logging.getLogger("uvicorn.access")
    if access_log is not None:  # after the config, which clears the logger's handlers
        access.addHandler(access_log)
        access.setLevel(logging.INFO)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if access_log is not None:
            access.removeHandler(access_log)


def _read_answers(
    sock: socket.socket, count: int, head_only: frozenset[int] = frozenset()
) -> tuple[list[bytes], bytes]:
    """``count`` raw answers (head and body) from ``sock``, and whatever followed them before EOF or
    a 10 s timeout (answers numbered in ``head_only`` have no body: HEAD)."""
    data, answers = b"", []
    sock.settimeout(10)
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            length = re.search(rb"\r\ncontent-length: (\d+)", data[:end])
            size = 0 if length is None or len(answers) in head_only else int(length.group(1))
            if len(data) >= end + 4 + size:
                answers.append(data[: end + 4 + size])
                data = data[end + 4 + size :]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk
    return answers, data


def _without_date(answer: bytes) -> bytes:
    return re.sub(rb"\r\ndate: [^\r]*", b"", answer)


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
def test_the_server_writes_fast_answers_in_order_with_routed_ones(app: WebApp) -> None:
    with TestClient(app) as client:
        etag = client.get("/feeds/all.atom").headers["etag"]
    with _serving(app) as port:
        one = f"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            # Pipelined: a fast answer, a routed one, a fast HEAD, then fast again.
            sock.sendall(
                one
                + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                + b"HEAD /feeds/all.atom HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n"
                + one
            )
            (not_modified, health, head, again), _ = _read_answers(sock, 4, head_only=frozenset({2}))
            assert not_modified.startswith(b"HTTP/1.1 304 ")
            assert _without_date(again) == _without_date(not_modified)
            assert health.startswith(b"HTTP/1.1 200 ") and health.endswith(b"\r\n\r\nok\n")
            assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")
            assert b"\r\ncontent-length: " in head and b"\r\ncontent-type: application/atom+xml" in head
            # More complete requests in one read than a request head may hold: all answered, no 400.
            burst = 1000
            assert len(one) * burst > 16 * 1024
            sock.sendall(one * burst)
            answers, _ = _read_answers(sock, burst)
            assert {a.split(b"\r\n", 1)[0] for a in answers} == {b"HTTP/1.1 304 Not Modified"}
            # Queued behind a routed request: answered in turn, each at the same stack depth (by
            # recursion, a thousand of them reached the interpreter's limit and broke the connection).
            depths: list[int] = []
            answer = app._fast
            assert answer is not None

            def measured(scope: dict[str, Any]) -> Any:
                frame, depth = sys._getframe(), 0
                while frame is not None:
                    frame, depth = frame.f_back, depth + 1
                depths.append(depth)
                return answer(scope)

            app._fast = measured
            queued = 300
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + one * queued)
            answers, _ = _read_answers(sock, queued + 1)
            app._fast = answer
            assert answers[0].endswith(b"\r\n\r\nok\n")
            assert {a.split(b"\r\n", 1)[0] for a in answers[1:]} == {b"HTTP/1.1 304 Not Modified"}
            assert len(depths) >= queued and max(depths) - min(depths) < 100, (min(depths), max(depths))
        # The same bytes as the ASGI path, but for the date.
        app.fast_path(None, app.state.service.metrics)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(one)
            (routed,), _ = _read_answers(sock, 1)
        assert _without_date(routed) == _without_date(not_modified)


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
@pytest.mark.parametrize(
    "request_line", [b"GET /feeds/all.atom HTTP/1.1\r\nConnection: close", b"GET /feeds/all.atom HTTP/1.0"]
)
def test_a_fast_answer_closes_when_the_reader_asks(app: WebApp, request_line: bytes) -> None:
    with _serving(app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall((request_line + b"\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n") * 2)
        (answer,), rest = _read_answers(sock, 1)
        while chunk := sock.recv(65536):
            rest += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b"\r\nconnection: close\r\n" in answer
    assert rest == b""  # closed after the first answer


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
def test_a_fast_answer_given_before_its_body_keeps_the_connection(app: WebApp) -> None:
    request = b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n"
    with _serving(app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        # Answered as soon as its head is parsed; its body, more than a request head may hold, comes
        # after the answer in several writes, then the next request on the same connection.
        sock.sendall(request + b"Content-Length: 200000\r\n\r\n")
        (first,), rest = _read_answers(sock, 1)
        assert rest == b""
        for _ in range(20):
            sock.sendall(b"a" * 10_000)
        sock.sendall(request + b"\r\n")
        (second,), rest = _read_answers(sock, 1)
        assert rest == b""
    assert first.startswith(b"HTTP/1.1 200 ") and _without_date(second) == _without_date(first)


# -- raw answers of both paths, through the real server ----------------------------------------------------

RawRequest = tuple[str, str, list[tuple[str, str]]]  # method, request target, header lines in order
_DATE = re.compile(rb"\r\ndate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n")


def _raw_matrix(app: WebApp) -> list[RawRequest]:
    """Feed requests in every shape the fast path answers or declines: GET and HEAD, each feed format, a
    private feed by header and by query token, a feed waiting for its first success, encodings,
    validators (lists, weak tags, dates), query strings, percent-encoding, absolute-form targets,
    repeated and oddly cased headers, and requests that are not for a feed."""
    feed = app.state.service.publisher.get("all.atom")
    etag, modified = feed.etag, format_datetime(feed.last_modified, usegmt=True)
    older = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    gzip_etag = f'"{etag.strip(chr(34))}-gzip"'
    encodings: list[list[tuple[str, str]]] = [
        [],
        [("Accept-Encoding", "identity")],
        [("Accept-Encoding", "gzip, deflate, br")],
        [("Accept-Encoding", "gzip;q=0, *")],
        [("accept-ENCODING", "x-gzip")],
        [("Accept-Encoding", "identity"), ("Accept-Encoding", "gzip")],
    ]
    conditions: list[list[tuple[str, str]]] = [
        [],
        [("If-None-Match", etag)],
        [("If-None-Match", f'"other", W/{gzip_etag}')],
        [("If-None-Match", "*")],
        [("If-None-Match", '"other"'), ("If-Modified-Since", modified)],
        [("If-Modified-Since", modified)],
        [("If-Modified-Since", older)],
        [("If-Modified-Since", "not a date")],
    ]
    found: list[RawRequest] = []
    for target in (
        "/feeds/all.atom",
        "/feeds/all.rss",
        "/feeds/all.json",
        f"/feeds/ukraine.atom?token={FEED_TOKEN}",
    ):
        for method in ("GET", "HEAD"):
            found += [(method, target, e + c) for e in encodings for c in conditions]
    private = [("Authorization", _basic(FEED_TOKEN))], [("Authorization", _basic("wrong"))], []
    for target in (
        "/feeds/ukraine.atom",
        "/feeds/ukraine.atom?token=wrong",
        f"/feeds/ukraine.atom?token=wrong&token={FEED_TOKEN}",
        f"/feeds/ukraine.atom?token={FEED_TOKEN}&x=1",
    ):
        for method in ("GET", "HEAD"):
            found += [(method, target, a + c) for a in private for c in conditions[:2]]
    for target in (
        "/feeds/all.atom?x=1&token=",
        "/feeds/all%2Eatom",
        "/feeds/%C3%A9.atom",
        "http://127.0.0.1/feeds/all.atom",
        "/feeds/never.atom",
        "/feeds/nope.atom",
        "/feeds/all.exe",
        "/feeds/all.atom/",
        "/feeds//all.atom",
        "/feeds/a/b.atom",
        "/healthz",
        "/",
    ):
        for method in ("GET", "HEAD"):
            found += [(method, target, e + c) for e in encodings[:3] for c in conditions[:2]]
    found += [("POST", "/feeds/all.atom", []), ("OPTIONS", "/feeds/all.atom", [("Origin", "https://x")])]
    return found


def _request_bytes(request: RawRequest, version: str = "HTTP/1.1") -> bytes:
    method, target, headers = request
    lines = [f"{method} {target} {version}", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _heads(requests: list[RawRequest]) -> frozenset[int]:
    return frozenset(i for i, (method, _, _) in enumerate(requests) if method == "HEAD")


def _one_by_one(port: int, requests: list[RawRequest]) -> list[bytes]:
    """Each request's raw answer, one request at a time on one keep-alive connection."""
    answers = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for request in requests:
            sock.sendall(_request_bytes(request))
            (answer,), rest = _read_answers(sock, 1, _heads([request]))
            assert rest == b"", request
            answers.append(answer)
    return answers


def _pipelined(port: int, requests: list[RawRequest]) -> list[bytes]:
    """The raw answers to all of ``requests`` sent at once on one connection."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"".join(_request_bytes(r) for r in requests))
        answers, rest = _read_answers(sock, len(requests), _heads(requests))
    assert rest == b""
    return answers


def _closing(port: int, requests: list[RawRequest]) -> list[bytes]:
    """Each request's raw answer sent as HTTP/1.0 and with `Connection: close`, each followed by a
    second request: the server must close after the first answer, leaving the second unanswered."""
    answers = []
    for method, target, headers in requests:
        for version, extra in (("HTTP/1.0", []), ("HTTP/1.1", [("Connection", "close")])):
            request = (method, target, [*headers, *extra])
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(_request_bytes(request, version) * 2)
                (answer,), rest = _read_answers(sock, 1, _heads([request]))
                assert b"\r\nconnection: close\r\n" in answer.split(b"\r\n\r\n")[0] + b"\r\n", request
                assert (rest or sock.recv(65536)) == b"", request  # closed, not answering the second
            answers.append(answer)
    return answers


def _counted(port: int) -> dict[str, float]:
    """feedsvc_http_requests_total by status, read from /metrics (which counts itself: one 200)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_request_bytes(("GET", "/metrics", [])))
        (answer,), _ = _read_answers(sock, 1)
    found = re.findall(rb'feedsvc_http_requests_total\{status="(\d+)"\} ([\d.]+)', answer)
    return {status.decode(): float(count) for status, count in found}


def _answers_of(port: int, requests: list[RawRequest]) -> list[list[bytes]]:
    """Every way of asking: one by one (twice: the second time from what the first remembered),
    pipelined, and closing; each answer with its Date header's value blanked (checked for form)."""
    runs = [
        _one_by_one(port, requests),
        _one_by_one(port, requests),
        _pipelined(port, requests),
        _closing(port, requests[::7]),
    ]
    for run in runs:
        for answer in run:
            assert len(_DATE.findall(answer.split(b"\r\n\r\n", 1)[0] + b"\r\n")) == 1, answer[:300]
    return [[_comparable(a) for a in run] for run in runs]


def _comparable(answer: bytes) -> bytes:
    """``answer`` with its Date header's value blanked, and the numbers of a 503 (a feed waiting for its
    first success: when to ask again counts down) too."""
    answer = _DATE.sub(b"\r\ndate: -\r\n", answer)
    if not answer.startswith(b"HTTP/1.1 503 "):
        return answer
    status, rest = answer.split(b"\r\n", 1)
    return status + b"\r\n" + re.sub(rb"\d+", b"N", rest)


NEVER_FETCHED = '[[sources]]\nname = "never"\nurl = "http://127.0.0.1:9/never"\ninterval = "15m"\n'  # refused


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
def test_the_server_answers_byte_for_byte_as_the_asgi_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []  # statuses the protocol wrote itself, without an ASGI cycle
    write_answer = GuardedHttpToolsProtocol._write_answer  # type: ignore[union-attr]

    def spy(self: Any, status: int, *args: Any) -> None:
        written.append(status)
        write_answer(self, status, *args)

    monkeypatch.setattr(GuardedHttpToolsProtocol, "_write_answer", spy)
    config = write_config(tmp_path, extra=PRIVATE_FEED + NEVER_FETCHED)
    app = create_app(load_settings(config, environ={}), schedule=False)
    try:
        app.state.service.run_once()
        requests = _raw_matrix(app)
        metrics = app.state.service.metrics
        with _serving(app) as port:
            _one_by_one(port, [("GET", "/feeds/all.atom", [("Accept-Encoding", "gzip")])])  # gzip made
            counts = _counted(port)
            fast = _answers_of(port, requests)
            fast_counts = _counted(port)
            fast_written, written[:] = list(written), []
            app.fast_path(None, metrics)  # every request through uvicorn's ASGI cycle and the routes
            routed = _answers_of(port, requests)
            routed_counts = _counted(port)
    finally:
        app.state.service.close()
    assert [len(run) for run in fast] == [len(run) for run in routed]
    for fast_run, routed_run in zip(fast, routed, strict=True):
        for request, a, b in zip(requests, fast_run, routed_run, strict=False):
            assert a == b, request
        assert fast_run == routed_run
    statuses = {int(a.split(b" ", 2)[1]) for run in fast for a in run}
    assert {200, 304, 401, 404, 405, 503} <= statuses
    # The fast path answered (most of) them, and counted each as the routes do.
    fast_delta = {k: v - counts.get(k, 0) for k, v in fast_counts.items()}
    routed_delta = {k: v - fast_counts.get(k, 0) for k, v in routed_counts.items()}
    assert fast_delta == routed_delta
    # The feed 200s and 304s were written by the protocol itself, every one of them but in the pipelined
    # run (where a reader that does not keep up sends them through the app, which waits for it to read).
    unpipelined = [a for i, run in enumerate(fast) if i != 2 for a in run]
    feed_answers = [
        a for a in unpipelined if a.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 304 ")) and b"\r\netag: " in a
    ]
    assert len(fast_written) >= len(feed_answers) > 500 and written == []


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
def test_with_an_access_log_every_request_is_logged_and_answered_the_same(app: WebApp) -> None:
    requests = [r for r in _raw_matrix(app) if r[1].startswith("/feeds/all.atom")][::5]
    log = _Lines()
    with _serving(app, access_log=log) as port:
        _one_by_one(port, [("GET", "/feeds/all.atom", [("Accept-Encoding", "gzip")])])
        logged = _one_by_one(port, requests)
    assert len(log.lines) == len(requests) + 1
    for (method, target, _), line, answer in zip(requests, log.lines[1:], logged, strict=True):
        status = answer.split(b" ", 2)[1].decode()
        assert line.endswith(f'"{method} {target} HTTP/1.1" {status}'), line
    with _serving(app) as port:
        app.fast_path(None, app.state.service.metrics)
        routed = _one_by_one(port, requests)
    assert [_DATE.sub(b"", a) for a in logged] == [_DATE.sub(b"", a) for a in routed]


@pytest.mark.skipif(GuardedHttpToolsProtocol is None, reason="httptools is not installed")
def test_fast_answers_carry_uvicorns_default_headers_with_the_current_seconds_date(
    app: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn renews its Date once a second on a tick of its loop, so it may name a second gone by (more,
    while a parse holds the interpreter): a feed published since was answered with a Last-Modified after
    its Date (RFC 9110 8.8.2.1 forbids it). Each request now gets the current second's Date, with uvicorn's
    other default headers as they stand."""
    clock = [datetime(2024, 1, 1, tzinfo=UTC).timestamp() + 0.5]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    loop = asyncio.new_event_loop()
    try:
        config = server_config(app, "127.0.0.1", 8080, stop_timeout=2)
        config.load()
        state = ServerState()
        assert GuardedHttpToolsProtocol is not None
        protocol = GuardedHttpToolsProtocol(config=config, server_state=state, app_state={}, _loop=loop)
        transport = RecordingTransport()
        protocol.connection_made(transport)
        request = b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n"
        answers = []
        for server_name, later in (
            (b"uvicorn", 0.0),
            (b"uvicorn", 0.4),
            (b"feedsvc", 1.0),
            (b"feedsvc", 65.0),
        ):
            clock[0] += later
            # as uvicorn's tick left them: the date of a second long gone
            state.default_headers = [(b"date", b"Sun, 31 Dec 2023 23:59:58 GMT"), (b"server", server_name)]
            transport.written = b""
            protocol.data_received(request)
            answers.append(transport.written)
        assert [a.split(b"\r\n")[1:3] for a in answers] == [
            [b"date: Mon, 01 Jan 2024 00:00:00 GMT", b"server: uvicorn"],
            [b"date: Mon, 01 Jan 2024 00:00:00 GMT", b"server: uvicorn"],
            [b"date: Mon, 01 Jan 2024 00:00:01 GMT", b"server: feedsvc"],
            [b"date: Mon, 01 Jan 2024 00:01:06 GMT", b"server: feedsvc"],
        ]
        assert all(a.startswith(b"HTTP/1.1 304 Not Modified\r\n") for a in answers) and not transport.closed
        protocol.connection_lost(None)
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("succeeded", "to_prove"),
    [
        (set(), ["a", "b"]),
        ({"b"}, []),
        ({"a", "b"}, []),
        ({"c"}, ["a", "b"]),  # a success of a source no longer configured proves nothing
    ],
)
def test_a_feed_waits_until_one_of_its_configured_sources_succeeded(
    succeeded: set[str], to_prove: list[str]
) -> None:
    spec = FeedSpec(name="all", title="All", sources=("a", "c", "b"))
    assert sources_to_prove(spec, {"a", "b"}, succeeded) == to_prove


def test_a_feed_changed_twice_in_a_second_is_never_answered_as_modified_after_its_date(
    app: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last-Modified strictly increases, so a feed changed twice in one second is stamped a second on; until
    that second comes its answers say the current second (RFC 9110 8.8.2.1: never later than the Date)."""
    publisher = app.state.service.publisher
    content = publisher.get("all.atom").content
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    stamped = []
    for n in (1, 2):
        changed = content.replace(b"</feed>", f"<!-- {n} --></feed>".encode())
        published = publisher.publish_many([("all.atom", MEDIA_TYPES["atom"], changed, f"v{n}")], now=now)
        stamped.append(published["all.atom"].last_modified)
    assert stamped[1] == stamped[0] + timedelta(seconds=1) == now + timedelta(seconds=1)
    answers = []
    for moment in (now + timedelta(seconds=0.5), now + timedelta(seconds=1.2)):
        monkeypatch.setattr(time, "time", lambda moment=moment: moment.timestamp())
        for _ in range(2):  # (the second answer may come from what the first remembered)
            reply = app.answer_now(asgi_scope("/feeds/all.atom"))
            assert reply is not None and reply.status == 200
            answers.append(parsedate_to_datetime(dict(reply.headers)[b"last-modified"].decode()))
    assert answers == [now, now, stamped[1], stamped[1]]

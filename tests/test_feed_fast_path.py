"""The feed fast path (feedsvc.web's WebApp.answer_now, written at once by feedsvc.server's httptools
protocol) answers exactly what the routes answer, byte for byte, and leaves everything else to them."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from feedsvc.app import create_app
from feedsvc.publish import MEDIA_TYPES
from feedsvc.server import GuardedHttpToolsProtocol, server_config
from feedsvc.settings import load_settings
from feedsvc.web import WebApp
from tests.conftest import asgi_scope, write_config

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
def _serving(app: WebApp) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, stop_timeout=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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

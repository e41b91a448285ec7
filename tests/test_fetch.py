"""Fetching: limits, conditional GET, rate limits, robots.txt, per-host serialisation, backoff, files."""

from __future__ import annotations

import gzip
import os
import random
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedsvc import __version__
from feedsvc.errors import FetchError, SourceError
from feedsvc.fetch import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    ROBOTS_RETRY_TTL,
    Fetcher,
    Validators,
    backoff_delay,
    parse_retry_after,
)
from feedsvc.models import Source

NOW = datetime(2025, 8, 19, 12, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def source(url: str = "https://news.example/top") -> Source:
    return Source(name="top", url=url, interval=900)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def no_robots(handler: Handler) -> Handler:
    """Answer /robots.txt with 404 (no rules) and pass every other request on."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return handler(request)

    return route


def fetcher(handler: Handler, **kwargs: Any) -> Fetcher:
    kwargs.setdefault("now", lambda: NOW)
    return Fetcher(transport=httpx.MockTransport(handler), **kwargs)


def fetch_error(f: Fetcher, src: Source | None = None, validators: Validators | None = None) -> FetchError:
    with pytest.raises(FetchError) as info:
        f.fetch(src or source(), validators)
    return info.value


# -- identity and conditional GET -------------------------------------------------------------------


def test_user_agent_names_feedsvc_version_and_contact_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404) if request.url.path == "/robots.txt" else httpx.Response(200, text="hi")

    with fetcher(handler, contact_url="https://me.example/about") as f:
        page = f.fetch(source())
    assert page.content == b"hi"
    assert [r.url.path for r in seen] == ["/robots.txt", "/top"]
    for request in seen:  # robots.txt is asked for under the same name
        assert f"feedsvc/{__version__}" in request.headers["User-Agent"]
        assert "https://me.example/about" in request.headers["User-Agent"]


def test_conditional_get_sends_validators_and_304_is_not_modified() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"ETag": '"v2"'})

    validators = Validators(etag='"v1"', last_modified="Tue, 19 Aug 2025 10:00:00 GMT")
    with fetcher(no_robots(handler)) as f:
        page = f.fetch(source(), validators)
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Tue, 19 Aug 2025 10:00:00 GMT"
    assert page.not_modified and page.content == b""
    assert page.etag == '"v2"'  # a 304 may refresh the validator
    assert page.last_modified == validators.last_modified


def test_a_fresh_200_carries_its_validators() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "If-None-Match" not in request.headers
        headers = {"ETag": '"a"', "Last-Modified": "Tue, 19 Aug 2025 10:00:00 GMT"}
        headers["Content-Type"] = "text/html"
        return httpx.Response(200, headers=headers, content=b"<p>x</p>")

    with fetcher(no_robots(handler)) as f:
        page = f.fetch(source())
    assert not page.not_modified
    assert (page.etag, page.last_modified, page.content_type) == (
        '"a"',
        "Tue, 19 Aug 2025 10:00:00 GMT",
        "text/html",
    )


# -- status codes ---------------------------------------------------------------------------------


def test_429_with_retry_after_seconds() -> None:
    f = fetcher(no_robots(lambda r: httpx.Response(429, headers={"Retry-After": "120"})))
    error = fetch_error(f)
    assert error.retry_after == 120.0
    assert "429" in error.reason and "https://news.example/top" in error.reason


def test_429_with_retry_after_http_date_is_measured_from_the_server_clock() -> None:
    # The server's clock runs 10 minutes ahead of ours; the wait is still the 90 s it meant.
    server_now = NOW + timedelta(minutes=10)
    headers = {
        "Date": format_datetime(server_now, usegmt=True),
        "Retry-After": format_datetime(server_now + timedelta(seconds=90), usegmt=True),
    }
    f = fetcher(no_robots(lambda r: httpx.Response(429, headers=headers)))
    assert fetch_error(f).retry_after == 90.0


def test_503_honours_retry_after_and_tolerates_its_absence() -> None:
    f = fetcher(no_robots(lambda r: httpx.Response(503, headers={"Retry-After": "30"})))
    assert fetch_error(f).retry_after == 30.0
    f = fetcher(no_robots(lambda r: httpx.Response(503)))
    error = fetch_error(f)
    assert error.retry_after is None and "503" in error.reason


def test_parse_retry_after_caps_and_rejects_garbage() -> None:
    assert parse_retry_after("99999999", NOW) == MAX_RETRY_AFTER
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_404_names_url_and_status() -> None:
    error = fetch_error(fetcher(no_robots(lambda r: httpx.Response(404))))
    assert isinstance(error, SourceError) and error.source == "top"
    assert "https://news.example/top" in error.reason and "404" in error.reason
    assert error.retry_after is None


def test_network_error_becomes_fetch_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    error = fetch_error(fetcher(handler, respect_robots=False))
    assert "ConnectError" in error.reason


# -- size cap, redirects, deadline ----------------------------------------------------------------


def test_size_cap_by_content_length() -> None:
    f = fetcher(no_robots(lambda r: httpx.Response(200, content=b"x" * 100)), max_bytes=50)
    error = fetch_error(f)
    assert "50-byte cap" in error.reason and "100 bytes" in error.reason


def test_size_cap_by_streaming() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, content=iter([b"x" * 30] * 10))
        assert "Content-Length" not in response.headers  # so only counting can catch it
        return response

    error = fetch_error(fetcher(no_robots(handler), max_bytes=50))
    assert "50-byte cap" in error.reason


def test_redirects_are_followed_to_the_final_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/top":
            return httpx.Response(301, headers={"Location": "https://other.example/new"})
        return httpx.Response(200, text="moved")

    with fetcher(no_robots(handler)) as f:
        page = f.fetch(source())
    assert page.url == "https://other.example/new" and page.content == b"moved"


def test_redirect_limit() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(302, headers={"Location": f"/hop{len(seen)}"})

    error = fetch_error(fetcher(no_robots(handler), max_redirects=3))
    assert "more than 3 redirects" in error.reason
    assert len(seen) == 4  # the first request and three redirects


def test_redirect_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        target = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(302, headers={"Location": target})

    error = fetch_error(fetcher(no_robots(handler)), source("https://news.example/a"))
    assert "redirect loop" in error.reason


def test_total_deadline_stops_a_slow_stream() -> None:
    clock = FakeClock()

    def trickle() -> Iterator[bytes]:
        while True:  # a server that never finishes, one byte a "second"
            clock.t += 1.0
            yield b"x"

    f = fetcher(no_robots(lambda r: httpx.Response(200, content=trickle())), timeout=5.0, clock=clock)
    error = fetch_error(f)
    assert "5s total fetch timeout" in error.reason


def test_total_deadline_in_real_time() -> None:
    def trickle() -> Iterator[bytes]:
        while True:
            time.sleep(0.01)
            yield b"x"

    f = fetcher(no_robots(lambda r: httpx.Response(200, content=trickle())), timeout=0.05)
    assert "total fetch timeout" in fetch_error(f).reason


# -- robots.txt -----------------------------------------------------------------------------------

ROBOTS = "User-agent: feedsvc\nDisallow: /private\n\nUser-agent: *\nDisallow: /\n"


def robots_site(robots: httpx.Response, counts: dict[str, int]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        counts[request.url.path] = counts.get(request.url.path, 0) + 1
        return robots if request.url.path == "/robots.txt" else httpx.Response(200, text="page")

    return handler


def test_robots_disallow_for_feedsvc() -> None:
    counts: dict[str, int] = {}
    f = fetcher(robots_site(httpx.Response(200, text=ROBOTS), counts))
    error = fetch_error(f, source("https://news.example/private/x"))
    assert "disallowed by robots.txt for user agent feedsvc" in error.reason
    assert "/private/x" not in counts  # the page itself was never requested


def test_robots_allow_and_cached_per_host() -> None:
    counts: dict[str, int] = {}
    with fetcher(robots_site(httpx.Response(200, text=ROBOTS), counts)) as f:
        f.fetch(source("https://news.example/top"))
        f.fetch(source("https://news.example/world"))
    assert counts == {"/robots.txt": 1, "/top": 1, "/world": 1}


def test_robots_is_checked_for_each_redirect_hop() -> None:
    counts: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        key = f"{request.url.host}{request.url.path}"
        counts[key] = counts.get(key, 0) + 1
        if request.url.host == "news.example" and request.url.path == "/top":
            return httpx.Response(302, headers={"Location": "https://cdn.example/private/top"})
        if request.url.host == "cdn.example" and request.url.path == "/robots.txt":
            return httpx.Response(200, text=ROBOTS)
        return httpx.Response(404)

    error = fetch_error(fetcher(handler))
    assert "disallowed by robots.txt" in error.reason
    assert "cdn.example/private/top" not in counts


def test_respect_robots_false_skips_robots() -> None:
    counts: dict[str, int] = {}
    with fetcher(robots_site(httpx.Response(200, text=ROBOTS), counts), respect_robots=False) as f:
        f.fetch(source("https://news.example/private/x"))
    assert counts == {"/private/x": 1}


@pytest.mark.parametrize("answer", [httpx.Response(500), httpx.Response(503), httpx.Response(429)])
def test_unreachable_robots_disallows_everything_and_is_asked_again_soon(answer: httpx.Response) -> None:
    """RFC 9309 2.3.1.4: a robots.txt that errors is "unreachable": the crawler must assume a complete
    disallow; feedsvc asks again after a few minutes."""
    counts: dict[str, int] = {}
    clock = FakeClock()
    with fetcher(robots_site(answer, counts), clock=clock) as f:
        for _ in range(2):
            with pytest.raises(FetchError, match="RFC 9309 treats as disallowing everything"):
                f.fetch(source())
        assert counts == {"/robots.txt": 1}  # the page itself was never requested
        clock.t += ROBOTS_RETRY_TTL + 1
        with pytest.raises(FetchError):
            f.fetch(source())
    assert counts == {"/robots.txt": 2}


def test_robots_that_cannot_be_reached_disallows() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text="<p>page</p>")

    with fetcher(handler) as f, pytest.raises(FetchError, match="could not be read"):
        f.fetch(source())


def test_robots_missing_allows_and_is_cached() -> None:
    counts: dict[str, int] = {}
    clock = FakeClock()
    with fetcher(robots_site(httpx.Response(404), counts), clock=clock) as f:
        f.fetch(source())
        clock.t += ROBOTS_RETRY_TTL + 1
        f.fetch(source())
    assert counts == {"/robots.txt": 1, "/top": 2}


# -- concurrency ----------------------------------------------------------------------------------


def test_one_request_at_a_time_per_host() -> None:
    guard = threading.Lock()
    active: dict[str, int] = {}
    most = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal most
        host = request.url.host
        with guard:
            active[host] = active.get(host, 0) + 1
            most = max(most, active[host])
        time.sleep(0.005)  # widen the window in which an unserialised fetch would overlap
        with guard:
            active[host] -= 1
        return httpx.Response(200, text="ok")

    with fetcher(no_robots(handler)) as f, ThreadPoolExecutor(max_workers=4) as pool:
        urls = [f"https://news.example/p{i}" for i in range(12)]
        for future in [pool.submit(f.fetch, source(url)) for url in urls]:
            future.result()
    assert most == 1


def test_different_hosts_are_fetched_in_parallel() -> None:
    # Each handler waits for the other host's request: this only completes if both are in flight at once.
    barrier = threading.Barrier(2, timeout=60)

    def handler(request: httpx.Request) -> httpx.Response:
        barrier.wait()
        return httpx.Response(200, text=request.url.host)

    with fetcher(handler, respect_robots=False) as f, ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(f.fetch, source(f"https://{h}/top")) for h in ("a.example", "b.example")]
        assert sorted(fu.result().content for fu in futures) == [b"a.example", b"b.example"]


# -- backoff --------------------------------------------------------------------------------------


def test_backoff_grows_within_its_jitter_band() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 60.0, None, rng) for n in range(1, 12)]
    assert delays == sorted(delays)
    for n, delay in enumerate(delays, 1):
        assert 60.0 * 2 ** (n - 1) / 2 <= delay <= 60.0 * 2 ** (n - 1)


def test_backoff_is_capped_and_never_overflows() -> None:
    rng = random.Random(1)
    for failures in (30, 1000, 10**9):
        assert MAX_BACKOFF / 2 <= backoff_delay(failures, 60.0, None, rng) <= MAX_BACKOFF


def test_backoff_honours_retry_after() -> None:
    rng = random.Random(3)
    assert backoff_delay(1, 60.0, 3600.0, rng) == 3600.0
    assert backoff_delay(0, 60.0, None, rng) == 0.0
    assert backoff_delay(0, 60.0, 45.0, rng) == 45.0
    assert backoff_delay(12, 60.0, 30.0, rng) > 30.0  # a short Retry-After does not cut the backoff


# -- fetched_at -----------------------------------------------------------------------------------


def test_date_header_sets_fetched_at() -> None:
    served = NOW - timedelta(minutes=3)
    headers = {"Date": format_datetime(served, usegmt=True)}
    with fetcher(no_robots(lambda r: httpx.Response(200, headers=headers, text="x"))) as f:
        assert f.fetch(source()).fetched_at == served


def test_an_absurd_date_header_is_ignored() -> None:
    headers = {"Date": "Sat, 01 Jan 2000 00:00:00 GMT"}
    with fetcher(no_robots(lambda r: httpx.Response(200, headers=headers, text="x"))) as f:
        assert f.fetch(source()).fetched_at == NOW


# -- local files ----------------------------------------------------------------------------------


def test_file_source_by_path_and_by_file_url(tmp_path: Path) -> None:
    page = tmp_path / "daily 8.txt"
    page.write_bytes(b"stories")
    mtime = datetime(2025, 8, 1, 6, 30, tzinfo=UTC)
    os.utime(page, (mtime.timestamp(), mtime.timestamp()))
    with fetcher(lambda r: pytest.fail("no network for files")) as f:
        for url in (str(page), page.as_uri()):
            got = f.fetch(source(url))
            assert got.content == b"stories" and got.fetched_at == mtime and got.url == str(page)


def test_file_source_errors(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 100)
    f = fetcher(lambda r: pytest.fail("no network for files"), max_bytes=50)
    assert "50-byte cap" in fetch_error(f, source(str(big))).reason
    assert "cannot read" in fetch_error(f, source(str(tmp_path / "missing.txt"))).reason
    assert "remote host" in fetch_error(f, source("file://server/share/page.txt")).reason


# -- content codings ------------------------------------------------------------------------------


class _Stream(httpx.SyncByteStream):
    """A body that arrives in chunks, as from the network (not read in full by httpx up front)."""

    def __init__(self, data: bytes, chunk: int = 16 * 1024) -> None:
        self.data, self.chunk = data, chunk

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.data), self.chunk):
            yield self.data[i : i + self.chunk]


def _gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, made without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    out = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join([*out, packer.flush()])


def _coded_site(body: bytes, coding: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        headers = {"Content-Type": "text/html", "Content-Encoding": coding}
        return httpx.Response(200, headers=headers, stream=_Stream(body))

    return handler


def test_a_double_gzip_bomb_stops_at_the_cap_without_inflating() -> None:
    bomb = gzip.compress(_gzip_zeros(256 << 20))  # 256 MB of zeros, gzipped twice: a few KB on the wire
    assert len(bomb) < 20_000
    tracemalloc.start()
    try:
        with (
            fetcher(_coded_site(bomb, "gzip, gzip"), max_bytes=1_000_000) as f,
            pytest.raises(FetchError, match="cap"),
        ):
            f.fetch(source())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"peak {peak:,} bytes while refusing a bomb"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as many servers send
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("gzip", lambda b: gzip.compress(b[:100]) + gzip.compress(b[100:])),  # two gzip members
        ("identity", lambda b: b),
    ],
)
def test_content_codings_are_decoded(coding: str, encode: Callable[[bytes], bytes]) -> None:
    page = ("<html><body>" + "<p>Council approves the harbour wall.</p>" * 500 + "</body></html>").encode()
    with fetcher(_coded_site(encode(page), coding)) as f:
        assert f.fetch(source()).content == page


@pytest.mark.parametrize(("coding", "body"), [("br", b"\x1b\x00"), ("gzip", b"not gzip at all")])
def test_unknown_or_broken_codings_are_a_clear_error(coding: str, body: bytes) -> None:
    with fetcher(_coded_site(body, coding)) as f, pytest.raises(FetchError, match=f"{coding}"):
        f.fetch(source())


def test_we_ask_only_for_codings_we_decode_with_a_bound() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding", ""))
        return httpx.Response(404 if request.url.path == "/robots.txt" else 200, text="<p>x</p>")

    with fetcher(handler) as f:
        f.fetch(source())
    assert set(seen) == {"gzip, deflate"}


def test_the_host_lock_hook_is_held_around_each_request_to_its_host() -> None:
    """The hook (the store's cross-process lock when workers share PostgreSQL) wraps every request, robots.txt
    and redirects included, keyed by the lower-cased host of that request."""
    held: list[str] = []
    events: list[str] = []

    @contextmanager
    def host_lock(host: str) -> Iterator[None]:
        held.append(host)
        events.append(f"lock {host}")
        yield
        events.append(f"unlock {host}")

    def handler(request: httpx.Request) -> httpx.Response:
        assert held and held[-1] == request.url.host  # the request runs with its host's lock held
        events.append(f"request {request.url.host}{request.url.path}")
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.host == "news.example":
            return httpx.Response(301, headers={"Location": "https://mirror.example/top"})
        return httpx.Response(200, text="Title\nBody", headers={"Content-Type": "text/plain"})

    f = fetcher(handler, host_lock=host_lock)
    page = f.fetch(source("https://NEWS.example/top"))
    assert page.url == "https://mirror.example/top"
    assert set(held) == {"news.example", "mirror.example"}
    assert events.count("lock news.example") == events.count("unlock news.example") >= 1
    assert "request mirror.example/top" in events

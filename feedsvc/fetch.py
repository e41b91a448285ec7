"""Source -> Page: the only module that talks to the network (httpx) or reads source files."""

from __future__ import annotations

import heapq
import itertools
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from urllib.robotparser import RobotFileParser

import httpx

from feedsvc import __version__, inflate
from feedsvc.errors import FetchError, Interrupted
from feedsvc.models import Page, Source

ROBOTS_AGENT = "feedsvc"  # the product token robots.txt groups are matched against
MAX_RETRY_AFTER = 6 * 3600.0  # a server asking for more is ignored past this
MAX_BACKOFF = 24 * 3600.0
ROBOTS_TTL = 24 * 3600.0  # RFC 9309 2.4: a robots.txt may be cached for up to a day
ROBOTS_RETRY_TTL = 300.0  # after a 5xx or network error: disallow for now, ask again soon
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 2.5 asks parsers to read at least 500 KiB
MAX_CLOCK_SKEW = timedelta(days=1)  # a Date header further off than this is a broken server clock
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRYABLE = frozenset({429, 503})


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch of a source returned, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


def user_agent(contact_url: str = "") -> str:
    contact = f"; +{contact_url}" if contact_url else ""
    return f"feedsvc/{__version__} (self-hosted feed generator{contact})"


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP date), capped; None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        when = _http_date(text)
        if when is None:
            return None
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_delay(
    failures: int, base: float, retry_after: float | None, rng: random.Random | None = None
) -> float:
    """Seconds to wait after ``failures`` consecutive failures: capped exponential, equal jitter.

    Equal jitter (half fixed, half random) keeps sources that failed together from retrying in lock-step
    while guaranteeing the wait still grows with each failure. Never shorter than ``retry_after``.
    """
    floor = max(retry_after or 0.0, 0.0)
    if failures <= 0 or base <= 0:
        return floor
    # The exponent is clamped so a long outage cannot overflow the float before the cap applies.
    ceiling = min(base * 2.0 ** min(failures - 1, 64), MAX_BACKOFF)
    half = ceiling / 2
    jitter = rng.uniform(0.0, half) if rng is not None else random.uniform(0.0, half)
    return max(half + jitter, floor)


def _local_path(url: str) -> Path:
    """A file: URL (file:/p, file:///p, file://localhost/p) or a plain path, as a Path."""
    if not url.startswith("file:"):
        return Path(url)
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file URL {url!r} names a remote host; only local files can be read")
    return Path(url2pathname(unquote(parts.path)))


@dataclass(frozen=True)
class _Robots:
    parser: RobotFileParser | None  # None: no rules (see ``reachable``)
    expires: float  # on the fetcher's monotonic clock
    reachable: bool = True  # False: the server errored or did not answer; RFC 9309 2.3.1.4: disallow all


class _Deadline:
    """The wall-clock budget of one fetch, shared by every request it makes (robots, redirects, body)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._end: float | None = None

    def start(self) -> None:
        # Started once the host's lock is held: time spent queued behind another source on the same
        # host is not this fetch's fault and should not use up its budget.
        self.remaining()

    def remaining(self) -> float:
        if self._end is None:
            self._end = self._clock() + self._seconds
        return self._end - self._clock()


class _TimeUp(Exception):
    """A request outlived its time budget (the fetch's deadline, or robots.txt's shorter one)."""


class _Watchdog:
    """Cuts one request's connection when its time is up, whatever the request is blocked on.

    httpx's timeouts bound each socket operation, not their sum: a server that trickles a byte just
    inside the read timeout could hold a fetch for ever. Shutting the socket down (unlike closing it)
    wakes a read blocked in another thread at once. The socket comes from httpcore's documented ``trace``
    extension for a new connection and from the ``network_stream`` response extension for a reused one.
    Every watchdog is kept by one shared thread (:class:`_Watchdogs`): a thread started per request cost
    more than a request to a nearby server itself.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.done = False  # the request finished: nothing to cut any more
        self.cancelled = False  # cut by a clean stop rather than by its time
        self._seconds = seconds
        self._stream: object = None
        self._guard = threading.Lock()

    def __enter__(self) -> _Watchdog:
        _WATCHDOGS.add(self, time.monotonic() + self._seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            self.done = True
        _WATCHDOGS.discard()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        # The TLS stream replaces the TCP one (whose socket object ssl detaches), so keep the newest.
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.attach(info.get("return_value"))

    def attach(self, stream: object) -> None:
        with self._guard:
            self._stream = stream
            if self.fired:
                self._cut()

    def fire(self) -> None:
        with self._guard:
            if self.done:
                return
            self.fired = True
            self._cut()

    def cancel(self) -> None:
        with self._guard:
            self.cancelled = True
        self.fire()

    def _cut(self) -> None:
        get_extra_info = getattr(self._stream, "get_extra_info", None)
        sock = get_extra_info("socket") if callable(get_extra_info) else None
        if isinstance(sock, socket.socket):
            # socket.socket's shutdown even for an SSLSocket, whose own would drop its SSL object from
            # under the read still running in the fetching thread.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdogs:
    """One daemon thread firing every watchdog whose deadline passed (those whose request finished are
    dropped on the way: lazily, and in one sweep once they are most of the heap)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watchdog]] = []
        self._wake = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._finished = 0  # done watchdogs still in the heap (about)

    def add(self, dog: _Watchdog, deadline: float) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._order), dog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feedsvc-fetch-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][2] is dog:  # a new earliest deadline
                self._wake.notify()

    def discard(self) -> None:
        with self._wake:
            self._finished += 1
            if self._finished > 64 and self._finished * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._finished = max(self._finished - 1, 0)
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, _, dog = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            dog.fire()  # outside the heap's lock: it takes the watchdog's own


_WATCHDOGS = _Watchdogs()


def _decoded(response: httpx.Response, limit: int) -> Iterator[bytes]:
    """The response body, its content codings undone with a bound (feedsvc.inflate)."""
    if response.is_stream_consumed:  # read in full already (an in-process transport): httpx decoded it
        yield response.content
        return
    yield from inflate.decoded(
        response.iter_raw(), inflate.codings(response.headers.get("Content-Encoding")), limit
    )


class Fetcher:
    """Fetches pages with one shared HTTP client (connection reuse, one User-Agent, one set of limits).

    Thread-safe: the scheduler calls ``fetch`` from several threads; requests to one host are serialised.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 5_000_000,
        timeout: float = 30.0,
        contact_url: str = "",
        respect_robots: bool = True,
        max_redirects: int = 5,
        connect_timeout: float = 10.0,
        robots_timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        host_lock: Callable[[str], AbstractContextManager[object]] | None = None,
    ) -> None:
        """``host_lock(host)``, when given, is held inside the in-process lock around every request to
        that host: the hook that makes the one-request-per-host rule hold across processes (the store's
        advisory lock when several workers share PostgreSQL)."""
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.respect_robots = respect_robots
        self.max_redirects = max_redirects
        self._connect_timeout = min(connect_timeout, timeout)
        self._robots_timeout = robots_timeout
        self._clock = clock
        self._now = now
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=self._connect_timeout),
            # Redirects are followed by hand, so that each hop is checked against its host's robots.txt
            # and its host's lock, and so that loops are reported as loops.
            follow_redirects=False,
            headers={
                "User-Agent": user_agent(contact_url),
                "Accept": "text/html, text/plain;q=0.9, */*;q=0.5",
                # Only codings feedsvc.inflate decodes with a bound: never br/zstd, whatever is installed.
                "Accept-Encoding": "gzip, deflate",
            },
            transport=transport,
        )
        self._shared_host_lock = host_lock
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._robots: dict[str, _Robots] = {}
        self._cancelled = False
        self._in_flight: set[_Watchdog] = set()
        self._in_flight_guard = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """A clean stop: cut every request in flight and refuse new ones; ``fetch`` raises Interrupted."""
        with self._in_flight_guard:
            self._cancelled = True
            watchdogs = list(self._in_flight)
        for watchdog in watchdogs:
            watchdog.cancel()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, source: Source, validators: Validators | None = None) -> Page:
        """Fetch one source; expected failures raise FetchError (``retry_after`` set on 429/503)."""
        if source.is_http:
            return self._fetch_http(source, validators or Validators())
        return self._read_file(source)

    # -- local files ----------------------------------------------------------------------------

    def _read_file(self, source: Source) -> Page:
        try:
            path = _local_path(source.url)
        except ValueError as exc:
            raise FetchError(source.name, str(exc)) from exc
        try:
            stat = path.stat()
            if stat.st_size > self.max_bytes:
                raise FetchError(source.name, self._over_cap(f"file {path} is {stat.st_size:,} bytes,"))
            with path.open("rb") as handle:
                # Read one byte past the cap: the file may have grown since stat().
                data = handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise FetchError(source.name, f"cannot read {path}: {exc.strerror or exc}") from exc
        if len(data) > self.max_bytes:
            raise FetchError(source.name, self._over_cap(f"file {path} grew while being read, going"))
        fetched_at = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
        return Page(source=source.name, url=str(path), content=data, fetched_at=fetched_at)

    def _over_cap(self, what: str) -> str:
        return f"{what} over the {self.max_bytes:,}-byte cap (raise max_page_bytes if the page is genuine)"

    # -- HTTP -----------------------------------------------------------------------------------

    @contextmanager
    def _host_lock(self, url: httpx.URL) -> Iterator[None]:
        # One request in flight per host: polite to the site, and a slow host delays only its own sources.
        with self._locks_guard:
            lock = self._locks.setdefault(url.host.lower(), threading.Lock())
        with lock:
            if self._shared_host_lock is None:
                yield
            else:
                with self._shared_host_lock(url.host.lower()):
                    yield

    def _fetch_http(self, source: Source, validators: Validators) -> Page:
        headers: dict[str, str] = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        deadline = _Deadline(self.timeout, self._clock)
        try:
            url = httpx.URL(source.url)
        except httpx.InvalidURL as exc:
            raise FetchError(source.name, f"invalid URL {source.url!r}: {exc}") from exc
        seen = {url}
        try:
            for _hop in range(self.max_redirects + 1):
                with self._host_lock(url):
                    deadline.start()
                    robots = self._robots_for(url, deadline) if self.respect_robots else None
                    robots_url = url.copy_with(path="/robots.txt", query=None, fragment=None)
                    if robots is not None and not robots.reachable:
                        raise FetchError(
                            source.name,
                            f"GET {url}: {robots_url} could not be read (server error or no answer), which "
                            "RFC 9309 treats as disallowing everything; will ask again in a few minutes",
                        )
                    if (
                        robots is not None
                        and robots.parser
                        and not robots.parser.can_fetch(ROBOTS_AGENT, str(url))
                    ):
                        raise FetchError(
                            source.name,
                            f"GET {url}: disallowed by robots.txt for user agent {ROBOTS_AGENT} "
                            f"(see {robots_url})",
                        )
                    outcome = self._get(source, url, headers, validators, deadline)
                if isinstance(outcome, Page):
                    return outcome
                if outcome.scheme not in ("http", "https"):
                    raise FetchError(source.name, f"GET {url}: redirected to unsupported URL {outcome}")
                if outcome in seen:
                    raise FetchError(source.name, f"GET {source.url}: redirect loop at {outcome}")
                seen.add(outcome)
                url = outcome
        except _TimeUp as exc:
            raise FetchError(
                source.name, f"GET {source.url}: gave up after the {self.timeout:g}s total fetch timeout"
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchError(source.name, f"GET {source.url}: timed out ({type(exc).__name__})") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(source.name, f"GET {source.url}: {type(exc).__name__}: {exc}") from exc
        raise FetchError(source.name, f"GET {source.url}: more than {self.max_redirects} redirects")

    @contextmanager
    def _send(
        self,
        url: httpx.URL,
        deadline: _Deadline,
        headers: dict[str, str] | None = None,
        cap: float | None = None,
        follow_redirects: bool = False,
    ) -> Iterator[httpx.Response]:
        """One streamed GET that cannot outlive ``deadline`` (or ``cap`` seconds, if sooner)."""
        remaining = deadline.remaining()
        if remaining <= 0:
            raise _TimeUp
        budget = remaining if cap is None else min(cap, remaining)
        timeout = httpx.Timeout(budget, connect=min(self._connect_timeout, budget))
        with _Watchdog(budget) as watchdog, self._tracked(url, watchdog):
            request = self._client.build_request(
                "GET", url, headers=headers, timeout=timeout, extensions={"trace": watchdog.trace}
            )
            try:
                response = self._client.send(request, stream=True, follow_redirects=follow_redirects)
                try:
                    watchdog.attach(response.extensions.get("network_stream"))
                    yield response
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                if watchdog.cancelled:
                    raise Interrupted(f"GET {url}: cut short by a stop") from exc
                if watchdog.fired:
                    raise _TimeUp from exc
                raise
            # A cut connection can also look like the end of a body that has no declared length.
            if watchdog.cancelled:
                raise Interrupted(f"GET {url}: cut short by a stop")
            if watchdog.fired:
                raise _TimeUp

    @contextmanager
    def _tracked(self, url: httpx.URL, watchdog: _Watchdog) -> Iterator[None]:
        """``watchdog``'s request is in flight, for ``cancel``; none starts once cancelled."""
        with self._in_flight_guard:
            if self._cancelled:
                raise Interrupted(f"GET {url}: not started: stopping")
            self._in_flight.add(watchdog)
        try:
            yield
        finally:
            with self._in_flight_guard:
                self._in_flight.discard(watchdog)

    def _get(
        self,
        source: Source,
        url: httpx.URL,
        headers: dict[str, str],
        validators: Validators,
        deadline: _Deadline,
    ) -> Page | httpx.URL:
        """One request: a Page, or the URL a redirect points to."""
        with self._send(url, deadline, headers) as response:
            if response.status_code in REDIRECTS and response.next_request is not None:
                return response.next_request.url
            fetched_at = self._fetched_at(response)
            status = response.status_code
            if status == 304:
                # Read to its (empty) end: a streamed response closed unread drops its connection, and the
                # next fetch from the host would pay a new one (a 304 run is mostly such fetches).
                if not response.is_stream_consumed:
                    for _ in response.iter_raw():  # HTTP gives a 304 no body: at most one empty read
                        pass
                return Page(
                    source=source.name,
                    url=str(response.url),
                    content=b"",
                    fetched_at=fetched_at,
                    etag=response.headers.get("ETag") or validators.etag,
                    last_modified=response.headers.get("Last-Modified") or validators.last_modified,
                    not_modified=True,
                )
            if status in RETRYABLE:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), fetched_at)
                wait = f"; asked to retry after {retry_after:g}s" if retry_after is not None else ""
                raise FetchError(
                    source.name,
                    f"GET {url} answered HTTP {status} {response.reason_phrase}{wait}",
                    retry_after=retry_after,
                )
            if not 200 <= status < 300:
                raise FetchError(source.name, f"GET {url} answered HTTP {status} {response.reason_phrase}")
            return Page(
                source=source.name,
                url=str(response.url),
                content=self._read_body(source, url, response, deadline),
                fetched_at=fetched_at,
                content_type=response.headers.get("Content-Type"),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )

    def _read_body(
        self, source: Source, url: httpx.URL, response: httpx.Response, deadline: _Deadline
    ) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(source.name, self._over_cap(f"GET {url}: declares {int(declared):,} bytes,"))
        chunks: list[bytes] = []
        size = 0
        try:
            # Decoded here, step by step, and counted as it streams: a "gzip, gzip" bomb stops at the cap.
            for chunk in _decoded(response, self.max_bytes):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(source.name, self._over_cap(f"GET {url}: body goes"))
                chunks.append(chunk)
                # The watchdog stops a blocked read; this stops a stream that never blocks long enough.
                if deadline.remaining() <= 0:
                    raise _TimeUp
        except inflate.TooLarge as exc:
            raise FetchError(source.name, self._over_cap(f"GET {url}: decoded body ({exc}) goes")) from exc
        except inflate.BadCoding as exc:
            raise FetchError(source.name, f"GET {url}: {exc}") from exc
        return b"".join(chunks)

    def _fetched_at(self, response: httpx.Response) -> datetime:
        now = self._now().astimezone(UTC).replace(microsecond=0)
        served = _http_date(response.headers.get("Date"))
        # The server's clock dates the page better than ours, unless it is plainly wrong.
        if served is not None and abs(served - now) <= MAX_CLOCK_SKEW:
            return served
        return now

    # -- robots.txt -----------------------------------------------------------------------------

    def _robots_for(self, url: httpx.URL, deadline: _Deadline) -> _Robots:
        """The robots.txt rules of ``url``'s host (cached); the caller holds the host's lock."""
        origin = url.copy_with(path="/robots.txt", query=None, fragment=None)
        key = str(origin)
        cached = self._robots.get(key)
        if cached is None or cached.expires <= self._clock():
            cached = self._load_robots(origin, deadline)
            self._robots[key] = cached
        return cached

    def _load_robots(self, robots_url: httpx.URL, deadline: _Deadline) -> _Robots:
        try:
            with self._send(
                robots_url, deadline, cap=self._robots_timeout, follow_redirects=True
            ) as response:
                status = response.status_code
                if 200 <= status < 300:
                    body = bytearray()
                    try:
                        for chunk in _decoded(response, 4 * ROBOTS_MAX_BYTES):
                            body += chunk
                            if len(body) >= ROBOTS_MAX_BYTES:
                                break  # the rules past the limit are ignored, as RFC 9309 allows
                    except inflate.TooLarge:
                        pass  # as above: what fits is read
                    except inflate.BadCoding:
                        return _Robots(None, self._clock() + ROBOTS_RETRY_TTL, reachable=False)
                    parser = RobotFileParser(str(robots_url))
                    parser.parse(bytes(body[:ROBOTS_MAX_BYTES]).decode("utf-8", "replace").splitlines())
                    return _Robots(parser, self._clock() + ROBOTS_TTL)
        except (httpx.HTTPError, _TimeUp):
            # Unreachable (RFC 9309 2.3.1.4): assume everything is disallowed, and ask again soon.
            return _Robots(None, self._clock() + ROBOTS_RETRY_TTL, reachable=False)
        # No robots.txt (4xx) means no rules (RFC 9309 2.3.1.3). A 429 is a busy server, not an absent file.
        if 400 <= status < 500 and status != 429:
            return _Robots(None, self._clock() + ROBOTS_TTL)
        if 300 <= status < 400:  # redirects were followed; a redirect left over is a loop or too many
            return _Robots(None, self._clock() + ROBOTS_TTL)
        return _Robots(None, self._clock() + ROBOTS_RETRY_TTL, reachable=False)

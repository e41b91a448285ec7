"""The HTTP server (uvicorn) with bounds on what a peer controls: header time, idle connections, header size.

uvicorn times out idle keep-alive connections after a response, but a connection that never finishes its
request headers (slowloris: a byte every few seconds) is held forever, and every held connection costs a file
descriptor. The protocols here (``GuardedHttpToolsProtocol``, the fast one, and ``GuardedH11Protocol``, the
pure-Python fallback when httptools is not installed) share ``_Guards``, which adds:

- a request-header deadline: a connection must finish each request's headers within ``header_timeout``
  seconds of opening (or of its previous response), or it is closed;
- a bound on a body answered before it arrived (the app answered without reading it, or the answer was
  written as soon as the head was parsed): uvicorn reads such a body to its end and drops it, with no
  bound at all (its keep-alive timer is off from the first byte until the next response). Its bytes are
  not a request head, so the head cap and deadline do not apply to them as such; instead the rest of
  the body is due within ``header_timeout`` of the answer, and the connection is closed (after the
  answer, no 400) once more than ``max_unread_body_bytes`` of it arrive, as Go's net/http closes past
  256 KiB of a body its handler left unread. When the body ends, the next request's head gets its own
  ``header_timeout``;
- a connection cap: past ``max_connections`` open connections, the oldest connection with no request in
  progress is closed to make room, so a flood of idle sockets can never lock out /healthz or a feed reader;
- a request-head size cap (``MAX_HEADER_BYTES``): h11 enforces it itself, httptools has none, so the guard
  answers 400 and closes once an unfinished head grows past it;
- TCP_NODELAY on every accepted socket, so a small keep-alive response is never held back by Nagle's
  algorithm waiting for the peer's delayed ACK (about 40 ms a response);

and :func:`serve` raises the process's soft open-file limit to its hard limit, since a server holds one
descriptor per connection.

Answers at once: when the app offers ``answer_now(scope)`` (feedsvc.web's ``WebApp``: a feed's 200s and
304s from prepared bytes), the httptools protocol asks it as soon as a request's headers are parsed, with
the few scope fields it reads, and writes its answer at once (one write; two past 64 KiB of body), without
uvicorn's per-request scope, cycle and event, an ASGI task, middleware or per-message checks; a request it
declines (None) gets uvicorn's scope and cycle and goes to the app as usual. It is not asked while the
peer is not reading (the app's send waits for the socket to drain) or when access logging is on.

Speed (``python -m bench.feeds_http``, one core): httptools on uvloop with the answers above serves a feed's
304s and gzip 200s at 5-6x the requests per core of h11 on asyncio through the ASGI stack, at 22-26 us of
CPU per request: 13-16 us over a bare uvloop writer of the same bytes (parsing, choosing and counting the
answer); :func:`server_config` picks httptools and uvloop when installed (``uvicorn[standard]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import resource
import socket
import time
from email.utils import formatdate
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from feedsvc.errors import FeedsvcError

HEADER_TIMEOUT = 10.0  # seconds to send a request's headers
MAX_CONNECTIONS = 1000  # open connections before idle ones are closed to make room
MAX_HEADER_BYTES = 16 * 1024  # h11's buffer for an incomplete request head (its default is 16 KiB too)
MAX_UNREAD_BODY_BYTES = 256 * 1024  # of a body still arriving after its answer, before the connection closes
_JOIN_BODY_BYTES = 64 * 1024  # an answer body up to this size is sent in one write with its head
_HEADS_MAX = 1024  # answer heads the process remembers (see GuardedHttpToolsProtocol._head)
# (header list id, status, keep-alive) -> (that header list, uvicorn's default headers, the head's bytes):
# nothing in a head belongs to a connection, and a feed reader mostly sends one request per connection.
_HEADS: dict[tuple[int, int, bool], tuple[Any, Any, bytes]] = {}

HttpImpl = Literal["auto", "httptools", "h11"]
LoopImpl = Literal["auto", "uvloop", "asyncio"]

# Type checkers see the mixin as the h11 protocol, whose attributes (loop, transport, cycle, connections)
# it uses; at run time it is a plain mixin placed before either uvicorn protocol.
if TYPE_CHECKING:
    _GuardBase = H11Protocol
else:
    _GuardBase = object


class _Guards(_GuardBase):
    """Request-header deadline, idle-connection cap, head size cap, unread-body bounds and TCP_NODELAY for a
    uvicorn protocol."""

    header_timeout = HEADER_TIMEOUT
    max_connections = MAX_CONNECTIONS
    max_header_bytes = MAX_HEADER_BYTES
    max_unread_body_bytes = MAX_UNREAD_BODY_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _set_nodelay(transport)
        self._opened = self.loop.time()
        self._head_bytes = 0
        self._unread_body_bytes = 0  # of the body of a request answered before its body arrived
        self._responses = 0
        self._header_deadline: asyncio.TimerHandle | None = None
        # When the current request's headers, or the rest of an answered request's body, are due; None:
        # in a request.
        self._header_due: float | None = None
        self._arm_header_deadline()
        if len(self.connections) > self.max_connections:
            self._close_oldest_idle()

    def data_received(self, data: bytes) -> None:
        """Count ``data`` toward the head cap, or the unread-body cap, by what the parser is in after it.
        A read in which a response completed, or an answered body ended, counts toward neither: what
        part of it came after is not known, so the cap acts a read later (the deadline bounds it)."""
        responses, in_body = self._responses, self._in_body()
        _date_now(self.server_state)
        super().data_received(data)
        if self._in_request():
            self._header_due = None
            self._head_bytes = 0
        elif self._in_body():  # the rest of the body of a request answered already: not a head
            if self._responses == responses:
                self._unread_body_bytes += len(data)
                if self._unread_body_bytes > self.max_unread_body_bytes and not self.transport.is_closing():
                    self.transport.close()
        elif in_body:  # that body ended in this read: the next request's head gets its own deadline
            self._arm_header_deadline()
        elif self._responses == responses:  # nothing answered meanwhile: all of it is an unfinished head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
                self._head_too_large()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._responses += 1
        self._head_bytes = 0
        self._unread_body_bytes = 0
        # The next request on this keep-alive connection (or the rest of this one's body) gets its own
        # deadline.
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _head_too_large(self) -> None:
        """An unfinished request head past ``max_header_bytes`` (h11 answers 400 itself before this)."""

    def _in_body(self) -> bool:
        """The current request's head is complete and its body is still arriving."""
        raise NotImplementedError

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_header_deadline(self) -> None:
        """The next request's headers are due ``header_timeout`` from now. One timer per connection
        follows the deadline as it moves (a keep-alive connection moves it with every response): it
        re-arms itself when it fires early, rather than a timer being made and cancelled per request."""
        self._header_due = self.loop.time() + self.header_timeout
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_at(self._header_due, self._header_timed_out)

    def _cancel_header_deadline(self) -> None:
        self._header_due = None
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _header_timed_out(self) -> None:
        self._header_deadline = None
        due = self._header_due
        if due is None or self._in_request() or self.transport.is_closing():
            return  # in a request: its response arms the next deadline
        if due > self.loop.time():
            self._header_deadline = self.loop.call_at(due, self._header_timed_out)
        else:
            self.transport.close()

    def _close_oldest_idle(self) -> None:
        idle = [
            c for c in self.connections if isinstance(c, _Guards) and c is not self and not c._in_request()
        ]
        if idle:
            oldest = min(idle, key=lambda c: c._opened)
            oldest.transport.close()


def _date_now(state: Any) -> None:
    """Make the Date that uvicorn's default headers give the answers to come the current second's. uvicorn
    renews it on a tick of its event loop, once a second, so it may name a second that has passed (more,
    while a long parse holds the interpreter): a feed published since then would be answered with a
    Last-Modified after its Date, which RFC 9110 (8.8.2.1) forbids and a reader may take for a clock error.
    One clock read a request; the header list is made again once a second."""
    now = int(time.time())
    defaults = state.default_headers
    if _DATE[0] == now and _DATE[1] is defaults:
        return
    fresh = [(name, formatdate(now, usegmt=True).encode()) if name == b"date" else (name, value)
             for name, value in defaults]  # fmt: skip
    state.default_headers = fresh
    _DATE[:] = [now, fresh]


_DATE: list[Any] = [0, None]  # the second of the default headers this process last made, and that list


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class GuardedH11Protocol(_Guards, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with the guards."""

    def _in_body(self) -> bool:
        return self.conn.their_state is h11.SEND_BODY


class AnswersNow(Protocol):
    """An ASGI app that can answer some requests from their scope alone, at once (see the module's
    docstring): status, header list (lower-case names) and body, or None to be called as usual. A header
    list is never changed once given (the protocol remembers the bytes it made of it)."""

    def answer_now(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None: ...


class _Answered:
    """The cycle of a request answered at once (see ``GuardedHttpToolsProtocol``): complete, so the
    protocol's checks (pipelining, body, disconnect, shutdown) treat it as a finished response; nothing
    waits on it, so one instance serves every connection."""

    response_complete = True  # all uvicorn reads of a complete cycle, with message_event
    message_event = asyncio.Event()  # set when the connection is lost; no one waits on it


_ANSWERED = _Answered()


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    """``GuardedHttpToolsProtocol`` when httptools is installed, else None."""
    if importlib.util.find_spec("httptools") is None:
        return None
    import httptools
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    class GuardedHttpToolsProtocol(_Guards, HttpToolsProtocol):  # type: ignore[misc]
        """uvicorn's httptools protocol (C parser) with the guards, and answers at once from an app that
        offers them; it has no head size limit of its own.

        A request's ASGI scope and cycle are made only when it goes to the app: the parser's callbacks
        gather its URL and headers, and once they are complete the app's ``answer_now`` is asked with a
        scope of what it reads (type, method, path, raw_path, root_path, query_string, headers,
        http_version), built the way uvicorn builds them; an answer is written then and there, anything
        else (declined, or a request the shortcut does not take: another method, an upgrade, a
        percent-encoded or non-ASCII path, a root path, a concurrency limit, a response still being
        written ahead of it) becomes uvicorn's scope and cycle as if nothing had happened."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            app = getattr(self.config, "app", None)
            self._answers: AnswersNow | None = (
                app if hasattr(app, "answer_now") and not self.access_log else None
            )
            self._draining = False  # answering queued requests (see _start_asgi_task)
            self._drained: Any = None  # the queued request just answered, whose completion is next
            self._body_pending = False  # the parser is between a request's head and its end

        def _head_too_large(self) -> None:
            self.send_400_response("Request header fields too large.")

        def _in_body(self) -> bool:
            return self._body_pending

        # -- parser callbacks: the scope only for a request that goes to the app ---------------------

        def on_message_begin(self) -> None:
            if self._answers is None:
                super().on_message_begin()
                return
            self.url = b""
            self.expect_100_continue = False
            self.headers = []
            self.scope = None  # type: ignore[assignment]  # made if the request goes to the app

        def on_headers_complete(self) -> None:
            self._body_pending = True
            if self.scope is None:  # gathered by on_message_begin above
                if self._answered_at_once():
                    return
                url, headers, expect = self.url, self.headers, self.expect_100_continue
                super().on_message_begin()
                self.url, self.expect_100_continue = url, expect
                self.headers = self.scope["headers"] = headers
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._body_pending = False
            super().on_message_complete()

        def _answered_at_once(self) -> bool:
            """Ask the app for an answer to the request whose head was just parsed, and write it."""
            parser = self.parser
            method = parser.get_method()
            if (
                (method != b"GET" and method != b"HEAD")
                or self._in_request()
                or self.pipeline
                or self.flow.write_paused
                or self.transport.is_closing()
                or self.root_path
                or self.limit_concurrency is not None
                or parser.should_upgrade()
            ):
                return False
            try:
                url = httptools.parse_url(self.url)
            except httptools.HttpParserInvalidURLError:
                return False  # uvicorn's own parse reports it
            path = url.path
            if b"%" in path or not path.isascii():
                return False
            version = parser.get_http_version()
            scope = {
                "type": "http",
                "http_version": version,
                "method": "GET" if method == b"GET" else "HEAD",
                "path": path.decode("ascii"),
                "raw_path": path,
                "root_path": "",
                "query_string": url.query or b"",
                "headers": self.headers,
            }
            assert self._answers is not None
            answer = self._answers.answer_now(scope)
            if answer is None:
                return False
            self.cycle = _ANSWERED  # type: ignore[assignment]
            keep_alive = version != "1.0" and parser.should_keep_alive()
            self._write_answer(*answer, keep_alive)
            self.on_response_complete()
            return True

        # -- requests queued behind another (pipelined) are asked when their turn comes --------------

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            self._unset_keepalive_if_required()  # a request is under way: the connection is not idle
            if app is self.app and self._answers is not None and not self.flow.write_paused:
                answer = self._answers.answer_now(cycle.scope)
                if answer is not None:
                    self._write_answer(*answer, cycle.keep_alive)
                    cycle.response_complete = True
                    self._complete_in_turn(cycle)
                    return
            super()._start_asgi_task(cycle, app)

        def _complete_in_turn(self, cycle: Any) -> None:
            """Complete an answered queued request: uvicorn's completion starts the next queued one, which
            lands here again. Done in a loop, not by recursion (a thousand pipelined requests in one read
            would otherwise reach the interpreter's recursion limit), in the same order."""
            if self._draining:  # called from the completion below: its loop completes this one next
                self._drained = cycle
                return
            self._draining = True
            try:
                while cycle is not None:
                    self._drained = None
                    cycle.on_response()  # uvicorn's on_response_complete: starts the next queued request
                    cycle = self._drained
            finally:
                self._draining = False

        def _write_answer(
            self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
        ) -> None:
            """What uvicorn's ASGI cycle would write for this answer, in one write (two for a large
            body); the transport is closed after it unless ``keep_alive``."""
            head = self._head(status, headers, keep_alive)
            if len(body) <= _JOIN_BODY_BYTES:
                self.transport.write(head + body)
            else:  # copying it into one buffer would cost more than the second send
                self.transport.write(head)
                self.transport.write(body)
            if not keep_alive:
                self.transport.close()

        def _head(self, status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
            """The answer's status line and headers (uvicorn's default ones first: the date, the server),
            remembered per header list while uvicorn's default headers stay the same (it renews them,
            with the date, once a second)."""
            defaults = self.server_state.default_headers
            key = (id(headers), status, keep_alive)
            known = _HEADS.get(key)
            if known is not None and known[0] is headers and known[1] is defaults:
                return known[2]
            lines = [STATUS_LINE[status]]
            for name, value in (*defaults, *headers):
                lines += [name, b": ", value, b"\r\n"]
            if not keep_alive:
                lines.append(b"connection: close\r\n")
            lines.append(b"\r\n")
            head = b"".join(lines)
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            _HEADS[key] = (headers, defaults, head)
            return head

    return GuardedHttpToolsProtocol


GuardedHttpToolsProtocol = _httptools_protocol()


def http_protocol(http: HttpImpl = "auto") -> type[asyncio.Protocol]:
    """The guarded protocol class for ``http``: httptools when asked or, for "auto", when installed."""
    if http == "h11" or (http == "auto" and GuardedHttpToolsProtocol is None):
        return GuardedH11Protocol
    if GuardedHttpToolsProtocol is None:
        raise RuntimeError("httptools is not installed: pip install 'uvicorn[standard]'")
    return GuardedHttpToolsProtocol


def raise_open_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


class Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so the process would die by the
    signal; a service manager expects a clean stop to exit 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a port in use is a one-line error
    (FeedsvcError) before the service announces itself, not a failure after it."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise FeedsvcError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def server_config(
    app: Any, host: str, port: int, stop_timeout: float, http: HttpImpl = "auto", loop: LoopImpl = "auto"
) -> uvicorn.Config:
    """uvicorn's configuration for ``app``; ``http`` and ``loop`` "auto" pick httptools and uvloop when
    installed, h11 and asyncio otherwise."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http_protocol(http),
        loop=loop,
        log_level="warning",
        access_log=False,  # its INFO lines are below log_level anyway; skipping them saves work per request
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=max(1, int(stop_timeout / 2)),
    )

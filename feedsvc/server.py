"""The HTTP server (uvicorn) with bounds on what a peer controls: header time, idle connections, header size.

uvicorn times out idle keep-alive connections after a response, but a connection that never finishes its
request headers (slowloris: a byte every few seconds) is held forever, and every held connection costs a file
descriptor. ``GuardedH11Protocol`` adds:

- a request-header deadline: a connection must finish each request's headers within ``header_timeout``
  seconds of opening (or of its previous response), or it is closed;
- a connection cap: past ``max_connections`` open connections, the oldest connection with no request in
  progress is closed to make room, so a flood of idle sockets can never lock out /healthz or a feed reader;

and :func:`serve` raises the process's soft open-file limit to its hard limit, since a server holds one
descriptor per connection.
"""

from __future__ import annotations

import asyncio
import resource
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds to send a request's headers
MAX_CONNECTIONS = 1000  # open connections before idle ones are closed to make room
MAX_HEADER_BYTES = 16 * 1024  # h11's buffer for an incomplete request head (its default is 16 KiB too)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-header deadline and an idle-connection cap."""

    header_timeout = HEADER_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()
        if len(self.connections) > self.max_connections:
            self._close_oldest_idle()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_request():
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()  # the next request on this keep-alive connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_deadline(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _header_timed_out(self) -> None:
        self._header_deadline = None
        if not self._in_request() and not self.transport.is_closing():
            self.transport.close()

    def _close_oldest_idle(self) -> None:
        idle = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol) and c is not self and not c._in_request()
        ]
        if idle:
            oldest = min(idle, key=lambda c: c._opened)
            oldest.transport.close()


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


def server_config(app: Any, host: str, port: int, stop_timeout: float) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=GuardedH11Protocol,
        log_level="warning",
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=max(1, int(stop_timeout / 2)),
    )
